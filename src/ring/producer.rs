//! Producers: claim, write, commit or abort (see the [ring module](super) for the algorithm).
//!
//! Two producer types, so that misuse does not compile:
//! - [`Producer`], for MPSC rings: freely cloned across threads (and attached in any number of processes). It CASes
//!   the tail, then places the claim marker (`-length`) by a CAS from zero and issues a Release fence before any
//!   payload store, as Agrona does (Agrona stores the marker; the CAS is what lets a late producer find that the
//!   consumer padded its claim meanwhile). It commits by a CAS from its own marker to `+length`. Its payload stores are relaxed atomic word stores, because the consumer's scan of a zero-length
//!   abandoned claim ([`Consumer::blocked`](super::Consumer::blocked)) may read them concurrently; the fence
//!   guarantees that a scan which sees any payload word also sees its record's marker once it has fenced.
//! - [`SpscProducer`], the one producer of an SPSC ring (it holds the ring's producer slot). It stores its claim
//!   marker (and any wrap padding) *before* it publishes the tail with Release, so a zero-length claim never exists
//!   and nothing ever scans its payload: its grants write with a plain memcpy and offer
//!   [`payload_mut`](Grant::payload_mut) for zero-copy serialisation. Its markers carry its *epoch* (bumped by
//!   every SPSC attach) as claimant tag, and the consumer unblocks only claims of an earlier epoch, or with no
//!   producer attached: the live SPSC producer is never late, so it commits with a plain Release store.
//!
//! Invariants: a [`Grant`] owns the bytes of its record exclusively from the claim until its commit or abort, or
//! until the consumer unblocks it after the caller's deadline; no one else writes them, and the consumer reads them
//! only after the Release store of the committed length (or, for MPSC grants, with atomic loads in its
//! abandoned-claim scan). Every MPSC claim ends as exactly one of: committed (delivered), aborted (padding), or
//! abandoned (padded by an unblock, which counts it; its producer's commit returns [`Abandoned`]).
//!
//! A known limit: a producer whose marker CAS lands on a zero left by the release of its own (padded) claim undoes
//! it after reading the watermark; were another producer to claim the same bytes one lap later *between* that CAS
//! and the undo (the sleeper slept through a deadline and a whole lap between two instructions), that claim
//! fails as abandoned too, and is padded like any zero-length claim. And payload bytes written (with
//! [`Grant::write`]) *after* the deadline may land in released space; the deadline must outlast any live
//! producer's hold, and `write` skips the copy once it sees that its claim was padded.
//!
//! A refused claim ([`ClaimError::Full`]) counts nothing: a caller that retries would otherwise count every
//! attempt. A caller that gives up on a record counts it with `count_dropped`, so `dropped` counts records refused.

use super::record::{self, Word0};
use super::{
    Mode, Ring, RingError, CLOSED, DATA_OFFSET, DROPPED_AT, HEAD_AT, HEAD_CACHE_AT, RELEASE_TO_AT, SPSC_EPOCH_AT,
    SPSC_OWNER_AT, TAIL_AT,
};
use crate::memory::Memory;
use crate::sync::{fence, Ordering};
use core::marker::PhantomData;
use core::mem::ManuallyDrop;

/// Why a claim failed.
///
/// # Examples
/// ```
/// use core::sync::atomic::AtomicU64;
/// use seqring_core::ring::{region_len, ClaimError, Consumer, Mode, Producer, Ring};
/// use seqring_core::RawRegion;
/// let words: Vec<AtomicU64> = (0..region_len(256).unwrap() / 8).map(|_| AtomicU64::new(0)).collect();
/// let ring = Ring::create(RawRegion::new(&words), Mode::Mpsc, None, 1, 0).unwrap();
/// let producer = Producer::attach(ring).unwrap();
/// // Four 64-byte records fill a 256-byte ring.
/// for t in 0..4 {
///     producer.try_write(1, t, &[7; 48]).unwrap();
/// }
/// let refused = producer.try_write(1, 4, &[7; 48]);
/// assert_eq!(refused, Err(ClaimError::Full));
/// assert_eq!(refused.unwrap_err().to_string(), "ring is full");
/// assert_eq!(ring.stats().dropped, 0, "a refusal counts nothing by itself");
/// producer.count_dropped(1); // the caller gives up on the record
/// assert_eq!(ring.stats().dropped, 1);
/// // Once the consumer releases space, the claim fits.
/// Consumer::attach(ring, 1).unwrap().poll(usize::MAX).unwrap().unwrap().release();
/// assert_eq!(producer.try_write(1, 4, &[7; 48]), Ok(()));
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum ClaimError {
    /// The ring has no room for the record now. Nothing was counted: call `count_dropped` if you give up on it.
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
    /// The ring was closed ([`Ring::close`]): no record can be claimed in it any more.
    Closed,
    /// The space was reserved, but the consumer unblocked it (after its deadline) before this producer placed its
    /// claim marker: the record is counted abandoned, and nothing was written.
    Abandoned,
}

/// A grant's commit found its claim padded by the consumer's unblock (the producer outlived the consumer's
/// deadline): the record is not delivered, and was counted as abandoned.
///
/// # Examples
/// ```
/// use seqring_core::ring::{Abandoned, ClaimError};
/// assert_eq!(ClaimError::from(Abandoned), ClaimError::Abandoned);
/// assert_eq!(Abandoned.to_string(), "the claim was abandoned: the consumer unblocked it after its deadline");
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Abandoned;

impl core::fmt::Display for Abandoned {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str("the claim was abandoned: the consumer unblocked it after its deadline")
    }
}

impl core::error::Error for Abandoned {}

impl From<Abandoned> for ClaimError {
    fn from(_: Abandoned) -> Self {
        ClaimError::Abandoned
    }
}

impl core::fmt::Display for ClaimError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match self {
            ClaimError::Full => f.write_str("ring is full"),
            ClaimError::TooLarge { len, max } => write!(f, "payload of {len} bytes exceeds the ring's {max}"),
            ClaimError::Corrupt => f.write_str("ring head and tail are inconsistent"),
            ClaimError::Closed => f.write_str("ring is closed"),
            ClaimError::Abandoned => f.write_str("claim was abandoned by the consumer's unblock"),
        }
    }
}

impl core::error::Error for ClaimError {}

mod sealed {
    pub trait Sealed {}
}

