//! A corpus of corrupted archives: every one gives an error that names the archive (and the entry, where there is
//! one), at open or (for what open leaves to the first access of an entry) when the entry is read, and none panics. Set `SEQRING_WRITE_FUZZ_CORPUS=DIR` to also write the corpus as fuzz seeds.

mod archive_support;

use std::io::{Cursor, Write};
use std::path::{Path, PathBuf};

use archive_support::{assembled_archive, Msg};
use seqring::archive::{read_archive_message_count, ArchiveError, AssembleOptions, LogArchive};
use seqring::format::npy::u8_vector_header;

const ONSET: u64 = 1_700_000_000_000_000;

/// A valid 3-entry archive of source 5, assembled by seqring.
fn valid_archive() -> Vec<u8> {
    let messages = vec![
        Msg::onset(5, ONSET),
        Msg::new(5, 10, b"hello".to_vec()),
        Msg::new(5, 20, vec![]),
    ];
    assembled_archive(5, ONSET, messages, &AssembleOptions::default())
}

/// An npy file holding a 1-D uint8 array of `data`, with numpy's header.
fn npy(data: &[u8]) -> Vec<u8> {
    let mut out = u8_vector_header(data.len() as u64).to_vec();
    out.extend_from_slice(data);
    out
}

fn npy_with_header(dict: &str, data: &[u8]) -> Vec<u8> {
    let mut out = b"\x93NUMPY\x01\x00".to_vec();
    let text = format!("{dict}\n");
    out.extend_from_slice(&(text.len() as u16).to_le_bytes());
    out.extend_from_slice(text.as_bytes());
    out.extend_from_slice(data);
    out
}

fn entry(source: u8, ts: u64, payload: &[u8]) -> Vec<u8> {
    let mut data = vec![source];
    data.extend_from_slice(&ts.to_le_bytes());
    data.extend_from_slice(payload);
    npy(&data)
}

/// A stored zip of `entries`, written by the zip crate (an independent writer).
fn zip_of(entries: &[(&str, Vec<u8>)]) -> Vec<u8> {
    let mut w = zip::ZipWriter::new(Cursor::new(Vec::new()));
    let options = zip::write::SimpleFileOptions::default().compression_method(zip::CompressionMethod::Stored);
    for (name, data) in entries {
        w.start_file(*name, options).unwrap();
        w.write_all(data).unwrap();
    }
    w.finish().unwrap().into_inner()
}

fn onset_entry() -> (&'static str, Vec<u8>) {
    ("005_00000000000000000000.npy", entry(5, 0, &ONSET.to_le_bytes()))
}

/// Offsets of every local and central header signature.
fn signatures(bytes: &[u8], sig: &[u8; 4]) -> Vec<usize> {
    bytes
        .windows(4)
        .enumerate()
        .filter(|(_, w)| w == sig)
        .map(|(i, _)| i)
        .collect()
}

/// Where a corruption is found.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum At {
    /// By `open`: the directory, a central header, a name, the onset entry, or a deflated member.
    Open,
    /// On first access to message `index` (and by `verify_all`); `open` succeeds.
    Access(usize),
}

struct Case {
    name: &'static str,
    bytes: Vec<u8>,
    at: At,
    /// The entry the error must name, if any.
    entry: Option<&'static str>,
    check: fn(&ArchiveError) -> bool,
}

