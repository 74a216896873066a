"""seqring: shared typed numpy arrays and numpy-compatible log archives, at Rust speed.

- :class:`SharedArray`: a typed n-d array in OS shared memory, read and written live by many processes.
- :class:`LogArchive` and :func:`assemble_log_archives`: the ``{source}_log.npz`` archives of the data logger.
- :mod:`seqring.errors`: :class:`SeqringError` and its subclasses.
"""

from ._seqring import LogArchive, assemble_log_archives
from . import errors
from .errors import *  # noqa: F403 (the names in errors.__all__)
from .shared_array import SharedArray
from ._seqring import DataLogger, Producer

__all__ = ["SharedArray", "LogArchive", "assemble_log_archives", "errors", *errors.__all__]
__all__ += ["DataLogger", "Producer"]
