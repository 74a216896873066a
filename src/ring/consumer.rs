//! The consumer: one contiguous batch at a time, crash-consistent release, and two-phase unblocking of claims whose
//! producer died (see the [ring module](super) for the algorithm).
//!
//! Invariants:
//! - exactly one consumer is attached (it holds the consumer slot);
//! - a [`Batch`] borrows its consumer mutably, so there is at most one, it can only be released into the ring it
//!   came from, and nothing else the consumer does (another poll, an unblock) can run while it lives;
//! - the bytes of a polled batch are written by no one until the batch is released;
//! - a release stores the new head in the release watermark and then its check word (`!watermark`) *before*
//!   zeroing, and the head only after zeroing, so `[head, watermark)` is exactly the span a crashed release may
//!   have left half zeroed; [`Consumer::attach`] trusts a watermark only when its check matches and it lies between
//!   the head and the tail within one stretch of the data area, zeroes the span again and moves the head, so no
//!   half-zeroed record is ever decoded (a mismatched check means the release died before zeroing anything);
//! - released bytes are zero before the head moves past them;
//! - the consumer reads no header at or past the tail it loaded (`poll` and `blocked` are bounded by it);
//! - a [`Blockage`] carries its ring's identity ([`Memory::identity`]); `unblock` refuses another ring's.

use super::record::{self, RecordKind, Word0};
use super::{
    Mode, Ring, RingError, ABANDONED_AT, BYTES_AT, CLOSED, CONSUMER_OWNER_AT, DATA_OFFSET, HEAD_AT, HEARTBEAT_AT,
    RECORDS_AT, RELEASE_CHECK_AT, RELEASE_TO_AT, SPSC_EPOCH_AT, SPSC_OWNER_AT, TAIL_AT,
};
use crate::memory::Memory;
use crate::sync::{fence, Ordering};

/// How far ahead of the header it reads the consumer's walk prefetches (a few hundred nanoseconds of walking).
const PREFETCH_AHEAD: usize = 2048;
/// The prefetch step: a cache line.
const CACHE_LINE: usize = 64;

/// The consumer endpoint of a ring.
///
/// # Examples
/// ```
/// use core::sync::atomic::AtomicU64;
/// use seqring_core::ring::{region_len, Consumer, Mode, Producer, Ring};
/// use seqring_core::RawRegion;
/// use seqring_core::ring::record::Records;
/// let words: Vec<AtomicU64> = (0..region_len(4096).unwrap() / 8).map(|_| AtomicU64::new(0)).collect();
/// let ring = Ring::create(RawRegion::new(&words), Mode::Mpsc, None, 1, 0).unwrap();
/// let producer = Producer::attach(ring).unwrap();
/// for t in 0..3u64 {
///     producer.try_write(1, t, &t.to_le_bytes()).unwrap();
/// }
/// // The drain loop of a logger: poll, hand the bytes on, release.
/// let mut consumer = Consumer::attach(ring, 1).unwrap();
/// let mut seen = Vec::new();
/// while let Some(batch) = consumer.poll(usize::MAX).unwrap() {
///     for record in Records::new(batch.bytes()) {
///         seen.push(record.unwrap().timestamp);
///     }
///     batch.release();
/// }
/// assert_eq!(seen, [0, 1, 2]);
/// assert_eq!(ring.stats().records, 3);
/// ```
#[derive(Debug)]
pub struct Consumer<M: Memory> {
    ring: Ring<M>,
    /// The head: everything before it has been released.
    head: u64,
}

/// A contiguous run of committed records (and padding), from the consumer's head up to the first record not yet
/// committed or the end of the data area. It borrows the consumer: release it with [`Batch::release`]. A batch
/// dropped without release leaves its records in the ring, to be polled again.
///
/// # Examples
/// ```
/// use core::sync::atomic::AtomicU64;
/// use seqring_core::ring::{region_len, Consumer, Mode, Producer, Ring};
/// use seqring_core::RawRegion;
/// let words: Vec<AtomicU64> = (0..region_len(4096).unwrap() / 8).map(|_| AtomicU64::new(0)).collect();
/// let ring = Ring::create(RawRegion::new(&words), Mode::Mpsc, None, 1, 0).unwrap();
/// Producer::attach(ring).unwrap().try_write(1, 0, b"abc").unwrap();
/// let mut consumer = Consumer::attach(ring, 1).unwrap();
/// let batch = consumer.poll(usize::MAX).unwrap().unwrap();
/// drop(batch); // e.g. the disk write failed: keep the records
/// let again = consumer.poll(usize::MAX).unwrap().unwrap();
/// assert_eq!(again.records(), 1);
/// again.release();
/// assert!(consumer.poll(usize::MAX).unwrap().is_none());
/// ```
#[derive(Debug)]
#[must_use = "a polled batch must be released, or its records are polled again"]
pub struct Batch<'c, M: Memory> {
    consumer: &'c mut Consumer<M>,
    len: usize,
    records: u64,
    payload_bytes: u64,
}

/// An uncommitted head record noted by [`Consumer::blocked`], to be confirmed abandoned by [`Consumer::unblock`]
/// after the caller's deadline. It names the ring it was noted on: another ring's consumer refuses it.
///
/// # Examples
/// ```
/// use core::sync::atomic::AtomicU64;
/// use seqring_core::ring::{region_len, Consumer, Mode, Producer, Ring, RingError};
/// use seqring_core::RawRegion;
/// let words: Vec<AtomicU64> = (0..region_len(4096).unwrap() / 8).map(|_| AtomicU64::new(0)).collect();
/// let ring = Ring::create(RawRegion::new(&words), Mode::Mpsc, None, 1, 0).unwrap();
/// let other_words: Vec<AtomicU64> = (0..region_len(4096).unwrap() / 8).map(|_| AtomicU64::new(0)).collect();
/// let other = Ring::create(RawRegion::new(&other_words), Mode::Mpsc, None, 1, 0).unwrap();
/// std::mem::forget(Producer::attach(ring).unwrap().claim(1, 0, 8).unwrap());
/// let consumer = Consumer::attach(ring, 1).unwrap();
/// let noted = consumer.blocked().unwrap().unwrap();
/// let mut other_consumer = Consumer::attach(other, 1).unwrap();
/// assert_eq!(other_consumer.unblock(noted), Err(RingError::ForeignBlockage));
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Blockage {
    /// The [`Memory::identity`] of the ring's region.
    ring: usize,
    position: u64,
    word: u64,
    extent: usize,
}

