//! `_CompatBase`: the native base class of `seqring.compat.SharedMemoryArray`, which holds the instance's handle
//! and serves the compat layer's hottest calls without a Python frame: `arr[key]` (a read, with no lock, as every
//! compat read), `arr[i] = x` / `arr[a:b] = x` for a Python scalar or an array of the dtype (under the array's lock,
//! as ataraxis's), and the `array()` blocks of a native handle ([`NativeBlock`]). Every other case, and everything
//! else of the class, is Python (`seqring/compat/shared_memory_array.py`: `_set_slow`, `_block_slow`).
//!
//! Invariants:
//! - the caches (the open lock, the blocks) belong to the handle in the slot: setting the slot clears them, so a
//!   disconnect drops them and a reconnect starts afresh;
//! - a cached [`NamedLock`] is used only in the process that opened it (not inherited across fork) and only for the
//!   array it was opened on; otherwise the instance's `_Lock.open(handle)` gives this process's lock;
//! - a cached block is handed out only while it is not entered: a nested or concurrent `array()` of the same
//!   instance gets a block of its own.

use crate::array::SharedArray;
use crate::named_lock::NamedLock;
use numpy::{PyArrayDescrMethods, PyUntypedArray, PyUntypedArrayMethods};
use pyo3::intern;
use pyo3::prelude::*;
use pyo3::types::{PyDict, PyTuple};
use std::sync::{Mutex, MutexGuard};

/// What the slot's handle caches: the open lock and one block per `with_lock` value.
#[derive(Default)]
struct Slot {
    handle: Option<Py<PyAny>>,
    lock: Option<Py<NamedLock>>,
    blocks: [Option<Py<NativeBlock>>; 2],
}

/// The native base of `seqring.compat.SharedMemoryArray`: its ``_handle`` (the connected handle, a
/// :class:`seqring.SharedArray` or compat's byte view, or ``None``) and ``__getitem__``.
#[pyclass(module = "seqring._seqring", name = "_CompatBase", subclass, frozen)]
pub(crate) struct CompatBase {
    slot: Mutex<Slot>,
}

#[pymethods]
impl CompatBase {
    /// An instance without a handle (the subclass's ``__init__`` or ``__setstate__`` does the rest).
    #[new]
    #[pyo3(signature = (*_args, **_kwargs))]
    fn new(_args: &Bound<'_, PyTuple>, _kwargs: Option<&Bound<'_, PyDict>>) -> Self {
        CompatBase {
            slot: Mutex::new(Slot::default()),
        }
    }

    /// The connected handle, or ``None``.
    #[getter(_handle)]
    fn get_handle(&self, py: Python<'_>) -> Option<Py<PyAny>> {
        self.slot().handle.as_ref().map(|h| h.clone_ref(py))
    }

    /// Sets the handle, and drops what was cached for the previous one.
    #[setter(_handle)]
    fn set_handle(&self, handle: Option<Py<PyAny>>) {
        let old = std::mem::replace(
            &mut *self.slot(),
            Slot {
                handle,
                ..Slot::default()
            },
        );
        drop(old); // after the slot's mutex is released: dropping a lock may run Python code
    }

