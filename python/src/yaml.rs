//! YAML files for Python: `yaml_dump(path, value)` and `yaml_load(path)` over plain Python values (None, bool,
//! int, float, str, list/tuple, dict), with the rules of `seqring_state::config`: only `.yaml`/`.yml` paths, atomic
//! writes framed with `---`/`...`, errors naming the path, line and column. Loading goes through
//! `seqring_state::config::YamlConfig`.
//!
//! Writing goes through `seqring_state::yaml`, seqring's one YAML writer, whose documents YAML 1.1 readers
//! (PyYAML's `safe_load`, which ataraxis uses) and YAML 1.2 readers both read back as the same values.
//!
//! Invariants: a value with no YAML form (another type, an int beyond 64 bits, a list or dict used as a key) is a
//! `TypeError`/`OverflowError` naming its place in the document, raised before the file is touched; a YAML tag is
//! refused on load.

use crate::errors::{config_error, file_write_error, raise, type_name, Kind};
use pyo3::exceptions::{PyOverflowError, PyTypeError};
use pyo3::prelude::*;
use pyo3::types::{PyBool, PyDict, PyFloat, PyInt, PyList, PyString, PyTuple};
use seqring_state::config::{ConfigError, YamlConfig};
use seqring_state::processing::atomic_write;
use seqring_state::yaml::document_body;
use serde::{Deserialize, Serialize};
use serde_yaml::{Mapping, Number, Value};
use std::path::PathBuf;

/// A whole YAML document (any value at the top).
#[derive(Serialize, Deserialize)]
#[serde(transparent)]
struct Document(Value);

impl YamlConfig for Document {}

fn to_value(obj: &Bound<'_, PyAny>, at: &mut Vec<String>) -> PyResult<Value> {
    if obj.is_none() {
        return Ok(Value::Null);
    }
    if let Ok(b) = obj.cast::<PyBool>() {
        return Ok(Value::Bool(b.is_true()));
    }
    if obj.is_instance_of::<PyInt>() {
        if let Ok(i) = obj.extract::<i64>() {
            return Ok(Value::Number(Number::from(i)));
        }
        if let Ok(u) = obj.extract::<u64>() {
            return Ok(Value::Number(Number::from(u)));
        }
        return Err(PyOverflowError::new_err(format!(
            "the integer at {} does not fit in 64 bits",
            where_(at)
        )));
    }
    if let Ok(f) = obj.cast::<PyFloat>() {
        return Ok(Value::Number(Number::from(f.value())));
    }
    if let Ok(s) = obj.cast::<PyString>() {
        return Ok(Value::String(s.to_cow()?.into_owned()));
    }
    if let Ok(d) = obj.cast::<PyDict>() {
        let mut map = Mapping::with_capacity(d.len());
        for (k, v) in d.iter() {
            let key = to_value(&k, at)?;
            at.push(k.str().map(|s| s.to_string()).unwrap_or_default());
            let value = to_value(&v, at)?;
            at.pop();
            map.insert(key, value);
        }
        return Ok(Value::Mapping(map));
    }
    if obj.is_instance_of::<PyList>() || obj.is_instance_of::<PyTuple>() {
        let mut seq = Vec::new();
        for (i, item) in obj.try_iter()?.enumerate() {
            at.push(i.to_string());
            seq.push(to_value(&item?, at)?);
            at.pop();
        }
        return Ok(Value::Sequence(seq));
    }
    Err(PyTypeError::new_err(format!(
        "the {} at {} has no YAML form (use None, bool, int, float, str, list, tuple or dict)",
        type_name(obj),
        where_(at)
    )))
}

fn where_(at: &[String]) -> String {
    if at.is_empty() {
        "the top of the document".to_owned()
    } else {
        format!("key path {}", at.join("."))
    }
}

fn to_py(py: Python<'_>, value: Value) -> PyResult<Py<PyAny>> {
    Ok(match value {
        Value::Null => py.None(),
        Value::Bool(b) => PyBool::new(py, b).to_owned().into_any().unbind(),
        Value::Number(n) => {
            if let Some(i) = n.as_i64() {
                i.into_pyobject(py)?.into_any().unbind()
            } else if let Some(u) = n.as_u64() {
                u.into_pyobject(py)?.into_any().unbind()
            } else {
                n.as_f64().unwrap_or(f64::NAN).into_pyobject(py)?.into_any().unbind()
            }
        }
        Value::String(s) => s.into_pyobject(py)?.into_any().unbind(),
        Value::Sequence(seq) => {
            let list = PyList::empty(py);
            for item in seq {
                list.append(to_py(py, item)?)?;
            }
            list.into_any().unbind()
        }
        Value::Mapping(map) => {
            let dict = PyDict::new(py);
            for (k, v) in map {
                dict.set_item(to_py(py, k)?, to_py(py, v)?)?;
            }
            dict.into_any().unbind()
        }
        Value::Tagged(t) => {
            return Err(raise(
                Kind::Config,
                format!("the YAML tag {} has no Python value", t.tag),
            ))
        }
    })
}

/// Writes `value` (None, bool, int, float, str, list, tuple or dict, nested) to the `.yaml`/`.yml` file at `path`
/// as one YAML document framed by `---` and `...`, atomically, creating missing parent directories. Dict order is
/// kept.
#[pyfunction]
pub(crate) fn yaml_dump(py: Python<'_>, path: PathBuf, value: &Bound<'_, PyAny>) -> PyResult<()> {
    let is_yaml = matches!(path.extension().and_then(|e| e.to_str()), Some("yaml" | "yml"));
    if !is_yaml {
        return Err(config_error(ConfigError::Extension { path }));
    }
    let value = to_value(value, &mut Vec::new())?;
    let body = document_body(&value).map_err(|e| PyTypeError::new_err(e.to_string()))?;
    let text = format!("---\n{body}...\n");
    py.detach(|| atomic_write(&path, text.as_bytes()))
        .map_err(file_write_error)
}

/// The value of the YAML document in the `.yaml`/`.yml` file at `path` (`None` for an empty document).
#[pyfunction]
pub(crate) fn yaml_load(py: Python<'_>, path: PathBuf) -> PyResult<Py<PyAny>> {
    let doc = py.detach(|| Document::from_yaml(&path)).map_err(config_error)?;
    to_py(py, doc.0)
}
