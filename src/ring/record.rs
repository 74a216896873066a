//! The log record format, shared by the ring, segment files and everything that decodes them.
//!
//! ```text
//! offset  size  field
//!      0     4  length, i32 (atomic as part of word 0): 0 unwritten, < 0 claimed, > 0 committed;
//!               the unaligned record length, header included (a padding record: its whole extent; an MPSC
//!               producer's wrap padding is claimed, negative, until its record's marker is placed)
//!      4     1  kind: 1 data, 2 padding
//!      5     1  source id
//!      6     2  reserved: zero once committed; while claimed, the producer's claimant tag (0: none)
//!      8     8  timestamp (u64; data records only)
//!     16     n  payload (data records only)
//! ```
//!
//! Records start 8-byte aligned and occupy `align8(length)` bytes. Word 0 (length, kind, source) is stored as one
//! atomic `u64`, so a committed header is published by a single Release store. A padding record may be as short as
//! its first word (8 bytes); a data record is at least [`HEADER_LEN`] bytes.

/// The size of a data record's header.
///
/// # Examples
/// ```
/// use seqring_core::ring::record::{align8, encode_data, HEADER_LEN};
/// // A 5-byte payload takes a 16-byte header and 3 bytes of alignment padding.
/// let mut out = vec![0u8; align8(HEADER_LEN + 5).unwrap()];
/// assert_eq!(out.len(), 24);
/// encode_data(&mut out, 1, 2, b"hello");
/// assert_eq!(&out[HEADER_LEN..HEADER_LEN + 5], b"hello");
/// ```
pub const HEADER_LEN: usize = 16;
/// Records start at multiples of this.
///
/// # Examples
/// ```
/// use seqring_core::ring::record::{align8, ALIGN};
/// assert_eq!(align8(17), Some(3 * ALIGN));
/// ```
pub const ALIGN: usize = 8;
/// The largest record length the `i32` length field can express, aligned down.
///
/// # Examples
/// ```
/// use seqring_core::ring::record::{ALIGN, MAX_RECORD_LEN};
/// assert_eq!(MAX_RECORD_LEN % ALIGN, 0);
/// assert!(i32::try_from(MAX_RECORD_LEN).is_ok());
/// assert!(i32::try_from(MAX_RECORD_LEN + ALIGN).is_err());
/// ```
pub const MAX_RECORD_LEN: usize = (i32::MAX as usize) & !(ALIGN - 1);

/// What a record holds.
///
/// # Examples
/// ```
/// use seqring_core::ring::record::{RecordKind, Word0};
/// assert_eq!(Word0::data(24, 3).kind, RecordKind::Data as u8);
/// assert_eq!(Word0::padding(64).kind, RecordKind::Padding as u8);
/// assert_eq!((RecordKind::Data as u8, RecordKind::Padding as u8), (1, 2));
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(u8)]
pub enum RecordKind {
    /// A message.
    Data = 1,
    /// Filler up to the end of the ring, or an aborted or abandoned claim.
    Padding = 2,
}

/// `n` rounded up to a multiple of [`ALIGN`], or `None` on overflow.
///
/// # Examples
/// ```
/// use seqring_core::ring::record::align8;
/// assert_eq!(align8(0), Some(0));
/// assert_eq!(align8(1), Some(8));
/// assert_eq!(align8(16), Some(16));
/// assert_eq!(align8(19), Some(24));
/// assert_eq!(align8(usize::MAX), None);
/// ```
pub const fn align8(n: usize) -> Option<usize> {
    match n.checked_add(ALIGN - 1) {
        Some(v) => Some(v & !(ALIGN - 1)),
        None => None,
    }
}

/// Word 0 of a record: its length (negative while claimed), kind and source.
///
/// # Examples
/// ```
/// use seqring_core::ring::record::Word0;
/// let w = Word0::data(21, 9);
/// let word = w.encode();
/// // Length in bytes 0..4, kind in byte 4, source in byte 5 (little-endian).
/// assert_eq!(word.to_le_bytes(), [21, 0, 0, 0, 1, 9, 0, 0]);
/// assert_eq!(Word0::decode(word), w);
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Word0 {
    /// The signed length field.
    pub length: i32,
    /// The raw kind byte.
    pub kind: u8,
    /// The source id.
    pub source_id: u8,
}