/// How producers share a ring's tail: [`Shared`] (MPSC) or [`Exclusive`] (SPSC). Sealed.
///
/// # Examples
/// ```
/// use seqring_core::ring::{Exclusive, Shared, Sharing};
/// fn is_spsc<S: Sharing>() -> bool {
///     S::EXCLUSIVE
/// }
/// assert!(!is_spsc::<Shared>());
/// assert!(is_spsc::<Exclusive>());
/// ```
pub trait Sharing: sealed::Sealed {
    /// Whether this is the single producer of an SPSC ring.
    const EXCLUSIVE: bool;
}

/// Marker of MPSC producers and their grants.
/// # Examples
/// ```
/// use core::sync::atomic::AtomicU64;
/// use seqring_core::ring::{region_len, Grant, Mode, Producer, Ring, Shared};
/// use seqring_core::RawRegion;
/// let words: Vec<AtomicU64> = (0..region_len(4096).unwrap() / 8).map(|_| AtomicU64::new(0)).collect();
/// let ring = Ring::create(RawRegion::new(&words), Mode::Mpsc, None, 1, 0).unwrap();
/// let producer = Producer::attach(ring).unwrap();
/// let grant: Grant<'_, _, Shared> = producer.claim(1, 0, 3).unwrap();
/// grant.commit().unwrap();
/// ```
#[derive(Debug)]
pub enum Shared {}
/// Marker of the SPSC producer and its grants.
/// # Examples
/// ```
/// use core::sync::atomic::AtomicU64;
/// use seqring_core::ring::{region_len, Exclusive, Grant, Mode, Ring, SpscProducer};
/// use seqring_core::RawRegion;
/// let words: Vec<AtomicU64> = (0..region_len(4096).unwrap() / 8).map(|_| AtomicU64::new(0)).collect();
/// let ring = Ring::create(RawRegion::new(&words), Mode::Spsc, None, 1, 0).unwrap();
/// let producer = SpscProducer::attach(ring, 1).unwrap();
/// let mut grant: Grant<'_, _, Exclusive> = producer.claim(1, 0, 3).unwrap();
/// grant.payload_mut().copy_from_slice(b"abc"); // only exclusive grants lend their payload
/// grant.commit().unwrap();
/// ```
#[derive(Debug)]
pub enum Exclusive {}

impl sealed::Sealed for Shared {}
impl sealed::Sealed for Exclusive {}
impl Sharing for Shared {
    const EXCLUSIVE: bool = false;
}
impl Sharing for Exclusive {
    const EXCLUSIVE: bool = true;
}

/// A producer of an MPSC ring; cheap to clone, one per thread.
///
/// # Examples
/// ```
/// use core::sync::atomic::AtomicU64;
/// use seqring_core::ring::{region_len, Consumer, Mode, Producer, Ring};
/// use seqring_core::RawRegion;
/// let words: Vec<AtomicU64> = (0..region_len(4096).unwrap() / 8).map(|_| AtomicU64::new(0)).collect();
/// let ring = Ring::create(RawRegion::new(&words), Mode::Mpsc, None, 1, 0).unwrap();
/// let producer = Producer::attach(ring).unwrap();
/// let mut grant = producer.claim(1, 10, 4).unwrap();
/// grant.write(0, b"abcd");
/// grant.commit();
/// std::thread::scope(|s| {
///     let p = producer.clone();
///     s.spawn(move || p.try_write(2, 11, b"from a thread").unwrap());
/// });
/// let mut consumer = Consumer::attach(ring, 1).unwrap();
/// assert_eq!(consumer.poll(usize::MAX).unwrap().unwrap().records(), 2);
/// ```
#[derive(Debug)]
pub struct Producer<M: Memory> {
    ring: Ring<M>,
    claimant: u16,
}

impl<M: Memory + Clone> Clone for Producer<M> {
    fn clone(&self) -> Self {
        Producer {
            ring: self.ring.clone(),
            claimant: self.claimant,
        }
    }
}

/// The one producer of an SPSC ring. It holds the ring's producer slot until dropped, and cannot be cloned.
///
/// # Examples
/// ```
/// use core::sync::atomic::AtomicU64;
/// use seqring_core::ring::{region_len, Mode, Ring, RingError, SpscProducer};
/// use seqring_core::RawRegion;
/// let words: Vec<AtomicU64> = (0..region_len(4096).unwrap() / 8).map(|_| AtomicU64::new(0)).collect();
/// let ring = Ring::create(RawRegion::new(&words), Mode::Spsc, None, 1, 0).unwrap();
/// let producer = SpscProducer::attach(ring, 7).unwrap();
/// assert_eq!(SpscProducer::attach(ring, 8).unwrap_err(), RingError::AlreadyAttached(7));
/// let mut grant = producer.claim(1, 10, 5).unwrap();
/// grant.payload_mut().copy_from_slice(b"hello"); // zero-copy
/// grant.commit();
/// ```
#[derive(Debug)]
pub struct SpscProducer<M: Memory> {
    ring: Ring<M>,
    /// The claimant tag of this producer's markers: its epoch's low 16 bits, never 0.
    epoch: u16,
}

impl<M: Memory> Producer<M> {
    /// A producer on an MPSC ring.
    ///
    /// # Errors
    /// [`RingError::WrongMode`] if the ring is SPSC (use [`SpscProducer::attach`]).
    ///
    /// # Examples
    /// ```
    /// use core::sync::atomic::AtomicU64;
    /// use seqring_core::ring::{region_len, Mode, Producer, Ring, RingError};
    /// use seqring_core::RawRegion;
    /// let words: Vec<AtomicU64> = (0..region_len(4096).unwrap() / 8).map(|_| AtomicU64::new(0)).collect();
    /// let ring = Ring::create(RawRegion::new(&words), Mode::Mpsc, None, 1, 0).unwrap();
    /// let producer = Producer::attach(ring).unwrap();
    /// let another = Producer::attach(ring).unwrap(); // any number may attach
    /// producer.try_write(1, 0, b"a").unwrap();
    /// another.try_write(2, 0, b"b").unwrap();
    /// assert_eq!(ring.stats().tail, 48);
    /// let spsc_words: Vec<AtomicU64> = (0..region_len(4096).unwrap() / 8).map(|_| AtomicU64::new(0)).collect();
    /// let spsc = Ring::create(RawRegion::new(&spsc_words), Mode::Spsc, None, 1, 0).unwrap();
    /// assert_eq!(Producer::attach(spsc).unwrap_err(), RingError::WrongMode { ring: Mode::Spsc });
    /// ```
    pub fn attach(ring: Ring<M>) -> Result<Self, RingError> {
        ring.expect_mode(Mode::Mpsc)?;
        Ok(Producer { ring, claimant: 0 })
    }