impl Blockage {
    /// The ring position of the uncommitted record.
    ///
    /// # Examples
    /// ```
    /// use core::sync::atomic::AtomicU64;
    /// use seqring_core::ring::{region_len, Consumer, Mode, Producer, Ring};
    /// use seqring_core::RawRegion;
    /// use seqring_core::Memory;
    /// let words: Vec<AtomicU64> = (0..region_len(4096).unwrap() / 8).map(|_| AtomicU64::new(0)).collect();
    /// let ring = Ring::create(RawRegion::new(&words), Mode::Mpsc, None, 1, 0).unwrap();
    /// let producer = Producer::attach(ring).unwrap();
    /// producer.try_write(2, 0, b"delivered").unwrap(); // 25 bytes, 32 aligned
    /// std::mem::forget(producer.claim(4, 1, 8).unwrap()); // 24 bytes; its producer dies holding it
    /// let mut consumer = Consumer::attach(ring, 1).unwrap();
    /// consumer.poll(usize::MAX).unwrap().unwrap().release();
    /// let noted = consumer.blocked().unwrap().unwrap();
    /// assert_eq!(noted.position(), 32);
    /// ```
    pub fn position(&self) -> u64 {
        self.position
    }

    /// The [`Memory::identity`] of the ring it was noted on.
    ///
    /// # Examples
    /// ```
    /// use core::sync::atomic::AtomicU64;
    /// use seqring_core::ring::{region_len, Consumer, Mode, Producer, Ring};
    /// use seqring_core::RawRegion;
    /// use seqring_core::Memory;
    /// let words: Vec<AtomicU64> = (0..region_len(4096).unwrap() / 8).map(|_| AtomicU64::new(0)).collect();
    /// let ring = Ring::create(RawRegion::new(&words), Mode::Mpsc, None, 1, 0).unwrap();
    /// let producer = Producer::attach(ring).unwrap();
    /// producer.try_write(2, 0, b"delivered").unwrap(); // 25 bytes, 32 aligned
    /// std::mem::forget(producer.claim(4, 1, 8).unwrap()); // 24 bytes; its producer dies holding it
    /// let mut consumer = Consumer::attach(ring, 1).unwrap();
    /// consumer.poll(usize::MAX).unwrap().unwrap().release();
    /// let noted = consumer.blocked().unwrap().unwrap();
    /// assert_eq!(noted.ring_identity(), ring.memory().identity());
    /// ```
    pub fn ring_identity(&self) -> usize {
        self.ring
    }

    /// The source id of the claim, when its producer stored its claim marker (`None` for a zero-length claim,
    /// whose producer died right after reserving the space, and for a claimed wrap padding, whose producer died
    /// before it placed its record's marker: see [`Blockage::claimant`]).
    ///
    /// # Examples
    /// ```
    /// use core::sync::atomic::AtomicU64;
    /// use seqring_core::ring::{region_len, Consumer, Mode, Producer, Ring};
    /// use seqring_core::RawRegion;
    /// use seqring_core::Memory;
    /// let words: Vec<AtomicU64> = (0..region_len(4096).unwrap() / 8).map(|_| AtomicU64::new(0)).collect();
    /// let ring = Ring::create(RawRegion::new(&words), Mode::Mpsc, None, 1, 0).unwrap();
    /// let producer = Producer::attach(ring).unwrap();
    /// producer.try_write(2, 0, b"delivered").unwrap(); // 25 bytes, 32 aligned
    /// std::mem::forget(producer.claim(4, 1, 8).unwrap()); // 24 bytes; its producer dies holding it
    /// let mut consumer = Consumer::attach(ring, 1).unwrap();
    /// consumer.poll(usize::MAX).unwrap().unwrap().release();
    /// let noted = consumer.blocked().unwrap().unwrap();
    /// assert_eq!(noted.source_id(), Some(4));
    /// ```
    pub fn source_id(&self) -> Option<u8> {
        let w = Word0::decode(self.word);
        (w.length < 0 && w.kind == RecordKind::Data as u8).then_some(w.source_id)
    }

    /// The claimant tag its producer stored in the claim marker
    /// ([`Producer::with_claimant`](super::Producer::with_claimant)): `None` for a zero-length claim or an
    /// untagged producer. (An SPSC producer's markers carry its epoch instead.)
    ///
    /// # Examples
    /// ```
    /// use core::sync::atomic::AtomicU64;
    /// use seqring_core::ring::{region_len, Consumer, Mode, Producer, Ring};
    /// use seqring_core::RawRegion;
    /// use seqring_core::Memory;
    /// let words: Vec<AtomicU64> = (0..region_len(4096).unwrap() / 8).map(|_| AtomicU64::new(0)).collect();
    /// let ring = Ring::create(RawRegion::new(&words), Mode::Mpsc, None, 1, 0).unwrap();
    /// let producer = Producer::attach(ring).unwrap();
    /// producer.try_write(2, 0, b"delivered").unwrap(); // 25 bytes, 32 aligned
    /// std::mem::forget(producer.claim(4, 1, 8).unwrap()); // 24 bytes; its producer dies holding it
    /// let mut consumer = Consumer::attach(ring, 1).unwrap();
    /// consumer.poll(usize::MAX).unwrap().unwrap().release();
    /// let noted = consumer.blocked().unwrap().unwrap();
    /// assert_eq!(noted.claimant(), None, "an untagged producer");
    /// assert!(consumer.unblock(noted).unwrap());
    /// consumer.poll(usize::MAX).unwrap().unwrap().release(); // the padding
    /// let tagged = Producer::attach(ring).unwrap().with_claimant(3);
    /// std::mem::forget(tagged.claim(4, 2, 8).unwrap());
    /// assert_eq!(consumer.blocked().unwrap().unwrap().claimant(), Some(3));
    /// ```
    pub fn claimant(&self) -> Option<u16> {
        let tag = Word0::claimant(self.word);
        (Word0::decode(self.word).length < 0 && tag != 0).then_some(tag)
    }

