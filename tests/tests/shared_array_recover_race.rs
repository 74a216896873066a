//! `SharedArray::recover` raced by two recovering processes and a live writer (issue 19, defect 2), with real
//! processes (this test binary re-executed in a role, see `seqring_tests::child`):
//! - **in the bad order, forced by handshakes**: a writer is killed (SIGKILL) inside its write section; two
//!   recoverer processes both see its stall; the first recovers; a live writer process locks and holds its write
//!   section; only then does the second recoverer act. It must change nothing: the live writer keeps its lock, no
//!   reader gets a torn value as `Ok`, and the version never goes backwards.
//! - **raced freely**: a new dead writer, and the two recoverers and a live writer (which retries while the array
//!   is stalled) all released at once: exactly one recovery succeeds, every write of the live writer lands whole,
//!   and a reader process checking every read sees no torn value and no version going backwards.

use seqring::shared_array::{ArrayOptions, SharedArray, SharedArrayError};
use seqring_tests::child::{self, Child};
use seqring_tests::shm::{unique_name, Cleanup};
use std::time::Duration;

const TEST: &str = "two_recoverers_of_a_dead_writer_never_take_a_live_writers_lock";
const WIDE: usize = 8;
/// Writes of the live writer in the free race.
const WRITES: u64 = 2_000;
const TIMEOUT: Duration = Duration::from_millis(50);

fn open(name: &str) -> SharedArray<u64> {
    SharedArray::<u64>::open_with(name, None, &ArrayOptions::default().timeout(TIMEOUT)).unwrap()
}

/// The stall a reader of `a` sees now (the writer holding it must be dead).
fn dead_stall(a: &SharedArray<u64>) -> u64 {
    match a.read_into(&mut [0u64; WIDE]) {
        Err(e @ SharedArrayError::WriterStalled { .. }) => {
            let stall = e.stall().unwrap();
            assert_eq!(stall.alive, Some(false), "the stalled writer is dead: {e}");
            stall.sequence
        }
        other => panic!("expected a dead writer's stall, got {other:?}"),
    }
}

fn child_role(role: &str, name: &str) {
    // Every child opens the array before the writer it will see dead stalls it (opening reads the shape).
    let a = open(name);
    if role != "dead-writer" && role != "reader" {
        child::say("open");
    }
    match role {
        "dead-writer" => a.hold_write_section_forever(&[66; 4], || child::say("held")),
        "recoverer" => {
            // Sees the dead writer's stall, judges it (dead), and waits to act.
            assert_eq!(child::hear(), "look");
            let seen = dead_stall(&a);
            child::say(&format!("saw {seen}"));
            assert_eq!(child::hear(), "go");
            child::say(&format!("recovered {}", a.recover(seen)));
        }
        "holding-writer" => {
            assert_eq!(child::hear(), "lock");
            a.update(|buf| {
                child::say("holding");
                assert_eq!(child::hear(), "finish");
                buf.fill(7);
            })
            .unwrap();
            child::say("wrote");
        }
        "racing-writer" => {
            assert_eq!(child::hear(), "go");
            let mut retries = 0u64;
            for v in 1..=WRITES {
                loop {
                    match a.write(&[1000 + v; WIDE]) {
                        Ok(()) => break,
                        Err(e) if e.is_stall() => retries += 1,
                        Err(e) => panic!("write {v}: {e}"),
                    }
                }
            }
            child::say(&format!("wrote {retries}"));
        }
        "reader" => {
            child::say("ready");
            let mut buf = [0u64; WIDE];
            let (mut last_version, mut reads) = (0u64, 0u64);
            while buf[0] != 1000 + WRITES {
                match a.read_into(&mut buf) {
                    Ok(version) => {
                        reads += 1;
                        assert!(buf.iter().all(|&x| x == buf[0]), "torn read as Ok: {buf:?}");
                        assert!(
                            version >= last_version,
                            "version went back: {last_version} -> {version}"
                        );
                        last_version = version;
                    }
                    // A stall, or the recovered half write refused as suspect until the next whole write: never
                    // torn contents as `Ok`.
                    Err(e) if e.is_stall() || matches!(e, SharedArrayError::Suspect { .. }) => {}
                    Err(e) => panic!("{e}"),
                }
            }
            child::say(&format!("read {reads}"));
        }
        other => panic!("unknown role {other}"),
    }
}

