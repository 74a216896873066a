//! [`MappedRecords<T>`]: fixed-size `T` records, each with an optional variable-length byte tail.
//!
//! Layout: the common header (kind 4, the tag of `T`, count = number of records; flag bit 0 when there are tails)
//! and up to three sections: `records` (section 0), the records back to back; and, only with tails,
//! `tail offsets` (section 1, `count + 1` little-endian `u64`) and `tail blob` (section 2), where the tail of
//! record `i` is `blob[offsets[i]..offsets[i + 1]]`. The same three sections (same numbers) hold the values of an
//! [`IdMap`](super::IdMap).
//!
//! Invariants checked by `open`: the records section holds exactly `count` records; with tails, the offsets table
//! has `count + 1` words from 0 to the blob length; without, both tail sections are absent. `verify` checks the
//! checksums and that the offsets never decrease.

use super::bytes::OffsetsSpill;
use super::header::{check_offset_ends, span, verify_offsets, Header, MappedFile, FLAG_TAILS, MAX_SECTIONS};
use super::open::sealed::{File, Sealed};
use super::writer::{FileWriter, Spill};
use super::{FileKind, Mapped, MappedError, Tagged, TypeTag, Typed};
use bytemuck::Pod;
use std::borrow::Borrow;
use std::fmt;
use std::marker::PhantomData;
use std::path::Path;

pub(crate) const RECORDS: usize = 0;
pub(crate) const TAIL_OFFSETS: usize = 1;
pub(crate) const TAIL_BLOB: usize = 2;

/// Writes records into section 0 of a [`FileWriter`] and their tails into spills created on the first tail.
pub(crate) struct RecordSink {
    count: u64,
    tails: Option<(OffsetsSpill, Spill)>,
}

impl RecordSink {
    pub(crate) fn new(w: &mut FileWriter) -> Result<RecordSink, MappedError> {
        w.begin(RECORDS)?;
        Ok(RecordSink { count: 0, tails: None })
    }

    #[inline]
    pub(crate) fn push(&mut self, w: &mut FileWriter, record: &[u8], tail: &[u8]) -> Result<(), MappedError> {
        w.write(record)?;
        if !tail.is_empty() && self.tails.is_none() {
            let mut offsets = OffsetsSpill::new(w.spill()?);
            for _ in 0..self.count {
                offsets.push(0)?;
            }
            self.tails = Some((offsets, w.spill()?));
        }
        if let Some((offsets, blob)) = &mut self.tails {
            blob.write(tail)?;
            offsets.push(tail.len())?;
        }
        self.count += 1;
        Ok(())
    }

    /// Closes the records section, appends the tail sections and fills in count and flags.
    pub(crate) fn finish(self, w: &mut FileWriter, h: &mut Header) -> Result<(), MappedError> {
        w.end()?;
        h.count = self.count;
        if let Some((offsets, blob)) = self.tails {
            debug_assert_eq!(offsets.end(), blob.len());
            h.flags |= FLAG_TAILS;
            w.append(TAIL_OFFSETS, offsets.into_spill()?)?;
            w.append(TAIL_BLOB, blob)?;
        }
        Ok(())
    }
}

/// Checks the record and tail sections of `file` for records of `record_size` bytes (O(1)).
pub(crate) fn check_record_sections(file: &MappedFile, record_size: u64) -> Result<usize, MappedError> {
    let h = &file.header;
    let path = file.path();
    let len = usize::try_from(h.count).map_err(|_| MappedError::TooLarge {
        path: path.to_owned(),
        what: "count",
    })?;
    file.expect_len(RECORDS, "records", h.count.checked_mul(record_size))?;
    if h.flags & FLAG_TAILS != 0 {
        file.expect_len(
            TAIL_OFFSETS,
            "tail offsets",
            h.count.checked_add(1).and_then(|n| n.checked_mul(8)),
        )?;
        if !file.present(TAIL_BLOB) {
            return Err(MappedError::corrupt(path, "header: section 'tail blob' is absent"));
        }
        check_offset_ends(file.words(TAIL_OFFSETS), h.sections[TAIL_BLOB].len, path, "tails")?;
    } else {
        file.expect_absent(TAIL_OFFSETS, "tail offsets")?;
        file.expect_absent(TAIL_BLOB, "tail blob")?;
    }
    Ok(len)
}

