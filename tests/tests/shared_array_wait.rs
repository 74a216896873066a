//! `SharedArray::wait_changed` across real processes (this test binary re-executed in a role, see
//! `seqring_tests::child`):
//! - a writer at about 1 kHz and three waiting reader processes (two typed `read_when_changed`, one dynamic
//!   `wait_changed` + read): every wait returns a strictly newer version before its timeout, with the data of that
//!   version or a newer one; each reader reports its wake latency (write time stamped by the writer to wake time),
//!   printed by the test, never asserted;
//! - waiting reader processes follow a writer that writes back to back, with no pause: every wait ends (a lost
//!   wake-up would leave a reader blocked on a version long replaced, until its bound) and each reader reaches the
//!   last version;
//! - a waiter blocked while nothing is written uses (almost) no CPU: its process's CPU time over an idle second,
//!   measured by the waiting process itself (`clock::process_cpu_time`) on every platform (a futex on Linux, a
//!   ulock on macOS, a named event on Windows);
//! - a timeout returns `None`; a writer killed inside its write section ends a waiter's wait by its timeout with
//!   `WriterStalled`, never a hang.

use seqring::shared_array::{ArrayOptions, SharedArray, SharedArrayDyn, SharedArrayError};
use seqring_platform::clock;
use seqring_tests::child::{self, Child};
use seqring_tests::shm::{unique_name, Cleanup};
use std::time::Duration;

/// Writes by the 1 kHz writer.
const WRITES: u64 = if cfg!(debug_assertions) { 300 } else { 1000 };
/// The bound of each wait in the 1 kHz test: far above the writer's period, so a wait that reaches it means a lost
/// wake-up (or a writer that stopped).
const WAIT_BOUND: Duration = Duration::from_secs(10);
const READERS: usize = 3;

/// The data array: `[k, write time ns of k]`, written as version `k` by the only writer.
fn follow_writer(name: &str) {
    let data = SharedArray::<u64>::open_with_shape(name, &[2]).unwrap();
    assert_eq!(child::hear(), "go");
    for k in 1..=WRITES {
        data.write(&[k, clock::now_ns()]).unwrap();
        // Pacing, not synchronisation: the readers follow whatever rate this gives.
        std::thread::sleep(Duration::from_millis(1));
    }
    child::say("wrote");
}

/// Follows the writer to its last write; says `done <versions seen> <p50 µs> <p99 µs> <max µs>`.
fn follow_reader(name: &str, dynamic: bool) {
    let typed = SharedArray::<u64>::open_with_shape(name, &[2]).unwrap();
    let dyn_handle = SharedArrayDyn::open(name).unwrap();
    child::say("ready");
    let (mut last, mut seen) = (0u64, 0u64);
    let mut latencies_ns = Vec::with_capacity(WRITES as usize);
    while last < WRITES {
        let (version, values) = if dynamic {
            let v = dyn_handle.wait_changed(last, WAIT_BOUND).unwrap();
            let woke = clock::now_ns();
            let v = v.unwrap_or_else(|| panic!("no version after {last} within {WAIT_BOUND:?}: a lost wake-up"));
            let read = dyn_handle.read().unwrap();
            assert!(
                read.version >= v,
                "a read after the wake is at least the version waited for"
            );
            let values: Vec<u64> = read.to_typed().unwrap();
            latencies_ns.push(woke.saturating_sub(values[1]));
            (read.version, [values[0], values[1]])
        } else {
            let mut buf = [0u64; 2];
            let v = typed.read_when_changed(last, &mut buf, WAIT_BOUND).unwrap();
            let woke = clock::now_ns();
            let v = v.unwrap_or_else(|| panic!("no version after {last} within {WAIT_BOUND:?}: a lost wake-up"));
            latencies_ns.push(woke.saturating_sub(buf[1]));
            (v, buf)
        };
        assert!(version > last, "versions strictly increase: {last} then {version}");
        assert_eq!(values[0], version, "the data is that of the version read");
        (last, seen) = (version, seen + 1);
    }
    latencies_ns.sort_unstable();
    let at = |q: f64| latencies_ns[((latencies_ns.len() - 1) as f64 * q) as usize] / 1000;
    child::say(&format!("done {seen} {} {} {}", at(0.5), at(0.99), at(1.0)));
}

