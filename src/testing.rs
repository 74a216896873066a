//! Test support: stopping a protocol after its k-th store, to check what its successor sees.
//!
//! [`StopAfter`] wraps a [`Memory`] and counts every word the protocol code writes through it (a store, a
//! successful compare-exchange, a fetch-add, each word of a copy or a zeroing). When the count reaches `k` it
//! either
//! - **crashes** ([`Stop::Crash`]): it panics, and from then on drops every write, as a killed process would (the
//!   unwinding runs destructors such as a grant's abort, whose stores must not land); a load still reads the
//!   memory as the dead process left it; or
//! - **vanishes** ([`Stop::Vanish`]): as a crash, but without the panic: the code runs on and none of its later
//!   writes lands (a compare-exchange that would have succeeded reports success). For loom models, whose threads
//!   should not unwind, and for code without retry loops that depend on its own writes;
//! - **pauses** ([`Stop::Pause`]): it runs a hook (the successor or a competitor, on the same thread) and then lets
//!   the protocol go on, which models a producer or consumer preempted right after that store.
//!
//! Single-threaded by design (the count is a `Cell`): the interleaving is exactly the one named by `k`. The std
//! crate's cross-process tests kill real processes; this is the exhaustive, deterministic complement.
//!
//! # Examples
//! ```
//! use core::sync::atomic::{AtomicU64, Ordering};
//! use seqring_core::testing::{Stop, StopAfter};
//! use seqring_core::{Memory, RawRegion};
//! let words: Vec<AtomicU64> = (0..4).map(|_| AtomicU64::new(0)).collect();
//! let region = RawRegion::new(&words);
//! let crashing = StopAfter::new(region, 0, Stop::Crash);
//! (&crashing).store(24, 9, Ordering::Relaxed); // not counted: unarmed
//! crashing.arm(2);
//! let died = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
//!     for at in [0, 8, 16] {
//!         (&crashing).store(at, 1, Ordering::Relaxed);
//!     }
//! }));
//! assert!(died.is_err());
//! assert_eq!([0, 8, 16].map(|at| region.load(at, Ordering::Relaxed)), [1, 1, 0]);
//! ```

use crate::memory::Memory;
use crate::sync::Ordering;
use core::cell::Cell;

/// What happens at the stop.
#[derive(Clone, Copy)]
pub enum Stop<'h> {
    /// Panic, and drop every later write.
    Crash,
    /// Drop every later write, without a panic.
    Vanish,
    /// Run the hook once, then go on.
    Pause(&'h dyn Fn()),
}

impl core::fmt::Debug for Stop<'_> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str(match self {
            Stop::Crash => "Crash",
            Stop::Vanish => "Vanish",
            Stop::Pause(_) => "Pause",
        })
    }
}

/// A memory that stops its user after the `k`-th word written (see the [module](self)). Use it through a shared
/// reference: `&StopAfter` is the [`Memory`] (and `Copy`, as ring handles need).
#[derive(Debug)]
pub struct StopAfter<'h, M> {
    inner: M,
    left: Cell<usize>,
    written: Cell<usize>,
    armed: Cell<bool>,
    dead: Cell<bool>,
    wakes: Cell<usize>,
    stop: Stop<'h>,
}

impl<'h, M: Memory> StopAfter<'h, M> {
    /// Stops after the `k`-th word written from now (`k >= 1`); `k = 0` never stops.
    pub fn new(inner: M, k: usize, stop: Stop<'h>) -> Self {
        StopAfter {
            inner,
            left: Cell::new(k),
            written: Cell::new(0),
            armed: Cell::new(k > 0),
            dead: Cell::new(false),
            wakes: Cell::new(0),
            stop,
        }
    }

    /// Counts again from now: stops after the `k`-th word written from here (`k = 0`: never).
    pub fn arm(&self, k: usize) {
        self.left.set(k);
        self.written.set(0);
        self.armed.set(k > 0);
    }

