"""seqring: shared typed numpy arrays and numpy-compatible log archives, at Rust speed.

- :class:`SharedArray`: a typed n-d array in OS shared memory, read and written live by many processes.
- :class:`LogArchive` and :func:`assemble_log_archives`: the ``{source}_log.npz`` archives of the data logger.
- :class:`ProcessingTracker` (with :class:`ProcessingStatus`, :class:`JobState`, :class:`TrackerStatus`): a
  multi-process job tracker in a YAML file, file-compatible with ataraxis's; :func:`directory_checksum`.
- :func:`discover_log_archives`, :func:`find_log_archive(s) <find_log_archives>`,
  :func:`read_archive_message_count`: finding archives on disk.
- :class:`MappedArray` and :func:`build_mapped_array`, :class:`MappedIdMap` and :func:`build_mapped_id_map`: numpy
  arrays, and records looked up by int or str keys, written once into checked, immutable files and mapped read-only
  by any number of processes as zero-copy views (records of any fixed-size dtype).
- :class:`MappedObjects` and :func:`build_mapped_objects`, :class:`MappedObjectMap` and
  :func:`build_mapped_object_map`: Python objects of any shape (str, bytes, lists, dicts, nested, numpy arrays)
  written once and mapped read-only, decoded one object per lookup (``sharedbuffers``' schemas).
- :mod:`seqring.tools`: directory transfer and deletion, marker discovery, atomic writes, interpolation, YAML files.
- :mod:`seqring.errors`: :class:`SeqringError` and its subclasses.
"""

from ._seqring import DataLogger, LogArchive, LogTail, Producer, SharedArray, assemble_log_archives, directory_checksum
from ._seqring import MappedArray, MappedIdMap, build_mapped_array, build_mapped_id_map
from ._seqring import MappedObjectMap, MappedObjects, build_mapped_object_map, build_mapped_objects
from ._seqring import discover_log_archives, find_log_archive, find_log_archives, read_archive_message_count
from . import tools
from . import errors
from .errors import *  # noqa: F403 (the names in errors.__all__)
from .tracker import JobState, ProcessingStatus, ProcessingTracker, TrackerStatus

__all__ = ["SharedArray", "LogArchive", "assemble_log_archives", "errors", *errors.__all__]
__all__ += ["ProcessingTracker", "ProcessingStatus", "JobState", "TrackerStatus", "directory_checksum"]
__all__ += ["DataLogger", "Producer", "LogTail", "MappedArray", "build_mapped_array", "MappedIdMap", "build_mapped_id_map"]
__all__ += ["MappedObjects", "build_mapped_objects", "MappedObjectMap", "build_mapped_object_map"]
__all__ += ["tools"]
__all__ += ["discover_log_archives", "find_log_archive", "find_log_archives", "read_archive_message_count"]
