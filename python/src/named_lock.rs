//! `_NamedLock`: an array's lock as the Python package holds it, across calls: the word of the array's own region
//! that `seqring::shared_array::lock` describes (bytes 160..168, `seqring_core::seqlock::ArrayLock`), shared by every
//! process that maps the array. `seqring.compat`'s `SharedMemoryArray` takes it for `arr[i] = v` and
//! `array(with_lock=True)` blocks, as ataraxis takes its `multiprocessing.Lock`. It lives and dies with the array:
//! nothing is left behind.
//!
//! Invariants:
//! - the word is 0 when the lock is free, else the token of the instance that holds it: `pid << 32 |` a per-process
//!   counter (`seqring::shared_array::lock::new_token`), never 0; it changes only by the core's protocol
//!   (compare-exchanges 0 -> token to take it and a dead holder's token -> token to take it over, and the holder's
//!   checked store token -> 0 to release it);
//! - an instance is reentrant for the thread that holds it: while the word holds its token and `holder_thread` is
//!   the calling thread, `acquire` only counts (`depth`); the instance's other threads wait as other processes do;
//!   the word returns to 0 when `depth` returns to 0 (or when the instance is dropped while holding it);
//! - an instance belongs to the process that opened it: in a child forked from it every call raises and its drop
//!   does nothing (the parent's token is not the child's to use or release); open a new one in the child. Forks
//!   are counted by a hook Python runs in every forked child ([`count_fork`]), so the check is one atomic load,
//!   not a `getpid` system call per acquire and release;
//! - the instance keeps its `seqring.SharedArray` handle (its mapping of the word): closing that handle while the
//!   instance holds the lock leaves the word held by this live process, which then raises on `release`; the lock is
//!   taken over when the process exits;
//! - a holder whose pid is dead (SIGKILL, crash) is taken over by the next waiter, as the kernel drops a dead
//!   process's `flock`. A recycled pid reads as alive: the lock then waits for that process to exit;
//! - the word is set to or from this instance's token, and `depth` changed, only with the GIL held (every method
//!   and `Drop` run with it; the GIL-free wait only watches the word), so the instance's own threads see the two
//!   change together: never the word free while `depth` is above 0. (The module is abi3, never free-threaded.)

use crate::array::{Handle, SharedArray};
use crate::errors::{raise, Kind};
use pyo3::prelude::*;
use seqring::shared_array::lock::{holder_dead, new_token};
use seqring_core::seqlock::{ArrayLock, LockToken};
use seqring_platform::Region;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

/// Compare-exchange attempts with the GIL held before the waiting loop.
const SPINS: u32 = 64;
/// Yields before the waiting loop starts sleeping.
const YIELDS: u32 = 32;
/// The longest sleep between two attempts.
const MAX_SLEEP: Duration = Duration::from_millis(1);

/// How many times this process's ancestry forked (through Python) since the module was loaded.
static FORKS: AtomicU64 = AtomicU64::new(0);

/// Counts a fork: registered with `os.register_at_fork(after_in_child=...)` when the module loads.
#[pyfunction]
pub(crate) fn count_fork() {
    // Relaxed: the hook runs in the child's only thread, before any other code of the child.
    FORKS.fetch_add(1, Ordering::Relaxed);
}

/// The source of thread numbers (never 0, which means "no thread").
static NEXT_THREAD: AtomicU64 = AtomicU64::new(1);

thread_local! {
    /// This thread's number, for reentrancy by the holding thread only.
    static THREAD: u64 = NEXT_THREAD.fetch_add(1, Ordering::Relaxed);
}

fn this_thread() -> u64 {
    THREAD.with(|t| *t)
}

