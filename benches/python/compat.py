"""seqring.compat (the ataraxis 7.2.0 API on seqring) from Python: SharedMemoryArray access, logging through
DataLogger.input_queue end to end, and LogArchiveReader.

ataraxis-data-structures 7.2.0 is not installable here: its recorded figures (the issue's) are printed beside:
SharedMemoryArray read about 1.35 us and write about 1.05 us per call, DataLogger about 2,000 messages/s, archive
iteration about 13,000 messages/s. The native seqring calls run beside each compat call, to show what the compat
layer costs.

Run: python3 benches/python/compat.py [--quick]
"""

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.dont_write_bytecode = True  # no __pycache__ in the checkout for the import below
from shared_array import per_call_ns  # noqa: E402 (benches/python/shared_array.py, beside this script)

import seqring
from seqring.compat import DataLogger, LogArchiveReader, LogPackage, SharedMemoryArray, assemble_log_archives


def arrays(calls, rounds):
    name = f"bench-py-compat-{os.getpid()}"
    arr = SharedMemoryArray.create_array(name, np.arange(8.0))
    native = seqring.SharedArray.open(name)
    data = np.arange(8.0)

    def compat_set():
        arr[3] = 1.5

    def compat_block():
        with arr.array() as a:
            a[3] += 1.0

    def native_set():
        native[3] = 1.5

    cases = [
        ("compat arr[3]", lambda: arr[3]),
        ("compat arr[:]", lambda: arr[:]),
        ("compat arr[3] = 1.5", compat_set),
        ("compat array() a[3] += 1", compat_block),
        ("native a[3]", lambda: native[3]),
        ("native a[3] = 1.5", native_set),
        ("native write()", lambda: native.write(data)),
    ]
    print(f"SharedMemoryArray of 8 x f64, {rounds} rounds of {calls} calls; medians (min) per call")
    for label, fn in cases:
        median, best = per_call_ns(fn, calls, rounds)
        print(f"  {label:28} {median:8.0f} ns  ({best:.0f})")
    print("  ataraxis 7.2.0 (recorded)    1350 ns read, 1050 ns write")
    native.close()
    arr.destroy()


def logging(messages, rounds, root):
    """Messages/s through input_queue.put of 64 B packages, from start() to stop() (everything on disk)."""
    payload = np.arange(64, dtype=np.uint8)
    packages = [LogPackage(np.uint8(1), np.uint64(i + 1), payload) for i in range(messages)]
    onset = LogPackage(np.uint8(1), np.uint64(0), np.frombuffer(np.uint64(time.time_ns() // 1000).tobytes(), np.uint8))
    rates = []
    log_dir = None
    for r in range(rounds):
        logger = DataLogger(root / str(r), f"bench-py-compat-log-{os.getpid()}")
        start = time.perf_counter_ns()
        logger.start()
        put = logger.input_queue.put
        put(onset)
        for p in packages:
            put(p)
        logger.stop()
        rates.append(messages / ((time.perf_counter_ns() - start) / 1e9))
        assert logger.report["records"] == messages + 1 and logger.report["dropped"] == 0
        log_dir = logger.output_directory
    print(f"DataLogger.input_queue.put, 64 B, {messages} messages start to stop, {rounds} rounds")
    print(f"  compat                       {statistics.median(rates):10,.0f} messages/s  (max {max(rates):,.0f})")
    print("  ataraxis 7.2.0 (recorded)         2,000 messages/s")
    return log_dir


def reading(log_dir, rounds):
    assemble_log_archives(log_dir)
    path = log_dir / "1_log.npz"
    reader = LogArchiveReader(path)
    count = reader.message_count
    archive = seqring.LogArchive(path)

    def compat_iter():
        for _ in reader.iter_messages():
            pass

    cases = [
        ("compat read_all_messages()", reader.read_all_messages),
        ("compat iter_messages()", compat_iter),
        ("native LogArchive.read_all()", archive.read_all),
    ]
    print(f"LogArchiveReader over {count} messages of 64 B, {rounds} rounds")
    for label, fn in cases:
        median, best = per_call_ns(fn, 1, rounds)
        print(f"  {label:30} {count / (median / 1e9):12,.0f} messages/s  (max {count / (best / 1e9):,.0f})")
    print("  ataraxis 7.2.0 (recorded)              13,000 messages/s")


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="a few-second run")
    args = parser.parse_args()
    calls, rounds, messages = (20_000, 7, 100_000) if args.quick else (200_000, 11, 1_000_000)
    arrays(calls, rounds)
    with tempfile.TemporaryDirectory() as root:
        log_dir = logging(messages, rounds, Path(root))
        reading(log_dir, rounds)


if __name__ == "__main__":
    main()
