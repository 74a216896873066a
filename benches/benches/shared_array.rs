//! SharedArray benchmarks (issue 9), over a real shared-memory region:
//! - `shared_array_8xf64`: `SharedArray::read_into` / `write` (with and without its write time) against the core's `SeqArray::read_into` /
//!   `write_elements` over the same region (the std layer's own cost is the difference), and a plain copy of
//!   `[f64; 8]` as the limit. The ataraxis `SharedMemoryArray` peer is not installable here: its figures (1.05 µs
//!   write, 1.35 µs read of 8 × f64 under its multiprocessing lock, recorded in issue 9 for this machine class)
//!   are compared in docs/BENCHMARKS.md.
//! - `shared_array_8xf64_fixed`: `SharedArray::read_into` / `write` of a `[f64; 8]` (the length known at compile
//!   time, so the inlined copy unrolls), with and without its write time, beside the minimal seqlock of
//!   `benches/benches/seqlock.rs` (the protocol's own cost) written here again over 8 atomic words.
//! - `shared_array_1mib`: the same for a 1 MiB array (131072 × f64), against a plain 1 MiB memcpy.
//! - `shared_array_8xf64_waited`: `SharedArray::write` with no one waiting and while a thread follows every version
//!   with `wait_changed` (the wake's cost; issue 23).
//! - `shared_array_cross_process`: read latency of 8 × f64 while another process (this binary re-executed with
//!   `SEQRING_BENCH_WRITER` set) writes at full speed; every read is checked for tearing.

use criterion::{BenchmarkId, Criterion, Throughput};
use seqring::shared_array::{ArrayOptions, SharedArray};
use seqring_core::seqlock::{SeqArray, WriteStamp};
use seqring_core::Spins;
use std::hint::black_box;
use std::process::{Command, Stdio};
use std::sync::atomic::Ordering;
use std::time::Instant;

const WRITER_VAR: &str = "SEQRING_BENCH_WRITER";
const SMALL: usize = 8;
const MIB: usize = (1 << 20) / 8;
/// The core's patience in the side-by-side runs: uncontended, it is never used.
const PATIENCE: u32 = 10_000;

fn name(tag: &str) -> String {
    format!("seqring-bench-{tag}-{}", std::process::id())
}

/// The core's array over the same shared region as `array`, opened a second time.
fn core_view(array: &SharedArray<f64>) -> SeqArray<seqring_platform::Region> {
    let region = seqring_platform::Region::open_shm(array.name()).unwrap();
    SeqArray::open(region, Spins(0)).unwrap()
}

/// Benchmarks, side by side over one region of `len` f64: `SharedArray::read_into`, the core's `read_into`,
/// `SharedArray::write` with and without its write time, the core's `write_elements`, and a plain copy (the limit).
fn side_by_side(c: &mut Criterion, group: &str, len: usize) {
    let mut g = c.benchmark_group(group);
    g.throughput(Throughput::Bytes((len * 8) as u64));
    let array = SharedArray::<f64>::create(name(group), &[len as u64]).unwrap();
    let untimed =
        SharedArray::<f64>::open_with(array.name(), None, &ArrayOptions::default().write_times(false)).unwrap();
    let core = core_view(&array);
    let src = vec![1.5f64; len];
    let mut dst = vec![0f64; len];
    array.write(&src).unwrap();
    g.bench_function("shared_array_read_into", |b| {
        b.iter(|| array.read_into(black_box(&mut dst)).unwrap())
    });
    g.bench_function("core_read_into", |b| {
        b.iter(|| core.read_into(0, black_box(&mut dst), Spins(PATIENCE)).unwrap())
    });
    g.bench_function("shared_array_write", |b| {
        b.iter(|| array.write(black_box(&src)).unwrap())
    });
    g.bench_function("shared_array_write_untimed", |b| {
        b.iter(|| untimed.write(black_box(&src)).unwrap())
    });
    let mut time_ns = 0;
    g.bench_function("core_write_elements", |b| {
        b.iter(|| {
            time_ns += 1;
            let stamp = WriteStamp { token: 1, time_ns };
            core.write_elements(0, black_box(&src), stamp, Spins(PATIENCE)).unwrap()
        })
    });
    g.bench_function("shared_array_get", |b| {
        b.iter(|| array.get(black_box(&[len as u64 / 2])).unwrap())
    });
    g.bench_function("limit_memcpy", |b| {
        b.iter(|| black_box(&mut dst[..]).copy_from_slice(black_box(&src[..])))
    });
    g.finish();
}

/// The smallest correct seqlock over 8 words (Boehm's, with the P1478 copy), as in `benches/benches/seqlock.rs`.
struct MiniSeqlock {
    seq: std::sync::atomic::AtomicU64,
    data: [std::sync::atomic::AtomicU64; SMALL],
}

impl MiniSeqlock {
    fn read(&self, dst: &mut [f64; SMALL]) -> bool {
        // Acquire: pairs with the Release store that ends a write.
        let s1 = self.seq.load(Ordering::Acquire);
        if s1 % 2 == 1 {
            return false;
        }
        for (d, w) in dst.iter_mut().zip(&self.data) {
            *d = f64::from_bits(w.load(Ordering::Relaxed));
        }
        // Acquire fence: pairs with the writer's Release fence after its CAS.
        std::sync::atomic::fence(Ordering::Acquire);
        s1 == self.seq.load(Ordering::Relaxed)
    }

