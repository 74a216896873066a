//! The 256-byte header shared by every mapped file, its section table, and the validated read-only mapping.
//!
//! # Layout (all integers little-endian)
//! | offset | size | field |
//! | --- | --- | --- |
//! | 0 | 8 | magic `b"SEQRMAP\0"` |
//! | 8 | 2 | format version, [`VERSION`] |
//! | 10 | 2 | kind ([`FileKind::code`]) |
//! | 12 | 4 | flags: bit 0 = records have variable-length tails, bit 1 = multi-map; other bits 0 |
//! | 16 | 8 | total file length in bytes |
//! | 24 | 8 | type tag: schema |
//! | 32 | 4 | type tag: size of one element or record |
//! | 36 | 2 | type tag: alignment |
//! | 38 | 1 | type tag: dtype code (0 = none) |
//! | 39 | 1 | reserved, 0 |
//! | 40 | 8 | count: elements, strings or records |
//! | 48 | 8 | kind parameter 0 (id map: number of distinct keys) |
//! | 56 | 8 | kind parameter 1 (id map: key kind, index kind, index parameter, seed) |
//! | 64 | 168 | section table: 7 × {offset u64, length u64, xxh3-64 of the section's bytes u64} |
//! | 232 | 16 | archive format of the rkyv kinds 6 and 7 ([`ArchiveFormat`](super::ArchiveFormat)); 0 for the other kinds |
//! | 248 | 8 | xxh3-64 (seed 0) of bytes 0..248 |
//!
//! A section whose offset is 0 is absent, and then its length and checksum are 0 too. A present section starts at a
//! multiple of 64 at or after byte 256, lies inside the file and does not overlap another one. Sections are
//! written in table order with zero padding between them; the file ends where the last section ends.

use super::{FileKind, MappedError, TypeTag, MAX_ALIGN};
use rkyv::util::AlignedVec;
use seqring_core::DType;
use seqring_platform::ReadOnlyMap;
use std::fs::File;
use std::path::{Path, PathBuf};

/// The magic at offset 0 of every mapped file.
pub const MAGIC: [u8; 8] = *b"SEQRMAP\0";
/// The format version this build writes and reads.
pub const VERSION: u16 = 1;
/// The header length; the first section starts at or after it.
pub const HEADER_LEN: usize = 256;
/// The number of entries in the section table.
pub const MAX_SECTIONS: usize = 7;
const SECTIONS_AT: usize = 64;
const CHECKSUM_AT: usize = 248;

/// Flag bit: the records have variable-length tails.
pub(crate) const FLAG_TAILS: u32 = 1;
/// Flag bit: an id map may hold several records per key.
pub(crate) const FLAG_MULTI: u32 = 2;

/// One entry of the section table.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) struct Section {
    pub offset: u64,
    pub len: u64,
    pub checksum: u64,
}

/// A decoded header.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Header {
    pub kind: FileKind,
    pub flags: u32,
    pub file_len: u64,
    pub tag: TypeTag,
    pub count: u64,
    pub param0: u64,
    pub param1: u64,
    pub sections: [Section; MAX_SECTIONS],
    /// Bytes 232..248: the archive format of the rkyv kinds, all zero for the other kinds (checked by `decode`).
    pub ext: [u8; EXT_LEN],
}

/// The length of the kind-specific extension at [`EXT_AT`].
pub(crate) const EXT_LEN: usize = 16;
const EXT_AT: usize = 232;

fn le_u64(b: &[u8], at: usize) -> u64 {
    let mut w = [0u8; 8];
    w.copy_from_slice(&b[at..at + 8]);
    u64::from_le_bytes(w)
}

impl Header {
    pub(crate) fn new(kind: FileKind, tag: TypeTag) -> Header {
        Header {
            kind,
            flags: 0,
            file_len: 0,
            tag,
            count: 0,
            param0: 0,
            param1: 0,
            sections: [Section::default(); MAX_SECTIONS],
            ext: [0; EXT_LEN],
        }
    }

