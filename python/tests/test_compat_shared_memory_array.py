"""seqring.compat.SharedMemoryArray: ataraxis 7.2.0's calls, bad input, pickling into spawned processes, and the
array() lock serialising read-modify-writes across processes."""

import gc
import os
import pickle
import warnings
import subprocess
import sys
import time
from multiprocessing.context import set_spawning_popen

import numpy as np
import pytest

from seqring import SharedArray
from seqring._seqring import _NamedLock
from seqring.compat import SharedMemoryArray


def transfer(instance):
    """``instance`` pickled and unpickled as while starting a process (the only transfer ataraxis allows)."""
    set_spawning_popen(object())
    try:
        data = pickle.dumps(instance)
    finally:
        set_spawning_popen(None)
    return pickle.loads(data)


@pytest.fixture
def arr(name):
    a = SharedMemoryArray.create_array(name, np.arange(6, dtype=np.int32).reshape(2, 3))
    yield a
    a.destroy()


def test_create_array_copies_the_prototype(arr, name):
    assert arr.name == name and arr.shape == (2, 3) and arr.datatype == np.dtype(np.int32)
    assert arr.is_connected
    with arr.array() as a:
        np.testing.assert_array_equal(a, np.arange(6).reshape(2, 3))
    # Another client sees the same contents through seqring itself.
    np.testing.assert_array_equal(SharedArray.open(name).read(), np.arange(6).reshape(2, 3))
    assert "connected=True" in repr(arr) and name in repr(arr)


def test_get_and_set_items(arr):
    value = arr[1, 2]
    assert value == 5 and isinstance(value, np.int32)
    row = arr[0]
    row[:] = 99  # a copy: the shared array is unchanged
    np.testing.assert_array_equal(arr[0], [0, 1, 2])
    arr[0, 0] = 7
    arr[1] = [10, 11, 12]
    arr[0, 1:] = 3.9  # converted as numpy assignment converts
    np.testing.assert_array_equal(arr[:], [[7, 3, 3], [10, 11, 12]])
    np.testing.assert_array_equal(arr[..., 0], [7, 10])


def test_bad_items(arr):
    with pytest.raises(IndexError):
        arr[5]
    with pytest.raises(IndexError):
        arr[0, 3] = 1
    with pytest.raises(ValueError):
        arr[0] = [1, 2]
    np.testing.assert_array_equal(arr[:], np.arange(6).reshape(2, 3))


def test_create_array_rejects_bad_input(name, arr):
    with pytest.raises(TypeError):
        SharedMemoryArray.create_array(name + "x", [1, 2, 3])
    with pytest.raises(FileExistsError):
        SharedMemoryArray.create_array(name, np.zeros(3))
    with pytest.raises(ValueError):
        SharedMemoryArray.create_array("no/slashes", np.zeros(3))
    with pytest.raises(TypeError):
        SharedMemoryArray.create_array(name + "o", np.array([object()]))
    # ataraxis: a 0-d prototype fails its slice assignment (IndexError), an empty one its zero-byte buffer
    # (ValueError); neither leaves a region behind.
    with pytest.raises(IndexError):
        SharedMemoryArray.create_array(name + "z", np.array(5, dtype=np.uint8))
    with pytest.raises(ValueError):
        SharedMemoryArray.create_array(name + "e", np.array([], dtype=np.float64))
    with pytest.raises(ValueError):
        SharedMemoryArray.create_array(name + "e", np.zeros((3, 0)))
    for suffix in ("z", "e"):
        with pytest.raises(FileNotFoundError):
            SharedArray.open(name + suffix)


FIXED_SIZE = [
    np.array(["a", "bc", "def"], dtype="<U3"),
    np.array([b"ab", b"c", b""], dtype="S2"),
    np.array([(1, 2.5, b"x"), (3, -1.0, b"yz")], dtype=[("id", "<i4"), ("value", "<f8"), ("tag", "S2")]),
    np.arange(4, dtype=">i8"),
    np.array(["2026-01-01", "2026-06-01"], dtype="datetime64[ns]"),
    np.array(["x", "", "z", "w"], dtype="<U1"),
    np.array(
        [(1, [0.5, 1.5], ("ab", True)), (2, [2.5, 3.5], ("c", False))],
        dtype=[("id", ">u4"), ("pos", "<f4", (2,)), ("meta", [("name", "<U2"), ("ok", "?")])],
    ),
]


def child_edits_fixed_size(shared, done):
    """Runs in a spawned child: checks what the parent wrote, and writes element 0 back from element -1."""
    try:
        shared[0] = shared[-1]
        with shared.array() as view:
            view[1] = view[-1]
        done.put(("ok", shared[:].tolist()))
    except BaseException as e:  # noqa: BLE001
        done.put(("error", repr(e)))


