//! Typed n-d arrays in OS shared memory, shared live across processes: seqring's `SharedMemoryArray` and
//! `ndsharray`.
//!
//! A [`SharedArray<T>`] is the core's seqlock array ([`seqring_core::seqlock`]) over a shared-memory
//! [`Region`](seqring_platform::Region) (`/dev/shm/<name>`). Readers never block the writer and never see a torn
//! value; writers in any process exclude each other through the seqlock's sequence word.
//!
//! - Lifecycle: [`SharedArray::create`] (with [`ArrayOptions::exists_ok`] and a capacity for later reshapes),
//!   [`SharedArray::open`], which checks the element type and optionally the shape; [`SharedArray::persist`],
//!   [`SharedArray::destroy`]. The creator removes the region when it drops unless it persisted it; openers only
//!   unmap.
//! - Access by n-d index ([`SharedArray::get`], [`SharedArray::set`]), whole-array and ranged copies,
//!   [`SharedArray::update`] (read-modify-write under the writer lock), [`SharedArray::version`],
//!   [`SharedArray::age`], [`SharedArray::read_if_changed`], the blocking [`SharedArray::wait_changed`] and
//!   [`SharedArray::read_when_changed`] (no polling: see `wait`), and lock-free [`SharedArray::atomic`] cells that
//!   bypass the seqlock.
//! - ndsharray: [`SharedArray::reshape`] / [`SharedArray::write_shaped`] within the capacity, which readers follow
//!   on their next read, and [`SharedArrayDyn`], which learns dtype and shape at run time.
//! - Every wait is bounded: by the handle's timeout ([`ArrayOptions::timeout`]) or, in the `_timeout` forms
//!   (`read_into_timeout(dst, d)`, named as std's `recv_timeout`), by the caller's. A writer that stays in its
//!   write section past it gives [`SharedArrayError::WriterStalled`] with its pid and whether that pid is alive;
//!   [`SharedArray::recover`] clears the stall, and reads report [`Snapshot::suspect`] until the next full write.
//!
//! Invariants: the region's bytes are only accessed through the core's atomic word operations (the atomic cells
//! included: they are whole aligned 8-byte words); a handle's writer token carries its pid
//! (`pid << 32 | 1`, never 0), so a stall names the process.
//!
//! The hot paths ([`SharedArray::read_into`], [`SharedArray::write`]) add no clock read to the core's read: waits
//! spin first, then yield and sleep with a growing backoff so that waiting readers leave the cores to a preempted
//! writer, and report a writer as stalled only when it made no progress for the whole timeout (`wait`). A write
//! reads the coarse clock once, for its write time ([`seqring_platform::clock::now_ns_coarse`]): write times and
//! ages have the kernel tick's resolution (1–4 ms). That clock stays: write times are wall-clock ns since the UNIX
//! epoch, which ages ([`SharedArray::age`], Python's `age`), `seqring shm inspect` ("… s ago") and the waiters'
//! leases compare across processes; the CPU counter's clock (`clock::mono_ns`) counts from a moment of each
//! process and costs more than the coarse clock here. Both hot paths are inlined whole into the caller, so
//! everything they check is resolved once per call (the core's per-call view of the region; the write is the
//! core's guard-less [`SeqArray::write_all`](seqring_core::seqlock::SeqArray::write_all)), and a `&mut [T; N]` or
//! `&[T; N]` argument (a fixed-size record such as 8 × f64) makes the copy's length a constant the compiler
//! unrolls.

mod cell;
mod dynamic;
mod error;
mod handle;
mod index;
pub mod lock;
mod wait;

pub use cell::AtomicElement;
pub use dynamic::{inspect, ArrayInspection, DynRead, SharedArrayDyn};
pub use error::{SharedArrayError, WriterStall};
pub use handle::{ArrayOptions, DEFAULT_TIMEOUT};
pub use lock::ArrayLockGuard;
pub use seqring_core::seqlock::Snapshot;

use handle::Handle;
use seqring_core::seqlock::ArrayError;
use seqring_core::{Element, Patience, Shape, Spins};
use seqring_platform::IntoRegionName;
use std::marker::PhantomData;
use std::ops::Range;
use std::time::Duration;

/// The spins of the inlined fast paths before a wait goes to the backoff ([`wait`]).
const FAST_SPINS: u32 = 64;
/// The largest read (bytes) that spins [`FAST_SPINS`] times on its fast path.
const SMALL_READ: usize = 4096;

/// A typed n-d array of `T` in shared memory, shared live across processes.
///
/// # Examples
/// ```
/// use seqring::shared_array::SharedArray;
/// let name = format!("doc-array-{}", std::process::id());
/// let writer = SharedArray::<f64>::create(&name, &[2, 3])?;
/// let reader = SharedArray::<f64>::open_with_shape(&name, &[2, 3])?;
/// writer.write(&[1.0, 2.0, 3.0, 4.0, 5.0, 6.0])?;
/// writer.set(&[1, 2], 60.0)?;
/// assert_eq!(reader.get(&[1, 2])?, 60.0);
/// let mut all = [0.0; 6];
/// let version = reader.read_into(&mut all)?;
/// assert_eq!((all, version), ([1.0, 2.0, 3.0, 4.0, 5.0, 60.0], 2));
/// drop(reader);
/// drop(writer); // the creator removes the region
/// assert!(SharedArray::<f64>::open(&name).is_err());
/// # Ok::<(), seqring::shared_array::SharedArrayError>(())
/// ```
#[derive(Debug)]
pub struct SharedArray<T: Element> {
    handle: Handle,
    _element: PhantomData<fn() -> T>,
}

const _: () = {
    const fn send_sync<S: Send + Sync>() {}
    send_sync::<SharedArray<f64>>();
    send_sync::<SharedArray<u8>>();
    send_sync::<SharedArrayDyn>();
};

impl<T: Element> SharedArray<T> {
    /// Creates the array `name` with `shape`, zero-filled, mode `0600`.
    ///
    /// # Errors
    /// [`SharedArrayError::Region`] ([`RegionError::InvalidName`](seqring_platform::RegionError::InvalidName),
    /// [`AlreadyExists`](seqring_platform::RegionError::AlreadyExists), ...) or [`SharedArrayError::BadShape`].
    ///
    /// # Examples
    /// ```
    /// use seqring::shared_array::SharedArray;
    /// let name = format!("doc-create-{}", std::process::id());
    /// let a = SharedArray::<f32>::create(&name, &[2, 3])?;
    /// assert_eq!((a.shape()?.as_slice(), a.to_vec()?), (&[2u64, 3][..], vec![0.0; 6]));
    /// assert!(SharedArray::<f32>::create(&name, &[2, 3]).is_err(), "it exists");
    /// # Ok::<(), seqring::shared_array::SharedArrayError>(())
    /// ```
    pub fn create(name: impl IntoRegionName, shape: &[u64]) -> Result<Self, SharedArrayError> {
        Self::create_with(name, shape, &ArrayOptions::default())
    }

    /// Creates the array `name` with `shape` and room for `capacity` elements, for later reshapes.
    ///
    /// # Errors
    /// As [`SharedArray::create`].
    ///
    /// # Examples
    /// ```
    /// use seqring::shared_array::SharedArray;
    /// let name = format!("doc-create-cap-{}", std::process::id());
    /// let a = SharedArray::<u16>::create_with_capacity(&name, &[4], 100)?;
    /// assert!(a.capacity() >= 100);
    /// a.reshape(&[10, 10])?;
    /// assert_eq!(a.len()?, 100);
    /// # Ok::<(), seqring::shared_array::SharedArrayError>(())
    /// ```
    pub fn create_with_capacity(name: &str, shape: &[u64], capacity: u64) -> Result<Self, SharedArrayError> {
        Self::create_with(name, shape, &ArrayOptions::default().capacity(capacity))
    }

    /// Creates the array `name` with `shape` and `options` (replace an existing one, capacity, mode, timeout).
    ///
    /// # Errors
    /// As [`SharedArray::create`].
    ///
    /// # Examples
    /// ```
    /// use seqring::shared_array::{ArrayOptions, SharedArray};
    /// use std::time::Duration;
    /// let name = format!("doc-create-with-{}", std::process::id());
    /// let options = ArrayOptions::default().exists_ok(true).timeout(Duration::from_millis(20));
    /// let a = SharedArray::<i64>::create_with(&name, &[3], &options)?;
    /// a.write(&[1, 2, 3])?;
    /// let b = SharedArray::<i64>::create_with(&name, &[3], &options)?; // replaces `a`'s region
    /// assert_eq!((b.to_vec()?, b.timeout()), (vec![0, 0, 0], Duration::from_millis(20)));
    /// # Ok::<(), seqring::shared_array::SharedArrayError>(())
    /// ```
    pub fn create_with(
        name: impl IntoRegionName,
        shape: &[u64],
        options: &ArrayOptions,
    ) -> Result<Self, SharedArrayError> {
        let name = name.into_region_name()?;
        Ok(Self::wrap(Handle::create(name.as_str(), T::DTYPE, "", shape, options)?))
    }

