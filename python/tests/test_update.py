"""SharedArray.update: an atomic read-modify-write that holds no lock while Python code runs."""

import subprocess
import sys

import numpy as np
import pytest

from seqring import SharedArray, errors

_WORKER = """
import sys
from seqring import SharedArray
a = SharedArray.open(sys.argv[1])
slot = int(sys.argv[2])

def bump(c):
    c[0] += 1  # the shared total: lost updates would show here
    c[slot] += 1

for _ in range(int(sys.argv[3])):
    a.update(bump)
"""


def test_update_returns_what_f_returns_and_writes_its_changes(name):
    with SharedArray.create(name, (4,), "<i8") as a:
        a.write(np.arange(4))
        version = a.version
        assert a.update(lambda c: int(c.sum())) == 6  # nothing changed, yet written (one write)
        assert a.version == version + 1

        def double(c):
            c *= 2
            return "done"

        assert a.update(double) == "done"
        assert a.read().tolist() == [0, 2, 4, 6]


def test_update_writes_nothing_when_f_raises(name):
    with SharedArray.create(name, (2,), "<f8") as a:
        version = a.version

        def fail(c):
            c[:] = 9
            raise KeyError("no")

        with pytest.raises(KeyError):
            a.update(fail)
        assert a.version == version and a.read().tolist() == [0.0, 0.0]


def test_update_retries_when_another_write_comes_first(name):
    with SharedArray.create(name, (1,), "<u4") as a:
        calls = []

        def interfere(c):
            calls.append(int(c[0]))
            if len(calls) == 1:
                a[0] = 100  # another write completes between this attempt's read and its write
            c[0] += 1

        a.update(interfere)
        assert calls == [0, 100] and int(a[0]) == 101  # the second attempt saw the other write; nothing lost
        with pytest.raises(errors.SeqringTimeoutError):
            a.update(lambda c: a.write(c), max_attempts=3)  # every attempt loses to a write of its own


def test_concurrent_updates_from_processes_lose_nothing(name):
    workers, rounds = 4, 300
    with SharedArray.create(name, (workers + 1,), "<i8") as a:
        procs = [subprocess.Popen([sys.executable, "-c", _WORKER, name, str(i + 1), str(rounds)]) for i in range(workers)]
        for p in procs:
            assert p.wait(timeout=120) == 0
        assert a.read().tolist() == [workers * rounds] + [rounds] * workers
