//! `SharedArray` across real processes (this test binary re-executed in a role, see `seqring_tests::child`):
//! - a writer at full speed and 3 readers of at least 1 M reads each: no torn read, values never go backwards;
//! - a writer killed with SIGKILL inside its write section: readers and writers get `WriterStalled` naming its
//!   pid (alive, then dead), and `recover()` restores service with the contents marked suspect;
//! - a writer alternating between two shapes: readers always see data consistent with the shape they read.

use seqring::shared_array::{ArrayOptions, SharedArray, SharedArrayDyn, SharedArrayError};
use seqring_tests::child::{self, Child};
use seqring_tests::shm::{unique_name, Cleanup};
use std::sync::atomic::Ordering;
use std::time::Duration;

/// Elements per array in the torn-read test: 64 × u64 = 512 bytes, 8 cache lines, so a torn copy is likely if
/// the protocol allowed one.
const WIDE: usize = 64;
/// Reads per reader process, at least.
const READS: u64 = if cfg!(debug_assertions) { 100_000 } else { 1_000_000 };
/// Value changes each reader must see before it stops: proof that it read while the writer wrote (on 2 cores a
/// reader can finish its first million reads while the writer is descheduled).
const CHANGES: u64 = 100;
/// The most reads a reader makes before it gives up waiting for [`CHANGES`].
const MAX_READS: u64 = 200 * READS;
const READERS: usize = 3;

/// The control array: element 0 is the stop flag (an atomic cell), element 1 the writes done.
fn control_name(data: &str) -> String {
    format!("{data}.ctl")
}

fn torn_writer(name: &str) {
    let data = SharedArray::<u64>::open_with_shape(name, &[WIDE as u64]).unwrap();
    let ctl = SharedArray::<u64>::open(control_name(name)).unwrap();
    let stop = ctl.atomic(&[0]).unwrap();
    let done = ctl.atomic(&[1]).unwrap();
    let mut counter = data.get(&[0]).unwrap();
    let mut buf = [0u64; WIDE];
    while stop.load(Ordering::Acquire) == 0 {
        counter += 1;
        buf.fill(counter);
        data.write(&buf).unwrap();
        if counter == 1000 {
            child::say("writing");
        }
        done.store(counter, Ordering::Relaxed);
    }
    child::say(&format!("wrote {counter}"));
}

fn torn_reader(name: &str) {
    let data = SharedArray::<u64>::open_with_shape(name, &[WIDE as u64]).unwrap();
    child::say("ready");
    assert_eq!(child::hear(), "go");
    let mut buf = [0u64; WIDE];
    let (mut last, mut changes, mut last_version) = (0u64, 0u64, 0u64);
    let mut i = 0u64;
    while i < READS || (changes < CHANGES && i < MAX_READS) {
        i += 1;
        let version = data.read_into(&mut buf).unwrap();
        let v = buf[0];
        assert!(buf.iter().all(|&x| x == v), "read {i} is torn: {buf:?}");
        assert!(v >= last, "read {i}: value went back from {last} to {v}");
        assert!(version >= last_version, "read {i}: version went back");
        changes += u64::from(v != last);
        (last, last_version) = (v, version);
    }
    child::say(&format!("done {changes} {i}"));
}

