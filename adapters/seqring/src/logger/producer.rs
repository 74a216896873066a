//! Producers: one per source and process, cheap to clone, logging through the ring without syscalls.
//!
//! Invariants:
//! - A source's first record in the log is its onset record (timestamp 0, payload = onset as u64 LE µs since the
//!   UNIX epoch), logged once per logger by whichever producer of the source connects first; every producer of the
//!   source stamps later records in µs since that same onset.
//! - `log_now`, `log_at` and `claim` make no syscall and no allocation: the clock is `Instant::now()` (the vDSO's
//!   `clock_gettime(CLOCK_MONOTONIC)` on Linux), the ring operations are atomics on shared memory. Only the wait
//!   policy, when the ring is full, spins and then yields the CPU until its timeout.
//! - Every record a producer gives up on (full ring under either policy) is counted in the source's `dropped`
//!   counter before the call returns.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use seqring_core::log_region::{LogState, Onset};
use seqring_core::ring::{self, ClaimError};
use seqring_platform::{pid_alive, Region, Window};

use super::region::{self as log_region, LoggerRegion};
use super::{region_name, OpenError};
use crate::format::schema::{self, Schema, SchemaError};
use seqring_platform::clock::{mono_ns, now_us};

/// Why a record was not logged.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum LogError {
    /// The ring stayed full (at once under [`FullPolicy::Drop`](super::FullPolicy::Drop), or for the whole
    /// timeout under [`FullPolicy::Wait`](super::FullPolicy::Wait)); the record was counted as dropped.
    #[error("the logger's ring is full; the record was dropped and counted")]
    Full,
    /// The payload is longer than the logger's largest record allows.
    #[error("a payload of {len} bytes exceeds the logger's largest payload of {max} bytes")]
    TooLarge {
        /// The payload length.
        len: usize,
        /// The largest payload.
        max: usize,
    },
    /// The logger has stopped; the record was counted as dropped.
    #[error("the logger has stopped; the record was dropped and counted")]
    Stopped,
    /// The logger this producer was connected to died and a new logger of the same name took its records over:
    /// the record was not logged. Connect again ([`Producer::reconnect`]) to log into the new logger.
    #[error("the logger died and was taken over by a new logger; the record was not logged: reconnect the producer")]
    TakenOver,
    /// The ring's positions are inconsistent: its memory is corrupt.
    #[error("the logger's ring is corrupt")]
    Corrupt,
    /// The logger gave the record's claim up before it was committed (the claim was held past the abandon timeout
    /// while the logger stopped or took over a dead one): the record was not logged, and is counted as abandoned.
    #[error(
        "the logger gave the record up before it was committed (held past the abandon timeout); it was not logged"
    )]
    Abandoned,
    /// The timestamp 0 is the onset record's (ataraxis reads a source's entry stamped 0 as its onset): messages are
    /// stamped from 1 µs after the onset. Nothing was logged or counted.
    #[error("timestamp 0 is the onset record's: stamp messages from 1 µs after the onset; nothing was logged")]
    OnsetTimestamp,
}

/// A producer for one source of a running [`DataLogger`](super::DataLogger), in this process or another.
///
/// Clones share the source and its onset; a producer is `Send` and `Sync`, so threads may also share one by
/// reference.
///
/// # Examples
/// ```
/// use seqring::logger::DataLogger;
/// let dir = tempfile::tempdir().unwrap();
/// let name = format!("doc-producer-{}", std::process::id()); // logger names are machine-wide
/// let logger = DataLogger::builder(dir.path(), &name).start().unwrap();
/// let camera = logger.producer(7).unwrap();
/// camera.log_now(b"frame 1").unwrap();
/// camera.log_at(1_500, b"frame 2").unwrap();
/// let mut grant = camera.claim(4).unwrap();
/// grant.write(0, &42u32.to_le_bytes());
/// grant.commit().unwrap();
/// let report = logger.stop().unwrap();
/// assert_eq!(report.source(7).unwrap().records, 4); // the onset record and three messages
/// ```
#[derive(Debug, Clone)]
pub struct Producer {
    ring: ring::Producer<Window>,
    region: LoggerRegion,
    logger_name: Arc<str>,
    source_id: u8,
    /// The source's onset on the process's fast monotonic clock ([`mono_ns`]), wrapping: an onset before the
    /// clock's epoch (a source older than this process) is a "negative" reading, and `mono_ns() - onset_ns` with
    /// wrapping arithmetic is still the time since it.
    onset_ns: u64,
    onset_us: u64,
    wait: Option<Duration>,
    /// The log directory, for an in-process producer (one of another process reads it from the region).
    log_dir: Option<Arc<std::path::Path>>,
}

