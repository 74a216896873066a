//! `seqring bench array|ring|logger`: measures this machine, for sizing rings and arrays before a rig runs.
//!
//! Each figure is a median over repeated rounds (the machine may be busy); `--json` prints one JSON object.

use std::hint::black_box;
use std::path::PathBuf;
use std::sync::atomic::AtomicU64;
use std::time::{Duration, Instant};

use seqring::logger::{DataLogger, FullPolicy, LogError};
use seqring::shared_array::SharedArray;
use seqring_core::ring::{self, ClaimError, Consumer, Mode, Producer, Ring, SpscProducer};
use seqring_core::RawRegion;
use seqring_platform::clock::mono_ns;
use serde_json::{json, Value};

use super::CliError;

/// Rounds per measurement; the median is reported.
const ROUNDS: usize = 11;

/// Arguments of `seqring bench`.
#[derive(clap::Args, Debug)]
pub struct Args {
    #[command(subcommand)]
    what: What,
}

#[derive(clap::Subcommand, Debug)]
enum What {
    /// Single-process read and write of 8 × f64 through a shared array: {"read_ns", "write_ns"}.
    Array {
        /// Print one JSON object.
        #[arg(long)]
        json: bool,
    },
    /// Ring throughput between threads (SPSC; MPSC with 2 producers) and claim+commit latency of 64 B records (the
    /// loop criterion times as ring_produce_64B/seqring_claim_commit/spsc; this binary's code for it is slower, see
    /// the README's Figures).
    Ring {
        /// Print one JSON object.
        #[arg(long)]
        json: bool,
    },
    /// A sustained end-to-end run to disk, with producer latencies (hdrhistogram, every 16th call). Producers wait
    /// for room when the ring is full: flat out (the default), the rate is what the drain and the disk sustain, and
    /// the latencies include those waits; with --rate, each producer logs at that pace, and the latencies are the
    /// log call's own while the logger writes.
    Logger {
        /// Payload bytes per record.
        #[arg(long, default_value_t = 64)]
        payload: usize,
        /// How long to log.
        #[arg(long, default_value_t = 3.0)]
        seconds: f64,
        /// Producer threads.
        #[arg(long, default_value_t = 1, value_parser = clap::value_parser!(u8).range(1..=64))]
        producers: u8,
        /// Where to write (a temporary directory is made inside it and removed afterwards).
        #[arg(long, default_value = ".")]
        dir: PathBuf,
        /// Records per second per producer (evenly spaced; a producer that falls behind does not catch up in a
        /// burst). 0: as fast as the logger takes them.
        #[arg(long, default_value_t = 0)]
        rate: u64,
        /// The ring's capacity in MiB (the logger's default is 32).
        #[arg(long, default_value_t = 32, value_parser = clap::value_parser!(u64).range(1..=1024))]
        ring_mib: u64,
        /// Print one JSON object.
        #[arg(long)]
        json: bool,
    },
}

/// Runs the command.
pub fn run(args: Args) -> Result<(), CliError> {
    let (value, json) = match args.what {
        What::Array { json } => (array()?, json),
        What::Ring { json } => (ring_bench()?, json),
        What::Logger {
            payload,
            seconds,
            producers,
            dir,
            rate,
            ring_mib,
            json,
        } => (
            logger(
                LoggerRun {
                    payload,
                    seconds,
                    producers,
                    rate,
                    ring_mib,
                },
                &dir,
            )?,
            json,
        ),
    };
    if json {
        println!("{value}");
    } else if let Value::Object(map) = value {
        for (k, v) in map {
            println!("{k:>22}: {v}");
        }
    }
    Ok(())
}

/// The median of `ROUNDS` runs of `f`, each returning ns per operation.
fn median(mut f: impl FnMut() -> f64) -> f64 {
    let mut v: Vec<f64> = (0..ROUNDS).map(|_| f()).collect();
    v.sort_by(f64::total_cmp);
    v[ROUNDS / 2]
}

/// ns per call of `op`, over `n` calls.
fn per_op(n: u64, mut op: impl FnMut()) -> f64 {
    let start = Instant::now();
    for _ in 0..n {
        op();
    }
    start.elapsed().as_nanos() as f64 / n as f64
}

fn array() -> Result<Value, CliError> {
    let name = format!("seqring-bench-array-{}", std::process::id());
    let array = SharedArray::<f64>::create(&name, &[8])?;
    let src = [1.5f64; 8];
    let mut dst = [0f64; 8];
    array.write(&src)?;
    let mut failed = None;
    let read_ns = median(|| {
        per_op(200_000, || {
            if let Err(e) = array.read_into(black_box(&mut dst)) {
                failed = Some(e);
            }
        })
    });
    let write_ns = median(|| {
        per_op(200_000, || {
            if let Err(e) = array.write(black_box(&src)) {
                failed = Some(e);
            }
        })
    });
    if let Some(e) = failed {
        return Err(e.into());
    }
    Ok(json!({ "read_ns": round2(read_ns), "write_ns": round2(write_ns) }))
}

