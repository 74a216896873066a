//! Directory checksum throughput: a 1 GiB tree of 64 × 16 MiB files and a tree of 10,000 × 4 KiB files, both in
//! the page cache, against two limits measured side by side: reading the same files without hashing (the I/O
//! path) and xxh3-128 over the same bytes in memory (the hash).
//!
//! `SEQRING_BENCH_CHECKSUM_MIB` changes the large tree's size (default 1024); `SEQRING_BENCH_DIR` its location
//! (default the system temporary directory).

use criterion::{BenchmarkId, Criterion, Throughput};
use seqring_state::processing::{directory_checksum, ChecksumOptions};
use std::fs;
use std::io::Read;
use std::path::{Path, PathBuf};

struct Tree {
    root: PathBuf,
    files: Vec<PathBuf>,
    bytes: u64,
}

impl Drop for Tree {
    fn drop(&mut self) {
        let _ = fs::remove_dir_all(&self.root);
    }
}

fn make_tree(name: &str, files: usize, size: usize, per_dir: usize) -> Tree {
    let base = std::env::var_os("SEQRING_BENCH_DIR").map_or_else(std::env::temp_dir, PathBuf::from);
    let root = base.join(format!("seqring-bench-{name}-{}", std::process::id()));
    let _ = fs::remove_dir_all(&root);
    let mut state = 0x9e37_79b9_7f4a_7c15u64;
    let mut data = vec![0u8; size];
    let mut paths = Vec::with_capacity(files);
    for i in 0..files {
        for chunk in data.chunks_mut(8) {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            let b = state.to_le_bytes();
            chunk.copy_from_slice(&b[..chunk.len()]);
        }
        let dir = root.join(format!("d{:03}", i / per_dir));
        fs::create_dir_all(&dir).unwrap();
        let path = dir.join(format!("f{i:05}.bin"));
        fs::write(&path, &data).unwrap();
        paths.push(path);
    }
    Tree {
        root,
        files: paths,
        bytes: (files * size) as u64,
    }
}

/// The I/O limit: read every file with 1 MiB reads on `threads` threads, without hashing.
fn read_only(files: &[PathBuf], threads: usize) -> u64 {
    let chunk = files.len().div_ceil(threads);
    std::thread::scope(|s| {
        let handles: Vec<_> = files
            .chunks(chunk.max(1))
            .map(|part| {
                s.spawn(move || {
                    let mut buf = vec![0u8; 1 << 20];
                    let mut total = 0u64;
                    for p in part {
                        let mut f = fs::File::open(p).unwrap();
                        loop {
                            let n = f.read(&mut buf).unwrap();
                            if n == 0 {
                                break;
                            }
                            total += u64::from(buf[n - 1]) + n as u64;
                        }
                    }
                    total
                })
            })
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).sum()
    })
}

fn checksum(root: &Path, workers: usize) -> u128 {
    let options = ChecksumOptions {
        workers: Some(workers),
        save: false,
        ..Default::default()
    };
    directory_checksum(root, &options).unwrap().0
}

fn large(c: &mut Criterion) {
    let mib: usize = std::env::var("SEQRING_BENCH_CHECKSUM_MIB")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(1024);
    let files = (mib / 16).max(1);
    let tree = make_tree("large", files, 16 << 20, 16);
    read_only(&tree.files, 2); // warm the page cache
    let mut group = c.benchmark_group(format!("checksum/{mib}MiB_{files}x16MiB"));
    group.throughput(Throughput::Bytes(tree.bytes)).sample_size(10);
    for workers in [1, 2] {
        group.bench_function(BenchmarkId::new("seqring", format!("{workers}_workers")), |b| {
            b.iter(|| checksum(&tree.root, workers))
        });
    }
    group.bench_function("peer/read_only_2_threads", |b| b.iter(|| read_only(&tree.files, 2)));
    let buffer = fs::read(&tree.files[0]).unwrap();
    group.bench_function("peer/xxh3_128_in_memory_1_thread", |b| {
        b.iter(|| (0..files).fold(0u128, |acc, _| acc ^ xxhash_rust::xxh3::xxh3_128(&buffer)))
    });
    group.finish();
}

fn small(c: &mut Criterion) {
    let tree = make_tree("small", 10_000, 4096, 500);
    read_only(&tree.files, 2);
    let mut group = c.benchmark_group("checksum/10k_files_4KiB");
    group
        .throughput(Throughput::Elements(tree.files.len() as u64))
        .sample_size(10);
    for workers in [1, 2] {
        group.bench_function(BenchmarkId::new("seqring", format!("{workers}_workers")), |b| {
            b.iter(|| checksum(&tree.root, workers))
        });
    }
    group.bench_function("peer/read_only_2_threads", |b| b.iter(|| read_only(&tree.files, 2)));
    group.finish();
}

fn main() {
    let mut c = Criterion::default().configure_from_args();
    large(&mut c);
    small(&mut c);
    c.final_summary();
}
