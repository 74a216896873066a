"""Small programs written against the ataraxis-data-structures 7.2.0 API, run by test_compat_behaviour.py once with
``seqring.compat`` and, where the real ataraxis is installed, once with ``ataraxis_data_structures``, so that each
behaviour compat claims to share is checked against the real package.

Usage: ``python ataraxis_scenarios.py MODULE SCENARIO WORKDIR`` prints the scenario's result as one JSON line.
"""

import dataclasses
import enum
import gc
import importlib
import json
import os
import subprocess
import sys
import warnings
from pathlib import Path
from typing import Dict, List, Optional, Tuple

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


class _Color(str, enum.Enum):
    RED = "red"
    BLUE = "blue"


def _config_classes(ax):
    """Dataclasses deriving from the backend's YamlConfig, as an ataraxis program declares them."""

    @dataclasses.dataclass
    class Inner:
        path: Path = Path("/data")
        color: _Color = _Color.RED

    @dataclasses.dataclass
    class Rig(ax.YamlConfig):
        name: str = "rig"
        output: Path = Path("/data/out")
        color: _Color = _Color.RED
        maybe: Optional[Path] = None
        gains: Tuple[float, ...] = ()
        paths: List[Path] = dataclasses.field(default_factory=list)
        by_path: Dict[Path, int] = dataclasses.field(default_factory=dict)
        words: List[str] = dataclasses.field(default_factory=list)
        big: float = 0.0
        inner: Inner = dataclasses.field(default_factory=Inner)
        home: Path = dataclasses.field(default=Path("/unset"), metadata=ax.YAML_EXCLUDE_METADATA)

        @classmethod
        def restore_excluded_fields(cls, data, file_path):
            return {**data, "home": file_path.parent}

    return Rig, Inner


#: Strings a YAML 1.1 reader (PyYAML) reads as other types when they are written plain.
TRICKY_WORDS = ["yes", "No", "on", "OFF", "y", "~", "null", "1:20", "1_000", "0x1F", "2024-01-01", "007", ".5", "",
                " padded", "a: b", "# c", "line\nbreak", "é", "plain/path-ok_1.2"]


@scenario
def yaml_config_write(ax, work):
    """Writes a config whose fields need conversions (and strings YAML 1.1 would misread); returns what PyYAML reads."""
    import yaml

    Rig, Inner = _config_classes(ax)
    rig = Rig(name="rig-1", output=Path("/data/rig"), color=_Color.BLUE, maybe=Path("/m"), gains=(1.5, 2.0),
              paths=[Path("/a"), Path("/b")], by_path={Path("/k"): 3}, words=TRICKY_WORDS, big=1e20,
              inner=Inner(path=Path("/inner"), color=_Color.BLUE))
    rig.to_yaml(work / "rig.yaml")
    text = (work / "rig.yaml").read_text(encoding="utf-8")
    return {"raw": yaml.safe_load(text), "framed": [text.startswith("---"), text.rstrip().endswith("...")],
            "bad_suffix": _error(lambda: rig.to_yaml(work / "rig.json"))}


@scenario
def yaml_config_read(ax, work):
    """Reads the file yaml_config_write wrote (with either backend); returns the loaded fields and their types."""
    Rig, _ = _config_classes(ax)
    rig = Rig.from_yaml(work / "rig.yaml")

    def kind(path):  # the same on every platform: Path for PosixPath and WindowsPath
        return type(path).__name__.replace("Posix", "").replace("Windows", "")

    return {
        "name": rig.name, "output": [kind(rig.output), rig.output.as_posix()],
        "color": [type(rig.color).__name__, rig.color.value], "maybe": rig.maybe.as_posix(),
        "gains": [type(rig.gains).__name__, list(rig.gains)], "paths": [kind(p) for p in rig.paths],
        "by_path": [[kind(k), k.as_posix(), v] for k, v in rig.by_path.items()],
        "words": rig.words, "big": rig.big, "inner": [rig.inner.path.as_posix(), rig.inner.color.value],
        "home": str(rig.home), "missing": _error(lambda: Rig.from_yaml(work / "absent.yaml")),
        "bad_suffix": _error(lambda: Rig.from_yaml(work / "rig.txt")),
    }


