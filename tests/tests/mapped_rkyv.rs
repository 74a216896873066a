//! Structured rkyv records in mapped files and in-memory images (issue 14): a record type with every supported
//! field kind round-trips through both, every key kind of the archived id map works, type and layout mismatches
//! are typed errors, and every truncation and single-byte flip of a small file is rejected by `open_verified`.

use rkyv::rancor;
use seqring_mapped::{
    reseal, Archivable, ArchivedIdMap, ArchivedRecords, ByArchive, FileKind, HashedStr, IdMap, Mapped, MappedError,
    MappedRecords,
};
use seqring_tests::Rng;
use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};
use std::path::Path;
use std::time::Duration;

#[derive(rkyv::Archive, rkyv::Serialize, rkyv::Deserialize, Clone, Debug, PartialEq)]
enum Outcome {
    Hit,
    Miss { reason: String },
    Probe(u16, f32),
}

#[derive(rkyv::Archive, rkyv::Serialize, rkyv::Deserialize, Clone, Debug, PartialEq)]
struct Nested {
    label: String,
    points: Vec<[f32; 2]>,
}

/// One field of every kind the module docs list.
#[derive(rkyv::Archive, rkyv::Serialize, rkyv::Deserialize, Clone, Debug, PartialEq)]
struct Everything {
    a_i8: i8,
    a_i16: i16,
    a_i32: i32,
    a_i64: i64,
    a_u8: u8,
    a_u16: u16,
    a_u32: u32,
    a_u64: u64,
    a_f32: f32,
    a_f64: f64,
    flag: bool,
    letter: char,
    name: String,
    bytes: Vec<u8>,
    fixed: [u8; 4],
    samples: Vec<f64>,
    pair: (u32, String),
    dict: HashMap<String, i32>,
    ordered: BTreeMap<u32, String>,
    set: HashSet<u64>,
    tags: BTreeSet<String>,
    note: Option<String>,
    outcome: Outcome,
    nested: Nested,
    children: Vec<Nested>,
    boxed: Option<Box<Nested>>,
    duration: Duration,
    started_us: i64,
}

impl Archivable for Everything {
    const TYPE_NAME: &'static str = "seqring-tests::Everything/v1";
}

/// Another type, to open files with the wrong one.
#[derive(rkyv::Archive, rkyv::Serialize)]
struct Other {
    name: String,
}

impl Archivable for Other {
    const TYPE_NAME: &'static str = "seqring-tests::Other/v1";
}

fn everything(i: u64) -> Everything {
    let mut rng = Rng::new(i);
    let n = (i % 5) as usize;
    Everything {
        a_i8: -(i as i8),
        a_i16: -300 - i as i16,
        a_i32: -70_000 * i as i32,
        a_i64: -(1 << 40) - i as i64,
        a_u8: i as u8,
        a_u16: 60_000 - i as u16,
        a_u32: 4_000_000_000 - i as u32,
        a_u64: u64::MAX - i,
        a_f32: i as f32 * 0.25,
        a_f64: -(i as f64) / 3.0,
        flag: i.is_multiple_of(2),
        letter: ['µ', 'a', '€'][i as usize % 3],
        name: format!("trial-{i}"),
        bytes: rng.bytes(n * 7),
        fixed: [i as u8, 1, 2, 3],
        samples: (0..n).map(|k| k as f64 * 1.5).collect(),
        pair: (i as u32, "x".repeat(n)),
        dict: (0..n).map(|k| (format!("p{k}"), k as i32 - 2)).collect(),
        ordered: (0..n as u32).map(|k| (k * 10, format!("v{k}"))).collect(),
        set: (0..n as u64).map(|k| k * i).collect(),
        tags: (0..n).map(|k| format!("tag{k}")).collect(),
        note: i.is_multiple_of(3).then(|| format!("note {i}")),
        outcome: match i % 3 {
            0 => Outcome::Hit,
            1 => Outcome::Miss { reason: "early".into() },
            _ => Outcome::Probe(i as u16, 0.5),
        },
        nested: Nested {
            label: "n".into(),
            points: vec![[i as f32, 1.0]; n],
        },
        children: (0..n)
            .map(|k| Nested {
                label: format!("c{k}"),
                points: vec![],
            })
            .collect(),
        boxed: (i % 2 == 1).then(|| {
            Box::new(Nested {
                label: "boxed".into(),
                points: vec![[0.0, -1.0]],
            })
        }),
        duration: Duration::new(i, 500),
        started_us: 1_700_000_000_000_000 + i as i64,
    }
}

