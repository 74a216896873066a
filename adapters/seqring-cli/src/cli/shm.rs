//! `seqring shm list|inspect|watch|remove`: the seqring regions in `/dev/shm` (Linux) or the region directory
//! (Windows, macOS: see `seqring_platform::regions_dir`), stale ones included.
//!
//! A logger's region is named `seqring-log.{logger name}`; `inspect`, `watch` and `remove` also find it by the
//! logger's own name. `remove` removes only objects that carry seqring's header, unless `--force` is given, so a
//! typo cannot delete another program's shared memory.

use std::io::{IsTerminal, Write};
use std::time::Duration;

use seqring::logger::{self, REGION_PREFIX};
use seqring::shared_array::{self, SharedArrayDyn};
use seqring_core::header::RegionKind;
use seqring_core::DType;
use seqring_platform::{self as region, RegionEntry};
use serde_json::{json, Value};

use super::CliError;

/// How long `inspect` waits for a writer in its write section before it reports the stall.
const INSPECT_TIMEOUT: Duration = Duration::from_millis(200);

/// Arguments of `seqring shm`.
#[derive(clap::Args, Debug)]
pub struct Args {
    #[command(subcommand)]
    action: Action,
}

#[derive(clap::Subcommand, Debug)]
enum Action {
    /// List the seqring regions (shared arrays and log rings), with their creator and whether it is alive.
    List {
        /// Print one JSON object: {"regions": [{name, kind, size, creator_pid, alive, created_ns, error}]}.
        #[arg(long)]
        json: bool,
    },
    /// Show one region: header, and for an array its dtype, shape, version and age; for a logger its ring.
    Inspect {
        /// The region's name (as `shm list` prints it), or a logger's name.
        name: String,
        /// Print one JSON object.
        #[arg(long)]
        json: bool,
    },
    /// Redraw a shared array's values, version and age as soon as a writer publishes (it blocks on the array
    /// until then), until interrupted or the array is removed; for a logger, each source's rate, drops and newest
    /// message every interval, until it stops.
    Watch {
        /// The array's region name, or a logger's name.
        name: String,
        /// For an array, the least time between two redraws in milliseconds (versions published in between are
        /// skipped; default 20); for a logger, how often to redraw (default 100).
        #[arg(long)]
        interval_ms: Option<u64>,
        /// Stop after this many redraws (default: until interrupted).
        #[arg(long)]
        updates: Option<u64>,
        /// The most values to show.
        #[arg(long, default_value_t = 64)]
        limit: usize,
    },
    /// Remove a seqring region (its name disappears; processes that have it mapped keep their mapping).
    Remove {
        /// The region's name, or a logger's name.
        name: String,
        /// Also remove an object without seqring's header (another program's shared memory, or a region whose
        /// header was never written).
        #[arg(long)]
        force: bool,
    },
}

/// Runs the command.
pub fn run(args: Args) -> Result<(), CliError> {
    match args.action {
        Action::List { json } => list(json),
        Action::Inspect { name, json } => inspect(&resolve(&name), json),
        Action::Watch {
            name,
            interval_ms,
            updates,
            limit,
        } => {
            let name = resolve(&name);
            let interval = |default: u64| Duration::from_millis(interval_ms.unwrap_or(default).max(1));
            match name.strip_prefix(REGION_PREFIX) {
                Some(logger_name) => watch_logger(logger_name, interval(100), updates),
                None => watch(&name, interval(20), updates, limit),
            }
        }
        Action::Remove { name, force } => remove(&resolve(&name), force),
    }
}

/// The region a user means by `name`: the region of that name, else the region of the logger of that name.
fn resolve(name: &str) -> String {
    let exists = |n: &str| region::RegionName::new(n).is_ok_and(|n| n.shm_path().exists());
    let logger_region = format!("{REGION_PREFIX}{name}");
    if !exists(name) && !name.starts_with(REGION_PREFIX) && exists(&logger_region) {
        logger_region
    } else {
        name.to_owned()
    }
}

/// Removes a region that carries seqring's header, or with `force` any shared-memory object of that name.
fn remove(name: &str, force: bool) -> Result<(), CliError> {
    if !force && !region::has_seqring_header(name)? {
        return Err(format!(
            "{name} in {} has no seqring header, so it may belong to another program; left as it is (pass --force \
             to remove it anyway)",
            region::regions_dir().display()
        )
        .into());
    }
    region::remove_region(name)?;
    println!("removed {name}");
    Ok(())
}

