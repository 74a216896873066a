"""Behaviour seqring.compat shares with ataraxis-data-structures 7.2.0 (issue 21), each scenario in
ataraxis_scenarios.py run as a real process against seqring.compat and, when the real ataraxis is installed
(``SEQRING_ATARAXIS_PYTHON``, or the virtual environment ``.ataraxis-venv`` at the repository root that
``../shared/reference/ataraxis-env/setup.sh`` makes and tests/run.sh installs), against ataraxis too. The expected
values are written here from ataraxis's documentation and source, not from compat's output."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

SCRIPT = Path(__file__).with_name("ataraxis_scenarios.py")
REPO = Path(__file__).resolve().parents[2]
# A virtual environment keeps its interpreter in bin/ on POSIX and in Scripts\ on Windows.
VENV_PYTHON = ("bin", "python") if os.name == "posix" else ("Scripts", "python.exe")
ATARAXIS = Path(os.environ.get("SEQRING_ATARAXIS_PYTHON", REPO.joinpath(".ataraxis-venv", *VENV_PYTHON)))
STAND_INS = REPO.parent / "shared" / "reference" / "ataraxis-env"

BACKENDS = ["seqring.compat", "ataraxis_data_structures"]


def run(backend, scenario, work):
    if backend == "seqring.compat":
        python = sys.executable
    else:
        if not ATARAXIS.exists():
            pytest.skip(f"the real ataraxis is not installed ({ATARAXIS}); tests/run.sh installs it")
        python = str(ATARAXIS)
    done = subprocess.run(
        [python, str(SCRIPT), backend, scenario, str(work)], capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout.strip().splitlines()[-1])


@pytest.mark.parametrize("backend", BACKENDS)
def test_tracker_details(backend, tmp_path):
    assert run(backend, "tracker_details", tmp_path) == {
        "find_all": True,  # find_jobs() with no argument: every job
        "resolve_empty": "in_progress",  # resolve_status({}): missing counts are 0
        "resolve_partial": "completed",
        "after_fail_complete": [2, None],  # complete_job after fail_job clears the error
        "copy_changed_nothing": 2,  # JobState is a copy the caller may change
        "run_job_message": "simulated failure",  # the message alone
        "interrupted": 1,  # KeyboardInterrupt leaves the job RUNNING
    }


@pytest.mark.parametrize("backend", BACKENDS)
def test_executor_ids(backend, tmp_path):
    assert run(backend, "executor_ids", tmp_path) == {
        "slurm": "slurm:987654",
        "slurm_alias": "slurm:555",
        "pbs": "pbs:42.headnode",
        "job_id_alone": "pid:<pid>",  # JOB_ID counts as Grid Engine only with SGE_ROOT
        "sge": "sge:77",
        "none": "pid:<pid>",
    }


@pytest.mark.parametrize("backend", BACKENDS)
def test_checksum_of_nothing_is_a_value_error(backend, tmp_path):
    result = run(backend, "checksum_of_nothing", tmp_path)
    for case in ("empty", "only_excluded"):
        assert result[case] is not None and "ValueError" in result[case], (case, result[case])


@pytest.mark.parametrize("backend", BACKENDS)
def test_logger_writes_ataraxis_raw_layout(backend, tmp_path):
    result = run(backend, "logger_layout", tmp_path)
    entry = lambda s, t: f"{s:03d}_{t:020d}.npy"  # noqa: E731
    # One .npy per package put; no onset entry for source 2, which put none.
    assert result["raw"] == [entry(1, 0), entry(1, 5), entry(1, 10), entry(1, 20), entry(2, 7), entry(2, 8)]
    assert result["entry"] == [1, *(10).to_bytes(8, "little"), 10, 1]  # [source][time u64 LE][payload]
    assert result["archives"] == ["1_log.npz", "2_log.npz"]
    onset = 1_700_000_000_000_000
    assert result["messages"] == [[onset + 5, [5, 1]], [onset + 10, [10, 1]], [onset + 20, [20, 1]]]
    assert result["dir"] == "rig_data_log"


@pytest.mark.parametrize("backend", BACKENDS)
def test_two_loggers_with_one_name_in_two_directories(backend, tmp_path):
    names = [f"001_{0:020d}.npy", f"001_{5:020d}.npy"]
    assert run(backend, "same_name_two_dirs", tmp_path) == {"a": names, "b": names}


@pytest.mark.parametrize("backend", BACKENDS)
def test_stop_after_the_log_directory_vanished_warns(backend, tmp_path):
    assert run(backend, "stop_after_dir_removed", tmp_path) == {"raised": None, "warned": True, "alive": False}


@pytest.mark.parametrize("backend", BACKENDS)
def test_a_replaced_array_survives_the_old_instances_collection(backend, tmp_path):
    assert run(backend, "replaced_array_survives_collection", tmp_path) == {"child": "3.0"}


@pytest.mark.parametrize("backend", BACKENDS)
def test_the_creator_is_connected_without_auto_connect(backend, tmp_path):
    assert run(backend, "creator_connected_without_auto_connect", tmp_path) == {"connected": True, "value": 1}


@pytest.mark.parametrize("backend", BACKENDS)
def test_zero_dimensional_and_empty_prototypes_raise(backend, tmp_path):
    result = run(backend, "bad_prototypes", tmp_path)
    assert "IndexError" in result["zero_dim"] and "ValueError" in result["empty"], result


@pytest.mark.parametrize("backend", BACKENDS)
def test_fixed_size_dtypes(backend, tmp_path):
    assert run(backend, "fixed_size_dtypes", tmp_path) == {
        "unicode": ["<U3", "str_", True],
        "bytes": ["|S2", "bytes_", True],
        "record": ["[('id', '<i4'), ('value', '<f8')]", "void", True],
    }


def _run_in(backend, scenario, work):
    """``run`` in a given work directory (two scenarios share one, for files one backend writes and another reads)."""
    return run(backend, scenario, work)


@pytest.mark.parametrize("writer", BACKENDS)
@pytest.mark.parametrize("reader", BACKENDS)
def test_yaml_config_files_round_trip_between_backends(writer, reader, tmp_path):
    words = ["yes", "No", "on", "OFF", "y", "~", "null", "1:20", "1_000", "0x1F", "2024-01-01", "007", ".5", "",
             " padded", "a: b", "# c", "line\nbreak", "é", "plain/path-ok_1.2"]
    written = _run_in(writer, "yaml_config_write", tmp_path)
    # What PyYAML (ataraxis's reader) sees: Paths as strings, enums as values, tuples as lists, every tricky string
    # still the string (YAML 1.1 reads a plain `yes` as True and `1:20` as 80), the float still a float, the
    # excluded field absent.
    assert written["raw"] == {
        "name": "rig-1", "output": "/data/rig", "color": "blue", "maybe": "/m", "gains": [1.5, 2.0],
        "paths": ["/a", "/b"], "by_path": {"/k": 3}, "words": words, "big": 1e20,
        "inner": {"path": "/inner", "color": "blue"},
    }
    assert written["framed"] == [True, True]
    assert "ValueError" in written["bad_suffix"]
    loaded = _run_in(reader, "yaml_config_read", tmp_path)
    assert loaded == {
        "name": "rig-1", "output": ["Path", "/data/rig"], "color": ["_Color", "blue"], "maybe": "/m",
        "gains": ["tuple", [1.5, 2.0]], "paths": ["Path", "Path"], "by_path": [["Path", "/k", 3]], "words": words,
        "big": 1e20, "inner": ["/inner", "blue"], "home": str(tmp_path),  # restore_excluded_fields supplied it
        "missing": loaded["missing"], "bad_suffix": loaded["bad_suffix"],
    }
    assert "FileNotFoundError" in loaded["missing"] and "ValueError" in loaded["bad_suffix"]


@pytest.mark.parametrize("backend", BACKENDS)
def test_processing_tools(backend, tmp_path):
    result = run(backend, "processing_tools", tmp_path)
    raises = {k: result.pop(k) for k in ("dirty", "missing_source", "link_inside", "nothing_to_verify", "bad_levels",
                                          "no_names", "empty", "bad_threads")}
    assert "RuntimeError" in raises["dirty"]  # a destination holding files the source does not account for
    assert "FileNotFoundError" in raises["missing_source"]
    assert "RuntimeError" in raises["link_inside"]  # links are refused, not copied
    assert "RuntimeError" in raises["nothing_to_verify"]
    for key in ("bad_levels", "no_names", "empty", "bad_threads"):
        assert "ValueError" in raises[key], (key, raises[key])
    assert result == {
        "copied": ["a.txt", "ax_checksum.txt", "sub/b.bin"],  # the verified copy carries the source's checksum
        "reset_and_removed": [False, False],  # the stray file deleted, the source removed
        "kept_after_refusal": True,  # a refused transfer touches nothing, the reset included
        "stale": True,  # a reused checksum older than the source is named as a possible cause
        "deleted": False,
        "link_deleted_target_kept": [False, True],  # a link is unlinked, never followed
        "markers": ["m1/s1/raw/marker.yaml", "m1/s2/raw/marker.yaml", "m2/s3/raw/marker.yaml"],
        "roots": ["m1/s1", "m1/s2", "m2/s3"],
        "index": {"marker.yaml": ["tuple", []], "none": ["tuple", []], "tracker.yaml": ["tuple", ["m1/tracker.yaml"]]},
        "unique": ["/d/m1/s1", "/d/m1/s2", "/d/s3"],
        "atomic": ["two", True],  # a replaced file gets the default permission bits back
        "atomic_after_raise": ["two", ["doc.txt"]],  # a body that raises leaves the old file and no temporary
        "direct": [1, 2],
        "linear": [0.0, 0.5, 2.5, 4.0],  # numpy.interp, clamped at both ends
        "discrete": ["uint8", [7, 8, 8, 9]],  # the last value at or left of each target, in the values' dtype
        "threads": ["2", "4"],  # resizable backends at thread_count, import-latched ones at the maximum
        "threads_after": None,  # restored (unset) on exit
    }


@pytest.mark.parametrize("backend", BACKENDS)
def test_tracker_to_yaml(backend, tmp_path):
    assert run(backend, "tracker_yaml", tmp_path) == {"file": "copy.yaml", "statuses": [1, 0], "restored": "t.yaml"}


@pytest.mark.parametrize("backend", BACKENDS)
def test_archive_batches_and_discovery(backend, tmp_path):
    result = run(backend, "archive_batches", tmp_path)
    # 2500 messages (over the 2000 threshold), 2 workers × 4: batches of ceil(2500 / 8) = 313 keys.
    assert result["sizes"] == [313] * 7 + [2500 - 7 * 313]
    assert result["first_key"] == f"003_{1:020d}"
    assert result["count"] == result["probe"] == 2500
    assert result["second_batch_first"] == [314, [314 % 256]]
    assert result["found"] == "3_log.npz" and result["discovered"] == {"3": "3_log.npz"}
