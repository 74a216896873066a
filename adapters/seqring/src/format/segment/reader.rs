//! Reading, scanning and recovering segment files. See the module above for the layout and the torn-tail rule.

use std::fs::{File, OpenOptions};
use std::path::{Path, PathBuf};

use seqring_core::ring::record::{Record, RecordError, Records};
use seqring_platform::ReadOnlyMap;
use xxhash_rust::xxh3::xxh3_64;

use super::{
    batch_checksum, Origin, SegmentError, SegmentHeader, BATCH_HEADER_LEN, BATCH_HEADER_LEN_V1, BATCH_MAGIC,
    FILE_HEADER_LEN, FILE_MAGIC, VERSION,
};

/// How a scan of a segment's bytes ended.
///
/// # Examples
/// ```
/// use seqring::format::segment::{scan, SegmentWriter, Tail};
/// let dir = tempfile::tempdir().unwrap();
/// let path = dir.path().join("0.seg");
/// let len = SegmentWriter::create(&path, 1_000).unwrap().finish().unwrap();
/// let mut bytes = std::fs::read(&path).unwrap();
/// assert_eq!(scan(&bytes).tail, Tail::Clean);
/// bytes.extend_from_slice(b"SEQRBAT\0"); // a crash while appending a batch header
/// assert!(matches!(scan(&bytes).tail, Tail::Torn { offset, .. } if offset == len));
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Tail {
    /// Every byte belongs to the header or a valid batch (or the file is empty).
    Clean,
    /// The bytes from `offset` on are a crash's torn write; truncating there loses nothing that was complete.
    Torn {
        /// Where the torn header or batch starts.
        offset: u64,
        /// What is wrong with it.
        reason: &'static str,
    },
    /// Bytes at `offset` fail their checks and are followed by more data: corruption, not a torn tail.
    Corrupt {
        /// Where the bad header or batch starts.
        offset: u64,
        /// What is wrong.
        reason: &'static str,
    },
    /// A batch at a valid checksum holds a record that does not decode.
    BadRecord {
        /// The record's offset in the file.
        offset: u64,
        /// The decoding error, relative to its batch.
        error: RecordError,
    },
    /// The file does not start with the segment magic.
    NotSegment,
    /// The file's format version is neither 1 nor [`VERSION`].
    UnsupportedVersion(u32),
}

/// The result of [`scan`]: how much of a segment is valid.
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
/// use seqring::format::segment::{scan, Tail};
/// let found = scan(segment.bytes());
/// assert_eq!((found.batches, found.records, found.tail), (1, 2, Tail::Clean));
/// assert_eq!(found.valid_len, segment.bytes().len() as u64);
/// assert_eq!(found.header, segment.header());
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Scan {
    /// The file header, when it is valid.
    pub header: Option<SegmentHeader>,
    /// The number of valid batches.
    pub batches: u64,
    /// The number of data records in them.
    pub records: u64,
    /// The length of the valid prefix: the header and the valid batches.
    pub valid_len: u64,
    /// Why the scan stopped.
    pub tail: Tail,
}

/// Whether `bytes` starts like a partly written header: its first bytes agree with `magic` up to a point after
/// which every byte (to the end of `bytes`) is zero, or they all agree.
fn torn_prefix(bytes: &[u8], magic: &[u8]) -> bool {
    let n = bytes.len().min(magic.len());
    match bytes[..n].iter().zip(magic).position(|(a, b)| a != b) {
        Some(i) => all_zero(&bytes[i..]),
        None => true,
    }
}

fn all_zero(bytes: &[u8]) -> bool {
    bytes.iter().all(|&b| b == 0)
}

fn u64_at(bytes: &[u8], at: usize) -> u64 {
    let mut b = [0u8; 8];
    b.copy_from_slice(&bytes[at..at + 8]);
    u64::from_le_bytes(b)
}

fn u32_at(bytes: &[u8], at: usize) -> u32 {
    let mut b = [0u8; 4];
    b.copy_from_slice(&bytes[at..at + 4]);
    u32::from_le_bytes(b)
}

