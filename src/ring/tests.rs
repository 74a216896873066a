//! Edge cases of the ring protocol, single-threaded over a heap region.

use super::record::{Record, Records, Word0};
use super::*;
use crate::memory::RawRegion;
use crate::sync::AtomicU64;
use std::vec::Vec;

/// Zeroed words for a ring region with a data area of `capacity` bytes.
pub(super) fn words(capacity: usize) -> Vec<AtomicU64> {
    crate::memory::test_words(region_len(capacity).unwrap())
}

/// (source, timestamp, payload) of every record of every batch, released as it goes.
pub(super) fn drain(consumer: &mut Consumer<RawRegion<'_>>) -> Vec<(u8, u64, Vec<u8>)> {
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
fn poll_each_sees_exactly_the_records_of_the_batch_it_returns() {
    let w = words(256);
    let ring = Ring::create(RawRegion::new(&w), Mode::Mpsc, Some(64), 1, 0).unwrap();
    let p = Producer::attach(ring).unwrap();
    let mut c = Consumer::attach(ring, 1).unwrap();
    let mut polls = 0;
    // Records of 24, 32 and 40 bytes from three sources, with wrap padding, in batches cut at 56 bytes, and an
    // abort (padding inside a batch): what `each` sees is what decoding the batch's bytes gives, offsets included.
    for i in 0..300u64 {
        let payload = std::vec![i as u8; (i % 3) as usize * 8 + 8];
        if i % 7 == 3 {
            p.claim((i % 3) as u8, i, 8).unwrap().abort();
        }
        p.try_write((i % 3) as u8, i, &payload).unwrap();
        if i % 2 == 0 {
            continue;
        }
        loop {
            let mut seen = Vec::new();
            let Some(batch) = c.poll_each(56, |offset, w| seen.push((offset, w))).unwrap() else {
                break;
            };
            polls += 1;
            let mut decoded = Vec::new();
            let mut records = Records::new(batch.bytes());
            while let Some(r) = records.next() {
                let r = r.unwrap();
                let len = record::HEADER_LEN + r.payload.len();
                let start = records.offset() - record::align8(len).unwrap();
                decoded.push((start, Word0::data(len as i32, r.source_id)));
            }
            assert_eq!(seen, decoded);
            assert_eq!(seen.len() as u64, batch.records());
            batch.release();
        }
    }
    assert!(polls > 150);
    assert_eq!(ring.stats().records, 300);
    // Nothing committed: `each` is not called.
    let mut calls = 0;
    assert!(c.poll_each(usize::MAX, |_, _| calls += 1).unwrap().is_none());
    assert_eq!(calls, 0);
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
    slow.commit().unwrap();
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
    assert_eq!(b.claimant(), Some(1), "tagged with the producer's epoch");
    assert!(
        !c.unblock(b).unwrap(),
        "the attached producer's claim is never unblocked"
    );
    drop(p);
    assert!(c.unblock(b).unwrap(), "once it is gone, it is");
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
        // SAFETY: the consumer registered as 1 was forgotten after its "crash": none of its code runs any more.
        assert!(unsafe { ring.evict_consumer(1) });
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
    Producer::attach(ring).unwrap().try_write(1, 1, &[1; 16]).unwrap(); // 0..32
    for bad in [4, 40, 136, 1 << 40, u64::MAX - 7] {
        ring.memory().store(RELEASE_TO_AT, bad, Ordering::Relaxed);
        ring.memory().store(RELEASE_CHECK_AT, !bad, Ordering::Relaxed);
        assert_eq!(
            Consumer::attach(ring, 1).err(),
            Some(RingError::Corrupt { position: 0 }),
            "{bad}"
        );
        // Without its check the watermark was never stored whole, so no zeroing began: it is ignored.
        ring.memory().store(RELEASE_CHECK_AT, bad, Ordering::Relaxed);
        assert_eq!(Consumer::attach(ring, 1).map(|c| c.position()), Ok(0), "{bad}");
    }
}

#[test]
fn corrupt_headers_are_errors() {
    let w = words(128);
    let ring = Ring::create(RawRegion::new(&w), Mode::Mpsc, Some(64), 1, 0).unwrap();
    let mut c = Consumer::attach(ring, 1).unwrap();
    ring.memory().store(TAIL_AT, 128, Ordering::Relaxed); // the headers below lie before the tail
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
    core::mem::forget(c);
    // SAFETY: the consumer registered as 8 was forgotten: none of its code runs any more.
    assert!(unsafe { ring.evict_consumer(8) });
    drop(p);
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
    grant.commit().unwrap();
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

// Issue 19: recovery paths, round two.

use crate::testing::{Stop, StopAfter};

/// Runs `f`, which must die at an injected crash; returns whether it did.
fn dies(f: impl FnOnce()) -> bool {
    std::panic::catch_unwind(std::panic::AssertUnwindSafe(f)).is_err()
}

#[test]
fn a_blockage_from_another_ring_is_refused() {
    let (wa, wb) = (words(256), words(256));
    let a = Ring::create(RawRegion::new(&wa), Mode::Mpsc, None, 1, 0).unwrap();
    let b = Ring::create(RawRegion::new(&wb), Mode::Mpsc, None, 1, 0).unwrap();
    core::mem::forget(Producer::attach(a).unwrap().claim(4, 1, 8).unwrap());
    let foreign = Consumer::attach(a, 1).unwrap().blocked().unwrap().unwrap();
    // Ring b has a live claim at the same position with the same marker, never noted.
    let pb = Producer::attach(b).unwrap();
    let mut live = pb.claim(4, 1, 8).unwrap();
    let mut cb = Consumer::attach(b, 1).unwrap();
    assert!(
        !matches!(cb.unblock(foreign), Ok(true)),
        "a blockage of ring a padded ring b's live claim"
    );
    live.write(0, b"live rec");
    live.commit().unwrap();
    assert_eq!(drain(&mut cb), [(4, 1, b"live rec".to_vec())]);
    assert_eq!(b.stats().abandoned, 0);
}

/// An SPSC ring of 128 bytes whose tail stands at 120 (three 40-byte records written and consumed), so that the
/// next 40-byte record pads the last 8 bytes and wraps.
fn spsc_ring_before_a_wrap(w: &[AtomicU64]) -> Ring<RawRegion<'_>> {
    let ring = Ring::create(RawRegion::new(w), Mode::Spsc, Some(64), 1, 0).unwrap();
    let p = SpscProducer::attach(ring, 2).unwrap();
    let mut c = Consumer::attach(ring, 1).unwrap();
    for i in 0..3 {
        p.try_write(1, i, &[7; 24]).unwrap();
    }
    assert_eq!(drain(&mut c).len(), 3);
    assert_eq!(ring.stats().tail, 120);
    ring
}

#[test]
fn an_spsc_producer_killed_before_publishing_its_tail_is_taken_over() {
    // The wrapping claim stores the padding (1), the marker (2), then the tail (3).
    for k in [1, 2] {
        let w = words(128);
        let ring = spsc_ring_before_a_wrap(&w);
        let stop = StopAfter::new(RawRegion::new(&w), 0, Stop::Crash);
        let crashing = Ring::open(&stop, crate::Spins(0)).unwrap();
        let p = SpscProducer::attach(crashing, 3).unwrap();
        stop.arm(k);
        assert!(dies(|| p.try_write(1, 9, &[9; 24]).unwrap()), "k={k}");
        drop(p); // a dead process detaches nothing
        assert_eq!(ring.stats().tail, 120, "k={k}: the tail was never published");
        let mut c = Consumer::attach(ring, 4).unwrap();
        assert!(drain(&mut c).is_empty(), "k={k}: nothing lies before the tail");
        assert!(c.position() <= ring.stats().tail, "k={k}: consumed past the tail");
        // SAFETY: the producer registered as 3 is dead (it crashed above; nothing of it runs any more).
        assert!(unsafe { ring.evict_spsc_producer(3) });
        let next = SpscProducer::attach(ring, 5).unwrap();
        for i in 0..4 {
            next.try_write(2, i, &[i as u8; 24])
                .unwrap_or_else(|e| panic!("k={k}: {e}"));
            assert_eq!(drain(&mut c), [(2, i, std::vec![i as u8; 24])], "k={k}");
        }
        assert_all_zero(&ring);
    }
}

#[test]
fn a_commit_after_its_claim_was_unblocked_is_refused_and_not_delivered() {
    for drained_first in [false, true] {
        let w = words(256);
        let ring = Ring::create(RawRegion::new(&w), Mode::Mpsc, None, 1, 0).unwrap();
        let p = Producer::attach(ring).unwrap();
        let mut c = Consumer::attach(ring, 1).unwrap();
        let mut late = p.claim(1, 1, 8).unwrap();
        let noted = c.blocked().unwrap().unwrap();
        // The deadline passes; the producer was only slow.
        assert!(c.unblock(noted).unwrap());
        if drained_first {
            assert!(drain(&mut c).is_empty());
        }
        late.write(0, b"too late");
        assert_eq!(
            late.commit(),
            Err(Abandoned),
            "the late producer learns it was abandoned"
        );
        p.try_write(2, 2, b"next").unwrap();
        assert_eq!(
            drain(&mut c),
            [(2, 2, b"next".to_vec())],
            "drained first: {drained_first}"
        );
        assert_eq!((ring.stats().abandoned, ring.stats().records), (1, 1));
        assert_all_zero(&ring);
    }
}

#[test]
fn a_zero_length_claim_whose_marker_comes_after_its_unblock_is_abandoned() {
    // The producer pauses right after its tail CAS (write 1); the consumer notes the zero-length claim, and (after
    // the deadline) pads it, and maybe drains past it, before the producer stores its marker.
    for drain_in_pause in [false, true] {
        let w = words(256);
        let ring = Ring::create(RawRegion::new(&w), Mode::Mpsc, None, 1, 0).unwrap();
        let consumer = core::cell::RefCell::new(Consumer::attach(ring, 1).unwrap());
        let pause = || {
            let mut c = consumer.borrow_mut();
            let noted = c.blocked().unwrap().expect("the zero-length claim blocks");
            assert_eq!((noted.source_id(), noted.extent()), (None, 32));
            assert!(c.unblock(noted).unwrap());
            if drain_in_pause {
                assert!(drain(&mut c).is_empty());
            }
        };
        let stop = StopAfter::new(RawRegion::new(&w), 0, Stop::Pause(&pause));
        let paused = Producer::attach(Ring::open(&stop, crate::Spins(0)).unwrap()).unwrap();
        stop.arm(1);
        let late = paused.try_write(3, 1, &[3; 16]);
        assert!(stop.stopped());
        assert_eq!(late, Err(ClaimError::Abandoned), "drain in pause {drain_in_pause}");
        let p = Producer::attach(ring).unwrap();
        p.try_write(2, 2, b"next").unwrap();
        let mut c = consumer.into_inner();
        assert_eq!(
            drain(&mut c),
            [(2, 2, b"next".to_vec())],
            "drain in pause {drain_in_pause}"
        );
        assert_eq!((ring.stats().abandoned, ring.stats().records), (1, 1));
        assert_all_zero(&ring);
    }
}

#[test]
fn create_refuses_a_ring_with_an_attached_consumer() {
    let w = words(256);
    let ring = Ring::create(RawRegion::new(&w), Mode::Mpsc, None, 1, 0).unwrap();
    let p = Producer::attach(ring).unwrap();
    p.try_write(1, 1, b"unreleased").unwrap();
    let mut c = Consumer::attach(ring, 7).unwrap();
    let batch = c.poll(usize::MAX).unwrap().unwrap();
    let again = Ring::create(RawRegion::new(&w), Mode::Mpsc, None, 1, 0);
    assert_eq!(again.err(), Some(RingError::AlreadyAttached(7)));
    assert_eq!(
        Records::new(batch.bytes()).next().unwrap().unwrap().payload,
        b"unreleased"
    );
    batch.release();
}

/// Rewrites the ring's layout version to 1, as the previous release left it (no release watermark).
fn as_version_1(ring: &Ring<RawRegion<'_>>) {
    let vk = ring.memory().load(8, Ordering::Relaxed);
    ring.memory().store(8, (vk & !0xffff_ffff) | 1, Ordering::Relaxed);
}

#[test]
fn a_version_1_ring_with_a_moved_head_is_read() {
    let w = words(256);
    let ring = Ring::create(RawRegion::new(&w), Mode::Mpsc, None, 1, 0).unwrap();
    let p = Producer::attach(ring).unwrap();
    let mut c = Consumer::attach(ring, 1).unwrap();
    p.try_write(1, 1, b"consumed").unwrap();
    assert_eq!(drain(&mut c).len(), 1);
    drop(c);
    p.try_write(1, 2, b"pending").unwrap();
    // The previous release had no watermark: word 136 stayed zero while the head moved.
    ring.memory().store(RELEASE_TO_AT, 0, Ordering::Relaxed);
    ring.memory().store(RELEASE_TO_AT + 8, 0, Ordering::Relaxed);
    as_version_1(&ring);
    let old = Ring::open(RawRegion::new(&w), crate::Spins(0)).unwrap();
    let mut c = Consumer::attach(old, 1).unwrap();
    assert_eq!(drain(&mut c), [(1, 2, b"pending".to_vec())]);
}

#[test]
fn an_in_range_garbage_watermark_is_not_trusted() {
    let w = words(256);
    let ring = Ring::create(RawRegion::new(&w), Mode::Mpsc, None, 1, 0).unwrap();
    let p = Producer::attach(ring).unwrap();
    // Two committed records, never consumed; the second one's payload looks like a record header.
    p.try_write(1, 1, &[0; 16]).unwrap(); // 0..32
    let forged = Word0::data(24, 66).encode().to_le_bytes();
    let mut payload = [0u8; 24];
    payload[..8].copy_from_slice(&forged);
    payload[8..16].copy_from_slice(&5u64.to_le_bytes());
    p.try_write(1, 2, &payload).unwrap(); // 32..72, its payload at 48
                                          // Garbage in the watermark, inside the claimed space and aligned: the middle of the second record.
    ring.memory().store(RELEASE_TO_AT, 48, Ordering::Relaxed);
    let attached = Consumer::attach(ring, 1);
    if let Ok(mut c) = attached {
        let got = drain(&mut c);
        assert_eq!(
            got.len(),
            2,
            "committed records were zeroed or a forged one delivered: {got:?}"
        );
    }
}

/// A grant is whole words only (see its definition): a narrower field brings back the store-forwarding stall that
/// cost 10 ns per claim where the compiler kept the grant on the stack. Its length and source come from its marker.
#[test]
fn a_grant_is_three_words_and_reads_its_length_and_source_from_its_marker() {
    assert_eq!(core::mem::size_of::<Grant<'_, RawRegion<'_>, Shared>>(), 3 * 8);
    assert_eq!(core::mem::size_of::<Grant<'_, RawRegion<'_>, Exclusive>>(), 3 * 8);
    let w = words(4096);
    let ring = Ring::create(RawRegion::new(&w), Mode::Mpsc, None, 1, 0).unwrap();
    let producer = Producer::attach(ring).unwrap();
    let mut consumer = Consumer::attach(ring, 1).unwrap();
    for (source, len) in [(0u8, 0usize), (7, 1), (255, 24), (3, 1000)] {
        let mut grant = producer.claim(source, 5, len).unwrap();
        assert_eq!(grant.len(), len);
        grant.write(0, &std::vec![source; len]);
        grant.commit().unwrap();
        assert_eq!(drain(&mut consumer), [(source, 5, std::vec![source; len])]);
        producer.claim(source, 6, len).unwrap().abort();
        let batch = consumer.poll(usize::MAX).unwrap().unwrap();
        assert_eq!(
            (batch.records(), batch.len()),
            (0, (16 + len).next_multiple_of(8)),
            "aborted: padding"
        );
        batch.release();
    }
}