impl Word0 {
    /// The header of a data record of `length` bytes (negative while claimed) from `source_id`.
    ///
    /// # Examples
    /// ```
    /// use seqring_core::ring::record::{RecordKind, Word0};
    /// let committed = Word0::data(19, 4);
    /// assert_eq!((committed.length, committed.kind, committed.source_id), (19, RecordKind::Data as u8, 4));
    /// assert_eq!(Word0::data(-19, 4).length, -19); // claimed, not yet committed
    /// ```
    pub const fn data(length: i32, source_id: u8) -> Self {
        Word0 {
            length,
            kind: RecordKind::Data as u8,
            source_id,
        }
    }

    /// The header of a padding record covering `extent` bytes.
    ///
    /// # Examples
    /// ```
    /// use seqring_core::ring::record::{RecordKind, Word0};
    /// let pad = Word0::padding(40);
    /// assert_eq!((pad.length, pad.kind, pad.source_id), (40, RecordKind::Padding as u8, 0));
    /// ```
    pub const fn padding(extent: usize) -> Self {
        Word0 {
            length: extent as i32,
            kind: RecordKind::Padding as u8,
            source_id: 0,
        }
    }

    /// Packs the fields into the little-endian word layout.
    ///
    /// # Examples
    /// ```
    /// use seqring_core::ring::record::Word0;
    /// assert_eq!(Word0::data(19, 7).encode(), 19 | 1 << 32 | 7 << 40);
    /// // A negative (claimed) length keeps its two's-complement bits in the low 32 bits only.
    /// assert_eq!(Word0::data(-16, 0).encode(), 0xffff_fff0 | 1 << 32);
    /// ```
    pub const fn encode(self) -> u64 {
        (self.length as u32 as u64) | ((self.kind as u64) << 32) | ((self.source_id as u64) << 40)
    }

    /// The claim marker of a data record of `length` bytes from `source_id`, claimed by the producer tagged
    /// `claimant` (kept in the reserved bytes until the commit zeroes them).
    ///
    /// # Examples
    /// ```
    /// use seqring_core::ring::record::Word0;
    /// let marker = Word0::claim_marker(24, 3, 0xbeef);
    /// assert_eq!(Word0::decode(marker), Word0::data(-24, 3));
    /// assert_eq!(Word0::claimant(marker), 0xbeef);
    /// ```
    pub const fn claim_marker(length: usize, source_id: u8, claimant: u16) -> u64 {
        Word0::data(-(length as i32), source_id).encode() | ((claimant as u64) << 48)
    }

    /// The claim marker of an MPSC producer's wrap padding of `extent` bytes (a negative padding length, tagged
    /// like its record's marker), which it turns into padding once its record's own marker is in place: until
    /// then the consumer cannot pass it, so that the producer can tell a zero it replaced from a release.
    ///
    /// # Examples
    /// ```
    /// use seqring_core::ring::record::{RecordKind, Word0};
    /// let marker = Word0::padding_marker(48, 5);
    /// let w = Word0::decode(marker);
    /// assert_eq!((w.length, w.kind), (-48, RecordKind::Padding as u8));
    /// assert_eq!(Word0::claimant(marker), 5);
    /// ```
    pub const fn padding_marker(extent: usize, claimant: u16) -> u64 {
        Word0 {
            length: -(extent as i32),
            kind: RecordKind::Padding as u8,
            source_id: 0,
        }
        .encode()
            | ((claimant as u64) << 48)
    }

    /// The claimant tag of a word (the reserved bytes; 0 for committed records and untagged claims).
    ///
    /// # Examples
    /// ```
    /// use seqring_core::ring::record::Word0;
    /// assert_eq!(Word0::claimant(Word0::claim_marker(16, 0, 42)), 42);
    /// assert_eq!(Word0::claimant(Word0::data(16, 0).encode()), 0); // committed: reserved bytes are zero
    /// ```
    pub const fn claimant(word: u64) -> u16 {
        (word >> 48) as u16
    }

