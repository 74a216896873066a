//! Mapped Python objects of any shape (the job of `sharedbuffers`' schemas with strings, lists, dicts and nested
//! objects): `build_mapped_objects(path, objects)` writes a list of objects once, and `MappedObjects(path)` maps it
//! read-only in any number of processes, decoding one object per lookup; `build_mapped_object_map(path, keys,
//! objects)` and `MappedObjectMap(path)` do the same for objects looked up by `int` or `str` keys. The files are
//! `seqring_mapped` files of `seqring_mapped::Value` records (`ArchivedRecords<Value>`, `ArchivedIdMap<u64 | str,
//! Value>`), so Rust reads them in place too.
//!
//! How Python objects become values: `None`, `bool`, `int` (within -2**63 .. 2**64), `float`, `str`, `bytes` and
//! `bytearray` (read back as `bytes`), `list`, `tuple`, `dict` (any hashable keys of these kinds, insertion order
//! kept), numpy arrays of any fixed-size dtype (read back as a writeable copy of the same dtype and shape) and numpy
//! scalars (as their Python value). Anything else, and nesting deeper than [`MAX_DEPTH`] (a list holding itself
//! included), is refused with
//! `DTypeMismatchError` naming the path to the value.
//!
//! Invariants: a file is untrusted: every record is validated (rkyv's bytecheck) before it is decoded, unless the
//! whole file was verified at open; decoding never trusts an array's length (checked against its shape and dtype);
//! files are never modified in place (`seqring_mapped`'s sharing contract), so an object decoded earlier stays
//! valid after the file is rebuilt.

use crate::errors::{raise, Kind};
use numpy::{PyArrayDescrMethods, PyUntypedArray, PyUntypedArrayMethods};
use pyo3::exceptions::{PyIndexError, PyKeyError};
use pyo3::prelude::*;
use pyo3::sync::PyOnceLock;
use pyo3::types::{PyBool, PyByteArray, PyBytes, PyDict, PyFloat, PyInt, PyList, PySlice, PyString, PyTuple};
use seqring_mapped::archived::array_len;
use seqring_mapped::{ArchivedIdMap, ArchivedNode, ArchivedRecords, ArchivedValue, Mapped, MappedError, Node, Value};
use std::path::{Path, PathBuf};

/// The deepest nesting of lists, tuples, dicts and their elements that is written or read.
pub(crate) const MAX_DEPTH: usize = 200;

use crate::mapped::mapped_error;

