//! Truncated, bit-flipped, extended, foreign and wrong-type files give typed errors; corruption that `open` cannot
//! see in O(1) is caught by `verify`, and lookups on such a file never panic.
//!
//! The sweeps try every length and every byte; on Windows, where they run under wine and each try (a file
//! replaced and mapped) costs ~1 ms, every 11th (`seqring_tests::rounds`: a tenth, odd so the flipped bit still
//! visits all eight positions).

use seqring_mapped::{
    HashedStr, IdMap, IndexKind, Mapped, MappedArray, MappedBytes, MappedError, MappedRecords, MappedStrs,
};
use std::fs;
use std::path::{Path, PathBuf};

/// The structures under test, each built small, with a checker that opens the file and compares every value with
/// the generating formula. The checker returns `Err` if open or verify fails, `Ok(true)` if every value matched.
#[derive(Clone, Copy, Debug)]
enum Kind {
    Array,
    Bytes,
    Strs,
    Records,
    MapSorted,
    MapPhf,
    MapStr,
    MapHashed,
}

const ALL: [Kind; 8] = [
    Kind::Array,
    Kind::Bytes,
    Kind::Strs,
    Kind::Records,
    Kind::MapSorted,
    Kind::MapPhf,
    Kind::MapStr,
    Kind::MapHashed,
];
const N: u64 = 40;

/// The positions `0..len` a sweep tries: all of them, or on Windows every `len / rounds(len)`-th, made odd.
fn swept(len: usize) -> std::iter::StepBy<std::ops::Range<usize>> {
    let step = len / seqring_tests::rounds(len as u64).max(1) as usize;
    (0..len).step_by(step.max(1) | 1)
}

fn tail(i: u64) -> Vec<u8> {
    vec![i as u8; (i % 4) as usize]
}

fn key(i: u64) -> String {
    format!("k{i}")
}

fn build(kind: Kind, dir: &Path) -> PathBuf {
    let p = dir.join(format!("{kind:?}"));
    match kind {
        Kind::Array => drop(MappedArray::<u64>::build((0..N).map(|i| i * 3), &p).unwrap()),
        Kind::Bytes => drop(MappedBytes::build((0..N).map(tail), &p).unwrap()),
        Kind::Strs => drop(MappedStrs::build((0..N).map(key), &p).unwrap()),
        Kind::Records => {
            drop(MappedRecords::<[u32; 2]>::build_with_tails((0..N).map(|i| ([i as u32, 7], tail(i))), &p).unwrap())
        }
        Kind::MapSorted | Kind::MapPhf => {
            let index = if let Kind::MapSorted = kind {
                IndexKind::Sorted
            } else {
                IndexKind::PerfectHash
            };
            let mut b = IdMap::<u64, u64>::builder(&p).index(index).multi(true);
            for i in 0..N {
                b.insert_with_tail(&(i * 11), &(i + 1), &tail(i)).unwrap();
            }
            drop(b.finish().unwrap())
        }
        Kind::MapStr => drop(IdMap::<str, u64>::build((0..N).map(|i| (key(i), i)), &p).unwrap()),
        Kind::MapHashed => drop(IdMap::<HashedStr, u64>::build((0..N).map(|i| (key(i), i)), &p).unwrap()),
    }
    p
}

/// Opens without verifying, runs every lookup (which must not panic), then verifies.
/// Returns (open result, all values as built, verify result).
fn exercise(kind: Kind, p: &Path) -> Result<(bool, Result<(), MappedError>), MappedError> {
    Ok(match kind {
        Kind::Array => {
            let a = MappedArray::<u64>::open(p)?;
            let ok = a.len() as u64 == N && a.iter().enumerate().all(|(i, &v)| v == i as u64 * 3);
            (ok, a.verify())
        }
        Kind::Bytes => {
            let b = MappedBytes::open(p)?;
            let ok =
                b.len() as u64 == N && (0..N + 3).all(|i| b.get(i as usize) == (i < N).then(|| tail(i)).as_deref());
            let _ = b.iter().count();
            (ok, b.verify())
        }
        Kind::Strs => {
            let s = MappedStrs::open(p)?;
            let ok = s.len() as u64 == N && (0..N + 3).all(|i| s.get(i as usize) == (i < N).then(|| key(i)).as_deref());
            let _ = s.iter().count();
            (ok, s.verify())
        }
        Kind::Records => {
            let r = MappedRecords::<[u32; 2]>::open(p)?;
            let ok = r.len() as u64 == N
                && (0..N + 3).all(|i| {
                    r.get_with_tail(i as usize).map(|(a, b)| (*a, b.to_vec()))
                        == (i < N).then(|| ([i as u32, 7], tail(i)))
                });
            let _ = r.iter().count();
            (ok, r.verify())
        }
        Kind::MapSorted | Kind::MapPhf => {
            let m = IdMap::<u64, u64>::open(p)?;
            let ok = m.len() as u64 == N
                && (0..N * 11 + 3).all(|k| {
                    let want = (k % 11 == 0 && k < N * 11).then(|| (k / 11 + 1, tail(k / 11)));
                    m.get_with_tail(&k).map(|(r, t)| (*r, t.to_vec())) == want
                        && m.get_all(&k).len() == usize::from(want.is_some())
                });
            let _ = m.iter().count();
            let _ = m.get_all_with_tails(&0).count();
            (ok, m.verify())
        }
        Kind::MapStr => {
            let m = IdMap::<str, u64>::open(p)?;
            let ok = (0..N + 3).all(|i| m.get(&key(i)) == (i < N).then_some(&i)) && m.get("").is_none();
            let _ = m.iter().count();
            (ok, m.verify())
        }
        Kind::MapHashed => {
            let m = IdMap::<HashedStr, u64>::open(p)?;
            let ok = (0..N + 3).all(|i| m.get(&key(i)) == (i < N).then_some(&i));
            let _ = m.iter().count();
            (ok, m.verify())
        }
    })
}

