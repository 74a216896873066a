"""MappedObjects and MappedObjectMap: Python objects of any shape (sharedbuffers' schemas with strings, lists, dicts,
nested objects and numpy arrays) written once into checked, immutable files, mapped read-only by any number of
processes and decoded one object per lookup."""

import os

import numpy as np
import pytest

from seqring import MappedObjectMap, MappedObjects, build_mapped_object_map, build_mapped_objects
from seqring.errors import CorruptArchiveError, DTypeMismatchError, InvalidOptionError, ShapeError

POINT = np.dtype([("t_us", "<u8"), ("xy", "<f4", (2,)), ("label", "U3")])


def session(i):
    points = np.zeros(3, POINT)
    points["t_us"] = [i, i + 1, i + 2]
    points["xy"] = [[i, -i]] * 3
    points["label"] = ["a", "bc", "def"]
    return {
        "id": i,
        "name": f"mouse-{i}",
        "note": None if i % 2 else "ok",
        "weights_g": [20.5 + i, 21.0],
        "cage": (i, "B"),
        "raw": bytes([i % 256, 0, 255]),
        "params": {"gain": 0.5, 3: [True, False], (1, 2): {"deep": [[{}]]}},
        "big": 2**64 - 1 - i,
        "negative": -(2**63) + i,
        "frame": np.arange(6, dtype=">i2").reshape(2, 3) * i,
        "points": points,
    }


def assert_same(got, expected):
    """Equal values of equal types, arrays compared by numpy (dtype, shape and elements)."""
    assert type(got) is type(expected), (got, expected)
    if isinstance(expected, np.ndarray):
        assert got.dtype == expected.dtype and got.shape == expected.shape
        np.testing.assert_array_equal(got, expected)
    elif isinstance(expected, dict):
        assert list(got) == list(expected), "keys in insertion order"
        for k in expected:
            assert_same(got[k], expected[k])
    elif isinstance(expected, (list, tuple)):
        assert len(got) == len(expected)
        for g, e in zip(got, expected):
            assert_same(g, e)
    else:
        assert got == expected


def test_objects_of_every_kind_round_trip(tmp_path):
    path = tmp_path / "sessions.map"
    objects = [session(i) for i in range(200)] + [None, 7, "text", b"", [], {}, 1.5, True, ()]
    built = build_mapped_objects(path, objects)
    assert len(built) == len(objects) and built.path == path
    mapped = MappedObjects(path, verify=True)
    for i, expected in enumerate(objects):
        assert_same(mapped[i], expected)
    assert_same(mapped[-1], ())
    assert_same(mapped[3:9:2], [session(3), session(5), session(7)])
    assert_same(list(mapped), objects)
    with pytest.raises(IndexError):
        mapped[len(objects)]


def test_decoded_arrays_are_independent_writeable_copies(tmp_path):
    path = tmp_path / "a.map"
    build_mapped_objects(path, [{"frame": np.ones((2, 2), np.float32)}])
    mapped = MappedObjects(path)
    first = mapped[0]["frame"]
    first[0, 0] = 9
    assert mapped[0]["frame"][0, 0] == 1
    assert np.float32(2.5).item() == 2.5
    build_mapped_objects(path, [np.float32(2.5), np.int16(-3), np.bool_(True)])
    assert_same(list(MappedObjects(path)), [2.5, -3, True])  # numpy scalars are stored as their Python values


@pytest.mark.parametrize(
    "bad, where",
    [
        ({"a": [1, {2}]}, "['a'][1]"),  # a set
        ([object()], "[0]"),
        ({"x": np.array([None, 1], dtype=object)}, "['x']"),
        ({"n": 2**64}, "['n']"),
        ({"n": -(2**63) - 1}, "['n']"),
    ],
)
def test_objects_that_cannot_be_stored_are_refused_naming_where_and_leave_nothing(tmp_path, bad, where):
    path = tmp_path / "bad.map"
    with pytest.raises(DTypeMismatchError) as e:
        build_mapped_objects(path, [1, bad])
    assert f"value at [1]{where}" in str(e.value)
    assert not path.exists() and list(tmp_path.iterdir()) == []


