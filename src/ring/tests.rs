//! Edge cases of the ring protocol, single-threaded over a heap region.

use super::record::{Record, Records, Word0};
use super::*;
use crate::memory::RawRegion;
use crate::sync::AtomicU64;
use std::vec::Vec;

fn words(capacity: usize) -> Vec<AtomicU64> {
    crate::memory::test_words(region_len(capacity).unwrap())
}

fn drain(consumer: &mut Consumer<RawRegion<'_>>) -> Vec<(u8, u64, Vec<u8>)> {
    let mut out = Vec::new();
    while let Some(batch) = consumer.poll(usize::MAX).unwrap() {
        for r in Records::new(batch.bytes()) {
            let Record {
                source_id,
                timestamp,
                payload,
            } = r.unwrap();
            out.push((source_id, timestamp, payload.to_vec()));
        }
        batch.release();
    }
    out
}

fn assert_all_zero(ring: &Ring<RawRegion<'_>>) {
    let mut data = std::vec![0u8; ring.capacity()];
    ring.memory().copy_out(DATA_OFFSET, &mut data);
    assert!(data.iter().all(|&b| b == 0), "consumed bytes must be zeroed");
}

#[test]
fn record_ending_exactly_at_the_end_needs_no_padding() {
    let w = words(128);
    let ring = Ring::create(RawRegion::new(&w), Mode::Mpsc, Some(64), 1, 0).unwrap();
    let p = Producer::attach(ring).unwrap();
    let mut c = Consumer::attach(ring, 1).unwrap();
    // 64 + 64 = 128: the second record ends exactly at the end of the data area.
    p.try_write(1, 1, &[1; 48]).unwrap();
    p.try_write(1, 2, &[2; 48]).unwrap();
    assert_eq!(ring.stats().tail, 128);
    let got = drain(&mut c);
    assert_eq!(got, [(1, 1, std::vec![1; 48]), (1, 2, std::vec![2; 48])]);
    // The next record starts at offset 0 with no padding.
    p.try_write(1, 3, &[3; 8]).unwrap();
    assert_eq!(ring.stats().tail, 128 + 24);
    assert_eq!(drain(&mut c), [(1, 3, std::vec![3; 8])]);
    assert_all_zero(&ring);
}

#[test]
fn maximum_record_and_too_large() {
    let w = words(256);
    let ring = Ring::create(RawRegion::new(&w), Mode::Mpsc, None, 1, 0).unwrap();
    assert_eq!(ring.max_record(), 64);
    let p = Producer::attach(ring).unwrap();
    let mut c = Consumer::attach(ring, 1).unwrap();
    p.try_write(9, 0, &[7; 48]).unwrap();
    assert_eq!(
        p.try_write(9, 0, &[7; 49]),
        Err(ClaimError::TooLarge { len: 49, max: 48 })
    );
    assert_eq!(drain(&mut c), [(9, 0, std::vec![7; 48])]);
}

#[test]
fn empty_payload() {
    let w = words(64);
    let ring = Ring::create(RawRegion::new(&w), Mode::Spsc, Some(32), 1, 0).unwrap();
    let p = SpscProducer::attach(ring, 5).unwrap();
    let mut c = Consumer::attach(ring, 1).unwrap();
    p.try_write(0, 11, b"").unwrap();
    assert_eq!(drain(&mut c), [(0, 11, Vec::new())]);
    assert_eq!(ring.stats().records, 1);
    assert_eq!(ring.stats().bytes, 0);
}

#[test]
fn back_to_back_wraps_pad_and_keep_order() {
    let w = words(128);
    let ring = Ring::create(RawRegion::new(&w), Mode::Mpsc, Some(64), 1, 0).unwrap();
    let p = Producer::attach(ring).unwrap();
    let mut c = Consumer::attach(ring, 1).unwrap();
    let mut expected = Vec::new();
    let mut got = Vec::new();
    // 40-byte records (24 B payload): 3 fit, the 4th would cross the end at 120 and pads 8 bytes.
    for i in 0..200u64 {
        let payload = [i as u8; 24];
        p.try_write(2, i, &payload).unwrap();
        expected.push((2, i, payload.to_vec()));
        if i % 2 == 1 {
            got.extend(drain(&mut c));
        }
    }
    got.extend(drain(&mut c));
    assert_eq!(got, expected);
    assert!(ring.stats().tail > 128 * 40, "the ring wrapped many times");
    assert_eq!(ring.stats().records, 200);
    assert_all_zero(&ring);
}