/// Appends `object` (and what it holds) to `value` and returns its node's index; `at` names where it sits, for
/// errors.
fn push_object(value: &mut Value, object: &Bound<'_, PyAny>, depth: usize, at: &mut Vec<String>) -> PyResult<u32> {
    let py = object.py();
    let refuse = |at: &[String], why: String| raise(Kind::DTypeMismatch, format!("value at {}: {why}", path_text(at)));
    if depth > MAX_DEPTH {
        return Err(refuse(at, format!("nested deeper than {MAX_DEPTH} levels")));
    }
    let node = if object.is_none() {
        Node::None
    } else if let Ok(b) = object.cast::<PyBool>() {
        Node::Bool(b.is_true())
    } else if object.is_instance_of::<PyInt>() {
        match object.extract::<i64>() {
            Ok(i) => Node::Int(i),
            Err(_) => object
                .extract::<u64>()
                .map(Node::from_u64)
                .map_err(|_| refuse(at, format!("the int {object} does not fit in 64 bits")))?,
        }
    } else if let Ok(f) = object.cast::<PyFloat>() {
        Node::Float(f.value())
    } else if let Ok(s) = object.cast::<PyString>() {
        Node::Str(s.to_cow()?.into_owned())
    } else if let Ok(b) = object.cast::<PyBytes>() {
        Node::Bytes(b.as_bytes().to_vec())
    } else if let Ok(b) = object.cast::<PyByteArray>() {
        Node::Bytes(b.to_vec())
    } else if object.is_instance_of::<PyList>() || object.is_instance_of::<PyTuple>() {
        // The container's node comes first, so that node 0 is the root; it is filled once its elements have theirs.
        let slot = value.push(Node::None);
        let mut items = Vec::new();
        for (i, item) in object.try_iter()?.enumerate() {
            at.push(format!("[{i}]"));
            items.push(push_object(value, &item?, depth + 1, at)?);
            at.pop();
        }
        value.nodes[slot as usize] = if object.is_instance_of::<PyList>() {
            Node::List(items)
        } else {
            Node::Tuple(items)
        };
        return Ok(slot);
    } else if let Ok(dict) = object.cast::<PyDict>() {
        let slot = value.push(Node::None);
        let mut pairs = Vec::with_capacity(dict.len());
        for (k, v) in dict.iter() {
            at.push(format!("[{}]", k.repr()?));
            pairs.push((
                push_object(value, &k, depth + 1, at)?,
                push_object(value, &v, depth + 1, at)?,
            ));
            at.pop();
        }
        value.nodes[slot as usize] = Node::Map(pairs);
        return Ok(slot);
    } else if let Ok(array) = object.cast::<PyUntypedArray>() {
        let dtype = array.dtype();
        if dtype.has_object() || dtype.itemsize() == 0 {
            return Err(refuse(
                at,
                format!("a numpy array of dtype {dtype} has no fixed-size elements to store"),
            ));
        }
        static DTYPE_TO_DESCR: PyOnceLock<Py<PyAny>> = PyOnceLock::new();
        let descr = DTYPE_TO_DESCR
            .import(py, "numpy.lib.format", "dtype_to_descr")?
            .call1((&dtype,))?;
        let descr: String = match descr.cast::<PyString>() {
            Ok(s) => s.to_cow()?.into_owned(),
            Err(_) => descr.repr()?.to_cow()?.into_owned(),
        };
        let shape: Vec<u64> = array.shape().iter().map(|&d| d as u64).collect();
        let data: Vec<u8> = array
            .call_method1("tobytes", ("C",))?
            .cast::<PyBytes>()?
            .as_bytes()
            .to_vec();
        Node::array(descr, shape, dtype.itemsize(), data)
            .map_err(|_| refuse(at, "the array's bytes do not match its shape".into()))?
    } else {
        static GENERIC: PyOnceLock<Py<PyAny>> = PyOnceLock::new();
        if object.is_instance(GENERIC.import(py, "numpy", "generic")?)? {
            // A numpy scalar is stored as its Python value (`item()`), unless it has none (then it is refused).
            let item = object.call_method0("item")?;
            if !item.get_type().is(object.get_type()) {
                return push_object(value, &item, depth + 1, at);
            }
        }
        return Err(refuse(
            at,
            format!(
                "a {} cannot be stored (None, bool, int, float, str, bytes, list, tuple, dict and numpy arrays can)",
                crate::errors::type_name(object)
            ),
        ));
    };
    Ok(value.push(node))
}

/// `object` as a [`Value`] (see [`push_object`]).
fn to_value(object: &Bound<'_, PyAny>, at: &mut Vec<String>) -> PyResult<Value> {
    let mut value = Value::default();
    push_object(&mut value, object, 0, at)?;
    Ok(value)
}

fn path_text(at: &[String]) -> String {
    if at.is_empty() {
        "the top".into()
    } else {
        at.concat()
    }
}

/// The Python object of an archived value (its root node).
fn to_object<'py>(py: Python<'py>, value: &ArchivedValue) -> PyResult<Bound<'py, PyAny>> {
    node_object(py, value, 0, 0)
}

