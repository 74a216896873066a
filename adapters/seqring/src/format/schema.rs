//! Per-source schemas: what a source's payloads are, declared once by its producer and kept in a small JSON side
//! file beside the log and beside the source's archive, never inside the log or the archive themselves (those
//! stay byte for byte what ataraxis writes).
//!
//! A [`Schema`] is a [`Layout`] plus a free-text description. The layout is either a numpy dtype ([`Descr`],
//! exactly numpy's `dtype.descr`, with an optional element shape: each payload is one C-ordered array of that
//! shape) or the name and version of an opaque format (protobuf, msgpack, a vendor's frame format …).
//!
//! **The side file** is `{source_id}_log.schema.json` ([`schema_file_name`]), in the log directory. Archives are
//! assembled into the same directory as `{source_id}_log.npz`, so the one file sits beside the log while it is
//! recorded and beside the archive afterwards ([`schema_path_for_archive`]); copy it along when moving an
//! archive. Its content:
//!
//! ```json
//! {"seqring_schema": 1, "source_id": 5,
//!  "dtype": {"descr": [["t", "<u8"], ["xy", "<f4", [2]]], "shape": []},
//!  "description": "wheel encoder: time and position"}
//! ```
//! or, for an opaque format, `"format": {"name": "protobuf:rig.Frame", "version": "3"}` in place of `"dtype"`.
//! A descr is a numpy type string (`"<f8"`, `"|u1"`, `"<U8"`, `"|V16"`, `"<M8[us]"`) or a list of fields
//! `[name, descr]` / `[name, descr, shape]` (padding is a field named `""` of type `"|V{n}"`, as numpy lists it);
//! Python's `json.dumps(dtype.descr)` writes it and `numpy.lib.format.descr_to_dtype` reads it back.
//!
//! Invariants:
//! - A source's schema, once declared in a log directory, never changes there: the side file is created once,
//!   complete and synced, by an atomic no-clobber rename ([`declare_in`]); a later declaration of the same schema
//!   is a no-op and of another one is [`SchemaError::Mismatch`]. Two producers racing to declare different
//!   schemas cannot both succeed: the file system picks one and the other gets the mismatch. A crash leaves the
//!   file whole or absent, never torn (a stray temporary `.{name}.*.tmp` at most).
//! - A declaration with an empty description matches a recorded schema of the same layout whatever its
//!   description (it adds nothing), so `Producer.log(ndarray)` in Python agrees with an explicit declaration.
//! - Parsing never panics and allocates only in proportion to the input: every decoder error is a
//!   [`SchemaParseError`] (fuzz target `schema_file`); the itemsize of a dtype is computed with checked
//!   arithmetic and must fit in a `u64`.

use std::fmt;
use std::io::Write;
use std::path::{Path, PathBuf};

use serde_json::{json, Map, Value};

/// The version of the side file's layout, its `"seqring_schema"` key.
pub const VERSION: u64 = 1;

/// The longest side file read (64 KiB): a schema is a few hundred bytes.
pub const MAX_FILE_LEN: u64 = 64 << 10;

/// The most dimensions an element shape (or a field's shape) may have (numpy's limit).
pub const MAX_DIMS: usize = 64;

/// The side file of `source_id`'s schema: `{source_id}_log.schema.json`.
///
/// # Examples
/// ```
/// assert_eq!(seqring::format::schema::schema_file_name(5), "5_log.schema.json");
/// ```
pub fn schema_file_name(source_id: u8) -> String {
    format!("{source_id}_log.schema.json")
}

/// The side file beside the archive at `archive` (`…/5_log.npz` → `…/5_log.schema.json`).
///
/// # Examples
/// ```
/// use std::path::Path;
/// use seqring::format::schema::schema_path_for_archive;
/// let p = schema_path_for_archive(Path::new("/data/rig_data_log/5_log.npz"));
/// assert_eq!(p, Path::new("/data/rig_data_log/5_log.schema.json"));
/// ```
pub fn schema_path_for_archive(archive: &Path) -> PathBuf {
    archive.with_extension("schema.json")
}

/// A numpy dtype description: numpy's `dtype.descr`.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum Descr {
    /// A type string such as `"<f8"`, `"|u1"`, `"<U8"`, `"|V16"`, `"<M8[us]"`.
    Type(String),
    /// A structured dtype: its fields in order, padding included.
    Fields(Vec<Field>),
}

