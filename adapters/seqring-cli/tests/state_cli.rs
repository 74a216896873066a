//! The `checksum`, `transfer` and `tracker` commands run as real processes: happy paths, bad input (exit 1 with
//! one sentence naming the path on stderr) and usage errors (exit 2).

use seqring_state::tracker::{job_id, JobStatus, LockGuard, ProcessingTracker};
use std::path::Path;
use std::time::Duration;

mod cli_support;
use cli_support::{assert_fails_naming, assert_ok, assert_usage, copy_tree, seqring, stdout};

const FIXTURES: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../../../shared/fixtures/ataraxis-7.2.0");

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
        // The timeout may also come before FILE, and applies to discover's reads.
        let out = seqring(&["tracker", "--timeout", "0.2", f, "start", &ids[2]]);
        assert_fails_naming(&out, "tracker.yaml.lock");
        let root = dir.path().to_str().unwrap();
        let out = seqring(&["tracker", "--timeout", "0.2", "discover", root, "tracker.yaml"]);
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

#[test]
fn checksum_exclude_option() {
    let expected = std::fs::read_to_string(format!("{FIXTURES}/checksum_expected.txt")).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let tree = dir.path().join("tree");
    copy_tree(Path::new(&format!("{FIXTURES}/checksum_tree")), &tree);
    // Extra files named run.log at two depths: excluded, the tree checksums as the ataraxis fixture.
    std::fs::write(tree.join("run.log"), b"noise").unwrap();
    std::fs::write(tree.join("sub/deeper/run.log"), b"more noise").unwrap();
    let t = tree.to_str().unwrap();
    let out = seqring(&["checksum", t, "--no-save", "--exclude", "run.log"]);
    assert_ok(&out);
    assert_eq!(stdout(&out).lines().last(), Some(expected.trim()));
    // Without the option they count, so the checksum differs.
    let out = seqring(&["checksum", t, "--no-save"]);
    assert_ok(&out);
    assert_ne!(stdout(&out).lines().last(), Some(expected.trim()));
    // Repeatable; excluding every data file leaves nothing to checksum.
    let names = ["a.bin", "b.txt", "c.dat", "d with space.dat", "run.log"];
    let mut args = vec!["checksum", t, "--no-save"];
    for n in &names {
        args.extend(["--exclude", n]);
    }
    assert_fails_naming(&seqring(&args), "tree");
    assert_usage(&seqring(&["checksum", t, "--exclude"]));
}

#[test]
fn transfer_dirty_destination_option() {
    let expected = std::fs::read_to_string(format!("{FIXTURES}/checksum_expected.txt")).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let src = dir.path().join("src");
    copy_tree(Path::new(&format!("{FIXTURES}/checksum_tree")), &src);
    let dst = dir.path().join("dst");
    std::fs::create_dir_all(dst.join("sub")).unwrap();
    std::fs::write(dst.join("sub/stale.bin"), b"from an earlier run").unwrap();
    let (s, d) = (src.to_str().unwrap(), dst.to_str().unwrap());
    assert_fails_naming(&seqring(&["transfer", s, d, "--verify"]), "stale.bin");
    assert!(!dst.join("a.bin").exists(), "nothing copied into a dirty destination");
    let out = seqring(&["transfer", s, d, "--verify", "--reset-dirty-destination"]);
    assert_ok(&out);
    assert!(
        stdout(&out).contains("deleted stale") && stdout(&out).contains("stale.bin"),
        "{}",
        stdout(&out)
    );
    assert!(!dst.join("sub/stale.bin").exists());
    let out = seqring(&["checksum", d, "--no-save"]);
    assert_eq!(stdout(&out).lines().last(), Some(expected.trim()));
}

