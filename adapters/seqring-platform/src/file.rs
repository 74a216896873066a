//! Read-only file maps and the atomic file replacement: the two ways seqring touches whole files.
//!
//! **The mapped-file contract.** Every read-only map in seqring is made by [`ReadOnlyMap::of_file`], and its one
//! SAFETY argument rests on this contract: a file that seqring maps is never modified in place or truncated while
//! it is mapped. seqring keeps it on its side: archives, configs, trackers and mapped structures are replaced
//! whole by [`replace_file_atomically`] (a rename, which leaves an open map of the old file intact), log entries
//! are written once, segments only grow by appends (bytes past the mapped length), and segment recovery drops
//! its map before it truncates. A program that rewrites such a file in place breaks the contract.
//!
//! **Atomic replacement.** The new contents go to a temporary file in the target's own directory (so the rename
//! cannot cross a filesystem), which is flushed and fsynced, renamed over the target, and then the directory is
//! fsynced so the rename itself is durable. A reader sees either the old or the new contents, never a mix; on any
//! failure the old file is untouched and the temporary file is removed. The replacement keeps the permission bits
//! of the file it replaces; a new file gets `0666` minus the umask, as Python's `open(path, "w")` gives.
//!
//! On Windows the rename is `MoveFileExW` with `MOVEFILE_REPLACE_EXISTING | MOVEFILE_WRITE_THROUGH` after
//! `FlushFileBuffers` (`sync_all`), which makes the rename durable without a directory fsync (Windows has none).
//! Windows refuses to replace a file that is mapped (or open without delete sharing): replacing an archive or a
//! config while a [`ReadOnlyMap`] of it lives is an error there, where Unix keeps the old map intact.

use memmap2::Mmap;
use std::fs::{self, File};
use std::io::{self, BufWriter, Write};
use std::ops::Deref;
use std::path::{Path, PathBuf};

/// A failed file operation: what was being done, to which path.
#[derive(Debug, thiserror::Error)]
#[error("cannot {op} {}: {source}", path.display())]
pub struct FileError {
    /// What was being done, as a verb ("map", "replace", ...).
    pub op: &'static str,
    /// The file.
    pub path: PathBuf,
    /// The OS error.
    #[source]
    pub source: io::Error,
}

impl FileError {
    /// The error of `op` (a verb: "create", "replace", ...) on `path`.
    ///
    /// # Examples
    /// ```
    /// let e = seqring_platform::FileError::new("create", "/data/x".as_ref(), std::io::Error::other("disk full"));
    /// assert_eq!(e.to_string(), "cannot create /data/x: disk full");
    /// ```
    pub fn new(op: &'static str, path: &Path, source: io::Error) -> Self {
        FileError {
            op,
            path: path.to_path_buf(),
            source,
        }
    }
}

/// A read-only map of a whole file (empty files included), read as a byte slice.
///
/// # Examples
/// ```
/// let dir = tempfile::tempdir()?;
/// let path = dir.path().join("data.bin");
/// std::fs::write(&path, b"abc")?;
/// let map = seqring_platform::map_file_readonly(&path)?;
/// assert_eq!(&map[..], b"abc");
/// std::fs::write(dir.path().join("empty"), b"")?;
/// assert!(seqring_platform::map_file_readonly(dir.path().join("empty"))?.is_empty());
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug)]
pub struct ReadOnlyMap {
    map: Option<Mmap>,
}

impl ReadOnlyMap {
    /// Maps all of `file` read-only (an empty file gives an empty map without a mapping).
    ///
    /// # Errors
    /// The OS error of `fstat` or `mmap`.
    pub fn of_file(file: &File) -> io::Result<ReadOnlyMap> {
        if file.metadata()?.len() == 0 {
            return Ok(ReadOnlyMap { map: None });
        }
        // SAFETY: a read-only, private-to-this-value map that is only read through `&[u8]` slices bounded by its
        // length, and the mapped file is not modified in place or truncated while mapped (the module's mapped-file
        // contract, which every writer in seqring keeps).
        let map = unsafe { Mmap::map(file) }?;
        Ok(ReadOnlyMap { map: Some(map) })
    }
}