/// How long a producer waits for a concurrent producer of its source to log the onset record.
const ONSET_WAIT: Duration = Duration::from_secs(5);

impl Producer {
    /// Connects a producer for `source_id` to the running logger named `logger_name`, from any process.
    ///
    /// The first producer of a source logs its onset record (waiting up to 5 s for room in the ring).
    ///
    /// # Errors
    /// [`OpenError::InvalidName`], [`OpenError::NotRunning`] if no such logger runs (or its region is stale,
    /// left by a logger that died),
    /// [`OpenError::Layout`] or [`OpenError::Ring`] for a region that is not a valid logger, and
    /// [`OpenError::Onset`] if the onset record cannot be logged.
    ///
    /// # Examples
    /// ```
    /// use seqring::logger::{DataLogger, Producer};
    /// let dir = tempfile::tempdir().unwrap();
    /// let name = format!("doc-connect-{}", std::process::id());
    /// let logger = DataLogger::builder(dir.path(), &name).start().unwrap();
    /// // In another process, by name:
    /// let sensor = Producer::connect(&name, 3).unwrap();
    /// sensor.log_now(&1.5f64.to_le_bytes()).unwrap();
    /// assert!(Producer::connect("no-such-logger", 3).is_err());
    /// drop(sensor);
    /// logger.stop().unwrap();
    /// ```
    pub fn connect(logger_name: &str, source_id: u8) -> Result<Producer, OpenError> {
        Self::connect_to(logger_name, source_id, None)
    }

    /// Opens the logger's region and attaches; if that logger dies and is taken over while the onset record is
    /// being logged, attaches to the new logger instead (within the onset wait).
    fn connect_to(logger_name: &str, source_id: u8, onset_us: Option<u64>) -> Result<Producer, OpenError> {
        let deadline = Instant::now() + ONSET_WAIT;
        loop {
            match Self::attach(Self::open(logger_name)?, logger_name, source_id, onset_us) {
                Err(OpenError::Onset {
                    error: LogError::TakenOver,
                    ..
                }) if Instant::now() < deadline => continue,
                other => return other,
            }
        }
    }

    /// Connects like [`Producer::connect`], but gives the source the onset `onset_us` (µs since the UNIX epoch)
    /// instead of now: for a source whose clock started earlier (an ataraxis onset package), or for replaying a
    /// recorded log. `log_now` then stamps the wall-clock time elapsed since `onset_us`. The in-process form is
    /// [`DataLogger::producer_with_onset`](super::DataLogger::producer_with_onset).
    ///
    /// # Errors
    /// [`OpenError::OnsetTaken`] if the source already has an onset in this logger (connect without one to log
    /// for it), and the errors of [`Producer::connect`].
    ///
    /// # Examples
    /// ```
    /// use seqring::logger::{DataLogger, OpenError, Producer};
    /// let dir = tempfile::tempdir().unwrap();
    /// let name = format!("doc-connect-onset-{}", std::process::id());
    /// let logger = DataLogger::builder(dir.path(), &name).start().unwrap();
    /// let camera = Producer::connect_with_onset(&name, 5, 1_700_000_000_000_000).unwrap();
    /// assert_eq!(camera.onset_us(), 1_700_000_000_000_000);
    /// camera.log_at(40, b"frame").unwrap();
    /// let again = Producer::connect_with_onset(&name, 5, 1_800_000_000_000_000);
    /// assert!(matches!(again, Err(OpenError::OnsetTaken { source_id: 5, .. })));
    /// assert_eq!(Producer::connect(&name, 5).unwrap().onset_us(), 1_700_000_000_000_000);
    /// drop(camera);
    /// assert_eq!(logger.stop().unwrap().source(5).unwrap().records, 2);
    /// ```
    pub fn connect_with_onset(logger_name: &str, source_id: u8, onset_us: u64) -> Result<Producer, OpenError> {
        Self::connect_to(logger_name, source_id, Some(onset_us))
    }

    /// Maps the region of the running logger `logger_name`.
    fn open(logger_name: &str) -> Result<Arc<Region>, OpenError> {
        let region = region_name(logger_name).ok_or_else(|| OpenError::InvalidName {
            name: logger_name.into(),
        })?;
        log_region::open(&region).map_err(|source| match source {
            // Not there, or still being sized by a logger that is starting: no logger runs yet.
            seqring_platform::RegionError::NotFound { .. } | seqring_platform::RegionError::NotReady { .. } => {
                OpenError::NotRunning {
                    name: logger_name.into(),
                }
            }
            source => OpenError::Region {
                name: logger_name.into(),
                source,
            },
        })
    }

