//! The raw entry of `_CompatBase.array(*, with_lock=True)`: a `METH_FASTCALL | METH_KEYWORDS` C function that
//! parses the calls `array()`, `array(with_lock=True)` and `array(with_lock=False)` itself (pyo3's argument parser
//! decodes every keyword's name to UTF-8 and compares strings: about 370 instructions, a sixth of a whole
//! `with arr.array(with_lock=False): ...` block's native work) and hands every other call to pyo3's method,
//! unchanged (its errors and conversions are pyo3's).
//!
//! Invariants:
//! - [`install`] replaces the class attribute `array` with a method descriptor of [`array_fast`] and keeps pyo3's
//!   descriptor ([`SLOW`]); both have the same name, text signature and documentation;
//! - [`array_fast`] runs only as a method of `_CompatBase` (the descriptor checks `self`'s type before calling it),
//!   with the GIL held; it never unwinds into CPython (a panic becomes a `PanicException`);
//! - it takes only `nargs == 0` with no keyword or the one keyword `with_lock` bound to `True` or `False` itself;
//!   anything else goes to [`SLOW`] with the same arguments.

use crate::compat::CompatBase;
use pyo3::ffi;
use pyo3::prelude::*;
use pyo3::sync::PyOnceLock;
use pyo3::types::{PyDict, PyTuple};
use std::ffi::CString;

/// pyo3's descriptor of `_CompatBase.array`: what every call the fast path does not take goes to.
static SLOW: PyOnceLock<Py<PyAny>> = PyOnceLock::new();

/// Replaces `_CompatBase.array` with the descriptor of [`array_fast`] (see the module invariants).
pub(crate) fn install(ty: &Bound<'_, pyo3::types::PyType>) -> PyResult<()> {
    let py = ty.py();
    let slow = ty.getattr("array")?;
    let signature: String = slow.getattr("__text_signature__")?.extract()?;
    let doc: String = slow.getattr("__doc__")?.extract().unwrap_or_default();
    let doc = CString::new(format!("array{signature}\n--\n\n{doc}"))?;
    let _ = SLOW.set(py, slow.unbind());
    // The definition lives as long as the process (descriptors keep a pointer to it): leaked once per import.
    let def = Box::leak(Box::new(ffi::PyMethodDef {
        ml_name: c"array".as_ptr(),
        ml_meth: ffi::PyMethodDefPointer {
            PyCFunctionFastWithKeywords: array_fast,
        },
        ml_flags: ffi::METH_FASTCALL | ffi::METH_KEYWORDS,
        ml_doc: doc.into_raw(),
    }));
    // SAFETY: the GIL is held; `ty` is a live type object and `def` a valid definition that outlives it;
    // PyDescr_NewMethod returns a new reference or NULL with an exception set.
    let descr =
        unsafe { Bound::from_owned_ptr_or_err(py, ffi::PyDescr_NewMethod(ty.as_type_ptr(), std::ptr::from_mut(def)))? };
    ty.setattr("array", descr)
}

/// `with_lock` of a call the fast path takes, else `None`.
///
/// # Safety
/// The GIL is held; `args` holds `nargs` positional arguments followed by one value per name of `kwnames` (a
/// tuple of str, or NULL), as CPython's vectorcall protocol passes them.
unsafe fn fast_with_lock(
    py: Python<'_>,
    args: *const *mut ffi::PyObject,
    nargs: ffi::Py_ssize_t,
    kwnames: *mut ffi::PyObject,
) -> Option<bool> {
    if nargs != 0 {
        return None;
    }
    if kwnames.is_null() {
        return Some(true);
    }
    // SAFETY: `kwnames` is a live tuple (the caller's contract: the vectorcall protocol passes the keyword names
    // as a tuple), borrowed for this call.
    let names = unsafe { Borrowed::from_ptr(py, kwnames).cast_unchecked::<PyTuple>() };
    if names.len() != 1 {
        return None;
    }
    let name = names.get_borrowed_item(0).ok()?;
    // Keyword names at call sites are interned: the identity test decides, the comparison covers the rest.
    if !name.is(pyo3::intern!(py, "with_lock")) && !name.eq("with_lock").unwrap_or(false) {
        return None;
    }
    // SAFETY: with no positional argument, `args[0]` is the value of the one keyword (the caller's contract).
    let value = unsafe { *args };
    // SAFETY: the GIL is held; Py_True and Py_False are immortal singletons.
    let (yes, no) = unsafe { (ffi::Py_True(), ffi::Py_False()) };
    match value {
        v if v == yes => Some(true),
        v if v == no => Some(false),
        _ => None,
    }
}

