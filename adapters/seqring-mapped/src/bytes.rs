//! [`MappedBytes`] and [`MappedStrs`]: lists of variable-length byte strings or UTF-8 strings, as an offsets table
//! and a blob (sharedbuffers' bytes, str and list proxies).
//!
//! Layout: the common header (kind 2 for bytes, 3 for strings; tag `'|u1'`; count = number of items) and two
//! sections: `blob` (section 0), all items back to back, and `offsets` (section 1), `count + 1` little-endian
//! `u64`, where item `i` is `blob[offsets[i]..offsets[i + 1]]`.
//!
//! Invariants checked by `open` (O(1)): `offsets` has exactly `count + 1` words, the first is 0 and the last is the
//! blob length. Checked by `verify` (O(n)): the checksums, that the offsets never decrease, and (strings) that every
//! item is UTF-8. Item access bounds-checks both offsets, so a corrupt table yields `None`, never a panic.

use super::header::{check_offset_ends, span, verify_offsets, Header, MappedFile, MAX_SECTIONS};
use super::open::sealed::{File, Sealed};
use super::writer::{FileWriter, Spill};
use super::{FileKind, Mapped, MappedError, Tagged, TypeTag, Typed};
use std::fmt;
use std::path::Path;

const BLOB: usize = 0;
const OFFSETS: usize = 1;
const OFFSET_CHUNK: usize = 8192;

/// The validated core shared by bytes and strings.
struct List {
    file: MappedFile,
    len: usize,
}

impl List {
    fn from_file(file: MappedFile, tag: TypeTag) -> Result<List, MappedError> {
        file.check_tag::<u8>(tag)?;
        let path = file.path();
        let h = &file.header;
        if h.flags != 0 || h.param0 != 0 || h.param1 != 0 {
            return Err(MappedError::corrupt(
                path,
                "header: unknown flags or parameters for a list",
            ));
        }
        let len = usize::try_from(h.count).map_err(|_| MappedError::TooLarge {
            path: path.to_owned(),
            what: "count",
        })?;
        file.expect_len(
            OFFSETS,
            "offsets",
            h.count.checked_add(1).and_then(|n| n.checked_mul(8)),
        )?;
        if !file.present(BLOB) {
            return Err(MappedError::corrupt(path, "header: section 'blob' is absent"));
        }
        for i in 2..MAX_SECTIONS {
            file.expect_absent(i, "extra")?;
        }
        check_offset_ends(file.words(OFFSETS), file.header.sections[BLOB].len, path, "list")?;
        Ok(List { file, len })
    }

    #[inline]
    fn get(&self, i: usize) -> Option<&[u8]> {
        span(self.file.words(OFFSETS), self.file.section(BLOB), i)
    }

    fn verify(&self) -> Result<(), MappedError> {
        self.file.verify_padding()?;
        self.file.verify_section(BLOB, "blob")?;
        self.file.verify_section(OFFSETS, "offsets")?;
        verify_offsets(self.file.words(OFFSETS), self.file.path(), "list")
    }
}

/// A read-only list of byte strings mapped from a file. Also opens files written as [`MappedStrs`].
///
/// # Examples
/// ```
/// use seqring_mapped::MappedBytes;
/// let dir = tempfile::tempdir()?;
/// let frames = MappedBytes::build([&b"\x00\x01"[..], b"", b"xyz"], dir.path().join("frames.map"))?;
/// assert_eq!(frames.len(), 3);
/// assert_eq!(frames.get(2), Some(&b"xyz"[..]));
/// assert_eq!(frames.get(3), None);
/// assert_eq!(frames.iter().map(<[u8]>::len).sum::<usize>(), 5);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub struct MappedBytes(List);

