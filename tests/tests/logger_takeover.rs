//! The logger's crash promise, with real processes and real SIGKILL: a logger killed at random moments (during
//! its run and during its own takeover of a dead predecessor) while producer processes log, at full speed or at a
//! pace at which its drain gathers records in the ring, loses nothing and repeats nothing once its successors have
//! taken over and the log is assembled; producers connected to a dead logger are told and reconnect; a claim is
//! judged by its own producer's process; a dead producer's pending onset does not wedge its source; regions that
//! are not a logger's are never removed.
//!
//! `SEQRING_CRASH_KILLS` (default 20; 6 on Windows, under wine) and `SEQRING_CRASH_MESSAGES` (the most messages per
//! producer, default 400,000) bound the adversarial runs, so the suite stays within its time budget.

use std::path::Path;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use seqring::archive::{assemble_log_archives, AssembleOptions, LogArchive};
use seqring::logger::{recover, DataLogger, LogError, OpenError, Producer, StartError};
use seqring_platform::{CreateOptions, Region};
use seqring_tests::child::{self, Child};
use seqring_tests::logger::{
    check_source, log_range, payload, read_segments, segment_paths, takeover_logger_arg, takeover_logger_child,
    unique_name,
};
use seqring_tests::Rng;

fn env_u64(name: &str, default: u64) -> u64 {
    std::env::var(name).ok().and_then(|v| v.parse().ok()).unwrap_or(default)
}

const SOURCES: [u8; 3] = [10, 11, 12];

/// Connects a producer for `source`, waiting while no logger runs (one is being killed or taking over).
fn connect_when_running(name: &str, source: u8) -> Producer {
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        match Producer::connect(name, source) {
            Ok(p) => return p,
            Err(OpenError::NotRunning { .. }) if Instant::now() < deadline => {
                std::thread::sleep(Duration::from_millis(1))
            }
            Err(e) => panic!("connect source {source}: {e}"),
        }
    }
}

/// Message `seq` of incarnation `inc` of `source`: [`payload`] with the incarnation in byte 8, so the records
/// of a producer and of its restarted successor (same source) cannot be mistaken for each other.
fn inc_payload(source: u8, inc: u8, seq: u64) -> Vec<u8> {
    let mut bytes = payload(source, seq);
    bytes.insert(8, inc);
    bytes
}

/// The most incarnations of one source's producer in a run.
const MAX_INC: usize = 64;

/// A producer child: incarnation `inc` of `source` logs messages `0, 1, …` of [`inc_payload`], one every `pace`
/// ns (0: as fast as the ring takes them), each until it is acknowledged (`Ok`): a full ring is retried, a
/// taken-over logger is reconnected.
/// After each acknowledgement it stores the count in its cell of the shared array `acks` (so a parent that
/// SIGKILLs it knows what it had acknowledged). It stops when told (or at `max` messages) and says
/// `done {messages} {reconnects}`.
fn producer_child(arg: &str) {
    let mut parts = arg.split(' ');
    let name = parts.next().unwrap();
    let source: u8 = parts.next().unwrap().parse().unwrap();
    let inc: u8 = parts.next().unwrap().parse().unwrap();
    let max: u64 = parts.next().unwrap().parse().unwrap();
    let acks = seqring::shared_array::SharedArray::<u64>::open(parts.next().unwrap()).unwrap();
    let pace = Duration::from_nanos(parts.next().unwrap().parse().unwrap());
    let cell = usize::from(source - SOURCES[0]) * MAX_INC + usize::from(inc);
    let acked = acks.atomic(&[cell as u64]).unwrap();
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let told = std::sync::Arc::clone(&stop);
    std::thread::spawn(move || {
        child::hear();
        told.store(true, Ordering::Relaxed);
    });
    let mut producer = connect_when_running(name, source);
    child::say("connected");
    let mut reconnects = 0u64;
    let mut seq = 0;
    let start = Instant::now();
    while seq < max && !stop.load(Ordering::Relaxed) {
        while start.elapsed() < pace * seq as u32 {
            std::hint::spin_loop();
        }
        let bytes = inc_payload(source, inc, seq);
        loop {
            match producer.log_at(seq + 1, &bytes) {
                Ok(()) => break,
                Err(LogError::Full) => std::thread::yield_now(),
                Err(LogError::TakenOver) => {
                    producer = connect_when_running(name, source);
                    reconnects += 1;
                }
                Err(e) => panic!("source {source} message {seq}: {e}"),
            }
        }
        seq += 1;
        acked.store(seq, Ordering::Relaxed);
    }
    child::say(&format!("done {seq} {reconnects}"));
}

