"""ProcessingTracker: a multi-process job tracker kept in a YAML file, file-compatible with ataraxis's.

Every call locks ``{file}.lock`` (the lock ataraxis's ``filelock`` takes), reloads the file, applies its change and
writes the file back atomically, without holding the GIL. So Python, Rust and ataraxis processes can start,
complete and fail jobs of one tracker at once without losing an update. The tracker keeps no state between calls:
every query reads the file.

Method names, arguments and results are those of ataraxis-data-structures 7.2.0's ``ProcessingTracker``. Deviations:
a job name may not be empty; ``reset`` also recovers an unreadable tracker file. A ``JobState`` is a copy of what the
file held when it was read: callers may change it, and that changes nothing in the tracker (as in ataraxis).
"""

from __future__ import annotations

import contextlib
import enum
import os
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Dict, List, Optional, Tuple, Union

from ._seqring import _Tracker
from .errors import TrackerError

__all__ = ["ProcessingTracker", "ProcessingStatus", "TrackerStatus", "JobState"]

#: How long each call waits for the tracker's lock by default, in seconds (ataraxis uses 10 s too).
DEFAULT_LOCK_TIMEOUT = 10.0


class ProcessingStatus(enum.IntEnum):
    """The status of one job, with ataraxis's codes (stored in the tracker file as these integers)."""

    SCHEDULED = 0
    RUNNING = 1
    SUCCEEDED = 2
    FAILED = 3


class TrackerStatus(str, enum.Enum):
    """The overall status of a pipeline, resolved from its job counts (ataraxis's ``TrackerStatus`` values)."""

    NOT_STARTED = "not_started"
    IN_PROGRESS = "in_progress"
    PROCESSING = "processing"
    COMPLETED = "completed"
    FAILED = "failed"


@dataclass
class JobState:
    """One job's state, with ataraxis's field names. Times are µs since the UNIX epoch.

    A copy: changing its fields changes nothing in the tracker (use the tracker's methods for that)."""

    job_name: str
    specifier: str = ""
    status: ProcessingStatus = ProcessingStatus.SCHEDULED
    executor_id: Optional[str] = None
    error_message: Optional[str] = None
    started_at: Optional[int] = None
    completed_at: Optional[int] = None


def _state(r: Any) -> JobState:
    """The JobState of a native job record (a copy the caller may change)."""
    return JobState(
        r.job_name, r.specifier, ProcessingStatus(r.status), r.executor_id, r.error_message, r.started_at,
        r.completed_at,
    )


_COUNT_KEYS = ("total", "succeeded", "failed", "running", "scheduled")


def _pairs(jobs: Any) -> List[Tuple[str, str]]:
    out = []
    for job in jobs:
        try:
            name, specifier = job
        except (TypeError, ValueError):
            raise TrackerError(f"a job is a (job_name, specifier) pair, not {job!r}") from None
        out.append((name, specifier))
    return out


def _status_of(status: Union[ProcessingStatus, int, str]) -> ProcessingStatus:
    if isinstance(status, str):
        try:
            return ProcessingStatus[status.strip().upper()]
        except KeyError:
            raise TrackerError(f"unknown job status {status!r}: expected one of {[s.name for s in ProcessingStatus]}")
    try:
        return ProcessingStatus(status)
    except ValueError:
        raise TrackerError(f"unknown job status {status!r}: expected 0 to 3") from None


