//! Assembly from seqring segments (and mixed with `.npy` entries): duplicates, an onset-only source, 0-byte and
//! multi-MiB payloads, ZIP64 entry counts, checked with the reader, with npyz and with numpy; plus segment
//! recovery and the errors assembly gives for bad input.

mod archive_support;

use std::collections::BTreeMap;
use std::io::Cursor;
use std::path::Path;
use std::sync::Mutex;

use archive_support::{interop, python, reader_view, write_segment, Msg};
use seqring::archive::{assemble_log_archives, AssembleError, AssembleOptions, LogArchive, Phase, Progress};
use seqring::format::segment::{recover, scan, Segment, SegmentError, SegmentWriter, Tail};
use seqring_tests::Rng;

const ONSET: u64 = 1_763_700_000_000_007;

/// The archive order of `messages` of one source (stable by timestamp) and each one's expected key.
fn expected(messages: &[Msg]) -> Vec<(String, Msg)> {
    let mut sorted: Vec<Msg> = messages.to_vec();
    sorted.sort_by_key(|m| m.ts);
    let mut out = Vec::new();
    let mut prev = None;
    let mut k = 0;
    for m in sorted {
        k = if prev == Some(m.ts) { k + 1 } else { 0 };
        prev = Some(m.ts);
        let key = if k == 0 {
            format!("{:03}_{:020}", m.source, m.ts)
        } else {
            format!("{:03}_{:020}_{k}", m.source, m.ts)
        };
        out.push((key, m));
    }
    out
}

/// Checks an archive against the messages of its source, with the reader, npyz and (if present) numpy.
fn check_archive(path: &Path, messages: &[Msg]) {
    let want = expected(messages);
    let archive = LogArchive::open(path).unwrap();
    assert_eq!(archive.message_count(), want.len() - 1);
    assert_eq!(
        archive.keys().collect::<Vec<_>>(),
        want[1..].iter().map(|(k, _)| k.as_str()).collect::<Vec<_>>()
    );
    for (m, (_, w)) in archive.iter().map(Result::unwrap).zip(&want[1..]) {
        assert_eq!(
            (m.source_id, m.timestamp_us, m.payload),
            (w.source, ONSET + w.ts, &w.payload[..])
        );
    }
    // An independent npy reader agrees on every entry, the onset included.
    let bytes = std::fs::read(path).unwrap();
    let mut zip = zip::ZipArchive::new(Cursor::new(&bytes[..])).unwrap();
    assert_eq!(zip.len(), want.len());
    for (i, (key, w)) in want.iter().enumerate() {
        let mut entry = zip.by_index(i).unwrap();
        assert_eq!(entry.name().unwrap(), format!("{key}.npy"));
        let mut data = Vec::new();
        std::io::Read::read_to_end(&mut entry, &mut data).unwrap();
        let npy = npyz::NpyFile::new(&data[..]).unwrap();
        assert_eq!(npy.shape(), &[9 + w.payload.len() as u64]);
        assert_eq!(npy.dtype(), npyz::DType::Plain("|u1".parse().unwrap()));
        let values: Vec<u8> = npy.into_vec().unwrap();
        assert_eq!(values[0], w.source);
        assert_eq!(u64::from_le_bytes(values[1..9].try_into().unwrap()), w.ts);
        assert_eq!(&values[9..], &w.payload[..], "{key}");
    }
    if let Some(py) = python() {
        let view = path.with_extension("view.json");
        reader_view(&archive, &view);
        interop(&py, &["check", path.to_str().unwrap(), view.to_str().unwrap()]);
        interop(&py, &["resave", path.to_str().unwrap()]);
        std::fs::remove_file(view).unwrap();
    }
}

/// An `.npy` entry written with the header npyz writes (`(N, )`), not numpy's.
fn write_npy_entry(dir: &Path, name: &str, source: u8, ts: u64, payload: &[u8]) {
    let n = 9 + payload.len();
    let text = format!("{{'descr': '|u1', 'fortran_order': False, 'shape': ({n}, ), }}");
    let mut file = b"\x93NUMPY\x01\x00".to_vec();
    let pad = 64 - (10 + text.len() + 1) % 64;
    file.extend_from_slice(&((text.len() + pad + 1) as u16).to_le_bytes());
    file.extend_from_slice(text.as_bytes());
    file.extend(std::iter::repeat_n(b' ', pad));
    file.push(b'\n');
    file.push(source);
    file.extend_from_slice(&ts.to_le_bytes());
    file.extend_from_slice(payload);
    std::fs::write(dir.join(name), file).unwrap();
}

