//! The processing tools of `seqring_state::processing` for Python: directory transfer and deletion, marker discovery,
//! interpolation, and atomic and direct file writes. Each runs without the GIL; results are Rust-side classes or
//! plain lists of paths, never positional tuples.
//!
//! Invariants: the rules (what a transfer refuses, how a marker's root is found, how interpolation clamps) live in
//! `seqring_state::processing`; this module only converts arguments and results.

use crate::errors::{delete_error, file_write_error, interpolate_error, marker_error, raise, transfer_error, Kind};
use numpy::{IntoPyArray, PyReadonlyArray1, PyUntypedArrayMethods};
use pyo3::prelude::*;
use pyo3::types::PyDict;
use seqring_state::processing::{self as tools, Sample, TransferOptions};
use std::path::PathBuf;

/// What a directory transfer did (`seqring.transfer_directory`'s result).
#[pyclass(module = "seqring._seqring", name = "TransferReport", frozen, get_all)]
pub(crate) struct TransferReport {
    /// Files copied.
    files: u64,
    /// Bytes copied.
    bytes: u64,
    /// The verified checksum as 32 hex digits, when the transfer was verified.
    checksum: Option<String>,
    /// Whether the source was removed.
    removed_source: bool,
    /// The stale destination files deleted first (`reset_dirty_destination`).
    cleared: Vec<PathBuf>,
}

#[pymethods]
impl TransferReport {
    fn __repr__(&self) -> String {
        format!(
            "TransferReport(files={}, bytes={}, checksum={:?}, removed_source={}, cleared={})",
            self.files,
            self.bytes,
            self.checksum,
            self.removed_source,
            self.cleared.len()
        )
    }
}

/// Copies the tree at `source` into `destination` (created as needed), keeping its layout. `workers`: copying and
/// checksum threads (`None` or 0: one per core). `verify`: compare the copy's checksum with the source's (reusing
/// the source's `ax_checksum.txt`, else computing and saving it). `remove_source`: delete the source after success.
/// `reset_dirty_destination`: delete destination files the source does not account for instead of refusing.
/// `allow_links`: copy a source holding symbolic links (links to files as their contents, links to directories
/// skipped) instead of refusing it with a `TransferError` whose `reason` is `"links"` and whose `links` lists them.
#[pyfunction]
#[pyo3(signature = (source, destination, *, workers = None, verify = false, remove_source = false,
                    reset_dirty_destination = false, allow_links = false))]
#[allow(clippy::too_many_arguments)] // Python's keyword arguments
pub(crate) fn transfer_directory(
    py: Python<'_>,
    source: PathBuf,
    destination: PathBuf,
    workers: Option<usize>,
    verify: bool,
    remove_source: bool,
    reset_dirty_destination: bool,
    allow_links: bool,
) -> PyResult<TransferReport> {
    let options = TransferOptions {
        workers: workers.filter(|&w| w > 0),
        verify,
        remove_source,
        reset_dirty_destination,
        allow_links,
        progress: None,
    };
    let report = py
        .detach(|| tools::transfer_directory(&source, &destination, &options))
        .map_err(transfer_error)?;
    Ok(TransferReport {
        files: report.files,
        bytes: report.bytes,
        checksum: report.checksum.map(|c| c.to_hex()),
        removed_source: report.removed_source,
        cleared: report.cleared,
    })
}

/// Deletes the directory tree at `path`, unlinking its files in parallel; links are removed, never followed. A
/// missing directory is not an error.
#[pyfunction]
pub(crate) fn delete_directory(py: Python<'_>, path: PathBuf) -> PyResult<()> {
    py.detach(|| tools::delete_directory(&path)).map_err(delete_error)
}

/// Every file named `marker_name` under `directory`, sorted.
#[pyfunction]
pub(crate) fn discover_marker_files(py: Python<'_>, directory: PathBuf, marker_name: &str) -> PyResult<Vec<PathBuf>> {
    py.detach(|| tools::discover_marker_files(&directory, marker_name))
        .map_err(marker_error)
}

/// The directories `levels_up` levels above each `marker_name` file's own directory under `directory`, sorted and
/// without repeats.
#[pyfunction]
#[pyo3(signature = (directory, marker_name, levels_up = 0))]
pub(crate) fn discover_marker_roots(
    py: Python<'_>,
    directory: PathBuf,
    marker_name: &str,
    levels_up: usize,
) -> PyResult<Vec<PathBuf>> {
    py.detach(|| tools::discover_marker_roots(&directory, marker_name, levels_up))
        .map_err(marker_error)
}

