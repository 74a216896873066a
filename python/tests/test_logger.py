"""DataLogger and Producer: every call and its bad input, 3 spawned producers read back byte for byte from the
archives, and a producer killed with SIGKILL that loses nothing it committed."""

import array
import gc
import multiprocessing as mp
import os
import signal
import threading
import time
from pathlib import Path

import numpy as np
import pytest

from seqring import DataLogger, LogArchive, Producer, assemble_log_archives
from conftest import regions_dir
from seqring.errors import (
    AlreadyExistsError,
    ClosedError,
    DTypeMismatchError,
    InvalidNameError,
    InvalidOptionError,
    NotFoundError,
    PayloadTooLargeError,
    RingFullError,
    SeqringError,
    ShapeError,
)

RECORD = 16  # the ring's record header


def region(name):
    """The logger's shared-memory region, as the OS lists it."""
    return regions_dir() / f"seqring-log.{name}"


PATTERN = bytes(range(256)) * 2


def message(source_id, i):
    """Message i of a source: distinct, 8 to 207 bytes long, naming its source and number."""
    start, length = i & 0xFF, 3 + (i * 37 + source_id) % 200
    return bytes([source_id]) + i.to_bytes(4, "little") + PATTERN[start : start + length]


def as_buffer(i, payload):
    """The payload as bytes, a bytearray or a uint8 ndarray, by turns."""
    kind = i % 3
    if kind == 0:
        return payload
    if kind == 1:
        return bytearray(payload)
    return np.frombuffer(payload, dtype=np.uint8).copy()


def archive(log_dir, source_id):
    """(onset_us, absolute timestamps, payloads as bytes) of a source's archive, through seqring.LogArchive."""
    a = LogArchive(Path(log_dir) / f"{source_id}_log.npz")
    timestamps, payloads = a.read_all()
    return a.onset_us, timestamps.tolist(), [bytes(p) for p in payloads]


def numpy_archive(log_dir, source_id):
    """The same as `archive`, decoded by numpy alone (np.load of the ataraxis layout)."""
    with np.load(Path(log_dir) / f"{source_id}_log.npz") as npz:
        entries = [npz[k] for k in npz.files]
    assert all(e.dtype == np.uint8 and e.ndim == 1 for e in entries)
    assert int(entries[0][1:9].view("<u8")[0]) == 0, "the onset entry comes first"
    assert all(int(e[0]) == source_id for e in entries)
    onset = int(entries[0][9:17].view("<u8")[0])
    return onset, [onset + int(e[1:9].view("<u8")[0]) for e in entries[1:]], [e[9:].tobytes() for e in entries[1:]]


def assemble_and_read(log_dir, source_id):
    """Assembles the log, then reads a source's archive with seqring and with numpy, which must agree."""
    assemble_log_archives(log_dir)
    ours = archive(log_dir, source_id)
    assert numpy_archive(log_dir, source_id) == ours
    return ours