    /// ``handle[key]`` (one consistent read, never waiting on a lock); without a handle, the subclass's
    /// ``_connected("access")`` raises its ``ConnectionError``.
    fn __getitem__<'py>(slf: &Bound<'py, Self>, key: &Bound<'py, PyAny>) -> PyResult<Bound<'py, PyAny>> {
        let py = slf.py();
        let handle = slf.get().slot().handle.as_ref().map(|h| h.clone_ref(py));
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
    /// dtype) goes straight to the native handle under the array's lock (the word in the array's own region, opened
    /// again in a forked child): lock, write and unlock in one native call on the one mapping. Every other case goes
    /// to the subclass's ``_set_slow(key, value)`` (numpy's assignment casting, slices, the byte view, the
    /// disconnected error).
    fn __setitem__(slf: &Bound<'_, Self>, key: &Bound<'_, PyAny>, value: &Bound<'_, PyAny>) -> PyResult<()> {
        let py = slf.py();
        let (handle, cached) = {
            let slot = slf.get().slot();
            (
                slot.handle.as_ref().map(|h| h.clone_ref(py)),
                slot.lock.as_ref().map(|l| l.clone_ref(py)),
            )
        };
        if let Some(handle) = handle {
            let handle = handle.into_bound(py);
            if let Ok(bound) = handle.cast::<SharedArray>() {
                let array = bound.try_borrow()?;
                let lock = || match cached {
                    Some(lock) if usable(lock.get(), bound) => Ok(lock.into_bound(py)),
                    _ => open_lock(slf, bound),
                };
                let mut lock = Some(lock);
                let mut take = || lock.take().map_or_else(|| open_lock(slf, bound), |f| f());
                if let Some(done) = array.set_element_locked(py, &mut take, key, value) {
                    return done;
                }
                if array.sets_without_conversion(py, key, value) {
                    return array._set_locked(py, &take()?, key, value);
                }
            }
        }
        slf.call_method1(intern!(py, "_set_slow"), (key, value)).map(drop)
    }

    /// What ``array(with_lock=...)`` returns: for a native handle, a [`NativeBlock`] (the instance's cached one when
    /// it is free); otherwise the subclass's ``_block_slow(with_lock)`` (the byte view's block, or the disconnected
    /// error).
    fn _block<'py>(slf: &Bound<'py, Self>, with_lock: bool) -> PyResult<Bound<'py, PyAny>> {
        let py = slf.py();
        let (handle, cached) = {
            let slot = slf.get().slot();
            (
                slot.handle.as_ref().map(|h| h.clone_ref(py)),
                slot.blocks[usize::from(with_lock)].as_ref().map(|b| b.clone_ref(py)),
            )
        };
        let Some(handle) = handle.map(|h| h.into_bound(py)) else {
            return slf.call_method1(intern!(py, "_block_slow"), (with_lock,));
        };
        let Ok(array) = handle.cast::<SharedArray>() else {
            return slf.call_method1(intern!(py, "_block_slow"), (with_lock,));
        };
        if let Some(block) = cached {
            let block = block.into_bound(py);
            if block.try_borrow().is_ok_and(|b| !b.entered && b.array.is(array)) {
                return Ok(block.into_any());
            }
            // Entered (nested, or another thread's): this call gets a block of its own.
            return Ok(Bound::new(py, NativeBlock::new(slf, array, with_lock)?)?.into_any());
        }
        let block = Bound::new(py, NativeBlock::new(slf, array, with_lock)?)?;
        let mut slot = slf.get().slot();
        if slot.handle.as_ref().is_some_and(|h| h.is(&handle)) {
            slot.blocks[usize::from(with_lock)] = Some(block.clone().unbind());
        }
        Ok(block.into_any())
    }
}

impl CompatBase {
    fn slot(&self) -> MutexGuard<'_, Slot> {
        self.slot.lock().unwrap_or_else(|e| e.into_inner())
    }
}

/// Whether the cached `lock` can be taken for `array` in this process.
fn usable(lock: &NamedLock, array: &Bound<'_, SharedArray>) -> bool {
    !lock.inherited() && lock.is_of(array)
}

/// This process's lock of `array` from the instance's `_Lock` (`self._lock.open(handle)`), cached in the slot.
fn open_lock<'py>(slf: &Bound<'py, CompatBase>, array: &Bound<'py, SharedArray>) -> PyResult<Bound<'py, NamedLock>> {
    let py = slf.py();
    let lock = slf
        .getattr(intern!(py, "_lock"))?
        .call_method1(intern!(py, "open"), (array,))?
        .cast_into::<NamedLock>()?;
    let old = {
        let mut slot = slf.get().slot();
        if slot.handle.as_ref().is_some_and(|h| h.is(array)) {
            slot.lock.replace(lock.clone().unbind())
        } else {
            None
        }
    };
    drop(old);
    Ok(lock)
}

/// An ``array()`` block of a native handle: ``with`` yields a consistent copy of the array to read and change; on
/// exit the changed span is written back in one write (under the array's lock, held from entry to exit, with
/// ``with_lock``).
///
/// The copy yielded is the block's own buffer, reused by the instance's next block (as ataraxis's view is the same
/// shared buffer every time): entry reads into the block's private snapshot buffer and copies it into that one, so a
/// block allocates nothing after the first. If another write completed since the entry's read (a writer that does
/// not take the lock), exit writes only the elements the block changed (the subclass's ``_write_back``).
#[pyclass(module = "seqring._seqring", name = "_NativeBlock")]
pub(crate) struct NativeBlock {
    array: Py<SharedArray>,
    /// The instance's `_Lock` (which opens this process's lock), with `with_lock`.
    locks: Option<Py<PyAny>>,
    /// `SharedMemoryArray._write_back(handle, working, snapshot)`, for a write-back after another write.
    write_back: Py<PyAny>,
    /// The lock last taken (reused while it is this process's lock of `array`).
    lock: Option<Py<NamedLock>>,
    /// Whether the block holds `lock` now (between entry and exit).
    held: bool,
    snapshot: Option<Py<PyUntypedArray>>,
    working: Option<Py<PyUntypedArray>>,
    version: u64,
    entered: bool,
}

impl NativeBlock {
    fn new(owner: &Bound<'_, CompatBase>, array: &Bound<'_, SharedArray>, with_lock: bool) -> PyResult<Self> {
        let py = owner.py();
        let locks = if with_lock {
            Some(owner.getattr(intern!(py, "_lock"))?.unbind())
        } else {
            None
        };
        // From the class, not the instance: a bound method would keep the instance alive from its own cache.
        let write_back = owner.get_type().getattr(intern!(py, "_write_back"))?.unbind();
        Ok(NativeBlock {
            array: array.clone().unbind(),
            locks,
            write_back,
            lock: None,
            held: false,
            snapshot: None,
            working: None,
            version: 0,
            entered: false,
        })
    }

