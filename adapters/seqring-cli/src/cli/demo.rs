//! `seqring demo`: the main job, with zero configuration.
//!
//! The parent owns a shared array of run state (trial number, elapsed ms) and a `DataLogger`. It re-executes this
//! binary as N producer processes (`seqring demo-producer`, hidden), which read the state array and stamp it into
//! every payload while they log at full speed through the shared-memory ring. Then the parent stops the logger,
//! assembles the archives, and verifies every message with the archive reader: per-source counts equal what each
//! producer reported, the onset is present, timestamps never go backwards, and every producer's sequence numbers
//! arrive exactly once, in order. It prints a per-source table and a summary line, and exits 1 if anything does
//! not add up.
//!
//! Each producer logs one full-speed burst of `--burst` messages per trial (a trial every 250 ms) for `--seconds`,
//! so the number of messages, and the disk space a run takes, grow with `--seconds`; `--max-records` caps them.
//! The summary states each producer's rate inside its bursts (messages over the time spent in bursts), the average
//! over the whole run, and where the run's files are and how much space they take; `--clean` removes them after
//! the check.
//!
//! Payload layout (little-endian): `[seq u64][trial u64][elapsed ms u64][filler]`, so `--payload` is at least 24.

use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use seqring::archive::{assemble_log_archives, AssembleOptions, LogArchive};
use seqring::logger::{DataLogger, FullPolicy, LogError, Producer};
use seqring::shared_array::SharedArray;

use super::progress::{grouped, si, Progress, Unit};
use super::CliError;

/// The smallest payload: sequence number, trial and elapsed time.
const MIN_PAYLOAD: usize = 24;
/// How long the parent waits for the logger's ring when it is full, before a record counts as dropped.
const FULL_WAIT: Duration = Duration::from_secs(2);
/// The trial number advances this often.
const TRIAL: Duration = Duration::from_millis(250);
/// The largest `--payload`: well inside the logger's largest record.
const MAX_PAYLOAD: usize = 1 << 20;

/// Parses `--payload`: at least [`MIN_PAYLOAD`], at most [`MAX_PAYLOAD`] bytes (a usage error otherwise).
fn parse_payload(text: &str) -> Result<usize, String> {
    match text.parse::<usize>() {
        Ok(n) if (MIN_PAYLOAD..=MAX_PAYLOAD).contains(&n) => Ok(n),
        _ => Err(format!(
            "{text:?} is not a payload size from {MIN_PAYLOAD} (sequence number, trial and time) to {MAX_PAYLOAD} bytes"
        )),
    }
}

/// Parses `--seconds`: a positive number of seconds, at most a day (a usage error otherwise).
fn parse_seconds(text: &str) -> Result<f64, String> {
    match text.parse::<f64>() {
        Ok(s) if s > 0.0 && s <= 86_400.0 => Ok(s),
        _ => Err(format!("{text:?} is not a positive number of seconds (at most 86400)")),
    }
}

/// Arguments of `seqring demo`.
#[derive(clap::Args, Debug)]
pub struct Args {
    /// Where the run directories go (a new one each run).
    #[arg(long, default_value = "seqring-demo")]
    out: PathBuf,
    /// Producer processes.
    #[arg(long, default_value_t = 3, value_parser = clap::value_parser!(u8).range(1..=200))]
    producers: u8,
    /// How long the producers log: one burst per producer every 250 ms, so the messages and the run's disk space
    /// grow with it (about 24 MB per producer and second at the defaults).
    #[arg(long, default_value_t = 3.0, value_parser = parse_seconds)]
    seconds: f64,
    /// Payload bytes per message (24 to 1048576).
    #[arg(long, default_value_t = 64, value_parser = parse_payload)]
    payload: usize,
    /// The messages each producer logs in each burst, at full speed.
    #[arg(long, default_value_t = 16_000, value_parser = clap::value_parser!(u64).range(1..))]
    burst: u64,
    /// At most this many messages per producer in all (default: as many as the bursts of `--seconds` hold).
    #[arg(long, value_parser = clap::value_parser!(u64).range(1..))]
    max_records: Option<u64>,
    /// Remove the run's directory after the archives are verified (by default it stays, for a look with
    /// `seqring inspect` or numpy).
    #[arg(long)]
    clean: bool,
}