def test_every_buffer_kind_goes_to_disk_and_back(tmp_path, name):
    logger = DataLogger(tmp_path, name, capacity=1 << 20)
    assert (logger.name, logger.log_dir, logger.alive) == (name, tmp_path / f"{name}_data_log", False)
    assert "ready" in repr(logger) and not region(name).exists()
    m = np.arange(20, dtype=np.int32).reshape(4, 5)
    items = [
        b"bytes",
        bytearray(b"a bytearray"),
        memoryview(b"0123456789")[2:8],
        np.arange(5, dtype=np.float64),  # the first typed ndarray: declares the source's schema (test_schema.py)
        np.arange(12, dtype=">i2").view(np.uint8),  # any dtype as a 1-D uint8 ndarray: raw bytes, never checked
        m[2].view(np.uint8),  # a C-contiguous row of a larger array
        np.zeros(0, dtype=np.uint8),
        array.array("i", [1, -2, 3]),
        memoryview(np.float32(1.5)),  # a numpy scalar has the buffer protocol too
        b"",
    ]
    expected = [
        bytes(x) if isinstance(x, (bytes, bytearray, memoryview)) else np.asarray(x).tobytes() for x in items
    ]
    with logger as entered:
        assert entered is logger and logger.alive and region(name).exists() and "running" in repr(logger)
        logger.start()  # idempotent while running
        assert logger.alive
        before_us = time.time_ns() // 1000
        producer = Producer.connect(name, 7)
        after_us = time.time_ns() // 1000
        assert (producer.source_id, producer.logger_name) == (7, name)
        assert name in repr(producer) and "source_id=7" in repr(producer)
        assert before_us - 1000 <= producer.onset_us <= after_us + 1000
        assert producer.max_payload == (1 << 20) // 4 - RECORD
        assert producer.elapsed_us() >= 0
        for x in items:
            producer.log(x)
        producer.log_at(10**12, b"eleven days later")
        health = logger.health()
        assert set(health) == {"records", "written", "bytes", "pending_bytes", "dropped", "abandoned", "error"}
        assert (health["dropped"], health["abandoned"], health["error"]) == (0, 0, None)
        report = logger.stop()
    # The with block's exit found the logger stopped already: no second stop, no error.
    assert not logger.alive and not region(name).exists() and "stopped" in repr(logger)
    assert report["log_dir"] == logger.log_dir
    assert report["sources"] == {
        7: {
            "records": len(items) + 2,  # the onset record and the log_at message
            "bytes": sum(map(len, expected)) + 8 + len(b"eleven days later"),
            "dropped": 0,
            "unwritten_records": 0,
            "unwritten_bytes": 0,
        }
    }
    assert (report["records"], report["dropped"], report["abandoned"], report["unwritten_records"]) == (
        len(items) + 2,
        0,
        0,
        0,
    )
    assert report["files"] and all(Path(f).is_file() for f in report["files"]) and report["npy_entries"] == 0
    for call in (logger.stop, logger.start, logger.health, logger.pause_writing, logger.resume_writing):
        with pytest.raises(ClosedError):
            call()
    with pytest.raises(ClosedError):
        producer.log(b"after stop")

    onset, timestamps, payloads = assemble_and_read(logger.log_dir, 7)
    assert onset == producer.onset_us
    assert payloads == expected + [b"eleven days later"]
    assert timestamps == sorted(timestamps) and timestamps[-1] == onset + 10**12


def test_a_source_can_be_given_its_onset(tmp_path, name):
    onset = 1_700_000_000_000_000  # 2023-11-14, µs since the epoch
    with DataLogger(tmp_path, name) as logger:
        camera = Producer.connect(name, 5, onset_us=onset)
        assert camera.onset_us == onset
        camera.log_at(40, b"frame")
        with pytest.raises(AlreadyExistsError):
            Producer.connect(name, 5, onset_us=onset + 1)
        assert Producer.connect(name, 5).onset_us == onset  # a later producer of the source shares it
        for bad in (-1, "now", 2**64):
            with pytest.raises(InvalidOptionError):
                Producer.connect(name, 6, onset_us=bad)
        report = logger.stop()
    assert report["sources"][5]["records"] == 2 and 6 not in report["sources"]
    assert assemble_and_read(logger.log_dir, 5) == (onset, [onset + 40], [b"frame"])


def test_npy_entries_from_two_sources(tmp_path, name):
    with DataLogger(tmp_path, name, format="npy", writers=2, fsync_interval=None) as logger:
        producers = [Producer.connect(name, s) for s in (1, 200)]
        for i in range(50):
            for p in producers:
                p.log(message(p.source_id, i))
        report = logger.stop()
    entries = sorted(logger.log_dir.glob("*.npy"))
    assert report["npy_entries"] == len(entries) == 102 and report["files"] == []
    first = np.load(entries[0])
    assert first.dtype == np.uint8 and first.ndim == 1
    for p in producers:
        assert report["sources"][p.source_id]["records"] == 51
        _, _, payloads = assemble_and_read(logger.log_dir, p.source_id)
        assert payloads == [message(p.source_id, i) for i in range(50)]


def test_the_context_manager_stops_on_an_exception_and_a_dropped_logger_stops(tmp_path, name):
    with pytest.raises(RuntimeError, match="in the block"):
        with DataLogger(tmp_path, name) as logger:
            Producer.connect(name, 1).log(b"x")
            raise RuntimeError("in the block")
    assert not logger.alive and not region(name).exists()
    assert sorted(logger.log_dir.iterdir()), "the log was written"

    again = DataLogger(tmp_path / "again", name)
    again.start()
    assert region(name).exists()
    del again
    gc.collect()
    assert not region(name).exists(), "a logger garbage-collected while running stops and removes its region"


