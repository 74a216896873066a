//! Raw access to numpy arrays' memory: new arrays and scalars and the bytes of given arrays for the hot paths of
//! `SharedArray` and `Producer`, and zero-copy views of a log archive's map ([`ViewMaker`]). The one place this
//! crate uses numpy's C API directly.
//!
//! Invariants: every function here runs with the GIL held; a byte slice handed out borrows the array object, so
//! the array cannot be freed while it lives, and the callers use it without running any Python code (so no
//! Python code can resize, free or write the buffer meanwhile). Callers that release the GIL copy first, except a
//! producer logging a payload under the wait policy: the array stays alive and in place (its caller holds it, and
//! numpy refuses to resize a referenced array, except through `resize(refcheck=False)`, which numpy documents as
//! unsafe), and another thread writing it can only change the bytes logged.

use numpy::npyffi::{self, npy_intp, NPY_TYPES, PY_ARRAY_API};
use numpy::{PyArrayDescr, PyArrayDescrMethods, PyUntypedArray, PyUntypedArrayMethods};
use pyo3::ffi;
use pyo3::prelude::*;
use std::ops::Range;
use std::os::raw::c_void;

/// The fields of `array`'s object.
fn fields(array: &Bound<'_, PyUntypedArray>) -> *mut npyffi::PyArrayObject_fields {
    // SAFETY: `array` is a live ndarray (its type was checked by the cast that produced it) and the GIL is held.
    unsafe { npyffi::_PyArray_GET_ITEM_DATA(array.as_array_ptr()) }
}

fn nbytes(array: &Bound<'_, PyUntypedArray>) -> usize {
    array.len() * array.dtype().itemsize()
}

/// A new uninitialised C-contiguous array of `descr` and `shape` (numpy's `np.empty`).
pub(crate) fn empty<'py>(
    py: Python<'py>,
    descr: &Bound<'py, PyArrayDescr>,
    shape: &[u64],
) -> PyResult<Bound<'py, PyUntypedArray>> {
    // The extents on the stack for the shapes seqring makes (at most 8 dimensions): no allocation per array.
    let mut small = [0 as npy_intp; 8];
    let mut large = Vec::new();
    let dims: &mut [npy_intp] = if shape.len() <= small.len() {
        &mut small[..shape.len()]
    } else {
        large.resize(shape.len(), 0);
        &mut large
    };
    dims.iter_mut().zip(shape).for_each(|(d, &s)| *d = s as npy_intp);
    // SAFETY: the GIL is held; `dims` holds `dims.len()` extents; PyArray_Empty steals the reference
    // `into_dtype_ptr` hands over, and returns a new reference or NULL with an exception set.
    let ptr = unsafe {
        PY_ARRAY_API.PyArray_Empty(
            py,
            dims.len() as i32,
            dims.as_mut_ptr(),
            descr.clone().into_dtype_ptr(),
            0,
        )
    };
    // SAFETY: `ptr` is a new (owned) reference or NULL.
    let any = unsafe { Bound::from_owned_ptr_or_err(py, ptr)? };
    Ok(any.cast_into::<PyUntypedArray>()?)
}

/// The bytes of a C-contiguous array, or `None` if it is not C-contiguous.
pub(crate) fn bytes<'a>(array: &'a Bound<'_, PyUntypedArray>) -> Option<&'a [u8]> {
    if !array.is_c_contiguous() {
        return None;
    }
    let len = nbytes(array);
    if len == 0 {
        return Some(&[]);
    }
    // SAFETY: a C-contiguous array's `len` data bytes start at `data`; the borrow of `array` keeps it alive and
    // the module invariant (no Python code runs while the slice lives) keeps the buffer unchanged and in place.
    Some(unsafe { std::slice::from_raw_parts((*fields(array)).data.cast::<u8>(), len) })
}

/// Runs `f` on the bytes of a C-contiguous writeable array; `None` (without running it) if the array is not both.
///
/// `f` must not reach the same array through this module again (the slice is the only reference to its bytes);
/// the callers' closures only copy into it.
pub(crate) fn with_bytes_mut<R>(array: &Bound<'_, PyUntypedArray>, f: impl FnOnce(&mut [u8]) -> R) -> Option<R> {
    let fields = fields(array);
    // SAFETY: `fields` points at the live array's fields (see `fields`).
    let writeable = unsafe { (*fields).flags } & npyffi::NPY_ARRAY_WRITEABLE != 0;
    if !writeable || !array.is_c_contiguous() {
        return None;
    }
    let len = nbytes(array);
    if len == 0 {
        return Some(f(&mut []));
    }
    // SAFETY: as in `bytes`, and the array is writeable; the slice cannot outlive `f`, which (by this function's
    // contract) holds the only reference to these bytes and runs no Python code.
    let bytes = unsafe { std::slice::from_raw_parts_mut((*fields).data.cast::<u8>(), len) };
    Some(f(bytes))
}

