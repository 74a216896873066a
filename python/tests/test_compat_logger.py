"""seqring.compat.DataLogger, LogPackage and the input queue: ataraxis 7.2.0's calls, onset packages, duplicate
timestamps, bad input, and logging from spawned processes through the pickled queue."""

import pickle
from dataclasses import FrozenInstanceError

import numpy as np
import pytest

from seqring import SeqringError
from seqring.compat import DataLogger, LogArchiveReader, LogPackage, assemble_log_archives

ONSET = 1_750_000_000_123_456


def package(source, t, payload):
    return LogPackage(np.uint8(source), np.uint64(t), np.frombuffer(bytes(payload), dtype=np.uint8))


def onset(source, value=ONSET):
    return package(source, 0, int(value).to_bytes(8, "little"))


def read_back(logger, source):
    reader = LogArchiveReader(logger.output_directory / f"{source}_log.npz")
    return int(reader.onset_timestamp_us), [(int(m.timestamp_us), m.payload.tobytes()) for m in reader.iter_messages()]


def test_log_package_is_ataraxis_frozen_dataclass():
    p = LogPackage(np.uint8(7), np.uint64(1234), np.array([1, 2, 3], dtype=np.uint8))
    name, entry = p.data
    assert name == "007_00000000000000001234.npy"
    assert entry.dtype == np.uint8 and entry.tobytes() == bytes([7]) + (1234).to_bytes(8, "little") + bytes([1, 2, 3])
    with pytest.raises(FrozenInstanceError):
        p.source_id = np.uint8(1)
    back = pickle.loads(pickle.dumps(p))
    assert (int(back.source_id), int(back.acquisition_time), back.serialized_data.tolist()) == (7, 1234, [1, 2, 3])
    # Wider unsigned payloads narrow element by element and floats are refused, as numpy's same_kind casting.
    wide = LogPackage(np.uint8(1), np.uint64(1), np.array([1, 2], dtype=np.uint16))
    assert wide.data[1][9:].tolist() == [1, 2]
    with pytest.raises(TypeError):
        LogPackage(np.uint8(1), np.uint64(1), np.array([1.5])).data


@pytest.mark.parametrize("log_format", ["npy", "segments"])
def test_logs_through_the_input_queue_and_reads_back(tmp_path, name, log_format):
    logger = DataLogger(tmp_path, name, log_format=log_format)
    assert logger.output_directory == tmp_path / f"{name}_data_log" and logger.output_directory.is_dir()
    assert logger.name == name and not logger.alive and "started=False" in repr(logger)
    logger.start()
    logger.start()  # a no-op
    assert logger.alive
    queue = logger.input_queue
    queue.put(onset(3))
    for i in range(100):
        queue.put(package(3, i + 1, i.to_bytes(2, "little")))
    queue.put(package(3, 50, b"same time as message 49"))  # ataraxis would overwrite; seqring keeps both
    queue.put_nowait(LogPackage(np.uint8(3), np.uint64(200), np.array([[1, 2], [3, 4]], dtype=np.uint8)))
    queue.put(LogPackage(np.uint8(3), np.uint64(201), np.arange(10, dtype=np.uint8)[::3]))  # not contiguous
    queue.put(LogPackage(np.uint8(3), np.uint64(202), b"bytes too"))
    logger.stop()
    logger.stop()  # a no-op
    assert not logger.alive
    assert logger.report["dropped"] == 0 and logger.report["records"] == 105  # the onset and 104 messages
    assemble_log_archives(logger.output_directory)
    got_onset, messages = read_back(logger, 3)
    assert got_onset == ONSET, "the onset package's value is the archive's onset"
    expected = [(ONSET + i + 1, i.to_bytes(2, "little")) for i in range(100)]
    expected.insert(50, (ONSET + 50, b"same time as message 49"))
    expected += [(ONSET + 200, bytes([1, 2, 3, 4])), (ONSET + 201, bytes([0, 3, 6, 9])), (ONSET + 202, b"bytes too")]
    if log_format == "segments":
        assert messages == expected
    else:
        # One .npy per message, written by parallel writers: two messages with one source and time are both kept,
        # but which one gets the `_1` name, and so comes second in the archive, is not fixed.
        assert [t for t, _ in messages] == [t for t, _ in expected] and sorted(messages) == sorted(expected)


