//! `seqring.SharedArray`: a typed n-d numpy array in OS shared memory, read and written live by many processes.
//!
//! Invariants:
//! - every data transfer checks the array's current dtype and shape (as of the same consistent read, or under the
//!   writer lock) against the layout the numpy side was sized for, so bytes never cross layouts;
//! - the hot paths (`read`, `read(out=)`, `write`, `a[i, j]`, `a[i, j] = v`) first try once with the GIL held and
//!   a zero timeout (a bounded spin of a few hundred iterations, never a sleep); whatever must wait for a writer
//!   runs again with the GIL released and the array's timeout, on copies of the numpy buffers;
//! - the cached layout (dtype, shape, numpy descriptor) is only a guess for sizing buffers: a read that finds
//!   another layout refreshes it and uses the new one; a write never trusts it without the check above;
//! - an array of any other fixed-size numpy dtype (strings, structured records, big-endian numbers, datetimes) is a
//!   [`DType::Record`] of its item size whose region records the numpy descr (`dtype_to_descr`, as .npy headers
//!   do): every handle rebuilds its numpy dtype from that record once, when it opens, and uses it for every
//!   layout whose dtype is that record; element and byte transfers are those of any other dtype;
//! - the class is frozen (no pyo3 borrow flag, whose two atomic read-modify-writes per call the hot paths would
//!   pay): a call reaches the native handle through a [`Handle`], counted in the slot with the GIL held, and the
//!   handle is dropped (unmapped, and removed by its creator) only when the array is closed and no `Handle` is
//!   alive. So `close` never waits or fails for a call in progress (one waiting with the GIL released finishes on
//!   its mapping), and `destroy`, which must remove the region at once, refuses while a call is inside.

use crate::convert::{as_u64, converted, descr_of, flat_index, python_scalar, record_descr, record_dtype, shape_of};
use crate::errors::{array_error, raise, Kind};
use crate::gil_cell::GilCell;
use crate::named_lock::NamedLock;
use crate::ndarray;
use numpy::{PyArrayDescr, PyArrayDescrMethods, PyUntypedArray, PyUntypedArrayMethods};
use pyo3::prelude::*;
use pyo3::types::{PySlice, PySliceMethods, PyTuple};
use seqring::shared_array::{ArrayOptions, SharedArrayDyn, SharedArrayError};
use seqring_core::{DType, Shape};
use std::ops::Range;
use std::ptr::NonNull;
use std::sync::Arc;
use std::time::{Duration, Instant};

/// What the numpy side assumes of the array: its dtype, shape and numpy descriptor.
struct Layout {
    dtype: DType,
    shape: Shape,
    descr: Py<PyArrayDescr>,
    /// numpy's item size of `descr` times the product of `shape` (`None` if that overflows).
    nbytes: Option<usize>,
}

impl Layout {
    /// The layout of `dtype` and `shape`; a [`DType::Record`] takes `record`, the array's numpy dtype for it.
    fn new(py: Python<'_>, dtype: DType, shape: &[u64], record: Option<&Py<PyArrayDescr>>) -> PyResult<Layout> {
        let descr = match (dtype, record) {
            (DType::Record { .. }, Some(r)) if r.bind(py).itemsize() == dtype.itemsize() => r.clone_ref(py),
            (DType::Record { itemsize }, _) => {
                return Err(raise(
                    Kind::DTypeMismatch,
                    format!("the array holds records of {itemsize} bytes that its descriptor does not describe"),
                ))
            }
            (plain, _) => PyArrayDescr::new(py, plain.descr())?.unbind(),
        };
        let nbytes = shape.iter().try_fold(descr.bind(py).itemsize(), |n, &d| {
            n.checked_mul(usize::try_from(d).ok()?)
        });
        Ok(Layout {
            dtype,
            shape: shape.iter().copied().collect(),
            descr,
            nbytes,
        })
    }

    fn matches(&self, dtype: DType, shape: &[u64]) -> bool {
        self.dtype == dtype && self.shape.as_slice() == shape
    }

    /// Runs `f` on the bytes of `array` if its object shows exactly this layout (this descriptor object, C-contiguous
    /// and writeable; see [`ndarray::with_exact_bytes_mut`]), else `None`.
    fn with_exact_bytes_mut<R>(
        &self,
        py: Python<'_>,
        array: &Bound<'_, PyUntypedArray>,
        f: impl FnOnce(&mut [u8]) -> R,
    ) -> Option<R> {
        // SAFETY: `nbytes` is numpy's item size of `descr` times the product of `shape` (computed so in `new`).
        unsafe { ndarray::with_exact_bytes_mut(array, self.descr.bind(py), &self.shape, self.nbytes?, f) }
    }
}

/// A copy of the cached layout for one call.
struct Current<'py> {
    dtype: DType,
    shape: Shape,
    descr: Bound<'py, PyArrayDescr>,
}

impl Current<'_> {
    /// [`read_as`] with this layout.
    #[inline]
    fn read(&self, handle: &SharedArrayDyn, byte_offset: usize, dst: &mut [u8]) -> Option<u64> {
        read_as(handle, self.dtype, &self.shape, byte_offset, dst)
    }

    /// Whether the numpy `array` has this dtype and shape.
    fn fits(&self, array: &Bound<'_, PyUntypedArray>) -> bool {
        // The identity test first: arrays made from the cached descriptor (and numpy's builtin ones) share it.
        let dtype = array.dtype();
        (dtype.is(&self.descr) || dtype.is_equiv_to(&self.descr))
            && as_u64(array.shape()).eq(self.shape.iter().copied())
    }
}

/// The native handle of a [`SharedArray`] and the calls inside it.
struct HandleSlot {
    /// The handle; `None` once it is dropped (closed with no call inside, or destroyed). Never cloned: the `Arc`
    /// only keeps the handle where it is, so that a [`Handle`] can point at it while the slot is borrowed again.
    handle: Option<Arc<SharedArrayDyn>>,
    /// Closed or destroyed: no new [`Handle`] is handed out.
    closed: bool,
    /// The [`Handle`]s alive (calls inside the handle, some perhaps waiting with the GIL released).
    users: usize,
}

/// The native handle of a [`SharedArray`] for one call: it stays mapped while this lives, even if another thread
/// closes the array meanwhile (the last `Handle` of a closed array drops it). Counting users costs no atomic
/// operation: the count changes with the GIL held only (the `Python` token kept here; see `gil_cell`), so the
/// hot paths pay no borrow flag as pyo3's non-frozen classes do. A `Handle` may be kept across Python code and
/// across a GIL-free stretch (it is not `Send`: it is dropped by the thread that made it, with the GIL held).
pub(crate) struct Handle<'a, 'py> {
    array: &'a SharedArray,
    /// Points into the `Arc` of `array`'s slot, which stays there while `users` counts this `Handle`.
    handle: NonNull<SharedArrayDyn>,
    py: Python<'py>,
}

impl Handle<'_, '_> {
    /// The array this handle belongs to.
    pub(crate) fn owner(&self) -> &SharedArray {
        self.array
    }
}

