//! The SPSC/MPSC log ring: variable-length records from many producers to one consumer, in raw shared bytes.
//!
//! The algorithm is Agrona's `ManyToOneRingBuffer` (Real Logic, Apache-2.0) over the [`record`] format:
//! - **Claim** (MPSC). Read the head cache and then the tail. If the record does not fit, reload the head; if it
//!   still does not fit, return [`ClaimError::Full`] (the caller counts a drop when it gives up). A record that
//!   would cross the end of the data area takes a padding record up to the end in the same CAS on the tail, and
//!   starts at offset 0. After the CAS the producer stores `-length` (the claim marker, which also carries the
//!   producer's *claimant* tag in the record's reserved bytes, so the consumer can ask whether the claim's own
//!   producer is alive) followed by a Release fence,
//!   writes the header and payload (atomic word stores), and commits with one Release store of `+length`.
//!   [`Grant::abort`] turns the claim into padding instead. The SPSC producer ([`SpscProducer`]) owns the tail: it
//!   stores its marker first and then publishes the tail with Release, so its claims are never zero-length.
//! - **Late producers.** An MPSC producer's marker is a CAS from zero and its commit a CAS from its own marker, so
//!   a producer that comes back after the consumer unblocked its claim fails ([`ClaimError::Abandoned`],
//!   [`Abandoned`]) instead of writing over the padding: every claim ends either delivered or abandoned (counted
//!   in the unblock that padded it), never both, and a late commit never publishes into released space. A marker
//!   CAS that succeeds on a zero the consumer's *release* left (the claim was padded and released while its
//!   producer slept) is caught by reading the release watermark after the CAS, and undone.
//! - **Close.** [`Ring::close`] sets the [`CLOSED`] bit of the tail in one read-modify-write, so every claim is
//!   either below the returned final tail or refused with [`ClaimError::Closed`].
//! - **Consume.** The consumer reads forward from the head while the length is positive, skips padding, and hands
//!   out one contiguous [`Batch`] at a time (it borrows the consumer). Release is crash-consistent: the consumer
//!   first records the new head in a *release watermark*, then zeroes the consumed bytes, then advances the head
//!   with Release. A consumer that attaches after a crash finishes any release the watermark shows as begun, so
//!   half-zeroed bytes are never decoded.
//! - **Unblock**, in two phases so that a deadline covers every claim it pads over. [`Consumer::blocked`] notes the
//!   head record when it is uncommitted with the tail ahead: its extent comes from a negative length, or, for a
//!   zero length (an MPSC producer died right after its CAS), from a scan to the first non-zero word within the
//!   claimed space *at that moment*. After the caller's deadline, [`Consumer::unblock`] confirms that nothing in
//!   that extent changed (after an Acquire fence that pairs with the producers' fence after their marker) and
//!   turns it into padding, counted as `abandoned`. Every claim in the extent existed when it was noted, so each
//!   has stayed unwritten for the whole deadline. (Agrona scans the space as it is at the deadline, which can pad
//!   over a claim made a moment before.) A [`Blockage`] names its ring, and another ring's consumer refuses it.
//!   The core has no clock: **the caller owns the deadline** and must measure it from the `blocked` call that
//!   produced the blockage (the std logger times every blockage it unblocks, its takeover included). An SPSC
//!   claim is unblocked only once its producer has gone (a later producer epoch, or no producer attached).
//! - **Reading is bounded by the tail.** `poll` never reads a header at or past the tail it loaded, so words a
//!   producer stored before it died without publishing its tail (SPSC wrap padding or marker) are never consumed.
//!
//! Layout after the region header (every field a little-endian `u64`):
//!
//! ```text
//!   64  capacity of the data area in bytes (a power of two, 64 ..= 1 GiB)
//!   72  largest record, header included (aligned; <= capacity / 2)
//!   80  mode: 1 SPSC, 2 MPSC
//!   88  data offset (768)
//!   96  attached SPSC producer token (0: none)      104  attached consumer token (0: none)
//!  112  SPSC producer epoch (bumped by every SPSC attach; its low 16 bits tag the producer's claim markers)
//!  128  head (136: release watermark, 144: its check, !watermark)
//!  256  tail (bit 63: closed)   384  head cache   (each alone on a 128-byte stride)
//!  512  dropped (claims refused because the ring was full)
//!  640  consumer statistics: 640 abandoned, 648 records consumed, 656 payload bytes consumed, 664 heartbeat
//!  768  data area
//! ```
//!
//! Counting abandoned claims: `abandoned` counts the unblocks that padded a claim. A claim counted there is never
//! delivered, and a delivered one is never counted; but a zero-length unblock may cover more than one dead claim
//! (counted once), a wrapping claim whose producer died right after its tail CAS spans two stretches of the data
//! area (counted twice), and a consumer that dies between its padding CAS and its count loses the count (the
//! claim stays padded). `src/ring/crash_tests.rs` checks each of these crash points.
//!
//! Layout versions (the region header's): 2 is written. A version 1 ring (the release before the watermark's
//! check word, the claimant tags, the closed bit and the epoch) is read: its watermark is ignored when it is 0
//! (that release never wrote one) and otherwise validated against the head and the tail only.
//!
//! Invariants: head and tail are byte positions that only grow; `head <= tail <= head + capacity`; every byte
//! in `[tail, head + capacity)` (mod capacity) is zero; a record never crosses the end of the data area; only a
//! grant's owner writes its record's bytes, and only the attached consumer zeroes bytes and moves the head.

pub mod consumer;
pub mod producer;
pub mod record;

pub use consumer::{Batch, Blockage, Consumer};
pub use producer::{Abandoned, ClaimError, Exclusive, Grant, Producer, Shared, Sharing, SpscProducer};

use crate::header::{self, HeaderError, RegionKind, HEADER_LEN};
use crate::memory::Memory;
use crate::patience::Patience;
use crate::sync::Ordering;

