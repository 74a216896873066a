"""How ``SharedArray`` turns values of another dtype into its own: only when every value survives (called by the
native module on its slow path; the fast path takes arrays that already have the array's dtype)."""

import ast
import warnings

import numpy as np

from .errors import DTypeMismatchError

__all__ = ["to_dtype", "record_descr", "record_dtype"]


def record_descr(dtype: np.dtype) -> str:
    """The text a region records for ``dtype``, a fixed-size dtype seqring holds as opaque records: ``repr`` of
    ``numpy.lib.format.dtype_to_descr(dtype)``, the ``descr`` an .npy header carries.

    Raises :class:`~seqring.errors.DTypeMismatchError` for a dtype that cannot be shared: one holding Python objects,
    of zero size, or a subarray dtype (give its shape in the array's shape instead).
    """
    if dtype.hasobject:
        raise DTypeMismatchError(f"dtype {dtype} holds Python objects, which cannot be shared between processes")
    if dtype.itemsize == 0:
        raise DTypeMismatchError(f"dtype {dtype} has no size: give it one (such as '<U8' or 'S16')")
    if dtype.subdtype is not None:
        raise DTypeMismatchError(
            f"dtype {dtype} is a subarray dtype, which numpy expands into the array's shape: use the dtype "
            f"{dtype.subdtype[0]} and add the dimensions {dtype.subdtype[1]} to the shape"
        )
    return repr(np.lib.format.dtype_to_descr(dtype))


def record_dtype(text: str, itemsize: int, name: str) -> np.dtype:
    """The numpy dtype of the descriptor ``text`` that the array ``name`` records (:func:`record_descr`), checked
    against the item size the region holds.

    Raises :class:`~seqring.errors.DTypeMismatchError` if numpy cannot read it or it disagrees with the item size.
    """
    try:
        dtype = np.lib.format.descr_to_dtype(ast.literal_eval(text))
    except (ValueError, TypeError, SyntaxError, KeyError, IndexError, MemoryError, RecursionError) as e:
        raise DTypeMismatchError(f"array {name} records the dtype descriptor {text!r}, which numpy cannot read: {e}")
    if dtype.itemsize != itemsize or dtype.hasobject:
        raise DTypeMismatchError(
            f"array {name} records the dtype descriptor {text!r}, whose item size {dtype.itemsize} is not the "
            f"region's {itemsize}"
        )
    return dtype


def to_dtype(value: object, dtype: np.dtype, name: str) -> np.ndarray:
    """``value`` as a C-contiguous array of ``dtype``, converted only if every value survives the conversion
    (``[1, 2]`` into ``uint8`` does; ``1.5`` into ``int32`` or ``300`` into ``uint8`` does not). Floats round to a
    narrower float type (``0.1`` into ``float32``), as long as no finite value overflows to infinity.

    Raises :class:`~seqring.errors.DTypeMismatchError` naming the array ``name`` otherwise.
    """
    # np.asarray(order="C") keeps 0-d values 0-d (np.ascontiguousarray would make them 1-d).
    if dtype.fields is not None or dtype.kind in "USVMm":
        # Records, strings and datetimes: numpy's own assignment rules (a tuple fills a record's fields, a str a
        # string element, truncated to its size as numpy truncates it).
        try:
            return np.asarray(value, dtype=dtype, order="C")
        except (TypeError, ValueError, OverflowError) as e:
            raise DTypeMismatchError(f"array {name} holds {dtype} elements, which cannot hold {value!r}: {e}")
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
