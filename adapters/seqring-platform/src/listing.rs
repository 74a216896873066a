//! The region tools behind `seqring shm`: list the seqring regions in [`SHM_DIR`], probe one, remove one, and tell
//! whether a creator or writer pid is alive.

use super::mapping::remove_shm;
use super::{Region, RegionError, RegionName, SHM_DIR};
use seqring_core::header::{self as layout, HeaderError as LayoutError, RegionInfo, RegionKind};
use seqring_core::Memory;
use std::sync::atomic::Ordering;

/// One seqring region found in [`SHM_DIR`].
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

/// Lists the seqring regions in [`SHM_DIR`], sorted by name: every object with a valid name whose first word is
/// seqring's magic. Objects of other programs are skipped; objects this user may not open are listed with a
/// [`RegionError::PermissionDenied`] header when their magic cannot be read.
///
/// # Errors
/// [`RegionError::Io`] if [`SHM_DIR`] cannot be read.
pub fn list_regions() -> Result<Vec<RegionEntry>, RegionError> {
    let dir = std::fs::read_dir(SHM_DIR).map_err(|e| RegionError::from_io(SHM_DIR, "list", e))?;
    let mut entries = Vec::new();
    for item in dir.flatten() {
        let Some(name) = item.file_name().to_str().map(str::to_string) else {
            continue;
        };
        let Ok(meta) = item.metadata() else { continue };
        if !meta.is_file() || RegionName::new(name.as_str()).is_err() || meta.len() < 8 {
            continue;
        }
        let header = match Region::open_shm(&name) {
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
            size: meta.len(),
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
    let path = RegionName::new(name)?.shm_path();
    let mut file = std::fs::File::open(&path).map_err(|e| RegionError::from_io(name, "open", e))?;
    let mut magic = [0u8; 8];
    match std::io::Read::read_exact(&mut file, &mut magic) {
        Ok(()) => Ok(u64::from_le_bytes(magic) == layout::MAGIC),
        Err(e) if e.kind() == std::io::ErrorKind::UnexpectedEof => Ok(false),
        Err(e) => Err(RegionError::from_io(name, "read", e)),
    }
}

/// Removes (unlinks) the shared-memory region `name`. Processes that have it mapped keep their mapping.
///
/// # Errors
/// [`RegionError::InvalidName`], [`RegionError::NotFound`], [`RegionError::PermissionDenied`].
pub fn remove_region(name: &str) -> Result<(), RegionError> {
    remove_shm(&RegionName::new(name)?)
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
