//! How Python's dtypes, shapes, index keys and values become seqring's dtypes, shapes, element offsets and element
//! bytes, for `SharedArray` (the numpy-side rules live in `seqring/_convert.py`, called from here).
//!
//! Invariants: nothing here touches shared memory; every refusal is a `seqring.errors` exception (or `None`, which
//! sends the caller to numpy's own rules on a consistent copy).

use crate::errors::{raise, Kind};
use numpy::{PyArrayDescr, PyArrayDescrMethods, PyUntypedArray};
use pyo3::prelude::*;
use pyo3::sync::PyOnceLock;
use pyo3::types::{PyBool, PyFloat, PyInt, PyList, PySlice, PyTuple};
use seqring_core::DType;

/// The seqring dtype and numpy descriptor of the dtype-like `dtype` (`np.float64`, `"<f8"`, `"<U8"`, ...): a plain
/// dtype for bool and little-endian ints, floats and complex, a [`DType::Record`] of the item size for any other
/// (its description is [`record_descr`]).
pub(crate) fn descr_of<'py>(py: Python<'py>, dtype: &Bound<'py, PyAny>) -> PyResult<(DType, Bound<'py, PyArrayDescr>)> {
    let descr = PyArrayDescr::new(py, dtype)
        .map_err(|e| raise(Kind::DTypeMismatch, format!("{dtype} is not a numpy dtype: {e}")))?;
    let text: String = descr.getattr("str")?.extract()?;
    if let Some(plain) = DType::from_descr(&text).filter(|_| !descr.has_fields() && !descr.has_subarray()) {
        return Ok((plain, descr));
    }
    let itemsize = u32::try_from(descr.itemsize())
        .map_err(|_| raise(Kind::DTypeMismatch, format!("dtype {descr} has elements over 4 GiB")))?;
    Ok((DType::Record { itemsize }, descr))
}

/// The descriptor text a region records for the record dtype `descr` (`repr(dtype_to_descr(descr))`, see
/// `seqring._convert.record_descr`), or a `DTypeMismatchError` for a dtype that cannot be shared (objects, zero
/// size, a subarray dtype).
pub(crate) fn record_descr(py: Python<'_>, descr: &Bound<'_, PyArrayDescr>) -> PyResult<String> {
    static RECORD_DESCR: PyOnceLock<Py<PyAny>> = PyOnceLock::new();
    let f = RECORD_DESCR.import(py, "seqring._convert", "record_descr")?;
    f.call1((descr,))?.extract()
}

/// The numpy dtype of the descriptor `text` recorded by the array `name`, whose elements have `itemsize` bytes
/// (`seqring._convert.record_dtype`), or a `DTypeMismatchError` if numpy cannot read it or the size disagrees.
pub(crate) fn record_dtype<'py>(
    py: Python<'py>,
    text: &str,
    itemsize: usize,
    name: &str,
) -> PyResult<Bound<'py, PyArrayDescr>> {
    static RECORD_DTYPE: PyOnceLock<Py<PyAny>> = PyOnceLock::new();
    let f = RECORD_DTYPE.import(py, "seqring._convert", "record_dtype")?;
    Ok(f.call1((text, itemsize, name))?.cast_into::<PyArrayDescr>()?)
}

/// The shape given as an int or a sequence of non-negative ints.
pub(crate) fn shape_of(shape: &Bound<'_, PyAny>) -> PyResult<Vec<u64>> {
    let dims: Vec<i64> = match shape.extract::<i64>() {
        Ok(n) => vec![n],
        Err(_) => shape.extract().map_err(|_| {
            raise(
                Kind::Shape,
                format!("shape {shape} is not an int or a sequence of ints"),
            )
        })?,
    };
    dims.iter()
        .map(|&d| u64::try_from(d).map_err(|_| raise(Kind::Shape, format!("shape {dims:?} has a negative dimension"))))
        .collect()
}

/// The row-major element index of `key` when it is one int per dimension, inside `shape`; `None` for any other key
/// (numpy then interprets it on a consistent copy).
pub(crate) fn flat_index(key: &Bound<'_, PyAny>, shape: &[u64]) -> Option<usize> {
    // The commonest key first, on its own: an int into a 1-d array.
    if let ([len], true) = (shape, key.is_exact_instance_of::<PyInt>()) {
        return usize::try_from(in_bounds(exact_int(key)?, *len)?).ok();
    }
    let one = |k: &Bound<'_, PyAny>| -> Option<i64> {
        if k.is_exact_instance_of::<PyInt>() {
            return exact_int(k); // (a bool is not exactly an int)
        }
        // Keys that are certainly not ints go on without a failed conversion (which builds an exception).
        let not_int = k.is_instance_of::<PyBool>()
            || k.is_instance_of::<PySlice>()
            || k.is_instance_of::<PyList>()
            || k.is_none()
            || k.is(k.py().Ellipsis())
            || k.cast::<PyUntypedArray>().is_ok();
        if not_int {
            return None;
        }
        k.extract::<i64>().ok()
    };
    let flat = match key.cast::<PyTuple>() {
        Ok(t) if t.len() == shape.len() => {
            let mut flat: u64 = 0;
            for (k, &d) in t.iter().zip(shape) {
                flat = flat.checked_mul(d)?.checked_add(in_bounds(one(&k)?, d)?)?;
            }
            flat
        }
        Err(_) if shape.len() == 1 => in_bounds(one(key)?, shape[0])?,
        _ => return None,
    };
    usize::try_from(flat).ok()
}