/// Arguments of the hidden `seqring demo-producer` (one producer process of a demo).
#[derive(clap::Args, Debug)]
pub struct ProducerArgs {
    #[arg(long)]
    logger: String,
    #[arg(long)]
    state: String,
    #[arg(long)]
    source: u8,
    #[arg(long)]
    trials: u64,
    #[arg(long)]
    payload: usize,
    #[arg(long)]
    burst: u64,
    #[arg(long)]
    max_records: u64,
}

/// What one producer process reports on its stdout when it is done.
#[derive(Clone, Copy, Debug, serde::Deserialize, serde::Serialize)]
struct ProducerReport {
    source: u8,
    logged: u64,
    dropped: u64,
    /// Time spent inside bursts, ns: the rate while logging is `logged / busy`.
    busy_ns: u64,
}

impl ProducerReport {
    /// Messages per second while the producer was logging.
    fn rate(&self) -> f64 {
        self.logged as f64 / (self.busy_ns as f64 / 1e9).max(1e-9)
    }
}

/// Runs one producer process: logs one burst in each of the run's trials (a late producer catches up, so the
/// message count does not depend on the machine's load) until the trials or the record limit are used up, then
/// prints its report.
pub fn run_producer(args: ProducerArgs) -> Result<(), CliError> {
    if args.payload < MIN_PAYLOAD {
        return Err(format!("--payload must be at least {MIN_PAYLOAD} bytes").into());
    }
    let state = SharedArray::<u64>::open(&args.state)?;
    let producer = Producer::connect(&args.logger, args.source)?;
    let mut payload = vec![0u8; args.payload];
    for (i, b) in payload[MIN_PAYLOAD..].iter_mut().enumerate() {
        *b = (i as u8) ^ args.source;
    }
    // One burst per trial, at full speed: the producer waits for the parent to advance the trial in the shared
    // state array, then logs its share of the messages as fast as the ring takes them.
    let per_trial = args.burst;
    let (mut logged, mut dropped, mut run_state) = (0u64, 0u64, [0u64; 2]);
    let (mut next_trial, mut busy) = (0, Duration::ZERO);
    while logged + dropped < args.max_records && next_trial < args.trials {
        state.read_into(&mut run_state)?;
        if run_state[0] < next_trial {
            std::thread::sleep(Duration::from_micros(500));
            continue;
        }
        next_trial += 1;
        let burst_end = (logged + dropped + per_trial).min(args.max_records);
        let burst = Instant::now();
        while logged + dropped < burst_end {
            state.read_into(&mut run_state)?;
            payload[..8].copy_from_slice(&logged.to_le_bytes());
            payload[8..16].copy_from_slice(&run_state[0].to_le_bytes());
            payload[16..24].copy_from_slice(&run_state[1].to_le_bytes());
            match producer.log_now(&payload) {
                Ok(()) => logged += 1,
                Err(LogError::Full) => dropped += 1,
                Err(e) => return Err(e.into()),
            }
        }
        busy += burst.elapsed();
    }
    let report = ProducerReport {
        source: args.source,
        logged,
        dropped,
        busy_ns: busy.as_nanos() as u64,
    };
    println!("{}", serde_json::to_string(&report)?);
    Ok(())
}

/// A producer process and how to read its report.
struct Running {
    source: u8,
    child: Child,
}