#[test]
fn tracker_info_find_reset_jobs_and_discover() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    // Three trackers: the ataraxis fixture (failed), a fresh one (not started), a finished one (completed).
    std::fs::create_dir_all(root.join("s1")).unwrap();
    std::fs::copy(format!("{FIXTURES}/tracker/tracker.yaml"), root.join("s1/tracker.yaml")).unwrap();
    let fixture = root.join("s1").join("tracker.yaml");
    let f = fixture.to_str().unwrap();
    let s2 = root.join("s2").join("tracker.yaml");
    assert_ok(&seqring(&["tracker", s2.to_str().unwrap(), "init", "x:1", "x:2"]));
    let s3 = root.join("s3").join("deep").join("tracker.yaml");
    let done = ProcessingTracker::new(&s3).unwrap();
    for id in done.initialize_jobs(&[("y", "")]).unwrap() {
        done.start_job(&id, Some("e")).unwrap();
        done.complete_job(&id).unwrap();
    }
    std::fs::write(root.join("s2/other.yaml"), "jobs: {}\n").unwrap();

    // info: every field of the failed fixture job, by NAME:SPEC, as summary --json prints a job.
    let out = seqring(&["tracker", f, "info", "process_data:batch_102", "--json"]);
    assert_ok(&out);
    let expected = r#"{"job_id":"ed2dd590ec7fa6b4","job_name":"process_data","specifier":"batch_102","status":"FAILED","executor_id":"pid:8876","started_at":1795301397036931,"completed_at":1795301397039193,"error_message":"disk full"}"#;
    let info: serde_json::Value = serde_json::from_str(&stdout(&out)).unwrap();
    assert_eq!(info, serde_json::from_str::<serde_json::Value>(expected).unwrap());
    let out = seqring(&["tracker", f, "info", "assemble"]);
    assert_ok(&out);
    assert!(stdout(&out).contains("bd9a67a77aac40c5") && stdout(&out).contains("scheduled"));
    assert_fails_naming(&seqring(&["tracker", f, "info", "nope"]), "nope");

    // find: substring matches on name and/or specifier.
    let out = seqring(&[
        "tracker",
        f,
        "find",
        "--name",
        "process",
        "--specifier",
        "102",
        "--json",
    ]);
    assert_ok(&out);
    let found: serde_json::Value = serde_json::from_str(&stdout(&out)).unwrap();
    assert_eq!(
        found,
        serde_json::json!({"ed2dd590ec7fa6b4": ["process_data", "batch_102"]})
    );
    let out = seqring(&["tracker", f, "find", "--name", "data"]);
    assert_ok(&out);
    assert_eq!(stdout(&out).lines().count(), 2);
    assert_usage(&seqring(&["tracker", f, "find"]));

    // reset-jobs: an unknown job rejects the request and leaves the file as it was.
    let before = std::fs::read(&fixture).unwrap();
    assert_fails_naming(
        &seqring(&["tracker", f, "reset-jobs", "process_data:batch_101", "0000000000000000"]),
        "0000000000000000",
    );
    assert_eq!(std::fs::read(&fixture).unwrap(), before);
    assert_usage(&seqring(&["tracker", f, "reset-jobs"]));

    // discover --json: per tracker, counts and status; then the summed counts and the status they resolve to.
    let r = root.to_str().unwrap();
    let out = seqring(&["tracker", "discover", r, "tracker.yaml", "--json"]);
    assert_ok(&out);
    let survey: serde_json::Value = serde_json::from_str(&stdout(&out)).unwrap();
    let counts = |t: u64, ok: u64, failed: u64, running: u64, scheduled: u64| serde_json::json!({"total": t, "succeeded": ok, "failed": failed, "running": running, "scheduled": scheduled});
    let tracker = |path: &Path, summary: serde_json::Value, status: &str| serde_json::json!({"path": path.to_str().unwrap(), "summary": summary, "status": status});
    assert_eq!(
        survey,
        serde_json::json!({
            "trackers": [
                tracker(&fixture, counts(3, 1, 1, 0, 1), "failed"),
                tracker(&s2, counts(2, 0, 0, 0, 2), "not_started"),
                tracker(&s3, counts(1, 1, 0, 0, 0), "completed"),
            ],
            "summary": counts(6, 2, 1, 0, 3),
            "status": "failed",
        })
    );

    // After the failed job is reset, the group has succeeded and scheduled jobs only: in progress.
    let out = seqring(&["tracker", f, "reset-jobs", "process_data:batch_102"]);
    assert_ok(&out);
    assert_eq!(stdout(&out).trim(), "ed2dd590ec7fa6b4");
    let out = seqring(&["tracker", "discover", r, "tracker.yaml"]);
    assert_ok(&out);
    let last = stdout(&out).lines().last().unwrap().to_owned();
    assert!(
        last.starts_with("3 trackers under") && last.contains("in_progress"),
        "{last}"
    );
    assert!(
        last.contains("6 jobs: 2 succeeded, 0 failed, 0 running, 4 scheduled"),
        "{last}"
    );

    // No tracker: an empty group is in progress (ataraxis' rule for no job at all).
    let out = seqring(&["tracker", "discover", r, "absent.yaml", "--json"]);
    assert_ok(&out);
    let survey: serde_json::Value = serde_json::from_str(&stdout(&out)).unwrap();
    assert_eq!(survey["status"], "in_progress");
    assert_eq!(survey["trackers"], serde_json::json!([]));
    assert_fails_naming(
        &seqring(&[
            "tracker",
            "discover",
            root.join("missing").to_str().unwrap(),
            "tracker.yaml",
        ]),
        "missing",
    );
    assert_usage(&seqring(&["tracker", "discover", r]));
}

