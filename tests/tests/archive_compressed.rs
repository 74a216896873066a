//! Archives with deflated members: numpy's `savez_compressed` output (and a mix of stored and deflated members)
//! read back exactly by `LogArchive`; `assemble` with `Compression::Deflated` read back by numpy with the same
//! arrays as the stored output; corrupt deflate data, sizes and CRCs give typed errors naming the entry.

mod archive_support;

use std::collections::BTreeMap;
use std::path::Path;

use archive_support::{assembled_archive, interop, python, reader_view, write_segment, Msg};
use seqring::archive::{assemble_log_archives, ArchiveError, AssembleOptions, Compression, LogArchive};
use seqring_tests::Rng;

const ONSET: u64 = 1_700_000_000_000_000;

/// Messages of sources 3 and 9: random and repetitive payloads, empty ones, duplicates, one of 300 KiB (random:
/// deflate stores it) and one of 1 MiB (repetitive: deflate shrinks it a thousandfold).
fn messages() -> Vec<Msg> {
    let mut rng = Rng::new(23);
    let mut out = vec![Msg::onset(3, ONSET), Msg::onset(9, ONSET + 5)];
    for i in 0..400u64 {
        let source = if i % 3 == 0 { 9 } else { 3 };
        let ts = 10 + i / 2 * 7; // pairs share a timestamp: duplicates
        let payload = match i % 5 {
            0 => {
                let len = rng.below(200) as usize;
                rng.bytes(len)
            }
            1 => vec![],
            2 => format!("frame {i} of the camera, exposure 12 ms").into_bytes(),
            3 => vec![(i % 251) as u8; 64],
            _ => rng.bytes(64),
        };
        out.push(Msg::new(source, ts, payload));
    }
    out.push(Msg::new(3, 100_000, rng.bytes(300 << 10)));
    out.push(Msg::new(3, 100_001, b"0123456789abcdef".repeat(1 << 16)));
    out
}

/// A log directory of `messages()` (two segments).
fn log_dir(dir: &Path) {
    let all = messages();
    let (a, b) = all.split_at(all.len() / 2);
    write_segment(&dir.join("0.seg"), ONSET, &[a.to_vec()]);
    write_segment(&dir.join("1.seg"), ONSET, &[b.to_vec()]);
}

/// Assembles `messages()` in a fresh directory under `root` with `compression`, verified.
fn assemble(root: &Path, name: &str, compression: Compression) -> std::path::PathBuf {
    let dir = root.join(name);
    std::fs::create_dir(&dir).unwrap();
    log_dir(&dir);
    let options = AssembleOptions {
        verify: true,
        compression,
        ..Default::default()
    };
    let report = assemble_log_archives(&dir, &options).unwrap();
    assert_eq!(report.archives.len(), 2);
    dir
}

/// Everything a reader sees of an archive: its source, its onset, and each message's key, timestamp and payload.
type Contents = (u8, u64, Vec<(String, u64, Vec<u8>)>);

/// What a reader sees of `archive`.
fn contents(archive: &LogArchive) -> Contents {
    let messages = archive
        .iter()
        .map(Result::unwrap)
        .zip(archive.keys())
        .map(|(m, k)| (k.to_owned(), m.timestamp_us, m.payload.to_vec()))
        .collect();
    (archive.source_id(), archive.onset_us(), messages)
}

/// The (method, flags) of every central header.
fn methods(bytes: &[u8]) -> Vec<(u16, u16)> {
    signatures(bytes, b"PK\x01\x02")
        .into_iter()
        .map(|c| (u16_at(bytes, c + 10), u16_at(bytes, c + 8)))
        .collect()
}

fn u16_at(b: &[u8], at: usize) -> u16 {
    u16::from_le_bytes([b[at], b[at + 1]])
}

fn signatures(bytes: &[u8], sig: &[u8; 4]) -> Vec<usize> {
    bytes
        .windows(4)
        .enumerate()
        .filter(|(_, w)| w == sig)
        .map(|(i, _)| i)
        .collect()
}

