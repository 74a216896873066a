//! Seqlock array benchmarks (issue 2): a [`SeqArray`] of 8 × f64.
//! - `seqlock_8xf64`: uncontended `read_elements` (with its snapshot), the lean `read_into` and `write_elements`,
//!   against the limit, a plain copy of
//!   `[f64; 8]` through `black_box`, and against a minimal seqlock of 8 atomic words written inline here (the
//!   protocol's own cost: sequence loads, fence and the P1478 word copy, without metadata or validation).
//! - `seqlock_8xf64_contended`: read latency while another thread hammers full writes. Every read is checked for
//!   tearing (all 8 elements equal); successful and failed reads are counted and printed.

use criterion::Criterion;
use seqring_core::seqlock::{self, SeqArray, WriteStamp};
use seqring_core::{DType, RawRegion, Spins};
use std::hint::black_box;
use std::sync::atomic::{fence, AtomicBool, AtomicU64, Ordering};
use std::time::Instant;

/// Elements in the array.
const LEN: usize = 8;
/// A reader's patience in spins before it reports `Busy` or `WriterStalled`.
const PATIENCE: u32 = 10_000;

fn words(bytes: usize) -> Vec<AtomicU64> {
    seqring_platform::zeroed_words(seqlock::region_len(bytes).unwrap())
}

/// The smallest correct seqlock over 8 words (Boehm's, with the P1478 copy): the reference for the protocol's cost.
struct MiniSeqlock {
    seq: AtomicU64,
    data: [AtomicU64; LEN],
}

impl MiniSeqlock {
    fn read(&self, dst: &mut [f64; LEN]) -> bool {
        // Acquire: pairs with the Release store that ends a write.
        let s1 = self.seq.load(Ordering::Acquire);
        if s1 % 2 == 1 {
            return false;
        }
        for (d, w) in dst.iter_mut().zip(&self.data) {
            *d = f64::from_bits(w.load(Ordering::Relaxed));
        }
        // Acquire fence: pairs with the writer's Release fence after its CAS.
        fence(Ordering::Acquire);
        s1 == self.seq.load(Ordering::Relaxed)
    }

    fn write(&self, src: &[f64; LEN]) -> bool {
        let s = self.seq.load(Ordering::Relaxed);
        // Acquire: pairs with the previous writer's Release store of `s`.
        if s % 2 == 1
            || self
                .seq
                .compare_exchange(s, s + 1, Ordering::Acquire, Ordering::Relaxed)
                .is_err()
        {
            return false;
        }
        // Release fence: pairs with the reader's Acquire fence; orders the odd sequence before the data stores.
        fence(Ordering::Release);
        for (w, v) in self.data.iter().zip(src) {
            w.store(v.to_bits(), Ordering::Relaxed);
        }
        // Release: pairs with the reader's Acquire load of `s1`.
        self.seq.store(s + 2, Ordering::Release);
        true
    }
}

fn uncontended(c: &mut Criterion) {
    let mut g = c.benchmark_group("seqlock_8xf64");
    let w = words(LEN * 8);
    let array = SeqArray::create(RawRegion::new(&w), DType::F64, &[LEN as u64], 1, 0).unwrap();
    let src = [1.5f64; LEN];
    let mut dst = [0f64; LEN];
    array.write_elements(0, &src, WriteStamp::default(), Spins(0)).unwrap();
    g.bench_function("seqring_read_elements", |b| {
        b.iter(|| {
            array
                .read_elements(0, black_box(&mut dst), Spins(PATIENCE))
                .unwrap()
                .version
        })
    });
    g.bench_function("seqring_read_into", |b| {
        b.iter(|| array.read_into(0, black_box(&mut dst), Spins(PATIENCE)).unwrap())
    });
    let mut time_ns = 0;
    g.bench_function("seqring_write_elements", |b| {
        b.iter(|| {
            time_ns += 1;
            let stamp = WriteStamp { token: 1, time_ns };
            array
                .write_elements(0, black_box(&src), stamp, Spins(PATIENCE))
                .unwrap()
        })
    });
    g.bench_function("limit_memcpy_read", |b| {
        b.iter(|| *black_box(&mut dst) = *black_box(&src))
    });
    let mini = MiniSeqlock {
        seq: AtomicU64::new(0),
        data: Default::default(),
    };
    g.bench_function("reference_minimal_seqlock_read", |b| {
        b.iter(|| assert!(mini.read(black_box(&mut dst))))
    });
    g.bench_function("reference_minimal_seqlock_write", |b| {
        b.iter(|| assert!(mini.write(black_box(&src))))
    });
    g.finish();
}

fn contended(c: &mut Criterion) {
    let mut g = c.benchmark_group("seqlock_8xf64_contended");
    let w = words(LEN * 8);
    let array = SeqArray::create(RawRegion::new(&w), DType::F64, &[LEN as u64], 1, 0).unwrap();
    let stop = AtomicBool::new(false);
    let writes = AtomicU64::new(0);
    let (mut ok, mut failed, mut changed) = (0u64, 0u64, 0u64);
    std::thread::scope(|s| {
        s.spawn(|| {
            let mut k = 0u64;
            while !stop.load(Ordering::Relaxed) {
                k += 1;
                let stamp = WriteStamp { token: 2, time_ns: k };
                // A write fails only if this (sole) writer were stalled: impossible here.
                array.write_elements(0, &[k as f64; LEN], stamp, Spins(0)).unwrap();
            }
            writes.store(k, Ordering::Relaxed);
        });
        let mut dst = [0f64; LEN];
        let mut last = 0;
        g.bench_function("seqring_read_while_writer_hammers", |b| {
            b.iter_custom(|iters| {
                let start = Instant::now();
                for _ in 0..iters {
                    match array.read_elements(0, black_box(&mut dst), Spins(PATIENCE)) {
                        Ok(snap) => {
                            assert!(dst.iter().all(|&x| x == dst[0]), "torn read {dst:?}");
                            ok += 1;
                            changed += u64::from(snap.version != last);
                            last = snap.version;
                        }
                        Err(_) => failed += 1,
                    }
                }
                start.elapsed()
            })
        });
        stop.store(true, Ordering::Relaxed);
    });
    g.finish();
    let writes = writes.load(Ordering::Relaxed);
    eprintln!(
        "contended reads: {ok} succeeded, {failed} gave up after {PATIENCE} spins ({:.4} %), {changed} saw a new \
         version; the writer completed {writes} writes",
        100.0 * failed as f64 / (ok + failed).max(1) as f64
    );
}

fn main() {
    let mut c = Criterion::default().configure_from_args();
    uncontended(&mut c);
    contended(&mut c);
    c.final_summary();
}
