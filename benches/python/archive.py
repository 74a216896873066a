#!/usr/bin/env python3
"""Times reading a log archive from Python: ``LogArchive.read_all()`` (a list of zero-copy payload views),
``LogArchive.read_flat()`` (one buffer and offsets, no object per message), iteration, and opening.

usage: archive.py [--quick] [--messages N] [--dir DIR]

The archive (N messages of 64 B from one source, default 1 M) is written once with Python's zipfile exactly as
ataraxis/numpy write one (a stored zip of 1-D uint8 ``.npy`` entries ``[source][elapsed u64 LE][payload]``, the
onset entry first) into DIR, where it is kept for later runs; without --dir it goes to a temporary directory that is
removed when the script ends. Each figure is the median and
minimum of at least 7 rounds, per call and per message. ataraxis 7.2.0 is not installable here: its figure
(``LogArchiveReader.iter_messages`` about 13,000 messages/s) is the one recorded in issue 12.
"""

import argparse
import gc
import os
import statistics
import struct
import tempfile
import time
import zipfile
from pathlib import Path

import numpy as np

from seqring import LogArchive

SOURCE = 1
PAYLOAD = 64
ONSET_US = 1_795_301_397_000_000


def npy_header(length: int) -> bytes:
    """numpy's version-1.0 header of a 1-D uint8 array of `length` elements (as np.save writes it)."""
    header = "{'descr': '|u1', 'fortran_order': False, 'shape': (%d,), }" % length
    pad = 64 - (10 + len(header) + 1) % 64
    header = header + " " * pad + "\n"
    return b"\x93NUMPY\x01\x00" + struct.pack("<H", len(header)) + header.encode("latin1")


def write_archive(path: Path, messages: int) -> None:
    """Writes `messages` messages of PAYLOAD bytes (payload = the message number as u64 LE, then 0xAB bytes)."""
    tmp = path.with_suffix(".partial")
    header = npy_header(1 + 8 + PAYLOAD)
    fill = b"\xab" * (PAYLOAD - 8)
    with zipfile.ZipFile(tmp, "w", compression=zipfile.ZIP_STORED, allowZip64=True) as z:
        onset = bytes([SOURCE]) + struct.pack("<QQ", 0, ONSET_US)
        z.writestr(f"{SOURCE:03d}_{0:020d}.npy", npy_header(len(onset)) + onset)
        for i in range(messages):
            elapsed = i + 1
            data = bytes([SOURCE]) + struct.pack("<QQ", elapsed, i) + fill
            z.writestr(f"{SOURCE:03d}_{elapsed:020d}.npy", header + data)
    os.replace(tmp, path)


def measure(label: str, rounds: int, messages: int, call) -> None:
    times = []
    for _ in range(rounds):
        gc.collect()
        start = time.perf_counter_ns()
        result = call()
        times.append(time.perf_counter_ns() - start)
        del result  # releasing the result is not timed
    med, low = statistics.median(times), min(times)
    print(
        f"{label:<34} median {med / 1e6:9.3f} ms  min {low / 1e6:9.3f} ms  "
        f"{med / messages:7.1f} ns/msg  {messages / (med / 1e9) / 1e6:8.2f} M msg/s (median)"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="a few-second run: 100 k messages, 7 rounds")
    parser.add_argument("--messages", type=int, default=None)
    parser.add_argument("--dir", type=Path, default=None, help="keep the archive here for later runs")
    args = parser.parse_args()
    if args.dir is None:
        with tempfile.TemporaryDirectory(prefix="seqring-bench-python-archive-") as scratch:
            args.dir = Path(scratch)
            run(args)
    else:
        run(args)


def run(args: argparse.Namespace) -> None:
    messages = args.messages or (100_000 if args.quick else 1_000_000)
    rounds = 7

    args.dir.mkdir(parents=True, exist_ok=True)
    path = args.dir / f"{messages}" / f"{SOURCE}_log.npz"
    if not path.is_file():
        path.parent.mkdir(exist_ok=True)
        start = time.perf_counter()
        write_archive(path, messages)
        print(f"wrote {path} ({path.stat().st_size / 1e6:.0f} MB) in {time.perf_counter() - start:.1f} s")

    archive = LogArchive(path)
    assert archive.message_count == messages
    # Correctness spot checks, so that a fast wrong answer cannot pass.
    timestamps, payloads = archive.read_all()
    assert timestamps[0] == ONSET_US + 1 and timestamps[-1] == ONSET_US + messages
    assert int(payloads[-1][:8].view("<u8")[0]) == messages - 1 and len(payloads[-1]) == PAYLOAD
    ts, buffer, starts, ends = archive.read_flat()
    assert int(buffer[starts[-1] : starts[-1] + 8].view("<u8")[0]) == messages - 1
    assert (ends - starts == PAYLOAD).all()
    del timestamps, payloads, ts, buffer, starts, ends

    print(f"{messages} messages of {PAYLOAD} B, {rounds} rounds; numpy {np.__version__}")
    measure("LogArchive(path) (open+validate)", rounds, messages, lambda: LogArchive(path))
    measure("read_all() (list of views)", rounds, messages, archive.read_all)
    measure("read_flat() (buffer + offsets)", rounds, messages, archive.read_flat)
    measure("iteration (for t, p in archive)", 3 if args.quick else rounds, messages, lambda: sum(1 for _ in archive))
    print("ataraxis 7.2.0 (recorded in issue 12, not installable here): iter_messages about 13,000 msg/s")


if __name__ == "__main__":
    main()
