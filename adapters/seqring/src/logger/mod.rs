//! The DataLogger: producers in any process log byte messages through a shared-memory ring to crash-safe disk
//! writers (ataraxis `DataLogger` + `LogPackage`).
//!
//! - [`DataLogger::builder`] sets the ring, the output format and the policies; [`LoggerBuilder::start`] creates
//!   `{output_dir}/{name}_data_log/` and the ring region, and starts the drain thread.
//! - [`DataLogger::producer`] (in-process) and [`Producer::connect`] (any process) hand out producers. Each source
//!   logs its onset record first (timestamp 0, payload = onset as u64 LE µs since the UNIX epoch); later
//!   timestamps are µs since that onset. [`Producer::log_now`], [`Producer::log_at`] and [`Producer::claim`] make
//!   no syscall and no allocation.
//! - The drain thread writes batches straight from ring memory: [`Format::Segments`] (the default; checksummed
//!   batches in files rolled at a size) or [`Format::NpyEntries`] (one ataraxis `.npy` file per message, from a
//!   pool of writer threads).
//! - [`DataLogger::stop`] drains everything committed, unblocks claims abandoned by dead producers, syncs, and
//!   returns a [`StopReport`]; [`DataLogger::health`] reports progress and the first disk error while it runs.
//! - [`inspect`] reads a logger region (state, ring counters, sources) without attaching to it.
//! - [`recover`] checks every segment of a log directory after a crash and cuts torn tails.
//!
//! Invariants:
//! - Every record a producer logs is, in the final report, exactly one of: written (in a file), unwritten (a disk
//!   error; counted per source), dropped (the ring was full or the logger stopped; counted per source by the
//!   producer before its call returns), or abandoned (a dead producer's claim, counted by the ring).
//! - A logger name is taken by one live logger: its region name is `seqring-log.{name}`, and a region left by a
//!   dead logger is taken over at start, its committed records drained into the new files first.
//! - The region layout (header, per-source table, ring) is in `docs/FORMATS.md` ("DataLogger").

mod backing;
mod drain;
mod inspect;
mod layout;
mod onsets;
mod producer;
mod recover;
mod ring_api;
mod sink;
mod tail;
mod tally;

pub use inspect::{inspect, inspect_region, LoggerInfo, LoggerState, SourceInfo};
pub use producer::{LogError, LogGrant, Producer};
pub use recover::{recover, LogRecovery};
pub use tail::{LogTail, TailError, TailFrom, TailMessage, POLL as TAIL_POLL};

use std::path::{Path, PathBuf};
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::Duration;

use seqring_platform::clock::now_ns;

use seqring_core::ring::{region_len, RingError, MAX_CAPACITY, MIN_CAPACITY};

use backing::{pid_alive, Backing};
use drain::{Drain, DrainOptions, DrainOutcome, Shared};
use layout::{HeaderFields, LoggerRegion};
use onsets::OnsetBook;
pub use onsets::FILE as ONSETS_FILE;
use ring_api::RingConsumer;
use seqring_platform::RegionError;
use sink::{NpySink, SegmentSink, Sink};
use tally::Tally;

/// The suffix of a logger's directory name (ataraxis `LOG_DIRECTORY_SUFFIX`).
pub const LOG_DIR_SUFFIX: &str = "_data_log";
/// The prefix of a logger's ring region name.
pub const REGION_PREFIX: &str = "seqring-log.";
/// The layout version of logger regions this build reads and writes.
pub const LAYOUT_VERSION: u64 = layout::VERSION;
/// The length of the logger block at the end of a logger region (`docs/FORMATS.md`).
pub const BLOCK_LEN: usize = layout::BLOCK_LEN;

/// How messages are stored on disk.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Format {
    /// Append-only segment files of checksummed batches (`docs/FORMATS.md`), rolled at the segment size.
    Segments,
    /// One ataraxis-compatible `.npy` file per message, written by `writers` threads (ataraxis uses 5).
    NpyEntries {
        /// The number of writer threads.
        writers: usize,
    },
}

/// What a producer does when the ring is full.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FullPolicy {
    /// Give up at once and count the record as dropped.
    Drop,
    /// Retry (spinning, then yielding) for up to this long, then give up and count the record as dropped.
    Wait(Duration),
}

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