#[test]
fn mixed_segments_and_entries_assemble_and_read_back_everywhere() {
    let dir = tempfile::tempdir().unwrap();
    let mut rng = Rng::new(7);
    let mut by_source: BTreeMap<u8, Vec<Msg>> = BTreeMap::new();
    let push = |m: Msg, into: &mut Vec<Msg>, all: &mut BTreeMap<u8, Vec<Msg>>| {
        all.entry(m.source).or_default().push(m.clone());
        into.push(m);
    };
    // Segment 0: onsets of 3, 9 and 250; source 3 with duplicates, a 0-byte payload and a record at elapsed 0.
    let mut b0 = Vec::new();
    for s in [3u8, 9, 250] {
        push(Msg::onset(s, ONSET), &mut b0, &mut by_source);
    }
    push(Msg::new(3, 0, b"same as onset".to_vec()), &mut b0, &mut by_source);
    for i in 0..200u64 {
        let ts = 10 + i / 3; // three messages per timestamp
        let len = rng.below(300) as usize;
        push(Msg::new(3, ts, rng.bytes(len)), &mut b0, &mut by_source);
    }
    push(Msg::new(3, 500, Vec::new()), &mut b0, &mut by_source);
    let mut b1 = Vec::new();
    push(Msg::new(250, 7, rng.bytes(3 << 20)), &mut b1, &mut by_source);
    push(
        Msg::new(3, 400, b"late arrival, earlier timestamp".to_vec()),
        &mut b1,
        &mut by_source,
    );
    write_segment(&dir.path().join("000.seg"), ONSET, &[b0, b1]);
    // Segment 1 continues source 250 with a 5 MiB payload and more of source 3, out of order.
    let mut b2 = Vec::new();
    push(Msg::new(250, 8, rng.bytes(5 << 20)), &mut b2, &mut by_source);
    for ts in [900u64, 600, 900, 601] {
        push(Msg::new(3, ts, rng.bytes(16)), &mut b2, &mut by_source);
    }
    write_segment(&dir.path().join("001.seg"), ONSET, &[b2]);
    // Source 42 only as `.npy` entries, one with a `_1` suffix from a logger that kept a duplicate.
    let npy = [
        (0u64, ONSET.to_le_bytes().to_vec(), ""),
        (5, b"a".to_vec(), ""),
        (5, b"b".to_vec(), "_1"),
        (6, vec![], ""),
    ];
    for (ts, payload, suffix) in &npy {
        write_npy_entry(dir.path(), &format!("042_{ts:020}{suffix}.npy"), 42, *ts, payload);
        by_source
            .entry(42)
            .or_default()
            .push(Msg::new(42, *ts, payload.clone()));
    }

    // Source 77 mixes both: 30 `.npy` entries (more than one parallel read window), then segment records whose
    // timestamps overlap them (a `.npy` entry comes first among equal timestamps).
    for ts in 0..30u64 {
        let payload = if ts == 0 {
            ONSET.to_le_bytes().to_vec()
        } else {
            rng.bytes(ts as usize)
        };
        write_npy_entry(dir.path(), &format!("077_{ts:020}.npy"), 77, ts, &payload);
        by_source.entry(77).or_default().push(Msg::new(77, ts, payload));
    }
    let mixed: Vec<Msg> = (15..45u64).map(|ts| Msg::new(77, ts, rng.bytes(5))).collect();
    by_source.entry(77).or_default().extend(mixed.iter().cloned());
    write_segment(&dir.path().join("002.seg"), ONSET, &[mixed]);

    let calls = Mutex::new(Vec::<Progress>::new());
    let progress = |p: Progress| calls.lock().unwrap().push(p);
    let report = assemble_log_archives(
        dir.path(),
        &AssembleOptions {
            verify: true,
            workers: 2,
            progress: Some(&progress),
            ..Default::default()
        },
    )
    .unwrap();
    let total: usize = by_source.values().map(Vec::len).sum();
    assert_eq!(report.entries() as usize, total);
    assert_eq!(report.removed_files, 3 + npy.len() as u64 + 30);
    let calls = calls.into_inner().unwrap();
    for phase in [Phase::Writing, Phase::Verifying, Phase::Removing] {
        let of_phase: Vec<_> = calls.iter().filter(|p| p.phase == phase).collect();
        let last = of_phase.iter().map(|p| p.done).max().unwrap();
        assert_eq!(last, of_phase[0].total, "{phase:?} reaches its total");
    }
    assert_eq!(
        calls.iter().find(|p| p.phase == Phase::Writing).unwrap().total as usize,
        total
    );

    let names: Vec<String> = report
        .archives
        .iter()
        .map(|a| a.path.file_name().unwrap().to_string_lossy().into())
        .collect();
    assert_eq!(
        names,
        ["3_log.npz", "9_log.npz", "42_log.npz", "77_log.npz", "250_log.npz"]
    );
    for (source, messages) in &by_source {
        check_archive(&dir.path().join(format!("{source}_log.npz")), messages);
    }
    let only_onset = LogArchive::open(dir.path().join("9_log.npz")).unwrap();
    assert_eq!((only_onset.message_count(), only_onset.iter().count()), (0, 0));
    assert!(only_onset.batches(-1, 4).is_empty());
    let three = LogArchive::open(dir.path().join("3_log.npz")).unwrap();
    assert!(three.keys().any(|k| k == "003_00000000000000000010_2"));
    assert_eq!(three.keys().next(), Some("003_00000000000000000000_1"));
    assert!(three.iter().any(|m| m.unwrap().payload.is_empty()));
    assert_eq!(
        std::fs::read_dir(dir.path()).unwrap().count(),
        5,
        "only the archives are left"
    );
}

