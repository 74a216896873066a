//! Log archives: one numpy `.npz` per source, assembled from a log directory and read back zero-copy.
//!
//! - [`assemble_log_archives`] turns a log directory (seqring segments and/or ataraxis-style `.npy` entries) into
//!   `{source_id}_log.npz` archives, byte-identical to what ataraxis/numpy write for the same messages.
//! - [`LogArchive`] memory-maps an archive, checks its zip directory at open and each entry (a block of entries at
//!   a time) the first time it is asked for, then hands out [`LogMessage`]s that borrow their payload from the map;
//!   an entry that fails its check gives its error when accessed ([`LogArchive::open_verified`] and
//!   [`LogArchive::verify_all`] check every entry up front). An archive with deflated members (numpy's
//!   `savez_compressed`, or [`assemble_log_archives`] with [`Compression::Deflated`]) is inflated once at open into
//!   the stored archive it stands for, held in memory, and read from there.
//! - [`discover_log_archives`], [`find_log_archive`], [`find_log_archives`] and [`read_archive_message_count`]
//!   locate archives and count their messages.
//!
//! Invariants of an archive (checked by the reader, guaranteed by the writer):
//! - a ZIP whose members are stored or deflated (no other method, no encryption); a deflated member inflates to
//!   exactly its declared size and CRC-32; each entry a 1-D `uint8` npy array `[source u8][elapsed µs u64 LE][payload]`,
//!   named `{source:03}_{elapsed:020}.npy`, or `…_{k}.npy` for the k-th further message with the same elapsed time;
//! - entries in timestamp order, the onset entry first: elapsed 0, payload = onset as u64 LE µs since the epoch;
//! - every entry belongs to the archive's source. Absolute time of a message = onset + elapsed.
//!
//! Every error names the file and, where there is one, the entry.
//!
//! A source that declared a schema ([`crate::format::schema`]) has a side file `{source_id}_log.schema.json`
//! beside its archive (assembly checks it and leaves it there; the `.npz` stays ataraxis's): [`LogArchive::schema`]
//! reads it, and [`LogArchive::typed`] hands out each payload as a typed value.

mod assemble;
mod discover;
mod fixed_deflate;
mod inflate;
mod logdir;
mod npz;
mod reader;
mod typed;
mod zipdir;

use std::path::PathBuf;

pub use assemble::{
    assemble_log_archives, assemble_log_archives_lenient, AssembleOptions, AssembleReport, AssembledArchive, Phase,
    Progress,
};
pub use discover::{discover_log_archives, find_log_archive, find_log_archives, read_archive_message_count};
pub use logdir::{LogDir, SourceSummary};
pub use npz::Compression;
pub use reader::{AllMessages, LogArchive, Messages, PARALLEL_THRESHOLD};
pub use typed::{Typed, TypedError, TypedMessage};

use crate::format::npy::NpyError;
use crate::format::segment::SegmentError;
pub use crate::format::{EntryName, NameBuf};

/// The suffix of every archive's file name, after the decimal source id.
///
/// # Examples
/// ```
/// # use seqring::archive::{assemble_log_archives, AssembleOptions};
/// # use seqring::logger::DataLogger;
/// # let dir = tempfile::tempdir().unwrap();
/// # let name = format!("doc-archive-suffix-{}", std::process::id());
/// # let logger = DataLogger::builder(dir.path(), &name).start().unwrap();
/// # let source = logger.producer(7).unwrap();
/// # for (t, frame) in [(1_000, &b"frame 1"[..]), (2_000, b"frame 2"), (3_000, b"frame 3")] {
/// #     source.log_at(t, frame).unwrap();
/// # }
/// # let log_dir = logger.stop().unwrap().log_dir;
/// # assemble_log_archives(&log_dir, &AssembleOptions::default()).unwrap();
/// use seqring::archive::ARCHIVE_SUFFIX;
/// // an assembled log directory of source 7
/// assert!(log_dir.join(format!("7{ARCHIVE_SUFFIX}")).is_file());
/// ```
pub const ARCHIVE_SUFFIX: &str = "_log.npz";
/// The elapsed time of a source's onset entry.
///
/// # Examples
/// ```
/// use seqring::archive::{EntryName, ONSET_TIMESTAMP};
/// let onset = EntryName { source_id: 7, timestamp: ONSET_TIMESTAMP, duplicate: 0 };
/// assert_eq!(onset.to_string(), "007_00000000000000000000.npy"); // every source's first entry
/// ```
pub const ONSET_TIMESTAMP: u64 = 0;

