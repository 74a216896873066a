//! `LogArchive` and `assemble_log_archives` for Python: archives read through the memory map, payloads handed out
//! as zero-copy read-only numpy views of that map. Opening checks the archive's directory; each entry is checked the
//! first time it is read (see `seqring::archive::LogArchive`), and one that fails raises `CorruptError` naming it
//! (`verify=True` or `verify_all()` checks every entry up front).
//!
//! Invariants: every payload view is a 1-D `uint8` ndarray without `WRITEABLE` whose numpy base is the
//! `LogArchive` object that owns the map, so the map outlives every view (deleting the last Python reference to the
//! archive leaves it alive as long as a view is); numpy refuses to make such a view writeable, because its base
//! exposes no writable buffer. The archive's bytes never move or change while it is open (the map is read-only and
//! archives are replaced whole, never modified in place: see `seqring::archive`). An archive with deflated members
//! (numpy's `savez_compressed`) is inflated at open into an owned buffer that the `LogArchive` holds and never
//! changes: the views are of that buffer instead, with the same guarantees.

use crate::errors::{archive_error, assemble_error};
use crate::ndarray::ViewMaker;
use numpy::PyArray1;
use pyo3::exceptions::{PyIndexError, PyValueError};
use pyo3::ffi;
use pyo3::prelude::*;
use pyo3::types::{PyDict, PyList, PyRange, PyTuple};
use seqring::archive::{AssembleOptions, Compression, LogArchive};
use std::collections::BTreeMap;
use std::ops::Range;
use std::path::PathBuf;

/// A log archive (`{source}_log.npz`), memory-mapped; its directory checked on open, each entry on first read.
#[pyclass(module = "seqring._seqring", name = "LogArchive", frozen)]
pub(crate) struct PyLogArchive {
    inner: LogArchive,
    /// The addresses of the archive's bytes (the map, or the inflated image), every payload among them; empty when
    /// there are no messages.
    span: Range<usize>,
}

#[pymethods]
impl PyLogArchive {
    /// Opens the archive at `path`, checking its directory; with `verify=True`, every entry too (else each is
    /// checked when first read).
    #[new]
    #[pyo3(signature = (path, *, lenient = false, verify = false))]
    fn new(py: Python<'_>, path: PathBuf, lenient: bool, verify: bool) -> PyResult<Self> {
        let inner = py
            .detach(|| {
                if !lenient {
                    return if verify {
                        LogArchive::open_verified(&path)
                    } else {
                        LogArchive::open(&path)
                    };
                }
                let archive = LogArchive::open_lenient(&path)?;
                if verify {
                    archive.verify_all()?;
                }
                Ok(archive)
            })
            .map_err(archive_error)?;
        // Empty for an archive without messages (`read_flat`'s buffer is then empty too).
        let span = if inner.message_count() == 0 {
            0..0
        } else {
            let r = inner.as_bytes().as_ptr_range();
            r.start as usize..r.end as usize
        };
        Ok(PyLogArchive { inner, span })
    }

    /// Checks every entry not yet checked (in parallel, without the GIL), so that no later read fails; raises
    /// `CorruptError` naming the first bad entry.
    fn verify_all(&self, py: Python<'_>) -> PyResult<()> {
        py.detach(|| self.inner.verify_all()).map_err(archive_error)
    }

    /// Whether the archive has an onset entry (always, unless opened with ``lenient=True``: ataraxis's reader's
    /// rules, where an archive without one opens with an onset of 0 and misnamed entries are skipped).
    #[getter]
    fn has_onset(&self) -> bool {
        self.inner.has_onset()
    }

    /// The archive's path.
    #[getter]
    fn path(&self) -> PathBuf {
        self.inner.path().to_path_buf()
    }

    /// The source id that logged its messages.
    #[getter]
    fn source_id(&self) -> u8 {
        self.inner.source_id()
    }

    /// The source's onset: µs since the UNIX epoch.
    #[getter]
    fn onset_us(&self) -> u64 {
        self.inner.onset_us()
    }

    /// The number of messages (the onset entry excluded).
    #[getter]
    fn message_count(&self) -> usize {
        self.inner.message_count()
    }

    fn __len__(&self) -> usize {
        self.inner.message_count()
    }

    /// The key of every message, in archive order: its entry name without `.npy`, as `np.load(path).files` lists
    /// it (the onset's excluded); for ataraxis's `get_batches`/`iter_messages(keys)`.
    fn keys<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyList>> {
        PyList::new(py, self.inner.keys())
    }

