//! `seqring recover LOG_DIR [--dry-run]`: after a crash, checks every segment of a log directory, truncates a torn
//! last batch, and reports what it kept and cut. Damage anywhere but a segment's tail is reported and left alone
//! (exit 1), since the data after it may be valid.

use std::io::Write;
use std::path::{Path, PathBuf};

use seqring::format::segment::{scan, Tail, EXTENSION};
use seqring::logger::recover;
use seqring_platform::map_file_readonly;

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
        return Err(match std::fs::metadata(&args.log_dir) {
            Ok(_) => format!(
                "{} is not a directory: recover takes a logger's {{name}}_data_log directory",
                args.log_dir.display()
            ),
            Err(_) => format!("{} does not exist", args.log_dir.display()),
        }
        .into());
    }
    if segment_paths(&args.log_dir)?.is_empty() {
        return nothing_to_recover(&args.log_dir);
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
                "{}: cut {} at byte {offset} ({reason}); kept {}, {}",
                r.path.display(),
                count(r.truncated_bytes(), "byte"),
                count(r.batches, "batch"),
                count(r.records, "record")
            )?,
            None => writeln!(
                out,
                "{}: clean, {}, {}",
                r.path.display(),
                count(r.batches, "batch"),
                count(r.records, "record")
            )?,
        }
    }
    writeln!(
        out,
        "recovered {}: {}, {} and {} kept, {} cut, {} damaged",
        dir.display(),
        count(recovery.segments.len() as u64, "segment"),
        count(recovery.batches(), "batch"),
        count(recovery.records(), "record"),
        count(recovery.truncated_bytes(), "byte"),
        recovery.damaged.len()
    )?;
    if let Some(first) = recovery.damaged.first() {
        let n = recovery.damaged.len();
        return Err(format!(
            "{} damaged other than by a torn tail and left as {} (first: {first})",
            if n == 1 {
                "1 segment is".to_owned()
            } else {
                format!("{n} segments are")
            },
            if n == 1 { "it is" } else { "they are" }
        )
        .into());
    }
    Ok(())
}

/// The segment files directly in `dir`, sorted.
fn segment_paths(dir: &Path) -> Result<Vec<PathBuf>, CliError> {
    let mut paths: Vec<PathBuf> = std::fs::read_dir(dir)
        .map_err(|e| format!("cannot list {}: {e}", dir.display()))?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|e| e == EXTENSION) && p.is_file())
        .collect();
    paths.sort();
    Ok(paths)
}

/// A directory without segments: fine (exit 0) when it holds what a logger leaves after assembly (archives or
/// `.npy` entries), an error otherwise, since it is then most likely not a log directory at all.
fn nothing_to_recover(dir: &Path) -> Result<(), CliError> {
    let logged = std::fs::read_dir(dir)
        .map_err(|e| format!("cannot list {}: {e}", dir.display()))?
        .filter_map(Result::ok)
        .filter(|e| {
            let name = e.file_name().to_string_lossy().into_owned();
            name.ends_with("_log.npz") || name.ends_with(".npy")
        })
        .count();
    if logged == 0 {
        return Err(format!(
            "{} holds no segments (.seg files), archives or log entries: is it a logger's {{name}}_data_log \
             directory?",
            dir.display()
        )
        .into());
    }
    println!(
        "{} holds no segments (.seg files), only archives or .npy entries: nothing to recover",
        dir.display()
    );
    Ok(())
}

/// `n` followed by `noun`, plural unless `n` is 1 ("1 segment", "2 batches").
fn count(n: u64, noun: &str) -> String {
    match (n, noun.ends_with("ch")) {
        (1, _) => format!("1 {noun}"),
        (_, true) => format!("{n} {noun}es"),
        _ => format!("{n} {noun}s"),
    }
}

fn dry_run(dir: &Path) -> Result<(), CliError> {
    let paths = segment_paths(dir)?;
    let mut out = std::io::stdout().lock();
    let (mut cut, mut damaged, mut records) = (0u64, 0usize, 0u64);
    for path in &paths {
        let map = map_file_readonly(path)?;
        let s = scan(&map);
        records += s.records;
        let kept = format!("{}, {}", count(s.batches, "batch"), count(s.records, "record"));
        match s.tail {
            Tail::Clean => writeln!(out, "{}: clean, {kept}", path.display())?,
            Tail::Torn { offset, reason } => {
                let n = map.len() as u64 - s.valid_len;
                cut += n;
                writeln!(
                    out,
                    "{}: would cut {} at byte {offset} ({reason}); keeps {kept}",
                    path.display(),
                    count(n, "byte")
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
        "dry run of {}: {}, {} would be kept, {} cut, {damaged} damaged; nothing was changed",
        dir.display(),
        count(paths.len() as u64, "segment"),
        count(records, "record"),
        count(cut, "byte"),
    )?;
    Ok(())
}
