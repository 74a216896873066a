//! Processing tools shared with ataraxis: the directory checksum, directory transfer and deletion, marker-file
//! discovery, interpolation, and atomic and direct file writes. Each concept has its own module.

pub mod atomic_write;
pub mod checksum;
pub mod delete;
pub mod direct_write;
pub mod interpolate;
pub mod markers;
pub mod transfer;
pub mod tree;

pub use atomic_write::{atomic_write, atomic_write_with, FileError};
pub use checksum::{
    directory_checksum, saved_checksum, Checksum, ChecksumError, ChecksumOptions, ChecksumProgress, CHECKSUM_FILE,
};
pub use delete::{delete_directory, DeleteError};
pub use direct_write::{direct_write, direct_write_with};
pub use interpolate::{interpolate, interpolate_discrete, interpolate_linear, InterpolateError, Sample};
pub use markers::{
    discover_marker_files, discover_marker_roots, index_marker_files, resolve_unique_roots, MarkerError,
};
pub use transfer::{transfer_directory, TransferError, TransferOptions, TransferProgress, TransferReport};
