//! Structured records of any [rkyv](https://docs.rs/rkyv/0.8)-archivable type, mapped from a file or an in-memory
//! image and read in place: [`ArchivedRecords<T>`] (a list) and [`ArchivedIdMap<K, T>`] (keys to one or many
//! records). Lookups return `&T::Archived` straight from the mapping: strings, vectors, maps, options, enums,
//! nested structs, byte buffers and fixed arrays are read without a copy or a deserialisation.
//!
//! # Layout
//! Both kinds reuse the sections of [`MappedRecords`](super::MappedRecords) and [`IdMap`] (see
//! their docs) with two changes:
//! - section 0 (`records`) holds one little-endian `u64` per record, the length `n` of its archive;
//! - the record's tail (sections 1 and 2) is the archive (`rkyv::to_bytes` of the value, its root object last), then
//!   zeros, then `n` again as a little-endian `u64` in the tail's last 8 bytes, the whole a multiple of
//!   [`RECORD_ALIGN`] (16) bytes: `round_up(n + 8, 16)`. The archive is the first `n` bytes of the tail. Lookups take
//!   `n` from the tail's end, next to the archive's root, which saves a cache miss; `verify` checks both copies.
//!
//! Since the tail blob starts at a multiple of 64 from the start of the file (or of the 64-byte-aligned image) and
//! every tail is a multiple of 16 bytes long, every archive starts 16-byte aligned, which rkyv needs for archived
//! types aligned up to 16 (all of rkyv's own types; a type aligned to more is rejected).
//!
//! The header records kind 6 (list) or 7 (id map); the type tag of `T::Archived` (`size_of`, `align_of`, and the
//! xxh3-64 of [`Archivable::TYPE_NAME`] as the schema); and, in bytes 232..248, the [`ArchiveFormat`]: the rkyv
//! major and minor version and the layout features that change archived bytes (endianness, pointer width,
//! alignment) plus the record alignment.
//!
//! # Validation
//! `open` stays O(1): it checks the header, the section table, the format and the type tag, nothing per record.
//! Then every lookup ([`get`](ArchivedRecords::get)) runs rkyv's bytecheck validation on the one record it returns
//! (cost proportional to that record), so a corrupt file gives [`MappedError::InvalidRecord`], never undefined
//! behaviour. [`verify`](ArchivedRecords::verify) (and `open_verified`) checks every checksum, the alignment and
//! padding of every archive and validates every record once; after it succeeds lookups skip the validation (the
//! file is immutable, see the [sharing contract](super#invariants-and-the-sharing-contract)).
//! [`get_unchecked`](ArchivedRecords::get_unchecked) skips it without a verification, behind `unsafe`.
//!
//! # Evolution
//! A file opened with another record type gives [`MappedError::WrongType`] (different name or archived size), and a
//! file written by a build with another rkyv version or layout gives [`MappedError::IncompatibleArchive`]. rkyv
//! itself does not describe types, so the name is the schema: put a version in [`Archivable::TYPE_NAME`] and change
//! it whenever a field changes.
//!
//! # sharedbuffers, point by point
//! Python's `sharedbuffers` maps typed objects (`mapped_struct` schemas) from buffers and files. What each of its
//! field kinds and structures becomes here (`docs/FORMATS.md` has the same table):
//!
//! | sharedbuffers | seqring |
//! | --- | --- |
//! | int8..int64, uint8..uint64, float32/float64 attributes | `i8`..`i64`, `u8`..`u64`, `f32`/`f64` fields (archived little-endian) |
//! | bool | `bool` |
//! | str (bytes or unicode) | `String` (read as `&str`) |
//! | bytes / buffer | `Vec<u8>` (read as `&[u8]`), or a fixed `[u8; N]` |
//! | list | `Vec<T>` of any supported `T` |
//! | tuple | Rust tuples and fixed arrays `[T; N]` (fixed length and element types, unlike Python's) |
//! | dict | `HashMap<K, V>` or `BTreeMap<K, V>` (archived maps with lookups in place) |
//! | set / frozenset | `HashSet<T>` or `BTreeSet<T>` |
//! | date / datetime | no calendar type in std: store `i64` microseconds or days since the epoch (as the example does), or a `chrono`/`jiff` type through rkyv's remote derives; `std::time::Duration` is supported |
//! | decimal | no decimal in std: a scaled integer (`i64` + exponent) or `rust_decimal` with its `rkyv` feature (not a dependency here) |
//! | numpy arrays | `Vec<f32>`, `Vec<i64>`, ... hold the items of a 1-D array; keep the shape in a field. For zero-copy views that numpy itself opens, use [`MappedArray`](super::MappedArray) |
//! | nested mapped objects | nested structs and enums, `Option<Box<T>>` for recursion |
//! | object-typed fields (any picklable value) | no dynamic typing: an `enum` of the alternatives, or `Vec<u8>` holding another encoding |
//! | `MappedArrayProxyBase` (mapped lists of objects) | [`ArchivedRecords<T>`] |
//! | id mappers over string keys | [`ArchivedIdMap<str, T>`](ArchivedIdMap) (exact), [`ArchivedIdMap<HashedStr, T>`](ArchivedIdMap) (hashes only) |
//! | id mappers over numeric keys (int32/int64/uint*) | [`ArchivedIdMap<u64, T>`](ArchivedIdMap) (widen the key to `u64`; negative keys `as u64`), or [`ByArchive<i32>`](super::ByArchive) etc. |
//! | id mappers over generic/object keys | [`ArchivedIdMap<ByArchive<K>, T>`](ArchivedIdMap): any rkyv key, hashed and compared through its archive |
//! | multi-maps | [`ArchivedIdMapBuilder::multi`] and [`ArchivedIdMap::get_all`] |
//! | approximate maps | [`HashedStr`](super::HashedStr) keys: only a 64-bit hash per key is stored |
//! | in-memory buffers as well as files | `build_in_memory` / `from_image` / `from_bytes` beside `build` / `open` |
//!
//! Not reproduced: sharedbuffers' `pack`-per-object Python API and its mutable "bytes views" — seqring files are
//! immutable once built; rebuild and rename to change them.