impl MappedBytes {
    /// Streams `items` into a new file at `path` (temp file + rename) and maps it. Memory use is a few MiB of
    /// buffers, whatever the number of items.
    ///
    /// # Errors
    /// [`MappedError::Io`] on any file error; nothing is left at `path` then.
    ///
    /// # Examples
    /// ```
    /// use seqring_mapped::MappedBytes;
    /// let dir = tempfile::tempdir()?;
    /// let frames: Vec<Vec<u8>> = (0..100u8).map(|i| vec![i; i as usize % 4]).collect();
    /// let b = MappedBytes::build(&frames, dir.path().join("frames.map"))?;
    /// assert_eq!(b.len(), 100);
    /// assert_eq!(b.get(7), Some(&[7u8, 7, 7][..]));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn build<I>(items: I, path: impl AsRef<Path>) -> Result<MappedBytes, MappedError>
    where
        I: IntoIterator,
        I::Item: AsRef<[u8]>,
    {
        let mut w = Self::writer(path)?;
        for item in items {
            w.push(item.as_ref())?;
        }
        w.finish()
    }

    /// A streaming writer for a new file at `path`.
    ///
    /// # Errors
    /// [`MappedError::Io`] if the temporary files cannot be created.
    ///
    /// # Examples
    /// ```
    /// use seqring_mapped::MappedBytes;
    /// let dir = tempfile::tempdir()?;
    /// let path = dir.path().join("b.map");
    /// let mut w = MappedBytes::writer(&path)?;
    /// w.push(b"header")?;
    /// w.push(&[0, 1, 2])?;
    /// assert!(!path.exists()); // nothing at `path` until `finish`
    /// let b = w.finish()?;
    /// assert_eq!(b.get(1), Some(&[0u8, 1, 2][..]));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn writer(path: impl AsRef<Path>) -> Result<BytesWriter, MappedError> {
        Ok(BytesWriter(ListWriter::new(path.as_ref())?))
    }

    /// Item `i`, or `None` if `i >= len()` (or if the file is corrupt at that item, which `verify` reports).
    ///
    /// # Examples
    /// ```
    /// use seqring_mapped::MappedBytes;
    /// let dir = tempfile::tempdir()?;
    /// let b = MappedBytes::build([&b"ab"[..], b""], dir.path().join("b.map"))?;
    /// assert_eq!(b.get(0), Some(&b"ab"[..]));
    /// assert_eq!(b.get(1), Some(&b""[..]));
    /// assert_eq!(b.get(2), None);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    #[inline]
    pub fn get(&self, i: usize) -> Option<&[u8]> {
        self.0.get(i)
    }

    /// The items in order (a corrupt item is yielded as empty).
    ///
    /// # Examples
    /// ```
    /// use seqring_mapped::MappedBytes;
    /// let dir = tempfile::tempdir()?;
    /// let b = MappedBytes::build([&b"ab"[..], b"c"], dir.path().join("b.map"))?;
    /// assert_eq!(b.iter().collect::<Vec<_>>(), [&b"ab"[..], b"c"]);
    /// assert_eq!(b.iter().len(), 2);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn iter(&self) -> impl ExactSizeIterator<Item = &[u8]> + '_ {
        (0..self.0.len).map(|i| self.0.get(i).unwrap_or(&[]))
    }

    /// The number of items.
    ///
    /// # Examples
    /// ```
    /// use seqring_mapped::MappedBytes;
    /// let dir = tempfile::tempdir()?;
    /// assert_eq!(MappedBytes::build([b"x", b"y"], dir.path().join("b.map"))?.len(), 2);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn len(&self) -> usize {
        self.0.len
    }

    /// Whether there are no items.
    ///
    /// # Examples
    /// ```
    /// use seqring_mapped::MappedBytes;
    /// let dir = tempfile::tempdir()?;
    /// assert!(MappedBytes::build(Vec::<Vec<u8>>::new(), dir.path().join("e.map"))?.is_empty());
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn is_empty(&self) -> bool {
        self.0.len == 0
    }

    /// All items back to back.
    ///
    /// # Examples
    /// ```
    /// use seqring_mapped::MappedBytes;
    /// let dir = tempfile::tempdir()?;
    /// let b = MappedBytes::build([&b"ab"[..], b"", b"cde"], dir.path().join("b.map"))?;
    /// assert_eq!(b.blob(), b"abcde");
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn blob(&self) -> &[u8] {
        self.0.file.section(BLOB)
    }

    /// The `len() + 1` offsets into [`blob`](Self::blob).
    ///
    /// # Examples
    /// ```
    /// use seqring_mapped::MappedBytes;
    /// let dir = tempfile::tempdir()?;
    /// let b = MappedBytes::build([&b"ab"[..], b"", b"cde"], dir.path().join("b.map"))?;
    /// assert_eq!(b.offsets(), &[0, 2, 2, 5]);
    /// assert_eq!(&b.blob()[b.offsets()[2] as usize..b.offsets()[3] as usize], b"cde");
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn offsets(&self) -> &[u64] {
        self.0.file.words(OFFSETS)
    }
}

