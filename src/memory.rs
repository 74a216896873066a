//! The memory abstraction: atomic `u64` words at byte offsets, and byte-wise atomic copies.
//!
//! Every protocol in this crate is written once against [`Memory`]. Two backends implement it:
//! - [`RawRegion`], production: a borrowed slice of atomic words, usually overlaid on a shared mapping;
//! - `LoomRegion` (only under `cfg(loom)`): a vector of loom atomics, so loom checks the very same code.
//!
//! Backends that own their memory (the std crates' shared-memory regions and windows of them) implement
//! [`Contiguous`], which lends their words as a [`RawRegion`] for the zero-copy paths (a ring batch's bytes, an
//! SPSC grant's payload), so that a ring or array can own its memory instead of borrowing it for a lifetime.
//!
//! Invariants:
//! - A region is a whole number of 8-byte words, and every access of shared state is an atomic access to a whole
//!   aligned word. Bytes are never accessed with a different size, so there are no mixed-size races.
//! - [`Memory::copy_in`]/[`Memory::copy_out`] are the byte-wise atomic memcpy of C++ P1478: relaxed word loads and
//!   stores, to be ordered by the caller's fences. A copy that covers part of a word reads the whole word and, for
//!   `copy_in`, writes it back; the caller must be the only writer of those edge words (the seqlock writer lock
//!   or a ring grant guarantees it).
//! - Why word-wide copies and no wider: the data a seqlock reader copies may be written concurrently (the reader
//!   discards such a copy after its sequence check), so every load of it must be atomic. A `read_volatile` or a
//!   plain (vector) load racing with a store is a data race, undefined behaviour in Rust's memory model however the
//!   hardware behaves (crossbeam's seqlock says as much of its own volatile reads); Rust has no stable atomic wider
//!   than 8 bytes, and an `asm!` vector load would be sound only as an opaque stand-in for word loads, a claim about
//!   the hardware (per-word atomicity of 16- or 32-byte loads) that Intel and AMD document only for some
//!   processors. The `atomic-memcpy` crate, the Rust rendering of P1478, copies with pointer-width atomic loads as
//!   these functions do. What makes the word copies fast instead: one range check per copy, and aligned copies in
//!   blocks of 8 words (unrolled, one loop test per block), which keeps a 1 MiB read within about 1.1× of libc's
//!   vector memcpy on an x86-64 VM (docs/BENCHMARKS.md, issue 24).
//! - Offsets are trusted: protocol code validates every offset it derives from shared bytes before it uses it.
//!   An out-of-range offset is a bug and panics, it is never undefined behaviour.

use crate::sync::{AtomicU64, Ordering};

/// Atomic access to a byte region at offsets.
///
/// # Panics
/// Every method panics if `offset` is not a multiple of 8 where a word is addressed, or if the range does not lie
/// inside the region.
///
/// # Examples
/// ```
/// use core::sync::atomic::{AtomicU64, Ordering};
/// use seqring_core::{Memory, RawRegion};
/// /// A protocol is written once, against `Memory`: here, a shared counter at offset 8.
/// fn bump<M: Memory>(mem: &M) -> u64 {
///     mem.fetch_add(8, 1, Ordering::Relaxed) + 1
/// }
/// let words: Vec<AtomicU64> = (0..2).map(|_| AtomicU64::new(0)).collect();
/// let region = RawRegion::new(&words);
/// std::thread::scope(|s| {
///     for _ in 0..4 {
///         s.spawn(|| {
///             for _ in 0..100 {
///                 bump(&region);
///             }
///         });
///     }
/// });
/// assert_eq!(region.load(8, Ordering::Relaxed), 400);
/// ```
///
/// An offset outside the region, or an unaligned word, panics rather than touching memory it does not own:
/// ```should_panic
/// use core::sync::atomic::{AtomicU64, Ordering};
/// use seqring_core::{Memory, RawRegion};
/// let words: Vec<AtomicU64> = (0..2).map(|_| AtomicU64::new(0)).collect();
/// RawRegion::new(&words).load(16, Ordering::Relaxed);
/// ```
pub trait Memory {
    /// The region's length in bytes, a multiple of 8.
    ///
    /// # Examples
    /// ```
    /// use core::sync::atomic::{AtomicU64, Ordering};
    /// use seqring_core::{Memory, RawRegion};
    /// let words: Vec<AtomicU64> = (0..4).map(|_| AtomicU64::new(0)).collect();
    /// let region = RawRegion::new(&words);
    /// assert_eq!(region.len(), 32);
    /// assert_eq!(RawRegion::new(&words[..1]).len(), 8);
    /// ```
    fn len(&self) -> usize;

    /// Which region this is, within this process: two handles of the same words give the same value (the
    /// backends use the address of the first word). Values tied to one region, such as a ring consumer's
    /// [`Blockage`](crate::ring::Blockage), carry it so that another region refuses them.
    ///
    /// # Examples
    /// ```
    /// use core::sync::atomic::{AtomicU64, Ordering};
    /// use seqring_core::{Memory, RawRegion};
    /// let words: Vec<AtomicU64> = (0..4).map(|_| AtomicU64::new(0)).collect();
    /// let region = RawRegion::new(&words);
    /// let again = RawRegion::new(&words);
    /// assert_eq!(region.identity(), again.identity());
    /// assert_ne!(region.identity(), RawRegion::new(&words[1..]).identity());
    /// ```
    fn identity(&self) -> usize;

