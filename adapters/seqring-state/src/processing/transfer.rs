//! `transfer_directory`: a parallel copy of a tree that keeps its hierarchy, with optional verification and
//! removal of the source (ataraxis `transfer_directory`).
//!
//! Invariants:
//! - every directory of the source, empty ones included, exists in the destination afterwards, and every file
//!   that the checksum walk sees (links to files as their contents) is copied with its permission bits and
//!   modification time;
//! - with `verify`, the expected checksum is the one the source's `ax_checksum.txt` records (written when the data
//!   was acquired, so it also catches damage to the source since then); when there is none it is computed and,
//!   where the source is writable, saved there first, as ataraxis does. The destination is then checksummed and
//!   must match;
//! - the destination is checked before anything is written (ataraxis 7.2.0): a destination file the source does
//!   not account for (no source file at the same relative path; `ax_checksum.txt` never counts, since the copy
//!   overwrites it) is an error naming it, unless `reset_dirty_destination` is set, which deletes those files
//!   first. Files the source does account for are overwritten, so an interrupted transfer can be run again;
//! - the source is removed only after every file was copied and, when asked, verified; on any error it is left
//!   untouched;
//! - a destination inside the source (or equal to it) is refused, since the copy would feed on itself;
//! - a source that is a symbolic link, or holds any, is refused before anything is written (ataraxis 7.2.0 refuses
//!   them: a link's target may lie outside the session and would not travel with it), unless `allow_links` is set;
//!   then links to files are copied as their contents and links to directories are skipped.

use rayon::prelude::*;
use std::fs::{self, File};
use std::io;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

use super::atomic_write::atomic_write;
use super::checksum::{directory_checksum, saved_checksum, Checksum, ChecksumError, ChecksumOptions, CHECKSUM_FILE};
use super::delete::{delete_directory, DeleteError};
use super::tree::{walk, walk_files, Tree, TreeFile, WalkError};
use std::collections::HashSet;
use std::ffi::OsStr;

/// Progress of a running transfer, given to [`TransferOptions::progress`] after each copied file.
///
/// # Examples
///
/// ```
/// use seqring_state::processing::{transfer_directory, TransferOptions, TransferProgress};
/// let dir = tempfile::tempdir()?;
/// let (src, dst) = (dir.path().join("session"), dir.path().join("server/session"));
/// std::fs::create_dir_all(src.join("raw"))?;
/// std::fs::write(src.join("raw/frames.bin"), vec![3u8; 1000])?;
/// std::fs::write(src.join("notes.txt"), b"ok")?;
/// use std::sync::Mutex;
/// let seen: Mutex<Vec<TransferProgress>> = Mutex::new(Vec::new());
/// let report = |p: &TransferProgress| seen.lock().unwrap().push(p.clone());
/// transfer_directory(&src, &dst, &TransferOptions { progress: Some(&report), ..Default::default() })?;
/// let seen = seen.into_inner().unwrap();
/// assert_eq!(seen.len(), 2, "once per copied file");
/// assert!(seen.iter().all(|p| p.files_total == 2 && p.bytes_total == 1002 && p.file.starts_with(&dst)));
/// assert_eq!(seen.iter().map(|p| p.bytes_done).max(), Some(1002));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TransferProgress {
    /// The destination file just written.
    pub file: PathBuf,
    /// Files copied so far.
    pub files_done: u64,
    /// Files to copy.
    pub files_total: u64,
    /// Bytes copied so far.
    pub bytes_done: u64,
    /// Bytes to copy.
    pub bytes_total: u64,
}

