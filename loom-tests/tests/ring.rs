//! Ring models: every committed record arrives exactly once, in per-producer order, with intact bytes; wraps pad;
//! abandoned claims are unblocked, and never a live one; reused space is zero to its claimer; a consumer that takes
//! over after a crash inside `release` decodes no half-zeroed record.
//!
//! Which model catches which weakening (checked by mutating the core one change at a time):
//! - `second_producer_learns_the_head_through_the_cache`: the head cache's Release store or Acquire load made
//!   Relaxed (the claimer reads the consumer's old bytes in space it was handed);
//! - `zero_length_unblock_sees_the_marker_of_a_claim_whose_payload_it_saw`: the Release fence after the claim
//!   marker removed (the consumer sees a live record's payload but not its marker, and pads over it);
//! - `zero_length_unblock_confirms_only_the_extent_it_noted`: an unblock that rescans the gap at its deadline
//!   instead of confirming the extent noted before it (Agrona's flaw: a claim paused between its CAS and its
//!   marker is padded over and its record lost);
//! - `takeover_after_a_crash_inside_release`: a consumer that attaches at the head without finishing the release
//!   its predecessor began (a consumed record is delivered again).
//! - `takeover_after_a_crash_inside_the_real_release`: `release` zeroing before it stores the watermark (drives the
//!   real `release`, stopped after its k-th store by `StopAfter`);
//! - `attach_sees_the_watermark_of_the_head_it_loads`: `attach` loading the head Relaxed instead of Acquire (with a
//!   Relaxed handshake on the head that forces the order loom would not otherwise produce);
//! - `a_late_commit_is_either_delivered_or_abandoned`: commits and markers stored instead of CASed, the
//!   watermark check after a marker CAS, and the ordering of both;
//! - `a_consumer_handed_over_through_the_slot_sees_its_predecessors_releases`: the endpoint slot's Acquire CAS and
//!   Release detach.
//!
//! The full table, every ordering of `src/ring/` and `src/seqlock.rs` with its mutant and the model that catches it
//! (or why none does), is `docs/ORDERINGS.md`.
#![cfg(loom)]

use loom::sync::atomic::AtomicBool;
use loom::sync::Arc;
use loom::thread;
use seqring_core::memory::Memory;
use seqring_core::ring::record::Records;
use seqring_core::ring::{self, ClaimError, Consumer, Mode, Producer, Ring, SpscProducer};
use seqring_core::testing::{Stop, StopAfter};
use seqring_core::RawRegion;
use seqring_loom::{leaked_region, model, spin_until, SPIN_BOUND};
use std::sync::atomic::Ordering;

type LoomRing = Ring<RawRegion<'static>>;

/// A 64-byte ring whose largest record is 32 bytes, with head and tail advanced to `start` (a multiple of 24) by
/// records written and consumed before any thread starts.
fn ring(mode: Mode, start: usize) -> LoomRing {
    let ring = Ring::create(leaked_region(ring::region_len(64).unwrap()), mode, Some(32), 1, 0).unwrap();
    if start > 0 {
        for _ in 0..start / 24 {
            write(ring, 0, 0, &[0; 8]);
        }
        let mut c = Consumer::attach(ring, 1).unwrap();
        c.poll(usize::MAX).unwrap().unwrap().release();
    }
    ring
}

/// Writes one record from the main thread, before the model's threads start, with the ring's producer type.
fn write(ring: LoomRing, source: u8, timestamp: u64, payload: &[u8]) {
    match ring.mode() {
        Mode::Spsc => SpscProducer::attach(ring, 2)
            .unwrap()
            .try_write(source, timestamp, payload),
        Mode::Mpsc => Producer::attach(ring).unwrap().try_write(source, timestamp, payload),
    }
    .unwrap();
}