fn corpus() -> Vec<Case> {
    let valid = valid_archive();
    let locals = signatures(&valid, b"PK\x03\x04");
    let centrals = signatures(&valid, b"PK\x01\x02");
    let eocd = signatures(&valid, b"PK\x05\x06")[0];
    let second = "005_00000000000000000010.npy";
    let mut cases = Vec::new();

    let mut compressed = valid.clone();
    compressed[locals[1] + 8] = 8;
    compressed[centrals[1] + 10] = 8;
    cases.push(Case {
        name: "compressed",
        at: At::Open,
        bytes: compressed,
        entry: Some(second),
        // Stored bytes marked deflated: they do not inflate to the entry (or not to its CRC).
        check: |e| matches!(e, ArchiveError::Inflate { .. } | ArchiveError::Crc { .. }),
    });
    let mut bzip2 = valid.clone();
    bzip2[centrals[1] + 10] = 12;
    cases.push(Case {
        name: "method_bzip2",
        at: At::Open,
        bytes: bzip2,
        entry: Some(second),
        check: |e| matches!(e, ArchiveError::NotStored { what, .. } if what.contains("method 12")),
    });
    let mut encrypted = valid.clone();
    encrypted[centrals[1] + 8] |= 1;
    cases.push(Case {
        name: "encrypted",
        at: At::Open,
        bytes: encrypted,
        entry: Some(second),
        check: |e| matches!(e, ArchiveError::NotStored { what, .. } if what == "encrypted"),
    });
    let mut exceeds = valid.clone();
    // Central sizes of the last entry: far past the end of the file (the local header keeps its ZIP64 extra).
    let last = centrals[2];
    exceeds[last + 20..last + 28].copy_from_slice(&[0xff, 0xff, 0xff, 0x7f, 0xff, 0xff, 0xff, 0x7f]);
    cases.push(Case {
        name: "sizes_exceed_file",
        at: At::Access(1),
        bytes: exceeds,
        entry: None,
        check: |e| {
            matches!(
                e,
                ArchiveError::ExceedsFile { .. } | ArchiveError::Zip { .. } | ArchiveError::ZipEntry { .. }
            )
        },
    });
    let mut local_name = valid.clone();
    local_name[locals[1] + 30 + 5] = b'9';
    cases.push(Case {
        name: "local_name_differs",
        at: At::Access(0),
        bytes: local_name,
        entry: Some(second),
        check: |e| matches!(e, ArchiveError::HeaderMismatch { .. }),
    });
    let mut bad_directory = valid.clone();
    bad_directory[eocd + 16] ^= 0x10;
    cases.push(Case {
        name: "bad_directory_offset",
        at: At::Open,
        bytes: bad_directory,
        entry: None,
        check: |e| matches!(e, ArchiveError::Zip { .. } | ArchiveError::ZipEntry { .. }),
    });
    cases.push(Case {
        name: "truncated_directory",
        at: At::Open,
        bytes: valid[..eocd + 10].to_vec(),
        entry: None,
        check: |e| matches!(e, ArchiveError::Zip { .. }),
    });
    cases.push(Case {
        name: "truncated_data",
        at: At::Open,
        bytes: valid[..centrals[0] - 3].to_vec(),
        entry: None,
        check: |e| matches!(e, ArchiveError::Zip { .. }),
    });
    cases.push(Case {
        name: "empty_file",
        at: At::Open,
        bytes: Vec::new(),
        entry: None,
        check: |e| matches!(e, ArchiveError::Zip { .. }),
    });
    cases.push(Case {
        name: "no_entries",
        at: At::Open,
        bytes: zip_of(&[]),
        entry: None,
        check: |e| matches!(e, ArchiveError::MissingOnset { .. }),
    });
    type ContentCase = (
        &'static str,
        At,
        Vec<(&'static str, Vec<u8>)>,
        Option<&'static str>,
        fn(&ArchiveError) -> bool,
    );
    let content_cases: Vec<ContentCase> = vec![
        (
            "not_npy",
            At::Access(0),
            vec![onset_entry(), (second, b"hello world, not an array".to_vec())],
            Some(second),
            |e| matches!(e, ArchiveError::NotNpy { .. }),
        ),
        (
            "wrong_dtype",
            At::Access(0),
            vec![
                onset_entry(),
                (
                    second,
                    npy_with_header("{'descr': '<f8', 'fortran_order': False, 'shape': (2,), }", &[0; 16]),
                ),
            ],
            Some(second),
            |e| e.to_string().contains("'<f8'"),
        ),
        (
            "wrong_ndim",
            At::Access(0),
            vec![
                onset_entry(),
                (
                    second,
                    npy_with_header("{'descr': '|u1', 'fortran_order': False, 'shape': (3, 5), }", &[5; 15]),
                ),
            ],
            Some(second),
            |e| e.to_string().contains("2 dimensions"),
        ),
        (
            "shape_exceeds_data",
            At::Access(0),
            vec![
                onset_entry(),
                (
                    second,
                    npy_with_header(
                        "{'descr': '|u1', 'fortran_order': False, 'shape': (4000000000,), }",
                        &[5; 15],
                    ),
                ),
            ],
            Some(second),
            |e| e.to_string().contains("does not match"),
        ),
        (
            "shorter_than_9_bytes",
            At::Access(0),
            vec![onset_entry(), (second, npy(&[5, 10, 0, 0]))],
            Some(second),
            |e| matches!(e, ArchiveError::TooShort { len: 4, .. }),
        ),
        (
            "source_in_data",
            At::Access(0),
            vec![onset_entry(), (second, entry(6, 10, b"x"))],
            Some(second),
            |e| {
                matches!(
                    e,
                    ArchiveError::SourceMismatch {
                        expected: 5,
                        found: 6,
                        ..
                    }
                )
            },
        ),
        (
            "source_in_name",
            At::Open,
            vec![onset_entry(), ("006_00000000000000000010.npy", entry(5, 10, b"x"))],
            Some("006_00000000000000000010.npy"),
            |e| {
                matches!(
                    e,
                    ArchiveError::SourceMismatch {
                        expected: 5,
                        found: 6,
                        ..
                    }
                )
            },
        ),
        (
            "timestamp_mismatch",
            At::Access(0),
            vec![onset_entry(), (second, entry(5, 11, b"x"))],
            Some(second),
            |e| {
                matches!(
                    e,
                    ArchiveError::TimestampMismatch {
                        named: 10,
                        stored: 11,
                        ..
                    }
                )
            },
        ),
        (
            "missing_onset",
            At::Open,
            vec![(second, entry(5, 10, b"x"))],
            None,
            |e| matches!(e, ArchiveError::MissingOnset { .. }),
        ),
        (
            "short_onset",
            At::Open,
            vec![("005_00000000000000000000.npy", entry(5, 0, &[1, 2, 3, 4]))],
            Some("005_00000000000000000000.npy"),
            |e| matches!(e, ArchiveError::BadOnset { len: 4, .. }),
        ),
        (
            "not_a_log_name",
            At::Open,
            vec![onset_entry(), ("camera_frames.npy", entry(5, 10, b"x"))],
            Some("camera_frames.npy"),
            |e| matches!(e, ArchiveError::BadName { .. }),
        ),
        (
            "not_an_npy_name",
            At::Open,
            vec![onset_entry(), ("005_00000000000000000010.txt", entry(5, 10, b"x"))],
            Some("005_00000000000000000010.txt"),
            |e| matches!(e, ArchiveError::BadName { .. }),
        ),
        (
            "overflowing_timestamp",
            At::Open,
            vec![onset_entry(), ("005_18446744073709551615.npy", entry(5, u64::MAX, b""))],
            Some("005_18446744073709551615.npy"),
            |e| matches!(e, ArchiveError::TimestampOverflow { .. }),
        ),
    ];
    for (name, at, entries, entry, check) in content_cases {
        cases.push(Case {
            name,
            at,
            bytes: zip_of(&entries),
            entry,
            check,
        });
    }
    cases
}

fn write(dir: &Path, name: &str, bytes: &[u8]) -> PathBuf {
    let path = dir.join(format!("{name}.npz"));
    std::fs::write(&path, bytes).unwrap();
    path
}

/// That `err` is `case`'s error, naming the archive `path` and the entry.
fn assert_case_error(case: &Case, path: &Path, err: &ArchiveError, how: &str) {
    assert!((case.check)(err), "{} ({how}): unexpected error {err:?}", case.name);
    let text = err.to_string();
    assert!(
        text.contains(&*path.to_string_lossy()),
        "{} ({how}): '{text}' does not name the archive",
        case.name
    );
    if let Some(entry) = case.entry {
        assert!(
            text.contains(entry),
            "{} ({how}): '{text}' does not name the entry {entry}",
            case.name
        );
    }
    assert!(!text.contains('\n'), "{} ({how}): one line", case.name);
}

#[test]
fn every_corrupted_archive_gives_an_error_naming_it() {
    let dir = tempfile::tempdir().unwrap();
    let (mut at_open, mut at_access) = (0, 0);
    for case in corpus() {
        let path = write(dir.path(), case.name, &case.bytes);
        match case.at {
            At::Open => {
                at_open += 1;
                let err = LogArchive::open(&path).expect_err(case.name);
                assert_case_error(&case, &path, &err, "open");
            }
            At::Access(bad) => {
                at_access += 1;
                // Open succeeds; the entry's error comes when it is read, every time, by every accessor, and from
                // `verify_all`/`open_verified`; the other messages read.
                let archive = LogArchive::open(&path).unwrap_or_else(|e| panic!("{}: {e}", case.name));
                for _ in 0..2 {
                    let err = archive.get(bad).expect_err(case.name);
                    assert_case_error(&case, &path, &err, "get");
                }
                let errors: Vec<usize> = (0..archive.message_count())
                    .filter(|&i| archive.get(i).is_err())
                    .collect();
                assert_eq!(errors, [bad], "{}", case.name);
                let err = archive.iter().nth(bad).unwrap().expect_err(case.name);
                assert_case_error(&case, &path, &err, "iter");
                assert_case_error(&case, &path, &archive.read_all().unwrap_err(), "read_all");
                assert_case_error(&case, &path, &archive.verify_all().unwrap_err(), "verify_all");
                let err = LogArchive::open_verified(&path).expect_err(case.name);
                assert_case_error(&case, &path, &err, "open_verified");
                let fresh = LogArchive::from_bytes(&path, case.bytes.clone()).unwrap();
                assert_case_error(&case, &path, &fresh.verify_all().unwrap_err(), "verify_all, fresh");
            }
        }
    }
    assert_eq!((at_open, at_access), (14, 9));
    if let Some(out) = std::env::var_os("SEQRING_WRITE_FUZZ_CORPUS") {
        let out = PathBuf::from(out);
        std::fs::create_dir_all(&out).unwrap();
        for case in corpus() {
            std::fs::write(out.join(case.name), &case.bytes).unwrap();
        }
        std::fs::write(out.join("valid"), valid_archive()).unwrap();
    }
}

#[test]
fn every_truncation_and_bit_flip_is_an_error_or_a_valid_archive_never_a_panic() {
    let valid = valid_archive();
    let reference = LogArchive::from_bytes("5_log.npz", valid.clone()).unwrap();
    let want: Vec<_> = reference
        .iter()
        .map(Result::unwrap)
        .map(|m| (m.timestamp_us, m.payload.to_vec()))
        .collect();
    for len in 0..valid.len() {
        let err = LogArchive::from_bytes("5_log.npz", valid[..len].to_vec()).expect_err("a truncated archive");
        assert!(err.to_string().starts_with("5_log.npz"), "{err}");
    }
    let mut accepted = 0;
    for i in 0..valid.len() {
        for bit in [0, 3, 7] {
            let mut bytes = valid.clone();
            bytes[i] ^= 1 << bit;
            match LogArchive::from_bytes("5_log.npz", bytes) {
                Ok(archive) => {
                    // Only bytes that do not change the directory: each message reads, or gives an error naming the
                    // archive, the same as `verify_all`'s when it is the first.
                    accepted += 1;
                    assert_eq!(archive.message_count(), want.len());
                    let results: Vec<_> = archive.iter().collect();
                    for m in &results {
                        if let Err(e) = m {
                            assert!(e.to_string().starts_with("5_log.npz"), "{e}");
                        }
                    }
                    let first_err = results.iter().find_map(|m| m.as_ref().err()).map(ToString::to_string);
                    assert_eq!(archive.verify_all().err().map(|e| e.to_string()), first_err);
                }
                Err(e) => assert!(e.to_string().starts_with("5_log.npz"), "{e}"),
            }
        }
    }
    // Payload bytes, CRCs and the like are not checked at open; flips there are accepted (and caught by check_crcs).
    assert!(accepted > 0);
}

#[test]
fn crc_check_catches_a_flipped_payload_byte() {
    let mut bytes = valid_archive();
    let at = bytes.windows(5).position(|w| w == b"hello").unwrap();
    bytes[at] = b'j';
    let archive = LogArchive::from_bytes("5_log.npz", bytes).unwrap();
    assert_eq!(archive.get(0).unwrap().payload, b"jello");
    let err = archive.check_crcs().unwrap_err();
    assert!(
        matches!(err, ArchiveError::Crc { .. }) && err.to_string().contains("005_00000000000000000010.npy"),
        "{err}"
    );
}

#[test]
fn message_count_reads_the_directory_alone() {
    let dir = tempfile::tempdir().unwrap();
    // Entries that are not even npy are counted: only the directory is read, as ataraxis does.
    let path = write(
        dir.path(),
        "odd",
        &zip_of(&[onset_entry(), ("a.npy", vec![]), ("b.npy", vec![1])]),
    );
    assert_eq!(read_archive_message_count(&path).unwrap(), 2);
    let path = write(dir.path(), "garbage", b"garbage");
    let err = read_archive_message_count(&path).unwrap_err();
    assert!(matches!(err, ArchiveError::Zip { .. }) && err.to_string().contains("garbage.npz"));
    assert!(matches!(
        read_archive_message_count(dir.path().join("missing.npz")),
        Err(ArchiveError::Io { .. })
    ));
}

/// The zip variants of the npz_reader seed corpus (written by fuzz/gen_npz_seeds.py from its `valid` seed, issue 24):
/// ZIP64 end records, a ZIP64 offset in a central header and an end-record comment read as the plain archive; a
/// locator outside the file, a missing ZIP64 value and a count the directory cannot hold are zip errors.
#[test]
fn zip64_and_comment_variants_of_the_seed_corpus() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../fuzz/corpus/npz_reader");
    let open = |name: &str| LogArchive::from_bytes("5_log.npz", std::fs::read(dir.join(name)).unwrap());
    let plain = open("valid").unwrap();
    let keys = |a: &LogArchive| a.keys().map(str::to_owned).collect::<Vec<_>>();
    for name in ["zip64_end_records", "zip64_extra_offset", "end_record_comment"] {
        let a = open(name).unwrap_or_else(|e| panic!("{name}: {e}"));
        assert_eq!(keys(&a), keys(&plain), "{name}");
        assert_eq!(a.onset_us(), plain.onset_us(), "{name}");
        assert!(
            a.iter().map(Result::unwrap).eq(plain.iter().map(Result::unwrap)),
            "{name}"
        );
        a.check_crcs().unwrap();
    }
    for name in ["zip64_locator_outside", "zip64_extra_missing", "count_beyond_directory"] {
        let e = open(name).unwrap_err();
        assert!(matches!(e, ArchiveError::Zip { .. }), "{name}: {e}");
    }
}

