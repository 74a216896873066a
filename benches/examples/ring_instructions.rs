//! Instruction counts of the ring's producer paths and the seqlock's 8 × f64 paths, for comparisons that machine
//! load cannot blur.
//!
//! Run under callgrind, counting only the timed functions:
//!
//! ```text
//! cargo build --release -p seqring-benches --example ring_instructions
//! valgrind --tool=callgrind --toggle-collect='*produce_*' --toggle-collect='*seqlock_*' \
//!     target/release/examples/ring_instructions
//! callgrind_annotate --inclusive=yes callgrind.out.<pid> | grep -E 'produce_|seqlock_'
//! ```
//!
//! Each `produce_*` function writes [`BURST`] 64-byte records into an empty ring, and each `seqlock_*` function
//! makes [`BURST`] calls; the total divided by `ROUNDS × BURST` (printed) is the instructions per record or call.
//! The drain between bursts is not counted.

use seqring_core::ring::{region_len, Consumer, Mode, Producer, Ring, SpscProducer};
use seqring_core::seqlock::{self, SeqArray, WriteStamp};
use seqring_core::{DType, RawRegion, Spins};
use std::hint::black_box;
use std::sync::atomic::AtomicU64;

const CAPACITY: usize = 64 * 1024;
const BURST: u64 = 768;
const ROUNDS: u64 = 1000;

fn words() -> Vec<AtomicU64> {
    seqring_platform::zeroed_words(region_len(CAPACITY).unwrap())
}

#[inline(never)]
fn produce_spsc_claim_commit(p: &SpscProducer<RawRegion<'_>>, payload: &[u8; 64]) {
    for i in 0..BURST {
        let mut grant = p.claim(1, i, 64).unwrap();
        grant.payload_mut().copy_from_slice(black_box(payload));
        grant.commit().unwrap();
    }
}

#[inline(never)]
fn produce_spsc_try_write(p: &SpscProducer<RawRegion<'_>>, payload: &[u8; 64]) {
    for i in 0..BURST {
        p.try_write(1, i, black_box(payload)).unwrap();
    }
}

#[inline(never)]
fn produce_mpsc_claim_commit(p: &Producer<RawRegion<'_>>, payload: &[u8; 64]) {
    for i in 0..BURST {
        let mut grant = p.claim(1, i, 64).unwrap();
        grant.write(0, black_box(payload));
        grant.commit().unwrap();
    }
}

#[inline(never)]
fn produce_mpsc_try_write(p: &Producer<RawRegion<'_>>, payload: &[u8; 64]) {
    for i in 0..BURST {
        p.try_write(1, i, black_box(payload)).unwrap();
    }
}

/// The peer: rtrb's SPSC push of the same 64 bytes.
#[inline(never)]
fn produce_rtrb_push(tx: &mut rtrb::Producer<[u8; 64]>, payload: &[u8; 64]) {
    for _ in 0..BURST {
        tx.push(*black_box(payload)).unwrap();
    }
}

#[inline(never)]
fn seqlock_read_into(array: &SeqArray<RawRegion<'_>>, out: &mut [f64; 8]) {
    for _ in 0..BURST {
        black_box(array.read_into(0, black_box(&mut out[..]), Spins(100)).unwrap());
    }
}

#[inline(never)]
fn seqlock_read_elements(array: &SeqArray<RawRegion<'_>>, out: &mut [f64; 8]) {
    for _ in 0..BURST {
        black_box(array.read_elements(0, black_box(&mut out[..]), Spins(100)).unwrap());
    }
}

#[inline(never)]
fn seqlock_write_elements(array: &SeqArray<RawRegion<'_>>, src: &[f64; 8]) {
    for i in 0..BURST {
        let stamp = WriteStamp { token: 1, time_ns: i };
        array.write_elements(0, black_box(&src[..]), stamp, Spins(100)).unwrap();
    }
}

/// As [`seqlock_write_elements`], over an OS shared-memory region (the std backend, whose `Memory::wake` is a
/// futex wake): what a `SharedArray` write runs.
#[inline(never)]
fn seqlock_write_elements_shm(array: &SeqArray<seqring_platform::Region>, src: &[f64; 8]) {
    for i in 0..BURST {
        let stamp = WriteStamp { token: 1, time_ns: i };
        array.write_elements(0, black_box(&src[..]), stamp, Spins(100)).unwrap();
    }
}

fn drain(consumer: &mut Consumer<RawRegion<'_>>) -> u64 {
    let mut n = 0;
    while let Some(batch) = consumer.poll(usize::MAX).unwrap() {
        n += batch.records();
        batch.release();
    }
    n
}

fn main() {
    let payload = [0x5a; 64];
    let (spsc_words, mpsc_words) = (words(), words());
    let spsc = Ring::create(RawRegion::new(&spsc_words), Mode::Spsc, None, 1, 0).unwrap();
    let mpsc = Ring::create(RawRegion::new(&mpsc_words), Mode::Mpsc, None, 1, 0).unwrap();
    let (sp, mp) = (SpscProducer::attach(spsc, 1).unwrap(), Producer::attach(mpsc).unwrap());
    let (mut sc, mut mc) = (Consumer::attach(spsc, 2).unwrap(), Consumer::attach(mpsc, 2).unwrap());
    let array_words: Vec<AtomicU64> = (0..seqlock::region_len(64).unwrap() / 8)
        .map(|_| AtomicU64::new(0))
        .collect();
    let array = SeqArray::create(RawRegion::new(&array_words), DType::F64, &[8], 1, 0).unwrap();
    let shm_name = format!("seqring-instructions-{}", std::process::id());
    let shm = seqring_platform::Region::create_shm(
        &shm_name,
        seqlock::region_len(64).unwrap(),
        seqring_platform::CreateOptions::default(),
    )
    .unwrap();
    let shm_array = SeqArray::create(shm, DType::F64, &[8], 1, 0).unwrap();
    let (src, mut out) = ([1.5f64; 8], [0f64; 8]);
    let (mut tx, mut rx) = rtrb::RingBuffer::<[u8; 64]>::new(1024);
    for _ in 0..ROUNDS {
        produce_rtrb_push(&mut tx, &payload);
        while rx.pop().is_ok() {}
        seqlock_write_elements(&array, &src);
        seqlock_write_elements_shm(&shm_array, &src);
        seqlock_read_into(&array, &mut out);
        seqlock_read_elements(&array, &mut out);
        produce_spsc_claim_commit(&sp, &payload);
        assert_eq!(drain(&mut sc), BURST);
        produce_spsc_try_write(&sp, &payload);
        assert_eq!(drain(&mut sc), BURST);
        produce_mpsc_claim_commit(&mp, &payload);
        assert_eq!(drain(&mut mc), BURST);
        produce_mpsc_try_write(&mp, &payload);
        assert_eq!(drain(&mut mc), BURST);
    }
    assert_eq!(out, src);
    let _ = seqring_platform::remove_region(&shm_name);
    println!("records or calls per produce_*/seqlock_* function: {}", ROUNDS * BURST);
}
