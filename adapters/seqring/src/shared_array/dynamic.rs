//! [`SharedArrayDyn`]: a shared array whose dtype and shape are learned at run time, for tools and for readers
//! that do not know `T`; and [`inspect`], the array part of `seqring shm inspect`.

use super::error::{pid_of, SharedArrayError};
use super::handle::{age_of, shape_bytes, ArrayOptions, Handle};
use seqring_core::header::RegionInfo;
use seqring_core::seqlock::{ArrayError, Snapshot};
use seqring_core::{DType, Element, Patience, Shape};
use seqring_platform::{pid_alive, IntoRegionName, RegionError};
use std::time::Duration;

/// One consistent read of a [`SharedArrayDyn`]: the data and the shape, dtype, version and write time it was
/// written with.
///
/// # Examples
/// ```
/// use seqring::shared_array::{SharedArray, SharedArrayDyn};
/// use seqring_core::DType;
/// let name = format!("doc-dyn-read-{}", std::process::id());
/// let typed = SharedArray::<i16>::create(&name, &[3])?;
/// typed.write(&[-1, 0, 1])?;
/// let read = SharedArrayDyn::open(&name)?.read()?;
/// assert_eq!((read.dtype, read.shape.as_slice(), read.data.len()), (DType::I16, &[3u64][..], 6));
/// assert_eq!((read.writer_pid, read.suspect), (std::process::id(), false));
/// assert_eq!(read.to_typed::<i16>(), Some(vec![-1, 0, 1]));
/// # Ok::<(), seqring::shared_array::SharedArrayError>(())
/// ```
#[derive(Clone, Debug, PartialEq)]
pub struct DynRead {
    /// The element type.
    pub dtype: DType,
    /// The shape.
    pub shape: Shape,
    /// The version (changes with every completed write).
    pub version: u64,
    /// When it was written, in ns since the UNIX epoch (0 if never written).
    pub write_time_ns: u64,
    /// The pid of the process that wrote it (0 if never written).
    pub writer_pid: u32,
    /// The contents may be partial: a stalled write was recovered and no whole write has happened since.
    pub suspect: bool,
    /// The data, `shape`'s element count times `dtype`'s item size bytes, little-endian, row-major.
    pub data: Vec<u8>,
}

impl DynRead {
    fn new(snap: &Snapshot, data: Vec<u8>) -> Self {
        DynRead {
            dtype: snap.dtype,
            shape: snap.to_shape(),
            version: snap.version,
            write_time_ns: snap.write_time_ns,
            writer_pid: pid_of(snap.token),
            suspect: snap.suspect,
            data,
        }
    }

    /// The data as elements of `T`, or `None` if the dtype is not `T`'s.
    ///
    /// # Examples
    /// ```
    /// use seqring::shared_array::SharedArray;
    /// let name = format!("doc-dyn-typed-{}", std::process::id());
    /// let a = SharedArray::<f32>::create(&name, &[2])?;
    /// a.write(&[0.5, 1.5])?;
    /// let read = seqring::shared_array::SharedArrayDyn::open(&name)?.read()?;
    /// assert_eq!(read.to_typed::<f32>(), Some(vec![0.5, 1.5]));
    /// assert_eq!(read.to_typed::<u32>(), None, "not its dtype");
    /// # Ok::<(), seqring::shared_array::SharedArrayError>(())
    /// ```
    pub fn to_typed<T: Element>(&self) -> Option<Vec<T>> {
        (self.dtype == T::DTYPE).then(|| {
            let mut out = vec![T::zeroed(); self.data.len() / size_of::<T>()];
            bytemuck::cast_slice_mut::<T, u8>(&mut out).copy_from_slice(&self.data);
            out
        })
    }
}

/// A shared array of a dtype and shape known only at run time.
///
/// # Examples
/// ```
/// use seqring::shared_array::{SharedArray, SharedArrayDyn};
/// use seqring_core::DType;
/// let name = format!("doc-dyn-{}", std::process::id());
/// let typed = SharedArray::<u16>::create(&name, &[2, 2])?;
/// typed.write(&[1, 2, 3, 4])?;
/// let any = SharedArrayDyn::open(&name)?;
/// let read = any.read()?;
/// assert_eq!((read.dtype, read.shape.as_slice(), read.version), (DType::U16, &[2u64, 2][..], 1));
/// assert_eq!(read.to_typed::<u16>(), Some(vec![1, 2, 3, 4]));
/// # Ok::<(), seqring::shared_array::SharedArrayError>(())
/// ```
#[derive(Debug)]
pub struct SharedArrayDyn {
    handle: Handle,
}

impl SharedArrayDyn {
    /// Creates the array `name` of `dtype` and `shape` with `options`.
    ///
    /// # Errors
    /// As [`SharedArray::create`](super::SharedArray::create).
    ///
    /// # Examples
    /// ```
    /// use seqring::shared_array::{ArrayOptions, SharedArrayDyn};
    /// use seqring_core::DType;
    /// let name = format!("doc-dyn-create-{}", std::process::id());
    /// let a = SharedArrayDyn::create(&name, DType::F64, &[2, 2], &ArrayOptions::default())?;
    /// let (dtype, shape) = a.created_as();
    /// assert_eq!((dtype, shape.as_slice()), (DType::F64, &[2u64, 2][..]));
    /// assert_eq!(a.read()?.data, [0u8; 32]);
    /// # Ok::<(), seqring::shared_array::SharedArrayError>(())
    /// ```
    pub fn create(
        name: impl IntoRegionName,
        dtype: DType,
        shape: &[u64],
        options: &ArrayOptions,
    ) -> Result<Self, SharedArrayError> {
        Self::create_described(name, dtype, "", shape, options)
    }

