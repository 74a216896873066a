//! The DataLogger end to end: concurrent threads and processes, both full policies, npy entries against the
//! ataraxis fixture and numpy, and a logged run assembled into archives.

use std::collections::BTreeMap;
use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use seqring::archive::{assemble_log_archives, AssembleOptions, EntryName, LogArchive};
use seqring::format::segment::Segment;
use seqring::logger::{DataLogger, Format, FullPolicy, LogError, OpenError, Producer, StartError};
use seqring_tests::child::{self, Child};
use seqring_tests::logger::{check_source, log_range, payload, read_segments, segment_paths, unique_name};

const THREAD_SOURCES: [u8; 4] = [1, 2, 3, 4];
const PROCESS_SOURCES: [u8; 3] = [11, 12, 13];
const PER_SOURCE: u64 = 20_000;

/// A child producer: connects to the logger named in its argument, logs `n` messages and reports its onset.
fn producer_child(arg: &str) {
    let mut parts = arg.split(' ');
    let name = parts.next().unwrap();
    let source: u8 = parts.next().unwrap().parse().unwrap();
    let n: u64 = parts.next().unwrap().parse().unwrap();
    let producer = Producer::connect(name, source).unwrap();
    child::say("ready");
    assert_eq!(child::hear(), "go");
    log_messages(&producer, n);
    child::say(&format!("done {}", producer.onset_us()));
}

/// Logs messages `0..n` of [`payload`], alternating `log_now` and in-place claims.
fn log_messages(producer: &Producer, n: u64) {
    let source = producer.source_id();
    for seq in 0..n {
        let bytes = payload(source, seq);
        if seq % 2 == 0 {
            producer.log_now(&bytes).unwrap();
        } else {
            let mut grant = producer.claim(bytes.len()).unwrap();
            let (head, tail) = bytes.split_at(bytes.len() / 2);
            grant.write(0, head);
            grant.write(head.len(), tail);
            grant.commit().unwrap();
        }
    }
}

#[test]
fn threads_and_processes_log_every_record_exactly_once_in_order() {
    if let Some((_, arg)) = child::role() {
        return producer_child(&arg);
    }
    let dir = tempfile::tempdir().unwrap();
    let name = unique_name("concurrent");
    // A small ring, so records wrap it many times and producers meet it full (they wait, never drop).
    let logger = DataLogger::builder(dir.path(), &name)
        .capacity(64 << 10)
        .segment_size(256 << 10)
        .on_full(FullPolicy::Wait(Duration::from_secs(30)))
        .start()
        .unwrap();
    let mut children: Vec<Child> = PROCESS_SOURCES
        .iter()
        .map(|s| {
            let mut c = Child::spawn(
                "threads_and_processes_log_every_record_exactly_once_in_order",
                "producer",
                &format!("{name} {s} {PER_SOURCE}"),
                &[],
            );
            c.expect_line("ready");
            c
        })
        .collect();
    let producers: Vec<Producer> = THREAD_SOURCES.iter().map(|&s| logger.producer(s).unwrap()).collect();
    std::thread::scope(|scope| {
        for c in &mut children {
            c.tell("go");
        }
        for p in &producers {
            scope.spawn(move || log_messages(p, PER_SOURCE));
        }
    });
    let mut onsets: BTreeMap<u8, u64> = producers.iter().map(|p| (p.source_id(), p.onset_us())).collect();
    for (c, s) in children.iter_mut().zip(PROCESS_SOURCES) {
        onsets.insert(s, c.expect_line("done").parse().unwrap());
    }
    for c in children {
        c.wait_ok();
    }
    let report = logger.stop().unwrap();
    assert!(report.files.len() > 1, "the segment size should have rolled files");
    let log = read_segments(&report.log_dir);
    assert_eq!(log.keys().copied().collect::<Vec<_>>(), [1, 2, 3, 4, 11, 12, 13]);
    for (&source, records) in &log {
        assert_eq!(check_source(source, records), PER_SOURCE, "source {source}");
        assert_eq!(records[0].1, onsets[&source].to_le_bytes(), "source {source}: onset");
        let r = report.source(source).unwrap();
        assert_eq!((r.records, r.dropped, r.unwritten_records), (PER_SOURCE + 1, 0, 0));
        let bytes: u64 = records.iter().map(|(_, p)| p.len() as u64).sum();
        assert_eq!(r.bytes, bytes, "source {source}: reported bytes");
    }
    assert_eq!((report.dropped, report.abandoned), (0, 0));
}

