//! macOS: compare-and-block on the word's low 32 bits, shared between processes, through
//! `os_sync_wait_on_address` (macOS 14.4, public) or else `__ulock_wait` (macOS 10.12, private), both looked up once
//! with `dlsym`. See the parent module for the choice.

use super::{nap, whole_units, SharedWord};
use std::ffi::{c_int, c_void, CStr};
use std::sync::OnceLock;
use std::time::Duration;

/// `os_sync_wait_on_address(addr, value, size, flags)`.
type OsSyncWait = unsafe extern "C" fn(*mut c_void, u64, libc::size_t, libc::os_sync_wait_on_address_flags_t) -> c_int;
/// `os_sync_wait_on_address_with_timeout(addr, value, size, flags, clockid, timeout_ns)`.
type OsSyncWaitTimeout = unsafe extern "C" fn(
    *mut c_void,
    u64,
    libc::size_t,
    libc::os_sync_wait_on_address_flags_t,
    libc::os_clockid_t,
    u64,
) -> c_int;
/// `os_sync_wake_by_address_all(addr, size, flags)`.
type OsSyncWake = unsafe extern "C" fn(*mut c_void, libc::size_t, libc::os_sync_wake_by_address_flags_t) -> c_int;
/// `__ulock_wait(operation, addr, value, timeout_us)` (`timeout_us` 0: no bound).
type UlockWait = unsafe extern "C" fn(u32, *mut c_void, u64, u32) -> c_int;
/// `__ulock_wake(operation, addr, wake_value)`.
type UlockWake = unsafe extern "C" fn(u32, *mut c_void, u64) -> c_int;

/// From XNU's `sys/ulock.h`: compare 32 bits, keyed by the shared page (not the address space).
const UL_COMPARE_AND_WAIT_SHARED: u32 = 3;
/// Wake every waiter, not one.
const ULF_WAKE_ALL: u32 = 0x100;
/// Return `-errno` instead of setting `errno` (the result is not inspected either way).
const ULF_NO_ERRNO: u32 = 0x0100_0000;
/// The compared size in bytes: the word's low half, as on Linux.
const SIZE: libc::size_t = 4;

/// The calls this system has, found once.
enum Api {
    OsSync {
        wait: OsSyncWait,
        wait_timeout: OsSyncWaitTimeout,
        wake_all: OsSyncWake,
    },
    Ulock {
        wait: UlockWait,
        wake: UlockWake,
    },
    Nap,
}

fn api() -> &'static Api {
    static API: OnceLock<Api> = OnceLock::new();
    API.get_or_init(resolve)
}

/// The address of `name` in the loaded images, if any exports it.
fn symbol(name: &CStr) -> Option<*mut c_void> {
    // SAFETY: RTLD_DEFAULT searches every image loaded in the process; `name` is a NUL-terminated string that
    // outlives the call and dlsym only reads it.
    let found = unsafe { libc::dlsym(libc::RTLD_DEFAULT, name.as_ptr()) };
    (!found.is_null()).then_some(found)
}

fn resolve() -> Api {
    if let (Some(wait), Some(wait_timeout), Some(wake_all)) = (
        symbol(c"os_sync_wait_on_address"),
        symbol(c"os_sync_wait_on_address_with_timeout"),
        symbol(c"os_sync_wake_by_address_all"),
    ) {
        // SAFETY: these are libSystem's functions of <os/os_sync_wait_on_address.h> (macOS 14.4), whose C
        // prototypes the three types transcribe (the same as the `libc` crate's declarations); a function address
        // and a function pointer have the same size and representation on Apple platforms.
        return unsafe {
            Api::OsSync {
                wait: std::mem::transmute::<*mut c_void, OsSyncWait>(wait),
                wait_timeout: std::mem::transmute::<*mut c_void, OsSyncWaitTimeout>(wait_timeout),
                wake_all: std::mem::transmute::<*mut c_void, OsSyncWake>(wake_all),
            }
        };
    }
    if let (Some(wait), Some(wake)) = (symbol(c"__ulock_wait"), symbol(c"__ulock_wake")) {
        // SAFETY: these are libsystem_kernel's `__ulock_wait` and `__ulock_wake` (XNU's `sys/ulock.h`, exported since
        // macOS 10.12), whose C prototypes the two types transcribe; function address and pointer as above.
        return unsafe {
            Api::Ulock {
                wait: std::mem::transmute::<*mut c_void, UlockWait>(wait),
                wake: std::mem::transmute::<*mut c_void, UlockWake>(wake),
            }
        };
    }
    Api::Nap
}

