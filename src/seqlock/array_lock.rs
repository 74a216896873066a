//! The array lock: one word in the array's own region that serialises read-modify-writes (seqring.compat's lock,
//! ataraxis's `multiprocessing.Lock`), apart from the seqlock's writer lock.
//!
//! The seqlock already makes every single write atomic; this lock is for callers that read, compute and write back
//! and must not interleave with each other (`arr[i] += 1` in several processes). It is advisory: readers and plain
//! writes never look at it. It lives at byte [`ARRAY_LOCK_WORD`] of the array's region, so it is mapped with the
//! array and removed with it.
//!
//! Protocol (one word; no other word is involved):
//! - the word is 0 when the lock is free, else the [`LockToken`] of its holder (never 0);
//! - **take**: CAS `0 -> token` ([`ArrayLock::try_take`]), Acquire on success;
//! - **release**: the holder loads the word and, if it still holds `token`, stores 0 with Release
//!   ([`ArrayLock::release`]); if it holds another token (the holder was judged dead and taken over), it changes
//!   nothing and says so. A plain store, not a CAS: only the holder writes a held word, except a take-over, which
//!   a correct verdict never aims at a live holder. A wrong verdict (a live holder judged dead, e.g. a pid from
//!   another pid namespace) already lets two holders in; one that lands between the holder's load and store is
//!   then also cleared by that store, instead of being reported. The store saves one locked read-modify-write per
//!   release (about 7 ns of a compat `arr[i] = v`'s ~145 ns on the issue-21 machine);
//! - **take over**: CAS `dead -> token` ([`ArrayLock::take_over`]), Acquire, only with a token the *caller* judged
//!   dead (the core has no notion of processes: the std layer packs a pid into the token and asks the OS). Because
//!   it names the exact token, a stale verdict cannot steal a live holder's lock: once the dead holder was taken
//!   over (or released), the word holds another token or 0 and the CAS fails.
//!
//! Orderings: the Acquire of a successful take or take-over pairs with the Release of the previous holder's
//! release store (or, through the release sequence of the word's later CASes, of an earlier holder's), so every store
//! a holder made under the lock happens before the next holder's loads. A holder that died published nothing with
//! Release; what it guarded is the seqlock array, whose own protocol keeps every single write atomic, so the taker
//! sees each of the dead holder's writes whole or not at all. Failed CASes are Relaxed: the caller only looks at
//! the token they return.
//!
//! Invariants: the word changes only by the two CASes and the holder's store above; tokens are unique among live
//! holders (the std layer: `pid << 32 | counter`), so a token judged dead cannot come back alive while it is in the
//! word (a recycled pid reads as alive, which only delays a takeover). `loom-tests/tests/array_lock.rs` checks
//! mutual exclusion, dead-holder takeover and that a stale takeover fails.

use super::{SeqArray, ARRAY_LOCK_AT};
use crate::memory::Memory;
use crate::sync::Ordering;
use core::num::NonZeroU64;

/// The byte offset of the array lock's word in an array region.
pub const ARRAY_LOCK_WORD: usize = ARRAY_LOCK_AT;

/// A lock holder's identity: any value but 0, which marks the lock free.
///
/// # Examples
/// ```
/// use seqring_core::seqlock::LockToken;
/// assert!(LockToken::new(0).is_none(), "0 means free");
/// assert_eq!(LockToken::new(7).unwrap().get(), 7);
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct LockToken(NonZeroU64);

impl LockToken {
    /// The token `value`, or `None` for 0.
    ///
    /// # Examples
    /// ```
    /// use seqring_core::seqlock::LockToken;
    /// assert_eq!(LockToken::new(1 << 32 | 1).map(LockToken::get), Some(1 << 32 | 1));
    /// ```
    pub const fn new(value: u64) -> Option<LockToken> {
        match NonZeroU64::new(value) {
            Some(v) => Some(LockToken(v)),
            None => None,
        }
    }

