//! Atomic file replacement, for the processing tools and their callers; the one implementation is
//! [`seqring_platform::replace_file_atomically`].
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

use std::io::{self, Write};
use std::path::{Path, PathBuf};

/// A failed file write ([`atomic_write`] or [`super::direct_write()`]): which step failed, and for which target path.
///
/// # Examples
///
/// ```
/// use seqring_state::processing::{atomic_write_with, WriteError};
/// let dir = tempfile::tempdir()?;
/// let path = dir.path().join("state.txt");
/// let err: WriteError = atomic_write_with(&path, |_| Err(std::io::Error::other("encoder failed"))).unwrap_err();
/// assert_eq!((err.step, err.path.as_path()), ("write the new contents of", path.as_path()));
/// assert_eq!(err.source.to_string(), "encoder failed");
/// assert!(!path.exists(), "nothing was replaced");
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
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
///
/// # Examples
///
/// ```
/// use seqring_state::processing::{atomic_write, AtomicWriteError};
/// let dir = tempfile::tempdir()?;
/// // The parent directory must exist.
/// let err: AtomicWriteError = atomic_write(dir.path().join("missing/state.txt"), b"x").unwrap_err();
/// assert_eq!(err.path, dir.path().join("missing/state.txt"));
/// assert_eq!(err.source.kind(), std::io::ErrorKind::NotFound);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
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
/// seqring_state::processing::atomic_write(&path, b"first")?;
/// seqring_state::processing::atomic_write(&path, b"second")?;
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
/// seqring_state::processing::atomic_write_with(&path, |w| {
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
    seqring_platform::replace_file_atomically(path, write).map_err(|e| WriteError {
        step: e.op,
        path: e.path,
        source: e.source,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    // The replacement itself is tested once, in `seqring_platform::file`; this checks the wrapper's error mapping.
    #[test]
    fn errors_keep_the_failed_step_and_the_path() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("f.txt");
        let err = atomic_write_with(&path, |_| Err(io::Error::other("boom"))).unwrap_err();
        assert_eq!(
            (err.step, err.path.as_path()),
            ("write the new contents of", path.as_path())
        );
        assert!(!path.exists(), "nothing replaced");
        atomic_write(&path, b"new").unwrap();
        assert_eq!(std::fs::read(&path).unwrap(), b"new");
    }
}