/// What went wrong with a logger. Every variant names the logger, file or region it is about.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum LoggerError {
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
        /// The backing layer's error.
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
    /// The log directory could not be created.
    #[error("{path}: {source}")]
    Io {
        /// The directory.
        path: PathBuf,
        /// The OS error.
        #[source]
        source: std::io::Error,
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
    /// A disk write failed; the report says exactly what was written and what was not.
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

/// The account of a logger run, from [`DataLogger::stop`].
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
    /// over at start (see [`recover`]).
    pub torn_bytes_cut: u64,
    /// The segment files written, in order (empty for npy entries).
    pub files: Vec<PathBuf>,
    /// The `.npy` entry files written.
    pub npy_entries: u64,
}

impl StopReport {
    /// The report of one source, if it logged anything.
    pub fn source(&self, source_id: u8) -> Option<&SourceReport> {
        self.sources.iter().find(|s| s.source_id == source_id)
    }
}

/// A snapshot of a running logger, from [`DataLogger::health`].
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
    pub fn is_ok(&self) -> bool {
        self.error.is_none()
    }
}

/// Options of a [`DataLogger`], then [`start`](LoggerBuilder::start).
#[derive(Clone, Debug)]
#[must_use = "a builder does nothing until `start`"]
pub struct LoggerBuilder {
    output_dir: PathBuf,
    name: String,
    dir_name: Option<String>,
    capacity: usize,
    max_payload: Option<usize>,
    format: Format,
    segment_size: u64,
    fsync_interval: Option<Duration>,
    full: FullPolicy,
    abandon_timeout: Duration,
    continue_recording: bool,
}

impl LoggerBuilder {
    /// The log directory the logger will write: `{output_dir}/{name}_data_log` (ataraxis' name).
    ///
    /// # Examples
    /// ```
    /// use seqring::logger::DataLogger;
    /// let builder = DataLogger::builder("/data/run-1", "rig");
    /// assert_eq!(builder.log_dir(), std::path::Path::new("/data/run-1/rig_data_log"));
    /// ```
    pub fn log_dir(&self) -> PathBuf {
        let stem = self.dir_name.as_deref().unwrap_or(&self.name);
        self.output_dir.join(format!("{stem}{LOG_DIR_SUFFIX}"))
    }

    /// Names the log directory `{output_dir}/{dir_name}_data_log` instead of after the logger (whose name stays the
    /// machine-wide name producers connect by): two loggers with one directory name can then run at once in
    /// different output directories, as ataraxis's can.
    ///
    /// # Examples
    /// ```
    /// use seqring::logger::DataLogger;
    /// let builder = DataLogger::builder("/data/run-1", "rig-1a2b").dir_name("rig");
    /// assert_eq!(builder.log_dir(), std::path::Path::new("/data/run-1/rig_data_log"));
    /// ```
    pub fn dir_name(mut self, dir_name: &str) -> Self {
        self.dir_name = Some(dir_name.into());
        self
    }

    /// The ring's data area in bytes, rounded up to a power of two (64 B ..= 1 GiB; default 32 MiB).
    pub fn capacity(mut self, bytes: usize) -> Self {
        self.capacity = bytes;
        self
    }

    /// The largest payload of one record (default: a quarter of the capacity, less the 16-byte record header; at
    /// most half the capacity).
    pub fn max_payload(mut self, bytes: usize) -> Self {
        self.max_payload = Some(bytes);
        self
    }

    /// The output format (default [`Format::Segments`]).
    pub fn format(mut self, format: Format) -> Self {
        self.format = format;
        self
    }

    /// The size at which a segment file is closed and the next one started (default 256 MiB).
    pub fn segment_size(mut self, bytes: u64) -> Self {
        self.segment_size = bytes;
        self
    }

    /// How often written data is synced to disk while running (default every second; `None`: only at stop).
    pub fn fsync_interval(mut self, interval: Option<Duration>) -> Self {
        self.fsync_interval = interval;
        self
    }

    /// What producers do when the ring is full (default [`FullPolicy::Drop`]).
    pub fn on_full(mut self, policy: FullPolicy) -> Self {
        self.full = policy;
        self
    }

    /// How long a claim may stay uncommitted at the head of the ring before the drain thread treats it as
    /// abandoned (default 1 s). While running, it is unblocked only if the process of its source is dead.
    pub fn abandon_timeout(mut self, timeout: Duration) -> Self {
        self.abandon_timeout = timeout;
        self
    }

