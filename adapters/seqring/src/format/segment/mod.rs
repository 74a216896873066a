//! Segment files: the logger's default, append-only disk format (`{name}_data_log/*.seg`).
//!
//! ```text
//! file header (64 bytes)
//!   0  8  magic b"SEQRSEG\0"
//!   8  4  version u32 = 2 (version 1 files are read too)
//!  12  4  header length u32 = 64
//!  16  8  onset u64: the logger's onset, µs since the UNIX epoch
//!  24  8  creation time u64: µs since the UNIX epoch
//!  32  4  writer pid u32 (information only)
//!  36 20  reserved, zero
//!  56  8  xxh3-64 of bytes 0..56
//! then batches, back to back from offset 64 (version 2):
//!   0  8  magic b"SEQRBAT\0"
//!   8  8  length u64 of the record bytes: a multiple of 8, at least 8
//!  16  8  ring id u64: the logger ring the records were drained from (0: not from a ring)
//!  24  8  ring position u64 of the first record byte in that ring
//!  32  8  xxh3-64 of header bytes 0..32 followed by the record bytes
//!  40  n  the ring records exactly as they sat in the ring (`seqring_core::ring::record`), padding included
//! ```
//! A version 1 batch header is 24 bytes: magic, length, and the xxh3-64 of the record bytes alone.
//!
//! **Exactly once.** A logger releases ring space only after the batch is in the kernel, so a logger killed
//! between the write and the release leaves records that its successor drains and writes again. Those repeats
//! carry the same ring id and positions: a reader that goes through a log directory's segments in name order
//! (writing order) and skips every record whose end position is not past the highest end already seen for its
//! ring ([`Dedup`]) delivers each record exactly once.
//! All integers are little-endian, and every batch and record starts 8-byte aligned in the file.
//!
//! Invariants:
//! - A writer only appends, one whole batch at a time, so a crash can leave at most one torn batch, at the end: a
//!   short header, a short payload, a payload whose checksum fails at the very end of the file, or such bytes
//!   followed only by zeros (a file system that extended the file but never wrote the blocks).
//! - Anything else that fails its checks (a bad magic or checksum followed by non-zero bytes) is corruption.
//!   Readers report it with its offset and never skip it; [`recover`] refuses to truncate it, because the data after
//!   it may be valid.
//! - Readers memory-map the file and check every length against the file's length before slicing; nothing here
//!   allocates from a size read from the file, and no input makes it panic.

pub(crate) mod reader;
mod writer;

pub use reader::{recover, scan, Batch, Batches, RecoveryReport, Scan, Segment, Tail};
pub use writer::SegmentWriter;

use std::path::PathBuf;

use seqring_core::ring::record::RecordError;

