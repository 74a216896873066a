//! Log archives: assembly from segments and from `.npy` entries, opening an archive, iterating its messages, and
//! segment writing/scanning; with ataraxis 7.2.0 side by side when `ATARAXIS_PYTHON` names a Python that has
//! `ataraxis-data-structures==7.2.0` (it runs `benches/python/ataraxis_archive_peer.py` on the same `.npy` files).
//!
//! `cargo bench -p seqring-benches --bench archive`

use std::path::Path;
use std::process::Command;
use std::time::Duration;

use std::cell::OnceCell;

use criterion::{black_box, BenchmarkId, Criterion, Throughput};
use seqring::archive::{assemble_log_archives, AssembleOptions, LogArchive};
use seqring::core::ring::record::{align8, encode_data, HEADER_LEN};
use seqring::format::npy::u8_vector_header;
use seqring::format::segment::{Segment, SegmentWriter};
use seqring_benches::read_every_message;

const ONSET: u64 = 1_763_700_000_000_000;
const PAYLOAD: usize = 32;
const SOURCES: u64 = 4;

/// The ring bytes of `count` records of `source` starting at timestamp `first`.
fn records(source: u8, first: u64, count: u64) -> Vec<u8> {
    let len = align8(HEADER_LEN + PAYLOAD).unwrap();
    let mut out = vec![0u8; len * count as usize];
    for (i, chunk) in out.chunks_mut(len).enumerate() {
        let ts = first + i as u64;
        let mut payload = [0u8; PAYLOAD];
        payload[..8].copy_from_slice(&ts.to_le_bytes());
        encode_data(chunk, source, ts, &payload);
    }
    out
}

/// Segments holding `per_source` 32-byte messages of each of [`SOURCES`] sources, in batches of 4096 records.
fn make_segments(dir: &Path, per_source: u64) {
    let mut w = SegmentWriter::create(dir.join("000.seg"), ONSET).unwrap();
    let mut onsets = Vec::new();
    for s in 1..=SOURCES as u8 {
        let mut r = vec![0u8; align8(HEADER_LEN + 8).unwrap()];
        encode_data(&mut r, s, 0, &ONSET.to_le_bytes());
        onsets.extend_from_slice(&r);
    }
    w.append_batch(&onsets).unwrap();
    let mut first = 1;
    while first <= per_source {
        let n = 1024.min(per_source - first + 1);
        let mut batch = Vec::new();
        for s in 1..=SOURCES as u8 {
            batch.extend_from_slice(&records(s, first, n));
        }
        w.append_batch(&batch).unwrap();
        first += n;
    }
    w.finish().unwrap();
}

/// `.npy` entries exactly as ataraxis's `DataLogger` writes them (`numpy.save` of `[source][timestamp][payload]`).
fn make_npy_entries(dir: &Path, per_source: u64) {
    for s in 1..=SOURCES as u8 {
        for ts in 0..=per_source {
            let mut data = vec![s];
            data.extend_from_slice(&ts.to_le_bytes());
            if ts == 0 {
                data.extend_from_slice(&ONSET.to_le_bytes());
            } else {
                let mut payload = [0u8; PAYLOAD];
                payload[..8].copy_from_slice(&ts.to_le_bytes());
                data.extend_from_slice(&payload);
            }
            let mut file = u8_vector_header(data.len() as u64).to_vec();
            file.extend_from_slice(&data);
            std::fs::write(dir.join(format!("{s:03}_{ts:020}.npy")), file).unwrap();
        }
    }
}

fn keep() -> AssembleOptions<'static> {
    AssembleOptions {
        remove_sources: false,
        overwrite: true,
        ..Default::default()
    }
}