impl Typed for MappedBytes {
    const TAG: TypeTag = u8::TAG;
}

impl Sealed for MappedBytes {
    const KINDS: &'static [FileKind] = &[FileKind::Bytes, FileKind::Strs];

    fn from_file(File(file): File, tag: TypeTag) -> Result<MappedBytes, MappedError> {
        List::from_file(file, tag).map(MappedBytes)
    }
}

/// Opening and verifying (import [`Mapped`]).
impl Mapped for MappedBytes {
    /// Checks both checksums, the zero padding between sections and that the offsets never decrease.
    ///
    /// # Errors
    /// [`MappedError::SectionChecksum`] or [`MappedError::Corrupt`].
    fn verify(&self) -> Result<(), MappedError> {
        self.0.verify()
    }

    fn path(&self) -> &Path {
        self.0.file.path()
    }
}

impl fmt::Debug for MappedBytes {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("MappedBytes")
            .field("path", &self.path())
            .field("len", &self.len())
            .finish()
    }
}

/// A read-only list of UTF-8 strings mapped from a file.
///
/// # Examples
/// ```
/// use seqring_mapped::MappedStrs;
/// let dir = tempfile::tempdir()?;
/// let names = MappedStrs::build(["left lick", "right lick", "µ-stim"], dir.path().join("names.map"))?;
/// assert_eq!(names.get(2), Some("µ-stim"));
/// assert_eq!(names.iter().collect::<Vec<_>>(), ["left lick", "right lick", "µ-stim"]);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub struct MappedStrs(List);

impl MappedStrs {
    /// Streams `items` into a new file at `path` (temp file + rename) and maps it.
    ///
    /// # Errors
    /// [`MappedError::Io`] on any file error; nothing is left at `path` then.
    ///
    /// # Examples
    /// ```
    /// use seqring_mapped::MappedStrs;
    /// let dir = tempfile::tempdir()?;
    /// let names: Vec<String> = (0..3).map(|i| format!("mouse-{i}")).collect();
    /// let s = MappedStrs::build(&names, dir.path().join("names.map"))?;
    /// assert_eq!(s.get(2), Some("mouse-2"));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn build<I>(items: I, path: impl AsRef<Path>) -> Result<MappedStrs, MappedError>
    where
        I: IntoIterator,
        I::Item: AsRef<str>,
    {
        let mut w = Self::writer(path)?;
        for item in items {
            w.push(item.as_ref())?;
        }
        w.finish()
    }

