"""LogArchive and assemble_log_archives, checked against numpy's own np.load and against what ataraxis 7.2.0
wrote and read (the fixtures)."""

import gc
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import seqring
from seqring import LogArchive, assemble_log_archives
from conftest import copy_writable


def numpy_messages(path):
    """(onset_us, absolute timestamps, payloads) of an archive, decoded from np.load alone."""
    with np.load(path) as npz:
        entries = [npz[k] for k in npz.files]
    assert all(e.dtype == np.uint8 and e.ndim == 1 for e in entries)
    onset = int(entries[0][9:17].view("<u8")[0])
    elapsed = [int(e[1:9].view("<u8")[0]) for e in entries[1:]]
    assert int(entries[0][1:9].view("<u8")[0]) == 0, "the onset entry comes first"
    return onset, np.array([onset + t for t in elapsed], dtype=np.uint64), [e[9:].tobytes() for e in entries[1:]]


def expected(fixtures):
    return json.loads((fixtures / "expected_messages.json").read_text())


def check_against_numpy_and_ataraxis(path: Path, fixtures):
    archive = LogArchive(path)
    timestamps, payloads = archive.read_all()
    onset, np_timestamps, np_payloads = numpy_messages(path)
    assert timestamps.dtype == np.uint64 and timestamps.ndim == 1
    assert all(type(p) is np.ndarray and p.dtype == np.uint8 and p.ndim == 1 for p in payloads)
    assert not any(p.flags.writeable for p in payloads) and all(p.flags.c_contiguous for p in payloads)
    assert archive.onset_us == onset
    assert archive.message_count == len(archive) == len(np_payloads) == len(payloads)
    np.testing.assert_array_equal(timestamps, np_timestamps)
    assert [p.tobytes() for p in payloads] == np_payloads
    source = expected(fixtures)["sources"][str(archive.source_id)]
    assert archive.message_count == source["message_count"]
    ax_onset = expected(fixtures)["onset_us"]
    assert timestamps.tolist() == [ax_onset + t for t, _ in source["messages"]]
    assert [p.tobytes().hex() for p in payloads] == [h for _, h in source["messages"]]
    return archive


def test_reads_the_archives_ataraxis_wrote(fixtures):
    paths = sorted((fixtures / "archives").glob("*_log.npz"))
    assert len(paths) == 3
    ids = {check_against_numpy_and_ataraxis(p, fixtures).source_id for p in paths}
    assert ids == {1, 7, 200}


@pytest.mark.parametrize("verify,workers", [(False, None), (True, 1), (True, 2)])
def test_assembles_ataraxis_entries_into_archives_numpy_reads(fixtures, tmp_path, verify, workers):
    log_dir = tmp_path / "log"
    copy_writable(fixtures / "entries", log_dir)
    sources = len(list(log_dir.glob("*.npy")))
    report = assemble_log_archives(log_dir, verify=verify, workers=workers)
    assert report["verified"] == verify
    assert report["removed_files"] == sources
    assert not list(log_dir.glob("*.npy")), "the sources are removed by default"
    assert sorted(a["source_id"] for a in report["archives"]) == [1, 7, 200]
    for a in report["archives"]:
        path = Path(a["path"])
        assert path.name == f"{a['source_id']}_log.npz" and a["bytes"] == path.stat().st_size
        archive = check_against_numpy_and_ataraxis(path, fixtures)
        assert a["entries"] == archive.message_count + 1


def test_assemble_can_keep_its_sources(fixtures, tmp_path):
    log_dir = tmp_path / "log"
    copy_writable(fixtures / "entries", log_dir)
    before = sorted(p.name for p in log_dir.glob("*.npy"))
    report = assemble_log_archives(str(log_dir), remove_sources=False)
    assert report["removed_files"] == 0
    assert sorted(p.name for p in log_dir.glob("*.npy")) == before
    with pytest.raises(seqring.SeqringError) as e:
        assemble_log_archives(log_dir)
    assert "_log.npz" in str(e.value), "an existing archive is not overwritten"


def test_missing_and_bad_paths(tmp_path):
    with pytest.raises(seqring.NotFoundError) as e:
        LogArchive(tmp_path / "missing_log.npz")
    assert isinstance(e.value, FileNotFoundError) and "missing_log.npz" in str(e.value)
    with pytest.raises(FileNotFoundError):
        assemble_log_archives(tmp_path / "no-such-dir")
    not_zip = tmp_path / "3_log.npz"
    not_zip.write_bytes(b"this is not a zip archive")
    with pytest.raises(seqring.CorruptArchiveError) as e:
        LogArchive(not_zip)
    assert isinstance(e.value, ValueError) and "3_log.npz" in str(e.value)
    with pytest.raises(seqring.SeqringError):
        LogArchive(tmp_path)  # a directory
    with pytest.raises(TypeError):
        LogArchive(42)


