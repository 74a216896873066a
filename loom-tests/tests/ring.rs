//! Ring models: every committed record arrives exactly once, in per-producer order, with intact bytes; wraps pad;
//! abandoned claims are unblocked.
#![cfg(loom)]

use loom::thread;
use seqring_core::memory::Memory;
use seqring_core::ring::record::Records;
use seqring_core::ring::{self, Consumer, Mode, Producer, Ring};
use seqring_core::RawRegion;
use seqring_loom::{leaked_region, model, spin_until};
use std::sync::atomic::Ordering;

type LoomRing = Ring<RawRegion<'static>>;

/// A 64-byte ring whose largest record is 32 bytes, with head and tail advanced to `start` (a multiple of 24) by
/// records written and consumed before any thread starts.
fn ring(mode: Mode, start: usize) -> LoomRing {
    let ring = Ring::create(leaked_region(ring::region_len(64).unwrap()), mode, Some(32), 1, 0).unwrap();
    if start > 0 {
        let p = Producer::attach_any(ring);
        for _ in 0..start / 24 {
            p.try_write(0, 0, &[0; 8]).unwrap();
        }
        let mut c = Consumer::attach(ring, 1).unwrap();
        let batch = c.poll(usize::MAX).unwrap().unwrap();
        c.release(batch);
    }
    ring
}

trait AttachAny {
    fn attach_any(ring: LoomRing) -> Self;
}

impl AttachAny for Producer<RawRegion<'static>> {
    fn attach_any(ring: LoomRing) -> Self {
        match ring.mode() {
            Mode::Spsc => Producer::attach_spsc(ring, 2).unwrap(),
            Mode::Mpsc => Producer::attach(ring).unwrap(),
        }
    }
}

/// Consumes until `count` records arrived; returns (source, timestamp, payload word). Unblocks the record at
/// position `dead` (known abandoned, as the std layer knows from a dead pid or a deadline), and no other.
fn consume(ring: LoomRing, count: usize, dead: Option<u64>) -> Vec<(u8, u64, u64)> {
    let mut consumer = Consumer::attach(ring, 1).unwrap();
    let mut got = Vec::new();
    while got.len() < count || dead.is_some_and(|d| consumer.position() <= d) {
        match consumer.poll(usize::MAX).unwrap() {
            Some(batch) => {
                let mut buf = vec![0u8; batch.len()];
                consumer.copy_batch(&batch, &mut buf);
                for r in Records::new(&buf) {
                    let r = r.unwrap();
                    let word = u64::from_le_bytes(r.payload.try_into().expect("8-byte payload"));
                    got.push((r.source_id, r.timestamp, word));
                }
                consumer.release(batch);
            }
            None if dead == Some(consumer.position()) && consumer.is_blocked() => {
                consumer.unblock().unwrap();
                thread::yield_now();
            }
            None => thread::yield_now(),
        }
    }
    got
}

/// Writes record `seq` of `source`: a 24-byte record whose 8-byte payload encodes both.
fn produce(producer: &Producer<RawRegion<'static>>, source: u8, seq: u64) {
    let payload = (u64::from(source) << 32 | seq).to_le_bytes();
    spin_until(|| producer.try_write(source, seq, &payload).ok());
}

fn check(records: &[(u8, u64, u64)], source: u8, count: u64) {
    let mine: Vec<_> = records.iter().filter(|r| r.0 == source).collect();
    assert_eq!(mine.len() as u64, count, "source {source}: {records:?}");
    for (seq, r) in mine.iter().enumerate() {
        assert_eq!(r.1, seq as u64, "out of order: {records:?}");
        assert_eq!(r.2, u64::from(source) << 32 | seq as u64, "payload torn: {records:?}");
    }
}

#[test]
fn spsc_in_order_through_a_wrap() {
    model(|| {
        let ring = ring(Mode::Spsc, 0);
        let producer = thread::spawn(move || {
            let p = Producer::attach_spsc(ring, 2).unwrap();
            // 24-byte records: the third starts at 48, does not fit in the last 16 bytes, pads and wraps.
            for seq in 0..3 {
                produce(&p, 1, seq);
            }
        });
        let got = consume(ring, 3, None);
        producer.join().unwrap();
        check(&got, 1, 3);
        let stats = ring.stats();
        assert_eq!((stats.records, stats.tail), (3, 24 * 3 + 16));
    });
}

#[test]
fn mpsc_two_producers_with_wrap_padding() {
    model(|| {
        // Start at 48: whichever producer claims first pads the last 16 bytes and wraps to 0.
        let ring = ring(Mode::Mpsc, 48);
        let producers: Vec<_> = [1u8, 2]
            .into_iter()
            .map(|source| thread::spawn(move || produce(&Producer::attach(ring).unwrap(), source, 0)))
            .collect();
        let got = consume(ring, 2, None);
        for p in producers {
            p.join().unwrap();
        }
        check(&got, 1, 1);
        check(&got, 2, 1);
        assert_eq!(ring.stats().tail, 48 + 16 + 2 * 24);
    });
}

#[test]
fn unblock_abandoned_negative_claim() {
    model(|| {
        let ring = ring(Mode::Mpsc, 0);
        let dead = thread::spawn(move || {
            // Claim and die before committing: the grant is leaked, so it is never aborted.
            let p = Producer::attach(ring).unwrap();
            let grant = p.claim(9, 0, 8).unwrap();
            let position = (grant.payload_offset() - ring::DATA_OFFSET - 16) as u64;
            std::mem::forget(grant);
            position
        });
        let live = thread::spawn(move || produce(&Producer::attach(ring).unwrap(), 2, 0));
        // The std layer unblocks only once the producer is known dead (pid gone / deadline): join it first.
        let dead = dead.join().unwrap();
        let got = consume(ring, 1, Some(dead));
        live.join().unwrap();
        check(&got, 2, 1);
        assert_eq!(ring.stats().abandoned, 1);
    });
}

#[test]
fn unblock_abandoned_zero_length_claim() {
    model(|| {
        let ring = ring(Mode::Mpsc, 0);
        // A producer that died right after its tail CAS for a 24-byte record: nothing else was written.
        let dead = thread::spawn(move || ring.memory().fetch_add(ring::TAIL_AT, 24, Ordering::Relaxed));
        // A zero-length claim is resolved only once a later record follows it (it might be a slow producer
        // otherwise), so the live producer claims after the dead one; it still races with the consumer's scan.
        let dead = dead.join().unwrap();
        let live = thread::spawn(move || produce(&Producer::attach(ring).unwrap(), 2, 0));
        let got = consume(ring, 1, Some(dead));
        live.join().unwrap();
        check(&got, 2, 1);
        assert_eq!(ring.stats().abandoned, 1);
    });
}
