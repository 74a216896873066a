//! The tracker calls added for ataraxis 7.2.0 parity (`align_jobs`, `resolve_job`, `reset_jobs`, `discover`), each
//! on the ataraxis fixture tracker: the happy path, every rejection, and proof that a rejected request left the
//! file byte for byte as it was.

use seqring_state::tracker::{job_id, JobStatus, ProcessingTracker, TrackerError};
use std::path::{Path, PathBuf};

const FIXTURE: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../../shared/fixtures/ataraxis-7.2.0/tracker/tracker.yaml"
);
const A: &str = "e30d3e55fffe8b95"; // process_data:batch_101, succeeded
const B: &str = "ed2dd590ec7fa6b4"; // process_data:batch_102, failed ("disk full")
const C: &str = "bd9a67a77aac40c5"; // assemble, scheduled

fn fixture_copy(dir: &Path) -> (PathBuf, ProcessingTracker) {
    let path = dir.join("tracker.yaml");
    std::fs::copy(FIXTURE, &path).unwrap();
    let tracker = ProcessingTracker::new(&path).unwrap();
    (path, tracker)
}

/// Runs a request that must be rejected and checks that the file did not change by a byte.
#[track_caller]
fn rejected<T: std::fmt::Debug>(path: &Path, request: impl FnOnce() -> Result<T, TrackerError>) -> TrackerError {
    let before = std::fs::read(path).unwrap();
    let err = request().expect_err("the request must be rejected");
    assert_eq!(
        std::fs::read(path).unwrap(),
        before,
        "a rejected request changed the file: {err}"
    );
    err
}

const UNIVERSE: [(&str, &str); 4] = [
    ("process_data", "batch_101"),
    ("process_data", "batch_102"),
    ("process_data", "batch_103"),
    ("assemble", ""),
];

#[test]
fn align_jobs_keeps_unrequested_jobs_adds_missing_ones_and_drops_foreign_ones() {
    let dir = tempfile::tempdir().unwrap();
    let (path, tracker) = fixture_copy(dir.path());
    // Aligning to jobs the fixture already holds changes nothing, and the rewrite is byte-identical.
    let before = std::fs::read(&path).unwrap();
    let same = tracker.align_jobs(&UNIVERSE[..2], Some(&UNIVERSE)).unwrap();
    assert_eq!(same.ids, [A, B]);
    assert!(same.added.is_empty() && same.discarded.is_empty());
    assert_eq!(
        std::fs::read(&path).unwrap(),
        before,
        "a no-op alignment rewrites the fixture identically"
    );

    // A run of one new part: batch_103 is added at the end; the others keep their recorded state.
    let part = tracker.align_jobs(&UNIVERSE[2..3], Some(&UNIVERSE)).unwrap();
    let new_id = job_id("process_data", "batch_103").unwrap();
    assert_eq!(
        (part.ids.clone(), part.added.clone()),
        (vec![new_id.clone()], vec![new_id.clone()])
    );
    let jobs = tracker.jobs().unwrap();
    assert_eq!(jobs.ids().collect::<Vec<_>>(), [A, B, C, new_id.as_str()]);
    assert_eq!(jobs.get(B).unwrap().error_message.as_deref(), Some("disk full"));
    assert_eq!(jobs.get(A).unwrap().status, JobStatus::Succeeded);

    // The pipeline's definition changed: assemble is no longer in the universe, so its entry is discarded.
    let smaller = &UNIVERSE[..3];
    let aligned = tracker.align_jobs(&smaller[..1], Some(smaller)).unwrap();
    assert_eq!(
        (aligned.ids, aligned.discarded),
        (vec![A.to_owned()], vec![C.to_owned()])
    );
    assert_eq!(
        tracker.jobs().unwrap().ids().collect::<Vec<_>>(),
        [A, B, new_id.as_str()]
    );

    // Without a universe, the requested jobs are the universe.
    let alone = tracker.align_jobs(&[("assemble", "")], None).unwrap();
    assert_eq!((alone.added, alone.discarded.len()), (vec![C.to_owned()], 3));
    assert_eq!(tracker.jobs().unwrap().ids().collect::<Vec<_>>(), [C]);
}

#[test]
fn align_jobs_rejections_change_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let (path, tracker) = fixture_copy(dir.path());
    let err = rejected(&path, || {
        tracker.align_jobs(&[("merge", "x"), ("assemble", ""), ("extra", "")], Some(&UNIVERSE))
    });
    match &err {
        TrackerError::OutsideUniverse { jobs, .. } => assert_eq!(jobs, "extra, merge (x)"),
        other => panic!("{other}"),
    }
    assert!(err.to_string().contains("tracker.yaml"), "{err}");
    let none: [(&str, &str); 0] = [];
    let err = rejected(&path, || tracker.align_jobs(&none, Some(&UNIVERSE)));
    assert!(matches!(err, TrackerError::EmptyRequest { .. }), "{err}");
    // An empty universe makes every request foreign.
    let err = rejected(&path, || tracker.align_jobs(&UNIVERSE[..1], Some(&none)));
    assert!(matches!(err, TrackerError::OutsideUniverse { .. }), "{err}");
    let err = rejected(&path, || tracker.align_jobs(&[("a:b", "")], None));
    assert!(matches!(err, TrackerError::InvalidJob { .. }), "{err}");
    let bad_universe = [("assemble", ""), ("x", "y:z")];
    let err = rejected(&path, || tracker.align_jobs(&bad_universe[..1], Some(&bad_universe)));
    assert!(matches!(err, TrackerError::InvalidJob { .. }), "{err}");
}

