//! The append-only segment writer. It writes the file header once, then whole batches (header + ring bytes); it
//! never seeks or rewrites, so a crash can only tear the last batch.

use crate::region::clock::now_us;
use std::fs::{File, OpenOptions};
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};

use super::reader::{scan, Tail};
use super::{batch_header, SegmentError, SegmentHeader, FILE_HEADER_LEN, VERSION};

const BUFFER: usize = 256 * 1024;

/// Appends batches of ring records to a segment file.
///
/// Small batches are coalesced in a 256 KiB buffer; a batch larger than the buffer goes straight from the caller's
/// slice to the file. Data is durable only after [`sync`](Self::sync) or [`finish`](Self::finish). After an I/O
/// error the file may end in a torn batch, which [`recover`](super::recover) truncates.
///
/// # Examples
/// ```
/// use seqring::segment::{Segment, SegmentWriter};
/// use seqring::core::ring::record::encode_data;
/// let dir = tempfile::tempdir().unwrap();
/// let path = dir.path().join("0.seg");
/// let mut w = SegmentWriter::create(&path, 1_000).unwrap();
/// let mut batch = vec![0u8; 24 + 24];
/// encode_data(&mut batch[..24], 1, 0, &1_000u64.to_le_bytes());
/// encode_data(&mut batch[24..], 1, 5, b"hello");
/// w.append_batch(&batch).unwrap();
/// assert_eq!(w.batches(), 1);
/// w.finish().unwrap();
/// assert_eq!(Segment::open(&path).unwrap().records().count(), 2);
/// ```
#[derive(Debug)]
pub struct SegmentWriter {
    path: PathBuf,
    out: BufWriter<File>,
    header: SegmentHeader,
    len: u64,
    batches: u64,
}

impl SegmentWriter {
    /// Creates a new segment at `path` (mode 0600 on Unix; an existing file is an error) and writes its header,
    /// with the logger's onset in µs since the UNIX epoch.
    ///
    /// # Errors
    /// [`SegmentError::Io`] if the file exists or cannot be created or written.
    pub fn create(path: impl AsRef<Path>, onset_us: u64) -> Result<Self, SegmentError> {
        let path = path.as_ref();
        let mut options = OpenOptions::new();
        options.write(true).create_new(true);
        #[cfg(unix)]
        std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
        let file = options.open(path).map_err(|e| SegmentError::io(path, e))?;
        let header = SegmentHeader {
            version: VERSION,
            onset_us,
            created_us: now_us(),
            pid: std::process::id(),
        };
        let mut out = BufWriter::with_capacity(BUFFER, file);
        out.write_all(&header.encode()).map_err(|e| SegmentError::io(path, e))?;
        Ok(SegmentWriter {
            path: path.to_path_buf(),
            out,
            header,
            len: FILE_HEADER_LEN as u64,
            batches: 0,
        })
    }

    /// Opens an existing, clean segment to append more batches to it.
    ///
    /// # Errors
    /// [`SegmentError::TornTail`] if it ends in a torn batch (run [`recover`](super::recover) first), any other
    /// scan error, [`SegmentError::NotSegment`] for an empty file, or [`SegmentError::Io`].
    pub fn append_to(path: impl AsRef<Path>) -> Result<Self, SegmentError> {
        let path = path.as_ref();
        let file = OpenOptions::new()
            .read(true)
            .append(true)
            .open(path)
            .map_err(|e| SegmentError::io(path, e))?;
        let segment = super::Segment::open(path)?;
        let result = scan(segment.bytes());
        drop(segment);
        let header = match (result.tail, result.header) {
            (Tail::Clean, Some(h)) => h,
            (Tail::Clean, None) => return Err(SegmentError::NotSegment { path: path.into() }),
            (Tail::Torn { offset, reason }, _) => {
                return Err(SegmentError::TornTail {
                    path: path.into(),
                    offset,
                    reason,
                })
            }
            (Tail::Corrupt { offset, reason }, _) => {
                return Err(SegmentError::Corrupt {
                    path: path.into(),
                    offset,
                    reason,
                })
            }
            (Tail::BadRecord { offset, error }, _) => {
                return Err(SegmentError::BadRecord {
                    path: path.into(),
                    offset,
                    source: error,
                })
            }
            (Tail::NotSegment, _) => return Err(SegmentError::NotSegment { path: path.into() }),
            (Tail::UnsupportedVersion(version), _) => {
                return Err(SegmentError::UnsupportedVersion {
                    path: path.into(),
                    version,
                })
            }
        };
        Ok(SegmentWriter {
            path: path.to_path_buf(),
            out: BufWriter::with_capacity(BUFFER, file),
            header,
            len: result.valid_len,
            batches: result.batches,
        })
    }

    /// Appends one batch: `records` must be whole ring records (a non-empty multiple of 8 bytes), exactly as they
    /// sit in the ring. Returns the batch's file offset.
    ///
    /// # Errors
    /// [`SegmentError::BadBatch`] for an empty or unaligned batch (nothing is written); [`SegmentError::Io`] if
    /// the write fails.
    pub fn append_batch(&mut self, records: &[u8]) -> Result<u64, SegmentError> {
        if records.is_empty() || !records.len().is_multiple_of(8) {
            return Err(SegmentError::BadBatch {
                path: self.path.clone(),
                len: records.len(),
            });
        }
        let offset = self.len;
        let header = batch_header(records);
        self.out
            .write_all(&header)
            .and_then(|()| self.out.write_all(records))
            .map_err(|e| SegmentError::io(&self.path, e))?;
        self.len += (header.len() + records.len()) as u64;
        self.batches += 1;
        Ok(offset)
    }

    /// Hands buffered batches to the operating system.
    ///
    /// # Errors
    /// [`SegmentError::Io`] if the write fails.
    pub fn flush(&mut self) -> Result<(), SegmentError> {
        self.out.flush().map_err(|e| SegmentError::io(&self.path, e))
    }

    /// Flushes and waits until the data is on disk (`fdatasync`).
    ///
    /// # Errors
    /// [`SegmentError::Io`] if the write or the sync fails.
    pub fn sync(&mut self) -> Result<(), SegmentError> {
        self.flush()?;
        self.out
            .get_ref()
            .sync_data()
            .map_err(|e| SegmentError::io(&self.path, e))
    }

    /// Syncs and closes the file; returns its length.
    ///
    /// # Errors
    /// [`SegmentError::Io`] if the write or the sync fails.
    pub fn finish(mut self) -> Result<u64, SegmentError> {
        self.sync()?;
        Ok(self.len)
    }

    /// The file's path.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The file header.
    pub fn header(&self) -> SegmentHeader {
        self.header
    }

    /// The file's length once every buffered batch is written.
    pub fn bytes_written(&self) -> u64 {
        self.len
    }

    /// The number of batches in the file, buffered ones included.
    pub fn batches(&self) -> u64 {
        self.batches
    }
}
