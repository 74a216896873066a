//! `NestedDict`: path-based access to a nested YAML mapping (ataraxis `NestedDictionary`).
//!
//! A path is a list of keys from the top of the tree to a value. It is given either as keys ([`KeyPath`], any
//! mix of YAML scalar keys: strings, integers, floats, booleans, null) or as a delimited string (`"a.b.c"` with the
//! default delimiter `.`). A delimited string is only accepted while every key of the tree has the same type, and
//! each segment is converted to that type (an empty tree counts as string-keyed).
//!
//! Invariants:
//! - every operation that fails leaves the tree unchanged (writes and deletes check the whole path first);
//! - nothing panics on any input: a missing key, a value where a section was expected, a bad conversion, each is
//!   a typed [`NestedDictError`] naming the path;
//! - a path has at most [`MAX_PATH_DEPTH`] keys, so no input can nest the tree deep enough to exhaust the stack;
//! - mappings keep their key order; new keys go after the existing ones;
//! - a terminal path ends at a non-mapping value or at an empty section (never at the empty top level).

pub use serde_yaml::{Mapping, Value};
use std::collections::BTreeSet;
use std::fmt;
use std::path::Path;

use crate::config::{parse_error, read_yaml_text, write_yaml_document, ConfigError};

/// The most keys a path may have. serde_yaml refuses documents nested deeper than this, and the limit keeps every
/// recursive walk (and the drop of the tree) far from the stack's end, whatever the input.
///
/// # Examples
///
/// ```
/// use seqring_state::nested_dict::{NestedDict, NestedDictError, MAX_PATH_DEPTH};
/// let mut d = NestedDict::new();
/// let deep = vec!["k"; MAX_PATH_DEPTH + 1].join(".");
/// assert!(matches!(d.write(deep.as_str(), 1.into(), Default::default()), Err(NestedDictError::TooDeep(129))));
/// let deepest = vec!["k"; MAX_PATH_DEPTH].join(".");
/// d.write(deepest.as_str(), 1.into(), Default::default())?;
/// assert_eq!(d.read(deepest.as_str())?.as_i64(), Some(1));
/// # Ok::<(), seqring_state::nested_dict::NestedDictError>(())
/// ```
pub const MAX_PATH_DEPTH: usize = 128;

/// The type of a key, named as Python names it (`str`, `int`, `float`, `bool`, `NoneType`).
///
/// # Examples
///
/// ```
/// use seqring_state::nested_dict::{KeyType, NestedDict};
/// let d = NestedDict::from_yaml_str("1: a\n2: {x: b}\n")?;
/// assert_eq!(d.key_types(), [KeyType::Int, KeyType::Str]);
/// assert_eq!(KeyType::NoneType.to_string(), "NoneType");
/// # Ok::<(), seqring_state::nested_dict::NestedDictError>(())
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum KeyType {
    /// A boolean key.
    Bool,
    /// A floating-point key.
    Float,
    /// An integer key.
    Int,
    /// A null key.
    NoneType,
    /// A string key.
    Str,
    /// A sequence, mapping or tagged key (YAML allows them; paths can address them only as keys).
    Other,
}

impl KeyType {
    /// The type of a key.
    ///
    /// # Examples
    ///
    /// ```
    /// use seqring_state::nested_dict::{KeyType, Value};
    /// assert_eq!(KeyType::of(&Value::from("fps")), KeyType::Str);
    /// assert_eq!(KeyType::of(&Value::from(3)), KeyType::Int);
    /// assert_eq!(KeyType::of(&Value::from(0.5)), KeyType::Float);
    /// assert_eq!(KeyType::of(&Value::Bool(true)), KeyType::Bool);
    /// assert_eq!(KeyType::of(&Value::Null), KeyType::NoneType);
    /// assert_eq!(KeyType::of(&Value::Sequence(vec![])), KeyType::Other);
    /// ```
    pub fn of(key: &Value) -> Self {
        match key {
            Value::Bool(_) => KeyType::Bool,
            Value::Number(n) if n.is_f64() => KeyType::Float,
            Value::Number(_) => KeyType::Int,
            Value::Null => KeyType::NoneType,
            Value::String(_) => KeyType::Str,
            _ => KeyType::Other,
        }
    }

    /// The Python name.
    ///
    /// # Examples
    ///
    /// ```
    /// use seqring_state::nested_dict::KeyType;
    /// assert_eq!(KeyType::Str.name(), "str");
    /// assert_eq!(KeyType::Int.name(), "int");
    /// assert_eq!(KeyType::NoneType.name(), "NoneType");
    /// ```
    pub fn name(self) -> &'static str {
        match self {
            KeyType::Bool => "bool",
            KeyType::Float => "float",
            KeyType::Int => "int",
            KeyType::NoneType => "NoneType",
            KeyType::Str => "str",
            KeyType::Other => "other",
        }
    }
}

impl fmt::Display for KeyType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// A path of keys from the top of the tree.
///
/// # Examples
///
/// ```
/// use seqring_state::nested_dict::{KeyPath, NestedDict, Value};
/// let d = NestedDict::from_yaml_str("sessions:\n  3: {trials: 120}\n")?;
/// // Mixed key types (a string, then an integer) need explicit keys.
/// let path = KeyPath::from(vec![Value::from("sessions"), Value::from(3), Value::from("trials")]);
/// assert_eq!(d.read(&path)?.as_u64(), Some(120));
/// assert!(d.read("sessions.3.trials").is_err());
/// let names = KeyPath::from(&["a", "b"][..]);
/// assert_eq!(names.join("/"), "a/b");
/// # Ok::<(), seqring_state::nested_dict::NestedDictError>(())
/// ```
#[derive(Clone, Debug, PartialEq, Eq, Hash, Default)]
pub struct KeyPath(pub Vec<Value>);

impl KeyPath {
    /// The keys.
    ///
    /// # Examples
    ///
    /// ```
    /// use seqring_state::nested_dict::{KeyPath, Value};
    /// let path = KeyPath::from(&["camera", "fps"][..]);
    /// assert_eq!(path.keys(), [Value::from("camera"), Value::from("fps")]);
    /// ```
    pub fn keys(&self) -> &[Value] {
        &self.0
    }

    /// The keys joined by `delimiter`, each written as Python's `str()` writes it.
    ///
    /// # Examples
    ///
    /// ```
    /// use seqring_state::nested_dict::KeyPath;
    /// let p = KeyPath::from(vec!["a".into(), 1.into(), serde_yaml::Value::Null]);
    /// assert_eq!(p.join("."), "a.1.None");
    /// ```
    pub fn join(&self, delimiter: &str) -> String {
        self.0.iter().map(key_text).collect::<Vec<_>>().join(delimiter)
    }
}

impl From<Vec<Value>> for KeyPath {
    fn from(keys: Vec<Value>) -> Self {
        KeyPath(keys)
    }
}

