"""seqring: shared typed numpy arrays and numpy-compatible log archives, at Rust speed.

- :class:`SharedArray`: a typed n-d array in OS shared memory, read and written live by many processes.
- :class:`LogArchive` and :func:`assemble_log_archives`: the ``{source}_log.npz`` archives of the data logger.
- :mod:`seqring.errors`: :class:`SeqringError` and its subclasses.
"""

from ._seqring import LogArchive, assemble_log_archives
from .errors import (
    AlreadyExistsError,
    ClosedError,
    CorruptArchiveError,
    DTypeMismatchError,
    InvalidNameError,
    NotFoundError,
    PermissionDeniedError,
    SeqringError,
    SeqringTimeoutError,
    ShapeError,
)
from .shared_array import SharedArray

__all__ = [
    "SharedArray",
    "LogArchive",
    "assemble_log_archives",
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
]