@pytest.mark.parametrize("prototype", FIXED_SIZE, ids=lambda p: p.dtype.str)
def test_fixed_size_dtypes_are_shared_across_processes(name, prototype, children):
    shared = SharedMemoryArray.create_array(name, prototype)
    try:
        assert shared.datatype == prototype.dtype and shared.shape == prototype.shape
        np.testing.assert_array_equal(shared[:], prototype)
        assert type(shared[0]) is type(prototype[0])
        # The region records the dtype: a handle opened by the name alone finds it, and an instance made from the
        # name alone connects and checks it.
        native = SharedArray.open(name)
        assert (native.dtype, native.shape) == (prototype.dtype, prototype.shape)
        np.testing.assert_array_equal(native.read(), prototype)
        with pytest.raises(TypeError):
            SharedMemoryArray(name, prototype.shape, np.dtype("<U9"), None)
        done = children.ctx.Queue()
        children.start(child_edits_fixed_size, shared, done)
        status, seen = done.get(timeout=60)
        children.join_ok()
        assert status == "ok", seen
        expected = prototype.copy()
        expected[0] = prototype[-1]
        expected[1] = prototype[-1]
        np.testing.assert_array_equal(shared[:], expected)
        # What the child read, back in the dtype (tolist() gives the subarray fields of a record as arrays).
        np.testing.assert_array_equal(np.array(seen, dtype=prototype.dtype), expected)
    finally:
        shared.destroy()


def test_replacing_a_live_array_survives_the_old_instance(name):
    """create_array(exists_ok=True) over a live instance, then the old instance's collection: the new array keeps
    its name (it was removed by the old creator's collection before)."""
    old = SharedMemoryArray.create_array(name, np.zeros(2))
    new = SharedMemoryArray.create_array(name, np.ones(3), exists_ok=True)
    del old
    gc.collect()
    child = subprocess.run(
        [sys.executable, "-c", "import sys, numpy as np; from seqring.compat import SharedMemoryArray as S; "
         "print(S(sys.argv[1], (3,), np.dtype('<f8'), None)[:].sum())", name],
        capture_output=True, text=True, timeout=60,
    )
    assert child.returncode == 0, child.stderr
    assert float(child.stdout) == 3.0
    new.destroy()
    with pytest.raises(FileNotFoundError):
        SharedArray.open(name)


def test_exists_ok_replaces(arr, name):
    b = SharedMemoryArray.create_array(name, np.ones(4, dtype=np.float64), exists_ok=True)
    try:
        assert b.shape == (4,) and b.datatype == np.float64
        np.testing.assert_array_equal(SharedArray.open(name).read(), np.ones(4))
    finally:
        b.destroy()


def test_disconnected_instances_refuse_access(name):
    a = SharedMemoryArray.create_array(name, np.zeros(3, dtype=np.uint8), auto_connect=False)
    try:
        # As in ataraxis, the creator is connected whatever auto_connect says.
        assert a.is_connected
        a[0] = 1
        assert a[0] == 1
        a.disconnect()
        assert not a.is_connected
        assert SharedArray.open(name).shape == (3,), "the region stays while its creator is disconnected"
        with pytest.raises(ConnectionError):
            a[0]
        with pytest.raises(ConnectionError):
            a[0] = 1
        with pytest.raises(ConnectionError):
            with a.array():
                pass
        a.connect()
        a.connect()  # a no-op
        a[0] = 4
        a.disconnect()
        a.disconnect()  # a no-op
        with pytest.raises(ConnectionError):
            a[0]
        a.connect()  # the creator kept the region while disconnected
        assert a[0] == 4
    finally:
        a.destroy()


def test_destroy_frees_the_name(name):
    a = SharedMemoryArray.create_array(name, np.zeros(2))
    a.destroy()
    assert not a.is_connected
    with pytest.raises(FileNotFoundError):
        SharedArray.open(name)
    a.destroy()  # a no-op
    with pytest.raises(FileNotFoundError):
        a.connect()


def test_buffer_destruction_on_collection(arr, name):
    b = transfer(arr)
    b.enable_buffer_destruction()
    del b
    gc.collect()
    with pytest.raises(FileNotFoundError):
        SharedArray.open(name)


def test_connecting_by_hand(arr, name):
    b = SharedMemoryArray(name, (2, 3), np.dtype(np.int32), None)
    assert b.is_connected and b[1, 0] == 3
    with pytest.raises(FileNotFoundError):
        SharedMemoryArray(name + "-missing", (2,), np.dtype(np.int32), None)
    with pytest.raises(ValueError):  # another shape than the array's
        SharedMemoryArray(name, (3, 2), np.dtype(np.int32), None)


