//! Long archive tests, `#[ignore]`d: run them in release with
//! `cargo test --release -p seqring-tests --test archive_long -- --ignored --nocapture`
//! (and `/usr/bin/time -v` around the test binary for the peak RSS).

mod archive_support;

use std::time::Instant;

use archive_support::{interop, python, ring_bytes, Msg};
use seqring::archive::{assemble_log_archives, AssembleOptions, LogArchive};
use seqring::format::segment::SegmentWriter;

const ONSET: u64 = 1_763_700_000_000_000;

#[test]
#[ignore = "long: 1M entries, run in release"]
fn long_assemble_1m_entries_from_segments() {
    const SOURCES: u64 = 4;
    const PER_SOURCE: u64 = 250_000;
    let dir = tempfile::tempdir().unwrap();
    let started = Instant::now();
    // 8 segments, batches of 4096 records interleaving the sources, 32-byte payloads.
    let mut next = vec![1u64; SOURCES as usize];
    let mut onsets_written = false;
    for seg in 0..8 {
        let mut w = SegmentWriter::create(dir.path().join(format!("{seg:03}.seg")), ONSET).unwrap();
        let mut batch = Vec::with_capacity(4096);
        if !onsets_written {
            batch.extend((0..SOURCES).map(|s| Msg::onset(s as u8 + 1, ONSET)));
            onsets_written = true;
        }
        let mut left = SOURCES * PER_SOURCE / 8;
        while left > 0 {
            let s = (left % SOURCES) as usize;
            let ts = next[s];
            next[s] += 1;
            let mut payload = [0u8; 32];
            payload[..8].copy_from_slice(&ts.to_le_bytes());
            batch.push(Msg::new(s as u8 + 1, ts, payload.to_vec()));
            left -= 1;
            if batch.len() == 4096 || left == 0 {
                w.append_batch(&ring_bytes(&batch, 0)).unwrap();
                batch.clear();
            }
        }
        w.finish().unwrap();
    }
    println!("wrote segments in {:?}", started.elapsed());
    let started = Instant::now();
    let report = assemble_log_archives(
        dir.path(),
        &AssembleOptions {
            verify: true,
            ..Default::default()
        },
    )
    .unwrap();
    let took = started.elapsed();
    let entries = report.entries();
    assert_eq!(entries, SOURCES * (PER_SOURCE + 1));
    println!(
        "assembled and verified {entries} entries in {took:?}: {:.2} M entries/s, {} archive bytes",
        entries as f64 / took.as_secs_f64() / 1e6,
        report.archives.iter().map(|a| a.bytes).sum::<u64>()
    );
    for a in &report.archives {
        let started = Instant::now();
        let archive = LogArchive::open(&a.path).unwrap();
        let opened = started.elapsed();
        assert_eq!(archive.message_count() as u64, PER_SOURCE);
        let started = Instant::now();
        for (expected_ts, m) in (1u64..).zip(&archive) {
            let m = m.unwrap();
            assert_eq!(m.timestamp_us, ONSET + expected_ts);
            assert_eq!(&m.payload[..8], &expected_ts.to_le_bytes());
        }
        println!(
            "source {}: open {opened:?} ({:.0} ns/entry), iterate {:?}",
            a.source_id,
            opened.as_nanos() as f64 / (PER_SOURCE + 1) as f64,
            started.elapsed()
        );
    }
}

#[test]
#[ignore = "long: numpy re-saves 65,537 entries (about 10 s of Python)"]
fn long_zip64_entry_count_byte_identical_to_numpy() {
    let Some(py) = python() else { return };
    let dir = tempfile::tempdir().unwrap();
    let mut w = SegmentWriter::create(dir.path().join("a.seg"), ONSET).unwrap();
    let mut messages = vec![Msg::onset(1, ONSET)];
    messages.extend((1..=65_536u64).map(|ts| Msg::new(1, ts, ts.to_le_bytes()[..(ts % 9) as usize].to_vec())));
    for chunk in messages.chunks(5000) {
        w.append_batch(&ring_bytes(chunk, 0)).unwrap();
    }
    w.finish().unwrap();
    assemble_log_archives(dir.path(), &AssembleOptions::default()).unwrap();
    let path = dir.path().join("1_log.npz");
    interop(&py, &["resave", path.to_str().unwrap()]);
}
