//! The atomics shim: the only place that names `core::sync::atomic`.
//!
//! Under `cfg(loom)` the same names come from loom, so the protocols are model-checked exactly as they run.

#[cfg(not(loom))]
pub(crate) use core::sync::atomic::{fence, AtomicU64};
#[cfg(loom)]
pub(crate) use loom::sync::atomic::{fence, AtomicU64};

pub use core::sync::atomic::Ordering;
