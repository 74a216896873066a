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
//! - a cached block is handed out to one `array()` call at a time, until its `with` exits: a nested or concurrent
//!   `array()` of the same instance (another thread's, even before it entered its block) gets a block of its own.

use crate::array::{Handle, SharedArray};
use crate::gil_cell::GilCell;
use crate::named_lock::NamedLock;
use numpy::{PyUntypedArray, PyUntypedArrayMethods};
use pyo3::intern;
use pyo3::prelude::*;
use pyo3::types::{PyDict, PyTuple};
use seqring::shared_array::SharedArrayDyn;

/// What the slot's handle caches: the handle as a native array, the open lock and one block per `with_lock` value.
#[derive(Default)]
struct Slot {
    handle: Option<Py<PyAny>>,
    /// `handle`, when it is a native `SharedArray`.
    native: Option<Py<SharedArray>>,
    lock: Option<Py<NamedLock>>,
    blocks: [Option<Py<NativeBlock>>; 2],
}

/// The native base of `seqring.compat.SharedMemoryArray`: its ``_handle`` (the connected handle, a
/// :class:`seqring.SharedArray` or compat's byte view, or ``None``), ``arr[key]``, ``arr[key] = value`` and
/// ``array()``.
#[pyclass(module = "seqring._seqring", name = "_CompatBase", subclass, frozen)]
pub(crate) struct CompatBase {
    /// Touched with the GIL held only, never across Python code (see `gil_cell`).
    slot: GilCell<Slot>,
}

#[pymethods]
impl CompatBase {
    /// An instance without a handle (the subclass's ``__init__`` or ``__setstate__`` does the rest).
    #[new]
    #[pyo3(signature = (*_args, **_kwargs))]
    fn new(_args: &Bound<'_, PyTuple>, _kwargs: Option<&Bound<'_, PyDict>>) -> Self {
        CompatBase {
            slot: GilCell::new(Slot::default()),
        }
    }

    /// The connected handle, or ``None``.
    #[getter(_handle)]
    fn get_handle(&self, py: Python<'_>) -> Option<Py<PyAny>> {
        self.slot.with(py, |s| s.handle.as_ref().map(|h| h.clone_ref(py)))
    }

    /// Sets the handle, and drops what was cached for the previous one.
    #[setter(_handle)]
    fn set_handle(&self, py: Python<'_>, handle: Option<Py<PyAny>>) {
        let native = handle
            .as_ref()
            .and_then(|h| h.bind(py).cast::<SharedArray>().ok())
            .map(|a| a.clone().unbind());
        let new = Slot {
            handle,
            native,
            ..Slot::default()
        };
        let old = self.slot.with(py, |s| std::mem::replace(s, new));
        drop(old); // outside the borrow: dropping a lock may run Python code
    }

    /// ``handle[key]`` (one consistent read, never waiting on a lock); without a handle, the subclass's
    /// ``_connected("access")`` raises its ``ConnectionError``.
    fn __getitem__<'py>(slf: &Bound<'py, Self>, key: &Bound<'py, PyAny>) -> PyResult<Bound<'py, PyAny>> {
        let py = slf.py();
        let (native, handle) = slf.get().slot.with(py, |s| match &s.native {
            Some(n) => (Some(n.clone_ref(py)), None),
            None => (None, s.handle.as_ref().map(|h| h.clone_ref(py))),
        });
        if let Some(native) = native {
            return native.get().__getitem__(py, key);
        }
        match handle {
            Some(handle) => handle.bind(py).get_item(key),
            None => {
                slf.call_method1(intern!(py, "_connected"), ("access",))?;
                Err(pyo3::exceptions::PyConnectionError::new_err("not connected"))
            }
        }
    }

