//! `LogArchive` and `assemble_log_archives` for Python: archives read through the memory map, results handed out
//! as numpy arrays and `bytes`.

use crate::errors::{archive_error, assemble_error};
use numpy::PyArray1;
use pyo3::prelude::*;
use pyo3::types::{PyBytes, PyDict, PyList};
use seqring::archive::{AssembleOptions, LogArchive};
use std::path::PathBuf;

/// A log archive (`{source}_log.npz`), memory-mapped and validated on open.
#[pyclass(module = "seqring._seqring", name = "LogArchive", frozen)]
pub(crate) struct PyLogArchive {
    inner: LogArchive,
}

#[pymethods]
impl PyLogArchive {
    /// Opens and validates the archive at `path`.
    #[new]
    fn new(py: Python<'_>, path: PathBuf) -> PyResult<Self> {
        let inner = py.detach(|| LogArchive::open(&path)).map_err(archive_error)?;
        Ok(PyLogArchive { inner })
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

    /// Every message: `(timestamps as a uint64 ndarray of µs since the epoch, payloads as a list of bytes)`.
    fn read_all<'py>(&self, py: Python<'py>) -> PyResult<(Bound<'py, PyArray1<u64>>, Bound<'py, PyList>)> {
        let all = py.detach(|| self.inner.read_all());
        let payloads = PyList::new(py, all.payloads.iter().map(|p| PyBytes::new(py, p)))?;
        Ok((PyArray1::from_vec(py, all.timestamps_us), payloads))
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

/// Assembles the `.npy` entries and segments under `log_dir` into one `{source}_log.npz` per source; returns the
/// report as a dict.
#[pyfunction]
#[pyo3(signature = (log_dir, *, remove_sources = true, verify = false, workers = None))]
pub(crate) fn assemble_log_archives<'py>(
    py: Python<'py>,
    log_dir: PathBuf,
    remove_sources: bool,
    verify: bool,
    workers: Option<usize>,
) -> PyResult<Bound<'py, PyDict>> {
    let options = AssembleOptions {
        workers: workers.unwrap_or(0),
        verify,
        remove_sources,
        ..Default::default()
    };
    let report = py
        .detach(|| seqring::archive::assemble_log_archives(&log_dir, &options))
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