/// Calls pyo3's `array` descriptor with `self` and the arguments as given.
///
/// # Safety
/// As [`fast_with_lock`]; `slf` is a live object.
unsafe fn slow<'py>(
    py: Python<'py>,
    slf: *mut ffi::PyObject,
    args: *const *mut ffi::PyObject,
    nargs: ffi::Py_ssize_t,
    kwnames: *mut ffi::PyObject,
) -> PyResult<Bound<'py, PyAny>> {
    let names = if kwnames.is_null() {
        None
    } else {
        // SAFETY: `kwnames` is a live tuple (the caller's contract).
        Some(unsafe { Borrowed::from_ptr(py, kwnames) }.cast::<PyTuple>()?.to_owned())
    };
    let total = nargs as usize + names.as_ref().map_or(0, |n| n.len());
    // SAFETY: `args` holds `total` live objects (the caller's contract); `slf` is live.
    let (values, slf) = unsafe { (std::slice::from_raw_parts(args, total), Borrowed::from_ptr(py, slf)) };
    // SAFETY: each pointer is a live object, borrowed for this call.
    let value = |p: *mut ffi::PyObject| unsafe { Borrowed::from_ptr(py, p) };
    let positional: Vec<_> = std::iter::once(slf)
        .chain(values[..nargs as usize].iter().map(|&p| value(p)))
        .collect();
    let positional = PyTuple::new(py, positional)?;
    let keywords = PyDict::new(py);
    if let Some(names) = names {
        for (name, &p) in names.iter().zip(&values[nargs as usize..]) {
            keywords.set_item(name, value(p))?;
        }
    }
    let slow = SLOW
        .get(py)
        .ok_or_else(|| pyo3::exceptions::PyRuntimeError::new_err("_CompatBase.array is not installed"))?;
    slow.bind(py).call(positional, Some(&keywords))
}

/// The C function behind `_CompatBase.array` (see the module documentation).
unsafe extern "C" fn array_fast(
    slf: *mut ffi::PyObject,
    args: *const *mut ffi::PyObject,
    nargs: ffi::Py_ssize_t,
    kwnames: *mut ffi::PyObject,
) -> *mut ffi::PyObject {
    // SAFETY: CPython calls a method's C function with the GIL held.
    let py = unsafe { Python::assume_attached() };
    let call = std::panic::AssertUnwindSafe(|| -> PyResult<Bound<'_, PyAny>> {
        // SAFETY: CPython passes the vectorcall arguments as `fast_with_lock` and `slow` require, and a live
        // `self` that the method descriptor checked is a `_CompatBase`.
        unsafe {
            match fast_with_lock(py, args, nargs, kwnames) {
                Some(with_lock) => {
                    // The descriptor checked the type (module invariants): no second, MRO-walking check.
                    let this = Borrowed::from_ptr(py, slf).cast_unchecked::<CompatBase>();
                    CompatBase::array(&this, with_lock)
                }
                None => slow(py, slf, args, nargs, kwnames),
            }
        }
    });
    let result = std::panic::catch_unwind(call)
        .unwrap_or_else(|_| Err(pyo3::panic::PanicException::new_err("_CompatBase.array panicked")));
    match result {
        Ok(object) => object.into_ptr(),
        Err(e) => {
            e.restore(py);
            std::ptr::null_mut()
        }
    }
}