/// Checks the padding between sections and the checksums and offsets of the record and tail sections (O(n)).
pub(crate) fn verify_record_sections(file: &MappedFile) -> Result<(), MappedError> {
    file.verify_padding()?;
    file.verify_section(RECORDS, "records")?;
    file.verify_section(TAIL_OFFSETS, "tail offsets")?;
    file.verify_section(TAIL_BLOB, "tail blob")?;
    verify_offsets(file.words(TAIL_OFFSETS), file.path(), "tails")
}

/// The records of `file` as `&[T]` (validated by `check_record_sections`).
#[inline]
pub(crate) fn records_of<T: Pod>(file: &MappedFile) -> &[T] {
    bytemuck::try_cast_slice(file.section(RECORDS)).unwrap_or(&[])
}

/// The tail of record `i` (empty when the file has no tails), `None` if out of range or corrupt.
#[inline]
pub(crate) fn tail_of(file: &MappedFile, i: usize, len: usize) -> Option<&[u8]> {
    if file.header.flags & FLAG_TAILS == 0 {
        return (i < len).then_some(&[][..]);
    }
    span(file.words(TAIL_OFFSETS), file.section(TAIL_BLOB), i)
}

/// A read-only list of `T` records mapped from a file, each with an optional variable-length tail (for example a
/// fixed trial header followed by its variable-length event codes).
///
/// # Examples
/// ```
/// use seqring_mapped::{Mapped, MappedRecords};
/// let dir = tempfile::tempdir()?;
/// let path = dir.path().join("trials.map");
/// // (trial start µs, duration µs) with the trial's event codes as the tail
/// let trials = [([0u64, 900], &[1u8, 4, 2][..]), ([1000, 750], &[]), ([2000, 810], &[3])];
/// MappedRecords::<[u64; 2]>::build_with_tails(trials, &path)?;
///
/// let trials = MappedRecords::<[u64; 2]>::open(&path)?;
/// assert_eq!(trials.len(), 3);
/// assert_eq!(trials.get(1), Some(&[1000, 750]));
/// assert_eq!(trials.tail(0), Some(&[1u8, 4, 2][..]));
/// assert_eq!(trials.get_with_tail(2), Some((&[2000, 810], &[3u8][..])));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub struct MappedRecords<T> {
    file: MappedFile,
    len: usize,
    _t: PhantomData<T>,
}

impl<T: Tagged> MappedRecords<T> {
    /// Streams records without tails into a new file at `path` (temp file + rename) and maps it.
    ///
    /// # Errors
    /// [`MappedError::Io`] on any file error (nothing is left at `path` then), and
    /// [`MappedError::UnsupportedType`] for a zero-sized type or one aligned to more than 64 bytes.
    ///
    /// # Examples
    /// ```
    /// use seqring_mapped::MappedRecords;
    /// let dir = tempfile::tempdir()?;
    /// let r = MappedRecords::<[u32; 2]>::build([[1, 2], [3, 4]], dir.path().join("r.map"))?;
    /// assert_eq!((r.len(), r.get(1), r.has_tails()), (2, Some(&[3, 4]), false));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn build<I>(records: I, path: impl AsRef<Path>) -> Result<MappedRecords<T>, MappedError>
    where
        I: IntoIterator,
        I::Item: Borrow<T>,
    {
        let mut w = Self::writer(path)?;
        for r in records {
            w.push(r.borrow())?;
        }
        w.finish()
    }

