//! The seqlock array: a typed n-d array in a shared region that readers copy without ever blocking the writer.
//!
//! Algorithm (Boehm, "Can Seqlocks Get Along With Programming Language Memory Models?", MSPC 2012; data copied
//! with the byte-wise atomic memcpy of C++ P1478):
//! - **Write.** CAS the sequence from even `s` to `s + 1` with Acquire; this is also the writer lock between
//!   writers in any process. It records itself as the lock holder, then issues a Release fence *before* any data
//!   store, so a reader that sees any new byte also sees the odd sequence. The writer then stores its token and
//!   time, copies the data with relaxed atomic stores, and stores `s + 2` with Release. A writer that changed
//!   nothing stores `s` back instead, so a failed write does not publish a new version.
//! - **Read.** `s1` = load (Acquire); if odd, wait. Copy the protected block and the data with relaxed atomic
//!   loads, fence (Acquire), `s2` = load (Relaxed). Retry unless `s1 == s2`. A successful read is never torn.
//! - **Version** is `sequence / 2`; it changes with every completed write.
//! - **Hot paths.** The lean read ([`SeqArray::read_into`]), the lock and its guard, and the whole write
//!   ([`SeqArray::write_all`], the same lock, stamp, copy and unlock without a guard in between) resolve the
//!   region's words once per call when the memory lends them ([`Memory::as_words`]): fixed fields by constant
//!   index, the data as one range. The accesses and their orderings are exactly those listed here.
//! - **Waiting for a change** ([`SeqArray::wait_changed`]) blocks instead of polling. The waiter protocol is a waiter
//!   count beside the sequence, so that a writer with no one waiting pays one relaxed load and a branch:
//!   - a waiter increments the count (W1), then loads the sequence (Acquire). If it is odd, a writer is in its write
//!     section: the waiter naps briefly and looks again. If it is even and still the old version, the waiter CASes
//!     it to itself (W2, AcqRel; if it fails, a writer locked meanwhile: look again) and blocks on the sequence word
//!     until the word differs from `s` or a wake arrives (a futex: the kernel's check and sleep are atomic against
//!     the wake). It decrements the count when it returns.
//!   - a writer loads the count (Relaxed) right after its lock CAS (C); if it was non-zero, its guard wakes the
//!     word's waiters ([`Memory::wake`], naming the even sequence it locked from, which they blocked on) after the
//!     closing Release store.
//!   - no wake-up is lost: W2 and C are read-modify-writes of one word, so one precedes the other in its
//!     modification order. If W2 comes first, the first lock CAS after it reads W2 or a later waiter's CAS (W2's
//!     release sequence) with Acquire, so W1 happens before that writer's load of the count, which (coherence) sees
//!     it; that writer wakes after its store, and the futex either sees the changed word or is woken. If C comes
//!     first, W2 fails (the word is no longer `s`) and the waiter does not block. A waiter only naps while the
//!     sequence is odd, because that writer may have loaded the count before W1: across a write section, and
//!     across a dead writer's stall until the waiter's timeout.
//!   - why not a fence: a writer-side `SeqCst` fence between the lock CAS (or the closing store) and the count load
//!     (the classic Dekker pairing) costs a full barrier per write; loading the count after the lock CAS costs
//!     none, because the waiter's CAS on the sequence makes the lock CAS itself the synchronisation point. Why not
//!     `SeqCst` accesses: loom models them as AcqRel, so the model could not check them. Why not a flag bit in the
//!     sequence word: every reader would have to mask it, and a waiter's CAS would race the writer's plain closing
//!     store. `loom-tests/tests/seqlock_wait.rs` checks the protocol.
//!   - a waiter killed while blocked leaves the count raised, so a lease bounds what it costs: before each W2 a
//!     waiter raises the lease word beside the count (W1', Relaxed, program-ordered before W2 as W1 is, so the same
//!     argument makes it visible to the writer that reads W2) to the time until which it promises to come back and
//!     renew it (the std layer: now + 2 s, blocking at most 250 ms at a time, on the clock writers stamp with). A
//!     writer wakes only when the count is non-zero *and* the lease is later than its write time (or it has no
//!     write time: stamp 0). So after a waiter is killed, writers pay a wake call (a syscall) per write only until
//!     its lease runs out, instead of until the region is recreated. A live waiter whose lease ran out (a waiter
//!     descheduled for longer than its lease, or a clock stepped forward past it) misses at most the wakes of its
//!     current block, which ends within its block bound; it is never stranded. Writes without a time (write times
//!     off) always wake a counted waiter, as before.
//! - **Dead writer.** A writer that dies mid-write leaves the sequence odd. Readers and writers give up after their
//!   [`Patience`] with [`ArrayError::WriterStalled`], naming the writer's token and the odd sequence it holds.
//!   [`SeqArray::recover`] takes exactly that sequence (the stall the caller judged dead, by the token's liveness)
//!   and clears it only if the sequence still holds it, marking the contents suspect until the next full write. A
//!   recoverer that saw a stall another recoverer cleared, and then a live writer locked, names a sequence that no
//!   longer holds, and changes nothing.
//!
//! Layout after the region header (offsets in bytes from the region start; every field a little-endian `u64`):
//!
//! ```text
//!   64  dtype word at creation        72  ndim at creation
//!   80  shape at creation [8]        144  data capacity in bytes
//!  152  data offset (448, or past the descriptor)
//!  160  array lock: its holder's token, 0 when free (`array_lock`)           168  reserved to 192
//!  192  sequence (alone on a 128-byte stride, to 320, with the lock holder's token at 200 and its start time
//!       at 208, for stall reports, the count of blocked waiters at 216 and their lease at 224)
//!  320  protected block: dtype word, 328 ndim, 336 shape [8], 400 write time ns, 408 writer token,
//!       416 flags (bit 0: suspect), 424 current data length in bytes, reserved to 448
//!  448  data, 64-byte aligned, capacity rounded up to 8 bytes; or, in an array of a [`DType::Record`], the
//!       descriptor area: 448 the descriptor's length `n` in bytes (1 to [`MAX_DESCR_LEN`]), 456 its text
//!       (printable ASCII: numpy's `descr` as `numpy.lib.format.dtype_to_descr` writes it, the text of an .npy
//!       header), and the data from the next 64-byte boundary, `align64(456 + n)`
//! ```
//!
//! A dtype word is the dtype's code, with a record's item size in its high 32 bits ([`DType::word`]). The
//! descriptor is written once at creation, before `ready`, and never changes; an opener validates it (length,
//! text, and the data offset it implies) before trusting it, as everything else in the region.
//!
//! Invariants: the data is only ever accessed through [`Memory`]'s atomic words; the current shape's byte length
//! never exceeds the capacity; only the holder of the odd sequence writes the protected block or the data; an
//! array has a descriptor exactly when it was created with a [`DType::Record`], and its current dtype is a record
//! only if it is that one.

use crate::dtype::{element_count, DType, Element, Shape, MAX_DIMS};
use crate::header::{self, HeaderError, RegionKind, HEADER_LEN};
use crate::memory::{Memory, Registration};
use crate::patience::Patience;
use crate::sync::{fence, Ordering};

mod array_lock;
mod view;
pub use array_lock::{ArrayLock, LockToken, ARRAY_LOCK_WORD};
use view::View;

const DTYPE_AT: usize = HEADER_LEN;
const NDIM_AT: usize = 72;
const SHAPE_AT: usize = 80;
const CAPACITY_AT: usize = 144;
const DATA_OFFSET_AT: usize = 152;
/// The array lock's word (see [`array_lock`]): bytes 160..168 of the reserved 160..192.
const ARRAY_LOCK_AT: usize = 160;
const SEQUENCE_AT: usize = 192;
const HOLDER_TOKEN_AT: usize = 200;
const HOLDER_SINCE_AT: usize = 208;
const WAITERS_AT: usize = 216;
const LEASE_AT: usize = 224;
/// The byte offset of the sequence word: the word a waiter blocks on ([`SeqArray::wait_changed`]) and a writer
/// wakes ([`Memory::wake`]).
pub const SEQUENCE_WORD: usize = SEQUENCE_AT;
const CUR_DTYPE_AT: usize = 320;
const CUR_NDIM_AT: usize = 328;
const CUR_SHAPE_AT: usize = 336;
const WRITE_TIME_AT: usize = 400;
const TOKEN_AT: usize = 408;
const FLAGS_AT: usize = 416;
const NBYTES_AT: usize = 424;
/// Where the data starts in an array without a descriptor (every plain dtype).
pub const DATA_OFFSET: usize = 448;
const DESCR_LEN_AT: usize = DATA_OFFSET;
const DESCR_AT: usize = DATA_OFFSET + 8;
/// The longest descriptor a region holds, in bytes.
pub const MAX_DESCR_LEN: usize = 4096;

const SUSPECT: u64 = 1;

/// Who writes, and when: stored in the protected block by every write.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct WriteStamp {
    /// Identifies the writer (the std layer packs the pid and a thread number).
    pub token: u64,
    /// The write time in ns (the std layer uses ns since the UNIX epoch).
    pub time_ns: u64,
}

/// What a successful read saw, besides the data.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Snapshot {
    /// `sequence / 2`: changes with every completed write.
    pub version: u64,
    /// The write time of the data.
    pub write_time_ns: u64,
    /// The token of the last writer.
    pub token: u64,
    /// The contents may be partial: a stalled write was recovered and no full write has happened since.
    pub suspect: bool,
    /// The current element type.
    pub dtype: DType,
    /// The number of dimensions of the current shape.
    ndim: u8,
    /// The current shape's extents; only the first `ndim` are meaningful (the rest are zero).
    dims: [u64; MAX_DIMS],
}

impl Snapshot {
    /// The current shape, borrowed from the snapshot (no copy, no allocation).
    ///
    /// # Examples
    /// ```
    /// use core::sync::atomic::AtomicU64;
    /// use seqring_core::seqlock::{region_len, SeqArray};
    /// use seqring_core::{DType, RawRegion, Spins};
    /// let words: Vec<AtomicU64> = (0..region_len(48).unwrap() / 8).map(|_| AtomicU64::new(0)).collect();
    /// let array = SeqArray::create(RawRegion::new(&words), DType::F32, &[3, 4], 1, 0).unwrap();
    /// assert_eq!(array.snapshot(Spins(0)).unwrap().shape(), &[3, 4]);
    /// ```
    pub fn shape(&self) -> &[u64] {
        &self.dims[..usize::from(self.ndim)]
    }

    /// The current shape as an owned [`Shape`].
    ///
    /// # Examples
    /// ```
    /// # use core::sync::atomic::AtomicU64;
    /// # use seqring_core::seqlock::{region_len, SeqArray, WriteStamp};
    /// # use seqring_core::{DType, RawRegion, Spins};
    /// # let words: Vec<AtomicU64> = (0..region_len(64).unwrap() / 8).map(|_| AtomicU64::new(0)).collect();
    /// let array = SeqArray::create(RawRegion::new(&words), DType::F64, &[8], 1, 0).unwrap();
    /// let snap = array.snapshot(Spins(0)).unwrap();
    /// assert_eq!(snap.to_shape().as_slice(), &[8]);
    /// ```
    pub fn to_shape(&self) -> Shape {
        self.shape().iter().copied().collect()
    }
}

/// Why an array operation failed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum ArrayError {
    /// The region header or layout is invalid.
    Region(HeaderError),
    /// A writer holds the sequence odd beyond the caller's patience: it is slow or dead.
    WriterStalled {
        /// The stalled writer's token; 0 if it stopped before recording itself (right after taking the lock).
        token: u64,
        /// When its write started (ns); 0 when the token is 0.
        since: u64,
        /// The odd sequence it holds: what [`SeqArray::recover`] takes to clear this stall and no other.
        sequence: u64,
    },
    /// Writers kept completing writes while this reader retried, beyond its patience.
    Busy,
    /// The contents are a partial write recovered from a dead writer ([`SeqArray::recover`]): suspect until the
    /// next whole write. The lean read ([`SeqArray::read_into`]) refuses them; [`SeqArray::read_bytes`] returns them
    /// with the flag set, for callers that accept them.
    Suspect {
        /// The version read.
        version: u64,
    },
    /// The shape has more than [`MAX_DIMS`] dimensions or its element count overflows.
    BadShape,
    /// The shape needs more bytes than the capacity.
    CapacityExceeded {
        /// Bytes the shape needs.
        needed: u64,
        /// Bytes available.
        capacity: u64,
    },
    /// The element type differs from the array's.
    DTypeMismatch {
        /// The array's dtype.
        array: DType,
        /// The caller's dtype.
        requested: DType,
    },
    /// A range runs past the end of the current data.
    OutOfBounds {
        /// The range's end in bytes.
        end: u64,
        /// The data's length in bytes.
        len: u64,
    },
    /// The dtype descriptor given at creation, or found in a region, is not valid.
    Descr(DescrError),
    /// A whole write ([`SeqArray::write_all`]) of another length than the current data's.
    LengthMismatch {
        /// The data's length in bytes.
        len: u64,
        /// The length written, in bytes.
        given: u64,
    },
}

/// Why a dtype descriptor (see the module documentation) is refused, at creation or when a region is opened.
///
/// # Examples
/// ```
/// use core::sync::atomic::AtomicU64;
/// use seqring_core::seqlock::{region_len_described, ArrayError, DescrError, SeqArray};
/// use seqring_core::{DType, RawRegion};
/// let words: Vec<AtomicU64> = (0..region_len_described(8, 4).unwrap() / 8).map(|_| AtomicU64::new(0)).collect();
/// let record = DType::Record { itemsize: 4 };
/// let err = SeqArray::create_described(RawRegion::new(&words), record, &[2], "", 1, 0).unwrap_err();
/// assert_eq!(err, ArrayError::Descr(DescrError::Missing));
/// let err = SeqArray::create_described(RawRegion::new(&words), record, &[2], "<U\u{e9}", 1, 0).unwrap_err();
/// assert_eq!(err, ArrayError::Descr(DescrError::NotText { at: 2 }));
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum DescrError {
    /// Longer than [`MAX_DESCR_LEN`].
    TooLong {
        /// Its length in bytes.
        len: u64,
    },
    /// A byte that is not printable ASCII.
    NotText {
        /// The offset of the first such byte.
        at: usize,
    },
    /// A record dtype without a descriptor (its elements could not be interpreted).
    Missing,
    /// A descriptor with a plain dtype, which carries its own description.
    Unexpected,
    /// The data offset in the header is not where the descriptor's length puts the data.
    Misplaced {
        /// The data offset the header records.
        data_offset: u64,
    },
}

impl core::fmt::Display for DescrError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match self {
            DescrError::TooLong { len } => {
                write!(f, "dtype descriptor of {len} bytes is longer than {MAX_DESCR_LEN}")
            }
            DescrError::NotText { at } => write!(f, "dtype descriptor has a byte that is not printable ASCII at {at}"),
            DescrError::Missing => f.write_str("record dtype without a descriptor"),
            DescrError::Unexpected => f.write_str("dtype descriptor given with a plain dtype"),
            DescrError::Misplaced { data_offset } => {
                write!(
                    f,
                    "data offset {data_offset} disagrees with the dtype descriptor's length"
                )
            }
        }
    }
}

impl core::error::Error for DescrError {}

impl From<HeaderError> for ArrayError {
    fn from(e: HeaderError) -> Self {
        ArrayError::Region(e)
    }
}