    /// Whether to add this run to a log directory that already holds a recording (default `false`: such a
    /// directory is refused with [`LoggerError::ExistingRecording`], so a second run never mixes with, and a
    /// later assembly never overwrites, the first). A dead logger's directory is always continued when its
    /// region is taken over.
    ///
    /// # Examples
    /// ```
    /// use seqring::logger::{DataLogger, LoggerError};
    /// let dir = tempfile::tempdir().unwrap();
    /// let name = format!("doc-continue-{}", std::process::id());
    /// DataLogger::builder(dir.path(), &name).start().unwrap().stop().unwrap();
    /// let again = DataLogger::builder(dir.path(), &name).start();
    /// assert!(matches!(again, Err(LoggerError::ExistingRecording { .. })));
    /// let more = DataLogger::builder(dir.path(), &name).continue_recording(true).start().unwrap();
    /// more.stop().unwrap();
    /// ```
    pub fn continue_recording(mut self, yes: bool) -> Self {
        self.continue_recording = yes;
        self
    }

    /// Checks the name and the options as [`start`](Self::start) would, creating nothing: for callers that take
    /// the options long before they start (the Python binding checks them when the logger object is made).
    ///
    /// # Errors
    /// [`LoggerError::InvalidName`] or [`LoggerError::InvalidOption`].
    ///
    /// # Examples
    /// ```
    /// use seqring::logger::{DataLogger, LoggerError};
    /// assert!(DataLogger::builder("/data/run-1", "rig").check().is_ok());
    /// assert!(matches!(DataLogger::builder("/data/run-1", "a/b").check(), Err(LoggerError::InvalidName { .. })));
    /// ```
    pub fn check(&self) -> Result<(), LoggerError> {
        region_name(&self.name)?;
        self.sizes().map(drop)
    }

    /// Creates the log directory and the ring region and starts the drain thread.
    ///
    /// A region of the same name left by a dead logger is taken over: the torn tails it left in the log
    /// directory's segments are cut ([`recover`]), its committed records are drained into this logger's files
    /// (counted in [`StopReport::taken_over`]), and its sources keep their onsets. After a crash that also lost
    /// the region (a reboot), run [`recover`] yourself.
    ///
    /// # Errors
    /// [`LoggerError::InvalidName`], [`LoggerError::InvalidOption`], [`LoggerError::NameInUse`] if a live logger
    /// has the name, [`LoggerError::ExistingRecording`], [`LoggerError::Layout`] if a region of the name exists
    /// and is not a logger's (a shared array, or an older seqring's logger), [`LoggerError::Io`] if the directory
    /// cannot be created, [`LoggerError::Region`] or
    /// [`LoggerError::Ring`] if the region cannot be set up, [`LoggerError::Disk`] if the first segment cannot be
    /// written.
    pub fn start(self) -> Result<DataLogger, LoggerError> {
        let region_name = region_name(&self.name)?;
        let (capacity, max_record) = self.sizes()?;
        let log_dir = self.log_dir();
        std::fs::create_dir_all(&log_dir).map_err(|source| LoggerError::Io {
            path: log_dir.clone(),
            source,
        })?;
        // Whether a dead logger's region waits to be taken over: then its directory is continued.
        let stale_waiting = self.stale_region(&region_name)?.is_some();
        if !stale_waiting && !self.continue_recording {
            let files = recording_files(&log_dir).map_err(|source| LoggerError::Io {
                path: log_dir.clone(),
                source,
            })?;
            if files > 0 {
                return Err(LoggerError::ExistingRecording { path: log_dir, files });
            }
        }
        // A logger that died here may have torn the last batch of a segment: cut it before writing more.
        let cut_bytes = match self.format {
            Format::Segments => recover(&log_dir)?.truncated_bytes(),
            Format::NpyEntries { .. } => 0,
        };
        let mut onsets = match self.format {
            Format::Segments => OnsetBook::load(&log_dir),
            Format::NpyEntries { .. } => OnsetBook::from_entries(&log_dir),
        };
        let started_us = now_ns() / 1_000;
        let mut sink = match self.format {
            Format::Segments => Sink::Segments(Box::new(
                SegmentSink::new(&log_dir, started_us, self.segment_size).map_err(|e| disk_error(&log_dir, e))?,
            )),
            Format::NpyEntries { writers } => Sink::Npy(Box::new(
                NpySink::new(&log_dir, writers).map_err(|e| disk_error(&log_dir, e))?,
            )),
        };
        let ring_len = region_len(capacity).unwrap_or(usize::MAX);
        let (backing, taken_over) = self.create_region(&region_name, ring_len, &mut sink, &mut onsets)?;
        let ring_err = |error| LoggerError::Ring {
            name: self.name.clone(),
            error,
        };
        let pid = std::process::id();
        // SAFETY: `backing` is kept by the logger, its drain and every producer, after the values built over it.
        let mem = unsafe { ring_api::static_region(backing.raw()) };
        let fields = HeaderFields {
            pid,
            started_us,
            wait_ns: match self.full {
                FullPolicy::Drop => None,
                FullPolicy::Wait(t) => Some(t.as_nanos().min(u128::from(u64::MAX)) as u64),
            },
        };
        let region = LoggerRegion::init(mem, fields, new_ring_id(&self.name, pid));
        let ring = ring_api::create(region.ring_mem(), max_record, pid, now_ns()).map_err(ring_err)?;
        // Every source keeps the onset it has in this log directory (from a dead region, through the file).
        region.inherit(&onsets);
        let consumer = RingConsumer::attach(ring, u64::from(pid)).map_err(ring_err)?;
        region.publish();
        let shared = Arc::new(Shared::default());
        let options = DrainOptions {
            max_batch: match self.format {
                Format::Segments => drain::batch_size(self.segment_size),
                Format::NpyEntries { .. } => drain::MAX_BATCH,
            },
            fsync_interval: self.fsync_interval,
            abandon_timeout: self.abandon_timeout,
        };
        let drain = Drain::new(
            consumer,
            region,
            sink,
            onsets,
            Arc::clone(&shared),
            options,
            Arc::clone(&backing),
        );
        let thread = std::thread::Builder::new()
            .name(format!("seqring-log-{}", self.name))
            .spawn(move || drain.run())
            .map_err(|source| LoggerError::Io {
                path: log_dir.clone(),
                source,
            })?;
        Ok(DataLogger {
            name: self.name,
            log_dir,
            region,
            ring,
            shared,
            thread: Some(thread),
            taken_over,
            cut_bytes,
            backing,
        })
    }

