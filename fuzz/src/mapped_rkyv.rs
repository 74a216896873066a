//! Mapped rkyv records (issue 14): `open` / `open_verified` and lookups of `ArchivedRecords` and `ArchivedIdMap`
//! (u64, string and rkyv-archived keys) over arbitrary bytes, of a fixed record type and of the dynamic
//! [`Value`] that the Python binding stores (recursive: lists, maps and arrays nested in each other).
//!
//! Input: one mode byte, then the file. Mode bit 0 reseals the file first (length field and every checksum
//! recomputed, as [`crate::mapped_open::reseal`] does), so that the fuzzer gets past the checksums to the
//! structural checks and to rkyv's bytecheck validation. Mode bit 1 reads the bytes from a real file (mapped)
//! instead of an in-memory image.
//!
//! Properties checked: nothing panics; unverified lookups either return a record or a typed error; after
//! `verify` succeeds every record is readable, every value deserialises, and every key's values are found.

use crate::mapped_open::reseal;
use seqring_mapped::{Archivable, ArchivedIdMap, ArchivedRecords, ByArchive, Mapped, MappedError, Node, Value};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// The record type of the target: strings, vectors, a map, an option and an enum.
#[derive(rkyv::Archive, rkyv::Serialize, rkyv::Deserialize, Debug, PartialEq)]
pub struct Trial {
    id: u32,
    name: String,
    events: Vec<String>,
    params: BTreeMap<String, f64>,
    note: Option<String>,
    outcome: Outcome,
    raw: Vec<u8>,
}

/// A nested enum field.
#[derive(rkyv::Archive, rkyv::Serialize, rkyv::Deserialize, Debug, PartialEq)]
pub enum Outcome {
    /// No payload.
    Hit,
    /// A string payload.
    Miss(String),
}

impl Archivable for Trial {
    const TYPE_NAME: &'static str = "seqring-fuzz::Trial/v1";
}

fn trial(i: u32) -> Trial {
    Trial {
        id: i,
        name: format!("k{i}"),
        events: (0..i % 3).map(|e| format!("e{e}")).collect(),
        params: (0..i % 2).map(|p| (format!("p{p}"), f64::from(i))).collect(),
        note: i.is_multiple_of(2).then(|| "n".into()),
        outcome: if i.is_multiple_of(2) {
            Outcome::Hit
        } else {
            Outcome::Miss("m".into())
        },
        raw: vec![i as u8; (i % 4) as usize],
    }
}

fn scratch() -> PathBuf {
    std::env::temp_dir().join(format!(
        "seqring-fuzz-rkyv-{}-{:?}",
        std::process::id(),
        std::thread::current().id()
    ))
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
    if mode & 2 == 0 {
        check(&Source::Memory(&bytes));
        return;
    }
    let path = scratch();
    if std::fs::write(&path, &bytes).is_ok() {
        check(&Source::File(&path));
    }
    let _ = std::fs::remove_file(&path);
}

