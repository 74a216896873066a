//! The log region: the layout a logger shares with its producers. The ring region (its own region header at offset 0, so `seqring shm` lists it as a log
//! ring with its creator pid), then a logger block of [`BLOCK_LEN`] bytes: a small header, a per-source table and
//! a table of producer processes.
//!
//! ```text
//! offset from the block (= region length - 33280; the ring region is everything before it)
//!      0     8  magic b"SEQRLOG\0"
//!      8     8  layout version (2; version 1 had no ring id and no producer table, and a 8704-byte block)
//!     16     8  state (atomic): 0 initialising, 1 running, 2 stopped, 3 taken over by a new logger
//!     24     8  logger pid (the consumer)
//!     32     8  logger start, µs since the UNIX epoch
//!     40     8  full policy: 0 drop, 1 wait
//!     48     8  wait timeout, ns
//!     56     8  ring region length in bytes (= the block's offset)
//!     64     8  ring id: random, never 0; every segment batch drained from this ring carries it
//!     72     8  length of the log directory's path (0: not recorded; at most 408)
//!     80   408  the log directory's absolute path, UTF-8, so producers of other processes can find it (their
//!               source schemas are kept beside the log); written before `running`, never changed
//!    488     8  the blocked tailers' lease (atomic): the latest time (the drain's clock, ns) until which a tailer
//!               counted below promised to come back and renew it
//!    496     8  batches written (atomic): the drain adds 1 after it hands each batch to the operating system;
//!               log tailers block on this word until it changes
//!    504     8  tailers blocked on the word above (atomic)
//!    512 16384  source table: 256 entries of 64 bytes, indexed by source id
//!               +0 onset: 0 none yet; bit 63 set: being logged by the process in the low 32 bits; else the
//!                  onset, µs since the UNIX epoch
//!               +8 pid of the last process that connected a producer for the source
//!              +16 records given up on (dropped) by the source's producers
//!              +24 records drained (written or counted unwritten), published by the drain every 50 ms
//!              +32 their payload bytes
//!              +40 the timestamp of the source's newest drained record (µs since its onset)
//!              +48 reserved, zero (16 bytes)
//!  16896 16384  producer table: 1024 slots of 16 bytes; slot i is claimant tag i + 1 in the ring's claim markers
//!               +0 pid of the process that holds the slot (0: free)
//!               +8 retiring: 0 while held; p + 1 once the logger saw the process dead with the ring's tail at
//!                  p (the slot is freed when the head reaches p: no claim of that process is left)
//! ```
//!
//! Protocol: the creator lays out the ring, writes every header field and the tables, then stores `running` with
//! Release; an opener loads `state` with Acquire (pairing with it) before it reads any other field. When the
//! logger stops (or a new logger takes the region over) it stores `stopped` (`taken over`) and then closes the
//! ring ([`Ring::close`](crate::ring::Ring::close)): the state is a fast hint for producers, the closed
//! ring is the guarantee that no claim slips in behind the last drain.
//! A source's onset goes 0 → pending(pid) by CAS (the winner logs the onset record), then → onset (Release),
//! which later producers of the source load with Acquire; a failed onset record resets it to 0. If the process
//! logging it dies, the drain resolves the slot: it publishes the onset from the onset record when it drains one,
//! and otherwise resets the slot to 0 once the head has passed every claim the dead process could have made.
//! A producer process takes a free producer slot by CAS (0 → its pid), or reuses the slot that already holds its
//! pid; only the drain thread retires and frees slots.
//! Log tailers wait for the drain's writes as `SeqArray::wait_changed`'s waiters wait for a writer (see
//! [`crate::seqlock`]): a tailer adds itself to the tailer count (T1), loads the written count (Acquire), and
//! before it blocks CASes that value to itself (T2, AcqRel); the drain bumps the written count with an AcqRel
//! read-modify-write (D) and then loads the tailer count (Relaxed), waking the word if it is non-zero. T2 and D are
//! read-modify-writes of one word: if T2 comes first, D reads it (or a later tailer's CAS, in its release sequence),
//! so T1 happens before the drain's load, which sees the tailer and wakes it; if D comes first, T2 fails and the
//! tailer looks again. `loom-tests/tests/log_region.rs` models it.
//! A tailer killed while blocked leaves the tailer count raised; a lease bounds what that costs, as the seqlock
//! waiters' lease does (see [`crate::seqlock`]): before each T2 a tailer raises the lease word (T1', Relaxed,
//! program-ordered before T2 as T1 is, so the same argument makes it visible to the drain whose D reads T2) to
//! the time until which it promises to come back. The drain wakes only when the count is non-zero *and* the lease
//! is later than its time (or it passes no time). So a killed tailer costs the drain a wake call per batch only
//! until its lease runs out. A tailer writes the lease only in a region whose recorded path fits the 408 bytes
//! (an older build's path may reach into the lease word); a tailer of an older build writes none, and a drain of
//! this build wakes it only at its own next look.

//!
//! [`LogRegion`] is generic over [`Memory`] (the whole region: ring region and block); the ring's part is
//! `0..`[`LogRegion::ring_len`], which the caller hands to [`Ring`](crate::ring::Ring) as memory of its own. loom
//! runs the onset and producer-slot protocols (`loom-tests/tests/log_region.rs`).
//!
//! # Examples
//! ```
//! use seqring_core::log_region::{HeaderFields, LogRegion, LogState, Onset};
//! use core::sync::atomic::AtomicU64;
//! use seqring_core::RawRegion;
//! let len = LogRegion::<RawRegion>::region_len(4096);
//! let words: Vec<AtomicU64> = (0..len / 8).map(|_| AtomicU64::new(0)).collect();
//! let mem = RawRegion::new(&words);
//! let fields = HeaderFields { pid: 42, started_us: 7, wait_ns: None };
//! let created = LogRegion::init(mem, fields, 77);
//! created.publish();
//! let (opened, state) = LogRegion::open(mem).unwrap();
//! assert_eq!((state, opened.fields(), opened.ring_len()), (LogState::Running, fields, 4096));
//! assert!(opened.claim_onset(3, 42)); // this process logs source 3's onset record…
//! opened.set_onset(3, 1_700_000_000_000_000); // …then publishes the onset
//! assert_eq!(created.onset(3), Onset::Set(1_700_000_000_000_000));
//! ```

use crate::memory::{Memory, Registration};
use crate::sync::Ordering;