#[test]
fn more_than_65535_entries_use_zip64_end_records_like_numpy() {
    let dir = tempfile::tempdir().unwrap();
    let mut messages = vec![Msg::onset(1, ONSET)];
    messages.extend((1..=65_536u64).map(|ts| Msg::new(1, ts, ts.to_le_bytes()[..(ts % 9) as usize].to_vec())));
    let batches: Vec<Vec<Msg>> = messages.chunks(5000).map(<[Msg]>::to_vec).collect();
    write_segment(&dir.path().join("a.seg"), ONSET, &batches);
    assemble_log_archives(dir.path(), &AssembleOptions::default()).unwrap();
    let path = dir.path().join("1_log.npz");
    let bytes = std::fs::read(&path).unwrap();
    let locator = &bytes[bytes.len() - 42..bytes.len() - 22];
    assert_eq!(&locator[..4], b"PK\x06\x07", "a ZIP64 locator precedes the end record");
    let archive = LogArchive::open(&path).unwrap();
    assert_eq!(archive.message_count(), 65_536);
    assert_eq!(archive.batches(4, 4).iter().map(|r| r.len()).sum::<usize>(), 65_536);
    assert!(archive.batches(1, 4).len() == 4 && archive.batches(1, 1).len() == 1);
    // numpy's byte-identity at this size takes Python ~10 s: it is checked by the long test in archive_long.rs.
}

#[test]
fn segment_recovery_truncates_only_torn_tails() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("s.seg");
    let batches: Vec<Vec<Msg>> = (0..4u64)
        .map(|b| {
            (0..5)
                .map(|i| Msg::new(1, b * 10 + i, vec![b as u8; (i * 7) as usize]))
                .collect()
        })
        .collect();
    write_segment(&path, ONSET, &batches);
    let whole = std::fs::read(&path).unwrap();
    let clean = scan(&whole);
    assert_eq!((clean.batches, clean.records, clean.tail), (4, 20, Tail::Clean));
    let ends: Vec<u64> = {
        let seg = Segment::open(&path).unwrap();
        seg.batches().map(|b| b.unwrap().offset).collect()
    };
    let last = ends[3];

    // Cut anywhere in the last batch: recovery keeps exactly the first three batches.
    for cut in [
        last + 1,
        last + 8,
        last + 23,
        last + 24,
        last + 40,
        whole.len() as u64 - 1,
    ] {
        std::fs::write(&path, &whole[..cut as usize]).unwrap();
        assert!(matches!(
            Segment::open(&path).unwrap().records().last(),
            Some(Err(SegmentError::TornTail { .. }))
        ));
        let report = recover(&path).unwrap();
        assert_eq!(
            (report.len, report.batches, report.records),
            (last, 3, 15),
            "cut at {cut}"
        );
        assert_eq!(report.torn.map(|t| t.0), Some(last));
        assert_eq!(std::fs::read(&path).unwrap(), &whole[..last as usize]);
        // A second recovery is a no-op.
        assert_eq!(recover(&path).unwrap().torn, None);
    }
    // Zeros after the last batch (an extended but unwritten file), and a bad checksum at the very end.
    let mut zeros = whole.clone();
    zeros.extend_from_slice(&[0; 100]);
    let mut flipped = whole.clone();
    *flipped.last_mut().unwrap() ^= 1;
    for (bytes, keep) in [(&zeros, whole.len() as u64), (&flipped, last)] {
        std::fs::write(&path, bytes).unwrap();
        assert_eq!(recover(&path).unwrap().len, keep);
    }
    // A bad checksum in a middle batch is corruption: an error, and the file is left as it was.
    let mut middle = whole.clone();
    middle[ends[1] as usize + 30] ^= 0x40;
    std::fs::write(&path, &middle).unwrap();
    let err = recover(&path).unwrap_err();
    assert!(
        matches!(err, SegmentError::Corrupt { offset, .. } if offset == ends[1]),
        "{err}"
    );
    assert!(err.to_string().contains("s.seg"));
    assert_eq!(std::fs::read(&path).unwrap(), middle);
    // A torn file header leaves an empty segment; a foreign file is refused.
    std::fs::write(&path, &whole[..30]).unwrap();
    assert_eq!(recover(&path).unwrap().len, 0);
    assert_eq!(Segment::open(&path).unwrap().records().count(), 0);
    std::fs::write(
        &path,
        b"PK\x03\x04 definitely not a segment file, but long enough for a header....",
    )
    .unwrap();
    assert!(matches!(recover(&path), Err(SegmentError::NotSegment { .. })));
}

