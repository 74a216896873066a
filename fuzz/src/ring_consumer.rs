//! A ring consumer (and a producer) over a region whose control words and data are arbitrary bytes.
//!
//! The input's first byte picks the capacity (64 B to 4 KiB); a valid header is laid out so that `Ring::open`
//! succeeds, then the rest of the input overwrites the control words and the data area. The consumer polls,
//! releases and unblocks for a bounded number of rounds: every batch must lie inside the data area, corrupt
//! lengths must come back as errors, and nothing may panic or loop forever. Raw overlays of the whole region
//! (header included) are also validated.

use seqring_core::ring::record::Records;
use seqring_core::ring::{self, Consumer, Mode, Producer, Ring, SpscProducer};
use seqring_core::{Memory, RawRegion, Spins};
use std::sync::atomic::Ordering;

use seqring_platform::zeroed_words as words;

/// Runs the target.
pub fn fuzz(data: &[u8]) {
    let Some((&shape, rest)) = data.split_first() else { return };
    let capacity = 64usize << (shape % 7);
    let mode = if shape & 0x80 == 0 { Mode::Mpsc } else { Mode::Spsc };
    let max_record = [None, Some(16), Some(capacity / 2)][usize::from(shape >> 3) % 3];
    let w = words(ring::region_len(capacity).unwrap());
    let mem = RawRegion::new(&w);

    // A raw overlay of everything, header included, must validate or fail cleanly.
    mem.copy_in(0, &rest[..rest.len().min(mem.len())]);
    let _ = Ring::open(mem, Spins(1));

    mem.zero(0, mem.len());
    let ring = Ring::create(mem, mode, max_record, 1, 0).unwrap();
    // Overwrite the control words from the head on (keeping the validated header) and the data area.
    let control = ring::HEAD_AT;
    mem.copy_in(control, &rest[..rest.len().min(mem.len() - control)]);
    mem.store(ring::CONSUMER_OWNER_AT, 0, Ordering::Relaxed);
    mem.store(ring::SPSC_OWNER_AT, 0, Ordering::Relaxed);

    let Ok(mut consumer) = Consumer::attach(ring, 1) else { return };
    for round in 0..64 {
        match consumer.poll(if round % 2 == 0 { usize::MAX } else { 64 }) {
            Ok(Some(batch)) => {
                assert!(batch.len() <= capacity && batch.len() % 8 == 0);
                let bytes = batch.bytes();
                assert_eq!(bytes.len(), batch.len());
                let data_records = Records::new(bytes).filter(|r| r.is_ok()).count() as u64;
                assert!(data_records <= batch.records());
                if round % 3 == 2 {
                    drop(batch); // unreleased: polled again
                } else {
                    batch.release();
                }
            }
            Ok(None) => {
                match consumer.blocked() {
                    Ok(Some(blockage)) => {
                        if consumer.unblock(blockage).is_err() {
                            break;
                        }
                    }
                    Ok(None) => {}
                    Err(_) => break,
                }
                let payload = &rest[..rest.len().min(40)];
                let _ = match mode {
                    Mode::Mpsc => Producer::attach(ring).map(|p| p.try_write(round as u8, round, payload)),
                    Mode::Spsc => SpscProducer::attach(ring, 2).map(|p| p.try_write(round as u8, round, payload)),
                };
            }
            Err(_) => break,
        }
    }
}
