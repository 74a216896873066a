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


def _package(ax, source, time_us, payload):
    return ax.LogPackage(np.uint8(source), np.uint64(time_us), np.frombuffer(bytes(payload), dtype=np.uint8))


def _onset(ax, source, onset_us):
    return _package(ax, source, 0, np.uint64(onset_us).astype("<u8").tobytes())


@scenario
def logger_layout(ax, work):
    """The raw log directory and the archives of a run: source 1 logs its onset and 3 messages, source 2 logs 2
    messages and no onset."""
    logger = ax.DataLogger(output_directory=work, instance_name="rig")
    logger.start()
    queue = logger.input_queue
    queue.put(_onset(ax, 1, 1_700_000_000_000_000))
    for t in (5, 10, 20):
        queue.put(_package(ax, 1, t, [t, 1]))
    for t in (7, 8):
        queue.put(_package(ax, 2, t, [t]))
    logger.stop()
    raw = sorted(p.name for p in logger.output_directory.iterdir())
    entry = np.load(logger.output_directory / f"001_{10:020d}.npy")
    ax.assemble_log_archives(log_directory=logger.output_directory, remove_sources=True)
    archives = sorted(p.name for p in logger.output_directory.iterdir())
    reader = ax.LogArchiveReader(archive_path=logger.output_directory / "1_log.npz")
    messages = [(int(m.timestamp_us), m.payload.tolist()) for m in reader.iter_messages()]
    return {"raw": raw, "entry": entry.tolist(), "archives": archives, "messages": messages,
            "dir": logger.output_directory.name}


@scenario
def same_name_two_dirs(ax, work):
    loggers = [ax.DataLogger(output_directory=work / d, instance_name="rig") for d in ("a", "b")]
    for logger in loggers:
        logger.start()
    for i, logger in enumerate(loggers):
        logger.input_queue.put(_onset(ax, 1, 1_000 + i))
        logger.input_queue.put(_package(ax, 1, 5, [i]))
    # The later one first: ataraxis's second start replaced the first's terminator array (created under the instance
    # name with exists_ok), and stopping the first one first hangs in ataraxis 7.2.0.
    for logger in reversed(loggers):
        logger.stop()
    return {d: sorted(p.name for p in (work / d / "rig_data_log").iterdir()) for d in ("a", "b")}


@scenario
def stop_after_dir_removed(ax, work):
    import shutil

    echoed = []
    try:
        from ataraxis_base_utilities import console

        console.echo = lambda message, level=None: echoed.append(message)
    except ImportError:
        pass
    logger = ax.DataLogger(output_directory=work, instance_name="rig")
    logger.start()
    shutil.rmtree(logger.output_directory)
    logger.input_queue.put(_onset(ax, 1, 1_000))
    logger.input_queue.put(_package(ax, 1, 5, [1]))
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            logger.stop()
            raised = None
        except Exception as e:  # noqa: BLE001
            raised = type(e).__name__
    return {"raised": raised, "warned": bool(echoed or caught), "alive": logger.alive}


@scenario
def replaced_array_survives_collection(ax, work):
    name = f"scn-replace-{os.getpid()}"
    old = ax.SharedMemoryArray.create_array(name=name, prototype=np.zeros(2))
    new = ax.SharedMemoryArray.create_array(name=name, prototype=np.ones(3), exists_ok=True)
    del old
    gc.collect()
    child = subprocess.run(
        [sys.executable, "-c", f"import sys, numpy as np, {ax.__name__} as ax; "
         f"a = ax.SharedMemoryArray(name=sys.argv[1], shape=(3,), datatype=np.dtype('<f8'), buffer=None); "
         f"a.connect(); print(float(a[:].sum())); a.disconnect()", name],
        capture_output=True, text=True,
    )
    new.destroy()
    return {"child": child.stdout.strip() or child.stderr.strip().splitlines()[-1].split(":")[0]}


@scenario
def creator_connected_without_auto_connect(ax, work):
    a = ax.SharedMemoryArray.create_array(name=f"scn-auto-{os.getpid()}", prototype=np.arange(3), auto_connect=False)
    out = {"connected": a.is_connected, "value": int(a[1])}
    a.destroy()
    return out


@scenario
def bad_prototypes(ax, work):
    return {
        "zero_dim": _error(lambda: ax.SharedMemoryArray.create_array(name=f"scn-0d-{os.getpid()}",
                                                                     prototype=np.array(5, dtype=np.uint8))),
        "empty": _error(lambda: ax.SharedMemoryArray.create_array(name=f"scn-empty-{os.getpid()}",
                                                                  prototype=np.array([], dtype=np.float64))),
    }


@scenario
def fixed_size_dtypes(ax, work):
    out = {}
    prototypes = {
        "unicode": np.array(["a", "bc", "def"], dtype="<U3"),
        "bytes": np.array([b"ab", b"c", b""], dtype="S2"),
        "record": np.array([(1, 2.5), (3, -1.0)], dtype=[("id", "<i4"), ("value", "<f8")]),
    }
    for key, prototype in prototypes.items():
        a = ax.SharedMemoryArray.create_array(name=f"scn-{key}-{os.getpid()}", prototype=prototype)
        a[0] = prototype[-1]
        expected = prototype.copy()
        expected[0] = prototype[-1]
        out[key] = [str(a.datatype), type(a[1]).__name__, a[:].tolist() == expected.tolist()]
        a.destroy()
    return out


def main():
    module, name, work = sys.argv[1], sys.argv[2], Path(sys.argv[3])
    ax = importlib.import_module(module)
    warnings.simplefilter("ignore")
    result = SCENARIOS[name](ax, work)
    gc.collect()
    print(json.dumps(result, sort_keys=True))


if __name__ == "__main__":
    main()
