//! `YamlConfig`: save and load serde types as YAML files (ataraxis `YamlConfig`).
//!
//! Invariants:
//! - only paths ending in `.yaml` or `.yml` are read or written; anything else is rejected before touching the
//!   filesystem;
//! - writes are atomic (temporary file, fsync, rename, see [`seqring_platform::replace_file_atomically`]) and create missing
//!   parent directories, so a crash leaves either the old file or the new one;
//! - the document is framed with `---` and `...`, as ataraxis writes it;
//! - every error names the path, and parse errors also give the line and column.
//!
//! The text is written by [`crate::yaml`], so Python's `yaml.safe_load` (ataraxis) reads back exactly the values
//! written: strings such as `yes` or `2024-01-01` are quoted, floats such as `1e20` carry a `.` and a signed
//! exponent. Files meant for Python should use structs, maps, sequences, options, strings, numbers, paths and
//! unit-only enums: enum variants that carry data are written as YAML tags (`!Variant`), which round-trip in Rust
//! but which `safe_load` refuses.

use serde::de::DeserializeOwned;
use serde::Serialize;
use std::path::{Path, PathBuf};

use seqring_platform::{replace_file_atomically, FileError};

/// A failed YAML load or save.
///
/// # Examples
///
/// ```
/// use seqring_state::config::{ConfigError, YamlConfig};
/// use serde::{Deserialize, Serialize};
///
/// #[derive(Serialize, Deserialize, PartialEq, Debug)]
/// struct Rig {
///     name: String,
///     camera_fps: u32,
/// }
/// impl YamlConfig for Rig {}
///
/// let dir = tempfile::tempdir()?;
/// let path = dir.path().join("rig.yaml");
/// std::fs::write(&path, "name: rig-1\ncamera_fps: thirty\n")?;
/// let err = Rig::from_yaml(&path).unwrap_err();
/// assert!(matches!(err, ConfigError::Parse { line: Some(2), .. }), "{err}");
/// assert!(err.to_string().contains("rig.yaml") && err.to_string().contains("line 2"), "{err}");
/// let err = Rig::from_yaml(dir.path().join("missing.yaml")).unwrap_err();
/// assert!(matches!(err, ConfigError::Read { .. }));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// The path does not end in `.yaml` or `.yml`.
    #[error("{path} is not a YAML file: expected a path ending in .yaml or .yml")]
    Extension {
        /// The rejected path.
        path: PathBuf,
    },
    /// The file could not be read.
    #[error("cannot read {path}: {source}")]
    Read {
        /// The file.
        path: PathBuf,
        /// The I/O error.
        #[source]
        source: std::io::Error,
    },
    /// The file is not valid YAML, or does not match the expected structure.
    #[error("{}", parse_message(path, *line, *column, message))]
    Parse {
        /// The file.
        path: PathBuf,
        /// 1-based line of the error, when known.
        line: Option<usize>,
        /// 1-based column of the error, when known.
        column: Option<usize>,
        /// What the parser said.
        message: String,
    },
    /// The value could not be represented as YAML.
    #[error("cannot serialize the value for {path}: {source}")]
    Serialize {
        /// The destination file.
        path: PathBuf,
        /// The serializer's error.
        #[source]
        source: serde_yaml::Error,
    },
    /// The parent directory could not be created.
    #[error("cannot create the directory {path}: {source}")]
    CreateDir {
        /// The directory.
        path: PathBuf,
        /// The I/O error.
        #[source]
        source: std::io::Error,
    },
    /// The atomic write failed.
    #[error(transparent)]
    Write(#[from] FileError),
}

fn parse_message(path: &Path, line: Option<usize>, column: Option<usize>, message: &str) -> String {
    match (line, column) {
        (Some(l), Some(c)) => format!(
            "{} is not valid YAML at line {l}, column {c}: {message}",
            path.display()
        ),
        _ => format!("{} is not valid YAML: {message}", path.display()),
    }
}

/// Rejects paths that do not end in `.yaml` or `.yml`.
pub(crate) fn check_extension(path: &Path) -> Result<(), ConfigError> {
    match path.extension().and_then(|e| e.to_str()) {
        Some("yaml" | "yml") => Ok(()),
        _ => Err(ConfigError::Extension {
            path: path.to_path_buf(),
        }),
    }
}

/// Reads a YAML file as text, after checking its extension.
pub(crate) fn read_yaml_text(path: &Path) -> Result<String, ConfigError> {
    check_extension(path)?;
    let bytes = std::fs::read(path).map_err(|source| ConfigError::Read {
        path: path.to_path_buf(),
        source,
    })?;
    String::from_utf8(bytes).map_err(|e| {
        let valid = &e.as_bytes()[..e.utf8_error().valid_up_to()];
        let line = valid.iter().filter(|&&b| b == b'\n').count() + 1;
        let column = valid.iter().rev().take_while(|&&b| b != b'\n').count() + 1;
        ConfigError::Parse {
            path: path.to_path_buf(),
            line: Some(line),
            column: Some(column),
            message: "the file is not valid UTF-8".into(),
        }
    })
}