    /// The bytes that [`Consumer::unblock`] would turn into padding.
    ///
    /// # Examples
    /// ```
    /// use core::sync::atomic::AtomicU64;
    /// use seqring_core::ring::{region_len, Consumer, Mode, Producer, Ring};
    /// use seqring_core::RawRegion;
    /// use seqring_core::Memory;
    /// let words: Vec<AtomicU64> = (0..region_len(4096).unwrap() / 8).map(|_| AtomicU64::new(0)).collect();
    /// let ring = Ring::create(RawRegion::new(&words), Mode::Mpsc, None, 1, 0).unwrap();
    /// let producer = Producer::attach(ring).unwrap();
    /// producer.try_write(2, 0, b"delivered").unwrap(); // 25 bytes, 32 aligned
    /// std::mem::forget(producer.claim(4, 1, 8).unwrap()); // 24 bytes; its producer dies holding it
    /// let mut consumer = Consumer::attach(ring, 1).unwrap();
    /// consumer.poll(usize::MAX).unwrap().unwrap().release();
    /// let noted = consumer.blocked().unwrap().unwrap();
    /// assert_eq!(noted.extent(), 24);
    /// assert!(consumer.unblock(noted).unwrap());
    /// let padding = consumer.poll(usize::MAX).unwrap().unwrap();
    /// assert_eq!((padding.len(), padding.records()), (24, 0));
    /// ```
    pub fn extent(&self) -> usize {
        self.extent
    }
}

impl<M: Memory> Consumer<M> {
    /// Attaches the ring's one consumer under `token` (non-zero; the std layer uses the pid).
    ///
    /// If the previous consumer died inside a release (the release watermark is ahead of the head), this finishes
    /// that release: it zeroes the span again and moves the head past it.
    ///
    /// A version 1 ring (see the [ring module](super)) has no check word: its watermark is ignored when it is 0
    /// and otherwise only range-checked.
    ///
    /// # Errors
    /// [`RingError::AlreadyAttached`] with the current consumer's token; [`RingError::Corrupt`] if the head is not
    /// a record boundary or lies past the tail, or a trusted watermark is not a record boundary between the head
    /// and the tail within the data area's stretch.
    ///
    /// # Examples
    /// ```
    /// use core::sync::atomic::AtomicU64;
    /// use seqring_core::ring::{region_len, Consumer, Mode, Producer, Ring, RingError};
    /// use seqring_core::RawRegion;
    /// let words: Vec<AtomicU64> = (0..region_len(4096).unwrap() / 8).map(|_| AtomicU64::new(0)).collect();
    /// let ring = Ring::create(RawRegion::new(&words), Mode::Mpsc, None, 1, 0).unwrap();
    /// let consumer = Consumer::attach(ring, 1).unwrap();
    /// assert_eq!(Consumer::attach(ring, 2).err(), Some(RingError::AlreadyAttached(1)));
    /// drop(consumer);
    /// assert_eq!(Consumer::attach(ring, 2).unwrap().position(), 0);
    /// ```
    pub fn attach(ring: Ring<M>, token: u64) -> Result<Self, RingError> {
        ring.attach_slot(CONSUMER_OWNER_AT, token)?;
        match Self::recover_head(&ring) {
            Ok((head, release_to)) => {
                let mut consumer = Consumer { ring, head };
                if release_to != head {
                    consumer.finish_release(release_to);
                }
                Ok(consumer)
            }
            Err(e) => {
                ring.detach_slot(CONSUMER_OWNER_AT);
                Err(e)
            }
        }
    }

    /// The head and the end of the release a dead consumer left in progress (equal to the head when none is).
    fn recover_head(ring: &Ring<M>) -> Result<(u64, u64), RingError> {
        let mem = &ring.mem;
        // Acquire: pairs with the previous consumer's Release store of the head in `finish_release`, so the
        // watermark loads below see at least the watermark of the release that stored this head (after a normal
        // detach the slot's Acquire CAS orders it too; after an eviction the evictor established the death).
        let head = mem.load(HEAD_AT, Ordering::Acquire);
        // Relaxed: compared only (positions only grow; a tail loaded after the head's Acquire is at least the
        // head, since the consumer released only claimed space).
        let tail = mem.load(TAIL_AT, Ordering::Relaxed) & !CLOSED;
        let claimed = tail.wrapping_sub(head);
        let corrupt = Err(RingError::Corrupt { position: head });
        if !head.is_multiple_of(record::ALIGN as u64) || claimed > ring.capacity as u64 {
            return corrupt;
        }
        // Relaxed: written only by consumers, before their zeroing, and ordered by the head's Acquire load above.
        let release_to = mem.load(RELEASE_TO_AT, Ordering::Relaxed);
        let trusted = if ring.version >= 2 {
            mem.load(RELEASE_CHECK_AT, Ordering::Relaxed) == !release_to
        } else {
            release_to != 0
        };
        if !trusted || release_to == head {
            return Ok((head, head));
        }
        let span = release_to.wrapping_sub(head);
        if !release_to.is_multiple_of(record::ALIGN as u64)
            || span > claimed
            || span > (ring.capacity - ring.index(head)) as u64
        {
            return corrupt;
        }
        Ok((head, release_to))
    }

    /// The ring.
    ///
    /// # Examples
    /// ```
    /// use core::sync::atomic::AtomicU64;
    /// use seqring_core::ring::{region_len, Consumer, Mode, Ring};
    /// use seqring_core::RawRegion;
    /// use seqring_core::Memory;
    /// let words: Vec<AtomicU64> = (0..region_len(4096).unwrap() / 8).map(|_| AtomicU64::new(0)).collect();
    /// let ring = Ring::create(RawRegion::new(&words), Mode::Mpsc, None, 1, 0).unwrap();
    /// let consumer = Consumer::attach(ring, 1).unwrap();
    /// assert_eq!(consumer.ring().memory().identity(), ring.memory().identity());
    /// assert_eq!(consumer.ring().mode(), Mode::Mpsc);
    /// ```
    pub fn ring(&self) -> &Ring<M> {
        &self.ring
    }