    /// The 256 header bytes, checksum included.
    pub(crate) fn encode(&self) -> [u8; HEADER_LEN] {
        let mut b = [0u8; HEADER_LEN];
        b[0..8].copy_from_slice(&MAGIC);
        b[8..10].copy_from_slice(&VERSION.to_le_bytes());
        b[10..12].copy_from_slice(&self.kind.code().to_le_bytes());
        b[12..16].copy_from_slice(&self.flags.to_le_bytes());
        b[16..24].copy_from_slice(&self.file_len.to_le_bytes());
        b[24..32].copy_from_slice(&self.tag.schema.to_le_bytes());
        b[32..36].copy_from_slice(&self.tag.size.to_le_bytes());
        b[36..38].copy_from_slice(&self.tag.align.to_le_bytes());
        b[38] = self.tag.dtype.map_or(0, DType::code);
        b[40..48].copy_from_slice(&self.count.to_le_bytes());
        b[48..56].copy_from_slice(&self.param0.to_le_bytes());
        b[56..64].copy_from_slice(&self.param1.to_le_bytes());
        for (i, s) in self.sections.iter().enumerate() {
            let at = SECTIONS_AT + 24 * i;
            b[at..at + 8].copy_from_slice(&s.offset.to_le_bytes());
            b[at + 8..at + 16].copy_from_slice(&s.len.to_le_bytes());
            b[at + 16..at + 24].copy_from_slice(&s.checksum.to_le_bytes());
        }
        b[EXT_AT..EXT_AT + EXT_LEN].copy_from_slice(&self.ext);
        let sum = xxhash_rust::xxh3::xxh3_64(&b[..CHECKSUM_AT]);
        b[CHECKSUM_AT..].copy_from_slice(&sum.to_le_bytes());
        b
    }

    /// Decodes and checks magic, version, checksum, kind, reserved bytes and the section table against `file_len`.
    pub(crate) fn decode(b: &[u8], actual_len: u64, path: &Path) -> Result<Header, MappedError> {
        if b.len() < HEADER_LEN {
            return Err(MappedError::TooShort {
                path: path.to_owned(),
                len: actual_len,
                need: HEADER_LEN as u64,
            });
        }
        if b[0..8] != MAGIC {
            return Err(MappedError::BadMagic { path: path.to_owned() });
        }
        let version = u16::from_le_bytes([b[8], b[9]]);
        if version != VERSION {
            return Err(MappedError::UnsupportedVersion {
                path: path.to_owned(),
                found: version,
                supported: VERSION,
            });
        }
        let stored = le_u64(b, CHECKSUM_AT);
        let computed = xxhash_rust::xxh3::xxh3_64(&b[..CHECKSUM_AT]);
        if stored != computed {
            return Err(MappedError::HeaderChecksum {
                path: path.to_owned(),
                stored,
                computed,
            });
        }
        let code = u16::from_le_bytes([b[10], b[11]]);
        let kind = FileKind::from_code(code)
            .ok_or_else(|| MappedError::corrupt(path, format!("header: unknown structure kind {code}")))?;
        let file_len = le_u64(b, 16);
        if file_len != actual_len {
            return Err(MappedError::LengthMismatch {
                path: path.to_owned(),
                expected: file_len,
                actual: actual_len,
            });
        }
        let mut ext = [0u8; EXT_LEN];
        ext.copy_from_slice(&b[EXT_AT..EXT_AT + EXT_LEN]);
        if b[39] != 0 || (!kind.is_archived() && ext.iter().any(|&x| x != 0)) {
            return Err(MappedError::corrupt(path, "header: reserved bytes are not zero"));
        }
        let dtype = match b[38] {
            0 => None,
            c => Some(
                DType::from_code(u64::from(c))
                    .ok_or_else(|| MappedError::corrupt(path, format!("header: unknown dtype code {c}")))?,
            ),
        };
        let tag = TypeTag {
            dtype,
            size: u32::from_le_bytes([b[32], b[33], b[34], b[35]]),
            align: u16::from_le_bytes([b[36], b[37]]),
            schema: le_u64(b, 24),
        };
        let mut sections = [Section::default(); MAX_SECTIONS];
        for (i, s) in sections.iter_mut().enumerate() {
            let at = SECTIONS_AT + 24 * i;
            *s = Section {
                offset: le_u64(b, at),
                len: le_u64(b, at + 8),
                checksum: le_u64(b, at + 16),
            };
        }
        let h = Header {
            kind,
            flags: u32::from_le_bytes([b[12], b[13], b[14], b[15]]),
            file_len,
            tag,
            count: le_u64(b, 40),
            param0: le_u64(b, 48),
            param1: le_u64(b, 56),
            sections,
            ext,
        };
        h.check_sections(path)?;
        Ok(h)
    }