    /// Whether the region is empty.
    ///
    /// # Examples
    /// ```
    /// use core::sync::atomic::{AtomicU64, Ordering};
    /// use seqring_core::{Memory, RawRegion};
    /// let words: Vec<AtomicU64> = (0..4).map(|_| AtomicU64::new(0)).collect();
    /// let region = RawRegion::new(&words);
    /// assert!(!region.is_empty());
    /// assert!(RawRegion::new(&words[..0]).is_empty());
    /// ```
    fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Atomically loads the word at `offset`.
    ///
    /// # Examples
    /// ```
    /// use core::sync::atomic::{AtomicU64, Ordering};
    /// use seqring_core::{Memory, RawRegion};
    /// let words: Vec<AtomicU64> = (0..4).map(|_| AtomicU64::new(0)).collect();
    /// let region = RawRegion::new(&words);
    /// words[1].store(9, Ordering::Relaxed);
    /// assert_eq!(region.load(8, Ordering::Acquire), 9);
    /// assert_eq!(region.load(0, Ordering::Acquire), 0);
    /// ```
    fn load(&self, offset: usize, order: Ordering) -> u64;

    /// Atomically stores `value` into the word at `offset`.
    ///
    /// # Examples
    /// ```
    /// use core::sync::atomic::{AtomicU64, Ordering};
    /// use seqring_core::{Memory, RawRegion};
    /// let words: Vec<AtomicU64> = (0..4).map(|_| AtomicU64::new(0)).collect();
    /// let region = RawRegion::new(&words);
    /// region.store(24, u64::MAX, Ordering::Release);
    /// assert_eq!(words[3].load(Ordering::Relaxed), u64::MAX);
    /// ```
    fn store(&self, offset: usize, value: u64, order: Ordering);

    /// Compare-and-exchange on the word at `offset`, as [`AtomicU64::compare_exchange`].
    ///
    /// # Errors
    /// Returns the current value when it was not `current`.
    ///
    /// # Examples
    /// ```
    /// use core::sync::atomic::{AtomicU64, Ordering};
    /// use seqring_core::{Memory, RawRegion};
    /// let words: Vec<AtomicU64> = (0..4).map(|_| AtomicU64::new(0)).collect();
    /// let region = RawRegion::new(&words);
    /// assert_eq!(region.compare_exchange(0, 0, 5, Ordering::AcqRel, Ordering::Relaxed), Ok(0));
    /// assert_eq!(region.compare_exchange(0, 0, 6, Ordering::AcqRel, Ordering::Relaxed), Err(5));
    /// assert_eq!(region.load(0, Ordering::Relaxed), 5);
    /// ```
    fn compare_exchange(
        &self,
        offset: usize,
        current: u64,
        new: u64,
        success: Ordering,
        failure: Ordering,
    ) -> Result<u64, u64>;

    /// Atomically adds `value` to the word at `offset`, wrapping, and returns the previous value.
    ///
    /// # Examples
    /// ```
    /// use core::sync::atomic::{AtomicU64, Ordering};
    /// use seqring_core::{Memory, RawRegion};
    /// let words: Vec<AtomicU64> = (0..4).map(|_| AtomicU64::new(0)).collect();
    /// let region = RawRegion::new(&words);
    /// assert_eq!(region.fetch_add(16, 3, Ordering::Relaxed), 0);
    /// assert_eq!(region.fetch_add(16, 4, Ordering::Relaxed), 3);
    /// assert_eq!(region.load(16, Ordering::Relaxed), 7);
    /// region.store(8, u64::MAX, Ordering::Relaxed);
    /// assert_eq!(region.fetch_add(8, 2, Ordering::Relaxed), u64::MAX);
    /// assert_eq!(region.load(8, Ordering::Relaxed), 1); // wrapped
    /// ```
    fn fetch_add(&self, offset: usize, value: u64, order: Ordering) -> u64;

    /// Copies `src` into the region at `offset` with relaxed atomic word stores.
    ///
    /// # Examples
    /// ```
    /// use core::sync::atomic::{AtomicU64, Ordering};
    /// use seqring_core::{Memory, RawRegion};
    /// let words: Vec<AtomicU64> = (0..4).map(|_| AtomicU64::new(0)).collect();
    /// let region = RawRegion::new(&words);
    /// region.copy_in(3, b"hello");
    /// let mut back = [0u8; 16];
    /// region.copy_out(0, &mut back);
    /// assert_eq!(&back, b"\0\0\0hello\0\0\0\0\0\0\0\0");
    /// // Words are little-endian: byte 3 is the fourth-lowest byte of word 0.
    /// assert_eq!(region.load(0, Ordering::Relaxed) >> 24 & 0xff, u64::from(b'h'));
    /// ```
    fn copy_in(&self, offset: usize, src: &[u8]);

