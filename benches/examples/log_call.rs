//! The log call while a drain runs on the other core (issue 24): a harness that takes the logger apart, so that
//! each suspect can be switched off on its own. One producer thread does what `Producer::log_now` does (a state
//! load, the `mono_ns` clock, an MPSC `try_write` of 64 B into a 32 MiB ring, waiting for room when full) and one
//! drain thread does what the logger's drain does (poll at most 4 MiB, `pwrite` the batch to a file, release it,
//! which zeroes it). Every 16th call is timed with a `mono_ns` pair, as in `seqring bench logger`.
//!
//! ```text
//! cargo build --release -p seqring-benches --example log_call
//! target/release/examples/log_call [--dir DIR|--no-sink] [--seconds S] [--no-clock] [--batch BYTES]
//!     [--prefetch none|read|write] [--ahead BYTES] [--rate RECORDS_PER_S]
//! ```
//!
//! `--prefetch` issues a prefetch of the ring bytes `--ahead` bytes past the tail before each call (`write`:
//! `prefetchw`, which asks for the line in the Modified state; `read`: `prefetcht0`), the experiment for the
//! hypothesis that the producer's stores miss on lines the drain's release just zeroed on the other core.
//! `--rate` paces the producer (a spin until the next record is due) so the ring is not full. Prints one JSON line.

fn main() {
    #[cfg(all(unix, target_arch = "x86_64"))]
    harness::main();
}

/// Unix and x86-64 only (`pwrite` and the x86 prefetch instructions).
#[cfg(all(unix, target_arch = "x86_64"))]
mod harness {
    use seqring_core::ring::{
        region_len, ClaimError, Consumer, Mode, Producer, Ring, SpscProducer, DATA_OFFSET, TAIL_AT,
    };
    use seqring_core::{Memory, RawRegion};
    use seqring_platform::clock::mono_ns;
    use std::io::Write;
    use std::os::unix::fs::FileExt;
    use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
    use std::time::{Duration, Instant};

    const PAYLOAD: usize = 64;
    const SEGMENT: u64 = 256 << 20;

    #[derive(Clone, Copy, PartialEq, Debug)]
    enum Clock {
        /// `mono_ns`, as `log_now`.
        Mono,
        /// `Instant::now()` (the OS's clock through the vDSO).
        Instant,
        /// A bare `rdtsc`, unscaled.
        Rdtsc,
        /// No clock: the record's sequence number.
        None,
    }

    #[derive(Clone, Copy, PartialEq)]
    enum Prefetch {
        None,
        Read,
        Write,
    }

    struct Options {
        dir: Option<std::path::PathBuf>,
        seconds: f64,
        clock: Clock,
        batch: usize,
        prefetch: Prefetch,
        ahead: usize,
        rate: Option<f64>,
        prefault: bool,
        idle_sleep: Option<Duration>,
        min_batch: usize,
        same_thread: bool,
        spsc: bool,
        capacity: usize,
    }

    fn options() -> Options {
        let mut o = Options {
            dir: Some("/dev/shm".into()),
            seconds: 2.0,
            clock: Clock::Mono,
            batch: 4 << 20,
            prefetch: Prefetch::None,
            ahead: 512,
            rate: None,
            prefault: false,
            idle_sleep: None,
            min_batch: 0,
            same_thread: false,
            spsc: false,
            capacity: 32 << 20,
        };
        let mut args = std::env::args().skip(1);
        while let Some(a) = args.next() {
            let mut value = || args.next().expect("a value");
            match a.as_str() {
                "--dir" => o.dir = Some(value().into()),
                "--no-sink" => o.dir = None,
                "--seconds" => o.seconds = value().parse().unwrap(),
                "--idle-sleep-us" => o.idle_sleep = Some(Duration::from_micros(value().parse().unwrap())),
                "--min-batch" => o.min_batch = value().parse().unwrap(),
                "--capacity" => o.capacity = value().parse().unwrap(),
                "--spsc" => o.spsc = true,
                "--same-thread" => o.same_thread = true,
                "--prefault" => o.prefault = true,
                "--no-clock" => o.clock = Clock::None,
                "--clock" => {
                    o.clock = match value().as_str() {
                        "mono" => Clock::Mono,
                        "instant" => Clock::Instant,
                        "rdtsc" => Clock::Rdtsc,
                        "none" => Clock::None,
                        c => panic!("unknown clock {c}"),
                    }
                }
                "--batch" => o.batch = value().parse().unwrap(),
                "--ahead" => o.ahead = value().parse().unwrap(),
                "--rate" => o.rate = Some(value().parse().unwrap()),
                "--prefetch" => {
                    o.prefetch = match value().as_str() {
                        "none" => Prefetch::None,
                        "read" => Prefetch::Read,
                        "write" => Prefetch::Write,
                        p => panic!("unknown prefetch {p}"),
                    }
                }
                _ => panic!("unknown argument {a}"),
            }
        }
        o
    }

