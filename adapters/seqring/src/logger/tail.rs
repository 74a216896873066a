//! Following a running logger's log directory from any process ([`LogTail`]): every message, once, in each
//! source's order, as soon as the logger has written it, until the logger stops.
//!
//! The tail reads the segment files (`*.seg`) as they grow, with plain reads at its own file offsets (no map: the
//! files grow under it). Invariants:
//! - A batch is handed out only once it is whole and its checksum holds: the logger appends each batch with one
//!   `writev`, so a reader can see a prefix of the last batch (a torn tail), which it reads again later; it never
//!   returns a torn or partial batch.
//! - Segments are taken in name (writing) order; the logger creates a segment only after it finished the previous
//!   one, so once a later segment exists the tail reads the earlier one to its end and moves on.
//! - Repeats that a logger crash leaves (a batch written again by the logger that took over) are skipped by ring
//!   position ([`crate::format::segment::Dedup`]), as the archive readers skip them.
//! - The tail ends when no logger of the directory's name is left (a stopping logger removes its region only
//!   after its last write; the region is seen gone twice, a poll apart) and a last sweep found nothing new. A
//!   logger that died leaves its region, and is waited for: a successor may take it over.
//! - Latency: the logger writes each batch as soon as it drains it, and idles in parks of at most its flush
//!   interval ([`LoggerBuilder::flush_interval`](super::LoggerBuilder::flush_interval), 1 ms by default). The tail
//!   then blocks on the logger region's count of written batches (a futex on Linux, a ulock on macOS, a named
//!   event on Windows: `seqring_platform::address_wait`), which the drain bumps and wakes after each write, so a
//!   record reaches a tailer within the flush interval of its commit (plus the time to write the batches before
//!   it), and an idle tail uses no CPU between looks every [`IDLE_WAIT`]. On other systems the tail looks again
//!   every [`POLL`], which adds to the bound.
//!
//! Only the segment format is followed; a directory of `.npy` entries has no segments and ends at once.

use std::collections::VecDeque;
use std::fs::File;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use seqring_core::ring::record::Records;

use super::onsets::OnsetBook;
use super::region::LoggerRegion;
use super::{region as log_region, region_name, LOG_DIR_SUFFIX};
use crate::format::segment::reader::{check_batch, check_header};
use crate::format::segment::{skip_delivered, Dedup, SegmentError, Tail, EXTENSION, FILE_HEADER_LEN};
use seqring_core::log_region::{LogRegion, LogState};
use seqring_platform::{address_wait, clock, RegionError, Window};

/// How often a waiting tail looks for new data where it cannot block on the logger's written count (outside Linux,
/// macOS and Windows; see `seqring_platform::address_wait`).
pub const POLL: Duration = Duration::from_millis(2);
/// The longest a tail blocks on the logger's written count before it looks again (a write wakes it at once): it also notices a logger that stopped or died within this time.
pub const IDLE_WAIT: Duration = Duration::from_millis(50);

/// How long a blocked tail's lease runs past the moment it renews it (before each block of at most
/// [`IDLE_WAIT`]): if its process is killed while it blocks, the drain stops issuing wake calls for it within this
/// time (on the coarse wall clock, `seqring_platform::clock::now_ns_coarse`, which the drain reads too).
const LEASE: Duration = Duration::from_secs(2);

/// A waiting tail that finds the logger's written count unchanged skips its look at the files, except at every
/// this many looks (about once a second with [`IDLE_WAIT`]).
const SWEEP_EVERY: u32 = 20;

/// Where a [`LogTail`] starts.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TailFrom {
    /// Every message already in the directory, then the new ones.
    Start,
    /// Only messages written after the tail opened.
    Now,
}

/// One message read by a [`LogTail`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TailMessage {
    /// The source that logged it.
    pub source_id: u8,
    /// When it was logged: µs since the UNIX epoch (the source's onset plus the record's elapsed time), or the
    /// elapsed µs when the source's onset is not known.
    pub timestamp_us: u64,
    /// The payload.
    pub payload: Vec<u8>,
}