#[test]
fn deflated_assembly_reads_back_as_the_stored_assembly_in_seqring_and_numpy() {
    let root = tempfile::tempdir().unwrap();
    let stored = assemble(root.path(), "stored", Compression::Stored);
    let deflated = assemble(root.path(), "deflated", Compression::DEFLATED);
    let fastest = assemble(root.path(), "level0", Compression::Deflated { level: 0 });
    for source in [3, 9] {
        let name = format!("{source}_log.npz");
        let want = LogArchive::open(stored.join(&name)).unwrap();
        assert_eq!(want.message_count(), if source == 3 { 268 } else { 134 });
        for dir in [&deflated, &fastest] {
            let path = dir.join(&name);
            let bytes = std::fs::read(&path).unwrap();
            let m = methods(&bytes);
            assert_eq!(m.len(), want.entry_count(), "no stray signature in the compressed data");
            assert!(m.iter().all(|&(method, flags)| (method, flags) == (8, 0)), "{m:?}");
            let got = LogArchive::open(&path).unwrap();
            assert_eq!(contents(&got), contents(&want), "{}", path.display());
            got.check_crcs().unwrap();
        }
        let size = |dir: &Path| std::fs::metadata(dir.join(&name)).unwrap().len();
        if source == 3 {
            assert!(
                size(&deflated) * 2 < size(&stored),
                "{} vs {}",
                size(&deflated),
                size(&stored)
            );
        }
        if let Some(py) = python() {
            let a = stored.join(&name);
            for dir in [&deflated, &fastest] {
                let b = dir.join(&name);
                let out = interop(&py, &["same", a.to_str().unwrap(), b.to_str().unwrap()]);
                assert!(out.contains(&format!("deflated 0 and {}", want.entry_count())), "{out}");
                let view = root.path().join("view.json");
                reader_view(&want, &view);
                interop(&py, &["check", b.to_str().unwrap(), view.to_str().unwrap()]);
            }
        }
    }
}

#[test]
fn numpy_savez_compressed_archives_and_mixed_archives_read_back_exactly() {
    let Some(py) = python() else { return };
    let root = tempfile::tempdir().unwrap();
    let stored = assemble(root.path(), "stored", Compression::Stored);
    for source in [3, 9] {
        let name = format!("{source}_log.npz");
        let want = LogArchive::open(stored.join(&name)).unwrap();
        let src = stored.join(&name);
        for mode in ["savez_compressed", "mixed"] {
            let dir = root.path().join(format!("{mode}-{source}"));
            std::fs::create_dir(&dir).unwrap();
            let out = dir.join(&name);
            let mut args = vec!["compress", src.to_str().unwrap(), out.to_str().unwrap()];
            if mode == "mixed" {
                args.push("mixed");
            }
            let said = interop(&py, &args);
            let deflated = if mode == "mixed" {
                want.entry_count() / 2
            } else {
                want.entry_count()
            };
            assert!(said.contains(&format!("{deflated} deflated")), "{said}");
            let got = LogArchive::open(&out).unwrap();
            assert_eq!(contents(&got), contents(&want), "{mode} {name}");
            got.check_crcs().unwrap();
            let lenient = LogArchive::open_lenient(&out).unwrap();
            assert_eq!(contents(&lenient), contents(&want));
            assert_eq!(
                seqring::archive::read_archive_message_count(&out).unwrap(),
                want.message_count()
            );
        }
    }
}

#[test]
fn numpy_savez_compressed_of_more_than_65535_entries_reads_back() {
    let Some(py) = python() else { return };
    let dir = tempfile::tempdir().unwrap();
    let mut batch = vec![Msg::onset(4, ONSET)];
    batch.extend((1..=70_000u64).map(|t| Msg::new(4, t, t.to_le_bytes())));
    write_segment(&dir.path().join("0.seg"), ONSET, &[batch]);
    assemble_log_archives(dir.path(), &AssembleOptions::default()).unwrap();
    let src = dir.path().join("4_log.npz");
    let out = dir.path().join("compressed").join("4_log.npz");
    std::fs::create_dir(out.parent().unwrap()).unwrap();
    interop(&py, &["compress", src.to_str().unwrap(), out.to_str().unwrap()]);
    let want = LogArchive::open(&src).unwrap();
    let got = LogArchive::open(&out).unwrap();
    assert_eq!(got.message_count(), 70_000);
    assert_eq!(contents(&got), contents(&want));
}