def test_array_context_writes_back_changes_on_exit(arr, name):
    other = SharedArray.open(name)
    with arr.array() as a:
        a[0, 0] = 100
        # Not visible until the block exits: it is a snapshot.
        assert other.read()[0, 0] == 0
        # A writer that does not take the lock changes another element meanwhile.
        other.write(np.array([[0, 1, 2], [3, 4, 55]], dtype=np.int32))
    np.testing.assert_array_equal(other.read(), [[100, 1, 2], [3, 4, 55]])
    version = other.version
    with arr.array(with_lock=False) as a:
        assert a[0, 0] == 100
    assert other.version == version, "an unchanged block writes nothing"
    with pytest.raises(RuntimeError):
        with arr.array() as a:
            a[1, 1] = -1
            raise RuntimeError("changes made before an error stay, as in shared memory")
    assert arr[1, 1] == -1


def test_a_set_inside_the_instances_own_block_keeps_the_lock(arr, name):
    with arr.array() as view:
        arr[0, 0] = 9  # the lock is reentrant: no deadlock, and the block still holds it afterwards
        other = _NamedLock(SharedArray.open(name))  # another holder, as another process would be
        assert other.holder_pid == os.getpid()
        assert not other.try_acquire()
        view[1, 1] = 8
    assert other.try_acquire(), "the block's exit released it"
    other.release()
    np.testing.assert_array_equal(arr[:], [[9, 1, 2], [3, 8, 5]])


def test_nan_left_alone_is_no_change(name):
    a = SharedMemoryArray.create_array(name, np.array([np.nan, 1.0]))
    try:
        other = SharedArray.open(name)
        with a.array() as view:
            other.write(np.array([np.nan, 2.0]))
            assert np.isnan(view[0])
        assert other.read()[1] == 2.0
    finally:
        a.destroy()


def test_pickles_as_a_reconnecting_handle(arr, name):
    with pytest.raises(RuntimeError):  # outside the start of a process, as ataraxis
        pickle.dumps(arr)
    assert arr.is_connected, "the refusal changes nothing"
    arr[0, 0] = 42
    b = transfer(arr)
    assert b.is_connected and b.name == name and b.shape == (2, 3) and b.datatype == np.int32
    assert b[0, 0] == 42
    b.disconnect()
    assert arr[0, 0] == 42, "an unpickled copy does not own the array"
    c = SharedMemoryArray.create_array(name + "-lazy", np.zeros(1), auto_connect=False)
    try:
        d = transfer(c)
        assert not d.is_connected
        d.connect()
        assert d[0] == 0.0
    finally:
        c.destroy()


def child_increments(arr, rounds, start):
    start.wait()
    for _ in range(rounds):
        with arr.array() as a:
            a[0] += 1
        arr[1] = arr[1] + 0  # a set through __setitem__ also takes the lock
    with arr.array() as a:
        a[2] = 1


def test_spawned_children_reconnect_and_locked_blocks_lose_no_increment(name, children):
    arr = SharedMemoryArray.create_array(name, np.zeros(3, dtype=np.int64))
    try:
        rounds = 300
        start = children.ctx.Barrier(4)
        for _ in range(3):
            children.start(child_increments, arr, rounds, start)
        start.wait(timeout=60)
        for _ in range(rounds):
            with arr.array() as a:
                a[0] += 1
        children.join_ok()
        assert arr[0] == 4 * rounds
        assert arr[2] == 1
    finally:
        arr.destroy()


@pytest.mark.parametrize(
    "dtype,value",
    [
        (np.float64, 2.5),
        (np.int64, -(2**40)),
        (np.bool_, True),
        (np.complex128, 1 - 2j),
        (np.uint8, 200),
        (np.float32, 0.1),
    ],
)
def test_sets_and_blocks_of_every_kind(name, dtype, value):
    a = SharedMemoryArray.create_array(name, np.zeros(4, dtype=dtype))
    try:
        a[1] = value
        with a.array() as view:
            view[3] = value
        want = np.zeros(4, dtype=dtype)
        want[[1, 3]] = value  # numpy's own assignment
        got = SharedArray.open(name).read()
        assert got.dtype == want.dtype and got.tobytes() == want.tobytes()
        assert a[3] == want[3] and type(a[3]) is type(want[3])
    finally:
        a.destroy()


def child_dies_in_a_block(arr, inside, never):
    with arr.array() as view:
        view[0, 0] = 123
        inside.set()
        never.recv()  # blocks until it is killed