    /// This producer, tagging its claim markers with `claimant` (0: untagged), so that the consumer can tell
    /// whose claim blocks the ring ([`Blockage::claimant`](super::Blockage::claimant)). The std logger tags each
    /// process's claims with its slot in a table of producer processes, and judges a blocking claim by that
    /// process's liveness, not by whichever process last connected for the source.
    ///
    /// # Examples
    /// ```
    /// use core::sync::atomic::AtomicU64;
    /// use seqring_core::ring::{region_len, Consumer, Mode, Producer, Ring};
    /// use seqring_core::RawRegion;
    /// let words: Vec<AtomicU64> = (0..region_len(4096).unwrap() / 8).map(|_| AtomicU64::new(0)).collect();
    /// let ring = Ring::create(RawRegion::new(&words), Mode::Mpsc, None, 1, 0).unwrap();
    /// let producer = Producer::attach(ring).unwrap().with_claimant(12);
    /// std::mem::forget(producer.claim(4, 0, 8).unwrap()); // its producer dies holding the claim
    /// producer.try_write(4, 1, b"after").unwrap();
    /// let consumer = Consumer::attach(ring, 1).unwrap();
    /// assert_eq!(consumer.blocked().unwrap().unwrap().claimant(), Some(12));
    /// ```
    #[must_use]
    pub fn with_claimant(self, claimant: u16) -> Self {
        Producer { claimant, ..self }
    }

    /// The ring this producer writes to.
    ///
    /// # Examples
    /// ```
    /// use core::sync::atomic::AtomicU64;
    /// use seqring_core::ring::{region_len, Mode, Ring, Producer};
    /// use seqring_core::RawRegion;
    /// use seqring_core::Memory;
    /// let words: Vec<AtomicU64> = (0..region_len(4096).unwrap() / 8).map(|_| AtomicU64::new(0)).collect();
    /// let ring = Ring::create(RawRegion::new(&words), Mode::Mpsc, None, 1, 0).unwrap();
    /// let producer = Producer::attach(ring).unwrap();
    /// assert_eq!(producer.ring().memory().identity(), ring.memory().identity());
    /// assert_eq!(producer.ring().capacity(), 4096);
    /// ```
    pub fn ring(&self) -> &Ring<M> {
        &self.ring
    }

    /// Claims room for a record of `len` payload bytes from `source_id` stamped `timestamp`.
    ///
    /// # Errors
    /// [`ClaimError::Full`] (not counted), [`ClaimError::TooLarge`], [`ClaimError::Corrupt`],
    /// [`ClaimError::Closed`], or [`ClaimError::Abandoned`] when the consumer unblocked the reserved space before
    /// this producer marked it.
    #[inline]
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
    /// // Serialise a sample into the claimed record in pieces, then publish it.
    /// let mut grant = producer.claim(3, 1_500, 12).unwrap();
    /// assert_eq!(grant.len(), 12);
    /// grant.write(0, &7u32.to_le_bytes());
    /// grant.write(4, &2.5f64.to_le_bytes());
    /// grant.commit().unwrap();
    /// let mut consumer = Consumer::attach(ring, 1).unwrap();
    /// let batch = consumer.poll(usize::MAX).unwrap().unwrap();
    /// let record = Records::new(batch.bytes()).next().unwrap().unwrap();
    /// assert_eq!((record.source_id, record.timestamp), (3, 1_500));
    /// assert_eq!(record.payload[..4], 7u32.to_le_bytes());
    /// assert_eq!(record.payload[4..], 2.5f64.to_le_bytes());
    /// ```
    pub fn claim(&self, source_id: u8, timestamp: u64, len: usize) -> Result<Grant<'_, M, Shared>, ClaimError> {
        Grant::claim(&self.ring, source_id, timestamp, len, self.claimant)
    }

    /// Writes one record: claim, copy, commit.
    ///
    /// # Errors
    /// As [`Producer::claim`].
    ///
    /// # Examples
    /// ```
    /// use core::sync::atomic::AtomicU64;
    /// use seqring_core::ring::{region_len, Consumer, Mode, Ring, Producer};
    /// use seqring_core::RawRegion;
    /// use seqring_core::ring::record::Records;
    /// let words: Vec<AtomicU64> = (0..region_len(4096).unwrap() / 8).map(|_| AtomicU64::new(0)).collect();
    /// let ring = Ring::create(RawRegion::new(&words), Mode::Mpsc, None, 1, 0).unwrap();
    /// let producer = Producer::attach(ring).unwrap();
    /// producer.try_write(1, 100, b"trial start").unwrap();
    /// producer.try_write(2, 105, b"lick").unwrap();
    /// let mut consumer = Consumer::attach(ring, 1).unwrap();
    /// let batch = consumer.poll(usize::MAX).unwrap().unwrap();
    /// let got: Vec<(u8, u64, Vec<u8>)> =
    ///     Records::new(batch.bytes()).map(|r| r.unwrap()).map(|r| (r.source_id, r.timestamp, r.payload.to_vec())).collect();
    /// assert_eq!(got, [(1, 100, b"trial start".to_vec()), (2, 105, b"lick".to_vec())]);
    /// ```
    // Always inlined: the record's whole path is a few dozen instructions, and a call (saved registers, the result
    // through memory) was a large part of it.
    #[inline(always)]
    pub fn try_write(&self, source_id: u8, timestamp: u64, payload: &[u8]) -> Result<(), ClaimError> {
        write_record::<M, Shared>(&self.ring, source_id, timestamp, payload, self.claimant)
    }

    /// Counts `records` given up on after [`ClaimError::Full`] in the ring's `dropped` counter.
    ///
    /// # Examples
    /// ```
    /// use core::sync::atomic::AtomicU64;
    /// use seqring_core::ring::{region_len, ClaimError, Mode, Ring, Producer};
    /// use seqring_core::RawRegion;
    /// let words: Vec<AtomicU64> = (0..region_len(64).unwrap() / 8).map(|_| AtomicU64::new(0)).collect();
    /// let ring = Ring::create(RawRegion::new(&words), Mode::Mpsc, None, 1, 0).unwrap();
    /// let producer = Producer::attach(ring).unwrap();
    /// let mut given_up = 0;
    /// for t in 0..6 {
    ///     if producer.try_write(1, t, b"") == Err(ClaimError::Full) {
    ///         given_up += 1;
    ///     }
    /// }
    /// producer.count_dropped(given_up);
    /// assert_eq!(ring.stats().dropped, 2, "a 64-byte ring holds four 16-byte records");
    /// ```
    pub fn count_dropped(&self, records: u64) {
        count_dropped(&self.ring, records);
    }
}