    /// The ring's capacity and largest record, checked, and the other options checked.
    fn sizes(&self) -> Result<(usize, usize), LoggerError> {
        let capacity = self
            .capacity
            .checked_next_power_of_two()
            .filter(|c| (MIN_CAPACITY..=MAX_CAPACITY).contains(c))
            .ok_or_else(|| LoggerError::InvalidOption(format!("capacity {} is not 64 B ..= 1 GiB", self.capacity)))?;
        let max_record = match self.max_payload {
            None => capacity / 4,
            Some(p) => p
                .checked_add(seqring_core::ring::record::HEADER_LEN)
                .and_then(seqring_core::ring::record::align8)
                .filter(|&r| r <= capacity / 2)
                .ok_or_else(|| {
                    LoggerError::InvalidOption(format!(
                        "max payload {p} needs a record of more than half the capacity {capacity}"
                    ))
                })?,
        };
        if let Format::NpyEntries { writers: 0 } = self.format {
            return Err(LoggerError::InvalidOption(
                "npy entries need at least one writer".into(),
            ));
        }
        if self.segment_size == 0 {
            return Err(LoggerError::InvalidOption("segment size 0".into()));
        }
        Ok((capacity, max_record))
    }

    /// Creates the logger's region, first taking over (into `sink` and `onsets`) a region of the name that a dead
    /// logger left; returns the new region and what was taken over.
    fn create_region(
        &self,
        region_name: &str,
        ring_len: usize,
        sink: &mut Sink,
        onsets: &mut OnsetBook,
    ) -> Result<(Arc<Backing>, TakenOver), LoggerError> {
        let region_err = |source| LoggerError::Region {
            name: self.name.clone(),
            source,
        };
        let mut taken_over = TakenOver::default();
        loop {
            match backing::create(region_name, LoggerRegion::region_len(ring_len)) {
                Ok(b) => return Ok((b, taken_over)),
                Err(RegionError::AlreadyExists { .. }) => {
                    if let Some(stale) = self.stale_region(region_name)? {
                        taken_over = take_over(&self.name, &stale, sink, onsets, self.abandon_timeout)?;
                    }
                    match backing::remove(region_name) {
                        Ok(()) | Err(RegionError::NotFound { .. }) => {}
                        Err(e) => return Err(region_err(e)),
                    }
                }
                Err(e) => return Err(region_err(e)),
            }
        }
    }

