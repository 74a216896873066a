//! loom models of seqring-core's protocols, run on loom atomics through the core's own code paths.
//!
//! Run with `RUSTFLAGS="--cfg loom" LOOM_MAX_PREEMPTIONS=2 cargo test -p seqring-loom --release`. Without
//! `--cfg loom` the models compile to nothing.
//!
//! Each model builds its region in the main thread and leaks it, so that threads share one `Copy` handle instead
//! of re-validating the header (which would only add scheduling points).
#![cfg(loom)]

use loom::sync::{Condvar, Mutex};
use seqring_core::memory::{LoomRegion, Memory};
use seqring_core::RawRegion;
use std::sync::atomic::Ordering;

/// A zeroed loom region of `len` bytes, leaked for the rest of this model execution.
pub fn leaked_region(len: usize) -> RawRegion<'static> {
    Box::leak(Box::new(LoomRegion::new(len))).region()
}

/// How many times a model's wait yields before it fails: loom runs a yielding thread again only after another
/// thread made progress, so a wait that needs more than this is a livelock, reported by an assertion rather than
/// by loom's branch limit.
pub const SPIN_BOUND: usize = 200;

/// Spins (yielding to loom) until `f` returns `Some`, at most [`SPIN_BOUND`] times.
///
/// # Panics
/// If `f` is still `None` after the bound: what the model waited for never happened.
pub fn spin_until<T>(what: &str, mut f: impl FnMut() -> Option<T>) -> T {
    for _ in 0..SPIN_BOUND {
        if let Some(v) = f() {
            return v;
        }
        loom::thread::yield_now();
    }
    panic!("gave up waiting for {what} after {SPIN_BOUND} yields");
}

/// Runs `f` under loom with a branch limit that fits these models' retry loops. The preemption bound comes from
/// `LOOM_MAX_PREEMPTIONS` (CI uses 2).
pub fn model(f: impl Fn() + Sync + Send + 'static) {
    let mut builder = loom::model::Builder::new();
    builder.max_branches = 20_000;
    builder.check(f);
}

/// The futex bucket of the one word a model waits on: the values whose wake came (the latches that are set).
struct Futex {
    woken_values: Mutex<Vec<u64>>,
    woken: Condvar,
}

/// A leaked loom region whose [`Memory::wake`] of its one waited-on word wakes a modelled futex.
///
/// The futex is modelled as the kernel implements it: `wait(word, expected)` takes the bucket lock, compares the
/// word with `expected` and, if equal, sleeps until a `wake` (which takes the same lock after the waker stored its
/// change). Here the bucket is a loom mutex and the sleep a condition variable. A wake releases only the waiters
/// of the value it names (`wake(offset, old)`), and a later wait for that value returns at once: the Windows
/// wait's named event per value, a latch (`seqring_platform::address_wait`), which wakes a subset of what a
/// futex wakes, so a protocol that passes here passes with the futex too, and a waker that names the wrong value
/// deadlocks. Waits have no timeout, so a lost wake-up is a deadlock, which loom reports.
#[derive(Clone, Copy)]
pub struct Futexed {
    raw: RawRegion<'static>,
    futex: &'static Futex,
    word: usize,
}

impl Futexed {
    /// A zeroed region of `len` bytes whose word at byte `word` is the one waited on and woken.
    pub fn new(len: usize, word: usize) -> Futexed {
        let futex = Box::leak(Box::new(Futex {
            woken_values: Mutex::new(Vec::new()),
            woken: Condvar::new(),
        }));
        Futexed {
            raw: leaked_region(len),
            futex,
            word,
        }
    }

    /// `FUTEX_WAIT`: sleeps while the word at `offset` holds `expected`, until a wake of `expected`.
    pub fn wait(&self, offset: usize, expected: u64) {
        assert_eq!(offset, self.word, "only the one word is waited on");
        let mut woken = self.futex.woken_values.lock().unwrap();
        // Relaxed: the bucket lock orders this load after a waker's store that preceded its wake (as the kernel's
        // bucket lock, or Windows' object namespace, does).
        if self.raw.load(offset, Ordering::Relaxed) != expected {
            return;
        }
        while !woken.contains(&expected) {
            woken = self.futex.woken.wait(woken).unwrap();
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
    /// The raw words, so that the models run the seqlock's hot paths (which index them directly) as production does.
    fn as_words(&self) -> Option<&[loom::sync::atomic::AtomicU64]> {
        self.raw.as_words()
    }
    /// Wakes the waiters of `old`, and sets its latch.
    fn wake(&self, offset: usize, old: u64) {
        assert_eq!(offset, self.word, "only the one word is waited on");
        self.futex.woken_values.lock().unwrap().push(old);
        self.futex.woken.notify_all();
    }
}