impl<M: Memory> SpscProducer<M> {
    /// The one producer of an SPSC ring, registered under `token` (non-zero; the std layer uses the pid).
    ///
    /// # Errors
    /// [`RingError::WrongMode`] if the ring is MPSC, [`RingError::AlreadyAttached`] with the current producer's
    /// token.
    ///
    /// # Examples
    /// ```
    /// use core::sync::atomic::AtomicU64;
    /// use seqring_core::ring::{region_len, Mode, Producer, Ring, RingError, SpscProducer};
    /// use seqring_core::RawRegion;
    /// let words: Vec<AtomicU64> = (0..region_len(4096).unwrap() / 8).map(|_| AtomicU64::new(0)).collect();
    /// let ring = Ring::create(RawRegion::new(&words), Mode::Spsc, None, 1, 0).unwrap();
    /// let producer = SpscProducer::attach(ring, 100).unwrap();
    /// assert_eq!(SpscProducer::attach(ring, 200).unwrap_err(), RingError::AlreadyAttached(100));
    /// drop(producer); // frees the slot
    /// let producer = SpscProducer::attach(ring, 200).unwrap();
    /// producer.try_write(1, 0, b"x").unwrap();
    /// let mpsc_words: Vec<AtomicU64> = (0..region_len(4096).unwrap() / 8).map(|_| AtomicU64::new(0)).collect();
    /// let mpsc = Ring::create(RawRegion::new(&mpsc_words), Mode::Mpsc, None, 1, 0).unwrap();
    /// assert_eq!(SpscProducer::attach(mpsc, 1).unwrap_err(), RingError::WrongMode { ring: Mode::Mpsc });
    /// ```
    pub fn attach(ring: Ring<M>, token: u64) -> Result<Self, RingError> {
        ring.expect_mode(Mode::Spsc)?;
        ring.attach_slot(SPSC_OWNER_AT, token)?;
        // Relaxed: the slot's Acquire CAS ordered the previous producer's accesses; the consumer learns the epoch
        // through the Release store of the tail that publishes a marker carrying it (see `Consumer::unblock`).
        let epoch = ring.mem.fetch_add(SPSC_EPOCH_AT, 1, Ordering::Relaxed).wrapping_add(1);
        Ok(SpscProducer {
            ring,
            epoch: epoch_tag(epoch),
        })
    }

    /// The ring this producer writes to.
    ///
    /// # Examples
    /// ```
    /// use core::sync::atomic::AtomicU64;
    /// use seqring_core::ring::{region_len, Mode, Ring, SpscProducer};
    /// use seqring_core::RawRegion;
    /// use seqring_core::Memory;
    /// let words: Vec<AtomicU64> = (0..region_len(4096).unwrap() / 8).map(|_| AtomicU64::new(0)).collect();
    /// let ring = Ring::create(RawRegion::new(&words), Mode::Spsc, None, 1, 0).unwrap();
    /// let producer = SpscProducer::attach(ring, 1).unwrap();
    /// assert_eq!(producer.ring().memory().identity(), ring.memory().identity());
    /// assert_eq!(producer.ring().capacity(), 4096);
    /// ```
    pub fn ring(&self) -> &Ring<M> {
        &self.ring
    }

    /// Claims room for a record of `len` payload bytes from `source_id` stamped `timestamp`.
    ///
    /// # Errors
    /// [`ClaimError::Full`] (not counted), [`ClaimError::TooLarge`] or [`ClaimError::Corrupt`].
    #[inline]
    ///
    /// # Examples
    /// ```
    /// use core::sync::atomic::AtomicU64;
    /// use seqring_core::ring::{region_len, ClaimError, Consumer, Mode, Ring, SpscProducer};
    /// use seqring_core::RawRegion;
    /// let words: Vec<AtomicU64> = (0..region_len(4096).unwrap() / 8).map(|_| AtomicU64::new(0)).collect();
    /// let ring = Ring::create(RawRegion::new(&words), Mode::Spsc, None, 1, 0).unwrap();
    /// let producer = SpscProducer::attach(ring, 1).unwrap();
    /// let mut grant = producer.claim(1, 40, 8).unwrap();
    /// grant.payload_mut().copy_from_slice(&0.125f64.to_le_bytes());
    /// grant.commit().unwrap();
    /// assert!(matches!(producer.claim(1, 41, 5000), Err(ClaimError::TooLarge { len: 5000, .. })));
    /// let mut consumer = Consumer::attach(ring, 1).unwrap();
    /// let batch = consumer.poll(usize::MAX).unwrap().unwrap();
    /// assert_eq!((batch.records(), batch.payload_bytes()), (1, 8));
    /// ```
    pub fn claim(&self, source_id: u8, timestamp: u64, len: usize) -> Result<Grant<'_, M, Exclusive>, ClaimError> {
        Grant::claim(&self.ring, source_id, timestamp, len, self.epoch)
    }

    /// Writes one record: claim, copy, commit.
    ///
    /// # Errors
    /// As [`SpscProducer::claim`].
    ///
    /// # Examples
    /// ```
    /// use core::sync::atomic::AtomicU64;
    /// use seqring_core::ring::{region_len, Consumer, Mode, Ring, SpscProducer};
    /// use seqring_core::RawRegion;
    /// use seqring_core::ring::record::Records;
    /// let words: Vec<AtomicU64> = (0..region_len(4096).unwrap() / 8).map(|_| AtomicU64::new(0)).collect();
    /// let ring = Ring::create(RawRegion::new(&words), Mode::Spsc, None, 1, 0).unwrap();
    /// let producer = SpscProducer::attach(ring, 1).unwrap();
    /// producer.try_write(1, 100, b"trial start").unwrap();
    /// producer.try_write(2, 105, b"lick").unwrap();
    /// let mut consumer = Consumer::attach(ring, 1).unwrap();
    /// let batch = consumer.poll(usize::MAX).unwrap().unwrap();
    /// let got: Vec<(u8, u64, Vec<u8>)> =
    ///     Records::new(batch.bytes()).map(|r| r.unwrap()).map(|r| (r.source_id, r.timestamp, r.payload.to_vec())).collect();
    /// assert_eq!(got, [(1, 100, b"trial start".to_vec()), (2, 105, b"lick".to_vec())]);
    /// ```
    // Always inlined: the record's whole path is a few dozen instructions, and a call (saved registers, the result
    // through memory) was a large part of it.
    #[inline(always)]
    pub fn try_write(&self, source_id: u8, timestamp: u64, payload: &[u8]) -> Result<(), ClaimError> {
        write_record::<M, Exclusive>(&self.ring, source_id, timestamp, payload, self.epoch)
    }

    /// Counts `records` given up on after [`ClaimError::Full`] in the ring's `dropped` counter.
    ///
    /// # Examples
    /// ```
    /// use core::sync::atomic::AtomicU64;
    /// use seqring_core::ring::{region_len, ClaimError, Mode, Ring, SpscProducer};
    /// use seqring_core::RawRegion;
    /// let words: Vec<AtomicU64> = (0..region_len(64).unwrap() / 8).map(|_| AtomicU64::new(0)).collect();
    /// let ring = Ring::create(RawRegion::new(&words), Mode::Spsc, None, 1, 0).unwrap();
    /// let producer = SpscProducer::attach(ring, 1).unwrap();
    /// let mut given_up = 0;
    /// for t in 0..6 {
    ///     if producer.try_write(1, t, b"") == Err(ClaimError::Full) {
    ///         given_up += 1;
    ///     }
    /// }
    /// producer.count_dropped(given_up);
    /// assert_eq!(ring.stats().dropped, 2, "a 64-byte ring holds four 16-byte records");
    /// ```
    pub fn count_dropped(&self, records: u64) {
        count_dropped(&self.ring, records);
    }
}

