//! Crash points: every producer, consumer and unblock stopped after each of its stores ([`StopAfter`]), and what
//! its successor then sees. For each operation the test first runs it unstopped to count its stores `n`, then, for
//! every `k` in `1..=n`, runs it on a fresh ring with a crash right after store `k` and checks the successor:
//! - a crashed producer's record is delivered exactly when its commit landed, and otherwise blocks the head until
//!   the consumer unblocks it (counted abandoned); nothing stale or half-written is ever delivered; a live
//!   producer's records flow after it, in order; freed space is zero again;
//! - a crashed consumer (inside `release` or `unblock`) is evicted, and its successor delivers every record
//!   exactly once or, for a batch whose release had not begun, again whole.

use super::*;
use crate::memory::RawRegion;
use crate::patience::Spins;
use crate::sync::AtomicU64;
use crate::testing::{Stop, StopAfter};
use std::vec::Vec;

use super::tests::{drain, words};

/// Drains, and unblocks whatever blocks the head (its deadline having passed), until nothing is left.
fn drain_unblocking(consumer: &mut Consumer<RawRegion<'_>>) -> Vec<(u8, u64, Vec<u8>)> {
    let mut out = drain(consumer);
    for _ in 0..8 {
        let Some(noted) = consumer.blocked().unwrap() else {
            return out;
        };
        assert!(consumer.unblock(noted).unwrap(), "a dead claim is unblocked: {noted:?}");
        out.extend(drain(consumer));
    }
    panic!("still blocked after 8 unblocks");
}

fn assert_free_space_zero(ring: &Ring<RawRegion<'_>>) {
    let s = ring.stats();
    assert_eq!(s.head, s.tail, "drained");
    let mut data = std::vec![0u8; ring.capacity()];
    ring.memory().copy_out(DATA_OFFSET, &mut data);
    assert!(data.iter().all(|&b| b == 0), "free space is zero");
}

/// Runs `f`, which may die at an injected crash; returns whether it did.
fn dies(f: impl FnOnce()) -> bool {
    std::panic::catch_unwind(std::panic::AssertUnwindSafe(f)).is_err()
}

/// A ring of 128 bytes (max record 64) of `mode`, with `before` bytes written and consumed in 40-byte records (0
/// or 120: at 120 the next record wraps), and its consumer.
fn ring_at<'w>(w: &'w [AtomicU64], mode: Mode, wrap: bool) -> (Ring<RawRegion<'w>>, Consumer<RawRegion<'w>>) {
    let ring = Ring::create(RawRegion::new(w), mode, Some(64), 1, 0).unwrap();
    let mut c = Consumer::attach(ring, 1).unwrap();
    if wrap {
        match mode {
            Mode::Mpsc => {
                let p = Producer::attach(ring).unwrap();
                (0..3).for_each(|i| p.try_write(1, i, &[1; 24]).unwrap());
            }
            Mode::Spsc => {
                let p = SpscProducer::attach(ring, 2).unwrap();
                (0..3).for_each(|i| p.try_write(1, i, &[1; 24]).unwrap());
            }
        }
        assert_eq!(drain(&mut c).len(), 3);
    }
    (ring, c)
}

const DEAD: (u8, u64) = (3, 7);
const PAYLOAD: [u8; 24] = [0x33; 24];

/// The stores of one producer's `try_write` of the DEAD record, counted unstopped.
fn producer_stores(mode: Mode, wrap: bool) -> usize {
    let w = words(128);
    let (ring, _c) = ring_at(&w, mode, wrap);
    let stop = StopAfter::new(*ring.memory(), 0, Stop::Crash);
    let r = Ring::open(&stop, Spins(0)).unwrap();
    match mode {
        Mode::Mpsc => {
            let p = Producer::attach(r).unwrap();
            stop.arm(0);
            p.try_write(DEAD.0, DEAD.1, &PAYLOAD).unwrap();
        }
        Mode::Spsc => {
            let p = SpscProducer::attach(r, 5).unwrap();
            stop.arm(0);
            p.try_write(DEAD.0, DEAD.1, &PAYLOAD).unwrap();
            return stop.written(); // before the producer's detach
        }
    }
    stop.written()
}

