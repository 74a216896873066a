"""The exceptions of seqring: every error is a :class:`SeqringError`, and those with a builtin meaning also
derive from that builtin (``except FileNotFoundError`` catches a missing array or archive)."""

import builtins

__all__ = [
    "SeqringError",
    "NotFoundError",
    "AlreadyExistsError",
    "PermissionDeniedError",
    "SeqringTimeoutError",
    "InvalidNameError",
    "DTypeMismatchError",
    "ShapeError",
    "CorruptArchiveError",
    "ClosedError",
    "TrackerError",
    "InvalidOptionError",
    "PayloadTooLargeError",
    "RingFullError",
    "EmptyDirectoryError",
    "NotAFileError",
    "NotAFolderError",
    "SeqringOSError",
    "TransferError",
    "ConfigError",
    "InterpolateError",
    "SchemaError",
]


class SeqringError(Exception):
    """The base of every seqring error."""


class NotFoundError(SeqringError, FileNotFoundError):
    """A shared array, archive or directory does not exist."""


class AlreadyExistsError(SeqringError, FileExistsError):
    """A shared array of that name already exists (pass ``exists_ok=True`` to replace it)."""


class PermissionDeniedError(SeqringError, PermissionError):
    """The operating system refused access."""


class SeqringTimeoutError(SeqringError, builtins.TimeoutError):
    """A writer held an array's write section (or kept it busy) beyond the timeout."""


class InvalidNameError(SeqringError, ValueError):
    """A shared-array name is not 1 to 200 characters of ``A-Z a-z 0-9 . _ -``."""


class DTypeMismatchError(SeqringError, TypeError):
    """An array holds, or was given, another element type than expected, or an unsupported one."""


class ShapeError(SeqringError, ValueError):
    """A shape does not match the array's, is invalid, or exceeds the capacity."""


class CorruptArchiveError(SeqringError, ValueError):
    """A log archive or log entry is malformed."""


class ClosedError(SeqringError, ValueError):
    """The handle was closed or destroyed."""


class TrackerError(SeqringError, ValueError):
    """A processing tracker has no job with that id, a job, request or query is invalid, or the tracker file is not
    a valid ``.yaml``/``.yml`` tracker."""


class InvalidOptionError(SeqringError, ValueError):
    """An option or argument is out of range: a logger option, a source id outside 0..=255, a timestamp of 0."""


class PayloadTooLargeError(SeqringError, ValueError):
    """A message is longer than the logger's largest payload (``Producer.max_payload``); it was not logged and is
    not counted as dropped."""


class RingFullError(SeqringError):
    """The logger's ring was full (at once under ``on_full="drop"``, for the whole ``wait_timeout`` under
    ``on_full="wait"``): the message was dropped, and counted in its source's ``dropped`` count of the stop report
    and in ``DataLogger.health()["dropped"]``."""


class EmptyDirectoryError(SeqringError, ValueError):
    """A directory checksum found no file to hash: the directory is empty or holds only excluded files (a
    ``ValueError``, as ataraxis's ``calculate_directory_checksum`` raises)."""


class NotAFileError(SeqringError, IsADirectoryError):
    """A directory was given where a file is needed (an archive path that names a folder)."""


class NotAFolderError(SeqringError, NotADirectoryError):
    """A file was given where a directory is needed (a directory checksum or log directory of a file)."""


class SeqringOSError(SeqringError, OSError):
    """A file operation failed for a reason no more specific class names (the message names the path)."""


class TransferError(SeqringError, RuntimeError):
    """A directory transfer was refused or could not be verified: the destination lies inside the source, holds
    files the source does not account for, the source holds nothing to verify, or the copy's checksum differs (a
    ``RuntimeError``, as ataraxis's ``transfer_directory`` raises)."""


class ConfigError(SeqringError, ValueError):
    """A YAML file could not be used: its path does not end in ``.yaml``/``.yml``, its text is not valid YAML, or
    its document does not fit (the message names the path, line and column)."""


class InterpolateError(SeqringError, ValueError):
    """Interpolation was refused: empty or unequal source arrays, or source coordinates that are not
    non-decreasing."""


class SchemaError(SeqringError, ValueError):
    """A source's schema cannot change once declared in a log (``Producer.declare_schema``, or the first
    ``Producer.log`` of an ndarray), an ndarray disagrees with the declared dtype or shape (it was not logged), an
    archive's payloads disagree with its schema, or a schema side file is missing or malformed."""
