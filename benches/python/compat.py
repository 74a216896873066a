"""seqring.compat against the real ataraxis-data-structures 7.2.0, side by side in one run: every operation of the
issue-21 speed table, timed by this same script once per backend.

The compat side runs in this interpreter. The ataraxis side runs this script again under the interpreter of a
virtual environment holding the real ataraxis (``--ataraxis-python``, else ``$SEQRING_ATARAXIS_PYTHON``, else
``.ataraxis-venv/bin/python`` at the repository root, which ``bash ../shared/reference/ataraxis-env/setup.sh
.ataraxis-venv`` makes) with ``--backend ataraxis_data_structures --json``; without one, only compat's column is
printed. Both sides read the same archive, written here with ``np.savez`` in ataraxis's layout.

Each figure is the median over rounds of the mean time per call (per message for the logger and the reader); the
ratio is ataraxis's time over compat's (above 1: compat is faster).

Run: python3 benches/python/compat.py [--quick] [--json] [--ataraxis-python PATH]
"""

import argparse
import dataclasses
import enum
import importlib
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Dict, List, Optional, Tuple

import numpy as np
from timing import per_call_times

REPO = Path(__file__).resolve().parents[2]
ONSET_US = 1_700_000_000_000_000


def per_call_ns(fn, calls, rounds):
    """The median over ``rounds`` of the mean time per call of ``calls`` calls of ``fn`` (ns)."""
    return statistics.median(per_call_times(fn, calls, rounds))


def arrays(ax, calls, rounds, out):
    """SharedMemoryArray of 8 x f64: element and slice get and set, and array() blocks."""
    name = f"bench-compat-{ax.__name__.split('.')[0]}-{os.getpid()}"
    arr = ax.SharedMemoryArray.create_array(name=name, prototype=np.arange(8.0), exists_ok=True)
    data = np.arange(8.0)

    def set_element():
        arr[3] = 1.5

    def set_slice_scalar():
        arr[0:8] = 7

    def set_slice_array():
        arr[0:8] = data

    def block_locked():
        with arr.array(with_lock=True) as a:
            a[3] += 1.0

    def block_unlocked():
        with arr.array(with_lock=False) as a:
            a[3] += 1.0

    cases = {
        "sma[3]": lambda: arr[3],
        "sma[0:8]": lambda: arr[0:8],
        "sma[3] = 1.5": set_element,
        "sma[0:8] = 7 (scalar broadcast)": set_slice_scalar,
        "sma[0:8] = array": set_slice_array,
        "with sma.array(with_lock=True): a[3] += 1": block_locked,
        "with sma.array(with_lock=False): a[3] += 1": block_unlocked,
    }
    for label, fn in cases.items():
        out[label] = per_call_ns(fn, calls, rounds)
    arr.destroy()


def logging(ax, messages, rounds, root, out, log_format=None):
    """input_queue.put of 64 B packages (per put, the logger running), and start-to-stop per message."""
    payload = np.arange(64, dtype=np.uint8)
    packages = [ax.LogPackage(np.uint8(1), np.uint64(i + 1), payload) for i in range(messages)]
    onset = ax.LogPackage(np.uint8(1), np.uint64(0), np.frombuffer(np.uint64(ONSET_US).tobytes(), np.uint8))
    puts, totals = [], []
    suffix = "" if log_format is None else f" [{log_format}]"
    for r in range(rounds):
        options = {} if log_format is None else {"log_format": log_format}
        logger = ax.DataLogger(root / f"{log_format}-{r}", f"bench{r}", **options)
        start = time.perf_counter_ns()
        logger.start()
        put = logger.input_queue.put
        put(onset)
        first = time.perf_counter_ns()
        for p in packages:
            put(p)
        puts.append((time.perf_counter_ns() - first) / messages)
        logger.stop()
        totals.append((time.perf_counter_ns() - start) / messages)
    out[f"input_queue.put, 64 B{suffix}"] = statistics.median(puts)
    out[f"logger start..stop, per message{suffix}"] = statistics.median(totals)


def reading(ax, path, rounds, out):
    """LogArchiveReader.iter_messages() and read_all_messages(), per message."""
    reader = ax.LogArchiveReader(archive_path=path)
    count = reader.message_count

    def iterate():
        for _ in reader.iter_messages():
            pass

    out["reader.iter_messages(), per message"] = per_call_ns(iterate, 1, rounds) / count
    out["reader.read_all_messages(), per message"] = per_call_ns(reader.read_all_messages, 1, rounds) / count


