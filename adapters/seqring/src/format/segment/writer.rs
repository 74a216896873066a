//! The append-only segment writer. It writes the file header once, then whole batches (header + ring bytes); it
//! never seeks or rewrites, so a crash can only tear the last batch.
//!
//! Invariant: nothing is buffered in user space. When [`SegmentWriter::append_batch`] returns `Ok`, the batch is
//! in the kernel (one `writev` of its header and the caller's bytes, straight from ring memory), so a crash of the
//! writing process loses none of it; only a crash of the machine before the next sync can.

use seqring_platform::clock::now_us;
use std::fs::{File, OpenOptions};
use std::io::{IoSlice, Write};
use std::path::{Path, PathBuf};

use super::reader::{scan, Tail};
use super::{batch_header, Origin, SegmentError, SegmentHeader, FILE_HEADER_LEN, VERSION};

/// Appends batches of ring records to a segment file.
///
/// Each batch goes straight from the caller's slice to the kernel; it is durable only after
/// [`sync`](Self::sync) or [`finish`](Self::finish). After an I/O error the file may end in a torn batch, which
/// [`recover`](super::recover) truncates. Files are written in the current format version; [`append_to`](
/// Self::append_to) refuses a file of another version.
///
/// # Examples
/// ```
/// use seqring::format::segment::{Origin, Segment, SegmentWriter};
/// use seqring_core::ring::record::encode_data;
/// let dir = tempfile::tempdir().unwrap();
/// let path = dir.path().join("0.seg");
/// let mut w = SegmentWriter::create(&path, 1_000).unwrap();
/// let mut batch = vec![0u8; 24 + 24];
/// encode_data(&mut batch[..24], 1, 0, &1_000u64.to_le_bytes());
/// encode_data(&mut batch[24..], 1, 5, b"hello");
/// w.append_batch(&batch).unwrap(); // in the kernel now
/// w.append_batch_from(Origin { ring: 42, position: 48 }, &batch).unwrap();
/// assert_eq!(w.batches(), 2);
/// w.finish().unwrap();
/// assert_eq!(Segment::open(&path).unwrap().records().count(), 4);
/// ```
#[derive(Debug)]
pub struct SegmentWriter {
    path: PathBuf,
    out: File,
    header: SegmentHeader,
    len: u64,
    batches: u64,
    preallocated: bool,
    /// The length up to which the disk was asked to start writing ([`WRITEBACK_STEP`]).
    kicked: u64,
}

/// The bytes appended between two requests that the disk start writing them
/// ([`seqring_platform::start_writeback`]): the disk then writes while the writer appends, and the final sync has at
/// most about this much left to write.
const WRITEBACK_STEP: u64 = 8 << 20;

impl SegmentWriter {
    /// Creates a new segment at `path` (mode 0600 on Unix; an existing file is an error) and writes its header,
    /// with the logger's onset in µs since the UNIX epoch.
    ///
    /// # Errors
    /// [`SegmentError::Io`] if the file exists or cannot be created or written.
    ///
    /// # Examples
    /// ```
    /// use seqring::format::segment::SegmentWriter;
    /// use seqring_core::ring::record::encode_data;
    /// let dir = tempfile::tempdir().unwrap();
    /// let mut batch = vec![0u8; 48]; // two whole ring records: an onset and a message
    /// encode_data(&mut batch[..24], 1, 0, &1_000u64.to_le_bytes());
    /// encode_data(&mut batch[24..], 1, 5, b"hello");
    /// let path = dir.path().join("0.seg");
    /// let w = SegmentWriter::create(&path, 1_000).unwrap();
    /// assert_eq!((w.header().onset_us, w.bytes_written()), (1_000, 64)); // the file header only
    /// assert!(SegmentWriter::create(&path, 1_000).is_err(), "the file exists");
    /// ```
    pub fn create(path: impl AsRef<Path>, onset_us: u64) -> Result<Self, SegmentError> {
        let path = path.as_ref();
        let file = seqring_platform::create_private(path).map_err(|e| SegmentError::io(path, e))?;
        let header = SegmentHeader {
            version: VERSION,
            onset_us,
            created_us: now_us(),
            pid: std::process::id(),
        };
        let mut out = file;
        out.write_all(&header.encode()).map_err(|e| SegmentError::io(path, e))?;
        Ok(SegmentWriter {
            path: path.to_path_buf(),
            out,
            header,
            len: FILE_HEADER_LEN as u64,
            batches: 0,
            preallocated: false,
            kicked: 0,
        })
    }

