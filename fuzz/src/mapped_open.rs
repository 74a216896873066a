//! Mapped files: `open` + lookups + `verify` of every structure over arbitrary bytes.
//!
//! Input: one mode byte, then the file. With mode bit 0 set, the target first "reseals" the file as a forger would
//! (header length field, every section checksum and the header checksum recomputed), so that the fuzzer gets past
//! the checksums and exercises the structural checks and the lookups behind them.
//!
//! Properties checked: nothing panics; an opened structure's sizes fit in the file; after `verify` succeeds every
//! index is readable, and every key an id map iterates is found by `get_all` with the same records.

use seqring_mapped::{
    inspect, HashedStr, IdMap, IdRows, Mapped, MappedArray, MappedBytes, MappedRecords, MappedRows, MappedStrs,
};
use std::path::{Path, PathBuf};

fn scratch() -> PathBuf {
    std::env::temp_dir().join(format!(
        "seqring-fuzz-mapped-{}-{:?}",
        std::process::id(),
        std::thread::current().id()
    ))
}

/// Sets the length field to the file's length, then recomputes every checksum with the library's own
/// [`seqring_mapped::reseal`] (docs/FORMATS.md, "Mapped files"), so the fuzzer gets past the checksums.
pub fn reseal(b: &mut [u8]) {
    if b.len() >= 256 {
        let len = b.len() as u64;
        b[16..24].copy_from_slice(&len.to_le_bytes());
    }
    let _ = seqring_mapped::reseal(b);
}

/// Runs one input.
pub fn fuzz(data: &[u8]) {
    let Some((&mode, body)) = data.split_first() else {
        return;
    };
    let mut bytes = body.to_vec();
    if mode & 1 == 1 {
        reseal(&mut bytes);
    }
    let path = scratch();
    if std::fs::write(&path, &bytes).is_ok() {
        check(&path, bytes.len() as u64, body);
    }
    let _ = std::fs::remove_file(&path);
}

fn check(path: &Path, file_len: u64, body: &[u8]) {
    if let Ok(info) = inspect(path) {
        assert_eq!(info.file_len, file_len);
    }
    let words: Vec<u64> = body
        .chunks(8)
        .map(|c| c.iter().rev().fold(0u64, |a, &b| (a << 8) | u64::from(b)))
        .take(64)
        .collect();

    if let Ok(a) = MappedArray::<u64>::open(path) {
        assert!(256 + a.len() as u64 * 8 <= file_len);
        let _ = a.iter().fold(0u64, |s, &x| s.wrapping_add(x));
        let _ = a.verify();
    }
    // Whatever tag the file holds (the Python binding's way in).
    if let Ok(r) = MappedRows::open(path) {
        let size = r.tag().size as usize;
        assert!(256 + (r.len() * size) as u64 <= file_len);
        assert_eq!(r.as_bytes().len(), r.len() * size);
        assert!((0..r.len()).all(|i| r.row(i).is_some_and(|row| row.len() == size)));
        assert!(r.row(r.len()).is_none());
        let _ = r.verify();
    }
    if let Ok(m) = IdRows::<u64>::open(path) {
        let size = m.tag().size as usize;
        for k in words.iter().chain(&[0, 1, 11, 22, u64::MAX]) {
            let r = m.positions(k);
            assert!(r.end <= m.row_count());
            assert_eq!(m.get(k).is_some(), !r.is_empty());
        }
        assert_eq!(m.rows().len(), m.row_count() * size);
        if m.verify().is_ok() {
            let iterated: Vec<(u64, std::ops::Range<usize>)> = m.iter().collect();
            assert_eq!(iterated.len(), m.len());
            for (k, r) in iterated {
                assert_eq!(m.positions(&k), r, "key {k}");
            }
        }
    }
    if let Ok(m) = IdRows::<str>::open(path) {
        for k in ["", "k0", "k1", "a", "k39"] {
            let _ = m.get(k);
        }
        let _ = m.iter().count();
        let _ = m.verify();
    }
    if let Ok(b) = MappedBytes::open(path) {
        let total: usize = (0..b.len() + 2).filter_map(|i| b.get(i)).map(<[u8]>::len).sum();
        assert!(total as u64 <= file_len);
        assert_eq!(b.iter().count(), b.len());
        if b.verify().is_ok() {
            assert!((0..b.len()).all(|i| b.get(i).is_some()));
        }
    }
    if let Ok(s) = MappedStrs::open(path) {
        let _ = (0..s.len() + 2).filter_map(|i| s.get(i)).count();
        if s.verify().is_ok() {
            assert!((0..s.len()).all(|i| s.get(i).is_some()));
        }
    }
    if let Ok(r) = MappedRecords::<[u32; 2]>::open(path) {
        assert!(256 + r.len() as u64 * 8 <= file_len);
        let _ = r.iter().count();
        let _ = r.get_with_tail(r.len());
        if r.verify().is_ok() {
            assert!((0..r.len()).all(|i| r.get_with_tail(i).is_some()));
        }
    }
    if let Ok(m) = IdMap::<u64, u64>::open(path) {
        for k in words.iter().chain(&[0, 1, 11, 22, u64::MAX]) {
            let all = m.get_all(k);
            assert_eq!(m.get(k), all.first());
            let _ = m.get_all_with_tails(k).count();
            let _ = m.get_with_tail(k);
        }
        let iterated: Vec<(u64, Vec<u64>)> = m.iter().map(|(k, v)| (k, v.to_vec())).collect();
        if m.verify().is_ok() {
            assert_eq!(iterated.len(), m.len());
            for (k, v) in &iterated {
                assert_eq!(m.get_all(k), &v[..], "key {k}");
            }
        }
    }
    if let Ok(m) = IdMap::<str, u64>::open(path) {
        for k in ["", "k0", "k1", "a", "k39"] {
            let _ = m.get_with_tail(k);
            let _ = m.get_all(k);
        }
        let iterated: Vec<(String, Vec<u64>)> = m.iter().map(|(k, v)| (k.to_owned(), v.to_vec())).collect();
        if m.verify().is_ok() {
            assert_eq!(iterated.len(), m.len());
            for (k, v) in &iterated {
                assert_eq!(m.get_all(k), &v[..], "key {k:?}");
            }
        }
    }
    if let Ok(m) = IdMap::<HashedStr, u64>::open(path) {
        for k in ["", "k0", "k1", "a"] {
            let _ = m.get(k);
        }
        let n = m.iter().count();
        if m.verify().is_ok() {
            assert_eq!(n, m.len());
        }
    }
}

