//! Zero-copy typed structures built once into files and mapped read-only by any number of processes (the
//! capability of Python's `sharedbuffers`).
//!
//! | structure | what it maps | lookup |
//! | --- | --- | --- |
//! | [`MappedArray<T>`] | a `&[T]` of [`Tagged`] plain-old-data elements | a slice index |
//! | [`MappedRows`] | the file of a [`MappedArray`] whose element type is known only at run time (a numpy dtype), as bytes | a slice index |
//! | [`MappedBytes`] / [`MappedStrs`] | variable-length byte strings / UTF-8 strings: an offsets table and a blob | two offset reads |
//! | [`MappedRecords<T>`] | fixed `T` records, each with an optional variable-length byte tail | a slice index |
//! | [`IdMap<K, T>`] | `u64`, string, hashed-string or [`ByArchive`] keys to one or many `T` records (with optional tails) | one index probe, one entry read, one record read |
//! | [`IdRows`] | the file of an [`IdMap`] whose record type is known only at run time, rows as bytes | as [`IdMap`] |
//! | [`ArchivedRecords<T>`] | records of any rkyv-archivable `T` (strings, vectors, maps, options, enums, nested structs), read in place as `&T::Archived` | an offset read, then rkyv's validation of that record (none once verified) |
//! | [`ArchivedIdMap<K, T>`] | the keys of [`IdMap`] to one or many archived `T` records | as [`IdMap`], then as [`ArchivedRecords`] |
//!
//! The archived structures can also be built into and read from an in-memory image (the same bytes as the file);
//! [`archived`] compares them point by point with Python's `sharedbuffers`.
//!
//! # Life cycle
//! Every structure is written by a streaming writer (or a one-call `build(iter, path)`) into a temporary file in
//! the destination directory. The writer computes the checksums as it goes, writes the header last, `fsync`s the
//! file and renames it over `path`, then `fsync`s the directory. A reader therefore sees either no file, the old
//! file or the complete new file, never a partial one; a dropped or failed writer leaves nothing behind.
//!
//! # Opening: the [`Mapped`] trait
//! Reading is the same for every structure, so it is written once, in the sealed trait [`Mapped`]:
//! [`open`](Mapped::open) (O(1) checks), [`verify`](Mapped::verify) (one pass over the file),
//! [`open_verified`](Mapped::open_verified), [`open_as`](Mapped::open_as) (an explicit [`TypeTag`], for `Pod` types
//! of other crates), and [`from_image`](Mapped::from_image) / [`from_bytes`](Mapped::from_bytes) for a file's bytes
//! held in memory. Bring it into scope with `use seqring_mapped::Mapped;`. [`Typed`] marks the structures whose
//! element type names its own tag, and is the bound for generic code. Writing differs per structure (elements,
//! tails, keys, values to serialise), so `build`, `writer` and `builder` stay inherent.
//!
//! ```
//! use seqring_mapped::{Mapped, MappedArray};
//! let dir = tempfile::tempdir()?;
//! let path = dir.path().join("a.map");
//! MappedArray::<u32>::build(0..10u32, &path)?;
//! let a = MappedArray::<u32>::open_verified(&path)?;
//! assert_eq!((a.len(), a.path()), (10, path.as_path()));
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! # Invariants and the sharing contract
//! **A mapped file is immutable once it has been renamed into place.** Writers only ever create new files (temp +
//! rename); nothing in seqring modifies a finished file in place. Readers map the file read-only and shared, so any
//! number of threads and processes can read one file at once without any coordination, and an open map keeps
//! reading the old contents after a writer has renamed a new version over the path (the old inode stays alive
//! while it is mapped). Re-open to see the new version.
//!
//! Another program that truncates or rewrites a mapped file in place breaks this contract. Rust cannot defend a
//! mapping against that: values read afterwards may change under the reader and a truncation turns reads of the
//! lost pages into `SIGBUS`. This is why mapping is `unsafe` in `memmap2`, and why seqring's maps rely on the
//! contract above. Never edit these files in place; rebuild them.
//!
//! # Validation and checksums
//! `open` is O(1) in the size of the file, so that opening a 1 GiB file and making the first lookup takes
//! microseconds. It checks, before touching anything else:
//! - the magic, the format version and the xxh3-64 checksum of the 256-byte header (which holds the section table);
//! - that the file length equals the length recorded in the header;
//! - the structure kind and the [`TypeTag`] (dtype or schema, size and alignment) against the requested `T`;
//! - that every section lies inside the file, is 64-byte aligned, does not overlap another, and has exactly the
//!   length that the counts in the header imply; the first and last entries of offsets tables.
//!
//! The bulk sections (elements, records, offsets, index, blobs) carry their own xxh3-64 checksums, which
//! `verify()` checks in one pass over the file together with the structural invariants that need a full scan
//! (monotonic offsets, UTF-8, index entries in range) and that the padding between sections, which no checksum
//! covers, is zero: after `verify`, no byte of the file goes unchecked. `open_verified` is `open` followed by `verify`. Until a
//! file is verified, a corrupted body can make a lookup return a wrong value or `None`, but never panic, read out
//! of bounds or cause undefined behaviour: every offset read from the file is bounds-checked before use, and every
//! element type is [`bytemuck::Pod`], so any bytes are a valid value. Archived records are not `Pod`: there each
//! lookup runs rkyv's validation on the record it returns until the file is verified (see [`archived`]).
//!
//! # Alignment rules
//! - The mapping starts on a page boundary and every section starts at a multiple of 64 bytes from the start of
//!   the file, so a section of `T` is aligned for any `T` with `align_of::<T>() <= 64`.
//! - Types with an alignment above 64 or a size of 0 are rejected by writers and by `open` with
//!   [`MappedError::UnsupportedType`].
//! - Elements follow each other with no padding (the stride is `size_of::<T>()`, which Rust makes a multiple of the
//!   alignment), exactly like a C array or a numpy array of the same dtype.
//! - Offsets tables and index words are little-endian `u64` (or `u32`/`u16` where the format says so), aligned to
//!   their size.
//!
//! The exact byte layout is documented in `docs/FORMATS.md` ("Mapped files") and in [`header`]. A
//! [`MappedArray`] of a numpy element type is readable by numpy without copying:
//! `np.memmap(path, dtype, mode='r', offset=256, shape=(count,))` (section 0 of an array always starts at 256).
//!
//! # Examples
//! ```
//! use seqring_mapped::{IdMap, MappedArray};
//! let dir = tempfile::tempdir()?;
//! let squares = MappedArray::<u64>::build((0..1000u64).map(|i| i * i), dir.path().join("squares.map"))?;
//! assert_eq!(squares[12], 144);
//!
//! let by_id = IdMap::<u64, [f32; 2]>::build([(7, [1.0, 2.0]), (3, [3.0, 4.0])], dir.path().join("ids.map"))?;
//! assert_eq!(by_id.get(&3), Some(&[3.0, 4.0]));
//! assert_eq!(by_id.get(&4), None);
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

