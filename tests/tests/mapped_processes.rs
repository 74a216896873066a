//! Several real processes map the same files and read them concurrently; a writer replaces one file (temp +
//! rename) while they hold it mapped, and they keep reading the old contents intact.
//!
//! The child processes are this test binary re-executed with `SEQRING_MAPPED_CHILD` set to the shared directory.

use seqring_mapped::{IdMap, Mapped, MappedArray, MappedStrs};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

const CHILD_DIR: &str = "SEQRING_MAPPED_CHILD";
const CHILD_ID: &str = "SEQRING_MAPPED_CHILD_ID";
const CHILDREN: usize = 4;
const N: u64 = if cfg!(debug_assertions) { 200_000 } else { 2_000_000 };
const KEYS: u64 = N / 4;

fn square(i: u64) -> u64 {
    i.wrapping_mul(i)
}

fn record(k: u64) -> [u64; 4] {
    [k, k + 1, k ^ 0xabcd, !k]
}

fn id(k: u64) -> u64 {
    k.wrapping_mul(0x9e37_79b9_7f4a_7c15)
}

fn wait_for(path: &Path, what: &str) {
    let deadline = Instant::now() + Duration::from_secs(60);
    while !path.exists() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(2));
    }
}

/// The child: maps the files, announces it, waits for the parent's go (after the parent replaced the array), then
/// reads everything several times and prints a digest of what it read.
fn child(dir: PathBuf) {
    let me = std::env::var(CHILD_ID).unwrap();
    let array = MappedArray::<u64>::open(dir.join("array")).unwrap();
    let map = IdMap::<u64, [u64; 4]>::open(dir.join("map")).unwrap();
    let names = MappedStrs::open(dir.join("names")).unwrap();
    std::fs::write(dir.join(format!("opened-{me}")), b"").unwrap();
    wait_for(&dir.join("go"), "the parent's go");
    let mut sum = 0u64;
    for round in 0..3 {
        for (i, &v) in array.iter().enumerate() {
            assert_eq!(v, square(i as u64), "child {me} round {round}: array[{i}]");
            sum = sum.wrapping_add(v);
        }
        for k in 0..KEYS {
            let r = map.get(&id(k)).unwrap_or_else(|| panic!("child {me}: key {k} missing"));
            assert_eq!(*r, record(k));
            sum = sum.wrapping_add(r[2]);
        }
        for k in 0..100 {
            assert_eq!(names.get(k as usize).unwrap(), format!("name-{k}"));
        }
        map.verify().unwrap();
        array.verify().unwrap();
    }
    println!("mapped-child-ok id={me} sum={sum}");
}

#[test]
#[cfg_attr(
    windows,
    ignore = "replaces a file other processes have mapped, which Windows refuses (see README, Platforms)"
)]
fn mapped_processes_read_one_file_concurrently() {
    if let Some(dir) = std::env::var_os(CHILD_DIR) {
        return child(dir.into());
    }
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    MappedArray::<u64>::build((0..N).map(square), d.join("array")).unwrap();
    IdMap::<u64, [u64; 4]>::build((0..KEYS).map(|k| (id(k), record(k))), d.join("map")).unwrap();
    MappedStrs::build((0..100).map(|k| format!("name-{k}")), d.join("names")).unwrap();

    let exe = std::env::current_exe().unwrap();
    let children: Vec<_> = (0..CHILDREN)
        .map(|c| {
            Command::new(&exe)
                .args([
                    "--exact",
                    "mapped_processes_read_one_file_concurrently",
                    "--nocapture",
                    "--test-threads=1",
                ])
                .env(CHILD_DIR, d)
                .env(CHILD_ID, c.to_string())
                .stdout(Stdio::piped())
                .stderr(Stdio::piped())
                .spawn()
                .unwrap()
        })
        .collect();
    for c in 0..CHILDREN {
        wait_for(&d.join(format!("opened-{c}")), "a child to map the files");
    }
    // Replace the array while every child has it mapped; they must keep seeing the old contents.
    MappedArray::<u64>::build((0..N).map(|i| square(i) + 1), d.join("array")).unwrap();
    std::fs::write(d.join("go"), b"").unwrap();
    // The parent reads the new version concurrently with the children.
    let fresh = MappedArray::<u64>::open(d.join("array")).unwrap();
    assert!(fresh.iter().enumerate().all(|(i, &v)| v == square(i as u64) + 1));

    let mut expect = 0u64;
    for i in 0..N {
        expect = expect.wrapping_add(square(i));
    }
    for k in 0..KEYS {
        expect = expect.wrapping_add(k ^ 0xabcd);
    }
    let expect = expect.wrapping_mul(3);
    for (c, child) in children.into_iter().enumerate() {
        let out = child.wait_with_output().unwrap();
        let stdout = String::from_utf8_lossy(&out.stdout);
        assert!(
            out.status.success(),
            "child {c} failed: {stdout}\n{}",
            String::from_utf8_lossy(&out.stderr)
        );
        assert!(
            stdout.contains(&format!("mapped-child-ok id={c} sum={expect}")),
            "child {c}: {stdout}"
        );
    }
}