    /// Attaches to the logger in `backing` (already mapped).
    /// With `onset_us`, the source's onset is that value instead of the wall clock's, and the source must not have
    /// one yet.
    pub(crate) fn attach(
        backing: Arc<Region>,
        logger_name: &str,
        source_id: u8,
        onset_us: Option<u64>,
    ) -> Result<Producer, OpenError> {
        let not_running = || OpenError::NotRunning {
            name: logger_name.into(),
        };
        let (region, state) = match super::takeover::RegionClass::of(Window::whole(backing)) {
            // A logger is creating the region right now: it is not running yet.
            super::takeover::RegionClass::Creating => return Err(not_running()),
            super::takeover::RegionClass::Other(problem) => {
                return Err(OpenError::Layout {
                    name: logger_name.into(),
                    problem,
                })
            }
            super::takeover::RegionClass::Logger(region, state) => (region, state),
        };
        // A region whose logger died is stale: nothing would drain it until a new logger takes it over.
        if state != LogState::Running || !pid_alive(u64::from(region.fields().pid)) {
            return Err(not_running());
        }
        let ring_err = |error| OpenError::Ring {
            name: logger_name.into(),
            error,
        };
        let ring = log_region::open_ring(&region, seqring_core::Spins(0)).map_err(ring_err)?;
        let claimant = region.producer_slot(std::process::id());
        let ring = ring::Producer::attach(ring).map_err(ring_err)?.with_claimant(claimant);
        let fields = region.fields();
        let mut producer = Producer {
            ring,
            region,
            logger_name: logger_name.into(),
            source_id,
            onset_ns: mono_ns(),
            onset_us: 0,
            wait: fields.wait_ns.map(Duration::from_nanos),
            log_dir: None,
        };
        producer.set_onset(logger_name, onset_us)?;
        producer.region.set_pid(source_id, std::process::id());
        Ok(producer)
    }

    /// Finds the source's onset, logging the onset record if this is the source's first producer.
    fn set_onset(&mut self, logger_name: &str, given: Option<u64>) -> Result<(), OpenError> {
        let source_id = self.source_id;
        let pid = std::process::id();
        let deadline = Instant::now() + ONSET_WAIT;
        let onset_us = loop {
            if self.region.claim_onset(source_id, pid) {
                let (now, now_us) = (mono_ns(), now_us());
                let onset_us = given.unwrap_or(now_us).max(1);
                let result = loop {
                    match self.ring.try_write(source_id, 0, &onset_us.to_le_bytes()) {
                        Err(ClaimError::Full)
                            if Instant::now() < deadline && self.region.state() == LogState::Running =>
                        {
                            std::thread::sleep(Duration::from_micros(100));
                        }
                        other => break other,
                    }
                };
                if let Err(error) = result {
                    self.region.set_onset(source_id, 0);
                    return Err(OpenError::Onset {
                        name: logger_name.into(),
                        source_id,
                        error: claim_error(error, self.region.state()),
                    });
                }
                self.region.set_onset(source_id, onset_us);
                self.onset_ns = place_onset(now, now_us, onset_us);
                break onset_us;
            }
            if given.is_some() {
                return Err(OpenError::OnsetTaken {
                    name: logger_name.into(),
                    source_id,
                });
            }
            match self.region.onset(source_id) {
                Onset::None => continue,
                // Another producer is logging the onset. If it died, the logger publishes the onset from its record
                // or, once the record is known never to come, frees the slot for us.
                Onset::Pending(_) if Instant::now() < deadline => std::thread::sleep(Duration::from_micros(100)),
                Onset::Pending(_) => {
                    return Err(OpenError::Onset {
                        name: logger_name.into(),
                        source_id,
                        error: LogError::Full,
                    })
                }
                Onset::Set(onset_us) => {
                    self.onset_ns = place_onset(mono_ns(), now_us(), onset_us);
                    break onset_us;
                }
            }
        };
        self.onset_us = onset_us;
        Ok(())
    }

