//! [`ArchivedRecords`]: a file of rkyv archives, one per record, each validated on first access (see the
//! [module docs](super)), and its streaming writer.

use super::*;

/// A read-only list of rkyv archives of `T`, mapped from a file or held as an in-memory image.
///
/// # Examples
/// ```
/// use seqring_mapped::{Archivable, ArchivedRecords, Mapped};
/// use std::collections::BTreeMap;
///
/// #[derive(rkyv::Archive, rkyv::Serialize)]
/// struct Session {
///     name: String,
///     events: Vec<String>,
///     params: BTreeMap<String, f64>,
///     note: Option<String>,
/// }
/// impl Archivable for Session {
///     const TYPE_NAME: &'static str = "doc::Session/v1";
/// }
///
/// let dir = tempfile::tempdir()?;
/// let path = dir.path().join("sessions.map");
/// let s = Session {
///     name: "s1".into(),
///     events: vec!["lick".into(), "reward".into()],
///     params: BTreeMap::from([("gain".to_string(), 0.5)]),
///     note: None,
/// };
/// ArchivedRecords::<Session>::build([&s], &path)?;
///
/// let sessions = ArchivedRecords::<Session>::open_verified(&path)?;
/// let first = sessions.get(0)?.unwrap();
/// assert_eq!(first.name, "s1");
/// assert_eq!(first.events[1], "reward");
/// assert_eq!(first.params.get("gain").map(|g| g.to_native()), Some(0.5));
/// assert!(first.note.is_none());
/// assert!(sessions.get(1)?.is_none());
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub struct ArchivedRecords<T> {
    file: MappedFile,
    len: usize,
    verified: Verified,
    _t: PhantomData<fn() -> T>,
}

impl<T: Archivable> ArchivedRecords<T> {
    /// Serialises `values` into a new file at `path` (temp file + rename, streamed: one archive in memory at a
    /// time) and maps it.
    ///
    /// # Errors
    /// [`MappedError::Io`] on any file error (nothing is left at `path` then), [`MappedError::Serialize`] if rkyv
    /// fails on a value.
    ///
    /// # Examples
    /// ```
    /// # use seqring_mapped::{Archivable, ArchivedRecords, Mapped};
    /// # #[derive(rkyv::Archive, rkyv::Serialize)]
    /// # struct Note { text: String, tags: Vec<u8> }
    /// # impl Archivable for Note {
    /// #     const TYPE_NAME: &'static str = "doc::Note/v1";
    /// # }
    /// # fn note(text: &str) -> Note { Note { text: text.into(), tags: vec![] } }
    /// let dir = tempfile::tempdir()?;
    /// let notes = ArchivedRecords::<Note>::build([note("a"), note("b")], dir.path().join("n.map"))?;
    /// assert_eq!(notes.get(1)?.unwrap().text, "b");
    /// // values can also be passed by reference
    /// let again = ArchivedRecords::<Note>::build(&[note("c")], dir.path().join("c.map"))?;
    /// assert_eq!(again.len(), 1);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn build<I>(values: I, path: impl AsRef<Path>) -> Result<ArchivedRecords<T>, MappedError>
    where
        I: IntoIterator,
        I::Item: Borrow<T>,
    {
        Self::writer(path)?.extend(values)?.finish()
    }

    /// Serialises `values` into an image in memory (no file, no temporary file). [`into_image`](Self::into_image)
    /// gives the bytes, which [`from_image`](Self::from_image) reads back and which are also a valid file.
    ///
    /// # Errors
    /// [`MappedError::Serialize`] if rkyv fails on a value.
    ///
    /// # Examples
    /// ```
    /// # use seqring_mapped::{Archivable, ArchivedRecords, Mapped};
    /// # #[derive(rkyv::Archive, rkyv::Serialize)]
    /// # struct Note { text: String, tags: Vec<u8> }
    /// # impl Archivable for Note {
    /// #     const TYPE_NAME: &'static str = "doc::Note/v1";
    /// # }
    /// # fn note(text: &str) -> Note { Note { text: text.into(), tags: vec![] } }
    /// let image = ArchivedRecords::<Note>::build_in_memory([note("x")])?;
    /// assert_eq!(image.get(0)?.unwrap().text, "x");
    /// // the image is a valid file
    /// let dir = tempfile::tempdir()?;
    /// std::fs::write(dir.path().join("n.map"), image.as_bytes())?;
    /// assert_eq!(ArchivedRecords::<Note>::open_verified(dir.path().join("n.map"))?.len(), 1);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn build_in_memory<I>(values: I) -> Result<ArchivedRecords<T>, MappedError>
    where
        I: IntoIterator,
        I::Item: Borrow<T>,
    {
        Self::writer_in_memory()?.extend(values)?.finish()
    }

