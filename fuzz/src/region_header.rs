//! Region-header validation over arbitrary bytes, for both kinds, with and without waiting.

use seqring_core::header::{self, RegionKind};
use seqring_core::{RawRegion, Spins};
use std::sync::atomic::AtomicU64;

/// Overlays `data` (padded to whole words) as a region and validates it.
pub fn fuzz(data: &[u8]) {
    let words: Vec<AtomicU64> = data
        .chunks(8)
        .map(|c| {
            let mut b = [0u8; 8];
            b[..c.len()].copy_from_slice(c);
            AtomicU64::new(u64::from_le_bytes(b))
        })
        .collect();
    let mem = RawRegion::new(&words);
    for kind in [RegionKind::Array, RegionKind::Ring] {
        if let Ok(info) = header::validate(&mem, kind) {
            assert_eq!(info.len as usize, words.len() * 8);
        }
        let _ = header::wait_ready(&mem, kind, Spins(2));
    }
}