/// One field of a structured [`Descr`].
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Field {
    /// The field's name (`""` for padding).
    pub name: String,
    /// Its type.
    pub descr: Descr,
    /// Its subarray shape (empty for a scalar field).
    pub shape: Vec<u64>,
}

impl Descr {
    /// The type string `s` (not checked until [`Descr::itemsize`]).
    ///
    /// # Examples
    /// ```
    /// use seqring::format::schema::Descr;
    /// assert_eq!(Descr::of("<f8").itemsize(), Ok(8));
    /// ```
    pub fn of(s: &str) -> Descr {
        Descr::Type(s.into())
    }

    /// A structured dtype of the fields `(name, descr)`, all scalar.
    ///
    /// # Examples
    /// ```
    /// use seqring::format::schema::Descr;
    /// let d = Descr::record([("t", Descr::of("<u8")), ("x", Descr::of("<f4"))]);
    /// assert_eq!(d.itemsize(), Ok(12));
    /// ```
    pub fn record<'a>(fields: impl IntoIterator<Item = (&'a str, Descr)>) -> Descr {
        Descr::Fields(
            fields
                .into_iter()
                .map(|(name, descr)| Field {
                    name: name.into(),
                    descr,
                    shape: Vec::new(),
                })
                .collect(),
        )
    }

    /// The size of one element in bytes, as numpy computes it (fields back to back, padding as listed).
    ///
    /// # Errors
    /// [`SchemaParseError::BadType`] for a type string numpy would not write for raw data (objects, unknown kinds,
    /// a missing size), [`SchemaParseError::TooLarge`] on overflow.
    ///
    /// # Examples
    /// ```
    /// use seqring::format::schema::{Descr, Field, SchemaParseError};
    /// assert_eq!(Descr::of("<U3").itemsize(), Ok(12)); // 3 UCS-4 characters
    /// let xy = Field { name: "xy".into(), descr: Descr::of("<f4"), shape: vec![2] };
    /// assert_eq!(Descr::Fields(vec![xy]).itemsize(), Ok(8));
    /// assert!(matches!(Descr::of("|O").itemsize(), Err(SchemaParseError::BadType(_))));
    /// ```
    pub fn itemsize(&self) -> Result<u64, SchemaParseError> {
        match self {
            Descr::Type(s) => type_itemsize(s),
            Descr::Fields(fields) => fields.iter().try_fold(0u64, |acc, f| {
                let one = f.descr.itemsize()?;
                let n = element_count(&f.shape)?;
                one.checked_mul(n)
                    .and_then(|b| acc.checked_add(b))
                    .ok_or(SchemaParseError::TooLarge)
            }),
        }
    }

    fn to_json(&self) -> Value {
        match self {
            Descr::Type(s) => Value::String(s.clone()),
            Descr::Fields(fields) => Value::Array(
                fields
                    .iter()
                    .map(|f| {
                        let mut v = vec![Value::String(f.name.clone()), f.descr.to_json()];
                        if !f.shape.is_empty() {
                            v.push(json!(f.shape));
                        }
                        Value::Array(v)
                    })
                    .collect(),
            ),
        }
    }

    fn from_json(value: &Value) -> Result<Descr, SchemaParseError> {
        match value {
            Value::String(s) => {
                type_itemsize(s)?;
                Ok(Descr::Type(s.clone()))
            }
            Value::Array(items) => {
                let mut fields = Vec::with_capacity(items.len());
                for item in items {
                    let parts =
                        item.as_array()
                            .filter(|p| (2..=3).contains(&p.len()))
                            .ok_or(SchemaParseError::Field(
                                "a field is not [name, descr] or [name, descr, shape]",
                            ))?;
                    let name = parts[0].as_str().ok_or(SchemaParseError::Field(
                        "a field name is not a string (titles are not supported)",
                    ))?;
                    let shape = match parts.get(2) {
                        Some(s) => shape_from_json(s)?,
                        None => Vec::new(),
                    };
                    fields.push(Field {
                        name: name.into(),
                        descr: Descr::from_json(&parts[1])?,
                        shape,
                    });
                }
                Ok(Descr::Fields(fields))
            }
            _ => Err(SchemaParseError::Field(
                "a descr is neither a type string nor a list of fields",
            )),
        }
    }
}

