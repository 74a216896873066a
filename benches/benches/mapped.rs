//! Mapped structures: build rate, lookup latency against `std::collections::HashMap` in memory, open + first lookup
//! against deserialising the same data with serde (bincode) from a file, and open + first lookup of 1 GiB files.
//!
//! Run with `cargo bench -p seqring-benches --bench mapped` (a filter such as `-- mapped_lookup` selects groups).
//! Data sets are built once per run, lazily, under `$TMPDIR/seqring-bench-mapped-<pid>`, removed at the end.

use criterion::{black_box, BatchSize, Criterion, Throughput};
use seqring_mapped::{HashedStr, IdMap, IndexKind, Mapped, MappedArray, MappedStrs};
use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::OnceLock;
use std::time::Duration;

type Rec = [u64; 4]; // 32-byte record

fn dir() -> &'static PathBuf {
    static DIR: OnceLock<PathBuf> = OnceLock::new();
    DIR.get_or_init(|| {
        let d = std::env::temp_dir().join(format!("seqring-bench-mapped-{}", std::process::id()));
        std::fs::create_dir_all(&d).unwrap();
        d
    })
}

/// xorshift64*: deterministic pseudo-random keys and probe orders.
struct Rng(u64);
impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }
}

fn key(i: u64) -> u64 {
    i.wrapping_mul(0x9e37_79b9_7f4a_7c15) ^ 0x5bd1_e995
}

fn rec(i: u64) -> Rec {
    [key(i), i, i.wrapping_mul(i), i % 7]
}

fn skey(i: u64) -> String {
    format!("subject-{i:08}/session-{}", i % 17)
}

/// `count` random indices below `n`.
fn probes(n: u64, count: usize) -> Vec<u64> {
    let mut r = Rng(0x1234_5678_9abc_def1 ^ n);
    (0..count).map(|_| r.next() % n).collect()
}

const PROBES: usize = 1 << 16;

struct U64Set {
    sorted: IdMap<u64, Rec>,
    phf: IdMap<u64, Rec>,
    hash: HashMap<u64, Rec>,
    bincode: PathBuf,
    probe_keys: Vec<u64>,
}

fn u64_set(n: u64) -> &'static U64Set {
    static SETS: OnceLock<std::sync::Mutex<HashMap<u64, &'static U64Set>>> = OnceLock::new();
    let sets = SETS.get_or_init(Default::default);
    let mut sets = sets.lock().unwrap();
    sets.entry(n).or_insert_with(|| {
        let d = dir();
        let items = || (0..n).map(|i| (key(i), rec(i)));
        let sorted = IdMap::<u64, Rec>::builder(d.join(format!("u64-{n}-sorted"))).index(IndexKind::Sorted);
        let sorted = sorted.build(items()).unwrap();
        let phf = IdMap::<u64, Rec>::builder(d.join(format!("u64-{n}-phf"))).index(IndexKind::PerfectHash);
        let phf = phf.build(items()).unwrap();
        let hash: HashMap<u64, Rec> = items().collect();
        let bincode = d.join(format!("u64-{n}.bincode"));
        std::fs::write(&bincode, bincode::serialize(&hash).unwrap()).unwrap();
        let probe_keys = probes(n, PROBES).into_iter().map(key).collect();
        Box::leak(Box::new(U64Set {
            sorted,
            phf,
            hash,
            bincode,
            probe_keys,
        }))
    })
}

fn config() -> Criterion {
    Criterion::default()
        .sample_size(20)
        .warm_up_time(Duration::from_millis(500))
        .measurement_time(Duration::from_secs(2))
        .configure_from_args()
}

/// Lookup of random present keys; the probe list is larger than the caches' share of it only for the big sets.
fn lookup_u64(c: &mut Criterion) {
    for n in [1_000_000u64, 10_000_000] {
        let mut g = c.benchmark_group(format!("mapped_lookup_u64_{}m", n / 1_000_000));
        g.throughput(Throughput::Elements(1));
        let s = || u64_set(n);
        g.bench_function("mapped_sorted", |b| {
            let (m, p) = (&s().sorted, &s().probe_keys);
            let mut i = 0;
            b.iter(|| {
                i = (i + 1) & (PROBES - 1);
                black_box(m.get(&p[i]))
            })
        });
        g.bench_function("mapped_phf", |b| {
            let (m, p) = (&s().phf, &s().probe_keys);
            let mut i = 0;
            b.iter(|| {
                i = (i + 1) & (PROBES - 1);
                black_box(m.get(&p[i]))
            })
        });
        g.bench_function("std_hashmap", |b| {
            let (m, p) = (&s().hash, &s().probe_keys);
            let mut i = 0;
            b.iter(|| {
                i = (i + 1) & (PROBES - 1);
                black_box(m.get(&p[i]))
            })
        });
        g.finish();
    }
}

struct StrSet {
    exact_sorted: IdMap<str, u64>,
    exact_phf: IdMap<str, u64>,
    approx: IdMap<HashedStr, u64>,
    hash: HashMap<String, u64>,
    probe_keys: Vec<String>,
}

fn str_set() -> &'static StrSet {
    static SET: OnceLock<StrSet> = OnceLock::new();
    SET.get_or_init(|| {
        let n = 1_000_000u64;
        let d = dir();
        let items = || (0..n).map(|i| (skey(i), i));
        StrSet {
            exact_sorted: IdMap::<str, u64>::builder(d.join("str-sorted"))
                .index(IndexKind::Sorted)
                .build(items())
                .unwrap(),
            exact_phf: IdMap::<str, u64>::builder(d.join("str-phf"))
                .index(IndexKind::PerfectHash)
                .build(items())
                .unwrap(),
            approx: IdMap::<HashedStr, u64>::build(items(), d.join("str-approx")).unwrap(),
            hash: items().collect(),
            probe_keys: probes(n, PROBES).into_iter().map(skey).collect(),
        }
    })
}