const CAPACITY_AT: usize = HEADER_LEN;
const MAX_RECORD_AT: usize = 72;
const MODE_AT: usize = 80;
const DATA_OFFSET_AT: usize = 88;
/// Offset of the attached SPSC producer's token.
///
/// # Examples
/// ```
/// use core::sync::atomic::AtomicU64;
/// use seqring_core::ring::{region_len, Mode, Ring, SpscProducer, SPSC_OWNER_AT};
/// use seqring_core::RawRegion;
/// use seqring_core::Memory;
/// let words: Vec<AtomicU64> = (0..region_len(4096).unwrap() / 8).map(|_| AtomicU64::new(0)).collect();
/// let ring = Ring::create(RawRegion::new(&words), Mode::Spsc, None, 1, 0).unwrap();
/// let producer = SpscProducer::attach(ring, 4242).unwrap();
/// assert_eq!(ring.memory().load(SPSC_OWNER_AT, core::sync::atomic::Ordering::Relaxed), 4242);
/// drop(producer);
/// assert_eq!(ring.memory().load(SPSC_OWNER_AT, core::sync::atomic::Ordering::Relaxed), 0);
/// ```
pub const SPSC_OWNER_AT: usize = 96;
/// Offset of the attached consumer's token.
///
/// # Examples
/// ```
/// use core::sync::atomic::AtomicU64;
/// use seqring_core::ring::{region_len, Consumer, Mode, Ring, CONSUMER_OWNER_AT};
/// use seqring_core::RawRegion;
/// use seqring_core::Memory;
/// let words: Vec<AtomicU64> = (0..region_len(4096).unwrap() / 8).map(|_| AtomicU64::new(0)).collect();
/// let ring = Ring::create(RawRegion::new(&words), Mode::Mpsc, None, 1, 0).unwrap();
/// let consumer = Consumer::attach(ring, 77).unwrap();
/// assert_eq!(ring.memory().load(CONSUMER_OWNER_AT, core::sync::atomic::Ordering::Relaxed), 77);
/// drop(consumer);
/// assert_eq!(ring.memory().load(CONSUMER_OWNER_AT, core::sync::atomic::Ordering::Relaxed), 0);
/// ```
pub const CONSUMER_OWNER_AT: usize = 104;
/// Offset of the head position (bytes released by the consumer).
///
/// # Examples
/// ```
/// use core::sync::atomic::AtomicU64;
/// use seqring_core::ring::{region_len, Consumer, Mode, Producer, Ring, HEAD_AT, TAIL_AT};
/// use seqring_core::RawRegion;
/// use seqring_core::Memory;
/// let words: Vec<AtomicU64> = (0..region_len(4096).unwrap() / 8).map(|_| AtomicU64::new(0)).collect();
/// let ring = Ring::create(RawRegion::new(&words), Mode::Mpsc, None, 1, 0).unwrap();
/// let load = |at| ring.memory().load(at, core::sync::atomic::Ordering::Relaxed);
/// Producer::attach(ring).unwrap().try_write(1, 0, b"0123456789").unwrap(); // a 26-byte record, 32 aligned
/// assert_eq!((load(HEAD_AT), load(TAIL_AT)), (0, 32));
/// let mut consumer = Consumer::attach(ring, 1).unwrap();
/// consumer.poll(usize::MAX).unwrap().unwrap().release();
/// assert_eq!((load(HEAD_AT), load(TAIL_AT)), (32, 32));
/// ```
pub const HEAD_AT: usize = 128;
/// Offset of the release watermark: the head a release in progress will store (equal to the head when none is).
///
/// # Examples
/// ```
/// use core::sync::atomic::AtomicU64;
/// use seqring_core::ring::{region_len, Consumer, Mode, Producer, Ring, HEAD_AT, RELEASE_CHECK_AT, RELEASE_TO_AT};
/// use seqring_core::RawRegion;
/// use seqring_core::Memory;
/// let words: Vec<AtomicU64> = (0..region_len(4096).unwrap() / 8).map(|_| AtomicU64::new(0)).collect();
/// let ring = Ring::create(RawRegion::new(&words), Mode::Mpsc, None, 1, 0).unwrap();
/// let load = |at| ring.memory().load(at, core::sync::atomic::Ordering::Relaxed);
/// Producer::attach(ring).unwrap().try_write(1, 0, b"abc").unwrap();
/// Consumer::attach(ring, 1).unwrap().poll(usize::MAX).unwrap().unwrap().release();
/// // After a completed release the watermark equals the head, and its check word is its complement.
/// assert_eq!(load(RELEASE_TO_AT), load(HEAD_AT));
/// assert_eq!(load(RELEASE_CHECK_AT), !load(RELEASE_TO_AT));
/// ```
pub const RELEASE_TO_AT: usize = 136;
/// Offset of the watermark's check word (`!watermark`): a watermark is trusted only when its check matches.
///
/// # Examples
/// ```
/// use core::sync::atomic::AtomicU64;
/// use seqring_core::ring::{region_len, Mode, Ring, RELEASE_CHECK_AT, RELEASE_TO_AT};
/// use seqring_core::RawRegion;
/// use seqring_core::Memory;
/// let words: Vec<AtomicU64> = (0..region_len(4096).unwrap() / 8).map(|_| AtomicU64::new(0)).collect();
/// let ring = Ring::create(RawRegion::new(&words), Mode::Mpsc, None, 1, 0).unwrap();
/// let load = |at| ring.memory().load(at, core::sync::atomic::Ordering::Relaxed);
/// // A fresh ring has a zero watermark and a zero check: not a trusted watermark, so nothing is re-released.
/// assert_eq!((load(RELEASE_TO_AT), load(RELEASE_CHECK_AT)), (0, 0));
/// assert_ne!(load(RELEASE_CHECK_AT), !load(RELEASE_TO_AT));
/// ```
pub const RELEASE_CHECK_AT: usize = 144;
/// Offset of the SPSC producer epoch.
///
/// # Examples
/// ```
/// use core::sync::atomic::AtomicU64;
/// use seqring_core::ring::{region_len, Mode, Ring, SpscProducer, SPSC_EPOCH_AT};
/// use seqring_core::RawRegion;
/// use seqring_core::Memory;
/// let words: Vec<AtomicU64> = (0..region_len(4096).unwrap() / 8).map(|_| AtomicU64::new(0)).collect();
/// let ring = Ring::create(RawRegion::new(&words), Mode::Spsc, None, 1, 0).unwrap();
/// let epoch = || ring.memory().load(SPSC_EPOCH_AT, core::sync::atomic::Ordering::Relaxed);
/// assert_eq!(epoch(), 0);
/// drop(SpscProducer::attach(ring, 1).unwrap());
/// drop(SpscProducer::attach(ring, 1).unwrap());
/// assert_eq!(epoch(), 2, "every attach starts a new epoch");
/// ```
pub const SPSC_EPOCH_AT: usize = 112;
/// Offset of the tail position (bytes claimed by producers), with [`CLOSED`] set once the ring is closed.
///
/// # Examples
/// ```
/// use core::sync::atomic::AtomicU64;
/// use seqring_core::ring::{region_len, Consumer, Mode, Producer, Ring, HEAD_AT, TAIL_AT};
/// use seqring_core::RawRegion;
/// use seqring_core::Memory;
/// let words: Vec<AtomicU64> = (0..region_len(4096).unwrap() / 8).map(|_| AtomicU64::new(0)).collect();
/// let ring = Ring::create(RawRegion::new(&words), Mode::Mpsc, None, 1, 0).unwrap();
/// let load = |at| ring.memory().load(at, core::sync::atomic::Ordering::Relaxed);
/// Producer::attach(ring).unwrap().try_write(1, 0, b"0123456789").unwrap(); // a 26-byte record, 32 aligned
/// assert_eq!((load(HEAD_AT), load(TAIL_AT)), (0, 32));
/// let mut consumer = Consumer::attach(ring, 1).unwrap();
/// consumer.poll(usize::MAX).unwrap().unwrap().release();
/// assert_eq!((load(HEAD_AT), load(TAIL_AT)), (32, 32));
/// ```
pub const TAIL_AT: usize = 256;
/// The bit of the tail word that [`Ring::close`] sets: no claim succeeds after it. Positions never reach it (a
/// ring would have to carry 8 EiB first).
///
/// # Examples
/// ```
/// use core::sync::atomic::AtomicU64;
/// use seqring_core::ring::{region_len, Mode, Producer, Ring, CLOSED, TAIL_AT};
/// use seqring_core::RawRegion;
/// use seqring_core::Memory;
/// let words: Vec<AtomicU64> = (0..region_len(4096).unwrap() / 8).map(|_| AtomicU64::new(0)).collect();
/// let ring = Ring::create(RawRegion::new(&words), Mode::Mpsc, None, 1, 0).unwrap();
/// Producer::attach(ring).unwrap().try_write(1, 0, b"last").unwrap();
/// let final_tail = ring.close().unwrap();
/// assert_eq!(final_tail, 24);
/// assert_eq!(ring.memory().load(TAIL_AT, core::sync::atomic::Ordering::Relaxed), final_tail | CLOSED);
/// assert_eq!(ring.stats().tail, 24, "stats report the position without the bit");
/// ```
pub const CLOSED: u64 = 1 << 63;
/// Offset of the producers' cached copy of the head.
///
/// # Examples
/// ```
/// use core::sync::atomic::AtomicU64;
/// use seqring_core::ring::{region_len, Consumer, Mode, Producer, Ring, HEAD_CACHE_AT};
/// use seqring_core::RawRegion;
/// use seqring_core::Memory;
/// let words: Vec<AtomicU64> = (0..region_len(64).unwrap() / 8).map(|_| AtomicU64::new(0)).collect();
/// let ring = Ring::create(RawRegion::new(&words), Mode::Mpsc, None, 1, 0).unwrap();
/// // A 64-byte ring holds four 16-byte records. A producer re-reads the real head only when its cached copy
/// // says the ring is full, and then refreshes the cache.
/// let cache = || ring.memory().load(HEAD_CACHE_AT, core::sync::atomic::Ordering::Relaxed);
/// let producer = Producer::attach(ring).unwrap();
/// for t in 0..4 {
///     producer.try_write(1, t, b"").unwrap();
/// }
/// let mut consumer = Consumer::attach(ring, 1).unwrap();
/// consumer.poll(usize::MAX).unwrap().unwrap().release();
/// assert_eq!(cache(), 0, "the cache lags behind the head");
/// producer.try_write(1, 4, b"").unwrap();
/// assert_eq!(cache(), 64);
/// ```
pub const HEAD_CACHE_AT: usize = 384;
/// Offset of the count of claims refused because the ring was full.
///
/// # Examples
/// ```
/// use core::sync::atomic::AtomicU64;
/// use seqring_core::ring::{region_len, Mode, Producer, Ring, DROPPED_AT};
/// use seqring_core::RawRegion;
/// use seqring_core::Memory;
/// let words: Vec<AtomicU64> = (0..region_len(4096).unwrap() / 8).map(|_| AtomicU64::new(0)).collect();
/// let ring = Ring::create(RawRegion::new(&words), Mode::Mpsc, None, 1, 0).unwrap();
/// Producer::attach(ring).unwrap().count_dropped(3);
/// assert_eq!(ring.memory().load(DROPPED_AT, core::sync::atomic::Ordering::Relaxed), 3);
/// assert_eq!(ring.stats().dropped, 3);
/// ```
pub const DROPPED_AT: usize = 512;
/// Offset of the count of abandoned claims the consumer unblocked.
///
/// # Examples
/// ```
/// use core::sync::atomic::AtomicU64;
/// use seqring_core::ring::{region_len, Consumer, Mode, Producer, Ring, ABANDONED_AT, BYTES_AT, HEARTBEAT_AT, RECORDS_AT};
/// use seqring_core::RawRegion;
/// use seqring_core::Memory;
/// let words: Vec<AtomicU64> = (0..region_len(4096).unwrap() / 8).map(|_| AtomicU64::new(0)).collect();
/// let ring = Ring::create(RawRegion::new(&words), Mode::Mpsc, None, 1, 0).unwrap();
/// let load = |at| ring.memory().load(at, core::sync::atomic::Ordering::Relaxed);
/// let producer = Producer::attach(ring).unwrap();
/// producer.try_write(1, 0, b"abc").unwrap();
/// producer.try_write(2, 0, b"defgh").unwrap();
/// let mut consumer = Consumer::attach(ring, 1).unwrap();
/// consumer.poll(usize::MAX).unwrap().unwrap().release();
/// consumer.heartbeat(1_234);
/// assert_eq!((load(RECORDS_AT), load(BYTES_AT), load(HEARTBEAT_AT)), (2, 8, 1_234));
/// assert_eq!(load(ABANDONED_AT), 0);
/// ```
pub const ABANDONED_AT: usize = 640;
/// Offset of the count of data records consumed.
///
/// # Examples
/// ```
/// use core::sync::atomic::AtomicU64;
/// use seqring_core::ring::{region_len, Consumer, Mode, Producer, Ring, ABANDONED_AT, BYTES_AT, HEARTBEAT_AT, RECORDS_AT};
/// use seqring_core::RawRegion;
/// use seqring_core::Memory;
/// let words: Vec<AtomicU64> = (0..region_len(4096).unwrap() / 8).map(|_| AtomicU64::new(0)).collect();
/// let ring = Ring::create(RawRegion::new(&words), Mode::Mpsc, None, 1, 0).unwrap();
/// let load = |at| ring.memory().load(at, core::sync::atomic::Ordering::Relaxed);
/// let producer = Producer::attach(ring).unwrap();
/// producer.try_write(1, 0, b"abc").unwrap();
/// producer.try_write(2, 0, b"defgh").unwrap();
/// let mut consumer = Consumer::attach(ring, 1).unwrap();
/// consumer.poll(usize::MAX).unwrap().unwrap().release();
/// consumer.heartbeat(1_234);
/// assert_eq!((load(RECORDS_AT), load(BYTES_AT), load(HEARTBEAT_AT)), (2, 8, 1_234));
/// assert_eq!(load(ABANDONED_AT), 0);
/// ```
pub const RECORDS_AT: usize = 648;
/// Offset of the count of payload bytes consumed.
///
/// # Examples
/// ```
/// use core::sync::atomic::AtomicU64;
/// use seqring_core::ring::{region_len, Consumer, Mode, Producer, Ring, ABANDONED_AT, BYTES_AT, HEARTBEAT_AT, RECORDS_AT};
/// use seqring_core::RawRegion;
/// use seqring_core::Memory;
/// let words: Vec<AtomicU64> = (0..region_len(4096).unwrap() / 8).map(|_| AtomicU64::new(0)).collect();
/// let ring = Ring::create(RawRegion::new(&words), Mode::Mpsc, None, 1, 0).unwrap();
/// let load = |at| ring.memory().load(at, core::sync::atomic::Ordering::Relaxed);
/// let producer = Producer::attach(ring).unwrap();
/// producer.try_write(1, 0, b"abc").unwrap();
/// producer.try_write(2, 0, b"defgh").unwrap();
/// let mut consumer = Consumer::attach(ring, 1).unwrap();
/// consumer.poll(usize::MAX).unwrap().unwrap().release();
/// consumer.heartbeat(1_234);
/// assert_eq!((load(RECORDS_AT), load(BYTES_AT), load(HEARTBEAT_AT)), (2, 8, 1_234));
/// assert_eq!(load(ABANDONED_AT), 0);
/// ```
pub const BYTES_AT: usize = 656;
/// Offset of the consumer's heartbeat.
///
/// # Examples
/// ```
/// use core::sync::atomic::AtomicU64;
/// use seqring_core::ring::{region_len, Consumer, Mode, Producer, Ring, ABANDONED_AT, BYTES_AT, HEARTBEAT_AT, RECORDS_AT};
/// use seqring_core::RawRegion;
/// use seqring_core::Memory;
/// let words: Vec<AtomicU64> = (0..region_len(4096).unwrap() / 8).map(|_| AtomicU64::new(0)).collect();
/// let ring = Ring::create(RawRegion::new(&words), Mode::Mpsc, None, 1, 0).unwrap();
/// let load = |at| ring.memory().load(at, core::sync::atomic::Ordering::Relaxed);
/// let producer = Producer::attach(ring).unwrap();
/// producer.try_write(1, 0, b"abc").unwrap();
/// producer.try_write(2, 0, b"defgh").unwrap();
/// let mut consumer = Consumer::attach(ring, 1).unwrap();
/// consumer.poll(usize::MAX).unwrap().unwrap().release();
/// consumer.heartbeat(1_234);
/// assert_eq!((load(RECORDS_AT), load(BYTES_AT), load(HEARTBEAT_AT)), (2, 8, 1_234));
/// assert_eq!(load(ABANDONED_AT), 0);
/// ```
pub const HEARTBEAT_AT: usize = 664;
/// Where the data area starts.
///
/// # Examples
/// ```
/// use core::sync::atomic::AtomicU64;
/// use seqring_core::ring::{region_len, Mode, Producer, Ring, DATA_OFFSET};
/// use seqring_core::RawRegion;
/// use seqring_core::Memory;
/// let words: Vec<AtomicU64> = (0..region_len(4096).unwrap() / 8).map(|_| AtomicU64::new(0)).collect();
/// let ring = Ring::create(RawRegion::new(&words), Mode::Mpsc, None, 1, 0).unwrap();
/// Producer::attach(ring).unwrap().try_write(9, 5, b"x").unwrap();
/// // The first record's header sits at the start of the data area: length 17, kind data, source 9.
/// let word0 = ring.memory().load(DATA_OFFSET, core::sync::atomic::Ordering::Relaxed);
/// assert_eq!(word0.to_le_bytes()[..6], [17, 0, 0, 0, 1, 9]);
/// assert_eq!(ring.memory().load(DATA_OFFSET + 8, core::sync::atomic::Ordering::Relaxed), 5);
/// ```
pub const DATA_OFFSET: usize = 768;
/// The smallest data area.
///
/// # Examples
/// ```
/// use core::sync::atomic::AtomicU64;
/// use seqring_core::header::HeaderError;
/// use seqring_core::ring::{region_len, Mode, Ring, RingError, MIN_CAPACITY};
/// use seqring_core::RawRegion;
/// let words: Vec<AtomicU64> = (0..region_len(MIN_CAPACITY).unwrap() / 8).map(|_| AtomicU64::new(0)).collect();
/// assert_eq!(Ring::create(RawRegion::new(&words), Mode::Mpsc, None, 1, 0).unwrap().capacity(), MIN_CAPACITY);
/// let short = RawRegion::new(&words[..words.len() - 1]);
/// assert!(matches!(
///     Ring::create(short, Mode::Mpsc, None, 1, 0),
///     Err(RingError::Region(HeaderError::TooShort { .. }))
/// ));
/// ```
pub const MIN_CAPACITY: usize = 64;
/// The largest data area: padding lengths must fit the record's `i32` length field.
///
/// # Examples
/// ```
/// use seqring_core::ring::record::MAX_RECORD_LEN;
/// use seqring_core::ring::MAX_CAPACITY;
/// assert_eq!(MAX_CAPACITY, 1 << 30);
/// // A padding record may span up to the whole data area, and its length must fit the record's i32 field.
/// assert!(MAX_CAPACITY <= MAX_RECORD_LEN);
/// ```
pub const MAX_CAPACITY: usize = 1 << 30;