impl std::ops::Deref for Handle<'_, '_> {
    type Target = SharedArrayDyn;

    #[inline]
    fn deref(&self) -> &SharedArrayDyn {
        // SAFETY: `handle` points into the `Arc` of the slot, which is dropped only when the slot is closed and its
        // `users` count is 0; this `Handle` is counted until its `drop`, so the pointee lives as long as `self`.
        // Only shared references to it are ever made (the slot's `&mut` reaches the `Arc`, not its pointee).
        unsafe { self.handle.as_ref() }
    }
}

impl Drop for Handle<'_, '_> {
    #[inline]
    fn drop(&mut self) {
        let last = self.array.slot.with(self.py, |s| {
            s.users -= 1;
            if s.closed && s.users == 0 {
                s.handle.take()
            } else {
                None
            }
        });
        drop(last); // outside the borrow: unmapping (and a creator's removal) happens here, for a closed array
    }
}

/// A handle of one shared array. Create it with :meth:`create` or open it with :meth:`open`.
///
/// Readers never block the writer and never see a torn value (a seqlock); every wait on a writer is bounded by the
/// handle's timeout and runs with the GIL released. The creating handle removes the array when it is closed (or
/// garbage-collected, or its ``with`` block ends); opening handles only unmap it. :meth:`destroy` removes it at
/// once. A handle pickles as its name: unpickled in another process, it opens the array there.
///
/// A handle may be used by many threads at once. :meth:`close` never waits for them: a call that is waiting on a
/// writer meanwhile (with the GIL released) finishes on the mapping it started with, and the array is unmapped
/// (and, by its creating handle, removed) when the last such call returns; every later call raises
/// ``ClosedError``. :meth:`destroy` raises ``SeqringError`` while another call is inside the handle.
#[pyclass(module = "seqring", name = "SharedArray", frozen)]
pub(crate) struct SharedArray {
    /// The native handle and its users (see [`Handle`]); touched with the GIL held only (see `gil_cell`).
    slot: GilCell<HandleSlot>,
    name: String,
    /// Read and replaced with the GIL held only (no lock word: see `gil_cell`).
    layout: GilCell<Layout>,
    /// The numpy dtype of an array created with a [`DType::Record`], rebuilt from its region's descriptor.
    record: Option<Py<PyArrayDescr>>,
}

fn options(exists_ok: bool, capacity: Option<u64>, timeout: Option<f64>) -> PyResult<ArrayOptions> {
    let mut options = ArrayOptions::default().exists_ok(exists_ok);
    if let Some(c) = capacity {
        options = options.capacity(c);
    }
    if let Some(t) = timeout {
        let t = Duration::try_from_secs_f64(t).map_err(|_| {
            raise(
                Kind::Base,
                format!("timeout {t} is not a non-negative number of seconds"),
            )
        })?;
        options = options.timeout(t);
    }
    Ok(options)
}

/// How long one GIL-free stretch of [`wait_in_slices`] lasts at most, between checks for signals (Ctrl-C).
const SIGNAL_SLICE: Duration = Duration::from_millis(100);

/// [`SharedArrayDyn::wait_changed`] for `timeout` seconds (`None`: no bound), with the GIL released, in slices of
/// at most [`SIGNAL_SLICE`] so that a signal handler's exception (KeyboardInterrupt) ends it. A stall is reported
/// only if it lasts to the caller's deadline.
fn wait_in_slices(
    py: Python<'_>,
    handle: &SharedArrayDyn,
    version: u64,
    timeout: Option<f64>,
) -> PyResult<Option<u64>> {
    let deadline = match timeout {
        None => None,
        Some(t) => {
            let t = Duration::try_from_secs_f64(t).map_err(|_| {
                raise(
                    Kind::Base,
                    format!("timeout {t} is not a non-negative number of seconds"),
                )
            })?;
            Some(
                Instant::now()
                    .checked_add(t)
                    .ok_or_else(|| raise(Kind::Base, format!("timeout {t:?} is too long")))?,
            )
        }
    };
    loop {
        let slice = deadline.map_or(SIGNAL_SLICE, |d| {
            d.saturating_duration_since(Instant::now()).min(SIGNAL_SLICE)
        });
        let stall = match py.detach(|| handle.wait_changed(version, slice)) {
            Ok(Some(v)) => return Ok(Some(v)),
            Ok(None) => None,
            Err(e) if e.is_stall() => Some(e),
            Err(e) => return Err(array_error(e)),
        };
        py.check_signals()?;
        if deadline.is_some_and(|d| Instant::now() >= d) {
            return stall.map_or(Ok(None), |e| Err(array_error(e)));
        }
    }
}

/// The first and one-past-last byte where `a` and `b` (of equal length) differ, or `None` if equal.
fn changed(a: &[u8], b: &[u8]) -> Option<(usize, usize)> {
    let first = a.iter().zip(b).position(|(x, y)| x != y)?;
    let last = a.iter().zip(b).rposition(|(x, y)| x != y)?;
    Some((first, last + 1))
}

impl SharedArray {
    fn wrap(py: Python<'_>, inner: SharedArrayDyn, name: String) -> PyResult<Self> {
        let snap = py.detach(|| inner.snapshot()).map_err(array_error)?;
        let record = match inner.created_as().0 {
            created @ DType::Record { .. } => {
                let text = inner.descr().map_err(array_error)?;
                Some(record_dtype(py, &text, created.itemsize(), &name)?.unbind())
            }
            _ => None,
        };
        let layout = Layout::new(py, snap.dtype, snap.shape(), record.as_ref())?;
        Ok(SharedArray {
            slot: GilCell::new(HandleSlot {
                handle: Some(Arc::new(inner)),
                closed: false,
                users: 0,
            }),
            name,
            layout: GilCell::new(layout),
            record,
        })
    }

    /// The layout of `dtype` and `shape` for this array (its record dtype for a [`DType::Record`]).
    fn layout_of(&self, py: Python<'_>, dtype: DType, shape: &[u64]) -> PyResult<Layout> {
        Layout::new(py, dtype, shape, self.record.as_ref())
    }

    /// A dtype as messages name it: the numpy dtype of a record, else the plain dtype's descr.
    fn spell(&self, py: Python<'_>, dtype: DType) -> String {
        match (&self.record, dtype.is_record()) {
            (Some(r), true) => r.bind(py).to_string(),
            _ => dtype.descr().to_string(),
        }
    }

    /// The native handle for one call (see [`Handle`]), or `ClosedError`.
    #[inline]
    pub(crate) fn handle<'a, 'py>(&'a self, py: Python<'py>) -> PyResult<Handle<'a, 'py>> {
        self.try_handle(py)
            .ok_or_else(|| raise(Kind::Closed, format!("array {} is closed", self.name)))
    }

    /// The native handle for one call, or `None` if the handle is closed.
    #[inline]
    pub(crate) fn try_handle<'a, 'py>(&'a self, py: Python<'py>) -> Option<Handle<'a, 'py>> {
        let handle = self.slot.with(py, |s| {
            let handle = NonNull::from(&**s.handle.as_ref().filter(|_| !s.closed)?);
            s.users += 1;
            Some(handle)
        })?;
        Some(Handle {
            array: self,
            handle,
            py,
        })
    }

