//! Walking a directory tree the way ataraxis does (`walk_files`): every entry that resolves to a regular file.
//!
//! Invariants:
//! - symbolic links to files are included (their target's contents count); symbolic links to directories are not
//!   followed, so the walk stays inside the tree and cannot loop; dangling or looping links are skipped; [`walk`]
//!   also lists every link it met, so that a caller that must not copy through links (a transfer) can refuse them;
//! - a directory that cannot be read is an error naming it, never a silently smaller tree;
//! - relative paths use `/` separators and are the raw bytes of the file name components.

use std::fs;
use std::io;
use std::path::{Path, PathBuf};

/// A regular file found by [`walk_files`].
///
/// # Examples
///
/// ```
/// use seqring_state::processing::tree::{walk_files, TreeFile};
/// let dir = tempfile::tempdir()?;
/// std::fs::create_dir(dir.path().join("raw"))?;
/// std::fs::write(dir.path().join("raw/frames.bin"), [0u8; 12])?;
/// let files: Vec<TreeFile> = walk_files(dir.path())?;
/// assert_eq!(files, [TreeFile { path: dir.path().join("raw/frames.bin"), relative: b"raw/frames.bin".to_vec(), len: 12 }]);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TreeFile {
    /// The full path.
    pub path: PathBuf,
    /// The path relative to the walked root, with `/` separators.
    pub relative: Vec<u8>,
    /// The size in bytes when walked.
    pub len: u64,
}

/// A directory of the tree (including empty ones), relative to the root.
///
/// # Examples
///
/// ```
/// use seqring_state::processing::tree::{walk, TreeDir};
/// let dir = tempfile::tempdir()?;
/// std::fs::create_dir_all(dir.path().join("raw/empty"))?;
/// let tree = walk(dir.path())?;
/// assert!(tree.files.is_empty());
/// let mut relative: Vec<_> = tree.dirs.iter().map(|d: &TreeDir| d.relative.clone()).collect();
/// relative.sort();
/// assert_eq!(relative, [std::path::PathBuf::from("raw"), std::path::PathBuf::from("raw/empty")]);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TreeDir {
    /// The full path.
    pub path: PathBuf,
    /// The path relative to the walked root.
    pub relative: PathBuf,
}

/// A walk failure: the path that could not be read.
///
/// # Examples
///
/// ```
/// use seqring_state::processing::tree::walk_files;
/// let dir = tempfile::tempdir()?;
/// let missing = dir.path().join("missing");
/// let err = walk_files(&missing).unwrap_err();
/// assert_eq!(err.path, missing);
/// assert_eq!(err.source.kind(), std::io::ErrorKind::NotFound);
/// assert!(err.to_string().starts_with("cannot read "));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug, thiserror::Error)]
#[error("cannot read {path}: {source}")]
pub struct WalkError {
    /// The directory or entry that failed.
    pub path: PathBuf,
    /// The I/O error.
    #[source]
    pub source: io::Error,
}

/// The regular files under `root`, in no particular order.
///
/// # Errors
///
/// [`WalkError`] when `root` is missing or not a directory, or a directory under it cannot be read.
///
/// # Examples
///
/// ```
/// use seqring_state::processing::tree::walk_files;
/// let dir = tempfile::tempdir()?;
/// std::fs::create_dir_all(dir.path().join("s1/raw"))?;
/// std::fs::write(dir.path().join("s1/raw/a.npy"), b"aa")?;
/// std::fs::write(dir.path().join("s1/notes.txt"), b"n")?;
/// std::os::unix::fs::symlink(dir.path().join("s1"), dir.path().join("link_to_dir"))?; // not followed
/// std::os::unix::fs::symlink(dir.path().join("s1/notes.txt"), dir.path().join("link.txt"))?; // included
/// let mut found: Vec<(String, u64)> =
///     walk_files(dir.path())?.into_iter().map(|f| (String::from_utf8(f.relative).unwrap(), f.len)).collect();
/// found.sort();
/// assert_eq!(found, [("link.txt".into(), 1), ("s1/notes.txt".into(), 1), ("s1/raw/a.npy".into(), 2)]);
/// assert!(walk_files(&dir.path().join("s1/notes.txt")).is_err(), "not a directory");
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub fn walk_files(root: &Path) -> Result<Vec<TreeFile>, WalkError> {
    walk(root).map(|tree| tree.files)
}

/// What [`walk`] found under a root.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Tree {
    /// The regular files, links to regular files included.
    pub files: Vec<TreeFile>,
    /// The directories, the root itself excluded; links to directories are not among them.
    pub dirs: Vec<TreeDir>,
    /// Every symbolic link met (to a file, to a directory, dangling or looping), relative to the root.
    pub links: Vec<PathBuf>,
}