impl core::fmt::Display for ArrayError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match self {
            ArrayError::Region(e) => e.fmt(f),
            ArrayError::WriterStalled { token, since, .. } => {
                write!(
                    f,
                    "writer {token:#x} has held the array since {since} ns without finishing"
                )
            }
            ArrayError::Busy => f.write_str("writers kept the array busy beyond the reader's patience"),
            ArrayError::Suspect { version } => write!(
                f,
                "version {version} is a partial write recovered from a dead writer: suspect until the next whole write"
            ),
            ArrayError::BadShape => write!(f, "shape has more than {MAX_DIMS} dimensions or too many elements"),
            ArrayError::CapacityExceeded { needed, capacity } => {
                write!(f, "shape needs {needed} bytes but the array holds {capacity}")
            }
            ArrayError::DTypeMismatch { array, requested } => {
                write!(
                    f,
                    "array holds {} but {} was requested",
                    array.descr(),
                    requested.descr()
                )
            }
            ArrayError::OutOfBounds { end, len } => write!(f, "range ends at byte {end} past the data's {len} bytes"),
            ArrayError::Descr(e) => e.fmt(f),
            ArrayError::LengthMismatch { len, given } => {
                write!(f, "a whole write of {given} bytes to data of {len} bytes")
            }
        }
    }
}

impl core::error::Error for ArrayError {}

/// The byte length of `shape` in `dtype`, checked against [`MAX_DIMS`].
#[inline]
fn shape_bytes(dtype: DType, shape: &[u64]) -> Result<u64, ArrayError> {
    if shape.len() > MAX_DIMS {
        return Err(ArrayError::BadShape);
    }
    element_count(shape)
        .and_then(|n| n.checked_mul(dtype.itemsize() as u64))
        .ok_or(ArrayError::BadShape)
}

const _: () = assert!(NDIM_AT == DTYPE_AT + 8 && SHAPE_AT == DTYPE_AT + 16);
const _: () = assert!(CUR_NDIM_AT == CUR_DTYPE_AT + 8 && CUR_SHAPE_AT == CUR_DTYPE_AT + 16);

/// Stores a dtype code, ndim and 8 shape words (unused ones zero) at `at`, `at + 8` and `at + 16..`: the layout of
/// both the creation fields and the protected block. Relaxed: the callers publish with a later Release store.
fn store_shape<M: Memory>(mem: &M, at: usize, dtype: DType, shape: &[u64]) {
    mem.store(at, dtype.word(), Ordering::Relaxed);
    mem.store(at + 8, shape.len() as u64, Ordering::Relaxed);
    for i in 0..MAX_DIMS {
        mem.store(at + 16 + 8 * i, shape.get(i).copied().unwrap_or(0), Ordering::Relaxed);
    }
}

/// The region length needed for an array of `capacity` data bytes, or `None` on overflow.
///
/// # Examples
/// ```
/// use seqring_core::seqlock::{region_len, DATA_OFFSET};
/// assert_eq!(region_len(64), Some(DATA_OFFSET + 64));
/// assert_eq!(region_len(3), Some(DATA_OFFSET + 8));
/// ```
pub fn region_len(capacity: usize) -> Option<usize> {
    DATA_OFFSET.checked_add(crate::ring::record::align8(capacity)?)
}

/// Where the data starts after a descriptor of `descr_len` bytes: [`DATA_OFFSET`] without one, else the first
/// 64-byte boundary past it. `None` beyond [`MAX_DESCR_LEN`].
///
/// # Examples
/// ```
/// use seqring_core::seqlock::{data_offset, DATA_OFFSET, MAX_DESCR_LEN};
/// assert_eq!(data_offset(0), Some(DATA_OFFSET));
/// assert_eq!(data_offset(5), Some(512)); // 448 + 8 (its length) + 5, up to the next 64
/// assert_eq!(data_offset(MAX_DESCR_LEN + 1), None);
/// ```
pub const fn data_offset(descr_len: usize) -> Option<usize> {
    match descr_len {
        0 => Some(DATA_OFFSET),
        n if n <= MAX_DESCR_LEN => Some((DESCR_AT + n).next_multiple_of(64)),
        _ => None,
    }
}

/// The region length needed for an array of `capacity` data bytes whose descriptor has `descr_len` bytes, or
/// `None` on overflow or a descriptor over [`MAX_DESCR_LEN`].
///
/// # Examples
/// ```
/// use seqring_core::seqlock::{region_len, region_len_described};
/// assert_eq!(region_len_described(64, 0), region_len(64));
/// assert_eq!(region_len_described(64, 20), Some(512 + 64));
/// ```
pub fn region_len_described(capacity: usize, descr_len: usize) -> Option<usize> {
    data_offset(descr_len)?.checked_add(crate::ring::record::align8(capacity)?)
}

/// Checks a descriptor's text against the dtype it describes, as [`SeqArray::create_described`] does: at most
/// [`MAX_DESCR_LEN`] bytes of printable ASCII, present for a [`DType::Record`] and absent for a plain dtype.
///
/// # Errors
/// The [`DescrError`] that creation would give.
///
/// # Examples
/// ```
/// use seqring_core::seqlock::{check_descr, DescrError};
/// use seqring_core::DType;
/// assert_eq!(check_descr(DType::Record { itemsize: 32 }, b"<U8"), Ok(()));
/// assert_eq!(check_descr(DType::F64, b""), Ok(()));
/// assert_eq!(check_descr(DType::F64, b"<f8"), Err(DescrError::Unexpected));
/// ```
pub fn check_descr(dtype: DType, descr: &[u8]) -> Result<(), DescrError> {
    if descr.len() > MAX_DESCR_LEN {
        return Err(DescrError::TooLong {
            len: descr.len() as u64,
        });
    }
    if let Some(at) = descr.iter().position(|b| !(0x20..0x7f).contains(b)) {
        return Err(DescrError::NotText { at });
    }
    match (dtype.is_record(), descr.is_empty()) {
        (true, true) => Err(DescrError::Missing),
        (false, false) => Err(DescrError::Unexpected),
        _ => Ok(()),
    }
}

/// A seqlock array over a region.
#[derive(Debug)]
pub struct SeqArray<M> {
    mem: M,
    capacity: usize,
    /// Where the data starts: [`DATA_OFFSET`], or past the descriptor.
    data_at: usize,
}

impl<M: Memory> SeqArray<M> {
    /// Lays out a new array over all of `mem` (which must be zeroed or unused) and publishes it ready.
    ///
    /// The capacity is everything after [`DATA_OFFSET`]; `shape` must fit in it.
    ///
    /// # Errors
    /// [`ArrayError::BadShape`], [`ArrayError::CapacityExceeded`], or a [`HeaderError::TooShort`].
    ///
    /// # Examples
    /// ```
    /// use core::sync::atomic::AtomicU64;
    /// use seqring_core::seqlock::{region_len, SeqArray, WriteStamp};
    /// use seqring_core::{DType, RawRegion, Spins};
    /// let words: Vec<AtomicU64> = (0..region_len(64).unwrap() / 8).map(|_| AtomicU64::new(0)).collect();
    /// let array = SeqArray::create(RawRegion::new(&words), DType::F64, &[8], 1, 0).unwrap();
    /// array.write_elements(0, &[1.5f64; 8], WriteStamp::default(), Spins(0)).unwrap();
    /// let mut out = [0f64; 8];
    /// let snap = array.read_elements(0, &mut out, Spins(100)).unwrap();
    /// assert_eq!((out, snap.version), ([1.5; 8], 1));
    /// ```
    pub fn create(mem: M, dtype: DType, shape: &[u64], creator_pid: u64, created_ns: u64) -> Result<Self, ArrayError> {
        Self::create_described(mem, dtype, shape, "", creator_pid, created_ns)
    }

    /// [`SeqArray::create`] with a descriptor: the numpy description of a [`DType::Record`] (required with one,
    /// refused with a plain dtype, which passes `""`), stored in the region for openers ([`SeqArray::descr`]).
    ///
    /// The capacity is everything after [`data_offset`]`(descr.len())`; size the region with
    /// [`region_len_described`].
    ///
    /// # Errors
    /// As [`SeqArray::create`], and [`ArrayError::Descr`] for a descriptor that is too long, not printable ASCII,
    /// missing for a record or given for a plain dtype.
    ///
    /// # Examples
    /// ```
    /// use core::sync::atomic::AtomicU64;
    /// use seqring_core::seqlock::{region_len_described, SeqArray, WriteStamp, MAX_DESCR_LEN};
    /// use seqring_core::{DType, RawRegion, Spins};
    /// let descr = "[('t', '<f8'), ('name', '<U2')]";
    /// let record = DType::Record { itemsize: 16 };
    /// let words: Vec<AtomicU64> =
    ///     (0..region_len_described(32, descr.len()).unwrap() / 8).map(|_| AtomicU64::new(0)).collect();
    /// let array = SeqArray::create_described(RawRegion::new(&words), record, &[2], descr, 1, 0).unwrap();
    /// array.write_bytes(16, &[7; 16], WriteStamp::default(), Spins(0)).unwrap();
    /// let opened = SeqArray::open(RawRegion::new(&words), Spins(0)).unwrap();
    /// let mut buf = [0u8; MAX_DESCR_LEN];
    /// assert_eq!(opened.descr(&mut buf), Ok(descr));
    /// assert_eq!(opened.created_as().0, record);
    /// let mut second = [0u8; 16];
    /// opened.read_bytes(16, &mut second, Spins(0)).unwrap();
    /// assert_eq!(second, [7; 16]);
    /// ```
    pub fn create_described(
        mem: M,
        dtype: DType,
        shape: &[u64],
        descr: &str,
        creator_pid: u64,
        created_ns: u64,
    ) -> Result<Self, ArrayError> {
        check_descr(dtype, descr.as_bytes()).map_err(ArrayError::Descr)?;
        let data_at = data_offset(descr.len()).ok_or(ArrayError::Descr(DescrError::TooLong {
            len: descr.len() as u64,
        }))?;
        header::check_len(&mem, data_at)?;
        let capacity = mem.len() - data_at;
        let needed = shape_bytes(dtype, shape)?;
        if needed > capacity as u64 {
            return Err(ArrayError::CapacityExceeded {
                needed,
                capacity: capacity as u64,
            });
        }
        header::init_header(&mem, RegionKind::Array, creator_pid, created_ns)?;
        // Relaxed throughout: nothing is visible until `publish_ready`'s Release store.
        store_shape(&mem, DTYPE_AT, dtype, shape);
        store_shape(&mem, CUR_DTYPE_AT, dtype, shape);
        mem.store(NBYTES_AT, needed, Ordering::Relaxed);
        mem.store(CAPACITY_AT, capacity as u64, Ordering::Relaxed);
        mem.store(DATA_OFFSET_AT, data_at as u64, Ordering::Relaxed);
        mem.store(SEQUENCE_AT, 0, Ordering::Relaxed);
        for at in [WRITE_TIME_AT, TOKEN_AT, FLAGS_AT, WAITERS_AT, LEASE_AT, ARRAY_LOCK_AT] {
            mem.store(at, 0, Ordering::Relaxed);
        }
        if !descr.is_empty() {
            mem.zero(DESCR_LEN_AT, data_at - DESCR_LEN_AT);
            mem.store(DESCR_LEN_AT, descr.len() as u64, Ordering::Relaxed);
            mem.copy_in(DESCR_AT, descr.as_bytes());
        }
        mem.zero(data_at, capacity);
        header::publish_ready(&mem);
        Ok(SeqArray { mem, capacity, data_at })
    }

    /// Opens an existing array, waiting within `patience` for its creator to publish it.
    ///
    /// # Errors
    /// Any [`HeaderError`] (foreign, truncated, too new, wrong kind, not ready), or `Corrupt` when a layout field
    /// disagrees with the mapping; [`ArrayError::Descr`] for a record array whose descriptor area is invalid
    /// (length, text, or the data offset it implies).
    ///
    /// # Examples
    /// ```
    /// # use core::sync::atomic::AtomicU64;
    /// # use seqring_core::seqlock::{region_len, SeqArray, WriteStamp};
    /// # use seqring_core::{DType, RawRegion, Spins};
    /// # let words: Vec<AtomicU64> = (0..region_len(64).unwrap() / 8).map(|_| AtomicU64::new(0)).collect();
    /// let mem = RawRegion::new(&words);
    /// SeqArray::create(mem, DType::F64, &[8], 1, 0).unwrap();
    /// let opened = SeqArray::open(mem, Spins(100)).unwrap(); // another process would map the same words
    /// assert_eq!(opened.created_as().0, DType::F64);
    /// ```
    pub fn open(mem: M, patience: impl Patience) -> Result<Self, ArrayError> {
        header::check_len(&mem, DATA_OFFSET)?;
        header::wait_ready(&mem, RegionKind::Array, patience)?;
        // Relaxed: `wait_ready`'s Acquire load of `ready` ordered the creator's stores before these loads.
        let capacity = mem.load(CAPACITY_AT, Ordering::Relaxed);
        let Some(dtype) = DType::from_word(mem.load(DTYPE_AT, Ordering::Relaxed)) else {
            return Err(HeaderError::Corrupt("array dtype").into());
        };
        let data_at = Self::check_descr_area(&mem, dtype)?;
        if capacity != (mem.len() - data_at) as u64 {
            return Err(HeaderError::Corrupt("array capacity").into());
        }
        let ndim = mem.load(NDIM_AT, Ordering::Relaxed);
        if ndim > MAX_DIMS as u64 {
            return Err(HeaderError::Corrupt("array ndim").into());
        }
        let mut shape = [0u64; MAX_DIMS];
        for (i, d) in shape.iter_mut().enumerate().take(ndim as usize) {
            *d = mem.load(SHAPE_AT + 8 * i, Ordering::Relaxed);
        }
        match shape_bytes(dtype, &shape[..ndim as usize]) {
            Ok(n) if n <= capacity => {}
            _ => return Err(HeaderError::Corrupt("array shape exceeds capacity").into()),
        }
        Ok(SeqArray {
            mem,
            capacity: capacity as usize,
            data_at,
        })
    }

    /// Validates the data offset and, for a record, the descriptor area of an opened region (untrusted bytes);
    /// returns the data offset.
    fn check_descr_area(mem: &M, dtype: DType) -> Result<usize, ArrayError> {
        let recorded = mem.load(DATA_OFFSET_AT, Ordering::Relaxed);
        if !dtype.is_record() {
            if recorded != DATA_OFFSET as u64 {
                return Err(HeaderError::Corrupt("array data offset").into());
            }
            return Ok(DATA_OFFSET);
        }
        let misplaced = ArrayError::Descr(DescrError::Misplaced { data_offset: recorded });
        // The length word lies inside the region: `check_len` covered DATA_OFFSET, and a record's data starts after it.
        if mem.len() < DESCR_AT {
            return Err(misplaced);
        }
        let len = mem.load(DESCR_LEN_AT, Ordering::Relaxed);
        if len == 0 {
            return Err(ArrayError::Descr(DescrError::Missing));
        }
        if len > MAX_DESCR_LEN as u64 {
            return Err(ArrayError::Descr(DescrError::TooLong { len }));
        }
        let data_at = data_offset(len as usize).ok_or(misplaced)?;
        if recorded != data_at as u64 || data_at > mem.len() {
            return Err(misplaced);
        }
        let mut chunk = [0u8; 64];
        for start in (0..len as usize).step_by(chunk.len()) {
            let part = &mut chunk[..(len as usize - start).min(64)];
            mem.copy_out(DESCR_AT + start, part);
            if let Some(at) = part.iter().position(|b| !(0x20..0x7f).contains(b)) {
                return Err(ArrayError::Descr(DescrError::NotText { at: start + at }));
            }
        }
        Ok(data_at)
    }