/// One logged message, borrowed from an archive.
///
/// # Examples
/// ```
/// # use seqring::archive::{assemble_log_archives, AssembleOptions};
/// # use seqring::logger::DataLogger;
/// # let dir = tempfile::tempdir().unwrap();
/// # let name = format!("doc-log-message-{}", std::process::id());
/// # let logger = DataLogger::builder(dir.path(), &name).start().unwrap();
/// # let source = logger.producer(7).unwrap();
/// # for (t, frame) in [(1_000, &b"frame 1"[..]), (2_000, b"frame 2"), (3_000, b"frame 3")] {
/// #     source.log_at(t, frame).unwrap();
/// # }
/// # let log_dir = logger.stop().unwrap().log_dir;
/// # assemble_log_archives(&log_dir, &AssembleOptions::default()).unwrap();
/// use seqring::archive::LogArchive;
/// // an archive of three frames, logged 1, 2 and 3 ms after source 7's onset
/// let archive = LogArchive::open(log_dir.join("7_log.npz")).unwrap();
/// let message = archive.get(0).unwrap();
/// assert_eq!((message.source_id, message.payload), (7, &b"frame 1"[..]));
/// assert_eq!(message.timestamp_us, archive.onset_us() + 1_000);
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct LogMessage<'a> {
    /// The source that logged it.
    pub source_id: u8,
    /// When it was logged: µs since the UNIX epoch (the source's onset plus the elapsed time in the entry).
    pub timestamp_us: u64,
    /// The payload bytes.
    pub payload: &'a [u8],
}

