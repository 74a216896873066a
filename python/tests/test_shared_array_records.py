"""SharedArray of any fixed-size numpy dtype: strings, structured records (nested, with subarray and big-endian
fields), big-endian numbers and datetimes are held as records whose region records numpy's ``dtype_to_descr``, so
that another process opens the array by name alone and gets the same dtype; checked with numpy itself."""

import sys
import traceback

import numpy as np
import pytest

import seqring
from seqring import SharedArray

NESTED = np.dtype(
    [
        ("id", ">u4"),
        ("pos", "<f8", (2,)),
        ("meta", [("name", "<U3"), ("ok", "?"), ("grid", ">i2", (2, 2))]),
        ("tag", "S4"),
    ]
)


def nested_values() -> np.ndarray:
    a = np.zeros(3, dtype=NESTED)
    a["id"] = [1, 2, 0xDEADBEEF]
    a["pos"] = [[0.5, -1.5], [2.25, 3.0], [np.inf, -0.0]]
    a["meta"]["name"] = ["abc", "é", ""]
    a["meta"]["ok"] = [True, False, True]
    a["meta"]["grid"] = np.arange(12, dtype=">i2").reshape(3, 2, 2) - 6
    a["tag"] = [b"x", b"yz\x00w", b""]
    return a


#: (prototype, the value a child writes at element 0), for every kind of record dtype.
CASES = {
    "nested": (nested_values(), (7, (9.5, 8.5), ("new", False, [[1, 2], [3, 4]]), b"tg")),
    "U8": (np.array(["", "a", "hello", "ünïcødé!"], dtype="<U8"), "child"),
    "S16": (np.array([b"bytes", b"\x00\x01\x02", b"x" * 16], dtype="S16"), b"from the child"),
    "be-f8": (np.array([1.5, -2.0, np.nan, 1e300], dtype=">f8"), 42.0),
    "datetime": (np.array(["2026-12-07T05:00", "1970-01-01"], dtype="datetime64[ms]"), np.datetime64("2000-01-01")),
    "void": (np.frombuffer(bytes(range(12)), dtype="V4"), np.void(b"\xff\xfe\xfd\xfc")),
}


def child_reads_by_name(name, descr, shape, raw, value, done):
    """In a spawned process: opens ``name`` without a dtype, checks dtype and contents against numpy's (the bytes
    ``raw`` of ``shape`` in the dtype of ``descr``: pickling an array may change its byte order), writes ``value`` at
    element 0 and sends back the bytes it then reads."""
    try:
        expected = np.frombuffer(raw, dtype=np.lib.format.descr_to_dtype(descr)).reshape(shape)
        a = SharedArray.open(name)
        assert a.dtype == expected.dtype, (a.dtype, descr)
        got = a.read()
        assert got.dtype == expected.dtype and got.shape == expected.shape, (got.dtype, got.shape)
        assert got.tobytes() == expected.tobytes()
        assert np.array_equal(got, expected, equal_nan=expected.dtype.kind == "f")
        if expected.dtype.names:
            for field in expected.dtype.names:
                np.testing.assert_array_equal(got[field], expected[field])
        a[0] = value
        done.put(("ok", a.read().tobytes()))
    except BaseException:  # noqa: BLE001
        done.put(("error", traceback.format_exc()))


@pytest.mark.parametrize("case", sorted(CASES))
def test_a_spawned_process_opens_records_by_name_alone(name, case, children):
    prototype, value = CASES[case]
    with SharedArray.create(name, prototype.shape, prototype.dtype) as a:
        a.write(prototype)
        assert a.dtype == prototype.dtype
        done = children.ctx.Queue()
        descr = np.lib.format.dtype_to_descr(prototype.dtype)
        children.start(child_reads_by_name, name, descr, prototype.shape, prototype.tobytes(), value, done)
        status, seen = done.get(timeout=120)
        assert status == "ok", seen
        children.join_ok()
        expected = prototype.copy()
        expected[0] = value
        assert seen == expected.tobytes()
        now = a.read()
        assert now.tobytes() == expected.tobytes()
        if prototype.dtype.names:
            for field in prototype.dtype.names:
                np.testing.assert_array_equal(now[field], expected[field])
        assert a[0] == expected[0] or expected.dtype.kind == "f" and np.isnan(expected[0])