    /// The descriptor stored at creation (see [`SeqArray::create_described`]), copied into `buf`: `""` for a
    /// plain dtype. Checked again on every call, since other processes map the region too.
    ///
    /// # Errors
    /// [`ArrayError::Descr`] if the region's descriptor was overwritten with something that is not text.
    ///
    /// # Examples
    /// ```
    /// # use core::sync::atomic::AtomicU64;
    /// # use seqring_core::seqlock::{region_len, SeqArray, MAX_DESCR_LEN};
    /// # use seqring_core::{DType, RawRegion, Spins};
    /// # let words: Vec<AtomicU64> = (0..region_len(64).unwrap() / 8).map(|_| AtomicU64::new(0)).collect();
    /// let array = SeqArray::create(RawRegion::new(&words), DType::F64, &[8], 1, 0).unwrap();
    /// assert_eq!(array.descr(&mut [0; MAX_DESCR_LEN]), Ok(""), "a plain dtype describes itself");
    /// ```
    pub fn descr<'b>(&self, buf: &'b mut [u8; MAX_DESCR_LEN]) -> Result<&'b str, ArrayError> {
        if self.data_at == DATA_OFFSET {
            return Ok("");
        }
        // Relaxed: immutable after `ready`, which the constructor acquired.
        let len = (self.mem.load(DESCR_LEN_AT, Ordering::Relaxed) as usize).min(self.data_at - DESCR_AT);
        let text = &mut buf[..len];
        self.mem.copy_out(DESCR_AT, text);
        if let Some(at) = text.iter().position(|b| !(0x20..0x7f).contains(b)) {
            return Err(ArrayError::Descr(DescrError::NotText { at }));
        }
        core::str::from_utf8(text).map_err(|e| ArrayError::Descr(DescrError::NotText { at: e.valid_up_to() }))
    }

    /// Where the data starts, for the copies: `data_at`, which `create` and `open` made a multiple of 64. The mask
    /// changes nothing but tells the compiler so, as the constant [`DATA_OFFSET`] did before records. Reading the
    /// offset from the handle still costs a small read of 8 × f64 about 0.4–0.9 ns (docs/BENCHMARKS.md).
    #[inline(always)]
    fn data(&self) -> usize {
        self.data_at & !63
    }

    /// This call's access to the region (see `view`): the hot paths go through it.
    #[inline(always)]
    fn view(&self) -> View<'_, M> {
        View::new(&self.mem, self.data())
    }

    /// Where the data starts in the region: [`DATA_OFFSET`], or past the descriptor.
    ///
    /// # Examples
    /// ```
    /// # use core::sync::atomic::AtomicU64;
    /// # use seqring_core::seqlock::{region_len, SeqArray, DATA_OFFSET};
    /// # use seqring_core::{DType, RawRegion, Spins};
    /// # let words: Vec<AtomicU64> = (0..region_len(64).unwrap() / 8).map(|_| AtomicU64::new(0)).collect();
    /// let array = SeqArray::create(RawRegion::new(&words), DType::F64, &[8], 1, 0).unwrap();
    /// assert_eq!(array.data_offset(), DATA_OFFSET);
    /// ```
    pub fn data_offset(&self) -> usize {
        self.data_at
    }

    /// The underlying region.
    ///
    /// # Examples
    /// ```
    /// # use core::sync::atomic::AtomicU64;
    /// # use seqring_core::seqlock::{region_len, SeqArray, WriteStamp};
    /// # use seqring_core::{DType, RawRegion, Spins};
    /// # let words: Vec<AtomicU64> = (0..region_len(64).unwrap() / 8).map(|_| AtomicU64::new(0)).collect();
    /// let array = SeqArray::create(RawRegion::new(&words), DType::F64, &[8], 1, 0).unwrap();
    /// use seqring_core::Memory;
    /// assert_eq!(array.memory().len(), region_len(64).unwrap());
    /// ```
    pub fn memory(&self) -> &M {
        &self.mem
    }

    /// The data capacity in bytes.
    ///
    /// # Examples
    /// ```
    /// # use core::sync::atomic::AtomicU64;
    /// # use seqring_core::seqlock::{region_len, SeqArray, WriteStamp};
    /// # use seqring_core::{DType, RawRegion, Spins};
    /// # let words: Vec<AtomicU64> = (0..region_len(64).unwrap() / 8).map(|_| AtomicU64::new(0)).collect();
    /// let array = SeqArray::create(RawRegion::new(&words), DType::F64, &[8], 1, 0).unwrap();
    /// assert_eq!(array.capacity(), 64);
    /// ```
    pub fn capacity(&self) -> usize {
        self.capacity
    }

    /// The dtype and shape the array was created with.
    ///
    /// # Examples
    /// ```
    /// # use core::sync::atomic::AtomicU64;
    /// # use seqring_core::seqlock::{region_len, SeqArray, WriteStamp};
    /// # use seqring_core::{DType, RawRegion, Spins};
    /// # let words: Vec<AtomicU64> = (0..region_len(64).unwrap() / 8).map(|_| AtomicU64::new(0)).collect();
    /// let array = SeqArray::create(RawRegion::new(&words), DType::F64, &[8], 1, 0).unwrap();
    /// let (dtype, shape) = array.created_as();
    /// assert_eq!((dtype, shape.as_slice()), (DType::F64, &[8u64][..]));
    /// ```
    pub fn created_as(&self) -> (DType, Shape) {
        // Relaxed: immutable after `ready`, which the constructor acquired.
        let dtype = DType::from_word(self.mem.load(DTYPE_AT, Ordering::Relaxed)).unwrap_or(DType::U8);
        let ndim = (self.mem.load(NDIM_AT, Ordering::Relaxed) as usize).min(MAX_DIMS);
        let shape = (0..ndim)
            .map(|i| self.mem.load(SHAPE_AT + 8 * i, Ordering::Relaxed))
            .collect();
        (dtype, shape)
    }

    /// The current version, `sequence / 2`: a cheap check of whether anything changed since a read.
    ///
    /// # Examples
    /// ```
    /// # use core::sync::atomic::AtomicU64;
    /// # use seqring_core::seqlock::{region_len, SeqArray, WriteStamp};
    /// # use seqring_core::{DType, RawRegion, Spins};
    /// # let words: Vec<AtomicU64> = (0..region_len(64).unwrap() / 8).map(|_| AtomicU64::new(0)).collect();
    /// let array = SeqArray::create(RawRegion::new(&words), DType::F64, &[8], 1, 0).unwrap();
    /// assert_eq!(array.version(), 0);
    /// array.write_elements(0, &[1.0f64], WriteStamp::default(), Spins(0)).unwrap();
    /// assert_eq!(array.version(), 1);
    /// ```
    pub fn version(&self) -> u64 {
        // Acquire: pairs with the writer's Release store of the even sequence, like a read's `s1`.
        self.mem.load(SEQUENCE_AT, Ordering::Acquire) / 2
    }

    /// The sequence word now: odd while a writer holds the lock, and changed by every lock and every completed
    /// write. For waits that watch whether writers make progress (the std layer's backoff); no wait, no copy.
    ///
    /// # Examples
    /// ```
    /// # use core::sync::atomic::AtomicU64;
    /// # use seqring_core::seqlock::{region_len, SeqArray, WriteStamp};
    /// # use seqring_core::{DType, RawRegion, Spins};
    /// # let words: Vec<AtomicU64> = (0..region_len(64).unwrap() / 8).map(|_| AtomicU64::new(0)).collect();
    /// let array = SeqArray::create(RawRegion::new(&words), DType::F64, &[8], 1, 0).unwrap();
    /// let before = array.sequence();
    /// array.write_elements(0, &[1.0f64], WriteStamp::default(), Spins(0)).unwrap();
    /// assert_eq!(array.sequence(), before + 2); // odd while locked, even again after
    /// ```
    #[inline]
    pub fn sequence(&self) -> u64 {
        // Relaxed: informational, as in `stall`; no data is read on its strength.
        self.mem.load(SEQUENCE_AT, Ordering::Relaxed)
    }

    /// Whether a write is in progress (or a writer died during one).
    ///
    /// # Examples
    /// ```
    /// # use core::sync::atomic::AtomicU64;
    /// # use seqring_core::seqlock::{region_len, SeqArray, WriteStamp};
    /// # use seqring_core::{DType, RawRegion, Spins};
    /// # let words: Vec<AtomicU64> = (0..region_len(64).unwrap() / 8).map(|_| AtomicU64::new(0)).collect();
    /// let array = SeqArray::create(RawRegion::new(&words), DType::F64, &[8], 1, 0).unwrap();
    /// assert!(!array.is_locked());
    /// let guard = array.lock(WriteStamp::default(), Spins(0)).unwrap();
    /// assert!(array.is_locked());
    /// drop(guard);
    /// assert!(!array.is_locked());
    /// ```
    pub fn is_locked(&self) -> bool {
        self.mem.load(SEQUENCE_AT, Ordering::Relaxed) % 2 == 1
    }

    /// The error of a reader whose patience ran out: the writer is stalled if it still holds the lock, else
    /// writers merely kept it busy.
    fn give_up(&self) -> ArrayError {
        // Relaxed: informational, as in `stall`.
        let s = self.mem.load(SEQUENCE_AT, Ordering::Relaxed);
        if s % 2 == 1 {
            self.stalled_at(s)
        } else {
            ArrayError::Busy
        }
    }

    /// The stall error of odd sequence `sequence`, just loaded (one load fewer than [`SeqArray::stall`]: waits
    /// run this once per give-up, and loom explores every load).
    fn stalled_at(&self, sequence: u64) -> ArrayError {
        // Relaxed: informational; the stalled writer stored these right after taking the lock.
        ArrayError::WriterStalled {
            token: self.mem.load(HOLDER_TOKEN_AT, Ordering::Relaxed),
            since: self.mem.load(HOLDER_SINCE_AT, Ordering::Relaxed),
            sequence,
        }
    }

    /// The writer holding the lock now, if any: the odd sequence and the holder it recorded. A caller that finds
    /// the holder dead passes `sequence` to [`SeqArray::recover`].
    ///
    /// # Examples
    /// ```
    /// use core::sync::atomic::AtomicU64;
    /// use seqring_core::seqlock::{region_len, SeqArray, Stall, WriteStamp};
    /// use seqring_core::{DType, RawRegion, Spins};
    /// let words: Vec<AtomicU64> = (0..region_len(8).unwrap() / 8).map(|_| AtomicU64::new(0)).collect();
    /// let array = SeqArray::create(RawRegion::new(&words), DType::U64, &[1], 1, 0).unwrap();
    /// assert_eq!(array.stall(), None);
    /// std::mem::forget(array.lock(WriteStamp { token: 9, time_ns: 3 }, Spins(0)).unwrap());
    /// assert_eq!(array.stall(), Some(Stall { sequence: 1, token: 9, since: 3 }));
    /// ```
    pub fn stall(&self) -> Option<Stall> {
        // Relaxed: informational; `recover` re-checks the sequence by its CAS. The holder fields are stored right
        // after the lock CAS, so a stall seen early may name no holder (token 0).
        let sequence = self.mem.load(SEQUENCE_AT, Ordering::Relaxed);
        (sequence % 2 == 1).then(|| Stall {
            sequence,
            token: self.mem.load(HOLDER_TOKEN_AT, Ordering::Relaxed),
            since: self.mem.load(HOLDER_SINCE_AT, Ordering::Relaxed),
        })
    }

    /// Reads the current snapshot metadata and copies `dst.len()` data bytes, starting at byte `byte_offset` of the
    /// data, into `dst`.
    ///
    /// The range must lie inside the current shape's data.
    ///
    /// # Errors
    /// [`ArrayError::WriterStalled`] or [`ArrayError::Busy`] when `patience` runs out, and
    /// [`ArrayError::OutOfBounds`] (also when `byte_offset + dst.len()` overflows).
    ///
    /// # Examples
    /// ```
    /// use core::sync::atomic::AtomicU64;
    /// use seqring_core::seqlock::{region_len, SeqArray, WriteStamp};
    /// use seqring_core::{DType, RawRegion, Spins};
    /// let words: Vec<AtomicU64> = (0..region_len(16).unwrap() / 8).map(|_| AtomicU64::new(0)).collect();
    /// let array = SeqArray::create(RawRegion::new(&words), DType::U8, &[16], 1, 0).unwrap();
    /// array.write_bytes(4, b"abcd", WriteStamp::default(), Spins(0)).unwrap();
    /// let mut out = [0u8; 2];
    /// assert_eq!(array.read_bytes(5, &mut out, Spins(0)).unwrap().version, 1);
    /// assert_eq!(&out, b"bc");
    /// assert!(array.read_bytes(usize::MAX, &mut out, Spins(0)).is_err());
    /// ```
    #[inline]
    pub fn read_bytes(
        &self,
        byte_offset: usize,
        dst: &mut [u8],
        mut patience: impl Patience,
    ) -> Result<Snapshot, ArrayError> {
        let end = self.range_end(byte_offset, dst.len())?;
        let v = self.view();
        loop {
            // Acquire: pairs with the Release store of the even sequence that ends a write.
            let s1 = v.load(SEQUENCE_AT, Ordering::Acquire);
            if s1.is_multiple_of(2) {
                let meta = read_meta(&v);
                if end as u64 <= meta.nbytes && end <= self.capacity {
                    v.copy_out(byte_offset, dst);
                }
                // Acquire fence: pairs with the writer's Release fence after its CAS; if any byte above came from a
                // newer write, the reload below sees that write's odd sequence (or later).
                fence(Ordering::Acquire);
                if v.load(SEQUENCE_AT, Ordering::Relaxed) == s1 {
                    let snapshot = meta.finish(s1 / 2, self.capacity as u64)?;
                    if end as u64 > meta.nbytes {
                        return Err(ArrayError::OutOfBounds {
                            end: end as u64,
                            len: meta.nbytes,
                        });
                    }
                    return Ok(snapshot);
                }
            }
            if !patience.keep_waiting() {
                return Err(self.give_up());
            }
        }
    }

    /// The end of the byte range `offset..offset + len` of a read, or the error for one whose end overflows.
    #[inline(always)]
    fn range_end(&self, offset: usize, len: usize) -> Result<usize, ArrayError> {
        offset.checked_add(len).ok_or(ArrayError::OutOfBounds {
            end: u64::MAX,
            len: self.capacity as u64,
        })
    }

    /// Copies elements, starting at element index `first`, into `dst` and returns the version read: the lean read
    /// for hot loops, which skips the [`Snapshot`] (shape, time, token) that [`SeqArray::read_elements`] builds.
    ///
    /// # Errors
    /// [`ArrayError::DTypeMismatch`], [`ArrayError::OutOfBounds`], [`ArrayError::Suspect`] while the contents
    /// are a recovered partial write (the lean read has no flag to carry it; [`SeqArray::read_elements`] does), and
    /// [`ArrayError::WriterStalled`] or [`ArrayError::Busy`] when `patience` runs out.
    ///
    /// # Examples
    /// ```
    /// # use core::sync::atomic::AtomicU64;
    /// # use seqring_core::seqlock::{region_len, SeqArray, WriteStamp};
    /// # use seqring_core::{DType, RawRegion, Spins};
    /// # let words: Vec<AtomicU64> = (0..region_len(64).unwrap() / 8).map(|_| AtomicU64::new(0)).collect();
    /// let array = SeqArray::create(RawRegion::new(&words), DType::F64, &[8], 1, 0).unwrap();
    /// array.write_elements(0, &[0.5f64, 1.5, 2.5], WriteStamp::default(), Spins(0)).unwrap();
    /// let mut two = [0f64; 2];
    /// let version = array.read_into(1, &mut two, Spins(100)).unwrap(); // elements 1 and 2
    /// assert_eq!((two, version), ([1.5, 2.5], 1));
    /// ```
    #[inline(always)]
    pub fn read_into<T: Element>(
        &self,
        first: usize,
        dst: &mut [T],
        mut patience: impl Patience,
    ) -> Result<u64, ArrayError> {
        let bytes: &mut [u8] = bytemuck::cast_slice_mut(dst);
        let offset = first.checked_mul(T::DTYPE.itemsize()).ok_or(ArrayError::BadShape)?;
        let end = offset.checked_add(bytes.len()).ok_or(ArrayError::BadShape)?;
        let v = self.view();
        loop {
            // Acquire: pairs with the Release store of the even sequence that ends a write.
            let s1 = v.load(SEQUENCE_AT, Ordering::Acquire);
            if s1.is_multiple_of(2) {
                // Relaxed: validated by the sequence check below.
                let dtype = v.load(CUR_DTYPE_AT, Ordering::Relaxed);
                let len = v.load(NBYTES_AT, Ordering::Relaxed);
                let flags = v.load(FLAGS_AT, Ordering::Relaxed);
                let in_range = end as u64 <= len && end <= self.capacity;
                if in_range {
                    v.copy_out(offset, bytes);
                }
                // Acquire fence: pairs with the writer's Release fence after its CAS, as in `read`.
                fence(Ordering::Acquire);
                if v.load(SEQUENCE_AT, Ordering::Relaxed) == s1 {
                    if flags & SUSPECT != 0 || dtype != T::DTYPE.word() || !in_range {
                        return Err(lean_read_error::<T>(s1, flags, dtype, end, len));
                    }
                    return Ok(s1 / 2);
                }
            }
            if !patience.keep_waiting() {
                return Err(self.give_up());
            }
        }
    }

    /// Copies bytes from `byte_offset` into `dst` if the array's current dtype and shape are `dtype` and `shape`,
    /// and returns the version read: the lean read of a caller that sized `dst` for a layout it assumes (the
    /// Python binding's numpy buffers), which skips the [`Snapshot`] that [`SeqArray::read_bytes`] builds.
    /// `Ok(None)` when the array has another layout: nothing is promised of `dst` then (read a [`Snapshot`] to learn
    /// the layout).
    ///
    /// # Errors
    /// [`ArrayError::OutOfBounds`], [`ArrayError::Suspect`] while the contents are a recovered partial write (as
    /// the lean [`SeqArray::read_into`]), and [`ArrayError::WriterStalled`] or [`ArrayError::Busy`] when `patience`
    /// runs out.
    ///
    /// # Examples
    /// ```
    /// # use core::sync::atomic::AtomicU64;
    /// # use seqring_core::seqlock::{region_len, SeqArray, WriteStamp};
    /// # use seqring_core::{DType, RawRegion, Spins};
    /// # let words: Vec<AtomicU64> = (0..region_len(8).unwrap() / 8).map(|_| AtomicU64::new(0)).collect();
    /// let array = SeqArray::create(RawRegion::new(&words), DType::U8, &[2, 4], 1, 0).unwrap();
    /// array.write_bytes(4, b"abcd", WriteStamp::default(), Spins(0)).unwrap();
    /// let mut row = [0u8; 4];
    /// assert_eq!(array.read_bytes_as(DType::U8, &[2, 4], 4, &mut row, Spins(0)).unwrap(), Some(1));
    /// assert_eq!(&row, b"abcd");
    /// assert_eq!(array.read_bytes_as(DType::U8, &[8], 4, &mut row, Spins(0)).unwrap(), None, "another shape");
    /// assert_eq!(array.read_bytes_as(DType::I8, &[2, 4], 4, &mut row, Spins(0)).unwrap(), None, "another dtype");
    /// assert!(array.read_bytes_as(DType::U8, &[2, 4], 6, &mut row, Spins(0)).is_err(), "past the end");
    /// ```
    #[inline]
    pub fn read_bytes_as(
        &self,
        dtype: DType,
        shape: &[u64],
        byte_offset: usize,
        dst: &mut [u8],
        mut patience: impl Patience,
    ) -> Result<Option<u64>, ArrayError> {
        let end = self.range_end(byte_offset, dst.len())?;
        let v = self.view();
        loop {
            // Acquire: pairs with the Release store of the even sequence that ends a write.
            let s1 = v.load(SEQUENCE_AT, Ordering::Acquire);
            if s1.is_multiple_of(2) {
                // Relaxed: validated by the sequence check below.
                let word = v.load(CUR_DTYPE_AT, Ordering::Relaxed);
                let len = v.load(NBYTES_AT, Ordering::Relaxed);
                let flags = v.load(FLAGS_AT, Ordering::Relaxed);
                let same = layout_is(&v, word, dtype, shape);
                let in_range = end as u64 <= len && end <= self.capacity;
                if same && in_range {
                    v.copy_out(byte_offset, dst);
                }
                // Acquire fence: pairs with the writer's Release fence after its CAS, as in `read`.
                fence(Ordering::Acquire);
                if v.load(SEQUENCE_AT, Ordering::Relaxed) == s1 {
                    return match (same, flags & SUSPECT != 0, in_range) {
                        (false, _, _) => Ok(None),
                        (true, true, _) => Err(ArrayError::Suspect { version: s1 / 2 }),
                        (true, false, false) => Err(ArrayError::OutOfBounds { end: end as u64, len }),
                        (true, false, true) => Ok(Some(s1 / 2)),
                    };
                }
            }
            if !patience.keep_waiting() {
                return Err(self.give_up());
            }
        }
    }

    /// Reads only if the version differs from `last_version`; returns `None` without copying otherwise. The
    /// arguments are those of [`SeqArray::read_bytes`].
    ///
    /// # Errors
    /// As [`SeqArray::read_bytes`].
    ///
    /// # Examples
    /// ```
    /// # use core::sync::atomic::AtomicU64;
    /// # use seqring_core::seqlock::{region_len, SeqArray, WriteStamp};
    /// # use seqring_core::{DType, RawRegion, Spins};
    /// # let words: Vec<AtomicU64> = (0..region_len(64).unwrap() / 8).map(|_| AtomicU64::new(0)).collect();
    /// let array = SeqArray::create(RawRegion::new(&words), DType::F64, &[8], 1, 0).unwrap();
    /// array.write_elements(0, &[7.0f64], WriteStamp::default(), Spins(0)).unwrap();
    /// let mut buf = [0u8; 8];
    /// let snap = array.read_bytes_if_changed(0, 0, &mut buf, Spins(100)).unwrap().unwrap();
    /// assert_eq!(f64::from_le_bytes(buf), 7.0);
    /// assert!(array.read_bytes_if_changed(snap.version, 0, &mut buf, Spins(100)).unwrap().is_none(), "nothing new");
    /// ```
    pub fn read_bytes_if_changed(
        &self,
        last_version: u64,
        byte_offset: usize,
        dst: &mut [u8],
        patience: impl Patience,
    ) -> Result<Option<Snapshot>, ArrayError> {
        if self.version() == last_version && !self.is_locked() {
            return Ok(None);
        }
        let snap = self.read_bytes(byte_offset, dst, patience)?;
        Ok((snap.version != last_version).then_some(snap))
    }

    /// Reads elements, starting at element index `first`, into `dst`, checking the dtype, and returns the
    /// snapshot's metadata (version, shape, time, writer) with them.
    ///
    /// # Errors
    /// [`ArrayError::DTypeMismatch`], and as [`SeqArray::read_bytes`].
    ///
    /// # Examples
    /// ```
    /// # use core::sync::atomic::AtomicU64;
    /// # use seqring_core::seqlock::{region_len, SeqArray, WriteStamp};
    /// # use seqring_core::{DType, RawRegion, Spins};
    /// # let words: Vec<AtomicU64> = (0..region_len(64).unwrap() / 8).map(|_| AtomicU64::new(0)).collect();
    /// let array = SeqArray::create(RawRegion::new(&words), DType::F64, &[8], 1, 0).unwrap();
    /// array.write_elements(0, &[3.0f64; 8], WriteStamp::default(), Spins(0)).unwrap();
    /// let mut out = [0f64; 8];
    /// let snap = array.read_elements(0, &mut out, Spins(100)).unwrap();
    /// assert_eq!((out, snap.version, snap.dtype), ([3.0; 8], 1, DType::F64));
    /// ```
    #[inline]
    pub fn read_elements<T: Element>(
        &self,
        first: usize,
        dst: &mut [T],
        patience: impl Patience,
    ) -> Result<Snapshot, ArrayError> {
        let offset = first.checked_mul(T::DTYPE.itemsize()).ok_or(ArrayError::BadShape)?;
        let snap = self.read_bytes(offset, bytemuck::cast_slice_mut(dst), patience)?;
        if snap.dtype != T::DTYPE {
            return Err(ArrayError::DTypeMismatch {
                array: snap.dtype,
                requested: T::DTYPE,
            });
        }
        Ok(snap)
    }

    /// Reads the current dtype and shape consistently, without copying data.
    ///
    /// # Errors
    /// As [`SeqArray::read_bytes`].
    ///
    /// # Examples
    /// ```
    /// # use core::sync::atomic::AtomicU64;
    /// # use seqring_core::seqlock::{region_len, SeqArray, WriteStamp};
    /// # use seqring_core::{DType, RawRegion, Spins};
    /// # let words: Vec<AtomicU64> = (0..region_len(64).unwrap() / 8).map(|_| AtomicU64::new(0)).collect();
    /// let array = SeqArray::create(RawRegion::new(&words), DType::F64, &[8], 1, 0).unwrap();
    /// let snap = array.snapshot(Spins(100)).unwrap();
    /// assert_eq!((snap.version, snap.shape(), snap.suspect), (0, &[8u64][..], false));
    /// ```
    pub fn snapshot(&self, patience: impl Patience) -> Result<Snapshot, ArrayError> {
        self.read_bytes(0, &mut [], patience)
    }
}

