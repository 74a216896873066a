//! The DataLogger under crashes: a producer killed between claim and commit, a logger killed mid-run (recovery of
//! its segments and takeover of its ring), torn and corrupt segment bytes, and a full disk.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::Duration;

use seqring::core::ring::record::Records;
use seqring::format::segment::{scan, Tail};
use seqring::logger::{recover, DataLogger, OpenError, Producer};
use seqring_tests::child::{self, Child};
use seqring_tests::logger::{check_source, log_range, payload, read_segments, unique_name};

#[test]
fn a_producer_killed_between_claim_and_commit_is_one_abandoned_record() {
    if let Some((_, name)) = child::role() {
        let producer = Producer::connect(&name, 5).unwrap();
        log_range(&producer, 0, 100);
        let mut grant = producer.claim(32).unwrap();
        grant.write(0, &[0xab; 16]);
        child::say("claimed");
        child::hear(); // killed while it waits here, the grant neither committed nor aborted
        grant.commit().unwrap();
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let name = unique_name("claim-kill");
    let logger = DataLogger::builder(dir.path(), &name)
        .abandon_timeout(Duration::from_millis(100))
        .start()
        .unwrap();
    let mut child = Child::spawn(
        "a_producer_killed_between_claim_and_commit_is_one_abandoned_record",
        "claimer",
        &name,
        &[],
    );
    child.expect_line("claimed");
    // These records sit behind the dead claim until the logger unblocks it.
    let producer = logger.producer(6).unwrap();
    log_range(&producer, 0, 100);
    child.kill();
    let report = logger.stop().unwrap();
    assert_eq!(report.abandoned, 1);
    let log = read_segments(&report.log_dir);
    assert_eq!(check_source(5, &log[&5]), 100);
    assert_eq!(check_source(6, &log[&6]), 100);
    assert_eq!(
        (report.source(5).unwrap().records, report.source(6).unwrap().records),
        (101, 101)
    );
}

const WRITTEN: u64 = 5_000;
const PENDING: u64 = 300;

/// The logger child: logs `WRITTEN` records and waits until they are handed to the OS, then pauses writing and
/// logs `PENDING` more, which stay in the ring when it is killed.
fn logger_child(arg: &str) {
    let (dir, name) = arg.split_once(' ').unwrap();
    let logger = DataLogger::builder(dir, name)
        .capacity(1 << 20)
        .segment_size(32 << 10)
        .fsync_interval(None)
        .start()
        .unwrap();
    let producer = logger.producer(1).unwrap();
    log_range(&producer, 0, WRITTEN);
    while logger.health().written < WRITTEN + 1 {
        std::thread::yield_now();
    }
    logger.pause_writing();
    log_range(&producer, WRITTEN, WRITTEN + PENDING);
    child::say("paused");
    child::hear();
}

#[test]
fn a_killed_logger_is_recovered_and_its_ring_taken_over() {
    if let Some((_, arg)) = child::role() {
        return logger_child(&arg);
    }
    let dir = tempfile::tempdir().unwrap();
    let name = unique_name("logger-kill");
    let mut child = Child::spawn(
        "a_killed_logger_is_recovered_and_its_ring_taken_over",
        "logger",
        &format!("{} {name}", dir.path().display()),
        &[],
    );
    child.expect_line("paused");
    child.kill();
    let log_dir = dir.path().join(format!("{name}_data_log"));
    let recovery = recover(&log_dir).unwrap();
    assert!(recovery.is_clean(), "{:?}", recovery.damaged);
    assert!(recovery.segments.len() > 1);
    assert_eq!(recovery.records(), WRITTEN + 1);
    assert_eq!(check_source(1, &read_segments(&log_dir)[&1]), WRITTEN);
    // Producers cannot connect to the dead logger's stale region.
    assert!(matches!(Producer::connect(&name, 1), Err(OpenError::NotRunning { .. })));
    // As if the logger had died in the middle of appending a batch: a torn batch header at the end of a segment.
    let last = &recovery.segments.last().unwrap().path;
    let torn = b"SEQRBAT\0\x10\0\0\0\0";
    std::fs::OpenOptions::new()
        .append(true)
        .open(last)
        .unwrap()
        .write_all(torn)
        .unwrap();
    // A new logger of the same name cuts the torn tail, drains what the dead one left in its ring, and the source
    // keeps its onset.
    let logger = DataLogger::builder(dir.path(), &name).start().unwrap();
    let producer = logger.producer(1).unwrap();
    log_range(&producer, WRITTEN + PENDING, WRITTEN + PENDING + 10);
    let report = logger.stop().unwrap();
    assert_eq!((report.taken_over, report.torn_bytes_cut), (PENDING, torn.len() as u64));
    assert_eq!(report.source(1).unwrap().records, PENDING + 10);
    assert_eq!(check_source(1, &read_segments(&log_dir)[&1]), WRITTEN + PENDING + 10);
}

/// A finished log directory with several segments of source 2.
fn logged_dir(dir: &Path) -> (PathBuf, Vec<PathBuf>) {
    let logger = DataLogger::builder(dir, &unique_name("torn"))
        .segment_size(8 << 10)
        .start()
        .unwrap();
    let producer = logger.producer(2).unwrap();
    for seq in 0..2_000 {
        producer.log_at(seq + 1, &payload(2, seq)).unwrap();
        if seq % 50 == 0 {
            // Let the drain catch up now and then, so that segments hold several batches.
            while logger.health().records < seq + 2 {
                std::thread::yield_now();
            }
        }
    }
    let report = logger.stop().unwrap();
    (report.log_dir, report.files)
}

/// The batch boundaries of a clean segment: the file offset where each batch starts, and the file's end.
fn boundaries(path: &Path) -> Vec<u64> {
    let bytes = std::fs::read(path).unwrap();
    let mut out = vec![64];
    let mut at = 64usize;
    while at < bytes.len() {
        let len = u64::from_le_bytes(bytes[at + 8..at + 16].try_into().unwrap()) as usize;
        at += seqring::format::segment::BATCH_HEADER_LEN + len;
        out.push(at as u64);
    }
    assert_eq!(scan(&bytes).tail, Tail::Clean);
    out
}

#[test]
fn recover_cuts_only_a_torn_tail_and_reports_corruption() {
    let dir = tempfile::tempdir().unwrap();
    let (log_dir, files) = logged_dir(dir.path());
    assert!(files.len() >= 3, "{files:?}");
    let before: Vec<Vec<u8>> = read_segments(&log_dir)[&2].iter().map(|(_, p)| p.clone()).collect();
    let total = before.len() as u64;
    // Any segment's tail can be torn (a crash while appending to it); take one with at least two batches.
    let last = files
        .iter()
        .find(|f| boundaries(f).len() >= 3)
        .expect("a segment with two batches");
    let bounds = boundaries(last);
    let full_len = *bounds.last().unwrap();
    let last_batch_start = bounds[bounds.len() - 2];
    let original = std::fs::read(last).unwrap();
    let cut_batch: Vec<&[u8]> = Records::new(
        &original[last_batch_start as usize + seqring::format::segment::BATCH_HEADER_LEN..full_len as usize],
    )
    .map(|r| r.unwrap().payload)
    .collect();
    // Every record but those of the cut batch, in order (payloads are unique).
    let expected: Vec<Vec<u8>> = before
        .iter()
        .filter(|p| !cut_batch.contains(&&p[..]))
        .cloned()
        .collect();
    assert_eq!(expected.len() + cut_batch.len(), before.len());
    // Cut inside the last batch's header, inside its records, one byte short; then append zeros.
    for cut in [last_batch_start + 5, last_batch_start + 30, full_len - 1] {
        std::fs::write(last, &original[..cut as usize]).unwrap();
        let recovery = recover(&log_dir).unwrap();
        assert!(recovery.is_clean());
        let torn: Vec<_> = recovery.torn().collect();
        assert_eq!(torn.len(), 1, "cut at {cut}");
        assert_eq!(
            (torn[0].path.as_path(), torn[0].len),
            (last.as_path(), last_batch_start)
        );
        assert_eq!(recovery.truncated_bytes(), cut - last_batch_start);
        assert_eq!(std::fs::metadata(last).unwrap().len(), last_batch_start);
        let kept: Vec<Vec<u8>> = read_segments(&log_dir)[&2].iter().map(|(_, p)| p.clone()).collect();
        assert_eq!(kept.len() as u64, recovery.records());
        assert_eq!(
            kept, expected,
            "cut at {cut}: recovery kept other records than every whole batch"
        );
    }
    let mut zeros = original.clone();
    zeros.extend_from_slice(&[0; 4096]);
    std::fs::write(last, &zeros).unwrap();
    let recovery = recover(&log_dir).unwrap();
    assert_eq!((recovery.truncated_bytes(), recovery.records()), (4096, total));
    // A flipped byte in the middle of an earlier segment is corruption: reported, and the file left alone.
    let middle = files.iter().find(|f| *f != last).unwrap();
    let bounds = boundaries(middle);
    let mut bytes = std::fs::read(middle).unwrap();
    let at = bounds[0] as usize + seqring::format::segment::BATCH_HEADER_LEN + 20;
    bytes[at] ^= 0x40;
    std::fs::write(middle, &bytes).unwrap();
    let recovery = recover(&log_dir).unwrap();
    assert_eq!(recovery.damaged.len(), 1);
    let message = recovery.damaged[0].to_string();
    assert!(
        message.contains(&middle.display().to_string()) && message.contains("checksum"),
        "{message}"
    );
    assert_eq!(std::fs::read(middle).unwrap(), bytes);
    assert_eq!(recovery.truncated_bytes(), 0);
}

#[cfg(unix)]
const DISK_FULL_RECORDS: u64 = 20_000;
#[cfg(unix)]
const FILE_SIZE_LIMIT: u64 = 100 << 10;

/// The disk-full child: files may not grow past `FILE_SIZE_LIMIT` (SIGXFSZ ignored, so writes fail with EFBIG).
/// Unix only: Windows has no per-process file size limit to fake a full disk with.
#[cfg(unix)]
fn disk_full_child(arg: &str) {
    use seqring::logger::{FullPolicy, StopError};
    let (dir, name) = arg.split_once(' ').unwrap();
    let limit = libc::rlimit {
        rlim_cur: FILE_SIZE_LIMIT,
        rlim_max: FILE_SIZE_LIMIT,
    };
    // SAFETY: setrlimit reads the struct; ignoring SIGXFSZ installs no handler code.
    unsafe {
        assert_eq!(libc::setrlimit(libc::RLIMIT_FSIZE, &limit), 0);
        libc::signal(libc::SIGXFSZ, libc::SIG_IGN);
    }
    let logger = DataLogger::builder(dir, name)
        .capacity(32 << 10)
        .segment_size(1 << 30)
        .on_full(FullPolicy::Wait(Duration::from_secs(30)))
        .start()
        .unwrap();
    let producer = logger.producer(3).unwrap();
    log_range(&producer, 0, DISK_FULL_RECORDS);
    // The error shows in health() while the logger still runs (the drain hits the limit and keeps counting).
    let health_error = loop {
        if let Some(e) = logger.health().error {
            break e.to_string();
        }
        std::thread::yield_now();
    };
    assert!(health_error.contains("File too large"), "{health_error}");
    match logger.stop() {
        Err(StopError::Disk { report, source }) => {
            let s = report.source(3).unwrap();
            child::say(&format!(
                "report {} {} {} {} {}",
                s.records, s.unwritten_records, s.dropped, report.unwritten_records, source
            ));
        }
        other => panic!("expected a disk error, got {other:?}"),
    }
}

#[test]
#[cfg(unix)]
fn a_full_disk_fails_stop_with_exact_counts() {
    if let Some((_, arg)) = child::role() {
        return disk_full_child(&arg);
    }
    let dir = tempfile::tempdir().unwrap();
    let name = unique_name("disk-full");
    let mut child = Child::spawn(
        "a_full_disk_fails_stop_with_exact_counts",
        "disk-full",
        &format!("{} {name}", dir.path().display()),
        &[],
    );
    let line = child.expect_line("report");
    child.wait_ok();
    let mut parts = line.splitn(5, ' ');
    let mut next = || parts.next().unwrap().to_string();
    let (written, unwritten, dropped, total_unwritten): (u64, u64, u64, u64) = (
        next().parse().unwrap(),
        next().parse().unwrap(),
        next().parse().unwrap(),
        next().parse().unwrap(),
    );
    let error = next();
    assert!(error.contains("File too large"), "{error}");
    assert_eq!(dropped, 0);
    assert_eq!(unwritten, total_unwritten);
    assert!(unwritten > 0 && written > 1, "{line}");
    assert_eq!(
        written + unwritten,
        DISK_FULL_RECORDS + 1,
        "every record is written or counted unwritten"
    );
    // The report's written count is exactly what is on disk, and it is a clean prefix of the messages.
    let log_dir = dir.path().join(format!("{name}_data_log"));
    assert!(recover(&log_dir).unwrap().is_clean());
    let on_disk = &read_segments(&log_dir)[&3];
    assert_eq!(on_disk.len() as u64, written);
    check_source(3, on_disk);
}