pub(super) fn wait(word: &SharedWord<'_>, expected: u64, timeout: Option<Duration>) {
    let addr = word.low_half().cast_mut().cast::<c_void>();
    let value = u64::from(expected as u32);
    match api() {
        Api::OsSync { wait, wait_timeout, .. } => match whole_units(timeout, Duration::from_nanos(1), u64::MAX) {
            // SAFETY: `addr` points at 4 aligned bytes inside the word, which the borrow keeps mapped for the call;
            // the kernel only reads them (atomically, for the comparison) and, with the SHARED flag, keys the wait
            // on the mapped object and offset so that other processes' wakes find it. Every result (0; -1 with
            // EINTR, EFAULT or ETIMEDOUT) means "look again", so it is not inspected.
            None => unsafe {
                wait(addr, value, SIZE, libc::OS_SYNC_WAIT_ON_ADDRESS_SHARED);
            },
            // SAFETY: as above; the timeout is relative, in nanoseconds, and not zero (the caller returned for a
            // zero timeout), as the call requires with OS_CLOCK_MACH_ABSOLUTE_TIME.
            Some(ns) => unsafe {
                wait_timeout(
                    addr,
                    value,
                    SIZE,
                    libc::OS_SYNC_WAIT_ON_ADDRESS_SHARED,
                    libc::OS_CLOCK_MACH_ABSOLUTE_TIME,
                    ns,
                );
            },
        },
        Api::Ulock { wait, .. } => {
            // Whole microseconds, at least 1 (0 would mean no bound), at most u32::MAX (71 minutes: then the caller
            // looks again and waits anew).
            let us = whole_units(timeout, Duration::from_micros(1), u64::from(u32::MAX)).map_or(0, |us| us as u32);
            // SAFETY: as for `os_sync_wait_on_address`: `addr` is 4 aligned, mapped bytes that the kernel only reads;
            // UL_COMPARE_AND_WAIT_SHARED compares 32 bits and keys the wait on the shared page. The result is not
            // inspected (every outcome means "look again").
            unsafe {
                wait(UL_COMPARE_AND_WAIT_SHARED | ULF_NO_ERRNO, addr, value, us);
            }
        }
        Api::Nap => nap(timeout),
    }
}

/// Wakes every waiter of the word, whatever value it waited on (`old` is not needed: the kernel compared it).
pub(super) fn wake(word: &SharedWord<'_>, _old: u64) {
    let addr = word.low_half().cast_mut().cast::<c_void>();
    match api() {
        // SAFETY: `addr` is only a key here (4 aligned bytes of a live mapping, as in `wait`); the SHARED flag
        // matches the waits' so the wake finds other processes' waiters.
        Api::OsSync { wake_all, .. } => unsafe {
            wake_all(addr, SIZE, libc::OS_SYNC_WAKE_BY_ADDRESS_SHARED);
        },
        // SAFETY: as above, with the operation the waits used; ULF_WAKE_ALL wakes every one; the wake value is
        // unused without ULF_WAKE_THREAD.
        Api::Ulock { wake, .. } => unsafe {
            wake(UL_COMPARE_AND_WAIT_SHARED | ULF_WAKE_ALL | ULF_NO_ERRNO, addr, 0);
        },
        Api::Nap => {}
    }
}
