//! An unassembled log directory: its `.npy` entries and `.seg` segments, indexed per source without reading any
//! payload.
//!
//! Invariants:
//! - The index holds 24 bytes per message ([`Item`]) plus the names of the `.npy` files; payloads are read one at a
//!   time, when needed, from the memory-mapped segments or from each `.npy` file (opened, read and closed at once, so
//!   the number of open files never grows with the number of entries).
//! - Each source's items are sorted by timestamp, stably: `.npy` entries first (by their `_k` suffix), then segment
//!   records in segment-name and file order. The k-th further item with the same timestamp gets the `_k` suffix.
//! - Only the directory itself is read (not its subdirectories), as ataraxis does.
//! - Each record is indexed once: the repeats a logger crash leaves (a batch written by the dead logger and again
//!   by its successor, see [`crate::format::segment`]) are skipped by their ring positions, segments taken in name order.

use std::collections::BTreeMap;
use std::fs::File;
use std::io::Read;
use std::path::{Path, PathBuf};

use rayon::prelude::*;
use seqring_platform::ReadOnlyMap;

use super::{AssembleError, EntryName, LogMessage, ONSET_TIMESTAMP};
use crate::format::npy::u8_vector_data;
use crate::format::segment::{Dedup, Segment, SegmentError, EXTENSION};

/// Bit set in [`Item::file`] for an item of a segment.
const SEG_FLAG: u32 = 1 << 31;
/// `.npy` files larger than this are memory-mapped instead of read into the reusable buffer.
const MAP_THRESHOLD: u64 = 4 << 20;

/// One message of the index.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Item {
    /// Elapsed µs since the source's onset.
    pub ts: u64,
    /// Segment: the payload's file offset. Npy: the `_k` suffix of the file name.
    pub pos: u64,
    /// Segment: the payload length.
    pub len: u32,
    /// The npy name index, or the segment index with [`SEG_FLAG`].
    pub file: u32,
}

impl Item {
    fn sort_key(&self) -> (u64, bool, u64) {
        let seg = self.file & SEG_FLAG != 0;
        (self.ts, seg, if seg { 0 } else { self.pos })
    }
}

/// What a source of a log directory holds, from the index (and its onset entry).
///
/// # Examples
/// ```
/// # use seqring::logger::DataLogger;
/// # let dir = tempfile::tempdir().unwrap();
/// # let name = format!("doc-source-summary-{}", std::process::id());
/// # let logger = DataLogger::builder(dir.path(), &name).start().unwrap();
/// # let source = logger.producer(7).unwrap();
/// # for (t, frame) in [(1_000, &b"frame 1"[..]), (2_000, b"frame 2"), (3_000, b"frame 3")] {
/// #     source.log_at(t, frame).unwrap();
/// # }
/// # let log_dir = logger.stop().unwrap().log_dir;
/// use seqring::archive::LogDir;
/// // a log directory in which source 7 logged three frames, 1, 2 and 3 ms after its onset
/// let summary = LogDir::open(&log_dir).unwrap().summary().unwrap();
/// let seven = &summary[0];
/// assert_eq!((seven.source_id, seven.message_count), (7, 3));
/// let onset = seven.onset_us.unwrap();
/// assert_eq!((seven.first_us, seven.last_us), (Some(onset + 1_000), Some(onset + 3_000)));
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SourceSummary {
    /// The source.
    pub source_id: u8,
    /// Its messages, the onset excluded.
    pub message_count: u64,
    /// Its onset, µs since the epoch, when it has an onset entry.
    pub onset_us: Option<u64>,
    /// The earliest message's time, µs since the epoch (elapsed µs when there is no onset).
    pub first_us: Option<u64>,
    /// The latest message's time, µs since the epoch (elapsed µs when there is no onset).
    pub last_us: Option<u64>,
}

/// An indexed, unassembled log directory.
///
/// # Examples
/// ```
/// use seqring::archive::LogDir;
/// let dir = tempfile::tempdir().unwrap();
/// let log = LogDir::open(dir.path()).unwrap();
/// assert_eq!(log.source_ids().count(), 0);
/// ```
#[derive(Debug)]
pub struct LogDir {
    dir: PathBuf,
    names: String,
    name_ends: Vec<usize>,
    segments: Vec<Segment>,
    sources: BTreeMap<u8, Vec<Item>>,
}