impl<M: Memory> Drop for SpscProducer<M> {
    fn drop(&mut self) {
        self.ring.detach_slot(SPSC_OWNER_AT);
    }
}

/// The claimant tag of SPSC epoch `epoch`: its low 16 bits, never 0 (0 means untagged).
pub(crate) const fn epoch_tag(epoch: u64) -> u16 {
    let tag = epoch as u16;
    if tag == 0 {
        1
    } else {
        tag
    }
}

fn count_dropped<M: Memory>(ring: &Ring<M>, records: u64) {
    // Relaxed: a statistic.
    ring.mem.fetch_add(DROPPED_AT, records, Ordering::Relaxed);
}

/// Claim, copy, commit, without moving a guard around.
#[inline(always)]
fn write_record<M: Memory, S: Sharing>(
    ring: &Ring<M>,
    source_id: u8,
    timestamp: u64,
    payload: &[u8],
    claimant: u16,
) -> Result<(), ClaimError> {
    let (offset, marker) = reserve::<M, S>(ring, source_id, timestamp, payload.len(), claimant)?;
    copy_payload::<M, S>(&ring.mem, offset + record::HEADER_LEN, payload);
    commit_at::<M, S>(&ring.mem, offset, marker)?;
    Ok(())
}

/// Copies payload bytes of a claimed record: atomic word stores for MPSC records (the consumer's abandoned-claim
/// scan may read them), a plain memcpy for the SPSC producer's (nothing reads them before the commit).
#[inline(always)]
fn copy_payload<M: Memory, S: Sharing>(mem: &M, offset: usize, bytes: &[u8]) {
    if S::EXCLUSIVE {
        mem.copy_in_owned(offset, bytes);
    } else {
        mem.copy_in(offset, bytes);
    }
}

/// Places `word` in the zero header word at ring position `position` of an MPSC claim: a CAS from zero, so that
/// it never overwrites the padding of the consumer's unblock. Fails if the consumer padded the space first, or if
/// the zero it found was left by the *release* of that padding (the watermark is then past `position`); in that
/// case it takes its word back.
#[inline(always)]
fn place<M: Memory>(ring: &Ring<M>, position: u64, word: u64) -> Result<(), Abandoned> {
    let at = DATA_OFFSET + ring.index(position);
    // Acquire: pairs with the Release fence the consumer issues after its watermark store and before its zeroing
    // (`Batch::mark_release`): if the zero we replace is that release's, the watermark load below sees it.
    if ring
        .mem
        .compare_exchange(at, 0, word, Ordering::Acquire, Ordering::Relaxed)
        .is_err()
    {
        return Err(Abandoned);
    }
    // Relaxed: ordered by the Acquire CAS above (see there); a later watermark is also past `position` only if
    // this space was padded and released, since a release never passes an unmarked claim.
    let released_to = ring.mem.load(RELEASE_TO_AT, Ordering::Relaxed);
    if released_to.wrapping_sub(position).wrapping_sub(1) < (1 << 62) {
        // Relaxed: the word is ours again to clear; the space is free, and free space is zero.
        let _ = ring
            .mem
            .compare_exchange(at, word, 0, Ordering::Relaxed, Ordering::Relaxed);
        return Err(Abandoned);
    }
    Ok(())
}

/// How far past a claimed record (in bytes) the producer prefetches for writing: about 13 records of 64 B.
///
/// Measured for issue 24 (`benches/examples/log_call.rs`, see docs/BENCHMARKS.md): without it, about 1 call in
/// 50 (a record on a new 4 KiB page, where the hardware's prefetchers stop) waits 150–200 ns for its lines, and
/// the MPSC claim's atomic read-modify-writes cannot hide that wait behind the store buffer; 1 KiB ahead took the
/// p99 of a 64 B call from about 200 to about 60 ns. 256 B was too short (p99 about 100 ns).
const PREFETCH_AHEAD: u64 = 1024;

