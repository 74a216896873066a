//! [`Region`]: one read/write shared mapping over OS shared memory or a file, as the core's [`Memory`].
//!
//! Shared memory by platform (see [`crate::regions_dir`] for names):
//! - **Linux, macOS**: a POSIX shared-memory object (`shm_open` + `mmap`, through the `shared_memory` crate). It
//!   lives until it is removed (unlinked), whoever has it mapped; mode `0600` unless asked otherwise. macOS reports
//!   an object's size rounded up to whole pages, so the exact length is kept in the region's registry entry.
//! - **Windows**: a file in [`crate::regions_dir`] (created with `FILE_ATTRIBUTE_TEMPORARY`, so the cache manager
//!   keeps it in memory) mapped shared by every process, the same file-backed section the `shared_memory` crate
//!   makes but without a named section object (which would outlive a removal while any old handle is open, and make
//!   a replacement fail). So a region lives until it is removed, as on Linux, and `persist` means the same thing;
//!   a region nobody removed survives a reboot as a stale file, which `seqring shm list` shows with a dead creator.
//!   Its access is the directory's default ACL (the user's own temporary directory: owner only); the Unix mode in
//!   [`CreateOptions`] does not apply.

use super::{RegionError, RegionName};
use crate::address_wait::{RegionKey, SharedWord};
use seqring_core::{Contiguous, RawRegion};
#[cfg(unix)]
use shared_memory::{Shmem, ShmemConf, ShmemError};
use std::fs::{self, OpenOptions};
use std::io;
use std::path::{Path, PathBuf};

/// How a region is created.
///
/// # Examples
/// ```
/// use seqring_platform::CreateOptions;
/// let o = CreateOptions::default();
/// assert_eq!(o.mode, 0o600);
/// let shared_with_group = CreateOptions::default().mode(0o660).replace(true);
/// assert!(shared_with_group.replace);
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct CreateOptions {
    /// The permission bits of the new region (default `0o600`: the creating user only). Unix only: on Windows a
    /// region gets its directory's default ACL.
    pub mode: u32,
    /// Remove an existing region of the same name first, instead of failing with
    /// [`RegionError::AlreadyExists`].
    pub replace: bool,
}

impl Default for CreateOptions {
    fn default() -> Self {
        CreateOptions {
            mode: 0o600,
            replace: false,
        }
    }
}

impl CreateOptions {
    /// Sets the permission bits (only the low 9 bits are used).
    pub fn mode(mut self, mode: u32) -> Self {
        self.mode = mode & 0o777;
        self
    }

    /// Sets whether an existing region of the same name is replaced.
    pub fn replace(mut self, replace: bool) -> Self {
        self.replace = replace;
        self
    }
}

enum Backing {
    /// POSIX shared memory (Linux, macOS).
    #[cfg(unix)]
    Shm { _shmem: Shmem, name: RegionName },
    /// The file behind a named region (Windows).
    #[cfg(windows)]
    ShmFile { _map: memmap2::MmapRaw, name: RegionName },
    /// A region the caller placed in a file of its choosing.
    File { _map: memmap2::MmapRaw, path: PathBuf },
}

/// A read/write shared mapping (POSIX shared memory or a file) that the core's protocols run over.
///
/// It implements [`Memory`](seqring_core::Memory) itself, so `SeqArray<Region>` or a ring over [`Region::raw`] use the mapping with no
/// copy and no indirection beyond a pointer and a length.
///
/// Dropping it unmaps the region; it also removes (unlinks) it if [`Region::set_remove_on_drop`] is on, which is
/// the default for the creator.
///
/// # Examples
/// ```
/// use seqring_platform::{CreateOptions, Region};
/// use seqring_core::Memory;
/// use std::sync::atomic::Ordering;
/// let name = format!("doc-region-{}", std::process::id());
/// let created = Region::create_shm(&name, 4096, CreateOptions::default())?;
/// let opened = Region::open_shm(&name)?;
/// created.store(64, 42, Ordering::Release);
/// assert_eq!(opened.load(64, Ordering::Acquire), 42);
/// assert_eq!(opened.len(), 4096);
/// drop(opened);
/// drop(created); // the creator removes it
/// assert!(matches!(Region::open_shm(&name), Err(seqring_platform::RegionError::NotFound { .. })));
/// # Ok::<(), seqring_platform::RegionError>(())
/// ```
pub struct Region {
    ptr: *mut u8,
    len: usize,
    label: String,
    remove_on_drop: bool,
    /// What names the region outside this process, for [`SharedWord`] waits.
    key: RegionKey,
    backing: Backing,
}

