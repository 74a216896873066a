"""ataraxis-data-structures 7.2.0's processing tools (``transfer_directory``, ``delete_directory``,
``interpolate_data``, ``atomic_write``, ``direct_write``, marker discovery, ``limit_worker_threads`` and
``initialize_worker_threads``) over seqring's native ones (:mod:`seqring.tools`), with ataraxis's names, arguments and
exception classes.

Where seqring differs:

- ``atomic_write`` and ``direct_write`` hand the ``with`` body an in-memory file (``io.StringIO`` or ``io.BytesIO``)
  and write its contents when the body ends (``atomic_write`` through a fsynced temporary file renamed over the
  target, as ataraxis): nothing reaches the path before then, and the file object has no ``fileno()``;
- ``transfer_directory`` shows no progress bar (``progress`` is accepted and ignored) and copies with threads;
- ``interpolate_data`` refuses source coordinates that are not non-decreasing (numpy's result for them is
  meaningless) and source arrays of unequal length, with :class:`seqring.errors.InterpolateError` (a
  ``ValueError``);
- ``delete_directory`` raises an ``OSError`` when a directory cannot be removed, instead of warning.
"""

from __future__ import annotations

import io
import os
from contextlib import contextmanager
from pathlib import Path
from typing import IO, Any, Dict, Iterable, Iterator, List, Mapping, Optional, Sequence, Tuple, Union

import numpy as np
import numpy.typing as npt

from .. import tools
from ..errors import InvalidOptionError, TransferError

__all__ = [
    "atomic_write",
    "direct_write",
    "delete_directory",
    "transfer_directory",
    "interpolate_data",
    "discover_marker_files",
    "discover_marker_roots",
    "index_marker_files",
    "resolve_unique_roots",
    "limit_worker_threads",
    "initialize_worker_threads",
]

PathLike = Union[str, "os.PathLike[str]"]

_CHECKSUM_FILE = "ax_checksum.txt"


def _umask() -> int:
    """The process's umask: from ``/proc`` where there is one (without changing it), else by setting and restoring
    it."""
    try:
        with open("/proc/self/status", encoding="ascii") as status:
            for line in status:
                if line.startswith("Umask:"):
                    return int(line.split()[1], 8)
    except (OSError, ValueError):
        pass
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


@contextmanager
def _atomic(file_path: PathLike, binary: bool) -> Iterator[IO[Any]]:
    path = Path(file_path)
    buffer: Union[io.BytesIO, io.StringIO] = io.BytesIO() if binary else io.StringIO()
    yield buffer
    data = buffer.getvalue()
    tools.atomic_write(path, data if binary else data.encode("utf-8"))
    # ataraxis gives a replaced file the default bits (seqring's own atomic_write keeps the replaced file's bits).
    if os.name == "posix":
        os.chmod(path, 0o666 & ~_umask())


def atomic_write(file_path: PathLike, *, binary: bool = False) -> "contextmanager[IO[Any]]":
    """A ``with`` block whose writes replace ``file_path`` in one step when it ends (ataraxis's ``atomic_write``):
    readers see the old file or the whole new one, which carries the default permission bits (``0o666`` minus the
    umask). Missing parent directories are created; text is UTF-8. If the body raises, nothing is written.

    The body writes into memory (an ``io.StringIO`` or ``io.BytesIO``, without ``fileno()``); the contents are
    written through seqring's :func:`seqring.tools.atomic_write` (temporary file, fsync, rename) when it ends."""
    return _atomic(file_path, binary)


@contextmanager
def _direct(file_path: PathLike, binary: bool) -> Iterator[IO[Any]]:
    path = Path(file_path)
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("wb" if binary else "w", encoding=None if binary else "utf-8") as file:
        yield file


def direct_write(file_path: PathLike, *, binary: bool = False) -> "contextmanager[IO[Any]]":
    """A ``with`` block writing ``file_path`` in place (created or truncated when it opens, as ataraxis's
    ``direct_write``: a plain ``open``); missing parent directories are created; text is UTF-8."""
    return _direct(file_path, binary)


def delete_directory(directory_path: PathLike) -> None:
    """Deletes the directory tree at ``directory_path``, unlinking its files in parallel. A symbolic link is removed
    as a link, never followed (also when ``directory_path`` itself is one); a missing path is not an error."""
    path = Path(directory_path)
    if path.is_symlink():
        path.unlink()
        return
    tools.delete_directory(path)


def _links_message(source: Path, links: List[Path]) -> str:
    """ataraxis's words for a refused link: the source itself (``links`` empty) or the links it holds."""
    if not links:
        return (
            f"Unable to transfer the source directory {source}, as the path is a symbolic link rather than a real "
            f"directory. Pass the directory the link resolves to."
        )
    names = ", ".join(str(link) for link in links)
    return (
        f"Unable to transfer the source directory {source}, as it contains {len(links)} symbolic link(s). "
        f"Resolve the following link(s) into real data before transferring the tree: {names}."
    )


