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
//! - [`Producer::declare_schema`] records what a source's payloads are in a side file beside the log
//!   ([`crate::format::schema`]); producers of other processes find the log directory in the logger region (if
//!   its path fits there: 408 bytes of UTF-8), in-process ones get it from their logger.
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

mod builder;
mod drain;
mod error;
mod idle;
mod inspect;
mod onsets;
mod producer;
mod recover;
mod region;
mod report;
mod sink;
mod tail;
mod takeover;
mod tally;

pub use builder::{Format, FullPolicy, LoggerBuilder};
pub use error::{LoggerError, OpenError, RecoverError, StartError, StopError, WriteError};
pub use inspect::{inspect, inspect_region, LoggerInfo, LoggerState, SourceInfo};
pub use onsets::FILE as ONSETS_FILE;
pub use producer::{LogError, LogGrant, Producer};
pub use recover::{recover, LogRecovery};
pub use report::{Health, SourceReport, StopReport};
pub use tail::{LogTail, TailError, TailFrom, TailMessage, POLL as TAIL_POLL};

use std::path::{Path, PathBuf};
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::Duration;

use seqring_core::log_region::{self, EndState};
use seqring_core::ring::Ring;
use seqring_platform::Window;

use drain::{DrainOutcome, Shared};
use region::LoggerRegion;
use takeover::TakenOver;

/// The suffix of a logger's directory name (ataraxis `LOG_DIRECTORY_SUFFIX`).
pub const LOG_DIR_SUFFIX: &str = "_data_log";
/// The prefix of a logger's ring region name.
pub const REGION_PREFIX: &str = "seqring-log.";
/// The layout version of logger regions this build reads and writes.
pub const LAYOUT_VERSION: u64 = log_region::VERSION;
/// The length of the logger block at the end of a logger region (`docs/FORMATS.md`).
pub const BLOCK_LEN: usize = log_region::BLOCK_LEN;

/// The region name of the logger `name`, or `None` if the name is invalid.
pub(crate) fn region_name(name: &str) -> Option<String> {
    // The platform's one name rule, for the logger's own name (so `.` and `..` stay out of directory names) and
    // for the prefixed region name (so the prefix counts against the length).
    seqring_platform::RegionName::new(name).ok()?;
    let region = seqring_platform::RegionName::new(format!("{REGION_PREFIX}{name}")).ok()?;
    Some(region.to_string())
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
    ring: Ring<Window>,
    shared: Arc<Shared>,
    thread: Option<JoinHandle<DrainOutcome>>,
    taken_over: TakenOver,
    cut_bytes: u64,
}

