//! The one place the logger touches the core ring's API, so that a change of that API is a change of this file.
//!
//! Every type here works over `RawRegion<'static>`: the logger keeps the mapping alive (an `Arc` of its backing
//! held beside every user), which is what makes the `'static` borrow sound (see [`static_region`]).

use seqring_core::ring::{self, ClaimError, Mode, Ring, RingError, RingStats};
use seqring_core::{Patience, RawRegion};

/// The memory every ring of the logger lives in.
pub(crate) type Mem = RawRegion<'static>;

/// The words of `region` for `'static`.
///
/// # Safety
/// The caller keeps the mapping behind `region` alive, at the same address, for as long as the returned region or
/// anything built from it is used (the logger stores an `Arc` of the backing next to every such value).
pub(crate) unsafe fn static_region(region: RawRegion<'_>) -> Mem {
    let words = region.words();
    // SAFETY: the caller keeps the words alive and in place for as long as the result is used (see above).
    RawRegion::new(unsafe { &*(words as *const [std::sync::atomic::AtomicU64]) })
}

/// Lays out a new MPSC ring over `mem`.
pub(crate) fn create(mem: Mem, max_record: usize, pid: u32, created_ns: u64) -> Result<Ring<Mem>, RingError> {
    Ring::create(mem, Mode::Mpsc, Some(max_record), u64::from(pid), created_ns)
}

/// Opens the ring laid out over `mem`.
pub(crate) fn open(mem: Mem, patience: impl Patience) -> Result<Ring<Mem>, RingError> {
    Ring::open(mem, patience)
}

/// The token of the ring's attached consumer (its process id; 0: none).
pub(crate) fn consumer_token(ring: &Ring<Mem>) -> u64 {
    // Relaxed: compared with a pid whose liveness the caller checks; the eviction CAS re-checks it.
    seqring_core::Memory::load(
        ring.memory(),
        ring::CONSUMER_OWNER_AT,
        std::sync::atomic::Ordering::Relaxed,
    )
}

/// The ring's counters.
pub(crate) fn stats(ring: &Ring<Mem>) -> RingStats {
    ring.stats()
}

/// A producer of records (MPSC).
#[derive(Debug, Clone)]
pub(crate) struct RingProducer(ring::Producer<Mem>);

/// A claimed record.
pub(crate) type RingGrant<'a> = ring::Grant<'a, Mem>;

impl RingProducer {
    /// A producer whose claims carry the claimant tag `claimant` (its process's producer slot).
    pub(crate) fn attach(ring: Ring<Mem>, claimant: u16) -> Result<Self, RingError> {
        ring::Producer::attach(ring).map(|p| RingProducer(p.with_claimant(claimant)))
    }

    #[inline(always)]
    pub(crate) fn claim(&self, source_id: u8, timestamp: u64, len: usize) -> Result<RingGrant<'_>, ClaimError> {
        self.0.claim(source_id, timestamp, len)
    }

    #[inline(always)]
    pub(crate) fn try_write(&self, source_id: u8, timestamp: u64, payload: &[u8]) -> Result<(), ClaimError> {
        self.0.try_write(source_id, timestamp, payload)
    }

    /// Counts `n` records given up on in the ring's `dropped` counter.
    #[inline]
    pub(crate) fn count_dropped(&self, n: u64) {
        self.0.count_dropped(n);
    }

    pub(crate) fn max_payload(&self) -> usize {
        self.0.ring().max_payload()
    }
}

/// A claim at the head of the ring that stays uncommitted while later records are claimed.
pub(crate) type Blockage = ring::consumer::Blockage;

/// The ring's one consumer.
#[derive(Debug)]
pub(crate) struct RingConsumer(ring::Consumer<Mem>);

impl RingConsumer {
    pub(crate) fn attach(ring: Ring<Mem>, token: u64) -> Result<Self, RingError> {
        ring::Consumer::attach(ring, token).map(RingConsumer)
    }

    /// The ring's counters.
    pub(crate) fn stats(&self) -> RingStats {
        self.0.ring().stats()
    }

    /// Polls one batch of at most `max_bytes`, hands its ring position and bytes (straight from ring memory) to
    /// `f`, and releases it once `f` returns: `f` must have handed the bytes to the kernel (or counted them as
    /// unwritten) by then, so that a crash after the release loses nothing. Returns whether there was a batch.
    pub(crate) fn drain_one(&mut self, max_bytes: usize, f: impl FnOnce(u64, &[u8])) -> Result<bool, RingError> {
        let Some(batch) = self.0.poll(max_bytes)? else {
            return Ok(false);
        };
        f(batch.position(), batch.bytes());
        batch.release();
        Ok(true)
    }

    /// The position of the next record to drain.
    pub(crate) fn position(&self) -> u64 {
        self.0.position()
    }

    pub(crate) fn heartbeat(&self, now: u64) {
        self.0.heartbeat(now);
    }

    /// The head claim, if it blocks the ring (the first phase of unblocking).
    pub(crate) fn blocked(&self) -> Result<Option<Blockage>, RingError> {
        self.0.blocked()
    }

    /// Turns the blockage into padding if nothing about it changed; returns whether it did.
    pub(crate) fn unblock(&mut self, blockage: Blockage) -> Result<bool, RingError> {
        self.0.unblock(blockage)
    }
}
