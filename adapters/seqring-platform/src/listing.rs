//! The region tools behind `seqring shm`: list the seqring regions in [`regions_dir`], probe one, remove one, and
//! tell whether a creator or writer pid is alive.
//!
//! Listing by platform: Linux lists `/dev/shm`; Windows lists the region files in [`regions_dir`]; macOS, which
//! cannot enumerate shm objects, lists its registry: one small entry per region in [`regions_dir`] (the OS id and
//! the exact length), written when the region is created and removed with it. An entry whose object no longer
//! exists (removed by another tool, or lost at a reboot) is deleted when it is listed.

use super::mapping::remove_shm;
use super::{regions_dir, Region, RegionError, RegionName};
use seqring_core::header::{self as layout, HeaderError as LayoutError, RegionInfo, RegionKind};
use seqring_core::Memory;
use std::sync::atomic::Ordering;

/// One seqring region found in [`regions_dir`].
#[derive(Debug)]
pub struct RegionEntry {
    /// The region's name.
    pub name: String,
    /// Its size in bytes.
    pub size: u64,
    /// Its validated header (kind, state, creator pid, creation time), or why it is not valid.
    pub header: Result<RegionInfo, RegionError>,
    /// Whether the creator's pid is a live process (`None` when the header is invalid or the pid is 0).
    pub creator_alive: Option<bool>,
}

impl RegionEntry {
    /// Whether the region looks abandoned: its header is valid but its creator is dead.
    pub fn is_stale(&self) -> bool {
        self.creator_alive == Some(false)
    }
}

/// Whether `pid` names a live process (one this process may or may not signal). Pid 0 and pids beyond the OS
/// range are not alive. A recycled pid reads as alive: this is a hint for tools and error messages.
///
/// # Examples
/// ```
/// assert!(seqring_platform::pid_alive(u64::from(std::process::id())));
/// assert!(!seqring_platform::pid_alive(0));
/// ```
pub fn pid_alive(pid: u64) -> bool {
    #[cfg(unix)]
    {
        let Ok(pid) = libc::pid_t::try_from(pid) else {
            return false;
        };
        if pid <= 0 {
            return false;
        }
        // SAFETY: signal 0 performs only the existence and permission checks; no signal is sent.
        if unsafe { libc::kill(pid, 0) } == 0 {
            return true;
        }
        std::io::Error::last_os_error().raw_os_error() == Some(libc::EPERM)
    }
    #[cfg(windows)]
    {
        use windows_sys::Win32::Foundation::{CloseHandle, GetLastError, ERROR_ACCESS_DENIED, STILL_ACTIVE};
        use windows_sys::Win32::System::Threading::{
            GetExitCodeProcess, OpenProcess, PROCESS_QUERY_LIMITED_INFORMATION,
        };
        let Ok(pid) = u32::try_from(pid) else {
            return false;
        };
        if pid == 0 {
            return false;
        }
        // SAFETY: OpenProcess takes plain values and returns a handle we own, or null on failure.
        let handle = unsafe { OpenProcess(PROCESS_QUERY_LIMITED_INFORMATION, 0, pid) };
        if handle.is_null() {
            // A process of another user (or a protected one) exists but may not be queried.
            // SAFETY: reads this thread's last-error value; no arguments.
            return unsafe { GetLastError() } == ERROR_ACCESS_DENIED;
        }
        let mut code = 0u32;
        // SAFETY: `handle` is the live process handle opened above with the query right; `code` is a valid,
        // writable u32 for the call.
        let ok = unsafe { GetExitCodeProcess(handle, &mut code) } != 0;
        // SAFETY: `handle` was opened above, is closed exactly once here and not used afterwards.
        unsafe { CloseHandle(handle) };
        // A process that really exited with code 259 (STILL_ACTIVE) reads as alive: a hint, as documented.
        ok && code == STILL_ACTIVE as u32
    }
}

/// Reads the header of the region `name` and finds its kind, without waiting and without changing anything.
///
/// # Errors
/// As [`Region::open_shm`]; [`RegionError::BadLayout`] for a foreign or corrupt header, [`RegionError::TooNew`],
/// [`RegionError::NotReady`] while its creator is still writing the header.
///
/// # Examples
/// ```
/// use seqring_platform::{self as region, CreateOptions, Region};
/// use seqring_core::header::{init_header, publish_ready, RegionKind};
/// let name = format!("doc-probe-{}", std::process::id());
/// let r = Region::create_shm(&name, 4096, CreateOptions::default())?;
/// init_header(&r, RegionKind::Ring, 42, 7).unwrap();
/// publish_ready(&r);
/// let info = region::probe_region(&name)?;
/// assert_eq!((info.kind, info.creator_pid, info.len), (RegionKind::Ring, 42, 4096));
/// # Ok::<(), region::RegionError>(())
/// ```
pub fn probe_region(name: &str) -> Result<RegionInfo, RegionError> {
    let region = Region::open_shm(name)?;
    probe(&region)
}

