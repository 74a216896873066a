//! What goes wrong with a logger, per operation: [`StartError`], [`OpenError`] (connect, inspect), [`StopError`],
//! [`RecoverError`]; [`WriteError`] for a disk write; [`LoggerError`] holds any of them.

use std::path::PathBuf;
use std::sync::Arc;

use seqring_core::ring::RingError;
use seqring_platform::RegionError;

use super::{LogError, StopReport};

/// A disk write that failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum WriteError {
    /// A segment file could not be written, synced or read back.
    #[error(transparent)]
    Segment(#[from] crate::format::segment::SegmentError),
    /// An entry file or the log directory could not be written.
    #[error("{path}: {source}")]
    Io {
        /// The file or directory.
        path: PathBuf,
        /// The OS error.
        #[source]
        source: std::io::Error,
    },
}

/// Why a logger could not start ([`LoggerBuilder::start`](super::LoggerBuilder::start),
/// [`LoggerBuilder::check`](super::LoggerBuilder::check)). Every variant names the logger or the path.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum StartError {
    /// The name is not usable: it must match `[A-Za-z0-9._-]{1,188}`.
    #[error("invalid logger name {name:?}: use 1 to 188 characters of A-Z a-z 0-9 . _ -")]
    InvalidName {
        /// The rejected name.
        name: String,
    },
    /// A builder option is out of range.
    #[error("invalid logger option: {0}")]
    InvalidOption(String),
    /// The log directory already holds an earlier recording (and no dead logger of this name is being taken
    /// over): a new recording never mixes with it.
    #[error("{path} already holds a recording ({files} log files); choose another output directory or logger name, move that recording away, or continue it on purpose with `continue_recording`")]
    ExistingRecording {
        /// The log directory.
        path: PathBuf,
        /// Its segment, entry and archive files.
        files: usize,
    },
    /// A live logger already runs under this name.
    #[error("logger {name:?} is already running in process {pid}")]
    NameInUse {
        /// The logger's name.
        name: String,
        /// The live logger's process.
        pid: u32,
    },
    /// The region exists but is not a valid logger region.
    #[error("logger {name:?}: {problem}")]
    Layout {
        /// The logger's name.
        name: String,
        /// What is wrong.
        problem: String,
    },
    /// The region could not be created or opened.
    #[error("logger {name:?}: {source}")]
    Region {
        /// The logger's name.
        name: String,
        /// The platform layer's error.
        #[source]
        source: RegionError,
    },
    /// The ring refused an operation or is corrupt.
    #[error("logger {name:?}: ring: {error}")]
    Ring {
        /// The logger's name.
        name: String,
        /// The ring's error.
        error: RingError,
    },
    /// The log directory could not be created, listed or written, or the drain thread could not be started.
    #[error("{path}: {source}")]
    Io {
        /// The directory.
        path: PathBuf,
        /// The OS error.
        #[source]
        source: std::io::Error,
    },
    /// The first log file could not be created (or a dead logger's records could not be written).
    #[error("{path}: {source}")]
    Write {
        /// The log directory.
        path: PathBuf,
        /// The write error.
        #[source]
        source: WriteError,
    },
}

/// Why a running logger could not be opened: to connect a producer ([`Producer::connect`](super::Producer::connect),
/// [`DataLogger::producer`](super::DataLogger::producer)) or to inspect it ([`inspect`](super::inspect)).
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum OpenError {
    /// The name is not usable: it must match `[A-Za-z0-9._-]{1,188}`.
    #[error("invalid logger name {name:?}: use 1 to 188 characters of A-Z a-z 0-9 . _ -")]
    InvalidName {
        /// The rejected name.
        name: String,
    },
    /// No logger of this name is running.
    #[error("no logger named {name:?} is running")]
    NotRunning {
        /// The logger's name.
        name: String,
    },
    /// The region exists but is not a valid logger region.
    #[error("logger {name:?}: {problem}")]
    Layout {
        /// The logger's name.
        name: String,
        /// What is wrong.
        problem: String,
    },
    /// The region could not be created or opened.
    #[error("logger {name:?}: {source}")]
    Region {
        /// The logger's name.
        name: String,
        /// The platform layer's error.
        #[source]
        source: RegionError,
    },
    /// The ring refused an operation or is corrupt.
    #[error("logger {name:?}: ring: {error}")]
    Ring {
        /// The logger's name.
        name: String,
        /// The ring's error.
        error: RingError,
    },
    /// The onset record of a source could not be logged.
    #[error("logger {name:?}: the onset record of source {source_id} could not be logged: {error}")]
    Onset {
        /// The logger's name.
        name: String,
        /// The source.
        source_id: u8,
        /// Why.
        error: LogError,
    },
    /// The source already has an onset, so it cannot be given another.
    #[error("logger {name:?}: source {source_id} already has an onset")]
    OnsetTaken {
        /// The logger's name.
        name: String,
        /// The source.
        source_id: u8,
    },
}

/// What went wrong when a logger stopped ([`DataLogger::stop`](super::DataLogger::stop)); the report says
/// exactly what was written and what was not.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum StopError {
    /// A disk write failed.
    #[error("{source}; {} records ({} bytes) could not be written", report.unwritten_records, report.unwritten_bytes)]
    Disk {
        /// The account of the run.
        report: Box<StopReport>,
        /// The first write error.
        #[source]
        source: Arc<WriteError>,
    },
    /// The ring turned out corrupt while draining; the report covers what was drained before.
    #[error("logger {name:?}: ring corrupt while draining: {error}")]
    Drain {
        /// The logger's name.
        name: String,
        /// The ring's error.
        error: RingError,
        /// The account of the run up to the corruption.
        report: Box<StopReport>,
    },
    /// The drain thread panicked (a bug).
    #[error("logger {name:?}: the drain thread panicked")]
    Panicked {
        /// The logger's name.
        name: String,
    },
}

/// A log directory that [`recover`](super::recover) could not list.
#[derive(Debug, thiserror::Error)]
#[error("{path}: {source}")]
pub struct RecoverError {
    /// The directory.
    pub path: PathBuf,
    /// The OS error.
    #[source]
    pub source: std::io::Error,
}

/// Any logger error, for callers that handle them alike (`?` converts each operation's error into it).
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum LoggerError {
    /// Starting failed.
    #[error(transparent)]
    Start(#[from] StartError),
    /// Opening a running logger failed.
    #[error(transparent)]
    Open(#[from] OpenError),
    /// Stopping lost records or found the ring corrupt.
    #[error(transparent)]
    Stop(#[from] StopError),
    /// Recovery could not list the log directory.
    #[error(transparent)]
    Recover(#[from] RecoverError),
}