/// Checks the file header of a non-empty file.
pub(crate) fn check_header(bytes: &[u8]) -> Result<SegmentHeader, Tail> {
    let torn = |reason| Tail::Torn { offset: 0, reason };
    if bytes.len() < FILE_HEADER_LEN {
        return Err(if torn_prefix(bytes, &FILE_MAGIC) {
            torn("the file header is incomplete")
        } else {
            Tail::NotSegment
        });
    }
    if bytes[..8] != FILE_MAGIC {
        return Err(if torn_prefix(bytes, &FILE_MAGIC) {
            torn("the file header was never written")
        } else {
            Tail::NotSegment
        });
    }
    if xxh3_64(&bytes[..56]) != u64_at(bytes, 56) {
        return Err(if all_zero(&bytes[FILE_HEADER_LEN..]) {
            torn("the file header checksum fails")
        } else {
            Tail::Corrupt {
                offset: 0,
                reason: "the file header checksum fails",
            }
        });
    }
    let version = u32_at(bytes, 8);
    if version != 1 && version != VERSION {
        return Err(Tail::UnsupportedVersion(version));
    }
    if u32_at(bytes, 12) as usize != FILE_HEADER_LEN {
        return Err(Tail::Corrupt {
            offset: 0,
            reason: "the file header length is not 64",
        });
    }
    Ok(SegmentHeader {
        version,
        onset_us: u64_at(bytes, 16),
        created_us: u64_at(bytes, 24),
        pid: u32_at(bytes, 32),
    })
}

/// The length of a batch header in a file of `version`.
fn batch_header_len(version: u32) -> usize {
    if version == 1 {
        BATCH_HEADER_LEN_V1
    } else {
        BATCH_HEADER_LEN
    }
}

/// Checks the batch at `pos` (< `bytes.len()`) of a file of `version`; returns the range of its records and
/// where they came from.
pub(crate) fn check_batch(bytes: &[u8], pos: usize, version: u32) -> Result<(std::ops::Range<usize>, Origin), Tail> {
    let header_len = batch_header_len(version);
    let rest = &bytes[pos..];
    let offset = pos as u64;
    let classify = |torn: bool, reason: &'static str| {
        if torn {
            Tail::Torn { offset, reason }
        } else {
            Tail::Corrupt { offset, reason }
        }
    };
    if rest.len() < header_len {
        return Err(classify(
            torn_prefix(rest, &BATCH_MAGIC),
            "the batch header is incomplete",
        ));
    }
    if rest[..8] != BATCH_MAGIC {
        return Err(classify(torn_prefix(rest, &BATCH_MAGIC), "the batch magic is wrong"));
    }
    let len = u64_at(rest, 8);
    if len == 0 || !len.is_multiple_of(8) {
        return Err(classify(
            all_zero(&rest[8..]),
            "the batch length is not a positive multiple of 8",
        ));
    }
    let available = (rest.len() - header_len) as u64;
    if len > available {
        return Err(Tail::Torn {
            offset,
            reason: "the batch runs past the end of the file",
        });
    }
    let start = pos + header_len;
    let end = start + len as usize;
    let (sum, origin) = if version == 1 {
        (xxh3_64(&bytes[start..end]), Origin::NONE)
    } else {
        let origin = Origin {
            ring: u64_at(rest, 16),
            position: u64_at(rest, 24),
        };
        (batch_checksum(&rest[..32], &bytes[start..end]), origin)
    };
    if sum != u64_at(rest, header_len - 8) {
        return Err(classify(all_zero(&bytes[end..]), "the batch checksum fails"));
    }
    Ok((start..end, origin))
}

/// Scans a whole segment's bytes: checks the header, every batch's checksum and every record, and says where the
/// valid prefix ends and why. Never panics, whatever the bytes.
///
/// # Examples
/// ```
/// use seqring::format::segment::{scan, Tail, SegmentHeader, batch_header, Origin, VERSION};
/// use seqring_core::ring::record::encode_data;
/// let mut file = SegmentHeader { version: VERSION, onset_us: 1, created_us: 2, pid: 3 }.encode().to_vec();
/// let mut records = vec![0u8; 24];
/// encode_data(&mut records, 7, 0, &5u64.to_le_bytes());
/// file.extend_from_slice(&batch_header(Origin::NONE, &records));
/// file.extend_from_slice(&records);
/// let whole = scan(&file);
/// assert_eq!((whole.batches, whole.records, whole.tail), (1, 1, Tail::Clean));
/// let torn = scan(&file[..file.len() - 3]);
/// assert_eq!(torn.valid_len, 64);
/// assert!(matches!(torn.tail, Tail::Torn { offset: 64, .. }));
/// ```
pub fn scan(bytes: &[u8]) -> Scan {
    let mut out = Scan {
        header: None,
        batches: 0,
        records: 0,
        valid_len: 0,
        tail: Tail::Clean,
    };
    if bytes.is_empty() {
        return out;
    }
    let version = match check_header(bytes) {
        Ok(h) => {
            out.header = Some(h);
            h.version
        }
        Err(tail) => {
            out.tail = tail;
            return out;
        }
    };
    let mut pos = FILE_HEADER_LEN;
    out.valid_len = pos as u64;
    while pos < bytes.len() {
        let range = match check_batch(bytes, pos, version) {
            Ok((r, _)) => r,
            Err(tail) => {
                out.tail = tail;
                return out;
            }
        };
        for rec in Records::new(&bytes[range.clone()]) {
            match rec {
                Ok(_) => out.records += 1,
                Err(error) => {
                    out.tail = Tail::BadRecord {
                        offset: (range.start + record_error_offset(&error)) as u64,
                        error,
                    };
                    return out;
                }
            }
        }
        out.batches += 1;
        pos = range.end;
        out.valid_len = pos as u64;
    }
    out
}

