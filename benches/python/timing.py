"""Timing shared by the Python benchmark scripts (imported from their own folder)."""

import time


def per_call_times(fn, calls, rounds):
    """The mean time per call of ``calls`` calls of ``fn`` (ns), once per round, for ``rounds`` rounds."""
    times = []
    for _ in range(rounds):
        start = time.perf_counter_ns()
        for _ in range(calls):
            fn()
        times.append((time.perf_counter_ns() - start) / calls)
    return times
