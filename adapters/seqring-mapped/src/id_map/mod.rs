//! [`IdMap<K, T>`]: keys (`u64`, strings, or only the 64-bit hashes of strings) to one or many `T` records, built
//! once into a file and queried through the mapping without deserialising.
//!
//! # Layout
//! The common header (kind 5, the tag of `T`, count = number of records) with
//! - flags: bit 0 = records have tails, bit 1 = multi-map;
//! - parameter 0: the number of distinct keys `n`;
//! - parameter 1: byte 0 the key kind (1 `u64`, 2 string, 3 hashed string), byte 1 the index kind (1 sorted,
//!   2 perfect hash), byte 2 the sorted index's directory bits `b`, byte 3 its directory word size (4 or 8),
//!   bytes 4..8 the perfect hash's seed.
//!
//! and the sections
//! - 0 `records`, 1 `tail offsets`, 2 `tail blob`: exactly as in [`MappedRecords`](super::MappedRecords); the
//!   records of one key are contiguous, in insertion order;
//! - 3 `entries`: `m + 1` entries of 2 little-endian `u64` words, 3 for exact string keys:
//!   `[key hash, first record, (first key byte)]`. Entry `e` owns records `entries[e].first ..
//!   entries[e + 1].first` and key bytes `entries[e].key .. entries[e + 1].key`; an entry that owns no record is an
//!   empty slot. The last entry is a sentinel `[0, count, key blob length]`;
//! - 4 `index`: the sorted directory (`2^b + 1` words) or the perfect hash's pilots (`u16` per bucket);
//! - 5 `key blob`: the exact string keys back to back (string maps only).
//!
//! # Key hashes
//! - `u64` keys: `fmix64(key)`, MurmurHash3's finaliser. It is a bijection, so the hash *is* the key and a `u64` map
//!   is exact without storing keys (and iteration recovers them).
//! - string keys: xxh3-64 (seed 0) of the UTF-8 bytes. Exact maps store the bytes and compare them on lookup;
//!   approximate maps ([`HashedStr`]) keep only the hash.
//!
//! # Indexes (both are implemented; [`IndexKind::default`] is the one that measured faster)
//! - **Sorted**: entries sorted by hash (`m = n`). A directory of `2^b + 1` entry positions, with
//!   `b = max(0, ceil(log2 n) - 1)`, maps the top `b` hash bits to the entries that start with them (1–2 on
//!   average). Lookup: one directory read, a scan of about one cache line of entries, one record read.
//! - **Perfect hash** (PTHash-style, Pibiri & Trani, SIGIR 2021): `n` keys in `nb = ceil(n / 2)` buckets,
//!   `m = ceil(n / 0.95)` slots. PTHash's skewed bucket map sends keys with `h < 6 * (2^64 - 1) / 10` (integer
//!   division first) to the first `d = nb * 3 / 10` buckets and the others to the rest:
//!   `bucket = fastrange(rotl(h, 32), d)` or `d + fastrange(rotl(h, 32), nb - d)` where
//!   `fastrange(x, k) = (x * k) >> 64` (the first form only when `d > 0`). Each bucket has a 16-bit pilot
//!   `p` chosen at build so that its keys land in free, distinct slots
//!   `slot = (fmix64(h ^ fmix64(seed << 32 | p)) * m) >> 64`. Lookup: one pilot read, one entry read (no scan), one
//!   record read. A build that finds no pilot for some bucket retries with another seed and, after four seeds (or
//!   when two distinct string keys share a 64-bit hash), falls back to the sorted index.
//!
//! # Collisions and the approximate map
//! A [`HashedStr`] map stores 8 bytes per key instead of the key, and its lookups skip the string comparison. In
//! exchange, two distinct keys whose xxh3-64 hashes are equal are indistinguishable: their records merge under one
//! entry (a non-multi build reports such a pair as a duplicate key), and a lookup of an absent key whose hash
//! equals a stored one returns that key's records. For `n` keys the chance that any pair collides is about
//! `n² / 2^65` (3·10⁻⁶ for 10 M keys), and the chance that one lookup of an absent key is a false hit is `n / 2^64`.
//!
//! # Validation
//! `open` checks, in O(1), the key kind, the index parameters and every section length against `n`, `m` and the
//! record count, and the sentinel entry. `verify` checks every checksum and the order of entries and offsets.
//! Until then lookups bounds-check every word they read, so corruption yields wrong answers, never a panic.

mod builder;
mod hash;
mod key;
mod rows;

pub use builder::IdMapBuilder;
use hash::{dir_bucket, phf_bucket, phf_slot};
pub(crate) use hash::{fmix64, unfmix64};
use key::key_kind_name;
pub use key::{AsKey, ByArchive, HashedStr, IndexKind, MapKey};
pub use rows::{IdRows, IdRowsBuilder};