fn io(path: &Path) -> impl FnOnce(std::io::Error) -> AssembleError + '_ {
    move |source| AssembleError::Io {
        path: path.to_path_buf(),
        source,
    }
}

impl LogDir {
    /// Lists `dir` and indexes every `.npy` entry (by name) and every `.seg` segment (by reading its records and
    /// checking its checksums). Other files are ignored.
    ///
    /// # Errors
    /// [`AssembleError::NotADirectory`]; [`AssembleError::Io`] if listing fails; [`AssembleError::BadEntryName`]
    /// for a `.npy` file not named like a log entry; [`AssembleError::Segment`] for a torn or corrupt segment;
    /// [`AssembleError::BadOnset`] for a segment onset whose payload is not 8 bytes.
    ///
    /// # Examples
    /// ```
    /// # use seqring::archive::{assemble_log_archives, AssembleOptions};
    /// # use seqring::logger::DataLogger;
    /// # let dir = tempfile::tempdir().unwrap();
    /// # let name = format!("doc-logdir-open-{}", std::process::id());
    /// # let logger = DataLogger::builder(dir.path(), &name).start().unwrap();
    /// # let source = logger.producer(1).unwrap();
    /// # for (t, frame) in [(1_000, &b"frame 1"[..]), (2_000, b"frame 2"), (3_000, b"frame 3")] {
    /// #     source.log_at(t, frame).unwrap();
    /// # }
    /// # let source = logger.producer(7).unwrap();
    /// # for (t, frame) in [(1_000, &b"frame 1"[..]), (2_000, b"frame 2"), (3_000, b"frame 3")] {
    /// #     source.log_at(t, frame).unwrap();
    /// # }
    /// # let log_dir = logger.stop().unwrap().log_dir;
    /// use seqring::archive::LogDir;
    /// // a log directory, not yet assembled, in which sources 1 and 7 logged three frames each
    /// let log = LogDir::open(&log_dir).unwrap();
    /// assert_eq!(log.entry_count(7), 4); // the onset and three frames
    /// assert!(LogDir::open(log_dir.join("missing")).is_err());
    /// ```
    pub fn open(dir: impl AsRef<Path>) -> Result<Self, AssembleError> {
        let dir = dir.as_ref();
        if !dir.is_dir() {
            return Err(AssembleError::NotADirectory { path: dir.into() });
        }
        let mut log = LogDir {
            dir: dir.to_path_buf(),
            names: String::new(),
            name_ends: Vec::new(),
            segments: Vec::new(),
            sources: BTreeMap::new(),
        };
        let mut segment_paths = Vec::new();
        for entry in std::fs::read_dir(dir).map_err(io(dir))? {
            let entry = entry.map_err(io(dir))?;
            let file_name = entry.file_name();
            let path = entry.path();
            let bytes = file_name.as_encoded_bytes();
            let is_npy = bytes.ends_with(b".npy");
            let is_seg = Path::new(&file_name).extension() == Some(std::ffi::OsStr::new(EXTENSION));
            if !is_npy && !is_seg {
                continue;
            }
            let file_type = entry.file_type().map_err(io(&path))?;
            let is_file = file_type.is_file() || (file_type.is_symlink() && path.is_file());
            if !is_file {
                continue;
            }
            if is_seg {
                segment_paths.push(path);
                continue;
            }
            let name = file_name.to_str().and_then(|n| EntryName::parse(n).map(|p| (n, p)));
            let Some((name, parsed)) = name else {
                return Err(AssembleError::BadEntryName { path });
            };
            if log.name_ends.len() >= (SEG_FLAG - 1) as usize {
                return Err(AssembleError::EntryMismatch {
                    path: dir.into(),
                    reason: "more than 2^31 entries in one directory".into(),
                });
            }
            let index = log.name_ends.len() as u32;
            log.names.push_str(name);
            log.name_ends.push(log.names.len());
            log.sources.entry(parsed.source_id).or_default().push(Item {
                ts: parsed.timestamp,
                pos: u64::from(parsed.duplicate),
                len: 0,
                file: index,
            });
        }
        segment_paths.sort();
        log.segments = segment_paths
            .iter()
            .map(Segment::open)
            .collect::<Result<_, SegmentError>>()?;
        // What each segment reached in each ring, then what the segments before each one reached: a record at or
        // below that is a repeat.
        let reached: Vec<Dedup> = log.segments.par_iter().map(ring_ends).collect();
        let mut before = Vec::with_capacity(reached.len());
        let mut seen = Dedup::default();
        for r in &reached {
            before.push(seen.clone());
            seen.merge(r);
        }
        let per_segment: Vec<BTreeMap<u8, Vec<Item>>> = log
            .segments
            .par_iter()
            .zip(before)
            .enumerate()
            .map(|(index, (segment, dedup))| index_segment(index as u32, segment, dedup))
            .collect::<Result<_, _>>()?;
        for map in per_segment {
            for (source, items) in map {
                log.sources.entry(source).or_default().extend(items);
            }
        }
        log.sources
            .par_iter_mut()
            .for_each(|(_, items)| items.sort_by_key(Item::sort_key));
        Ok(log)
    }