    /// Copies the region's bytes at `offset` into `dst` with relaxed atomic word loads.
    ///
    /// # Examples
    /// ```
    /// use core::sync::atomic::{AtomicU64, Ordering};
    /// use seqring_core::{Memory, RawRegion};
    /// let words: Vec<AtomicU64> = (0..4).map(|_| AtomicU64::new(0)).collect();
    /// let region = RawRegion::new(&words);
    /// region.store(8, u64::from_le_bytes(*b"abcdefgh"), Ordering::Relaxed);
    /// let mut dst = [0u8; 3];
    /// region.copy_out(10, &mut dst);
    /// assert_eq!(&dst, b"cde");
    /// ```
    fn copy_out(&self, offset: usize, dst: &mut [u8]);

    /// Copies `src` into bytes that the caller owns exclusively until a later Release store publishes them (a ring
    /// grant's payload). Backends may use a plain memcpy; the default is [`Memory::copy_in`].
    ///
    /// # Examples
    /// ```
    /// use core::sync::atomic::{AtomicU64, Ordering};
    /// use seqring_core::{Memory, RawRegion};
    /// let words: Vec<AtomicU64> = (0..4).map(|_| AtomicU64::new(0)).collect();
    /// let region = RawRegion::new(&words);
    /// region.copy_in_owned(8, b"payload!");
    /// assert_eq!(region.load(8, Ordering::Relaxed), u64::from_le_bytes(*b"payload!"));
    /// ```
    fn copy_in_owned(&self, offset: usize, src: &[u8]) {
        self.copy_in(offset, src);
    }

    /// Sets `len` bytes at `offset` to zero with relaxed atomic word stores. Both must be multiples of 8.
    ///
    /// # Examples
    /// ```
    /// use core::sync::atomic::{AtomicU64, Ordering};
    /// use seqring_core::{Memory, RawRegion};
    /// let words: Vec<AtomicU64> = (0..4).map(|_| AtomicU64::new(0)).collect();
    /// let region = RawRegion::new(&words);
    /// for at in (0..32).step_by(8) {
    ///     region.store(at, 1, Ordering::Relaxed);
    /// }
    /// region.zero(8, 16);
    /// let now: Vec<u64> = words.iter().map(|w| w.load(Ordering::Relaxed)).collect();
    /// assert_eq!(now, [1, 0, 0, 1]);
    /// ```
    fn zero(&self, offset: usize, len: usize);

    /// Wakes every thread and process blocked on the word at `offset` while it held `old`, the value it held
    /// before the change just published (a futex on Linux, a ulock on macOS, the named event of `old` on Windows;
    /// see the std platform crate's `address_wait`). The core calls it after publishing a change to a word that
    /// someone registered to wait on ([`SeqArray::wait_changed`](crate::seqlock::SeqArray::wait_changed),
    /// [`LogRegion::wait_written`](crate::log_region::LogRegion::wait_written)); it never calls it otherwise.
    /// The default does nothing: memory that no one blocks on (waiters then only notice changes when their own
    /// park returns).
    ///
    /// # Examples
    /// ```
    /// use core::sync::atomic::{AtomicU64, Ordering};
    /// use seqring_core::{Memory, RawRegion};
    /// let words: Vec<AtomicU64> = (0..2).map(|_| AtomicU64::new(0)).collect();
    /// let region = RawRegion::new(&words);
    /// region.store(8, 1, Ordering::Release);
    /// region.wake(8, 0); // a heap region: no one can block on it, so nothing to do
    /// ```
    #[inline]
    fn wake(&self, offset: usize, old: u64) {
        let _ = (offset, old);
    }

    /// The region's words, when the backend is one run of atomic words in this address space ([`RawRegion`], and
    /// the std regions that lend one): the seqlock's hot paths then index them directly, resolving the region once
    /// per call with one bounds check, instead of once per access (a store through a shared word may, for all the
    /// compiler knows, change the backend's own fields, so it reloads and re-checks them after each one). Word `i`
    /// must be the word the other methods address at byte offset `8 * i`, and the slice covers exactly
    /// [`Memory::len`] bytes. The default, `None`, keeps every access on the methods above: backends that count or
    /// interrupt accesses (the crash-point tests' memory) stay on them.
    ///
    /// # Examples
    /// ```
    /// use core::sync::atomic::{AtomicU64, Ordering};
    /// use seqring_core::{Memory, RawRegion};
    /// let words: Vec<AtomicU64> = (0..4).map(|_| AtomicU64::new(0)).collect();
    /// let region = RawRegion::new(&words);
    /// region.store(16, 5, Ordering::Relaxed);
    /// let lent = region.as_words().unwrap();
    /// assert_eq!((lent.len() * 8, lent[2].load(Ordering::Relaxed)), (region.len(), 5));
    /// ```
    #[inline]
    fn as_words(&self) -> Option<&[AtomicU64]> {
        None
    }

    /// Hints that the bytes at `offset` will be loaded soon: a prefetch into the cache, which changes nothing any
    /// load returns. A consumer walking record headers calls it some way ahead, so that its dependent loads do not
    /// each wait for memory. The default does nothing; [`RawRegion`] (and so the std platform's regions) prefetches
    /// on x86-64. An offset past the end is allowed and ignored.
    ///
    /// # Examples
    /// ```
    /// use core::sync::atomic::{AtomicU64, Ordering};
    /// use seqring_core::{Memory, RawRegion};
    /// let words: Vec<AtomicU64> = (0..16).map(|_| AtomicU64::new(7)).collect();
    /// let region = RawRegion::new(&words);
    /// region.prefetch(64);
    /// region.prefetch(4096); // past the end: nothing happens
    /// assert_eq!(region.load(64, Ordering::Relaxed), 7);
    /// ```
    #[inline]
    fn prefetch(&self, offset: usize) {
        let _ = offset;
    }

