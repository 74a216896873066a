"""The Python benchmark scripts still run (each with --quick): they time nothing here, they only must not rot.
Their figures come from full runs, recorded in docs/BENCHMARKS.md."""

import subprocess
import sys
from pathlib import Path

import pytest

BENCHES = Path(__file__).resolve().parents[2] / "benches" / "python"
SCRIPTS = ["shared_array.py", "logger.py", "archive.py", "compat.py"]


@pytest.mark.parametrize("script", SCRIPTS)
def test_the_benchmark_script_runs(script, tmp_path):
    done = subprocess.run(
        [sys.executable, str(BENCHES / script), "--quick"], cwd=tmp_path, capture_output=True, text=True, timeout=300
    )
    assert done.returncode == 0, done.stderr
    assert "ns" in done.stdout and "nan" not in done.stdout.lower(), done.stdout
