"""SharedArray from one process: lifecycle, reads and writes of every dtype, and bad input."""

import os

import numpy as np
import pytest

import seqring
from seqring import SharedArray

DTYPES = ["?", "i1", "i2", "i4", "i8", "u1", "u2", "u4", "u8", "f2", "f4", "f8", "c8", "c16"]


def sample(shape, dtype):
    rng = np.random.default_rng(7)
    dtype = np.dtype(dtype)
    if dtype.kind == "b":
        return rng.integers(0, 2, size=shape).astype(dtype)
    if dtype.kind == "c":
        return (rng.standard_normal(shape) + 1j * rng.standard_normal(shape)).astype(dtype)
    if dtype.kind == "f":
        return rng.standard_normal(shape).astype(dtype)
    info = np.iinfo(dtype)
    return rng.integers(info.min, info.max, size=shape, dtype=dtype, endpoint=True)


@pytest.mark.parametrize("dtype", DTYPES)
def test_every_dtype_round_trips_between_handles(name, dtype):
    data = sample((3, 4), dtype)
    with SharedArray.create(name, (3, 4), dtype) as writer:
        assert writer.version == 0
        assert (writer.read() == 0).all(), "a new array is zero-filled"
        writer.write(data)
        with SharedArray.open(name) as reader:
            assert reader.dtype == np.dtype(dtype) and reader.shape == (3, 4)
            got = reader.read()
            assert got.dtype == np.dtype(dtype) and got.shape == (3, 4)
            assert got.tobytes() == data.tobytes()
            assert reader.version == writer.version == 1


def test_read_into_out_fills_and_returns_it(name):
    data = np.arange(24, dtype=np.int32).reshape(2, 3, 4)
    with SharedArray.create(name, (2, 3, 4), np.int32) as a:
        a.write(data)
        out = np.full((2, 3, 4), -1, dtype=np.int32)
        assert a.read(out=out) is out
        np.testing.assert_array_equal(out, data)


def test_read_takes_out_as_pyo3_did_and_refuses_the_rest_with_its_errors(name):
    """``read`` parses ``out`` itself (python/src/fastcall.rs) and hands every other call to pyo3's method: the same
    signature, results and errors as a plain pyo3 method with ``out=None``."""
    import inspect

    assert str(inspect.signature(SharedArray.read)) == "(self, /, out=None)"
    assert "One consistent read" in SharedArray.read.__doc__
    with SharedArray.create(name, 3, "f8") as a:
        a.write([1.0, 2.0, 3.0])
        for new in (a.read(), a.read(None), a.read(out=None), SharedArray.read(a)):
            np.testing.assert_array_equal(new, [1.0, 2.0, 3.0])
        out = np.zeros(3)
        key = "".join(["o", "ut"])  # built at run time: not the interned constant
        for filled in (a.read(out), a.read(out=out), a.read(**{key: out}), SharedArray.read(a, out=out)):
            assert filled is out
        np.testing.assert_array_equal(out, [1.0, 2.0, 3.0])
        with pytest.raises(TypeError, match="out must be a numpy array, not int"):
            a.read(out=1)
        with pytest.raises(TypeError, match=r"read\(\) takes from 0 to 1 positional arguments but 2 were given"):
            a.read(out, out)
        with pytest.raises(TypeError, match="unexpected keyword argument 'o'"):
            a.read(o=out)
        with pytest.raises(TypeError, match="multiple values for argument 'out'"):
            a.read(out, out=out)
        with pytest.raises(seqring.errors.ShapeError):
            a.read(out=np.zeros(4))


def test_read_returns_a_new_array_each_time(name):
    with SharedArray.create(name, 4, "f8") as a:
        a.write([1.0, 2.0, 3.0, 4.0])
        first = a.read()
        first[:] = 0
        np.testing.assert_array_equal(a.read(), [1.0, 2.0, 3.0, 4.0])


