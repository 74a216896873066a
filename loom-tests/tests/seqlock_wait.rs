//! The seqlock's waiter protocol ([`SeqArray::wait_changed`]): no wake-up is lost. Waiters block with no timeout
//! on a modelled futex, so a lost wake-up is a deadlock, which loom reports.
//!
//! The futex is [`seqring_loom::Futexed`], modelled as the kernel implements it.
#![cfg(loom)]

use loom::thread;
use seqring_core::seqlock::{region_len, Park, SeqArray, WriteStamp, SEQUENCE_WORD};
use seqring_core::{DType, Spins};
use seqring_loom::{model, Futexed};

const STAMP: WriteStamp = WriteStamp { token: 1, time_ns: 1 };

/// A waiter's lease: later than every write's time (a live waiter's lease is), so every write must wake it.
fn lease() -> u64 {
    STAMP.time_ns + 10
}

fn array() -> &'static SeqArray<Futexed> {
    let mem = Futexed::new(region_len(16).unwrap(), SEQUENCE_WORD);
    let array = SeqArray::create(mem, DType::U64, &[2], 1, 0).unwrap();
    Box::leak(Box::new(array))
}

/// Waits with no timeout for a version after `last`: blocks on the futex while nothing is new, yields while a writer
/// is in its write section.
fn wait(array: &SeqArray<Futexed>, last: u64) -> u64 {
    let version = array
        .wait_changed(last, lease, |park| {
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