    /// A streaming writer for a new file at `path`.
    ///
    /// # Errors
    /// [`MappedError::Io`] if the temporary file cannot be created.
    ///
    /// # Examples
    /// ```
    /// # use seqring_mapped::{Archivable, ArchivedRecords, Mapped};
    /// # #[derive(rkyv::Archive, rkyv::Serialize)]
    /// # struct Note { text: String, tags: Vec<u8> }
    /// # impl Archivable for Note {
    /// #     const TYPE_NAME: &'static str = "doc::Note/v1";
    /// # }
    /// # fn note(text: &str) -> Note { Note { text: text.into(), tags: vec![] } }
    /// let dir = tempfile::tempdir()?;
    /// let mut w = ArchivedRecords::<Note>::writer(dir.path().join("n.map"))?;
    /// for i in 0..3 {
    ///     w.push(&Note { text: format!("trial {i}"), tags: vec![i] })?;
    /// }
    /// let notes = w.finish()?;
    /// assert_eq!(notes.get(2)?.unwrap().tags.as_slice(), &[2]);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn writer(path: impl AsRef<Path>) -> Result<ArchivedRecordsWriter<T>, MappedError> {
        ArchivedRecordsWriter::new(Target::File(path.as_ref().to_owned()))
    }

    /// A streaming writer of an in-memory image.
    ///
    /// # Errors
    /// None in practice (the signature matches [`writer`](Self::writer)).
    ///
    /// # Examples
    /// ```
    /// # use seqring_mapped::{Archivable, ArchivedRecords, Mapped};
    /// # #[derive(rkyv::Archive, rkyv::Serialize)]
    /// # struct Note { text: String, tags: Vec<u8> }
    /// # impl Archivable for Note {
    /// #     const TYPE_NAME: &'static str = "doc::Note/v1";
    /// # }
    /// # fn note(text: &str) -> Note { Note { text: text.into(), tags: vec![] } }
    /// let mut w = ArchivedRecords::<Note>::writer_in_memory()?;
    /// w.push(&note("kept in memory"))?;
    /// let notes = w.finish()?;
    /// assert_eq!(notes.path(), std::path::Path::new(seqring_mapped::MEMORY_LABEL));
    /// assert!(notes.into_image().is_some());
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn writer_in_memory() -> Result<ArchivedRecordsWriter<T>, MappedError> {
        ArchivedRecordsWriter::new(Target::Memory)
    }

    /// Record `i`, validated (unless the file was verified), or `None` if `i >= len()`.
    ///
    /// # Errors
    /// [`MappedError::InvalidRecord`] if the record is not a valid archive of `T`, [`MappedError::Corrupt`] if its
    /// length or offsets are out of range.
    ///
    /// # Examples
    /// ```
    /// # use seqring_mapped::{Archivable, ArchivedRecords, Mapped};
    /// # #[derive(rkyv::Archive, rkyv::Serialize)]
    /// # struct Note { text: String, tags: Vec<u8> }
    /// # impl Archivable for Note {
    /// #     const TYPE_NAME: &'static str = "doc::Note/v1";
    /// # }
    /// # fn note(text: &str) -> Note { Note { text: text.into(), tags: vec![] } }
    /// let notes = ArchivedRecords::<Note>::build_in_memory([note("a")])?;
    /// let a = notes.get(0)?.expect("one record");
    /// assert_eq!(a.text.as_str(), "a");
    /// assert!(notes.get(1)?.is_none());
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    #[inline]
    pub fn get(&self, i: usize) -> Result<Option<&T::Archived>, MappedError> {
        if i >= self.len {
            return Ok(None);
        }
        let bytes = archive_of(&self.file, i, self.len)
            .ok_or_else(|| MappedError::corrupt(self.path(), format!("record {i}: length or offsets out of range")))?;
        if self.verified.get() {
            // SAFETY: `verify` validated every record of this immutable file or image.
            return Ok(Some(unsafe { unchecked::<T>(bytes) }));
        }
        checked::<T>(&self.file, i, bytes).map(Some)
    }

    /// Record `i` without validation, or `None` if `i >= len()` (or its offsets are out of range).
    ///
    /// # Safety
    /// Record `i` must be a valid archive of `T`: the file passed [`verify`](Self::verify) (in this or another
    /// process, or an earlier `open_verified` of the same file) and nobody has modified it in place since, which
    /// the [sharing contract](super#invariants-and-the-sharing-contract) forbids.
    ///
    /// # Examples
    /// ```
    /// # use seqring_mapped::{Archivable, ArchivedRecords, Mapped};
    /// # #[derive(rkyv::Archive, rkyv::Serialize)]
    /// # struct Note { text: String, tags: Vec<u8> }
    /// # impl Archivable for Note {
    /// #     const TYPE_NAME: &'static str = "doc::Note/v1";
    /// # }
    /// # fn note(text: &str) -> Note { Note { text: text.into(), tags: vec![] } }
    /// let notes = ArchivedRecords::<Note>::build_in_memory([note("a")])?;
    /// notes.verify()?;
    /// // SAFETY: `verify` validated every record, and the image cannot change.
    /// let a = unsafe { notes.get_unchecked(0) }.unwrap();
    /// assert_eq!(a.text, "a");
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    #[inline]
    pub unsafe fn get_unchecked(&self, i: usize) -> Option<&T::Archived> {
        let bytes = archive_of(&self.file, i, self.len)?;
        // SAFETY: the caller guarantees that record `i` is valid.
        Some(unsafe { unchecked::<T>(bytes) })
    }

    /// The records in order, each validated as by [`get`](Self::get).
    ///
    /// # Examples
    /// ```
    /// # use seqring_mapped::{Archivable, ArchivedRecords, Mapped};
    /// # #[derive(rkyv::Archive, rkyv::Serialize)]
    /// # struct Note { text: String, tags: Vec<u8> }
    /// # impl Archivable for Note {
    /// #     const TYPE_NAME: &'static str = "doc::Note/v1";
    /// # }
    /// # fn note(text: &str) -> Note { Note { text: text.into(), tags: vec![] } }
    /// let notes = ArchivedRecords::<Note>::build_in_memory([note("a"), note("b")])?;
    /// let texts = notes.iter().map(|n| n.map(|n| n.text.to_string())).collect::<Result<Vec<_>, _>>()?;
    /// assert_eq!(texts, ["a", "b"]);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn iter(&self) -> impl Iterator<Item = Result<&T::Archived, MappedError>> + '_ {
        (0..self.len).filter_map(|i| self.get(i).transpose())
    }

    /// The number of records.
    ///
    /// # Examples
    /// ```
    /// # use seqring_mapped::{Archivable, ArchivedRecords, Mapped};
    /// # #[derive(rkyv::Archive, rkyv::Serialize)]
    /// # struct Note { text: String, tags: Vec<u8> }
    /// # impl Archivable for Note {
    /// #     const TYPE_NAME: &'static str = "doc::Note/v1";
    /// # }
    /// # fn note(text: &str) -> Note { Note { text: text.into(), tags: vec![] } }
    /// let notes = ArchivedRecords::<Note>::build_in_memory([note("a"), note("b")])?;
    /// assert_eq!(notes.len(), 2);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn len(&self) -> usize {
        self.len
    }

    /// Whether there are no records.
    ///
    /// # Examples
    /// ```
    /// # use seqring_mapped::{Archivable, ArchivedRecords, Mapped};
    /// # #[derive(rkyv::Archive, rkyv::Serialize)]
    /// # struct Note { text: String, tags: Vec<u8> }
    /// # impl Archivable for Note {
    /// #     const TYPE_NAME: &'static str = "doc::Note/v1";
    /// # }
    /// # fn note(text: &str) -> Note { Note { text: text.into(), tags: vec![] } }
    /// assert!(ArchivedRecords::<Note>::build_in_memory(Vec::<Note>::new())?.is_empty());
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Whether [`verify`](Self::verify) has succeeded on this handle.
    ///
    /// # Examples
    /// ```
    /// # use seqring_mapped::{Archivable, ArchivedRecords, Mapped};
    /// # #[derive(rkyv::Archive, rkyv::Serialize)]
    /// # struct Note { text: String, tags: Vec<u8> }
    /// # impl Archivable for Note {
    /// #     const TYPE_NAME: &'static str = "doc::Note/v1";
    /// # }
    /// # fn note(text: &str) -> Note { Note { text: text.into(), tags: vec![] } }
    /// let dir = tempfile::tempdir()?;
    /// let path = dir.path().join("n.map");
    /// ArchivedRecords::<Note>::build([note("a")], &path)?;
    /// let notes = ArchivedRecords::<Note>::open(&path)?;
    /// assert!(!notes.is_verified()); // each `get` validates its record
    /// notes.verify()?;
    /// assert!(notes.is_verified()); // now lookups skip the validation
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn is_verified(&self) -> bool {
        self.verified.get()
    }

    /// The whole file or image, header included: write it to a file, or send it, and read it back with
    /// [`open`](Self::open) or [`from_bytes`](Self::from_bytes).
    ///
    /// # Examples
    /// ```
    /// # use seqring_mapped::{Archivable, ArchivedRecords, Mapped};
    /// # #[derive(rkyv::Archive, rkyv::Serialize)]
    /// # struct Note { text: String, tags: Vec<u8> }
    /// # impl Archivable for Note {
    /// #     const TYPE_NAME: &'static str = "doc::Note/v1";
    /// # }
    /// # fn note(text: &str) -> Note { Note { text: text.into(), tags: vec![] } }
    /// let notes = ArchivedRecords::<Note>::build_in_memory([note("a")])?;
    /// let bytes = notes.as_bytes();
    /// assert_eq!(&bytes[..8], b"SEQRMAP\0");
    /// assert_eq!(ArchivedRecords::<Note>::from_bytes(bytes)?.get(0)?.unwrap().text, "a");
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn as_bytes(&self) -> &[u8] {
        self.file.bytes()
    }

    /// The in-memory image (`None` for a mapped file).
    ///
    /// # Examples
    /// ```
    /// # use seqring_mapped::{Archivable, ArchivedRecords, Mapped};
    /// # #[derive(rkyv::Archive, rkyv::Serialize)]
    /// # struct Note { text: String, tags: Vec<u8> }
    /// # impl Archivable for Note {
    /// #     const TYPE_NAME: &'static str = "doc::Note/v1";
    /// # }
    /// # fn note(text: &str) -> Note { Note { text: text.into(), tags: vec![] } }
    /// let dir = tempfile::tempdir()?;
    /// let in_memory = ArchivedRecords::<Note>::build_in_memory([note("a")])?;
    /// let image = in_memory.into_image().expect("built in memory");
    /// assert_eq!(ArchivedRecords::<Note>::from_image(image)?.len(), 1);
    /// let on_disk = ArchivedRecords::<Note>::build([note("a")], dir.path().join("n.map"))?;
    /// assert!(on_disk.into_image().is_none());
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn into_image(self) -> Option<AlignedVec<MAX_ALIGN>> {
        self.file.into_image()
    }
}