    /// A streaming writer for a new file at `path`.
    ///
    /// # Errors
    /// [`MappedError::Io`] if the temporary files cannot be created.
    ///
    /// # Examples
    /// ```
    /// use seqring_mapped::MappedStrs;
    /// let dir = tempfile::tempdir()?;
    /// let mut w = MappedStrs::writer(dir.path().join("s.map"))?;
    /// for word in "cue lick reward".split(' ') {
    ///     w.push(word)?;
    /// }
    /// assert_eq!(w.finish()?.iter().collect::<Vec<_>>(), ["cue", "lick", "reward"]);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn writer(path: impl AsRef<Path>) -> Result<StrsWriter, MappedError> {
        Ok(StrsWriter(ListWriter::new(path.as_ref())?))
    }

    /// String `i`, or `None` if `i >= len()` (or if the file is corrupt at that item, which `verify` reports).
    /// Checks the UTF-8 of the one string it returns.
    ///
    /// # Examples
    /// ```
    /// use seqring_mapped::MappedStrs;
    /// let dir = tempfile::tempdir()?;
    /// let s = MappedStrs::build(["α", "β"], dir.path().join("s.map"))?;
    /// assert_eq!((s.get(1), s.get(2)), (Some("β"), None));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    #[inline]
    pub fn get(&self, i: usize) -> Option<&str> {
        std::str::from_utf8(self.0.get(i)?).ok()
    }

    /// The strings in order (a corrupt item is yielded as "").
    ///
    /// # Examples
    /// ```
    /// use seqring_mapped::MappedStrs;
    /// let dir = tempfile::tempdir()?;
    /// let s = MappedStrs::build(["a", "", "c"], dir.path().join("s.map"))?;
    /// assert_eq!(s.iter().collect::<String>(), "ac");
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn iter(&self) -> impl ExactSizeIterator<Item = &str> + '_ {
        (0..self.0.len).map(|i| self.get(i).unwrap_or(""))
    }

    /// The number of strings.
    ///
    /// # Examples
    /// ```
    /// use seqring_mapped::MappedStrs;
    /// let dir = tempfile::tempdir()?;
    /// assert_eq!(MappedStrs::build(["a", "b", "c"], dir.path().join("s.map"))?.len(), 3);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn len(&self) -> usize {
        self.0.len
    }

    /// Whether there are no strings.
    ///
    /// # Examples
    /// ```
    /// use seqring_mapped::MappedStrs;
    /// let dir = tempfile::tempdir()?;
    /// assert!(MappedStrs::build(Vec::<String>::new(), dir.path().join("s.map"))?.is_empty());
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn is_empty(&self) -> bool {
        self.0.len == 0
    }
}

impl Typed for MappedStrs {
    const TAG: TypeTag = u8::TAG;
}

impl Sealed for MappedStrs {
    const KINDS: &'static [FileKind] = &[FileKind::Strs];

    fn from_file(File(file): File, tag: TypeTag) -> Result<MappedStrs, MappedError> {
        List::from_file(file, tag).map(MappedStrs)
    }
}

/// Opening and verifying (import [`Mapped`]).
impl Mapped for MappedStrs {
    /// Checks both checksums, the zero padding between sections, that the offsets never decrease and that every
    /// item is UTF-8.
    ///
    /// # Errors
    /// [`MappedError::SectionChecksum`] or [`MappedError::Corrupt`].
    fn verify(&self) -> Result<(), MappedError> {
        self.0.verify()?;
        for i in 0..self.0.len {
            if self.get(i).is_none() {
                return Err(MappedError::corrupt(self.path(), format!("string {i} is not UTF-8")));
            }
        }
        Ok(())
    }

    fn path(&self) -> &Path {
        self.0.file.path()
    }
}

impl fmt::Debug for MappedStrs {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("MappedStrs")
            .field("path", &self.path())
            .field("len", &self.len())
            .finish()
    }
}

/// Writes an offsets table to a spill in chunks; shared by lists and record tails.
pub(crate) struct OffsetsSpill {
    spill: Spill,
    chunk: Vec<u64>,
    end: u64,
    count: u64,
}

impl OffsetsSpill {
    pub(crate) fn new(spill: Spill) -> OffsetsSpill {
        let mut chunk = Vec::with_capacity(OFFSET_CHUNK);
        chunk.push(0);
        OffsetsSpill {
            spill,
            chunk,
            end: 0,
            count: 0,
        }
    }