    /// Creates the array `name` of a [`DType::Record`] (any fixed-size numpy dtype seqring does not hold as a
    /// plain one: strings, structured records, big-endian numbers, datetimes) whose numpy description is `descr`,
    /// the text of `numpy.lib.format.dtype_to_descr` (what an .npy header carries). The region records it, so a
    /// process that opens the array by name finds it ([`SharedArrayDyn::descr`]). Elements are opaque bytes here:
    /// read and write them whole, `dtype.itemsize()` bytes each. A plain dtype passes `""`.
    ///
    /// # Errors
    /// As [`SharedArrayDyn::create`], and [`SharedArrayError::Descr`] for a descriptor longer than
    /// [`MAX_DESCR_LEN`](seqring_core::seqlock::MAX_DESCR_LEN) bytes or not printable ASCII, missing with a
    /// record, or given with a plain dtype.
    ///
    /// # Examples
    /// ```
    /// use seqring::shared_array::{ArrayOptions, SharedArrayDyn, SharedArrayError};
    /// use seqring_core::DType;
    /// let name = format!("doc-dyn-described-{}", std::process::id());
    /// let record = DType::Record { itemsize: 12 }; // numpy's '<U3': three UTF-32 code points
    /// let a = SharedArrayDyn::create_described(&name, record, "<U3", &[2], &ArrayOptions::default())?;
    /// let abc: Vec<u8> = "abcxyz".chars().flat_map(|c| (c as u32).to_le_bytes()).collect();
    /// a.write_shaped(record, &[2], &abc)?; // whole elements
    /// let reader = SharedArrayDyn::open(&name)?;
    /// assert_eq!(reader.descr()?, "<U3");
    /// let read = reader.read()?;
    /// assert_eq!((read.dtype, read.data), (record, abc));
    /// let bad = SharedArrayDyn::create_described("doc-dyn-bad", record, "", &[1], &ArrayOptions::default());
    /// assert!(matches!(bad, Err(SharedArrayError::Descr { .. })));
    /// # Ok::<(), SharedArrayError>(())
    /// ```
    pub fn create_described(
        name: impl IntoRegionName,
        dtype: DType,
        descr: &str,
        shape: &[u64],
        options: &ArrayOptions,
    ) -> Result<Self, SharedArrayError> {
        let name = name.into_region_name()?;
        Ok(SharedArrayDyn {
            handle: Handle::create(name.as_str(), dtype, descr, shape, options)?,
        })
    }

    /// The numpy descr of the dtype the array was created with: the descriptor its region records for a
    /// [`DType::Record`] (as given to [`SharedArrayDyn::create_described`]), else the plain dtype's
    /// ([`DType::descr`]).
    ///
    /// # Errors
    /// [`SharedArrayError::Descr`] if the region's descriptor was overwritten with something that is not text.
    ///
    /// # Examples
    /// ```
    /// use seqring::shared_array::{ArrayOptions, SharedArrayDyn};
    /// use seqring_core::DType;
    /// let name = format!("doc-dyn-descr-{}", std::process::id());
    /// let plain = SharedArrayDyn::create(&name, DType::F32, &[2], &ArrayOptions::default())?;
    /// assert_eq!(plain.descr()?, "<f4");
    /// let record = DType::Record { itemsize: 8 };
    /// let name = format!("doc-dyn-descr-be-{}", std::process::id());
    /// let big = SharedArrayDyn::create_described(&name, record, ">f8", &[2], &ArrayOptions::default())?;
    /// assert_eq!(SharedArrayDyn::open(&name)?.descr()?, ">f8");
    /// # Ok::<(), seqring::shared_array::SharedArrayError>(())
    /// ```
    pub fn descr(&self) -> Result<String, SharedArrayError> {
        self.handle.descr()
    }

    /// Opens the array `name`, whatever it holds (a record array's descriptor: [`SharedArrayDyn::descr`]).
    ///
    /// # Errors
    /// [`SharedArrayError::Region`] (not found, wrong kind, bad layout, too new, not ready, invalid name), and
    /// [`SharedArrayError::Descr`] for a record array whose recorded descriptor is corrupt.
    ///
    /// # Examples
    /// ```
    /// use seqring::shared_array::{ArrayOptions, SharedArrayDyn};
    /// use seqring_core::DType;
    /// let name = format!("doc-dyn-open-{}", std::process::id());
    /// let _writer = SharedArrayDyn::create(&name, DType::I32, &[3], &ArrayOptions::default())?;
    /// let reader = SharedArrayDyn::open(&name)?;
    /// assert_eq!(reader.read()?.dtype, DType::I32);
    /// assert!(SharedArrayDyn::open("doc-dyn-no-such-array").is_err());
    /// # Ok::<(), seqring::shared_array::SharedArrayError>(())
    /// ```
    pub fn open(name: impl IntoRegionName) -> Result<Self, SharedArrayError> {
        Self::open_with(name, &ArrayOptions::default())
    }

    /// Opens the array `name` with `options` (its timeout).
    ///
    /// # Errors
    /// As [`SharedArrayDyn::open`].
    ///
    /// # Examples
    /// ```
    /// use seqring::shared_array::{ArrayOptions, SharedArrayDyn};
    /// use seqring_core::DType;
    /// use std::time::Duration;
    /// let name = format!("doc-dyn-open-with-{}", std::process::id());
    /// let _writer = SharedArrayDyn::create(&name, DType::U8, &[1], &ArrayOptions::default())?;
    /// let reader = SharedArrayDyn::open_with(&name, &ArrayOptions::default().timeout(Duration::from_millis(5)))?;
    /// assert_eq!(reader.timeout(), Duration::from_millis(5));
    /// # Ok::<(), seqring::shared_array::SharedArrayError>(())
    /// ```
    pub fn open_with(name: impl IntoRegionName, options: &ArrayOptions) -> Result<Self, SharedArrayError> {
        let name = name.into_region_name()?;
        Ok(SharedArrayDyn {
            handle: Handle::open(name.as_str(), options)?,
        })
    }

    #[cold]
    fn error(&self, e: ArrayError) -> SharedArrayError {
        self.handle.error(e, 1)
    }

