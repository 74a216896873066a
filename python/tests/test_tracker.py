"""ProcessingTracker: the job actions, ataraxis's tracker file read and kept in its format, and two processes (spawn)
updating one tracker file at once."""

import json
import os
import pickle
import shutil

import filelock
import pytest
import yaml

import seqring
from seqring import JobState, ProcessingStatus, ProcessingTracker, TrackerStatus


@pytest.fixture
def tracker(tmp_path):
    return ProcessingTracker(tmp_path / "tracker.yaml")


@pytest.fixture
def ataraxis_tracker(fixtures, tmp_path):
    """A copy of the tracker file ataraxis 7.2.0 wrote, and that file parsed by PyYAML."""
    path = tmp_path / "tracker.yaml"
    shutil.copyfile(fixtures / "tracker" / "tracker.yaml", path)
    return ProcessingTracker(path), yaml.safe_load(path.read_text())["jobs"]


def test_statuses_have_ataraxis_codes():
    assert [(s.name, int(s)) for s in ProcessingStatus] == [
        ("SCHEDULED", 0), ("RUNNING", 1), ("SUCCEEDED", 2), ("FAILED", 3)]
    assert [s.value for s in TrackerStatus] == ["not_started", "in_progress", "processing", "completed", "failed"]


def test_job_ids_are_ataraxis_ids(fixtures):
    ids = json.loads((fixtures / "tracker" / "job_ids.json").read_text())
    assert len(ids) >= 6
    for pair, expected in ids.items():
        name, specifier = pair.split(":", 1)
        assert ProcessingTracker.generate_job_id(name, specifier) == expected, pair
    assert ProcessingTracker.generate_job_id("job") == ids["job:"]


def test_reads_the_tracker_ataraxis_wrote(ataraxis_tracker):
    tracker, raw = ataraxis_tracker
    snapshot = tracker.snapshot()
    assert list(snapshot) == list(raw), "file order is kept"
    for job_id, fields in raw.items():
        info = tracker.get_job_info(job_id)
        assert info == snapshot[job_id] == JobState(**{**fields, "status": ProcessingStatus(fields["status"])})
        assert tracker.get_job_status(job_id) == fields["status"]
        assert ProcessingTracker.generate_job_id(info.job_name, info.specifier) == job_id
    done = tracker.get_job_info("e30d3e55fffe8b95")
    assert (done.job_name, done.specifier, done.status, done.executor_id) == (
        "process_data", "batch_101", ProcessingStatus.SUCCEEDED, "12345")
    failed = tracker.get_job_info("ed2dd590ec7fa6b4")
    assert (failed.status, failed.error_message) == (ProcessingStatus.FAILED, "disk full")
    assert tracker.get_summary() == {ProcessingStatus.SCHEDULED: 1, ProcessingStatus.RUNNING: 0,
                                     ProcessingStatus.SUCCEEDED: 1, ProcessingStatus.FAILED: 1}
    summary = tracker.summarize()
    assert summary["summary"] == {"total": 3, "succeeded": 1, "failed": 1, "running": 0, "scheduled": 1}
    assert summary["status"] == TrackerStatus.FAILED == "failed"
    assert [j["job_id"] for j in summary["jobs"]] == list(raw)
    assert summary["jobs"][1]["error_message"] == "disk full" and "error_message" not in summary["jobs"][0]
    assert summary["jobs"][0]["status"] == "SUCCEEDED"
    assert tracker.encountered_error and not tracker.complete


def test_changes_keep_ataraxis_format(ataraxis_tracker):
    tracker, raw = ataraxis_tracker
    tracker.start_job("bd9a67a77aac40c5", executor_id="node7")
    text = tracker.file_path.read_text()
    assert text.startswith("---\n") and text.endswith("...\n")
    after = yaml.safe_load(text)["jobs"]
    assert after["e30d3e55fffe8b95"] == raw["e30d3e55fffe8b95"]
    assert after["ed2dd590ec7fa6b4"] == raw["ed2dd590ec7fa6b4"]
    assert after["bd9a67a77aac40c5"]["status"] == 1 and after["bd9a67a77aac40c5"]["executor_id"] == "node7"
    assert isinstance(after["bd9a67a77aac40c5"]["started_at"], int)