    /// ``arr[key] = value``: one element or a step-1 slice of a 1-d array set from a Python scalar (or that slice
    /// from an array of the dtype) goes straight to the native handle under the array's lock (the word in the
    /// array's own region, opened again in a forked child): lock, write and unlock in one native call on the one
    /// mapping, with the key and value parsed once. Every other case goes to the subclass's
    /// ``_set_slow(key, value)`` (numpy's assignment casting, other keys, the byte view, the disconnected error).
    fn __setitem__(slf: &Bound<'_, Self>, key: &Bound<'_, PyAny>, value: &Bound<'_, PyAny>) -> PyResult<()> {
        let py = slf.py();
        let (native, cached) = slf.get().slot.with(py, |s| {
            (
                s.native.as_ref().map(|h| h.clone_ref(py)),
                s.lock.as_ref().map(|l| l.clone_ref(py)),
            )
        });
        if let Some(native) = native {
            let bound = native.bind(py);
            let array = native.get();
            let lock = || match cached {
                Some(lock) if usable(lock.get(), bound) => Ok(lock.into_bound(py)),
                _ => open_lock(slf, bound),
            };
            if let Some(done) = array.set_simple_locked(py, lock, key, value) {
                return done;
            }
        }
        slf.call_method1(intern!(py, "_set_slow"), (key, value)).map(drop)
    }

    /// Use as ``with arr.array() as view:``. ``view`` is a consistent snapshot of the array to read and modify;
    /// on exit, if it changed, the changed elements are written back in one write that is atomic against every
    /// other writer (also when the block raises).
    ///
    /// With ``with_lock`` (the default) the block holds the array's lock, as in ataraxis: blocks and
    /// ``arr[i] = v`` calls of every process run one at a time, so ``view[0] += 1`` in concurrent blocks loses no
    /// increment. Readers (``arr[i]``, plain :class:`seqring.SharedArray` reads) never wait for it. Raises
    /// :class:`ConnectionError` if disconnected.
    ///
    /// For a native handle the block is a :class:`_NativeBlock` (the instance's cached one when it is free);
    /// otherwise the subclass's ``_block_slow(with_lock)`` makes it (the byte view's block, or the disconnected
    /// error).
    #[pyo3(signature = (*, with_lock = true))]
    pub(crate) fn array<'py>(slf: &Bound<'py, Self>, with_lock: bool) -> PyResult<Bound<'py, PyAny>> {
        let py = slf.py();
        let (native, cached) = slf.get().slot.with(py, |s| {
            (
                s.native.as_ref().map(|h| h.clone_ref(py)),
                s.blocks[usize::from(with_lock)].as_ref().map(|b| b.clone_ref(py)),
            )
        });
        let Some(native) = native.map(|n| n.into_bound(py)) else {
            return slf.call_method1(intern!(py, "_block_slow"), (with_lock,));
        };
        if let Some(block) = cached {
            let block = block.into_bound(py);
            let this = block.get();
            // Handed out (and not yet exited) is taken: another thread may be between its `array()` and its
            // `__enter__`, where the GIL can pass to this one.
            if this.array.is(&native) && this.state.with(py, |s| !std::mem::replace(&mut s.handed, true)) {
                return Ok(block.into_any());
            }
            // Taken (nested, or another thread's): this call gets a block of its own.
            return Ok(Bound::new(py, NativeBlock::new(slf, &native, with_lock)?)?.into_any());
        }
        let block = Bound::new(py, NativeBlock::new(slf, &native, with_lock)?)?;
        block.get().state.with(py, |s| s.handed = true);
        let cache = block.clone().unbind();
        let old = slf.get().slot.with(py, |s| {
            if s.native.as_ref().is_some_and(|h| h.is(&native)) {
                s.blocks[usize::from(with_lock)].replace(cache)
            } else {
                Some(cache)
            }
        });
        drop(old);
        Ok(block.into_any())
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
    let cache = lock.clone().unbind();
    let old = slf.get().slot.with(py, |s| {
        if s.native.as_ref().is_some_and(|h| h.is(array)) {
            s.lock.replace(cache)
        } else {
            Some(cache)
        }
    });
    drop(old);
    Ok(lock)
}