#[test]
fn writer_rejects_bad_batches_and_appends_after_recovery() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("w.seg");
    let mut w = SegmentWriter::create(&path, ONSET).unwrap();
    assert!(matches!(
        w.append_batch(&[]),
        Err(SegmentError::BadBatch { len: 0, .. })
    ));
    assert!(matches!(
        w.append_batch(&[0; 12]),
        Err(SegmentError::BadBatch { len: 12, .. })
    ));
    w.append_batch(&archive_support::ring_bytes(&[Msg::onset(4, ONSET)], 0))
        .unwrap();
    let len = w.finish().unwrap();
    assert!(
        SegmentWriter::create(&path, ONSET).is_err(),
        "create never truncates an existing segment"
    );
    // Tear an append, recover, append again.
    let mut bytes = std::fs::read(&path).unwrap();
    bytes.extend_from_slice(b"SEQRBAT\0\x40\0\0");
    std::fs::write(&path, &bytes).unwrap();
    assert!(matches!(
        SegmentWriter::append_to(&path),
        Err(SegmentError::TornTail { .. })
    ));
    recover(&path).unwrap();
    let mut w = SegmentWriter::append_to(&path).unwrap();
    assert_eq!((w.bytes_written(), w.batches(), w.header().onset_us), (len, 1, ONSET));
    w.append_batch(&archive_support::ring_bytes(&[Msg::new(4, 9, b"more".to_vec())], 0))
        .unwrap();
    w.finish().unwrap();
    let seg = Segment::open(&path).unwrap();
    let records: Vec<(u8, u64, Vec<u8>)> = seg
        .records()
        .map(|r| r.map(|(_, r)| (r.source_id, r.timestamp, r.payload.to_vec())).unwrap())
        .collect();
    assert_eq!(
        records,
        [(4, 0, ONSET.to_le_bytes().to_vec()), (4, 9, b"more".to_vec())]
    );
}

fn assert_untouched(dir: &Path, files: usize) {
    let names: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into())
        .collect();
    assert_eq!(names.len(), files, "{names:?}");
    assert!(
        names.iter().all(|n| !n.ends_with(".npz") && !n.ends_with(".tmp")),
        "{names:?}"
    );
}

