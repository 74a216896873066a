//! The logger region: the ring region (its own region header at offset 0, so `seqring shm` lists it as a log
//! ring with its creator pid), then a logger block of [`BLOCK_LEN`] bytes: a small header and a per-source table.
//!
//! ```text
//! offset from the block (= region length - 8704; the ring region is everything before it)
//!      0     8  magic b"SEQRLOG\0"
//!      8     8  layout version (1)
//!     16     8  state (atomic): 0 initialising, 1 running, 2 stopped
//!     24     8  logger pid (the consumer)
//!     32     8  logger start, µs since the UNIX epoch
//!     40     8  full policy: 0 drop, 1 wait
//!     48     8  wait timeout, ns
//!     56     8  ring region length in bytes (= the block's offset)
//!    512  8192  source table: 256 entries of 32 bytes, indexed by source id
//!               +0 onset, µs since the UNIX epoch (0 none yet, 1 being logged)
//!               +8 pid of the last process that connected a producer for the source
//!              +16 records given up on (dropped) by the source's producers
//!              +24 reserved, zero
//! ```
//!
//! Protocol: the creator lays out the ring, writes every header field and the table, then stores `running` with
//! Release; an opener loads `state` with Acquire (pairing with it) before it reads any other field. The state
//! moves to `stopped` (Release) when the logger stops; producers check it (Relaxed) before each record.
//! A source's onset goes 0 → 1 by CAS (the winner logs the onset record), then 1 → onset (Release), which
//! later producers of the source load with Acquire; a failed onset record resets it to 0.

use std::sync::atomic::Ordering;

use seqring_core::{Memory, RawRegion};

use super::ring_api::Mem;

pub(crate) const MAGIC: u64 = u64::from_le_bytes(*b"SEQRLOG\0");
pub(crate) const VERSION: u64 = 1;
const MAGIC_AT: usize = 0;
const VERSION_AT: usize = 8;
const STATE_AT: usize = 16;
const PID_AT: usize = 24;
const STARTED_AT: usize = 32;
const POLICY_AT: usize = 40;
const TIMEOUT_AT: usize = 48;
const RING_LEN_AT: usize = 56;
const TABLE_AT: usize = 512;
const ENTRY_LEN: usize = 32;
/// The length of the logger block after the ring region.
pub(crate) const BLOCK_LEN: usize = TABLE_AT + 256 * ENTRY_LEN;

pub(crate) const RUNNING: u64 = 1;
pub(crate) const STOPPED: u64 = 2;

/// An onset slot being written by the producer that won it.
pub(crate) const ONSET_PENDING: u64 = 1;

/// The header and table of a logger region.
#[derive(Clone, Copy, Debug)]
pub(crate) struct LoggerRegion {
    /// The whole region.
    mem: Mem,
    /// Where the block starts (the ring region's length).
    block: usize,
}

/// The header fields, as the creator writes them.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct HeaderFields {
    pub(crate) pid: u32,
    pub(crate) started_us: u64,
    /// `None`: drop when full; `Some(ns)`: wait up to that long.
    pub(crate) wait_ns: Option<u64>,
}

/// Why a logger region's header is invalid.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum LayoutProblem {
    TooShort,
    NotLogger,
    Version(u64),
    RingLength,
}

impl std::fmt::Display for LayoutProblem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            LayoutProblem::TooShort => f.write_str("the region is too short for a logger"),
            LayoutProblem::NotLogger => f.write_str("the region is not a seqring logger (bad magic)"),
            LayoutProblem::Version(v) => write!(f, "logger layout version {v}; this build reads {VERSION}"),
            LayoutProblem::RingLength => f.write_str("the ring length disagrees with the region length"),
        }
    }
}

impl LoggerRegion {
    /// The region length for a ring region of `ring_len` bytes.
    pub(crate) const fn region_len(ring_len: usize) -> usize {
        ring_len + BLOCK_LEN
    }

    /// Writes the header of a fresh (zeroed) region; the state stays `initialising` until [`Self::publish`].
    pub(crate) fn init(mem: Mem, fields: HeaderFields) -> Self {
        let block = mem.len() - BLOCK_LEN;
        let r = LoggerRegion { mem, block };
        // Relaxed: nothing is read by openers before `publish`'s Release store of the state.
        let store = |at, v| mem.store(block + at, v, Ordering::Relaxed);
        store(VERSION_AT, VERSION);
        store(PID_AT, u64::from(fields.pid));
        store(STARTED_AT, fields.started_us);
        store(POLICY_AT, u64::from(fields.wait_ns.is_some()));
        store(TIMEOUT_AT, fields.wait_ns.unwrap_or(0));
        store(RING_LEN_AT, block as u64);
        store(MAGIC_AT, MAGIC);
        r
    }

