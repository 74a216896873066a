"""``DataLogger`` and ``LogPackage`` with the names, signatures and behaviour of ataraxis-data-structures 7.2.0,
over :class:`seqring.DataLogger` and :class:`seqring.Producer`.

ataraxis sends every ``LogPackage`` through a ``multiprocessing`` manager queue to a logger process. Here the
logger's ``input_queue`` is a :class:`LogQueue`: an object that pickles as the logger's name and, in whatever
process calls :meth:`LogQueue.put`, lazily connects one :class:`seqring.Producer` per source id, so a package goes
straight into the logger's shared-memory ring with no queue, no pickling and no extra process.

Every call into the native logger goes through ``_start``, ``_stop``, ``_connect`` and ``_log_at`` below, so that
the backend can change in one place.
"""

import hashlib
import os
import re
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Dict, List, Optional, Tuple, Union

import numpy as np
import numpy.typing as npt

from .. import DataLogger as _NativeLogger
from .. import Producer
from .. import _seqring
from ..errors import AlreadyExistsError, ClosedError, SeqringError, ShapeError

__all__ = ["DataLogger", "LogPackage", "LogQueue", "LOG_DIRECTORY_SUFFIX", "LOG_ARCHIVE_SUFFIX"]

LOG_DIRECTORY_SUFFIX = _seqring.LOG_DIR_SUFFIX
"""The suffix of a logger's directory name: ``{output_directory}/{instance_name}_data_log``."""

LOG_ARCHIVE_SUFFIX = "_log.npz"
"""The suffix of an assembled archive's name: ``{source_id}_log.npz``."""

PathLike = Union[str, "os.PathLike[str]"]

# The logger options that make it behave like ataraxis's: a producer whose ring is full waits (as a put on an
# unbounded queue never fails) instead of dropping.
_LOGGER_OPTIONS: Dict[str, Any] = {"on_full": "wait", "wait_timeout": 10.0}


#: The raw log layouts compat's DataLogger writes: ataraxis's one ``.npy`` file per message (the default, which
#: ataraxis's own tools and pipelines read) or seqring's checksummed segment files (opt-in, faster).
LOG_FORMATS = ("npy", "segments")


def _region_name(output_directory: Path, instance_name: str) -> str:
    """The machine-wide name of the logger's ring: the instance name (made a valid region name) and a digest of the
    output directory, so that loggers with one instance name run at once in different directories, as ataraxis's
    do."""
    stem = re.sub(r"[^A-Za-z0-9._-]", "_", instance_name)[:150] or "logger"
    digest = hashlib.blake2b(str(output_directory.resolve()).encode(), digest_size=6).hexdigest()
    return f"{stem}-{digest}"


def _start(output_directory: Path, region: str, instance_name: str, thread_count: int, log_format: str) -> _NativeLogger:
    """Starts a native logger writing under ``output_directory / f"{instance_name}_data_log"``, its ring named
    ``region``."""
    logger = _NativeLogger(
        output_directory, region, dir_name=instance_name, format=log_format, writers=thread_count, **_LOGGER_OPTIONS
    )
    logger.start()
    return logger


def _stop(logger: _NativeLogger) -> Dict[str, Any]:
    """Stops the native logger: drains, writes and syncs everything committed; the report as a dict."""
    return logger.stop()


#: The onset a source gets when its first package is not an onset package (ataraxis logs no onset then): 2 µs after
#: the epoch (the smallest onset the native logger records; no real clock reads it), an onset record that
#: :meth:`DataLogger.stop` removes from an ``.npy`` log, so that the raw directory holds exactly the packages put, as
#: ataraxis's does.
_NO_ONSET = 2


def _connect(name: str, source_id: int, onset_us: Optional[int]) -> Producer:
    """A producer of the running logger ``name`` for ``source_id``, with the given onset if not ``None``."""
    if onset_us is None:
        return Producer.connect(name, source_id)
    return Producer.connect(name, source_id, onset_us=onset_us)


def _connect_data(name: str, source_id: int) -> Producer:
    """A producer for a source's data package: the source's existing onset (logged by any process), else the
    :data:`_NO_ONSET` marker."""
    try:
        return _connect(name, source_id, _NO_ONSET)
    except AlreadyExistsError:
        return _connect(name, source_id, None)


def _remove_no_onset_entries(log_directory: Path) -> None:
    """Removes the onset entries of sources that logged no onset package (payload: the :data:`_NO_ONSET` marker)."""
    marker = np.uint64(_NO_ONSET).astype("<u8").tobytes()
    for source_id in range(256):
        path = log_directory / _seqring.log_entry_name(source_id, 0)
        try:
            entry = np.load(path)
        except (FileNotFoundError, ValueError, OSError):
            continue
        if entry.dtype == np.uint8 and entry.size == 17 and entry[9:].tobytes() == marker:
            path.unlink()