def test_a_self_referential_list_is_refused_not_recursed_forever(tmp_path):
    loop = []
    loop.append(loop)
    with pytest.raises(DTypeMismatchError, match="nested deeper"):
        build_mapped_objects(tmp_path / "loop.map", [loop])


def test_corruption_is_caught_by_verify_or_by_the_lookup(tmp_path):
    path = tmp_path / "c.map"
    build_mapped_objects(path, [session(i) for i in range(20)])
    clean = path.read_bytes()
    caught = 0
    rng = np.random.default_rng(3)
    for at in rng.choice(np.arange(256, len(clean)), 200, replace=False):
        data = bytearray(clean)
        data[at] ^= 0xA5
        path.write_bytes(bytes(data))
        with pytest.raises(CorruptArchiveError):
            MappedObjects(path, verify=True)
        try:
            mapped = MappedObjects(path)  # O(1): nothing per record is read
            decoded = [mapped[i] for i in range(20)]
        except CorruptArchiveError:
            caught += 1
            continue
        # A flip the record validation cannot see (a changed number, a changed letter) decodes to a value of the
        # same shape; it never crashes or hands out bytes outside the file.
        assert len(decoded) == 20
    assert caught > 0


def test_an_object_map_by_str_and_by_int(tmp_path):
    by_name = build_mapped_object_map(tmp_path / "s.map", [f"m{i}" for i in range(100)], [session(i) for i in range(100)])
    assert len(by_name) == 100 and not by_name.multi
    mapped = MappedObjectMap(tmp_path / "s.map", verify=True)
    assert_same(mapped["m42"], session(42))
    assert "m7" in mapped and "nope" not in mapped and 7 not in mapped
    assert mapped.get("nope", "default") == "default"
    with pytest.raises(KeyError):
        mapped["nope"]
    assert sorted(mapped.keys()) == sorted(f"m{i}" for i in range(100))
    by_id = build_mapped_object_map(tmp_path / "i.map", [5, 2**64 - 1, 0], ["five", {"max": True}, [0]])
    assert_same(MappedObjectMap(by_id.path)[2**64 - 1], {"max": True})
    assert MappedObjectMap(by_id.path)[0] == [0] and True not in by_id


def test_a_multi_map_keeps_each_keys_objects_in_order(tmp_path):
    keys = ["a", "b", "a", "a", "b"]
    objects = [{"n": i} for i in range(5)]
    built = build_mapped_object_map(tmp_path / "m.map", keys, objects, multi=True)
    assert built.multi and len(built) == 2
    assert MappedObjectMap(tmp_path / "m.map")["a"] == [{"n": 0}, {"n": 2}, {"n": 3}]
    with pytest.raises(InvalidOptionError):
        build_mapped_object_map(tmp_path / "dup.map", ["a", "a"], [1, 2])
    with pytest.raises(ShapeError):
        build_mapped_object_map(tmp_path / "short.map", ["a"], [1, 2])
    with pytest.raises(DTypeMismatchError):
        build_mapped_object_map(tmp_path / "mixed.map", ["a", 1], [1, 2])


def _decode_in_child(path, queue):
    mapped = MappedObjects(path)
    total = sum(int(o["frame"].sum()) + o["id"] for o in mapped if isinstance(o, dict))
    queue.put((len(mapped), total, mapped[10]["name"], os.getpid()))


def test_other_processes_decode_the_same_file(tmp_path, children):
    path = tmp_path / "shared.map"
    objects = [session(i) for i in range(300)]
    build_mapped_objects(path, objects)
    expected = sum(int(o["frame"].sum()) + o["id"] for o in objects)
    queue = children.ctx.Queue()
    for _ in range(3):
        children.start(_decode_in_child, str(path), queue)
    results = [queue.get(timeout=120) for _ in range(3)]
    children.join_ok()
    assert {r[:3] for r in results} == {(300, expected, "mouse-10")}
    assert len({r[3] for r in results}) == 3