/// Valid files of every structure, as `(name, input)` with the mode byte first, to seed the corpus.
pub fn seeds(dir: &Path) -> Vec<(String, Vec<u8>)> {
    use seqring_mapped::IndexKind;
    let p = |n: &str| dir.join(n);
    let tail = |i: u64| vec![i as u8; (i % 3) as usize];
    MappedArray::<u64>::build((0..5u64).map(|i| i * 3), p("array")).unwrap();
    MappedBytes::build((0..6u64).map(tail), p("bytes")).unwrap();
    MappedStrs::build(["k0", "", "k2"], p("strs")).unwrap();
    MappedRecords::<[u32; 2]>::build_with_tails((0..4u64).map(|i| ([i as u32, 7], tail(i))), p("records")).unwrap();
    for (name, index) in [("map_sorted", IndexKind::Sorted), ("map_phf", IndexKind::PerfectHash)] {
        let mut b = IdMap::<u64, u64>::builder(p(name)).index(index).multi(true);
        for i in 0..9u64 {
            b.insert_with_tail(&(i % 6 * 11), &i, &tail(i)).unwrap();
        }
        b.finish().unwrap();
    }
    IdMap::<str, u64>::builder(p("map_str"))
        .index(IndexKind::Sorted)
        .build((0..5u64).map(|i| (format!("k{i}"), i)))
        .unwrap();
    IdMap::<str, u64>::build((0..5u64).map(|i| (format!("k{i}"), i)), p("map_str_phf")).unwrap();
    IdMap::<HashedStr, u64>::build((0..5u64).map(|i| (format!("k{i}"), i)), p("map_hashed")).unwrap();
    let mut out = Vec::new();
    for name in [
        "array",
        "bytes",
        "strs",
        "records",
        "map_sorted",
        "map_phf",
        "map_str",
        "map_str_phf",
        "map_hashed",
    ] {
        let file = std::fs::read(p(name)).unwrap();
        for mode in [0u8, 1] {
            let mut input = vec![mode];
            input.extend_from_slice(&file);
            out.push((format!("{name}-{mode}"), input));
        }
    }
    out
}