@scenario
def processing_tools(ax, work):
    """Transfer, delete, markers, writes and interpolation, each result as ataraxis documents it."""
    out = {}
    src = work / "src"
    (src / "sub").mkdir(parents=True)
    (src / "a.txt").write_text("a")
    (src / "sub" / "b.bin").write_bytes(b"\x00\x01")
    ax.transfer_directory(source=src, destination=work / "dst", num_threads=2, verify_integrity=True)
    out["copied"] = sorted(str(p.relative_to(work / "dst")) for p in (work / "dst").rglob("*") if p.is_file())
    (work / "dst" / "stray.txt").write_text("x")
    out["dirty"] = _error(lambda: ax.transfer_directory(source=src, destination=work / "dst"))
    ax.transfer_directory(source=src, destination=work / "dst", reset_dirty_destination=True, remove_source=True)
    out["reset_and_removed"] = [(work / "dst" / "stray.txt").exists(), src.exists()]
    out["missing_source"] = _error(lambda: ax.transfer_directory(source=work / "nothing", destination=work / "d2"))
    (work / "linked").mkdir()
    (work / "linked" / "f").write_text("f")
    (work / "linked" / "link").symlink_to(work / "dst")
    out["link_inside"] = _error(lambda: ax.transfer_directory(source=work / "linked", destination=work / "d3"))
    (work / "bare").mkdir()
    (work / "d4").mkdir()
    (work / "d4" / "keep.txt").write_text("k")
    out["nothing_to_verify"] = _error(lambda: ax.transfer_directory(
        source=work / "bare", destination=work / "d4", verify_integrity=True, reset_dirty_destination=True))
    out["kept_after_refusal"] = (work / "d4" / "keep.txt").exists()
    # A stale checksum: the source grows after it was saved.
    stale = work / "stale"
    stale.mkdir()
    (stale / "one.txt").write_text("1")
    ax.calculate_directory_checksum(directory=stale, save_checksum=True)
    (stale / "two.txt").write_text("2")
    try:
        ax.transfer_directory(source=stale, destination=work / "d5", verify_integrity=True)
        out["stale"] = None
    except RuntimeError as e:
        out["stale"] = "predates the current contents of the source" in str(e).replace("\n", " ")

    ax.delete_directory(directory_path=work / "dst")
    ax.delete_directory(directory_path=work / "never")
    out["deleted"] = (work / "dst").exists()
    target = work / "keep_me"
    target.mkdir()
    (target / "x").write_text("x")
    (work / "alias").symlink_to(target)
    ax.delete_directory(directory_path=work / "alias")
    out["link_deleted_target_kept"] = [os.path.lexists(work / "alias"), (target / "x").exists()]

    tree = work / "tree"
    for session in ("m1/s1/raw", "m1/s2/raw", "m2/s3/raw"):
        (tree / session).mkdir(parents=True)
        (tree / session / "marker.yaml").write_text("")
    (tree / "m1" / "tracker.yaml").write_text("")
    (tree / "marker.yaml").mkdir()  # a directory carrying the name is not a marker
    rel = lambda ps: [str(Path(p).relative_to(tree)) for p in ps]  # noqa: E731
    out["markers"] = rel(ax.discover_marker_files(directory=tree, marker_name="marker.yaml"))
    out["roots"] = rel(ax.discover_marker_roots(directory=tree, marker_name="marker.yaml", levels_up=1))
    index = ax.index_marker_files(directory=tree, marker_names=["marker.yaml", "tracker.yaml", "none"], max_depth=2)
    out["index"] = {k: [type(v).__name__, rel(v)] for k, v in sorted(index.items())}
    out["unique"] = [str(p) for p in ax.resolve_unique_roots(
        [Path("/d/m1/s1/raw/x"), Path("/d/m1/s2/raw/x"), Path("/d/s3/raw/x")])]
    out["bad_levels"] = _error(lambda: ax.discover_marker_roots(directory=tree, marker_name="m", levels_up=-1))
    out["no_names"] = _error(lambda: ax.index_marker_files(directory=tree, marker_names=[]))

    doc = work / "w" / "deep" / "doc.txt"
    with ax.atomic_write(file_path=doc) as f:
        f.write("one")
    os.chmod(doc, 0o600)
    with ax.atomic_write(file_path=doc) as f:
        f.write("two")
    umask = os.umask(0)
    os.umask(umask)
    out["atomic"] = [doc.read_text(), doc.stat().st_mode & 0o777 == 0o666 & ~umask]
    try:
        with ax.atomic_write(file_path=doc, binary=True) as f:
            f.write(b"three")
            raise KeyboardInterrupt
    except KeyboardInterrupt:
        pass
    out["atomic_after_raise"] = [doc.read_text(), sorted(p.name for p in doc.parent.iterdir())]
    with ax.direct_write(file_path=work / "w" / "other" / "d.bin", binary=True) as f:
        f.write(b"\x01\x02")
    out["direct"] = list((work / "w" / "other" / "d.bin").read_bytes())

    x = np.array([0, 10, 20], dtype=np.int64)
    out["linear"] = ax.interpolate_data(x, np.array([0.0, 1.0, 4.0]), np.array([-5, 5, 15, 25]),
                                        is_discrete=False).tolist()
    discrete = ax.interpolate_data(x, np.array([7, 8, 9], dtype=np.uint8), np.array([-5, 10, 19, 99]),
                                   is_discrete=True)
    out["discrete"] = [str(discrete.dtype), discrete.tolist()]
    out["empty"] = _error(lambda: ax.interpolate_data(np.array([]), np.array([]), np.array([1.0]), is_discrete=False))

    with ax.limit_worker_threads(thread_count=2, maximum_thread_count=4):
        out["threads"] = [os.environ.get("OPENBLAS_NUM_THREADS"), os.environ.get("OMP_NUM_THREADS")]
    out["threads_after"] = os.environ.get("OPENBLAS_NUM_THREADS")
    out["bad_threads"] = _error(lambda: ax.initialize_worker_threads(thread_count=0))
    return out