def transfer_directory(
    source: PathLike,
    destination: PathLike,
    num_threads: int = 1,
    *,
    verify_integrity: bool = False,
    remove_source: bool = False,
    progress: bool = False,
    reset_dirty_destination: bool = False,
) -> None:
    """Copies the tree at ``source`` into ``destination`` with its layout (ataraxis's ``transfer_directory``).
    ``num_threads`` below 1: one thread per core. ``verify_integrity`` compares the copy's checksum with the
    source's ``ax_checksum.txt`` (computed and saved first when missing). ``remove_source`` deletes the source after
    success. ``reset_dirty_destination`` deletes destination files the source does not account for, instead of
    refusing. ``progress`` is accepted and ignored.

    Raises :class:`FileNotFoundError` for a missing source; :class:`seqring.errors.TransferError` (a
    ``RuntimeError``, as ataraxis) for a source that is or holds a symbolic link, a verified source holding nothing
    to verify, a dirty destination, or a copy whose checksum differs; an ``OSError`` for a failed read or copy.
    """
    del progress
    source, destination = Path(source), Path(destination)
    reused_checksum = verify_integrity and (source / _CHECKSUM_FILE).is_file()
    try:
        tools.transfer_directory(
            source,
            destination,
            workers=None if num_threads < 1 else num_threads,
            verify=verify_integrity,
            remove_source=remove_source,
            reset_dirty_destination=reset_dirty_destination,
        )
    except TransferError as error:
        reason = getattr(error, "reason", None)
        if reason == "links":
            raise TransferError(_links_message(source, error.links)) from error  # type: ignore[attr-defined]
        if reason != "mismatch":
            raise
        if reused_checksum:
            cause = (
                f"Either the data was corrupted in transmission, or the reused '{_CHECKSUM_FILE}' file predates the "
                f"current contents of the source. Remove that file to have this function regenerate it from the data "
                f"actually being transferred."
            )
        else:
            cause = "This indicates that the data was corrupted in transmission."
        raise TransferError(f"{error} {cause}") from error


def _coordinates(*arrays: npt.NDArray[Any]) -> Tuple[npt.NDArray[Any], ...]:
    kinds = {a.dtype.kind for a in arrays}
    if kinds <= {"i", "b"}:
        dtype: Any = np.int64
    elif kinds <= {"u", "b"}:
        dtype = np.uint64
    else:
        dtype = np.float64
    return tuple(np.ascontiguousarray(a, dtype=dtype).ravel() for a in arrays)


def interpolate_data(
    source_coordinates: npt.NDArray[Any],
    source_values: npt.NDArray[Any],
    target_coordinates: npt.NDArray[Any],
    *,
    is_discrete: bool,
) -> npt.NDArray[Any]:
    """The series ``(source_coordinates, source_values)`` resampled at ``target_coordinates`` (ataraxis's
    ``interpolate_data``): linearly as ``numpy.interp`` (a ``float64`` result), or, with ``is_discrete``, the last
    source value at or left of each target (clamped to the first), keeping the values' dtype.

    Raises :class:`seqring.errors.InterpolateError` (a ``ValueError``) for empty or unequal source arrays or source
    coordinates that are not non-decreasing.
    """
    source_coordinates = np.asarray(source_coordinates)
    source_values = np.asarray(source_values)
    target_coordinates = np.asarray(target_coordinates)
    sx, tx = _coordinates(source_coordinates, target_coordinates)
    if is_discrete:
        indices = tools.interpolate(sx, source_values.ravel(), tx, discrete=True)
        return source_values.ravel()[indices].reshape(target_coordinates.shape)
    values = np.ascontiguousarray(source_values, dtype=np.float64).ravel()
    return tools.interpolate(sx, values, tx, discrete=False).reshape(target_coordinates.shape)


def discover_marker_files(directory: PathLike, marker_name: str) -> List[Path]:
    """Every file named ``marker_name`` anywhere under ``directory``, sorted (directories of that name are left
    out)."""
    return tools.discover_marker_files(Path(directory), marker_name)


def discover_marker_roots(directory: PathLike, marker_name: str, levels_up: int = 0) -> List[Path]:
    """The directory ``levels_up`` levels above each ``marker_name`` file's own directory under ``directory``,
    sorted, each once.

    Raises ``ValueError`` (:class:`seqring.errors.InvalidOptionError`) for a negative ``levels_up`` or a marker
    without that ancestor."""
    if levels_up < 0:
        raise InvalidOptionError(f"levels_up must be greater than or equal to 0, but got {levels_up}")
    return tools.discover_marker_roots(Path(directory), marker_name, levels_up)