#[test]
fn full_counts_only_records_given_up() {
    let w = words(128);
    let ring = Ring::create(RawRegion::new(&w), Mode::Mpsc, Some(64), 1, 0).unwrap();
    let p = Producer::attach(ring).unwrap();
    let mut c = Consumer::attach(ring, 1).unwrap();
    let mut n = 0;
    while p.try_write(1, n, &[n as u8; 16]).is_ok() {
        n += 1;
    }
    assert_eq!(n, 4, "four 32-byte records fill 128 bytes");
    for _retry in 0..5 {
        assert_eq!(p.try_write(1, 99, &[0; 16]), Err(ClaimError::Full));
    }
    assert_eq!(ring.stats().dropped, 0, "refused attempts are not drops");
    p.count_dropped(1);
    assert_eq!(ring.stats().dropped, 1, "the record given up on is");
    assert_eq!(drain(&mut c).len(), 4);
    for i in 0..4 {
        p.try_write(1, 10 + i, &[0; 16]).unwrap();
    }
    assert_eq!(drain(&mut c).iter().map(|r| r.1).collect::<Vec<_>>(), [10, 11, 12, 13]);
}

#[test]
fn abort_in_the_middle_of_a_batch_becomes_padding() {
    let w = words(256);
    let ring = Ring::create(RawRegion::new(&w), Mode::Mpsc, None, 1, 0).unwrap();
    let p = Producer::attach(ring).unwrap();
    let mut c = Consumer::attach(ring, 1).unwrap();
    p.try_write(1, 1, b"one").unwrap();
    let mut g = p.claim(1, 2, 5).unwrap();
    g.write(0, b"never");
    p.try_write(1, 3, b"three").unwrap();
    let first = c.poll(usize::MAX).unwrap().unwrap();
    assert_eq!(first.records(), 1, "the batch stops at the uncommitted claim");
    first.release();
    g.abort();
    let dropped_grant = p.claim(1, 4, 2).unwrap();
    drop(dropped_grant); // dropping uncommitted aborts too
    p.try_write(1, 5, b"five").unwrap();
    let batch = c.poll(usize::MAX).unwrap().unwrap();
    assert_eq!(batch.records(), 2, "one batch runs over both aborted claims");
    let got: Vec<u64> = Records::new(batch.bytes()).map(|r| r.unwrap().timestamp).collect();
    assert_eq!(got, [3, 5]);
    batch.release();
    assert_all_zero(&ring);
}

#[test]
fn batches_respect_max_bytes_but_always_make_progress() {
    let w = words(256);
    let ring = Ring::create(RawRegion::new(&w), Mode::Mpsc, None, 1, 0).unwrap();
    let p = Producer::attach(ring).unwrap();
    let mut c = Consumer::attach(ring, 1).unwrap();
    for i in 0..4 {
        p.try_write(1, i, &[0; 16]).unwrap();
    }
    let b = c.poll(70).unwrap().unwrap();
    assert_eq!((b.len(), b.records()), (64, 2));
    b.release();
    let b = c.poll(1).unwrap().unwrap();
    assert_eq!((b.len(), b.records()), (32, 1));
    b.release();
}

#[test]
fn a_batch_dropped_unreleased_is_polled_again() {
    let w = words(256);
    let ring = Ring::create(RawRegion::new(&w), Mode::Mpsc, None, 1, 0).unwrap();
    let p = Producer::attach(ring).unwrap();
    let mut c = Consumer::attach(ring, 1).unwrap();
    p.try_write(1, 1, b"one").unwrap();
    p.try_write(1, 2, b"two").unwrap();
    let b = c.poll(usize::MAX).unwrap().unwrap();
    assert_eq!(b.records(), 2);
    drop(b);
    assert_eq!(c.position(), 0, "nothing was released");
    assert_eq!(drain(&mut c).len(), 2, "the same records come back");
    assert_eq!(ring.stats().records, 2, "and are counted once");
}

#[test]
fn unblock_negative_length_claim() {
    let w = words(256);
    let ring = Ring::create(RawRegion::new(&w), Mode::Mpsc, None, 1, 0).unwrap();
    let p = Producer::attach(ring).unwrap();
    let mut c = Consumer::attach(ring, 1).unwrap();
    core::mem::forget(p.claim(4, 1, 10).unwrap()); // the producer dies holding the claim
    p.try_write(1, 2, b"after").unwrap();
    assert!(c.poll(usize::MAX).unwrap().is_none());
    let b = c.blocked().unwrap().unwrap();
    assert_eq!((b.position(), b.source_id(), b.extent()), (0, Some(4), 32));
    assert!(c.unblock(b).unwrap());
    assert!(!c.unblock(b).unwrap(), "nothing left to unblock");
    assert_eq!(drain(&mut c), [(1, 2, b"after".to_vec())]);
    assert_eq!(ring.stats().abandoned, 1);
    assert_eq!(c.blocked(), Ok(None));
}

