//! Building an id map into a file: [`IdMapBuilder`] collects the keys and records, groups them by key, builds the
//! index and writes the sections (see the [module docs](super) for the layout).

use super::hash::{build_phf, ceil_log2};
use super::*;

/// Items collected by an [`IdMapBuilder`] before the index is built.
pub(super) struct Pending {
    /// (key hash, insertion number) per record.
    pub(super) keys: Vec<(u64, u64)>,
    /// Exact string keys back to back, and the offsets (`keys.len() + 1`) into them.
    pub(super) key_blob: Vec<u8>,
    pub(super) key_offsets: Vec<u64>,
    /// Records in insertion order.
    pub(super) records: Spill,
    /// Tail offsets (created on the first non-empty tail) and the tail blob.
    pub(super) tails: Option<(Vec<u64>, Spill)>,
}

/// Builds an [`IdMap`] file: collects the key hashes (16 bytes per record, plus the bytes of exact string keys) in
/// memory and spills records and tails to unlinked temporary files in the destination directory, then sorts, builds
/// the index and writes the file (temp + rename).
///
/// # Examples
/// ```
/// use seqring_mapped::{IdMap, IndexKind};
/// let dir = tempfile::tempdir()?;
/// let mut b = IdMap::<u64, u32>::builder(dir.path().join("m")).multi(true).index(IndexKind::Sorted);
/// b.insert_with_tail(&9, &1, b"first")?;
/// b.insert(&9, &2)?;
/// let m = b.finish()?;
/// assert_eq!(m.get_all(&9), &[1, 2]);
/// assert_eq!(m.get_with_tail(&9), Some((&1, &b"first"[..])));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[must_use = "nothing is written until `finish` or `build` is called"]
pub struct IdMapBuilder<K: ?Sized, T> {
    target: Target,
    kind: FileKind,
    ext: [u8; EXT_LEN],
    multi: bool,
    index: IndexKind,
    tag: TypeTag,
    /// The bytes of one record: `size_of::<T>()`, or the tag's size for rows of a run-time type
    /// ([`IdRows`](super::IdRows), whose `T` is a placeholder).
    record_size: usize,
    state: Option<Pending>,
    _k: PhantomData<fn() -> (*const K, T)>,
}

impl<K: MapKey + ?Sized> IdMapBuilder<K, u8> {
    /// A builder of an id-map file at `path` whose records are rows of the run-time type `tag` (for
    /// [`IdRows`](super::IdRows); `u8` is a placeholder, the rows are `tag.size` bytes).
    pub(crate) fn for_rows(path: &std::path::Path, tag: TypeTag) -> IdMapBuilder<K, u8> {
        let mut b = IdMapBuilder::new(Target::File(path.to_owned()), FileKind::IdMap, tag, [0; EXT_LEN]);
        b.record_size = tag.size as usize;
        b
    }
}

impl<K: MapKey + ?Sized, T: Pod> IdMapBuilder<K, T> {
    /// A builder of a file or image of `kind` (an id map, or an archived id map whose records are the archives'
    /// lengths), with the kind's header extension.
    pub(crate) fn new(target: Target, kind: FileKind, tag: TypeTag, ext: [u8; EXT_LEN]) -> IdMapBuilder<K, T> {
        IdMapBuilder {
            target,
            kind,
            ext,
            multi: false,
            index: IndexKind::default(),
            tag,
            record_size: std::mem::size_of::<T>(),
            state: None,
            _k: PhantomData,
        }
    }