/// Why a consistent lean read ([`SeqArray::read_into`]) of `end` bytes of `T` at sequence `s1` fails: suspect
/// contents, another dtype, or a range past the data's `len` bytes, in that order. Out of line: the hot path only
/// tests.
#[cold]
#[inline(never)]
fn lean_read_error<T: Element>(s1: u64, flags: u64, dtype: u64, end: usize, len: u64) -> ArrayError {
    if flags & SUSPECT != 0 {
        return ArrayError::Suspect { version: s1 / 2 };
    }
    if dtype != T::DTYPE.word() {
        return match DType::from_word(dtype) {
            Some(array) => ArrayError::DTypeMismatch {
                array,
                requested: T::DTYPE,
            },
            None => HeaderError::Corrupt("array dtype").into(),
        };
    }
    ArrayError::OutOfBounds { end: end as u64, len }
}

/// Whether the current layout in `v`'s protected block, whose dtype word `word` the caller loaded, is `dtype` and
/// `shape`: the word first (no decoding on the hot path), then the decoded dtype, which is what decides (a word that
/// decodes to no dtype reads as bytes, as [`WriteGuard::dtype`] says); then the dimensions word by word, without
/// copying the shape. The loads are Relaxed: the caller holds the writer lock, or validates them by the sequence.
#[inline(always)]
fn layout_is<M: Memory>(v: &View<'_, M>, word: u64, dtype: DType, shape: &[u64]) -> bool {
    if dtype.word() != word && DType::from_word(word).unwrap_or(DType::U8) != dtype {
        return false;
    }
    let ndim = (v.load(CUR_NDIM_AT, Ordering::Relaxed) as usize).min(MAX_DIMS);
    ndim == shape.len()
        && shape
            .iter()
            .enumerate()
            .all(|(i, &d)| v.load(CUR_SHAPE_AT + 8 * i, Ordering::Relaxed) == d)
}

/// The protected block, loaded inside a read section (Relaxed: validated by the caller's sequence check).
#[inline]
fn read_meta<M: Memory>(m: &View<'_, M>) -> RawMeta {
    // All 8 shape words, unconditionally (writers store zeros past `ndim`): no loop-carried branch.
    let dims: [u64; MAX_DIMS] = core::array::from_fn(|i| m.load(CUR_SHAPE_AT + 8 * i, Ordering::Relaxed));
    RawMeta {
        dtype: m.load(CUR_DTYPE_AT, Ordering::Relaxed),
        ndim: m.load(CUR_NDIM_AT, Ordering::Relaxed),
        dims,
        nbytes: m.load(NBYTES_AT, Ordering::Relaxed),
        time: m.load(WRITE_TIME_AT, Ordering::Relaxed),
        token: m.load(TOKEN_AT, Ordering::Relaxed),
        flags: m.load(FLAGS_AT, Ordering::Relaxed),
    }
}