fn back(a: &ArchivedEverything) -> Everything {
    rkyv::deserialize::<Everything, rancor::Error>(a).unwrap()
}

/// Checks a few archived fields in place, without deserialising.
fn check_in_place(a: &ArchivedEverything, want: &Everything) {
    assert_eq!(a.name, want.name.as_str());
    assert_eq!(a.bytes.as_slice(), want.bytes.as_slice());
    assert_eq!(a.a_u64.to_native(), want.a_u64);
    assert_eq!(a.flag, want.flag);
    assert_eq!(a.dict.len(), want.dict.len());
    for (k, v) in &want.dict {
        assert_eq!(a.dict.get(k.as_str()).map(|x| x.to_native()), Some(*v));
    }
    assert_eq!(a.note.as_ref().map(|s| s.as_str()), want.note.as_deref());
    assert_eq!(a.children.len(), want.children.len());
}

#[test]
fn mapped_rkyv_round_trip_every_field_kind_through_file_and_memory() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("everything.map");
    let values: Vec<Everything> = (0..300).map(everything).collect();

    let file = ArchivedRecords::<Everything>::build(&values, &path).unwrap();
    assert!(!file.is_verified());
    let memory = ArchivedRecords::<Everything>::build_in_memory(&values).unwrap();
    // The same values give the same bytes, whether written to a file or to memory.
    assert_eq!(file.as_bytes(), memory.as_bytes());
    assert_eq!(std::fs::read(&path).unwrap(), memory.as_bytes());

    let reopened = ArchivedRecords::<Everything>::open_verified(&path).unwrap();
    assert!(reopened.is_verified());
    let image = memory.into_image().unwrap();
    let from_image = ArchivedRecords::<Everything>::from_image(image).unwrap();
    let from_bytes = ArchivedRecords::<Everything>::from_bytes(reopened.as_bytes()).unwrap();
    for records in [&file, &reopened, &from_image, &from_bytes] {
        assert_eq!(records.len(), values.len());
        for (i, want) in values.iter().enumerate() {
            let a = records.get(i).unwrap().unwrap();
            check_in_place(a, want);
            assert_eq!(&back(a), want, "record {i} of {records:?}");
        }
        assert!(records.get(values.len()).unwrap().is_none());
        assert_eq!(records.iter().filter(|r| r.is_ok()).count(), values.len());
    }
    // SAFETY: `reopened` was verified and the file is not modified.
    let unchecked = unsafe { reopened.get_unchecked(7) }.unwrap();
    assert_eq!(back(unchecked), values[7]);

    let empty = ArchivedRecords::<Everything>::build(std::iter::empty::<Everything>(), dir.path().join("e")).unwrap();
    assert!(empty.is_empty());
    empty.verify().unwrap();
}

#[test]
fn mapped_rkyv_id_maps_over_every_key_kind() {
    let dir = tempfile::tempdir().unwrap();
    let values: Vec<Everything> = (0..500).map(everything).collect();

    let by_id =
        ArchivedIdMap::<u64, Everything>::build(values.iter().map(|v| (v.a_u64, v)), dir.path().join("id")).unwrap();
    let by_name =
        ArchivedIdMap::<str, Everything>::build_in_memory(values.iter().map(|v| (v.name.clone(), v))).unwrap();
    let by_pair = ArchivedIdMap::<ByArchive<(u32, String)>, Everything>::build(
        values.iter().map(|v| (v.pair.clone(), v)),
        dir.path().join("pair"),
    )
    .unwrap();
    for (i, v) in values.iter().enumerate() {
        assert_eq!(back(by_id.get(&v.a_u64).unwrap().unwrap()), *v, "id {i}");
        assert_eq!(back(by_name.get(&v.name).unwrap().unwrap()), *v, "name {i}");
        assert_eq!(back(by_pair.get(&v.pair).unwrap().unwrap()), *v, "pair {i}");
    }
    assert!(by_id.get(&3).unwrap().is_none());
    assert!(by_name.get("trial-500").unwrap().is_none());
    assert!(!by_pair.contains_key(&(0, "y".into())));
    assert_eq!(by_pair.keys().count(), 500);

    // Verification switches lookups to the unchecked path; the answers stay the same.
    let reopened = ArchivedIdMap::<u64, Everything>::open_verified(dir.path().join("id")).unwrap();
    assert!(reopened.is_verified());
    assert_eq!(back(reopened.get(&values[9].a_u64).unwrap().unwrap()), values[9]);
    // SAFETY: verified just above; the file is not modified.
    let unchecked = unsafe { reopened.get_unchecked(&values[9].a_u64) };
    assert_eq!(back(unchecked.unwrap()), values[9]);
    let copy = ArchivedIdMap::<str, Everything>::from_bytes(by_name.as_bytes()).unwrap();
    assert_eq!(back(copy.get("trial-42").unwrap().unwrap()), values[42]);

    // A multi-map with approximate (hashed) string keys: values of one key come back in insertion order.
    let mut b = ArchivedIdMap::<HashedStr, Everything>::builder(dir.path().join("multi")).multi(true);
    for v in &values {
        b.insert(["even", "odd"][v.a_u8 as usize % 2], v).unwrap();
    }
    let multi = b.finish().unwrap();
    multi.verify().unwrap();
    assert_eq!((multi.len(), multi.record_count(), multi.is_multi()), (2, 500, true));
    let odd: Vec<Everything> = multi.get_all("odd").map(|a| back(a.unwrap())).collect();
    assert_eq!(
        odd,
        values.iter().filter(|v| v.a_u8 % 2 == 1).cloned().collect::<Vec<_>>()
    );
    assert_eq!(multi.get_all("none").count(), 0);

    let e = ArchivedIdMap::<u64, Everything>::build([(1u64, &values[0]), (1, &values[1])], dir.path().join("dup"))
        .unwrap_err();
    assert!(matches!(e, MappedError::DuplicateKey { .. }), "{e}");
}

