//! Std-thread stress tests of the core protocols over heap regions (release builds; loops shrink under miri, and
//! to a tenth on Windows, where they run under wine: `seqring_tests::rounds`).

use seqring_core::ring::record::Records;
use seqring_core::ring::{self, Blockage, ClaimError, Consumer, Mode, Producer, Ring};
use seqring_core::seqlock::{self, ArrayError, SeqArray, WriteStamp};
use seqring_core::{DType, RawRegion, Spins};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::thread;
use std::time::{Duration, Instant};

use seqring_tests::rounds;

const RECORDS_PER_PRODUCER: u64 = if cfg!(miri) { 200 } else { 10_000_000 };
const WRITES: u64 = if cfg!(miri) { 100 } else { 2_000_000 };

fn heap(len: usize) -> Vec<AtomicU64> {
    (0..len / 8).map(|_| AtomicU64::new(0)).collect()
}

/// The payload of record `seq` from `source`: its length and every byte derive from both.
fn payload(source: u8, seq: u64, buf: &mut [u8; 64]) -> &[u8] {
    let len = (seq % 41) as usize + 8;
    buf[..8].copy_from_slice(&seq.to_le_bytes());
    for (i, b) in buf[8..len].iter_mut().enumerate() {
        *b = (seq as u8).wrapping_mul(31).wrapping_add(i as u8) ^ source;
    }
    &buf[..len]
}

/// Checks a batch's records from sources 1 and 2: each source's timestamps are its sequence numbers, in order and
/// none repeated (`next` holds the next one per source), and every payload is intact.
fn check_records(batch: &[u8], next: &mut [u64; 3], expected: &mut [u8; 64]) {
    for record in Records::new(batch) {
        let r = record.unwrap();
        let source = r.source_id as usize;
        assert!(source == 1 || source == 2, "unknown source {source}");
        assert_eq!(r.timestamp, next[source], "source {source} out of order or duplicated");
        assert_eq!(
            r.payload,
            payload(r.source_id, r.timestamp, expected),
            "payload corrupted"
        );
        next[source] += 1;
    }
}

#[test]
fn mpsc_two_producers_every_record_exactly_once_in_order() {
    let records_per_producer = rounds(RECORDS_PER_PRODUCER);
    let words = heap(ring::region_len(64 * 1024).unwrap());
    let ring = Ring::create(RawRegion::new(&words), Mode::Mpsc, None, 1, 0).unwrap();
    let done = AtomicBool::new(false);
    thread::scope(|s| {
        for source in [1u8, 2] {
            let producer = Producer::attach(ring).unwrap();
            s.spawn(move || {
                let mut buf = [0u8; 64];
                for seq in 0..records_per_producer {
                    let bytes = payload(source, seq, &mut buf);
                    loop {
                        match producer.try_write(source, seq, bytes) {
                            Ok(()) => break,
                            Err(ClaimError::Full) => std::hint::spin_loop(),
                            Err(e) => panic!("claim failed: {e}"),
                        }
                    }
                }
            });
        }
        let done = &done;
        s.spawn(move || {
            let mut consumer = Consumer::attach(ring, 1).unwrap();
            let mut next = [0u64; 3];
            let mut expected = [0u8; 64];
            while next[1] < records_per_producer || next[2] < records_per_producer {
                let Some(batch) = consumer.poll(16 * 1024).unwrap() else {
                    std::hint::spin_loop();
                    continue;
                };
                check_records(batch.bytes(), &mut next, &mut expected);
                batch.release();
            }
            assert!(consumer.poll(usize::MAX).unwrap().is_none(), "records beyond the last");
            done.store(true, Ordering::Relaxed);
        });
    });
    assert!(done.load(Ordering::Relaxed));
    let stats = ring.stats();
    assert_eq!(stats.records, 2 * records_per_producer);
    assert_eq!(stats.abandoned, 0);
    assert_eq!(stats.head, stats.tail);
}

