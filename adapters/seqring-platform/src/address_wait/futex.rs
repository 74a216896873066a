//! Linux: a futex on the word's low 32 bits, shared (no `FUTEX_PRIVATE_FLAG`). See the parent module.

use super::SharedWord;
use std::time::Duration;

pub(super) fn wait(word: &SharedWord<'_>, expected: u64, timeout: Option<Duration>) {
    let ts = timeout.map(|t| libc::timespec {
        tv_sec: t.as_secs().min(libc::time_t::MAX as u64) as libc::time_t,
        tv_nsec: t.subsec_nanos() as libc::c_long,
    });
    let ts_ptr = ts.as_ref().map_or(std::ptr::null(), |t| t as *const libc::timespec);
    // SAFETY: `low_half` points at 4 aligned bytes inside the word, which the borrow keeps mapped for the call; the
    // kernel only reads them (atomically, for the comparison) and keys the wait on the page. `ts_ptr` is null or
    // points at `ts`, alive until the call returns. FUTEX_WAIT ignores the last two arguments. Every result (0,
    // EAGAIN: the word differs; ETIMEDOUT; EINTR) means "look again", so it is not inspected.
    unsafe {
        libc::syscall(
            libc::SYS_futex,
            word.low_half(),
            libc::FUTEX_WAIT,
            expected as u32,
            ts_ptr,
            std::ptr::null::<u32>(),
            0u32,
        );
    }
}

/// Wakes every waiter of the word, whatever value it waited on (`old` is not needed: the kernel compared it).
pub(super) fn wake(word: &SharedWord<'_>, _old: u64) {
    // SAFETY: as in `wait`; FUTEX_WAKE only uses the address as a key and wakes up to `i32::MAX` waiters; the
    // timeout, second address and value arguments are ignored.
    unsafe {
        libc::syscall(
            libc::SYS_futex,
            word.low_half(),
            libc::FUTEX_WAKE,
            i32::MAX,
            std::ptr::null::<libc::timespec>(),
            std::ptr::null::<u32>(),
            0u32,
        );
    }
}