fn record_error_offset(e: &RecordError) -> usize {
    match *e {
        RecordError::Truncated { offset } => offset,
        RecordError::BadLength { offset, .. } => offset,
        RecordError::BadKind { offset, .. } => offset,
        _ => 0,
    }
}

fn tail_error(path: &Path, tail: Tail) -> Option<SegmentError> {
    let path = path.to_path_buf();
    Some(match tail {
        Tail::Clean => return None,
        Tail::Torn { offset, reason } => SegmentError::TornTail { path, offset, reason },
        Tail::Corrupt { offset, reason } => SegmentError::Corrupt { path, offset, reason },
        Tail::BadRecord { offset, error } => SegmentError::BadRecord {
            path,
            offset,
            source: error,
        },
        Tail::NotSegment => SegmentError::NotSegment { path },
        Tail::UnsupportedVersion(version) => SegmentError::UnsupportedVersion { path, version },
    })
}

/// A segment file, memory-mapped read-only.
///
/// The file must not be truncated or rewritten while it is open (stop its logger first): like every memory map, a
/// concurrent truncation would fault. Appends by a live writer are harmless; they are not seen.
///
/// # Examples
/// ```
/// use seqring::format::segment::{Segment, SegmentWriter};
/// use seqring_core::ring::record::encode_data;
/// let dir = tempfile::tempdir().unwrap();
/// let path = dir.path().join("log.seg");
/// let mut writer = SegmentWriter::create(&path, 1_700_000_000_000_000).unwrap();
/// let mut records = vec![0u8; 24];
/// encode_data(&mut records, 3, 0, &1_700_000_000_000_000u64.to_le_bytes());
/// writer.append_batch(&records).unwrap();
/// writer.finish().unwrap();
///
/// let segment = Segment::open(&path).unwrap();
/// let records: Vec<_> = segment.records().collect::<Result<_, _>>().unwrap();
/// assert_eq!((records[0].1.source_id, records[0].1.timestamp), (3, 0));
/// ```
#[derive(Debug)]
pub struct Segment {
    path: PathBuf,
    map: Option<ReadOnlyMap>,
    header: Option<SegmentHeader>,
}

impl Segment {
    /// Maps the segment at `path` and checks its file header. An empty file is an empty segment without a header
    /// (what [`recover`] leaves of a file whose header was torn).
    ///
    /// # Errors
    /// [`SegmentError::Io`] if the file cannot be opened or mapped; [`SegmentError::NotSegment`],
    /// [`SegmentError::UnsupportedVersion`], [`SegmentError::TornTail`] or [`SegmentError::Corrupt`] for a bad
    /// header. Batches are checked as they are read.
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
    /// assert_eq!(segment.header().unwrap().onset_us, 1_000);
    /// std::fs::write(dir.path().join("notes.seg"), b"not a segment").unwrap();
    /// assert!(Segment::open(dir.path().join("notes.seg")).is_err());
    /// ```
    pub fn open(path: impl AsRef<Path>) -> Result<Self, SegmentError> {
        let path = path.as_ref();
        let file = File::open(path).map_err(|e| SegmentError::io(path, e))?;
        let len = file.metadata().map_err(|e| SegmentError::io(path, e))?.len();
        if len == 0 {
            return Ok(Segment {
                path: path.to_path_buf(),
                map: None,
                header: None,
            });
        }
        // Segments only grow by appends while mapped (the region layer's mapped-file contract).
        let map = ReadOnlyMap::of_file(&file).map_err(|e| SegmentError::io(path, e))?;
        let header =
            check_header(&map).map_err(|tail| tail_error(path, tail).unwrap_or_else(|| unreachable_io(path)))?;
        Ok(Segment {
            path: path.to_path_buf(),
            map: Some(map),
            header: Some(header),
        })
    }