    /// The region's name.
    ///
    /// # Examples
    /// ```
    /// use seqring::shared_array::{ArrayOptions, SharedArrayDyn};
    /// use seqring_core::DType;
    /// let name = format!("doc-dyn-name-{}", std::process::id());
    /// let a = SharedArrayDyn::create(&name, DType::U8, &[4], &ArrayOptions::default())?;
    /// assert_eq!(a.name(), name);
    /// # Ok::<(), seqring::shared_array::SharedArrayError>(())
    /// ```
    pub fn name(&self) -> &str {
        self.handle.name()
    }

    /// The timeout of waits on a writer (from [`ArrayOptions::timeout`]).
    ///
    /// # Examples
    /// ```
    /// use seqring::shared_array::{ArrayOptions, SharedArrayDyn};
    /// use seqring_core::DType;
    /// let name = format!("doc-dyn-timeout-{}", std::process::id());
    /// let a = SharedArrayDyn::create(&name, DType::U8, &[4], &ArrayOptions::default())?;
    /// assert_eq!(a.timeout(), seqring::shared_array::DEFAULT_TIMEOUT);
    /// # Ok::<(), seqring::shared_array::SharedArrayError>(())
    /// ```
    pub fn timeout(&self) -> Duration {
        self.handle.timeout
    }

    /// Whether a write may have completed since `version` or be under way (no wait, no copy): `false` means that a
    /// read would find the data of `version`.
    ///
    /// # Examples
    /// ```
    /// use seqring::shared_array::{ArrayOptions, SharedArrayDyn};
    /// use seqring_core::DType;
    /// let a = SharedArrayDyn::create(&format!("doc-dyn-changed-{}", std::process::id()), DType::U8, &[1], &ArrayOptions::default())?;
    /// assert!(!a.changed_since(0));
    /// a.write_bytes_as(DType::U8, &[1], 0, &[7], None)?;
    /// assert!(a.changed_since(0) && !a.changed_since(1));
    /// # Ok::<(), seqring::shared_array::SharedArrayError>(())
    /// ```
    pub fn changed_since(&self, version: u64) -> bool {
        self.handle.changed_since(version)
    }

    /// The capacity in bytes.
    ///
    /// # Examples
    /// ```
    /// use seqring::shared_array::{ArrayOptions, SharedArrayDyn};
    /// use seqring_core::DType;
    /// let name = format!("doc-dyn-capacity-{}", std::process::id());
    /// let options = ArrayOptions::default().capacity(10);
    /// let a = SharedArrayDyn::create(&name, DType::U16, &[2], &options)?;
    /// assert_eq!(a.capacity_bytes(), 24); // 10 × 2 bytes rounded up to whole 8-byte words
    /// # Ok::<(), seqring::shared_array::SharedArrayError>(())
    /// ```
    pub fn capacity_bytes(&self) -> usize {
        self.handle.array.capacity()
    }

    /// The current version. No wait, no copy.
    ///
    /// # Examples
    /// ```
    /// use seqring::shared_array::{ArrayOptions, SharedArrayDyn};
    /// use seqring_core::DType;
    /// let name = format!("doc-dyn-version-{}", std::process::id());
    /// let a = SharedArrayDyn::create(&name, DType::U8, &[4], &ArrayOptions::default())?;
    /// assert_eq!(a.version(), 0);
    /// a.write_shaped(DType::U8, &[2], &[1, 2])?;
    /// assert_eq!(a.version(), 1);
    /// # Ok::<(), seqring::shared_array::SharedArrayError>(())
    /// ```
    pub fn version(&self) -> u64 {
        self.handle.array.version()
    }

    /// The dtype and shape of the array at its creation.
    ///
    /// # Examples
    /// ```
    /// use seqring::shared_array::{ArrayOptions, SharedArrayDyn};
    /// use seqring_core::DType;
    /// let name = format!("doc-dyn-created-as-{}", std::process::id());
    /// let a = SharedArrayDyn::create(&name, DType::U16, &[4], &ArrayOptions::default())?;
    /// a.reshape(DType::U8, &[8])?;
    /// let (dtype, shape) = a.created_as();
    /// assert_eq!((dtype, shape.as_slice()), (DType::U16, &[4u64][..]));
    /// assert_eq!(a.read()?.dtype, DType::U8);
    /// # Ok::<(), seqring::shared_array::SharedArrayError>(())
    /// ```
    pub fn created_as(&self) -> (DType, Shape) {
        self.handle.array.created_as()
    }

    /// The current metadata (dtype, shape, version, write time, writer, suspect flag) without the data.
    ///
    /// # Errors
    /// [`SharedArrayError::WriterStalled`] or [`SharedArrayError::Busy`] after the timeout.
    ///
    /// # Examples
    /// ```
    /// use seqring::shared_array::{ArrayOptions, SharedArrayDyn};
    /// use seqring_core::DType;
    /// let name = format!("doc-dyn-snapshot-{}", std::process::id());
    /// let a = SharedArrayDyn::create(&name, DType::I8, &[2, 3], &ArrayOptions::default())?;
    /// let snap = a.snapshot()?;
    /// assert_eq!((snap.dtype, snap.shape(), snap.version), (DType::I8, &[2u64, 3][..], 0));
    /// # Ok::<(), seqring::shared_array::SharedArrayError>(())
    /// ```
    pub fn snapshot(&self) -> Result<Snapshot, SharedArrayError> {
        let mut wait = self.handle.wait(self.handle.timeout);
        self.handle
            .array
            .snapshot(&mut wait)
            .map_err(|e| self.error(wait.judge(e)))
    }

