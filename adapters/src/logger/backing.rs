//! The logger's view of "a mapped region": create, open and remove a named region and borrow its words.
//!
//! INTERIM: this module is the one place that will switch to the shared backing layer (`crate::region`) when it
//! lands; until then it keeps regions on the heap in a process-wide registry, which serves in-process loggers and
//! producers only. Nothing else in the logger knows where the words live.

use std::collections::HashMap;
use std::sync::atomic::AtomicU64;
use std::sync::{Arc, Mutex, Weak};

use seqring_core::RawRegion;

/// Why a region operation failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum BackingError {
    /// A region of that name exists already.
    #[error("region {name:?} exists already")]
    Exists {
        /// The region's name.
        name: String,
    },
    /// No region of that name exists.
    #[error("region {name:?} does not exist")]
    NotFound {
        /// The region's name.
        name: String,
    },
}

/// A mapped region of 8-byte words at a fixed address for its whole life.
#[derive(Debug)]
pub(crate) struct Backing {
    name: String,
    words: Box<[AtomicU64]>,
    remove_on_drop: bool,
}

fn registry() -> &'static Mutex<HashMap<String, Weak<Backing>>> {
    static REGISTRY: std::sync::OnceLock<Mutex<HashMap<String, Weak<Backing>>>> = std::sync::OnceLock::new();
    REGISTRY.get_or_init(Default::default)
}

impl Backing {
    /// Creates a zeroed region of `len` bytes (a multiple of 8) named `name`; it is removed when dropped.
    pub(crate) fn create(name: &str, len: usize) -> Result<Arc<Self>, BackingError> {
        let mut map = registry().lock().unwrap_or_else(|e| e.into_inner());
        if map.get(name).and_then(Weak::upgrade).is_some() {
            return Err(BackingError::Exists { name: name.into() });
        }
        let backing = Arc::new(Backing {
            name: name.into(),
            words: (0..len / 8).map(|_| AtomicU64::new(0)).collect(),
            remove_on_drop: true,
        });
        map.insert(name.into(), Arc::downgrade(&backing));
        Ok(backing)
    }

    /// Opens the region named `name`.
    pub(crate) fn open(name: &str) -> Result<Arc<Self>, BackingError> {
        let map = registry().lock().unwrap_or_else(|e| e.into_inner());
        map.get(name)
            .and_then(Weak::upgrade)
            .ok_or_else(|| BackingError::NotFound { name: name.into() })
    }

    /// Removes the region named `name` (its current users keep their mapping).
    pub(crate) fn remove(name: &str) -> Result<(), BackingError> {
        let mut map = registry().lock().unwrap_or_else(|e| e.into_inner());
        map.remove(name)
            .map(|_| ())
            .ok_or_else(|| BackingError::NotFound { name: name.into() })
    }

    /// The region's name.
    pub(crate) fn name(&self) -> &str {
        &self.name
    }

    /// The region's words, for as long as the backing lives.
    pub(crate) fn raw(&self) -> RawRegion<'_> {
        RawRegion::new(&self.words)
    }
}

impl Drop for Backing {
    fn drop(&mut self) {
        if self.remove_on_drop {
            let mut map = registry().lock().unwrap_or_else(|e| e.into_inner());
            if map.get(&self.name).is_some_and(|w| w.strong_count() == 0) {
                map.remove(&self.name);
            }
        }
    }
}

/// Whether a process with this id exists (a zombie counts as alive until it is reaped).
pub(crate) fn pid_alive(pid: u32) -> bool {
    if pid == 0 || pid > i32::MAX as u32 {
        return false;
    }
    // SAFETY: kill with signal 0 sends nothing; it only checks that the process exists and may be signalled.
    let rc = unsafe { libc::kill(pid as libc::pid_t, 0) };
    rc == 0 || std::io::Error::last_os_error().raw_os_error() == Some(libc::EPERM)
}