    /// Publishes the region as running.
    pub(crate) fn publish(&self) {
        // Release: pairs with the Acquire load in `open`; publishes the header, the table and the ring.
        self.mem.store(self.block + STATE_AT, RUNNING, Ordering::Release);
    }

    /// Validates an existing region's header; returns it and its state.
    pub(crate) fn open(mem: Mem) -> Result<(Self, u64), LayoutProblem> {
        let min = seqring_core::ring::DATA_OFFSET + seqring_core::ring::MIN_CAPACITY + BLOCK_LEN;
        if mem.len() < min {
            return Err(LayoutProblem::TooShort);
        }
        let block = mem.len() - BLOCK_LEN;
        // Acquire: pairs with the Release store in `publish` (and `set_stopped`).
        let state = mem.load(block + STATE_AT, Ordering::Acquire);
        // Relaxed: ordered after the creator's stores by the Acquire load above.
        if mem.load(block + MAGIC_AT, Ordering::Relaxed) != MAGIC {
            return Err(LayoutProblem::NotLogger);
        }
        let version = mem.load(block + VERSION_AT, Ordering::Relaxed);
        if version != VERSION {
            return Err(LayoutProblem::Version(version));
        }
        if mem.load(block + RING_LEN_AT, Ordering::Relaxed) != block as u64 {
            return Err(LayoutProblem::RingLength);
        }
        Ok((LoggerRegion { mem, block }, state))
    }

    /// The ring's part of the region.
    pub(crate) fn ring_mem(&self) -> Mem {
        RawRegion::new(&self.mem.words()[..self.block / 8])
    }

    /// The header fields.
    pub(crate) fn fields(&self) -> HeaderFields {
        // Relaxed: written once before `publish`, which the opener acquired.
        let load = |at| self.mem.load(self.block + at, Ordering::Relaxed);
        HeaderFields {
            pid: load(PID_AT) as u32,
            started_us: load(STARTED_AT),
            wait_ns: (load(POLICY_AT) == 1).then(|| load(TIMEOUT_AT)),
        }
    }

    /// The current state.
    #[inline(always)]
    pub(crate) fn state(&self) -> u64 {
        // Relaxed: a flag read on the hot path; it orders nothing else.
        self.mem.load(self.block + STATE_AT, Ordering::Relaxed)
    }

    /// Marks the logger stopped.
    pub(crate) fn set_stopped(&self) {
        // Release: pairs with the Acquire load of the state in `open`.
        self.mem.store(self.block + STATE_AT, STOPPED, Ordering::Release);
    }

    fn entry(&self, source_id: u8) -> usize {
        self.block + TABLE_AT + usize::from(source_id) * ENTRY_LEN
    }

    /// The onset slot of a source: 0, [`ONSET_PENDING`] or the onset.
    pub(crate) fn onset(&self, source_id: u8) -> u64 {
        // Acquire: pairs with the Release store in `set_onset`, so the onset record is committed before we log.
        self.mem.load(self.entry(source_id), Ordering::Acquire)
    }

    /// Tries to take a source's empty onset slot; returns whether this caller won it.
    pub(crate) fn claim_onset(&self, source_id: u8) -> bool {
        // Acquire on failure: as `onset`. Relaxed on success: the slot publishes nothing yet.
        self.mem
            .compare_exchange(
                self.entry(source_id),
                0,
                ONSET_PENDING,
                Ordering::Relaxed,
                Ordering::Acquire,
            )
            .is_ok()
    }

    /// Publishes a source's onset (after its onset record is committed), or frees the slot with 0.
    pub(crate) fn set_onset(&self, source_id: u8, onset_us: u64) {
        // Release: pairs with the Acquire load in `onset`; orders the committed onset record before it.
        self.mem.store(self.entry(source_id), onset_us, Ordering::Release);
    }

    /// Records the process that connected a producer for the source.
    pub(crate) fn set_pid(&self, source_id: u8, pid: u32) {
        // Relaxed: read by the consumer as a liveness hint only.
        self.mem
            .store(self.entry(source_id) + 8, u64::from(pid), Ordering::Relaxed);
    }