    /// Opens the existing region `region_name`: `Ok(Some)` if its logger is dead and it may hold records (a
    /// stale region to take over), `Ok(None)` if there is none or it holds nothing (a logger died while creating
    /// it: it is replaced), an error if a live logger owns it or it is not a logger's region (it is never
    /// removed: it may be another program's, or a shared array that happens to have the name).
    fn stale_region(&self, region_name: &str) -> Result<Option<Arc<Backing>>, LoggerError> {
        // A logger may be creating the region this very moment: give it a moment to size it and write its header.
        let deadline = std::time::Instant::now() + CREATING_GRACE;
        let backing = loop {
            match backing::open(region_name) {
                Ok(b) => break b,
                Err(RegionError::NotFound { .. }) => return Ok(None),
                Err(RegionError::NotReady { .. }) if std::time::Instant::now() < deadline => {
                    std::thread::sleep(Duration::from_millis(1))
                }
                // Still unsized: its creator died right after creating it, before writing anything.
                Err(RegionError::NotReady { .. }) => return Ok(None),
                Err(source) => {
                    return Err(LoggerError::Region {
                        name: self.name.clone(),
                        source,
                    })
                }
            }
        };
        // SAFETY: only used within this function and `take_over`, while `backing` lives.
        let mem = unsafe { ring_api::static_region(backing.raw()) };
        let mut class = RegionClass::of(mem);
        while matches!(class, RegionClass::Creating) && std::time::Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(1));
            class = RegionClass::of(mem);
        }
        let (region, state) = match class {
            // Still blank: its creator died before writing anything.
            RegionClass::Creating => return Ok(None),
            RegionClass::Other(problem) => {
                return Err(LoggerError::Layout {
                    name: self.name.clone(),
                    problem: format!(
                        "{problem}; the region {region_name} is left alone (remove it with `seqring shm remove` if it is garbage)"
                    ),
                })
            }
            RegionClass::Logger(region, state) => (region, state),
        };
        let pid = region.fields().pid;
        if pid_alive(u64::from(pid)) {
            return Err(LoggerError::NameInUse {
                name: self.name.clone(),
                pid,
            });
        }
        // A logger that died before publishing its region (while taking over an older one, whose records it had
        // already drained) left nothing in it.
        if state == layout::INITIALISING {
            return Ok(None);
        }
        Ok(Some(backing))
    }
}

/// How long `start` waits for a region that another logger is creating to get its header.
const CREATING_GRACE: Duration = Duration::from_millis(200);

/// What an existing region named like a logger's holds.
pub(crate) enum RegionClass {
    /// Nothing yet: a logger is creating it (or died doing so).
    Creating,
    /// A logger region, with its state.
    Logger(LoggerRegion, u64),
    /// Something else, described.
    Other(String),
}

impl RegionClass {
    /// Classifies the mapped region `mem`.
    pub(crate) fn of(mem: ring_api::Mem) -> Self {
        use seqring_core::region::{self, RegionError as CoreError, RegionKind};
        match region::validate(&mem, RegionKind::Ring) {
            Err(CoreError::NotReady) => return RegionClass::Creating,
            Err(CoreError::WrongKind { found: 1, .. }) => {
                return RegionClass::Other("the region is a shared array, not a logger".into())
            }
            Err(CoreError::Foreign) => return RegionClass::Other("the region is not seqring's".into()),
            // The ring region's header covers only the ring, not the logger block: a length mismatch is expected.
            _ => {}
        }
        match LoggerRegion::open(mem) {
            Ok((region, state)) => RegionClass::Logger(region, state),
            Err(problem) => RegionClass::Other(problem.to_string()),
        }
    }
}

/// The number of segment, entry and archive files in `dir` (0 if it does not exist).
fn recording_files(dir: &Path) -> std::io::Result<usize> {
    let entries = match std::fs::read_dir(dir) {
        Ok(e) => e,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(0),
        Err(e) => return Err(e),
    };
    let mut n = 0;
    for entry in entries {
        let name = entry?.file_name();
        let ext = Path::new(&name).extension().and_then(|e| e.to_str());
        n += usize::from(matches!(ext, Some("seg" | "npy" | "npz")));
    }
    Ok(n)
}