#[test]
fn a_claim_committed_before_the_deadline_is_not_unblocked() {
    let w = words(256);
    let ring = Ring::create(RawRegion::new(&w), Mode::Mpsc, None, 1, 0).unwrap();
    let p = Producer::attach(ring).unwrap();
    let mut c = Consumer::attach(ring, 1).unwrap();
    let mut slow = p.claim(1, 1, 4).unwrap();
    let b = c.blocked().unwrap().unwrap();
    slow.write(0, b"slow");
    slow.commit();
    assert!(!c.unblock(b).unwrap(), "the producer was alive");
    assert_eq!(drain(&mut c), [(1, 1, b"slow".to_vec())]);
    assert_eq!(ring.stats().abandoned, 0);
}

#[test]
fn unblock_zero_length_claim_scans_to_the_next_header() {
    let w = words(256);
    let ring = Ring::create(RawRegion::new(&w), Mode::Mpsc, None, 1, 0).unwrap();
    let p = Producer::attach(ring).unwrap();
    let mut c = Consumer::attach(ring, 1).unwrap();
    // A producer that died right after its CAS: the tail moved, nothing was written.
    ring.memory().store(TAIL_AT, 40, Ordering::Relaxed);
    p.try_write(1, 7, b"x").unwrap();
    let b = c.blocked().unwrap().unwrap();
    assert_eq!((b.source_id(), b.extent()), (None, 40));
    assert!(c.unblock(b).unwrap());
    assert_eq!(drain(&mut c), [(1, 7, b"x".to_vec())]);
    assert_eq!(ring.stats().abandoned, 1);
}

#[test]
fn a_zero_length_unblock_never_covers_a_claim_made_after_it_was_noted() {
    // Agrona's flaw, which the old single-phase unblock shared: the deadline covered only the head record, and
    // the scan at the deadline padded over a live producer paused between its CAS and its first store.
    let w = words(256);
    let ring = Ring::create(RawRegion::new(&w), Mode::Mpsc, None, 1, 0).unwrap();
    let mut c = Consumer::attach(ring, 1).unwrap();
    ring.memory().store(TAIL_AT, 40, Ordering::Relaxed); // dead at 0..40
    let b = c.blocked().unwrap().unwrap();
    assert_eq!(b.extent(), 40, "only what was claimed when noted");
    // After the note, a live producer reserves 40..72 and pauses before its first store.
    ring.memory().store(TAIL_AT, 72, Ordering::Relaxed);
    assert!(c.unblock(b).unwrap());
    // The live producer now stores its marker and commits, in its own space, untouched by the padding.
    let live = Word0::data(-32, 2);
    ring.memory().store(DATA_OFFSET + 40, live.encode(), Ordering::Relaxed);
    ring.memory().store(DATA_OFFSET + 48, 9, Ordering::Relaxed);
    ring.memory().copy_in(DATA_OFFSET + 56, &[5; 16]);
    ring.memory()
        .store(DATA_OFFSET + 40, Word0::data(32, 2).encode(), Ordering::Release);
    assert_eq!(
        drain(&mut c),
        [(2, 9, std::vec![5; 16])],
        "the live record is delivered"
    );
}

#[test]
fn unblock_rejects_a_gap_that_was_written_meanwhile() {
    let w = words(256);
    let ring = Ring::create(RawRegion::new(&w), Mode::Mpsc, None, 1, 0).unwrap();
    let mut c = Consumer::attach(ring, 1).unwrap();
    ring.memory().store(TAIL_AT, 64, Ordering::Relaxed);
    let b = c.blocked().unwrap().unwrap();
    assert_eq!(b.extent(), 64);
    // A slow producer of 32..64 stores its marker after the note: the gap is no longer all zero.
    ring.memory()
        .store(DATA_OFFSET + 32, Word0::data(-24, 1).encode(), Ordering::Relaxed);
    assert!(!c.unblock(b).unwrap());
    assert_eq!(ring.stats().abandoned, 0);
    let again = c.blocked().unwrap().unwrap();
    assert_eq!(again.extent(), 32, "noted again, the gap ends at the marker");
}