/// The value of `int`, an exact `int` (checked by the caller), if it fits an `i64`: `int.extract::<i64>()` without
/// pyo3's generic path (an index is parsed on every `a[i]` and `a[i] = v`).
fn exact_int(int: &Bound<'_, PyAny>) -> Option<i64> {
    debug_assert!(int.is_exact_instance_of::<PyInt>());
    let mut overflow = 0;
    // SAFETY: the GIL is held (`int` is bound) and `int` is a live exact int: PyLong_AsLongLongAndOverflow runs no
    // Python code (no `__index__` for an exact int) and, for an int, sets no exception (an overflow sets `overflow`).
    let value = unsafe { pyo3::ffi::PyLong_AsLongLongAndOverflow(int.as_ptr(), &mut overflow) };
    if overflow != 0 || (value == -1 && PyErr::take(int.py()).is_some()) {
        return None;
    }
    Some(value)
}

/// The index `i` (negative: from the end) of a dimension of `len`, if it lies inside it.
fn in_bounds(i: i64, len: u64) -> Option<u64> {
    let i = if i < 0 {
        i.checked_add(i64::try_from(len).ok()?)?
    } else {
        i
    };
    u64::try_from(i).ok().filter(|&i| i < len)
}

/// `value` as a C-contiguous array of `descr` (the lossless conversion of `seqring._convert.to_dtype`).
pub(crate) fn converted<'py>(
    py: Python<'py>,
    value: &Bound<'py, PyAny>,
    descr: &Bound<'py, PyArrayDescr>,
    name: &str,
) -> PyResult<Bound<'py, PyUntypedArray>> {
    static TO_DTYPE: PyOnceLock<Py<PyAny>> = PyOnceLock::new();
    let to_dtype = TO_DTYPE.import(py, "seqring._convert", "to_dtype")?;
    Ok(to_dtype.call1((value, descr, name))?.cast_into::<PyUntypedArray>()?)
}

/// A numpy shape as seqring extents.
pub(crate) fn as_u64(shape: &[usize]) -> impl Iterator<Item = u64> + '_ {
    shape.iter().map(|&d| d as u64)
}

/// The bytes of the Python `bool`, `int` or `float` `value` as an element of `dtype`, when it converts without
/// loss in the common cases handled here; `None` sends the value to numpy's conversion.
pub(crate) fn python_scalar(value: &Bound<'_, PyAny>, dtype: DType) -> Option<([u8; 16], usize)> {
    let mut out = [0u8; 16];
    let mut put = |bytes: &[u8]| {
        out[..bytes.len()].copy_from_slice(bytes);
        Some(bytes.len())
    };
    let len = if value.is_instance_of::<PyBool>() {
        match dtype {
            DType::Bool => put(&[u8::from(value.is_truthy().ok()?)]),
            _ => None,
        }
    } else if let Ok(x) = value.cast::<PyFloat>() {
        let x = x.value();
        match dtype {
            DType::F64 => put(&x.to_le_bytes()),
            // Rounds, as numpy does, unless a finite value would overflow to infinity.
            DType::F32 if (x as f32).is_finite() == x.is_finite() => put(&(x as f32).to_le_bytes()),
            _ => None,
        }
    } else if value.is_instance_of::<PyInt>() {
        let x: i64 = value.extract().ok()?;
        // An i64 converts to a float exactly when it survives the round trip (|x| < 2^53 always does).
        let exact = |f: f64| f as i64 == x && f.abs() < 9.2e18;
        match dtype {
            DType::I8 => put(&i8::try_from(x).ok()?.to_le_bytes()),
            DType::I16 => put(&i16::try_from(x).ok()?.to_le_bytes()),
            DType::I32 => put(&i32::try_from(x).ok()?.to_le_bytes()),
            DType::I64 => put(&x.to_le_bytes()),
            DType::U8 => put(&u8::try_from(x).ok()?.to_le_bytes()),
            DType::U16 => put(&u16::try_from(x).ok()?.to_le_bytes()),
            DType::U32 => put(&u32::try_from(x).ok()?.to_le_bytes()),
            DType::U64 => put(&u64::try_from(x).ok()?.to_le_bytes()),
            DType::F64 if exact(x as f64) => put(&(x as f64).to_le_bytes()),
            DType::F32 if exact(f64::from(x as f32)) => put(&(x as f32).to_le_bytes()),
            _ => None,
        }
    } else {
        None
    }?;
    Some((out, len))
}