class ProcessingTracker:
    """A handle on the tracker file at ``file_path`` (``.yaml``/``.yml``; created by the first change).

    ``timeout``: how long each call waits for the lock, in seconds, before raising
    :class:`~seqring.errors.SeqringTimeoutError` (a ``TimeoutError``). An unknown job id or an invalid job raises
    :class:`~seqring.errors.TrackerError` (a ``ValueError``), as ataraxis raises ``ValueError``.
    """

    def __init__(self, file_path: Union[str, "os.PathLike[str]"], *, timeout: float = DEFAULT_LOCK_TIMEOUT) -> None:
        self._raw = _Tracker(Path(file_path), float(timeout))

    @property
    def file_path(self) -> Path:
        """The tracker file."""
        return self._raw.path

    @property
    def lock_path(self) -> str:
        """The lock file, ``{file}.lock`` (a ``str``, as ataraxis's)."""
        return str(self._raw.lock_path)

    @property
    def timeout(self) -> float:
        """The lock timeout in seconds."""
        return self._raw.timeout

    def __repr__(self) -> str:
        return f"ProcessingTracker({str(self.file_path)!r})"

    def to_yaml(self, file_path: Union[str, "os.PathLike[str]"]) -> None:
        """Writes the current jobs (read under the lock) to ``file_path`` (``.yaml``/``.yml``) in the tracker file's
        format, atomically, as ataraxis's ``to_yaml``: a tracker over that file sees the same jobs."""
        self._raw.to_yaml(Path(file_path))

    def __eq__(self, other: object) -> bool:
        return isinstance(other, ProcessingTracker) and self.file_path == other.file_path

    def __hash__(self) -> int:
        return hash(self.file_path)

    def __reduce__(self) -> Tuple[Any, ...]:
        # A tracker is only its path: it pickles to a child process as that (the file lock does the rest).
        return (_restore, (type(self), str(self.file_path), self.timeout))

    @staticmethod
    def generate_job_id(job_name: str, specifier: str = "") -> str:
        """The job id ataraxis gives ``(job_name, specifier)``: xxHash64 of ``name`` or ``name:specifier``, as 16 hex
        digits."""
        return _Tracker.generate_job_id(job_name, specifier)

    def initialize_jobs(self, jobs: List[Tuple[str, str]]) -> List[str]:
        """Adds ``(job_name, specifier)`` jobs as scheduled (``""`` for no specifier) and returns their ids in order;
        jobs already in the tracker keep their state."""
        return self._raw.initialize_jobs(_pairs(jobs))

    def align_jobs(self, jobs: List[Tuple[str, str]], universe: Optional[List[Tuple[str, str]]] = None) -> List[str]:
        """Makes the tracker hold the jobs requested for this run and returns their ids. ``universe`` is every job the
        pipeline can produce (``None``: the requested jobs): a requested job outside it rejects the request, tracker
        entries outside it are discarded, missing requested jobs are added as scheduled, and every other job keeps its
        state."""
        ids, _added, _discarded = self._raw.align_jobs(_pairs(jobs), None if universe is None else _pairs(universe))
        return ids

    def resolve_job(self, job_id: str, universe: List[Tuple[str, str]]) -> Tuple[str, str]:
        """The ``(job_name, specifier)`` of the universe job whose id is ``job_id`` (reads no file)."""
        return self._raw.resolve_job(job_id, _pairs(universe))

    def reset_jobs(self, job_ids: List[str]) -> List[str]:
        """Puts the given jobs back to scheduled (clearing executor, times and error); the reset ids in file order.
        An unknown id changes nothing and raises."""
        return self._raw.reset_jobs(list(job_ids))

    def start_job(self, job_id: str, executor_id: Optional[str] = None) -> None:
        """Marks a job running and records its executor and start time; clears the previous end time and error.

        ``executor_id=None`` records what ataraxis records: ``<scheme>:<id>`` for the first scheduler whose job id
        is set (``slurm:`` from ``SLURM_JOB_ID`` or its older alias ``SLURM_JOBID``, ``pbs:``, ``lsf:``, ``oar:``,
        ``sge:`` from ``JOB_ID`` only when ``SGE_ROOT`` is set, ``hpcpack:``, ``azurebatch:``, ``awsbatch:``), else
        ``pid:<pid>``."""
        self._raw.start_job(job_id, executor_id)

    def complete_job(self, job_id: str) -> None:
        """Marks a job succeeded and records its end time."""
        self._raw.complete_job(job_id)

    def fail_job(self, job_id: str, error_message: Optional[str] = None) -> None:
        """Marks a job failed, with an optional reason, and records its end time."""
        self._raw.fail_job(job_id, error_message)

    def get_job_status(self, job_id: str) -> ProcessingStatus:
        """A job's status."""
        return self.get_job_info(job_id).status

    def get_job_info(self, job_id: str) -> JobState:
        """A job's state."""
        return _state(self._raw.job_info(job_id))

    def get_jobs_by_status(self, status: Union[ProcessingStatus, int, str]) -> List[str]:
        """The ids of the jobs with ``status`` (a :class:`ProcessingStatus`, its code, or its name in any case), in
        file order."""
        return self._raw.jobs_by_status(int(_status_of(status)))

    def get_summary(self) -> Dict[ProcessingStatus, int]:
        """The number of jobs with each status (every status present)."""
        _total, succeeded, failed, running, scheduled = self._raw.summary()
        return {
            ProcessingStatus.SCHEDULED: scheduled,
            ProcessingStatus.RUNNING: running,
            ProcessingStatus.SUCCEEDED: succeeded,
            ProcessingStatus.FAILED: failed,
        }

    def summarize(self) -> Dict[str, Any]:
        """ataraxis's summary: ``{"jobs": [...], "summary": {...}, "status": TrackerStatus}``, read in one locked
        step. Each job is ``{job_id, job_name, specifier, status (its name), executor_id, started_at, completed_at}``
        plus ``error_message`` when it has one; ``summary`` holds ``total``, ``succeeded``, ``failed``, ``running``
        and ``scheduled``."""
        jobs, counts, status = self._raw.summarize()
        out = []
        for job_id, t in jobs:
            s = _state(t)
            entry = {
                "job_id": job_id,
                "job_name": s.job_name,
                "specifier": s.specifier,
                "status": s.status.name,
                "executor_id": s.executor_id,
                "started_at": s.started_at,
                "completed_at": s.completed_at,
            }
            if s.error_message is not None:
                entry["error_message"] = s.error_message
            out.append(entry)
        return {"jobs": out, "summary": dict(zip(_COUNT_KEYS, counts)), "status": TrackerStatus(status)}

    @staticmethod
    def resolve_status(summary: Mapping[str, int]) -> TrackerStatus:
        """The pipeline status of counts such as ``summarize()["summary"]``: failed if any job failed, completed if
        all of at least one succeeded, processing if any runs, not started if all of at least one are scheduled,
        else in progress (an empty tracker included). A missing count counts as 0, as in ataraxis."""
        counts = tuple(int(summary.get(k, 0)) for k in _COUNT_KEYS)
        if min(counts) < 0:
            raise TrackerError(f"negative job counts in {dict(summary)}")
        return TrackerStatus(_Tracker.resolve_status(counts))

    def snapshot(self) -> Dict[str, JobState]:
        """Every job's state by id, in file order, read in one locked step."""
        return {job_id: _state(t) for job_id, t in self._raw.jobs()}

    @property
    def jobs(self) -> Dict[str, JobState]:
        """Every job's state by id (a fresh :meth:`snapshot`)."""
        return self.snapshot()

    def find_jobs(self, job_name: Optional[str] = None, specifier: Optional[str] = None) -> Dict[str, Tuple[str, str]]:
        """The jobs whose name contains ``job_name`` and whose specifier contains ``specifier`` (``None`` matches
        anything, so no argument lists every job), as ``{job_id: (job_name, specifier)}``."""
        return {job_id: (name, spec) for job_id, name, spec in self._raw.find_jobs(job_name, specifier)}

    def reset(self) -> None:
        """Removes every job (also recovers an unreadable tracker file)."""
        self._raw.reset()

    def retry_failed_jobs(self) -> List[str]:
        """Puts every failed job back to scheduled (clearing executor, times and error); their ids."""
        return self._raw.retry_failed_jobs()

    @property
    def complete(self) -> bool:
        """Whether there are jobs and all of them succeeded."""
        return self._raw.is_complete()

    @property
    def encountered_error(self) -> bool:
        """Whether any job failed."""
        return self._raw.encountered_error()

    @contextlib.contextmanager
    def run_job(self, job_id: str, executor_id: Optional[str] = None) -> Iterator[None]:
        """Runs the body as job ``job_id``, as ataraxis does: starts it, completes it when the body returns, or fails
        it with the exception's message (``str(exception)``) and re-raises when the body or the completion raises an
        ``Exception``. A ``BaseException`` that is not an ``Exception`` (``KeyboardInterrupt``, ``SystemExit``)
        propagates with the job left running: the job did not fail on its own terms."""
        self.start_job(job_id, executor_id)
        try:
            yield
            self.complete_job(job_id)
        except Exception as e:
            self.fail_job(job_id, str(e))
            raise

    @classmethod
    def discover(cls, root_directory: Union[str, "os.PathLike[str]"], tracker_name: str) -> List["ProcessingTracker"]:
        """A tracker for every file named ``tracker_name`` under ``root_directory``, sorted by path (no file is
        read)."""
        return [cls(p) for p in _Tracker.discover(Path(root_directory), tracker_name)]


def _restore(cls: type, path: str, timeout: float) -> ProcessingTracker:
    return cls(path, timeout=timeout)