@pytest.mark.parametrize(
    "options",
    [
        {"format": "csv"},
        {"format": "npy", "writers": 0},
        {"on_full": "block"},
        {"fsync_interval": -1.0},
        {"wait_timeout": float("nan"), "on_full": "wait"},
        {"abandon_timeout": float("inf")},
        {"capacity": -1},
        {"max_payload": "big"},
        {"segment_size": 1.5},
        {"writers": -3},
    ],
)
def test_bad_options_are_refused_at_construction(tmp_path, name, options):
    with pytest.raises(InvalidOptionError):
        DataLogger(tmp_path, name, **options)
    assert isinstance(InvalidOptionError("x"), ValueError)
    assert not any(tmp_path.iterdir())


@pytest.mark.parametrize(
    "name_, options, error",
    [
        ("ok", {"capacity": 32}, InvalidOptionError),  # below 64 B
        ("ok", {"capacity": 1 << 31}, InvalidOptionError),  # above 1 GiB
        ("ok", {"capacity": 4096, "max_payload": 4096}, InvalidOptionError),  # more than half the ring
        ("ok", {"segment_size": 0}, InvalidOptionError),
        ("ok", {"flush_interval": 0.0}, InvalidOptionError),  # below 10 µs
        ("ok", {"flush_interval": 2.0}, InvalidOptionError),  # above 1 s
        ("bad name!", {}, InvalidNameError),
        ("", {}, InvalidNameError),
        ("..", {}, InvalidNameError),
        ("x" * 189, {}, InvalidNameError),
    ],
)
def test_bad_settings_are_refused_when_the_logger_is_made_leaving_nothing_behind(tmp_path, name, name_, options, error):
    # Checked when the object is made (issue 25: `DataLogger("run2", "a/b")` used to fail only at start()).
    logger_name = name if name_ == "ok" else name_
    with pytest.raises(error):
        DataLogger(tmp_path, logger_name, **options)
    assert not any(tmp_path.iterdir())
    assert not region(logger_name).exists()


def test_a_bad_directory_leaves_no_region_and_the_logger_can_start_later(tmp_path, name):
    blocker = tmp_path / "a-file"
    blocker.write_bytes(b"not a directory")
    logger = DataLogger(blocker, name)
    with pytest.raises(SeqringError, match="a-file"):
        logger.start()
    assert not region(name).exists() and blocker.read_bytes() == b"not a directory"
    blocker.unlink()
    blocker.mkdir()
    logger.start()  # the failed start left it startable
    assert logger.alive and logger.log_dir.is_dir()
    logger.stop()


def test_a_name_runs_one_logger_at_a_time(tmp_path, name):
    first = DataLogger(tmp_path / "first", name)
    second = DataLogger(tmp_path / "second", name)
    first.start()
    with pytest.raises(AlreadyExistsError) as e:
        second.start()
    assert isinstance(e.value, FileExistsError) and not second.alive
    Producer.connect(name, 1).log(b"still the first's")
    assert first.stop()["sources"][1]["records"] == 2
    second.start()
    assert second.alive
    assert second.stop()["records"] == 0


def test_stop_and_health_before_start_are_errors(tmp_path, name):
    logger = DataLogger(tmp_path, name)
    for call in (logger.stop, logger.health, logger.pause_writing):
        with pytest.raises(SeqringError, match="not started") as e:
            call()
        assert not isinstance(e.value, ClosedError)
    logger.start()
    logger.stop()


