//! What an id map can be keyed by ([`MapKey`]: `u64`, `str`, [`HashedStr`], [`ByArchive`]), how a lookup names
//! a key ([`AsKey`]), and which index it uses ([`IndexKind`]).

use super::*;

/// Which index an [`IdMap`] file uses; see the [module docs](super).
///
/// # Examples
/// ```
/// use seqring_mapped::{IdMap, IndexKind};
/// assert_eq!(IndexKind::default(), IndexKind::PerfectHash);
/// let dir = tempfile::tempdir()?;
/// let m = IdMap::<str, u8>::builder(dir.path().join("m.map")).index(IndexKind::Sorted).build([("a", 1u8)])?;
/// assert_eq!(m.index_kind(), IndexKind::Sorted);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum IndexKind {
    /// Entries sorted by key hash, with a radix directory over the top hash bits.
    Sorted,
    /// A PTHash-style perfect hash over the key hashes.
    PerfectHash,
}

impl Default for IndexKind {
    /// The perfect hash: it measured faster per lookup (see `docs/BENCHMARKS.md`, "Mapped structures").
    fn default() -> IndexKind {
        IndexKind::PerfectHash
    }
}

impl IndexKind {
    pub(super) const fn code(self) -> u64 {
        match self {
            IndexKind::Sorted => 1,
            IndexKind::PerfectHash => 2,
        }
    }
}

mod sealed {
    pub trait Sealed {}
    impl Sealed for u64 {}
    impl Sealed for str {}
    impl Sealed for super::HashedStr {}
    impl<K: ?Sized> Sealed for super::ByArchive<K> {}
}

/// The key type of an [`IdMap`]: `u64`, `str` (exact string keys), [`HashedStr`] (approximate string keys) or
/// [`ByArchive<K>`] (any key type, compared through its rkyv form). Sealed.
///
/// # Examples
/// ```
/// use seqring_mapped::{ByArchive, HashedStr, IdMap, MapKey};
/// // generic over the key type: any map's keys, however they are stored
/// fn key_count<K: MapKey + ?Sized>(m: &IdMap<K, u8>) -> usize {
///     m.iter().count()
/// }
/// let dir = tempfile::tempdir()?;
/// let a = IdMap::<u64, u8>::build([(1u64, 1u8)], dir.path().join("a.map"))?;
/// let b = IdMap::<str, u8>::build([("x", 1u8), ("y", 2)], dir.path().join("b.map"))?;
/// let c = IdMap::<HashedStr, u8>::build([("x", 1u8)], dir.path().join("c.map"))?;
/// let d = IdMap::<ByArchive<i32>, u8>::build([(-1i32, 1u8)], dir.path().join("d.map"))?;
/// assert_eq!((key_count(&a), key_count(&b), key_count(&c), key_count(&d)), (1, 2, 1, 1));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub trait MapKey: sealed::Sealed + 'static {
    /// What lookups take: `u64`, `str`, or the `K` of [`ByArchive<K>`].
    type Query: ?Sized;
    /// What iteration yields for a key: the `u64`, the `&str`, the 64-bit hash of a [`HashedStr`] key, or the rkyv
    /// bytes of a [`ByArchive`] key.
    type Stored<'a>;
    #[doc(hidden)]
    const CODE: u8;
    #[doc(hidden)]
    const NAME: &'static str;
    #[doc(hidden)]
    const STORES_KEYS: bool;
    /// The hash of `query`, whose stored bytes ([`bytes`](Self::bytes)) are `bytes`.
    #[doc(hidden)]
    fn hash(query: &Self::Query, bytes: &[u8]) -> u64;
    /// The bytes stored for (and compared with) `query`: empty unless `STORES_KEYS`.
    #[doc(hidden)]
    fn bytes(query: &Self::Query) -> Cow<'_, [u8]>;
    #[doc(hidden)]
    fn hash_bytes(key: &[u8]) -> u64 {
        xxhash_rust::xxh3::xxh3_64(key)
    }
    /// Whether stored key bytes are well formed (UTF-8 for strings).
    #[doc(hidden)]
    fn valid_key(_key: &[u8]) -> bool {
        true
    }
    #[doc(hidden)]
    fn stored(hash: u64, key: &[u8]) -> Option<Self::Stored<'_>>;
    #[doc(hidden)]
    fn describe(hash: u64, key: &[u8]) -> String;
}