    /// Allows several records per key (default: a repeated key is an error).
    ///
    /// # Examples
    /// ```
    /// use seqring_mapped::IdMap;
    /// let dir = tempfile::tempdir()?;
    /// let m = IdMap::<str, u8>::builder(dir.path().join("m.map")).multi(true).build([("a", 1u8), ("a", 2)])?;
    /// assert_eq!(m.get_all("a"), &[1, 2]);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn multi(mut self, multi: bool) -> Self {
        self.multi = multi;
        self
    }

    /// Chooses the index (default: [`IndexKind::default`]).
    ///
    /// # Examples
    /// ```
    /// use seqring_mapped::{IdMap, IndexKind};
    /// let dir = tempfile::tempdir()?;
    /// for kind in [IndexKind::Sorted, IndexKind::PerfectHash] {
    ///     let m = IdMap::<u64, u64>::builder(dir.path().join(format!("{kind:?}.map")))
    ///         .index(kind)
    ///         .build((0..100u64).map(|i| (i, i * i)))?;
    ///     assert_eq!((m.index_kind(), m.get(&9)), (kind, Some(&81)));
    /// }
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn index(mut self, index: IndexKind) -> Self {
        self.index = index;
        self
    }

    fn pending(&mut self) -> Result<&mut Pending, MappedError> {
        if self.state.is_none() {
            if self.record_size != std::mem::size_of::<T>() {
                crate::rows::check_layout(self.tag, self.target.path())?;
            } else if !self.kind.is_archived() {
                self.tag.check_type::<T>(self.target.path())?;
            }
            self.state = Some(Pending {
                keys: Vec::new(),
                key_blob: Vec::new(),
                key_offsets: vec![0],
                records: Spill::for_target(&self.target)?,
                tails: None,
            });
        }
        Ok(self.state.as_mut().expect("initialised above"))
    }

    /// Adds a record for `key`.
    ///
    /// # Errors
    /// [`MappedError::Io`] if spilling fails; [`MappedError::UnsupportedType`] for an unmappable `T`.
    ///
    /// # Examples
    /// ```
    /// use seqring_mapped::{ByArchive, IdMap};
    /// let dir = tempfile::tempdir()?;
    /// let mut b = IdMap::<ByArchive<(u8, u8)>, f32>::builder(dir.path().join("m.map"));
    /// b.insert(&(1, 2), &0.5)?;
    /// b.insert(&(2, 1), &1.5)?;
    /// let m = b.finish()?;
    /// assert_eq!(m.get(&(2, 1)), Some(&1.5));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    #[inline]
    pub fn insert(&mut self, key: &K::Query, record: &T) -> Result<(), MappedError> {
        self.insert_with_tail(key, record, &[])
    }

    /// Adds a record for `key` with a variable-length tail.
    ///
    /// # Errors
    /// As [`insert`](Self::insert).
    ///
    /// # Examples
    /// ```
    /// use seqring_mapped::IdMap;
    /// let dir = tempfile::tempdir()?;
    /// let mut b = IdMap::<str, u32>::builder(dir.path().join("m.map"));
    /// b.insert_with_tail("m17", &17, "wild type".as_bytes())?;
    /// let m = b.finish()?;
    /// assert_eq!(m.get_with_tail("m17"), Some((&17, "wild type".as_bytes())));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn insert_with_tail(&mut self, key: &K::Query, record: &T, tail: &[u8]) -> Result<(), MappedError> {
        self.push(key, bytemuck::bytes_of(record), tail)
    }

    /// Adds a record given as its `record_size` bytes (the caller checked the length).
    fn push(&mut self, key: &K::Query, record: &[u8], tail: &[u8]) -> Result<(), MappedError> {
        let target = self.target.clone();
        let st = self.pending()?;
        let seq = st.keys.len() as u64;
        let bytes = K::bytes(key);
        st.keys.push((K::hash(key, &bytes), seq));
        if K::STORES_KEYS {
            st.key_blob.extend_from_slice(&bytes);
            st.key_offsets.push(st.key_blob.len() as u64);
        }
        st.records.write(record)?;
        if !tail.is_empty() && st.tails.is_none() {
            st.tails = Some((vec![0; seq as usize + 1], Spill::for_target(&target)?));
        }
        if let Some((offsets, blob)) = &mut st.tails {
            blob.write(tail)?;
            offsets.push(blob.len());
        }
        Ok(())
    }

    /// Adds every `(key, record)` of `items` and finishes.
    ///
    /// # Errors
    /// As [`finish`](Self::finish).
    ///
    /// # Examples
    /// ```
    /// use seqring_mapped::IdMap;
    /// let dir = tempfile::tempdir()?;
    /// let ids: Vec<u64> = vec![10, 20, 30];
    /// // keys and records by reference or by value
    /// let m = IdMap::<u64, u64>::builder(dir.path().join("m.map")).build(ids.iter().map(|id| (id, id / 10)))?;
    /// assert_eq!(m.get(&30), Some(&3));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn build<I, Q, R>(mut self, items: I) -> Result<IdMap<K, T>, MappedError>
    where
        I: IntoIterator<Item = (Q, R)>,
        Q: AsKey<K::Query>,
        R: Borrow<T>,
    {
        for (k, r) in items {
            self.insert(k.as_key(), r.borrow())?;
        }
        self.finish()
    }

    /// Sorts the keys, builds the index, writes the file, renames it into place and maps it.
    ///
    /// # Errors
    /// [`MappedError::DuplicateKey`] if a key repeats in a plain map, [`MappedError::Io`] on any file error
    /// (nothing is left at `path` then), [`MappedError::UnsupportedType`] for an unmappable `T`.
    ///
    /// # Examples
    /// ```
    /// use seqring_mapped::{IdMap, Mapped, MappedError};
    /// let dir = tempfile::tempdir()?;
    /// let path = dir.path().join("m.map");
    /// let mut b = IdMap::<u64, u8>::builder(&path);
    /// b.insert(&1, &1)?;
    /// assert!(!path.exists()); // nothing until `finish`
    /// let m = b.finish()?;
    /// assert_eq!(m.path(), path);
    ///
    /// let mut dup = IdMap::<u64, u8>::builder(dir.path().join("dup.map"));
    /// dup.insert(&1, &1)?;
    /// dup.insert(&1, &2)?;
    /// assert!(matches!(dup.finish(), Err(MappedError::DuplicateKey { .. })));
    /// assert!(!dir.path().join("dup.map").exists());
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn finish(self) -> Result<IdMap<K, T>, MappedError> {
        let tag = self.tag;
        let file = self.finish_file()?;
        file.check_tag::<T>(tag)?;
        IdMap::from_checked_file(file)
    }

    /// Adds a row of a run-time type (a builder from [`for_rows`](Self::for_rows)).
    ///
    /// # Errors
    /// [`MappedError::UnsupportedType`] for a row that is not the tag's size; as [`insert`](Self::insert).
    pub(crate) fn insert_row(&mut self, key: &K::Query, row: &[u8]) -> Result<(), MappedError> {
        if row.len() != self.record_size {
            return Err(MappedError::UnsupportedType {
                path: self.target.path().to_owned(),
                reason: format!("a row of {} bytes where the tag says {}", row.len(), self.record_size),
            });
        }
        self.push(key, row, &[])
    }

    /// Writes the file (or image) and opens it, with the header checks of its kind but no tag check.
    pub(crate) fn finish_file(mut self) -> Result<MappedFile, MappedError> {
        self.pending()?;
        let st = self.state.take().expect("initialised above");
        let mut h = Header::new(self.kind, self.tag);
        h.ext = self.ext;
        match write_map::<K>(&self.target, self.multi, self.index, self.record_size, h, st)? {
            Some(image) => MappedFile::from_memory(image, &[self.kind]),
            None => MappedFile::open(self.target.path(), &[self.kind]),
        }
    }
}

