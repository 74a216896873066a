//! The one wall clock, the fast monotonic clock of the log call ([`mono_ns`]), and the deadline-based [`Patience`]
//! for every bounded wait in the std layer.
//!
//! [`Deadline`] spins a fixed number of times before it reads the clock at all, so a wait that ends quickly (the
//! common case: a reader that met a writer mid-write) costs no clock read; only after the spin phase does it check
//! [`Instant::now`] against its deadline, yielding the CPU between checks.

use seqring_core::Patience;
use std::cell::Cell;
use std::sync::OnceLock;
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

/// The CPU time this process has used so far, user and system, all threads: what tests of blocking waits measure
/// (an idle waiter's process should use next to none). `getrusage(RUSAGE_SELF)` on Unix, `GetProcessTimes` on
/// Windows; the resolution is the OS's accounting (often the scheduler tick). Zero if the OS does not say.
///
/// # Examples
/// ```
/// let before = seqring_platform::clock::process_cpu_time();
/// let mut x = 0u64;
/// for i in 0..1_000_000u64 {
///     x = std::hint::black_box(x.wrapping_add(i));
/// }
/// assert!(seqring_platform::clock::process_cpu_time() >= before);
/// ```
pub fn process_cpu_time() -> Duration {
    #[cfg(unix)]
    {
        let mut usage = std::mem::MaybeUninit::<libc::rusage>::zeroed();
        // SAFETY: `usage` is valid, writable memory for one `rusage`, which the call fills; zeroed, so it is a valid
        // value even where the call fails.
        let ok = unsafe { libc::getrusage(libc::RUSAGE_SELF, usage.as_mut_ptr()) } == 0;
        // SAFETY: zero-initialised plain data (or filled by the kernel): every bit pattern is a valid `rusage`.
        let usage = unsafe { usage.assume_init() };
        let time = |t: libc::timeval| {
            Duration::from_secs(u64::try_from(t.tv_sec).unwrap_or(0))
                + Duration::from_micros(u64::try_from(t.tv_usec).unwrap_or(0))
        };
        if ok {
            time(usage.ru_utime) + time(usage.ru_stime)
        } else {
            Duration::ZERO
        }
    }
    #[cfg(windows)]
    {
        use windows_sys::Win32::Foundation::FILETIME;
        let mut times = [FILETIME::default(); 4];
        let [created, exited, kernel, user] = &mut times;
        // SAFETY: the pseudo-handle of the current process is always valid; the four pointers are distinct,
        // writable FILETIMEs that outlive the call.
        let ok = unsafe {
            windows_sys::Win32::System::Threading::GetProcessTimes(
                windows_sys::Win32::System::Threading::GetCurrentProcess(),
                created,
                exited,
                kernel,
                user,
            )
        } != 0;
        // 100 ns units.
        let ticks = |t: &FILETIME| u64::from(t.dwHighDateTime) << 32 | u64::from(t.dwLowDateTime);
        if ok {
            Duration::from_nanos((ticks(kernel) + ticks(user)).saturating_mul(100))
        } else {
            Duration::ZERO
        }
    }
    #[cfg(not(any(unix, windows)))]
    {
        Duration::ZERO
    }
}

/// The time elapsed since `ns` (ns since the UNIX epoch), zero if `ns` lies in the future.
pub fn since_ns(ns: u64) -> Duration {
    Duration::from_nanos(now_ns().saturating_sub(ns))
}

/// How long a thread extrapolates [`mono_ns`] from the CPU's counter before it anchors it to the OS clock again.
pub const REANCHOR_NS: u64 = 1_000_000;

/// The process's monotonic clock: the OS's (the anchor of every thread) and the CPU's counter, with its calibration.
struct Mono {
    /// The moment [`mono_ns`] counts from.
    epoch: Instant,
    /// The CPU's time-stamp counter scaled by `quanta`, or the OS's monotonic clock where there is no invariant one.
    ticks: quanta::Clock,
}

fn mono() -> &'static Mono {
    static MONO: OnceLock<Mono> = OnceLock::new();
    MONO.get_or_init(|| Mono {
        epoch: Instant::now(),
        ticks: quanta::Clock::new(),
    })
}

thread_local! {
    /// This thread's anchor: a counter reading and the [`mono_ns`] it stood for (`u64::MAX` ticks: none yet), and
    /// the last [`mono_ns`] returned, below which no later call on this thread goes.
    static ANCHOR: Cell<(u64, u64, u64)> = const { Cell::new((u64::MAX, 0, 0)) };
}

