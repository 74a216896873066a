//! The logger's shared region, owned by every handle that uses it: a POSIX shared-memory [`Region`] from the
//! platform layer, the core's [`LogRegion`] over the whole of it, and the ring over its first
//! [`LogRegion::ring_len`] bytes, each a [`Window`] that holds the mapping alive. No lifetime is extended: the
//! logger, its drain thread and every producer own their windows, and the mapping goes when the last one drops.
//!
//! Invariants:
//! - no handle removes the region on drop; the logger removes it by name when it stops (and a new logger removes a
//!   stale one it took over), so a late drop in this process can never remove a newer logger's region of the same
//!   name;
//! - the ring window is `0..ring_len` of the same region as the log window, so a producer's claims and the
//!   logger's state word live in one mapping.

use std::sync::Arc;

use seqring_core::log_region::LogRegion;
use seqring_core::ring::{Mode, Ring, RingError};
use seqring_core::Patience;
use seqring_platform::{CreateOptions, Region, RegionError, Window};

use super::onsets::OnsetBook;

/// A logger's region: header and tables over the whole mapping.
pub(crate) type LoggerRegion = LogRegion<Window>;

/// Creates the zeroed region `name` of `len` bytes (kept when its handles drop).
pub(crate) fn create(name: &str, len: usize) -> Result<Arc<Region>, RegionError> {
    let mut region = Region::create_shm(name, len, CreateOptions::default())?;
    region.set_remove_on_drop(false);
    Ok(Arc::new(region))
}

/// Opens the existing region `name`.
pub(crate) fn open(name: &str) -> Result<Arc<Region>, RegionError> {
    Region::open_shm(name).map(Arc::new)
}

/// Removes the region `name`; processes that map it keep their mapping.
pub(crate) fn remove(name: &str) -> Result<(), RegionError> {
    seqring_platform::remove_region(name)
}

/// The ring's part of the logger region `log`.
pub(crate) fn ring_window(log: &LoggerRegion) -> Window {
    // `LogRegion::open`/`init` validated `ring_len` against the region's length: the range lies inside it.
    Window::new(Arc::clone(log.memory().region()), 0..log.ring_len()).expect("the ring lies inside its region")
}

/// Lays out a new MPSC ring in `log`'s ring part.
pub(crate) fn create_ring(
    log: &LoggerRegion,
    max_record: usize,
    pid: u32,
    created_ns: u64,
) -> Result<Ring<Window>, RingError> {
    Ring::create(
        ring_window(log),
        Mode::Mpsc,
        Some(max_record),
        u64::from(pid),
        created_ns,
    )
}

/// Opens the ring in `log`'s ring part.
pub(crate) fn open_ring(log: &LoggerRegion, patience: impl Patience) -> Result<Ring<Window>, RingError> {
    Ring::open(ring_window(log), patience)
}

/// Gives the fresh region `log` the onsets its log directory already has (from a dead region taken over, and the
/// file beside the log).
pub(crate) fn inherit(log: &LoggerRegion, onsets: &OnsetBook) {
    for source in 0..=u8::MAX {
        if let Some(onset) = onsets.get(source) {
            log.set_onset(source, onset);
        }
    }
}