    /// The file's path.
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
    /// assert_eq!(segment.path(), path);
    /// ```
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The file header; `None` for an empty file.
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
    /// assert_eq!((header.version, header.onset_us), (seqring::format::segment::VERSION, 1_000));
    /// ```
    pub fn header(&self) -> Option<SegmentHeader> {
        self.header
    }

    /// The whole file.
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
    /// assert_eq!(segment.bytes()[..8], seqring::format::segment::FILE_MAGIC);
    /// assert_eq!(segment.bytes().len(), 64 + 40 + 48);
    /// ```
    pub fn bytes(&self) -> &[u8] {
        self.map.as_deref().unwrap_or(&[])
    }

    /// The batches, each checked against its checksum. Stops after the first error.
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
    /// let batches: Vec<_> = segment.batches().collect::<Result<_, _>>().unwrap();
    /// assert_eq!((batches.len(), batches[0].offset, batches[0].records.len()), (1, 64, 48));
    /// ```
    pub fn batches(&self) -> Batches<'_> {
        Batches {
            path: &self.path,
            bytes: self.bytes(),
            pos: if self.header.is_some() { FILE_HEADER_LEN } else { 0 },
            version: self.header.map_or(VERSION, |h| h.version),
            failed: self.header.is_none(),
        }
    }

    /// The origin and length of each batch, from the batch headers alone (no checksum is computed): for planning a
    /// read whose own pass verifies every batch, as a log directory's deduplication does. Stops at the first
    /// header that does not fit the file.
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
    /// use seqring::format::segment::Origin;
    /// assert_eq!(segment.batch_origins(), [(Origin::NONE, 48)]); // appended by a tool, not drained from a ring
    /// ```
    pub fn batch_origins(&self) -> Vec<(Origin, u64)> {
        let mut out = Vec::new();
        let Some(header) = self.header else {
            return out;
        };
        let (bytes, header_len) = (self.bytes(), batch_header_len(header.version));
        let mut pos = FILE_HEADER_LEN;
        while pos + header_len <= bytes.len() && bytes[pos..pos + 8] == BATCH_MAGIC {
            let len = u64_at(bytes, pos + 8);
            let end = usize::try_from(len)
                .ok()
                .and_then(|l| (pos + header_len).checked_add(l))
                .filter(|&end| end <= bytes.len());
            let Some(end) = end else { break };
            let origin = if header.version == 1 {
                Origin::NONE
            } else {
                Origin {
                    ring: u64_at(bytes, pos + 16),
                    position: u64_at(bytes, pos + 24),
                }
            };
            out.push((origin, len));
            pos = end;
        }
        out
    }

    /// Every data record with the file offset of its payload, batch by batch. Stops after the first error.
    ///
    /// This is every record in the file: a log directory's reader also skips the repeats a logger crash leaves
    /// across files (see [`Segment::records_once`]).
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
    /// let records: Vec<_> = segment.records().collect::<Result<_, _>>().unwrap();
    /// let (offset, hello) = records[1];
    /// assert_eq!((hello.source_id, hello.timestamp, hello.payload), (1, 5, &b"hello"[..]));
    /// assert_eq!(&segment.bytes()[offset as usize..][..5], b"hello");
    /// ```
    pub fn records(&self) -> impl Iterator<Item = Result<(u64, Record<'_>), SegmentError>> + '_ {
        self.records_once(None)
    }

    /// Like [`Segment::records`], skipping the records `dedup` has already seen (and noting the others), when
    /// given: call it for every segment of a log directory in name order with the same [`Dedup`](super::Dedup)
    /// to read each record exactly once after a logger crash.
    ///
    /// # Examples
    /// ```
    /// use seqring::format::segment::{Dedup, Origin, Segment, SegmentWriter};
    /// # use seqring_core::ring::record::encode_data;
    /// # let dir = tempfile::tempdir().unwrap();
    /// # let mut batch = vec![0u8; 48];
    /// # encode_data(&mut batch[..24], 1, 0, &1_000u64.to_le_bytes());
    /// # encode_data(&mut batch[24..], 1, 5, b"hello");
    /// // A logger wrote ring bytes 0..48 and died before releasing them; its successor wrote them again.
    /// for file in ["0.seg", "1.seg"] {
    ///     let mut w = SegmentWriter::create(dir.path().join(file), 1_000).unwrap();
    ///     w.append_batch_from(Origin { ring: 9, position: 0 }, &batch).unwrap();
    ///     w.finish().unwrap();
    /// }
    /// let mut dedup = Dedup::default();
    /// let mut counts = Vec::new();
    /// for file in ["0.seg", "1.seg"] {
    ///     let segment = Segment::open(dir.path().join(file)).unwrap();
    ///     counts.push(segment.records_once(Some(&mut dedup)).count());
    /// }
    /// assert_eq!(counts, [2, 0]);
    /// ```
    pub fn records_once<'s>(
        &'s self,
        mut dedup: Option<&'s mut super::Dedup>,
    ) -> impl Iterator<Item = Result<(u64, Record<'s>), SegmentError>> + 's {
        let base = self.bytes().as_ptr() as usize;
        self.batches().flat_map(move |batch| {
            let (batch_offset, records, origin, records_len) = match batch {
                Ok(b) => (
                    b.records.as_ptr() as usize - base,
                    Records::new(b.records),
                    b.origin,
                    b.records.len() as u64,
                ),
                Err(e) => return Box::new(std::iter::once(Err(e))) as Box<dyn Iterator<Item = _>>,
            };
            let mut records = records;
            if let Some(dedup) = dedup.as_deref_mut() {
                let seen = dedup.seen_prefix(origin, records_len);
                super::skip_delivered(&mut records, seen);
            }
            Box::new(records.map(move |r| match r {
                Ok(rec) => Ok(((rec.payload.as_ptr() as usize - base) as u64, rec)),
                Err(error) => Err(SegmentError::BadRecord {
                    path: self.path.clone(),
                    offset: (batch_offset + record_error_offset(&error)) as u64,
                    source: error,
                }),
            }))
        })
    }
}