def test_producer_bad_input(tmp_path, name):
    with pytest.raises(NotFoundError) as e:
        Producer.connect(name, 1)
    assert isinstance(e.value, FileNotFoundError)
    for bad in ("a/b", "", "bad name"):
        with pytest.raises(InvalidNameError):
            Producer.connect(bad, 1)
    with DataLogger(tmp_path, name, capacity=4096, max_payload=64) as logger:
        for bad in (256, -1, "1", 1.5, None):
            with pytest.raises(InvalidOptionError):
                Producer.connect(name, bad)
        p = Producer.connect(name, 255)
        assert p.max_payload == 64
        p.log(b"x" * 64)
        with pytest.raises(PayloadTooLargeError, match="65 bytes"):
            p.log(b"x" * 65)
        with pytest.raises(PayloadTooLargeError):
            p.log(np.zeros(9, dtype=np.float64))
        for bad in ("text", 12, [1, 2], None, object(), np.array([object()])):
            with pytest.raises(DTypeMismatchError) as e:
                p.log(bad)
            assert isinstance(e.value, TypeError)
        for bad in (np.arange(10)[::2], np.zeros((3, 3), order="F"), memoryview(b"abcdef")[::2]):
            with pytest.raises(ShapeError):
                p.log(bad)
        for bad in (0, -1, 2**64, "1", 1.5):
            with pytest.raises(InvalidOptionError):
                p.log_at(bad, b"x")
        p.log_at(1, b"y")
        report = logger.stop()
    # Refused calls log nothing and count nothing.
    assert report["sources"][255] == {
        "records": 3,
        "bytes": 8 + 64 + 1,
        "dropped": 0,
        "unwritten_records": 0,
        "unwritten_bytes": 0,
    }
    with pytest.raises(NotFoundError):
        Producer.connect(name, 1)  # the logger is gone


def fill_paused_ring(logger, producer, capacity, payload):
    """Logs `payload` while it surely fits in the paused ring; returns the number logged."""
    logged = 0
    while logger.health()["pending_bytes"] + RECORD + len(payload) <= capacity:
        producer.log(payload)
        logged += 1
    return logged


def test_a_full_ring_drops_and_counts_under_the_drop_policy(tmp_path, name):
    with DataLogger(tmp_path, name, capacity=4096) as logger:
        logger.pause_writing()
        p = Producer.connect(name, 3)
        logged, refused = 0, 0
        while refused < 5:
            try:
                p.log(message(3, logged))
                logged += 1
            except RingFullError:
                refused += 1
        assert logger.health()["dropped"] == refused
        logger.resume_writing()
        report = logger.stop()
    assert report["sources"][3]["dropped"] == report["dropped"] == refused
    assert report["sources"][3]["records"] == logged + 1
    assert assemble_and_read(logger.log_dir, 3)[2] == [message(3, i) for i in range(logged)]


def test_the_wait_policy_waits_without_the_gil_and_drops_after_its_timeout(tmp_path, name):
    payload = b"w" * 64
    with DataLogger(tmp_path, name, capacity=4096, on_full="wait", wait_timeout=30.0) as logger:
        logger.pause_writing()
        p = Producer.connect(name, 4)
        logged = fill_paused_ring(logger, p, 4096, payload)
        go = threading.Event()

        def resume():
            go.wait()
            logger.resume_writing()

        helper = threading.Thread(target=resume)
        helper.start()
        go.set()
        # The ring is full: this call waits until the helper thread resumes the drain, which it can only do if
        # the call released the GIL (otherwise it would give up after 30 s with RingFullError).
        p.log(payload)
        helper.join()
        report = logger.stop()
    assert report["sources"][4]["records"] == logged + 2 and report["dropped"] == 0
    assert assemble_and_read(logger.log_dir, 4)[2] == [payload] * (logged + 1)

    with DataLogger(tmp_path / "short", name, capacity=4096, on_full="wait", wait_timeout=0.01) as logger:
        logger.pause_writing()
        p = Producer.connect(name, 4)
        logged = fill_paused_ring(logger, p, 4096, payload)
        with pytest.raises(RingFullError):
            while True:  # one call, unless the drain took a batch in the instant before it saw the pause
                p.log(bytearray(payload))
                logged += 1
        logger.resume_writing()
        report = logger.stop()
    assert report["sources"][4]["dropped"] == 1 and report["sources"][4]["records"] == logged + 1


COUNT = 20_000


def produce(name, source_id, ready, results):
    producer = Producer.connect(name, source_id)
    payloads = [as_buffer(i, message(source_id, i)) for i in range(COUNT)]
    ready.wait()
    for data in payloads:
        producer.log(data)
    results.put((source_id, producer.onset_us))