impl<T: Archivable> Typed for ArchivedRecords<T> {
    const TAG: TypeTag = archived_tag::<T>();
}

impl<T: Archivable> Sealed for ArchivedRecords<T> {
    const KINDS: &'static [FileKind] = &[FileKind::ArchivedRecords];

    fn from_file(File(file): File, tag: TypeTag) -> Result<ArchivedRecords<T>, MappedError> {
        check_format::<T>(&file, tag)?;
        let h = &file.header;
        if h.flags & !FLAG_TAILS != 0 || h.param0 != 0 || h.param1 != 0 {
            return Err(MappedError::corrupt(
                file.path(),
                "header: unknown flags or parameters for archived records",
            ));
        }
        for i in 3..MAX_SECTIONS {
            file.expect_absent(i, "extra")?;
        }
        let len = check_record_sections(&file, 8)?;
        Ok(ArchivedRecords {
            file,
            len,
            verified: Verified::default(),
            _t: PhantomData,
        })
    }
}

/// Opening (from a file or an image) and verifying (import [`Mapped`]).
impl<T: Archivable> Mapped for ArchivedRecords<T> {
    /// Checks every checksum, the offsets, the alignment and padding of every archive, and validates every record
    /// with bytecheck; afterwards lookups skip their validation. Reads the whole file once.
    ///
    /// # Errors
    /// [`MappedError::SectionChecksum`], [`MappedError::Corrupt`] or [`MappedError::InvalidRecord`].
    fn verify(&self) -> Result<(), MappedError> {
        verify_record_sections(&self.file)?;
        verify_archives::<T>(&self.file, self.len)?;
        self.verified.set();
        Ok(())
    }

