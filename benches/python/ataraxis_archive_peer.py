#!/usr/bin/env python3
"""Times ataraxis-data-structures 7.2.0 on the archive benchmark's inputs (the peer of benches/benches/archive.rs).

usage: ataraxis_archive_peer.py ENTRY_DIR RUNS

ENTRY_DIR holds .npy log entries. Each run copies nothing: it assembles with remove_sources=False (the archives are
overwritten by the next run), as the seqring side does. Then it iterates every message of the largest archive with
LogArchiveReader. Prints one JSON object with every run's seconds and the medians.
"""
import json
import statistics
import sys
import time
from pathlib import Path

from ataraxis_data_structures import LogArchiveReader, assemble_log_archives


def main():
    entry_dir, runs = Path(sys.argv[1]), int(sys.argv[2])
    entries = len(list(entry_dir.glob("*.npy")))
    assemble = []
    for _ in range(runs):
        start = time.perf_counter()
        assemble_log_archives(entry_dir, remove_sources=False, verbose=False)
        assemble.append(time.perf_counter() - start)

    archive = max(entry_dir.glob("*_log.npz"), key=lambda p: p.stat().st_size)
    iterate = []
    count = 0
    for _ in range(max(1, runs // 2)):
        reader = LogArchiveReader(archive)
        start = time.perf_counter()
        count = sum(1 for _ in reader.iter_messages())
        iterate.append(time.perf_counter() - start)

    print(json.dumps({
        "entries": entries,
        "assemble_s": assemble,
        "assemble_median_s": statistics.median(assemble),
        "assemble_entries_per_s": entries / statistics.median(assemble),
        "iterate_messages": count,
        "iterate_s": iterate,
        "iterate_messages_per_s": count / statistics.median(iterate),
    }))


# ataraxis runs a process pool (spawn): the main module must not run again in the workers.
if __name__ == "__main__":
    main()