mod id_map;
mod records;
mod value;

pub use id_map::{ArchivedIdMap, ArchivedIdMapBuilder};
pub use records::{ArchivedRecords, ArchivedRecordsWriter};
pub use value::{array_len, ArchivedNode, ArchivedValue, Node, Value};

use super::header::{Header, MappedFile, EXT_LEN, FLAG_TAILS, MAX_SECTIONS};
use super::id_map::{AsKey, IdMap, IdMapBuilder, IndexKind, MapKey};
use super::open::sealed::{File, Sealed};
use super::records::{check_record_sections, records_of, tail_of, verify_record_sections, RecordSink};
use super::writer::{FileWriter, Target};
use super::{FileKind, Mapped, MappedError, TypeTag, Typed, MAX_ALIGN};
use rkyv::api::high::{HighSerializer, HighValidator};
use rkyv::bytecheck::CheckBytes;
use rkyv::rancor;
use rkyv::ser::allocator::ArenaHandle;
use rkyv::util::AlignedVec;
use rkyv::Archive;
use std::borrow::Borrow;
use std::fmt;
use std::marker::PhantomData;
use std::ops::Range;
use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::OnceLock;

/// Every archive starts at a multiple of this many bytes from the start of the file.
pub const RECORD_ALIGN: usize = 16;

/// The rkyv version this build writes and reads (major, minor). rkyv keeps its format within a minor version.
pub const RKYV_VERSION: (u8, u8) = (0, 8);