/// Options of [`transfer_directory`].
///
/// # Examples
///
/// ```
/// use seqring_state::processing::{transfer_directory, TransferOptions};
/// let dir = tempfile::tempdir()?;
/// let (src, dst) = (dir.path().join("session"), dir.path().join("server/session"));
/// std::fs::create_dir_all(src.join("raw"))?;
/// std::fs::write(src.join("raw/frames.bin"), vec![3u8; 1000])?;
/// std::fs::write(src.join("notes.txt"), b"ok")?;
/// // The defaults copy, without verifying and without removing the source.
/// let report = transfer_directory(&src, &dst, &TransferOptions::default())?;
/// assert_eq!((report.files, report.checksum, report.removed_source), (2, None, false));
/// assert!(src.exists());
/// // Verified, then moved.
/// let opts = TransferOptions { workers: Some(2), verify: true, remove_source: true, ..Default::default() };
/// let report = transfer_directory(&src, &dst, &opts)?;
/// assert!(report.checksum.is_some() && report.removed_source && !src.exists());
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Clone, Copy, Default)]
pub struct TransferOptions<'a> {
    /// Worker threads for copying and checksumming; `None` uses one per core.
    pub workers: Option<usize>,
    /// Verify the copy against the source's checksum.
    pub verify: bool,
    /// Delete the source after a successful (and, with `verify`, verified) copy.
    pub remove_source: bool,
    /// Delete the destination's files that the source does not account for, instead of refusing the transfer.
    pub reset_dirty_destination: bool,
    /// Copy a source that holds symbolic links (links to files as their contents; links to directories are
    /// skipped) instead of refusing it.
    pub allow_links: bool,
    /// Called after each copied file, from worker threads.
    pub progress: Option<&'a (dyn Fn(&TransferProgress) + Sync)>,
}

impl std::fmt::Debug for TransferOptions<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TransferOptions")
            .field("workers", &self.workers)
            .field("verify", &self.verify)
            .field("remove_source", &self.remove_source)
            .field("reset_dirty_destination", &self.reset_dirty_destination)
            .field("allow_links", &self.allow_links)
            .field("progress", &self.progress.is_some())
            .finish()
    }
}

/// What a transfer did.
///
/// # Examples
///
/// ```
/// use seqring_state::processing::{transfer_directory, saved_checksum, TransferOptions};
/// let dir = tempfile::tempdir()?;
/// let (src, dst) = (dir.path().join("session"), dir.path().join("server/session"));
/// std::fs::create_dir_all(src.join("raw"))?;
/// std::fs::write(src.join("raw/frames.bin"), vec![3u8; 1000])?;
/// std::fs::write(src.join("notes.txt"), b"ok")?;
/// let report = transfer_directory(&src, &dst, &TransferOptions { verify: true, ..Default::default() })?;
/// // Verifying first saves the source's checksum in it (32 hex digits in `ax_checksum.txt`), and the copy carries it.
/// assert_eq!((report.files, report.bytes), (3, 1002 + 32));
/// assert!(dst.join("ax_checksum.txt").exists());
/// assert_eq!(report.checksum, saved_checksum(&src)?, "the source's checksum, saved before the copy");
/// assert!(!report.removed_source && report.cleared.is_empty());
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TransferReport {
    /// Files copied.
    pub files: u64,
    /// Bytes copied.
    pub bytes: u64,
    /// The verified checksum, when `verify` was set.
    pub checksum: Option<Checksum>,
    /// Whether the source was removed.
    pub removed_source: bool,
    /// The stale destination files deleted first (`reset_dirty_destination`).
    pub cleared: Vec<PathBuf>,
}

