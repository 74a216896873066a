//! Starting a logger: its options ([`LoggerBuilder`], [`Format`], [`FullPolicy`]) and [`LoggerBuilder::start`],
//! which checks them, takes over a region a dead logger left (see [`super::takeover`]), creates the region and the
//! ring, and starts the drain thread.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use seqring_core::log_region::HeaderFields;
use seqring_core::ring::{region_len, Consumer, MAX_CAPACITY, MIN_CAPACITY};
use seqring_platform::clock::now_ns;
use seqring_platform::Window;

use super::drain::{self, Drain, DrainOptions, Shared};
use super::onsets::OnsetBook;
use super::region::{self, LoggerRegion};
use super::sink::{NpySink, SegmentSink, Sink};
use super::{recover, region_name, DataLogger, RecoverError, StartError, LOG_DIR_SUFFIX};

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

/// The flush intervals a logger accepts.
const FLUSH_INTERVALS: std::ops::RangeInclusive<Duration> = Duration::from_micros(10)..=Duration::from_secs(1);

/// Options of a [`DataLogger`], then [`start`](LoggerBuilder::start).
#[derive(Clone, Debug)]
#[must_use = "a builder does nothing until `start`"]
pub struct LoggerBuilder {
    pub(super) output_dir: PathBuf,
    pub(super) name: String,
    pub(super) dir_name: Option<String>,
    pub(super) capacity: usize,
    pub(super) max_payload: Option<usize>,
    pub(super) format: Format,
    pub(super) segment_size: u64,
    pub(super) fsync_interval: Option<Duration>,
    pub(super) flush_interval: Duration,
    pub(super) full: FullPolicy,
    pub(super) abandon_timeout: Duration,
    pub(super) continue_recording: bool,
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
    ///
    /// # Examples
    /// ```
    /// # use seqring::logger::{DataLogger};
    /// # let dir = tempfile::tempdir().unwrap();
    /// # let name = format!("doc-capacity-{}", std::process::id());
    /// let logger = DataLogger::builder(dir.path(), &name).capacity(5000).start().unwrap();
    /// // rounded up to 8 KiB: the default largest record is a quarter of that, its header included
    /// let max = logger.producer(1).unwrap().max_payload();
    /// assert!((2048 - 64..2048).contains(&max), "{max}");
    /// # logger.stop().unwrap();
    /// ```
    pub fn capacity(mut self, bytes: usize) -> Self {
        self.capacity = bytes;
        self
    }

    /// The largest payload of one record (default: a quarter of the capacity, less the 16-byte record header; at
    /// most half the capacity).
    ///
    /// # Examples
    /// ```
    /// # use seqring::logger::{DataLogger};
    /// # let dir = tempfile::tempdir().unwrap();
    /// # let name = format!("doc-builder-max-payload-{}", std::process::id());
    /// let logger = DataLogger::builder(dir.path(), &name).max_payload(256).start().unwrap();
    /// assert_eq!(logger.producer(1).unwrap().max_payload(), 256);
    /// # logger.stop().unwrap();
    /// ```
    pub fn max_payload(mut self, bytes: usize) -> Self {
        self.max_payload = Some(bytes);
        self
    }

    /// The output format (default [`Format::Segments`]).
    ///
    /// # Examples
    /// ```
    /// # use seqring::logger::{DataLogger, Format};
    /// # let dir = tempfile::tempdir().unwrap();
    /// # let name = format!("doc-format-{}", std::process::id());
    /// let logger = DataLogger::builder(dir.path(), &name).format(Format::NpyEntries { writers: 2 }).start().unwrap();
    /// logger.producer(1).unwrap().log_now(b"x").unwrap();
    /// let report = logger.stop().unwrap();
    /// // one ataraxis-style .npy file per message: the onset record and x
    /// let npy = std::fs::read_dir(&report.log_dir).unwrap().filter(|e| e.as_ref().unwrap().path().extension() == Some("npy".as_ref())).count();
    /// assert_eq!(npy, 2);
    /// ```
    pub fn format(mut self, format: Format) -> Self {
        self.format = format;
        self
    }

