"""``LogArchiveReader``, ``LogMessage`` and ``assemble_log_archives`` with the names, signatures and behaviour of
ataraxis-data-structures 7.2.0, over :class:`seqring.LogArchive` and :func:`seqring.assemble_log_archives`.

Every access to the native archive goes through ``_keys``, ``_read_all`` and ``_read_keys`` below, so that the
backend can change in one place.
"""

import os
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Dict, Iterable, Iterator, List, Optional, Sequence, Tuple, Union

import numpy as np
import numpy.typing as npt

from .. import LogArchive
from .. import assemble_log_archives as _assemble
from .._seqring import discover_log_archives as _discover_log_archives
from .._seqring import find_log_archives as _find_log_archives
from .._seqring import read_archive_message_count as _read_archive_message_count
from ..errors import CorruptArchiveError, NotFoundError

__all__ = [
    "LogMessage",
    "LogArchiveReader",
    "assemble_log_archives",
    "PARALLEL_PROCESSING_THRESHOLD",
    "find_log_archive",
    "find_log_archives",
    "discover_log_archives",
    "read_archive_message_count",
]

_ARCHIVE_SUFFIX = "_log.npz"

PARALLEL_PROCESSING_THRESHOLD = 2000
"""Archives with fewer messages than this are handed out as one batch by :meth:`LogArchiveReader.get_batches`."""

PathLike = Union[str, "os.PathLike[str]"]


def _keys(archive: LogArchive) -> List[str]:
    """The keys of every message (entry names without ``.npy``, as ``np.load(path).files`` lists them), in archive
    order, the onset's excluded."""
    return archive.keys()


def _read_all(archive: LogArchive) -> Tuple[npt.NDArray[np.uint64], List[Any]]:
    """Every message: absolute timestamps (µs since the epoch) and payloads (zero-copy views), in archive order."""
    return archive.read_all()


def _read_keys(
    archive: LogArchive, index: Dict[str, int], keys: Sequence[str]
) -> Tuple[npt.NDArray[np.uint64], List[Any]]:
    """The messages named by ``keys`` (with or without ``.npy``; ``index`` maps each key to its message index), in
    the order given; :class:`KeyError` for a key that names no message."""
    timestamps, payloads = [], []
    for key in keys:
        stem = key[:-4] if key.endswith(".npy") else key
        if stem not in index:
            raise KeyError(f"{key} is not a message of the log archive {archive.path}")
        timestamp, payload = archive[index[stem]]
        timestamps.append(timestamp)
        payloads.append(payload)
    return np.array(timestamps, dtype=np.uint64), payloads


def _payload(data: Any) -> npt.NDArray[np.uint8]:
    """A payload as ataraxis hands it out: a writeable one-dimensional uint8 array of its own."""
    return np.frombuffer(data, dtype=np.uint8).copy()


@dataclass(frozen=True)
class LogMessage:
    """One message of a log archive (ataraxis's frozen dataclass, with slots): ``timestamp_us`` (``np.uint64``, µs
    since the UNIX epoch) and ``payload`` (a one-dimensional ``uint8`` array)."""

    __slots__ = ("timestamp_us", "payload")

    timestamp_us: np.uint64
    """The absolute time the message was logged, µs since the UNIX epoch."""
    payload: npt.NDArray[np.uint8]
    """The message's bytes."""

    def __getstate__(self) -> List[Any]:
        return [self.timestamp_us, self.payload]

    def __setstate__(self, state: List[Any]) -> None:
        object.__setattr__(self, "timestamp_us", state[0])
        object.__setattr__(self, "payload", state[1])


