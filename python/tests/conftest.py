"""Shared fixtures of the seqring Python tests."""

import os
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