/// A stored archive of source 5 written by the zip crate: the onset and `count` messages, message `i` at elapsed
/// time `i + 1` with the payload `payload(i)`.
fn big_archive(count: usize) -> Vec<u8> {
    let mut entries = vec![onset_entry()];
    let names: Vec<String> = (0..count).map(|i| format!("005_{:020}.npy", i + 1)).collect();
    for (i, name) in names.iter().enumerate() {
        entries.push((name.as_str(), entry(5, i as u64 + 1, &payload(i))));
    }
    let owned: Vec<(&str, Vec<u8>)> = entries.iter().map(|(n, d)| (*n, d.clone())).collect();
    zip_of(&owned)
}

fn payload(i: usize) -> Vec<u8> {
    format!("payload of message {i:07}").into_bytes()
}

/// The ways [`corrupt`] damages an entry, each found on access.
#[derive(Clone, Copy, Debug)]
enum Damage {
    /// A digit of the local header's name (the central one stays).
    LocalName,
    /// The npy magic.
    NpyMagic,
    /// The source byte of the data.
    Source,
    /// A byte of the timestamp in the data.
    Timestamp,
}

/// Damages message `i` of a [`big_archive`] in `bytes`.
fn corrupt(bytes: &mut [u8], i: usize, damage: Damage) {
    let find = |needle: &[u8]| bytes.windows(needle.len()).position(|w| w == needle).unwrap();
    let at = find(&payload(i)); // the payload, 9 bytes after the data's start
    match damage {
        // The local header's name comes first in the file (the central directory follows the data).
        Damage::LocalName => {
            let name = find(format!("005_{:020}.npy", i + 1).as_bytes());
            bytes[name + 5] ^= 1;
        }
        Damage::NpyMagic => bytes[at - 9 - 128] = b'X', // numpy's 128-byte header for these lengths
        Damage::Source => bytes[at - 9] = 6,
        Damage::Timestamp => bytes[at - 8] ^= 0x40,
    }
}

