//! The core seeds are built from docs/FORMATS.md by gen_core_seeds.py; check they reach past validation, so the
//! fuzzer starts deep in the protocol code.

use seqring_core::header::{self, RegionKind};
use seqring_core::ring::Ring;
use seqring_core::seqlock::SeqArray;
use seqring_core::{RawRegion, Spins};
use std::sync::atomic::AtomicU64;

fn region(bytes: &[u8]) -> Vec<AtomicU64> {
    bytes.chunks(8).map(|c| AtomicU64::new(u64::from_le_bytes(c.try_into().unwrap()))).collect()
}

fn seed(target: &str, name: &str) -> Vec<u8> {
    std::fs::read(format!("{}/corpus/{target}/{name}", env!("CARGO_MANIFEST_DIR"))).unwrap()
}

#[test]
fn documented_layouts_open() {
    let array = region(&seed("region_header", "array_ready"));
    let a = SeqArray::open(RawRegion::new(&array), Spins(0)).unwrap();
    assert_eq!(a.capacity(), 64);
    let ring = region(&seed("region_header", "ring_ready"));
    assert_eq!(Ring::open(RawRegion::new(&ring), Spins(0)).unwrap().capacity(), 256);
    let foreign = region(&seed("region_header", "foreign"));
    assert!(header::validate(&RawRegion::new(&foreign), RegionKind::Array).is_err());
}