/// Who may produce.
///
/// # Examples
/// ```
/// use core::sync::atomic::AtomicU64;
/// use seqring_core::ring::{region_len, Mode, Producer, Ring, RingError, SpscProducer};
/// use seqring_core::RawRegion;
/// let words: Vec<AtomicU64> = (0..region_len(4096).unwrap() / 8).map(|_| AtomicU64::new(0)).collect();
/// let ring = Ring::create(RawRegion::new(&words), Mode::Spsc, None, 1, 0).unwrap();
/// assert_eq!(ring.mode(), Mode::Spsc);
/// assert_eq!(Producer::attach(ring).unwrap_err(), RingError::WrongMode { ring: Mode::Spsc });
/// assert!(SpscProducer::attach(ring, 1).is_ok());
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Mode {
    /// One producer at a time ([`SpscProducer`]); the tail is stored, not CASed.
    Spsc = 1,
    /// Any number of producers in any process.
    Mpsc = 2,
}

/// The counters of a ring.
///
/// # Examples
/// ```
/// use core::sync::atomic::AtomicU64;
/// use seqring_core::ring::{region_len, Consumer, Mode, Producer, Ring, RingStats};
/// use seqring_core::RawRegion;
/// let words: Vec<AtomicU64> = (0..region_len(4096).unwrap() / 8).map(|_| AtomicU64::new(0)).collect();
/// let ring = Ring::create(RawRegion::new(&words), Mode::Mpsc, None, 1, 0).unwrap();
/// let producer = Producer::attach(ring).unwrap();
/// producer.try_write(1, 10, b"trial 1").unwrap(); // 23 bytes, 24 aligned
/// producer.try_write(1, 20, b"trial 2").unwrap();
/// producer.count_dropped(1);
/// let mut consumer = Consumer::attach(ring, 1).unwrap();
/// consumer.poll(usize::MAX).unwrap().unwrap().release();
/// consumer.heartbeat(99);
/// assert_eq!(
///     ring.stats(),
///     RingStats { head: 48, tail: 48, dropped: 1, abandoned: 0, closed: false, records: 2, bytes: 14, heartbeat: 99 }
/// );
/// ```
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct RingStats {
    /// Bytes ever released by the consumer (a position).
    pub head: u64,
    /// Bytes ever claimed by producers (a position).
    pub tail: u64,
    /// Claims refused because the ring was full.
    pub dropped: u64,
    /// Claims the consumer turned into padding after their producer died.
    pub abandoned: u64,
    /// Whether the ring is closed to new claims ([`Ring::close`]).
    pub closed: bool,
    /// Data records committed and consumed.
    pub records: u64,
    /// Payload bytes of those records.
    pub bytes: u64,
    /// The consumer's last heartbeat (its clock; the std layer uses ns since the UNIX epoch).
    pub heartbeat: u64,
}

