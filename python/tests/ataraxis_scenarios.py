"""Small programs written against the ataraxis-data-structures 7.2.0 API, run by test_compat_behaviour.py once with
``seqring.compat`` and, where the real ataraxis is installed, once with ``ataraxis_data_structures``, so that each
behaviour compat claims to share is checked against the real package.

Usage: ``python ataraxis_scenarios.py MODULE SCENARIO WORKDIR`` prints the scenario's result as one JSON line.
"""

import gc
import importlib
import json
import os
import subprocess
import sys
import warnings
from pathlib import Path

import numpy as np

SCENARIOS = {}


def scenario(f):
    SCENARIOS[f.__name__] = f
    return f


def _error(f):
    """The builtin exception classes ``f()`` raises an instance of (the ones a caller would catch), or None."""
    try:
        f()
    except Exception as e:  # noqa: BLE001
        return sorted(c.__name__ for c in type(e).__mro__ if c.__module__ == "builtins" and c is not object)
    return None


@scenario
def tracker_details(ax, work):
    tracker = ax.ProcessingTracker(file_path=work / "tracker.yaml")
    ids = tracker.initialize_jobs([("a", "1"), ("b", "")])
    out = {"find_all": sorted(tracker.find_jobs().items()) == sorted({ids[0]: ("a", "1"), ids[1]: ("b", "")}.items())}
    out["resolve_empty"] = ax.ProcessingTracker.resolve_status({}).value
    out["resolve_partial"] = ax.ProcessingTracker.resolve_status({"total": 2, "succeeded": 2}).value
    tracker.start_job(ids[0], executor_id="x")
    tracker.fail_job(ids[0], error_message="boom")
    tracker.complete_job(ids[0])
    info = tracker.get_job_info(ids[0])
    out["after_fail_complete"] = [int(info.status), info.error_message]
    info.status = ax.ProcessingStatus.FAILED  # a copy that callers may change
    out["copy_changed_nothing"] = int(tracker.get_job_status(ids[0]))
    try:
        with tracker.run_job(ids[1]):
            raise RuntimeError("simulated failure")
    except RuntimeError:
        pass
    out["run_job_message"] = tracker.get_job_info(ids[1]).error_message
    try:
        with tracker.run_job(ids[1]):
            raise KeyboardInterrupt
    except KeyboardInterrupt:
        pass
    out["interrupted"] = int(tracker.get_job_status(ids[1]))
    return out


@scenario
def executor_ids(ax, work):
    """The executor id start_job records in a child process under each scheduler's environment."""
    tracker = ax.ProcessingTracker(file_path=work / "tracker.yaml")
    (job,) = tracker.initialize_jobs([("job", "")])
    cases = {
        "slurm": {"SLURM_JOB_ID": "987654"},
        "slurm_alias": {"SLURM_JOBID": "555"},
        "pbs": {"PBS_JOBID": "42.headnode"},
        "job_id_alone": {"JOB_ID": "77"},
        "sge": {"JOB_ID": "77", "SGE_ROOT": "/opt/sge"},
        "none": {},
    }
    scheduler_vars = {"SLURM_JOB_ID", "SLURM_JOBID", "PBS_JOBID", "LSB_JOBID", "OAR_JOB_ID", "JOB_ID", "SGE_ROOT",
                      "CCP_JOBID", "AZ_BATCH_JOB_ID", "AWS_BATCH_JOB_ID"}
    out = {}
    for case, variables in cases.items():
        env = {k: v for k, v in os.environ.items() if k not in scheduler_vars}
        env.update(variables)
        child = subprocess.run(
            [sys.executable, "-c", f"import sys, {ax.__name__} as ax; "
             f"import pathlib; ax.ProcessingTracker(file_path=pathlib.Path(sys.argv[1])).start_job(sys.argv[2]); "
             f"import os; print(os.getpid())", str(work / "tracker.yaml"), job],
            env=env, capture_output=True, text=True, check=True,
        )
        recorded = tracker.get_job_info(job).executor_id
        out[case] = recorded.replace(child.stdout.strip(), "<pid>")
    return out


@scenario
def checksum_of_nothing(ax, work):
    (work / "empty").mkdir()
    (work / "only").mkdir()
    (work / "only" / "skip.txt").write_text("x")
    return {
        "empty": _error(lambda: ax.calculate_directory_checksum(work / "empty", save_checksum=False)),
        "only_excluded": _error(lambda: ax.calculate_directory_checksum(
            work / "only", save_checksum=False, excluded_files={"skip.txt"})),
    }


def main():
    module, name, work = sys.argv[1], sys.argv[2], Path(sys.argv[3])
    ax = importlib.import_module(module)
    warnings.simplefilter("ignore")
    result = SCENARIOS[name](ax, work)
    gc.collect()
    print(json.dumps(result, sort_keys=True))


if __name__ == "__main__":
    main()
