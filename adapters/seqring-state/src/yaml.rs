//! YAML text that YAML 1.1 readers (PyYAML's `safe_load`, which ataraxis uses) and YAML 1.2 readers (serde_yaml)
//! both read back as exactly the values written: the one YAML writer of seqring, used by [`crate::config`], the
//! tracker and the Python binding.
//!
//! serde_yaml's own emitter writes YAML 1.2, where some plain scalars mean something else to a YAML 1.1 reader:
//! `yes`, `on` and `No` are booleans there, `1:20` and `1_000` integers, `2024-01-01` a date, and `1e20` (no `.`)
//! a string rather than a float. This writer:
//! - writes a string plain only when it can be nothing else in either version, else single-quoted (PyYAML's own
//!   choice) or, when it holds a character that must be escaped, double-quoted;
//! - writes a float with a `.` and a signed exponent (`1.0e+20`), and `.inf`, `-.inf`, `.nan`;
//! - writes block mappings and sequences (two-space indents), `{}` and `[]` for empty ones, and a tagged value (serde
//!   enum variants that carry data) as `!Variant` before its value, which serde_yaml reads back (PyYAML's
//!   `safe_load` refuses tags: use unit-only enums in files Python reads).
//!
//! Invariants: [`scalar`]'s output is byte-for-byte what PyYAML writes for the strings ataraxis writes; a mapping key
//! that is a collection or a tagged value has no block form here and is an [`EmitError`], raised before any output
//! is used.

use serde_yaml::Value;
use std::fmt::Write as _;

/// A value this writer cannot put in a document.
///
/// # Examples
///
/// ```
/// use serde_yaml::{Mapping, Value};
/// let mut map = Mapping::new();
/// map.insert(Value::Sequence(vec![Value::from(1)]), Value::from("a list as a key"));
/// let err = seqring_state::yaml::document_body(&Value::Mapping(map)).unwrap_err();
/// assert!(err.to_string().contains("key"), "{err}");
/// ```
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EmitError {
    /// A mapping key that is a sequence, a mapping or a tagged value.
    #[error("a list, map or tagged value cannot be a YAML mapping key here (at {at})")]
    CollectionKey {
        /// The key path of the mapping that holds it (`the top of the document` at the top).
        at: String,
    },
}

/// The YAML form of the string `s`: plain when safe, else single-quoted (PyYAML's choice), else double-quoted with
/// escapes.
///
/// # Examples
///
/// ```
/// use seqring_state::yaml::scalar;
/// assert_eq!(scalar("process_data"), "process_data");
/// // YAML 1.1 reads these as a boolean, a sexagesimal integer and a date.
/// assert_eq!(scalar("yes"), "'yes'");
/// assert_eq!(scalar("1:20"), "'1:20'");
/// assert_eq!(scalar("2024-01-01"), "'2024-01-01'");
/// assert_eq!(scalar(""), "''");
/// assert_eq!(scalar("two\nlines"), "\"two\\nlines\"");
/// ```
pub fn scalar(s: &str) -> String {
    if is_safe_plain(s) {
        return s.to_owned();
    }
    if !s.chars().any(needs_escape) {
        return format!("'{}'", s.replace('\'', "''"));
    }
    let mut out = String::with_capacity(s.len() + 8);
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\t' => out.push_str("\\t"),
            '\r' => out.push_str("\\r"),
            '\0' => out.push_str("\\0"),
            c if needs_escape(c) => {
                let _ = write!(out, "\\u{:04x}", u32::from(c));
            }
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// The YAML form of the float `f`, which YAML 1.1 and 1.2 both read as this float.
///
/// # Examples
///
/// ```
/// use seqring_state::yaml::float;
/// assert_eq!(float(0.1), "0.1");
/// assert_eq!(float(1e20), "1.0e+20");
/// assert_eq!(float(-2.5e-7), "-2.5e-7");
/// assert_eq!(float(f64::NEG_INFINITY), "-.inf");
/// ```
pub fn float(f: f64) -> String {
    if f.is_nan() {
        return ".nan".to_owned();
    }
    if f.is_infinite() {
        return if f > 0.0 { ".inf" } else { "-.inf" }.to_owned();
    }
    // `{:?}` is the shortest round-trip form ("0.1", "1.0", "1e20", "1e-7"). YAML 1.1 needs a "." and a signed
    // exponent: "1.0e+20", "1.0e-7".
    let text = format!("{f:?}");
    let Some((mantissa, exponent)) = text.split_once('e') else {
        return text;
    };
    let dot = if mantissa.contains('.') { "" } else { ".0" };
    let sign = if exponent.starts_with('-') { "" } else { "+" };
    format!("{mantissa}{dot}e{sign}{exponent}")
}

/// The body of a YAML document holding `value` (without the `---`/`...` markers), each line ended.
///
/// # Errors
///
/// [`EmitError::CollectionKey`] for a mapping key that is a collection or a tagged value.
///
/// # Examples
///
/// ```
/// use serde_yaml::Value;
/// let value: Value = serde_yaml::from_str("{name: rig, answer: 'yes', rate: 1.0e+20, tags: [a, 'on'], empty: {}}")?;
/// let body = seqring_state::yaml::document_body(&value)?;
/// assert_eq!(body, "name: rig\nanswer: 'yes'\nrate: 1.0e+20\ntags:\n- a\n- 'on'\nempty: {}\n");
/// assert_eq!(serde_yaml::from_str::<Value>(&body)?, value);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub fn document_body(value: &Value) -> Result<String, EmitError> {
    let mut out = String::new();
    let mut at = Vec::new();
    if let Some(inline) = inline(value) {
        out.push_str(&inline);
        out.push('\n');
    } else {
        block(value, 0, &mut at, &mut out)?;
    }
    Ok(out)
}

