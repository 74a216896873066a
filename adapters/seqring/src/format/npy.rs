//! numpy `.npy` headers: the exact header `numpy.save` writes for a 1-D `uint8` array, and a strict parser for the
//! headers of every format version.
//!
//! Invariants:
//! - [`u8_vector_header`] returns the bytes `numpy.save` (numpy ≥ 1.24, format 1.0) writes for a 1-D `|u1` array:
//!   the dict `{'descr': '|u1', 'fortran_order': False, 'shape': (N,), }`, 21 − len(str(N)) spaces of growth room,
//!   then spaces and one `\n` so that the data starts at a multiple of 64. For a 1-D array the header is therefore
//!   always [`U8_VECTOR_HEADER_LEN`] bytes, whatever N.
//! - [`parse_header`] never panics and never allocates more than the shape it parses (at most [`MAX_DIMS`]
//!   dimensions), whatever the bytes. It accepts what numpy's own reader accepts for a dict literal of the three
//!   keys with string, boolean and integer-tuple values, and rejects everything else with an [`NpyError`].

use std::ops::Range;

/// The 6 magic bytes every `.npy` file starts with.
///
/// # Examples
/// ```
/// use seqring::format::npy::{u8_vector_header, MAGIC};
/// assert!(u8_vector_header(4).starts_with(MAGIC));
/// ```
pub const MAGIC: &[u8; 6] = b"\x93NUMPY";
/// The length of the whole header (magic, version, length field and dict) that `numpy.save` writes for a 1-D
/// `uint8` array: the data of such an array always starts at this offset.
///
/// # Examples
/// ```
/// use seqring::format::npy::{u8_vector_data, u8_vector_header, U8_VECTOR_HEADER_LEN};
/// let mut file = u8_vector_header(2).to_vec();
/// file.extend_from_slice(&[1, 2]);
/// assert_eq!(u8_vector_data(&file).unwrap(), U8_VECTOR_HEADER_LEN..U8_VECTOR_HEADER_LEN + 2);
/// ```
pub const U8_VECTOR_HEADER_LEN: usize = 128;
/// The most dimensions numpy supports; a header with more is rejected.
///
/// # Examples
/// ```
/// use seqring::format::npy::{parse_header, NpyError, MAX_DIMS};
/// let shape = vec!["1"; MAX_DIMS + 1].join(", ");
/// let dict = format!("{{'descr': '|u1', 'fortran_order': False, 'shape': ({shape}), }}");
/// let mut file = b"\x93NUMPY\x01\x00".to_vec();
/// file.extend_from_slice(&(dict.len() as u16).to_le_bytes());
/// file.extend_from_slice(dict.as_bytes());
/// assert!(matches!(parse_header(&file), Err(NpyError::ShapeTooLarge)));
/// ```
pub const MAX_DIMS: usize = 64;

const ARRAY_ALIGN: usize = 64;
const GROWTH_AXIS_MAX_DIGITS: usize = 21;
const DICT_PREFIX: &[u8] = b"{'descr': '|u1', 'fortran_order': False, 'shape': (";
const DICT_SUFFIX: &[u8] = b",), }";
/// The dict text length: prefix, digits, suffix and growth spaces (digits + growth = 21).
const DICT_LEN: usize = DICT_PREFIX.len() + GROWTH_AXIS_MAX_DIGITS + DICT_SUFFIX.len();
/// `numpy.lib.format._wrap_header`: header text + `\n`, padded so that magic + version + length + text is aligned.
const PAD_LEN: usize = ARRAY_ALIGN - ((MAGIC.len() + 2 + 2 + DICT_LEN + 1) % ARRAY_ALIGN);
const _: () = assert!(MAGIC.len() + 4 + DICT_LEN + PAD_LEN + 1 == U8_VECTOR_HEADER_LEN);

