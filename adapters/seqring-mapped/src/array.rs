//! [`MappedArray<T>`]: a file-backed `&[T]` of [`Tagged`] plain-old-data elements.
//!
//! Layout: the common header (kind 1, the tag of `T`, count = number of elements) and one section, `data`, with
//! the `count * size_of::<T>()` bytes of the elements back to back. Invariant after `open`: the data section has
//! exactly that length and starts 64-byte aligned, so it is viewed as `&[T]` without copying.

use super::header::{Header, MappedFile};
use super::open::sealed::{File, Sealed};
use super::writer::FileWriter;
use super::{FileKind, Mapped, MappedError, Tagged, TypeTag, Typed};
use bytemuck::Pod;
use std::borrow::Borrow;
use std::fmt;
use std::marker::PhantomData;
use std::ops::Deref;
use std::path::Path;

/// The data section.
pub(crate) const DATA: usize = 0;
const CHUNK_BYTES: usize = 64 << 10;

/// A read-only array of `T` mapped from a file; dereferences to `&[T]`.
///
/// Build it with [`MappedArray::build`] (or a streaming [`ArrayWriter`]), then [`MappedArray::open`] it in any
/// number of processes. See the [module docs](super) for the sharing contract, validation and alignment rules.
///
/// # Examples
/// ```
/// use seqring_mapped::{Mapped, MappedArray};
/// let dir = tempfile::tempdir()?;
/// let path = dir.path().join("gains.map");
/// MappedArray::<f64>::build((0..5).map(|i| i as f64 * 0.5), &path)?;
///
/// let gains = MappedArray::<f64>::open(&path)?;
/// assert_eq!(gains.len(), 5);
/// assert_eq!(gains[4], 2.0);
/// assert_eq!(gains.iter().sum::<f64>(), 5.0);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub struct MappedArray<T> {
    file: MappedFile,
    len: usize,
    _t: PhantomData<T>,
}

impl<T: Tagged> MappedArray<T> {
    /// Streams `items` into a new file at `path` (temp file + rename) and maps it. Only a 64 KiB buffer is held in
    /// memory, whatever the number of items.
    ///
    /// # Errors
    /// [`MappedError::Io`] on any file error (nothing is left at `path` then), and
    /// [`MappedError::UnsupportedType`] for a zero-sized type or one aligned to more than 64 bytes.
    ///
    /// # Examples
    /// ```
    /// use seqring_mapped::MappedArray;
    /// let dir = tempfile::tempdir()?;
    /// // items by value or by reference
    /// let a = MappedArray::<i64>::build((0..1_000_000).map(|i| i - 500_000), dir.path().join("a.map"))?;
    /// assert_eq!((a.len(), a[0], a[999_999]), (1_000_000, -500_000, 499_999));
    /// let v = vec![1.5f32, 2.5];
    /// let b = MappedArray::<f32>::build(&v, dir.path().join("b.map"))?;
    /// assert_eq!(&*b, &v[..]);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn build<I>(items: I, path: impl AsRef<Path>) -> Result<MappedArray<T>, MappedError>
    where
        I: IntoIterator,
        I::Item: Borrow<T>,
    {
        Self::build_as(items, path, T::TAG)
    }

    /// A streaming writer for a new file at `path`; nothing appears at `path` until [`ArrayWriter::finish`].
    ///
    /// # Errors
    /// As [`MappedArray::build`].
    ///
    /// # Examples
    /// ```
    /// use seqring_mapped::MappedArray;
    /// let dir = tempfile::tempdir()?;
    /// let mut w = MappedArray::<u16>::writer(dir.path().join("a.map"))?;
    /// w.extend_from_slice(&[1, 2, 3])?;
    /// w.push(&4)?;
    /// assert_eq!(&*w.finish()?, &[1, 2, 3, 4]);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn writer(path: impl AsRef<Path>) -> Result<ArrayWriter<T>, MappedError> {
        Self::writer_as(path, T::TAG)
    }
}