def test_job_lifecycle(tracker):
    assert tracker.get_summary()[ProcessingStatus.SCHEDULED] == 0 and not tracker.file_path.exists()
    assert tracker.summarize()["status"] == TrackerStatus.IN_PROGRESS
    ids = tracker.initialize_jobs([("process", "b1"), ("process", "b2"), ("merge", "")])
    assert ids == [ProcessingTracker.generate_job_id(n, s) for n, s in [("process", "b1"), ("process", "b2"),
                                                                         ("merge", "")]]
    assert tracker.summarize()["status"] == TrackerStatus.NOT_STARTED
    tracker.start_job(ids[0], "exec-1")
    info = tracker.get_job_info(ids[0])
    assert info.status == ProcessingStatus.RUNNING and info.executor_id == "exec-1" and info.started_at > 1.6e15
    assert tracker.initialize_jobs([("process", "b1")]) == [ids[0]]
    assert tracker.get_job_status(ids[0]) == ProcessingStatus.RUNNING, "re-initializing keeps the state"
    assert tracker.summarize()["status"] == TrackerStatus.PROCESSING
    tracker.complete_job(ids[0])
    tracker.start_job(ids[1])
    if not any(v in os.environ for v in ("SLURM_JOB_ID", "SLURM_ARRAY_JOB_ID", "PBS_JOBID", "LSB_JOBID", "JOB_ID")):
        assert tracker.get_job_info(ids[1]).executor_id == f"pid:{os.getpid()}"
    tracker.fail_job(ids[1], "bad input")
    info = tracker.get_job_info(ids[1])
    assert info.status == ProcessingStatus.FAILED and info.error_message == "bad input"
    assert info.completed_at >= info.started_at
    info.status = ProcessingStatus.SCHEDULED  # a copy: changing it changes nothing in the tracker
    assert tracker.get_job_info(ids[1]).status == ProcessingStatus.FAILED
    for status in (ProcessingStatus.FAILED, 3, "FAILED", "failed"):
        assert tracker.get_jobs_by_status(status) == [ids[1]]
    assert tracker.get_jobs_by_status("scheduled") == [ids[2]]
    assert tracker.find_jobs(job_name="process") == {ids[0]: ("process", "b1"), ids[1]: ("process", "b2")}
    assert tracker.find_jobs(specifier="2") == {ids[1]: ("process", "b2")}
    assert tracker.find_jobs(job_name="zzz") == {}
    assert tracker.encountered_error and not tracker.complete
    assert tracker.retry_failed_jobs() == [ids[1]]
    assert tracker.get_job_info(ids[1]) == JobState("process", "b2")
    assert tracker.reset_jobs([ids[0]]) == [ids[0]]
    assert tracker.get_job_info(ids[0]) == JobState("process", "b1")
    for i in ids:
        tracker.start_job(i)
        tracker.complete_job(i)
    assert tracker.complete and tracker.summarize()["status"] == TrackerStatus.COMPLETED
    assert set(tracker.jobs) == set(ids)
    tracker.reset()
    assert tracker.snapshot() == {}


def test_run_job_completes_or_fails(tracker):
    ok, bad = tracker.initialize_jobs([("a", "1"), ("a", "2")])
    with tracker.run_job(ok, executor_id="me"):
        assert tracker.get_job_status(ok) == ProcessingStatus.RUNNING
    with pytest.raises(KeyError):
        with tracker.run_job(bad):
            raise KeyError("missing column")
    assert tracker.get_job_info(ok).status == ProcessingStatus.SUCCEEDED
    assert tracker.get_job_info(ok).executor_id == "me"
    failed = tracker.get_job_info(bad)
    # ataraxis records str(exception) alone (for a KeyError, its repr-quoted key).
    assert failed.status == ProcessingStatus.FAILED and failed.error_message == "'missing column'"