/// An ``array()`` block of a native handle: ``with`` yields a consistent copy of the array to read and change; on
/// exit the changed span is written back in one write (under the array's lock, held from entry to exit, with
/// ``with_lock``).
///
/// The copy yielded is the block's own buffer, reused by the instance's next block (as ataraxis's view is the same
/// shared buffer every time): entry reads the array straight into it and keeps a copy of its bytes, so a block
/// allocates nothing after the first. If another write completed since the entry's read (a writer that does not
/// take the lock), exit writes only the elements the block changed (the subclass's ``_write_back``).
#[pyclass(module = "seqring._seqring", name = "_NativeBlock", frozen)]
pub(crate) struct NativeBlock {
    array: Py<SharedArray>,
    /// The instance's `_Lock` (which opens this process's lock), with `with_lock`.
    locks: Option<Py<PyAny>>,
    /// `SharedMemoryArray._write_back(handle, working, snapshot)`, for a write-back after another write.
    write_back: Py<PyAny>,
    /// Touched with the GIL held only, never across Python code (see `gil_cell`).
    state: GilCell<BlockState>,
}

/// What a block changes from entry to exit.
#[derive(Default)]
struct BlockState {
    /// The lock last taken (reused while it is this process's lock of `array`).
    lock: Option<Py<NamedLock>>,
    /// Whether the block holds `lock` now (between entry and exit).
    held: bool,
    /// The buffer yielded.
    working: Option<Py<PyUntypedArray>>,
    /// The bytes `working` had at entry, and the version they were read at.
    snapshot: Vec<u8>,
    version: u64,
    entered: bool,
    /// Whether the instance's `array()` handed this block out and its `with` has not exited since (a cached block is
    /// handed to one caller at a time).
    handed: bool,
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
            state: GilCell::new(BlockState::default()),
        })
    }

    /// Takes the array's lock (this process's, opened again after a fork), if the block takes one; `native` is
    /// `array`'s handle.
    fn take_lock(&self, array: &Bound<'_, SharedArray>, native: &Handle<'_, '_>) -> PyResult<()> {
        let py = array.py();
        let Some(locks) = &self.locks else {
            return Ok(());
        };
        let cached = self.state.with(py, |s| s.lock.as_ref().map(|l| l.clone_ref(py)));
        let lock = match cached {
            Some(lock) if usable(lock.get(), array) => lock,
            _ => {
                let lock = locks
                    .bind(py)
                    .call_method1(intern!(py, "open"), (array,))?
                    .cast_into::<NamedLock>()?
                    .unbind();
                let old = self.state.with(py, |s| s.lock.replace(lock.clone_ref(py)));
                drop(old);
                lock
            }
        };
        lock.get().acquire_on(py, native)?;
        self.state.with(py, |s| s.held = true);
        Ok(())
    }

    /// Releases the lock if the block holds it; `native` is the array's handle.
    fn release_lock(&self, py: Python<'_>, native: &Handle<'_, '_>) -> PyResult<()> {
        let lock = self.state.with(py, |s| {
            std::mem::take(&mut s.held)
                .then(|| s.lock.as_ref().map(|l| l.clone_ref(py)))
                .flatten()
        });
        match lock {
            Some(lock) => lock.get().release_on(native),
            None => Ok(()),
        }
    }

    /// Reads the array into the working buffer (reused while it has the array's layout) and keeps a copy of its
    /// bytes; returns the working buffer. `native` is the array, `handle` its handle.
    fn snapshot<'py>(
        &self,
        py: Python<'py>,
        native: &SharedArray,
        handle: &SharedArrayDyn,
    ) -> PyResult<Bound<'py, PyUntypedArray>> {
        let fast = self.state.with(py, |s| {
            let working = s.working.as_ref()?;
            s.version = native.read_block(py, handle, working.bind(py), &mut s.snapshot)?;
            Some(working.clone_ref(py))
        });
        if let Some(working) = fast {
            return Ok(working.into_bound(py));
        }
        let working = self.state.with(py, |s| s.working.as_ref().map(|w| w.clone_ref(py)));
        let (working, version, reused) = native.read_reusing(py, working.map(|w| w.into_bound(py)))?;
        let bytes = crate::ndarray::bytes(&working)
            .ok_or_else(|| pyo3::exceptions::PyRuntimeError::new_err("a new array is not C-contiguous"))?;
        let stored = (!reused).then(|| working.clone().unbind());
        let old = self.state.with(py, |s| {
            s.snapshot.clear();
            s.snapshot.extend_from_slice(bytes);
            s.version = version;
            stored.and_then(|w| s.working.replace(w))
        });
        drop(old);
        Ok(working)
    }

    /// Writes the working buffer's changes back (see the class documentation). `native` is the array, `handle` its
    /// handle.
    fn write_back(&self, py: Python<'_>, native: &SharedArray, handle: &SharedArrayDyn) -> PyResult<()> {
        let fast = self.state.with(py, |s| {
            let working = s.working.as_ref()?;
            native.write_block(py, handle, working.bind(py), &s.snapshot, s.version)
        });
        if matches!(fast, Some(None | Some(true))) {
            return Ok(());
        }
        let (working, snapshot, version) = self.state.with(py, |s| {
            (
                s.working.as_ref().map(|w| w.clone_ref(py)),
                std::mem::take(&mut s.snapshot),
                s.version,
            )
        });
        let Some(working) = working.map(|w| w.into_bound(py)) else {
            return Ok(());
        };
        let wrote = match fast {
            Some(wrote) => Ok(wrote),
            None => native.write_changed(py, &working, &snapshot, version),
        };
        let done = match wrote {
            Ok(Some(false)) => {
                // Another write came first: the subclass writes only the elements this block changed.
                let old = crate::ndarray::empty(
                    py,
                    &working.dtype(),
                    &crate::convert::as_u64(working.shape()).collect::<Vec<_>>(),
                )?;
                crate::ndarray::with_bytes_mut(&old, |dst| dst.copy_from_slice(&snapshot));
                self.write_back.bind(py).call1((&self.array, &working, old)).map(drop)
            }
            other => other.map(drop),
        };
        self.state.with(py, |s| s.snapshot = snapshot); // the allocation is reused by the next entry
        done
    }
}