/// What one incarnation of a source's producer must have in the log: at least `acked` messages (those it saw
/// acknowledged), and at most `acked + 1` when it was killed (the one it may have committed without recording).
#[derive(Clone, Copy, Debug)]
struct Expect {
    source: u8,
    inc: u8,
    acked: u64,
    killed: bool,
}

/// Reads the log directory as the archive reader does (segments in name order, repeats skipped) and checks that
/// each source holds its onset and then, incarnation after incarnation, messages `0..k` with `k` as [`Expect`]
/// says, nothing else and nothing twice, without storing them. Returns the messages found per source.
fn check_log(log_dir: &Path, expect: &[Expect]) -> std::collections::BTreeMap<u8, u64> {
    use std::collections::BTreeMap;
    // Per source: the incarnation being read (None before the onset) and its next message.
    let mut at: BTreeMap<u8, (Option<usize>, u64)> = SOURCES.iter().map(|&s| (s, (None, 0))).collect();
    let mut found: BTreeMap<(u8, u8), u64> = BTreeMap::new();
    let mut dedup = seqring::format::segment::Dedup::default();
    for path in segment_paths(log_dir) {
        let segment = seqring::format::segment::Segment::open(&path).unwrap();
        for record in segment.records_once(Some(&mut dedup)) {
            let (_, r) = record.unwrap();
            let s = r.source_id;
            let (inc, next) = at.get_mut(&s).expect("a known source");
            let Some(current) = *inc else {
                assert_eq!((r.timestamp, r.payload.len()), (0, 8), "source {s}: onset first");
                *inc = Some(0);
                continue;
            };
            let got_inc = *r
                .payload
                .get(8)
                .unwrap_or_else(|| panic!("source {s}: a second onset record"));
            if usize::from(got_inc) != current {
                assert!(
                    usize::from(got_inc) > current,
                    "source {s}: incarnation {got_inc} after {current}"
                );
                found.insert((s, current as u8), *next);
                *inc = Some(usize::from(got_inc));
                *next = 0;
            }
            assert_eq!(
                r.payload,
                &inc_payload(s, got_inc, *next)[..],
                "source {s} incarnation {got_inc} message {next}: lost, repeated or out of order"
            );
            *next += 1;
        }
    }
    for (s, (inc, next)) in &at {
        if let Some(inc) = inc {
            found.insert((*s, *inc as u8), *next);
        }
    }
    let mut per_source = BTreeMap::new();
    for e in expect {
        let k = found.get(&(e.source, e.inc)).copied().unwrap_or(0);
        let ok = if e.killed {
            (e.acked..=e.acked + 1).contains(&k)
        } else {
            k == e.acked
        };
        assert!(ok, "{e:?}: {k} messages in the log");
        *per_source.entry(e.source).or_insert(0) += k;
    }
    per_source
}

fn spawn_logger(test: &str, dir: &Path, name: &str, nice: bool) -> Child {
    Child::spawn(test, "logger", &takeover_logger_arg(dir, name, 256 << 10, nice), &[])
}

