//! `seqring-platform`: what differs by operating system, in one place, under every other seqring crate: OS shared
//! memory, file maps, name rules, region listing, process liveness, file locks, the atomic file replacement and the
//! clock.
//!
//! - [`Region`]: a read/write shared mapping, either OS shared memory (a POSIX shared-memory object on Linux and
//!   macOS, `/dev/shm/<name>` on Linux, through the `shared_memory` crate; a temporary file mapped shared on
//!   Windows) or a file of the caller's (through `memmap2`). It implements the core's [`Memory`](seqring_core::Memory)
//!   trait directly and hands out a [`RawRegion`](seqring_core::RawRegion) ([`Region::raw`]), so the core's
//!   zero-copy paths work unchanged over either backing.
//! - [`Window`]: a word-aligned range of a shared [`Region`] that holds it alive (an `Arc`), so rings and arrays
//!   own their memory with no lifetime to uphold by hand.
//! - [`RegionName`] (and [`IntoRegionName`] for signatures that take a name): names match `[A-Za-z0-9._-]{1,200}` and are neither `.` nor `..`, so no name reaches another
//!   path. Regions are created with mode `0600` unless [`CreateOptions::mode`] widens it (Unix; on Windows they get
//!   the default owner-only ACL of the user's temporary directory). [`regions_dir`] says where they are listed.
//! - [`list_regions`], [`probe_region`], [`remove_region`], [`pid_alive`]: the region tools behind `seqring shm`.
//! - [`ReadOnlyMap`] / [`map_file_readonly`]: every read-only file map in the crate, with one SAFETY argument.
//! - [`replace_file_atomically`]: the one atomic-replace writer (temporary file, fsync, rename, directory fsync),
//!   with [`FileError`] its error and every file helper's.
//! - [`LockGuard`]: the inter-process file lock (`flock` on Unix, `LockFileEx` on Windows), which Python's `filelock`
//!   respects.
//! - [`address_wait`]: blocking on a shared word until it changes, across processes, and waking its waiters
//!   ([`SharedWord`](address_wait::SharedWord), from [`Region::shared_word`] or [`Window::shared_word`]): a futex
//!   on Linux, a ulock on macOS, a named event per word and value on Windows. [`Region`] and [`Window`] wake
//!   through it in the core's [`Memory::wake`](seqring_core::Memory::wake).
//! - [`clock`]: the one wall clock (ns and µs since the UNIX epoch) and the deadline-based
//!   [`Patience`](seqring_core::Patience) used for every bounded wait.
//!
//! Invariants:
//! - a [`Region`]'s mapping is page-aligned, a whole number of 8-byte words long, and stays mapped at one address
//!   for the value's whole life; its bytes are only accessed through the core's atomic [`Memory`](seqring_core::Memory)
//!   operations (other processes sharing it follow the same rule);
//! - a region is removed (unlinked) only by [`remove_region`], by [`Region::remove`], or by the drop of a [`Region`]
//!   whose [`Region::set_remove_on_drop`] is on; opening never removes or modifies anything.

pub mod address_wait;
pub mod clock;
mod error;
mod file;
mod listing;
mod lock;
mod mapping;
mod name;
mod window;

pub use error::RegionError;
pub use file::{
    create_private, is_absent, map_file_readonly, preallocate, read_at, relative_path_bytes, replace_file_atomically,
    start_writeback, sync_directory, sync_filesystem, FileError, ReadOnlyMap,
};
pub use listing::{has_seqring_header, list_regions, pid_alive, probe_region, remove_region, RegionEntry};
pub use lock::{LockError, LockGuard};
pub use mapping::{CreateOptions, Region};
#[cfg(target_os = "linux")]
pub use name::SHM_DIR;
pub use name::{regions_dir, IntoRegionName, RegionName, MACOS_SHM_NAME_MAX, MAX_NAME_LEN};
pub use window::{zeroed_words, Window};