fn round2(x: f64) -> f64 {
    (x * 100.0).round() / 100.0
}

/// A zeroed heap region for a ring with a data area of `capacity` bytes.
fn ring_words(capacity: usize) -> Vec<AtomicU64> {
    (0..ring::region_len(capacity).unwrap_or(0) / 8)
        .map(|_| AtomicU64::new(0))
        .collect()
}

fn drain(consumer: &mut Consumer<RawRegion<'_>>) -> u64 {
    let mut n = 0;
    while let Ok(Some(batch)) = consumer.poll(usize::MAX) {
        n += batch.records();
        batch.release();
    }
    n
}

fn ring_bench() -> Result<Value, CliError> {
    const CAPACITY: usize = 64 * 1024;
    const BURST: u64 = 512;
    const RECORDS: u64 = 1 << 20;
    let payload = [0x5au8; 64];
    // Latency: bursts into an empty ring on one thread, the drain between bursts not timed.
    let words = ring_words(CAPACITY);
    let spsc = Ring::create(RawRegion::new(&words), Mode::Spsc, None, 1, 0)?;
    let producer = SpscProducer::attach(spsc, 1)?;
    let mut consumer = Consumer::attach(spsc, 2)?;
    let claim_commit_ns = median(|| {
        let mut total = 0.0;
        for _ in 0..64 {
            let start = Instant::now();
            claim_commit_burst(&producer, BURST, &payload);
            total += start.elapsed().as_nanos() as f64 / BURST as f64;
            drain(&mut consumer);
        }
        total / 64.0
    });
    drop((producer, consumer));
    // Throughput between threads.
    let spsc_rate = median(|| {
        let producer = SpscProducer::attach(spsc, 1).ok();
        let consumer = Consumer::attach(spsc, 2).ok();
        let (Some(producer), Some(mut consumer)) = (producer, consumer) else {
            return 0.0;
        };
        let start = Instant::now();
        std::thread::scope(|s| {
            s.spawn(move || (0..RECORDS).for_each(|i| retry(|| producer.try_write(1, i, &payload))));
            consume(&mut consumer, RECORDS);
        });
        RECORDS as f64 / start.elapsed().as_secs_f64()
    });
    let mpsc_words = ring_words(CAPACITY);
    let mpsc = Ring::create(RawRegion::new(&mpsc_words), Mode::Mpsc, None, 1, 0)?;
    let mpsc_rate = median(|| {
        let Ok(mut consumer) = Consumer::attach(mpsc, 2) else {
            return 0.0;
        };
        let start = Instant::now();
        std::thread::scope(|s| {
            for source in 0..2u8 {
                let Ok(producer) = Producer::attach(mpsc) else { return };
                s.spawn(move || (0..RECORDS / 2).for_each(|i| retry(|| producer.try_write(source, i, &payload))));
            }
            consume(&mut consumer, RECORDS);
        });
        RECORDS as f64 / start.elapsed().as_secs_f64()
    });
    Ok(json!({
        "spsc_records_per_s": spsc_rate.round(),
        "mpsc_records_per_s": mpsc_rate.round(),
        "claim_commit_ns": round2(claim_commit_ns),
    }))
}

/// Claims, fills and commits `n` records of `payload`: the loop `cargo bench -p seqring-benches --bench ring` times
/// as `ring_produce_64B/seqring_claim_commit/spsc`, written the same way (the payload through `black_box` before
/// each claim, a 64 KiB ring drained untimed between bursts).
///
/// The two used to report different figures on one machine (issue 25: 10–15 ns here against criterion's 3.2–4.5
/// ns): this binary kept each grant on the stack and copied it with 16-byte loads over narrower stores, a
/// store-forwarding stall. A grant is now three whole words, and the two agree within about 1 ns. A producer in a
/// user's program gets whichever code its own build makes.
#[inline(never)]
fn claim_commit_burst(producer: &SpscProducer<RawRegion<'_>>, n: u64, payload: &[u8; 64]) {
    for i in 0..n {
        let payload = black_box(payload);
        if let Ok(mut grant) = producer.claim(1, i, payload.len()) {
            grant.payload_mut().copy_from_slice(payload);
            let _ = grant.commit(); // an SPSC commit never fails
        }
    }
}

/// Retries a write while the ring is full (spinning, then yielding).
fn retry(mut write: impl FnMut() -> Result<(), ClaimError>) {
    let mut spins = 0u32;
    while let Err(ClaimError::Full) = write() {
        spins += 1;
        if spins < 64 {
            std::hint::spin_loop();
        } else {
            std::thread::yield_now();
        }
    }
}

/// Consumes `count` records.
fn consume(consumer: &mut Consumer<RawRegion<'_>>, count: u64) {
    let mut got = 0;
    while got < count {
        let n = drain(consumer);
        if n == 0 {
            std::thread::yield_now();
        }
        got += n;
    }
}

