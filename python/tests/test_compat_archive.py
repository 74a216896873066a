"""seqring.compat.LogArchiveReader, LogMessage and assemble_log_archives, against what ataraxis 7.2.0 wrote and
read (the fixtures) and against np.load."""

import io
import json
import pickle
import struct
import sys
import zipfile
from dataclasses import FrozenInstanceError
from math import ceil

import numpy as np
import pytest

from seqring import SeqringError
from seqring.compat import PARALLEL_PROCESSING_THRESHOLD, LogArchiveReader, LogMessage, assemble_log_archives
from conftest import copy_writable


def expected(fixtures):
    return json.loads((fixtures / "expected_messages.json").read_text())


def entry(source, elapsed, payload):
    return np.frombuffer(bytes([source]) + int(elapsed).to_bytes(8, "little") + bytes(payload), dtype=np.uint8)


def write_archive(path, source, onset, messages):
    """An archive as ataraxis writes it, with numpy alone: the onset entry first, then (elapsed, payload)."""
    entries = {f"{source:03d}_{0:020d}": entry(source, 0, int(onset).to_bytes(8, "little"))}
    for k, (t, p) in enumerate(messages):
        entries[f"{source:03d}_{t:020d}" + (f"_{k}" if f"{source:03d}_{t:020d}" in entries else "")] = entry(
            source, t, p
        )
    np.savez(path, **entries)
    return path


@pytest.mark.parametrize("source", ["1", "7", "200"])
def test_reads_the_archives_ataraxis_wrote_as_ataraxis_read_them(fixtures, source):
    want = expected(fixtures)
    path = fixtures / "archives" / f"{source}_log.npz"
    reader = LogArchiveReader(path)
    assert "not discovered" in repr(reader)
    onset = reader.onset_timestamp_us
    assert isinstance(onset, np.uint64) and onset == want["onset_us"]
    assert reader.message_count == want["sources"][source]["message_count"]
    messages = want["sources"][source]["messages"]
    got = list(reader.iter_messages())
    assert [int(m.timestamp_us) for m in got] == [want["onset_us"] + t for t, _ in messages]
    assert [m.payload.tobytes().hex() for m in got] == [h for _, h in messages]
    assert all(isinstance(m.timestamp_us, np.uint64) and m.payload.dtype == np.uint8 for m in got)
    timestamps, payloads = reader.read_all_messages()
    assert timestamps.dtype == np.uint64 and timestamps.tolist() == [int(m.timestamp_us) for m in got]
    assert [p.tobytes() for p in payloads] == [m.payload.tobytes() for m in got]
    payloads[0][:] = 0  # a writeable copy, as ataraxis hands out: the archive is unchanged
    assert list(reader.iter_messages())[0].payload.tobytes().hex() == messages[0][1]
    with np.load(path) as npz:
        keys = npz.files[1:]
    assert reader.get_batches() == [keys]


def test_batches_and_keys_follow_ataraxis_rules(tmp_path):
    count = PARALLEL_PROCESSING_THRESHOLD + 500
    messages = [(10 * i + 5, i.to_bytes(4, "little")) for i in range(count)]
    path = write_archive(tmp_path / "3_log.npz", 3, 1_700_000_000_000_000, messages)
    reader = LogArchiveReader(path)
    with np.load(path) as npz:
        keys = npz.files[1:]
    for workers, multiplier in [(1, 4), (2, 3), (-1, 4), (0, 1)]:
        batches = reader.get_batches(workers=workers, batch_multiplier=multiplier)
        assert [k for b in batches for k in b] == keys
        if workers >= 1:
            assert len(batches[0]) == ceil(count / (workers * multiplier))
    batch = reader.get_batches(workers=2)[1]
    got = list(reader.iter_messages(batch))
    first = keys.index(batch[0])
    assert [int(m.timestamp_us) for m in got] == [1_700_000_000_000_000 + t for t, _ in messages[first:][: len(batch)]]
    # Keys in any order, with or without ".npy".
    picked = list(reader.iter_messages([keys[7] + ".npy", keys[2]]))
    assert [m.payload.tobytes() for m in picked] == [messages[7][1], messages[2][1]]
    with pytest.raises(KeyError):
        list(reader.iter_messages(["003_00000000000000000000"]))  # the onset is no message
    with pytest.raises(KeyError):
        list(reader.iter_messages(["nope"]))


def test_duplicate_timestamps_are_all_read(tmp_path):
    path = write_archive(tmp_path / "9_log.npz", 9, 5_000, [(3, b"a"), (3, b"b"), (4, b"c")])
    reader = LogArchiveReader(path)
    assert reader.message_count == 3
    assert [(int(m.timestamp_us), m.payload.tobytes()) for m in reader.iter_messages()] == [
        (5_003, b"a"),
        (5_003, b"b"),
        (5_004, b"c"),
    ]


def test_pre_discovered_onset_and_empty_archives(tmp_path):
    path = write_archive(tmp_path / "4_log.npz", 4, 1_000, [(1, b"x"), (2, b"y")])
    worker = LogArchiveReader(path, onset_us=np.uint64(2_000))
    assert worker.onset_timestamp_us == 2_000 and "2000" in repr(worker)
    assert [int(m.timestamp_us) for m in worker.iter_messages()] == [2_001, 2_002]
    assert worker.read_all_messages()[0].tolist() == [2_001, 2_002]
    empty = LogArchiveReader(write_archive(tmp_path / "5_log.npz", 5, 1_000, []))
    assert empty.message_count == 0 and empty.get_batches() == [] and list(empty.iter_messages()) == []
    timestamps, payloads = empty.read_all_messages()
    assert timestamps.dtype == np.uint64 and len(timestamps) == 0 and payloads == []