/// `{name: [paths, sorted]}` for every name of `marker_names`, in one walk of `directory`. `max_depth`: how many
/// directory levels below `directory` are searched (`0`: `directory` only; `None`: all).
#[pyfunction]
#[pyo3(signature = (directory, marker_names, *, max_depth = None))]
pub(crate) fn index_marker_files<'py>(
    py: Python<'py>,
    directory: PathBuf,
    marker_names: Vec<String>,
    max_depth: Option<usize>,
) -> PyResult<Bound<'py, PyDict>> {
    let index = py
        .detach(|| tools::index_marker_files(&directory, &marker_names, max_depth))
        .map_err(marker_error)?;
    let out = PyDict::new(py);
    for (name, paths) in index {
        out.set_item(name, paths)?;
    }
    Ok(out)
}

/// The deepest ancestor of each path whose name no other path has, in the order of `paths`.
#[pyfunction]
pub(crate) fn resolve_unique_roots(paths: Vec<PathBuf>) -> PyResult<Vec<PathBuf>> {
    tools::resolve_unique_roots(&paths).map_err(marker_error)
}

/// Writes `data` to `path` through a temporary file in the same directory, fsynced and renamed over `path`
/// (readers see the old file or the new one, never a part; a replaced file keeps its permission bits); missing
/// parent directories are created.
#[pyfunction]
pub(crate) fn atomic_write(py: Python<'_>, path: PathBuf, data: &[u8]) -> PyResult<()> {
    py.detach(|| tools::atomic_write(&path, data)).map_err(file_write_error)
}

/// Writes `data` to `path` in place (created or truncated); missing parent directories are created.
#[pyfunction]
pub(crate) fn direct_write(py: Python<'_>, path: PathBuf, data: &[u8]) -> PyResult<()> {
    py.detach(|| tools::direct_write(&path, data)).map_err(file_write_error)
}

fn interpolate_as<'py, X: Sample + numpy::Element + Send + Sync>(
    py: Python<'py>,
    source_x: &Bound<'py, PyAny>,
    source_y: &Bound<'py, PyAny>,
    target_x: &Bound<'py, PyAny>,
    discrete: bool,
) -> PyResult<Bound<'py, PyAny>> {
    let sx: PyReadonlyArray1<'py, X> = source_x.extract()?;
    let tx: PyReadonlyArray1<'py, X> = target_x.extract()?;
    let (sx, tx) = (sx.as_slice()?, tx.as_slice()?);
    if discrete {
        // The index of each target's value: the caller gathers the values themselves, so they keep any dtype.
        let len = source_y.len()?;
        let indices: Vec<i64> = (0..len as i64).collect();
        let found = py
            .detach(|| tools::interpolate_discrete(sx, &indices, tx))
            .map_err(interpolate_error)?;
        Ok(found.into_pyarray(py).into_any())
    } else {
        let sy: PyReadonlyArray1<'py, f64> = source_y.extract()?;
        let sy = sy.as_slice()?;
        let found = py
            .detach(|| tools::interpolate_linear(sx, sy, tx))
            .map_err(interpolate_error)?;
        Ok(found.into_pyarray(py).into_any())
    }
}

/// Resamples a series at `target_x`. Continuous (`discrete=False`): linear, as `numpy.interp` (clamped at the
/// ends; `source_y` a contiguous `float64` array), the result `float64`. Discrete: for each target, the *index* of
/// the last source coordinate at or left of it (clamped to 0), so that `source_y[result]` keeps its dtype.
/// `source_x` and `target_x` are contiguous 1-d arrays of one dtype: `float64`, `int64` or `uint64`.
#[pyfunction]
#[pyo3(signature = (source_x, source_y, target_x, *, discrete))]
pub(crate) fn interpolate<'py>(
    py: Python<'py>,
    source_x: &Bound<'py, PyAny>,
    source_y: &Bound<'py, PyAny>,
    target_x: &Bound<'py, PyAny>,
    discrete: bool,
) -> PyResult<Bound<'py, PyAny>> {
    if source_x.extract::<PyReadonlyArray1<'py, f64>>().is_ok() {
        interpolate_as::<f64>(py, source_x, source_y, target_x, discrete)
    } else if source_x.extract::<PyReadonlyArray1<'py, i64>>().is_ok() {
        interpolate_as::<i64>(py, source_x, source_y, target_x, discrete)
    } else if source_x.extract::<PyReadonlyArray1<'py, u64>>().is_ok() {
        interpolate_as::<u64>(py, source_x, source_y, target_x, discrete)
    } else {
        let dtype = source_x
            .extract::<Bound<'py, numpy::PyUntypedArray>>()
            .map(|a| a.dtype().to_string())
            .unwrap_or_else(|_| crate::errors::type_name(source_x));
        Err(raise(
            Kind::Interpolate,
            format!("cannot interpolate over coordinates of {dtype}: use float64, int64 or uint64 arrays"),
        ))
    }
}
