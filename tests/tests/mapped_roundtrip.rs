//! Round trips of every mapped structure through a fresh `open`, with expected values computed from the generating
//! formulas, plus multi-map, approximate-map and empty-collection semantics.

use bytemuck::{Pod, Zeroable};
use seqring_mapped::{
    inspect, FileKind, HashedStr, IdMap, IndexKind, Mapped, MappedArray, MappedBytes, MappedError, MappedRecords,
    MappedStrs, Tagged, TypeTag,
};
use std::collections::HashMap;
use std::path::Path;

#[derive(Clone, Copy, Debug, PartialEq, Pod, Zeroable)]
#[repr(C)]
struct Rec {
    id: u64,
    square: u64,
    half: f64,
    tag: [u8; 8],
}

impl Tagged for Rec {
    const TAG: TypeTag = TypeTag::record::<Rec>("seqring-tests::Rec/v1");
}

fn rec(i: u64) -> Rec {
    Rec {
        id: i,
        square: i.wrapping_mul(i),
        half: i as f64 / 2.0,
        tag: [(i as u8).wrapping_mul(7); 8],
    }
}

fn bytes_item(i: usize) -> Vec<u8> {
    (0..i % 13).map(|k| (i * 31 + k) as u8).collect()
}

#[test]
fn mapped_array_round_trips_for_each_dtype() {
    let dir = tempfile::tempdir().unwrap();
    fn check<T: Tagged + PartialEq + std::fmt::Debug>(dir: &Path, name: &str, items: Vec<T>) {
        let p = dir.join(name);
        MappedArray::<T>::build(&items, &p).unwrap();
        let a = MappedArray::<T>::open_verified(&p).unwrap();
        assert_eq!(a.as_slice(), &items[..], "{name}");
        let info = inspect(&p).unwrap();
        assert_eq!(
            (info.kind, info.tag, info.count),
            (FileKind::Array, T::TAG, items.len() as u64)
        );
        // The data section starts at byte 256 and the file is header + data.
        assert_eq!(
            std::fs::metadata(&p).unwrap().len(),
            256 + (items.len() * std::mem::size_of::<T>()) as u64
        );
    }
    check(dir.path(), "u8", (0..1000u32).map(|i| (i % 251) as u8).collect());
    check(dir.path(), "i16", (0..1000).map(|i: i16| i.wrapping_mul(-77)).collect());
    check(dir.path(), "f32", (0..1000).map(|i| i as f32 * 0.25).collect());
    check(dir.path(), "f64", (0..1000).map(|i| -(i as f64)).collect());
    check(dir.path(), "u64x3", (0..1000u64).map(|i| [i, i + 1, i + 2]).collect());
    check(dir.path(), "rec", (0..1000).map(rec).collect());
    check(dir.path(), "empty", Vec::<u32>::new());
}

#[test]
fn mapped_array_streams_more_than_its_buffer() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("big");
    let n = 3_000_000u64; // 24 MB: several writer buffers
    let a = MappedArray::<u64>::build((0..n).map(|i| i ^ 0x5555), &p).unwrap();
    assert_eq!(a.len() as u64, n);
    assert!(a.iter().enumerate().all(|(i, &v)| v == i as u64 ^ 0x5555));
    a.verify().unwrap();
}

#[test]
fn mapped_bytes_strs_records_round_trip() {
    let dir = tempfile::tempdir().unwrap();
    let n = 50_000;
    let b = MappedBytes::build((0..n).map(bytes_item), dir.path().join("b")).unwrap();
    drop(b);
    let b = MappedBytes::open_verified(dir.path().join("b")).unwrap();
    assert_eq!(b.len(), n);
    for i in 0..n {
        assert_eq!(b.get(i).unwrap(), &bytes_item(i)[..]);
    }
    assert_eq!(b.get(n), None);
    assert_eq!(b.blob().len(), (0..n).map(|i| i % 13).sum::<usize>());

    let words: Vec<String> = (0..n).map(|i| format!("trial-{i}-ü")).collect();
    MappedStrs::build(&words, dir.path().join("s")).unwrap();
    let s = MappedStrs::open_verified(dir.path().join("s")).unwrap();
    assert!(s.iter().eq(words.iter().map(String::as_str)));

    let items = (0..n as u64).map(|i| (rec(i), bytes_item(i as usize)));
    MappedRecords::<Rec>::build_with_tails(items, dir.path().join("r")).unwrap();
    let r = MappedRecords::<Rec>::open_verified(dir.path().join("r")).unwrap();
    assert_eq!(r.len(), n);
    for (i, (record, tail)) in r.iter().enumerate() {
        assert_eq!(*record, rec(i as u64));
        assert_eq!(tail, &bytes_item(i)[..]);
    }
}

