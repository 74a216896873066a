//! `seqring-core`: lock-free byte layouts for real-time data acquisition.
//!
//! Everything here lives at **offsets** inside a byte region that several processes may map at different
//! addresses, so nothing stores a pointer. All integers are little-endian. The crate is `#![no_std]` and never
//! allocates.
//!
//! - [`memory`]: the one abstraction the protocols are written against (atomic `u64` words at byte offsets, plus
//!   byte-wise atomic copies), with a raw-region backend for production and a loom backend for model checking.
//! - [`header`]: the fixed header at offset 0 of every shared region, and its bounded wait for `ready`.
//! - [`dtype`]: numpy dtype tags, the [`Element`] trait and shapes of up to 8 dimensions.
//! - [`seqlock`]: the seqlock-protected typed array.
//! - [`ring`]: the SPSC/MPSC log ring and its record format.
//! - [`log_region`]: a logger's region: its ring plus the block of onsets, state and producer slots it shares
//!   with its producers.
//! - [`patience`]: how a caller without a clock bounds a wait.
//! - `testing` (hidden): stopping a protocol after its k-th store, for crash-point and interleaving tests.
#![cfg_attr(not(loom), no_std)]
#![deny(unsafe_op_in_unsafe_fn)]

#[cfg(test)]
extern crate std;

pub mod dtype;
pub mod header;
pub mod log_region;
pub mod memory;
pub mod patience;
pub mod ring;
pub mod seqlock;
mod sync;
#[doc(hidden)]
pub mod testing;

pub use dtype::{DType, Element, Shape, MAX_DIMS};
#[cfg(not(loom))]
pub use memory::Contiguous;
pub use memory::{Memory, RawRegion};
pub use patience::{Patience, Spins};