use super::header::{Header, MappedFile, EXT_LEN, FLAG_MULTI, FLAG_TAILS};
use super::open::sealed::{File, Sealed};
use super::records::{check_record_sections, records_of, tail_of, verify_record_sections, RecordSink};
use super::writer::{FileWriter, Spill, Target};
use super::{FileKind, Mapped, MappedError, Tagged, TypeTag, Typed, MAX_ALIGN};
use bytemuck::Pod;
use rkyv::api::high::HighSerializer;
use rkyv::ser::allocator::ArenaHandle;
use rkyv::util::AlignedVec;
use std::borrow::{Borrow, Cow};
use std::fmt;
use std::marker::PhantomData;
use std::path::Path;

const ENTRIES: usize = 3;
const INDEX: usize = 4;
const KEY_BLOB: usize = 5;

#[derive(Clone, Copy, Debug)]
enum Index {
    Sorted { bits: u32, wide: bool },
    Phf { seed: u32, buckets: u64 },
}

/// A read-only map from keys to `T` records, mapped from a file. `K` is `u64`, `str` or [`HashedStr`].
///
/// A plain map holds one record per key; a multi-map ([`IdMapBuilder::multi`]) holds one or more, contiguous in
/// the file, in insertion order, and [`get_all`](Self::get_all) returns them as one slice. Records may carry
/// variable-length tails. See the [module docs](self) for the format, the indexes and the approximate map.
///
/// # Examples
/// ```
/// use seqring_mapped::{HashedStr, IdMap};
/// let dir = tempfile::tempdir()?;
///
/// // u64 ids to fixed records
/// let ids = IdMap::<u64, [u32; 4]>::build((0..1000u64).map(|i| (i * 7, [i as u32; 4])), dir.path().join("ids"))?;
/// assert_eq!(ids.get(&700), Some(&[100; 4]));
/// assert_eq!(ids.get(&701), None);
///
/// // string keys, several records per key
/// let events = IdMap::<str, f64>::builder(dir.path().join("events"))
///     .multi(true)
///     .build([("lick", 1.5), ("reward", 2.0), ("lick", 3.25)])?;
/// assert_eq!(events.get_all("lick"), &[1.5, 3.25]);
/// assert_eq!(events.len(), 2);
///
/// // approximate: only 64-bit hashes of the keys are stored
/// let approx = IdMap::<HashedStr, u16>::build([("mouse-17", 17u16), ("mouse-42", 42)], dir.path().join("h"))?;
/// assert_eq!(approx.get("mouse-42"), Some(&42));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub struct IdMap<K: ?Sized, T> {
    file: MappedFile,
    records: usize,
    keys: u64,
    slots: u64,
    stride: usize,
    index: Index,
    _k: PhantomData<fn() -> (*const K, T)>,
}

impl<K: MapKey + ?Sized, T: Tagged> IdMap<K, T> {
    /// Builds a plain map (one record per key) with the default index into a new file at `path` and maps it.
    ///
    /// # Errors
    /// [`MappedError::DuplicateKey`] if a key repeats, [`MappedError::Io`] on any file error (nothing is left at
    /// `path` then), [`MappedError::UnsupportedType`] for a zero-sized or over-aligned `T`.
    ///
    /// # Examples
    /// ```
    /// use seqring_mapped::{IdMap, MappedError};
    /// let dir = tempfile::tempdir()?;
    /// // keys may be `&str`, `String`, `u64` or `&u64`; records by value or by reference
    /// let gains = IdMap::<str, f32>::build([("left".to_string(), 0.5f32), ("right".into(), 0.75)], dir.path().join("g.map"))?;
    /// assert_eq!(gains.get("right"), Some(&0.75));
    /// assert!(matches!(
    ///     IdMap::<u64, u8>::build([(1u64, 0u8), (1, 1)], dir.path().join("dup.map")),
    ///     Err(MappedError::DuplicateKey { .. })
    /// ));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn build<I, Q, R>(items: I, path: impl AsRef<Path>) -> Result<IdMap<K, T>, MappedError>
    where
        I: IntoIterator<Item = (Q, R)>,
        Q: AsKey<K::Query>,
        R: Borrow<T>,
    {
        Self::builder(path).build(items)
    }

    /// A builder for a new file at `path`, to choose multi-map and index, or to add records one by one or with
    /// tails.
    ///
    /// # Examples
    /// ```
    /// use seqring_mapped::{IdMap, IndexKind};
    /// let dir = tempfile::tempdir()?;
    /// let m = IdMap::<u64, u16>::builder(dir.path().join("m.map"))
    ///     .multi(true)
    ///     .index(IndexKind::Sorted)
    ///     .build([(4u64, 1u16), (4, 2), (9, 3)])?;
    /// assert_eq!((m.get_all(&4), m.index_kind(), m.is_multi()), (&[1u16, 2][..], IndexKind::Sorted, true));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn builder(path: impl AsRef<Path>) -> IdMapBuilder<K, T> {
        Self::builder_as(path, T::TAG)
    }
}

