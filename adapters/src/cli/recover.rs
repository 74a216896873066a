//! `seqring recover LOG_DIR [--dry-run]`: after a crash, checks every segment of a log directory, truncates a torn
//! last batch, and reports what it kept and cut. Damage anywhere but a segment's tail is reported and left alone
//! (exit 1), since the data after it may be valid.

use std::io::Write;
use std::path::{Path, PathBuf};

use seqring::logger::recover;
use seqring::region::map_file_readonly;
use seqring::segment::{scan, Tail, EXTENSION};

use super::progress::{Progress, Unit};
use super::CliError;

/// Arguments of `seqring recover`.
#[derive(clap::Args, Debug)]
pub struct Args {
    /// A logger's `{name}_data_log` directory (no logger may be writing to it).
    log_dir: PathBuf,
    /// Only report what would be cut; change nothing.
    #[arg(long)]
    dry_run: bool,
}

/// Runs the command.
pub fn run(args: Args) -> Result<(), CliError> {
    if !args.log_dir.is_dir() {
        return Err(format!("{} is not a directory", args.log_dir.display()).into());
    }
    let progress = Progress::new(Unit::Spinner, "checking segments");
    let result = if args.dry_run {
        dry_run(&args.log_dir)
    } else {
        repair(&args.log_dir)
    };
    progress.finish();
    result
}

fn repair(dir: &Path) -> Result<(), CliError> {
    let recovery = recover(dir)?;
    let mut out = std::io::stdout().lock();
    for r in &recovery.segments {
        match r.torn {
            Some((offset, reason)) => writeln!(
                out,
                "{}: cut {} bytes at byte {offset} ({reason}); kept {} batches, {} records",
                r.path.display(),
                r.truncated_bytes(),
                r.batches,
                r.records
            )?,
            None => writeln!(
                out,
                "{}: clean, {} batches, {} records",
                r.path.display(),
                r.batches,
                r.records
            )?,
        }
    }
    writeln!(
        out,
        "recovered {}: {} segments, {} batches and {} records kept, {} bytes cut, {} damaged",
        dir.display(),
        recovery.segments.len(),
        recovery.batches(),
        recovery.records(),
        recovery.truncated_bytes(),
        recovery.damaged.len()
    )?;
    if let Some(first) = recovery.damaged.first() {
        return Err(format!(
            "{} segments are damaged other than by a torn tail and were left as they are, first: {first}",
            recovery.damaged.len()
        )
        .into());
    }
    Ok(())
}

fn dry_run(dir: &Path) -> Result<(), CliError> {
    let mut paths: Vec<PathBuf> = std::fs::read_dir(dir)
        .map_err(|e| format!("cannot list {}: {e}", dir.display()))?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|e| e == EXTENSION) && p.is_file())
        .collect();
    paths.sort();
    let mut out = std::io::stdout().lock();
    let (mut cut, mut damaged, mut records) = (0u64, 0usize, 0u64);
    for path in &paths {
        let map = map_file_readonly(path)?;
        let s = scan(&map);
        records += s.records;
        let kept = format!("{} batches, {} records", s.batches, s.records);
        match s.tail {
            Tail::Clean => writeln!(out, "{}: clean, {kept}", path.display())?,
            Tail::Torn { offset, reason } => {
                let n = map.len() as u64 - s.valid_len;
                cut += n;
                writeln!(
                    out,
                    "{}: would cut {n} bytes at byte {offset} ({reason}); keeps {kept}",
                    path.display()
                )?;
            }
            other => {
                damaged += 1;
                writeln!(out, "{}: damaged, would be left as it is: {other:?}", path.display())?;
            }
        }
    }
    writeln!(
        out,
        "dry run of {}: {} segments, {records} records would be kept, {cut} bytes cut, {damaged} damaged; nothing \
         was changed",
        dir.display(),
        paths.len()
    )?;
    Ok(())
}