impl From<&[&str]> for KeyPath {
    fn from(keys: &[&str]) -> Self {
        KeyPath(keys.iter().map(|k| Value::String((*k).to_owned())).collect())
    }
}

/// A path argument: a delimited string or explicit keys.
///
/// # Examples
///
/// ```
/// use seqring_state::nested_dict::{NestedDict, Value};
/// let rig = NestedDict::from_yaml_str("camera:\n  fps: 30\n  exposure_us: 5000\nspeaker:\n  volume: 0.8\n")?;
/// // The same value through either form of path.
/// let keys = [Value::from("camera"), Value::from("fps")];
/// assert_eq!(rig.read("camera.fps")?, rig.read(&keys[..])?);
/// # Ok::<(), seqring_state::nested_dict::NestedDictError>(())
/// ```
#[derive(Clone, Copy, Debug)]
pub enum PathSpec<'a> {
    /// Keys separated by the dictionary's delimiter.
    Delimited(&'a str),
    /// Explicit keys.
    Keys(&'a [Value]),
}

impl<'a> From<&'a str> for PathSpec<'a> {
    fn from(s: &'a str) -> Self {
        PathSpec::Delimited(s)
    }
}
impl<'a> From<&'a String> for PathSpec<'a> {
    fn from(s: &'a String) -> Self {
        PathSpec::Delimited(s)
    }
}
impl<'a> From<&'a [Value]> for PathSpec<'a> {
    fn from(k: &'a [Value]) -> Self {
        PathSpec::Keys(k)
    }
}
impl<'a> From<&'a Vec<Value>> for PathSpec<'a> {
    fn from(k: &'a Vec<Value>) -> Self {
        PathSpec::Keys(k)
    }
}
impl<'a> From<&'a KeyPath> for PathSpec<'a> {
    fn from(k: &'a KeyPath) -> Self {
        PathSpec::Keys(&k.0)
    }
}

/// Which keys of each path [`NestedDict::find`] compares.
///
/// # Examples
///
/// ```
/// use seqring_state::nested_dict::{NestedDict, SearchMode, Value};
/// let d = NestedDict::from_yaml_str("left:\n  gain: 1\nright:\n  left: 2\n")?;
/// let found = |mode| d.find(&Value::from("left"), mode).iter().map(|p| p.join(".")).collect::<Vec<_>>();
/// assert_eq!(found(SearchMode::TerminalOnly), ["right.left"]);
/// assert_eq!(found(SearchMode::IntermediateOnly), ["left"]);
/// assert_eq!(found(SearchMode::All), ["left", "right.left"]);
/// # Ok::<(), seqring_state::nested_dict::NestedDictError>(())
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SearchMode {
    /// Only the last key of each terminal path.
    TerminalOnly,
    /// Only section keys (every key but the last).
    IntermediateOnly,
    /// Every key.
    All,
}

/// Options of [`NestedDict::write`].
///
/// # Examples
///
/// ```
/// use seqring_state::nested_dict::{NestedDict, NestedDictError, WriteOptions};
/// let mut d = NestedDict::from_yaml_str("camera: off\nfps: 30\n")?;
/// let keep = WriteOptions { allow_terminal_overwrite: false, ..Default::default() };
/// assert!(matches!(d.write("fps", 60.into(), keep), Err(NestedDictError::TerminalExists { .. })));
/// // `camera` holds a value: it becomes a section only when allowed.
/// assert!(matches!(d.write("camera.fps", 60.into(), WriteOptions::default()), Err(NestedDictError::NotASection { .. })));
/// let replace = WriteOptions { allow_intermediate_overwrite: true, ..Default::default() };
/// d.write("camera.fps", 60.into(), replace)?;
/// assert_eq!(d.terminal_path_strings(), ["camera.fps", "fps"]);
/// # Ok::<(), seqring_state::nested_dict::NestedDictError>(())
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct WriteOptions {
    /// Replace an existing value at the path's end (default true).
    pub allow_terminal_overwrite: bool,
    /// Replace a non-section value met along the path with a new section (default false).
    pub allow_intermediate_overwrite: bool,
}

impl Default for WriteOptions {
    fn default() -> Self {
        Self {
            allow_terminal_overwrite: true,
            allow_intermediate_overwrite: false,
        }
    }
}

/// Options of [`NestedDict::delete`].
///
/// # Examples
///
/// ```
/// use seqring_state::nested_dict::{DeleteOptions, NestedDict};
/// let mut d = NestedDict::from_yaml_str("camera:\n  fps: 30\nspeaker:\n  volume: 1\n")?;
/// d.delete("camera.fps", DeleteOptions::default())?;
/// assert_eq!(d.terminal_path_strings(), ["speaker.volume"], "the emptied section went too");
/// let keep = DeleteOptions { delete_empty_sections: false, allow_missing: true };
/// d.delete("speaker.volume", keep)?;
/// d.delete("speaker.absent", keep)?; // missing: nothing to do
/// assert_eq!(d.terminal_path_strings(), ["speaker"], "an empty section is a terminal path");
/// # Ok::<(), seqring_state::nested_dict::NestedDictError>(())
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct DeleteOptions {
    /// Remove sections that the deletion leaves empty (default true).
    pub delete_empty_sections: bool,
    /// Treat a missing key as already deleted (default false).
    pub allow_missing: bool,
}

impl Default for DeleteOptions {
    fn default() -> Self {
        Self {
            delete_empty_sections: true,
            allow_missing: false,
        }
    }
}

