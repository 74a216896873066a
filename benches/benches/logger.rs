//! The DataLogger end to end: producers → shared-memory ring → drain thread → segment files, fsync at stop; with
//! the usual hand-made front ends as peers in the same run (a `crossbeam-channel` or `std::sync::mpsc` channel of
//! owned messages into a thread with a `BufWriter<File>`, the same fsync at stop), and `dd … conv=fdatasync` as
//! the disk's own rate for the 1 MiB case. ataraxis `DataLogger` cannot be installed here (the registry serves
//! only ataraxis-data-structures ≤ 4.0.0); its recorded ~2,000 messages/s is quoted in `docs/BENCHMARKS.md`.
//!
//! `cargo bench -p seqring-benches --bench logger` runs the criterion groups. Two printed runs come first when
//! asked for, because criterion's repetitions do not fit them:
//! - `SEQRING_LOGGER_SUSTAINED=SECS`: one producer logs 64 B records for SECS seconds; prints the rate the
//!   producer saw, the rate including the final fsync, and the logger's counts;
//! - `SEQRING_LOGGER_LATENCY=SECS`: per-call `log_now` latency (hdrhistogram, ns) while the logger writes;
//! - `SEQRING_LOGGER_DRAIN=RUNS`: the drain alone: a paused logger's ring (`SEQRING_LOGGER_RING_MIB`, default 512
//!   MiB here) is filled with 64 B records (`SEQRING_LOGGER_PAYLOAD` to change), then timed from
//!   `resume_writing` to the return of `stop()` (the drain, and `fdatasync` of the segments); each run is followed
//!   by `dd bs=1M conv=fdatasync` of the same bytes into the same directory, and the ratio printed.
//!
//! `SEQRING_LOGGER_DIR` sets where files go (default: the system temp dir).

use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use criterion::{BenchmarkId, Criterion, Throughput};
use seqring::logger::{DataLogger, FullPolicy};

const SMALL: usize = 64;
const SMALL_RECORDS: u64 = 1 << 20;
const LARGE: usize = 1 << 20;
const LARGE_RECORDS: u64 = 128;

fn out_dir() -> tempfile::TempDir {
    match std::env::var_os("SEQRING_LOGGER_DIR") {
        Some(d) => tempfile::tempdir_in(d).unwrap(),
        None => tempfile::tempdir().unwrap(),
    }
}

/// The ring's data area: `SEQRING_LOGGER_RING_MIB` MiB (default 64 MiB).
fn ring_capacity() -> usize {
    std::env::var("SEQRING_LOGGER_RING_MIB")
        .ok()
        .and_then(|v| v.parse::<usize>().ok())
        .unwrap_or(64)
        << 20
}

/// A logger tuned for throughput: producers wait when the ring is full, fsync only at stop.
fn start_logger(dir: &Path, name: &str) -> DataLogger {
    DataLogger::builder(dir, &format!("bench-{}-{name}", std::process::id()))
        .capacity(ring_capacity())
        .segment_size(1 << 30)
        .fsync_interval(None)
        .on_full(FullPolicy::Wait(Duration::from_secs(60)))
        .start()
        .unwrap()
}

/// seqring: `n` records of `payload` from one producer, through the ring to segments, fsync at stop.
fn seqring_run(n: u64, payload: &[u8]) -> Duration {
    let dir = out_dir();
    let logger = start_logger(dir.path(), "run");
    let producer = logger.producer(1).unwrap();
    let start = Instant::now();
    for _ in 0..n {
        producer.log_now(payload).unwrap();
    }
    let report = logger.stop().unwrap();
    let elapsed = start.elapsed();
    assert_eq!(report.records, n + 1);
    elapsed
}

/// A channel peer: `n` owned messages (source, timestamp, payload `Vec`) into a writer thread with a
/// `BufWriter<File>` (length-prefixed records), fsync at the end.
fn channel_run<S, R>(n: u64, payload: &[u8], channel: impl FnOnce() -> (S, R)) -> Duration
where
    S: Fn((u8, u64, Vec<u8>)) + Send,
    R: FnOnce(&mut dyn FnMut((u8, u64, Vec<u8>))) + Send + 'static,
{
    let dir = out_dir();
    let path = dir.path().join("peer.log");
    let (send, recv) = channel();
    let start = Instant::now();
    let writer = std::thread::spawn(move || {
        let file = File::create(&path).unwrap();
        let mut out = BufWriter::with_capacity(256 << 10, file);
        recv(&mut |(source, ts, bytes): (u8, u64, Vec<u8>)| {
            out.write_all(&[source]).unwrap();
            out.write_all(&ts.to_le_bytes()).unwrap();
            out.write_all(&(bytes.len() as u32).to_le_bytes()).unwrap();
            out.write_all(&bytes).unwrap();
        });
        let file = out.into_inner().unwrap();
        file.sync_data().unwrap();
    });
    let onset = Instant::now();
    for _ in 0..n {
        send((1, onset.elapsed().as_micros() as u64, payload.to_vec()));
    }
    drop(send);
    writer.join().unwrap();
    start.elapsed()
}

