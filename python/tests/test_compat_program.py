"""The issue's compatibility test: ataraxis_program.py, written against the ataraxis-data-structures 7.2.0 API with
one import changed to seqring.compat, runs unchanged as a subprocess, and its archives load in numpy with
ataraxis's layout."""

import json
import re
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

PROGRAM = Path(__file__).with_name("ataraxis_program.py")
MESSAGES = 400


def test_the_program_uses_seqring_in_its_import_line_only():
    code = PROGRAM.read_text().split('"""', 2)[2]  # past the module docstring, which describes the program
    lines = [line for line in code.splitlines() if "seqring" in line]
    assert len(lines) == 1 and re.fullmatch(r"from seqring\.compat import [\w, ]+", lines[0])
    ataraxis = lines[0].replace("seqring.compat", "ataraxis_data_structures")
    assert ataraxis.startswith("from ataraxis_data_structures import ")


def numpy_archive(path, source):
    """(onset, [(elapsed, payload)]) decoded from np.load alone, checking ataraxis's layout on the way."""
    with np.load(path) as npz:
        names = list(npz.files)
        entries = [npz[k] for k in names]
    for name, e in zip(names, entries):
        assert e.dtype == np.uint8 and e.ndim == 1 and e[0] == source
        assert name.startswith(f"{source:03d}_{int(e[1:9].view('<u8')[0]):020d}")
    elapsed = [int(e[1:9].view("<u8")[0]) for e in entries]
    assert elapsed[0] == 0 and elapsed == sorted(elapsed), "the onset entry first, then sorted by time"
    onset = int(entries[0][9:].view("<u8")[0])
    return onset, [(t, e[9:].tobytes()) for t, e in zip(elapsed[1:], entries[1:])]


def test_an_ataraxis_program_runs_unchanged(tmp_path, name):
    before_us = time.time_ns() // 1000
    run = subprocess.run(
        [sys.executable, str(PROGRAM), str(tmp_path), name, str(MESSAGES)],
        capture_output=True,
        text=True,
        timeout=180,
    )
    assert run.returncode == 0, run.stderr
    result = json.loads(run.stdout)
    after_us = time.time_ns() // 1000
    assert result["counted"] == 2 * MESSAGES, "every locked increment of both processes counted"
    assert result["child_done"] == 1
    log_dir = Path(result["log_directory"])
    assert log_dir == tmp_path / f"{name}_data_log"
    assert sorted(p.name for p in log_dir.iterdir()) == ["1_log.npz", "2_log.npz"], "sources removed"

    expected = {
        1: [(i + 1, f"parent message {i}".encode()) for i in range(MESSAGES)],
        2: [(10 * i + 5, bytes([2, i % 256, (i * 7) % 256])) for i in range(MESSAGES)],
    }
    for source, messages in expected.items():
        read = result[str(source)]
        onset, from_numpy = numpy_archive(log_dir / f"{source}_log.npz", source)
        assert before_us <= onset <= after_us
        assert read["onset_us"] == onset and read["message_count"] == MESSAGES
        assert from_numpy == messages
        assert read["messages"] == [[onset + t, p.hex()] for t, p in messages]