/// Why bytes are not an acceptable `.npy` header or 1-D `uint8` array.
///
/// # Examples
/// ```
/// use seqring::format::npy::{parse_header, u8_vector_data, NpyError};
/// assert!(matches!(parse_header(b"PK\x03\x04 a zip, not an npy"), Err(NpyError::BadMagic)));
/// let mut f8 = b"\x93NUMPY\x01\x00".to_vec();
/// let dict = "{'descr': '<f8', 'fortran_order': False, 'shape': (0,), }\n";
/// f8.extend_from_slice(&(dict.len() as u16).to_le_bytes());
/// f8.extend_from_slice(dict.as_bytes());
/// assert!(matches!(u8_vector_data(&f8), Err(NpyError::WrongDtype(d)) if d == "<f8"));
/// ```
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum NpyError {
    /// Fewer bytes than the fixed part of the header, or than the length field announces.
    #[error("the data is {len} bytes long, too short for the {needed}-byte npy header")]
    Truncated {
        /// How many bytes the header needs.
        needed: u64,
        /// How many bytes there are.
        len: u64,
    },
    /// The bytes do not start with `\x93NUMPY`.
    #[error("it does not start with the npy magic \\x93NUMPY")]
    BadMagic,
    /// A format version other than 1.0, 2.0 or 3.0.
    #[error("npy format version {major}.{minor} is not supported")]
    UnsupportedVersion {
        /// The major version byte.
        major: u8,
        /// The minor version byte.
        minor: u8,
    },
    /// The header text is not valid in its encoding (latin-1 must be ASCII here, 3.0 is UTF-8).
    #[error("the npy header text is not ASCII/UTF-8")]
    Encoding,
    /// The header text is not the dict literal numpy writes.
    #[error("the npy header is malformed at byte {at}: expected {expected}")]
    Syntax {
        /// The offset in the header text.
        at: usize,
        /// What the parser expected there.
        expected: &'static str,
    },
    /// One of `descr`, `fortran_order` and `shape` is missing.
    #[error("the npy header has no '{0}' key")]
    MissingKey(&'static str),
    /// A key appears twice.
    #[error("the npy header has the key '{0}' twice")]
    DuplicateKey(&'static str),
    /// A key other than the three numpy writes.
    #[error("the npy header has an unexpected key '{0}'")]
    UnknownKey(String),
    /// A value of the wrong type for its key (for example a structured `descr` list).
    #[error("the npy header's '{key}' value is not {expected}")]
    BadValue {
        /// The key.
        key: &'static str,
        /// What it should have been.
        expected: &'static str,
    },
    /// More than [`MAX_DIMS`] dimensions, or a shape whose element count overflows.
    #[error("the npy shape has too many dimensions or elements")]
    ShapeTooLarge,
    /// Not the `uint8` dtype.
    #[error("the npy dtype is '{0}', not '|u1'")]
    WrongDtype(String),
    /// Not one dimension.
    #[error("the npy array has {0} dimensions, not 1")]
    WrongNdim(usize),
    /// The shape does not match the number of data bytes.
    #[error("the npy shape ({expected},) does not match the {found} data bytes")]
    DataLength {
        /// The element count from the shape.
        expected: u64,
        /// The number of bytes after the header.
        found: u64,
    },
}

/// A parsed `.npy` header.
///
/// # Examples
/// ```
/// use seqring::format::npy::{parse_header, u8_vector_header};
/// let file = u8_vector_header(5);
/// let header = parse_header(&file).unwrap();
/// assert_eq!((header.version, header.descr, header.shape.as_slice()), ((1, 0), "|u1", &[5u64][..]));
/// assert_eq!((header.data_offset, header.fortran_order), (128, false));
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NpyHeader<'a> {
    /// The format version (major, minor).
    pub version: (u8, u8),
    /// Where the array data starts, from the start of the bytes.
    pub data_offset: usize,
    /// The dtype string, for example `|u1` or `<f8`.
    pub descr: &'a str,
    /// Whether the data is in Fortran order.
    pub fortran_order: bool,
    /// The shape.
    pub shape: Vec<u64>,
}

/// Writes `n` in decimal into `out` and returns the digit count.
fn write_decimal(out: &mut [u8; 20], mut n: u64) -> usize {
    let mut tmp = [0u8; 20];
    let mut i = tmp.len();
    loop {
        i -= 1;
        tmp[i] = b'0' + (n % 10) as u8;
        n /= 10;
        if n == 0 {
            break;
        }
    }
    let len = tmp.len() - i;
    out[..len].copy_from_slice(&tmp[i..]);
    len
}

/// The exact header `numpy.save` writes for a 1-D `uint8` array of `len` elements (format 1.0); the data follows
/// it directly.
///
/// # Examples
/// ```
/// use seqring::format::npy::{u8_vector_header, U8_VECTOR_HEADER_LEN};
/// let h = u8_vector_header(17);
/// assert_eq!(h.len(), U8_VECTOR_HEADER_LEN);
/// assert!(h.starts_with(b"\x93NUMPY\x01\x00\x76\x00{'descr': '|u1', 'fortran_order': False, 'shape': (17,), }"));
/// assert_eq!(h[127], b'\n');
/// ```
pub fn u8_vector_header(len: u64) -> [u8; U8_VECTOR_HEADER_LEN] {
    let mut out = [b' '; U8_VECTOR_HEADER_LEN];
    out[..6].copy_from_slice(MAGIC);
    out[6] = 1;
    out[7] = 0;
    let text_len = (U8_VECTOR_HEADER_LEN - 10) as u16;
    out[8..10].copy_from_slice(&text_len.to_le_bytes());
    let mut at = 10;
    out[at..at + DICT_PREFIX.len()].copy_from_slice(DICT_PREFIX);
    at += DICT_PREFIX.len();
    let mut digits = [0u8; 20];
    let n = write_decimal(&mut digits, len);
    out[at..at + n].copy_from_slice(&digits[..n]);
    at += n;
    out[at..at + DICT_SUFFIX.len()].copy_from_slice(DICT_SUFFIX);
    // The growth spaces and the alignment padding are already spaces.
    out[U8_VECTOR_HEADER_LEN - 1] = b'\n';
    out
}

/// Checks that `bytes` is a whole `.npy` file (or npz entry) holding a 1-D `uint8` array, and returns the range of
/// its data. The canonical header of [`u8_vector_header`] is recognised without parsing; any other header goes
/// through [`parse_header`].
///
/// # Errors
/// An [`NpyError`] if the header is malformed, the dtype is not `uint8`, the array is not 1-D, or the shape does not
/// match the number of bytes after the header.
///
/// # Examples
/// ```
/// use seqring::format::npy::{u8_vector_header, u8_vector_data};
/// let mut file = u8_vector_header(3).to_vec();
/// file.extend_from_slice(b"abc");
/// let range = u8_vector_data(&file).unwrap();
/// assert_eq!(&file[range], b"abc");
/// assert!(u8_vector_data(&file[..130]).is_err());
/// ```
pub fn u8_vector_data(bytes: &[u8]) -> Result<Range<usize>, NpyError> {
    if bytes.len() >= U8_VECTOR_HEADER_LEN {
        let n = (bytes.len() - U8_VECTOR_HEADER_LEN) as u64;
        if bytes[..U8_VECTOR_HEADER_LEN] == u8_vector_header(n) {
            return Ok(U8_VECTOR_HEADER_LEN..bytes.len());
        }
    }
    let header = parse_header(bytes)?;
    if !is_u8_descr(header.descr) {
        return Err(NpyError::WrongDtype(header.descr.to_owned()));
    }
    if header.shape.len() != 1 {
        return Err(NpyError::WrongNdim(header.shape.len()));
    }
    let found = (bytes.len() - header.data_offset) as u64;
    if header.shape[0] != found {
        return Err(NpyError::DataLength {
            expected: header.shape[0],
            found,
        });
    }
    Ok(header.data_offset..bytes.len())
}

/// Whether numpy reads `descr` as `uint8`.
fn is_u8_descr(descr: &str) -> bool {
    matches!(descr, "|u1" | "<u1" | ">u1" | "=u1" | "u1" | "B" | "|B" | "uint8")
}

/// Parses the header at the start of `bytes` (format 1.0, 2.0 or 3.0).
///
/// # Errors
/// An [`NpyError`] saying what is wrong, if the bytes do not start with a valid header whose whole length they hold.
///
/// # Examples
/// ```
/// use seqring::format::npy::parse_header;
/// let mut file = b"\x93NUMPY\x01\x00\x00\x00".to_vec();
/// let text = "{'descr': '<f8', 'fortran_order': False, 'shape': (2, 3), }\n";
/// file[8..10].copy_from_slice(&(text.len() as u16).to_le_bytes());
/// file.extend_from_slice(text.as_bytes());
/// let h = parse_header(&file).unwrap();
/// assert_eq!((h.descr, h.fortran_order, h.shape.as_slice()), ("<f8", false, &[2u64, 3][..]));
/// assert_eq!(h.data_offset, file.len());
/// ```
pub fn parse_header(bytes: &[u8]) -> Result<NpyHeader<'_>, NpyError> {
    let len = bytes.len() as u64;
    if bytes.len() < 10 {
        if !bytes.iter().zip(MAGIC).all(|(a, b)| a == b) {
            return Err(NpyError::BadMagic);
        }
        return Err(NpyError::Truncated { needed: 10, len });
    }
    if &bytes[..6] != MAGIC {
        return Err(NpyError::BadMagic);
    }
    let (major, minor) = (bytes[6], bytes[7]);
    let (text_start, text_len) = match (major, minor) {
        (1, 0) => (10usize, u16::from_le_bytes([bytes[8], bytes[9]]) as usize),
        (2, 0) | (3, 0) => {
            let Some(b) = bytes.get(8..12) else {
                return Err(NpyError::Truncated { needed: 12, len });
            };
            (12usize, u32::from_le_bytes([b[0], b[1], b[2], b[3]]) as usize)
        }
        _ => return Err(NpyError::UnsupportedVersion { major, minor }),
    };
    let end = text_start + text_len;
    let Some(text) = bytes.get(text_start..end) else {
        return Err(NpyError::Truncated {
            needed: end as u64,
            len,
        });
    };
    let text = if major == 3 {
        std::str::from_utf8(text).map_err(|_| NpyError::Encoding)?
    } else {
        // latin-1: only its ASCII part can appear in a header numpy itself accepts here.
        if !text.is_ascii() {
            return Err(NpyError::Encoding);
        }
        std::str::from_utf8(text).map_err(|_| NpyError::Encoding)?
    };
    let dict = parse_dict(text)?;
    Ok(NpyHeader {
        version: (major, minor),
        data_offset: end,
        descr: dict.descr,
        fortran_order: dict.fortran_order,
        shape: dict.shape,
    })
}