#[pymethods]
impl NativeBlock {
    fn __enter__<'py>(slf: &Bound<'py, Self>) -> PyResult<Bound<'py, PyUntypedArray>> {
        let py = slf.py();
        let this = slf.get();
        if this.state.with(py, |s| std::mem::replace(&mut s.entered, true)) {
            return Err(pyo3::exceptions::PyRuntimeError::new_err(
                "this array() block is already entered",
            ));
        }
        let entered = (|| {
            let array = this.array.bind(py);
            let native = array.get();
            let handle = native.handle(py)?;
            this.take_lock(array, &handle)?;
            this.snapshot(py, native, &handle)
                .or_else(|e| this.release_lock(py, &handle).and(Err(e)))
        })();
        if entered.is_err() {
            // No `__exit__` follows a failed entry: the block is free again.
            this.state.with(py, |s| (s.entered, s.handed) = (false, false));
        }
        entered
    }

    /// Writes the changes back (also when the block raised: as in shared memory, changes made before an error
    /// stay), releases the lock; never suppresses an exception.
    fn __exit__(
        slf: &Bound<'_, Self>,
        _exc_type: &Bound<'_, PyAny>,
        _exc_value: &Bound<'_, PyAny>,
        _traceback: &Bound<'_, PyAny>,
    ) -> PyResult<bool> {
        let py = slf.py();
        let this = slf.get();
        this.state.with(py, |s| (s.entered, s.handed) = (false, false));
        let array = this.array.bind(py);
        let native = array.get();
        let handle = native.handle(py)?;
        let wrote = this.write_back(py, native, &handle);
        let released = this.release_lock(py, &handle);
        wrote.and(released).map(|()| false)
    }
}
