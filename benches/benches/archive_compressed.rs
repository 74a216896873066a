//! Deflated log archives (issue 23): assembling stored against deflated archives of 64 B messages (time, and bytes
//! per message on disk), and opening and iterating a deflated archive against a stored one, and typed reads
//! (`LogArchive::typed`) beside plain iteration.
//!
//! `cargo bench -p seqring-benches --bench archive_compressed`

use std::cell::OnceCell;
use std::path::Path;
use std::time::Duration;

use criterion::{black_box, BenchmarkId, Criterion, Throughput};
use seqring::archive::{assemble_log_archives, AssembleOptions, Compression, LogArchive};
use seqring::core::ring::record::{align8, encode_data, HEADER_LEN};
use seqring::format::schema::{declare_in, Schema};
use seqring::format::segment::SegmentWriter;

const ONSET: u64 = 1_763_700_000_000_000;
const PAYLOAD: usize = 64;
const MESSAGES: u64 = 200_000;

/// Payload `i`: a sensor-like record, or random bytes.
fn payload(kind: &str, i: u64, rng: &mut u64) -> [u8; PAYLOAD] {
    let mut p = [0u8; PAYLOAD];
    if kind == "random" {
        for chunk in p.chunks_mut(8) {
            *rng ^= *rng << 13;
            *rng ^= *rng >> 7;
            *rng ^= *rng << 17;
            chunk.copy_from_slice(&rng.to_le_bytes());
        }
    } else {
        // A frame counter, a device timestamp, six slowly varying f64 channels (what a rig's sensors log).
        p[..8].copy_from_slice(&i.to_le_bytes());
        p[8..16].copy_from_slice(&(i * 1_000 + 17).to_le_bytes());
        for (c, chunk) in p[16..].chunks_mut(8).enumerate() {
            let v = ((i as f64) * 0.001 * (c + 1) as f64).sin() * 100.0;
            chunk.copy_from_slice(&v.to_le_bytes());
        }
    }
    p
}

/// A log directory of one source: its onset and [`MESSAGES`] 64 B messages of `kind`, in one segment.
fn make_log(dir: &Path, kind: &str) {
    let mut w = SegmentWriter::create(dir.join("000.seg"), ONSET).unwrap();
    let mut onset = vec![0u8; align8(HEADER_LEN + 8).unwrap()];
    encode_data(&mut onset, 1, 0, &ONSET.to_le_bytes());
    w.append_batch(&onset).unwrap();
    let len = align8(HEADER_LEN + PAYLOAD).unwrap();
    let mut rng = 0x9e37_79b9_7f4a_7c15u64;
    let mut first = 1;
    while first <= MESSAGES {
        let n = 4096.min(MESSAGES - first + 1);
        let mut batch = vec![0u8; len * n as usize];
        for (k, chunk) in batch.chunks_mut(len).enumerate() {
            let i = first + k as u64;
            encode_data(chunk, 1, i, &payload(kind, i, &mut rng));
        }
        w.append_batch(&batch).unwrap();
        first += n;
    }
    w.finish().unwrap();
}

fn options(compression: Compression) -> AssembleOptions<'static> {
    AssembleOptions {
        remove_sources: false,
        overwrite: true,
        compression,
        ..Default::default()
    }
}

const VARIANTS: [(&str, Compression); 3] = [
    ("stored", Compression::Stored),
    ("deflate6", Compression::DEFLATED),
    ("deflate1", Compression::Deflated { level: 1 }),
];