fn damage_matches(e: &ArchiveError, damage: Damage) -> bool {
    match damage {
        Damage::LocalName => matches!(e, ArchiveError::HeaderMismatch { .. }),
        Damage::NpyMagic => matches!(e, ArchiveError::NotNpy { .. }),
        Damage::Source => matches!(
            e,
            ArchiveError::SourceMismatch {
                expected: 5,
                found: 6,
                ..
            }
        ),
        Damage::Timestamp => matches!(e, ArchiveError::TimestampMismatch { .. }),
    }
}

#[test]
fn a_corrupt_entry_in_the_middle_of_a_big_archive_is_reported_on_access_and_the_rest_reads() {
    const COUNT: usize = 5000;
    for damage in [Damage::LocalName, Damage::NpyMagic, Damage::Source, Damage::Timestamp] {
        let mut bytes = big_archive(COUNT);
        let bad = COUNT / 2 + 3;
        corrupt(&mut bytes, bad, damage);
        let archive = LogArchive::from_bytes("5_log.npz", bytes).unwrap();
        assert_eq!(
            (archive.message_count(), archive.block_checks()),
            (COUNT, 0),
            "{damage:?}"
        );
        // Reading the bad one first checks its block only.
        let err = archive.get(bad).unwrap_err();
        assert!(damage_matches(&err, damage), "{damage:?}: {err}");
        let name = format!("005_{:020}.npy", bad + 1);
        assert!(
            err.to_string().starts_with("5_log.npz") && err.to_string().contains(&name),
            "{err}"
        );
        assert_eq!(archive.block_checks(), 1);
        assert_eq!(
            archive.get(bad).unwrap_err().to_string(),
            err.to_string(),
            "the same every time"
        );
        for (i, m) in archive.iter().enumerate() {
            if i == bad {
                assert_eq!(m.unwrap_err().to_string(), err.to_string());
                continue;
            }
            let m = m.unwrap_or_else(|e| panic!("{damage:?}: message {i}: {e}"));
            assert_eq!((m.timestamp_us, m.payload), (ONSET + i as u64 + 1, &payload(i)[..]));
        }
        let blocks = archive.entry_count().div_ceil(LogArchive::BLOCK);
        assert_eq!(archive.block_checks(), blocks, "each block checked once");
        assert!(damage_matches(&archive.verify_all().unwrap_err(), damage));
        assert!(archive.read_all().is_err());
        assert_eq!(archive.block_checks(), blocks);
    }
}