    /// Opens the array `name`, checking that it holds `T`.
    ///
    /// # Errors
    /// [`SharedArrayError::Region`] (not found, wrong kind, bad layout, too new, not ready, invalid name) or
    /// [`SharedArrayError::DTypeMismatch`].
    ///
    /// # Examples
    /// ```
    /// use seqring::shared_array::{SharedArray, SharedArrayError};
    /// let name = format!("doc-open-{}", std::process::id());
    /// let writer = SharedArray::<u32>::create(&name, &[2])?;
    /// writer.write(&[7, 8])?;
    /// let reader = SharedArray::<u32>::open(&name)?;
    /// assert_eq!(reader.to_vec()?, [7, 8]);
    /// assert!(matches!(SharedArray::<f32>::open(&name), Err(SharedArrayError::DTypeMismatch { .. })));
    /// # Ok::<(), seqring::shared_array::SharedArrayError>(())
    /// ```
    pub fn open(name: impl IntoRegionName) -> Result<Self, SharedArrayError> {
        Self::open_with(name, None, &ArrayOptions::default())
    }

    /// Opens the array `name`, checking that it holds `T` in `shape`.
    ///
    /// # Errors
    /// As [`SharedArray::open`], and [`SharedArrayError::ShapeMismatch`].
    ///
    /// # Examples
    /// ```
    /// use seqring::shared_array::{SharedArray, SharedArrayError};
    /// let name = format!("doc-open-shape-{}", std::process::id());
    /// let _writer = SharedArray::<u8>::create(&name, &[2, 4])?;
    /// assert!(SharedArray::<u8>::open_with_shape(&name, &[2, 4]).is_ok());
    /// let wrong = SharedArray::<u8>::open_with_shape(&name, &[8]);
    /// assert!(matches!(wrong, Err(SharedArrayError::ShapeMismatch { .. })));
    /// # Ok::<(), seqring::shared_array::SharedArrayError>(())
    /// ```
    pub fn open_with_shape(name: &str, shape: &[u64]) -> Result<Self, SharedArrayError> {
        Self::open_with(name, Some(shape), &ArrayOptions::default())
    }

    /// Opens the array `name` with `options` (its timeout), checking `T` and, if given, the current shape.
    ///
    /// # Errors
    /// As [`SharedArray::open_with_shape`].
    ///
    /// # Examples
    /// ```
    /// use seqring::shared_array::{ArrayOptions, SharedArray};
    /// use std::time::Duration;
    /// let name = format!("doc-open-with-{}", std::process::id());
    /// let _writer = SharedArray::<f64>::create(&name, &[3])?;
    /// let options = ArrayOptions::default().timeout(Duration::from_millis(5));
    /// let reader = SharedArray::<f64>::open_with(&name, Some(&[3]), &options)?;
    /// assert_eq!(reader.timeout(), Duration::from_millis(5));
    /// # Ok::<(), seqring::shared_array::SharedArrayError>(())
    /// ```
    pub fn open_with(
        name: impl IntoRegionName,
        shape: Option<&[u64]>,
        options: &ArrayOptions,
    ) -> Result<Self, SharedArrayError> {
        let name = name.into_region_name()?;
        let array = Self::wrap(Handle::open(name.as_str(), options)?);
        let snap = array.snapshot()?;
        if snap.dtype != T::DTYPE {
            return Err(SharedArrayError::DTypeMismatch {
                name: name.to_string(),
                expected: T::DTYPE,
                found: snap.dtype,
            });
        }
        if let Some(expected) = shape {
            if snap.shape() != expected {
                return Err(SharedArrayError::ShapeMismatch {
                    name: name.to_string(),
                    expected: expected.to_vec(),
                    found: snap.shape().to_vec(),
                });
            }
        }
        Ok(array)
    }

    fn wrap(handle: Handle) -> Self {
        SharedArray {
            handle,
            _element: PhantomData,
        }
    }

    #[cold]
    fn error(&self, e: seqring_core::seqlock::ArrayError) -> SharedArrayError {
        self.handle.error(e, size_of::<T>())
    }

    /// The region's name.
    ///
    /// # Examples
    /// ```
    /// use seqring::shared_array::SharedArray;
    /// let name = format!("doc-name-{}", std::process::id());
    /// let a = SharedArray::<u8>::create(&name, &[1])?;
    /// assert_eq!(a.name(), name);
    /// # Ok::<(), seqring::shared_array::SharedArrayError>(())
    /// ```
    pub fn name(&self) -> &str {
        self.handle.name()
    }

    /// The bound of this handle's waits: how long the methods without a `_timeout` twin wait for a writer.
    ///
    /// # Examples
    /// ```
    /// use seqring::shared_array::{SharedArray, DEFAULT_TIMEOUT};
    /// let name = format!("doc-timeout-{}", std::process::id());
    /// let a = SharedArray::<u8>::create(&name, &[1])?;
    /// assert_eq!(a.timeout(), DEFAULT_TIMEOUT);
    /// # Ok::<(), seqring::shared_array::SharedArrayError>(())
    /// ```
    pub fn timeout(&self) -> Duration {
        self.handle.timeout
    }

    /// Sets the bound of this handle's waits ([`SharedArray::timeout`]).
    ///
    /// # Examples
    /// ```
    /// use seqring::shared_array::SharedArray;
    /// use std::time::Duration;
    /// let name = format!("doc-set-timeout-{}", std::process::id());
    /// let mut a = SharedArray::<u8>::create(&name, &[1])?;
    /// a.set_default_timeout(Duration::from_millis(10)); // `read_into`, `write`, ... now wait at most 10 ms
    /// assert_eq!(a.timeout(), Duration::from_millis(10));
    /// # Ok::<(), seqring::shared_array::SharedArrayError>(())
    /// ```
    pub fn set_default_timeout(&mut self, timeout: Duration) {
        self.handle.timeout = timeout;
    }

    /// The capacity in elements (the reserved bytes are rounded up to whole 8-byte words, so this may exceed what
    /// was asked for).
    ///
    /// # Examples
    /// ```
    /// use seqring::shared_array::SharedArray;
    /// let name = format!("doc-capacity-{}", std::process::id());
    /// let a = SharedArray::<u32>::create_with_capacity(&name, &[2], 5)?;
    /// assert_eq!(a.capacity(), 6); // 5 × 4 bytes rounded up to whole 8-byte words
    /// # Ok::<(), seqring::shared_array::SharedArrayError>(())
    /// ```
    pub fn capacity(&self) -> u64 {
        (self.handle.array.capacity() / size_of::<T>()) as u64
    }

    /// Whether this handle created the region (and so removes it on drop unless persisted).
    ///
    /// # Examples
    /// ```
    /// use seqring::shared_array::SharedArray;
    /// let name = format!("doc-is-creator-{}", std::process::id());
    /// let creator = SharedArray::<u8>::create(&name, &[1])?;
    /// let opener = SharedArray::<u8>::open(&name)?;
    /// assert!(creator.is_creator() && !opener.is_creator());
    /// # Ok::<(), seqring::shared_array::SharedArrayError>(())
    /// ```
    pub fn is_creator(&self) -> bool {
        self.handle.is_owner()
    }

    /// Keeps the region after this (creating) handle drops; no effect on an opener.
    ///
    /// # Examples
    /// ```
    /// use seqring::shared_array::SharedArray;
    /// let name = format!("doc-persist-{}", std::process::id());
    /// let a = SharedArray::<u8>::create(&name, &[2])?;
    /// a.write(&[1, 2])?;
    /// a.persist();
    /// drop(a); // the region stays
    /// let again = SharedArray::<u8>::open(&name)?;
    /// assert_eq!(again.to_vec()?, [1, 2]);
    /// again.destroy()?;
    /// # Ok::<(), seqring::shared_array::SharedArrayError>(())
    /// ```
    pub fn persist(&self) {
        self.handle.persist();
    }

    /// Removes the region now, whoever created it. Processes that have it open keep their mapping.
    ///
    /// # Errors
    /// [`SharedArrayError::Region`] if it was already removed or may not be.
    ///
    /// # Examples
    /// ```
    /// use seqring::shared_array::SharedArray;
    /// let name = format!("doc-destroy-{}", std::process::id());
    /// let a = SharedArray::<u8>::create(&name, &[1])?;
    /// let opener = SharedArray::<u8>::open(&name)?;
    /// opener.destroy()?;
    /// assert!(SharedArray::<u8>::open(&name).is_err());
    /// assert_eq!(a.to_vec()?, [0]); // open handles keep their mapping
    /// # Ok::<(), seqring::shared_array::SharedArrayError>(())
    /// ```
    pub fn destroy(self) -> Result<(), SharedArrayError> {
        Ok(self.handle.destroy()?)
    }