    /// Takes the array's lock (this process's, opened again after a fork); `native` is `array`'s handle.
    fn take_lock(&mut self, py: Python<'_>, array: &Bound<'_, SharedArray>, native: &SharedArray) -> PyResult<()> {
        let Some(locks) = &self.locks else {
            return Ok(());
        };
        let lock = match &self.lock {
            Some(lock) if usable(lock.get(), array) => lock.clone_ref(py),
            _ => {
                let lock = locks
                    .bind(py)
                    .call_method1(intern!(py, "open"), (array,))?
                    .cast_into::<NamedLock>()?
                    .unbind();
                self.lock = Some(lock.clone_ref(py));
                lock
            }
        };
        lock.get().acquire_on(py, native.handle()?)?;
        self.held = true;
        Ok(())
    }

    /// Releases the lock if the block holds it; `native` is the array's handle.
    fn release_lock(&mut self, native: &SharedArray) -> PyResult<()> {
        if !std::mem::take(&mut self.held) {
            return Ok(());
        }
        let Some(lock) = &self.lock else {
            return Ok(());
        };
        lock.get().release_on(native.handle()?)
    }

    /// Reads the array into the snapshot buffer and copies it into the working buffer (both reused when they still
    /// have the array's layout); returns the working buffer.
    fn snapshot<'py>(&mut self, py: Python<'py>, array: &SharedArray) -> PyResult<Bound<'py, PyUntypedArray>> {
        let reused = match &self.snapshot {
            Some(s) => array.read_out(py, s.bind(py)).ok(),
            None => None,
        };
        let snapshot = match reused {
            Some(version) => {
                self.version = version;
                self.snapshot
                    .as_ref()
                    .map(|s| s.bind(py).clone())
                    .unwrap_or_else(|| unreachable!())
            }
            None => {
                let (s, version) = array.read_new(py)?;
                self.version = version;
                self.snapshot = Some(s.clone().unbind());
                s
            }
        };
        if let Some(working) = self.working.as_ref().map(|w| w.bind(py).clone()) {
            let (a, b) = (working.dtype(), snapshot.dtype());
            let fits = working.shape() == snapshot.shape() && (a.is(&b) || a.is_equiv_to(&b));
            if fits {
                if let Some(src) = crate::ndarray::bytes(&snapshot) {
                    if crate::ndarray::with_bytes_mut(&working, |dst| dst.copy_from_slice(src)).is_some() {
                        return Ok(working);
                    }
                }
            }
        }
        let working = snapshot
            .call_method0(intern!(py, "copy"))?
            .cast_into::<PyUntypedArray>()?;
        self.working = Some(working.clone().unbind());
        Ok(working)
    }

    /// Writes the working buffer's changes back (see the class documentation).
    fn write_back(&self, py: Python<'_>, native: &SharedArray) -> PyResult<()> {
        let (Some(working), Some(snapshot)) = (&self.working, &self.snapshot) else {
            return Ok(());
        };
        let (working, snapshot) = (working.bind(py), snapshot.bind(py));
        let wrote = native._write_changes(py, working, snapshot, self.version)?;
        if wrote == Some(false) {
            self.write_back.bind(py).call1((&self.array, working, snapshot))?;
        }
        Ok(())
    }
}

#[pymethods]
impl NativeBlock {
    fn __enter__<'py>(mut slf: PyRefMut<'py, Self>) -> PyResult<Bound<'py, PyUntypedArray>> {
        let py = slf.py();
        if slf.entered {
            return Err(pyo3::exceptions::PyRuntimeError::new_err(
                "this array() block is already entered",
            ));
        }
        let array = slf.array.bind(py).clone();
        let native = array.try_borrow()?;
        slf.take_lock(py, &array, &native)?;
        match slf.snapshot(py, &native) {
            Ok(working) => {
                slf.entered = true;
                Ok(working)
            }
            Err(e) => {
                slf.release_lock(&native)?;
                Err(e)
            }
        }
    }

    /// Writes the changes back (also when the block raised: as in shared memory, changes made before an error
    /// stay), releases the lock; never suppresses an exception.
    #[pyo3(signature = (*_exc))]
    fn __exit__(mut slf: PyRefMut<'_, Self>, _exc: &Bound<'_, PyTuple>) -> PyResult<bool> {
        let py = slf.py();
        slf.entered = false;
        let array = slf.array.bind(py).clone();
        let native = array.try_borrow()?;
        let wrote = slf.write_back(py, &native);
        let released = slf.release_lock(&native);
        wrote.and(released).map(|()| false)
    }
}
