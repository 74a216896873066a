//! [`ArchivedIdMap`]: an id map whose records are rkyv archives (see the [module docs](super)), and its builder.

use super::*;

/// A read-only map from keys to rkyv archives of `T`, mapped from a file or held as an in-memory image. `K` is
/// `u64`, `str`, [`HashedStr`](crate::HashedStr) or [`ByArchive<K>`](crate::ByArchive); the index, multi-maps and
/// the approximate map are those of [`IdMap`].
///
/// # Examples
/// ```
/// use seqring_mapped::{Archivable, ArchivedIdMap, Mapped};
///
/// #[derive(rkyv::Archive, rkyv::Serialize)]
/// struct Animal {
///     cage: u16,
///     genotype: String,
///     weights_g: Vec<f32>,
/// }
/// impl Archivable for Animal {
///     const TYPE_NAME: &'static str = "doc::Animal/v1";
/// }
///
/// let animals = [
///     ("m17", Animal { cage: 3, genotype: "wt".into(), weights_g: vec![21.5, 22.0] }),
///     ("m42", Animal { cage: 4, genotype: "ko".into(), weights_g: vec![] }),
/// ];
/// let map = ArchivedIdMap::<str, Animal>::build_in_memory(animals)?;
/// let m42 = map.get("m42")?.unwrap();
/// assert_eq!((m42.cage.to_native(), m42.genotype.as_str()), (4, "ko"));
/// assert!(map.get("m99")?.is_none());
///
/// // the image is a valid file: send it anywhere and read it back (validated)
/// let copy = ArchivedIdMap::<str, Animal>::from_bytes(map.as_bytes())?;
/// assert_eq!(copy.get("m17")?.unwrap().weights_g[1], 22.0);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub struct ArchivedIdMap<K: ?Sized, T> {
    map: IdMap<K, u64>,
    verified: Verified,
    _t: PhantomData<fn() -> T>,
}

impl<K: MapKey + ?Sized, T: Archivable> ArchivedIdMap<K, T> {
    /// Builds a plain map (one value per key) into a new file at `path` and maps it.
    ///
    /// # Errors
    /// [`MappedError::DuplicateKey`] if a key repeats, [`MappedError::Serialize`] if rkyv fails on a value,
    /// [`MappedError::Io`] on any file error (nothing is left at `path` then).
    ///
    /// # Examples
    /// ```
    /// # use seqring_mapped::{Archivable, ArchivedIdMap, Mapped};
    /// # #[derive(rkyv::Archive, rkyv::Serialize)]
    /// # struct Animal { cage: u16, genotype: String }
    /// # impl Archivable for Animal {
    /// #     const TYPE_NAME: &'static str = "doc::Animal/v1";
    /// # }
    /// # fn animal(cage: u16) -> Animal { Animal { cage, genotype: "wt".into() } }
    /// let dir = tempfile::tempdir()?;
    /// let m = ArchivedIdMap::<str, Animal>::build([("m1", animal(3)), ("m2", animal(4))], dir.path().join("a.map"))?;
    /// assert_eq!(m.get("m2")?.unwrap().cage, 4);
    /// assert!(ArchivedIdMap::<str, Animal>::build([("m1", animal(1)), ("m1", animal(2))], dir.path().join("d.map")).is_err());
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn build<I, Q, R>(items: I, path: impl AsRef<Path>) -> Result<ArchivedIdMap<K, T>, MappedError>
    where
        I: IntoIterator<Item = (Q, R)>,
        Q: AsKey<K::Query>,
        R: Borrow<T>,
    {
        Self::builder(path).build(items)
    }