impl fmt::Display for Descr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.to_json())
    }
}

/// The itemsize of a numpy type string: `[<>|=]?` kind size, with a `[unit]` for datetimes.
fn type_itemsize(s: &str) -> Result<u64, SchemaParseError> {
    let bad = || SchemaParseError::BadType(s.chars().take(64).collect());
    let body = s.strip_prefix(['<', '>', '|', '=']).unwrap_or(s);
    let mut chars = body.chars();
    let kind = chars.next().ok_or_else(bad)?;
    let rest = chars.as_str();
    let (digits, unit) = match rest.find('[') {
        Some(i) => (&rest[..i], Some(&rest[i..])),
        None => (rest, None),
    };
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) || digits.len() > 19 {
        return Err(bad());
    }
    let n: u64 = digits.parse().map_err(|_| bad())?;
    let ok_unit = |u: Option<&str>| match u {
        None => true,
        Some(u) => u.len() > 2 && u.ends_with(']') && u[1..u.len() - 1].bytes().all(|b| b.is_ascii_alphanumeric()),
    };
    match kind {
        'b' | 'i' | 'u' if matches!(n, 1 | 2 | 4 | 8) && unit.is_none() => Ok(n),
        'f' if matches!(n, 2 | 4 | 8 | 12 | 16) && unit.is_none() => Ok(n),
        'c' if matches!(n, 8 | 16 | 24 | 32) && unit.is_none() => Ok(n),
        'S' | 'a' | 'V' if unit.is_none() => Ok(n),
        'U' if unit.is_none() => n.checked_mul(4).ok_or(SchemaParseError::TooLarge),
        'M' | 'm' if n == 8 && ok_unit(unit) => Ok(8),
        _ => Err(bad()),
    }
}

fn element_count(shape: &[u64]) -> Result<u64, SchemaParseError> {
    shape
        .iter()
        .try_fold(1u64, |acc, &d| acc.checked_mul(d))
        .ok_or(SchemaParseError::TooLarge)
}

fn shape_from_json(value: &Value) -> Result<Vec<u64>, SchemaParseError> {
    let dims = value
        .as_array()
        .ok_or(SchemaParseError::Field("a shape is not a list of integers"))?;
    if dims.len() > MAX_DIMS {
        return Err(SchemaParseError::Field("a shape has more than 64 dimensions"));
    }
    dims.iter()
        .map(|d| {
            d.as_u64().ok_or(SchemaParseError::Field(
                "a shape holds something other than an integer >= 0",
            ))
        })
        .collect()
}

/// What a source's payloads are.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum Layout {
    /// Each payload is one C-ordered array of `shape` elements of the numpy dtype `descr` (a 0-d array, one
    /// element, when `shape` is empty).
    Dtype {
        /// The element dtype.
        descr: Descr,
        /// The element shape.
        shape: Vec<u64>,
    },
    /// Each payload is a message of an opaque format.
    Opaque {
        /// The format's name, e.g. `"protobuf:rig.Frame"`.
        name: String,
        /// Its version, e.g. `"3"`.
        version: String,
    },
}

/// A source's schema: its payloads' [`Layout`] and a free-text description.
///
/// # Examples
/// ```
/// use seqring::format::schema::{Descr, Schema};
/// let wheel = Schema::dtype(Descr::record([("t", Descr::of("<u8")), ("x", Descr::of("<f4"))]), [])
///     .described("wheel encoder");
/// assert_eq!(wheel.payload_len(), Some(12));
/// let json = wheel.to_json(5);
/// assert_eq!(Schema::from_json(json.as_bytes()).unwrap(), (5, wheel));
/// ```
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Schema {
    /// What the payloads are.
    pub layout: Layout,
    /// Free text for people.
    pub description: String,
}

impl Schema {
    /// The schema of payloads that are arrays of `shape` elements of dtype `descr`, without description.
    ///
    /// # Examples
    /// ```
    /// use seqring::format::schema::{Descr, Schema};
    /// assert_eq!(Schema::dtype(Descr::of("<f8"), [3]).payload_len(), Some(24));
    /// ```
    pub fn dtype(descr: Descr, shape: impl IntoIterator<Item = u64>) -> Schema {
        Schema {
            layout: Layout::Dtype {
                descr,
                shape: shape.into_iter().collect(),
            },
            description: String::new(),
        }
    }