    fn path(&self) -> &Path {
        self.file.path()
    }
}

impl<T> fmt::Debug for ArchivedRecords<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ArchivedRecords")
            .field("path", &self.file.path())
            .field("len", &self.len)
            .field("in_memory", &self.file.in_memory())
            .field("verified", &self.verified.get())
            .finish()
    }
}

/// A streaming writer of an [`ArchivedRecords`] file or image; dropping it without [`finish`](Self::finish) leaves
/// the destination untouched.
///
/// # Examples
/// ```
/// # use seqring_mapped::{Archivable, ArchivedRecords, Mapped};
/// # #[derive(rkyv::Archive, rkyv::Serialize)]
/// # struct Note { text: String, tags: Vec<u8> }
/// # impl Archivable for Note {
/// #     const TYPE_NAME: &'static str = "doc::Note/v1";
/// # }
/// # fn note(text: &str) -> Note { Note { text: text.into(), tags: vec![] } }
/// let dir = tempfile::tempdir()?;
/// let path = dir.path().join("n.map");
/// let mut w = ArchivedRecords::<Note>::writer(&path)?;
/// w.push(&note("unfinished"))?;
/// drop(w);
/// assert!(!path.exists());
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[must_use = "nothing is written to the destination until `finish` is called"]
pub struct ArchivedRecordsWriter<T> {
    w: FileWriter,
    sink: RecordSink,
    enc: Encoder,
    _t: PhantomData<fn(&T)>,
}