    /// The token's value (never 0).
    ///
    /// # Examples
    /// ```
    /// use seqring_core::seqlock::LockToken;
    /// assert_ne!(LockToken::new(5).unwrap().get(), 0);
    /// ```
    pub const fn get(self) -> u64 {
        self.0.get()
    }
}

/// The array lock of one array (see the module documentation): a view of its word, borrowed from
/// [`SeqArray::array_lock`].
#[derive(Debug)]
pub struct ArrayLock<'a, M> {
    mem: &'a M,
}

impl<M> Clone for ArrayLock<'_, M> {
    fn clone(&self) -> Self {
        *self
    }
}

impl<M> Copy for ArrayLock<'_, M> {}

impl<M: Memory> SeqArray<M> {
    /// The array's lock for read-modify-writes (advisory: reads and writes never take it).
    ///
    /// # Examples
    /// ```
    /// use core::sync::atomic::AtomicU64;
    /// use seqring_core::seqlock::{region_len, LockToken, SeqArray};
    /// use seqring_core::{DType, RawRegion};
    /// let words: Vec<AtomicU64> = (0..region_len(8).unwrap() / 8).map(|_| AtomicU64::new(0)).collect();
    /// let array = SeqArray::create(RawRegion::new(&words), DType::F64, &[1], 1, 0).unwrap();
    /// let me = LockToken::new(1).unwrap();
    /// array.array_lock().try_take(me).unwrap();
    /// assert_eq!(array.array_lock().holder(), Some(me));
    /// ```
    pub fn array_lock(&self) -> ArrayLock<'_, M> {
        ArrayLock { mem: &self.mem }
    }
}