/// Why an archive could not be read or found. Every variant names the file, and the entry where there is one.
///
/// # Examples
/// ```
/// use seqring::archive::{ArchiveError, LogArchive};
/// let dir = tempfile::tempdir().unwrap();
/// let missing = dir.path().join("3_log.npz");
/// let e = LogArchive::open(&missing).unwrap_err();
/// assert!(matches!(&e, ArchiveError::Io { path, .. } if *path == missing));
/// assert!(e.to_string().starts_with(&missing.display().to_string()), "{e}");
/// ```
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ArchiveError {
    /// The operating system refused an operation.
    #[error("{path}: {source}")]
    Io {
        /// The file or directory.
        path: PathBuf,
        /// The OS error.
        #[source]
        source: std::io::Error,
    },
    /// The ZIP structure (end record or central directory) is unreadable.
    #[error("{path} is not a valid zip archive: {source}")]
    Zip {
        /// The archive.
        path: PathBuf,
        /// The zip reader's error.
        #[source]
        source: zip::result::ZipError,
    },
    /// An entry's local header cannot be read.
    #[error("{path}: entry '{entry}' has a bad local header: {source}")]
    ZipEntry {
        /// The archive.
        path: PathBuf,
        /// The entry.
        entry: String,
        /// The zip reader's error.
        #[source]
        source: zip::result::ZipError,
    },
    /// The local header disagrees with the central directory.
    #[error("{path}: entry '{entry}' has a local header that disagrees with the zip directory ({what})")]
    HeaderMismatch {
        /// The archive.
        path: PathBuf,
        /// The entry.
        entry: String,
        /// What differs.
        what: &'static str,
    },
    /// An entry is encrypted, or compressed by another method than deflate; log archive entries are stored or
    /// deflated.
    #[error("{path}: entry '{entry}' is {what}; log archive entries must be stored or deflated")]
    NotStored {
        /// The archive.
        path: PathBuf,
        /// The entry.
        entry: String,
        /// "encrypted", "compressed (method 12)", …
        what: String,
    },
    /// A deflated entry's data is not a deflate stream, or does not inflate to its declared size.
    #[error("{path}: deflated entry '{entry}' cannot be inflated: {reason}")]
    Inflate {
        /// The archive.
        path: PathBuf,
        /// The entry.
        entry: String,
        /// What went wrong.
        reason: String,
    },
    /// An entry's data extends past the end of the file.
    #[error("{path}: entry '{entry}' ends at byte {end}, past the end of the {len}-byte file")]
    ExceedsFile {
        /// The archive.
        path: PathBuf,
        /// The entry.
        entry: String,
        /// Where its data would end.
        end: u64,
        /// The file's length.
        len: u64,
    },
    /// An entry's name is not a log entry name.
    #[error("{path}: entry '{entry}' is not named like a log entry ('SSS_TTTTTTTTTTTTTTTTTTTT.npy')")]
    BadName {
        /// The archive.
        path: PathBuf,
        /// The entry.
        entry: String,
    },
    /// An entry is not a 1-D `uint8` npy array.
    #[error("{path}: entry '{entry}' is not a 1-D uint8 npy array: {source}")]
    NotNpy {
        /// The archive.
        path: PathBuf,
        /// The entry.
        entry: String,
        /// What is wrong with it.
        #[source]
        source: NpyError,
    },
    /// An entry is shorter than its 9-byte source and timestamp header.
    #[error("{path}: entry '{entry}' holds {len} bytes, fewer than the 9 bytes of its source id and timestamp")]
    TooShort {
        /// The archive.
        path: PathBuf,
        /// The entry.
        entry: String,
        /// Its data length.
        len: u64,
    },
    /// An entry belongs to another source than the archive.
    #[error("{path}: entry '{entry}' belongs to source {found}, not to the archive's source {expected}")]
    SourceMismatch {
        /// The archive.
        path: PathBuf,
        /// The entry.
        entry: String,
        /// The archive's source.
        expected: u8,
        /// The entry's source (from its name or its data).
        found: u8,
    },
    /// An entry's name and data disagree on the timestamp.
    #[error("{path}: entry '{entry}' is named for timestamp {named} but holds timestamp {stored}")]
    TimestampMismatch {
        /// The archive.
        path: PathBuf,
        /// The entry.
        entry: String,
        /// The timestamp in the name.
        named: u64,
        /// The timestamp in the data.
        stored: u64,
    },
    /// The first entry is not an onset entry (or there are no entries).
    #[error("{path} has no onset entry: {reason}")]
    MissingOnset {
        /// The archive.
        path: PathBuf,
        /// What was found instead.
        reason: String,
    },
    /// The onset entry's payload is not a u64.
    #[error("{path}: onset entry '{entry}' holds {len} payload bytes, not the 8 of a u64 onset")]
    BadOnset {
        /// The archive.
        path: PathBuf,
        /// The entry.
        entry: String,
        /// Its payload length.
        len: u64,
    },
    /// Onset plus an elapsed time does not fit a u64.
    #[error("{path}: entry '{entry}': onset + elapsed time overflows u64")]
    TimestampOverflow {
        /// The archive.
        path: PathBuf,
        /// The entry.
        entry: String,
    },
    /// An entry's CRC-32 does not match its (inflated) data.
    #[error("{path}: entry '{entry}' fails its CRC-32 check")]
    Crc {
        /// The archive.
        path: PathBuf,
        /// The entry.
        entry: String,
    },
    /// [`LogArchive::iter_keys`] was given a key that names no message.
    #[error("{path} has no message with key '{key}'")]
    UnknownKey {
        /// The archive.
        path: PathBuf,
        /// The key.
        key: String,
    },
    /// [`LogArchive::get`] was given an index past the last message.
    #[error("{path}: message index {index} out of range for {count} messages")]
    IndexOutOfRange {
        /// The archive.
        path: PathBuf,
        /// The index asked for.
        index: usize,
        /// The number of messages.
        count: usize,
    },
    /// A directory to search is missing or not a directory.
    #[error("{}", not_a_directory(path, "directory"))]
    NotADirectory {
        /// The path.
        path: PathBuf,
    },
    /// No archive of the source was found under a directory.
    #[error("no archive of source {source_id} ('{source_id}{ARCHIVE_SUFFIX}') under {root}")]
    NoArchive {
        /// The directory searched.
        root: PathBuf,
        /// The source.
        source_id: u8,
    },
    /// Several archives of the source were found under a directory.
    #[error("{} archives of source {source_id} under {root}: {}", paths.len(), display_paths(paths))]
    SeveralArchives {
        /// The directory searched.
        root: PathBuf,
        /// The source.
        source_id: u8,
        /// Every match.
        paths: Vec<PathBuf>,
    },
}

/// Says what is wrong with a path that should be a directory: missing, or something else (a file) that exists.
fn not_a_directory(path: &std::path::Path, what: &str) -> String {
    match std::fs::metadata(path) {
        Ok(meta) if meta.is_file() => format!("{} is a file, not a {what}", path.display()),
        Ok(_) => format!("{} is not a {what}", path.display()),
        Err(_) => format!("{} does not exist", path.display()),
    }
}

fn display_paths(paths: &[PathBuf]) -> String {
    paths
        .iter()
        .map(|p| p.display().to_string())
        .collect::<Vec<_>>()
        .join(", ")
}