/// A scalar, an empty collection, or a tagged one of them, on one line; `None` for a value that needs a block.
fn inline(value: &Value) -> Option<String> {
    Some(match value {
        Value::Null => "null".to_owned(),
        Value::Bool(b) => b.to_string(),
        Value::Number(n) => match (n.as_i64(), n.as_u64()) {
            (Some(i), _) => i.to_string(),
            (None, Some(u)) => u.to_string(),
            (None, None) => float(n.as_f64().unwrap_or(f64::NAN)),
        },
        Value::String(s) => scalar(s),
        Value::Sequence(s) if s.is_empty() => "[]".to_owned(),
        Value::Mapping(m) if m.is_empty() => "{}".to_owned(),
        Value::Tagged(t) => format!("{} {}", t.tag, inline(&t.value)?),
        Value::Sequence(_) | Value::Mapping(_) => return None,
    })
}

/// Writes `value`, which needs a block (see [`inline`]), at `indent` spaces. A block that follows a key or a `-` is
/// introduced by the caller, which also writes a tag in front of it.
fn block(value: &Value, indent: usize, at: &mut Vec<String>, out: &mut String) -> Result<(), EmitError> {
    let pad = " ".repeat(indent);
    match value {
        Value::Mapping(m) => {
            for (k, v) in m {
                let key = match k {
                    Value::Sequence(_) | Value::Mapping(_) | Value::Tagged(_) => None,
                    k => inline(k),
                };
                let Some(key) = key else {
                    return Err(EmitError::CollectionKey { at: key_path(at) });
                };
                at.push(key.clone());
                out.push_str(&pad);
                out.push_str(&key);
                out.push(':');
                // A block mapping's values sit two spaces deeper; a sequence under a key may stay at the key's
                // indent (PyYAML's style).
                let child_indent = if matches!(v, Value::Sequence(_)) {
                    indent
                } else {
                    indent + 2
                };
                nested(v, child_indent, at, out)?;
                at.pop();
            }
        }
        Value::Sequence(s) => {
            for (i, item) in s.iter().enumerate() {
                at.push(i.to_string());
                out.push_str(&pad);
                out.push('-');
                nested(item, indent + 2, at, out)?;
                at.pop();
            }
        }
        Value::Tagged(t) => {
            out.push_str(&pad);
            let _ = writeln!(out, "{}", t.tag);
            block(&t.value, indent, at, out)?;
        }
        scalar => {
            // Not reached: scalars are inline. Written inline all the same.
            out.push_str(&pad);
            out.push_str(&inline(scalar).unwrap_or_default());
            out.push('\n');
        }
    }
    Ok(())
}