fn kind_name(kind: RegionKind, name: &str) -> &'static str {
    match kind {
        RegionKind::Array => "array",
        RegionKind::Ring if name.starts_with(REGION_PREFIX) => "logger",
        RegionKind::Ring => "ring",
    }
}

fn entry_json(e: &RegionEntry) -> Value {
    match &e.header {
        Ok(h) => json!({
            "name": e.name, "kind": kind_name(h.kind, &e.name), "size": e.size, "creator_pid": h.creator_pid,
            "alive": e.creator_alive, "created_ns": h.created_ns, "error": null,
        }),
        Err(err) => json!({
            "name": e.name, "kind": null, "size": e.size, "creator_pid": null, "alive": null, "created_ns": null,
            "error": err.to_string(),
        }),
    }
}

fn list(as_json: bool) -> Result<(), CliError> {
    let entries = region::list_regions()?;
    let mut out = std::io::stdout().lock();
    if as_json {
        let regions: Vec<Value> = entries.iter().map(entry_json).collect();
        writeln!(out, "{}", json!({ "regions": regions }))?;
        return Ok(());
    }
    // The name column is as wide as the longest name, so that every row lines up with the header.
    let w = entries.iter().map(|e| e.name.len()).max().unwrap_or(0).max(4);
    writeln!(
        out,
        "{:<w$} {:>7} {:>12} {:>9}  state",
        "name", "kind", "bytes", "creator"
    )?;
    for e in &entries {
        match &e.header {
            Ok(h) => writeln!(
                out,
                "{:<w$} {:>7} {:>12} {:>9}  {}",
                e.name,
                kind_name(h.kind, &e.name),
                e.size,
                h.creator_pid,
                if e.is_stale() { "stale (creator dead)" } else { "live" }
            )?,
            Err(err) => writeln!(
                out,
                "{:<w$} {:>7} {:>12} {:>9}  invalid: {err}",
                e.name, "?", e.size, "?"
            )?,
        }
    }
    if entries.is_empty() {
        writeln!(out, "(no seqring regions in {})", region::regions_dir().display())?;
    }
    Ok(())
}

fn inspect(name: &str, as_json: bool) -> Result<(), CliError> {
    let header = region::probe_region(name)?;
    // The object's size, as `shm list` reports it (a logger's region is longer than its ring's header says: the
    // logger's source table follows the ring).
    let size = region::Region::open_shm(name).map_or(header.len, |r| r.len() as u64);
    let value = match header.kind {
        RegionKind::Array => {
            let a = shared_array::inspect(name, INSPECT_TIMEOUT)?;
            let current = match &a.current {
                Ok(s) => json!({
                    "dtype": if s.dtype.is_record() { a.descr.as_str() } else { s.dtype.descr() }, "shape": s.shape(), "version": s.version,
                    "write_time_ns": s.write_time_ns, "suspect": s.suspect,
                }),
                Err(e) => json!({ "error": e }),
            };
            json!({
                "name": name, "kind": "array", "size": size, "creator_pid": header.creator_pid,
                "creator_alive": a.creator_alive, "created_ns": header.created_ns,
                "capacity_bytes": a.capacity_bytes, "created_dtype": a.descr,
                "created_shape": &a.created_as.1[..], "current": current,
                "age_s": a.age.map(|d| d.as_secs_f64()), "locked": a.locked,
            })
        }
        RegionKind::Ring => {
            let mut v = json!({
                "name": name, "kind": "ring", "size": size, "creator_pid": header.creator_pid,
                "creator_alive": region::pid_alive(header.creator_pid), "created_ns": header.created_ns,
            });
            if let Some(logger_name) = name.strip_prefix(REGION_PREFIX) {
                let info = logger::inspect(logger_name)?;
                let s = info.stats;
                v["kind"] = json!("logger");
                v["logger"] = json!({
                    "state": format!("{:?}", info.state).to_lowercase(), "pid": info.pid,
                    "started_us": info.started_us, "capacity": info.capacity, "max_payload": info.max_payload,
                    "head": s.head, "tail": s.tail, "pending_bytes": s.tail.wrapping_sub(s.head),
                    "records": s.records, "bytes": s.bytes, "dropped": s.dropped, "abandoned": s.abandoned,
                    "sources": info.sources.iter().map(|src| json!({
                        "source_id": src.source_id, "onset_us": src.onset_us, "pid": src.pid, "dropped": src.dropped,
                    })).collect::<Vec<_>>(),
                });
            }
            v
        }
    };
    let mut out = std::io::stdout().lock();
    if as_json {
        writeln!(out, "{value}")?;
    } else {
        print_tree(&mut out, &value, 0)?;
    }
    Ok(())
}

