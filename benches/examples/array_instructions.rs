//! Instruction counts of `SharedArray`'s 8 × f64 read and write (issue 24), beside the core's `SeqArray` over the
//! same kind of region and a minimal seqlock of 8 atomic words: comparisons that machine load cannot blur.
//!
//! Run under callgrind, counting only the timed functions:
//!
//! ```text
//! cargo build --release -p seqring-benches --example array_instructions
//! valgrind --tool=callgrind --toggle-collect='*::op_*' target/release/examples/array_instructions
//! callgrind_annotate --inclusive=yes callgrind.out.<pid> | grep -E '::op_'
//! ```
//!
//! Each `op_*` function makes [`BURST`] calls; the total divided by `ROUNDS × BURST` (printed) is the
//! instructions per call.

use seqring::shared_array::{ArrayOptions, SharedArray};
use seqring_core::seqlock::{SeqArray, WriteStamp};
use seqring_core::Spins;
use std::hint::black_box;
use std::sync::atomic::{fence, AtomicU64, Ordering};

const BURST: u64 = 768;
const ROUNDS: u64 = 1000;
const LEN: usize = 8;

/// The smallest correct seqlock over 8 words, as in `benches/benches/seqlock.rs`.
struct MiniSeqlock {
    seq: AtomicU64,
    data: [AtomicU64; LEN],
}

impl MiniSeqlock {
    #[inline]
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

    #[inline]
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

#[inline(never)]
fn op_minimal_read(mini: &MiniSeqlock, out: &mut [f64; LEN]) {
    for _ in 0..BURST {
        assert!(mini.read(black_box(out)));
    }
}

#[inline(never)]
fn op_minimal_write(mini: &MiniSeqlock, src: &[f64; LEN]) {
    for _ in 0..BURST {
        assert!(mini.write(black_box(src)));
    }
}

#[inline(never)]
fn op_shared_read_into(array: &SharedArray<f64>, out: &mut [f64; LEN]) {
    for _ in 0..BURST {
        black_box(array.read_into(black_box(&mut out[..])).unwrap());
    }
}

#[inline(never)]
fn op_shared_write(array: &SharedArray<f64>, src: &[f64; LEN]) {
    for _ in 0..BURST {
        array.write(black_box(&src[..])).unwrap();
    }
}

#[inline(never)]
fn op_shared_write_untimed(array: &SharedArray<f64>, src: &[f64; LEN]) {
    for _ in 0..BURST {
        array.write(black_box(&src[..])).unwrap();
    }
}

/// As [`op_shared_read_into`] into an array: the length is known at compile time, so the copy unrolls.
#[inline(never)]
fn op_shared_read_array(array: &SharedArray<f64>, out: &mut [f64; LEN]) {
    for _ in 0..BURST {
        let out: &mut [f64; LEN] = black_box(&mut *out);
        black_box(array.read_into(out).unwrap());
    }
}

/// As [`op_shared_write`] from an array.
#[inline(never)]
fn op_shared_write_array(array: &SharedArray<f64>, src: &[f64; LEN]) {
    for _ in 0..BURST {
        let src: &[f64; LEN] = black_box(src);
        array.write(src).unwrap();
    }
}

/// As [`op_shared_write_untimed`] from an array.
#[inline(never)]
fn op_shared_write_array_untimed(array: &SharedArray<f64>, src: &[f64; LEN]) {
    for _ in 0..BURST {
        let src: &[f64; LEN] = black_box(src);
        array.write(src).unwrap();
    }
}

#[inline(never)]
fn op_core_read_into(array: &SeqArray<seqring_platform::Region>, out: &mut [f64; LEN]) {
    for _ in 0..BURST {
        black_box(array.read_into(0, black_box(&mut out[..]), Spins(100)).unwrap());
    }
}

#[inline(never)]
fn op_core_write_elements(array: &SeqArray<seqring_platform::Region>, src: &[f64; LEN]) {
    for i in 0..BURST {
        let stamp = WriteStamp {
            token: 1,
            time_ns: i + 1,
        };
        array.write_elements(0, black_box(&src[..]), stamp, Spins(100)).unwrap();
    }
}

#[inline(never)]
fn op_clock_coarse() {
    for _ in 0..BURST {
        black_box(seqring_platform::clock::now_ns_coarse());
    }
}

fn main() {
    let name = format!("seqring-array-instructions-{}", std::process::id());
    let shared = SharedArray::<f64>::create(&name, &[LEN as u64]).unwrap();
    let untimed = SharedArray::<f64>::open_with(&name, None, &ArrayOptions::default().write_times(false)).unwrap();
    let core = SeqArray::open(seqring_platform::Region::open_shm(&name).unwrap(), Spins(0)).unwrap();
    let mini = MiniSeqlock {
        seq: AtomicU64::new(0),
        data: Default::default(),
    };
    let (src, mut out) = ([1.5f64; LEN], [0f64; LEN]);
    for _ in 0..ROUNDS {
        op_minimal_write(&mini, &src);
        op_minimal_read(&mini, &mut out);
        op_shared_write(&shared, &src);
        op_shared_write_untimed(&untimed, &src);
        op_shared_read_into(&shared, &mut out);
        op_shared_read_array(&shared, &mut out);
        op_shared_write_array(&shared, &src);
        op_shared_write_array_untimed(&untimed, &src);
        op_core_write_elements(&core, &src);
        op_core_read_into(&core, &mut out);
        op_clock_coarse();
    }
    assert_eq!(out, src);
    println!("calls per op_* function: {}", ROUNDS * BURST);
}