/// The same operations with an explicit [`TypeTag`], for `Pod` record types that cannot implement [`Tagged`]
/// (types of other crates), and the lookups.
impl<K: MapKey + ?Sized, T: Pod> IdMap<K, T> {
    /// [`builder`](IdMap::builder) with an explicit record tag.
    ///
    /// # Examples
    /// ```
    /// use seqring_mapped::{IdMap, Mapped, TypeTag};
    /// let tag = TypeTag::record::<[f64; 3]>("other_crate::DVec3");
    /// let dir = tempfile::tempdir()?;
    /// let path = dir.path().join("m.map");
    /// IdMap::<str, [f64; 3]>::builder_as(&path, tag).build([("origin", [0.0; 3])])?;
    /// let m = IdMap::<str, [f64; 3]>::open_as(&path, tag)?;
    /// assert_eq!(m.get("origin"), Some(&[0.0; 3]));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn builder_as(path: impl AsRef<Path>, tag: TypeTag) -> IdMapBuilder<K, T> {
        IdMapBuilder::new(
            Target::File(path.as_ref().to_owned()),
            FileKind::IdMap,
            tag,
            [0; EXT_LEN],
        )
    }

    /// Validates the id-map structure of `file` (O(1)), whose kind and tag the caller has checked, with `T` as
    /// the record type of sections 0-2.
    pub(crate) fn from_checked_file(file: MappedFile) -> Result<IdMap<K, T>, MappedError> {
        Self::from_checked_sized(file, std::mem::size_of::<T>())
    }

    /// [`from_checked_file`](Self::from_checked_file) with records of `record_size` bytes: `size_of::<T>()`, or
    /// the tag's size for the rows of [`IdRows`] (whose `T` is a placeholder; their alignment is the tag's, which
    /// the 64-byte section start satisfies).
    pub(crate) fn from_checked_sized(file: MappedFile, record_size: usize) -> Result<IdMap<K, T>, MappedError> {
        let path_buf = file.path().to_owned();
        let path = path_buf.as_path();
        let h = &file.header;
        let p = h.param1;
        let key_code = p & 0xff;
        let found = key_kind_name(key_code)
            .ok_or_else(|| MappedError::corrupt(path, format!("header: unknown key kind {key_code}")))?;
        if key_code != u64::from(K::CODE) {
            return Err(MappedError::WrongKeys {
                path: path.to_owned(),
                expected: K::NAME,
                found,
            });
        }
        if h.flags & !(FLAG_TAILS | FLAG_MULTI) != 0 || h.sections[6].offset != 0 {
            return Err(MappedError::corrupt(
                path,
                "header: unknown flags or sections for an id map",
            ));
        }
        let records = check_record_sections(&file, record_size as u64)?;
        let keys = h.param0;
        if keys > h.count || (h.flags & FLAG_MULTI == 0 && keys != h.count) {
            return Err(MappedError::corrupt(
                path,
                "header: more keys than records, or fewer in a plain map",
            ));
        }
        let stride = if K::STORES_KEYS { 3 } else { 2 };
        let entries_len = h.sections[ENTRIES].len;
        if !file.present(ENTRIES) || entries_len == 0 || !entries_len.is_multiple_of(8 * stride as u64) {
            return Err(MappedError::corrupt(path, "header: entries section has a wrong size"));
        }
        let slots = entries_len / (8 * stride as u64) - 1;
        let index_len = h.sections[INDEX].len;
        let index = match (p >> 8) & 0xff {
            1 => {
                let bits = ((p >> 16) & 0xff) as u32;
                let width = (p >> 24) & 0xff;
                if bits > 48 || !(width == 4 || width == 8) || p >> 32 != 0 || slots != keys {
                    return Err(MappedError::corrupt(path, "header: bad sorted-index parameters"));
                }
                file.expect_len(INDEX, "index", ((1u64 << bits) + 1).checked_mul(width))?;
                Index::Sorted { bits, wide: width == 8 }
            }
            2 => {
                if (p >> 16) & 0xffff != 0 || slots < keys || !file.present(INDEX) || !index_len.is_multiple_of(2) {
                    return Err(MappedError::corrupt(path, "header: bad perfect-hash parameters"));
                }
                let buckets = index_len / 2;
                if (buckets == 0) != (slots == 0) {
                    return Err(MappedError::corrupt(
                        path,
                        "header: perfect hash without buckets or slots",
                    ));
                }
                Index::Phf {
                    seed: (p >> 32) as u32,
                    buckets,
                }
            }
            k => return Err(MappedError::corrupt(path, format!("header: unknown index kind {k}"))),
        };
        if K::STORES_KEYS {
            if !file.present(KEY_BLOB) {
                return Err(MappedError::corrupt(path, "header: section 'key blob' is absent"));
            }
        } else {
            file.expect_absent(KEY_BLOB, "key blob")?;
        }
        let map = IdMap {
            file,
            records,
            keys,
            slots,
            stride,
            index,
            _k: PhantomData,
        };
        let words = map.file.words(ENTRIES);
        let sentinel = words
            .len()
            .checked_sub(stride)
            .map(|i| &words[i..])
            .ok_or_else(|| MappedError::corrupt(path, "entries section is misaligned"))?;
        let first_ok = words.get(1) == Some(&0) && (!K::STORES_KEYS || words.get(2) == Some(&0));
        if !first_ok
            || sentinel[1] != map.records as u64
            || (K::STORES_KEYS && sentinel[2] != map.file.header.sections[KEY_BLOB].len)
        {
            return Err(MappedError::corrupt(path, "entries do not span the records and keys"));
        }
        if let Index::Sorted { .. } = index {
            if map.dir(0) != Some(0) || map.dir(map.dir_len() - 1) != Some(slots) {
                return Err(MappedError::corrupt(
                    path,
                    "sorted-index directory does not span the entries",
                ));
            }
        }
        if record_size == std::mem::size_of::<T>() && records_of::<T>(&map.file).len() != records {
            return Err(MappedError::corrupt(
                path,
                "records section is misaligned for the record type",
            ));
        }
        Ok(map)
    }

    fn dir_len(&self) -> usize {
        match self.index {
            Index::Sorted { bits, .. } => (1usize << bits) + 1,
            Index::Phf { .. } => 0,
        }
    }

    #[inline]
    fn dir(&self, d: usize) -> Option<u64> {
        let bytes = self.file.section(INDEX);
        match self.index {
            Index::Sorted { wide: true, .. } => bytemuck::try_cast_slice::<u8, u64>(bytes).ok()?.get(d).copied(),
            Index::Sorted { wide: false, .. } => bytemuck::try_cast_slice::<u8, u32>(bytes)
                .ok()?
                .get(d)
                .map(|&x| u64::from(x)),
            Index::Phf { .. } => None,
        }
    }

    /// The entry of `key`, or `None`.
    #[inline]
    fn find(&self, key: &K::Query) -> Option<usize> {
        let bytes = K::bytes(key);
        let h = K::hash(key, &bytes);
        let w = self.file.words(ENTRIES);
        let s = self.stride;
        match self.index {
            Index::Phf { seed, buckets } => {
                if self.slots == 0 {
                    return None;
                }
                let pilots: &[u16] = bytemuck::try_cast_slice(self.file.section(INDEX)).ok()?;
                let pilot = *pilots.get(phf_bucket(h, buckets) as usize)?;
                let e = phf_slot(h, pilot, seed, self.slots) as usize;
                (*w.get(e * s)? == h && self.key_matches(w, e, &bytes)).then_some(e)
            }
            Index::Sorted { bits, .. } => {
                let d = dir_bucket(h, bits) as usize;
                let lo = self.dir(d)? as usize;
                let hi = (self.dir(d + 1)?).min(self.slots) as usize;
                for e in lo..hi {
                    let eh = *w.get(e * s)?;
                    if eh == h && self.key_matches(w, e, &bytes) {
                        return Some(e);
                    }
                    if eh > h {
                        return None;
                    }
                }
                None
            }
        }
    }

    #[inline]
    fn key_matches(&self, w: &[u64], e: usize, key: &[u8]) -> bool {
        !K::STORES_KEYS || self.entry_key(w, e) == Some(key)
    }

    #[inline]
    fn entry_key<'a>(&'a self, w: &[u64], e: usize) -> Option<&'a [u8]> {
        if !K::STORES_KEYS {
            return Some(&[]);
        }
        let s = self.stride;
        let (a, b) = (*w.get(e * s + 2)?, *w.get((e + 1) * s + 2)?);
        self.file
            .section(KEY_BLOB)
            .get(usize::try_from(a).ok()?..usize::try_from(b).ok()?)
    }

    /// The record range of entry `e` (empty for an empty slot; `None` if corrupt).
    #[inline]
    fn range(&self, e: usize) -> Option<std::ops::Range<usize>> {
        let w = self.file.words(ENTRIES);
        let s = self.stride;
        let (a, b) = (
            usize::try_from(*w.get(e * s + 1)?).ok()?,
            usize::try_from(*w.get((e + 1) * s + 1)?).ok()?,
        );
        (a <= b && b <= self.records).then_some(a..b)
    }

    /// The first (for a plain map: the only) record of `key`.
    ///
    /// # Examples
    /// ```
    /// use seqring_mapped::IdMap;
    /// let dir = tempfile::tempdir()?;
    /// let m = IdMap::<str, u32>::build([("a", 1u32), ("b", 2)], dir.path().join("m"))?;
    /// assert_eq!(m.get("b"), Some(&2));
    /// assert_eq!(m.get("c"), None);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    #[inline]
    pub fn get(&self, key: &K::Query) -> Option<&T> {
        self.get_all(key).first()
    }

    /// All records of `key`, in insertion order (empty if the key is absent).
    ///
    /// # Examples
    /// ```
    /// use seqring_mapped::IdMap;
    /// let dir = tempfile::tempdir()?;
    /// let m = IdMap::<str, u32>::builder(dir.path().join("m.map")).multi(true).build([("a", 1u32), ("b", 2), ("a", 3)])?;
    /// assert_eq!(m.get_all("a"), &[1, 3]); // insertion order
    /// assert!(m.get_all("z").is_empty());
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    #[inline]
    pub fn get_all(&self, key: &K::Query) -> &[T] {
        self.find(key)
            .and_then(|e| self.range(e))
            .and_then(|r| records_of::<T>(&self.file).get(r))
            .unwrap_or(&[])
    }

    /// The first record of `key` with its tail.
    ///
    /// # Examples
    /// ```
    /// use seqring_mapped::IdMap;
    /// let dir = tempfile::tempdir()?;
    /// let mut b = IdMap::<u64, u8>::builder(dir.path().join("m.map"));
    /// b.insert_with_tail(&1, &10, b"ten")?;
    /// b.insert(&2, &20)?;
    /// let m = b.finish()?;
    /// assert_eq!(m.get_with_tail(&1), Some((&10, &b"ten"[..])));
    /// assert_eq!(m.get_with_tail(&2), Some((&20, &b""[..])));
    /// assert_eq!(m.get_with_tail(&3), None);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn get_with_tail(&self, key: &K::Query) -> Option<(&T, &[u8])> {
        let r = self.range(self.find(key)?)?;
        Some((
            records_of::<T>(&self.file).get(r.start)?,
            tail_of(&self.file, r.start, self.records)?,
        ))
    }

    /// All records of `key` with their tails, in insertion order.
    ///
    /// # Examples
    /// ```
    /// use seqring_mapped::IdMap;
    /// let dir = tempfile::tempdir()?;
    /// let mut b = IdMap::<str, u8>::builder(dir.path().join("m.map")).multi(true);
    /// b.insert_with_tail("k", &1, b"a")?;
    /// b.insert_with_tail("k", &2, b"bc")?;
    /// let m = b.finish()?;
    /// assert_eq!(m.get_all_with_tails("k").collect::<Vec<_>>(), [(&1, &b"a"[..]), (&2, &b"bc"[..])]);
    /// assert_eq!(m.get_all_with_tails("x").count(), 0);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn get_all_with_tails(&self, key: &K::Query) -> impl Iterator<Item = (&T, &[u8])> + '_ {
        let r = self.find(key).and_then(|e| self.range(e)).unwrap_or(0..0);
        self.with_tails(r)
    }

    fn with_tails(&self, r: std::ops::Range<usize>) -> impl Iterator<Item = (&T, &[u8])> + '_ {
        let recs = records_of::<T>(&self.file);
        r.filter_map(move |i| Some((recs.get(i)?, tail_of(&self.file, i, self.records).unwrap_or(&[]))))
    }

    /// Whether `key` has a record.
    ///
    /// # Examples
    /// ```
    /// use seqring_mapped::{HashedStr, IdMap};
    /// let dir = tempfile::tempdir()?;
    /// let m = IdMap::<HashedStr, u8>::build([("m17", 1u8)], dir.path().join("m.map"))?;
    /// assert!(m.contains_key("m17"));
    /// assert!(!m.contains_key("m18"));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn contains_key(&self, key: &K::Query) -> bool {
        !self.get_all(key).is_empty()
    }

    /// Every key with its records, in file order (hash order for the sorted index, slot order for the perfect
    /// hash). Keys come back as `u64`, `&str`, or for [`HashedStr`] maps as their 64-bit hash. Corrupt entries
    /// are skipped.
    ///
    /// # Examples
    /// ```
    /// use seqring_mapped::{HashedStr, IdMap};
    /// let dir = tempfile::tempdir()?;
    /// let m = IdMap::<u64, u8>::builder(dir.path().join("m.map")).multi(true).build([(5u64, 1u8), (7, 2), (5, 3)])?;
    /// let mut all: Vec<(u64, Vec<u8>)> = m.iter().map(|(k, r)| (k, r.to_vec())).collect();
    /// all.sort();
    /// assert_eq!(all, [(5, vec![1, 3]), (7, vec![2])]);
    /// // string maps yield `&str`, approximate maps the 64-bit hash
    /// let s = IdMap::<str, u8>::build([("a", 1u8)], dir.path().join("s.map"))?;
    /// assert_eq!(s.iter().next(), Some(("a", &[1u8][..])));
    /// let h = IdMap::<HashedStr, u8>::build([("a", 1u8)], dir.path().join("h.map"))?;
    /// assert_eq!(h.iter().next().map(|(k, _)| k), Some(xxhash_rust::xxh3::xxh3_64(b"a")));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn iter(&self) -> impl Iterator<Item = (K::Stored<'_>, &[T])> + '_ {
        let recs = records_of::<T>(&self.file);
        self.key_ranges().filter_map(move |(k, r)| Some((k, recs.get(r)?)))
    }

    /// Every key with the positions of its records, in file order; corrupt entries are skipped.
    pub(crate) fn key_ranges(&self) -> impl Iterator<Item = (K::Stored<'_>, std::ops::Range<usize>)> + '_ {
        let w = self.file.words(ENTRIES);
        (0..self.slots as usize).filter_map(move |e| {
            let r = self.range(e)?;
            if r.is_empty() {
                return None;
            }
            Some((K::stored(*w.get(e * self.stride)?, self.entry_key(w, e)?)?, r))
        })
    }

    /// The positions of the records of `key` (empty if absent).
    #[inline]
    pub(crate) fn find_range(&self, key: &K::Query) -> std::ops::Range<usize> {
        self.find(key).and_then(|e| self.range(e)).unwrap_or(0..0)
    }

    /// The validated file.
    pub(crate) fn file(&self) -> &MappedFile {
        &self.file
    }

    /// Gives back the validated file.
    pub(crate) fn into_file(self) -> MappedFile {
        self.file
    }

    /// All records, grouped by key in file order.
    ///
    /// # Examples
    /// ```
    /// use seqring_mapped::IdMap;
    /// let dir = tempfile::tempdir()?;
    /// let m = IdMap::<u64, u32>::build([(1u64, 10u32), (2, 20)], dir.path().join("m.map"))?;
    /// let mut all = m.records().to_vec(); // in file order, which is not insertion order
    /// all.sort();
    /// assert_eq!(all, [10, 20]);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn records(&self) -> &[T] {
        records_of(&self.file)
    }

    /// The number of distinct keys.
    ///
    /// # Examples
    /// ```
    /// use seqring_mapped::IdMap;
    /// let dir = tempfile::tempdir()?;
    /// let m = IdMap::<u64, u8>::builder(dir.path().join("m.map")).multi(true).build([(1u64, 0u8), (1, 1), (2, 2)])?;
    /// assert_eq!((m.len(), m.record_count()), (2, 3));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn len(&self) -> usize {
        self.keys as usize
    }

    /// Whether the map has no keys.
    ///
    /// # Examples
    /// ```
    /// use seqring_mapped::IdMap;
    /// let dir = tempfile::tempdir()?;
    /// let m = IdMap::<str, u8>::build(Vec::<(&str, u8)>::new(), dir.path().join("m.map"))?;
    /// assert!(m.is_empty());
    /// assert_eq!(m.get("a"), None);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn is_empty(&self) -> bool {
        self.keys == 0
    }

    /// The number of records (equal to [`len`](Self::len) for a plain map).
    ///
    /// # Examples
    /// ```
    /// use seqring_mapped::IdMap;
    /// let dir = tempfile::tempdir()?;
    /// let m = IdMap::<str, u8>::builder(dir.path().join("m.map")).multi(true).build([("a", 1u8), ("a", 2)])?;
    /// assert_eq!((m.record_count(), m.len()), (2, 1));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn record_count(&self) -> usize {
        self.records
    }

    /// Whether the file was built as a multi-map.
    ///
    /// # Examples
    /// ```
    /// use seqring_mapped::IdMap;
    /// let dir = tempfile::tempdir()?;
    /// let plain = IdMap::<u64, u8>::build([(1u64, 1u8)], dir.path().join("p.map"))?;
    /// let multi = IdMap::<u64, u8>::builder(dir.path().join("m.map")).multi(true).build([(1u64, 1u8)])?;
    /// assert_eq!((plain.is_multi(), multi.is_multi()), (false, true));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn is_multi(&self) -> bool {
        self.file.header.flags & FLAG_MULTI != 0
    }

    /// Whether records carry tails.
    ///
    /// # Examples
    /// ```
    /// use seqring_mapped::IdMap;
    /// let dir = tempfile::tempdir()?;
    /// let mut b = IdMap::<u64, u8>::builder(dir.path().join("m.map"));
    /// b.insert_with_tail(&1, &1, b"t")?;
    /// assert!(b.finish()?.has_tails());
    /// assert!(!IdMap::<u64, u8>::build([(1u64, 1u8)], dir.path().join("n.map"))?.has_tails());
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn has_tails(&self) -> bool {
        self.file.header.flags & FLAG_TAILS != 0
    }

    /// The index the file uses (the requested one, unless the build fell back to [`IndexKind::Sorted`]).
    ///
    /// # Examples
    /// ```
    /// use seqring_mapped::{IdMap, IndexKind};
    /// let dir = tempfile::tempdir()?;
    /// let m = IdMap::<u64, u8>::build([(1u64, 1u8)], dir.path().join("m.map"))?;
    /// assert_eq!(m.index_kind(), IndexKind::default());
    /// let s = IdMap::<u64, u8>::builder(dir.path().join("s.map")).index(IndexKind::Sorted).build([(1u64, 1u8)])?;
    /// assert_eq!(s.index_kind(), IndexKind::Sorted);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn index_kind(&self) -> IndexKind {
        match self.index {
            Index::Sorted { .. } => IndexKind::Sorted,
            Index::Phf { .. } => IndexKind::PerfectHash,
        }
    }
}

