//! Mapped structured (rkyv) records, issue 14: lookup by id in a 1 M-record `ArchivedIdMap` against
//! `std::collections::HashMap` in memory; open + first lookup of a 1 GiB file; `open_verified` throughput against
//! deserialising the same records with serde + bincode 1.3.
//!
//! Run with `cargo bench -p seqring-benches --bench mapped_rkyv` (a filter such as `-- rkyv_lookup` selects
//! groups). Data sets are built lazily under `$TMPDIR/seqring-bench-rkyv-<pid>` and removed at the end.

use criterion::{black_box, Criterion, Throughput};
use seqring_mapped::{Archivable, ArchivedIdMap, ArchivedRecords, Mapped};
use std::collections::{BTreeMap, HashMap};
use std::path::PathBuf;
use std::sync::OnceLock;
use std::time::Duration;

/// A trial: the structured record of every group.
#[derive(rkyv::Archive, rkyv::Serialize, serde::Serialize, serde::Deserialize, Clone)]
struct Trial {
    id: u64,
    name: String,
    start_s: f64,
    end_s: f64,
    events: Vec<String>,
    params: BTreeMap<String, f64>,
    note: Option<String>,
    raw: Vec<u8>,
}

impl Archivable for Trial {
    const TYPE_NAME: &'static str = "benches::Trial/v1";
}

const EVENTS: [&str; 4] = ["cue", "lick", "reward", "timeout"];

fn trial(id: u64, raw: usize) -> Trial {
    Trial {
        id,
        name: format!("trial-{id:08}"),
        start_s: id as f64 * 6.5,
        end_s: id as f64 * 6.5 + 4.0,
        events: EVENTS
            .iter()
            .take(1 + (id % 4) as usize)
            .map(|e| e.to_string())
            .collect(),
        params: BTreeMap::from([
            ("reward_ul".to_string(), 5.0),
            ("cue_hz".to_string(), 4000.0 + (id % 3) as f64),
        ]),
        note: (id % 100 == 7).then(|| format!("note for trial {id}")),
        raw: vec![id as u8; raw],
    }
}

fn dir() -> &'static PathBuf {
    static DIR: OnceLock<PathBuf> = OnceLock::new();
    DIR.get_or_init(|| {
        let d = std::env::temp_dir().join(format!("seqring-bench-rkyv-{}", std::process::id()));
        std::fs::create_dir_all(&d).unwrap();
        d
    })
}

fn key(i: u64) -> u64 {
    i.wrapping_mul(0x9e37_79b9_7f4a_7c15) ^ 0x5bd1_e995
}

/// `count` random present keys of a map of `n` (xorshift64*).
fn probes(n: u64, count: usize) -> Vec<u64> {
    let mut x = 0x1234_5678_9abc_def1u64 ^ n;
    (0..count)
        .map(|_| {
            x ^= x >> 12;
            x ^= x << 25;
            x ^= x >> 27;
            key(x.wrapping_mul(0x2545_f491_4f6c_dd1d) % n)
        })
        .collect()
}

const PROBES: usize = 1 << 16;
const N: u64 = 1_000_000;

struct LookupSet {
    verified: ArchivedIdMap<u64, Trial>,
    unverified: ArchivedIdMap<u64, Trial>,
    hash: HashMap<u64, Trial>,
    probe_keys: Vec<u64>,
}

fn lookup_set() -> &'static LookupSet {
    static S: OnceLock<LookupSet> = OnceLock::new();
    S.get_or_init(|| {
        let p = dir().join("lookup.map");
        let t = std::time::Instant::now();
        ArchivedIdMap::<u64, Trial>::build((0..N).map(|i| (key(i), trial(i, 0))), &p).unwrap();
        eprintln!(
            "built {N} trials ({} bytes) in {:.2} s",
            std::fs::metadata(&p).unwrap().len(),
            t.elapsed().as_secs_f64()
        );
        LookupSet {
            verified: ArchivedIdMap::open_verified(&p).unwrap(),
            unverified: ArchivedIdMap::open(&p).unwrap(),
            hash: (0..N).map(|i| (key(i), trial(i, 0))).collect(),
            probe_keys: probes(N, PROBES),
        }
    })
}