    /// [`build`](Self::build) into an in-memory image.
    ///
    /// # Errors
    /// [`MappedError::DuplicateKey`] or [`MappedError::Serialize`].
    ///
    /// # Examples
    /// ```
    /// # use seqring_mapped::{Archivable, ArchivedIdMap, Mapped};
    /// # #[derive(rkyv::Archive, rkyv::Serialize)]
    /// # struct Animal { cage: u16, genotype: String }
    /// # impl Archivable for Animal {
    /// #     const TYPE_NAME: &'static str = "doc::Animal/v1";
    /// # }
    /// # fn animal(cage: u16) -> Animal { Animal { cage, genotype: "wt".into() } }
    /// let m = ArchivedIdMap::<u64, Animal>::build_in_memory([(17u64, animal(3))])?;
    /// assert_eq!(m.get(&17)?.unwrap().genotype, "wt");
    /// assert!(m.into_image().is_some());
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn build_in_memory<I, Q, R>(items: I) -> Result<ArchivedIdMap<K, T>, MappedError>
    where
        I: IntoIterator<Item = (Q, R)>,
        Q: AsKey<K::Query>,
        R: Borrow<T>,
    {
        Self::builder_in_memory().build(items)
    }

    /// A builder for a new file at `path` (multi-map, index, values one by one).
    ///
    /// # Examples
    /// ```
    /// # use seqring_mapped::{Archivable, ArchivedIdMap, Mapped};
    /// # #[derive(rkyv::Archive, rkyv::Serialize)]
    /// # struct Animal { cage: u16, genotype: String }
    /// # impl Archivable for Animal {
    /// #     const TYPE_NAME: &'static str = "doc::Animal/v1";
    /// # }
    /// # fn animal(cage: u16) -> Animal { Animal { cage, genotype: "wt".into() } }
    /// let dir = tempfile::tempdir()?;
    /// let mut b = ArchivedIdMap::<str, Animal>::builder(dir.path().join("a.map")).multi(true);
    /// b.insert("cage-3", &animal(3))?;
    /// b.insert("cage-3", &animal(3))?;
    /// assert_eq!(b.finish()?.get_all("cage-3").len(), 2);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn builder(path: impl AsRef<Path>) -> ArchivedIdMapBuilder<K, T> {
        ArchivedIdMapBuilder::new(Target::File(path.as_ref().to_owned()))
    }

    /// A builder of an in-memory image.
    ///
    /// # Examples
    /// ```
    /// # use seqring_mapped::{Archivable, ArchivedIdMap, Mapped};
    /// # #[derive(rkyv::Archive, rkyv::Serialize)]
    /// # struct Animal { cage: u16, genotype: String }
    /// # impl Archivable for Animal {
    /// #     const TYPE_NAME: &'static str = "doc::Animal/v1";
    /// # }
    /// # fn animal(cage: u16) -> Animal { Animal { cage, genotype: "wt".into() } }
    /// let mut b = ArchivedIdMap::<u64, Animal>::builder_in_memory();
    /// b.insert(&1, &animal(9))?;
    /// let m = b.finish()?;
    /// assert_eq!(m.path(), std::path::Path::new(seqring_mapped::MEMORY_LABEL));
    /// assert_eq!(m.get(&1)?.unwrap().cage, 9);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn builder_in_memory() -> ArchivedIdMapBuilder<K, T> {
        ArchivedIdMapBuilder::new(Target::Memory)
    }

    #[inline]
    fn record(&self, i: usize) -> Result<&T::Archived, MappedError> {
        let file = self.map.file();
        let bytes = archive_of(file, i, self.map.record_count())
            .ok_or_else(|| MappedError::corrupt(file.path(), format!("record {i}: length or offsets out of range")))?;
        if self.verified.get() {
            // SAFETY: `verify` validated every record of this immutable file or image.
            return Ok(unsafe { unchecked::<T>(bytes) });
        }
        checked::<T>(file, i, bytes)
    }

    /// The first (for a plain map: the only) value of `key`, validated (unless the map was verified), or `None`.
    ///
    /// # Errors
    /// As [`ArchivedRecords::get`].
    ///
    /// # Examples
    /// ```
    /// # use seqring_mapped::{Archivable, ArchivedIdMap, Mapped};
    /// # #[derive(rkyv::Archive, rkyv::Serialize)]
    /// # struct Animal { cage: u16, genotype: String }
    /// # impl Archivable for Animal {
    /// #     const TYPE_NAME: &'static str = "doc::Animal/v1";
    /// # }
    /// # fn animal(cage: u16) -> Animal { Animal { cage, genotype: "wt".into() } }
    /// let m = ArchivedIdMap::<str, Animal>::build_in_memory([("m1", animal(3))])?;
    /// assert_eq!(m.get("m1")?.map(|a| a.cage.to_native()), Some(3));
    /// assert!(m.get("m9")?.is_none());
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    #[inline]
    pub fn get(&self, key: &K::Query) -> Result<Option<&T::Archived>, MappedError> {
        let r = self.map.find_range(key);
        if r.is_empty() {
            return Ok(None);
        }
        self.record(r.start).map(Some)
    }

    /// All values of `key` in insertion order (none if absent), each validated as by [`get`](Self::get).
    ///
    /// # Examples
    /// ```
    /// # use seqring_mapped::{Archivable, ArchivedIdMap, Mapped};
    /// # #[derive(rkyv::Archive, rkyv::Serialize)]
    /// # struct Animal { cage: u16, genotype: String }
    /// # impl Archivable for Animal {
    /// #     const TYPE_NAME: &'static str = "doc::Animal/v1";
    /// # }
    /// # fn animal(cage: u16) -> Animal { Animal { cage, genotype: "wt".into() } }
    /// let m = ArchivedIdMap::<u64, Animal>::builder_in_memory().multi(true).build([(1u64, animal(3)), (1, animal(4))])?;
    /// let cages = m.get_all(&1).map(|a| a.map(|a| a.cage.to_native())).collect::<Result<Vec<_>, _>>()?;
    /// assert_eq!(cages, [3, 4]);
    /// assert_eq!(m.get_all(&2).len(), 0);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn get_all(&self, key: &K::Query) -> impl ExactSizeIterator<Item = Result<&T::Archived, MappedError>> + '_ {
        self.map.find_range(key).map(move |i| self.record(i))
    }

    /// The first value of `key` without validation.
    ///
    /// # Safety
    /// As [`ArchivedRecords::get_unchecked`]: the map passed [`verify`](Self::verify) and is unchanged since.
    ///
    /// # Examples
    /// ```
    /// # use seqring_mapped::{Archivable, ArchivedIdMap, Mapped};
    /// # #[derive(rkyv::Archive, rkyv::Serialize)]
    /// # struct Animal { cage: u16, genotype: String }
    /// # impl Archivable for Animal {
    /// #     const TYPE_NAME: &'static str = "doc::Animal/v1";
    /// # }
    /// # fn animal(cage: u16) -> Animal { Animal { cage, genotype: "wt".into() } }
    /// let m = ArchivedIdMap::<str, Animal>::build_in_memory([("m1", animal(3))])?;
    /// m.verify()?;
    /// // SAFETY: `verify` validated every record, and the image cannot change.
    /// assert_eq!(unsafe { m.get_unchecked("m1") }.map(|a| a.cage.to_native()), Some(3));
    /// assert!(unsafe { m.get_unchecked("m2") }.is_none());
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    #[inline]
    pub unsafe fn get_unchecked(&self, key: &K::Query) -> Option<&T::Archived> {
        let r = self.map.find_range(key);
        let bytes = archive_of(self.map.file(), r.start, self.map.record_count()).filter(|_| !r.is_empty())?;
        // SAFETY: the caller guarantees that every record is valid.
        Some(unsafe { unchecked::<T>(bytes) })
    }

    /// Whether `key` has a value.
    ///
    /// # Examples
    /// ```
    /// # use seqring_mapped::{Archivable, ArchivedIdMap, Mapped};
    /// # #[derive(rkyv::Archive, rkyv::Serialize)]
    /// # struct Animal { cage: u16, genotype: String }
    /// # impl Archivable for Animal {
    /// #     const TYPE_NAME: &'static str = "doc::Animal/v1";
    /// # }
    /// # fn animal(cage: u16) -> Animal { Animal { cage, genotype: "wt".into() } }
    /// let m = ArchivedIdMap::<str, Animal>::build_in_memory([("m1", animal(3))])?;
    /// assert!(m.contains_key("m1") && !m.contains_key("m2"));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn contains_key(&self, key: &K::Query) -> bool {
        !self.map.find_range(key).is_empty()
    }

    /// Every key with the positions of its values in file order (see [`IdMap::iter`](super::IdMap::iter) for what
    /// keys come back as); read a value with [`value_at`](Self::value_at).
    ///
    /// # Examples
    /// ```
    /// # use seqring_mapped::{Archivable, ArchivedIdMap, Mapped};
    /// # #[derive(rkyv::Archive, rkyv::Serialize)]
    /// # struct Animal { cage: u16, genotype: String }
    /// # impl Archivable for Animal {
    /// #     const TYPE_NAME: &'static str = "doc::Animal/v1";
    /// # }
    /// # fn animal(cage: u16) -> Animal { Animal { cage, genotype: "wt".into() } }
    /// let m = ArchivedIdMap::<str, Animal>::build_in_memory([("m1", animal(3)), ("m2", animal(4))])?;
    /// let mut cages = Vec::new();
    /// for (key, positions) in m.keys() {
    ///     for i in positions {
    ///         cages.push((key.to_string(), m.value_at(i)?.unwrap().cage.to_native()));
    ///     }
    /// }
    /// cages.sort();
    /// assert_eq!(cages, [("m1".to_string(), 3), ("m2".to_string(), 4)]);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn keys(&self) -> impl Iterator<Item = (K::Stored<'_>, Range<usize>)> + '_ {
        self.map.key_ranges()
    }

    /// The value at position `i` (`0..record_count()`), validated as by [`get`](Self::get).
    ///
    /// # Errors
    /// As [`ArchivedRecords::get`].
    ///
    /// # Examples
    /// ```
    /// # use seqring_mapped::{Archivable, ArchivedIdMap, Mapped};
    /// # #[derive(rkyv::Archive, rkyv::Serialize)]
    /// # struct Animal { cage: u16, genotype: String }
    /// # impl Archivable for Animal {
    /// #     const TYPE_NAME: &'static str = "doc::Animal/v1";
    /// # }
    /// # fn animal(cage: u16) -> Animal { Animal { cage, genotype: "wt".into() } }
    /// let m = ArchivedIdMap::<u64, Animal>::build_in_memory([(5u64, animal(3))])?;
    /// assert_eq!(m.value_at(0)?.unwrap().cage, 3);
    /// assert!(m.value_at(1)?.is_none());
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn value_at(&self, i: usize) -> Result<Option<&T::Archived>, MappedError> {
        if i >= self.map.record_count() {
            return Ok(None);
        }
        self.record(i).map(Some)
    }

    /// The number of distinct keys.
    ///
    /// # Examples
    /// ```
    /// # use seqring_mapped::{Archivable, ArchivedIdMap, Mapped};
    /// # #[derive(rkyv::Archive, rkyv::Serialize)]
    /// # struct Animal { cage: u16, genotype: String }
    /// # impl Archivable for Animal {
    /// #     const TYPE_NAME: &'static str = "doc::Animal/v1";
    /// # }
    /// # fn animal(cage: u16) -> Animal { Animal { cage, genotype: "wt".into() } }
    /// let m = ArchivedIdMap::<u64, Animal>::builder_in_memory().multi(true).build([(1u64, animal(1)), (1, animal(2))])?;
    /// assert_eq!((m.len(), m.record_count()), (1, 2));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn len(&self) -> usize {
        self.map.len()
    }

    /// Whether the map has no keys.
    ///
    /// # Examples
    /// ```
    /// # use seqring_mapped::{Archivable, ArchivedIdMap, Mapped};
    /// # #[derive(rkyv::Archive, rkyv::Serialize)]
    /// # struct Animal { cage: u16, genotype: String }
    /// # impl Archivable for Animal {
    /// #     const TYPE_NAME: &'static str = "doc::Animal/v1";
    /// # }
    /// # fn animal(cage: u16) -> Animal { Animal { cage, genotype: "wt".into() } }
    /// assert!(ArchivedIdMap::<u64, Animal>::build_in_memory(Vec::<(u64, Animal)>::new())?.is_empty());
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn is_empty(&self) -> bool {
        self.map.is_empty()
    }

    /// The number of values (equal to [`len`](Self::len) for a plain map).
    ///
    /// # Examples
    /// ```
    /// # use seqring_mapped::{Archivable, ArchivedIdMap, Mapped};
    /// # #[derive(rkyv::Archive, rkyv::Serialize)]
    /// # struct Animal { cage: u16, genotype: String }
    /// # impl Archivable for Animal {
    /// #     const TYPE_NAME: &'static str = "doc::Animal/v1";
    /// # }
    /// # fn animal(cage: u16) -> Animal { Animal { cage, genotype: "wt".into() } }
    /// let m = ArchivedIdMap::<u64, Animal>::build_in_memory([(1u64, animal(1)), (2, animal(2))])?;
    /// assert_eq!(m.record_count(), m.len());
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn record_count(&self) -> usize {
        self.map.record_count()
    }

    /// Whether the map was built as a multi-map.
    ///
    /// # Examples
    /// ```
    /// # use seqring_mapped::{Archivable, ArchivedIdMap, Mapped};
    /// # #[derive(rkyv::Archive, rkyv::Serialize)]
    /// # struct Animal { cage: u16, genotype: String }
    /// # impl Archivable for Animal {
    /// #     const TYPE_NAME: &'static str = "doc::Animal/v1";
    /// # }
    /// # fn animal(cage: u16) -> Animal { Animal { cage, genotype: "wt".into() } }
    /// let m = ArchivedIdMap::<u64, Animal>::builder_in_memory().multi(true).build([(1u64, animal(1))])?;
    /// assert!(m.is_multi());
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn is_multi(&self) -> bool {
        self.map.is_multi()
    }

    /// The index the map uses.
    ///
    /// # Examples
    /// ```
    /// # use seqring_mapped::{Archivable, ArchivedIdMap, Mapped};
    /// # #[derive(rkyv::Archive, rkyv::Serialize)]
    /// # struct Animal { cage: u16, genotype: String }
    /// # impl Archivable for Animal {
    /// #     const TYPE_NAME: &'static str = "doc::Animal/v1";
    /// # }
    /// # fn animal(cage: u16) -> Animal { Animal { cage, genotype: "wt".into() } }
    /// use seqring_mapped::IndexKind;
    /// let m = ArchivedIdMap::<u64, Animal>::builder_in_memory().index(IndexKind::Sorted).build([(1u64, animal(1))])?;
    /// assert_eq!(m.index_kind(), IndexKind::Sorted);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn index_kind(&self) -> IndexKind {
        self.map.index_kind()
    }

    /// Whether [`verify`](Self::verify) has succeeded on this handle.
    ///
    /// # Examples
    /// ```
    /// # use seqring_mapped::{Archivable, ArchivedIdMap, Mapped};
    /// # #[derive(rkyv::Archive, rkyv::Serialize)]
    /// # struct Animal { cage: u16, genotype: String }
    /// # impl Archivable for Animal {
    /// #     const TYPE_NAME: &'static str = "doc::Animal/v1";
    /// # }
    /// # fn animal(cage: u16) -> Animal { Animal { cage, genotype: "wt".into() } }
    /// let m = ArchivedIdMap::<u64, Animal>::build_in_memory([(1u64, animal(1))])?;
    /// assert!(!m.is_verified());
    /// m.verify()?;
    /// assert!(m.is_verified());
    /// // `from_bytes` verifies
    /// assert!(ArchivedIdMap::<u64, Animal>::from_bytes(m.as_bytes())?.is_verified());
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn is_verified(&self) -> bool {
        self.verified.get()
    }

    /// The whole file or image, header included.
    ///
    /// # Examples
    /// ```
    /// # use seqring_mapped::{Archivable, ArchivedIdMap, Mapped};
    /// # #[derive(rkyv::Archive, rkyv::Serialize)]
    /// # struct Animal { cage: u16, genotype: String }
    /// # impl Archivable for Animal {
    /// #     const TYPE_NAME: &'static str = "doc::Animal/v1";
    /// # }
    /// # fn animal(cage: u16) -> Animal { Animal { cage, genotype: "wt".into() } }
    /// let dir = tempfile::tempdir()?;
    /// let m = ArchivedIdMap::<u64, Animal>::build_in_memory([(1u64, animal(1))])?;
    /// std::fs::write(dir.path().join("a.map"), m.as_bytes())?;
    /// assert_eq!(ArchivedIdMap::<u64, Animal>::open(dir.path().join("a.map"))?.get(&1)?.unwrap().cage, 1);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn as_bytes(&self) -> &[u8] {
        self.map.file().bytes()
    }

    /// The in-memory image (`None` for a mapped file).
    ///
    /// # Examples
    /// ```
    /// # use seqring_mapped::{Archivable, ArchivedIdMap, Mapped};
    /// # #[derive(rkyv::Archive, rkyv::Serialize)]
    /// # struct Animal { cage: u16, genotype: String }
    /// # impl Archivable for Animal {
    /// #     const TYPE_NAME: &'static str = "doc::Animal/v1";
    /// # }
    /// # fn animal(cage: u16) -> Animal { Animal { cage, genotype: "wt".into() } }
    /// let m = ArchivedIdMap::<u64, Animal>::build_in_memory([(1u64, animal(1))])?;
    /// let image = m.into_image().expect("built in memory");
    /// assert_eq!(ArchivedIdMap::<u64, Animal>::from_image(image)?.len(), 1);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn into_image(self) -> Option<AlignedVec<MAX_ALIGN>> {
        self.map.into_file().into_image()
    }
}

