//! `_SharedArray`: a [`SharedArrayDyn`] handle for `seqring.SharedArray`, moving data as flat byte buffers.
//!
//! Invariants: every data transfer checks the region's current dtype and shape against the caller's (the Python
//! side passes the numpy array's descriptor and shape), so a buffer is never read or written with another
//! layout; waits on a writer run with the GIL released.

use crate::errors::{array_error, raise, Kind};
use numpy::{PyArray1, PyReadonlyArray1, PyReadwriteArray1};
use pyo3::prelude::*;
use seqring::shared_array::{ArrayOptions, DynRead, SharedArrayDyn};
use seqring_core::DType;

/// What `_SharedArray.read` returns: `(descr, shape, version, data)`.
type Read<'py> = (&'static str, Vec<u64>, u64, Bound<'py, PyArray1<u8>>);

/// A handle of one shared array; `None` once closed or destroyed.
#[pyclass(module = "seqring._seqring", name = "_SharedArray")]
pub(crate) struct RawArray {
    inner: Option<SharedArrayDyn>,
    name: String,
}

fn dtype_of(descr: &str) -> PyResult<DType> {
    DType::from_descr(descr).ok_or_else(|| {
        raise(
            Kind::DTypeMismatch,
            format!("dtype {descr} is not supported (bool, little-endian ints, floats and complex only)"),
        )
    })
}

/// The error unless `read` has `dtype` and `shape`.
fn check_layout(name: &str, read_dtype: DType, read_shape: &[u64], dtype: DType, shape: &[u64]) -> PyResult<()> {
    if read_dtype != dtype {
        return Err(raise(
            Kind::DTypeMismatch,
            format!(
                "array {name} holds {} elements, not {}",
                read_dtype.descr(),
                dtype.descr()
            ),
        ));
    }
    if read_shape != shape {
        return Err(raise(
            Kind::Shape,
            format!("array {name} has shape {read_shape:?}, not {shape:?}"),
        ));
    }
    Ok(())
}

fn not_contiguous(e: numpy::AsSliceError) -> PyErr {
    raise(Kind::Shape, format!("the buffer is not contiguous: {e}"))
}

impl RawArray {
    fn handle(&self) -> PyResult<&SharedArrayDyn> {
        self.inner
            .as_ref()
            .ok_or_else(|| raise(Kind::Closed, format!("array {} is closed", self.name)))
    }

    /// The dtype of `descr` and the open handle.
    fn handle_for(&self, descr: &str) -> PyResult<(DType, &SharedArrayDyn)> {
        Ok((dtype_of(descr)?, self.handle()?))
    }

    fn read_now(&self, py: Python<'_>) -> PyResult<DynRead> {
        let handle = self.handle()?;
        py.detach(|| handle.read()).map_err(array_error)
    }
}

#[pymethods]
impl RawArray {
    /// Creates the array `name` of numpy descriptor `descr` and `shape`; `capacity` in elements.
    #[staticmethod]
    #[pyo3(signature = (name, descr, shape, exists_ok, capacity))]
    fn create(
        py: Python<'_>,
        name: String,
        descr: &str,
        shape: Vec<u64>,
        exists_ok: bool,
        capacity: Option<u64>,
    ) -> PyResult<Self> {
        let dtype = dtype_of(descr)?;
        let mut options = ArrayOptions::default().exists_ok(exists_ok);
        if let Some(c) = capacity {
            options = options.capacity(c);
        }
        let inner = py
            .detach(|| SharedArrayDyn::create(&name, dtype, &shape, &options))
            .map_err(array_error)?;
        Ok(RawArray {
            inner: Some(inner),
            name,
        })
    }

    /// Opens the array `name`, whatever it holds.
    #[staticmethod]
    fn open(py: Python<'_>, name: String) -> PyResult<Self> {
        let inner = py.detach(|| SharedArrayDyn::open(&name)).map_err(array_error)?;
        Ok(RawArray {
            inner: Some(inner),
            name,
        })
    }

    /// The current `(descr, shape, version)`.
    fn meta(&self, py: Python<'_>) -> PyResult<(&'static str, Vec<u64>, u64)> {
        let handle = self.handle()?;
        let snap = py.detach(|| handle.snapshot()).map_err(array_error)?;
        Ok((snap.dtype.descr(), snap.shape().to_vec(), snap.version))
    }

    /// One consistent read: `(descr, shape, version, data as a new 1-D uint8 array)`.
    fn read<'py>(&self, py: Python<'py>) -> PyResult<Read<'py>> {
        let read = self.read_now(py)?;
        let data = PyArray1::from_vec(py, read.data);
        Ok((read.dtype.descr(), read.shape.to_vec(), read.version, data))
    }

    /// Reads into `out` (the bytes of a C-contiguous array of `descr` and `shape`); returns the version.
    fn read_into(
        &self,
        py: Python<'_>,
        descr: &str,
        shape: Vec<u64>,
        mut out: PyReadwriteArray1<'_, u8>,
    ) -> PyResult<u64> {
        let (dtype, handle) = self.handle_for(descr)?;
        let out = out.as_slice_mut().map_err(not_contiguous)?;
        let name = &self.name;
        py.detach(|| {
            let read = handle.read().map_err(array_error)?;
            check_layout(name, read.dtype, read.shape.as_slice(), dtype, &shape)?;
            if out.len() != read.data.len() {
                return Err(raise(
                    Kind::Shape,
                    format!("array {name}: out holds {} bytes, not {}", out.len(), read.data.len()),
                ));
            }
            out.copy_from_slice(&read.data);
            Ok(read.version)
        })
    }

    /// Writes `data` (the bytes of a C-contiguous array of `descr` and `shape`, which must be the array's).
    fn write(&self, py: Python<'_>, descr: &str, shape: Vec<u64>, data: PyReadonlyArray1<'_, u8>) -> PyResult<()> {
        let (dtype, handle) = self.handle_for(descr)?;
        let data = data.as_slice().map_err(not_contiguous)?;
        let name = &self.name;
        py.detach(|| {
            let snap = handle.snapshot().map_err(array_error)?;
            check_layout(name, snap.dtype, snap.shape(), dtype, &shape)?;
            handle.write_shaped(dtype, &shape, data).map_err(array_error)
        })
    }

    /// The current version (no wait).
    #[getter]
    fn version(&self) -> PyResult<u64> {
        Ok(self.handle()?.version())
    }

    /// The region's name.
    #[getter]
    fn name(&self) -> &str {
        &self.name
    }

    /// Whether the handle is closed.
    #[getter]
    fn closed(&self) -> bool {
        self.inner.is_none()
    }

    /// Drops the handle (a creating handle removes the region).
    fn close(&mut self) {
        self.inner = None;
    }

    /// Removes the region now and closes the handle.
    fn destroy(&mut self, py: Python<'_>) -> PyResult<()> {
        let handle = self
            .inner
            .take()
            .ok_or_else(|| raise(Kind::Closed, format!("array {} is closed", self.name)))?;
        py.detach(|| handle.destroy()).map_err(array_error)
    }
}