    /// Hints that the bytes at `offset` will be *stored to* soon: a prefetch that asks for the cache line in a
    /// writable state, which changes nothing any load returns and orders nothing. A ring producer calls it some way
    /// past the record it claims, so that the stores of the records after it do not each wait for the line's
    /// ownership; this matters most where an atomic read-modify-write (the MPSC claim and commit) must wait for
    /// the stores before it. The default does nothing; [`RawRegion`] (and so the std platform's regions) issues
    /// `prefetchw` on x86-64 and `prfm pstl1keep` on aarch64. An offset past the end is allowed and ignored.
    ///
    /// # Examples
    /// ```
    /// use core::sync::atomic::{AtomicU64, Ordering};
    /// use seqring_core::{Memory, RawRegion};
    /// let words: Vec<AtomicU64> = (0..16).map(|_| AtomicU64::new(7)).collect();
    /// let region = RawRegion::new(&words);
    /// region.prefetch_write(64);
    /// region.prefetch_write(4096); // past the end: nothing happens
    /// assert_eq!(region.load(64, Ordering::Relaxed), 7);
    /// ```
    #[inline]
    fn prefetch_write(&self, offset: usize) {
        let _ = offset;
    }
}

/// A registration in a count word of blocked waiters (the seqlock's waiters, the log region's tailers): counts
/// one in with [`Registration::new`] and out on drop, also when the waiter's `park` panics. Both are Relaxed: the
/// protocols that use the count publish the registration through a later read-modify-write of the word they wait
/// on, and a waker that still sees a registration that left only wakes once too many.
pub(crate) struct Registration<'a, M: Memory> {
    mem: &'a M,
    at: usize,
}

impl<'a, M: Memory> Registration<'a, M> {
    /// Adds one to the count at byte `at` of `mem`.
    pub(crate) fn new(mem: &'a M, at: usize) -> Self {
        mem.fetch_add(at, 1, Ordering::Relaxed);
        Registration { mem, at }
    }
}

impl<M: Memory> Drop for Registration<'_, M> {
    fn drop(&mut self) {
        // Wrapping add of -1.
        self.mem.fetch_add(self.at, u64::MAX, Ordering::Relaxed);
    }
}

/// A region of atomic words borrowed for `'a`: the production backend.
///
/// It is built safely from a slice of atomics (heap regions, tests) or, unsafely, over a shared mapping.
///
/// # Examples
/// ```
/// use core::sync::atomic::{AtomicU64, Ordering};
/// use seqring_core::{Memory, RawRegion};
/// let words: Vec<AtomicU64> = (0..8).map(|_| AtomicU64::new(0)).collect();
/// let writer = RawRegion::new(&words);
/// let reader = writer; // `Copy`: every handle sees the same words
/// writer.copy_in(0, b"shared bytes");
/// let mut buf = [0u8; 12];
/// reader.copy_out(0, &mut buf);
/// assert_eq!(&buf, b"shared bytes");
/// assert_eq!(reader.identity(), writer.identity());
/// ```
#[derive(Clone, Copy, Debug)]
pub struct RawRegion<'a> {
    words: &'a [AtomicU64],
}

impl<'a> RawRegion<'a> {
    /// A region over `words`.
    ///
    /// # Examples
    /// ```
    /// use core::sync::atomic::{AtomicU64, Ordering};
    /// use seqring_core::{Memory, RawRegion};
    /// let words: Vec<AtomicU64> = (0..4).map(|_| AtomicU64::new(0)).collect();
    /// let region = RawRegion::new(&words);
    /// region.store(8, 42, Ordering::Relaxed);
    /// assert_eq!(region.len(), 32);
    /// assert_eq!(region.load(8, Ordering::Relaxed), 42);
    /// ```
    pub const fn new(words: &'a [AtomicU64]) -> Self {
        RawRegion { words }
    }