#[test]
fn bad_inputs_fail_without_writing_or_removing_anything() {
    type Setup = Box<dyn Fn(&Path)>;
    type Check = Box<dyn Fn(&AssembleError) -> bool>;
    let cases: Vec<(&str, Setup, Check)> = vec![
        (
            "torn segment",
            Box::new(|d: &Path| {
                write_segment(
                    &d.join("a.seg"),
                    ONSET,
                    &[vec![Msg::onset(1, ONSET)], vec![Msg::new(1, 5, b"x".to_vec())]],
                );
                let bytes = std::fs::read(d.join("a.seg")).unwrap();
                std::fs::write(d.join("a.seg"), &bytes[..bytes.len() - 4]).unwrap();
            }),
            Box::new(
                |e| matches!(e, AssembleError::Segment(SegmentError::TornTail { path, .. }) if path.ends_with("a.seg")),
            ),
        ),
        (
            "missing onset",
            Box::new(|d: &Path| {
                write_segment(
                    &d.join("a.seg"),
                    ONSET,
                    &[vec![Msg::onset(1, ONSET), Msg::new(2, 5, b"x".to_vec())]],
                );
            }),
            Box::new(|e| matches!(e, AssembleError::MissingOnset { source_id: 2, .. })),
        ),
        (
            "short onset payload",
            Box::new(|d: &Path| write_segment(&d.join("a.seg"), ONSET, &[vec![Msg::new(1, 0, vec![1, 2, 3])]])),
            Box::new(|e| matches!(e, AssembleError::BadOnset { len: 3, .. })),
        ),
        (
            "badly named entry",
            Box::new(|d: &Path| {
                write_npy_entry(d, "001_00000000000000000000.npy", 1, 0, &ONSET.to_le_bytes());
                std::fs::write(d.join("camera.npy"), b"x").unwrap();
            }),
            Box::new(|e| matches!(e, AssembleError::BadEntryName { path } if path.ends_with("camera.npy"))),
        ),
        (
            "entry whose data disagrees with its name",
            Box::new(|d: &Path| {
                write_npy_entry(d, "001_00000000000000000000.npy", 1, 0, &ONSET.to_le_bytes());
                write_npy_entry(d, "001_00000000000000000005.npy", 1, 6, b"x");
            }),
            Box::new(
                |e| matches!(e, AssembleError::EntryMismatch { path, .. } if path.ends_with("001_00000000000000000005.npy")),
            ),
        ),
        (
            "entry that is not npy",
            Box::new(|d: &Path| {
                write_npy_entry(d, "001_00000000000000000000.npy", 1, 0, &ONSET.to_le_bytes());
                std::fs::write(d.join("001_00000000000000000005.npy"), b"PK\x03\x04 nope").unwrap();
            }),
            Box::new(
                |e| matches!(e, AssembleError::BadEntry { path, .. } if path.ends_with("001_00000000000000000005.npy")),
            ),
        ),
        (
            "entry shorter than 9 bytes",
            Box::new(|d: &Path| {
                write_npy_entry(d, "001_00000000000000000000.npy", 1, 0, &ONSET.to_le_bytes());
                let mut f = seqring::format::npy::u8_vector_header(3).to_vec();
                f.extend_from_slice(&[1, 5, 0]);
                std::fs::write(d.join("001_00000000000000000005.npy"), f).unwrap();
            }),
            Box::new(|e| e.to_string().contains("fewer than the 9")),
        ),
    ];
    for (what, setup, check) in cases {
        let dir = tempfile::tempdir().unwrap();
        setup(dir.path());
        let files = std::fs::read_dir(dir.path()).unwrap().count();
        let err = assemble_log_archives(dir.path(), &AssembleOptions::default()).unwrap_err();
        assert!(check(&err), "{what}: unexpected error {err:?}");
        assert!(
            err.to_string().contains(&*dir.path().to_string_lossy()),
            "{what}: '{err}' names no path"
        );
        assert_untouched(dir.path(), files);
    }
    // With `recover_segments`, the torn batch is cut and the rest assembled.
    let dir = tempfile::tempdir().unwrap();
    write_segment(
        &dir.path().join("a.seg"),
        ONSET,
        &[
            vec![Msg::onset(1, ONSET), Msg::new(1, 5, b"kept".to_vec())],
            vec![Msg::new(1, 6, b"torn".to_vec())],
        ],
    );
    let bytes = std::fs::read(dir.path().join("a.seg")).unwrap();
    std::fs::write(dir.path().join("a.seg"), &bytes[..bytes.len() - 4]).unwrap();
    let report = assemble_log_archives(
        dir.path(),
        &AssembleOptions {
            recover_segments: true,
            ..Default::default()
        },
    )
    .unwrap();
    assert_eq!(report.recovered.len(), 1);
    assert_eq!((report.recovered[0].records, report.recovered[0].batches), (2, 1));
    let archive = LogArchive::open(dir.path().join("1_log.npz")).unwrap();
    assert_eq!(
        archive.iter().map(|m| m.unwrap().payload).collect::<Vec<_>>(),
        [b"kept"]
    );

    let missing = assemble_log_archives("/nonexistent/seqring/logs", &AssembleOptions::default()).unwrap_err();
    assert!(matches!(missing, AssembleError::NotADirectory { .. }));
    let empty = tempfile::tempdir().unwrap();
    assert!(assemble_log_archives(empty.path(), &AssembleOptions::default())
        .unwrap()
        .archives
        .is_empty());
}