pub mod archived;
pub mod array;
pub mod bytes;
pub mod header;
pub mod id_map;
mod open;
pub mod records;
pub mod rows;
mod writer;

pub use archived::{
    archived_tag, Archivable, ArchiveFormat, ArchivedIdMap, ArchivedIdMapBuilder, ArchivedNode, ArchivedRecords,
    ArchivedRecordsWriter, ArchivedValue, Node, Value, RECORD_ALIGN, RKYV_VERSION,
};
pub use array::{ArrayWriter, MappedArray};
pub use bytes::{BytesWriter, MappedBytes, MappedStrs, StrsWriter};
pub use header::{inspect, reseal, MappedInfo, MEMORY_LABEL};
pub use id_map::{AsKey, ByArchive, HashedStr, IdMap, IdMapBuilder, IdRows, IdRowsBuilder, IndexKind, MapKey};
pub use open::{Mapped, Typed};
pub use records::{MappedRecords, RecordsWriter};
pub use rows::MappedRows;

use seqring_core::{DType, Element};
use std::fmt;
use std::io;
use std::path::{Path, PathBuf};

/// The largest element alignment a mapped section guarantees (sections start at multiples of this).
pub const MAX_ALIGN: usize = 64;

/// What a mapped file holds, as recorded in its header.
///
/// # Examples
/// ```
/// use seqring_mapped::{inspect, FileKind, MappedStrs};
/// let dir = tempfile::tempdir()?;
/// MappedStrs::build(["a"], dir.path().join("s.map"))?;
/// let kind = inspect(dir.path().join("s.map"))?.kind;
/// assert_eq!(kind, FileKind::Strs);
/// assert_eq!(kind.to_string(), "mapped string list");
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum FileKind {
    /// A [`MappedArray`].
    Array,
    /// A [`MappedBytes`].
    Bytes,
    /// A [`MappedStrs`] (also readable as [`MappedBytes`]).
    Strs,
    /// A [`MappedRecords`].
    Records,
    /// An [`IdMap`].
    IdMap,
    /// An [`ArchivedRecords`]: rkyv archives of any structured type.
    ArchivedRecords,
    /// An [`ArchivedIdMap`]: keys to rkyv archives.
    ArchivedIdMap,
}