/// The block's magic, `b"SEQRLOG\0"`.
pub const MAGIC: u64 = u64::from_le_bytes(*b"SEQRLOG\0");
/// The layout version this build writes and reads.
pub const VERSION: u64 = 2;
const MAGIC_AT: usize = 0;
const VERSION_AT: usize = 8;
const STATE_AT: usize = 16;
const PID_AT: usize = 24;
const STARTED_AT: usize = 32;
const POLICY_AT: usize = 40;
const TIMEOUT_AT: usize = 48;
const RING_LEN_AT: usize = 56;
const RING_ID_AT: usize = 64;
const LOG_DIR_LEN_AT: usize = 72;
const LOG_DIR_AT: usize = 80;
const TAIL_LEASE_AT: usize = 488;
const WRITTEN_AT: usize = 496;
const TAILERS_AT: usize = 504;
const TABLE_AT: usize = 512;
/// The longest log directory path the block records, in bytes.
pub const LOG_DIR_MAX: usize = TAIL_LEASE_AT - LOG_DIR_AT;
const ENTRY_LEN: usize = 64;
const PRODUCERS_AT: usize = TABLE_AT + 256 * ENTRY_LEN;
/// The number of producer slots (claimant tags 1 ..= this). Under loom the table has 4, so that a model's scan
/// of it stays within loom's reach; the protocol does not depend on the number.
#[cfg(not(loom))]
pub const PRODUCER_SLOTS: usize = 1024;
/// The number of producer slots under loom (see the production constant).
#[cfg(loom)]
pub const PRODUCER_SLOTS: usize = 4;
const SLOT_LEN: usize = 16;
/// The length of the logger block after the ring region.
pub const BLOCK_LEN: usize = PRODUCERS_AT + PRODUCER_SLOTS * SLOT_LEN;
/// The block length of layout version 1, to recognise regions left by an older seqring.
const BLOCK_LEN_V1: usize = 8704;

const INITIALISING: u64 = 0;
const RUNNING: u64 = 1;
const STOPPED: u64 = 2;
const TAKEN_OVER: u64 = 3;

/// A logger's state, as the region's state word holds it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LogState {
    /// The creator is writing the header (or died doing so).
    Initialising,
    /// The logger runs: producers may log.
    Running,
    /// The logger stopped.
    Stopped,
    /// A new logger took the region over after this one died.
    TakenOver,
    /// A value no seqring writes (a damaged region).
    Unknown(u64),
}

impl LogState {
    fn decode(word: u64) -> Self {
        match word {
            INITIALISING => LogState::Initialising,
            RUNNING => LogState::Running,
            STOPPED => LogState::Stopped,
            TAKEN_OVER => LogState::TakenOver,
            other => LogState::Unknown(other),
        }
    }
}

/// The states a logger sets after it published its region.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum EndState {
    /// The logger stopped.
    Stopped,
    /// A new logger took the region over.
    TakenOver,
}

/// The bit of an onset slot that marks it pending (its low 32 bits are the pid of the producer logging it).
const ONSET_PENDING_BIT: u64 = 1 << 63;

/// A source's onset slot.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Onset {
    /// No onset yet.
    None,
    /// The process `pid` is logging the onset record.
    Pending(u32),
    /// The onset, µs since the UNIX epoch.
    Set(u64),
}

impl Onset {
    fn decode(word: u64) -> Self {
        match word {
            0 => Onset::None,
            w if w & ONSET_PENDING_BIT != 0 => Onset::Pending(w as u32),
            w => Onset::Set(w),
        }
    }
}

/// The header and tables of a log region over the memory `M` (the whole region).
#[derive(Clone, Copy, Debug)]
pub struct LogRegion<M> {
    /// The whole region.
    mem: M,
    /// Where the block starts (the ring region's length).
    block: usize,
}

/// What the drain has drained of one source, for monitors.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Drained {
    /// Records drained.
    pub records: u64,
    /// Their payload bytes.
    pub bytes: u64,
    /// The newest record's timestamp, µs since the source's onset.
    pub last_timestamp: u64,
}

/// The header fields, as the creator writes them.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct HeaderFields {
    /// The logger's process id.
    pub pid: u32,
    /// The logger's start, µs since the UNIX epoch.
    pub started_us: u64,
    /// `None`: drop when full; `Some(ns)`: wait up to that long.
    pub wait_ns: Option<u64>,
}

/// Why a logger region's header is invalid.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LayoutProblem {
    /// The region is shorter than the smallest log region.
    TooShort,
    /// The block's magic is not seqring's.
    NotLogger,
    /// Another layout version.
    Version(u64),
    /// The ring length the block records disagrees with the region's length.
    RingLength,
}

impl LayoutProblem {
    /// Whether the region is an older seqring's logger region (layout version 1).
    fn older<M: Memory>(mem: &M) -> bool {
        mem.len() >= BLOCK_LEN_V1 && mem.load(mem.len() - BLOCK_LEN_V1 + MAGIC_AT, Ordering::Relaxed) == MAGIC
    }
}

impl core::fmt::Display for LayoutProblem {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match self {
            LayoutProblem::TooShort => f.write_str("the region is too short for a logger"),
            LayoutProblem::NotLogger => f.write_str("the region is not a seqring logger (bad magic)"),
            LayoutProblem::Version(v) => write!(f, "logger layout version {v}; this build reads {VERSION}"),
            LayoutProblem::RingLength => f.write_str("the ring length disagrees with the region length"),
        }
    }
}

impl<M: Memory> LogRegion<M> {
    /// The region length for a ring region of `ring_len` bytes.
    ///
    /// # Examples
    /// ```
    /// use seqring_core::log_region::{LogRegion, BLOCK_LEN};
    /// use seqring_core::RawRegion;
    /// assert_eq!(LogRegion::<RawRegion>::region_len(4096), 4096 + BLOCK_LEN);
    /// ```
    pub const fn region_len(ring_len: usize) -> usize {
        ring_len + BLOCK_LEN
    }

    /// Writes the header of a fresh (zeroed) region; the state stays `initialising` until [`Self::publish`].
    /// `ring_id` must not be 0.
    ///
    /// # Panics
    /// If `mem` is shorter than [`BLOCK_LEN`].
    ///
    /// # Examples
    /// ```
    /// # use core::sync::atomic::AtomicU64;
    /// # use seqring_core::log_region::*;
    /// # use seqring_core::RawRegion;
    /// # let words: Vec<AtomicU64> = (0..LogRegion::<RawRegion>::region_len(4096) / 8).map(|_| AtomicU64::new(0)).collect();
    /// # let fields = HeaderFields { pid: 42, started_us: 7, wait_ns: None };
    /// let log = LogRegion::init(RawRegion::new(&words), fields, 77);
    /// assert_eq!((log.fields(), log.ring_id(), log.state()), (fields, 77, LogState::Initialising));
    /// ```
    pub fn init(mem: M, fields: HeaderFields, ring_id: u64) -> Self {
        let block = mem.len() - BLOCK_LEN;
        // Relaxed: nothing is read by openers before `publish`'s Release store of the state.
        let store = |at, v| mem.store(block + at, v, Ordering::Relaxed);
        store(VERSION_AT, VERSION);
        store(PID_AT, u64::from(fields.pid));
        store(STARTED_AT, fields.started_us);
        store(POLICY_AT, u64::from(fields.wait_ns.is_some()));
        store(TIMEOUT_AT, fields.wait_ns.unwrap_or(0));
        store(RING_LEN_AT, block as u64);
        store(RING_ID_AT, ring_id.max(1));
        store(MAGIC_AT, MAGIC);
        LogRegion { mem, block }
    }