/// Runs `f` on the `nbytes` data bytes of `array` if its object shows exactly the descriptor object `descr`, the
/// extents `shape` and the flags C-contiguous and writeable; `None` (without running it) otherwise. The check reads
/// the object's fields alone, with no call into numpy: it is for buffers made from `descr` (compat's blocks), and
/// anything else takes the caller's general path.
///
/// `f` is bound as in [`with_bytes_mut`].
///
/// # Safety
/// `nbytes` is numpy's item size of `descr` times the product of `shape`.
pub(crate) unsafe fn with_exact_bytes_mut<R>(
    array: &Bound<'_, PyUntypedArray>,
    descr: &Bound<'_, PyArrayDescr>,
    shape: &[u64],
    nbytes: usize,
    f: impl FnOnce(&mut [u8]) -> R,
) -> Option<R> {
    const FLAGS: i32 = npyffi::NPY_ARRAY_C_CONTIGUOUS | npyffi::NPY_ARRAY_WRITEABLE;
    let fields = fields(array);
    // SAFETY: `fields` points at the live array's fields (see `fields`); `dimensions` holds `nd` extents.
    let exact = unsafe {
        let fields = &*fields;
        fields.flags & FLAGS == FLAGS
            && std::ptr::eq(fields.descr, descr.as_dtype_ptr())
            && usize::try_from(fields.nd).ok() == Some(shape.len())
            && (shape.is_empty()
                || std::slice::from_raw_parts(fields.dimensions, shape.len())
                    .iter()
                    .zip(shape)
                    .all(|(&d, &s)| d as u64 == s))
    };
    if !exact {
        return None;
    }
    if nbytes == 0 {
        return Some(f(&mut []));
    }
    // SAFETY: a C-contiguous writeable array of `descr` and `shape` has `nbytes` data bytes at `data` (this
    // function's contract); the rest as in `with_bytes_mut`.
    let bytes = unsafe { std::slice::from_raw_parts_mut((*fields).data.cast::<u8>(), nbytes) };
    Some(f(bytes))
}

/// The numpy scalar of `descr` whose bytes are `item` (`item.len()` is `descr`'s itemsize, at most 16).
pub(crate) fn scalar<'py>(
    py: Python<'py>,
    descr: &Bound<'py, PyArrayDescr>,
    item: &[u8],
) -> PyResult<Bound<'py, PyAny>> {
    /// An item's bytes, aligned for any numeric C type.
    #[repr(C, align(16))]
    struct Item([u8; 16]);
    // An aligned copy: numpy reads the item as its C type.
    let mut aligned = Item([0; 16]);
    aligned.0[..item.len()].copy_from_slice(item);
    // SAFETY: the GIL is held; `aligned` holds an item of `descr` (a plain numeric type: no base object needed);
    // PyArray_Scalar copies it and does not steal `descr`; it returns a new reference or NULL with an exception.
    let ptr = unsafe {
        PY_ARRAY_API.PyArray_Scalar(
            py,
            aligned.0.as_mut_ptr().cast::<c_void>(),
            descr.as_dtype_ptr(),
            std::ptr::null_mut(),
        )
    };
    // SAFETY: `ptr` is a new (owned) reference or NULL.
    unsafe { Bound::from_owned_ptr_or_err(py, ptr) }
}

/// Builds read-only `uint8` views of byte ranges of memory a Python object owns (a log archive's map), each with
/// that object as its numpy base, so the memory outlives every view.
pub(crate) struct ViewMaker<'py> {
    py: Python<'py>,
    array_type: *mut ffi::PyTypeObject,
    descr: *mut npyffi::PyArray_Descr,
    base: *mut ffi::PyObject,
    /// The addresses of the bytes `base` owns; every view lies inside them.
    owned: Range<usize>,
}