    /// The current version: it changes with every completed write. No wait, no copy.
    ///
    /// # Examples
    /// ```
    /// use seqring::shared_array::SharedArray;
    /// let name = format!("doc-version-{}", std::process::id());
    /// let a = SharedArray::<u8>::create(&name, &[2])?;
    /// assert_eq!(a.version(), 0);
    /// a.write(&[1, 2])?;
    /// a.set(&[0], 3)?;
    /// assert_eq!(a.version(), 2);
    /// # Ok::<(), seqring::shared_array::SharedArrayError>(())
    /// ```
    #[inline]
    pub fn version(&self) -> u64 {
        self.handle.array.version()
    }

    /// Whether a writer is in its write section now (or died in it).
    ///
    /// # Examples
    /// ```
    /// use seqring::shared_array::SharedArray;
    /// let name = format!("doc-is-locked-{}", std::process::id());
    /// let a = SharedArray::<u8>::create(&name, &[1])?;
    /// assert!(!a.is_locked());
    /// # Ok::<(), seqring::shared_array::SharedArrayError>(())
    /// ```
    pub fn is_locked(&self) -> bool {
        self.handle.array.is_locked()
    }

    /// Takes the array lock, waiting at most the handle's timeout: the lock for read-modify-writes that must not
    /// interleave with other processes' (see [`lock`]). It is not the writer lock: reads and writes never wait
    /// for it. A holder whose process died is taken over. The guard releases it when dropped, and cannot outlive
    /// the handle.
    ///
    /// # Errors
    /// [`SharedArrayError::LockTimeout`] while a live process holds it beyond the timeout.
    ///
    /// # Examples
    /// ```
    /// use seqring::shared_array::SharedArray;
    /// let name = format!("doc-lock-{}", std::process::id());
    /// let a = SharedArray::<i64>::create(&name, &[4])?;
    /// let held = a.lock()?;
    /// a.set(&[2], a.get(&[2])? + 1)?;
    /// drop(held);
    /// assert_eq!(a.lock_holder(), None);
    /// # Ok::<(), seqring::shared_array::SharedArrayError>(())
    /// ```
    ///
    /// The guard borrows the handle, so it cannot outlive the mapping its word lives in:
    /// ```compile_fail
    /// use seqring::shared_array::SharedArray;
    /// let a = SharedArray::<i64>::create("doc-lock-outlives", &[4]).unwrap();
    /// let held = a.lock().unwrap();
    /// drop(a);
    /// drop(held);
    /// ```
    ///
    /// nor move to another thread (the lock is the taking thread's read-modify-write):
    /// ```compile_fail
    /// use seqring::shared_array::SharedArray;
    /// let a = SharedArray::<i64>::create("doc-lock-send", &[4]).unwrap();
    /// std::thread::scope(|s| {
    ///     let held = a.lock().unwrap();
    ///     s.spawn(move || drop(held));
    /// });
    /// ```
    pub fn lock(&self) -> Result<ArrayLockGuard<'_>, SharedArrayError> {
        self.handle.lock(self.handle.timeout)
    }

    /// [`SharedArray::lock`] waiting at most `timeout`.
    ///
    /// # Errors
    /// As [`SharedArray::lock`].
    ///
    /// # Examples
    /// ```
    /// use seqring::shared_array::{SharedArray, SharedArrayError};
    /// use std::time::Duration;
    /// let name = format!("doc-lock-timeout-{}", std::process::id());
    /// let a = SharedArray::<u8>::create(&name, &[1])?;
    /// let _held = a.lock()?;
    /// let e = a.lock_timeout(Duration::from_millis(5)).unwrap_err();
    /// assert!(matches!(e, SharedArrayError::LockTimeout { holder_pid, .. } if holder_pid == std::process::id()));
    /// # Ok::<(), seqring::shared_array::SharedArrayError>(())
    /// ```
    pub fn lock_timeout(&self, timeout: Duration) -> Result<ArrayLockGuard<'_>, SharedArrayError> {
        self.handle.lock(timeout)
    }

    /// Takes the array lock if that needs no wait (it is free, or its holder's process is dead), else `None`.
    ///
    /// # Errors
    /// None today; the `Result` leaves room for a lock that must be opened.
    ///
    /// # Examples
    /// ```
    /// use seqring::shared_array::SharedArray;
    /// let name = format!("doc-try-lock-{}", std::process::id());
    /// let a = SharedArray::<u8>::create(&name, &[1])?;
    /// let held = a.try_lock()?.expect("free");
    /// assert!(a.try_lock()?.is_none(), "not reentrant: a second guard waits like another process");
    /// drop(held);
    /// # Ok::<(), seqring::shared_array::SharedArrayError>(())
    /// ```
    pub fn try_lock(&self) -> Result<Option<ArrayLockGuard<'_>>, SharedArrayError> {
        Ok(self.handle.try_lock())
    }

    /// The pid of the process holding the array lock, or `None` if it is free (a look: it may change at once).
    ///
    /// # Examples
    /// ```
    /// use seqring::shared_array::SharedArray;
    /// let name = format!("doc-lock-holder-{}", std::process::id());
    /// let a = SharedArray::<u8>::create(&name, &[1])?;
    /// assert_eq!(a.lock_holder(), None);
    /// let _held = a.lock()?;
    /// assert_eq!(a.lock_holder(), Some(std::process::id()));
    /// # Ok::<(), seqring::shared_array::SharedArrayError>(())
    /// ```
    pub fn lock_holder(&self) -> Option<u32> {
        self.handle.lock_holder()
    }

    /// The current dtype, shape, version, write time, writer token and suspect flag, read consistently.
    ///
    /// # Errors
    /// [`SharedArrayError::WriterStalled`] or [`SharedArrayError::Busy`] after the timeout.
    ///
    /// # Examples
    /// ```
    /// use seqring::shared_array::SharedArray;
    /// use seqring_core::DType;
    /// let name = format!("doc-snapshot-{}", std::process::id());
    /// let a = SharedArray::<i16>::create(&name, &[2, 2])?;
    /// a.write(&[1, 2, 3, 4])?;
    /// let snap = a.snapshot()?;
    /// assert_eq!((snap.dtype, snap.shape(), snap.version, snap.suspect), (DType::I16, &[2u64, 2][..], 1, false));
    /// # Ok::<(), seqring::shared_array::SharedArrayError>(())
    /// ```
    pub fn snapshot(&self) -> Result<Snapshot, SharedArrayError> {
        self.snapshot_timeout(self.handle.timeout)
    }

    /// [`SharedArray::snapshot`] with a bounded wait of `timeout`.
    ///
    /// # Errors
    /// As [`SharedArray::snapshot`].
    ///
    /// # Examples
    /// ```
    /// use seqring::shared_array::SharedArray;
    /// use std::time::Duration;
    /// let name = format!("doc-snapshot-timeout-{}", std::process::id());
    /// let a = SharedArray::<u8>::create(&name, &[3])?;
    /// assert_eq!(a.snapshot_timeout(Duration::from_millis(1))?.shape(), &[3]);
    /// # Ok::<(), seqring::shared_array::SharedArrayError>(())
    /// ```
    pub fn snapshot_timeout(&self, timeout: Duration) -> Result<Snapshot, SharedArrayError> {
        let mut wait = self.handle.wait(timeout);
        self.handle
            .array
            .snapshot(&mut wait)
            .map_err(|e| self.error(wait.judge(e)))
    }

    /// The current shape.
    ///
    /// # Errors
    /// As [`SharedArray::snapshot`].
    ///
    /// # Examples
    /// ```
    /// use seqring::shared_array::SharedArray;
    /// let name = format!("doc-shape-{}", std::process::id());
    /// let a = SharedArray::<u8>::create_with_capacity(&name, &[4], 8)?;
    /// assert_eq!(a.shape()?.as_slice(), &[4]);
    /// a.reshape(&[2, 4])?;
    /// assert_eq!(a.shape()?.as_slice(), &[2, 4]);
    /// # Ok::<(), seqring::shared_array::SharedArrayError>(())
    /// ```
    pub fn shape(&self) -> Result<Shape, SharedArrayError> {
        Ok(self.snapshot()?.to_shape())
    }

    /// The current number of elements.
    ///
    /// # Errors
    /// As [`SharedArray::snapshot`].
    ///
    /// # Examples
    /// ```
    /// use seqring::shared_array::SharedArray;
    /// let name = format!("doc-len-{}", std::process::id());
    /// let a = SharedArray::<u8>::create(&name, &[2, 3])?;
    /// assert_eq!(a.len()?, 6);
    /// # Ok::<(), seqring::shared_array::SharedArrayError>(())
    /// ```
    pub fn len(&self) -> Result<usize, SharedArrayError> {
        Ok(index::count(self.snapshot()?.shape()))
    }

    /// Whether the current shape holds no element.
    ///
    /// # Errors
    /// As [`SharedArray::snapshot`].
    ///
    /// # Examples
    /// ```
    /// use seqring::shared_array::SharedArray;
    /// let name = format!("doc-is-empty-{}", std::process::id());
    /// let a = SharedArray::<u8>::create_with_capacity(&name, &[2], 2)?;
    /// assert!(!a.is_empty()?);
    /// a.reshape(&[0])?;
    /// assert!(a.is_empty()?);
    /// # Ok::<(), seqring::shared_array::SharedArrayError>(())
    /// ```
    pub fn is_empty(&self) -> Result<bool, SharedArrayError> {
        Ok(self.len()? == 0)
    }

    /// How long ago the last write happened (to the kernel tick, 1–4 ms), or `None` if the array was never written
    /// (or its writer does not record times, [`ArrayOptions::write_times`]).
    ///
    /// # Errors
    /// As [`SharedArray::snapshot`].
    ///
    /// # Examples
    /// ```
    /// use seqring::shared_array::SharedArray;
    /// use std::time::Duration;
    /// let name = format!("doc-age-{}", std::process::id());
    /// let a = SharedArray::<u8>::create(&name, &[1])?;
    /// assert_eq!(a.age()?, None, "never written");
    /// a.write(&[1])?;
    /// assert!(a.age()?.unwrap() < Duration::from_secs(5));
    /// # Ok::<(), seqring::shared_array::SharedArrayError>(())
    /// ```
    pub fn age(&self) -> Result<Option<Duration>, SharedArrayError> {
        Ok(handle::age_of(&self.snapshot()?))
    }

    /// Copies the first `dst.len()` elements into `dst` and returns the version read: the lean hot-path read.
    ///
    /// # Errors
    /// [`SharedArrayError::OutOfBounds`] if `dst` is longer than the array, [`SharedArrayError::DTypeMismatch`]
    /// after a reshape to another type, [`SharedArrayError::WriterStalled`] or [`SharedArrayError::Busy`] after the
    /// timeout, [`SharedArrayError::Suspect`] after a [`recover`](Self::recover) until the next whole write (as
    /// [`get`](Self::get), [`to_vec`](Self::to_vec) and [`read_if_changed`](Self::read_if_changed); the snapshot
    /// reads hand such contents out with [`Snapshot::suspect`] set).
    ///
    /// # Examples
    /// ```
    /// use seqring::shared_array::SharedArray;
    /// let name = format!("doc-read-into-{}", std::process::id());
    /// let a = SharedArray::<f64>::create(&name, &[4])?;
    /// a.write(&[1.0, 2.0, 3.0, 4.0])?;
    /// let mut head = [0.0; 2];
    /// assert_eq!(a.read_into(&mut head)?, 1); // the version read
    /// assert_eq!(head, [1.0, 2.0]);
    /// assert!(a.read_into(&mut [0.0; 5]).is_err(), "longer than the array");
    /// # Ok::<(), seqring::shared_array::SharedArrayError>(())
    /// ```
    #[inline(always)]
    pub fn read_into(&self, dst: &mut [T]) -> Result<u64, SharedArrayError> {
        self.read_into_timeout(dst, self.handle.timeout)
    }

    /// [`SharedArray::read_into`] with a bounded wait of `timeout`.
    ///
    /// # Errors
    /// As [`SharedArray::read_into`].
    ///
    /// # Examples
    /// ```
    /// use seqring::shared_array::SharedArray;
    /// use std::time::Duration;
    /// let name = format!("doc-read-into-timeout-{}", std::process::id());
    /// let a = SharedArray::<u32>::create(&name, &[2])?;
    /// a.write(&[5, 6])?;
    /// let mut out = [0; 2];
    /// a.read_into_timeout(&mut out, Duration::from_micros(100))?;
    /// assert_eq!(out, [5, 6]);
    /// # Ok::<(), seqring::shared_array::SharedArrayError>(())
    /// ```
    #[inline(always)]
    pub fn read_into_timeout(&self, dst: &mut [T], timeout: Duration) -> Result<u64, SharedArrayError> {
        // The fast path spins only (small enough to inline like the core's own read); a read that must wait, or
        // fails, goes once more through the deadline-bounded path.
        // A large read spins once only: each failed attempt is a whole copy.
        let spins = if size_of_val(dst) <= SMALL_READ { FAST_SPINS } else { 1 };
        match self.handle.array.read_into(0, dst, Spins(spins)) {
            Ok(version) => Ok(version),
            Err(_) => self.read_into_waiting(dst, timeout),
        }
    }

    #[cold]
    #[inline(never)]
    fn read_into_waiting(&self, dst: &mut [T], timeout: Duration) -> Result<u64, SharedArrayError> {
        let mut wait = self.handle.wait(timeout).copying(size_of_val(dst));
        self.handle
            .array
            .read_into(0, dst, &mut wait)
            .map_err(|e| self.error(wait.judge(e)))
    }

    /// Copies `dst.len()` elements from element `first` into `dst` and returns the snapshot they belong to
    /// (shape, version, write time, writer, suspect flag).
    ///
    /// # Errors
    /// As [`SharedArray::read_into`].
    ///
    /// # Examples
    /// ```
    /// use seqring::shared_array::SharedArray;
    /// let name = format!("doc-read-at-{}", std::process::id());
    /// let a = SharedArray::<u16>::create(&name, &[5])?;
    /// a.write(&[10, 11, 12, 13, 14])?;
    /// let mut mid = [0; 2];
    /// let snap = a.read_at(2, &mut mid)?;
    /// assert_eq!((mid, snap.version), ([12, 13], 1));
    /// # Ok::<(), seqring::shared_array::SharedArrayError>(())
    /// ```
    pub fn read_at(&self, first: usize, dst: &mut [T]) -> Result<Snapshot, SharedArrayError> {
        self.read_at_timeout(first, dst, self.handle.timeout)
    }

    /// [`SharedArray::read_at`] with a bounded wait of `timeout`.
    ///
    /// # Errors
    /// As [`SharedArray::read_into`].
    ///
    /// # Examples
    /// ```
    /// use seqring::shared_array::SharedArray;
    /// use std::time::Duration;
    /// let name = format!("doc-read-at-timeout-{}", std::process::id());
    /// let a = SharedArray::<u16>::create(&name, &[3])?;
    /// a.write(&[1, 2, 3])?;
    /// let mut last = [0; 1];
    /// a.read_at_timeout(2, &mut last, Duration::from_millis(1))?;
    /// assert_eq!(last, [3]);
    /// # Ok::<(), seqring::shared_array::SharedArrayError>(())
    /// ```
    pub fn read_at_timeout(
        &self,
        first: usize,
        dst: &mut [T],
        timeout: Duration,
    ) -> Result<Snapshot, SharedArrayError> {
        let mut wait = self.handle.wait(timeout).copying(size_of_val(dst));
        self.handle
            .array
            .read_elements(first, dst, &mut wait)
            .map_err(|e| self.error(wait.judge(e)))
    }

    /// Reads only if the version differs from `last_version`: returns the new version, or `None` without copying.
    ///
    /// # Errors
    /// As [`SharedArray::read_into`].
    ///
    /// # Examples
    /// ```
    /// use seqring::shared_array::SharedArray;
    /// let a = SharedArray::<u32>::create(&format!("doc-changed-{}", std::process::id()), &[2])?;
    /// let mut seen = [0u32; 2];
    /// assert_eq!(a.read_if_changed(0, &mut seen)?, None);
    /// a.write(&[4, 5])?;
    /// assert_eq!(a.read_if_changed(0, &mut seen)?, Some(1));
    /// assert_eq!(seen, [4, 5]);
    /// # Ok::<(), seqring::shared_array::SharedArrayError>(())
    /// ```
    pub fn read_if_changed(&self, last_version: u64, dst: &mut [T]) -> Result<Option<u64>, SharedArrayError> {
        self.read_if_changed_timeout(last_version, dst, self.handle.timeout)
    }

    /// [`SharedArray::read_if_changed`] with a bounded wait of `timeout`.
    ///
    /// # Errors
    /// As [`SharedArray::read_into`].
    ///
    /// # Examples
    /// ```
    /// use seqring::shared_array::SharedArray;
    /// use std::time::Duration;
    /// let name = format!("doc-changed-timeout-{}", std::process::id());
    /// let a = SharedArray::<u8>::create(&name, &[1])?;
    /// let mut seen = [0];
    /// a.write(&[9])?;
    /// let v = a.read_if_changed_timeout(0, &mut seen, Duration::from_millis(1))?;
    /// assert_eq!((v, seen), (Some(1), [9]));
    /// assert_eq!(a.read_if_changed_timeout(1, &mut seen, Duration::from_millis(1))?, None);
    /// # Ok::<(), seqring::shared_array::SharedArrayError>(())
    /// ```
    pub fn read_if_changed_timeout(
        &self,
        last_version: u64,
        dst: &mut [T],
        timeout: Duration,
    ) -> Result<Option<u64>, SharedArrayError> {
        if !self.handle.changed_since(last_version) {
            return Ok(None);
        }
        let version = self.read_into_timeout(dst, timeout)?;
        Ok((version != last_version).then_some(version))
    }

    /// Blocks until a writer publishes a version other than `last_version`, for at most `timeout`
    /// (`Duration::MAX`: no bound), and returns that version, or `None` when the timeout passes first. It returns at
    /// once if the version already differs. It does not read the data: follow it with a read, or use
    /// [`SharedArray::read_when_changed`].
    ///
    /// It burns no CPU while it waits (a futex on the sequence word on Linux, a ulock on macOS, a named event of the
    /// word's value on Windows, woken by the writer's publish; a writer with no one waiting pays one load and a
    /// branch; see `seqring_platform::address_wait`). Waiting for a change is not a
    /// patience: `timeout` is the caller's, never the handle's [`ArrayOptions::timeout`].
    ///
    /// # Errors
    /// [`SharedArrayError::WriterStalled`] when the timeout passes while one writer has stayed in its write section
    /// since the wait first saw it (a writer that died mid-write never hangs the wait past `timeout`).
    ///
    /// # Examples
    /// ```
    /// use seqring::shared_array::SharedArray;
    /// use std::time::Duration;
    /// let name = format!("doc-wait-changed-{}", std::process::id());
    /// let a = SharedArray::<f64>::create(&name, &[3])?;
    /// assert_eq!(a.wait_changed(0, Duration::from_millis(1))?, None, "nothing written: times out");
    /// std::thread::scope(|s| {
    ///     s.spawn(|| a.write(&[1.0, 2.0, 3.0]).unwrap());
    ///     let v = a.wait_changed(0, Duration::from_secs(10)).unwrap().expect("the write wakes the wait");
    ///     assert!(v >= 1);
    /// });
    /// # Ok::<(), seqring::shared_array::SharedArrayError>(())
    /// ```
    pub fn wait_changed(&self, last_version: u64, timeout: Duration) -> Result<Option<u64>, SharedArrayError> {
        self.handle.wait_changed(last_version, timeout, size_of::<T>())
    }

    /// How many threads (in any process) are blocked in [`SharedArray::wait_changed`] on this array now
    /// (informational: a waiter killed while blocked stays counted, but costs writes a wake call only until its
    /// lease, about two seconds, runs out).
    ///
    /// # Examples
    /// ```
    /// use seqring::shared_array::SharedArray;
    /// let a = SharedArray::<u8>::create(&format!("doc-waiters-{}", std::process::id()), &[1])?;
    /// assert_eq!(a.waiters(), 0);
    /// # Ok::<(), seqring::shared_array::SharedArrayError>(())
    /// ```
    pub fn waiters(&self) -> u64 {
        self.handle.array.waiters()
    }

    /// [`SharedArray::wait_changed`], then a read into `dst` as [`SharedArray::read_into_timeout`] with the handle's
    /// timeout: the blocking form of [`SharedArray::read_if_changed`]. Returns the version read (newer than
    /// `last_version`), or `None` without copying when `timeout` passes first.
    ///
    /// # Errors
    /// As [`SharedArray::wait_changed`] and [`SharedArray::read_into`].
    ///
    /// # Examples
    /// ```
    /// use seqring::shared_array::SharedArray;
    /// use std::time::Duration;
    /// let name = format!("doc-read-when-changed-{}", std::process::id());
    /// let a = SharedArray::<u32>::create(&name, &[2])?;
    /// let mut seen = [0u32; 2];
    /// std::thread::scope(|s| {
    ///     s.spawn(|| a.write(&[7, 8]).unwrap());
    ///     let v = a.read_when_changed(0, &mut seen, Duration::from_secs(10)).unwrap();
    ///     assert_eq!((v, seen), (Some(1), [7, 8]));
    /// });
    /// assert_eq!(a.read_when_changed(1, &mut seen, Duration::ZERO)?, None);
    /// # Ok::<(), seqring::shared_array::SharedArrayError>(())
    /// ```
    pub fn read_when_changed(
        &self,
        last_version: u64,
        dst: &mut [T],
        timeout: Duration,
    ) -> Result<Option<u64>, SharedArrayError> {
        if self.wait_changed(last_version, timeout)?.is_none() {
            return Ok(None);
        }
        self.read_into_timeout(dst, self.handle.timeout).map(Some)
    }

    /// The whole current contents as a vector (its length follows reshapes).
    ///
    /// # Errors
    /// As [`SharedArray::read_into`].
    ///
    /// # Examples
    /// ```
    /// use seqring::shared_array::SharedArray;
    /// let name = format!("doc-to-vec-{}", std::process::id());
    /// let a = SharedArray::<i32>::create_with_capacity(&name, &[2], 4)?;
    /// a.write(&[1, 2])?;
    /// assert_eq!(a.to_vec()?, [1, 2]);
    /// a.write_shaped(&[4], &[1, 2, 3, 4])?;
    /// assert_eq!(a.to_vec()?.len(), 4);
    /// # Ok::<(), seqring::shared_array::SharedArrayError>(())
    /// ```
    pub fn to_vec(&self) -> Result<Vec<T>, SharedArrayError> {
        self.to_vec_timeout(self.handle.timeout)
    }

    /// [`SharedArray::to_vec`] with a bounded wait of `timeout`.
    ///
    /// # Errors
    /// As [`SharedArray::read_into`].
    ///
    /// # Examples
    /// ```
    /// use seqring::shared_array::SharedArray;
    /// use std::time::Duration;
    /// let name = format!("doc-to-vec-timeout-{}", std::process::id());
    /// let a = SharedArray::<i32>::create(&name, &[2])?;
    /// a.write(&[-1, 1])?;
    /// assert_eq!(a.to_vec_timeout(Duration::from_millis(1))?, [-1, 1]);
    /// # Ok::<(), seqring::shared_array::SharedArrayError>(())
    /// ```
    pub fn to_vec_timeout(&self, timeout: Duration) -> Result<Vec<T>, SharedArrayError> {
        let (snapshot, data) = self.read_whole_timeout(timeout)?;
        if snapshot.suspect {
            return Err(SharedArrayError::Suspect {
                name: self.name().to_string(),
                version: snapshot.version,
            });
        }
        Ok(data)
    }

    /// The whole current contents and the snapshot they belong to, consistent with each other even while a writer
    /// reshapes.
    ///
    /// # Errors
    /// As [`SharedArray::read_into`].
    ///
    /// # Examples
    /// ```
    /// use seqring::shared_array::SharedArray;
    /// let name = format!("doc-read-whole-{}", std::process::id());
    /// let a = SharedArray::<f32>::create(&name, &[2])?;
    /// a.write(&[0.5, 1.5])?;
    /// let (snap, data) = a.read_whole()?;
    /// assert_eq!((snap.version, snap.suspect, data), (1, false, vec![0.5, 1.5]));
    /// # Ok::<(), seqring::shared_array::SharedArrayError>(())
    /// ```
    pub fn read_whole(&self) -> Result<(Snapshot, Vec<T>), SharedArrayError> {
        self.read_whole_timeout(self.handle.timeout)
    }

    /// [`SharedArray::read_whole`] with a bounded wait of `timeout`.
    ///
    /// # Errors
    /// As [`SharedArray::read_into`].
    ///
    /// # Examples
    /// ```
    /// use seqring::shared_array::SharedArray;
    /// use std::time::Duration;
    /// let name = format!("doc-read-whole-timeout-{}", std::process::id());
    /// let a = SharedArray::<f32>::create(&name, &[1])?;
    /// let (snap, data) = a.read_whole_timeout(Duration::from_millis(1))?;
    /// assert_eq!((snap.version, data), (0, vec![0.0]));
    /// # Ok::<(), seqring::shared_array::SharedArrayError>(())
    /// ```
    pub fn read_whole_timeout(&self, timeout: Duration) -> Result<(Snapshot, Vec<T>), SharedArrayError> {
        let mut p = self.handle.wait(timeout);
        let mut data = Vec::new();
        loop {
            let meta = self.handle.array.snapshot(&mut p).map_err(|e| self.error(p.judge(e)))?;
            data.resize(index::count(meta.shape()), T::zeroed());
            p.copy_size(size_of_val(&data[..]));
            match self.handle.array.read_elements(0, &mut data, &mut p) {
                // The data belongs to `snap`; it is whole when `snap`'s shape is the one `data` was sized for.
                Ok(snap) if snap.shape() == meta.shape() => return Ok((snap, data)),
                // Reshaped in between (larger: shape differs; smaller: out of bounds): size again.
                Ok(_) | Err(seqring_core::seqlock::ArrayError::OutOfBounds { .. }) => {}
                Err(e) => return Err(self.error(p.judge(e))),
            }
            if !p.keep_waiting() {
                return Err(SharedArrayError::Busy {
                    name: self.name().to_string(),
                });
            }
        }
    }

    /// The element at the n-d `index` (row-major).
    ///
    /// # Errors
    /// [`SharedArrayError::IndexOutOfBounds`], and as [`SharedArray::read_into`].
    ///
    /// # Examples
    /// ```
    /// use seqring::shared_array::SharedArray;
    /// let name = format!("doc-get-{}", std::process::id());
    /// let a = SharedArray::<u8>::create(&name, &[2, 3])?;
    /// a.write(&[0, 1, 2, 3, 4, 5])?;
    /// assert_eq!(a.get(&[1, 1])?, 4);
    /// assert!(a.get(&[2, 0]).is_err(), "outside the shape");
    /// # Ok::<(), seqring::shared_array::SharedArrayError>(())
    /// ```
    pub fn get(&self, index: &[u64]) -> Result<T, SharedArrayError> {
        self.get_timeout(index, self.handle.timeout)
    }

    /// [`SharedArray::get`] with a bounded wait of `timeout`.
    ///
    /// # Errors
    /// As [`SharedArray::get`].
    ///
    /// # Examples
    /// ```
    /// use seqring::shared_array::SharedArray;
    /// use std::time::Duration;
    /// let name = format!("doc-get-timeout-{}", std::process::id());
    /// let a = SharedArray::<u8>::create(&name, &[2])?;
    /// a.write(&[3, 4])?;
    /// assert_eq!(a.get_timeout(&[1], Duration::from_millis(1))?, 4);
    /// # Ok::<(), seqring::shared_array::SharedArrayError>(())
    /// ```
    pub fn get_timeout(&self, index: &[u64], timeout: Duration) -> Result<T, SharedArrayError> {
        let mut p = self.handle.wait(timeout);
        loop {
            let meta = self.handle.array.snapshot(&mut p).map_err(|e| self.error(p.judge(e)))?;
            let flat = self.flat(meta.shape(), index)?;
            let mut out = [T::zeroed()];
            match self.handle.array.read_into(flat, &mut out, &mut p) {
                // The same version means no write in between, so the index was resolved against this data's shape.
                Ok(version) if version == meta.version => return Ok(out[0]),
                Ok(_) | Err(seqring_core::seqlock::ArrayError::OutOfBounds { .. }) => {}
                Err(e) => return Err(self.error(p.judge(e))),
            }
            if !p.keep_waiting() {
                return Err(SharedArrayError::Busy {
                    name: self.name().to_string(),
                });
            }
        }
    }

    fn flat(&self, shape: &[u64], index: &[u64]) -> Result<usize, SharedArrayError> {
        index::flat(shape, index).ok_or_else(|| SharedArrayError::IndexOutOfBounds {
            name: self.name().to_string(),
            index: index.to_vec(),
            shape: shape.to_vec(),
        })
    }

    /// Sets the element at the n-d `index` (row-major) in one write.
    ///
    /// # Errors
    /// [`SharedArrayError::IndexOutOfBounds`], [`SharedArrayError::WriterStalled`] after the timeout.
    ///
    /// # Examples
    /// ```
    /// use seqring::shared_array::SharedArray;
    /// let name = format!("doc-set-{}", std::process::id());
    /// let a = SharedArray::<f64>::create(&name, &[2, 2])?;
    /// a.set(&[0, 1], 2.5)?;
    /// assert_eq!((a.to_vec()?, a.version()), (vec![0.0, 2.5, 0.0, 0.0], 1));
    /// assert!(a.set(&[0, 2], 1.0).is_err(), "outside the shape");
    /// # Ok::<(), seqring::shared_array::SharedArrayError>(())
    /// ```
    pub fn set(&self, index: &[u64], value: T) -> Result<(), SharedArrayError> {
        self.set_timeout(index, value, self.handle.timeout)
    }

    /// [`SharedArray::set`] with a bounded wait of `timeout`.
    ///
    /// # Errors
    /// As [`SharedArray::set`].
    ///
    /// # Examples
    /// ```
    /// use seqring::shared_array::SharedArray;
    /// use std::time::Duration;
    /// let name = format!("doc-set-timeout-el-{}", std::process::id());
    /// let a = SharedArray::<i8>::create(&name, &[3])?;
    /// a.set_timeout(&[2], -1, Duration::from_millis(1))?;
    /// assert_eq!(a.to_vec()?, [0, 0, -1]);
    /// # Ok::<(), seqring::shared_array::SharedArrayError>(())
    /// ```
    pub fn set_timeout(&self, index: &[u64], value: T, timeout: Duration) -> Result<(), SharedArrayError> {
        let mut p = self.handle.wait(timeout);
        loop {
            let meta = self.handle.array.snapshot(&mut p).map_err(|e| self.error(p.judge(e)))?;
            let flat = self.flat(meta.shape(), index)?;
            let mut guard = self
                .handle
                .array
                .lock(self.handle.stamp(), &mut p)
                .map_err(|e| self.error(p.judge(e)))?;
            // While we hold the lock the version is the one of the last completed write: unchanged means the shape
            // the index was resolved against is still current. Otherwise the guard drops without a write.
            if self.handle.array.version() == meta.version {
                return guard.write_elements(flat, &[value]).map_err(|e| self.error(e));
            }
            drop(guard);
            if !p.keep_waiting() {
                return Err(SharedArrayError::Busy {
                    name: self.name().to_string(),
                });
            }
        }
    }

    /// Writes the whole array: `src` must have exactly the current number of elements.
    ///
    /// # Errors
    /// [`SharedArrayError::LengthMismatch`], [`SharedArrayError::DTypeMismatch`] after a reshape to another type,
    /// [`SharedArrayError::WriterStalled`] after the timeout.
    ///
    /// # Examples
    /// ```
    /// use seqring::shared_array::SharedArray;
    /// let name = format!("doc-write-{}", std::process::id());
    /// let a = SharedArray::<u16>::create(&name, &[3])?;
    /// a.write(&[1, 2, 3])?;
    /// assert_eq!(a.to_vec()?, [1, 2, 3]);
    /// assert!(a.write(&[1, 2]).is_err(), "not the array's length");
    /// # Ok::<(), seqring::shared_array::SharedArrayError>(())
    /// ```
    #[inline(always)]
    pub fn write(&self, src: &[T]) -> Result<(), SharedArrayError> {
        self.write_timeout(src, self.handle.timeout)
    }

    /// [`SharedArray::write`] with a bounded wait of `timeout`.
    ///
    /// # Errors
    /// As [`SharedArray::write`].
    ///
    /// # Examples
    /// ```
    /// use seqring::shared_array::SharedArray;
    /// use std::time::Duration;
    /// let name = format!("doc-write-timeout-{}", std::process::id());
    /// let a = SharedArray::<u16>::create(&name, &[2])?;
    /// a.write_timeout(&[8, 9], Duration::from_millis(1))?;
    /// assert_eq!(a.to_vec()?, [8, 9]);
    /// # Ok::<(), seqring::shared_array::SharedArrayError>(())
    /// ```
    #[inline(always)]
    pub fn write_timeout(&self, src: &[T], timeout: Duration) -> Result<(), SharedArrayError> {
        // The fast path spins only, as the read's, and writes without a guard (the core's `write_all`); a writer
        // that must wait takes the backoff path, out of line.
        match self.handle.array.write_all(src, self.handle.stamp(), Spins(FAST_SPINS)) {
            Ok(()) => Ok(()),
            Err(e) => self.write_failed(e, src, timeout),
        }
    }

    /// A fast write that failed: a lock that was not free within the fast path's spins waits for it (spin, yield,
    /// sleep) within `timeout`; other errors are final.
    #[cold]
    #[inline(never)]
    fn write_failed(&self, e: ArrayError, src: &[T], timeout: Duration) -> Result<(), SharedArrayError> {
        if !matches!(e, ArrayError::WriterStalled { .. }) {
            return Err(self.error(e));
        }
        let mut wait = self.handle.wait(timeout);
        self.handle
            .array
            .write_all(src, self.handle.stamp(), &mut wait)
            .map_err(|e| self.error(wait.judge(e)))
    }

    /// Writes `src` over the elements `first..first + src.len()` in one write.
    ///
    /// # Errors
    /// [`SharedArrayError::OutOfBounds`], and as [`SharedArray::write`].
    ///
    /// # Examples
    /// ```
    /// use seqring::shared_array::SharedArray;
    /// let name = format!("doc-write-at-{}", std::process::id());
    /// let a = SharedArray::<u8>::create(&name, &[5])?;
    /// a.write_at(1, &[7, 8])?;
    /// assert_eq!(a.to_vec()?, [0, 7, 8, 0, 0]);
    /// assert!(a.write_at(4, &[1, 2]).is_err(), "past the end");
    /// # Ok::<(), seqring::shared_array::SharedArrayError>(())
    /// ```
    pub fn write_at(&self, first: usize, src: &[T]) -> Result<(), SharedArrayError> {
        self.write_at_timeout(first, src, self.handle.timeout)
    }

    /// [`SharedArray::write_at`] with a bounded wait of `timeout`.
    ///
    /// # Errors
    /// As [`SharedArray::write_at`].
    ///
    /// # Examples
    /// ```
    /// use seqring::shared_array::SharedArray;
    /// use std::time::Duration;
    /// let name = format!("doc-write-at-timeout-{}", std::process::id());
    /// let a = SharedArray::<u8>::create(&name, &[3])?;
    /// a.write_at_timeout(2, &[5], Duration::from_millis(1))?;
    /// assert_eq!(a.to_vec()?, [0, 0, 5]);
    /// # Ok::<(), seqring::shared_array::SharedArrayError>(())
    /// ```
    pub fn write_at_timeout(&self, first: usize, src: &[T], timeout: Duration) -> Result<(), SharedArrayError> {
        let mut wait = self.handle.wait(timeout);
        self.handle
            .array
            .write_elements(first, src, self.handle.stamp(), &mut wait)
            .map_err(|e| self.error(wait.judge(e)))
    }

    /// Fills the element `range` (flat, row-major) with `value` in one write.
    ///
    /// # Errors
    /// As [`SharedArray::write_at`].
    ///
    /// # Examples
    /// ```
    /// use seqring::shared_array::SharedArray;
    /// let name = format!("doc-fill-{}", std::process::id());
    /// let a = SharedArray::<f32>::create(&name, &[5])?;
    /// a.fill(1..4, 0.5)?;
    /// assert_eq!((a.to_vec()?, a.version()), (vec![0.0, 0.5, 0.5, 0.5, 0.0], 1));
    /// # Ok::<(), seqring::shared_array::SharedArrayError>(())
    /// ```
    pub fn fill(&self, range: Range<usize>, value: T) -> Result<(), SharedArrayError> {
        let src = vec![value; range.len()];
        self.write_at(range.start, &src)
    }

    /// Read-modify-write of the whole array under the writer lock: `f` gets the current contents and its changes
    /// are written back in the same write, so no other writer's change is lost.
    ///
    /// # Errors
    /// As [`SharedArray::write`].
    ///
    /// # Examples
    /// ```
    /// use seqring::shared_array::SharedArray;
    /// let counters = SharedArray::<u64>::create(&format!("doc-update-{}", std::process::id()), &[3])?;
    /// let total = counters.update(|c| {
    ///     c[1] += 5;
    ///     c.iter().sum::<u64>()
    /// })?;
    /// assert_eq!((total, counters.to_vec()?), (5, vec![0, 5, 0]));
    /// # Ok::<(), seqring::shared_array::SharedArrayError>(())
    /// ```
    pub fn update<R>(&self, f: impl FnOnce(&mut [T]) -> R) -> Result<R, SharedArrayError> {
        self.update_timeout(self.handle.timeout, f)
    }

    /// [`SharedArray::update`] with a bounded wait of `timeout`.
    ///
    /// # Errors
    /// As [`SharedArray::write`].
    ///
    /// # Examples
    /// ```
    /// use seqring::shared_array::SharedArray;
    /// use std::time::Duration;
    /// let name = format!("doc-update-timeout-{}", std::process::id());
    /// let a = SharedArray::<u32>::create(&name, &[2])?;
    /// a.update_timeout(Duration::from_millis(1), |v| v[0] = 3)?;
    /// assert_eq!(a.to_vec()?, [3, 0]);
    /// # Ok::<(), seqring::shared_array::SharedArrayError>(())
    /// ```
    pub fn update_timeout<R>(&self, timeout: Duration, f: impl FnOnce(&mut [T]) -> R) -> Result<R, SharedArrayError> {
        let mut wait = self.handle.wait(timeout);
        let mut guard = self
            .handle
            .array
            .lock(self.handle.stamp(), &mut wait)
            .map_err(|e| self.error(wait.judge(e)))?;
        if guard.dtype() != T::DTYPE {
            let found = guard.dtype();
            drop(guard);
            return Err(SharedArrayError::DTypeMismatch {
                name: self.name().to_string(),
                expected: T::DTYPE,
                found,
            });
        }
        let mut buf = vec![T::zeroed(); guard.len() / size_of::<T>()];
        guard
            .read_bytes(0, bytemuck::cast_slice_mut(&mut buf))
            .map_err(|e| self.error(e))?;
        let result = f(&mut buf);
        guard.write_elements(0, &buf).map_err(|e| self.error(e))?;
        Ok(result)
    }

    /// Changes the shape within the capacity; the data bytes stay as they are. Readers see the new shape on their
    /// next read.
    ///
    /// # Errors
    /// [`SharedArrayError::BadShape`], [`SharedArrayError::CapacityExceeded`], and as [`SharedArray::write`].
    ///
    /// # Examples
    /// ```
    /// use seqring::shared_array::SharedArray;
    /// let name = format!("doc-reshape-{}", std::process::id());
    /// let a = SharedArray::<u8>::create_with_capacity(&name, &[6], 6)?;
    /// a.write(&[1, 2, 3, 4, 5, 6])?;
    /// a.reshape(&[2, 3])?;
    /// assert_eq!(a.get(&[1, 0])?, 4); // the data stayed
    /// assert!(a.reshape(&[9]).is_err(), "beyond the capacity (6 bytes, rounded up to 8)");
    /// # Ok::<(), seqring::shared_array::SharedArrayError>(())
    /// ```
    pub fn reshape(&self, shape: &[u64]) -> Result<(), SharedArrayError> {
        self.write_shaped_timeout(shape, None, self.handle.timeout)
    }

    /// Changes the shape within the capacity and writes the whole data for it in the same write, so readers see the
    /// new shape and its data together.
    ///
    /// # Errors
    /// [`SharedArrayError::LengthMismatch`] if `data` does not have the shape's element count, and as
    /// [`SharedArray::reshape`].
    ///
    /// # Examples
    /// ```
    /// use seqring::shared_array::SharedArray;
    /// let a = SharedArray::<i32>::create_with_capacity(&format!("doc-shaped-{}", std::process::id()), &[2], 6)?;
    /// a.write_shaped(&[2, 3], &[1, 2, 3, 4, 5, 6])?;
    /// assert_eq!((a.shape()?.as_slice(), a.get(&[1, 0])?), (&[2u64, 3][..], 4));
    /// assert!(a.write_shaped(&[7], &[0; 7]).is_err(), "beyond the capacity");
    /// # Ok::<(), seqring::shared_array::SharedArrayError>(())
    /// ```
    pub fn write_shaped(&self, shape: &[u64], data: &[T]) -> Result<(), SharedArrayError> {
        self.write_shaped_timeout(shape, Some(data), self.handle.timeout)
    }

    /// [`SharedArray::write_shaped`] (or, with `data` `None`, [`SharedArray::reshape`]) with a bounded wait of
    /// `timeout`.
    ///
    /// # Errors
    /// As [`SharedArray::write_shaped`].
    ///
    /// # Examples
    /// ```
    /// use seqring::shared_array::SharedArray;
    /// use std::time::Duration;
    /// let name = format!("doc-shaped-timeout-{}", std::process::id());
    /// let a = SharedArray::<u8>::create_with_capacity(&name, &[2], 4)?;
    /// a.write_shaped_timeout(&[2, 2], Some(&[1, 2, 3, 4]), Duration::from_millis(1))?;
    /// a.write_shaped_timeout(&[4], None, Duration::from_millis(1))?; // a reshape
    /// assert_eq!((a.shape()?.as_slice(), a.to_vec()?), (&[4u64][..], vec![1, 2, 3, 4]));
    /// # Ok::<(), seqring::shared_array::SharedArrayError>(())
    /// ```
    pub fn write_shaped_timeout(
        &self,
        shape: &[u64],
        data: Option<&[T]>,
        timeout: Duration,
    ) -> Result<(), SharedArrayError> {
        self.handle
            .write_shaped(T::DTYPE, shape, data.map(bytemuck::cast_slice), timeout, size_of::<T>())
    }

    /// The writer in its write section now, if any, with its liveness: look at it, judge it dead, then pass its
    /// [`sequence`](WriterStall::sequence) to [`SharedArray::recover`].
    ///
    /// # Examples
    /// ```
    /// use seqring::shared_array::SharedArray;
    /// let name = format!("doc-stall-{}", std::process::id());
    /// let a = SharedArray::<u8>::create(&name, &[1])?;
    /// a.write(&[1])?;
    /// assert_eq!(a.stall(), None, "no writer in its write section");
    /// # Ok::<(), seqring::shared_array::SharedArrayError>(())
    /// ```
    pub fn stall(&self) -> Option<WriterStall> {
        self.handle.array.stall().map(WriterStall::from_core)
    }

    /// Clears the stall at odd sequence `stalled` (from [`SharedArrayError::WriterStalled`],
    /// [`SharedArrayError::stall`] or [`SharedArray::stall`]), left by a writer that died in its write section.
    /// Returns whether it cleared that stall: `false` if the sequence moved on meanwhile (the writer finished,
    /// another process recovered it, or a live writer has locked since), so two recoverers of one dead writer
    /// never take a live writer's lock. Reads then report [`Snapshot::suspect`] until the next whole-array write.
    ///
    /// Call it only when the writer that held `stalled` is dead (`alive: Some(false)`), or known to be gone:
    /// recovering from a live writer lets two writers interleave.
    ///
    /// # Examples
    /// ```
    /// use seqring::shared_array::SharedArray;
    /// let a = SharedArray::<u64>::create(&format!("doc-recover-{}", std::process::id()), &[2])?;
    /// assert_eq!(a.stall(), None);
    /// assert!(!a.recover(1), "no stall at sequence 1");
    /// # Ok::<(), seqring::shared_array::SharedArrayError>(())
    /// ```
    pub fn recover(&self, stalled: u64) -> bool {
        self.handle.array.recover(stalled)
    }

    /// Test support: takes the writer lock, writes `partial` from element 0, calls `held`, and then never returns,
    /// so that a test can kill the process inside its write section. Costs nothing unless called.
    #[doc(hidden)]
    pub fn hold_write_section_forever(&self, partial: &[T], held: impl FnOnce()) -> ! {
        let mut guard = self
            .handle
            .array
            .lock(self.handle.stamp(), self.handle.wait(self.handle.timeout))
            .expect("take the writer lock");
        guard.write_elements(0, partial).expect("write the partial data");
        held();
        loop {
            std::thread::park();
        }
    }
}