fn assembly(c: &mut Criterion) {
    let mut group = c.benchmark_group("assemble");
    group
        .sample_size(10)
        .measurement_time(Duration::from_secs(20))
        .warm_up_time(Duration::from_secs(2));

    // Inputs are built on first use, so a filter that skips a benchmark skips its setup too.
    let seg_dir = OnceCell::new();
    let seg_dir = || {
        seg_dir.get_or_init(|| {
            let dir = tempfile::tempdir().unwrap();
            make_segments(dir.path(), 250_000);
            dir
        })
    };
    let entries = SOURCES * (250_000 + 1);
    group.throughput(Throughput::Elements(entries));
    group.bench_function(BenchmarkId::new("segments", entries), |b| {
        let dir = seg_dir().path();
        b.iter(|| assemble_log_archives(dir, &keep()).unwrap())
    });
    group.bench_function(BenchmarkId::new("segments_verify", entries), |b| {
        let dir = seg_dir().path();
        b.iter(|| assemble_log_archives(dir, &AssembleOptions { verify: true, ..keep() }).unwrap())
    });

    let npy_dir = OnceCell::new();
    let per_source = 10_000 - 1;
    let entries = SOURCES * (per_source + 1);
    group.throughput(Throughput::Elements(entries));
    group.bench_function(BenchmarkId::new("npy_entries", entries), |b| {
        let dir = npy_dir
            .get_or_init(|| {
                let dir = tempfile::tempdir().unwrap();
                make_npy_entries(dir.path(), per_source);
                dir
            })
            .path();
        b.iter(|| assemble_log_archives(dir, &keep()).unwrap())
    });
    group.finish();

    // The peer runs on the same files, when the seqring side ran.
    let Some(npy_dir) = npy_dir.get() else { return };
    if let Ok(python) = std::env::var("ATARAXIS_PYTHON") {
        let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("python/ataraxis_archive_peer.py");
        let out = Command::new(python)
            .arg(script)
            .arg(npy_dir.path())
            .arg("5")
            .output()
            .unwrap();
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
        println!(
            "ataraxis 7.2.0 peer on the same {entries} npy entries: {}",
            String::from_utf8_lossy(&out.stdout)
        );
    } else {
        println!("ataraxis peer skipped: set ATARAXIS_PYTHON to a Python with ataraxis-data-structures==7.2.0");
    }
}

fn reading(c: &mut Criterion) {
    let dir = tempfile::tempdir().unwrap();
    make_segments(dir.path(), 250_000);
    assemble_log_archives(dir.path(), &keep()).unwrap();
    let path = dir.path().join("1_log.npz");
    let archive = LogArchive::open(&path).unwrap();
    let messages = archive.message_count() as u64;

    let mut group = c.benchmark_group("read");
    group.sample_size(20).measurement_time(Duration::from_secs(10));
    group.throughput(Throughput::Elements(messages + 1));
    group.bench_function(BenchmarkId::new("open", messages + 1), |b| {
        b.iter(|| LogArchive::open(black_box(&path)).unwrap())
    });
    group.throughput(Throughput::Elements(messages));
    group.bench_function(BenchmarkId::new("iterate", messages), |b| {
        b.iter(|| {
            let mut sum = 0u64;
            for m in &archive {
                let m = m.unwrap();
                sum = sum.wrapping_add(m.timestamp_us).wrapping_add(m.payload.len() as u64);
            }
            black_box(sum)
        })
    });
    group.bench_function(BenchmarkId::new("iterate_read_payload", messages), |b| {
        b.iter(|| {
            let mut sum = 0u64;
            for m in &archive {
                let m = m.unwrap();
                sum = sum.wrapping_add(u64::from(m.payload[PAYLOAD - 1]) + u64::from(m.payload[0]));
            }
            black_box(sum)
        })
    });
    group.finish();

    let mut group = c.benchmark_group("segment");
    group.sample_size(20).measurement_time(Duration::from_secs(10));
    let seg = dir.path().join("000.seg");
    let bytes = std::fs::metadata(&seg).unwrap().len();
    group.throughput(Throughput::Bytes(bytes));
    group.bench_function(BenchmarkId::new("scan_records", bytes), |b| {
        b.iter(|| {
            Segment::open(&seg)
                .unwrap()
                .records()
                .map(|r| r.unwrap().1.payload.len())
                .sum::<usize>()
        })
    });
    let batch = records(1, 1, 4096);
    group.throughput(Throughput::Bytes(batch.len() as u64 * 64));
    group.bench_function(BenchmarkId::new("write_64_batches", batch.len()), |b| {
        b.iter(|| {
            let out = tempfile::tempdir().unwrap();
            let mut w = SegmentWriter::create(out.path().join("w.seg"), ONSET).unwrap();
            for _ in 0..64 {
                w.append_batch(&batch).unwrap();
            }
        })
    });
    group.finish();
}

/// The CPU time of this process so far (every thread). Unix only: the bench that uses it is left out elsewhere.
#[cfg(unix)]
fn process_cpu() -> Duration {
    let mut t = libc::timespec { tv_sec: 0, tv_nsec: 0 };
    // SAFETY: `t` is a valid, writable timespec for the call; CLOCK_PROCESS_CPUTIME_ID exists on every Linux.
    unsafe { libc::clock_gettime(libc::CLOCK_PROCESS_CPUTIME_ID, &mut t) };
    Duration::new(t.tv_sec as u64, t.tv_nsec as u32)
}

/// A segment holding the onset and `count - 1` messages of 32 B of source 1.
fn make_one_source(dir: &Path, count: u64) {
    let mut w = SegmentWriter::create(dir.join("000.seg"), ONSET).unwrap();
    let mut r = vec![0u8; align8(HEADER_LEN + 8).unwrap()];
    encode_data(&mut r, 1, 0, &ONSET.to_le_bytes());
    w.append_batch(&r).unwrap();
    let mut first = 1;
    while first < count {
        let n = 4096.min(count - first);
        w.append_batch(&records(1, first, n)).unwrap();
        first += n;
    }
    w.finish().unwrap();
}