/// The lock of one shared array (the word in its region), shared by every process, instance and thread that maps
/// that array; reentrant for the thread that holds it through one instance. A holder that dies while holding it is
/// taken over by the next acquirer.
#[pyclass(module = "seqring._seqring", name = "_NamedLock", frozen)]
pub(crate) struct NamedLock {
    array: Py<SharedArray>,
    token: LockToken,
    /// The process that opened it (the one its token names).
    pid: u32,
    /// [`FORKS`] when it was opened: another count means this is a forked child's inherited copy.
    forks: u64,
    /// The thread that holds it through this instance, or 0.
    holder_thread: AtomicU64,
    depth: AtomicU64,
}

impl NamedLock {
    /// Whether this instance was inherited across a fork (its token is the parent's).
    pub(crate) fn inherited(&self) -> bool {
        FORKS.load(Ordering::Relaxed) != self.forks
    }

    /// Whether this instance is the lock of the array `array` (the same handle).
    pub(crate) fn is_of(&self, array: &Bound<'_, SharedArray>) -> bool {
        self.array.as_ptr() == array.as_ptr()
    }

    fn check_process(&self) -> PyResult<()> {
        if !self.inherited() {
            return Ok(());
        }
        Err(raise(
            Kind::Base,
            format!(
                "the lock of array {} was opened by process {}, not this one (inherited across fork): open it again here",
                self.name(),
                self.pid
            ),
        ))
    }

    fn name(&self) -> String {
        Python::attach(|py| {
            self.array
                .get()
                .try_handle(py)
                .map_or_else(|| "(closed)".into(), |h| h.name().to_string())
        })
    }

    /// Counts one more level for the calling thread `thread`, which has just taken the lock or holds it already.
    fn enter(&self, thread: u64) {
        self.holder_thread.store(thread, Ordering::Relaxed);
        // A load and a store, not a read-modify-write: `depth` changes only with the GIL held (module invariants).
        let depth = self.depth.load(Ordering::Relaxed);
        self.depth.store(depth + 1, Ordering::Relaxed);
    }

    /// Whether the calling thread `thread` holds the lock through this instance.
    fn held_by(&self, thread: u64) -> bool {
        self.depth.load(Ordering::Relaxed) > 0 && self.holder_thread.load(Ordering::Relaxed) == thread
    }

    /// One attempt: takes the lock if it is free, already this thread's through this instance, or its holder's
    /// process is dead; otherwise returns the holder (this instance's own token while another of its threads holds
    /// it).
    fn try_take(&self, word: ArrayLock<'_, Region>, thread: u64) -> Result<(), LockToken> {
        match word.try_acquire(self.token, holder_dead) {
            Ok(()) => {
                self.enter(thread);
                Ok(())
            }
            Err(holder) if holder == self.token && self.held_by(thread) => {
                self.enter(thread);
                Ok(())
            }
            Err(holder) => Err(holder),
        }
    }

    /// Refuses a handle other than this instance's array's.
    fn check_handle(&self, handle: &Handle<'_, '_>) -> PyResult<()> {
        if std::ptr::eq(handle.owner(), self.array.get()) {
            return Ok(());
        }
        Err(raise(
            Kind::Base,
            format!("array {} is not the array of this lock", handle.name()),
        ))
    }

    /// Takes the lock of `handle` (this instance's array), waiting without the GIL.
    pub(crate) fn acquire_on(&self, py: Python<'_>, handle: &Handle<'_, '_>) -> PyResult<()> {
        self.check_process()?;
        self.check_handle(handle)?;
        self.take(py, handle, this_thread())
    }

    /// Runs `f` with the lock of `handle` (this instance's array) held by the calling thread: [`Self::acquire_on`],
    /// `f`, then [`Self::release_on`] (also when `f` fails), checked once for the pair. `f` must not run Python
    /// code (which could fork, or release the lock, between the two).
    #[inline]
    pub(crate) fn with_held<R>(
        &self,
        py: Python<'_>,
        handle: &Handle<'_, '_>,
        f: impl FnOnce() -> PyResult<R>,
    ) -> PyResult<R> {
        self.check_process()?;
        self.check_handle(handle)?;
        let thread = this_thread();
        self.take(py, handle, thread)?;
        let done = f();
        let released = self.give_back(handle, thread);
        done.and_then(|r| released.map(|()| r))
    }