def test_versions_count_writes_and_open_checks_dtype_and_shape(name):
    with SharedArray.create(name, (5,), np.uint16) as a:
        for i in range(3):
            a.write(np.full(5, i, dtype=np.uint16))
        assert a.version == 3
        assert SharedArray.open(name, dtype=np.uint16, shape=5).read().tolist() == [2] * 5
        assert SharedArray.open(name, dtype="<u2", shape=(5,)).version == 3


def test_write_converts_only_lossless_values(name):
    with SharedArray.create(name, 3, np.float64) as a:
        a.write([1, 2, 3])  # ints into floats: same kind, fine
        np.testing.assert_array_equal(a.read(), [1.0, 2.0, 3.0])
    with SharedArray.create(name, 3, np.int32) as b:
        with pytest.raises(seqring.DTypeMismatchError):
            b.write(np.array([1.5, 2.5, 3.5]))
        b.write(np.array([1, 2, 3], dtype=np.int64))
        assert b.read().tolist() == [1, 2, 3]
        with pytest.raises(seqring.DTypeMismatchError):
            b.write(np.array([1, 2, 2**40], dtype=np.int64))
        assert b.read().tolist() == [1, 2, 3] and b.version == 1
    with SharedArray.create(name, 2, np.uint8) as c:
        c.write([7, 255])
        assert c.read().tolist() == [7, 255]
        for bad in ([-1, 0], [256, 0], [1 + 1j, 0]):
            with pytest.raises(seqring.DTypeMismatchError):
                c.write(bad)


def test_floats_round_into_narrower_floats_unless_they_overflow(name):
    with SharedArray.create(name, 3, np.float32) as a:
        a.write([0.1, 1e-50, -2.5])
        a[1] = 0.3  # Python floats take the element fast path; check it agrees with numpy
        expected = np.array([0.1, 0.3, -2.5], dtype=np.float32)
        assert a.read().tobytes() == expected.tobytes()
        a[2] = float("nan")
        assert np.isnan(a[2])
        for bad in ([1e300, 0, 0], np.array([0, 0, 1e39])):
            with pytest.raises(seqring.DTypeMismatchError):
                a.write(bad)
        with pytest.raises(seqring.DTypeMismatchError):
            a[0] = 1e39
        a[0] = 16777216  # exactly representable
        with pytest.raises(seqring.DTypeMismatchError):
            a[0] = 16777217  # not: ints never round
        assert a[0] == 16777216


@pytest.mark.parametrize("dtype", ["?", "i1", "i2", "i4", "i8", "u1", "u2", "u4", "u8", "f4", "f8"])
def test_python_scalars_convert_like_arrays_of_them(name, dtype):
    """The element fast path (Python bool/int/float) accepts and refuses exactly what the array path does."""
    values = [True, False, 0, 1, -1, 127, 128, 255, 256, -129, 2**31, -(2**31) - 1, 2**53 + 1, 2**63 - 1, 0.5, 2.0,
              -0.0, 3.4e38, 1e39]
    with SharedArray.create(name, 1, dtype) as a, SharedArray.create(name + "-ref", (1,), dtype) as ref:
        for v in values:
            try:
                ref.write(np.array([v]))
                expected = ref.read().tobytes()
            except seqring.DTypeMismatchError:
                expected = None
            try:
                a[0] = v
                got = a.read().tobytes()
            except seqring.DTypeMismatchError:
                got = None
            assert got == expected, f"{v!r} into {dtype}"


def test_non_contiguous_input_is_written_in_order(name):
    with SharedArray.create(name, (2, 2), "i8") as a:
        src = np.arange(16, dtype=np.int64).reshape(4, 4)[::2, ::2]
        a.write(src)
        np.testing.assert_array_equal(a.read(), src)


def test_capacity_below_the_shape_still_reserves_the_shape(name):
    with SharedArray.create(name, (4, 4), "f4", capacity=1) as a:
        a.write(np.ones((4, 4), dtype=np.float32))
        assert a.read().sum() == 16.0


def test_the_creator_removes_the_array_and_openers_do_not(name):
    a = SharedArray.create(name, 2, "u1")
    b = SharedArray.open(name)
    b.close()
    SharedArray.open(name).close()  # still there
    a.close()
    assert a.closed
    with pytest.raises(FileNotFoundError):
        SharedArray.open(name)


