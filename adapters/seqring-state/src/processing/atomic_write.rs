//! Atomic file replacement, for the processing tools and their callers; the one implementation is
//! [`seqring_platform::replace_file_atomically`].
//!
//! The new contents go to a temporary file in the target's own directory (so the rename cannot cross a
//! filesystem), which is flushed and fsynced, renamed over the target, and then the directory is fsynced so the
//! rename itself is durable.
//!
//! Invariants:
//! - missing parent directories are created first (as ataraxis does, and as [`super::direct_write()`] does);
//! - a reader that opens the target sees either the complete old contents or the complete new contents, never a
//!   mix, a truncated file or an empty one;
//! - on any failure the old file is left untouched and the temporary file is removed;
//! - the replacement keeps the permission bits of the file it replaces; a new file gets `0666` minus the umask,
//!   which is what Python's `open(path, "w")` gives, so files shared with other users (a lab's tracker) stay
//!   shareable.

use std::io::{self, Write};
use std::path::Path;

/// A failed file write ([`atomic_write`] or [`super::direct_write()`]): the platform's one file error, naming the
/// step that failed and the target path.
///
/// # Examples
///
/// ```
/// use seqring_state::processing::{atomic_write, atomic_write_with, FileError};
/// let dir = tempfile::tempdir()?;
/// let path = dir.path().join("state.txt");
/// let err: FileError = atomic_write_with(&path, |_| Err(std::io::Error::other("encoder failed"))).unwrap_err();
/// assert_eq!((err.op, err.path.as_path()), ("write the new contents of", path.as_path()));
/// assert_eq!(err.source.to_string(), "encoder failed");
/// assert!(!path.exists(), "nothing was replaced");
/// // Missing parent directories are created (as ataraxis does); a parent that is a file cannot be.
/// std::fs::write(dir.path().join("a-file"), b"")?;
/// let err = atomic_write(dir.path().join("a-file/state.txt"), b"x").unwrap_err();
/// assert_eq!(err.op, "create the directory of");
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub use seqring_platform::FileError;

/// Replaces the file at `path` with `contents`, atomically and durably, creating missing parent directories.
///
/// See the module documentation for the guarantees.
///
/// # Examples
///
/// ```
/// let dir = tempfile::tempdir()?;
/// let path = dir.path().join("state.txt");
/// seqring_state::processing::atomic_write(&path, b"first")?;
/// seqring_state::processing::atomic_write(dir.path().join("new/dir/state.txt"), b"parents made")?;
/// seqring_state::processing::atomic_write(&path, b"second")?;
/// assert_eq!(std::fs::read(&path)?, b"second");
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
///
/// # Errors
///
/// [`FileError`] naming `path` and the failed step when a parent directory cannot be created, the path has no file
/// name, the temporary file cannot be created or written (a full disk, a denied permission), or the rename fails.
/// The old file is then unchanged.
pub fn atomic_write(path: impl AsRef<Path>, contents: impl AsRef<[u8]>) -> Result<(), FileError> {
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
pub fn atomic_write_with<F>(path: impl AsRef<Path>, write: F) -> Result<(), FileError>
where
    F: FnOnce(&mut dyn Write) -> io::Result<()>,
{
    let path = path.as_ref();
    super::direct_write::create_parent(path)?;
    seqring_platform::replace_file_atomically(path, write)
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
            (err.op, err.path.as_path()),
            ("write the new contents of", path.as_path())
        );
        assert!(!path.exists(), "nothing replaced");
        atomic_write(&path, b"new").unwrap();
        assert_eq!(std::fs::read(&path).unwrap(), b"new");
    }
}