    /// Reads dtype, shape, version, write time and data from one consistent snapshot.
    ///
    /// # Errors
    /// As [`SharedArrayDyn::snapshot`].
    ///
    /// # Examples
    /// ```
    /// use seqring::shared_array::{ArrayOptions, SharedArrayDyn};
    /// use seqring_core::DType;
    /// let name = format!("doc-dyn-read-{}", std::process::id());
    /// let a = SharedArrayDyn::create(&name, DType::U8, &[3], &ArrayOptions::default())?;
    /// a.write_bytes_as(DType::U8, &[3], 0, &[1, 2, 3], None)?;
    /// let read = a.read()?;
    /// assert_eq!((read.data, read.version, read.writer_pid), (vec![1, 2, 3], 1, std::process::id()));
    /// # Ok::<(), seqring::shared_array::SharedArrayError>(())
    /// ```
    pub fn read(&self) -> Result<DynRead, SharedArrayError> {
        self.read_timeout(self.handle.timeout)
    }

    /// [`SharedArrayDyn::read`] with a bounded wait of `timeout`.
    ///
    /// # Errors
    /// As [`SharedArrayDyn::snapshot`].
    ///
    /// # Examples
    /// ```
    /// use seqring::shared_array::{ArrayOptions, SharedArrayDyn};
    /// use seqring_core::DType;
    /// let name = format!("doc-dyn-read-timeout-{}", std::process::id());
    /// let a = SharedArrayDyn::create(&name, DType::U8, &[2], &ArrayOptions::default())?;
    /// let read = a.read_timeout(std::time::Duration::from_millis(1))?;
    /// assert_eq!((read.data, read.write_time_ns), (vec![0, 0], 0)); // never written
    /// # Ok::<(), seqring::shared_array::SharedArrayError>(())
    /// ```
    pub fn read_timeout(&self, timeout: Duration) -> Result<DynRead, SharedArrayError> {
        let mut p = self.handle.wait(timeout);
        let mut data = Vec::new();
        loop {
            let meta = self.handle.array.snapshot(&mut p).map_err(|e| self.error(p.judge(e)))?;
            let len = shape_bytes(meta.dtype, meta.shape()).unwrap_or(0) as usize;
            data.resize(len, 0);
            p.copy_size(len);
            match self.handle.array.read_bytes(0, &mut data, &mut p) {
                // Whole when the snapshot the bytes belong to has the shape and dtype `data` was sized for.
                Ok(snap) if snap.shape() == meta.shape() && snap.dtype == meta.dtype => {
                    return Ok(DynRead::new(&snap, data))
                }
                Ok(_) | Err(ArrayError::OutOfBounds { .. }) => {}
                Err(e) => return Err(self.error(p.judge(e))),
            }
            if !p.keep_waiting() {
                return Err(SharedArrayError::Busy {
                    name: self.name().to_string(),
                });
            }
        }
    }

    /// Copies `dst.len()` data bytes from byte `byte_offset` into `dst` and returns the snapshot they belong to: the lean read of
    /// bindings that keep their own buffers. The caller compares the snapshot's dtype and shape with the layout it
    /// sized `dst` for (a writer may have reshaped since).
    ///
    /// # Errors
    /// [`SharedArrayError::OutOfBounds`] (in bytes) if the range passes the current data, and as
    /// [`SharedArrayDyn::snapshot`].
    ///
    /// # Examples
    /// ```
    /// use seqring::shared_array::{ArrayOptions, SharedArrayDyn};
    /// use seqring_core::DType;
    /// let a = SharedArrayDyn::create(&format!("doc-dyn-into-{}", std::process::id()), DType::U8, &[2, 2], &ArrayOptions::default())?;
    /// a.write_bytes_as(DType::U8, &[2, 2], 0, &[1, 2, 3, 4], None)?;
    /// let mut out = [0u8; 4];
    /// let snap = a.read_bytes_into(0, &mut out)?;
    /// assert_eq!((snap.shape(), snap.version, out), (&[2u64, 2][..], 1, [1, 2, 3, 4]));
    /// # Ok::<(), seqring::shared_array::SharedArrayError>(())
    /// ```
    #[inline]
    pub fn read_bytes_into(&self, byte_offset: usize, dst: &mut [u8]) -> Result<Snapshot, SharedArrayError> {
        self.read_bytes_into_timeout(byte_offset, dst, self.handle.timeout)
    }

    /// [`SharedArrayDyn::read_bytes_into`] with a bounded wait of `timeout` (`Duration::ZERO`: spin briefly, never
    /// sleep).
    ///
    /// # Errors
    /// As [`SharedArrayDyn::read_bytes_into`].
    ///
    /// # Examples
    /// ```
    /// use seqring::shared_array::{ArrayOptions, SharedArrayDyn};
    /// use seqring_core::DType;
    /// let name = format!("doc-dyn-into-timeout-{}", std::process::id());
    /// let a = SharedArrayDyn::create(&name, DType::U16, &[2], &ArrayOptions::default())?;
    /// a.write_bytes_as(DType::U16, &[2], 0, &[1, 0, 2, 0], None)?;
    /// let mut second = [0u8; 2];
    /// a.read_bytes_into_timeout(2, &mut second, std::time::Duration::ZERO)?;
    /// assert_eq!(u16::from_le_bytes(second), 2);
    /// # Ok::<(), seqring::shared_array::SharedArrayError>(())
    /// ```
    #[inline]
    pub fn read_bytes_into_timeout(
        &self,
        byte_offset: usize,
        dst: &mut [u8],
        timeout: Duration,
    ) -> Result<Snapshot, SharedArrayError> {
        let mut wait = self.handle.wait(timeout).copying(dst.len());
        self.handle
            .array
            .read_bytes(byte_offset, dst, &mut wait)
            .map_err(|e| self.error(wait.judge(e)))
    }