class LogArchiveReader:
    """Reads a ``{source}_log.npz`` log archive (ataraxis 7.2.0's ``LogArchiveReader``, on :class:`seqring.LogArchive`).

    The archive is memory-mapped and validated once, on first use. Where seqring does better than ataraxis: the
    onset, the keys and every message come from that one mapping and index (ataraxis re-opens the archive with
    ``np.load`` for each), messages with the same timestamp are all there, and reading never takes a lock, so any
    number of worker processes read one archive at once.
    """

    def __init__(self, archive_path: PathLike, onset_us: Optional[np.uint64] = None) -> None:
        """A reader of the archive at ``archive_path``; ``onset_us`` (µs since the epoch), when given, replaces
        the archive's own onset, as in ataraxis worker processes.

        Raises :class:`FileNotFoundError` if there is no such file.
        """
        path = Path(archive_path)
        if not path.exists():
            raise FileNotFoundError(
                f"Unable to open log archive. The file does not exist at the expected path: {path}."
            )
        self._archive_path = path
        self._onset_us = None if onset_us is None else np.uint64(onset_us)
        self._archive: Optional[LogArchive] = None
        self._message_keys: Optional[List[str]] = None
        self._key_index: Optional[Dict[str, int]] = None

    def _open(self) -> LogArchive:
        # ataraxis's rules: an entry not named like a log entry is skipped, and an archive without an onset entry
        # opens (asking for its onset then raises, unless one was given).
        if self._archive is None:
            self._archive = LogArchive(self._archive_path, lenient=True)
        return self._archive

    def _get_message_keys(self) -> List[str]:
        if self._message_keys is None:
            self.onset_timestamp_us  # as ataraxis: keys come after the onset, so none without one
            self._message_keys = _keys(self._open())
        return self._message_keys

    @property
    def onset_timestamp_us(self) -> np.uint64:
        """The onset (µs since the UNIX epoch): the pre-provided one, or the archive's onset entry's.

        Raises :class:`ValueError` (:class:`~seqring.errors.CorruptArchiveError`) if the archive has no onset entry
        and none was given.
        """
        if self._onset_us is not None:
            return self._onset_us
        archive = self._open()
        if not archive.has_onset:
            raise CorruptArchiveError(
                f"Unable to discover onset timestamp in log archive. The archive must contain a message with timestamp "
                f"value 0 storing the UTC epoch reference, but none was found in: {self._archive_path}."
            )
        return np.uint64(archive.onset_us)

    @property
    def message_count(self) -> int:
        """The number of messages, the onset entry excluded (raises, as ataraxis, if the archive has no onset and
        none was given)."""
        self.onset_timestamp_us
        return int(self._open().message_count)

    def get_batches(self, workers: int = -1, batch_multiplier: int = 4) -> List[List[str]]:
        """Splits the message keys into batches for ``workers`` processes, with ataraxis's rules: one batch below
        2000 messages (none for an empty archive), else batches of ``ceil(count / (workers × batch_multiplier))``
        keys. ``workers`` below 1 means every core but two (at least one)."""
        keys = self._get_message_keys()
        return [keys[r.start : r.stop] for r in self._open().batches(int(workers), max(1, int(batch_multiplier)))]

    def _absolute(self, timestamps: npt.NDArray[np.uint64]) -> npt.NDArray[np.uint64]:
        if self._onset_us is None:
            if not self._open().has_onset:
                self.onset_timestamp_us  # raises: the timestamps need an onset
            return timestamps
        return timestamps - np.uint64(self._open().onset_us) + self._onset_us

    def iter_messages(self, keys: Optional[List[str]] = None) -> Iterator[LogMessage]:
        """Yields every message, or the messages named by ``keys`` (from :meth:`get_batches`) in that order, as
        :class:`LogMessage` with absolute timestamps and a writeable payload array of its own.

        Raises :class:`KeyError` for a key that names no message.
        """
        archive = self._open()
        if keys is None:
            timestamps, payloads = _read_all(archive)
        else:
            if self._key_index is None:
                self._key_index = {k: i for i, k in enumerate(self._get_message_keys())}
            timestamps, payloads = _read_keys(archive, self._key_index, keys)
        for t, p in zip(self._absolute(timestamps).tolist(), payloads):
            yield LogMessage(np.uint64(t), _payload(p))

    def read_all_messages(self) -> Tuple[npt.NDArray[np.uint64], List[npt.NDArray[np.uint8]]]:
        """Every message: the absolute timestamps as one ``uint64`` array and the payloads as a list of
        ``uint8`` arrays."""
        timestamps, payloads = _read_all(self._open())
        return np.ascontiguousarray(self._absolute(timestamps), dtype=np.uint64), [_payload(p) for p in payloads]

    def __repr__(self) -> str:
        onset = str(self._onset_us) if self._onset_us is not None else "not discovered"
        return f"LogArchiveReader(archive_path={self._archive_path}, onset_us={onset})"