/// Writes the value after a `key:` or `-` already written: ` value` on the same line, or a line end (with its tag
/// before it, if any) and its block at `indent`.
fn nested(value: &Value, indent: usize, at: &mut Vec<String>, out: &mut String) -> Result<(), EmitError> {
    if let Some(line) = inline(value) {
        out.push(' ');
        out.push_str(&line);
        out.push('\n');
        return Ok(());
    }
    let mut value = value;
    while let Value::Tagged(t) = value {
        out.push(' ');
        let _ = write!(out, "{}", t.tag);
        value = &t.value;
    }
    out.push('\n');
    block(value, indent, at, out)
}

fn key_path(at: &[String]) -> String {
    if at.is_empty() {
        "the top of the document".to_owned()
    } else {
        format!("key path {}", at.join("."))
    }
}

/// Whether `c` may appear in a plain scalar written by this module.
fn plain_char(c: char) -> bool {
    c.is_ascii_alphanumeric()
        || matches!(
            c,
            '_' | '.' | '-' | '/' | ':' | '@' | '+' | ' ' | '(' | ')' | '=' | '\''
        )
}

/// Whether `s` can be written unquoted and still read back as the same string by YAML 1.1 and 1.2 parsers.
fn is_safe_plain(s: &str) -> bool {
    let Some(first) = s.chars().next() else { return false };
    // A leading letter or underscore rules out every number, timestamp, `.inf`/`.nan` and indicator; the reserved
    // words are checked below.
    if !(first.is_ascii_alphabetic() || first == '_') || !s.chars().all(plain_char) {
        return false;
    }
    if s.ends_with(' ') || s.ends_with(':') || s.contains(": ") || s.contains("  ") {
        return false;
    }
    let lower = s.to_ascii_lowercase();
    !matches!(
        lower.as_str(),
        "y" | "n" | "yes" | "no" | "on" | "off" | "true" | "false" | "null"
    )
}

/// Whether `c` must be escaped (it is not printable, or YAML 1.1 reads it as a line break or a BOM).
fn needs_escape(c: char) -> bool {
    let u = u32::from(c);
    u < 0x20 || (0x7f..=0x9f).contains(&u) || matches!(u, 0x2028 | 0x2029 | 0xfeff | 0xfffe | 0xffff)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn round_trip(text: &str) {
        let value: Value = serde_yaml::from_str(text).unwrap();
        let body = document_body(&value).unwrap();
        assert_eq!(serde_yaml::from_str::<Value>(&body).unwrap(), value, "{body}");
    }

    #[test]
    fn nested_blocks_and_tags_read_back_in_serde_yaml() {
        round_trip("a: {b: [1, {c: x}, []], d: {}}\ne: [[1, 2], [3]]\n");
        round_trip("- 1\n- [a, b]\n- {k: v}\n");
        round_trip("shape: !Circle {radius: 2.5}\nnamed: !Named text\nlist: !Points [1, 2]\n");
        round_trip("!Top {a: 1}");
        round_trip("k: 'yes'\nn: ~\nf: 1.0e+300\ni: -9223372036854775808\nu: 18446744073709551615\n");
    }

    #[test]
    fn strings_that_yaml_1_1_reads_as_other_types_are_quoted() {
        for s in [
            "yes",
            "No",
            "ON",
            "y",
            "1_000",
            "1:20",
            "2024-01-01",
            "1e20",
            ".inf",
            "~",
            "null",
            "-",
            "#x",
            " a",
        ] {
            assert!(scalar(s).starts_with('\''), "{s} -> {}", scalar(s));
        }
        assert_eq!(scalar("it's"), "it's");
        assert_eq!(scalar("'q'"), "'''q'''");
        assert_eq!(scalar("a: b"), "'a: b'");
        assert_eq!(scalar("\u{85}"), "\"\\u0085\"");
    }

    #[test]
    fn a_collection_key_is_an_error_naming_where() {
        let value: Value = serde_yaml::from_str("outer: {? [1, 2] : x}").unwrap();
        let err = document_body(&value).unwrap_err();
        assert_eq!(
            err,
            EmitError::CollectionKey {
                at: "key path outer".into()
            }
        );
    }
}