impl<M: Memory> SeqArray<M> {
    /// Takes the writer lock, waiting within `patience`; the guard's drop publishes the write.
    ///
    /// # Errors
    /// [`ArrayError::WriterStalled`] if another writer holds the lock beyond `patience`.
    ///
    /// # Examples
    /// ```
    /// # use core::sync::atomic::AtomicU64;
    /// # use seqring_core::seqlock::{region_len, SeqArray, WriteStamp};
    /// # use seqring_core::{DType, RawRegion, Spins};
    /// # let words: Vec<AtomicU64> = (0..region_len(64).unwrap() / 8).map(|_| AtomicU64::new(0)).collect();
    /// let array = SeqArray::create(RawRegion::new(&words), DType::F64, &[8], 1, 0).unwrap();
    /// let mut guard = array.lock(WriteStamp { token: 7, time_ns: 99 }, Spins(0)).unwrap();
    /// guard.write_elements(0, &[1.0f64, 2.0]).unwrap();
    /// guard.write_elements(2, &[3.0f64]).unwrap();
    /// drop(guard); // publishes all three as one version
    /// let mut out = [0f64; 3];
    /// assert_eq!(array.read_into(0, &mut out, Spins(0)).unwrap(), 1);
    /// assert_eq!(out, [1.0, 2.0, 3.0]);
    /// assert!(array.lock(WriteStamp::default(), Spins(0)).is_ok(), "free again");
    /// ```
    #[inline(always)]
    pub fn lock(&self, stamp: WriteStamp, mut patience: impl Patience) -> Result<WriteGuard<'_, M>, ArrayError> {
        let v = self.view();
        let mut s = v.load(SEQUENCE_AT, Ordering::Relaxed);
        loop {
            if s.is_multiple_of(2) {
                // Acquire: pairs with the previous writer's Release store of `s`, so this write is ordered after
                // its data and protected block.
                match v.compare_exchange(SEQUENCE_AT, s, s + 1, Ordering::Acquire, Ordering::Relaxed) {
                    Ok(_) => break,
                    Err(now) => s = now,
                }
                continue;
            }
            if !patience.keep_waiting() {
                return Err(self.stalled_at(s));
            }
            s = v.load(SEQUENCE_AT, Ordering::Relaxed);
        }
        // Relaxed: the lock CAS above (Acquire) read the release sequence of every waiter's W2 CAS that precedes
        // it, so those waiters' count increments (W1) and leases (W1') happen before these loads (see the module
        // documentation). The writer's whole extra cost when no one waits: one load and a branch.
        let wake = v.load(WAITERS_AT, Ordering::Relaxed) != 0
            && (stamp.time_ns == 0 || v.load(LEASE_AT, Ordering::Relaxed) > stamp.time_ns);
        // Relaxed: read only by stall reports, which are informational.
        v.store(HOLDER_TOKEN_AT, stamp.token, Ordering::Relaxed);
        v.store(HOLDER_SINCE_AT, stamp.time_ns, Ordering::Relaxed);
        // Release fence: pairs with the reader's Acquire fence; orders the odd sequence before every data store.
        fence(Ordering::Release);
        // Relaxed: only lock holders write the shape, and the Acquire CAS ordered the previous holder's stores.
        let dtype_word = v.load(CUR_DTYPE_AT, Ordering::Relaxed);
        let len = v.load(NBYTES_AT, Ordering::Relaxed).min(self.capacity as u64);
        Ok(WriteGuard {
            array: self,
            view: v,
            sequence: s,
            stamp,
            dtype_word,
            len: len as usize,
            dirty: false,
            full_write: false,
            wake,
        })
    }

    /// Writes `src` at byte `byte_offset` of the current data in one locked write.
    ///
    /// # Errors
    /// As [`SeqArray::lock`] and [`WriteGuard::write_bytes`].
    ///
    /// # Examples
    /// ```
    /// # use core::sync::atomic::AtomicU64;
    /// # use seqring_core::seqlock::{region_len, SeqArray, WriteStamp};
    /// # use seqring_core::{DType, RawRegion, Spins};
    /// # let words: Vec<AtomicU64> = (0..region_len(64).unwrap() / 8).map(|_| AtomicU64::new(0)).collect();
    /// let array = SeqArray::create(RawRegion::new(&words), DType::F64, &[8], 1, 0).unwrap();
    /// array.write_bytes(8, &2.5f64.to_le_bytes(), WriteStamp::default(), Spins(0)).unwrap();
    /// let mut out = [0f64; 2];
    /// array.read_into(0, &mut out, Spins(0)).unwrap();
    /// assert_eq!(out, [0.0, 2.5]);
    /// ```
    pub fn write_bytes(
        &self,
        byte_offset: usize,
        src: &[u8],
        stamp: WriteStamp,
        patience: impl Patience,
    ) -> Result<(), ArrayError> {
        self.lock(stamp, patience)?.write_bytes(byte_offset, src)
    }

    /// Writes elements, starting at element index `first`, checking the dtype, in one locked write.
    ///
    /// # Errors
    /// As [`SeqArray::lock`] and [`WriteGuard::write_elements`].
    ///
    /// # Examples
    /// ```
    /// # use core::sync::atomic::AtomicU64;
    /// # use seqring_core::seqlock::{region_len, SeqArray, WriteStamp};
    /// # use seqring_core::{DType, RawRegion, Spins};
    /// # let words: Vec<AtomicU64> = (0..region_len(64).unwrap() / 8).map(|_| AtomicU64::new(0)).collect();
    /// let array = SeqArray::create(RawRegion::new(&words), DType::F64, &[8], 1, 0).unwrap();
    /// array.write_elements(6, &[9.0f64, 10.0], WriteStamp::default(), Spins(0)).unwrap();
    /// let mut out = [0f64; 8];
    /// array.read_into(0, &mut out, Spins(0)).unwrap();
    /// assert_eq!(&out[6..], &[9.0, 10.0]);
    /// assert!(array.write_elements(0, &[1u8], WriteStamp::default(), Spins(0)).is_err(), "the dtype is checked");
    /// ```
    pub fn write_elements<T: Element>(
        &self,
        first: usize,
        src: &[T],
        stamp: WriteStamp,
        patience: impl Patience,
    ) -> Result<(), ArrayError> {
        self.lock(stamp, patience)?.write_elements(first, src)
    }

    /// Writes `src` as the whole data (the current shape's length exactly) in one locked write: the hot path of a
    /// whole-array write, with no guard between the lock and the unlock (so nothing of the write leaves registers).
    /// It stamps, publishes, clears the suspect flag and wakes waiters as a guard's write of the whole data does;
    /// a length or dtype that does not match leaves the array unchanged (its old sequence restored).
    ///
    /// # Errors
    /// As [`SeqArray::lock`]; [`ArrayError::LengthMismatch`] when `src` is not the data's length, then
    /// [`ArrayError::DTypeMismatch`].
    ///
    /// # Examples
    /// ```
    /// # use core::sync::atomic::AtomicU64;
    /// # use seqring_core::seqlock::{region_len, ArrayError, SeqArray, WriteStamp};
    /// # use seqring_core::{DType, RawRegion, Spins};
    /// # let words: Vec<AtomicU64> = (0..region_len(64).unwrap() / 8).map(|_| AtomicU64::new(0)).collect();
    /// let array = SeqArray::create(RawRegion::new(&words), DType::F64, &[8], 1, 0).unwrap();
    /// array.write_all(&[2.5f64; 8], WriteStamp::default(), Spins(0)).unwrap();
    /// let err = array.write_all(&[1.0f64; 4], WriteStamp::default(), Spins(0));
    /// assert_eq!(err, Err(ArrayError::LengthMismatch { len: 64, given: 32 }));
    /// let mut out = [0f64; 8];
    /// assert_eq!(array.read_into(0, &mut out, Spins(0)), Ok(1), "one version: the refused write published none");
    /// assert_eq!(out, [2.5; 8]);
    /// ```
    #[inline(always)]
    pub fn write_all<T: Element>(
        &self,
        src: &[T],
        stamp: WriteStamp,
        patience: impl Patience,
    ) -> Result<(), ArrayError> {
        // No unwinding between the lock and the unlock below (the copy's range is checked first), so the guard is
        // released explicitly, inline, rather than by its drop glue, which the compiler calls out of line with the
        // guard spilled to the stack.
        let bytes: &[u8] = bytemuck::cast_slice(src);
        let mut guard = core::mem::ManuallyDrop::new(self.lock(stamp, patience)?);
        let result = if bytes.len() != guard.len {
            Err(ArrayError::LengthMismatch {
                len: guard.len as u64,
                given: bytes.len() as u64,
            })
        } else if T::DTYPE.word() != guard.dtype_word && T::DTYPE != guard.dtype() {
            Err(ArrayError::DTypeMismatch {
                array: guard.dtype(),
                requested: T::DTYPE,
            })
        } else {
            guard.touch();
            guard.view.copy_in(0, bytes);
            guard.full_write = true;
            Ok(())
        };
        guard.unlock();
        result
    }

    /// Read-modify-write of the elements from element index `first`, `buf.len()` of them, under the writer lock: reads them
    /// into `buf`, lets `f` change them, and writes them back in the same write.
    ///
    /// # Errors
    /// As [`SeqArray::lock`], [`WriteGuard::write_elements`] and [`WriteGuard::read_bytes`].
    ///
    /// # Examples
    /// ```
    /// use core::sync::atomic::AtomicU64;
    /// use seqring_core::seqlock::{region_len, SeqArray, WriteStamp};
    /// use seqring_core::{DType, RawRegion, Spins};
    /// let words: Vec<AtomicU64> = (0..region_len(16).unwrap() / 8).map(|_| AtomicU64::new(0)).collect();
    /// let counters = SeqArray::create(RawRegion::new(&words), DType::U32, &[4], 1, 0).unwrap();
    /// let mut scratch = [0u32; 2];
    /// counters.update(1, &mut scratch, WriteStamp::default(), Spins(0), |c| c.iter_mut().for_each(|x| *x += 1)).unwrap();
    /// let mut out = [0u32; 4];
    /// counters.read_elements(0, &mut out, Spins(0)).unwrap();
    /// assert_eq!(out, [0, 1, 1, 0]);
    /// ```
    pub fn update<T: Element, R>(
        &self,
        first: usize,
        buf: &mut [T],
        stamp: WriteStamp,
        patience: impl Patience,
        f: impl FnOnce(&mut [T]) -> R,
    ) -> Result<R, ArrayError> {
        let mut guard = self.lock(stamp, patience)?;
        if T::DTYPE != guard.dtype() {
            return Err(ArrayError::DTypeMismatch {
                array: guard.dtype(),
                requested: T::DTYPE,
            });
        }
        let offset = first.checked_mul(T::DTYPE.itemsize()).ok_or(ArrayError::BadShape)?;
        guard.read_bytes(offset, bytemuck::cast_slice_mut(buf))?;
        let result = f(buf);
        guard.write_bytes(offset, bytemuck::cast_slice(buf))?;
        Ok(result)
    }

    /// Clears the stall at odd sequence `stalled` (from [`ArrayError::WriterStalled`] or [`SeqArray::stall`]),
    /// left by a writer the caller knows is dead: the sequence becomes even again and the contents are marked
    /// suspect until the next full write. Returns whether it cleared that stall; it changes nothing, and returns
    /// `false`, if the sequence no longer is `stalled` (the writer finished after all, another recoverer cleared
    /// it, or a later writer holds the lock: a recoverer never takes a lock it did not judge).
    ///
    /// The recoverer takes the stalled lock over with one CAS (odd `stalled` to odd `stalled + 2`), so of two
    /// recoverers of one stall only one changes anything, and it sets the suspect flag while it holds the lock.
    ///
    /// Call it only when the writer that holds `stalled` is known to be dead; recovering from a live writer lets
    /// two writers interleave.
    ///
    /// # Examples
    /// ```
    /// use core::sync::atomic::AtomicU64;
    /// use seqring_core::seqlock::{region_len, ArrayError, SeqArray, WriteStamp};
    /// use seqring_core::{DType, RawRegion, Spins};
    /// let words: Vec<AtomicU64> = (0..region_len(8).unwrap() / 8).map(|_| AtomicU64::new(0)).collect();
    /// let array = SeqArray::create(RawRegion::new(&words), DType::U64, &[1], 1, 0).unwrap();
    /// std::mem::forget(array.lock(WriteStamp { token: 9, time_ns: 3 }, Spins(0)).unwrap()); // writer 9 dies
    /// let Err(ArrayError::WriterStalled { token: 9, sequence, .. }) = array.read_into(0, &mut [0u64], Spins(2)) else {
    ///     panic!("the dead writer is reported");
    /// };
    /// // ... the caller checks that writer 9 is dead ...
    /// assert!(array.recover(sequence));
    /// assert!(!array.recover(sequence), "that stall is gone");
    /// assert!(array.snapshot(Spins(0)).unwrap().suspect);
    /// ```
    pub fn recover(&self, stalled: u64) -> bool {
        if stalled.is_multiple_of(2) {
            return false;
        }
        let s = stalled;
        // Acquire: as a writer's lock CAS, orders this recovery after whatever the stalled writer stored. Fails
        // (and changes nothing) if the sequence moved on: the writer finished, or another recoverer won (and maybe
        // a live writer locked since).
        if self
            .mem
            .compare_exchange(SEQUENCE_AT, s, s + 2, Ordering::Acquire, Ordering::Relaxed)
            .is_err()
        {
            return false;
        }
        // Relaxed: as in `lock`, after the Acquire CAS.
        let wake = self.mem.load(WAITERS_AT, Ordering::Relaxed) != 0;
        // Release fence: pairs with the reader's Acquire fence, as in `lock`.
        fence(Ordering::Release);
        // Relaxed: the lock is ours; published by the Release store below.
        let flags = self.mem.load(FLAGS_AT, Ordering::Relaxed);
        self.mem.store(FLAGS_AT, flags | SUSPECT, Ordering::Relaxed);
        self.mem.store(HOLDER_TOKEN_AT, 0, Ordering::Relaxed);
        self.mem.store(HOLDER_SINCE_AT, 0, Ordering::Relaxed);
        // Release: pairs with readers' Acquire load of `s1` and the next writer's Acquire CAS, as a writer's
        // closing store does.
        self.mem.store(SEQUENCE_AT, s + 3, Ordering::Release);
        if wake {
            // Waiters block only on an even sequence: the one before the stalled writer locked.
            self.mem.wake(SEQUENCE_AT, s - 1);
        }
        true
    }

    /// The number of waiters registered in [`SeqArray::wait_changed`] now (informational: a waiter that was killed
    /// while blocked stays counted; writers stop waking it when its lease runs out).
    ///
    /// # Examples
    /// ```
    /// # use core::sync::atomic::AtomicU64;
    /// # use seqring_core::seqlock::{region_len, SeqArray};
    /// # use seqring_core::{DType, RawRegion};
    /// # let words: Vec<AtomicU64> = (0..region_len(8).unwrap() / 8).map(|_| AtomicU64::new(0)).collect();
    /// let array = SeqArray::create(RawRegion::new(&words), DType::U64, &[1], 1, 0).unwrap();
    /// assert_eq!(array.waiters(), 0);
    /// ```
    pub fn waiters(&self) -> u64 {
        // Relaxed: informational.
        self.mem.load(WAITERS_AT, Ordering::Relaxed)
    }

    /// Waits until a version other than `last_version` is published and returns it, or `None` when `park` gives up.
    /// The core cannot block, so `park` does: it is called with what the waiter saw and returns whether to keep
    /// waiting (the std layer blocks on a futex and checks a deadline; see [`Park`]). It returns at once if the
    /// version already differs. A returned version was complete when seen; read it with the ordinary reads.
    ///
    /// The protocol (a waiter count beside the sequence; no lost wake-up) is in the module documentation. A writer
    /// wakes waiters through [`Memory::wake`], so memory whose `wake` does nothing only ends its waits when `park`
    /// returns on its own (a timeout). `lease` is called before each round of waiting and returns the time, on the
    /// clock of writers' [`WriteStamp::time_ns`], until which this waiter will come back for another round (a
    /// `park` that blocks must return before then); `|| u64::MAX` for writers without times or a waiter that
    /// cannot be killed.
    ///
    /// # Examples
    /// ```
    /// use core::sync::atomic::AtomicU64;
    /// use seqring_core::seqlock::{region_len, Park, SeqArray, WriteStamp};
    /// use seqring_core::{DType, RawRegion, Spins};
    /// let words: Vec<AtomicU64> = (0..region_len(8).unwrap() / 8).map(|_| AtomicU64::new(0)).collect();
    /// let array = SeqArray::create(RawRegion::new(&words), DType::U64, &[1], 1, 0).unwrap();
    /// // Nothing new and a park that gives up at once: a timeout.
    /// assert_eq!(array.wait_changed(0, || u64::MAX, |park| { assert_eq!(park, Park::Unchanged(0)); false }), None);
    /// array.write_elements(0, &[5u64], WriteStamp::default(), Spins(0)).unwrap();
    /// assert_eq!(array.wait_changed(0, || u64::MAX, |_| unreachable!("version 1 is there already")), Some(1));
    /// assert_eq!(array.waiters(), 0, "a waiter deregisters when it returns");
    /// ```
    pub fn wait_changed(
        &self,
        last_version: u64,
        mut lease: impl FnMut() -> u64,
        mut park: impl FnMut(Park) -> bool,
    ) -> Option<u64> {
        // W1 (Relaxed): ordered before the sequence CAS below by program order, which that CAS's Release half
        // publishes to the next writer's Acquire lock CAS (see the module documentation).
        let _registered = Registration::new(&self.mem, WAITERS_AT);
        loop {
            // W1' (Relaxed, as W1): the lease, raised (never lowered: another waiter may hold a later one) before
            // this round's W2, which publishes it.
            let until = lease();
            let mut held = self.mem.load(LEASE_AT, Ordering::Relaxed);
            while held < until {
                match self
                    .mem
                    .compare_exchange(LEASE_AT, held, until, Ordering::Relaxed, Ordering::Relaxed)
                {
                    Ok(_) => break,
                    Err(now) => held = now,
                }
            }
            // Acquire: as a reader's `s1`, pairs with a writer's closing Release store.
            let s = self.mem.load(SEQUENCE_AT, Ordering::Acquire);
            if !s.is_multiple_of(2) {
                if !park(Park::Writing(s)) {
                    return None;
                }
                continue;
            }
            if s / 2 != last_version {
                return Some(s / 2);
            }
            // W2: a CAS of `s` to itself. Release, so that the next lock CAS, which reads it (or a later waiter's
            // CAS, in its release sequence), sees the count raised above; Acquire as the load above. Failure: a
            // writer locked since the load; look again.
            if self
                .mem
                .compare_exchange(SEQUENCE_AT, s, s, Ordering::AcqRel, Ordering::Relaxed)
                .is_ok()
                && !park(Park::Unchanged(s))
            {
                return None;
            }
        }
    }
}

/// What a waiter in [`SeqArray::wait_changed`] saw, for its `park` to wait on.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Park {
    /// Nothing new: the sequence word ([`SEQUENCE_WORD`]) holds this even value. Block until the word differs from
    /// it or a wake arrives (a futex wait on the word), or until a deadline. Spurious returns are harmless.
    Unchanged(u64),
    /// A writer holds this odd sequence: it is in its write section, or died in it. It may not wake this waiter
    /// (it may have looked at the waiter count before this waiter registered), so nap briefly and look again.
    Writing(u64),
}

/// A writer holding the lock ([`SeqArray::stall`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Stall {
    /// The odd sequence it holds: what [`SeqArray::recover`] takes.
    pub sequence: u64,
    /// The token it recorded (0: not yet recorded).
    pub token: u64,
    /// When its write started (ns; 0 with token 0).
    pub since: u64,
}

/// The protected block as loaded inside a read section, before the sequence check validates it.
#[derive(Clone, Copy)]
struct RawMeta {
    dtype: u64,
    ndim: u64,
    dims: [u64; MAX_DIMS],
    nbytes: u64,
    time: u64,
    token: u64,
    flags: u64,
}