#[test]
fn every_crash_point_of_a_producer_claim() {
    for mode in [Mode::Mpsc, Mode::Spsc] {
        for wrap in [false, true] {
            let n = producer_stores(mode, wrap);
            assert!(n >= 4, "{mode:?} wrap {wrap}: {n} stores");
            for k in 1..=n {
                let what = std::format!("{mode:?}, wrap {wrap}, crash after store {k} of {n}");
                let w = words(128);
                let (ring, mut c) = ring_at(&w, mode, wrap);
                let stop = StopAfter::new(*ring.memory(), 0, Stop::Crash);
                let dying = Ring::open(&stop, Spins(0)).unwrap();
                let tail_before = ring.stats().tail;
                let crashed = match mode {
                    Mode::Mpsc => {
                        let p = Producer::attach(dying).unwrap().with_claimant(9);
                        stop.arm(k);
                        dies(|| p.try_write(DEAD.0, DEAD.1, &PAYLOAD).unwrap())
                    }
                    Mode::Spsc => {
                        let p = SpscProducer::attach(dying, 5).unwrap();
                        stop.arm(k);
                        let died = dies(|| p.try_write(DEAD.0, DEAD.1, &PAYLOAD).unwrap());
                        drop(p); // a dead process detaches nothing: its writes are dropped
                        died
                    }
                };
                assert!(crashed, "{what}");
                let committed = k == n;
                // A crash before the tail moved (after refreshing the head cache) claimed nothing.
                let claimed = ring.stats().tail != tail_before;
                // The successor: the consumer, and a live producer (for SPSC after evicting the dead one).
                let live: std::boxed::Box<dyn Fn(u64)> = match mode {
                    Mode::Mpsc => {
                        let p = Producer::attach(ring).unwrap();
                        std::boxed::Box::new(move |i| p.try_write(4, i, &[4; 8]).unwrap())
                    }
                    Mode::Spsc => {
                        // SAFETY: the producer registered as 5 crashed above; none of its code runs any more.
                        assert!(unsafe { ring.evict_spsc_producer(5) }, "{what}");
                        let p = SpscProducer::attach(ring, 6).unwrap();
                        std::boxed::Box::new(move |i| p.try_write(4, i, &[4; 8]).unwrap())
                    }
                };
                let mut got = drain_unblocking(&mut c);
                for i in 0..3 {
                    live(i);
                    got.extend(drain_unblocking(&mut c));
                }
                let dead: Vec<_> = got.iter().filter(|r| (r.0, r.1) == DEAD).collect();
                let mine: Vec<_> = got.iter().filter(|r| r.0 == 4).map(|r| r.1).collect();
                assert_eq!(
                    mine,
                    [0, 1, 2],
                    "{what}: the live producer's records, in order: {got:?}"
                );
                assert_eq!(got.len(), mine.len() + dead.len(), "{what}: nothing else: {got:?}");
                assert_eq!(dead.len(), usize::from(committed), "{what}: {got:?}");
                assert!(
                    dead.iter().all(|r| r.2 == PAYLOAD),
                    "{what}: the crashed record is whole"
                );
                let abandoned = ring.stats().abandoned;
                if committed || !claimed {
                    assert_eq!(abandoned, 0, "{what}");
                } else {
                    // One unblock per stretch of the data area the dead claim spans: a wrapping claim that died
                    // before it claimed its padding is counted twice.
                    assert!((1..=2).contains(&abandoned), "{what}: abandoned {abandoned}");
                }
                assert_free_space_zero(&ring);
            }
        }
    }
}

