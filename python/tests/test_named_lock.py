"""seqring._seqring._NamedLock: the process-shared lock of seqring.compat.SharedMemoryArray (one word of the array's
own region: 0 when free, else the holder's pid << 32 | counter), across spawned processes, SIGKILL, threads and
fork; it lives and dies with the array."""

import contextlib
import multiprocessing as mp
import os
import tempfile
import threading
import time

import numpy as np
import pytest

from seqring import SharedArray, errors
from seqring._seqring import _NamedLock
from seqring.compat import SharedMemoryArray


@pytest.fixture
def arr(name):
    a = SharedArray.create(name, (2,), np.int64)
    yield a
    with contextlib.suppress(errors.SeqringError):
        a.destroy()


def word(arr):
    """The lock word, read through a fresh instance (which never takes it)."""
    return _NamedLock(arr).word


def child_increments(name, rounds, start):
    start.wait()
    a = SharedArray.open(name)
    lock = _NamedLock(a)
    for _ in range(rounds):
        with lock:
            value = int(a[0])  # a read-modify-write that loses updates unless serialised:
            time.sleep(0)  # without the lock, the others' updates in this window are lost (most of them)
            a[0] = value + 1


def test_processes_lose_no_update(arr, name, children):
    rounds, processes = 1000, 3
    start = children.ctx.Barrier(processes)
    for _ in range(processes):
        children.start(child_increments, name, rounds, start)
    children.join_ok()
    assert arr[0] == processes * rounds
    assert word(arr) == 0, "every holder released it"


def child_holds(name, held, never):
    a = SharedArray.open(name)
    lock = _NamedLock(a)
    lock.acquire()
    held.set()
    never.recv()  # blocks until it is killed


@contextlib.contextmanager
def holder_process(children, name):
    """A spawned process that holds the lock of array ``name`` (yielded once it does) until it is killed (by the
    test, or by ``children`` when the test ends)."""
    held = children.ctx.Event()
    never, keep = children.ctx.Pipe(duplex=False)
    with keep:  # the holder's end stays open, so its recv blocks until it is killed
        holder = children.start(child_holds, name, held, never)
        assert held.wait(timeout=60)
        yield holder


def kill(process):
    """Kills ``process`` with no chance to run more code: SIGKILL on POSIX, TerminateProcess on Windows."""
    process.kill()
    process.join(timeout=60)


def child_waits(name, got):
    with _NamedLock(SharedArray.open(name)):
        got.set()


def test_a_holder_killed_while_holding_is_taken_over_by_a_waiter(arr, name, children):
    got = children.ctx.Event()
    with holder_process(children, name) as holder:
        lock = _NamedLock(arr)
        assert lock.holder_pid == holder.pid and word(arr) >> 32 == holder.pid
        assert not lock.try_acquire() and lock.depth == 0
        waiter = children.start(child_waits, name, got)
        kill(holder)
        assert got.wait(timeout=60), "the waiter took the dead holder's lock over"
        children.join_ok(waiter)
        assert lock.holder_pid == 0


def test_try_acquire_takes_over_a_dead_holder(arr, name, children):
    with holder_process(children, name) as holder:
        kill(holder)
        lock = _NamedLock(arr)
        assert lock.holder_pid == holder.pid, "nobody released it: the word still names the dead holder"
        assert lock.try_acquire()
        assert lock.holder_pid == os.getpid() and lock.depth == 1
        lock.release()
        assert word(arr) == 0


def test_reentrant_within_an_instance_exclusive_between_instances(arr):
    a, b = _NamedLock(arr), _NamedLock(arr)
    a.acquire()
    with a:
        assert a.depth == 2 and a.holder_pid == os.getpid()
        assert not b.try_acquire(), "another instance of the same process is another holder"
    assert a.depth == 1 and not b.try_acquire()
    a.release()
    assert a.depth == 0 and word(arr) == 0
    assert b.try_acquire()
    assert not a.try_acquire()
    b.release()
    with pytest.raises(errors.SeqringError, match="not held"):
        a.release()


def test_handles_of_one_array_share_the_lock(arr, name):
    other = SharedArray.open(name)
    a, b = _NamedLock(arr), _NamedLock(other)
    with a:
        assert not b.try_acquire(), "another handle maps the same word"
    assert b.try_acquire()
    b.release()


def test_a_blocked_thread_gets_it_when_the_holder_releases(arr):
    a, b = _NamedLock(arr), _NamedLock(arr)
    a.acquire()
    entered = threading.Event()

    def take():
        with b:  # waits without the GIL, so this thread's release below can run
            entered.set()

    t = threading.Thread(target=take)
    t.start()
    assert not entered.is_set()
    a.release()
    t.join(timeout=60)
    assert entered.is_set() and word(arr) == 0