def test_destroy_removes_now(name):
    a = SharedArray.create(name, 2, "u1")
    b = SharedArray.open(name)
    a.destroy()
    assert a.closed
    with pytest.raises(seqring.NotFoundError):
        SharedArray.open(name)
    b.close()
    with pytest.raises(seqring.ClosedError):
        a.destroy()


def test_a_closed_handle_refuses_everything(name):
    a = SharedArray.create(name, 2, "u1")
    a.close()
    for call in (a.read, lambda: a.write([1, 2]), lambda: a.version, lambda: a.read(out=np.zeros(2, "u1"))):
        with pytest.raises(seqring.ClosedError) as e:
            call()
        assert isinstance(e.value, ValueError) and name in str(e.value)
    assert "closed" in repr(a)


def test_missing_and_existing_names(name):
    with pytest.raises(seqring.NotFoundError) as e:
        SharedArray.open(name)
    assert isinstance(e.value, FileNotFoundError) and isinstance(e.value, seqring.SeqringError)
    assert name in str(e.value)
    with SharedArray.create(name, 3, "f8") as a:
        a.write([1.0, 2.0, 3.0])
        with pytest.raises(FileExistsError):
            SharedArray.create(name, 3, "f8")
        with SharedArray.create(name, 2, "i4", exists_ok=True) as replaced:
            assert replaced.read().tolist() == [0, 0]
            assert SharedArray.open(name).dtype == np.dtype("i4")
            replaced.close()


@pytest.mark.parametrize("bad", ["", "a/b", "..", "x" * 201, "spa ce"])
def test_invalid_names(bad):
    with pytest.raises(seqring.InvalidNameError) as e:
        SharedArray.create(bad, 2, "f8")
    assert isinstance(e.value, ValueError)


def test_open_with_the_wrong_dtype_or_shape(name):
    with SharedArray.create(name, (2, 3), "f8"):
        with pytest.raises(seqring.DTypeMismatchError) as e:
            SharedArray.open(name, dtype=np.float32)
        assert isinstance(e.value, TypeError) and "<f8" in str(e.value)
        with pytest.raises(seqring.ShapeError) as e:
            SharedArray.open(name, shape=(3, 2))
        assert isinstance(e.value, ValueError)


@pytest.mark.parametrize("dtype", ["O", [("a", "f8"), ("b", "O")], "U0", "S", ("f8", (2,))])
def test_unsupported_dtypes(name, dtype):
    """Python objects, zero-size dtypes and subarray dtypes (numpy expands them into the shape) are refused; every
    other fixed-size dtype is held (tests/test_shared_array_records.py)."""
    with pytest.raises(seqring.DTypeMismatchError) as e:
        SharedArray.create(name, 2, dtype)
    assert isinstance(e.value, TypeError)
    with pytest.raises(seqring.NotFoundError):
        SharedArray.open(name)


def test_bad_shapes(name):
    with pytest.raises(seqring.ShapeError):
        SharedArray.create(name, (-1, 2), "f8")
    with pytest.raises(seqring.ShapeError):
        SharedArray.create(name, (1,) * 9, "f8")
    with pytest.raises(seqring.ShapeError):
        SharedArray.create(name, (2**40, 2**40), "f8")


def test_write_and_read_out_with_the_wrong_layout(name):
    with SharedArray.create(name, (2, 3), "f8") as a:
        a.write(np.ones((2, 3)))
        for bad in (np.ones((3, 2)), np.ones(6), np.ones((2, 3, 1))):
            with pytest.raises(seqring.ShapeError):
                a.write(bad)
        for out, error in (
            (np.zeros((2, 3), "f4"), seqring.DTypeMismatchError),
            (np.zeros((3, 2)), seqring.ShapeError),
            (np.zeros((2, 6))[:, ::2], seqring.ShapeError),
            (np.zeros((2, 3), ">f8"), seqring.DTypeMismatchError),
        ):
            with pytest.raises(error):
                a.read(out=out)
        with pytest.raises(TypeError):
            a.read(out=[0.0] * 6)
        frozen = np.zeros((2, 3))
        frozen.flags.writeable = False
        with pytest.raises(seqring.ShapeError):
            a.read(out=frozen)
        assert a.version == 1, "no bad write reached the array"
        np.testing.assert_array_equal(a.read(), np.ones((2, 3)))


