//! `_CompatBase`: the native base class of `seqring.compat.SharedMemoryArray`, which holds the instance's handle
//! and serves the compat layer's hottest calls without a Python frame: `arr[key]` (a read, with no lock, as every
//! compat read) and `arr[i] = x` / `arr[a:b] = x` for a Python scalar or an array of the dtype (under the array's lock, as ataraxis's). Every
//! other case, and everything else of the class, is Python (`seqring/compat/shared_memory_array.py`: `_set_slow`).

use crate::array::SharedArray;
use crate::named_lock::NamedLock;
use pyo3::intern;
use pyo3::prelude::*;
use pyo3::types::{PyDict, PyTuple};
use std::sync::Mutex;

/// The native base of `seqring.compat.SharedMemoryArray`: its ``_handle`` (the connected handle, a
/// :class:`seqring.SharedArray` or compat's byte view, or ``None``) and ``__getitem__``.
#[pyclass(module = "seqring._seqring", name = "_CompatBase", subclass, frozen)]
pub(crate) struct CompatBase {
    handle: Mutex<Option<Py<PyAny>>>,
}

#[pymethods]
impl CompatBase {
    /// An instance without a handle (the subclass's ``__init__`` or ``__setstate__`` does the rest).
    #[new]
    #[pyo3(signature = (*_args, **_kwargs))]
    fn new(_args: &Bound<'_, PyTuple>, _kwargs: Option<&Bound<'_, PyDict>>) -> Self {
        CompatBase {
            handle: Mutex::new(None),
        }
    }

    /// The connected handle, or ``None``.
    #[getter(_handle)]
    fn get_handle(&self, py: Python<'_>) -> Option<Py<PyAny>> {
        self.slot().as_ref().map(|h| h.clone_ref(py))
    }

    #[setter(_handle)]
    fn set_handle(&self, handle: Option<Py<PyAny>>) {
        *self.slot() = handle;
    }

    /// ``handle[key]`` (one consistent read, never waiting on a lock); without a handle, the subclass's
    /// ``_connected("access")`` raises its ``ConnectionError``.
    fn __getitem__<'py>(slf: &Bound<'py, Self>, key: &Bound<'py, PyAny>) -> PyResult<Bound<'py, PyAny>> {
        let py = slf.py();
        let handle = slf.get().slot().as_ref().map(|h| h.clone_ref(py));
        let Some(handle) = handle else {
            slf.call_method1("_connected", ("access",))?;
            return Err(pyo3::exceptions::PyConnectionError::new_err("not connected"));
        };
        let handle = handle.into_bound(py);
        if let Ok(array) = handle.cast::<SharedArray>() {
            return array.try_borrow()?.__getitem__(py, key);
        }
        handle.get_item(key)
    }

    /// ``arr[key] = value``: one element or a step-1 slice set from a Python scalar (or a slice from an array of the
    /// dtype) goes straight to the native handle under the array's lock (``self._lock``, opened again in a forked child); every other case goes to the subclass's
    /// ``_set_slow(key, value)`` (numpy's assignment casting, slices, the byte view, the disconnected error).
    fn __setitem__(slf: &Bound<'_, Self>, key: &Bound<'_, PyAny>, value: &Bound<'_, PyAny>) -> PyResult<()> {
        let py = slf.py();
        let handle = slf.get().slot().as_ref().map(|h| h.clone_ref(py));
        if let Some(handle) = handle {
            let handle = handle.into_bound(py);
            if let Ok(array) = handle.cast::<SharedArray>() {
                let array = array.try_borrow()?;
                if array.sets_without_conversion(py, key, value) {
                    let locks = slf.getattr(intern!(py, "_lock"))?;
                    let open = locks.getattr(intern!(py, "native"))?;
                    let lock = match open.cast_into::<NamedLock>() {
                        Ok(lock) if !lock.get().inherited() => lock,
                        _ => locks.call_method0(intern!(py, "open"))?.cast_into::<NamedLock>()?,
                    };
                    return array._set_locked(py, &lock, key, value);
                }
            }
        }
        slf.call_method1(intern!(py, "_set_slow"), (key, value)).map(drop)
    }
}

impl CompatBase {
    fn slot(&self) -> std::sync::MutexGuard<'_, Option<Py<PyAny>>> {
        self.handle.lock().unwrap_or_else(|e| e.into_inner())
    }
}