impl<T: AtomicElement> SharedArray<T> {
    /// A lock-free atomic cell over the element at the n-d `index`, for flags and counters shared across
    /// processes.
    ///
    /// **It bypasses the seqlock**: its loads and stores neither take the writer lock nor change the version, and a
    /// seqlock read sees whatever value the cell held at that moment. Use an array for cells, or for seqlock
    /// snapshots, not for both at once on the same element. Only 8-byte element types (`u64`, `i64`, `f64`) have
    /// cells: they are whole aligned words of the region, the size every other access uses, so no access mixes
    /// sizes.
    ///
    /// The index is resolved against the current shape; the cell stays at that flat position if the array is
    /// reshaped later.
    ///
    /// # Errors
    /// [`SharedArrayError::IndexOutOfBounds`], and as [`SharedArray::snapshot`].
    ///
    /// # Examples
    /// ```
    /// use seqring::shared_array::SharedArray;
    /// use std::sync::atomic::Ordering;
    /// let name = format!("doc-atomic-{}", std::process::id());
    /// let flags = SharedArray::<u64>::create(&name, &[4])?;
    /// let other = SharedArray::<u64>::open(&name)?;
    /// flags.atomic(&[2])?.fetch_add(3, Ordering::AcqRel);
    /// assert_eq!(other.atomic(&[2])?.load(Ordering::Acquire), 3);
    /// assert_eq!(other.get(&[2])?, 3);
    /// # Ok::<(), seqring::shared_array::SharedArrayError>(())
    /// ```
    pub fn atomic(&self, index: &[u64]) -> Result<&atomic::Atomic<T>, SharedArrayError> {
        let snap = self.snapshot()?;
        let flat = self.flat(snap.shape(), index)?;
        let offset = self.handle.array.data_offset() + flat * size_of::<T>();
        Ok(cell::at(&self.handle.array.memory().raw(), offset))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicBool, Ordering};