#[test]
fn a_trickle_of_records_is_gathered_into_batches_and_still_reaches_the_kernel() {
    // One record a µs for 40 ms: a drain that chases the producer writes hundreds of small batches (325 to 683 in
    // runs with gathering switched off); one that gathers writes about one batch per flush interval (1 ms): 33 to 35.
    const RECORDS: u64 = 40_000;
    let dir = tempfile::tempdir().unwrap();
    let logger = DataLogger::builder(dir.path(), &unique_name("trickle"))
        .start()
        .unwrap();
    let producer = logger.producer(5).unwrap();
    let start = Instant::now();
    for seq in 0..RECORDS {
        while start.elapsed() < Duration::from_micros(seq) {
            std::hint::spin_loop();
        }
        producer.log_at(seq + 1, &payload(5, seq)).unwrap();
    }
    // A parked drain still comes back: every record (and the onset) reaches the kernel while the logger runs.
    let deadline = Instant::now() + Duration::from_secs(10);
    while logger.health().written < RECORDS + 1 {
        assert!(
            Instant::now() < deadline,
            "written {} of {}",
            logger.health().written,
            RECORDS + 1
        );
        std::thread::sleep(Duration::from_millis(1));
    }
    let report = logger.stop().unwrap();
    assert_eq!(check_source(5, &read_segments(&report.log_dir)[&5]), RECORDS);
    let batches: usize = segment_paths(&report.log_dir)
        .iter()
        .map(|path| Segment::open(path).unwrap().batches().count())
        .sum();
    assert!(
        batches as u64 * 200 <= RECORDS,
        "{batches} batches for {RECORDS} records: the drain did not gather"
    );
}

#[test]
fn drop_policy_counts_exactly_the_refused_records() {
    let dir = tempfile::tempdir().unwrap();
    let logger = DataLogger::builder(dir.path(), &unique_name("drop"))
        .capacity(4096)
        .start()
        .unwrap();
    let producer = logger.producer(9).unwrap();
    logger.pause_writing();
    let (mut accepted, mut refused) = (0u64, 0u64);
    for seq in 0..1_000 {
        match producer.log_at(seq + 1, &payload(9, accepted)) {
            Ok(()) => accepted += 1,
            Err(LogError::Full) => refused += 1,
            Err(e) => panic!("{e}"),
        }
    }
    assert!(
        refused > 0 && accepted > 0,
        "a 4 KiB ring holds some but not all of 1000 records"
    );
    assert_eq!(logger.health().dropped, refused);
    logger.resume_writing();
    let report = logger.stop().unwrap();
    let r = report.source(9).unwrap();
    assert_eq!((r.records, r.dropped), (accepted + 1, refused));
    assert_eq!(check_source(9, &read_segments(&report.log_dir)[&9]), accepted);
    assert_eq!(report.dropped, refused);
}

#[test]
fn wait_policy_blocks_up_to_its_timeout_then_drops() {
    let dir = tempfile::tempdir().unwrap();
    let timeout = Duration::from_millis(50);
    let logger = DataLogger::builder(dir.path(), &unique_name("wait"))
        .capacity(4096)
        .on_full(FullPolicy::Wait(timeout))
        .start()
        .unwrap();
    let producer = logger.producer(4).unwrap();
    logger.pause_writing();
    let mut accepted = 0u64;
    let started = Instant::now();
    let refused_after = loop {
        let t = Instant::now();
        match producer.log_now(&payload(4, accepted)) {
            Ok(()) => accepted += 1,
            Err(LogError::Full) => break t.elapsed(),
            Err(e) => panic!("{e}"),
        }
        assert!(started.elapsed() < Duration::from_secs(60), "the ring never filled");
    };
    assert!(
        refused_after >= timeout,
        "gave up after {refused_after:?}, before the {timeout:?} timeout"
    );
    logger.resume_writing();
    producer.log_now(&payload(4, accepted)).unwrap();
    let report = logger.stop().unwrap();
    let r = report.source(4).unwrap();
    assert_eq!((r.records, r.dropped), (accepted + 2, 1));
    assert_eq!(check_source(4, &read_segments(&report.log_dir)[&4]), accepted + 1);
}

