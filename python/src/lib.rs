//! `seqring._seqring`: the native half of the `seqring` Python package.
//!
//! The pure-Python package (`python/python/seqring/`) owns the Pythonic surface (numpy dtypes and shapes, the
//! context managers, the exception classes); this module owns every access to shared memory and archives, as
//! flat byte buffers and descriptors (`'<f8'`, shape tuples).
//!
//! Invariants: no function here panics across the boundary (every `seqring` error becomes a `seqring.errors`
//! exception through [`errors`]); the GIL is released around every call that may wait on a writer or do I/O;
//! while it is released only plain slices of numpy buffers are touched (borrowed through `numpy`'s borrow
//! checker, which keeps Python code from re-borrowing them meanwhile), and an error met there re-acquires it only
//! to build its exception.

mod archive;
mod array;
mod checksum;
mod compat;
mod convert;
mod errors;
mod fastcall;
mod format;
mod gil_cell;
mod logger;
mod mapped;
mod named_lock;
mod ndarray;
mod objects;
mod schema;
mod tail;
mod tools;
mod tracker;
mod yaml;

use pyo3::prelude::*;

/// The native module.
#[pymodule]
fn _seqring(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_class::<array::SharedArray>()?;
    m.add_class::<archive::PyLogArchive>()?;
    m.add_class::<archive::LogArchiveIter>()?;
    m.add_function(wrap_pyfunction!(archive::assemble_log_archives, m)?)?;
    m.add_function(wrap_pyfunction!(archive::discover_log_archives, m)?)?;
    m.add_function(wrap_pyfunction!(archive::find_log_archive, m)?)?;
    m.add_function(wrap_pyfunction!(archive::find_log_archives, m)?)?;
    m.add_function(wrap_pyfunction!(archive::read_archive_message_count, m)?)?;
    m.add_function(wrap_pyfunction!(format::log_entry_name, m)?)?;
    m.add("LOG_DIR_SUFFIX", format::LOG_DIR_SUFFIX)?;
    m.add_class::<mapped::PyMappedArray>()?;
    m.add_function(wrap_pyfunction!(mapped::build_mapped_array, m)?)?;
    m.add_class::<mapped::PyMappedIdMap>()?;
    m.add_function(wrap_pyfunction!(mapped::build_mapped_id_map, m)?)?;
    m.add_class::<objects::PyMappedObjects>()?;
    m.add_function(wrap_pyfunction!(objects::build_mapped_objects, m)?)?;
    m.add_class::<objects::PyMappedObjectMap>()?;
    m.add_function(wrap_pyfunction!(objects::build_mapped_object_map, m)?)?;
    m.add_class::<tracker::RawTracker>()?;
    m.add_class::<tracker::JobRecord>()?;
    m.add_class::<tools::TransferReport>()?;
    m.add_function(wrap_pyfunction!(tools::transfer_directory, m)?)?;
    m.add_function(wrap_pyfunction!(tools::delete_directory, m)?)?;
    m.add_function(wrap_pyfunction!(tools::discover_marker_files, m)?)?;
    m.add_function(wrap_pyfunction!(tools::discover_marker_roots, m)?)?;
    m.add_function(wrap_pyfunction!(tools::index_marker_files, m)?)?;
    m.add_function(wrap_pyfunction!(tools::resolve_unique_roots, m)?)?;
    m.add_function(wrap_pyfunction!(tools::atomic_write, m)?)?;
    m.add_function(wrap_pyfunction!(tools::direct_write, m)?)?;
    m.add_function(wrap_pyfunction!(tools::interpolate, m)?)?;
    m.add_function(wrap_pyfunction!(yaml::yaml_dump, m)?)?;
    m.add_function(wrap_pyfunction!(yaml::yaml_load, m)?)?;
    m.add_function(wrap_pyfunction!(checksum::directory_checksum, m)?)?;
    m.add_class::<logger::PyDataLogger>()?;
    m.add_class::<logger::PyProducer>()?;
    m.add_class::<tail::PyLogTail>()?;
    m.add_class::<named_lock::NamedLock>()?;
    m.add_class::<compat::CompatBase>()?;
    m.add_class::<compat::NativeBlock>()?;
    fastcall::install(m.py())?;
    // Windows has no fork and no `os.register_at_fork` (multiprocessing spawns there): nothing to count.
    let os = m.py().import("os")?;
    if os.hasattr("register_at_fork")? {
        let count_fork = wrap_pyfunction!(named_lock::count_fork, m)?;
        let hooks = pyo3::types::PyDict::new(m.py());
        hooks.set_item("after_in_child", count_fork)?;
        os.getattr("register_at_fork")?.call((), Some(&hooks))?;
    }
    Ok(())
}
