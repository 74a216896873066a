//! The part every shared-array handle shares: the seqlock over its region, the writer token, the timeout, and the
//! creator's duty to remove the region on drop.

use super::error::{token_of, SharedArrayError};
use super::wait::Wait;
use seqring_core::dtype::element_count;
use seqring_core::seqlock::{self, ArrayError, SeqArray, Snapshot, WriteStamp};
use seqring_core::{DType, Patience, MAX_DIMS};
use seqring_platform::clock::{self, Deadline};
use seqring_platform::{CreateOptions, Region, RegionError};
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

/// The default bound of every wait: how long a reader or writer waits for a writer in its write section.
///
/// # Examples
/// ```
/// use seqring::shared_array::{SharedArray, DEFAULT_TIMEOUT};
/// let a = SharedArray::<u8>::create(&format!("doc-default-timeout-{}", std::process::id()), &[1])?;
/// assert_eq!(a.timeout(), DEFAULT_TIMEOUT);
/// # Ok::<(), seqring::shared_array::SharedArrayError>(())
/// ```
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(1);

/// How a shared array is created or opened.
///
/// # Examples
/// ```
/// use seqring::shared_array::ArrayOptions;
/// use std::time::Duration;
/// let o = ArrayOptions::default().exists_ok(true).capacity(1024).mode(0o660).timeout(Duration::from_millis(50));
/// assert_eq!((o.exists_ok, o.capacity, o.mode), (true, Some(1024), 0o660));
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct ArrayOptions {
    /// Replace an existing region of the same name instead of failing with
    /// [`RegionError::AlreadyExists`] (create only).
    pub exists_ok: bool,
    /// The capacity in elements, for arrays that [`reshape`](super::SharedArray::reshape) to larger shapes later
    /// (create only; at least the initial shape's element count is always reserved).
    pub capacity: Option<u64>,
    /// The region's permission bits (create only; default `0o600`).
    pub mode: u32,
    /// The bound of every wait on a writer in its write section (default [`DEFAULT_TIMEOUT`]).
    pub timeout: Duration,
    /// Whether this handle's writes record their time (default `true`). A time costs a coarse clock read (about
    /// 10 ns on a virtual machine, half a write of 8 × f64); without it, ages read `None` and stall reports give no
    /// start time.
    pub write_times: bool,
}

impl Default for ArrayOptions {
    fn default() -> Self {
        ArrayOptions {
            exists_ok: false,
            capacity: None,
            mode: 0o600,
            timeout: DEFAULT_TIMEOUT,
            write_times: true,
        }
    }
}

impl ArrayOptions {
    /// Sets [`ArrayOptions::exists_ok`].
    ///
    /// # Examples
    /// ```
    /// use seqring::shared_array::{ArrayOptions, SharedArray};
    /// let name = format!("doc-options-exists-{}", std::process::id());
    /// let _stale = SharedArray::<u8>::create(&name, &[1])?;
    /// assert!(SharedArray::<u8>::create(&name, &[2]).is_err());
    /// let fresh = SharedArray::<u8>::create_with(&name, &[2], &ArrayOptions::default().exists_ok(true))?;
    /// assert_eq!(fresh.len()?, 2);
    /// # Ok::<(), seqring::shared_array::SharedArrayError>(())
    /// ```
    pub fn exists_ok(mut self, yes: bool) -> Self {
        self.exists_ok = yes;
        self
    }

    /// Sets [`ArrayOptions::capacity`] in elements.
    ///
    /// # Examples
    /// ```
    /// use seqring::shared_array::{ArrayOptions, SharedArray};
    /// let name = format!("doc-options-capacity-{}", std::process::id());
    /// let a = SharedArray::<u64>::create_with(&name, &[1], &ArrayOptions::default().capacity(16))?;
    /// assert_eq!(a.capacity(), 16);
    /// a.reshape(&[4, 4])?;
    /// # Ok::<(), seqring::shared_array::SharedArrayError>(())
    /// ```
    pub fn capacity(mut self, elements: u64) -> Self {
        self.capacity = Some(elements);
        self
    }

    /// Sets [`ArrayOptions::mode`].
    ///
    /// # Examples
    /// ```
    /// use seqring::shared_array::{ArrayOptions, SharedArray};
    /// let name = format!("doc-options-mode-{}", std::process::id());
    /// let a = SharedArray::<u8>::create_with(&name, &[1], &ArrayOptions::default().mode(0o640))?;
    /// # #[cfg(target_os = "linux")]
    /// # {
    /// use std::os::unix::fs::PermissionsExt;
    /// let meta = std::fs::metadata(format!("/dev/shm/{}", a.name())).unwrap();
    /// assert_eq!(meta.permissions().mode() & 0o777, 0o640);
    /// # }
    /// # Ok::<(), seqring::shared_array::SharedArrayError>(())
    /// ```
    pub fn mode(mut self, mode: u32) -> Self {
        self.mode = mode;
        self
    }

