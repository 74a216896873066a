//! Cross-process and Python interop tests of the processing tracker.
//!
//! Child processes are this test binary re-executed with `SEQRING_STATE_WORKER` set (see [`worker_entry`]), and
//! Python processes run `tests/python/tracker_interop.py`, which reads and writes trackers the way ataraxis does
//! (filelock + PyYAML + xxhash). The Python tests need `python3` with `pyyaml filelock xxhash`
//! (`.ci/requirements.txt`); set `SEQRING_SKIP_PYTHON=1` to skip them explicitly.

use seqring_state::tracker::{job_id, JobState, JobStatus, LockGuard, ProcessingTracker, TrackerError};
use std::collections::HashMap;
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

const WORKER_ENV: &str = "SEQRING_STATE_WORKER";
const FIXTURES: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../../shared/fixtures/ataraxis-7.2.0");

/// Child-process entry point: does nothing unless `SEQRING_STATE_WORKER` is set.
///
/// - `jobs|FILE|PREFIX|N`: initialize N jobs `PREFIX:i`, then start and complete each, one call at a time;
/// - `hold|LOCK|MS|MARKER`: take the lock, create MARKER, hold the lock MS milliseconds;
/// - `count|LOCK|COUNTER|N`: N times, under the lock, read the integer in COUNTER and write it back plus one.
#[test]
fn worker_entry() {
    let Ok(spec) = std::env::var(WORKER_ENV) else { return };
    let parts: Vec<&str> = spec.split('|').collect();
    match parts[0] {
        "jobs" => {
            let tracker = ProcessingTracker::new(parts[1])
                .unwrap()
                .with_timeout(Duration::from_secs(60));
            let prefix = parts[2];
            let n: usize = parts[3].parse().unwrap();
            let specs: Vec<String> = (0..n).map(|i| i.to_string()).collect();
            let pairs: Vec<(&str, &str)> = specs.iter().map(|s| (prefix, s.as_str())).collect();
            let ids = tracker.initialize_jobs(&pairs).unwrap();
            for id in &ids {
                tracker.start_job(id, Some(&format!("rust:{prefix}"))).unwrap();
                tracker.complete_job(id).unwrap();
            }
        }
        "hold" => {
            let guard = LockGuard::acquire(Path::new(parts[1]), Duration::from_secs(10)).unwrap();
            std::fs::write(parts[3], b"locked").unwrap();
            std::thread::sleep(Duration::from_millis(parts[2].parse().unwrap()));
            drop(guard);
        }
        "count" => {
            let counter = Path::new(parts[2]);
            for _ in 0..parts[3].parse::<usize>().unwrap() {
                let _guard = LockGuard::acquire(Path::new(parts[1]), Duration::from_secs(60)).unwrap();
                let value: u64 = std::fs::read_to_string(counter).unwrap().trim().parse().unwrap_or(0);
                std::thread::sleep(Duration::from_micros(500));
                std::fs::write(counter, (value + 1).to_string()).unwrap();
            }
        }
        other => panic!("unknown worker mode {other}"),
    }
}

fn spawn_worker(spec: &str) -> Child {
    Command::new(std::env::current_exe().unwrap())
        .args(["--exact", "worker_entry", "--nocapture", "--test-threads=1"])
        .env(WORKER_ENV, spec)
        .stdout(Stdio::null())
        .spawn()
        .unwrap()
}

fn wait_ok(mut child: Child, what: &str) {
    let status = child.wait().unwrap();
    assert!(status.success(), "{what} exited with {status}");
}

/// Waits for every child before judging any, so a failure never deletes the directory under the others.
fn wait_all(children: Vec<(Child, String)>) {
    let failed: Vec<String> = children
        .into_iter()
        .filter_map(|(mut c, what)| {
            let status = c.wait().unwrap();
            (!status.success()).then(|| format!("{what} exited with {status}"))
        })
        .collect();
    assert!(failed.is_empty(), "{failed:?}");
}

