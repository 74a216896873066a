//! `seqring inspect PATH`: summarises a log archive, or a log directory (its archives and its unassembled `.npy`
//! entries and segments), per source. `--json` prints one JSON object, `--messages` lists every message.
//!
//! A source that has an archive in the directory is summarised from the archive; unassembled entries of the same
//! source (left by `assemble --keep-sources`) are then reported on stderr, not counted twice.

use std::collections::BTreeMap;
use std::io::Write;
use std::path::{Path, PathBuf};

use seqring::archive::{discover_log_archives, ArchiveError, LogArchive, LogDir, LogMessage};
use seqring::format::schema::{read_schema, schema_file_name, schema_path_for_archive, Schema};
use serde_json::{json, Map, Value};

use super::plot::{plot, Format, Series};
use super::CliError;

/// Arguments of `seqring inspect`.
#[derive(clap::Args, Debug)]
pub struct Args {
    /// A log archive (`{id}_log.npz`), a log directory, or a seqring mapped file.
    path: PathBuf,
    /// Print one JSON object: {"sources": {"<id>": {"message_count", "onset_us", "first_us", "last_us"}}}, times in
    /// µs since the UNIX epoch, the onset not counted; a source that declared a schema also has "schema" (its
    /// "dtype" or "format", and "description").
    #[arg(long)]
    json: bool,
    /// List every message: source, timestamp (µs since the epoch), payload length and payload (hex).
    #[arg(long)]
    messages: bool,
    /// Also draw each source's message rate over time (peak and mean per bin), with the gaps in its own cadence
    /// marked, into this .svg or .png file; the gaps are also listed on stderr.
    #[arg(long, value_name = "OUT.svg|OUT.png", value_parser = plot_path)]
    plot: Option<PathBuf>,
}

/// Parses `--plot`: a path ending in `.svg` or `.png` (a usage error otherwise).
fn plot_path(text: &str) -> Result<PathBuf, String> {
    let path = PathBuf::from(text);
    Format::of(&path)?;
    Ok(path)
}

/// Where a source's messages are.
enum Origin {
    Archive(Box<LogArchive>),
    Entries,
}

struct Source {
    id: u8,
    origin: Origin,
    message_count: u64,
    onset_us: Option<u64>,
    first_us: Option<u64>,
    last_us: Option<u64>,
    /// The source's schema side file, if there is one (its schema, or why it cannot be read).
    schema: Option<Result<Schema, String>>,
}

/// The schema in the side file `path` of source `id`, if there is one.
fn schema_at(path: &Path, id: u8) -> Option<Result<Schema, String>> {
    read_schema(path, id).map_err(|e| e.to_string()).transpose()
}

/// A source from its archive (every entry read, and checked on the way).
fn from_archive(archive: LogArchive) -> Result<Source, ArchiveError> {
    let (first, last) = archive
        .iter()
        .try_fold((None, None), |(lo, hi): (Option<u64>, Option<u64>), m| {
            let m = m?;
            Ok::<_, ArchiveError>((
                Some(lo.map_or(m.timestamp_us, |v| v.min(m.timestamp_us))),
                Some(hi.map_or(m.timestamp_us, |v| v.max(m.timestamp_us))),
            ))
        })?;
    Ok(Source {
        schema: schema_at(&schema_path_for_archive(archive.path()), archive.source_id()),
        id: archive.source_id(),
        message_count: archive.message_count() as u64,
        onset_us: Some(archive.onset_us()),
        first_us: first,
        last_us: last,
        origin: Origin::Archive(Box::new(archive)),
    })
}