def test_a_bad_entry_is_named(fixtures, tmp_path):
    log_dir = tmp_path / "log"
    copy_writable(fixtures / "entries", log_dir)
    np.save(log_dir / "001_00000000000000000099.npy", np.zeros(4, dtype=np.float32))
    with pytest.raises(seqring.CorruptArchiveError) as e:
        assemble_log_archives(log_dir)
    assert "001_00000000000000000099" in str(e.value)
    assert len(list(log_dir.glob("*.npy"))) > 1, "nothing is removed when assembly fails"


def test_numpy_archives_that_are_not_logs_are_refused(tmp_path):
    path = tmp_path / "5_log.npz"
    np.savez(path, a=np.arange(3))
    with pytest.raises(seqring.CorruptArchiveError):
        LogArchive(path)


def test_a_corrupt_entry_raises_when_read_and_the_others_read(tmp_path):
    # Opening checks the directory; each entry is checked when first read (verify=True checks all at open).
    def entry(ts, payload, stored_ts=None):
        head = np.array([5], np.uint8).tobytes() + np.uint64(ts if stored_ts is None else stored_ts).tobytes()
        return np.frombuffer(head + payload, np.uint8)

    path = tmp_path / "5_log.npz"
    np.savez(
        path,
        **{
            f"005_{0:020d}": entry(0, np.uint64(1_700_000_000_000_000).tobytes()),
            f"005_{10:020d}": entry(10, b"first"),
            f"005_{20:020d}": entry(20, b"second", stored_ts=21),
            f"005_{30:020d}": entry(30, b"third"),
        },
    )
    archive = LogArchive(path)
    assert len(archive) == 3 and archive.keys()[1] == f"005_{20:020d}"
    assert bytes(archive[0][1]) == b"first" and bytes(archive[2][1]) == b"third"
    for _ in range(2):
        with pytest.raises(seqring.CorruptArchiveError) as e:
            archive[1]
        assert f"005_{20:020d}.npy" in str(e.value) and "5_log.npz" in str(e.value)
    with pytest.raises(seqring.CorruptArchiveError):
        archive.read_all()
    with pytest.raises(seqring.CorruptArchiveError):
        archive.read_flat()
    with pytest.raises(seqring.CorruptArchiveError):
        archive.verify_all()
    it = iter(archive)
    assert bytes(next(it)[1]) == b"first"
    with pytest.raises(seqring.CorruptArchiveError):
        next(it)
    assert bytes(next(it)[1]) == b"third", "the iteration goes on past a bad entry"
    with pytest.raises(seqring.CorruptArchiveError) as e:
        LogArchive(path, verify=True)
    assert f"005_{20:020d}.npy" in str(e.value)


SEQRING_BIN = Path(
    os.environ.get("SEQRING_BIN", Path(__file__).resolve().parents[2] / "target" / "release" / "seqring")
)


@pytest.mark.skipif(
    not SEQRING_BIN.is_file() or sys.platform == "win32",
    reason=f"{SEQRING_BIN} is not built (tests/run.sh builds it in its workspace step; or set SEQRING_BIN); on "
    "Windows it is the Linux build (tests/windows.sh has numpy read the Windows demo's archives instead)",
)
def test_reads_what_the_rust_cli_demo_logged(tmp_path):
    subprocess.run(
        [str(SEQRING_BIN), "demo", "--out", str(tmp_path), "--producers", "1", "--seconds", "0.3", "--max-records",
         "1000"],
        check=True,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        timeout=120,
    )
    paths = list(tmp_path.rglob("*_log.npz"))
    assert len(paths) == 1
    archive = LogArchive(paths[0])
    timestamps, payloads = archive.read_all()
    onset, np_timestamps, np_payloads = numpy_messages(paths[0])
    assert archive.onset_us == onset and 0 < archive.message_count <= 1000
    np.testing.assert_array_equal(timestamps, np_timestamps)
    assert [p.tobytes() for p in payloads] == np_payloads
    # The demo's payloads start with their sequence number (u64 LE), 0, 1, 2, ... in archive order.
    assert [int.from_bytes(p[:8], "little") for p in payloads] == list(range(archive.message_count))
    assert (np.diff(timestamps.astype(np.int64)) >= 0).all()


def address(a):
    return a.__array_interface__["data"][0]


