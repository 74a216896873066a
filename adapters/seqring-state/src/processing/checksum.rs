//! `directory_checksum`: the ataraxis directory checksum (`calculate_directory_checksum`), bit for bit.
//!
//! Algorithm:
//! 1. Walk the tree ([`super::tree`]): every regular file, links to files included, links to directories not
//!    followed. Files whose name is in the excluded set (at any depth) are left out: by default the set is
//!    `{ax_checksum.txt}`, and a caller-given set replaces it, as ataraxis' `excluded_files` does. Empty
//!    directories contribute nothing.
//! 2. For each file, the xxh3-128 digest of its relative path bytes (`/`-separated) followed by its contents.
//! 3. Sort the files by relative path (bytewise, which is Python's code-point order for UTF-8 names).
//! 4. The checksum is xxh3-128 over, for each file in order, its relative path bytes then its 16-byte big-endian
//!    digest; it is written as 32 lowercase hex digits.
//!
//! Invariants: the result does not depend on the number of workers or the order in which files finish; files are
//! read in chunks of at most [`ChecksumOptions::chunk_size`] bytes, so memory stays bounded by workers × chunk; an
//! empty tree is an error rather than the hash of nothing; `ax_checksum.txt` is written atomically, without a
//! newline, as ataraxis writes it.

use rayon::prelude::*;
use std::fmt;
use std::fs::File;
use std::io::{self, Read};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;
use xxhash_rust::xxh3::Xxh3;

use super::atomic_write::{atomic_write, AtomicWriteError};
use super::tree::{walk_files, TreeFile, WalkError};

/// The name of the file the checksum is saved to, at the top of the tree.
///
/// # Examples
///
/// ```
/// use seqring_state::processing::{directory_checksum, ChecksumOptions, CHECKSUM_FILE};
/// let dir = tempfile::tempdir()?;
/// std::fs::write(dir.path().join("frames.bin"), b"\x00\x01")?;
/// let sum = directory_checksum(dir.path(), &ChecksumOptions::default())?;
/// assert_eq!(CHECKSUM_FILE, "ax_checksum.txt");
/// assert_eq!(std::fs::read_to_string(dir.path().join(CHECKSUM_FILE))?, sum.to_hex()); // no newline
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub const CHECKSUM_FILE: &str = "ax_checksum.txt";

/// A directory checksum: the 128-bit xxh3 value, shown as 32 lowercase hex digits.
///
/// # Examples
///
/// ```
/// use seqring_state::processing::{directory_checksum, Checksum, ChecksumOptions};
/// let dir = tempfile::tempdir()?;
/// std::fs::write(dir.path().join("a.txt"), b"hello")?;
/// let opts = ChecksumOptions { save: false, ..Default::default() };
/// let sum: Checksum = directory_checksum(dir.path(), &opts)?;
/// assert_eq!(Checksum::from_hex(&sum.to_hex()), Some(sum));
/// std::fs::write(dir.path().join("a.txt"), b"hellO")?;
/// assert_ne!(directory_checksum(dir.path(), &opts)?, sum, "contents count");
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Checksum(pub u128);

impl Checksum {
    /// The 32-digit lowercase hex form.
    ///
    /// # Examples
    ///
    /// ```
    /// use seqring_state::processing::Checksum;
    /// assert_eq!(Checksum(0xab).to_hex(), "000000000000000000000000000000ab");
    /// assert_eq!(Checksum(u128::MAX).to_hex(), "f".repeat(32));
    /// assert_eq!(Checksum(0xab).to_hex(), Checksum(0xab).to_string());
    /// ```
    pub fn to_hex(self) -> String {
        format!("{:032x}", self.0)
    }

    /// Parses 32 hex digits (surrounding whitespace allowed).
    ///
    /// # Examples
    ///
    /// ```
    /// use seqring_state::processing::Checksum;
    /// let c = Checksum::from_hex("284b2377c588307e7047565074cd7dde\n").unwrap();
    /// assert_eq!(c.to_string(), "284b2377c588307e7047565074cd7dde");
    /// assert!(Checksum::from_hex("xyz").is_none());
    /// ```
    pub fn from_hex(text: &str) -> Option<Self> {
        let t = text.trim();
        if t.len() != 32 || !t.bytes().all(|b| b.is_ascii_hexdigit()) {
            return None;
        }
        u128::from_str_radix(t, 16).ok().map(Checksum)
    }
}