impl FileKind {
    /// The code stored in the header; never renumber.
    ///
    /// # Examples
    /// ```
    /// use seqring_mapped::FileKind;
    /// assert_eq!(FileKind::Array.code(), 1);
    /// assert_eq!(FileKind::ArchivedIdMap.code(), 7);
    /// ```
    pub const fn code(self) -> u16 {
        match self {
            FileKind::Array => 1,
            FileKind::Bytes => 2,
            FileKind::Strs => 3,
            FileKind::Records => 4,
            FileKind::IdMap => 5,
            FileKind::ArchivedRecords => 6,
            FileKind::ArchivedIdMap => 7,
        }
    }

    /// The kind with this header code, if any.
    ///
    /// # Examples
    /// ```
    /// use seqring_mapped::FileKind;
    /// assert_eq!(FileKind::from_code(5), Some(FileKind::IdMap));
    /// assert_eq!(FileKind::from_code(0), None);
    /// ```
    pub const fn from_code(code: u16) -> Option<FileKind> {
        Some(match code {
            1 => FileKind::Array,
            2 => FileKind::Bytes,
            3 => FileKind::Strs,
            4 => FileKind::Records,
            5 => FileKind::IdMap,
            6 => FileKind::ArchivedRecords,
            7 => FileKind::ArchivedIdMap,
            _ => return None,
        })
    }

    /// Whether the records are rkyv archives (the header then carries an [`ArchiveFormat`]).
    ///
    /// # Examples
    /// ```
    /// use seqring_mapped::FileKind;
    /// assert!(FileKind::ArchivedRecords.is_archived());
    /// assert!(!FileKind::Records.is_archived());
    /// ```
    pub const fn is_archived(self) -> bool {
        matches!(self, FileKind::ArchivedRecords | FileKind::ArchivedIdMap)
    }
}

impl fmt::Display for FileKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            FileKind::Array => "mapped array",
            FileKind::Bytes => "mapped bytes list",
            FileKind::Strs => "mapped string list",
            FileKind::Records => "mapped record list",
            FileKind::IdMap => "id map",
            FileKind::ArchivedRecords => "archived record list",
            FileKind::ArchivedIdMap => "archived id map",
        })
    }
}

/// The type of the elements or records in a mapped file, recorded in its header and checked by `open`.
///
/// - For numpy element types ([`Element`]) the tag is the dtype, with `schema == 0`.
/// - For any other `Pod` record type the tag is its size, its alignment and a caller-chosen 64-bit `schema`, usually
///   the xxh3-64 of a type name with a version ([`TypeTag::record`]), so that a file of `CalibrationV1` records does
///   not open as `CalibrationV2` even if the sizes agree.
/// - For arrays `[T; N]` the tag keeps the dtype of `T` and derives the schema from `T`'s schema and `N`.
///
/// Two tags match when all four fields are equal.
///
/// # Examples
/// ```
/// use seqring_mapped::{Tagged, TypeTag};
/// use seqring_core::DType;
///
/// #[derive(Clone, Copy, bytemuck::Pod, bytemuck::Zeroable)]
/// #[repr(C)]
/// struct Sample { t: f64, x: f32, y: f32 }
/// impl Tagged for Sample {
///     const TAG: TypeTag = TypeTag::record::<Sample>("myrig::Sample/v1");
/// }
/// assert_eq!(Sample::TAG.size, 16);
/// assert_eq!(f64::TAG.dtype, Some(DType::F64));
/// assert_ne!(<[f64; 2]>::TAG, Sample::TAG);
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct TypeTag {
    /// The numpy dtype of the elements (or of the items of an array element), if there is one.
    pub dtype: Option<DType>,
    /// `size_of` the type in bytes.
    pub size: u32,
    /// `align_of` the type in bytes.
    pub align: u16,
    /// 0 for plain dtypes; otherwise a hash that names the record layout.
    pub schema: u64,
}