def test_iteration_and_indexing_match_numpy(fixtures):
    path = fixtures / "archives" / "7_log.npz"
    archive = LogArchive(path)
    _, np_timestamps, np_payloads = numpy_messages(path)
    pairs = list(archive)
    assert [t for t, _ in pairs] == np_timestamps.tolist()
    assert all(type(t) is int for t, _ in pairs)
    assert [p.tobytes() for _, p in pairs] == np_payloads
    it = iter(archive)
    assert it.__length_hint__() == len(np_payloads)
    next(it)
    assert it.__length_hint__() == len(np_payloads) - 1
    n = len(np_payloads)
    for i in (0, n - 1, -1, -n):
        t, p = archive[i]
        assert t == np_timestamps[i] and p.tobytes() == np_payloads[i]
    for i in (n, -n - 1, 2**62):
        with pytest.raises(IndexError):
            archive[i]


def test_payloads_are_read_only_zero_copy_views_of_one_map(fixtures):
    path = fixtures / "archives" / "200_log.npz"
    archive = LogArchive(path)
    _, first = archive.read_all()
    _, again = archive.read_all()
    # Zero copy: every call hands out the same memory, the archive's map, not a fresh buffer.
    assert [address(p) for p in first] == [address(p) for p in again]
    assert address(archive[3][1]) == address(first[3])
    assert all(p.base is archive for p in first)
    timestamps, buffer, starts, ends = archive.read_flat()
    assert buffer.dtype == np.uint8 and starts.dtype == ends.dtype == timestamps.dtype == np.uint64
    assert [address(buffer) + int(s) for s in starts] == [address(p) for p in first]
    assert all(np.shares_memory(p, buffer) for p in first if p.size)
    np.testing.assert_array_equal(timestamps, archive.read_all()[0])
    _, _, np_payloads = numpy_messages(path)
    assert [buffer[s:e].tobytes() for s, e in zip(starts, ends)] == np_payloads
    for view in (first[0], buffer):
        assert not view.flags.writeable
        with pytest.raises(ValueError):
            view[0] = 1
        with pytest.raises(ValueError):
            view.flags.writeable = True


def test_payloads_outlive_the_archive_object(fixtures):
    path = fixtures / "archives" / "1_log.npz"
    _, _, np_payloads = numpy_messages(path)
    archive = LogArchive(path)
    _, payloads = archive.read_all()
    _, _, flat_starts, flat_ends = (flat := archive.read_flat())
    last = archive[-1][1]
    del archive, flat_starts, flat_ends
    gc.collect()
    assert [p.tobytes() for p in payloads] == np_payloads
    assert last.tobytes() == np_payloads[-1]
    buffer, starts = flat[1], flat[2]
    del flat
    gc.collect()
    start = int(starts[0])  # numpy 1.x: a uint64 plus a Python int is a float64
    assert buffer[start : start + len(np_payloads[0])].tobytes() == np_payloads[0]


def test_an_archive_with_only_its_onset(tmp_path):
    path = tmp_path / "4_log.npz"
    onset = np.frombuffer(bytes([4]) + (0).to_bytes(8, "little") + (123).to_bytes(8, "little"), np.uint8)
    np.savez(path, **{"004_00000000000000000000": onset})
    archive = LogArchive(path)
    assert (archive.onset_us, archive.message_count, list(archive)) == (123, 0, [])
    timestamps, payloads = archive.read_all()
    assert timestamps.dtype == np.uint64 and timestamps.shape == (0,) and payloads == []
    timestamps, buffer, starts, ends = archive.read_flat()
    assert timestamps.shape == buffer.shape == starts.shape == ends.shape == (0,)
    with pytest.raises(IndexError):
        archive[0]


def mapped(path):
    """Whether this process maps the file at `path` (Linux: /proc/self/maps)."""
    target = str(Path(path).resolve())
    with open("/proc/self/maps") as maps:
        return any(line.rstrip("\n").endswith(" " + target) for line in maps)


@pytest.mark.skipif(sys.platform != "linux", reason="needs /proc/self/maps (Linux; wine shows it with Unix paths)")
def test_the_map_lives_exactly_as_long_as_its_last_view(fixtures, tmp_path):
    path = tmp_path / "7_log.npz"
    shutil.copyfile(fixtures / "archives" / "7_log.npz", path)
    archive = LogArchive(path)
    assert mapped(path)
    _, payloads = archive.read_all()
    flat = archive.read_flat()
    first = archive[0][1]
    pairs = list(archive)
    del archive
    gc.collect()
    assert mapped(path)
    del payloads
    gc.collect()
    assert mapped(path)
    del flat
    gc.collect()
    assert mapped(path)
    del pairs
    gc.collect()
    assert mapped(path)
    del first
    gc.collect()
    assert not mapped(path), "the map is released with its last view (no leaked reference)"
