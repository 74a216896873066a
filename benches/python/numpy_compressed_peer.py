#!/usr/bin/env python3
"""numpy's own compressed and stored writers on the arrays of a stored log archive (the peer of
benches/benches/archive_compressed.rs).

usage: numpy_compressed_peer.py ARCHIVE RUNS

Loads every member of ARCHIVE (a stored {source}_log.npz), then times np.savez_compressed and np.savez of those arrays
to a file in the same directory (RUNS runs each, median), and np.load of every member of the compressed output. Prints
one JSON object: medians in seconds and bytes per message (entries minus the onset).
"""
import json
import os
import statistics
import sys
import time
import zipfile

import numpy as np


def main():
    archive, runs = sys.argv[1], int(sys.argv[2])
    with zipfile.ZipFile(archive) as zf:
        arrays = {}
        for info in zf.infolist():
            with zf.open(info) as f:
                arrays[info.filename[: -len(".npy")]] = np.lib.format.read_array(f)
    messages = len(arrays) - 1
    out = {"entries": len(arrays)}
    for name, save in [("savez_compressed", np.savez_compressed), ("savez", np.savez)]:
        path = os.path.join(os.path.dirname(archive), f"peer_{name}.npz")
        times = []
        for _ in range(runs):
            start = time.perf_counter()
            save(path, **arrays)
            times.append(time.perf_counter() - start)
        out[name] = {"median_s": statistics.median(times), "bytes_per_message": os.path.getsize(path) / messages}
        if name == "savez_compressed":
            times = []
            for _ in range(runs):
                start = time.perf_counter()
                # zipfile + read_array per member: what np.load does per key, without its linear key lookup
                with zipfile.ZipFile(path) as zf:
                    for info in zf.infolist():
                        with zf.open(info) as f:
                            np.lib.format.read_array(f)
                times.append(time.perf_counter() - start)
            out[name]["read_every_member_median_s"] = statistics.median(times)
        os.remove(path)
    print(json.dumps(out))


if __name__ == "__main__":
    main()
