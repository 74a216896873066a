//! [`IdRows`]: an id map whose record type is known only at run time, by its [`TypeTag`] (a numpy dtype from
//! Python, say): lookups give the positions of a key's rows, and the rows are bytes.
//!
//! It is the file of an [`IdMap<K, T>`](super::IdMap) without tails, so a file written by either opens as the
//! other when the tags agree. Invariants after `open`: those of [`IdMap`](super::IdMap), with records of
//! `tag.size` bytes (a mappable element: see [`MappedRows`](crate::MappedRows)); row `i` is the bytes
//! `i * size .. (i + 1) * size` of the records section, which starts 64-byte aligned.

use super::{IdMap, IdMapBuilder, IndexKind, MapKey};
use crate::header::MappedFile;
use crate::records::records_of;
use crate::rows::check_layout;
use crate::{FileKind, Mapped, MappedError, TypeTag};
use std::fmt;
use std::ops::Range;
use std::path::Path;

/// A read-only map from keys (`u64`, `str` or [`HashedStr`](super::HashedStr)) to rows of a run-time
/// [`TypeTag`], mapped from a file, read as bytes.
///
/// # Examples
/// ```
/// use seqring_mapped::{IdMap, IdRows, Tagged};
/// let dir = tempfile::tempdir()?;
/// let path = dir.path().join("gains.map");
/// let mut b = IdRows::<str>::builder(&path, f64::TAG);
/// b.insert("left", &0.5f64.to_le_bytes())?;
/// b.insert("right", &0.75f64.to_le_bytes())?;
/// let gains = b.finish()?;
/// assert_eq!(gains.get("right"), Some(&0.75f64.to_le_bytes()[..]));
/// assert_eq!(gains.get("up"), None);
/// // the same file, read in Rust with the type the tag names
/// use seqring_mapped::Mapped;
/// assert_eq!(IdMap::<str, f64>::open(&path)?.get("left"), Some(&0.5));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub struct IdRows<K: ?Sized> {
    /// The map, with `u8` standing in for the run-time record type: only its index and its records' bytes are used.
    map: IdMap<K, u8>,
    size: usize,
}

