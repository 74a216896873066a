//! Blocking on a word of shared memory until it changes, across processes: the one OS wait primitive behind
//! `SharedArray::wait_changed`.
//!
//! - [`wait`] blocks the calling thread while `word` holds `expected`, until a [`wake_all`] on the same word (from
//!   any process that maps it), the timeout, or a spurious return; callers always look at the word again.
//! - [`wake_all`] wakes every thread blocked on `word` in any process.
//!
//! What each platform does:
//! - **Linux**: a futex on the word's low 32 bits (`FUTEX_WAIT` / `FUTEX_WAKE` without `FUTEX_PRIVATE_FLAG`, so the
//!   kernel keys the wait by the shared page, not by this process's address space). The kernel compares the low
//!   half with `expected` and queues the thread atomically against `FUTEX_WAKE`, so a change stored before the wake
//!   call is never missed. A change confined to the high half (2^32 increments between the caller's load and its
//!   wait) is not seen by the comparison; the writer's wake still ends the wait. The thread uses no CPU while
//!   blocked.
//! - **Windows**: `WaitOnAddress` only wakes threads of the waking process, so it cannot serve a word shared
//!   between processes. [`wait`] sleeps instead, at most [`FALLBACK_NAP`] (1 ms) per call, and [`wake_all`] does
//!   nothing: a waiter notices a change within about 1 ms (plus the timer's resolution) and costs one wake-up per
//!   nap while it waits.
//! - **macOS**: `os_sync_wait_on_address` with `OS_SYNC_WAIT_ON_ADDRESS_SHARED` exists only from macOS 14.4 and the
//!   older `__ulock_wait` is private, so macOS uses the same bounded sleep as Windows.
//!
//! Invariant: Rust code only ever accesses the word as the whole `AtomicU64` it is; the 32-bit view exists only in
//! the kernel's futex comparison, outside the Rust memory model like any other process's access to the mapping.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

/// The longest a [`wait`] sleeps per call where the platform has no cross-process wait (Windows, macOS).
pub const FALLBACK_NAP: Duration = Duration::from_millis(1);

/// Whether [`wait`] blocks until woken on this platform (a futex) rather than sleeping [`FALLBACK_NAP`].
pub const BLOCKS: bool = cfg!(target_os = "linux");

/// Blocks while `word` holds `expected`, for at most `timeout` (`None`: until woken), and returns without saying
/// why: the word changed, a [`wake_all`] came, the time ran out, a signal arrived, or (without a futex) a nap
/// ended. Callers look at the word again and decide.
///
/// # Examples
/// ```
/// use std::sync::atomic::{AtomicU64, Ordering};
/// use std::time::Duration;
/// use seqring_platform::address_wait;
/// let word = AtomicU64::new(4);
/// address_wait::wait(&word, 5, None); // not 5: returns at once
/// address_wait::wait(&word, 4, Some(Duration::from_millis(5))); // returns by the timeout at the latest
/// std::thread::scope(|s| {
///     s.spawn(|| {
///         while word.load(Ordering::Acquire) == 4 {
///             address_wait::wait(&word, 4, Some(Duration::from_secs(5)));
///         }
///     });
///     word.store(6, Ordering::Release);
///     address_wait::wake_all(&word);
/// });
/// ```
pub fn wait(word: &AtomicU64, expected: u64, timeout: Option<Duration>) {
    // Relaxed: a quick exit only; the caller re-reads the word with its own ordering.
    if word.load(Ordering::Relaxed) != expected {
        return;
    }
    imp::wait(word, expected, timeout);
}

/// Wakes every thread, in any process, blocked in [`wait`] on `word`. Call it after storing the change.
///
/// # Examples
/// ```
/// use std::sync::atomic::AtomicU64;
/// let word = AtomicU64::new(0);
/// seqring_platform::address_wait::wake_all(&word); // no one waits: returns at once
/// ```
pub fn wake_all(word: &AtomicU64) {
    imp::wake_all(word);
}

#[cfg(target_os = "linux")]
mod imp {
    use std::sync::atomic::AtomicU64;
    use std::time::Duration;

    /// The address of the word's low 32 bits.
    fn low_half(word: &AtomicU64) -> *const u32 {
        let base = word.as_ptr().cast::<u32>().cast_const();
        if cfg!(target_endian = "little") {
            base
        } else {
            base.wrapping_add(1)
        }
    }

    pub(super) fn wait(word: &AtomicU64, expected: u64, timeout: Option<Duration>) {
        let ts = timeout.map(|t| libc::timespec {
            tv_sec: t.as_secs().min(libc::time_t::MAX as u64) as libc::time_t,
            tv_nsec: t.subsec_nanos() as libc::c_long,
        });
        let ts_ptr = ts.as_ref().map_or(std::ptr::null(), |t| t as *const libc::timespec);
        // SAFETY: `low_half` points at 4 aligned bytes inside `word`, which the borrow keeps mapped for the call;
        // the kernel only reads them (atomically, for the comparison) and keys the wait on the page. `ts_ptr` is
        // null or points at `ts`, alive until the call returns. FUTEX_WAIT ignores the last two arguments. Every
        // result (0, EAGAIN: the word differs; ETIMEDOUT; EINTR) means "look again", so it is not inspected.
        unsafe {
            libc::syscall(
                libc::SYS_futex,
                low_half(word),
                libc::FUTEX_WAIT,
                expected as u32,
                ts_ptr,
                std::ptr::null::<u32>(),
                0u32,
            );
        }
    }

    pub(super) fn wake_all(word: &AtomicU64) {
        // SAFETY: as in `wait`; FUTEX_WAKE only uses the address as a key and wakes up to `i32::MAX` waiters; the
        // timeout, second address and value arguments are ignored.
        unsafe {
            libc::syscall(
                libc::SYS_futex,
                low_half(word),
                libc::FUTEX_WAKE,
                i32::MAX,
                std::ptr::null::<libc::timespec>(),
                std::ptr::null::<u32>(),
                0u32,
            );
        }
    }
}

#[cfg(not(target_os = "linux"))]
mod imp {
    use super::FALLBACK_NAP;
    use std::sync::atomic::AtomicU64;
    use std::time::Duration;

    pub(super) fn wait(_word: &AtomicU64, _expected: u64, timeout: Option<Duration>) {
        std::thread::sleep(timeout.map_or(FALLBACK_NAP, |t| t.min(FALLBACK_NAP)));
    }

    pub(super) fn wake_all(_word: &AtomicU64) {}
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::AtomicBool;

    #[test]
    fn a_wake_ends_a_wait_without_timeout() {
        let word = AtomicU64::new(0);
        let started = AtomicBool::new(false);
        std::thread::scope(|s| {
            s.spawn(|| {
                started.store(true, Ordering::Release);
                while word.load(Ordering::Acquire) == 0 {
                    wait(&word, 0, None);
                }
            });
            while !started.load(Ordering::Acquire) {
                std::thread::yield_now();
            }
            word.store(1, Ordering::Release);
            wake_all(&word);
        });
    }

    #[test]
    fn a_timeout_returns_and_a_changed_word_returns_at_once() {
        let word = AtomicU64::new(7);
        wait(&word, 7, Some(Duration::from_millis(2)));
        // Only the high half differs: the quick check sees it even where the kernel compares 32 bits.
        wait(&word, 7 | 1 << 40, None);
    }
}