// SAFETY: `Region` owns its mapping, whose address never changes while it lives; every access to the mapped bytes
// goes through the core's atomic word operations (`RawRegion`), which are sound from any thread. The raw pointer
// is the only non-Send/Sync part, and it is never used for non-atomic access.
unsafe impl Send for Region {}
// SAFETY: as for `Send`: shared access is atomic only.
unsafe impl Sync for Region {}

impl std::fmt::Debug for Region {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Region")
            .field("name", &self.label)
            .field("len", &self.len)
            .field("remove_on_drop", &self.remove_on_drop)
            .finish()
    }
}

#[cfg(unix)]
fn shmem_error(name: &str, op: &'static str, e: ShmemError) -> RegionError {
    match e {
        ShmemError::MappingIdExists => RegionError::AlreadyExists { name: name.into() },
        ShmemError::MapCreateFailed(errno) | ShmemError::MapOpenFailed(errno) | ShmemError::UnknownOsError(errno) => {
            let errno = i32::try_from(errno).unwrap_or(libc::EINVAL);
            // An object of size 0 cannot be mapped: its creator has not sized it yet.
            if op == "open" && errno == libc::EINVAL {
                return RegionError::NotReady { name: name.into() };
            }
            RegionError::from_io(name, op, io::Error::from_raw_os_error(errno))
        }
        other => RegionError::from_io(name, op, io::Error::other(other.to_string())),
    }
}

impl Region {
    /// Creates the shared-memory region `name` (`/dev/shm/<name>` on Linux; see the module docs for the other
    /// platforms) of `len` bytes (rounded up to a multiple of 8), zero-filled, with `options.mode`.
    ///
    /// The new region is removed when the returned value drops, unless [`Region::set_remove_on_drop`] turns that
    /// off.
    ///
    /// # Errors
    /// [`RegionError::InvalidName`], [`RegionError::AlreadyExists`] (unless `options.replace`),
    /// [`RegionError::PermissionDenied`], or [`RegionError::Io`] (e.g. `len` is 0 or `/dev/shm` is full).
    pub fn create_shm(name: &str, len: usize, options: CreateOptions) -> Result<Region, RegionError> {
        let name = RegionName::new(name)?;
        let label = name.as_str().to_string();
        let len = word_len(&label, len)?;
        if options.replace {
            match remove_shm(&name) {
                Ok(()) | Err(RegionError::NotFound { .. }) => {}
                Err(e) => return Err(e),
            }
        }
        #[cfg(unix)]
        {
            let os_id = name.os_id();
            let mut shmem = ShmemConf::new()
                .os_id(&os_id)
                .size(len)
                .create()
                .map_err(|e| shmem_error(&label, "create", e))?;
            shmem.set_owner(false);
            // From here on, a failure drops `region`, which unlinks the object.
            let region = Region::from_shmem(shmem, name.clone(), true, len);
            if options.mode != 0o600 {
                // The crate creates with 0600; widen (or narrow) it.
                set_shm_mode(&os_id, options.mode).map_err(|e| RegionError::from_io(&label, "set the mode of", e))?;
            }
            #[cfg(target_os = "macos")]
            crate::listing::register(&name, &os_id, len).map_err(|e| RegionError::from_io(&label, "register", e))?;
            Ok(region)
        }
        #[cfg(windows)]
        {
            let dir = crate::regions_dir();
            fs::create_dir_all(&dir).map_err(|e| RegionError::from_io(&label, "create the directory of", e))?;
            sweep_removed(&dir);
            let map = create_mapped_file(&name.shm_path(), len, options.mode)
                .map_err(|e| RegionError::from_io(&label, "create", e))?;
            Ok(Region::from_map(map, label, true, |m| Backing::ShmFile {
                _map: m,
                name,
            }))
        }
    }

