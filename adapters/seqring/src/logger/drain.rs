//! The drain thread: the ring's one consumer, writing batches to the sink straight from ring memory.
//!
//! Loop: poll a batch (at most a quarter of a segment, up to [`MAX_BATCH`] bytes), write it into the kernel
//! straight from ring memory, and only then release it, so a crash of the logger process loses nothing it
//! released (a batch written but not yet released is written again by the next logger, and readers skip the
//! repeat by its ring position). With nothing to poll it waits as [`super::idle`] says: spinning, then yielding,
//! then parking for at most the flush interval (1 ms by default; a stop or resume unparks it at once), and after a
//! small batch parking at once, so that records gather in the ring instead of being taken one by one. It syncs
//! the sink every fsync interval and stores a heartbeat in the ring. A claim left uncommitted at the head while
//! later records are committed is unblocked after the abandon timeout, while running only if the process that
//! made the claim (its claimant tag) is dead or unknown, at stop whatever holds it. Every 50 ms it retires the
//! producer slots of dead processes.
//!
//! On stop (the region's state is already `stopped`, so producers refuse new records) it drains everything
//! committed, resolves blockages, drains again, and finishes the sink.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use seqring_core::log_region::{Drained, Onset};
use seqring_core::ring::{Blockage, Consumer, RingError};
use seqring_platform::{pid_alive, Window};

use super::idle::Idle;
use super::onsets::OnsetBook;
use super::region::LoggerRegion;
use super::sink::{Sink, SinkOutcome};
use super::tally::BatchTally;
use super::WriteError;
use crate::format::segment::Origin;

/// The most bytes written per batch.
pub(crate) const MAX_BATCH: usize = 4 << 20;
/// The fewest bytes a batch may be capped at.
const MIN_BATCH: usize = 4 << 10;

/// The batch size for segments of `segment_size` bytes: a quarter of a segment, so that files roll close to
/// their size, within [`MIN_BATCH`] ..= [`MAX_BATCH`].
pub(crate) fn batch_size(segment_size: u64) -> usize {
    usize::try_from(segment_size / 4)
        .unwrap_or(MAX_BATCH)
        .clamp(MIN_BATCH, MAX_BATCH)
}

/// State shared between the logger handle and its drain thread.
#[derive(Debug, Default)]
pub(crate) struct Shared {
    pub(crate) stop: AtomicBool,
    pub(crate) paused: AtomicBool,
    pub(crate) error: Mutex<Option<Arc<WriteError>>>,
    /// Records drained and handed to the operating system, for `health()`.
    pub(crate) flushed: AtomicU64,
}

/// How the drain thread is configured.
#[derive(Clone, Copy, Debug)]
pub(crate) struct DrainOptions {
    /// The most bytes per batch.
    pub(crate) max_batch: usize,
    pub(crate) fsync_interval: Option<Duration>,
    /// The longest idle park ([`LoggerBuilder::flush_interval`](super::LoggerBuilder::flush_interval)).
    pub(crate) flush_interval: Duration,
    pub(crate) abandon_timeout: Duration,
}

/// What the drain thread hands back.
#[derive(Debug)]
pub(crate) struct DrainOutcome {
    pub(crate) sink: SinkOutcome,
    pub(crate) ring_error: Option<RingError>,
}

/// Everything the drain thread owns.
pub(crate) struct Drain {
    consumer: Consumer<Window>,
    region: LoggerRegion,
    sink: Sink,
    /// The sources' onsets, noted beside the log as their onset records are drained.
    onsets: OnsetBook,
    /// Per source: an onset slot left pending by a dead process, and the ring's tail when that was seen.
    dead_onsets: Box<[Option<(u32, u64)>; 256]>,
    /// Per source: what was drained, published to the region for monitors every [`REAP_INTERVAL`].
    drained: Box<[Drained; 256]>,
    /// The counts of the batch being drained.
    tally: BatchTally,
    shared: Arc<Shared>,
    options: DrainOptions,
}