def test_align_and_resolve(tracker):
    universe = [("extract", "s1"), ("extract", "s2"), ("merge", "")]
    first = tracker.align_jobs([("extract", "s1")], universe)
    tracker.complete_job(first[0])
    second = tracker.align_jobs([("extract", "s2"), ("merge", "")], universe)
    assert tracker.get_job_status(first[0]) == ProcessingStatus.SUCCEEDED
    assert list(tracker.snapshot()) == first + second
    assert tracker.resolve_job(second[1], universe) == ("merge", "")
    with pytest.raises(seqring.TrackerError):
        tracker.resolve_job("0000000000000000", universe)
    with pytest.raises(ValueError) as e:
        tracker.align_jobs([("other", "")], universe)
    assert "other" in str(e.value)
    # A narrower universe discards the entries outside it.
    assert tracker.align_jobs([("merge", "")]) == [second[1]]
    assert list(tracker.snapshot()) == [second[1]]


def test_resolve_status():
    def status(**counts):
        return ProcessingTracker.resolve_status({"total": sum(counts.values()), "succeeded": 0, "failed": 0,
                                                 "running": 0, "scheduled": 0, **counts})

    assert status(failed=1, running=3) == TrackerStatus.FAILED
    assert status(succeeded=2) == TrackerStatus.COMPLETED
    assert status(running=1, succeeded=1) == TrackerStatus.PROCESSING
    assert status(scheduled=2) == TrackerStatus.NOT_STARTED
    assert status(scheduled=1, succeeded=1) == TrackerStatus.IN_PROGRESS
    assert status() == TrackerStatus.IN_PROGRESS
    # A missing count counts as 0 (ataraxis's summary.get(key, 0)).
    assert ProcessingTracker.resolve_status({}) == TrackerStatus.IN_PROGRESS
    assert ProcessingTracker.resolve_status({"total": 2, "succeeded": 2}) == TrackerStatus.COMPLETED
    assert ProcessingTracker.resolve_status({"total": 1}) == TrackerStatus.IN_PROGRESS
    assert ProcessingTracker.resolve_status({"failed": 1}) == TrackerStatus.FAILED


def test_discover(tmp_path):
    for session in ("s2", "s1/deep"):
        ProcessingTracker(tmp_path / session / "tracker.yaml").initialize_jobs([("x", "")])
    (tmp_path / "other.yaml").write_text("jobs: {}\n")
    found = ProcessingTracker.discover(tmp_path, "tracker.yaml")
    assert [t.file_path for t in found] == [tmp_path / "s1/deep/tracker.yaml", tmp_path / "s2/tracker.yaml"]
    with pytest.raises(FileNotFoundError):
        ProcessingTracker.discover(tmp_path / "missing", "tracker.yaml")


def test_bad_input(tracker, tmp_path):
    with pytest.raises(seqring.TrackerError) as e:
        tracker.start_job("0123456789abcdef")
    assert isinstance(e.value, ValueError) and "0123456789abcdef" in str(e.value) and "tracker.yaml" in str(e.value)
    assert not tracker.file_path.exists(), "a failed change writes nothing"
    for bad in ([("a:b", "")], [("", "x")], [("a", "b:c")]):
        with pytest.raises(seqring.TrackerError):
            tracker.initialize_jobs(bad)
    with pytest.raises(seqring.TrackerError):
        tracker.get_jobs_by_status("bogus")
    with pytest.raises(seqring.TrackerError):
        tracker.get_jobs_by_status(7)
    with pytest.raises(ValueError):
        ProcessingTracker(tmp_path / "tracker.json")
    for timeout in (-1.0, float("nan")):
        with pytest.raises(seqring.TrackerError):
            ProcessingTracker(tmp_path / "t.yaml", timeout=timeout)
    tracker.initialize_jobs([("a", "")])
    with pytest.raises(seqring.TrackerError):
        tracker.reset_jobs(["0123456789abcdef"])
    with pytest.raises(seqring.TrackerError):
        tracker.initialize_jobs([("a",)])
    with pytest.raises(TypeError):
        tracker.initialize_jobs([(1, "")])
    corrupt = ProcessingTracker(tmp_path / "corrupt.yaml")
    corrupt.file_path.write_text("jobs:\n  a:\n    job_name: x\n    status: 9\n")
    with pytest.raises(seqring.TrackerError) as e:
        corrupt.get_summary()
    assert "corrupt.yaml" in str(e.value)
    corrupt.reset()
    assert corrupt.snapshot() == {}