def test_three_producer_processes_every_message_back_byte_for_byte(tmp_path, name):
    ctx = mp.get_context("spawn")
    sources = (2, 11, 250)
    with DataLogger(tmp_path, name, capacity=1 << 16, on_full="wait", wait_timeout=30.0) as logger:
        ready = ctx.Barrier(len(sources) + 1)
        results = ctx.Queue()
        children = [ctx.Process(target=produce, args=(name, s, ready, results)) for s in sources]
        for c in children:
            c.start()
        ready.wait(timeout=60)
        onsets = dict(results.get(timeout=120) for _ in children)
        for c in children:
            c.join(timeout=60)
            assert c.exitcode == 0
        report = logger.stop()
    assert (report["dropped"], report["abandoned"], report["unwritten_records"]) == (0, 0, 0)
    assert sorted(report["sources"]) == sorted(sources)
    assemble_log_archives(logger.log_dir)
    for s in sources:
        assert report["sources"][s]["records"] == COUNT + 1
        onset, timestamps, payloads = archive(logger.log_dir, s)
        assert onset == onsets[s]
        assert payloads == [message(s, i) for i in range(COUNT)], f"source {s}"
        assert timestamps == sorted(timestamps) and timestamps[0] >= onset
        assert numpy_archive(logger.log_dir, s) == (onset, timestamps, payloads)


KILL_AFTER = 10_000


def produce_until_killed(name, committed):
    producer = Producer.connect(name, 9)
    i = 0
    while True:
        producer.log(message(9, i))
        i += 1
        committed.value = i  # every message before i has returned from log: it is committed


def test_a_producer_killed_mid_run_loses_nothing_it_committed(tmp_path, name):
    ctx = mp.get_context("spawn")
    with DataLogger(tmp_path, name, capacity=1 << 16, on_full="wait", wait_timeout=30.0, abandon_timeout=0.2) as logger:
        # A flag in shared memory, stored after every message: reading it costs the child no system call, so the
        # child keeps logging while this process watches it, and the kill lands inside its logging loop.
        committed = ctx.RawValue("Q", 0)
        child = ctx.Process(target=produce_until_killed, args=(name, committed))
        child.start()
        while committed.value < KILL_AFTER and child.is_alive():
            time.sleep(0)
        child.kill()  # SIGKILL on POSIX, TerminateProcess on Windows
        child.join(timeout=60)
        # multiprocessing reports a process it terminated on Windows as -SIGTERM.
        assert child.exitcode == (-signal.SIGKILL if os.name == "posix" else -signal.SIGTERM)
        report = logger.stop()
    committed = committed.value  # its last store before it died
    assert committed >= KILL_AFTER
    source = report["sources"][9]
    assert source["dropped"] == 0 and report["abandoned"] <= 1
    logged = source["records"] - 1
    assert committed <= logged <= committed + 1  # at most the one message in flight when it died
    _, timestamps, payloads = assemble_and_read(logger.log_dir, 9)
    assert payloads == [message(9, i) for i in range(logged)], "every committed message, in order, intact"


def log_past_a_file_size_limit(output_dir, name, count, results):
    """Runs a logger whose files may not grow past 200 KiB (RLIMIT_FSIZE); reports what health and stop said."""
    import resource

    signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # a write past the limit fails with EFBIG instead of killing
    resource.setrlimit(resource.RLIMIT_FSIZE, (200 << 10, resource.RLIM_INFINITY))
    logger = DataLogger(output_dir, name, capacity=1 << 16, on_full="wait", wait_timeout=30.0)
    logger.start()
    producer = Producer.connect(name, 1)
    for i in range(count):
        producer.log(message(1, i))
    health = logger.health()
    try:
        logger.stop()
        results.put(("stopped", health, None, None))
    except SeqringError as e:
        try:
            logger.stop()
            closed = False
        except ClosedError:
            closed = True
        results.put((str(e), health, e.report, closed and not logger.alive))


def test_a_disk_error_is_reported_with_exact_counts(tmp_path, name):
    ctx = mp.get_context("spawn")
    results = ctx.Queue()
    count = 10_000  # about 1.2 MB of segments
    child = ctx.Process(target=log_past_a_file_size_limit, args=(tmp_path, name, count, results))
    child.start()
    error, health, report, closed = results.get(timeout=120)
    child.join(timeout=60)
    assert child.exitcode == 0
    assert "File too large" in error and "could not be written" in error
    assert health["error"] and "File too large" in health["error"]
    assert closed, "a stop that failed still stops the logger"
    source = report["sources"][1]
    assert source["records"] + source["unwritten_records"] == count + 1
    assert source["unwritten_records"] > 0 and source["dropped"] == 0
    assert report["records"] == source["records"] and report["unwritten_records"] == source["unwritten_records"]
    assert report["log_dir"] == tmp_path / f"{name}_data_log"