/// Nanoseconds since a moment fixed for the process, from the CPU's counter: the clock of the log call.
///
/// The OS's monotonic clock costs 50–60 ns a read on a virtual machine (`clock_gettime` through the vDSO and the
/// hypervisor's clock page); the CPU's counter, scaled, about half that. [`quanta`] reads the counter where it
/// ticks at a constant rate (an invariant TSC on x86-64, the system counter on aarch64), calibrated against the OS
/// clock once per process (0.5–200 ms, at the first call), and the OS's monotonic clock elsewhere (then this is only
/// as fast as [`Instant::now`]).
///
/// A calibrated counter drifts from the OS clock by its calibration error (up to hundreds of parts per million when
/// the calibration ran on a loaded machine). So each thread anchors the counter to [`Instant::now`] again every
/// [`REANCHOR_NS`] (one slow read per ms), which bounds the difference from the OS clock to well under 1 µs; and a
/// thread never sees the clock go back, across the re-anchoring included (a reading is at least the last one this
/// thread saw).
///
/// Invariants: per thread, readings never decrease; every reading is within about 1 µs of `Instant::now() - epoch`
/// for the process's one epoch (the first call): an anchor pairs an OS reading with counter readings taken just
/// before and after it, and is taken again if a preemption came between them.
///
/// # Examples
/// ```
/// use seqring_platform::clock::mono_ns;
/// use std::time::{Duration, Instant};
/// let (a, start) = (mono_ns(), Instant::now());
/// std::thread::sleep(Duration::from_millis(20));
/// let (b, elapsed) = (mono_ns(), start.elapsed());
/// // within 1 ms of the OS's clock over the sleep (a generous bound for a loaded machine)
/// assert!((b - a).abs_diff(elapsed.as_nanos() as u64) < 1_000_000, "{} vs {elapsed:?}", b - a);
/// ```
#[inline]
pub fn mono_ns() -> u64 {
    let m = mono();
    let now = m.ticks.raw();
    ANCHOR.with(|cell| {
        let (ticks, at_ns, last) = cell.get();
        // `delta_as_nanos` is 0 for a reading before the anchor (another core's counter a little behind).
        let since = if ticks == u64::MAX {
            u64::MAX
        } else {
            m.ticks.delta_as_nanos(ticks, now)
        };
        if since < REANCHOR_NS {
            let reading = (at_ns + since).max(last);
            cell.set((ticks, at_ns, reading));
            return reading;
        }
        reanchor(m, cell, now, last)
    })
}

/// How far apart (in ns) the counter readings around an anchor's OS reading may be.
const ANCHOR_WINDOW_NS: u64 = 2_000;

/// Anchors this thread's counter to the OS clock; returns the reading for now, never below `last`.
#[cold]
fn reanchor(m: &Mono, cell: &Cell<(u64, u64, u64)>, mut before: u64, last: u64) -> u64 {
    let mut tries = 0;
    loop {
        let at_ns = u64::try_from(m.epoch.elapsed().as_nanos()).unwrap_or(u64::MAX);
        let after = m.ticks.raw();
        tries += 1;
        // A preemption between the readings would misplace the anchor by its length: read again (a few times at
        // most; then the pair is used as it is, and the next anchor, a ms later, corrects it).
        if m.ticks.delta_as_nanos(before, after) <= ANCHOR_WINDOW_NS || tries == 4 {
            let reading = at_ns.max(last);
            cell.set((after, at_ns, reading));
            return reading;
        }
        before = m.ticks.raw();
    }
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

#[cfg(test)]
mod tests {
    use super::*;

    /// Every reading lies between two readings of the OS's clock taken around it (within the calibration bound),
    /// and readings on one thread never decrease, over many re-anchorings, on several threads at once.
    #[test]
    fn mono_ns_stays_between_the_os_readings_around_it_and_never_decreases() {
        const SLACK_NS: u64 = 2_000;
        let threads: Vec<_> = (0..3)
            .map(|_| {
                std::thread::spawn(|| {
                    let epoch = mono().epoch;
                    let os = || u64::try_from(epoch.elapsed().as_nanos()).unwrap();
                    let (mut last, mut calls) = (0u64, 0u64);
                    let start = Instant::now();
                    while start.elapsed() < Duration::from_millis(150) {
                        let before = os();
                        let m = mono_ns();
                        let after = os();
                        assert!(m >= last, "went back: {m} after {last}");
                        assert!(
                            m + SLACK_NS >= before && m <= after + SLACK_NS,
                            "{m} outside [{before}, {after}] by more than {SLACK_NS} ns"
                        );
                        last = m;
                        calls += 1;
                    }
                    calls
                })
            })
            .collect();
        for t in threads {
            assert!(t.join().unwrap() > 1_000);
        }
    }
}
