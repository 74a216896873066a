"""Source schemas (issue 23): a producer declares what its payloads are, the logger keeps it beside the log, assembly
leaves it beside the archive (the .npz stays what numpy/ataraxis write), and LogArchive.read_typed() uses it."""

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import seqring

REPO = Path(__file__).resolve().parents[2]
# A virtual environment keeps its interpreter in bin/ on POSIX and in Scripts\ on Windows.
VENV_PYTHON = ("bin", "python") if os.name == "posix" else ("Scripts", "python.exe")
ATARAXIS = Path(os.environ.get("SEQRING_ATARAXIS_PYTHON", REPO.joinpath(".ataraxis-venv", *VENV_PYTHON)))

SAMPLE = np.dtype([("t", "<u8"), ("xy", "<f4", (2,)), ("flag", "|u1"), ("name", "S3")])


def samples(n):
    out = np.zeros(n, SAMPLE)
    out["t"] = np.arange(n) * 7
    out["xy"][:, 0] = np.arange(n) / 2
    out["xy"][:, 1] = -np.arange(n)
    out["flag"] = np.arange(n) % 3
    out["name"] = [f"s{i % 10}".encode() for i in range(n)]
    return out


def logger_name(tag):
    return f"pyschema-{tag}-{os.getpid()}"


def record(tmp_path, tag, source, payloads, declare=None):
    """Logs `payloads` (each with log_at, 10 µs apart) for `source`, assembles, returns the archive's path."""
    with seqring.DataLogger(tmp_path, logger_name(tag)) as logger:
        producer = seqring.Producer.connect(logger.name, source)
        if declare is not None:
            producer.declare_schema(**declare)
        for i, payload in enumerate(payloads):
            producer.log_at(10 * (i + 1), payload)
        log_dir = Path(logger.log_dir)
    seqring.assemble_log_archives(log_dir)
    return log_dir / f"{source}_log.npz"


def test_a_structured_dtype_comes_back_as_the_same_structured_array(tmp_path):
    rows = samples(300)
    path = record(tmp_path, "rows", 4, list(rows))  # each row a numpy.void: declared on the first call
    schema_file = path.with_name("4_log.schema.json")
    assert json.loads(schema_file.read_text())["source_id"] == 4
    archive = seqring.LogArchive(path)
    assert archive.schema == {"dtype": SAMPLE, "shape": (), "description": ""}
    timestamps, values = archive.read_typed()
    assert values.dtype == SAMPLE and values.shape == (300,)
    np.testing.assert_array_equal(values, rows)
    assert timestamps.dtype == np.uint64
    np.testing.assert_array_equal(timestamps - archive.onset_us, 10 * np.arange(1, 301))


def test_aligned_structs_and_element_shapes_round_trip(tmp_path):
    aligned = np.dtype([("a", "u1"), ("b", "<f8")], align=True)  # padding: ('', '|V7')
    frames = [np.full((2, 3), i, aligned) for i in range(5)]
    archive = seqring.LogArchive(record(tmp_path, "aligned", 6, frames))
    assert archive.schema["shape"] == (2, 3)
    _, values = archive.read_typed()
    assert values.dtype == aligned and values.shape == (5, 2, 3)
    np.testing.assert_array_equal(values, np.stack(frames))


def test_a_payload_of_another_dtype_or_shape_is_refused_and_not_logged(tmp_path):
    with seqring.DataLogger(tmp_path, logger_name("refuse")) as logger:
        producer = seqring.Producer.connect(logger.name, 2)
        producer.log(np.arange(3, dtype="<f8"))
        for wrong in (np.arange(3, dtype="<f4"), np.arange(4, dtype="<f8"), np.float64(1.0)):
            with pytest.raises(seqring.SchemaError, match="was not logged") as caught:
                producer.log(wrong)
            assert isinstance(caught.value, ValueError)
        with pytest.raises(seqring.SchemaError, match="cannot change"):
            producer.declare_schema("<f4", (3,))
        producer.declare_schema("<f8", (3,), description="")  # the same: a no-op
        # A second producer (a new process would do the same) is held to the recorded schema too.
        other = seqring.Producer.connect(logger.name, 2)
        with pytest.raises(seqring.SchemaError, match="cannot change"):
            other.log(np.zeros(3, "<i8"))
        other.log(np.ones(3, "<f8"))
        producer.log(b"raw bytes are not checked")
        report = logger.stop()
    assert report["sources"][2]["records"] == 4  # the onset, two arrays and the raw bytes
    seqring.assemble_log_archives(logger.log_dir)
    archive = seqring.LogArchive(Path(logger.log_dir) / "2_log.npz")
    with pytest.raises(seqring.SchemaError, match="payload bytes"):
        archive.read_typed()


