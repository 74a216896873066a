"""MappedArray and build_mapped_array: numpy arrays written once into checked, immutable files and mapped read-only
as zero-copy views, checked against numpy's own reading of the same bytes (np.memmap) and across processes."""

import gc
import os

import numpy as np
import pytest

from seqring import MappedArray, MappedIdMap, build_mapped_array, build_mapped_id_map
from seqring.errors import CorruptArchiveError, DTypeMismatchError, InvalidOptionError, NotFoundError, ShapeError

HEADER = 256  # the data of an array file starts here (docs/FORMATS.md, "Mapped files")

SAMPLE = np.dtype([("t_us", "<u8"), ("x", "<f4"), ("flag", "u1"), ("label", "S5")], align=True)


def samples(n):
    a = np.zeros(n, SAMPLE)
    a["t_us"] = np.arange(n, dtype=np.uint64) * 1000
    a["x"] = np.linspace(-1, 1, n, dtype=np.float32)
    a["flag"] = np.arange(n) % 2
    a["label"] = [b"r%d" % (i % 100) for i in range(n)]
    return a


def test_plain_numbers_round_trip_without_a_dtype_and_numpy_reads_the_same_bytes(tmp_path):
    path = tmp_path / "gains.map"
    values = np.linspace(0, 1, 10_001)
    built = build_mapped_array(path, values)
    assert len(built) == 10_001 and built.path == path
    mapped = MappedArray(path)  # the file says '<f8'
    assert mapped.dtype == np.float64
    np.testing.assert_array_equal(mapped.array, values)
    # numpy's own map of the same file, at the documented offset
    np.testing.assert_array_equal(np.memmap(path, np.float64, mode="r", offset=HEADER, shape=(10_001,)), values)
    np.testing.assert_array_equal(np.asarray(mapped), values)


def test_views_share_the_map_are_read_only_and_keep_it_alive(tmp_path):
    path = tmp_path / "a.map"
    build_mapped_array(path, np.arange(100, dtype=np.int32))
    mapped = MappedArray(path)
    first, second = mapped.array, mapped.array
    assert np.shares_memory(first, second), "both views are the one map, not copies"
    assert not first.flags.writeable
    with pytest.raises(ValueError):
        first[0] = 1
    with pytest.raises(ValueError):
        first.flags.writeable = True
    del mapped
    gc.collect()
    assert first[99] == 99, "a view keeps the map alive after its MappedArray is gone"


def test_structured_records_come_back_as_the_same_structured_array(tmp_path):
    path = tmp_path / "samples.map"
    data = samples(5000)
    build_mapped_array(path, data)
    mapped = MappedArray(path, SAMPLE, verify=True)
    assert mapped.dtype == SAMPLE
    np.testing.assert_array_equal(mapped.array, data)
    assert mapped.array["label"][7] == b"r7"
    # another layout (unaligned, or another field) is refused, naming what the file holds
    with pytest.raises(DTypeMismatchError, match="samples.map"):
        MappedArray(path, np.dtype(SAMPLE.descr))
    with pytest.raises(DTypeMismatchError):
        MappedArray(path, np.dtype([("t_us", "<u8"), ("y", "<f4"), ("flag", "u1"), ("label", "S5")], align=True))
    with pytest.raises(DTypeMismatchError, match="give the dtype"):
        MappedArray(path)


@pytest.mark.parametrize("dtype", ["<U7", "S3", "<c16", ">i4", "V6", "?"])
def test_any_fixed_size_dtype_round_trips(tmp_path, dtype):
    rng = np.random.default_rng(7)
    raw = rng.integers(0, 256, size=64 * np.dtype(dtype).itemsize, dtype=np.uint8)
    if np.dtype(dtype).kind == "U":
        values = np.array(["é%d" % i for i in range(64)], dtype=dtype)
    elif np.dtype(dtype).kind == "b":
        values = raw[:64] % 2 == 1
    else:
        values = raw.view(dtype)
    path = tmp_path / "v.map"
    build_mapped_array(path, values)
    back = MappedArray(path, dtype).array
    assert back.dtype == np.dtype(dtype)
    assert back.tobytes() == values.tobytes()


def test_a_2d_array_maps_as_rows_of_a_subarray_dtype(tmp_path):
    path = tmp_path / "points.map"
    points = np.arange(300, dtype=np.float32).reshape(100, 3)
    build_mapped_array(path, points)
    back = MappedArray(path, np.dtype(("<f4", (3,)))).array
    assert back.shape == (100, 3) and back.dtype == np.float32
    np.testing.assert_array_equal(back, points)
    with pytest.raises(DTypeMismatchError):
        MappedArray(path, np.dtype(("<f4", (4,))))


def test_bad_input_is_refused_with_a_typed_error_and_leaves_nothing(tmp_path):
    path = tmp_path / "x.map"
    with pytest.raises(ShapeError, match="0-d"):
        build_mapped_array(path, np.array(1.0))
    with pytest.raises(ShapeError, match="C-contiguous"):
        build_mapped_array(path, np.arange(10.0)[::2])
    with pytest.raises(DTypeMismatchError):
        build_mapped_array(path, [1.0, 2.0])
    with pytest.raises(DTypeMismatchError, match="objects"):
        build_mapped_array(path, np.array([{"a": 1}], dtype=object))
    with pytest.raises(DTypeMismatchError, match="objects"):
        build_mapped_array(path, np.zeros(2, dtype=[("a", "<f8"), ("b", object)]))
    assert not path.exists()
    with pytest.raises(NotFoundError):
        MappedArray(tmp_path / "missing.map")