def test_elements_and_fields_of_nested_records():
    values = nested_values()
    with SharedArray.create(f"pytest-rec-{id(values)}", 3, NESTED) as a:
        a.write(values)
        assert a[1] == values[1]
        assert a[2]["meta"]["name"] == ""
        np.testing.assert_array_equal(a[1:]["pos"], values[1:]["pos"])
        a[1] = (5, (1.0, 2.0), ("xyz", True, [[0, 0], [0, 1]]), b"q")
        assert a[1]["id"] == 5 and a[1]["meta"]["grid"][1, 1] == 1
        a[:2] = values[1:]
        np.testing.assert_array_equal(a.read()[:2], values[1:])
        with pytest.raises(seqring.DTypeMismatchError):
            a[0] = "not a record"
        assert (a.nbytes, a.size, a.shape) == (3 * NESTED.itemsize, 3, (3,))


def test_strings_take_numpy_assignment(name):
    with SharedArray.create(name, (2, 2), "<U4") as a:
        a[0, 1] = "abcdefg"  # numpy truncates to the element's 4 characters
        a[1] = ["p", "q"]
        np.testing.assert_array_equal(a.read(), np.array([["", "abcd"], ["p", "q"]], dtype="<U4"))
        assert a[0, 1] == "abcd" and isinstance(a[0, 1], np.str_)
        out = np.empty((2, 2), dtype="<U4")
        a.read(out=out)
        np.testing.assert_array_equal(out, a.read())
        a.update(lambda c: c.__setitem__((1, 1), "zz"))
        assert a[1, 1] == "zz"


def test_open_checks_a_given_record_dtype(name):
    with SharedArray.create(name, 4, NESTED):
        assert SharedArray.open(name, dtype=NESTED).dtype == NESTED
        with pytest.raises(seqring.DTypeMismatchError) as e:
            SharedArray.open(name, dtype="<U8")
        assert "id" in str(e.value)
        with pytest.raises(seqring.DTypeMismatchError):
            SharedArray.open(name, dtype=np.float64)
    with SharedArray.create(name, 4, "<f8"):
        with pytest.raises(seqring.DTypeMismatchError):
            SharedArray.open(name, dtype="<U2")


def test_reshape_keeps_to_the_recorded_record(name):
    with SharedArray.create(name, 4, "<U2", capacity=8) as a:
        a.write(np.array(["a", "b", "c", "d"], dtype="<U2"))
        a.reshape((2, 4))
        assert a.shape == (2, 4) and a.dtype == np.dtype("<U2")
        a.reshape(32, np.uint8)  # a plain byte view of the same bytes
        assert a.read()[:4].tolist() == [ord("a"), 0, 0, 0]
        a.reshape(4, "<U2")
        assert a.read().tolist() == ["a", "b", "c", "d"]
        with pytest.raises(seqring.DTypeMismatchError):
            a.reshape(2, "<U4")  # the same bytes, but not the dtype the region describes
        with pytest.raises(seqring.DTypeMismatchError):
            a.reshape(2, [("x", "<f8")])
    with SharedArray.create(name, 4, "<f8") as plain:
        with pytest.raises(seqring.DTypeMismatchError):
            plain.reshape(4, "<U2")


def test_a_descriptor_over_4_kib_is_refused(name):
    wide = np.dtype([(f"field_{i:04d}", "<f8") for i in range(300)])
    with pytest.raises(seqring.DTypeMismatchError) as e:
        SharedArray.create(name, 1, wide)
    assert "4096" in str(e.value)
    with pytest.raises(seqring.NotFoundError):
        SharedArray.open(name)


@pytest.mark.skipif(sys.platform != "linux", reason="damages the region through its /dev/shm file")
def test_a_corrupt_descriptor_is_a_typed_error(name):
    with SharedArray.create(name, 2, "<U8") as a:
        a.write(np.array(["ok", "fine"], dtype="<U8"))
        path = f"/dev/shm/{name}"
        with open(path, "r+b") as f:
            f.seek(456)
            recorded = f.read(5)
            assert recorded == b"'<U8'"
            # Text numpy cannot read: a typed error naming it, not an array of garbage.
            f.seek(456)
            f.write(b"'<Q8'")
            f.flush()
            with pytest.raises(seqring.DTypeMismatchError) as e:
                SharedArray.open(name)
            assert "'<Q8'" in str(e.value)
            # A readable dtype of another size.
            f.seek(456)
            f.write(b"'<U2'")
            f.flush()
            with pytest.raises(seqring.DTypeMismatchError):
                SharedArray.open(name)
            # Bytes that are not text: refused by the region layer.
            f.seek(457)
            f.write(b"\xff")
            f.flush()
            with pytest.raises(seqring.DTypeMismatchError) as e:
                SharedArray.open(name)
            assert "ASCII" in str(e.value)
            f.seek(456)
            f.write(recorded)
        assert SharedArray.open(name).read().tolist() == ["ok", "fine"]