/// A failed [`NestedDict`] operation.
///
/// # Examples
///
/// ```
/// use seqring_state::nested_dict::{NestedDict, NestedDictError};
/// let rig = NestedDict::from_yaml_str("camera:\n  fps: 30\n  exposure_us: 5000\nspeaker:\n  volume: 0.8\n")?;
/// let err = rig.read("camera.gain").unwrap_err();
/// assert!(matches!(err, NestedDictError::Missing { .. }));
/// assert_eq!(
///     err.to_string(),
///     "the key gain (str) of the path camera.gain is missing; the keys there are [fps (str), exposure_us (str)]"
/// );
/// assert!(matches!(rig.read("camera.fps.max"), Err(NestedDictError::NotASection { .. })));
/// # Ok::<(), seqring_state::nested_dict::NestedDictError>(())
/// ```
#[derive(Debug, thiserror::Error)]
pub enum NestedDictError {
    /// The path has no key.
    #[error("the key path is empty")]
    EmptyPath,
    /// The path has more than [`MAX_PATH_DEPTH`] keys.
    #[error("the key path has {0} keys, more than the {MAX_PATH_DEPTH} allowed")]
    TooDeep(usize),
    /// The delimiter is empty.
    #[error("the path delimiter must not be empty")]
    EmptyDelimiter,
    /// A delimited path ends with the delimiter.
    #[error("the path {path:?} ends with the delimiter {delimiter:?}")]
    TrailingDelimiter {
        /// The path.
        path: String,
        /// The delimiter.
        delimiter: String,
    },
    /// A delimited path was given while the keys have several types.
    #[error("the path {path:?} is a delimited string, but the keys have {} types ({}); give a list of keys", types.len(), type_list(types))]
    MixedKeyTypes {
        /// The path.
        path: String,
        /// The key types in the tree.
        types: Vec<KeyType>,
    },
    /// A segment of a delimited path does not convert to the tree's key type.
    #[error("the segment {segment:?} of the path {path:?} is not a valid {key_type} key")]
    KeyConversion {
        /// The path.
        path: String,
        /// The segment.
        segment: String,
        /// The key type.
        key_type: KeyType,
    },
    /// A key is not in its section.
    #[error("the key {key} ({key_type}) of the path {path} is missing; the keys there are [{available}]")]
    Missing {
        /// The whole path.
        path: String,
        /// The missing key.
        key: String,
        /// Its type.
        key_type: KeyType,
        /// The keys present at that level, with their types.
        available: String,
    },
    /// A key along the path holds a value, not a section.
    #[error("the key {key} of the path {path} holds a value, not a section")]
    NotASection {
        /// The whole path.
        path: String,
        /// The key holding a value.
        key: String,
    },
    /// The path's end exists and overwriting was not allowed.
    #[error("the path {path} already holds a value and overwriting it is not allowed")]
    TerminalExists {
        /// The path.
        path: String,
    },
    /// Converting keys made two keys of one section equal.
    #[error("converting the keys to {key_type} makes two keys collide at {path}")]
    KeyCollision {
        /// The path where the collision happens.
        path: String,
        /// The requested type.
        key_type: KeyType,
    },
    /// A key cannot be converted to the requested type.
    #[error("the key {key} at {path} cannot be converted to {key_type}")]
    Unconvertible {
        /// The path of the key.
        path: String,
        /// The key.
        key: String,
        /// The requested type.
        key_type: KeyType,
    },
    /// Keys can only be converted to `str` or `int`.
    #[error("keys can only be converted to str or int, not {0}")]
    UnsupportedConversion(KeyType),
    /// The YAML document's top level is not a mapping.
    #[error("{path}: the top level of the document is not a mapping")]
    NotAMapping {
        /// The file.
        path: std::path::PathBuf,
    },
    /// Reading or writing the YAML file failed.
    #[error(transparent)]
    File(#[from] ConfigError),
}

fn type_list(types: &[KeyType]) -> String {
    types.iter().map(|t| t.name()).collect::<Vec<_>>().join(", ")
}

/// A key written as Python's `str()` writes it.
fn key_text(key: &Value) -> String {
    match key {
        Value::String(s) => s.clone(),
        Value::Bool(true) => "True".into(),
        Value::Bool(false) => "False".into(),
        Value::Null => "None".into(),
        Value::Number(n) => match n.as_f64() {
            Some(f) if n.is_f64() => python_float(f),
            _ => n.to_string(),
        },
        other => serde_yaml::to_string(other)
            .map(|s| s.trim_end().to_owned())
            .unwrap_or_default(),
    }
}

fn python_float(f: f64) -> String {
    if f.is_nan() {
        "nan".into()
    } else if f.is_infinite() {
        if f > 0.0 { "inf" } else { "-inf" }.into()
    } else if f.fract() == 0.0 && f.abs() < 1e16 {
        format!("{f:.1}")
    } else {
        format!("{f:?}")
    }
}

/// A nested YAML mapping with path-based access.
///
/// # Examples
///
/// ```
/// use seqring_state::nested_dict::{NestedDict, SearchMode, WriteOptions};
/// let mut d = NestedDict::from_yaml_str("rig:\n  camera:\n    fps: 30\n  name: a\n")?;
/// assert_eq!(d.read("rig.camera.fps")?.as_i64(), Some(30));
/// d.write("rig.camera.exposure", 5.into(), WriteOptions::default())?;
/// let found = d.find(&"fps".into(), SearchMode::TerminalOnly);
/// assert_eq!(found[0].join("."), "rig.camera.fps");
/// d.delete("rig.name", Default::default())?;
/// assert_eq!(d.terminal_path_strings(), ["rig.camera.fps", "rig.camera.exposure"]);
/// # Ok::<(), seqring_state::nested_dict::NestedDictError>(())
/// ```
#[derive(Clone, Debug, PartialEq)]
pub struct NestedDict {
    root: Mapping,
    delimiter: String,
}

impl Default for NestedDict {
    fn default() -> Self {
        Self::new()
    }
}

impl NestedDict {
    /// An empty dictionary with the `.` delimiter.
    ///
    /// # Examples
    ///
    /// ```
    /// use seqring_state::nested_dict::NestedDict;
    /// let mut d = NestedDict::new();
    /// assert!(d.as_mapping().is_empty());
    /// assert_eq!(d.delimiter(), ".");
    /// d.write("session.mouse", "M12".into(), Default::default())?;
    /// assert_eq!(d.read("session.mouse")?.as_str(), Some("M12"));
    /// # Ok::<(), seqring_state::nested_dict::NestedDictError>(())
    /// ```
    pub fn new() -> Self {
        Self {
            root: Mapping::new(),
            delimiter: ".".into(),
        }
    }

    /// Wraps a mapping.
    ///
    /// # Examples
    ///
    /// ```
    /// use seqring_state::nested_dict::{Mapping, NestedDict, Value};
    /// let mut camera = Mapping::new();
    /// camera.insert("fps".into(), 30.into());
    /// let mut root = Mapping::new();
    /// root.insert("camera".into(), Value::Mapping(camera));
    /// let d = NestedDict::from_mapping(root);
    /// assert_eq!(d.read("camera.fps")?.as_i64(), Some(30));
    /// # Ok::<(), seqring_state::nested_dict::NestedDictError>(())
    /// ```
    pub fn from_mapping(root: Mapping) -> Self {
        Self {
            root,
            delimiter: ".".into(),
        }
    }

    /// Parses YAML text whose top level is a mapping (or empty).
    ///
    /// # Errors
    ///
    /// [`NestedDictError::File`] for malformed YAML; [`NestedDictError::NotAMapping`] for another top level.
    ///
    /// # Examples
    ///
    /// ```
    /// use seqring_state::nested_dict::{NestedDict, NestedDictError};
    /// let d = NestedDict::from_yaml_str("rig:\n  name: rig-1\n")?;
    /// assert_eq!(d.read("rig.name")?.as_str(), Some("rig-1"));
    /// assert!(NestedDict::from_yaml_str("")?.as_mapping().is_empty());
    /// assert!(matches!(NestedDict::from_yaml_str("- a\n- b\n"), Err(NestedDictError::NotAMapping { .. })));
    /// assert!(matches!(NestedDict::from_yaml_str("a: [1, 2\n"), Err(NestedDictError::File(_))));
    /// # Ok::<(), seqring_state::nested_dict::NestedDictError>(())
    /// ```
    pub fn from_yaml_str(text: &str) -> Result<Self, NestedDictError> {
        Self::parse(Path::new("<string>"), text)
    }