#[test]
fn wait_policy_producer_resumes_when_the_ring_drains() {
    let dir = tempfile::tempdir().unwrap();
    let capacity = 4096u64;
    let logger = DataLogger::builder(dir.path(), &unique_name("wait-resume"))
        .capacity(capacity as usize)
        .on_full(FullPolicy::Wait(Duration::from_secs(60)))
        .start()
        .unwrap();
    let producer = logger.producer(6).unwrap();
    logger.pause_writing();
    let n = 200u64; // about 10 KiB of records: more than the ring holds
    std::thread::scope(|scope| {
        let writer = scope.spawn(|| (0..n).try_for_each(|seq| producer.log_at(seq + 1, &payload(6, seq))));
        // Handshake on the ring's state: wait until the writer has filled it (its next record cannot fit).
        while logger.health().pending_bytes + 96 <= capacity {
            std::thread::yield_now();
        }
        assert!(!writer.is_finished(), "the writer should be waiting for room");
        logger.resume_writing();
        writer.join().unwrap().unwrap();
    });
    let report = logger.stop().unwrap();
    assert_eq!((report.records, report.dropped), (n + 1, 0));
    assert_eq!(check_source(6, &read_segments(&report.log_dir)[&6]), n);
}

#[test]
fn a_name_in_use_is_refused_and_stop_refuses_late_records() {
    let dir = tempfile::tempdir().unwrap();
    let name = unique_name("in-use");
    let logger = DataLogger::builder(dir.path(), &name).start().unwrap();
    match DataLogger::builder(dir.path(), &name).start() {
        Err(StartError::NameInUse { pid, .. }) => assert_eq!(pid, std::process::id()),
        other => panic!("expected NameInUse, got {other:?}"),
    }
    assert!(matches!(
        DataLogger::builder(dir.path(), "bad/name").start(),
        Err(StartError::InvalidName { .. })
    ));
    for builder in [
        DataLogger::builder(dir.path(), "opts").capacity(2 << 30),
        DataLogger::builder(dir.path(), "opts").capacity(4096).max_payload(2048),
        DataLogger::builder(dir.path(), "opts").max_payload(usize::MAX),
        DataLogger::builder(dir.path(), "opts").format(Format::NpyEntries { writers: 0 }),
        DataLogger::builder(dir.path(), "opts").segment_size(0),
    ] {
        assert!(matches!(builder.start(), Err(StartError::InvalidOption(_))));
    }
    let producer = logger.producer(1).unwrap();
    producer.log_now(b"before").unwrap();
    let report = logger.stop().unwrap();
    assert_eq!(producer.log_now(b"after"), Err(LogError::Stopped));
    assert_eq!(report.source(1).unwrap().records, 2);
    assert!(matches!(Producer::connect(&name, 2), Err(OpenError::NotRunning { .. })));
    // The name is free again; dropping a running logger stops it, writing what was logged and freeing the name.
    let dropped = DataLogger::builder(dir.path(), &name)
        .continue_recording(true)
        .start()
        .unwrap();
    let producer = dropped.producer(2).unwrap();
    log_range(&producer, 0, 500);
    drop(dropped);
    assert_eq!(producer.log_now(b"late"), Err(LogError::Stopped));
    assert!(matches!(Producer::connect(&name, 2), Err(OpenError::NotRunning { .. })));
    assert_eq!(check_source(2, &read_segments(&report.log_dir)[&2]), 500);
}

/// The fixture's entries as (source, timestamp, payload), in name order.
fn fixture_entries() -> Vec<(EntryName, Vec<u8>)> {
    let dir = seqring_tests::fixtures().join("entries");
    let mut names: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    names.sort();
    names
        .into_iter()
        .map(|n| {
            let bytes = std::fs::read(dir.join(&n)).unwrap();
            (EntryName::parse(&n).unwrap(), bytes)
        })
        .collect()
}