/// The claim itself: reserves the record, stores the claim marker and timestamp, and returns the record's region
/// offset, unaligned length and claim marker.
#[inline(always)]
fn reserve<M: Memory, S: Sharing>(
    ring: &Ring<M>,
    source_id: u8,
    timestamp: u64,
    len: usize,
    claimant: u16,
) -> Result<(usize, u64), ClaimError> {
    let max = ring.max_payload();
    if len > max {
        return Err(ClaimError::TooLarge { len, max });
    }
    let record_len = record::HEADER_LEN + len;
    let required = extent(record_len);
    let capacity = ring.capacity as u64;
    let mem = &ring.mem;
    loop {
        // Acquire: pairs with the Release store of the head cache below (by any producer), which carries the
        // consumer's zeroing of the space up to that head to us.
        let mut head = mem.load(HEAD_CACHE_AT, Ordering::Acquire);
        // Relaxed: the tail orders nothing but itself (each producer writes only its own claimed bytes), and the
        // CAS below re-checks it.
        let tail = mem.load(TAIL_AT, Ordering::Relaxed);
        if tail & CLOSED != 0 {
            return Err(ClaimError::Closed);
        }
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
                // The head passed our tail: the tail we read is stale. A tail loaded after that Acquire is at least
                // the head (the consumer released only committed records, whose claims moved the tail); if even
                // that one is behind, the positions are corrupt.
                // Relaxed: as the tail load above.
                if (mem.load(TAIL_AT, Ordering::Relaxed) & !CLOSED).wrapping_sub(head) > capacity {
                    return Err(ClaimError::Corrupt);
                }
                continue;
            }
            if !fits(head) {
                return Err(ClaimError::Full);
            }
            // Release: pairs with the Acquire load of the head cache above, passing the zeroing on.
            mem.store(HEAD_CACHE_AT, head, Ordering::Release);
        }
        let next = tail.wrapping_add(needed as u64);
        // Ask for the lines the next records will take while this one is written (a hint: it changes no value
        // and orders nothing; see `PREFETCH_AHEAD`).
        mem.prefetch_write(DATA_OFFSET + ring.index(next.wrapping_add(PREFETCH_AHEAD)));
        let mut offset = DATA_OFFSET + index;
        if padding != 0 {
            offset = DATA_OFFSET;
        }
        let claimed = Word0::claim_marker(record_len, source_id, claimant);
        if S::EXCLUSIVE {
            // The space is this producer's alone (the tail is): mark it before publishing the tail, so the
            // consumer never sees claimed space without a header.
            if padding != 0 {
                // Relaxed: published by the Release store of the tail below.
                mem.store(DATA_OFFSET + index, Word0::padding(padding).encode(), Ordering::Relaxed);
            }
            // Relaxed: published by the Release store of the tail below.
            mem.store(offset, claimed, Ordering::Relaxed);
            // Release: pairs with the consumer's Acquire load of the tail in `blocked`, which then sees the marker.
            mem.store(TAIL_AT, next, Ordering::Release);
        } else {
            // Relaxed: as the load above; success makes `tail..next` this producer's.
            if mem
                .compare_exchange(TAIL_AT, tail, next, Ordering::Relaxed, Ordering::Relaxed)
                .is_err()
            {
                continue;
            }
            let record_at = tail.wrapping_add(padding as u64);
            if padding == 0 {
                // The marker (its CAS orders like a Relaxed store for this purpose), then a Release fence before
                // any payload store (Agrona's ordered store + store fence): pairs with the Acquire fence in the
                // consumer's `unblock`, so a scan that saw any payload word of this record also sees this marker.
                place(ring, record_at, claimed)?;
            } else {
                // Wrap padding is claimed first, negative (the consumer cannot pass it, so `place` can tell a
                // release's zero from ours), and made padding once the record's marker is in place.
                let pad_claim = Word0::padding_marker(padding, claimant);
                if place(ring, tail, pad_claim).is_err() {
                    // The consumer padded this space as an abandoned zero-length claim: the claim is abandoned.
                    // Pad the record's own space too, so that it is not counted a second time.
                    let _ = place(ring, record_at, Word0::padding(required).encode());
                    return Err(ClaimError::Abandoned);
                }
                let placed = place(ring, record_at, claimed);
                // Release: pairs with the consumer's Acquire load of record headers. Fails only if the consumer
                // unblocked the claimed padding itself (into the same padding, not counted as abandoned).
                let _ = mem.compare_exchange(
                    DATA_OFFSET + index,
                    pad_claim,
                    Word0::padding(padding).encode(),
                    Ordering::Release,
                    Ordering::Relaxed,
                );
                placed?;
            }
            fence(Ordering::Release);
        }
        // Relaxed: published by the commit's Release store.
        mem.store(offset + 8, timestamp, Ordering::Relaxed);
        return Ok((offset, claimed));
    }
}

/// The bytes a record of `record_len` occupies. Record lengths are bounded by the ring's max record, so the
/// rounding cannot overflow.
#[inline]
const fn extent(record_len: usize) -> usize {
    (record_len + record::ALIGN - 1) & !(record::ALIGN - 1)
}

/// Publishes the claimed record at `offset` by replacing its claim `marker` with its committed header: a CAS for
/// MPSC claims, which fails if the consumer padded the claim (unblocked it after its deadline); a store for the
/// SPSC producer, whose claims are never unblocked while it is attached.
#[inline]
fn commit_at<M: Memory, S: Sharing>(mem: &M, offset: usize, marker: u64) -> Result<(), Abandoned> {
    let claimed = Word0::decode(marker);
    let header = Word0::data(-claimed.length, claimed.source_id).encode();
    if S::EXCLUSIVE {
        // Release: pairs with the consumer's Acquire load of this header; publishes the timestamp and payload.
        mem.store(offset, header, Ordering::Release);
        Ok(())
    } else {
        // Release: as the store above. Relaxed on failure: the padding found is the consumer's, and nothing of
        // this producer's is published.
        mem.compare_exchange(offset, marker, header, Ordering::Release, Ordering::Relaxed)
            .map(drop)
            .map_err(|_| Abandoned)
    }
}

/// A claimed record: write its payload, then [`commit`](Grant::commit). Dropping it uncommitted aborts it.
///
/// `S` says whose grant it is: [`Shared`] (an MPSC [`Producer`]'s) or [`Exclusive`] (the [`SpscProducer`]'s, which
/// also offers [`payload_mut`](Grant::payload_mut)).
///
/// # Examples
/// ```
/// use core::sync::atomic::AtomicU64;
/// use seqring_core::ring::{region_len, Consumer, Mode, Producer, Ring};
/// use seqring_core::RawRegion;
/// let words: Vec<AtomicU64> = (0..region_len(4096).unwrap() / 8).map(|_| AtomicU64::new(0)).collect();
/// let ring = Ring::create(RawRegion::new(&words), Mode::Mpsc, None, 1, 0).unwrap();
/// let producer = Producer::attach(ring).unwrap();
/// {
///     let mut grant = producer.claim(1, 0, 4).unwrap();
///     grant.write(0, b"lost");
///     // dropped without commit: aborted, the consumer skips it
/// }
/// producer.try_write(1, 1, b"kept").unwrap();
/// let mut consumer = Consumer::attach(ring, 1).unwrap();
/// let batch = consumer.poll(usize::MAX).unwrap().unwrap();
/// assert_eq!((batch.len(), batch.records(), batch.payload_bytes()), (48, 1, 4));
/// ```
#[must_use = "a grant must be committed, or it is aborted when dropped"]
#[derive(Debug)]
pub struct Grant<'a, M: Memory, S: Sharing = Shared> {
    // Three words and nothing narrower, so that moving a grant copies whole words: a byte field stored alone and
    // then copied with the words around it by one wide load stalls store-to-load forwarding (an observed 10 ns per
    // claim where the compiler kept the grant on the stack).
    mem: &'a M,
    offset: usize,
    /// The claim marker this grant placed (it holds the record's length and source): its commit and abort replace
    /// exactly this word.
    marker: u64,
    sharing: PhantomData<S>,
}

