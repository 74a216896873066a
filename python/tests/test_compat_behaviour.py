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
ATARAXIS = Path(os.environ.get("SEQRING_ATARAXIS_PYTHON", REPO / ".ataraxis-venv" / "bin" / "python"))
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