/// Polls one batch of at most `max_bytes` from `consumer`, counting its records into `tally` from the poll's own
/// walk (the records of the sources in `watch`, a 256-bit set, are kept as onset candidates), hands its ring
/// position, bytes (straight from ring memory) and tally to `f`, and releases it once `f` returns: `f` must have
/// handed the bytes to the kernel (or counted them as unwritten) by then, so that a crash after the release loses
/// nothing. Returns whether there was a batch.
pub(crate) fn drain_one(
    consumer: &mut Consumer<Window>,
    max_bytes: usize,
    tally: &mut BatchTally,
    watch: &[u64; 4],
    f: impl FnOnce(u64, &[u8], &BatchTally),
) -> Result<bool, RingError> {
    let Some(batch) = tally.poll(consumer, max_bytes, watch)? else {
        return Ok(false);
    };
    f(batch.position(), batch.bytes(), tally);
    batch.release();
    Ok(true)
}

/// A blockage being timed.
pub(crate) struct Watch {
    pub(crate) blockage: Blockage,
    pub(crate) since: Instant,
}

impl Watch {
    /// Starts timing `blockage` now.
    pub(crate) fn new(blockage: Blockage) -> Self {
        Watch {
            blockage,
            since: Instant::now(),
        }
    }
}

/// How often the drain retires the producer slots of dead processes and publishes its per-source counts.
const REAP_INTERVAL: Duration = Duration::from_millis(50);

impl Drain {
    /// The drain of `consumer`, writing into `sink` (its windows keep the region mapped while it runs).
    pub(crate) fn new(
        consumer: Consumer<Window>,
        region: LoggerRegion,
        sink: Sink,
        onsets: OnsetBook,
        shared: Arc<Shared>,
        options: DrainOptions,
    ) -> Self {
        Drain {
            consumer,
            region,
            sink,
            onsets,
            dead_onsets: Box::new([None; 256]),
            drained: Box::new([Drained::default(); 256]),
            tally: BatchTally::default(),
            shared,
            options,
        }
    }

    /// Runs until stopped.
    pub(crate) fn run(mut self) -> DrainOutcome {
        let ring_error = self.run_loop().err();
        DrainOutcome {
            sink: self.sink.finish(),
            ring_error,
        }
    }

    fn run_loop(&mut self) -> Result<(), RingError> {
        let mut idle = Idle::new(
            self.options.flush_interval,
            self.consumer.ring().capacity(),
            self.options.max_batch,
        );
        let mut last_sync = Instant::now();
        let mut last_reap = Instant::now();
        let mut watch: Option<Watch> = None;
        loop {
            if !self.shared.paused.load(Ordering::Relaxed) {
                if let Some((position, len, writing)) = self.drain_one()? {
                    let end = position.wrapping_add(len as u64);
                    let gathering = idle.drained(len, end, writing);
                    self.maybe_sync(&mut last_sync);
                    if !gathering {
                        continue;
                    }
                    // Gathering: park now, whatever came in meanwhile (the ring holds it).
                }
            }
            // Acquire: pairs with the Release store in `DataLogger::stop`, after the region was marked stopped.
            if self.shared.stop.load(Ordering::Acquire) {
                return self.finish_draining();
            }
            if idle.first_wait() {
                self.flush();
            }
            self.watch_blockage(&mut watch, false)?;
            self.maybe_sync(&mut last_sync);
            if last_reap.elapsed() >= REAP_INTERVAL {
                self.reap();
                last_reap = Instant::now();
            }
            self.consumer.heartbeat(seqring_platform::clock::now_ns());
            idle.wait();
        }
    }

    /// Drains one batch into the kernel, then releases it; returns its ring position, its length and when its
    /// writing began, if there was one.
    fn drain_one(&mut self) -> Result<Option<(u64, usize, Instant)>, RingError> {
        let sink = &mut self.sink;
        let onsets = &mut self.onsets;
        let drained = &mut self.drained;
        let region = &self.region;
        let shared = &self.shared;
        let ring = self.region.ring_id();
        let watch = *onsets.unknown();
        let mut span = None;
        drain_one(
            &mut self.consumer,
            self.options.max_batch,
            &mut self.tally,
            &watch,
            |position, bytes, tally| {
                span = Some((position, bytes.len(), Instant::now()));
                let had_error = sink.error().is_some();
                sink.write(Origin { ring, position }, bytes, tally);
                // Tailers blocked on the written count look at the files again (those whose lease has not run
                // out: a killed tailer stops costing a wake call within its lease).
                region.note_written(seqring_platform::clock::now_ns_coarse);
                for (source, c) in tally.sources() {
                    let d = &mut drained[usize::from(source)];
                    d.records += c.records;
                    d.bytes += c.bytes;
                    // The record's timestamp: bytes 8..16 of its header (the batch holds it whole).
                    if let Some(ts) = bytes.get(c.last + 8..c.last + 16) {
                        d.last_timestamp = u64::from_le_bytes(ts.try_into().unwrap_or([0; 8]));
                    }
                }
                if !tally.candidates().is_empty() {
                    onsets.note_candidates(bytes, tally.candidates(), |source, onset| {
                        region.publish_pending_onset(source, onset);
                    });
                    onsets.save_if_changed();
                }
                if !had_error {
                    report_error(shared, sink);
                }
            },
        )?;
        Ok(span)
    }