impl RawMeta {
    /// Validates metadata read in a consistent section against the array's `capacity`.
    #[inline]
    fn finish(&self, version: u64, capacity: u64) -> Result<Snapshot, ArrayError> {
        let corrupt = |what| ArrayError::Region(HeaderError::Corrupt(what));
        let dtype = DType::from_word(self.dtype).ok_or(corrupt("array dtype"))?;
        if self.ndim > MAX_DIMS as u64 {
            return Err(corrupt("array ndim"));
        }
        // Writers store the data length with the shape (derived from it); a disagreement means memory corrupted
        // from outside, and a snapshot whose shape does not describe its data would mislead every caller.
        let ndim = self.ndim as usize;
        match shape_bytes(dtype, &self.dims[..ndim]) {
            Ok(n) if n == self.nbytes && n <= capacity => {}
            _ => return Err(corrupt("array shape disagrees with its data length or capacity")),
        }
        Ok(Snapshot {
            version,
            write_time_ns: self.time,
            token: self.token,
            suspect: self.flags & SUSPECT != 0,
            dtype,
            ndim: ndim as u8,
            dims: self.dims,
        })
    }
}

/// The writer lock of a [`SeqArray`]. Dropping it publishes the write.
#[must_use = "dropping the guard at once publishes an empty write"]
#[derive(Debug)]
pub struct WriteGuard<'a, M: Memory> {
    array: &'a SeqArray<M>,
    /// The array's words, resolved once by the lock.
    view: View<'a, M>,
    /// The even sequence before the lock was taken.
    sequence: u64,
    stamp: WriteStamp,
    /// The current dtype's word, as loaded under the lock (or set by this guard's reshape): compared with an
    /// element type's word without decoding it.
    dtype_word: u64,
    len: usize,
    dirty: bool,
    full_write: bool,
    /// Waiters were registered when the lock was taken: wake them after publishing.
    wake: bool,
}

impl<M: Memory> WriteGuard<'_, M> {
    /// The current dtype.
    ///
    /// # Examples
    /// ```
    /// # use core::sync::atomic::AtomicU64;
    /// # use seqring_core::seqlock::{region_len, SeqArray, WriteStamp};
    /// # use seqring_core::{DType, RawRegion, Spins};
    /// # let words: Vec<AtomicU64> = (0..region_len(64).unwrap() / 8).map(|_| AtomicU64::new(0)).collect();
    /// let array = SeqArray::create(RawRegion::new(&words), DType::F64, &[8], 1, 0).unwrap();
    /// let guard = array.lock(WriteStamp::default(), Spins(0)).unwrap();
    /// assert_eq!(guard.dtype(), DType::F64);
    /// ```
    pub fn dtype(&self) -> DType {
        // A word that decodes to no dtype (memory corrupted from outside) reads as bytes, as it always has.
        DType::from_word(self.dtype_word).unwrap_or(DType::U8)
    }

    /// The current data length in bytes.
    ///
    /// # Examples
    /// ```
    /// # use core::sync::atomic::AtomicU64;
    /// # use seqring_core::seqlock::{region_len, SeqArray, WriteStamp};
    /// # use seqring_core::{DType, RawRegion, Spins};
    /// # let words: Vec<AtomicU64> = (0..region_len(64).unwrap() / 8).map(|_| AtomicU64::new(0)).collect();
    /// let array = SeqArray::create(RawRegion::new(&words), DType::F64, &[8], 1, 0).unwrap();
    /// let guard = array.lock(WriteStamp::default(), Spins(0)).unwrap();
    /// assert_eq!(guard.len(), 64); // 8 × f64
    /// ```
    pub fn len(&self) -> usize {
        self.len
    }

    /// Whether the current shape holds no bytes.
    ///
    /// # Examples
    /// ```
    /// # use core::sync::atomic::AtomicU64;
    /// # use seqring_core::seqlock::{region_len, SeqArray, WriteStamp};
    /// # use seqring_core::{DType, RawRegion, Spins};
    /// # let words: Vec<AtomicU64> = (0..region_len(64).unwrap() / 8).map(|_| AtomicU64::new(0)).collect();
    /// let array = SeqArray::create(RawRegion::new(&words), DType::F64, &[8], 1, 0).unwrap();
    /// let mut guard = array.lock(WriteStamp::default(), Spins(0)).unwrap();
    /// assert!(!guard.is_empty());
    /// guard.reshape(DType::F64, &[0]).unwrap();
    /// assert!(guard.is_empty());
    /// ```
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// The current shape (as of the lock, or of this guard's last [`WriteGuard::reshape`]).
    ///
    /// # Examples
    /// ```
    /// use core::sync::atomic::AtomicU64;
    /// use seqring_core::seqlock::{region_len, SeqArray, WriteStamp};
    /// use seqring_core::{DType, RawRegion, Spins};
    /// let words: Vec<AtomicU64> = (0..region_len(24).unwrap() / 8).map(|_| AtomicU64::new(0)).collect();
    /// let array = SeqArray::create(RawRegion::new(&words), DType::U8, &[4, 6], 1, 0).unwrap();
    /// let mut guard = array.lock(WriteStamp::default(), Spins(0)).unwrap();
    /// assert_eq!(guard.shape().as_slice(), &[4, 6]);
    /// guard.reshape(DType::U16, &[3]).unwrap();
    /// assert_eq!(guard.shape().as_slice(), &[3]);
    /// ```
    pub fn shape(&self) -> Shape {
        let m = &self.array.mem;
        // Relaxed: only lock holders write the shape, and the lock's Acquire CAS ordered the previous holder's
        // stores before these loads (this guard's own reshape is program-ordered before them).
        let ndim = (m.load(CUR_NDIM_AT, Ordering::Relaxed) as usize).min(MAX_DIMS);
        (0..ndim)
            .map(|i| m.load(CUR_SHAPE_AT + 8 * i, Ordering::Relaxed))
            .collect()
    }

    /// Whether the current dtype and shape are `dtype` and `shape`: [`WriteGuard::dtype`] and
    /// [`WriteGuard::shape`] compared, without copying the shape (a writer's check of the layout it assumes).
    ///
    /// # Examples
    /// ```
    /// use core::sync::atomic::AtomicU64;
    /// use seqring_core::seqlock::{region_len, SeqArray, WriteStamp};
    /// use seqring_core::{DType, RawRegion, Spins};
    /// let words: Vec<AtomicU64> = (0..region_len(24).unwrap() / 8).map(|_| AtomicU64::new(0)).collect();
    /// let array = SeqArray::create(RawRegion::new(&words), DType::U8, &[4, 6], 1, 0).unwrap();
    /// let guard = array.lock(WriteStamp::default(), Spins(0)).unwrap();
    /// assert!(guard.has_layout(DType::U8, &[4, 6]));
    /// assert!(!guard.has_layout(DType::U8, &[4, 5]) && !guard.has_layout(DType::U8, &[4]));
    /// assert!(!guard.has_layout(DType::I8, &[4, 6]));
    /// ```
    #[inline]
    pub fn has_layout(&self, dtype: DType, shape: &[u64]) -> bool {
        // Relaxed loads inside: only lock holders write the layout; the lock's Acquire CAS ordered their stores.
        layout_is(&self.view, self.dtype_word, dtype, shape)
    }

    /// Records the writer's stamp in the protected block before the first change.
    #[inline(always)]
    fn touch(&mut self) {
        if !self.dirty {
            self.dirty = true;
            let v = &self.view;
            // Relaxed: published with the data by the guard's closing Release store.
            v.store(TOKEN_AT, self.stamp.token, Ordering::Relaxed);
            v.store(WRITE_TIME_AT, self.stamp.time_ns, Ordering::Relaxed);
        }
    }

    #[inline(always)]
    fn check(&self, offset: usize, n: usize) -> Result<(), ArrayError> {
        match offset.checked_add(n) {
            Some(end) if end <= self.len => Ok(()),
            _ => Err(ArrayError::OutOfBounds {
                end: (offset as u64).saturating_add(n as u64),
                len: self.len as u64,
            }),
        }
    }

    /// Writes `src` at byte `byte_offset` of the data. A write that covers the whole data clears the suspect flag.
    ///
    /// # Errors
    /// [`ArrayError::OutOfBounds`] if the range passes the current data length.
    ///
    /// # Examples
    /// ```
    /// # use core::sync::atomic::AtomicU64;
    /// # use seqring_core::seqlock::{region_len, SeqArray, WriteStamp};
    /// # use seqring_core::{DType, RawRegion, Spins};
    /// # let words: Vec<AtomicU64> = (0..region_len(64).unwrap() / 8).map(|_| AtomicU64::new(0)).collect();
    /// let array = SeqArray::create(RawRegion::new(&words), DType::F64, &[8], 1, 0).unwrap();
    /// let mut guard = array.lock(WriteStamp::default(), Spins(0)).unwrap();
    /// guard.write_bytes(0, &1.25f64.to_le_bytes()).unwrap();
    /// drop(guard);
    /// let mut out = [0f64; 1];
    /// array.read_into(0, &mut out, Spins(0)).unwrap();
    /// assert_eq!(out, [1.25]);
    /// ```
    #[inline(always)]
    pub fn write_bytes(&mut self, byte_offset: usize, src: &[u8]) -> Result<(), ArrayError> {
        self.check(byte_offset, src.len())?;
        self.touch();
        self.view.copy_in(byte_offset, src);
        self.full_write |= byte_offset == 0 && src.len() == self.len;
        Ok(())
    }

    /// Writes elements, starting at element index `first`.
    ///
    /// # Errors
    /// [`ArrayError::DTypeMismatch`] or [`ArrayError::OutOfBounds`].
    ///
    /// # Examples
    /// ```
    /// # use core::sync::atomic::AtomicU64;
    /// # use seqring_core::seqlock::{region_len, SeqArray, WriteStamp};
    /// # use seqring_core::{DType, RawRegion, Spins};
    /// # let words: Vec<AtomicU64> = (0..region_len(64).unwrap() / 8).map(|_| AtomicU64::new(0)).collect();
    /// let array = SeqArray::create(RawRegion::new(&words), DType::F64, &[8], 1, 0).unwrap();
    /// let mut guard = array.lock(WriteStamp::default(), Spins(0)).unwrap();
    /// guard.write_elements(0, &[4.0f64; 8]).unwrap();
    /// assert!(guard.write_elements(7, &[1.0f64, 2.0]).is_err(), "out of bounds");
    /// drop(guard);
    /// assert_eq!(array.version(), 1);
    /// ```
    #[inline(always)]
    pub fn write_elements<T: Element>(&mut self, first: usize, src: &[T]) -> Result<(), ArrayError> {
        // The word first (no decoding on the hot path); then the decoded dtype, which is what decides (a corrupt
        // word reads as bytes).
        if T::DTYPE.word() != self.dtype_word && T::DTYPE != self.dtype() {
            return Err(ArrayError::DTypeMismatch {
                array: self.dtype(),
                requested: T::DTYPE,
            });
        }
        let offset = first.checked_mul(T::DTYPE.itemsize()).ok_or(ArrayError::BadShape)?;
        self.write_bytes(offset, bytemuck::cast_slice(src))
    }

    /// Reads back bytes from byte `byte_offset` of the data under the lock (for read-modify-write).
    ///
    /// # Errors
    /// [`ArrayError::OutOfBounds`].
    ///
    /// # Examples
    /// ```
    /// # use core::sync::atomic::AtomicU64;
    /// # use seqring_core::seqlock::{region_len, SeqArray, WriteStamp};
    /// # use seqring_core::{DType, RawRegion, Spins};
    /// # let words: Vec<AtomicU64> = (0..region_len(64).unwrap() / 8).map(|_| AtomicU64::new(0)).collect();
    /// let array = SeqArray::create(RawRegion::new(&words), DType::F64, &[8], 1, 0).unwrap();
    /// let mut guard = array.lock(WriteStamp::default(), Spins(0)).unwrap();
    /// guard.write_elements(0, &[6.0f64]).unwrap();
    /// let mut buf = [0u8; 8];
    /// guard.read_bytes(0, &mut buf).unwrap(); // the writer reads its own write
    /// assert_eq!(f64::from_le_bytes(buf), 6.0);
    /// ```
    pub fn read_bytes(&self, byte_offset: usize, dst: &mut [u8]) -> Result<(), ArrayError> {
        self.check(byte_offset, dst.len())?;
        self.view.copy_out(byte_offset, dst);
        Ok(())
    }

    /// Changes the dtype and shape within the capacity. The data bytes are left as they are.
    ///
    /// # Errors
    /// [`ArrayError::BadShape`] or [`ArrayError::CapacityExceeded`], and [`ArrayError::DTypeMismatch`] for a
    /// [`DType::Record`] other than the one the array was created with (the only one its descriptor describes).
    ///
    /// # Examples
    /// ```
    /// # use core::sync::atomic::AtomicU64;
    /// # use seqring_core::seqlock::{region_len, SeqArray, WriteStamp};
    /// # use seqring_core::{DType, RawRegion, Spins};
    /// # let words: Vec<AtomicU64> = (0..region_len(64).unwrap() / 8).map(|_| AtomicU64::new(0)).collect();
    /// let array = SeqArray::create(RawRegion::new(&words), DType::F64, &[8], 1, 0).unwrap();
    /// let mut guard = array.lock(WriteStamp::default(), Spins(0)).unwrap();
    /// assert!(guard.reshape(DType::Record { itemsize: 8 }, &[8]).is_err(), "no descriptor describes it");
    /// guard.reshape(DType::F32, &[4, 4]).unwrap(); // 64 bytes: within the capacity
    /// assert!(guard.reshape(DType::F64, &[9]).is_err(), "72 bytes do not fit");
    /// drop(guard);
    /// assert_eq!(array.snapshot(Spins(0)).unwrap().shape(), &[4, 4]);
    /// ```
    pub fn reshape(&mut self, dtype: DType, shape: &[u64]) -> Result<(), ArrayError> {
        if dtype.is_record() {
            // Only the record its descriptor describes.
            let created = self.array.created_as().0;
            if created != dtype {
                return Err(ArrayError::DTypeMismatch {
                    array: created,
                    requested: dtype,
                });
            }
        }
        let needed = shape_bytes(dtype, shape)?;
        let capacity = self.array.capacity as u64;
        if needed > capacity {
            return Err(ArrayError::CapacityExceeded { needed, capacity });
        }
        self.touch();
        let m = &self.array.mem;
        // Relaxed: published with the data by the guard's closing Release store.
        store_shape(m, CUR_DTYPE_AT, dtype, shape);
        m.store(NBYTES_AT, needed, Ordering::Relaxed);
        self.dtype_word = dtype.word();
        self.len = needed as usize;
        self.full_write = false;
        Ok(())
    }
}

impl<M: Memory> Drop for WriteGuard<'_, M> {
    #[inline(always)]
    fn drop(&mut self) {
        self.unlock();
    }
}

impl<M: Memory> WriteGuard<'_, M> {
    /// Publishes the write (or restores the old sequence if nothing changed) and wakes waiters: the guard's drop,
    /// and [`SeqArray::write_all`]'s explicit release. Called exactly once per guard.
    #[inline(always)]
    fn unlock(&mut self) {
        let m = &self.view;
        if self.full_write {
            let flags = m.load(FLAGS_AT, Ordering::Relaxed);
            if flags & SUSPECT != 0 {
                m.store(FLAGS_AT, flags & !SUSPECT, Ordering::Relaxed);
            }
        }
        // Relaxed: ordered before the unlock by the Release store below. Cleared so that a writer that dies right
        // after its lock CAS, before it records itself, is reported as unknown (0) rather than as this writer.
        m.store(HOLDER_TOKEN_AT, 0, Ordering::Relaxed);
        m.store(HOLDER_SINCE_AT, 0, Ordering::Relaxed);
        // Release: pairs with readers' Acquire load of `s1` and the next writer's Acquire CAS; publishes the data.
        // An unchanged array goes back to its old sequence: readers that overlapped the lock saw no new bytes.
        let next = if self.dirty { self.sequence + 2 } else { self.sequence };
        m.store(SEQUENCE_AT, next, Ordering::Release);
        // An unchanged array needs no wake: its waiters block on the value just restored.
        if self.wake && self.dirty {
            wake_waiters(m.memory(), self.sequence);
        }
    }
}

