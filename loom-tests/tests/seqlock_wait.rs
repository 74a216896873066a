//! The seqlock's waiter protocol ([`SeqArray::wait_changed`]): no wake-up is lost. Waiters block with no timeout
//! on a modelled futex, so a lost wake-up is a deadlock, which loom reports.
//!
//! The futex is modelled as the kernel implements it: `wait(word, expected)` takes the bucket lock, compares the
//! word with `expected` and, if equal, sleeps until a `wake` (which takes the same lock after the waker stored its
//! change). Here the bucket is a loom mutex holding a wake generation, and the sleep a condition variable.
#![cfg(loom)]

use loom::sync::atomic::Ordering;
use loom::sync::{Condvar, Mutex};
use loom::thread;
use seqring_core::seqlock::{region_len, Park, SeqArray, WriteStamp, SEQUENCE_WORD};
use seqring_core::{DType, Memory, RawRegion, Spins};
use seqring_loom::{leaked_region, model};

const STAMP: WriteStamp = WriteStamp { token: 1, time_ns: 1 };

/// The futex bucket of the one word the models wait on.
struct Futex {
    generation: Mutex<u64>,
    woken: Condvar,
}

/// A loom region whose [`Memory::wake`] wakes the modelled futex.
#[derive(Clone, Copy)]
struct Futexed {
    raw: RawRegion<'static>,
    futex: &'static Futex,
}

impl Futexed {
    /// `FUTEX_WAIT`: sleeps while the word at `offset` holds `expected`, until a wake.
    fn wait(&self, offset: usize, expected: u64) {
        let mut generation = self.futex.generation.lock().unwrap();
        // Relaxed: the bucket lock orders this load after a waker's store that preceded its wake (as the kernel's
        // bucket lock does).
        if self.raw.load(offset, Ordering::Relaxed) != expected {
            return;
        }
        let asleep_at = *generation;
        while *generation == asleep_at {
            generation = self.futex.woken.wait(generation).unwrap();
        }
    }
}

impl Memory for Futexed {
    fn len(&self) -> usize {
        self.raw.len()
    }
    fn identity(&self) -> usize {
        self.raw.identity()
    }
    fn load(&self, offset: usize, order: Ordering) -> u64 {
        self.raw.load(offset, order)
    }
    fn store(&self, offset: usize, value: u64, order: Ordering) {
        self.raw.store(offset, value, order);
    }
    fn compare_exchange(
        &self,
        offset: usize,
        current: u64,
        new: u64,
        success: Ordering,
        failure: Ordering,
    ) -> Result<u64, u64> {
        self.raw.compare_exchange(offset, current, new, success, failure)
    }
    fn fetch_add(&self, offset: usize, value: u64, order: Ordering) -> u64 {
        self.raw.fetch_add(offset, value, order)
    }
    fn copy_in(&self, offset: usize, src: &[u8]) {
        self.raw.copy_in(offset, src);
    }
    fn copy_out(&self, offset: usize, dst: &mut [u8]) {
        self.raw.copy_out(offset, dst);
    }
    fn zero(&self, offset: usize, len: usize) {
        self.raw.zero(offset, len);
    }
    /// `FUTEX_WAKE` of every waiter.
    fn wake(&self, offset: usize) {
        assert_eq!(offset, SEQUENCE_WORD, "only the sequence word is waited on");
        *self.futex.generation.lock().unwrap() += 1;
        self.futex.woken.notify_all();
    }
}

fn array() -> &'static SeqArray<Futexed> {
    let futex = Box::leak(Box::new(Futex {
        generation: Mutex::new(0),
        woken: Condvar::new(),
    }));
    let mem = Futexed {
        raw: leaked_region(region_len(16).unwrap()),
        futex,
    };
    let array = SeqArray::create(mem, DType::U64, &[2], 1, 0).unwrap();
    Box::leak(Box::new(array))
}

/// Waits with no timeout for a version after `last`: blocks on the futex while nothing is new, yields while a writer
/// is in its write section.
fn wait(array: &SeqArray<Futexed>, last: u64) -> u64 {
    let version = array
        .wait_changed(last, |park| {
            match park {
                Park::Unchanged(s) => array.memory().wait(SEQUENCE_WORD, s),
                Park::Writing(_) => thread::yield_now(),
            }
            true
        })
        .expect("a wait with no timeout returns only with a version");
    assert_ne!(version, last);
    version
}

/// [`wait`], then a read: returns the version and the data read at it (or later).
fn wait_and_read(array: &SeqArray<Futexed>, last: u64) -> (u64, [u64; 2]) {
    let version = wait(array, last);
    let mut out = [0u64; 2];
    let read = array.read_into(0, &mut out, Spins(1000)).expect("the writer finished");
    assert!(
        read >= version,
        "a read after the wake sees version {version} or newer, saw {read}"
    );
    assert_eq!(out, [read, read], "version and data disagree");
    (version, out)
}

/// One writer publishes one version while a waiter blocks for it: the waiter always wakes (else loom reports the
/// deadlock) and sees the data.
#[test]
fn a_waiter_wakes_for_a_write() {
    model(|| {
        let array = array();
        let writer = thread::spawn(move || array.write_elements(0, &[1u64, 1], STAMP, Spins(0)).unwrap());
        let (version, _) = wait_and_read(array, 0);
        assert_eq!(version, 1);
        writer.join().unwrap();
        assert_eq!(array.waiters(), 0);
    });
}

/// Two writes, and a waiter that follows the versions until it has seen the last one, waiting again after each
/// wake: the second write's wake must reach a waiter that registered again during or after the first.
#[test]
fn a_waiter_follows_two_writes() {
    model(|| {
        let array = array();
        let writer = thread::spawn(move || {
            for v in 1..=2u64 {
                array.write_elements(0, &[v, v], STAMP, Spins(0)).unwrap();
            }
        });
        let mut last = 0;
        while last < 2 {
            let (version, _) = wait_and_read(array, last);
            assert!(version > last, "versions strictly increase");
            last = version;
        }
        writer.join().unwrap();
        assert_eq!(array.waiters(), 0);
    });
}

/// Two waiters block for one write: one wake reaches both.
#[test]
fn two_waiters_wake_for_one_write() {
    model(|| {
        let array = array();
        let writer = thread::spawn(move || array.write_elements(0, &[1u64, 1], STAMP, Spins(0)).unwrap());
        let other = thread::spawn(move || wait(array, 0));
        assert_eq!(wait(array, 0), 1);
        assert_eq!(other.join().unwrap(), 1);
        writer.join().unwrap();
        assert_eq!(array.waiters(), 0);
    });
}

/// Two writers race for the lock while a waiter waits: whichever locks after the waiter registered wakes it. A
/// lock dropped without a change publishes nothing, so it wakes no one and the waiter keeps waiting.
#[test]
fn a_waiter_wakes_whichever_writer_locks_after_it() {
    model(|| {
        let array = array();
        let idle = thread::spawn(move || drop(array.lock(STAMP, Spins(1000)).unwrap()));
        let writer = thread::spawn(move || array.write_elements(0, &[1u64, 1], STAMP, Spins(1000)).unwrap());
        let (version, _) = wait_and_read(array, 0);
        assert_eq!(version, 1);
        idle.join().unwrap();
        writer.join().unwrap();
    });
}