    fn parse(path: &Path, text: &str) -> Result<Self, NestedDictError> {
        if text.trim().is_empty() {
            return Ok(Self::new());
        }
        match serde_yaml::from_str::<Value>(text).map_err(|e| parse_error(path, &e))? {
            Value::Mapping(m) => Ok(Self::from_mapping(m)),
            Value::Null => Ok(Self::new()),
            _ => Err(NestedDictError::NotAMapping {
                path: path.to_path_buf(),
            }),
        }
    }

    /// Loads a `.yaml`/`.yml` file.
    ///
    /// # Errors
    ///
    /// [`NestedDictError::File`] for a wrong extension, an unreadable file or malformed YAML (with line and
    /// column); [`NestedDictError::NotAMapping`].
    ///
    /// # Examples
    ///
    /// ```
    /// use seqring_state::nested_dict::NestedDict;
    /// let dir = tempfile::tempdir()?;
    /// let path = dir.path().join("session.yaml");
    /// std::fs::write(&path, "mouse: M12\nweights_g: {day1: 21.5}\n")?;
    /// let d = NestedDict::from_yaml(&path)?;
    /// assert_eq!(d.read("weights_g.day1")?.as_f64(), Some(21.5));
    /// assert!(NestedDict::from_yaml(dir.path().join("session.txt")).is_err());
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn from_yaml(path: impl AsRef<Path>) -> Result<Self, NestedDictError> {
        let path = path.as_ref();
        let text = read_yaml_text(path)?;
        Self::parse(path, &text)
    }

    /// Saves to a `.yaml`/`.yml` file atomically.
    ///
    /// # Errors
    ///
    /// [`NestedDictError::File`] for a wrong extension or a failed write.
    ///
    /// # Examples
    ///
    /// ```
    /// use seqring_state::nested_dict::NestedDict;
    /// let dir = tempfile::tempdir()?;
    /// let path = dir.path().join("out/rig.yaml");
    /// let mut d = NestedDict::new();
    /// d.write("camera.fps", 30.into(), Default::default())?;
    /// d.to_yaml(&path)?;
    /// assert_eq!(std::fs::read_to_string(&path)?, "---\ncamera:\n  fps: 30\n...\n");
    /// assert_eq!(NestedDict::from_yaml(&path)?, d);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn to_yaml(&self, path: impl AsRef<Path>) -> Result<(), NestedDictError> {
        let path = path.as_ref();
        let body = serde_yaml::to_string(&self.root).map_err(|source| ConfigError::Serialize {
            path: path.to_path_buf(),
            source,
        })?;
        write_yaml_document(path, &body)?;
        Ok(())
    }

    /// The wrapped mapping.
    ///
    /// # Examples
    ///
    /// ```
    /// use seqring_state::nested_dict::{NestedDict, Value};
    /// let rig = NestedDict::from_yaml_str("camera:\n  fps: 30\n  exposure_us: 5000\nspeaker:\n  volume: 0.8\n")?;
    /// assert_eq!(rig.as_mapping().len(), 2);
    /// assert!(rig.as_mapping().contains_key("speaker"));
    /// # Ok::<(), seqring_state::nested_dict::NestedDictError>(())
    /// ```
    pub fn as_mapping(&self) -> &Mapping {
        &self.root
    }

    /// Unwraps the mapping.
    ///
    /// # Examples
    ///
    /// ```
    /// use seqring_state::nested_dict::{NestedDict, Value};
    /// let rig = NestedDict::from_yaml_str("camera:\n  fps: 30\n  exposure_us: 5000\nspeaker:\n  volume: 0.8\n")?;
    /// let value = Value::Mapping(rig.into_mapping());
    /// assert_eq!(value["camera"]["fps"].as_i64(), Some(30));
    /// # Ok::<(), seqring_state::nested_dict::NestedDictError>(())
    /// ```
    pub fn into_mapping(self) -> Mapping {
        self.root
    }

    /// The path delimiter.
    ///
    /// # Examples
    ///
    /// ```
    /// use seqring_state::nested_dict::NestedDict;
    /// let mut d = NestedDict::new();
    /// assert_eq!(d.delimiter(), ".");
    /// d.set_delimiter("/")?;
    /// assert_eq!(d.delimiter(), "/");
    /// # Ok::<(), seqring_state::nested_dict::NestedDictError>(())
    /// ```
    pub fn delimiter(&self) -> &str {
        &self.delimiter
    }

    /// Changes the path delimiter.
    ///
    /// # Errors
    ///
    /// [`NestedDictError::EmptyDelimiter`].
    ///
    /// # Examples
    ///
    /// ```
    /// use seqring_state::nested_dict::{NestedDict, NestedDictError};
    /// // Keys that contain dots need another delimiter.
    /// let mut d = NestedDict::from_yaml_str("v1.2:\n  gain: 0.5\n")?;
    /// assert!(d.read("v1.2.gain").is_err());
    /// d.set_delimiter("/")?;
    /// assert_eq!(d.read("v1.2/gain")?.as_f64(), Some(0.5));
    /// assert!(matches!(d.set_delimiter(""), Err(NestedDictError::EmptyDelimiter)));
    /// # Ok::<(), seqring_state::nested_dict::NestedDictError>(())
    /// ```
    pub fn set_delimiter(&mut self, delimiter: &str) -> Result<(), NestedDictError> {
        if delimiter.is_empty() {
            return Err(NestedDictError::EmptyDelimiter);
        }
        self.delimiter = delimiter.to_owned();
        Ok(())
    }

    /// The types of all keys in the tree, sorted by name.
    ///
    /// # Examples
    ///
    /// ```
    /// use seqring_state::nested_dict::{KeyType, NestedDict};
    /// assert_eq!(NestedDict::from_yaml_str("a: {b: 1}\n")?.key_types(), [KeyType::Str]);
    /// let mixed = NestedDict::from_yaml_str("a: {1: x, true: y}\n")?;
    /// assert_eq!(mixed.key_types(), [KeyType::Bool, KeyType::Int, KeyType::Str]);
    /// assert!(NestedDict::new().key_types().is_empty());
    /// # Ok::<(), seqring_state::nested_dict::NestedDictError>(())
    /// ```
    pub fn key_types(&self) -> Vec<KeyType> {
        fn visit(m: &Mapping, out: &mut BTreeSet<KeyType>) {
            for (k, v) in m {
                out.insert(KeyType::of(k));
                if let Value::Mapping(inner) = v {
                    visit(inner, out);
                }
            }
        }
        let mut set = BTreeSet::new();
        visit(&self.root, &mut set);
        let mut types: Vec<_> = set.into_iter().collect();
        types.sort_by_key(|t| t.name());
        types
    }

