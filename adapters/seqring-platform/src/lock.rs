//! The inter-process file lock (the processing tracker's): an exclusive lock on `{file}.lock` through std's
//! [`File::try_lock`], which is the lock Python's `filelock` takes on each platform, so Rust and Python processes
//! exclude each other:
//! - Unix (Linux, macOS): `flock(LOCK_EX | LOCK_NB)`, as `filelock.UnixFileLock`;
//! - Windows: `LockFileEx` over the whole file, which overlaps the one-byte `msvcrt.locking` range at offset 0
//!   that `filelock.WindowsFileLock` takes.
//!
//! Invariants:
//! - the lock is held exactly while a [`LockGuard`] lives, and released (unlock, then close) on drop, even when
//!   unwinding;
//! - acquisition polls a non-blocking lock with a growing sleep (20 µs up to 1 ms) and gives up with
//!   [`LockError::Timeout`] at the deadline, so a dead or stuck holder never hangs a caller forever;
//! - the lock file is never deleted or truncated by seqring (deleting it would split waiters across files). On
//!   Unix a lock won on an inode that was unlinked or replaced meanwhile is dropped and acquisition starts over, as
//!   `filelock` does. On Windows (where `filelock` deletes the file on release when it can) the file is opened
//!   without delete sharing, so nobody can delete it while this process holds it open;
//! - missing parent directories of the lock file are created (as `filelock` does);
//! - a lock file that exists but is not writable by this user (another lab member created it) is opened read-only:
//!   `flock` does not need write access.

use std::fs::{File, OpenOptions, TryLockError};
use std::io;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

/// A file lock that could not be taken.
#[derive(Debug, thiserror::Error)]
pub enum LockError {
    /// Another process held the lock for longer than the timeout.
    #[error("timed out after {timeout:?} waiting for the lock {path} (another process holds it)")]
    Timeout {
        /// The lock file.
        path: PathBuf,
        /// How long the caller waited.
        timeout: Duration,
    },
    /// The lock file could not be opened or locked.
    #[error("cannot lock {path}: {source}")]
    Io {
        /// The lock file.
        path: PathBuf,
        /// The I/O error.
        #[source]
        source: io::Error,
    },
}

/// An exclusive lock on a lock file (`flock` on Unix, `LockFileEx` on Windows), released on drop.
#[derive(Debug)]
pub struct LockGuard {
    file: File,
    path: PathBuf,
}

impl LockGuard {
    /// Takes the lock on `path`, waiting at most `timeout`.
    ///
    /// # Errors
    ///
    /// [`LockError::Timeout`] when another process holds the lock past the timeout; [`LockError::Io`]
    /// when the lock file cannot be opened or created, or `flock` fails for another reason.
    pub fn acquire(path: &Path, timeout: Duration) -> Result<Self, LockError> {
        let deadline = Instant::now() + timeout;
        let lock_err = |source: io::Error| LockError::Io {
            path: path.to_path_buf(),
            source,
        };
        let mut sleep = Duration::from_micros(20);
        loop {
            match open_lock_file(path) {
                Ok(file) => match try_lock(&file) {
                    Ok(true) => {
                        if still_at_path(&file, path).map_err(lock_err)? {
                            return Ok(Self {
                                file,
                                path: path.to_path_buf(),
                            });
                        }
                        continue; // closing `file` releases the lock; look again
                    }
                    Ok(false) => {} // `file` closes as this arm ends; wait and look again
                    Err(e) => return Err(lock_err(e)),
                },
                // Windows: another process has the lock file open without sharing it, or is deleting it (Python's
                // filelock opens it so, and deletes it on release): that is contention, not a failure.
                Err(e) if cfg!(windows) && e.raw_os_error() == Some(ERROR_SHARING_VIOLATION) => {}
                Err(e) => return Err(lock_err(e)),
            }
            let now = Instant::now();
            if now >= deadline {
                return Err(LockError::Timeout {
                    path: path.to_path_buf(),
                    timeout,
                });
            }
            std::thread::sleep(sleep.min(deadline - now));
            sleep = (sleep * 2).min(Duration::from_millis(1));
        }
    }

    /// The lock file's path.
    pub fn path(&self) -> &Path {
        &self.path
    }
}

impl Drop for LockGuard {
    fn drop(&mut self) {
        let _ = self.file.unlock();
        // Closing `self.file` afterwards would release the lock anyway.
    }
}

/// Windows' `ERROR_SHARING_VIOLATION`: the file is open elsewhere without the sharing this open asks for.
const ERROR_SHARING_VIOLATION: i32 = 32;