    /// Message `index` (negative counts from the end) as `(timestamp_us, payload)`; the payload is a read-only
    /// `uint8` view into the archive.
    fn __getitem__<'py>(slf: &Bound<'py, Self>, index: isize) -> PyResult<(u64, Bound<'py, PyAny>)> {
        let archive = &slf.get().inner;
        let count = archive.message_count();
        let at = if index < 0 {
            index.checked_add_unsigned(count)
        } else {
            Some(index)
        };
        let i = at
            .and_then(|i| usize::try_from(i).ok())
            .filter(|&i| i < count)
            .ok_or_else(|| PyIndexError::new_err(format!("message index {index} out of range for {count} messages")))?;
        let message = archive.get(i).map_err(archive_error)?;
        Ok((message.timestamp_us, views(slf)?.bound(message.payload)?))
    }

    /// Iterates the messages in archive order as `(timestamp_us, payload)` pairs (payloads as in `read_all`).
    fn __iter__(slf: Bound<'_, Self>) -> LogArchiveIter {
        LogArchiveIter {
            archive: slf.unbind(),
            next: 0,
        }
    }

    /// Every message: `(timestamps, payloads)`: the timestamps (µs since the epoch) as one `uint64` ndarray and the
    /// payloads as a list of read-only `uint8` ndarray views into the archive's memory map (no copy); each view
    /// keeps the map alive.
    fn read_all<'py>(slf: &Bound<'py, Self>) -> PyResult<(Bound<'py, PyArray1<u64>>, Bound<'py, PyList>)> {
        let py = slf.py();
        let archive = &slf.get().inner;
        let count = archive.message_count();
        let mut timestamps = Vec::with_capacity(count);
        let maker = views(slf)?;
        // SAFETY: the GIL is held; `PyList_New` returns a new list of `count` null slots (or null with an
        // exception); each slot is filled exactly once below by `PyList_SetItem`, which steals the view's reference;
        // a list with slots still null is safe to release (its dealloc skips nulls) when a view fails.
        let list = unsafe { ffi::PyList_New(count as ffi::Py_ssize_t) };
        if list.is_null() {
            return Err(PyErr::fetch(py));
        }
        // SAFETY: `list` is a new, non-null reference.
        let list = unsafe { Bound::from_owned_ptr(py, list).cast_into_unchecked::<PyList>() };
        for (i, message) in archive.iter().enumerate() {
            let message = message.map_err(archive_error)?;
            timestamps.push(message.timestamp_us);
            let view = maker.view(message.payload)?;
            // SAFETY: `i < count`, the slot is empty, and `view` is a new reference that the list takes over.
            if unsafe { ffi::PyList_SetItem(list.as_ptr(), i as ffi::Py_ssize_t, view) } < 0 {
                return Err(PyErr::fetch(py));
            }
        }
        Ok((PyArray1::from_vec(py, timestamps), list))
    }

    /// Every message without a Python object per message: `(timestamps, buffer, starts, ends)`. `buffer` is one
    /// read-only `uint8` view of the part of the map that holds the payloads; message `i`'s payload is
    /// `buffer[starts[i]:ends[i]]`; `timestamps`, `starts` and `ends` are `uint64` ndarrays.
    fn read_flat<'py>(slf: &Bound<'py, Self>) -> PyResult<FlatMessages<'py>> {
        let py = slf.py();
        let archive = &slf.get().inner;
        let base = slf.get().span.start;
        let count = archive.message_count();
        let (mut starts, mut ends) = (Vec::with_capacity(count), Vec::with_capacity(count));
        let mut timestamps = Vec::with_capacity(count);
        for m in archive.iter() {
            let m = m.map_err(archive_error)?;
            let start = (m.payload.as_ptr() as usize - base) as u64;
            starts.push(start);
            ends.push(start + m.payload.len() as u64);
            timestamps.push(m.timestamp_us);
        }
        let maker = views(slf)?;
        let buffer = maker.whole()?.cast_into::<PyArray1<u8>>()?;
        Ok((
            PyArray1::from_vec(py, timestamps),
            buffer,
            PyArray1::from_vec(py, starts),
            PyArray1::from_vec(py, ends),
        ))
    }

    /// The schema its source declared (see :meth:`Producer.declare_schema`), from the side file beside the archive:
    /// ``{"dtype": numpy.dtype, "shape": tuple, "description": str}`` or ``{"format": str, "version": str,
    /// "description": str}``; ``None`` if the source declared none.
    #[getter]
    fn schema<'py>(&self, py: Python<'py>) -> PyResult<Option<Bound<'py, PyDict>>> {
        let schema = py.detach(|| self.inner.schema()).map_err(crate::schema::schema_error)?;
        schema.map(|s| crate::schema::schema_dict(py, &s)).transpose()
    }

    /// Every message as one typed array: ``(timestamps, values)``, the timestamps (µs since the epoch) as a
    /// ``uint64`` ndarray and the payloads as one ndarray of the source's schema dtype, of shape ``(count, *shape)``
    /// (a structured array for a structured dtype), built from one buffer without a Python object per message.
    /// Raises :class:`SchemaError` if the source declared no dtype schema or a payload's length disagrees with it.
    fn read_typed<'py>(slf: &Bound<'py, Self>) -> PyResult<(Bound<'py, PyArray1<u64>>, Bound<'py, PyAny>)> {
        let py = slf.py();
        let archive = &slf.get().inner;
        let (schema, bytes) = py
            .detach(|| archive.typed_payload_bytes())
            .map_err(crate::schema::typed_error)?;
        let seqring::format::schema::Layout::Dtype { descr, shape } = &schema.layout else {
            unreachable!("typed_payload_bytes refuses an opaque format");
        };
        let dtype = crate::schema::dtype_of(py, descr)?;
        let count = archive.message_count();
        let mut full = vec![count as u64];
        full.extend(shape);
        let values = PyArray1::from_vec(py, bytes)
            .call_method1("view", (dtype,))?
            .call_method1("reshape", (PyTuple::new(py, full)?,))?;
        // `typed_payload_bytes` read every message, so every entry is checked and good.
        let timestamps = archive
            .iter()
            .map(|m| m.map(|m| m.timestamp_us))
            .collect::<Result<Vec<_>, _>>()
            .map_err(archive_error)?;
        Ok((PyArray1::from_vec(py, timestamps), values))
    }

    /// The messages split into batches for `workers` processes, as ataraxis's `get_batches`: one batch below 2000
    /// messages (none when there are none), else batches of `ceil(count / (workers × multiplier))`; `workers` below
    /// 1 means every core but two (at least one). Each batch is a `range` of message indices.
    #[pyo3(signature = (workers = -1, multiplier = 4))]
    fn batches<'py>(&self, py: Python<'py>, workers: isize, multiplier: usize) -> PyResult<Bound<'py, PyList>> {
        let out = PyList::empty(py);
        for r in self.inner.batches(workers, multiplier) {
            out.append(PyRange::new(py, r.start as isize, r.end as isize)?)?;
        }
        Ok(out)
    }

    fn __repr__(&self) -> String {
        format!(
            "LogArchive({:?}, source_id={}, message_count={})",
            self.inner.path(),
            self.inner.source_id(),
            self.inner.message_count()
        )
    }
}