/// Errors of ring operations other than claims.
///
/// # Examples
/// ```
/// use core::sync::atomic::AtomicU64;
/// use seqring_core::header::HeaderError;
/// use seqring_core::ring::{region_len, Consumer, Mode, Ring, RingError};
/// use seqring_core::{RawRegion, Spins};
/// let words: Vec<AtomicU64> = (0..region_len(4096).unwrap() / 8).map(|_| AtomicU64::new(0)).collect();
/// // Nothing was created here yet.
/// let err = Ring::open(RawRegion::new(&words), Spins(10)).unwrap_err();
/// assert_eq!(err, RingError::Region(HeaderError::NotReady));
/// let ring = Ring::create(RawRegion::new(&words), Mode::Mpsc, None, 1, 0).unwrap();
/// let _consumer = Consumer::attach(ring, 0x51).unwrap();
/// let err = Consumer::attach(ring, 0x52).unwrap_err();
/// assert_eq!(err, RingError::AlreadyAttached(0x51));
/// assert_eq!(err.to_string(), "ring already has an attached endpoint (token 0x51)");
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum RingError {
    /// The region header or ring layout is invalid.
    Region(HeaderError),
    /// Another consumer or SPSC producer is attached; its token is given.
    AlreadyAttached(u64),
    /// The ring was created for the other mode: attach an SPSC ring with [`SpscProducer`], an MPSC ring with
    /// [`Producer`].
    WrongMode {
        /// The ring's mode.
        ring: Mode,
    },
    /// The record at this position has an impossible length or kind: the ring's memory is corrupt.
    Corrupt {
        /// The position of the bad record.
        position: u64,
    },
    /// A [`Blockage`] noted on another ring was handed to this ring's consumer.
    ForeignBlockage,
}