/// What the consumer does when the head record stays uncommitted.
enum OnBlocked<'a> {
    /// Wait: the claim belongs to a live producer.
    Wait,
    /// The producer that claimed at `position` is dead: note the blockage, let `deadline` model the time that
    /// passes (it returns once every claim noted in the extent had its chance), then unblock.
    Unblock {
        position: u64,
        deadline: &'a dyn Fn(&ring::Blockage),
    },
}

/// Consumes until `count` records arrived; returns (source, timestamp, payload word).
fn consume(
    consumer: &mut Consumer<RawRegion<'static>>,
    count: usize,
    on_blocked: OnBlocked<'_>,
) -> Vec<(u8, u64, u64)> {
    let mut got = Vec::new();
    let mut idle = 0;
    while got.len() < count {
        assert!(idle < SPIN_BOUND, "records never arrived: got {got:?}");
        match consumer.poll(usize::MAX).unwrap() {
            Some(batch) => {
                let mut buf = vec![0u8; batch.len()];
                batch.copy_to(&mut buf);
                for r in Records::new(&buf) {
                    let r = r.unwrap();
                    let word = u64::from_le_bytes(r.payload[..8].try_into().expect("8-byte payload"));
                    got.push((r.source_id, r.timestamp, word));
                }
                batch.release();
                idle = 0;
            }
            None => {
                idle += 1;
                if let OnBlocked::Unblock { position, deadline } = &on_blocked {
                    if let Some(b) = consumer.blocked().unwrap().filter(|b| b.position() == *position) {
                        deadline(&b);
                        consumer.unblock(b).unwrap();
                    }
                }
                thread::yield_now();
            }
        }
    }
    got
}

/// The payload word of record `seq` of `source`.
fn word(source: u8, seq: u64) -> u64 {
    u64::from(source) << 32 | seq
}

/// Writes record `seq` of `source`: a 24-byte record whose 8-byte payload encodes both.
fn produce(producer: &Producer<RawRegion<'static>>, source: u8, seq: u64) {
    let payload = word(source, seq).to_le_bytes();
    spin_until("room in the ring", || match producer.try_write(source, seq, &payload) {
        Ok(()) => Some(()),
        Err(ClaimError::Full) => None,
        Err(e) => panic!("source {source}: {e:?}; stats {:?}", producer.ring().stats()),
    });
}

fn check(records: &[(u8, u64, u64)], source: u8, count: u64) {
    let mine: Vec<_> = records.iter().filter(|r| r.0 == source).collect();
    assert_eq!(mine.len() as u64, count, "source {source}: {records:?}");
    for (seq, r) in mine.iter().enumerate() {
        assert_eq!(r.1, seq as u64, "out of order: {records:?}");
        assert_eq!(r.2, word(source, seq as u64), "payload torn: {records:?}");
    }
}

#[test]
fn spsc_in_order_through_a_wrap() {
    model(|| {
        let ring = ring(Mode::Spsc, 0);
        let producer = thread::spawn(move || {
            let p = SpscProducer::attach(ring, 2).unwrap();
            // 24-byte records: the third starts at 48, does not fit in the last 16 bytes, pads and wraps.
            for seq in 0..3 {
                let payload = word(1, seq).to_le_bytes();
                spin_until("room in the ring", || p.try_write(1, seq, &payload).ok());
            }
        });
        let got = consume(&mut Consumer::attach(ring, 1).unwrap(), 3, OnBlocked::Wait);
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
        let got = consume(&mut Consumer::attach(ring, 1).unwrap(), 2, OnBlocked::Wait);
        for p in producers {
            p.join().unwrap();
        }
        check(&got, 1, 1);
        check(&got, 2, 1);
        assert_eq!(ring.stats().tail, 48 + 16 + 2 * 24);
    });
}