/// The Python object of node `i` of `value`. The indices come from the file: each is bounded, and `depth` bounds
/// the walk (a hostile file may point a list at itself).
fn node_object<'py>(py: Python<'py>, value: &ArchivedValue, i: u32, depth: usize) -> PyResult<Bound<'py, PyAny>> {
    if depth > MAX_DEPTH {
        return Err(raise(
            Kind::Corrupt,
            format!("a value nested deeper than {MAX_DEPTH} levels"),
        ));
    }
    let node = value.node(i).ok_or_else(|| {
        raise(
            Kind::Corrupt,
            format!("a value refers to node {i} of {}", value.nodes.len()),
        )
    })?;
    let child = |j: u32| node_object(py, value, j, depth + 1);
    Ok(match node {
        ArchivedNode::None => py.None().into_bound(py),
        ArchivedNode::Bool(b) => PyBool::new(py, *b).to_owned().into_any(),
        ArchivedNode::Int(i) => i.to_native().into_pyobject(py)?.into_any(),
        ArchivedNode::UInt(u) => u.to_native().into_pyobject(py)?.into_any(),
        ArchivedNode::Float(f) => PyFloat::new(py, f.to_native()).into_any(),
        ArchivedNode::Str(s) => PyString::new(py, s.as_str()).into_any(),
        ArchivedNode::Bytes(b) => PyBytes::new(py, b.as_slice()).into_any(),
        ArchivedNode::List(items) => PyList::new(
            py,
            items
                .iter()
                .map(|j| child(j.to_native()))
                .collect::<PyResult<Vec<_>>>()?,
        )?
        .into_any(),
        ArchivedNode::Tuple(items) => PyTuple::new(
            py,
            items
                .iter()
                .map(|j| child(j.to_native()))
                .collect::<PyResult<Vec<_>>>()?,
        )?
        .into_any(),
        ArchivedNode::Map(pairs) => {
            let dict = PyDict::new(py);
            for pair in pairs.iter() {
                dict.set_item(child(pair.0.to_native())?, child(pair.1.to_native())?)?;
            }
            dict.into_any()
        }
        ArchivedNode::Array { descr, shape, data } => {
            let shape: Vec<u64> = shape.iter().map(|d| d.to_native()).collect();
            array_object(py, descr.as_str(), shape, data.as_slice())?
        }
    })
}

/// A writeable numpy copy of an archived array, its length checked against its dtype and shape.
fn array_object<'py>(py: Python<'py>, descr: &str, shape: Vec<u64>, data: &[u8]) -> PyResult<Bound<'py, PyAny>> {
    static LITERAL_EVAL: PyOnceLock<Py<PyAny>> = PyOnceLock::new();
    static DESCR_TO_DTYPE: PyOnceLock<Py<PyAny>> = PyOnceLock::new();
    static FROMBUFFER: PyOnceLock<Py<PyAny>> = PyOnceLock::new();
    let bad = |why: String| raise(Kind::Corrupt, format!("an array value with dtype {descr:?}: {why}"));
    // A structured dtype's description is the Python literal of its field list, as an `.npy` header holds it.
    let described = if descr.starts_with('[') {
        LITERAL_EVAL
            .import(py, "ast", "literal_eval")?
            .call1((descr,))
            .map_err(|e| bad(e.to_string()))?
    } else {
        PyString::new(py, descr).into_any()
    };
    let dtype = DESCR_TO_DTYPE
        .import(py, "numpy.lib.format", "descr_to_dtype")?
        .call1((described,))
        .map_err(|e| bad(e.to_string()))?;
    let itemsize: usize = dtype.getattr("itemsize")?.extract()?;
    if dtype.getattr("hasobject")?.is_truthy()? || array_len(&shape, itemsize) != Some(data.len()) || itemsize == 0 {
        return Err(bad(format!("{} bytes do not hold shape {shape:?}", data.len())));
    }
    let flat = FROMBUFFER
        .import(py, "numpy", "frombuffer")?
        .call1((PyBytes::new(py, data), &dtype))?;
    flat.call_method1("reshape", (PyTuple::new(py, &shape)?,))?
        .call_method0("copy")
}

/// Resolves a Python index (negative from the end) against `len`.
fn position(index: isize, len: usize) -> PyResult<usize> {
    let i = if index < 0 { index + len as isize } else { index };
    usize::try_from(i)
        .ok()
        .filter(|&i| i < len)
        .ok_or_else(|| PyIndexError::new_err(format!("index {index} out of range for {len} objects")))
}

/// Objects mapped read-only from a file: `MappedObjects(path, *, verify=False)`.
#[pyclass(module = "seqring._seqring", name = "MappedObjects", frozen, sequence)]
pub(crate) struct PyMappedObjects {
    records: ArchivedRecords<Value>,
}

impl PyMappedObjects {
    fn object<'py>(&self, py: Python<'py>, i: usize) -> PyResult<Bound<'py, PyAny>> {
        let value = self.records.get(i).map_err(mapped_error)?;
        let value = value.ok_or_else(|| PyIndexError::new_err(format!("index {i} out of range")))?;
        to_object(py, value)
    }
}