/// The magic at offset 0 of every segment file.
///
/// # Examples
/// ```
/// use seqring::format::segment::{Segment, SegmentWriter};
/// # use seqring_core::ring::record::encode_data;
/// # let dir = tempfile::tempdir().unwrap();
/// # let path = dir.path().join("0.seg");
/// # let mut writer = SegmentWriter::create(&path, 1_000).unwrap();
/// # let mut batch = vec![0u8; 48];
/// # encode_data(&mut batch[..24], 1, 0, &1_000u64.to_le_bytes());
/// # encode_data(&mut batch[24..], 1, 5, b"hello");
/// # writer.append_batch(&batch).unwrap();
/// # writer.finish().unwrap();
/// // a segment of one batch: source 1's onset record and "hello" 5 µs later
/// let segment = Segment::open(&path).unwrap();
/// use seqring::format::segment::FILE_MAGIC;
/// assert!(segment.bytes().starts_with(&FILE_MAGIC));
/// ```
pub const FILE_MAGIC: [u8; 8] = *b"SEQRSEG\0";
/// The magic at offset 0 of every batch header.
///
/// # Examples
/// ```
/// use seqring::format::segment::{Segment, SegmentWriter};
/// # use seqring_core::ring::record::encode_data;
/// # let dir = tempfile::tempdir().unwrap();
/// # let path = dir.path().join("0.seg");
/// # let mut writer = SegmentWriter::create(&path, 1_000).unwrap();
/// # let mut batch = vec![0u8; 48];
/// # encode_data(&mut batch[..24], 1, 0, &1_000u64.to_le_bytes());
/// # encode_data(&mut batch[24..], 1, 5, b"hello");
/// # writer.append_batch(&batch).unwrap();
/// # writer.finish().unwrap();
/// // a segment of one batch: source 1's onset record and "hello" 5 µs later
/// let segment = Segment::open(&path).unwrap();
/// use seqring::format::segment::{BATCH_MAGIC, FILE_HEADER_LEN};
/// assert_eq!(segment.bytes()[FILE_HEADER_LEN..][..8], BATCH_MAGIC); // the first batch follows the file header
/// ```
pub const BATCH_MAGIC: [u8; 8] = *b"SEQRBAT\0";
/// The segment format version this build writes (it also reads version 1).
///
/// # Examples
/// ```
/// use seqring::format::segment::{Segment, SegmentWriter};
/// # use seqring_core::ring::record::encode_data;
/// # let dir = tempfile::tempdir().unwrap();
/// # let path = dir.path().join("0.seg");
/// # let mut writer = SegmentWriter::create(&path, 1_000).unwrap();
/// # let mut batch = vec![0u8; 48];
/// # encode_data(&mut batch[..24], 1, 0, &1_000u64.to_le_bytes());
/// # encode_data(&mut batch[24..], 1, 5, b"hello");
/// # writer.append_batch(&batch).unwrap();
/// # writer.finish().unwrap();
/// // a segment of one batch: source 1's onset record and "hello" 5 µs later
/// let segment = Segment::open(&path).unwrap();
/// use seqring::format::segment::VERSION;
/// assert_eq!(segment.header().unwrap().version, VERSION);
/// ```
pub const VERSION: u32 = 2;
/// The length of the file header.
///
/// # Examples
/// ```
/// use seqring::format::segment::{Segment, SegmentWriter};
/// # use seqring_core::ring::record::encode_data;
/// # let dir = tempfile::tempdir().unwrap();
/// # let path = dir.path().join("0.seg");
/// # let mut writer = SegmentWriter::create(&path, 1_000).unwrap();
/// # let mut batch = vec![0u8; 48];
/// # encode_data(&mut batch[..24], 1, 0, &1_000u64.to_le_bytes());
/// # encode_data(&mut batch[24..], 1, 5, b"hello");
/// # writer.append_batch(&batch).unwrap();
/// # writer.finish().unwrap();
/// // a segment of one batch: source 1's onset record and "hello" 5 µs later
/// let segment = Segment::open(&path).unwrap();
/// use seqring::format::segment::FILE_HEADER_LEN;
/// let first = segment.batches().next().unwrap().unwrap();
/// assert_eq!(first.offset, FILE_HEADER_LEN as u64);
/// ```
pub const FILE_HEADER_LEN: usize = 64;
/// The length of a batch header.
///
/// # Examples
/// ```
/// use seqring::format::segment::{Segment, SegmentWriter};
/// # use seqring_core::ring::record::encode_data;
/// # let dir = tempfile::tempdir().unwrap();
/// # let path = dir.path().join("0.seg");
/// # let mut writer = SegmentWriter::create(&path, 1_000).unwrap();
/// # let mut batch = vec![0u8; 48];
/// # encode_data(&mut batch[..24], 1, 0, &1_000u64.to_le_bytes());
/// # encode_data(&mut batch[24..], 1, 5, b"hello");
/// # writer.append_batch(&batch).unwrap();
/// # writer.finish().unwrap();
/// // a segment of one batch: source 1's onset record and "hello" 5 µs later
/// let segment = Segment::open(&path).unwrap();
/// use seqring::format::segment::{BATCH_HEADER_LEN, FILE_HEADER_LEN};
/// assert_eq!(segment.bytes().len(), FILE_HEADER_LEN + BATCH_HEADER_LEN + 48); // one batch of 48 record bytes
/// ```
pub const BATCH_HEADER_LEN: usize = 40;
/// The length of a version 1 batch header.
///
/// # Examples
/// ```
/// use seqring::format::segment::{BATCH_HEADER_LEN, BATCH_HEADER_LEN_V1};
/// assert!(BATCH_HEADER_LEN_V1 < BATCH_HEADER_LEN, "version 2 added the batch's origin");
/// ```
pub const BATCH_HEADER_LEN_V1: usize = 24;
/// The file beside a log directory's segments or entries that lists its sources' onsets (written by the logger,
/// removed with the sources by assembly; see `logger::onsets`).
///
/// # Examples
/// ```
/// # use seqring::archive::{assemble_log_archives, AssembleOptions};
/// # use seqring::logger::DataLogger;
/// # let dir = tempfile::tempdir().unwrap();
/// # let name = format!("doc-onsets-file-{}", std::process::id());
/// # let logger = DataLogger::builder(dir.path(), &name).start().unwrap();
/// # let source = logger.producer(7).unwrap();
/// # for (t, frame) in [(1_000, &b"frame 1"[..]), (2_000, b"frame 2"), (3_000, b"frame 3")] {
/// #     source.log_at(t, frame).unwrap();
/// # }
/// # let log_dir = logger.stop().unwrap().log_dir;
/// use seqring::format::segment::ONSETS_FILE;
/// // a log directory a logger has just written
/// assert!(log_dir.join(ONSETS_FILE).is_file());
/// ```
pub const ONSETS_FILE: &str = "seqring-onsets.txt";
/// The file extension of segment files.
///
/// # Examples
/// ```
/// # use seqring::archive::{assemble_log_archives, AssembleOptions};
/// # use seqring::logger::DataLogger;
/// # let dir = tempfile::tempdir().unwrap();
/// # let name = format!("doc-segment-extension-{}", std::process::id());
/// # let logger = DataLogger::builder(dir.path(), &name).start().unwrap();
/// # let source = logger.producer(7).unwrap();
/// # for (t, frame) in [(1_000, &b"frame 1"[..]), (2_000, b"frame 2"), (3_000, b"frame 3")] {
/// #     source.log_at(t, frame).unwrap();
/// # }
/// # let log_dir = logger.stop().unwrap().log_dir;
/// use seqring::format::segment::{Segment, EXTENSION};
/// // a log directory a logger has just written: its records are in segment files
/// let segments: Vec<_> = std::fs::read_dir(&log_dir).unwrap()
///     .map(|e| e.unwrap().path())
///     .filter(|p| p.extension().is_some_and(|x| x == EXTENSION))
///     .collect();
/// assert!(!segments.is_empty());
/// assert!(segments.iter().all(|p| Segment::open(p).is_ok()));
/// ```
pub const EXTENSION: &str = "seg";