fn collect(path: &Path) -> Result<(Vec<Source>, Option<LogDir>), CliError> {
    if path.is_file() {
        return Ok((vec![from_archive(LogArchive::open(path)?)?], None));
    }
    if !path.is_dir() {
        return Err(format!("{} does not exist", path.display()).into());
    }
    let mut sources = BTreeMap::new();
    for (id, archive_path) in discover_log_archives(path)? {
        sources.insert(id, from_archive(LogArchive::open(&archive_path)?)?);
    }
    let log = LogDir::open(path)?;
    let mut shadowed = Vec::new();
    for s in log.summary()? {
        if sources.contains_key(&s.source_id) {
            shadowed.push(s.source_id);
            continue;
        }
        sources.insert(
            s.source_id,
            Source {
                schema: schema_at(&path.join(schema_file_name(s.source_id)), s.source_id),
                id: s.source_id,
                origin: Origin::Entries,
                message_count: s.message_count,
                onset_us: s.onset_us,
                first_us: s.first_us,
                last_us: s.last_us,
            },
        );
    }
    if !shadowed.is_empty() {
        eprintln!(
            "seqring: {} also holds unassembled entries of sources {:?}, which already have archives; the archives \
             are shown",
            path.display(),
            shadowed
        );
    }
    if sources.is_empty() {
        return Err(format!(
            "{} holds no log archives, entries (.npy) or segments (.seg)",
            path.display()
        )
        .into());
    }
    Ok((sources.into_values().collect(), Some(log)))
}

fn hex(bytes: &[u8], limit: usize) -> String {
    let mut s = String::with_capacity(2 * bytes.len().min(limit) + 3);
    for b in bytes.iter().take(limit) {
        s.push_str(&format!("{b:02x}"));
    }
    if bytes.len() > limit {
        s.push('…');
    }
    s
}

