//! Atomic file replacement.
//!
//! The new contents go to a temporary file in the target's own directory (so the rename cannot cross a
//! filesystem), which is flushed and fsynced, renamed over the target, and then the directory is fsynced so the
//! rename itself is durable.
//!
//! Invariants:
//! - a reader that opens the target sees either the complete old contents or the complete new contents, never a
//!   mix, a truncated file or an empty one;
//! - on any failure the old file is left untouched and the temporary file is removed;
//! - the replacement keeps the permission bits of the file it replaces; a new file gets `0666` minus the umask,
//!   which is what Python's `open(path, "w")` gives, so files shared with other users (a lab's tracker) stay
//!   shareable.

use std::fs::{self, File, Permissions};
use std::io::{self, BufWriter, Write};
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

/// A failed file write ([`atomic_write`] or [`super::direct_write()`]): which step failed, and for which target path.
#[derive(Debug, thiserror::Error)]
#[error("cannot {step} {path}: {source}")]
pub struct WriteError {
    /// The step that failed, phrased as a verb ("create a temporary file next to", "replace", …).
    pub step: &'static str,
    /// The target path.
    pub path: PathBuf,
    /// The underlying I/O error.
    #[source]
    pub source: io::Error,
}

/// The error of [`atomic_write`] (the same type as every file write's).
pub type AtomicWriteError = WriteError;

impl WriteError {
    pub(crate) fn new(step: &'static str, path: &Path, source: io::Error) -> Self {
        Self {
            step,
            path: path.to_path_buf(),
            source,
        }
    }
}

/// Replaces the file at `path` with `contents`, atomically and durably.
///
/// The parent directory must exist. See the module documentation for the guarantees.
///
/// # Examples
///
/// ```
/// let dir = tempfile::tempdir()?;
/// let path = dir.path().join("state.txt");
/// seqring::processing::atomic_write(&path, b"first")?;
/// seqring::processing::atomic_write(&path, b"second")?;
/// assert_eq!(std::fs::read(&path)?, b"second");
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
///
/// # Errors
///
/// [`AtomicWriteError`] naming `path` and the failed step when the path has no file name, the temporary file
/// cannot be created or written (a missing directory, a full disk, a denied permission), or the rename fails. The
/// old file is then unchanged.
pub fn atomic_write(path: impl AsRef<Path>, contents: impl AsRef<[u8]>) -> Result<(), AtomicWriteError> {
    let contents = contents.as_ref();
    atomic_write_with(path, |w| w.write_all(contents))
}

/// Replaces the file at `path` with whatever `write` writes, atomically and durably.
///
/// `write` receives a buffered writer over the temporary file; if it returns an error, nothing is replaced.
///
/// # Examples
///
/// ```
/// use std::io::Write;
/// let dir = tempfile::tempdir()?;
/// let path = dir.path().join("numbers.txt");
/// seqring::processing::atomic_write_with(&path, |w| {
///     for i in 0..3 {
///         writeln!(w, "{i}")?;
///     }
///     Ok(())
/// })?;
/// assert_eq!(std::fs::read_to_string(&path)?, "0\n1\n2\n");
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
///
/// # Errors
///
/// As [`atomic_write`], plus the error `write` returns (reported with the step "write the new contents of").
pub fn atomic_write_with<F>(path: impl AsRef<Path>, write: F) -> Result<(), AtomicWriteError>
where
    F: FnOnce(&mut dyn Write) -> io::Result<()>,
{
    let path = path.as_ref();
    let name = path.file_name().ok_or_else(|| {
        AtomicWriteError::new(
            "write",
            path,
            io::Error::new(io::ErrorKind::InvalidInput, "the path has no file name"),
        )
    })?;
    let dir = match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    };
    // Keep the mode of the file being replaced; a new file gets 0666 minus the umask (applied by open(2)).
    let existing_mode = fs::metadata(path)
        .ok()
        .filter(|m| m.is_file())
        .map(|m| m.permissions().mode() & 0o7777);
    let mut prefix = std::ffi::OsString::from(".");
    prefix.push(name);
    prefix.push(".");
    let mut tmp = tempfile::Builder::new()
        .prefix(&prefix)
        .suffix(".tmp")
        .permissions(Permissions::from_mode(0o666))
        .tempfile_in(dir)
        .map_err(|e| AtomicWriteError::new("create a temporary file next to", path, e))?;
    if let Some(mode) = existing_mode {
        tmp.as_file()
            .set_permissions(Permissions::from_mode(mode))
            .map_err(|e| AtomicWriteError::new("copy the permissions of", path, e))?;
    }
    {
        let mut buffered = BufWriter::with_capacity(64 * 1024, tmp.as_file_mut());
        write(&mut buffered).map_err(|e| AtomicWriteError::new("write the new contents of", path, e))?;
        buffered
            .flush()
            .map_err(|e| AtomicWriteError::new("write the new contents of", path, e))?;
    }
    tmp.as_file()
        .sync_all()
        .map_err(|e| AtomicWriteError::new("flush the new contents of", path, e))?;
    tmp.persist(path)
        .map_err(|e| AtomicWriteError::new("replace", path, e.error))?;
    // Make the rename durable. Some filesystems refuse to fsync a directory; the data itself is already safe.
    if let Ok(d) = File::open(dir) {
        let _ = d.sync_all();
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn replaces_and_keeps_mode() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("f.txt");
        fs::write(&path, b"old").unwrap();
        fs::set_permissions(&path, Permissions::from_mode(0o640)).unwrap();
        atomic_write(&path, b"new").unwrap();
        assert_eq!(fs::read(&path).unwrap(), b"new");
        assert_eq!(fs::metadata(&path).unwrap().permissions().mode() & 0o777, 0o640);
        // No temporary file is left behind.
        assert_eq!(fs::read_dir(dir.path()).unwrap().count(), 1);
    }

    #[test]
    fn failed_writer_leaves_old_contents() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("f.txt");
        fs::write(&path, b"old").unwrap();
        let err = atomic_write_with(&path, |w| {
            w.write_all(b"partial")?;
            Err(io::Error::other("boom"))
        })
        .unwrap_err();
        assert!(err.to_string().contains("f.txt"), "{err}");
        assert_eq!(fs::read(&path).unwrap(), b"old");
        assert_eq!(fs::read_dir(dir.path()).unwrap().count(), 1);
    }

    #[test]
    fn missing_directory_is_an_error_naming_the_path() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("missing").join("f.txt");
        let err = atomic_write(&path, b"x").unwrap_err();
        assert!(err.to_string().contains("missing/f.txt"), "{err}");
    }
}