type Message = (u8, u64, Vec<u8>);

fn crossbeam_run(n: u64, payload: &[u8]) -> Duration {
    channel_run(n, payload, || {
        let (tx, rx) = crossbeam_channel::bounded::<Message>(1 << 16);
        (
            move |m| tx.send(m).unwrap(),
            move |f: &mut dyn FnMut(Message)| rx.iter().for_each(f),
        )
    })
}

fn mpsc_run(n: u64, payload: &[u8]) -> Duration {
    channel_run(n, payload, || {
        let (tx, rx) = std::sync::mpsc::sync_channel::<Message>(1 << 16);
        (
            move |m| tx.send(m).unwrap(),
            move |f: &mut dyn FnMut(Message)| rx.iter().for_each(f),
        )
    })
}

/// `dd` writing `bytes` with `conv=fdatasync`: the disk's own sequential rate.
fn dd_run(bytes: u64) -> Duration {
    let dir = out_dir();
    let target: PathBuf = dir.path().join("dd.bin");
    let start = Instant::now();
    let status = Command::new("dd")
        .arg("if=/dev/zero")
        .arg(format!("of={}", target.display()))
        .arg("bs=1M")
        .arg(format!("count={}", bytes >> 20))
        .arg("conv=fdatasync")
        .stderr(std::process::Stdio::null())
        .status()
        .unwrap();
    assert!(status.success());
    start.elapsed()
}

fn timed(iters: u64, mut run: impl FnMut() -> Duration) -> Duration {
    (0..iters).map(|_| run()).sum()
}

fn end_to_end(c: &mut Criterion) {
    let small = vec![0x5a; SMALL];
    let mut group = c.benchmark_group("logger_64B_end_to_end");
    group.sample_size(10).measurement_time(Duration::from_secs(20));
    group.throughput(Throughput::Elements(SMALL_RECORDS));
    group.bench_function(BenchmarkId::new("seqring", SMALL_RECORDS), |b| {
        b.iter_custom(|iters| timed(iters, || seqring_run(SMALL_RECORDS, &small)))
    });
    group.bench_function(BenchmarkId::new("crossbeam_channel_bufwriter", SMALL_RECORDS), |b| {
        b.iter_custom(|iters| timed(iters, || crossbeam_run(SMALL_RECORDS, &small)))
    });
    group.bench_function(BenchmarkId::new("std_mpsc_bufwriter", SMALL_RECORDS), |b| {
        b.iter_custom(|iters| timed(iters, || mpsc_run(SMALL_RECORDS, &small)))
    });
    group.finish();

    let large = vec![0xa5; LARGE - 64];
    let mut group = c.benchmark_group("logger_1MiB_end_to_end");
    group.sample_size(10).measurement_time(Duration::from_secs(30));
    group.throughput(Throughput::Bytes(LARGE_RECORDS * LARGE as u64));
    group.bench_function(BenchmarkId::new("dd_fdatasync", LARGE_RECORDS), |b| {
        b.iter_custom(|iters| timed(iters, || dd_run(LARGE_RECORDS * LARGE as u64)))
    });
    group.bench_function(BenchmarkId::new("seqring", LARGE_RECORDS), |b| {
        b.iter_custom(|iters| timed(iters, || seqring_run(LARGE_RECORDS, &large)))
    });
    group.bench_function(BenchmarkId::new("crossbeam_channel_bufwriter", LARGE_RECORDS), |b| {
        b.iter_custom(|iters| timed(iters, || crossbeam_run(LARGE_RECORDS, &large)))
    });
    group.finish();
}

fn env_secs(var: &str) -> Option<f64> {
    std::env::var(var).ok().and_then(|v| v.parse().ok())
}

/// One producer logging 64 B records for `secs` seconds while the logger writes.
fn sustained(secs: f64) {
    let dir = out_dir();
    let logger = start_logger(dir.path(), "sustained");
    let producer = logger.producer(1).unwrap();
    let payload = [0x5au8; SMALL];
    let until = Duration::from_secs_f64(secs);
    let start = Instant::now();
    let mut n = 0u64;
    while start.elapsed() < until {
        for _ in 0..1024 {
            producer.log_now(&payload).unwrap();
        }
        n += 1024;
    }
    let logged = start.elapsed();
    let report = logger.stop().unwrap();
    let total = start.elapsed();
    println!(
        "sustained 64 B, {secs} s: {n} records; producer side {:.2} M records/s; through fsync at stop {:.2} M records/s \
         ({:.1} s, {:.0} MB/s of records); written {} dropped {} files {}",
        n as f64 / logged.as_secs_f64() / 1e6,
        n as f64 / total.as_secs_f64() / 1e6,
        total.as_secs_f64(),
        (n * 80) as f64 / total.as_secs_f64() / 1e6,
        report.records,
        report.dropped,
        report.files.len()
    );
}