/// The regular files, the directories (the root itself excluded) and the symbolic links under `root`, in no
/// particular order.
///
/// # Errors
///
/// As [`walk_files`].
///
/// # Examples
///
/// ```
/// use seqring_state::processing::tree::walk;
/// let dir = tempfile::tempdir()?;
/// std::fs::create_dir_all(dir.path().join("a/b"))?;
/// std::fs::write(dir.path().join("a/f.txt"), b"x")?;
/// let tree = walk(dir.path())?;
/// assert_eq!(tree.files.len(), 1);
/// assert_eq!(tree.dirs.len(), 2, "a and a/b; the root itself is not listed");
/// assert!(tree.links.is_empty());
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub fn walk(root: &Path) -> Result<Tree, WalkError> {
    let err = |path: &Path, source: io::Error| WalkError {
        path: path.to_path_buf(),
        source,
    };
    let meta = fs::metadata(root).map_err(|e| err(root, e))?;
    if !meta.is_dir() {
        return Err(err(
            root,
            io::Error::new(io::ErrorKind::NotADirectory, "not a directory"),
        ));
    }
    let mut tree = Tree::default();
    let mut pending = vec![root.to_path_buf()];
    while let Some(dir) = pending.pop() {
        for entry in fs::read_dir(&dir).map_err(|e| err(&dir, e))? {
            let entry = entry.map_err(|e| err(&dir, e))?;
            let path = entry.path();
            let kind = entry.file_type().map_err(|e| err(&path, e))?;
            let len = if kind.is_dir() {
                let relative = path.strip_prefix(root).unwrap_or(&path).to_path_buf();
                tree.dirs.push(TreeDir {
                    path: path.clone(),
                    relative,
                });
                pending.push(path);
                continue;
            } else if kind.is_file() {
                entry.metadata().map_err(|e| err(&path, e))?.len()
            } else if kind.is_symlink() {
                tree.links.push(path.strip_prefix(root).unwrap_or(&path).to_path_buf());
                match fs::metadata(&path) {
                    Ok(m) if m.is_file() => m.len(),
                    Ok(_) => continue,
                    Err(e) if is_absent(&e) => continue,
                    Err(e) => return Err(err(&path, e)),
                }
            } else {
                continue; // fifos, sockets, devices
            };
            let relative = seqring_platform::relative_path_bytes(path.strip_prefix(root).unwrap_or(&path));
            tree.files.push(TreeFile { path, relative, len });
        }
    }
    Ok(tree)
}

pub(crate) fn is_absent(e: &io::Error) -> bool {
    seqring_platform::is_absent(e)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    #[cfg(unix)] // symbolic links and inodes are Unix notions here
    fn follows_file_links_not_dir_links() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().join("root");
        fs::create_dir_all(root.join("sub/empty")).unwrap();
        fs::write(root.join("sub/a.txt"), b"abc").unwrap();
        std::os::unix::fs::symlink(root.join("sub/a.txt"), root.join("link.txt")).unwrap();
        std::os::unix::fs::symlink(root.join("sub"), root.join("dirlink")).unwrap();
        std::os::unix::fs::symlink(root.join("nothing"), root.join("dangling")).unwrap();
        std::os::unix::fs::symlink(&root, root.join("sub/loop")).unwrap();
        let Tree { files, dirs, mut links } = walk(&root).unwrap();
        let mut rel: Vec<_> = files
            .iter()
            .map(|f| String::from_utf8(f.relative.clone()).unwrap())
            .collect();
        rel.sort();
        assert_eq!(rel, ["link.txt", "sub/a.txt"]);
        assert!(files.iter().all(|f| f.len == 3));
        let mut d: Vec<_> = dirs.iter().map(|d| d.relative.clone()).collect();
        d.sort();
        assert_eq!(d, [PathBuf::from("sub"), PathBuf::from("sub/empty")]);
        links.sort();
        let expected = ["dangling", "dirlink", "link.txt", "sub/loop"].map(PathBuf::from);
        assert_eq!(links, expected, "every link is listed, whatever it points at");
    }

    #[test]
    fn missing_root_and_file_root_are_errors() {
        let dir = tempfile::tempdir().unwrap();
        let e = walk_files(&dir.path().join("nope")).unwrap_err();
        assert!(e.to_string().contains("nope"));
        fs::write(dir.path().join("f"), b"").unwrap();
        assert!(walk_files(&dir.path().join("f")).is_err());
    }
}