/// A random, non-zero id for a new ring: the segments it is drained into carry it (see [`crate::format::segment`]).
fn new_ring_id(name: &str, pid: u32) -> u64 {
    let mut h = xxhash_rust::xxh3::Xxh3::new();
    h.update(name.as_bytes());
    h.update(&pid.to_le_bytes());
    h.update(&now_ns().to_le_bytes());
    h.update(&(std::ptr::addr_of!(h) as usize).to_le_bytes());
    h.digest().max(1)
}

/// Drains a dead logger's ring into `sink`, notes its sources' onsets beside the log (before its region goes),
/// and returns what it drained.
///
/// The old region is marked taken over and its ring closed first, so producers still connected to it learn of
/// the takeover ([`LogError::TakenOver`]) and no claim lands behind the last drain. Whoever holds the ring's
/// consumer slot (the dead logger, or a logger that died during an earlier takeover) is evicted if dead. Every
/// blocking claim gets the abandon timeout from when it is first noted before it is padded over.
fn take_over(
    name: &str,
    backing: &Arc<Backing>,
    sink: &mut Sink,
    onsets: &mut OnsetBook,
    abandon_timeout: Duration,
) -> Result<TakenOver, LoggerError> {
    // SAFETY: used only within this function, while `backing` (held by the caller) lives.
    let mem = unsafe { ring_api::static_region(backing.raw()) };
    let layout = |problem: layout::LayoutProblem| LoggerError::Layout {
        name: name.into(),
        problem: problem.to_string(),
    };
    let ring_err = |error| LoggerError::Ring {
        name: name.into(),
        error,
    };
    let (region, _) = LoggerRegion::open(mem).map_err(layout)?;
    region.set_state(layout::TAKEN_OVER);
    let ring = ring_api::open(region.ring_mem(), seqring_core::Spins(0)).map_err(ring_err)?;
    let final_tail = ring.close().map_err(ring_err)?;
    let holder = ring_api::consumer_token(&ring);
    if holder != 0 {
        if pid_alive(holder) {
            return Err(LoggerError::NameInUse {
                name: name.into(),
                pid: holder as u32,
            });
        }
        // SAFETY: the holder's process is dead (checked just above: it is no longer running), so it makes no
        // further stores; its exit ordered its last ones before ours. Nothing else attaches meanwhile: a live
        // logger of the name would have been refused by `stale_region`.
        unsafe { ring.evict_consumer(holder) };
    }
    let mut consumer = RingConsumer::attach(ring, u64::from(std::process::id())).map_err(ring_err)?;
    let ring_id = region.ring_id();
    let mut records = 0u64;
    let mut abandoned = 0u64;
    let mut watch: Option<(drain::Watch, u32)> = None;
    loop {
        while consumer
            .drain_one(drain::MAX_BATCH, |position, bytes| {
                let mut t = Tally::default();
                t.add_batch(bytes);
                records += t.total_records();
                sink.write(
                    crate::format::segment::Origin {
                        ring: ring_id,
                        position,
                    },
                    bytes,
                );
                onsets.note_batch(bytes);
            })
            .map_err(ring_err)?
        {}
        if consumer.position() >= final_tail {
            break;
        }
        let Some(blockage) = consumer.blocked().map_err(ring_err)? else {
            std::thread::yield_now();
            continue;
        };
        // Each blockage waits out the abandon timeout from when it was first noted, whoever holds it: its
        // producer may be alive and merely paused.
        match &mut watch {
            Some((w, retries)) if w.blockage.position() == blockage.position() => {
                let due = w.since.elapsed() >= abandon_timeout;
                if !due {
                    std::thread::sleep(Duration::from_millis(1));
                    continue;
                }
                let noted = w.blockage;
                if consumer.unblock(noted).map_err(ring_err)? {
                    abandoned += 1;
                    watch = None;
                } else {
                    // It changed under us (committed, or a later claim wrote): look at it afresh, a bounded number
                    // of times.
                    *retries += 1;
                    if *retries > 100 {
                        return Err(ring_err(RingError::Corrupt {
                            position: consumer.position(),
                        }));
                    }
                    w.blockage = blockage;
                    w.since = std::time::Instant::now();
                }
            }
            _ => watch = Some((drain::Watch::new(blockage), 0)),
        }
    }
    for source in 0..=u8::MAX {
        if let layout::Onset::Set(onset) = region.onset(source) {
            onsets.note(source, onset);
        }
    }
    onsets.save();
    Ok(TakenOver { records, abandoned })
}