def tracking(ax, calls, rounds, root, out):
    """ProcessingTracker calls on a tracker of 20 jobs (each locks, reads and, for changes, writes the file)."""
    tracker = ax.ProcessingTracker(file_path=root / "tracker.yaml")
    ids = tracker.initialize_jobs([("job", str(i)) for i in range(20)])
    out["tracker.start_job + complete_job"] = per_call_ns(
        lambda: (tracker.start_job(ids[3], executor_id="bench"), tracker.complete_job(ids[3])), calls, rounds
    )
    out["tracker.get_job_status"] = per_call_ns(lambda: tracker.get_job_status(ids[3]), calls, rounds)


def write_archive(path, messages):
    """An archive of ``messages`` 64 B messages in ataraxis's layout (np.savez of [source][time u64][payload])."""
    entries = {f"001_{0:020d}": np.frombuffer(bytes([1]) + bytes(8) + ONSET_US.to_bytes(8, "little"), np.uint8)}
    payload = bytes(range(64))
    for t in range(1, messages + 1):
        entries[f"001_{t:020d}"] = np.frombuffer(bytes([1]) + t.to_bytes(8, "little") + payload, np.uint8)
    np.savez(path, **entries)


def native(calls, rounds, out):
    """seqring's own SharedArray of 8 x f64 (no compat layer): element read, whole read and write."""
    import seqring  # noqa: PLC0415 (only on the seqring side)

    name = f"bench-native-{os.getpid()}"
    a = seqring.SharedArray.create(name, (8,), "<f8", exists_ok=True)
    data = np.arange(8.0)
    buf = np.empty(8)
    out["native SharedArray.read(out=) 8 x f64"] = per_call_ns(lambda: a.read(out=buf), calls, rounds)
    out["native SharedArray.write() 8 x f64"] = per_call_ns(lambda: a.write(data), calls, rounds)
    a.destroy()


class _Mode(str, enum.Enum):
    FAST = "fast"
    CAREFUL = "careful"


def tools(ax, quick, rounds, root, out):
    """YamlConfig, transfer and delete, interpolation, marker and archive discovery, tracker to_yaml: per call."""

    @dataclasses.dataclass
    class Rig(ax.YamlConfig):
        name: str = "rig-1"
        output: Path = Path("/data/rig-1")
        mode: _Mode = _Mode.CAREFUL
        gains: Tuple[float, ...] = (1.5, 2.5, 3.5)
        cameras: List[Path] = dataclasses.field(default_factory=lambda: [Path(f"/dev/video{i}") for i in range(8)])
        labels: Dict[str, int] = dataclasses.field(default_factory=lambda: {f"label{i}": i for i in range(32)})
        notes: Optional[str] = None

    config, path = Rig(), root / "rig.yaml"
    config.to_yaml(path)
    calls = 20 if quick else 500
    out["YamlConfig.to_yaml (7 fields, 50 values)"] = per_call_ns(lambda: config.to_yaml(path), calls, rounds)
    out["YamlConfig.from_yaml"] = per_call_ns(lambda: Rig.from_yaml(path), calls, rounds)

    source = root / "transfer-src"
    files, size = (20, 4096) if quick else (200, 16384)
    for i in range(files):
        (source / f"d{i % 10}").mkdir(parents=True, exist_ok=True)
        (source / f"d{i % 10}" / f"f{i}.bin").write_bytes(os.urandom(size))
    ax.calculate_directory_checksum(directory=source, save_checksum=True)
    transfers, deletes = [], []
    for r in range(rounds):
        destination = root / f"transfer-dst-{r}"
        start = time.perf_counter_ns()
        ax.transfer_directory(source=source, destination=destination, num_threads=2, verify_integrity=True)
        transfers.append(time.perf_counter_ns() - start)
        start = time.perf_counter_ns()
        ax.delete_directory(directory_path=destination)
        deletes.append(time.perf_counter_ns() - start)
    out[f"transfer_directory, verified, {files} x {size // 1024} KiB"] = statistics.median(transfers)
    out[f"delete_directory, {files} files"] = statistics.median(deletes)

    n = 10_000 if quick else 1_000_000
    xs = np.arange(n, dtype=np.int64) * 10
    ys = np.random.default_rng(1).normal(size=n)
    targets = np.random.default_rng(2).integers(0, 10 * n, n)
    out[f"interpolate_data, linear, {n:,} points"] = per_call_ns(
        lambda: ax.interpolate_data(xs, ys, targets, is_discrete=False), 1, rounds)
    out[f"interpolate_data, discrete, {n:,} points"] = per_call_ns(
        lambda: ax.interpolate_data(xs, ys, targets, is_discrete=True), 1, rounds)

    tree = root / "markers"
    mice = 5 if quick else 50
    for m in range(mice):
        for d in range(10):
            (tree / f"m{m}" / f"s{d}" / "raw").mkdir(parents=True)
            (tree / f"m{m}" / f"s{d}" / "raw" / "session.yaml").write_text("")
    out[f"discover_marker_files ({mice * 10} sessions)"] = per_call_ns(
        lambda: ax.discover_marker_files(directory=tree, marker_name="session.yaml"), 1 if quick else 20, rounds)

    tracker = ax.ProcessingTracker(file_path=root / "tools-tracker.yaml")
    tracker.initialize_jobs([("job", str(i)) for i in range(20)])
    out["tracker.to_yaml (20 jobs)"] = per_call_ns(
        lambda: tracker.to_yaml(file_path=root / "tracker-copy.yaml"), 20 if quick else 200, rounds)
    out["discover_log_archives + read_archive_message_count"] = per_call_ns(
        lambda: ax.read_archive_message_count(archive_path=ax.discover_log_archives(log_directory=root)["1"]),
        20 if quick else 500, rounds)


