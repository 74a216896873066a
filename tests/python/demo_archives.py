#!/usr/bin/env python3
"""Checks a `seqring demo` log directory with numpy alone: every {id}_log.npz loads, its first entry is the onset
(timestamp 0, 8-byte payload), and every later entry is a 1-D uint8 array [source u8][timestamp u64][payload] whose
payload starts with the producer's sequence number, 0, 1, 2, ... in timestamp order.

usage: demo_archives.py LOG_DIR PAYLOAD_BYTES
Prints one JSON object {"<source>": message_count, ...}; exits 1 with a message on the first problem.
"""
import json
import sys
from pathlib import Path

import numpy as np


def main():
    log_dir, payload = Path(sys.argv[1]), int(sys.argv[2])
    counts = {}
    for path in sorted(log_dir.glob("*_log.npz")):
        source = int(path.name.split("_")[0])
        with np.load(path) as archive:
            names = archive.files  # the archive's own (zip) order: by timestamp, stable, onset first
            onset = archive[names[0]]
            assert onset.dtype == np.uint8 and onset.ndim == 1, (path, onset.dtype)
            assert onset[0] == source and onset[1:9].view("<u8")[0] == 0, f"{path}: no onset first"
            last_ts = 0
            for seq, name in enumerate(names[1:]):
                entry = archive[name]
                assert entry.dtype == np.uint8 and entry.ndim == 1, (name, entry.dtype)
                assert entry[0] == source, f"{name}: source {entry[0]}"
                ts = int(entry[1:9].view("<u8")[0])
                assert ts >= last_ts, f"{name}: time went backwards"
                last_ts = ts
                body = entry[9:]
                assert body.size == payload, f"{name}: {body.size} payload bytes"
                assert int(body[:8].view("<u8")[0]) == seq, f"{name}: sequence {int(body[:8].view('<u8')[0])} != {seq}"
            counts[str(source)] = len(names) - 1
    if not counts:
        sys.exit(f"no archives in {log_dir}")
    print(json.dumps(counts))


if __name__ == "__main__":
    try:
        main()
    except AssertionError as e:
        sys.exit(f"demo archives: {e}")