/// Validates a mapped region's header for whichever kind it holds.
///
/// A region may be longer than its header says when a kind-specific block follows the part the header describes
/// (a logger region: its ring, then the logger's source table); the header is then validated over that prefix.
pub(crate) fn probe(region: &Region) -> Result<RegionInfo, RegionError> {
    let err = |e| RegionError::from_layout(region.name(), e);
    let words = region.raw().words();
    let validate_any = |mem: &seqring_core::RawRegion<'_>| match layout::validate(mem, RegionKind::Array) {
        Err(LayoutError::WrongKind { found, .. }) if found == RegionKind::Ring as u32 => {
            layout::validate(mem, RegionKind::Ring)
        }
        other => other,
    };
    match validate_any(&region.raw()) {
        Err(LayoutError::LengthMismatch { header, mapped })
            if header < mapped && header.is_multiple_of(8) && header >= layout::HEADER_LEN as u64 =>
        {
            let prefix = seqring_core::RawRegion::new(&words[..(header / 8) as usize]);
            validate_any(&prefix).map_err(err)
        }
        other => other.map_err(err),
    }
}

/// Lists the seqring regions in [`regions_dir`], sorted by name: every object with a valid name whose first word
/// is seqring's magic. Objects of other programs are skipped; objects this user may not open are listed with a
/// [`RegionError::PermissionDenied`] header when their magic cannot be read.
///
/// # Errors
/// [`RegionError::Io`] if [`regions_dir`] cannot be read (on Windows and macOS a missing directory just means no
/// region was created yet).
pub fn list_regions() -> Result<Vec<RegionEntry>, RegionError> {
    let dir_path = regions_dir();
    let label = dir_path.display().to_string();
    let dir = match std::fs::read_dir(&dir_path) {
        Ok(dir) => dir,
        Err(e) if cfg!(not(target_os = "linux")) && e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(RegionError::from_io(&label, "list", e)),
    };
    let mut entries = Vec::new();
    for item in dir.flatten() {
        let Some(name) = item.file_name().to_str().map(str::to_string) else {
            continue;
        };
        let Ok(meta) = item.metadata() else { continue };
        if !meta.is_file() || RegionName::new(name.as_str()).is_err() {
            continue;
        }
        #[cfg(not(target_os = "macos"))]
        let size = meta.len();
        #[cfg(target_os = "macos")]
        let size = registered_len(&RegionName::new(name.as_str())?).unwrap_or(0) as u64;
        if size < 8 {
            continue;
        }
        let header = match Region::open_shm(&name) {
            #[cfg(target_os = "macos")]
            Err(RegionError::NotFound { .. }) => {
                // The registry's liveness check: the object is gone, so is its entry.
                let _ = std::fs::remove_file(item.path());
                continue;
            }
            Ok(region) => {
                // Relaxed: a probe of the magic only; `probe` validates with the header protocol's ordering.
                if region.load(0, Ordering::Relaxed) != layout::MAGIC {
                    continue;
                }
                probe(&region)
            }
            Err(e @ RegionError::PermissionDenied { .. }) => Err(e),
            Err(_) => continue,
        };
        let creator_alive = match &header {
            Ok(info) if info.creator_pid != 0 => Some(pid_alive(info.creator_pid)),
            _ => None,
        };
        entries.push(RegionEntry {
            name,
            size,
            header,
            creator_alive,
        });
    }
    entries.sort_by(|a, b| a.name.cmp(&b.name));
    Ok(entries)
}