/// Converts a serde_yaml error into [`ConfigError::Parse`] naming `path`.
pub(crate) fn parse_error(path: &Path, err: &serde_yaml::Error) -> ConfigError {
    let location = err.location();
    let mut message = err.to_string();
    // serde_yaml appends " at line L column C"; the location is reported separately.
    if let Some(i) = message.find(" at line ") {
        message.truncate(i);
    }
    ConfigError::Parse {
        path: path.to_path_buf(),
        line: location.as_ref().map(|l| l.line()),
        column: location.as_ref().map(|l| l.column()),
        message,
    }
}

/// Parses YAML text into `T`, naming `path` in errors.
pub(crate) fn parse_yaml<T: DeserializeOwned>(path: &Path, text: &str) -> Result<T, ConfigError> {
    serde_yaml::from_str(text).map_err(|e| parse_error(path, &e))
}

/// Writes `body` (YAML without document markers) to `path` atomically, framed by `---` and `...`, creating missing
/// parent directories.
pub(crate) fn write_yaml_document(path: &Path, body: &str) -> Result<(), ConfigError> {
    check_extension(path)?;
    if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
        std::fs::create_dir_all(parent).map_err(|source| ConfigError::CreateDir {
            path: parent.to_path_buf(),
            source,
        })?;
    }
    let mut text = String::with_capacity(body.len() + 8);
    text.push_str("---\n");
    text.push_str(body);
    if !body.ends_with('\n') {
        text.push('\n');
    }
    text.push_str("...\n");
    replace_file_atomically(path, |w| w.write_all(text.as_bytes()))?;
    Ok(())
}