impl Deref for ReadOnlyMap {
    type Target = [u8];

    fn deref(&self) -> &[u8] {
        self.map.as_deref().unwrap_or(&[])
    }
}

impl AsRef<[u8]> for ReadOnlyMap {
    fn as_ref(&self) -> &[u8] {
        self
    }
}

/// Opens and maps the file at `path` read-only; see [`ReadOnlyMap`].
///
/// # Errors
/// [`FileError`] naming `path` if it cannot be opened or mapped.
pub fn map_file_readonly(path: impl AsRef<Path>) -> Result<ReadOnlyMap, FileError> {
    let path = path.as_ref();
    let file = File::open(path).map_err(|e| FileError::new("open", path, e))?;
    ReadOnlyMap::of_file(&file).map_err(|e| FileError::new("map", path, e))
}

/// Replaces the file at `path` with whatever `write` writes, atomically and durably (see the module docs).
///
/// `write` gets a buffered writer over the temporary file; if it returns an error, nothing is replaced.
///
/// # Examples
/// ```
/// use std::io::Write;
/// let dir = tempfile::tempdir()?;
/// let path = dir.path().join("state.txt");
/// seqring_platform::replace_file_atomically(&path, |w| w.write_all(b"first"))?;
/// seqring_platform::replace_file_atomically(&path, |w| writeln!(w, "second"))?;
/// assert_eq!(std::fs::read_to_string(&path)?, "second\n");
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
///
/// # Errors
/// [`FileError`] naming `path` and the failed step: the path has no file name, the temporary file cannot be
/// created or written (a missing directory, a full disk, a denied permission), `write` failed, or the rename
/// failed. The old file is then unchanged.
pub fn replace_file_atomically<F>(path: impl AsRef<Path>, write: F) -> Result<(), FileError>
where
    F: FnOnce(&mut dyn Write) -> io::Result<()>,
{
    let path = path.as_ref();
    let name = path.file_name().ok_or_else(|| {
        FileError::new(
            "write",
            path,
            io::Error::new(io::ErrorKind::InvalidInput, "the path has no file name"),
        )
    })?;
    let dir = match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    };
    let existing = fs::metadata(path).ok().filter(fs::Metadata::is_file);
    let mut prefix = std::ffi::OsString::from(".");
    prefix.push(name);
    prefix.push(".");
    let mut builder = tempfile::Builder::new();
    builder.prefix(&prefix).suffix(".tmp");
    #[cfg(unix)]
    builder.permissions(std::os::unix::fs::PermissionsExt::from_mode(0o666));
    let mut tmp = builder
        .tempfile_in(dir)
        .map_err(|e| FileError::new("create a temporary file next to", path, e))?;
    #[cfg(unix)]
    if let Some(meta) = existing {
        use std::os::unix::fs::PermissionsExt;
        let mode = meta.permissions().mode() & 0o7777;
        tmp.as_file()
            .set_permissions(fs::Permissions::from_mode(mode))
            .map_err(|e| FileError::new("copy the permissions of", path, e))?;
    }
    #[cfg(not(unix))]
    let _ = existing;
    {
        let mut buffered = BufWriter::with_capacity(64 * 1024, tmp.as_file_mut());
        write(&mut buffered)
            .and_then(|()| buffered.flush())
            .map_err(|e| FileError::new("write the new contents of", path, e))?;
    }
    tmp.as_file()
        .sync_all()
        .map_err(|e| FileError::new("flush the new contents of", path, e))?;
    #[cfg(unix)]
    {
        tmp.persist(path)
            .map_err(|e| FileError::new("replace", path, e.error))?;
        sync_dir(dir);
    }
    #[cfg(windows)]
    {
        // Close the file first (a rename of an open file without delete sharing fails); the TempPath still
        // removes the temporary file if the rename fails.
        let tmp_path = tmp.into_temp_path();
        move_file_durably(&tmp_path, path).map_err(|e| FileError::new("replace", path, e))?;
        // Renamed: nothing is left at the temporary path to remove.
        let _ = tmp_path.keep();
    }
    Ok(())
}

