//! Raw entries of two hot methods: `_CompatBase.array(*, with_lock=True)` and `SharedArray.read(out=None)`, each a
//! `METH_FASTCALL | METH_KEYWORDS` C function that parses its commonest calls itself and hands every other call to
//! pyo3's method, unchanged (its errors and conversions are pyo3's). pyo3's argument parser decodes every keyword's
//! name to UTF-8 and compares strings: about 340–370 instructions per call with a keyword, a sixth of a whole
//! `with arr.array(with_lock=False): ...` block's native work and a third of a `read(out=buf)`.
//!
//! Invariants:
//! - [`install`] replaces a class attribute with a method descriptor of the raw function and keeps pyo3's
//!   descriptor (in the method's [`Raw::slow`]); both have the same name, text signature and documentation;
//! - a raw function runs only as a method of its class (the method descriptor checks `self`'s type before calling
//!   it), with the GIL held; it never unwinds into CPython (a panic becomes a `PanicException`);
//! - it takes only the calls [`one_argument`] recognises (no argument, or the one argument by its keyword, or
//!   positionally where the method allows it), and for `array` only `True` or `False` themselves; anything else goes
//!   to the slow descriptor with the same arguments.

use crate::array::SharedArray;
use crate::compat::CompatBase;
use pyo3::ffi;
use pyo3::prelude::*;
use pyo3::sync::{Interned, PyOnceLock};
use pyo3::types::{PyDict, PyString, PyTuple};
use std::ffi::{CStr, CString};

/// One method with a raw entry.
struct Raw {
    name: &'static CStr,
    /// The keyword of its one argument.
    keyword: Interned,
    /// Whether that argument may also be given by position.
    positional: bool,
    /// pyo3's descriptor of the method: what every call the raw entry does not take goes to.
    slow: PyOnceLock<Py<PyAny>>,
}

static ARRAY: Raw = Raw {
    name: c"array",
    keyword: Interned::new("with_lock"),
    positional: false,
    slow: PyOnceLock::new(),
};

static READ: Raw = Raw {
    name: c"read",
    keyword: Interned::new("out"),
    positional: true,
    slow: PyOnceLock::new(),
};

/// Installs the raw entries: `_CompatBase.array` and `SharedArray.read` (see the module invariants).
pub(crate) fn install(py: Python<'_>) -> PyResult<()> {
    install_one(&py.get_type::<CompatBase>(), &ARRAY, array_fast)?;
    install_one(&py.get_type::<SharedArray>(), &READ, read_fast)
}

/// Replaces `ty`'s attribute `method.name` with a method descriptor of `fast`, keeping pyo3's in `method.slow`.
fn install_one(
    ty: &Bound<'_, pyo3::types::PyType>,
    method: &'static Raw,
    fast: ffi::PyCFunctionFastWithKeywords,
) -> PyResult<()> {
    let py = ty.py();
    let name = method
        .name
        .to_str()
        .map_err(|e| pyo3::exceptions::PyValueError::new_err(e.to_string()))?;
    let slow = ty.getattr(name)?;
    let signature: String = slow.getattr("__text_signature__")?.extract()?;
    let doc: String = slow.getattr("__doc__")?.extract().unwrap_or_default();
    let doc = CString::new(format!("{name}{signature}\n--\n\n{doc}"))?;
    let _ = method.slow.set(py, slow.unbind());
    // The definition lives as long as the process (descriptors keep a pointer to it): leaked once per import.
    let def = Box::leak(Box::new(ffi::PyMethodDef {
        ml_name: method.name.as_ptr(),
        ml_meth: ffi::PyMethodDefPointer {
            PyCFunctionFastWithKeywords: fast,
        },
        ml_flags: ffi::METH_FASTCALL | ffi::METH_KEYWORDS,
        ml_doc: doc.into_raw(),
    }));
    // SAFETY: the GIL is held; `ty` is a live type object and `def` a valid definition that outlives it;
    // PyDescr_NewMethod returns a new reference or NULL with an exception set.
    let descr =
        unsafe { Bound::from_owned_ptr_or_err(py, ffi::PyDescr_NewMethod(ty.as_type_ptr(), std::ptr::from_mut(def)))? };
    ty.setattr(name, descr)
}

/// The argument of a call with at most one: `Some(None)` for no argument, `Some(Some(value))` for one given by
/// the keyword `keyword` (an interned name) or, with `positional`, by position; `None` for every other call.
///
/// # Safety
/// The GIL is held; `args` holds `nargs` positional arguments followed by one value per name of `kwnames` (a
/// tuple of str, or NULL), as CPython's vectorcall protocol passes them.
#[inline(always)]
unsafe fn one_argument(
    py: Python<'_>,
    args: *const *mut ffi::PyObject,
    nargs: ffi::Py_ssize_t,
    kwnames: *mut ffi::PyObject,
    keyword: &Bound<'_, PyString>,
    positional: bool,
) -> Option<Option<*mut ffi::PyObject>> {
    let keywords = if kwnames.is_null() {
        0
    } else {
        // SAFETY: `kwnames` is a live tuple (the caller's contract: the vectorcall protocol passes the keyword
        // names as a tuple), borrowed for this call.
        let names = unsafe { Borrowed::from_ptr(py, kwnames).cast_unchecked::<PyTuple>() };
        if names.len() != 1 {
            return None;
        }
        let name = names.get_borrowed_item(0).ok()?;
        // Keyword names at call sites are interned: the identity test decides, the comparison covers the rest.
        if !name.is(keyword) && !name.eq(keyword).unwrap_or(false) {
            return None;
        }
        1
    };
    match (nargs, keywords) {
        (0, 0) => Some(None),
        // SAFETY: one argument, the one keyword's value or the one positional: `args[0]` (the caller's contract).
        (0, 1) | (1, 0) if keywords == 1 || positional => Some(Some(unsafe { *args })),
        _ => None,
    }
}

