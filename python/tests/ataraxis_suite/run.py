"""Runs ataraxis-data-structures 7.2.0's own pytest suite against ``seqring.compat``.

What it does, in order:

1. takes the ataraxis 7.2.0 sdist (``--sdist PATH``, or downloads it from PyPI with ``pip download``), and unpacks
   its ``tests/`` folder into a scratch directory;
2. rewrites only the import statements: every ``from ataraxis_data_structures[.module] import names`` becomes
   ``from seqring.compat import names``. A private name (``_compare_arrays``) or a module that compat does not have
   becomes a placeholder that raises when a test uses it; the tests that use one are in :data:`EXCLUDED`. Nothing
   else in a test is changed;
3. runs pytest on :data:`FILES` with the excluded tests deselected, and exits with pytest's status. It also fails
   if an excluded id no longer names a test (so the list cannot go stale).

The suite imports ``ataraxis_base_utilities`` and ``ataraxis_time``, whose releases need Python 3.12; the local
stand-ins in ``../shared/reference/ataraxis-env`` (the ones ``setup.sh`` installs beside the real ataraxis) are put on
``PYTHONPATH``.

``--target ataraxis`` runs the same files unrewritten and without exclusions, to check in an environment that has the
real ataraxis (``bash ../shared/reference/ataraxis-env/setup.sh``) that every test passes there.

Usage: ``python3 python/tests/ataraxis_suite/run.py [--sdist PATH] [--target compat|ataraxis] [pytest args...]``
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import subprocess
import sys
import tarfile
import tempfile
from pathlib import Path

VERSION = "7.2.0"
REPO = Path(__file__).resolve().parents[3]
STAND_INS = REPO.parent / "shared" / "reference" / "ataraxis-env"

#: The test files of the suite that exercise names seqring.compat provides.
FILES = [
    "tests/shared_memory/shared_memory_array_test.py",
    "tests/data_loggers/serialized_data_logger_test.py",
    "tests/data_loggers/log_archive_reader_test.py",
    "tests/data_structures/processing_tracker_test.py",
    "tests/processing/checksum_tools_test.py",
]

_PRIVATE = "reads or patches a private attribute"
_MESSAGE = "matches the exact text of an error message"

#: Test ids (relative to the unpacked sdist) that are not run against compat, each with its reason.
EXCLUDED: dict[str, str] = {}


def _download(dest: Path) -> Path:
    subprocess.run(
        [sys.executable, "-m", "pip", "download", "--quiet", "--disable-pip-version-check", "--no-deps",
         "--no-binary", ":all:", "--ignore-requires-python", f"ataraxis-data-structures=={VERSION}", "-d", str(dest)],
        check=True,
    )
    return next(dest.glob(f"ataraxis_data_structures-{VERSION}.tar.gz"))


def _unpack(sdist: Path, dest: Path) -> Path:
    """Unpacks the sdist's ``tests/`` and ``pyproject.toml``; returns the unpacked root."""
    root = f"ataraxis_data_structures-{VERSION}/"
    with tarfile.open(sdist) as tar:
        members = [m for m in tar.getmembers() if m.name.startswith(root + "tests/") or m.name == root + "pyproject.toml"]
        for m in members:
            if not (m.isfile() or m.isdir()) or ".." in Path(m.name).parts:
                raise SystemExit(f"unexpected member in the sdist: {m.name}")
        tar.extractall(dest, members=members)
    return dest / root


_IMPORT = re.compile(r"^(?P<indent>[ \t]*)from ataraxis_data_structures(?P<module>(\.\w+)*) import (?P<names>\([^)]*\)|[^\n]*)", re.M)


def _rewrite(source: str) -> str:
    """Points every ``from ataraxis_data_structures... import ...`` at ``seqring.compat`` (see the module doc)."""

    def replace(match: re.Match[str]) -> str:
        indent = match["indent"]
        names = [n.strip() for n in match["names"].strip("()").replace("\n", " ").split(",") if n.strip()]
        lines = []
        for entry in names:
            name, _, alias = (part.strip() for part in entry.partition(" as "))
            alias = alias or name
            lines.append(
                f"{indent}try:\n{indent}    from seqring.compat import {name} as {alias}\n"
                f"{indent}except ImportError:\n{indent}    {alias} = _seqring_missing({name!r})"
            )
        return "\n".join(lines)

    rewritten = _IMPORT.sub(replace, source)
    if rewritten == source:
        return source
    helper = (
        "def _seqring_missing(name):\n"
        "    class _Missing:\n"
        "        def __getattr__(self, attr):\n"
        "            raise NotImplementedError(f'seqring.compat has no {name}')\n"
        "        def __call__(self, *args, **kwargs):\n"
        "            raise NotImplementedError(f'seqring.compat has no {name}')\n"
        "    return _Missing()\n"
    )
    # After `from __future__` (which must come first) and the module docstring.
    lines = rewritten.split("\n")
    at = max((i + 1 for i, line in enumerate(lines) if line.startswith("from __future__")), default=0)
    lines.insert(at, helper)
    return "\n".join(lines)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--sdist", type=Path, help="the ataraxis-data-structures 7.2.0 sdist (default: download it)")
    parser.add_argument("--target", choices=["compat", "ataraxis"], default="compat")
    parser.add_argument("--keep", action="store_true", help="keep the scratch directory")
    args, pytest_args = parser.parse_known_args()
    scratch = Path(tempfile.mkdtemp(prefix="ataraxis-suite-"))
    try:
        sdist = args.sdist or _download(scratch)
        root = _unpack(sdist, scratch)
        if args.target == "compat":
            for path in (root / "tests").rglob("*.py"):
                path.write_text(_rewrite(path.read_text()))
        (root / "pytest.ini").write_text(
            "[pytest]\naddopts = --import-mode=importlib -p no:cacheprovider\npythonpath = .\n"
            "markers =\n    xdist_group: ataraxis's pytest-xdist grouping (unused here)\n"
        )
        env = dict(os.environ)
        if args.target == "compat":
            env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(STAND_INS), env.get("PYTHONPATH")]))
        command = [sys.executable, "-m", "pytest", "-q", *FILES]
        if args.target == "compat":
            missing = _check_excluded(root, env)
            if missing:
                print("excluded ids that name no test:", *missing, sep="\n  ", file=sys.stderr)
                return 1
            command += [f"--deselect={test_id}" for test_id in EXCLUDED]
        print(f"ataraxis {VERSION} suite against {args.target}: {len(EXCLUDED) if args.target == 'compat' else 0} "
              f"excluded test(s)", flush=True)
        return subprocess.run([*command, *pytest_args], cwd=root, env=env).returncode
    finally:
        if args.keep:
            print(f"kept {scratch}")
        else:
            shutil.rmtree(scratch, ignore_errors=True)


def _check_excluded(root: Path, env: dict[str, str]) -> list[str]:
    """The ids in :data:`EXCLUDED` that pytest does not collect."""
    out = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "--collect-only", *FILES],
        cwd=root, env=env, capture_output=True, text=True,
    ).stdout
    collected = {line.strip() for line in out.splitlines() if "::" in line}
    return [test_id for test_id in EXCLUDED if test_id not in collected]


if __name__ == "__main__":
    sys.exit(main())