    /// ``self[key] = value`` with the lock `lock()` gives held around one write, when it needs no conversion by
    /// numpy (the commonest compat sets), parsed once: one element from a Python scalar that converts without
    /// loss, or a step-1 slice of a 1-d array filled with such a scalar or copied from an array of the dtype and
    /// length. `None` (nothing done, no lock taken) for every other key or value.
    pub(crate) fn set_simple_locked<'py>(
        &self,
        py: Python<'py>,
        lock: impl FnOnce() -> PyResult<Bound<'py, NamedLock>>,
        key: &Bound<'py, PyAny>,
        value: &Bound<'py, PyAny>,
    ) -> Option<PyResult<()>> {
        /// What the write copies.
        enum What<'a, 'py> {
            /// One element.
            Item([u8; 16], usize),
            /// One element repeated this many times.
            Fill([u8; 16], usize, usize),
            /// The bytes of an array of the dtype.
            Array(&'a Bound<'py, PyUntypedArray>),
        }
        let guard = self.try_handle(py)?;
        let handle: &SharedArrayDyn = &guard;
        let now = self.current(py);
        let scalar = python_scalar(value, now.dtype);
        let (start, what) = match flat_index(key, &now.shape) {
            Some(flat) => (flat, scalar.map(|(item, len)| What::Item(item, len))?),
            None => {
                let range = contiguous_range(key, &now.shape).ok()??;
                if range.is_empty() {
                    return None;
                }
                let what = match scalar {
                    Some((item, len)) => What::Fill(item, len, range.len()),
                    None => {
                        let array = value.cast::<PyUntypedArray>().ok()?;
                        let exact = array.ndim() == 1
                            && array.shape()[0] == range.len()
                            && array.is_c_contiguous()
                            && array.dtype().is_equiv_to(&now.descr);
                        exact.then_some(What::Array(array))?
                    }
                };
                (range.start, what)
            }
        };
        let target = Target::at(&now, start.checked_mul(now.dtype.itemsize())?);
        let set = || {
            let lock = lock()?;
            lock.get().with_held(py, &guard, || match what {
                What::Item(item, len) => self.write_at(py, handle, &target, Src::Bytes(&item[..len])),
                What::Fill(item, len, count) => {
                    let mut small = [0u8; 256];
                    let mut large = Vec::new();
                    let fill = if len * count <= small.len() {
                        &mut small[..len * count]
                    } else {
                        large.resize(len * count, 0);
                        &mut large[..]
                    };
                    fill.chunks_exact_mut(len).for_each(|c| c.copy_from_slice(&item[..len]));
                    self.write_at(py, handle, &target, Src::Bytes(fill))
                }
                What::Array(array) => self.write_at(py, handle, &target, Src::Array(array, None)),
            })
        };
        Some(set().map(drop))
    }

    /// [`SharedArray::_write_changes`] with ``old`` given as its bytes (the snapshot a native ``array()`` block
    /// keeps).
    pub(crate) fn write_changed(
        &self,
        py: Python<'_>,
        new: &Bound<'_, PyUntypedArray>,
        old: &[u8],
        version: u64,
    ) -> PyResult<Option<bool>> {
        let guard = self.handle(py)?;
        let handle: &SharedArrayDyn = &guard;
        let now = self.current(py);
        let a = match ndarray::bytes(new) {
            Some(a) if now.fits(new) && a.len() == old.len() => a,
            _ => {
                return Err(raise(
                    Kind::Shape,
                    format!(
                        "array {}: new and old must have its dtype and shape, C-contiguous",
                        self.name
                    ),
                ))
            }
        };
        let Some(span) = changed_span(a, old, now.dtype.itemsize()) else {
            return Ok(None);
        };
        let target = Target {
            if_version: Some(version),
            ..Target::at(&now, span.start)
        };
        self.write_at(py, handle, &target, Src::Array(new, Some(span)))
            .map(Some)
    }

    /// The entry of compat's `array()` block (`_NativeBlock`): one consistent read straight into `working`, if it
    /// shows the cached layout exactly and the array still has that layout, and a copy of the bytes read into
    /// `copy`; returns the version read. `None` if that does not apply or a writer is in the way (nothing is then
    /// promised of `working` or `copy`): the caller takes the general path, [`SharedArray::read_reusing`].
    pub(crate) fn read_block(
        &self,
        py: Python<'_>,
        handle: &SharedArrayDyn,
        working: &Bound<'_, PyUntypedArray>,
        copy: &mut Vec<u8>,
    ) -> Option<u64> {
        self.layout.with(py, |l| {
            l.with_exact_bytes_mut(py, working, |dst| {
                let version = read_as(handle, l.dtype, &l.shape, 0, dst)?;
                copy.clear();
                copy.extend_from_slice(dst);
                Some(version)
            })?
        })
    }

    /// The exit of compat's `array()` block: [`SharedArray::write_changed`] for a `working` buffer that shows the
    /// cached layout exactly, with no wait for a writer. `None` (nothing written) if that does not apply or a writer
    /// is in the way: the caller takes the general path, `write_changed`.
    pub(crate) fn write_block(
        &self,
        py: Python<'_>,
        handle: &SharedArrayDyn,
        working: &Bound<'_, PyUntypedArray>,
        old: &[u8],
        version: u64,
    ) -> Option<Option<bool>> {
        self.layout.with(py, |l| {
            l.with_exact_bytes_mut(py, working, |new| {
                if new.len() != old.len() {
                    return None;
                }
                let span = match changed_span(new, old, l.dtype.itemsize()) {
                    Some(span) => span,
                    None => return Some(None),
                };
                let offset = span.start;
                handle
                    .write_bytes_as_timeout(l.dtype, &l.shape, offset, &new[span], Some(version), Duration::ZERO)
                    .ok()
                    .map(Some)
            })?
        })
    }

    fn current<'py>(&self, py: Python<'py>) -> Current<'py> {
        self.layout.with(py, |l| Current {
            dtype: l.dtype,
            shape: l.shape.clone(),
            descr: l.descr.bind(py).clone(),
        })
    }

    fn set_layout(&self, py: Python<'_>, layout: Layout) {
        let old = self.layout.with(py, |l| std::mem::replace(l, layout));
        drop(old); // outside the borrow: releasing a descriptor may run Python code
    }

    /// Caches `dtype` and `shape` as the layout, unless they are the cached one already.
    fn remember_layout(&self, py: Python<'_>, dtype: DType, shape: &[u64]) -> PyResult<()> {
        if !self.layout.with(py, |l| l.matches(dtype, shape)) {
            self.set_layout(py, self.layout_of(py, dtype, shape)?);
        }
        Ok(())
    }

    /// Refreshes the cached layout from the array (after an error that says it changed).
    #[cold]
    fn refresh<'py>(&self, py: Python<'py>, handle: &SharedArrayDyn) -> PyResult<Current<'py>> {
        let snap = py.detach(|| handle.snapshot()).map_err(array_error)?;
        self.remember_layout(py, snap.dtype, snap.shape())?;
        Ok(self.current(py))
    }

    /// One consistent read into a new array: `(array, version)`.
    pub(crate) fn read_new<'py>(&self, py: Python<'py>) -> PyResult<(Bound<'py, PyUntypedArray>, u64)> {
        let guard = self.handle(py)?;
        let handle: &SharedArrayDyn = &guard;
        let now = self.current(py);
        let array = ndarray::empty(py, &now.descr, &now.shape)?;
        match ndarray::with_bytes_mut(&array, |dst| now.read(handle, 0, dst)).flatten() {
            Some(version) => Ok((array, version)),
            None => self.read_new_waiting(py, handle),
        }
    }

    /// [`SharedArray::read_new`] after a writer was in the way or the layout changed: waits with the GIL released.
    #[cold]
    fn read_new_waiting<'py>(
        &self,
        py: Python<'py>,
        handle: &SharedArrayDyn,
    ) -> PyResult<(Bound<'py, PyUntypedArray>, u64)> {
        let read = py.detach(|| handle.read()).map_err(array_error)?;
        let layout = self.layout_of(py, read.dtype, &read.shape)?;
        let array = ndarray::empty(py, layout.descr.bind(py), &read.shape)?;
        ndarray::with_bytes_mut(&array, |dst| dst.copy_from_slice(&read.data))
            .ok_or_else(|| raise(Kind::Base, "numpy returned a new array that is not writeable"))?;
        self.set_layout(py, layout);
        Ok((array, read.version))
    }

    /// One consistent read into `buf` if it still has the array's layout (and is C-contiguous and writeable),
    /// else into a new array: `(array, version, whether it is buf)`.
    pub(crate) fn read_reusing<'py>(
        &self,
        py: Python<'py>,
        buf: Option<Bound<'py, PyUntypedArray>>,
    ) -> PyResult<(Bound<'py, PyUntypedArray>, u64, bool)> {
        if let Some(buf) = buf {
            if let Ok(version) = self.read_out(py, &buf) {
                return Ok((buf, version, true));
            }
        }
        let (array, version) = self.read_new(py)?;
        Ok((array, version, false))
    }

    /// Reads into `out` (C-contiguous, writeable, of the array's dtype and shape); returns the version.
    pub(crate) fn read_out(&self, py: Python<'_>, out: &Bound<'_, PyUntypedArray>) -> PyResult<u64> {
        let guard = self.handle(py)?;
        let handle: &SharedArrayDyn = &guard;
        let now = self.current(py);
        let fast_layout = now.fits(out);
        let not_writeable = || raise(Kind::Shape, "out must be a writeable C-contiguous array");
        let read = ndarray::with_bytes_mut(out, |dst| fast_layout.then(|| now.read(handle, 0, dst)).flatten())
            .ok_or_else(not_writeable)?;
        if let Some(version) = read {
            return Ok(version);
        }
        let read = py.detach(|| handle.read()).map_err(array_error)?;
        self.remember_layout(py, read.dtype, &read.shape)?;
        let now = self.current(py);
        if !now.fits(out) {
            let (kind, found) = if out.dtype().is_equiv_to(&now.descr) {
                (Kind::Shape, format!("shape {:?}", now.shape.as_slice()))
            } else {
                (Kind::DTypeMismatch, format!("{} elements", self.spell(py, now.dtype)))
            };
            return Err(raise(
                kind,
                format!(
                    "array {} has {found}; out has shape {:?} of {}",
                    self.name,
                    out.shape(),
                    out.dtype()
                ),
            ));
        }
        ndarray::with_bytes_mut(out, |dst| dst.copy_from_slice(&read.data)).ok_or_else(not_writeable)?;
        Ok(read.version)
    }

    /// Writes the bytes `range` of `src` (all of them with `None`) at `to`: first with the GIL held and no wait,
    /// then, if a writer is in the way, from a copy with the GIL released. Returns whether it wrote (`false` only
    /// when `to.if_version` moved on).
    fn write_at(&self, py: Python<'_>, handle: &SharedArrayDyn, to: &Target<'_>, src: Src<'_, '_>) -> PyResult<bool> {
        // A numpy buffer is sliced only inside these two GIL-held scopes: the wait below runs on a copy.
        let now = src.with(|bytes| {
            handle.write_bytes_as_timeout(to.dtype, to.shape, to.offset, bytes, to.if_version, Duration::ZERO)
        })?;
        let outcome = match now {
            Err(e) if e.is_stall() => {
                let owned = src.with(<[u8]>::to_vec)?;
                py.detach(|| handle.write_bytes_as(to.dtype, to.shape, to.offset, &owned, to.if_version))
            }
            other => other,
        };
        match outcome {
            Ok(wrote) => Ok(wrote),
            Err(e @ (SharedArrayError::DTypeMismatch { .. } | SharedArrayError::ShapeMismatch { .. })) => {
                // Reshaped by another handle: remember the new layout, and say what it is.
                self.refresh(py, handle)?;
                Err(array_error(e))
            }
            Err(e) => Err(array_error(e)),
        }
    }
}