/// What went wrong while following a log.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum TailError {
    /// The directory could not be listed or a file read.
    #[error("{path}: {source}")]
    Io {
        /// The file or directory.
        path: PathBuf,
        /// The OS error.
        #[source]
        source: std::io::Error,
    },
    /// A segment is corrupt (not a batch being written: bytes that fail their checks with more after them).
    #[error(transparent)]
    Segment(#[from] SegmentError),
}

/// The segment being read.
#[derive(Debug)]
struct Current {
    path: PathBuf,
    file: File,
    /// The file offset of the next batch to read (0: the header is not read yet).
    offset: u64,
    version: u32,
}

/// Follows a running logger's log directory. Iterate it (each item waits for the next message and ends when the
/// logger stops), or call [`LogTail::next_timeout`].
///
/// # Examples
/// ```
/// use seqring::logger::{DataLogger, LogTail, TailFrom};
/// use std::time::Duration;
/// let dir = tempfile::tempdir().unwrap();
/// let name = format!("doc-tail-{}", std::process::id());
/// let logger = DataLogger::builder(dir.path(), &name).start().unwrap();
/// let producer = logger.producer(4).unwrap();
/// producer.log_at(10, b"one").unwrap();
/// // In any process:
/// let mut tail = LogTail::open(logger.log_dir(), TailFrom::Start).unwrap();
/// let message = tail.next_timeout(Duration::from_secs(5)).unwrap().unwrap();
/// assert_eq!((message.source_id, &message.payload[..]), (4, &b"one"[..]));
/// assert_eq!(message.timestamp_us, producer.onset_us() + 10);
/// producer.log_at(20, b"two").unwrap();
/// drop(producer);
/// logger.stop().unwrap();
/// let rest: Vec<_> = tail.map(|m| m.unwrap().payload).collect(); // ends with the logger
/// assert_eq!(rest, [b"two".to_vec()]);
/// ```
#[derive(Debug)]
pub struct LogTail {
    dir: PathBuf,
    region_name: Option<String>,
    /// Segments read to their end (by name; everything sorting before `current` is done).
    current: Option<Current>,
    done_up_to: Option<PathBuf>,
    dedup: Dedup,
    onsets: OnsetBook,
    /// Sources whose onset record has been read (the tail yields messages, not onset records).
    seen_onset: Box<[bool; 256]>,
    /// With [`TailFrom::Now`]: the messages already there are read but not handed out.
    skip: bool,
    ready: VecDeque<TailMessage>,
    buf: Vec<u8>,
    /// Whether the last look found no logger region.
    gone_before: bool,
    /// The running logger's region, kept open between looks: reopening it by name at every look is a map and an
    /// unmap (under wine, wineserver round trips that an idle tail would be charged for). Dropped once the region
    /// says the logger stopped or was taken over, so that the next look finds the region by name again.
    logger: Option<LoggerRegion>,
    /// The written count read before the last whole sweep, and how many looks in a row it has let the tail skip.
    swept_at: Option<u64>,
    skipped: u32,
    finished: bool,
}

impl LogTail {
    /// Opens the log directory `log_dir` (`{output_dir}/{name}_data_log`) of a running (or finished) logger.
    ///
    /// # Errors
    /// [`TailError::Io`] if the directory cannot be listed; [`TailError::Segment`] for a corrupt segment.
    ///
    /// # Examples
    /// ```
    /// # use seqring::logger::{DataLogger, LogTail, TailFrom};
    /// # let dir = tempfile::tempdir().unwrap();
    /// # let name = format!("doc-tail-open-{}", std::process::id());
    /// # let logger = DataLogger::builder(dir.path(), &name).start().unwrap();
    /// let mut tail = LogTail::open(logger.log_dir(), TailFrom::Start).unwrap();
    /// let camera = logger.producer(3).unwrap();
    /// camera.log_now(b"frame").unwrap();
    /// let wait = std::time::Duration::from_secs(5);
    /// let frame = tail.next_timeout(wait).unwrap().unwrap(); // messages only: the onset record is not one
    /// assert_eq!((frame.source_id, frame.payload.as_slice()), (3, &b"frame"[..]));
    /// assert!(frame.timestamp_us >= camera.onset_us()); // µs since the epoch
    /// # drop(camera);
    /// # logger.stop().unwrap();
    /// ```
    pub fn open(log_dir: impl AsRef<Path>, from: TailFrom) -> Result<Self, TailError> {
        let dir = log_dir.as_ref().to_path_buf();
        let region_name = dir
            .file_name()
            .and_then(|n| n.to_str())
            .and_then(|n| n.strip_suffix(LOG_DIR_SUFFIX))
            .and_then(region_name);
        let mut tail = LogTail {
            onsets: OnsetBook::load(&dir),
            dir,
            region_name,
            current: None,
            done_up_to: None,
            dedup: Dedup::default(),
            seen_onset: Box::new([false; 256]),
            skip: from == TailFrom::Now,
            ready: VecDeque::new(),
            buf: Vec::new(),
            gone_before: false,
            logger: None,
            swept_at: None,
            skipped: 0,
            finished: false,
        };
        if tail.skip {
            tail.sweep()?;
            tail.ready.clear();
            tail.skip = false;
        }
        Ok(tail)
    }