/// The adversarial run: `kills` loggers SIGKILLed at random moments (half of them before they said `ready`, so
/// often inside their takeover of the previous one) while three producer processes log; every third kill also
/// SIGKILLs a random producer, whose source is taken up by a new producer process. Then a last logger stops
/// cleanly and the log is recovered, read and assembled. In a child of such a run (the test binary run again), it
/// plays the child's role instead: a logger, or a producer (at the pace its argument names).
fn killed_loggers_run(test: &str, nice: bool, seed: u64, pace: Duration) {
    if let Some((role, arg)) = child::role() {
        return if role == "logger" {
            takeover_logger_child(&arg)
        } else {
            producer_child(&arg)
        };
    }
    // 20 kills; 6 on Windows, where each costs a wine process start or two (~1.5 s).
    let kills = env_u64("SEQRING_CRASH_KILLS", seqring_tests::rounds(20).max(6));
    let max = env_u64("SEQRING_CRASH_MESSAGES", 400_000);
    let dir = tempfile::tempdir().unwrap();
    // A name of its own per run: the runs are tests of one binary, so they run side by side in one process.
    let name = unique_name(match (nice, pace.is_zero()) {
        (true, _) => "kills-nice",
        (false, true) => "kills",
        (false, false) => "kills-paced",
    });
    // A failed run leaves no region behind (a clean run's last logger removes it).
    let _region = seqring_tests::shm::Cleanup(format!("{}{name}", seqring::logger::REGION_PREFIX));
    let acks_name = seqring_tests::shm::unique_name("acks");
    let _acks_cleanup = seqring_tests::shm::Cleanup(acks_name.clone());
    let acks =
        seqring::shared_array::SharedArray::<u64>::create(&acks_name, &[(SOURCES.len() * MAX_INC) as u64]).unwrap();
    let mut rng = Rng::new(seed);
    let mut logger = spawn_logger(test, dir.path(), &name, nice);
    logger.expect_line("ready");
    let spawn_producer = |source: u8, inc: u8| {
        let arg = format!("{name} {source} {inc} {max} {acks_name} {}", pace.as_nanos());
        let mut p = Child::spawn(test, "producer", &arg, &[]);
        p.expect_line("connected");
        p
    };
    let mut producers: Vec<(u8, u8, Child)> = SOURCES.iter().map(|&s| (s, 0, spawn_producer(s, 0))).collect();
    let mut expect = Vec::new();
    for k in 0..kills {
        // Let it run, or kill it at once: the successor then often meets a logger that died mid-takeover.
        let wait_ready = k % 2 == 0;
        if wait_ready {
            std::thread::sleep(Duration::from_micros(rng.below(40_000)));
        } else {
            std::thread::sleep(Duration::from_micros(rng.below(3_000)));
        }
        if k % 3 == 1 {
            // A producer dies mid-stream and a new process takes up its source (it connects once this logger
            // runs, so the kill below meets it logging).
            let (source, inc, victim) = producers.swap_remove(rng.below(producers.len() as u64) as usize);
            expect.push(killed_producer(victim, source, inc, &acks));
            producers.push((source, inc + 1, spawn_producer(source, inc + 1)));
        }
        logger.kill();
        logger = spawn_logger(test, dir.path(), &name, nice);
        if wait_ready {
            logger.expect_line("ready");
        }
    }
    logger.expect_line("ready");
    let mut reconnects = 0;
    for (source, inc, p) in &mut producers {
        p.tell("stop");
        let done = p.expect_line("done");
        let (n, r) = done.split_once(' ').unwrap();
        expect.push(Expect {
            source: *source,
            inc: *inc,
            acked: n.parse().unwrap(),
            killed: false,
        });
        reconnects += r.parse::<u64>().unwrap();
    }
    eprintln!("{kills} loggers killed: {expect:?}, {reconnects} reconnects");
    // The producers logged through the kills: most takeovers of a live run are met by them.
    // Under wine a process takes far longer to start, so more kills land before the producers noticed the last
    // takeover: a quarter there.
    let met = if cfg!(windows) { kills / 4 } else { kills / 2 };
    assert!(
        reconnects >= met,
        "the producers met only {reconnects} takeovers of {kills} kills"
    );
    logger.tell("stop");
    logger.expect_line("stopped");
    logger.wait_ok();
    for (_, _, p) in producers {
        p.wait_ok();
    }
    let log_dir = dir.path().join(format!("{name}_data_log"));
    // A killed logger can leave a torn last batch; recovery cuts it (its records were never released, so the
    // next logger wrote them again).
    recover(&log_dir).unwrap();
    let per_source = check_log(&log_dir, &expect);
    let report = assemble_log_archives(
        &log_dir,
        &AssembleOptions {
            verify: true,
            ..Default::default()
        },
    )
    .unwrap();
    assert_eq!(report.archives.len(), SOURCES.len());
    for (s, messages) in per_source {
        let archive = LogArchive::open(log_dir.join(format!("{s}_log.npz"))).unwrap();
        assert_eq!(archive.message_count() as u64, messages, "archive of source {s}");
    }
}

