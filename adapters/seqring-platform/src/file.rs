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

use memmap2::Mmap;
use std::fs::{self, File, Permissions};
use std::io::{self, BufWriter, Write};
use std::ops::Deref;
use std::os::unix::fs::PermissionsExt;
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
    let existing_mode = fs::metadata(path)
        .ok()
        .filter(fs::Metadata::is_file)
        .map(|m| m.permissions().mode() & 0o7777);
    let mut prefix = std::ffi::OsString::from(".");
    prefix.push(name);
    prefix.push(".");
    let mut tmp = tempfile::Builder::new()
        .prefix(&prefix)
        .suffix(".tmp")
        .permissions(Permissions::from_mode(0o666))
        .tempfile_in(dir)
        .map_err(|e| FileError::new("create a temporary file next to", path, e))?;
    if let Some(mode) = existing_mode {
        tmp.as_file()
            .set_permissions(Permissions::from_mode(mode))
            .map_err(|e| FileError::new("copy the permissions of", path, e))?;
    }
    {
        let mut buffered = BufWriter::with_capacity(64 * 1024, tmp.as_file_mut());
        write(&mut buffered)
            .and_then(|()| buffered.flush())
            .map_err(|e| FileError::new("write the new contents of", path, e))?;
    }
    tmp.as_file()
        .sync_all()
        .map_err(|e| FileError::new("flush the new contents of", path, e))?;
    tmp.persist(path)
        .map_err(|e| FileError::new("replace", path, e.error))?;
    sync_dir(dir);
    Ok(())
}

/// Makes renames in `dir` durable (fsync of the directory). Some filesystems refuse it; the data itself is safe
/// by then, so a refusal is ignored.
pub(crate) fn sync_dir(dir: &Path) {
    if let Ok(d) = File::open(dir) {
        let _ = d.sync_all();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn replaces_keeps_mode_and_leaves_no_temporary() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("f.txt");
        fs::write(&path, b"old").unwrap();
        fs::set_permissions(&path, Permissions::from_mode(0o640)).unwrap();
        let old_map = map_file_readonly(&path).unwrap();
        replace_file_atomically(&path, |w| w.write_all(b"new!")).unwrap();
        assert_eq!(fs::read(&path).unwrap(), b"new!");
        assert_eq!(&old_map[..], b"old", "a map of the replaced file keeps the old bytes");
        assert_eq!(fs::metadata(&path).unwrap().permissions().mode() & 0o777, 0o640);
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
        assert!(err.to_string().contains("missing/f.txt"), "{err}");
        let err = map_file_readonly(&missing).unwrap_err();
        assert_eq!((err.op, err.source.kind()), ("open", io::ErrorKind::NotFound));
    }
}