/// A placeholder that is never built: [`check_header`] never returns [`Tail::Clean`] as an error.
fn unreachable_io(path: &Path) -> SegmentError {
    SegmentError::Corrupt {
        path: path.to_path_buf(),
        offset: 0,
        reason: "the file header is invalid",
    }
}

/// One valid batch of a segment.
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
/// use seqring::format::segment::Origin;
/// let batch = segment.batches().next().unwrap().unwrap();
/// assert_eq!((batch.offset, batch.records.len(), batch.origin), (64, 48, Origin::NONE));
/// assert_eq!(batch.records().count(), 2);
/// ```
#[derive(Clone, Copy, Debug)]
pub struct Batch<'a> {
    /// The file offset of the batch header.
    pub offset: u64,
    /// The ring records, checksum verified.
    pub records: &'a [u8],
    /// Where they came from ([`Origin::NONE`] in version 1 files).
    pub origin: Origin,
}

impl<'a> Batch<'a> {
    /// The batch's data records, padding skipped.
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
    /// let batch = segment.batches().next().unwrap().unwrap();
    /// let payloads: Vec<&[u8]> = batch.records().map(|r| r.unwrap().payload).collect();
    /// assert_eq!(payloads, [&1_000u64.to_le_bytes()[..], b"hello"]);
    /// ```
    pub fn records(&self) -> Records<'a> {
        Records::new(self.records)
    }
}

/// The iterator of [`Segment::batches`].
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
/// let mut batches = segment.batches();
/// assert!(batches.next().unwrap().is_ok());
/// assert!(batches.next().is_none());
/// ```
#[derive(Debug)]
pub struct Batches<'a> {
    path: &'a Path,
    bytes: &'a [u8],
    pos: usize,
    version: u32,
    failed: bool,
}

impl<'a> Iterator for Batches<'a> {
    type Item = Result<Batch<'a>, SegmentError>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.failed || self.pos >= self.bytes.len() {
            return None;
        }
        match check_batch(self.bytes, self.pos, self.version) {
            Ok((range, origin)) => {
                let batch = Batch {
                    offset: self.pos as u64,
                    records: &self.bytes[range.clone()],
                    origin,
                };
                self.pos = range.end;
                Some(Ok(batch))
            }
            Err(tail) => {
                self.failed = true;
                tail_error(self.path, tail).map(Err)
            }
        }
    }
}