    /// Streams `(record, tail)` pairs into a new file at `path` and maps it. Tails are spilled to an unlinked
    /// temporary file in the same directory while the records stream.
    ///
    /// # Errors
    /// As [`MappedRecords::build`].
    ///
    /// # Examples
    /// ```
    /// use seqring_mapped::MappedRecords;
    /// let dir = tempfile::tempdir()?;
    /// // (channel, gain) with the channel's label as the tail; tails can be any `AsRef<[u8]>`
    /// let r = MappedRecords::<[f32; 2]>::build_with_tails(
    ///     [([0.0, 1.5], "left".to_string()), ([1.0, 0.5], String::new())],
    ///     dir.path().join("r.map"),
    /// )?;
    /// assert_eq!(r.get_with_tail(0), Some((&[0.0, 1.5], &b"left"[..])));
    /// assert_eq!(r.tail(1), Some(&[][..]));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn build_with_tails<I, R, B>(items: I, path: impl AsRef<Path>) -> Result<MappedRecords<T>, MappedError>
    where
        I: IntoIterator<Item = (R, B)>,
        R: Borrow<T>,
        B: AsRef<[u8]>,
    {
        let mut w = Self::writer(path)?;
        for (r, tail) in items {
            w.push_with_tail(r.borrow(), tail.as_ref())?;
        }
        w.finish()
    }

    /// A streaming writer for a new file at `path`.
    ///
    /// # Errors
    /// As [`MappedRecords::build`].
    ///
    /// # Examples
    /// ```
    /// use seqring_mapped::MappedRecords;
    /// let dir = tempfile::tempdir()?;
    /// let mut w = MappedRecords::<u64>::writer(dir.path().join("r.map"))?;
    /// w.push(&1)?;
    /// w.push_with_tail(&2, b"two")?;
    /// let r = w.finish()?;
    /// assert_eq!(r.iter().collect::<Vec<_>>(), [(&1, &b""[..]), (&2, &b"two"[..])]);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn writer(path: impl AsRef<Path>) -> Result<RecordsWriter<T>, MappedError> {
        Self::writer_as(path, T::TAG)
    }
}