#[test]
fn tracker_reads_create_no_lock_file_and_take_plain_arguments() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("jobs.yaml");
    let lock = dir.path().join("jobs.yaml.lock");
    let f = file.to_str().unwrap();
    assert_ok(&seqring(&[
        "tracker",
        f,
        "init",
        "process:1",
        "process:2",
        "assemble",
        "extract:2b",
    ]));
    // A tracker that came without its lock file (copied, or written by another tool): reading it leaves no file.
    std::fs::remove_file(&lock).unwrap();
    for action in [
        &["summary"][..],
        &["summary", "--json"],
        &["list", "--json"],
        &["info", "process:1", "--json"],
        &["status", "assemble"],
        &["find", "ss", "--json"],
    ] {
        let mut args = vec!["tracker", f];
        args.extend_from_slice(action);
        let out = seqring(&args);
        assert_ok(&out);
        assert!(!lock.exists(), "{action:?} created {}", lock.display());
        // Every --json prints one JSON object on one line, as the other commands do.
        if action.contains(&"--json") {
            let text = stdout(&out);
            assert_eq!(text.lines().count(), 1, "{action:?}: {text}");
            serde_json::from_str::<serde_json::Value>(&text).unwrap();
        }
    }
    let out = seqring(&[
        "tracker",
        "discover",
        dir.path().to_str().unwrap(),
        "jobs.yaml",
        "--json",
    ]);
    assert_eq!(stdout(&out).lines().count(), 1, "{}", stdout(&out));
    assert!(!lock.exists());
    // A garbage file is an error naming it, and reading it creates nothing either.
    let garbage = dir.path().join("garbage.yaml");
    std::fs::write(&garbage, "{{{ not a tracker").unwrap();
    assert_fails_naming(
        &seqring(&["tracker", garbage.to_str().unwrap(), "summary"]),
        "garbage.yaml",
    );
    assert!(!dir.path().join("garbage.yaml.lock").exists());

    // find TEXT matches the name or the specifier.
    let out = seqring(&["tracker", f, "find", "2", "--json"]);
    let found: serde_json::Value = serde_json::from_str(&stdout(&out)).unwrap();
    assert_eq!(
        found,
        serde_json::json!({
            job_id("process", "2").unwrap(): ["process", "2"],
            job_id("extract", "2b").unwrap(): ["extract", "2b"],
        })
    );
    let out = seqring(&["tracker", f, "find", "ss"]);
    assert_ok(&out);
    assert_eq!(stdout(&out).lines().count(), 3, "{}", stdout(&out));
    assert_usage(&seqring(&["tracker", f, "find", "ss", "--name", "x"]));

    // fail ID MESSAGE, as well as fail ID --message MESSAGE; not both.
    assert_ok(&seqring(&["tracker", f, "start", "process:2"]));
    assert_ok(&seqring(&["tracker", f, "fail", "process:2", "disk full"]));
    let tracker = ProcessingTracker::new(&file).unwrap();
    let info = tracker.job_info(&job_id("process", "2").unwrap()).unwrap();
    assert_eq!(
        (info.status, info.error_message.as_deref()),
        (JobStatus::Failed, Some("disk full"))
    );
    assert_usage(&seqring(&["tracker", f, "fail", "process:2", "a", "--message", "b"]));
    // A change takes the lock, and so creates the lock file, as Python's filelock does.
    assert!(lock.exists());
}
