//! Log region models: the onset protocol and the producer slots of a logger's block
//! (`seqring_core::log_region`), run on loom atomics through the core's own code.
//!
//! Which model catches which weakening (checked by mutating the core one change at a time):
//! - `the_onset_is_published_after_its_record`: `set_onset`'s Release store or `onset`'s Acquire load made
//!   Relaxed (a later producer of the source sees the onset but not the onset record its winner committed), or
//!   `claim_onset` made a plain store (both producers win and log an onset record);
//! - `the_drain_publishes_a_pending_onset_once`: `publish_pending_onset`'s Release CAS made Relaxed (a producer
//!   that sees the onset the drain published does not see the record it was read from);
//! - `a_slot_is_held_by_one_process_at_a_time`: `producer_slot` taking a slot with a load and a store instead of
//!   a CAS (two processes share a claimant tag), or `reap_producers` freeing a slot before the head passed the
//!   dead holder's claims;
//! - `a_tailer_wakes_for_a_written_batch_and_sees_it`: `wait_written`'s CAS made a load and comparison,
//!   `note_written`'s AcqRel count made Relaxed, or the tailer's lease stored after its CAS instead of before (each
//!   loses the wake-up: a deadlock).
#![cfg(loom)]

use loom::thread;
use seqring_core::log_region::{HeaderFields, LogRegion, Onset, BLOCK_LEN};
use seqring_core::memory::Memory;
use seqring_core::RawRegion;
use seqring_loom::{leaked_region, model, spin_until, Futexed};
use std::sync::atomic::Ordering;

/// Where the models keep the stand-in of a committed onset record: the first word of the (unused) ring part.
const RECORD_AT: usize = 0;
const SOURCE: u8 = 7;
const ONSET: u64 = 1_700_000_000_000_000;

fn log_region() -> LogRegion<RawRegion<'static>> {
    let mem = leaked_region(LogRegion::<RawRegion>::region_len(64));
    let fields = HeaderFields {
        pid: 1,
        started_us: 0,
        wait_ns: None,
    };
    LogRegion::init(mem, fields, 9)
}

/// Commits the stand-in onset record (the ring's own Release commit is modelled in the ring models).
fn commit_record(log: &LogRegion<RawRegion<'static>>) {
    log.memory().store(RECORD_AT, ONSET, Ordering::Relaxed);
}

#[test]
fn the_onset_is_published_after_its_record() {
    model(|| {
        let log = log_region();
        let producers: Vec<_> = [100u32, 200]
            .into_iter()
            .map(|pid| {
                thread::spawn(move || {
                    if log.claim_onset(SOURCE, pid) {
                        commit_record(&log);
                        log.set_onset(SOURCE, ONSET);
                        true
                    } else {
                        let onset = spin_until("the onset", || match log.onset(SOURCE) {
                            Onset::Set(us) => Some(us),
                            _ => None,
                        });
                        assert_eq!(onset, ONSET);
                        assert_eq!(
                            log.memory().load(RECORD_AT, Ordering::Relaxed),
                            ONSET,
                            "the onset is visible before its record"
                        );
                        false
                    }
                })
            })
            .collect();
        let winners = producers
            .into_iter()
            .map(|p| p.join().unwrap())
            .filter(|&won| won)
            .count();
        assert_eq!(winners, 1, "exactly one producer logs the onset record");
    });
}

#[test]
fn the_drain_publishes_a_pending_onset_once() {
    model(|| {
        let log = log_region();
        assert!(log.claim_onset(SOURCE, 100));
        // The pending producer commits its onset record and dies before publishing the onset; the drain reads
        // the record and publishes it while a second producer of the source waits for the onset.
        let drain = thread::spawn(move || {
            commit_record(&log);
            assert!(log.publish_pending_onset(SOURCE, ONSET));
            assert!(!log.publish_pending_onset(SOURCE, ONSET), "published once");
        });
        let late = thread::spawn(move || {
            let onset = spin_until("the onset", || match log.onset(SOURCE) {
                Onset::Set(us) => Some(us),
                Onset::Pending(pid) => {
                    assert_eq!(pid, 100);
                    None
                }
                Onset::None => panic!("a pending slot never reads as empty"),
            });
            assert_eq!(onset, ONSET);
            assert_eq!(log.memory().load(RECORD_AT, Ordering::Relaxed), ONSET);
        });
        drain.join().unwrap();
        late.join().unwrap();
        assert!(!log.clear_dead_onset(SOURCE, 100), "a published onset is never cleared");
    });
}

#[test]
fn a_slot_is_held_by_one_process_at_a_time() {
    model(|| {
        let log = log_region();
        // Process 100 held slot 1 and died with the ring's tail at 64; the drain retires its slot, then frees it
        // once the head reaches 64, while processes 200 and 300 take slots.
        assert_eq!(log.producer_slot(100), 1);
        let drain = thread::spawn(move || {
            log.reap_producers(0, 64, |pid| pid != 100);
            log.reap_producers(56, 64, |pid| pid != 100);
            assert_eq!(
                log.claimant_pid(1),
                Some(100),
                "retiring, not free, while claims may remain"
            );
            log.reap_producers(64, 64, |pid| pid != 100);
        });
        let takers: Vec<_> = [200u32, 300]
            .into_iter()
            .map(|pid| {
                thread::spawn(move || {
                    let tag = log.producer_slot(pid);
                    assert_ne!(tag, 0, "four slots, three processes");
                    tag
                })
            })
            .collect();
        drain.join().unwrap();
        let tags: Vec<u16> = takers.into_iter().map(|t| t.join().unwrap()).collect();
        assert_ne!(tags[0], tags[1], "two processes got one slot");
        assert_eq!(log.claimant_pid(tags[0]), Some(200));
        assert_eq!(log.claimant_pid(tags[1]), Some(300));
    });
}

/// A tailer that found nothing new blocks on the written count, with no timeout, while the drain writes a batch
/// and counts it: the tailer always wakes (else loom reports the deadlock) and then sees the batch. Weakenings it
/// catches (each applied to the core alone, each a deadlock): the tailer's CAS made a plain load and comparison;
/// the drain's count made Relaxed (it no longer acquires the tailer's registration); the tailer's lease stored
/// after its CAS (the drain, whose time is before the lease, may read no lease and not wake it).
#[test]
fn a_tailer_wakes_for_a_written_batch_and_sees_it() {
    model(|| {
        let len = LogRegion::<RawRegion>::region_len(64);
        let word = len - BLOCK_LEN + 496;
        let mem = Futexed::new(len, word);
        let fields = HeaderFields {
            pid: 1,
            started_us: 0,
            wait_ns: None,
        };
        let log = LogRegion::init(mem, fields, 9);
        assert_eq!(log.written_word(), word);
        let seen = log.written();
        let drain = thread::spawn(move || {
            // The batch, as the drain hands it to the OS before counting it.
            log.memory().store(RECORD_AT, 1, Ordering::Relaxed);
            log.note_written(|| 5); // the drain's time: the tailer's lease (10) is later
        });
        // The tailer's sweep found nothing (or found the batch: then it does not wait).
        if log.memory().load(RECORD_AT, Ordering::Relaxed) == 0 {
            let written = log
                .wait_written(
                    seen,
                    || 10,
                    |at| {
                        log.memory().wait(word, at);
                        true
                    },
                )
                .expect("a wait with no timeout returns only with a new count");
            assert_eq!(written, seen + 1);
            assert_eq!(
                log.memory().load(RECORD_AT, Ordering::Relaxed),
                1,
                "woken, the tailer sees the batch"
            );
        }
        drain.join().unwrap();
    });
}