def test_corruption_is_caught_by_open_or_verify(tmp_path):
    path = tmp_path / "c.map"
    build_mapped_array(path, np.arange(1000, dtype=np.uint64))
    data = bytearray(path.read_bytes())
    data[HEADER + 8] ^= 0xFF
    path.write_bytes(bytes(data))
    with pytest.raises(CorruptArchiveError, match="checksum"):
        MappedArray(path, verify=True)
    MappedArray(path).array  # open alone is O(1): the body is not read
    path.write_bytes(bytes(data[:300]))
    with pytest.raises(CorruptArchiveError):
        MappedArray(path)


def test_a_rebuilt_file_replaces_the_old_one_whole_while_old_views_keep_theirs(tmp_path):
    path = tmp_path / "r.map"
    build_mapped_array(path, np.zeros(1000, np.int64))
    old = MappedArray(path).array
    build_mapped_array(path, np.ones(2000, np.int64))
    assert old.sum() == 0 and len(old) == 1000
    assert MappedArray(path).array.sum() == 2000
    assert [p.name for p in tmp_path.iterdir()] == ["r.map"], "no temporary file is left behind"


def _sum_in_child(path, queue):
    mapped = MappedArray(path, SAMPLE)
    queue.put((len(mapped), int(mapped.array["t_us"].sum()), os.getpid()))


def test_other_processes_map_the_same_file(tmp_path, children):
    path = tmp_path / "shared.map"
    data = samples(20_000)
    build_mapped_array(path, data)
    queue = children.ctx.Queue()
    for _ in range(3):
        children.start(_sum_in_child, str(path), queue)
    results = [queue.get(timeout=120) for _ in range(3)]
    children.join_ok()
    assert {(n, s) for n, s, _ in results} == {(20_000, int(data["t_us"].sum()))}
    assert len({pid for _, _, pid in results}) == 3


def test_an_id_map_finds_each_record_by_int_key(tmp_path):
    path = tmp_path / "ids.map"
    data = samples(3000)
    keys = [7 * i + 2**40 for i in range(3000)]
    build_mapped_id_map(path, keys, data)
    m = MappedIdMap(path, SAMPLE, verify=True)
    assert len(m) == 3000 and not m.multi
    for i in (0, 1234, 2999):
        assert m[keys[i]] == data[i]
        assert keys[i] in m
    assert 5 not in m and "x" not in m and m.get(5) is None and m.get(5, "none") == "none"
    with pytest.raises(KeyError):
        m[5]
    assert sorted(m.keys()) == keys
    records = m.records  # zero-copy, file order: a permutation of the records
    assert not records.flags.writeable and len(records) == 3000
    assert sorted(records["t_us"].tolist()) == data["t_us"].tolist()
    assert records[m.positions(keys[10]).start] == data[10]


def test_a_multi_map_with_str_keys_keeps_each_keys_records_in_order(tmp_path):
    path = tmp_path / "events.map"
    names = ["lick", "cue", "lick", "reward", "lick"]
    times = np.array([1.5, 2.0, 3.25, 4.0, 5.5])
    build_mapped_id_map(path, names, times, multi=True)
    m = MappedIdMap(path)  # plain float64 records need no dtype
    np.testing.assert_array_equal(m["lick"], [1.5, 3.25, 5.5])
    np.testing.assert_array_equal(m["reward"], [4.0])
    assert len(m) == 3 and m.multi and sorted(m.keys()) == ["cue", "lick", "reward"]
    assert 7 not in m
    with pytest.raises(InvalidOptionError, match="lick"):
        build_mapped_id_map(tmp_path / "dup.map", names, times)
    assert not (tmp_path / "dup.map").exists()


def test_id_map_input_errors(tmp_path):
    path = tmp_path / "bad.map"
    with pytest.raises(ShapeError, match="2 keys for 3 records"):
        build_mapped_id_map(path, [1, 2], np.zeros(3))
    with pytest.raises(DTypeMismatchError, match="all non-negative ints"):
        build_mapped_id_map(path, [1, -2, 3], np.zeros(3))
    with pytest.raises(DTypeMismatchError, match="all non-negative ints"):
        build_mapped_id_map(path, ["a", 2, "c"], np.zeros(3))
    with pytest.raises(DTypeMismatchError):
        build_mapped_id_map(path, [1, 2, 3], [0.0, 1.0, 2.0])
    assert not path.exists()
    build_mapped_id_map(path, [1], np.zeros(1, np.int16))
    with pytest.raises(DTypeMismatchError):
        MappedIdMap(path, np.float16)


def _lookup_in_child(path, keys, queue):
    m = MappedIdMap(path, SAMPLE)
    queue.put([int(m[k]["t_us"]) for k in keys])


def test_other_processes_look_up_the_same_id_map(tmp_path, children):
    path = tmp_path / "shared-ids.map"
    data = samples(10_000)
    keys = [f"trial-{i}" for i in range(10_000)]
    build_mapped_id_map(path, keys, data)
    queue = children.ctx.Queue()
    wanted = keys[::997]
    children.start(_lookup_in_child, str(path), wanted, queue)
    assert queue.get(timeout=120) == [int(data["t_us"][i]) for i in range(0, 10_000, 997)]
    children.join_ok()
