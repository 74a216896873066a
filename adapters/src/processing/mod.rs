//! Processing tools shared with ataraxis: the directory checksum, directory transfer and deletion, interpolation
//! and atomic file writes. Each concept has its own module.

pub mod atomic_write;
pub mod checksum;
pub mod delete;
pub mod interpolate;
pub mod transfer;
pub mod tree;

pub use atomic_write::{atomic_write, atomic_write_with, AtomicWriteError};
pub use checksum::{
    directory_checksum, saved_checksum, Checksum, ChecksumError, ChecksumOptions, ChecksumProgress, CHECKSUM_FILE,
};
pub use delete::{delete_directory, DeleteError};
pub use interpolate::{interpolate, interpolate_discrete, interpolate_linear, InterpolateError, Sample};
pub use transfer::{transfer_directory, TransferError, TransferOptions, TransferProgress, TransferReport};
