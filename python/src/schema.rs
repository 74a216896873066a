//! Source schemas for Python (`seqring::format::schema`): numpy dtypes to and from the recorded descr, the schema
//! dict that `Producer.schema` and `LogArchive.schema` return, and the declaration `Producer.log(ndarray)` makes.
//!
//! A recorded descr is numpy's `dtype.descr` (`numpy.lib.format.dtype_to_descr`), rebuilt into a dtype with
//! `numpy.lib.format.descr_to_dtype`, so a structured dtype (padding included) comes back equal. A top-level
//! subarray dtype (`np.dtype(('<f4', (3,)))`) is recorded as its base dtype with the subarray shape appended.
//!
//! Invariants: nothing here runs without the GIL; every failure is a `seqring.errors` exception (`SchemaError`, a
//! `ValueError`, for schemas; an `OSError` class for I/O).

use pyo3::prelude::*;
use pyo3::types::{PyDict, PyList, PyString, PyTuple};
use seqring::archive::TypedError;
use seqring::format::schema::{Descr, Field, Layout, Schema, SchemaError};

use crate::errors::{os_kind, raise, Kind};

/// A schema error as its Python exception.
pub(crate) fn schema_error(e: SchemaError) -> PyErr {
    let kind = match &e {
        SchemaError::Io { source, .. } => os_kind(source),
        _ => Kind::Schema,
    };
    raise(kind, e.to_string())
}

/// A typed-read error as its Python exception.
pub(crate) fn typed_error(e: TypedError) -> PyErr {
    match e {
        TypedError::Schema(e) => schema_error(e),
        TypedError::Archive(e) => crate::errors::archive_error(e),
        e => raise(Kind::Schema, e.to_string()),
    }
}

/// numpy's descr object (a type string, or a list of `(name, descr[, shape])` tuples) as a [`Descr`].
fn descr_from_py(obj: &Bound<'_, PyAny>) -> PyResult<Descr> {
    if let Ok(s) = obj.cast::<PyString>() {
        return Ok(Descr::Type(s.to_cow()?.into_owned()));
    }
    let mut fields = Vec::new();
    for item in obj.try_iter()? {
        let item = item?;
        let len = item.len()?;
        let name = item.get_item(0)?;
        let name: String = name.extract().map_err(|_| {
            raise(
                Kind::Schema,
                format!("field titles are not supported in schemas (field {name})"),
            )
        })?;
        let shape: Vec<u64> = if len > 2 {
            item.get_item(2)?.extract()?
        } else {
            Vec::new()
        };
        fields.push(Field {
            name,
            descr: descr_from_py(&item.get_item(1)?)?,
            shape,
        });
    }
    Ok(Descr::Fields(fields))
}

/// A [`Descr`] as numpy's descr object.
fn descr_to_py<'py>(py: Python<'py>, descr: &Descr) -> PyResult<Bound<'py, PyAny>> {
    match descr {
        Descr::Type(s) => Ok(PyString::new(py, s).into_any()),
        Descr::Fields(fields) => {
            let list = PyList::empty(py);
            for f in fields {
                let name = PyString::new(py, &f.name).into_any();
                let inner = descr_to_py(py, &f.descr)?;
                let item = if f.shape.is_empty() {
                    PyTuple::new(py, [name, inner])?
                } else {
                    PyTuple::new(py, [name, inner, PyTuple::new(py, &f.shape)?.into_any()])?
                };
                list.append(item)?;
            }
            Ok(list.into_any())
        }
    }
}

/// The numpy dtype of `descr`.
pub(crate) fn dtype_of<'py>(py: Python<'py>, descr: &Descr) -> PyResult<Bound<'py, PyAny>> {
    let format = py.import("numpy.lib.format")?;
    format.getattr("descr_to_dtype")?.call1((descr_to_py(py, descr)?,))
}

/// The schema of payloads that are arrays of `shape` elements of the numpy dtype `dtype` (anything `numpy.dtype`
/// accepts), described by `description`.
pub(crate) fn dtype_schema(dtype: &Bound<'_, PyAny>, shape: Vec<u64>, description: String) -> PyResult<Schema> {
    let py = dtype.py();
    let numpy = py.import("numpy")?;
    let mut dtype = numpy.getattr("dtype")?.call1((dtype,))?;
    let mut shape = shape;
    let sub = dtype.getattr("subdtype")?;
    if !sub.is_none() {
        let sub_shape: Vec<u64> = sub.get_item(1)?.extract()?;
        dtype = sub.get_item(0)?;
        shape.extend(sub_shape);
    }
    if dtype.getattr("hasobject")?.is_truthy()? {
        return Err(raise(
            Kind::Schema,
            "a dtype of Python objects has no raw bytes to describe",
        ));
    }
    let descr = py
        .import("numpy.lib.format")?
        .getattr("dtype_to_descr")?
        .call1((&dtype,))?;
    let schema = Schema::dtype(descr_from_py(&descr)?, shape).described(description);
    schema
        .validate()
        .map_err(|e| raise(Kind::Schema, format!("{dtype} cannot be recorded as a schema: {e}")))?;
    Ok(schema)
}

/// The schema as a dict: `{"dtype": numpy.dtype, "shape": tuple, "description": str}` or
/// `{"format": str, "version": str, "description": str}`.
pub(crate) fn schema_dict<'py>(py: Python<'py>, schema: &Schema) -> PyResult<Bound<'py, PyDict>> {
    let d = PyDict::new(py);
    match &schema.layout {
        Layout::Dtype { descr, shape } => {
            d.set_item("dtype", dtype_of(py, descr)?)?;
            d.set_item("shape", PyTuple::new(py, shape)?)?;
        }
        Layout::Opaque { name, version } => {
            d.set_item("format", name)?;
            d.set_item("version", version)?;
        }
    }
    d.set_item("description", &schema.description)?;
    Ok(d)
}
