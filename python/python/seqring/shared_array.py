"""``SharedArray``: a typed n-d numpy array in OS shared memory, shared live across processes.

Readers never block the writer and never see a torn value (a seqlock); every wait on a writer is bounded and
runs with the GIL released.
"""

import warnings
from typing import Optional, Sequence, Tuple, Union

import numpy as np
import numpy.typing as npt

from . import _seqring
from .errors import DTypeMismatchError, ShapeError

__all__ = ["SharedArray"]

ShapeLike = Union[int, Sequence[int]]


def _shape(shape: ShapeLike) -> Tuple[int, ...]:
    if isinstance(shape, (int, np.integer)):
        shape = (int(shape),)
    out = tuple(int(d) for d in shape)
    if any(d < 0 for d in out):
        raise ShapeError(f"shape {out} has a negative dimension")
    return out


def _descr(dtype: npt.DTypeLike) -> str:
    try:
        return np.dtype(dtype).str
    except TypeError as e:
        raise DTypeMismatchError(f"{dtype!r} is not a numpy dtype: {e}") from None


class SharedArray:
    """A handle of one shared array. Create it with :meth:`create` or open it with :meth:`open`.

    The creating handle removes the array when it is closed (or garbage-collected, or its ``with`` block ends);
    opening handles only unmap it. :meth:`destroy` removes it at once.

    Example::

        with SharedArray.create("rig-state", (2, 3), np.float64) as a:
            a.write(np.arange(6.0).reshape(2, 3))
            b = SharedArray.open("rig-state")
            assert (b.read() == a.read()).all()
    """

    __slots__ = ("_raw", "_dtype", "_shape")

    def __init__(self, raw: "_seqring._SharedArray", dtype: np.dtype, shape: Tuple[int, ...]) -> None:
        self._raw = raw
        self._dtype = dtype
        self._shape = shape

    @classmethod
    def create(
        cls,
        name: str,
        shape: ShapeLike,
        dtype: npt.DTypeLike,
        *,
        exists_ok: bool = False,
        capacity: Optional[int] = None,
    ) -> "SharedArray":
        """Creates the zero-filled array ``name`` of ``shape`` and ``dtype`` (mode 0600).

        ``exists_ok`` replaces an existing array of that name; ``capacity`` (in elements) reserves room for
        later reshapes.

        Raises :class:`~seqring.errors.AlreadyExistsError`, :class:`~seqring.errors.InvalidNameError`,
        :class:`~seqring.errors.DTypeMismatchError` (unsupported dtype), :class:`~seqring.errors.ShapeError`.
        """
        shape = _shape(shape)
        descr = _descr(dtype)
        raw = _seqring._SharedArray.create(name, descr, list(shape), bool(exists_ok), capacity)
        return cls(raw, np.dtype(descr), shape)

    @classmethod
    def open(
        cls,
        name: str,
        dtype: Optional[npt.DTypeLike] = None,
        shape: Optional[ShapeLike] = None,
    ) -> "SharedArray":
        """Opens the array ``name``; ``dtype`` and ``shape``, when given, must be the array's.

        Raises :class:`~seqring.errors.NotFoundError`, :class:`~seqring.errors.DTypeMismatchError`,
        :class:`~seqring.errors.ShapeError`.
        """
        raw = _seqring._SharedArray.open(name)
        descr, found_shape, _ = raw.meta()
        found_shape = tuple(found_shape)
        if dtype is not None and _descr(dtype) != descr:
            raise DTypeMismatchError(f"array {name} holds {descr} elements, not {_descr(dtype)}")
        if shape is not None and _shape(shape) != found_shape:
            raise ShapeError(f"array {name} has shape {found_shape}, not {_shape(shape)}")
        return cls(raw, np.dtype(descr), found_shape)

    @property
    def name(self) -> str:
        """The array's name (its region is ``/dev/shm/<name>``)."""
        return self._raw.name

    @property
    def dtype(self) -> np.dtype:
        """The element type."""
        return self._dtype

    @property
    def shape(self) -> Tuple[int, ...]:
        """The shape."""
        return self._shape

    @property
    def version(self) -> int:
        """The version: changes with every completed write (no wait)."""
        return self._raw.version

    @property
    def closed(self) -> bool:
        """Whether the handle was closed or destroyed."""
        return self._raw.closed

    def read(self, out: Optional[np.ndarray] = None) -> np.ndarray:
        """One consistent read: a new array, or ``out`` filled (C-contiguous, the array's dtype and shape).

        Raises :class:`~seqring.errors.SeqringTimeoutError` if a writer stalls,
        :class:`~seqring.errors.DTypeMismatchError` / :class:`~seqring.errors.ShapeError` for a bad ``out``.
        """
        if out is None:
            descr, shape, _, data = self._raw.read()
            return data.view(descr).reshape(shape)
        if not isinstance(out, np.ndarray):
            raise TypeError(f"out must be a numpy array, not {type(out).__name__}")
        if not out.flags.c_contiguous or not out.flags.writeable:
            raise ShapeError("out must be a writeable C-contiguous array")
        self._raw.read_into(out.dtype.str, list(out.shape), out.reshape(-1).view(np.uint8))
        return out

    def write(self, arr: npt.ArrayLike) -> None:
        """Writes ``arr`` (the array's shape) in one write. Values of another dtype are converted only if every
        value survives the conversion (``[1, 2]`` into ``uint8`` does; ``1.5`` into ``int32`` does not).

        Raises :class:`~seqring.errors.ShapeError` for another shape, :class:`~seqring.errors.DTypeMismatchError`
        for values the array's dtype cannot hold.
        """
        a = np.ascontiguousarray(self._convert(arr))
        self._raw.write(a.dtype.str, list(a.shape), a.reshape(-1).view(np.uint8))

    def _convert(self, arr: npt.ArrayLike) -> np.ndarray:
        a = np.asarray(arr)
        if a.dtype == self._dtype:
            return a
        if np.can_cast(a.dtype, self._dtype, casting="safe"):
            return a.astype(self._dtype)
        with warnings.catch_warnings(), np.errstate(all="ignore"):
            warnings.simplefilter("ignore")
            try:
                converted = a.astype(self._dtype)
                lossless = np.array_equal(converted.astype(a.dtype), a)
            except (TypeError, ValueError, OverflowError):
                lossless = False
        if not lossless:
            raise DTypeMismatchError(
                f"array {self.name} holds {self._dtype.str} elements, which cannot hold these {a.dtype.str} values"
            )
        return converted

    def close(self) -> None:
        """Closes the handle; a creating handle removes the array."""
        self._raw.close()

    def destroy(self) -> None:
        """Removes the array now and closes the handle."""
        self._raw.destroy()

    def __enter__(self) -> "SharedArray":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __repr__(self) -> str:
        state = "closed" if self.closed else f"version={self.version}"
        return f"SharedArray({self.name!r}, shape={self._shape}, dtype={self._dtype.str!r}, {state})"
