"""seqring.compat's tracker and checksum: ataraxis 7.2.0's signatures (read from the reference file of the installed
package), an ataraxis-style tracker program whose file has the layout ataraxis wrote, and the directory checksum."""

import inspect
import os
import re
import shutil
from pathlib import Path

import pytest
import yaml

import seqring
from seqring.compat.tracker import (
    JobState,
    ProcessingStatus,
    ProcessingTracker,
    TrackerStatus,
    calculate_directory_checksum,
)

REFERENCE = Path(
    os.environ.get(
        "SEQRING_REFERENCE",
        Path(__file__).resolve().parents[3] / "shared" / "reference" / "ataraxis-7.2.0-signatures.txt",
    )
)


def reference_signatures():
    """{'ProcessingTracker.start_job': ['job_id', 'executor_id'], 'calculate_directory_checksum': [...], ...}"""
    if not REFERENCE.is_file():
        pytest.fail(f"the ataraxis signature reference is missing: {REFERENCE}")
    out, cls = {}, None
    for line in REFERENCE.read_text().splitlines():
        if m := re.match(r"class (\w+)\(", line):
            cls = m.group(1)
        elif m := re.match(r"def (\w+)\((.*)\)", line):
            cls = None
            out[m.group(1)] = m.group(2)
        elif cls and (m := re.match(r"\s+(?:classmethod |staticmethod )?def (\w+)\((.*)\)", line)):
            out[f"{cls}.{m.group(1)}"] = m.group(2)
        elif cls and (m := re.match(r"\s+property (\w+)", line)):
            out[f"{cls}.{m.group(1)}"] = None
    return out


def parameter_names(text):
    """Parameter names of a signature's text, with '*' kept (keyword-only marker) and self/cls dropped."""
    names = []
    for part in re.split(r",\s*(?![^\[]*\])", text):
        name = part.split(":")[0].split("=")[0].strip()
        if name and name not in ("self", "cls"):
            names.append(name)
    return names


def signature_names(func):
    sig = inspect.signature(func)
    names, star = [], False
    for p in sig.parameters.values():
        if p.name in ("self", "cls"):
            continue
        if p.kind is p.KEYWORD_ONLY and not star:
            names.append("*")
            star = True
        names.append(p.name)
    return names


def test_signatures_are_ataraxis(fixtures):
    ref = reference_signatures()
    methods = {k.split(".", 1)[1]: v for k, v in ref.items() if k.startswith("ProcessingTracker.")}
    # Dataclass and YAML-serialisation internals of ataraxis's class (the constructor is checked below).
    skipped = {"__init__", "__post_init__", "__repr__", "restore_excluded_fields"}
    assert "start_job" in methods and "run_job" in methods
    for name, text in methods.items():
        if name in skipped:
            continue
        assert hasattr(ProcessingTracker, name), name
        if text is None:
            continue
        assert signature_names(getattr(ProcessingTracker, name)) == parameter_names(text), name
    assert signature_names(ProcessingTracker)[:2] == ["file_path", "jobs"]
    assert signature_names(calculate_directory_checksum) == parameter_names(ref["calculate_directory_checksum"])
    assert [s.name for s in ProcessingStatus] == ["SCHEDULED", "RUNNING", "SUCCEEDED", "FAILED"]
    assert [f for f in inspect.signature(JobState).parameters] == parameter_names(ref["JobState.__init__"])
    assert re.search(r"enum TrackerStatus: NOT_STARTED='not_started', IN_PROGRESS='in_progress', "
                     r"PROCESSING='processing', COMPLETED='completed', FAILED='failed'", REFERENCE.read_text())
    assert [(s.name, s.value) for s in TrackerStatus] == [
        ("NOT_STARTED", "not_started"), ("IN_PROGRESS", "in_progress"), ("PROCESSING", "processing"),
        ("COMPLETED", "completed"), ("FAILED", "failed")]


def complete_in_child(tracker, job_id):
    with tracker.run_job(job_id, executor_id="child"):
        pass