/// Prints a JSON value as indented `key: value` lines.
fn print_tree(out: &mut impl Write, value: &Value, depth: usize) -> std::io::Result<()> {
    let pad = "  ".repeat(depth);
    match value {
        Value::Object(map) => {
            for (k, v) in map {
                if v.is_object() || v.as_array().is_some_and(|a| a.iter().any(Value::is_object)) {
                    writeln!(out, "{pad}{k}:")?;
                    print_tree(out, v, depth + 1)?;
                } else {
                    writeln!(out, "{pad}{k}: {v}")?;
                }
            }
        }
        Value::Array(items) => {
            for item in items {
                writeln!(out, "{pad}-")?;
                print_tree(out, item, depth + 1)?;
            }
        }
        other => writeln!(out, "{pad}{other}")?,
    }
    Ok(())
}

/// How long `watch` blocks on a quiet array before it checks that the region still exists.
const REMOVAL_CHECK: Duration = Duration::from_millis(500);

/// Redraws an array whenever a writer publishes a new version, at most once per `interval`: between redraws it
/// blocks in `wait_changed` (no polling), waking every [`REMOVAL_CHECK`] to end when the region was removed or
/// replaced (its name now holds another creator's region).
fn watch(name: &str, interval: Duration, updates: Option<u64>, limit: usize) -> Result<(), CliError> {
    let array = SharedArrayDyn::open(name)?;
    // Who created the region watched: a region created again under the same name is another array.
    let created = |info: &seqring_core::header::RegionInfo| (info.creator_pid, info.created_ns);
    let ours = region::probe_region(name).map(|i| created(&i)).ok();
    let terminal = std::io::stdout().is_terminal();
    let mut shown = 0u64;
    let mut last_version = None;
    loop {
        let read = array.read()?;
        if last_version != Some(read.version) {
            last_version = Some(read.version);
            let age = if read.write_time_ns == 0 {
                "never written".to_owned()
            } else {
                let now = seqring_platform::clock::now_ns();
                format!("{:.3} s ago", now.saturating_sub(read.write_time_ns) as f64 / 1e9)
            };
            let mut out = std::io::stdout().lock();
            if terminal {
                write!(out, "\x1b[H\x1b[2J")?;
            }
            writeln!(
                out,
                "{name}: {} {:?}  version {}  written {age} by pid {}{}",
                read.dtype.descr(),
                &read.shape[..],
                read.version,
                read.writer_pid,
                if read.suspect {
                    "  (suspect: a stalled write was recovered)"
                } else {
                    ""
                }
            )?;
            writeln!(out, "{}", format_values(read.dtype, &read.data, limit))?;
            out.flush()?;
            shown += 1;
            if updates.is_some_and(|n| shown >= n) {
                return Ok(());
            }
            // The redraw rate's cap: a writer at 1 kHz is drawn at most every `interval`.
            std::thread::sleep(interval);
        }
        while array.wait_changed(read.version, REMOVAL_CHECK)?.is_none() {
            if region::probe_region(name).map(|i| created(&i)).ok() != ours {
                println!("{name}: the array was removed (or replaced by a new one of that name)");
                return Ok(());
            }
        }
    }
}