    /// Copies the bytes from `byte_offset` into `dst` in one consistent read if the array has `dtype` and `shape`,
    /// and returns the version read; `None` if it has another layout (nothing is promised of `dst` then). The lean
    /// read of a caller that sized `dst` for the layout it assumes: no [`Snapshot`] is built.
    ///
    /// # Errors
    /// [`SharedArrayError::OutOfBounds`] (in bytes) when the range passes the data, [`SharedArrayError::Suspect`]
    /// while the contents are a recovered partial write, and [`SharedArrayError::WriterStalled`] (or `Busy`) after
    /// the timeout.
    ///
    /// # Examples
    /// ```
    /// use seqring::shared_array::{ArrayOptions, SharedArrayDyn};
    /// use seqring_core::DType;
    /// let a = SharedArrayDyn::create(&format!("doc-dyn-read-as-{}", std::process::id()), DType::U8, &[4], &ArrayOptions::default())?;
    /// a.write_bytes_as(DType::U8, &[4], 0, &[1, 2, 3, 4], None)?;
    /// let mut two = [0u8; 2];
    /// assert_eq!(a.read_bytes_as(DType::U8, &[4], 2, &mut two)?, Some(1));
    /// assert_eq!(two, [3, 4]);
    /// assert_eq!(a.read_bytes_as(DType::U8, &[2, 2], 2, &mut two)?, None); // not its shape
    /// # Ok::<(), seqring::shared_array::SharedArrayError>(())
    /// ```
    pub fn read_bytes_as(
        &self,
        dtype: DType,
        shape: &[u64],
        byte_offset: usize,
        dst: &mut [u8],
    ) -> Result<Option<u64>, SharedArrayError> {
        self.read_bytes_as_timeout(dtype, shape, byte_offset, dst, self.handle.timeout)
    }

    /// [`SharedArrayDyn::read_bytes_as`] with a bounded wait of `timeout` (`Duration::ZERO`: spin briefly, never
    /// sleep).
    ///
    /// # Errors
    /// As [`SharedArrayDyn::read_bytes_as`].
    ///
    /// # Examples
    /// ```
    /// use seqring::shared_array::{ArrayOptions, SharedArrayDyn};
    /// use seqring_core::DType;
    /// let a = SharedArrayDyn::create(&format!("doc-dyn-read-as-t-{}", std::process::id()), DType::U16, &[2], &ArrayOptions::default())?;
    /// let mut both = [9u8; 4];
    /// assert_eq!(a.read_bytes_as_timeout(DType::U16, &[2], 0, &mut both, std::time::Duration::ZERO)?, Some(0));
    /// assert_eq!(both, [0; 4]);
    /// # Ok::<(), seqring::shared_array::SharedArrayError>(())
    /// ```
    #[inline]
    pub fn read_bytes_as_timeout(
        &self,
        dtype: DType,
        shape: &[u64],
        byte_offset: usize,
        dst: &mut [u8],
        timeout: Duration,
    ) -> Result<Option<u64>, SharedArrayError> {
        let mut wait = self.handle.wait(timeout).copying(dst.len());
        self.handle
            .array
            .read_bytes_as(dtype, shape, byte_offset, dst, &mut wait)
            .map_err(|e| self.error(wait.judge(e)))
    }

    /// Writes `data` at byte `byte_offset` in one write, if the array still has `dtype` and `shape` and, with
    /// `if_version`, no write completed since that version. Returns whether it wrote (`false` only when the
    /// version moved on: read again and retry).
    ///
    /// # Errors
    /// [`SharedArrayError::DTypeMismatch`] or [`SharedArrayError::ShapeMismatch`] when the array was reshaped,
    /// [`SharedArrayError::OutOfBounds`] (in bytes) when the range passes the data, and
    /// [`SharedArrayError::WriterStalled`] after the timeout.
    ///
    /// # Examples
    /// ```
    /// use seqring::shared_array::{ArrayOptions, SharedArrayDyn};
    /// use seqring_core::DType;
    /// let a = SharedArrayDyn::create(&format!("doc-dyn-as-{}", std::process::id()), DType::U8, &[4], &ArrayOptions::default())?;
    /// assert!(a.write_bytes_as(DType::U8, &[4], 1, &[7, 8], Some(0))?);
    /// assert!(!a.write_bytes_as(DType::U8, &[4], 0, &[9], Some(0))?); // version 1 now
    /// assert!(a.write_bytes_as(DType::U8, &[2], 0, &[9], None).is_err()); // not its shape
    /// assert_eq!(a.read()?.data, [0, 7, 8, 0]);
    /// # Ok::<(), seqring::shared_array::SharedArrayError>(())
    /// ```
    pub fn write_bytes_as(
        &self,
        dtype: DType,
        shape: &[u64],
        byte_offset: usize,
        data: &[u8],
        if_version: Option<u64>,
    ) -> Result<bool, SharedArrayError> {
        self.write_bytes_as_timeout(dtype, shape, byte_offset, data, if_version, self.handle.timeout)
    }

    /// [`SharedArrayDyn::write_bytes_as`] with a bounded wait of `timeout` for the writer lock (`Duration::ZERO`:
    /// spin briefly, never sleep).
    ///
    /// # Errors
    /// As [`SharedArrayDyn::write_bytes_as`].
    ///
    /// # Examples
    /// ```
    /// use seqring::shared_array::{ArrayOptions, SharedArrayDyn};
    /// use seqring_core::DType;
    /// let name = format!("doc-dyn-as-timeout-{}", std::process::id());
    /// let a = SharedArrayDyn::create(&name, DType::U8, &[2], &ArrayOptions::default())?;
    /// let wrote = a.write_bytes_as_timeout(DType::U8, &[2], 1, &[5], Some(0), std::time::Duration::ZERO)?;
    /// assert!(wrote);
    /// assert_eq!(a.read()?.data, [0, 5]);
    /// # Ok::<(), seqring::shared_array::SharedArrayError>(())
    /// ```
    pub fn write_bytes_as_timeout(
        &self,
        dtype: DType,
        shape: &[u64],
        byte_offset: usize,
        data: &[u8],
        if_version: Option<u64>,
        timeout: Duration,
    ) -> Result<bool, SharedArrayError> {
        let mut wait = self.handle.wait(timeout);
        let mut guard = self
            .handle
            .array
            .lock(self.handle.stamp(), &mut wait)
            .map_err(|e| self.error(wait.judge(e)))?;
        // Under the lock the version is the last completed write's; a guard dropped unwritten restores the old
        // sequence, so a refused write changes nothing readers can see.
        if if_version.is_some_and(|v| v != self.handle.array.version()) {
            return Ok(false);
        }
        if !guard.has_layout(dtype, shape) {
            return Err(self.layout_mismatch(&guard, dtype, shape));
        }
        guard.write_bytes(byte_offset, data).map_err(|e| self.error(e))?;
        Ok(true)
    }