    /// A new producer for the same source, connected to whichever logger of the same name runs now: after
    /// [`LogError::TakenOver`], when a new logger took over the one this producer was connected to. The source
    /// keeps its onset (the new logger inherits it), so timestamps continue on the same clock.
    ///
    /// # Errors
    /// As [`Producer::connect`].
    ///
    /// # Examples
    /// ```
    /// use seqring::logger::{DataLogger, Producer};
    /// let dir = tempfile::tempdir().unwrap();
    /// let name = format!("doc-reconnect-{}", std::process::id());
    /// let logger = DataLogger::builder(dir.path(), &name).start().unwrap();
    /// let sensor = Producer::connect(&name, 2).unwrap();
    /// let again = sensor.reconnect().unwrap();
    /// assert_eq!(again.onset_us(), sensor.onset_us());
    /// drop((sensor, again));
    /// logger.stop().unwrap();
    /// ```
    pub fn reconnect(&self) -> Result<Producer, OpenError> {
        Producer::connect(&self.logger_name, self.source_id)
    }

    /// Declares the schema of this producer's source: what its payloads are (see [`crate::format::schema`]). It
    /// is recorded once per log directory, in a side file beside the log that assembly leaves beside the source's
    /// archive; readers use it ([`LogArchive::typed`](crate::archive::LogArchive::typed), Python's
    /// `LogArchive.read_typed`). Declaring the recorded schema again is a no-op (from any producer or process);
    /// an empty description agrees with any recorded one. Not for the hot path: it reads (and the first time
    /// writes and syncs) a small file.
    ///
    /// # Errors
    /// [`SchemaError::Mismatch`] if the source already has another schema in this log (nothing changes),
    /// [`SchemaError::Invalid`] for an invalid schema, [`SchemaError::NoLogDir`] if this producer of another process
    /// cannot find the logger's directory (its path is longer than the region holds, 408 bytes, or not UTF-8), and
    /// I/O or parse errors naming the side file.
    ///
    /// # Examples
    /// ```
    /// use seqring::format::schema::{Schema, SchemaError};
    /// use seqring::logger::{DataLogger, Producer};
    /// let dir = tempfile::tempdir().unwrap();
    /// let name = format!("doc-declare-{}", std::process::id());
    /// let logger = DataLogger::builder(dir.path(), &name).start().unwrap();
    /// let wheel = Producer::connect(&name, 4).unwrap();
    /// wheel.declare_schema(&Schema::of::<[f32; 2]>().described("wheel x, y")).unwrap();
    /// wheel.declare_schema(&Schema::of::<[f32; 2]>()).unwrap(); // agrees: a no-op
    /// let other = wheel.declare_schema(&Schema::of::<f64>());
    /// assert!(matches!(other, Err(SchemaError::Mismatch { source_id: 4, .. })));
    /// wheel.log_now(bytemuck::bytes_of(&[0.5f32, 1.5])).unwrap();
    /// # drop(wheel);
    /// # logger.stop().unwrap();
    /// ```
    pub fn declare_schema(&self, schema: &Schema) -> Result<(), SchemaError> {
        let dir = self.log_dir().ok_or_else(|| SchemaError::NoLogDir {
            logger: self.logger_name.to_string(),
        })?;
        schema::declare_in(&dir, self.source_id, schema)
    }

    /// The schema recorded for this producer's source, if one was declared.
    ///
    /// # Errors
    /// As [`Producer::declare_schema`], except the mismatch.
    ///
    /// # Examples
    /// ```
    /// use seqring::format::schema::Schema;
    /// use seqring::logger::DataLogger;
    /// let dir = tempfile::tempdir().unwrap();
    /// let name = format!("doc-schema-{}", std::process::id());
    /// let logger = DataLogger::builder(dir.path(), &name).start().unwrap();
    /// let sensor = logger.producer(2).unwrap();
    /// assert_eq!(sensor.schema().unwrap(), None);
    /// sensor.declare_schema(&Schema::opaque("msgpack", "1")).unwrap();
    /// assert_eq!(sensor.schema().unwrap(), Some(Schema::opaque("msgpack", "1")));
    /// # drop(sensor);
    /// # logger.stop().unwrap();
    /// ```
    pub fn schema(&self) -> Result<Option<Schema>, SchemaError> {
        let dir = self.log_dir().ok_or_else(|| SchemaError::NoLogDir {
            logger: self.logger_name.to_string(),
        })?;
        schema::read_schema(&dir.join(schema::schema_file_name(self.source_id)), self.source_id)
    }

    /// This in-process producer's log directory (its logger knows it, whatever its length).
    pub(crate) fn with_log_dir(mut self, dir: &std::path::Path) -> Producer {
        self.log_dir = Some(dir.into());
        self
    }

