"""seqring._seqring._NamedLock: the process-shared lock of seqring.compat.SharedMemoryArray (one word of a mapped
file: 0 when free, else the holder's pid << 32 | counter), across spawned processes, SIGKILL and bad paths."""

import contextlib
import multiprocessing as mp
import os
import signal
import stat
import threading

import pytest

from seqring import errors
from seqring._seqring import _NamedLock


@pytest.fixture
def path(tmp_path, name):
    return tmp_path / f"{name}.lock"


def word(path):
    """The lock word, read from the file itself (little-endian u64)."""
    return int.from_bytes(path.read_bytes()[:8], "little")


def child_increments(path, counter, rounds, start):
    start.wait()
    lock = _NamedLock(path)  # every child creates or opens the file at once
    for _ in range(rounds):
        with lock:
            value = counter.value  # a read-modify-write that loses updates unless serialised:
            os.sched_yield()  # without the lock, the others' updates in this window are lost (most of them)
            counter.value = value + 1


def test_processes_lose_no_update_and_race_to_create_the_file(path):
    ctx = mp.get_context("spawn")
    counter = ctx.RawValue("q", 0)
    rounds, children = 2000, 3
    start = ctx.Barrier(children)
    procs = [ctx.Process(target=child_increments, args=(path, counter, rounds, start)) for _ in range(children)]
    for p in procs:
        p.start()
    for p in procs:
        p.join(timeout=120)
        assert p.exitcode == 0
    assert counter.value == children * rounds
    assert word(path) == 0, "every holder released it"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600 and path.stat().st_size == 8


def child_holds(path, held, never):
    lock = _NamedLock(path)
    lock.acquire()
    held.set()
    never.recv()  # blocks until it is killed


@contextlib.contextmanager
def holder_process(path):
    """A spawned process that holds the lock of ``path`` (yielded once it does) until it is killed."""
    ctx = mp.get_context("spawn")
    held = ctx.Event()
    never, keep = ctx.Pipe(duplex=False)
    holder = ctx.Process(target=child_holds, args=(path, held, never))
    holder.start()
    try:
        assert held.wait(timeout=60)
        yield holder
    finally:
        if holder.is_alive():
            holder.kill()
        holder.join(timeout=60)
        keep.close()


def kill(process):
    os.kill(process.pid, signal.SIGKILL)
    process.join(timeout=60)


def child_waits(path, got):
    with _NamedLock(path):
        got.set()


def test_a_holder_killed_while_holding_is_taken_over_by_a_waiter(path):
    ctx = mp.get_context("spawn")
    got = ctx.Event()
    with holder_process(path) as holder:
        lock = _NamedLock(path)
        assert lock.holder_pid == holder.pid and word(path) >> 32 == holder.pid
        assert not lock.try_acquire() and lock.depth == 0
        waiter = ctx.Process(target=child_waits, args=(path, got))
        waiter.start()
        try:
            kill(holder)
            assert got.wait(timeout=60), "the waiter took the dead holder's lock over"
        finally:
            waiter.join(timeout=60)
            if waiter.is_alive():
                waiter.kill()
                waiter.join(timeout=60)
        assert waiter.exitcode == 0
        assert lock.holder_pid == 0


def test_try_acquire_takes_over_a_dead_holder(path):
    with holder_process(path) as holder:
        kill(holder)
        lock = _NamedLock(path)
        assert lock.holder_pid == holder.pid, "nobody released it: the word still names the dead holder"
        assert lock.try_acquire()
        assert lock.holder_pid == os.getpid() and lock.depth == 1
        lock.release()
        assert word(path) == 0


def test_reentrant_within_an_instance_exclusive_between_instances(path):
    a, b = _NamedLock(path), _NamedLock(path)
    a.acquire()
    with a:
        assert a.depth == 2 and a.holder_pid == os.getpid()
        assert not b.try_acquire(), "another instance of the same process is another holder"
    assert a.depth == 1 and not b.try_acquire()
    a.release()
    assert a.depth == 0 and word(path) == 0
    assert b.try_acquire()
    assert not a.try_acquire()
    b.release()
    with pytest.raises(errors.SeqringError, match="not held"):
        a.release()


def test_a_blocked_thread_gets_it_when_the_holder_releases(path):
    a, b = _NamedLock(path), _NamedLock(path)
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
    assert entered.is_set() and word(path) == 0