    /// The words of the region.
    ///
    /// # Examples
    /// ```
    /// use core::sync::atomic::{AtomicU64, Ordering};
    /// use seqring_core::{Memory, RawRegion};
    /// let words: Vec<AtomicU64> = (0..2).map(|_| AtomicU64::new(0)).collect();
    /// let region = RawRegion::new(&words);
    /// region.store(8, 3, Ordering::Relaxed);
    /// assert_eq!(region.words().len(), 2);
    /// assert_eq!(region.words()[1].load(Ordering::Relaxed), 3);
    /// ```
    pub const fn words(&self) -> &'a [AtomicU64] {
        self.words
    }

    /// A region over `len` bytes at `ptr`, typically a shared-memory or file mapping.
    ///
    /// # Safety
    /// - `ptr` is aligned to 8 and valid for reads and writes of `len` bytes for all of `'a`;
    /// - `len` is a multiple of 8;
    /// - during `'a` the bytes are accessed only atomically, or non-atomically only where the protocols allow it
    ///   (see [`RawRegion::bytes`]); other processes sharing the mapping follow the same rule.
    ///
    /// # Examples
    /// ```
    /// use core::sync::atomic::{AtomicU64, Ordering};
    /// use seqring_core::{Memory, RawRegion};
    /// let mut buf = [0u64; 4]; // 8-aligned, as a mapping is
    /// // SAFETY: `buf` is aligned to 8 and valid for 32 bytes while `region` lives, and it is accessed only
    /// // through `region` meanwhile.
    /// let region = unsafe { RawRegion::from_raw_parts(buf.as_mut_ptr().cast::<u8>(), 32) };
    /// region.store(16, 0xabcd, Ordering::Relaxed);
    /// assert_eq!(region.len(), 32);
    /// assert_eq!(region.load(16, Ordering::Relaxed), 0xabcd);
    /// ```
    #[cfg(not(loom))]
    pub unsafe fn from_raw_parts(ptr: *mut u8, len: usize) -> Self {
        debug_assert!((ptr as usize).is_multiple_of(8) && len.is_multiple_of(8));
        // SAFETY: the caller guarantees alignment, validity for 'a and atomic-only access, and `AtomicU64` has
        // the same size and alignment as `u64` with no invalid bit patterns.
        let words = unsafe { core::slice::from_raw_parts(ptr.cast::<AtomicU64>(), len / 8) };
        RawRegion { words }
    }

    /// The bytes at `offset..offset + len` as a plain slice, for zero-copy reads of data that no one writes while
    /// the slice lives.
    ///
    /// # Safety
    /// For the lifetime of the returned slice, no thread or process writes these bytes (protocols establish this,
    /// e.g. a ring consumer's published batch before it is released).
    ///
    /// # Panics
    /// If the range is not inside the region.
    ///
    /// # Examples
    /// ```
    /// use core::sync::atomic::AtomicU64;
    /// use seqring_core::{Memory, RawRegion};
    /// let words: Vec<AtomicU64> = (0..2).map(|_| AtomicU64::new(0)).collect();
    /// let region = RawRegion::new(&words);
    /// region.copy_in(0, b"zero-copy read!!");
    /// // SAFETY: nothing writes the region while `bytes` lives.
    /// let bytes = unsafe { region.bytes(5, 4) };
    /// assert_eq!(bytes, b"copy");
    /// ```
    #[cfg(not(loom))]
    #[inline]
    pub unsafe fn bytes(&self, offset: usize, len: usize) -> &'a [u8] {
        let end = offset.checked_add(len).expect("range overflows");
        assert!(
            end <= self.len(),
            "range {offset}..{end} outside a region of {} bytes",
            self.len()
        );
        // SAFETY: the range lies inside the region (checked above), which is valid for 'a; the caller guarantees
        // that nothing writes it while the slice lives, so plain reads do not race.
        unsafe { core::slice::from_raw_parts(self.words.as_ptr().cast::<u8>().add(offset), len) }
    }

    /// The bytes at `offset..offset + len` as a mutable plain slice, for zero-copy writes by the one owner of a
    /// range (a ring grant).
    ///
    /// # Safety
    /// For the lifetime of the returned slice, the caller is the only thread or process that reads or writes these
    /// bytes.
    ///
    /// # Panics
    /// If the range is not inside the region.
    ///
    /// # Examples
    /// ```
    /// use core::sync::atomic::{AtomicU64, Ordering};
    /// use seqring_core::{Memory, RawRegion};
    /// let words: Vec<AtomicU64> = (0..2).map(|_| AtomicU64::new(0)).collect();
    /// let region = RawRegion::new(&words);
    /// // SAFETY: no one else reads or writes bytes 8..16 while `dst` lives.
    /// let dst = unsafe { region.bytes_mut(8, 8) };
    /// dst.copy_from_slice(&7u64.to_le_bytes());
    /// assert_eq!(region.load(8, Ordering::Relaxed), 7);
    /// ```
    #[cfg(not(loom))]
    #[inline]
    #[allow(clippy::mut_from_ref)]
    pub unsafe fn bytes_mut(&self, offset: usize, len: usize) -> &'a mut [u8] {
        let end = offset.checked_add(len).expect("range overflows");
        assert!(
            end <= self.len(),
            "range {offset}..{end} outside a region of {} bytes",
            self.len()
        );
        // SAFETY: inside the region (checked above); the caller guarantees exclusive access for the slice's life.
        unsafe { core::slice::from_raw_parts_mut(self.words.as_ptr().cast::<u8>().cast_mut().add(offset), len) }
    }

    #[inline]
    fn word(&self, offset: usize) -> &AtomicU64 {
        assert!(offset.is_multiple_of(8), "unaligned word offset {offset}");
        &self.words[offset / 8]
    }
}

