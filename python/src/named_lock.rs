//! `_NamedLock`: an exclusive lock shared by every process that names the same file, over one 64-bit word of that
//! file mapped shared (`seqring_platform::Region::create_file` / `open_file`). `seqring.compat`'s
//! `SharedMemoryArray` takes it for `arr[i] = v` and `array(with_lock=True)` blocks, as ataraxis takes its
//! `multiprocessing.Lock`.
//!
//! Invariants:
//! - word 0 of the file is 0 when the lock is free, else the token of the instance that holds it: `pid << 32 |`
//!   a per-process counter, never 0 since no process has pid 0; it changes only by compare-exchange (0 -> token
//!   to take it, a dead holder's token -> token to take it over, token -> 0 to release it);
//! - an instance is reentrant for the thread that holds it: while the word holds its token and `holder_thread` is
//!   the calling thread, `acquire` only counts (`depth`); the instance's other threads wait as other processes do;
//!   the word returns to 0 when `depth` returns to 0 (or when the instance is dropped while holding it);
//! - an instance belongs to the process that opened it: in a child forked from it every call raises and its drop
//!   does nothing (the parent's token is not the child's to use or release); open a new one in the child. Forks
//!   are counted by a hook Python runs in every forked child ([`count_fork`]), so the check is one atomic load,
//!   not a `getpid` system call per acquire and release;
//! - the file is created once (never replaced) and never removed here, so every process maps the same word;
//! - a holder whose pid is dead (SIGKILL, crash) is taken over by the next waiter, as the kernel drops a dead
//!   process's `flock`. A recycled pid reads as alive: the lock then waits for that process to exit.
//! - the word is set to or from this instance's token, and `depth` changed, only with the GIL held (every method
//!   and `Drop` run with it; the GIL-free wait only watches the word), so the instance's own threads see the two
//!   change together: never the word free while `depth` is above 0. (The module is abi3, never free-threaded.)

use crate::errors::{raise, region_error, Kind};
use pyo3::prelude::*;
use seqring_core::Memory;
use seqring_platform::{pid_alive, CreateOptions, Region, RegionError};
use std::fs::{self, OpenOptions};
use std::io;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU32, AtomicU64, Ordering};
use std::time::Duration;

/// The lock word's offset in the file.
const WORD: usize = 0;
/// Compare-exchange attempts with the GIL held before the waiting loop.
const SPINS: u32 = 64;
/// Yields before the waiting loop starts sleeping.
const YIELDS: u32 = 32;
/// The longest sleep between two attempts.
const MAX_SLEEP: Duration = Duration::from_millis(1);

/// The per-process part of the tokens.
static NEXT_TOKEN: AtomicU32 = AtomicU32::new(1);

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

fn new_token() -> u64 {
    (u64::from(std::process::id()) << 32) | u64::from(NEXT_TOKEN.fetch_add(1, Ordering::Relaxed))
}

/// Refuses a path that is not a regular file (a symbolic link planted in a shared directory such as `/tmp`, a
/// directory, a FIFO): the lock writes into the file it maps.
fn check_regular(path: &Path) -> Result<(), RegionError> {
    let label = || path.display().to_string();
    let meta = fs::symlink_metadata(path).map_err(|e| RegionError::from_io(&label(), "open", e))?;
    if meta.file_type().is_file() {
        return Ok(());
    }
    let what = if meta.file_type().is_symlink() {
        "a symbolic link"
    } else {
        "not a regular file"
    };
    Err(RegionError::from_io(
        &label(),
        "open",
        io::Error::new(io::ErrorKind::InvalidInput, format!("{what}, not a lock file")),
    ))
}

/// Sizes an empty lock file to one zero word: a creator still between creating and sizing it (it then sizes it to
/// the same length, which changes nothing), one that died there, or an empty lock file of seqring's earlier
/// `flock` lock. A file that is no longer empty is left alone (truncating to its own length changes nothing).
fn size_empty(path: &Path) -> Result<(), RegionError> {
    let sized = OpenOptions::new().write(true).open(path).and_then(|file| {
        if file.metadata()?.len() == 0 {
            file.set_len(8)?;
        }
        Ok(())
    });
    sized.map_err(|e| RegionError::from_io(&path.display().to_string(), "size", e))
}