def test_a_held_lock_times_out(tracker):
    ids = tracker.initialize_jobs([("a", "")])
    short = ProcessingTracker(tracker.file_path, timeout=0.2)
    assert short.timeout == 0.2 and short.lock_path == str(tracker.file_path) + ".lock"
    # Python's filelock takes the same flock ataraxis takes.
    with filelock.FileLock(short.lock_path):
        with pytest.raises(seqring.SeqringTimeoutError) as e:
            short.complete_job(ids[0])
    assert isinstance(e.value, TimeoutError) and ".lock" in str(e.value)
    short.complete_job(ids[0])
    assert tracker.get_job_status(ids[0]) == ProcessingStatus.SUCCEEDED


def test_pickles_as_its_path(tracker):
    copy = pickle.loads(pickle.dumps(tracker))
    assert copy == tracker and copy.file_path == tracker.file_path and copy.timeout == tracker.timeout


JOBS_PER_PROCESS = 25


def work_through(tracker, worker, ids, barrier):
    barrier.wait()
    for i, job_id in enumerate(ids):
        tracker.start_job(job_id, executor_id=f"worker-{worker}")
        if i % 5 == 4:
            tracker.fail_job(job_id, f"failure {i} of worker {worker}")
        else:
            tracker.complete_job(job_id)


def ataraxis_style_writer(path, job_ids, barrier):
    """Changes jobs as ataraxis does: PyYAML read-modify-write of the file under filelock's lock on {file}.lock."""
    barrier.wait()
    for job_id in job_ids:
        with filelock.FileLock(str(path) + ".lock"):
            with open(path) as f:
                data = yaml.safe_load(f)
            data["jobs"][job_id]["status"] = 2
            data["jobs"][job_id]["executor_id"] = "ataraxis"
            with open(path, "w") as f:
                yaml.safe_dump(data, f, explicit_start=True, explicit_end=True, sort_keys=False)


def test_processes_update_one_tracker_without_losing_an_update(tracker, children):
    jobs = [(f"job{w}", str(i)) for w in range(3) for i in range(JOBS_PER_PROCESS)]
    ids = tracker.initialize_jobs(jobs)
    parts = [ids[w * JOBS_PER_PROCESS:(w + 1) * JOBS_PER_PROCESS] for w in range(3)]
    barrier = children.ctx.Barrier(3)
    for w in range(2):
        children.start(work_through, tracker, w, parts[w], barrier)
    children.start(ataraxis_style_writer, tracker.file_path, parts[2], barrier)
    children.join_ok()
    snapshot = tracker.snapshot()
    assert list(snapshot) == ids
    for w in range(2):
        for i, job_id in enumerate(parts[w]):
            job = snapshot[job_id]
            assert job.executor_id == f"worker-{w}"
            if i % 5 == 4:
                assert (job.status, job.error_message) == (ProcessingStatus.FAILED, f"failure {i} of worker {w}")
            else:
                assert job.status == ProcessingStatus.SUCCEEDED and job.completed_at >= job.started_at
    assert all(snapshot[j].status == ProcessingStatus.SUCCEEDED and snapshot[j].executor_id == "ataraxis"
               for j in parts[2])
    counts = tracker.summarize()["summary"]
    assert counts == {"total": 75, "succeeded": 65, "failed": 10, "running": 0, "scheduled": 0}