#[test]
fn unblock_zero_length_claim_running_to_the_end() {
    let w = words(128);
    let ring = Ring::create(RawRegion::new(&w), Mode::Mpsc, Some(64), 1, 0).unwrap();
    let p = Producer::attach(ring).unwrap();
    let mut c = Consumer::attach(ring, 1).unwrap();
    p.try_write(1, 1, &[0; 80]).unwrap_err(); // too large
    p.try_write(1, 1, &[1; 48]).unwrap(); // 0..64
    assert_eq!(drain(&mut c).len(), 1);
    // A dead producer claimed 64..128 plus a wrap (padding never written), and a live one committed at 0.
    ring.memory().store(TAIL_AT, 64 + 64 + 32, Ordering::Relaxed);
    ring.memory().store(DATA_OFFSET + 8, 5, Ordering::Relaxed);
    ring.memory()
        .store(DATA_OFFSET, Word0::data(32, 3).encode(), Ordering::Release);
    let b = c.blocked().unwrap().unwrap();
    assert_eq!(b.extent(), 64, "up to the end of the data area");
    assert!(c.unblock(b).unwrap());
    assert_eq!(drain(&mut c), [(3, 5, std::vec![0; 16])]);
}

#[test]
fn an_spsc_claim_is_never_zero_length() {
    let w = words(128);
    let ring = Ring::create(RawRegion::new(&w), Mode::Spsc, Some(64), 1, 0).unwrap();
    let p = SpscProducer::attach(ring, 2).unwrap();
    let mut c = Consumer::attach(ring, 1).unwrap();
    core::mem::forget(p.claim(6, 1, 8).unwrap());
    let b = c.blocked().unwrap().unwrap();
    assert_eq!(b.source_id(), Some(6), "the marker is published with the tail");
    assert!(c.unblock(b).unwrap());
    // Claimed space without a header cannot happen on an SPSC ring: it is corruption.
    let tail = ring.stats().tail;
    ring.memory().store(TAIL_AT, tail + 24, Ordering::Relaxed);
    assert!(drain(&mut c).is_empty());
    assert_eq!(c.blocked(), Err(RingError::Corrupt { position: tail }));
}

#[test]
fn a_consumer_that_died_inside_release_is_finished_by_the_next() {
    for zeroed_words in [0, 1, 2, 3, 5, 8] {
        let w = words(256);
        let ring = Ring::create(RawRegion::new(&w), Mode::Mpsc, None, 1, 0).unwrap();
        let p = Producer::attach(ring).unwrap();
        let mut dead = Consumer::attach(ring, 1).unwrap();
        p.try_write(1, 1, &[0xaa; 24]).unwrap(); // 40 bytes
        p.try_write(1, 2, &[0xbb; 8]).unwrap(); // 24 bytes
        dead.poll(usize::MAX)
            .unwrap()
            .unwrap()
            .release_until_crash(zeroed_words);
        core::mem::forget(dead);
        p.try_write(1, 3, b"later").unwrap();
        assert!(ring.evict_consumer(1));
        let mut c = Consumer::attach(ring, 2).unwrap();
        assert_eq!(c.position(), 64, "the interrupted release was finished");
        assert_eq!(
            drain(&mut c),
            [(1, 3, b"later".to_vec())],
            "no phantom or repeated record after {zeroed_words} zeroed words"
        );
        assert_all_zero(&ring);
    }
}

#[test]
fn attach_rejects_a_bad_release_watermark() {
    let w = words(128);
    let ring = Ring::create(RawRegion::new(&w), Mode::Mpsc, None, 1, 0).unwrap();
    for bad in [4, 136, 1 << 40] {
        ring.memory().store(RELEASE_TO_AT, bad, Ordering::Relaxed);
        assert_eq!(
            Consumer::attach(ring, 1).err(),
            Some(RingError::Corrupt { position: 0 }),
            "{bad}"
        );
    }
}

#[test]
fn corrupt_headers_are_errors() {
    let w = words(128);
    let ring = Ring::create(RawRegion::new(&w), Mode::Mpsc, Some(64), 1, 0).unwrap();
    let mut c = Consumer::attach(ring, 1).unwrap();
    let bad = [
        Word0 {
            length: 8,
            kind: 1,
            source_id: 0,
        }, // data shorter than its header
        Word0 {
            length: 72,
            kind: 1,
            source_id: 0,
        }, // longer than the max record
        Word0 {
            length: 256,
            kind: 2,
            source_id: 0,
        }, // padding past the end
        Word0 {
            length: 16,
            kind: 9,
            source_id: 0,
        }, // unknown kind
    ];
    for w0 in bad {
        ring.memory().store(DATA_OFFSET, w0.encode(), Ordering::Relaxed);
        assert_eq!(
            c.poll(usize::MAX).err(),
            Some(RingError::Corrupt { position: 0 }),
            "{w0:?}"
        );
    }
    ring.memory().store(TAIL_AT, 1 << 40, Ordering::Relaxed);
    let p = Producer::attach(ring).unwrap();
    assert_eq!(p.try_write(1, 1, b""), Err(ClaimError::Corrupt));
    ring.memory().store(TAIL_AT, 12, Ordering::Relaxed);
    assert_eq!(p.try_write(1, 1, b""), Err(ClaimError::Corrupt), "an unaligned tail");
    drop(c);
    ring.memory().store(HEAD_AT, 12, Ordering::Relaxed);
    assert_eq!(
        Consumer::attach(ring, 1).err(),
        Some(RingError::Corrupt { position: 12 }),
        "an unaligned head"
    );
    ring.memory().store(HEAD_AT, 0, Ordering::Relaxed);
    assert!(
        Consumer::attach(ring, 1).is_ok(),
        "a refused attach leaves the slot free"
    );
}