/// A deflated archive of source 5: the onset and three messages, and the offsets of each entry's local and central
/// headers.
fn deflated_archive() -> (Vec<u8>, Vec<usize>, Vec<usize>) {
    let messages = vec![
        Msg::onset(5, ONSET),
        Msg::new(5, 10, b"hello hello hello hello hello".to_vec()),
        Msg::new(5, 20, vec![]),
        Msg::new(5, 30, vec![7; 500]),
    ];
    let options = AssembleOptions {
        compression: Compression::DEFLATED,
        ..Default::default()
    };
    let bytes = assembled_archive(5, ONSET, messages, &options);
    let (locals, centrals) = (signatures(&bytes, b"PK\x03\x04"), signatures(&bytes, b"PK\x01\x02"));
    assert_eq!((locals.len(), centrals.len()), (4, 4));
    (bytes, locals, centrals)
}

#[test]
fn corrupt_deflated_members_give_typed_errors_naming_the_entry() {
    let (valid, locals, centrals) = deflated_archive();
    LogArchive::from_bytes("5_log.npz", valid.clone()).unwrap();
    let second = "005_00000000000000000010.npy";
    let data_at = locals[1] + 30 + second.len() + 20;
    let compressed_len = locals[2] - data_at;
    type Check = fn(&ArchiveError) -> bool;
    let mut cases: Vec<(&str, Vec<u8>, Check)> = Vec::new();

    // Not a deflate stream: block type 3 (reserved) in the first header.
    let mut bad_stream = valid.clone();
    bad_stream[data_at] = 0x07;
    cases.push((
        "reserved block type",
        bad_stream,
        |e| matches!(e, ArchiveError::Inflate { reason, .. } if reason.contains("corrupt")),
    ));
    // The stream cut short: the directory says fewer compressed bytes.
    let mut short = valid.clone();
    let c = centrals[1];
    short[c + 20..c + 24].copy_from_slice(&((compressed_len as u32 - 3).to_le_bytes()));
    cases.push(("truncated stream", short, |e| matches!(e, ArchiveError::Inflate { .. })));
    // Declared sizes one more and one less than the data.
    let size = u32::from_le_bytes(valid[c + 24..c + 28].try_into().unwrap());
    let mut larger = valid.clone();
    larger[c + 24..c + 28].copy_from_slice(&(size + 1).to_le_bytes());
    cases.push((
        "declared size + 1",
        larger,
        |e| matches!(e, ArchiveError::Inflate { reason, .. } if reason.contains("not its declared")),
    ));
    let mut smaller = valid.clone();
    smaller[c + 24..c + 28].copy_from_slice(&(size - 1).to_le_bytes());
    cases.push((
        "declared size - 1",
        smaller,
        |e| matches!(e, ArchiveError::Inflate { reason, .. } if reason.contains("more than")),
    ));
    // A size no deflate stream of this length can reach.
    let mut bomb = valid.clone();
    bomb[c + 24..c + 28].copy_from_slice(&0x7fff_0000u32.to_le_bytes());
    cases.push(("impossible size", bomb, |e| matches!(e, ArchiveError::Inflate { .. })));
    // The CRC of other bytes.
    let mut crc = valid.clone();
    crc[c + 16] ^= 0x40;
    cases.push(("crc", crc, |e| matches!(e, ArchiveError::Crc { .. })));
    // Other methods and encryption stay refused.
    let mut bzip2 = valid.clone();
    bzip2[c + 10] = 12;
    cases.push((
        "method 12",
        bzip2,
        |e| matches!(e, ArchiveError::NotStored { what, .. } if what.contains("method 12")),
    ));
    let mut encrypted = valid.clone();
    encrypted[c + 8] |= 1;
    cases.push((
        "encrypted",
        encrypted,
        |e| matches!(e, ArchiveError::NotStored { what, .. } if what == "encrypted"),
    ));

    for (what, bytes, check) in cases {
        let err = LogArchive::from_bytes("5_log.npz", bytes).unwrap_err();
        assert!(check(&err), "{what}: {err:?}");
        let text = err.to_string();
        assert!(text.starts_with("5_log.npz") && text.contains(second), "{what}: {text}");
    }
}