/// The maker of payload views with `archive` as their numpy base.
fn views<'py>(archive: &Bound<'py, PyLogArchive>) -> PyResult<ViewMaker<'py>> {
    let span = archive.get().span.clone();
    // SAFETY: `span` is the archive's one read-only map (or owned buffer): every payload is a subslice of it,
    // borrowed for the archive's lifetime, and the frozen `PyLogArchive` never replaces its `inner`, so those bytes
    // stay allocated, unmoved and unchanged for as long as the Python object lives.
    unsafe { ViewMaker::new(archive.as_any(), span) }
}

/// What `read_flat` returns.
type FlatMessages<'py> = (
    Bound<'py, PyArray1<u64>>,
    Bound<'py, PyArray1<u8>>,
    Bound<'py, PyArray1<u64>>,
    Bound<'py, PyArray1<u64>>,
);

/// The iterator of `LogArchive`: `(timestamp_us, payload view)` pairs in archive order.
#[pyclass(module = "seqring._seqring", name = "LogArchiveIterator")]
pub(crate) struct LogArchiveIter {
    archive: Py<PyLogArchive>,
    next: usize,
}

#[pymethods]
impl LogArchiveIter {
    fn __iter__(slf: PyRef<'_, Self>) -> PyRef<'_, Self> {
        slf
    }

    fn __next__<'py>(&mut self, py: Python<'py>) -> PyResult<Option<(u64, Bound<'py, PyAny>)>> {
        let archive = self.archive.bind(py);
        if self.next >= archive.get().inner.message_count() {
            return Ok(None);
        }
        // Past a bad entry, the iteration goes on: the next call reads the next message.
        let message = archive.get().inner.get(self.next);
        self.next += 1;
        let message = message.map_err(archive_error)?;
        Ok(Some((message.timestamp_us, views(archive)?.bound(message.payload)?)))
    }