/// The fields of a segment's file header.
///
/// # Examples
/// ```
/// use seqring::format::segment::{Segment, SegmentWriter};
/// # use seqring_core::ring::record::encode_data;
/// # let dir = tempfile::tempdir().unwrap();
/// # let path = dir.path().join("0.seg");
/// # let mut writer = SegmentWriter::create(&path, 1_000).unwrap();
/// # let mut batch = vec![0u8; 48];
/// # encode_data(&mut batch[..24], 1, 0, &1_000u64.to_le_bytes());
/// # encode_data(&mut batch[24..], 1, 5, b"hello");
/// # writer.append_batch(&batch).unwrap();
/// # writer.finish().unwrap();
/// // a segment of one batch: source 1's onset record and "hello" 5 µs later
/// let segment = Segment::open(&path).unwrap();
/// let header = segment.header().unwrap();
/// assert_eq!((header.onset_us, header.pid), (1_000, std::process::id()));
/// assert!(header.created_us > 0);
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SegmentHeader {
    /// The format version.
    pub version: u32,
    /// The logger's onset, µs since the UNIX epoch.
    pub onset_us: u64,
    /// When the file was created, µs since the UNIX epoch.
    pub created_us: u64,
    /// The id of the process that created the file.
    pub pid: u32,
}