    /// The directory.
    ///
    /// # Examples
    /// ```
    /// # use seqring::archive::{assemble_log_archives, AssembleOptions};
    /// # use seqring::logger::DataLogger;
    /// # let dir = tempfile::tempdir().unwrap();
    /// # let name = format!("doc-logdir-path-{}", std::process::id());
    /// # let logger = DataLogger::builder(dir.path(), &name).start().unwrap();
    /// # let source = logger.producer(1).unwrap();
    /// # for (t, frame) in [(1_000, &b"frame 1"[..]), (2_000, b"frame 2"), (3_000, b"frame 3")] {
    /// #     source.log_at(t, frame).unwrap();
    /// # }
    /// # let source = logger.producer(7).unwrap();
    /// # for (t, frame) in [(1_000, &b"frame 1"[..]), (2_000, b"frame 2"), (3_000, b"frame 3")] {
    /// #     source.log_at(t, frame).unwrap();
    /// # }
    /// # let log_dir = logger.stop().unwrap().log_dir;
    /// use seqring::archive::LogDir;
    /// // a log directory, not yet assembled, in which sources 1 and 7 logged three frames each
    /// let log = LogDir::open(&log_dir).unwrap();
    /// assert_eq!(log.path(), log_dir);
    /// ```
    pub fn path(&self) -> &Path {
        &self.dir
    }