    /// Publishes the region as running.
    ///
    /// # Examples
    /// ```
    /// # use core::sync::atomic::AtomicU64;
    /// # use seqring_core::log_region::*;
    /// # use seqring_core::RawRegion;
    /// # let words: Vec<AtomicU64> = (0..LogRegion::<RawRegion>::region_len(4096) / 8).map(|_| AtomicU64::new(0)).collect();
    /// # let fields = HeaderFields { pid: 42, started_us: 7, wait_ns: None };
    /// let log = LogRegion::init(RawRegion::new(&words), fields, 77);
    /// log.publish();
    /// assert_eq!(LogRegion::open(RawRegion::new(&words)).unwrap().1, LogState::Running);
    /// ```
    pub fn publish(&self) {
        // Release: pairs with the Acquire load in `open`; publishes the header, the table and the ring.
        self.mem.store(self.block + STATE_AT, RUNNING, Ordering::Release);
    }

    /// The number of batches the drain has handed to the operating system so far (Acquire: pairs with the drain's
    /// [`note_written`](Self::note_written), so what it wrote before counting is in the files for a reader that
    /// sees the count).
    ///
    /// # Examples
    /// See [`Self::wait_written`].
    pub fn written(&self) -> u64 {
        self.mem.load(self.block + WRITTEN_AT, Ordering::Acquire)
    }

    /// Counts one more batch handed to the operating system (the drain calls it after each write) and wakes the
    /// tailers blocked in [`wait_written`](Self::wait_written), if any holds a lease later than `now()` (the
    /// drain's clock, the one tailers take their leases on; 0: wake any counted tailer), which is called only when
    /// a tailer is counted. With no tailer it costs one read-modify-write and one load.
    ///
    /// # Examples
    /// See [`Self::wait_written`].
    pub fn note_written(&self, now: impl FnOnce() -> u64) {
        // AcqRel: D in the module documentation. Release publishes the batch's write to tailers that load the count
        // (Acquire); Acquire reads every tailer's T2 CAS that precedes it, so their T1 registrations and T1' leases
        // happen before the loads below.
        let old = self.mem.fetch_add(self.block + WRITTEN_AT, 1, Ordering::AcqRel);
        // Relaxed: ordered by the Acquire half above (see the module documentation).
        if self.mem.load(self.block + TAILERS_AT, Ordering::Relaxed) != 0
            && match now() {
                0 => true,
                now => self.mem.load(self.block + TAIL_LEASE_AT, Ordering::Relaxed) > now,
            }
        {
            self.mem.wake(self.block + WRITTEN_AT, old);
        }
    }

    /// The byte offset (in the region) of the written-batches word that tailers block on and the drain wakes.
    ///
    /// # Examples
    /// ```
    /// # use core::sync::atomic::AtomicU64;
    /// # use seqring_core::log_region::*;
    /// # use seqring_core::RawRegion;
    /// let words: Vec<AtomicU64> = (0..LogRegion::<RawRegion>::region_len(4096) / 8).map(|_| AtomicU64::new(0)).collect();
    /// let log = LogRegion::init(RawRegion::new(&words), HeaderFields { pid: 1, started_us: 1, wait_ns: None }, 7);
    /// assert_eq!(log.written_word(), log.ring_len() + 496);
    /// ```
    pub fn written_word(&self) -> usize {
        self.block + WRITTEN_AT
    }

    /// Waits until the written count differs from `seen` and returns it, or `None` when `park` gives up. `park` is
    /// called with the count the word holds when there is nothing new, and blocks (a futex on
    /// [`written_word`](Self::written_word), with a deadline) or returns whether to keep waiting. Before each
    /// block the lease is raised to `lease()`: the time, on the drain's clock, until which this tailer promises to
    /// call `park` again (see the module documentation). The protocol (no lost wake-up) is in the module
    /// documentation.
    ///
    /// # Examples
    /// ```
    /// # use core::sync::atomic::AtomicU64;
    /// # use seqring_core::log_region::*;
    /// # use seqring_core::RawRegion;
    /// let words: Vec<AtomicU64> = (0..LogRegion::<RawRegion>::region_len(4096) / 8).map(|_| AtomicU64::new(0)).collect();
    /// let log = LogRegion::init(RawRegion::new(&words), HeaderFields { pid: 1, started_us: 1, wait_ns: None }, 7);
    /// let seen = log.written();
    /// let lease = || 5_000; // back by t = 5 µs on the drain's clock
    /// assert_eq!(log.wait_written(seen, lease, |at| { assert_eq!(at, seen); false }), None); // nothing new: gave up
    /// log.note_written(|| 1_000);
    /// assert_eq!(log.wait_written(seen, lease, |_| unreachable!("a batch was written")), Some(seen + 1));
    /// ```
    pub fn wait_written(
        &self,
        seen: u64,
        mut lease: impl FnMut() -> u64,
        mut park: impl FnMut(u64) -> bool,
    ) -> Option<u64> {
        // T1 (Relaxed): published to the drain by the Release half of the CAS below.
        let _registered = Registration::new(&self.mem, self.block + TAILERS_AT);
        // Relaxed: written before `publish`, whose Release store the opener's Acquire load of the state read.
        let path_len = self.mem.load(self.block + LOG_DIR_LEN_AT, Ordering::Relaxed);
        let has_lease = path_len <= LOG_DIR_MAX as u64;
        loop {
            // T1' (Relaxed, as T1): the lease, raised (never lowered: another tailer may hold a later one) before
            // this round's T2, which publishes it.
            if has_lease {
                let until = lease();
                let mut held = self.mem.load(self.block + TAIL_LEASE_AT, Ordering::Relaxed);
                while held < until {
                    match self.mem.compare_exchange(
                        self.block + TAIL_LEASE_AT,
                        held,
                        until,
                        Ordering::Relaxed,
                        Ordering::Relaxed,
                    ) {
                        Ok(_) => break,
                        Err(now) => held = now,
                    }
                }
            }
            // Acquire: pairs with the drain's AcqRel count (D).
            let w = self.mem.load(self.block + WRITTEN_AT, Ordering::Acquire);
            if w != seen {
                return Some(w);
            }
            // T2: AcqRel, see the module documentation. A failure means the drain counted since the load.
            if self
                .mem
                .compare_exchange(self.block + WRITTEN_AT, w, w, Ordering::AcqRel, Ordering::Relaxed)
                .is_ok()
                && !park(w)
            {
                return None;
            }
        }
    }