impl SegmentHeader {
    /// Encodes the header, checksum included.
    ///
    /// # Examples
    /// ```
    /// use seqring::format::segment::{scan, SegmentHeader, FILE_HEADER_LEN, FILE_MAGIC, VERSION};
    /// let header = SegmentHeader { version: VERSION, onset_us: 1_000, created_us: 2_000, pid: 3 };
    /// let bytes = header.encode();
    /// assert_eq!((bytes.len(), &bytes[..8]), (FILE_HEADER_LEN, &FILE_MAGIC[..]));
    /// assert_eq!(scan(&bytes).header, Some(header));
    /// ```
    pub fn encode(&self) -> [u8; FILE_HEADER_LEN] {
        let mut out = [0u8; FILE_HEADER_LEN];
        out[0..8].copy_from_slice(&FILE_MAGIC);
        out[8..12].copy_from_slice(&self.version.to_le_bytes());
        out[12..16].copy_from_slice(&(FILE_HEADER_LEN as u32).to_le_bytes());
        out[16..24].copy_from_slice(&self.onset_us.to_le_bytes());
        out[24..32].copy_from_slice(&self.created_us.to_le_bytes());
        out[32..36].copy_from_slice(&self.pid.to_le_bytes());
        let sum = xxhash_rust::xxh3::xxh3_64(&out[..56]);
        out[56..64].copy_from_slice(&sum.to_le_bytes());
        out
    }
}

/// Where a batch's records came from: a logger ring and the ring position of their first byte.
///
/// Ring ids are random per logger ring and never 0; [`Origin::NONE`] marks batches not drained from a ring
/// (built by tools or tests), which are never treated as repeats.
///
/// # Examples
/// ```
/// use seqring::format::segment::{Origin, Segment, SegmentWriter};
/// # use seqring_core::ring::record::encode_data;
/// let dir = tempfile::tempdir().unwrap();
/// let path = dir.path().join("0.seg");
/// let mut w = SegmentWriter::create(&path, 1_000).unwrap();
/// # let mut batch = vec![0u8; 24];
/// # encode_data(&mut batch, 1, 0, &1_000u64.to_le_bytes());
/// w.append_batch(&batch).unwrap(); // Origin::NONE: not drained from a ring
/// w.append_batch_from(Origin { ring: 3, position: 0 }, &batch).unwrap();
/// w.finish().unwrap();
/// let origins: Vec<Origin> = Segment::open(&path).unwrap().batch_origins().into_iter().map(|(o, _)| o).collect();
/// assert_eq!(origins, [Origin::NONE, Origin { ring: 3, position: 0 }]);
/// ```
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct Origin {
    /// The ring's id (0: none).
    pub ring: u64,
    /// The ring position of the batch's first byte.
    pub position: u64,
}

impl Origin {
    /// No ring: the batch was not drained from a logger ring.
    pub const NONE: Origin = Origin { ring: 0, position: 0 };
}

/// Encodes the (version 2) header of a batch holding `records` drained from `origin`.
///
/// # Examples
/// ```
/// use seqring::format::segment::{batch_header, Origin, BATCH_MAGIC};
/// let h = batch_header(Origin { ring: 7, position: 4096 }, &[0u8; 16]);
/// assert_eq!(h[..8], BATCH_MAGIC);
/// assert_eq!(u64::from_le_bytes(h[24..32].try_into().unwrap()), 4096);
/// ```
pub fn batch_header(origin: Origin, records: &[u8]) -> [u8; BATCH_HEADER_LEN] {
    let mut out = [0u8; BATCH_HEADER_LEN];
    out[0..8].copy_from_slice(&BATCH_MAGIC);
    out[8..16].copy_from_slice(&(records.len() as u64).to_le_bytes());
    out[16..24].copy_from_slice(&origin.ring.to_le_bytes());
    out[24..32].copy_from_slice(&origin.position.to_le_bytes());
    let sum = batch_checksum(&out[..32], records);
    out[32..40].copy_from_slice(&sum.to_le_bytes());
    out
}

