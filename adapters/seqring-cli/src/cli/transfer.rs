//! `seqring transfer SRC DST`: a parallel copy of a tree, optionally verified and removing the source. Files in DST
//! that SRC does not have are an error unless `--reset-dirty-destination` deletes them first.

use std::path::PathBuf;

use seqring_state::processing::{transfer_directory, TransferOptions, TransferProgress};

use super::progress::{Progress, Unit};
use super::CliError;

/// Arguments of `seqring transfer`.
#[derive(clap::Args, Debug)]
pub struct Args {
    /// The directory to copy.
    src: PathBuf,
    /// Where to copy it (created if missing).
    dst: PathBuf,
    /// Verify the copy against the source's checksum (SRC/ax_checksum.txt, computed and saved if missing).
    #[arg(long)]
    verify: bool,
    /// Delete the source after a successful (and, with --verify, verified) copy.
    #[arg(long)]
    remove_source: bool,
    /// Delete the files in DST that SRC does not have before copying (by default they are an error).
    #[arg(long)]
    reset_dirty_destination: bool,
    /// Copy a source holding symbolic links (links to files as their contents, links to directories skipped);
    /// by default a source that is or holds a link is refused, as ataraxis refuses it.
    #[arg(long)]
    allow_links: bool,
    /// Worker threads (default: one per core).
    #[arg(long, value_parser = clap::value_parser!(u16).range(1..))]
    workers: Option<u16>,
}

/// Runs the command.
pub fn run(args: Args) -> Result<(), CliError> {
    let bar = Progress::new(Unit::Bytes, "transfer");
    let progress = |p: &TransferProgress| {
        bar.set_total(p.bytes_total);
        bar.advance_to(p.bytes_done);
    };
    let options = TransferOptions {
        workers: args.workers.map(usize::from),
        verify: args.verify,
        remove_source: args.remove_source,
        reset_dirty_destination: args.reset_dirty_destination,
        allow_links: args.allow_links,
        progress: Some(&progress),
    };
    let report = transfer_directory(&args.src, &args.dst, &options);
    bar.finish();
    let report = report?;
    for path in &report.cleared {
        println!("deleted stale {}", path.display());
    }
    println!(
        "copied {} files ({} bytes) from {} to {}",
        report.files,
        report.bytes,
        args.src.display(),
        args.dst.display()
    );
    if let Some(sum) = report.checksum {
        println!("verified checksum {sum}");
    }
    if report.removed_source {
        println!("removed {}", args.src.display());
    }
    Ok(())
}