    /// The size at which a segment file is closed and the next one started (default 256 MiB).
    ///
    /// # Examples
    /// ```
    /// # use seqring::logger::{DataLogger};
    /// # let dir = tempfile::tempdir().unwrap();
    /// # let name = format!("doc-segment-size-{}", std::process::id());
    /// let logger = DataLogger::builder(dir.path(), &name).segment_size(1 << 20).start().unwrap();
    /// let sensor = logger.producer(1).unwrap();
    /// for _ in 0..40_000 { sensor.log_now(&[7; 64]).unwrap(); }
    /// drop(sensor);
    /// let report = logger.stop().unwrap();
    /// let segments = std::fs::read_dir(&report.log_dir).unwrap().filter(|e| e.as_ref().unwrap().path().extension() == Some("seg".as_ref())).count();
    /// assert!(segments >= 2, "{segments} segments of at most 1 MiB for ~3 MB");
    /// ```
    pub fn segment_size(mut self, bytes: u64) -> Self {
        self.segment_size = bytes;
        self
    }

    /// How often written data is synced to disk while running (default every second; `None`: only at stop).
    ///
    /// # Examples
    /// ```
    /// # use seqring::logger::{DataLogger};
    /// # let dir = tempfile::tempdir().unwrap();
    /// # let name = format!("doc-fsync-{}", std::process::id());
    /// use std::time::Duration;
    /// let logger = DataLogger::builder(dir.path(), &name).fsync_interval(Some(Duration::from_millis(10))).start().unwrap();
    /// logger.producer(1).unwrap().log_now(b"synced soon").unwrap();
    /// assert!(logger.health().is_ok());
    /// # logger.stop().unwrap();
    /// ```
    pub fn fsync_interval(mut self, interval: Option<Duration>) -> Self {
        self.fsync_interval = interval;
        self
    }

    /// The longest a committed record waits before the logger hands it to the operating system, where a
    /// [`LogTail`](super::LogTail) in any process can read it (default 1 ms, at least 10 µs, at most 1 s).
    ///
    /// It bounds how long the logger's thread sleeps before it looks at the ring again: when the ring is idle, and
    /// after a small batch, when it lets records gather instead of taking them one by one (which would make each
    /// log call wait for lines the drain just touched; it sleeps less when the ring would fill meanwhile, and not
    /// at all under 100 µs). A record therefore reaches a tailer within this interval plus the tailer's own poll
    /// ([`tail::POLL`](super::tail::POLL)). A shorter interval costs the logger's thread more wake-ups (about
    /// 1,000 per second at the default), and one under 100 µs makes it take records as they come.
    ///
    /// # Examples
    /// ```
    /// # use seqring::logger::{DataLogger, StartError};
    /// # let dir = tempfile::tempdir().unwrap();
    /// # let name = format!("doc-flush-{}", std::process::id());
    /// use std::time::Duration;
    /// let logger = DataLogger::builder(dir.path(), &name).flush_interval(Duration::from_micros(200)).start().unwrap();
    /// # logger.stop().unwrap();
    /// let err = DataLogger::builder(dir.path(), &name).flush_interval(Duration::ZERO).check().unwrap_err();
    /// assert!(matches!(err, StartError::InvalidOption(_)), "{err}");
    /// ```
    pub fn flush_interval(mut self, interval: Duration) -> Self {
        self.flush_interval = interval;
        self
    }

    /// What producers do when the ring is full (default [`FullPolicy::Drop`]).
    ///
    /// # Examples
    /// ```
    /// # use seqring::logger::{DataLogger, FullPolicy, LogError};
    /// # let dir = tempfile::tempdir().unwrap();
    /// # let name = format!("doc-on-full-{}", std::process::id());
    /// let logger = DataLogger::builder(dir.path(), &name).capacity(4096).on_full(FullPolicy::Drop).start().unwrap();
    /// logger.pause_writing();
    /// let sensor = logger.producer(1).unwrap();
    /// let outcomes: Vec<_> = (0..200).map(|_| sensor.log_now(&[0; 64])).collect();
    /// assert!(outcomes.iter().any(|r| matches!(r, Err(LogError::Full))), "a full ring drops at once");
    /// drop(sensor);
    /// logger.resume_writing();
    /// assert!(logger.stop().unwrap().dropped > 0);
    /// ```
    pub fn on_full(mut self, policy: FullPolicy) -> Self {
        self.full = policy;
        self
    }