impl From<HeaderError> for RingError {
    fn from(e: HeaderError) -> Self {
        RingError::Region(e)
    }
}

impl core::fmt::Display for RingError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match self {
            RingError::Region(e) => e.fmt(f),
            RingError::AlreadyAttached(t) => write!(f, "ring already has an attached endpoint (token {t:#x})"),
            RingError::WrongMode { ring } => write!(f, "ring is {ring:?}: attach the matching producer type"),
            RingError::Corrupt { position } => write!(f, "corrupt record at ring position {position}"),
            RingError::ForeignBlockage => f.write_str("blockage was noted on another ring"),
        }
    }
}

impl core::error::Error for RingError {}

/// The layout of a validated ring region, shared by producers and the consumer.
///
/// # Examples
/// ```
/// use core::sync::atomic::AtomicU64;
/// use seqring_core::ring::{region_len, Consumer, Mode, Producer, Ring};
/// use seqring_core::{RawRegion, Spins};
/// let words: Vec<AtomicU64> = (0..region_len(1 << 16).unwrap() / 8).map(|_| AtomicU64::new(0)).collect();
/// // The creator lays the ring out; another process (here: another handle) opens the same bytes.
/// let created = Ring::create(RawRegion::new(&words), Mode::Mpsc, Some(256), 4242, 0).unwrap();
/// let opened = Ring::open(RawRegion::new(&words), Spins(0)).unwrap();
/// assert_eq!((opened.capacity(), opened.max_record(), opened.mode()), (1 << 16, 256, Mode::Mpsc));
/// Producer::attach(opened).unwrap().try_write(1, 0, b"from the opener").unwrap();
/// let mut consumer = Consumer::attach(created, 1).unwrap();
/// assert_eq!(consumer.poll(usize::MAX).unwrap().unwrap().payload_bytes(), 15);
/// ```
#[derive(Clone, Copy, Debug)]
pub struct Ring<M> {
    mem: M,
    capacity: usize,
    max_record: usize,
    mode: Mode,
    /// The region's layout version ([`header::MIN_VERSION`] ..= [`header::VERSION`]).
    version: u32,
}

/// The region length for a ring with a data area of `capacity` bytes.
///
/// # Examples
/// ```
/// use seqring_core::ring::{region_len, DATA_OFFSET};
/// assert_eq!(region_len(1 << 16), Some(DATA_OFFSET + (1 << 16)));
/// ```
pub const fn region_len(capacity: usize) -> Option<usize> {
    DATA_OFFSET.checked_add(capacity)
}

impl<M: Memory> Ring<M> {
    /// Lays out a new ring over all of `mem` (zeroed or unused) and publishes it ready.
    ///
    /// The data area is everything after [`DATA_OFFSET`] and must be a power of two of at least
    /// [`MIN_CAPACITY`]. `max_record` (the largest record, 16-byte header included) defaults to a quarter of the
    /// capacity and may be at most half of it.
    ///
    /// Over a ring that already has a consumer or an SPSC producer attached, it refuses (their batches and grants
    /// borrow the ring's bytes): it holds both endpoint slots while it lays the ring out, so no endpoint attaches
    /// meanwhile either. A dead endpoint's slot is freed first with the `unsafe` [`Ring::evict_consumer`] or
    /// [`Ring::evict_spsc_producer`], which state the caller's knowledge of the death.
    ///
    /// # Errors
    /// [`HeaderError::TooShort`], `Corrupt` naming the bad parameter, or [`RingError::AlreadyAttached`] with the
    /// token of an attached endpoint.
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
    /// producer.try_write(3, 42, b"hello").unwrap();
    /// let mut consumer = Consumer::attach(ring, 1).unwrap();
    /// let batch = consumer.poll(usize::MAX).unwrap().unwrap();
    /// let mut buf = vec![0u8; batch.len()];
    /// batch.copy_to(&mut buf);
    /// let record = Records::new(&buf).next().unwrap().unwrap();
    /// assert_eq!((record.source_id, record.timestamp, record.payload), (3, 42, &b"hello"[..]));
    /// batch.release();
    /// ```
    pub fn create(
        mem: M,
        mode: Mode,
        max_record: Option<usize>,
        creator_pid: u64,
        created_ns: u64,
    ) -> Result<Self, RingError> {
        header::check_len(&mem, DATA_OFFSET + MIN_CAPACITY)?;
        let capacity = mem.len() - DATA_OFFSET;
        if !capacity.is_power_of_two() || capacity > MAX_CAPACITY {
            return Err(HeaderError::Corrupt("ring capacity must be a power of two of at most 1 GiB").into());
        }
        let max_record = max_record.unwrap_or(capacity / 4);
        if max_record < record::HEADER_LEN || max_record > capacity / 2 || max_record > record::MAX_RECORD_LEN {
            return Err(HeaderError::Corrupt("ring max record must be 16 ..= capacity / 2").into());
        }
        hold_slots(&mem)?;
        header::init_header(&mem, RegionKind::Ring, creator_pid, created_ns)?;
        // Relaxed throughout: nothing is visible until `publish_ready`'s Release store.
        mem.store(CAPACITY_AT, capacity as u64, Ordering::Relaxed);
        mem.store(MAX_RECORD_AT, max_record as u64, Ordering::Relaxed);
        mem.store(MODE_AT, mode as u64, Ordering::Relaxed);
        mem.store(DATA_OFFSET_AT, DATA_OFFSET as u64, Ordering::Relaxed);
        for at in (SPSC_EPOCH_AT..DATA_OFFSET).step_by(8) {
            mem.store(at, 0, Ordering::Relaxed);
        }
        mem.zero(DATA_OFFSET, capacity);
        header::publish_ready(&mem);
        // Release: pairs with the Acquire CAS of `attach_slot`; an endpoint that attaches sees the whole layout.
        mem.store(CONSUMER_OWNER_AT, 0, Ordering::Release);
        mem.store(SPSC_OWNER_AT, 0, Ordering::Release);
        Ok(Ring {
            mem,
            capacity,
            max_record,
            mode,
            version: header::VERSION,
        })
    }