    /// The sources with at least one message, in increasing order.
    ///
    /// # Examples
    /// ```
    /// # use seqring::archive::{assemble_log_archives, AssembleOptions};
    /// # use seqring::logger::DataLogger;
    /// # let dir = tempfile::tempdir().unwrap();
    /// # let name = format!("doc-logdir-sources-{}", std::process::id());
    /// # let logger = DataLogger::builder(dir.path(), &name).start().unwrap();
    /// # let source = logger.producer(1).unwrap();
    /// # for (t, frame) in [(1_000, &b"frame 1"[..]), (2_000, b"frame 2"), (3_000, b"frame 3")] {
    /// #     source.log_at(t, frame).unwrap();
    /// # }
    /// # let source = logger.producer(7).unwrap();
    /// # for (t, frame) in [(1_000, &b"frame 1"[..]), (2_000, b"frame 2"), (3_000, b"frame 3")] {
    /// #     source.log_at(t, frame).unwrap();
    /// # }
    /// # let log_dir = logger.stop().unwrap().log_dir;
    /// use seqring::archive::LogDir;
    /// // a log directory, not yet assembled, in which sources 1 and 7 logged three frames each
    /// let log = LogDir::open(&log_dir).unwrap();
    /// assert_eq!(log.source_ids().collect::<Vec<_>>(), [1, 7]);
    /// ```
    pub fn source_ids(&self) -> impl Iterator<Item = u8> + '_ {
        self.sources.keys().copied()
    }

    /// The number of entries of a source, its onset included.
    ///
    /// # Examples
    /// ```
    /// # use seqring::archive::{assemble_log_archives, AssembleOptions};
    /// # use seqring::logger::DataLogger;
    /// # let dir = tempfile::tempdir().unwrap();
    /// # let name = format!("doc-logdir-entries-{}", std::process::id());
    /// # let logger = DataLogger::builder(dir.path(), &name).start().unwrap();
    /// # let source = logger.producer(1).unwrap();
    /// # for (t, frame) in [(1_000, &b"frame 1"[..]), (2_000, b"frame 2"), (3_000, b"frame 3")] {
    /// #     source.log_at(t, frame).unwrap();
    /// # }
    /// # let source = logger.producer(7).unwrap();
    /// # for (t, frame) in [(1_000, &b"frame 1"[..]), (2_000, b"frame 2"), (3_000, b"frame 3")] {
    /// #     source.log_at(t, frame).unwrap();
    /// # }
    /// # let log_dir = logger.stop().unwrap().log_dir;
    /// use seqring::archive::LogDir;
    /// // a log directory, not yet assembled, in which sources 1 and 7 logged three frames each
    /// let log = LogDir::open(&log_dir).unwrap();
    /// assert_eq!((log.entry_count(1), log.entry_count(2)), (4, 0));
    /// ```
    pub fn entry_count(&self, source_id: u8) -> usize {
        self.sources.get(&source_id).map_or(0, Vec::len)
    }

    /// Every `.npy` entry and segment file of the directory.
    ///
    /// # Examples
    /// ```
    /// # use seqring::archive::{assemble_log_archives, AssembleOptions};
    /// # use seqring::logger::DataLogger;
    /// # let dir = tempfile::tempdir().unwrap();
    /// # let name = format!("doc-logdir-files-{}", std::process::id());
    /// # let logger = DataLogger::builder(dir.path(), &name).start().unwrap();
    /// # let source = logger.producer(1).unwrap();
    /// # for (t, frame) in [(1_000, &b"frame 1"[..]), (2_000, b"frame 2"), (3_000, b"frame 3")] {
    /// #     source.log_at(t, frame).unwrap();
    /// # }
    /// # let source = logger.producer(7).unwrap();
    /// # for (t, frame) in [(1_000, &b"frame 1"[..]), (2_000, b"frame 2"), (3_000, b"frame 3")] {
    /// #     source.log_at(t, frame).unwrap();
    /// # }
    /// # let log_dir = logger.stop().unwrap().log_dir;
    /// use seqring::archive::LogDir;
    /// // a log directory, not yet assembled, in which sources 1 and 7 logged three frames each
    /// let log = LogDir::open(&log_dir).unwrap();
    /// assert!(log.files().all(|f| f.starts_with(&log_dir) && f.exists()));
    /// assert_eq!(log.files().count(), log.file_count());
    /// ```
    pub fn files(&self) -> impl Iterator<Item = PathBuf> + '_ {
        (0..self.name_ends.len())
            .map(|i| self.dir.join(self.npy_name(i as u32)))
            .chain(self.segments.iter().map(|s| s.path().to_path_buf()))
    }

    /// The number of `.npy` entries and segment files.
    ///
    /// # Examples
    /// ```
    /// # use seqring::archive::{assemble_log_archives, AssembleOptions};
    /// # use seqring::logger::DataLogger;
    /// # let dir = tempfile::tempdir().unwrap();
    /// # let name = format!("doc-logdir-file-count-{}", std::process::id());
    /// # let logger = DataLogger::builder(dir.path(), &name).start().unwrap();
    /// # let source = logger.producer(1).unwrap();
    /// # for (t, frame) in [(1_000, &b"frame 1"[..]), (2_000, b"frame 2"), (3_000, b"frame 3")] {
    /// #     source.log_at(t, frame).unwrap();
    /// # }
    /// # let source = logger.producer(7).unwrap();
    /// # for (t, frame) in [(1_000, &b"frame 1"[..]), (2_000, b"frame 2"), (3_000, b"frame 3")] {
    /// #     source.log_at(t, frame).unwrap();
    /// # }
    /// # let log_dir = logger.stop().unwrap().log_dir;
    /// use seqring::archive::LogDir;
    /// // a log directory, not yet assembled, in which sources 1 and 7 logged three frames each
    /// let log = LogDir::open(&log_dir).unwrap();
    /// assert!(log.file_count() >= 1, "at least one segment");
    /// ```
    pub fn file_count(&self) -> usize {
        self.name_ends.len() + self.segments.len()
    }

    pub(crate) fn items(&self, source_id: u8) -> &[Item] {
        self.sources.get(&source_id).map_or(&[], Vec::as_slice)
    }

    fn npy_name(&self, index: u32) -> &str {
        let i = index as usize;
        let start = if i == 0 { 0 } else { self.name_ends[i - 1] };
        &self.names[start..self.name_ends[i]]
    }

    /// A description of an item for error messages.
    pub(crate) fn describe(&self, source_id: u8, item: &Item) -> String {
        if item.file & SEG_FLAG != 0 {
            let seg = &self.segments[(item.file & !SEG_FLAG) as usize];
            format!(
                "the record of source {source_id} at elapsed {} µs in {}",
                item.ts,
                seg.path().display()
            )
        } else {
            self.dir.join(self.npy_name(item.file)).display().to_string()
        }
    }

    /// The file an item comes from.
    pub(crate) fn item_path(&self, item: &Item) -> PathBuf {
        if item.file & SEG_FLAG != 0 {
            self.segments[(item.file & !SEG_FLAG) as usize].path().to_path_buf()
        } else {
            self.dir.join(self.npy_name(item.file))
        }
    }

    /// Checks that every source starts with an onset entry.
    pub(crate) fn check_onsets(&self) -> Result<(), AssembleError> {
        for (&source_id, items) in &self.sources {
            let first = &items[0];
            if first.ts != ONSET_TIMESTAMP {
                return Err(AssembleError::MissingOnset {
                    dir: self.dir.clone(),
                    source_id,
                    first: self.describe(source_id, first),
                });
            }
        }
        Ok(())
    }

    /// Summarises every source, reading only each source's onset entry.
    ///
    /// # Errors
    /// [`AssembleError`] if an onset entry cannot be read or is malformed.
    ///
    /// # Examples
    /// ```
    /// # use seqring::archive::{assemble_log_archives, AssembleOptions};
    /// # use seqring::logger::DataLogger;
    /// # let dir = tempfile::tempdir().unwrap();
    /// # let name = format!("doc-logdir-summary-{}", std::process::id());
    /// # let logger = DataLogger::builder(dir.path(), &name).start().unwrap();
    /// # let source = logger.producer(1).unwrap();
    /// # for (t, frame) in [(1_000, &b"frame 1"[..]), (2_000, b"frame 2"), (3_000, b"frame 3")] {
    /// #     source.log_at(t, frame).unwrap();
    /// # }
    /// # let source = logger.producer(7).unwrap();
    /// # for (t, frame) in [(1_000, &b"frame 1"[..]), (2_000, b"frame 2"), (3_000, b"frame 3")] {
    /// #     source.log_at(t, frame).unwrap();
    /// # }
    /// # let log_dir = logger.stop().unwrap().log_dir;
    /// use seqring::archive::LogDir;
    /// // a log directory, not yet assembled, in which sources 1 and 7 logged three frames each
    /// let log = LogDir::open(&log_dir).unwrap();
    /// let summary = log.summary().unwrap();
    /// let seven = summary.iter().find(|s| s.source_id == 7).unwrap();
    /// assert_eq!(seven.message_count, 3);
    /// assert_eq!(seven.last_us.unwrap() - seven.onset_us.unwrap(), 3_000);
    /// ```
    pub fn summary(&self) -> Result<Vec<SourceSummary>, AssembleError> {
        let mut reader = EntryReader::default();
        let mut out = Vec::with_capacity(self.sources.len());
        for (&source_id, items) in &self.sources {
            let has_onset = items[0].ts == ONSET_TIMESTAMP;
            let onset_us = if has_onset {
                Some(reader.onset(self, source_id, &items[0])?)
            } else {
                None
            };
            let messages = &items[usize::from(has_onset)..];
            let base = onset_us.unwrap_or(0);
            let at = |item: Option<&Item>| item.map(|i| base.saturating_add(i.ts));
            out.push(SourceSummary {
                source_id,
                message_count: messages.len() as u64,
                onset_us,
                first_us: at(messages.first()),
                last_us: at(messages.last()),
            });
        }
        Ok(out)
    }

    /// Calls `f` with every message of `source_id` (onset excluded) in archive order, with absolute timestamps.
    ///
    /// # Errors
    /// [`AssembleError::MissingOnset`] if the source has no onset entry, or an error reading an entry.
    ///
    /// # Examples
    /// ```
    /// # use seqring::archive::{assemble_log_archives, AssembleOptions};
    /// # use seqring::logger::DataLogger;
    /// # let dir = tempfile::tempdir().unwrap();
    /// # let name = format!("doc-logdir-each-{}", std::process::id());
    /// # let logger = DataLogger::builder(dir.path(), &name).start().unwrap();
    /// # let source = logger.producer(1).unwrap();
    /// # for (t, frame) in [(1_000, &b"frame 1"[..]), (2_000, b"frame 2"), (3_000, b"frame 3")] {
    /// #     source.log_at(t, frame).unwrap();
    /// # }
    /// # let source = logger.producer(7).unwrap();
    /// # for (t, frame) in [(1_000, &b"frame 1"[..]), (2_000, b"frame 2"), (3_000, b"frame 3")] {
    /// #     source.log_at(t, frame).unwrap();
    /// # }
    /// # let log_dir = logger.stop().unwrap().log_dir;
    /// use seqring::archive::LogDir;
    /// // a log directory, not yet assembled, in which sources 1 and 7 logged three frames each
    /// let log = LogDir::open(&log_dir).unwrap();
    /// let mut frames = Vec::new();
    /// log.for_each_message(7, |m| frames.push(m.payload.to_vec())).unwrap();
    /// assert_eq!(frames, [b"frame 1", b"frame 2", b"frame 3"]);
    /// ```
    pub fn for_each_message(&self, source_id: u8, mut f: impl FnMut(LogMessage<'_>)) -> Result<(), AssembleError> {
        let items = self.items(source_id);
        let Some(first) = items.first() else {
            return Ok(());
        };
        if first.ts != ONSET_TIMESTAMP {
            return Err(AssembleError::MissingOnset {
                dir: self.dir.clone(),
                source_id,
                first: self.describe(source_id, first),
            });
        }
        let mut reader = EntryReader::default();
        let onset = reader.onset(self, source_id, first)?;
        for item in &items[1..] {
            let data = reader.read(self, source_id, item)?;
            f(LogMessage {
                source_id,
                timestamp_us: onset.saturating_add(item.ts),
                payload: data.payload(),
            });
        }
        Ok(())
    }
}