#[pymethods]
impl PyMappedObjects {
    /// Maps the objects file at `path`. `verify=True` checks every byte against the file's checksums and validates
    /// every record once (then lookups skip the per-record validation).
    #[new]
    #[pyo3(signature = (path, *, verify = false))]
    fn new(py: Python<'_>, path: PathBuf, verify: bool) -> PyResult<Self> {
        let records = py
            .detach(|| {
                if verify {
                    ArchivedRecords::<Value>::open_verified(&path)
                } else {
                    ArchivedRecords::<Value>::open(&path)
                }
            })
            .map_err(mapped_error)?;
        Ok(PyMappedObjects { records })
    }

    /// The object at `index` (negative from the end), decoded from the file; a slice gives a list of them.
    fn __getitem__<'py>(&self, py: Python<'py>, index: &Bound<'py, PyAny>) -> PyResult<Bound<'py, PyAny>> {
        let len = self.records.len();
        if let Ok(slice) = index.cast::<PySlice>() {
            let s = slice.indices(len as isize)?;
            let objects = (0..s.slicelength)
                .map(|k| self.object(py, (s.start + k as isize * s.step) as usize))
                .collect::<PyResult<Vec<_>>>()?;
            return Ok(PyList::new(py, objects)?.into_any());
        }
        self.object(py, position(index.extract()?, len)?)
    }

    fn __len__(&self) -> usize {
        self.records.len()
    }

    fn __iter__(slf: Bound<'_, Self>) -> ObjectsIter {
        ObjectsIter {
            objects: slf.unbind(),
            next: std::sync::atomic::AtomicUsize::new(0),
        }
    }

    /// The file's path.
    #[getter]
    fn path(&self) -> PathBuf {
        self.records.path().to_path_buf()
    }

    /// Checks every byte against the file's checksums and validates every record (raises `CorruptArchiveError`).
    fn verify(&self, py: Python<'_>) -> PyResult<()> {
        py.detach(|| self.records.verify()).map_err(mapped_error)
    }

    fn __repr__(&self) -> String {
        format!(
            "MappedObjects({:?}, len={})",
            self.records.path().display().to_string(),
            self.records.len()
        )
    }
}

/// The iterator of a [`PyMappedObjects`].
#[pyclass(module = "seqring._seqring", frozen)]
pub(crate) struct ObjectsIter {
    objects: Py<PyMappedObjects>,
    next: std::sync::atomic::AtomicUsize,
}

#[pymethods]
impl ObjectsIter {
    fn __iter__(slf: Bound<'_, Self>) -> Bound<'_, Self> {
        slf
    }

    fn __next__<'py>(&self, py: Python<'py>) -> PyResult<Option<Bound<'py, PyAny>>> {
        // Relaxed: the counter is only this iterator's position; the GIL orders its calls.
        let i = self.next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let objects = self.objects.get();
        if i >= objects.records.len() {
            return Ok(None);
        }
        objects.object(py, i).map(Some)
    }
}

/// Writes `objects` (any iterable of storable objects, see the module documentation) into a new file at `path`
/// (temporary file, fsync, rename) and maps it.
#[pyfunction]
pub(crate) fn build_mapped_objects(path: PathBuf, objects: &Bound<'_, PyAny>) -> PyResult<PyMappedObjects> {
    let mut at = Vec::new();
    let values = objects
        .try_iter()?
        .enumerate()
        .map(|(i, o)| {
            at.push(format!("[{i}]"));
            let v = to_value(&o?, &mut at);
            at.pop();
            v
        })
        .collect::<PyResult<Vec<Value>>>()?;
    let records = objects
        .py()
        .detach(|| ArchivedRecords::<Value>::build(&values, &path))
        .map_err(mapped_error)?;
    Ok(PyMappedObjects { records })
}

/// The keys of an object map: integers (`u64`) or strings.
enum ObjectMapOf {
    Ints(ArchivedIdMap<u64, Value>),
    Strs(ArchivedIdMap<str, Value>),
}