impl TypeTag {
    /// The tag of a numpy element type: its dtype, size and alignment, schema 0.
    ///
    /// # Examples
    /// ```
    /// use seqring_mapped::TypeTag;
    /// use seqring_core::DType;
    /// let t = TypeTag::element::<i16>();
    /// assert_eq!((t.dtype, t.size, t.align, t.schema), (Some(DType::I16), 2, 2, 0));
    /// assert_eq!(t.to_string(), "dtype '<i2' (2 bytes, align 2)");
    /// ```
    pub const fn element<T: Element>() -> TypeTag {
        TypeTag {
            dtype: Some(T::DTYPE),
            size: size_u32::<T>(),
            align: align_u16::<T>(),
            schema: 0,
        }
    }

    /// The tag of a record type `T` named `name`: the schema is the xxh3-64 of the name's UTF-8 bytes. Put a version
    /// in the name and change it whenever the layout changes.
    ///
    /// # Examples
    /// ```
    /// use seqring_mapped::TypeTag;
    /// const V1: TypeTag = TypeTag::record::<[u32; 2]>("myrig::Window/v1");
    /// const V2: TypeTag = TypeTag::record::<[u32; 2]>("myrig::Window/v2");
    /// assert_ne!(V1, V2); // same layout, another version: a file of one does not open as the other
    /// assert_eq!((V1.dtype, V1.size), (None, 8));
    /// assert_eq!(V1.schema, xxhash_rust::xxh3::xxh3_64(b"myrig::Window/v1"));
    /// ```
    pub const fn record<T: bytemuck::Pod>(name: &str) -> TypeTag {
        TypeTag {
            dtype: None,
            size: size_u32::<T>(),
            align: align_u16::<T>(),
            schema: xxhash_rust::const_xxh3::xxh3_64(name.as_bytes()),
        }
    }

    /// The tag of a record type known only at run time (a numpy structured dtype from Python, say) by its `size`,
    /// `align`ment and `name`: the tag [`record`](Self::record) gives a Rust type of that layout named `name`.
    ///
    /// # Examples
    /// ```
    /// use seqring_mapped::TypeTag;
    /// #[derive(Clone, Copy, bytemuck::Pod, bytemuck::Zeroable)]
    /// #[repr(C)]
    /// struct Sample { t: u64, x: f32, y: f32 }
    /// let name = "[('t', '<u8'), ('x', '<f4'), ('y', '<f4')]";
    /// assert_eq!(TypeTag::record_layout(name, 16, 8), TypeTag::record::<Sample>(name));
    /// ```
    pub const fn record_layout(name: &str, size: u32, align: u16) -> TypeTag {
        TypeTag {
            dtype: None,
            size,
            align,
            schema: xxhash_rust::const_xxh3::xxh3_64(name.as_bytes()),
        }
    }

    /// The tag of a record type `T` with an explicit 64-bit schema.
    ///
    /// # Examples
    /// ```
    /// use seqring_mapped::TypeTag;
    /// let t = TypeTag::with_schema::<u64>(42);
    /// assert_eq!((t.dtype, t.size, t.schema), (None, 8, 42));
    /// ```
    pub const fn with_schema<T: bytemuck::Pod>(schema: u64) -> TypeTag {
        TypeTag {
            dtype: None,
            size: size_u32::<T>(),
            align: align_u16::<T>(),
            schema,
        }
    }

    /// The tag of `[inner; n]`: the dtype of `inner`, size `n` times larger, schema derived from `inner` and `n`.
    ///
    /// # Examples
    /// ```
    /// use seqring_mapped::{Tagged, TypeTag};
    /// let t = TypeTag::array_of(f32::TAG, 3);
    /// assert_eq!(t, <[f32; 3]>::TAG);
    /// assert_eq!((t.dtype, t.size, t.align), (f32::TAG.dtype, 12, 4));
    /// assert_ne!(t, TypeTag::array_of(f32::TAG, 4));
    /// ```
    pub const fn array_of(inner: TypeTag, n: usize) -> TypeTag {
        let mut buf = [0u8; 24];
        let a = inner.schema.to_le_bytes();
        let b = (n as u64).to_le_bytes();
        let mut i = 0;
        while i < 8 {
            buf[i] = a[i];
            buf[8 + i] = b[i];
            i += 1;
        }
        buf[16] = match inner.dtype {
            Some(d) => d.code(),
            None => 0,
        };
        buf[17] = b'['; // domain separation from names
        TypeTag {
            dtype: inner.dtype,
            size: inner.size.wrapping_mul(n as u32),
            align: inner.align,
            schema: xxhash_rust::const_xxh3::xxh3_64(&buf),
        }
    }

