//! Producers: claim, write, commit or abort (see the [ring module](super) for the algorithm).
//!
//! Invariants: a [`Grant`] owns the bytes of its record exclusively from the claim until its commit or abort; no
//! one else writes them, and the consumer reads them only after the Release store of the committed length.

use super::record::{self, Word0};
use super::{Mode, Ring, RingError, DATA_OFFSET, DROPPED_AT, HEAD_AT, HEAD_CACHE_AT, SPSC_OWNER_AT, TAIL_AT};
use crate::memory::Memory;
use crate::sync::Ordering;

/// Why a claim failed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum ClaimError {
    /// The ring has no room for the record now; the claim was counted as dropped.
    Full,
    /// The payload is longer than the ring's largest record allows.
    TooLarge {
        /// The payload length asked for.
        len: usize,
        /// The largest payload.
        max: usize,
    },
    /// The head and tail positions are inconsistent: the ring's memory is corrupt.
    Corrupt,
}

impl core::fmt::Display for ClaimError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match self {
            ClaimError::Full => f.write_str("ring is full"),
            ClaimError::TooLarge { len, max } => write!(f, "payload of {len} bytes exceeds the ring's {max}"),
            ClaimError::Corrupt => f.write_str("ring head and tail are inconsistent"),
        }
    }
}

impl core::error::Error for ClaimError {}

/// A producer endpoint. MPSC producers are freely cloned across threads and processes; an SPSC producer is unique
/// (it holds the ring's producer slot until dropped).
#[derive(Debug)]
pub struct Producer<M: Memory> {
    ring: Ring<M>,
    spsc: bool,
}

impl<M: Memory + Copy> Clone for Producer<M> {
    /// Clones an MPSC producer.
    ///
    /// # Panics
    /// If the producer is an SPSC one: a second SPSC producer would break the ring.
    fn clone(&self) -> Self {
        assert!(!self.spsc, "an SPSC producer cannot be cloned");
        Producer {
            ring: self.ring,
            spsc: false,
        }
    }
}

impl<M: Memory> Producer<M> {
    /// A producer on an MPSC ring.
    ///
    /// # Errors
    /// [`RingError::AlreadyAttached`] is never returned; an SPSC ring needs [`Producer::attach_spsc`] and gives
    /// `Region(Corrupt)` here.
    pub fn attach(ring: Ring<M>) -> Result<Self, RingError> {
        if ring.mode != Mode::Mpsc {
            return Err(crate::region::RegionError::Corrupt("ring is SPSC: attach with attach_spsc").into());
        }
        Ok(Producer { ring, spsc: false })
    }

    /// The one producer of an SPSC ring, registered under `token` (non-zero; the std layer uses the pid).
    ///
    /// # Errors
    /// [`RingError::AlreadyAttached`] with the current producer's token.
    pub fn attach_spsc(ring: Ring<M>, token: u64) -> Result<Self, RingError> {
        if ring.mode != Mode::Spsc {
            return Err(crate::region::RegionError::Corrupt("ring is MPSC: attach with attach").into());
        }
        ring.attach_slot(SPSC_OWNER_AT, token)?;
        Ok(Producer { ring, spsc: true })
    }

    /// The ring this producer writes to.
    pub fn ring(&self) -> &Ring<M> {
        &self.ring
    }