/// `MoveFileExW(from, to, MOVEFILE_REPLACE_EXISTING | MOVEFILE_WRITE_THROUGH)`: returns when the rename is on
/// disk.
#[cfg(windows)]
fn move_file_durably(from: &Path, to: &Path) -> io::Result<()> {
    use std::os::windows::ffi::OsStrExt;
    use windows_sys::Win32::Storage::FileSystem::{MoveFileExW, MOVEFILE_REPLACE_EXISTING, MOVEFILE_WRITE_THROUGH};
    let wide = |p: &Path| -> Vec<u16> { p.as_os_str().encode_wide().chain(std::iter::once(0)).collect() };
    let (from, to) = (wide(from), wide(to));
    // SAFETY: both arguments are valid NUL-terminated UTF-16 strings that outlive the call, which only reads them.
    let ok = unsafe {
        MoveFileExW(
            from.as_ptr(),
            to.as_ptr(),
            MOVEFILE_REPLACE_EXISTING | MOVEFILE_WRITE_THROUGH,
        )
    };
    if ok == 0 {
        Err(io::Error::last_os_error())
    } else {
        Ok(())
    }
}

/// Makes renames in `dir` durable (fsync of the directory). Some filesystems refuse it; the data itself is safe
/// by then, so a refusal is ignored. Windows has no directory fsync (its renames are made durable by
/// `MOVEFILE_WRITE_THROUGH`).
#[cfg(unix)]
pub(crate) fn sync_dir(dir: &Path) {
    let _ = sync_directory(dir);
}

/// Makes the renames and creations in `dir` durable: an `fsync` of the directory on Unix. Windows cannot open a
/// directory as a file to flush it; there NTFS journals the rename itself, and [`replace_file_atomically`] asks
/// for a write-through rename, so this returns `Ok` without doing anything.
///
/// # Errors
/// The OS error of the open or the fsync (Unix).
pub fn sync_directory(dir: &Path) -> io::Result<()> {
    #[cfg(unix)]
    {
        File::open(dir)?.sync_all()
    }
    #[cfg(not(unix))]
    {
        let _ = dir;
        Ok(())
    }
}

/// Creates the new file `path` for writing, readable and writable by its owner only: mode `0600` on Unix (the
/// umask can only narrow it), the default owner ACL of its directory on Windows. An existing file is an error
/// ([`io::ErrorKind::AlreadyExists`]).
///
/// # Errors
/// The OS error of the open.
///
/// # Examples
/// ```
/// use std::io::Write;
/// let dir = tempfile::tempdir()?;
/// let mut f = seqring_platform::create_private(dir.path().join("log.seg"))?;
/// f.write_all(b"x")?;
/// assert!(seqring_platform::create_private(dir.path().join("log.seg")).is_err());
/// # Ok::<(), std::io::Error>(())
/// ```
pub fn create_private(path: impl AsRef<Path>) -> io::Result<File> {
    let mut options = fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    options.open(path)
}

/// Starts writing `file`'s dirty pages in `offset..offset + len` to disk, without waiting for them, so that a
/// writer that appends steadily keeps the disk busy while it writes on, instead of leaving all of it to its final
/// sync. Best effort, and no promise: only a sync makes data durable.
/// - Linux: `sync_file_range(SYNC_FILE_RANGE_WRITE)` (a no-op on tmpfs);
/// - elsewhere: nothing (the OS's own writeback runs).
///
/// # Examples
/// ```
/// use std::io::Write;
/// let dir = tempfile::tempdir()?;
/// let mut f = seqring_platform::create_private(dir.path().join("log.seg"))?;
/// f.write_all(&[7; 8192])?;
/// seqring_platform::start_writeback(&f, 0, 8192); // the disk starts on it now
/// f.sync_data()?; // durable only now
/// # Ok::<(), std::io::Error>(())
/// ```
pub fn start_writeback(file: &File, offset: u64, len: u64) {
    #[cfg(target_os = "linux")]
    {
        use std::os::fd::AsRawFd;
        let (Ok(offset), Ok(len)) = (libc::off64_t::try_from(offset), libc::off64_t::try_from(len)) else {
            return;
        };
        // SAFETY: the descriptor belongs to `file`, open for the duration of the call; sync_file_range only starts
        // the writeback of the file's pages.
        let _ = unsafe { libc::sync_file_range(file.as_raw_fd(), offset, len, libc::SYNC_FILE_RANGE_WRITE) };
    }
    #[cfg(not(target_os = "linux"))]
    {
        let _ = (file, offset, len);
    }
}