#[test]
#[cfg_attr(windows, ignore = "runs python3 with numpy, which the wine prefix lacks")]
fn npy_entries_match_ataraxis_byte_for_byte_and_load_in_numpy() {
    let dir = tempfile::tempdir().unwrap();
    let logger = DataLogger::builder(dir.path(), &unique_name("npy"))
        .format(Format::NpyEntries { writers: 3 })
        .start()
        .unwrap();
    let entries = fixture_entries();
    let mut producers = BTreeMap::new();
    for (name, bytes) in &entries {
        let data = &bytes[128..];
        assert_eq!(
            (data[0], &data[1..9]),
            (name.source_id, &name.timestamp.to_le_bytes()[..])
        );
        if name.timestamp == 0 {
            let onset = u64::from_le_bytes(data[9..17].try_into().unwrap());
            producers.insert(
                name.source_id,
                logger.producer_with_onset(name.source_id, onset).unwrap(),
            );
        }
    }
    for (name, bytes) in &entries {
        if name.timestamp != 0 {
            producers[&name.source_id]
                .log_at(name.timestamp, &bytes[128 + 9..])
                .unwrap();
        }
    }
    // Two messages with the same source and timestamp: ataraxis overwrites one, seqring keeps both.
    let p7 = &producers[&7];
    p7.log_at(99_999_999, b"first").unwrap();
    p7.log_at(99_999_999, b"second").unwrap();
    let report = logger.stop().unwrap();
    assert_eq!(report.npy_entries, entries.len() as u64 + 2);
    for (name, bytes) in &entries {
        let ours = std::fs::read(report.log_dir.join(name.to_string())).unwrap();
        assert!(ours == *bytes, "{name} differs from what ataraxis wrote");
    }
    let read = |n: &str| std::fs::read(report.log_dir.join(n)).unwrap()[128 + 9..].to_vec();
    assert_eq!(read("007_00000000000099999999.npy"), b"first");
    assert_eq!(read("007_00000000000099999999_1.npy"), b"second");
    // numpy loads every file as the 1-D uint8 array of its bytes.
    let script = r#"
import sys, pathlib, numpy as np
files = sorted(pathlib.Path(sys.argv[1]).glob('*.npy'))
for f in files:
    a = np.load(f)
    raw = f.read_bytes()
    assert a.dtype == np.uint8 and a.ndim == 1, f
    assert a.tobytes() == raw[128:], f
    assert a[0] == int(f.name[:3]) and int.from_bytes(a[1:9].tobytes(), 'little') == int(f.name[4:24]), f
print(len(files))
"#;
    let out = Command::new("python3")
        .args(["-c", script])
        .arg(&report.log_dir)
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert_eq!(
        String::from_utf8_lossy(&out.stdout).trim(),
        (entries.len() + 2).to_string()
    );
}

/// Assembles `log_dir` and returns every archive's messages per source: (µs since the epoch, payload).
fn assembled(log_dir: &Path) -> BTreeMap<u8, Vec<(u64, Vec<u8>)>> {
    let options = AssembleOptions {
        verify: true,
        ..Default::default()
    };
    let report = assemble_log_archives(log_dir, &options).unwrap();
    report
        .archives
        .iter()
        .map(|a| {
            let archive = LogArchive::open(&a.path).unwrap();
            let messages = archive
                .iter()
                .map(Result::unwrap)
                .map(|m| (m.timestamp_us, m.payload.to_vec()))
                .collect();
            (a.source_id, messages)
        })
        .collect()
}

#[test]
fn a_logged_run_assembles_into_archives_byte_for_byte() {
    for format in [Format::Segments, Format::NpyEntries { writers: 2 }] {
        let dir = tempfile::tempdir().unwrap();
        let logger = DataLogger::builder(dir.path(), &unique_name("assemble"))
            .format(format)
            .capacity(16 << 10)
            .segment_size(8 << 10)
            .on_full(FullPolicy::Wait(Duration::from_secs(30)))
            .start()
            .unwrap();
        // 2 000 messages a source; 200 on Windows, where the .npy sink syncs each entry's file and wine makes
        // that a Linux fsync.
        let messages = seqring_tests::rounds(2_000);
        let mut expected: BTreeMap<u8, Vec<(u64, Vec<u8>)>> = BTreeMap::new();
        for source in [0u8, 42, 255] {
            let producer = logger.producer(source).unwrap();
            let onset = producer.onset_us();
            for seq in 0..messages {
                // Duplicate timestamps every few messages, which the archive keeps in logging order.
                let ts = 1 + seq / 3;
                producer.log_at(ts, &payload(source, seq)).unwrap();
                expected
                    .entry(source)
                    .or_default()
                    .push((onset + ts, payload(source, seq)));
            }
        }
        let report = logger.stop().unwrap();
        assert_eq!(report.records, 3 * (messages + 1), "{format:?}");
        assert_eq!(assembled(&report.log_dir), expected, "{format:?}");
    }
}
