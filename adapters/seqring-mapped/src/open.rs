//! The read side that every mapped structure shares, written once: [`Mapped`] (open, verify) and [`Typed`] (the
//! structures whose element type names its own tag).

use super::header::MappedFile;
use super::{MappedError, TypeTag, MAX_ALIGN};
use rkyv::util::AlignedVec;
use std::path::Path;

pub(crate) mod sealed {
    use super::super::FileKind;
    use super::*;

    /// A mapped file or image whose header and kind have been checked, handed to [`Sealed::from_file`]. Public in
    /// a private module, so nothing outside the crate can name it.
    pub struct File(pub(crate) MappedFile);

    /// The per-structure part of opening: which kinds it reads and its O(1) structural checks. Sealed: only the
    /// structures of this crate implement [`Mapped`](super::Mapped).
    pub trait Sealed: Sized {
        /// The file kinds the structure opens (the first is the one it writes).
        const KINDS: &'static [FileKind];

        /// The structure's O(1) checks on `file` (of one of [`KINDS`](Self::KINDS)), whose type tag must be `tag`.
        fn from_file(file: File, tag: TypeTag) -> Result<Self, MappedError>;
    }
}

/// The read side of every mapped structure: open a file (or an in-memory image) with O(1) checks, verify it in one
/// pass, or both at once.
///
/// Implemented by [`MappedArray`](super::MappedArray), [`MappedRecords`](super::MappedRecords),
/// [`MappedBytes`](super::MappedBytes), [`MappedStrs`](super::MappedStrs), [`IdMap`](super::IdMap),
/// [`ArchivedRecords`](super::ArchivedRecords) and [`ArchivedIdMap`](super::ArchivedIdMap); sealed (each structure
/// supplies its own structural checks through a crate-private hook).
///
/// # Design
/// The opening logic (map the file, check the header and kind, check the type tag, check the structure; then
/// optionally `verify`) is the same for every structure; only the structural checks and [`verify`](Self::verify)
/// differ. So the structures implement those two (plus [`path`](Self::path)) and this trait provides the rest
/// once:
/// - [`open_as`](Self::open_as) takes the expected [`TypeTag`] as an argument and works for every element type,
///   including `Pod` types of other crates, which the orphan rule keeps from implementing [`Tagged`](super::Tagged);
/// - [`open`](Self::open), [`open_verified`](Self::open_verified), [`from_image`](Self::from_image) and
///   [`from_bytes`](Self::from_bytes) take the tag from the type itself and exist when the structure is [`Typed`]
///   (its element type is [`Tagged`](super::Tagged) or [`Archivable`](super::Archivable), or it is a byte or string
///   list), so `MappedArray::<glam::Vec3>::open` does not compile while `open_as` does.
///
/// The methods live on the trait only, with no inherent copies: one `use seqring_mapped::Mapped;` (as with
/// `std::io::Read`) brings all of them, the docs show each once, and generic code (`fn load<M: Typed>(path)`) needs
/// no per-structure glue. Writers stay inherent (`build`, `writer`, `builder` and their `_as` forms), because what
/// they take differs per structure (elements, tails, keys, values to serialise).
///
/// # Examples
/// ```
/// use seqring_mapped::{Mapped, MappedArray, MappedStrs, Typed};
/// let dir = tempfile::tempdir()?;
/// let path = dir.path().join("names.map");
/// MappedStrs::build(["cue", "lick"], &path)?;
///
/// // any structure, opened and verified the same way
/// fn count<M: Typed>(path: &std::path::Path, len: impl Fn(&M) -> usize) -> Result<usize, seqring_mapped::MappedError> {
///     Ok(len(&M::open_verified(path)?))
/// }
/// assert_eq!(count::<MappedStrs>(&path, MappedStrs::len)?, 2);
/// assert!(count::<MappedArray<u8>>(&path, |a| a.len()).is_err()); // a string list, not an array
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub trait Mapped: sealed::Sealed {
    /// Maps the file at `path` read-only after checking its header, length, kind and structure, and that it records
    /// the type tag `tag` (which must also describe the structure's element type). O(1) in the size of the file;
    /// see the [crate docs](crate#validation-and-checksums) for what is checked now and what
    /// [`verify`](Self::verify) checks.
    ///
    /// # Errors
    /// [`MappedError::Io`], [`MappedError::TooShort`], [`MappedError::BadMagic`],
    /// [`MappedError::UnsupportedVersion`], [`MappedError::HeaderChecksum`], [`MappedError::LengthMismatch`],
    /// [`MappedError::WrongKind`], [`MappedError::WrongType`], [`MappedError::UnsupportedType`],
    /// [`MappedError::Corrupt`] or [`MappedError::TooLarge`]; for id maps also [`MappedError::WrongKeys`], for
    /// archived structures [`MappedError::IncompatibleArchive`].
    ///
    /// For archived structures the tag is [`archived_tag`](super::archived_tag) of `T` unless a file was written
    /// under another [`Archivable::TYPE_NAME`](super::Archivable::TYPE_NAME) of the same layout (a renamed type):
    /// `open_as` with that name's tag reads it, and each record is still validated by rkyv.
    ///
    /// # Examples
    /// ```
    /// use seqring_mapped::{Mapped, MappedArray, MappedError, TypeTag};
    ///
    /// // a `Pod` type of another crate cannot implement `Tagged`: name its tag at each call
    /// type Vec2 = [f32; 2]; // stands in for, say, `glam::Vec2`
    /// const VEC2: TypeTag = TypeTag::record::<Vec2>("glam::Vec2");
    ///
    /// let dir = tempfile::tempdir()?;
    /// let path = dir.path().join("points.map");
    /// MappedArray::<Vec2>::build_as([[0.0, 1.0], [2.0, 3.0]], &path, VEC2)?;
    /// let points = MappedArray::<Vec2>::open_as(&path, VEC2)?;
    /// assert_eq!(points[1], [2.0, 3.0]);
    ///
    /// let other = TypeTag::record::<Vec2>("myrig::Point/v1");
    /// assert!(matches!(MappedArray::<Vec2>::open_as(&path, other), Err(MappedError::WrongType { .. })));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    fn open_as(path: impl AsRef<Path>, tag: TypeTag) -> Result<Self, MappedError> {
        let file = MappedFile::open(path.as_ref(), Self::KINDS)?;
        Self::from_file(sealed::File(file), tag)
    }

    /// [`open_as`](Self::open_as) with the tag of the structure's element type.
    ///
    /// # Errors
    /// As [`open_as`](Self::open_as).
    ///
    /// # Examples
    /// ```
    /// use seqring_mapped::{Mapped, MappedArray, MappedError};
    /// let dir = tempfile::tempdir()?;
    /// let path = dir.path().join("a.map");
    /// MappedArray::<u32>::build([7u32, 8, 9], &path)?;
    /// assert_eq!(&*MappedArray::<u32>::open(&path)?, &[7, 8, 9]);
    /// assert!(matches!(MappedArray::<i32>::open(&path), Err(MappedError::WrongType { .. })));
    /// assert!(matches!(MappedArray::<u32>::open(dir.path().join("none")), Err(MappedError::Io { .. })));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    fn open(path: impl AsRef<Path>) -> Result<Self, MappedError>
    where
        Self: Typed,
    {
        Self::open_as(path, Self::TAG)
    }

    /// [`open`](Self::open) followed by [`verify`](Self::verify): reads the whole file once.
    ///
    /// # Errors
    /// Those of `open` and `verify`.
    ///
    /// # Examples
    /// ```
    /// use seqring_mapped::{Mapped, MappedBytes, MappedError};
    /// let dir = tempfile::tempdir()?;
    /// let path = dir.path().join("b.map");
    /// MappedBytes::build([b"abc"], &path)?;
    /// assert_eq!(MappedBytes::open_verified(&path)?.get(0), Some(&b"abc"[..]));
    ///
    /// let mut bytes = std::fs::read(&path)?;
    /// bytes[256] ^= 1; // the first byte of the blob: `open` cannot see it, `verify` can
    /// std::fs::write(&path, &bytes)?;
    /// assert!(MappedBytes::open(&path).is_ok());
    /// assert!(matches!(MappedBytes::open_verified(&path), Err(MappedError::SectionChecksum { .. })));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    fn open_verified(path: impl AsRef<Path>) -> Result<Self, MappedError>
    where
        Self: Typed,
    {
        let m = Self::open(path)?;
        m.verify()?;
        Ok(m)
    }

    /// Reads an image held in memory (the bytes of a file, in a 64-byte-aligned buffer) without copying, after the
    /// O(1) checks of [`open`](Self::open). Errors name the path [`MEMORY_LABEL`](super::MEMORY_LABEL).
    ///
    /// # Errors
    /// As [`open`](Self::open), without [`MappedError::Io`].
    ///
    /// # Examples
    /// ```
    /// use seqring_mapped::{Mapped, MappedArray, MEMORY_LABEL};
    /// let dir = tempfile::tempdir()?;
    /// let path = dir.path().join("a.map");
    /// MappedArray::<u16>::build([1u16, 2], &path)?;
    /// let mut image = rkyv::util::AlignedVec::<64>::new();
    /// image.extend_from_slice(&std::fs::read(&path)?);
    /// let a = MappedArray::<u16>::from_image(image)?;
    /// assert_eq!((a.as_slice(), a.path()), (&[1u16, 2][..], std::path::Path::new(MEMORY_LABEL)));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    fn from_image(image: AlignedVec<MAX_ALIGN>) -> Result<Self, MappedError>
    where
        Self: Typed,
    {
        Self::from_file(sealed::File(MappedFile::from_memory(image, Self::KINDS)?), Self::TAG)
    }

    /// Copies `bytes` (a file's contents received from anywhere) into an aligned image, then
    /// [`from_image`](Self::from_image) followed by [`verify`](Self::verify): bytes from elsewhere are validated.
    ///
    /// # Errors
    /// Those of `from_image` and `verify`.
    ///
    /// # Examples
    /// ```
    /// use seqring_mapped::{Mapped, MappedStrs};
    /// let dir = tempfile::tempdir()?;
    /// let path = dir.path().join("s.map");
    /// MappedStrs::build(["a", "bc"], &path)?;
    /// let received = std::fs::read(&path)?;
    /// assert_eq!(MappedStrs::from_bytes(&received)?.get(1), Some("bc"));
    /// assert!(MappedStrs::from_bytes(&received[..100]).is_err());
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    fn from_bytes(bytes: &[u8]) -> Result<Self, MappedError>
    where
        Self: Typed,
    {
        let mut image = AlignedVec::<MAX_ALIGN>::with_capacity(bytes.len());
        image.extend_from_slice(bytes);
        let m = Self::from_image(image)?;
        m.verify()?;
        Ok(m)
    }

    /// Checks what `open` leaves out, in one pass over the file: every section's checksum, the zero padding
    /// between sections, and the structure's own invariants (offsets that never decrease, UTF-8 strings, an index
    /// consistent with its entries, valid rkyv archives). Archived structures skip their per-lookup validation
    /// afterwards.
    ///
    /// # Errors
    /// [`MappedError::SectionChecksum`], [`MappedError::Corrupt`], or for archived structures
    /// [`MappedError::InvalidRecord`].
    ///
    /// # Examples
    /// ```
    /// use seqring_mapped::{Mapped, MappedArray, MappedError};
    /// let dir = tempfile::tempdir()?;
    /// let path = dir.path().join("a.map");
    /// MappedArray::<u8>::build([1u8, 2, 3], &path)?.verify()?;
    ///
    /// let mut bytes = std::fs::read(&path)?;
    /// bytes[257] = 0; // an element, past the O(1) checks of `open`
    /// std::fs::write(&path, &bytes)?;
    /// let a = MappedArray::<u8>::open(&path)?;
    /// assert_eq!(a[1], 0);
    /// assert!(matches!(a.verify(), Err(MappedError::SectionChecksum { .. })));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    fn verify(&self) -> Result<(), MappedError>;

    /// The path the structure was opened from ([`MEMORY_LABEL`](super::MEMORY_LABEL) for an in-memory image).
    ///
    /// # Examples
    /// ```
    /// use seqring_mapped::{Mapped, MappedStrs};
    /// let dir = tempfile::tempdir()?;
    /// let path = dir.path().join("s.map");
    /// assert_eq!(MappedStrs::build(["x"], &path)?.path(), path);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    fn path(&self) -> &Path;
}