impl<K: MapKey + ?Sized, T: Tagged> Typed for IdMap<K, T> {
    const TAG: TypeTag = T::TAG;
}

impl<K: MapKey + ?Sized, T: Pod> Sealed for IdMap<K, T> {
    const KINDS: &'static [FileKind] = &[FileKind::IdMap];

    fn from_file(File(file): File, tag: TypeTag) -> Result<IdMap<K, T>, MappedError> {
        file.check_tag::<T>(tag)?;
        Self::from_checked_file(file)
    }
}

/// Opening and verifying (import [`Mapped`]).
impl<K: MapKey + ?Sized, T: Pod> Mapped for IdMap<K, T> {
    /// Checks every section's checksum and that the index is consistent: entry offsets never decrease, a plain
    /// map has one record per key, every non-empty entry sits exactly where a lookup of its key looks (its
    /// perfect-hash slot, or its directory bucket in strictly increasing order), exact string keys are UTF-8 and
    /// match their hashes, and the number of non-empty entries is the key count. After it succeeds, every key that
    /// [`iter`](Self::iter) yields is found by [`get_all`](Self::get_all) with the same records. Reads the whole file
    /// once.
    ///
    /// # Errors
    /// [`MappedError::SectionChecksum`] or [`MappedError::Corrupt`].
    fn verify(&self) -> Result<(), MappedError> {
        let path = self.file.path();
        verify_record_sections(&self.file)?;
        self.file.verify_section(ENTRIES, "entries")?;
        self.file.verify_section(INDEX, "index")?;
        self.file.verify_section(KEY_BLOB, "key blob")?;
        let w = self.file.words(ENTRIES);
        let s = self.stride;
        let mut nonempty = 0u64;
        let bad = |e: usize, what: &str| MappedError::corrupt(path, format!("entry {e}: {what}"));
        for e in 0..self.slots as usize {
            let (Some(cur), Some(next)) = (w.get(e * s..e * s + s), w.get((e + 1) * s..(e + 2) * s)) else {
                return Err(bad(e, "outside the entries section"));
            };
            if cur[1] > next[1] || (K::STORES_KEYS && cur[2] > next[2]) {
                return Err(bad(e, "decreasing offsets"));
            }
            let n = next[1] - cur[1];
            if n == 0 {
                if matches!(self.index, Index::Sorted { .. }) {
                    return Err(bad(e, "a sorted entry without records"));
                }
                continue;
            }
            nonempty += 1;
            if !self.is_multi() && n > 1 {
                return Err(bad(e, "several records in a plain map"));
            }
            let key = self.entry_key(w, e).ok_or_else(|| bad(e, "key out of range"))?;
            if K::STORES_KEYS && (!K::valid_key(key) || K::hash_bytes(key) != cur[0]) {
                return Err(bad(e, "the key is not well formed (UTF-8) or does not match its hash"));
            }
            match self.index {
                Index::Sorted { bits, .. } => {
                    if e + 1 < self.slots as usize {
                        let next_key = self.entry_key(w, e + 1).ok_or_else(|| bad(e + 1, "key out of range"))?;
                        if (cur[0], key) >= (next[0], next_key) {
                            return Err(bad(e, "sorted entries out of order or repeated"));
                        }
                    }
                    let d = dir_bucket(cur[0], bits) as usize;
                    let (lo, hi) = (self.dir(d), self.dir(d + 1));
                    if !matches!((lo, hi), (Some(lo), Some(hi)) if lo <= e as u64 && (e as u64) < hi) {
                        return Err(bad(e, "outside its directory bucket"));
                    }
                }
                Index::Phf { seed, buckets } => {
                    let pilots: &[u16] = bytemuck::try_cast_slice(self.file.section(INDEX)).unwrap_or(&[]);
                    let pilot = pilots.get(phf_bucket(cur[0], buckets) as usize).copied();
                    if pilot.map(|p| phf_slot(cur[0], p, seed, self.slots)) != Some(e as u64) {
                        return Err(bad(e, "not in the slot its pilot gives"));
                    }
                }
            }
        }
        if nonempty != self.keys {
            return Err(MappedError::corrupt(
                path,
                "the number of entries with records is not the key count",
            ));
        }
        Ok(())
    }