    /// Unpacks a word; the reserved bytes are ignored.
    ///
    /// # Examples
    /// ```
    /// use seqring_core::ring::record::Word0;
    /// let w = Word0::decode(u64::from_le_bytes([30, 0, 0, 0, 1, 2, 0xaa, 0xbb]));
    /// assert_eq!(w, Word0::data(30, 2)); // the reserved bytes 0xaa, 0xbb are ignored
    /// assert_eq!(Word0::decode(Word0::data(-30, 2).encode()).length, -30);
    /// ```
    pub const fn decode(word: u64) -> Self {
        Word0 {
            length: word as u32 as i32,
            kind: (word >> 32) as u8,
            source_id: (word >> 40) as u8,
        }
    }
}

/// A committed data record borrowed from a byte buffer.
///
/// # Examples
/// ```
/// use seqring_core::ring::record::{encode_data, Record, Records};
/// let mut buf = [0u8; 24];
/// encode_data(&mut buf, 2, 1_000, b"lick");
/// let record: Record<'_> = Records::new(&buf).next().unwrap().unwrap();
/// assert_eq!(record.source_id, 2);
/// assert_eq!(record.timestamp, 1_000);
/// assert_eq!(record.payload, b"lick");
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Record<'a> {
    /// The producer's source id.
    pub source_id: u8,
    /// The producer's timestamp (µs since the source's onset in the logger's convention).
    pub timestamp: u64,
    /// The payload bytes.
    pub payload: &'a [u8],
}

/// Why a buffer of records could not be decoded. Offsets are relative to the buffer.
///
/// # Examples
/// ```
/// use seqring_core::ring::record::{encode_data, RecordError, Records};
/// let mut buf = [0u8; 24];
/// encode_data(&mut buf, 2, 1_000, b"lick");
/// // Cut off inside the payload.
/// let err = Records::new(&buf[..16]).next().unwrap().unwrap_err();
/// assert_eq!(err, RecordError::Truncated { offset: 0 });
/// assert_eq!(err.to_string(), "record at byte 0 is truncated");
/// // An unknown kind byte.
/// buf[4] = 9;
/// assert_eq!(Records::new(&buf).next(), Some(Err(RecordError::BadKind { offset: 0, kind: 9 })));
/// // A claimed (negative) length is not a committed record.
/// buf[..4].copy_from_slice(&(-20i32).to_le_bytes());
/// assert_eq!(Records::new(&buf).next(), Some(Err(RecordError::BadLength { offset: 0, length: -20 })));
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum RecordError {
    /// The buffer ends inside a record header or payload.
    Truncated {
        /// Where the record starts.
        offset: usize,
    },
    /// The length field is not a committed length this record kind can have.
    BadLength {
        /// Where the record starts.
        offset: usize,
        /// The length field.
        length: i32,
    },
    /// The kind byte is neither data nor padding.
    BadKind {
        /// Where the record starts.
        offset: usize,
        /// The kind byte.
        kind: u8,
    },
}

impl core::fmt::Display for RecordError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match self {
            RecordError::Truncated { offset } => write!(f, "record at byte {offset} is truncated"),
            RecordError::BadLength { offset, length } => {
                write!(f, "record at byte {offset} has invalid length {length}")
            }
            RecordError::BadKind { offset, kind } => write!(f, "record at byte {offset} has unknown kind {kind}"),
        }
    }
}

impl core::error::Error for RecordError {}

