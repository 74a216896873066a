//! [`MappedRows`]: a mapped array whose element type is known only at run time, by its [`TypeTag`] (a numpy dtype
//! handed over from Python, say), read as bytes.
//!
//! It is the file of a [`MappedArray<T>`](super::MappedArray) (kind 1, the same header and `data` section), so a
//! file written by either opens as the other when the tags agree: Python builds from a numpy array and Rust reads a
//! `MappedArray<T>`, or the other way round.
//!
//! Invariants after `open`: the tag describes a mappable element (size > 0, a power-of-two alignment of at most
//! [`MAX_ALIGN`](super::MAX_ALIGN) that divides the size, as numpy and Rust lay elements out) and the data section
//! holds exactly `count * size` bytes, starting 64-byte aligned; so row `i` is the bytes `i * size ..
//! (i + 1) * size`, aligned for the element.

use super::array::{array_len, DATA};
use super::header::{Header, MappedFile};
use super::writer::FileWriter;
use super::{FileKind, MappedError, TypeTag, MAX_ALIGN};
use std::fmt;
use std::path::Path;

/// A read-only array of elements of a run-time [`TypeTag`], mapped from a file, read as bytes.
///
/// # Examples
/// ```
/// use seqring_mapped::{Mapped, MappedArray, MappedRows, Tagged};
/// let dir = tempfile::tempdir()?;
/// let path = dir.path().join("pairs.map");
/// // Rows of two little-endian f32, written from bytes (as a numpy array of dtype ('<f4', (2,)) would be) ...
/// let bytes: Vec<u8> = [1.0f32, 2.0, 3.0, 4.0].iter().flat_map(|v| v.to_le_bytes()).collect();
/// let rows = MappedRows::build(&bytes, <[f32; 2]>::TAG, &path)?;
/// assert_eq!((rows.len(), rows.row(1).unwrap().len()), (2, 8));
/// // ... and read in Rust as the type the tag names, or again as rows of whatever tag the file holds.
/// assert_eq!(MappedArray::<[f32; 2]>::open(&path)?[1], [3.0, 4.0]);
/// let again = MappedRows::open(&path)?;
/// assert_eq!((again.tag(), again.as_bytes()), (<[f32; 2]>::TAG, &bytes[..]));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub struct MappedRows {
    file: MappedFile,
    len: usize,
    size: usize,
}

impl MappedRows {
    /// Writes `rows` (the elements' bytes back to back, a multiple of `tag.size` long) into a new file at `path`
    /// (temp file + rename) and maps it.
    ///
    /// # Errors
    /// [`MappedError::UnsupportedType`] for a tag of no mappable element (see the module docs) or bytes that are
    /// not a whole number of rows; [`MappedError::Io`] on any file error (nothing is left at `path` then).
    ///
    /// # Examples
    /// ```
    /// use seqring_mapped::{MappedError, MappedRows, Tagged, TypeTag};
    /// let dir = tempfile::tempdir()?;
    /// let rows = MappedRows::build(&[1, 2, 3, 4], u16::TAG, dir.path().join("a.map"))?;
    /// assert_eq!(rows.len(), 2);
    /// let half_a_row = MappedRows::build(&[1, 2, 3], u16::TAG, dir.path().join("b.map"));
    /// assert!(matches!(half_a_row, Err(MappedError::UnsupportedType { .. })));
    /// assert!(!dir.path().join("b.map").exists());
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn build(rows: &[u8], tag: TypeTag, path: impl AsRef<Path>) -> Result<MappedRows, MappedError> {
        let path = path.as_ref();
        check_layout(tag, path)?;
        let size = tag.size as usize;
        if !rows.len().is_multiple_of(size) {
            return Err(MappedError::UnsupportedType {
                path: path.to_owned(),
                reason: format!("{} bytes are not a whole number of {size}-byte rows", rows.len()),
            });
        }
        let mut w = FileWriter::create(path)?;
        w.begin(DATA)?;
        w.write(rows)?;
        let mut h = Header::new(FileKind::Array, tag);
        h.count = (rows.len() / size) as u64;
        w.finish(h)?;
        MappedRows::open(path)
    }

