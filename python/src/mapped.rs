//! Mapped arrays and id maps for numpy (the job of `sharedbuffers` and `np.memmap`, with seqring's checked,
//! immutable files): `build_mapped_array(path, array)` writes a numpy array once, and `MappedArray(path, dtype)`
//! maps it read-only in any number of processes as a zero-copy numpy view; `build_mapped_id_map(path, keys,
//! records)` and `MappedIdMap(path, dtype)` do the same for records looked up by `int` or `str` keys. The files are
//! `seqring_mapped` files, so Rust reads them as `MappedArray<T>` and `IdMap<K, T>` when the type tags agree.
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
use pyo3::exceptions::PyKeyError;
use pyo3::prelude::*;
use pyo3::sync::PyOnceLock;
use pyo3::types::{PyList, PyRange, PyString};
use seqring_core::DType;
use seqring_mapped::{IdRows, MappedError, MappedRows, TypeTag};
use std::path::PathBuf;

/// A mapped-file error as its Python exception.
pub(crate) fn mapped_error(e: MappedError) -> PyErr {
    let kind = match &e {
        MappedError::Io { source, .. } => os_kind(source),
        MappedError::WrongType { .. } | MappedError::UnsupportedType { .. } => Kind::DTypeMismatch,
        MappedError::DuplicateKey { .. } => Kind::InvalidOption,
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

/// The numpy dtype of a file's rows: `dtype`, checked against the file's tag `found`, or (when `None`) the plain
/// numeric dtype the tag names.
fn resolve_dtype<'py>(
    py: Python<'py>,
    path: &std::path::Path,
    found: TypeTag,
    dtype: Option<&Bound<'py, PyAny>>,
) -> PyResult<Bound<'py, PyArrayDescr>> {
    Ok(match dtype {
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
    })
}

/// Opens a file with `open` (without the GIL), `verify`ing it if asked, and resolves its rows' dtype against its
/// `tag` ([`resolve_dtype`]).
fn open_rows<T: Send>(
    py: Python<'_>,
    path: &std::path::Path,
    dtype: Option<&Bound<'_, PyAny>>,
    verify: bool,
    open: impl FnOnce(&std::path::Path) -> Result<T, MappedError> + Send,
    check: impl FnOnce(&T) -> Result<(), MappedError> + Send,
    tag: impl FnOnce(&T) -> TypeTag,
) -> PyResult<(T, Py<PyArrayDescr>)> {
    let rows = py
        .detach(|| {
            let rows = open(path)?;
            if verify {
                check(&rows)?;
            }
            Ok(rows)
        })
        .map_err(mapped_error)?;
    let dtype = resolve_dtype(py, path, tag(&rows), dtype)?;
    Ok((rows, dtype.unbind()))
}