/// What a takeover drained from a dead logger's ring.
#[derive(Clone, Copy, Debug, Default)]
struct TakenOver {
    /// Records written (some may repeat what the dead logger wrote but had not released; readers skip those).
    records: u64,
    /// Claims abandoned by dead producers, padded over.
    abandoned: u64,
}

fn disk_error(log_dir: &Path, e: WriteError) -> LoggerError {
    LoggerError::Disk {
        report: Box::new(StopReport {
            log_dir: log_dir.into(),
            ..StopReport::default()
        }),
        source: Arc::new(e),
    }
}

/// The region name of the logger `name`, validated.
pub(crate) fn region_name(name: &str) -> Result<String, LoggerError> {
    let ok = (1..=200 - REGION_PREFIX.len()).contains(&name.len())
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-'))
        && name != "."
        && name != "..";
    if ok {
        Ok(format!("{REGION_PREFIX}{name}"))
    } else {
        Err(LoggerError::InvalidName { name: name.into() })
    }
}

/// A running logger. Dropping it stops it (use [`DataLogger::stop`] to see the report).
///
/// # Examples
/// ```
/// use seqring::logger::{DataLogger, Format};
/// use std::time::Duration;
/// let dir = tempfile::tempdir().unwrap();
/// let name = format!("rig-{}", std::process::id()); // logger names are machine-wide
/// let logger = DataLogger::builder(dir.path(), &name)
///     .capacity(1 << 20)
///     .fsync_interval(Some(Duration::from_millis(500)))
///     .start()
///     .unwrap();
/// let lick_sensor = logger.producer(1).unwrap();
/// for i in 0u32..100 {
///     lick_sensor.log_now(&i.to_le_bytes()).unwrap();
/// }
/// assert!(logger.health().is_ok());
/// let report = logger.stop().unwrap();
/// assert_eq!((report.records, report.dropped), (101, 0));
/// assert!(report.log_dir.ends_with(format!("{name}_data_log")));
/// ```
#[derive(Debug)]
pub struct DataLogger {
    name: String,
    log_dir: PathBuf,
    region: LoggerRegion,
    ring: seqring_core::ring::Ring<ring_api::Mem>,
    shared: Arc<Shared>,
    thread: Option<JoinHandle<DrainOutcome>>,
    taken_over: TakenOver,
    cut_bytes: u64,
    /// Keeps the region alive (declared last: dropped after `region`).
    backing: Arc<Backing>,
}

impl DataLogger {
    /// A builder for a logger writing under `{output_dir}/{name}_data_log/`.
    pub fn builder(output_dir: impl AsRef<Path>, name: &str) -> LoggerBuilder {
        LoggerBuilder {
            output_dir: output_dir.as_ref().into(),
            name: name.into(),
            dir_name: None,
            capacity: 32 << 20,
            max_payload: None,
            format: Format::Segments,
            segment_size: 256 << 20,
            fsync_interval: Some(Duration::from_secs(1)),
            full: FullPolicy::Drop,
            abandon_timeout: Duration::from_secs(1),
            continue_recording: false,
        }
    }

    /// The logger's name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The log directory, `{output_dir}/{name}_data_log`.
    pub fn log_dir(&self) -> &Path {
        &self.log_dir
    }

    /// A producer for `source_id` in this process (see [`Producer::connect`] for other processes).
    ///
    /// # Errors
    /// [`LoggerError::Onset`] if the source's onset record cannot be logged.
    pub fn producer(&self, source_id: u8) -> Result<Producer, LoggerError> {
        Producer::attach(Arc::clone(&self.backing), &self.name, source_id, None)
    }

    /// A producer for `source_id` whose onset is `onset_us` (µs since the UNIX epoch) instead of now: for replaying
    /// or importing a recorded log. `log_now` then stamps the wall-clock time elapsed since `onset_us`.
    ///
    /// # Errors
    /// [`LoggerError::OnsetTaken`] if the source already has an onset in this logger; [`LoggerError::Onset`].
    pub fn producer_with_onset(&self, source_id: u8, onset_us: u64) -> Result<Producer, LoggerError> {
        Producer::attach(Arc::clone(&self.backing), &self.name, source_id, Some(onset_us))
    }