#[test]
fn every_truncation_and_bit_flip_of_a_deflated_archive_is_an_error_or_valid_never_a_panic() {
    let (valid, _, _) = deflated_archive();
    let want = contents(&LogArchive::from_bytes("5_log.npz", valid.clone()).unwrap());
    let mut outcomes = BTreeMap::new();
    for i in 0..valid.len() {
        let _ = LogArchive::from_bytes("5_log.npz", valid[..i].to_vec()).map(|_| panic!("a truncation opened"));
        for flip in [0x01u8, 0x10, 0x80] {
            let mut bytes = valid.clone();
            bytes[i] ^= flip;
            let kind = match LogArchive::from_bytes("5_log.npz", bytes) {
                // Flips of fields the reader does not use (times, attributes, the local copies of sizes) are valid.
                Ok(a) => {
                    assert_eq!(contents(&a), want, "a flip at {i} opened with other contents");
                    "ok".to_owned()
                }
                Err(e) => format!("{e:?}").split([' ', '{', '(']).next().unwrap().to_owned(),
            };
            *outcomes.entry(kind).or_insert(0) += 1;
        }
    }
    for kind in ["Inflate", "Crc", "ok"] {
        assert!(outcomes.contains_key(kind), "{outcomes:?}");
    }
}

#[test]
fn deflated_archives_from_segments_and_from_npy_entries_are_byte_identical() {
    // Entries are deflated by several workers at once, segment entries and `.npy` entries alike: each entry is its
    // own deflate stream, whatever the worker deflated before, so both give the same bytes.
    let root = tempfile::tempdir().unwrap();
    let stored = assemble(root.path(), "stored", Compression::Stored);
    let deflated = assemble(root.path(), "deflated", Compression::DEFLATED);
    let npy = root.path().join("npy");
    std::fs::create_dir(&npy).unwrap();
    for source in [3, 9] {
        let bytes = std::fs::read(stored.join(format!("{source}_log.npz"))).unwrap();
        let mut zip = zip::ZipArchive::new(std::io::Cursor::new(&bytes[..])).unwrap();
        for i in 0..zip.len() {
            let mut entry = zip.by_index(i).unwrap();
            let mut data = Vec::new();
            std::io::Read::read_to_end(&mut entry, &mut data).unwrap();
            let name = entry.name().unwrap().to_string();
            std::fs::write(npy.join(name), data).unwrap();
        }
    }
    let options = AssembleOptions {
        compression: Compression::DEFLATED,
        verify: true,
        ..Default::default()
    };
    assemble_log_archives(&npy, &options).unwrap();
    for source in [3, 9] {
        let name = format!("{source}_log.npz");
        assert!(
            std::fs::read(npy.join(&name)).unwrap() == std::fs::read(deflated.join(&name)).unwrap(),
            "{name}"
        );
    }
}

/// The npz_reader fuzz seed of seqring's own deflate streams (small members: one fixed-code block each; the 500-byte
/// one a run of matches), `fuzz/corpus/npz_reader/deflated_seqring`: it reads back as written. Run with
/// `SEQRING_WRITE_FUZZ_CORPUS=DIR` to write it there.
#[test]
fn the_fuzz_seed_of_seqring_deflated_members_reads_back() {
    let (bytes, _, _) = deflated_archive();
    if let Ok(dir) = std::env::var("SEQRING_WRITE_FUZZ_CORPUS") {
        std::fs::write(Path::new(&dir).join("deflated_seqring"), &bytes).unwrap();
    }
    let seed = Path::new(env!("CARGO_MANIFEST_DIR")).join("../fuzz/corpus/npz_reader/deflated_seqring");
    let seed = std::fs::read(seed).unwrap();
    let archive = LogArchive::from_bytes("5_log.npz", seed).unwrap();
    let payloads: Vec<&[u8]> = archive.iter().map(|m| m.unwrap().payload).collect();
    assert_eq!(payloads, [&b"hello hello hello hello hello"[..], b"", &[7; 500]]);
    archive.check_crcs().unwrap();
}