fn config() -> Criterion {
    Criterion::default()
        .sample_size(20)
        .warm_up_time(Duration::from_millis(500))
        .measurement_time(Duration::from_secs(2))
        .configure_from_args()
}

/// A random present key, then one field of its record (so that the record is really reached).
fn lookup(c: &mut Criterion) {
    let mut g = c.benchmark_group("rkyv_lookup_u64_1m");
    g.throughput(Throughput::Elements(1));
    g.bench_function("archived_verified", |b| {
        let (m, p) = (&lookup_set().verified, &lookup_set().probe_keys);
        let mut i = 0;
        b.iter(|| {
            i = (i + 1) & (PROBES - 1);
            black_box(m.get(&p[i]).unwrap().unwrap().end_s.to_native())
        })
    });
    g.bench_function("archived_validated_per_lookup", |b| {
        let (m, p) = (&lookup_set().unverified, &lookup_set().probe_keys);
        let mut i = 0;
        b.iter(|| {
            i = (i + 1) & (PROBES - 1);
            black_box(m.get(&p[i]).unwrap().unwrap().end_s.to_native())
        })
    });
    g.bench_function("std_hashmap", |b| {
        let (m, p) = (&lookup_set().hash, &lookup_set().probe_keys);
        let mut i = 0;
        b.iter(|| {
            i = (i + 1) & (PROBES - 1);
            black_box(m.get(&p[i]).unwrap().end_s)
        })
    });
    g.finish();
}

const GIB: u64 = 1 << 30;

/// A ≥ 1 GiB archived id map: 2^18 trials with a 4 KiB byte buffer each.
fn gib_map() -> &'static PathBuf {
    static F: OnceLock<PathBuf> = OnceLock::new();
    F.get_or_init(|| {
        let p = dir().join("gib.map");
        let n = 1u64 << 18;
        ArchivedIdMap::<u64, Trial>::build((0..n).map(|i| (key(i), trial(i, 4096))), &p).unwrap();
        let len = std::fs::metadata(&p).unwrap().len();
        assert!(len >= GIB, "{} is {len} bytes", p.display());
        eprintln!("{}: {len} bytes", p.display());
        p
    })
}

fn open_gib(c: &mut Criterion) {
    let mut g = c.benchmark_group("rkyv_open_first_lookup_1gib");
    g.bench_function("archived_id_map_open_get", |b| {
        let p = gib_map();
        let k = key(123_457);
        b.iter(|| {
            let m = ArchivedIdMap::<u64, Trial>::open(p).unwrap();
            let t = m.get(&k).unwrap().unwrap();
            t.raw.len() + t.events.len()
        })
    });
    g.finish();
}

/// The same 100 k trials (with 64-byte buffers) as an `ArchivedRecords` file, verified from the page cache,
/// against a bincode buffer in memory deserialised into `Vec<Trial>`.
fn verify_throughput(c: &mut Criterion) {
    let n = 100_000u64;
    let trials: Vec<Trial> = (0..n).map(|i| trial(i, 64)).collect();
    let path = dir().join("verify.map");
    ArchivedRecords::<Trial>::build(&trials, &path).unwrap();
    let file_len = std::fs::metadata(&path).unwrap().len();
    let encoded = bincode::serialize(&trials).unwrap();
    drop(trials);
    eprintln!(
        "{n} trials: archived file {file_len} bytes, bincode {} bytes",
        encoded.len()
    );

    let mut g = c.benchmark_group("rkyv_open_verified_100k");
    g.sample_size(10);
    g.throughput(Throughput::Bytes(file_len));
    g.bench_function("archived_open_verified", |b| {
        b.iter(|| ArchivedRecords::<Trial>::open_verified(&path).unwrap().len())
    });
    g.throughput(Throughput::Bytes(encoded.len() as u64));
    g.bench_function("bincode_deserialize", |b| {
        b.iter(|| bincode::deserialize::<Vec<Trial>>(&encoded).unwrap().len())
    });
    g.finish();
}

fn main() {
    let mut c = config();
    lookup(&mut c);
    verify_throughput(&mut c);
    open_gib(&mut c);
    c.final_summary();
    let _ = std::fs::remove_dir_all(dir());
}
