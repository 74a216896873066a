//! Recovery of a log directory after a crash: every segment checked, torn tails cut, corruption reported.

use std::path::{Path, PathBuf};

use crate::format::segment::{self, RecoveryReport, SegmentError, EXTENSION};

use super::RecoverError;

/// What [`recover`] found in a log directory.
#[derive(Debug)]
pub struct LogRecovery {
    /// The directory.
    pub log_dir: PathBuf,
    /// Every segment that is now clean (a torn tail cut, or none to cut), in name order.
    pub segments: Vec<RecoveryReport>,
    /// Segments damaged other than by a torn tail; they were left untouched.
    pub damaged: Vec<SegmentError>,
}

impl LogRecovery {
    /// The valid batches kept, all segments.
    ///
    /// # Examples
    /// ```
    /// # use seqring::logger::{DataLogger, recover};
    /// # let dir = tempfile::tempdir().unwrap();
    /// # let name = format!("doc-rec-batches-{}", std::process::id());
    /// # let logger = DataLogger::builder(dir.path(), &name).start().unwrap();
    /// # logger.producer(1).unwrap().log_now(b"x").unwrap();
    /// # let log_dir = logger.stop().unwrap().log_dir;
    /// let found = recover(&log_dir).unwrap();
    /// assert!(found.batches() >= 1);
    /// ```
    pub fn batches(&self) -> u64 {
        self.segments.iter().map(|r| r.batches).sum()
    }

    /// The records kept, all segments.
    ///
    /// # Examples
    /// ```
    /// # use seqring::logger::{DataLogger, recover};
    /// # let dir = tempfile::tempdir().unwrap();
    /// # let name = format!("doc-rec-records-{}", std::process::id());
    /// # let logger = DataLogger::builder(dir.path(), &name).start().unwrap();
    /// # logger.producer(1).unwrap().log_now(b"x").unwrap();
    /// # let log_dir = logger.stop().unwrap().log_dir;
    /// let found = recover(&log_dir).unwrap();
    /// assert_eq!(found.records(), 2); // the onset record and x
    /// ```
    pub fn records(&self) -> u64 {
        self.segments.iter().map(|r| r.records).sum()
    }

    /// The bytes cut off torn tails, all segments.
    ///
    /// # Examples
    /// ```
    /// use std::io::Write;
    /// # use seqring::logger::{DataLogger, recover};
    /// # let dir = tempfile::tempdir().unwrap();
    /// # let name = format!("doc-rec-cut-{}", std::process::id());
    /// # let logger = DataLogger::builder(dir.path(), &name).start().unwrap();
    /// # logger.producer(1).unwrap().log_now(b"x").unwrap();
    /// # let log_dir = logger.stop().unwrap().log_dir;
    /// // a crash while appending leaves a torn batch at the end of a segment
    /// let seg = std::fs::read_dir(&log_dir).unwrap().map(|e| e.unwrap().path()).find(|p| p.extension() == Some("seg".as_ref())).unwrap();
    /// let mut file = std::fs::OpenOptions::new().append(true).open(&seg).unwrap();
    /// file.write_all(&seqring::format::segment::BATCH_MAGIC).unwrap(); // a batch header cut short
    /// file.write_all(&[0xAB; 22]).unwrap();
    /// let found = recover(&log_dir).unwrap();
    /// assert_eq!(found.truncated_bytes(), 30);
    /// ```
    pub fn truncated_bytes(&self) -> u64 {
        self.segments.iter().map(RecoveryReport::truncated_bytes).sum()
    }

    /// The segments whose torn tail was cut.
    ///
    /// # Examples
    /// ```
    /// use std::io::Write;
    /// # use seqring::logger::{DataLogger, recover};
    /// # let dir = tempfile::tempdir().unwrap();
    /// # let name = format!("doc-rec-torn-{}", std::process::id());
    /// # let logger = DataLogger::builder(dir.path(), &name).start().unwrap();
    /// # logger.producer(1).unwrap().log_now(b"x").unwrap();
    /// # let log_dir = logger.stop().unwrap().log_dir;
    /// // a crash while appending leaves a torn batch at the end of a segment
    /// let seg = std::fs::read_dir(&log_dir).unwrap().map(|e| e.unwrap().path()).find(|p| p.extension() == Some("seg".as_ref())).unwrap();
    /// let mut file = std::fs::OpenOptions::new().append(true).open(&seg).unwrap();
    /// file.write_all(&seqring::format::segment::BATCH_MAGIC).unwrap(); // a batch header cut short
    /// file.write_all(&[0xAB; 22]).unwrap();
    /// let found = recover(&log_dir).unwrap();
    /// assert_eq!(found.torn().count(), 1);
    /// assert_eq!(recover(&log_dir).unwrap().torn().count(), 0, "cut once");
    /// ```
    pub fn torn(&self) -> impl Iterator<Item = &RecoveryReport> {
        self.segments.iter().filter(|r| r.torn.is_some())
    }

    /// Whether every segment is now readable end to end.
    ///
    /// # Examples
    /// ```
    /// # use seqring::logger::{DataLogger, recover};
    /// # let dir = tempfile::tempdir().unwrap();
    /// # let name = format!("doc-rec-clean-{}", std::process::id());
    /// # let logger = DataLogger::builder(dir.path(), &name).start().unwrap();
    /// # logger.producer(1).unwrap().log_now(b"x").unwrap();
    /// # let log_dir = logger.stop().unwrap().log_dir;
    /// assert!(recover(&log_dir).unwrap().is_clean());
    /// ```
    pub fn is_clean(&self) -> bool {
        self.damaged.is_empty()
    }
}

/// Checks every `.seg` file of `log_dir` (a logger's `{name}_data_log` directory, with no logger writing to it):
/// keeps every fully written batch, truncates a torn last batch (a crash while appending), and reports what it
/// kept and cut. A segment that is damaged anywhere but its tail is reported in [`LogRecovery::damaged`] and left
/// as it is.
///
/// # Errors
/// [`RecoverError`] if the directory cannot be listed.
///
/// # Examples
/// ```
/// use seqring::logger::{recover, DataLogger};
/// let dir = tempfile::tempdir().unwrap();
/// let name = format!("doc-recover-{}", std::process::id());
/// let logger = DataLogger::builder(dir.path(), &name).start().unwrap();
/// logger.producer(1).unwrap().log_now(b"x").unwrap();
/// let report = logger.stop().unwrap();
/// let recovery = recover(&report.log_dir).unwrap();
/// assert!(recovery.is_clean());
/// assert_eq!((recovery.records(), recovery.truncated_bytes()), (2, 0));
/// ```
pub fn recover(log_dir: impl AsRef<Path>) -> Result<LogRecovery, RecoverError> {
    let log_dir = log_dir.as_ref();
    let io = |source| RecoverError {
        path: log_dir.into(),
        source,
    };
    let mut paths = Vec::new();
    for entry in std::fs::read_dir(log_dir).map_err(io)? {
        let path = entry.map_err(io)?.path();
        if path.extension().is_some_and(|e| e == EXTENSION) && path.is_file() {
            paths.push(path);
        }
    }
    paths.sort();
    let mut out = LogRecovery {
        log_dir: log_dir.into(),
        segments: Vec::new(),
        damaged: Vec::new(),
    };
    for path in paths {
        match segment::recover(&path) {
            Ok(report) => out.segments.push(report),
            Err(e) => out.damaged.push(e),
        }
    }
    Ok(out)
}
