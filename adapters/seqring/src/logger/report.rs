//! What a logger reports: [`StopReport`] (with a [`SourceReport`] per source) when it stops, [`Health`] while it
//! runs.

use std::path::PathBuf;
use std::sync::Arc;

use super::WriteError;

/// What one source logged, in a [`StopReport`].
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct SourceReport {
    /// The source id.
    pub source_id: u8,
    /// Records written to disk, the onset record included.
    pub records: u64,
    /// Their payload bytes.
    pub bytes: u64,
    /// Records given up on by the source's producers (ring full or logger stopped).
    pub dropped: u64,
    /// Records drained but not written because of a disk error.
    pub unwritten_records: u64,
    /// Their payload bytes.
    pub unwritten_bytes: u64,
}

/// The account of a logger run, from [`DataLogger::stop`](super::DataLogger::stop).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct StopReport {
    /// The log directory.
    pub log_dir: PathBuf,
    /// Per source with any record, dropped or written, by source id.
    pub sources: Vec<SourceReport>,
    /// Records written, all sources.
    pub records: u64,
    /// Their payload bytes.
    pub bytes: u64,
    /// Records given up on, all sources.
    pub dropped: u64,
    /// Claims left uncommitted by producers that died, turned into padding (in this logger's ring, and in a dead
    /// logger's ring it took over).
    pub abandoned: u64,
    /// Records drained but not written (disk error).
    pub unwritten_records: u64,
    /// Their payload bytes.
    pub unwritten_bytes: u64,
    /// Records taken over from a dead logger's region at start (included in the counts above). A record the dead
    /// logger had written but not yet released when it died is written again and counted here again; readers of
    /// the log directory skip the repeat by its ring position.
    pub taken_over: u64,
    /// Bytes cut from torn segment tails that a dead logger left in the log directory, when its region was taken
    /// over at start (see [`recover`](super::recover)).
    pub torn_bytes_cut: u64,
    /// The segment files written, in order (empty for npy entries).
    pub files: Vec<PathBuf>,
    /// The `.npy` entry files written.
    pub npy_entries: u64,
}

impl StopReport {
    /// The report of one source, if it logged anything.
    ///
    /// # Examples
    /// ```
    /// # use seqring::logger::{DataLogger};
    /// # let dir = tempfile::tempdir().unwrap();
    /// # let name = format!("doc-report-source-{}", std::process::id());
    /// # let logger = DataLogger::builder(dir.path(), &name).start().unwrap();
    /// logger.producer(6).unwrap().log_now(b"abc").unwrap();
    /// let report = logger.stop().unwrap();
    /// assert_eq!(report.source(6).unwrap().records, 2);
    /// assert!(report.source(7).is_none());
    /// ```
    pub fn source(&self, source_id: u8) -> Option<&SourceReport> {
        self.sources.iter().find(|s| s.source_id == source_id)
    }
}

/// A snapshot of a running logger, from [`DataLogger::health`](super::DataLogger::health).
#[derive(Clone, Debug)]
pub struct Health {
    /// Records drained from the ring so far (written or about to be).
    pub records: u64,
    /// Records handed to the operating system so far: they survive a crash of this process (and reach the disk
    /// at the next fsync). The drain thread hands its buffer over whenever the ring runs empty.
    pub written: u64,
    /// Their payload bytes.
    pub bytes: u64,
    /// Bytes committed or claimed in the ring and not yet drained.
    pub pending_bytes: u64,
    /// Records given up on so far, all sources (the ring's own counter).
    pub dropped: u64,
    /// Abandoned claims unblocked so far.
    pub abandoned: u64,
    /// The first disk error, if any: from then on drained records are counted as unwritten.
    pub error: Option<Arc<WriteError>>,
}

impl Health {
    /// Whether no disk error has happened.
    ///
    /// # Examples
    /// ```
    /// # use seqring::logger::{DataLogger};
    /// # let dir = tempfile::tempdir().unwrap();
    /// # let name = format!("doc-report-ok-{}", std::process::id());
    /// # let logger = DataLogger::builder(dir.path(), &name).start().unwrap();
    /// assert!(logger.health().is_ok());
    /// logger.stop().unwrap();
    /// ```
    pub fn is_ok(&self) -> bool {
        self.error.is_none()
    }
}