/// Wakes the waiters blocked on the even sequence `old` (a system call where the memory is shared): out of line,
/// so that the unlock stays small enough to inline where no one waits.
#[cold]
#[inline(never)]
fn wake_waiters<M: Memory>(mem: &M, old: u64) {
    mem.wake(SEQUENCE_AT, old);
}

#[cfg(all(test, not(loom)))]
mod tests {
    use super::*;
    use crate::memory::RawRegion;
    use crate::patience::Spins;
    use crate::sync::AtomicU64;
    use crate::testing::{Stop, StopAfter};
    use std::vec::Vec;

    fn words(capacity: usize) -> Vec<AtomicU64> {
        crate::memory::test_words(region_len(capacity).unwrap())
    }

    const STAMP: WriteStamp = WriteStamp { token: 7, time_ns: 99 };

    /// A region that lends no words (so the seqlock goes through its `Memory` methods) and counts the wakes
    /// writers issue.
    fn counting(words: &[AtomicU64]) -> StopAfter<'static, RawRegion<'_>> {
        StopAfter::new(RawRegion::new(words), 0, Stop::Vanish)
    }

    /// The hot paths index the lent words (`View`); memory that lends none goes through its methods. The same
    /// operations over both leave the same bytes and give the same answers.
    #[test]
    fn lent_words_and_memory_methods_agree() {
        let descr = "[('a', '<u8'), ('b', '<f8')]";
        let record = DType::Record { itemsize: 16 };
        let (lent, methods) = (record_words(64, descr), record_words(64, descr));
        let counted = counting(&methods);
        assert!(RawRegion::new(&lent).as_words().is_some() && (&counted).as_words().is_none());
        let a = SeqArray::create_described(RawRegion::new(&lent), record, &[4], descr, 1, 2).unwrap();
        let b = SeqArray::create_described(&counted, record, &[4], descr, 1, 2).unwrap();
        fn run<M: Memory>(a: &SeqArray<M>) -> std::vec::Vec<u64> {
            let mut seen = std::vec::Vec::new();
            a.write_bytes(3, b"unaligned bytes", STAMP, Spins(0)).unwrap();
            let mut g = a.lock(STAMP, Spins(0)).unwrap();
            g.reshape(DType::U64, &[8]).unwrap();
            g.write_elements(2, &[7u64, 8]).unwrap();
            drop(g);
            a.write_all(&[9u64; 8], WriteStamp { token: 3, time_ns: 4 }, Spins(0))
                .unwrap();
            seen.push(a.write_all(&[1u64; 7], STAMP, Spins(0)).is_err() as u64);
            let mut out = [0u64; 3];
            seen.push(a.read_into(5, &mut out, Spins(0)).unwrap());
            seen.extend(out);
            let mut bytes = [0u8; 5];
            seen.push(a.read_bytes(9, &mut bytes, Spins(0)).unwrap().version);
            seen.push(u64::from_le_bytes([
                bytes[0], bytes[1], bytes[2], bytes[3], bytes[4], 0, 0, 0,
            ]));
            seen
        }
        assert_eq!(run(&a), run(&b));
        let words = |w: &[AtomicU64]| {
            w.iter()
                .map(|x| x.load(Ordering::Relaxed))
                .collect::<std::vec::Vec<_>>()
        };
        assert_eq!(words(&lent), words(&methods));
    }

    #[test]
    fn write_all_publishes_one_version_or_changes_nothing() {
        let w = words(32);
        let a = SeqArray::create(RawRegion::new(&w), DType::U64, &[4], 1, 1).unwrap();
        let stamp = WriteStamp { token: 5, time_ns: 6 };
        a.write_all(&[3u64; 4], stamp, Spins(0)).unwrap();
        let snap = a.snapshot(Spins(0)).unwrap();
        assert_eq!((snap.version, snap.token, snap.write_time_ns), (1, 5, 6));
        let seq = a.sequence();
        assert_eq!(
            a.write_all(&[1u64; 3], STAMP, Spins(0)),
            Err(ArrayError::LengthMismatch { len: 32, given: 24 })
        );
        assert_eq!(
            a.write_all(&[1.0f64; 4], STAMP, Spins(0)),
            Err(ArrayError::DTypeMismatch {
                array: DType::U64,
                requested: DType::F64
            })
        );
        assert_eq!(a.sequence(), seq, "refused writes restore the old sequence");
        assert_eq!(a.stall(), None, "and release the lock");
        // A stalled writer: a whole write waits within its patience and reports the stall.
        core::mem::forget(
            a.lock(
                WriteStamp {
                    token: 0xdead,
                    time_ns: 1,
                },
                Spins(0),
            )
            .unwrap(),
        );
        let Err(ArrayError::WriterStalled {
            token: 0xdead,
            sequence,
            ..
        }) = a.write_all(&[1u64; 4], STAMP, Spins(2))
        else {
            panic!("the stall is reported");
        };
        assert!(a.recover(sequence));
        assert!(a.snapshot(Spins(0)).unwrap().suspect);
        a.write_all(&[4u64; 4], STAMP, Spins(0)).unwrap();
        let mut out = [0u64; 4];
        assert_eq!(
            a.read_into(0, &mut out, Spins(0)),
            Ok(a.version()),
            "a whole write clears the suspect flag"
        );
        assert_eq!(out, [4; 4]);
    }