fn assembly(c: &mut Criterion, dirs: &[(&str, OnceCell<tempfile::TempDir>)]) {
    let mut group = c.benchmark_group("compressed_assemble");
    group
        .sample_size(10)
        .measurement_time(Duration::from_secs(15))
        .warm_up_time(Duration::from_secs(2))
        .throughput(Throughput::Elements(MESSAGES + 1));
    for (kind, dir) in dirs {
        let dir = || {
            dir.get_or_init(|| {
                let d = tempfile::tempdir().unwrap();
                make_log(d.path(), kind);
                d
            })
            .path()
        };
        for (name, compression) in VARIANTS {
            group.bench_function(BenchmarkId::new(format!("{kind}_{name}"), MESSAGES), |b| {
                b.iter(|| assemble_log_archives(dir(), &options(compression)).unwrap())
            });
            // Bytes on disk per message, from one more assembly (the file is what the timed runs wrote).
            let report = assemble_log_archives(dir(), &options(compression)).unwrap();
            let bytes = report.archives[0].bytes;
            println!(
                "compressed_assemble/{kind}_{name}: {bytes} bytes, {:.1} bytes per message",
                bytes as f64 / (MESSAGES + 1) as f64
            );
        }
    }
    group.finish();
}

fn reading(c: &mut Criterion, dirs: &[(&str, OnceCell<tempfile::TempDir>)]) {
    let mut group = c.benchmark_group("compressed_read");
    group
        .sample_size(10)
        .measurement_time(Duration::from_secs(10))
        .warm_up_time(Duration::from_secs(2))
        .throughput(Throughput::Elements(MESSAGES + 1));
    let (kind, dir) = &dirs[0];
    let dir = dir.get_or_init(|| {
        let d = tempfile::tempdir().unwrap();
        make_log(d.path(), kind);
        d
    });
    for (name, compression) in VARIANTS.into_iter().take(2) {
        let out = dir.path().join(name);
        std::fs::create_dir_all(&out).unwrap();
        std::fs::copy(dir.path().join("000.seg"), out.join("000.seg")).unwrap();
        // The source's schema: eight u64 words (a frame counter, a device time and six f64 channels read as bits).
        declare_in(&out, 1, &Schema::of::<[u64; 8]>()).unwrap();
        assemble_log_archives(&out, &options(compression)).unwrap();
        let path = out.join("1_log.npz");
        group.bench_function(BenchmarkId::new(format!("{kind}_{name}_open"), MESSAGES), |b| {
            b.iter(|| LogArchive::open(&path).unwrap())
        });
        let archive = LogArchive::open(&path).unwrap();
        group.bench_function(BenchmarkId::new(format!("{kind}_{name}_iterate"), MESSAGES), |b| {
            b.iter(|| {
                archive.iter().fold(0u64, |acc, m| {
                    let m = m.unwrap();
                    acc.wrapping_add(m.timestamp_us ^ u64::from(m.payload[3]))
                })
            })
        });
        // `LogArchive::typed`: the schema read and checked, every payload's length checked, then each payload as
        // a `[u64; 8]` (copied: a payload starts 9 bytes into its entry, unaligned for u64).
        group.bench_function(
            BenchmarkId::new(format!("{kind}_{name}_typed_iterate"), MESSAGES),
            |b| {
                b.iter(|| {
                    archive
                        .typed::<[u64; 8]>()
                        .unwrap()
                        .fold(0u64, |acc, m| acc.wrapping_add((*m)[0] ^ (*m)[7]))
                })
            },
        );
        black_box(&archive);
    }
    group.finish();

    // numpy's writers on the same arrays (python3 with numpy, or PYTHON).
    let python = std::env::var("PYTHON").unwrap_or_else(|_| "python3".into());
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("python/numpy_compressed_peer.py");
    let stored = dir.path().join("stored").join("1_log.npz");
    match std::process::Command::new(python)
        .arg(script)
        .arg(&stored)
        .arg("3")
        .output()
    {
        Ok(out) if out.status.success() => println!(
            "numpy peer on the same {kind} messages: {}",
            String::from_utf8_lossy(&out.stdout).trim()
        ),
        _ => println!("numpy peer skipped: python3 with numpy not found"),
    }
}

fn main() {
    let mut c = Criterion::default().configure_from_args();
    let dirs = [("sensor", OnceCell::new()), ("random", OnceCell::new())];
    assembly(&mut c, &dirs);
    reading(&mut c, &dirs);
    c.final_summary();
}