/// Memory whose words are one run that can be lent as a [`RawRegion`] for as long as the value is borrowed: what the
/// zero-copy paths need ([`Batch::bytes`](crate::ring::Batch::bytes),
/// [`Grant::payload_mut`](crate::ring::Grant::payload_mut)).
///
/// # Safety
/// [`Contiguous::raw`] returns exactly the words that this value's [`Memory`] methods operate on, at the same
/// offsets (offset 0 is the first word of both), every time it is called on the same value. The protocols' proofs
/// that nobody writes a batch while its bytes are lent rest on that.
///
/// # Examples
/// ```
/// use core::sync::atomic::{AtomicU64, Ordering};
/// use seqring_core::{Contiguous, Memory, RawRegion};
/// let words: Vec<AtomicU64> = (0..4).map(|_| AtomicU64::new(0)).collect();
/// let region = RawRegion::new(&words);
/// region.store(16, 7, Ordering::Relaxed);
/// assert_eq!(region.raw().words()[2].load(Ordering::Relaxed), 7);
/// ```
#[cfg(not(loom))]
pub unsafe trait Contiguous: Memory {
    /// The words, borrowed from `self`.
    ///
    /// # Examples
    /// ```
    /// use core::sync::atomic::{AtomicU64, Ordering};
    /// use seqring_core::{Contiguous, Memory, RawRegion};
    /// let words: Vec<AtomicU64> = (0..3).map(|_| AtomicU64::new(0)).collect();
    /// let region = RawRegion::new(&words);
    /// let raw = region.raw();
    /// raw.store(8, 11, Ordering::Relaxed);
    /// assert_eq!(raw.identity(), region.identity());
    /// assert_eq!(region.load(8, Ordering::Relaxed), 11);
    /// ```
    fn raw(&self) -> RawRegion<'_>;
}

// SAFETY: a raw region lends itself: the same words at the same offsets.
#[cfg(not(loom))]
unsafe impl Contiguous for RawRegion<'_> {
    #[inline]
    fn raw(&self) -> RawRegion<'_> {
        *self
    }
}

impl Memory for RawRegion<'_> {
    #[inline]
    fn len(&self) -> usize {
        self.words.len() * 8
    }

    #[inline]
    fn identity(&self) -> usize {
        self.words.as_ptr() as usize
    }

    #[inline]
    fn load(&self, offset: usize, order: Ordering) -> u64 {
        self.word(offset).load(order)
    }

    #[inline]
    fn store(&self, offset: usize, value: u64, order: Ordering) {
        self.word(offset).store(value, order);
    }

    #[inline]
    fn compare_exchange(
        &self,
        offset: usize,
        current: u64,
        new: u64,
        success: Ordering,
        failure: Ordering,
    ) -> Result<u64, u64> {
        self.word(offset).compare_exchange(current, new, success, failure)
    }

    #[inline]
    fn fetch_add(&self, offset: usize, value: u64, order: Ordering) -> u64 {
        self.word(offset).fetch_add(value, order)
    }

    #[inline(always)]
    fn copy_in(&self, offset: usize, src: &[u8]) {
        if offset.is_multiple_of(8) {
            copy_in_aligned(self.words, offset / 8, src);
        } else {
            copy_in_words(self.words, offset, src);
        }
    }

    #[inline(always)]
    fn copy_out(&self, offset: usize, dst: &mut [u8]) {
        if offset.is_multiple_of(8) {
            copy_out_aligned(self.words, offset / 8, dst);
        } else {
            copy_out_words(self.words, offset, dst);
        }
    }

    #[cfg(not(loom))]
    #[inline]
    fn copy_in_owned(&self, offset: usize, src: &[u8]) {
        // SAFETY: the caller owns `offset..offset + src.len()` exclusively until its Release store publishes them
        // (the trait's contract); `bytes_mut` bounds-checks the range.
        unsafe { self.bytes_mut(offset, src.len()) }.copy_from_slice(src);
    }

    #[inline(always)]
    fn as_words(&self) -> Option<&[AtomicU64]> {
        Some(self.words)
    }

    #[inline(always)]
    fn prefetch(&self, offset: usize) {
        #[cfg(all(target_arch = "x86_64", not(loom)))]
        if offset < self.words.len() * 8 {
            use core::arch::x86_64::{_mm_prefetch, _MM_HINT_T0};
            let p = self.words.as_ptr().wrapping_add(offset / 8).cast::<i8>();
            // SAFETY: a prefetch is a hint that loads nothing the program sees and never faults; `p` points into
            // the region's words (checked above). SSE, which it needs, is part of the x86-64 baseline.
            unsafe { _mm_prefetch::<_MM_HINT_T0>(p) };
        }
        #[cfg(not(all(target_arch = "x86_64", not(loom))))]
        let _ = offset;
    }

    #[inline(always)]
    fn prefetch_write(&self, offset: usize) {
        if offset >= self.words.len() * 8 {
            return;
        }
        let p = self.words.as_ptr().wrapping_add(offset / 8).cast::<u8>();
        // `prefetchw` (PRFCHW), written out because `_mm_prefetch::<_MM_HINT_ET0>` compiles to a *read* prefetch
        // without the `prfchw` target feature, which the x86-64 baseline lacks. Every AMD64 processor has it (3DNow!
        // prefetch); Intel's before Broadwell decode its encoding (0F 0D /1) as a NOP.
        // SAFETY: a prefetch is a hint that loads and stores nothing the program sees, orders nothing and never
        // faults; `p` points into the region's words (checked above). The asm touches no register but its input
        // and no flags, and reads no memory in the abstract machine's sense.
        #[cfg(all(target_arch = "x86_64", not(loom)))]
        unsafe {
            core::arch::asm!("prefetchw byte ptr [{0}]", in(reg) p, options(nostack, preserves_flags, readonly));
        }
        // SAFETY: as for x86-64: `prfm` (prefetch for store, into L1, keep) is a hint that never faults.
        #[cfg(all(target_arch = "aarch64", not(loom)))]
        unsafe {
            core::arch::asm!("prfm pstl1keep, [{0}]", in(reg) p, options(nostack, preserves_flags, readonly));
        }
        #[cfg(not(all(any(target_arch = "x86_64", target_arch = "aarch64"), not(loom))))]
        let _ = p;
    }

    #[inline]
    fn zero(&self, offset: usize, len: usize) {
        assert!(
            offset.is_multiple_of(8) && len.is_multiple_of(8),
            "unaligned zero {offset}+{len}"
        );
        for w in &self.words[offset / 8..(offset + len) / 8] {
            w.store(0, Ordering::Relaxed);
        }
    }
}