    /// The logger's directory: its own for an in-process producer, else as the region records it.
    fn log_dir(&self) -> Option<PathBuf> {
        if let Some(dir) = &self.log_dir {
            return Some(dir.to_path_buf());
        }
        let mut buf = [0u8; seqring_core::log_region::LOG_DIR_MAX];
        let bytes = self.region.log_dir(&mut buf)?;
        std::str::from_utf8(bytes).ok().map(PathBuf::from)
    }

    /// The source this producer logs for.
    ///
    /// # Examples
    /// ```
    /// # use seqring::logger::{DataLogger};
    /// # let dir = tempfile::tempdir().unwrap();
    /// # let name = format!("doc-source-id-{}", std::process::id());
    /// # let logger = DataLogger::builder(dir.path(), &name).start().unwrap();
    /// let camera = logger.producer(3).unwrap();
    /// assert_eq!(camera.source_id(), 3);
    /// # drop(camera);
    /// # logger.stop().unwrap();
    /// ```
    pub fn source_id(&self) -> u8 {
        self.source_id
    }

    /// The source's onset, µs since the UNIX epoch: the payload of its onset record.
    ///
    /// # Examples
    /// ```
    /// # use seqring::logger::{DataLogger};
    /// # let dir = tempfile::tempdir().unwrap();
    /// # let name = format!("doc-onset-us-{}", std::process::id());
    /// # let logger = DataLogger::builder(dir.path(), &name).start().unwrap();
    /// let before = seqring_platform::clock::now_us();
    /// let camera = logger.producer(3).unwrap();
    /// // the first producer of a source logs its onset now
    /// assert!((before..=seqring_platform::clock::now_us()).contains(&camera.onset_us()));
    /// assert_eq!(logger.producer(3).unwrap().onset_us(), camera.onset_us());
    /// # drop(camera);
    /// # logger.stop().unwrap();
    /// ```
    pub fn onset_us(&self) -> u64 {
        self.onset_us
    }

    /// The largest payload one record can carry.
    ///
    /// # Examples
    /// ```
    /// # use seqring::logger::{DataLogger};
    /// # let dir = tempfile::tempdir().unwrap();
    /// # let name = format!("doc-max-payload-{}", std::process::id());
    /// # let logger = DataLogger::builder(dir.path(), &name).capacity(1 << 16).max_payload(1000).start().unwrap();
    /// let sensor = logger.producer(1).unwrap();
    /// assert_eq!(sensor.max_payload(), 1000);
    /// assert!(sensor.log_now(&[0; 1001]).is_err());
    /// # drop(sensor);
    /// # logger.stop().unwrap();
    /// ```
    pub fn max_payload(&self) -> usize {
        self.ring.ring().max_payload()
    }

    /// What this producer does when the ring is full: the logger's [`FullPolicy`](super::FullPolicy).
    ///
    /// # Examples
    /// ```
    /// use seqring::logger::{DataLogger, FullPolicy, Producer};
    /// use std::time::Duration;
    /// let dir = tempfile::tempdir().unwrap();
    /// let name = format!("doc-policy-{}", std::process::id());
    /// let logger = DataLogger::builder(dir.path(), &name).on_full(FullPolicy::Wait(Duration::from_millis(5))).start().unwrap();
    /// let producer = Producer::connect(&name, 1).unwrap();
    /// assert_eq!(producer.full_policy(), FullPolicy::Wait(Duration::from_millis(5)));
    /// drop(producer);
    /// logger.stop().unwrap();
    /// ```
    pub fn full_policy(&self) -> super::FullPolicy {
        self.wait.map_or(super::FullPolicy::Drop, super::FullPolicy::Wait)
    }

    /// µs elapsed since the source's onset, by the process's fast monotonic clock
    /// ([`seqring_platform::clock::mono_ns`]: the CPU's counter, anchored to the OS's monotonic clock every 10 ms);
    /// the timestamp `log_now` uses. It never decreases on one thread.
    ///
    /// # Examples
    /// ```
    /// # use seqring::logger::{DataLogger};
    /// # let dir = tempfile::tempdir().unwrap();
    /// # let name = format!("doc-elapsed-{}", std::process::id());
    /// # let logger = DataLogger::builder(dir.path(), &name).start().unwrap();
    /// let sensor = logger.producer(1).unwrap();
    /// let a = sensor.elapsed_us();
    /// std::thread::sleep(std::time::Duration::from_millis(2));
    /// assert!(sensor.elapsed_us() >= a + 2_000);
    /// # drop(sensor);
    /// # logger.stop().unwrap();
    /// ```
    #[inline]
    pub fn elapsed_us(&self) -> u64 {
        mono_ns().wrapping_sub(self.onset_ns) / 1_000
    }