def test_regions_are_private_files_in_dev_shm(name):
    with SharedArray.create(name, 2, "f8"):
        path = f"/dev/shm/{name}"
        assert os.path.exists(path)
        assert os.stat(path).st_mode & 0o777 == 0o600
    assert not os.path.exists(path)


def test_element_and_numpy_keys_read_and_write_like_numpy(name):
    """Every kind of key, checked against a plain numpy array given the same operations."""
    mirror = np.arange(24, dtype=np.int64).reshape(2, 3, 4)
    with SharedArray.create(name, (2, 3, 4), np.int64) as a:
        a.write(mirror)
        keys = [(1, 2, 3), (-1, -3, 0), (0, 1), 1, (slice(None), 1), (Ellipsis, 2), ([0, 1], [2, 0]),
                mirror % 3 == 0, (0, slice(1, None, 2), slice(None, None, -1))]
        for key in keys:
            np.testing.assert_array_equal(a[key], mirror[key])
        assert type(a[1, 2, 3]) is np.int64, "one int per dimension gives a numpy scalar, as numpy does"
        assert type(a[np.int32(1), np.uint8(2), -1]) is np.int64, "numpy integers are indexes too"
        for key, value in [((1, 2, 3), -7), ((0, 0, -1), np.int8(5)), ((1,), 9), ((slice(None), 0), [3, 4, 5, 6]),
                           (mirror > 20, 0), ((Ellipsis, 1), np.arange(6).reshape(2, 3))]:
            a[key] = value
            mirror[key] = value
            np.testing.assert_array_equal(a.read(), mirror)
        version = a.version
        a[0, 0, 0] = mirror[0, 0, 0]
        a[1] = mirror[1]
        assert a.version == version + 1, "an element write is one write; a write that changes nothing is none"
        for bad in [(2, 0, 0), (0, 0, 4), (0, -4, 0)]:
            with pytest.raises(IndexError):
                a[bad]
            with pytest.raises(IndexError):
                a[bad] = 1
        with pytest.raises(seqring.DTypeMismatchError):
            a[0, 0, 0] = 1.5
        with pytest.raises(ValueError):
            a[0] = np.zeros(5)  # numpy's broadcasting error, from the copy
        np.testing.assert_array_equal(a.read(), mirror)


@pytest.mark.parametrize("dtype", DTYPES)
def test_elements_of_every_dtype_are_numpy_scalars(name, dtype):
    data = sample(5, dtype)
    with SharedArray.create(name, 5, dtype) as a:
        a.write(data)
        for i in range(5):
            got = a[i]
            assert type(got) is type(data[i]) and got == data[i]
        a[2] = data[4]
        assert a[2] == data[4] and a.read().tobytes() == np.concatenate([data[:2], data[4:5], data[3:]]).tobytes()


def test_read_if_changed_gives_the_new_version_with_its_data(name):
    with SharedArray.create(name, 3, "u4") as a:
        assert a.read_if_changed(0) is None
        a.write([1, 2, 3])
        version, data = a.read_if_changed(0)
        assert version == 1 == a.version and data.tolist() == [1, 2, 3]
        assert a.read_if_changed(version) is None
        a[0] = 7
        version, data = a.read_if_changed(version)
        assert version == 2 and data.tolist() == [7, 2, 3]


def test_age_is_none_until_the_first_write(name):
    with SharedArray.create(name, 2, "f4") as a:
        assert a.age is None
        a.write([1, 2])
        assert 0 <= a.age < 60