    /// The fast paths under a concurrent writer: readers of a fixed-size array (the unrolled copy) and of a slice
    /// (the run-time-length copy, 4 KiB here) never see a torn value, and versions never go back. Every write puts
    /// one counter value in every element, so a read mixing two writes shows two values.
    #[test]
    fn fast_reads_under_a_writer_are_never_torn() {
        const SMALL: usize = 8;
        const LARGE: usize = 512;
        let tag = std::process::id();
        let small = SharedArray::<u64>::create(format!("unit-fast-small-{tag}"), &[SMALL as u64]).unwrap();
        let large = SharedArray::<u64>::create(format!("unit-fast-large-{tag}"), &[LARGE as u64]).unwrap();
        let stop = AtomicBool::new(false);
        let writes = 20_000u64;
        std::thread::scope(|s| {
            s.spawn(|| {
                let mut big = vec![0u64; LARGE];
                for k in 1..=writes {
                    small.write(&[k; SMALL]).unwrap();
                    big.fill(k);
                    large.write(&big).unwrap();
                }
                stop.store(true, Ordering::Release);
            });
            let readers: Vec<_> = (0..2)
                .map(|_| {
                    s.spawn(|| {
                        let (mut out, mut big) = ([0u64; SMALL], vec![0u64; LARGE]);
                        let (mut last_small, mut last_large, mut reads) = (0, 0, 0u64);
                        while !stop.load(Ordering::Acquire) || reads == 0 {
                            let v = small.read_into(&mut out).unwrap();
                            assert!(out.iter().all(|&x| x == out[0]), "torn fixed-size read {out:?}");
                            // Write k is version k of each array, and holds k.
                            assert!(v >= last_small && out[0] == v, "version {v} holds {}", out[0]);
                            last_small = v;
                            let v = large.read_into(&mut big).unwrap();
                            assert!(big.iter().all(|&x| x == big[0]), "torn slice read at version {v}");
                            assert!(v >= last_large && big[0] == v, "version {v} after {last_large}");
                            last_large = v;
                            reads += 1;
                        }
                        reads
                    })
                })
                .collect();
            for r in readers {
                assert!(r.join().unwrap() > 0);
            }
        });
        let mut out = [0u64; SMALL];
        assert_eq!(small.read_into(&mut out).unwrap(), writes);
        assert_eq!(out, [writes; SMALL]);
    }