    /// The schema of payloads of the opaque format `name`, `version`, without description.
    ///
    /// # Examples
    /// ```
    /// use seqring::format::schema::Schema;
    /// assert_eq!(Schema::opaque("protobuf:rig.Frame", "3").payload_len(), None);
    /// ```
    pub fn opaque(name: &str, version: &str) -> Schema {
        Schema {
            layout: Layout::Opaque {
                name: name.into(),
                version: version.into(),
            },
            description: String::new(),
        }
    }

    /// The schema of the Rust type `T` (see [`SchemaType`]).
    ///
    /// # Examples
    /// ```
    /// use seqring::format::schema::{Descr, Schema};
    /// assert_eq!(Schema::of::<[f32; 3]>(), Schema::dtype(Descr::of("<f4"), [3]));
    /// ```
    pub fn of<T: SchemaType>() -> Schema {
        let (descr, shape) = T::dtype();
        Schema::dtype(descr, shape)
    }

    /// This schema with the description `text`.
    ///
    /// # Examples
    /// ```
    /// use seqring::format::schema::Schema;
    /// assert_eq!(Schema::opaque("msgpack", "1").described("events").description, "events");
    /// ```
    #[must_use]
    pub fn described(mut self, text: impl Into<String>) -> Schema {
        self.description = text.into();
        self
    }

    /// The length of every payload in bytes, for a dtype layout (`None` for an opaque one, or on overflow).
    ///
    /// # Examples
    /// ```
    /// use seqring::format::schema::{Descr, Schema};
    /// assert_eq!(Schema::dtype(Descr::of("<u2"), [2, 3]).payload_len(), Some(12));
    /// ```
    pub fn payload_len(&self) -> Option<u64> {
        match &self.layout {
            Layout::Dtype { descr, shape } => descr.itemsize().ok()?.checked_mul(element_count(shape).ok()?),
            Layout::Opaque { .. } => None,
        }
    }

    /// Whether declaring `self` where `recorded` is recorded is a no-op: the same layout, and the same description
    /// or none.
    ///
    /// # Examples
    /// ```
    /// use seqring::format::schema::{Descr, Schema};
    /// let recorded = Schema::dtype(Descr::of("<f8"), []).described("lick sensor");
    /// assert!(Schema::dtype(Descr::of("<f8"), []).agrees_with(&recorded));
    /// assert!(!Schema::dtype(Descr::of("<f4"), []).agrees_with(&recorded));
    /// assert!(!Schema::dtype(Descr::of("<f8"), []).described("wheel").agrees_with(&recorded));
    /// ```
    pub fn agrees_with(&self, recorded: &Schema) -> bool {
        self.layout == recorded.layout && (self.description.is_empty() || self.description == recorded.description)
    }

    /// The side file's JSON for source `source_id` (see the module docs).
    ///
    /// # Examples
    /// ```
    /// use seqring::format::schema::Schema;
    /// let json = Schema::opaque("msgpack", "1").to_json(2);
    /// assert!(json.contains(r#""format":{"name":"msgpack","version":"1"}"#), "{json}");
    /// ```
    pub fn to_json(&self, source_id: u8) -> String {
        let mut map = Map::new();
        map.insert("seqring_schema".into(), json!(VERSION));
        map.insert("source_id".into(), json!(source_id));
        match &self.layout {
            Layout::Dtype { descr, shape } => {
                map.insert("dtype".into(), json!({"descr": descr.to_json(), "shape": shape}));
            }
            Layout::Opaque { name, version } => {
                map.insert("format".into(), json!({"name": name, "version": version}));
            }
        }
        map.insert("description".into(), json!(self.description));
        Value::Object(map).to_string()
    }