/// A type whose values are stored as rkyv archives in mapped files: it can be serialised with rkyv's high-level
/// serializer and its archived form can be validated with bytecheck. Derive `rkyv::Archive` and `rkyv::Serialize`
/// (rkyv's derive adds `CheckBytes`) and name the type with a version.
///
/// # Examples
/// ```
/// use seqring_mapped::Archivable;
///
/// #[derive(rkyv::Archive, rkyv::Serialize)]
/// struct Animal {
///     id: u32,
///     name: String,
///     weights_g: Vec<f32>,
/// }
/// impl Archivable for Animal {
///     const TYPE_NAME: &'static str = "myrig::Animal/v1";
/// }
/// ```
pub trait Archivable:
    Archive<Archived: for<'a> CheckBytes<HighValidator<'a, rancor::Error>>>
    + for<'a> rkyv::Serialize<HighSerializer<AlignedVec, ArenaHandle<'a>, rancor::Error>>
{
    /// The name recorded in files (its xxh3-64 is the tag's schema). Include a version and change it whenever the
    /// type's fields change.
    const TYPE_NAME: &'static str;
}

/// The [`TypeTag`] of archives of `T`: the size and alignment of `T::Archived`, and the xxh3-64 of its name.
///
/// # Examples
/// ```
/// use seqring_mapped::{archived_tag, Archivable};
/// #[derive(rkyv::Archive, rkyv::Serialize)]
/// struct Pulse { t_us: i64, volts: f32 }
/// impl Archivable for Pulse {
///     const TYPE_NAME: &'static str = "doc::Pulse/v1";
/// }
/// let tag = archived_tag::<Pulse>();
/// assert_eq!((tag.dtype, tag.size, tag.align), (None, 16, 8));
/// assert_eq!(tag.schema, xxhash_rust::xxh3::xxh3_64(b"doc::Pulse/v1"));
/// ```
pub const fn archived_tag<T: Archivable>() -> TypeTag {
    TypeTag {
        dtype: None,
        size: super::size_u32::<T::Archived>(),
        align: super::align_u16::<T::Archived>(),
        schema: xxhash_rust::const_xxh3::xxh3_64(T::TYPE_NAME.as_bytes()),
    }
}

/// The rkyv layout of the archives in a file: what must agree between the writer and the reader for archived bytes
/// to mean the same thing. Recorded in bytes 232..248 of the header (see `docs/FORMATS.md`).
///
/// # Examples
/// ```
/// use seqring_mapped::{ArchiveFormat, RECORD_ALIGN, RKYV_VERSION};
/// let f = ArchiveFormat::current();
/// assert_eq!((f.rkyv, f.record_align as usize), (RKYV_VERSION, RECORD_ALIGN));
/// assert_eq!(f.to_string(), "rkyv 0.8 (little-endian, 32-bit pointers, aligned, records aligned to 16)");
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct ArchiveFormat {
    /// rkyv's major and minor version.
    pub rkyv: (u8, u8),
    /// Archived integers and floats are big-endian (rkyv's `big_endian` feature) rather than little-endian.
    pub big_endian: bool,
    /// The width in bytes of rkyv's relative pointers and lengths (2, 4 or 8: features `pointer_width_*`).
    pub pointer_width: u8,
    /// Archived primitives keep their natural alignment (rkyv's default) rather than 1 (feature `unaligned`).
    pub aligned: bool,
    /// The alignment of every archive in the file, [`RECORD_ALIGN`].
    pub record_align: u8,
}

const FORMAT_MAGIC: [u8; 2] = *b"RK";

impl ArchiveFormat {
    /// The layout of the rkyv this build links, probed once: the endianness from the archive of a `u16`, the
    /// pointer width from `size_of` rkyv's archived `usize`, the alignment from `align_of` its archived `u32`.
    ///
    /// # Examples
    /// ```
    /// let f = seqring_mapped::ArchiveFormat::current();
    /// assert_eq!(f.rkyv, (0, 8));
    /// assert_eq!((f.big_endian, f.pointer_width, f.aligned), (false, 4, true)); // rkyv's defaults
    /// ```
    pub fn current() -> ArchiveFormat {
        static CURRENT: OnceLock<ArchiveFormat> = OnceLock::new();
        *CURRENT.get_or_init(|| {
            let probe = rkyv::to_bytes::<rancor::Error>(&0x0102u16)
                .map(|v| v.into_vec())
                .unwrap_or_default();
            ArchiveFormat {
                rkyv: RKYV_VERSION,
                big_endian: probe.first() == Some(&0x01),
                pointer_width: size_of::<rkyv::primitive::ArchivedUsize>() as u8,
                aligned: align_of::<rkyv::primitive::ArchivedU32>() > 1,
                record_align: RECORD_ALIGN as u8,
            }
        })
    }