impl MapKey for u64 {
    type Query = u64;
    type Stored<'a> = u64;
    const CODE: u8 = 1;
    const NAME: &'static str = "u64";
    const STORES_KEYS: bool = false;
    #[inline]
    fn hash(query: &u64, _: &[u8]) -> u64 {
        fmix64(*query)
    }
    #[inline]
    fn bytes(_: &u64) -> Cow<'_, [u8]> {
        Cow::Borrowed(&[])
    }
    fn stored(hash: u64, _: &[u8]) -> Option<u64> {
        Some(unfmix64(hash))
    }
    fn describe(hash: u64, _: &[u8]) -> String {
        unfmix64(hash).to_string()
    }
}

impl MapKey for str {
    type Query = str;
    type Stored<'a> = &'a str;
    const CODE: u8 = 2;
    const NAME: &'static str = "string";
    const STORES_KEYS: bool = true;
    #[inline]
    fn hash(_: &str, bytes: &[u8]) -> u64 {
        xxhash_rust::xxh3::xxh3_64(bytes)
    }
    #[inline]
    fn bytes(query: &str) -> Cow<'_, [u8]> {
        Cow::Borrowed(query.as_bytes())
    }
    fn valid_key(key: &[u8]) -> bool {
        std::str::from_utf8(key).is_ok()
    }
    fn stored(_: u64, key: &[u8]) -> Option<&str> {
        std::str::from_utf8(key).ok()
    }
    fn describe(_: u64, key: &[u8]) -> String {
        format!("{:?}", String::from_utf8_lossy(key))
    }
}

/// The key type of an approximate string map: only the xxh3-64 hash of each string key is stored, so the file is
/// smaller and lookups skip the string comparison, but distinct keys with equal hashes are confused (see the
/// [module docs](super#collisions-and-the-approximate-map)).
///
/// # Examples
/// ```
/// use seqring_mapped::{HashedStr, IdMap};
/// let dir = tempfile::tempdir()?;
/// let keys: Vec<String> = (0..1000).map(|i| format!("session-{i:04}")).collect();
/// let exact = IdMap::<str, u32>::build(keys.iter().zip(0u32..), dir.path().join("exact.map"))?;
/// let approx = IdMap::<HashedStr, u32>::build(keys.iter().zip(0u32..), dir.path().join("approx.map"))?;
/// assert_eq!(approx.get("session-0042"), Some(&42));
/// assert_eq!(approx.get("session-9999"), None); // absent: a false hit has probability n / 2^64
/// let size = |p: &str| std::fs::metadata(dir.path().join(p)).map(|m| m.len());
/// assert!(size("approx.map")? < size("exact.map")?); // no key bytes stored
/// # let _ = exact;
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Clone, Copy, Debug)]
pub struct HashedStr;

impl MapKey for HashedStr {
    type Query = str;
    type Stored<'a> = u64;
    const CODE: u8 = 3;
    const NAME: &'static str = "hashed-string";
    const STORES_KEYS: bool = false;
    #[inline]
    fn hash(query: &str, _: &[u8]) -> u64 {
        xxhash_rust::xxh3::xxh3_64(query.as_bytes())
    }
    #[inline]
    fn bytes(_: &str) -> Cow<'_, [u8]> {
        Cow::Borrowed(&[])
    }
    fn stored(hash: u64, _: &[u8]) -> Option<u64> {
        Some(hash)
    }
    fn describe(hash: u64, _: &[u8]) -> String {
        format!("with hash {hash:#018x} (keys are not stored: a duplicate or a 64-bit collision)")
    }
}