#[test]
fn mapped_files_round_trip_before_corruption() {
    let dir = tempfile::tempdir().unwrap();
    for kind in ALL {
        let p = build(kind, dir.path());
        let (ok, verified) = exercise(kind, &p).unwrap();
        assert!(ok, "{kind:?}");
        verified.unwrap();
    }
}

#[test]
fn mapped_truncated_and_extended_files_are_rejected() {
    let dir = tempfile::tempdir().unwrap();
    for kind in ALL {
        let p = build(kind, dir.path());
        let bytes = fs::read(&p).unwrap();
        let q = dir.path().join("cut");
        for len in swept(bytes.len()).rev() {
            put(&q, &bytes[..len]);
            match exercise(kind, &q) {
                Err(MappedError::TooShort { len: l, .. }) if len < 256 => assert_eq!(l, len as u64),
                Err(MappedError::LengthMismatch { expected, actual, .. }) if len >= 256 => {
                    assert_eq!((expected, actual), (bytes.len() as u64, len as u64))
                }
                other => panic!("{kind:?} truncated to {len}: {other:?}"),
            }
        }
        let mut longer = bytes.clone();
        longer.push(0);
        put(&q, &longer);
        assert!(
            matches!(exercise(kind, &q), Err(MappedError::LengthMismatch { .. })),
            "{kind:?}"
        );
    }
}

#[test]
fn mapped_every_bit_flip_is_detected() {
    let dir = tempfile::tempdir().unwrap();
    for kind in ALL {
        let p = build(kind, dir.path());
        let bytes = fs::read(&p).unwrap();
        let q = dir.path().join("flip");
        let (mut header_errors, mut verify_errors) = (0, 0);
        let tried = swept(bytes.len());
        let header_tries = tried.clone().filter(|&at| at < 256).count();
        let body_tries = tried.len() - header_tries;
        for at in tried {
            let mut c = bytes.clone();
            c[at] ^= 1 << (at % 8);
            put(&q, &c);
            match exercise(kind, &q) {
                Err(e) if at < 256 => {
                    let header = matches!(
                        e,
                        MappedError::HeaderChecksum { .. }
                            | MappedError::BadMagic { .. }
                            | MappedError::UnsupportedVersion { .. }
                    );
                    assert!(header, "{kind:?}@{at}: {e}");
                    header_errors += 1;
                }
                // O(1) checks at open also catch flips in the first and last offsets or entries.
                Err(e) => {
                    assert!(matches!(e, MappedError::Corrupt { .. }), "{kind:?}@{at}: {e}");
                    verify_errors += 1;
                }
                // A flip in a section fails its checksum; one in the zero padding between sections, which no
                // checksum covers, fails verify's padding check.
                Ok((_, Err(e))) => {
                    assert!(
                        matches!(e, MappedError::SectionChecksum { .. } | MappedError::Corrupt { .. }),
                        "{kind:?}@{at}: {e}"
                    );
                    verify_errors += 1;
                }
                Ok((_, Ok(()))) => panic!("{kind:?}: flip at {at} passed verify"),
            }
        }
        assert_eq!(header_errors, header_tries, "{kind:?}");
        assert_eq!(verify_errors, body_tries, "{kind:?}");
    }
}

/// Replaces `path` with `bytes` (remove + create: rewriting by truncation makes ext4 flush to disk on close).
fn put(path: &Path, bytes: &[u8]) {
    let _ = fs::remove_file(path);
    fs::write(path, bytes).unwrap();
}

/// Rewrites the header checksum (xxh3-64 of bytes 0..248, docs/FORMATS.md) after editing header fields.
fn reseal(b: &mut [u8]) {
    let sum = xxhash_rust::xxh3::xxh3_64(&b[..248]);
    b[248..256].copy_from_slice(&sum.to_le_bytes());
}