/// The same operations with an explicit [`TypeTag`], for `Pod` types that cannot implement [`Tagged`] (types of
/// other crates), and the accessors.
impl<T: Pod> MappedArray<T> {
    /// [`build`](Self::build) with an explicit tag (for example `TypeTag::record::<glam::Vec3>("glam::Vec3")`).
    ///
    /// # Errors
    /// As [`MappedArray::build`]; [`MappedError::UnsupportedType`] also if the tag's size or alignment is not
    /// `T`'s.
    ///
    /// # Examples
    /// ```
    /// use seqring_mapped::{Mapped, MappedArray, MappedError, TypeTag};
    /// // a `Pod` type this crate cannot tag, e.g. a vector type of another crate
    /// #[derive(Clone, Copy, Debug, PartialEq, bytemuck::Pod, bytemuck::Zeroable)]
    /// #[repr(C)]
    /// struct Vec3 { x: f32, y: f32, z: f32 }
    /// const VEC3: TypeTag = TypeTag::record::<Vec3>("other_crate::Vec3");
    ///
    /// let dir = tempfile::tempdir()?;
    /// let path = dir.path().join("v.map");
    /// MappedArray::<Vec3>::build_as([Vec3 { x: 1.0, y: 2.0, z: 3.0 }], &path, VEC3)?;
    /// assert_eq!(MappedArray::<Vec3>::open_as(&path, VEC3)?[0].z, 3.0);
    /// // a tag whose size is not `T`'s is refused
    /// let wrong = TypeTag::record::<[f32; 2]>("other_crate::Vec2");
    /// assert!(matches!(
    ///     MappedArray::<Vec3>::build_as(std::iter::empty::<Vec3>(), dir.path().join("w.map"), wrong),
    ///     Err(MappedError::UnsupportedType { .. })
    /// ));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn build_as<I>(items: I, path: impl AsRef<Path>, tag: TypeTag) -> Result<MappedArray<T>, MappedError>
    where
        I: IntoIterator,
        I::Item: Borrow<T>,
    {
        let mut w = Self::writer_as(path, tag)?;
        for item in items {
            w.push(item.borrow())?;
        }
        w.finish()
    }

    /// [`writer`](Self::writer) with an explicit tag.
    ///
    /// # Errors
    /// As [`MappedArray::build_as`].
    ///
    /// # Examples
    /// ```
    /// use seqring_mapped::{MappedArray, TypeTag};
    /// let tag = TypeTag::with_schema::<[u8; 3]>(0x5247_42); // RGB pixels
    /// let dir = tempfile::tempdir()?;
    /// let mut w = MappedArray::<[u8; 3]>::writer_as(dir.path().join("px.map"), tag)?;
    /// w.push(&[255, 0, 0])?;
    /// let px = w.finish()?;
    /// assert_eq!((px[0], px.type_tag()), ([255, 0, 0], tag));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn writer_as(path: impl AsRef<Path>, tag: TypeTag) -> Result<ArrayWriter<T>, MappedError> {
        let path = path.as_ref();
        tag.check_type::<T>(path)?;
        let mut w = FileWriter::create(path)?;
        w.begin(DATA)?;
        let cap = (CHUNK_BYTES / core::mem::size_of::<T>()).max(1);
        Ok(ArrayWriter {
            w,
            chunk: Vec::with_capacity(cap),
            count: 0,
            tag,
        })
    }

    /// The elements.
    ///
    /// # Examples
    /// ```
    /// use seqring_mapped::MappedArray;
    /// let dir = tempfile::tempdir()?;
    /// let a = MappedArray::<u8>::build([3u8, 1, 2], dir.path().join("a.map"))?;
    /// let mut sorted = a.as_slice().to_vec();
    /// sorted.sort();
    /// assert_eq!(sorted, [1, 2, 3]);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    #[inline]
    pub fn as_slice(&self) -> &[T] {
        bytemuck::try_cast_slice(self.file.section(DATA)).unwrap_or(&[])
    }

    /// The raw bytes of the elements.
    ///
    /// # Examples
    /// ```
    /// use seqring_mapped::MappedArray;
    /// let dir = tempfile::tempdir()?;
    /// let a = MappedArray::<u16>::build([0x0102u16], dir.path().join("a.map"))?;
    /// assert_eq!(a.as_bytes(), &[0x02, 0x01]); // little-endian
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn as_bytes(&self) -> &[u8] {
        self.file.section(DATA)
    }

    /// The number of elements.
    ///
    /// # Examples
    /// ```
    /// use seqring_mapped::MappedArray;
    /// let dir = tempfile::tempdir()?;
    /// assert_eq!(MappedArray::<f64>::build([0.0; 4], dir.path().join("a.map"))?.len(), 4);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn len(&self) -> usize {
        self.len
    }

    /// Whether there are no elements.
    ///
    /// # Examples
    /// ```
    /// use seqring_mapped::MappedArray;
    /// let dir = tempfile::tempdir()?;
    /// assert!(MappedArray::<f64>::build(std::iter::empty::<f64>(), dir.path().join("a.map"))?.is_empty());
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// The element type recorded in the file.
    ///
    /// # Examples
    /// ```
    /// use seqring_mapped::{MappedArray, Tagged};
    /// use seqring_core::DType;
    /// let dir = tempfile::tempdir()?;
    /// let a = MappedArray::<[f32; 2]>::build([[1.0, 2.0]], dir.path().join("a.map"))?;
    /// assert_eq!(a.type_tag(), <[f32; 2]>::TAG);
    /// assert_eq!((a.type_tag().dtype, a.type_tag().size), (Some(DType::F32), 8));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn type_tag(&self) -> TypeTag {
        self.file.header.tag
    }
}