    /// How long a claim may stay uncommitted at the head of the ring before the drain thread treats it as
    /// abandoned (default 1 s). While running, it is unblocked only if the process of its source is dead.
    ///
    /// # Examples
    /// ```
    /// # use seqring::logger::{DataLogger};
    /// # let dir = tempfile::tempdir().unwrap();
    /// # let name = format!("doc-abandon-{}", std::process::id());
    /// use std::time::Duration;
    /// let logger = DataLogger::builder(dir.path(), &name).abandon_timeout(Duration::from_millis(20)).start().unwrap();
    /// let sensor = logger.producer(1).unwrap();
    /// let grant = sensor.claim(8).unwrap();
    /// std::mem::forget(grant); // a claim never committed: the stop waits 20 ms for it, then abandons it
    /// drop(sensor);
    /// assert_eq!(logger.stop().unwrap().abandoned, 1);
    /// ```
    pub fn abandon_timeout(mut self, timeout: Duration) -> Self {
        self.abandon_timeout = timeout;
        self
    }

    /// Whether to add this run to a log directory that already holds a recording (default `false`: such a
    /// directory is refused with [`StartError::ExistingRecording`], so a second run never mixes with, and a
    /// later assembly never overwrites, the first). A dead logger's directory is always continued when its
    /// region is taken over.
    ///
    /// # Examples
    /// ```
    /// use seqring::logger::{DataLogger, StartError};
    /// let dir = tempfile::tempdir().unwrap();
    /// let name = format!("doc-continue-{}", std::process::id());
    /// DataLogger::builder(dir.path(), &name).start().unwrap().stop().unwrap();
    /// let again = DataLogger::builder(dir.path(), &name).start();
    /// assert!(matches!(again, Err(StartError::ExistingRecording { .. })));
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
    /// [`StartError::InvalidName`] or [`StartError::InvalidOption`].
    ///
    /// # Examples
    /// ```
    /// use seqring::logger::{DataLogger, StartError};
    /// assert!(DataLogger::builder("/data/run-1", "rig").check().is_ok());
    /// assert!(matches!(DataLogger::builder("/data/run-1", "a/b").check(), Err(StartError::InvalidName { .. })));
    /// ```
    pub fn check(&self) -> Result<(), StartError> {
        region_name(&self.name).ok_or_else(|| StartError::InvalidName {
            name: self.name.clone(),
        })?;
        self.sizes().map(drop)
    }

