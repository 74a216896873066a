//! Blocking on a word of shared memory until it changes, across processes: the one OS wait primitive behind
//! `SharedArray::wait_changed` and the log tail.
//!
//! The interface is one type, [`SharedWord`]: a word of a [`Region`](crate::Region) (from
//! [`Region::shared_word`](crate::Region::shared_word) or [`Window::shared_word`](crate::Window::shared_word)),
//! which carries what names the word outside this process.
//! - [`SharedWord::wait`] blocks the calling thread while the word holds `expected`, until a [`SharedWord::wake`]
//!   of that value (from any process that maps the region), the timeout, or a spurious return; callers always
//!   look at the word again.
//! - [`SharedWord::wake`] is called by whoever changed the word, after its store, with the value the word held
//!   before (`old`): it wakes every thread, in any process, blocked while the word held `old`. The core calls it
//!   through [`Memory::wake`](seqring_core::Memory::wake), and only when its protocol counted a waiter, so a
//!   writer with no one waiting pays nothing here.
//!
//! What each platform does:
//! - **Linux**: a futex on the word's low 32 bits (`FUTEX_WAIT` / `FUTEX_WAKE` without `FUTEX_PRIVATE_FLAG`, so the
//!   kernel keys the wait by the shared page, not by this process's address space). The kernel compares the low
//!   half with `expected` and queues the thread atomically against `FUTEX_WAKE`, so a change stored before the wake
//!   call is never missed. A change confined to the high half (2^32 increments between the caller's load and its
//!   wait) is not seen by the comparison; the writer's wake still ends the wait. `old` is not needed.
//! - **macOS** (`ulock`): the same compare-and-block on the low 32 bits, shared between processes (the kernel keys
//!   it by the page's VM object and offset). `os_sync_wait_on_address` / `os_sync_wake_by_address_all` with
//!   `OS_SYNC_WAIT_ON_ADDRESS_SHARED`, the public API since macOS 14.4, when the running system has it (looked up
//!   once with `dlsym`, so a binary built here still starts on older systems); otherwise `__ulock_wait` /
//!   `__ulock_wake` with `UL_COMPARE_AND_WAIT_SHARED`, present since macOS 10.12 (older than any macOS Rust
//!   supports), which is what the public call wraps and what libc++'s `std::atomic::wait` and Rust's own std use
//!   before 14.4. It is private API, hence looked up with `dlsym` too: a system without either (none is known)
//!   naps as below instead of failing to start. Why not the nap everywhere on macOS: it costs a wake-up per ms per
//!   waiter and adds up to a millisecond of latency, for want of a call every supported macOS has.
//! - **Windows** (`named_event`): `WaitOnAddress` only wakes threads of the waking process, so the wait is a named
//!   kernel event per *(region, word, value)*: a manual-reset event named `Local\seqring-wait-<file id>-<offset>-
//!   <value>`, where the file id (volume serial and file index of the region's file, the same in every process
//!   that maps it, whatever path it used) names the region. A waiter opens (or creates) the event of the value it
//!   waits to leave, looks at the word again, and only then blocks on the event; a waker opens the event of `old`
//!   (which exists only while someone waits on that value) and sets it. The event is a latch: once the word has
//!   left `old` it stays set, so a waiter that arrives late for that value returns at once, and it vanishes when
//!   the last handle to it closes. No wake is lost: the waker's store precedes its open; if its open found no
//!   event, the waiter's create came after it in the kernel's object namespace (one lock), so the waiter's second
//!   look sees the store; if it found the event, it sets it, and the set ends the wait whether it comes before or
//!   during it. Manual reset, because one set must release every waiter of the value (an auto-reset event releases
//!   one), and because a set that lands between a waiter's look and its wait must stay seen (`PulseEvent` would
//!   lose it). A writer with waiters pays an open, a set and a close; with none counted it pays nothing.
//!   Invariant this relies on: a value that the word left with a wake does not come back while a waiter of the
//!   earlier visit may still hold its event (the sequence and the written count only grow between wakes; a
//!   changeless write restores a value without a wake). Should it happen anyway, the waiter finds the latch set
//!   and the word unchanged, and naps [`FALLBACK_NAP`] instead of spinning. The events live in the session's
//!   namespace (`Local\`), so waiters and writers must share a logon session, and anyone in it can open them: a
//!   stranger can cause spurious returns, or, by taking a name first with a hostile ACL, make waits nap or last to
//!   their timeouts; neither loses data.
//! - **Elsewhere**, and where the above cannot be had (an event cannot be created, a file id cannot be read),
//!   [`SharedWord::wait`] sleeps at most [`FALLBACK_NAP`] per call: a waiter notices a change within about 1 ms and
//!   costs one wake-up per nap.
//!
//! Invariant: Rust code only ever accesses the word as the whole `AtomicU64` it is; the 32-bit view exists only in
//! the kernel's comparison (Linux, macOS), outside the Rust memory model like any other process's access to the
//! mapping.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