#[test]
fn second_producer_learns_the_head_through_the_cache() {
    /// Attempts per producer: bounded, so that two producers waiting for room cannot yield to each other forever
    /// (loom would explore that schedule); a producer that finds no room gives up, and the model counts it.
    const ATTEMPTS: usize = 3;
    model(|| {
        // Two 32-byte records fill the ring before the threads start; their bytes are non-zero.
        let ring = ring(Mode::Mpsc, 0);
        write(ring, 7, u64::MAX, &[0xff; 16]);
        write(ring, 7, u64::MAX, &[0xff; 16]);
        let retry = |what: &mut dyn FnMut() -> bool| {
            (0..ATTEMPTS).any(|_| {
                let done = what();
                if !done {
                    thread::yield_now();
                }
                done
            })
        };
        // A finds the ring full by the cache, reloads the head once the consumer released, and caches it.
        let a = thread::spawn(move || {
            let p = Producer::attach(ring).unwrap();
            retry(&mut || p.try_write(1, 0, &word(1, 0).to_le_bytes()).is_ok())
        });
        // B may then claim reused space by the cache alone; that space must read as zero to it.
        let b = thread::spawn(move || {
            let p = Producer::attach(ring).unwrap();
            retry(&mut || match p.claim(2, 0, 8) {
                Ok(mut grant) => {
                    let old = ring.memory().load(grant.payload_offset(), Ordering::Relaxed);
                    assert_eq!(old, 0, "claimed space holds the consumer's old bytes");
                    grant.write(0, &word(2, 0).to_le_bytes());
                    grant.commit().unwrap();
                    true
                }
                Err(_) => false,
            })
        });
        let mut consumer = Consumer::attach(ring, 1).unwrap();
        let mut got = consume(&mut consumer, 2, OnBlocked::Wait);
        let (a, b) = (a.join().unwrap(), b.join().unwrap());
        got.extend(consume(&mut consumer, usize::from(a) + usize::from(b), OnBlocked::Wait));
        check(&got, 1, a.into());
        check(&got, 2, b.into());
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
        let deadline = |_: &ring::Blockage| {};
        let mut consumer = Consumer::attach(ring, 1).unwrap();
        let got = consume(
            &mut consumer,
            1,
            OnBlocked::Unblock {
                position: dead,
                deadline: &deadline,
            },
        );
        live.join().unwrap();
        check(&got, 2, 1);
        if dead == 0 {
            assert_eq!(ring.stats().abandoned, 1);
        }
    });
}

/// A ring whose first 24 bytes were claimed by a producer that died right after its tail CAS (nothing written),
/// and a flag for handshakes with the live producer.
fn dead_zero_length_claim() -> (LoomRing, Arc<AtomicBool>) {
    let ring = ring(Mode::Mpsc, 0);
    ring.memory().fetch_add(ring::TAIL_AT, 24, Ordering::Relaxed);
    (ring, Arc::new(AtomicBool::new(false)))
}

/// Waits (Relaxed: no happens-before) until `flag` is set.
fn wait_for(flag: &AtomicBool, what: &str) {
    spin_until(what, || flag.load(Ordering::Relaxed).then_some(()));
}

#[test]
fn zero_length_unblock_confirms_only_the_extent_it_noted() {
    model(|| {
        let (ring, noted) = dead_zero_length_claim();
        // The live producer claims right after the consumer noted the dead claim, and may pause between its tail
        // CAS and its marker for as long as the scheduler likes.
        let live = {
            let noted = noted.clone();
            thread::spawn(move || {
                wait_for(&noted, "the consumer's note");
                produce(&Producer::attach(ring).unwrap(), 2, 0);
            })
        };
        let mut consumer = Consumer::attach(ring, 1).unwrap();
        let blockage = consumer.blocked().unwrap().expect("the dead claim blocks the head");
        assert_eq!(blockage.extent(), 24);
        noted.store(true, Ordering::Relaxed);
        // The deadline passes; meanwhile the live producer reserved the next space.
        spin_until("the live claim", || (ring.stats().tail == 48).then_some(()));
        assert!(consumer.unblock(blockage).unwrap(), "the dead claim is padded");
        let got = consume(&mut consumer, 1, OnBlocked::Wait);
        live.join().unwrap();
        check(&got, 2, 1);
        assert_eq!(ring.stats().abandoned, 1);
    });
}