/// One consistent read from `byte_offset` into `dst` with the GIL held and no wait, if the array has `dtype` and
/// `shape`: the version read, or `None` if it has another layout, a writer is in the way or the read fails (nothing is
/// promised of `dst` then; the caller's general path reads again, waiting and reporting errors).
#[inline(always)]
fn read_as(handle: &SharedArrayDyn, dtype: DType, shape: &[u64], byte_offset: usize, dst: &mut [u8]) -> Option<u64> {
    handle
        .read_bytes_as_timeout(dtype, shape, byte_offset, dst, Duration::ZERO)
        .ok()
        .flatten()
}

/// The bytes of the whole elements of `itemsize` bytes that cover every byte where `new` and `old` (of one length, a
/// multiple of `itemsize`) differ, or `None` if they are equal. Compared 8 bytes at a time, so the span may take in
/// unchanged elements beside the changed ones: callers write it only if no write came since `old` was read (a write
/// with `if_version`), when those elements hold `old`'s bytes already.
fn changed_span(new: &[u8], old: &[u8], itemsize: usize) -> Option<Range<usize>> {
    const W: usize = 8;
    let ((a, a_tail), (b, b_tail)) = (new.as_chunks::<W>(), old.as_chunks::<W>());
    let tail_differs = !a_tail.is_empty() && a_tail != b_tail;
    let first = match a.iter().zip(b).position(|(x, y)| x != y) {
        Some(i) => i,
        None if tail_differs => a.len(),
        None => return None,
    };
    let end = match tail_differs {
        true => new.len(),
        false => (first + a[first..].iter().zip(&b[first..]).rposition(|(x, y)| x != y)? + 1) * W,
    };
    let (start, size) = (first * W, itemsize.max(1));
    Some(match size.is_power_of_two() {
        // Masks, not divisions (tens of cycles each), for every plain dtype.
        true => start & !(size - 1)..(end + size - 1) & !(size - 1),
        false => start / size * size..end.div_ceil(size) * size,
    })
}