    /// Checks that the tag describes `T` and that `T` can be mapped (size > 0, alignment ≤ [`MAX_ALIGN`]).
    pub(crate) fn check_type<T>(&self, path: &Path) -> Result<(), MappedError> {
        let (size, align) = (core::mem::size_of::<T>(), core::mem::align_of::<T>());
        if size == 0 || align > MAX_ALIGN || u32::try_from(size).is_err() {
            return Err(MappedError::UnsupportedType {
                path: path.to_owned(),
                reason: format!("size {size} and alignment {align}: need 0 < size < 4 GiB and alignment <= 64"),
            });
        }
        if self.size as usize != size || self.align as usize != align {
            return Err(MappedError::UnsupportedType {
                path: path.to_owned(),
                reason: format!(
                    "the tag says size {} and alignment {}, but the Rust type has size {size} and alignment {align}",
                    self.size, self.align
                ),
            });
        }
        Ok(())
    }
}

const fn size_u32<T>() -> u32 {
    let s = core::mem::size_of::<T>();
    if s > u32::MAX as usize {
        u32::MAX // rejected by `check_type`
    } else {
        s as u32
    }
}

const fn align_u16<T>() -> u16 {
    let a = core::mem::align_of::<T>();
    if a > u16::MAX as usize {
        u16::MAX // rejected by `check_type`
    } else {
        a as u16
    }
}

impl fmt::Display for TypeTag {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match (self.dtype, self.schema) {
            (Some(d), 0) => write!(f, "dtype '{}'", d.descr())?,
            (Some(d), s) => write!(f, "dtype '{}' schema {s:#018x}", d.descr())?,
            (None, s) => write!(f, "record schema {s:#018x}")?,
        }
        write!(f, " ({} bytes, align {})", self.size, self.align)
    }
}

/// A plain-old-data type with a [`TypeTag`], which mapped files record and check.
///
/// Implemented for every numpy element type of [`seqring_core::dtype`] (tag: its dtype) and for arrays of tagged
/// types. Implement it for your own `#[repr(C)]` `Pod` records with [`TypeTag::record`]. For `Pod` types of other
/// crates, which the orphan rule keeps from implementing it, every structure has `*_as` constructors that take the
/// tag as an argument ([`MappedArray::open_as`], [`MappedRecords::writer_as`], [`IdMap::builder_as`], ...). The trait is safe: a wrong
/// tag can make a file open as the wrong type, which gives wrong values but never undefined behaviour, because any
/// bytes are a valid `Pod` value and `open` always checks the real size and alignment of `T`.
///
/// # Examples
/// ```
/// use seqring_mapped::{Mapped, MappedArray, MappedError, Tagged, TypeTag};
/// #[derive(Clone, Copy, Debug, PartialEq, bytemuck::Pod, bytemuck::Zeroable)]
/// #[repr(C)]
/// struct Lick { t_us: u64, port: u32, _pad: u32 }
/// impl Tagged for Lick {
///     const TAG: TypeTag = TypeTag::record::<Lick>("myrig::Lick/v1");
/// }
/// let dir = tempfile::tempdir()?;
/// let path = dir.path().join("licks.map");
/// MappedArray::<Lick>::build([Lick { t_us: 5, port: 1, _pad: 0 }], &path)?;
/// assert_eq!(MappedArray::<Lick>::open(&path)?[0].port, 1);
/// // the same bytes as another type are refused
/// assert!(matches!(MappedArray::<[u64; 2]>::open(&path), Err(MappedError::WrongType { .. })));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub trait Tagged: bytemuck::Pod {
    /// The tag stored in and checked against mapped files.
    const TAG: TypeTag;
}

macro_rules! tagged_elements {
    ($($t:ty),* $(,)?) => {$(
        impl Tagged for $t {
            const TAG: TypeTag = TypeTag::element::<$t>();
        }
    )*};
}

tagged_elements!(
    seqring_core::dtype::Bool,
    i8,
    i16,
    i32,
    i64,
    u8,
    u16,
    u32,
    u64,
    f32,
    f64,
    num_complex::Complex<f32>,
    num_complex::Complex<f64>,
);