    /// Claims room for a record of `len` payload bytes from `source_id` stamped `timestamp`.
    ///
    /// # Errors
    /// [`ClaimError::Full`] (counted in `dropped`), [`ClaimError::TooLarge`] or [`ClaimError::Corrupt`].
    #[inline]
    pub fn claim(&self, source_id: u8, timestamp: u64, len: usize) -> Result<Grant<'_, M>, ClaimError> {
        let (offset, record_len) = self.reserve(source_id, timestamp, len)?;
        Ok(Grant {
            mem: &self.ring.mem,
            offset,
            record_len,
            source_id,
            done: false,
        })
    }

    /// The claim itself: reserves the record, stores the claim marker and timestamp, and returns the record's
    /// region offset and unaligned length. Kept apart from [`Grant`] so that `try_write` moves no guard around.
    #[inline(always)]
    fn reserve(&self, source_id: u8, timestamp: u64, len: usize) -> Result<(usize, usize), ClaimError> {
        let ring = &self.ring;
        let max = ring.max_payload();
        if len > max {
            return Err(ClaimError::TooLarge { len, max });
        }
        let record_len = record::HEADER_LEN + len;
        let required = extent(record_len);
        let capacity = ring.capacity as u64;
        let mem = &ring.mem;
        let (start, padding) = loop {
            // Acquire: pairs with the Release store of the head cache below (by any producer), which carries the
            // consumer's zeroing of the space up to that head to us.
            let mut head = mem.load(HEAD_CACHE_AT, Ordering::Acquire);
            // Relaxed: the tail orders nothing but itself (each producer writes only its own claimed bytes), and
            // the CAS below re-checks it.
            let tail = mem.load(TAIL_AT, Ordering::Relaxed);
            if !tail.is_multiple_of(record::ALIGN as u64) {
                return Err(ClaimError::Corrupt);
            }
            let index = ring.index(tail);
            let to_end = ring.capacity - index;
            let (padding, needed) = if required > to_end {
                (to_end, required + to_end)
            } else {
                (0, required)
            };
            let fits = |head: u64| {
                let used = tail.wrapping_sub(head);
                used <= capacity && capacity - used >= needed as u64
            };
            if !fits(head) {
                // Acquire: pairs with the consumer's Release store of the head after it zeroed the space.
                head = mem.load(HEAD_AT, Ordering::Acquire);
                if tail.wrapping_sub(head) > capacity {
                    // The head passed our tail: the tail we read is stale. A tail loaded after that Acquire is at
                    // least the head (the consumer released only committed records, whose claims moved the tail);
                    // if even that one is behind, the positions are corrupt.
                    // Relaxed: as the tail load above.
                    if mem.load(TAIL_AT, Ordering::Relaxed).wrapping_sub(head) > capacity {
                        return Err(ClaimError::Corrupt);
                    }
                    continue;
                }
                if !fits(head) {
                    // Relaxed: a statistic.
                    mem.fetch_add(DROPPED_AT, 1, Ordering::Relaxed);
                    return Err(ClaimError::Full);
                }
                // Release: pairs with the Acquire load of the head cache above, passing the zeroing on.
                mem.store(HEAD_CACHE_AT, head, Ordering::Release);
            }
            let next = tail.wrapping_add(needed as u64);
            if self.spsc {
                // Relaxed: the tail is this producer's alone; the consumer only compares it (see `unblock`).
                mem.store(TAIL_AT, next, Ordering::Relaxed);
                break (tail, padding);
            }
            // Relaxed: as the load above; success makes `tail..next` this producer's.
            if mem
                .compare_exchange(TAIL_AT, tail, next, Ordering::Relaxed, Ordering::Relaxed)
                .is_ok()
            {
                break (tail, padding);
            }
        };
        let mut offset = DATA_OFFSET + ring.index(start);
        if padding != 0 {
            // Release: pairs with the consumer's Acquire load of record headers.
            mem.store(offset, Word0::padding(padding).encode(), Ordering::Release);
            offset = DATA_OFFSET;
        }
        let claimed = Word0::data(-(record_len as i32), source_id);
        // Relaxed: the claim marker publishes no data; the consumer only reads its extent in `unblock`.
        mem.store(offset, claimed.encode(), Ordering::Relaxed);
        mem.store(offset + 8, timestamp, Ordering::Relaxed);
        Ok((offset, record_len))
    }

    /// Writes one record: claim, copy, commit.
    ///
    /// # Errors
    /// As [`Producer::claim`].
    #[inline]
    pub fn try_write(&self, source_id: u8, timestamp: u64, payload: &[u8]) -> Result<(), ClaimError> {
        let (offset, record_len) = self.reserve(source_id, timestamp, payload.len())?;
        let mem = &self.ring.mem;
        // The record is this producer's until the Release store below (module invariant).
        mem.copy_in_owned(offset + record::HEADER_LEN, payload);
        commit_at(mem, offset, record_len, source_id);
        Ok(())
    }
}