/// Why assembly failed. Every variant names the file or directory it is about. Nothing is removed and no archive
/// is left under its final name when assembly fails before the rename step.
///
/// # Examples
/// ```
/// use seqring::archive::{assemble_log_archives, AssembleError, AssembleOptions};
/// let dir = tempfile::tempdir().unwrap();
/// std::fs::write(dir.path().join("camera.npy"), b"").unwrap();
/// let e = assemble_log_archives(dir.path(), &AssembleOptions::default()).unwrap_err();
/// assert!(matches!(e, AssembleError::BadEntryName { .. }), "{e}");
/// assert!(dir.path().join("camera.npy").exists(), "nothing is removed");
/// ```
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum AssembleError {
    /// The operating system refused an operation.
    #[error("{path}: {source}")]
    Io {
        /// The file or directory.
        path: PathBuf,
        /// The OS error.
        #[source]
        source: std::io::Error,
    },
    /// The log directory is missing or not a directory.
    #[error("{}", not_a_directory(path, "log directory"))]
    NotADirectory {
        /// The path.
        path: PathBuf,
    },
    /// A `.npy` file in the log directory is not named `{source}_{timestamp}[_{k}].npy`.
    #[error("{path} is not named like a log entry ('SSS_TTTTTTTTTTTTTTTTTTTT.npy')")]
    BadEntryName {
        /// The file.
        path: PathBuf,
    },
    /// A `.npy` entry is not a 1-D uint8 array.
    #[error("{path} is not a 1-D uint8 npy array: {source}")]
    BadEntry {
        /// The file.
        path: PathBuf,
        /// What is wrong with it.
        #[source]
        source: NpyError,
    },
    /// A `.npy` entry's bytes disagree with its name, or are too short.
    #[error("{path}: {reason}")]
    EntryMismatch {
        /// The file.
        path: PathBuf,
        /// What disagrees.
        reason: String,
    },
    /// A segment is torn, corrupt or unreadable.
    #[error(transparent)]
    Segment(#[from] SegmentError),
    /// A source has no onset entry (elapsed time 0) to start its archive.
    #[error("source {source_id} in {dir} has no onset entry (timestamp 0); its earliest entry is {first}")]
    MissingOnset {
        /// The log directory.
        dir: PathBuf,
        /// The source.
        source_id: u8,
        /// The earliest entry found.
        first: String,
    },
    /// A source's onset payload is not a u64.
    #[error("{path}: the onset entry of source {source_id} holds {len} payload bytes, not the 8 of a u64 onset")]
    BadOnset {
        /// The file (entry or segment).
        path: PathBuf,
        /// The source.
        source_id: u8,
        /// Its payload length.
        len: u64,
    },
    /// The archive already exists and overwriting was not asked for.
    #[error("{path} already exists; remove it or assemble with overwriting allowed (--overwrite)")]
    ArchiveExists {
        /// The archive.
        path: PathBuf,
    },
    /// Verification read back something other than what was written.
    #[error("verification of {path} failed at entry '{entry}': {reason}")]
    Verify {
        /// The archive (its temporary name).
        path: PathBuf,
        /// The entry.
        entry: String,
        /// What differs.
        reason: String,
    },
    /// Verification could not read the written archive.
    #[error("verification failed: {0}")]
    Reread(#[from] ArchiveError),
    /// The worker pool could not be started.
    #[error("cannot start {workers} worker threads: {reason}")]
    Workers {
        /// The requested number.
        workers: usize,
        /// The pool's error.
        reason: String,
    },
    /// A source's schema side file is unreadable or malformed (checked before anything is written).
    #[error(transparent)]
    Schema(#[from] crate::format::schema::SchemaError),
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn entry_names_round_trip_at_the_limits() {
        for (source_id, timestamp, duplicate, text) in [
            (0u8, 0u64, 0u32, "000_00000000000000000000.npy"),
            (255, u64::MAX, u32::MAX, "255_18446744073709551615_4294967295.npy"),
            (7, 42, 1, "007_00000000000000000042_1.npy"),
        ] {
            let name = EntryName {
                source_id,
                timestamp,
                duplicate,
            };
            assert_eq!(name.to_string(), text);
            assert_eq!(EntryName::parse(text), Some(name));
        }
        for bad in [
            "",
            "1",
            "1_",
            "_1",
            "1_2_0",
            "1_2_3_4",
            "1_x",
            "1_-2",
            "1_18446744073709551616",
            "+1_2",
        ] {
            assert_eq!(EntryName::parse(bad), None, "{bad}");
        }
        assert_eq!(EntryName::parse("1_2").map(|n| n.timestamp), Some(2));
    }
}
