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
    fn new(op: &'static str, path: &Path, source: io::Error) -> Self {
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
    if let Ok(d) = File::open(dir) {
        let _ = d.sync_all();
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