impl<'a, M: Memory, S: Sharing> Grant<'a, M, S> {
    #[inline(always)]
    fn claim(ring: &'a Ring<M>, source_id: u8, timestamp: u64, len: usize, claimant: u16) -> Result<Self, ClaimError> {
        let (offset, marker) = reserve::<M, S>(ring, source_id, timestamp, len, claimant)?;
        Ok(Grant {
            mem: &ring.mem,
            offset,
            marker,
            sharing: PhantomData,
        })
    }

    /// The payload length.
    ///
    /// # Examples
    /// ```
    /// use core::sync::atomic::AtomicU64;
    /// use seqring_core::ring::{region_len, Mode, Producer, Ring};
    /// use seqring_core::RawRegion;
    /// let words: Vec<AtomicU64> = (0..region_len(4096).unwrap() / 8).map(|_| AtomicU64::new(0)).collect();
    /// let ring = Ring::create(RawRegion::new(&words), Mode::Mpsc, None, 1, 0).unwrap();
    /// let producer = Producer::attach(ring).unwrap();
    /// let grant = producer.claim(1, 0, 13).unwrap();
    /// assert_eq!(grant.len(), 13);
    /// grant.abort();
    /// ```
    pub fn len(&self) -> usize {
        self.record_len() - record::HEADER_LEN
    }

    /// Whether the payload is empty.
    ///
    /// # Examples
    /// ```
    /// use core::sync::atomic::AtomicU64;
    /// use seqring_core::ring::{region_len, Mode, Producer, Ring};
    /// use seqring_core::RawRegion;
    /// let words: Vec<AtomicU64> = (0..region_len(4096).unwrap() / 8).map(|_| AtomicU64::new(0)).collect();
    /// let ring = Ring::create(RawRegion::new(&words), Mode::Mpsc, None, 1, 0).unwrap();
    /// let producer = Producer::attach(ring).unwrap();
    /// let marker = producer.claim(1, 0, 0).unwrap(); // a record with only a timestamp
    /// assert!(marker.is_empty());
    /// marker.commit().unwrap();
    /// assert!(!producer.claim(1, 1, 1).unwrap().is_empty());
    /// ```
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The region offset of the payload's first byte.
    ///
    /// # Examples
    /// ```
    /// use core::sync::atomic::AtomicU64;
    /// use seqring_core::ring::{region_len, Mode, Producer, Ring, DATA_OFFSET};
    /// use seqring_core::RawRegion;
    /// use seqring_core::ring::record::HEADER_LEN;
    /// let words: Vec<AtomicU64> = (0..region_len(4096).unwrap() / 8).map(|_| AtomicU64::new(0)).collect();
    /// let ring = Ring::create(RawRegion::new(&words), Mode::Mpsc, None, 1, 0).unwrap();
    /// let producer = Producer::attach(ring).unwrap();
    /// let first = producer.claim(1, 0, 5).unwrap(); // 21 bytes, 24 aligned
    /// let second = producer.claim(1, 0, 5).unwrap();
    /// assert_eq!(first.payload_offset(), DATA_OFFSET + HEADER_LEN);
    /// assert_eq!(second.payload_offset(), DATA_OFFSET + 24 + HEADER_LEN);
    /// first.commit().unwrap();
    /// second.commit().unwrap();
    /// ```
    pub fn payload_offset(&self) -> usize {
        self.offset + record::HEADER_LEN
    }

    /// Whether the consumer has unblocked this claim (it outlived the consumer's deadline): its commit will fail
    /// with [`Abandoned`], and a long writer may stop early. Always `false` for the SPSC producer's grants.
    ///
    /// # Examples
    /// ```
    /// use core::sync::atomic::AtomicU64;
    /// use seqring_core::ring::{region_len, Abandoned, Consumer, Mode, Producer, Ring};
    /// use seqring_core::RawRegion;
    /// let words: Vec<AtomicU64> = (0..region_len(4096).unwrap() / 8).map(|_| AtomicU64::new(0)).collect();
    /// let ring = Ring::create(RawRegion::new(&words), Mode::Mpsc, None, 1, 0).unwrap();
    /// let producer = Producer::attach(ring).unwrap();
    /// let mut consumer = Consumer::attach(ring, 1).unwrap();
    /// let mut slow = producer.claim(1, 0, 64).unwrap();
    /// assert!(!slow.is_abandoned());
    /// let noted = consumer.blocked().unwrap().unwrap();
    /// // ... the consumer's deadline passes ...
    /// assert!(consumer.unblock(noted).unwrap());
    /// assert!(slow.is_abandoned(), "a long writer may stop here");
    /// slow.write(0, &[1; 64]); // copies nothing: the space is the consumer's now
    /// assert_eq!(slow.commit(), Err(Abandoned));
    /// ```
    #[inline]
    pub fn is_abandoned(&self) -> bool {
        // Relaxed: a hint; the commit's CAS decides.
        !S::EXCLUSIVE && self.mem.load(self.offset, Ordering::Relaxed) != self.marker
    }

    /// Copies `bytes` into the payload at `at`. An MPSC grant that was abandoned ([`Grant::is_abandoned`]) copies
    /// nothing: its space belongs to the consumer.
    ///
    /// # Panics
    /// If `at + bytes.len()` exceeds the payload length.
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
    /// let mut grant = producer.claim(1, 0, 6).unwrap();
    /// grant.write(3, b"def"); // in any order
    /// grant.write(0, b"abc");
    /// grant.commit().unwrap();
    /// let mut consumer = Consumer::attach(ring, 1).unwrap();
    /// let batch = consumer.poll(usize::MAX).unwrap().unwrap();
    /// assert_eq!(Records::new(batch.bytes()).next().unwrap().unwrap().payload, b"abcdef");
    /// ```
    ///
    /// Writing past the grant panics:
    /// ```should_panic
    /// use core::sync::atomic::AtomicU64;
    /// use seqring_core::ring::{region_len, Mode, Producer, Ring};
    /// use seqring_core::RawRegion;
    /// let words: Vec<AtomicU64> = (0..region_len(4096).unwrap() / 8).map(|_| AtomicU64::new(0)).collect();
    /// let ring = Ring::create(RawRegion::new(&words), Mode::Mpsc, None, 1, 0).unwrap();
    /// let producer = Producer::attach(ring).unwrap();
    /// let mut grant = producer.claim(1, 0, 4).unwrap();
    /// grant.write(2, b"abc");
    /// ```
    #[inline]
    pub fn write(&mut self, at: usize, bytes: &[u8]) {
        assert!(
            at.checked_add(bytes.len()).is_some_and(|end| end <= self.len()),
            "write past the grant"
        );
        if self.is_abandoned() {
            return;
        }
        // The grant owns its bytes until `commit`'s Release store (module invariant).
        copy_payload::<M, S>(self.mem, self.payload_offset() + at, bytes);
    }