    /// Parses a side file: its source id and schema.
    ///
    /// # Errors
    /// [`SchemaParseError`] for anything but a side file of this layout version: bad JSON, a missing or mistyped
    /// key, a dtype numpy would not write for raw bytes, both or neither of `"dtype"` and `"format"`.
    ///
    /// # Examples
    /// ```
    /// use seqring::format::schema::{Descr, Schema, SchemaParseError};
    /// let text = r#"{"seqring_schema": 1, "source_id": 3, "dtype": {"descr": "<f8", "shape": [2]}, "description": ""}"#;
    /// assert_eq!(Schema::from_json(text.as_bytes()).unwrap(), (3, Schema::dtype(Descr::of("<f8"), [2])));
    /// assert!(matches!(Schema::from_json(b"{"), Err(SchemaParseError::Json(_))));
    /// ```
    pub fn from_json(bytes: &[u8]) -> Result<(u8, Schema), SchemaParseError> {
        if bytes.len() as u64 > MAX_FILE_LEN {
            return Err(SchemaParseError::TooLarge);
        }
        let value: Value = serde_json::from_slice(bytes).map_err(|e| SchemaParseError::Json(e.to_string()))?;
        let map = value
            .as_object()
            .ok_or(SchemaParseError::Field("the file is not a JSON object"))?;
        match map.get("seqring_schema").map(Value::as_u64) {
            Some(Some(VERSION)) => {}
            Some(Some(v)) => return Err(SchemaParseError::Version(v)),
            _ => {
                return Err(SchemaParseError::Field(
                    "\"seqring_schema\" (the layout version) is missing",
                ))
            }
        }
        let source_id = map
            .get("source_id")
            .and_then(Value::as_u64)
            .and_then(|s| u8::try_from(s).ok())
            .ok_or(SchemaParseError::Field("\"source_id\" is not an integer in 0..=255"))?;
        let description = match map.get("description") {
            None => String::new(),
            Some(Value::String(s)) => s.clone(),
            Some(_) => return Err(SchemaParseError::Field("\"description\" is not a string")),
        };
        let layout = match (map.get("dtype"), map.get("format")) {
            (Some(d), None) => {
                let descr = d
                    .get("descr")
                    .ok_or(SchemaParseError::Field("\"dtype\" has no \"descr\""))?;
                let shape = match d.get("shape") {
                    Some(s) => shape_from_json(s)?,
                    None => Vec::new(),
                };
                let layout = Layout::Dtype {
                    descr: Descr::from_json(descr)?,
                    shape,
                };
                layout_len(&layout)?;
                layout
            }
            (None, Some(f)) => {
                let text = |key: &str| {
                    f.get(key)
                        .and_then(Value::as_str)
                        .map(String::from)
                        .ok_or(SchemaParseError::Field(
                            "\"format\" needs string \"name\" and \"version\"",
                        ))
                };
                Layout::Opaque {
                    name: text("name")?,
                    version: text("version")?,
                }
            }
            _ => {
                return Err(SchemaParseError::Field(
                    "exactly one of \"dtype\" and \"format\" is needed",
                ))
            }
        };
        Ok((source_id, Schema { layout, description }))
    }

    /// Checks that the schema can be recorded: a dtype layout whose payload length fits in a `u64`.
    ///
    /// # Errors
    /// As [`Schema::from_json`] for the layout.
    ///
    /// # Examples
    /// ```
    /// use seqring::format::schema::{Descr, Schema};
    /// assert!(Schema::dtype(Descr::of("<f8"), []).validate().is_ok());
    /// assert!(Schema::dtype(Descr::of("nonsense"), []).validate().is_err());
    /// assert!(Schema::dtype(Descr::of("<f8"), [u64::MAX, 2]).validate().is_err());
    /// ```
    pub fn validate(&self) -> Result<(), SchemaParseError> {
        layout_len(&self.layout).map(|_| ())
    }
}

/// The payload length of a dtype layout (0 for an opaque one), checked.
fn layout_len(layout: &Layout) -> Result<u64, SchemaParseError> {
    match layout {
        Layout::Dtype { descr, shape } => {
            if shape.len() > MAX_DIMS {
                return Err(SchemaParseError::Field("a shape has more than 64 dimensions"));
            }
            descr
                .itemsize()?
                .checked_mul(element_count(shape)?)
                .ok_or(SchemaParseError::TooLarge)
        }
        Layout::Opaque { .. } => Ok(0),
    }
}

impl fmt::Display for Schema {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.layout {
            Layout::Dtype { descr, shape } => {
                write!(f, "dtype {descr}")?;
                if !shape.is_empty() {
                    write!(f, " shape {shape:?}")?;
                }
            }
            Layout::Opaque { name, version } => write!(f, "format {name} {version}")?,
        }
        if !self.description.is_empty() {
            write!(f, ": {}", self.description)?;
        }
        Ok(())
    }
}