impl ObjectMapOf {
    fn open(path: &Path, verify: bool) -> Result<ObjectMapOf, MappedError> {
        let ints = if verify {
            ArchivedIdMap::<u64, Value>::open_verified(path)
        } else {
            ArchivedIdMap::<u64, Value>::open(path)
        };
        match ints {
            Ok(m) => Ok(ObjectMapOf::Ints(m)),
            Err(MappedError::WrongKeys { .. }) if verify => {
                ArchivedIdMap::<str, Value>::open_verified(path).map(ObjectMapOf::Strs)
            }
            Err(MappedError::WrongKeys { .. }) => ArchivedIdMap::<str, Value>::open(path).map(ObjectMapOf::Strs),
            Err(e) => Err(e),
        }
    }

    /// The archived values of `key`, in insertion order; `None` for a key of the wrong kind (which no map holds).
    fn values(&self, key: &Bound<'_, PyAny>) -> Option<Result<Vec<&ArchivedValue>, MappedError>> {
        match self {
            ObjectMapOf::Ints(m) => {
                let k = key.extract::<u64>().ok().filter(|_| !key.is_instance_of::<PyBool>())?;
                Some(m.get_all(&k).collect())
            }
            ObjectMapOf::Strs(m) => {
                let k = key.cast::<PyString>().ok()?.to_cow().ok()?;
                Some(m.get_all(&k).collect())
            }
        }
    }

    fn contains(&self, key: &Bound<'_, PyAny>) -> bool {
        match self {
            ObjectMapOf::Ints(m) => key
                .extract::<u64>()
                .ok()
                .filter(|_| !key.is_instance_of::<PyBool>())
                .is_some_and(|k| m.contains_key(&k)),
            ObjectMapOf::Strs(m) => key
                .cast::<PyString>()
                .ok()
                .and_then(|s| s.to_cow().ok())
                .is_some_and(|k| m.contains_key(&k)),
        }
    }

    fn path(&self) -> &Path {
        match self {
            ObjectMapOf::Ints(m) => m.path(),
            ObjectMapOf::Strs(m) => m.path(),
        }
    }

    fn len(&self) -> usize {
        match self {
            ObjectMapOf::Ints(m) => m.len(),
            ObjectMapOf::Strs(m) => m.len(),
        }
    }

    fn is_multi(&self) -> bool {
        match self {
            ObjectMapOf::Ints(m) => m.is_multi(),
            ObjectMapOf::Strs(m) => m.is_multi(),
        }
    }

    fn verify(&self) -> Result<(), MappedError> {
        match self {
            ObjectMapOf::Ints(m) => m.verify(),
            ObjectMapOf::Strs(m) => m.verify(),
        }
    }
}

/// Objects looked up by `int` or `str` keys, mapped read-only from a file: `MappedObjectMap(path, *, verify=False)`.
#[pyclass(module = "seqring._seqring", name = "MappedObjectMap", frozen, mapping)]
pub(crate) struct PyMappedObjectMap {
    map: ObjectMapOf,
}

#[pymethods]
impl PyMappedObjectMap {
    /// Maps the object-map file at `path` (`int` or `str` keys). `verify=True` checks every byte against the file's
    /// checksums, the index's consistency, and validates every record once.
    #[new]
    #[pyo3(signature = (path, *, verify = false))]
    fn new(py: Python<'_>, path: PathBuf, verify: bool) -> PyResult<Self> {
        let map = py.detach(|| ObjectMapOf::open(&path, verify)).map_err(mapped_error)?;
        Ok(PyMappedObjectMap { map })
    }

    /// The object of `key` (a plain map), or the list of its objects in insertion order (a multi-map); `KeyError`
    /// if absent.
    fn __getitem__<'py>(&self, py: Python<'py>, key: &Bound<'py, PyAny>) -> PyResult<Bound<'py, PyAny>> {
        let values = match self.map.values(key) {
            Some(values) => values.map_err(mapped_error)?,
            None => Vec::new(),
        };
        if values.is_empty() {
            return Err(PyKeyError::new_err(key.clone().unbind()));
        }
        if self.map.is_multi() {
            let objects = values.iter().map(|v| to_object(py, v)).collect::<PyResult<Vec<_>>>()?;
            return Ok(PyList::new(py, objects)?.into_any());
        }
        to_object(py, values[0])
    }

