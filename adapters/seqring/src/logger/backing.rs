//! The logger's region: a POSIX shared-memory object from the backing layer ([`crate::region`]).
//!
//! Every handle that maps it (the logger, its drain thread, every producer) holds an `Arc<Region>`; none removes
//! it on drop. The logger removes it by name when it stops, so a late drop in this process can never remove a
//! newer logger's region of the same name.

use std::sync::Arc;

use seqring_platform::{CreateOptions, Region, RegionError};

pub(crate) use seqring_platform::pid_alive;

/// The shared region of a logger.
pub(crate) type Backing = Region;

/// Creates the zeroed region `name` of `len` bytes.
pub(crate) fn create(name: &str, len: usize) -> Result<Arc<Backing>, RegionError> {
    let mut region = Region::create_shm(name, len, CreateOptions::default())?;
    region.set_remove_on_drop(false);
    Ok(Arc::new(region))
}

/// Opens the existing region `name`.
pub(crate) fn open(name: &str) -> Result<Arc<Backing>, RegionError> {
    Region::open_shm(name).map(Arc::new)
}

/// Removes the region `name`; processes that map it keep their mapping.
pub(crate) fn remove(name: &str) -> Result<(), RegionError> {
    seqring_platform::remove_region(name)
}