    /// Opens an existing ring, waiting within `patience` for its creator to publish it.
    ///
    /// # Errors
    /// Any [`HeaderError`], or `Corrupt` naming the layout field that disagrees with the mapping.
    ///
    /// # Examples
    /// ```
    /// use core::sync::atomic::AtomicU64;
    /// use seqring_core::header::{self, HeaderError};
    /// use seqring_core::ring::{region_len, Mode, Ring, RingError};
    /// use seqring_core::{RawRegion, Spins};
    /// let words: Vec<AtomicU64> = (0..region_len(4096).unwrap() / 8).map(|_| AtomicU64::new(0)).collect();
    /// let mem = RawRegion::new(&words);
    /// assert_eq!(Ring::open(mem, Spins(3)).unwrap_err(), RingError::Region(HeaderError::NotReady));
    /// Ring::create(mem, Mode::Spsc, Some(512), 1, 0).unwrap();
    /// let ring = Ring::open(mem, Spins(0)).unwrap();
    /// assert_eq!((ring.capacity(), ring.max_record(), ring.mode()), (4096, 512, Mode::Spsc));
    /// // A mapping shorter than the ring the header describes is refused.
    /// let short = RawRegion::new(&words[..words.len() - 8]);
    /// assert!(matches!(Ring::open(short, Spins(0)), Err(RingError::Region(HeaderError::LengthMismatch { .. }))));
    /// // So is a closed region.
    /// header::close(&mem);
    /// assert_eq!(Ring::open(mem, Spins(0)).unwrap_err(), RingError::Region(HeaderError::Closed));
    /// ```
    pub fn open(mem: M, patience: impl Patience) -> Result<Self, RingError> {
        let version = header::wait_ready(&mem, RegionKind::Ring, patience)?.version;
        header::check_len(&mem, DATA_OFFSET + MIN_CAPACITY)?;
        // Relaxed: `wait_ready`'s Acquire load of `ready` ordered the creator's stores before these loads.
        let capacity = mem.load(CAPACITY_AT, Ordering::Relaxed);
        let corrupt = |what| Err(RingError::Region(HeaderError::Corrupt(what)));
        if mem.load(DATA_OFFSET_AT, Ordering::Relaxed) != DATA_OFFSET as u64 {
            return corrupt("ring data offset");
        }
        if capacity != (mem.len() - DATA_OFFSET) as u64 || !capacity.is_power_of_two() || capacity > MAX_CAPACITY as u64
        {
            return corrupt("ring capacity");
        }
        let max_record = mem.load(MAX_RECORD_AT, Ordering::Relaxed);
        if max_record < record::HEADER_LEN as u64
            || max_record > capacity / 2
            || max_record > record::MAX_RECORD_LEN as u64
        {
            return corrupt("ring max record");
        }
        let mode = match mem.load(MODE_AT, Ordering::Relaxed) {
            1 => Mode::Spsc,
            2 => Mode::Mpsc,
            _ => return corrupt("ring mode"),
        };
        Ok(Ring {
            mem,
            capacity: capacity as usize,
            max_record: max_record as usize,
            mode,
            version,
        })
    }

    /// The underlying region.
    ///
    /// # Examples
    /// ```
    /// use core::sync::atomic::AtomicU64;
    /// use seqring_core::ring::{region_len, Mode, Ring};
    /// use seqring_core::RawRegion;
    /// use seqring_core::Memory;
    /// let words: Vec<AtomicU64> = (0..region_len(4096).unwrap() / 8).map(|_| AtomicU64::new(0)).collect();
    /// let ring = Ring::create(RawRegion::new(&words), Mode::Mpsc, None, 1, 0).unwrap();
    /// assert_eq!(ring.memory().len(), region_len(4096).unwrap());
    /// assert_eq!(ring.memory().identity(), RawRegion::new(&words).identity());
    /// ```
    pub fn memory(&self) -> &M {
        &self.mem
    }

    /// The data area's size in bytes.
    ///
    /// # Examples
    /// ```
    /// use core::sync::atomic::AtomicU64;
    /// use seqring_core::ring::{region_len, Mode, Ring};
    /// use seqring_core::RawRegion;
    /// let words: Vec<AtomicU64> = (0..region_len(8192).unwrap() / 8).map(|_| AtomicU64::new(0)).collect();
    /// let ring = Ring::create(RawRegion::new(&words), Mode::Mpsc, None, 1, 0).unwrap();
    /// assert_eq!(ring.capacity(), 8192);
    /// ```
    pub fn capacity(&self) -> usize {
        self.capacity
    }

    /// The largest record, header included.
    ///
    /// # Examples
    /// ```
    /// use core::sync::atomic::AtomicU64;
    /// use seqring_core::ring::{region_len, Mode, Ring};
    /// use seqring_core::RawRegion;
    /// let words: Vec<AtomicU64> = (0..region_len(4096).unwrap() / 8).map(|_| AtomicU64::new(0)).collect();
    /// let mem = RawRegion::new(&words);
    /// assert_eq!(Ring::create(mem, Mode::Mpsc, None, 1, 0).unwrap().max_record(), 1024, "a quarter by default");
    /// assert_eq!(Ring::create(mem, Mode::Mpsc, Some(2048), 1, 0).unwrap().max_record(), 2048);
    /// assert!(Ring::create(mem, Mode::Mpsc, Some(2056), 1, 0).is_err(), "at most half");
    /// ```
    pub fn max_record(&self) -> usize {
        self.max_record
    }