#[test]
fn mapped_empty_collections() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    assert!(MappedArray::<f64>::build(Vec::<f64>::new(), d.join("a"))
        .unwrap()
        .is_empty());
    assert!(MappedBytes::build(Vec::<Vec<u8>>::new(), d.join("b"))
        .unwrap()
        .is_empty());
    assert!(MappedStrs::build(Vec::<String>::new(), d.join("s")).unwrap().is_empty());
    assert!(MappedRecords::<Rec>::build(Vec::<Rec>::new(), d.join("r"))
        .unwrap()
        .is_empty());
    for index in [IndexKind::Sorted, IndexKind::PerfectHash] {
        let m = IdMap::<u64, Rec>::builder(d.join("m"))
            .index(index)
            .build(Vec::<(u64, Rec)>::new())
            .unwrap();
        assert!(m.is_empty());
        assert_eq!(m.get(&0), None);
        assert_eq!(m.iter().count(), 0);
        m.verify().unwrap();
        let s = IdMap::<str, u8>::builder(d.join("ms"))
            .index(index)
            .build(Vec::<(&str, u8)>::new())
            .unwrap();
        assert_eq!(s.get(""), None);
        s.verify().unwrap();
        let h = IdMap::<HashedStr, u8>::builder(d.join("mh"))
            .index(index)
            .build(Vec::<(&str, u8)>::new())
            .unwrap();
        assert_eq!(h.get("x"), None);
        h.verify().unwrap();
    }
    for name in ["a", "b", "s", "r", "m", "ms", "mh"] {
        assert!(inspect(d.join(name)).is_ok(), "{name}");
    }
}

#[test]
fn mapped_id_map_u64_and_string_keys_match_a_hashmap() {
    let dir = tempfile::tempdir().unwrap();
    let n = 100_000u64;
    // Sparse, clustered and extreme ids.
    let ids: Vec<u64> = (0..n)
        .map(|i| if i % 3 == 0 { i << 40 } else { u64::MAX - i * 977 })
        .collect();
    let expect: HashMap<u64, Rec> = ids.iter().map(|&id| (id, rec(id))).collect();
    assert_eq!(expect.len(), n as usize);
    for index in [IndexKind::Sorted, IndexKind::PerfectHash] {
        let p = dir.path().join(format!("u64-{index:?}"));
        IdMap::<u64, Rec>::builder(&p)
            .index(index)
            .build(ids.iter().map(|&id| (id, rec(id))))
            .unwrap();
        let m = IdMap::<u64, Rec>::open_verified(&p).unwrap();
        assert_eq!(m.index_kind(), index);
        assert_eq!(
            (m.len(), m.record_count(), m.is_multi()),
            (n as usize, n as usize, false)
        );
        for (id, r) in &expect {
            assert_eq!(m.get(id), Some(r));
        }
        for miss in [1u64, 2, 5 << 40 | 1, 12345678] {
            assert_eq!(m.get(&miss), None, "{miss}");
        }
        let seen: HashMap<u64, Rec> = m.iter().map(|(k, rs)| (k, rs[0])).collect();
        assert_eq!(seen, expect);

        let p = dir.path().join(format!("str-{index:?}"));
        let keys: Vec<String> = ids.iter().map(|id| format!("mouse/{id:x}")).collect();
        IdMap::<str, u64>::builder(&p)
            .index(index)
            .build(keys.iter().zip(ids.iter()))
            .unwrap();
        let m = IdMap::<str, u64>::open_verified(&p).unwrap();
        for (k, id) in keys.iter().zip(&ids) {
            assert_eq!(m.get(k), Some(id));
        }
        assert_eq!(m.get("mouse/"), None);
        assert_eq!(m.get("mouse/0 "), None);
        let mut from_iter: Vec<(String, u64)> = m.iter().map(|(k, v)| (k.to_owned(), v[0])).collect();
        from_iter.sort_unstable();
        let mut want: Vec<(String, u64)> = keys.iter().cloned().zip(ids.iter().copied()).collect();
        want.sort_unstable();
        assert_eq!(from_iter, want);
    }
}