def test_reshape_within_the_capacity_is_seen_by_every_handle(name):
    with SharedArray.create(name, (2, 3), "f8", capacity=12) as a:
        other = SharedArray.open(name)
        out = np.empty((2, 3))
        a.reshape((3, 4))
        assert a.shape == (3, 4) and other.read().shape == (3, 4), "the opener follows the reshape on its next read"
        with pytest.raises(seqring.ShapeError):
            other.read(out=out)
        with pytest.raises(seqring.ShapeError):
            other.write(np.zeros((2, 3)))
        other.write(np.arange(12.0).reshape(3, 4))
        a.reshape(6, "u8")
        assert (a.dtype, a.shape, a.nbytes) == (np.dtype("<u8"), (6,), 48)
        assert other.read().dtype == np.dtype("<u8") and other[0] == np.arange(12.0)[:1].view("<u8")[0]
        with pytest.raises(seqring.ShapeError):
            a.reshape(13, "f8")
        assert a.capacity_bytes == 96 and len(a) == 6 and a.size == 6 and a.ndim == 1


def forge_dead_writer(name):
    """Leaves the array as a writer SIGKILLed inside its write section leaves it (docs/FORMATS.md: the sequence word
    at 192 odd, the holder's token at 200 naming a pid that no longer exists)."""
    import mmap
    import subprocess
    import sys

    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True)
    pid = int(dead.stdout)
    with open(f"/dev/shm/{name}", "r+b") as f, mmap.mmap(f.fileno(), 0) as m:
        sequence = int.from_bytes(m[192:200], "little")
        m[192:200] = (sequence + 1).to_bytes(8, "little")
        m[200:208] = ((pid << 32) | 1).to_bytes(8, "little")
    return pid


def test_a_dead_writer_times_out_readers_and_writers_until_recovered(name):
    with SharedArray.create(name, 4, "i2", timeout=0.05) as a:
        a.write([1, 2, 3, 4])
        assert a.recover() is False, "nothing to recover"
        assert not a.suspect
        pid = forge_dead_writer(name)
        for call in (a.read, lambda: a.write([5, 6, 7, 8]), lambda: a[0], lambda: a.__setitem__(0, 1)):
            with pytest.raises(seqring.SeqringTimeoutError) as e:
                call()
            assert isinstance(e.value, TimeoutError) and f"pid {pid}" in str(e.value) and "dead" in str(e.value)
        assert a.recover() is True and a.recover() is False
        assert a.suspect, "a recovered array says its contents are suspect"
        assert a.read().tolist() == [1, 2, 3, 4]
        a.write([5, 6, 7, 8])
        assert not a.suspect, "a whole write clears it"
        assert SharedArray.open(name).read().tolist() == [5, 6, 7, 8]


def child_writes_through_a_pickled_handle(array, done):
    array[1] = 42
    array[2:] = [7, 8]
    done.put((array.name, array.read().tolist()))


def test_a_pickled_handle_reopens_the_array_in_a_spawned_process(name, children):
    import pickle

    with SharedArray.create(name, 4, "i8") as a:
        assert pickle.loads(pickle.dumps(a)).read().tolist() == [0, 0, 0, 0]
        done = children.ctx.Queue()
        children.start(child_writes_through_a_pickled_handle, a, done)
        assert done.get(timeout=60) == (name, [0, 42, 7, 8])
        children.join_ok()
        assert a.read().tolist() == [0, 42, 7, 8], "the child wrote the parent's array, not a copy"
    assert not os.path.exists(f"/dev/shm/{name}"), "the child's handle did not keep the array alive"


def child_sets_its_half(name, half, rounds, ready, results):
    a = SharedArray.open(name)
    mine = slice(half * 4, (half + 1) * 4)
    ready.wait()
    stale = 0
    for value in range(1, rounds + 1):
        # Only this process writes this half: anything but its own last value was put back by a stale write.
        stale += int((a.read()[mine] != value - 1).any())
        a[mine] = value
    results.put(stale)