/// `log_now` latency, each call timed with a pair of `Instant::now()`, while the logger writes.
fn latency(secs: f64) {
    let dir = out_dir();
    let logger = start_logger(dir.path(), "latency");
    let producer = logger.producer(1).unwrap();
    let payload = [0x5au8; SMALL];
    let mut calls = hdrhistogram::Histogram::<u64>::new(3).unwrap();
    let mut clock = hdrhistogram::Histogram::<u64>::new(3).unwrap();
    let until = Duration::from_secs_f64(secs);
    let start = Instant::now();
    while start.elapsed() < until {
        for _ in 0..1024 {
            let t0 = Instant::now();
            producer.log_now(&payload).unwrap();
            let t1 = Instant::now();
            calls.record(t1.duration_since(t0).as_nanos() as u64).unwrap();
            let t2 = Instant::now();
            clock.record(t2.duration_since(t1).as_nanos() as u64).unwrap();
        }
    }
    let report = logger.stop().unwrap();
    let q = |h: &hdrhistogram::Histogram<u64>, p: f64| h.value_at_quantile(p);
    println!(
        "log_now 64 B latency over {} calls (ns, timing included): p50 {} p99 {} p99.9 {} p99.99 {} max {}; \
         an Instant::now() pair alone: p50 {} p99.9 {}; written {} dropped {}",
        calls.len(),
        q(&calls, 0.5),
        q(&calls, 0.99),
        q(&calls, 0.999),
        q(&calls, 0.9999),
        calls.max(),
        q(&clock, 0.5),
        q(&clock, 0.999),
        report.records,
        report.dropped
    );
}

/// The drain alone, `runs` times, each beside `dd` writing the same bytes.
fn drain_only(runs: u32) {
    let payload_len = std::env::var("SEQRING_LOGGER_PAYLOAD")
        .ok()
        .and_then(|v| v.parse::<usize>().ok())
        .unwrap_or(SMALL);
    let capacity = std::env::var("SEQRING_LOGGER_RING_MIB")
        .ok()
        .and_then(|v| v.parse::<usize>().ok())
        .unwrap_or(512)
        << 20;
    let payload = vec![0x5au8; payload_len];
    // Ring bytes per record: the 16-byte header and the payload, rounded up to 8.
    let extent = (16 + payload_len).div_ceil(8) * 8;
    for run in 0..runs {
        let dir = out_dir();
        let logger = DataLogger::builder(dir.path(), &format!("bench-{}-drain", std::process::id()))
            .capacity(capacity)
            .max_payload(payload_len)
            .segment_size(1 << 30)
            .fsync_interval(None)
            .on_full(FullPolicy::Wait(Duration::from_secs(60)))
            .start()
            .unwrap();
        let producer = logger.producer(1).unwrap();
        logger.pause_writing();
        // Fill to within two records of the capacity (the onset record took one), all without a wait.
        let n = (capacity / extent).saturating_sub(2) as u64;
        for _ in 0..n {
            producer.log_now(&payload).unwrap();
        }
        let start = Instant::now();
        logger.resume_writing();
        let report = logger.stop().unwrap();
        let elapsed = start.elapsed();
        assert_eq!(report.records, n + 1);
        let bytes = (n + 1) * extent as u64;
        let dd = dd_run(bytes.next_multiple_of(1 << 20));
        let rate = bytes as f64 / elapsed.as_secs_f64();
        let dd_rate = (bytes.next_multiple_of(1 << 20)) as f64 / dd.as_secs_f64();
        println!(
            "drain {payload_len} B run {run}: {} records in {:.3} s: {:.2} M records/s, {:.0} MB/s of ring bytes; \
             dd {:.0} MB/s; drain / dd {:.2}; load {}",
            n + 1,
            elapsed.as_secs_f64(),
            (n + 1) as f64 / elapsed.as_secs_f64() / 1e6,
            rate / 1e6,
            dd_rate / 1e6,
            rate / dd_rate,
            std::fs::read_to_string("/proc/loadavg")
                .map(|l| l.split_whitespace().next().unwrap_or("?").to_owned())
                .unwrap_or_default(),
        );
    }
}

fn main() {
    if let Some(runs) = std::env::var("SEQRING_LOGGER_DRAIN").ok().and_then(|v| v.parse().ok()) {
        drain_only(runs);
        if std::env::var_os("SEQRING_LOGGER_DRAIN_ONLY").is_some() {
            return;
        }
    }
    if let Some(secs) = env_secs("SEQRING_LOGGER_SUSTAINED") {
        sustained(secs);
    }
    if let Some(secs) = env_secs("SEQRING_LOGGER_LATENCY") {
        latency(secs);
    }
    let mut c = Criterion::default().configure_from_args();
    end_to_end(&mut c);
    c.final_summary();
}