/// SIGKILLs a producer and returns what it had acknowledged.
fn killed_producer(child: Child, source: u8, inc: u8, acks: &seqring::shared_array::SharedArray<u64>) -> Expect {
    child.kill();
    let cell = usize::from(source - SOURCES[0]) * MAX_INC + usize::from(inc);
    Expect {
        source,
        inc,
        acked: acks.atomic(&[cell as u64]).unwrap().load(Ordering::Relaxed),
        killed: true,
    }
}

#[test]
#[cfg_attr(
    windows,
    ignore = "under wine a child of this run now and then fails to start (CreateProcess error 1359) or its pipe closes early: 2 of 8 full runs; not yet examined"
)]
fn loggers_killed_at_random_moments_lose_and_repeat_nothing() {
    killed_loggers_run(
        "loggers_killed_at_random_moments_lose_and_repeat_nothing",
        false,
        18,
        Duration::ZERO,
    );
}

/// As above, with each producer logging one message every 10 µs: the drain is mostly idle, so it gathers records
/// (`logger::idle`: at about 20 MB/s an eighth of the 64 KiB ring takes ~400 µs to fill, so it parks that long
/// after each small batch), and a kill often finds records waiting in the ring while it is parked. Its successor must
/// drain them: nothing lost, nothing repeated. (At 2 µs an eighth would fill in under the shortest park, and the
/// drain would chase.) The same seed as the first run: the same kills and victims, at a pace.
#[test]
#[cfg_attr(
    windows,
    ignore = "under wine a child of this run now and then fails to start (CreateProcess error 1359) or its pipe closes early: 2 of 8 full runs; not yet examined"
)]
fn loggers_killed_while_records_gather_lose_and_repeat_nothing() {
    killed_loggers_run(
        "loggers_killed_while_records_gather_lose_and_repeat_nothing",
        false,
        18,
        Duration::from_micros(10),
    );
}

#[test]
#[cfg_attr(
    windows,
    ignore = "under wine a child of this run now and then fails to start (CreateProcess error 1359) or its pipe closes early: 2 of 8 full runs; not yet examined"
)]
fn loggers_at_low_priority_killed_at_random_moments_lose_and_repeat_nothing() {
    killed_loggers_run(
        "loggers_at_low_priority_killed_at_random_moments_lose_and_repeat_nothing",
        true,
        19,
        Duration::ZERO,
    );
}

/// The word of the dead logger's ring that holds its consumer's token (its pid).
fn consumer_token(region_name: &str) -> u64 {
    let region = Region::open_shm(region_name).unwrap();
    region.raw().words()[seqring::core::ring::CONSUMER_OWNER_AT / 8].load(Ordering::Relaxed)
}