def test_a_block_killed_inside_releases_the_lock_and_writes_nothing(arr, name, children):
    inside = children.ctx.Event()
    never, keep = children.ctx.Pipe(duplex=False)
    child = children.start(child_dies_in_a_block, arr, inside, never)
    try:
        assert inside.wait(timeout=60)
        other = _NamedLock(SharedArray.open(name))
        assert other.holder_pid == child.pid and not other.try_acquire()  # held by the child
        child.kill()  # SIGKILL on POSIX, TerminateProcess on Windows
        child.join(timeout=60)
        assert other.try_acquire(), "the next acquirer takes a dead holder's lock over (ataraxis's stays held)"
        other.release()
    finally:
        keep.close()
    assert arr[0, 0] == 0, "the block died before its exit: nothing was written"
    arr[0, 0] = 1
    assert arr[0, 0] == 1


@pytest.mark.parametrize("with_lock", [False, True])
def test_blocks_handed_out_before_either_is_entered_are_distinct(arr, with_lock):
    """What two threads do when the GIL passes between one's ``array()`` and its ``with``: each gets a block of its
    own, and both enter (the instance's lock is reentrant within a thread)."""
    first, second = arr.array(with_lock=with_lock), arr.array(with_lock=with_lock)
    assert first is not second
    with first as outer:
        with second as inner:
            inner[0, 1] = 7
        outer[0, 2] = 8
    assert (arr[0, 1], arr[0, 2]) == (7, 8)
    with arr.array(with_lock=with_lock) as again:  # a block is free again after its exit
        again[0, 1] += 1
    assert arr[0, 1] == 8