/// A Rust type whose numpy dtype is known: [`LogArchive::typed`](crate::archive::LogArchive::typed) checks it
/// against a source's recorded schema, and [`Schema::of`] declares it.
///
/// Implemented for the numeric primitives, [`Bool`](seqring_core::dtype::Bool) and arrays of them; implement it
/// for a `#[repr(C)]` or `#[repr(C, packed)]` struct by listing its fields (and padding) as numpy would.
///
/// # Examples
/// ```
/// use seqring::format::schema::{Descr, Schema, SchemaType};
/// #[derive(Clone, Copy, bytemuck::Pod, bytemuck::Zeroable)]
/// #[repr(C, packed)]
/// struct Wheel { t: u64, x: f32 }
/// impl SchemaType for Wheel {
///     fn dtype() -> (Descr, Vec<u64>) {
///         (Descr::record([("t", Descr::of("<u8")), ("x", Descr::of("<f4"))]), vec![])
///     }
/// }
/// assert_eq!(Schema::of::<Wheel>().payload_len(), Some(std::mem::size_of::<Wheel>() as u64));
/// ```
pub trait SchemaType: bytemuck::Pod {
    /// The element dtype and shape of `Self`.
    fn dtype() -> (Descr, Vec<u64>);
}

macro_rules! schema_type {
    ($($t:ty),* $(,)?) => {$(
        impl SchemaType for $t {
            fn dtype() -> (Descr, Vec<u64>) {
                (Descr::of(<$t as seqring_core::Element>::DTYPE.descr()), Vec::new())
            }
        }
    )*};
}

schema_type!(
    seqring_core::dtype::Bool,
    i8,
    i16,
    i32,
    i64,
    u8,
    u16,
    u32,
    u64,
    f32,
    f64
);

impl<T: SchemaType, const N: usize> SchemaType for [T; N]
where
    [T; N]: bytemuck::Pod,
{
    fn dtype() -> (Descr, Vec<u64>) {
        let (descr, inner) = T::dtype();
        let mut shape = vec![N as u64];
        shape.extend(inner);
        (descr, shape)
    }
}

/// Why a side file's bytes are not a schema.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum SchemaParseError {
    /// The bytes are not JSON.
    #[error("not valid JSON: {0}")]
    Json(String),
    /// Another layout version of the side file.
    #[error("schema file layout version {0}; this build reads {VERSION}")]
    Version(u64),
    /// A key is missing or has the wrong type.
    #[error("{0}")]
    Field(&'static str),
    /// A type string that is not a numpy dtype of raw bytes.
    #[error("'{0}' is not a numpy type string of fixed-size raw data")]
    BadType(String),
    /// A size beyond a `u64`, or a file beyond [`MAX_FILE_LEN`].
    #[error("the schema or its element size is too large")]
    TooLarge,
}

/// Why a schema could not be declared or read. Every variant names the side file.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum SchemaError {
    /// The side file could not be read or written.
    #[error("{path}: {source}")]
    Io {
        /// The side file.
        path: PathBuf,
        /// The OS error.
        #[source]
        source: std::io::Error,
    },
    /// The side file is not a schema.
    #[error("{path}: {source}")]
    Parse {
        /// The side file.
        path: PathBuf,
        /// What is wrong.
        #[source]
        source: SchemaParseError,
    },
    /// The side file is another source's.
    #[error("{path} is the schema of source {found}, not of source {expected}")]
    WrongSource {
        /// The side file.
        path: PathBuf,
        /// The source it names.
        found: u8,
        /// The source it was read for.
        expected: u8,
    },
    /// The source already has another schema in this log.
    #[error("source {source_id} already has the schema {recorded} ({path}); it cannot change to {declared}")]
    Mismatch {
        /// The side file.
        path: PathBuf,
        /// The source.
        source_id: u8,
        /// The schema recorded.
        recorded: Box<Schema>,
        /// The schema declared.
        declared: Box<Schema>,
    },
    /// The schema itself is invalid (a type string numpy would not write, an overflowing size).
    #[error("invalid schema for source {source_id}: {source}")]
    Invalid {
        /// The source.
        source_id: u8,
        /// What is wrong.
        #[source]
        source: SchemaParseError,
    },
    /// A producer of another process does not know its logger's directory (its path is not UTF-8 or longer than
    /// [`LOG_DIR_MAX`](seqring_core::log_region::LOG_DIR_MAX) bytes, or the logger is an older seqring).
    #[error("the log directory of logger '{logger}' is not known to its producers (a path longer than 432 bytes, not UTF-8, or an older logger)")]
    NoLogDir {
        /// The logger's name.
        logger: String,
    },
}