    /// Converts a path argument into keys.
    ///
    /// # Errors
    ///
    /// [`NestedDictError::EmptyPath`], [`NestedDictError::TrailingDelimiter`], [`NestedDictError::MixedKeyTypes`],
    /// [`NestedDictError::KeyConversion`].
    ///
    /// # Examples
    ///
    /// ```
    /// use seqring_state::nested_dict::{NestedDict, NestedDictError, Value};
    /// // Every key is an integer, so each segment is read as one.
    /// let trials = NestedDict::from_yaml_str("1: {2: hit}\n")?;
    /// assert_eq!(trials.parse_path("1.2")?.keys(), [Value::from(1), Value::from(2)]);
    /// assert!(matches!(trials.parse_path("1.x"), Err(NestedDictError::KeyConversion { .. })));
    /// assert!(matches!(trials.parse_path("1."), Err(NestedDictError::TrailingDelimiter { .. })));
    /// assert!(matches!(trials.parse_path(""), Err(NestedDictError::EmptyPath)));
    /// let mixed = NestedDict::from_yaml_str("a: {1: x}\n")?;
    /// assert!(matches!(mixed.parse_path("a.1"), Err(NestedDictError::MixedKeyTypes { .. })));
    /// # Ok::<(), seqring_state::nested_dict::NestedDictError>(())
    /// ```
    pub fn parse_path<'a>(&self, path: impl Into<PathSpec<'a>>) -> Result<KeyPath, NestedDictError> {
        let text = match path.into() {
            PathSpec::Keys([]) => return Err(NestedDictError::EmptyPath),
            PathSpec::Keys(keys) if keys.len() > MAX_PATH_DEPTH => return Err(NestedDictError::TooDeep(keys.len())),
            PathSpec::Keys(keys) => return Ok(KeyPath(keys.to_vec())),
            PathSpec::Delimited(text) => text,
        };
        if text.is_empty() {
            return Err(NestedDictError::EmptyPath);
        }
        if text.ends_with(self.delimiter.as_str()) {
            return Err(NestedDictError::TrailingDelimiter {
                path: text.into(),
                delimiter: self.delimiter.clone(),
            });
        }
        let depth = text.matches(self.delimiter.as_str()).count() + 1;
        if depth > MAX_PATH_DEPTH {
            return Err(NestedDictError::TooDeep(depth));
        }
        let types = self.key_types();
        let key_type = match types.as_slice() {
            [] => KeyType::Str,
            [t] => *t,
            _ => {
                return Err(NestedDictError::MixedKeyTypes {
                    path: text.into(),
                    types,
                })
            }
        };
        let convert = |segment: &str| -> Option<Value> {
            match key_type {
                KeyType::Str => Some(Value::String(segment.to_owned())),
                KeyType::Int => segment
                    .trim()
                    .parse::<i64>()
                    .map(Value::from)
                    .or_else(|_| segment.trim().parse::<u64>().map(Value::from))
                    .ok(),
                KeyType::Float => segment.trim().parse::<f64>().ok().map(Value::from),
                KeyType::Bool => match segment.trim() {
                    "True" | "true" => Some(Value::Bool(true)),
                    "False" | "false" => Some(Value::Bool(false)),
                    _ => None,
                },
                KeyType::NoneType => Some(Value::Null),
                KeyType::Other => None,
            }
        };
        text.split(self.delimiter.as_str())
            .map(|segment| {
                convert(segment).ok_or_else(|| NestedDictError::KeyConversion {
                    path: text.into(),
                    segment: segment.into(),
                    key_type,
                })
            })
            .collect::<Result<Vec<_>, _>>()
            .map(KeyPath)
    }

    fn show(&self, keys: &[Value]) -> String {
        KeyPath(keys.to_vec()).join(&self.delimiter)
    }

    fn missing(&self, keys: &[Value], i: usize, level: &Mapping) -> NestedDictError {
        let available = level
            .keys()
            .map(|k| format!("{} ({})", key_text(k), KeyType::of(k)))
            .collect::<Vec<_>>()
            .join(", ");
        NestedDictError::Missing {
            path: self.show(keys),
            key: key_text(&keys[i]),
            key_type: KeyType::of(&keys[i]),
            available,
        }
    }

    /// The value (or section) at a path.
    ///
    /// # Errors
    ///
    /// Path parsing errors; [`NestedDictError::Missing`] and [`NestedDictError::NotASection`] naming the path.
    ///
    /// # Examples
    ///
    /// ```
    /// use seqring_state::nested_dict::{NestedDict, Value};
    /// let rig = NestedDict::from_yaml_str("camera:\n  fps: 30\n  exposure_us: 5000\nspeaker:\n  volume: 0.8\n")?;
    /// assert_eq!(rig.read("camera.fps")?.as_i64(), Some(30));
    /// assert_eq!(rig.read("speaker.volume")?, &Value::from(0.8));
    /// assert!(rig.read("camera")?.is_mapping(), "a section is a value too");
    /// assert!(rig.read("camera.gain").is_err());
    /// # Ok::<(), seqring_state::nested_dict::NestedDictError>(())
    /// ```
    pub fn read<'a>(&self, path: impl Into<PathSpec<'a>>) -> Result<&Value, NestedDictError> {
        let keys = self.parse_path(path)?;
        let keys = keys.keys();
        let mut level = &self.root;
        for (i, key) in keys.iter().enumerate() {
            let value = level.get(key).ok_or_else(|| self.missing(keys, i, level))?;
            if i + 1 == keys.len() {
                return Ok(value);
            }
            level = value.as_mapping().ok_or_else(|| NestedDictError::NotASection {
                path: self.show(keys),
                key: key_text(key),
            })?;
        }
        Err(NestedDictError::EmptyPath)
    }

    /// Writes `value` at a path, creating missing sections.
    ///
    /// # Errors
    ///
    /// Path parsing errors; [`NestedDictError::TerminalExists`] or [`NestedDictError::NotASection`] when the options
    /// forbid the overwrite. The tree is unchanged on error.
    ///
    /// # Examples
    ///
    /// ```
    /// use seqring_state::nested_dict::{NestedDict, Value};
    /// let mut rig = NestedDict::from_yaml_str("camera:\n  fps: 30\n  exposure_us: 5000\nspeaker:\n  volume: 0.8\n")?;
    /// rig.write("camera.fps", 60.into(), Default::default())?;
    /// rig.write("lick_sensor.threshold", 0.25.into(), Default::default())?; // sections are created
    /// assert_eq!(rig.read("camera.fps")?.as_i64(), Some(60));
    /// assert_eq!(rig.read("lick_sensor.threshold")?.as_f64(), Some(0.25));
    /// assert_eq!(rig.terminal_path_strings().last().unwrap(), "lick_sensor.threshold", "new keys go last");
    /// # Ok::<(), seqring_state::nested_dict::NestedDictError>(())
    /// ```
    pub fn write<'a>(
        &mut self,
        path: impl Into<PathSpec<'a>>,
        value: Value,
        options: WriteOptions,
    ) -> Result<(), NestedDictError> {
        let keys = self.parse_path(path)?;
        let keys = keys.keys();
        // Check the whole path before changing anything.
        let mut level = Some(&self.root);
        for (i, key) in keys.iter().enumerate() {
            let Some(map) = level else { break };
            let last = i + 1 == keys.len();
            match map.get(key) {
                None => break,
                Some(_) if last && !options.allow_terminal_overwrite => {
                    return Err(NestedDictError::TerminalExists { path: self.show(keys) });
                }
                Some(_) if last => {}
                Some(Value::Mapping(inner)) => level = Some(inner),
                Some(_) if options.allow_intermediate_overwrite => break,
                Some(_) => {
                    return Err(NestedDictError::NotASection {
                        path: self.show(keys),
                        key: key_text(key),
                    })
                }
            }
        }
        let (last, intermediate) = keys.split_last().ok_or(NestedDictError::EmptyPath)?;
        let mut map = &mut self.root;
        for key in intermediate {
            let slot = map.entry(key.clone()).or_insert_with(|| Value::Mapping(Mapping::new()));
            if !slot.is_mapping() {
                *slot = Value::Mapping(Mapping::new());
            }
            map = match slot {
                Value::Mapping(m) => m,
                _ => {
                    return Err(NestedDictError::NotASection {
                        path: String::new(),
                        key: key_text(key),
                    })
                }
            };
        }
        map.insert(last.clone(), value);
        Ok(())
    }

    /// Deletes the value or section at a path.
    ///
    /// # Errors
    ///
    /// Path parsing errors; [`NestedDictError::Missing`] (unless `allow_missing`) and
    /// [`NestedDictError::NotASection`]. The tree is unchanged on error.
    ///
    /// # Examples
    ///
    /// ```
    /// use seqring_state::nested_dict::{NestedDict, NestedDictError};
    /// let mut rig = NestedDict::from_yaml_str("camera:\n  fps: 30\n  exposure_us: 5000\nspeaker:\n  volume: 0.8\n")?;
    /// rig.delete("camera.exposure_us", Default::default())?;
    /// assert_eq!(rig.terminal_path_strings(), ["camera.fps", "speaker.volume"]);
    /// assert!(matches!(rig.delete("camera.gain", Default::default()), Err(NestedDictError::Missing { .. })));
    /// rig.delete("speaker", Default::default())?; // a whole section
    /// assert_eq!(rig.terminal_path_strings(), ["camera.fps"]);
    /// # Ok::<(), seqring_state::nested_dict::NestedDictError>(())
    /// ```
    pub fn delete<'a>(&mut self, path: impl Into<PathSpec<'a>>, options: DeleteOptions) -> Result<(), NestedDictError> {
        let keys = self.parse_path(path)?;
        let keys = keys.keys();
        let mut level = &self.root;
        for (i, key) in keys.iter().enumerate() {
            let Some(value) = level.get(key) else {
                return if options.allow_missing {
                    Ok(())
                } else {
                    Err(self.missing(keys, i, level))
                };
            };
            if i + 1 < keys.len() {
                level = value.as_mapping().ok_or_else(|| NestedDictError::NotASection {
                    path: self.show(keys),
                    key: key_text(key),
                })?;
            }
        }
        fn remove(map: &mut Mapping, keys: &[Value], prune: bool) {
            match keys {
                [last] => {
                    map.shift_remove(last);
                }
                [first, rest @ ..] => {
                    if let Some(Value::Mapping(inner)) = map.get_mut(first) {
                        remove(inner, rest, prune);
                        if prune && inner.is_empty() {
                            map.shift_remove(first);
                        }
                    }
                }
                [] => {}
            }
        }
        remove(&mut self.root, keys, options.delete_empty_sections);
        Ok(())
    }

    /// Every terminal path (to a non-section value or an empty section), in tree order.
    ///
    /// # Examples
    ///
    /// ```
    /// use seqring_state::nested_dict::{NestedDict, Value};
    /// let d = NestedDict::from_yaml_str("a:\n  1: x\n  c: {}\nd: [1, 2]\n")?;
    /// let paths = d.terminal_paths();
    /// assert_eq!(paths.len(), 3);
    /// assert_eq!(paths[0].keys(), [Value::from("a"), Value::from(1)]);
    /// assert_eq!(paths[1].join("."), "a.c"); // an empty section
    /// assert_eq!(paths[2].join("."), "d"); // a sequence is a value
    /// # Ok::<(), seqring_state::nested_dict::NestedDictError>(())
    /// ```
    pub fn terminal_paths(&self) -> Vec<KeyPath> {
        fn visit(m: &Mapping, prefix: &mut Vec<Value>, out: &mut Vec<KeyPath>) {
            if m.is_empty() && !prefix.is_empty() {
                out.push(KeyPath(prefix.clone()));
                return;
            }
            for (k, v) in m {
                prefix.push(k.clone());
                match v {
                    Value::Mapping(inner) => visit(inner, prefix, out),
                    _ => out.push(KeyPath(prefix.clone())),
                }
                prefix.pop();
            }
        }
        let mut out = Vec::new();
        visit(&self.root, &mut Vec::new(), &mut out);
        out
    }

    /// [`NestedDict::terminal_paths`] joined by the delimiter.
    ///
    /// # Examples
    ///
    /// ```
    /// use seqring_state::nested_dict::{NestedDict, Value};
    /// let mut rig = NestedDict::from_yaml_str("camera:\n  fps: 30\n  exposure_us: 5000\nspeaker:\n  volume: 0.8\n")?;
    /// assert_eq!(rig.terminal_path_strings(), ["camera.fps", "camera.exposure_us", "speaker.volume"]);
    /// rig.set_delimiter("/")?;
    /// assert_eq!(rig.terminal_path_strings()[0], "camera/fps");
    /// # Ok::<(), seqring_state::nested_dict::NestedDictError>(())
    /// ```
    pub fn terminal_path_strings(&self) -> Vec<String> {
        self.terminal_paths().iter().map(|p| p.join(&self.delimiter)).collect()
    }

    /// The paths to every occurrence of `key` (compared by value and type), up to and including the key, in order of
    /// discovery and without duplicates.
    ///
    /// # Examples
    ///
    /// ```
    /// use seqring_state::nested_dict::{NestedDict, SearchMode, Value};
    /// let d = NestedDict::from_yaml_str("camera_1: {fps: 30}\ncamera_2: {fps: 60}\n")?;
    /// let found = d.find(&Value::from("fps"), SearchMode::TerminalOnly);
    /// let found: Vec<String> = found.iter().map(|p| p.join(".")).collect();
    /// assert_eq!(found, ["camera_1.fps", "camera_2.fps"]);
    /// assert!(d.find(&Value::from(30), SearchMode::All).is_empty(), "values are not keys");
    /// # Ok::<(), seqring_state::nested_dict::NestedDictError>(())
    /// ```
    pub fn find(&self, key: &Value, mode: SearchMode) -> Vec<KeyPath> {
        let mut seen = std::collections::HashSet::new();
        let mut out = Vec::new();
        for path in self.terminal_paths() {
            let keys = path.keys();
            let range = match mode {
                SearchMode::TerminalOnly => keys.len() - 1..keys.len(),
                SearchMode::IntermediateOnly => 0..keys.len() - 1,
                SearchMode::All => 0..keys.len(),
            };
            for i in range {
                if &keys[i] == key {
                    let prefix = KeyPath(keys[..=i].to_vec());
                    if seen.insert(prefix.clone()) {
                        out.push(prefix);
                    }
                }
            }
        }
        out
    }

    /// Converts every key to `str` or `int` (as Python's `str()`/`int()` would).
    ///
    /// # Errors
    ///
    /// [`NestedDictError::UnsupportedConversion`] for another type, [`NestedDictError::Unconvertible`] for a key
    /// without such a form, [`NestedDictError::KeyCollision`] when two keys of a section become equal. The tree is
    /// unchanged on error.
    ///
    /// # Examples
    ///
    /// ```
    /// use seqring_state::nested_dict::{KeyType, NestedDict, NestedDictError, Value};
    /// let mut d = NestedDict::from_yaml_str("1: {2: a}\n3: b\n")?;
    /// d.convert_keys(KeyType::Str)?;
    /// assert_eq!(d.key_types(), [KeyType::Str]);
    /// assert_eq!(d.read("1.2")?, &Value::from("a"));
    /// d.convert_keys(KeyType::Int)?;
    /// assert_eq!(d.key_types(), [KeyType::Int]);
    /// let mut clash = NestedDict::from_yaml_str("1: a\n'1': b\n")?;
    /// assert!(matches!(clash.convert_keys(KeyType::Int), Err(NestedDictError::KeyCollision { .. })));
    /// assert!(matches!(d.convert_keys(KeyType::Float), Err(NestedDictError::UnsupportedConversion(KeyType::Float))));
    /// # Ok::<(), seqring_state::nested_dict::NestedDictError>(())
    /// ```
    pub fn convert_keys(&mut self, key_type: KeyType) -> Result<(), NestedDictError> {
        if !matches!(key_type, KeyType::Str | KeyType::Int) {
            return Err(NestedDictError::UnsupportedConversion(key_type));
        }
        fn convert(
            m: &Mapping,
            key_type: KeyType,
            prefix: &mut Vec<Value>,
            delim: &str,
        ) -> Result<Mapping, NestedDictError> {
            let mut out = Mapping::with_capacity(m.len());
            for (k, v) in m {
                prefix.push(k.clone());
                let here = KeyPath(prefix.clone()).join(delim);
                let new_key = convert_key(k, key_type).ok_or_else(|| NestedDictError::Unconvertible {
                    path: here.clone(),
                    key: key_text(k),
                    key_type,
                })?;
                let new_value = match v {
                    Value::Mapping(inner) => Value::Mapping(convert(inner, key_type, prefix, delim)?),
                    other => other.clone(),
                };
                if out.insert(new_key, new_value).is_some() {
                    return Err(NestedDictError::KeyCollision { path: here, key_type });
                }
                prefix.pop();
            }
            Ok(out)
        }
        self.root = convert(&self.root, key_type, &mut Vec::new(), &self.delimiter)?;
        Ok(())
    }
}