    /// Opens an existing, clean segment to append more batches to it.
    ///
    /// # Errors
    /// [`SegmentError::TornTail`] if it ends in a torn batch (run [`recover`](super::recover) first), any other
    /// scan error, [`SegmentError::NotSegment`] for an empty file, or [`SegmentError::Io`].
    ///
    /// # Examples
    /// ```
    /// use seqring::format::segment::SegmentWriter;
    /// use seqring_core::ring::record::encode_data;
    /// let dir = tempfile::tempdir().unwrap();
    /// let mut batch = vec![0u8; 48]; // two whole ring records: an onset and a message
    /// encode_data(&mut batch[..24], 1, 0, &1_000u64.to_le_bytes());
    /// encode_data(&mut batch[24..], 1, 5, b"hello");
    /// let path = dir.path().join("0.seg");
    /// let mut w = SegmentWriter::create(&path, 1_000).unwrap();
    /// w.append_batch(&batch).unwrap();
    /// let len = w.finish().unwrap();
    /// let mut w = SegmentWriter::append_to(&path).unwrap();
    /// assert_eq!(w.append_batch(&batch).unwrap(), len); // the next batch starts where the file ended
    /// ```
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
            (Tail::Clean, Some(h)) if h.version == VERSION => h,
            (Tail::Clean, Some(h)) => {
                return Err(SegmentError::UnsupportedVersion {
                    path: path.into(),
                    version: h.version,
                })
            }
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
            out: file,
            header,
            len: result.valid_len,
            batches: result.batches,
            preallocated: false,
            kicked: result.valid_len,
        })
    }

    /// Appends one batch not drained from a ring ([`Origin::NONE`]): `records` must be whole ring records (a
    /// non-empty multiple of 8 bytes), exactly as they sit in a ring. Returns the batch's file offset.
    ///
    /// # Errors
    /// As [`SegmentWriter::append_batch_from`].
    ///
    /// # Examples
    /// ```
    /// use seqring::format::segment::SegmentWriter;
    /// use seqring_core::ring::record::encode_data;
    /// let dir = tempfile::tempdir().unwrap();
    /// let mut batch = vec![0u8; 48]; // two whole ring records: an onset and a message
    /// encode_data(&mut batch[..24], 1, 0, &1_000u64.to_le_bytes());
    /// encode_data(&mut batch[24..], 1, 5, b"hello");
    /// let mut w = SegmentWriter::create(dir.path().join("0.seg"), 1_000).unwrap();
    /// assert_eq!(w.append_batch(&batch).unwrap(), 64); // after the file header
    /// assert_eq!(w.append_batch(&batch).unwrap(), 64 + 40 + 48); // after a batch header and 48 bytes of records
    /// assert!(w.append_batch(&batch[..20]).is_err(), "not whole records");
    /// ```
    pub fn append_batch(&mut self, records: &[u8]) -> Result<u64, SegmentError> {
        self.append_batch_from(Origin::NONE, records)
    }

    /// Appends one batch of records drained from the ring position `origin`, and returns once it is in the
    /// kernel. Returns the batch's file offset.
    ///
    /// # Errors
    /// [`SegmentError::BadBatch`] for an empty or unaligned batch (nothing is written); [`SegmentError::Io`] if
    /// the write fails.
    ///
    /// # Examples
    /// ```
    /// use seqring::format::segment::SegmentWriter;
    /// use seqring_core::ring::record::encode_data;
    /// let dir = tempfile::tempdir().unwrap();
    /// let mut batch = vec![0u8; 48]; // two whole ring records: an onset and a message
    /// encode_data(&mut batch[..24], 1, 0, &1_000u64.to_le_bytes());
    /// encode_data(&mut batch[24..], 1, 5, b"hello");
    /// use seqring::format::segment::{Origin, Segment};
    /// let path = dir.path().join("0.seg");
    /// let mut w = SegmentWriter::create(&path, 1_000).unwrap();
    /// let origin = Origin { ring: 42, position: 4_096 };
    /// w.append_batch_from(origin, &batch).unwrap();
    /// w.finish().unwrap();
    /// assert_eq!(Segment::open(&path).unwrap().batch_origins(), [(origin, 48)]);
    /// ```
    pub fn append_batch_from(&mut self, origin: Origin, records: &[u8]) -> Result<u64, SegmentError> {
        if records.is_empty() || !records.len().is_multiple_of(8) {
            return Err(SegmentError::BadBatch {
                path: self.path.clone(),
                len: records.len(),
            });
        }
        let offset = self.len;
        let header = batch_header(origin, records);
        write_all_vectored(&mut self.out, &header, records).map_err(|e| SegmentError::io(&self.path, e))?;
        self.len += (header.len() + records.len()) as u64;
        self.batches += 1;
        if self.len - self.kicked >= WRITEBACK_STEP {
            seqring_platform::start_writeback(&self.out, self.kicked, self.len - self.kicked);
            self.kicked = self.len;
        }
        Ok(offset)
    }

    /// Reserves disk blocks for the file up to `len` bytes without changing its length
    /// ([`seqring_platform::preallocate`]: `fallocate` with `FALLOC_FL_KEEP_SIZE` on Linux), so that appends do not
    /// allocate blocks one write at a time; [`finish`](Self::finish) gives back what was not used. Best effort: a
    /// file system that cannot just allocates as it goes.
    ///
    /// # Examples
    /// ```
    /// use seqring::format::segment::SegmentWriter;
    /// use seqring_core::ring::record::encode_data;
    /// let dir = tempfile::tempdir().unwrap();
    /// let mut batch = vec![0u8; 48]; // two whole ring records: an onset and a message
    /// encode_data(&mut batch[..24], 1, 0, &1_000u64.to_le_bytes());
    /// encode_data(&mut batch[24..], 1, 5, b"hello");
    /// let path = dir.path().join("0.seg");
    /// let mut w = SegmentWriter::create(&path, 1_000).unwrap();
    /// w.preallocate(1 << 20); // room for a megabyte of batches
    /// w.append_batch(&batch).unwrap();
    /// assert_eq!(w.finish().unwrap(), std::fs::metadata(&path).unwrap().len());
    /// ```
    pub fn preallocate(&mut self, len: u64) {
        seqring_platform::preallocate(&self.out, len);
        self.preallocated = true;
    }

    /// Waits until the data is on disk (`fdatasync`).
    ///
    /// # Errors
    /// [`SegmentError::Io`] if the write or the sync fails.
    ///
    /// # Examples
    /// ```
    /// use seqring::format::segment::SegmentWriter;
    /// use seqring_core::ring::record::encode_data;
    /// let dir = tempfile::tempdir().unwrap();
    /// let mut batch = vec![0u8; 48]; // two whole ring records: an onset and a message
    /// encode_data(&mut batch[..24], 1, 0, &1_000u64.to_le_bytes());
    /// encode_data(&mut batch[24..], 1, 5, b"hello");
    /// let path = dir.path().join("0.seg");
    /// let mut w = SegmentWriter::create(&path, 1_000).unwrap();
    /// w.append_batch(&batch).unwrap();
    /// w.sync().unwrap(); // durable now
    /// assert_eq!(std::fs::metadata(&path).unwrap().len(), w.bytes_written());
    /// ```
    pub fn sync(&mut self) -> Result<(), SegmentError> {
        self.out.sync_data().map_err(|e| SegmentError::io(&self.path, e))
    }

    /// Syncs and closes the file; returns its length.
    ///
    /// # Errors
    /// [`SegmentError::Io`] if the write or the sync fails.
    ///
    /// # Examples
    /// ```
    /// use seqring::format::segment::SegmentWriter;
    /// use seqring_core::ring::record::encode_data;
    /// let dir = tempfile::tempdir().unwrap();
    /// let mut batch = vec![0u8; 48]; // two whole ring records: an onset and a message
    /// encode_data(&mut batch[..24], 1, 0, &1_000u64.to_le_bytes());
    /// encode_data(&mut batch[24..], 1, 5, b"hello");
    /// let path = dir.path().join("0.seg");
    /// let mut w = SegmentWriter::create(&path, 1_000).unwrap();
    /// w.append_batch(&batch).unwrap();
    /// assert_eq!(w.finish().unwrap(), 64 + 40 + 48);
    /// ```
    pub fn finish(mut self) -> Result<u64, SegmentError> {
        if self.preallocated {
            // Frees the blocks reserved past the end by `preallocate`.
            self.out
                .set_len(self.len)
                .map_err(|e| SegmentError::io(&self.path, e))?;
        }
        self.sync()?;
        Ok(self.len)
    }

    /// The file's path.
    ///
    /// # Examples
    /// ```
    /// use seqring::format::segment::SegmentWriter;
    /// # use seqring_core::ring::record::encode_data;
    /// # let dir = tempfile::tempdir().unwrap();
    /// # let mut batch = vec![0u8; 48]; // two whole ring records: an onset and a message
    /// # encode_data(&mut batch[..24], 1, 0, &1_000u64.to_le_bytes());
    /// # encode_data(&mut batch[24..], 1, 5, b"hello");
    /// let path = dir.path().join("0.seg");
    /// let w = SegmentWriter::create(&path, 1_000).unwrap();
    /// assert_eq!(w.path(), path);
    /// ```
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The file header.
    ///
    /// # Examples
    /// ```
    /// use seqring::format::segment::SegmentWriter;
    /// # use seqring_core::ring::record::encode_data;
    /// # let dir = tempfile::tempdir().unwrap();
    /// # let mut batch = vec![0u8; 48]; // two whole ring records: an onset and a message
    /// # encode_data(&mut batch[..24], 1, 0, &1_000u64.to_le_bytes());
    /// # encode_data(&mut batch[24..], 1, 5, b"hello");
    /// let w = SegmentWriter::create(dir.path().join("0.seg"), 1_000).unwrap();
    /// let header = w.header();
    /// assert_eq!((header.onset_us, header.pid), (1_000, std::process::id()));
    /// ```
    pub fn header(&self) -> SegmentHeader {
        self.header
    }

    /// The file's length.
    ///
    /// # Examples
    /// ```
    /// use seqring::format::segment::SegmentWriter;
    /// # use seqring_core::ring::record::encode_data;
    /// # let dir = tempfile::tempdir().unwrap();
    /// # let mut batch = vec![0u8; 48]; // two whole ring records: an onset and a message
    /// # encode_data(&mut batch[..24], 1, 0, &1_000u64.to_le_bytes());
    /// # encode_data(&mut batch[24..], 1, 5, b"hello");
    /// let mut w = SegmentWriter::create(dir.path().join("0.seg"), 1_000).unwrap();
    /// w.append_batch(&batch).unwrap();
    /// assert_eq!(w.bytes_written(), 64 + 40 + 48);
    /// ```
    pub fn bytes_written(&self) -> u64 {
        self.len
    }

    /// The number of batches in the file.
    ///
    /// # Examples
    /// ```
    /// use seqring::format::segment::SegmentWriter;
    /// # use seqring_core::ring::record::encode_data;
    /// # let dir = tempfile::tempdir().unwrap();
    /// # let mut batch = vec![0u8; 48]; // two whole ring records: an onset and a message
    /// # encode_data(&mut batch[..24], 1, 0, &1_000u64.to_le_bytes());
    /// # encode_data(&mut batch[24..], 1, 5, b"hello");
    /// let mut w = SegmentWriter::create(dir.path().join("0.seg"), 1_000).unwrap();
    /// w.append_batch(&batch).unwrap();
    /// w.append_batch(&batch).unwrap();
    /// assert_eq!(w.batches(), 2);
    /// ```
    pub fn batches(&self) -> u64 {
        self.batches
    }
}

