//! The `checksum`, `transfer` and `tracker` commands run as real processes: happy paths, bad input (exit 1 with
//! one sentence naming the path on stderr) and usage errors (exit 2).

use seqring::tracker::{job_id, JobStatus, LockGuard, ProcessingTracker};
use std::path::Path;
use std::process::{Command, Output};
use std::time::Duration;

const FIXTURES: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../../shared/fixtures/ataraxis-7.2.0");

fn seqring(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_seqring")).args(args).output().unwrap()
}

fn stdout(out: &Output) -> String {
    String::from_utf8_lossy(&out.stdout).into_owned()
}

#[track_caller]
fn assert_ok(out: &Output) {
    assert!(
        out.status.success(),
        "exit {:?}, stderr: {}",
        out.status.code(),
        String::from_utf8_lossy(&out.stderr)
    );
}

/// Exit 1 with exactly one line on stderr, mentioning `needle` (a path or an id).
#[track_caller]
fn assert_fails_naming(out: &Output, needle: &str) {
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "stderr: {stderr}");
    assert_eq!(stderr.trim_end().lines().count(), 1, "one sentence expected: {stderr}");
    assert!(
        stderr.starts_with("seqring: ") && stderr.contains(needle),
        "{needle:?} not in: {stderr}"
    );
}

