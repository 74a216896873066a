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
