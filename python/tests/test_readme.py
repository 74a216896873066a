"""The README's Python examples run as written (in a scratch directory, in order, in one namespace)."""

import os
import re
from pathlib import Path

import pytest

README = Path(__file__).resolve().parents[2] / "README.md"


def python_blocks(section: str):
    text = README.read_text()
    start = text.index(f"## {section}\n")
    end = text.index("\n## ", start + 1)
    return re.findall(r"```python\n(.*?)```", text[start:end], flags=re.S)


def test_the_python_section_runs(tmp_path, monkeypatch):
    blocks = python_blocks("Python")
    assert len(blocks) >= 4, "the section shows one example per capability"
    monkeypatch.chdir(tmp_path)
    namespace = {}
    for block in blocks:
        if "from seqring.compat import" in block and "ataraxis_data_structures" in block:
            continue  # the one-line migration example, not a program
        exec(compile(block, str(README), "exec"), namespace)  # noqa: S102 (our own README)
    assert (tmp_path / "run" / "ax_checksum.txt").exists(), "the examples ran to their last line"
    assert not os.path.exists("/dev/shm/rig-state"), "the shared array example cleans up after itself"
