//! Marker-file discovery (ataraxis `discover_marker_files`, `discover_marker_roots`, `index_marker_files` and
//! `resolve_unique_roots`): finding the small files that mark data assets (a session's `session_data.yaml`, a
//! tracker) in trees that hold far more data files than markers.
//!
//! The walk is parallel: every directory is listed by its own rayon task, so a wide tree of many thousands of
//! directories is read by all workers at once, and only the matching entries are kept (never the whole tree).
//!
//! Invariants:
//! - an entry matches when its file name equals a marker name exactly and it resolves to a file: regular files, and
//!   symbolic links whose target is a file; links to directories are reported as nothing and never followed, so the
//!   walk stays inside the tree and cannot loop; a dangling or looping link is no file;
//! - a directory that cannot be read is an error naming it, never a silently smaller result;
//! - results are sorted by path (bytewise), so they do not depend on the number of workers or on timing.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::ffi::{OsStr, OsString};
use std::fs;
use std::io;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Mutex;

use super::tree::{is_absent, WalkError};

/// A failed marker discovery.
///
/// # Examples
///
/// ```
/// use seqring_state::processing::{discover_marker_files, resolve_unique_roots, MarkerError};
/// let dir = tempfile::tempdir()?;
/// let missing = dir.path().join("missing");
/// assert!(matches!(discover_marker_files(&missing, "session_data.yaml"), Err(MarkerError::Walk(_))));
/// let twice = ["/data/s1/marker.yaml", "/data/s1/marker.yaml"];
/// assert!(matches!(resolve_unique_roots(&twice), Err(MarkerError::NoUniqueComponent { .. })));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug, thiserror::Error)]
pub enum MarkerError {
    /// The root or a directory under it could not be read, or is not a directory.
    #[error(transparent)]
    Walk(#[from] WalkError),
    /// A marker has fewer ancestors than `levels_up` asks to climb.
    #[error("the marker {marker} has no ancestor {levels_up} level(s) above its directory")]
    TooFewAncestors {
        /// The marker file.
        marker: PathBuf,
        /// The number of levels asked for.
        levels_up: usize,
    },
    /// A path shares every one of its components with the other paths, so it has no distinguishing root.
    #[error("the path {path} has no component that the other paths do not also have")]
    NoUniqueComponent {
        /// The path.
        path: PathBuf,
    },
}

/// Every file named `marker_name` anywhere under `dir`, sorted by path.
///
/// # Examples
///
/// ```
/// use seqring_state::processing::discover_marker_files;
/// let dir = tempfile::tempdir()?;
/// for session in ["s1/raw", "s2/raw", "s3"] {
///     std::fs::create_dir_all(dir.path().join(session))?;
/// }
/// std::fs::write(dir.path().join("s1/raw/session_data.yaml"), "")?;
/// std::fs::write(dir.path().join("s2/raw/session_data.yaml"), "")?;
/// std::fs::write(dir.path().join("s3/other.yaml"), "")?;
/// let found = discover_marker_files(dir.path(), "session_data.yaml")?;
/// assert_eq!(found, [dir.path().join("s1/raw/session_data.yaml"), dir.path().join("s2/raw/session_data.yaml")]);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
///
/// # Errors
///
/// [`MarkerError::Walk`] when `dir` is missing, not a directory, or it or a directory under it cannot be read.
pub fn discover_marker_files(dir: impl AsRef<Path>, marker_name: &str) -> Result<Vec<PathBuf>, MarkerError> {
    Ok(marker_files(dir.as_ref(), marker_name)?)
}

/// [`discover_marker_files`], whose only failure is a walk failure.
pub(crate) fn marker_files(dir: &Path, marker_name: &str) -> Result<Vec<PathBuf>, WalkError> {
    let name = OsStr::new(marker_name);
    let mut found = scan(dir, None, &|n| n == name)?;
    found.sort_unstable();
    Ok(found)
}

/// The directories that own the markers named `marker_name` under `dir`: for each marker, the ancestor `levels_up`
/// levels above the marker's own directory (0: that directory). Each directory is listed once, sorted by path.
///
/// # Examples
///
/// ```
/// use seqring_state::processing::discover_marker_roots;
/// let dir = tempfile::tempdir()?;
/// std::fs::create_dir_all(dir.path().join("mouse1/session1/raw_data"))?;
/// std::fs::write(dir.path().join("mouse1/session1/raw_data/session_data.yaml"), "")?;
/// let roots = discover_marker_roots(dir.path(), "session_data.yaml", 1)?;
/// assert_eq!(roots, [dir.path().join("mouse1/session1")]);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
///
/// # Errors
///
/// As [`discover_marker_files`], and [`MarkerError::TooFewAncestors`] when a marker sits too close to the
/// filesystem root to have the asked-for ancestor.
pub fn discover_marker_roots(
    dir: impl AsRef<Path>,
    marker_name: &str,
    levels_up: usize,
) -> Result<Vec<PathBuf>, MarkerError> {
    let mut roots = Vec::new();
    for marker in discover_marker_files(dir, marker_name)? {
        match marker.ancestors().nth(levels_up + 1) {
            Some(root) if !root.as_os_str().is_empty() => roots.push(root.to_path_buf()),
            _ => return Err(MarkerError::TooFewAncestors { marker, levels_up }),
        }
    }
    roots.sort_unstable();
    roots.dedup();
    Ok(roots)
}

/// Finds the files carrying any of `marker_names` in one walk of `dir` and maps each name to its files, sorted by
/// path. Every requested name is a key, with no files when none was found. `max_depth` bounds the walk: `Some(0)`
/// searches only `dir` itself, `Some(1)` also its subdirectories, and so on; `None` searches the whole tree.
///
/// # Examples
///
/// ```
/// use seqring_state::processing::index_marker_files;
/// let dir = tempfile::tempdir()?;
/// std::fs::create_dir_all(dir.path().join("a/b"))?;
/// std::fs::write(dir.path().join("a/tracker.yaml"), "")?;
/// std::fs::write(dir.path().join("a/b/tracker.yaml"), "")?;
/// std::fs::write(dir.path().join("a/b/ax_checksum.txt"), "")?;
/// let index = index_marker_files(dir.path(), ["tracker.yaml", "ax_checksum.txt", "missing"], Some(1))?;
/// assert_eq!(index["tracker.yaml"], [dir.path().join("a/tracker.yaml")]);
/// assert!(index["ax_checksum.txt"].is_empty() && index["missing"].is_empty());
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
///
/// # Errors
///
/// As [`discover_marker_files`].
pub fn index_marker_files<I, S>(
    dir: impl AsRef<Path>,
    marker_names: I,
    max_depth: Option<usize>,
) -> Result<BTreeMap<String, Vec<PathBuf>>, MarkerError>
where
    I: IntoIterator<Item = S>,
    S: AsRef<str>,
{
    let names: Vec<String> = marker_names.into_iter().map(|n| n.as_ref().to_owned()).collect();
    let wanted: Vec<&OsStr> = names.iter().map(OsStr::new).collect();
    let found = scan(dir.as_ref(), max_depth, &|n| wanted.contains(&n))?;
    let mut index: BTreeMap<String, Vec<PathBuf>> = names.iter().map(|n| (n.clone(), Vec::new())).collect();
    for path in found {
        if let Some(name) = path.file_name().and_then(OsStr::to_str) {
            if let Some(paths) = index.get_mut(name) {
                paths.push(path);
            }
        }
    }
    for paths in index.values_mut() {
        paths.sort_unstable();
    }
    Ok(index)
}

/// Resolves each path to its deepest ancestor (itself included) whose final component no other path has, and
/// returns those roots once each, in the order in which the first path resolving to each appears. Paths that
/// share a layout below an asset's directory (`{session}/raw_data/session_data.yaml`) thereby resolve to the
/// asset's directory, at whatever depth it sits. A lone path resolves to itself.
///
/// # Examples
///
/// ```
/// use seqring_state::processing::resolve_unique_roots;
/// use std::path::PathBuf;
/// let paths = ["/data/m1/s1/raw/marker.yaml", "/data/m1/s2/raw/marker.yaml", "/data/s3/raw/marker.yaml"];
/// let paths: Vec<PathBuf> = paths.iter().map(PathBuf::from).collect();
/// let roots = resolve_unique_roots(&paths)?;
/// assert_eq!(roots, [PathBuf::from("/data/m1/s1"), PathBuf::from("/data/m1/s2"), PathBuf::from("/data/s3")]);
/// # Ok::<(), seqring_state::processing::MarkerError>(())
/// ```
///
/// # Errors
///
/// [`MarkerError::NoUniqueComponent`] naming the first path all of whose components other paths also have (a
/// repeated path, for one).
pub fn resolve_unique_roots<P: AsRef<Path>>(paths: &[P]) -> Result<Vec<PathBuf>, MarkerError> {
    // In how many of the paths each component occurs (a path counts once however often it repeats a component).
    let mut owners: HashMap<&OsStr, usize> = HashMap::new();
    for path in paths {
        let mut own: Vec<&OsStr> = path.as_ref().components().map(|c| c.as_os_str()).collect();
        own.sort_unstable();
        own.dedup();
        for component in own {
            *owners.entry(component).or_default() += 1;
        }
    }
    let mut roots: Vec<PathBuf> = Vec::new();
    let mut seen: HashSet<&Path> = HashSet::new();
    for path in paths {
        let path = path.as_ref();
        let unique = path
            .components()
            .rev()
            .map(|c| c.as_os_str())
            .find(|c| owners.get(c) == Some(&1))
            .ok_or_else(|| MarkerError::NoUniqueComponent {
                path: path.to_path_buf(),
            })?;
        let root = path
            .ancestors()
            .find(|a| a.components().next_back().map(|c| c.as_os_str()) == Some(unique))
            .unwrap_or(path);
        if seen.insert(root) {
            roots.push(root.to_path_buf());
        }
    }
    Ok(roots)
}

/// The files under `root` (at most `max_depth` levels of subdirectories deep) whose name passes `keep` and which
/// resolve to files, in no particular order. Each directory is listed by its own rayon task.
fn scan(
    root: &Path,
    max_depth: Option<usize>,
    keep: &(dyn Fn(&OsStr) -> bool + Sync),
) -> Result<Vec<PathBuf>, WalkError> {
    let meta = fs::metadata(root).map_err(|e| walk_error(root, e))?;
    if !meta.is_dir() {
        let e = io::Error::new(io::ErrorKind::NotADirectory, "not a directory");
        return Err(walk_error(root, e));
    }
    let state = ScanState {
        keep,
        max_depth,
        found: Mutex::new(Vec::new()),
        error: Mutex::new(None),
        failed: AtomicBool::new(false),
    };
    rayon::scope(|s| state.visit(s, root.to_path_buf(), 0));
    if let Some(e) = state.error.into_inner().unwrap_or_else(|p| p.into_inner()) {
        return Err(e);
    }
    Ok(state.found.into_inner().unwrap_or_else(|p| p.into_inner()))
}

struct ScanState<'k> {
    keep: &'k (dyn Fn(&OsStr) -> bool + Sync),
    max_depth: Option<usize>,
    found: Mutex<Vec<PathBuf>>,
    error: Mutex<Option<WalkError>>,
    /// Set with the first error so that pending tasks stop early; a plain flag with no data behind it, so Relaxed.
    failed: AtomicBool,
}