    /// Records an item of `len` bytes.
    #[inline]
    pub(crate) fn push(&mut self, len: usize) -> Result<(), MappedError> {
        self.end += len as u64;
        self.count += 1;
        if self.chunk.len() == OFFSET_CHUNK {
            self.spill.write(bytemuck::cast_slice(&self.chunk))?;
            self.chunk.clear();
        }
        self.chunk.push(self.end);
        Ok(())
    }

    pub(crate) fn end(&self) -> u64 {
        self.end
    }

    pub(crate) fn count(&self) -> u64 {
        self.count
    }

    pub(crate) fn into_spill(mut self) -> Result<Spill, MappedError> {
        self.spill.write(bytemuck::cast_slice(&self.chunk))?;
        Ok(self.spill)
    }
}

struct ListWriter {
    w: FileWriter,
    offsets: OffsetsSpill,
}

impl ListWriter {
    fn new(path: &Path) -> Result<ListWriter, MappedError> {
        let mut w = FileWriter::create(path)?;
        w.begin(BLOB)?;
        Ok(ListWriter {
            offsets: OffsetsSpill::new(Spill::new(path)?),
            w,
        })
    }

    #[inline]
    fn push(&mut self, item: &[u8]) -> Result<(), MappedError> {
        self.w.write(item)?;
        self.offsets.push(item.len())
    }

    fn finish(mut self, kind: FileKind) -> Result<(), MappedError> {
        let mut h = Header::new(kind, u8::TAG);
        h.count = self.offsets.count();
        self.w.end()?;
        self.w.append(OFFSETS, self.offsets.into_spill()?)?;
        self.w.finish(h)
    }
}

/// A streaming writer of a [`MappedBytes`]; dropping it without [`finish`](Self::finish) leaves `path` untouched.
///
/// # Examples
/// ```
/// use seqring_mapped::MappedBytes;
/// let dir = tempfile::tempdir()?;
/// let path = dir.path().join("b.map");
/// let mut w = MappedBytes::writer(&path)?;
/// w.push(b"partial")?;
/// drop(w); // no `finish`: nothing is left behind
/// assert!(!path.exists());
/// assert_eq!(std::fs::read_dir(dir.path())?.count(), 0);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[must_use = "nothing is written to the destination until `finish` is called"]
pub struct BytesWriter(ListWriter);

impl BytesWriter {
    /// Appends one item.
    ///
    /// # Errors
    /// [`MappedError::Io`] if a write fails.
    ///
    /// # Examples
    /// ```
    /// use seqring_mapped::MappedBytes;
    /// let dir = tempfile::tempdir()?;
    /// let mut w = MappedBytes::writer(dir.path().join("b.map"))?;
    /// w.push(&[1, 2])?;
    /// w.push(&[])?;
    /// assert_eq!(w.finish()?.offsets(), &[0, 2, 2]);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn push(&mut self, item: &[u8]) -> Result<(), MappedError> {
        self.0.push(item)
    }

    /// Finishes the file, renames it into place and maps it.
    ///
    /// # Errors
    /// [`MappedError::Io`] if writing, syncing, renaming or mapping fails.
    ///
    /// # Examples
    /// ```
    /// use seqring_mapped::{Mapped, MappedBytes};
    /// let dir = tempfile::tempdir()?;
    /// let path = dir.path().join("b.map");
    /// let mut w = MappedBytes::writer(&path)?;
    /// w.push(b"x")?;
    /// let b = w.finish()?;
    /// assert_eq!(b.path(), path);
    /// assert_eq!(MappedBytes::open_verified(&path)?.get(0), Some(&b"x"[..]));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn finish(self) -> Result<MappedBytes, MappedError> {
        let path = self.0.w.path().to_owned();
        self.0.finish(FileKind::Bytes)?;
        MappedBytes::open(path)
    }
}