/// A read-only numpy array of `dtype` over `rows`, with `base` as its numpy base.
///
/// # Safety
/// `rows` must lie in memory that `base` owns and that stays allocated, unmoved and unchanged for as long as `base`
/// lives: here, a section of the read-only map of a frozen object that never replaces it (mapped files are never
/// modified in place).
unsafe fn rows_view<'py>(
    base: &Bound<'py, PyAny>,
    rows: &[u8],
    dtype: &Bound<'py, PyArrayDescr>,
) -> PyResult<Bound<'py, PyAny>> {
    let span = rows.as_ptr() as usize..rows.as_ptr() as usize + rows.len();
    // SAFETY: the caller's contract is `ViewMaker::new`'s.
    let maker = unsafe { ViewMaker::new(base, span)? };
    static FROMBUFFER: PyOnceLock<Py<PyAny>> = PyOnceLock::new();
    let frombuffer = FROMBUFFER.import(base.py(), "numpy", "frombuffer")?;
    frombuffer.call1((maker.whole()?, dtype))
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
        let (rows, dtype) = open_rows(
            py,
            &path,
            dtype,
            verify,
            |p| MappedRows::open(p),
            MappedRows::verify,
            MappedRows::tag,
        )?;
        Ok(PyMappedArray { rows, dtype })
    }

    /// The rows as a read-only numpy array that shares the file's memory (shape `(len, *subarray dims)`).
    #[getter]
    fn array<'py>(slf: &Bound<'py, Self>) -> PyResult<Bound<'py, PyAny>> {
        let this = slf.get();
        // SAFETY: the data section of the read-only map that the frozen object owns and never replaces.
        unsafe { rows_view(slf.as_any(), this.rows.as_bytes(), this.dtype.bind(slf.py())) }
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
pub(crate) fn build_mapped_array(py: Python<'_>, path: PathBuf, array: &Bound<'_, PyAny>) -> PyResult<PyMappedArray> {
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

/// The keys of an id map: integers (`u64`) or strings.
enum IdRowsOf {
    Ints(IdRows<u64>),
    Strs(IdRows<str>),
}

impl IdRowsOf {
    fn open(path: &std::path::Path) -> Result<IdRowsOf, MappedError> {
        match IdRows::<u64>::open(path) {
            Ok(rows) => Ok(IdRowsOf::Ints(rows)),
            Err(MappedError::WrongKeys { .. }) => IdRows::<str>::open(path).map(IdRowsOf::Strs),
            Err(e) => Err(e),
        }
    }

    fn tag(&self) -> TypeTag {
        match self {
            IdRowsOf::Ints(m) => m.tag(),
            IdRowsOf::Strs(m) => m.tag(),
        }
    }

    fn rows(&self) -> &[u8] {
        match self {
            IdRowsOf::Ints(m) => m.rows(),
            IdRowsOf::Strs(m) => m.rows(),
        }
    }

    fn path(&self) -> &std::path::Path {
        match self {
            IdRowsOf::Ints(m) => m.path(),
            IdRowsOf::Strs(m) => m.path(),
        }
    }

    fn is_multi(&self) -> bool {
        match self {
            IdRowsOf::Ints(m) => m.is_multi(),
            IdRowsOf::Strs(m) => m.is_multi(),
        }
    }

    fn len(&self) -> usize {
        match self {
            IdRowsOf::Ints(m) => m.len(),
            IdRowsOf::Strs(m) => m.len(),
        }
    }

    fn verify(&self) -> Result<(), MappedError> {
        match self {
            IdRowsOf::Ints(m) => m.verify(),
            IdRowsOf::Strs(m) => m.verify(),
        }
    }

    /// The positions of `key`'s rows; `None` for a key of the wrong kind (which no map holds).
    fn positions(&self, key: &Bound<'_, PyAny>) -> Option<std::ops::Range<usize>> {
        match self {
            IdRowsOf::Ints(m) => key
                .extract::<u64>()
                .ok()
                .filter(|_| !key.is_instance_of::<pyo3::types::PyBool>())
                .map(|k| m.positions(&k)),
            IdRowsOf::Strs(m) => key.cast::<PyString>().ok()?.to_cow().ok().map(|k| m.positions(&k)),
        }
    }
}

/// Records looked up by `int` or `str` keys, mapped read-only from an id-map file:
/// `MappedIdMap(path, dtype=None, *, verify=False)`.
#[pyclass(module = "seqring._seqring", name = "MappedIdMap", frozen)]
pub(crate) struct PyMappedIdMap {
    rows: IdRowsOf,
    dtype: Py<PyArrayDescr>,
}

#[pymethods]
impl PyMappedIdMap {
    /// Maps the id-map file at `path` (`int` or `str` keys). `dtype` is the records' numpy dtype, checked against
    /// the file's type tag; it may be left out for plain numbers. `verify=True` also checks every byte against the
    /// file's checksums and the index's consistency.
    #[new]
    #[pyo3(signature = (path, dtype = None, *, verify = false))]
    fn new(py: Python<'_>, path: PathBuf, dtype: Option<&Bound<'_, PyAny>>, verify: bool) -> PyResult<Self> {
        let (rows, dtype) = open_rows(
            py,
            &path,
            dtype,
            verify,
            IdRowsOf::open,
            IdRowsOf::verify,
            IdRowsOf::tag,
        )?;
        Ok(PyMappedIdMap { rows, dtype })
    }

    /// Every record as one read-only numpy array sharing the file's memory, in file order (grouped by key, not in
    /// insertion order): index it with `positions(key)`.
    #[getter]
    fn records<'py>(slf: &Bound<'py, Self>) -> PyResult<Bound<'py, PyAny>> {
        let this = slf.get();
        // SAFETY: the records section of the read-only map that the frozen object owns and never replaces.
        unsafe { rows_view(slf.as_any(), this.rows.rows(), this.dtype.bind(slf.py())) }
    }

    /// The positions of `key`'s records in `records` (an empty range for an absent key), in insertion order.
    fn positions<'py>(&self, py: Python<'py>, key: &Bound<'py, PyAny>) -> PyResult<Bound<'py, PyRange>> {
        let r = self.rows.positions(key).unwrap_or(0..0);
        PyRange::new(py, r.start as isize, r.end as isize)
    }

    /// The record of `key` (a plain map), or a read-only array of its records (a multi-map); `KeyError` if absent.
    fn __getitem__<'py>(slf: &Bound<'py, Self>, key: &Bound<'py, PyAny>) -> PyResult<Bound<'py, PyAny>> {
        let this = slf.get();
        match this.rows.positions(key).filter(|r| !r.is_empty()) {
            None => Err(PyKeyError::new_err(key.clone().unbind())),
            Some(r) => {
                let records = Self::records(slf)?;
                if this.rows.is_multi() {
                    let slice = pyo3::types::PySlice::new(slf.py(), r.start as isize, r.end as isize, 1);
                    records.get_item(slice)
                } else {
                    records.get_item(r.start)
                }
            }
        }
    }

    /// `self[key]`, or `default` for an absent key.
    #[pyo3(signature = (key, default = None))]
    fn get<'py>(
        slf: &Bound<'py, Self>,
        key: &Bound<'py, PyAny>,
        default: Option<Bound<'py, PyAny>>,
    ) -> PyResult<Bound<'py, PyAny>> {
        match Self::__getitem__(slf, key) {
            Err(e) if e.is_instance_of::<PyKeyError>(slf.py()) => {
                Ok(default.unwrap_or_else(|| slf.py().None().into_bound(slf.py())))
            }
            other => other,
        }
    }

    fn __contains__(&self, key: &Bound<'_, PyAny>) -> bool {
        self.rows.positions(key).is_some_and(|r| !r.is_empty())
    }

    /// The number of distinct keys.
    fn __len__(&self) -> usize {
        self.rows.len()
    }

    /// Every key, in file order.
    fn keys<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyList>> {
        match &self.rows {
            IdRowsOf::Ints(m) => PyList::new(py, m.iter().map(|(k, _)| k)),
            IdRowsOf::Strs(m) => PyList::new(py, m.iter().map(|(k, _)| k)),
        }
    }

    /// Whether a key may have several records.
    #[getter]
    fn multi(&self) -> bool {
        self.rows.is_multi()
    }

    /// The records' numpy dtype.
    #[getter]
    fn dtype(&self, py: Python<'_>) -> Py<PyArrayDescr> {
        self.dtype.clone_ref(py)
    }

    /// The file's path.
    #[getter]
    fn path(&self) -> PathBuf {
        self.rows.path().to_path_buf()
    }

    /// Checks every byte against the file's checksums and the index's consistency.
    fn verify(&self, py: Python<'_>) -> PyResult<()> {
        py.detach(|| self.rows.verify()).map_err(mapped_error)
    }

    fn __repr__(&self) -> String {
        format!(
            "MappedIdMap({:?}, keys={}, {})",
            self.rows.path().display().to_string(),
            self.rows.len(),
            self.rows.tag()
        )
    }
}

