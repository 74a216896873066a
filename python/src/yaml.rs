//! YAML files for Python: `yaml_dump(path, value)` and `yaml_load(path)` over plain Python values (None, bool,
//! int, float, str, list/tuple, dict), with the rules of `seqring_state::config`: only `.yaml`/`.yml` paths, atomic
//! writes framed with `---`/`...`, errors naming the path, line and column. Loading goes through
//! `seqring_state::config::YamlConfig`.
//!
//! Writing does not use serde_yaml's emitter: it writes plain strings that YAML 1.1 readers (PyYAML's
//! `safe_load`, which ataraxis uses) read as other types (`yes`, `on` and `Yes` as booleans, `1:20` and `1_000` as
//! integers, `2024-01-01` as a date) and floats they read as strings (`1e20`). [`emit`] writes a document that YAML
//! 1.1 and 1.2 readers both read back as the same values: a string is plain only when it cannot be anything else
//! in either, else double-quoted; a float always carries a `.` and a signed exponent.
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

/// Whether `s` can be written as a plain scalar that YAML 1.1 and 1.2 readers both read as this string.
fn plain_safe(s: &str) -> bool {
    let mut chars = s.chars();
    let Some(first) = chars.next() else { return false };
    if !(first.is_ascii_alphabetic() || first == '_' || first == '/') || s.ends_with(' ') {
        return false;
    }
    if !s
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '/' | '-' | ' '))
    {
        return false;
    }
    !matches!(
        s.to_ascii_lowercase().as_str(),
        "y" | "n" | "yes" | "no" | "on" | "off" | "true" | "false" | "null"
    )
}

fn emit_string(s: &str, out: &mut String) {
    use std::fmt::Write;
    if plain_safe(s) {
        out.push_str(s);
        return;
    }
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\t' => out.push_str("\\t"),
            '\r' => out.push_str("\\r"),
            c if (c as u32) < 0x20 || c as u32 == 0x7f => {
                let _ = write!(out, "\\x{:02x}", c as u32);
            }
            // Outside the printable set of YAML 1.1 (C1 controls, surrogate-free but unprintable code points).
            c if ('\u{80}'..='\u{9f}').contains(&c) || c == '\u{feff}' || c == '\u{fffe}' || c == '\u{ffff}' => {
                let _ = write!(out, "\\u{:04x}", c as u32);
            }
            c => out.push(c),
        }
    }
    out.push('"');
}

fn emit_float(f: f64, out: &mut String) {
    if f.is_nan() {
        out.push_str(".nan");
    } else if f.is_infinite() {
        out.push_str(if f > 0.0 { ".inf" } else { "-.inf" });
    } else {
        // `{:?}` is the shortest round-trip form ("0.1", "1.0", "1e20", "1e-7"). YAML 1.1 needs a "." and a signed
        // exponent: "1.0e+20", "1.0e-7".
        let text = format!("{f:?}");
        match text.split_once('e') {
            Some((mantissa, exponent)) => {
                out.push_str(mantissa);
                if !mantissa.contains('.') {
                    out.push_str(".0");
                }
                out.push('e');
                if !exponent.starts_with('-') {
                    out.push('+');
                }
                out.push_str(exponent);
            }
            None => out.push_str(&text),
        }
    }
}

/// Writes a scalar, or `{}`/`[]` for an empty collection; `false` for a non-empty collection (written as a block).
fn emit_inline(value: &Value, out: &mut String) -> bool {
    match value {
        Value::Null => out.push_str("null"),
        Value::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
        Value::Number(n) => {
            if let Some(i) = n.as_i64() {
                out.push_str(&i.to_string());
            } else if let Some(u) = n.as_u64() {
                out.push_str(&u.to_string());
            } else {
                emit_float(n.as_f64().unwrap_or(f64::NAN), out);
            }
        }
        Value::String(s) => emit_string(s, out),
        Value::Sequence(s) if s.is_empty() => out.push_str("[]"),
        Value::Mapping(m) if m.is_empty() => out.push_str("{}"),
        _ => return false,
    }
    true
}

/// Writes `value` as a block at `indent` spaces (a scalar inline), each line ended.
fn emit(value: &Value, indent: usize, out: &mut String) -> PyResult<()> {
    let pad = " ".repeat(indent);
    match value {
        Value::Mapping(m) if !m.is_empty() => {
            for (k, v) in m {
                out.push_str(&pad);
                if matches!(k, Value::Sequence(_) | Value::Mapping(_) | Value::Tagged(_)) {
                    return Err(PyTypeError::new_err(
                        "a list, tuple or dict cannot be a YAML mapping key here",
                    ));
                }
                emit_inline(k, out);
                out.push(':');
                let mut line = String::new();
                if emit_inline(v, &mut line) {
                    out.push(' ');
                    out.push_str(&line);
                    out.push('\n');
                } else {
                    out.push('\n');
                    emit(v, indent + 2, out)?;
                }
            }
        }
        Value::Sequence(s) if !s.is_empty() => {
            for item in s {
                out.push_str(&pad);
                out.push('-');
                let mut line = String::new();
                if emit_inline(item, &mut line) {
                    out.push(' ');
                    out.push_str(&line);
                    out.push('\n');
                } else {
                    out.push('\n');
                    emit(item, indent + 2, out)?;
                }
            }
        }
        Value::Tagged(_) => return Err(PyTypeError::new_err("a YAML tag has no Python value")),
        scalar => {
            out.push_str(&pad);
            emit_inline(scalar, out);
            out.push('\n');
        }
    }
    Ok(())
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
    let mut text = String::from("---\n");
    emit(&value, 0, &mut text)?;
    text.push_str("...\n");
    py.detach(|| crate::tools::create_parent(&path))?;
    py.detach(|| atomic_write(&path, text.as_bytes()))
        .map_err(file_write_error)
}

/// The value of the YAML document in the `.yaml`/`.yml` file at `path` (`None` for an empty document).
#[pyfunction]
pub(crate) fn yaml_load(py: Python<'_>, path: PathBuf) -> PyResult<Py<PyAny>> {
    let doc = py.detach(|| Document::from_yaml(&path)).map_err(config_error)?;
    to_py(py, doc.0)
}
