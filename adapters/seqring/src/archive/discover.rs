//! Finding archives on disk and counting their messages without validating them.
//!
//! Invariants: only files named `{id}_log.npz` with a decimal `u8` id count as archives; directory walks never
//! follow symbolic links to directories (so a link cycle cannot loop), and an unreadable directory is an error
//! naming it, never silently skipped.

use std::collections::BTreeMap;
use std::fs::File;
use std::path::{Path, PathBuf};

use super::reader::source_from_file_name;
use super::zipdir;
use super::{ArchiveError, ARCHIVE_SUFFIX};

fn io(path: &Path) -> impl FnOnce(std::io::Error) -> ArchiveError + '_ {
    move |source| ArchiveError::Io {
        path: path.to_path_buf(),
        source,
    }
}

fn is_file(entry: &std::fs::DirEntry) -> Result<bool, ArchiveError> {
    let path = entry.path();
    let kind = entry.file_type().map_err(io(&path))?;
    Ok(kind.is_file() || (kind.is_symlink() && path.is_file()))
}

/// The archives directly inside `dir` (not in its subdirectories), keyed by source id.
///
/// # Errors
/// [`ArchiveError::NotADirectory`] or [`ArchiveError::Io`] if `dir` cannot be listed.
///
/// # Examples
/// ```
/// # let fixtures = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/fixtures/ataraxis-7.2.0");
/// # if !fixtures.exists() { return; }
/// use seqring::archive::discover_log_archives;
/// let found = discover_log_archives(fixtures.join("archives")).unwrap();
/// assert_eq!(found.keys().copied().collect::<Vec<_>>(), [1, 7, 200]);
/// ```
pub fn discover_log_archives(dir: impl AsRef<Path>) -> Result<BTreeMap<u8, PathBuf>, ArchiveError> {
    let dir = dir.as_ref();
    if !dir.is_dir() {
        return Err(ArchiveError::NotADirectory { path: dir.into() });
    }
    let mut out = BTreeMap::new();
    for entry in std::fs::read_dir(dir).map_err(io(dir))? {
        let entry = entry.map_err(io(dir))?;
        let path = entry.path();
        if let Some(id) = source_from_file_name(&path) {
            if is_file(&entry)? && canonical(&path) {
                out.insert(id, path);
            }
        }
    }
    Ok(out)
}

/// Whether the file name is exactly `{id}_log.npz` with no leading zeros, as assembly names archives.
fn canonical(path: &Path) -> bool {
    match (path.file_name().and_then(|n| n.to_str()), source_from_file_name(path)) {
        (Some(name), Some(id)) => name == format!("{id}{ARCHIVE_SUFFIX}"),
        _ => false,
    }
}

/// Walks the tree under `root` and collects the archives of the sources in `wanted`.
fn walk(root: &Path, wanted: &BTreeMap<u8, Vec<PathBuf>>) -> Result<BTreeMap<u8, Vec<PathBuf>>, ArchiveError> {
    if !root.is_dir() {
        return Err(ArchiveError::NotADirectory { path: root.into() });
    }
    let mut found = wanted.clone();
    let mut stack = vec![root.to_path_buf()];
    while let Some(dir) = stack.pop() {
        for entry in std::fs::read_dir(&dir).map_err(io(&dir))? {
            let entry = entry.map_err(io(&dir))?;
            let path = entry.path();
            let kind = entry.file_type().map_err(io(&path))?;
            if kind.is_dir() {
                stack.push(path);
                continue;
            }
            if let Some(id) = source_from_file_name(&path) {
                if let Some(list) = found.get_mut(&id) {
                    if canonical(&path) && is_file(&entry)? {
                        list.push(path);
                    }
                }
            }
        }
    }
    for list in found.values_mut() {
        list.sort();
    }
    Ok(found)
}

/// The one archive of `source_id` anywhere under `root`.
///
/// # Errors
/// [`ArchiveError::NotADirectory`], [`ArchiveError::NoArchive`], [`ArchiveError::SeveralArchives`], or
/// [`ArchiveError::Io`] naming a directory that cannot be read.
///
/// # Examples
/// ```
/// # let fixtures = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/fixtures/ataraxis-7.2.0");
/// # if !fixtures.exists() { return; }
/// use seqring::archive::find_log_archive;
/// assert!(find_log_archive(&fixtures, 200).unwrap().ends_with("archives/200_log.npz"));
/// assert!(find_log_archive(&fixtures, 2).is_err());
/// ```
pub fn find_log_archive(root: impl AsRef<Path>, source_id: u8) -> Result<PathBuf, ArchiveError> {
    let root = root.as_ref();
    find_log_archives(root, [source_id])?
        .remove(&source_id)
        .ok_or_else(|| ArchiveError::NoArchive {
            root: root.into(),
            source_id,
        })
}