    /// Logs `payload` stamped with the µs elapsed since the source's onset.
    ///
    /// # Errors
    /// [`LogError::Full`] or [`LogError::Stopped`] (the record is counted as dropped), [`LogError::TakenOver`]
    /// (reconnect), [`LogError::TooLarge`], [`LogError::Corrupt`].
    ///
    /// # Examples
    /// ```
    /// # use seqring::logger::{DataLogger};
    /// # let dir = tempfile::tempdir().unwrap();
    /// # let name = format!("doc-log-now-{}", std::process::id());
    /// # let logger = DataLogger::builder(dir.path(), &name).start().unwrap();
    /// let lick = logger.producer(1).unwrap();
    /// lick.log_now(b"lick").unwrap();
    /// drop(lick);
    /// let report = logger.stop().unwrap();
    /// assert_eq!(report.source(1).unwrap().records, 2); // the onset record and the lick
    /// ```
    #[inline]
    pub fn log_now(&self, payload: &[u8]) -> Result<(), LogError> {
        self.log_at(self.now_stamp(), payload)
    }

    /// The timestamp of a record logged now: [`elapsed_us`](Self::elapsed_us), at least 1 (0 is the onset record's;
    /// a record logged within the onset's first µs is stamped 1).
    #[inline]
    fn now_stamp(&self) -> u64 {
        self.elapsed_us().max(1)
    }

    /// Logs `payload` stamped `timestamp` (µs since the source's onset, from 1: 0 is the onset record's).
    ///
    /// # Errors
    /// As [`Producer::log_now`], and [`LogError::OnsetTimestamp`] for the timestamp 0.
    ///
    /// # Examples
    /// ```
    /// # use seqring::logger::{DataLogger, LogError};
    /// # let dir = tempfile::tempdir().unwrap();
    /// # let name = format!("doc-log-at-{}", std::process::id());
    /// # let logger = DataLogger::builder(dir.path(), &name).start().unwrap();
    /// let frames = logger.producer(2).unwrap();
    /// frames.log_at(1_000, b"frame 1").unwrap();
    /// frames.log_at(2_000, b"frame 2").unwrap();
    /// assert!(matches!(frames.log_at(0, b"frame 0"), Err(LogError::OnsetTimestamp)), "0 is the onset's");
    /// drop(frames);
    /// assert_eq!(logger.stop().unwrap().source(2).unwrap().records, 3);
    /// ```
    #[inline]
    pub fn log_at(&self, timestamp: u64, payload: &[u8]) -> Result<(), LogError> {
        if timestamp == 0 {
            return Err(LogError::OnsetTimestamp);
        }
        self.check_running()?;
        let first = self.ring.try_write(self.source_id, timestamp, payload);
        self.settle(first, || self.ring.try_write(self.source_id, timestamp, payload))
    }