@scenario
def tracker_yaml(ax, work):
    tracker = ax.ProcessingTracker(file_path=work / "tracker.yaml")
    ids = tracker.initialize_jobs([("a", "1"), ("b", "")])
    tracker.start_job(ids[0], executor_id="x")
    tracker.to_yaml(file_path=work / "copy.yaml")
    copy = ax.ProcessingTracker.from_yaml(file_path=work / "copy.yaml")
    return {
        "file": copy.file_path.name,
        "statuses": [int(copy.get_job_status(i)) for i in ids],
        "restored": str(ax.ProcessingTracker.restore_excluded_fields({"jobs": {}}, work / "t.yaml")["file_path"].name),
    }


@scenario
def archive_batches(ax, work):
    """An archive of 2500 messages written by numpy, split and read by the backend's reader."""
    onset = 1_700_000_000_000_000
    entries = {f"003_{0:020d}": np.concatenate([[3], np.zeros(8, np.uint8), np.frombuffer(
        np.uint64(onset).tobytes(), np.uint8)]).astype(np.uint8)}
    for t in range(1, 2501):
        entries[f"003_{t:020d}"] = np.concatenate([[3], np.frombuffer(np.uint64(t).tobytes(), np.uint8),
                                                   [t % 256]]).astype(np.uint8)
    np.savez(work / "3_log.npz", **entries)
    reader = ax.LogArchiveReader(archive_path=work / "3_log.npz")
    batches = reader.get_batches(workers=2, batch_multiplier=4)
    first = next(reader.iter_messages(keys=batches[1]))
    return {
        "sizes": [len(b) for b in batches], "first_key": batches[0][0], "count": reader.message_count,
        "probe": ax.read_archive_message_count(archive_path=work / "3_log.npz"),
        "second_batch_first": [int(first.timestamp_us) - onset, first.payload.tolist()],
        "found": str(ax.find_log_archive(log_directory=work, source_id="3").name),
        "discovered": {k: v.name for k, v in ax.discover_log_archives(log_directory=work).items()},
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