def test_explicit_and_opaque_declarations(tmp_path):
    with seqring.DataLogger(tmp_path, logger_name("explicit")) as logger:
        camera = seqring.Producer.connect(logger.name, 1)
        assert camera.schema is None
        camera.declare_schema(format="protobuf:rig.Frame", version="3", description="camera frames")
        assert camera.schema == {"format": "protobuf:rig.Frame", "version": "3", "description": "camera frames"}
        with pytest.raises(seqring.SchemaError):
            camera.log(np.zeros(2, "<f4"))  # an ndarray would declare a dtype: the source has a format
        camera.log(np.zeros(2, "u1"))  # a 1-D uint8 ndarray is raw bytes (ataraxis's serialized payloads)
        camera.log(b"\x08\x01")
        wheel = seqring.Producer.connect(logger.name, 9)
        wheel.declare_schema(SAMPLE, description="wheel")
        wheel.log(samples(1)[0])
        with pytest.raises(seqring.InvalidOptionError):
            wheel.declare_schema()
        with pytest.raises(seqring.InvalidOptionError):
            wheel.declare_schema(format="x")
        with pytest.raises(seqring.SchemaError, match="objects"):
            wheel.declare_schema(object)
        log_dir = Path(logger.log_dir)
    seqring.assemble_log_archives(log_dir)
    camera_archive = seqring.LogArchive(log_dir / "1_log.npz")
    assert camera_archive.schema["format"] == "protobuf:rig.Frame"
    with pytest.raises(seqring.SchemaError):
        camera_archive.read_typed()
    assert seqring.LogArchive(log_dir / "9_log.npz").schema["description"] == "wheel"


def test_an_archive_without_a_schema_or_with_a_broken_one(tmp_path):
    path = record(tmp_path, "none", 3, [b"abc"])
    archive = seqring.LogArchive(path)
    assert archive.schema is None
    with pytest.raises(seqring.SchemaError, match="no schema"):
        archive.read_typed()
    path.with_name("3_log.schema.json").write_text('{"seqring_schema": 1, "source_id": 4, "format": {}}')
    with pytest.raises(seqring.SchemaError):
        seqring.LogArchive(path).schema


def test_the_npz_is_what_numpy_writes_and_loads_unchanged(tmp_path):
    rows = samples(50)
    path = record(tmp_path, "numpy", 5, list(rows))
    archive = seqring.LogArchive(path)
    # The same messages through numpy.savez, as ataraxis's assemble_log_archives writes them.
    timestamps = archive.read_all()[0] - archive.onset_us
    entries = {"005_" + "0" * 20: np.concatenate([[5], np.zeros(8, np.uint8),
                                                  np.frombuffer(np.uint64(archive.onset_us).tobytes(), np.uint8)])}
    for t, row in zip(timestamps, rows):
        head = np.frombuffer(np.uint64(t).tobytes(), np.uint8)
        entries[f"005_{int(t):020d}"] = np.concatenate([[5], head, np.frombuffer(row.tobytes(), np.uint8)])
    np.savez(tmp_path / "numpy.npz", **{k: v.astype(np.uint8) for k, v in entries.items()})
    assert path.read_bytes() == (tmp_path / "numpy.npz").read_bytes()
    assert sorted(p.name for p in path.parent.iterdir()) == ["5_log.npz", "5_log.schema.json"]
    with np.load(path) as loaded:
        first = loaded[f"005_{int(timestamps[0]):020d}"]
        assert first[9:].view(SAMPLE)[0] == rows[0]


def test_the_real_ataraxis_reads_an_archive_with_a_schema(tmp_path):
    if not ATARAXIS.exists():
        pytest.skip(f"the real ataraxis is not installed ({ATARAXIS}); tests/run.sh installs it")
    rows = samples(20)
    path = record(tmp_path, "ataraxis", 7, list(rows))
    script = f"""
import json, sys
import numpy as np
import ataraxis_data_structures as ax
from pathlib import Path
reader = ax.LogArchiveReader(archive_path=Path({str(path)!r}))
payloads = [m.payload.tobytes().hex() for m in reader.iter_messages()]
found = ax.discover_log_archives(log_directory=Path({str(path.parent)!r}))
print(json.dumps({{"count": reader.message_count, "payloads": payloads,
                  "found": {{str(k): v.name for k, v in found.items()}}}}))
"""
    done = subprocess.run([str(ATARAXIS), "-c", script], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    result = json.loads(done.stdout.strip().splitlines()[-1])
    assert result["count"] == 20
    assert result["payloads"] == [row.tobytes().hex() for row in rows]
    assert result["found"] == {"7": "7_log.npz"}


def test_a_producer_in_another_process_declares_for_its_source(tmp_path):
    with seqring.DataLogger(tmp_path, logger_name("process")) as logger:
        child = f"""
import numpy as np, seqring
dt = np.dtype({SAMPLE.descr!r})
p = seqring.Producer.connect({logger.name!r}, 11)
for i in range(10):
    p.log(np.array((i, (i, -i), 1, b"abc"), dt))
try:
    p.log(np.zeros(1, "<f8"))
except seqring.SchemaError:
    print("refused")
"""
        done = subprocess.run([sys.executable, "-c", child], capture_output=True, text=True, timeout=120)
        assert done.returncode == 0, done.stderr
        assert done.stdout.strip() == "refused"
        here = seqring.Producer.connect(logger.name, 11)
        assert here.schema["dtype"] == SAMPLE
        log_dir = Path(logger.log_dir)
    seqring.assemble_log_archives(log_dir)
    _, values = seqring.LogArchive(log_dir / "11_log.npz").read_typed()
    np.testing.assert_array_equal(values["xy"][:, 1], -np.arange(10))


def test_the_readme_section_runs(tmp_path, monkeypatch):
    text = (REPO / "README.md").read_text()
    start = text.index("## Source schemas\n")
    blocks = re.findall(r"```python\n(.*?)```", text[start:text.index("\n## ", start + 1)], flags=re.S)
    assert len(blocks) == 1
    monkeypatch.chdir(tmp_path)
    exec(compile(blocks[0], "README.md", "exec"), {})  # noqa: S102 (our own README)