    /// Opens the existing shared-memory region `name` for reading and writing. Nothing is validated beyond the
    /// mapping's size: the caller validates the header for its kind (see [`seqring_core::header::validate`]).
    ///
    /// # Errors
    /// [`RegionError::InvalidName`], [`RegionError::NotFound`], [`RegionError::PermissionDenied`],
    /// [`RegionError::NotReady`] while the creator has not sized it, or [`RegionError::BadLayout`] when its size is
    /// not a whole number of 8-byte words.
    pub fn open_shm(name: &str) -> Result<Region, RegionError> {
        let name = RegionName::new(name)?;
        let label = name.as_str().to_string();
        #[cfg(unix)]
        let region = {
            let mut shmem = ShmemConf::new()
                .os_id(name.os_id())
                .open()
                .map_err(|e| shmem_error(&label, "open", e))?;
            shmem.set_owner(false);
            let len = shmem.len();
            // macOS rounds the object's size up to whole pages; its registry entry has the exact length.
            #[cfg(target_os = "macos")]
            let len = crate::listing::registered_len(&name)
                .filter(|&l| l > 0 && l <= len)
                .unwrap_or(len);
            Region::from_shmem(shmem, name, false, len)
        };
        #[cfg(windows)]
        let region = {
            let map = open_mapped_file(&name.shm_path(), &label)?;
            Region::from_map(map, label, false, |m| Backing::ShmFile { _map: m, name })
        };
        region.check_words()?;
        Ok(region)
    }

    /// Creates the file `path` of `len` bytes (rounded up to a multiple of 8), zero-filled, with `options.mode`,
    /// and maps it shared. Removed on drop like [`Region::create_shm`].
    ///
    /// # Errors
    /// [`RegionError::AlreadyExists`] (unless `options.replace`), [`RegionError::NotFound`] for a missing
    /// directory, [`RegionError::PermissionDenied`], [`RegionError::Io`].
    pub fn create_file(path: impl AsRef<Path>, len: usize, options: CreateOptions) -> Result<Region, RegionError> {
        let path = path.as_ref();
        let label = path.display().to_string();
        let len = word_len(&label, len)?;
        if options.replace {
            match fs::remove_file(path) {
                Err(e) if e.kind() != io::ErrorKind::NotFound => return Err(RegionError::from_io(&label, "remove", e)),
                _ => {}
            }
        }
        let map = create_mapped_file(path, len, options.mode).map_err(|e| RegionError::from_io(&label, "create", e))?;
        Ok(Region::from_map(map, label, true, |m| Backing::File {
            _map: m,
            path: path.to_path_buf(),
        }))
    }

    /// Opens and maps the existing file `path` for reading and writing.
    ///
    /// # Errors
    /// [`RegionError::NotFound`], [`RegionError::PermissionDenied`], [`RegionError::NotReady`] for an empty file,
    /// [`RegionError::BadLayout`] for a size that is not a whole number of words, [`RegionError::Io`].
    pub fn open_file(path: impl AsRef<Path>) -> Result<Region, RegionError> {
        let path = path.as_ref();
        let label = path.display().to_string();
        let map = open_mapped_file(path, &label)?;
        let region = Region::from_map(map, label, false, |m| Backing::File {
            _map: m,
            path: path.to_path_buf(),
        });
        region.check_words()?;
        Ok(region)
    }

    /// `len` is the region's exact length, at most the mapping's.
    #[cfg(unix)]
    fn from_shmem(shmem: Shmem, name: RegionName, remove_on_drop: bool, len: usize) -> Region {
        Region {
            ptr: shmem.as_ptr(),
            len: len.min(shmem.len()),
            label: name.as_str().to_string(),
            remove_on_drop,
            // The futex and ulock key shared waits by the page itself: no name needed.
            key: RegionKey::default(),
            backing: Backing::Shm { _shmem: shmem, name },
        }
    }

    fn from_map(
        (map, key): (memmap2::MmapRaw, RegionKey),
        label: String,
        remove_on_drop: bool,
        backing: impl FnOnce(memmap2::MmapRaw) -> Backing,
    ) -> Region {
        // Moving `map` into the backing does not move the mapping.
        let (ptr, len) = (map.as_mut_ptr(), map.len());
        Region {
            ptr,
            len,
            label,
            remove_on_drop,
            key,
            backing: backing(map),
        }
    }

    fn check_words(&self) -> Result<(), RegionError> {
        if !self.len.is_multiple_of(8) || !(self.ptr as usize).is_multiple_of(8) {
            return Err(RegionError::BadLayout {
                name: self.label.clone(),
                reason: seqring_core::header::HeaderError::Corrupt("region size is not a whole number of 8-byte words"),
            });
        }
        Ok(())
    }

