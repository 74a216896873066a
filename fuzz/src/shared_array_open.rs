//! Shared arrays: arbitrary bytes placed in a real shared-memory region (through the std region layer), then opened
//! and read as a shared array, typed and dynamic, and inspected.
//!
//! Input: the region's bytes (padded with zeros to whole 8-byte words).
//!
//! Properties checked: nothing panics or waits beyond its (zero) timeout; every successful read returns exactly the
//! bytes of the shape it reports, within the capacity; a typed open succeeds only for the array's dtype; the
//! descriptor of a record array that opened is non-empty printable ASCII.

use seqring_platform::{CreateOptions, Region};
use seqring::shared_array::{inspect, ArrayOptions, SharedArray, SharedArrayDyn};
use seqring_core::{DType, Memory};
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

/// Runs one input.
pub fn fuzz(data: &[u8]) {
    static NEXT: AtomicU32 = AtomicU32::new(0);
    let name = format!(
        "seqring-fuzz-array-{}-{}",
        std::process::id(),
        NEXT.fetch_add(1, Ordering::Relaxed)
    );
    let len = data.len().max(8).next_multiple_of(8);
    let Ok(region) = Region::create_shm(&name, len, CreateOptions::default().replace(true)) else {
        return;
    };
    region.copy_in(0, data);
    check(&name);
    drop(region); // removes the region
}

fn check(name: &str) {
    let quick = ArrayOptions::default().timeout(Duration::ZERO);
    if let Ok(any) = SharedArrayDyn::open_with(name, &quick) {
        if let Ok(read) = any.read() {
            let count: u64 = read.shape.iter().product();
            assert_eq!(read.data.len() as u64, count * read.dtype.itemsize() as u64);
            assert!(read.data.len() <= any.capacity_bytes());
        }
        let _ = any.read_if_changed(0);
        if let Ok(descr) = any.descr() {
            assert!(!descr.is_empty() && descr.bytes().all(|b| (0x20..0x7f).contains(&b)), "{descr:?}");
            assert!(descr.len() <= seqring_core::seqlock::MAX_DESCR_LEN);
        }
    }
    if let Ok(typed) = SharedArray::<f64>::open_with(name, None, &quick) {
        assert_eq!(typed.snapshot().map(|s| s.dtype).ok(), Some(DType::F64));
        if let Ok((snap, data)) = typed.read_whole() {
            assert_eq!(data.len() as u64, snap.shape().iter().product::<u64>());
        }
        let mut eight = [0f64; 8];
        let _ = typed.read_into(&mut eight);
        let _ = typed.get(&[0]);
        let _ = typed.age();
    }
    let _ = inspect(name, Duration::ZERO);
}