/// Advances `records` (at the start of a batch) past the records that end within its first `seen` bytes: those
/// already delivered, by [`Dedup::seen_prefix`].
///
/// # Examples
/// ```
/// use seqring::format::segment::skip_delivered;
/// use seqring_core::ring::record::{encode_data, Records};
/// let mut batch = vec![0u8; 48];
/// encode_data(&mut batch[..24], 1, 10, b"old");
/// encode_data(&mut batch[24..], 1, 20, b"new");
/// let mut records = Records::new(&batch);
/// skip_delivered(&mut records, 24); // the first 24 bytes were delivered before
/// assert_eq!(records.next().unwrap().unwrap().payload, b"new");
/// assert!(records.next().is_none());
/// ```
pub fn skip_delivered(records: &mut seqring_core::ring::record::Records<'_>, seen: u64) {
    loop {
        let mut probe = records.clone();
        match probe.next() {
            Some(Ok(_)) if probe.offset() as u64 <= seen => *records = probe,
            _ => return,
        }
    }
}

/// The checksum of a version 2 batch: xxh3-64 over its header's first 32 bytes, then its records.
pub(crate) fn batch_checksum(header: &[u8], records: &[u8]) -> u64 {
    let mut h = xxhash_rust::xxh3::Xxh3::new();
    h.update(header);
    h.update(records);
    h.digest()
}

/// Skips the records a log directory holds twice after a logger crash (see the module docs): feed it the
/// batches of every segment in name order; it says how much of each was already delivered.
///
/// # Examples
/// ```
/// use seqring::format::segment::{Dedup, Origin};
/// let mut dedup = Dedup::default();
/// // The dead logger wrote ring bytes 0..96; its successor wrote 64..160 again from the same ring.
/// assert_eq!(dedup.seen_prefix(Origin { ring: 9, position: 0 }, 96), 0);
/// assert_eq!(dedup.seen_prefix(Origin { ring: 9, position: 64 }, 96), 32); // records ending by byte 32: repeats
/// assert_eq!(dedup.seen_prefix(Origin::NONE, 8), 0);
/// ```
#[derive(Debug, Default, Clone)]
pub struct Dedup {
    /// Per ring id: the highest end position written so far.
    high: std::collections::HashMap<u64, u64>,
}

impl Dedup {
    /// Notes a batch of `len` bytes from `origin` and returns how many of its leading bytes were already
    /// delivered: a record of the batch is a repeat exactly when it ends within them ([`skip_delivered`]).
    /// Batches from [`Origin::NONE`] are always new.
    ///
    /// # Examples
    /// ```
    /// use seqring::format::segment::{Dedup, Origin};
    /// let mut dedup = Dedup::default();
    /// assert_eq!(dedup.seen_prefix(Origin { ring: 5, position: 0 }, 100), 0);
    /// assert_eq!(dedup.seen_prefix(Origin { ring: 5, position: 40 }, 100), 60); // bytes 40..100 were seen
    /// assert_eq!(dedup.seen_prefix(Origin { ring: 6, position: 40 }, 100), 0, "another ring");
    /// ```
    pub fn seen_prefix(&mut self, origin: Origin, len: u64) -> u64 {
        if origin.ring == 0 {
            return 0;
        }
        let high = self.high.entry(origin.ring).or_insert(0);
        let seen = high.saturating_sub(origin.position).min(len);
        *high = (*high).max(origin.position + len);
        seen
    }