    /// The region's name (shared memory) or path (file), as used in errors.
    pub fn name(&self) -> &str {
        &self.label
    }

    /// The mapped length in bytes.
    pub fn len(&self) -> usize {
        self.len
    }

    /// Whether the mapping is empty (never, for a region that opened).
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Whether dropping this value removes the region.
    pub fn removes_on_drop(&self) -> bool {
        self.remove_on_drop
    }

    /// Sets whether dropping this value removes the region (creators default to `true`, openers to `false`).
    pub fn set_remove_on_drop(&mut self, remove: bool) {
        self.remove_on_drop = remove;
    }

    /// Unmaps and removes the region now.
    ///
    /// # Errors
    /// [`RegionError::NotFound`] if someone removed it already, or another removal error.
    pub fn remove(mut self) -> Result<(), RegionError> {
        self.remove_on_drop = false;
        self.unlink()
    }

    fn unlink(&self) -> Result<(), RegionError> {
        match &self.backing {
            #[cfg(unix)]
            Backing::Shm { name, .. } => remove_shm(name),
            #[cfg(windows)]
            Backing::ShmFile { name, .. } => remove_shm(name),
            Backing::File { path, .. } => {
                fs::remove_file(path).map_err(|e| RegionError::from_io(&self.label, "remove", e))
            }
        }
    }

    /// The word at byte `offset`, as a [`SharedWord`]: threads of any process that maps the region can block on
    /// it until it changes ([`SharedWord::wait`]), and whoever changes it wakes them ([`SharedWord::wake`], which
    /// the core's [`Memory::wake`](seqring_core::Memory::wake) calls).
    ///
    /// # Panics
    /// If `offset` is not a multiple of 8 or not inside the region.
    ///
    /// # Examples
    /// ```
    /// use seqring_platform::{CreateOptions, Region};
    /// # let name = format!("doc-region-word-{}", std::process::id());
    /// let region = Region::create_shm(&name, 64, CreateOptions::default())?;
    /// let word = region.shared_word(56);
    /// assert!(std::ptr::eq(word.word(), &region.raw().words()[7]));
    /// # Ok::<(), seqring_platform::RegionError>(())
    /// ```
    pub fn shared_word(&self, offset: usize) -> SharedWord<'_> {
        assert!(offset.is_multiple_of(8), "unaligned word offset {offset}");
        SharedWord::new(&self.raw().words()[offset / 8], self.key, offset)
    }

    /// The mapping as the core's raw region, borrowed from `self`.
    #[inline]
    pub fn raw(&self) -> RawRegion<'_> {
        // SAFETY: `ptr` is the start of a live mapping of `len` bytes that stays mapped at this address while
        // `self` (and so the borrow) lives; it is page-aligned and `len` is a multiple of 8 (`check_words` on open,
        // rounding on create); the region's bytes are accessed only atomically, by this process through the core's
        // `Memory` operations and by other processes by the same rule (the module invariants).
        unsafe { RawRegion::from_raw_parts(self.ptr, self.len) }
    }
}

impl Drop for Region {
    fn drop(&mut self) {
        if self.remove_on_drop {
            // Best effort: someone else may have removed it already.
            let _ = self.unlink();
        }
        // The backing's own drop unmaps (and closes) after this.
    }
}

/// `len` rounded up to whole 8-byte words; 0 (or an overflow) is an error naming the region.
fn word_len(label: &str, len: usize) -> Result<usize, RegionError> {
    len.checked_next_multiple_of(8)
        .filter(|&l| l > 0)
        .ok_or_else(|| RegionError::from_io(label, "size", io::Error::from(io::ErrorKind::InvalidInput)))
}