/// Maps the lock file `path`, creating it (8 zero bytes: a free lock) if it does not exist. Between processes that
/// race to create it exactly one creates it; the others open it (sizing it if it is still empty).
fn open_or_create(path: &Path) -> Result<Region, RegionError> {
    loop {
        match Region::create_file(path, 8, CreateOptions::default()) {
            Ok(mut region) => {
                region.set_remove_on_drop(false);
                return Ok(region);
            }
            Err(RegionError::AlreadyExists { .. }) => {}
            Err(e) => return Err(e),
        }
        match check_regular(path).and_then(|()| Region::open_file(path)) {
            Ok(region) => return Ok(region),
            // Removed between the two calls (a `destroy` elsewhere): create it again.
            Err(RegionError::NotFound { .. }) => {}
            Err(RegionError::NotReady { .. }) => size_empty(path)?,
            Err(e) => return Err(e),
        }
    }
}

/// An exclusive lock shared by every process, instance and thread that names the same file; reentrant for the
/// thread that holds it through one instance. A holder that dies while holding it is taken over by the next
/// acquirer.
#[pyclass(module = "seqring._seqring", name = "_NamedLock", frozen)]
pub(crate) struct NamedLock {
    region: Region,
    path: PathBuf,
    token: u64,
    /// The process that opened it (the one its token names).
    pid: u32,
    /// [`FORKS`] when it was opened: another count means this is a forked child's inherited copy.
    forks: u64,
    /// The thread that holds it through this instance, or 0.
    holder_thread: AtomicU64,
    depth: AtomicU64,
}

impl NamedLock {
    /// The error of a call on an instance inherited across `fork`.
    pub(crate) fn inherited(&self) -> bool {
        FORKS.load(Ordering::Relaxed) != self.forks
    }

    fn check_process(&self) -> PyResult<()> {
        if !self.inherited() {
            return Ok(());
        }
        Err(raise(
            Kind::Base,
            format!(
                "lock {} was opened by process {}, not this one (inherited across fork): open it again here",
                self.path.display(),
                self.pid
            ),
        ))
    }

    /// Counts one more level for the calling thread, which has just taken the lock or holds it already.
    fn enter(&self) {
        self.holder_thread.store(this_thread(), Ordering::Relaxed);
        self.depth.fetch_add(1, Ordering::Relaxed);
    }

    /// Whether the calling thread holds the lock through this instance.
    fn held_here(&self) -> bool {
        self.depth.load(Ordering::Relaxed) > 0 && self.holder_thread.load(Ordering::Relaxed) == this_thread()
    }

    /// Takes the lock if it is free or already this thread's through this instance; otherwise returns the holder's
    /// token (this instance's own while another of its threads holds it).
    fn try_take(&self) -> Result<(), u64> {
        // Acquire on success pairs with the Release of `release` (or of `Drop`) in the previous holder, so its
        // writes under the lock happen before ours. Failure needs no ordering: we only look at the token.
        match self
            .region
            .compare_exchange(WORD, 0, self.token, Ordering::Acquire, Ordering::Relaxed)
        {
            Ok(_) => {
                self.enter();
                Ok(())
            }
            Err(current) if current == self.token && self.held_here() => {
                self.enter();
                Ok(())
            }
            Err(current) => Err(current),
        }
    }

    /// Takes over the lock from `holder` if its process is dead.
    fn take_over(&self, holder: u64) -> bool {
        if holder == self.token || pid_alive(holder >> 32) {
            return false;
        }
        // Acquire pairs with the Release stores of earlier holders; the dead one published nothing after its last
        // store, and the data it guarded is written atomically for readers anyway (the seqlock array).
        let taken = self
            .region
            .compare_exchange(WORD, holder, self.token, Ordering::Acquire, Ordering::Relaxed)
            .is_ok();
        if taken {
            self.enter();
        }
        taken
    }