    #[test]
    fn a_killed_waiters_wakes_stop_when_its_lease_runs_out() {
        let w = words(8);
        let mem = counting(&w);
        let a = SeqArray::create(&mem, DType::U64, &[1], 1, 0).unwrap();
        let at = |t: u64| WriteStamp { token: 7, time_ns: t };
        // No one waiting: no wake, whatever the time.
        a.write_elements(0, &[1u64], at(10), Spins(0)).unwrap();
        assert_eq!(mem.wakes(), 0);
        // A waiter that registers with a lease until t = 1000 and is then killed in its park (its registration is
        // never dropped: the park never returns, as for a process killed while blocked).
        let killed = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            a.wait_changed(
                1,
                || 1000,
                |_| {
                    let registered = (a.waiters(), a.mem.load(LEASE_AT, Ordering::Relaxed));
                    assert_eq!(registered, (1, 1000));
                    // Leave the count raised as a killed process does, then stop this "process" (an unwind that the
                    // registration's drop undoes, and that skips the panic hook's report).
                    a.mem.fetch_add(WAITERS_AT, 1, Ordering::Relaxed);
                    std::panic::resume_unwind(std::boxed::Box::new("killed"))
                },
            )
        }));
        assert!(killed.is_err());
        assert_eq!(a.waiters(), 1, "the killed waiter stays counted");
        // Within its lease, writers still wake it; once the lease is over, they stop paying for the wake.
        a.write_elements(0, &[2u64], at(999), Spins(0)).unwrap();
        assert_eq!(mem.wakes(), 1);
        a.write_elements(0, &[3u64], at(1000), Spins(0)).unwrap();
        a.write_elements(0, &[4u64], at(5000), Spins(0)).unwrap();
        assert_eq!(mem.wakes(), 1, "no wake after the lease");
        // A write without a time (write times off) wakes any counted waiter, lease or not.
        a.write_elements(0, &[5u64], at(0), Spins(0)).unwrap();
        assert_eq!(mem.wakes(), 2);
        // A live waiter renews the lease (never lowering another's): writes wake again.
        assert_eq!(
            a.wait_changed(0, || 9000, |_| unreachable!("a newer version is there")),
            Some(5)
        );
        assert_eq!(a.mem.load(LEASE_AT, Ordering::Relaxed), 9000);
        assert_eq!(a.wait_changed(0, || 10, |_| unreachable!()), Some(5));
        assert_eq!(
            a.mem.load(LEASE_AT, Ordering::Relaxed),
            9000,
            "a lease is only ever raised"
        );
        a.write_elements(0, &[6u64], at(8000), Spins(0)).unwrap();
        assert_eq!(mem.wakes(), 3);
    }

    #[test]
    fn full_partial_and_element_access() {
        let w = words(8 * 6);
        let a = SeqArray::create(RawRegion::new(&w), DType::I32, &[2, 3], 5, 6).unwrap();
        assert_eq!(a.version(), 0);
        a.write_elements(0, &[1i32, 2, 3, 4, 5, 6], STAMP, Spins(0)).unwrap();
        a.write_elements(4, &[50i32], STAMP, Spins(0)).unwrap();
        let mut all = [0i32; 6];
        let snap = a.read_elements(0, &mut all, Spins(0)).unwrap();
        assert_eq!(all, [1, 2, 3, 4, 50, 6]);
        assert_eq!((snap.version, snap.token, snap.write_time_ns), (2, 7, 99));
        assert_eq!(snap.shape(), &[2, 3]);
        let mut two = [0i32; 2];
        a.read_elements(3, &mut two, Spins(0)).unwrap();
        assert_eq!(two, [4, 50]);
        assert_eq!(
            a.read_elements(5, &mut two, Spins(0)),
            Err(ArrayError::OutOfBounds { end: 28, len: 24 })
        );
        assert!(matches!(
            a.read_elements(0, &mut [0f32; 1], Spins(0)),
            Err(ArrayError::DTypeMismatch { .. })
        ));
        assert!(matches!(
            a.write_elements(0, &[0u32], STAMP, Spins(0)),
            Err(ArrayError::DTypeMismatch { .. })
        ));
        assert_eq!(a.version(), 2, "failed writes publish no version");
    }

    #[test]
    fn lean_reads_check_dtype_range_and_stalls() {
        let w = words(32);
        let a = SeqArray::create(RawRegion::new(&w), DType::F64, &[4], 1, 1).unwrap();
        a.write_elements(0, &[1.0f64, 2.0, 3.0, 4.0], STAMP, Spins(0)).unwrap();
        let mut two = [0f64; 2];
        assert_eq!(a.read_into(2, &mut two, Spins(0)), Ok(1));
        assert_eq!(two, [3.0, 4.0]);
        assert_eq!(
            a.read_into(3, &mut two, Spins(0)),
            Err(ArrayError::OutOfBounds { end: 40, len: 32 })
        );
        assert!(matches!(
            a.read_into(0, &mut [0u64; 1], Spins(0)),
            Err(ArrayError::DTypeMismatch { .. })
        ));
        a.lock(STAMP, Spins(0)).unwrap().reshape(DType::F64, &[2]).unwrap();
        assert!(matches!(
            a.read_into(0, &mut [0f64; 3], Spins(0)),
            Err(ArrayError::OutOfBounds { len: 16, .. })
        ));
        core::mem::forget(a.lock(WriteStamp { token: 3, time_ns: 4 }, Spins(0)).unwrap());
        assert_eq!(
            a.read_into(0, &mut two, Spins(5)),
            Err(ArrayError::WriterStalled {
                token: 3,
                since: 4,
                sequence: 5
            })
        );
    }

    #[test]
    fn reshape_within_capacity_and_reopen() {
        let w = words(64);
        let a = SeqArray::create(RawRegion::new(&w), DType::F64, &[8], 1, 1).unwrap();
        {
            let mut g = a.lock(STAMP, Spins(0)).unwrap();
            g.reshape(DType::U8, &[4, 4]).unwrap();
            assert!(matches!(
                g.reshape(DType::F64, &[9]),
                Err(ArrayError::CapacityExceeded { needed: 72, .. })
            ));
            g.write_bytes(0, &[9u8; 16]).unwrap();
        }
        let b = SeqArray::open(RawRegion::new(&w), Spins(0)).unwrap();
        let snap = b.snapshot(Spins(0)).unwrap();
        assert_eq!((snap.dtype, snap.shape()), (DType::U8, &[4u64, 4][..]));
        assert_eq!(b.created_as().0, DType::F64);
        let mut out = [0u8; 16];
        b.read_elements(0, &mut out, Spins(0)).unwrap();
        assert_eq!(out, [9u8; 16]);
    }

    #[test]
    fn stalled_writer_is_reported_and_recovered() {
        let w = words(16);
        let a = SeqArray::create(RawRegion::new(&w), DType::U64, &[2], 1, 1).unwrap();
        let guard = a
            .lock(
                WriteStamp {
                    token: 0xdead,
                    time_ns: 5,
                },
                Spins(0),
            )
            .unwrap();
        core::mem::forget(guard); // the writer "dies" mid-write
        let stalled = Err(ArrayError::WriterStalled {
            token: 0xdead,
            since: 5,
            sequence: 1,
        });
        assert_eq!(a.read_elements(0, &mut [0u64; 2], Spins(10)), stalled);
        assert_eq!(
            a.write_elements(0, &[1u64, 2], STAMP, Spins(10)),
            stalled.map(|_: Snapshot| ())
        );
        assert!(a.recover(1));
        assert!(!a.recover(1));
        assert!(a.snapshot(Spins(0)).unwrap().suspect);
        a.write_elements(1, &[3u64], STAMP, Spins(0)).unwrap();
        assert!(
            a.snapshot(Spins(0)).unwrap().suspect,
            "a partial write does not clear suspect"
        );
        a.write_elements(0, &[1u64, 2], STAMP, Spins(0)).unwrap();
        assert!(!a.snapshot(Spins(0)).unwrap().suspect);
    }

    #[test]
    fn offsets_that_overflow_are_out_of_bounds_not_header_reads() {
        let w = words(16);
        let a = SeqArray::create(RawRegion::new(&w), DType::U8, &[16], 1, 1).unwrap();
        a.write_bytes(0, &[7u8; 16], STAMP, Spins(0)).unwrap();
        let mut out = [0u8; 8];
        // In release builds an unchecked `offset + len` wraps to a small end and reads header words as data.
        for offset in [usize::MAX, usize::MAX - 3, usize::MAX - 7, usize::MAX / 2] {
            assert!(
                matches!(
                    a.read_bytes(offset, &mut out, Spins(0)),
                    Err(ArrayError::OutOfBounds { .. })
                ),
                "offset {offset}"
            );
            assert!(matches!(
                a.read_bytes_if_changed(9, offset, &mut out, Spins(0)),
                Err(ArrayError::OutOfBounds { .. })
            ));
        }
        assert_eq!(out, [0u8; 8], "nothing was copied");
        for first in [usize::MAX, usize::MAX / 8 + 1, usize::MAX - 1] {
            assert!(a.read_elements(first, &mut out, Spins(0)).is_err());
            assert!(a.read_into(first, &mut out, Spins(0)).is_err());
            assert!(a.write_elements(first, &out, STAMP, Spins(0)).is_err());
        }
        assert!(a.write_bytes(usize::MAX, &out, STAMP, Spins(0)).is_err());
        assert_eq!(a.version(), 1, "no failed write published a version");
    }

    #[test]
    fn recovery_is_one_cas_and_a_fresh_lock_reports_an_unknown_holder() {
        let w = words(16);
        let a = SeqArray::create(RawRegion::new(&w), DType::U64, &[2], 1, 1).unwrap();
        // A completed write leaves no holder behind: a writer that then dies right after its CAS (simulated by the
        // raw CAS) is reported as unknown (token 0), not under the previous writer's token.
        a.write_elements(0, &[1u64, 2], STAMP, Spins(0)).unwrap();
        let s = a.memory().load(SEQUENCE_AT, Ordering::Relaxed);
        a.memory()
            .compare_exchange(SEQUENCE_AT, s, s + 1, Ordering::Acquire, Ordering::Relaxed)
            .unwrap();
        assert_eq!(
            a.read_into(0, &mut [0u64; 2], Spins(3)),
            Err(ArrayError::WriterStalled {
                token: 0,
                since: 0,
                sequence: s + 1
            })
        );
        // Two recoverers of one stall: exactly one clears it, and the sequence moves on by one lock and unlock.
        assert!(a.recover(s + 1));
        assert!(!a.recover(s + 1));
        assert_eq!(a.memory().load(SEQUENCE_AT, Ordering::Relaxed), s + 4);
        let snap = a.snapshot(Spins(0)).unwrap();
        assert!(snap.suspect);
        assert_eq!(snap.version, (s + 4) / 2);
    }

    #[test]
    fn a_second_recoverer_of_a_dead_writer_cannot_take_a_live_writers_lock() {
        let w = words(16);
        let a = SeqArray::create(RawRegion::new(&w), DType::U64, &[2], 1, 1).unwrap();
        a.write_elements(0, &[4u64, 4], STAMP, Spins(0)).unwrap();
        core::mem::forget(
            a.lock(
                WriteStamp {
                    token: 0xdead,
                    time_ns: 5,
                },
                Spins(0),
            )
            .unwrap(),
        );
        // Both recoverers see the same dead writer.
        let seen = [
            a.read_into(0, &mut [0u64; 2], Spins(1)),
            a.read_into(0, &mut [0u64; 2], Spins(1)),
        ];
        let [Err(ArrayError::WriterStalled {
            token: 0xdead,
            sequence: first,
            ..
        }), Err(ArrayError::WriterStalled {
            token: 0xdead,
            sequence: second,
            ..
        })] = seen
        else {
            panic!("both see the dead writer: {seen:?}");
        };
        assert!(a.recover(first));
        // A live writer locks and is halfway through its write.
        let before = a.version();
        let mut live = a
            .lock(
                WriteStamp {
                    token: 0x11fe,
                    time_ns: 9,
                },
                Spins(0),
            )
            .unwrap();
        live.write_elements(0, &[5u64]).unwrap();
        assert!(!a.recover(second), "the second recoverer took the live writer's lock");
        assert_eq!(
            a.stall().map(|s| s.token),
            Some(0x11fe),
            "the live writer still holds its lock"
        );
        live.write_elements(1, &[5u64]).unwrap();
        drop(live);
        let mut out = [0u64; 2];
        // Still suspect (the live writer wrote element by element, never the whole array): the lean read refuses,
        // the snapshot read hands it out flagged.
        assert_eq!(
            a.read_into(0, &mut out, Spins(0)),
            Err(ArrayError::Suspect { version: before + 1 })
        );
        let snap = a.read_elements(0, &mut out, Spins(0)).unwrap();
        assert_eq!((out, snap.version, snap.suspect), ([5, 5], before + 1, true));
    }

    /// Every crash point of a writer and of a recoverer: after store k, the successor (a reader, a writer, a
    /// second recoverer) sees either the old contents, the new ones, or a stall it can recover by the sequence it
    /// reports; never a torn value as `Ok`, never a version that goes backwards.
    #[test]
    fn every_crash_point_of_a_write_and_of_a_recovery() {
        let dies = |f: &mut dyn FnMut()| std::panic::catch_unwind(std::panic::AssertUnwindSafe(f)).is_err();
        let fresh = |w: &[AtomicU64]| {
            let a = SeqArray::create(RawRegion::new(w), DType::U64, &[2], 1, 1).unwrap();
            a.write_elements(0, &[1u64, 1], STAMP, Spins(0)).unwrap();
        };
        let count = |op: &dyn Fn(&SeqArray<&StopAfter<'_, RawRegion<'_>>>)| {
            let w = words(16);
            fresh(&w);
            let stop = StopAfter::new(RawRegion::new(&w), 0, Stop::Crash);
            let a = SeqArray::open(&stop, Spins(0)).unwrap();
            stop.arm(0);
            op(&a);
            stop.written()
        };
        let write = |a: &SeqArray<&StopAfter<'_, RawRegion<'_>>>| {
            a.write_elements(
                0,
                &[2u64, 2],
                WriteStamp {
                    token: 0xdead,
                    time_ns: 3,
                },
                Spins(0),
            )
            .unwrap();
        };
        let n = count(&write);
        assert!(n >= 6, "sequence, holder, since, token, time, 2 data words, ...: {n}");
        for k in 1..=n {
            let w = words(16);
            fresh(&w);
            let stop = StopAfter::new(RawRegion::new(&w), 0, Stop::Crash);
            let dying = SeqArray::open(&stop, Spins(0)).unwrap();
            stop.arm(k);
            assert!(dies(&mut || write(&dying)), "k={k}");
            let a = SeqArray::open(RawRegion::new(&w), Spins(0)).unwrap();
            let mut out = [0u64; 2];
            // The layout-checking lean read sees what the lean read sees.
            let mut raw = [0u8; 16];
            let mut read_as = || {
                a.read_bytes_as(DType::U64, &[2], 0, &mut raw, Spins(3))
                    .map(|v| (v, raw))
            };
            match a.read_into(0, &mut out, Spins(3)) {
                Ok(version) => {
                    assert!(
                        out == [1, 1] && version == 1 || out == [2, 2] && version == 2,
                        "k={k}: {out:?} v{version}"
                    );
                    assert_eq!(read_as(), Ok((Some(version), bytemuck::cast(out))), "k={k}");
                }
                Err(ArrayError::WriterStalled { sequence, .. }) => {
                    assert_eq!(sequence, 3, "k={k}");
                    assert!(
                        matches!(read_as(), Err(ArrayError::WriterStalled { sequence: 3, .. })),
                        "k={k}"
                    );
                    assert!(a.recover(sequence), "k={k}");
                    assert_eq!(read_as(), Err(ArrayError::Suspect { version: 3 }), "k={k}");
                    let snap = a.read_elements(0, &mut out, Spins(0)).unwrap();
                    assert!(snap.suspect && snap.version == 3, "k={k}: {snap:?}");
                    a.write_elements(0, &[5u64, 5], STAMP, Spins(0)).unwrap();
                    let snap = a.read_elements(0, &mut out, Spins(0)).unwrap();
                    assert_eq!((out, snap.version, snap.suspect), ([5, 5], 4, false), "k={k}");
                }
                Err(e) => panic!("k={k}: {e:?}"),
            }
        }
        // A recoverer of a dead writer (sequence 3) that dies after store k; a second one then recovers it.
        let stalled = |w: &[AtomicU64]| {
            fresh(w);
            let a = SeqArray::open(RawRegion::new(w), Spins(0)).unwrap();
            core::mem::forget(
                a.lock(
                    WriteStamp {
                        token: 0xdead,
                        time_ns: 3,
                    },
                    Spins(0),
                )
                .unwrap(),
            );
        };
        let n = {
            let w = words(16);
            stalled(&w);
            let stop = StopAfter::new(RawRegion::new(&w), 0, Stop::Crash);
            let a = SeqArray::open(&stop, Spins(0)).unwrap();
            stop.arm(0);
            assert!(a.recover(3));
            stop.written()
        };
        assert_eq!(n, 5, "the CAS, the flags, the holder's token and time, the sequence");
        for k in 1..=n {
            let w = words(16);
            stalled(&w);
            let stop = StopAfter::new(RawRegion::new(&w), 0, Stop::Crash);
            let dying = SeqArray::open(&stop, Spins(0)).unwrap();
            stop.arm(k);
            assert!(dies(&mut || assert!(dying.recover(3))), "k={k}");
            let a = SeqArray::open(RawRegion::new(&w), Spins(0)).unwrap();
            assert!(!a.recover(3), "k={k}: the stall it saw is gone");
            let mut out = [0u64; 2];
            if k < n {
                // The recoverer itself now holds the lock (sequence 5), dead: it is a stall like any other.
                let Err(ArrayError::WriterStalled { sequence: 5, .. }) = a.read_into(0, &mut out, Spins(3)) else {
                    panic!("k={k}: the dead recoverer's stall is reported");
                };
                assert!(a.recover(5), "k={k}");
            }
            let snap = a.read_elements(0, &mut out, Spins(0)).unwrap();
            assert!(snap.suspect, "k={k}: recovered contents are suspect");
            assert_eq!(out, [1, 1], "k={k}");
        }
    }

    #[test]
    fn read_if_changed_skips_unchanged() {
        let w = words(8);
        let a = SeqArray::create(RawRegion::new(&w), DType::U64, &[1], 1, 1).unwrap();
        let mut out = [0u8; 8];
        assert_eq!(a.read_bytes_if_changed(0, 0, &mut out, Spins(0)), Ok(None));
        a.write_bytes(0, &5u64.to_le_bytes(), STAMP, Spins(0)).unwrap();
        assert_eq!(
            a.read_bytes_if_changed(0, 0, &mut out, Spins(0))
                .unwrap()
                .map(|s| s.version),
            Some(1)
        );
        assert_eq!(u64::from_le_bytes(out), 5);
        assert_eq!(a.read_bytes_if_changed(1, 0, &mut out, Spins(0)), Ok(None));
    }

    #[test]
    fn rejects_bad_creation_and_corrupt_layouts() {
        let w = words(16);
        assert!(matches!(
            SeqArray::create(RawRegion::new(&w), DType::F64, &[3], 1, 1),
            Err(ArrayError::CapacityExceeded {
                needed: 24,
                capacity: 16
            })
        ));
        assert_eq!(
            SeqArray::create(RawRegion::new(&w), DType::U8, &[1; 9], 1, 1).err(),
            Some(ArrayError::BadShape)
        );
        let a = SeqArray::create(RawRegion::new(&w), DType::U8, &[16], 1, 1).unwrap();
        a.memory().store(CAPACITY_AT, 1 << 40, Ordering::Relaxed);
        assert!(SeqArray::open(RawRegion::new(&w), Spins(0)).is_err());
        a.memory().store(CAPACITY_AT, 16, Ordering::Relaxed);
        a.memory().store(CUR_NDIM_AT, 200, Ordering::Relaxed);
        assert!(matches!(
            a.snapshot(Spins(0)),
            Err(ArrayError::Region(HeaderError::Corrupt(_)))
        ));
    }

    fn record_words(capacity: usize, descr: &str) -> Vec<AtomicU64> {
        crate::memory::test_words(region_len_described(capacity, descr.len()).unwrap())
    }

    #[test]
    fn a_record_array_keeps_its_descriptor_and_aligned_data() {
        let descr = "[('id', '>u4'), ('pos', '<f4', (2,)), ('tag', '|S4')]";
        let record = DType::Record { itemsize: 16 };
        let w = record_words(48, descr);
        let a = SeqArray::create_described(RawRegion::new(&w), record, &[3], descr, 1, 2).unwrap();
        assert_eq!(a.data_offset() % 64, 0);
        assert!(a.data_offset() >= DESCR_AT + descr.len());
        a.write_bytes(16, &[0xab; 16], STAMP, Spins(0)).unwrap();
        let b = SeqArray::open(RawRegion::new(&w), Spins(0)).unwrap();
        let mut buf = [0u8; MAX_DESCR_LEN];
        assert_eq!(b.descr(&mut buf), Ok(descr));
        assert_eq!(b.created_as().0, record);
        let mut out = [0u8; 48];
        let snap = b.read_bytes(0, &mut out, Spins(0)).unwrap();
        assert_eq!((snap.dtype, snap.shape()), (record, &[3u64][..]));
        assert_eq!((&out[..16], &out[16..32]), (&[0u8; 16][..], &[0xab; 16][..]));
        // Typed reads see a record as another dtype; only the record itself (or a plain view) reshapes it.
        assert!(matches!(
            b.read_into(0, &mut [0u64; 2], Spins(0)),
            Err(ArrayError::DTypeMismatch { array, .. }) if array == record
        ));
        let mut g = b.lock(STAMP, Spins(0)).unwrap();
        assert!(matches!(
            g.reshape(DType::Record { itemsize: 8 }, &[6]),
            Err(ArrayError::DTypeMismatch { .. })
        ));
        g.reshape(DType::U8, &[48]).unwrap();
        g.reshape(record, &[2]).unwrap();
        drop(g);
        assert_eq!(b.snapshot(Spins(0)).unwrap().shape(), &[2]);
    }

    #[test]
    fn descriptors_are_checked_at_creation() {
        let long = "x".repeat(MAX_DESCR_LEN + 1);
        let w = crate::memory::test_words(region_len_described(8, MAX_DESCR_LEN).unwrap() + 64);
        let record = DType::Record { itemsize: 8 };
        let create =
            |dtype, descr: &str| SeqArray::create_described(RawRegion::new(&w), dtype, &[1], descr, 1, 1).err();
        assert_eq!(
            create(record, &long),
            Some(ArrayError::Descr(DescrError::TooLong { len: long.len() as u64 }))
        );
        assert_eq!(create(record, ""), Some(ArrayError::Descr(DescrError::Missing)));
        assert_eq!(
            create(DType::U64, "<u8"),
            Some(ArrayError::Descr(DescrError::Unexpected))
        );
        assert_eq!(
            create(record, "|V8\n"),
            Some(ArrayError::Descr(DescrError::NotText { at: 3 }))
        );
        assert!(create(record, &long[1..]).is_none(), "the longest descriptor fits");
    }

    #[test]
    fn a_corrupt_descriptor_is_a_typed_error_not_garbage() {
        let descr = "<U8";
        let record = DType::Record { itemsize: 32 };
        let w = record_words(64, descr);
        let a = SeqArray::create_described(RawRegion::new(&w), record, &[2], descr, 1, 1).unwrap();
        let m = *a.memory();
        let open = || SeqArray::open(RawRegion::new(&w), Spins(0)).err();
        assert_eq!(open(), None);
        m.copy_in(DESCR_AT + 1, &[0xff]);
        assert_eq!(open(), Some(ArrayError::Descr(DescrError::NotText { at: 1 })));
        assert_eq!(
            a.descr(&mut [0; MAX_DESCR_LEN]),
            Err(ArrayError::Descr(DescrError::NotText { at: 1 }))
        );
        m.copy_in(DESCR_AT + 1, b"U");
        m.store(DESCR_LEN_AT, 0, Ordering::Relaxed);
        assert_eq!(open(), Some(ArrayError::Descr(DescrError::Missing)));
        m.store(DESCR_LEN_AT, u64::MAX, Ordering::Relaxed);
        assert_eq!(open(), Some(ArrayError::Descr(DescrError::TooLong { len: u64::MAX })));
        // A length that moves the data elsewhere than the header says.
        m.store(DESCR_LEN_AT, 100, Ordering::Relaxed);
        assert_eq!(
            open(),
            Some(ArrayError::Descr(DescrError::Misplaced {
                data_offset: a.data_offset() as u64
            }))
        );
        m.store(DESCR_LEN_AT, 3, Ordering::Relaxed);
        m.store(DATA_OFFSET_AT, DATA_OFFSET as u64, Ordering::Relaxed);
        assert!(matches!(
            open(),
            Some(ArrayError::Descr(DescrError::Misplaced { data_offset: 448 }))
        ));
        m.store(DATA_OFFSET_AT, a.data_offset() as u64, Ordering::Relaxed);
        // A plain dtype word over a record's layout: the data offset gives it away.
        m.store(DTYPE_AT, DType::U8.word(), Ordering::Relaxed);
        assert_eq!(
            open(),
            Some(ArrayError::Region(HeaderError::Corrupt("array data offset")))
        );
        // A record word of item size 0 is no dtype.
        m.store(DTYPE_AT, u64::from(crate::dtype::RECORD_CODE), Ordering::Relaxed);
        assert_eq!(open(), Some(ArrayError::Region(HeaderError::Corrupt("array dtype"))));
        m.store(DTYPE_AT, record.word(), Ordering::Relaxed);
        assert_eq!(open(), None);
        // A region too short for the length word: a record word in an array with no room past 448.
        let short = crate::memory::test_words(DATA_OFFSET);
        let plain = SeqArray::create(RawRegion::new(&short), DType::U8, &[0], 1, 1).unwrap();
        plain.memory().store(DTYPE_AT, record.word(), Ordering::Relaxed);
        assert!(matches!(
            SeqArray::open(RawRegion::new(&short), Spins(0)).err(),
            Some(ArrayError::Descr(DescrError::Misplaced { .. }))
        ));
    }
}
