"""How ``SharedArray`` turns values of another dtype into its own: only when every value survives (called by the
native module on its slow path; the fast path takes arrays that already have the array's dtype)."""

import warnings

import numpy as np

from .errors import DTypeMismatchError

__all__ = ["to_dtype"]


def to_dtype(value: object, dtype: np.dtype, name: str) -> np.ndarray:
    """``value`` as a C-contiguous array of ``dtype``, converted only if every value survives the conversion
    (``[1, 2]`` into ``uint8`` does; ``1.5`` into ``int32`` or ``300`` into ``uint8`` does not). Floats round to a
    narrower float type (``0.1`` into ``float32``), as long as no finite value overflows to infinity.

    Raises :class:`~seqring.errors.DTypeMismatchError` naming the array ``name`` otherwise.
    """
    # np.asarray(order="C") keeps 0-d values 0-d (np.ascontiguousarray would make them 1-d).
    a = np.asarray(value)
    if a.dtype == dtype:
        return np.asarray(a, order="C")
    if np.can_cast(a.dtype, dtype, casting="safe"):
        return np.asarray(a, dtype=dtype, order="C")
    if a.dtype.kind in "fc" and dtype.kind in "fc" and np.can_cast(a.dtype, dtype, casting="same_kind"):
        with np.errstate(all="ignore"):
            rounded = np.asarray(a, dtype=dtype, order="C")
        if np.array_equal(np.isfinite(rounded), np.isfinite(a)):
            return rounded
        raise DTypeMismatchError(f"array {name} holds {dtype.str} elements: these {a.dtype.str} values overflow them")
    with warnings.catch_warnings(), np.errstate(all="ignore"):
        warnings.simplefilter("ignore")
        try:
            converted = np.asarray(a, dtype=dtype, order="C")
            lossless = np.array_equal(converted.astype(a.dtype), a)
        except (TypeError, ValueError, OverflowError):
            lossless = False
    if not lossless:
        raise DTypeMismatchError(
            f"array {name} holds {dtype.str} elements, which cannot hold these {a.dtype.str} values"
        )
    return converted