    /// Maps the array file at `path`, whatever its element type, after the O(1) checks of
    /// [`Mapped::open`](super::Mapped::open) (header, length, kind, sections).
    ///
    /// # Errors
    /// As [`Mapped::open_as`](super::Mapped::open_as), and [`MappedError::UnsupportedType`] if the file's tag
    /// describes no mappable element.
    ///
    /// # Examples
    /// ```
    /// use seqring_mapped::{MappedArray, MappedError, MappedRows, MappedStrs, Tagged};
    /// let dir = tempfile::tempdir()?;
    /// MappedArray::<u64>::build([7u64, 8], dir.path().join("a.map"))?;
    /// let rows = MappedRows::open(dir.path().join("a.map"))?;
    /// assert_eq!((rows.tag(), rows.row(1)), (u64::TAG, Some(&8u64.to_le_bytes()[..])));
    /// MappedStrs::build(["x"], dir.path().join("s.map"))?;
    /// assert!(matches!(MappedRows::open(dir.path().join("s.map")), Err(MappedError::WrongKind { .. })));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn open(path: impl AsRef<Path>) -> Result<MappedRows, MappedError> {
        let file = MappedFile::open(path.as_ref(), &[FileKind::Array])?;
        let tag = file.header.tag;
        check_layout(tag, file.path())?;
        let len = array_len(&file)?;
        Ok(MappedRows {
            file,
            len,
            size: tag.size as usize,
        })
    }

    /// Checks the xxh3-64 checksum of the data and that the padding after the header is zero (one pass over the
    /// file); see [`Mapped::verify`](super::Mapped::verify).
    ///
    /// # Errors
    /// [`MappedError::SectionChecksum`] if the data was modified, [`MappedError::Corrupt`] for non-zero padding.
    ///
    /// # Examples
    /// ```
    /// use seqring_mapped::{MappedError, MappedRows, Tagged};
    /// let dir = tempfile::tempdir()?;
    /// let path = dir.path().join("a.map");
    /// MappedRows::build(&[1, 2, 3, 4], u8::TAG, &path)?.verify()?;
    /// let mut bytes = std::fs::read(&path)?;
    /// bytes[256] ^= 1; // the first data byte
    /// std::fs::write(&path, bytes)?;
    /// assert!(matches!(MappedRows::open(&path)?.verify(), Err(MappedError::SectionChecksum { .. })));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn verify(&self) -> Result<(), MappedError> {
        self.file.verify_padding()?;
        self.file.verify_section(DATA, "data")
    }

    /// The type tag the file records.
    ///
    /// # Examples
    /// ```
    /// use seqring_mapped::{MappedRows, Tagged};
    /// let dir = tempfile::tempdir()?;
    /// let rows = MappedRows::build(&[0; 8], f64::TAG, dir.path().join("a.map"))?;
    /// assert_eq!(rows.tag().size, 8);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn tag(&self) -> TypeTag {
        self.file.header.tag
    }

    /// The number of rows.
    ///
    /// # Examples
    /// ```
    /// use seqring_mapped::{MappedRows, Tagged};
    /// let dir = tempfile::tempdir()?;
    /// assert_eq!(MappedRows::build(&[0; 12], <[u8; 3]>::TAG, dir.path().join("a.map"))?.len(), 4);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn len(&self) -> usize {
        self.len
    }

    /// Whether there is no row.
    ///
    /// # Examples
    /// ```
    /// use seqring_mapped::{MappedRows, Tagged};
    /// let dir = tempfile::tempdir()?;
    /// assert!(MappedRows::build(&[], u32::TAG, dir.path().join("a.map"))?.is_empty());
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// The bytes of row `i`, or `None` past the end.
    ///
    /// # Examples
    /// ```
    /// use seqring_mapped::{MappedRows, Tagged};
    /// let dir = tempfile::tempdir()?;
    /// let rows = MappedRows::build(&[1, 2, 3, 4], u16::TAG, dir.path().join("a.map"))?;
    /// assert_eq!((rows.row(0), rows.row(2)), (Some(&[1, 2][..]), None));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn row(&self, i: usize) -> Option<&[u8]> {
        let start = i.checked_mul(self.size)?;
        self.as_bytes().get(start..start + self.size)
    }

    /// All rows' bytes, back to back (64-byte aligned in memory).
    ///
    /// # Examples
    /// ```
    /// use seqring_mapped::{MappedRows, Tagged};
    /// let dir = tempfile::tempdir()?;
    /// let rows = MappedRows::build(&[5; 16], u64::TAG, dir.path().join("a.map"))?;
    /// assert_eq!((rows.as_bytes().len(), rows.as_bytes().as_ptr() as usize % 64), (16, 0));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn as_bytes(&self) -> &[u8] {
        self.file.section(DATA)
    }

    /// The file's path.
    ///
    /// # Examples
    /// ```
    /// use seqring_mapped::{MappedRows, Tagged};
    /// let dir = tempfile::tempdir()?;
    /// let path = dir.path().join("a.map");
    /// assert_eq!(MappedRows::build(&[], u8::TAG, &path)?.path(), path);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn path(&self) -> &Path {
        self.file.path()
    }
}