/// Calls `method`'s pyo3 descriptor with `self` and the arguments as given.
///
/// # Safety
/// As [`one_argument`]; `slf` is a live object.
unsafe fn slow<'py>(
    py: Python<'py>,
    method: &Raw,
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
    let slow = method
        .slow
        .get(py)
        .ok_or_else(|| pyo3::exceptions::PyRuntimeError::new_err(format!("{:?} is not installed", method.name)))?;
    slow.bind(py).call(positional, Some(&keywords))
}

/// The body of a raw entry: `fast` on the call's one argument if [`one_argument`] takes the call (by `method`'s
/// keyword, or by position where it allows) and `fast` accepts it, else `method`'s slow descriptor. A panic becomes
/// a `PanicException`; an error is restored and NULL returned.
///
/// # Safety
/// As [`slow`], with the GIL held.
unsafe fn entry(
    method: &Raw,
    slf: *mut ffi::PyObject,
    args: *const *mut ffi::PyObject,
    nargs: ffi::Py_ssize_t,
    kwnames: *mut ffi::PyObject,
    fast: impl for<'py> FnOnce(Python<'py>, Option<*mut ffi::PyObject>) -> Option<PyResult<Bound<'py, PyAny>>>,
) -> *mut ffi::PyObject {
    // SAFETY: CPython calls a method's C function with the GIL held.
    let py = unsafe { Python::assume_attached() };
    let call = std::panic::AssertUnwindSafe(|| -> PyResult<Bound<'_, PyAny>> {
        // SAFETY: CPython passes the vectorcall arguments as `one_argument` and `slow` require.
        let taken = unsafe { one_argument(py, args, nargs, kwnames, method.keyword.get(py), method.positional) };
        match taken.and_then(|argument| fast(py, argument)) {
            Some(result) => result,
            // SAFETY: as above, and `slf` is live.
            None => unsafe { slow(py, method, slf, args, nargs, kwnames) },
        }
    });
    let result = std::panic::catch_unwind(call).unwrap_or_else(|_| {
        Err(pyo3::panic::PanicException::new_err(format!(
            "{:?} panicked",
            method.name
        )))
    });
    match result {
        Ok(object) => object.into_ptr(),
        Err(e) => {
            e.restore(py);
            std::ptr::null_mut()
        }
    }
}

/// The C function behind `_CompatBase.array` (see the module documentation).
unsafe extern "C" fn array_fast(
    slf: *mut ffi::PyObject,
    args: *const *mut ffi::PyObject,
    nargs: ffi::Py_ssize_t,
    kwnames: *mut ffi::PyObject,
) -> *mut ffi::PyObject {
    // SAFETY: CPython calls it as a method (the module invariants), with the vectorcall arguments.
    unsafe {
        entry(&ARRAY, slf, args, nargs, kwnames, |py, argument| {
            // SAFETY: the GIL is held; Py_True and Py_False are immortal singletons.
            let (yes, no) = (ffi::Py_True(), ffi::Py_False());
            let with_lock = match argument {
                None => true,
                Some(v) if v == yes => true,
                Some(v) if v == no => false,
                Some(_) => return None,
            };
            // SAFETY: the descriptor checked that `slf` is a `_CompatBase` (module invariants): no second,
            // MRO-walking check.
            let this = Borrowed::from_ptr(py, slf).cast_unchecked::<CompatBase>();
            Some(CompatBase::array(&this, with_lock))
        })
    }
}

/// The C function behind `SharedArray.read` (see the module documentation).
unsafe extern "C" fn read_fast(
    slf: *mut ffi::PyObject,
    args: *const *mut ffi::PyObject,
    nargs: ffi::Py_ssize_t,
    kwnames: *mut ffi::PyObject,
) -> *mut ffi::PyObject {
    // SAFETY: CPython calls it as a method (the module invariants), with the vectorcall arguments.
    unsafe {
        entry(&READ, slf, args, nargs, kwnames, |py, argument| {
            // SAFETY: the descriptor checked that `slf` is a `SharedArray`; the argument is live for the call;
            // Py_None is an immortal singleton. `out=None` is no `out`, as pyo3's `Option` argument reads it.
            let this = Borrowed::from_ptr(py, slf).cast_unchecked::<SharedArray>();
            let out = argument
                .filter(|&p| p != ffi::Py_None())
                .map(|p| Borrowed::from_ptr(py, p));
            Some(this.get().read(py, out.as_deref()))
        })
    }
}