    /// The largest payload a single record can carry.
    ///
    /// # Examples
    /// ```
    /// use core::sync::atomic::AtomicU64;
    /// use seqring_core::ring::{region_len, ClaimError, Mode, Producer, Ring};
    /// use seqring_core::RawRegion;
    /// let words: Vec<AtomicU64> = (0..region_len(4096).unwrap() / 8).map(|_| AtomicU64::new(0)).collect();
    /// let ring = Ring::create(RawRegion::new(&words), Mode::Mpsc, None, 1, 0).unwrap();
    /// assert_eq!(ring.max_payload(), 1024 - 16);
    /// let producer = Producer::attach(ring).unwrap();
    /// assert!(producer.try_write(1, 0, &[0; 1008]).is_ok());
    /// assert_eq!(producer.try_write(1, 0, &[0; 1009]), Err(ClaimError::TooLarge { len: 1009, max: 1008 }));
    /// ```
    pub fn max_payload(&self) -> usize {
        self.max_record - record::HEADER_LEN
    }

    /// Who may produce.
    ///
    /// # Examples
    /// ```
    /// use core::sync::atomic::AtomicU64;
    /// use seqring_core::ring::{region_len, Mode, Ring};
    /// use seqring_core::RawRegion;
    /// let words: Vec<AtomicU64> = (0..region_len(4096).unwrap() / 8).map(|_| AtomicU64::new(0)).collect();
    /// let ring = Ring::create(RawRegion::new(&words), Mode::Mpsc, None, 1, 0).unwrap();
    /// assert_eq!(ring.mode(), Mode::Mpsc);
    /// ```
    pub fn mode(&self) -> Mode {
        self.mode
    }

    /// The region's layout version (see the [module](self) for what version 1 lacks).
    ///
    /// # Examples
    /// ```
    /// use core::sync::atomic::AtomicU64;
    /// use seqring_core::ring::{region_len, Mode, Ring};
    /// use seqring_core::RawRegion;
    /// use seqring_core::header;
    /// let words: Vec<AtomicU64> = (0..region_len(4096).unwrap() / 8).map(|_| AtomicU64::new(0)).collect();
    /// let ring = Ring::create(RawRegion::new(&words), Mode::Mpsc, None, 1, 0).unwrap();
    /// assert_eq!(ring.version(), header::VERSION);
    /// ```
    pub fn version(&self) -> u32 {
        self.version
    }

    /// A snapshot of the counters (each read atomically; not a consistent cut across them).
    ///
    /// # Examples
    /// ```
    /// use core::sync::atomic::AtomicU64;
    /// use seqring_core::ring::{region_len, Mode, Producer, Ring};
    /// use seqring_core::RawRegion;
    /// let words: Vec<AtomicU64> = (0..region_len(4096).unwrap() / 8).map(|_| AtomicU64::new(0)).collect();
    /// let ring = Ring::create(RawRegion::new(&words), Mode::Mpsc, None, 1, 0).unwrap();
    /// let producer = Producer::attach(ring).unwrap();
    /// producer.try_write(1, 0, b"abc").unwrap();
    /// let stats = ring.stats();
    /// assert_eq!((stats.head, stats.tail, stats.records), (0, 24, 0), "claimed, not consumed yet");
    /// ring.close().unwrap();
    /// assert!(ring.stats().closed);
    /// ```
    pub fn stats(&self) -> RingStats {
        // Relaxed: statistics, not synchronisation.
        let load = |at| self.mem.load(at, Ordering::Relaxed);
        let tail = load(TAIL_AT);
        RingStats {
            head: load(HEAD_AT),
            tail: tail & !CLOSED,
            closed: tail & CLOSED != 0,
            dropped: load(DROPPED_AT),
            abandoned: load(ABANDONED_AT),
            records: load(RECORDS_AT),
            bytes: load(BYTES_AT),
            heartbeat: load(HEARTBEAT_AT),
        }
    }

    /// Closes an MPSC ring to new claims and returns its final tail: every claim ever made lies before it, and
    /// every later claim fails with [`ClaimError::Closed`]. Claims made before the close still commit (or are
    /// abandoned) as usual, so a consumer that drains up to the final tail has seen every record of the ring.
    /// Closing a closed ring returns the same tail.
    ///
    /// This is how a logger stops, or takes over a dead logger's ring, without a record slipping in behind its
    /// last drain: the close and the producers' tail CAS are read-modify-writes of the same word, so each claim
    /// is either before the close (and below the returned tail) or refused.
    ///
    /// # Errors
    /// [`RingError::WrongMode`] for an SPSC ring, whose producer stores its tail without a CAS.
    ///
    /// # Examples
    /// ```
    /// use core::sync::atomic::AtomicU64;
    /// use seqring_core::ring::{region_len, ClaimError, Mode, Producer, Ring};
    /// use seqring_core::RawRegion;
    /// let words: Vec<AtomicU64> = (0..region_len(4096).unwrap() / 8).map(|_| AtomicU64::new(0)).collect();
    /// let ring = Ring::create(RawRegion::new(&words), Mode::Mpsc, None, 1, 0).unwrap();
    /// let producer = Producer::attach(ring).unwrap();
    /// producer.try_write(1, 5, b"before").unwrap();
    /// assert_eq!(ring.close(), Ok(24));
    /// assert_eq!(producer.try_write(1, 6, b"after"), Err(ClaimError::Closed));
    /// assert!(ring.stats().closed);
    /// ```
    pub fn close(&self) -> Result<u64, RingError> {
        self.expect_mode(Mode::Mpsc)?;
        // Relaxed: the tail orders nothing but itself (see the producers' claim); the CAS loop makes the close
        // one read-modify-write in the tail's modification order, after every successful claim CAS.
        let mut tail = self.mem.load(TAIL_AT, Ordering::Relaxed);
        while tail & CLOSED == 0 {
            match self
                .mem
                .compare_exchange(TAIL_AT, tail, tail | CLOSED, Ordering::Relaxed, Ordering::Relaxed)
            {
                Ok(_) => break,
                Err(now) => tail = now,
            }
        }
        Ok(tail & !CLOSED)
    }

    /// Checks the ring's mode for a producer type.
    fn expect_mode(&self, mode: Mode) -> Result<(), RingError> {
        if self.mode == mode {
            Ok(())
        } else {
            Err(RingError::WrongMode { ring: self.mode })
        }
    }

    /// Claims the endpoint slot at `at` for `token` (non-zero).
    fn attach_slot(&self, at: usize, token: u64) -> Result<(), RingError> {
        let token = token.max(1);
        // Acquire: pairs with the Release store in `detach_slot`, ordering this endpoint after the previous one.
        self.mem
            .compare_exchange(at, 0, token, Ordering::Acquire, Ordering::Relaxed)
            .map(|_| ())
            .map_err(RingError::AlreadyAttached)
    }

