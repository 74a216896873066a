"""``seqring.compat``: the ataraxis-data-structures 7.2.0 API on seqring.

An ataraxis program runs on seqring by changing one import::

    from ataraxis_data_structures import SharedMemoryArray, DataLogger, LogPackage   # before
    from seqring.compat import SharedMemoryArray, DataLogger, LogPackage             # after

The names, signatures and behaviour are ataraxis 7.2.0's; each class's docstring says where seqring does better
(readers never wait on a lock; the logger keeps messages with duplicate timestamps and accounts for every one);
the README's Python section lists what cannot match. Files are interchangeable: archives either tool assembles are
read by the other and by ``np.load``.
"""

from .archive import (
    PARALLEL_PROCESSING_THRESHOLD,
    LogArchiveReader,
    LogMessage,
    assemble_log_archives,
    discover_log_archives,
    find_log_archive,
    find_log_archives,
    read_archive_message_count,
)
from .logger import LOG_ARCHIVE_SUFFIX, LOG_DIRECTORY_SUFFIX, DataLogger, LogPackage
from . import processing as _processing
from .processing import (
    _IMPORT_LATCHED_THREAD_VARIABLES,
    _RESIZABLE_THREAD_VARIABLES,
    atomic_write,
    delete_directory,
    direct_write,
    discover_marker_files,
    discover_marker_roots,
    index_marker_files,
    initialize_worker_threads,
    interpolate_data,
    limit_worker_threads,
    resolve_unique_roots,
    transfer_directory,
)
from .shared_memory_array import SharedMemoryArray
from .tracker import JobState, ProcessingStatus, ProcessingTracker, TrackerStatus, calculate_directory_checksum
from .yaml_config import YAML_EXCLUDE_METADATA, YamlConfig

__all__ = [
    "SharedMemoryArray",
    "DataLogger",
    "LogPackage",
    "LogArchiveReader",
    "LogMessage",
    "assemble_log_archives",
    "find_log_archive",
    "find_log_archives",
    "discover_log_archives",
    "read_archive_message_count",
    "ProcessingTracker",
    "ProcessingStatus",
    "JobState",
    "TrackerStatus",
    "calculate_directory_checksum",
    "LOG_ARCHIVE_SUFFIX",
    "LOG_DIRECTORY_SUFFIX",
    "PARALLEL_PROCESSING_THRESHOLD",
    "YamlConfig",
    "YAML_EXCLUDE_METADATA",
    *_processing.__all__,
]
