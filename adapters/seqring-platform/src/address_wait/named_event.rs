//! Windows: a named manual-reset event per (region, word, value), a latch that a waker sets once the word has left
//! the value. See the parent module for the protocol and why no wake is lost.

use super::{nap, whole_units, SharedWord};
use std::os::windows::io::AsRawHandle;
use std::sync::atomic::Ordering;
use std::time::Duration;
use windows_sys::Win32::Foundation::{CloseHandle, HANDLE, WAIT_OBJECT_0};
use windows_sys::Win32::Storage::FileSystem::{GetFileInformationByHandle, BY_HANDLE_FILE_INFORMATION};
use windows_sys::Win32::System::Threading::{
    CreateEventW, OpenEventW, SetEvent, WaitForSingleObject, EVENT_MODIFY_STATE, INFINITE,
};

/// The volume serial number and file index of `file`: the same for every handle of the file in every process,
/// whatever path opened it (`None` if the file system does not say).
pub(crate) fn file_id(file: &std::fs::File) -> Option<(u32, u64)> {
    let mut info = BY_HANDLE_FILE_INFORMATION::default();
    // SAFETY: the handle is `file`'s, open for the call's duration; `info` is a valid, writable structure of the
    // type the call fills.
    let ok = unsafe { GetFileInformationByHandle(file.as_raw_handle() as HANDLE, &mut info) };
    let index = u64::from(info.nFileIndexHigh) << 32 | u64::from(info.nFileIndexLow);
    (ok != 0 && index != 0).then_some((info.dwVolumeSerialNumber, index))
}

/// The NUL-terminated UTF-16 name of the event of `word` holding `value`, or `None` without a file id.
fn event_name(word: &SharedWord<'_>, value: u64) -> Option<Vec<u16>> {
    let (volume, index) = word.key.file_id?;
    let name = format!(
        "Local\\seqring-wait-{volume:08x}{index:016x}-{:x}-{value:x}",
        word.offset
    );
    Some(name.encode_utf16().chain([0]).collect())
}

/// An event handle, closed on drop (the event itself goes when its last handle in any process closes).
struct Event(HANDLE);

impl Drop for Event {
    fn drop(&mut self) {
        // SAFETY: the handle was opened by this value and is closed only here.
        unsafe { CloseHandle(self.0) };
    }
}

pub(super) fn wait(word: &SharedWord<'_>, expected: u64, timeout: Option<Duration>) {
    let Some(name) = event_name(word, expected) else {
        return nap(timeout);
    };
    // SAFETY: `name` is a NUL-terminated UTF-16 string alive for the call; null attributes give the default
    // security and a handle that is not inherited; manual reset (1), initially unset (0). An event of that name
    // that exists already is opened instead (its state kept). Null on failure, handled below.
    let handle = unsafe { CreateEventW(std::ptr::null(), 1, 0, name.as_ptr()) };
    if handle.is_null() {
        // The name is taken by another kind of object, or access is denied: no blocking wait for this one.
        return nap(timeout);
    }
    let event = Event(handle);
    // The second look, after the event exists. Acquire, as the caller's look. A waker whose open found no event
    // stored before it opened, and that open preceded the create above in the object namespace (the kernel's lock
    // orders the two calls), so this load sees its store: see the parent module.
    if word.word.load(Ordering::Acquire) != expected {
        return;
    }
    let ms = whole_units(timeout, Duration::from_millis(1), u64::from(INFINITE - 1)).map_or(INFINITE, |ms| ms as u32);
    // SAFETY: `event.0` is a live event handle opened with SYNCHRONIZE (CreateEventW grants all access).
    let woke = unsafe { WaitForSingleObject(event.0, ms) };
    // Relaxed: only chooses between returning and napping; the caller looks again with its own ordering.
    if woke == WAIT_OBJECT_0 && word.word.load(Ordering::Relaxed) == expected {
        // Set, yet the word holds the value: a latch from an earlier visit of the value that someone still holds,
        // or a stranger's set (see the parent module). Nap instead of finding it set again at once.
        nap(timeout);
    }
}

/// Sets the latch of `old`, if anyone waits on that value.
pub(super) fn wake(word: &SharedWord<'_>, old: u64) {
    let Some(name) = event_name(word, old) else {
        return;
    };
    // SAFETY: `name` is a NUL-terminated UTF-16 string alive for the call; EVENT_MODIFY_STATE is the right SetEvent
    // needs; not inherited. Null when there is no such event (no one waits on `old`) or access is denied: nothing
    // to wake then.
    let handle = unsafe { OpenEventW(EVENT_MODIFY_STATE, 0, name.as_ptr()) };
    if handle.is_null() {
        return;
    }
    let event = Event(handle);
    // SAFETY: `event.0` is a live event handle opened with EVENT_MODIFY_STATE. A failure leaves the waiters to
    // their timeouts; there is nothing better to do about it here.
    unsafe { SetEvent(event.0) };
}