impl<M: Memory> ArrayLock<'_, M> {
    /// Takes the lock for `token` if it is free.
    ///
    /// # Errors
    /// The holder's token (which may be `token` itself: the lock is not reentrant here; callers that want
    /// reentrancy count it themselves).
    ///
    /// # Examples
    /// ```
    /// # use core::sync::atomic::AtomicU64;
    /// # use seqring_core::seqlock::{region_len, LockToken, SeqArray};
    /// # use seqring_core::{DType, RawRegion};
    /// # let words: Vec<AtomicU64> = (0..region_len(8).unwrap() / 8).map(|_| AtomicU64::new(0)).collect();
    /// # let array = SeqArray::create(RawRegion::new(&words), DType::F64, &[1], 1, 0).unwrap();
    /// let (a, b) = (LockToken::new(1).unwrap(), LockToken::new(2).unwrap());
    /// let lock = array.array_lock();
    /// assert_eq!(lock.try_take(a), Ok(()));
    /// assert_eq!(lock.try_take(b), Err(a));
    /// ```
    #[inline]
    pub fn try_take(&self, token: LockToken) -> Result<(), LockToken> {
        // Acquire pairs with the Release of the previous holder's `release`. Failure: only the token is looked at.
        match self
            .mem
            .compare_exchange(ARRAY_LOCK_AT, 0, token.get(), Ordering::Acquire, Ordering::Relaxed)
        {
            Ok(_) => Ok(()),
            Err(holder) => Err(holder_token(holder)),
        }
    }

    /// Takes the lock over from `dead`, a holder the caller judged dead (the std layer: its process is gone), if
    /// the word still holds `dead`.
    ///
    /// # Errors
    /// The current holder (`None`: free), when it is no longer `dead`: someone released or took it over first, and
    /// this verdict is stale. Nothing changes then.
    ///
    /// # Examples
    /// ```
    /// # use core::sync::atomic::AtomicU64;
    /// # use seqring_core::seqlock::{region_len, LockToken, SeqArray};
    /// # use seqring_core::{DType, RawRegion};
    /// # let words: Vec<AtomicU64> = (0..region_len(8).unwrap() / 8).map(|_| AtomicU64::new(0)).collect();
    /// # let array = SeqArray::create(RawRegion::new(&words), DType::F64, &[1], 1, 0).unwrap();
    /// let (dead, a, b) = (LockToken::new(9).unwrap(), LockToken::new(1).unwrap(), LockToken::new(2).unwrap());
    /// let lock = array.array_lock();
    /// lock.try_take(dead).unwrap(); // and its holder dies
    /// assert_eq!(lock.take_over(dead, a), Ok(()));
    /// assert_eq!(lock.take_over(dead, b), Err(Some(a)), "stale: a holds it now");
    /// ```
    #[inline]
    pub fn take_over(&self, dead: LockToken, token: LockToken) -> Result<(), Option<LockToken>> {
        // Acquire pairs with the Release of the releases before the dead holder took it (the word's release
        // sequence); the dead holder itself published nothing (see the module documentation).
        match self.mem.compare_exchange(
            ARRAY_LOCK_AT,
            dead.get(),
            token.get(),
            Ordering::Acquire,
            Ordering::Relaxed,
        ) {
            Ok(_) => Ok(()),
            Err(holder) => Err(LockToken::new(holder)),
        }
    }

    /// Takes the lock for `token` if it is free, or over from a holder that `is_dead` judges dead: one attempt of
    /// [`try_take`](Self::try_take) then [`take_over`](Self::take_over). `is_dead` is never asked about `token`.
    ///
    /// # Errors
    /// The holder's token when it is `token` itself, alive, or changed meanwhile (try again).
    ///
    /// # Examples
    /// ```
    /// # use core::sync::atomic::AtomicU64;
    /// # use seqring_core::seqlock::{region_len, LockToken, SeqArray};
    /// # use seqring_core::{DType, RawRegion};
    /// # let words: Vec<AtomicU64> = (0..region_len(8).unwrap() / 8).map(|_| AtomicU64::new(0)).collect();
    /// # let array = SeqArray::create(RawRegion::new(&words), DType::F64, &[1], 1, 0).unwrap();
    /// let (a, b) = (LockToken::new(1).unwrap(), LockToken::new(2).unwrap());
    /// let lock = array.array_lock();
    /// lock.try_take(a).unwrap();
    /// assert_eq!(lock.try_acquire(b, |_| false), Err(a), "a is alive");
    /// assert_eq!(lock.try_acquire(b, |t| t == a), Ok(()), "a died");
    /// ```
    #[inline]
    pub fn try_acquire(&self, token: LockToken, is_dead: impl FnOnce(LockToken) -> bool) -> Result<(), LockToken> {
        let holder = match self.try_take(token) {
            Ok(()) => return Ok(()),
            Err(holder) => holder,
        };
        if holder == token || !is_dead(holder) {
            return Err(holder);
        }
        self.take_over(holder, token).map_err(|now| now.unwrap_or(holder))
    }

    /// Releases the lock `token` holds: a check that the word still holds `token`, then a Release store of 0 (see
    /// the module documentation for why a store suffices).
    ///
    /// # Errors
    /// The current holder (`None`: free) when `token` no longer holds it: it was taken over (judged dead) or never
    /// held. Nothing changes then.
    ///
    /// # Examples
    /// ```
    /// # use core::sync::atomic::AtomicU64;
    /// # use seqring_core::seqlock::{region_len, LockToken, SeqArray};
    /// # use seqring_core::{DType, RawRegion};
    /// # let words: Vec<AtomicU64> = (0..region_len(8).unwrap() / 8).map(|_| AtomicU64::new(0)).collect();
    /// # let array = SeqArray::create(RawRegion::new(&words), DType::F64, &[1], 1, 0).unwrap();
    /// let (a, b) = (LockToken::new(1).unwrap(), LockToken::new(2).unwrap());
    /// let lock = array.array_lock();
    /// lock.try_take(a).unwrap();
    /// assert_eq!(lock.release(b), Err(Some(a)), "not b's");
    /// assert_eq!(lock.release(a), Ok(()));
    /// assert_eq!(lock.holder(), None);
    /// ```
    #[inline]
    pub fn release(&self, token: LockToken) -> Result<(), Option<LockToken>> {
        // Relaxed: only this holder stores to a word that holds its token (module documentation).
        let now = self.mem.load(ARRAY_LOCK_AT, Ordering::Relaxed);
        if now != token.get() {
            return Err(LockToken::new(now));
        }
        // Release pairs with the Acquire of the next holder's take or take-over.
        self.mem.store(ARRAY_LOCK_AT, 0, Ordering::Release);
        Ok(())
    }

    /// The current holder, or `None` if the lock is free (a relaxed look: it may change at once).
    ///
    /// # Examples
    /// ```
    /// # use core::sync::atomic::AtomicU64;
    /// # use seqring_core::seqlock::{region_len, LockToken, SeqArray};
    /// # use seqring_core::{DType, RawRegion};
    /// # let words: Vec<AtomicU64> = (0..region_len(8).unwrap() / 8).map(|_| AtomicU64::new(0)).collect();
    /// # let array = SeqArray::create(RawRegion::new(&words), DType::F64, &[1], 1, 0).unwrap();
    /// assert_eq!(array.array_lock().holder(), None);
    /// ```
    #[inline]
    pub fn holder(&self) -> Option<LockToken> {
        // Relaxed: a hint for waiting and reports; every decision is a CAS.
        LockToken::new(self.mem.load(ARRAY_LOCK_AT, Ordering::Relaxed))
    }
}