struct Dict<'a> {
    descr: &'a str,
    fortran_order: bool,
    shape: Vec<u64>,
}

/// A cursor over the header text of a Python dict literal.
struct Cursor<'a> {
    text: &'a str,
    at: usize,
}

impl<'a> Cursor<'a> {
    fn rest(&self) -> &'a [u8] {
        &self.text.as_bytes()[self.at..]
    }

    fn skip_ws(&mut self) {
        while let Some(&c) = self.rest().first() {
            if matches!(c, b' ' | b'\t' | b'\n' | b'\r' | b'\x0c') {
                self.at += 1;
            } else {
                break;
            }
        }
    }

    fn eat(&mut self, c: u8) -> bool {
        self.skip_ws();
        if self.rest().first() == Some(&c) {
            self.at += 1;
            true
        } else {
            false
        }
    }

    fn expect(&mut self, c: u8, expected: &'static str) -> Result<(), NpyError> {
        if self.eat(c) {
            Ok(())
        } else {
            Err(self.err(expected))
        }
    }

    fn err(&self, expected: &'static str) -> NpyError {
        NpyError::Syntax { at: self.at, expected }
    }

    /// A quoted string without escapes.
    fn string(&mut self) -> Result<&'a str, NpyError> {
        self.skip_ws();
        let quote = match self.rest().first() {
            Some(&q @ (b'\'' | b'"')) => q,
            _ => return Err(self.err("a quoted string")),
        };
        let start = self.at + 1;
        let Some(len) = self.text.as_bytes()[start..]
            .iter()
            .position(|&c| c == quote || c == b'\\')
        else {
            return Err(self.err("a closing quote"));
        };
        if self.text.as_bytes()[start + len] == b'\\' {
            return Err(NpyError::Syntax {
                at: start + len,
                expected: "a string without escapes",
            });
        }
        self.at = start + len + 1;
        // The quotes are ASCII, so these are char boundaries.
        Ok(&self.text[start..start + len])
    }

    fn word(&mut self, word: &str) -> bool {
        self.skip_ws();
        let rest = self.rest();
        let n = word.len();
        if rest.starts_with(word.as_bytes()) && !rest.get(n).is_some_and(|c| c.is_ascii_alphanumeric() || *c == b'_') {
            self.at += n;
            true
        } else {
            false
        }
    }

    fn int(&mut self) -> Result<u64, NpyError> {
        self.skip_ws();
        let digits = self.rest().iter().take_while(|c| c.is_ascii_digit()).count();
        if digits == 0 {
            return Err(self.err("a non-negative integer"));
        }
        let mut v: u64 = 0;
        for &c in &self.rest()[..digits] {
            v = v
                .checked_mul(10)
                .and_then(|v| v.checked_add(u64::from(c - b'0')))
                .ok_or(NpyError::ShapeTooLarge)?;
        }
        self.at += digits;
        Ok(v)
    }

    /// A Python tuple of integers: `()`, `(n,)`, `(n, m)`, `(n, m,)`.
    fn shape(&mut self) -> Result<Vec<u64>, NpyError> {
        if !self.eat(b'(') {
            return Err(NpyError::BadValue {
                key: "shape",
                expected: "a tuple of integers",
            });
        }
        let mut shape = Vec::new();
        if self.eat(b')') {
            return Ok(shape);
        }
        loop {
            if shape.len() == MAX_DIMS {
                return Err(NpyError::ShapeTooLarge);
            }
            shape.push(self.int()?);
            let comma = self.eat(b',');
            if self.eat(b')') {
                // `(n)` is an int in Python, not a tuple.
                if shape.len() == 1 && !comma {
                    return Err(NpyError::BadValue {
                        key: "shape",
                        expected: "a tuple of integers",
                    });
                }
                break;
            }
            if !comma {
                return Err(self.err("',' or ')' in the shape"));
            }
        }
        shape
            .iter()
            .try_fold(1u64, |acc, &d| acc.checked_mul(d))
            .ok_or(NpyError::ShapeTooLarge)?;
        Ok(shape)
    }
}