#[test]
fn mapped_forged_headers_give_typed_errors() {
    let dir = tempfile::tempdir().unwrap();
    let p = build(Kind::MapPhf, dir.path());
    let bytes = fs::read(&p).unwrap();
    let q = dir.path().join("forged");
    let try_open = |b: &[u8]| {
        put(&q, b);
        IdMap::<u64, u64>::open(&q).map(drop)
    };
    let edit = |at: usize, val: &[u8]| {
        let mut b = bytes.clone();
        b[at..at + val.len()].copy_from_slice(val);
        reseal(&mut b);
        b
    };
    assert!(try_open(&bytes).is_ok());
    assert!(matches!(
        try_open(&edit(8, &2u16.to_le_bytes())),
        Err(MappedError::UnsupportedVersion { found: 2, .. })
    ));
    assert!(matches!(
        try_open(&edit(10, &9u16.to_le_bytes())),
        Err(MappedError::Corrupt { .. })
    ));
    assert!(matches!(
        try_open(&edit(10, &1u16.to_le_bytes())),
        Err(MappedError::WrongKind { .. })
    ));
    assert!(matches!(
        try_open(&edit(32, &4u32.to_le_bytes())),
        Err(MappedError::WrongType { .. })
    ));
    assert!(matches!(
        try_open(&edit(40, &(N + 1).to_le_bytes())),
        Err(MappedError::Corrupt { .. })
    ));
    assert!(matches!(
        try_open(&edit(48, &(N + 1).to_le_bytes())),
        Err(MappedError::Corrupt { .. })
    ));
    assert!(matches!(try_open(&edit(56, &[2])), Err(MappedError::WrongKeys { .. })));
    assert!(matches!(try_open(&edit(56, &[9])), Err(MappedError::Corrupt { .. })));
    assert!(matches!(try_open(&edit(57, &[7])), Err(MappedError::Corrupt { .. })));
    // Section 0 (records) offset moved off its 64-byte alignment, or its length grown past the file.
    let off0 = u64::from_le_bytes(bytes[64..72].try_into().unwrap());
    assert!(matches!(
        try_open(&edit(64, &(off0 + 8).to_le_bytes())),
        Err(MappedError::Corrupt { .. })
    ));
    assert!(matches!(
        try_open(&edit(72, &u64::MAX.to_le_bytes())),
        Err(MappedError::Corrupt { .. })
    ));
    assert!(matches!(try_open(&edit(232, &[1])), Err(MappedError::Corrupt { .. })));
    assert!(matches!(
        try_open(&b"not a mapped file: ".repeat(20)),
        Err(MappedError::BadMagic { .. })
    ));
    assert!(matches!(try_open(b""), Err(MappedError::TooShort { len: 0, .. })));
    assert!(matches!(
        IdMap::<u64, u64>::open(dir.path()),
        Err(MappedError::Io { .. })
    ));
    assert!(matches!(
        IdMap::<u64, u64>::open(dir.path().join("missing")),
        Err(MappedError::Io { .. })
    ));
}

#[test]
fn mapped_resealed_random_corruption_never_panics() {
    // Corrupt bytes past the header and then fix every checksum, as an adversary would: open and verify may
    // accept the file, and lookups may return wrong values, but nothing may panic or read out of bounds.
    let dir = tempfile::tempdir().unwrap();
    let mut rng = seqring_tests::Rng::new(0x9e37_79b9_7f4a_7c15);
    let rounds = seqring_tests::rounds(if cfg!(debug_assertions) { 200 } else { 1000 });
    for kind in ALL {
        let p = build(kind, dir.path());
        let bytes = fs::read(&p).unwrap();
        let q = dir.path().join("sealed");
        for _ in 0..rounds {
            let mut c = bytes.clone();
            for _ in 0..1 + rng.next_u64() % 4 {
                let at = 256 + (rng.next_u64() as usize) % (c.len() - 256);
                c[at] = rng.next_u64() as u8;
            }
            for s in 0..7 {
                let e = 64 + 24 * s;
                let off = u64::from_le_bytes(c[e..e + 8].try_into().unwrap()) as usize;
                let len = u64::from_le_bytes(c[e + 8..e + 16].try_into().unwrap()) as usize;
                if off != 0 {
                    let sum = xxhash_rust::xxh3::xxh3_64(&c[off..off + len]);
                    c[e + 16..e + 24].copy_from_slice(&sum.to_le_bytes());
                }
            }
            reseal(&mut c);
            put(&q, &c);
            if let Err(e) = exercise(kind, &q) {
                assert!(matches!(e, MappedError::Corrupt { .. }), "{kind:?}: {e}");
            }
        }
    }
}