    /// A whole write of the wrong length or type changes nothing and says why; after a recovery, a whole write
    /// clears the suspect flag.
    #[test]
    fn whole_writes_check_length_and_type_and_clear_suspect() {
        let name = format!("unit-fast-checks-{}", std::process::id());
        let a = SharedArray::<f64>::create(&name, &[4]).unwrap();
        a.write(&[1.0; 4]).unwrap();
        let err = a.write(&[2.0; 3]).unwrap_err();
        assert!(
            matches!(
                err,
                SharedArrayError::LengthMismatch {
                    expected: 4,
                    given: 3,
                    ..
                }
            ),
            "{err:?}"
        );
        assert_eq!(a.version(), 1, "a refused write publishes no version");
        let as_u64 = SharedArrayDyn::open(&name).unwrap();
        as_u64.reshape(seqring_core::DType::U64, &[4]).unwrap();
        let err = a.write(&[2.0; 4]).unwrap_err();
        assert!(matches!(err, SharedArrayError::DTypeMismatch { .. }), "{err:?}");
        as_u64.reshape(seqring_core::DType::F64, &[4]).unwrap();
        // A writer that dies in its write section.
        let dead = seqring_core::seqlock::WriteStamp { token: 9, time_ns: 1 };
        std::mem::forget(a.handle.array.lock(dead, Spins(0)).unwrap());
        let stall = a.stall().expect("the held write section is a stall");
        assert!(a.recover(stall.sequence));
        assert!(a.snapshot().unwrap().suspect);
        a.write(&[3.0; 4]).unwrap();
        let snap = a.snapshot().unwrap();
        assert!(!snap.suspect, "a whole write clears the suspect flag");
        let mut out = [0.0; 4];
        a.read_into(&mut out).unwrap();
        assert_eq!(out, [3.0; 4]);
    }
}