/// Reads the schema of `source_id` from the side file `path`; `None` if there is none.
///
/// # Errors
/// [`SchemaError::Io`], [`SchemaError::Parse`], [`SchemaError::WrongSource`].
///
/// # Examples
/// ```
/// use seqring::format::schema::{declare_in, read_schema, schema_file_name, Schema};
/// let dir = tempfile::tempdir().unwrap();
/// let path = dir.path().join(schema_file_name(4));
/// assert_eq!(read_schema(&path, 4).unwrap(), None);
/// declare_in(dir.path(), 4, &Schema::opaque("msgpack", "1")).unwrap();
/// assert_eq!(read_schema(&path, 4).unwrap(), Some(Schema::opaque("msgpack", "1")));
/// assert!(read_schema(&path, 5).is_err(), "source 4's file read as source 5's");
/// ```
pub fn read_schema(path: &Path, source_id: u8) -> Result<Option<Schema>, SchemaError> {
    use std::io::Read;
    let io = |source| SchemaError::Io {
        path: path.into(),
        source,
    };
    let file = match std::fs::File::open(path) {
        Ok(f) => f,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(io(e)),
    };
    let mut bytes = Vec::new();
    file.take(MAX_FILE_LEN + 1).read_to_end(&mut bytes).map_err(io)?;
    let (found, schema) = Schema::from_json(&bytes).map_err(|source| SchemaError::Parse {
        path: path.into(),
        source,
    })?;
    if found != source_id {
        return Err(SchemaError::WrongSource {
            path: path.into(),
            found,
            expected: source_id,
        });
    }
    Ok(Some(schema))
}

