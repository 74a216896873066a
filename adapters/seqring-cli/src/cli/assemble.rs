//! `seqring assemble LOG_DIR`: builds one `{source_id}_log.npz` per source from a log directory's `.npy` entries
//! and `.seg` segments, then removes the sources (unless `--keep-sources`), as ataraxis does.

use std::io::Write;
use std::path::PathBuf;
use std::sync::Mutex;
use std::time::Instant;

use seqring::archive::{assemble_log_archives, AssembleOptions, Compression, Phase, Progress as Assembled};

use super::progress::{grouped, si, Progress, Unit};
use super::CliError;

/// Arguments of `seqring assemble`.
#[derive(clap::Args, Debug)]
pub struct Args {
    /// The log directory of one logger (its `.npy` entries and/or `.seg` segments).
    log_dir: PathBuf,
    /// Keep the `.npy` entries and segments after assembly (by default they are removed once every archive is
    /// safely written).
    #[arg(long)]
    keep_sources: bool,
    /// Re-read every archive and compare each entry with its source before anything is renamed or removed.
    #[arg(long)]
    verify: bool,
    /// Worker threads, one source per worker (default: one per core).
    #[arg(long, value_parser = clap::value_parser!(u16).range(1..))]
    workers: Option<u16>,
    /// Replace archives that already exist (by default an existing archive is an error).
    #[arg(long)]
    overwrite: bool,
    /// First truncate the torn last batch a crashed logger may leave at the end of a segment (by default a torn
    /// segment is an error); each truncation is reported.
    #[arg(long)]
    recover: bool,
    /// Deflate the archive members, as numpy's `savez_compressed` does: smaller archives (numpy and seqring read
    /// them), slower to write and to open. `--compress` deflates at level 6 (zlib's default), `--compress=LEVEL`
    /// at LEVEL from 0 to 9. By default members are stored, byte-identical to ataraxis's archives.
    #[arg(long, value_name = "LEVEL", num_args = 0..=1, require_equals = true, default_missing_value = "6",
          value_parser = clap::value_parser!(u8).range(0..=9))]
    compress: Option<u8>,
}

fn phase_name(phase: Phase) -> &'static str {
    match phase {
        Phase::Writing => "writing",
        Phase::Verifying => "verifying",
        Phase::Removing => "removing sources",
    }
}

/// Runs the command.
pub fn run(args: Args) -> Result<(), CliError> {
    let bar = Progress::new(Unit::Items, "assembling");
    let current = Mutex::new(None::<Phase>);
    let progress = |p: Assembled| {
        let mut current = current.lock().unwrap_or_else(|e| e.into_inner());
        if *current != Some(p.phase) {
            *current = Some(p.phase);
            bar.phase(phase_name(p.phase), p.total);
        }
        bar.advance_to(p.done);
    };
    let options = AssembleOptions {
        workers: args.workers.map_or(0, usize::from),
        verify: args.verify,
        remove_sources: !args.keep_sources,
        overwrite: args.overwrite,
        recover_segments: args.recover,
        compression: args
            .compress
            .map_or(Compression::Stored, |level| Compression::Deflated { level }),
        progress: Some(&progress),
    };
    let start = Instant::now();
    let report = assemble_log_archives(&args.log_dir, &options);
    bar.finish();
    let report = report?;
    if report.archives.is_empty() {
        return Err(format!(
            "{} holds no log entries (.npy) or segments (.seg) to assemble",
            args.log_dir.display()
        )
        .into());
    }
    let seconds = start.elapsed().as_secs_f64();
    let mut out = std::io::stdout().lock();
    let result = (|| -> std::io::Result<()> {
        for r in &report.recovered {
            writeln!(
                out,
                "{}: truncated a torn last batch at byte {} ({} bytes cut, {} records in {} batches kept)",
                r.path.display(),
                r.len,
                r.truncated_bytes(),
                r.records,
                r.batches
            )?;
        }
        for a in &report.archives {
            writeln!(
                out,
                "{}: source {}, {} messages + onset, {} bytes",
                a.path.display(),
                a.source_id,
                grouped(a.entries.saturating_sub(1)),
                grouped(a.bytes)
            )?;
        }
        let sources = report.archives.len();
        writeln!(
            out,
            "assembled {} entries from {sources} source{} in {:.3} s ({} entries/s){}{}{}",
            grouped(report.entries()),
            if sources == 1 { "" } else { "s" },
            seconds,
            si(report.entries() as f64 / seconds.max(1e-9)),
            if args.compress.is_some() { "; deflated" } else { "" },
            if report.verified { "; verified" } else { "" },
            if options.remove_sources {
                format!("; removed {} source files", grouped(report.removed_files))
            } else {
                "; sources kept".to_owned()
            }
        )
    })();
    match result {
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => Ok(()),
        other => Ok(other?),
    }
}
