//! The consumer: contiguous batches, release with zeroing, and unblocking of claims whose producer died (see the
//! [ring module](super) for the algorithm).
//!
//! Invariants: exactly one consumer is attached (it holds the consumer slot); bytes of a polled batch are not
//! written by anyone until the batch is released; released bytes are zero before the head moves past them.

use super::record::{self, RecordKind, Word0};
use super::{
    Ring, RingError, ABANDONED_AT, BYTES_AT, CONSUMER_OWNER_AT, DATA_OFFSET, HEAD_AT, HEARTBEAT_AT, RECORDS_AT, TAIL_AT,
};
use crate::memory::Memory;
use crate::sync::Ordering;

/// A contiguous run of committed records (and padding), from the consumer's position up to the first record not
/// yet committed or the end of the data area.
#[derive(Debug, PartialEq, Eq)]
#[must_use = "a polled batch must be released, or the ring fills up"]
pub struct Batch {
    position: u64,
    len: usize,
    records: u64,
    payload_bytes: u64,
}

impl Batch {
    /// The ring position of the first byte.
    pub fn position(&self) -> u64 {
        self.position
    }

    /// The batch's length in bytes, padding included.
    pub fn len(&self) -> usize {
        self.len
    }

    /// Whether the batch holds no bytes (never true of a polled batch).
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// The number of data records in the batch.
    pub fn records(&self) -> u64 {
        self.records
    }

    /// The total payload bytes of its data records.
    pub fn payload_bytes(&self) -> u64 {
        self.payload_bytes
    }
}

/// The consumer endpoint of a ring.
#[derive(Debug)]
pub struct Consumer<M: Memory> {
    ring: Ring<M>,
    /// The head: everything before it has been released.
    head: u64,
    /// Where the next poll starts: the end of the last polled batch.
    next: u64,
}

impl<M: Memory> Consumer<M> {
    /// Attaches the ring's one consumer under `token` (non-zero; the std layer uses the pid).
    ///
    /// # Errors
    /// [`RingError::AlreadyAttached`] with the current consumer's token; [`RingError::Corrupt`] if the head is not
    /// a record boundary.
    pub fn attach(ring: Ring<M>, token: u64) -> Result<Self, RingError> {
        ring.attach_slot(CONSUMER_OWNER_AT, token)?;
        // Relaxed: the slot's Acquire CAS ordered any previous consumer's head store before this load.
        let head = ring.mem.load(HEAD_AT, Ordering::Relaxed);
        if !head.is_multiple_of(record::ALIGN as u64) {
            ring.detach_slot(CONSUMER_OWNER_AT);
            return Err(RingError::Corrupt { position: head });
        }
        Ok(Consumer { ring, head, next: head })
    }

    /// The ring.
    pub fn ring(&self) -> &Ring<M> {
        &self.ring
    }

    /// The position of the next record to poll.
    pub fn position(&self) -> u64 {
        self.next
    }

    /// Polls the next batch of at most `max_bytes` (but always at least one record if one is committed).
    ///
    /// Batches must be released in the order they were polled.
    ///
    /// # Errors
    /// [`RingError::Corrupt`] if a header has an impossible length or kind; the consumer then stays at that record.
    pub fn poll(&mut self, max_bytes: usize) -> Result<Option<Batch>, RingError> {
        let ring = &self.ring;
        let index = ring.index(self.next);
        let limit = ring.capacity - index;
        let (mut len, mut records, mut payload_bytes) = (0usize, 0u64, 0u64);
        while len < limit {
            // Acquire: pairs with the producer's Release store of the committed (or padding) header, so the
            // record's bytes are visible.
            let w = Word0::decode(ring.mem.load(DATA_OFFSET + index + len, Ordering::Acquire));
            if w.length <= 0 {
                break;
            }
            let n = w.length as usize;
            let extent = record::align8(n).unwrap_or(usize::MAX);
            let valid = extent <= limit - len
                && match w.kind {
                    k if k == RecordKind::Data as u8 => (record::HEADER_LEN..=ring.max_record).contains(&n),
                    k => k == RecordKind::Padding as u8,
                };
            if !valid {
                return Err(RingError::Corrupt {
                    position: self.next.wrapping_add(len as u64),
                });
            }
            if len > 0 && len + extent > max_bytes {
                break;
            }
            len += extent;
            if w.kind == RecordKind::Data as u8 {
                records += 1;
                payload_bytes += (n - record::HEADER_LEN) as u64;
            }
        }
        if len == 0 {
            return Ok(None);
        }
        let batch = Batch {
            position: self.next,
            len,
            records,
            payload_bytes,
        };
        self.next = self.next.wrapping_add(len as u64);
        Ok(Some(batch))
    }

    /// Copies a polled batch's bytes (records as they sit in the ring) into `dst`, for decoding with
    /// [`record::Records`].
    ///
    /// # Panics
    /// If `dst` is shorter than the batch.
    pub fn copy_batch(&self, batch: &Batch, dst: &mut [u8]) {
        let offset = DATA_OFFSET + self.ring.index(batch.position);
        self.ring.mem.copy_out(offset, &mut dst[..batch.len]);
    }

    /// Releases a batch: zeroes its bytes, counts it, and moves the head past it.
    ///
    /// # Panics
    /// If batches are released out of order.
    pub fn release(&mut self, batch: Batch) {
        assert_eq!(batch.position, self.head, "batches must be released in polling order");
        let ring = &self.ring;
        ring.mem.zero(DATA_OFFSET + ring.index(batch.position), batch.len);
        // Relaxed loads and stores: these counters are written by this consumer alone, and read as statistics.
        let records = ring.mem.load(RECORDS_AT, Ordering::Relaxed);
        ring.mem
            .store(RECORDS_AT, records.wrapping_add(batch.records), Ordering::Relaxed);
        let bytes = ring.mem.load(BYTES_AT, Ordering::Relaxed);
        ring.mem
            .store(BYTES_AT, bytes.wrapping_add(batch.payload_bytes), Ordering::Relaxed);
        self.head = batch.position.wrapping_add(batch.len as u64);
        // Release: pairs with producers' Acquire load of the head; orders the zeroing before their reuse.
        ring.mem.store(HEAD_AT, self.head, Ordering::Release);
    }

