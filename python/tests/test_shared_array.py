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


@pytest.mark.parametrize("dtype", [">f8", "O", "U4", "M8[s]", [("a", "f8")]])
def test_unsupported_dtypes(name, dtype):
    with pytest.raises(seqring.DTypeMismatchError):
        SharedArray.create(name, 2, dtype)


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


def test_the_native_layer_refuses_buffers_of_the_wrong_size(name):
    """The Python layer always passes matching buffers; the native one checks anyway and never panics."""
    with SharedArray.create(name, (2, 3), "f8") as a:
        raw = a._raw
        with pytest.raises(seqring.ShapeError):
            raw.read_into("<f8", [2, 3], np.zeros(47, np.uint8))
        with pytest.raises(seqring.ShapeError):
            raw.read_into("<f8", [2, 3], np.zeros(96, np.uint8)[::2])
        with pytest.raises(seqring.ShapeError):
            raw.write("<f8", [2, 3], np.zeros(47, np.uint8))
        with pytest.raises(seqring.DTypeMismatchError):
            raw.write("<x9", [2, 3], np.zeros(48, np.uint8))
        with pytest.raises(TypeError):
            raw.write("<f8", [2, 3], np.zeros(6, np.float64))
        assert a.version == 0