impl<T: Tagged> Typed for MappedArray<T> {
    const TAG: TypeTag = T::TAG;
}

impl<T: Pod> Sealed for MappedArray<T> {
    const KINDS: &'static [FileKind] = &[FileKind::Array];

    fn from_file(File(file): File, tag: TypeTag) -> Result<MappedArray<T>, MappedError> {
        file.check_tag::<T>(tag)?;
        let len = array_len(&file)?;
        if bytemuck::try_cast_slice::<u8, T>(file.section(DATA)).map_or(0, <[T]>::len) != len {
            return Err(MappedError::corrupt(
                file.path(),
                "data section is misaligned for the element type",
            ));
        }
        Ok(MappedArray {
            file,
            len,
            _t: PhantomData,
        })
    }
}

/// The O(1) structural checks of an array file (whatever its element type): no flags or parameters, a data
/// section of exactly `count * size` bytes and no other; returns the count.
pub(crate) fn array_len(file: &MappedFile) -> Result<usize, MappedError> {
    let path = file.path();
    let h = &file.header;
    if h.flags != 0 || h.param0 != 0 || h.param1 != 0 {
        return Err(MappedError::corrupt(
            path,
            "header: unknown flags or parameters for an array",
        ));
    }
    file.expect_len(DATA, "data", h.count.checked_mul(u64::from(h.tag.size)))?;
    for i in 1..super::header::MAX_SECTIONS {
        file.expect_absent(i, "extra")?;
    }
    usize::try_from(h.count).map_err(|_| MappedError::TooLarge {
        path: path.to_owned(),
        what: "count",
    })
}

/// Opening and verifying (import [`Mapped`]).
impl<T: Pod> Mapped for MappedArray<T> {
    /// Checks the xxh3-64 checksum of the element data (reads every byte; about 10 GB/s from the page cache) and
    /// that the padding after the header is zero.
    ///
    /// # Errors
    /// [`MappedError::SectionChecksum`] if the data was modified or corrupted, [`MappedError::Corrupt`] for non-zero
    /// padding.
    fn verify(&self) -> Result<(), MappedError> {
        self.file.verify_padding()?;
        self.file.verify_section(DATA, "data")
    }

    fn path(&self) -> &Path {
        self.file.path()
    }
}

impl<T: Pod> Deref for MappedArray<T> {
    type Target = [T];
    #[inline]
    fn deref(&self) -> &[T] {
        self.as_slice()
    }
}

impl<T: Pod> AsRef<[T]> for MappedArray<T> {
    fn as_ref(&self) -> &[T] {
        self.as_slice()
    }
}

impl<'a, T: Pod> IntoIterator for &'a MappedArray<T> {
    type Item = &'a T;
    type IntoIter = std::slice::Iter<'a, T>;
    fn into_iter(self) -> Self::IntoIter {
        self.as_slice().iter()
    }
}

impl<T: Pod> fmt::Debug for MappedArray<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("MappedArray")
            .field("path", &self.path())
            .field("len", &self.len)
            .finish()
    }
}

/// A streaming writer of a [`MappedArray`]; created by [`MappedArray::writer`]. Dropping it without calling
/// [`finish`](Self::finish) removes the temporary file and leaves `path` untouched.
///
/// # Examples
/// ```
/// use seqring_mapped::MappedArray;
/// let dir = tempfile::tempdir()?;
/// let path = dir.path().join("a.map");
/// let mut w = MappedArray::<u32>::writer(&path)?;
/// for i in 0..10 {
///     w.push(&i)?;
/// }
/// drop(w); // without `finish`, the temporary file goes and `path` stays untouched
/// assert!(!path.exists());
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[must_use = "nothing is written to the destination until `finish` is called"]
pub struct ArrayWriter<T> {
    w: FileWriter,
    chunk: Vec<T>,
    count: u64,
    tag: TypeTag,
}

impl<T: Pod> ArrayWriter<T> {
    /// Appends one element.
    ///
    /// # Errors
    /// [`MappedError::Io`] when the buffer is flushed and the write fails.
    ///
    /// # Examples
    /// ```
    /// use seqring_mapped::MappedArray;
    /// let dir = tempfile::tempdir()?;
    /// let mut w = MappedArray::<u64>::writer(dir.path().join("a.map"))?;
    /// w.push(&7)?;
    /// assert_eq!(w.finish()?[0], 7);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    #[inline]
    pub fn push(&mut self, item: &T) -> Result<(), MappedError> {
        if self.chunk.len() == self.chunk.capacity() {
            self.flush_chunk()?;
        }
        self.chunk.push(*item);
        Ok(())
    }