#[test]
fn zero_length_unblock_sees_the_marker_of_a_claim_whose_payload_it_saw() {
    model(|| {
        let (ring, written) = dead_zero_length_claim();
        // The live producer claims the next space and writes its payload; only then does the consumer look.
        let live = {
            let written = written.clone();
            thread::spawn(move || {
                let p = Producer::attach(ring).unwrap();
                let mut grant = p.claim(2, 0, 8).unwrap();
                grant.write(0, &word(2, 0).to_le_bytes());
                // No happens-before: the consumer learns only that time has passed.
                written.store(true, Ordering::Relaxed);
                grant.commit().unwrap();
            })
        };
        wait_for(&written, "the live payload");
        // The deadline has passed for every claim in the extent: the live one stored its marker long ago.
        let deadline = |_: &ring::Blockage| {};
        let mut consumer = Consumer::attach(ring, 1).unwrap();
        let got = consume(
            &mut consumer,
            1,
            OnBlocked::Unblock {
                position: 0,
                deadline: &deadline,
            },
        );
        live.join().unwrap();
        check(&got, 2, 1);
        assert_eq!(ring.stats().abandoned, 1);
        assert_eq!(ring.stats().records, 1);
    });
}

#[test]
fn takeover_after_a_crash_inside_release() {
    model(|| {
        let ring = ring(Mode::Mpsc, 0);
        write(ring, 1, 0, &word(1, 0).to_le_bytes());
        write(ring, 1, 1, &word(1, 1).to_le_bytes());
        // The first consumer consumed both records and died inside `release`, after zeroing the first header.
        let mut dead = Consumer::attach(ring, 1).unwrap();
        dead.poll(usize::MAX).unwrap().unwrap().release_until_crash(1);
        std::mem::forget(dead);
        // A producer needs the space the dead consumer was releasing.
        let live = thread::spawn(move || produce(&Producer::attach(ring).unwrap(), 2, 0));
        // SAFETY: the dead consumer was forgotten after its crash: none of its code runs any more (the std layer
        // evicts a consumer whose pid is dead).
        assert!(unsafe { ring.evict_consumer(1) });
        let mut consumer = Consumer::attach(ring, 2).unwrap();
        // Were the release left unfinished, the zeroed header would look like a dead zero-length claim: unblock
        // it as the std layer would.
        let deadline = |_: &ring::Blockage| {};
        let got = consume(
            &mut consumer,
            1,
            OnBlocked::Unblock {
                position: 0,
                deadline: &deadline,
            },
        );
        live.join().unwrap();
        assert_eq!(got, [(2, 0, word(2, 0))], "only the new record, no consumed one again");
        assert!(consumer.poll(usize::MAX).unwrap().is_none());
    });
}

/// A 64-byte MPSC ring holding two committed 24-byte records (sources 1, timestamps 0 and 1) that a consumer
/// consumed and then died inside the *real* [`ring::Batch::release`], after its `k`-th written word (driven through
/// [`StopAfter`] with [`Stop::Vanish`]: nothing it writes after that lands). Its slot stays held, as a dead
/// process's does.
fn ring_after_a_release_that_died_after(k: usize) -> LoomRing {
    let ring = ring(Mode::Mpsc, 0);
    write(ring, 1, 0, &word(1, 0).to_le_bytes());
    write(ring, 1, 1, &word(1, 1).to_le_bytes());
    let stop = StopAfter::new(*ring.memory(), 0, Stop::Vanish);
    let dying = Ring::open(&stop, seqring_core::Spins(0)).unwrap();
    let mut dead = Consumer::attach(dying, 1).unwrap();
    let batch = dead.poll(usize::MAX).unwrap().unwrap();
    assert_eq!(batch.records(), 2);
    stop.arm(k);
    batch.release();
    std::mem::forget(dead);
    ring
}