    /// Validates an existing region's header; returns it and its state.
    ///
    /// # Errors
    /// The [`LayoutProblem`] of a region that is not a log region of this layout version.
    ///
    /// # Examples
    /// ```
    /// # use core::sync::atomic::AtomicU64;
    /// # use seqring_core::log_region::*;
    /// # use seqring_core::RawRegion;
    /// # let words: Vec<AtomicU64> = (0..LogRegion::<RawRegion>::region_len(4096) / 8).map(|_| AtomicU64::new(0)).collect();
    /// # let fields = HeaderFields { pid: 42, started_us: 7, wait_ns: None };
    /// let mem = RawRegion::new(&words);
    /// assert_eq!(LogRegion::open(mem).unwrap_err(), LayoutProblem::NotLogger); // zeroed
    /// LogRegion::init(mem, fields, 77).publish();
    /// let (log, state) = LogRegion::open(mem).unwrap();
    /// assert_eq!((state, log.fields().pid), (LogState::Running, 42));
    /// ```
    pub fn open(mem: M) -> Result<(Self, LogState), LayoutProblem> {
        let min = crate::ring::DATA_OFFSET + crate::ring::MIN_CAPACITY + BLOCK_LEN;
        if mem.len() < min {
            return Err(if LayoutProblem::older(&mem) {
                LayoutProblem::Version(1)
            } else {
                LayoutProblem::TooShort
            });
        }
        let block = mem.len() - BLOCK_LEN;
        // Acquire: pairs with the Release store in `publish` (and `set_state`).
        let state = mem.load(block + STATE_AT, Ordering::Acquire);
        // Relaxed: ordered after the creator's stores by the Acquire load above.
        if mem.load(block + MAGIC_AT, Ordering::Relaxed) != MAGIC {
            return Err(if LayoutProblem::older(&mem) {
                LayoutProblem::Version(1)
            } else {
                LayoutProblem::NotLogger
            });
        }
        let version = mem.load(block + VERSION_AT, Ordering::Relaxed);
        if version != VERSION {
            return Err(LayoutProblem::Version(version));
        }
        if mem.load(block + RING_LEN_AT, Ordering::Relaxed) != block as u64 {
            return Err(LayoutProblem::RingLength);
        }
        Ok((LogRegion { mem, block }, LogState::decode(state)))
    }

    /// The length of the ring's part of the region, which starts at offset 0.
    ///
    /// # Examples
    /// ```
    /// # use core::sync::atomic::AtomicU64;
    /// # use seqring_core::log_region::*;
    /// # use seqring_core::RawRegion;
    /// # let words: Vec<AtomicU64> = (0..LogRegion::<RawRegion>::region_len(4096) / 8).map(|_| AtomicU64::new(0)).collect();
    /// # let fields = HeaderFields { pid: 42, started_us: 7, wait_ns: None };
    /// let log = LogRegion::init(RawRegion::new(&words), fields, 77);
    /// assert_eq!(log.ring_len(), 4096); // the ring is bytes 0..4096, the block follows
    /// ```
    pub fn ring_len(&self) -> usize {
        self.block
    }

    /// The whole region's memory.
    ///
    /// # Examples
    /// ```
    /// # use core::sync::atomic::AtomicU64;
    /// # use seqring_core::log_region::*;
    /// # use seqring_core::RawRegion;
    /// # let words: Vec<AtomicU64> = (0..LogRegion::<RawRegion>::region_len(4096) / 8).map(|_| AtomicU64::new(0)).collect();
    /// # let fields = HeaderFields { pid: 42, started_us: 7, wait_ns: None };
    /// let log = LogRegion::init(RawRegion::new(&words), fields, 77);
    /// use seqring_core::Memory;
    /// assert_eq!(log.memory().len(), LogRegion::<RawRegion>::region_len(4096));
    /// ```
    pub fn memory(&self) -> &M {
        &self.mem
    }

    /// The header fields.
    ///
    /// # Examples
    /// ```
    /// # use core::sync::atomic::AtomicU64;
    /// # use seqring_core::log_region::*;
    /// # use seqring_core::RawRegion;
    /// # let words: Vec<AtomicU64> = (0..LogRegion::<RawRegion>::region_len(4096) / 8).map(|_| AtomicU64::new(0)).collect();
    /// # let fields = HeaderFields { pid: 42, started_us: 7, wait_ns: None };
    /// let log = LogRegion::init(RawRegion::new(&words), fields, 77);
    /// assert_eq!(log.fields(), HeaderFields { pid: 42, started_us: 7, wait_ns: None });
    /// ```
    pub fn fields(&self) -> HeaderFields {
        // Relaxed: written once before `publish`, which the opener acquired.
        let load = |at| self.mem.load(self.block + at, Ordering::Relaxed);
        HeaderFields {
            pid: load(PID_AT) as u32,
            started_us: load(STARTED_AT),
            wait_ns: (load(POLICY_AT) == 1).then(|| load(TIMEOUT_AT)),
        }
    }

    /// The ring's id, which every segment batch drained from it carries.
    ///
    /// # Examples
    /// ```
    /// # use core::sync::atomic::AtomicU64;
    /// # use seqring_core::log_region::*;
    /// # use seqring_core::RawRegion;
    /// # let words: Vec<AtomicU64> = (0..LogRegion::<RawRegion>::region_len(4096) / 8).map(|_| AtomicU64::new(0)).collect();
    /// # let fields = HeaderFields { pid: 42, started_us: 7, wait_ns: None };
    /// let log = LogRegion::init(RawRegion::new(&words), fields, 77);
    /// assert_eq!(log.ring_id(), 77);
    /// # let words2: Vec<AtomicU64> = (0..LogRegion::<RawRegion>::region_len(4096) / 8).map(|_| AtomicU64::new(0)).collect();
    /// assert_eq!(LogRegion::init(RawRegion::new(&words2), fields, 0).ring_id(), 1, "never 0");
    /// ```
    pub fn ring_id(&self) -> u64 {
        // Relaxed: written once before `publish`, which the opener acquired.
        self.mem.load(self.block + RING_ID_AT, Ordering::Relaxed)
    }

    /// The current state.
    ///
    /// # Examples
    /// ```
    /// # use core::sync::atomic::AtomicU64;
    /// # use seqring_core::log_region::*;
    /// # use seqring_core::RawRegion;
    /// # let words: Vec<AtomicU64> = (0..LogRegion::<RawRegion>::region_len(4096) / 8).map(|_| AtomicU64::new(0)).collect();
    /// # let fields = HeaderFields { pid: 42, started_us: 7, wait_ns: None };
    /// let log = LogRegion::init(RawRegion::new(&words), fields, 77);
    /// assert_eq!(log.state(), LogState::Initialising);
    /// log.publish();
    /// assert_eq!(log.state(), LogState::Running);
    /// ```
    #[inline(always)]
    pub fn state(&self) -> LogState {
        // Relaxed: a flag read on the hot path; it orders nothing else (the ring's closed bit is the guarantee).
        LogState::decode(self.mem.load(self.block + STATE_AT, Ordering::Relaxed))
    }

    /// Marks the logger stopped or taken over; the caller closes the ring next.
    ///
    /// # Examples
    /// ```
    /// # use core::sync::atomic::AtomicU64;
    /// # use seqring_core::log_region::*;
    /// # use seqring_core::RawRegion;
    /// # let words: Vec<AtomicU64> = (0..LogRegion::<RawRegion>::region_len(4096) / 8).map(|_| AtomicU64::new(0)).collect();
    /// # let fields = HeaderFields { pid: 42, started_us: 7, wait_ns: None };
    /// let log = LogRegion::init(RawRegion::new(&words), fields, 77);
    /// log.publish();
    /// log.set_state(EndState::TakenOver);
    /// assert_eq!(log.state(), LogState::TakenOver);
    /// ```
    pub fn set_state(&self, state: EndState) {
        let word = match state {
            EndState::Stopped => STOPPED,
            EndState::TakenOver => TAKEN_OVER,
        };
        // Release: pairs with the Acquire load of the state in `open`.
        self.mem.store(self.block + STATE_AT, word, Ordering::Release);
    }