impl fmt::Display for Checksum {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:032x}", self.0)
    }
}

/// Progress of a running checksum, given to [`ChecksumOptions::progress`] after each file.
///
/// # Examples
///
/// ```
/// use seqring_state::processing::{directory_checksum, ChecksumOptions, ChecksumProgress};
/// use std::sync::Mutex;
/// let dir = tempfile::tempdir()?;
/// for (name, len) in [("a.bin", 10), ("b.bin", 20), ("c.bin", 30)] {
///     std::fs::write(dir.path().join(name), vec![7u8; len])?;
/// }
/// let seen: Mutex<Vec<ChecksumProgress>> = Mutex::new(Vec::new());
/// let report = |p: ChecksumProgress| seen.lock().unwrap().push(p);
/// let opts = ChecksumOptions { save: false, progress: Some(&report), ..Default::default() };
/// directory_checksum(dir.path(), &opts)?;
/// let seen = seen.into_inner().unwrap();
/// assert_eq!(seen.len(), 3, "once per file");
/// assert!(seen.iter().all(|p| p.files_total == 3 && p.bytes_total == 60));
/// assert_eq!(seen.iter().map(|p| p.files_done).max(), Some(3));
/// assert_eq!(seen.iter().map(|p| p.bytes_done).max(), Some(60));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ChecksumProgress {
    /// Files hashed so far.
    pub files_done: u64,
    /// Files in the tree.
    pub files_total: u64,
    /// Bytes hashed so far.
    pub bytes_done: u64,
    /// Bytes in the tree (sizes when walked).
    pub bytes_total: u64,
}

/// A progress callback; it is called from worker threads.
///
/// # Examples
///
/// ```
/// use seqring_state::processing::checksum::ProgressFn;
/// use seqring_state::processing::ChecksumProgress;
/// use std::sync::atomic::{AtomicU64, Ordering};
/// let files = AtomicU64::new(0);
/// let count = |_: ChecksumProgress| {
///     files.fetch_add(1, Ordering::Relaxed);
/// };
/// let callback: ProgressFn<'_, ChecksumProgress> = &count;
/// callback(ChecksumProgress { files_done: 1, files_total: 1, bytes_done: 5, bytes_total: 5 });
/// assert_eq!(files.load(Ordering::Relaxed), 1);
/// ```
pub type ProgressFn<'a, P> = &'a (dyn Fn(P) + Sync);

/// Options of [`directory_checksum`].
///
/// # Examples
///
/// ```
/// use seqring_state::processing::{directory_checksum, ChecksumOptions};
/// let dir = tempfile::tempdir()?;
/// std::fs::write(dir.path().join("a.bin"), vec![1u8; 100_000])?;
/// let defaults = ChecksumOptions::default();
/// assert!(defaults.save && defaults.workers.is_none() && defaults.excluded_files.is_none());
/// // The result does not depend on the workers or the chunk size.
/// let small = ChecksumOptions { workers: Some(1), chunk_size: 4096, save: false, ..Default::default() };
/// let big = ChecksumOptions { workers: Some(2), chunk_size: 1 << 20, save: false, ..Default::default() };
/// assert_eq!(directory_checksum(dir.path(), &small)?, directory_checksum(dir.path(), &big)?);
/// assert!(!dir.path().join("ax_checksum.txt").exists());
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Clone, Copy)]
pub struct ChecksumOptions<'a> {
    /// Worker threads; `None` uses one per core.
    pub workers: Option<usize>,
    /// Save the checksum to `ax_checksum.txt` at the top of the tree.
    pub save: bool,
    /// The read buffer size per worker, in bytes (at least 4 KiB is used).
    pub chunk_size: usize,
    /// Called after each file.
    pub progress: Option<ProgressFn<'a, ChecksumProgress>>,
    /// The file names to leave out, at any depth (ataraxis `excluded_files`). `None` leaves out
    /// [`CHECKSUM_FILE`] only; a given set replaces that default, so include [`CHECKSUM_FILE`] in it to keep a
    /// saved checksum out of the next one.
    pub excluded_files: Option<&'a [&'a str]>,
}

impl Default for ChecksumOptions<'_> {
    fn default() -> Self {
        Self {
            workers: None,
            save: true,
            chunk_size: 1 << 20,
            progress: None,
            excluded_files: None,
        }
    }
}