enum Source<'a> {
    Memory(&'a [u8]),
    File(&'a Path),
}

/// `bytes` in a 64-byte-aligned buffer, as `from_image` takes them.
fn image(bytes: &[u8]) -> rkyv::util::AlignedVec<64> {
    let mut image = rkyv::util::AlignedVec::<64>::new();
    image.extend_from_slice(bytes);
    image
}

fn records<T: Archivable>(src: &Source) -> Result<ArchivedRecords<T>, MappedError> {
    match src {
        Source::Memory(b) => ArchivedRecords::from_image(image(b)),
        Source::File(p) => ArchivedRecords::open(p),
    }
}

fn map<K: seqring_mapped::MapKey + ?Sized>(src: &Source) -> Result<ArchivedIdMap<K, Trial>, MappedError> {
    match src {
        Source::Memory(b) => ArchivedIdMap::from_image(image(b)),
        Source::File(p) => ArchivedIdMap::open(p),
    }
}

fn back(a: &ArchivedTrial) -> Trial {
    rkyv::deserialize::<Trial, rkyv::rancor::Error>(a).unwrap()
}

/// A nested dynamic value, as the Python binding writes them: `{"id": i, "events": [(0.5, None), ...], 7: bytes,
/// "frame": <u2 2x2}`, node 0 the root.
fn value(i: u32) -> Value {
    let mut v = Value::default();
    let root = v.push(Node::None);
    let (id_key, id) = (v.push(Node::Str("id".into())), v.push(Node::Int(i64::from(i))));
    let (half, none) = (v.push(Node::Float(0.5)), v.push(Node::None));
    let pair = v.push(Node::Tuple(vec![half, none]));
    let events_key = v.push(Node::Str("events".into()));
    let events = v.push(Node::List(vec![pair; (i % 3) as usize]));
    let (raw_key, raw) = (v.push(Node::Int(7)), v.push(Node::Bytes(vec![i as u8; 3])));
    let frame_key = v.push(Node::Str("frame".into()));
    let frame = v.push(Node::array("<u2".into(), vec![2, 2], 2, vec![i as u8; 8]).unwrap());
    v.nodes[root as usize] = Node::Map(vec![
        (id_key, id),
        (events_key, events),
        (raw_key, raw),
        (frame_key, frame),
    ]);
    v
}

/// Walks every node reachable from the root, as a reader does: indices bounded, depth bounded.
fn walk(v: &seqring_mapped::ArchivedValue, i: u32, depth: usize) {
    use seqring_mapped::ArchivedNode;
    if depth > 64 {
        return;
    }
    match v.node(i) {
        Some(ArchivedNode::List(items) | ArchivedNode::Tuple(items)) => {
            items.iter().for_each(|j| walk(v, j.to_native(), depth + 1));
        }
        Some(ArchivedNode::Map(pairs)) => pairs.iter().for_each(|p| {
            walk(v, p.0.to_native(), depth + 1);
            walk(v, p.1.to_native(), depth + 1);
        }),
        Some(ArchivedNode::Array { shape, data, .. }) => {
            let shape: Vec<u64> = shape.iter().map(|d| d.to_native()).collect();
            let _ = seqring_mapped::archived::array_len(&shape, 2) == Some(data.len());
        }
        _ => {}
    }
}

fn check(src: &Source) {
    if let Ok(r) = records::<Value>(src) {
        for i in 0..r.len().min(64) + 1 {
            if let Ok(Some(v)) = r.get(i) {
                walk(v, 0, 0);
                rkyv::deserialize::<Value, rkyv::rancor::Error>(v).unwrap();
            }
        }
        if r.verify().is_ok() {
            for i in 0..r.len() {
                rkyv::deserialize::<Value, rkyv::rancor::Error>(r.get(i).unwrap().expect("in range")).unwrap();
            }
        }
    }
    if let Ok(r) = records::<Trial>(src) {
        // Unverified: each lookup validates its record.
        for i in 0..r.len().min(64) + 1 {
            if let Ok(Some(t)) = r.get(i) {
                back(t);
            }
        }
        if r.verify().is_ok() {
            for i in 0..r.len() {
                back(r.get(i).unwrap().expect("in range"));
            }
        }
    }
    if let Ok(m) = map::<u64>(src) {
        for k in [0u64, 1, 2, 3, 7, u64::MAX] {
            if let Ok(Some(t)) = m.get(&k) {
                back(t);
            }
            let _ = m.get_all(&k).count();
        }
        check_verified_map(&m, Some);
    }
    if let Ok(m) = map::<str>(src) {
        for k in ["", "k0", "k1", "k2"] {
            if let Ok(Some(t)) = m.get(k) {
                back(t);
            }
        }
        check_verified_map(&m, |k| Some(k.to_owned()));
    }
    if let Ok(m) = map::<ByArchive<(u32, String)>>(src) {
        for k in [(0u32, String::new()), (1, "k1".into())] {
            if let Ok(Some(t)) = m.get(&k) {
                back(t);
            }
        }
        check_verified_map(&m, |_| None::<(u32, String)>);
    }
}

/// After a successful `verify`: every key's values are readable, and a key that can be rebuilt from iteration
/// (`rebuild`) is found again with the same number of values.
fn check_verified_map<'m, K, Q>(m: &'m ArchivedIdMap<K, Trial>, rebuild: impl Fn(K::Stored<'m>) -> Option<Q>)
where
    K: seqring_mapped::MapKey + ?Sized,
    Q: std::borrow::Borrow<K::Query>,
{
    if m.verify().is_err() {
        return;
    }
    let mut keys = 0;
    for (k, range) in m.keys() {
        keys += 1;
        let n = range.len();
        for i in range {
            back(m.value_at(i).unwrap().expect("in range"));
        }
        if let Some(q) = rebuild(k) {
            assert_eq!(m.get_all(q.borrow()).count(), n);
        }
    }
    assert_eq!(keys, m.len());
}

/// Valid files of both kinds and every key kind, as `(name, input)` with the mode byte first, to seed the corpus.
pub fn seeds() -> Vec<(String, Vec<u8>)> {
    let files: Vec<(&str, Vec<u8>)> = vec![
        (
            "records",
            ArchivedRecords::build_in_memory((0..4).map(trial))
                .unwrap()
                .as_bytes()
                .to_vec(),
        ),
        (
            "map_u64",
            ArchivedIdMap::<u64, Trial>::build_in_memory((0..4u32).map(|i| (u64::from(i), trial(i))))
                .unwrap()
                .as_bytes()
                .to_vec(),
        ),
        (
            "map_str",
            ArchivedIdMap::<str, Trial>::builder_in_memory()
                .index(seqring_mapped::IndexKind::Sorted)
                .build((0..3u32).map(|i| (format!("k{i}"), trial(i))))
                .unwrap()
                .as_bytes()
                .to_vec(),
        ),
        (
            "values",
            ArchivedRecords::build_in_memory((0..4).map(value))
                .unwrap()
                .as_bytes()
                .to_vec(),
        ),
        (
            "map_archived_keys",
            ArchivedIdMap::<ByArchive<(u32, String)>, Trial>::builder_in_memory()
                .multi(true)
                .build((0..4u32).map(|i| ((i % 2, format!("k{}", i % 2)), trial(i))))
                .unwrap()
                .as_bytes()
                .to_vec(),
        ),
    ];
    let mut out = Vec::new();
    for (name, file) in files {
        for mode in [0u8, 1, 2] {
            let mut input = vec![mode];
            input.extend_from_slice(&file);
            out.push((format!("{name}-{mode}"), input));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The seeds are valid files that verify, so the fuzzer starts past every check.
    #[test]
    fn seeds_open_verified() {
        for (name, input) in seeds() {
            let body = &input[1..];
            let ok = ArchivedRecords::<Trial>::from_bytes(body).is_ok()
                || ArchivedRecords::<Value>::from_bytes(body).is_ok()
                || ArchivedIdMap::<u64, Trial>::from_bytes(body).is_ok()
                || ArchivedIdMap::<str, Trial>::from_bytes(body).is_ok()
                || ArchivedIdMap::<ByArchive<(u32, String)>, Trial>::from_bytes(body).is_ok();
            assert!(ok, "seed {name} does not open");
            fuzz(&input);
        }
    }

    /// Writes the seeds into `corpus/mapped_rkyv` (run by hand after a format change:
    /// `cargo test --release --manifest-path fuzz/Cargo.toml --lib -- --ignored write_seeds`).
    #[test]
    #[ignore]
    fn write_seeds() {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("corpus/mapped_rkyv");
        std::fs::create_dir_all(&dir).unwrap();
        for (name, input) in seeds() {
            std::fs::write(dir.join(name), input).unwrap();
        }
    }
}