    /// Every present section is aligned, inside the file and disjoint from the others; absent ones are all zero.
    fn check_sections(&self, path: &Path) -> Result<(), MappedError> {
        let mut spans: Vec<(u64, u64)> = Vec::with_capacity(MAX_SECTIONS);
        for (i, s) in self.sections.iter().enumerate() {
            if s.offset == 0 {
                if s.len != 0 || s.checksum != 0 {
                    return Err(MappedError::corrupt(
                        path,
                        format!("header: absent section {i} is not zeroed"),
                    ));
                }
                continue;
            }
            let end = s.offset.saturating_add(s.len); // real file lengths are < u64::MAX
            if s.offset < HEADER_LEN as u64 || s.offset % MAX_ALIGN as u64 != 0 || end > self.file_len {
                return Err(MappedError::corrupt(
                    path,
                    format!(
                        "header: section {i} at {}+{} is misplaced in a {}-byte file",
                        s.offset, s.len, self.file_len
                    ),
                ));
            }
            spans.push((s.offset, s.offset + s.len));
        }
        spans.sort_unstable();
        if spans.windows(2).any(|w| w[0].1 > w[1].0) {
            return Err(MappedError::corrupt(path, "header: sections overlap"));
        }
        Ok(())
    }
}

/// What a mapped file's header says, read by [`inspect`] without knowing the element type.
///
/// # Examples
/// ```
/// use seqring_mapped::{inspect, FileKind, MappedRecords, Tagged};
/// let dir = tempfile::tempdir()?;
/// let path = dir.path().join("r.map");
/// MappedRecords::<u32>::build_with_tails([(1u32, b"t")], &path)?;
/// let info = inspect(&path)?;
/// assert_eq!((info.kind, info.tag, info.count, info.has_tails), (FileKind::Records, u32::TAG, 1, true));
/// assert_eq!(info.file_len, std::fs::metadata(&path)?.len());
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct MappedInfo {
    /// The structure.
    pub kind: FileKind,
    /// The element or record type.
    pub tag: TypeTag,
    /// Elements, strings or records.
    pub count: u64,
    /// The file length.
    pub file_len: u64,
    /// Whether records carry variable-length tails.
    pub has_tails: bool,
}

/// Reads and validates the header of any mapped file (magic, version, checksum, length, section table).
///
/// # Errors
/// [`MappedError::Io`] if the file cannot be read, and the header errors of `open` (bad magic, version, checksum,
/// length or section table).
///
/// # Examples
/// ```
/// use seqring_mapped::{inspect, FileKind, MappedArray, Tagged};
/// let dir = tempfile::tempdir()?;
/// let path = dir.path().join("a.map");
/// MappedArray::<f32>::build([1.0, 2.0, 3.0], &path)?;
/// let info = inspect(&path)?;
/// assert_eq!((info.kind, info.tag, info.count), (FileKind::Array, f32::TAG, 3));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub fn inspect(path: impl AsRef<Path>) -> Result<MappedInfo, MappedError> {
    let path = path.as_ref();
    let mut file = File::open(path).map_err(MappedError::io(path))?;
    let len = file.metadata().map_err(MappedError::io(path))?.len();
    let mut buf = Vec::with_capacity(HEADER_LEN);
    std::io::Read::read_to_end(&mut std::io::Read::take(&mut file, HEADER_LEN as u64), &mut buf)
        .map_err(MappedError::io(path))?;
    let h = Header::decode(&buf, len, path)?;
    Ok(MappedInfo {
        kind: h.kind,
        tag: h.tag,
        count: h.count,
        file_len: h.file_len,
        has_tails: h.flags & FLAG_TAILS != 0,
    })
}