    #[inline(always)]
    fn prefetch(kind: Prefetch, p: *const u8) {
        match kind {
            Prefetch::None => {}
            // SAFETY: prefetches are hints that never fault and change no value the program reads.
            Prefetch::Read => unsafe {
                core::arch::asm!("prefetcht0 byte ptr [{0}]", in(reg) p, options(nostack, preserves_flags, readonly))
            },
            // SAFETY: as above.
            Prefetch::Write => unsafe {
                core::arch::asm!("prefetchw byte ptr [{0}]", in(reg) p, options(nostack, preserves_flags, readonly))
            },
        }
    }

    fn quantile(sorted: &[u32], q: f64) -> u32 {
        if sorted.is_empty() {
            return 0;
        }
        sorted[((sorted.len() - 1) as f64 * q).round() as usize]
    }

    pub fn main() {
        let o = options();
        let words = seqring_platform::zeroed_words(region_len(o.capacity).unwrap());
        if o.prefault {
            // Touch every page of the ring once, so that the first lap does not take the page faults.
            for w in words.iter().step_by(512) {
                w.store(0, Ordering::Relaxed);
            }
        }
        let mode = if o.spsc { Mode::Spsc } else { Mode::Mpsc };
        let ring = Ring::create(RawRegion::new(&words), mode, None, 1, 0).unwrap();
        let stop = AtomicBool::new(false);
        let state = AtomicU64::new(1);
        let file = o.dir.as_ref().map(|d| {
            let path = d.join(format!("log-call-{}.bin", std::process::id()));
            let f = std::fs::File::create(&path).unwrap();
            std::fs::remove_file(&path).unwrap(); // unlinked: gone when the process ends
            f
        });
        let data = [0xa5u8; PAYLOAD];
        let start = Instant::now();
        let (logged, waited, mut samples, mut clean, drained) = std::thread::scope(|s| {
            let drain = s.spawn(|| {
                if o.same_thread {
                    return 0;
                }
                let mut consumer = Consumer::attach(ring, 1).unwrap();
                let (mut at, mut records, mut idle) = (0u64, 0u64, 0u32);
                loop {
                    if o.min_batch > 0 {
                        let stats = ring.stats();
                        if ((stats.tail - stats.head) as usize) < o.min_batch && !stop.load(Ordering::Acquire) {
                            std::thread::sleep(o.idle_sleep.unwrap_or(Duration::from_micros(100)));
                            continue;
                        }
                    }
                    match consumer.poll(o.batch).unwrap() {
                        Some(batch) => {
                            if let Some(f) = &file {
                                f.write_all_at(batch.bytes(), at).unwrap();
                                at = (at + batch.len() as u64) % SEGMENT;
                            }
                            records += batch.records();
                            batch.release();
                            idle = 0;
                        }
                        None if stop.load(Ordering::Acquire) => return records,
                        None if o.idle_sleep.is_some() => std::thread::sleep(o.idle_sleep.unwrap()),
                        None => {
                            idle += 1;
                            if idle < 128 {
                                std::hint::spin_loop();
                            } else if idle < 192 {
                                std::thread::yield_now();
                            } else {
                                std::thread::sleep(Duration::from_micros(100));
                            }
                        }
                    }
                }
            });
            let mpsc = (!o.spsc).then(|| Producer::attach(ring).unwrap().with_claimant(1));
            let spsc = o.spsc.then(|| SpscProducer::attach(ring, 3).unwrap());
            let write = |ts: u64, data: &[u8]| match (&mpsc, &spsc) {
                (Some(p), _) => p.try_write(1, ts, data),
                (_, Some(p)) => p.try_write(1, ts, data),
                _ => unreachable!(),
            };
            let mut own = o.same_thread.then(|| Consumer::attach(ring, 2).unwrap());
            let mut own_drained = 0;
            let base = words.as_ptr().cast::<u8>();
            let onset = mono_ns();
            let epoch = Instant::now();
            let mut samples = Vec::with_capacity(4 << 20);
            let mut clean = Vec::with_capacity(4 << 20);
            let (mut logged, mut waited) = (0u64, 0u64);
            let interval = o.rate.map(|r| (1e9 / r) as u64);
            let mut due = mono_ns();
            let deadline = Instant::now() + Duration::from_secs_f64(o.seconds);
            loop {
                if let Some(interval) = interval {
                    while mono_ns() < due {
                        std::hint::spin_loop();
                    }
                    due += interval;
                }
                if logged % 4096 == 1 {
                    // The drain on this thread, between calls and untimed: the producer's lines are never another
                    // core's.
                    if let Some(c) = own.as_mut() {
                        while let Some(batch) = c.poll(o.batch).unwrap() {
                            if let Some(f) = &file {
                                f.write_all_at(batch.bytes(), 0).unwrap();
                            }
                            own_drained += batch.records();
                            batch.release();
                        }
                    }
                }
                let timed = logged.is_multiple_of(16);
                let t0 = if timed { mono_ns() } else { 0 };
                if o.prefetch != Prefetch::None {
                    let tail = ring.memory().load(TAIL_AT, Ordering::Relaxed);
                    let at = DATA_OFFSET + ((tail as usize + o.ahead) & (o.capacity - 1));
                    prefetch(o.prefetch, base.wrapping_add(at));
                }
                assert_eq!(state.load(Ordering::Relaxed), 1);
                let ts = match o.clock {
                    Clock::Mono => (mono_ns().wrapping_sub(onset) / 1000).max(1),
                    Clock::Instant => (epoch.elapsed().as_nanos() as u64 / 1000).max(1),
                    // SAFETY: rdtsc has no preconditions on x86-64.
                    Clock::Rdtsc => unsafe { core::arch::x86_64::_rdtsc() },
                    Clock::None => logged + 1,
                };
                let mut spins = 0u32;
                let mut had_to_wait = false;
                loop {
                    match write(ts, &data) {
                        Ok(()) => break,
                        Err(ClaimError::Full) => {
                            had_to_wait = true;
                            spins += 1;
                            if spins < 256 {
                                std::hint::spin_loop();
                            } else {
                                std::thread::yield_now();
                            }
                        }
                        Err(e) => panic!("{e}"),
                    }
                }
                waited += u64::from(had_to_wait);
                logged += 1;
                if timed {
                    let ns = (mono_ns() - t0).max(1) as u32;
                    samples.push(ns);
                    if !had_to_wait {
                        clean.push(ns);
                    }
                    if Instant::now() >= deadline {
                        break;
                    }
                }
            }
            stop.store(true, Ordering::Release);
            (logged, waited, samples, clean, drain.join().unwrap() + own_drained)
        });
        let elapsed = start.elapsed().as_secs_f64();
        let mut timer = Vec::with_capacity(1 << 20);
        for _ in 0..1 << 20 {
            let t0 = mono_ns();
            timer.push((mono_ns() - t0) as u32);
        }
        samples.sort_unstable();
        clean.sort_unstable();
        timer.sort_unstable();
        let mut out = std::io::stdout().lock();
        writeln!(
            out,
            "{{\"records_per_s\":{:.0},\"logged\":{logged},\"drained\":{drained},\"waited_calls\":{waited},\
             \"p50_ns\":{},\"p90_ns\":{},\"p99_ns\":{},\"p999_ns\":{},\"p998_ns\":{},\"over_1us_permille\":{:.3},\"nowait_p50_ns\":{},\"nowait_p999_ns\":{},\
             \"timer_p50_ns\":{},\"prefetch\":\"{}\",\"ahead\":{},\"clock\":\"{:?}\",\"sink\":{},\"prefault\":{}}}",
            logged as f64 / elapsed,
            quantile(&samples, 0.5),
            quantile(&samples, 0.9),
            quantile(&samples, 0.99),
            quantile(&samples, 0.999),
            quantile(&samples, 0.998),
            samples.iter().filter(|&&t| t > 1000).count() as f64 * 1000.0 / samples.len() as f64,
            quantile(&clean, 0.5),
            quantile(&clean, 0.999),
            quantile(&timer, 0.5),
            match o.prefetch {
                Prefetch::None => "none",
                Prefetch::Read => "read",
                Prefetch::Write => "write",
            },
            o.ahead,
            o.clock,
            o.dir.is_some(),
            o.prefault,
        )
        .unwrap();
    }
}