    /// Sets [`ArrayOptions::timeout`].
    ///
    /// # Examples
    /// ```
    /// use seqring::shared_array::{ArrayOptions, SharedArray};
    /// use std::time::Duration;
    /// let name = format!("doc-options-timeout-{}", std::process::id());
    /// let _writer = SharedArray::<u8>::create(&name, &[1])?;
    /// let options = ArrayOptions::default().timeout(Duration::from_millis(5));
    /// let reader = SharedArray::<u8>::open_with(&name, None, &options)?;
    /// assert_eq!(reader.timeout(), Duration::from_millis(5));
    /// # Ok::<(), seqring::shared_array::SharedArrayError>(())
    /// ```
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }

    /// Sets [`ArrayOptions::write_times`].
    ///
    /// # Examples
    /// ```
    /// use seqring::shared_array::{ArrayOptions, SharedArray};
    /// let name = format!("doc-options-write-times-{}", std::process::id());
    /// let a = SharedArray::<u8>::create_with(&name, &[1], &ArrayOptions::default().write_times(false))?;
    /// a.write(&[1])?;
    /// assert_eq!(a.age()?, None, "no write time recorded");
    /// # Ok::<(), seqring::shared_array::SharedArrayError>(())
    /// ```
    pub fn write_times(mut self, yes: bool) -> Self {
        self.write_times = yes;
        self
    }
}

/// How long ago the write `snap` belongs to happened (to the kernel tick), or `None` if the array was never written
/// (or its writer records no times).
pub(crate) fn age_of(snap: &Snapshot) -> Option<Duration> {
    (snap.write_time_ns > 0).then(|| clock::since_ns(snap.write_time_ns))
}

/// The byte length of `shape` in `dtype`, or `None` when it has too many dimensions or overflows.
pub(crate) fn shape_bytes(dtype: DType, shape: &[u64]) -> Option<u64> {
    if shape.len() > MAX_DIMS {
        return None;
    }
    element_count(shape)?.checked_mul(dtype.itemsize() as u64)
}

/// An open array: the seqlock over its region and what every operation needs.
#[derive(Debug)]
pub(crate) struct Handle {
    pub(crate) array: SeqArray<Region>,
    pub(crate) token: u64,
    pub(crate) timeout: Duration,
    write_times: bool,
    owner: bool,
    /// The creation time this handle wrote into the region header (creator handles only, else 0): with the pid, what
    /// tells this handle's region from a replacement of the same name.
    created_ns: u64,
    persisted: AtomicBool,
}

impl Handle {
    /// Creates the region `name` holding an array of `dtype` and `shape`, with the descriptor `descr` (`""` for a
    /// plain dtype; a record's numpy description).
    pub(crate) fn create(
        name: &str,
        dtype: DType,
        descr: &str,
        shape: &[u64],
        options: &ArrayOptions,
    ) -> Result<Handle, SharedArrayError> {
        let bad_shape = || SharedArrayError::BadShape {
            name: name.to_string(),
            shape: shape.to_vec(),
        };
        seqlock::check_descr(dtype, descr.as_bytes())
            .map_err(|e| SharedArrayError::from_core(name, ArrayError::Descr(e), 1))?;
        let needed = shape_bytes(dtype, shape).ok_or_else(bad_shape)?;
        let reserved = match options.capacity {
            Some(elements) => elements.checked_mul(dtype.itemsize() as u64).ok_or_else(bad_shape)?,
            None => 0,
        };
        let capacity = usize::try_from(needed.max(reserved)).map_err(|_| bad_shape())?;
        let len = seqlock::region_len_described(capacity, descr.len()).ok_or_else(bad_shape)?;
        let mut region = Region::create_shm(
            name,
            len,
            CreateOptions::default().mode(options.mode).replace(options.exists_ok),
        )?;
        // From here the handle removes the region (on drop, unless persisted), not the mapping.
        region.set_remove_on_drop(false);
        let pid = std::process::id();
        let created_ns = clock::now_ns();
        match SeqArray::create_described(region, dtype, shape, descr, u64::from(pid), created_ns) {
            Ok(array) => Ok(Handle {
                array,
                token: token_of(pid),
                timeout: options.timeout,
                write_times: options.write_times,
                owner: true,
                created_ns,
                persisted: AtomicBool::new(false),
            }),
            Err(e) => {
                let _ = seqring_platform::remove_region(name);
                Err(SharedArrayError::from_core(name, e, dtype.itemsize()))
            }
        }
    }

    /// Opens the array region `name`, waiting within the timeout for its creator to publish it.
    pub(crate) fn open(name: &str, options: &ArrayOptions) -> Result<Handle, SharedArrayError> {
        let mut patience = Deadline::new(options.timeout);
        // A zero-size object is one whose creator has not sized it yet: wait for it like for `ready`.
        let region = loop {
            match Region::open_shm(name) {
                Err(RegionError::NotReady { .. }) if patience.keep_waiting() => {}
                other => break other?,
            }
        };
        let array = SeqArray::open(region, patience).map_err(|e| SharedArrayError::from_core(name, e, 1))?;
        Ok(Handle {
            array,
            token: token_of(std::process::id()),
            timeout: options.timeout,
            write_times: options.write_times,
            owner: false,
            created_ns: 0,
            persisted: AtomicBool::new(false),
        })
    }