/// Recomputes the section checksums and the header checksum of a mapped-file image in place, so that hand-edited
/// or generated bytes pass the checksum checks and reach the structural and rkyv validation behind them. Sections
/// whose table entry lies outside `image` are left alone. This is a tool for tests, fuzzing and repair; it makes no
/// other change, so a reseal never makes invalid contents valid.
///
/// # Errors
/// [`MappedError::TooShort`] if `image` is shorter than the header.
///
/// # Examples
/// ```
/// use seqring_mapped::{reseal, Mapped, MappedArray, MappedError};
/// let dir = tempfile::tempdir()?;
/// let path = dir.path().join("a.map");
/// MappedArray::<u8>::build([1u8, 2, 3], &path)?;
/// let mut bytes = std::fs::read(&path)?;
/// bytes[256] = 9; // first element
/// std::fs::write(&path, &bytes)?;
/// assert!(matches!(MappedArray::<u8>::open_verified(&path), Err(MappedError::SectionChecksum { .. })));
/// reseal(&mut bytes)?;
/// std::fs::write(&path, &bytes)?;
/// assert_eq!(MappedArray::<u8>::open_verified(&path)?[0], 9);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub fn reseal(image: &mut [u8]) -> Result<(), MappedError> {
    if image.len() < HEADER_LEN {
        return Err(MappedError::TooShort {
            path: PathBuf::from(MEMORY_LABEL),
            len: image.len() as u64,
            need: HEADER_LEN as u64,
        });
    }
    for i in 0..MAX_SECTIONS {
        let at = SECTIONS_AT + 24 * i;
        let (offset, len) = (le_u64(image, at), le_u64(image, at + 8));
        if offset == 0 {
            continue;
        }
        let range = usize::try_from(offset)
            .ok()
            .zip(usize::try_from(offset.saturating_add(len)).ok());
        if let Some(sum) = range.and_then(|(a, b)| image.get(a..b)).map(xxhash_rust::xxh3::xxh3_64) {
            image[at + 16..at + 24].copy_from_slice(&sum.to_le_bytes());
        }
    }
    let sum = xxhash_rust::xxh3::xxh3_64(&image[..CHECKSUM_AT]);
    image[CHECKSUM_AT..HEADER_LEN].copy_from_slice(&sum.to_le_bytes());
    Ok(())
}

/// The bytes behind a [`MappedFile`]: a read-only shared mapping of a file, or an owned 64-byte-aligned buffer
/// (an image built in memory or copied from one).
pub(crate) enum Backing {
    Map(ReadOnlyMap),
    Memory(AlignedVec<MAX_ALIGN>),
}

impl std::ops::Deref for Backing {
    type Target = [u8];
    #[inline]
    fn deref(&self) -> &[u8] {
        match self {
            Backing::Map(m) => m,
            Backing::Memory(v) => v,
        }
    }
}

/// The label that errors about an in-memory image use in place of a path.
pub const MEMORY_LABEL: &str = "<memory>";

/// A read-only mapped file, or an in-memory image of one, whose header and section table have been validated.
pub(crate) struct MappedFile {
    map: Backing,
    path: PathBuf,
    pub header: Header,
}

impl std::fmt::Debug for MappedFile {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MappedFile")
            .field("path", &self.path)
            .field("len", &self.map.len())
            .finish()
    }
}

impl MappedFile {
    /// Opens and maps `path`, validates the header, and checks that it holds one of `kinds`.
    pub(crate) fn open(path: &Path, kinds: &[FileKind]) -> Result<MappedFile, MappedError> {
        let file = File::open(path).map_err(MappedError::io(path))?;
        let len = file.metadata().map_err(MappedError::io(path))?.len();
        if len < HEADER_LEN as u64 {
            return Err(MappedError::TooShort {
                path: path.to_owned(),
                len,
                need: HEADER_LEN as u64,
            });
        }
        if usize::try_from(len).is_err() {
            return Err(MappedError::TooLarge {
                path: path.to_owned(),
                what: "file larger than the address space",
            });
        }
        // The region layer's mapped-file contract holds here: a mapped file is immutable once renamed into place
        // (writers only create new files, temp + rename), and every value later read from it is `Pod` at a
        // bounds-checked offset.
        let map = ReadOnlyMap::of_file(&file).map_err(MappedError::io(path))?;
        Self::from_backing(Backing::Map(map), path, kinds)
    }

    /// Validates the header of an image held in memory (its bytes must start 64-byte aligned, which
    /// [`AlignedVec<64>`] guarantees), labelled [`MEMORY_LABEL`] in errors.
    pub(crate) fn from_memory(image: AlignedVec<MAX_ALIGN>, kinds: &[FileKind]) -> Result<MappedFile, MappedError> {
        Self::from_backing(Backing::Memory(image), Path::new(MEMORY_LABEL), kinds)
    }

    fn from_backing(map: Backing, path: &Path, kinds: &[FileKind]) -> Result<MappedFile, MappedError> {
        let len = map.len() as u64;
        let header = Header::decode(&map, len, path)?;
        if !kinds.contains(&header.kind) {
            return Err(MappedError::WrongKind {
                path: path.to_owned(),
                expected: kinds[0],
                found: header.kind,
            });
        }
        Ok(MappedFile {
            map,
            path: path.to_owned(),
            header,
        })
    }