#[cfg(target_os = "linux")]
#[path = "address_wait/futex.rs"]
mod imp;
#[cfg(windows)]
#[path = "address_wait/named_event.rs"]
mod imp;
#[cfg(target_os = "macos")]
#[path = "address_wait/ulock.rs"]
mod imp;

/// The longest a [`SharedWord::wait`] sleeps per call where the platform gives no cross-process wait.
pub const FALLBACK_NAP: Duration = Duration::from_millis(1);

/// Whether [`SharedWord::wait`] blocks until woken on this platform (Linux, macOS, Windows) rather than sleeping
/// [`FALLBACK_NAP`].
pub const BLOCKS: bool = cfg!(any(target_os = "linux", target_os = "macos", windows));

/// What names a region outside this process, for the platforms whose wait needs a name (Windows: the region
/// file's volume serial and file index; `None` when they could not be read, and then waits nap). Empty
/// elsewhere.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) struct RegionKey {
    #[cfg(windows)]
    pub(crate) file_id: Option<(u32, u64)>,
}

impl RegionKey {
    /// The key of the region mapped from `file`.
    #[cfg_attr(not(windows), allow(unused_variables))]
    pub(crate) fn of_file(file: &std::fs::File) -> RegionKey {
        RegionKey {
            #[cfg(windows)]
            file_id: imp::file_id(file),
        }
    }
}

/// A word of a shared region that threads of any process mapping the region can block on until it changes: see the
/// module documentation.
///
/// # Examples
/// ```
/// use std::sync::atomic::Ordering;
/// use std::time::Duration;
/// use seqring_platform::{CreateOptions, Region};
/// # let name = format!("doc-shared-word-{}", std::process::id());
/// let region = Region::create_shm(&name, 64, CreateOptions::default())?;
/// let word = region.shared_word(8);
/// word.word().store(4, Ordering::Relaxed);
/// word.wait(5, None); // not 5: returns at once
/// word.wait(4, Some(Duration::from_millis(5))); // returns by the timeout at the latest
/// std::thread::scope(|s| {
///     s.spawn(|| {
///         while word.word().load(Ordering::Acquire) == 4 {
///             word.wait(4, Some(Duration::from_secs(5)));
///         }
///     });
///     word.word().store(6, Ordering::Release);
///     word.wake(4); // the value it left
/// });
/// # Ok::<(), seqring_platform::RegionError>(())
/// ```
#[derive(Clone, Copy, Debug)]
pub struct SharedWord<'a> {
    word: &'a AtomicU64,
    /// The region's name outside this process and the word's byte offset in it (used on Windows only).
    #[cfg_attr(not(windows), allow(dead_code))]
    key: RegionKey,
    #[cfg_attr(not(windows), allow(dead_code))]
    offset: usize,
}

impl<'a> SharedWord<'a> {
    /// `word`, at byte `offset` of the region named by `key`.
    pub(crate) fn new(word: &'a AtomicU64, key: RegionKey, offset: usize) -> Self {
        SharedWord { word, key, offset }
    }

    /// The word itself.
    ///
    /// # Examples
    /// See [`SharedWord`].
    pub fn word(&self) -> &'a AtomicU64 {
        self.word
    }

    /// Blocks while the word holds `expected`, for at most `timeout` (`None`: until woken), and returns without
    /// saying why: the word changed, a [`wake`](Self::wake) came, the time ran out, a signal arrived, or (without
    /// a blocking wait) a nap ended. Callers look at the word again and decide.
    ///
    /// # Examples
    /// See [`SharedWord`].
    pub fn wait(&self, expected: u64, timeout: Option<Duration>) {
        // Relaxed: a quick exit only; the caller re-reads the word with its own ordering.
        if self.word.load(Ordering::Relaxed) != expected || timeout.is_some_and(|t| t.is_zero()) {
            return;
        }
        #[cfg(any(target_os = "linux", target_os = "macos", windows))]
        imp::wait(self, expected, timeout);
        #[cfg(not(any(target_os = "linux", target_os = "macos", windows)))]
        nap(timeout);
    }

    /// Wakes every thread, in any process, blocked in [`wait`](Self::wait) on this word while it held `old`. Call
    /// it after storing the change, with the value the word held before it.
    ///
    /// # Examples
    /// ```
    /// use seqring_platform::{CreateOptions, Region};
    /// # let name = format!("doc-shared-word-wake-{}", std::process::id());
    /// let region = Region::create_shm(&name, 64, CreateOptions::default())?;
    /// region.shared_word(0).wake(0); // no one waits: returns at once
    /// # Ok::<(), seqring_platform::RegionError>(())
    /// ```
    pub fn wake(&self, old: u64) {
        #[cfg(any(target_os = "linux", target_os = "macos", windows))]
        imp::wake(self, old);
        #[cfg(not(any(target_os = "linux", target_os = "macos", windows)))]
        let _ = old;
    }

    /// The address of the word's low 32 bits (what a futex or ulock compares).
    #[cfg(any(target_os = "linux", target_os = "macos"))]
    fn low_half(&self) -> *const u32 {
        let base = self.word.as_ptr().cast::<u32>().cast_const();
        if cfg!(target_endian = "little") {
            base
        } else {
            base.wrapping_add(1)
        }
    }
}