    /// The position of the next record to poll (the head).
    ///
    /// # Examples
    /// ```
    /// use core::sync::atomic::AtomicU64;
    /// use seqring_core::ring::{region_len, Consumer, Mode, Producer, Ring};
    /// use seqring_core::RawRegion;
    /// let words: Vec<AtomicU64> = (0..region_len(4096).unwrap() / 8).map(|_| AtomicU64::new(0)).collect();
    /// let ring = Ring::create(RawRegion::new(&words), Mode::Mpsc, None, 1, 0).unwrap();
    /// Producer::attach(ring).unwrap().try_write(1, 0, b"abc").unwrap(); // 19 bytes, 24 aligned
    /// let mut consumer = Consumer::attach(ring, 1).unwrap();
    /// assert_eq!(consumer.position(), 0);
    /// consumer.poll(usize::MAX).unwrap().unwrap().release();
    /// assert_eq!(consumer.position(), 24);
    /// // A new consumer starts where the last one released.
    /// drop(consumer);
    /// assert_eq!(Consumer::attach(ring, 2).unwrap().position(), 24);
    /// ```
    pub fn position(&self) -> u64 {
        self.head
    }

    /// Polls the next batch of at most `max_bytes` (but always at least one record if one is committed).
    ///
    /// # Errors
    /// [`RingError::Corrupt`] if a header has an impossible length or kind; the consumer then stays at that record.
    ///
    /// # Examples
    /// ```
    /// use core::sync::atomic::AtomicU64;
    /// use seqring_core::ring::{region_len, Consumer, Mode, Producer, Ring};
    /// use seqring_core::RawRegion;
    /// let words: Vec<AtomicU64> = (0..region_len(4096).unwrap() / 8).map(|_| AtomicU64::new(0)).collect();
    /// let ring = Ring::create(RawRegion::new(&words), Mode::Mpsc, None, 1, 0).unwrap();
    /// let producer = Producer::attach(ring).unwrap();
    /// let mut consumer = Consumer::attach(ring, 1).unwrap();
    /// assert!(consumer.poll(usize::MAX).unwrap().is_none(), "nothing committed yet");
    /// for t in 0..3 {
    ///     producer.try_write(1, t, &[0; 8]).unwrap(); // 24 bytes each
    /// }
    /// // At most 50 bytes: two records.
    /// let batch = consumer.poll(50).unwrap().unwrap();
    /// assert_eq!((batch.len(), batch.records()), (48, 2));
    /// batch.release();
    /// // Always at least one record, however small the limit.
    /// let batch = consumer.poll(1).unwrap().unwrap();
    /// assert_eq!(batch.records(), 1);
    /// batch.release();
    /// // A record still being written ends the batch before it.
    /// let grant = producer.claim(1, 3, 8).unwrap();
    /// producer.try_write(1, 4, &[0; 8]).unwrap();
    /// assert!(consumer.poll(usize::MAX).unwrap().is_none());
    /// grant.commit().unwrap();
    /// assert_eq!(consumer.poll(usize::MAX).unwrap().unwrap().records(), 2);
    /// ```
    pub fn poll(&mut self, max_bytes: usize) -> Result<Option<Batch<'_, M>>, RingError> {
        self.poll_each(max_bytes, |_, _| {})
    }

    /// [`Consumer::poll`], calling `each` with the offset (in the batch) and the header word of every data record
    /// the batch holds, in order, from the walk that finds the batch: a caller that tallies records per source
    /// needs no second pass over the batch's bytes.
    ///
    /// `each` sees only records of the batch returned: on an error (and with `Ok(None)`) it may have seen records
    /// of no batch, which the caller must then discard.
    ///
    /// # Errors
    /// As [`Consumer::poll`].
    ///
    /// # Examples
    /// ```
    /// use core::sync::atomic::AtomicU64;
    /// use seqring_core::ring::{region_len, Consumer, Mode, Producer, Ring};
    /// use seqring_core::RawRegion;
    /// let words: Vec<AtomicU64> = (0..region_len(4096).unwrap() / 8).map(|_| AtomicU64::new(0)).collect();
    /// let ring = Ring::create(RawRegion::new(&words), Mode::Mpsc, None, 1, 0).unwrap();
    /// let producer = Producer::attach(ring).unwrap();
    /// producer.try_write(1, 0, b"abc").unwrap(); // 19 bytes, 24 aligned
    /// producer.try_write(2, 0, b"defgh").unwrap(); // 21 bytes, 24 aligned
    /// producer.try_write(2, 0, b"ij").unwrap(); // 18 bytes, 24 aligned
    /// let mut consumer = Consumer::attach(ring, 1).unwrap();
    /// let mut seen = Vec::new();
    /// // At most 50 bytes: the third record is left for the next batch, and `each` does not see it.
    /// let batch = consumer.poll_each(50, |offset, w| seen.push((offset, w.source_id, w.length))).unwrap().unwrap();
    /// assert_eq!(batch.records(), 2);
    /// batch.release();
    /// assert_eq!(seen, [(0, 1, 19), (24, 2, 21)]);
    /// ```
    #[inline]
    pub fn poll_each(
        &mut self,
        max_bytes: usize,
        mut each: impl FnMut(usize, Word0),
    ) -> Result<Option<Batch<'_, M>>, RingError> {
        let ring = &self.ring;
        let index = ring.index(self.head);
        // Acquire: pairs with the SPSC producer's Release store of the tail (MPSC tails order nothing here). No
        // header at or past the tail is read: a producer that died before publishing its tail may have left its
        // wrap padding or marker there.
        let claimed = (ring.mem.load(TAIL_AT, Ordering::Acquire) & !CLOSED).wrapping_sub(self.head);
        if claimed > ring.capacity as u64 {
            return Err(RingError::Corrupt { position: self.head });
        }
        let limit = (ring.capacity - index).min(claimed as usize);
        let (mut len, mut records, mut payload_bytes) = (0usize, 0u64, 0u64);
        // The end of what was prefetched: every cache line up to `PREFETCH_AHEAD` bytes past the header being
        // read, so that the walk's dependent header loads find their lines in the cache (a hint only).
        let mut ahead = 0usize;
        while len < limit {
            let to = (len + PREFETCH_AHEAD).min(limit);
            ahead = ahead.max(len);
            while ahead < to {
                ring.mem.prefetch(DATA_OFFSET + index + ahead);
                ahead += CACHE_LINE;
            }
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
                    position: self.head.wrapping_add(len as u64),
                });
            }
            if len > 0 && len + extent > max_bytes {
                break;
            }
            if w.kind == RecordKind::Data as u8 {
                each(len, w);
                records += 1;
                payload_bytes += (n - record::HEADER_LEN) as u64;
            }
            len += extent;
        }
        if len == 0 {
            return Ok(None);
        }
        Ok(Some(Batch {
            consumer: self,
            len,
            records,
            payload_bytes,
        }))
    }

    /// Zeroes `[head, release_to)`, counts nothing, and moves the head: the tail of a release.
    fn finish_release(&mut self, release_to: u64) {
        let ring = &self.ring;
        let len = release_to.wrapping_sub(self.head) as usize;
        ring.mem.zero(DATA_OFFSET + ring.index(self.head), len);
        self.head = release_to;
        // Release: pairs with producers' Acquire load of the head; orders the zeroing before their reuse.
        ring.mem.store(HEAD_AT, self.head, Ordering::Release);
    }

    /// Records the consumer's liveness for others to check (`now` in the caller's clock).
    ///
    /// # Examples
    /// ```
    /// use core::sync::atomic::AtomicU64;
    /// use seqring_core::ring::{region_len, Consumer, Mode, Ring};
    /// use seqring_core::RawRegion;
    /// let words: Vec<AtomicU64> = (0..region_len(4096).unwrap() / 8).map(|_| AtomicU64::new(0)).collect();
    /// let ring = Ring::create(RawRegion::new(&words), Mode::Mpsc, None, 1, 0).unwrap();
    /// let consumer = Consumer::attach(ring, 1).unwrap();
    /// consumer.heartbeat(1_700_000_000_000_000_000);
    /// assert_eq!(ring.stats().heartbeat, 1_700_000_000_000_000_000);
    /// ```
    pub fn heartbeat(&self, now: u64) {
        // Relaxed: a statistic.
        self.ring.mem.store(HEARTBEAT_AT, now, Ordering::Relaxed);
    }

    /// Notes the head record if it is uncommitted while the tail is ahead of it: the first phase of unblocking an
    /// abandoned claim. Call [`Consumer::unblock`] with the result once the caller's deadline (much longer than any
    /// live producer holds a claim) has passed since this call.
    ///
    /// For a zero-length claim of an MPSC ring the extent runs to the first non-zero word within the space claimed
    /// now, so every claim it covers already exists.
    ///
    /// # Errors
    /// [`RingError::Corrupt`] if the claimed length is impossible, or an SPSC ring has claimed space without a
    /// header.
    ///
    /// # Examples
    /// ```
    /// use core::sync::atomic::AtomicU64;
    /// use seqring_core::ring::{region_len, Consumer, Mode, Producer, Ring};
    /// use seqring_core::RawRegion;
    /// let words: Vec<AtomicU64> = (0..region_len(4096).unwrap() / 8).map(|_| AtomicU64::new(0)).collect();
    /// let ring = Ring::create(RawRegion::new(&words), Mode::Mpsc, None, 1, 0).unwrap();
    /// let producer = Producer::attach(ring).unwrap();
    /// std::mem::forget(producer.claim(4, 0, 8).unwrap()); // its producer dies holding the claim
    /// producer.try_write(5, 1, b"after").unwrap();
    /// let mut consumer = Consumer::attach(ring, 1).unwrap();
    /// assert!(consumer.poll(usize::MAX).unwrap().is_none(), "the dead claim blocks the head");
    /// let noted = consumer.blocked().unwrap().unwrap();
    /// assert_eq!(noted.source_id(), Some(4)); // the std layer checks that source's producer pid
    /// // ... once the deadline has passed since `blocked`:
    /// assert!(consumer.unblock(noted).unwrap());
    /// assert_eq!(consumer.poll(usize::MAX).unwrap().unwrap().records(), 1);
    /// assert_eq!(ring.stats().abandoned, 1);
    /// ```
    pub fn blocked(&self) -> Result<Option<Blockage>, RingError> {
        let ring = &self.ring;
        let mem = &ring.mem;
        // Acquire: pairs with the SPSC producer's Release store of the tail (its marker is then visible); for
        // MPSC rings the tail orders nothing and is only compared.
        let tail = mem.load(TAIL_AT, Ordering::Acquire) & !CLOSED;
        let claimed = tail.wrapping_sub(self.head);
        if claimed == 0 || claimed > ring.capacity as u64 {
            return Ok(None);
        }
        let index = ring.index(self.head);
        let at = DATA_OFFSET + index;
        let to_end = ring.capacity - index;
        let corrupt = Err(RingError::Corrupt { position: self.head });
        // Acquire: pairs with a commit's Release store, as in `poll`.
        let word = mem.load(at, Ordering::Acquire);
        let w = Word0::decode(word);
        let extent = if w.length > 0 {
            return Ok(None);
        } else if w.length < 0 {
            let n = w.length.unsigned_abs() as usize;
            let extent = record::align8(n).unwrap_or(usize::MAX);
            // A data claim, or an MPSC producer's claimed wrap padding (see `Word0::padding_marker`).
            let (min, max) = match w.kind {
                k if k == RecordKind::Data as u8 => (record::HEADER_LEN, ring.max_record),
                k if k == RecordKind::Padding as u8 => (record::ALIGN, to_end),
                _ => return corrupt,
            };
            if n < min || n > max || extent > to_end {
                return corrupt;
            }
            extent
        } else if ring.mode == Mode::Spsc {
            return corrupt;
        } else {
            // A producer reserved this space and stored nothing yet: find where the next written word is, within
            // what is claimed now. Relaxed: the word is only a bound; `unblock` fences before it trusts zeros.
            let limit = (claimed as usize).min(to_end);
            (record::ALIGN..limit)
                .step_by(record::ALIGN)
                .find(|&i| mem.load(at + i, Ordering::Relaxed) != 0)
                .unwrap_or(limit)
        };
        Ok(Some(Blockage {
            ring: mem.identity(),
            position: self.head,
            word,
            extent,
        }))
    }

    /// Turns the record noted by [`Consumer::blocked`] into padding, if nothing about it changed, and counts it as
    /// abandoned. Returns whether it did.
    ///
    /// **The deadline is the caller's**: call it only once a deadline, measured from the `blocked` call that
    /// returned `blockage`, much longer than any live producer holds a claim, has passed (the core has no clock).
    /// A producer that is merely that slow loses its record cleanly: its marker CAS or commit then fails
    /// ([`ClaimError::Abandoned`](super::ClaimError::Abandoned), [`Abandoned`](super::Abandoned)), so the claim is
    /// counted abandoned and never also delivered. An SPSC claim is unblocked only once its producer is gone (a
    /// later producer attached, or none is): otherwise this returns `Ok(false)`.
    ///
    /// # Errors
    /// [`RingError::ForeignBlockage`] if `blockage` was noted on another ring; [`RingError::Corrupt`] if the
    /// blockage's extent does not fit the ring as it is now.
    ///
    /// # Examples
    /// ```
    /// use core::sync::atomic::AtomicU64;
    /// use seqring_core::ring::{region_len, Consumer, Mode, Producer, Ring};
    /// use seqring_core::RawRegion;
    /// let words: Vec<AtomicU64> = (0..region_len(4096).unwrap() / 8).map(|_| AtomicU64::new(0)).collect();
    /// let ring = Ring::create(RawRegion::new(&words), Mode::Mpsc, None, 1, 0).unwrap();
    /// let producer = Producer::attach(ring).unwrap();
    /// let mut consumer = Consumer::attach(ring, 1).unwrap();
    /// // A slow but live producer commits before the deadline: nothing is unblocked.
    /// let grant = producer.claim(1, 0, 8).unwrap();
    /// let noted = consumer.blocked().unwrap().unwrap();
    /// grant.commit().unwrap();
    /// assert!(!consumer.unblock(noted).unwrap());
    /// assert_eq!(consumer.poll(usize::MAX).unwrap().unwrap().records(), 1);
    /// assert_eq!(ring.stats().abandoned, 0);
    /// ```
    pub fn unblock(&mut self, blockage: Blockage) -> Result<bool, RingError> {
        let ring = &self.ring;
        let mem = &ring.mem;
        if blockage.ring != mem.identity() {
            return Err(RingError::ForeignBlockage);
        }
        if blockage.position != self.head {
            return Ok(false);
        }
        let index = ring.index(self.head);
        let at = DATA_OFFSET + index;
        // Relaxed: compared only.
        let claimed = (mem.load(TAIL_AT, Ordering::Relaxed) & !CLOSED).wrapping_sub(self.head);
        let extent = blockage.extent;
        if extent < record::ALIGN
            || !extent.is_multiple_of(record::ALIGN)
            || extent > ring.capacity - index
            || extent as u64 > claimed
        {
            return Err(RingError::Corrupt { position: self.head });
        }
        if blockage.word == 0 {
            // Acquire fence: pairs with the Release fence each MPSC producer issues after its claim marker. If any
            // word loaded so far (here or in `blocked`) was a payload word of a claim inside the extent, its
            // marker is visible to the loads below, and the extent is not confirmed.
            fence(Ordering::Acquire);
            if (record::ALIGN..extent)
                .step_by(record::ALIGN)
                .any(|i| mem.load(at + i, Ordering::Relaxed) != 0)
            {
                return Ok(false);
            }
        }
        if ring.mode == Mode::Spsc && !self.spsc_claimant_gone(blockage.word) {
            return Ok(false);
        }
        let padding = Word0::padding(extent);
        // AcqRel: a producer's marker or commit racing with us wins (the CAS then fails); on success the padding
        // is published to this consumer's own later Acquire loads.
        if mem
            .compare_exchange(at, blockage.word, padding.encode(), Ordering::AcqRel, Ordering::Relaxed)
            .is_err()
        {
            return Ok(false);
        }
        // A claimed wrap padding carries no record: padding it abandons nothing (its record is a claim of its own).
        let w = Word0::decode(blockage.word);
        if blockage.word == 0 || w.kind != RecordKind::Padding as u8 {
            // Relaxed: written by this consumer alone, read as a statistic.
            let abandoned = mem.load(ABANDONED_AT, Ordering::Relaxed);
            mem.store(ABANDONED_AT, abandoned.wrapping_add(1), Ordering::Relaxed);
        }
        Ok(true)
    }
}