impl<K: MapKey + ?Sized, T: Archivable> Typed for ArchivedIdMap<K, T> {
    const TAG: TypeTag = archived_tag::<T>();
}

impl<K: MapKey + ?Sized, T: Archivable> Sealed for ArchivedIdMap<K, T> {
    const KINDS: &'static [FileKind] = &[FileKind::ArchivedIdMap];

    fn from_file(File(file): File, tag: TypeTag) -> Result<ArchivedIdMap<K, T>, MappedError> {
        check_format::<T>(&file, tag)?;
        Ok(ArchivedIdMap {
            map: IdMap::from_checked_file(file)?,
            verified: Verified::default(),
            _t: PhantomData,
        })
    }
}

/// Opening (from a file or an image) and verifying (import [`Mapped`]).
impl<K: MapKey + ?Sized, T: Archivable> Mapped for ArchivedIdMap<K, T> {
    /// Checks the whole index as [`IdMap`]'s [`verify`](Mapped::verify) does, then every archive as
    /// [`ArchivedRecords`]' does; afterwards lookups skip their validation.
    ///
    /// # Errors
    /// [`MappedError::SectionChecksum`], [`MappedError::Corrupt`] or [`MappedError::InvalidRecord`].
    fn verify(&self) -> Result<(), MappedError> {
        self.map.verify()?;
        verify_archives::<T>(self.map.file(), self.map.record_count())?;
        self.verified.set();
        Ok(())
    }