/// The one archive of each source in `source_ids` anywhere under `root`, found in a single walk. Either every
/// source resolves to exactly one archive, or the call fails.
///
/// # Errors
/// As [`find_log_archive`], for the first source (in increasing id order) that has none or several.
///
/// # Examples
/// ```
/// # use seqring::archive::{assemble_log_archives, AssembleOptions};
/// # use seqring::logger::DataLogger;
/// # let dir = tempfile::tempdir().unwrap();
/// # let name = format!("doc-find-archives-{}", std::process::id());
/// # let logger = DataLogger::builder(dir.path(), &name).start().unwrap();
/// # let source = logger.producer(1).unwrap();
/// # for (t, frame) in [(1_000, &b"frame 1"[..]), (2_000, b"frame 2"), (3_000, b"frame 3")] {
/// #     source.log_at(t, frame).unwrap();
/// # }
/// # let source = logger.producer(7).unwrap();
/// # for (t, frame) in [(1_000, &b"frame 1"[..]), (2_000, b"frame 2"), (3_000, b"frame 3")] {
/// #     source.log_at(t, frame).unwrap();
/// # }
/// # let log_dir = logger.stop().unwrap().log_dir;
/// # assemble_log_archives(&log_dir, &AssembleOptions::default()).unwrap();
/// use seqring::archive::find_log_archives;
/// // the parent of a log directory in which sources 1 and 7 were assembled
/// let found = find_log_archives(dir.path(), [7, 1]).unwrap();
/// assert_eq!(found[&7], log_dir.join("7_log.npz"));
/// assert_eq!(found.len(), 2);
/// assert!(find_log_archives(dir.path(), [1, 2]).is_err(), "no archive of source 2");
/// ```
pub fn find_log_archives(
    root: impl AsRef<Path>,
    source_ids: impl IntoIterator<Item = u8>,
) -> Result<BTreeMap<u8, PathBuf>, ArchiveError> {
    let root = root.as_ref();
    let wanted: BTreeMap<u8, Vec<PathBuf>> = source_ids.into_iter().map(|id| (id, Vec::new())).collect();
    if wanted.is_empty() {
        return Ok(BTreeMap::new());
    }
    let found = walk(root, &wanted)?;
    let mut out = BTreeMap::new();
    for (source_id, mut paths) in found {
        match paths.len() {
            0 => {
                return Err(ArchiveError::NoArchive {
                    root: root.into(),
                    source_id,
                })
            }
            1 => {
                out.insert(source_id, paths.pop().unwrap_or_default());
            }
            _ => {
                return Err(ArchiveError::SeveralArchives {
                    root: root.into(),
                    source_id,
                    paths,
                })
            }
        }
    }
    Ok(out)
}

/// The number of messages in the archive at `path` (the onset excluded), read from the zip directory alone: the
/// entries whose name does not end in `_00000000000000000000.npy`, as ataraxis counts them.
///
/// # Errors
/// [`ArchiveError::Io`] if the file cannot be read, [`ArchiveError::Zip`] if its zip directory is malformed.
///
/// # Examples
/// ```
/// # let fixtures = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/fixtures/ataraxis-7.2.0");
/// # if !fixtures.exists() { return; }
/// use seqring::archive::read_archive_message_count;
/// assert_eq!(read_archive_message_count(fixtures.join("archives/7_log.npz")).unwrap(), 73);
/// ```
pub fn read_archive_message_count(path: impl AsRef<Path>) -> Result<usize, ArchiveError> {
    let path = path.as_ref();
    let file = File::open(path).map_err(io(path))?;
    // Archives are replaced whole, never modified in place (the region layer's mapped-file contract).
    let map = seqring_platform::ReadOnlyMap::of_file(&file).map_err(io(path))?;
    let bytes: &[u8] = &map;
    let zip = |source| ArchiveError::Zip {
        path: path.into(),
        source,
    };
    // The directory alone, walked in place (no owned index of every entry, as the zip crate builds).
    let mut headers = zipdir::Centrals::new(bytes, zipdir::directory(bytes).map_err(zip)?);
    let mut count = 0;
    while let Some(central) = headers.next_header() {
        count += usize::from(!central.map_err(zip)?.name.ends_with(b"_00000000000000000000.npy"));
    }
    Ok(count)
}