/// What one producer thread of `bench logger` did: records logged, records dropped, its latency histogram.
type ProducerRun = (u64, u64, hdrhistogram::Histogram<u64>);

/// What `bench logger` runs.
struct LoggerRun {
    payload: usize,
    seconds: f64,
    producers: u8,
    rate: u64,
    ring_mib: u64,
}

fn logger(options: LoggerRun, dir: &std::path::Path) -> Result<Value, CliError> {
    let LoggerRun {
        payload,
        seconds,
        producers,
        rate,
        ring_mib,
    } = options;
    let temp = tempfile::tempdir_in(dir).map_err(|e| format!("cannot make a directory in {}: {e}", dir.display()))?;
    let name = format!("seqring-bench-{}", std::process::id());
    // Producers wait for room rather than drop, so the rate is what the drain and the disk sustain.
    let logger = DataLogger::builder(temp.path(), &name)
        .capacity((ring_mib as usize) << 20)
        .max_payload(payload.max(1))
        .on_full(FullPolicy::Wait(Duration::from_secs(1)))
        .start()?;
    let run = Duration::from_secs_f64(seconds.max(0.01));
    let start = Instant::now();
    let results: Vec<Result<ProducerRun, LogError>> = std::thread::scope(|s| {
        let handles: Vec<_> = (1..=producers)
            .map(|source| {
                let producer = logger.producer(source);
                s.spawn(move || {
                    let producer = producer.map_err(|_| LogError::Stopped)?;
                    let data = vec![0xa5u8; payload];
                    // 1 ns to 10 s, 3 significant digits.
                    let mut histogram = hdrhistogram::Histogram::new_with_bounds(1, 10_000_000_000, 3)
                        .map_err(|_| LogError::Stopped)?;
                    let (mut logged, mut dropped) = (0u64, 0u64);
                    let deadline = Instant::now() + run;
                    // Paced: the moment (on `mono_ns`) of the next call, one period after the last one's.
                    let period = 1_000_000_000u64.checked_div(rate).unwrap_or(0);
                    let mut next = mono_ns();
                    loop {
                        if period != 0 {
                            let mut now = mono_ns();
                            while now < next {
                                std::hint::spin_loop();
                                now = mono_ns();
                            }
                            next = next.max(now.saturating_sub(period)) + period;
                        }
                        // Time every 16th record, so the clock reads do not dominate the loop. The timer is the
                        // log call's own fast clock (`mono_ns`), whose pair costs less than an `Instant` pair;
                        // `timer_p50_ns` reports what the pair alone costs.
                        let timed = logged.is_multiple_of(16);
                        let t0 = if timed { mono_ns() } else { 0 };
                        match producer.log_now(&data) {
                            Ok(()) => logged += 1,
                            Err(LogError::Full) => dropped += 1,
                            Err(e) => return Err(e),
                        }
                        if timed {
                            let _ = histogram.record((mono_ns() - t0).max(1));
                            if Instant::now() >= deadline {
                                break;
                            }
                        }
                    }
                    Ok((logged, dropped, histogram))
                })
            })
            .collect();
        handles
            .into_iter()
            .map(|h| h.join().unwrap_or(Err(LogError::Stopped)))
            .collect()
    });
    let report = logger.stop()?;
    let elapsed = start.elapsed().as_secs_f64();
    let mut histogram = hdrhistogram::Histogram::<u64>::new_with_bounds(1, 10_000_000_000, 3)?;
    let (mut logged, mut dropped) = (0u64, 0u64);
    for r in results {
        let (l, d, h) = r?;
        logged += l;
        dropped += d;
        histogram.add(h)?;
    }
    // The timer pair alone, as the loop above times it.
    let mut timer = hdrhistogram::Histogram::<u64>::new_with_bounds(1, 10_000_000_000, 3)?;
    for _ in 0..1_000_000 {
        let t0 = mono_ns();
        let _ = timer.record((mono_ns() - t0).max(1));
    }
    Ok(json!({
        "records_per_s": (report.records as f64 / elapsed).round(),
        "bytes_per_s": (report.bytes as f64 / elapsed).round(),
        "records": report.records,
        "logged": logged,
        "dropped": dropped.max(report.dropped),
        "p50_ns": histogram.value_at_quantile(0.5),
        "p99_ns": histogram.value_at_quantile(0.99),
        "p999_ns": histogram.value_at_quantile(0.999),
        "p9999_ns": histogram.value_at_quantile(0.9999),
        "max_ns": histogram.max(),
        "mean_ns": histogram.mean().round(),
        "timer_p50_ns": timer.value_at_quantile(0.5),
        "payload": payload,
        "producers": producers,
        "rate": rate,
        "ring_mib": ring_mib,
        "seconds": round2(elapsed),
    }))
}