/// Creates the new file `path` of `len` bytes (zero-filled) and maps it shared; on failure the file is removed.
/// `mode` is the exact Unix mode (the umask does not apply); on Windows the file is marked temporary instead.
/// Returns the map with the file's [`RegionKey`].
fn create_mapped_file(path: &Path, len: usize, mode: u32) -> io::Result<(memmap2::MmapRaw, RegionKey)> {
    let mut options = OpenOptions::new();
    options.read(true).write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, mode);
    #[cfg(windows)]
    {
        let _ = mode;
        std::os::windows::fs::OpenOptionsExt::attributes(
            &mut options,
            windows_sys::Win32::Storage::FileSystem::FILE_ATTRIBUTE_TEMPORARY,
        );
    }
    let file = options.open(path)?;
    let created = (|| {
        // open(2) applies the umask; set the exact mode asked for.
        #[cfg(unix)]
        file.set_permissions(std::os::unix::fs::PermissionsExt::from_mode(mode))?;
        file.set_len(len as u64)?;
        Ok((memmap2::MmapRaw::map_raw(&file)?, RegionKey::of_file(&file)))
    })();
    match created {
        Ok(map) => Ok(map),
        Err(e) => {
            drop(file);
            let _ = fs::remove_file(path);
            Err(e)
        }
    }
}

/// Opens and maps the existing file `path` for reading and writing, with the file's [`RegionKey`]; errors name
/// `label`.
fn open_mapped_file(path: &Path, label: &str) -> Result<(memmap2::MmapRaw, RegionKey), RegionError> {
    let file = OpenOptions::new()
        .read(true)
        .write(true)
        .open(path)
        .map_err(|e| RegionError::from_io(label, "open", e))?;
    let len = file
        .metadata()
        .map_err(|e| RegionError::from_io(label, "open", e))?
        .len();
    if len == 0 {
        return Err(RegionError::NotReady { name: label.into() });
    }
    let map = memmap2::MmapRaw::map_raw(&file).map_err(|e| RegionError::from_io(label, "map", e))?;
    Ok((map, RegionKey::of_file(&file)))
}

/// Sets the mode of the shared-memory object `os_id` (through a descriptor: macOS has no path for it).
#[cfg(unix)]
fn set_shm_mode(os_id: &str, mode: u32) -> io::Result<()> {
    let c_name = std::ffi::CString::new(os_id).map_err(|_| io::Error::from(io::ErrorKind::InvalidInput))?;
    // SAFETY: `c_name` is a valid NUL-terminated string that outlives the call; shm_open only reads it. The mode
    // argument is ignored without O_CREAT; it is passed as a `c_uint`, which suits both the Linux prototype and the
    // variadic macOS one.
    let fd = unsafe { libc::shm_open(c_name.as_ptr(), libc::O_RDWR | libc::O_CLOEXEC, 0 as libc::c_uint) };
    if fd < 0 {
        return Err(io::Error::last_os_error());
    }
    // SAFETY: `fd` is the descriptor just opened above and owned by nothing else; `OwnedFd` closes it once.
    let fd = unsafe { <std::os::fd::OwnedFd as std::os::fd::FromRawFd>::from_raw_fd(fd) };
    let file = fs::File::from(fd);
    file.set_permissions(std::os::unix::fs::PermissionsExt::from_mode(mode & 0o777))
}

/// Removes the shared-memory object `name` (and, on macOS, its registry entry).
#[cfg(unix)]
pub(super) fn remove_shm(name: &RegionName) -> Result<(), RegionError> {
    let c_name = std::ffi::CString::new(name.os_id()).map_err(|_| RegionError::InvalidName {
        name: name.as_str().into(),
    })?;
    // SAFETY: `c_name` is a valid NUL-terminated string that outlives the call; shm_unlink only reads it.
    let unlinked = if unsafe { libc::shm_unlink(c_name.as_ptr()) } == 0 {
        Ok(())
    } else {
        Err(RegionError::from_io(
            name.as_str(),
            "remove",
            io::Error::last_os_error(),
        ))
    };
    #[cfg(target_os = "macos")]
    crate::listing::unregister(name);
    unlinked
}

/// Where removed Windows regions wait until their last mapping closes (`~` is not in the region name alphabet).
#[cfg(windows)]
const REMOVED_DIR: &str = "~removed";

/// Removes the Windows region `name`: its file is renamed out of the way at once (so the name is free and nobody
/// new can open it) and deleted; where Windows refuses to delete a file that is still mapped, it stays in
/// [`REMOVED_DIR`] until a later creation sweeps it up.
#[cfg(windows)]
pub(super) fn remove_shm(name: &RegionName) -> Result<(), RegionError> {
    let path = name.shm_path();
    let graves = crate::regions_dir().join(REMOVED_DIR);
    let grave = graves.join(format!(
        "{}.{}.{}",
        name.as_str(),
        std::process::id(),
        crate::clock::now_ns()
    ));
    let moved = fs::rename(&path, &grave).or_else(|e| {
        if e.kind() == io::ErrorKind::NotFound && path.exists() {
            fs::create_dir_all(&graves)?;
            fs::rename(&path, &grave)
        } else {
            Err(e)
        }
    });
    moved.map_err(|e| RegionError::from_io(name.as_str(), "remove", e))?;
    let _ = fs::remove_file(&grave);
    Ok(())
}

