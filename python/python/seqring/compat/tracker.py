"""``ProcessingTracker``, ``ProcessingStatus``, ``JobState``, ``TrackerStatus`` and ``calculate_directory_checksum``
with the names and signatures of ataraxis-data-structures 7.2.0, over :class:`seqring.ProcessingTracker` and
:func:`seqring.directory_checksum`.

The tracker file is ataraxis's (same YAML layout, integer statuses, µs timestamps, job ids, and the same
``{file}.lock`` flock), so ataraxis and seqring processes can share one tracker. Where seqring differs:

- the tracker keeps no job state in memory: every call locks, reads and (for changes) writes the file, and ``jobs``
  is a fresh snapshot; so the constructor's ``jobs`` argument can only be empty, and ``to_yaml`` writes the jobs
  the file holds;
- a job name may not be empty, ``reset`` also recovers an unreadable file, and ``JobState`` is frozen;
- ``calculate_directory_checksum`` hashes with threads, not processes, and shows no progress bar.
"""

import os
from pathlib import Path
from typing import Any, Dict, Iterable, Optional, Union

from .. import directory_checksum
from ..errors import TrackerError
from ..tracker import DEFAULT_LOCK_TIMEOUT, JobState, ProcessingStatus, TrackerStatus
from ..tracker import ProcessingTracker as _ProcessingTracker

__all__ = ["ProcessingTracker", "ProcessingStatus", "JobState", "TrackerStatus", "calculate_directory_checksum"]

PathLike = Union[str, "os.PathLike[str]"]


class ProcessingTracker(_ProcessingTracker):
    """ataraxis's ``ProcessingTracker(file_path, jobs=...)`` over :class:`seqring.ProcessingTracker` (see that class
    for every method; the names, arguments and results are ataraxis's).

    ``jobs`` exists for signature compatibility only: seqring keeps the jobs in the file, never in memory, so it must
    be empty (use ``initialize_jobs``). Errors: an unknown job raises :class:`seqring.TrackerError` (a
    ``ValueError``), a lock held for longer than ``timeout`` seconds (10, as ataraxis) raises
    :class:`seqring.SeqringTimeoutError` (a ``TimeoutError``), as ataraxis raises those builtins.
    """

    def __init__(
        self,
        file_path: PathLike,
        jobs: Optional[Dict[str, JobState]] = None,
        *,
        timeout: float = DEFAULT_LOCK_TIMEOUT,
    ) -> None:
        if jobs:
            raise TrackerError(
                "seqring's ProcessingTracker keeps its jobs in the tracker file only: pass no jobs and call "
                "initialize_jobs() instead"
            )
        super().__init__(file_path, timeout=timeout)

    @classmethod
    def restore_excluded_fields(cls, data: Dict[Any, Any], file_path: Path) -> Dict[Any, Any]:
        """The loaded mapping with the tracker's own file path added (ataraxis's: ``from_yaml`` builds the tracker of
        the file it read)."""
        return {**data, "file_path": file_path}

    @classmethod
    def from_yaml(cls, file_path: PathLike) -> "ProcessingTracker":
        """The tracker of the file at ``file_path`` (ataraxis's ``YamlConfig.from_yaml``). The file is read by each
        call, and a missing or unreadable one raises on the first call, not here."""
        return cls(file_path)


def calculate_directory_checksum(
    directory: PathLike,
    num_processes: Optional[int] = None,
    *,
    progress: bool = False,
    save_checksum: bool = True,
    excluded_files: Optional[Iterable[str]] = None,
) -> str:
    """The xxHash3-128 checksum of ``directory`` as 32 lowercase hex digits, identical to ataraxis's for the same tree
    (file contents and layout; empty directories contribute nothing). ``num_processes``: worker threads (``None``:
    one per core). ``progress`` is accepted and ignored (no progress bar). ``save_checksum``: also write it to
    ``ax_checksum.txt`` at the top of the tree (atomically, without a newline). ``excluded_files``: file names left
    out at any depth (``None``: ``{"ax_checksum.txt"}``; a given set replaces that default, as ataraxis's)."""
    del progress
    return directory_checksum(
        Path(directory), workers=num_processes, save=save_checksum, excluded_files=excluded_files
    )