/// The highest ring position each ring reaches in `segment`, from its batch headers (the index pass that follows
/// verifies every batch).
fn ring_ends(segment: &Segment) -> Dedup {
    let mut reached = Dedup::default();
    for (origin, len) in segment.batch_origins() {
        reached.note(origin, len);
    }
    reached
}

/// Indexes the records of `segment` that `dedup` (what earlier segments reached) has not seen.
fn index_segment(index: u32, segment: &Segment, mut dedup: Dedup) -> Result<BTreeMap<u8, Vec<Item>>, AssembleError> {
    let mut map: BTreeMap<u8, Vec<Item>> = BTreeMap::new();
    for record in segment.records_once(Some(&mut dedup)) {
        let (pos, record) = record?;
        let len = record.payload.len() as u32;
        let items = map.entry(record.source_id).or_default();
        if items.is_empty() && record.timestamp == ONSET_TIMESTAMP && record.payload.len() != 8 {
            return Err(AssembleError::BadOnset {
                path: segment.path().to_path_buf(),
                source_id: record.source_id,
                len: record.payload.len() as u64,
            });
        }
        items.push(Item {
            ts: record.timestamp,
            pos,
            len,
            file: index | SEG_FLAG,
        });
    }
    Ok(map)
}

/// The bytes of one entry.
pub(crate) enum EntryData<'a> {
    /// A `.npy` entry's array data: `[source][timestamp][payload]`.
    Npy(&'a [u8]),
    /// A segment record: its source, timestamp bytes and payload.
    Seg([u8; 9], &'a [u8]),
}

impl<'a> EntryData<'a> {
    /// The payload.
    pub(crate) fn payload(&self) -> &'a [u8] {
        match *self {
            EntryData::Npy(data) => &data[9..],
            EntryData::Seg(_, payload) => payload,
        }
    }

    /// The array data as parts: `[source][timestamp][payload]`.
    pub(crate) fn parts(&self) -> [&[u8]; 2] {
        match self {
            EntryData::Npy(data) => [&data[..9], &data[9..]],
            EntryData::Seg(head, payload) => [head.as_slice(), payload],
        }
    }

    /// The length of the array data.
    pub(crate) fn len(&self) -> u64 {
        9 + self.payload().len() as u64
    }
}