impl<'k> ScanState<'k> {
    fn visit<'s>(&'s self, scope: &rayon::Scope<'s>, dir: PathBuf, depth: usize) {
        if self.failed.load(Ordering::Relaxed) {
            return;
        }
        match self.list(&dir, depth) {
            Ok((subdirs, matches)) => {
                if !matches.is_empty() {
                    self.found.lock().unwrap_or_else(|p| p.into_inner()).extend(matches);
                }
                for sub in subdirs {
                    scope.spawn(move |s| self.visit(s, sub, depth + 1));
                }
            }
            Err(e) => {
                self.failed.store(true, Ordering::Relaxed);
                self.error.lock().unwrap_or_else(|p| p.into_inner()).get_or_insert(e);
            }
        }
    }

    /// One directory: its subdirectories to descend into (none at the depth limit) and its matching files.
    fn list(&self, dir: &Path, depth: usize) -> Result<(Vec<PathBuf>, Vec<PathBuf>), WalkError> {
        let descend = self.max_depth.is_none_or(|max| depth < max);
        let mut subdirs = Vec::new();
        let mut matches = Vec::new();
        for entry in fs::read_dir(dir).map_err(|e| walk_error(dir, e))? {
            let entry = entry.map_err(|e| walk_error(dir, e))?;
            let kind = entry.file_type().map_err(|e| walk_error(&entry.path(), e))?;
            if kind.is_dir() {
                if descend {
                    subdirs.push(entry.path());
                }
                continue;
            }
            let name: OsString = entry.file_name();
            if !(self.keep)(&name) {
                continue;
            }
            let path = entry.path();
            let is_file = if kind.is_symlink() {
                match fs::metadata(&path) {
                    Ok(m) => m.is_file(),
                    Err(e) if is_absent(&e) => false,
                    Err(e) => return Err(walk_error(&path, e)),
                }
            } else {
                kind.is_file()
            };
            if is_file {
                matches.push(path);
            }
        }
        Ok((subdirs, matches))
    }
}