#[test]
fn every_crash_point_of_a_release() {
    // Two records consumed in one batch; the consumer dies inside its release after store k.
    let fill = |ring: Ring<RawRegion<'_>>| {
        let p = Producer::attach(ring).unwrap();
        p.try_write(1, 1, &[0xaa; 24]).unwrap(); // 40 bytes
        p.try_write(1, 2, &[0xbb; 8]).unwrap(); // 24 bytes
    };
    let n = {
        let w = words(256);
        let ring = Ring::create(RawRegion::new(&w), Mode::Mpsc, None, 1, 0).unwrap();
        fill(ring);
        let stop = StopAfter::new(*ring.memory(), 0, Stop::Crash);
        let mut c = Consumer::attach(Ring::open(&stop, Spins(0)).unwrap(), 1).unwrap();
        let batch = c.poll(usize::MAX).unwrap().unwrap();
        stop.arm(0);
        batch.release();
        stop.written()
    };
    assert!(
        n > 2 + 8,
        "watermark, check, 8 words zeroed, then the counters and the head: {n}"
    );
    for k in 1..=n {
        let w = words(256);
        let ring = Ring::create(RawRegion::new(&w), Mode::Mpsc, None, 1, 0).unwrap();
        fill(ring);
        let stop = StopAfter::new(*ring.memory(), 0, Stop::Crash);
        let mut dead = Consumer::attach(Ring::open(&stop, Spins(0)).unwrap(), 1).unwrap();
        let batch = dead.poll(usize::MAX).unwrap().unwrap();
        stop.arm(k);
        assert!(dies(|| batch.release()), "k={k}");
        drop(dead); // its writes are dropped: the slot stays held
        Producer::attach(ring).unwrap().try_write(1, 3, b"later").unwrap();
        // SAFETY: the consumer registered as 1 crashed above; none of its code runs any more.
        assert!(unsafe { ring.evict_consumer(1) }, "k={k}");
        let mut c = Consumer::attach(ring, 2).unwrap();
        let got: Vec<u64> = drain(&mut c).iter().map(|r| r.1).collect();
        // Before the check word landed no byte was zeroed: the batch comes again, whole.
        let again = k < 2;
        let want: &[u64] = if again { &[1, 2, 3] } else { &[3] };
        assert_eq!(got, want, "k={k} of {n}");
        assert!(
            c.blocked().unwrap().is_none(),
            "k={k}: nothing half-zeroed looks like a claim"
        );
        assert_free_space_zero(&ring);
    }
}

#[test]
fn every_crash_point_of_an_unblock() {
    // A producer died holding a claim (a marker), or right after its tail CAS (zero-length); the consumer dies
    // inside its unblock after store k; its successor unblocks again, once.
    for zero_length in [false, true] {
        let setup = |w: &[AtomicU64]| {
            let ring = Ring::create(RawRegion::new(w), Mode::Mpsc, None, 1, 0).unwrap();
            let p = Producer::attach(ring).unwrap();
            if zero_length {
                ring.memory().store(TAIL_AT, 32, Ordering::Relaxed);
            } else {
                core::mem::forget(p.claim(4, 1, 16).unwrap());
            }
            p.try_write(1, 2, b"after").unwrap();
        };
        let run = |w: &[AtomicU64], k: usize| {
            let stop = StopAfter::new(RawRegion::new(w), 0, Stop::Crash);
            let mut dead = Consumer::attach(Ring::open(&stop, Spins(0)).unwrap(), 1).unwrap();
            let noted = dead.blocked().unwrap().unwrap();
            stop.arm(k);
            let died = dies(|| assert!(dead.unblock(noted).unwrap()));
            let written = stop.written();
            drop(dead);
            (died, written)
        };
        let n = {
            let w = words(256);
            setup(&w);
            run(&w, 0).1
        };
        assert_eq!(n, 2, "the padding CAS and the abandoned count");
        for k in 1..=n {
            let w = words(256);
            setup(&w);
            assert!(run(&w, k).0);
            let ring = Ring::open(RawRegion::new(&w), Spins(0)).unwrap();
            // SAFETY: the consumer registered as 1 crashed above; none of its code runs any more.
            assert!(unsafe { ring.evict_consumer(1) });
            let mut c = Consumer::attach(ring, 2).unwrap();
            let got = drain_unblocking(&mut c);
            assert_eq!(got, [(1, 2, b"after".to_vec())], "zero-length {zero_length}, k={k}");
            // A crash between the padding and the count loses the count: the claim is padded, not delivered.
            assert_eq!(
                ring.stats().abandoned,
                u64::from(k == n),
                "zero-length {zero_length}, k={k}"
            );
            assert_free_space_zero(&ring);
        }
    }
}