fn script() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("python/tracker_interop.py")
}

/// `python3` with the interop packages, or `None` when `SEQRING_SKIP_PYTHON` is set.
fn python() -> Option<String> {
    seqring_tests::python_with("yaml, filelock, xxhash")
}

fn py(python: &str, args: &[&str]) -> std::process::Output {
    Command::new(python).arg(script()).args(args).output().unwrap()
}

/// Runs the Python verifier on a tracker file and returns the jobs it read.
fn python_verify(python: &str, file: &Path) -> serde_json::Map<String, serde_json::Value> {
    let out = py(python, &["verify", file.to_str().unwrap()]);
    assert!(
        out.status.success(),
        "python verify failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap()
}

fn copy_fixture_tracker(dir: &Path) -> PathBuf {
    let path = dir.join("tracker.yaml");
    std::fs::write(
        &path,
        std::fs::read(format!("{FIXTURES}/tracker/tracker.yaml")).unwrap(),
    )
    .unwrap();
    path
}

#[test]
fn fixture_tracker_loads_with_ataraxis_ids_and_round_trips() {
    let dir = tempfile::tempdir().unwrap();
    let path = copy_fixture_tracker(dir.path());
    let ids: HashMap<String, String> =
        serde_json::from_slice(&std::fs::read(format!("{FIXTURES}/tracker/job_ids.json")).unwrap()).unwrap();
    for (pair, expected) in &ids {
        let (name, spec) = pair.split_once(':').unwrap();
        assert_eq!(&job_id(name, spec).unwrap(), expected, "{pair}");
    }
    let tracker = ProcessingTracker::new(&path).unwrap();
    let before = tracker.jobs().unwrap();
    assert_eq!(before.len(), 3);
    for (id, job) in before.iter() {
        assert_eq!(id, job_id(&job.job_name, &job.specifier).unwrap());
    }
    let failed = before.get(&ids["process_data:batch_102"]).unwrap();
    assert_eq!(failed.error_message.as_deref(), Some("disk full"));
    // A change to one job keeps every field of the others.
    let assemble = &ids["assemble:"];
    tracker.start_job(assemble, Some("7")).unwrap();
    let after = tracker.jobs().unwrap();
    for (id, job) in before.iter().filter(|(id, _)| id != assemble) {
        assert_eq!(after.get(id), Some(job));
    }
    assert_eq!(
        after.ids().collect::<Vec<_>>(),
        before.ids().collect::<Vec<_>>(),
        "order kept"
    );
    if let Some(python) = python() {
        let jobs = python_verify(&python, &path);
        assert_eq!(jobs[assemble]["status"], 1);
        assert_eq!(jobs[assemble]["executor_id"], "7");
        assert_eq!(jobs[&ids["process_data:batch_101"]]["executor_id"], "12345");
    }
}

#[test]
fn seqring_written_tracker_reads_identically_in_python() {
    let Some(python) = python() else { return };
    let dir = tempfile::tempdir().unwrap();
    let tracker = ProcessingTracker::new(dir.path().join("t.yml")).unwrap();
    let tricky = [
        "yes",
        "0123",
        "1:20",
        "1e3",
        "null",
        "~",
        "it's",
        "a: b",
        "#x",
        "ünï ß",
        "tab\tnew\nline",
        "",
    ];
    let pairs: Vec<(String, String)> = tricky
        .iter()
        .map(|t| (format!("job {t}").replace(':', ";"), t.replace(':', ";")))
        .collect();
    let ids = tracker.initialize_jobs(&pairs).unwrap();
    for (id, t) in ids.iter().zip(tricky) {
        tracker.start_job(id, Some(t)).unwrap();
        tracker.fail_job(id, Some(t)).unwrap();
    }
    let jobs = python_verify(&python, tracker.path());
    let ours = tracker.jobs().unwrap();
    assert_eq!(jobs.len(), ours.len());
    for (id, job) in ours.iter() {
        let theirs = &jobs[id];
        assert_eq!(theirs["job_name"], job.job_name.as_str());
        assert_eq!(theirs["specifier"], job.specifier.as_str());
        assert_eq!(theirs["status"], 3);
        assert_eq!(theirs["executor_id"], job.executor_id.as_deref().unwrap());
        assert_eq!(theirs["error_message"], job.error_message.as_deref().unwrap());
        assert_eq!(theirs["started_at"], job.started_at.unwrap());
        assert_eq!(theirs["completed_at"], job.completed_at.unwrap());
    }
}

#[test]
fn python_written_tracker_loads_in_seqring() {
    let Some(python) = python() else { return };
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("tracker.yaml");
    let out = py(&python, &["write", path.to_str().unwrap()]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let jobs = ProcessingTracker::new(&path).unwrap().jobs().unwrap();
    let failed = jobs.get(&job_id("process_data", "batch_102").unwrap()).unwrap();
    assert_eq!(failed.status, JobStatus::Failed);
    assert_eq!(failed.error_message.as_deref(), Some("disk full: 'quota'\nline two"));
    assert_eq!(failed.executor_id.as_deref(), Some("pid:8876"));
    let unicode = jobs.get(&job_id("ünï", "ß").unwrap()).unwrap();
    assert_eq!(*unicode, JobState::new("ünï", "ß"));
    assert_eq!(
        jobs.get(&job_id("process_data", "batch_101").unwrap())
            .unwrap()
            .executor_id
            .as_deref(),
        Some("12345")
    );
}

fn check_all_succeeded(tracker: &ProcessingTracker, prefixes: &[&str], n: usize) {
    let jobs = tracker.jobs().unwrap();
    assert_eq!(jobs.len(), prefixes.len() * n, "no job lost");
    for prefix in prefixes {
        for i in 0..n {
            let id = job_id(prefix, &i.to_string()).unwrap();
            let job = jobs.get(&id).unwrap_or_else(|| panic!("job {prefix}:{i} lost"));
            assert_eq!(job.status, JobStatus::Succeeded, "{prefix}:{i} update lost: {job:?}");
            assert!(
                job.executor_id.as_deref().is_some_and(|e| e.ends_with(prefix)),
                "{job:?}"
            );
            assert!(job.started_at.unwrap() <= job.completed_at.unwrap());
        }
    }
    let counts = tracker.summary().unwrap();
    assert_eq!(
        (counts.total, counts.succeeded),
        (prefixes.len() * n, prefixes.len() * n)
    );
}

#[test]
fn four_processes_fifty_jobs_each_lose_no_update() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("tracker.yaml");
    let prefixes = ["w0", "w1", "w2", "w3"];
    let workers = prefixes
        .iter()
        .map(|p| (spawn_worker(&format!("jobs|{}|{p}|50", file.display())), p.to_string()));
    wait_all(workers.collect());
    let tracker = ProcessingTracker::new(&file).unwrap();
    check_all_succeeded(&tracker, &prefixes, 50);
    if let Some(python) = python() {
        assert_eq!(python_verify(&python, &file).len(), 200);
    }
}

#[test]
fn rust_and_python_processes_share_one_tracker() {
    let Some(python) = python() else { return };
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("tracker.yaml");
    let f = file.to_str().unwrap();
    let rust = ["r0", "r1"].map(|p| (spawn_worker(&format!("jobs|{f}|{p}|15")), p.to_string()));
    let pys = ["p0", "p1"].map(|p| {
        (
            Command::new(&python)
                .arg(script())
                .args(["run-jobs", f, p, "15"])
                .spawn()
                .unwrap(),
            p.to_string(),
        )
    });
    wait_all(rust.into_iter().chain(pys).collect());
    let tracker = ProcessingTracker::new(&file).unwrap();
    check_all_succeeded(&tracker, &["r0", "r1", "p0", "p1"], 15);
    assert_eq!(python_verify(&python, &file).len(), 60);
}

#[test]
fn a_lock_holder_makes_others_time_out() {
    let dir = tempfile::tempdir().unwrap();
    let tracker = ProcessingTracker::new(dir.path().join("tracker.yaml")).unwrap();
    let id = tracker.initialize_jobs(&[("job", "")]).unwrap().remove(0);
    let marker = dir.path().join("marker");
    let child = spawn_worker(&format!(
        "hold|{}|1500|{}",
        tracker.lock_path().display(),
        marker.display()
    ));
    let deadline = Instant::now() + Duration::from_secs(20);
    while !marker.exists() {
        assert!(Instant::now() < deadline, "the lock holder never started");
        std::thread::sleep(Duration::from_millis(5));
    }
    let short = tracker.clone().with_timeout(Duration::from_millis(200));
    let start = Instant::now();
    let err = short.start_job(&id, None).unwrap_err();
    assert!(matches!(err, TrackerError::LockTimeout { .. }), "{err}");
    assert!(start.elapsed() >= Duration::from_millis(200));
    assert!(err.to_string().contains("tracker.yaml.lock"), "{err}");
    let read = tracker.clone().with_timeout(Duration::from_millis(50)).job_status(&id);
    assert!(
        matches!(read, Err(TrackerError::LockTimeout { .. })),
        "reads wait for the lock too: {read:?}"
    );
    // A patient caller gets the lock once the holder lets go.
    tracker.start_job(&id, None).unwrap();
    wait_ok(child, "holder");
    assert_eq!(tracker.job_status(&id).unwrap(), JobStatus::Running);
}

#[test]
fn no_increment_lost_between_rust_and_python_lock_holders() {
    let Some(python) = python() else { return };
    let dir = tempfile::tempdir().unwrap();
    let lock = dir.path().join("tracker.yaml.lock");
    let counter = dir.path().join("counter");
    std::fs::write(&counter, "0").unwrap();
    let (l, c) = (lock.to_str().unwrap(), counter.to_str().unwrap());
    let tracker_file = dir.path().join("tracker.yaml");
    let t = tracker_file.to_str().unwrap();
    let rust = (0..2).map(|i| (spawn_worker(&format!("count|{l}|{c}|100")), format!("rust {i}")));
    let pys = (0..2).map(|i| {
        (
            Command::new(&python)
                .arg(script())
                .args(["count", t, c, "100"])
                .spawn()
                .unwrap(),
            format!("python {i}"),
        )
    });
    wait_all(rust.chain(pys).collect());
    assert_eq!(std::fs::read_to_string(&counter).unwrap().trim(), "400");
}

#[test]
fn python_filelock_and_seqring_exclude_each_other() {
    let Some(python) = python() else { return };
    let dir = tempfile::tempdir().unwrap();
    let tracker = ProcessingTracker::new(dir.path().join("tracker.yaml")).unwrap();
    let id = tracker.initialize_jobs(&[("job", "x")]).unwrap().remove(0);
    let file = tracker.path().to_str().unwrap().to_owned();

    // Python holds the lock: seqring times out, then gets it only after Python let go.
    let mut holder = Command::new(&python)
        .arg(script())
        .args(["hold", &file, "1.0"])
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(holder.stdout.take().unwrap()).lines();
    assert_eq!(lines.next().unwrap().unwrap(), "locked");
    let locked_at = Instant::now();
    let err = tracker
        .clone()
        .with_timeout(Duration::from_millis(200))
        .complete_job(&id)
        .unwrap_err();
    assert!(matches!(err, TrackerError::LockTimeout { .. }), "{err}");
    tracker.complete_job(&id).unwrap();
    assert!(
        locked_at.elapsed() >= Duration::from_millis(900),
        "seqring got the lock while Python held it"
    );
    wait_ok(holder, "python holder");

    // seqring holds the lock: Python's FileLock times out, then succeeds after release.
    let guard = tracker.lock().unwrap();
    let out = py(&python, &["try-lock", &file, "0.3"]);
    assert_eq!(String::from_utf8_lossy(&out.stdout).trim(), "timeout");
    drop(guard);
    let out = py(&python, &["try-lock", &file, "5"]);
    assert_eq!(String::from_utf8_lossy(&out.stdout).trim(), "acquired");
}

/// One job of ataraxis `summarize()`, written out by hand in its key order: `error_message` last and only when set.
#[allow(clippy::too_many_arguments)]
fn job_json(
    id: &str,
    name: &str,
    spec: &str,
    status: &str,
    executor: Option<&str>,
    started: Option<u64>,
    completed: Option<u64>,
    error: Option<&str>,
) -> String {
    let s = |v: &str| serde_json::to_string(v).unwrap();
    let opt_s = |v: Option<&str>| v.map_or("null".to_owned(), s);
    let opt_n = |v: Option<u64>| v.map_or("null".to_owned(), |n| n.to_string());
    let mut out = format!(
        r#"{{"job_id":{},"job_name":{},"specifier":{},"status":"{status}","executor_id":{},"started_at":{},"completed_at":{}"#,
        s(id),
        s(name),
        s(spec),
        opt_s(executor),
        opt_n(started),
        opt_n(completed)
    );
    if let Some(e) = error {
        out.push_str(&format!(r#","error_message":{}"#, s(e)));
    }
    out.push('}');
    out
}

/// The whole `summarize()` document, from the jobs, the counts (total, succeeded, failed, running, scheduled) and
/// the overall status.
fn summary_json(jobs: &[String], c: [usize; 5], status: &str) -> String {
    format!(
        r#"{{"jobs":[{}],"summary":{{"total":{},"succeeded":{},"failed":{},"running":{},"scheduled":{}}},"status":"{status}"}}"#,
        jobs.join(","),
        c[0],
        c[1],
        c[2],
        c[3],
        c[4]
    )
}

/// A scripted run over the ataraxis fixture tracker. After every action, seqring's `summarize()` JSON must equal,
/// byte for byte, (1) the document worked out by hand from the fixture, the actions and the issue-13 rules, and
/// (2) what a Python re-implementation of ataraxis' `summarize()` (tracker_interop.py) prints for the same file.
#[test]
fn summarize_matches_ataraxis_through_a_scripted_run() {
    let dir = tempfile::tempdir().unwrap();
    let path = copy_fixture_tracker(dir.path());
    let tracker = ProcessingTracker::new(&path).unwrap();
    let python = python();
    let (a, b, c) = ("e30d3e55fffe8b95", "ed2dd590ec7fa6b4", "bd9a67a77aac40c5");
    // The fixture's own values.
    let a_done = job_json(
        a,
        "process_data",
        "batch_101",
        "SUCCEEDED",
        Some("12345"),
        Some(1795301397032459),
        Some(1795301397034908),
        None,
    );
    let b_new = job_json(b, "process_data", "batch_102", "SCHEDULED", None, None, None, None);
    let c_new = job_json(c, "assemble", "", "SCHEDULED", None, None, None, None);
    let a_new = job_json(a, "process_data", "batch_101", "SCHEDULED", None, None, None, None);
    let check = |step: &str, expected: String| {
        let actual = serde_json::to_string(&tracker.summarize().unwrap()).unwrap();
        assert_eq!(
            actual, expected,
            "step {step}: seqring against the hand-worked document"
        );
        if let Some(python) = &python {
            let out = py(python, &["summarize", path.to_str().unwrap()]);
            assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
            assert_eq!(
                String::from_utf8(out.stdout).unwrap().trim_end(),
                actual,
                "step {step}: against Python"
            );
        }
    };
    // A time stamp written by the tracker during [before, now].
    let stamp = |id: &str, completed: bool, before: u64| {
        let info = tracker.job_info(id).unwrap();
        let t = if completed { info.completed_at } else { info.started_at }.unwrap();
        assert!(
            (before..=seqring_state::tracker::now_us()).contains(&t),
            "{id}: {t} not in its window"
        );
        t
    };

    // 0. The fixture as ataraxis wrote it: one failed job makes the pipeline failed.
    let b_failed = job_json(
        b,
        "process_data",
        "batch_102",
        "FAILED",
        Some("pid:8876"),
        Some(1795301397036931),
        Some(1795301397039193),
        Some("disk full"),
    );
    check(
        "fixture",
        summary_json(&[a_done.clone(), b_failed, c_new.clone()], [3, 1, 1, 0, 1], "failed"),
    );

    // 1. Retrying the failed job clears it: one succeeded, two scheduled, none running: in progress.
    assert_eq!(tracker.retry_failed_jobs().unwrap(), [b]);
    check(
        "retry",
        summary_json(
            &[a_done.clone(), b_new.clone(), c_new.clone()],
            [3, 1, 0, 0, 2],
            "in_progress",
        ),
    );

    // 2. A running job: processing.
    let t0 = seqring_state::tracker::now_us();
    tracker.start_job(c, Some("node-1")).unwrap();
    let c_start = stamp(c, false, t0);
    let c_running = job_json(c, "assemble", "", "RUNNING", Some("node-1"), Some(c_start), None, None);
    check(
        "start",
        summary_json(
            &[a_done.clone(), b_new.clone(), c_running],
            [3, 1, 0, 1, 1],
            "processing",
        ),
    );

    // 3. It fails with a message (quotes and a non-ASCII character survive): failed.
    let t1 = seqring_state::tracker::now_us();
    tracker.fail_job(c, Some("out of memory: \"ß\"")).unwrap();
    let c_end = stamp(c, true, t1);
    let c_failed = job_json(
        c,
        "assemble",
        "",
        "FAILED",
        Some("node-1"),
        Some(c_start),
        Some(c_end),
        Some("out of memory: \"ß\""),
    );
    check(
        "fail",
        summary_json(&[a_done.clone(), b_new.clone(), c_failed], [3, 1, 1, 0, 1], "failed"),
    );

    // 4. reset_jobs on it alone: back to one succeeded and two scheduled, with no error key.
    assert_eq!(tracker.reset_jobs(&[c]).unwrap(), [c]);
    check(
        "reset_jobs",
        summary_json(
            &[a_done.clone(), b_new.clone(), c_new.clone()],
            [3, 1, 0, 0, 2],
            "in_progress",
        ),
    );

    // 5. Everything succeeds: completed.
    let t2 = seqring_state::tracker::now_us();
    for id in [b, c] {
        tracker.start_job(id, Some("node-2")).unwrap();
        tracker.complete_job(id).unwrap();
    }
    let done = |id: &str, name: &str, spec: &str| {
        let (s, e) = (stamp(id, false, t2), stamp(id, true, t2));
        job_json(id, name, spec, "SUCCEEDED", Some("node-2"), Some(s), Some(e), None)
    };
    let (b_done, c_done) = (done(b, "process_data", "batch_102"), done(c, "assemble", ""));
    check(
        "complete",
        summary_json(&[a_done.clone(), b_done, c_done], [3, 3, 0, 0, 0], "completed"),
    );

    // 6. Every job reset: all scheduled, not started.
    assert_eq!(tracker.reset_jobs(&[c, a, b]).unwrap(), [a, b, c], "file order");
    check(
        "reset all",
        summary_json(&[a_new, b_new, c_new.clone()], [3, 0, 0, 0, 3], "not_started"),
    );

    // 7. An empty tracker is in progress, not "not started".
    tracker.reset().unwrap();
    check("empty", summary_json(&[], [0, 0, 0, 0, 0], "in_progress"));

    // 8. align_jobs registers the requested part of a universe.
    let universe = [("assemble", ""), ("process_data", "batch_101")];
    let aligned = tracker.align_jobs(&universe[..1], Some(&universe)).unwrap();
    assert_eq!(aligned.ids, [c]);
    check("align", summary_json(&[c_new], [1, 0, 0, 0, 1], "not_started"));
}