    /// The 16 header bytes: `"RK"`, major, minor, endianness (1 little, 2 big), pointer width, alignment (1
    /// aligned, 2 unaligned), record alignment, then 8 zero bytes.
    pub(crate) fn encode(self) -> [u8; EXT_LEN] {
        let mut b = [0u8; EXT_LEN];
        b[0..2].copy_from_slice(&FORMAT_MAGIC);
        b[2] = self.rkyv.0;
        b[3] = self.rkyv.1;
        b[4] = if self.big_endian { 2 } else { 1 };
        b[5] = self.pointer_width;
        b[6] = if self.aligned { 1 } else { 2 };
        b[7] = self.record_align;
        b
    }

    /// Decodes the header bytes, or says what is wrong with them.
    pub(crate) fn decode(b: &[u8; EXT_LEN]) -> Result<ArchiveFormat, String> {
        if b[0..2] != FORMAT_MAGIC || b[8..].iter().any(|&x| x != 0) {
            return Err("header: the archive format is missing or has non-zero reserved bytes".into());
        }
        let flag = |v: u8, what: &str| match v {
            1 => Ok(false),
            2 => Ok(true),
            _ => Err(format!("header: unknown archive {what} code {v}")),
        };
        if !matches!(b[5], 2 | 4 | 8) || !b[7].is_power_of_two() {
            return Err(format!(
                "header: archive pointer width {} or record alignment {} is impossible",
                b[5], b[7]
            ));
        }
        Ok(ArchiveFormat {
            rkyv: (b[2], b[3]),
            big_endian: flag(b[4], "endianness")?,
            pointer_width: b[5],
            aligned: !flag(b[6], "alignment")?,
            record_align: b[7],
        })
    }
}

impl fmt::Display for ArchiveFormat {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "rkyv {}.{} ({}-endian, {}-bit pointers, {}, records aligned to {})",
            self.rkyv.0,
            self.rkyv.1,
            if self.big_endian { "big" } else { "little" },
            u32::from(self.pointer_width) * 8,
            if self.aligned { "aligned" } else { "unaligned" },
            self.record_align
        )
    }
}

/// The checks of `open` shared by both kinds: the archive format, then the type tag `tag`, which must describe
/// `T::Archived` (its size and alignment; [`archived_tag`] unless the caller names another schema).
fn check_format<T: Archivable>(file: &MappedFile, tag: TypeTag) -> Result<(), MappedError> {
    let path = file.path();
    let found = ArchiveFormat::decode(&file.header.ext).map_err(|what| MappedError::corrupt(path, what))?;
    let expected = ArchiveFormat::current();
    if found != expected {
        return Err(MappedError::IncompatibleArchive {
            path: path.to_owned(),
            expected,
            found,
        });
    }
    let own = archived_tag::<T>();
    if usize::from(own.align) > RECORD_ALIGN {
        return Err(MappedError::UnsupportedType {
            path: path.to_owned(),
            reason: format!("archived alignment {} is above {RECORD_ALIGN}", own.align),
        });
    }
    if (tag.size, tag.align) != (own.size, own.align) {
        return Err(MappedError::UnsupportedType {
            path: path.to_owned(),
            reason: format!(
                "the tag says size {} and alignment {}, but the archived type has size {} and alignment {}",
                tag.size, tag.align, own.size, own.align
            ),
        });
    }
    if file.header.tag != tag {
        return Err(MappedError::WrongType {
            path: path.to_owned(),
            expected: tag,
            found: file.header.tag,
        });
    }
    Ok(())
}