    /// The error for a write that assumed `dtype` and `shape` where `guard` found another layout.
    #[cold]
    fn layout_mismatch(
        &self,
        guard: &seqring_core::seqlock::WriteGuard<'_, seqring_platform::Region>,
        dtype: DType,
        shape: &[u64],
    ) -> SharedArrayError {
        if guard.dtype() != dtype {
            return SharedArrayError::DTypeMismatch {
                name: self.name().to_string(),
                expected: dtype,
                found: guard.dtype(),
            };
        }
        SharedArrayError::ShapeMismatch {
            name: self.name().to_string(),
            expected: shape.to_vec(),
            found: guard.shape().to_vec(),
        }
    }

    /// How long ago the last write happened (to the kernel tick), or `None` if never written.
    ///
    /// # Errors
    /// As [`SharedArrayDyn::snapshot`].
    ///
    /// # Examples
    /// ```
    /// use seqring::shared_array::{ArrayOptions, SharedArrayDyn};
    /// use seqring_core::DType;
    /// let name = format!("doc-dyn-age-{}", std::process::id());
    /// let a = SharedArrayDyn::create(&name, DType::U8, &[4], &ArrayOptions::default())?;
    /// assert_eq!(a.age()?, None, "never written");
    /// a.write_bytes_as(DType::U8, &[4], 0, &[1], None)?;
    /// assert!(a.age()?.is_some());
    /// # Ok::<(), seqring::shared_array::SharedArrayError>(())
    /// ```
    pub fn age(&self) -> Result<Option<Duration>, SharedArrayError> {
        Ok(age_of(&self.snapshot()?))
    }

    /// Reads only if the version differs from `last_version`.
    ///
    /// # Errors
    /// As [`SharedArrayDyn::read`].
    ///
    /// # Examples
    /// ```
    /// use seqring::shared_array::{ArrayOptions, SharedArrayDyn};
    /// use seqring_core::DType;
    /// let name = format!("doc-dyn-changed-{}", std::process::id());
    /// let a = SharedArrayDyn::create(&name, DType::U8, &[1], &ArrayOptions::default())?;
    /// assert_eq!(a.read_if_changed(0)?, None);
    /// a.write_bytes_as(DType::U8, &[1], 0, &[9], None)?;
    /// let read = a.read_if_changed(0)?.expect("written since version 0");
    /// assert_eq!((read.version, read.data), (1, vec![9]));
    /// assert_eq!(a.read_if_changed(1)?, None);
    /// # Ok::<(), seqring::shared_array::SharedArrayError>(())
    /// ```
    pub fn read_if_changed(&self, last_version: u64) -> Result<Option<DynRead>, SharedArrayError> {
        if !self.changed_since(last_version) {
            return Ok(None);
        }
        let read = self.read()?;
        Ok((read.version != last_version).then_some(read))
    }

    /// Blocks until a writer publishes a version other than `last_version`, for at most `timeout`, and returns it;
    /// `None` when the timeout passes first. As [`SharedArray::wait_changed`](super::SharedArray::wait_changed).
    ///
    /// # Errors
    /// [`SharedArrayError::WriterStalled`] when one writer stayed in its write section for the rest of the wait.
    ///
    /// # Examples
    /// ```
    /// use seqring::shared_array::{ArrayOptions, SharedArrayDyn};
    /// use seqring_core::DType;
    /// use std::time::Duration;
    /// let name = format!("doc-dyn-wait-{}", std::process::id());
    /// let a = SharedArrayDyn::create(&name, DType::U8, &[1], &ArrayOptions::default())?;
    /// assert_eq!(a.wait_changed(0, Duration::ZERO)?, None);
    /// a.write_bytes_as(DType::U8, &[1], 0, &[9], None)?;
    /// assert_eq!(a.wait_changed(0, Duration::from_secs(1))?, Some(1));
    /// # Ok::<(), seqring::shared_array::SharedArrayError>(())
    /// ```
    pub fn wait_changed(&self, last_version: u64, timeout: Duration) -> Result<Option<u64>, SharedArrayError> {
        self.handle.wait_changed(last_version, timeout, 1)
    }

    /// How many threads (in any process) are blocked in a `wait_changed` on this array now (informational, as
    /// [`SharedArray::waiters`](super::SharedArray::waiters)).
    ///
    /// # Examples
    /// ```
    /// use seqring::shared_array::{ArrayOptions, SharedArrayDyn};
    /// use seqring_core::DType;
    /// let name = format!("doc-dyn-waiters-{}", std::process::id());
    /// let a = SharedArrayDyn::create(&name, DType::U8, &[1], &ArrayOptions::default())?;
    /// assert_eq!(a.waiters(), 0);
    /// # Ok::<(), seqring::shared_array::SharedArrayError>(())
    /// ```
    pub fn waiters(&self) -> u64 {
        self.handle.array.waiters()
    }