#[test]
fn threads_reading_at_once_check_each_block_once_and_agree() {
    const COUNT: usize = 6000;
    const THREADS: usize = 4;
    let mut bytes = big_archive(COUNT);
    let damaged = [
        (10, Damage::Timestamp),
        (2_000, Damage::NpyMagic),
        (2_001, Damage::Source),
        (4_321, Damage::LocalName),
    ];
    for (i, damage) in damaged {
        corrupt(&mut bytes, i, damage);
    }
    let archive = LogArchive::from_bytes("5_log.npz", bytes).unwrap();
    let barrier = std::sync::Barrier::new(THREADS);
    // Each thread reads every message in its own order (forwards, backwards, two strides) and records what it got.
    type Seen = Vec<Result<(u64, Vec<u8>), String>>;
    let seen: Vec<Seen> = std::thread::scope(|s| {
        let handles: Vec<_> = (0..THREADS)
            .map(|t| {
                let (archive, barrier) = (&archive, &barrier);
                s.spawn(move || {
                    let order: Vec<usize> = match t {
                        0 => (0..COUNT).collect(),
                        1 => (0..COUNT).rev().collect(),
                        _ => (0..COUNT).map(|i| (i * [0, 0, 7919, 104_729][t]) % COUNT).collect(),
                    };
                    let mut got: Seen = vec![Err(String::new()); COUNT];
                    barrier.wait();
                    for i in order {
                        got[i] = archive
                            .get(i)
                            .map(|m| (m.timestamp_us, m.payload.to_vec()))
                            .map_err(|e| e.to_string());
                    }
                    got
                })
            })
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    });
    let blocks = archive.entry_count().div_ceil(LogArchive::BLOCK);
    assert_eq!(archive.block_checks(), blocks, "every block checked exactly once");
    for other in &seen[1..] {
        assert!(*other == seen[0], "the threads agree");
    }
    for (i, got) in seen[0].iter().enumerate() {
        match damaged.iter().find(|(d, _)| *d == i) {
            Some((_, damage)) => {
                let err = archive.get(i).unwrap_err();
                assert!(damage_matches(&err, *damage), "{damage:?}: {err}");
                assert_eq!(got.as_ref().unwrap_err(), &err.to_string());
            }
            None => assert_eq!(got.as_ref().unwrap(), &(ONSET + i as u64 + 1, payload(i))),
        }
    }
    // `verify_all` reports the first in archive order; run from several threads at once, they agree.
    let first = archive.verify_all().unwrap_err();
    assert!(damage_matches(&first, Damage::Timestamp), "{first}");
    let fresh = LogArchive::from_bytes("5_log.npz", archive.as_bytes().to_vec()).unwrap();
    let errors: Vec<String> = std::thread::scope(|s| {
        let handles: Vec<_> = (0..THREADS)
            .map(|_| s.spawn(|| fresh.verify_all().unwrap_err().to_string()))
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    });
    assert!(errors.iter().all(|e| *e == first.to_string()), "{errors:?}");
    assert_eq!(fresh.block_checks(), blocks);
}

#[test]
fn verify_all_and_open_verified_catch_every_kind_of_entry_corruption() {
    let dir = tempfile::tempdir().unwrap();
    for damage in [Damage::LocalName, Damage::NpyMagic, Damage::Source, Damage::Timestamp] {
        let mut bytes = big_archive(600);
        corrupt(&mut bytes, 599, damage);
        let path = write(dir.path(), "5_log", &bytes);
        let archive = LogArchive::open(&path).unwrap();
        assert!(damage_matches(&archive.verify_all().unwrap_err(), damage), "{damage:?}");
        let err = LogArchive::open_verified(&path).unwrap_err();
        assert!(damage_matches(&err, damage), "{damage:?}: {err}");
        assert!(err.to_string().contains("005_00000000000000000600.npy"), "{err}");
    }
    // The corpus's entry corruptions are each caught too (`every_corrupted_archive_gives_an_error_naming_it`).
    // `open_verified` checks every entry in its one pass over the directory: no block is left to check.
    let valid = LogArchive::open_verified(write(dir.path(), "valid", &big_archive(600))).unwrap();
    assert!(valid.iter().all(|m| m.is_ok()));
    assert_eq!(valid.block_checks(), 0);
}