    fn write(&self, src: &[f64; SMALL]) -> bool {
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
        std::sync::atomic::fence(Ordering::Release);
        for (w, v) in self.data.iter().zip(src) {
            w.store(v.to_bits(), Ordering::Relaxed);
        }
        // Release: pairs with the reader's Acquire load of `s1`.
        self.seq.store(s + 2, Ordering::Release);
        true
    }
}

/// 8 × f64 from and into `[f64; 8]`: the fixed-size fast path, beside the minimal seqlock.
fn fixed(c: &mut Criterion) {
    let mut g = c.benchmark_group("shared_array_8xf64_fixed");
    let array = SharedArray::<f64>::create(name("fixed"), &[SMALL as u64]).unwrap();
    let untimed =
        SharedArray::<f64>::open_with(array.name(), None, &ArrayOptions::default().write_times(false)).unwrap();
    let src = [1.5f64; SMALL];
    let mut dst = [0f64; SMALL];
    array.write(&src).unwrap();
    g.bench_function("shared_array_read_into", |b| {
        b.iter(|| {
            let dst: &mut [f64; SMALL] = black_box(&mut dst);
            array.read_into(dst).unwrap()
        })
    });
    g.bench_function("shared_array_write", |b| {
        b.iter(|| {
            let src: &[f64; SMALL] = black_box(&src);
            array.write(src).unwrap()
        })
    });
    g.bench_function("shared_array_write_untimed", |b| {
        b.iter(|| {
            let src: &[f64; SMALL] = black_box(&src);
            untimed.write(src).unwrap()
        })
    });
    let mini = MiniSeqlock {
        seq: std::sync::atomic::AtomicU64::new(0),
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

/// The writer process: writes 8 × f64, every element the same counter, until the stop cell (element 0 of the
/// control array) is set.
fn writer(data_name: &str) {
    let data = SharedArray::<f64>::open(data_name).unwrap();
    let ctl = SharedArray::<u64>::open(format!("{data_name}.ctl")).unwrap();
    let stop = ctl.atomic(&[0]).unwrap();
    let mut k = 0u64;
    println!("writing");
    while stop.load(Ordering::Acquire) == 0 {
        k += 1;
        data.write(&[k as f64; SMALL]).unwrap();
    }
    ctl.atomic(&[1]).unwrap().store(k, Ordering::Release);
}

fn cross_process(c: &mut Criterion) {
    let mut g = c.benchmark_group("shared_array_cross_process");
    let data_name = name("xproc");
    let array = SharedArray::<f64>::create(&data_name, &[SMALL as u64]).unwrap();
    let ctl = SharedArray::<u64>::create(format!("{data_name}.ctl"), &[2]).unwrap();
    let mut child = Command::new(std::env::current_exe().unwrap())
        .env(WRITER_VAR, &data_name)
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut line = String::new();
    std::io::BufRead::read_line(&mut std::io::BufReader::new(child.stdout.take().unwrap()), &mut line).unwrap();
    assert_eq!(line.trim(), "writing");
    let mut dst = [0f64; SMALL];
    let (mut reads, mut changed, mut last) = (0u64, 0u64, 0u64);
    g.bench_function(
        BenchmarkId::new("read_into_while_another_process_writes", "8xf64"),
        |b| {
            b.iter_custom(|iters| {
                let start = Instant::now();
                for _ in 0..iters {
                    let version = array.read_into(black_box(&mut dst)).unwrap();
                    assert!(dst.iter().all(|&x| x == dst[0]), "torn read {dst:?}");
                    reads += 1;
                    changed += u64::from(version != last);
                    last = version;
                }
                start.elapsed()
            })
        },
    );
    g.finish();
    ctl.atomic(&[0]).unwrap().store(1, Ordering::Release);
    assert!(child.wait().unwrap().success());
    let writes = ctl.atomic(&[1]).unwrap().load(Ordering::Acquire);
    eprintln!(
        "cross-process: {reads} reads, {changed} saw a new version; the writer process completed {writes} writes"
    );
}

/// The writer's cost when a thread waits on the array (issue 23): `write` while another thread follows every
/// version with `wait_changed` (each write then also makes the `FUTEX_WAKE` system call on Linux), beside the plain
/// `write` with no one waiting.
fn write_with_a_waiter(c: &mut Criterion) {
    let mut g = c.benchmark_group("shared_array_8xf64_waited");
    let array = SharedArray::<f64>::create(name("waited"), &[SMALL as u64]).unwrap();
    let src = [1.5f64; SMALL];
    g.bench_function("write_nobody_waits", |b| {
        b.iter(|| array.write(black_box(&src)).unwrap())
    });
    let stop = std::sync::atomic::AtomicBool::new(false);
    std::thread::scope(|s| {
        s.spawn(|| {
            let mut last = array.version();
            while !stop.load(Ordering::Relaxed) {
                if let Some(v) = array.wait_changed(last, std::time::Duration::from_millis(50)).unwrap() {
                    last = v;
                }
            }
        });
        while array.waiters() == 0 {
            std::thread::yield_now();
        }
        g.bench_function("write_while_a_thread_waits", |b| {
            b.iter(|| array.write(black_box(&src)).unwrap())
        });
        stop.store(true, Ordering::Relaxed);
    });
    g.finish();
}

fn main() {
    if let Ok(data_name) = std::env::var(WRITER_VAR) {
        writer(&data_name);
        return;
    }
    let mut c = Criterion::default().configure_from_args();
    side_by_side(&mut c, "shared_array_8xf64", SMALL);
    fixed(&mut c);
    side_by_side(&mut c, "shared_array_1mib", MIB);
    cross_process(&mut c);
    write_with_a_waiter(&mut c);
    c.final_summary();
}