SECTIONS = ("arrays", "logging", "reading", "tracking", "tools")


def measure(backend, quick, only=SECTIONS):
    ax = importlib.import_module(backend)
    calls, rounds = (2_000, 5) if quick else (100_000, 11)
    messages, log_rounds = (1_000, 3) if quick else (20_000, 5)
    archive_messages = 2_000 if quick else 50_000
    tracker_calls = 20 if quick else 300
    out = {}
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        if "arrays" in only:
            arrays(ax, calls, rounds, out)
        if "logging" in only:
            if backend == "seqring.compat":
                logging(ax, messages, log_rounds, root, out, "npy")
                logging(ax, messages * (10 if not quick else 1), log_rounds, root, out, "segments")
            else:
                logging(ax, messages, log_rounds, root, out)
        path = root / "1_log.npz"
        write_archive(path, archive_messages)
        if "reading" in only:
            reading(ax, path, rounds, out)
        if "tracking" in only:
            tracking(ax, tracker_calls, rounds, root, out)
        if "tools" in only:
            tools(ax, quick, rounds, root, out)
        if backend == "seqring.compat" and "arrays" in only:
            native(calls, rounds, out)
    return out


def ataraxis_python(given):
    for candidate in (given, os.environ.get("SEQRING_ATARAXIS_PYTHON"), REPO / ".ataraxis-venv" / "bin" / "python"):
        if candidate and Path(candidate).exists():
            return str(candidate)
    return None


def machine():
    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return f"{cpu}, {os.cpu_count()} cores, {platform.system()} {platform.release()}, Python {platform.python_version()}"


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="a few-second run (the figures are not meaningful)")
    parser.add_argument("--json", action="store_true", help="print the figures as JSON")
    parser.add_argument("--backend", default="seqring.compat", help=argparse.SUPPRESS)
    parser.add_argument("--ataraxis-python", help="the interpreter of a virtual environment with the real ataraxis")
    parser.add_argument("--only", default=",".join(SECTIONS), help=f"comma-separated sections of {SECTIONS}")
    args = parser.parse_args()
    only = tuple(args.only.split(","))
    compat = measure(args.backend, args.quick, only)
    if args.backend != "seqring.compat":
        print(json.dumps(compat))
        return
    ataraxis = {}
    python = ataraxis_python(args.ataraxis_python)
    if python:
        command = [python, __file__, "--backend", "ataraxis_data_structures", "--json", "--only", args.only]
        command += ["--quick"] * args.quick
        done = subprocess.run(command, capture_output=True, text=True, timeout=3600)
        if done.returncode != 0:
            print(done.stderr, file=sys.stderr)
            sys.exit(1)
        ataraxis = json.loads(done.stdout.strip().splitlines()[-1])
    if args.json:
        print(json.dumps({"machine": machine(), "compat": compat, "ataraxis": ataraxis}))
        return
    print(f"seqring.compat vs ataraxis-data-structures 7.2.0 on {machine()}")
    print(f"{'operation':48} {'compat':>12} {'ataraxis':>12} {'ratio':>8}")
    for label, ns in compat.items():
        theirs = ataraxis.get(label)
        if theirs is None:
            # The per-format logger rows compare with ataraxis's only logger row.
            plain = label.split(" [")[0]
            theirs = ataraxis.get(plain) if plain != label else None
        their = f"{theirs:10,.0f} ns" if theirs else f"{'-':>12}"
        ratio = f"{theirs / ns:7.1f}x" if theirs else f"{'-':>8}"
        print(f"{label:48} {ns:10,.0f} ns {their} {ratio}")


if __name__ == "__main__":
    main()