#[test]
fn three_waiting_readers_follow_a_1khz_writer() {
    let test = "three_waiting_readers_follow_a_1khz_writer";
    if let Some((role, name)) = child::role() {
        match role.as_str() {
            "writer" => follow_writer(&name),
            "reader" => follow_reader(&name, false),
            "dyn-reader" => follow_reader(&name, true),
            _ => unreachable!(),
        }
        return;
    }
    let name = unique_name("wait-follow");
    let _c = Cleanup(name.clone());
    let _data = SharedArray::<u64>::create(&name, &[2]).unwrap();
    let mut readers: Vec<Child> = (0..READERS)
        .map(|i| Child::spawn(test, if i == 2 { "dyn-reader" } else { "reader" }, &name, &[]))
        .collect();
    for r in &mut readers {
        r.expect_line("ready");
    }
    let mut writer = Child::spawn(test, "writer", &name, &[]);
    writer.tell("go");
    let reports: Vec<String> = readers.iter_mut().map(|r| r.expect_line("done")).collect();
    writer.expect_line("wrote");
    writer.wait_ok();
    for r in readers {
        r.wait_ok();
    }
    eprintln!("{WRITES} writes at ~1 kHz; per reader: versions seen, wake latency p50 / p99 / max (µs):");
    for (i, report) in reports.iter().enumerate() {
        let f: Vec<u64> = report.split(' ').map(|x| x.parse().unwrap()).collect();
        assert!(f[0] >= 1 && f[0] <= WRITES, "reader {i}: {report}");
        eprintln!("  reader {i}: {} versions, {} / {} / {} µs", f[0], f[1], f[2], f[3]);
    }
}

/// Back-to-back writes by the writer of the back-to-back test.
const BURST: u64 = if cfg!(debug_assertions) { 2_000 } else { 20_000 };

#[test]
fn waiting_readers_follow_back_to_back_writes_to_the_last() {
    let test = "waiting_readers_follow_back_to_back_writes_to_the_last";
    if let Some((role, name)) = child::role() {
        let a = SharedArray::<u64>::open_with_shape(&name, &[1]).unwrap();
        match role.as_str() {
            "writer" => {
                assert_eq!(child::hear(), "go");
                for k in 1..=BURST {
                    a.write(&[k]).unwrap();
                }
                child::say("wrote");
            }
            "reader" => {
                child::say("ready");
                let (mut last, mut waits) = (0u64, 0u64);
                while last < BURST {
                    let v = a.wait_changed(last, WAIT_BOUND).unwrap();
                    last = v.unwrap_or_else(|| panic!("no version after {last} within {WAIT_BOUND:?}: a lost wake-up"));
                    waits += 1;
                }
                child::say(&format!("done {waits}"));
            }
            _ => unreachable!(),
        }
        return;
    }
    let name = unique_name("wait-burst");
    let _c = Cleanup(name.clone());
    let _data = SharedArray::<u64>::create(&name, &[1]).unwrap();
    let mut readers: Vec<Child> = (0..2).map(|_| Child::spawn(test, "reader", &name, &[])).collect();
    for r in &mut readers {
        r.expect_line("ready");
    }
    let mut writer = Child::spawn(test, "writer", &name, &[]);
    writer.tell("go");
    writer.expect_line("wrote");
    writer.wait_ok();
    for (i, mut r) in readers.into_iter().enumerate() {
        let waits: u64 = r.expect_line("done ").parse().unwrap();
        assert!((1..=BURST).contains(&waits), "reader {i}: {waits} waits");
        eprintln!("reader {i}: {waits} waits returned over {BURST} back-to-back writes");
        r.wait_ok();
    }
}

#[test]
fn a_blocked_waiter_uses_no_cpu_while_the_writer_is_idle() {
    let test = "a_blocked_waiter_uses_no_cpu_while_the_writer_is_idle";
    if let Some((role, name)) = child::role() {
        assert_eq!(role, "waiter");
        let a = SharedArray::<u64>::open(&name).unwrap();
        std::thread::scope(|s| {
            let waiter = s.spawn(|| a.wait_changed(0, Duration::from_secs(120)).unwrap());
            child::say("opened");
            // This thread only reads its instructions (blocked, no CPU) while the other waits.
            assert_eq!(child::hear(), "measure");
            let before = clock::process_cpu_time();
            assert_eq!(child::hear(), "stop");
            let used = clock::process_cpu_time().saturating_sub(before);
            child::say(&format!("idle {}", used.as_millis()));
            let v = waiter.join().unwrap();
            child::say(&format!("woke {}", v.unwrap()));
        });
        return;
    }
    let name = unique_name("wait-idle");
    let _c = Cleanup(name.clone());
    let a = SharedArray::<u64>::create(&name, &[1]).unwrap();
    let mut waiter = Child::spawn(test, "waiter", &name, &[]);
    waiter.expect_line("opened");
    // Registered means it is past its last look at the sequence and about to block (or blocked).
    while a.waiters() == 0 {
        std::thread::sleep(Duration::from_millis(1));
    }
    waiter.tell("measure");
    // The measured interval (not a synchronisation): one idle second.
    std::thread::sleep(Duration::from_secs(1));
    waiter.tell("stop");
    let used_ms: u64 = waiter.expect_line("idle ").parse().unwrap();
    a.write(&[1]).unwrap();
    assert_eq!(waiter.expect_line("woke "), "1");
    waiter.wait_ok();
    eprintln!("a blocked waiter's process used {used_ms} ms of CPU over an idle second");
    // Napping 1 ms at a time (the fallback) costs about 1000 wake-ups a second: tens of ms.
    assert!(used_ms < 50, "the waiter burned {used_ms} ms of CPU in an idle second");
}