#[test]
fn mapped_multi_map_keeps_every_record_in_insertion_order() {
    let dir = tempfile::tempdir().unwrap();
    // key k has k % 5 + 1 records, inserted interleaved with other keys.
    let mut items = Vec::new();
    for round in 0..5u64 {
        for k in 0..2000u64 {
            if round <= k % 5 {
                items.push((k, [k, round]));
            }
        }
    }
    for index in [IndexKind::Sorted, IndexKind::PerfectHash] {
        let p = dir.path().join(format!("{index:?}"));
        let m = IdMap::<u64, [u64; 2]>::builder(&p)
            .multi(true)
            .index(index)
            .build(items.iter().copied())
            .unwrap();
        m.verify().unwrap();
        assert!(m.is_multi());
        assert_eq!((m.len(), m.record_count()), (2000, items.len()));
        for k in 0..2000u64 {
            let want: Vec<[u64; 2]> = (0..=k % 5).map(|round| [k, round]).collect();
            assert_eq!(m.get_all(&k), &want[..]);
            assert_eq!(m.get(&k), Some(&[k, 0]));
        }
        assert!(m.get_all(&2000).is_empty());
        assert!(!m.contains_key(&5000));
    }
    // Strings with tails in a multi-map.
    let p = dir.path().join("tails");
    let mut b = IdMap::<str, u32>::builder(&p).multi(true);
    b.insert_with_tail("a", &1, b"one").unwrap();
    b.insert("b", &2).unwrap();
    b.insert_with_tail("a", &3, b"three").unwrap();
    let m = b.finish().unwrap();
    let a: Vec<(u32, Vec<u8>)> = m.get_all_with_tails("a").map(|(r, t)| (*r, t.to_vec())).collect();
    assert_eq!(a, vec![(1, b"one".to_vec()), (3, b"three".to_vec())]);
    assert_eq!(m.get_with_tail("b"), Some((&2, &b""[..])));
    assert!(m.has_tails());
}

#[test]
fn mapped_approximate_map_stores_only_hashes() {
    let dir = tempfile::tempdir().unwrap();
    let keys: Vec<String> = (0..20_000)
        .map(|i| format!("session-{i:06}-with-a-long-descriptive-name"))
        .collect();
    let exact = IdMap::<str, u32>::build(keys.iter().zip(0u32..), dir.path().join("exact")).unwrap();
    let approx = IdMap::<HashedStr, u32>::build(keys.iter().zip(0u32..), dir.path().join("approx")).unwrap();
    for (i, k) in keys.iter().enumerate() {
        assert_eq!(approx.get(k), Some(&(i as u32)));
        assert_eq!(exact.get(k), Some(&(i as u32)));
    }
    // No key text in the approximate file; it is much smaller than the exact one.
    let bytes = std::fs::read(dir.path().join("approx")).unwrap();
    assert!(!bytes.windows(8).any(|w| w == b"session-"));
    let exact_len = std::fs::metadata(dir.path().join("exact")).unwrap().len();
    assert!((bytes.len() as u64) < exact_len / 2, "{} vs {exact_len}", bytes.len());
    // Iteration yields the xxh3-64 of each key (independently computed).
    let mut hashes: Vec<u64> = approx.iter().map(|(h, _)| h).collect();
    let mut want: Vec<u64> = keys.iter().map(|k| xxhash_rust::xxh3::xxh3_64(k.as_bytes())).collect();
    hashes.sort_unstable();
    want.sort_unstable();
    assert_eq!(hashes, want);
    // Absent keys miss (a false hit has probability n / 2^64 per lookup).
    assert!((0..10_000).all(|i| approx.get(&format!("absent-{i}")).is_none()));
    // A repeated key is a duplicate unless the map is a multi-map, where its records merge.
    let e = IdMap::<HashedStr, u32>::build([("x", 1u32), ("x", 2)], dir.path().join("dup")).unwrap_err();
    assert!(matches!(e, MappedError::DuplicateKey { .. }));
    let m = IdMap::<HashedStr, u32>::builder(dir.path().join("dupm"))
        .multi(true)
        .build([("x", 1u32), ("x", 2)]);
    assert_eq!(m.unwrap().get_all("x"), &[1, 2]);
}