def assemble_log_archives(
    log_directory: PathLike,
    max_workers: Optional[int] = None,
    *,
    remove_sources: bool = True,
    memory_mapping: bool = True,
    verbose: bool = False,
    verify_integrity: bool = False,
) -> None:
    """Assembles the log entries under ``log_directory`` (ataraxis ``.npy`` entries and seqring segments) into one
    ``{source_id}_log.npz`` archive per source, in ataraxis's exact layout (numpy's ``np.load`` reads them).

    Where seqring does better than ataraxis: messages with the same source and timestamp are all kept (suffixed
    ``_1``, ``_2``, … in the archive), the log is streamed rather than loaded, and sources are removed only after
    their archive is complete. ``memory_mapping`` is accepted and ignored (seqring always streams from memory
    maps); ``verbose`` prints one line per archive.

    Raises :class:`FileNotFoundError` if ``log_directory`` does not exist, and
    :class:`~seqring.errors.CorruptArchiveError` (a ``ValueError``) for a malformed entry.
    """
    del memory_mapping
    workers = None if max_workers is None or max_workers < 1 else int(max_workers)
    report = _assemble(
        Path(log_directory),
        remove_sources=remove_sources,
        verify=verify_integrity,
        workers=workers,
        require_onsets=False,  # ataraxis packs every entry as it is; only its reader needs an onset
    )
    if verbose:
        for a in report["archives"]:
            print(f"assembled {a['path']}: {a['entries']} entries, {a['bytes']} bytes", file=sys.stdout)


def _source_number(source_id: str) -> Optional[int]:
    """The id of ``source_id`` if it is the canonical decimal form of a source id (0 to 255), else None."""
    text = str(source_id)
    if text.isdigit() and text.isascii() and str(int(text)) == text and int(text) <= 255:
        return int(text)
    return None


def find_log_archives(log_directory: PathLike, source_ids: Iterable[str]) -> Dict[str, Path]:
    """The archive ``{source_id}_log.npz`` of each source in ``source_ids`` (strings, as ataraxis names them),
    searched anywhere under ``log_directory`` in one walk (:func:`seqring.find_log_archives`); a repeated source is
    resolved once, and an empty request resolves nothing.

    Raises :class:`FileNotFoundError` if ``log_directory`` is not a directory or a source has no archive (a source
    id that is not a number from 0 to 255 has none), and :class:`ValueError` if a source has more than one (they
    belong to several loggers).
    """
    root = Path(log_directory)
    wanted = list(dict.fromkeys(str(s) for s in source_ids))
    if not root.is_dir():
        raise NotFoundError(
            f"Unable to find the log archives of the requested sources in '{root}'. The path does not exist or is "
            f"not a directory."
        )
    if not wanted:
        return {}
    numbers = {}
    for source_id in wanted:
        number = _source_number(source_id)
        if number is None:
            raise NotFoundError(
                f"Unable to find the log archive of source '{source_id}' in '{root}': a source id is a number from 0 "
                f"to 255."
            )
        numbers[source_id] = number
    found = _find_log_archives(root, list(numbers.values()))
    return {source_id: found[number] for source_id, number in numbers.items()}


def find_log_archive(log_directory: PathLike, source_id: str) -> Path:
    """The one archive ``{source_id}_log.npz`` anywhere under ``log_directory`` (see :func:`find_log_archives`).

    Raises :class:`FileNotFoundError` if ``log_directory`` is not a directory or holds no such archive, and
    :class:`ValueError` if it holds several.
    """
    return find_log_archives(log_directory, [source_id])[str(source_id)]


def discover_log_archives(log_directory: PathLike) -> Dict[str, Path]:
    """Every archive stored directly in ``log_directory`` (one logger's output directory), keyed by the source id
    its name carries (a string, as ataraxis keys it), in id order (:func:`seqring.discover_log_archives`).
    Directories, a bare ``_log.npz`` and names whose prefix is not a source id (0 to 255) are left out.

    Raises :class:`FileNotFoundError` if ``log_directory`` is not a directory.
    """
    root = Path(log_directory)
    if not root.is_dir():
        raise NotFoundError(
            f"Unable to discover the log archives stored in '{root}'. The path does not exist or is not a directory."
        )
    return {path.name[: -len(_ARCHIVE_SUFFIX)]: path for path in _discover_log_archives(root).values()}


def read_archive_message_count(archive_path: PathLike) -> int:
    """The number of messages of the archive at ``archive_path``, the onset excluded, from its index alone (the
    payloads are not read).

    Raises :class:`FileNotFoundError` if there is no such file, and
    :class:`~seqring.errors.CorruptArchiveError` (a ``ValueError``) for a malformed archive.
    """
    path = Path(archive_path)
    if not path.is_file():
        raise FileNotFoundError(
            f"Unable to read the message count of the log archive at '{path}'. The path does not exist or is not a "
            f"file."
        )
    return int(_read_archive_message_count(path))
