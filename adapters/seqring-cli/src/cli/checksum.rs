//! `seqring checksum DIR`: the ataraxis directory checksum of a tree; the last line of stdout is the 32-digit hex.
//! `--exclude NAME` (repeatable) leaves more file names out, as ataraxis' `excluded_files` does.

use std::path::PathBuf;

use seqring_state::processing::{directory_checksum, ChecksumOptions, ChecksumProgress, CHECKSUM_FILE};

use super::progress::{Progress, Unit};
use super::CliError;

/// Arguments of `seqring checksum`.
#[derive(clap::Args, Debug)]
pub struct Args {
    /// The directory to checksum.
    dir: PathBuf,
    /// Do not write the checksum to DIR/ax_checksum.txt.
    #[arg(long)]
    no_save: bool,
    /// Worker threads (default: one per core).
    #[arg(long, value_parser = clap::value_parser!(u16).range(1..))]
    workers: Option<u16>,
    /// Leave out files with this name, at any depth (repeatable); ax_checksum.txt is always left out.
    #[arg(long = "exclude", value_name = "NAME")]
    excluded: Vec<String>,
}

/// Runs the command.
pub fn run(args: Args) -> Result<(), CliError> {
    let bar = Progress::new(Unit::Bytes, "checksum");
    let progress = |p: ChecksumProgress| {
        bar.set_total(p.bytes_total);
        bar.advance_to(p.bytes_done);
    };
    // ataraxis' excluded_files={"ax_checksum.txt", NAME...}: the saved checksum never feeds the next one.
    let excluded: Vec<&str> = std::iter::once(CHECKSUM_FILE)
        .chain(args.excluded.iter().map(String::as_str))
        .collect();
    let options = ChecksumOptions {
        workers: args.workers.map(usize::from),
        save: !args.no_save,
        progress: Some(&progress),
        excluded_files: Some(&excluded),
        ..Default::default()
    };
    let sum = directory_checksum(&args.dir, &options);
    bar.finish();
    println!("{}", sum?);
    Ok(())
}