/// Whether the shared-memory object `name` starts with seqring's region magic (`SEQRING\0`), that is, whether it
/// is a seqring region (possibly a damaged one) rather than another program's object. Reads 8 bytes; maps nothing.
///
/// # Errors
/// [`RegionError::InvalidName`], [`RegionError::NotFound`], [`RegionError::PermissionDenied`],
/// [`RegionError::Io`].
///
/// # Examples
/// ```
/// use seqring_platform::{self as region, CreateOptions, Region};
/// use seqring_core::header::{init_header, publish_ready, RegionKind};
/// let name = format!("doc-magic-{}", std::process::id());
/// let r = Region::create_shm(&name, 4096, CreateOptions::default())?;
/// assert!(!region::has_seqring_header(&name)?); // zero-filled: no header yet
/// init_header(&r, RegionKind::Array, 42, 7).unwrap();
/// publish_ready(&r);
/// assert!(region::has_seqring_header(&name)?);
/// # Ok::<(), region::RegionError>(())
/// ```
pub fn has_seqring_header(name: &str) -> Result<bool, RegionError> {
    #[cfg(target_os = "macos")]
    {
        // No path to read on macOS: map it (a region too short for a word has no header).
        match Region::open_shm(name) {
            // Relaxed: a probe of the magic only.
            Ok(region) => Ok(region.len() >= 8 && region.load(0, Ordering::Relaxed) == layout::MAGIC),
            Err(RegionError::NotReady { .. }) => Ok(false),
            Err(e) => Err(e),
        }
    }
    #[cfg(not(target_os = "macos"))]
    {
        let path = RegionName::new(name)?.shm_path();
        let mut file = std::fs::File::open(&path).map_err(|e| RegionError::from_io(name, "open", e))?;
        let mut magic = [0u8; 8];
        match std::io::Read::read_exact(&mut file, &mut magic) {
            Ok(()) => Ok(u64::from_le_bytes(magic) == layout::MAGIC),
            Err(e) if e.kind() == std::io::ErrorKind::UnexpectedEof => Ok(false),
            Err(e) => Err(RegionError::from_io(name, "read", e)),
        }
    }
}

/// Removes (unlinks) the shared-memory region `name`. Processes that have it mapped keep their mapping; nobody new
/// can open it, and the name is free for a new region at once.
///
/// # Errors
/// [`RegionError::InvalidName`], [`RegionError::NotFound`], [`RegionError::PermissionDenied`].
pub fn remove_region(name: &str) -> Result<(), RegionError> {
    remove_shm(&RegionName::new(name)?)
}

/// The macOS registry entry of `name`: `<os id>\n<exact length>\n`.
#[cfg(target_os = "macos")]
pub(crate) fn register(name: &RegionName, os_id: &str, len: usize) -> std::io::Result<()> {
    let dir = regions_dir();
    std::fs::create_dir_all(&dir)?;
    crate::replace_file_atomically(dir.join(name.as_str()), |w| writeln!(w, "{os_id}\n{len}")).map_err(|e| e.source)
}

/// The exact length recorded in `name`'s registry entry, if it has a readable one.
#[cfg(target_os = "macos")]
pub(crate) fn registered_len(name: &RegionName) -> Option<usize> {
    let text = std::fs::read_to_string(name.shm_path()).ok()?;
    let mut lines = text.lines();
    if lines.next()? != name.os_id() {
        return None;
    }
    lines.next()?.trim().parse().ok()
}

/// Deletes `name`'s registry entry (best effort: a missing entry is fine).
#[cfg(target_os = "macos")]
pub(crate) fn unregister(name: &RegionName) {
    let _ = std::fs::remove_file(name.shm_path());
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::CreateOptions;

    #[test]
    fn lists_probes_and_removes_seqring_regions_only() {
        let ours = format!("seqring-unit-list-{}", std::process::id());
        let foreign = format!("seqring-unit-foreign-{}", std::process::id());
        let r = Region::create_shm(&ours, 4096, CreateOptions::default()).unwrap();
        layout::init_header(&r, RegionKind::Array, u64::from(std::process::id()), 5).unwrap();
        layout::publish_ready(&r);
        let f = Region::create_shm(&foreign, 64, CreateOptions::default()).unwrap();
        f.store(0, 0xdead_beef, Ordering::Relaxed);
        let list = list_regions().unwrap();
        let entry = list.iter().find(|e| e.name == ours).expect("our region is listed");
        let info = entry.header.as_ref().unwrap();
        assert_eq!(
            (info.kind, entry.size, entry.creator_alive),
            (RegionKind::Array, 4096, Some(true))
        );
        assert!(!entry.is_stale());
        assert!(list.iter().all(|e| e.name != foreign), "foreign objects are skipped");
        assert!(matches!(probe_region(&foreign), Err(RegionError::BadLayout { .. })));
        remove_region(&ours).unwrap();
        assert!(matches!(remove_region(&ours), Err(RegionError::NotFound { .. })));
        assert!(matches!(remove_region("../x"), Err(RegionError::InvalidName { .. })));
        let mut r = r;
        r.set_remove_on_drop(false);
    }
}