    /// The next message, waiting up to `timeout` for one. `Ok(None)`: none came in time, or the logger stopped
    /// and every message was read ([`LogTail::is_finished`] tells which).
    ///
    /// # Errors
    /// As [`LogTail::open`].
    ///
    /// # Examples
    /// ```
    /// # use seqring::logger::{DataLogger, LogTail, TailFrom};
    /// # let dir = tempfile::tempdir().unwrap();
    /// # let name = format!("doc-tail-next-{}", std::process::id());
    /// # let logger = DataLogger::builder(dir.path(), &name).start().unwrap();
    /// let mut tail = LogTail::open(logger.log_dir(), TailFrom::Now).unwrap();
    /// let short = std::time::Duration::from_millis(20);
    /// assert!(tail.next_timeout(short).unwrap().is_none(), "nothing logged yet");
    /// logger.producer(1).unwrap().log_now(b"hi").unwrap();
    /// let m = tail.next_timeout(std::time::Duration::from_secs(5)).unwrap().unwrap();
    /// assert_eq!((m.source_id, m.payload.as_slice()), (1, &b"hi"[..]));
    /// # logger.stop().unwrap();
    /// ```
    pub fn next_timeout(&mut self, timeout: Duration) -> Result<Option<TailMessage>, TailError> {
        let deadline = Instant::now() + timeout;
        loop {
            if let Some(m) = self.ready.pop_front() {
                return Ok(Some(m));
            }
            if self.finished {
                return Ok(None);
            }
            // Whether the logger was gone before this sweep: then nothing can come after it. Gone twice in a row,
            // a poll apart, so that the moment between a takeover's removal of the dead region and the creation
            // of its own does not end the tail.
            // The written count is read before the sweep: a batch written after it changes the count, so the
            // wait below returns at once instead of sleeping through it.
            let present = self.look_for_logger();
            let gone = !present;
            let seen = self.logger.as_ref().map(LoggerRegion::written);
            if self.may_skip_sweep(seen) {
                self.skipped += 1;
            } else {
                self.sweep()?;
                (self.swept_at, self.skipped) = (seen, 0);
            }
            if self.ready.is_empty() {
                if gone && self.gone_before {
                    self.finished = true;
                    continue;
                }
                self.gone_before = gone;
                let now = Instant::now();
                if now >= deadline {
                    return Ok(None);
                }
                match (&self.logger, seen) {
                    (Some(log), Some(seen)) if address_wait::BLOCKS => wait_written(log, seen, deadline),
                    _ => std::thread::sleep(POLL.min(deadline - now)),
                }
            }
        }
    }

    /// Whether the logger stopped and every message it wrote was handed out.
    ///
    /// # Examples
    /// ```
    /// # use seqring::logger::{DataLogger, LogTail, TailFrom};
    /// # let dir = tempfile::tempdir().unwrap();
    /// # let name = format!("doc-tail-finished-{}", std::process::id());
    /// # let logger = DataLogger::builder(dir.path(), &name).start().unwrap();
    /// let mut tail = LogTail::open(logger.log_dir(), TailFrom::Start).unwrap();
    /// assert!(!tail.is_finished());
    /// logger.stop().unwrap();
    /// for _ in 0..100 {
    ///     if tail.is_finished() { break; }
    ///     tail.next_timeout(std::time::Duration::from_millis(100)).unwrap();
    /// }
    /// assert!(tail.is_finished());
    /// ```
    pub fn is_finished(&self) -> bool {
        self.finished && self.ready.is_empty()
    }