    /// Appends a slice of elements.
    ///
    /// # Errors
    /// [`MappedError::Io`] if the write fails.
    ///
    /// # Examples
    /// ```
    /// use seqring_mapped::MappedArray;
    /// let dir = tempfile::tempdir()?;
    /// let mut w = MappedArray::<i16>::writer(dir.path().join("a.map"))?;
    /// w.push(&-1)?;
    /// w.extend_from_slice(&[2, 3])?;
    /// assert_eq!(&*w.finish()?, &[-1, 2, 3]);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn extend_from_slice(&mut self, items: &[T]) -> Result<(), MappedError> {
        self.flush_chunk()?;
        self.w.write(bytemuck::cast_slice(items))?;
        self.count += items.len() as u64;
        Ok(())
    }

    /// The number of elements written so far.
    ///
    /// # Examples
    /// ```
    /// use seqring_mapped::MappedArray;
    /// let dir = tempfile::tempdir()?;
    /// let mut w = MappedArray::<u8>::writer(dir.path().join("a.map"))?;
    /// w.extend_from_slice(&[1, 2])?;
    /// w.push(&3)?;
    /// assert_eq!(w.len(), 3);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn len(&self) -> u64 {
        self.count + self.chunk.len() as u64
    }

    /// Whether nothing was written yet.
    ///
    /// # Examples
    /// ```
    /// use seqring_mapped::MappedArray;
    /// let dir = tempfile::tempdir()?;
    /// let mut w = MappedArray::<u8>::writer(dir.path().join("a.map"))?;
    /// assert!(w.is_empty());
    /// w.push(&1)?;
    /// assert!(!w.is_empty());
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    fn flush_chunk(&mut self) -> Result<(), MappedError> {
        if !self.chunk.is_empty() {
            self.w.write(bytemuck::cast_slice(&self.chunk))?;
            self.count += self.chunk.len() as u64;
            self.chunk.clear();
        }
        Ok(())
    }

    /// Writes the header, syncs and renames the file into place, and maps it.
    ///
    /// # Errors
    /// [`MappedError::Io`] if writing, syncing, renaming or mapping fails.
    ///
    /// # Examples
    /// ```
    /// use seqring_mapped::{Mapped, MappedArray};
    /// let dir = tempfile::tempdir()?;
    /// let path = dir.path().join("a.map");
    /// let mut w = MappedArray::<f64>::writer(&path)?;
    /// w.push(&0.25)?;
    /// let a = w.finish()?; // renamed into place and mapped
    /// assert_eq!((a.path(), a[0]), (path.as_path(), 0.25));
    /// assert_eq!(std::fs::metadata(&path)?.len(), 256 + 8); // the header, then the data
    /// # let _ = MappedArray::<f64>::open_verified(&path)?;
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn finish(mut self) -> Result<MappedArray<T>, MappedError> {
        self.flush_chunk()?;
        let mut h = Header::new(FileKind::Array, self.tag);
        h.count = self.count;
        let path = self.w.path().to_owned();
        self.w.finish(h)?;
        MappedArray::open_as(path, self.tag)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mapped_array_round_trip_and_empty() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("a");
        let a = MappedArray::<i32>::build((0..100_000).map(|i| i * 3 - 7), &p).unwrap();
        assert_eq!(a.len(), 100_000);
        for (i, v) in a.iter().enumerate() {
            assert_eq!(*v, i as i32 * 3 - 7);
        }
        a.verify().unwrap();
        let e = MappedArray::<i32>::build(std::iter::empty::<i32>(), dir.path().join("e")).unwrap();
        assert!(e.is_empty());
        e.verify().unwrap();
        assert_eq!(std::fs::metadata(dir.path().join("e")).unwrap().len(), 256);
    }

    #[test]
    fn mapped_array_rejects_wrong_type() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("a");
        MappedArray::<u64>::build([1u64, 2], &p).unwrap();
        assert!(matches!(
            MappedArray::<i64>::open(&p),
            Err(MappedError::WrongType { .. })
        ));
        assert!(matches!(
            MappedArray::<f64>::open(&p),
            Err(MappedError::WrongType { .. })
        ));
        assert!(matches!(
            MappedArray::<[u8; 8]>::open(&p),
            Err(MappedError::WrongType { .. })
        ));
        assert!(matches!(
            MappedArray::<u32>::open(&p),
            Err(MappedError::WrongType { .. })
        ));
    }

    #[test]
    fn mapped_array_dropped_writer_leaves_nothing() {
        let dir = tempfile::tempdir().unwrap();
        let mut w = MappedArray::<u8>::writer(dir.path().join("a")).unwrap();
        w.push(&1).unwrap();
        drop(w);
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 0);
    }
}