def test_an_ataraxis_tracker_program_writes_what_ataraxis_wrote(fixtures, tmp_path, children):
    # The steps that made the fixture (its README): initialize 3 jobs; start + complete process_data:batch_101
    # (executor 12345); start + fail process_data:batch_102 ("disk full", executor resolved automatically).
    tracker = ProcessingTracker(file_path=tmp_path / "tracker.yaml")
    ids = tracker.initialize_jobs([("process_data", "batch_101"), ("process_data", "batch_102"), ("assemble", "")])
    tracker.start_job(ids[0], executor_id="12345")
    tracker.complete_job(ids[0])
    tracker.start_job(ids[1])
    tracker.fail_job(ids[1], error_message="disk full")
    ours = yaml.safe_load(tracker.file_path.read_text())
    theirs = yaml.safe_load((fixtures / "tracker" / "tracker.yaml").read_text())
    assert list(ours) == list(theirs) == ["jobs"]
    assert list(ours["jobs"]) == list(theirs["jobs"]), "the same ids in the same order"
    for job_id, job in theirs["jobs"].items():
        mine = ours["jobs"][job_id]
        assert list(mine) == list(job), "the same fields in the same order"
        for key in ("job_name", "specifier", "status", "error_message"):
            assert mine[key] == job[key], (job_id, key)
        for key in ("started_at", "completed_at"):
            assert type(mine[key]) is type(job[key]), (job_id, key)
    assert ours["jobs"][ids[0]]["executor_id"] == "12345"
    assert ours["jobs"][ids[1]]["executor_id"].startswith("pid:") == theirs["jobs"][ids[1]]["executor_id"].startswith(
        "pid:")
    assert tracker.file_path.read_text().startswith("---\n") and tracker.file_path.read_text().endswith("...\n")
    assert tracker.lock_path == str(tracker.file_path) + ".lock"
    # ataraxis's file, read through the compat class.
    copy = tmp_path / "ataraxis.yaml"
    shutil.copyfile(fixtures / "tracker" / "tracker.yaml", copy)
    theirs_tracker = ProcessingTracker.from_yaml(copy)
    assert theirs_tracker.get_job_info(ids[1]) == JobState(
        "process_data", "batch_102", ProcessingStatus.FAILED, theirs["jobs"][ids[1]]["executor_id"], "disk full",
        theirs["jobs"][ids[1]]["started_at"], theirs["jobs"][ids[1]]["completed_at"])
    assert theirs_tracker.summarize()["status"] == TrackerStatus.FAILED
    # A tracker handed to a child process (spawn) works there on the same file.
    children.start(complete_in_child, tracker, ids[2])
    children.join_ok()
    assert tracker.get_job_info(ids[2]).executor_id == "child"
    assert tracker.get_job_status(ids[2]) == ProcessingStatus.SUCCEEDED


def test_jobs_argument_must_be_empty(tmp_path):
    assert ProcessingTracker(tmp_path / "t.yaml", jobs={}).jobs == {}
    with pytest.raises(seqring.TrackerError):
        ProcessingTracker(tmp_path / "t.yaml", jobs={"x": JobState("x")})


def test_calculate_directory_checksum(fixtures, tmp_path):
    expected = (fixtures / "checksum_expected.txt").read_text().strip()
    tree = fixtures / "checksum_tree"
    assert calculate_directory_checksum(tree, save_checksum=False) == expected
    assert calculate_directory_checksum(str(tree), 1, progress=True, save_checksum=False) == expected
    copy = tmp_path / "tree"
    shutil.copytree(tree, copy, copy_function=shutil.copyfile)
    (copy / "ax_checksum.txt").unlink()
    assert calculate_directory_checksum(copy) == expected
    assert (copy / "ax_checksum.txt").read_text() == expected
    changed = calculate_directory_checksum(copy, save_checksum=False, excluded_files=set())
    assert changed != expected, "an empty excluded set includes ax_checksum.txt"
    assert calculate_directory_checksum(copy, save_checksum=False, excluded_files={"ax_checksum.txt", "a.bin"}) != \
        expected
    with pytest.raises(FileNotFoundError):
        calculate_directory_checksum(tmp_path / "missing")