#[test]
fn readers_in_three_processes_never_see_a_torn_or_older_value() {
    if let Some((role, name)) = child::role() {
        match role.as_str() {
            "writer" => torn_writer(&name),
            "reader" => torn_reader(&name),
            _ => unreachable!(),
        }
        return;
    }
    let name = unique_name("torn");
    let (_c1, _c2) = (Cleanup(name.clone()), Cleanup(control_name(&name)));
    let data = SharedArray::<u64>::create(&name, &[WIDE as u64]).unwrap();
    let ctl = SharedArray::<u64>::create(control_name(&name), &[2]).unwrap();
    let test = "readers_in_three_processes_never_see_a_torn_or_older_value";
    let mut readers: Vec<Child> = (0..READERS).map(|_| Child::spawn(test, "reader", &name, &[])).collect();
    for r in &mut readers {
        r.expect_line("ready");
    }
    let mut writer = Child::spawn(test, "writer", &name, &[]);
    writer.expect_line("writing");
    for r in &mut readers {
        r.tell("go");
    }
    let done: Vec<(u64, u64)> = readers
        .iter_mut()
        .map(|r| {
            let line = r.expect_line("done");
            let (changes, reads) = line.split_once(' ').unwrap();
            (changes.parse().unwrap(), reads.parse().unwrap())
        })
        .collect();
    ctl.atomic(&[0]).unwrap().store(1, Ordering::Release);
    let wrote: u64 = writer.expect_line("wrote").parse().unwrap();
    writer.wait_ok();
    for r in readers {
        r.wait_ok();
    }
    assert!(wrote > 1000, "the writer ran: {wrote} writes");
    for (i, &(changes, reads)) in done.iter().enumerate() {
        assert!(reads >= READS, "reader {i} made only {reads} reads");
        assert!(
            changes >= CHANGES,
            "reader {i} saw the writer's values change only {changes} times in {reads} reads"
        );
    }
    assert_eq!(
        data.get(&[WIDE as u64 - 1]).unwrap(),
        wrote,
        "the last write is complete"
    );
    eprintln!("writer: {wrote} writes; readers (changes seen, reads): {done:?}");
}

#[test]
fn a_writer_killed_in_its_write_section_stalls_until_recovered() {
    if let Some((role, name)) = child::role() {
        assert_eq!(role, "stuck-writer");
        let a = SharedArray::<u64>::open(&name).unwrap();
        a.hold_write_section_forever(&[2, 2, 2, 2], || child::say("held"));
    }
    let name = unique_name("stall");
    let _c = Cleanup(name.clone());
    let timeout = Duration::from_millis(100);
    let a = SharedArray::<u64>::create_with(&name, &[8], &ArrayOptions::default().timeout(timeout)).unwrap();
    a.write(&[1; 8]).unwrap();
    let reader = SharedArray::<u64>::open_with(&name, None, &ArrayOptions::default().timeout(timeout)).unwrap();
    let mut writer = Child::spawn(
        "a_writer_killed_in_its_write_section_stalls_until_recovered",
        "stuck-writer",
        &name,
        &[],
    );
    let pid = writer.pid();
    writer.expect_line("held");
    let mut buf = [0u64; 8];
    match reader.read_into(&mut buf).unwrap_err() {
        SharedArrayError::WriterStalled {
            pid: p,
            alive,
            since_ns,
            ..
        } => assert_eq!((p, alive, since_ns > 0), (pid, Some(true), true)),
        other => panic!("{other:?}"),
    }
    let status = writer.kill();
    assert!(!status.success());
    let e = reader.read_into(&mut buf).unwrap_err();
    assert!(
        matches!(e, SharedArrayError::WriterStalled { pid: p, alive: Some(false), .. } if p == pid),
        "{e:?}"
    );
    assert!(e.to_string().contains("recover"), "{e}");
    assert!(a.set(&[0], 5).unwrap_err().is_stall(), "writers stall too");
    assert!(SharedArrayDyn::open(&name).unwrap().read().unwrap_err().is_stall());

    let stalled = e.stall().expect("a stall").sequence;
    assert_eq!(
        reader.stall().map(|s| (s.sequence, s.pid, s.alive)),
        Some((stalled, pid, Some(false)))
    );
    assert!(reader.recover(stalled));
    assert!(!reader.recover(stalled), "nothing left to recover");
    let (snap, data) = reader.read_whole().unwrap();
    assert!(snap.suspect, "a recovered array is suspect");
    assert_eq!(
        data,
        vec![2, 2, 2, 2, 1, 1, 1, 1],
        "the dead writer's partial write is visible"
    );
    // Every read that cannot carry the flag refuses the suspect contents instead of returning them as Ok.
    let suspect = |r: Result<(), SharedArrayError>| matches!(r, Err(SharedArrayError::Suspect { .. }));
    assert!(suspect(reader.read_into(&mut [0u64; 8]).map(drop)), "read_into");
    assert!(suspect(reader.get(&[0]).map(drop)), "get");
    assert!(suspect(reader.to_vec().map(drop)), "to_vec");
    assert!(
        suspect(reader.read_if_changed(0, &mut [0u64; 8]).map(drop)),
        "read_if_changed"
    );
    a.set(&[0], 5).unwrap();
    assert!(reader.snapshot().unwrap().suspect, "a partial write does not clear it");
    assert!(suspect(reader.read_into(&mut [0u64; 8]).map(drop)));
    a.write(&[3; 8]).unwrap();
    let (snap, data) = reader.read_whole().unwrap();
    assert_eq!((snap.suspect, data), (false, vec![3; 8]), "a whole write clears it");
    assert_eq!(reader.to_vec().unwrap(), vec![3; 8]);
    assert_eq!(reader.get(&[7]).unwrap(), 3);
}