    /// Takes the lock of `handle` for `thread` (the calling thread), waiting without the GIL.
    fn take(&self, py: Python<'_>, handle: &Handle<'_, '_>, thread: u64) -> PyResult<()> {
        let word = handle.lock_word();
        for _ in 0..SPINS {
            if self.try_take(word, thread).is_ok() {
                return Ok(());
            }
            std::hint::spin_loop();
        }
        let mut backoff = Backoff::new();
        loop {
            // The word is watched without the GIL, and taken with it (see the module's invariants).
            py.detach(|| backoff.wait(word, self.token))?;
            if self.try_take(word, thread).is_ok() {
                return Ok(());
            }
        }
    }

    /// Releases one level of the lock of `handle` (this instance's array).
    pub(crate) fn release_on(&self, handle: &Handle<'_, '_>) -> PyResult<()> {
        self.check_process()?;
        self.check_handle(handle)?;
        self.give_back(handle, this_thread())
    }

    /// Releases one level of the lock of `handle` for `thread` (the calling thread).
    fn give_back(&self, handle: &Handle<'_, '_>, thread: u64) -> PyResult<()> {
        if !self.held_by(thread) {
            return Err(raise(
                Kind::Base,
                format!(
                    "the lock of array {} released but not held by this thread",
                    handle.name()
                ),
            ));
        }
        let depth = self.depth.load(Ordering::Relaxed);
        self.depth.store(depth - 1, Ordering::Relaxed);
        if depth == 1 {
            self.holder_thread.store(0, Ordering::Relaxed);
            if let Err(holder) = handle.lock_word().release(self.token) {
                return Err(raise(
                    Kind::Base,
                    format!(
                        "the lock of array {} was taken over by pid {} while this process held it",
                        handle.name(),
                        holder.map_or(0, |t| t.get() >> 32)
                    ),
                ));
            }
        }
        Ok(())
    }

    /// Runs `f` on the array's handle (raising `ClosedError` if it is closed).
    fn with_handle<R>(&self, py: Python<'_>, f: impl FnOnce(&Handle<'_, '_>) -> PyResult<R>) -> PyResult<R> {
        f(&self.array.get().handle(py)?)
    }
}

/// The waiting of one `acquire` (without the GIL): yields, then sleeps doubling up to [`MAX_SLEEP`].
struct Backoff {
    yields: u32,
    sleep: Duration,
}

impl Backoff {
    fn new() -> Self {
        Backoff {
            yields: 0,
            sleep: Duration::from_micros(20),
        }
    }

    /// Waits until the lock looks takeable by `token`: free, or held by a dead process. (A thread that holds it
    /// already never waits.) Between sleeps it re-attaches only to let Python handle signals (Ctrl-C raises
    /// `KeyboardInterrupt` out of `acquire`).
    fn wait(&mut self, word: ArrayLock<'_, Region>, token: LockToken) -> PyResult<()> {
        // `holder` is a relaxed look, only a hint: the compare-exchange that follows (with the GIL) decides.
        while let Some(holder) = word.holder() {
            if holder != token && holder_dead(holder) {
                break;
            }
            if self.yields < YIELDS {
                self.yields += 1;
                std::thread::yield_now();
            } else {
                std::thread::sleep(self.sleep);
                self.sleep = (self.sleep * 2).min(MAX_SLEEP);
                Python::attach(|py| py.check_signals())?;
            }
        }
        Ok(())
    }
}

#[pymethods]
impl NamedLock {
    /// The lock of the shared array ``array`` (a :class:`seqring.SharedArray`, which this instance keeps): a word
    /// of the array's own region. The lock is not taken.
    ///
    /// Raises ``ClosedError`` if ``array`` is closed.
    #[new]
    fn new(array: &Bound<'_, SharedArray>) -> PyResult<Self> {
        drop(array.get().handle(array.py())?); // ClosedError for a closed array
        Ok(NamedLock {
            array: array.clone().unbind(),
            token: new_token(),
            pid: std::process::id(),
            forks: FORKS.load(Ordering::Relaxed),
            holder_thread: AtomicU64::new(0),
            depth: AtomicU64::new(0),
        })
    }