    /// Notes that a batch from `origin` reached `len` bytes past its position.
    ///
    /// # Examples
    /// ```
    /// use seqring::format::segment::{Dedup, Origin};
    /// let mut dedup = Dedup::default();
    /// dedup.note(Origin { ring: 5, position: 0 }, 64);
    /// assert_eq!(dedup.seen_prefix(Origin { ring: 5, position: 0 }, 64), 64);
    /// ```
    pub fn note(&mut self, origin: Origin, len: u64) {
        self.seen_prefix(origin, len);
    }

    /// Adds what `other` has seen.
    ///
    /// # Examples
    /// ```
    /// use seqring::format::segment::{Dedup, Origin};
    /// let (mut first, mut second) = (Dedup::default(), Dedup::default());
    /// first.note(Origin { ring: 1, position: 0 }, 32);
    /// second.note(Origin { ring: 2, position: 0 }, 16);
    /// first.merge(&second);
    /// assert_eq!(first.seen_prefix(Origin { ring: 2, position: 0 }, 16), 16);
    /// ```
    pub fn merge(&mut self, other: &Dedup) {
        for (&ring, &end) in &other.high {
            let high = self.high.entry(ring).or_insert(0);
            *high = (*high).max(end);
        }
    }
}

/// What went wrong with a segment file. Every variant names the file.
///
/// # Examples
/// ```
/// use seqring::format::segment::{Segment, SegmentError, SegmentWriter};
/// let dir = tempfile::tempdir().unwrap();
/// let path = dir.path().join("0.seg");
/// let mut w = SegmentWriter::create(&path, 1_000).unwrap();
/// assert!(matches!(w.append_batch(&[0; 5]), Err(SegmentError::BadBatch { .. })), "not whole records");
/// w.finish().unwrap();
/// std::fs::write(dir.path().join("1.seg"), b"not a segment file").unwrap();
/// let e = Segment::open(dir.path().join("1.seg")).unwrap_err();
/// assert!(matches!(e, SegmentError::NotSegment { .. }));
/// assert!(e.to_string().contains("1.seg"), "every error names its file");
/// ```
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum SegmentError {
    /// The operating system refused an operation on the file.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The OS error.
        #[source]
        source: std::io::Error,
    },
    /// The file does not start with the segment magic.
    #[error("{path} is not a seqring segment file (bad magic)")]
    NotSegment {
        /// The file.
        path: PathBuf,
    },
    /// A format version this build does not read.
    #[error("{path} is a version {version} segment; this build reads version {VERSION}")]
    UnsupportedVersion {
        /// The file.
        path: PathBuf,
        /// The version in the file.
        version: u32,
    },
    /// The last batch was only partly written (a crash while appending): run [`recover`] to truncate it.
    #[error("{path} has a torn last batch at byte {offset} ({reason}); recover it to truncate the torn batch (`seqring assemble --recover`)")]
    TornTail {
        /// The file.
        path: PathBuf,
        /// Where the torn batch starts.
        offset: u64,
        /// What is wrong with it.
        reason: &'static str,
    },
    /// Bytes that are not a crash's torn tail fail their checks.
    #[error("{path} is corrupt at byte {offset}: {reason}")]
    Corrupt {
        /// The file.
        path: PathBuf,
        /// Where the bad header or batch starts.
        offset: u64,
        /// What is wrong.
        reason: &'static str,
    },
    /// A batch passed its checksum but holds a record that does not decode (a writer bug).
    #[error("{path}: bad record at byte {offset}: {source}")]
    BadRecord {
        /// The file.
        path: PathBuf,
        /// The record's offset in the file.
        offset: u64,
        /// The decoding error (its offset is relative to the batch).
        #[source]
        source: RecordError,
    },
    /// A batch to append is empty or not a whole number of 8-byte aligned records.
    #[error("{path}: a batch must be a non-empty multiple of 8 bytes, not {len} bytes")]
    BadBatch {
        /// The file.
        path: PathBuf,
        /// The rejected length.
        len: usize,
    },
}

impl SegmentError {
    pub(crate) fn io(path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        SegmentError::Io {
            path: path.into(),
            source,
        }
    }
}