#[test]
fn a_logger_killed_during_its_takeover_does_not_wedge_the_name() {
    const TEST: &str = "a_logger_killed_during_its_takeover_does_not_wedge_the_name";
    if let Some((role, arg)) = child::role() {
        match role.as_str() {
            "first" => {
                let (dir, name) = arg.split_once(' ').unwrap();
                let logger = DataLogger::builder(dir, name).capacity(1 << 16).start().unwrap();
                let producer = logger.producer(1).unwrap();
                log_range(&producer, 0, 200);
                logger.pause_writing();
                log_range(&producer, 200, 400);
                child::say("paused");
                child::hear();
            }
            "holder" => {
                // A live producer holding a claim: the takeover waits its abandon timeout for it.
                let producer = Producer::connect(&arg, 2).unwrap();
                let grant = producer.claim(8).unwrap();
                child::say("claimed");
                child::hear();
                drop(grant);
            }
            _ => {
                let (dir, name) = arg.split_once(' ').unwrap();
                let _logger = DataLogger::builder(dir, name)
                    .abandon_timeout(Duration::from_secs(60))
                    .start()
                    .unwrap();
                child::say("ready");
                child::hear();
            }
        }
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let name = unique_name("takeover-kill");
    let arg = format!("{} {name}", dir.path().display());
    let mut first = Child::spawn(TEST, "first", &arg, &[]);
    first.expect_line("paused");
    let mut holder = Child::spawn(TEST, "holder", &name, &[]);
    holder.expect_line("claimed");
    first.kill();
    // The second logger takes over and waits on the held claim: it holds the dead ring's consumer slot.
    let second = Child::spawn(TEST, "second", &arg, &[]);
    let region = format!("{}{name}", seqring::logger::REGION_PREFIX);
    let deadline = Instant::now() + Duration::from_secs(60);
    while consumer_token(&region) != u64::from(second.pid()) {
        assert!(
            Instant::now() < deadline,
            "the second logger never attached to the dead ring"
        );
        std::thread::sleep(Duration::from_millis(1));
    }
    second.kill();
    holder.kill();
    let third = DataLogger::builder(dir.path(), &name)
        .abandon_timeout(Duration::from_millis(100))
        .start()
        .expect("a third logger takes over despite the second dying mid-takeover");
    let report = third.stop().unwrap();
    assert_eq!(report.abandoned, 1, "the dead holder's claim");
    recover(&report.log_dir).unwrap();
    let log = read_segments(&report.log_dir);
    assert_eq!(check_source(1, &log[&1]), 400, "every record of the first logger, once");
}

#[test]
fn a_producer_connected_before_a_takeover_is_told_and_reconnects() {
    const TEST: &str = "a_producer_connected_before_a_takeover_is_told_and_reconnects";
    if let Some((role, arg)) = child::role() {
        if role == "logger" {
            let (dir, name) = arg.split_once(' ').unwrap();
            let logger = DataLogger::builder(dir, name).start().unwrap();
            child::say("ready");
            child::hear();
            drop(logger);
            return;
        }
        let producer = Producer::connect(&arg, 4).unwrap();
        log_range(&producer, 0, 100);
        child::say("logged");
        child::hear(); // the logger is killed and taken over meanwhile
        assert_eq!(producer.log_at(101, &payload(4, 100)), Err(LogError::TakenOver));
        let producer = producer.reconnect().unwrap();
        log_range(&producer, 100, 200);
        child::say("done");
        child::hear();
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let name = unique_name("reconnect");
    let mut logger = Child::spawn(TEST, "logger", &format!("{} {name}", dir.path().display()), &[]);
    logger.expect_line("ready");
    let mut producer = Child::spawn(TEST, "producer", &name, &[]);
    producer.expect_line("logged");
    logger.kill();
    let successor = DataLogger::builder(dir.path(), &name).start().unwrap();
    producer.tell("go");
    producer.expect_line("done");
    let report = successor.stop().unwrap();
    producer.tell("exit");
    producer.wait_ok();
    let log = read_segments(&report.log_dir);
    assert_eq!(
        check_source(4, &log[&4]),
        200,
        "before and after the takeover, once each"
    );
}

#[test]
fn a_dead_producers_claim_is_unblocked_though_its_source_reconnected_in_a_live_process() {
    const TEST: &str = "a_dead_producers_claim_is_unblocked_though_its_source_reconnected_in_a_live_process";
    if let Some((role, name)) = child::role() {
        let producer = Producer::connect(&name, 3).unwrap();
        if role == "dies" {
            let grant = producer.claim(16).unwrap();
            child::say("claimed");
            child::hear();
            drop(grant);
        } else {
            log_range(&producer, 0, 10);
            child::say("logged");
            child::hear();
        }
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let name = unique_name("restarted-source");
    let logger = DataLogger::builder(dir.path(), &name)
        .abandon_timeout(Duration::from_millis(50))
        .start()
        .unwrap();
    let mut dies = Child::spawn(TEST, "dies", &name, &[]);
    dies.expect_line("claimed");
    dies.kill();
    // The source is connected again, from a live process: the dead claim is still the dead process's.
    let mut restarted = Child::spawn(TEST, "restarted", &name, &[]);
    restarted.expect_line("logged");
    let deadline = Instant::now() + Duration::from_secs(20);
    // Unblocked (counted) and everything behind it drained, while the source's new process is alive.
    while logger.health().abandoned == 0 || logger.health().pending_bytes != 0 {
        assert!(
            Instant::now() < deadline,
            "the dead claim still blocks the ring while its source's new process lives"
        );
        std::thread::sleep(Duration::from_millis(5));
    }
    restarted.tell("exit");
    restarted.wait_ok();
    let report = logger.stop().unwrap();
    assert_eq!(report.abandoned, 1);
    assert_eq!(check_source(3, &read_segments(&report.log_dir)[&3]), 10);
}

#[test]
fn a_producer_that_died_while_logging_its_sources_onset_does_not_wedge_the_source() {
    const TEST: &str = "a_producer_that_died_while_logging_its_sources_onset_does_not_wedge_the_source";
    if let Some((_, name)) = child::role() {
        // Stands for a producer killed between winning the onset slot and publishing the onset: it takes the
        // slot exactly as `connect` does (the region's source table, word 0 of the source's entry) and dies.
        let region = Region::open_shm(&format!("{}{name}", seqring::logger::REGION_PREFIX)).unwrap();
        let words = region.raw().words();
        let block = words.len() - seqring::logger::BLOCK_LEN / 8;
        let entry = &words[block + (512 + 8 * 64) / 8]; // source 8 of the 64-byte source table
        let pending = (1u64 << 63) | u64::from(std::process::id());
        entry
            .compare_exchange(0, pending, Ordering::Relaxed, Ordering::Relaxed)
            .unwrap();
        child::say("pending");
        child::hear();
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let name = unique_name("onset-kill");
    let logger = DataLogger::builder(dir.path(), &name).start().unwrap();
    let mut dies = Child::spawn(TEST, "dies", &name, &[]);
    dies.expect_line("pending");
    dies.kill();
    let started = Instant::now();
    let producer = Producer::connect(&name, 8).expect("the dead producer's pending onset is cleared");
    assert!(
        started.elapsed() < Duration::from_secs(4),
        "connect waited for the dead producer"
    );
    log_range(&producer, 0, 5);
    drop(producer);
    let report = logger.stop().unwrap();
    assert_eq!(check_source(8, &read_segments(&report.log_dir)[&8]), 5);
}

#[test]
fn a_region_that_is_not_a_loggers_is_refused_and_left_alone() {
    let dir = tempfile::tempdir().unwrap();
    let name = unique_name("not-a-logger");
    let region_name = format!("{}{name}", seqring::logger::REGION_PREFIX);
    let _cleanup = seqring_tests::shm::Cleanup(region_name.clone());
    // A shared array that happens to have a logger's region name.
    let array = seqring::shared_array::SharedArray::<f64>::create(&region_name, &[4]).unwrap();
    array.write(&[1.0, 2.0, 3.0, 4.0]).unwrap();
    let err = DataLogger::builder(dir.path(), &name).start().unwrap_err();
    assert!(matches!(err, StartError::Layout { .. }), "{err}");
    assert!(err.to_string().contains("shared array"), "{err}");
    assert_eq!(array.to_vec().unwrap(), [1.0, 2.0, 3.0, 4.0], "the array is intact");
    assert!(seqring_tests::shm::exists(&region_name));
    assert!(matches!(Producer::connect(&name, 1), Err(OpenError::Layout { .. })));
    // A region being created (still zero) is a logger that is not running yet.
    let blank_name = unique_name("blank");
    let blank_region = format!("{}{blank_name}", seqring::logger::REGION_PREFIX);
    let _blank_cleanup = seqring_tests::shm::Cleanup(blank_region.clone());
    let _blank = Region::create_shm(&blank_region, 1 << 16, CreateOptions::default()).unwrap();
    assert!(matches!(
        Producer::connect(&blank_name, 1),
        Err(OpenError::NotRunning { .. })
    ));
}

#[test]
fn a_log_directory_that_cannot_be_written_fails_at_start_not_at_stop() {
    let dir = tempfile::tempdir().unwrap();
    let name = unique_name("unwritable");
    let log_dir = dir.path().join(format!("{name}_data_log"));
    std::fs::create_dir(&log_dir).unwrap();
    // Root writes into read-only directories; an immutable one refuses even root (ext4, tmpfs and most others).
    let immutable = |on: bool| {
        std::process::Command::new("chattr")
            .arg(if on { "+i" } else { "-i" })
            .arg(&log_dir)
            .status()
            .is_ok_and(|s| s.success())
    };
    let read_only = if immutable(true) {
        true
    } else {
        let mut perms = std::fs::metadata(&log_dir).unwrap().permissions();
        perms.set_readonly(true);
        std::fs::set_permissions(&log_dir, perms).unwrap();
        std::fs::File::create(log_dir.join("probe")).is_err()
    };
    if !read_only {
        eprintln!("skipped: this user can write into any directory here");
        return;
    }
    let started = DataLogger::builder(dir.path(), &name).start();
    let npy = DataLogger::builder(dir.path(), &name)
        .format(seqring::logger::Format::NpyEntries { writers: 1 })
        .start();
    immutable(false);
    for result in [started, npy] {
        match result {
            Err(StartError::Write { source, .. }) => {
                assert!(source.to_string().contains(&log_dir.display().to_string()), "{source}")
            }
            other => panic!("start must fail on an unwritable directory: {other:?}"),
        }
    }
}

#[test]
fn a_takeover_gives_a_paused_producers_zero_length_claim_its_deadline() {
    const TEST: &str = "a_takeover_gives_a_paused_producers_zero_length_claim_its_deadline";
    if let Some((_, arg)) = child::role() {
        let (dir, name) = arg.split_once(' ').unwrap();
        let logger = DataLogger::builder(dir, name).start().unwrap();
        log_range(&logger.producer(1).unwrap(), 0, 10);
        while logger.health().written < 11 {
            std::thread::yield_now();
        }
        child::say("ready");
        child::hear();
        return;
    }
    use seqring::core::ring::{record::Word0, DATA_OFFSET, TAIL_AT};
    let dir = tempfile::tempdir().unwrap();
    let name = unique_name("zero-length");
    let mut first = Child::spawn(TEST, "logger", &format!("{} {name}", dir.path().display()), &[]);
    first.expect_line("ready");
    // This process stands for a live producer paused right after its tail CAS, before its claim marker: the
    // claimed space is all zero.
    let region = Region::open_shm(&format!("{}{name}", seqring::logger::REGION_PREFIX)).unwrap();
    let words = region.raw().words();
    let tail = words[TAIL_AT / 8].load(Ordering::Relaxed);
    let record = 16 + 8;
    words[TAIL_AT / 8]
        .compare_exchange(tail, tail + record, Ordering::Relaxed, Ordering::Relaxed)
        .unwrap();
    first.kill();
    let started = Instant::now();
    let successor = std::thread::spawn({
        let (dir, name) = (dir.path().to_path_buf(), name.clone());
        move || {
            DataLogger::builder(dir, &name)
                .abandon_timeout(Duration::from_secs(2))
                .start()
                .unwrap()
        }
    });
    // The paused producer wakes well within the deadline and completes its record in the dead ring.
    std::thread::sleep(Duration::from_millis(300));
    let capacity = words[64 / 8].load(Ordering::Relaxed);
    let at = (DATA_OFFSET + (tail % capacity) as usize) / 8;
    words[at + 1].store(123, Ordering::Relaxed);
    words[at + 2].store(u64::from_le_bytes(*b"paused!!"), Ordering::Relaxed);
    words[at].store(Word0::data(record as i32, 1).encode(), Ordering::Release);
    let logger = successor.join().unwrap();
    let waited = started.elapsed();
    let report = logger.stop().unwrap();
    assert_eq!(
        report.abandoned, 0,
        "the claim committed within its deadline is not abandoned"
    );
    let log = read_segments(&report.log_dir);
    assert_eq!(
        log[&1].len(),
        12,
        "the onset, 10 messages and the paused producer's record"
    );
    assert_eq!(log[&1][11], (123, b"paused!!".to_vec()));
    assert!(
        waited >= Duration::from_millis(300),
        "the takeover did not pad the claim at once"
    );
}

/// Writes logger regions of the current layout into `SEQRING_FUZZ_SEEDS` (the `logger_region` fuzz target's
/// seed corpus): a running logger with three sources, a pending onset and a held producer slot, then the same
/// region stopped. Run: `SEQRING_FUZZ_SEEDS=fuzz/corpus/logger_region cargo test --release -p seqring-tests --test
/// logger_takeover -- --ignored write_logger_region_fuzz_seeds`.
#[test]
#[ignore = "writes the fuzz seed corpus; run by hand after a layout change"]
fn write_logger_region_fuzz_seeds() {
    let Ok(out) = std::env::var("SEQRING_FUZZ_SEEDS") else {
        return;
    };
    let out = Path::new(env!("CARGO_MANIFEST_DIR")).join("..").join(out);
    let dir = tempfile::tempdir().unwrap();
    let name = unique_name("seeds");
    let logger = DataLogger::builder(dir.path(), &name).capacity(1024).start().unwrap();
    let producers: Vec<_> = [1u8, 7, 200].iter().map(|&s| logger.producer(s).unwrap()).collect();
    for p in &producers {
        log_range(p, 0, 5);
    }
    while logger.health().written < 18 {
        std::thread::yield_now();
    }
    std::thread::sleep(Duration::from_millis(120)); // the drain publishes its per-source counts every 50 ms
    let region_name = format!("{}{name}", seqring::logger::REGION_PREFIX);
    let dump = |tag: &str| {
        let bytes = std::fs::read(
            seqring_platform::RegionName::new(region_name.as_str())
                .unwrap()
                .shm_path(),
        )
        .unwrap();
        std::fs::write(out.join(format!("v2-{tag}")), bytes).unwrap();
    };
    let _held = producers[0].claim(12).unwrap();
    dump("running");
    drop(_held);
    drop(producers);
    let region = Region::open_shm(&region_name).unwrap();
    let words = region.raw().words();
    let block = words.len() - seqring::logger::BLOCK_LEN / 8;
    words[block + 2].store(2, Ordering::Relaxed); // state: stopped
    words[block + (512 + 9 * 64) / 8].store((1 << 63) | 4_000_000, Ordering::Relaxed); // a pending onset
    let bytes: Vec<u8> = words
        .iter()
        .flat_map(|w| w.load(Ordering::Relaxed).to_le_bytes())
        .collect();
    std::fs::write(out.join("v2-stopped-pending"), bytes).unwrap();
    logger.stop().unwrap();
}