/// A failed transfer. The source is never removed after one.
///
/// # Examples
///
/// ```
/// use seqring_state::processing::{transfer_directory, TransferError, TransferOptions};
/// let dir = tempfile::tempdir()?;
/// let (src, dst) = (dir.path().join("session"), dir.path().join("server/session"));
/// std::fs::create_dir_all(src.join("raw"))?;
/// std::fs::write(src.join("raw/frames.bin"), vec![3u8; 1000])?;
/// std::fs::write(src.join("notes.txt"), b"ok")?;
/// let inside = src.join("backup");
/// let err = transfer_directory(&src, &inside, &TransferOptions::default()).unwrap_err();
/// assert!(matches!(err, TransferError::Nested { .. }));
/// let err = transfer_directory(dir.path().join("missing"), &dst, &TransferOptions::default()).unwrap_err();
/// assert!(matches!(err, TransferError::Walk(_)));
/// assert!(src.exists(), "the source is never removed after a failure");
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug, thiserror::Error)]
pub enum TransferError {
    /// The source tree could not be walked.
    #[error(transparent)]
    Walk(#[from] WalkError),
    /// The destination is the source or lies inside it.
    #[error("cannot transfer {source_dir} to {destination}: the destination is inside the source")]
    Nested {
        /// The source directory.
        source_dir: PathBuf,
        /// The destination directory.
        destination: PathBuf,
    },
    /// The source is a symbolic link or holds some, and `allow_links` is not set.
    #[error(
        "cannot transfer {source_dir}: it {}; pass the directory a link resolves to, or resolve the links into \
         real data first",
        describe_links(links)
    )]
    Links {
        /// The source directory.
        source_dir: PathBuf,
        /// The links, relative to the source (empty when the source itself is the link), sorted.
        links: Vec<PathBuf>,
    },
    /// The destination holds files the source does not account for, and `reset_dirty_destination` is not set.
    #[error(
        "cannot transfer {source_dir} to {destination}: the destination already holds {count} file(s) the source \
         does not have, such as {example}; remove them or reset the dirty destination"
    )]
    DirtyDestination {
        /// The source directory.
        source_dir: PathBuf,
        /// The destination directory.
        destination: PathBuf,
        /// How many such files there are.
        count: usize,
        /// The first of them, by path.
        example: PathBuf,
    },
    /// A stale destination file could not be deleted (`reset_dirty_destination`).
    #[error("cannot delete the stale destination file {path}: {error}")]
    Clear {
        /// The file.
        path: PathBuf,
        /// The I/O error.
        #[source]
        error: io::Error,
    },
    /// A directory or file could not be created or copied.
    #[error("cannot copy {from} to {to}: {error}")]
    Copy {
        /// The source path.
        from: PathBuf,
        /// The destination path.
        to: PathBuf,
        /// The I/O error.
        #[source]
        error: io::Error,
    },
    /// A checksum could not be computed.
    #[error(transparent)]
    Checksum(#[from] ChecksumError),
    /// The source's checksum file could not be read.
    #[error("cannot read the checksum of {path}: {error}")]
    ReadChecksum {
        /// The source directory.
        path: PathBuf,
        /// The I/O error.
        #[source]
        error: io::Error,
    },
    /// The copy does not match the source.
    #[error("the copy {destination} does not match {source_dir}: checksum {actual}, expected {expected}")]
    Mismatch {
        /// The source directory.
        source_dir: PathBuf,
        /// The destination directory.
        destination: PathBuf,
        /// The source's checksum.
        expected: Checksum,
        /// The copy's checksum.
        actual: Checksum,
    },
    /// The source could not be removed after a successful copy.
    #[error(transparent)]
    RemoveSource(#[from] DeleteError),
}

/// Copies the tree at `source` into `destination` (created if missing). Destination files at the paths of source
/// files are overwritten; any other destination file is refused, or deleted with `reset_dirty_destination`.
///
/// # Examples
///
/// ```
/// use seqring_state::processing::{transfer_directory, TransferOptions};
/// let dir = tempfile::tempdir()?;
/// let (src, dst) = (dir.path().join("src"), dir.path().join("dst"));
/// std::fs::create_dir_all(src.join("sub"))?;
/// std::fs::write(src.join("sub/data.bin"), b"\x00\x01")?;
/// let opts = TransferOptions { verify: true, remove_source: true, ..Default::default() };
/// let report = transfer_directory(&src, &dst, &opts)?;
/// assert_eq!(std::fs::read(dst.join("sub/data.bin"))?, b"\x00\x01");
/// assert!(report.removed_source && !src.exists());
/// assert!(dst.join("ax_checksum.txt").exists());
///
/// // A destination holding a file the source does not have is refused, unless it is reset first.
/// std::fs::create_dir_all(src.join("sub"))?;
/// std::fs::write(src.join("sub/data.bin"), b"\x02")?;
/// std::fs::write(dst.join("stale.bin"), b"old")?;
/// let err = transfer_directory(&src, &dst, &TransferOptions::default()).unwrap_err();
/// assert!(err.to_string().contains("stale.bin"));
/// let reset = TransferOptions { reset_dirty_destination: true, ..Default::default() };
/// let report = transfer_directory(&src, &dst, &reset)?;
/// assert_eq!(report.cleared, [dst.join("stale.bin")]);
/// assert!(!dst.join("stale.bin").exists());
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
///
/// # Errors
///
/// [`TransferError`] naming the path involved; see the variants. The source is left in place on every error.
pub fn transfer_directory(
    source: impl AsRef<Path>,
    destination: impl AsRef<Path>,
    options: &TransferOptions<'_>,
) -> Result<TransferReport, TransferError> {
    let (source, destination) = (source.as_ref(), destination.as_ref());
    let links_refused = |links| TransferError::Links {
        source_dir: source.to_path_buf(),
        links,
    };
    if !options.allow_links && fs::symlink_metadata(source).is_ok_and(|m| m.file_type().is_symlink()) {
        return Err(links_refused(Vec::new()));
    }
    // Walking first also checks that the source is a readable directory.
    let Tree { files, dirs, mut links } = walk(source)?;
    if !options.allow_links && !links.is_empty() {
        links.sort();
        return Err(links_refused(links));
    }
    check_not_nested(source, destination)?;
    // Refused before the destination is touched (ataraxis's order): a verified transfer needs a file to checksum.
    if options.verify
        && files
            .iter()
            .all(|f| f.path.file_name() == Some(OsStr::new(CHECKSUM_FILE)))
    {
        return Err(ChecksumError::Empty {
            path: source.to_path_buf(),
        }
        .into());
    }
    let cleared = clear_dirty_destination(source, destination, &files, options.reset_dirty_destination)?;
    let checksum_opts = ChecksumOptions {
        workers: options.workers,
        save: false,
        ..Default::default()
    };
    let expected = if options.verify {
        let saved = saved_checksum(source).map_err(|error| TransferError::ReadChecksum {
            path: source.to_path_buf(),
            error,
        })?;
        match saved {
            Some(sum) => Some(sum),
            None => {
                let sum = directory_checksum(source, &checksum_opts)?;
                // Saved so the copy carries it, as ataraxis does; a read-only source still gets verified.
                let _ = atomic_write(source.join(CHECKSUM_FILE), sum.to_hex());
                Some(sum)
            }
        }
    } else {
        None
    };
    // Walked again: the checksum just saved travels with the data it covers.
    let (files, dirs) = if expected.is_some() {
        let tree = walk(source)?;
        (tree.files, tree.dirs)
    } else {
        (files, dirs)
    };
    let copy_err = |from: &Path, to: &Path, error| TransferError::Copy {
        from: from.into(),
        to: to.into(),
        error,
    };
    fs::create_dir_all(destination).map_err(|e| copy_err(source, destination, e))?;
    for dir in &dirs {
        let to = destination.join(&dir.relative);
        fs::create_dir_all(&to).map_err(|e| copy_err(&dir.path, &to, e))?;
    }
    let files_total = files.len() as u64;
    let bytes_total: u64 = files.iter().map(|f| f.len).sum();
    let files_done = AtomicU64::new(0);
    let bytes_done = AtomicU64::new(0);
    let copy_all = || {
        files.par_iter().with_max_len(1).try_for_each(|file| {
            let relative = file.path.strip_prefix(source).unwrap_or(&file.path);
            let to = destination.join(relative);
            let n = copy_file(&file.path, &to).map_err(|e| copy_err(&file.path, &to, e))?;
            let fd = files_done.fetch_add(1, Ordering::Relaxed) + 1;
            let bd = bytes_done.fetch_add(n, Ordering::Relaxed) + n;
            if let Some(progress) = options.progress {
                progress(&TransferProgress {
                    file: to,
                    files_done: fd,
                    files_total,
                    bytes_done: bd,
                    bytes_total,
                });
            }
            Ok::<(), TransferError>(())
        })
    };
    match options.workers {
        Some(workers) => rayon::ThreadPoolBuilder::new()
            .num_threads(workers)
            .build()
            .map_err(|e| ChecksumError::Workers {
                workers,
                message: e.to_string(),
            })?
            .install(copy_all)?,
        None => copy_all()?,
    }
    if let Some(expected) = expected {
        let actual = directory_checksum(destination, &checksum_opts)?;
        if actual != expected {
            return Err(TransferError::Mismatch {
                source_dir: source.to_path_buf(),
                destination: destination.to_path_buf(),
                expected,
                actual,
            });
        }
    }
    if options.remove_source {
        delete_directory(source)?;
    }
    Ok(TransferReport {
        files: files_total,
        bytes: bytes_done.into_inner(),
        checksum: expected,
        removed_source: options.remove_source,
        cleared,
    })
}

/// How [`TransferError::Links`] words the links: the source itself, or how many it holds and which.
fn describe_links(links: &[PathBuf]) -> String {
    if links.is_empty() {
        return "is a symbolic link rather than a real directory".into();
    }
    let names: Vec<String> = links.iter().map(|l| l.display().to_string()).collect();
    format!("holds {} symbolic link(s): {}", links.len(), names.join(", "))
}

/// The destination files the source does not account for, sorted; deleted when `reset`, else an error. Nothing is
/// written when the destination does not exist yet.
fn clear_dirty_destination(
    source: &Path,
    destination: &Path,
    source_files: &[TreeFile],
    reset: bool,
) -> Result<Vec<PathBuf>, TransferError> {
    if let Err(e) = fs::symlink_metadata(destination) {
        if e.kind() == io::ErrorKind::NotFound {
            return Ok(Vec::new());
        }
    }
    let expected: HashSet<&[u8]> = source_files.iter().map(|f| f.relative.as_slice()).collect();
    let mut stale: Vec<PathBuf> = walk_files(destination)?
        .into_iter()
        .filter(|f| f.path.file_name() != Some(OsStr::new(CHECKSUM_FILE)) && !expected.contains(f.relative.as_slice()))
        .map(|f| f.path)
        .collect();
    stale.sort_unstable();
    if let (false, Some(example)) = (reset, stale.first()) {
        return Err(TransferError::DirtyDestination {
            source_dir: source.to_path_buf(),
            destination: destination.to_path_buf(),
            count: stale.len(),
            example: example.clone(),
        });
    }
    for path in &stale {
        fs::remove_file(path).map_err(|error| TransferError::Clear {
            path: path.clone(),
            error,
        })?;
    }
    Ok(stale)
}

fn check_not_nested(source: &Path, destination: &Path) -> Result<(), TransferError> {
    let src = fs::canonicalize(source).map_err(|e| WalkError {
        path: source.to_path_buf(),
        source: e,
    })?;
    // Resolve the longest existing ancestor of the destination, then append the rest.
    let mut existing = destination.to_path_buf();
    let mut rest = Vec::new();
    let resolved = loop {
        match fs::canonicalize(&existing) {
            Ok(p) => break Some(p),
            Err(_) => match (existing.file_name().map(|n| n.to_os_string()), existing.parent()) {
                (Some(name), Some(parent)) => {
                    rest.push(name);
                    existing = if parent.as_os_str().is_empty() {
                        PathBuf::from(".")
                    } else {
                        parent.to_path_buf()
                    };
                }
                _ => break None,
            },
        }
    };
    if let Some(mut dst) = resolved {
        dst.extend(rest.iter().rev());
        if dst.starts_with(&src) {
            return Err(TransferError::Nested {
                source_dir: source.to_path_buf(),
                destination: destination.to_path_buf(),
            });
        }
    }
    Ok(())
}

/// Copies one file's contents and permission bits, then its modification time; returns the bytes copied.
fn copy_file(from: &Path, to: &Path) -> io::Result<u64> {
    let n = match fs::copy(from, to) {
        Err(e) if e.kind() == io::ErrorKind::PermissionDenied && fs::symlink_metadata(to).is_ok() => {
            // A read-only file from an earlier copy: replace it.
            fs::remove_file(to)?;
            fs::copy(from, to)?
        }
        other => other?,
    };
    let modified = fs::metadata(from)?.modified()?;
    // Setting the time needs write access, which a read-only source mode denies: a best effort then.
    if let Ok(f) = File::options().write(true).open(to) {
        let _ = f.set_modified(modified);
    }
    Ok(n)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Mutex;

    fn tree(root: &Path) {
        fs::create_dir_all(root.join("a/b")).unwrap();
        fs::create_dir_all(root.join("empty")).unwrap();
        fs::write(root.join("top.txt"), b"top").unwrap();
        for i in 0..30 {
            fs::write(root.join(format!("a/b/{i}.bin")), vec![i as u8; 1000 + i]).unwrap();
        }
    }

    #[test]
    fn copies_hierarchy_and_empty_dirs() {
        let dir = tempfile::tempdir().unwrap();
        let (src, dst) = (dir.path().join("src"), dir.path().join("x/dst"));
        tree(&src);
        let report = transfer_directory(
            &src,
            &dst,
            &TransferOptions {
                workers: Some(2),
                ..Default::default()
            },
        )
        .unwrap();
        assert_eq!(report.files, 31);
        assert!(dst.join("empty").is_dir());
        assert_eq!(fs::read(dst.join("a/b/7.bin")).unwrap(), vec![7u8; 1007]);
        assert!(src.exists() && !report.removed_source && report.checksum.is_none());
        let no_save = ChecksumOptions {
            save: false,
            ..Default::default()
        };
        assert_eq!(
            directory_checksum(&src, &no_save).unwrap(),
            directory_checksum(&dst, &no_save).unwrap()
        );
    }

    #[test]
    #[cfg(unix)] // symbolic links are made with the Unix call here
    fn links_are_refused_before_anything_is_written_unless_allowed() {
        let dir = tempfile::tempdir().unwrap();
        let (src, dst) = (dir.path().join("src"), dir.path().join("dst"));
        tree(&src);
        fs::write(dir.path().join("outside.txt"), b"outside").unwrap();
        std::os::unix::fs::symlink(dir.path().join("outside.txt"), src.join("a/link.txt")).unwrap();
        std::os::unix::fs::symlink(src.join("a"), src.join("dirlink")).unwrap();
        let err = transfer_directory(&src, &dst, &TransferOptions::default()).unwrap_err();
        let TransferError::Links { links, .. } = &err else {
            panic!("{err}")
        };
        assert_eq!(links, &[PathBuf::from("a/link.txt"), PathBuf::from("dirlink")]);
        assert!(
            err.to_string().contains("2 symbolic link(s): a/link.txt, dirlink"),
            "{err}"
        );
        assert!(!dst.exists(), "nothing written before the refusal");
        // The source itself a link: refused, naming no inner link.
        let via = dir.path().join("via");
        std::os::unix::fs::symlink(&src, &via).unwrap();
        let err = transfer_directory(
            &via,
            &dst,
            &TransferOptions {
                allow_links: false,
                ..Default::default()
            },
        );
        assert!(
            matches!(&err, Err(TransferError::Links { links, .. }) if links.is_empty()),
            "{err:?}"
        );
        // Allowed: a link to a file travels as its contents, a link to a directory is skipped.
        let allow = TransferOptions {
            allow_links: true,
            ..Default::default()
        };
        let report = transfer_directory(&src, &dst, &allow).unwrap();
        assert_eq!(report.files, 32);
        assert_eq!(fs::read(dst.join("a/link.txt")).unwrap(), b"outside");
        assert!(!fs::symlink_metadata(dst.join("a/link.txt"))
            .unwrap()
            .file_type()
            .is_symlink());
        assert!(!dst.join("dirlink").exists());
    }

    #[test]
    fn verify_catches_corruption_and_keeps_source() {
        let dir = tempfile::tempdir().unwrap();
        let (src, dst) = (dir.path().join("src"), dir.path().join("dst"));
        tree(&src);
        let corrupted = Mutex::new(false);
        // Inject corruption into the first copied file, right after it is written: a data file, not the saved
        // checksum, which the checksum leaves out (copied in parallel, it is the first one now and then).
        let cb = |p: &TransferProgress| {
            let mut done = corrupted.lock().unwrap();
            if !*done && !p.file.ends_with(CHECKSUM_FILE) {
                let mut bytes = fs::read(&p.file).unwrap();
                bytes.push(0xff);
                fs::write(&p.file, bytes).unwrap();
                *done = true;
            }
        };
        let opts = TransferOptions {
            verify: true,
            remove_source: true,
            progress: Some(&cb),
            ..Default::default()
        };
        let err = transfer_directory(&src, &dst, &opts).unwrap_err();
        assert!(matches!(err, TransferError::Mismatch { .. }), "{err}");
        assert!(err.to_string().contains("dst"));
        assert!(
            src.join("a/b/0.bin").exists(),
            "the source must survive a failed verification"
        );
        // Without the corruption, the same transfer succeeds and removes the source.
        let ok = TransferOptions {
            verify: true,
            remove_source: true,
            ..Default::default()
        };
        let report = transfer_directory(&src, &dst, &ok).unwrap();
        assert!(report.removed_source && !src.exists() && report.checksum.is_some());
    }

    #[test]
    fn stale_source_checksum_is_caught() {
        let dir = tempfile::tempdir().unwrap();
        let (src, dst) = (dir.path().join("src"), dir.path().join("dst"));
        tree(&src);
        directory_checksum(&src, &ChecksumOptions::default()).unwrap();
        fs::write(src.join("top.txt"), b"changed after acquisition").unwrap();
        let opts = TransferOptions {
            verify: true,
            remove_source: true,
            ..Default::default()
        };
        assert!(matches!(
            transfer_directory(&src, &dst, &opts),
            Err(TransferError::Mismatch { .. })
        ));
        assert!(src.exists());
    }

    #[test]
    fn dirty_destination_refused_before_anything_is_written() {
        let dir = tempfile::tempdir().unwrap();
        let (src, dst) = (dir.path().join("src"), dir.path().join("dst"));
        tree(&src);
        fs::create_dir_all(dst.join("a/b")).unwrap();
        fs::write(dst.join("a/b/0.bin"), b"accounted for: overwritten").unwrap();
        fs::write(dst.join("a/b/zz.tmp"), b"stale").unwrap();
        fs::write(dst.join("old.txt"), b"stale").unwrap();
        fs::write(dst.join(CHECKSUM_FILE), b"never counts").unwrap();
        let verify = TransferOptions {
            verify: true,
            ..Default::default()
        };
        let err = transfer_directory(&src, &dst, &verify).unwrap_err();
        match &err {
            TransferError::DirtyDestination { count, example, .. } => {
                assert_eq!((*count, example), (2, &dst.join("a/b/zz.tmp")));
            }
            other => panic!("{other}"),
        }
        assert!(err.to_string().contains("zz.tmp"), "{err}");
        // Nothing was written: neither the copy nor the source's checksum file.
        assert_eq!(fs::read(dst.join("a/b/0.bin")).unwrap(), b"accounted for: overwritten");
        assert!(!dst.join("top.txt").exists() && !src.join(CHECKSUM_FILE).exists());

        let reset = TransferOptions {
            verify: true,
            reset_dirty_destination: true,
            ..Default::default()
        };
        let report = transfer_directory(&src, &dst, &reset).unwrap();
        assert_eq!(report.cleared, [dst.join("a/b/zz.tmp"), dst.join("old.txt")]);
        assert!(report.checksum.is_some());
        assert_eq!(fs::read(dst.join("a/b/0.bin")).unwrap(), vec![0u8; 1000]);
        // The same transfer again finds a clean destination.
        assert!(transfer_directory(&src, &dst, &verify).unwrap().cleared.is_empty());
        // A destination that is a file is an error naming it, and stays as it was.
        let file = dir.path().join("file_dst");
        fs::write(&file, b"a file").unwrap();
        let err = transfer_directory(&src, &file, &reset).unwrap_err();
        assert!(err.to_string().contains("file_dst"), "{err}");
        assert_eq!(fs::read(&file).unwrap(), b"a file");
    }

    #[test]
    fn verified_transfer_of_nothing_refused_before_the_destination_is_cleared() {
        let dir = tempfile::tempdir().unwrap();
        let (src, dst) = (dir.path().join("src"), dir.path().join("dst"));
        fs::create_dir_all(src.join("empty")).unwrap();
        fs::create_dir_all(&dst).unwrap();
        fs::write(dst.join("stray.txt"), b"destination data").unwrap();
        let opts = TransferOptions {
            verify: true,
            reset_dirty_destination: true,
            ..Default::default()
        };
        let err = transfer_directory(&src, &dst, &opts).unwrap_err();
        assert!(
            matches!(err, TransferError::Checksum(ChecksumError::Empty { .. })),
            "{err}"
        );
        assert!(dst.join("stray.txt").exists());
        // A source holding only a checksum file has nothing to verify either.
        fs::write(src.join(CHECKSUM_FILE), b"0").unwrap();
        let err = transfer_directory(&src, &dst, &opts).unwrap_err();
        assert!(
            matches!(err, TransferError::Checksum(ChecksumError::Empty { .. })),
            "{err}"
        );
        assert!(dst.join("stray.txt").exists());
    }

    #[test]
    fn nested_destination_and_missing_source_refused() {
        let dir = tempfile::tempdir().unwrap();
        let src = dir.path().join("src");
        tree(&src);
        let err = transfer_directory(&src, src.join("inner/copy"), &TransferOptions::default()).unwrap_err();
        assert!(matches!(err, TransferError::Nested { .. }), "{err}");
        assert!(transfer_directory(&src, &src, &TransferOptions::default()).is_err());
        let err = transfer_directory(
            dir.path().join("none"),
            dir.path().join("d"),
            &TransferOptions::default(),
        );
        assert!(err.unwrap_err().to_string().contains("none"));
    }
}