/// The archive of record `i` of `count`: the first `n` bytes of its tail, where `n` is the tail's last 8 bytes (so a
/// lookup reads the tail offsets and then one place, near the archive's root, which rkyv puts last). `None` if out
/// of range or if the length or offsets are corrupt.
#[inline]
fn archive_of(file: &MappedFile, i: usize, count: usize) -> Option<&[u8]> {
    let tail = tail_of(file, i, count)?;
    let (body, trailer) = tail.split_at_checked(tail.len().checked_sub(TRAILER)?)?;
    let n = usize::try_from(u64::from_le_bytes(trailer.try_into().ok()?)).ok()?;
    body.get(..n)
}

/// The bytes of the length stored at the end of every tail.
const TRAILER: usize = 8;

/// The length of the tail that holds an archive of `n` bytes: the archive, zeros, the length; a multiple of 16.
fn padded_len(n: usize) -> usize {
    (n + TRAILER).next_multiple_of(RECORD_ALIGN)
}

/// Validates record `i` with bytecheck.
#[inline]
fn checked<'a, T: Archivable>(file: &MappedFile, i: usize, bytes: &'a [u8]) -> Result<&'a T::Archived, MappedError> {
    rkyv::access::<T::Archived, rancor::Error>(bytes).map_err(|e| MappedError::InvalidRecord {
        path: file.path().to_owned(),
        index: i as u64,
        reason: e.to_string(),
    })
}

/// Record `i` without validation.
///
/// # Safety
/// `bytes` must be the archive of a valid `T::Archived`, as checked by [`checked`].
#[inline]
unsafe fn unchecked<T: Archivable>(bytes: &[u8]) -> &T::Archived {
    // SAFETY: the caller guarantees that `bytes` passed `rkyv::access::<T::Archived>` (or would): a valid
    // archived `T` whose root ends at the end of `bytes`, inside a buffer that stays alive and unchanged for the
    // returned lifetime (an immutable mapping or an owned image).
    unsafe { rkyv::access_unchecked::<T::Archived>(bytes) }
}

/// The O(n) checks of `verify` on the archives (after `verify_record_sections`): each tail is the archive,
/// zeros and its length, [`padded_len`] long; the length agrees with section 0; each archive validates.
fn verify_archives<T: Archivable>(file: &MappedFile, count: usize) -> Result<(), MappedError> {
    let path = file.path();
    for i in 0..count {
        let bad = |what: &str| MappedError::corrupt(path, format!("record {i}: {what}"));
        let tail = tail_of(file, i, count).ok_or_else(|| bad("tail out of range"))?;
        let archive = archive_of(file, i, count).ok_or_else(|| bad("archive length out of range"))?;
        let n = archive.len();
        if records_of::<u64>(file).get(i) != Some(&(n as u64))
            || tail.len() != padded_len(n)
            || tail[n..tail.len() - TRAILER].iter().any(|&b| b != 0)
        {
            return Err(bad("archive length, padding or alignment is wrong"));
        }
        checked::<T>(file, i, archive)?;
    }
    Ok(())
}

/// Serialises values into padded archives, reusing one buffer.
struct Encoder {
    buf: Option<AlignedVec>,
    count: u64,
}

impl Encoder {
    fn new() -> Encoder {
        Encoder {
            buf: Some(AlignedVec::new()),
            count: 0,
        }
    }

    /// The archive of `value` padded to [`RECORD_ALIGN`], and its unpadded length.
    fn encode<T: Archivable>(&mut self, value: &T, path: &Path) -> Result<(&[u8], u64), MappedError> {
        let mut buf = self.buf.take().unwrap_or_default();
        buf.clear();
        let mut buf =
            rkyv::api::high::to_bytes_in::<_, rancor::Error>(value, buf).map_err(|e| MappedError::Serialize {
                path: path.to_owned(),
                index: self.count,
                reason: e.to_string(),
            })?;
        let n = buf.len();
        buf.resize(padded_len(n) - TRAILER, 0);
        buf.extend_from_slice(&(n as u64).to_le_bytes());
        self.count += 1;
        Ok((self.buf.insert(buf), n as u64))
    }
}