#[test]
fn mapped_rkyv_wrong_type_kind_keys_and_layout_are_typed_errors() {
    let dir = tempfile::tempdir().unwrap();
    let rec = dir.path().join("records");
    let map = dir.path().join("map");
    ArchivedRecords::<Everything>::build([everything(1)], &rec).unwrap();
    ArchivedIdMap::<u64, Everything>::build([(5u64, everything(5))], &map).unwrap();

    let e = ArchivedRecords::<Other>::open(&rec).unwrap_err();
    assert!(matches!(e, MappedError::WrongType { .. }), "{e}");
    let e = ArchivedIdMap::<u64, Other>::open(&map).unwrap_err();
    assert!(matches!(e, MappedError::WrongType { .. }), "{e}");
    let e = ArchivedIdMap::<str, Everything>::open(&map).unwrap_err();
    assert!(matches!(e, MappedError::WrongKeys { .. }), "{e}");
    let e = ArchivedRecords::<Everything>::open(&map).unwrap_err();
    assert!(
        matches!(
            e,
            MappedError::WrongKind {
                found: FileKind::ArchivedIdMap,
                ..
            }
        ),
        "{e}"
    );
    let e = MappedRecords::<u64>::open(&rec).unwrap_err();
    assert!(matches!(e, MappedError::WrongKind { .. }), "{e}");
    let e = IdMap::<u64, u64>::open(&map).unwrap_err();
    assert!(matches!(e, MappedError::WrongKind { .. }), "{e}");
    let plain = dir.path().join("plain");
    MappedRecords::<u64>::build([1u64, 2], &plain).unwrap();
    let e = ArchivedRecords::<Everything>::open(&plain).unwrap_err();
    assert!(matches!(e, MappedError::WrongKind { .. }), "{e}");

    // A file written with another rkyv layout (byte 237: pointer width; byte 236: endianness; byte 234: major).
    for (at, value) in [(237usize, 8u8), (236, 2), (234, 1), (235, 7)] {
        let mut bytes = std::fs::read(&rec).unwrap();
        bytes[at] = value;
        reseal(&mut bytes).unwrap();
        let p = dir.path().join(format!("layout-{at}"));
        std::fs::write(&p, &bytes).unwrap();
        let e = ArchivedRecords::<Everything>::open(&p).unwrap_err();
        assert!(matches!(e, MappedError::IncompatibleArchive { .. }), "byte {at}: {e}");
        assert!(e.to_string().contains("rkyv"), "{e}");
    }
}