def _warn(message: str) -> None:
    """Warns as ataraxis does, through ``ataraxis_base_utilities``'s console when that package is installed (an
    ataraxis program's own warning path), else with :func:`warnings.warn` (``RuntimeWarning``)."""
    try:
        from ataraxis_base_utilities import LogLevel, console  # noqa: PLC0415 (optional)
    except ImportError:
        warnings.warn(message, RuntimeWarning, stacklevel=3)
        return
    with console.temporarily_enabled():
        console.echo(message=message, level=LogLevel.WARNING)


def _log_at(producer: Producer, timestamp_us: int, data: Any) -> None:
    """Logs ``data`` (buffer protocol) at ``timestamp_us`` µs since the source's onset."""
    producer.log_at(timestamp_us, data)


@dataclass(frozen=True)
class LogPackage:
    """One message for :attr:`DataLogger.input_queue` (ataraxis's frozen dataclass, with slots).

    ``acquisition_time`` is µs since the source's onset. As in ataraxis, a source's first package should be its
    onset: ``acquisition_time=0`` and ``serialized_data`` = the onset as a ``uint64`` of µs since the UNIX epoch
    (8 bytes); :class:`LogArchiveReader` adds it to every later timestamp.
    """

    __slots__ = ("source_id", "acquisition_time", "serialized_data")

    source_id: np.uint8
    """The source's id (0-255), unique among the sources of one logger."""
    acquisition_time: np.uint64
    """When the data was acquired, in µs since the source's onset (0 for the onset package)."""
    serialized_data: npt.NDArray[np.uint8]
    """The data, as a one-dimensional ``uint8`` array."""

    def __getstate__(self) -> List[Any]:
        return [self.source_id, self.acquisition_time, self.serialized_data]

    def __setstate__(self, state: List[Any]) -> None:
        for field, value in zip(self.__slots__, state):
            object.__setattr__(self, field, value)

    @property
    def data(self) -> Tuple[str, npt.NDArray[np.uint8]]:
        """The ataraxis log entry of this package: its file name ``{source:03d}_{time:020d}.npy`` and its array
        ``[source_id u8][acquisition_time u64 LE][serialized_data]``."""
        payload = _payload_bytes(self.serialized_data)
        entry = np.empty(9 + payload.size, dtype=np.uint8)
        entry[0] = self.source_id
        entry[1:9] = np.frombuffer(np.uint64(self.acquisition_time).astype("<u8").tobytes(), dtype=np.uint8)
        entry[9:] = payload
        return _seqring.log_entry_name(int(self.source_id), int(self.acquisition_time)), entry


def _payload_bytes(data: Any) -> npt.NDArray[np.uint8]:
    """``serialized_data`` as a contiguous one-dimensional ``uint8`` array (converted under numpy's
    ``same_kind`` casting, as ataraxis does, if it has another dtype)."""
    if isinstance(data, (bytes, bytearray, memoryview)):
        return np.frombuffer(data, dtype=np.uint8)
    a = np.asarray(data)
    if a.dtype == np.uint8:
        return np.ascontiguousarray(a).reshape(-1)
    out = np.empty(a.size, dtype=np.uint8)
    np.copyto(out, a.reshape(-1), casting="same_kind")
    return out


# The producers this process connected, by (logger name, source id); a forked child starts without them. (Windows
# has no fork, nor os.register_at_fork: its child processes are spawned, with a fresh interpreter.)
_producers: Dict[Tuple[str, int], Producer] = {}
if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_producers.clear)

_U8 = np.dtype(np.uint8)


def _forget(name: str) -> None:
    """Drops this process's producers of the logger ``name``."""
    for key in [k for k in _producers if k[0] == name]:
        del _producers[key]


