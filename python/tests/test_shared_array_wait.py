"""SharedArray.wait_changed / read_when_changed: blocking waits for a new version, with the GIL released."""

import threading
import time

import numpy as np
import pytest

from seqring import SharedArray
from seqring.errors import SeqringError


def _until_waiting(a, count=1):
    """Returns once `count` waiters are blocked on `a` (a handshake on the array's own waiter count)."""
    deadline = time.monotonic() + 60
    while a.waiters < count:
        assert time.monotonic() < deadline, "the waiter never blocked"
        time.sleep(0.001)


def test_a_timeout_returns_none_and_a_newer_version_returns_at_once(name):
    with SharedArray.create(name, 3, "f8") as a:
        assert a.wait_changed(0, timeout=0.01) is None
        assert a.read_when_changed(0, timeout=0) is None
        a.write([1.0, 2.0, 3.0])
        assert a.wait_changed(0) == 1
        version, data = a.read_when_changed(0)
        assert version == 1 and data.tolist() == [1.0, 2.0, 3.0]
        assert a.waiters == 0
        with pytest.raises(SeqringError):
            a.wait_changed(1, timeout=-1.0)


def test_a_thread_waits_while_another_thread_writes(name):
    """The waiting thread releases the GIL: if it held it, this thread could not write (or even look at the waiter
    count) until the wait timed out, and the waiter would return None."""
    with SharedArray.create(name, 2, "i4") as a:
        got = []
        waiter = threading.Thread(target=lambda: got.append(a.read_when_changed(0, timeout=30)))
        waiter.start()
        _until_waiting(a)
        a.write([5, 6])
        waiter.join(timeout=60)
        assert not waiter.is_alive()
        assert got and got[0] is not None, "the wait timed out: the GIL was held"
        version, data = got[0]
        assert version == 1 and data.tolist() == [5, 6]


def _wait_in_child(name, results):
    a = SharedArray.open(name, dtype=np.int64, shape=3)
    found = a.read_when_changed(0, timeout=60)
    results.put(None if found is None else (found[0], found[1].tolist()))


def test_a_process_waits_for_another_processes_write(name, children):
    with SharedArray.create(name, 3, np.int64) as a:
        results = children.ctx.Queue()
        children.start(_wait_in_child, name, results)
        _until_waiting(a)
        a.write([7, 8, 9])
        assert results.get(timeout=60) == (1, [7, 8, 9])
        children.join_ok()