/// The same operations with an explicit [`TypeTag`], for `Pod` types that cannot implement [`Tagged`] (types of
/// other crates), and the accessors.
impl<T: Pod> MappedRecords<T> {
    /// [`writer`](MappedRecords::writer) with an explicit tag.
    ///
    /// # Errors
    /// As [`MappedRecords::build`]; [`MappedError::UnsupportedType`] also if the tag's size or alignment is not
    /// `T`'s.
    ///
    /// # Examples
    /// ```
    /// use seqring_mapped::{Mapped, MappedRecords, TypeTag};
    /// let tag = TypeTag::record::<[u16; 4]>("other_crate::Rgba16");
    /// let dir = tempfile::tempdir()?;
    /// let path = dir.path().join("r.map");
    /// let mut w = MappedRecords::<[u16; 4]>::writer_as(&path, tag)?;
    /// w.push(&[1, 2, 3, 4])?;
    /// w.finish()?;
    /// let r = MappedRecords::<[u16; 4]>::open_as(&path, tag)?;
    /// assert_eq!((r.get(0), r.type_tag()), (Some(&[1, 2, 3, 4]), tag));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn writer_as(path: impl AsRef<Path>, tag: TypeTag) -> Result<RecordsWriter<T>, MappedError> {
        let path = path.as_ref();
        tag.check_type::<T>(path)?;
        let mut w = FileWriter::create(path)?;
        let sink = RecordSink::new(&mut w)?;
        Ok(RecordsWriter {
            w,
            sink,
            tag,
            _t: PhantomData,
        })
    }

    /// All records.
    ///
    /// # Examples
    /// ```
    /// use seqring_mapped::MappedRecords;
    /// let dir = tempfile::tempdir()?;
    /// let r = MappedRecords::<u32>::build_with_tails([(5u32, b"a"), (6, b"b")], dir.path().join("r.map"))?;
    /// assert_eq!(r.as_slice(), &[5, 6]); // the records without their tails
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    #[inline]
    pub fn as_slice(&self) -> &[T] {
        records_of(&self.file)
    }

    /// Record `i`, or `None` if `i >= len()`.
    ///
    /// # Examples
    /// ```
    /// use seqring_mapped::MappedRecords;
    /// let dir = tempfile::tempdir()?;
    /// let r = MappedRecords::<i8>::build([-1i8], dir.path().join("r.map"))?;
    /// assert_eq!((r.get(0), r.get(1)), (Some(&-1), None));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    #[inline]
    pub fn get(&self, i: usize) -> Option<&T> {
        self.as_slice().get(i)
    }

    /// The tail of record `i` (empty for a file without tails), or `None` if `i >= len()` (or the tail offsets are
    /// corrupt there, which `verify` reports).
    ///
    /// # Examples
    /// ```
    /// use seqring_mapped::MappedRecords;
    /// let dir = tempfile::tempdir()?;
    /// let r = MappedRecords::<u8>::build_with_tails([(1u8, &b"xy"[..]), (2, b"")], dir.path().join("r.map"))?;
    /// assert_eq!((r.tail(0), r.tail(1), r.tail(2)), (Some(&b"xy"[..]), Some(&b""[..]), None));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    #[inline]
    pub fn tail(&self, i: usize) -> Option<&[u8]> {
        tail_of(&self.file, i, self.len)
    }

    /// Record `i` with its tail.
    ///
    /// # Examples
    /// ```
    /// use seqring_mapped::MappedRecords;
    /// let dir = tempfile::tempdir()?;
    /// let r = MappedRecords::<u8>::build_with_tails([(1u8, b"xy")], dir.path().join("r.map"))?;
    /// assert_eq!(r.get_with_tail(0), Some((&1, &b"xy"[..])));
    /// assert_eq!(r.get_with_tail(1), None);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    #[inline]
    pub fn get_with_tail(&self, i: usize) -> Option<(&T, &[u8])> {
        Some((self.get(i)?, self.tail(i)?))
    }

    /// The records with their tails, in order (a corrupt tail is yielded as empty).
    ///
    /// # Examples
    /// ```
    /// use seqring_mapped::MappedRecords;
    /// let dir = tempfile::tempdir()?;
    /// let r = MappedRecords::<u16>::build_with_tails([(1u16, &b"a"[..]), (2, b"bc")], dir.path().join("r.map"))?;
    /// let tail_bytes: usize = r.iter().map(|(_, tail)| tail.len()).sum();
    /// assert_eq!((r.iter().len(), tail_bytes), (2, 3));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn iter(&self) -> impl ExactSizeIterator<Item = (&T, &[u8])> + '_ {
        self.as_slice()
            .iter()
            .enumerate()
            .map(|(i, r)| (r, self.tail(i).unwrap_or(&[])))
    }

    /// Whether the file stores tails.
    ///
    /// # Examples
    /// ```
    /// use seqring_mapped::MappedRecords;
    /// let dir = tempfile::tempdir()?;
    /// let plain = MappedRecords::<u8>::build([1u8], dir.path().join("p.map"))?;
    /// let empty_tails = MappedRecords::<u8>::build_with_tails([(1u8, b"")], dir.path().join("e.map"))?;
    /// let tails = MappedRecords::<u8>::build_with_tails([(1u8, b"t")], dir.path().join("t.map"))?;
    /// assert_eq!((plain.has_tails(), empty_tails.has_tails(), tails.has_tails()), (false, false, true));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn has_tails(&self) -> bool {
        self.file.header.flags & FLAG_TAILS != 0
    }

    /// The number of records.
    ///
    /// # Examples
    /// ```
    /// use seqring_mapped::MappedRecords;
    /// let dir = tempfile::tempdir()?;
    /// assert_eq!(MappedRecords::<u8>::build([1u8, 2], dir.path().join("r.map"))?.len(), 2);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn len(&self) -> usize {
        self.len
    }

    /// Whether there are no records.
    ///
    /// # Examples
    /// ```
    /// use seqring_mapped::MappedRecords;
    /// let dir = tempfile::tempdir()?;
    /// assert!(MappedRecords::<u8>::build(std::iter::empty::<u8>(), dir.path().join("r.map"))?.is_empty());
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// The record type recorded in the file.
    ///
    /// # Examples
    /// ```
    /// use seqring_mapped::{MappedRecords, Tagged, TypeTag};
    /// #[derive(Clone, Copy, bytemuck::Pod, bytemuck::Zeroable)]
    /// #[repr(C)]
    /// struct Trial { start_us: u64, end_us: u64 }
    /// impl Tagged for Trial {
    ///     const TAG: TypeTag = TypeTag::record::<Trial>("doc::Trial/v1");
    /// }
    /// let dir = tempfile::tempdir()?;
    /// let r = MappedRecords::<Trial>::build([Trial { start_us: 0, end_us: 10 }], dir.path().join("r.map"))?;
    /// assert_eq!(r.type_tag(), Trial::TAG);
    /// assert_eq!(r.type_tag().size, 16);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn type_tag(&self) -> TypeTag {
        self.file.header.tag
    }
}