/// The token of a failed take's holder: the CAS from 0 failed, so the word was not 0.
#[inline]
fn holder_token(word: u64) -> LockToken {
    // Unreachable fallback: a CAS from 0 that failed read a word other than 0.
    LockToken::new(word).unwrap_or(LockToken(NonZeroU64::MIN))
}

#[cfg(all(test, not(loom)))]
mod tests {
    use super::*;
    use crate::dtype::DType;
    use crate::memory::{test_words, RawRegion};
    use crate::seqlock::region_len;

    fn t(v: u64) -> LockToken {
        LockToken::new(v).unwrap()
    }

    #[test]
    fn the_word_lives_in_the_reserved_bytes_and_starts_free() {
        let words = test_words(region_len(8).unwrap());
        let array = SeqArray::create(RawRegion::new(&words), DType::U8, &[8], 1, 0).unwrap();
        assert!((160..192).contains(&ARRAY_LOCK_WORD));
        assert_eq!(array.array_lock().holder(), None);
        array.array_lock().try_take(t(5)).unwrap();
        assert_eq!(array.memory().load(ARRAY_LOCK_WORD, Ordering::Relaxed), 5);
        // The lock is not the writer lock: writes go on while it is held.
        array
            .write_bytes(0, &[1], crate::seqlock::WriteStamp::default(), crate::Spins(0))
            .unwrap();
        assert_eq!(array.array_lock().holder(), Some(t(5)));
    }

    #[test]
    fn a_take_over_names_the_exact_dead_token() {
        let words = test_words(region_len(8).unwrap());
        let array = SeqArray::create(RawRegion::new(&words), DType::U8, &[8], 1, 0).unwrap();
        let lock = array.array_lock();
        assert_eq!(
            lock.take_over(t(9), t(1)),
            Err(None),
            "nothing to take over from a free lock"
        );
        lock.try_take(t(9)).unwrap();
        assert_eq!(
            lock.try_acquire(t(9), |_| true),
            Err(t(9)),
            "never judges its own token"
        );
        assert_eq!(lock.try_acquire(t(1), |d| d == t(9)), Ok(()));
        assert_eq!(
            lock.release(t(9)),
            Err(Some(t(1))),
            "the dead holder's release changes nothing"
        );
        assert_eq!(lock.take_over(t(9), t(2)), Err(Some(t(1))));
        lock.release(t(1)).unwrap();
        assert_eq!(lock.release(t(1)), Err(None));
    }
}