def test_a_source_without_onset_package_gets_no_onset_entry(tmp_path, name):
    """As in ataraxis: the raw directory holds exactly the packages put, so the archive has no onset entry and the
    reader needs onset_us. With log_format="segments" seqring's own onset is kept instead."""
    logger = DataLogger(tmp_path, name)
    logger.start()
    logger.input_queue.put(package(9, 5, b"first"))
    with pytest.raises(ValueError):  # the source has its onset: another onset package is refused
        logger.input_queue.put(onset(9, 1))
    logger.stop()
    assert [p.name for p in logger.output_directory.iterdir()] == [f"009_{5:020d}.npy"]
    assemble_log_archives(logger.output_directory)
    with pytest.raises(ValueError):
        LogArchiveReader(logger.output_directory / "9_log.npz").onset_timestamp_us
    reader = LogArchiveReader(logger.output_directory / "9_log.npz", onset_us=np.uint64(ONSET))
    assert [(int(m.timestamp_us), m.payload.tobytes()) for m in reader.iter_messages()] == [(ONSET + 5, b"first")]

    segments = DataLogger(tmp_path / "segments", name, log_format="segments")
    segments.start()
    segments.input_queue.put(package(9, 5, b"first"))
    segments.stop()
    # seqring's own layout: segments, and the list of onsets the logger keeps beside them.
    assert all(p.suffix == ".seg" or p.name == "seqring-onsets.txt" for p in segments.output_directory.iterdir())
    assemble_log_archives(segments.output_directory)
    got_onset, messages = read_back(segments, 9)
    assert messages == [(got_onset + 5, b"first")]


def test_restarting_a_logger_of_the_same_name(tmp_path, name):
    for run in range(2):
        logger = DataLogger(tmp_path / str(run), name)
        logger.start()
        logger.input_queue.put(onset(1))
        logger.input_queue.put(package(1, 10, bytes([run])))
        logger.stop()
        assemble_log_archives(logger.output_directory)
        assert read_back(logger, 1) == (ONSET, [(ONSET + 10, bytes([run]))])


def test_bad_input(tmp_path, name):
    logger = DataLogger(tmp_path, name)
    queue = logger.input_queue
    with pytest.raises(FileNotFoundError):  # not started: no logger of this name runs
        queue.put(onset(1))
    logger.start()
    try:
        with pytest.raises(TypeError):
            queue.put(b"not a package")
        with pytest.raises(ValueError):
            queue.put(LogPackage(256, np.uint64(1), np.zeros(1, dtype=np.uint8)))
        with pytest.raises(ValueError):
            queue.put(LogPackage(np.uint8(1), -1, np.zeros(1, dtype=np.uint8)))
        with pytest.raises(ValueError):  # time 0 is the onset's, whose payload is a uint64
            queue.put(package(1, 0, b"not an onset"))
        with pytest.raises(ValueError):
            queue.put(package(1, 1, bytes(64 << 20)))  # larger than the logger's largest payload
        queue.put(package(1, 1, b"fine"))
    finally:
        logger.stop()
    with pytest.raises(SeqringError):  # stopped
        queue.put(package(1, 2, b"late"))
    with pytest.raises(TypeError):
        pickle.dumps(logger)
    # Any instance name works, as in ataraxis (the ring's machine-wide name is derived from it).
    spaced = DataLogger(tmp_path, "spaces, commas & such")
    spaced.start()
    spaced.input_queue.put(onset(3))
    spaced.stop()
    assert [p.name for p in spaced.output_directory.iterdir()] == [f"003_{0:020d}.npy"]


def child_logs(queue, source, count, start):
    start.wait()
    queue.put(onset(source, ONSET + source))
    for i in range(count):
        queue.put(package(source, i + 1, [source, i % 256]))


def test_children_log_through_the_pickled_queue(tmp_path, name, children):
    logger = DataLogger(tmp_path, name)
    logger.start()
    count = 2000
    start = children.ctx.Barrier(3)
    for s in (4, 5):
        children.start(child_logs, logger.input_queue, s, count, start)
    start.wait(timeout=60)
    children.join_ok()
    logger.stop()
    assemble_log_archives(logger.output_directory)
    for s in (4, 5):
        assert read_back(logger, s) == (ONSET + s, [(ONSET + s + i + 1, bytes([s, i % 256])) for i in range(count)])


def test_entry_names_and_the_directory_suffix_come_from_rust():
    from seqring import _seqring
    from seqring.compat import LOG_DIRECTORY_SUFFIX, LogPackage
    from seqring.errors import InvalidOptionError

    assert LOG_DIRECTORY_SUFFIX == "_data_log"
    assert _seqring.log_entry_name(7, 1234) == "007_00000000000000001234.npy"
    assert _seqring.log_entry_name(255, 2**64 - 1) == "255_18446744073709551615.npy"
    for source, time in ((256, 0), (-1, 0), (0, -1), (0, 2**64)):
        with pytest.raises(InvalidOptionError):
            _seqring.log_entry_name(source, time)
    name, entry = LogPackage(np.uint8(3), np.uint64(99), np.frombuffer(b"ab", np.uint8)).data
    assert name == "003_00000000000000000099.npy"
    assert entry.tobytes() == bytes([3]) + (99).to_bytes(8, "little") + b"ab"