impl<M: Memory> Consumer<M> {
    /// Whether the SPSC producer that stored claim marker `word` is gone: no producer is attached, or a later one
    /// (another epoch) is. The live producer's claims are never unblocked, which is why it may commit by a store.
    fn spsc_claimant_gone(&self, word: u64) -> bool {
        let mem = &self.ring.mem;
        // Relaxed: the marker was loaded after the tail's Acquire load in `blocked`, which pairs with the
        // producer's Release store of the tail; the producer bumped the epoch before that store, so this load sees
        // at least the marker's epoch. A stale slot or epoch only makes us wait.
        let attached = mem.load(SPSC_OWNER_AT, Ordering::Relaxed) != 0;
        let epoch = super::producer::epoch_tag(mem.load(SPSC_EPOCH_AT, Ordering::Relaxed));
        !attached || Word0::claimant(word) != epoch
    }
}

impl<M: Memory> Batch<'_, M> {
    /// The ring position of the first byte.
    ///
    /// # Examples
    /// ```
    /// use core::sync::atomic::AtomicU64;
    /// use seqring_core::ring::{region_len, Consumer, Mode, Producer, Ring};
    /// use seqring_core::RawRegion;
    /// let words: Vec<AtomicU64> = (0..region_len(4096).unwrap() / 8).map(|_| AtomicU64::new(0)).collect();
    /// let ring = Ring::create(RawRegion::new(&words), Mode::Mpsc, None, 1, 0).unwrap();
    /// let producer = Producer::attach(ring).unwrap();
    /// producer.try_write(1, 0, b"abc").unwrap(); // 19 bytes, 24 aligned
    /// producer.try_write(2, 0, b"defgh").unwrap(); // 21 bytes, 24 aligned
    /// let mut consumer = Consumer::attach(ring, 1).unwrap();
    /// let first = consumer.poll(1).unwrap().unwrap();
    /// assert_eq!(first.position(), 0);
    /// first.release();
    /// assert_eq!(consumer.poll(1).unwrap().unwrap().position(), 24);
    /// ```
    pub fn position(&self) -> u64 {
        self.consumer.head
    }

    /// The batch's length in bytes, padding included.
    ///
    /// # Examples
    /// ```
    /// use core::sync::atomic::AtomicU64;
    /// use seqring_core::ring::{region_len, Consumer, Mode, Producer, Ring};
    /// use seqring_core::RawRegion;
    /// let words: Vec<AtomicU64> = (0..region_len(4096).unwrap() / 8).map(|_| AtomicU64::new(0)).collect();
    /// let ring = Ring::create(RawRegion::new(&words), Mode::Mpsc, None, 1, 0).unwrap();
    /// let producer = Producer::attach(ring).unwrap();
    /// producer.try_write(1, 0, b"abc").unwrap(); // 19 bytes, 24 aligned
    /// producer.try_write(2, 0, b"defgh").unwrap(); // 21 bytes, 24 aligned
    /// let mut consumer = Consumer::attach(ring, 1).unwrap();
    /// assert_eq!(consumer.poll(usize::MAX).unwrap().unwrap().len(), 48);
    /// ```
    pub fn len(&self) -> usize {
        self.len
    }

    /// Whether the batch holds no bytes (never true of a polled batch).
    ///
    /// # Examples
    /// ```
    /// use core::sync::atomic::AtomicU64;
    /// use seqring_core::ring::{region_len, Consumer, Mode, Producer, Ring};
    /// use seqring_core::RawRegion;
    /// let words: Vec<AtomicU64> = (0..region_len(4096).unwrap() / 8).map(|_| AtomicU64::new(0)).collect();
    /// let ring = Ring::create(RawRegion::new(&words), Mode::Mpsc, None, 1, 0).unwrap();
    /// let producer = Producer::attach(ring).unwrap();
    /// producer.try_write(1, 0, b"abc").unwrap(); // 19 bytes, 24 aligned
    /// producer.try_write(2, 0, b"defgh").unwrap(); // 21 bytes, 24 aligned
    /// let mut consumer = Consumer::attach(ring, 1).unwrap();
    /// assert!(!consumer.poll(usize::MAX).unwrap().unwrap().is_empty());
    /// ```
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// The number of data records in the batch.
    ///
    /// # Examples
    /// ```
    /// use core::sync::atomic::AtomicU64;
    /// use seqring_core::ring::{region_len, Consumer, Mode, Producer, Ring};
    /// use seqring_core::RawRegion;
    /// let words: Vec<AtomicU64> = (0..region_len(4096).unwrap() / 8).map(|_| AtomicU64::new(0)).collect();
    /// let ring = Ring::create(RawRegion::new(&words), Mode::Mpsc, None, 1, 0).unwrap();
    /// let producer = Producer::attach(ring).unwrap();
    /// producer.try_write(1, 0, b"abc").unwrap(); // 19 bytes, 24 aligned
    /// producer.try_write(2, 0, b"defgh").unwrap(); // 21 bytes, 24 aligned
    /// let mut consumer = Consumer::attach(ring, 1).unwrap();
    /// assert_eq!(consumer.poll(usize::MAX).unwrap().unwrap().records(), 2);
    /// ```
    pub fn records(&self) -> u64 {
        self.records
    }

    /// The total payload bytes of its data records.
    ///
    /// # Examples
    /// ```
    /// use core::sync::atomic::AtomicU64;
    /// use seqring_core::ring::{region_len, Consumer, Mode, Producer, Ring};
    /// use seqring_core::RawRegion;
    /// let words: Vec<AtomicU64> = (0..region_len(4096).unwrap() / 8).map(|_| AtomicU64::new(0)).collect();
    /// let ring = Ring::create(RawRegion::new(&words), Mode::Mpsc, None, 1, 0).unwrap();
    /// let producer = Producer::attach(ring).unwrap();
    /// producer.try_write(1, 0, b"abc").unwrap(); // 19 bytes, 24 aligned
    /// producer.try_write(2, 0, b"defgh").unwrap(); // 21 bytes, 24 aligned
    /// let mut consumer = Consumer::attach(ring, 1).unwrap();
    /// assert_eq!(consumer.poll(usize::MAX).unwrap().unwrap().payload_bytes(), 3 + 5);
    /// ```
    pub fn payload_bytes(&self) -> u64 {
        self.payload_bytes
    }

    /// Copies the batch's bytes (records as they sit in the ring) into `dst`, for decoding with
    /// [`record::Records`].
    ///
    /// # Panics
    /// If `dst` is shorter than the batch.
    ///
    /// # Examples
    /// ```
    /// use core::sync::atomic::AtomicU64;
    /// use seqring_core::ring::{region_len, Consumer, Mode, Producer, Ring};
    /// use seqring_core::ring::record::Records;
    /// use seqring_core::RawRegion;
    /// let words: Vec<AtomicU64> = (0..region_len(4096).unwrap() / 8).map(|_| AtomicU64::new(0)).collect();
    /// let ring = Ring::create(RawRegion::new(&words), Mode::Mpsc, None, 1, 0).unwrap();
    /// let producer = Producer::attach(ring).unwrap();
    /// producer.try_write(1, 0, b"abc").unwrap(); // 19 bytes, 24 aligned
    /// producer.try_write(2, 0, b"defgh").unwrap(); // 21 bytes, 24 aligned
    /// let mut consumer = Consumer::attach(ring, 1).unwrap();
    /// let batch = consumer.poll(usize::MAX).unwrap().unwrap();
    /// let mut buf = vec![0u8; batch.len()];
    /// batch.copy_to(&mut buf);
    /// batch.release(); // the copy outlives the ring's bytes
    /// let payloads: Vec<&[u8]> = Records::new(&buf).map(|r| r.unwrap().payload).collect();
    /// assert_eq!(payloads, [&b"abc"[..], &b"defgh"[..]]);
    /// ```
    pub fn copy_to(&self, dst: &mut [u8]) {
        let ring = &self.consumer.ring;
        ring.mem
            .copy_out(DATA_OFFSET + ring.index(self.consumer.head), &mut dst[..self.len]);
    }

    /// The first step of a release: the watermark and its check, stored before any zeroing. Returns the new head.
    fn mark_release(&self) -> u64 {
        let release_to = self.consumer.head.wrapping_add(self.len as u64);
        let mem = &self.consumer.ring.mem;
        // Relaxed: read by a later consumer's `attach`, ordered by the head's Release store in `finish_release`
        // (or by the process's death); the check word last, so a watermark with its check was stored whole.
        mem.store(RELEASE_TO_AT, release_to, Ordering::Relaxed);
        mem.store(RELEASE_CHECK_AT, !release_to, Ordering::Relaxed);
        // Release fence before the zeroing: pairs with the Acquire CAS of a producer's `place`, which, if it
        // replaces one of the zeros below, then sees this watermark and knows the space was released under it.
        fence(Ordering::Release);
        release_to
    }

    /// Releases the batch: counts it, zeroes its bytes and moves the head past it (crash-consistently, through
    /// the release watermark).
    ///
    /// # Examples
    /// ```
    /// use core::sync::atomic::AtomicU64;
    /// use seqring_core::ring::{region_len, Consumer, Mode, Producer, Ring};
    /// use seqring_core::RawRegion;
    /// let words: Vec<AtomicU64> = (0..region_len(4096).unwrap() / 8).map(|_| AtomicU64::new(0)).collect();
    /// let ring = Ring::create(RawRegion::new(&words), Mode::Mpsc, None, 1, 0).unwrap();
    /// let producer = Producer::attach(ring).unwrap();
    /// producer.try_write(1, 0, b"abc").unwrap(); // 19 bytes, 24 aligned
    /// producer.try_write(2, 0, b"defgh").unwrap(); // 21 bytes, 24 aligned
    /// let mut consumer = Consumer::attach(ring, 1).unwrap();
    /// let batch = consumer.poll(usize::MAX).unwrap().unwrap();
    /// batch.release();
    /// let stats = ring.stats();
    /// assert_eq!((stats.head, stats.records, stats.bytes), (48, 2, 8));
    /// assert!(consumer.poll(usize::MAX).unwrap().is_none());
    /// // Released bytes are zero again, ready for the producers' next lap.
    /// assert!(words[(seqring_core::ring::DATA_OFFSET / 8)..][..6].iter().all(|w| w.load(core::sync::atomic::Ordering::Relaxed) == 0));
    /// ```
    pub fn release(self) {
        let release_to = self.mark_release();
        let consumer = self.consumer;
        let ring = &consumer.ring;
        // Relaxed loads and stores: these counters are written by this consumer alone, and read as statistics.
        let records = ring.mem.load(RECORDS_AT, Ordering::Relaxed);
        ring.mem
            .store(RECORDS_AT, records.wrapping_add(self.records), Ordering::Relaxed);
        let bytes = ring.mem.load(BYTES_AT, Ordering::Relaxed);
        ring.mem
            .store(BYTES_AT, bytes.wrapping_add(self.payload_bytes), Ordering::Relaxed);
        consumer.finish_release(release_to);
    }

    /// A test hook: does what `release` does up to a crash after zeroing `words` words of the batch, and no more.
    /// To leave the ring exactly as a dead consumer does (its slot still held), forget the consumer afterwards
    /// (`core::mem::forget`); the next consumer evicts it and attaches.
    #[doc(hidden)]
    pub fn release_until_crash(self, words: usize) {
        self.mark_release();
        let ring = &self.consumer.ring;
        ring.mem
            .zero(DATA_OFFSET + ring.index(self.consumer.head), (words * 8).min(self.len));
    }
}

