//! Taking over from a dead logger: a region of the name whose logger died is drained into the new logger's files
//! (every committed record, its abandoned claims padded over after the abandon timeout) before the new region
//! replaces it; a live logger's region, or a region that is not a logger's, is refused and left alone.

use std::sync::Arc;
use std::time::Duration;

use seqring_core::log_region::{self, EndState, LogState, Onset};
use seqring_core::ring::{Consumer, RingError};
use seqring_platform::{pid_alive, Region, RegionError, Window};

use super::drain;
use super::onsets::OnsetBook;
use super::region::{self, LoggerRegion};
use super::sink::Sink;
use super::tally::BatchTally;
use super::{LoggerBuilder, StartError};

impl LoggerBuilder {
    /// Creates the logger's region, first taking over (into `sink` and `onsets`) a region of the name that a dead
    /// logger left; returns the new region and what was taken over.
    pub(super) fn create_region(
        &self,
        region_name: &str,
        ring_len: usize,
        sink: &mut Sink,
        onsets: &mut OnsetBook,
    ) -> Result<(Arc<Region>, TakenOver), StartError> {
        let region_err = |source| StartError::Region {
            name: self.name.clone(),
            source,
        };
        let mut taken_over = TakenOver::default();
        loop {
            match region::create(region_name, LoggerRegion::region_len(ring_len)) {
                Ok(b) => return Ok((b, taken_over)),
                Err(RegionError::AlreadyExists { .. }) => {
                    if let Some(stale) = self.stale_region(region_name)? {
                        taken_over = take_over(&self.name, &stale, sink, onsets, self.abandon_timeout)?;
                    }
                    match region::remove(region_name) {
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
    pub(super) fn stale_region(&self, region_name: &str) -> Result<Option<Arc<Region>>, StartError> {
        // A logger may be creating the region this very moment: give it a moment to size it and write its header.
        let deadline = std::time::Instant::now() + CREATING_GRACE;
        let backing = loop {
            match region::open(region_name) {
                Ok(b) => break b,
                Err(RegionError::NotFound { .. }) => return Ok(None),
                Err(RegionError::NotReady { .. }) if std::time::Instant::now() < deadline => {
                    std::thread::sleep(Duration::from_millis(1))
                }
                // Still unsized: its creator died right after creating it, before writing anything.
                Err(RegionError::NotReady { .. }) => return Ok(None),
                Err(source) => {
                    return Err(StartError::Region {
                        name: self.name.clone(),
                        source,
                    })
                }
            }
        };
        let mut class = RegionClass::of(Window::whole(Arc::clone(&backing)));
        while matches!(class, RegionClass::Creating) && std::time::Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(1));
            class = RegionClass::of(Window::whole(Arc::clone(&backing)));
        }
        let (region, state) = match class {
            // Still blank: its creator died before writing anything.
            RegionClass::Creating => return Ok(None),
            RegionClass::Other(problem) => {
                return Err(StartError::Layout {
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
            return Err(StartError::NameInUse {
                name: self.name.clone(),
                pid,
            });
        }
        // A logger that died before publishing its region (while taking over an older one, whose records it had
        // already drained) left nothing in it.
        if state == LogState::Initialising {
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
    Logger(LoggerRegion, LogState),
    /// Something else, described.
    Other(String),
}

impl RegionClass {
    /// Classifies the mapped region `mem`.
    pub(crate) fn of(mem: Window) -> Self {
        use seqring_core::header::{self, HeaderError as CoreError, RegionKind};
        match header::validate(&mem, RegionKind::Ring) {
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

/// Drains a dead logger's ring into `sink`, notes its sources' onsets beside the log (before its region goes),
/// and returns what it drained.
///
/// The old region is marked taken over and its ring closed first, so producers still connected to it learn of
/// the takeover ([`LogError::TakenOver`]) and no claim lands behind the last drain. Whoever holds the ring's
/// consumer slot (the dead logger, or a logger that died during an earlier takeover) is evicted if dead. Every
/// blocking claim gets the abandon timeout from when it is first noted before it is padded over.
fn take_over(
    name: &str,
    backing: &Arc<Region>,
    sink: &mut Sink,
    onsets: &mut OnsetBook,
    abandon_timeout: Duration,
) -> Result<TakenOver, StartError> {
    let layout = |problem: log_region::LayoutProblem| StartError::Layout {
        name: name.into(),
        problem: problem.to_string(),
    };
    let ring_err = |error| StartError::Ring {
        name: name.into(),
        error,
    };
    let (region, _) = LoggerRegion::open(Window::whole(Arc::clone(backing))).map_err(layout)?;
    region.set_state(EndState::TakenOver);
    let ring = region::open_ring(&region, seqring_core::Spins(0)).map_err(ring_err)?;
    let final_tail = ring.close().map_err(ring_err)?;
    let holder = ring.consumer_token();
    if holder != 0 {
        if pid_alive(holder) {
            return Err(StartError::NameInUse {
                name: name.into(),
                pid: holder as u32,
            });
        }
        // SAFETY: the holder's process is dead (checked just above: it is no longer running), so it makes no
        // further stores; its exit ordered its last ones before ours. Nothing else attaches meanwhile: a live
        // logger of the name would have been refused by `stale_region`.
        unsafe { ring.evict_consumer(holder) };
    }
    let mut consumer = Consumer::attach(ring, u64::from(std::process::id())).map_err(ring_err)?;
    let ring_id = region.ring_id();
    let mut records = 0u64;
    let mut abandoned = 0u64;
    let mut watch: Option<(drain::Watch, u32)> = None;
    let mut tally = BatchTally::default();
    loop {
        while drain::drain_one(
            &mut consumer,
            drain::MAX_BATCH,
            &mut tally,
            &[0; 4],
            |position, bytes, tally| {
                records += tally.total_records();
                sink.write(
                    crate::format::segment::Origin {
                        ring: ring_id,
                        position,
                    },
                    bytes,
                    tally,
                );
                onsets.note_batch(bytes);
            },
        )
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
        if let Onset::Set(onset) = region.onset(source) {
            onsets.note(source, onset);
        }
    }
    onsets.save();
    Ok(TakenOver { records, abandoned })
}

/// What a takeover drained from a dead logger's ring.
#[derive(Clone, Copy, Debug, Default)]
pub(super) struct TakenOver {
    /// Records written (some may repeat what the dead logger wrote but had not released; readers skip those).
    pub(super) records: u64,
    /// Claims abandoned by dead producers, padded over.
    pub(super) abandoned: u64,
}