/// Reserves disk blocks for `file` up to `len` bytes without changing its length, so that appends do not
/// allocate blocks one write at a time. Best effort (a file system that cannot do it just allocates as it goes):
/// - Linux: `fallocate(FALLOC_FL_KEEP_SIZE)`; truncating to the written length gives back what was not used; on
///   tmpfs nothing, since there it would only take (and later give back) memory pages that an append takes anyway;
/// - macOS: `fcntl(F_PREALLOCATE)` of a contiguous-if-possible extent past the end of the file;
/// - Windows: the file's allocation size (`FileAllocationInfo`), which NTFS trims back when the file closes.
pub fn preallocate(file: &File, len: u64) {
    #[cfg(target_os = "linux")]
    {
        use std::os::fd::AsRawFd;
        let len = libc::off_t::try_from(len).unwrap_or(libc::off_t::MAX);
        // SAFETY: an all-zero statfs is a valid value (plain integers) for fstatfs to fill in.
        let mut fs: libc::statfs = unsafe { std::mem::zeroed() };
        // SAFETY: the descriptor belongs to `file`, open for the duration of the call; `fs` is a valid, writable
        // statfs, which the call only fills in.
        let tmpfs = unsafe { libc::fstatfs(file.as_raw_fd(), &mut fs) } == 0 && fs.f_type == libc::TMPFS_MAGIC;
        if !tmpfs {
            // SAFETY: the descriptor belongs to `file`, open for the duration of the call; fallocate only changes
            // its blocks.
            let _ = unsafe { libc::fallocate(file.as_raw_fd(), libc::FALLOC_FL_KEEP_SIZE, 0, len) };
        }
    }
    #[cfg(target_os = "macos")]
    {
        use std::os::fd::AsRawFd;
        let Ok(current) = file.metadata().map(|m| m.len()) else {
            return;
        };
        let Ok(more) = libc::off_t::try_from(len.saturating_sub(current)) else {
            return;
        };
        if more == 0 {
            return;
        }
        let mut store = libc::fstore_t {
            fst_flags: libc::F_ALLOCATECONTIG | libc::F_ALLOCATEALL,
            fst_posmode: libc::F_PEOFPOSMODE,
            fst_offset: 0,
            fst_length: more,
            fst_bytesalloc: 0,
        };
        // SAFETY: the descriptor belongs to `file`, open for the duration of the calls; `store` is a valid,
        // writable fstore_t for each call, which only allocates blocks and writes back `fst_bytesalloc`.
        unsafe {
            if libc::fcntl(file.as_raw_fd(), libc::F_PREALLOCATE, &mut store) == -1 {
                store.fst_flags = libc::F_ALLOCATEALL;
                let _ = libc::fcntl(file.as_raw_fd(), libc::F_PREALLOCATE, &mut store);
            }
        }
    }
    #[cfg(windows)]
    {
        use std::os::windows::io::AsRawHandle;
        use windows_sys::Win32::Storage::FileSystem::{
            FileAllocationInfo, SetFileInformationByHandle, FILE_ALLOCATION_INFO,
        };
        let info = FILE_ALLOCATION_INFO {
            AllocationSize: i64::try_from(len).unwrap_or(i64::MAX),
        };
        // SAFETY: the handle belongs to `file`, open for the duration of the call; `info` is a valid
        // FILE_ALLOCATION_INFO whose size is passed with it, and the call only reads it.
        let _ = unsafe {
            SetFileInformationByHandle(
                file.as_raw_handle(),
                FileAllocationInfo,
                (&info as *const FILE_ALLOCATION_INFO).cast(),
                std::mem::size_of::<FILE_ALLOCATION_INFO>() as u32,
            )
        };
    }
    #[cfg(not(any(target_os = "linux", target_os = "macos", windows)))]
    let _ = (file, len);
}