/// The elements `key` selects when it is a slice with step 1 of a 1-d array (numpy's clamping of the bounds), else
/// `None`.
fn contiguous_range(key: &Bound<'_, PyAny>, shape: &[u64]) -> PyResult<Option<Range<usize>>> {
    let (Ok(slice), [len]) = (key.cast::<PySlice>(), shape) else {
        return Ok(None);
    };
    let Ok(len) = isize::try_from(*len) else {
        return Ok(None);
    };
    let indices = slice.indices(len)?;
    if indices.step != 1 {
        return Ok(None);
    }
    let start = indices.start.max(0) as usize;
    let stop = (indices.stop.max(indices.start)).max(0) as usize;
    Ok(Some(start..stop))
}

/// What a write copies from.
enum Src<'a, 'py> {
    /// The bytes of a numpy array (all of them, or a range).
    Array(&'a Bound<'py, PyUntypedArray>, Option<Range<usize>>),
    /// Bytes this crate owns.
    Bytes(&'a [u8]),
}

impl Src<'_, '_> {
    /// Runs `f` on the source bytes (with the GIL held: a numpy buffer is never sliced while it is released).
    fn with<R>(&self, f: impl FnOnce(&[u8]) -> R) -> PyResult<R> {
        match self {
            Src::Array(array, range) => {
                let bytes = ndarray::bytes(array).ok_or_else(|| raise(Kind::Shape, "the data is not C-contiguous"))?;
                Ok(f(range.clone().map_or(bytes, |r| &bytes[r])))
            }
            Src::Bytes(bytes) => Ok(f(bytes)),
        }
    }
}

/// Where a write goes: the layout it assumes, its byte offset, and the version it is conditional on.
struct Target<'a> {
    dtype: DType,
    shape: &'a [u64],
    offset: usize,
    if_version: Option<u64>,
}

impl<'a> Target<'a> {
    fn at(now: &'a Current<'_>, offset: usize) -> Self {
        Target {
            dtype: now.dtype,
            shape: &now.shape,
            offset,
            if_version: None,
        }
    }
}

#[pymethods]
impl SharedArray {
    /// Creates the zero-filled array ``name`` of ``shape`` and ``dtype`` (mode 0600).
    ///
    /// ``dtype`` is any fixed-size numpy dtype: bool, little-endian ints, floats and complex natively, and any other
    /// (``'<U8'``, ``'S16'``, structured records with nested and subarray fields, big-endian numbers, datetimes) as
    /// records whose numpy descr the region records, so that :meth:`open` without a dtype finds it.
    /// ``exists_ok`` replaces an existing array of that name; ``capacity`` (in elements) reserves room for later
    /// :meth:`reshape`; ``timeout`` (seconds, default 1) bounds every wait on a writer.
    ///
    /// Raises ``AlreadyExistsError``, ``InvalidNameError``, ``DTypeMismatchError`` (a dtype of Python objects, of
    /// zero size, a subarray dtype, or one whose descr is over 4 KiB), ``ShapeError``.
    #[classmethod]
    #[pyo3(signature = (name, shape, dtype, *, exists_ok = false, capacity = None, timeout = None))]
    #[allow(clippy::too_many_arguments)] // Python's keyword arguments
    fn create(
        _cls: &Bound<'_, pyo3::types::PyType>,
        py: Python<'_>,
        name: String,
        shape: &Bound<'_, PyAny>,
        dtype: &Bound<'_, PyAny>,
        exists_ok: bool,
        capacity: Option<u64>,
        timeout: Option<f64>,
    ) -> PyResult<Self> {
        let shape = shape_of(shape)?;
        let (dtype, descr) = descr_of(py, dtype)?;
        let text = if dtype.is_record() {
            record_descr(py, &descr)?
        } else {
            String::new()
        };
        let options = options(exists_ok, capacity, timeout)?;
        let inner = py
            .detach(|| SharedArrayDyn::create_described(&name, dtype, &text, &shape, &options))
            .map_err(array_error)?;
        Self::wrap(py, inner, name)
    }

    /// Opens the array ``name``; ``dtype`` and ``shape``, when given, must be the array's. Without ``dtype``, an
    /// array of records gets the numpy dtype its region records.
    ///
    /// Raises ``NotFoundError``, ``DTypeMismatchError``, ``ShapeError``, ``InvalidNameError``.
    #[classmethod]
    #[pyo3(signature = (name, dtype = None, shape = None, *, timeout = None))]
    fn open(
        _cls: &Bound<'_, pyo3::types::PyType>,
        py: Python<'_>,
        name: String,
        dtype: Option<&Bound<'_, PyAny>>,
        shape: Option<&Bound<'_, PyAny>>,
        timeout: Option<f64>,
    ) -> PyResult<Self> {
        let want_dtype = dtype.map(|d| descr_of(py, d)).transpose()?;
        let want_shape = shape.map(shape_of).transpose()?;
        let options = options(false, None, timeout)?;
        let inner = py
            .detach(|| SharedArrayDyn::open_with(&name, &options))
            .map_err(array_error)?;
        let array = Self::wrap(py, inner, name)?;
        {
            let l = array.current(py);
            let other = |(d, descr): &(DType, Bound<'_, PyArrayDescr>)| {
                *d != l.dtype || (d.is_record() && !descr.is_equiv_to(&l.descr))
            };
            if let Some((_, d)) = want_dtype.filter(other) {
                return Err(raise(
                    Kind::DTypeMismatch,
                    format!(
                        "array {} holds {} elements, not {d}",
                        array.name,
                        array.spell(py, l.dtype),
                    ),
                ));
            }
            if let Some(s) = want_shape.filter(|s| s.as_slice() != l.shape.as_slice()) {
                return Err(raise(
                    Kind::Shape,
                    format!("array {} has shape {:?}, not {s:?}", array.name, l.shape.as_slice()),
                ));
            }
        }
        Ok(array)
    }

    /// One consistent read: a new array, or ``out`` filled (C-contiguous, writeable, the array's dtype and shape)
    /// and returned.
    ///
    /// Raises ``SeqringTimeoutError`` if a writer stalls beyond the timeout, ``DTypeMismatchError`` /
    /// ``ShapeError`` for a bad ``out``.
    #[pyo3(signature = (out = None))]
    pub(crate) fn read<'py>(&self, py: Python<'py>, out: Option<&Bound<'py, PyAny>>) -> PyResult<Bound<'py, PyAny>> {
        match out {
            None => Ok(self.read_new(py)?.0.into_any()),
            Some(out) => {
                let array = out.cast::<PyUntypedArray>().map_err(|_| {
                    pyo3::exceptions::PyTypeError::new_err(format!(
                        "out must be a numpy array, not {}",
                        crate::errors::type_name(out)
                    ))
                })?;
                self.read_out(py, array)?;
                Ok(out.clone())
            }
        }
    }