    /// Whether a write may have completed since `version` or be under way (no wait): `false` means that a read
    /// would find the data of `version`.
    pub(crate) fn changed_since(&self, version: u64) -> bool {
        self.array.version() != version || self.array.is_locked()
    }

    pub(crate) fn name(&self) -> &str {
        self.array.memory().name()
    }

    /// The numpy descr of the creation dtype: a record's descriptor from the region, else the plain dtype's.
    pub(crate) fn descr(&self) -> Result<String, SharedArrayError> {
        let mut buf = [0u8; seqlock::MAX_DESCR_LEN];
        match self.array.descr(&mut buf).map_err(|e| self.error(e, 1))? {
            "" => Ok(self.array.created_as().0.descr().to_string()),
            text => Ok(text.to_string()),
        }
    }

    /// A stamp for a write starting now, from the coarse clock (the kernel tick's resolution): a precise clock
    /// read would cost several times the write itself.
    #[inline]
    pub(crate) fn stamp(&self) -> WriteStamp {
        WriteStamp {
            token: self.token,
            time_ns: if self.write_times { clock::now_ns_coarse() } else { 0 },
        }
    }

    /// Changes dtype and shape within the capacity and, with `data` (exactly the shape's bytes), writes the data in
    /// the same write. Length errors count in units of `unit` bytes (the caller's element size).
    pub(crate) fn write_shaped(
        &self,
        dtype: DType,
        shape: &[u64],
        data: Option<&[u8]>,
        timeout: Duration,
        unit: usize,
    ) -> Result<(), SharedArrayError> {
        let bytes = shape_bytes(dtype, shape).ok_or_else(|| SharedArrayError::BadShape {
            name: self.name().to_string(),
            shape: shape.to_vec(),
        })?;
        if let Some(data) = data.filter(|d| d.len() as u64 != bytes) {
            return Err(SharedArrayError::LengthMismatch {
                name: self.name().to_string(),
                expected: bytes / unit as u64,
                given: (data.len() / unit) as u64,
            });
        }
        let mut wait = self.wait(timeout);
        let mut guard = self
            .array
            .lock(self.stamp(), &mut wait)
            .map_err(|e| self.error(wait.judge(e), unit))?;
        guard.reshape(dtype, shape).map_err(|e| self.error(e, unit))?;
        if let Some(data) = data {
            guard.write_bytes(0, data).map_err(|e| self.error(e, unit))?;
        }
        Ok(())
    }

    /// Blocks until a version other than `last_version` is published (see [`super::wait::wait_changed`]); errors
    /// count in units of `unit` bytes.
    pub(crate) fn wait_changed(
        &self,
        last_version: u64,
        timeout: Duration,
        unit: usize,
    ) -> Result<Option<u64>, SharedArrayError> {
        super::wait::wait_changed(&self.array, last_version, timeout).map_err(|e| self.error(e, unit))
    }

    /// A wait of at most `timeout` on this array's writers (spin, yield, sleep; see [`Wait`]).
    #[inline]
    pub(crate) fn wait(&self, timeout: Duration) -> Wait<'_> {
        Wait::new(&self.array, timeout)
    }

    #[cold]
    pub(crate) fn error(&self, e: ArrayError, itemsize: usize) -> SharedArrayError {
        SharedArrayError::from_core(self.name(), e, itemsize)
    }

    pub(crate) fn is_owner(&self) -> bool {
        self.owner
    }

    pub(crate) fn persist(&self) {
        self.persisted.store(true, Ordering::Relaxed);
    }

    /// Removes the region now (whoever created it); this handle's mapping stays valid until it drops.
    pub(crate) fn destroy(&self) -> Result<(), RegionError> {
        self.persisted.store(true, Ordering::Relaxed);
        seqring_platform::remove_region(self.name())
    }
}

impl Drop for Handle {
    fn drop(&mut self) {
        if self.owner && !self.persisted.load(Ordering::Relaxed) {
            // Only the region this handle created: after a `create` with `exists_ok` replaced it, the name belongs to
            // the replacement, which must survive this handle. Best effort: `destroy` or a tool may have removed it.
            let ours = seqring_platform::probe_region(self.name()).is_ok_and(|info| {
                info.creator_pid == u64::from(std::process::id()) && info.created_ns == self.created_ns
            });
            if ours {
                let _ = seqring_platform::remove_region(self.name());
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::SharedArray;
    use super::*;

    #[test]
    fn a_replaced_creator_leaves_the_replacement_alone() {
        let name = format!("unit-replaced-{}", std::process::id());
        let first = SharedArray::<f64>::create(&name, &[2]).unwrap();
        let second = SharedArray::<f64>::create_with(&name, &[3], &ArrayOptions::default().exists_ok(true)).unwrap();
        drop(first);
        let opened = SharedArray::<f64>::open_with_shape(&name, &[3]);
        assert!(
            opened.is_ok(),
            "the replacement survives the drop of the creator it replaced"
        );
        drop(opened);
        drop(second);
        assert!(
            SharedArray::<f64>::open(&name).is_err(),
            "the replacement's creator still removes it"
        );
    }
}