def increments_in_threads(lock_of_thread, threads=4, rounds=500):
    """The final count of `threads` threads each adding 1 `rounds` times under the lock `lock_of_thread()` gives it:
    a read-modify-write that loses updates unless the lock excludes the threads."""
    counter = [0]

    def increment():
        lock = lock_of_thread()
        for _ in range(rounds):
            with lock:
                value = counter[0]
                time.sleep(0)  # the other threads run here if they can (they wait without the GIL)
                counter[0] = value + 1

    workers = [threading.Thread(target=increment) for _ in range(threads)]
    for t in workers:
        t.start()
    for t in workers:
        t.join(timeout=120)
    return counter[0]


def test_threads_with_instances_of_their_own_lose_no_update(arr):
    assert increments_in_threads(lambda: _NamedLock(arr)) == 4 * 500 and word(arr) == 0


def test_threads_sharing_one_instance_exclude_each_other(arr):
    """Reentrancy belongs to the holding thread: another thread of the same instance waits like another process."""
    lock = _NamedLock(arr)
    lock.acquire()
    seen = []
    t = threading.Thread(target=lambda: seen.append(lock.try_acquire()))
    t.start()
    t.join(timeout=60)
    assert seen == [False], "a thread that does not hold it must not enter through the holder's instance"
    refused = []

    def release_elsewhere():
        try:
            lock.release()
        except errors.SeqringError as e:
            refused.append(str(e))

    t = threading.Thread(target=release_elsewhere)
    t.start()
    t.join(timeout=60)
    assert refused and "not held by this thread" in refused[0] and lock.depth == 1
    lock.release()
    assert increments_in_threads(lambda: lock) == 4 * 500 and lock.depth == 0 and word(arr) == 0


def child_after_fork(lock, arr, results):
    inherited = []
    try:
        lock.try_acquire()
    except errors.SeqringError as e:
        inherited.append(str(e))
    results.put((inherited, _NamedLock(arr).try_acquire()))


@pytest.mark.skipif(not hasattr(os, "fork"), reason="Windows has no fork")
def test_a_forked_child_neither_uses_nor_releases_the_parents_instance(arr):
    ctx = mp.get_context("fork")
    lock = _NamedLock(arr)
    lock.acquire()
    results = ctx.Queue()
    child = ctx.Process(target=child_after_fork, args=(lock, arr, results))
    child.start()
    inherited, own = results.get(timeout=60)
    child.join(timeout=60)
    assert child.exitcode == 0
    assert inherited and "inherited across fork" in inherited[0]
    assert own is False, "the parent holds it: the child's own instance must wait"
    assert word(arr) >> 32 == os.getpid(), "the child's exit (and its copy's drop) left the parent's lock held"
    lock.release()


def test_dropping_a_holder_releases_it(arr):
    a, b = _NamedLock(arr), _NamedLock(arr)
    a.acquire()
    a.acquire()
    del a
    assert b.try_acquire()
    b.release()


def test_an_exception_in_the_block_releases_it(arr):
    a = _NamedLock(arr)
    with pytest.raises(KeyError):
        with a:
            raise KeyError("x")
    assert a.depth == 0 and word(arr) == 0


def test_a_closed_array_has_no_lock(arr, name):
    other = SharedArray.open(name)
    other.close()
    with pytest.raises(errors.ClosedError):
        _NamedLock(other)
    with pytest.raises(TypeError):
        _NamedLock(name)  # the lock is the array's: a name or path is not enough
    lock = _NamedLock(arr)
    arr.close()
    with pytest.raises(errors.ClosedError):
        lock.acquire()


def test_the_lock_goes_with_the_array(name):
    """The word is the array's: removing the array leaves no lock behind, held or not (the earlier lock file in
    $TMPDIR outlived its array)."""
    before = set(os.listdir(tempfile.gettempdir()))
    sma = SharedMemoryArray.create_array(name, np.zeros(4))
    sma[0] = 1.0  # takes and releases the lock
    with sma.array() as view:
        view[1] = 2.0
        held = _NamedLock(SharedArray.open(name))
        assert held.holder_pid == os.getpid() and not held.try_acquire()
    sma.destroy()
    assert not [f for f in set(os.listdir(tempfile.gettempdir())) - before if name in f], "no lock file"
    again = SharedMemoryArray.create_array(name, np.zeros(4))
    try:
        assert _NamedLock(SharedArray.open(name)).word == 0, "a new array of the name starts with its lock free"
    finally:
        again.destroy()