    /// Claims room for a `len`-byte payload stamped now, to be written in place and committed.
    ///
    /// # Errors
    /// As [`Producer::log_now`].
    ///
    /// # Examples
    /// ```
    /// # use seqring::logger::{DataLogger};
    /// # let dir = tempfile::tempdir().unwrap();
    /// # let name = format!("doc-claim-{}", std::process::id());
    /// # let logger = DataLogger::builder(dir.path(), &name).start().unwrap();
    /// let sensor = logger.producer(4).unwrap();
    /// let mut grant = sensor.claim(8).unwrap(); // room in the ring, written in place
    /// grant.write(0, &42u64.to_le_bytes());
    /// grant.commit().unwrap();
    /// drop(sensor);
    /// assert_eq!(logger.stop().unwrap().source(4).unwrap().records, 2);
    /// ```
    #[inline]
    pub fn claim(&self, len: usize) -> Result<LogGrant<'_>, LogError> {
        self.claim_at(self.now_stamp(), len)
    }

    /// Claims room for a `len`-byte payload stamped `timestamp`.
    ///
    /// # Errors
    /// As [`Producer::log_now`], and [`LogError::OnsetTimestamp`] for the timestamp 0.
    ///
    /// # Examples
    /// ```
    /// # use seqring::logger::{DataLogger};
    /// # let dir = tempfile::tempdir().unwrap();
    /// # let name = format!("doc-claim-at-{}", std::process::id());
    /// # let logger = DataLogger::builder(dir.path(), &name).start().unwrap();
    /// let sensor = logger.producer(4).unwrap();
    /// let mut grant = sensor.claim_at(5_000, 4).unwrap();
    /// grant.write(0, b"ping");
    /// grant.commit().unwrap();
    /// drop(sensor);
    /// assert_eq!(logger.stop().unwrap().source(4).unwrap().bytes, 8 + 4); // onset (8 B) and ping
    /// ```
    #[inline]
    pub fn claim_at(&self, timestamp: u64, len: usize) -> Result<LogGrant<'_>, LogError> {
        if timestamp == 0 {
            return Err(LogError::OnsetTimestamp);
        }
        self.check_running()?;
        let first = self.ring.claim(self.source_id, timestamp, len);
        self.settle(first, || self.ring.claim(self.source_id, timestamp, len))
            .map(|grant| LogGrant { grant })
    }

    /// Refuses a record while the logger is not running. The check is a fast path only: a logger that stops (or
    /// is taken over) closes the ring after it stores the state, so a claim that passed the check but comes after
    /// the close fails with `Closed`.
    #[inline(always)]
    fn check_running(&self) -> Result<(), LogError> {
        if self.region.state() != LogState::Running {
            return Err(self.refused());
        }
        Ok(())
    }

    /// Applies the full policy to the result of a first attempt: done (drop), or (wait) `retry` until it succeeds
    /// or the timeout passes. The caller makes the first attempt itself, a direct call compiled inline; a closure
    /// called both for it and in the retry loop was compiled out of line, a call with its result through memory
    /// on every log call.
    #[inline(always)]
    fn settle<T>(
        &self,
        first: Result<T, ClaimError>,
        retry: impl FnMut() -> Result<T, ClaimError>,
    ) -> Result<T, LogError> {
        match first {
            Ok(v) => Ok(v),
            Err(ClaimError::Full) => match self.wait {
                None => Err(self.give_up(LogError::Full)),
                Some(timeout) => self.wait_for_room(timeout, retry),
            },
            Err(ClaimError::Closed) => Err(self.refused()),
            Err(e) => Err(claim_error(e, LogState::Running)),
        }
    }

    /// The error for a record refused because the logger stopped or was taken over.
    #[cold]
    fn refused(&self) -> LogError {
        if self.region.state() == LogState::TakenOver {
            // Nobody reads this region's counters any more: the caller learns of the record from the error.
            LogError::TakenOver
        } else {
            self.give_up(LogError::Stopped)
        }
    }

    #[cold]
    fn wait_for_room<T>(
        &self,
        timeout: Duration,
        mut attempt: impl FnMut() -> Result<T, ClaimError>,
    ) -> Result<T, LogError> {
        let deadline = Instant::now() + timeout;
        let mut spins = 0u32;
        loop {
            if spins < 256 {
                std::hint::spin_loop();
                spins += 1;
            } else {
                std::thread::yield_now();
            }
            match attempt() {
                Ok(v) => return Ok(v),
                Err(ClaimError::Full) => {}
                Err(ClaimError::Closed) => return Err(self.refused()),
                Err(e) => return Err(claim_error(e, LogState::Running)),
            }
            if self.region.state() != LogState::Running {
                return Err(self.refused());
            }
            if spins.is_multiple_of(16) && Instant::now() >= deadline {
                return Err(self.give_up(LogError::Full));
            }
        }
    }

    #[cold]
    fn give_up(&self, error: LogError) -> LogError {
        self.region.add_dropped(self.source_id, 1);
        self.ring.count_dropped(1);
        error
    }
}

/// The monotonic instant of the wall-clock time `onset_us`, given that `now` is `now_us`.
/// The onset `onset_us` (µs since the UNIX epoch) on the fast monotonic clock, given a reading `now_ns` of it taken
/// at the wall-clock time `now_us` (wrapping: see [`Producer::onset_ns`]). An onset in the future counts from now.
fn place_onset(now_ns: u64, now_us: u64, onset_us: u64) -> u64 {
    now_ns.wrapping_sub(now_us.saturating_sub(onset_us).saturating_mul(1_000))
}

fn claim_error(e: ClaimError, state: LogState) -> LogError {
    match e {
        ClaimError::TooLarge { len, max } => LogError::TooLarge { len, max },
        ClaimError::Abandoned => LogError::Abandoned,
        _ if state == LogState::TakenOver => LogError::TakenOver,
        ClaimError::Full | ClaimError::Closed if state != LogState::Running => LogError::Stopped,
        ClaimError::Full => LogError::Full,
        _ => LogError::Corrupt,
    }
}