impl<T: Tagged> Typed for MappedRecords<T> {
    const TAG: TypeTag = T::TAG;
}

impl<T: Pod> Sealed for MappedRecords<T> {
    const KINDS: &'static [FileKind] = &[FileKind::Records];

    fn from_file(File(file): File, tag: TypeTag) -> Result<MappedRecords<T>, MappedError> {
        file.check_tag::<T>(tag)?;
        let h = &file.header;
        if h.flags & !FLAG_TAILS != 0 || h.param0 != 0 || h.param1 != 0 {
            return Err(MappedError::corrupt(
                file.path(),
                "header: unknown flags or parameters for records",
            ));
        }
        for i in 3..MAX_SECTIONS {
            file.expect_absent(i, "extra")?;
        }
        let len = check_record_sections(&file, u64::from(h.tag.size))?;
        if records_of::<T>(&file).len() != len {
            return Err(MappedError::corrupt(
                file.path(),
                "records section is misaligned for the record type",
            ));
        }
        Ok(MappedRecords {
            file,
            len,
            _t: PhantomData,
        })
    }
}

/// Opening and verifying (import [`Mapped`]).
impl<T: Pod> Mapped for MappedRecords<T> {
    /// Checks every section's checksum, the zero padding between sections and that the tail offsets never decrease.
    ///
    /// # Errors
    /// [`MappedError::SectionChecksum`] or [`MappedError::Corrupt`].
    fn verify(&self) -> Result<(), MappedError> {
        verify_record_sections(&self.file)
    }

    fn path(&self) -> &Path {
        self.file.path()
    }
}

impl<T: Pod> fmt::Debug for MappedRecords<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("MappedRecords")
            .field("path", &self.path())
            .field("len", &self.len)
            .field("tails", &self.has_tails())
            .finish()
    }
}

/// A streaming writer of a [`MappedRecords`]; dropping it without [`finish`](Self::finish) leaves `path`
/// untouched.
///
/// # Examples
/// ```
/// use seqring_mapped::MappedRecords;
/// let dir = tempfile::tempdir()?;
/// let mut w = MappedRecords::<[u8; 2]>::writer(dir.path().join("r.map"))?;
/// w.push(&[1, 2])?;
/// w.push_with_tail(&[3, 4], b"tail")?;
/// let r = w.finish()?;
/// assert_eq!(r.get_with_tail(1), Some((&[3, 4], &b"tail"[..])));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[must_use = "nothing is written to the destination until `finish` is called"]
pub struct RecordsWriter<T> {
    w: FileWriter,
    sink: RecordSink,
    tag: TypeTag,
    _t: PhantomData<T>,
}