fn spawn(role: &str, name: &str) -> Child {
    let mut c = Child::spawn(TEST, role, name, &[]);
    match role {
        "dead-writer" => {}
        "reader" => drop(c.expect_line("ready")),
        _ => drop(c.expect_line("open")),
    }
    c
}

/// Tells the recoverers to look at the stall; checks they saw `stalled`.
fn look(recoverers: &mut [Child], stalled: u64) {
    for r in recoverers {
        r.tell("look");
        assert_eq!(r.expect_line("saw").parse::<u64>().unwrap(), stalled);
    }
}

/// Kills a writer inside its write section; returns the stalled sequence the parent sees.
fn kill_a_writer_mid_write(name: &str, a: &SharedArray<u64>) -> u64 {
    let mut dead = spawn("dead-writer", name);
    dead.expect_line("held");
    assert!(!dead.kill().success());
    dead_stall(a)
}

#[test]
fn two_recoverers_of_a_dead_writer_never_take_a_live_writers_lock() {
    if let Some((role, name)) = child::role() {
        child_role(&role, &name);
        return;
    }
    let name = unique_name("recover-race");
    let _c = Cleanup(name.clone());
    let a = SharedArray::<u64>::create_with(&name, &[WIDE as u64], &ArrayOptions::default().timeout(TIMEOUT)).unwrap();
    a.write(&[1; WIDE]).unwrap();

    // 1. The bad order, forced.
    let mut recoverers = [spawn("recoverer", &name), spawn("recoverer", &name)];
    let mut live = spawn("holding-writer", &name);
    let stalled = kill_a_writer_mid_write(&name, &a);
    look(&mut recoverers, stalled);
    let [mut first, mut second] = recoverers;
    first.tell("go");
    assert_eq!(first.expect_line("recovered"), "true");
    first.wait_ok();
    let version_before = a.version();
    live.tell("lock");
    live.expect_line("holding");
    let holder = a.stall().expect("the live writer holds the lock");
    assert_eq!((holder.pid, holder.alive), (live.pid(), Some(true)));
    second.tell("go");
    assert_eq!(
        second.expect_line("recovered"),
        "false",
        "the second recoverer took the live writer's lock"
    );
    second.wait_ok();
    assert_eq!(a.stall(), Some(holder), "the live writer still holds its lock");
    assert!(
        a.read_into(&mut [0u64; WIDE]).unwrap_err().is_stall(),
        "no torn value as Ok"
    );
    live.tell("finish");
    live.expect_line("wrote");
    live.wait_ok();
    let (snap, data) = a.read_whole().unwrap();
    assert_eq!(data, [7; WIDE]);
    assert_eq!(
        snap.version,
        version_before + 1,
        "one write after the recovery, no version going back"
    );
    assert!(!snap.suspect, "the live writer's whole write cleared the suspicion");

    // 2. Raced freely.
    let mut recoverers = [spawn("recoverer", &name), spawn("recoverer", &name)];
    let mut writer = spawn("racing-writer", &name);
    let mut reader = spawn("reader", &name);
    let stalled = kill_a_writer_mid_write(&name, &a);
    look(&mut recoverers, stalled);
    writer.tell("go");
    for r in &mut recoverers {
        r.tell("go");
    }
    let recovered: Vec<String> = recoverers.iter_mut().map(|r| r.expect_line("recovered")).collect();
    assert_eq!(
        recovered.iter().filter(|r| *r == "true").count(),
        1,
        "exactly one recovery: {recovered:?}"
    );
    for r in recoverers {
        r.wait_ok();
    }
    let retries: u64 = writer.expect_line("wrote").parse().unwrap();
    writer.wait_ok();
    let reads: u64 = reader.expect_line("read").parse().unwrap();
    reader.wait_ok();
    let (snap, data) = a.read_whole().unwrap();
    assert_eq!(data, [1000 + WRITES; WIDE], "every write landed whole");
    assert!(!snap.suspect);
    eprintln!("free race: the writer retried {retries} times while stalled; the reader made {reads} reads");
}
