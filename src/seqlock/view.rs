//! The words of one seqlock operation, resolved once per call: the hot paths' access to the region.
//!
//! Through [`Memory`], every access resolves the region again (a store through a shared word may, for all the
//! compiler knows, change the backend's own fields, so it reloads the region's address and length and checks the
//! offset against them after each store). A [`View`] takes the region's words once, when the memory lends them
//! ([`Memory::as_words`]): the fixed part of the layout (bytes 0 to [`DATA_OFFSET`]) as an array of words, which
//! constant offsets index without any check, and the data (from the array's data offset to the region's end) as a
//! [`RawRegion`], whose copies check their range once. Memory that lends no words (test backends that count or
//! interrupt accesses) goes through its [`Memory`] methods as before, so the protocol code is the same for both.
//!
//! Invariants: a view addresses exactly the words its memory's methods address, at the same offsets (the contract
//! of [`Memory::as_words`]); every access is the same atomic access, with the same ordering, that the memory's
//! method would make. Nothing is cached beyond one call: the view borrows the array and lives no longer.

use super::DATA_OFFSET;
use crate::memory::{Memory, RawRegion};
use crate::sync::{AtomicU64, Ordering};

/// The words of bytes `0..DATA_OFFSET`: the region header and the array's fixed fields.
const HEAD_WORDS: usize = DATA_OFFSET / 8;

/// One operation's access to an array's region (see the module documentation).
pub(super) struct View<'a, M> {
    mem: &'a M,
    /// The fixed fields and the data's words, when the memory lends them.
    words: Option<(&'a [AtomicU64; HEAD_WORDS], RawRegion<'a>)>,
    /// Where the data starts, for memory that lends no words.
    data_at: usize,
}

#[cold]
#[inline(never)]
fn short_words(words: usize, data_at: usize) -> ! {
    panic!("memory lent {words} words, too few for data at byte {data_at}")
}

impl<M> Clone for View<'_, M> {
    fn clone(&self) -> Self {
        *self
    }
}

impl<M> Copy for View<'_, M> {}

impl<M> core::fmt::Debug for View<'_, M> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("View")
            .field("lent", &self.words.is_some())
            .field("data_at", &self.data_at)
            .finish()
    }
}

impl<'a, M: Memory> View<'a, M> {
    /// The view of `mem`, whose data starts at byte `data_at`: a multiple of 8 within the region, which
    /// [`SeqArray::open`](super::SeqArray::open) and [`SeqArray::create`](super::SeqArray::create) validated.
    ///
    /// # Panics
    /// If the lent words are too few for `data_at`: the memory broke [`Memory::as_words`]'s contract (its words
    /// must cover [`Memory::len`] bytes, which the array validated).
    #[inline(always)]
    pub(super) fn new(mem: &'a M, data_at: usize) -> Self {
        let words = mem
            .as_words()
            .map(|w| match (w.first_chunk::<HEAD_WORDS>(), w.get(data_at / 8..)) {
                (Some(head), Some(data)) => (head, RawRegion::new(data)),
                _ => short_words(w.len(), data_at),
            });
        View { mem, words, data_at }
    }

    /// The memory itself (for the operations a view does not cover: the wake).
    #[inline(always)]
    pub(super) fn memory(&self) -> &'a M {
        self.mem
    }

    /// The word at byte `at`, below [`DATA_OFFSET`]; constant offsets index it without a check.
    #[inline(always)]
    fn head(&self, at: usize) -> Option<&'a AtomicU64> {
        debug_assert!(at.is_multiple_of(8) && at < DATA_OFFSET);
        self.words.map(|(head, _)| &head[at / 8])
    }

    /// As [`Memory::load`], for a field below [`DATA_OFFSET`].
    #[inline(always)]
    pub(super) fn load(&self, at: usize, order: Ordering) -> u64 {
        match self.head(at) {
            Some(word) => word.load(order),
            None => self.mem.load(at, order),
        }
    }

    /// As [`Memory::store`], for a field below [`DATA_OFFSET`].
    #[inline(always)]
    pub(super) fn store(&self, at: usize, value: u64, order: Ordering) {
        match self.head(at) {
            Some(word) => word.store(value, order),
            None => self.mem.store(at, value, order),
        }
    }

    /// As [`Memory::compare_exchange`], for a field below [`DATA_OFFSET`].
    #[inline(always)]
    pub(super) fn compare_exchange(
        &self,
        at: usize,
        current: u64,
        new: u64,
        success: Ordering,
        failure: Ordering,
    ) -> Result<u64, u64> {
        match self.head(at) {
            Some(word) => word.compare_exchange(current, new, success, failure),
            None => self.mem.compare_exchange(at, current, new, success, failure),
        }
    }

    /// As [`Memory::copy_out`] from byte `offset` of the data.
    #[inline(always)]
    pub(super) fn copy_out(&self, offset: usize, dst: &mut [u8]) {
        match self.words {
            Some((_, data)) => data.copy_out(offset, dst),
            None => self.mem.copy_out(self.data_at + offset, dst),
        }
    }

    /// As [`Memory::copy_in`] to byte `offset` of the data.
    #[inline(always)]
    pub(super) fn copy_in(&self, offset: usize, src: &[u8]) {
        match self.words {
            Some((_, data)) => data.copy_in(offset, src),
            None => self.mem.copy_in(self.data_at + offset, src),
        }
    }
}