/// Declares `schema` for `source_id` in the log directory `dir`: creates its side file if the source has none,
/// and otherwise checks that the recorded schema [agrees](Schema::agrees_with) (see the module invariants).
///
/// # Errors
/// [`SchemaError::Invalid`] for an invalid schema, [`SchemaError::Mismatch`] if the source has another schema,
/// and the errors of [`read_schema`].
///
/// # Examples
/// ```
/// use seqring::format::schema::{declare_in, Descr, Schema, SchemaError};
/// let dir = tempfile::tempdir().unwrap();
/// let f8 = Schema::dtype(Descr::of("<f8"), []);
/// declare_in(dir.path(), 1, &f8).unwrap();
/// declare_in(dir.path(), 1, &f8).unwrap(); // the same again: a no-op
/// let f4 = Schema::dtype(Descr::of("<f4"), []);
/// assert!(matches!(declare_in(dir.path(), 1, &f4), Err(SchemaError::Mismatch { source_id: 1, .. })));
/// ```
pub fn declare_in(dir: &Path, source_id: u8, schema: &Schema) -> Result<(), SchemaError> {
    schema
        .validate()
        .map_err(|source| SchemaError::Invalid { source_id, source })?;
    let path = dir.join(schema_file_name(source_id));
    let check = |recorded: Schema| {
        if schema.agrees_with(&recorded) {
            Ok(())
        } else {
            Err(SchemaError::Mismatch {
                path: path.clone(),
                source_id,
                recorded: Box::new(recorded),
                declared: Box::new(schema.clone()),
            })
        }
    };
    if let Some(recorded) = read_schema(&path, source_id)? {
        return check(recorded);
    }
    let io = |source| SchemaError::Io {
        path: path.clone(),
        source,
    };
    let mut tmp = tempfile::Builder::new()
        .prefix(&format!(".{}.", schema_file_name(source_id)))
        .suffix(".tmp")
        .tempfile_in(dir)
        .map_err(io)?;
    tmp.write_all(schema.to_json(source_id).as_bytes()).map_err(io)?;
    tmp.as_file().sync_all().map_err(io)?;
    // No clobber: the first declaration wins and a racing one reads it back below (see the module docs).
    match tmp.persist_noclobber(&path) {
        Ok(_) => {
            let _ = seqring_platform::sync_directory(dir);
            Ok(())
        }
        Err(e) if e.error.kind() == std::io::ErrorKind::AlreadyExists => match read_schema(&path, source_id)? {
            Some(recorded) => check(recorded),
            None => Err(io(e.error)),
        },
        Err(e) => Err(io(e.error)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn itemsizes_follow_numpy() {
        for (s, n) in [
            ("|b1", 1),
            ("<i8", 8),
            (">u2", 2),
            ("<f2", 2),
            ("<c16", 16),
            ("|S5", 5),
            ("<U2", 8),
            ("|V16", 16),
            ("<M8[us]", 8),
            ("<m8", 8),
        ] {
            assert_eq!(type_itemsize(s), Ok(n), "{s}");
        }
        for s in [
            "",
            "<",
            "|O",
            "<f3",
            "<i",
            "<M8[",
            "<M8[]",
            "<u8[us]",
            "<U99999999999999999999",
            "<f8x",
        ] {
            assert!(type_itemsize(s).is_err(), "{s}");
        }
        assert_eq!(type_itemsize("<U9999999999999999999"), Err(SchemaParseError::TooLarge));
    }

    #[test]
    fn a_structured_schema_round_trips_through_its_file() {
        let inner = Descr::record([("a", Descr::of("|u1")), ("", Descr::of("|V3"))]);
        let descr = Descr::Fields(vec![
            Field {
                name: "t".into(),
                descr: Descr::of("<u8"),
                shape: vec![],
            },
            Field {
                name: "xy".into(),
                descr: Descr::of("<f4"),
                shape: vec![2, 2],
            },
            Field {
                name: "nested".into(),
                descr: inner,
                shape: vec![],
            },
        ]);
        let schema = Schema::dtype(descr, [3]).described("a \"quoted\" ünïcode text");
        assert_eq!(schema.payload_len(), Some(3 * (8 + 16 + 4)));
        let json = schema.to_json(200);
        assert_eq!(Schema::from_json(json.as_bytes()).unwrap(), (200, schema));
    }

    #[test]
    fn malformed_files_are_typed_errors() {
        let cases: [&[u8]; 10] = [
            b"",
            b"[]",
            br#"{"source_id": 1, "format": {"name": "a", "version": "1"}}"#,
            br#"{"seqring_schema": 2, "source_id": 1}"#,
            br#"{"seqring_schema": 1, "source_id": 256, "format": {"name": "a", "version": "1"}}"#,
            br#"{"seqring_schema": 1, "source_id": 1}"#,
            br#"{"seqring_schema": 1, "source_id": 1, "format": {"name": "a"}}"#,
            br#"{"seqring_schema": 1, "source_id": 1, "dtype": {"descr": [["a"]]}}"#,
            br#"{"seqring_schema": 1, "source_id": 1, "dtype": {"descr": "<f8", "shape": [4294967296, 4294967296, 2]}}"#,
            br#"{"seqring_schema": 1, "source_id": 1, "dtype": {"descr": [[["title", "a"], "<f8"]]}}"#,
        ];
        for bytes in cases {
            assert!(Schema::from_json(bytes).is_err(), "{}", String::from_utf8_lossy(bytes));
        }
    }

    #[test]
    fn an_empty_description_agrees_and_a_torn_file_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let described = Schema::of::<[u16; 4]>().described("counts");
        declare_in(dir.path(), 9, &described).unwrap();
        declare_in(dir.path(), 9, &Schema::of::<[u16; 4]>()).unwrap();
        let path = dir.path().join(schema_file_name(9));
        assert_eq!(
            read_schema(&path, 9).unwrap(),
            Some(described),
            "the first declaration stays"
        );
        let text = std::fs::read(&path).unwrap();
        std::fs::write(&path, &text[..text.len() / 2]).unwrap();
        assert!(matches!(
            declare_in(dir.path(), 9, &Schema::of::<[u16; 4]>()),
            Err(SchemaError::Parse { .. })
        ));
        let leftovers = std::fs::read_dir(dir.path()).unwrap().count();
        assert_eq!(leftovers, 1, "no temporary file is left behind");
    }
}
