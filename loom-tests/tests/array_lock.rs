//! Array lock models (`seqring_core::seqlock::ArrayLock`): holders exclude each other, a holder that dies while
//! holding is taken over by exactly one taker that is told it is dead, and a stale verdict cannot steal the lock
//! from the live holder that took it over first.
//!
//! What the lock guards is a loom `UnsafeCell` read and written non-atomically: two holders whose accesses are not
//! ordered by the lock's Acquire/Release pairs are a data race, which loom reports, and a lost increment fails the
//! final count.
#![cfg(loom)]

use loom::cell::UnsafeCell;
use loom::sync::atomic::AtomicBool;
use loom::sync::Arc;
use loom::thread;
use seqring_core::seqlock::{region_len, LockToken, SeqArray};
use seqring_core::{DType, RawRegion};
use seqring_loom::{leaked_region, model, spin_until};
use std::sync::atomic::Ordering;

fn array() -> &'static SeqArray<RawRegion<'static>> {
    let array = SeqArray::create(leaked_region(region_len(8).unwrap()), DType::U64, &[1], 1, 0).unwrap();
    Box::leak(Box::new(array))
}

fn token(v: u64) -> LockToken {
    LockToken::new(v).unwrap()
}

/// The guarded state: a counter only the lock's holder touches.
struct Guarded(UnsafeCell<u64>);

impl Guarded {
    fn new() -> Arc<Guarded> {
        Arc::new(Guarded(UnsafeCell::new(0)))
    }

    /// A non-atomic read-modify-write: loom fails the model if another holder's access is not ordered with it.
    fn increment(&self) {
        // SAFETY: called only by the lock's holder; the model checks that holders never overlap (loom's causality
        // check reports any access not ordered by happens-before).
        self.0.with_mut(|p| unsafe { *p += 1 });
    }

    fn get(&self) -> u64 {
        // SAFETY: called after every other thread was joined.
        self.0.with(|p| unsafe { *p })
    }
}

#[test]
fn holders_exclude_each_other() {
    model(|| {
        let array = array();
        let guarded = Guarded::new();
        let threads: Vec<_> = [1u64, 2]
            .into_iter()
            .map(|t| {
                let guarded = guarded.clone();
                thread::spawn(move || {
                    let lock = array.array_lock();
                    spin_until("the array lock", || lock.try_acquire(token(t), |_| false).ok());
                    guarded.increment();
                    lock.release(token(t)).unwrap();
                })
            })
            .collect();
        for t in threads {
            t.join().unwrap();
        }
        assert_eq!(guarded.get(), 2);
        assert_eq!(array.array_lock().holder(), None);
    });
}

const DEAD: u64 = 9;

#[test]
fn a_dead_holder_is_taken_over_and_the_takers_exclude_each_other() {
    model(|| {
        let array = array();
        let guarded = Guarded::new();
        // What the OS knows once the holder's process is gone (the std layer asks for its pid's liveness).
        let exited = Arc::new(AtomicBool::new(false));
        // The holder takes the lock before the takers start (so that it, not a taker, holds it first) and hands it
        // to its thread, which works under it and stops.
        array.array_lock().try_take(token(DEAD)).unwrap();
        let dying = {
            let (guarded, exited) = (guarded.clone(), exited.clone());
            thread::spawn(move || {
                guarded.increment();
                // It dies holding the lock: its thread stops without a release.
                exited.store(true, Ordering::Release);
            })
        };
        // Taker 1 waits for the lock; taker 2 tries once (two spinning takers could keep yielding to each other
        // forever in loom's schedules, never to the holder).
        let takers: Vec<_> = [(1u64, true), (2, false)]
            .into_iter()
            .map(|(t, waits)| {
                let (guarded, exited) = (guarded.clone(), exited.clone());
                thread::spawn(move || {
                    let lock = array.array_lock();
                    // Told the holder is dead only once it is: Acquire pairs with the exit's Release store.
                    let is_dead = |h: LockToken| h == token(DEAD) && exited.load(Ordering::Acquire);
                    let took = if waits {
                        spin_until("the array lock", || lock.try_acquire(token(t), is_dead).ok());
                        true
                    } else {
                        lock.try_acquire(token(t), is_dead).is_ok()
                    };
                    if took {
                        guarded.increment();
                        lock.release(token(t)).unwrap();
                    }
                    u64::from(took)
                })
            })
            .collect();
        dying.join().unwrap();
        let took: u64 = takers.into_iter().map(|t| t.join().unwrap()).sum();
        assert_eq!(guarded.get(), 1 + took, "the dead holder's increment and each taker's");
        assert_eq!(array.array_lock().holder(), None);
    });
}

#[test]
fn a_stale_verdict_cannot_steal_a_live_holders_lock() {
    model(|| {
        let array = array();
        let guarded = Guarded::new();
        // The holder died before the model starts: both takers judged it dead.
        array.array_lock().try_take(token(DEAD)).unwrap();
        let takers: Vec<_> = [1u64, 2]
            .into_iter()
            .map(|t| {
                let guarded = guarded.clone();
                thread::spawn(move || {
                    let lock = array.array_lock();
                    // One take-over attempt with the verdict, which may be stale by now.
                    match lock.take_over(token(DEAD), token(t)) {
                        Ok(()) => {
                            guarded.increment();
                            lock.release(token(t)).unwrap();
                            true
                        }
                        Err(holder) => {
                            assert_ne!(holder, Some(token(DEAD)), "a failed take-over saw the dead token");
                            false
                        }
                    }
                })
            })
            .collect();
        let took: Vec<bool> = takers.into_iter().map(|t| t.join().unwrap()).collect();
        assert_eq!(
            took.iter().filter(|&&t| t).count(),
            1,
            "exactly one take-over: {took:?}"
        );
        assert_eq!(guarded.get(), 1);
        assert_eq!(array.array_lock().holder(), None);
    });
}