/// Splits the byte range `offset..offset + len` into the words it touches: a leading partial word, whole words,
/// and a trailing partial word. Returns `(first word index, head bytes skipped in it)`.
#[inline]
fn word_span(words: &[AtomicU64], offset: usize, len: usize) -> (usize, usize) {
    let end = offset.checked_add(len).expect("range overflows");
    assert!(
        end <= words.len() * 8,
        "range {offset}..{end} outside a region of {} bytes",
        words.len() * 8
    );
    (offset / 8, offset % 8)
}

/// [`copy_out_words`] from a word boundary (every ring payload and seqlock range): one bounds check, whole-word
/// loads, and one partial word at the end.
#[inline(always)]
fn copy_out_aligned(words: &[AtomicU64], first: usize, dst: &mut [u8]) {
    let words = words
        .get(first..first + dst.len().div_ceil(8))
        .unwrap_or_else(|| out_of_range(first * 8, dst.len(), words.len()));
    // Blocks of 8 words (a cache line when aligned), each unrolled (fixed-size arrays: no index checks) with one
    // loop test per block; the words past the last whole block take the word loop.
    let (block_dst, rest) = dst.as_chunks_mut::<64>();
    let (block_words, words) = words.split_at(block_dst.len() * 8);
    for (block, from) in block_dst.iter_mut().zip(block_words.as_chunks::<8>().0) {
        for (chunk, word) in block.as_chunks_mut::<8>().0.iter_mut().zip(from) {
            *chunk = word.load(Ordering::Relaxed).to_le_bytes();
        }
    }
    let mut chunks = rest.chunks_exact_mut(8);
    for (chunk, word) in (&mut chunks).zip(words) {
        chunk.copy_from_slice(&word.load(Ordering::Relaxed).to_le_bytes());
    }
    let tail = chunks.into_remainder();
    if let (false, Some(word)) = (tail.is_empty(), words.last()) {
        let n = tail.len();
        tail.copy_from_slice(&word.load(Ordering::Relaxed).to_le_bytes()[..n]);
    }
}

/// [`copy_in_words`] from a word boundary, as [`copy_out_aligned`]. A partial last word is loaded and stored back
/// whole (its owner is the only writer: module invariants).
#[inline(always)]
fn copy_in_aligned(words: &[AtomicU64], first: usize, src: &[u8]) {
    let words = words
        .get(first..first + src.len().div_ceil(8))
        .unwrap_or_else(|| out_of_range(first * 8, src.len(), words.len()));
    // Blocks of 8 words, as in `copy_out_aligned`.
    let (block_src, rest) = src.as_chunks::<64>();
    let (block_words, words) = words.split_at(block_src.len() * 8);
    for (block, to) in block_src.iter().zip(block_words.as_chunks::<8>().0) {
        for (chunk, word) in block.as_chunks::<8>().0.iter().zip(to) {
            word.store(u64::from_le_bytes(*chunk), Ordering::Relaxed);
        }
    }
    let mut chunks = rest.chunks_exact(8);
    for (chunk, word) in (&mut chunks).zip(words) {
        let mut b = [0u8; 8];
        b.copy_from_slice(chunk);
        word.store(u64::from_le_bytes(b), Ordering::Relaxed);
    }
    let tail = chunks.remainder();
    if let (false, Some(word)) = (tail.is_empty(), words.last()) {
        let mut bytes = word.load(Ordering::Relaxed).to_le_bytes();
        bytes[..tail.len()].copy_from_slice(tail);
        word.store(u64::from_le_bytes(bytes), Ordering::Relaxed);
    }
}

#[cold]
#[inline(never)]
fn out_of_range(offset: usize, len: usize, words: usize) -> ! {
    panic!("range {offset}+{len} outside a region of {} bytes", words * 8)
}

#[inline]
fn copy_out_words(words: &[AtomicU64], offset: usize, dst: &mut [u8]) {
    let (mut w, skip) = word_span(words, offset, dst.len());
    let mut rest = dst;
    if skip != 0 && !rest.is_empty() {
        let bytes = words[w].load(Ordering::Relaxed).to_le_bytes();
        let n = rest.len().min(8 - skip);
        rest[..n].copy_from_slice(&bytes[skip..skip + n]);
        rest = &mut rest[n..];
        w += 1;
    }
    let whole = rest.len() / 8;
    let mut chunks = rest.chunks_exact_mut(8);
    // Pre-sliced to exactly the whole words, so the loop carries no bounds checks.
    for (chunk, word) in (&mut chunks).zip(&words[w..w + whole]) {
        chunk.copy_from_slice(&word.load(Ordering::Relaxed).to_le_bytes());
    }
    w += whole;
    let tail = chunks.into_remainder();
    if !tail.is_empty() {
        let bytes = words[w].load(Ordering::Relaxed).to_le_bytes();
        let n = tail.len();
        tail.copy_from_slice(&bytes[..n]);
    }
}