def test_slice_writes_from_two_processes_lose_no_update(name, children):
    """Each process rewrites its own half through a read-modify-write; a write based on a stale copy would put
    the other half back, which the other process sees before its next write."""
    rounds = 20_000
    with SharedArray.create(name, 8, "i8") as a:
        ready = children.ctx.Barrier(2)
        results = children.ctx.Queue()
        for h in (0, 1):
            children.start(child_sets_its_half, name, h, rounds, ready, results)
        stale = [results.get(timeout=120) for _ in range(2)]
        children.join_ok()
        assert stale == [0, 0], "a half was put back to an older value"
        assert a.read().tolist() == [rounds] * 8
        assert a.version == 2 * rounds


def test_numpy_converts_it_with_one_read(name):
    with SharedArray.create(name, (2, 2), "i4") as a:
        a.write([[1, 2], [3, 4]])
        np.testing.assert_array_equal(np.asarray(a), [[1, 2], [3, 4]])
        assert np.asarray(a, dtype="f8").dtype == np.dtype("f8")
        assert np.add(a, 1).tolist() == [[2, 3], [4, 5]]


def test_closing_a_handle_another_thread_waits_in_succeeds_and_that_wait_ends_on_its_own(name):
    """A thread waiting on a (dead) writer does not stop another from closing the handle: the close returns at once,
    and the wait ends as it would have (a timeout), or, if the close came first, the read sees a closed handle."""
    import threading

    a = SharedArray.create(name, 2, "u8", timeout=0.5)
    forge_dead_writer(name)
    entering = threading.Event()
    outcome = []

    def wait_in_read():
        entering.set()
        try:
            a.read()
        except Exception as e:  # noqa: BLE001 (the outcome is asserted below)
            outcome.append(e)

    t = threading.Thread(target=wait_in_read)
    t.start()
    entering.wait()
    a.close()  # never "in use": the waiting read keeps the mapping until it returns
    assert a.closed
    t.join()
    assert isinstance(outcome[0], (seqring.SeqringTimeoutError, seqring.ClosedError)), outcome
    assert not isinstance(outcome[0], RuntimeError)
    with pytest.raises(seqring.NotFoundError):
        SharedArray.open(name)  # the creator's close removed it once the read returned


def wait_inside(a, version):
    """Starts a thread blocked in ``a.wait_changed(version)`` and returns it with its outcome list, once ``a.waiters``
    shows it registered (inside the call, GIL released): a handshake on the array's own waiter count."""
    import threading

    outcome = []
    t = threading.Thread(target=lambda: outcome.append(a.wait_changed(version, timeout=60)))
    t.start()
    while a.waiters == 0:
        assert t.is_alive(), outcome
    return t, outcome


def test_a_close_while_another_thread_waits_inside_unmaps_and_removes_only_when_that_call_returns(name):
    a = SharedArray.create(name, 2, "u8")
    version = a.version
    t, outcome = wait_inside(a, version)
    a.close()
    assert a.closed
    with pytest.raises(seqring.ClosedError):
        a.read()
    with pytest.raises(seqring.ClosedError):
        a.destroy()
    # Still mapped and not removed: the waiting call holds the creator's handle.
    with SharedArray.open(name) as other:
        other.write(np.array([4, 5], "u8"))  # wakes the waiter, which returns the new version
        t.join()
        assert outcome == [other.version] and other.version != version
        assert other.read().tolist() == [4, 5]
    with pytest.raises(seqring.NotFoundError):
        SharedArray.open(name)  # removed when the waiting call returned
    a.close()  # closing again does nothing


def test_destroy_while_another_thread_waits_inside_raises_and_works_after_that_call_returns(name):
    a = SharedArray.create(name, 2, "u8")
    version = a.version
    t, outcome = wait_inside(a, version)
    with pytest.raises(seqring.SeqringError, match="in use by another thread") as refused:
        a.destroy()
    assert not isinstance(refused.value, seqring.ClosedError) and not a.closed
    a.write(np.array([1, 2], "u8"))  # the handle still works: wakes the waiter
    t.join()
    assert outcome == [a.version]
    a.destroy()
    assert a.closed
    with pytest.raises(seqring.NotFoundError):
        SharedArray.open(name)