/// Saves and loads a serde type as a YAML file.
///
/// Implement it with an empty `impl` block; both methods have default bodies.
///
/// # Examples
///
/// ```
/// use seqring_state::config::YamlConfig;
/// use serde::{Deserialize, Serialize};
/// use std::path::PathBuf;
///
/// #[derive(Serialize, Deserialize, PartialEq, Debug)]
/// enum Mode { Fast, Careful }
///
/// #[derive(Serialize, Deserialize, PartialEq, Debug)]
/// struct Rig { name: String, mode: Mode, output: PathBuf, camera_fps: Option<u32> }
///
/// impl YamlConfig for Rig {}
///
/// let dir = tempfile::tempdir()?;
/// let path = dir.path().join("configs").join("rig.yaml");
/// let rig = Rig { name: "rig-1".into(), mode: Mode::Careful, output: "/data".into(), camera_fps: None };
/// rig.to_yaml(&path)?;
/// assert_eq!(Rig::from_yaml(&path)?, rig);
/// assert!(rig.to_yaml(dir.path().join("rig.json")).is_err());
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub trait YamlConfig: Serialize + DeserializeOwned {
    /// Writes `self` to `path` as a YAML document, atomically, creating missing parent directories.
    ///
    /// # Errors
    ///
    /// [`ConfigError::Extension`] for a path that is not `.yaml`/`.yml`; [`ConfigError::Serialize`] when the value
    /// has no YAML form (a map with non-scalar keys, for instance); [`ConfigError::CreateDir`] and
    /// [`ConfigError::Write`] when the filesystem refuses. The existing file is unchanged on error.
    ///
    /// # Examples
    ///
    /// ```
    /// use seqring_state::config::{ConfigError, YamlConfig};
    /// use serde::{Deserialize, Serialize};
    ///
    /// #[derive(Serialize, Deserialize, PartialEq, Debug)]
    /// struct Rig {
    ///     name: String,
    ///     camera_fps: u32,
    /// }
    /// impl YamlConfig for Rig {}
    ///
    /// let dir = tempfile::tempdir()?;
    /// let path = dir.path().join("rig.yaml");
    /// let rig = Rig { name: "rig-1".into(), camera_fps: 30 };
    /// rig.to_yaml(&path)?;
    /// // One YAML document, framed as ataraxis frames it.
    /// assert_eq!(std::fs::read_to_string(&path)?, "---\nname: rig-1\ncamera_fps: 30\n...\n");
    /// let err = rig.to_yaml(dir.path().join("rig.toml")).unwrap_err();
    /// assert!(matches!(err, ConfigError::Extension { .. }));
    /// assert!(!dir.path().join("rig.toml").exists(), "rejected before touching the filesystem");
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    fn to_yaml(&self, path: impl AsRef<Path>) -> Result<(), ConfigError> {
        let path = path.as_ref();
        check_extension(path)?;
        let serialize_error = |source| ConfigError::Serialize {
            path: path.to_path_buf(),
            source,
        };
        let value = serde_yaml::to_value(self).map_err(serialize_error)?;
        let body = crate::yaml::document_body(&value)
            .map_err(|e| serialize_error(<serde_yaml::Error as serde::ser::Error>::custom(e)))?;
        write_yaml_document(path, &body)
    }

    /// Reads a value from the YAML file at `path`.
    ///
    /// # Errors
    ///
    /// [`ConfigError::Extension`] for a path that is not `.yaml`/`.yml`; [`ConfigError::Read`] when the file cannot
    /// be read; [`ConfigError::Parse`], with the line and column, for malformed YAML or a structure that does not
    /// match `Self`.
    ///
    /// # Examples
    ///
    /// ```
    /// use seqring_state::config::{ConfigError, YamlConfig};
    /// use serde::{Deserialize, Serialize};
    ///
    /// #[derive(Serialize, Deserialize, PartialEq, Debug)]
    /// struct Rig {
    ///     name: String,
    ///     camera_fps: u32,
    /// }
    /// impl YamlConfig for Rig {}
    ///
    /// let dir = tempfile::tempdir()?;
    /// let path = dir.path().join("rig.yaml");
    /// // Written by hand, or by Python's ataraxis `YamlConfig`.
    /// std::fs::write(&path, "name: rig-2\ncamera_fps: 60\n")?;
    /// assert_eq!(Rig::from_yaml(&path)?, Rig { name: "rig-2".into(), camera_fps: 60 });
    /// std::fs::write(&path, "name: rig-2\n")?;
    /// assert!(matches!(Rig::from_yaml(&path), Err(ConfigError::Parse { .. })), "a missing field");
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    fn from_yaml(path: impl AsRef<Path>) -> Result<Self, ConfigError> {
        let path = path.as_ref();
        let text = read_yaml_text(path)?;
        parse_yaml(path, &text)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde::Deserialize;
    use std::collections::BTreeMap;

    #[derive(Serialize, Deserialize, PartialEq, Debug)]
    enum Shape {
        Point,
        Circle { radius: f64 },
        Named(String),
    }

    #[derive(Serialize, Deserialize, PartialEq, Debug)]
    struct Inner {
        gains: Vec<f32>,
        labels: BTreeMap<String, i64>,
    }

    #[derive(Serialize, Deserialize, PartialEq, Debug)]
    struct Outer {
        name: String,
        tricky: Vec<String>,
        path: PathBuf,
        maybe: Option<u64>,
        none: Option<String>,
        shapes: Vec<Shape>,
        inner: Inner,
    }
    impl YamlConfig for Outer {}

    fn sample() -> Outer {
        Outer {
            name: "rig".into(),
            tricky: [
                "yes",
                "no",
                "on",
                "0123",
                "1:20",
                "",
                "~",
                "null",
                "a: b",
                "# c",
                "line\nbreak",
                "ünï",
            ]
            .map(String::from)
            .to_vec(),
            path: "/data/session 1/raw.npy".into(),
            maybe: Some(u64::MAX),
            none: None,
            shapes: vec![Shape::Point, Shape::Circle { radius: 1.5 }, Shape::Named("x".into())],
            inner: Inner {
                gains: vec![0.5, -1.0],
                labels: [("a".to_string(), -3)].into(),
            },
        }
    }

    #[test]
    fn round_trip_enums_paths_options_nested() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("a/b/c.yml");
        sample().to_yaml(&path).unwrap();
        let text = std::fs::read_to_string(&path).unwrap();
        assert!(text.starts_with("---\n") && text.ends_with("...\n"), "{text}");
        assert_eq!(Outer::from_yaml(&path).unwrap(), sample());
    }

    #[test]
    fn wrong_extension_is_rejected_before_io() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("c.json");
        let err = sample().to_yaml(&path).unwrap_err();
        assert!(matches!(err, ConfigError::Extension { .. }));
        assert!(err.to_string().contains("c.json"));
        assert!(!path.exists());
        assert!(matches!(Outer::from_yaml(&path), Err(ConfigError::Extension { .. })));
        assert!(matches!(
            Outer::from_yaml(dir.path().join("noext")),
            Err(ConfigError::Extension { .. })
        ));
    }

    #[test]
    fn parse_error_names_path_line_and_column() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("bad.yaml");
        std::fs::write(&path, "name: rig\ntricky: [a, b\npath: x\n").unwrap();
        let err = Outer::from_yaml(&path).unwrap_err();
        let ConfigError::Parse { line, column, .. } = &err else {
            panic!("{err:?}")
        };
        assert_eq!(*line, Some(3), "{err}");
        assert!(column.is_some());
        let text = err.to_string();
        assert!(text.contains("bad.yaml") && text.contains("line 3"), "{text}");
    }

    #[test]
    fn structure_mismatch_is_a_parse_error() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("bad.yaml");
        std::fs::write(&path, "name: rig\nmaybe: -1\n").unwrap();
        let err = Outer::from_yaml(&path).unwrap_err();
        assert!(matches!(err, ConfigError::Parse { .. }), "{err}");
    }

    #[test]
    fn invalid_utf8_and_missing_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("bin.yaml");
        std::fs::write(&path, b"name: r\n\xff\xfe").unwrap();
        let err = Outer::from_yaml(&path).unwrap_err();
        assert!(
            matches!(
                err,
                ConfigError::Parse {
                    line: Some(2),
                    column: Some(1),
                    ..
                }
            ),
            "{err:?}"
        );
        let err = Outer::from_yaml(dir.path().join("missing.yaml")).unwrap_err();
        assert!(matches!(err, ConfigError::Read { .. }) && err.to_string().contains("missing.yaml"));
    }
}