def test_bad_archives(tmp_path):
    with pytest.raises(FileNotFoundError):
        LogArchiveReader(tmp_path / "missing_log.npz")
    garbage = tmp_path / "1_log.npz"
    garbage.write_bytes(b"not a zip file at all")
    reader = LogArchiveReader(garbage)  # lazy, as ataraxis: the error comes on first use
    with pytest.raises(ValueError):
        reader.onset_timestamp_us
    np.savez(tmp_path / "2_log.npz", **{"002_00000000000000000007": entry(2, 7, b"no onset")})
    with pytest.raises(ValueError):
        LogArchiveReader(tmp_path / "2_log.npz").message_count
    # As ataraxis: with the onset given, an archive without an onset entry reads.
    given = LogArchiveReader(tmp_path / "2_log.npz", onset_us=np.uint64(1000))
    assert given.message_count == 1
    assert [(int(m.timestamp_us), m.payload.tobytes()) for m in given.iter_messages()] == [(1007, b"no onset")]


def test_entries_not_named_like_log_entries_are_skipped(tmp_path):
    """An entry that names no log entry (a note someone added with np.savez) does not make the archive unreadable,
    as it does not for ataraxis's reader; compat skips it (ataraxis would hand its bytes out as a message when it
    comes after the onset)."""
    path = tmp_path / "3_log.npz"
    np.savez(
        path,
        **{
            "003_00000000000000000000": entry(3, 0, np.uint64(5000).tobytes()),
            "003_00000000000000000010": entry(3, 10, b"a"),
            "notes": np.frombuffer(b"not a log entry", dtype=np.uint8),
        },
    )
    reader = LogArchiveReader(path)
    assert reader.onset_timestamp_us == 5000 and reader.message_count == 1
    assert [(int(m.timestamp_us), m.payload.tobytes()) for m in reader.iter_messages()] == [(5010, b"a")]


def test_log_message_is_a_frozen_dataclass():
    m = LogMessage(np.uint64(5), np.arange(3, dtype=np.uint8))
    with pytest.raises(FrozenInstanceError):
        m.timestamp_us = np.uint64(6)
    with pytest.raises(AttributeError):
        m.other = 1
    back = pickle.loads(pickle.dumps(m))
    assert back.timestamp_us == 5 and back.payload.tolist() == [0, 1, 2]
    assert "timestamp_us=" in repr(m)


def as_numpy_writes_here(data: bytes) -> bytes:
    """``data`` (an archive numpy wrote on Linux) as numpy writes it on this platform: on Windows, ``zipfile`` names
    the "made by" system of each central header MS-DOS (0) where on Linux it names Unix (3); nothing else differs."""
    if sys.platform != "win32":
        return data
    out = bytearray(data)
    with zipfile.ZipFile(io.BytesIO(data)) as z:
        at = z.start_dir
        for _ in z.infolist():
            assert out[at : at + 6] == b"PK\x01\x02\x2d\x03", "a central header numpy wrote on Linux"
            out[at + 5] = 0
            name, extra, comment = struct.unpack_from("<HHH", out, at + 28)
            at += 46 + name + extra + comment
    return bytes(out)


def test_assemble_writes_byte_identical_archives(fixtures, tmp_path, capsys):
    log_dir = tmp_path / "log"
    copy_writable(fixtures / "entries", log_dir)
    assert assemble_log_archives(log_dir, verbose=True, verify_integrity=True, max_workers=2) is None
    assert "assembled" in capsys.readouterr().out
    assert not list(log_dir.glob("*.npy"))
    for source in ("1", "7", "200"):
        ours = (log_dir / f"{source}_log.npz").read_bytes()
        assert ours == as_numpy_writes_here((fixtures / "archives" / f"{source}_log.npz").read_bytes())


def test_assemble_options_and_bad_directories(fixtures, tmp_path):
    log_dir = tmp_path / "log"
    copy_writable(fixtures / "entries", log_dir)
    count = len(list(log_dir.glob("*.npy")))
    assemble_log_archives(str(log_dir), 0, remove_sources=False, memory_mapping=False)
    assert len(list(log_dir.glob("*.npy"))) == count
    assert sorted(p.name for p in log_dir.glob("*_log.npz")) == ["1_log.npz", "200_log.npz", "7_log.npz"]
    with pytest.raises(FileNotFoundError):
        assemble_log_archives(tmp_path / "missing")
    bad = tmp_path / "bad"
    bad.mkdir()
    np.save(bad / "001_00000000000000000000.npy", entry(1, 0, (1000).to_bytes(8, "little")))
    (bad / "001_00000000000000000005.npy").write_bytes(b"not an npy file")
    with pytest.raises(ValueError):
        assemble_log_archives(bad)
    (bad / "001_00000000000000000000.npy").unlink()
    with pytest.raises(SeqringError):  # no onset entry
        assemble_log_archives(bad)