#[track_caller]
fn assert_usage(out: &Output) {
    assert_eq!(
        out.status.code(),
        Some(2),
        "stderr: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

fn copy_tree(src: &Path, dst: &Path) {
    std::fs::create_dir_all(dst).unwrap();
    for entry in std::fs::read_dir(src).unwrap() {
        let entry = entry.unwrap();
        let to = dst.join(entry.file_name());
        if entry.file_type().unwrap().is_dir() {
            copy_tree(&entry.path(), &to);
        } else {
            std::fs::write(&to, std::fs::read(entry.path()).unwrap()).unwrap();
        }
    }
}

#[test]
fn checksum_command() {
    let expected = std::fs::read_to_string(format!("{FIXTURES}/checksum_expected.txt")).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let tree = dir.path().join("tree");
    copy_tree(Path::new(&format!("{FIXTURES}/checksum_tree")), &tree);
    std::fs::remove_file(tree.join("ax_checksum.txt")).unwrap();
    let t = tree.to_str().unwrap();

    let out = seqring(&["checksum", t, "--no-save", "--workers", "2"]);
    assert_ok(&out);
    assert_eq!(stdout(&out).lines().last(), Some(expected.trim()));
    assert!(!tree.join("ax_checksum.txt").exists(), "--no-save must not write");
    let out = seqring(&["checksum", t]);
    assert_ok(&out);
    assert_eq!(
        std::fs::read_to_string(tree.join("ax_checksum.txt")).unwrap(),
        expected.trim()
    );

    let missing = dir.path().join("missing");
    assert_fails_naming(&seqring(&["checksum", missing.to_str().unwrap()]), "missing");
    let empty = dir.path().join("empty");
    std::fs::create_dir(&empty).unwrap();
    assert_fails_naming(&seqring(&["checksum", empty.to_str().unwrap()]), "empty");
    assert_usage(&seqring(&["checksum"]));
    assert_usage(&seqring(&["checksum", t, "--workers", "0"]));
    assert_usage(&seqring(&["checksum", t, "--bogus"]));
}

#[test]
fn transfer_command() {
    let dir = tempfile::tempdir().unwrap();
    let src = dir.path().join("src");
    copy_tree(Path::new(&format!("{FIXTURES}/checksum_tree")), &src);
    // A stale checksum (the data changed after it was recorded): verification must fail and keep the source.
    std::fs::write(src.join("sub/b.txt"), b"changed").unwrap();
    let (s, d) = (src.to_str().unwrap(), dir.path().join("dst"));
    let out = seqring(&["transfer", s, d.to_str().unwrap(), "--verify", "--remove-source"]);
    assert_fails_naming(&out, "dst");
    assert!(
        src.join("sub/b.txt").exists(),
        "the source survives a failed verification"
    );

    std::fs::remove_file(src.join("ax_checksum.txt")).unwrap();
    let d2 = dir.path().join("dst2");
    let out = seqring(&[
        "transfer",
        s,
        d2.to_str().unwrap(),
        "--verify",
        "--remove-source",
        "--workers",
        "2",
    ]);
    assert_ok(&out);
    assert!(stdout(&out).contains("verified checksum"), "{}", stdout(&out));
    assert!(!src.exists());
    assert_eq!(std::fs::read(d2.join("sub/b.txt")).unwrap(), b"changed");

    let none = dir.path().join("nonexistent");
    assert_fails_naming(
        &seqring(&["transfer", none.to_str().unwrap(), d.to_str().unwrap()]),
        "nonexistent",
    );
    assert_usage(&seqring(&["transfer", "only-one-arg"]));
}

#[test]
fn tracker_command() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("tracker.yaml");
    let f = file.to_str().unwrap();
    let out = seqring(&["tracker", f, "init", "process:1", "process:2", "assemble"]);
    assert_ok(&out);
    let ids: Vec<String> = stdout(&out).lines().map(str::to_owned).collect();
    assert_eq!(
        ids,
        [
            job_id("process", "1").unwrap(),
            job_id("process", "2").unwrap(),
            job_id("assemble", "").unwrap()
        ]
    );
    assert_ok(&seqring(&["tracker", f, "start", &ids[0], "--executor", "slurm-7"]));
    assert_ok(&seqring(&["tracker", f, "complete", &ids[0]]));
    // Jobs can also be named NAME[:SPEC].
    assert_ok(&seqring(&["tracker", f, "start", "process:2"]));
    assert_ok(&seqring(&["tracker", f, "fail", "process:2", "--message", "disk full"]));
    let out = seqring(&["tracker", f, "status", "process:2"]);
    assert_ok(&out);
    assert_eq!(stdout(&out).trim(), "failed");

    let tracker = ProcessingTracker::new(&file).unwrap();
    let info = tracker.job_info(&ids[0]).unwrap();
    assert_eq!(
        (info.status, info.executor_id.as_deref()),
        (JobStatus::Succeeded, Some("slurm-7"))
    );
    assert_eq!(
        tracker.job_info(&ids[1]).unwrap().error_message.as_deref(),
        Some("disk full")
    );

    let out = seqring(&["tracker", f, "summary", "--json"]);
    assert_ok(&out);
    let summary: serde_json::Value = serde_json::from_str(&stdout(&out)).unwrap();
    assert_eq!(summary["status"], "failed");
    assert_eq!(summary["summary"]["total"], 3);
    assert_eq!(summary["summary"]["succeeded"], 1);
    assert_eq!(summary["summary"]["failed"], 1);
    assert_eq!(summary["summary"]["scheduled"], 1);
    assert_eq!(summary["jobs"].as_array().unwrap().len(), 3);
    let out = seqring(&["tracker", f, "summary"]);
    assert_ok(&out);
    assert!(stdout(&out).contains("status failed"), "{}", stdout(&out));

    let out = seqring(&["tracker", f, "list", "--json", "--status", "failed"]);
    assert_ok(&out);
    let listed: serde_json::Value = serde_json::from_str(&stdout(&out)).unwrap();
    assert_eq!(listed.as_array().unwrap().len(), 1);
    assert_eq!(listed[0]["job_id"], ids[1].as_str());
    let out = seqring(&["tracker", f, "list"]);
    assert_ok(&out);
    assert_eq!(stdout(&out).lines().count(), 3);

    let out = seqring(&["tracker", f, "retry-failed"]);
    assert_ok(&out);
    assert_eq!(stdout(&out).trim(), ids[1]);
    assert_eq!(tracker.job_status(&ids[1]).unwrap(), JobStatus::Scheduled);

    // Bad input: exit 1 with one sentence naming the file or the job.
    assert_fails_naming(
        &seqring(&["tracker", f, "complete", "0000000000000000"]),
        "0000000000000000",
    );
    assert_fails_naming(&seqring(&["tracker", f, "init", "a:b:c"]), "a");
    let json = dir.path().join("tracker.json");
    assert_fails_naming(
        &seqring(&["tracker", json.to_str().unwrap(), "summary"]),
        "tracker.json",
    );
    let bad = dir.path().join("bad.yaml");
    std::fs::write(&bad, "jobs:\n  x:\n    job_name: a\n    status: 12\n").unwrap();
    assert_fails_naming(&seqring(&["tracker", bad.to_str().unwrap(), "list"]), "bad.yaml");
    {
        let _held = LockGuard::acquire(tracker.lock_path(), Duration::from_secs(5)).unwrap();
        let out = seqring(&["tracker", f, "--timeout", "0.2", "start", &ids[2]]);
        assert_fails_naming(&out, "tracker.yaml.lock");
    }
    assert_ok(&seqring(&["tracker", bad.to_str().unwrap(), "reset"]));
    assert_eq!(ProcessingTracker::new(&bad).unwrap().summary().unwrap().total, 0);
    assert_ok(&seqring(&["tracker", f, "reset"]));
    assert_eq!(tracker.summary().unwrap().total, 0);

    // Usage errors: exit 2.
    assert_usage(&seqring(&["tracker", f]));
    assert_usage(&seqring(&["tracker", f, "explode"]));
    assert_usage(&seqring(&["tracker", f, "init"]));
    assert_usage(&seqring(&["tracker", f, "list", "--status", "done"]));
    assert_usage(&seqring(&["tracker", f, "--timeout", "-1", "summary"]));
}