    /// Creates the log directory and the ring region and starts the drain thread.
    ///
    /// A region of the same name left by a dead logger is taken over: the torn tails it left in the log
    /// directory's segments are cut ([`recover`]), its committed records are drained into this logger's files
    /// (counted in [`StopReport::taken_over`](super::StopReport::taken_over)), and its sources keep their onsets. After a crash that also lost
    /// the region (a reboot), run [`recover`] yourself.
    ///
    /// # Errors
    /// [`StartError::InvalidName`], [`StartError::InvalidOption`], [`StartError::NameInUse`] if a live logger
    /// has the name, [`StartError::ExistingRecording`], [`StartError::Layout`] if a region of the name exists
    /// and is not a logger's (a shared array, or an older seqring's logger), [`StartError::Io`] if the directory
    /// cannot be created, [`StartError::Region`] or
    /// [`StartError::Ring`] if the region cannot be set up, [`StartError::Write`] if the first segment cannot be
    /// written.
    ///
    /// # Examples
    /// ```
    /// # use seqring::logger::{DataLogger};
    /// # let dir = tempfile::tempdir().unwrap();
    /// # let name = format!("doc-start-{}", std::process::id());
    /// let logger = DataLogger::builder(dir.path(), &name).start().unwrap();
    /// assert_eq!(logger.name(), name);
    /// // the name is taken while the logger runs
    /// assert!(DataLogger::builder(dir.path(), &name).start().is_err());
    /// # logger.stop().unwrap();
    /// ```
    pub fn start(self) -> Result<DataLogger, StartError> {
        let region_name = region_name(&self.name).ok_or_else(|| StartError::InvalidName {
            name: self.name.clone(),
        })?;
        let (capacity, max_record) = self.sizes()?;
        let log_dir = self.log_dir();
        std::fs::create_dir_all(&log_dir).map_err(|source| StartError::Io {
            path: log_dir.clone(),
            source,
        })?;
        // Whether a dead logger's region waits to be taken over: then its directory is continued.
        let stale_waiting = self.stale_region(&region_name)?.is_some();
        if !stale_waiting && !self.continue_recording {
            let files = recording_files(&log_dir).map_err(|source| StartError::Io {
                path: log_dir.clone(),
                source,
            })?;
            if files > 0 {
                return Err(StartError::ExistingRecording { path: log_dir, files });
            }
        }
        // A logger that died here may have torn the last batch of a segment: cut it before writing more.
        let cut_bytes = match self.format {
            Format::Segments => recover(&log_dir)
                .map_err(|RecoverError { path, source }| StartError::Io { path, source })?
                .truncated_bytes(),
            Format::NpyEntries { .. } => 0,
        };
        let mut onsets = match self.format {
            Format::Segments => OnsetBook::load(&log_dir),
            Format::NpyEntries { .. } => OnsetBook::from_entries(&log_dir),
        };
        let started_us = now_ns() / 1_000;
        let mut sink = match self.format {
            Format::Segments => Sink::Segments(Box::new(
                SegmentSink::new(&log_dir, started_us, self.segment_size).map_err(|source| StartError::Write {
                    path: log_dir.clone(),
                    source,
                })?,
            )),
            Format::NpyEntries { writers } => {
                Sink::Npy(Box::new(NpySink::new(&log_dir, writers).map_err(|source| {
                    StartError::Write {
                        path: log_dir.clone(),
                        source,
                    }
                })?))
            }
        };
        let ring_len = region_len(capacity).unwrap_or(usize::MAX);
        let (backing, taken_over) = self.create_region(&region_name, ring_len, &mut sink, &mut onsets)?;
        let ring_err = |error| StartError::Ring {
            name: self.name.clone(),
            error,
        };
        let pid = std::process::id();
        let fields = HeaderFields {
            pid,
            started_us,
            wait_ns: match self.full {
                FullPolicy::Drop => None,
                FullPolicy::Wait(t) => Some(t.as_nanos().min(u128::from(u64::MAX)) as u64),
            },
        };
        let region = LoggerRegion::init(Window::whole(backing), fields, new_ring_id(&self.name, pid));
        let ring = region::create_ring(&region, max_record, pid, now_ns()).map_err(ring_err)?;
        // Every source keeps the onset it has in this log directory (from a dead region, through the file).
        region::inherit(&region, &onsets);
        // Producers of other processes find the directory here, to keep their schemas beside the log; a path the
        // block cannot hold (longer than 408 bytes, not UTF-8) is not recorded and their declarations fail.
        let absolute = std::path::absolute(&log_dir).unwrap_or_else(|_| log_dir.clone());
        if let Some(path) = absolute.to_str() {
            region.set_log_dir(path.as_bytes());
        }
        let consumer = Consumer::attach(ring.clone(), u64::from(pid)).map_err(ring_err)?;
        region.publish();
        let shared = Arc::new(Shared::default());
        let options = DrainOptions {
            max_batch: match self.format {
                Format::Segments => drain::batch_size(self.segment_size),
                Format::NpyEntries { .. } => drain::MAX_BATCH,
            },
            fsync_interval: self.fsync_interval,
            flush_interval: self.flush_interval,
            abandon_timeout: self.abandon_timeout,
        };
        let drain = Drain::new(consumer, region.clone(), sink, onsets, Arc::clone(&shared), options);
        let thread = std::thread::Builder::new()
            .name(format!("seqring-log-{}", self.name))
            .spawn(move || drain.run())
            .map_err(|source| StartError::Io {
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
        })
    }

    /// The ring's capacity and largest record, checked, and the other options checked.
    fn sizes(&self) -> Result<(usize, usize), StartError> {
        if !FLUSH_INTERVALS.contains(&self.flush_interval) {
            return Err(StartError::InvalidOption(format!(
                "flush interval {:?} is not 10 µs ..= 1 s",
                self.flush_interval
            )));
        }
        let capacity = self
            .capacity
            .checked_next_power_of_two()
            .filter(|c| (MIN_CAPACITY..=MAX_CAPACITY).contains(c))
            .ok_or_else(|| StartError::InvalidOption(format!("capacity {} is not 64 B ..= 1 GiB", self.capacity)))?;
        let max_record = match self.max_payload {
            None => capacity / 4,
            Some(p) => p
                .checked_add(seqring_core::ring::record::HEADER_LEN)
                .and_then(seqring_core::ring::record::align8)
                .filter(|&r| r <= capacity / 2)
                .ok_or_else(|| {
                    StartError::InvalidOption(format!(
                        "max payload {p} needs a record of more than half the capacity {capacity}"
                    ))
                })?,
        };
        if let Format::NpyEntries { writers: 0 } = self.format {
            return Err(StartError::InvalidOption("npy entries need at least one writer".into()));
        }
        if self.segment_size == 0 {
            return Err(StartError::InvalidOption("segment size 0".into()));
        }
        Ok((capacity, max_record))
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
