//! `_CompatBase`: the native base class of `seqring.compat.SharedMemoryArray`, which holds the instance's handle
//! and serves `arr[key]` without a Python frame (the compat layer's hottest call: a read, with no lock, as every
//! compat read). Everything else of the class is Python (`seqring/compat/shared_memory_array.py`).

use crate::array::SharedArray;
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
}

impl CompatBase {
    fn slot(&self) -> std::sync::MutexGuard<'_, Option<Py<PyAny>>> {
        self.handle.lock().unwrap_or_else(|e| e.into_inner())
    }
}