    pub(crate) fn path(&self) -> &Path {
        &self.path
    }

    /// The whole file or image, header included.
    pub(crate) fn bytes(&self) -> &[u8] {
        &self.map
    }

    /// Whether the bytes are an in-memory image rather than a mapped file.
    pub(crate) fn in_memory(&self) -> bool {
        matches!(self.map, Backing::Memory(_))
    }

    /// Gives back the in-memory image, or `None` for a mapped file.
    pub(crate) fn into_image(self) -> Option<AlignedVec<MAX_ALIGN>> {
        match self.map {
            Backing::Memory(v) => Some(v),
            Backing::Map(_) => None,
        }
    }

    /// The bytes of section `i` (empty if absent). The range was validated at open.
    #[inline]
    pub(crate) fn section(&self, i: usize) -> &[u8] {
        let s = self.header.sections[i];
        // Validated in `Header::check_sections`; `get` keeps this panic-free regardless.
        self.map
            .get(s.offset as usize..(s.offset + s.len) as usize)
            .unwrap_or(&[])
    }

    pub(crate) fn present(&self, i: usize) -> bool {
        self.header.sections[i].offset != 0
    }

    /// Checks that `T`'s tag matches the file's and that `T` can be mapped.
    pub(crate) fn check_tag<T>(&self, expected: TypeTag) -> Result<(), MappedError> {
        expected.check_type::<T>(&self.path)?;
        if self.header.tag != expected {
            return Err(MappedError::WrongType {
                path: self.path.clone(),
                expected,
                found: self.header.tag,
            });
        }
        Ok(())
    }

    /// Checks that section `i` is present with exactly `len` bytes (`None`: the expected length overflowed).
    pub(crate) fn expect_len(&self, i: usize, name: &str, len: Option<u64>) -> Result<(), MappedError> {
        let s = self.header.sections[i];
        match len {
            Some(l) if s.offset != 0 && s.len == l => Ok(()),
            Some(l) => Err(MappedError::corrupt(
                &self.path,
                format!(
                    "header: section '{name}' has {} bytes{}, the counts imply {l}",
                    s.len,
                    absent(s)
                ),
            )),
            None => Err(MappedError::corrupt(
                &self.path,
                format!("header: section '{name}' size overflows"),
            )),
        }
    }

    /// Checks that section `i` is absent.
    pub(crate) fn expect_absent(&self, i: usize, name: &str) -> Result<(), MappedError> {
        if self.present(i) {
            return Err(MappedError::corrupt(
                &self.path,
                format!("header: unexpected section '{name}'"),
            ));
        }
        Ok(())
    }

    /// Recomputes the xxh3-64 of section `i` and compares it with the table.
    pub(crate) fn verify_section(&self, i: usize, name: &'static str) -> Result<(), MappedError> {
        let s = self.header.sections[i];
        if s.offset == 0 {
            return Ok(());
        }
        if xxhash_rust::xxh3::xxh3_64(self.section(i)) != s.checksum {
            return Err(MappedError::SectionChecksum {
                path: self.path.clone(),
                section: name,
            });
        }
        Ok(())
    }

    /// Checks that every byte outside the header and the sections (the padding before each section, which no
    /// checksum covers) is zero, so that no byte of a verified file goes unchecked.
    pub(crate) fn verify_padding(&self) -> Result<(), MappedError> {
        let mut spans: Vec<(usize, usize)> = self
            .header
            .sections
            .iter()
            .filter(|s| s.offset != 0)
            .map(|s| (s.offset as usize, (s.offset + s.len) as usize))
            .collect();
        spans.sort_unstable();
        spans.push((self.map.len(), self.map.len()));
        let mut pos = HEADER_LEN;
        for (start, end) in spans {
            if self.map.get(pos..start).is_some_and(|gap| gap.iter().any(|&b| b != 0)) {
                return Err(MappedError::corrupt(
                    &self.path,
                    format!("padding at {pos}..{start} is not zero"),
                ));
            }
            pos = pos.max(end);
        }
        Ok(())
    }

    /// Section `i` as a slice of `u64`, validated by `expect_len` at open.
    #[inline]
    pub(crate) fn words(&self, i: usize) -> &[u64] {
        bytemuck::try_cast_slice(self.section(i)).unwrap_or(&[])
    }
}