/// A streaming writer of a [`MappedStrs`]; dropping it without [`finish`](Self::finish) leaves `path` untouched.
///
/// # Examples
/// ```
/// use seqring_mapped::{Mapped, MappedBytes, MappedStrs};
/// let dir = tempfile::tempdir()?;
/// let path = dir.path().join("s.map");
/// let mut w = MappedStrs::writer(&path)?;
/// w.push("µs")?;
/// w.finish()?;
/// // a string list is also a byte list
/// assert_eq!(MappedBytes::open(&path)?.get(0), Some("µs".as_bytes()));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[must_use = "nothing is written to the destination until `finish` is called"]
pub struct StrsWriter(ListWriter);

impl StrsWriter {
    /// Appends one string.
    ///
    /// # Errors
    /// [`MappedError::Io`] if a write fails.
    ///
    /// # Examples
    /// ```
    /// use seqring_mapped::MappedStrs;
    /// let dir = tempfile::tempdir()?;
    /// let mut w = MappedStrs::writer(dir.path().join("s.map"))?;
    /// w.push("a")?;
    /// w.push(&String::from("b"))?;
    /// assert_eq!(w.finish()?.len(), 2);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn push(&mut self, item: &str) -> Result<(), MappedError> {
        self.0.push(item.as_bytes())
    }

    /// Finishes the file, renames it into place and maps it.
    ///
    /// # Errors
    /// [`MappedError::Io`] if writing, syncing, renaming or mapping fails.
    ///
    /// # Examples
    /// ```
    /// use seqring_mapped::{Mapped, MappedStrs};
    /// let dir = tempfile::tempdir()?;
    /// let path = dir.path().join("s.map");
    /// let mut w = MappedStrs::writer(&path)?;
    /// w.push("done")?;
    /// w.finish()?;
    /// assert_eq!(MappedStrs::open(&path)?.get(0), Some("done"));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn finish(self) -> Result<MappedStrs, MappedError> {
        let path = self.0.w.path().to_owned();
        self.0.finish(FileKind::Strs)?;
        MappedStrs::open(path)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mapped_bytes_and_strs_round_trip() {
        let dir = tempfile::tempdir().unwrap();
        let items: Vec<String> = (0..20_000).map(|i| "x".repeat(i % 37) + &i.to_string()).collect();
        let s = MappedStrs::build(&items, dir.path().join("s")).unwrap();
        assert_eq!(s.len(), items.len());
        for (i, it) in items.iter().enumerate() {
            assert_eq!(s.get(i), Some(it.as_str()));
        }
        s.verify().unwrap();
        let b = MappedBytes::open(dir.path().join("s")).unwrap();
        assert_eq!(b.get(5), Some(items[5].as_bytes()));
        assert!(matches!(
            MappedStrs::open(dir.path().join("nope")),
            Err(MappedError::Io { .. })
        ));

        let e = MappedBytes::build(std::iter::empty::<&[u8]>(), dir.path().join("e")).unwrap();
        assert!(e.is_empty());
        assert_eq!(e.get(0), None);
        e.verify().unwrap();
        assert!(matches!(
            MappedStrs::open(dir.path().join("e")),
            Err(MappedError::WrongKind { .. })
        ));
    }

    #[test]
    fn mapped_strs_rejects_non_utf8_on_verify() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("s");
        MappedStrs::build(["ab", "cd"], &p).unwrap();
        let mut bytes = std::fs::read(&p).unwrap();
        bytes[256] = 0xff; // the blob starts right after the header
        let mut h = Header::decode(&bytes, bytes.len() as u64, &p).unwrap();
        h.sections[BLOB].checksum = xxhash_rust::xxh3::xxh3_64(&bytes[256..260]);
        bytes[..256].copy_from_slice(&h.encode());
        std::fs::write(&p, &bytes).unwrap();
        let s = MappedStrs::open(&p).unwrap();
        assert_eq!(s.get(0), None);
        assert_eq!(s.get(1), Some("cd"));
        assert!(matches!(s.verify(), Err(MappedError::Corrupt { .. })));
    }
}