def index_marker_files(
    directory: PathLike, marker_names: Iterable[str], *, max_depth: Optional[int] = None
) -> Dict[str, Tuple[Path, ...]]:
    """``{name: (paths, sorted)}`` for every name of ``marker_names``, in one walk of ``directory``. ``max_depth``:
    how many directory levels are searched (1: ``directory`` itself only; ``None``: all).

    Raises ``ValueError`` (:class:`seqring.errors.InvalidOptionError`) for no name or a ``max_depth`` below 1."""
    names = list(dict.fromkeys(marker_names))
    if not names:
        raise InvalidOptionError(f"marker_names must name at least one marker file under {directory}, but named none")
    if max_depth is not None and max_depth < 1:
        raise InvalidOptionError(f"max_depth must be greater than or equal to 1 when given, but got {max_depth}")
    found = tools.index_marker_files(Path(directory), names, max_depth=None if max_depth is None else max_depth - 1)
    return {name: tuple(paths) for name, paths in found.items()}


def resolve_unique_roots(paths: Sequence[PathLike]) -> Tuple[Path, ...]:
    """The deepest ancestor of each path whose name no other path carries, in the order of ``paths``.

    Raises ``ValueError`` (:class:`seqring.errors.InvalidOptionError`) for a path all of whose components another
    path also has."""
    return tuple(tools.resolve_unique_roots([Path(p) for p in paths]))


#: The backends' thread variables that can be resized after they load (ataraxis's list).
_RESIZABLE_THREAD_VARIABLES = (
    "OPENBLAS_NUM_THREADS",
    "MKL_NUM_THREADS",
    "BLIS_NUM_THREADS",
    "FLEXIBLAS_NUM_THREADS",
    "VECLIB_MAXIMUM_THREADS",
    "NUMEXPR_NUM_THREADS",
    "OPENCV_FOR_THREADS_NUM",
    "OPENCV_FFMPEG_THREADS",
    "TIFFFILE_NUM_THREADS",
)
#: The variables a backend reads once as it loads (ataraxis's list).
_IMPORT_LATCHED_THREAD_VARIABLES = ("OMP_NUM_THREADS", "DUCC0_NUM_THREADS", "POLARS_MAX_THREADS")


def _thread_variables(
    thread_count: int, maximum_thread_count: Optional[int], additional: Optional[Mapping[str, int]]
) -> Dict[str, str]:
    if thread_count < 1:
        raise InvalidOptionError(f"thread_count must be greater than or equal to 1, but got {thread_count}")
    maximum = thread_count if maximum_thread_count is None else maximum_thread_count
    if maximum < thread_count:
        raise InvalidOptionError(
            f"maximum_thread_count must be greater than or equal to thread_count ({thread_count}), but got {maximum}"
        )
    variables = {name: str(thread_count) for name in _RESIZABLE_THREAD_VARIABLES}
    variables.update({name: str(maximum) for name in _IMPORT_LATCHED_THREAD_VARIABLES})
    for name, count in (additional or {}).items():
        if not name.strip():
            raise InvalidOptionError(f"an additional thread variable needs a non-blank name, not {name!r}")
        if count < 1:
            raise InvalidOptionError(f"the width of {name!r} must be greater than or equal to 1, but got {count}")
        variables[name] = str(count)
    return variables


@contextmanager
def limit_worker_threads(
    thread_count: int = 1,
    maximum_thread_count: Optional[int] = None,
    additional_thread_variables: Optional[Mapping[str, int]] = None,
) -> Iterator[None]:
    """Sets the numeric backends' thread variables (BLAS, OpenMP, numexpr, …) in the environment for the ``with``
    block, so that worker processes started inside it inherit them, and restores the previous values on exit
    (ataraxis's ``limit_worker_threads``).

    Raises ``ValueError`` (:class:`seqring.errors.InvalidOptionError`) for a count below 1, a maximum below the
    count, or an additional variable with a blank name or a width below 1."""
    variables = _thread_variables(thread_count, maximum_thread_count, additional_thread_variables)
    previous = {name: os.environ.get(name) for name in variables}
    os.environ.update(variables)
    try:
        yield
    finally:
        for name, value in previous.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


def initialize_worker_threads(
    thread_count: int = 1,
    maximum_thread_count: Optional[int] = None,
    additional_thread_variables: Optional[Mapping[str, int]] = None,
) -> None:
    """Sets the numeric backends' thread variables in this process's environment, as a process pool's initializer
    (ataraxis's ``initialize_worker_threads``); numba, when it is installed, is pinned through its own setter."""
    variables = _thread_variables(thread_count, maximum_thread_count, additional_thread_variables)
    os.environ.update(variables)
    try:
        import numba  # type: ignore[import-not-found]
    except ImportError:
        return
    numba.set_num_threads(min(thread_count, numba.config.NUMBA_NUM_THREADS))
