//! `delete_directory`: removes a directory tree, unlinking its files in parallel (ataraxis `delete_directory`).
//!
//! Invariants: symbolic links are removed, never followed, so nothing outside the tree is touched; a missing
//! directory is not an error (the goal, no directory, holds); a filesystem root is refused.

use rayon::prelude::*;
use std::fs;
use std::io;
use std::path::{Path, PathBuf};

/// A failed deletion.
///
/// # Examples
///
/// ```
/// use seqring_state::processing::{delete_directory, DeleteError};
/// let dir = tempfile::tempdir()?;
/// let file = dir.path().join("f.txt");
/// std::fs::write(&file, b"x")?;
/// assert!(matches!(delete_directory(&file), Err(DeleteError::NotADirectory { .. })));
/// assert!(file.exists());
/// assert!(matches!(delete_directory("/"), Err(DeleteError::Root { .. })));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug, thiserror::Error)]
pub enum DeleteError {
    /// The path is a filesystem root.
    #[error("refusing to delete {path}: it is a filesystem root")]
    Root {
        /// The path.
        path: PathBuf,
    },
    /// The path is not a directory.
    #[error("cannot delete {path}: it is not a directory")]
    NotADirectory {
        /// The path.
        path: PathBuf,
    },
    /// An entry could not be removed or listed.
    #[error("cannot delete {path}: {source}")]
    Io {
        /// The entry.
        path: PathBuf,
        /// The I/O error.
        #[source]
        source: io::Error,
    },
}

/// Deletes `dir` and everything under it.
///
/// # Examples
///
/// ```
/// let dir = tempfile::tempdir()?;
/// let tree = dir.path().join("tree");
/// std::fs::create_dir_all(tree.join("a/b"))?;
/// std::fs::write(tree.join("a/b/f.txt"), b"x")?;
/// seqring_state::processing::delete_directory(&tree)?;
/// assert!(!tree.exists());
/// seqring_state::processing::delete_directory(&tree)?; // already gone: fine
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
///
/// # Errors
///
/// [`DeleteError::Root`] for `/`, [`DeleteError::NotADirectory`] for a file or a link, [`DeleteError::Io`] naming the
/// entry that could not be removed.
pub fn delete_directory(dir: impl AsRef<Path>) -> Result<(), DeleteError> {
    let dir = dir.as_ref();
    let io_err = |path: &Path, source| DeleteError::Io {
        path: path.to_path_buf(),
        source,
    };
    if dir.parent().is_none() || dir.as_os_str().is_empty() {
        return Err(DeleteError::Root {
            path: dir.to_path_buf(),
        });
    }
    let meta = match fs::symlink_metadata(dir) {
        Ok(m) => m,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(()),
        Err(e) => return Err(io_err(dir, e)),
    };
    if !meta.is_dir() {
        return Err(DeleteError::NotADirectory {
            path: dir.to_path_buf(),
        });
    }
    // List without following links: every non-directory entry is unlinked in parallel.
    let mut entries = Vec::new();
    let mut pending = vec![dir.to_path_buf()];
    while let Some(d) = pending.pop() {
        for entry in fs::read_dir(&d).map_err(|e| io_err(&d, e))? {
            let entry = entry.map_err(|e| io_err(&d, e))?;
            let kind = entry.file_type().map_err(|e| io_err(&entry.path(), e))?;
            if kind.is_dir() {
                pending.push(entry.path());
            } else {
                entries.push(entry.path());
            }
        }
    }
    entries.par_iter().try_for_each(|p| match fs::remove_file(p) {
        Err(e) if e.kind() != io::ErrorKind::NotFound => Err(io_err(p, e)),
        _ => Ok(()),
    })?;
    match fs::remove_dir_all(dir) {
        Err(e) if e.kind() != io::ErrorKind::NotFound => Err(io_err(dir, e)),
        _ => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    #[cfg(unix)] // symbolic links and inodes are Unix notions here
    fn links_are_removed_not_followed() {
        let dir = tempfile::tempdir().unwrap();
        let outside = dir.path().join("outside");
        fs::create_dir(&outside).unwrap();
        fs::write(outside.join("keep.txt"), b"keep").unwrap();
        let tree = dir.path().join("tree");
        fs::create_dir_all(tree.join("x/y")).unwrap();
        for i in 0..50 {
            fs::write(tree.join(format!("x/y/{i}")), b"d").unwrap();
        }
        std::os::unix::fs::symlink(&outside, tree.join("x/link")).unwrap();
        delete_directory(&tree).unwrap();
        assert!(!tree.exists());
        assert_eq!(fs::read(outside.join("keep.txt")).unwrap(), b"keep");
    }

    #[test]
    fn refuses_root_and_files() {
        assert!(matches!(delete_directory("/"), Err(DeleteError::Root { .. })));
        let dir = tempfile::tempdir().unwrap();
        let f = dir.path().join("f");
        fs::write(&f, b"").unwrap();
        assert!(matches!(delete_directory(&f), Err(DeleteError::NotADirectory { .. })));
        assert!(f.exists());
    }
}
