//! [`GilCell`]: state that the extension's objects share between Python threads and touch only with the GIL held,
//! so that reaching it costs no atomic operation (a `std::sync::Mutex` costs two atomic read-modify-writes, about
//! 15–20 ns on the issue-21 machine, on every call of the hot paths that read a cached layout or handle).
//!
//! Invariants:
//! - the extension is built for CPython's stable ABI (abi3), which a free-threaded CPython cannot load: this
//!   module's code runs with the GIL held, one thread at a time. Every access takes a [`Python`] token, the proof
//!   that the calling thread holds the GIL, so two threads never touch a cell at once, and releasing and taking the
//!   GIL orders one thread's accesses before the next one's;
//! - a borrow lasts for one closure, which must not run Python code nor release the GIL (the callers copy or
//!   reference-count what they need out of it, and drop what they replace only after it); a nested borrow of the
//!   same cell, which only such Python code could cause, panics (the `RefCell` flag) instead of aliasing.

use pyo3::Python;
use std::cell::RefCell;

/// A `RefCell` shared between threads that the GIL serialises (see the module invariants).
pub(crate) struct GilCell<T>(RefCell<T>);

// SAFETY: every access goes through `with`, which takes a `Python` token: the calling thread holds the GIL, which
// (the extension being abi3, never loaded by a free-threaded interpreter) no other thread holds meanwhile, and
// whose release and acquisition order the accesses of successive threads. So the `RefCell` and its flag are never
// touched by two threads at once, and `T: Send` lets the value be used from whichever thread holds the GIL.
unsafe impl<T: Send> Sync for GilCell<T> {}

impl<T> GilCell<T> {
    /// A cell holding `value`.
    pub(crate) const fn new(value: T) -> Self {
        GilCell(RefCell::new(value))
    }

    /// Runs `f` on the value, with the GIL held (`_py`). `f` must not run Python code or release the GIL.
    #[inline]
    pub(crate) fn with<R>(&self, _py: Python<'_>, f: impl FnOnce(&mut T) -> R) -> R {
        f(&mut self.0.borrow_mut())
    }
}