/// Redraws a logger's sources every `interval`, as AeronStat does for Aeron: each source's drained records, its
/// rate over the last interval, its drops and how old its newest drained message is; then the ring's totals.
/// Ends when the logger's region is gone (it stopped).
fn watch_logger(name: &str, interval: Duration, updates: Option<u64>) -> Result<(), CliError> {
    let terminal = std::io::stdout().is_terminal();
    let mut previous: std::collections::HashMap<u8, u64> = std::collections::HashMap::new();
    let mut last = std::time::Instant::now();
    let mut shown = 0u64;
    loop {
        let info = match logger::inspect(name) {
            Ok(info) => info,
            Err(logger::OpenError::NotRunning { .. }) if shown > 0 => {
                println!("logger {name:?} stopped");
                return Ok(());
            }
            Err(e) => return Err(e.into()),
        };
        let dt = last.elapsed().as_secs_f64().max(1e-9);
        last = std::time::Instant::now();
        let now_us = seqring_platform::clock::now_ns() / 1_000;
        let mut out = std::io::stdout().lock();
        if terminal {
            write!(out, "\x1b[H\x1b[2J")?;
        }
        let s = info.stats;
        writeln!(
            out,
            "logger {name:?}: {}, pid {}; ring {} of {} bytes pending; {} records, {} dropped, {} abandoned",
            format!("{:?}", info.state).to_lowercase(),
            info.pid,
            s.tail.wrapping_sub(s.head),
            info.capacity,
            s.records,
            s.dropped,
            s.abandoned
        )?;
        writeln!(
            out,
            "{:>6}  {:>8}  {:>12}  {:>12}  {:>9}  newest",
            "source", "pid", "records", "rate/s", "dropped"
        )?;
        for src in &info.sources {
            let rate = previous
                .get(&src.source_id)
                .map_or(0.0, |&p| src.drained.saturating_sub(p) as f64 / dt);
            previous.insert(src.source_id, src.drained);
            let newest = match (src.onset_us, src.drained) {
                (_, 0) => "none yet".to_owned(),
                (Some(onset), _) => {
                    let age = now_us.saturating_sub(onset + src.last_timestamp);
                    format!("{:.3} s ago", age as f64 / 1e6)
                }
                (None, _) => format!("at {} µs", src.last_timestamp),
            };
            writeln!(
                out,
                "{:>6}  {:>8}  {:>12}  {:>12.0}  {:>9}  {newest}",
                src.source_id, src.pid, src.drained, rate, src.dropped
            )?;
        }
        out.flush()?;
        shown += 1;
        if updates.is_some_and(|n| shown >= n) {
            return Ok(());
        }
        std::thread::sleep(interval);
    }
}

/// The first `limit` values of little-endian `data` of `dtype`, comma-separated.
fn format_values(dtype: DType, data: &[u8], limit: usize) -> String {
    let size = dtype.itemsize();
    let values: Vec<String> = data
        .chunks_exact(size)
        .take(limit)
        .map(|b| {
            let word = |n: usize| {
                let mut w = [0u8; 8];
                w[..n].copy_from_slice(&b[..n]);
                u64::from_le_bytes(w)
            };
            match dtype {
                DType::Bool => (b[0] != 0).to_string(),
                DType::I8 => (b[0] as i8).to_string(),
                DType::I16 => (word(2) as u16 as i16).to_string(),
                DType::I32 => (word(4) as u32 as i32).to_string(),
                DType::I64 => (word(8) as i64).to_string(),
                DType::U8 | DType::U16 | DType::U32 | DType::U64 => word(size).to_string(),
                DType::F32 => f32::from_bits(word(4) as u32).to_string(),
                DType::F64 => f64::from_bits(word(8)).to_string(),
                DType::F16 => f16_to_f32(word(2) as u16).to_string(),
                DType::Complex64 => {
                    let (re, im) = (
                        f32::from_bits(word(4) as u32),
                        f32::from_le_bytes([b[4], b[5], b[6], b[7]]),
                    );
                    format!("{re}{im:+}j")
                }
                DType::Complex128 => {
                    let im = f64::from_le_bytes(b[8..16].try_into().unwrap_or_default());
                    format!("{}{im:+}j", f64::from_bits(word(8)))
                }
                // DType is non-exhaustive: a future type shows as hex bytes.
                _ => b.iter().map(|x| format!("{x:02x}")).collect(),
            }
        })
        .collect();
    let more = data.len() / size.max(1) > limit;
    format!("[{}{}]", values.join(", "), if more { ", …" } else { "" })
}

/// An IEEE half-precision value as `f32` (exact: every f16 is an f32).
fn f16_to_f32(bits: u16) -> f32 {
    let sign = if bits & 0x8000 != 0 { -1.0 } else { 1.0 };
    let exponent = i32::from((bits >> 10) & 0x1f);
    let fraction = f32::from(bits & 0x3ff);
    sign * match exponent {
        0 => fraction * 2f32.powi(-24),
        31 if fraction == 0.0 => f32::INFINITY,
        31 => f32::NAN,
        e => (1.0 + fraction / 1024.0) * 2f32.powi(e - 15),
    }
}