#[test]
fn takeover_after_a_crash_inside_the_real_release() {
    // The release writes: the watermark (1), its check (2), then it zeroes the 6 words of the batch (3..=8), then
    // stores the counters and the head. Stopping after 1, 2 or 3 covers: watermark without check (nothing zeroed:
    // the records are consumed again), and a release begun (it must be finished, never decoded half zeroed).
    for k in [1, 2, 3] {
        model(move || {
            let ring = ring_after_a_release_that_died_after(k);
            // A producer needs the space the dead consumer was releasing.
            let live = thread::spawn(move || produce(&Producer::attach(ring).unwrap(), 2, 0));
            // SAFETY: the dead consumer's writes were all dropped after its stop, and its handle was forgotten:
            // none of its code runs any more.
            assert!(unsafe { ring.evict_consumer(1) });
            let mut consumer = Consumer::attach(ring, 2).unwrap();
            // A release left half done would show a zeroed header with the tail ahead: a zero-length claim to the
            // std layer, which unblocks it after its deadline; do the same.
            let deadline = |_: &ring::Blockage| {};
            let expected = if k < 2 { 3 } else { 1 };
            let got = consume(
                &mut consumer,
                expected,
                OnBlocked::Unblock {
                    position: 0,
                    deadline: &deadline,
                },
            );
            live.join().unwrap();
            let mut want = vec![(2, 0, word(2, 0))];
            if k < 2 {
                // Nothing was zeroed: the consumed records are delivered again (at least once), whole.
                want = vec![(1, 0, word(1, 0)), (1, 1, word(1, 1)), (2, 0, word(2, 0))];
            }
            let mut sorted = got.clone();
            sorted.sort_unstable();
            assert_eq!(sorted, want, "k={k}: {got:?}");
            assert!(consumer.poll(usize::MAX).unwrap().is_none());
            assert_eq!(ring.stats().abandoned, 0, "k={k}: nothing was padded over");
        });
    }
}

#[test]
fn attach_sees_the_watermark_of_the_head_it_loads() {
    model(|| {
        let ring = ring(Mode::Mpsc, 0);
        write(ring, 1, 0, &word(1, 0).to_le_bytes());
        write(ring, 1, 1, &word(1, 1).to_le_bytes());
        // The first consumer releases the two records in two batches, then dies (its slot stays held).
        let first = thread::spawn(move || {
            let mut c = Consumer::attach(ring, 1).unwrap();
            for _ in 0..2 {
                c.poll(24).unwrap().unwrap().release();
            }
            std::mem::forget(c);
        });
        // The handshake loom cannot make by itself: the successor learns of the death by seeing the last head
        // (a Relaxed load, so it synchronises with nothing), as an evictor that saw the dead consumer's last
        // heartbeat would; its own `attach` must then load the head with Acquire to see that release's watermark.
        spin_until("the last release", || {
            (ring.memory().load(ring::HEAD_AT, Ordering::Relaxed) == 48).then_some(())
        });
        // SAFETY: the first consumer has finished releasing and forgets its handle; it touches the ring no more
        // (its thread is joined below, after the attach, so that the join orders nothing before it).
        assert!(unsafe { ring.evict_consumer(1) });
        let consumer = Consumer::attach(ring, 2).expect("a finished release is no corruption");
        assert_eq!(consumer.position(), 48);
        first.join().unwrap();
    });
}