    /// Takes the array lock within `timeout`, as [`SharedArray::lock`](super::SharedArray::lock).
    ///
    /// # Errors
    /// [`SharedArrayError::LockTimeout`] while a live process holds it beyond the timeout.
    ///
    /// # Examples
    /// ```
    /// use seqring::shared_array::{ArrayOptions, SharedArrayDyn};
    /// use seqring_core::DType;
    /// use std::time::Duration;
    /// let name = format!("doc-dyn-lock-{}", std::process::id());
    /// let a = SharedArrayDyn::create(&name, DType::U8, &[1], &ArrayOptions::default())?;
    /// let held = a.lock(Duration::from_secs(1))?;
    /// assert!(a.lock(Duration::ZERO).is_err());
    /// drop(held);
    /// # Ok::<(), seqring::shared_array::SharedArrayError>(())
    /// ```
    pub fn lock(&self, timeout: Duration) -> Result<super::ArrayLockGuard<'_>, SharedArrayError> {
        self.handle.lock(timeout)
    }

    /// The array lock's word, for a binding that holds the lock across calls and so cannot keep a guard (the
    /// Python package's `_NamedLock`): take it with tokens from [`new_token`](super::lock::new_token) and the
    /// verdict [`holder_dead`](super::lock::holder_dead), and release every token it took. Rust code takes
    /// [`SharedArrayDyn::lock`] instead.
    ///
    /// # Examples
    /// ```
    /// use seqring::shared_array::lock::{holder_dead, new_token};
    /// use seqring::shared_array::{ArrayOptions, SharedArrayDyn};
    /// use seqring_core::DType;
    /// let name = format!("doc-dyn-lock-word-{}", std::process::id());
    /// let a = SharedArrayDyn::create(&name, DType::U8, &[1], &ArrayOptions::default())?;
    /// let token = new_token();
    /// a.lock_word().try_acquire(token, holder_dead).unwrap();
    /// assert_eq!(a.lock_word().holder(), Some(token));
    /// a.lock_word().release(token).unwrap();
    /// # Ok::<(), seqring::shared_array::SharedArrayError>(())
    /// ```
    pub fn lock_word(&self) -> seqring_core::seqlock::ArrayLock<'_, seqring_platform::Region> {
        self.handle.array_lock()
    }

    /// [`SharedArrayDyn::wait_changed`], then [`SharedArrayDyn::read`]: the blocking form of
    /// [`SharedArrayDyn::read_if_changed`]. `None` when `timeout` passes first.
    ///
    /// # Errors
    /// As [`SharedArrayDyn::wait_changed`] and [`SharedArrayDyn::read`].
    ///
    /// # Examples
    /// ```
    /// use seqring::shared_array::{ArrayOptions, SharedArrayDyn};
    /// use seqring_core::DType;
    /// use std::time::Duration;
    /// let name = format!("doc-dyn-read-when-{}", std::process::id());
    /// let a = SharedArrayDyn::create(&name, DType::U16, &[1], &ArrayOptions::default())?;
    /// std::thread::scope(|s| {
    ///     s.spawn(|| a.write_bytes_as(DType::U16, &[1], 0, &[3, 0], None).unwrap());
    ///     let read = a.read_when_changed(0, Duration::from_secs(10)).unwrap().expect("woken by the write");
    ///     assert_eq!(read.to_typed::<u16>(), Some(vec![3]));
    /// });
    /// # Ok::<(), seqring::shared_array::SharedArrayError>(())
    /// ```
    pub fn read_when_changed(&self, last_version: u64, timeout: Duration) -> Result<Option<DynRead>, SharedArrayError> {
        if self.wait_changed(last_version, timeout)?.is_none() {
            return Ok(None);
        }
        self.read().map(Some)
    }

    /// Changes dtype and shape within the capacity and writes `data` (exactly the new shape's bytes) in one write.
    ///
    /// # Errors
    /// [`SharedArrayError::BadShape`], [`SharedArrayError::CapacityExceeded`], [`SharedArrayError::LengthMismatch`]
    /// (in bytes), [`SharedArrayError::WriterStalled`] after the timeout.
    ///
    /// # Examples
    /// ```
    /// use seqring::shared_array::{ArrayOptions, SharedArrayDyn};
    /// use seqring_core::DType;
    /// let name = format!("doc-dyn-shaped-{}", std::process::id());
    /// let a = SharedArrayDyn::create(&name, DType::U8, &[8], &ArrayOptions::default())?;
    /// a.write_shaped(DType::U32, &[2], &[1, 0, 0, 0, 2, 0, 0, 0])?;
    /// assert_eq!(a.read()?.to_typed::<u32>(), Some(vec![1, 2]));
    /// assert!(a.write_shaped(DType::U32, &[2], &[0; 4]).is_err(), "not the shape's bytes");
    /// # Ok::<(), seqring::shared_array::SharedArrayError>(())
    /// ```
    pub fn write_shaped(&self, dtype: DType, shape: &[u64], data: &[u8]) -> Result<(), SharedArrayError> {
        self.handle
            .write_shaped(dtype, shape, Some(data), self.handle.timeout, 1)
    }

    /// Changes dtype and shape within the capacity, leaving the data bytes as they are, in one write.
    ///
    /// # Errors
    /// As [`SharedArrayDyn::write_shaped`].
    ///
    /// # Examples
    /// ```
    /// use seqring::shared_array::{ArrayOptions, SharedArrayDyn};
    /// use seqring_core::DType;
    /// let a = SharedArrayDyn::create(&format!("doc-dyn-reshape-{}", std::process::id()), DType::U8, &[6], &ArrayOptions::default())?;
    /// a.reshape(DType::U16, &[3])?;
    /// assert_eq!((a.read()?.dtype, a.read()?.shape.as_slice()), (DType::U16, &[3u64][..]));
    /// assert!(a.reshape(DType::U8, &[64]).is_err(), "beyond the capacity");
    /// # Ok::<(), seqring::shared_array::SharedArrayError>(())
    /// ```
    pub fn reshape(&self, dtype: DType, shape: &[u64]) -> Result<(), SharedArrayError> {
        self.handle.write_shaped(dtype, shape, None, self.handle.timeout, 1)
    }

    /// The writer in its write section now; see [`SharedArray::stall`](super::SharedArray::stall).
    ///
    /// # Examples
    /// ```
    /// use seqring::shared_array::{ArrayOptions, SharedArrayDyn};
    /// use seqring_core::DType;
    /// let name = format!("doc-dyn-stall-{}", std::process::id());
    /// let a = SharedArrayDyn::create(&name, DType::U8, &[4], &ArrayOptions::default())?;
    /// assert_eq!(a.stall(), None, "no writer in its write section");
    /// # Ok::<(), seqring::shared_array::SharedArrayError>(())
    /// ```
    pub fn stall(&self) -> Option<super::WriterStall> {
        self.handle.array.stall().map(super::WriterStall::from_core)
    }

    /// Clears the stall at odd sequence `stalled`, left by a dead writer; see
    /// [`SharedArray::recover`](super::SharedArray::recover).
    ///
    /// # Examples
    /// ```
    /// use seqring::shared_array::{ArrayOptions, SharedArrayDyn};
    /// use seqring_core::DType;
    /// let name = format!("doc-dyn-recover-{}", std::process::id());
    /// let a = SharedArrayDyn::create(&name, DType::U8, &[4], &ArrayOptions::default())?;
    /// assert!(!a.recover(1), "no stall at sequence 1");
    /// # Ok::<(), seqring::shared_array::SharedArrayError>(())
    /// ```
    pub fn recover(&self, stalled: u64) -> bool {
        self.handle.array.recover(stalled)
    }

    /// Keeps the region after this (creating) handle drops.
    ///
    /// # Examples
    /// ```
    /// use seqring::shared_array::{ArrayOptions, SharedArrayDyn};
    /// use seqring_core::DType;
    /// let name = format!("doc-dyn-persist-{}", std::process::id());
    /// let a = SharedArrayDyn::create(&name, DType::U8, &[4], &ArrayOptions::default())?;
    /// a.persist();
    /// drop(a); // the region stays
    /// SharedArrayDyn::open(&name)?.destroy()?;
    /// # Ok::<(), seqring::shared_array::SharedArrayError>(())
    /// ```
    pub fn persist(&self) {
        self.handle.persist();
    }

    /// Removes the region now.
    ///
    /// # Errors
    /// [`SharedArrayError::Region`] if it was already removed or may not be.
    ///
    /// # Examples
    /// ```
    /// use seqring::shared_array::{ArrayOptions, SharedArrayDyn};
    /// use seqring_core::DType;
    /// let name = format!("doc-dyn-destroy-{}", std::process::id());
    /// let a = SharedArrayDyn::create(&name, DType::U8, &[4], &ArrayOptions::default())?;
    /// a.destroy()?;
    /// assert!(SharedArrayDyn::open(&name).is_err());
    /// # Ok::<(), seqring::shared_array::SharedArrayError>(())
    /// ```
    pub fn destroy(self) -> Result<(), SharedArrayError> {
        Ok(self.handle.destroy()?)
    }
}