#[test]
fn mapped_open_rejects_the_wrong_key_kind() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("m");
    IdMap::<str, u32>::build([("a", 1u32)], &p).unwrap();
    assert!(matches!(
        IdMap::<u64, u32>::open(&p),
        Err(MappedError::WrongKeys { .. })
    ));
    assert!(matches!(
        IdMap::<HashedStr, u32>::open(&p),
        Err(MappedError::WrongKeys { .. })
    ));
    assert!(matches!(
        IdMap::<str, i32>::open(&p),
        Err(MappedError::WrongType { .. })
    ));
    assert!(IdMap::<str, u32>::open(&p).is_ok());
}

#[test]
#[cfg_attr(
    windows,
    ignore = "replaces a mapped file, which Windows refuses (see README, Platforms)"
)]
fn mapped_open_maps_keep_old_contents_after_replacement() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("a");
    let old = MappedArray::<u32>::build(0..1000u32, &p).unwrap();
    let new = MappedArray::<u32>::build((0..10u32).map(|i| i + 7), &p).unwrap();
    assert!(old.iter().copied().eq(0..1000u32));
    assert!(new.iter().copied().eq(7..17u32));
    assert!(MappedArray::<u32>::open(&p).unwrap().iter().copied().eq(7..17u32));
    // No temporary files are left behind.
    assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 1);
}

#[test]
fn mapped_failed_build_leaves_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("m");
    MappedArray::<u8>::build([1u8], &p).unwrap();
    // A duplicate key aborts the build; the old file stays, no temporary file remains.
    assert!(IdMap::<u64, u8>::build([(1u64, 1u8), (1, 1)], &p).is_err());
    assert_eq!(&*MappedArray::<u8>::open(&p).unwrap(), &[1]);
    assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 1);
    // A destination in a missing directory is an I/O error naming the path.
    let e = MappedArray::<u8>::build([1u8], dir.path().join("no/such/dir/x")).unwrap_err();
    assert!(matches!(e, MappedError::Io { .. }));
    assert!(e.to_string().contains("no/such/dir"), "{e}");
}

/// A `Pod` type standing for one from another crate, which cannot implement `Tagged`.
#[derive(Clone, Copy, Debug, PartialEq, Pod, Zeroable)]
#[repr(C)]
struct Vec3 {
    x: f32,
    y: f32,
    z: f32,
}

#[test]
fn mapped_explicit_tags_for_foreign_pod_types() {
    let dir = tempfile::tempdir().unwrap();
    let tag = TypeTag::record::<Vec3>("othercrate::Vec3/v1");
    let v = |i: u32| Vec3 {
        x: i as f32,
        y: -(i as f32),
        z: 0.5,
    };
    let p = dir.path().join("a");
    MappedArray::<Vec3>::build_as((0..100).map(v), &p, tag).unwrap();
    let a = MappedArray::<Vec3>::open_as(&p, tag).unwrap();
    assert!(a.iter().copied().eq((0..100).map(v)));
    assert_eq!(a.type_tag(), tag);
    let other = TypeTag::record::<Vec3>("othercrate::Vec3/v2");
    assert!(matches!(
        MappedArray::<Vec3>::open_as(&p, other),
        Err(MappedError::WrongType { .. })
    ));
    assert!(matches!(
        MappedArray::<[f32; 3]>::open(&p),
        Err(MappedError::WrongType { .. })
    ));
    // A tag whose size is not the type's is refused before anything is written.
    let e = MappedArray::<Vec3>::build_as([v(1)], dir.path().join("bad"), u64::TAG).unwrap_err();
    assert!(matches!(e, MappedError::UnsupportedType { .. }));
    assert!(!dir.path().join("bad").exists());

    let mut w = MappedRecords::<Vec3>::writer_as(dir.path().join("r"), tag).unwrap();
    w.push_with_tail(&v(3), b"tail").unwrap();
    let r = w.finish().unwrap();
    assert_eq!(r.get_with_tail(0), Some((&v(3), &b"tail"[..])));
    assert_eq!(
        MappedRecords::<Vec3>::open_as(dir.path().join("r"), tag).unwrap().len(),
        1
    );

    let m = IdMap::<u64, Vec3>::builder_as(dir.path().join("m"), tag)
        .build((0..50u64).map(|i| (i, v(i as u32))))
        .unwrap();
    assert_eq!(m.get(&7), Some(&v(7)));
    assert!(matches!(
        IdMap::<u64, Vec3>::open_as(dir.path().join("m"), other),
        Err(MappedError::WrongType { .. })
    ));
}