#[test]
fn a_late_commit_is_either_delivered_or_abandoned() {
    model(|| {
        let ring = ring(Mode::Mpsc, 0);
        // The producer may pause anywhere: after its tail CAS (a zero-length claim), after its marker, before its
        // commit. The consumer unblocks at once (its deadline is modelled as already past).
        let producer = thread::spawn(move || {
            let p = Producer::attach(ring).unwrap();
            let committed = match p.claim(3, 7, 8) {
                Ok(mut grant) => {
                    grant.write(0, &word(3, 7).to_le_bytes());
                    grant.commit().is_ok()
                }
                Err(ClaimError::Abandoned) => false,
                Err(e) => panic!("{e}"),
            };
            committed
        });
        let mut consumer = Consumer::attach(ring, 1).unwrap();
        let mut got = Vec::new();
        for _ in 0..3 {
            if let Some(batch) = consumer.poll(usize::MAX).unwrap() {
                let mut buf = vec![0u8; batch.len()];
                batch.copy_to(&mut buf);
                got.extend(Records::new(&buf).map(|r| r.unwrap().payload.to_vec()));
                batch.release();
            } else if let Some(b) = consumer.blocked().unwrap() {
                consumer.unblock(b).unwrap();
            }
            thread::yield_now();
        }
        let committed = producer.join().unwrap();
        while let Some(batch) = consumer.poll(usize::MAX).unwrap() {
            let mut buf = vec![0u8; batch.len()];
            batch.copy_to(&mut buf);
            got.extend(Records::new(&buf).map(|r| r.unwrap().payload.to_vec()));
            batch.release();
        }
        let stats = ring.stats();
        let delivered = !got.is_empty();
        assert!(got.iter().all(|p| p[..] == word(3, 7).to_le_bytes()), "stale: {got:?}");
        assert!(got.len() <= 1, "delivered twice: {got:?}");
        assert_eq!(delivered, committed, "the producer's result says what happened");
        assert_eq!(
            stats.abandoned,
            u64::from(!committed),
            "exactly one of delivered or abandoned"
        );
        // Whatever happened, the ring is consistent: a further record flows, and freed space is zero.
        produce(&Producer::attach(ring).unwrap(), 4, 0);
        let next = consume(&mut consumer, 1, OnBlocked::Wait);
        assert_eq!(next, [(4, 0, word(4, 0))]);
    });
}

#[test]
fn a_consumer_handed_over_through_the_slot_sees_its_predecessors_releases() {
    model(|| {
        let ring = ring(Mode::Mpsc, 0);
        write(ring, 1, 0, &word(1, 0).to_le_bytes());
        write(ring, 1, 1, &word(1, 1).to_le_bytes());
        // The first consumer takes one record and detaches; the second attaches as soon as the slot is free (it
        // learns of the detach through the slot alone) and must start where the first one stopped.
        let mut first = Consumer::attach(ring, 1).unwrap();
        let handover = thread::spawn(move || {
            let batch = first.poll(24).unwrap().expect("the first record");
            let mut buf = vec![0u8; batch.len()];
            batch.copy_to(&mut buf);
            batch.release();
            drop(first);
            let r = Records::new(&buf).next().unwrap().unwrap();
            let w = u64::from_le_bytes(r.payload[..8].try_into().unwrap());
            vec![(r.source_id, r.timestamp, w)]
        });
        let mut second = spin_until("the consumer slot", || Consumer::attach(ring, 2).ok());
        let got = consume(&mut second, 1, OnBlocked::Wait);
        let mut all = handover.join().unwrap();
        all.extend(got);
        assert_eq!(
            all,
            [(1, 0, word(1, 0)), (1, 1, word(1, 1))],
            "each record exactly once, in order"
        );
    });
}