    /// `self[key]`, or `default` for an absent key.
    #[pyo3(signature = (key, default = None))]
    fn get<'py>(
        &self,
        py: Python<'py>,
        key: &Bound<'py, PyAny>,
        default: Option<Bound<'py, PyAny>>,
    ) -> PyResult<Bound<'py, PyAny>> {
        match self.__getitem__(py, key) {
            Err(e) if e.is_instance_of::<PyKeyError>(py) => Ok(default.unwrap_or_else(|| py.None().into_bound(py))),
            other => other,
        }
    }

    fn __contains__(&self, key: &Bound<'_, PyAny>) -> bool {
        self.map.contains(key)
    }

    /// The number of distinct keys.
    fn __len__(&self) -> usize {
        self.map.len()
    }

    /// Every key, in file order.
    fn keys<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyList>> {
        match &self.map {
            ObjectMapOf::Ints(m) => PyList::new(py, m.keys().map(|(k, _)| k)),
            ObjectMapOf::Strs(m) => PyList::new(py, m.keys().map(|(k, _)| k)),
        }
    }

    /// Whether a key may have several objects.
    #[getter]
    fn multi(&self) -> bool {
        self.map.is_multi()
    }

    /// The file's path.
    #[getter]
    fn path(&self) -> PathBuf {
        self.map.path().to_path_buf()
    }

    /// Checks every byte against the file's checksums and the index's consistency, and validates every record.
    fn verify(&self, py: Python<'_>) -> PyResult<()> {
        py.detach(|| self.map.verify()).map_err(mapped_error)
    }

    fn __repr__(&self) -> String {
        format!(
            "MappedObjectMap({:?}, keys={})",
            self.map.path().display().to_string(),
            self.map.len()
        )
    }
}

/// Writes `objects` under `keys` (a sequence of `int`s or of `str`s, as long as `objects`) into a new object-map
/// file at `path` (atomically) and maps it. With `multi=True` a key may repeat, and its objects keep their order;
/// otherwise a repeated key is an error.
#[pyfunction]
#[pyo3(signature = (path, keys, objects, *, multi = false))]
pub(crate) fn build_mapped_object_map(
    py: Python<'_>,
    path: PathBuf,
    keys: &Bound<'_, PyAny>,
    objects: &Bound<'_, PyAny>,
    multi: bool,
) -> PyResult<PyMappedObjectMap> {
    let keys: Vec<Bound<'_, PyAny>> = keys.try_iter()?.collect::<PyResult<_>>()?;
    let objects: Vec<Bound<'_, PyAny>> = objects.try_iter()?.collect::<PyResult<_>>()?;
    if keys.len() != objects.len() {
        return Err(raise(
            Kind::Shape,
            format!("{} keys for {} objects", keys.len(), objects.len()),
        ));
    }
    let mut at = Vec::new();
    let mut values = Vec::with_capacity(objects.len());
    for (k, o) in keys.iter().zip(&objects) {
        at.push(format!("[{}]", k.repr()?));
        values.push(to_value(o, &mut at)?);
        at.pop();
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
    let map = if strings {
        let keys = keys
            .iter()
            .map(|k| Ok(k.cast::<PyString>().map_err(|_| key_error(k))?.to_cow()?.into_owned()))
            .collect::<PyResult<Vec<String>>>()?;
        let built = py.detach(|| {
            ArchivedIdMap::<str, Value>::builder(&path)
                .multi(multi)
                .build(keys.iter().map(String::as_str).zip(&values))
        });
        ObjectMapOf::Strs(built.map_err(mapped_error)?)
    } else {
        let keys = keys
            .iter()
            .map(|k| {
                if k.is_instance_of::<PyBool>() {
                    return Err(key_error(k));
                }
                k.extract::<u64>().map_err(|_| key_error(k))
            })
            .collect::<PyResult<Vec<u64>>>()?;
        let built = py.detach(|| {
            ArchivedIdMap::<u64, Value>::builder(&path)
                .multi(multi)
                .build(keys.iter().zip(&values))
        });
        ObjectMapOf::Ints(built.map_err(mapped_error)?)
    };
    Ok(PyMappedObjectMap { map })
}
