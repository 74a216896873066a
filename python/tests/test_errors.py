"""The exception hierarchy: every seqring error is a SeqringError, and the builtin it stands for."""

import builtins

import pytest

import seqring
from seqring import errors

BUILTIN = {
    "NotFoundError": FileNotFoundError,
    "AlreadyExistsError": FileExistsError,
    "PermissionDeniedError": PermissionError,
    "SeqringTimeoutError": builtins.TimeoutError,
    "InvalidNameError": ValueError,
    "DTypeMismatchError": TypeError,
    "ShapeError": ValueError,
    "CorruptArchiveError": ValueError,
    "ClosedError": ValueError,
    "TrackerError": ValueError,
    "InvalidOptionError": ValueError,
    "PayloadTooLargeError": ValueError,
    "RingFullError": errors.SeqringError,  # no builtin means "a full ring"
    "EmptyDirectoryError": ValueError,
}


def test_every_error_is_exported_and_derives_from_its_builtin():
    assert set(errors.__all__) == set(BUILTIN) | {"SeqringError"}
    for name, builtin in BUILTIN.items():
        cls = getattr(seqring, name)
        assert cls is getattr(errors, name)
        assert issubclass(cls, seqring.SeqringError) and issubclass(cls, builtin), name
        with pytest.raises(builtin):
            raise cls("message")


def test_os_errors_carry_their_message():
    e = seqring.NotFoundError("region x does not exist")
    assert str(e) == "region x does not exist"
    assert isinstance(e, OSError)