    /// Retires the producer slots of dead processes, and frees the onset slots they left pending once none of
    /// their claims is left in the ring (an onset record they committed has been drained and published by then).
    fn reap(&mut self) {
        for (source, d) in self.drained.iter().enumerate() {
            if d.records != 0 {
                self.region.set_drained(source as u8, *d);
            }
        }
        let stats = self.consumer.ring().stats();
        let alive = |pid: u32| pid_alive(u64::from(pid));
        self.region.reap_producers(stats.head, stats.tail, alive);
        for source in 0..=u8::MAX {
            let slot = &mut self.dead_onsets[usize::from(source)];
            match self.region.onset(source) {
                Onset::Pending(pid) if !alive(pid) => match *slot {
                    Some((p, tail)) if p == pid && stats.head >= tail => {
                        self.region.clear_dead_onset(source, pid);
                        *slot = None;
                    }
                    Some((p, _)) if p == pid => {}
                    _ => *slot = Some((pid, stats.tail)),
                },
                _ => *slot = None,
            }
        }
    }

    /// Publishes how many records are in the kernel (every drained record: the sink buffers nothing).
    fn flush(&mut self) {
        if self.sink.error().is_none() {
            // Relaxed: a statistic.
            self.shared
                .flushed
                .store(self.consumer.ring().stats().records, Ordering::Relaxed);
        }
    }

    fn maybe_sync(&mut self, last_sync: &mut Instant) {
        if let Some(interval) = self.options.fsync_interval {
            if last_sync.elapsed() >= interval {
                self.sink.sync();
                report_error(&self.shared, &self.sink);
                *last_sync = Instant::now();
            }
        }
    }

    /// Times the head blockage and unblocks it when it is due; returns whether it unblocked one.
    fn watch_blockage(&mut self, watch: &mut Option<Watch>, stopping: bool) -> Result<bool, RingError> {
        let Some(blockage) = self.consumer.blocked()? else {
            *watch = None;
            return Ok(false);
        };
        match watch {
            Some(w) if w.blockage.position() == blockage.position() => {
                if w.since.elapsed() < self.options.abandon_timeout {
                    return Ok(false);
                }
                // The claim's own process (its claimant tag); an untagged claim falls back to the source's last
                // connected process; a zero-length claim names nobody.
                let holder = match w.blockage.claimant() {
                    Some(tag) => self.region.claimant_pid(tag),
                    None => w.blockage.source_id().map(|s| self.region.pid(s)),
                };
                let holder_alive = holder.is_some_and(|pid| pid_alive(u64::from(pid)));
                if holder_alive && !stopping {
                    return Ok(false);
                }
                // Unblock what was noted a timeout ago: the core confirms nothing about it changed since.
                let noted = watch.take().map_or(blockage, |w| w.blockage);
                self.consumer.unblock(noted)
            }
            _ => {
                *watch = Some(Watch {
                    blockage,
                    since: Instant::now(),
                });
                Ok(false)
            }
        }
    }

    /// Drains everything committed, unblocking abandoned claims after the timeout.
    fn finish_draining(&mut self) -> Result<(), RingError> {
        let mut watch: Option<Watch> = None;
        loop {
            while self.drain_one()?.is_some() {}
            if self.consumer.blocked()?.is_none() {
                return Ok(());
            }
            if !self.watch_blockage(&mut watch, true)? {
                std::thread::sleep(Duration::from_micros(200));
            }
        }
    }
}

/// Publishes the sink's first error for `health()`.
fn report_error(shared: &Shared, sink: &Sink) {
    if let Some(e) = sink.error() {
        let mut slot = shared.error.lock().unwrap_or_else(|p| p.into_inner());
        if slot.is_none() {
            *slot = Some(Arc::clone(e));
        }
    }
}