impl<M: Memory> Drop for Producer<M> {
    fn drop(&mut self) {
        if self.spsc {
            self.ring.detach_slot(SPSC_OWNER_AT);
        }
    }
}

/// The bytes a record of `record_len` occupies. Record lengths are bounded by the ring's max record, so the
/// rounding cannot overflow.
#[inline]
const fn extent(record_len: usize) -> usize {
    (record_len + record::ALIGN - 1) & !(record::ALIGN - 1)
}

/// Publishes the claimed record at `offset` by storing its committed header.
#[inline]
fn commit_at<M: Memory>(mem: &M, offset: usize, record_len: usize, source_id: u8) {
    let header = Word0::data(record_len as i32, source_id);
    // Release: pairs with the consumer's Acquire load of this header; publishes the timestamp and payload.
    mem.store(offset, header.encode(), Ordering::Release);
}

/// A claimed record: write its payload, then [`commit`](Grant::commit). Dropping it uncommitted aborts it.
#[must_use = "a grant must be committed, or it is aborted when dropped"]
#[derive(Debug)]
pub struct Grant<'a, M: Memory> {
    mem: &'a M,
    offset: usize,
    record_len: usize,
    source_id: u8,
    done: bool,
}

impl<M: Memory> Grant<'_, M> {
    /// The payload length.
    pub fn len(&self) -> usize {
        self.record_len - record::HEADER_LEN
    }

    /// Whether the payload is empty.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The region offset of the payload's first byte.
    pub fn payload_offset(&self) -> usize {
        self.offset + record::HEADER_LEN
    }

    /// Copies `bytes` into the payload at `at`.
    ///
    /// # Panics
    /// If `at + bytes.len()` exceeds the payload length.
    #[inline]
    pub fn write(&mut self, at: usize, bytes: &[u8]) {
        assert!(
            at.checked_add(bytes.len()).is_some_and(|end| end <= self.len()),
            "write past the grant"
        );
        // The grant owns its bytes until `commit`'s Release store (module invariant).
        self.mem.copy_in_owned(self.payload_offset() + at, bytes);
    }

    /// Publishes the record.
    #[inline]
    pub fn commit(mut self) {
        self.done = true;
        commit_at(self.mem, self.offset, self.record_len, self.source_id);
    }

    /// Withdraws the claim: the record becomes padding, which the consumer skips.
    pub fn abort(mut self) {
        self.finish_abort();
    }

    fn finish_abort(&mut self) {
        self.done = true;
        let padding = Word0::padding(extent(self.record_len));
        // Release: pairs with the consumer's Acquire load of this header.
        self.mem.store(self.offset, padding.encode(), Ordering::Release);
    }
}

#[cfg(not(loom))]
impl Grant<'_, crate::memory::RawRegion<'_>> {
    /// The payload as a plain mutable slice, for zero-copy serialisation straight into the ring.
    #[inline]
    pub fn payload_mut(&mut self) -> &mut [u8] {
        let (offset, len) = (self.payload_offset(), self.len());
        // SAFETY: the grant owns its record's bytes exclusively until commit or abort (module invariant): no other
        // producer's claim overlaps it, and the consumer reads them only after the Release store in `commit`,
        // which happens after this borrow of `self` ends. The slice lives no longer than `&mut self`.
        unsafe { self.mem.bytes_mut(offset, len) }
    }
}

impl<M: Memory> Drop for Grant<'_, M> {
    fn drop(&mut self) {
        if !self.done {
            self.finish_abort();
        }
    }
}