/// Runs the demo.
pub fn run(args: Args) -> Result<(), CliError> {
    let pid = std::process::id();
    let run_dir = args.out.join(format!("run-{}-{pid}", utc_stamp()));
    let out_is_new = !args.out.exists();
    std::fs::create_dir_all(&run_dir).map_err(|e| format!("cannot create {}: {e}", run_dir.display()))?;
    let logger_name = format!("seqring-demo-{pid}");
    let state_name = format!("seqring-demo-{pid}-state");
    let state = SharedArray::<u64>::create(&state_name, &[2])?;
    let logger = DataLogger::builder(&run_dir, &logger_name)
        .on_full(FullPolicy::Wait(FULL_WAIT))
        .start()?;
    let log_dir = logger.log_dir().to_path_buf();

    let trials = ((args.seconds / TRIAL.as_secs_f64()).ceil() as u64).max(1);
    let progress = Progress::new(Unit::Spinner, "starting producers");
    let exe = std::env::current_exe()?;
    let mut running = Vec::new();
    for source in 1..=args.producers {
        let child = Command::new(&exe)
            .args(["demo-producer", "--logger", &logger_name, "--state", &state_name])
            .args(["--source", &source.to_string(), "--trials", &trials.to_string()])
            .args(["--payload", &args.payload.to_string()])
            .args(["--burst", &args.burst.to_string()])
            .args(["--max-records", &args.max_records.unwrap_or(u64::MAX).to_string()])
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .map_err(|e| format!("cannot start a producer process from {}: {e}", exe.display()))?;
        running.push(Running { source, child });
    }

    // The run state the producers stamp into their payloads, updated until every producer has finished.
    let start = Instant::now();
    let mut reports = Vec::new();
    while !running.is_empty() {
        let elapsed = start.elapsed();
        let trial = (elapsed.as_millis() / TRIAL.as_millis()) as u64;
        state.write(&[trial, elapsed.as_millis() as u64])?;
        let health = logger.health();
        progress.message(format!(
            "{} producers logging, trial {} of {trials}: {} records written, {} dropped",
            running.len(),
            (trial + 1).min(trials),
            grouped(health.records),
            grouped(health.dropped)
        ));
        let mut i = 0;
        while i < running.len() {
            if running[i].child.try_wait()?.is_some() {
                reports.push(finish(running.swap_remove(i))?);
            } else {
                i += 1;
            }
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    let logging = start.elapsed();
    progress.message("stopping the logger".into());
    let stop = logger.stop()?;
    drop(state);

    progress.message("assembling archives".into());
    let assembled = assemble_log_archives(&log_dir, &AssembleOptions::default())?;
    progress.message("verifying every message".into());
    reports.sort_by_key(|r| r.source);
    let problems = verify(&reports, &assembled.archives, args.payload)?;
    progress.finish();

    let logged: u64 = reports.iter().map(|r| r.logged).sum();
    let dropped: u64 = reports.iter().map(|r| r.dropped).sum();
    let mut out = std::io::stdout().lock();
    writeln!(
        out,
        "{:>6} {:>12} {:>8} {:>16}  archive",
        "source", "messages", "dropped", "burst rate"
    )?;
    for r in &reports {
        let archive = assembled.archives.iter().find(|a| a.source_id == r.source);
        writeln!(
            out,
            "{:>6} {:>12} {:>8} {:>16}  {}",
            r.source,
            grouped(r.logged),
            grouped(r.dropped),
            format!("{}/s", si(r.rate())),
            archive.map_or_else(|| "(none)".into(), |a| a.path.display().to_string())
        )?;
    }
    let rates: Vec<f64> = reports.iter().map(ProducerReport::rate).collect();
    let (slowest, fastest) = rates
        .iter()
        .fold((f64::INFINITY, 0.0f64), |(lo, hi), &r| (lo.min(r), hi.max(r)));
    writeln!(
        out,
        "demo: {} producers logged {} messages of {} B in {:.2} s, {} bursts each; inside its bursts each producer \
         logged {}–{} messages/s (over whole bursts, time without a core included: `seqring inspect --plot` shows \
         the peaks), {} messages/s averaged over the whole run",
        reports.len(),
        grouped(logged),
        args.payload,
        logging.as_secs_f64(),
        trials,
        si(slowest),
        si(fastest),
        si(logged as f64 / logging.as_secs_f64().max(1e-9)),
    )?;
    writeln!(
        out,
        "demo: written {} records (the messages and one onset per producer); dropped: {}; abandoned: {}; archives \
         in {}",
        grouped(stop.records),
        dropped.max(stop.dropped),
        stop.abandoned,
        log_dir.display()
    )?;
    if !problems.is_empty() {
        return Err(format!("the demo's archives do not add up: {}", problems.join("; ")).into());
    }
    writeln!(out, "demo: every message verified in the archives")?;
    let size = tree_size(&run_dir);
    if args.clean {
        std::fs::remove_dir_all(&run_dir).map_err(|e| format!("cannot remove {}: {e}", run_dir.display()))?;
        if out_is_new {
            // Only a directory this run created, and only when nothing else is in it.
            let _ = std::fs::remove_dir(&args.out);
        }
        writeln!(out, "demo: removed {} ({})", run_dir.display(), mb(size))?;
    } else {
        writeln!(
            out,
            "demo: the run's files take {} in {}; remove them with `rm -r {}` (or run the demo with --clean)",
            mb(size),
            run_dir.display(),
            run_dir.display()
        )?;
    }
    Ok(())
}

/// The bytes of every file under `dir` (what a run leaves on disk).
fn tree_size(dir: &Path) -> u64 {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return 0;
    };
    entries
        .filter_map(Result::ok)
        .map(|e| match e.file_type() {
            Ok(t) if t.is_dir() => tree_size(&e.path()),
            Ok(_) => e.metadata().map_or(0, |m| m.len()),
            Err(_) => 0,
        })
        .sum()
}

/// Bytes with a decimal prefix (`205 MB`), as `du --si` and file managers show them.
fn mb(bytes: u64) -> String {
    let scaled = si(bytes as f64);
    if scaled.ends_with(|c: char| c.is_ascii_digit()) {
        format!("{scaled} B")
    } else {
        format!("{scaled}B")
    }
}

/// Waits for a finished producer and parses its report.
fn finish(running: Running) -> Result<ProducerReport, CliError> {
    let Running { source, mut child } = running;
    let status = child.wait()?;
    let mut line = String::new();
    if let Some(stdout) = child.stdout.take() {
        BufReader::new(stdout).read_line(&mut line)?;
    }
    if !status.success() {
        return Err(format!("producer process {source} failed ({status})").into());
    }
    let report: ProducerReport =
        serde_json::from_str(line.trim()).map_err(|e| format!("producer process {source} sent no report: {e}"))?;
    Ok(report)
}

/// Checks every archive against its producer's report; returns what does not add up.
fn verify(
    reports: &[ProducerReport],
    archives: &[seqring::archive::AssembledArchive],
    payload: usize,
) -> Result<Vec<String>, CliError> {
    let mut problems = Vec::new();
    if archives.len() != reports.len() {
        problems.push(format!("{} archives for {} producers", archives.len(), reports.len()));
    }
    for report in reports {
        let Some(assembled) = archives.iter().find(|a| a.source_id == report.source) else {
            problems.push(format!("source {} has no archive", report.source));
            continue;
        };
        problems.extend(verify_archive(&assembled.path, report, payload)?);
    }
    Ok(problems)
}

fn verify_archive(path: &Path, report: &ProducerReport, payload: usize) -> Result<Vec<String>, CliError> {
    let archive = LogArchive::open(path)?;
    let source = report.source;
    let mut problems = Vec::new();
    if archive.message_count() as u64 != report.logged {
        problems.push(format!(
            "source {source}: the archive holds {} messages, the producer logged {}",
            archive.message_count(),
            report.logged
        ));
    }
    if archive.onset_us() == 0 {
        problems.push(format!("source {source}: no onset"));
    }
    let (mut last_ts, mut last_trial) = (0u64, 0u64);
    for (seq, message) in archive.iter().enumerate() {
        let message = message?;
        let p = message.payload;
        let word = |i: usize| u64::from_le_bytes(p[8 * i..8 * i + 8].try_into().unwrap_or_default());
        if p.len() != payload {
            problems.push(format!(
                "source {source}: message {seq} has {} bytes, not {payload}",
                p.len()
            ));
            break;
        }
        if word(0) != seq as u64 {
            problems.push(format!(
                "source {source}: message {seq} carries sequence number {}",
                word(0)
            ));
            break;
        }
        if message.timestamp_us < last_ts || word(1) < last_trial {
            problems.push(format!(
                "source {source}: time or trial went backwards at message {seq}"
            ));
            break;
        }
        (last_ts, last_trial) = (message.timestamp_us, word(1));
    }
    Ok(problems)
}

/// The current UTC time as `YYYYmmdd-HHMMSS`, for run directory names.
fn utc_stamp() -> String {
    let secs = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    let (days, rest) = (secs / 86_400, secs % 86_400);
    // Civil date from days since 1970-01-01 (Howard Hinnant's algorithm).
    let z = days as i64 + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!(
        "{year:04}{month:02}{day:02}-{:02}{:02}{:02}",
        rest / 3600,
        rest % 3600 / 60,
        rest % 60
    )
}