    /// Whether a logger of the directory's name is there: a running logger, one that is stopping (it removes its
    /// region only after its last write), or a dead one awaiting its successor. Leaves its region in
    /// `self.logger`; a region that exists but does not open as a logger's (being created, or of another layout)
    /// counts as present, without one. A region kept from an earlier look that still says `Running` is used as it
    /// is (a dead logger's says so too, and is waited for as before).
    fn look_for_logger(&mut self) -> bool {
        if self.logger.as_ref().is_some_and(|log| log.state() == LogState::Running) {
            return true;
        }
        // Another region's count says nothing of what the last sweep saw.
        (self.logger, self.swept_at) = (None, None);
        let Some(name) = self.region_name.as_ref() else {
            return false;
        };
        match log_region::open(name) {
            Err(RegionError::NotFound { .. }) => false,
            Err(_) => true,
            Ok(region) => {
                self.logger = LogRegion::open(Window::whole(region)).ok().map(|(log, _)| log);
                true
            }
        }
    }

    /// Whether this look may skip the sweep: the running logger has written no batch since the last sweep began
    /// (it counts a batch only after the batch is whole in its file, so the files hold nothing the last sweep
    /// missed, bar the part of a batch that was being written then, which is counted when it is whole). Every
    /// [`SWEEP_EVERY`]th look sweeps anyway, so that a logger that does not count its batches (built before the
    /// count) is still followed.
    fn may_skip_sweep(&self, seen: Option<u64>) -> bool {
        seen.is_some() && seen == self.swept_at && self.skipped + 1 < SWEEP_EVERY
    }

    /// Reads every whole batch written since the last sweep into `ready`.
    fn sweep(&mut self) -> Result<(), TailError> {
        loop {
            if self.current.is_none() && !self.open_next()? {
                return Ok(());
            }
            let progressed = self.read_current()?;
            if progressed {
                continue;
            }
            // Nothing more in this segment now: move on only if a later one exists (then this one is finished);
            // read it once more first, in case its last batch landed just before the next file was created.
            if self.later_segment_exists()? {
                while self.read_current()? {}
                let done = self.current.take().map(|c| c.path);
                self.done_up_to = done;
                continue;
            }
            return Ok(());
        }
    }

    /// The segments of the directory in name order.
    fn segments(&self) -> Result<Vec<PathBuf>, TailError> {
        let io = |source| TailError::Io {
            path: self.dir.clone(),
            source,
        };
        let mut paths = Vec::new();
        for entry in std::fs::read_dir(&self.dir).map_err(io)? {
            let path = entry.map_err(io)?.path();
            if path.extension() == Some(std::ffi::OsStr::new(EXTENSION)) {
                paths.push(path);
            }
        }
        paths.sort();
        Ok(paths)
    }

    fn later_segment_exists(&self) -> Result<bool, TailError> {
        let current = self.current.as_ref().map(|c| c.path.clone());
        Ok(self.segments()?.into_iter().any(|p| Some(&p) > current.as_ref()))
    }

    /// Opens the first segment after those already read; returns whether there was one.
    fn open_next(&mut self) -> Result<bool, TailError> {
        let next = self
            .segments()?
            .into_iter()
            .find(|p| self.done_up_to.as_ref().is_none_or(|done| p > done));
        let Some(path) = next else {
            return Ok(false);
        };
        let file = File::open(&path).map_err(|source| TailError::Io {
            path: path.clone(),
            source,
        })?;
        self.current = Some(Current {
            path,
            file,
            offset: 0,
            version: 0,
        });
        Ok(true)
    }