fn convert_key(key: &Value, key_type: KeyType) -> Option<Value> {
    match key_type {
        KeyType::Str => match key {
            Value::Sequence(_) | Value::Mapping(_) | Value::Tagged(_) => None,
            other => Some(Value::String(key_text(other))),
        },
        KeyType::Int => match key {
            Value::String(s) => {
                let t = s.trim();
                t.parse::<i64>()
                    .map(Value::from)
                    .or_else(|_| t.parse::<u64>().map(Value::from))
                    .ok()
            }
            Value::Number(n) if n.is_f64() => {
                let f = n.as_f64()?;
                #[allow(clippy::cast_possible_truncation)]
                (f.is_finite() && f.abs() < 9.2e18).then(|| Value::from(f.trunc() as i64))
            }
            Value::Number(_) => Some(key.clone()),
            Value::Bool(b) => Some(Value::from(i64::from(*b))),
            _ => None,
        },
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> NestedDict {
        NestedDict::from_yaml_str("a:\n  b:\n    c: 1\n    d: [1, 2]\n  e: {}\nf: text\ng:\n  b:\n    c: 2\n").unwrap()
    }

    #[test]
    fn read_paths_and_errors() {
        let d = sample();
        assert_eq!(d.read("a.b.c").unwrap(), &Value::from(1));
        assert!(d.read("a.b").unwrap().is_mapping());
        let keys: Vec<Value> = vec!["g".into(), "b".into(), "c".into()];
        assert_eq!(d.read(&keys).unwrap(), &Value::from(2));
        let err = d.read("a.x.c").unwrap_err();
        assert!(
            matches!(&err, NestedDictError::Missing { key, .. } if key == "x"),
            "{err}"
        );
        assert!(err.to_string().contains("a.x.c") && err.to_string().contains("b (str)"));
        assert!(matches!(d.read("f.x"), Err(NestedDictError::NotASection { .. })));
        assert!(matches!(d.read("a.b."), Err(NestedDictError::TrailingDelimiter { .. })));
        assert!(matches!(d.read(""), Err(NestedDictError::EmptyPath)));
        assert!(matches!(d.read(&Vec::<Value>::new()), Err(NestedDictError::EmptyPath)));
        let deep = vec!["k"; MAX_PATH_DEPTH + 1].join(".");
        assert!(matches!(d.read(deep.as_str()), Err(NestedDictError::TooDeep(129))));
    }

    #[test]
    fn write_creates_sections_and_respects_overwrite_flags() {
        let mut d = sample();
        d.write("a.new.deep", "v".into(), WriteOptions::default()).unwrap();
        assert_eq!(d.read("a.new.deep").unwrap(), &Value::from("v"));
        let before = d.clone();
        let no_overwrite = WriteOptions {
            allow_terminal_overwrite: false,
            ..Default::default()
        };
        assert!(matches!(
            d.write("a.b.c", 5.into(), no_overwrite),
            Err(NestedDictError::TerminalExists { .. })
        ));
        assert!(matches!(
            d.write("f.x.y", 5.into(), WriteOptions::default()),
            Err(NestedDictError::NotASection { .. })
        ));
        assert_eq!(d, before, "failed writes change nothing");
        let force = WriteOptions {
            allow_intermediate_overwrite: true,
            ..Default::default()
        };
        d.write("f.x.y", 5.into(), force).unwrap();
        assert_eq!(d.read("f.x.y").unwrap(), &Value::from(5));
        d.write("a.b.c", 9.into(), WriteOptions::default()).unwrap();
        assert_eq!(d.read("a.b.c").unwrap(), &Value::from(9));
        // New keys go after their siblings; a replaced value keeps its place.
        assert_eq!(
            d.terminal_path_strings(),
            ["a.b.c", "a.b.d", "a.e", "a.new.deep", "f.x.y", "g.b.c"]
        );
    }

    #[test]
    fn delete_prunes_and_handles_missing() {
        let mut d = sample();
        d.delete("g.b.c", DeleteOptions::default()).unwrap();
        assert!(
            matches!(d.read("g"), Err(NestedDictError::Missing { .. })),
            "emptied sections are pruned"
        );
        let keep = DeleteOptions {
            delete_empty_sections: false,
            ..Default::default()
        };
        d.delete("a.b.c", keep).unwrap();
        d.delete("a.b.d", keep).unwrap();
        assert_eq!(d.read("a.b").unwrap(), &Value::Mapping(Mapping::new()));
        let before = d.clone();
        assert!(matches!(
            d.delete("a.zz.q", DeleteOptions::default()),
            Err(NestedDictError::Missing { .. })
        ));
        assert!(matches!(
            d.delete("f.q", DeleteOptions::default()),
            Err(NestedDictError::NotASection { .. })
        ));
        assert_eq!(d, before);
        d.delete(
            "a.zz.q",
            DeleteOptions {
                allow_missing: true,
                ..Default::default()
            },
        )
        .unwrap();
        assert_eq!(d, before);
    }

    #[test]
    fn terminal_paths_and_find_modes() {
        let d = sample();
        assert_eq!(d.terminal_path_strings(), ["a.b.c", "a.b.d", "a.e", "f", "g.b.c"]);
        let s = |v: Vec<KeyPath>| v.iter().map(|p| p.join(".")).collect::<Vec<_>>();
        assert_eq!(s(d.find(&"c".into(), SearchMode::TerminalOnly)), ["a.b.c", "g.b.c"]);
        assert_eq!(s(d.find(&"b".into(), SearchMode::IntermediateOnly)), ["a.b", "g.b"]);
        assert_eq!(s(d.find(&"b".into(), SearchMode::TerminalOnly)), Vec::<String>::new());
        assert_eq!(s(d.find(&"a".into(), SearchMode::All)), ["a"]);
        assert_eq!(s(d.find(&"e".into(), SearchMode::TerminalOnly)), ["a.e"]);
        assert!(d.find(&"zzz".into(), SearchMode::All).is_empty());
    }

    #[test]
    fn mixed_key_types_and_conversion() {
        let mut d = NestedDict::from_yaml_str("1:\n  2: x\n  three: y\nfour: 4.5\n").unwrap();
        assert_eq!(d.key_types(), [KeyType::Int, KeyType::Str]);
        assert!(matches!(d.read("1.2"), Err(NestedDictError::MixedKeyTypes { .. })));
        let keys: Vec<Value> = vec![1.into(), 2.into()];
        assert_eq!(d.read(&keys).unwrap(), &Value::from("x"));
        let before = d.clone();
        assert!(matches!(
            d.convert_keys(KeyType::Int),
            Err(NestedDictError::Unconvertible { .. })
        ));
        assert_eq!(d, before);
        d.convert_keys(KeyType::Str).unwrap();
        assert_eq!(d.key_types(), [KeyType::Str]);
        assert_eq!(d.read("1.2").unwrap(), &Value::from("x"));
        assert!(matches!(
            d.convert_keys(KeyType::Float),
            Err(NestedDictError::UnsupportedConversion(_))
        ));

        let mut ints = NestedDict::from_yaml_str("'1': a\n2.7: b\nfalse: c\n").unwrap();
        ints.convert_keys(KeyType::Int).unwrap();
        assert_eq!(ints.key_types(), [KeyType::Int]);
        assert_eq!(ints.read("2").unwrap(), &Value::from("b"));
        assert_eq!(ints.read("1").unwrap(), &Value::from("a"));
        assert_eq!(ints.read("0").unwrap(), &Value::from("c"));
        let mut bool_collides = NestedDict::from_yaml_str("1: a\ntrue: c\n").unwrap();
        assert!(matches!(
            bool_collides.convert_keys(KeyType::Int),
            Err(NestedDictError::KeyCollision { .. })
        ));
        let mut collide = NestedDict::from_yaml_str("'1': a\n1: b\n").unwrap();
        assert!(matches!(
            collide.convert_keys(KeyType::Str),
            Err(NestedDictError::KeyCollision { .. })
        ));
        assert!(matches!(d.read("1.x"), Err(NestedDictError::Missing { .. })));
        let int_only = NestedDict::from_yaml_str("1:\n  2: x\n").unwrap();
        assert!(matches!(
            int_only.read("1.two"),
            Err(NestedDictError::KeyConversion { .. })
        ));
        assert_eq!(int_only.read("1.2").unwrap(), &Value::from("x"));
    }

    #[test]
    fn delimiter_and_yaml_files() {
        let mut d = NestedDict::new();
        d.set_delimiter("/").unwrap();
        assert!(d.set_delimiter("").is_err());
        d.write("a/b.c", 1.into(), WriteOptions::default()).unwrap();
        assert_eq!(d.read("a/b.c").unwrap(), &Value::from(1));
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("d.yaml");
        d.to_yaml(&path).unwrap();
        let back = NestedDict::from_yaml(&path).unwrap();
        assert_eq!(back.as_mapping(), d.as_mapping());
        assert!(d.to_yaml(dir.path().join("d.txt")).is_err());
        std::fs::write(dir.path().join("list.yaml"), "- 1\n- 2\n").unwrap();
        assert!(matches!(
            NestedDict::from_yaml(dir.path().join("list.yaml")),
            Err(NestedDictError::NotAMapping { .. })
        ));
        std::fs::write(dir.path().join("bad.yaml"), "a: [1,\n").unwrap();
        let err = NestedDict::from_yaml(dir.path().join("bad.yaml")).unwrap_err();
        assert!(
            err.to_string().contains("bad.yaml") && err.to_string().contains("line"),
            "{err}"
        );
    }
}