/// Whether every record has been validated; set once by a successful `verify`.
#[derive(Debug, Default)]
struct Verified(AtomicBool);

impl Verified {
    #[inline]
    fn get(&self) -> bool {
        // Acquire pairs with the Release in `set`: a thread that sees `true` sees the end of that verification. The
        // mapped bytes themselves never change, so this ordering only makes the flag's meaning airtight.
        self.0.load(Ordering::Acquire)
    }

    fn set(&self) {
        self.0.store(true, Ordering::Release);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mapped_archive_format_round_trips_and_rejects_garbage() {
        let f = ArchiveFormat::current();
        assert_eq!(ArchiveFormat::decode(&f.encode()), Ok(f));
        let other = ArchiveFormat {
            big_endian: true,
            pointer_width: 8,
            aligned: false,
            ..f
        };
        assert_eq!(ArchiveFormat::decode(&other.encode()), Ok(other));
        assert!(ArchiveFormat::decode(&[0; EXT_LEN]).is_err());
        for at in [4, 5, 6, 7, 8, 15] {
            let mut b = f.encode();
            b[at] = 0x33;
            assert!(ArchiveFormat::decode(&b).is_err(), "byte {at}");
        }
        assert_eq!(
            f.to_string(),
            "rkyv 0.8 (little-endian, 32-bit pointers, aligned, records aligned to 16)"
        );
    }

    #[test]
    fn mapped_archived_structures_are_send_and_sync() {
        #[derive(rkyv::Archive, rkyv::Serialize)]
        struct Note(String);
        impl Archivable for Note {
            const TYPE_NAME: &'static str = "test::Note/v1";
        }
        fn shareable<T: Send + Sync>() {}
        shareable::<ArchivedRecords<Note>>();
        shareable::<ArchivedIdMap<str, Note>>();
        shareable::<ArchivedIdMap<super::super::ByArchive<(u8, String)>, Note>>();
    }

    #[test]
    fn mapped_archived_open_as_reads_a_renamed_type() {
        #[derive(rkyv::Archive, rkyv::Serialize)]
        struct Old(String);
        impl Archivable for Old {
            const TYPE_NAME: &'static str = "test::Old/v1";
        }
        #[derive(rkyv::Archive, rkyv::Serialize)]
        struct New(String);
        impl Archivable for New {
            const TYPE_NAME: &'static str = "test::New/v1";
        }
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("r");
        ArchivedRecords::<Old>::build([Old("a".into())], &p).unwrap();
        assert!(matches!(
            ArchivedRecords::<New>::open(&p),
            Err(MappedError::WrongType { .. })
        ));
        let r = ArchivedRecords::<New>::open_as(&p, archived_tag::<Old>()).unwrap();
        assert_eq!(r.get(0).unwrap().unwrap().0, "a");
        r.verify().unwrap();
        assert!(matches!(
            ArchivedRecords::<New>::open_as(&p, TypeTag::with_schema::<u64>(1)),
            Err(MappedError::UnsupportedType { .. })
        ));
        let m = ArchivedIdMap::<u64, Old>::build([(1u64, Old("b".into()))], dir.path().join("m")).unwrap();
        drop(m);
        let m = ArchivedIdMap::<u64, New>::open_as(dir.path().join("m"), archived_tag::<Old>()).unwrap();
        assert_eq!(m.get(&1).unwrap().unwrap().0, "b");
    }

    #[test]
    fn mapped_rkyv_version_matches_the_lock_file() {
        // RKYV_VERSION is written into files; it must follow the rkyv that is linked.
        let lock = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../../Cargo.lock")).unwrap();
        let version = lock
            .split("[[package]]")
            .find(|p| p.contains("name = \"rkyv\"\n"))
            .and_then(|p| p.lines().find_map(|l| l.strip_prefix("version = \"")))
            .unwrap();
        let mut parts = version
            .trim_end_matches('"')
            .split('.')
            .map(|p| p.parse::<u8>().unwrap());
        assert_eq!((parts.next().unwrap(), parts.next().unwrap()), RKYV_VERSION);
    }
}