/// The key type of a map over keys of any type `K` that rkyv can serialise (integers of any width, tuples,
/// fixed arrays, enums, structs, `String`, `Vec`, ...): the key is stored as its rkyv archive, and hashed
/// (xxh3-64) and compared byte for byte in that form, so `K`'s `Hash + Eq` become those of its archive.
///
/// The archive of a key must be canonical: equal keys must serialise to equal bytes. That holds for integers,
/// floats (bitwise: `0.0` and `-0.0` differ, a NaN equals itself), strings, and tuples, arrays, `Vec`s, `Option`s,
/// enums and structs of them; it does not hold for `HashMap`/`HashSet` keys (their order is not fixed). Lookups
/// serialise the query (one small allocation), so `u64` and `str` keys, which need none, are faster.
///
/// # Examples
/// ```
/// use seqring_mapped::{ByArchive, IdMap};
/// let dir = tempfile::tempdir()?;
/// // (animal, session) pairs to a trial count
/// let m = IdMap::<ByArchive<(u32, String)>, u32>::builder(dir.path().join("m"))
///     .build([((17u32, "s1".to_string()), 120u32), ((17, "s2".into()), 95)])?;
/// assert_eq!(m.get(&(17, "s2".to_string())), Some(&95));
/// assert_eq!(m.get(&(18, "s2".to_string())), None);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub struct ByArchive<K: ?Sized>(PhantomData<fn() -> *const K>);

impl<K> MapKey for ByArchive<K>
where
    K: for<'a> rkyv::Serialize<HighSerializer<AlignedVec, ArenaHandle<'a>, rkyv::rancor::Error>> + 'static,
{
    type Query = K;
    type Stored<'a> = &'a [u8];
    const CODE: u8 = 4;
    const NAME: &'static str = "rkyv-archived";
    const STORES_KEYS: bool = true;
    #[inline]
    fn hash(_: &K, bytes: &[u8]) -> u64 {
        xxhash_rust::xxh3::xxh3_64(bytes)
    }
    fn bytes(query: &K) -> Cow<'_, [u8]> {
        // Serialising into a growable vector fails only when an archive outgrows rkyv's relative pointers
        // (gigabyte keys); such a key is stored and looked up as the empty byte string.
        Cow::Owned(
            rkyv::to_bytes::<rkyv::rancor::Error>(query)
                .map(|v| v.into_vec())
                .unwrap_or_default(),
        )
    }
    fn stored(_: u64, key: &[u8]) -> Option<&[u8]> {
        Some(key)
    }
    fn describe(hash: u64, key: &[u8]) -> String {
        format!("with hash {hash:#018x} and {} archive bytes", key.len())
    }
}

/// A value usable as a key of type `Q` when building an [`IdMap`]: `u64` or `&u64` for `u64` keys; anything that is
/// `AsRef<str>` (`&str`, `String`, `&String`, `Cow<str>`, ...) for string keys; `K` or `&K` for [`ByArchive<K>`]
/// keys.
///
/// # Examples
/// ```
/// use seqring_mapped::IdMap;
/// use std::borrow::Cow;
/// let dir = tempfile::tempdir()?;
/// let owned = IdMap::<str, u8>::build([(String::from("a"), 1u8)], dir.path().join("a.map"))?;
/// let cow = IdMap::<str, u8>::build([(Cow::Borrowed("b"), 2u8)], dir.path().join("b.map"))?;
/// let by_ref = IdMap::<u64, u8>::build([(&7u64, 3u8)], dir.path().join("c.map"))?;
/// assert_eq!((owned.get("a"), cow.get("b"), by_ref.get(&7)), (Some(&1), Some(&2), Some(&3)));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub trait AsKey<Q: ?Sized> {
    /// The key.
    ///
    /// # Examples
    /// ```
    /// use seqring_mapped::AsKey;
    /// let owned = String::from("m17");
    /// let key: &str = owned.as_key();
    /// assert_eq!(key, "m17");
    /// assert_eq!(*AsKey::<u64>::as_key(&&7u64), 7);
    /// ```
    fn as_key(&self) -> &Q;
}

impl<K> AsKey<K> for K {
    fn as_key(&self) -> &K {
        self
    }
}

impl<K> AsKey<K> for &K {
    fn as_key(&self) -> &K {
        self
    }
}

impl<S: AsRef<str> + ?Sized> AsKey<str> for S {
    fn as_key(&self) -> &str {
        self.as_ref()
    }
}

pub(super) fn key_kind_name(code: u64) -> Option<&'static str> {
    match code {
        1 => Some(u64::NAME),
        2 => Some(str::NAME),
        3 => Some(HashedStr::NAME),
        4 => Some("rkyv-archived"),
        _ => None,
    }
}