/// Iterates over the committed data records in `bytes`, skipping padding: the contents of a consumer batch or of
/// a segment file's batch. Stops after the first error.
///
/// # Examples
/// ```
/// use seqring_core::ring::record::{Records, Record};
/// let mut buf = vec![0u8; 24];
/// buf[0] = 19; // length: 16-byte header + 3-byte payload
/// buf[4] = 1; // data
/// buf[5] = 7; // source 7
/// buf[8] = 5; // timestamp 5
/// buf[16..19].copy_from_slice(b"abc");
/// let records: Vec<_> = Records::new(&buf).collect::<Result<_, _>>().unwrap();
/// assert_eq!(records, [Record { source_id: 7, timestamp: 5, payload: b"abc" }]);
/// ```
#[derive(Clone, Debug)]
pub struct Records<'a> {
    bytes: &'a [u8],
    offset: usize,
    failed: bool,
}

impl<'a> Records<'a> {
    /// Records in `bytes`, which must start at a record boundary.
    ///
    /// # Examples
    /// ```
    /// use seqring_core::ring::record::{encode_data, Word0, Records};
    /// // A data record, a padding record, and another data record, as a consumer batch may hold them.
    /// let mut buf = vec![0u8; 24 + 16 + 24];
    /// encode_data(&mut buf[..24], 1, 10, b"one");
    /// buf[24..32].copy_from_slice(&Word0::padding(16).encode().to_le_bytes());
    /// encode_data(&mut buf[40..], 2, 20, b"two");
    /// let got: Vec<(u8, u64, &[u8])> = Records::new(&buf)
    ///     .map(|r| r.map(|r| (r.source_id, r.timestamp, r.payload)))
    ///     .collect::<Result<_, _>>()
    ///     .unwrap();
    /// assert_eq!(got, [(1, 10, &b"one"[..]), (2, 20, &b"two"[..])]);
    /// ```
    pub const fn new(bytes: &'a [u8]) -> Self {
        Records {
            bytes,
            offset: 0,
            failed: false,
        }
    }

    /// The offset of the next record to decode.
    ///
    /// # Examples
    /// ```
    /// use seqring_core::ring::record::{encode_data, Records};
    /// let mut buf = [0u8; 48];
    /// encode_data(&mut buf[..24], 1, 10, b"one");
    /// encode_data(&mut buf[24..], 1, 11, b"two");
    /// let mut records = Records::new(&buf);
    /// assert_eq!(records.offset(), 0);
    /// records.next().unwrap().unwrap();
    /// assert_eq!(records.offset(), 24);
    /// records.next().unwrap().unwrap();
    /// assert_eq!(records.offset(), 48);
    /// assert!(records.next().is_none());
    /// ```
    pub const fn offset(&self) -> usize {
        self.offset
    }

    fn decode_next(&mut self) -> Option<Result<Record<'a>, RecordError>> {
        loop {
            let offset = self.offset;
            let rest = &self.bytes[offset..];
            if rest.is_empty() {
                return None;
            }
            let Some(word) = rest.get(..8) else {
                return Some(Err(RecordError::Truncated { offset }));
            };
            let w = Word0::decode(u64::from_le_bytes(word.try_into().unwrap_or([0; 8])));
            let extent = match usize::try_from(w.length).ok().and_then(align8) {
                Some(e) if e >= ALIGN => e,
                _ => {
                    return Some(Err(RecordError::BadLength {
                        offset,
                        length: w.length,
                    }))
                }
            };
            if extent > rest.len() {
                return Some(Err(RecordError::Truncated { offset }));
            }
            self.offset += extent;
            match w.kind {
                k if k == RecordKind::Padding as u8 => continue,
                k if k == RecordKind::Data as u8 => {
                    let len = w.length as usize;
                    if len < HEADER_LEN {
                        return Some(Err(RecordError::BadLength {
                            offset,
                            length: w.length,
                        }));
                    }
                    let mut ts = [0u8; 8];
                    ts.copy_from_slice(&rest[8..16]);
                    return Some(Ok(Record {
                        source_id: w.source_id,
                        timestamp: u64::from_le_bytes(ts),
                        payload: &rest[HEADER_LEN..len],
                    }));
                }
                kind => return Some(Err(RecordError::BadKind { offset, kind })),
            }
        }
    }
}