    /// Records the log directory's path before [`Self::publish`]; returns `false` (and records nothing) if it is
    /// longer than [`LOG_DIR_MAX`] bytes.
    ///
    /// # Examples
    /// ```
    /// # use core::sync::atomic::AtomicU64;
    /// # use seqring_core::log_region::*;
    /// # use seqring_core::RawRegion;
    /// # let words: Vec<AtomicU64> = (0..LogRegion::<RawRegion>::region_len(4096) / 8).map(|_| AtomicU64::new(0)).collect();
    /// # let fields = HeaderFields { pid: 42, started_us: 7, wait_ns: None };
    /// let log = LogRegion::init(RawRegion::new(&words), fields, 77);
    /// let mut buf = [0u8; LOG_DIR_MAX];
    /// assert_eq!(log.log_dir(&mut buf), None);
    /// assert!(log.set_log_dir(b"/data/rig_data_log"));
    /// assert!(!log.set_log_dir(&[b'a'; LOG_DIR_MAX + 1]));
    /// log.publish();
    /// assert_eq!(log.log_dir(&mut buf), Some(&b"/data/rig_data_log"[..]));
    /// ```
    pub fn set_log_dir(&self, path: &[u8]) -> bool {
        if path.len() > LOG_DIR_MAX {
            return false;
        }
        self.mem.copy_in(self.block + LOG_DIR_AT, path);
        // Relaxed: written before `publish`, whose Release store publishes it.
        self.mem
            .store(self.block + LOG_DIR_LEN_AT, path.len() as u64, Ordering::Relaxed);
        true
    }