impl DataLogger {
    /// A builder for a logger writing under `{output_dir}/{name}_data_log/`.
    ///
    /// # Examples
    /// ```
    /// # use seqring::logger::{DataLogger};
    /// # let dir = tempfile::tempdir().unwrap();
    /// # let name = format!("doc-builder-{}", std::process::id());
    /// let builder = DataLogger::builder(dir.path(), &name);
    /// assert_eq!(builder.log_dir(), dir.path().join(format!("{name}_data_log")));
    /// let logger = builder.start().unwrap();
    /// # logger.stop().unwrap();
    /// ```
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
            flush_interval: Duration::from_millis(1),
            full: FullPolicy::Drop,
            abandon_timeout: Duration::from_secs(1),
            continue_recording: false,
        }
    }

    /// The logger's name.
    ///
    /// # Examples
    /// ```
    /// # use seqring::logger::{DataLogger};
    /// # let dir = tempfile::tempdir().unwrap();
    /// # let name = format!("doc-name-{}", std::process::id());
    /// # let logger = DataLogger::builder(dir.path(), &name).start().unwrap();
    /// assert_eq!(logger.name(), name);
    /// # logger.stop().unwrap();
    /// ```
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The log directory, `{output_dir}/{name}_data_log`.
    ///
    /// # Examples
    /// ```
    /// # use seqring::logger::{DataLogger};
    /// # let dir = tempfile::tempdir().unwrap();
    /// # let name = format!("doc-log-dir-{}", std::process::id());
    /// # let logger = DataLogger::builder(dir.path(), &name).start().unwrap();
    /// assert_eq!(logger.log_dir(), dir.path().join(format!("{name}_data_log")));
    /// assert!(logger.log_dir().is_dir());
    /// # logger.stop().unwrap();
    /// ```
    pub fn log_dir(&self) -> &Path {
        &self.log_dir
    }

    /// A producer for `source_id` in this process (see [`Producer::connect`] for other processes).
    ///
    /// # Errors
    /// [`OpenError::Onset`] if the source's onset record cannot be logged.
    ///
    /// # Examples
    /// ```
    /// # use seqring::logger::{DataLogger};
    /// # let dir = tempfile::tempdir().unwrap();
    /// # let name = format!("doc-producer-{}", std::process::id());
    /// # let logger = DataLogger::builder(dir.path(), &name).start().unwrap();
    /// let wheel = logger.producer(9).unwrap();
    /// wheel.log_now(&1.5f64.to_le_bytes()).unwrap();
    /// drop(wheel);
    /// assert_eq!(logger.stop().unwrap().source(9).unwrap().records, 2);
    /// ```
    pub fn producer(&self, source_id: u8) -> Result<Producer, OpenError> {
        Producer::attach(Arc::clone(self.region.memory().region()), &self.name, source_id, None)
            .map(|p| p.with_log_dir(&self.log_dir))
    }

    /// A producer for `source_id` whose onset is `onset_us` (µs since the UNIX epoch) instead of now: for replaying
    /// or importing a recorded log. `log_now` then stamps the wall-clock time elapsed since `onset_us`.
    ///
    /// # Errors
    /// [`OpenError::OnsetTaken`] if the source already has an onset in this logger; [`OpenError::Onset`].
    ///
    /// # Examples
    /// ```
    /// # use seqring::logger::{DataLogger};
    /// # let dir = tempfile::tempdir().unwrap();
    /// # let name = format!("doc-producer-onset-{}", std::process::id());
    /// # let logger = DataLogger::builder(dir.path(), &name).start().unwrap();
    /// let clock = logger.producer_with_onset(5, 1_700_000_000_000_000).unwrap();
    /// assert_eq!(clock.onset_us(), 1_700_000_000_000_000);
    /// # drop(clock);
    /// # logger.stop().unwrap();
    /// ```
    pub fn producer_with_onset(&self, source_id: u8, onset_us: u64) -> Result<Producer, OpenError> {
        Producer::attach(
            Arc::clone(self.region.memory().region()),
            &self.name,
            source_id,
            Some(onset_us),
        )
        .map(|p| p.with_log_dir(&self.log_dir))
    }

    /// Progress and the first disk error, while running.
    ///
    /// # Examples
    /// ```
    /// # use seqring::logger::{DataLogger};
    /// # let dir = tempfile::tempdir().unwrap();
    /// # let name = format!("doc-health-{}", std::process::id());
    /// # let logger = DataLogger::builder(dir.path(), &name).start().unwrap();
    /// logger.producer(1).unwrap().log_now(b"x").unwrap();
    /// let health = logger.health();
    /// assert!(health.is_ok());
    /// # logger.stop().unwrap();
    /// ```
    pub fn health(&self) -> Health {
        let stats = self.ring.stats();
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
    ///
    /// # Examples
    /// ```
    /// # use seqring::logger::{DataLogger};
    /// # let dir = tempfile::tempdir().unwrap();
    /// # let name = format!("doc-pause-{}", std::process::id());
    /// # let logger = DataLogger::builder(dir.path(), &name).start().unwrap();
    /// logger.pause_writing(); // records wait in the ring
    /// logger.producer(1).unwrap().log_now(b"held").unwrap();
    /// logger.resume_writing();
    /// assert_eq!(logger.stop().unwrap().records, 2);
    /// ```
    pub fn pause_writing(&self) {
        self.shared.paused.store(true, Ordering::Relaxed);
    }

    /// Resumes disk writes after [`pause_writing`](Self::pause_writing).
    ///
    /// # Examples
    /// ```
    /// # use seqring::logger::{DataLogger};
    /// # let dir = tempfile::tempdir().unwrap();
    /// # let name = format!("doc-resume-{}", std::process::id());
    /// # let logger = DataLogger::builder(dir.path(), &name).start().unwrap();
    /// logger.pause_writing();
    /// logger.producer(1).unwrap().log_now(b"held").unwrap();
    /// logger.resume_writing(); // the drain writes them now
    /// assert_eq!(logger.stop().unwrap().source(1).unwrap().records, 2);
    /// ```
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
    /// [`StopError::Disk`] with the full report if any write failed (the report says exactly which records are
    /// on disk and which are not); [`StopError::Drain`] if the ring was corrupt; [`StopError::Panicked`].
    ///
    /// # Examples
    /// ```
    /// # use seqring::logger::{DataLogger};
    /// # let dir = tempfile::tempdir().unwrap();
    /// # let name = format!("doc-stop-{}", std::process::id());
    /// # let logger = DataLogger::builder(dir.path(), &name).start().unwrap();
    /// logger.producer(1).unwrap().log_now(b"last").unwrap();
    /// let report = logger.stop().unwrap();
    /// assert_eq!((report.records, report.dropped, report.abandoned), (2, 0, 0));
    /// assert_eq!((report.unwritten_records, report.files.len()), (0, 1));
    /// ```
    pub fn stop(mut self) -> Result<StopReport, StopError> {
        // Only `stop` (which consumes the logger) and `drop` take the thread.
        let thread = self.thread.take().expect("a running logger has its drain thread");
        self.finish(thread)
    }

    /// Stops the drain thread `thread` and accounts for the run.
    fn finish(&mut self, thread: JoinHandle<DrainOutcome>) -> Result<StopReport, StopError> {
        self.region.set_state(EndState::Stopped);
        // After the state: producers that missed it find the ring closed, so nothing lands behind the last drain.
        let _ = self.ring.close();
        self.shared.paused.store(false, Ordering::Relaxed);
        // Release: pairs with the drain thread's Acquire load; the region is marked stopped before.
        self.shared.stop.store(true, Ordering::Release);
        thread.thread().unpark();
        let outcome = thread.join().map_err(|_| StopError::Panicked {
            name: self.name.clone(),
        })?;
        let _ = region::remove(self.region.memory().region().name());
        let report = self.report(&outcome);
        if let Some(error) = outcome.ring_error {
            return Err(StopError::Drain {
                name: self.name.clone(),
                error,
                report: Box::new(report),
            });
        }
        match outcome.sink.error {
            Some(source) => Err(StopError::Disk {
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
            abandoned: self.ring.stats().abandoned + self.taken_over.abandoned,
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
        if let Some(thread) = self.thread.take() {
            let _ = self.finish(thread);
        }
    }
}