    fn path(&self) -> &Path {
        self.file.path()
    }
}

impl<K: MapKey + ?Sized, T: Pod> fmt::Debug for IdMap<K, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("IdMap")
            .field("path", &self.path())
            .field("keys", &K::NAME)
            .field("len", &self.keys)
            .field("records", &self.records)
            .field("index", &self.index_kind())
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::builder::{group_keys, Pending};
    use super::hash::unfmix64;
    use super::*;

    #[test]
    fn mapped_fmix64_inverts() {
        for x in [0u64, 1, 2, 42, u64::MAX, 0x0123_4567_89ab_cdef] {
            assert_eq!(unfmix64(fmix64(x)), x);
            assert_eq!(fmix64(unfmix64(x)), x);
        }
        assert_ne!(fmix64(1), 1);
    }

    #[test]
    fn mapped_id_map_both_indexes_agree() {
        let dir = tempfile::tempdir().unwrap();
        for index in [IndexKind::Sorted, IndexKind::PerfectHash] {
            for n in [0u64, 1, 2, 3, 5, 100, 10_000] {
                let p = dir.path().join(format!("{index:?}-{n}"));
                let m = IdMap::<u64, u64>::builder(&p)
                    .index(index)
                    .build((0..n).map(|i| (i * 3 + 1, i * i)))
                    .unwrap();
                assert_eq!(m.index_kind(), index);
                assert_eq!(m.len(), n as usize);
                for i in 0..n {
                    assert_eq!(m.get(&(i * 3 + 1)), Some(&(i * i)), "{index:?} n={n} i={i}");
                    assert_eq!(m.get(&(i * 3)), None);
                }
                m.verify().unwrap();
                let mut keys: Vec<u64> = m
                    .iter()
                    .map(|(k, v)| (k, v.len()))
                    .inspect(|(_, l)| assert_eq!(*l, 1))
                    .map(|(k, _)| k)
                    .collect();
                keys.sort_unstable();
                assert_eq!(keys, (0..n).map(|i| i * 3 + 1).collect::<Vec<_>>());
            }
        }
    }

    #[test]
    fn mapped_id_map_string_hash_collision_falls_back_and_resolves() {
        // Force two distinct keys into one hash group by building the pending state by hand.
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("c");
        let mut st = Pending {
            keys: vec![(7, 0), (7, 1), (3, 2)],
            key_blob: b"bbaac".to_vec(),
            key_offsets: vec![0, 2, 4, 5],
            records: Spill::new(&p).unwrap(),
            tails: None,
        };
        for r in [10u32, 20, 30] {
            st.records.write(bytemuck::bytes_of(&r)).unwrap();
        }
        let (groups, collide) = group_keys::<str>(&mut st);
        assert!(collide);
        assert_eq!(groups, vec![0, 1, 2, 3]);
        // keys sorted by hash then bytes: (3,"c"), (7,"aa"), (7,"bb")
        assert_eq!(st.keys, vec![(3, 2), (7, 1), (7, 0)]);
    }

    #[test]
    fn mapped_id_map_rejects_duplicates_unless_multi() {
        let dir = tempfile::tempdir().unwrap();
        let e = IdMap::<u64, u8>::build([(5u64, 1u8), (5, 2)], dir.path().join("d")).unwrap_err();
        assert!(matches!(&e, MappedError::DuplicateKey { key, .. } if key == "5"), "{e}");
        let e = IdMap::<str, u8>::build([("x", 1u8), ("x", 2)], dir.path().join("d")).unwrap_err();
        assert!(
            matches!(&e, MappedError::DuplicateKey { key, .. } if key == "\"x\""),
            "{e}"
        );
        assert!(!dir.path().join("d").exists());
    }
}