#[test]
fn endpoints_are_exclusive_and_layouts_validated() {
    let w = words(64);
    let ring = Ring::create(RawRegion::new(&w), Mode::Spsc, None, 1, 0).unwrap();
    let c = Consumer::attach(ring, 7).unwrap();
    assert_eq!(Consumer::attach(ring, 8).err(), Some(RingError::AlreadyAttached(7)));
    drop(c);
    let c = Consumer::attach(ring, 8).unwrap();
    let p = SpscProducer::attach(ring, 3).unwrap();
    assert_eq!(SpscProducer::attach(ring, 4).err(), Some(RingError::AlreadyAttached(3)));
    assert_eq!(
        Producer::attach(ring).err(),
        Some(RingError::WrongMode { ring: Mode::Spsc }),
        "an SPSC ring refuses MPSC producers"
    );
    assert!(ring.evict_consumer(8));
    drop((p, c));
    let reopened = Ring::open(RawRegion::new(&w), crate::Spins(0)).unwrap();
    assert_eq!((reopened.capacity(), reopened.mode()), (64, Mode::Spsc));
    let odd: Vec<AtomicU64> = (0..(DATA_OFFSET + 96) / 8).map(|_| AtomicU64::new(0)).collect();
    assert!(Ring::create(RawRegion::new(&odd), Mode::Mpsc, None, 1, 0).is_err());
    let mpsc_words = words(64);
    let mpsc = Ring::create(RawRegion::new(&mpsc_words), Mode::Mpsc, None, 1, 0).unwrap();
    assert_eq!(
        SpscProducer::attach(mpsc, 1).err(),
        Some(RingError::WrongMode { ring: Mode::Mpsc })
    );
    ring.memory().store(MAX_RECORD_AT, 4096, Ordering::Relaxed);
    assert!(Ring::open(RawRegion::new(&w), crate::Spins(0)).is_err());
}

#[test]
fn a_claim_made_before_close_still_commits_and_lies_below_the_final_tail() {
    let mpsc_words = words(1024);
    let ring = Ring::create(RawRegion::new(&mpsc_words), Mode::Mpsc, None, 1, 0).unwrap();
    let producer = Producer::attach(ring).unwrap().with_claimant(3);
    let mut grant = producer.claim(1, 7, 4).unwrap();
    let final_tail = ring.close().unwrap();
    assert_eq!(final_tail, 24, "the open claim is below the final tail");
    assert_eq!(ring.close(), Ok(final_tail), "closing twice changes nothing");
    assert_eq!(producer.try_write(1, 8, b"late"), Err(ClaimError::Closed));
    let mut consumer = Consumer::attach(ring, 9).unwrap();
    let blockage = consumer.blocked().unwrap().expect("the open claim blocks");
    assert_eq!((blockage.claimant(), blockage.source_id()), (Some(3), Some(1)));
    grant.write(0, b"abcd");
    grant.commit();
    let batch = consumer.poll(usize::MAX).unwrap().unwrap();
    assert_eq!(
        (batch.records(), batch.position() + batch.len() as u64),
        (1, final_tail)
    );
    let mut buf = [0u8; 24];
    batch.copy_to(&mut buf);
    assert_eq!(buf[6..8], [0, 0], "the commit clears the claimant tag");
    batch.release();
    let stats = ring.stats();
    assert_eq!((stats.head, stats.tail, stats.closed, stats.dropped), (24, 24, true, 0));
    let spsc_words = words(1024);
    let spsc = Ring::create(RawRegion::new(&spsc_words), Mode::Spsc, None, 1, 0).unwrap();
    assert_eq!(spsc.close(), Err(RingError::WrongMode { ring: Mode::Spsc }));
}
