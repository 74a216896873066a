//! Mapped arrays for numpy (the job of `sharedbuffers` and `np.memmap`, with seqring's checked, immutable files):
//! `build_mapped_array(path, array)` writes a numpy array once, and `MappedArray(path, dtype)` maps it read-only in
//! any number of processes as a zero-copy numpy view. The files are `seqring_mapped` array files, so Rust reads
//! them as `MappedArray<T>` when the type tags agree.
//!
//! How a numpy dtype becomes a type tag (the files record it, and `open` checks it):
//! - a plain little-endian number or bool (`<f8`, `<i4`, `|b1` …): its dtype, size and alignment, schema 0 (Rust's
//!   `f64::TAG` and so on);
//! - a subarray dtype (`('<f4', (3,))`, the rows of a 2-D array): `TypeTag::array_of` over its dimensions (Rust's
//!   `[f32; 3]::TAG`);
//! - anything else (structured records, strings, bytes, big-endian numbers): `TypeTag::record_layout` named by
//!   `str(numpy.lib.format.dtype_to_descr(dtype))`, with numpy's itemsize and alignment (Rust opens it with
//!   `TypeTag::record::<T>` of the same name for a `#[repr(C)]` type of that layout: use `align=True` structured
//!   dtypes, which lay fields out as C does).
//!
//! Invariants: every view is read-only, its bytes lie in the map of a `MappedArray` object that is its numpy base
//! (so the map outlives it), and mapped files are never modified in place (`seqring_mapped`'s sharing contract).

use crate::errors::{os_kind, raise, Kind};
use crate::ndarray::{self, ViewMaker};
use numpy::{PyArrayDescr, PyArrayDescrMethods, PyUntypedArray, PyUntypedArrayMethods};
use pyo3::prelude::*;
use pyo3::sync::PyOnceLock;
use seqring_core::DType;
use seqring_mapped::{MappedError, MappedRows, TypeTag};
use std::path::PathBuf;

/// A mapped-file error as its Python exception.
fn mapped_error(e: MappedError) -> PyErr {
    let kind = match &e {
        MappedError::Io { source, .. } => os_kind(source),
        MappedError::WrongType { .. } | MappedError::UnsupportedType { .. } => Kind::DTypeMismatch,
        _ => Kind::Corrupt,
    };
    raise(kind, e.to_string())
}

/// The type tag of a numpy dtype (see the module documentation).
fn tag_of(py: Python<'_>, dtype: &Bound<'_, PyArrayDescr>) -> PyResult<TypeTag> {
    if dtype.has_object() {
        return Err(raise(
            Kind::DTypeMismatch,
            format!("dtype {dtype} holds Python objects, which have no bytes to map"),
        ));
    }
    let size = u32::try_from(dtype.itemsize()).map_err(|_| raise(Kind::DTypeMismatch, "an itemsize over 4 GiB"))?;
    let align = u16::try_from(dtype.alignment()).map_err(|_| raise(Kind::DTypeMismatch, "an alignment over 64 KiB"))?;
    if dtype.has_subarray() {
        let mut tag = tag_of(py, &dtype.base())?;
        for &n in dtype.shape().iter().rev() {
            tag = TypeTag::array_of(tag, n);
        }
        return Ok(tag);
    }
    let text: String = dtype.getattr("str")?.extract()?;
    if !dtype.has_fields() {
        if let Some(d) = DType::from_descr(&text) {
            return Ok(TypeTag {
                dtype: Some(d),
                size,
                align,
                schema: 0,
            });
        }
    }
    static DTYPE_TO_DESCR: PyOnceLock<Py<PyAny>> = PyOnceLock::new();
    let to_descr = DTYPE_TO_DESCR.import(py, "numpy.lib.format", "dtype_to_descr")?;
    let name = to_descr.call1((dtype,))?.str()?.to_string();
    Ok(TypeTag::record_layout(&name, size, align))
}

/// The numpy dtype of a row of `array` (its dtype for a 1-D array, a subarray dtype of its trailing dimensions
/// otherwise).
fn row_dtype<'py>(array: &Bound<'py, PyUntypedArray>) -> PyResult<Bound<'py, PyArrayDescr>> {
    let shape = array.shape();
    if shape.is_empty() {
        return Err(raise(
            Kind::Shape,
            "a 0-d array has no rows: give at least one dimension",
        ));
    }
    let dtype = array.dtype();
    if shape.len() == 1 {
        return Ok(dtype);
    }
    let spec = (dtype, shape[1..].to_vec());
    PyArrayDescr::new(array.py(), &spec.into_pyobject(array.py())?)
}

/// A read-only numpy view of an array file: `MappedArray(path, dtype=None, *, verify=False)`.
#[pyclass(module = "seqring._seqring", name = "MappedArray", frozen)]
pub(crate) struct PyMappedArray {
    rows: MappedRows,
    dtype: Py<PyArrayDescr>,
}