impl<T: Pod> RecordsWriter<T> {
    /// Appends a record with an empty tail.
    ///
    /// # Errors
    /// [`MappedError::Io`] if a write fails.
    ///
    /// # Examples
    /// ```
    /// use seqring_mapped::MappedRecords;
    /// let dir = tempfile::tempdir()?;
    /// let mut w = MappedRecords::<f64>::writer(dir.path().join("r.map"))?;
    /// w.push(&1.0)?;
    /// let r = w.finish()?;
    /// assert_eq!((r.get(0), r.tail(0)), (Some(&1.0), Some(&[][..])));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    #[inline]
    pub fn push(&mut self, record: &T) -> Result<(), MappedError> {
        self.sink.push(&mut self.w, bytemuck::bytes_of(record), &[])
    }

    /// Appends a record with a tail. The file stores tails as soon as one is non-empty.
    ///
    /// # Errors
    /// [`MappedError::Io`] if a write fails.
    ///
    /// # Examples
    /// ```
    /// use seqring_mapped::MappedRecords;
    /// let dir = tempfile::tempdir()?;
    /// let mut w = MappedRecords::<u32>::writer(dir.path().join("r.map"))?;
    /// w.push(&1)?; // before the first tail: stored with an empty one
    /// w.push_with_tail(&2, &[9, 9])?;
    /// let r = w.finish()?;
    /// assert!(r.has_tails());
    /// assert_eq!((r.tail(0), r.tail(1)), (Some(&[][..]), Some(&[9u8, 9][..])));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    #[inline]
    pub fn push_with_tail(&mut self, record: &T, tail: &[u8]) -> Result<(), MappedError> {
        self.sink.push(&mut self.w, bytemuck::bytes_of(record), tail)
    }

    /// Finishes the file, renames it into place and maps it.
    ///
    /// # Errors
    /// [`MappedError::Io`] if writing, syncing, renaming or mapping fails.
    ///
    /// # Examples
    /// ```
    /// use seqring_mapped::{Mapped, MappedRecords};
    /// let dir = tempfile::tempdir()?;
    /// let path = dir.path().join("r.map");
    /// let mut w = MappedRecords::<u16>::writer(&path)?;
    /// w.push(&3)?;
    /// assert!(!path.exists());
    /// w.finish()?;
    /// assert_eq!(MappedRecords::<u16>::open_verified(&path)?.get(0), Some(&3));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn finish(mut self) -> Result<MappedRecords<T>, MappedError> {
        let mut h = Header::new(FileKind::Records, self.tag);
        self.sink.finish(&mut self.w, &mut h)?;
        let path = self.w.path().to_owned();
        self.w.finish(h)?;
        MappedRecords::open_as(path, self.tag)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mapped_records_tails_start_late_and_empty() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("r");
        let items = (0..5000u32).map(|i| {
            (
                i,
                if i < 1000 {
                    vec![]
                } else {
                    vec![i as u8; (i % 7) as usize]
                },
            )
        });
        let r = MappedRecords::<u32>::build_with_tails(items, &p).unwrap();
        assert!(r.has_tails());
        for i in 0..5000usize {
            let want = if i < 1000 { vec![] } else { vec![i as u8; i % 7] };
            assert_eq!(r.get_with_tail(i), Some((&(i as u32), &want[..])));
        }
        assert_eq!(r.get(5000), None);
        r.verify().unwrap();

        let plain = MappedRecords::<u32>::build([1u32, 2, 3], dir.path().join("p")).unwrap();
        assert!(!plain.has_tails());
        assert_eq!(plain.tail(2), Some(&[][..]));
        assert_eq!(plain.tail(3), None);
        let empty = MappedRecords::<u32>::build(std::iter::empty::<u32>(), dir.path().join("e")).unwrap();
        assert_eq!(empty.iter().count(), 0);
        assert!(matches!(
            crate::MappedArray::<u32>::open(dir.path().join("p")),
            Err(MappedError::WrongKind { .. })
        ));
    }
}