def increments_in_threads(lock_of_thread, threads=4, rounds=500):
    """The final count of `threads` threads each adding 1 `rounds` times under the lock `lock_of_thread()` gives it:
    a read-modify-write that loses updates unless the lock excludes the threads."""
    counter = [0]

    def increment():
        lock = lock_of_thread()
        for _ in range(rounds):
            with lock:
                value = counter[0]
                os.sched_yield()  # the other threads run here if they can (they wait without the GIL)
                counter[0] = value + 1

    workers = [threading.Thread(target=increment) for _ in range(threads)]
    for t in workers:
        t.start()
    for t in workers:
        t.join(timeout=120)
    return counter[0]


def test_threads_with_instances_of_their_own_lose_no_update(path):
    assert increments_in_threads(lambda: _NamedLock(path)) == 4 * 500 and word(path) == 0


def test_threads_sharing_one_instance_exclude_each_other(path):
    """Reentrancy belongs to the holding thread: another thread of the same instance waits like another process."""
    lock = _NamedLock(path)
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
    assert increments_in_threads(lambda: lock) == 4 * 500 and lock.depth == 0 and word(path) == 0


def child_after_fork(lock, path, results):
    inherited = []
    try:
        lock.try_acquire()
    except errors.SeqringError as e:
        inherited.append(str(e))
    results.put((inherited, _NamedLock(path).try_acquire()))


def test_a_forked_child_neither_uses_nor_releases_the_parents_instance(path):
    ctx = mp.get_context("fork")
    lock = _NamedLock(path)
    lock.acquire()
    results = ctx.Queue()
    child = ctx.Process(target=child_after_fork, args=(lock, path, results))
    child.start()
    inherited, own = results.get(timeout=60)
    child.join(timeout=60)
    assert child.exitcode == 0
    assert inherited and "inherited across fork" in inherited[0]
    assert own is False, "the parent holds it: the child's own instance must wait"
    assert word(path) >> 32 == os.getpid(), "the child's exit (and its copy's drop) left the parent's lock held"
    lock.release()


def test_dropping_a_holder_releases_it(path):
    a, b = _NamedLock(path), _NamedLock(path)
    a.acquire()
    a.acquire()
    del a
    assert b.try_acquire()
    b.release()


def test_an_exception_in_the_block_releases_it(path):
    a = _NamedLock(path)
    with pytest.raises(KeyError):
        with a:
            raise KeyError("x")
    assert a.depth == 0 and word(path) == 0


def test_bad_paths_raise_typed_errors(tmp_path):
    with pytest.raises(errors.NotFoundError):
        _NamedLock(tmp_path / "missing" / "x.lock")
    with pytest.raises(errors.InvalidNameError):
        _NamedLock("")
    with pytest.raises(errors.SeqringError):
        _NamedLock(tmp_path)  # a directory
    odd = tmp_path / "odd.lock"
    odd.write_bytes(b"abc")  # not whole 8-byte words
    with pytest.raises(errors.SeqringError, match="odd.lock"):
        _NamedLock(odd)
    target = tmp_path / "target"
    target.write_bytes(b"12345678")
    link = tmp_path / "link.lock"
    link.symlink_to(target)  # planted in a shared directory: the lock would write into the target
    with pytest.raises(errors.SeqringError, match="symbolic link"):
        _NamedLock(link)
    assert target.read_bytes() == b"12345678"
    with pytest.raises(TypeError):
        _NamedLock(3)


def test_an_empty_lock_file_is_sized_and_used(tmp_path):
    empty = tmp_path / "empty.lock"
    empty.write_bytes(b"")  # a creator that died before sizing it, or the earlier flock version's lock file
    a, b = _NamedLock(empty), _NamedLock(empty)
    assert empty.stat().st_size == 8 and word(empty) == 0
    with a:
        assert word(empty) >> 32 == os.getpid() and not b.try_acquire()
    assert word(empty) == 0


@pytest.mark.skipif(os.geteuid() == 0, reason="root ignores file modes")
def test_a_lock_file_of_another_mode_is_permission_denied(tmp_path):
    locked = tmp_path / "denied.lock"
    locked.write_bytes(bytes(8))
    locked.chmod(0o400)
    with pytest.raises(errors.PermissionDeniedError):
        _NamedLock(locked)