class LogQueue:
    """The :attr:`DataLogger.input_queue`: ``put(package)`` logs a :class:`LogPackage` from any process.

    It pickles as the logger's name, so it can be handed to child processes (as arguments of
    ``multiprocessing.Process`` or through a queue) like ataraxis's queue. The first package of a source in a
    process connects a :class:`seqring.Producer` for it (an onset package, ``acquisition_time=0`` with an 8-byte
    payload, becomes the source's onset record); later ones are copied straight into the logger's ring, in
    nanoseconds, without a system call.

    Unlike a queue, a package is never held in this process: ``put`` before ``start()`` or after ``stop()``
    raises :class:`~seqring.errors.SeqringError` instead of waiting (ataraxis queues it and, after ``stop()``, never
    writes it). The consuming side (``get``) is the logger's own and is not offered.
    """

    __slots__ = ("_name",)

    def __init__(self, logger_name: str) -> None:
        self._name = logger_name

    def __reduce__(self) -> Tuple[Any, Tuple[str]]:
        return (LogQueue, (self._name,))

    def put(self, obj: LogPackage, block: bool = True, timeout: Optional[float] = None) -> None:
        """Logs ``obj``, a :class:`LogPackage` (any object with its three fields is accepted).

        ``block`` and ``timeout`` are accepted for ``Queue.put`` compatibility: when the ring is full the call
        waits up to the logger's wait timeout, then raises. Raises :class:`TypeError` for another object,
        :class:`ValueError` for a source id outside 0-255 or a negative time, and
        :class:`~seqring.errors.SeqringError` subclasses if no logger of this name runs or the payload is larger
        than the logger's largest.
        """
        del block, timeout
        try:
            # The fast path: a connected source and a contiguous uint8 payload go straight into the ring.
            data = obj.serialized_data
            if type(data) is np.ndarray and data.dtype is _U8 and obj.acquisition_time:
                _log_at(_producers[self._name, obj.source_id], obj.acquisition_time, data)
                return
        except (AttributeError, KeyError, TypeError, OverflowError, ClosedError, ShapeError):
            pass  # the checked path below logs it (a non-contiguous payload copied) or says why not
        self._put(obj)

    def _put(self, obj: LogPackage) -> None:
        """The checked path of :meth:`put`."""
        try:
            source_id = int(obj.source_id)
            timestamp = int(obj.acquisition_time)
            data = obj.serialized_data
        except AttributeError:
            raise TypeError(
                f"the input queue of DataLogger {self._name} takes LogPackage objects, not {type(obj).__name__}"
            ) from None
        if not 0 <= source_id <= 255:
            raise ValueError(f"source_id {source_id} is outside 0-255")
        if timestamp < 0:
            raise ValueError(f"acquisition_time {timestamp} is negative")
        if not (type(data) is np.ndarray and data.dtype is _U8 and data.flags.c_contiguous):
            data = _payload_bytes(data)
        key = (self._name, source_id)
        if timestamp == 0:
            self._onset(key, data)
            return
        producer = _producers.get(key)
        if producer is None:
            producer = _producers[key] = _connect_data(self._name, source_id)
        try:
            _log_at(producer, timestamp, data)
        except ClosedError:
            # A producer of an earlier logger of this name (stopped since): connect to the current one once.
            _producers[key] = producer = _connect_data(self._name, source_id)
            _log_at(producer, timestamp, data)

    def _onset(self, key: Tuple[str, int], data: npt.NDArray[np.uint8]) -> None:
        """An onset package: the source's onset record, or a repeat of it (nothing to log)."""
        name, source_id = key
        value = _onset_of(data)
        if value is None:
            raise ValueError(
                f"acquisition_time 0 is the onset package's, whose serialized_data is the onset as a uint64 "
                f"(8 bytes), not {data.nbytes} bytes (source {source_id} of logger {name})"
            )
        producer = _producers.get(key)
        if producer is None:
            try:
                producer = _connect(name, source_id, value)
            except AlreadyExistsError:
                producer = _connect(name, source_id, None)  # the source's onset came from another process
            _producers[key] = producer
        if producer.onset_us != value:
            raise ValueError(f"source {source_id} of logger {name} has its onset already: {producer.onset_us} µs")

    def put_nowait(self, obj: LogPackage) -> None:
        """:meth:`put` (a full ring raises after the logger's wait timeout rather than at once)."""
        self.put(obj)

    def __repr__(self) -> str:
        return f"LogQueue(logger={self._name!r})"


def _onset_of(data: npt.NDArray[np.uint8]) -> Optional[int]:
    """The onset an ataraxis onset package's payload carries (a ``uint64``), else ``None``."""
    if data.nbytes != 8:
        return None
    return int(np.frombuffer(data, dtype="<u8")[0])