fn lookup_str(c: &mut Criterion) {
    let mut g = c.benchmark_group("mapped_lookup_str_1m");
    g.throughput(Throughput::Elements(1));
    macro_rules! bench {
        ($name:literal, $map:ident) => {
            g.bench_function($name, |b| {
                let (m, p) = (&str_set().$map, &str_set().probe_keys);
                let mut i = 0;
                b.iter(|| {
                    i = (i + 1) & (PROBES - 1);
                    black_box(m.get(p[i].as_str()))
                })
            });
        };
    }
    bench!("mapped_exact_sorted", exact_sorted);
    bench!("mapped_exact_phf", exact_phf);
    bench!("mapped_approx_phf", approx);
    bench!("std_hashmap", hash);
    g.finish();
}

fn build(c: &mut Criterion) {
    let n = 1_000_000u64;
    let d = dir();
    let mut g = c.benchmark_group("mapped_build_1m");
    g.sample_size(10).throughput(Throughput::Elements(n));
    g.bench_function("array_u64", |b| {
        b.iter(|| MappedArray::<u64>::build((0..n).map(key), d.join("b-array")).unwrap())
    });
    g.bench_function("strs", |b| {
        b.iter(|| MappedStrs::build((0..n).map(skey), d.join("b-strs")).unwrap())
    });
    for (name, index) in [
        ("id_map_u64_rec32_sorted", IndexKind::Sorted),
        ("id_map_u64_rec32_phf", IndexKind::PerfectHash),
    ] {
        g.bench_function(name, |b| {
            b.iter(|| {
                IdMap::<u64, Rec>::builder(d.join("b-map"))
                    .index(index)
                    .build((0..n).map(|i| (key(i), rec(i))))
                    .unwrap()
            })
        });
    }
    g.bench_function("std_hashmap_u64_rec32_in_memory", |b| {
        b.iter(|| (0..n).map(|i| (key(i), rec(i))).collect::<HashMap<u64, Rec>>())
    });
    g.bench_function("bincode_u64_rec32_file", |b| {
        b.iter_batched(
            || (0..n).map(|i| (key(i), rec(i))).collect::<HashMap<u64, Rec>>(),
            |m| std::fs::write(d.join("b-bincode"), bincode::serialize(&m).unwrap()).unwrap(),
            BatchSize::PerIteration,
        )
    });
    g.finish();
}

/// Open a file and look up one key, against reading + deserialising the same map from a bincode file.
fn open_first_lookup(c: &mut Criterion) {
    let mut g = c.benchmark_group("mapped_open_first_lookup_1m");
    let s = || u64_set(1_000_000);
    let k = key(123_457);
    g.bench_function("mapped_phf", |b| {
        let p = s().phf.path().to_owned();
        b.iter(|| *IdMap::<u64, Rec>::open(&p).unwrap().get(&k).unwrap())
    });
    g.bench_function("mapped_sorted", |b| {
        let p = s().sorted.path().to_owned();
        b.iter(|| *IdMap::<u64, Rec>::open(&p).unwrap().get(&k).unwrap())
    });
    g.sample_size(10);
    g.bench_function("bincode_read_deserialize", |b| {
        let p = s().bincode.clone();
        b.iter(|| {
            let m: HashMap<u64, Rec> = bincode::deserialize(&std::fs::read(&p).unwrap()).unwrap();
            m[&k]
        })
    });
    g.finish();
}

const GIB: u64 = 1 << 30;

/// A 1 GiB `MappedArray<u64>` and a ≥ 1 GiB `IdMap<u64, [u64; 15]>` (120-byte records).
fn gib_files() -> &'static (PathBuf, PathBuf) {
    static F: OnceLock<(PathBuf, PathBuf)> = OnceLock::new();
    F.get_or_init(|| {
        let d = dir();
        let a = d.join("gib-array");
        MappedArray::<u64>::build((0..GIB / 8).map(key), &a).unwrap();
        let m = d.join("gib-map");
        let n = 8_500_000u64;
        IdMap::<u64, [u64; 15]>::build((0..n).map(|i| (key(i), [i; 15])), &m).unwrap();
        for p in [&a, &m] {
            let len = std::fs::metadata(p).unwrap().len();
            assert!(len >= GIB, "{} is {len} bytes", p.display());
            eprintln!("{}: {len} bytes", p.display());
        }
        (a, m)
    })
}

fn open_gib(c: &mut Criterion) {
    let mut g = c.benchmark_group("mapped_open_first_lookup_1gib");
    g.bench_function("array_u64", |b| {
        let p = &gib_files().0;
        b.iter(|| MappedArray::<u64>::open(p).unwrap()[123_456_789])
    });
    g.bench_function("id_map_u64_rec120", |b| {
        let p = &gib_files().1;
        let k = key(4_321_000);
        b.iter(|| IdMap::<u64, [u64; 15]>::open(p).unwrap().get(&k).unwrap()[0])
    });
    g.sample_size(10).throughput(Throughput::Bytes(GIB));
    g.bench_function("array_u64_verify", |b| {
        let a = MappedArray::<u64>::open(&gib_files().0).unwrap();
        b.iter(|| a.verify().unwrap())
    });
    g.finish();
}

fn main() {
    let mut c = config();
    build(&mut c);
    lookup_u64(&mut c);
    lookup_str(&mut c);
    open_first_lookup(&mut c);
    open_gib(&mut c);
    c.final_summary();
    let _ = std::fs::remove_dir_all(dir());
}