/// The bytes of a `.npy` entry file, read or mapped, and the range of its array data.
pub(crate) struct Loaded {
    bytes: LoadedBytes,
    range: std::ops::Range<usize>,
}

enum LoadedBytes {
    Buf(Vec<u8>),
    Map(ReadOnlyMap),
}

impl Loaded {
    /// The array data: `[source][timestamp][payload]`.
    pub(crate) fn data(&self) -> &[u8] {
        let bytes: &[u8] = match &self.bytes {
            LoadedBytes::Buf(b) => b,
            LoadedBytes::Map(m) => m,
        };
        &bytes[self.range.clone()]
    }

    fn into_buf(self) -> Vec<u8> {
        match self.bytes {
            LoadedBytes::Buf(b) => b,
            LoadedBytes::Map(_) => Vec::new(),
        }
    }
}

impl LogDir {
    /// Whether an item comes from a segment (its bytes are in a map already) rather than a `.npy` file.
    pub(crate) fn is_segment_item(item: &Item) -> bool {
        item.file & SEG_FLAG != 0
    }

    /// The entry of a segment item.
    pub(crate) fn segment_entry(&self, source_id: u8, item: &Item) -> EntryData<'_> {
        let seg = &self.segments[(item.file & !SEG_FLAG) as usize];
        let start = item.pos as usize;
        // The offset and length came from decoding this same map.
        let payload = seg.bytes().get(start..start + item.len as usize).unwrap_or_default();
        let mut head = [0u8; 9];
        head[0] = source_id;
        head[1..].copy_from_slice(&item.ts.to_le_bytes());
        EntryData::Seg(head, payload)
    }

    /// Reads (or maps, when large) the `.npy` file of `item` into `buf`, and checks it: a 1-D uint8 array of at
    /// least 9 bytes whose source and timestamp agree with its name. The file is closed before returning.
    pub(crate) fn load_npy(&self, source_id: u8, item: &Item, mut buf: Vec<u8>) -> Result<Loaded, AssembleError> {
        let path = self.dir.join(self.npy_name(item.file));
        let mut file = File::open(&path).map_err(io(&path))?;
        let len = file.metadata().map_err(io(&path))?.len();
        let bytes = if len > MAP_THRESHOLD {
            // Log entries are written once (the region layer's mapped-file contract).
            LoadedBytes::Map(ReadOnlyMap::of_file(&file).map_err(io(&path))?)
        } else {
            // `len` is the real file length, at most MAP_THRESHOLD.
            buf.resize(len as usize, 0);
            file.read_exact(&mut buf).map_err(io(&path))?;
            LoadedBytes::Buf(buf)
        };
        drop(file);
        let whole: &[u8] = match &bytes {
            LoadedBytes::Buf(b) => b,
            LoadedBytes::Map(m) => m,
        };
        let range = u8_vector_data(whole).map_err(|source| AssembleError::BadEntry {
            path: path.clone(),
            source,
        })?;
        let data = &whole[range.clone()];
        if data.len() < 9 {
            return Err(AssembleError::EntryMismatch {
                path,
                reason: format!(
                    "it holds {} bytes, fewer than the 9 of its source id and timestamp",
                    data.len()
                ),
            });
        }
        if data[0] != source_id {
            return Err(AssembleError::EntryMismatch {
                path,
                reason: format!("its name says source {source_id} but its data says source {}", data[0]),
            });
        }
        let mut ts = [0u8; 8];
        ts.copy_from_slice(&data[1..9]);
        let ts = u64::from_le_bytes(ts);
        if ts != item.ts {
            return Err(AssembleError::EntryMismatch {
                path,
                reason: format!("its name says timestamp {} but its data says {ts}", item.ts),
            });
        }
        Ok(Loaded { bytes, range })
    }
}