/// Whether the file we locked is still the one at `path` (Unix: same inode, not unlinked). On Windows the file
/// cannot have been deleted or replaced: it is open without delete sharing.
fn still_at_path(file: &File, path: &Path) -> io::Result<bool> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::MetadataExt;
        let ours = file.metadata()?;
        let current = std::fs::metadata(path);
        let same = matches!(&current, Ok(m) if m.ino() == ours.ino() && m.dev() == ours.dev());
        Ok(ours.nlink() > 0 && same)
    }
    #[cfg(not(unix))]
    {
        let _ = (file, path);
        Ok(true)
    }
}

fn open_lock_file(path: &Path) -> io::Result<File> {
    match open_existing_dir(path) {
        // Python's filelock creates missing parent directories too.
        Err(e) if e.kind() == io::ErrorKind::NotFound => {
            if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
                std::fs::create_dir_all(parent)?;
            }
            open_existing_dir(path)
        }
        other => other,
    }
}

fn open_existing_dir(path: &Path) -> io::Result<File> {
    let mut rw = OpenOptions::new();
    rw.read(true).write(true).create(true);
    // std opens with O_CLOEXEC already.
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut rw, 0o666);
    #[cfg(windows)]
    {
        use windows_sys::Win32::Storage::FileSystem::{FILE_SHARE_READ, FILE_SHARE_WRITE};
        std::os::windows::fs::OpenOptionsExt::share_mode(&mut rw, FILE_SHARE_READ | FILE_SHARE_WRITE);
    }
    match rw.open(path) {
        Err(e) if e.kind() == io::ErrorKind::PermissionDenied && path.exists() => {
            let mut ro = OpenOptions::new();
            ro.read(true);
            #[cfg(windows)]
            {
                use windows_sys::Win32::Storage::FileSystem::{FILE_SHARE_READ, FILE_SHARE_WRITE};
                std::os::windows::fs::OpenOptionsExt::share_mode(&mut ro, FILE_SHARE_READ | FILE_SHARE_WRITE);
            }
            ro.open(path)
        }
        other => other,
    }
}

/// One non-blocking exclusive lock attempt: Ok(true) when won, Ok(false) on contention.
fn try_lock(file: &File) -> io::Result<bool> {
    match file.try_lock() {
        Ok(()) => Ok(true),
        Err(TryLockError::WouldBlock) => Ok(false),
        // A sharing violation while another process is opening or deleting the file is contention too.
        Err(TryLockError::Error(e))
            if matches!(e.kind(), io::ErrorKind::PermissionDenied | io::ErrorKind::Interrupted) =>
        {
            Ok(false)
        }
        Err(TryLockError::Error(e)) => Err(e),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A lock file another process holds open without sharing it (as Python's filelock does on Windows) is
    /// contention: the acquirer waits and times out, it does not fail.
    #[cfg(windows)]
    #[test]
    fn a_lock_file_open_without_sharing_is_contention() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("t.yaml.lock");
        let mut exclusive = OpenOptions::new();
        exclusive.read(true).write(true).create(true);
        std::os::windows::fs::OpenOptionsExt::share_mode(&mut exclusive, 0);
        let held = exclusive.open(&path).unwrap();
        let err = LockGuard::acquire(&path, Duration::from_millis(50)).unwrap_err();
        assert!(matches!(err, LockError::Timeout { .. }), "{err}");
        drop(held);
        LockGuard::acquire(&path, Duration::from_millis(500)).unwrap();
    }

    #[test]
    fn second_acquirer_times_out_then_succeeds_after_release() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("t.yaml.lock");
        let first = LockGuard::acquire(&path, Duration::from_secs(1)).unwrap();
        let start = Instant::now();
        let err = LockGuard::acquire(&path, Duration::from_millis(100)).unwrap_err();
        assert!(matches!(err, LockError::Timeout { .. }), "{err}");
        assert!(start.elapsed() >= Duration::from_millis(100));
        assert!(err.to_string().contains("t.yaml.lock"));
        drop(first);
        let again = LockGuard::acquire(&path, Duration::from_millis(100)).unwrap();
        assert_eq!(again.path(), path);
        assert!(path.exists(), "the lock file is never removed");
    }

    #[test]
    fn missing_directories_are_created_and_a_file_parent_is_an_error() {
        let dir = tempfile::tempdir().unwrap();
        let guard = LockGuard::acquire(&dir.path().join("no/such.lock"), Duration::from_millis(10)).unwrap();
        assert!(guard.path().exists());
        std::fs::write(dir.path().join("file"), b"").unwrap();
        let err = LockGuard::acquire(&dir.path().join("file/x.lock"), Duration::from_millis(10)).unwrap_err();
        assert!(matches!(err, LockError::Io { .. }), "{err}");
        assert!(err.to_string().contains("file/x.lock"), "{err}");
    }
}
