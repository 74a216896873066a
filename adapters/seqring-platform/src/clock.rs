//! The one wall clock, and the deadline-based [`Patience`] for every bounded wait in the std layer.
//!
//! [`Deadline`] spins a fixed number of times before it reads the clock at all, so a wait that ends quickly (the
//! common case: a reader that met a writer mid-write) costs no clock read; only after the spin phase does it check
//! [`Instant::now`] against its deadline, yielding the CPU between checks.

use seqring_core::Patience;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

/// Nanoseconds since the UNIX epoch (0 if the clock is set before 1970; saturating in the year 2554).
///
/// # Examples
/// ```
/// let a = seqring_platform::clock::now_ns();
/// assert!(a > 1_600_000_000_000_000_000);
/// assert!(seqring_platform::clock::now_ns() >= a);
/// ```
pub fn now_ns() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| u64::try_from(d.as_nanos()).unwrap_or(u64::MAX))
}

/// Nanoseconds since the UNIX epoch from the OS's coarse clock where it has one: as cheap as a few loads (about
/// 10 ns, against 45–60 ns for [`now_ns`] on a virtual machine), with the resolution of the kernel tick. Used for
/// the write times of shared arrays, which are read as ages.
///
/// - Linux: `CLOCK_REALTIME_COARSE` (1–4 ms resolution);
/// - Windows: `GetSystemTimeAsFileTime` (the interrupt tick, about 1–16 ms);
/// - macOS and others: [`now_ns`] (macOS has no coarse wall clock; its precise one is a user-space read).
///
/// # Examples
/// ```
/// let coarse = seqring_platform::clock::now_ns_coarse();
/// let precise = seqring_platform::clock::now_ns();
/// assert!(coarse.abs_diff(precise) < 1_000_000_000);
/// ```
#[inline]
#[cfg(target_os = "linux")]
pub fn now_ns_coarse() -> u64 {
    let mut t = libc::timespec { tv_sec: 0, tv_nsec: 0 };
    // SAFETY: `t` is a valid, writable timespec for the call; CLOCK_REALTIME_COARSE exists on every Linux since
    // 2.6.32. On failure `t` stays zero and the time reads as the epoch.
    unsafe { libc::clock_gettime(libc::CLOCK_REALTIME_COARSE, &mut t) };
    u64::try_from(t.tv_sec)
        .unwrap_or(0)
        .saturating_mul(1_000_000_000)
        .saturating_add(u64::try_from(t.tv_nsec).unwrap_or(0))
}

/// See the Linux version.
#[inline]
#[cfg(windows)]
pub fn now_ns_coarse() -> u64 {
    // 100 ns intervals between 1601-01-01 and 1970-01-01.
    const UNIX_EPOCH_AS_FILETIME: u64 = 116_444_736_000_000_000;
    let mut t = windows_sys::Win32::Foundation::FILETIME {
        dwLowDateTime: 0,
        dwHighDateTime: 0,
    };
    // SAFETY: `t` is a valid, writable FILETIME for the call, which only stores the current time into it.
    unsafe { windows_sys::Win32::System::SystemInformation::GetSystemTimeAsFileTime(&mut t) };
    let ticks = (u64::from(t.dwHighDateTime) << 32) | u64::from(t.dwLowDateTime);
    ticks.saturating_sub(UNIX_EPOCH_AS_FILETIME).saturating_mul(100)
}

/// See the Linux version.
#[inline]
#[cfg(not(any(target_os = "linux", windows)))]
pub fn now_ns_coarse() -> u64 {
    now_ns()
}

/// Microseconds since the UNIX epoch (the unit of ataraxis onsets and tracker times).
///
/// # Examples
/// ```
/// assert!(seqring_platform::clock::now_us() > 1_600_000_000_000_000);
/// ```
pub fn now_us() -> u64 {
    now_ns() / 1_000
}

/// The time elapsed since `ns` (ns since the UNIX epoch), zero if `ns` lies in the future.
pub fn since_ns(ns: u64) -> Duration {
    Duration::from_nanos(now_ns().saturating_sub(ns))
}

/// How many attempts a [`Deadline`] spins before it first reads the clock.
pub const SPINS_BEFORE_CLOCK: u32 = 256;

/// A [`Patience`] that spins [`SPINS_BEFORE_CLOCK`] times, then yields until `timeout` has passed since the spin
/// phase ended.
///
/// # Examples
/// ```
/// use seqring_platform::clock::Deadline;
/// use seqring_core::Patience;
/// use std::time::Duration;
/// let mut p = Deadline::new(Duration::ZERO);
/// let mut attempts = 0;
/// while p.keep_waiting() {
///     attempts += 1;
/// }
/// assert!(attempts >= 256);
/// ```
#[derive(Clone, Copy, Debug)]
pub struct Deadline {
    timeout: Duration,
    spins: u32,
    until: Option<Instant>,
}

impl Deadline {
    /// Gives up once `timeout` has passed after the spin phase.
    pub const fn new(timeout: Duration) -> Self {
        Deadline {
            timeout,
            spins: SPINS_BEFORE_CLOCK,
            until: None,
        }
    }
}

impl Patience for Deadline {
    #[inline]
    fn keep_waiting(&mut self) -> bool {
        if self.spins > 0 {
            self.spins -= 1;
            std::hint::spin_loop();
            return true;
        }
        let now = Instant::now();
        let until = *self.until.get_or_insert_with(|| now + self.timeout);
        if now >= until {
            return false;
        }
        std::thread::yield_now();
        true
    }
}