#[pymethods]
impl PyMappedArray {
    /// Maps the array file at `path`. `dtype` is the rows' numpy dtype, checked against the file's type tag; it may
    /// be left out for a file of plain numbers. `verify=True` also checks every byte against the file's checksums
    /// (one pass over the file).
    #[new]
    #[pyo3(signature = (path, dtype = None, *, verify = false))]
    fn new(py: Python<'_>, path: PathBuf, dtype: Option<&Bound<'_, PyAny>>, verify: bool) -> PyResult<Self> {
        let rows = py
            .detach(|| {
                let rows = MappedRows::open(&path)?;
                if verify {
                    rows.verify()?;
                }
                Ok(rows)
            })
            .map_err(mapped_error)?;
        let found = rows.tag();
        let dtype = match dtype {
            Some(d) => {
                let descr = PyArrayDescr::new(py, d)
                    .map_err(|e| raise(Kind::DTypeMismatch, format!("{d} is not a numpy dtype: {e}")))?;
                let expected = tag_of(py, &descr)?;
                if expected != found {
                    return Err(raise(
                        Kind::DTypeMismatch,
                        format!(
                            "{}: the file holds {found}, not dtype {descr} ({expected})",
                            path.display()
                        ),
                    ));
                }
                descr
            }
            None => match found.dtype.filter(|_| found.schema == 0) {
                Some(d) => PyArrayDescr::new(py, d.descr())?,
                None => {
                    return Err(raise(
                        Kind::DTypeMismatch,
                        format!(
                            "{}: the file holds {found}; give the dtype it was built from",
                            path.display()
                        ),
                    ))
                }
            },
        };
        Ok(PyMappedArray {
            rows,
            dtype: dtype.unbind(),
        })
    }

    /// The rows as a read-only numpy array that shares the file's memory (shape `(len, *subarray dims)`).
    #[getter]
    fn array<'py>(slf: &Bound<'py, Self>) -> PyResult<Bound<'py, PyAny>> {
        let py = slf.py();
        let bytes = slf.get().rows.as_bytes();
        let span = bytes.as_ptr() as usize..bytes.as_ptr() as usize + bytes.len();
        // SAFETY: `span` is the data section of the read-only map that the frozen `PyMappedArray` owns and never
        // replaces; mapped files are never modified in place, so the bytes stay allocated, unmoved and unchanged
        // for as long as the Python object (the views' base) lives.
        let maker = unsafe { ViewMaker::new(slf.as_any(), span)? };
        static FROMBUFFER: PyOnceLock<Py<PyAny>> = PyOnceLock::new();
        let frombuffer = FROMBUFFER.import(py, "numpy", "frombuffer")?;
        frombuffer.call1((maker.whole()?, slf.get().dtype.bind(py)))
    }

    /// The rows' numpy dtype.
    #[getter]
    fn dtype(&self, py: Python<'_>) -> Py<PyArrayDescr> {
        self.dtype.clone_ref(py)
    }

    /// The file's path.
    #[getter]
    fn path(&self) -> PathBuf {
        self.rows.path().to_path_buf()
    }

    /// The type tag the file records, as text.
    #[getter]
    fn type_tag(&self) -> String {
        self.rows.tag().to_string()
    }

    /// Checks every byte against the file's checksums (raises `CorruptArchiveError` if it was modified).
    fn verify(&self, py: Python<'_>) -> PyResult<()> {
        py.detach(|| self.rows.verify()).map_err(mapped_error)
    }

    fn __len__(&self) -> usize {
        self.rows.len()
    }

    #[pyo3(signature = (dtype = None, copy = None))]
    fn __array__<'py>(
        slf: &Bound<'py, Self>,
        dtype: Option<&Bound<'py, PyAny>>,
        copy: Option<bool>,
    ) -> PyResult<Bound<'py, PyAny>> {
        let view = Self::array(slf)?;
        match (dtype, copy) {
            (None, Some(true)) => view.call_method0("copy"),
            (None, _) => Ok(view),
            (Some(d), _) => view.call_method1("astype", (d,)),
        }
    }

    fn __repr__(&self) -> String {
        format!(
            "MappedArray({:?}, len={}, {})",
            self.rows.path().display().to_string(),
            self.rows.len(),
            self.rows.tag()
        )
    }
}

/// Writes the C-contiguous numpy `array` (at least 1-D; its rows are along the first axis) into a new array file at
/// `path` (temporary file, fsync, rename: readers see the old file or the whole new one) and maps it.
#[pyfunction]
pub(crate) fn build_mapped_array(
    py: Python<'_>,
    path: PathBuf,
    array: &Bound<'_, PyAny>,
) -> PyResult<PyMappedArray> {
    let array = array.cast::<PyUntypedArray>().map_err(|_| {
        raise(
            Kind::DTypeMismatch,
            format!("expected a numpy array, got {}", crate::errors::type_name(array)),
        )
    })?;
    let dtype = row_dtype(array)?;
    let tag = tag_of(py, &dtype)?;
    let bytes = ndarray::bytes(array).ok_or_else(|| {
        raise(
            Kind::Shape,
            "the array is not C-contiguous: pass numpy.ascontiguousarray(array)",
        )
    })?;
    // The GIL stays held: `bytes` borrows the array (see `ndarray`'s invariants).
    let rows = MappedRows::build(bytes, tag, &path).map_err(mapped_error)?;
    Ok(PyMappedArray {
        rows,
        dtype: dtype.unbind(),
    })
}