/// Every prefix and every single-byte change of `bytes`, written to `path`, fails `open` (which opens with
/// `open_verified` and reads every record). After a reseal (checksums recomputed, so that rkyv's validation is what
/// must catch the change), the changed image, read from memory with `from_bytes` (which verifies too), either fails
/// or reads back completely; returns how many of those rkyv's bytecheck rejected.
fn every_truncation_and_flip(
    path: &Path,
    bytes: &[u8],
    open: &dyn Fn(&Path) -> Result<usize, MappedError>,
    from_bytes: &dyn Fn(&[u8]) -> Result<usize, MappedError>,
) -> usize {
    let name = path.display().to_string();
    // A new file each time: truncating a written file in place makes ext4 flush it (3 ms a write here).
    let write = |b: &[u8]| {
        std::fs::remove_file(path).unwrap();
        std::fs::write(path, b).unwrap();
    };
    for len in 0..bytes.len() {
        write(&bytes[..len]);
        let e = open(path).expect_err(&format!("a {len}-byte prefix was accepted"));
        assert!(e.to_string().contains(&name), "{e}");
    }
    let mut bytecheck = 0;
    for at in 0..bytes.len() {
        for mask in [0x01u8, 0xff] {
            let mut c = bytes.to_vec();
            c[at] ^= mask;
            write(&c);
            assert!(open(path).is_err(), "flip {mask:#x} of byte {at} was accepted");
            reseal(&mut c).unwrap();
            if let Err(MappedError::InvalidRecord { .. }) = from_bytes(&c) {
                bytecheck += 1;
            }
        }
    }
    bytecheck
}

#[test]
fn mapped_rkyv_every_truncation_and_byte_flip_is_a_typed_error() {
    let dir = tempfile::tempdir().unwrap();
    let values: Vec<Everything> = (0..2).map(everything).collect();

    let rec = dir.path().join("rec");
    let bytes = ArchivedRecords::<Everything>::build(&values, &rec)
        .unwrap()
        .as_bytes()
        .to_vec();
    fn read_all(r: ArchivedRecords<Everything>) -> Result<usize, MappedError> {
        for a in r.iter() {
            back(a?);
        }
        Ok(r.len())
    }
    let open = |p: &Path| read_all(ArchivedRecords::open_verified(p)?);
    let from_bytes = |b: &[u8]| read_all(ArchivedRecords::from_bytes(b)?);
    assert_eq!(open(&rec).unwrap(), 2);
    let caught = every_truncation_and_flip(&rec, &bytes, &open, &from_bytes);
    assert!(caught > 0, "no resealed flip reached rkyv's validation");

    let map = dir.path().join("map");
    let bytes = ArchivedIdMap::<str, Everything>::build(values.iter().map(|v| (v.name.as_str(), v)), &map)
        .unwrap()
        .as_bytes()
        .to_vec();
    fn read_map(m: ArchivedIdMap<str, Everything>) -> Result<usize, MappedError> {
        for (_, r) in m.keys() {
            for i in r {
                back(m.value_at(i)?.expect("in range"));
            }
        }
        Ok(m.len())
    }
    let open = |p: &Path| read_map(ArchivedIdMap::open_verified(p)?);
    let from_bytes = |b: &[u8]| read_map(ArchivedIdMap::from_bytes(b)?);
    assert_eq!(open(&map).unwrap(), 2);
    let caught = every_truncation_and_flip(&map, &bytes, &open, &from_bytes);
    assert!(caught > 0, "no resealed flip reached rkyv's validation");
}

#[test]
fn mapped_rkyv_unverified_lookups_validate_the_record_they_return() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("r");
    let r = ArchivedRecords::<Everything>::build((0..4).map(everything), &p).unwrap();
    let mut bytes = r.as_bytes().to_vec();
    drop(r);
    // Overwrite record 0's archive (the first `len` bytes of the tail blob, section 2; its length is the first word
    // of section 0 at byte 256) with 0xff, keep the other records intact, and reseal the checksums.
    let info = seqring_mapped::inspect(&p).unwrap();
    assert_eq!(info.kind, FileKind::ArchivedRecords);
    let tail_blob_at = u64::from_le_bytes(bytes[64 + 2 * 24..64 + 2 * 24 + 8].try_into().unwrap()) as usize;
    let first_len = u64::from_le_bytes(bytes[256..264].try_into().unwrap()) as usize;
    for b in &mut bytes[tail_blob_at..tail_blob_at + first_len] {
        *b = 0xff;
    }
    reseal(&mut bytes).unwrap();
    std::fs::write(&p, &bytes).unwrap();
    let r = ArchivedRecords::<Everything>::open(&p).unwrap();
    assert!(matches!(r.get(0), Err(MappedError::InvalidRecord { index: 0, .. })));
    assert_eq!(back(r.get(1).unwrap().unwrap()), everything(1));
    assert!(matches!(r.verify(), Err(MappedError::InvalidRecord { index: 0, .. })));
    assert!(!r.is_verified());
}