#[inline]
fn copy_in_words(words: &[AtomicU64], offset: usize, src: &[u8]) {
    let (mut w, skip) = word_span(words, offset, src.len());
    let mut rest = src;
    if skip != 0 && !rest.is_empty() {
        // The caller is the only writer of this word (see the module invariants), so load + store is not a lost
        // update.
        let mut bytes = words[w].load(Ordering::Relaxed).to_le_bytes();
        let n = rest.len().min(8 - skip);
        bytes[skip..skip + n].copy_from_slice(&rest[..n]);
        words[w].store(u64::from_le_bytes(bytes), Ordering::Relaxed);
        rest = &rest[n..];
        w += 1;
    }
    let whole = rest.len() / 8;
    let mut chunks = rest.chunks_exact(8);
    // Pre-sliced to exactly the whole words, so the loop carries no bounds checks.
    for (chunk, word) in (&mut chunks).zip(&words[w..w + whole]) {
        let mut b = [0u8; 8];
        b.copy_from_slice(chunk);
        word.store(u64::from_le_bytes(b), Ordering::Relaxed);
    }
    w += whole;
    let tail = chunks.remainder();
    if !tail.is_empty() {
        let mut bytes = words[w].load(Ordering::Relaxed).to_le_bytes();
        bytes[..tail.len()].copy_from_slice(tail);
        words[w].store(u64::from_le_bytes(bytes), Ordering::Relaxed);
    }
}

/// The loom backend: a vector of loom atomics, zeroed.
#[cfg(loom)]
#[derive(Debug)]
pub struct LoomRegion {
    words: std::vec::Vec<AtomicU64>,
}

#[cfg(loom)]
impl LoomRegion {
    /// A zeroed region of `len` bytes (rounded up to a whole word).
    pub fn new(len: usize) -> Self {
        LoomRegion {
            words: (0..len.div_ceil(8)).map(|_| AtomicU64::new(0)).collect(),
        }
    }

    /// The region as the raw backend sees it: the same code paths, over loom atomics.
    pub fn region(&self) -> RawRegion<'_> {
        RawRegion::new(&self.words)
    }
}

/// A zeroed heap region of `bytes` bytes (rounded up to whole words), for unit tests.
#[cfg(all(test, not(loom)))]
pub(crate) fn test_words(bytes: usize) -> std::vec::Vec<AtomicU64> {
    (0..bytes.div_ceil(8)).map(|_| AtomicU64::new(0)).collect()
}

#[cfg(all(test, not(loom)))]
mod tests {
    use super::*;
    use std::vec::Vec;

    fn words(n: usize) -> Vec<AtomicU64> {
        test_words(n * 8)
    }

    #[test]
    fn copies_round_trip_at_every_alignment() {
        let w = words(8);
        let r = RawRegion::new(&w);
        for offset in 0..17 {
            for len in 0..(64 - offset).min(30) {
                r.zero(0, 64);
                let src: Vec<u8> = (0..len).map(|i| (i as u8).wrapping_mul(7).wrapping_add(1)).collect();
                r.copy_in(offset, &src);
                let mut all = [0u8; 64];
                r.copy_out(0, &mut all);
                assert!(
                    all[..offset].iter().all(|&b| b == 0),
                    "bytes before the copy were touched"
                );
                assert_eq!(&all[offset..offset + len], &src[..]);
                assert!(
                    all[offset + len..].iter().all(|&b| b == 0),
                    "bytes after the copy were touched"
                );
                let mut back = std::vec![0u8; len];
                r.copy_out(offset, &mut back);
                assert_eq!(back, src);
            }
        }
    }

    /// The aligned copies' blocks of 8 words, their word loop and their partial last word, at every length around
    /// the block boundaries.
    #[test]
    fn aligned_copies_round_trip_at_every_length() {
        let w = words(40);
        let r = RawRegion::new(&w);
        for len in 0..=(8 * 40 - 8) {
            r.zero(0, 320);
            let src: Vec<u8> = (0..len).map(|i| (i as u8).wrapping_mul(13).wrapping_add(5)).collect();
            r.copy_in(8, &src);
            let mut all = [0u8; 320];
            r.copy_out(0, &mut all);
            assert!(
                all[..8].iter().all(|&b| b == 0) && all[8 + len..].iter().all(|&b| b == 0),
                "len {len}"
            );
            assert_eq!(&all[8..8 + len], &src[..], "len {len}");
            let mut back = std::vec![0u8; len];
            r.copy_out(8, &mut back);
            assert_eq!(back, src, "len {len}");
        }
    }

    #[test]
    fn layout_is_little_endian() {
        let w = words(1);
        let r = RawRegion::new(&w);
        r.store(0, 0x0807_0605_0403_0201, Ordering::Relaxed);
        let mut b = [0u8; 8];
        r.copy_out(0, &mut b);
        assert_eq!(b, [1, 2, 3, 4, 5, 6, 7, 8]);
    }

    #[test]
    #[should_panic(expected = "outside")]
    fn out_of_range_copy_panics() {
        let w = words(1);
        RawRegion::new(&w).copy_out(4, &mut [0u8; 8]);
    }
}