#[test]
fn a_marker_placed_on_a_released_zero_is_taken_back() {
    model(|| {
        let ring = ring(Mode::Mpsc, 0);
        let released = Arc::new(AtomicBool::new(false));
        // The producer stops right after its tail CAS (its first store) until the consumer has padded its
        // zero-length claim and released the padding: the order loom would reach only through a long run of
        // yields, forced by a handshake (Relaxed: it orders nothing). Its marker CAS then finds the release's zero.
        let producer = {
            let released = released.clone();
            thread::spawn(move || {
                let wait = || wait_for(&released, "the consumer's release");
                let stop = StopAfter::new(*ring.memory(), 0, Stop::Pause(&wait));
                let p = Producer::attach(Ring::open(&stop, seqring_core::Spins(0)).unwrap()).unwrap();
                stop.arm(1);
                p.try_write(3, 7, &word(3, 7).to_le_bytes())
            })
        };
        spin_until("the claim", || (ring.stats().tail == 24).then_some(()));
        let mut consumer = Consumer::attach(ring, 1).unwrap();
        let noted = consumer.blocked().unwrap().expect("the zero-length claim");
        assert!(consumer.unblock(noted).unwrap());
        consumer.poll(usize::MAX).unwrap().expect("the padding").release();
        released.store(true, Ordering::Relaxed);
        assert_eq!(
            producer.join().unwrap(),
            Err(ClaimError::Abandoned),
            "the late producer learns it"
        );
        assert!(
            consumer.poll(usize::MAX).unwrap().is_none(),
            "nothing stale is delivered"
        );
        assert_eq!(ring.stats().abandoned, 1);
        for at in (ring::DATA_OFFSET..ring::DATA_OFFSET + 64).step_by(8) {
            assert_eq!(
                ring.memory().load(at, Ordering::Relaxed),
                0,
                "free space is zero at {at}"
            );
        }
    });
}

#[test]
fn an_aborted_claim_is_zero_once_released() {
    for mode in [Mode::Spsc, Mode::Mpsc] {
        model(move || {
            let ring = ring(mode, 0);
            // The producer writes its payload, then aborts: the consumer releases the padding, zeroing the bytes,
            // which must come after the payload stores (the abort's Release store, acquired by the poll).
            let producer = thread::spawn(move || match mode {
                Mode::Spsc => {
                    let p = SpscProducer::attach(ring, 2).unwrap();
                    let mut grant = p.claim(1, 0, 8).unwrap();
                    grant.write(0, &word(1, 0).to_le_bytes());
                    grant.abort();
                }
                Mode::Mpsc => {
                    let p = Producer::attach(ring).unwrap();
                    let mut grant = p.claim(1, 0, 8).unwrap();
                    grant.write(0, &word(1, 0).to_le_bytes());
                    grant.abort();
                }
            });
            let mut consumer = Consumer::attach(ring, 1).unwrap();
            let batch = spin_until("the aborted claim", || {
                let b = consumer.poll(usize::MAX).unwrap().map(|b| (b.len(), b.records()));
                thread::yield_now();
                b
            });
            assert_eq!(batch, (24, 0), "padding only");
            consumer.poll(usize::MAX).unwrap().unwrap().release();
            producer.join().unwrap();
            for at in (ring::DATA_OFFSET..ring::DATA_OFFSET + 64).step_by(8) {
                assert_eq!(
                    ring.memory().load(at, Ordering::Relaxed),
                    0,
                    "{mode:?}: released bytes at {at}"
                );
            }
        });
    }
}

#[test]
fn an_spsc_claim_is_seen_with_its_marker() {
    model(|| {
        let ring = ring(Mode::Spsc, 0);
        let producer = thread::spawn(move || {
            let p = SpscProducer::attach(ring, 2).unwrap();
            let mut grant = p.claim(1, 0, 8).unwrap();
            grant.write(0, &word(1, 0).to_le_bytes());
            grant.commit().unwrap();
        });
        // The consumer looks at the claimed space before the commit: the tail's Release store published the
        // marker, so an SPSC claim never shows claimed space without a header (that would be `Corrupt`).
        let consumer = Consumer::attach(ring, 1).unwrap();
        if let Some(b) = consumer.blocked().unwrap() {
            assert_eq!((b.position(), b.source_id()), (0, Some(1)));
        }
        producer.join().unwrap();
    });
}