impl<'py> ViewMaker<'py> {
    /// A maker of views of `owned` (byte addresses) with `base` as their numpy base.
    ///
    /// # Safety
    /// The bytes at `owned` must stay allocated, unmoved and unchanged for as long as `base` lives.
    pub(crate) unsafe fn new(base: &Bound<'py, PyAny>, owned: Range<usize>) -> PyResult<Self> {
        let py = base.py();
        // SAFETY: the GIL is held (`py`); numpy's API table is initialised by `PY_ARRAY_API` on first use (it
        // imports numpy and raises rather than returning garbage); the type object pointer is a static of numpy.
        let array_type = unsafe { npyffi::get_type_object(py, npyffi::NpyTypes::PyArray_Type) };
        // SAFETY: the GIL is held; the call returns a new reference (or null with an exception set).
        let descr = unsafe { PY_ARRAY_API.PyArray_DescrFromType(py, NPY_TYPES::NPY_UBYTE as _) };
        if descr.is_null() {
            return Err(PyErr::fetch(py));
        }
        Ok(ViewMaker {
            py,
            array_type,
            descr,
            base: base.as_ptr(),
            owned,
        })
    }

    /// A new reference to a read-only view of the `len` bytes at address `start`, which lie in `owned`.
    fn view_at(&self, start: usize, len: usize) -> PyResult<*mut ffi::PyObject> {
        // numpy allocates a buffer of its own for a null data pointer (the span of an archive without payloads):
        // that empty view gets a dangling one instead.
        let start = if start == 0 {
            std::ptr::NonNull::<u8>::dangling().as_ptr() as usize
        } else {
            start
        };
        let mut dims = len as npy_intp;
        // SAFETY: the GIL is held. `PyArray_NewFromDescr` steals one reference to `descr`, so one is added first;
        // the bytes lie in `owned`, which lives (and does not move or change) as long as `base` (`new`'s contract),
        // and the view holds a reference to `base` (below); flags 0 make it read-only; `dims` is read during the
        // call only.
        let arr = unsafe {
            ffi::Py_INCREF(self.descr.cast());
            PY_ARRAY_API.PyArray_NewFromDescr(
                self.py,
                self.array_type,
                self.descr,
                1,
                &mut dims,
                std::ptr::null_mut(),
                start as *mut c_void,
                0,
                std::ptr::null_mut(),
            )
        };
        if arr.is_null() {
            return Err(PyErr::fetch(self.py));
        }
        // SAFETY: the GIL is held; `arr` is a new ndarray; `PyArray_SetBaseObject` steals one reference to `base`
        // (also on failure), so one is added first; on failure `arr` is released and the exception fetched.
        unsafe {
            ffi::Py_INCREF(self.base);
            if PY_ARRAY_API.PyArray_SetBaseObject(self.py, arr.cast(), self.base) < 0 {
                ffi::Py_DECREF(arr);
                return Err(PyErr::fetch(self.py));
            }
        }
        Ok(arr)
    }

    /// A new reference to a read-only view of `bytes`; an error (never a view) if they do not lie in `owned`.
    pub(crate) fn view(&self, bytes: &[u8]) -> PyResult<*mut ffi::PyObject> {
        let start = bytes.as_ptr() as usize;
        let inside = self.owned.start <= start && start + bytes.len() <= self.owned.end;
        if !inside && !bytes.is_empty() {
            return Err(pyo3::exceptions::PyRuntimeError::new_err(
                "a payload outside its archive's map (a seqring bug)",
            ));
        }
        self.view_at(start, bytes.len())
    }

    /// `view` as an owned object.
    pub(crate) fn bound(&self, bytes: &[u8]) -> PyResult<Bound<'py, PyAny>> {
        // SAFETY: `view` returned a new, non-null reference.
        self.view(bytes).map(|p| unsafe { Bound::from_owned_ptr(self.py, p) })
    }

    /// A view of all of `owned`.
    pub(crate) fn whole(&self) -> PyResult<Bound<'py, PyAny>> {
        let p = self.view_at(self.owned.start, self.owned.end - self.owned.start)?;
        // SAFETY: `view_at` returned a new, non-null reference.
        Ok(unsafe { Bound::from_owned_ptr(self.py, p) })
    }
}

impl Drop for ViewMaker<'_> {
    fn drop(&mut self) {
        // SAFETY: the GIL is held (the maker borrows `py`); `descr` is the reference `new` obtained.
        unsafe { ffi::Py_DECREF(self.descr.cast()) };
    }
}