    fn detach_slot(&self, at: usize) {
        // Release: pairs with the Acquire CAS in `attach_slot`.
        self.mem.store(at, 0, Ordering::Release);
    }

    /// The token of the consumer attached to the ring (its process id in the std layer), or 0 when none is: the
    /// candidate for [`Ring::evict_consumer`] once the caller knows it is dead.
    ///
    /// # Examples
    /// ```
    /// use core::sync::atomic::AtomicU64;
    /// use seqring_core::ring::{region_len, Consumer, Mode, Ring};
    /// use seqring_core::RawRegion;
    /// let words: Vec<AtomicU64> = (0..region_len(4096).unwrap() / 8).map(|_| AtomicU64::new(0)).collect();
    /// let ring = Ring::create(RawRegion::new(&words), Mode::Mpsc, None, 1, 0).unwrap();
    /// assert_eq!(ring.consumer_token(), 0);
    /// let consumer = Consumer::attach(ring, 41).unwrap();
    /// assert_eq!(ring.consumer_token(), 41);
    /// ```
    pub fn consumer_token(&self) -> u64 {
        // Relaxed: a hint whose holder the caller checks for liveness; `evict_consumer`'s CAS re-checks it.
        self.mem.load(CONSUMER_OWNER_AT, Ordering::Relaxed)
    }

    /// Frees the consumer slot held by `token`, for taking over from a consumer known to be dead. Returns whether
    /// `token` held it.
    ///
    /// A dead consumer publishes nothing: this CAS does not order its last stores (it only pairs with the slot's
    /// previous store). The caller must have learned of the death by means that synchronise, as the std layer does
    /// (the process has exited: its stores are all in memory). [`Consumer::attach`] then finishes any release the
    /// dead consumer left half done.
    ///
    /// # Safety
    /// The consumer registered under `token` is dead, in every thread and process, and its death happens-before
    /// this call: none of its code (a [`Batch`] whose bytes it borrows, a release in progress) runs any more.
    /// Evicting a live consumer lets a second consumer zero the bytes of the first one's unreleased batch, which
    /// [`Batch::bytes`] lends out as a plain `&[u8]`: a data race.
    ///
    /// # Examples
    /// ```
    /// use core::sync::atomic::AtomicU64;
    /// use seqring_core::ring::{region_len, Consumer, Mode, Ring};
    /// use seqring_core::RawRegion;
    /// let words: Vec<AtomicU64> = (0..region_len(4096).unwrap() / 8).map(|_| AtomicU64::new(0)).collect();
    /// let ring = Ring::create(RawRegion::new(&words), Mode::Mpsc, None, 1, 0).unwrap();
    /// std::mem::forget(Consumer::attach(ring, 41).unwrap()); // a consumer that "died" attached
    /// // SAFETY: the consumer registered as 41 was forgotten: none of its code runs any more.
    /// assert!(unsafe { ring.evict_consumer(41) });
    /// assert!(Consumer::attach(ring, 42).is_ok());
    /// ```
    pub unsafe fn evict_consumer(&self, token: u64) -> bool {
        // AcqRel: keeps the slot's accesses uniformly ordered (pairs with `attach_slot`'s Acquire CAS).
        self.mem
            .compare_exchange(CONSUMER_OWNER_AT, token.max(1), 0, Ordering::AcqRel, Ordering::Relaxed)
            .is_ok()
    }

    /// Frees the SPSC producer slot held by `token`, for taking over from a producer known to be dead. Returns
    /// whether `token` held it. As for [`Ring::evict_consumer`], the caller must know the producer is dead.
    ///
    /// # Safety
    /// The producer registered under `token` is dead and its death happens-before this call: none of its grants
    /// is used any more ([`Grant::payload_mut`] lends its bytes as a plain `&mut [u8]`, which a later producer
    /// or the consumer's unblock would otherwise write under it).
    ///
    /// # Examples
    /// ```
    /// use core::sync::atomic::AtomicU64;
    /// use seqring_core::ring::{region_len, Mode, Ring, SpscProducer};
    /// use seqring_core::RawRegion;
    /// let words: Vec<AtomicU64> = (0..region_len(4096).unwrap() / 8).map(|_| AtomicU64::new(0)).collect();
    /// let ring = Ring::create(RawRegion::new(&words), Mode::Spsc, None, 1, 0).unwrap();
    /// std::mem::forget(SpscProducer::attach(ring, 7).unwrap());
    /// // SAFETY: the producer registered as 7 was forgotten: none of its code runs any more.
    /// assert!(unsafe { ring.evict_spsc_producer(7) });
    /// assert!(SpscProducer::attach(ring, 8).is_ok());
    /// ```
    pub unsafe fn evict_spsc_producer(&self, token: u64) -> bool {
        // AcqRel: as in `evict_consumer`.
        self.mem
            .compare_exchange(SPSC_OWNER_AT, token.max(1), 0, Ordering::AcqRel, Ordering::Relaxed)
            .is_ok()
    }

    /// The data-area offset of a position.
    #[inline]
    pub(crate) fn index(&self, position: u64) -> usize {
        (position as usize) & (self.capacity - 1)
    }
}

/// The token [`Ring::create`] holds both endpoint slots under while it lays a ring out.
const CREATING: u64 = u64::MAX;

/// Takes both endpoint slots for [`Ring::create`], refusing a ring whose consumer or SPSC producer is attached.
/// Memory that does not hold a ring yet (no seqring header of kind ring) has no endpoints: its slot words are
/// taken whatever they hold.
fn hold_slots<M: Memory>(mem: &M) -> Result<(), RingError> {
    let ours = header::validate(mem, RegionKind::Ring).is_ok();
    let mut held: [Option<usize>; 2] = [None, None];
    for (i, at) in [CONSUMER_OWNER_AT, SPSC_OWNER_AT].into_iter().enumerate() {
        // Relaxed: a stale word only makes the CAS below fail and be retried with the value it found.
        let mut now = if ours { 0 } else { mem.load(at, Ordering::Relaxed) };
        loop {
            // Acquire: pairs with the Release store of a detaching endpoint (`detach_slot`): its last accesses of
            // the ring happen before the layout is rewritten.
            match mem.compare_exchange(at, now, CREATING, Ordering::Acquire, Ordering::Relaxed) {
                Ok(_) => break,
                Err(token) if !ours && token != CREATING => now = token,
                Err(token) => {
                    for at in held.into_iter().flatten() {
                        // Release: pairs with `attach_slot`'s Acquire CAS, as in `detach_slot`.
                        mem.store(at, 0, Ordering::Release);
                    }
                    return Err(RingError::AlreadyAttached(token));
                }
            }
        }
        held[i] = Some(at);
    }
    Ok(())
}

#[cfg(all(test, not(loom)))]
mod crash_tests;
#[cfg(all(test, not(loom)))]
mod tests;