/// Reads entries one at a time, reusing one buffer.
#[derive(Default)]
pub(crate) struct EntryReader {
    loaded: Option<Loaded>,
}

impl EntryReader {
    /// Reads and checks one entry of `source_id`.
    pub(crate) fn read<'a>(
        &'a mut self,
        log: &'a LogDir,
        source_id: u8,
        item: &Item,
    ) -> Result<EntryData<'a>, AssembleError> {
        if LogDir::is_segment_item(item) {
            return Ok(log.segment_entry(source_id, item));
        }
        let buf = self.loaded.take().map(Loaded::into_buf).unwrap_or_default();
        let loaded = self.loaded.insert(log.load_npy(source_id, item, buf)?);
        Ok(EntryData::Npy(loaded.data()))
    }

    /// Reads a source's onset entry and returns the onset.
    pub(crate) fn onset(&mut self, log: &LogDir, source_id: u8, item: &Item) -> Result<u64, AssembleError> {
        let data = self.read(log, source_id, item)?;
        let payload = data.payload();
        let Ok(onset) = <[u8; 8]>::try_from(payload) else {
            return Err(AssembleError::BadOnset {
                path: log.item_path(item),
                source_id,
                len: payload.len() as u64,
            });
        };
        Ok(u64::from_le_bytes(onset))
    }
}