impl<K: MapKey + ?Sized> IdRows<K> {
    /// A builder of a plain map (one row per key; [`IdRowsBuilder::multi`] for several) of rows of `tag` at `path`.
    ///
    /// # Examples
    /// ```
    /// use seqring_mapped::{IdRows, Tagged};
    /// let dir = tempfile::tempdir()?;
    /// let mut b = IdRows::<u64>::builder(dir.path().join("m.map"), <[u8; 3]>::TAG);
    /// b.insert(&7, b"abc")?;
    /// assert_eq!(b.finish()?.get(&7), Some(&b"abc"[..]));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn builder(path: impl AsRef<Path>, tag: TypeTag) -> IdRowsBuilder<K> {
        IdRowsBuilder {
            inner: IdMapBuilder::for_rows(path.as_ref(), tag),
        }
    }

    /// Maps the id-map file at `path` with `K` keys, whatever its record type, after the O(1) checks of
    /// [`Mapped::open`] (header, length, kind, keys, sections, index parameters).
    ///
    /// # Errors
    /// As [`Mapped::open_as`], and [`MappedError::UnsupportedType`] if the file's tag describes no mappable
    /// element.
    ///
    /// # Examples
    /// ```
    /// use seqring_mapped::{IdMap, IdRows, MappedError, Tagged};
    /// let dir = tempfile::tempdir()?;
    /// IdMap::<u64, u32>::build([(1u64, 10u32), (2, 20)], dir.path().join("m.map"))?;
    /// let rows = IdRows::<u64>::open(dir.path().join("m.map"))?;
    /// assert_eq!((rows.tag(), rows.get(&2)), (u32::TAG, Some(&20u32.to_le_bytes()[..])));
    /// assert!(matches!(IdRows::<str>::open(dir.path().join("m.map")), Err(MappedError::WrongKeys { .. })));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn open(path: impl AsRef<Path>) -> Result<IdRows<K>, MappedError> {
        let file = MappedFile::open(path.as_ref(), &[FileKind::IdMap])?;
        IdRows::from_file(file)
    }

    fn from_file(file: MappedFile) -> Result<IdRows<K>, MappedError> {
        let tag = file.header.tag;
        check_layout(tag, file.path())?;
        let size = tag.size as usize;
        Ok(IdRows {
            map: IdMap::from_checked_sized(file, size)?,
            size,
        })
    }

    /// Checks every section's checksum and the index's consistency (one pass over the file); see
    /// [`IdMap`'s `verify`](Mapped::verify).
    ///
    /// # Errors
    /// [`MappedError::SectionChecksum`] or [`MappedError::Corrupt`].
    ///
    /// # Examples
    /// ```
    /// use seqring_mapped::{IdRows, Tagged};
    /// let dir = tempfile::tempdir()?;
    /// let mut b = IdRows::<u64>::builder(dir.path().join("m.map"), u16::TAG);
    /// b.insert(&1, &[1, 0])?;
    /// b.finish()?.verify()?;
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn verify(&self) -> Result<(), MappedError> {
        self.map.verify()
    }

    /// The positions of `key`'s rows (empty if the key is absent): indexes into [`rows`](Self::rows), in
    /// insertion order for a multi-map.
    ///
    /// # Examples
    /// ```
    /// use seqring_mapped::{IdRows, Tagged};
    /// let dir = tempfile::tempdir()?;
    /// let mut b = IdRows::<str>::builder(dir.path().join("m.map"), u8::TAG).multi(true);
    /// for (k, v) in [("lick", 1u8), ("cue", 2), ("lick", 3)] {
    ///     b.insert(k, &[v])?;
    /// }
    /// let m = b.finish()?;
    /// let licks: Vec<&[u8]> = m.positions("lick").map(|i| m.row(i).unwrap()).collect();
    /// assert_eq!(licks, [&[1u8][..], &[3]]);
    /// assert!(m.positions("reward").is_empty());
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    #[inline]
    pub fn positions(&self, key: &K::Query) -> Range<usize> {
        self.map.find_range(key)
    }

    /// The first (for a plain map: the only) row of `key`.
    ///
    /// # Examples
    /// ```
    /// use seqring_mapped::{IdRows, Tagged};
    /// let dir = tempfile::tempdir()?;
    /// let mut b = IdRows::<u64>::builder(dir.path().join("m.map"), u8::TAG);
    /// b.insert(&5, &[50])?;
    /// let m = b.finish()?;
    /// assert_eq!((m.get(&5), m.get(&6)), (Some(&[50u8][..]), None));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    #[inline]
    pub fn get(&self, key: &K::Query) -> Option<&[u8]> {
        let r = self.positions(key);
        if r.is_empty() {
            return None;
        }
        self.row(r.start)
    }

    /// The bytes of row `i` (in file order), or `None` past the end.
    ///
    /// # Examples
    /// ```
    /// use seqring_mapped::{IdRows, Tagged};
    /// let dir = tempfile::tempdir()?;
    /// let mut b = IdRows::<u64>::builder(dir.path().join("m.map"), u16::TAG);
    /// b.insert(&5, &[1, 2])?;
    /// let m = b.finish()?;
    /// assert_eq!((m.row(0), m.row(1)), (Some(&[1u8, 2][..]), None));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    #[inline]
    pub fn row(&self, i: usize) -> Option<&[u8]> {
        let start = i.checked_mul(self.size)?;
        self.rows().get(start..start.checked_add(self.size)?)
    }

    /// Every row's bytes, back to back in file order (grouped by key; not insertion order), 64-byte aligned in
    /// memory.
    ///
    /// # Examples
    /// ```
    /// use seqring_mapped::{IdRows, Tagged};
    /// let dir = tempfile::tempdir()?;
    /// let mut b = IdRows::<u64>::builder(dir.path().join("m.map"), u8::TAG);
    /// b.insert(&1, &[10])?;
    /// b.insert(&2, &[20])?;
    /// let mut all = b.finish()?.rows().to_vec();
    /// all.sort();
    /// assert_eq!(all, [10, 20]);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn rows(&self) -> &[u8] {
        records_of::<u8>(self.map.file())
    }

    /// Every key with the positions of its rows, in file order.
    ///
    /// # Examples
    /// ```
    /// use seqring_mapped::{IdRows, Tagged};
    /// let dir = tempfile::tempdir()?;
    /// let mut b = IdRows::<str>::builder(dir.path().join("m.map"), u8::TAG);
    /// b.insert("a", &[1])?;
    /// let m = b.finish()?;
    /// assert_eq!(m.iter().collect::<Vec<_>>(), [("a", 0..1)]);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn iter(&self) -> impl Iterator<Item = (K::Stored<'_>, Range<usize>)> + '_ {
        self.map.key_ranges()
    }

    /// The type tag the file records.
    ///
    /// # Examples
    /// ```
    /// use seqring_mapped::{IdRows, Tagged};
    /// let dir = tempfile::tempdir()?;
    /// let m = IdRows::<u64>::builder(dir.path().join("m.map"), i32::TAG).finish()?;
    /// assert_eq!(m.tag(), i32::TAG);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn tag(&self) -> TypeTag {
        self.map.file().header.tag
    }

    /// The number of distinct keys.
    ///
    /// # Examples
    /// ```
    /// use seqring_mapped::{IdRows, Tagged};
    /// let dir = tempfile::tempdir()?;
    /// let mut b = IdRows::<u64>::builder(dir.path().join("m.map"), u8::TAG).multi(true);
    /// b.insert(&1, &[0])?;
    /// b.insert(&1, &[1])?;
    /// let m = b.finish()?;
    /// assert_eq!((m.len(), m.row_count(), m.is_multi()), (1, 2, true));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn len(&self) -> usize {
        self.map.len()
    }

    /// Whether the map has no key.
    ///
    /// # Examples
    /// ```
    /// use seqring_mapped::{IdRows, Tagged};
    /// let dir = tempfile::tempdir()?;
    /// assert!(IdRows::<u64>::builder(dir.path().join("m.map"), u8::TAG).finish()?.is_empty());
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn is_empty(&self) -> bool {
        self.map.is_empty()
    }

    /// The number of rows (more than [`len`](Self::len) in a multi-map).
    ///
    /// # Examples
    /// ```
    /// use seqring_mapped::{IdRows, Tagged};
    /// let dir = tempfile::tempdir()?;
    /// let mut b = IdRows::<u64>::builder(dir.path().join("m.map"), u8::TAG);
    /// b.insert(&1, &[0])?;
    /// assert_eq!(b.finish()?.row_count(), 1);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn row_count(&self) -> usize {
        self.map.record_count()
    }

    /// Whether a key may have several rows.
    ///
    /// # Examples
    /// ```
    /// use seqring_mapped::{IdRows, Tagged};
    /// let dir = tempfile::tempdir()?;
    /// assert!(!IdRows::<u64>::builder(dir.path().join("m.map"), u8::TAG).finish()?.is_multi());
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn is_multi(&self) -> bool {
        self.map.is_multi()
    }

    /// The file's path.
    ///
    /// # Examples
    /// ```
    /// use seqring_mapped::{IdRows, Tagged};
    /// let dir = tempfile::tempdir()?;
    /// let path = dir.path().join("m.map");
    /// assert_eq!(IdRows::<u64>::builder(&path, u8::TAG).finish()?.path(), path);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn path(&self) -> &Path {
        self.map.path()
    }
}