/// Opening an archive of 1 M entries (issue 24: ≤ 50 ms), side by side with the zip crate's directory index over
/// the same file (what the reader used before, and most of its time), and with numpy's `np.load` listing the
/// entries (`NpzFile.files`, Python's `zipfile` directory) when `python3` has numpy.
fn open_large(c: &mut Criterion) {
    const ENTRIES: u64 = 1_000_000;
    let dir = tempfile::tempdir().unwrap();
    make_one_source(dir.path(), ENTRIES);
    assemble_log_archives(dir.path(), &keep()).unwrap();
    let path = dir.path().join("1_log.npz");
    assert_eq!(LogArchive::open(&path).unwrap().entry_count() as u64, ENTRIES);
    let mut group = c.benchmark_group("open_1m");
    group.sample_size(10).measurement_time(Duration::from_secs(10));
    group.throughput(Throughput::Elements(ENTRIES));
    // The drop (unmapping 300 MB and freeing the index) is not part of the open.
    group.bench_function("seqring_open", |b| {
        b.iter_with_large_drop(|| LogArchive::open(black_box(&path)).unwrap())
    });
    // The same, timed by the process's CPU time (every thread's; the drop excluded): on a machine shared with
    // other work, the part of the wall time that is this open's own.
    #[cfg(unix)]
    group.bench_function("seqring_open_cpu_time", |b| {
        b.iter_custom(|iters| {
            let mut total = Duration::ZERO;
            for _ in 0..iters {
                let t = process_cpu();
                let archive = LogArchive::open(black_box(&path)).unwrap();
                total += process_cpu() - t;
                drop(archive);
            }
            total
        })
    });
    // Every entry checked at open, as `open` did before issue 24 (in parallel).
    group.bench_function("seqring_open_verified", |b| {
        b.iter_with_large_drop(|| LogArchive::open_verified(black_box(&path)).unwrap())
    });
    // First access: open, then every message read (timestamp and payload length), each block checked on the way.
    group.bench_function("open_then_iterate_all", |b| {
        b.iter_with_large_drop(|| {
            let archive = LogArchive::open(black_box(&path)).unwrap();
            black_box(read_every_message(&archive));
            archive
        })
    });
    // The same, timed by the process's CPU time (every thread's; the drop excluded).
    #[cfg(unix)]
    group.bench_function("open_then_iterate_all_cpu_time", |b| {
        b.iter_custom(|iters| {
            let mut total = Duration::ZERO;
            for _ in 0..iters {
                let t = process_cpu();
                let archive = LogArchive::open(black_box(&path)).unwrap();
                black_box(read_every_message(&archive));
                total += process_cpu() - t;
                drop(archive);
            }
            total
        })
    });
    // Iterating an archive already open, every block checked.
    let opened = LogArchive::open_verified(&path).unwrap();
    group.bench_function("iterate_all_again", |b| {
        b.iter(|| {
            let mut sum = 0u64;
            for m in &opened {
                let m = m.unwrap();
                sum = sum.wrapping_add(m.timestamp_us).wrapping_add(m.payload.len() as u64);
            }
            black_box(sum)
        })
    });
    drop(opened);
    group.bench_function("peer_zip_crate_index", |b| {
        b.iter_with_large_drop(|| {
            // Over the file itself (its own reads), so that the index it returns, and its drop, are its own.
            zip::ZipArchive::new(std::fs::File::open(&path).unwrap()).unwrap()
        })
    });
    group.finish();
    let script = "import sys, time, numpy as np\n\
        ts = []\n\
        for _ in range(int(sys.argv[2])):\n\
        \x20   t = time.perf_counter(); f = np.load(sys.argv[1]); n = len(f.files); f.close(); ts.append(time.perf_counter() - t)\n\
        ts.sort(); print(f'{ts[len(ts) // 2] * 1e3:.1f} ms median of {len(ts)} ({n} entries)')\n";
    match Command::new("python3")
        .arg("-c")
        .arg(script)
        .arg(&path)
        .arg("1")
        .output()
    {
        Ok(out) if out.status.success() => println!(
            "numpy np.load(...).files on the same {ENTRIES} entries: {}",
            String::from_utf8_lossy(&out.stdout).trim()
        ),
        _ => println!("numpy peer skipped: python3 with numpy not found"),
    }
}

fn main() {
    let mut c = Criterion::default().configure_from_args();
    assembly(&mut c);
    reading(&mut c);
    open_large(&mut c);
    c.final_summary();
}
