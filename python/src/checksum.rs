//! `directory_checksum`: ataraxis's directory checksum (`calculate_directory_checksum`: xxh3-128 over the sorted
//! files' relative paths and digests, see `seqring_state::processing::checksum`), computed without the GIL.

use crate::errors::checksum_error;
use pyo3::exceptions::PyTypeError;
use pyo3::prelude::*;
use pyo3::types::PyString;
use seqring_state::processing::{directory_checksum as checksum, ChecksumOptions};
use std::path::PathBuf;

/// The xxh3-128 checksum of the tree at `path` as 32 lowercase hex digits, identical to ataraxis's
/// `calculate_directory_checksum`. `workers`: threads (`None`: one per core). `save`: also write it to
/// `path/ax_checksum.txt`. `excluded_files`: file names left out at any depth (`None`: `{"ax_checksum.txt"}`; a given
/// set replaces that default).
#[pyfunction]
#[pyo3(signature = (path, *, workers = None, save = true, excluded_files = None))]
pub(crate) fn directory_checksum(
    py: Python<'_>,
    path: PathBuf,
    workers: Option<usize>,
    save: bool,
    excluded_files: Option<Bound<'_, PyAny>>,
) -> PyResult<String> {
    let excluded_files = excluded_files.map(|names| file_names(&names)).transpose()?;
    let excluded: Option<Vec<&str>> = excluded_files
        .as_ref()
        .map(|names| names.iter().map(String::as_str).collect());
    let options = ChecksumOptions {
        workers: workers.filter(|&w| w > 0),
        save,
        excluded_files: excluded.as_deref(),
        ..Default::default()
    };
    py.detach(|| checksum(&path, &options))
        .map(|sum| sum.to_hex())
        .map_err(checksum_error)
}

/// The names of an iterable of `str` (a set, list, tuple, …; a lone `str` is refused, not split into letters).
fn file_names(names: &Bound<'_, PyAny>) -> PyResult<Vec<String>> {
    if names.is_instance_of::<PyString>() {
        return Err(PyTypeError::new_err(
            "excluded_files is a collection of file names, not one str",
        ));
    }
    names.try_iter()?.map(|name| name?.extract::<String>()).collect()
}