/// The groups (one per distinct key) of sorted `keys`: `groups[g]..groups[g + 1]` are the positions of key `g`.
/// Also reports whether two distinct keys share a hash.
pub(super) fn group_keys<K: MapKey + ?Sized>(st: &mut Pending) -> (Vec<usize>, bool) {
    st.keys.sort_unstable();
    let key = |offs: &[u64], seq: u64| offs[seq as usize] as usize..offs[seq as usize + 1] as usize;
    let mut groups = Vec::with_capacity(st.keys.len() + 1);
    let mut collide = false;
    let mut i = 0;
    let n = st.keys.len();
    while i < n {
        let mut j = i + 1;
        while j < n && st.keys[j].0 == st.keys[i].0 {
            j += 1;
        }
        if K::STORES_KEYS && j - i > 1 {
            // Equal hashes: order by key bytes (then insertion) and split into one group per distinct key.
            let (offs, blob) = (&st.key_offsets, &st.key_blob);
            st.keys[i..j].sort_by(|a, b| blob[key(offs, a.1)].cmp(&blob[key(offs, b.1)]).then(a.1.cmp(&b.1)));
            groups.push(i);
            for t in i + 1..j {
                if blob[key(offs, st.keys[t].1)] != blob[key(offs, st.keys[t - 1].1)] {
                    groups.push(t);
                    collide = true;
                }
            }
        } else {
            groups.push(i);
        }
        i = j;
    }
    groups.push(n);
    (groups, collide)
}

