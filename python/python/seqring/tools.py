"""seqring's file and data tools, native (``seqring::processing`` and ``seqring::config``), each run without the GIL:

- :func:`transfer_directory` (returns a :class:`TransferReport`) and :func:`delete_directory`;
- :func:`discover_marker_files`, :func:`discover_marker_roots`, :func:`index_marker_files` and
  :func:`resolve_unique_roots`;
- :func:`atomic_write` and :func:`direct_write` of bytes;
- :func:`interpolate` (linear as ``numpy.interp``, or discrete as the index of the last value at or before each
  target);
- :func:`yaml_dump` and :func:`yaml_load`: plain Python values as ``.yaml`` files, written atomically.

:mod:`seqring.compat` offers the same tools under ataraxis's names and signatures.
"""

from ._seqring import (
    TransferReport,
    atomic_write,
    delete_directory,
    direct_write,
    discover_marker_files,
    discover_marker_roots,
    index_marker_files,
    interpolate,
    resolve_unique_roots,
    transfer_directory,
    yaml_dump,
    yaml_load,
)

__all__ = [
    "TransferReport",
    "transfer_directory",
    "delete_directory",
    "discover_marker_files",
    "discover_marker_roots",
    "index_marker_files",
    "resolve_unique_roots",
    "atomic_write",
    "direct_write",
    "interpolate",
    "yaml_dump",
    "yaml_load",
]