    /// Publishes the record.
    ///
    /// # Errors
    /// [`Abandoned`] if the consumer unblocked the claim first (after its deadline): the record is not delivered,
    /// and was counted as abandoned. Never for the SPSC producer's grants.
    ///
    /// # Examples
    /// ```
    /// use core::sync::atomic::AtomicU64;
    /// use seqring_core::ring::{region_len, Abandoned, Consumer, Mode, Producer, Ring};
    /// use seqring_core::RawRegion;
    /// let words: Vec<AtomicU64> = (0..region_len(4096).unwrap() / 8).map(|_| AtomicU64::new(0)).collect();
    /// let ring = Ring::create(RawRegion::new(&words), Mode::Mpsc, None, 1, 0).unwrap();
    /// let producer = Producer::attach(ring).unwrap();
    /// let mut consumer = Consumer::attach(ring, 1).unwrap();
    /// let mut grant = producer.claim(1, 10, 4).unwrap();
    /// grant.write(0, b"fast");
    /// assert_eq!(grant.commit(), Ok(()));
    /// let slow = producer.claim(1, 11, 4).unwrap();
    /// consumer.poll(usize::MAX).unwrap().unwrap().release();
    /// let noted = consumer.blocked().unwrap().unwrap();
    /// // ... the caller's deadline passes, measured from `blocked` ...
    /// assert!(consumer.unblock(noted).unwrap());
    /// assert_eq!(slow.commit(), Err(Abandoned), "too late: counted abandoned, not delivered");
    /// assert_eq!(ring.stats().abandoned, 1);
    /// ```
    #[inline]
    pub fn commit(self) -> Result<(), Abandoned> {
        let this = ManuallyDrop::new(self);
        commit_at::<M, S>(this.mem, this.offset, this.marker)
    }

    /// Withdraws the claim: the record becomes padding, which the consumer skips. (An MPSC claim the consumer
    /// already unblocked stays as the consumer padded it.)
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
    /// let grant = producer.claim(1, 0, 100).unwrap();
    /// grant.abort(); // e.g. serialisation failed
    /// producer.try_write(1, 1, b"next").unwrap();
    /// let mut consumer = Consumer::attach(ring, 1).unwrap();
    /// let batch = consumer.poll(usize::MAX).unwrap().unwrap();
    /// assert_eq!(batch.len(), 120 + 24, "the padding is part of the batch");
    /// let records: Vec<_> = Records::new(batch.bytes()).map(|r| r.unwrap().payload).collect();
    /// assert_eq!(records, [b"next"]);
    /// assert_eq!(ring.stats().abandoned, 0, "an abort is not an abandoned claim");
    /// ```
    pub fn abort(self) {
        ManuallyDrop::new(self).finish_abort();
    }

    /// The record's length, header included (the marker holds it, negated).
    #[inline(always)]
    fn record_len(&self) -> usize {
        Word0::decode(self.marker).length.unsigned_abs() as usize
    }

    /// Turns the claim into padding: the abort, and the drop of a grant neither committed nor aborted.
    fn finish_abort(&self) {
        let padding = Word0::padding(extent(self.record_len())).encode();
        if S::EXCLUSIVE {
            // Release: pairs with the consumer's Acquire load of this header.
            self.mem.store(self.offset, padding, Ordering::Release);
        } else {
            // Release: as the store above. A failure means the consumer padded the claim already.
            let _ = self
                .mem
                .compare_exchange(self.offset, self.marker, padding, Ordering::Release, Ordering::Relaxed);
        }
    }
}

#[cfg(not(loom))]
impl<M: crate::memory::Contiguous> Grant<'_, M, Exclusive> {
    /// The payload as a plain mutable slice, for zero-copy serialisation straight into the ring (SPSC only: an MPSC
    /// payload may be scanned by the consumer's abandoned-claim check, so it is written with atomic stores).
    ///
    /// # Examples
    /// ```
    /// use core::sync::atomic::AtomicU64;
    /// use seqring_core::ring::{region_len, Consumer, Mode, Ring, SpscProducer};
    /// use seqring_core::RawRegion;
    /// use seqring_core::ring::record::Records;
    /// let words: Vec<AtomicU64> = (0..region_len(4096).unwrap() / 8).map(|_| AtomicU64::new(0)).collect();
    /// let ring = Ring::create(RawRegion::new(&words), Mode::Spsc, None, 1, 0).unwrap();
    /// let producer = SpscProducer::attach(ring, 1).unwrap();
    /// let frame: [u16; 4] = [10, 20, 30, 40];
    /// let mut grant = producer.claim(1, 0, 8).unwrap();
    /// for (chunk, px) in grant.payload_mut().chunks_exact_mut(2).zip(frame) {
    ///     chunk.copy_from_slice(&px.to_le_bytes());
    /// }
    /// grant.commit().unwrap();
    /// let mut consumer = Consumer::attach(ring, 1).unwrap();
    /// let batch = consumer.poll(usize::MAX).unwrap().unwrap();
    /// let payload = Records::new(batch.bytes()).next().unwrap().unwrap().payload;
    /// assert_eq!(payload, [10, 0, 20, 0, 30, 0, 40, 0]);
    /// ```
    #[inline]
    pub fn payload_mut(&mut self) -> &mut [u8] {
        let (offset, len) = (self.payload_offset(), self.len());
        // SAFETY: the grant owns its record's bytes exclusively until commit or abort (module invariant): the SPSC
        // tail is this producer's alone, the consumer reads the bytes only after the Release store in `commit`,
        // which happens after this borrow of `self` ends, and an SPSC ring is never scanned for zero-length claims
        // (the marker is published with the tail). The slice lives no longer than `&mut self`. `raw` lends the very
        // words the grant was claimed in (`Contiguous`'s contract).
        unsafe { self.mem.raw().bytes_mut(offset, len) }
    }
}

impl<M: Memory, S: Sharing> Drop for Grant<'_, M, S> {
    fn drop(&mut self) {
        // A grant that was committed or aborted is never dropped (`ManuallyDrop` in both).
        self.finish_abort();
    }
}