impl<'a> Iterator for Records<'a> {
    type Item = Result<Record<'a>, RecordError>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.failed {
            return None;
        }
        let item = self.decode_next();
        self.failed = matches!(item, Some(Err(_)));
        item
    }
}

impl core::iter::FusedIterator for Records<'_> {}

/// Encodes one committed data record into `out` (which must be `align8(HEADER_LEN + payload.len())` bytes), the
/// way it sits in the ring. Used by tests and by writers that build segment batches without a ring.
///
/// # Panics
/// If `out` has the wrong length or the record is longer than [`MAX_RECORD_LEN`].
///
/// # Examples
/// ```
/// use seqring_core::ring::record::{align8, encode_data, HEADER_LEN};
/// let payload = b"frame 17";
/// let mut out = vec![0xffu8; align8(HEADER_LEN + payload.len()).unwrap()];
/// encode_data(&mut out, 4, 123_456, payload);
/// assert_eq!(&out[..4], &24i32.to_le_bytes()); // length, header included
/// assert_eq!((out[4], out[5]), (1, 4)); // data, source 4
/// assert_eq!(&out[6..8], &[0, 0]); // reserved
/// assert_eq!(&out[8..16], &123_456u64.to_le_bytes());
/// assert_eq!(&out[16..], payload);
/// ```
pub fn encode_data(out: &mut [u8], source_id: u8, timestamp: u64, payload: &[u8]) {
    let len = HEADER_LEN + payload.len();
    assert!(len <= MAX_RECORD_LEN, "record too long");
    assert_eq!(
        Some(out.len()),
        align8(len),
        "output must hold exactly the aligned record"
    );
    let w = Word0 {
        length: len as i32,
        kind: RecordKind::Data as u8,
        source_id,
    };
    out[..8].copy_from_slice(&w.encode().to_le_bytes());
    out[8..16].copy_from_slice(&timestamp.to_le_bytes());
    out[16..len].copy_from_slice(payload);
    out[len..].fill(0);
}

#[cfg(all(test, not(loom)))]
mod tests {
    use super::*;
    use std::vec;

    #[test]
    fn word0_round_trips_negative_lengths() {
        let w = Word0 {
            length: -24,
            kind: 1,
            source_id: 200,
        };
        assert_eq!(Word0::decode(w.encode()), w);
        let bytes = w.encode().to_le_bytes();
        assert_eq!(i32::from_le_bytes(bytes[..4].try_into().unwrap()), -24);
        assert_eq!((bytes[4], bytes[5]), (1, 200));
    }

    #[test]
    fn decodes_data_skips_padding_and_stops_on_errors() {
        let mut buf = vec![0u8; 24 + 8 + 16];
        encode_data(&mut buf[..24], 3, 9, b"hello");
        buf[24..32].copy_from_slice(
            &Word0 {
                length: 8,
                kind: 2,
                source_id: 0,
            }
            .encode()
            .to_le_bytes(),
        );
        encode_data(&mut buf[32..], 4, 10, b"");
        let got: std::vec::Vec<_> = Records::new(&buf).collect();
        assert_eq!(
            got,
            [
                Ok(Record {
                    source_id: 3,
                    timestamp: 9,
                    payload: b"hello"
                }),
                Ok(Record {
                    source_id: 4,
                    timestamp: 10,
                    payload: b""
                })
            ]
        );
        assert_eq!(
            Records::new(&buf[..30]).nth(1),
            Some(Err(RecordError::Truncated { offset: 24 }))
        );
        let mut bad = buf.clone();
        bad[0] = 0;
        assert_eq!(
            Records::new(&bad).next(),
            Some(Err(RecordError::BadLength { offset: 0, length: 0 }))
        );
        bad[0] = 12;
        assert_eq!(
            Records::new(&bad).next(),
            Some(Err(RecordError::BadLength { offset: 0, length: 12 }))
        );
        let mut bad = buf.clone();
        bad[4] = 9;
        let mut it = Records::new(&bad);
        assert_eq!(it.next(), Some(Err(RecordError::BadKind { offset: 0, kind: 9 })));
        assert_eq!(it.next(), None);
    }
}