/// Flushes every file in `dir` to disk, then the directory itself:
/// - Linux: `syncfs` on the directory's file system (one call, however many files);
/// - elsewhere (no `syncfs`): each regular file directly in `dir` is synced (`fsync`, `FlushFileBuffers`), then
///   the directory where the OS can sync one.
///
/// # Errors
/// The OS error of the first open or sync that failed.
pub fn sync_filesystem(dir: &Path) -> io::Result<()> {
    #[cfg(target_os = "linux")]
    {
        use std::os::fd::AsRawFd;
        let handle = File::open(dir)?;
        // SAFETY: `syncfs` takes a valid open descriptor, which `handle` owns for the duration of the call.
        if unsafe { libc::syncfs(handle.as_raw_fd()) } != 0 {
            return Err(io::Error::last_os_error());
        }
        handle.sync_all()
    }
    #[cfg(not(target_os = "linux"))]
    {
        for entry in fs::read_dir(dir)? {
            let entry = entry?;
            if entry.file_type()?.is_file() {
                // Write access: FlushFileBuffers needs it on Windows.
                fs::OpenOptions::new().write(true).open(entry.path())?.sync_all()?;
            }
        }
        #[cfg(unix)]
        File::open(dir)?.sync_all()?;
        Ok(())
    }
}

/// Reads up to `buf.len()` bytes of `file` at `offset`, as `pread`: on Unix the file's cursor does not move; on
/// Windows (`seek_read`) it does, so callers must not rely on the cursor of a file they read this way.
///
/// # Errors
/// The OS error of the read.
pub fn read_at(file: &File, buf: &mut [u8], offset: u64) -> io::Result<usize> {
    #[cfg(unix)]
    {
        std::os::unix::fs::FileExt::read_at(file, buf, offset)
    }
    #[cfg(windows)]
    {
        std::os::windows::fs::FileExt::seek_read(file, buf, offset)
    }
}

/// The bytes of a relative path as ataraxis hashes and names it: its components joined by `/`. On Unix these are
/// the raw name bytes; on Windows the UTF-8 of each component (an unpaired surrogate becomes U+FFFD), so a tree
/// gives the same bytes on every platform.
///
/// # Examples
/// ```
/// let rel = std::path::Path::new("sub").join("a.txt");
/// assert_eq!(seqring_platform::relative_path_bytes(&rel), b"sub/a.txt");
/// ```
pub fn relative_path_bytes(relative: &Path) -> Vec<u8> {
    #[cfg(unix)]
    {
        std::os::unix::ffi::OsStrExt::as_bytes(relative.as_os_str()).to_vec()
    }
    #[cfg(not(unix))]
    {
        let mut out = Vec::new();
        for (i, part) in relative.components().enumerate() {
            if i > 0 {
                out.push(b'/');
            }
            out.extend_from_slice(part.as_os_str().to_string_lossy().as_bytes());
        }
        out
    }
}