    /// The log directory's path, copied into `buf`, if the logger recorded one (a length beyond [`LOG_DIR_MAX`],
    /// which no seqring writes, reads as none).
    ///
    /// # Examples
    /// See [`Self::set_log_dir`].
    pub fn log_dir<'b>(&self, buf: &'b mut [u8; LOG_DIR_MAX]) -> Option<&'b [u8]> {
        // Relaxed: written once before `publish`, which the opener acquired.
        let len = self.mem.load(self.block + LOG_DIR_LEN_AT, Ordering::Relaxed);
        let len = usize::try_from(len).ok().filter(|&l| l > 0 && l <= LOG_DIR_MAX)?;
        let out = &mut buf[..len];
        self.mem.copy_out(self.block + LOG_DIR_AT, out);
        Some(out)
    }

    fn entry(&self, source_id: u8) -> usize {
        self.block + TABLE_AT + usize::from(source_id) * ENTRY_LEN
    }

    /// The onset slot of a source.
    ///
    /// # Examples
    /// ```
    /// # use core::sync::atomic::AtomicU64;
    /// # use seqring_core::log_region::*;
    /// # use seqring_core::RawRegion;
    /// # let words: Vec<AtomicU64> = (0..LogRegion::<RawRegion>::region_len(4096) / 8).map(|_| AtomicU64::new(0)).collect();
    /// # let fields = HeaderFields { pid: 42, started_us: 7, wait_ns: None };
    /// let log = LogRegion::init(RawRegion::new(&words), fields, 77);
    /// assert_eq!(log.onset(3), Onset::None);
    /// assert!(log.claim_onset(3, 100));
    /// assert_eq!(log.onset(3), Onset::Pending(100));
    /// log.set_onset(3, 1_700_000_000_000_000);
    /// assert_eq!(log.onset(3), Onset::Set(1_700_000_000_000_000));
    /// ```
    pub fn onset(&self, source_id: u8) -> Onset {
        // Acquire: pairs with the Release store in `set_onset`, so the onset record is committed before we log.
        Onset::decode(self.mem.load(self.entry(source_id), Ordering::Acquire))
    }

    /// Tries to take a source's empty onset slot for the process `pid`; returns whether this caller won it.
    ///
    /// # Examples
    /// ```
    /// # use core::sync::atomic::AtomicU64;
    /// # use seqring_core::log_region::*;
    /// # use seqring_core::RawRegion;
    /// # let words: Vec<AtomicU64> = (0..LogRegion::<RawRegion>::region_len(4096) / 8).map(|_| AtomicU64::new(0)).collect();
    /// # let fields = HeaderFields { pid: 42, started_us: 7, wait_ns: None };
    /// let log = LogRegion::init(RawRegion::new(&words), fields, 77);
    /// assert!(log.claim_onset(3, 100)); // process 100 logs the onset record
    /// assert!(!log.claim_onset(3, 200)); // process 200 waits for the onset
    /// ```
    pub fn claim_onset(&self, source_id: u8, pid: u32) -> bool {
        // Acquire on failure: as `onset`. Relaxed on success: the slot publishes nothing yet.
        self.mem
            .compare_exchange(
                self.entry(source_id),
                0,
                ONSET_PENDING_BIT | u64::from(pid),
                Ordering::Relaxed,
                Ordering::Acquire,
            )
            .is_ok()
    }

    /// Publishes `onset_us` for a source whose slot is pending, from its onset record (the drain does this, so a
    /// record committed by a producer that died before publishing it still gives the source its onset). Returns
    /// whether it did.
    ///
    /// # Examples
    /// ```
    /// # use core::sync::atomic::AtomicU64;
    /// # use seqring_core::log_region::*;
    /// # use seqring_core::RawRegion;
    /// # let words: Vec<AtomicU64> = (0..LogRegion::<RawRegion>::region_len(4096) / 8).map(|_| AtomicU64::new(0)).collect();
    /// # let fields = HeaderFields { pid: 42, started_us: 7, wait_ns: None };
    /// let log = LogRegion::init(RawRegion::new(&words), fields, 77);
    /// assert!(!log.publish_pending_onset(3, 5), "nothing pending");
    /// assert!(log.claim_onset(3, 100));
    /// // process 100 committed its onset record and died: the drain publishes the onset from the record
    /// assert!(log.publish_pending_onset(3, 1_700_000_000_000_000));
    /// assert_eq!(log.onset(3), Onset::Set(1_700_000_000_000_000));
    /// ```
    pub fn publish_pending_onset(&self, source_id: u8, onset_us: u64) -> bool {
        match self.onset(source_id) {
            Onset::Pending(pid) => self
                .mem
                // Release: pairs with the Acquire load in `onset`, as `set_onset`; the record is committed.
                .compare_exchange(
                    self.entry(source_id),
                    ONSET_PENDING_BIT | u64::from(pid),
                    onset_us,
                    Ordering::Release,
                    Ordering::Relaxed,
                )
                .is_ok(),
            _ => false,
        }
    }

    /// Frees a source's onset slot left pending by the dead process `pid` (the drain does this once no claim of
    /// that process is left in the ring, so its onset record, if it committed one, was published first); returns
    /// whether it did.
    ///
    /// # Examples
    /// ```
    /// # use core::sync::atomic::AtomicU64;
    /// # use seqring_core::log_region::*;
    /// # use seqring_core::RawRegion;
    /// # let words: Vec<AtomicU64> = (0..LogRegion::<RawRegion>::region_len(4096) / 8).map(|_| AtomicU64::new(0)).collect();
    /// # let fields = HeaderFields { pid: 42, started_us: 7, wait_ns: None };
    /// let log = LogRegion::init(RawRegion::new(&words), fields, 77);
    /// assert!(log.claim_onset(3, 100));
    /// assert!(!log.clear_dead_onset(3, 200), "only the pending process");
    /// assert!(log.clear_dead_onset(3, 100)); // 100 died without an onset record
    /// assert_eq!(log.onset(3), Onset::None);
    /// ```
    pub fn clear_dead_onset(&self, source_id: u8, pid: u32) -> bool {
        // Relaxed: the slot publishes nothing when empty; the winner of the next `claim_onset` starts afresh.
        self.mem
            .compare_exchange(
                self.entry(source_id),
                ONSET_PENDING_BIT | u64::from(pid),
                0,
                Ordering::Relaxed,
                Ordering::Relaxed,
            )
            .is_ok()
    }

    /// Publishes a source's onset (after its onset record is committed), or frees the slot with 0.
    ///
    /// # Examples
    /// ```
    /// # use core::sync::atomic::AtomicU64;
    /// # use seqring_core::log_region::*;
    /// # use seqring_core::RawRegion;
    /// # let words: Vec<AtomicU64> = (0..LogRegion::<RawRegion>::region_len(4096) / 8).map(|_| AtomicU64::new(0)).collect();
    /// # let fields = HeaderFields { pid: 42, started_us: 7, wait_ns: None };
    /// let log = LogRegion::init(RawRegion::new(&words), fields, 77);
    /// assert!(log.claim_onset(9, 100));
    /// log.set_onset(9, 0); // the onset record could not be logged: free the slot
    /// assert_eq!(log.onset(9), Onset::None);
    /// ```
    pub fn set_onset(&self, source_id: u8, onset_us: u64) {
        // Release: pairs with the Acquire load in `onset`; orders the committed onset record before it.
        self.mem.store(self.entry(source_id), onset_us, Ordering::Release);
    }

    /// Records the process that connected a producer for the source.
    ///
    /// # Examples
    /// ```
    /// # use core::sync::atomic::AtomicU64;
    /// # use seqring_core::log_region::*;
    /// # use seqring_core::RawRegion;
    /// # let words: Vec<AtomicU64> = (0..LogRegion::<RawRegion>::region_len(4096) / 8).map(|_| AtomicU64::new(0)).collect();
    /// # let fields = HeaderFields { pid: 42, started_us: 7, wait_ns: None };
    /// let log = LogRegion::init(RawRegion::new(&words), fields, 77);
    /// log.set_pid(3, 4242);
    /// assert_eq!(log.pid(3), 4242);
    /// ```
    pub fn set_pid(&self, source_id: u8, pid: u32) {
        // Relaxed: read by the consumer as a liveness hint only.
        self.mem
            .store(self.entry(source_id) + 8, u64::from(pid), Ordering::Relaxed);
    }

    /// The process that last connected a producer for the source (0: none).
    ///
    /// # Examples
    /// ```
    /// # use core::sync::atomic::AtomicU64;
    /// # use seqring_core::log_region::*;
    /// # use seqring_core::RawRegion;
    /// # let words: Vec<AtomicU64> = (0..LogRegion::<RawRegion>::region_len(4096) / 8).map(|_| AtomicU64::new(0)).collect();
    /// # let fields = HeaderFields { pid: 42, started_us: 7, wait_ns: None };
    /// let log = LogRegion::init(RawRegion::new(&words), fields, 77);
    /// assert_eq!(log.pid(3), 0, "no producer yet");
    /// log.set_pid(3, 4242);
    /// assert_eq!(log.pid(3), 4242);
    /// ```
    pub fn pid(&self, source_id: u8) -> u32 {
        // Relaxed: as in `set_pid`.
        self.mem.load(self.entry(source_id) + 8, Ordering::Relaxed) as u32
    }

    /// Counts `n` records of the source given up on.
    ///
    /// # Examples
    /// ```
    /// # use core::sync::atomic::AtomicU64;
    /// # use seqring_core::log_region::*;
    /// # use seqring_core::RawRegion;
    /// # let words: Vec<AtomicU64> = (0..LogRegion::<RawRegion>::region_len(4096) / 8).map(|_| AtomicU64::new(0)).collect();
    /// # let fields = HeaderFields { pid: 42, started_us: 7, wait_ns: None };
    /// let log = LogRegion::init(RawRegion::new(&words), fields, 77);
    /// log.add_dropped(3, 2);
    /// log.add_dropped(3, 1);
    /// assert_eq!((log.dropped(3), log.dropped(4)), (3, 0));
    /// ```
    #[inline]
    pub fn add_dropped(&self, source_id: u8, n: u64) {
        // Relaxed: a statistic.
        self.mem.fetch_add(self.entry(source_id) + 16, n, Ordering::Relaxed);
    }

    /// The records of the source given up on.
    ///
    /// # Examples
    /// ```
    /// # use core::sync::atomic::AtomicU64;
    /// # use seqring_core::log_region::*;
    /// # use seqring_core::RawRegion;
    /// # let words: Vec<AtomicU64> = (0..LogRegion::<RawRegion>::region_len(4096) / 8).map(|_| AtomicU64::new(0)).collect();
    /// # let fields = HeaderFields { pid: 42, started_us: 7, wait_ns: None };
    /// let log = LogRegion::init(RawRegion::new(&words), fields, 77);
    /// assert_eq!(log.dropped(3), 0);
    /// log.add_dropped(3, 5);
    /// assert_eq!(log.dropped(3), 5);
    /// ```
    pub fn dropped(&self, source_id: u8) -> u64 {
        // Relaxed: a statistic.
        self.mem.load(self.entry(source_id) + 16, Ordering::Relaxed)
    }

    /// Publishes what the drain has drained of a source: records, payload bytes, newest timestamp.
    ///
    /// # Examples
    /// ```
    /// # use core::sync::atomic::AtomicU64;
    /// # use seqring_core::log_region::*;
    /// # use seqring_core::RawRegion;
    /// # let words: Vec<AtomicU64> = (0..LogRegion::<RawRegion>::region_len(4096) / 8).map(|_| AtomicU64::new(0)).collect();
    /// # let fields = HeaderFields { pid: 42, started_us: 7, wait_ns: None };
    /// let log = LogRegion::init(RawRegion::new(&words), fields, 77);
    /// let d = Drained { records: 10, bytes: 640, last_timestamp: 9_000 };
    /// log.set_drained(3, d);
    /// assert_eq!(log.drained(3), d);
    /// ```
    pub fn set_drained(&self, source_id: u8, drained: Drained) {
        let at = self.entry(source_id);
        // Relaxed: statistics for monitors, written by the drain alone.
        self.mem.store(at + 24, drained.records, Ordering::Relaxed);
        self.mem.store(at + 32, drained.bytes, Ordering::Relaxed);
        self.mem.store(at + 40, drained.last_timestamp, Ordering::Relaxed);
    }

    /// What the drain last published of a source.
    ///
    /// # Examples
    /// ```
    /// # use core::sync::atomic::AtomicU64;
    /// # use seqring_core::log_region::*;
    /// # use seqring_core::RawRegion;
    /// # let words: Vec<AtomicU64> = (0..LogRegion::<RawRegion>::region_len(4096) / 8).map(|_| AtomicU64::new(0)).collect();
    /// # let fields = HeaderFields { pid: 42, started_us: 7, wait_ns: None };
    /// let log = LogRegion::init(RawRegion::new(&words), fields, 77);
    /// assert_eq!(log.drained(3), Drained::default());
    /// ```
    pub fn drained(&self, source_id: u8) -> Drained {
        let at = self.entry(source_id);
        // Relaxed: statistics (not a consistent cut across the three).
        Drained {
            records: self.mem.load(at + 24, Ordering::Relaxed),
            bytes: self.mem.load(at + 32, Ordering::Relaxed),
            last_timestamp: self.mem.load(at + 40, Ordering::Relaxed),
        }
    }

    fn slot(&self, index: usize) -> usize {
        self.block + PRODUCERS_AT + index * SLOT_LEN
    }

    /// The claimant tag of the process `pid`: the slot that already holds `pid`, or a free slot taken for it.
    /// `0` (untagged) when every slot is held.
    ///
    /// # Examples
    /// ```
    /// # use core::sync::atomic::AtomicU64;
    /// # use seqring_core::log_region::*;
    /// # use seqring_core::RawRegion;
    /// # let words: Vec<AtomicU64> = (0..LogRegion::<RawRegion>::region_len(4096) / 8).map(|_| AtomicU64::new(0)).collect();
    /// # let fields = HeaderFields { pid: 42, started_us: 7, wait_ns: None };
    /// let log = LogRegion::init(RawRegion::new(&words), fields, 77);
    /// assert_eq!(log.producer_slot(100), 1);
    /// assert_eq!(log.producer_slot(200), 2);
    /// assert_eq!(log.producer_slot(100), 1, "one slot per process");
    /// ```
    pub fn producer_slot(&self, pid: u32) -> u16 {
        let pid = u64::from(pid);
        // Relaxed: a slot's pid is only compared; the claimant tag orders nothing.
        if let Some(i) = (0..PRODUCER_SLOTS).find(|&i| self.mem.load(self.slot(i), Ordering::Relaxed) == pid) {
            return (i + 1) as u16;
        }
        for i in 0..PRODUCER_SLOTS {
            // Acquire: pairs with the drain's Release store that freed the slot (after it cleared `retiring`).
            if self
                .mem
                .compare_exchange(self.slot(i), 0, pid, Ordering::Acquire, Ordering::Relaxed)
                .is_ok()
            {
                return (i + 1) as u16;
            }
        }
        0
    }

    /// The process holding the slot of claimant tag `tag` (`None` for tag 0 or a free slot).
    ///
    /// # Examples
    /// ```
    /// # use core::sync::atomic::AtomicU64;
    /// # use seqring_core::log_region::*;
    /// # use seqring_core::RawRegion;
    /// # let words: Vec<AtomicU64> = (0..LogRegion::<RawRegion>::region_len(4096) / 8).map(|_| AtomicU64::new(0)).collect();
    /// # let fields = HeaderFields { pid: 42, started_us: 7, wait_ns: None };
    /// let log = LogRegion::init(RawRegion::new(&words), fields, 77);
    /// let tag = log.producer_slot(100);
    /// assert_eq!((log.claimant_pid(tag), log.claimant_pid(0)), (Some(100), None));
    /// ```
    pub fn claimant_pid(&self, tag: u16) -> Option<u32> {
        let index = usize::from(tag).checked_sub(1).filter(|&i| i < PRODUCER_SLOTS)?;
        // Relaxed: a liveness hint, as `pid`.
        let pid = self.mem.load(self.slot(index), Ordering::Relaxed) as u32;
        (pid != 0).then_some(pid)
    }

    /// Retires the slots of dead processes and frees retired slots that no claim can name any more: called by the
    /// drain thread (the only one that frees slots) with the ring's head and tail. `alive` judges a pid.
    ///
    /// # Examples
    /// ```
    /// # use core::sync::atomic::AtomicU64;
    /// # use seqring_core::log_region::*;
    /// # use seqring_core::RawRegion;
    /// # let words: Vec<AtomicU64> = (0..LogRegion::<RawRegion>::region_len(4096) / 8).map(|_| AtomicU64::new(0)).collect();
    /// # let fields = HeaderFields { pid: 42, started_us: 7, wait_ns: None };
    /// let log = LogRegion::init(RawRegion::new(&words), fields, 77);
    /// let tag = log.producer_slot(100);
    /// // 100 died with the ring's tail at 512: its slot retires, and is freed once the head reaches 512
    /// log.reap_producers(0, 512, |pid| pid != 100);
    /// assert_eq!(log.claimant_pid(tag), Some(100));
    /// log.reap_producers(512, 600, |pid| pid != 100);
    /// assert_eq!(log.claimant_pid(tag), None);
    /// ```
    pub fn reap_producers(&self, head: u64, tail: u64, alive: impl Fn(u32) -> bool) {
        for i in 0..PRODUCER_SLOTS {
            let at = self.slot(i);
            // Relaxed: only the drain thread writes `retiring`; the pid is compared.
            let pid = self.mem.load(at, Ordering::Relaxed) as u32;
            if pid == 0 {
                continue;
            }
            let retiring = self.mem.load(at + 8, Ordering::Relaxed);
            if retiring == 0 {
                if !alive(pid) {
                    // Every claim of a dead process lies below the tail read now.
                    self.mem.store(at + 8, tail + 1, Ordering::Relaxed);
                }
            } else if head >= retiring - 1 {
                self.mem.store(at + 8, 0, Ordering::Relaxed);
                // Release: pairs with the Acquire CAS in `producer_slot`; the slot is empty again.
                self.mem.store(at, 0, Ordering::Release);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::memory::{test_words, RawRegion};
    use std::vec::Vec;

    type LoggerRegion<'a> = LogRegion<RawRegion<'a>>;

    fn words(len: usize) -> &'static [crate::sync::AtomicU64] {
        Vec::leak(test_words(len))
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
        let w = words(LogRegion::<RawRegion>::region_len(768 + 256));
        let mem = RawRegion::new(w);
        let created = LoggerRegion::init(mem, fields(), 77);
        assert_eq!(
            LoggerRegion::open(mem).unwrap().1,
            LogState::Initialising,
            "not published yet"
        );
        created.publish();
        let (opened, state) = LoggerRegion::open(mem).unwrap();
        assert_eq!((state, opened.fields()), (LogState::Running, fields()));
        assert_eq!(opened.ring_len(), 768 + 256);
        assert_eq!((opened.onset(9), opened.pid(9), opened.dropped(9)), (Onset::None, 0, 0));
        assert_eq!(opened.ring_id(), 77);
        created.set_state(EndState::Stopped);
        assert_eq!(LoggerRegion::open(mem).unwrap().1, LogState::Stopped);
    }

    #[test]
    fn the_onset_slot_is_won_once_and_published() {
        let w = words(LogRegion::<RawRegion>::region_len(1024));
        let r = LoggerRegion::init(RawRegion::new(w), fields(), 77);
        assert!(r.claim_onset(3, 41));
        assert!(!r.claim_onset(3, 42));
        assert_eq!(r.onset(3), Onset::Pending(41));
        assert!(!r.clear_dead_onset(3, 42), "only the pending process's slot is cleared");
        assert!(r.clear_dead_onset(3, 41));
        assert!(r.claim_onset(3, 42));
        r.set_onset(3, 1_700_000_000_000_000);
        assert_eq!(r.onset(3), Onset::Set(1_700_000_000_000_000));
        assert_eq!(r.onset(4), Onset::None, "entries are per source");
        r.add_dropped(3, 2);
        r.set_pid(3, 99);
        assert_eq!((r.dropped(3), r.pid(3), r.dropped(2)), (2, 99, 0));
    }

    #[test]
    fn producer_slots_are_per_process_and_freed_only_after_the_head_passes_their_claims() {
        let w = words(LogRegion::<RawRegion>::region_len(1024));
        let r = LoggerRegion::init(RawRegion::new(w), fields(), 1);
        let (a, b) = (r.producer_slot(100), r.producer_slot(200));
        assert_eq!((a, b, r.producer_slot(100)), (1, 2, 1), "one slot per process");
        assert_eq!(
            (r.claimant_pid(a), r.claimant_pid(b), r.claimant_pid(0)),
            (Some(100), Some(200), None)
        );
        // 100 dies while the tail is at 4096: its slot retires, and is freed once the head reaches 4096.
        r.reap_producers(1000, 4096, |pid| pid != 100);
        assert_eq!(r.claimant_pid(a), Some(100), "a retiring slot still names its process");
        r.reap_producers(4088, 5000, |pid| pid != 100);
        assert_eq!(r.claimant_pid(a), Some(100));
        r.reap_producers(4096, 5000, |pid| pid != 100);
        assert_eq!((r.claimant_pid(a), r.claimant_pid(b)), (None, Some(200)));
        assert_eq!(r.producer_slot(300), 1, "the freed slot is taken again");
    }

    #[test]
    fn an_older_logger_region_is_named_as_such() {
        let w = words(768 + 1024 + BLOCK_LEN_V1);
        let mem = RawRegion::new(w);
        mem.store(mem.len() - BLOCK_LEN_V1, MAGIC, Ordering::Relaxed);
        assert_eq!(LoggerRegion::open(mem).unwrap_err(), LayoutProblem::Version(1));
    }

    #[test]
    fn bad_regions_are_named_problems() {
        let short = words(1024);
        assert_eq!(
            LoggerRegion::open(RawRegion::new(short)).unwrap_err(),
            LayoutProblem::TooShort
        );
        let w = words(LogRegion::<RawRegion>::region_len(768 + 256));
        let mem = RawRegion::new(w);
        assert_eq!(LoggerRegion::open(mem).unwrap_err(), LayoutProblem::NotLogger);
        LoggerRegion::init(mem, fields(), 77).publish();
        let block = mem.len() - BLOCK_LEN;
        mem.store(block + VERSION_AT, 9, Ordering::Relaxed);
        assert_eq!(LoggerRegion::open(mem).unwrap_err(), LayoutProblem::Version(9));
        mem.store(block + VERSION_AT, VERSION, Ordering::Relaxed);
        mem.store(block + RING_LEN_AT, 8, Ordering::Relaxed);
        assert_eq!(LoggerRegion::open(mem).unwrap_err(), LayoutProblem::RingLength);
    }

    /// A tailer killed while blocked stays counted; the drain pays a wake call per batch for it only until its
    /// lease runs out. A live tailer renews the lease (never lowering another's), and a drain that passes no time
    /// wakes any counted tailer. A region whose recorded path reaches into the lease word (an older build's, up to
    /// 416 bytes) gets no lease, and the path stays whole.
    #[test]
    fn a_killed_tailers_wakes_stop_when_its_lease_runs_out() {
        use crate::testing::{Stop, StopAfter};
        let w = words(LogRegion::<RawRegion>::region_len(1024));
        let mem = StopAfter::new(RawRegion::new(w), 0, Stop::Vanish);
        let log = LogRegion::init(&mem, fields(), 77);
        log.publish();
        // No tailer: no wake, whatever the time.
        log.note_written(|| 10);
        assert_eq!(mem.wakes(), 0);
        // A tailer that registers with a lease until t = 1000 and is killed in its park.
        let killed = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            log.wait_written(
                1,
                || 1000,
                |_| {
                    let at = log.block;
                    let registered = (
                        mem.inner().load(at + TAILERS_AT, Ordering::Relaxed),
                        mem.inner().load(at + TAIL_LEASE_AT, Ordering::Relaxed),
                    );
                    assert_eq!(registered, (1, 1000));
                    // Leave the count raised as a killed process does (the unwind's drop of the registration undoes
                    // one increment), then stop this "process".
                    mem.inner().fetch_add(at + TAILERS_AT, 1, Ordering::Relaxed);
                    std::panic::resume_unwind(std::boxed::Box::new("killed"))
                },
            )
        }));
        assert!(killed.is_err());
        assert_eq!(
            mem.inner().load(log.block + TAILERS_AT, Ordering::Relaxed),
            1,
            "the killed tailer stays counted"
        );
        log.note_written(|| 999);
        assert_eq!(mem.wakes(), 1, "within the lease: a wake");
        log.note_written(|| 1000);
        log.note_written(|| 5000);
        assert_eq!(mem.wakes(), 1, "no wake after the lease");
        log.note_written(|| 0);
        assert_eq!(mem.wakes(), 2, "a drain with no time wakes any counted tailer");
        // A live tailer renews the lease, never lowering it.
        assert_eq!(
            log.wait_written(0, || 9000, |_| unreachable!("batches were written")),
            Some(5)
        );
        assert_eq!(
            log.wait_written(0, || 7000, |_| unreachable!("batches were written")),
            Some(5)
        );
        assert_eq!(mem.inner().load(log.block + TAIL_LEASE_AT, Ordering::Relaxed), 9000);
        log.note_written(|| 8999);
        assert_eq!(mem.wakes(), 3);

        // An older build's region with a 416-byte path: a tailer leaves the path's last bytes alone.
        let w = words(LogRegion::<RawRegion>::region_len(1024));
        let mem = RawRegion::new(w);
        let old = LogRegion::init(mem, fields(), 77);
        let block = old.block;
        mem.store(block + LOG_DIR_LEN_AT, 416, Ordering::Relaxed);
        mem.store(
            block + TAIL_LEASE_AT,
            u64::from_le_bytes(*b"/the/end"),
            Ordering::Relaxed,
        );
        assert_eq!(old.wait_written(0, || 9000, |_| false), None);
        assert_eq!(
            mem.load(block + TAIL_LEASE_AT, Ordering::Relaxed),
            u64::from_le_bytes(*b"/the/end")
        );
    }
}