    fn path(&self) -> &Path {
        self.map.path()
    }
}

impl<K: MapKey + ?Sized, T> fmt::Debug for ArchivedIdMap<K, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ArchivedIdMap")
            .field("map", &self.map)
            .field("verified", &self.verified.get())
            .finish()
    }
}

/// Builds an [`ArchivedIdMap`]: serialises each value as it is inserted and collects it as in
/// [`IdMapBuilder`] (spilled next to the destination, or in memory for an image).
///
/// # Examples
/// ```
/// use seqring_mapped::{Archivable, ArchivedIdMap};
/// #[derive(rkyv::Archive, rkyv::Serialize)]
/// struct Event { t_us: i64, name: String }
/// impl Archivable for Event {
///     const TYPE_NAME: &'static str = "doc::Event/v1";
/// }
/// let dir = tempfile::tempdir()?;
/// let mut b = ArchivedIdMap::<u64, Event>::builder(dir.path().join("events.map")).multi(true);
/// b.insert(&7, &Event { t_us: 10, name: "lick".into() })?;
/// b.insert(&7, &Event { t_us: 25, name: "reward".into() })?;
/// let events = b.finish()?;
/// let names: Vec<_> = events.get_all(&7).map(|e| e.map(|e| e.name.to_string())).collect::<Result<_, _>>()?;
/// assert_eq!(names, ["lick", "reward"]);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[must_use = "nothing is written until `finish` or `build` is called"]
pub struct ArchivedIdMapBuilder<K: ?Sized, T> {
    inner: IdMapBuilder<K, u64>,
    enc: Encoder,
    path: std::path::PathBuf,
    _t: PhantomData<fn(&T)>,
}

