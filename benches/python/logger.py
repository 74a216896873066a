#!/usr/bin/env python3
"""Logging 64 B messages from one Python process through seqring.DataLogger, end to end to disk.

usage: python benches/python/logger.py [--quick] [--messages N] [--rounds R]

Each round starts a fresh DataLogger in a temporary directory, connects one Producer in this process, logs N
messages of 64 B (each carries its sequence number) with `Producer.log`, and stops the logger: the end-to-end time
runs from the first `log` call until `stop()` has returned (everything drained, written and fsynced). Untimed, it
then assembles the archives and checks, from the archive alone, that every message the report counts as written is
there (count, and first and last sequence numbers). Variants:

- call:        `log(bytes)` alone, timed over the calls only (the per-call cost; the ring is big enough for all).
- call_wait:   as call, under on_full="wait": the cost of releasing and re-taking the GIL around each call.
- drop:        the default ring (32 MiB) and policy (drop when full): end to end; drops are counted and reported.
- wait:        the default ring, on_full="wait" (the GIL is released around each call): end to end, nothing dropped.
- ndarray:     as wait, but each payload is a 64 B uint8 ndarray row instead of bytes.
- process:     as wait, but the producer runs in a spawned process (the logger stays in this one): from the child's
               first `log` (its perf_counter_ns, the same monotonic clock) until `stop()` has returned here.

Peers, on the same messages and machine (verified by reading their file back):

- peer_file:   this process writes each message, length-prefixed, to a buffered file, then flushes and fsyncs
               (no logger at all: the floor of a Python loop that writes).
- peer_queue:  ataraxis' architecture: a multiprocessing.Queue into a spawned writer process that appends each
               message, length-prefixed, to a buffered file (no per-message .npy file, so faster than ataraxis).

Prints the median and min per message and messages/s over the rounds. ataraxis-data-structures 7.2.0 is not
installable here: its recorded figure (issue 12) is about 2,000 messages/s through DataLogger.input_queue.
"""

import argparse
import multiprocessing as mp
import os
import statistics
import tempfile
import time
import uuid

import numpy as np

import seqring

PAYLOAD = 64


def payloads(n):
    """n distinct 64 B payloads: the sequence number (u64 LE), then a fixed pattern."""
    rows = np.empty((n, PAYLOAD), dtype=np.uint8)
    rows[:, 8:] = np.arange(8, PAYLOAD, dtype=np.uint8)
    rows[:, :8] = np.arange(n, dtype="<u8").view(np.uint8).reshape(n, 8)
    return rows


def child_producer(name, n, ready, go, started):
    """The `process` variant's producer: logs n messages, reporting when it began."""
    messages = [r.tobytes() for r in payloads(n)]
    producer = seqring.Producer.connect(name, 1)
    log = producer.log
    ready.set()
    go.wait()
    start = time.perf_counter_ns()
    for m in messages:
        log(m)
    started.put(start)


def start_in_child(name, n):
    """Starts `child_producer` and lets it log; returns (its start time once it has logged everything, the child)."""
    ctx = mp.get_context("spawn")
    ready, go, started = ctx.Event(), ctx.Event(), ctx.Queue()
    child = ctx.Process(target=child_producer, args=(name, n, ready, go, started))
    child.start()
    ready.wait(60)
    go.set()
    return started.get(timeout=600), child


def write_file(path, messages):
    with open(path, "wb") as f:
        for m in messages:
            f.write(len(m).to_bytes(4, "little"))
            f.write(m)
        f.flush()
        os.fsync(f.fileno())


def read_back(path):
    """The messages of a length-prefixed file."""
    data, messages, at = open(path, "rb").read(), [], 0
    while at < len(data):
        n = int.from_bytes(data[at : at + 4], "little")
        messages.append(data[at + 4 : at + 4 + n])
        at += 4 + n
    return messages


def queue_writer(path, queue, ready):
    """peer_queue's writer process: appends every message from the queue until None."""
    ready.set()
    write_file(path, iter(queue.get, None))


