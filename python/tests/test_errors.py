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
    "NotAFileError": IsADirectoryError,
    "NotAFolderError": NotADirectoryError,
    "SeqringOSError": OSError,
    "TransferError": RuntimeError,
    "ConfigError": ValueError,
    "InterpolateError": ValueError,
    "SchemaError": ValueError,
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


def test_a_newcomers_wrong_paths_and_names_raise_specific_errors(tmp_path):
    """Issue 25: each of these raised the bare SeqringError, or raised late, or said "No such device"."""
    with pytest.raises(seqring.NotAFileError) as e:
        seqring.LogArchive(".")
    assert isinstance(e.value, IsADirectoryError) and "not a log archive" in str(e.value)
    a_file = tmp_path / "notes.txt"
    a_file.write_text("x")
    with pytest.raises(seqring.NotAFolderError) as e:
        seqring.directory_checksum(a_file)
    assert isinstance(e.value, NotADirectoryError) and str(a_file) in str(e.value)
    log_dir = tmp_path / "log"
    log_dir.mkdir()
    (log_dir / "segment_000000.seg").write_bytes(b"SEQRSEG\0" + b"\x01" * 200)
    with pytest.raises(seqring.CorruptArchiveError) as e:
        seqring.assemble_log_archives(log_dir)
    assert "segment_000000.seg" in str(e.value)
    with pytest.raises(seqring.InvalidNameError):
        seqring.DataLogger(tmp_path / "run2", "a/b")  # refused when made, not at start()


def test_the_report_of_a_with_block_is_kept(tmp_path, name):
    with seqring.DataLogger(tmp_path, name) as logger:
        assert logger.report is None
        seqring.Producer.connect(name, 1).log(b"a")
    assert logger.report["records"] == 2 and logger.report["sources"][1]["records"] == 2
    with pytest.raises(seqring.ClosedError):
        logger.stop()