/// The reshape test's pattern: shape `[4]` or `[2, 3]`, every element `count << K_BITS | k` for write `k` (the
/// writer is free-running, so `k` may pass any decimal bound while the readers read; `K_BITS` leaves it 2^29 writes).
const K_BITS: u32 = 29;
const SHAPES: [&[u64]; 2] = [&[4], &[2, 3]];
const RESHAPES: u64 = if cfg!(debug_assertions) { 20_000 } else { 200_000 };

fn check_shaped(shape: &[u64], data: &[u32], last_k: &mut u32) {
    let count: u64 = shape.iter().product();
    assert!(SHAPES.contains(&shape), "unexpected shape {shape:?}");
    assert_eq!(data.len() as u64, count, "data length disagrees with shape {shape:?}");
    let v = data[0];
    assert!(data.iter().all(|&x| x == v), "torn data {data:?}");
    assert_eq!(
        u64::from(v >> K_BITS),
        count,
        "shape {shape:?} with data written for another shape: {v:#x}"
    );
    let k = v & ((1 << K_BITS) - 1);
    assert!(k >= *last_k, "went backwards");
    *last_k = k;
}

#[test]
fn readers_follow_a_writer_that_alternates_shapes() {
    if let Some((role, name)) = child::role() {
        let mut last_k = 0;
        match role.as_str() {
            "typed" => {
                let a = SharedArray::<u32>::open(&name).unwrap();
                child::say("ready");
                for _ in 0..RESHAPES {
                    let (snap, data) = a.read_whole().unwrap();
                    check_shaped(snap.shape(), &data, &mut last_k);
                }
            }
            "dyn" => {
                let a = SharedArrayDyn::open(&name).unwrap();
                child::say("ready");
                for _ in 0..RESHAPES {
                    let r = a.read().unwrap();
                    check_shaped(&r.shape, &r.to_typed::<u32>().unwrap(), &mut last_k);
                }
            }
            _ => unreachable!(),
        }
        child::say(&format!("done {last_k}"));
        return;
    }
    let name = unique_name("reshape");
    let _c = Cleanup(name.clone());
    let a = SharedArray::<u32>::create_with_capacity(&name, &[4], 6).unwrap();
    a.write(&[4 << K_BITS; 4]).unwrap();
    let test = "readers_follow_a_writer_that_alternates_shapes";
    let mut readers = [
        Child::spawn(test, "typed", &name, &[]),
        Child::spawn(test, "dyn", &name, &[]),
    ];
    for r in &mut readers {
        r.expect_line("ready");
    }
    let ctl = unique_name("reshape-stop");
    let _c2 = Cleanup(ctl.clone());
    let stop = SharedArray::<u64>::create(&ctl, &[1]).unwrap();
    /// Raises the stop flag when dropped, so the writer thread ends even if a handshake panics.
    struct StopOnDrop<'a>(&'a SharedArray<u64>);
    impl Drop for StopOnDrop<'_> {
        fn drop(&mut self) {
            self.0.atomic(&[0]).unwrap().store(1, Ordering::Release);
        }
    }
    std::thread::scope(|s| {
        s.spawn(|| {
            let mut k = 1u32;
            let mut buf = Vec::new();
            while stop.atomic(&[0]).unwrap().load(Ordering::Acquire) == 0 {
                let shape = SHAPES[k as usize % 2];
                let count: u64 = shape.iter().product();
                buf.clear();
                buf.resize(count as usize, (count as u32) << K_BITS | (k & ((1 << K_BITS) - 1)));
                a.write_shaped(shape, &buf).unwrap();
                k += 1;
            }
        });
        let _stop = StopOnDrop(&stop);
        let finals: Vec<String> = readers.iter_mut().map(|r| r.expect_line("done")).collect();
        eprintln!("readers ended at writes {finals:?}");
    });
    for r in readers {
        r.wait_ok();
    }
}
