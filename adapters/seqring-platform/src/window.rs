//! [`Window`]: a range of a shared [`Region`] that owns a reference to it, so the core's rings and arrays can own
//! their memory (`Ring<Window>`) instead of borrowing a mapping for a lifetime that only drop order upholds.
//!
//! Invariants:
//! - a window's range lies inside its region, starts and ends on word boundaries, and never changes;
//! - the region stays mapped at one address while any window of it lives (each holds an `Arc` of it), so a
//!   window's words are valid for as long as the window is borrowed, without `unsafe`.

use std::ops::Range;
use std::sync::atomic::AtomicU64;
use std::sync::Arc;

use seqring_core::{Contiguous, RawRegion};

use crate::Region;

/// Implements the core's `Memory` for a type with an inherent `fn raw(&self) -> RawRegion<'_>`, by lending the raw
/// region for each operation (the one definition for [`Region`] and [`Window`]).
macro_rules! memory_through_raw {
    ($type:ty) => {
        impl seqring_core::Memory for $type {
            #[inline]
            fn len(&self) -> usize {
                seqring_core::Memory::len(&self.raw())
            }

            #[inline]
            fn identity(&self) -> usize {
                self.raw().identity()
            }

            #[inline]
            fn load(&self, offset: usize, order: std::sync::atomic::Ordering) -> u64 {
                self.raw().load(offset, order)
            }

            #[inline]
            fn store(&self, offset: usize, value: u64, order: std::sync::atomic::Ordering) {
                self.raw().store(offset, value, order);
            }

            #[inline]
            fn compare_exchange(
                &self,
                offset: usize,
                current: u64,
                new: u64,
                success: std::sync::atomic::Ordering,
                failure: std::sync::atomic::Ordering,
            ) -> Result<u64, u64> {
                self.raw()
                    .compare_exchange(offset, current, new, success, failure)
            }

            #[inline]
            fn fetch_add(&self, offset: usize, value: u64, order: std::sync::atomic::Ordering) -> u64 {
                self.raw().fetch_add(offset, value, order)
            }

            #[inline]
            fn copy_in(&self, offset: usize, src: &[u8]) {
                self.raw().copy_in(offset, src);
            }

            #[inline]
            fn copy_out(&self, offset: usize, dst: &mut [u8]) {
                self.raw().copy_out(offset, dst);
            }

            #[inline]
            fn copy_in_owned(&self, offset: usize, src: &[u8]) {
                self.raw().copy_in_owned(offset, src);
            }

            #[inline]
            fn zero(&self, offset: usize, len: usize) {
                self.raw().zero(offset, len);
            }

            #[inline(always)]
            fn prefetch(&self, offset: usize) {
                self.raw().prefetch(offset);
            }

            #[inline(always)]
            fn prefetch_write(&self, offset: usize) {
                self.raw().prefetch_write(offset);
            }

            #[inline(always)]
            fn as_words(&self) -> Option<&[std::sync::atomic::AtomicU64]> {
                Some(self.raw().words())
            }

            #[inline]
            fn wake(&self, offset: usize, old: u64) {
                self.shared_word(offset).wake(old);
            }
        }
    };
}
pub(crate) use memory_through_raw;

/// A word-aligned range of a shared [`Region`], holding the region alive: memory a ring or array can own.
///
/// # Examples
/// ```
/// use std::sync::Arc;
/// use std::sync::atomic::Ordering;
/// use seqring_core::Memory;
/// use seqring_platform::{CreateOptions, Region, Window};
/// # let name = format!("seqring-doc-window-{}", std::process::id());
/// let region = Arc::new(Region::create_shm(&name, 64, CreateOptions::default())?);
/// let tail = Window::new(region.clone(), 32..64).unwrap();
/// tail.store(0, 7, Ordering::Relaxed);
/// assert_eq!(region.load(32, Ordering::Relaxed), 7);
/// assert_eq!(tail.len(), 32);
/// # Ok::<(), seqring_platform::RegionError>(())
/// ```
#[derive(Clone, Debug)]
pub struct Window {
    region: Arc<Region>,
    /// The first word of the window, in words from the region's start.
    first: usize,
    /// The window's length in words.
    words: usize,
}

impl Window {
    /// The bytes `range` of `region`, or `None` when the range is not word-aligned or not inside the region.
    pub fn new(region: Arc<Region>, range: Range<usize>) -> Option<Self> {
        let aligned = range.start.is_multiple_of(8) && range.end.is_multiple_of(8);
        if !aligned || range.start > range.end || range.end > region.len() {
            return None;
        }
        Some(Window {
            region,
            first: range.start / 8,
            words: (range.end - range.start) / 8,
        })
    }

    /// The whole of `region`.
    pub fn whole(region: Arc<Region>) -> Self {
        let words = region.len() / 8;
        Window {
            region,
            first: 0,
            words,
        }
    }

    /// The region the window lies in.
    pub fn region(&self) -> &Arc<Region> {
        &self.region
    }

    /// The word at byte `offset` of the window, as a [`SharedWord`](crate::address_wait::SharedWord) that threads
    /// of any process can block on: see [`Region::shared_word`].
    ///
    /// # Panics
    /// If `offset` is not a multiple of 8 or not inside the window.
    ///
    /// # Examples
    /// ```
    /// use std::sync::Arc;
    /// use seqring_platform::{CreateOptions, Region, Window};
    /// # let name = format!("doc-window-word-{}", std::process::id());
    /// let region = Arc::new(Region::create_shm(&name, 64, CreateOptions::default())?);
    /// let tail = Window::new(region.clone(), 32..64).unwrap();
    /// assert!(std::ptr::eq(tail.shared_word(8).word(), region.shared_word(40).word()));
    /// # Ok::<(), seqring_platform::RegionError>(())
    /// ```
    pub fn shared_word(&self, offset: usize) -> crate::address_wait::SharedWord<'_> {
        assert!(
            offset.is_multiple_of(8) && offset < self.words * 8,
            "word offset {offset} outside a window of {} bytes",
            self.words * 8
        );
        self.region.shared_word(self.first * 8 + offset)
    }

    /// The window's words as the core's raw region, borrowed from `self`.
    #[inline]
    pub fn raw(&self) -> RawRegion<'_> {
        RawRegion::new(&self.region.raw().words()[self.first..self.first + self.words])
    }
}

memory_through_raw!(Window);

// SAFETY: `raw` lends the window's words, which are what the `Memory` methods (through `raw`) operate on, always
// the same range of the same mapping (the range never changes; the `Arc` keeps the mapping in place).
unsafe impl Contiguous for Window {
    #[inline]
    fn raw(&self) -> RawRegion<'_> {
        Window::raw(self)
    }
}

/// Zeroed atomic words on the heap for `bytes` bytes (rounded up to whole words): in-process memory for the core's
/// layouts, as tests, benchmarks and fuzz targets use them (`RawRegion::new(&words)`).
///
/// # Examples
/// ```
/// use seqring_core::{Memory, RawRegion};
/// let words = seqring_platform::zeroed_words(20);
/// assert_eq!(RawRegion::new(&words).len(), 24);
/// ```
pub fn zeroed_words(bytes: usize) -> Vec<AtomicU64> {
    (0..bytes.div_ceil(8)).map(|_| AtomicU64::new(0)).collect()
}
