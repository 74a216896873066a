//! The SPSC/MPSC log ring.
pub mod record;
