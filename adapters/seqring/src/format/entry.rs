//! The name of a log entry, `{source:03}_{elapsed:020}.npy` (or `…_{k}.npy` for the k-th further message with the
//! same elapsed time): ataraxis's naming, shared by the logger's npy sink, which writes entries, and the archive
//! layer, which reads and assembles them.
//!
//! Invariants: [`EntryName::write`] and [`EntryName::parse`] are inverse on every name `write` produces, and
//! `parse` accepts leading zeros but refuses a source above 255, a timestamp above `u64::MAX`, a duplicate suffix of
//! 0, and anything that is not digits and underscores.

/// The parts of a log entry's name: `{source:03}_{timestamp:020}.npy`, or `…_{k}.npy` for a duplicate timestamp.
///
/// # Examples
/// ```
/// use seqring::format::EntryName;
/// let name = EntryName { source_id: 7, timestamp: 1_500, duplicate: 1 }; // the second message at 1.5 ms
/// assert_eq!(name.to_string(), "007_00000000000000001500_1.npy");
/// assert_eq!(EntryName::parse(&name.to_string()), Some(name));
/// assert!(name > EntryName { source_id: 7, timestamp: 1_500, duplicate: 0 }, "names sort in log order");
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct EntryName {
    /// The source id.
    pub source_id: u8,
    /// The elapsed µs since the source's onset.
    pub timestamp: u64,
    /// 0 for the first message with this timestamp, k ≥ 1 for the k-th further one.
    pub duplicate: u32,
}

impl EntryName {
    /// Parses a name with or without the `.npy` extension. Numbers may have leading zeros; the source must fit a
    /// `u8`, the timestamp a `u64`, and a duplicate suffix is at least 1.
    ///
    /// # Examples
    /// ```
    /// use seqring::format::EntryName;
    /// let n = EntryName::parse("007_00000000000000001234_2.npy").unwrap();
    /// assert_eq!((n.source_id, n.timestamp, n.duplicate), (7, 1234, 2));
    /// assert_eq!(n.to_string(), "007_00000000000000001234_2.npy");
    /// assert!(EntryName::parse("256_00000000000000000000.npy").is_none());
    /// assert!(EntryName::parse("camera.npy").is_none());
    /// ```
    pub fn parse(name: &str) -> Option<Self> {
        let stem = name.strip_suffix(".npy").unwrap_or(name);
        let mut parts = stem.split('_');
        let source = parts.next()?;
        let timestamp = parts.next()?;
        let duplicate = parts.next();
        if parts.next().is_some() {
            return None;
        }
        fn digits<T: std::str::FromStr>(s: &str) -> Option<T> {
            if s.is_empty() || !s.bytes().all(|b| b.is_ascii_digit()) {
                return None;
            }
            s.parse().ok()
        }
        let duplicate = match duplicate {
            Some(k) => match digits::<u32>(k)? {
                0 => return None,
                k => k,
            },
            None => 0,
        };
        Some(EntryName {
            source_id: digits(source)?,
            timestamp: digits(timestamp)?,
            duplicate,
        })
    }

    /// Writes the canonical name, `.npy` included, into `buf` and returns it.
    ///
    /// # Examples
    /// ```
    /// use seqring::format::{EntryName, NameBuf};
    /// let mut buf = NameBuf::default();
    /// let name = EntryName { source_id: 7, timestamp: 1_234, duplicate: 0 };
    /// assert_eq!(name.write(&mut buf), "007_00000000000000001234.npy");
    /// assert_eq!(EntryName::parse(name.write(&mut buf)), Some(name));
    /// ```
    pub fn write<'b>(&self, buf: &'b mut NameBuf) -> &'b str {
        let out = &mut buf.0;
        let mut n = put_num(out, 0, u64::from(self.source_id), 3);
        out[n] = b'_';
        n = put_num(out, n + 1, self.timestamp, 20);
        if self.duplicate > 0 {
            out[n] = b'_';
            n = put_num(out, n + 1, u64::from(self.duplicate), 1);
        }
        out[n..n + 4].copy_from_slice(b".npy");
        n += 4;
        // Only ASCII digits, '_' and ".npy" were written.
        std::str::from_utf8(&out[..n]).unwrap_or_default()
    }
}

/// Writes `v` zero-padded to `width` digits at `out[at..]`; returns the end.
fn put_num(out: &mut [u8; NAME_MAX], at: usize, mut v: u64, width: usize) -> usize {
    let mut digits = [b'0'; 20];
    let mut i = digits.len();
    loop {
        i -= 1;
        digits[i] = b'0' + (v % 10) as u8;
        v /= 10;
        if v == 0 {
            break;
        }
    }
    let start = i.min(digits.len() - width);
    let len = digits.len() - start;
    out[at..at + len].copy_from_slice(&digits[start..]);
    at + len
}

impl std::fmt::Display for EntryName {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.write(&mut NameBuf::default()))
    }
}

const NAME_MAX: usize = 3 + 1 + 20 + 1 + 10 + 4;

/// A stack buffer for [`EntryName::write`].
///
/// # Examples
/// ```
/// use seqring::format::{EntryName, NameBuf};
/// let mut buf = NameBuf::default(); // reused for every name: no allocation
/// for timestamp in [0, 1_000] {
///     let name = EntryName { source_id: 2, timestamp, duplicate: 0 }.write(&mut buf);
///     assert!(name.starts_with("002_") && name.ends_with(".npy"));
/// }
/// ```
#[derive(Clone, Copy, Debug)]
pub struct NameBuf([u8; NAME_MAX]);

impl Default for NameBuf {
    fn default() -> Self {
        NameBuf([0; NAME_MAX])
    }
}