fn absent(s: Section) -> &'static str {
    if s.offset == 0 {
        " (absent)"
    } else {
        ""
    }
}

/// Validates an offsets table of `n + 1` words over a blob of `blob_len` bytes in O(1): the first offset is 0 and
/// the last is `blob_len`. The full monotonicity check is in [`verify_offsets`].
pub(crate) fn check_offset_ends(offsets: &[u64], blob_len: u64, path: &Path, name: &str) -> Result<(), MappedError> {
    if offsets.first() != Some(&0) || offsets.last() != Some(&blob_len) {
        return Err(MappedError::corrupt(
            path,
            format!("{name}: offsets table does not span its blob"),
        ));
    }
    Ok(())
}

/// Checks that an offsets table never decreases (the O(n) part of its validation).
pub(crate) fn verify_offsets(offsets: &[u64], path: &Path, name: &str) -> Result<(), MappedError> {
    if let Some(i) = offsets.windows(2).position(|w| w[0] > w[1]) {
        return Err(MappedError::corrupt(
            path,
            format!("{name}: offset {i} is larger than offset {}", i + 1),
        ));
    }
    Ok(())
}

/// `bytes[offsets[i]..offsets[i + 1]]`, or `None` if `i` is out of range or the offsets are corrupt.
#[inline]
pub(crate) fn span<'a>(offsets: &[u64], bytes: &'a [u8], i: usize) -> Option<&'a [u8]> {
    let start = *offsets.get(i)?;
    let end = *offsets.get(i.checked_add(1)?)?;
    bytes.get(usize::try_from(start).ok()?..usize::try_from(end).ok()?)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Tagged;

    fn sample() -> Header {
        let mut h = Header::new(FileKind::Array, u64::TAG);
        h.count = 3;
        h.file_len = 256 + 24;
        h.sections[0] = Section {
            offset: 256,
            len: 24,
            checksum: 42,
        };
        h
    }

    #[test]
    fn mapped_header_round_trips() {
        let h = sample();
        let b = h.encode();
        assert_eq!(&b[0..8], b"SEQRMAP\0");
        assert_eq!(Header::decode(&b, 280, Path::new("x")).unwrap(), h);
    }

    #[test]
    fn mapped_header_rejects_every_single_bit_flip() {
        let b = sample().encode();
        for bit in 0..HEADER_LEN * 8 {
            let mut c = b;
            c[bit / 8] ^= 1 << (bit % 8);
            assert!(
                Header::decode(&c, 280, Path::new("x")).is_err(),
                "bit {bit} flip accepted"
            );
        }
    }

    #[test]
    fn mapped_header_rejects_bad_section_tables() {
        let p = Path::new("x");
        let mut h = sample();
        h.sections[0].offset = 257;
        assert!(matches!(
            Header::decode(&h.encode(), 280, p),
            Err(MappedError::Corrupt { .. })
        ));
        let mut h = sample();
        h.sections[0].len = u64::MAX;
        assert!(matches!(
            Header::decode(&h.encode(), 280, p),
            Err(MappedError::Corrupt { .. })
        ));
        let mut h = sample();
        h.sections[1] = Section {
            offset: 256,
            len: 8,
            checksum: 0,
        };
        assert!(matches!(
            Header::decode(&h.encode(), 280, p),
            Err(MappedError::Corrupt { .. })
        ));
        let mut h = sample();
        h.sections[2] = Section {
            offset: 0,
            len: 0,
            checksum: 1,
        };
        assert!(matches!(
            Header::decode(&h.encode(), 280, p),
            Err(MappedError::Corrupt { .. })
        ));
        assert!(matches!(
            Header::decode(&sample().encode(), 281, p),
            Err(MappedError::LengthMismatch { .. })
        ));
        assert!(matches!(
            Header::decode(&[0; 10], 10, p),
            Err(MappedError::TooShort { .. })
        ));
    }

    #[test]
    fn mapped_span_is_bounds_checked() {
        let offs = [0u64, 2, 1, 9];
        assert_eq!(span(&offs, b"abcd", 0), Some(&b"ab"[..]));
        assert_eq!(span(&offs, b"abcd", 1), None);
        assert_eq!(span(&offs, b"abcd", 2), None);
        assert_eq!(span(&offs, b"abcd", 3), None);
        assert!(verify_offsets(&offs, Path::new("x"), "t").is_err());
    }
}