/// Whether `e` says a path is not there: missing, a file where a directory was expected, or a link loop.
pub fn is_absent(e: &io::Error) -> bool {
    #[cfg(unix)]
    {
        matches!(e.raw_os_error(), Some(libc::ENOENT | libc::ENOTDIR | libc::ELOOP))
    }
    #[cfg(windows)]
    {
        // ERROR_FILE_NOT_FOUND, ERROR_PATH_NOT_FOUND, ERROR_DIRECTORY, ERROR_CANT_RESOLVE_FILENAME (a link loop).
        matches!(e.raw_os_error(), Some(2 | 3 | 267 | 1921)) || e.kind() == io::ErrorKind::NotFound
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    #[cfg(unix)]
    fn replaces_keeps_mode_and_leaves_no_temporary() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("f.txt");
        fs::write(&path, b"old").unwrap();
        fs::set_permissions(&path, fs::Permissions::from_mode(0o640)).unwrap();
        let old_map = map_file_readonly(&path).unwrap();
        replace_file_atomically(&path, |w| w.write_all(b"new!")).unwrap();
        assert_eq!(fs::read(&path).unwrap(), b"new!");
        assert_eq!(&old_map[..], b"old", "a map of the replaced file keeps the old bytes");
        assert_eq!(fs::metadata(&path).unwrap().permissions().mode() & 0o777, 0o640);
        assert_eq!(fs::read_dir(dir.path()).unwrap().count(), 1);
    }

    #[test]
    fn replaces_and_leaves_no_temporary() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("f.txt");
        replace_file_atomically(&path, |w| w.write_all(b"old")).unwrap();
        replace_file_atomically(&path, |w| w.write_all(b"new!")).unwrap();
        assert_eq!(fs::read(&path).unwrap(), b"new!");
        assert_eq!(fs::read_dir(dir.path()).unwrap().count(), 1);
    }

    /// A replace while other handles have the old file open on Windows: `MoveFileExW` refuses to replace a file
    /// that is open (even with delete sharing, as std and memmap2 open files: wine and Windows before POSIX rename
    /// semantics) or mapped (README, Platforms). Whichever way a Windows version decides, the replace is atomic:
    /// either the name holds the new bytes while the open reader and the map keep the old ones, or it fails naming
    /// the path, with the old file whole and no temporary file left; with the holders gone it goes through.
    #[test]
    #[cfg(windows)]
    fn a_replace_under_open_readers_and_maps_is_whole_or_refused() {
        use std::io::Read;
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("f.txt");
        fs::write(&path, b"old").unwrap();
        let mut reader = File::open(&path).unwrap();
        let map = map_file_readonly(&path).unwrap();
        match replace_file_atomically(&path, |w| w.write_all(b"new!")) {
            Ok(()) => assert_eq!(fs::read(&path).unwrap(), b"new!"),
            Err(err) => {
                assert_eq!(
                    (err.op, err.source.kind()),
                    ("replace", io::ErrorKind::PermissionDenied),
                    "{err}"
                );
                assert!(err.to_string().contains("f.txt"), "{err}");
                assert_eq!(fs::read(&path).unwrap(), b"old");
            }
        }
        let mut read = Vec::new();
        reader.read_to_end(&mut read).unwrap();
        assert_eq!(
            (read.as_slice(), &map[..]),
            (&b"old"[..], &b"old"[..]),
            "the holders keep the old bytes"
        );
        assert_eq!(
            fs::read_dir(dir.path()).unwrap().count(),
            1,
            "no temporary file is left"
        );
        drop((reader, map));
        replace_file_atomically(&path, |w| w.write_all(b"newer")).unwrap();
        assert_eq!(fs::read(&path).unwrap(), b"newer");
        assert_eq!(fs::read_dir(dir.path()).unwrap().count(), 1);
    }

    #[test]
    fn failures_leave_the_old_file_and_name_the_path() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("f.txt");
        fs::write(&path, b"old").unwrap();
        let err = replace_file_atomically(&path, |w| {
            w.write_all(b"partial")?;
            Err(io::Error::other("boom"))
        })
        .unwrap_err();
        assert!(err.to_string().contains("f.txt"), "{err}");
        assert_eq!(fs::read(&path).unwrap(), b"old");
        assert_eq!(fs::read_dir(dir.path()).unwrap().count(), 1);
        let missing = dir.path().join("missing").join("f.txt");
        let err = replace_file_atomically(&missing, |w| w.write_all(b"x")).unwrap_err();
        assert!(err.to_string().contains(&*missing.display().to_string()), "{err}");
        let err = map_file_readonly(&missing).unwrap_err();
        assert_eq!((err.op, err.source.kind()), ("open", io::ErrorKind::NotFound));
    }
}