/// The fallback wait: a sleep of at most [`FALLBACK_NAP`], less if the timeout is shorter.
#[cfg_attr(target_os = "linux", allow(dead_code))]
fn nap(timeout: Option<Duration>) {
    std::thread::sleep(timeout.map_or(FALLBACK_NAP, |t| t.min(FALLBACK_NAP)));
}

/// `timeout` in whole `unit`s, rounded up (a wait never ends early for rounding), at most `max`; `None` stays
/// `None` (no bound).
#[cfg_attr(target_os = "linux", allow(dead_code))]
fn whole_units(timeout: Option<Duration>, unit: Duration, max: u64) -> Option<u64> {
    timeout.map(|t| u64::try_from(t.as_nanos().div_ceil(unit.as_nanos())).map_or(max, |n| n.min(max)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{CreateOptions, Region};
    use std::sync::atomic::AtomicBool;

    fn region(tag: &str) -> Region {
        let name = format!("seqring-unit-wait-{tag}-{}", std::process::id());
        Region::create_shm(&name, 64, CreateOptions::default().replace(true)).unwrap()
    }

    #[test]
    fn a_wake_ends_a_wait_without_timeout() {
        let region = region("wake");
        let word = region.shared_word(16);
        let started = AtomicBool::new(false);
        std::thread::scope(|s| {
            s.spawn(|| {
                started.store(true, Ordering::Release);
                while word.word().load(Ordering::Acquire) == 0 {
                    word.wait(0, None);
                }
            });
            while !started.load(Ordering::Acquire) {
                std::thread::yield_now();
            }
            word.word().store(1, Ordering::Release);
            word.wake(0);
        });
    }

    #[test]
    fn one_wake_releases_every_waiter_of_the_value() {
        let region = region("many");
        let word = region.shared_word(8);
        let registered = AtomicU64::new(0);
        std::thread::scope(|s| {
            for _ in 0..4 {
                s.spawn(|| {
                    registered.fetch_add(1, Ordering::AcqRel);
                    while word.word().load(Ordering::Acquire) == 10 {
                        word.wait(10, None);
                    }
                });
            }
            while registered.load(Ordering::Acquire) < 4 {
                std::thread::yield_now();
            }
            // Each value in turn is left with a wake, as the seqlock's writes do; the waiters may be blocked on any.
            for v in 10..20 {
                word.word().store(v + 1, Ordering::Release);
                word.wake(v);
            }
        });
    }

    #[test]
    fn a_timeout_returns_and_a_changed_word_returns_at_once() {
        let region = region("timeout");
        let word = region.shared_word(0);
        word.word().store(7, Ordering::Relaxed);
        word.wait(7, Some(Duration::from_millis(2)));
        word.wait(7, Some(Duration::ZERO));
        // Only the high half differs: the quick check sees it even where the kernel compares 32 bits.
        word.wait(7 | 1 << 40, None);
        // A wake of a value no one waits on (the latch of 7 is gone with its last waiter).
        word.wake(7);
        word.wait(7, Some(Duration::from_millis(2)));
    }

    #[test]
    fn whole_units_round_up_and_cap() {
        let ms = Duration::from_millis(1);
        assert_eq!(whole_units(None, ms, 9), None);
        assert_eq!(whole_units(Some(Duration::from_micros(1)), ms, 9), Some(1));
        assert_eq!(whole_units(Some(Duration::from_millis(3)), ms, 9), Some(3));
        assert_eq!(whole_units(Some(Duration::from_secs(1)), ms, 9), Some(9));
        assert_eq!(
            whole_units(Some(Duration::MAX), Duration::from_nanos(1), u64::MAX),
            Some(u64::MAX)
        );
    }
}
