"""SharedArray from Python: read, read(out=), write, a[i] and a[i] = v of 8 x f64, per call.

Peers run side by side on the same machine:
- "lock + numpy": what ataraxis's SharedMemoryArray does for every access (a multiprocessing.Lock around a numpy
  copy of a view of multiprocessing.shared_memory); ataraxis 7.2.0 itself is not installable here, its recorded
  figures (about 1.35 us read, 1.05 us write) are printed beside;
- "numpy copy": the floor, a numpy copy of 8 x f64 from private memory.

Run: python3 benches/python/shared_array.py [--quick]
"""

import argparse
import multiprocessing as mp
import os
import statistics
from multiprocessing import shared_memory

import numpy as np
from timing import per_call_times

import seqring


def per_call_ns(fn, calls, rounds):
    """The median and min over `rounds` of the mean time per call of `calls` calls (ns)."""
    times = per_call_times(fn, calls, rounds)
    return statistics.median(times), min(times)


def loop_overhead_ns(calls, rounds):
    def nothing():
        pass

    return per_call_ns(nothing, calls, rounds)[0]


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="a few-second run")
    args = parser.parse_args()
    calls, rounds = (20_000, 7) if args.quick else (200_000, 11)

    name = f"bench-py-array-{os.getpid()}"
    a = seqring.SharedArray.create(name, 8, np.float64)
    data = np.arange(8.0)
    out = np.empty(8)
    a.write(data)

    shm = shared_memory.SharedMemory(create=True, size=64)
    view = np.ndarray((8,), dtype=np.float64, buffer=shm.buf)
    lock = mp.Lock()

    def locked_read():
        with lock:
            return view.copy()

    def locked_write():
        with lock:
            view[:] = data

    def set_element():
        a[3] = 1.5

    cases = [
        ("seqring read()", a.read),
        ("seqring read(out=)", lambda: a.read(out)),
        ("seqring write()", lambda: a.write(data)),
        ("seqring a[3]", lambda: a[3]),
        ("seqring a[3] = 1.5", set_element),
        ("lock + numpy read", locked_read),
        ("lock + numpy write", locked_write),
        ("numpy copy (floor)", data.copy),
    ]
    overhead = loop_overhead_ns(calls, rounds)
    print(f"8 x f64, {rounds} rounds of {calls} calls; medians (min) per call, Python loop overhead "
          f"{overhead:.0f} ns included")
    for label, fn in cases:
        median, best = per_call_ns(fn, calls, rounds)
        print(f"  {label:24} {median:8.0f} ns  ({best:.0f})")
    print("  ataraxis 7.2.0 (recorded)    1350 ns read, 1050 ns write")

    a.destroy()
    del view
    shm.close()
    shm.unlink()


if __name__ == "__main__":
    main()