def peer_round(variant, as_bytes):
    n = len(as_bytes)
    with tempfile.TemporaryDirectory(prefix="seqring-bench-") as out:
        path = os.path.join(out, "log.bin")
        if variant == "peer_file":
            start = time.perf_counter_ns()
            write_file(path, as_bytes)
            stopped = time.perf_counter_ns()
        else:
            ctx = mp.get_context("spawn")
            queue, ready = ctx.Queue(), ctx.Event()
            writer = ctx.Process(target=queue_writer, args=(path, queue, ready))
            writer.start()
            ready.wait(60)
            put = queue.put
            start = time.perf_counter_ns()
            for m in as_bytes:
                put(m)
            put(None)
            writer.join()
            stopped = time.perf_counter_ns()
            assert writer.exitcode == 0
        back = read_back(path)
        assert len(back) == n and back[0] == as_bytes[0] and back[-1] == as_bytes[-1]
        return (stopped - start) / n, 0


def one_round(variant, rows, as_bytes):
    if variant.startswith("peer"):
        return peer_round(variant, as_bytes)
    n = len(rows)
    name = f"bench-pylog-{os.getpid()}-{uuid.uuid4().hex[:8]}"
    options = {"fsync_interval": 1.0}
    if variant.startswith("call"):
        options["capacity"] = 1 << 30 if n * (PAYLOAD + 16) > (1 << 29) else 1 << 29
    if variant in ("call_wait", "wait", "ndarray", "process"):
        options.update(on_full="wait", wait_timeout=10.0)
    with tempfile.TemporaryDirectory(prefix="seqring-bench-") as out:
        logger = seqring.DataLogger(out, name, **options)
        logger.start()
        dropped, child = 0, None
        if variant == "process":
            start, child = start_in_child(name, n)
            logged = start
        else:
            producer = seqring.Producer.connect(name, 1)
            log = producer.log
            data = rows if variant == "ndarray" else as_bytes
            start = time.perf_counter_ns()
            for d in data:
                try:
                    log(d)
                except seqring.RingFullError:
                    dropped += 1
            logged = time.perf_counter_ns()
        report = logger.stop()
        stopped = time.perf_counter_ns()
        if child is not None:
            child.join(60)
            assert child.exitcode == 0
        assert report["dropped"] == dropped and report["abandoned"] == 0, report
        written = report["sources"][1]["records"] - 1
        assert written == n - dropped, (written, n, dropped)
        seqring.assemble_log_archives(report["log_dir"])
        timestamps, messages = seqring.LogArchive(os.path.join(report["log_dir"], "1_log.npz")).read_all()
        assert len(messages) == len(timestamps) == written, (len(messages), written)
        if written:
            first, last = (int(np.frombuffer(bytes(m)[:8], "<u8")[0]) for m in (messages[0], messages[-1]))
            assert first == 0 and (dropped or last == n - 1), (first, last)
        elapsed = (logged if variant.startswith("call") else stopped) - start
        return elapsed / n, dropped


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="100 k messages, 3 rounds (a few seconds)")
    parser.add_argument("--messages", type=int, default=1_000_000)
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument("--variants", default="call,call_wait,drop,wait,ndarray,process,peer_file,peer_queue")
    args = parser.parse_args()
    n, rounds = (100_000, 3) if args.quick else (args.messages, args.rounds)
    rows = payloads(n)
    as_bytes = [r.tobytes() for r in rows]
    print(f"{n} messages of {PAYLOAD} B per round, {rounds} rounds; cpus: {os.cpu_count()}")
    medians = {}
    for variant in args.variants.split(","):
        per_message, drops = [], []
        for _ in range(rounds):
            ns, dropped = one_round(variant, rows, as_bytes)
            per_message.append(ns)
            drops.append(dropped)
        med, low = statistics.median(per_message), min(per_message)
        what = "per call" if variant.startswith("call") else "end to end"
        medians[variant] = med
        print(
            f"{variant:9} {what:10}: median {med:7.1f} ns/msg ({1e9 / med / 1e6:5.2f} M msg/s), "
            f"min {low:7.1f} ns/msg ({1e9 / low / 1e6:5.2f} M msg/s); dropped per round {drops}; "
            f"vs ataraxis' recorded ~2,000 msg/s: {1e9 / med / 2000:,.0f}x"
        )
    for ours in ("wait", "process"):
        for peer in ("peer_file", "peer_queue"):
            if ours in medians and peer in medians:
                print(f"{ours} is {medians[peer] / medians[ours]:.2f}x as fast as {peer} (median time per message)")


if __name__ == "__main__":
    main()