    /// Progress and the first disk error, while running.
    pub fn health(&self) -> Health {
        let stats = ring_api::stats(&self.ring);
        Health {
            records: stats.records,
            written: self.shared.flushed.load(Ordering::Relaxed),
            bytes: stats.bytes,
            pending_bytes: stats.tail.wrapping_sub(stats.head),
            dropped: stats.dropped,
            abandoned: stats.abandoned,
            error: self.shared.error.lock().unwrap_or_else(|p| p.into_inner()).clone(),
        }
    }

    /// Holds disk writes: records accumulate in the ring (producers drop or wait once it is full) until
    /// [`resume_writing`](Self::resume_writing). For keeping the disk quiet during a critical phase, and for tests.
    pub fn pause_writing(&self) {
        self.shared.paused.store(true, Ordering::Relaxed);
    }

    /// Resumes disk writes after [`pause_writing`](Self::pause_writing).
    pub fn resume_writing(&self) {
        self.shared.paused.store(false, Ordering::Relaxed);
        if let Some(t) = &self.thread {
            t.thread().unpark();
        }
    }

    /// Stops the logger: refuses new records, drains everything committed, unblocks claims abandoned by dead
    /// producers (after the abandon timeout), syncs the files, removes the ring region, and returns the report.
    ///
    /// A claim still uncommitted one abandon timeout after it blocked the drain is given up at stop even if its
    /// source's process is alive (a grant held across `stop`, or leaked): it counts as abandoned, and a commit that
    /// comes later lands in a ring no one reads any more. While running, only claims of dead processes are.
    ///
    /// # Errors
    /// [`LoggerError::Disk`] with the full report if any write failed (the report says exactly which records are
    /// on disk and which are not); [`LoggerError::Drain`] if the ring was corrupt; [`LoggerError::Panicked`].
    pub fn stop(mut self) -> Result<StopReport, LoggerError> {
        self.stop_inner()
    }

    fn stop_inner(&mut self) -> Result<StopReport, LoggerError> {
        let Some(thread) = self.thread.take() else {
            return Err(LoggerError::NotRunning {
                name: self.name.clone(),
            });
        };
        self.region.set_state(layout::STOPPED);
        // After the state: producers that missed it find the ring closed, so nothing lands behind the last drain.
        let _ = self.ring.close();
        self.shared.paused.store(false, Ordering::Relaxed);
        // Release: pairs with the drain thread's Acquire load; the region is marked stopped before.
        self.shared.stop.store(true, Ordering::Release);
        thread.thread().unpark();
        let outcome = thread.join().map_err(|_| LoggerError::Panicked {
            name: self.name.clone(),
        })?;
        let _ = backing::remove(self.backing.name());
        let report = self.report(&outcome);
        if let Some(error) = outcome.ring_error {
            return Err(LoggerError::Drain {
                name: self.name.clone(),
                error,
                report: Box::new(report),
            });
        }
        match outcome.sink.error {
            Some(source) => Err(LoggerError::Disk {
                report: Box::new(report),
                source,
            }),
            None => Ok(report),
        }
    }

    fn report(&self, outcome: &DrainOutcome) -> StopReport {
        let sink = &outcome.sink;
        let sources = (0..=u8::MAX)
            .map(|s| {
                let i = usize::from(s);
                SourceReport {
                    source_id: s,
                    records: sink.written.records[i],
                    bytes: sink.written.bytes[i],
                    dropped: self.region.dropped(s),
                    unwritten_records: sink.unwritten.records[i],
                    unwritten_bytes: sink.unwritten.bytes[i],
                }
            })
            .filter(|s| s.records + s.dropped + s.unwritten_records > 0)
            .collect::<Vec<_>>();
        StopReport {
            log_dir: self.log_dir.clone(),
            records: sink.written.total_records(),
            bytes: sink.written.total_bytes(),
            dropped: sources.iter().map(|s| s.dropped).sum(),
            abandoned: ring_api::stats(&self.ring).abandoned + self.taken_over.abandoned,
            unwritten_records: sink.unwritten.total_records(),
            unwritten_bytes: sink.unwritten.total_bytes(),
            taken_over: self.taken_over.records,
            torn_bytes_cut: self.cut_bytes,
            files: sink.files.clone(),
            npy_entries: sink.npy_entries,
            sources,
        }
    }
}

impl Drop for DataLogger {
    fn drop(&mut self) {
        if self.thread.is_some() {
            let _ = self.stop_inner();
        }
    }
}