#[test]
fn a_timeout_returns_none_and_a_newer_version_returns_at_once() {
    let name = unique_name("wait-timeout");
    let _c = Cleanup(name.clone());
    let a = SharedArray::<f32>::create(&name, &[4]).unwrap();
    let b = SharedArrayDyn::open(&name).unwrap();
    assert_eq!(a.wait_changed(0, Duration::from_millis(20)).unwrap(), None);
    assert_eq!(b.wait_changed(0, Duration::ZERO).unwrap(), None);
    assert_eq!(
        a.read_when_changed(0, &mut [0.0; 4], Duration::from_millis(5)).unwrap(),
        None
    );
    assert_eq!(b.read_when_changed(0, Duration::from_millis(5)).unwrap(), None);
    a.write(&[1.0, 2.0, 3.0, 4.0]).unwrap();
    a.write(&[5.0, 6.0, 7.0, 8.0]).unwrap();
    assert_eq!(
        a.wait_changed(0, Duration::MAX).unwrap(),
        Some(2),
        "already newer: no wait"
    );
    let mut out = [0.0; 4];
    assert_eq!(a.read_when_changed(1, &mut out, Duration::MAX).unwrap(), Some(2));
    assert_eq!(out, [5.0, 6.0, 7.0, 8.0]);
    assert_eq!(b.read_when_changed(0, Duration::MAX).unwrap().unwrap().version, 2);
    assert_eq!(a.waiters(), 0);
}

#[test]
fn a_writer_killed_mid_write_ends_a_wait_by_its_timeout() {
    let test = "a_writer_killed_mid_write_ends_a_wait_by_its_timeout";
    if let Some((role, name)) = child::role() {
        assert_eq!(role, "stuck-writer");
        let a = SharedArray::<u64>::open(&name).unwrap();
        a.hold_write_section_forever(&[9], || child::say("held"));
    }
    let name = unique_name("wait-stall");
    let _c = Cleanup(name.clone());
    let a = SharedArray::<u64>::create_with(&name, &[2], &ArrayOptions::default()).unwrap();
    a.write(&[1, 1]).unwrap();
    let mut writer = Child::spawn(test, "stuck-writer", &name, &[]);
    let pid = writer.pid();
    writer.expect_line("held");
    // Blocked on an unchanged version when the writer locked, or arriving while it holds the lock: both end by
    // the timeout (the test would hang otherwise) and name the stalled writer.
    let e = a.wait_changed(1, Duration::from_millis(100)).unwrap_err();
    assert!(
        matches!(e, SharedArrayError::WriterStalled { pid: p, alive: Some(true), .. } if p == pid),
        "{e:?}"
    );
    assert!(!writer.kill().success());
    let e = a.wait_changed(1, Duration::from_millis(50)).unwrap_err();
    assert!(
        matches!(e, SharedArrayError::WriterStalled { pid: p, alive: Some(false), .. } if p == pid),
        "{e:?}"
    );
    // A waiter that was blocked before the stall: recovery publishes a version and wakes it.
    std::thread::scope(|s| {
        let waiter = s.spawn(|| a.wait_changed(1, Duration::from_secs(60)));
        while a.waiters() == 0 {
            std::thread::yield_now();
        }
        assert!(a.recover(e.stall().unwrap().sequence));
        let v = waiter.join().unwrap().unwrap();
        assert!(v.is_some_and(|v| v > 1), "recovery's version ends the wait: {v:?}");
    });
    assert_eq!(a.waiters(), 0);
}