#[cfg(not(loom))]
impl<M: crate::memory::Contiguous> Batch<'_, M> {
    /// The batch's bytes, zero-copy, for decoding with [`record::Records`] or writing straight to disk.
    ///
    /// # Examples
    /// ```
    /// use core::sync::atomic::AtomicU64;
    /// use seqring_core::ring::{region_len, Consumer, Mode, Producer, Ring};
    /// use seqring_core::ring::record::Records;
    /// use seqring_core::RawRegion;
    /// let words: Vec<AtomicU64> = (0..region_len(4096).unwrap() / 8).map(|_| AtomicU64::new(0)).collect();
    /// let ring = Ring::create(RawRegion::new(&words), Mode::Mpsc, None, 1, 0).unwrap();
    /// let producer = Producer::attach(ring).unwrap();
    /// producer.try_write(1, 0, b"abc").unwrap(); // 19 bytes, 24 aligned
    /// producer.try_write(2, 0, b"defgh").unwrap(); // 21 bytes, 24 aligned
    /// let mut consumer = Consumer::attach(ring, 1).unwrap();
    /// let batch = consumer.poll(usize::MAX).unwrap().unwrap();
    /// let sources: Vec<u8> = Records::new(batch.bytes()).map(|r| r.unwrap().source_id).collect();
    /// assert_eq!(sources, [1, 2]);
    /// assert_eq!(batch.bytes().len(), batch.len());
    /// batch.release();
    /// ```
    pub fn bytes(&self) -> &[u8] {
        let ring = &self.consumer.ring;
        let offset = DATA_OFFSET + ring.index(self.consumer.head);
        // SAFETY: the bytes of a polled, unreleased batch are written by no one (module invariant): producers own
        // only claims past the tail's side of the free space, which this batch precedes; only this consumer zeroes
        // them, in `release`, which consumes the batch and so cannot run while this borrow of it lives; and the
        // batch borrows its consumer mutably, so no unblock or other poll runs either. The producers' Release
        // commits were acquired in `poll`. The range lies inside the data area (checked in `poll`). `raw` lends the
        // very words the ring's protocol ran on (`Contiguous`'s contract).
        unsafe { ring.mem.raw().bytes(offset, self.len) }
    }
}

impl<M: Memory> Drop for Consumer<M> {
    fn drop(&mut self) {
        self.ring.detach_slot(CONSUMER_OWNER_AT);
    }
}