    /// ``(version, array)`` if a write completed since ``version``, else ``None`` (no copy).
    ///
    /// Raises as :meth:`read`.
    fn read_if_changed<'py>(&self, py: Python<'py>, version: u64) -> PyResult<Option<(u64, Bound<'py, PyAny>)>> {
        let guard = self.handle(py)?;
        let handle: &SharedArrayDyn = &guard;
        if !handle.changed_since(version) {
            return Ok(None);
        }
        let (array, read) = self.read_new(py)?;
        Ok((read != version).then(|| (read, array.into_any())))
    }

    /// Blocks until a write completes after ``version`` and returns the new version, or ``None`` when ``timeout``
    /// seconds pass first (``None``: no bound). Returns at once if the version already differs. The GIL is released
    /// while it waits, and Ctrl-C (any signal handler's exception) interrupts it within 0.1 s. The wait blocks
    /// until the writer wakes it, with no CPU used meanwhile (a futex on Linux, a ulock on macOS, a named event on
    /// Windows).
    ///
    /// Raises ``SeqringTimeoutError`` if a writer held its write section for the whole timeout (a dead writer:
    /// see :meth:`recover`).
    #[pyo3(signature = (version, timeout = None))]
    fn wait_changed(&self, py: Python<'_>, version: u64, timeout: Option<f64>) -> PyResult<Option<u64>> {
        wait_in_slices(py, &*self.handle(py)?, version, timeout)
    }

    /// :meth:`wait_changed`, then :meth:`read`: ``(version, array)`` for the first write after ``version``, or
    /// ``None`` when ``timeout`` seconds pass first. The blocking form of :meth:`read_if_changed`.
    ///
    /// Raises as :meth:`wait_changed` and :meth:`read`.
    #[pyo3(signature = (version, timeout = None))]
    fn read_when_changed<'py>(
        &self,
        py: Python<'py>,
        version: u64,
        timeout: Option<f64>,
    ) -> PyResult<Option<(u64, Bound<'py, PyAny>)>> {
        if wait_in_slices(py, &*self.handle(py)?, version, timeout)?.is_none() {
            return Ok(None);
        }
        let (array, read) = self.read_new(py)?;
        Ok(Some((read, array.into_any())))
    }

    /// Writes ``data`` (the array's shape) in one write. Values of another dtype are converted only if every value
    /// survives the conversion (``[1, 2]`` into ``uint8`` does; ``1.5`` into ``int32`` does not); floats round to
    /// a narrower float type unless a finite value overflows.
    ///
    /// Raises ``ShapeError`` for another shape, ``DTypeMismatchError`` for values the dtype cannot hold,
    /// ``SeqringTimeoutError`` if another writer stalls.
    fn write(&self, py: Python<'_>, data: &Bound<'_, PyAny>) -> PyResult<()> {
        let guard = self.handle(py)?;
        let handle: &SharedArrayDyn = &guard;
        let now = self.current(py);
        if let Ok(array) = data.cast::<PyUntypedArray>() {
            if now.fits(array) && array.is_c_contiguous() {
                self.write_at(py, handle, &Target::at(&now, 0), Src::Array(array, None))?;
                return Ok(());
            }
        }
        let array = converted(py, data, &now.descr, &self.name)?;
        if !now.fits(&array) {
            return Err(raise(
                Kind::Shape,
                format!(
                    "array {} has shape {:?}, not {:?}",
                    self.name,
                    now.shape.as_slice(),
                    array.shape()
                ),
            ));
        }
        self.write_at(py, handle, &Target::at(&now, 0), Src::Array(&array, None))?;
        Ok(())
    }

    /// ``a[key]``: one int per dimension reads that element (a numpy scalar); a slice with step 1 of a 1-d array
    /// reads those elements into a new array; any other numpy key is applied to one consistent read (a new array).
    pub(crate) fn __getitem__<'py>(&self, py: Python<'py>, key: &Bound<'py, PyAny>) -> PyResult<Bound<'py, PyAny>> {
        let guard = self.handle(py)?;
        let handle: &SharedArrayDyn = &guard;
        let now = self.current(py);
        let size = now.dtype.itemsize();
        match flat_index(key, &now.shape) {
            Some(flat) if now.dtype.is_record() => {
                // A record: its bytes into a new 0-d array of the record dtype, whose item numpy hands out
                // (np.str_, np.bytes_, np.void, ...).
                let one = ndarray::empty(py, &now.descr, &[])?;
                let read = flat
                    .checked_mul(size)
                    .and_then(|offset| ndarray::with_bytes_mut(&one, |dst| now.read(handle, offset, dst))?);
                if read.is_some() {
                    return one.get_item(PyTuple::empty(py));
                }
            }
            Some(flat) => {
                let mut item = [0u8; 16];
                let item = &mut item[..size];
                if flat
                    .checked_mul(size)
                    .and_then(|offset| now.read(handle, offset, item))
                    .is_some()
                {
                    return ndarray::scalar(py, &now.descr, item);
                }
            }
            None => {
                // A step-1 slice of a 1-d array: only its elements, straight into the new array.
                if let Ok(Some(range)) = contiguous_range(key, &now.shape) {
                    if let (false, Some(offset)) = (range.is_empty(), range.start.checked_mul(size)) {
                        let part = ndarray::empty(py, &now.descr, &[range.len() as u64])?;
                        if ndarray::with_bytes_mut(&part, |dst| now.read(handle, offset, dst))
                            .flatten()
                            .is_some()
                        {
                            return Ok(part.into_any());
                        }
                    }
                }
            }
        }
        self.read_new(py)?.0.get_item(key)
    }

    /// ``a[key] = value`` in one write, with numpy's indexing and broadcasting; values are converted as in
    /// :meth:`write`. Atomic against every other writer: a write that lands in between makes it retry on the new
    /// contents (within the timeout).
    fn __setitem__(&self, py: Python<'_>, key: &Bound<'_, PyAny>, value: &Bound<'_, PyAny>) -> PyResult<()> {
        let guard = self.handle(py)?;
        let handle: &SharedArrayDyn = &guard;
        let now = self.current(py);
        let flat = flat_index(key, &now.shape);
        let offset = |flat: usize| {
            flat.checked_mul(now.dtype.itemsize())
                .ok_or_else(|| raise(Kind::Shape, "index overflow"))
        };
        if let (Some(flat), Some((item, len))) = (flat, python_scalar(value, now.dtype)) {
            self.write_at(py, handle, &Target::at(&now, offset(flat)?), Src::Bytes(&item[..len]))?;
            return Ok(());
        }
        if let Some(range) = contiguous_range(key, &now.shape)? {
            // A slice of a 1-d array with step 1: a scalar fills it, an array of the dtype and length is copied in;
            // one write of those bytes, without reading the array.
            let itemsize = now.dtype.itemsize();
            if let Some((item, len)) = python_scalar(value, now.dtype) {
                if range.is_empty() {
                    return Ok(());
                }
                let fill = item[..len].repeat(range.len());
                self.write_at(py, handle, &Target::at(&now, offset(range.start)?), Src::Bytes(&fill))?;
                return Ok(());
            }
            if let Ok(array) = value.cast::<PyUntypedArray>() {
                let exact = array.ndim() == 1
                    && array.shape()[0] == range.len()
                    && array.dtype().is_equiv_to(&now.descr)
                    && array.is_c_contiguous();
                if exact && !range.is_empty() {
                    debug_assert_eq!(ndarray::bytes(array).map(<[u8]>::len), Some(range.len() * itemsize));
                    self.write_at(
                        py,
                        handle,
                        &Target::at(&now, offset(range.start)?),
                        Src::Array(array, None),
                    )?;
                    return Ok(());
                }
            }
        }
        let value = converted(py, value, &now.descr, &self.name)?;
        if let (Some(flat), 0) = (flat, value.ndim()) {
            self.write_at(py, handle, &Target::at(&now, offset(flat)?), Src::Array(&value, None))?;
            return Ok(());
        }
        // Read, modify the copy with numpy, and write back only if no write completed meanwhile.
        let deadline = Instant::now() + handle.timeout();
        loop {
            let (copy, version) = self.read_new(py)?;
            let before = ndarray::bytes(&copy).map(<[u8]>::to_vec).unwrap_or_default();
            copy.set_item(key, &value)?;
            let after = ndarray::bytes(&copy).ok_or_else(|| raise(Kind::Base, "the copy is not contiguous"))?;
            let Some((from, end)) = changed(&before, after) else {
                return Ok(());
            };
            let now = self.current(py);
            let target = Target {
                if_version: Some(version),
                ..Target::at(&now, from)
            };
            if self.write_at(py, handle, &target, Src::Array(&copy, Some(from..end)))? {
                return Ok(());
            }
            if Instant::now() >= deadline {
                return Err(raise(
                    Kind::Timeout,
                    format!("array {}: other writers kept changing it beyond the timeout", self.name),
                ));
            }
        }
    }

    /// ``self[key] = value`` with ``lock`` (a :class:`_NamedLock`) held around it: ``seqring.compat``'s
    /// ``arr[i] = v``, which takes the array's lock as ataraxis does, in one call.
    pub(crate) fn _set_locked(
        &self,
        py: Python<'_>,
        lock: &Bound<'_, NamedLock>,
        key: &Bound<'_, PyAny>,
        value: &Bound<'_, PyAny>,
    ) -> PyResult<()> {
        // Lock CAS, seqlock write, unlock, all on this handle's one mapping (a lock of another array raises).
        let (lock, guard) = (lock.get(), self.handle(py)?);
        lock.acquire_on(py, &guard)?;
        let set = self.__setitem__(py, key, value); // may run Python code: `release_on` checks again
        let released = lock.release_on(&guard);
        set.and(released)
    }

    /// Writes the elements of ``new`` whose bytes differ from ``old`` (both C-contiguous arrays of this array's
    /// dtype and shape, ``old`` read after ``version``), as the one span from the first changed element to the last,
    /// in one write, if no write completed since ``version``. Returns ``None`` if nothing changed, else whether it
    /// wrote (``False``: another write came first; nothing was written). For ``seqring.compat``'s ``array()``
    /// blocks.
    pub(crate) fn _write_changes(
        &self,
        py: Python<'_>,
        new: &Bound<'_, PyUntypedArray>,
        old: &Bound<'_, PyUntypedArray>,
        version: u64,
    ) -> PyResult<Option<bool>> {
        if !self.current(py).fits(old) {
            return Err(raise(
                Kind::Shape,
                format!("array {}: new and old must have its dtype and shape", self.name),
            ));
        }
        let old = ndarray::bytes(old).ok_or_else(|| raise(Kind::Shape, "new and old must be C-contiguous"))?;
        self.write_changed(py, new, old, version)
    }

    /// Atomic read-modify-write: calls ``f(a)`` with a fresh copy ``a`` of the contents, which ``f`` changes in
    /// place, and writes ``a`` back in one write only if no other write completed in between; otherwise reads and
    /// calls ``f`` again (so ``f`` must be safe to repeat: compute from ``a`` alone). Returns what ``f`` returned
    /// on the attempt that was written. No lock is held while ``f`` runs: readers and other writers never wait on
    /// Python code, and no update is lost (``a.update(lambda c: c.__iadd__(1))`` from many processes counts
    /// every one).
    ///
    /// Raises ``SeqringTimeoutError`` if other writers got in first ``max_attempts`` times in a row, and whatever
    /// ``f`` raises (nothing is written then).
    #[pyo3(signature = (f, *, max_attempts = 10_000))]
    fn update<'py>(&self, py: Python<'py>, f: &Bound<'py, PyAny>, max_attempts: usize) -> PyResult<Bound<'py, PyAny>> {
        let guard = self.handle(py)?;
        let handle: &SharedArrayDyn = &guard;
        for _ in 0..max_attempts {
            let (array, version) = self.read_new(py)?;
            let result = f.call1((&array,))?;
            let now = self.current(py);
            if !now.fits(&array) {
                continue; // reshaped meanwhile: the version check below would refuse it anyway
            }
            let target = Target {
                if_version: Some(version),
                ..Target::at(&now, 0)
            };
            if self.write_at(py, handle, &target, Src::Array(&array, None))? {
                return Ok(result);
            }
        }
        Err(raise(
            Kind::Timeout,
            format!(
                "array {}: update lost to other writers {max_attempts} times in a row",
                self.name
            ),
        ))
    }

    /// Changes the shape (and, with ``dtype``, the element type) within the capacity, leaving the bytes as they
    /// are, in one write.
    ///
    /// Raises ``ShapeError`` beyond the capacity, ``DTypeMismatchError`` for an unsupported dtype.
    #[pyo3(signature = (shape, dtype = None))]
    fn reshape(&self, py: Python<'_>, shape: &Bound<'_, PyAny>, dtype: Option<&Bound<'_, PyAny>>) -> PyResult<()> {
        let guard = self.handle(py)?;
        let handle: &SharedArrayDyn = &guard;
        let shape = shape_of(shape)?;
        let dtype = match dtype {
            Some(d) => {
                let (dtype, descr) = descr_of(py, d)?;
                let described = self.record.as_ref().is_some_and(|r| descr.is_equiv_to(r.bind(py)));
                if dtype.is_record() && !described {
                    return Err(raise(
                        Kind::DTypeMismatch,
                        format!(
                            "array {} can hold {descr} elements only if created with that dtype (its records are {})",
                            self.name,
                            self.record
                                .as_ref()
                                .map_or_else(|| "none".to_string(), |r| r.bind(py).to_string())
                        ),
                    ));
                }
                dtype
            }
            None => self.current(py).dtype,
        };
        py.detach(|| handle.reshape(dtype, &shape)).map_err(array_error)?;
        self.set_layout(py, self.layout_of(py, dtype, &shape)?);
        Ok(())
    }

    /// Clears a stall left by a writer that died in its write section; returns whether there was one. The contents
    /// are marked suspect until the next whole write. Call it only when that writer is known to be dead.
    fn recover(&self, py: Python<'_>) -> PyResult<bool> {
        // The stall seen now is the one recovered (the core refuses any other: a second recoverer that comes after
        // a live writer locked changes nothing).
        let guard = self.handle(py)?;
        let handle: &SharedArrayDyn = &guard;
        Ok(handle.stall().is_some_and(|stall| handle.recover(stall.sequence)))
    }

    /// Whether the contents are a partial write recovered from a dead writer (see :meth:`recover`): ``True`` until
    /// the next whole write. :meth:`read` hands such contents out; check this flag before trusting them.
    #[getter]
    fn suspect(&self, py: Python<'_>) -> PyResult<bool> {
        let guard = self.handle(py)?;
        let handle: &SharedArrayDyn = &guard;
        py.detach(|| handle.snapshot()).map(|s| s.suspect).map_err(array_error)
    }

    /// How many threads, in any process, are blocked in :meth:`wait_changed` on this array now (informational).
    #[getter]
    fn waiters(&self, py: Python<'_>) -> PyResult<u64> {
        Ok(self.handle(py)?.waiters())
    }

    /// The version: changes with every completed write (no wait).
    #[getter]
    fn version(&self, py: Python<'_>) -> PyResult<u64> {
        Ok(self.handle(py)?.version())
    }

    /// Seconds since the last write (to the kernel tick, 1–4 ms), or ``None`` if never written.
    #[getter]
    fn age(&self, py: Python<'_>) -> PyResult<Option<f64>> {
        let guard = self.handle(py)?;
        let handle: &SharedArrayDyn = &guard;
        let age = py.detach(|| handle.age()).map_err(array_error)?;
        Ok(age.map(|a| a.as_secs_f64()))
    }

    /// The array's name (its region is ``/dev/shm/<name>`` on Linux; see the README's Platforms for the others).
    #[getter]
    fn name(&self) -> &str {
        &self.name
    }

    /// The element type (current: follows reshapes).
    #[getter]
    fn dtype<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyArrayDescr>> {
        Ok(self.refresh(py, &*self.handle(py)?)?.descr)
    }

    /// The shape (current: follows reshapes).
    #[getter]
    fn shape<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyTuple>> {
        let now = self.refresh(py, &*self.handle(py)?)?;
        PyTuple::new(py, now.shape.iter())
    }

    /// The number of dimensions.
    #[getter]
    fn ndim(&self, py: Python<'_>) -> PyResult<usize> {
        Ok(self.refresh(py, &*self.handle(py)?)?.shape.len())
    }

    /// The number of elements.
    #[getter]
    fn size(&self, py: Python<'_>) -> PyResult<u64> {
        Ok(self.refresh(py, &*self.handle(py)?)?.shape.iter().product())
    }

    /// The data's size in bytes.
    #[getter]
    fn nbytes(&self, py: Python<'_>) -> PyResult<u64> {
        let now = self.refresh(py, &*self.handle(py)?)?;
        Ok(now.shape.iter().product::<u64>() * now.dtype.itemsize() as u64)
    }

    /// The capacity in bytes (the largest reshape possible).
    #[getter]
    fn capacity_bytes(&self, py: Python<'_>) -> PyResult<usize> {
        Ok(self.handle(py)?.capacity_bytes())
    }

    /// Whether the handle was closed or destroyed.
    #[getter]
    fn closed(&self, py: Python<'_>) -> bool {
        self.slot.with(py, |s| s.closed)
    }

    fn __len__(&self, py: Python<'_>) -> PyResult<usize> {
        let now = self.refresh(py, &*self.handle(py)?)?;
        match now.shape.first() {
            Some(&n) => Ok(n as usize),
            None => Err(pyo3::exceptions::PyTypeError::new_err("len() of a 0-d array")),
        }
    }

    /// ``np.asarray(a)``: one consistent read.
    #[pyo3(signature = (dtype = None, copy = None))]
    fn __array__<'py>(
        &self,
        py: Python<'py>,
        dtype: Option<&Bound<'py, PyAny>>,
        copy: Option<bool>,
    ) -> PyResult<Bound<'py, PyAny>> {
        let _ = copy; // every read is a new array: a copy whatever is asked
        let array = self.read_new(py)?.0.into_any();
        match dtype {
            Some(d) => array.call_method1("astype", (d,)),
            None => Ok(array),
        }
    }

    /// Closes the handle; a creating handle removes the array. A call that another thread is making on this handle
    /// meanwhile (waiting on a writer, with the GIL released) finishes first on the mapping it started with: the
    /// array is unmapped (and removed) when it returns. Closing a closed handle does nothing.
    fn close(&self, py: Python<'_>) {
        let dropped = self.slot.with(py, |s| {
            s.closed = true;
            if s.users == 0 {
                s.handle.take()
            } else {
                None
            }
        });
        drop(dropped); // outside the borrow (and, with a call inside, by that call's end)
    }

    /// Removes the array now (whoever created it) and closes the handle.
    ///
    /// Raises ``ClosedError`` if the handle is closed, ``NotFoundError`` if the array was already removed,
    /// ``SeqringError`` while another thread is inside a call on this handle (waiting on a writer).
    fn destroy(&self, py: Python<'_>) -> PyResult<()> {
        let taken = self.slot.with(py, |s| {
            if s.closed {
                return Err(Kind::Closed);
            }
            if s.users > 0 {
                return Err(Kind::Base);
            }
            s.closed = true;
            Ok(s.handle.take())
        });
        let handle = match taken {
            Ok(handle) => handle.and_then(Arc::into_inner),
            Err(Kind::Closed) => return Err(raise(Kind::Closed, format!("array {} is closed", self.name))),
            Err(kind) => {
                return Err(raise(
                    kind,
                    "the array is in use by another thread (a call waiting on a writer); destroy it after that call returns",
                ))
            }
        };
        // The `Arc` is never cloned (see `HandleSlot`): it is this slot's alone.
        let handle = handle.ok_or_else(|| raise(Kind::Base, "the array's handle is shared"))?;
        py.detach(|| handle.destroy()).map_err(array_error)
    }

    fn __enter__(slf: Bound<'_, Self>) -> Bound<'_, Self> {
        slf
    }

    #[pyo3(signature = (*_exc))]
    fn __exit__(&self, py: Python<'_>, _exc: &Bound<'_, PyTuple>) {
        self.close(py);
    }

    /// Pickles as ``SharedArray.open(name)``: the receiving process opens the array by name.
    fn __reduce__<'py>(slf: &Bound<'py, Self>) -> PyResult<(Bound<'py, PyAny>, (String,))> {
        let open = slf.get_type().getattr("open")?;
        Ok((open, (slf.get().name.clone(),)))
    }

    fn __repr__(&self, py: Python<'_>) -> String {
        let now = self.current(py);
        let state = match self.try_handle(py) {
            Some(h) => format!("version={}", h.version()),
            None => "closed".to_string(),
        };
        format!(
            "SharedArray({:?}, shape={:?}, dtype='{}', {state})",
            self.name,
            now.shape.as_slice(),
            self.spell(py, now.dtype)
        )
    }
}