    /// The process that last connected a producer for the source (0: none).
    pub(crate) fn pid(&self, source_id: u8) -> u32 {
        // Relaxed: as in `set_pid`.
        self.mem.load(self.entry(source_id) + 8, Ordering::Relaxed) as u32
    }

    /// Counts `n` records of the source given up on.
    #[inline]
    pub(crate) fn add_dropped(&self, source_id: u8, n: u64) {
        // Relaxed: a statistic.
        self.mem.fetch_add(self.entry(source_id) + 16, n, Ordering::Relaxed);
    }

    /// The records of the source given up on.
    pub(crate) fn dropped(&self, source_id: u8) -> u64 {
        // Relaxed: a statistic.
        self.mem.load(self.entry(source_id) + 16, Ordering::Relaxed)
    }

    /// Copies the onsets of `other` (a stale region being taken over) into this fresh one.
    pub(crate) fn inherit(&self, other: &LoggerRegion) {
        for source in 0..=u8::MAX {
            let onset = other.onset(source);
            if onset > ONSET_PENDING {
                self.set_onset(source, onset);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::AtomicU64;

    /// Zeroed words for the life of the test process (the layout works over `'static` regions).
    fn words(len: usize) -> &'static [AtomicU64] {
        Vec::leak((0..len / 8).map(|_| AtomicU64::new(0)).collect())
    }

    fn fields() -> HeaderFields {
        HeaderFields {
            pid: 42,
            started_us: 7,
            wait_ns: Some(1_000),
        }
    }

    #[test]
    fn a_published_region_opens_with_its_fields_and_a_fresh_table() {
        let w = words(LoggerRegion::region_len(768 + 256));
        let mem = RawRegion::new(w);
        let created = LoggerRegion::init(mem, fields());
        assert_eq!(LoggerRegion::open(mem).unwrap().1, 0, "not published yet");
        created.publish();
        let (opened, state) = LoggerRegion::open(mem).unwrap();
        assert_eq!((state, opened.fields()), (RUNNING, fields()));
        assert_eq!(opened.ring_mem().len(), 768 + 256);
        assert_eq!((opened.onset(9), opened.pid(9), opened.dropped(9)), (0, 0, 0));
        created.set_stopped();
        assert_eq!(LoggerRegion::open(mem).unwrap().1, STOPPED);
    }

    #[test]
    fn the_onset_slot_is_won_once_and_published() {
        let w = words(LoggerRegion::region_len(1024));
        let r = LoggerRegion::init(RawRegion::new(w), fields());
        assert!(r.claim_onset(3));
        assert!(!r.claim_onset(3));
        assert_eq!(r.onset(3), ONSET_PENDING);
        r.set_onset(3, 1_700_000_000_000_000);
        assert_eq!(r.onset(3), 1_700_000_000_000_000);
        assert_eq!(r.onset(4), 0, "entries are per source");
        r.add_dropped(3, 2);
        r.set_pid(3, 99);
        assert_eq!((r.dropped(3), r.pid(3), r.dropped(2)), (2, 99, 0));
        let w2 = words(LoggerRegion::region_len(1024));
        let fresh = LoggerRegion::init(RawRegion::new(w2), fields());
        fresh.inherit(&r);
        assert_eq!((fresh.onset(3), fresh.dropped(3)), (1_700_000_000_000_000, 0));
    }

    #[test]
    fn bad_regions_are_named_problems() {
        let short = words(1024);
        assert_eq!(
            LoggerRegion::open(RawRegion::new(short)).unwrap_err(),
            LayoutProblem::TooShort
        );
        let w = words(LoggerRegion::region_len(768 + 256));
        let mem = RawRegion::new(w);
        assert_eq!(LoggerRegion::open(mem).unwrap_err(), LayoutProblem::NotLogger);
        LoggerRegion::init(mem, fields()).publish();
        let block = mem.len() - BLOCK_LEN;
        mem.store(block + VERSION_AT, 9, Ordering::Relaxed);
        assert_eq!(LoggerRegion::open(mem).unwrap_err(), LayoutProblem::Version(9));
        mem.store(block + VERSION_AT, VERSION, Ordering::Relaxed);
        mem.store(block + RING_LEN_AT, 8, Ordering::Relaxed);
        assert_eq!(LoggerRegion::open(mem).unwrap_err(), LayoutProblem::RingLength);
    }
}