    /// Reads what the current segment holds past its offset; returns whether it read anything.
    fn read_current(&mut self) -> Result<bool, TailError> {
        let Some(cur) = self.current.as_mut() else {
            return Ok(false);
        };
        let io = |source| TailError::Io {
            path: cur.path.clone(),
            source,
        };
        let len = cur.file.metadata().map_err(io)?.len();
        if len <= cur.offset {
            return Ok(false);
        }
        self.buf.resize((len - cur.offset) as usize, 0);
        let n = read_full_at(&cur.file, &mut self.buf, cur.offset).map_err(io)?;
        self.buf.truncate(n);
        let mut pos = 0usize;
        let reads_header = cur.offset == 0;
        if reads_header {
            if self.buf.len() < FILE_HEADER_LEN {
                return Ok(false);
            }
            match check_header(&self.buf) {
                Ok(h) => cur.version = h.version,
                // A header still being written (or torn by a crash, which recovery will cut).
                Err(Tail::Torn { .. }) => return Ok(false),
                Err(tail) => return Err(segment_error(&cur.path, tail, 0).into()),
            }
            pos = FILE_HEADER_LEN;
        }
        let start = pos;
        while pos < self.buf.len() {
            let (range, origin) = match check_batch(&self.buf, pos, cur.version) {
                Ok(b) => b,
                // The batch being appended: read it again once it is whole.
                Err(Tail::Torn { .. }) => break,
                Err(tail) => return Err(segment_error(&cur.path, tail, cur.offset).into()),
            };
            let records = &self.buf[range.clone()];
            let seen = self.dedup.seen_prefix(origin, records.len() as u64);
            let mut fresh = Records::new(records);
            skip_delivered(&mut fresh, seen);
            for record in fresh.flatten() {
                let s = usize::from(record.source_id);
                if !self.seen_onset[s] && record.timestamp == 0 && record.payload.len() == 8 {
                    self.seen_onset[s] = true;
                    let mut onset = [0u8; 8];
                    onset.copy_from_slice(record.payload);
                    self.onsets.note(record.source_id, u64::from_le_bytes(onset));
                    continue;
                }
                if self.skip {
                    continue;
                }
                let onset = self.onsets.get(record.source_id).unwrap_or(0);
                self.ready.push_back(TailMessage {
                    source_id: record.source_id,
                    timestamp_us: onset.saturating_add(record.timestamp),
                    payload: record.payload.to_vec(),
                });
            }
            pos = range.end;
        }
        cur.offset += pos as u64;
        Ok(reads_header || pos > start)
    }
}

impl Iterator for LogTail {
    type Item = Result<TailMessage, TailError>;

    /// Waits for the next message; `None` once the logger stopped and everything was read.
    fn next(&mut self) -> Option<Self::Item> {
        loop {
            match self.next_timeout(Duration::from_secs(3600)) {
                Ok(Some(m)) => return Some(Ok(m)),
                Ok(None) if self.finished => return None,
                Ok(None) => {}
                Err(e) => return Some(Err(e)),
            }
        }
    }
}

/// Reads into `buf` from `offset` until it is full or the file ends; returns the bytes read.
fn read_full_at(file: &File, buf: &mut [u8], offset: u64) -> std::io::Result<usize> {
    let mut done = 0;
    while done < buf.len() {
        match seqring_platform::read_at(file, &mut buf[done..], offset + done as u64) {
            Ok(0) => break,
            Ok(n) => done += n,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(done)
}

fn segment_error(path: &Path, tail: Tail, base: u64) -> SegmentError {
    let path = path.to_path_buf();
    match tail {
        Tail::Corrupt { offset, reason } => SegmentError::Corrupt {
            path,
            offset: base + offset,
            reason,
        },
        Tail::UnsupportedVersion(version) => SegmentError::UnsupportedVersion { path, version },
        Tail::BadRecord { offset, error } => SegmentError::BadRecord {
            path,
            offset: base + offset,
            source: error,
        },
        _ => SegmentError::NotSegment { path },
    }
}

/// Blocks until the logger's written count differs from `seen` (the drain wrote a batch), [`IDLE_WAIT`] passes or
/// `deadline` comes, whichever is first; returns either way (the caller looks at the files again).
fn wait_written(log: &LoggerRegion, seen: u64, deadline: Instant) {
    let word = log.memory().shared_word(log.written_word());
    let wait = IDLE_WAIT.min(deadline.saturating_duration_since(Instant::now()));
    let lease = || clock::now_ns_coarse().saturating_add(LEASE.as_nanos() as u64);
    log.wait_written(seen, lease, |at| {
        word.wait(at, Some(wait));
        false
    });
}