/// What [`recover`] found and did.
///
/// # Examples
/// ```
/// use seqring::format::segment::{recover, SegmentWriter};
/// let dir = tempfile::tempdir().unwrap();
/// let path = dir.path().join("0.seg");
/// let len = SegmentWriter::create(&path, 1_000).unwrap().finish().unwrap();
/// std::fs::write(&path, [std::fs::read(&path).unwrap(), b"SEQRBAT\0".to_vec()].concat()).unwrap(); // a torn append
/// let report = recover(&path).unwrap();
/// assert_eq!((report.original_len, report.len, report.batches), (len + 8, len, 0));
/// assert_eq!(report.torn.unwrap().0, len);
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RecoveryReport {
    /// The file.
    pub path: PathBuf,
    /// Its length before recovery.
    pub original_len: u64,
    /// Its length after recovery.
    pub len: u64,
    /// The number of valid batches kept.
    pub batches: u64,
    /// The number of data records in them.
    pub records: u64,
    /// Where the torn tail started and why, when one was truncated.
    pub torn: Option<(u64, &'static str)>,
}

impl RecoveryReport {
    /// How many bytes were cut off.
    ///
    /// # Examples
    /// ```
    /// use seqring::format::segment::{recover, SegmentWriter};
    /// let dir = tempfile::tempdir().unwrap();
    /// let path = dir.path().join("0.seg");
    /// SegmentWriter::create(&path, 1_000).unwrap().finish().unwrap();
    /// assert_eq!(recover(&path).unwrap().truncated_bytes(), 0, "a clean file is left as it is");
    /// ```
    pub fn truncated_bytes(&self) -> u64 {
        self.original_len - self.len
    }
}

/// Checks the segment at `path` and truncates a torn last batch (or a torn file header, which leaves an empty
/// file), then syncs the file. A clean file is left untouched.
///
/// # Errors
/// [`SegmentError::Io`] if the file cannot be read, mapped or truncated; [`SegmentError::Corrupt`],
/// [`SegmentError::BadRecord`], [`SegmentError::NotSegment`] or [`SegmentError::UnsupportedVersion`] when the
/// problem is not a torn tail, in which case nothing is changed.
///
/// # Examples
/// ```
/// use seqring::format::segment::{recover, SegmentWriter};
/// let dir = tempfile::tempdir().unwrap();
/// let path = dir.path().join("log.seg");
/// let mut writer = SegmentWriter::create(&path, 0).unwrap();
/// writer.append_batch(&[16, 0, 0, 0, 1, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0]).unwrap();
/// let len = writer.finish().unwrap();
/// // A crash in the middle of the next append:
/// let file = std::fs::OpenOptions::new().append(true).open(&path).unwrap();
/// std::io::Write::write_all(&mut &file, b"SEQRBAT\0\x10").unwrap();
/// let report = recover(&path).unwrap();
/// assert_eq!((report.len, report.batches, report.records), (len, 1, 1));
/// assert_eq!(report.truncated_bytes(), 9);
/// assert_eq!(std::fs::metadata(&path).unwrap().len(), len);
/// ```
pub fn recover(path: impl AsRef<Path>) -> Result<RecoveryReport, SegmentError> {
    let path = path.as_ref();
    let file = OpenOptions::new()
        .read(true)
        .write(true)
        .open(path)
        .map_err(|e| SegmentError::io(path, e))?;
    let original_len = file.metadata().map_err(|e| SegmentError::io(path, e))?.len();
    let result = if original_len == 0 {
        scan(&[])
    } else {
        // The map is dropped before the file is truncated below, and no logger writes a segment under recovery
        // (the region layer's mapped-file contract).
        let map = ReadOnlyMap::of_file(&file).map_err(|e| SegmentError::io(path, e))?;
        scan(&map)
    };
    let torn = match result.tail {
        Tail::Clean => None,
        Tail::Torn { offset, reason } => Some((offset, reason)),
        tail => return Err(tail_error(path, tail).unwrap_or_else(|| unreachable_io(path))),
    };
    if torn.is_some() {
        file.set_len(result.valid_len).map_err(|e| SegmentError::io(path, e))?;
        file.sync_all().map_err(|e| SegmentError::io(path, e))?;
    }
    Ok(RecoveryReport {
        path: path.to_path_buf(),
        original_len,
        len: result.valid_len,
        batches: result.batches,
        records: result.records,
        torn,
    })
}