impl<T: Tagged, const N: usize> Tagged for [T; N] {
    const TAG: TypeTag = TypeTag::array_of(T::TAG, N);
}

/// Errors of the mapped structures. Each names the file it is about.
///
/// # Examples
/// ```
/// use seqring_mapped::{Mapped, MappedArray, MappedError};
/// let dir = tempfile::tempdir()?;
/// let path = dir.path().join("a.map");
/// std::fs::write(&path, b"too short")?;
/// let e = MappedArray::<u8>::open(&path).unwrap_err();
/// assert!(matches!(e, MappedError::TooShort { len: 9, need: 256, .. }));
/// assert!(e.to_string().starts_with(&path.display().to_string())); // every error names its file
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum MappedError {
    /// An I/O error while creating, writing, renaming, opening or mapping the file.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The underlying error.
        #[source]
        source: io::Error,
    },
    /// The file is shorter than the fixed header.
    #[error("{path}: truncated: {len} bytes is shorter than the {need}-byte mapped-file header")]
    TooShort {
        /// The file.
        path: PathBuf,
        /// Its length.
        len: u64,
        /// The header length.
        need: u64,
    },
    /// The file does not start with the mapped-file magic.
    #[error("{path}: not a seqring mapped file (bad magic)")]
    BadMagic {
        /// The file.
        path: PathBuf,
    },
    /// The format version is not one this build reads.
    #[error("{path}: mapped-file format version {found} is not supported (this build reads version {supported})")]
    UnsupportedVersion {
        /// The file.
        path: PathBuf,
        /// The version in the file.
        found: u16,
        /// The version this build reads.
        supported: u16,
    },
    /// The header's checksum does not match its bytes.
    #[error("{path}: header checksum mismatch (stored {stored:#018x}, computed {computed:#018x})")]
    HeaderChecksum {
        /// The file.
        path: PathBuf,
        /// The checksum in the file.
        stored: u64,
        /// The checksum of the bytes.
        computed: u64,
    },
    /// The file's length differs from the one its header records (truncated or appended to).
    #[error("{path}: the header records {expected} bytes but the file has {actual} (truncated or modified)")]
    LengthMismatch {
        /// The file.
        path: PathBuf,
        /// The length in the header.
        expected: u64,
        /// The real length.
        actual: u64,
    },
    /// The file holds another kind of structure.
    #[error("{path}: holds a {found}, not a {expected}")]
    WrongKind {
        /// The file.
        path: PathBuf,
        /// The kind asked for.
        expected: FileKind,
        /// The kind in the file.
        found: FileKind,
    },
    /// The file's element or record type differs from the requested one.
    #[error("{path}: elements are {found}, not {expected}")]
    WrongType {
        /// The file.
        path: PathBuf,
        /// The requested type.
        expected: TypeTag,
        /// The type in the file.
        found: TypeTag,
    },
    /// The key type or map kind of an [`IdMap`] file differs from the requested one.
    #[error("{path}: id map with {found} keys, not {expected} keys")]
    WrongKeys {
        /// The file.
        path: PathBuf,
        /// The requested key kind.
        expected: &'static str,
        /// The key kind in the file.
        found: &'static str,
    },
    /// A type that cannot be mapped (size 0, alignment above 64) or whose tag disagrees with its layout.
    #[error("{path}: unsupported element type: {reason}")]
    UnsupportedType {
        /// The file.
        path: PathBuf,
        /// Why.
        reason: String,
    },
    /// The header or the structure is inconsistent (a section out of bounds, counts that disagree, an offset out
    /// of range, ...).
    #[error("{path}: corrupt {what}")]
    Corrupt {
        /// The file.
        path: PathBuf,
        /// What is wrong.
        what: String,
    },
    /// A section's contents do not match its checksum (found by `verify`).
    #[error("{path}: section '{section}' checksum mismatch: the file is corrupted")]
    SectionChecksum {
        /// The file.
        path: PathBuf,
        /// The section.
        section: &'static str,
    },
    /// A key was given twice to a map that is not a multi-map.
    #[error("{path}: duplicate key {key} in a map that is not a multi-map")]
    DuplicateKey {
        /// The file being built.
        path: PathBuf,
        /// The key (for an approximate map, its hash).
        key: String,
    },
    /// The file's rkyv archives were written with a layout this build cannot read (another rkyv major/minor
    /// version, endianness, pointer width or alignment).
    #[error("{path}: rkyv archives written as {found}, but this build reads {expected}")]
    IncompatibleArchive {
        /// The file.
        path: PathBuf,
        /// The layout of this build.
        expected: ArchiveFormat,
        /// The layout in the file.
        found: ArchiveFormat,
    },
    /// A record is not a valid rkyv archive of the requested type (bytecheck validation failed).
    #[error("{path}: record {index} is not a valid archive: {reason}")]
    InvalidRecord {
        /// The file.
        path: PathBuf,
        /// The record's position in the file.
        index: u64,
        /// What rkyv's validation reported.
        reason: String,
    },
    /// rkyv failed to serialise a value while building.
    #[error("{path}: cannot serialise record {index}: {reason}")]
    Serialize {
        /// The file being built.
        path: PathBuf,
        /// The position of the value.
        index: u64,
        /// What rkyv reported.
        reason: String,
    },
    /// A structure too large for this platform or format (a count or offset overflowed).
    #[error("{path}: too large: {what}")]
    TooLarge {
        /// The file.
        path: PathBuf,
        /// What overflowed.
        what: &'static str,
    },
}