/// Deletes the removed regions whose mappings have all closed since (best effort).
#[cfg(windows)]
fn sweep_removed(dir: &Path) {
    if let Ok(graves) = fs::read_dir(dir.join(REMOVED_DIR)) {
        for grave in graves.flatten() {
            let _ = fs::remove_file(grave.path());
        }
    }
}

crate::window::memory_through_raw!(Region);

// SAFETY: `raw` lends the whole mapping, which is what the `Memory` methods (through `raw`) operate on.
unsafe impl Contiguous for Region {
    #[inline]
    fn raw(&self) -> RawRegion<'_> {
        Region::raw(self)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use seqring_core::Memory;
    #[cfg(unix)]
    use std::os::unix::fs::MetadataExt;
    use std::sync::atomic::Ordering;

    fn unique(tag: &str) -> String {
        format!("seqring-unit-{tag}-{}", std::process::id())
    }

    #[test]
    fn shm_create_open_mode_and_errors() {
        let name = unique("mode");
        let mut created = Region::create_shm(&name, 100, CreateOptions::default()).unwrap();
        assert_eq!(created.len(), 104, "rounded up to whole words");
        #[cfg(target_os = "linux")]
        assert_eq!(
            fs::metadata(RegionName::new(&name).unwrap().shm_path()).unwrap().mode() & 0o777,
            0o600
        );
        assert!(matches!(
            Region::create_shm(&name, 64, CreateOptions::default()),
            Err(RegionError::AlreadyExists { name: n }) if n == name
        ));
        let opened = Region::open_shm(&name).unwrap();
        assert!(!opened.removes_on_drop());
        created.store(8, 7, Ordering::Relaxed);
        assert_eq!(opened.load(8, Ordering::Relaxed), 7);
        drop(opened);
        let replaced = Region::create_shm(&name, 64, CreateOptions::default().replace(true).mode(0o640)).unwrap();
        assert_eq!(replaced.len(), 64);
        #[cfg(target_os = "linux")]
        {
            let meta = fs::metadata(RegionName::new(&name).unwrap().shm_path()).unwrap();
            assert_eq!((meta.mode() & 0o777, meta.len()), (0o640, 64));
        }
        assert_eq!(
            replaced.load(8, Ordering::Relaxed),
            0,
            "a replaced region starts zeroed"
        );
        created.set_remove_on_drop(false); // its name now belongs to `replaced`
        drop(created);
        replaced.remove().unwrap();
        assert!(matches!(Region::open_shm(&name), Err(RegionError::NotFound { .. })));
        assert!(matches!(Region::open_shm("a/b"), Err(RegionError::InvalidName { .. })));
        assert!(matches!(
            Region::create_shm(&unique("zero"), 0, CreateOptions::default()),
            Err(RegionError::Io { .. })
        ));
    }

    #[test]
    fn file_regions_share_bytes_and_reject_odd_sizes() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("r.bin");
        let created = Region::create_file(&path, 64, CreateOptions::default()).unwrap();
        #[cfg(unix)]
        assert_eq!(fs::metadata(&path).unwrap().mode() & 0o777, 0o600);
        let opened = Region::open_file(&path).unwrap();
        opened.store(56, 9, Ordering::Relaxed);
        assert_eq!(created.load(56, Ordering::Relaxed), 9);
        drop(opened);
        drop(created);
        assert!(!path.exists(), "the creator removes its file");
        fs::write(&path, [1u8; 13]).unwrap();
        assert!(matches!(Region::open_file(&path), Err(RegionError::BadLayout { .. })));
        fs::write(&path, []).unwrap();
        assert!(matches!(Region::open_file(&path), Err(RegionError::NotReady { .. })));
        assert!(matches!(
            Region::open_file(dir.path().join("missing")),
            Err(RegionError::NotFound { .. })
        ));
    }
}