    /// Records the consumer's liveness for others to check (`now` in the caller's clock).
    pub fn heartbeat(&self, now: u64) {
        // Relaxed: a statistic.
        self.ring.mem.store(HEARTBEAT_AT, now, Ordering::Relaxed);
    }

    /// Whether records have been claimed past the consumer's position but the next one is not committed: the
    /// condition that [`Consumer::unblock`] resolves once it has lasted past the caller's deadline.
    pub fn is_blocked(&self) -> bool {
        // Relaxed: a hint; `unblock` re-checks everything.
        let tail = self.ring.mem.load(TAIL_AT, Ordering::Relaxed);
        let header = self
            .ring
            .mem
            .load(DATA_OFFSET + self.ring.index(self.next), Ordering::Relaxed);
        tail != self.next && Word0::decode(header).length <= 0
    }

    /// Turns the uncommitted record at the consumer's position into padding, if its producer abandoned it, and
    /// counts it as abandoned. Returns whether it did.
    ///
    /// Call it only after the record has stayed uncommitted past a deadline much longer than any live producer
    /// holds a grant: a producer that is merely slow and commits afterwards corrupts the ring.
    ///
    /// # Errors
    /// [`RingError::Corrupt`] if the claimed length is impossible.
    pub fn unblock(&mut self) -> Result<bool, RingError> {
        let ring = &self.ring;
        let mem = &ring.mem;
        // Relaxed: compared only; it publishes nothing.
        let tail = mem.load(TAIL_AT, Ordering::Relaxed);
        let claimed = tail.wrapping_sub(self.next);
        if claimed == 0 || claimed > ring.capacity as u64 {
            return Ok(false);
        }
        let index = ring.index(self.next);
        let at = DATA_OFFSET + index;
        let to_end = ring.capacity - index;
        // Acquire: pairs with a commit's Release store, as in `poll`.
        let raw = mem.load(at, Ordering::Acquire);
        let w = Word0::decode(raw);
        let extent = if w.length > 0 {
            return Ok(false);
        } else if w.length < 0 {
            let n = w.length.unsigned_abs() as usize;
            let extent = record::align8(n).unwrap_or(usize::MAX);
            if n < record::HEADER_LEN || n > ring.max_record || extent > to_end {
                return Err(RingError::Corrupt { position: self.next });
            }
            extent
        } else {
            // The producer died between its CAS and its first store. Its bytes are zero up to the next header.
            let limit = if claimed < to_end as u64 {
                claimed as usize
            } else {
                to_end
            };
            // Acquire: a non-zero header found here must be a published store, as in `poll`.
            let next_header = (record::ALIGN..limit)
                .step_by(record::ALIGN)
                .find(|&i| mem.load(at + i, Ordering::Acquire) != 0);
            let extent = match next_header {
                Some(i) => i,
                // Everything up to the end of the data area is claimed and still zero: the dead claim (or its
                // wrap padding) runs to the end.
                None if limit == to_end && claimed > to_end as u64 => to_end,
                None => return Ok(false),
            };
            // Confirm no slow producer wrote a header into the gap meanwhile (Agrona's scan back).
            if (0..extent)
                .step_by(record::ALIGN)
                .any(|i| mem.load(at + i, Ordering::Relaxed) != 0)
            {
                return Ok(false);
            }
            extent
        };
        let padding = Word0::padding(extent);
        // AcqRel: a producer's commit racing with us wins (the CAS then fails); on success the padding is published
        // to this consumer's own later Acquire loads.
        if mem
            .compare_exchange(at, raw, padding.encode(), Ordering::AcqRel, Ordering::Relaxed)
            .is_err()
        {
            return Ok(false);
        }
        // Relaxed: written by this consumer alone, read as a statistic.
        let abandoned = mem.load(ABANDONED_AT, Ordering::Relaxed);
        mem.store(ABANDONED_AT, abandoned.wrapping_add(1), Ordering::Relaxed);
        Ok(true)
    }
}

#[cfg(not(loom))]
impl<'r> Consumer<crate::memory::RawRegion<'r>> {
    /// A polled batch's bytes, zero-copy, for decoding with [`record::Records`] or writing straight to disk.
    ///
    /// # Panics
    /// If `batch` was not polled from this consumer.
    pub fn batch_bytes<'b>(&'b self, batch: &'b Batch) -> &'b [u8] {
        assert!(
            batch.position.wrapping_sub(self.head) < self.next.wrapping_sub(self.head) || batch.len == 0,
            "batch was not polled from this consumer"
        );
        let offset = DATA_OFFSET + self.ring.index(batch.position);
        // SAFETY: the bytes of a polled, unreleased batch are written by no one (module invariant): producers own
        // only claims beyond the head's free space, which this batch precedes, and only this consumer zeroes them,
        // in `release`, which takes the batch by value and so cannot run while this borrow of it lives. The
        // producers' Release commits were acquired in `poll`.
        unsafe { self.ring.mem.bytes(offset, batch.len) }
    }
}

impl<M: Memory> Drop for Consumer<M> {
    fn drop(&mut self) {
        self.ring.detach_slot(CONSUMER_OWNER_AT);
    }
}