/// What `seqring shm inspect` shows of a shared array.
///
/// # Examples
/// ```
/// use seqring::shared_array::{inspect, SharedArray};
/// use seqring_core::DType;
/// use std::time::Duration;
/// let name = format!("doc-array-inspection-{}", std::process::id());
/// let a = SharedArray::<u32>::create_with_capacity(&name, &[2], 4)?;
/// let report = inspect(&name, Duration::from_millis(10))?;
/// assert_eq!(report.header.creator_pid, u64::from(std::process::id()));
/// assert_eq!((report.capacity_bytes, report.created_as.0), (16, DType::U32));
/// assert_eq!((report.age, report.locked), (None, false)); // never written
/// # Ok::<(), seqring::shared_array::SharedArrayError>(())
/// ```
#[derive(Clone, Debug)]
pub struct ArrayInspection {
    /// The validated region header (kind, length, state, creator pid, creation time).
    pub header: RegionInfo,
    /// Whether the creator's pid is alive.
    pub creator_alive: bool,
    /// The data capacity in bytes.
    pub capacity_bytes: u64,
    /// The dtype and shape the array was created with.
    pub created_as: (DType, Shape),
    /// The numpy descr of the creation dtype (a record's descriptor, see [`SharedArrayDyn::descr`]).
    pub descr: String,
    /// The current metadata, or the stall that kept it from being read.
    pub current: Result<Snapshot, String>,
    /// How long ago the last write happened (`None` if never written or unreadable).
    pub age: Option<Duration>,
    /// Whether a writer is in its write section now (or died in it).
    pub locked: bool,
}

/// Inspects the shared array `name` without changing it, waiting at most `timeout` for a writer in its write
/// section.
///
/// # Errors
/// [`SharedArrayError::Region`]: not found, not an array ([`RegionError::WrongKind`]), bad layout.
///
/// # Examples
/// ```
/// use seqring::shared_array::{inspect, SharedArray};
/// use std::time::Duration;
/// let name = format!("doc-inspect-{}", std::process::id());
/// let a = SharedArray::<f32>::create(&name, &[3])?;
/// a.write(&[1.0, 2.0, 3.0])?;
/// let report = inspect(&name, Duration::from_millis(10))?;
/// assert_eq!(report.current.unwrap().version, 1);
/// assert!(report.creator_alive && !report.locked);
/// # Ok::<(), seqring::shared_array::SharedArrayError>(())
/// ```
pub fn inspect(name: &str, timeout: Duration) -> Result<ArrayInspection, SharedArrayError> {
    let header = seqring_platform::probe_region(name)?;
    if header.kind != seqring_core::header::RegionKind::Array {
        return Err(RegionError::WrongKind {
            name: name.to_string(),
            expected: seqring_core::header::RegionKind::Array,
            found: header.kind as u32,
        }
        .into());
    }
    let handle = Handle::open(name, &ArrayOptions::default().timeout(timeout))?;
    let mut wait = handle.wait(timeout);
    let current = handle
        .array
        .snapshot(&mut wait)
        .map_err(|e| handle.error(wait.judge(e), 1).to_string());
    let age = current.as_ref().ok().and_then(age_of);
    Ok(ArrayInspection {
        creator_alive: pid_alive(header.creator_pid),
        header,
        capacity_bytes: handle.array.capacity() as u64,
        created_as: handle.array.created_as(),
        descr: handle.descr()?,
        current,
        age,
        locked: handle.array.is_locked(),
    })
}