/// Writes `header` then `body` with as few system calls as the kernel allows (one `writev` in the common case).
fn write_all_vectored(out: &mut File, header: &[u8], body: &[u8]) -> std::io::Result<()> {
    let total = header.len() + body.len();
    let mut done = 0;
    while done < total {
        let n = if done < header.len() {
            out.write_vectored(&[IoSlice::new(&header[done..]), IoSlice::new(body)])
        } else {
            out.write(&body[done - header.len()..])
        };
        match n {
            Ok(0) => return Err(std::io::ErrorKind::WriteZero.into()),
            Ok(n) => done += n,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(())
}

// Block counts are a Unix notion (`st_blocks`).
#[cfg(all(test, unix))]
mod tests {
    use super::*;

    #[test]
    fn preallocated_blocks_past_the_end_are_given_back_at_finish() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("p.seg");
        let mut w = SegmentWriter::create(&path, 1).unwrap();
        w.preallocate(8 << 20);
        w.append_batch(&[16, 0, 0, 0, 1, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0])
            .unwrap();
        let meta = std::fs::metadata(&path).unwrap();
        assert_eq!(meta.len(), 64 + 40 + 16, "the length is what was written");
        use std::os::unix::fs::MetadataExt;
        let reserved = meta.blocks() * 512;
        let len = w.finish().unwrap();
        let meta = std::fs::metadata(&path).unwrap();
        assert_eq!(meta.len(), len);
        // File systems without fallocate reserve nothing; where it worked, finish gave the reservation back.
        assert!(
            meta.blocks() * 512 < 1 << 20,
            "{} bytes still reserved (had {reserved})",
            meta.blocks() * 512
        );
        assert_eq!(
            crate::format::segment::Segment::open(&path).unwrap().records().count(),
            1
        );
    }
}