fn walk_error(path: &Path, source: io::Error) -> WalkError {
    WalkError {
        path: path.to_path_buf(),
        source,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    #[cfg(unix)] // symbolic links and inodes are Unix notions here
    fn links_and_depth() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().join("root");
        fs::create_dir_all(root.join("a/b/c")).unwrap();
        fs::write(root.join("m"), b"").unwrap();
        fs::write(root.join("a/b/c/m"), b"").unwrap();
        fs::create_dir(root.join("a/m")).unwrap(); // a directory with the marker's name is no marker
        std::os::unix::fs::symlink(root.join("m"), root.join("a/b/m")).unwrap();
        std::os::unix::fs::symlink(&root, root.join("a/loop")).unwrap();
        std::os::unix::fs::symlink(root.join("nothing"), root.join("a/b/c/dangling")).unwrap();
        let all = discover_marker_files(&root, "m").unwrap();
        assert_eq!(all, [root.join("a/b/c/m"), root.join("a/b/m"), root.join("m")]);
        let depths: Vec<usize> = (0..4)
            .map(|d| index_marker_files(&root, ["m"], Some(d)).unwrap()["m"].len())
            .collect();
        assert_eq!(depths, [1, 1, 2, 3]);
        assert!(discover_marker_files(&root, "dangling").unwrap().is_empty());
    }

    #[test]
    fn unreadable_or_missing_roots_are_errors() {
        let dir = tempfile::tempdir().unwrap();
        let err = discover_marker_files(dir.path().join("nope"), "m").unwrap_err();
        assert!(err.to_string().contains("nope"), "{err}");
        fs::write(dir.path().join("file"), b"").unwrap();
        assert!(discover_marker_files(dir.path().join("file"), "m").is_err());
    }

    #[test]
    fn roots_levels_and_limits() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        for s in ["x/s1/raw", "x/s2/raw"] {
            fs::create_dir_all(root.join(s)).unwrap();
            fs::write(root.join(s).join("mk"), b"").unwrap();
        }
        fs::write(root.join("x/s1/mk"), b"").unwrap();
        assert_eq!(
            discover_marker_roots(root, "mk", 0).unwrap(),
            [root.join("x/s1"), root.join("x/s1/raw"), root.join("x/s2/raw")]
        );
        // Two markers owned by x: one entry; the third is owned by the root.
        assert_eq!(
            discover_marker_roots(root, "mk", 2).unwrap(),
            [root.to_path_buf(), root.join("x")]
        );
        let depth = root.components().count();
        let err = discover_marker_roots(root, "mk", depth + 5).unwrap_err();
        assert!(matches!(err, MarkerError::TooFewAncestors { levels_up, .. } if levels_up == depth + 5));
    }

    #[test]
    fn unique_roots_rules() {
        let p = |s: &str| PathBuf::from(s);
        assert_eq!(resolve_unique_roots(&[p("/a/b/c")]).unwrap(), [p("/a/b/c")]);
        // The deepest unique component wins: proc (not s3) for the third path.
        assert_eq!(
            resolve_unique_roots(&[p("d/s1/raw/m"), p("d/s2/raw/m"), p("d/s3/proc/m")]).unwrap(),
            [p("d/s1"), p("d/s2"), p("d/s3/proc")]
        );
        // A component repeated inside one path still belongs to that path alone.
        assert_eq!(
            resolve_unique_roots(&[p("/a/x/a"), p("/b")]).unwrap(),
            [p("/a/x/a"), p("/b")]
        );
        let err = resolve_unique_roots(&[p("/a/b"), p("/a/b")]).unwrap_err();
        assert!(matches!(err, MarkerError::NoUniqueComponent { .. }) && err.to_string().contains("/a/b"));
        assert!(resolve_unique_roots::<PathBuf>(&[]).unwrap().is_empty());
    }
}