impl<K: MapKey + ?Sized> fmt::Debug for IdRows<K> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("IdRows")
            .field("path", &self.path())
            .field("tag", &self.tag())
            .field("keys", &self.len())
            .finish()
    }
}

/// Builds an [`IdRows`] file; from [`IdRows::builder`]. Dropping it without [`finish`](Self::finish) leaves
/// nothing at the path.
#[must_use = "nothing is written until `finish` is called"]
pub struct IdRowsBuilder<K: ?Sized> {
    inner: IdMapBuilder<K, u8>,
}

impl<K: MapKey + ?Sized> IdRowsBuilder<K> {
    /// Allows several rows per key (default: a repeated key is an error at [`finish`](Self::finish)).
    ///
    /// # Examples
    /// ```
    /// use seqring_mapped::{IdRows, Tagged};
    /// let dir = tempfile::tempdir()?;
    /// let mut b = IdRows::<u64>::builder(dir.path().join("m.map"), u8::TAG).multi(true);
    /// b.insert(&1, &[0])?;
    /// b.insert(&1, &[1])?;
    /// assert_eq!(b.finish()?.positions(&1), 0..2);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn multi(self, multi: bool) -> Self {
        IdRowsBuilder {
            inner: self.inner.multi(multi),
        }
    }

    /// Chooses the index (default: [`IndexKind::default`]).
    ///
    /// # Examples
    /// ```
    /// use seqring_mapped::{IdRows, IndexKind, Tagged};
    /// let dir = tempfile::tempdir()?;
    /// let m = IdRows::<u64>::builder(dir.path().join("m.map"), u8::TAG).index(IndexKind::Sorted).finish()?;
    /// # let _ = m;
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn index(self, index: IndexKind) -> Self {
        IdRowsBuilder {
            inner: self.inner.index(index),
        }
    }

    /// Adds a row for `key`: exactly the tag's size in bytes.
    ///
    /// # Errors
    /// [`MappedError::UnsupportedType`] for a row of another length or a tag of no mappable element;
    /// [`MappedError::Io`] if spilling fails.
    ///
    /// # Examples
    /// ```
    /// use seqring_mapped::{IdRows, MappedError, Tagged};
    /// let dir = tempfile::tempdir()?;
    /// let mut b = IdRows::<u64>::builder(dir.path().join("m.map"), u32::TAG);
    /// assert!(matches!(b.insert(&1, &[0; 3]), Err(MappedError::UnsupportedType { .. })));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn insert(&mut self, key: &K::Query, row: &[u8]) -> Result<(), MappedError> {
        self.inner.insert_row(key, row)
    }

    /// Sorts the keys, builds the index, writes the file, renames it into place and maps it.
    ///
    /// # Errors
    /// [`MappedError::DuplicateKey`] if a key repeats in a plain map, [`MappedError::Io`] on any file error
    /// (nothing is left at the path then), [`MappedError::UnsupportedType`] for a tag of no mappable element.
    ///
    /// # Examples
    /// ```
    /// use seqring_mapped::{IdRows, MappedError, Tagged};
    /// let dir = tempfile::tempdir()?;
    /// let mut b = IdRows::<u64>::builder(dir.path().join("m.map"), u8::TAG);
    /// b.insert(&1, &[0])?;
    /// b.insert(&1, &[1])?;
    /// assert!(matches!(b.finish(), Err(MappedError::DuplicateKey { .. })));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn finish(self) -> Result<IdRows<K>, MappedError> {
        IdRows::from_file(self.inner.finish_file()?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{HashedStr, Tagged};

    #[test]
    fn rows_and_a_typed_map_of_the_same_tag_are_the_same_file() {
        let dir = tempfile::tempdir().unwrap();
        let (a, b) = (dir.path().join("a.map"), dir.path().join("b.map"));
        let items: Vec<(u64, [u32; 2])> = (0..5000u64).map(|i| (i * 13, [i as u32, !(i as u32)])).collect();
        IdMap::<u64, [u32; 2]>::build(items.iter().copied(), &a).unwrap();
        let mut rb = IdRows::<u64>::builder(&b, <[u32; 2]>::TAG);
        for (k, v) in &items {
            rb.insert(k, bytemuck::bytes_of(v)).unwrap();
        }
        let rows = rb.finish().unwrap();
        assert_eq!(std::fs::read(&a).unwrap(), std::fs::read(&b).unwrap());
        rows.verify().unwrap();
        for (k, v) in &items {
            assert_eq!(rows.get(k), Some(bytemuck::bytes_of(v)));
        }
        assert_eq!(rows.get(&1), None);
        assert_eq!((rows.len(), rows.row_count()), (5000, 5000));
    }

    #[test]
    fn string_and_hashed_keys_with_several_rows() {
        let dir = tempfile::tempdir().unwrap();
        let tag = TypeTag::record_layout("[('t', '<u8'), ('x', '<f8')]", 16, 8);
        let mut b = IdRows::<HashedStr>::builder(dir.path().join("h.map"), tag).multi(true);
        for i in 0..300u64 {
            let mut row = [0u8; 16];
            row[..8].copy_from_slice(&i.to_le_bytes());
            b.insert(&format!("mouse-{}", i % 7), &row).unwrap();
        }
        let m = b.finish().unwrap();
        let reopened = IdRows::<HashedStr>::open(m.path()).unwrap();
        assert_eq!(reopened.tag(), tag);
        let rows: Vec<u64> = reopened
            .positions("mouse-3")
            .map(|i| u64::from_le_bytes(reopened.row(i).unwrap()[..8].try_into().unwrap()))
            .collect();
        assert_eq!(
            rows,
            (0..300).filter(|i| i % 7 == 3).collect::<Vec<_>>(),
            "insertion order"
        );
        assert!(
            IdRows::<u64>::open(m.path()).is_err(),
            "hashed-string keys are not u64 keys"
        );
    }
}