    /// Whether `try_acquire` may succeed now: the lock is free, or its holder (another instance) is dead. (A
    /// thread that holds it already never waits.)
    fn takeable(&self) -> bool {
        // Relaxed: only a hint; the compare-exchange that follows (with the GIL) orders what matters.
        let holder = self.region.load(WORD, Ordering::Relaxed);
        holder == 0 || (holder != self.token && !pid_alive(holder >> 32))
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

    /// Waits until `lock` looks takeable; between sleeps it re-attaches only to let Python handle signals (Ctrl-C
    /// raises `KeyboardInterrupt` out of `acquire`).
    fn wait(&mut self, lock: &NamedLock) -> PyResult<()> {
        while !lock.takeable() {
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
    /// Opens the lock of file `path` (creating the file, mode 0600, if it does not exist). The lock is not taken.
    ///
    /// Raises `NotFoundError` if the directory does not exist, `PermissionDeniedError`, or `SeqringError` for a path
    /// that is not a lock file (a symbolic link, a directory, a size that is not whole 8-byte words).
    #[new]
    fn new(py: Python<'_>, path: PathBuf) -> PyResult<Self> {
        if path.as_os_str().is_empty() {
            return Err(raise(Kind::InvalidName, "the lock's path is empty"));
        }
        let region = py.detach(|| open_or_create(&path)).map_err(region_error)?;
        Ok(NamedLock {
            region,
            path,
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
    /// Raises `SeqringError` in a process forked from the one that opened this instance.
    pub(crate) fn acquire(&self, py: Python<'_>) -> PyResult<()> {
        self.check_process()?;
        for _ in 0..SPINS {
            if self.try_take().is_ok() {
                return Ok(());
            }
            std::hint::spin_loop();
        }
        let mut backoff = Backoff::new();
        loop {
            // The word is watched without the GIL, and taken with it (see the module's invariants).
            py.detach(|| backoff.wait(self))?;
            if self.try_acquire()? {
                return Ok(());
            }
        }
    }

    /// Takes the lock if that needs no wait (it is free, this thread's through this instance, or its holder's
    /// process is dead); returns whether it was taken.
    ///
    /// Raises `SeqringError` in a process forked from the one that opened this instance.
    fn try_acquire(&self) -> PyResult<bool> {
        self.check_process()?;
        Ok(match self.try_take() {
            Ok(()) => true,
            Err(holder) => self.take_over(holder),
        })
    }

    /// Releases one level of the lock; the lock is free again when every `acquire` of this instance is released.
    ///
    /// Raises `SeqringError` if this thread does not hold it through this instance (or it was taken over
    /// meanwhile), or in a process forked from the one that opened this instance.
    pub(crate) fn release(&self) -> PyResult<()> {
        self.check_process()?;
        if !self.held_here() {
            return Err(raise(
                Kind::Base,
                format!("lock {} released but not held by this thread", self.path.display()),
            ));
        }
        let depth = self.depth.load(Ordering::Relaxed);
        self.depth.store(depth - 1, Ordering::Relaxed);
        if depth == 1 {
            self.holder_thread.store(0, Ordering::Relaxed);
            // Release pairs with the Acquire compare-exchange of the next holder (`try_take`, `take_over`).
            if let Err(holder) = self
                .region
                .compare_exchange(WORD, self.token, 0, Ordering::Release, Ordering::Relaxed)
            {
                return Err(raise(
                    Kind::Base,
                    format!(
                        "lock {} was taken over by pid {} while this process held it",
                        self.path.display(),
                        holder >> 32
                    ),
                ));
            }
        }
        Ok(())
    }

    /// `with lock:` takes it (as `acquire`).
    fn __enter__(&self, py: Python<'_>) -> PyResult<()> {
        self.acquire(py)
    }

    /// Leaves a `with` block (as `release`); never suppresses an exception.
    #[pyo3(signature = (*_exc))]
    fn __exit__(&self, _exc: &Bound<'_, pyo3::types::PyTuple>) -> PyResult<bool> {
        self.release()?;
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
    fn holder_pid(&self) -> u64 {
        self.region.load(WORD, Ordering::Relaxed) >> 32
    }

    /// The lock file's path.
    #[getter]
    fn path(&self) -> PathBuf {
        self.path.clone()
    }

    fn __repr__(&self) -> String {
        format!(
            "_NamedLock({:?}, depth={})",
            self.path.display().to_string(),
            self.depth()
        )
    }
}

impl Drop for NamedLock {
    fn drop(&mut self) {
        // In a forked child the token is the parent's: not ours to release.
        if *self.depth.get_mut() > 0 && !self.inherited() {
            // Release pairs with the next holder's Acquire; a word that is no longer ours is left alone.
            let _ = self
                .region
                .compare_exchange(WORD, self.token, 0, Ordering::Release, Ordering::Relaxed);
        }
    }
}