/// Writes the map with header `h` (kind, tag and extension set) to `target`; returns the image for memory.
pub(super) fn write_map<K: MapKey + ?Sized>(
    target: &Target,
    multi: bool,
    requested: IndexKind,
    size: usize,
    mut h: Header,
    mut st: Pending,
) -> Result<Option<AlignedVec<MAX_ALIGN>>, MappedError> {
    let path = target.path();
    let (groups, collide) = group_keys::<K>(&mut st);
    let n_keys = groups.len() - 1;
    if !multi {
        if let Some(g) = (0..n_keys).find(|&g| groups[g + 1] - groups[g] > 1) {
            let (h, seq) = st.keys[groups[g]];
            let kb = if K::STORES_KEYS {
                &st.key_blob[st.key_offsets[seq as usize] as usize..st.key_offsets[seq as usize + 1] as usize]
            } else {
                &[]
            };
            return Err(MappedError::DuplicateKey {
                path: path.to_owned(),
                key: K::describe(h, kb),
            });
        }
    }
    let hashes: Vec<u64> = groups[..n_keys].iter().map(|&g| st.keys[g].0).collect();
    // Entry order: `order[e]` is group + 1, or 0 for an empty slot.
    let (param_index, order, index_bytes): (u64, Vec<usize>, Vec<u8>) = match (requested == IndexKind::PerfectHash
        && !collide)
        .then(|| build_phf(&hashes))
        .flatten()
    {
        Some((seed, pilots, order)) => (
            (IndexKind::PerfectHash.code() << 8) | (u64::from(seed) << 32),
            order,
            bytemuck::cast_slice(&pilots).to_vec(),
        ),
        None => {
            let bits = ceil_log2(n_keys as u64).saturating_sub(1);
            let wide = n_keys as u64 > u64::from(u32::MAX);
            let mut dir = Vec::with_capacity((1usize << bits) + 1);
            let mut e = 0usize;
            for d in 0..=(1u64 << bits) {
                while e < n_keys && dir_bucket(hashes[e], bits) < d {
                    e += 1;
                }
                dir.push(e as u64);
            }
            let bytes = if wide {
                bytemuck::cast_slice(&dir).to_vec()
            } else {
                let narrow: Vec<u32> = dir.iter().map(|&x| x as u32).collect();
                bytemuck::cast_slice(&narrow).to_vec()
            };
            let width: u64 = if wide { 8 } else { 4 };
            let param = (IndexKind::Sorted.code() << 8) | (u64::from(bits) << 16) | (width << 24);
            (param, (1..=n_keys).collect(), bytes)
        }
    };
    drop(hashes);

    let records = st.records.into_map()?;
    let tails = match st.tails {
        Some((offsets, blob)) => Some((offsets, blob.into_map()?)),
        None => None,
    };
    let mut w = FileWriter::for_target(target.clone())?;
    let mut sink = RecordSink::new(&mut w)?;
    let mut entries = w.spill()?;
    let mut key_blob = w.spill()?;
    let mut entry = [0u64; 3];
    let stride = if K::STORES_KEYS { 3 } else { 2 };
    let (mut n_records, mut key_end) = (0u64, 0u64);
    let missing = || MappedError::corrupt(path, "a spill file is shorter than what was written to it");
    for &slot in &order {
        entry[0] = 0;
        entry[1] = n_records;
        entry[2] = key_end;
        if slot != 0 {
            let g = slot - 1;
            entry[0] = st.keys[groups[g]].0;
            for &(_, seq) in &st.keys[groups[g]..groups[g + 1]] {
                let s = seq as usize;
                let rec = records.get(s * size..(s + 1) * size).ok_or_else(missing)?;
                let tail = match &tails {
                    Some((offs, blob)) => blob.get(offs[s] as usize..offs[s + 1] as usize).ok_or_else(missing)?,
                    None => &[],
                };
                sink.push(&mut w, rec, tail)?;
                n_records += 1;
            }
            if K::STORES_KEYS {
                let seq = st.keys[groups[g]].1 as usize;
                let kb = &st.key_blob[st.key_offsets[seq] as usize..st.key_offsets[seq + 1] as usize];
                key_blob.write(kb)?;
                key_end += kb.len() as u64;
            }
        }
        entries.write(bytemuck::cast_slice(&entry[..stride]))?;
    }
    entries.write(bytemuck::cast_slice(&[0, n_records, key_end][..stride]))?;

    sink.finish(&mut w, &mut h)?;
    w.append(ENTRIES, entries)?;
    w.begin(INDEX)?;
    w.write(&index_bytes)?;
    w.end()?;
    if K::STORES_KEYS {
        w.append(KEY_BLOB, key_blob)?;
    }
    if multi {
        h.flags |= FLAG_MULTI;
    }
    h.param0 = n_keys as u64;
    h.param1 = u64::from(K::CODE) | param_index;
    w.finish_image(h)
}
