//! The array lock for read-modify-writes across processes: [`SharedArray::lock`](super::SharedArray::lock) and
//! [`ArrayLockGuard`], over the core's [`ArrayLock`] word in the array's own region.
//!
//! Every write is atomic without it (the seqlock's writer lock); the array lock is for a caller that reads,
//! computes and writes back, and must not interleave with another such caller (`seqring.compat`'s
//! `arr[i] = v` and `array(with_lock=True)` take it, as ataraxis takes its `multiprocessing.Lock`). It is advisory:
//! reads and writes never look at it.
//!
//! Invariants:
//! - a holder's token is `pid << 32 | n` with `n` from a per-process counter ([`new_token`]): unique among live
//!   holders, and naming the process, so a waiter can tell a dead holder (SIGKILL, crash) and take the lock over
//!   ([`holder_dead`], the OS's pid liveness; a recycled pid reads as alive, which only delays the takeover);
//! - a guard releases on drop, and only its own token (a guard taken over meanwhile, because its process was judged
//!   dead, releases nothing);
//! - the lock is a word of the array's region: it exists exactly as long as the array (nothing left behind);
//! - waits spin, yield, then sleep from 20 µs doubling to 1 ms, and end at the caller's timeout with
//!   [`SharedArrayError::LockTimeout`].

use super::error::pid_of;
use super::handle::Handle;
use super::SharedArrayError;
use seqring_core::seqlock::{ArrayLock, LockToken};
use seqring_platform::Region;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, Instant};

/// Attempts that spin before the wait reads the clock.
const SPINS: u32 = 64;
/// Attempts that yield before the wait sleeps.
const YIELDS: u32 = 16;
/// The first sleep.
const FIRST_SLEEP: Duration = Duration::from_micros(20);
/// The longest sleep.
const MAX_SLEEP: Duration = Duration::from_millis(1);

/// The per-process part of the tokens (never 0).
static NEXT: AtomicU32 = AtomicU32::new(1);

/// A fresh lock token of this process: `pid << 32 | n`, unique within the process (the counter wraps after 2³²
/// tokens, skipping 0).
///
/// # Examples
/// ```
/// use seqring::shared_array::lock::new_token;
/// let (a, b) = (new_token(), new_token());
/// assert_ne!(a, b);
/// assert_eq!(a.get() >> 32, u64::from(std::process::id()));
/// ```
pub fn new_token() -> LockToken {
    let pid = u64::from(std::process::id());
    loop {
        // Relaxed: only uniqueness matters, which the read-modify-write gives.
        let n = NEXT.fetch_add(1, Ordering::Relaxed);
        if n != 0 {
            if let Some(token) = LockToken::new((pid << 32) | u64::from(n)) {
                return token;
            }
        }
    }
}

/// Whether the process a holder's token names is gone (the liveness verdict [`ArrayLock::take_over`] needs).
///
/// # Examples
/// ```
/// use seqring::shared_array::lock::{holder_dead, new_token};
/// assert!(!holder_dead(new_token()), "this process is alive");
/// ```
pub fn holder_dead(holder: LockToken) -> bool {
    !seqring_platform::pid_alive(holder.get() >> 32)
}

/// The array lock, held: dropping it releases the lock. Borrowed from its array, so it cannot outlive the mapping;
/// not `Send`, as a `MutexGuard`, since the lock belongs to the thread's read-modify-write.
///
/// # Examples
/// ```
/// use seqring::shared_array::SharedArray;
/// let name = format!("doc-lock-guard-{}", std::process::id());
/// let a = SharedArray::<u64>::create(&name, &[1])?;
/// {
///     let _held = a.lock()?;
///     let n = a.get(&[0])?;
///     a.set(&[0], n + 1)?; // no other lock holder interleaves
///     assert!(a.try_lock()?.is_none(), "held");
/// }
/// assert!(a.try_lock()?.is_some(), "released on drop");
/// # Ok::<(), seqring::shared_array::SharedArrayError>(())
/// ```
#[derive(Debug)]
#[must_use = "the lock is released when the guard drops"]
pub struct ArrayLockGuard<'a> {
    lock: ArrayLock<'a, Region>,
    token: LockToken,
    _not_send: std::marker::PhantomData<*const ()>,
}

impl ArrayLockGuard<'_> {
    /// The token this guard holds the lock with (`pid << 32 | n`).
    ///
    /// # Examples
    /// ```
    /// use seqring::shared_array::SharedArray;
    /// let name = format!("doc-lock-token-{}", std::process::id());
    /// let a = SharedArray::<u8>::create(&name, &[1])?;
    /// let held = a.lock()?;
    /// assert_eq!(held.token().get() >> 32, u64::from(std::process::id()));
    /// assert_eq!(a.lock_holder(), Some(std::process::id()));
    /// # Ok::<(), seqring::shared_array::SharedArrayError>(())
    /// ```
    pub fn token(&self) -> LockToken {
        self.token
    }
}

impl Drop for ArrayLockGuard<'_> {
    fn drop(&mut self) {
        // Fails, changing nothing, only when this holder was taken over (judged dead): the lock is another's then.
        let _ = self.lock.release(self.token);
    }
}

impl Handle {
    /// The array lock's word.
    pub(crate) fn array_lock(&self) -> ArrayLock<'_, Region> {
        self.array.array_lock()
    }

    /// One attempt: takes the lock if it is free or its holder's process is dead.
    pub(crate) fn try_lock(&self) -> Option<ArrayLockGuard<'_>> {
        let lock = self.array_lock();
        let token = new_token();
        lock.try_acquire(token, holder_dead).ok().map(|()| ArrayLockGuard {
            lock,
            token,
            _not_send: std::marker::PhantomData,
        })
    }

    /// Takes the lock, waiting at most `timeout` (see the module documentation).
    pub(crate) fn lock(&self, timeout: Duration) -> Result<ArrayLockGuard<'_>, SharedArrayError> {
        let lock = self.array_lock();
        let token = new_token();
        let mut attempts = 0u32;
        let mut until: Option<Option<Instant>> = None;
        let mut sleep = FIRST_SLEEP;
        loop {
            let holder = match lock.try_acquire(token, holder_dead) {
                Ok(()) => {
                    return Ok(ArrayLockGuard {
                        lock,
                        token,
                        _not_send: std::marker::PhantomData,
                    })
                }
                Err(holder) => holder,
            };
            attempts += 1;
            if attempts < SPINS {
                std::hint::spin_loop();
                continue;
            }
            let now = Instant::now();
            // `None`: a timeout too long to represent, which never ends.
            let until = *until.get_or_insert_with(|| now.checked_add(timeout));
            if until.is_some_and(|u| now >= u) {
                return Err(SharedArrayError::LockTimeout {
                    name: self.name().to_string(),
                    holder_pid: pid_of(holder.get()),
                });
            }
            if attempts < SPINS + YIELDS {
                std::thread::yield_now();
            } else {
                std::thread::sleep(until.map_or(sleep, |u| sleep.min(u - now)));
                sleep = (sleep * 2).min(MAX_SLEEP);
            }
        }
    }

    /// The pid of the lock's holder, or `None` if it is free.
    pub(crate) fn lock_holder(&self) -> Option<u32> {
        self.array_lock().holder().map(|t| pid_of(t.get()))
    }
}