def test_threads_sharing_one_instance_lose_no_increment(arr):
    """ataraxis's multiprocessing.Lock excludes threads too: so must one SharedMemoryArray's lock."""
    import sys
    import threading

    def increment():
        for _ in range(200):
            with arr.array() as view:
                value = view[0, 0]
                time.sleep(0)  # let another thread run inside the block if the lock allows it
                view[0, 0] = value + 1

    before = int(arr[0, 0])
    interval = sys.getswitchinterval()
    sys.setswitchinterval(1e-5)
    try:
        threads = [threading.Thread(target=increment) for _ in range(4)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(timeout=120)
    finally:
        sys.setswitchinterval(interval)
    assert int(arr[0, 0]) == before + 4 * 200


@pytest.mark.parametrize("dtype", ["<f8", "<i4", "|u1", "|b1"])
def test_sets_store_what_numpy_assignment_stores(name, dtype):
    """Every kind of key and value arr[key] = value takes (the native element and slice paths and the numpy
    fallback) leaves the array as numpy's own assignment leaves a copy, and raises where numpy raises."""
    reference = np.zeros(8, dtype=dtype)
    shared = SharedMemoryArray.create_array(name, reference)
    keys = [3, -1, slice(0, 8), slice(2, 5), slice(-3, None), slice(5, 2), slice(None, 100), slice(0, 8, 2), [1, 4]]
    values = [1, 0, True, 2.0, 7.9, np.arange(8)[:3], np.ones(3, dtype=dtype), np.ones(8, dtype=dtype)]
    try:
        for key in keys:
            for value in values:
                expected = reference.copy()
                try:
                    with warnings.catch_warnings():
                        warnings.simplefilter("ignore")
                        expected[key] = value
                except (ValueError, TypeError, OverflowError) as e:
                    with pytest.raises(type(e)):
                        shared[key] = value
                    continue
                shared[key] = value
                np.testing.assert_array_equal(shared[:], expected, err_msg=f"{key!r} = {value!r}")
                reference = expected
        with pytest.raises(IndexError):
            shared[8] = 1
    finally:
        shared.destroy()


def test_nested_blocks_of_one_instance_each_get_a_buffer_of_their_own(arr):
    with arr.array() as outer:
        outer[0, 0] = 50
        with arr.array() as inner:  # the lock is reentrant for this thread; the cached block is in use
            assert inner is not outer and inner[0, 0] == 0, "the outer block is not written back yet"
            inner[1, 1] = 7
        assert arr[1, 1] == 7
    # The outer block's exit saw the inner write: it writes back only the element it changed.
    np.testing.assert_array_equal(arr[:], [[50, 1, 2], [3, 7, 5]])


def test_a_block_yields_the_same_buffer_each_time_as_ataraxis_view(arr, name):
    with arr.array() as first:
        first[0, 1] = 10
    SharedArray.open(name).write(np.full((2, 3), 3, dtype=np.int32))
    with arr.array(with_lock=True) as second:
        assert second is first, "the instance's buffer, read again"
        np.testing.assert_array_equal(second, np.full((2, 3), 3))
    with arr.array(with_lock=False) as unlocked:
        unlocked[1, 2] = -1
    assert arr[1, 2] == -1 and arr[0, 1] == 3


@pytest.mark.parametrize("with_lock", [True, False])
def test_a_block_after_another_handle_reshaped_the_array_yields_and_writes_the_new_layout(arr, name, with_lock):
    """A block reuses its buffer only while the array keeps the buffer's layout: after a reshape elsewhere it reads
    into a buffer of the new shape, writes back into the new layout, and comes back to the old shape as well."""
    with arr.array(with_lock=with_lock) as first:
        first[0, 0] = 1
    other = SharedArray.open(name)
    other.reshape((3, 2))
    other.write(np.arange(6, dtype=np.int32).reshape(3, 2) * 10)
    with arr.array(with_lock=with_lock) as second:
        assert second.shape == (3, 2) and second is not first
        np.testing.assert_array_equal(second, [[0, 10], [20, 30], [40, 50]])
        second[2, 1] = -5
    np.testing.assert_array_equal(other.read(), [[0, 10], [20, 30], [40, -5]])
    other.reshape((2, 3))
    other.write(np.full((2, 3), 4, dtype=np.int32))
    with arr.array(with_lock=with_lock) as third:
        np.testing.assert_array_equal(third, np.full((2, 3), 4))
        third[1, 2] = 6
    np.testing.assert_array_equal(other.read(), [[4, 4, 4], [4, 4, 6]])


@pytest.mark.parametrize("dtype", ["|u1", "<i2", "<f8", "<c16", [("a", "<i4"), ("b", "S3")]])
def test_a_block_writes_back_exactly_the_elements_it_changed(name, dtype):
    """The block's exit finds the changed span a word at a time: every pattern of changed elements (first, last,
    both ends, inside one word, across the tail) lands, and an element another writer changed meanwhile (outside
    the block's changes) is kept."""
    rng = np.random.default_rng(21)
    size = 19  # not a multiple of a word for one-byte elements: a tail past the last whole word
    prototype = np.zeros(size, dtype=dtype)
    prototype.view(np.uint8)[:] = rng.integers(0, 256, prototype.nbytes, dtype=np.uint8)
    shared = SharedMemoryArray.create_array(name, prototype)
    other = SharedArray.open(name)
    patterns = [[0], [size - 1], [0, size - 1], [3], [3, 4], [7, 8], [16, 18], [17], list(range(size))]
    try:
        expected = prototype.copy()
        for changed in patterns:
            for meanwhile in (None, 5):
                with shared.array() as view:
                    if meanwhile is not None and meanwhile not in changed:
                        # A write that does not take the lock: the block keeps it, writing back only its own.
                        now = other.read()
                        now.view(np.uint8).reshape(size, -1)[meanwhile] ^= 0xFF
                        other.write(now)
                        expected[meanwhile] = now[meanwhile]
                    for i in changed:
                        raw = view.view(np.uint8).reshape(size, -1)
                        raw[i] ^= 0x5A
                        expected.view(np.uint8).reshape(size, -1)[i] = raw[i]
                assert other.read().tobytes() == expected.tobytes(), f"changed {changed}, meanwhile {meanwhile}"
    finally:
        shared.destroy()


def test_array_takes_with_lock_as_pyo3_did_and_refuses_the_rest_with_its_errors(arr):
    """``array()`` parses ``with_lock=True/False`` itself (python/src/fastcall.rs) and hands every other call to
    pyo3's method: the same signature, results and errors as a plain pyo3 method."""
    import inspect

    assert str(inspect.signature(SharedMemoryArray.array)) == "(self, /, *, with_lock=True)"
    assert "consistent snapshot" in SharedMemoryArray.array.__doc__
    for kwargs in ({}, {"with_lock": True}, {"with_lock": False}, {"with_lock": np.bool_(False)}):
        with arr.array(**kwargs) as view:
            view[0, 0] += 1
    assert arr[0, 0] == 4
    with pytest.raises(TypeError, match=r"array\(\) takes 0 positional arguments but 1 was given"):
        arr.array(True)
    with pytest.raises(TypeError, match="unexpected keyword argument 'foo'"):
        arr.array(with_lock=True, foo=1)
    with pytest.raises(TypeError, match="'int' object is not an instance of 'bool'"):
        arr.array(with_lock=1)
    # Unbound, through the class, and with the keyword built at run time (not an interned constant).
    key = "".join(["with_", "lock"])
    with SharedMemoryArray.array(arr, **{key: False}) as view:
        assert view.shape == (2, 3)
