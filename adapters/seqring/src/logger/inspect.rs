//! Reading a logger region without attaching to it: for `seqring shm inspect`, monitoring, and the fuzzer.

use std::sync::Arc;

use seqring_core::log_region::{LogRegion, LogState, Onset};
use seqring_core::ring::{Ring, RingStats};
use seqring_core::{Memory, RawRegion};
use seqring_platform::Window;

use super::region::{self as log_region};
use super::{region_name, FullPolicy, OpenError};

/// The lifecycle state of a logger region.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LoggerState {
    /// Its logger is still setting it up.
    Initialising,
    /// Producers may log.
    Running,
    /// Its logger stopped (or is stopping); producers' records are refused.
    Stopped,
    /// Its logger died and a new logger of the same name took its records over; producers' records are refused
    /// (they reconnect to the new logger).
    TakenOver,
}

/// One source of a logger region's table.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SourceInfo {
    /// The source id.
    pub source_id: u8,
    /// Its onset, µs since the UNIX epoch (`None` while its onset record is being logged).
    pub onset_us: Option<u64>,
    /// The last process that connected a producer for it.
    pub pid: u32,
    /// Records its producers gave up on.
    pub dropped: u64,
    /// Records the logger has drained (published every 50 ms while it runs).
    pub drained: u64,
    /// Their payload bytes.
    pub drained_bytes: u64,
    /// The newest drained record's timestamp, µs since the source's onset.
    pub last_timestamp: u64,
}

/// What a logger region holds, read without attaching to it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LoggerInfo {
    /// The region's state.
    pub state: LoggerState,
    /// The logger's process.
    pub pid: u32,
    /// When the logger started, µs since the UNIX epoch.
    pub started_us: u64,
    /// What producers do when the ring is full.
    pub full_policy: FullPolicy,
    /// The ring's data area in bytes.
    pub capacity: usize,
    /// The largest payload of one record.
    pub max_payload: usize,
    /// The ring's counters.
    pub stats: RingStats,
    /// Every source with an onset or a producer.
    pub sources: Vec<SourceInfo>,
}

/// Reads the running logger `name`'s region.
///
/// # Errors
/// [`OpenError::InvalidName`], [`OpenError::NotRunning`] if there is no such region, [`OpenError::Region`],
/// and the errors of [`inspect_region`].
///
/// # Examples
/// ```
/// use seqring::logger::{inspect, DataLogger, LoggerState};
/// let dir = tempfile::tempdir().unwrap();
/// let name = format!("doc-inspect-{}", std::process::id()); // logger names are machine-wide
/// let logger = DataLogger::builder(dir.path(), &name).start().unwrap();
/// logger.producer(4).unwrap().log_now(b"x").unwrap();
/// let info = inspect(&name).unwrap();
/// assert_eq!((info.state, info.pid), (LoggerState::Running, std::process::id()));
/// assert_eq!(info.sources[0].source_id, 4);
/// logger.stop().unwrap();
/// ```
pub fn inspect(name: &str) -> Result<LoggerInfo, OpenError> {
    let region = region_name(name).ok_or_else(|| OpenError::InvalidName { name: name.into() })?;
    let mapped = log_region::open(&region).map_err(|source| match source {
        seqring_platform::RegionError::NotFound { .. } => OpenError::NotRunning { name: name.into() },
        source => OpenError::Region {
            name: name.into(),
            source,
        },
    })?;
    let whole = Window::whole(Arc::clone(&mapped));
    let log = LogRegion::open(whole).map_err(|problem| layout_error(name, problem))?;
    let ring = log_region::ring_window(&log.0);
    read(name, log, ring)
}

/// Reads a logger region given as raw words (whatever their contents: every field is validated first).
///
/// # Errors
/// [`OpenError::Layout`] if the region is not a logger region of this version, [`OpenError::Ring`] if its ring
/// is invalid.
///
/// # Examples
/// ```
/// # use seqring::logger::{DataLogger, inspect_region, LoggerState};
/// # let dir = tempfile::tempdir().unwrap();
/// # let name = format!("doc-inspect-region-{}", std::process::id());
/// # let logger = DataLogger::builder(dir.path(), &name).start().unwrap();
/// // the words of a logger region, however they were obtained (here: mapped by name)
/// let region = seqring_platform::Region::open_shm(&format!("seqring-log.{name}")).unwrap();
/// let info = inspect_region(&name, region.raw()).unwrap();
/// assert_eq!((info.state, info.pid), (LoggerState::Running, std::process::id()));
/// # drop(region);
/// # logger.stop().unwrap();
/// ```
pub fn inspect_region(name: &str, region: RawRegion<'_>) -> Result<LoggerInfo, OpenError> {
    let log = LogRegion::open(region).map_err(|problem| layout_error(name, problem))?;
    let ring = RawRegion::new(&region.words()[..log.0.ring_len() / 8]);
    read(name, log, ring)
}

fn layout_error(name: &str, problem: seqring_core::log_region::LayoutProblem) -> OpenError {
    OpenError::Layout {
        name: name.into(),
        problem: problem.to_string(),
    }
}

/// Reads the opened log region `logger` (in state `state`) and its ring in `ring_mem`.
fn read<M: Memory>(
    name: &str,
    (logger, state): (LogRegion<M>, LogState),
    ring_mem: M,
) -> Result<LoggerInfo, OpenError> {
    let ring = Ring::open(ring_mem, seqring_core::Spins(0)).map_err(|error| OpenError::Ring {
        name: name.into(),
        error,
    })?;
    let fields = logger.fields();
    let sources = (0..=u8::MAX)
        .filter_map(|s| {
            let onset = logger.onset(s);
            let pid = logger.pid(s);
            (onset != Onset::None || pid != 0).then(|| SourceInfo {
                source_id: s,
                onset_us: match onset {
                    Onset::Set(us) => Some(us),
                    _ => None,
                },
                pid,
                dropped: logger.dropped(s),
                drained: logger.drained(s).records,
                drained_bytes: logger.drained(s).bytes,
                last_timestamp: logger.drained(s).last_timestamp,
            })
        })
        .collect();
    Ok(LoggerInfo {
        state: match state {
            LogState::Running => LoggerState::Running,
            LogState::Stopped => LoggerState::Stopped,
            LogState::TakenOver => LoggerState::TakenOver,
            LogState::Initialising | LogState::Unknown(_) => LoggerState::Initialising,
        },
        pid: fields.pid,
        started_us: fields.started_us,
        full_policy: fields.wait_ns.map_or(FullPolicy::Drop, |ns| {
            FullPolicy::Wait(std::time::Duration::from_nanos(ns))
        }),
        capacity: ring.capacity(),
        max_payload: ring.max_payload(),
        stats: ring.stats(),
        sources,
    })
}