    fn __length_hint__(&self) -> usize {
        self.archive.get().inner.message_count().saturating_sub(self.next)
    }
}

/// Assembles the `.npy` entries and segments under `log_dir` into one `{source}_log.npz` per source; returns the
/// report as a dict. `require_onsets=False` takes ataraxis's rules: a source need not start with an onset entry and
/// a timestamp-0 entry is packed whatever its payload. `compress=True` deflates the members (level 6, as
/// `numpy.savez_compressed`), or `compress=LEVEL` at LEVEL 0-9; by default they are stored, as ataraxis writes them.
#[pyfunction]
#[pyo3(signature = (log_dir, *, remove_sources = true, verify = false, workers = None, require_onsets = true, compress = None))]
pub(crate) fn assemble_log_archives<'py>(
    py: Python<'py>,
    log_dir: PathBuf,
    remove_sources: bool,
    verify: bool,
    workers: Option<usize>,
    require_onsets: bool,
    compress: Option<Compress>,
) -> PyResult<Bound<'py, PyDict>> {
    let compression = match compress {
        None | Some(Compress::Flag(false)) => Compression::Stored,
        Some(Compress::Flag(true)) => Compression::DEFLATED,
        Some(Compress::Level(level @ 0..=9)) => Compression::Deflated { level: level as u8 },
        Some(Compress::Level(level)) => {
            return Err(PyValueError::new_err(format!(
                "compress must be a bool or a deflate level from 0 to 9, not {level}"
            )))
        }
    };
    let options = AssembleOptions {
        workers: workers.unwrap_or(0),
        verify,
        remove_sources,
        compression,
        ..Default::default()
    };
    let report = py
        .detach(|| {
            if require_onsets {
                seqring::archive::assemble_log_archives(&log_dir, &options)
            } else {
                seqring::archive::assemble_log_archives_lenient(&log_dir, &options)
            }
        })
        .map_err(assemble_error)?;
    let archives = PyList::empty(py);
    for a in &report.archives {
        let d = PyDict::new(py);
        d.set_item("source_id", a.source_id)?;
        d.set_item("path", &a.path)?;
        d.set_item("entries", a.entries)?;
        d.set_item("bytes", a.bytes)?;
        archives.append(d)?;
    }
    let out = PyDict::new(py);
    out.set_item("archives", archives)?;
    out.set_item("verified", report.verified)?;
    out.set_item("removed_files", report.removed_files)?;
    Ok(out)
}

/// `compress=` of `assemble_log_archives`: a flag, or a deflate level (a bool is tried first, so `True` is not 1).
#[derive(FromPyObject)]
pub(crate) enum Compress {
    Flag(bool),
    Level(i64),
}

/// The archives `{id}_log.npz` directly inside `directory` (not below it), as `{source id: path}` in id order.
#[pyfunction]
pub(crate) fn discover_log_archives(py: Python<'_>, directory: PathBuf) -> PyResult<BTreeMap<u8, PathBuf>> {
    py.detach(|| seqring::archive::discover_log_archives(&directory))
        .map_err(archive_error)
}

/// The one archive of `source_id` anywhere under `root`.
#[pyfunction]
pub(crate) fn find_log_archive(py: Python<'_>, root: PathBuf, source_id: u8) -> PyResult<PathBuf> {
    py.detach(|| seqring::archive::find_log_archive(&root, source_id))
        .map_err(archive_error)
}

/// The one archive of each of `source_ids` anywhere under `root`, found in one walk, as `{source id: path}`.
#[pyfunction]
pub(crate) fn find_log_archives(py: Python<'_>, root: PathBuf, source_ids: Vec<u8>) -> PyResult<BTreeMap<u8, PathBuf>> {
    py.detach(|| seqring::archive::find_log_archives(&root, source_ids.iter().copied()))
        .map_err(archive_error)
}

/// The number of messages of the archive at `path` (the onset excluded), from its zip directory alone.
#[pyfunction]
pub(crate) fn read_archive_message_count(py: Python<'_>, path: PathBuf) -> PyResult<usize> {
    py.detach(|| seqring::archive::read_archive_message_count(&path))
        .map_err(archive_error)
}
