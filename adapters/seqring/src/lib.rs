//! `seqring`: live data for acquisition rigs, on top of [`seqring_core`] and [`seqring_platform`].
//!
//! - [`shared_array`]: typed arrays in OS shared memory, read without locks from any process;
//! - [`logger`]: many producers log byte messages through a lock-free ring to disk, and the drain never makes them
//!   wait;
//! - [`format`](mod@format): the files the logger writes (segments, or ataraxis's `.npy` entries);
//! - [`archive`]: numpy-compatible `.npz` archives assembled from a log directory, and read back zero-copy.
//!
//! The modules only point down: `archive` and `logger` both sit on `format`; nothing here imports the CLI, the
//! experiment state (`seqring-state`) or the mapped structures (`seqring-mapped`).

pub use seqring_core as core;

pub mod archive;
pub mod format;
pub mod logger;
pub mod shared_array;