impl<K: MapKey + ?Sized, T: Archivable> ArchivedIdMapBuilder<K, T> {
    fn new(target: Target) -> ArchivedIdMapBuilder<K, T> {
        let path = target.path().to_owned();
        ArchivedIdMapBuilder {
            inner: IdMapBuilder::new(
                target,
                FileKind::ArchivedIdMap,
                archived_tag::<T>(),
                ArchiveFormat::current().encode(),
            ),
            enc: Encoder::new(),
            path,
            _t: PhantomData,
        }
    }

    /// Allows several values per key (default: a repeated key is an error).
    ///
    /// # Examples
    /// ```
    /// # use seqring_mapped::{Archivable, ArchivedIdMap, Mapped};
    /// # #[derive(rkyv::Archive, rkyv::Serialize)]
    /// # struct Animal { cage: u16, genotype: String }
    /// # impl Archivable for Animal {
    /// #     const TYPE_NAME: &'static str = "doc::Animal/v1";
    /// # }
    /// # fn animal(cage: u16) -> Animal { Animal { cage, genotype: "wt".into() } }
    /// let m = ArchivedIdMap::<str, Animal>::builder_in_memory().multi(true).build([("a", animal(1)), ("a", animal(2))])?;
    /// assert_eq!(m.get_all("a").len(), 2);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn multi(mut self, multi: bool) -> Self {
        self.inner = self.inner.multi(multi);
        self
    }

    /// Chooses the index (default: [`IndexKind::default`]).
    ///
    /// # Examples
    /// ```
    /// # use seqring_mapped::{Archivable, ArchivedIdMap, Mapped};
    /// # #[derive(rkyv::Archive, rkyv::Serialize)]
    /// # struct Animal { cage: u16, genotype: String }
    /// # impl Archivable for Animal {
    /// #     const TYPE_NAME: &'static str = "doc::Animal/v1";
    /// # }
    /// # fn animal(cage: u16) -> Animal { Animal { cage, genotype: "wt".into() } }
    /// use seqring_mapped::IndexKind;
    /// let m = ArchivedIdMap::<str, Animal>::builder_in_memory().index(IndexKind::PerfectHash).build([("a", animal(1))])?;
    /// assert_eq!(m.index_kind(), IndexKind::PerfectHash);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn index(mut self, index: IndexKind) -> Self {
        self.inner = self.inner.index(index);
        self
    }

    /// Serialises `value` and adds it for `key`.
    ///
    /// # Errors
    /// [`MappedError::Serialize`] if rkyv fails, [`MappedError::Io`] if spilling fails.
    ///
    /// # Examples
    /// ```
    /// # use seqring_mapped::{Archivable, ArchivedIdMap, Mapped};
    /// # #[derive(rkyv::Archive, rkyv::Serialize)]
    /// # struct Animal { cage: u16, genotype: String }
    /// # impl Archivable for Animal {
    /// #     const TYPE_NAME: &'static str = "doc::Animal/v1";
    /// # }
    /// # fn animal(cage: u16) -> Animal { Animal { cage, genotype: "wt".into() } }
    /// use seqring_mapped::ByArchive;
    /// let mut b = ArchivedIdMap::<ByArchive<(u32, String)>, Animal>::builder_in_memory();
    /// b.insert(&(17, "s1".to_string()), &animal(3))?;
    /// assert_eq!(b.finish()?.get(&(17, "s1".to_string()))?.unwrap().cage, 3);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn insert(&mut self, key: &K::Query, value: &T) -> Result<(), MappedError> {
        let (archive, n) = self.enc.encode(value, &self.path)?;
        self.inner.insert_with_tail(key, &n, archive)
    }

    /// Adds every `(key, value)` of `items` and finishes.
    ///
    /// # Errors
    /// As [`insert`](Self::insert) and [`finish`](Self::finish).
    ///
    /// # Examples
    /// ```
    /// # use seqring_mapped::{Archivable, ArchivedIdMap, Mapped};
    /// # #[derive(rkyv::Archive, rkyv::Serialize)]
    /// # struct Animal { cage: u16, genotype: String }
    /// # impl Archivable for Animal {
    /// #     const TYPE_NAME: &'static str = "doc::Animal/v1";
    /// # }
    /// # fn animal(cage: u16) -> Animal { Animal { cage, genotype: "wt".into() } }
    /// let animals = vec![(1u64, animal(1)), (2, animal(2))];
    /// // pairs by reference work too
    /// let m = ArchivedIdMap::<u64, Animal>::builder_in_memory().build(animals.iter().map(|(k, a)| (k, a)))?;
    /// assert_eq!(m.get(&2)?.unwrap().cage, 2);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn build<I, Q, R>(mut self, items: I) -> Result<ArchivedIdMap<K, T>, MappedError>
    where
        I: IntoIterator<Item = (Q, R)>,
        Q: AsKey<K::Query>,
        R: Borrow<T>,
    {
        for (k, v) in items {
            self.insert(k.as_key(), v.borrow())?;
        }
        self.finish()
    }

    /// Builds the index and writes the file (renamed into place and mapped) or the image.
    ///
    /// # Errors
    /// [`MappedError::DuplicateKey`] if a key repeats in a plain map, [`MappedError::Io`] on any file error.
    ///
    /// # Examples
    /// ```
    /// # use seqring_mapped::{Archivable, ArchivedIdMap, Mapped};
    /// # #[derive(rkyv::Archive, rkyv::Serialize)]
    /// # struct Animal { cage: u16, genotype: String }
    /// # impl Archivable for Animal {
    /// #     const TYPE_NAME: &'static str = "doc::Animal/v1";
    /// # }
    /// # fn animal(cage: u16) -> Animal { Animal { cage, genotype: "wt".into() } }
    /// let dir = tempfile::tempdir()?;
    /// let path = dir.path().join("a.map");
    /// let mut b = ArchivedIdMap::<u64, Animal>::builder(&path);
    /// b.insert(&1, &animal(1))?;
    /// assert!(!path.exists());
    /// let m = b.finish()?;
    /// assert_eq!((m.path(), m.len()), (path.as_path(), 1));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn finish(self) -> Result<ArchivedIdMap<K, T>, MappedError> {
        ArchivedIdMap::from_file(File(self.inner.finish_file()?), archived_tag::<T>())
    }
}