class DataLogger:
    """Logs serialized data from any number of sources in any process to disk (ataraxis 7.2.0's ``DataLogger``, on
    a seqring shared-memory ring logger).

    ``start()``, then ``input_queue.put(LogPackage(...))`` from this or any other process (hand the queue to child
    processes), then ``stop()``, then :func:`assemble_log_archives` on :attr:`output_directory`.

    Where seqring does better than ataraxis:

    - A ``put`` copies the message into shared memory in well under a microsecond, with no pickling, no manager
      process and no per-message file: about three orders of magnitude more messages per second.
    - Messages with the same source and time are all kept (ataraxis writes one file per source and time, so a
      second message overwrites the first).
    - ``stop()`` accounts for every message: it warns if any was dropped, abandoned by a dead producer or not
      written (and :attr:`report` has the counts), and a producer killed mid-run loses nothing it committed.

    The raw log directory is ataraxis's: one ``.npy`` file per message (``{source:03d}_{time:020d}.npy``, written by
    ``thread_count`` writer threads), which ataraxis's own ``assemble_log_archives`` and the pipelines built on it
    read. ``log_format="segments"`` (seqring only) writes checksummed append-only segment files instead: fewer, larger
    writes, for the highest rates; :func:`assemble_log_archives` turns either into ataraxis's archives.
    ``poll_interval`` is accepted and unused: the drain idles by spinning, yielding, then parking.

    As in ataraxis, a source whose first package is not an onset package gets no onset entry in an ``.npy`` log (the
    reader then needs ``onset_us``), and two loggers with one ``instance_name`` run at once in different output
    directories (the machine-wide name of the ring is the instance name plus a digest of the directory).
    """

    def __init__(
        self,
        output_directory: PathLike,
        instance_name: str,
        thread_count: int = 5,
        poll_interval: int = 5,
        *,
        log_format: str = "npy",
    ) -> None:
        """A stopped logger writing under ``{output_directory}/{instance_name}_data_log`` (created now), in
        ``log_format`` (``"npy"``, ataraxis's layout, or ``"segments"``; see the class docstring)."""
        if log_format not in LOG_FORMATS:
            raise ValueError(f"log_format must be one of {LOG_FORMATS}, not {log_format!r}")
        self._name = str(instance_name)
        self._root = Path(output_directory)
        self._output_directory = self._root / f"{self._name}{LOG_DIRECTORY_SUFFIX}"
        self._output_directory.mkdir(parents=True, exist_ok=True)
        self._thread_count = max(1, int(thread_count))
        self._poll_interval = max(0, int(poll_interval))
        self._format = log_format
        self._region = _region_name(self._root, self._name)
        self._queue = LogQueue(self._region)
        self._logger: Optional[_NativeLogger] = None
        self._report: Optional[Dict[str, Any]] = None

    def start(self) -> None:
        """Starts the logger (a no-op if it runs). Raises :class:`~seqring.errors.SeqringError` subclasses, e.g.
        :class:`~seqring.errors.InvalidNameError` for a name outside ``[A-Za-z0-9._-]``, or if another live logger
        has this name."""
        if self._logger is not None:
            return
        self._logger = _start(self._root, self._region, self._name, self._thread_count, self._format)

    def stop(self) -> None:
        """Stops the logger once everything committed is written and synced (a no-op if it is not running).

        As ataraxis, it warns rather than raises when a message did not reach the disk (a disk error, the log
        directory removed meanwhile) or was dropped or abandoned: through ``ataraxis_base_utilities``'s console when
        that package is installed, else as a ``RuntimeWarning``. :attr:`report` holds the counts.
        """
        logger, self._logger = self._logger, None
        if logger is None:
            return
        _forget(self._region)
        try:
            report = self._report = _stop(logger)
        except SeqringError as e:
            self._report = getattr(e, "report", None)  # a disk error carries the account of what was written
            _warn(
                f"Unable to confirm that the {self._name} DataLogger saved all buffered data: {e}. At least one of "
                f"the submitted log entries did not reach the disk. Treat the data this logger recorded as incomplete."
            )
            return
        if self._format == "npy":
            _remove_no_onset_entries(self._output_directory)
        lost = {k: report.get(k, 0) for k in ("dropped", "abandoned", "unwritten_records")}
        if any(lost.values()):
            _warn(
                f"Unable to confirm that the {self._name} DataLogger saved all buffered data: {lost}. At least one of "
                f"the submitted log entries did not reach the disk. Treat the data this logger recorded as incomplete."
            )

    @property
    def input_queue(self) -> LogQueue:
        """Where to ``put`` :class:`LogPackage` objects, from any process (see :class:`LogQueue`)."""
        return self._queue

    @property
    def name(self) -> str:
        """The logger's name."""
        return self._name

    @property
    def alive(self) -> bool:
        """Whether the logger runs (between :meth:`start` and :meth:`stop`)."""
        return self._logger is not None and bool(self._logger.alive)

    @property
    def output_directory(self) -> Path:
        """The log directory, ``{output_directory}/{instance_name}_data_log``."""
        return self._output_directory

    @property
    def report(self) -> Optional[Dict[str, Any]]:
        """The account of the last run (records, bytes, dropped, abandoned, … per source), after :meth:`stop`
        (seqring only)."""
        return self._report

    def __reduce__(self) -> Tuple[Any, Tuple[Any, ...]]:
        raise TypeError(
            f"DataLogger {self._name} cannot be pickled: hand its input_queue to other processes instead"
        )

    def __del__(self) -> None:
        try:
            self.stop()
        except Exception:  # noqa: BLE001 (a collector must not raise; stop() already warned about lost messages)
            pass

    def __repr__(self) -> str:
        return (
            f"DataLogger(name={self._name}, output_directory={self._output_directory}, "
            f"thread_count={self._thread_count}, poll_interval={self._poll_interval} ms, started={self.alive})"
        )