impl fmt::Debug for MappedRows {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("MappedRows")
            .field("path", &self.path())
            .field("tag", &self.tag())
            .field("len", &self.len)
            .finish()
    }
}

/// Checks that `tag` describes a mappable element: size > 0, alignment a power of two of at most [`MAX_ALIGN`]
/// that divides the size.
pub(crate) fn check_layout(tag: TypeTag, path: &Path) -> Result<(), MappedError> {
    let (size, align) = (tag.size as usize, usize::from(tag.align));
    if size == 0 || !align.is_power_of_two() || align > MAX_ALIGN || !size.is_multiple_of(align) {
        return Err(MappedError::UnsupportedType {
            path: path.to_owned(),
            reason: format!(
                "size {size} and alignment {align}: need size > 0 and a power-of-two alignment <= 64 that divides it"
            ),
        });
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{MappedArray, Tagged};

    #[test]
    fn a_rust_array_and_rows_of_its_tag_are_the_same_file() {
        let dir = tempfile::tempdir().unwrap();
        let a = dir.path().join("a.map");
        let b = dir.path().join("b.map");
        let values: Vec<[u32; 3]> = (0..1000u32).map(|i| [i, i * 2, i * 3]).collect();
        MappedArray::<[u32; 3]>::build(&values, &a).unwrap();
        let bytes: &[u8] = bytemuck::cast_slice(&values);
        MappedRows::build(bytes, <[u32; 3]>::TAG, &b).unwrap();
        assert_eq!(std::fs::read(&a).unwrap(), std::fs::read(&b).unwrap());
        let rows = MappedRows::open(&a).unwrap();
        rows.verify().unwrap();
        assert_eq!((rows.len(), rows.as_bytes()), (1000, bytes));
        assert_eq!(rows.row(999).unwrap(), bytemuck::bytes_of(&values[999]));
    }

    #[test]
    fn tags_of_no_mappable_element_are_refused() {
        let dir = tempfile::tempdir().unwrap();
        for (size, align) in [(0, 1), (6, 4), (8, 3), (256, 128)] {
            let tag = TypeTag {
                dtype: None,
                size,
                align,
                schema: 1,
            };
            let err = MappedRows::build(&[], tag, dir.path().join("x.map")).unwrap_err();
            assert!(
                matches!(err, MappedError::UnsupportedType { .. }),
                "{size}/{align}: {err}"
            );
        }
    }
}
