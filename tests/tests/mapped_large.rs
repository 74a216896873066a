//! Scale: 10 M `u64` keys to 32-byte records, built into one file, every key looked up. The 10 M test takes more
//! than 10 s even in release, so it runs with `cargo test --release -p seqring-tests --test mapped_large --
//! --ignored`; a 1 M-key version (200 k in debug builds) with both indexes always runs.

use bytemuck::{Pod, Zeroable};
use seqring_mapped::{IdMap, IndexKind, Mapped, Tagged, TypeTag};
use std::time::Instant;

#[derive(Clone, Copy, Debug, PartialEq, Pod, Zeroable)]
#[repr(C)]
struct Rec32 {
    key: u64,
    index: u64,
    square: u64,
    flags: u64,
}

impl Tagged for Rec32 {
    const TAG: TypeTag = TypeTag::record::<Rec32>("seqring-tests::Rec32/v1");
}

/// Sparse, non-sequential ids.
fn key(i: u64) -> u64 {
    i.wrapping_mul(0x9e37_79b9_7f4a_7c15) ^ 0x5bd1_e995
}

fn rec(i: u64) -> Rec32 {
    Rec32 {
        key: key(i),
        index: i,
        square: i.wrapping_mul(i),
        flags: i % 7,
    }
}

fn run(n: u64, index: IndexKind) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("big.map");
    let t = Instant::now();
    let built = IdMap::<u64, Rec32>::builder(&path)
        .index(index)
        .build((0..n).map(|i| (key(i), rec(i))))
        .unwrap();
    let build = t.elapsed();
    assert_eq!(built.index_kind(), index);
    drop(built);
    let t = Instant::now();
    let map = IdMap::<u64, Rec32>::open(&path).unwrap();
    let open = t.elapsed();
    assert_eq!(map.len() as u64, n);
    let t = Instant::now();
    for i in 0..n {
        let r = map.get(&key(i));
        assert_eq!(r, Some(&rec(i)), "key {i}");
    }
    let lookups = t.elapsed();
    // Keys that were never inserted miss.
    for i in n..n + n / 10 {
        assert_eq!(map.get(&key(i)), None, "absent key {i}");
    }
    let file_len = std::fs::metadata(&path).unwrap().len();
    println!(
        "{n} keys, {index:?}: build {build:?}, open {open:?}, {} ns/lookup, {:.1} bytes/key",
        lookups.as_nanos() / u128::from(n),
        file_len as f64 / n as f64
    );
}

#[test]
fn mapped_id_map_1m_u64_to_32_byte_records_both_indexes() {
    let n = if cfg!(debug_assertions) { 200_000 } else { 1_000_000 };
    run(n, IndexKind::Sorted);
    run(n, IndexKind::PerfectHash);
}

#[test]
#[ignore = "about 15 s in release on a loaded 2-core machine; run with --release -- --ignored"]
fn mapped_id_map_10m_u64_to_32_byte_records() {
    run(10_000_000, IndexKind::default());
}