impl fmt::Debug for ChecksumOptions<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ChecksumOptions")
            .field("workers", &self.workers)
            .field("save", &self.save)
            .field("chunk_size", &self.chunk_size)
            .field("progress", &self.progress.is_some())
            .field("excluded_files", &self.excluded_files)
            .finish()
    }
}

/// A failed directory checksum.
///
/// # Examples
///
/// ```
/// use seqring_state::processing::{directory_checksum, ChecksumError, ChecksumOptions};
/// let dir = tempfile::tempdir()?;
/// let err = directory_checksum(dir.path(), &ChecksumOptions::default()).unwrap_err();
/// assert!(matches!(err, ChecksumError::Empty { .. }), "an empty tree has no checksum");
/// let missing = dir.path().join("missing");
/// assert!(matches!(directory_checksum(&missing, &ChecksumOptions::default()), Err(ChecksumError::Walk(_))));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug, thiserror::Error)]
pub enum ChecksumError {
    /// The tree could not be walked.
    #[error(transparent)]
    Walk(#[from] WalkError),
    /// The tree has no file to hash.
    #[error("cannot checksum {path}: it contains no file")]
    Empty {
        /// The directory.
        path: PathBuf,
    },
    /// A file could not be read.
    #[error("cannot read {path}: {source}")]
    Read {
        /// The file.
        path: PathBuf,
        /// The I/O error.
        #[source]
        source: io::Error,
    },
    /// The worker pool could not be started.
    #[error("cannot start {workers} checksum workers: {message}")]
    Workers {
        /// The number asked for.
        workers: usize,
        /// Why.
        message: String,
    },
    /// The checksum could not be saved.
    #[error(transparent)]
    Save(#[from] AtomicWriteError),
}

/// Computes the ataraxis checksum of the tree at `dir` and, if `options.save`, writes it to
/// `dir/ax_checksum.txt`.
///
/// # Examples
///
/// ```
/// use seqring_state::processing::{directory_checksum, ChecksumOptions};
/// let dir = tempfile::tempdir()?;
/// std::fs::write(dir.path().join("a.txt"), b"hello")?;
/// let sum = directory_checksum(dir.path(), &ChecksumOptions::default())?;
/// assert_eq!(std::fs::read_to_string(dir.path().join("ax_checksum.txt"))?, sum.to_hex());
/// // The saved file is excluded, so the checksum is stable.
/// let again = directory_checksum(dir.path(), &ChecksumOptions { save: false, ..Default::default() })?;
/// assert_eq!(sum, again);
/// // Leaving out a log file as well (ataraxis `excluded_files={"ax_checksum.txt", "run.log"}`).
/// std::fs::write(dir.path().join("run.log"), b"noise")?;
/// let excluded = ["ax_checksum.txt", "run.log"];
/// let opts = ChecksumOptions { save: false, excluded_files: Some(&excluded), ..Default::default() };
/// assert_eq!(directory_checksum(dir.path(), &opts)?, sum);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
///
/// # Errors
///
/// [`ChecksumError::Walk`] for a missing or unreadable directory, [`ChecksumError::Empty`] for a tree without files,
/// [`ChecksumError::Read`] naming a file that cannot be read, [`ChecksumError::Save`] when saving fails.
pub fn directory_checksum(dir: impl AsRef<Path>, options: &ChecksumOptions<'_>) -> Result<Checksum, ChecksumError> {
    let dir = dir.as_ref();
    let excluded = options.excluded_files.unwrap_or(&[CHECKSUM_FILE]);
    let mut files: Vec<TreeFile> = walk_files(dir)?
        .into_iter()
        .filter(|f| {
            let name = f.path.file_name().unwrap_or_default();
            !excluded.iter().any(|x| name == std::ffi::OsStr::new(x))
        })
        .collect();
    if files.is_empty() {
        return Err(ChecksumError::Empty {
            path: dir.to_path_buf(),
        });
    }
    files.sort_unstable_by(|a, b| a.relative.cmp(&b.relative));
    let digests = hash_files(&files, options)?;
    let mut total = Xxh3::new();
    for (file, digest) in files.iter().zip(&digests) {
        total.update(&file.relative);
        total.update(&digest.to_be_bytes());
    }
    let sum = Checksum(total.digest128());
    if options.save {
        atomic_write(dir.join(CHECKSUM_FILE), sum.to_hex())?;
    }
    Ok(sum)
}

/// Hashes each file (path bytes then contents), in parallel, returning digests in the order of `files`.
fn hash_files(files: &[TreeFile], options: &ChecksumOptions<'_>) -> Result<Vec<u128>, ChecksumError> {
    let chunk = options.chunk_size.max(4096);
    let files_total = files.len() as u64;
    let bytes_total = files.iter().map(|f| f.len).sum();
    let files_done = AtomicU64::new(0);
    let bytes_done = AtomicU64::new(0);
    let hash_one = |buf: &mut Vec<u8>, file: &TreeFile| -> Result<u128, ChecksumError> {
        let read_err = |source| ChecksumError::Read {
            path: file.path.clone(),
            source,
        };
        let mut hasher = Xxh3::new();
        hasher.update(&file.relative);
        let mut f = File::open(&file.path).map_err(read_err)?;
        let mut n_read = 0u64;
        loop {
            let n = match f.read(buf) {
                Ok(0) => break,
                Ok(n) => n,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(read_err(e)),
            };
            hasher.update(&buf[..n]);
            n_read += n as u64;
        }
        if let Some(progress) = options.progress {
            let fd = files_done.fetch_add(1, Ordering::Relaxed) + 1;
            let bd = bytes_done.fetch_add(n_read, Ordering::Relaxed) + n_read;
            progress(ChecksumProgress {
                files_done: fd,
                files_total,
                bytes_done: bd,
                bytes_total,
            });
        }
        Ok(hasher.digest128())
    };
    let workers = options.workers.unwrap_or(0);
    if workers == 1 || files.len() == 1 {
        let mut buf = vec![0u8; chunk];
        return files.iter().map(|f| hash_one(&mut buf, f)).collect();
    }
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(workers)
        .thread_name(|i| format!("seqring-checksum-{i}"))
        .build()
        .map_err(|e| ChecksumError::Workers {
            workers,
            message: e.to_string(),
        })?;
    // One buffer per worker thread, reused across files.
    let buffers: Vec<Mutex<Vec<u8>>> = (0..pool.current_num_threads())
        .map(|_| Mutex::new(Vec::new()))
        .collect();
    pool.install(|| {
        files
            .par_iter()
            .with_max_len(1)
            .map(|file| {
                let slot = rayon::current_thread_index().unwrap_or(0) % buffers.len();
                let mut buf = buffers[slot].lock().unwrap_or_else(|p| p.into_inner());
                if buf.len() != chunk {
                    buf.resize(chunk, 0);
                }
                hash_one(&mut buf, file)
            })
            .collect()
    })
}

/// Reads the checksum saved in `dir/ax_checksum.txt`, if there is a valid one.
///
/// # Errors
///
/// The I/O error when the file exists but cannot be read.
///
/// # Examples
///
/// ```
/// use seqring_state::processing::{directory_checksum, saved_checksum, ChecksumOptions};
/// let dir = tempfile::tempdir()?;
/// std::fs::write(dir.path().join("a.txt"), b"hello")?;
/// assert_eq!(saved_checksum(dir.path())?, None);
/// let sum = directory_checksum(dir.path(), &ChecksumOptions::default())?;
/// assert_eq!(saved_checksum(dir.path())?, Some(sum));
/// std::fs::write(dir.path().join("ax_checksum.txt"), "not a checksum")?;
/// assert_eq!(saved_checksum(dir.path())?, None, "an invalid file counts as none");
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub fn saved_checksum(dir: &Path) -> io::Result<Option<Checksum>> {
    match std::fs::read_to_string(dir.join(CHECKSUM_FILE)) {
        Ok(text) => Ok(Checksum::from_hex(text.lines().next().unwrap_or(""))),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(e),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::fs;

    const FIXTURE: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../../../shared/fixtures/ataraxis-7.2.0");

    fn no_save() -> ChecksumOptions<'static> {
        ChecksumOptions {
            save: false,
            ..Default::default()
        }
    }

    #[test]
    fn fixture_tree_matches_ataraxis() {
        let expected = fs::read_to_string(format!("{FIXTURE}/checksum_expected.txt")).unwrap();
        for workers in [Some(1), Some(2), Some(4), None] {
            for chunk_size in [4096, 1 << 20] {
                let opts = ChecksumOptions {
                    workers,
                    chunk_size,
                    ..no_save()
                };
                let sum = directory_checksum(format!("{FIXTURE}/checksum_tree"), &opts).unwrap();
                assert_eq!(sum.to_hex(), expected.trim(), "workers {workers:?} chunk {chunk_size}");
            }
        }
    }

    #[test]
    fn single_file_formula() {
        // Independent of directory_checksum: the formula of the module docs written out by hand.
        let dir = tempfile::tempdir().unwrap();
        fs::write(dir.path().join("x.bin"), b"payload").unwrap();
        let file_digest = xxhash_rust::xxh3::xxh3_128(b"x.binpayload");
        let mut outer = b"x.bin".to_vec();
        outer.extend_from_slice(&file_digest.to_be_bytes());
        let expected = xxhash_rust::xxh3::xxh3_128(&outer);
        assert_eq!(directory_checksum(dir.path(), &no_save()).unwrap(), Checksum(expected));
    }

    #[test]
    fn empty_tree_is_an_error() {
        let dir = tempfile::tempdir().unwrap();
        fs::create_dir(dir.path().join("empty")).unwrap();
        fs::write(dir.path().join("empty").join(CHECKSUM_FILE), b"x").unwrap();
        let err = directory_checksum(dir.path(), &no_save()).unwrap_err();
        assert!(matches!(err, ChecksumError::Empty { .. }), "{err}");
        assert!(!dir.path().join(CHECKSUM_FILE).exists());
    }

    #[test]
    fn excluded_files_replace_the_default_set() {
        let dir = tempfile::tempdir().unwrap();
        fs::create_dir(dir.path().join("sub")).unwrap();
        fs::write(dir.path().join("data.bin"), b"payload").unwrap();
        fs::write(dir.path().join("sub/notes.log"), b"noise").unwrap();
        fs::write(dir.path().join(CHECKSUM_FILE), b"stale").unwrap();
        // The formula by hand over the files that remain, as in single_file_formula.
        let by_hand = |names: &[(&[u8], &[u8])]| {
            let mut outer = Vec::new();
            for (rel, data) in names {
                let mut inner = rel.to_vec();
                inner.extend_from_slice(data);
                outer.extend_from_slice(rel);
                outer.extend_from_slice(&xxhash_rust::xxh3::xxh3_128(&inner).to_be_bytes());
            }
            Checksum(xxhash_rust::xxh3::xxh3_128(&outer))
        };
        let only_data = by_hand(&[(b"data.bin", b"payload")]);
        let both = ["ax_checksum.txt", "notes.log"];
        let opts = ChecksumOptions {
            excluded_files: Some(&both),
            ..no_save()
        };
        assert_eq!(directory_checksum(dir.path(), &opts).unwrap(), only_data);
        // A given set replaces the default: ax_checksum.txt is hashed when the set does not name it.
        let logs = ["notes.log"];
        let opts = ChecksumOptions {
            excluded_files: Some(&logs),
            ..no_save()
        };
        let with_saved = by_hand(&[(b"ax_checksum.txt", b"stale"), (b"data.bin", b"payload")]);
        assert_eq!(directory_checksum(dir.path(), &opts).unwrap(), with_saved);
        // Excluding everything leaves an empty tree: an error, and the saved checksum is not touched.
        let all = ["ax_checksum.txt", "notes.log", "data.bin"];
        let opts = ChecksumOptions {
            excluded_files: Some(&all),
            ..Default::default()
        };
        assert!(matches!(
            directory_checksum(dir.path(), &opts),
            Err(ChecksumError::Empty { .. })
        ));
        assert_eq!(fs::read(dir.path().join(CHECKSUM_FILE)).unwrap(), b"stale");
    }

    #[test]
    fn progress_reports_every_file_and_byte() {
        let dir = tempfile::tempdir().unwrap();
        for i in 0..20 {
            fs::write(dir.path().join(format!("f{i}")), vec![i as u8; i * 100]).unwrap();
        }
        let seen = Mutex::new(Vec::new());
        let cb = |p: ChecksumProgress| seen.lock().unwrap().push(p);
        let opts = ChecksumOptions {
            workers: Some(3),
            progress: Some(&cb),
            ..no_save()
        };
        directory_checksum(dir.path(), &opts).unwrap();
        let seen = seen.into_inner().unwrap();
        assert_eq!(seen.len(), 20);
        let total: u64 = (0..20).map(|i| i * 100).sum();
        assert_eq!(seen.iter().map(|p| p.files_done).max(), Some(20));
        assert_eq!(seen.iter().map(|p| p.bytes_done).max(), Some(total));
        assert!(seen.iter().all(|p| p.files_total == 20 && p.bytes_total == total));
    }
}
