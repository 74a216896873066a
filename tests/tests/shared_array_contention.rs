//! `SharedArray` readers under oversubscription (issue 24): more runnable threads than cores, readers that wait on
//! a live writer must neither starve it nor report it as stalled.
//!
//! 8 reader threads and 1 writer thread (plus the test thread) on a machine with fewer cores: the writer is
//! preempted inside its write section again and again, while every reader waits on it. Each reader reads with the
//! array's default timeout (1 s) and must never get `WriterStalled` (the writer is alive and finishing its writes)
//! nor a torn array; the writer must finish its writes. No timing is asserted beyond a generous overall bound.

use seqring::shared_array::{SharedArray, SharedArrayError};
use seqring_tests::shm::{unique_name, Cleanup};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

const READERS: usize = 8;
/// 64 KiB: a write section long enough (several µs) to be preempted in often.
const LEN: usize = 8192;

fn contended(writes: u64, pause: Option<Duration>) {
    let name = unique_name("contention");
    let _c = Cleanup(name.clone());
    let writer = SharedArray::<f64>::create(&name, &[LEN as u64]).unwrap();
    let stop = Arc::new(AtomicBool::new(false));
    let reads = Arc::new(AtomicU64::new(0));
    let readers: Vec<_> = (0..READERS)
        .map(|_| {
            let (name, stop, reads) = (name.clone(), stop.clone(), reads.clone());
            std::thread::spawn(move || -> Result<u64, SharedArrayError> {
                let a = SharedArray::<f64>::open(&name).unwrap();
                let mut out = vec![0f64; LEN];
                let mut last = 0;
                while !stop.load(Ordering::Relaxed) {
                    let version = a.read_into(&mut out)?;
                    assert!(out.iter().all(|&x| x == out[0]), "torn read at version {version}");
                    assert!(version >= last, "versions go forward");
                    last = version;
                    reads.fetch_add(1, Ordering::Relaxed);
                }
                Ok(last)
            })
        })
        .collect();
    let started = Instant::now();
    let mut src = vec![0f64; LEN];
    for k in 1..=writes {
        src.fill(k as f64);
        writer.write(&src).unwrap();
        if let Some(p) = pause {
            std::thread::sleep(p);
        }
    }
    let elapsed = started.elapsed();
    stop.store(true, Ordering::Relaxed);
    let mut failures = Vec::new();
    for r in readers {
        match r.join().expect("reader panicked") {
            Ok(_) => {}
            Err(e) => failures.push(e.to_string()),
        }
    }
    let reads = reads.load(Ordering::Relaxed);
    eprintln!("{writes} writes in {elapsed:?}; {reads} reads by {READERS} readers");
    assert!(failures.is_empty(), "readers of a live writer failed: {failures:#?}");
    assert!(
        elapsed < Duration::from_secs(120),
        "the writer was starved: {writes} writes took {elapsed:?}"
    );
    assert!(reads > 0, "no reader completed a read");
}

/// The writer writes at full speed: readers that wait on it must let it run.
#[test]
fn readers_outnumbering_cores_do_not_starve_a_busy_writer() {
    contended(20_000, None);
}

/// The writer writes at a camera's pace: readers mostly wait on the odd sequence of a preempted writer. 4 000
/// writes; 1 000 on Windows, whose sleeps last at least a millisecond (3 ms under wine on a busy machine).
#[test]
fn readers_outnumbering_cores_do_not_report_a_preempted_writer_as_stalled() {
    contended(
        seqring_tests::rounds(4_000).max(1_000),
        Some(Duration::from_micros(200)),
    );
}

/// The writer of a 1 MiB array never pauses, so a reader's copy almost always overlaps a write and readers give up
/// now and then (a short timeout makes them give up often). A reader that gives up on a writer that kept finishing
/// writes must say `Busy`, never `WriterStalled`: the writer is alive. And the readers' waiting must leave the writer
/// most of its speed: with 8 waiting readers on fewer cores it must still manage a generous fraction of the writes it
/// makes alone in the same run.
#[test]
fn readers_that_give_up_on_a_live_writer_report_busy_not_stalled() {
    const BIG: usize = 1 << 17; // 1 MiB of f64
    let name = unique_name("contention-big");
    let _c = Cleanup(name.clone());
    let writer = SharedArray::<f64>::create(&name, &[BIG as u64]).unwrap();
    let run = Duration::from_secs(2);
    let mut src = vec![0f64; BIG];
    let mut k = 0u64;
    let mut write_for = |d: Duration| {
        let t = Instant::now();
        let mut n = 0u64;
        while t.elapsed() < d {
            k += 1;
            src.fill(k as f64);
            writer.write(&src).unwrap();
            n += 1;
        }
        n
    };
    let alone = write_for(run);
    let stop = Arc::new(AtomicBool::new(false));
    let readers: Vec<_> = (0..READERS)
        .map(|_| {
            let (name, stop) = (name.clone(), stop.clone());
            std::thread::spawn(move || {
                let a = SharedArray::<f64>::open(&name).unwrap();
                let mut out = vec![0f64; BIG];
                let (mut ok, mut busy, mut stalled) = (0u64, 0u64, Vec::new());
                while !stop.load(Ordering::Relaxed) {
                    match a.read_into_timeout(&mut out, Duration::from_millis(100)) {
                        Ok(_) => {
                            assert!(out.iter().all(|&x| x == out[0]), "torn read");
                            ok += 1;
                        }
                        Err(SharedArrayError::Busy { .. }) => busy += 1,
                        Err(e) => stalled.push(e.to_string()),
                    }
                }
                (ok, busy, stalled)
            })
        })
        .collect();
    let contended = write_for(run);
    stop.store(true, Ordering::Relaxed);
    let (mut ok, mut busy, mut stalled) = (0, 0, Vec::new());
    for r in readers {
        let (o, b, s) = r.join().expect("reader panicked");
        ok += o;
        busy += b;
        stalled.extend(s);
    }
    eprintln!(
        "writer alone: {alone} writes, with {READERS} readers: {contended} writes ({:.2}); reads: {ok} ok, {busy} busy, {} other",
        contended as f64 / alone.max(1) as f64,
        stalled.len()
    );
    assert!(
        stalled.is_empty(),
        "a live writer was reported stalled: {:#?}",
        &stalled[..stalled.len().min(4)]
    );
    assert!(
        contended * 10 >= alone,
        "readers starved the writer: {contended} writes with readers against {alone} alone"
    );
}