impl MappedError {
    pub(crate) fn io(path: &Path) -> impl FnOnce(io::Error) -> MappedError + '_ {
        move |source| MappedError::Io {
            path: path.to_owned(),
            source,
        }
    }

    pub(crate) fn corrupt(path: &Path, what: impl Into<String>) -> MappedError {
        MappedError::Corrupt {
            path: path.to_owned(),
            what: what.into(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mapped_tags_distinguish_types() {
        #[derive(Clone, Copy, bytemuck::Pod, bytemuck::Zeroable)]
        #[repr(C)]
        struct A(u64);
        let a = TypeTag::record::<A>("A/v1");
        let b = TypeTag::record::<A>("A/v2");
        assert_ne!(a, b);
        assert_eq!(a.size, 8);
        assert_eq!(u64::TAG.dtype, Some(DType::U64));
        assert_eq!(u64::TAG.schema, 0);
        assert_ne!(u64::TAG, i64::TAG);
        assert_ne!(<[u64; 1]>::TAG, u64::TAG);
        assert_ne!(<[u8; 32]>::TAG, <[u16; 16]>::TAG);
        assert_eq!(<[u8; 32]>::TAG.size, 32);
        assert_eq!(<[[f32; 2]; 3]>::TAG.dtype, Some(DType::F32));
        // The schema of a name is the xxh3-64 of its bytes (docs/FORMATS.md).
        assert_eq!(a.schema, xxhash_rust::xxh3::xxh3_64(b"A/v1"));
    }

    #[test]
    fn mapped_structures_are_send_and_sync() {
        fn shareable<T: Send + Sync>() {}
        shareable::<MappedArray<u64>>();
        shareable::<MappedBytes>();
        shareable::<MappedStrs>();
        shareable::<MappedRecords<[u8; 3]>>();
        shareable::<IdMap<u64, f32>>();
        shareable::<IdMap<str, f32>>();
        shareable::<IdMap<HashedStr, f32>>();
    }

    #[test]
    fn mapped_file_kind_codes_round_trip() {
        for k in [
            FileKind::Array,
            FileKind::Bytes,
            FileKind::Strs,
            FileKind::Records,
            FileKind::IdMap,
            FileKind::ArchivedRecords,
            FileKind::ArchivedIdMap,
        ] {
            assert_eq!(FileKind::from_code(k.code()), Some(k));
        }
        assert_eq!(FileKind::from_code(0), None);
        assert_eq!(FileKind::from_code(8), None);
    }

    #[test]
    fn mapped_check_type_rejects_mismatch() {
        let p = Path::new("x");
        assert!(u64::TAG.check_type::<u64>(p).is_ok());
        assert!(matches!(
            u32::TAG.check_type::<u64>(p),
            Err(MappedError::UnsupportedType { .. })
        ));
        assert!(matches!(
            <()>::default_tag().check_type::<()>(p),
            Err(MappedError::UnsupportedType { .. })
        ));
    }

    trait DefaultTag {
        fn default_tag() -> TypeTag;
    }
    impl DefaultTag for () {
        fn default_tag() -> TypeTag {
            TypeTag::with_schema::<()>(1)
        }
    }
}
