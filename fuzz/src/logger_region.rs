//! A logger region (ring region + logger block) whose bytes are arbitrary: `inspect_region` must validate every
//! field and return a typed error, never panic or read out of bounds.

use seqring::logger::inspect_region;
use seqring_core::log_region::{LogRegion, LOG_DIR_MAX};
use seqring_core::RawRegion;
use std::sync::atomic::AtomicU64;

/// Runs the target.
pub fn fuzz(data: &[u8]) {
    let words: Vec<AtomicU64> = data
        .chunks_exact(8)
        .map(|c| AtomicU64::new(u64::from_le_bytes(c.try_into().unwrap_or([0; 8]))))
        .collect();
    if let Ok(info) = inspect_region("fuzz", RawRegion::new(&words)) {
        assert!(info.capacity.is_power_of_two() && info.max_payload < info.capacity);
        assert!(info.sources.len() <= 256);
    }
    // The log directory a producer reads to keep its schema beside the log: a length out of range reads as none.
    if let Ok((region, _)) = LogRegion::open(RawRegion::new(&words)) {
        let mut buf = [0u8; LOG_DIR_MAX];
        if let Some(path) = region.log_dir(&mut buf) {
            assert!(!path.is_empty() && path.len() <= LOG_DIR_MAX);
        }
    }
}