#[test]
fn resolve_job_finds_names_in_the_universe_without_touching_the_file() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("never-created.yaml");
    let tracker = ProcessingTracker::new(&path).unwrap();
    assert_eq!(
        tracker.resolve_job(B, &UNIVERSE).unwrap(),
        ("process_data".to_owned(), "batch_102".to_owned())
    );
    assert_eq!(
        tracker.resolve_job(C, &UNIVERSE).unwrap(),
        ("assemble".to_owned(), String::new())
    );
    let err = tracker.resolve_job("ffffffffffffffff", &UNIVERSE).unwrap_err();
    assert!(matches!(err, TrackerError::NotInUniverse { .. }) && err.to_string().contains("ffffffffffffffff"));
    // An id the universe lacks is rejected even if the tracker file holds it.
    let (_, fixture) = fixture_copy(dir.path());
    assert!(matches!(
        fixture.resolve_job(A, &UNIVERSE[1..]),
        Err(TrackerError::NotInUniverse { .. })
    ));
    let none: [(&str, &str); 0] = [];
    assert!(matches!(
        tracker.resolve_job(A, &none),
        Err(TrackerError::EmptyRequest { .. })
    ));
    assert!(
        !path.exists() && !tracker.lock_path().exists(),
        "resolve_job reads no file"
    );
}

#[test]
fn reset_jobs_resets_only_the_named_jobs_or_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let (path, tracker) = fixture_copy(dir.path());
    let before = tracker.jobs().unwrap();
    // One unknown id among known ones rejects the whole request.
    let err = rejected(&path, || {
        tracker.reset_jobs(&[A, "0123456789abcdef", B, "fedcba9876543210"])
    });
    match &err {
        TrackerError::UnknownJob { id, .. } => assert_eq!(id, "0123456789abcdef, fedcba9876543210"),
        other => panic!("{other}"),
    }
    assert_eq!(tracker.reset_jobs(&[B, A, B]).unwrap(), [A, B], "file order, each once");
    let after = tracker.jobs().unwrap();
    for id in [A, B] {
        let job = after.get(id).unwrap();
        assert_eq!(
            (
                job.status,
                &job.executor_id,
                &job.error_message,
                job.started_at,
                job.completed_at
            ),
            (JobStatus::Scheduled, &None, &None, None, None),
            "{id}"
        );
        assert_eq!(job.job_name, before.get(id).unwrap().job_name);
    }
    assert_eq!(after.get(C), before.get(C), "the other job is untouched");
    let empty: [&str; 0] = [];
    assert!(tracker.reset_jobs(&empty).unwrap().is_empty());
}

#[test]
fn discover_finds_trackers_by_exact_name_without_reading_them() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    for sub in ["m1/s1/processed", "m1/s2/processed", "m2/s1", "m2/s3/processed/deep/er"] {
        std::fs::create_dir_all(root.join(sub)).unwrap();
    }
    std::fs::copy(FIXTURE, root.join("m1/s1/processed/tracker.yaml")).unwrap();
    std::fs::copy(FIXTURE, root.join("m2/s3/processed/deep/er/tracker.yaml")).unwrap();
    // Not read: a corrupt file with the name is still found (reading it is the caller's business).
    std::fs::write(root.join("m1/s2/processed/tracker.yaml"), "jobs: [not, a, map]\n").unwrap();
    // Decoys: other names, and a directory with the tracker's name.
    std::fs::copy(FIXTURE, root.join("m2/s1/other_tracker.yaml")).unwrap();
    std::fs::copy(FIXTURE, root.join("m2/s1/tracker.yml")).unwrap();
    std::fs::create_dir_all(root.join("m2/tracker.yaml")).unwrap();

    let found = ProcessingTracker::discover(root, "tracker.yaml").unwrap();
    let paths: Vec<&Path> = found.iter().map(ProcessingTracker::path).collect();
    assert_eq!(
        paths,
        [
            root.join("m1/s1/processed/tracker.yaml"),
            root.join("m1/s2/processed/tracker.yaml"),
            root.join("m2/s3/processed/deep/er/tracker.yaml"),
        ]
    );
    assert_eq!(found[0].summary().unwrap().total, 3);
    assert!(
        found[1].summary().is_err(),
        "the corrupt tracker errors when read, not when found"
    );
    assert!(ProcessingTracker::discover(root, "nothing.yaml").unwrap().is_empty());
    assert!(matches!(
        ProcessingTracker::discover(root.join("absent"), "tracker.yaml"),
        Err(TrackerError::Discover { .. })
    ));
    assert!(matches!(
        ProcessingTracker::discover(root, "tracker.json"),
        Err(TrackerError::File(_))
    ));
}