/// A record claimed in the ring: write its payload in place, then [`commit`](LogGrant::commit) it. Dropping it
/// uncommitted aborts it (the consumer skips it; it is not counted as dropped).
#[must_use = "a grant must be committed, or it is aborted when dropped"]
#[derive(Debug)]
pub struct LogGrant<'a> {
    grant: ring::Grant<'a, Window>,
}

impl LogGrant<'_> {
    /// The payload length.
    ///
    /// # Examples
    /// ```
    /// # use seqring::logger::{DataLogger};
    /// # let dir = tempfile::tempdir().unwrap();
    /// # let name = format!("doc-grant-len-{}", std::process::id());
    /// # let logger = DataLogger::builder(dir.path(), &name).start().unwrap();
    /// let sensor = logger.producer(1).unwrap();
    /// let grant = sensor.claim(24).unwrap();
    /// assert_eq!(grant.len(), 24);
    /// grant.abort();
    /// # drop(sensor);
    /// # logger.stop().unwrap();
    /// ```
    pub fn len(&self) -> usize {
        self.grant.len()
    }

    /// Whether the payload is empty.
    ///
    /// # Examples
    /// ```
    /// # use seqring::logger::{DataLogger};
    /// # let dir = tempfile::tempdir().unwrap();
    /// # let name = format!("doc-grant-empty-{}", std::process::id());
    /// # let logger = DataLogger::builder(dir.path(), &name).start().unwrap();
    /// let sensor = logger.producer(1).unwrap();
    /// let grant = sensor.claim(0).unwrap();
    /// assert!(grant.is_empty());
    /// grant.commit().unwrap();
    /// # drop(sensor);
    /// # logger.stop().unwrap();
    /// ```
    pub fn is_empty(&self) -> bool {
        self.grant.is_empty()
    }

    /// Copies `bytes` into the payload at `at`.
    ///
    /// # Panics
    /// If `at + bytes.len()` exceeds the payload length.
    ///
    /// # Examples
    /// ```
    /// # use seqring::logger::{DataLogger};
    /// # let dir = tempfile::tempdir().unwrap();
    /// # let name = format!("doc-grant-write-{}", std::process::id());
    /// # let logger = DataLogger::builder(dir.path(), &name).start().unwrap();
    /// let sensor = logger.producer(1).unwrap();
    /// let mut grant = sensor.claim(6).unwrap();
    /// grant.write(0, b"abc");
    /// grant.write(3, b"def");
    /// grant.commit().unwrap();
    /// # drop(sensor);
    /// # logger.stop().unwrap();
    /// ```
    #[inline]
    pub fn write(&mut self, at: usize, bytes: &[u8]) {
        self.grant.write(at, bytes);
    }

    /// Publishes the record.
    ///
    /// # Errors
    /// [`LogError::Abandoned`] if the logger gave the claim up first (it was held past the abandon timeout while
    /// the logger stopped or took over a dead one): the record is not logged, and is counted as abandoned.
    ///
    /// # Examples
    /// ```
    /// # use seqring::logger::{DataLogger};
    /// # let dir = tempfile::tempdir().unwrap();
    /// # let name = format!("doc-grant-commit-{}", std::process::id());
    /// # let logger = DataLogger::builder(dir.path(), &name).start().unwrap();
    /// let sensor = logger.producer(1).unwrap();
    /// let mut grant = sensor.claim(2).unwrap();
    /// grant.write(0, b"ok");
    /// assert!(grant.commit().is_ok());
    /// drop(sensor);
    /// assert_eq!(logger.stop().unwrap().source(1).unwrap().records, 2);
    /// ```
    #[inline]
    pub fn commit(self) -> Result<(), LogError> {
        self.grant.commit().map_err(|_| LogError::Abandoned)
    }

    /// Withdraws the record.
    ///
    /// # Examples
    /// ```
    /// # use seqring::logger::{DataLogger};
    /// # let dir = tempfile::tempdir().unwrap();
    /// # let name = format!("doc-grant-abort-{}", std::process::id());
    /// # let logger = DataLogger::builder(dir.path(), &name).start().unwrap();
    /// let sensor = logger.producer(1).unwrap();
    /// sensor.claim(16).unwrap().abort(); // skipped by the logger, not counted as dropped
    /// drop(sensor);
    /// let report = logger.stop().unwrap();
    /// assert_eq!((report.source(1).unwrap().records, report.dropped), (1, 0));
    /// ```
    pub fn abort(self) {
        self.grant.abort();
    }
}
