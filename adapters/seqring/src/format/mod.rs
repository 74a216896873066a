//! The on-disk formats the logger writes and the archive layer reads: the layer under both, so neither depends on
//! the other.
//!
//! - [`segment`]: seqring's own log segments (files of checksummed batches straight from the ring);
//! - [`npy`]: the numpy v1 `.npy` codec for the 1-D `uint8` entries of ataraxis's log layout;
//! - [`schema`]: per-source schemas, kept in JSON side files beside the log and its archives;
//! - [`EntryName`]: the entry names of that layout, `{source:03}_{elapsed:020}.npy`.
//!
//! Every decoder here takes untrusted bytes and has a fuzz target (`fuzz/fuzz_targets/`).

mod entry;
pub mod npy;
pub mod schema;
pub mod segment;

pub use entry::{EntryName, NameBuf};