impl<T: Archivable> ArchivedRecordsWriter<T> {
    fn new(target: Target) -> Result<ArchivedRecordsWriter<T>, MappedError> {
        let mut w = FileWriter::for_target(target)?;
        let sink = RecordSink::new(&mut w)?;
        Ok(ArchivedRecordsWriter {
            w,
            sink,
            enc: Encoder::new(),
            _t: PhantomData,
        })
    }

    /// Serialises and appends one value.
    ///
    /// # Errors
    /// [`MappedError::Serialize`] if rkyv fails, [`MappedError::Io`] if a write fails.
    ///
    /// # Examples
    /// ```
    /// # use seqring_mapped::{Archivable, ArchivedRecords, Mapped};
    /// # #[derive(rkyv::Archive, rkyv::Serialize)]
    /// # struct Note { text: String, tags: Vec<u8> }
    /// # impl Archivable for Note {
    /// #     const TYPE_NAME: &'static str = "doc::Note/v1";
    /// # }
    /// # fn note(text: &str) -> Note { Note { text: text.into(), tags: vec![] } }
    /// let mut w = ArchivedRecords::<Note>::writer_in_memory()?;
    /// w.push(&Note { text: "t".into(), tags: vec![1, 2] })?;
    /// assert_eq!(w.finish()?.get(0)?.unwrap().tags.len(), 2);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn push(&mut self, value: &T) -> Result<(), MappedError> {
        let (archive, n) = self.enc.encode(value, self.w.path())?;
        self.sink.push(&mut self.w, &n.to_le_bytes(), archive)
    }

    fn extend<I>(mut self, values: I) -> Result<Self, MappedError>
    where
        I: IntoIterator,
        I::Item: Borrow<T>,
    {
        for v in values {
            self.push(v.borrow())?;
        }
        Ok(self)
    }

    /// Finishes the file (renamed into place and mapped) or the image.
    ///
    /// # Errors
    /// [`MappedError::Io`] if writing, syncing, renaming or mapping fails.
    ///
    /// # Examples
    /// ```
    /// # use seqring_mapped::{Archivable, ArchivedRecords, Mapped};
    /// # #[derive(rkyv::Archive, rkyv::Serialize)]
    /// # struct Note { text: String, tags: Vec<u8> }
    /// # impl Archivable for Note {
    /// #     const TYPE_NAME: &'static str = "doc::Note/v1";
    /// # }
    /// # fn note(text: &str) -> Note { Note { text: text.into(), tags: vec![] } }
    /// let dir = tempfile::tempdir()?;
    /// let path = dir.path().join("n.map");
    /// let mut w = ArchivedRecords::<Note>::writer(&path)?;
    /// w.push(&note("a"))?;
    /// let notes = w.finish()?;
    /// assert_eq!((notes.path(), notes.len()), (path.as_path(), 1));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn finish(mut self) -> Result<ArchivedRecords<T>, MappedError> {
        let mut h = Header::new(FileKind::ArchivedRecords, archived_tag::<T>());
        h.ext = ArchiveFormat::current().encode();
        self.sink.finish(&mut self.w, &mut h)?;
        let path = self.w.path().to_owned();
        match self.w.finish_image(h)? {
            Some(image) => ArchivedRecords::from_image(image),
            None => ArchivedRecords::open(path),
        }
    }
}
