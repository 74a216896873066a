//! Segment files: the logger's default, append-only disk format (`{name}_data_log/*.seg`).
//!
//! ```text
//! file header (64 bytes)
//!   0  8  magic b"SEQRSEG\0"
//!   8  4  version u32 = 1
//!  12  4  header length u32 = 64
//!  16  8  onset u64: the logger's onset, µs since the UNIX epoch
//!  24  8  creation time u64: µs since the UNIX epoch
//!  32  4  writer pid u32 (information only)
//!  36 20  reserved, zero
//!  56  8  xxh3-64 of bytes 0..56
//! then batches, back to back from offset 64:
//!   0  8  magic b"SEQRBAT\0"
//!   8  8  length u64 of the record bytes: a multiple of 8, at least 8
//!  16  8  xxh3-64 of the record bytes
//!  24  n  the ring records exactly as they sat in the ring (`seqring_core::ring::record`), padding included
//! ```
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

mod reader;
mod writer;

pub use reader::{recover, scan, Batch, Batches, RecoveryReport, Scan, Segment, Tail};
pub use writer::SegmentWriter;

use std::path::PathBuf;

use seqring_core::ring::record::RecordError;

/// The magic at offset 0 of every segment file.
pub const FILE_MAGIC: [u8; 8] = *b"SEQRSEG\0";
/// The magic at offset 0 of every batch header.
pub const BATCH_MAGIC: [u8; 8] = *b"SEQRBAT\0";
/// The segment format version this build reads and writes.
pub const VERSION: u32 = 1;
/// The length of the file header.
pub const FILE_HEADER_LEN: usize = 64;
/// The length of a batch header.
pub const BATCH_HEADER_LEN: usize = 24;
/// The file extension of segment files.
pub const EXTENSION: &str = "seg";

/// The fields of a segment's file header.
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

/// Encodes the header of a batch holding `records`.
pub fn batch_header(records: &[u8]) -> [u8; BATCH_HEADER_LEN] {
    let mut out = [0u8; BATCH_HEADER_LEN];
    out[0..8].copy_from_slice(&BATCH_MAGIC);
    out[8..16].copy_from_slice(&(records.len() as u64).to_le_bytes());
    out[16..24].copy_from_slice(&xxhash_rust::xxh3::xxh3_64(records).to_le_bytes());
    out
}

/// What went wrong with a segment file. Every variant names the file.
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