/// Calls `f` with every message of a source.
fn each_message(source: &Source, log: Option<&LogDir>, mut f: impl FnMut(LogMessage<'_>)) -> Result<(), CliError> {
    match (&source.origin, log) {
        (Origin::Archive(archive), _) => {
            for m in archive.iter() {
                f(m?);
            }
        }
        (Origin::Entries, Some(log)) => log.for_each_message(source.id, &mut f)?,
        (Origin::Entries, None) => {}
    }
    Ok(())
}

fn opt(v: Option<u64>) -> String {
    v.map_or_else(|| "-".to_owned(), |v| v.to_string())
}

/// Whether `path` is a seqring mapped file (by its magic).
fn is_mapped_file(path: &Path) -> bool {
    let mut magic = [0u8; 8];
    std::fs::File::open(path)
        .and_then(|mut f| std::io::Read::read_exact(&mut f, &mut magic))
        .is_ok_and(|()| magic == seqring_mapped::header::MAGIC)
}

/// Summarises a mapped file from its validated header.
fn inspect_mapped(path: &Path, as_json: bool) -> Result<(), CliError> {
    let info = seqring_mapped::inspect(path)?;
    let value = json!({
        "path": path,
        "mapped": {
            "kind": format!("{:?}", info.kind).to_lowercase(),
            "count": info.count,
            "file_len": info.file_len,
            "has_tails": info.has_tails,
            "dtype": info.tag.dtype.map(|d| d.descr()),
            "type_size": info.tag.size,
            "type_align": info.tag.align,
            "schema": format!("{:016x}", info.tag.schema),
        }
    });
    if as_json {
        println!("{value}");
    } else {
        println!("{}", path.display());
        for (k, v) in value["mapped"].as_object().into_iter().flatten() {
            println!("{k:>12}: {v}");
        }
    }
    Ok(())
}

/// Runs the command.
pub fn run(args: Args) -> Result<(), CliError> {
    if args.path.is_file() && is_mapped_file(&args.path) {
        return inspect_mapped(&args.path, args.json);
    }
    let (sources, log) = collect(&args.path)?;
    if let Some(svg) = &args.plot {
        draw(svg, &sources, log.as_ref())?;
    }
    let mut out = std::io::BufWriter::new(std::io::stdout().lock());
    let result = if args.json {
        print_json(&mut out, &sources, log.as_ref(), args.messages)
    } else {
        print_text(&mut out, &args.path, &sources, log.as_ref(), args.messages)
    };
    match result.and_then(|()| out.flush().map_err(Into::into)) {
        Err(e)
            if e.downcast_ref::<std::io::Error>()
                .is_some_and(|e| e.kind() == std::io::ErrorKind::BrokenPipe) =>
        {
            Ok(())
        }
        other => other,
    }
}

/// The gaps listed on stderr per source; the rest are counted.
const GAPS_LISTED: usize = 10;

/// Draws the rate plot and reports its gaps on stderr (stdout stays the summary, JSON or text).
fn draw(svg: &Path, sources: &[Source], log: Option<&LogDir>) -> Result<(), CliError> {
    let mut series = Vec::with_capacity(sources.len());
    for s in sources {
        let mut times_us = Vec::with_capacity(s.message_count as usize);
        each_message(s, log, |m| times_us.push(m.timestamp_us))?;
        series.push(Series { source: s.id, times_us });
    }
    let binned = plot(&series, svg)?;
    let mut total = 0;
    for b in &binned {
        total += b.gaps.len();
        for g in b.gaps.iter().take(GAPS_LISTED) {
            eprintln!(
                "seqring: source {} has a gap from {:.3} s to {:.3} s",
                g.source, g.from_s, g.to_s
            );
        }
        if b.gaps.len() > GAPS_LISTED {
            eprintln!(
                "seqring: source {} has {} more gaps (the plot shows them all)",
                b.source,
                b.gaps.len() - GAPS_LISTED
            );
        }
    }
    eprintln!(
        "seqring: wrote {} ({} gap{}; seconds count from the first message of any source)",
        svg.display(),
        total,
        if total == 1 { "" } else { "s" }
    );
    Ok(())
}

fn print_json(out: &mut impl Write, sources: &[Source], log: Option<&LogDir>, messages: bool) -> Result<(), CliError> {
    let mut map = Map::new();
    for s in sources {
        let mut entry = json!({
            "message_count": s.message_count,
            "onset_us": s.onset_us,
            "first_us": s.first_us,
            "last_us": s.last_us,
        });
        match &s.schema {
            Some(Ok(schema)) => {
                // The side file's own JSON, without its layout version and source id.
                let mut v: Value = serde_json::from_str(&schema.to_json(s.id))?;
                if let Some(o) = v.as_object_mut() {
                    o.remove("seqring_schema");
                    o.remove("source_id");
                }
                entry["schema"] = v;
            }
            Some(Err(e)) => entry["schema"] = json!({ "error": e }),
            None => {}
        }
        if messages {
            let mut list = Vec::with_capacity(s.message_count as usize);
            each_message(s, log, |m| {
                list.push(json!([m.timestamp_us, hex(m.payload, usize::MAX)]))
            })?;
            entry["messages"] = Value::Array(list);
        }
        map.insert(s.id.to_string(), entry);
    }
    serde_json::to_writer(&mut *out, &json!({ "sources": map }))?;
    writeln!(out)?;
    Ok(())
}

fn print_text(
    out: &mut impl Write,
    path: &Path,
    sources: &[Source],
    log: Option<&LogDir>,
    messages: bool,
) -> Result<(), CliError> {
    writeln!(out, "{}", path.display())?;
    writeln!(
        out,
        "{:>6}  {:>10}  {:>16}  {:>16}  {:>16}  {:>12}  from",
        "source", "messages", "onset_us", "first_us", "last_us", "span_s"
    )?;
    for s in sources {
        let span = match (s.first_us, s.last_us) {
            (Some(a), Some(b)) => format!("{:.6}", b.saturating_sub(a) as f64 / 1e6),
            _ => "-".to_owned(),
        };
        let from = match &s.origin {
            Origin::Archive(a) => a.path().display().to_string(),
            Origin::Entries => "unassembled entries".to_owned(),
        };
        writeln!(
            out,
            "{:>6}  {:>10}  {:>16}  {:>16}  {:>16}  {:>12}  {}",
            s.id,
            s.message_count,
            opt(s.onset_us),
            opt(s.first_us),
            opt(s.last_us),
            span,
            from
        )?;
    }
    for s in sources {
        match &s.schema {
            Some(Ok(schema)) => writeln!(out, "source {} schema: {schema}", s.id)?,
            Some(Err(e)) => writeln!(out, "source {} schema: unreadable: {e}", s.id)?,
            None => {}
        }
    }
    if messages {
        writeln!(out)?;
        writeln!(out, "{:>6}  {:>16}  {:>10}  payload", "source", "timestamp_us", "bytes")?;
        for s in sources {
            let mut err = None;
            each_message(s, log, |m| {
                if err.is_none() {
                    if let Err(e) = writeln!(
                        out,
                        "{:>6}  {:>16}  {:>10}  {}",
                        m.source_id,
                        m.timestamp_us,
                        m.payload.len(),
                        hex(m.payload, 32)
                    ) {
                        err = Some(e);
                    }
                }
            })?;
            if let Some(e) = err {
                return Err(e.into());
            }
        }
    }
    Ok(())
}
