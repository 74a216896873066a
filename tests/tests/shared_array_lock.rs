//! The array lock (`SharedArray::lock`) across real processes (this test binary re-executed in a role, see
//! `seqring_tests::child`):
//! - 3 processes each doing read-modify-write increments under the lock (a get, a yield, a set: a lost update
//!   unless the lock excludes them) lose none;
//! - a holder killed with SIGKILL while holding it is taken over by a waiter in another process;
//! - the lock is a word of the array's region: removing the array leaves nothing behind, and a new array of the
//!   same name starts with the lock free.

use seqring::shared_array::{SharedArray, SharedArrayError};
use seqring_tests::child::{self, Child};
use seqring_tests::shm::{exists, unique_name, Cleanup};
use std::time::Duration;

const CHILDREN: usize = 3;
const ROUNDS: u64 = if cfg!(debug_assertions) { 300 } else { 2000 };

fn incrementer(name: &str) {
    let a = SharedArray::<u64>::open_with_shape(name, &[2]).unwrap();
    child::say("ready");
    assert_eq!(child::hear(), "go");
    for _ in 0..ROUNDS {
        let _held = a.lock_timeout(Duration::from_secs(60)).unwrap();
        let n = a.get(&[0]).unwrap();
        std::thread::yield_now(); // the other processes run here if the lock lets them
        a.set(&[0], n + 1).unwrap();
    }
    child::say("done");
}

#[test]
fn processes_lose_no_increment_under_the_lock() {
    if let Some((role, name)) = child::role() {
        assert_eq!(role, "incrementer");
        incrementer(&name);
        return;
    }
    let name = unique_name("lock-rmw");
    let _cleanup = Cleanup(name.clone());
    let a = SharedArray::<u64>::create(&name, &[2]).unwrap();
    let mut children: Vec<Child> = (0..CHILDREN)
        .map(|_| Child::spawn("processes_lose_no_increment_under_the_lock", "incrementer", &name, &[]))
        .collect();
    for c in &mut children {
        c.expect_line("ready");
    }
    for c in &mut children {
        c.tell("go");
    }
    for mut c in children {
        c.expect_line("done");
        c.wait_ok();
    }
    assert_eq!(a.get(&[0]).unwrap(), CHILDREN as u64 * ROUNDS);
    assert_eq!(a.lock_holder(), None, "every holder released it");
}

fn holder(name: &str) {
    let a = SharedArray::<u64>::open(name).unwrap();
    let held = a.lock().unwrap();
    a.set(&[0], 7).unwrap();
    child::say("held");
    child::hear(); // blocks until killed
    drop(held);
}

fn waiter(name: &str) {
    let a = SharedArray::<u64>::open(name).unwrap();
    child::say("waiting");
    let held = a.lock_timeout(Duration::from_secs(120)).unwrap();
    let n = a.get(&[0]).unwrap();
    a.set(&[0], n + 1).unwrap();
    drop(held);
    child::say("took");
}

#[test]
fn a_holder_killed_while_holding_is_taken_over() {
    if let Some((role, name)) = child::role() {
        match role.as_str() {
            "holder" => holder(&name),
            "waiter" => waiter(&name),
            _ => unreachable!(),
        }
        return;
    }
    let name = unique_name("lock-kill");
    let _cleanup = Cleanup(name.clone());
    let a = SharedArray::<u64>::create(&name, &[1]).unwrap();
    let test = "a_holder_killed_while_holding_is_taken_over";
    let mut h = Child::spawn(test, "holder", &name, &[]);
    h.expect_line("held");
    let pid = h.pid();
    assert_eq!(a.lock_holder(), Some(pid));
    match a.lock_timeout(Duration::from_millis(20)) {
        Err(SharedArrayError::LockTimeout { holder_pid, .. }) => assert_eq!(holder_pid, pid, "a live holder waits"),
        other => panic!("expected LockTimeout, got {other:?}"),
    }
    let mut w = Child::spawn(test, "waiter", &name, &[]);
    w.expect_line("waiting");
    h.kill();
    w.expect_line("took");
    w.wait_ok();
    assert_eq!(
        a.get(&[0]).unwrap(),
        8,
        "the waiter's increment after the dead holder's write"
    );
    assert_eq!(a.lock_holder(), None);
    assert!(a.try_lock().unwrap().is_some());
}

#[test]
fn the_lock_goes_with_the_array() {
    let name = unique_name("lock-gone");
    let _cleanup = Cleanup(name.clone());
    let a = SharedArray::<u8>::create(&name, &[1]).unwrap();
    let held = a.lock().unwrap();
    std::mem::forget(held); // a holder that never releases, as one that died
    assert!(a.lock_holder().is_some());
    drop(a);
    assert!(!exists(&name), "the creator removed the region, and the lock with it");
    let again = SharedArray::<u8>::create(&name, &[1]).unwrap();
    assert_eq!(again.lock_holder(), None, "a new array of the name starts free");
    if let Ok(dir) = std::fs::read_dir(std::env::temp_dir()) {
        let leftovers: Vec<_> = dir
            .filter_map(Result::ok)
            .filter(|e| e.file_name().to_string_lossy().contains(&name))
            .collect();
        assert!(leftovers.is_empty(), "files left in the temp dir: {leftovers:?}");
    }
}
