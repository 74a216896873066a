"""Shared fixtures of the seqring Python tests."""

import multiprocessing as mp
import os
import shutil
import sys
import tempfile
import uuid
from pathlib import Path

import pytest

# The ataraxis 7.2.0 fixtures sit beside the checkout (../shared/fixtures), as tests/run.sh requires.
FIXTURES = Path(
    os.environ.get(
        "SEQRING_FIXTURES",
        Path(__file__).resolve().parents[3] / "shared" / "fixtures" / "ataraxis-7.2.0",
    )
)


@pytest.fixture
def name() -> str:
    """A shared-array name no other test or run uses."""
    return f"pytest-{os.getpid()}-{uuid.uuid4().hex[:12]}"


@pytest.fixture
def fixtures() -> Path:
    """The ataraxis 7.2.0 fixture directory (read-only: copy before modifying)."""
    if not FIXTURES.is_dir():
        pytest.fail(f"the ataraxis fixtures are missing: {FIXTURES}")
    return FIXTURES


def regions_dir() -> Path:
    """The directory that lists this user's shared-memory regions, as seqring's platform layer finds it: ``/dev/shm``
    on Linux; elsewhere ``SEQRING_REGIONS_DIR`` if set, else ``seqring-regions`` in the temporary directory."""
    if sys.platform == "linux":
        return Path("/dev/shm")
    return Path(os.environ.get("SEQRING_REGIONS_DIR") or Path(tempfile.gettempdir()) / "seqring-regions")


def copy_writable(src: Path, dst: Path) -> None:
    """Copies the directory ``src`` (a fixture: read-only) to ``dst`` without its files' modes, so that the copies can
    be removed: Windows refuses to delete a read-only file, where POSIX needs only a writable directory."""
    shutil.copytree(src, dst, copy_function=shutil.copyfile)


class Children:
    """The child processes of one test, started with the "spawn" method (the only one on Windows, the default on
    macOS), so each imports this package afresh as a program of its own would.

    ``ctx`` makes their queues, events and barriers; ``start`` starts one; ``join_ok`` waits for them and checks
    that each exited with 0. Whatever is still running when the test ends (a test that failed before joining) is
    killed then, so no child outlives its test or keeps a queue's pipe open.
    """

    def __init__(self):
        self.ctx = mp.get_context("spawn")
        self.started = []

    def start(self, target, *args):
        """Starts ``target(*args)`` in a new process and returns it."""
        process = self.ctx.Process(target=target, args=args)
        process.start()
        self.started.append(process)
        return process

    def join_ok(self, *processes, timeout=120):
        """Waits for ``processes`` (all started ones if none is named) and asserts that each exited with 0."""
        for process in processes or self.started:
            process.join(timeout=timeout)
            assert process.exitcode == 0, f"child {process.pid} exited with {process.exitcode}"

    def kill_the_rest(self):
        for process in self.started:
            if process.is_alive():
                process.kill()
            process.join(timeout=60)


@pytest.fixture
def children():
    """Spawned child processes that are killed if the test ends before they do (see ``Children``)."""
    started = Children()
    yield started
    started.kill_the_rest()