/// Writes `records` (a C-contiguous numpy array; one row per key along the first axis) under `keys` (a sequence of
/// `int`s or of `str`s, as long as `records`) into a new id-map file at `path` (atomically) and maps it. With
/// `multi=True` a key may repeat, and its records keep their order; otherwise a repeated key is an error.
#[pyfunction]
#[pyo3(signature = (path, keys, records, *, multi = false))]
pub(crate) fn build_mapped_id_map(
    py: Python<'_>,
    path: PathBuf,
    keys: &Bound<'_, PyAny>,
    records: &Bound<'_, PyAny>,
    multi: bool,
) -> PyResult<PyMappedIdMap> {
    let array = records.cast::<PyUntypedArray>().map_err(|_| {
        raise(
            Kind::DTypeMismatch,
            format!(
                "expected a numpy array of records, got {}",
                crate::errors::type_name(records)
            ),
        )
    })?;
    let dtype = row_dtype(array)?;
    let tag = tag_of(py, &dtype)?;
    let bytes = ndarray::bytes(array).ok_or_else(|| {
        raise(
            Kind::Shape,
            "the records are not C-contiguous: pass numpy.ascontiguousarray(records)",
        )
    })?;
    let size = tag.size as usize;
    let n = bytes.len() / size;
    let keys: Vec<Bound<'_, PyAny>> = keys.try_iter()?.collect::<PyResult<_>>()?;
    if keys.len() != n {
        return Err(raise(Kind::Shape, format!("{} keys for {n} records", keys.len())));
    }
    let strings = keys.first().is_some_and(|k| k.is_instance_of::<PyString>());
    let key_error = |k: &Bound<'_, PyAny>| {
        raise(
            Kind::DTypeMismatch,
            format!(
                "key {k} is not {}: keys are all non-negative ints below 2**64 or all strs",
                if strings { "a str" } else { "an int" }
            ),
        )
    };
    // The GIL stays held: `bytes` borrows the array (see `ndarray`'s invariants).
    let rows = if strings {
        let mut b = IdRows::<str>::builder(&path, tag).multi(multi);
        for (k, row) in keys.iter().zip(bytes.chunks_exact(size)) {
            let s = k.cast::<PyString>().map_err(|_| key_error(k))?;
            b.insert(&s.to_cow()?, row).map_err(mapped_error)?;
        }
        IdRowsOf::Strs(b.finish().map_err(mapped_error)?)
    } else {
        let mut b = IdRows::<u64>::builder(&path, tag).multi(multi);
        for (k, row) in keys.iter().zip(bytes.chunks_exact(size)) {
            if k.is_instance_of::<pyo3::types::PyBool>() {
                return Err(key_error(k));
            }
            let id: u64 = k.extract().map_err(|_| key_error(k))?;
            b.insert(&id, row).map_err(mapped_error)?;
        }
        IdRowsOf::Ints(b.finish().map_err(mapped_error)?)
    };
    Ok(PyMappedIdMap {
        rows,
        dtype: dtype.unbind(),
    })
}