fn parse_dict(text: &str) -> Result<Dict<'_>, NpyError> {
    let mut c = Cursor { text, at: 0 };
    c.expect(b'{', "'{'")?;
    let mut descr = None;
    let mut fortran = None;
    let mut shape = None;
    loop {
        if c.eat(b'}') {
            break;
        }
        let key = c.string()?;
        c.expect(b':', "':'")?;
        match key {
            "descr" => {
                if descr.is_some() {
                    return Err(NpyError::DuplicateKey("descr"));
                }
                c.skip_ws();
                if !matches!(c.rest().first(), Some(b'\'' | b'"')) {
                    return Err(NpyError::BadValue {
                        key: "descr",
                        expected: "a simple dtype string",
                    });
                }
                descr = Some(c.string()?);
            }
            "fortran_order" => {
                if fortran.is_some() {
                    return Err(NpyError::DuplicateKey("fortran_order"));
                }
                fortran = Some(if c.word("True") {
                    true
                } else if c.word("False") {
                    false
                } else {
                    return Err(NpyError::BadValue {
                        key: "fortran_order",
                        expected: "True or False",
                    });
                });
            }
            "shape" => {
                if shape.is_some() {
                    return Err(NpyError::DuplicateKey("shape"));
                }
                shape = Some(c.shape()?);
            }
            other => return Err(NpyError::UnknownKey(other.chars().take(64).collect())),
        }
        if !c.eat(b',') {
            c.expect(b'}', "',' or '}'")?;
            break;
        }
    }
    c.skip_ws();
    if c.at != text.len() {
        return Err(c.err("the end of the header after '}'"));
    }
    Ok(Dict {
        descr: descr.ok_or(NpyError::MissingKey("descr"))?,
        fortran_order: fortran.ok_or(NpyError::MissingKey("fortran_order"))?,
        shape: shape.ok_or(NpyError::MissingKey("shape"))?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn file(version: (u8, u8), text: &str) -> Vec<u8> {
        let mut out = MAGIC.to_vec();
        out.extend_from_slice(&[version.0, version.1]);
        if version.0 == 1 {
            out.extend_from_slice(&(text.len() as u16).to_le_bytes());
        } else {
            out.extend_from_slice(&(text.len() as u32).to_le_bytes());
        }
        out.extend_from_slice(text.as_bytes());
        out
    }

    #[test]
    fn canonical_header_has_numpy_layout() {
        // Spelled out from numpy.lib.format._write_array_header / _wrap_header, independently of the code.
        for n in [0u64, 9, 17, 1234567, u64::MAX] {
            let digits = n.to_string();
            let mut text = format!("{{'descr': '|u1', 'fortran_order': False, 'shape': ({digits},), }}");
            text.push_str(&" ".repeat(21 - digits.len()));
            let hlen = text.len() + 1;
            let pad = 64 - ((10 + hlen) % 64);
            let mut want = MAGIC.to_vec();
            want.extend_from_slice(&[1, 0]);
            want.extend_from_slice(&((hlen + pad) as u16).to_le_bytes());
            want.extend_from_slice(text.as_bytes());
            want.extend(std::iter::repeat_n(b' ', pad));
            want.push(b'\n');
            assert_eq!(u8_vector_header(n).to_vec(), want, "n = {n}");
            let parsed = parse_header(&want).unwrap();
            assert_eq!(parsed.shape, [n]);
            assert_eq!(parsed.data_offset, 128);
        }
    }

    #[test]
    fn accepts_numpy_variants() {
        let h = file((1, 0), "{'shape': (5, ), 'fortran_order': True, 'descr': '<u1'}   \n");
        let p = parse_header(&h).unwrap();
        assert_eq!((p.descr, p.fortran_order, p.shape.clone()), ("<u1", true, vec![5]));
        let h = file(
            (2, 0),
            "{\"descr\": \"|u1\", \"fortran_order\": False, \"shape\": ()}\n",
        );
        assert_eq!(parse_header(&h).unwrap().shape, Vec::<u64>::new());
        let h = file((3, 0), "{'descr': '<f8', 'fortran_order': False, 'shape': (2, 3,), }\n");
        assert_eq!(parse_header(&h).unwrap().shape, vec![2, 3]);
    }

    #[test]
    fn rejects_malformed_headers() {
        type Check = fn(&NpyError) -> bool;
        let cases: &[(&str, Check)] = &[
            ("{'descr': '|u1', 'fortran_order': False}", |e| {
                matches!(e, NpyError::MissingKey("shape"))
            }),
            (
                "{'descr': '|u1', 'descr': '|u1', 'fortran_order': False, 'shape': (1,)}",
                |e| matches!(e, NpyError::DuplicateKey("descr")),
            ),
            (
                "{'descr': '|u1', 'fortran_order': False, 'shape': (1,), 'x': 1}",
                |e| matches!(e, NpyError::UnknownKey(k) if k == "x"),
            ),
            (
                "{'descr': [('a', '<u1')], 'fortran_order': False, 'shape': (1,)}",
                |e| matches!(e, NpyError::BadValue { key: "descr", .. }),
            ),
            ("{'descr': '|u1', 'fortran_order': 0, 'shape': (1,)}", |e| {
                matches!(
                    e,
                    NpyError::BadValue {
                        key: "fortran_order",
                        ..
                    }
                )
            }),
            ("{'descr': '|u1', 'fortran_order': False, 'shape': (1)}", |e| {
                matches!(e, NpyError::BadValue { key: "shape", .. })
            }),
            ("{'descr': '|u1', 'fortran_order': False, 'shape': (-1,)}", |e| {
                matches!(e, NpyError::Syntax { .. })
            }),
            (
                "{'descr': '|u1', 'fortran_order': False, 'shape': (99999999999999999999,)}",
                |e| matches!(e, NpyError::ShapeTooLarge),
            ),
            (
                "{'descr': '|u1', 'fortran_order': False, 'shape': (4294967296, 4294967296)}",
                |e| matches!(e, NpyError::ShapeTooLarge),
            ),
            ("{'descr': '|u1', 'fortran_order': False, 'shape': (1,)} x", |e| {
                matches!(e, NpyError::Syntax { .. })
            }),
            ("{'descr': 'a\\'b', 'fortran_order': False, 'shape': (1,)}", |e| {
                matches!(e, NpyError::Syntax { .. })
            }),
        ];
        for (text, check) in cases {
            let err = parse_header(&file((1, 0), text)).unwrap_err();
            assert!(check(&err), "{text}: {err:?}");
        }
        let too_many = format!(
            "{{'descr': '|u1', 'fortran_order': False, 'shape': ({}), }}",
            "1, ".repeat(MAX_DIMS + 1)
        );
        assert_eq!(parse_header(&file((1, 0), &too_many)), Err(NpyError::ShapeTooLarge));
        assert_eq!(
            parse_header(b"\x93NUM"),
            Err(NpyError::Truncated { needed: 10, len: 4 })
        );
        assert_eq!(parse_header(b"PK\x03\x04xxxxxxxx"), Err(NpyError::BadMagic));
        assert_eq!(
            parse_header(b"\x93NUMPY\x04\x00\x00\x00"),
            Err(NpyError::UnsupportedVersion { major: 4, minor: 0 })
        );
        let mut h = file((1, 0), "{'descr': '|u1', 'fortran_order': False, 'shape': (1,)}");
        h.truncate(h.len() - 1);
        assert!(matches!(parse_header(&h), Err(NpyError::Truncated { .. })));
        let mut h = file((1, 0), "{'descr': '|u1', 'fortran_order': False, 'shape': (1,)}");
        h[20] = 0xe9;
        assert_eq!(parse_header(&h), Err(NpyError::Encoding));
    }

    #[test]
    fn u8_vector_checks_dtype_ndim_and_length() {
        let mut f = file((1, 0), "{'descr': '<f8', 'fortran_order': False, 'shape': (1,)}\n");
        f.extend_from_slice(&[0; 8]);
        assert_eq!(u8_vector_data(&f), Err(NpyError::WrongDtype("<f8".into())));
        let mut f = file((1, 0), "{'descr': '|u1', 'fortran_order': False, 'shape': (1, 2)}\n");
        f.extend_from_slice(&[0; 2]);
        assert_eq!(u8_vector_data(&f), Err(NpyError::WrongNdim(2)));
        let mut f = u8_vector_header(4).to_vec();
        f.extend_from_slice(&[1, 2, 3]);
        assert_eq!(u8_vector_data(&f), Err(NpyError::DataLength { expected: 4, found: 3 }));
        // npyz writes `(N, )`; it is read, not byte-identical.
        let mut f = file((1, 0), "{'descr': '|u1', 'fortran_order': False, 'shape': (2, ), }\n");
        let start = f.len();
        f.extend_from_slice(&[7, 8]);
        assert_eq!(u8_vector_data(&f), Ok(start..start + 2));
    }
}
