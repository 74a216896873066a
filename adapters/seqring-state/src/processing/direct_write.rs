//! Direct file writes (ataraxis `direct_write`): the non-atomic counterpart of [`super::atomic_write()`], for files
//! that nothing reads yet and that are too large to stage twice.
//!
//! The target is opened, truncated and written in place: no temporary file, no rename, no fsync. It costs one open
//! and leaves the data in the operating system's buffers.
//!
//! Invariants:
//! - missing parent directories are created first, as ataraxis does;
//! - a reader that opens the file during the write, or after a writer died mid-way, can see a partial file: use
//!   this only for files whose absence or truncation the reader detects anyway, never to replace a complete file
//!   that someone may read;
//! - a new file gets `0666` minus the umask, as Python's `open(path, "w")` gives.

use std::fs::{self, File};
use std::io::{self, BufWriter, Write};
use std::path::Path;

use super::atomic_write::FileError;

/// Writes `contents` to the file at `path`, creating it (and its missing parent directories) or truncating it.
///
/// # Examples
///
/// ```
/// let dir = tempfile::tempdir()?;
/// let path = dir.path().join("new/dir/frame_000001.bin");
/// seqring_state::processing::direct_write(&path, [7u8; 16])?;
/// assert_eq!(std::fs::read(&path)?, [7u8; 16]);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
///
/// # Errors
///
/// [`FileError`] naming `path` and the failed step when a parent directory cannot be created or the file cannot be
/// opened or written (a full disk, a denied permission). The file may then hold part of the new contents.
pub fn direct_write(path: impl AsRef<Path>, contents: impl AsRef<[u8]>) -> Result<(), FileError> {
    let contents = contents.as_ref();
    direct_write_with(path, |w| w.write_all(contents))
}

/// Writes whatever `write` writes to the file at `path`, creating it (and its missing parent directories) or
/// truncating it. `write` receives a buffered writer over the file itself.
///
/// # Examples
///
/// ```
/// use std::io::Write;
/// let dir = tempfile::tempdir()?;
/// let path = dir.path().join("rows.csv");
/// seqring_state::processing::direct_write_with(&path, |w| {
///     for i in 0..3 {
///         writeln!(w, "{i},{}", i * i)?;
///     }
///     Ok(())
/// })?;
/// assert_eq!(std::fs::read_to_string(&path)?, "0,0\n1,1\n2,4\n");
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
///
/// # Errors
///
/// As [`direct_write`], plus the error `write` returns (reported with the step "write").
pub fn direct_write_with<F>(path: impl AsRef<Path>, write: F) -> Result<(), FileError>
where
    F: FnOnce(&mut dyn Write) -> io::Result<()>,
{
    let path = path.as_ref();
    create_parent(path)?;
    let file = File::create(path).map_err(|e| FileError::new("create", path, e))?;
    let mut buffered = BufWriter::with_capacity(64 * 1024, file);
    write(&mut buffered).map_err(|e| FileError::new("write", path, e))?;
    buffered.flush().map_err(|e| FileError::new("write", path, e))
}

/// Creates the missing parent directories of the file at `path` (the step "create the directory of").
pub(crate) fn create_parent(path: &Path) -> Result<(), FileError> {
    match path.parent().filter(|p| !p.as_os_str().is_empty()) {
        Some(parent) => fs::create_dir_all(parent).map_err(|e| FileError::new("create the directory of", path, e)),
        None => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    #[cfg(unix)] // symbolic links and inodes are Unix notions here
    fn truncates_an_existing_file_in_place() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("f.bin");
        fs::write(&path, b"a much longer old content").unwrap();
        let inode = std::os::unix::fs::MetadataExt::ino(&fs::metadata(&path).unwrap());
        direct_write(&path, b"new").unwrap();
        assert_eq!(fs::read(&path).unwrap(), b"new");
        // Written in place: the same inode, no temporary file beside it.
        assert_eq!(
            std::os::unix::fs::MetadataExt::ino(&fs::metadata(&path).unwrap()),
            inode
        );
        assert_eq!(fs::read_dir(dir.path()).unwrap().count(), 1);
    }

    #[test]
    fn failures_name_the_path() {
        let dir = tempfile::tempdir().unwrap();
        fs::write(dir.path().join("file"), b"").unwrap();
        let err = direct_write(dir.path().join("file/child"), b"x").unwrap_err();
        assert!(err.to_string().contains("file/child"), "{err}");
        assert_eq!(
            fs::read(dir.path().join("file")).unwrap(),
            b"",
            "the file in the way is untouched"
        );
        let path = dir.path().join("g");
        let err = direct_write_with(&path, |w| {
            w.write_all(b"part")?;
            Err(io::Error::other("boom"))
        })
        .unwrap_err();
        assert!(
            err.to_string().contains("boom") && err.to_string().contains('g'),
            "{err}"
        );
    }
}