    /// The words written (and landed) since the last [`StopAfter::arm`] (or creation): run an operation once
    /// unarmed to learn how many crash points it has.
    pub fn written(&self) -> usize {
        self.written.get()
    }

    /// The wake calls issued through it while its user was alive (what a writer with no one to wake pays for).
    pub fn wakes(&self) -> usize {
        self.wakes.get()
    }

    /// Whether the stop happened.
    pub fn stopped(&self) -> bool {
        self.armed.get() && self.left.get() == 0
    }

    /// The wrapped memory.
    pub fn inner(&self) -> &M {
        &self.inner
    }

    /// Whether a write may land (the user is not dead).
    fn live(&self) -> bool {
        !self.dead.get()
    }

    /// Counts one written word, after it landed; stops there if it was the k-th.
    fn wrote(&self) {
        self.written.set(self.written.get() + 1);
        if !self.armed.get() {
            return;
        }
        match self.left.get() {
            0 => {}
            1 => {
                self.left.set(0);
                match self.stop {
                    Stop::Crash => {
                        self.dead.set(true);
                        panic!("stopped after the last counted store (crash injection)");
                    }
                    Stop::Vanish => self.dead.set(true),
                    Stop::Pause(hook) => hook(),
                }
            }
            n => self.left.set(n - 1),
        }
    }

    fn write_word(&self, at: usize, value: u64) {
        if self.live() {
            self.inner.store(at, value, Ordering::Relaxed);
            self.wrote();
        }
    }
}

impl<M: Memory> Memory for &StopAfter<'_, M> {
    fn len(&self) -> usize {
        self.inner.len()
    }

    fn identity(&self) -> usize {
        self.inner.identity()
    }

    fn load(&self, offset: usize, order: Ordering) -> u64 {
        self.inner.load(offset, order)
    }

    fn store(&self, offset: usize, value: u64, order: Ordering) {
        if self.live() {
            self.inner.store(offset, value, order);
            self.wrote();
        }
    }

    fn compare_exchange(
        &self,
        offset: usize,
        current: u64,
        new: u64,
        success: Ordering,
        failure: Ordering,
    ) -> Result<u64, u64> {
        if !self.live() {
            // A dead process changes nothing; it believes what it would have seen.
            let now = self.inner.load(offset, failure);
            return if now == current { Ok(now) } else { Err(now) };
        }
        let r = self.inner.compare_exchange(offset, current, new, success, failure);
        if r.is_ok() {
            self.wrote();
        }
        r
    }

    fn fetch_add(&self, offset: usize, value: u64, order: Ordering) -> u64 {
        if !self.live() {
            return self.inner.load(offset, Ordering::Relaxed);
        }
        let r = self.inner.fetch_add(offset, value, order);
        self.wrote();
        r
    }

    fn copy_in(&self, offset: usize, src: &[u8]) {
        // Word by word, so a stop can fall between any two words of the copy.
        let (first, end) = (offset & !7, offset + src.len());
        let mut at = first;
        while at < end {
            let mut bytes = self.inner.load(at, Ordering::Relaxed).to_le_bytes();
            for (i, b) in bytes.iter_mut().enumerate() {
                let pos = at + i;
                if pos >= offset && pos < end {
                    *b = src[pos - offset];
                }
            }
            self.write_word(at, u64::from_le_bytes(bytes));
            at += 8;
        }
    }

    fn copy_out(&self, offset: usize, dst: &mut [u8]) {
        self.inner.copy_out(offset, dst);
    }

    fn zero(&self, offset: usize, len: usize) {
        for at in (offset..offset + len).step_by(8) {
            self.write_word(at, 0);
        }
    }

    fn wake(&self, offset: usize, old: u64) {
        if self.live() {
            self.wakes.set(self.wakes.get() + 1);
            self.inner.wake(offset, old);
        }
    }
}