/// A [`Mapped`] structure whose element type names its own [`TypeTag`]: every structure except those over `Pod`
/// types that do not implement [`Tagged`](super::Tagged) (use [`Mapped::open_as`] for those). It enables
/// [`Mapped::open`], [`Mapped::open_verified`], [`Mapped::from_image`] and [`Mapped::from_bytes`], and is the bound
/// for generic code that opens any structure.
///
/// # Examples
/// ```
/// use seqring_mapped::{archived_tag, Archivable, ArchivedRecords, IdMap, MappedArray, MappedBytes, Tagged, Typed};
/// #[derive(rkyv::Archive, rkyv::Serialize)]
/// struct Note(String);
/// impl Archivable for Note {
///     const TYPE_NAME: &'static str = "doc::Note/v1";
/// }
/// assert_eq!(MappedArray::<f64>::TAG, f64::TAG);
/// assert_eq!(IdMap::<str, [u8; 4]>::TAG, <[u8; 4]>::TAG);
/// assert_eq!(MappedBytes::TAG, u8::TAG);
/// assert_eq!(ArchivedRecords::<Note>::TAG, archived_tag::<Note>());
/// ```
///
/// A structure over an untagged `Pod` type is not `Typed`, so only [`Mapped::open_as`] opens it:
/// ```compile_fail
/// use seqring_mapped::{Mapped, MappedArray};
/// #[derive(Clone, Copy, bytemuck::Pod, bytemuck::Zeroable)]
/// #[repr(C)]
/// struct Untagged([f32; 3]);
/// let _ = MappedArray::<Untagged>::open("points.map"); // error: `MappedArray<Untagged>: Typed` is not satisfied
/// ```
pub trait Typed: Mapped {
    /// The type tag that files of this structure record: `T::TAG` for [`Tagged`](super::Tagged) elements, `u8`'s
    /// for byte and string lists, [`archived_tag`](super::archived_tag) for rkyv records.
    const TAG: TypeTag;
}