/// Two producers each abandon a few claims (a grant leaked mid-write, as a producer that dies holding it leaves it)
/// while the consumer drains and unblocks with a real deadline: every committed record still arrives exactly once
/// in order, each abandoned claim is counted once, and no live claim is ever padded over.
#[test]
fn mpsc_abandoned_claims_are_unblocked_and_nothing_else_is_lost() {
    let per_producer = rounds(if cfg!(miri) { 100 } else { 400_000 });
    let abandon_every = per_producer / 4;
    // Far longer than any live producer holds a grant here (a few instructions), even when descheduled.
    const DEADLINE: Duration = Duration::from_millis(300);
    let words = heap(ring::region_len(16 * 1024).unwrap());
    let ring = Ring::create(RawRegion::new(&words), Mode::Mpsc, None, 1, 0).unwrap();
    let abandoned_by_producers = AtomicU64::new(0);
    thread::scope(|s| {
        for source in [1u8, 2] {
            let producer = Producer::attach(ring).unwrap();
            let abandoned = &abandoned_by_producers;
            s.spawn(move || {
                let mut buf = [0u8; 64];
                let mut seq = 0;
                let mut abandoned_at = None;
                while seq < per_producer {
                    let bytes = payload(source, seq, &mut buf);
                    match producer.claim(source, seq, bytes.len()) {
                        Ok(mut grant) => {
                            grant.write(0, &bytes[..bytes.len() / 2]);
                            // Once at every abandon_every-th record: die holding the claim; the record is retried.
                            if seq > 0 && seq.is_multiple_of(abandon_every) && abandoned_at != Some(seq) {
                                std::mem::forget(grant);
                                abandoned_at = Some(seq);
                                abandoned.fetch_add(1, Ordering::Relaxed);
                                continue;
                            }
                            grant.write(bytes.len() / 2, &bytes[bytes.len() / 2..]);
                            grant.commit().unwrap();
                            seq += 1;
                        }
                        Err(ClaimError::Full) => std::hint::spin_loop(),
                        Err(e) => panic!("claim failed: {e}"),
                    }
                }
            });
        }
        s.spawn(|| {
            let mut consumer = Consumer::attach(ring, 1).unwrap();
            let mut next = [0u64; 3];
            let mut expected = [0u8; 64];
            let mut noted: Option<(Blockage, Instant)> = None;
            while next[1] < per_producer || next[2] < per_producer {
                if let Some(batch) = consumer.poll(16 * 1024).unwrap() {
                    noted = None;
                    check_records(batch.bytes(), &mut next, &mut expected);
                    batch.release();
                    continue;
                }
                match noted {
                    Some((b, since)) if since.elapsed() >= DEADLINE => {
                        consumer.unblock(b).unwrap();
                        noted = None;
                    }
                    Some(_) => thread::yield_now(),
                    None => noted = consumer.blocked().unwrap().map(|b| (b, Instant::now())),
                }
            }
        });
    });
    let stats = ring.stats();
    assert_eq!(stats.records, 2 * per_producer);
    assert_eq!(stats.abandoned, abandoned_by_producers.load(Ordering::Relaxed));
    assert_eq!(stats.abandoned, 2 * 3, "each producer abandoned 3 claims");
    assert_eq!(stats.dropped, 0, "retrying a full ring drops nothing");
}

#[test]
fn seqlock_readers_never_see_a_torn_array() {
    const N: usize = 64;
    let words = heap(seqlock::region_len(N * 8).unwrap());
    let array = SeqArray::create(RawRegion::new(&words), DType::U64, &[N as u64], 1, 0).unwrap();
    let writing = AtomicBool::new(true);
    thread::scope(|s| {
        let (array, writing) = (&array, &writing);
        s.spawn(move || {
            for v in 1..=WRITES {
                array
                    .write_elements(0, &[v; N], WriteStamp { token: 1, time_ns: v }, Spins(0))
                    .unwrap();
            }
            writing.store(false, Ordering::Release);
        });
        // One reader takes snapshots, the other the lean path.
        let readers: Vec<_> = [false, true]
            .into_iter()
            .map(|lean| {
                s.spawn(move || {
                    let (mut last, mut reads, mut out) = (0u64, 0u64, [0u64; N]);
                    while writing.load(Ordering::Acquire) {
                        // A real deadline: on 2 shared cores the writer may be descheduled mid-write.
                        let deadline = Instant::now() + Duration::from_secs(5);
                        let patience = || {
                            thread::yield_now();
                            Instant::now() < deadline
                        };
                        let read = if lean {
                            array.read_into(0, &mut out, patience)
                        } else {
                            array.read_elements(0, &mut out, patience).map(|snap| {
                                assert_eq!(snap.write_time_ns, snap.version, "metadata and version disagree");
                                snap.version
                            })
                        };
                        match read {
                            Ok(version) => {
                                assert!(out.iter().all(|&x| x == out[0]), "torn read at v{version}");
                                assert_eq!(out[0], version, "data and version disagree");
                                assert!(version >= last, "version went backwards");
                                last = version;
                                reads += 1;
                            }
                            Err(ArrayError::Busy) => {}
                            Err(e) => panic!("read failed: {e}"),
                        }
                    }
                    reads
                })
            })
            .collect();
        for r in readers {
            assert!(
                r.join().unwrap() > 0,
                "a reader never completed a read while the writer hammered"
            );
        }
    });
    assert_eq!(array.version(), WRITES);
}