    /// Takes the lock, waiting (without the GIL) while another instance or thread, in any process, holds it; only
    /// counts if this thread holds it already through this instance. Takes it over from a holder whose process is
    /// dead.
    ///
    /// Raises ``SeqringError`` in a process forked from the one that opened this instance, ``ClosedError`` if the
    /// array's handle is closed.
    pub(crate) fn acquire(&self, py: Python<'_>) -> PyResult<()> {
        self.with_handle(py, |h| self.acquire_on(py, h))
    }

    /// Takes the lock if that needs no wait (it is free, this thread's through this instance, or its holder's
    /// process is dead); returns whether it was taken.
    ///
    /// Raises ``SeqringError`` in a process forked from the one that opened this instance.
    fn try_acquire(&self, py: Python<'_>) -> PyResult<bool> {
        self.check_process()?;
        self.with_handle(py, |h| Ok(self.try_take(h.lock_word(), this_thread()).is_ok()))
    }

    /// Releases one level of the lock; the lock is free again when every `acquire` of this instance is released.
    ///
    /// Raises ``SeqringError`` if this thread does not hold it through this instance (or it was taken over
    /// meanwhile), or in a process forked from the one that opened this instance.
    pub(crate) fn release(&self, py: Python<'_>) -> PyResult<()> {
        self.with_handle(py, |h| self.release_on(h))
    }

    /// `with lock:` takes it (as `acquire`).
    fn __enter__(&self, py: Python<'_>) -> PyResult<()> {
        self.acquire(py)
    }

    /// Leaves a `with` block (as `release`); never suppresses an exception.
    #[pyo3(signature = (*_exc))]
    fn __exit__(&self, py: Python<'_>, _exc: &Bound<'_, pyo3::types::PyTuple>) -> PyResult<bool> {
        self.release(py)?;
        Ok(false)
    }

    /// How many `acquire`s of this instance are not yet released (0: it does not hold the lock).
    #[getter]
    fn depth(&self) -> u64 {
        self.depth.load(Ordering::Relaxed)
    }

    /// Whether this instance was inherited across a fork (then it is the parent's: open a new one).
    #[getter(inherited)]
    fn is_inherited(&self) -> bool {
        self.inherited()
    }

    /// The pid of the process that holds the lock (whichever instance), or 0 if it is free.
    #[getter]
    fn holder_pid(&self, py: Python<'_>) -> PyResult<u64> {
        self.with_handle(py, |h| Ok(h.lock_word().holder().map_or(0, |t| t.get() >> 32)))
    }

    /// The lock word itself: 0 when free, else the holder's token (``pid << 32 | n``).
    #[getter]
    fn word(&self, py: Python<'_>) -> PyResult<u64> {
        self.with_handle(py, |h| Ok(h.lock_word().holder().map_or(0, LockToken::get)))
    }

    /// The array whose lock this is.
    #[getter]
    fn array(&self, py: Python<'_>) -> Py<SharedArray> {
        self.array.clone_ref(py)
    }

    fn __repr__(&self) -> String {
        format!("_NamedLock({:?}, depth={})", self.name(), self.depth())
    }
}

impl Drop for NamedLock {
    fn drop(&mut self) {
        // In a forked child the token is the parent's: not ours to release.
        if *self.depth.get_mut() > 0 && !self.inherited() {
            let token = self.token;
            // A word that is no longer ours (taken over) is left alone; a closed handle has no word to release.
            Python::attach(|py| {
                if let Some(handle) = self.array.get().try_handle(py) {
                    let _ = handle.lock_word().release(token);
                }
            });
        }
    }
}
