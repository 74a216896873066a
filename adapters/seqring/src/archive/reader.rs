//! `LogArchive`: a memory-mapped log archive whose messages borrow their payloads from the map.
//!
//! Invariants:
//! - [`LogArchive::open`] reads what indexing needs, and checks it: the end records and the central directory in
//!   place (`zipdir`, without the `zip` crate's owned index), every central header (stored, not encrypted, equal
//!   sizes, a log-entry name of the archive's source, onset + elapsed not overflowing), and the first entry whole
//!   (it fixes the source and the onset). An archive with a deflated member is first inflated whole into the stored
//!   archive it stands for, held in memory (`inflate`), and then checked whole at open, as it is in memory anyway.
//! - Every other entry's local header and data are checked on first access, a block of [`BLOCK`] entries at a
//!   time, each block once (a `OnceLock` per block, so `&self` access from several threads is sound and the threads
//!   agree): the local header inside the file with the central name, the data inside the file, a 1-D `uint8` npy
//!   array of at least 9 bytes, the archive's source and the name's timestamp in the data. Nothing is handed out
//!   (message, payload, raw entry) before its entry passed; an entry that fails gives its typed error, naming it,
//!   every time it is asked for, and the other entries of its block still read. [`LogArchive::verify_all`] checks
//!   every block up front (in parallel). Keys come from the central directory, checked at open.
//! - The index holds 32 bytes per entry: the central header's offset, the name's timestamp and two words that hold,
//!   until the entry is checked, what the check needs from the central header besides the name (the local header's
//!   offset and the stored size, so the central header is not parsed twice), and once checked, where the array data
//!   lies. The check on first access and the eager one are the same code ([`check_data`]), which gives a small
//!   `Fault`; the typed error naming the entry is built only when it is handed out (for an entry found bad on first
//!   access, by checking it again from its central header). A sequential iteration checks the blocks ahead of it in
//!   parallel ([`AHEAD`] at a time).
//! - The mapped file must not be modified in place while open. Archives are written once, under a temporary name,
//!   and renamed into place, so replacing one does not disturb an open map of the old file.

use std::fs::File;
use std::ops::{Deref, Range};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering::Relaxed};
use std::sync::OnceLock;

use seqring_platform::ReadOnlyMap;

use super::zipdir;
use super::{ArchiveError, EntryName, LogMessage, ARCHIVE_SUFFIX, ONSET_TIMESTAMP};
use crate::format::npy::{u8_vector_data, u8_vector_header, NpyError, U8_VECTOR_HEADER_LEN};

/// ataraxis's `PARALLEL_PROCESSING_THRESHOLD`: archives with fewer messages are not split by
/// [`LogArchive::batches`].
///
/// # Examples
/// ```
/// # use seqring::archive::{assemble_log_archives, AssembleOptions};
/// # use seqring::logger::DataLogger;
/// # let dir = tempfile::tempdir().unwrap();
/// # let name = format!("doc-parallel-threshold-{}", std::process::id());
/// # let logger = DataLogger::builder(dir.path(), &name).start().unwrap();
/// # let source = logger.producer(7).unwrap();
/// # for (t, frame) in [(1_000, &b"frame 1"[..]), (2_000, b"frame 2"), (3_000, b"frame 3")] {
/// #     source.log_at(t, frame).unwrap();
/// # }
/// # let log_dir = logger.stop().unwrap().log_dir;
/// # assemble_log_archives(&log_dir, &AssembleOptions::default()).unwrap();
/// use seqring::archive::LogArchive;
/// // an archive of three frames, logged 1, 2 and 3 ms after source 7's onset
/// let archive = LogArchive::open(log_dir.join("7_log.npz")).unwrap();
/// use seqring::archive::PARALLEL_THRESHOLD;
/// assert!(archive.message_count() < PARALLEL_THRESHOLD);
/// assert_eq!(archive.batches(4, 4), [0..3]); // one batch
/// ```
pub const PARALLEL_THRESHOLD: usize = 2000;

#[derive(Debug)]
enum Backing {
    Map(ReadOnlyMap),
    Owned(Vec<u8>),
}

impl Deref for Backing {
    type Target = [u8];

    fn deref(&self) -> &[u8] {
        match self {
            Backing::Map(m) => m,
            Backing::Owned(v) => v,
        }
    }
}

/// One entry of the index: 32 bytes (1 M entries index in 32 MB). At open `central_at` and `ts` are known (the
/// central header, checked then, gives the name and CRC again; the name gives the timestamp), and what the check on
/// first access needs from the central header besides the name (the local header's offset and the stored size) is
/// kept in `data_at` and `end`, so that check does not parse the central header again. The check replaces them,
/// once, with where the array data lies (0 and 0 for an entry that failed), before the block's `OnceLock` is set.
#[derive(Debug)]
struct Entry {
    /// The offset of the entry's central header ([`NO_ENTRY`] for the stand-in of a missing optional onset).
    central_at: usize,
    /// The elapsed µs since the onset, from the name (the check finds the data's equal).
    ts: u64,
    /// Until the entry's block is checked: the offset of its local header, from the central header (saturated to
    /// `usize::MAX` where it does not fit, which fails the check as the value would). Once checked: the start of the
    /// array data `[source][timestamp][payload]`, or 0 for an entry that failed its check (a local header precedes
    /// the data, so a good entry's is never 0).
    data_at: AtomicUsize,
    /// Until checked: the stored size, from the central header (saturated likewise). Once checked: the end of the
    /// array data (0 with `data_at`).
    end: AtomicUsize,
}

/// The `central_at` of the stand-in for a missing optional onset: no name, no bytes.
const NO_ENTRY: usize = usize::MAX;

impl Entry {
    /// An entry whose local header and data are still to be checked: its central header's offset, local header
    /// offset and stored size.
    fn unchecked(central_at: usize, ts: u64, local_at: u64, size: u64) -> Self {
        Entry {
            central_at,
            ts,
            data_at: AtomicUsize::new(usize::try_from(local_at).unwrap_or(usize::MAX)),
            end: AtomicUsize::new(usize::try_from(size).unwrap_or(usize::MAX)),
        }
    }

    /// An entry checked whole, its array data at `data_at..end`.
    fn checked(central_at: usize, ts: u64, data_at: usize, end: usize) -> Self {
        Entry {
            central_at,
            ts,
            data_at: AtomicUsize::new(data_at),
            end: AtomicUsize::new(end),
        }
    }

    /// The stand-in for a missing optional onset.
    fn stand_in() -> Self {
        Entry::checked(NO_ENTRY, 0, 0, 0)
    }
}

const _: () = assert!(size_of::<Entry>() == 32 || size_of::<usize>() < 8);

/// A log archive, memory-mapped; its directory checked at open, each entry checked before it is first handed out.
///
/// # Examples
/// ```
/// use seqring::archive::LogArchive;
/// # let fixtures = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/fixtures/ataraxis-7.2.0");
/// # if !fixtures.exists() { return; }
/// let archive = LogArchive::open(fixtures.join("archives/7_log.npz")).unwrap();
/// assert_eq!(archive.source_id(), 7);
/// assert_eq!(archive.message_count(), archive.iter().count());
/// for message in archive.iter().take(3) {
///     assert!(message.unwrap().timestamp_us > archive.onset_us());
/// }
/// ```
#[derive(Debug)]
pub struct LogArchive {
    path: PathBuf,
    bytes: Backing,
    source_id: u8,
    onset_us: u64,
    /// Whether the archive holds an onset entry (only [`LogArchive::open_lenient`] opens one without).
    has_onset: bool,
    /// Every entry, the onset at index 0 (an empty stand-in when the archive has none).
    entries: Vec<Entry>,
    /// One past the central directory's last byte (where [`zipdir::header_at`] finds an entry's header again).
    dir_end: usize,
    /// Per block of [`BLOCK`] entries: set once the block is checked, to whether every entry of it is good. Its
    /// entries' `data_at`/`end` are written (relaxed) before it is set; `OnceLock` sets with release and reads with
    /// acquire, so a thread that sees it set sees them.
    blocks: Box<[OnceLock<bool>]>,
    /// How many block checks ran (each block's at most once).
    block_checks: AtomicUsize,
    /// Message indices sorted by key, built on the first [`LogArchive::iter_keys`].
    by_key: OnceLock<Vec<u32>>,
}

/// The source id in an archive's file name `{id}_log.npz`, if it has that form.
pub(crate) fn source_from_file_name(path: &Path) -> Option<u8> {
    let name = path.file_name()?.to_str()?;
    let id = name.strip_suffix(ARCHIVE_SUFFIX)?;
    if id.is_empty() || !id.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    id.parse().ok()
}

/// How [`LogArchive::index`] treats the first entry.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum OnsetCheck {
    /// seqring's rule: the first entry is an onset (timestamp 0, an 8-byte payload).
    Required,
    /// Verification of what ataraxis's rules assemble: the first entry is checked as any other, not interpreted.
    Unchecked,
    /// ataraxis's reader: an onset if the first entry has timestamp 0, else none; misnamed entries skipped.
    Optional,
}

/// The parts of a log entry's name, `.npy` required: the common `SSS_TTTTTTTTTTTTTTTTTTTT.npy` read directly, any
/// other form through [`EntryName::parse`].
#[inline(always)]
fn parse_name(name: &[u8]) -> Option<EntryName> {
    if let Some(n) = parse_plain_name(name) {
        return Some(n);
    }
    parse_other_name(name)
}

/// [`parse_name`] for a name not of the common form.
#[inline(never)]
fn parse_other_name(name: &[u8]) -> Option<EntryName> {
    std::str::from_utf8(name)
        .ok()
        .filter(|n| n.ends_with(".npy"))
        .and_then(EntryName::parse)
}

/// `SSS_TTTTTTTTTTTTTTTTTTTT.npy` (3 and 20 digits, no duplicate suffix), or `None` for any other form (which
/// [`EntryName::parse`] then reads, or refuses). Branch-light: the name is read as three 8-byte words (the `_` taken
/// for a `0`), whose 24 digits are checked together and read 8 at a time.
#[inline(always)]
fn parse_plain_name(name: &[u8]) -> Option<EntryName> {
    let name: &[u8; 28] = name.try_into().ok()?;
    let word = |at: usize| {
        let mut w = [0u8; 8];
        w.copy_from_slice(&name[at..at + 8]);
        u64::from_le_bytes(w)
    };
    if name[3] != b'_' || name[24..] != *b".npy" {
        return None;
    }
    // Byte k of a word is name[at + k]; the `_` (byte 3) becomes a `0`.
    let first = (word(0) & !(0xFF << 24)) | (u64::from(b'0') << 24);
    let (mid, low) = (word(8), word(16));
    if !(all_digits(first) & all_digits(mid) & all_digits(low)) {
        return None;
    }
    // The source's 3 digits moved to the word's 3 least significant places (the bytes shifted in are 0: digit 0);
    // the timestamp's first 4 digits are already its 4 least significant places.
    let source = u8::try_from(eight_digits(first << 40)).ok()?;
    let head = eight_digits(first & 0xFFFF_FFFF_0000_0000);
    let timestamp = head
        .checked_mul(10u64.pow(16))?
        .checked_add(eight_digits(mid) * 100_000_000 + eight_digits(low))?;
    Some(EntryName {
        source_id: source,
        timestamp,
        duplicate: 0,
    })
}

/// Whether all 8 bytes of `w` are ASCII digits.
#[inline]
fn all_digits(w: u64) -> bool {
    // A digit is 0..=9 after the xor; adding 0x76 sets a byte's top bit exactly when it is 10..=0x7F, and a byte of
    // 0x80 or more has the top bit already. A carry out of a byte needs a byte of 0x8A or more: already refused.
    let x = w ^ 0x3030_3030_3030_3030;
    (x.wrapping_add(0x7676_7676_7676_7676) | x) & 0x8080_8080_8080_8080 == 0
}

/// The value of the 8 ASCII digits of `w` (checked to be digits by the caller; a 0 byte reads as digit 0), byte 0
/// the most significant.
#[inline]
fn eight_digits(w: u64) -> u64 {
    // SWAR: pairs, then quads, then the 8 (each step multiplies neighbouring lanes by 10, 100, 10^4 and adds).
    let v = w & 0x0F0F_0F0F_0F0F_0F0F;
    let v = (v.wrapping_mul(10) + (v >> 8)) & 0x00FF_00FF_00FF_00FF;
    let v = (v.wrapping_mul(100) + (v >> 16)) & 0x0000_FFFF_0000_FFFF;
    (v.wrapping_mul(10_000) + (v >> 32)) & 0xFFFF_FFFF
}

/// Whether `a == b`, compared 8 bytes at a time without a call (the names and npy headers compared per entry are
/// short).
#[inline]
pub(super) fn same_bytes(a: &[u8], b: &[u8]) -> bool {
    if a.len() != b.len() {
        return false;
    }
    let (wa, ta) = a.split_at(a.len() - a.len() % 8);
    let (wb, tb) = b.split_at(wa.len());
    let words = wa.chunks_exact(8).zip(wb.chunks_exact(8)).fold(0u64, |acc, (x, y)| {
        acc | (u64::from_le_bytes(x.try_into().unwrap_or_default())
            ^ u64::from_le_bytes(y.try_into().unwrap_or_default()))
    });
    words == 0 && ta.iter().zip(tb).fold(true, |ok, (x, y)| ok & (x == y))
}

/// Whether two npy headers of the canonical length are equal: 16 words xored and ored, unrolled (no call, no branch
/// per word).
#[inline]
fn same_header(a: &[u8; U8_VECTOR_HEADER_LEN], b: &[u8; U8_VECTOR_HEADER_LEN]) -> bool {
    let mut diff = 0u64;
    for (x, y) in a.chunks_exact(8).zip(b.chunks_exact(8)) {
        let (mut wx, mut wy) = ([0u8; 8], [0u8; 8]);
        wx.copy_from_slice(x);
        wy.copy_from_slice(y);
        diff |= u64::from_le_bytes(wx) ^ u64::from_le_bytes(wy);
    }
    diff == 0
}

/// The npy check of every entry, with the canonical header of the last data length kept: messages of one source
/// mostly have one length, so most entries are checked by one comparison with no header built.
#[derive(Clone, Default)]
struct NpyCheck {
    last: Option<(usize, [u8; U8_VECTOR_HEADER_LEN])>,
}

impl NpyCheck {
    /// As [`u8_vector_data`]. The common case (the length of the last entry, the canonical header) inline, the
    /// rest out of line.
    #[inline(always)]
    fn data(&mut self, array: &[u8]) -> Result<Range<usize>, NpyError> {
        if let (Some((len, header)), Some(found)) = (&self.last, array.first_chunk::<U8_VECTOR_HEADER_LEN>()) {
            // `first_chunk` found at least the header's length.
            if *len == array.len() - U8_VECTOR_HEADER_LEN && same_header(found, header) {
                return Ok(U8_VECTOR_HEADER_LEN..array.len());
            }
        }
        self.data_other(array)
    }

    /// [`data`](Self::data) for an array whose length differs from the last one's, or whose header is not the
    /// canonical one.
    #[inline(never)]
    fn data_other(&mut self, array: &[u8]) -> Result<Range<usize>, NpyError> {
        if let Some(n) = array.len().checked_sub(U8_VECTOR_HEADER_LEN) {
            let header = match &self.last {
                Some((len, header)) if *len == n => header,
                _ => &self.last.insert((n, u8_vector_header(n as u64))).1,
            };
            if let Some(found) = array.first_chunk::<U8_VECTOR_HEADER_LEN>() {
                if same_header(found, header) {
                    return Ok(U8_VECTOR_HEADER_LEN..array.len());
                }
            }
        }
        u8_vector_data(array)
    }
}

/// Archives with at least this many entries, checked whole at open, have their directory walked by two threads, one
/// half each.
const PARALLEL_CHECK_MIN: usize = 1 << 16;

/// Entries per block of the check on first access: the first access to any entry of a block checks the whole block,
/// once (about 10–15 µs for a block of small entries).
pub(crate) const BLOCK: usize = 256;

/// Blocks checked at once (in parallel) by an iteration that reaches an unchecked block: it and the next ones in
/// its direction, within its range.
const AHEAD: usize = 16;

/// What [`LogArchive::walk`] found: the index, the source, the onset and whether there is one, and where the
/// central directory ends.
struct Walked {
    entries: Vec<Entry>,
    source_id: u8,
    onset_us: u64,
    has_onset: bool,
    dir_end: usize,
}

/// What checking one entry at open gives: the entry, or a stand-in for a missing optional onset and then the entry.
enum Checked {
    One(Entry),
    Two(Entry, Entry),
}

/// The checks of [`LogArchive::index`] (the directory, and the first entry whole), and what the first entry fixed.
#[derive(Clone)]
struct Checker<'a> {
    data: &'a [u8],
    path: &'a Path,
    check: OnsetCheck,
    /// Every entry is checked whole now ([`located`]), not on first access.
    eager: bool,
    npy: NpyCheck,
    source_id: Option<u8>,
    onset_us: u64,
    has_onset: bool,
    /// No entry has been checked yet.
    first: bool,
    /// A deflated member was met (the walk stopped there).
    deflated: bool,
}

impl<'a> Checker<'a> {
    /// [`located`] for an entry of this archive: checks its local header and data now, fixing the source at the
    /// first entry.
    #[inline]
    fn locate(
        &mut self,
        central: &zipdir::Central<'_>,
        parsed: &EntryName,
        index: usize,
    ) -> Result<(usize, usize), ArchiveError> {
        located(
            self.data,
            self.path,
            central,
            parsed,
            &mut self.source_id,
            &mut self.npy,
            index,
        )
    }

    /// Checks the entry of `central` (a directory error is the zip's) and appends it to `entries`.
    #[inline]
    fn push(
        &mut self,
        entries: &mut Vec<Entry>,
        central: Result<zipdir::Central<'a>, zip::result::ZipError>,
        index: usize,
    ) -> Result<(), ArchiveError> {
        let central = central.map_err(|source| ArchiveError::Zip {
            path: self.path.to_path_buf(),
            source,
        })?;
        match self.entry(&central, index)? {
            None => {}
            Some(Checked::One(e)) => entries.push(e),
            Some(Checked::Two(a, b)) => entries.extend([a, b]),
        }
        Ok(())
    }

    /// Checks the rest of `headers` in two halves at once, appending to `entries` and exhausting `headers`. The
    /// second half starts at the first central signature past the middle of what is left; the first half must end
    /// exactly there. If it does not (a signature inside a name), or either half meets an error, nothing is appended
    /// and `headers` is left as it was, for the sequential check to find the first error in order.
    fn check_halves(
        &mut self,
        entries: &mut Vec<Entry>,
        headers: &mut zipdir::Centrals<'a>,
    ) -> Result<(), ArchiveError> {
        let Some((mut first, mut second)) = headers.split() else {
            return Ok(());
        };
        let mid = second.position();
        let before = entries.len();
        let mut b = self.clone();
        // The second half's share of the entries, by bytes of directory: a close guess at its capacity.
        // (u128: the product of a count and a byte length may pass u64; the quotient is at most the count.)
        let share = (headers.left() as u128 * (headers.end() - mid) as u128
            / (headers.end() - headers.position()).max(1) as u128) as usize;
        let (done_a, done_b) = rayon::join(
            || {
                while first.position() < mid {
                    let Some(central) = first.next_header() else { break };
                    self.push(entries, central, 0).ok()?;
                }
                (first.position() == mid).then_some(first.left())
            },
            || {
                let mut out = Vec::with_capacity(share + 1);
                while let Some(central) = second.next_header() {
                    b.push(&mut out, central, 0).ok()?;
                }
                Some((out, second.parsed()))
            },
        );
        // The sequential walk would parse exactly `left_a` more headers after the first half.
        match (done_a, done_b) {
            (Some(left_a), Some((mut out_b, parsed_b))) if parsed_b == left_a => entries.append(&mut out_b),
            _ => {
                entries.truncate(before);
                return Ok(());
            }
        }
        headers.exhaust();
        Ok(())
    }

    /// Checks one entry at open; `None` for an entry skipped under [`OnsetCheck::Optional`]. Every entry's central
    /// header is checked here (stored, not encrypted, equal sizes, a log entry's name of the archive's source whose
    /// elapsed time does not overflow the onset); the first entry (or its stand-in, when an optional onset is
    /// missing) is also checked whole ([`located`]) and fixes the source and the onset. The other entries' local
    /// headers and data are checked on first access ([`LogArchive::check_block`]). `index` is the entry's position,
    /// for errors about an entry whose name is not UTF-8.
    #[inline]
    fn entry(&mut self, central: &zipdir::Central<'a>, index: usize) -> Result<Option<Checked>, ArchiveError> {
        let name_raw = central.name;
        let entry = || shown(name_raw);
        if central.flags & 1 != 0 {
            return Err(ArchiveError::NotStored {
                path: self.path.to_path_buf(),
                entry: entry(),
                what: "encrypted".into(),
            });
        }
        if central.method != 0 {
            // A deflated member sends the whole archive through `inflate` (see `index`); the error stops this walk.
            self.deflated |= central.method == super::npz::METHOD_DEFLATED;
            return Err(ArchiveError::NotStored {
                path: self.path.to_path_buf(),
                entry: entry(),
                what: format!("compressed (method {})", central.method),
            });
        }
        if central.compressed_size != central.size {
            return Err(ArchiveError::HeaderMismatch {
                path: self.path.to_path_buf(),
                entry: entry(),
                what: "a stored entry's compressed and uncompressed sizes differ",
            });
        }
        let Some(parsed) = parse_name(name_raw) else {
            if self.check == OnsetCheck::Optional {
                return Ok(None); // ataraxis's reader skips keys that name no log entry
            }
            return Err(ArchiveError::BadName {
                path: self.path.to_path_buf(),
                entry: entry(),
            });
        };
        if !self.first {
            // The first entry fixed the source (`located` below).
            let expected = self.source_id.unwrap_or(parsed.source_id);
            if parsed.source_id != expected {
                return Err(ArchiveError::SourceMismatch {
                    path: self.path.to_path_buf(),
                    entry: entry(),
                    expected,
                    found: parsed.source_id,
                });
            }
            if self.onset_us.checked_add(parsed.timestamp).is_none() {
                return Err(ArchiveError::TimestampOverflow {
                    path: self.path.to_path_buf(),
                    entry: entry(),
                });
            }
            if !self.eager {
                return Ok(Some(Checked::One(Entry::unchecked(
                    central.at,
                    parsed.timestamp,
                    central.local_at,
                    central.size,
                ))));
            }
            let (data_at, end) = self.locate(central, &parsed, index)?;
            return Ok(Some(Checked::One(Entry::checked(
                central.at,
                parsed.timestamp,
                data_at,
                end,
            ))));
        }
        let (data_at, end) = self.locate(central, &parsed, index)?;
        let ts = parsed.timestamp; // `located` checked that the data holds the same
        let content = &self.data[data_at..end];
        self.first = false;
        let checked = Entry::checked(central.at, ts, data_at, end);
        match self.check {
            // Not interpreted: the onset stays 0.
            OnsetCheck::Unchecked => {}
            // No onset entry: an empty stand-in takes index 0, and every entry is a message.
            OnsetCheck::Optional if ts != ONSET_TIMESTAMP => {
                self.has_onset = false;
                return Ok(Some(Checked::Two(Entry::stand_in(), checked)));
            }
            OnsetCheck::Required if ts != ONSET_TIMESTAMP => {
                return Err(ArchiveError::MissingOnset {
                    path: self.path.to_path_buf(),
                    reason: format!("its first entry '{}' has timestamp {ts}, not 0", entry()),
                });
            }
            OnsetCheck::Required | OnsetCheck::Optional => {
                let Ok(onset) = <[u8; 8]>::try_from(&content[9..]) else {
                    return Err(ArchiveError::BadOnset {
                        path: self.path.to_path_buf(),
                        entry: entry(),
                        len: (content.len() - 9) as u64,
                    });
                };
                self.onset_us = u64::from_le_bytes(onset);
            }
        }
        Ok(Some(Checked::One(checked)))
    }
}

/// Checks an entry's local header and data against its central header (checked at open) and parsed name
/// ([`check_data`]), as an [`ArchiveError`] naming the entry. Gives where the array data `[source][timestamp][payload]`
/// starts and ends. `index` is the entry's position, for errors about an entry whose name is not UTF-8.
#[inline]
fn located(
    data: &[u8],
    path: &Path,
    central: &zipdir::Central<'_>,
    parsed: &EntryName,
    source: &mut Option<u8>,
    npy: &mut NpyCheck,
    index: usize,
) -> Result<(usize, usize), ArchiveError> {
    check_data(data, central.local_at, central.size, central.name, parsed, source, npy)
        .map_err(|fault| fault.error(data.len(), path, central.name, parsed.timestamp, index))
}

/// Why an entry failed [`check_data`]: the [`ArchiveError`] it becomes, less the path and the entry's name, which are
/// built only for an error handed out ([`Fault::error`]), so the checks on the way build no strings.
#[derive(Debug)]
enum Fault {
    /// No whole local header where the central header points.
    Local(zip::result::ZipError),
    /// The local header's name is not the central header's.
    NameDiffers,
    /// The stored bytes end here, past the end of the file.
    ExceedsFile(u64),
    /// The stored bytes are not a 1-D `uint8` npy array.
    NotNpy(NpyError),
    /// The array data is this long, shorter than 9 bytes.
    TooShort(u64),
    /// A source (the name's or the data's) that is not the archive's.
    Source { expected: u8, found: u8 },
    /// The data's timestamp, which is not the name's.
    Timestamp(u64),
}

impl Fault {
    /// The error naming the entry `name` (at `index`, named with timestamp `named`) of the archive at `path`, whose
    /// bytes are `len` long.
    #[cold]
    #[inline(never)]
    fn error(self, len: usize, path: &Path, name: &[u8], named: u64, index: usize) -> ArchiveError {
        let path = path.to_path_buf();
        let entry = shown(name);
        match self {
            Fault::Local(source) => ArchiveError::ZipEntry {
                path,
                entry: std::str::from_utf8(name)
                    .map_or_else(|_| format!("#{index}"), |n| n.chars().take(200).collect()),
                source,
            },
            Fault::NameDiffers => ArchiveError::HeaderMismatch {
                path,
                entry,
                what: "the local file name differs",
            },
            Fault::ExceedsFile(end) => ArchiveError::ExceedsFile {
                path,
                entry,
                end,
                len: len as u64,
            },
            Fault::NotNpy(source) => ArchiveError::NotNpy { path, entry, source },
            Fault::TooShort(len) => ArchiveError::TooShort { path, entry, len },
            Fault::Source { expected, found } => ArchiveError::SourceMismatch {
                path,
                entry,
                expected,
                found,
            },
            Fault::Timestamp(stored) => ArchiveError::TimestampMismatch {
                path,
                entry,
                named,
                stored,
            },
        }
    }
}

/// Checks an entry's local header and data, given what its central header (checked at open) says: the local header
/// at `local_at`, whole, inside the file, with the central `name`; the `size` stored bytes inside the file, a 1-D
/// `uint8` npy array of at least 9 bytes, whose source byte is the archive's (`source`, which the first entry fixes
/// when it is `None`) as is the name's (`parsed`), and whose timestamp is the name's. Gives where the array data
/// `[source][timestamp][payload]` starts and ends. The checks run in this order, so an entry with several faults
/// gives the first.
#[inline(always)]
fn check_data(
    data: &[u8],
    local_at: u64,
    size: u64,
    name: &[u8],
    parsed: &EntryName,
    source: &mut Option<u8>,
    npy: &mut NpyCheck,
) -> Result<(usize, usize), Fault> {
    let start = match zipdir::local_of(data, local_at, name) {
        Ok((_, start)) => start,
        Err(zipdir::LocalError::Bad(source)) => return Err(Fault::Local(source)),
        Err(zipdir::LocalError::NameDiffers) => return Err(Fault::NameDiffers),
    };
    let Some(end) = (start as u64).checked_add(size).filter(|&e| e <= data.len() as u64) else {
        return Err(Fault::ExceedsFile((start as u64).saturating_add(size)));
    };
    let end = end as usize;
    let array = &data[start..end];
    let range = npy.data(array).map_err(Fault::NotNpy)?;
    let content = &array[range.clone()];
    if content.len() < 9 {
        return Err(Fault::TooShort(content.len() as u64));
    }
    let expected = *source.get_or_insert(content[0]);
    if parsed.source_id != expected {
        return Err(Fault::Source {
            expected,
            found: parsed.source_id,
        });
    }
    if content[0] != expected {
        return Err(Fault::Source {
            expected,
            found: content[0],
        });
    }
    let mut ts = [0u8; 8];
    ts.copy_from_slice(&content[1..9]);
    let ts = u64::from_le_bytes(ts);
    if ts != parsed.timestamp {
        return Err(Fault::Timestamp(ts));
    }
    Ok((start + range.start, end))
}

/// A name for error messages: lossy, and at most 200 characters.
fn shown(name: &[u8]) -> String {
    String::from_utf8_lossy(name).chars().take(200).collect()
}

impl LogArchive {
    /// Memory-maps the archive at `path` and checks its directory (every central header, and the onset entry
    /// whole); every other entry is checked the first time it, or another entry of its block, is asked for, and
    /// gives its error then (see the module docs; [`open_verified`](Self::open_verified) checks all of them now).
    /// The archive's source is the id in its file name (`{id}_log.npz`), or else the onset entry's.
    ///
    /// # Errors
    /// [`ArchiveError::Io`] if the file cannot be opened or mapped, and an error naming the entry for a malformed
    /// directory, name or onset (see [`ArchiveError`]).
    ///
    /// # Examples
    /// ```
    /// # use seqring::archive::{assemble_log_archives, AssembleOptions};
    /// # use seqring::logger::DataLogger;
    /// # let dir = tempfile::tempdir().unwrap();
    /// # let name = format!("doc-archive-open-{}", std::process::id());
    /// # let logger = DataLogger::builder(dir.path(), &name).start().unwrap();
    /// # let source = logger.producer(7).unwrap();
    /// # for (t, frame) in [(1_000, &b"frame 1"[..]), (2_000, b"frame 2"), (3_000, b"frame 3")] {
    /// #     source.log_at(t, frame).unwrap();
    /// # }
    /// # let log_dir = logger.stop().unwrap().log_dir;
    /// # assemble_log_archives(&log_dir, &AssembleOptions::default()).unwrap();
    /// use seqring::archive::LogArchive;
    /// // an archive of three frames, logged 1, 2 and 3 ms after source 7's onset
    /// let archive = LogArchive::open(log_dir.join("7_log.npz")).unwrap();
    /// assert_eq!((archive.source_id(), archive.message_count()), (7, 3));
    /// assert!(LogArchive::open(log_dir.join("8_log.npz")).is_err(), "no such file");
    /// ```
    pub fn open(path: impl AsRef<Path>) -> Result<Self, ArchiveError> {
        let path = path.as_ref();
        Self::open_as(path, source_from_file_name(path))
    }

    /// [`open`](Self::open) with every entry checked before this returns, so no access fails later: one pass over
    /// the directory and the entries together (the directory in two halves at once for a large archive), cheaper
    /// than [`open`](Self::open) and then [`verify_all`](Self::verify_all), which walk the directory twice.
    ///
    /// # Errors
    /// As [`open`](Self::open), and every kind of malformed entry (see [`ArchiveError`]).
    ///
    /// # Examples
    /// ```
    /// use seqring::archive::{ArchiveError, LogArchive};
    /// # let fixtures = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/fixtures/ataraxis-7.2.0");
    /// # if !fixtures.exists() { return Ok(()); }
    /// let archive = LogArchive::open_verified(fixtures.join("archives/7_log.npz"))?;
    /// assert!(archive.iter().all(|m| m.is_ok()));
    /// assert_eq!(archive.block_checks(), 0, "checked at open, not block by block");
    /// # Ok::<(), ArchiveError>(())
    /// ```
    pub fn open_verified(path: impl AsRef<Path>) -> Result<Self, ArchiveError> {
        let path = path.as_ref();
        Self::open_checked(path, source_from_file_name(path), OnsetCheck::Required, true)
    }

    pub(crate) fn open_as(path: &Path, source_id: Option<u8>) -> Result<Self, ArchiveError> {
        Self::open_checked(path, source_id, OnsetCheck::Required, false)
    }

    /// Opens an archive with ataraxis's reader's rules: an entry not named `SSS_TTTT….npy` is skipped, and an
    /// archive without an onset entry opens, its messages timed from an onset of 0 ([`has_onset`](Self::has_onset)
    /// is then `false`; give the onset yourself, as ataraxis's reader takes `onset_us`). Every other check stays.
    ///
    /// # Errors
    /// As [`open`](Self::open), less the naming and onset errors.
    ///
    /// # Examples
    /// ```
    /// # use seqring::archive::{assemble_log_archives, AssembleOptions};
    /// # use seqring::logger::DataLogger;
    /// # let dir = tempfile::tempdir().unwrap();
    /// # let name = format!("doc-archive-lenient-{}", std::process::id());
    /// # let logger = DataLogger::builder(dir.path(), &name).start().unwrap();
    /// # let source = logger.producer(7).unwrap();
    /// # for (t, frame) in [(1_000, &b"frame 1"[..]), (2_000, b"frame 2"), (3_000, b"frame 3")] {
    /// #     source.log_at(t, frame).unwrap();
    /// # }
    /// # let log_dir = logger.stop().unwrap().log_dir;
    /// # assemble_log_archives(&log_dir, &AssembleOptions::default()).unwrap();
    /// use seqring::archive::LogArchive;
    /// let archive = LogArchive::open_lenient(log_dir.join("7_log.npz")).unwrap();
    /// assert!(archive.has_onset()); // an archive seqring wrote always has one
    /// ```
    pub fn open_lenient(path: impl AsRef<Path>) -> Result<Self, ArchiveError> {
        let path = path.as_ref();
        Self::open_checked(path, source_from_file_name(path), OnsetCheck::Optional, false)
    }

    /// Whether the archive has an onset entry (always, unless opened by [`open_lenient`](Self::open_lenient)).
    ///
    /// # Examples
    /// ```
    /// # use seqring::archive::{assemble_log_archives, AssembleOptions};
    /// # use seqring::logger::DataLogger;
    /// # let dir = tempfile::tempdir().unwrap();
    /// # let name = format!("doc-archive-has-onset-{}", std::process::id());
    /// # let logger = DataLogger::builder(dir.path(), &name).start().unwrap();
    /// # let source = logger.producer(7).unwrap();
    /// # for (t, frame) in [(1_000, &b"frame 1"[..]), (2_000, b"frame 2"), (3_000, b"frame 3")] {
    /// #     source.log_at(t, frame).unwrap();
    /// # }
    /// # let log_dir = logger.stop().unwrap().log_dir;
    /// # assemble_log_archives(&log_dir, &AssembleOptions::default()).unwrap();
    /// use seqring::archive::LogArchive;
    /// // an archive of three frames, logged 1, 2 and 3 ms after source 7's onset
    /// let archive = LogArchive::open(log_dir.join("7_log.npz")).unwrap();
    /// assert!(archive.has_onset());
    /// ```
    pub fn has_onset(&self) -> bool {
        self.has_onset
    }

    /// Opens `path` with the onset rules `check`; with `eager`, every entry is checked now (as
    /// [`open_verified`](Self::open_verified)).
    pub(crate) fn open_checked(
        path: &Path,
        source_id: Option<u8>,
        check: OnsetCheck,
        eager: bool,
    ) -> Result<Self, ArchiveError> {
        let io = |source| ArchiveError::Io {
            path: path.to_path_buf(),
            source,
        };
        let not_a_file = || {
            io(std::io::Error::new(
                std::io::ErrorKind::IsADirectory,
                "is a directory, not a log archive (give one {source_id}_log.npz file)",
            ))
        };
        // Windows refuses to open a directory as a file (access denied): say what it is there too.
        let file = File::open(path).map_err(|e| if path.is_dir() { not_a_file() } else { io(e) })?;
        let meta = file.metadata().map_err(io)?;
        if meta.is_dir() {
            return Err(not_a_file());
        }
        let len = meta.len();
        let bytes = if len == 0 {
            Backing::Owned(Vec::new())
        } else {
            // Archives are replaced whole, never modified in place (the region layer's mapped-file contract); the
            // map lives as long as `self`, which every borrowed payload borrows.
            Backing::Map(ReadOnlyMap::of_file(&file).map_err(io)?)
        };
        Self::index(path.to_path_buf(), bytes, source_id, check, eager)
    }

    /// Indexes an archive held in memory, checked as [`open`](Self::open) checks a file. `name` is used in errors
    /// and, when it is `{id}_log.npz`, as the source id.
    ///
    /// # Errors
    /// As [`open`](Self::open), without the I/O errors.
    ///
    /// # Examples
    /// ```
    /// use seqring::archive::{LogArchive, ArchiveError};
    /// let err = LogArchive::from_bytes("1_log.npz", b"not a zip".to_vec()).unwrap_err();
    /// assert!(matches!(err, ArchiveError::Zip { .. }));
    /// assert!(err.to_string().starts_with("1_log.npz"));
    /// ```
    pub fn from_bytes(name: impl Into<PathBuf>, bytes: Vec<u8>) -> Result<Self, ArchiveError> {
        let path = name.into();
        let source_id = source_from_file_name(&path);
        Self::index(path, Backing::Owned(bytes), source_id, OnsetCheck::Required, false)
    }

    /// Indexes `bytes`; an archive with a deflated member is first inflated into the stored archive it stands for
    /// (`inflate`), held in memory, and that is indexed instead, every entry checked at once (its bytes were all
    /// just written, so the check costs little beside the inflation). With `eager`, every entry of a stored archive
    /// is checked at once too. The stored path pays nothing for this: the walk only notes a deflated member where it
    /// refused other methods anyway.
    fn index(
        path: PathBuf,
        bytes: Backing,
        expected: Option<u8>,
        check: OnsetCheck,
        eager: bool,
    ) -> Result<Self, ArchiveError> {
        let (walked, bytes, eager) = match Self::walk(&path, &bytes, expected, check, eager) {
            Ok(walked) => (walked, bytes, eager),
            Err((_, true)) => {
                let image = super::inflate::stored_image(&path, &bytes)?;
                drop(bytes);
                let image = Backing::Owned(image);
                (
                    Self::walk(&path, &image, expected, check, true).map_err(|(e, _)| *e)?,
                    image,
                    true,
                )
            }
            Err((e, false)) => return Err(*e),
        };
        let blocks = walked.entries.len().div_ceil(BLOCK);
        let archive = LogArchive {
            path,
            bytes,
            source_id: walked.source_id,
            onset_us: walked.onset_us,
            has_onset: walked.has_onset,
            entries: walked.entries,
            dir_end: walked.dir_end,
            // Eagerly checked: every block is checked and good.
            blocks: (0..blocks)
                .map(|_| if eager { OnceLock::from(true) } else { OnceLock::new() })
                .collect(),
            block_checks: AtomicUsize::new(0),
            by_key: OnceLock::new(),
        };
        Ok(archive)
    }

    /// Walks the directory of `data` and checks what open checks ([`Checker::entry`]). On an error, whether the walk met a deflated member (and stopped
    /// there). The error is boxed: the walk's result is moved on every open, and the error is the rare case.
    fn walk(
        path: &Path,
        data: &[u8],
        expected: Option<u8>,
        check: OnsetCheck,
        eager: bool,
    ) -> Result<Walked, (Box<ArchiveError>, bool)> {
        let mut checker = Checker {
            data,
            path,
            check,
            eager,
            npy: NpyCheck::default(),
            source_id: expected,
            onset_us: 0,
            has_onset: true,
            first: true,
            deflated: false,
        };
        let mut entries = Vec::new();
        let dir_end = match Self::walk_with(&mut checker, &mut entries, data) {
            Ok(dir_end) => dir_end,
            Err(e) => return Err((Box::new(e), checker.deflated)),
        };
        let Some(source_id) = checker.source_id.filter(|_| !entries.is_empty()) else {
            return Err((
                Box::new(ArchiveError::MissingOnset {
                    path: path.to_path_buf(),
                    reason: "it has no entries".into(),
                }),
                false,
            ));
        };
        Ok(Walked {
            entries,
            source_id,
            onset_us: checker.onset_us,
            has_onset: checker.has_onset,
            dir_end,
        })
    }

    /// The walk of [`walk`](Self::walk); gives the end of the central directory.
    fn walk_with<'a>(
        checker: &mut Checker<'a>,
        entries: &mut Vec<Entry>,
        data: &'a [u8],
    ) -> Result<usize, ArchiveError> {
        let dir = zipdir::directory(data).map_err(|source| ArchiveError::Zip {
            path: checker.path.to_path_buf(),
            source,
        })?;
        // `directory` checked that the central directory holds `count` headers of at least 46 bytes each.
        entries.reserve_exact(dir.count);
        let mut headers = zipdir::Centrals::new(data, dir);
        // The first entry fixes the source and the onset; after it, each entry is checked on its own, so a large
        // directory is checked in two halves at once.
        while checker.first {
            let Some(central) = headers.next_header() else { break };
            checker.push(entries, central, headers.parsed() - 1)?;
        }
        // Only a walk that checks every entry gains from two threads: the directory alone (about 50 ns an entry)
        // took longer in two halves than in one on two idle cores (docs/BENCHMARKS.md, issue 24).
        if checker.eager && headers.left() >= PARALLEL_CHECK_MIN {
            checker.check_halves(entries, &mut headers)?;
        }
        while let Some(central) = headers.next_header() {
            checker.push(entries, central, headers.parsed() - 1)?;
        }
        Ok(dir.end)
    }

    /// The archive's path (or the name given to [`from_bytes`](Self::from_bytes)).
    ///
    /// # Examples
    /// ```
    /// # use seqring::archive::{assemble_log_archives, AssembleOptions};
    /// # use seqring::logger::DataLogger;
    /// # let dir = tempfile::tempdir().unwrap();
    /// # let name = format!("doc-archive-path-{}", std::process::id());
    /// # let logger = DataLogger::builder(dir.path(), &name).start().unwrap();
    /// # let source = logger.producer(7).unwrap();
    /// # for (t, frame) in [(1_000, &b"frame 1"[..]), (2_000, b"frame 2"), (3_000, b"frame 3")] {
    /// #     source.log_at(t, frame).unwrap();
    /// # }
    /// # let log_dir = logger.stop().unwrap().log_dir;
    /// # assemble_log_archives(&log_dir, &AssembleOptions::default()).unwrap();
    /// use seqring::archive::LogArchive;
    /// // an archive of three frames, logged 1, 2 and 3 ms after source 7's onset
    /// let archive = LogArchive::open(log_dir.join("7_log.npz")).unwrap();
    /// assert_eq!(archive.path(), log_dir.join("7_log.npz"));
    /// ```
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The source whose messages the archive holds.
    ///
    /// # Examples
    /// ```
    /// # use seqring::archive::{assemble_log_archives, AssembleOptions};
    /// # use seqring::logger::DataLogger;
    /// # let dir = tempfile::tempdir().unwrap();
    /// # let name = format!("doc-archive-source-{}", std::process::id());
    /// # let logger = DataLogger::builder(dir.path(), &name).start().unwrap();
    /// # let source = logger.producer(7).unwrap();
    /// # for (t, frame) in [(1_000, &b"frame 1"[..]), (2_000, b"frame 2"), (3_000, b"frame 3")] {
    /// #     source.log_at(t, frame).unwrap();
    /// # }
    /// # let log_dir = logger.stop().unwrap().log_dir;
    /// # assemble_log_archives(&log_dir, &AssembleOptions::default()).unwrap();
    /// use seqring::archive::LogArchive;
    /// // an archive of three frames, logged 1, 2 and 3 ms after source 7's onset
    /// let archive = LogArchive::open(log_dir.join("7_log.npz")).unwrap();
    /// assert_eq!(archive.source_id(), 7);
    /// ```
    pub fn source_id(&self) -> u8 {
        self.source_id
    }

    /// The source's onset, µs since the UNIX epoch.
    ///
    /// # Examples
    /// ```
    /// # use seqring::archive::{assemble_log_archives, AssembleOptions};
    /// # use seqring::logger::DataLogger;
    /// # let dir = tempfile::tempdir().unwrap();
    /// # let name = format!("doc-archive-onset-{}", std::process::id());
    /// # let logger = DataLogger::builder(dir.path(), &name).start().unwrap();
    /// # let source = logger.producer(7).unwrap();
    /// # for (t, frame) in [(1_000, &b"frame 1"[..]), (2_000, b"frame 2"), (3_000, b"frame 3")] {
    /// #     source.log_at(t, frame).unwrap();
    /// # }
    /// # let log_dir = logger.stop().unwrap().log_dir;
    /// # assemble_log_archives(&log_dir, &AssembleOptions::default()).unwrap();
    /// use seqring::archive::LogArchive;
    /// // an archive of three frames, logged 1, 2 and 3 ms after source 7's onset
    /// let archive = LogArchive::open(log_dir.join("7_log.npz")).unwrap();
    /// let first = archive.get(0).unwrap();
    /// assert_eq!(first.timestamp_us - archive.onset_us(), 1_000);
    /// ```
    pub fn onset_us(&self) -> u64 {
        self.onset_us
    }

    /// The number of messages, the onset excluded.
    ///
    /// # Examples
    /// ```
    /// # use seqring::archive::{assemble_log_archives, AssembleOptions};
    /// # use seqring::logger::DataLogger;
    /// # let dir = tempfile::tempdir().unwrap();
    /// # let name = format!("doc-archive-messages-{}", std::process::id());
    /// # let logger = DataLogger::builder(dir.path(), &name).start().unwrap();
    /// # let source = logger.producer(7).unwrap();
    /// # for (t, frame) in [(1_000, &b"frame 1"[..]), (2_000, b"frame 2"), (3_000, b"frame 3")] {
    /// #     source.log_at(t, frame).unwrap();
    /// # }
    /// # let log_dir = logger.stop().unwrap().log_dir;
    /// # assemble_log_archives(&log_dir, &AssembleOptions::default()).unwrap();
    /// use seqring::archive::LogArchive;
    /// // an archive of three frames, logged 1, 2 and 3 ms after source 7's onset
    /// let archive = LogArchive::open(log_dir.join("7_log.npz")).unwrap();
    /// assert_eq!(archive.message_count(), 3);
    /// ```
    pub fn message_count(&self) -> usize {
        self.entries.len() - 1
    }

    /// The number of entries, the onset included.
    ///
    /// # Examples
    /// ```
    /// # use seqring::archive::{assemble_log_archives, AssembleOptions};
    /// # use seqring::logger::DataLogger;
    /// # let dir = tempfile::tempdir().unwrap();
    /// # let name = format!("doc-archive-entries-{}", std::process::id());
    /// # let logger = DataLogger::builder(dir.path(), &name).start().unwrap();
    /// # let source = logger.producer(7).unwrap();
    /// # for (t, frame) in [(1_000, &b"frame 1"[..]), (2_000, b"frame 2"), (3_000, b"frame 3")] {
    /// #     source.log_at(t, frame).unwrap();
    /// # }
    /// # let log_dir = logger.stop().unwrap().log_dir;
    /// # assemble_log_archives(&log_dir, &AssembleOptions::default()).unwrap();
    /// use seqring::archive::LogArchive;
    /// // an archive of three frames, logged 1, 2 and 3 ms after source 7's onset
    /// let archive = LogArchive::open(log_dir.join("7_log.npz")).unwrap();
    /// assert_eq!(archive.entry_count(), 4); // the onset and three frames
    /// ```
    pub fn entry_count(&self) -> usize {
        self.entries.len()
    }

    /// How many blocks of entries have been checked so far (each block of [`BLOCK`](Self::BLOCK) entries is checked
    /// once, on the first access to any of its entries, or by [`verify_all`](Self::verify_all)). For tests and
    /// measurements.
    ///
    /// # Examples
    /// ```
    /// # use seqring::archive::{assemble_log_archives, AssembleOptions};
    /// # use seqring::logger::DataLogger;
    /// # let dir = tempfile::tempdir().unwrap();
    /// # let name = format!("doc-archive-block-checks-{}", std::process::id());
    /// # let logger = DataLogger::builder(dir.path(), &name).start().unwrap();
    /// # let source = logger.producer(7).unwrap();
    /// # for (t, frame) in [(1_000, &b"frame 1"[..]), (2_000, b"frame 2"), (3_000, b"frame 3")] {
    /// #     source.log_at(t, frame).unwrap();
    /// # }
    /// # let log_dir = logger.stop().unwrap().log_dir;
    /// # assemble_log_archives(&log_dir, &AssembleOptions::default()).unwrap();
    /// use seqring::archive::LogArchive;
    /// // an archive of three frames: one block
    /// let archive = LogArchive::open(log_dir.join("7_log.npz")).unwrap();
    /// assert_eq!(archive.block_checks(), 0);
    /// archive.get(2).unwrap();
    /// archive.get(0).unwrap();
    /// assert_eq!(archive.block_checks(), 1);
    /// ```
    pub fn block_checks(&self) -> usize {
        self.block_checks.load(Relaxed)
    }

    /// Entries per block of the check on first access.
    pub const BLOCK: usize = BLOCK;

    /// Checks every entry not yet checked, in parallel, so that every later access succeeds: the guarantee
    /// [`open`](Self::open) gave before entries were checked on first access. (CRCs are not checked: see
    /// [`check_crcs`](Self::check_crcs).)
    ///
    /// # Errors
    /// The error of the first bad entry in archive order (see [`ArchiveError`]).
    ///
    /// # Examples
    /// ```
    /// # use seqring::archive::{assemble_log_archives, AssembleOptions};
    /// # use seqring::logger::DataLogger;
    /// # let dir = tempfile::tempdir().unwrap();
    /// # let name = format!("doc-archive-verify-all-{}", std::process::id());
    /// # let logger = DataLogger::builder(dir.path(), &name).start().unwrap();
    /// # let source = logger.producer(7).unwrap();
    /// # for (t, frame) in [(1_000, &b"frame 1"[..]), (2_000, b"frame 2"), (3_000, b"frame 3")] {
    /// #     source.log_at(t, frame).unwrap();
    /// # }
    /// # let log_dir = logger.stop().unwrap().log_dir;
    /// # assemble_log_archives(&log_dir, &AssembleOptions::default()).unwrap();
    /// use seqring::archive::LogArchive;
    /// let archive = LogArchive::open(log_dir.join("7_log.npz")).unwrap();
    /// archive.verify_all().unwrap();
    /// assert_eq!(archive.block_checks(), 1);
    /// ```
    pub fn verify_all(&self) -> Result<(), ArchiveError> {
        use rayon::prelude::*;
        self.blocks
            .par_iter()
            .enumerate()
            .with_min_len(4)
            .for_each(|(b, block)| {
                block.get_or_init(|| self.check_block(b));
            });
        for (b, block) in self.blocks.iter().enumerate() {
            if !*block.get_or_init(|| self.check_block(b)) {
                for i in b * BLOCK..((b + 1) * BLOCK).min(self.entries.len()) {
                    if i > 0 || self.has_onset {
                        self.locate(i)?;
                    }
                }
            }
        }
        Ok(())
    }

    /// Checks block `b`: every entry of it but the archive's first entry (checked at open), from what open kept of
    /// its central header (no header parsed again), recording where each good entry's data lies and 0 for a bad one
    /// (whose error [`check_entry`](Self::check_entry) gives); whether all were good. Called only from the block's
    /// `OnceLock`.
    #[cold]
    fn check_block(&self, b: usize) -> bool {
        self.block_checks.fetch_add(1, Relaxed);
        let mut npy = NpyCheck::default();
        let mut source = Some(self.source_id);
        let mut good = true;
        // The first entry checked at open: the onset, or the entry after a missing optional onset's stand-in.
        let first = if self.has_onset { 1 } else { 2 };
        let range = (b * BLOCK).max(first)..((b + 1) * BLOCK).min(self.entries.len());
        for e in self.entries.get(range).unwrap_or_default() {
            // Relaxed: written at open, before `self` could be shared, and rewritten only here, inside the block's
            // `OnceLock`; readers read them only once it is set (release here, acquire there).
            let (local_at, size) = (e.data_at.load(Relaxed), e.end.load(Relaxed));
            // The name's source was checked to be the archive's at open.
            let parsed = EntryName {
                source_id: self.source_id,
                timestamp: e.ts,
                duplicate: 0,
            };
            let name = self.central_name(e.central_at);
            let (data_at, end) = check_data(
                &self.bytes,
                local_at as u64,
                size as u64,
                name,
                &parsed,
                &mut source,
                &mut npy,
            )
            .unwrap_or((0, 0));
            good &= data_at != 0;
            e.end.store(end, Relaxed);
            e.data_at.store(data_at, Relaxed);
        }
        good
    }

    /// Checks the blocks in `blocks` not yet checked, in parallel.
    fn check_blocks(&self, blocks: Range<usize>) {
        use rayon::prelude::*;
        if blocks.len() == 1 {
            self.blocks[blocks.start].get_or_init(|| self.check_block(blocks.start));
            return;
        }
        let start = blocks.start;
        self.blocks[blocks].par_iter().enumerate().for_each(|(k, block)| {
            block.get_or_init(|| self.check_block(start + k));
        });
    }

    /// Checks entry `i`'s local header and data ([`located`]) from its central header, parsed again: where its array
    /// data lies, or its error (the path of an entry that failed [`check_block`](Self::check_block)).
    fn check_entry(&self, i: usize, npy: &mut NpyCheck) -> Result<(usize, usize), ArchiveError> {
        let e = &self.entries[i];
        let central =
            zipdir::header_at(&self.bytes, e.central_at, self.dir_end).map_err(|source| ArchiveError::Zip {
                path: self.path.clone(),
                source,
            })?;
        // Parsed at open (the entry would not be in the index otherwise).
        let Some(parsed) = parse_name(central.name) else {
            return Err(ArchiveError::BadName {
                path: self.path.clone(),
                entry: shown(central.name),
            });
        };
        located(
            &self.bytes,
            &self.path,
            &central,
            &parsed,
            &mut Some(self.source_id),
            npy,
            i,
        )
    }

    /// Where entry `i`'s array data `[source][timestamp][payload]` lies, its block checked first if it was not.
    ///
    /// # Errors
    /// The entry's error if it failed its check.
    #[inline]
    fn locate(&self, i: usize) -> Result<(usize, usize), ArchiveError> {
        match self.located_fast(i) {
            Some(found) => Ok(found),
            None => self.locate_slow(i),
        }
    }

    /// Where entry `i`'s array data lies if its block is checked and all good (no branch on the entry itself, so a
    /// loop over entries keeps several loads of the index in flight); `None` otherwise.
    #[inline]
    fn located_fast(&self, i: usize) -> Option<(usize, usize)> {
        if self.blocks[i / BLOCK].get() != Some(&true) {
            return None;
        }
        let e = &self.entries[i];
        // Relaxed: written before the block's `OnceLock` was set, which `get` observed (acquire).
        Some((e.data_at.load(Relaxed), e.end.load(Relaxed)))
    }

    /// [`locate`](Self::locate) for an entry whose block is unchecked or holds a bad entry.
    #[cold]
    #[inline(never)]
    fn locate_slow(&self, i: usize) -> Result<(usize, usize), ArchiveError> {
        let b = i / BLOCK;
        self.blocks[b].get_or_init(|| self.check_block(b));
        let e = &self.entries[i];
        // Relaxed: written before the block's `OnceLock` was set, which `get_or_init` observed (acquire).
        let data_at = e.data_at.load(Relaxed);
        if data_at == 0 {
            // A bad entry (a good one's data follows its local header, so is never at 0): its check again, for its
            // error.
            return self.check_entry(i, &mut NpyCheck::default());
        }
        Ok((data_at, e.end.load(Relaxed)))
    }

    /// Entry `i` as a message (its entry checked first).
    #[inline]
    fn message(&self, i: usize) -> Result<LogMessage<'_>, ArchiveError> {
        let (data_at, end) = self.locate(i)?;
        Ok(self.message_at(i, data_at, end))
    }

    /// Entry `i`, whose array data is `data_at..end`, as a message.
    #[inline]
    fn message_at(&self, i: usize, data_at: usize, end: usize) -> LogMessage<'_> {
        LogMessage {
            source_id: self.source_id,
            // Checked not to overflow at open.
            timestamp_us: self.onset_us.wrapping_add(self.entries[i].ts),
            payload: &self.bytes[data_at + 9..end],
        }
    }

    /// Message entry `i` for an iteration over entries up to `last` (inclusive, in its direction): when `i`'s block is
    /// unchecked, it and up to [`AHEAD`] − 1 more blocks towards `last` are checked at once, in parallel.
    #[cold]
    #[inline(never)]
    fn message_ahead(&self, i: usize, last: usize) -> Result<LogMessage<'_>, ArchiveError> {
        let (b, to) = (i / BLOCK, last / BLOCK);
        if self.blocks[b].get().is_none() {
            if to >= b {
                self.check_blocks(b..(b + AHEAD).min(to + 1));
            } else {
                self.check_blocks(b.saturating_sub(AHEAD - 1).max(to)..b + 1);
            }
        }
        self.message(i)
    }

    /// The message at `index` (0 is the first message after the onset).
    ///
    /// # Errors
    /// [`ArchiveError::IndexOutOfRange`] if `index` is not below [`message_count`](Self::message_count), and the
    /// entry's error if it fails its check (see [`ArchiveError`]).
    ///
    /// # Examples
    /// ```
    /// # use seqring::archive::{assemble_log_archives, AssembleOptions};
    /// # use seqring::logger::DataLogger;
    /// # let dir = tempfile::tempdir().unwrap();
    /// # let name = format!("doc-archive-get-{}", std::process::id());
    /// # let logger = DataLogger::builder(dir.path(), &name).start().unwrap();
    /// # let source = logger.producer(7).unwrap();
    /// # for (t, frame) in [(1_000, &b"frame 1"[..]), (2_000, b"frame 2"), (3_000, b"frame 3")] {
    /// #     source.log_at(t, frame).unwrap();
    /// # }
    /// # let log_dir = logger.stop().unwrap().log_dir;
    /// # assemble_log_archives(&log_dir, &AssembleOptions::default()).unwrap();
    /// use seqring::archive::{ArchiveError, LogArchive};
    /// // an archive of three frames, logged 1, 2 and 3 ms after source 7's onset
    /// let archive = LogArchive::open(log_dir.join("7_log.npz")).unwrap();
    /// let second = archive.get(1)?;
    /// assert_eq!((second.source_id, second.payload), (7, &b"frame 2"[..]));
    /// assert!(matches!(archive.get(3), Err(ArchiveError::IndexOutOfRange { index: 3, count: 3, .. })));
    /// # Ok::<(), ArchiveError>(())
    /// ```
    pub fn get(&self, index: usize) -> Result<LogMessage<'_>, ArchiveError> {
        if index >= self.message_count() {
            return Err(ArchiveError::IndexOutOfRange {
                path: self.path.clone(),
                index,
                count: self.message_count(),
            });
        }
        self.message(index + 1)
    }

    /// Every message in archive order, the onset excluded; each is `Err` if its entry fails its check (the others
    /// still read).
    ///
    /// # Examples
    /// ```
    /// # use seqring::archive::{assemble_log_archives, AssembleOptions};
    /// # use seqring::logger::DataLogger;
    /// # let dir = tempfile::tempdir().unwrap();
    /// # let name = format!("doc-archive-iter-{}", std::process::id());
    /// # let logger = DataLogger::builder(dir.path(), &name).start().unwrap();
    /// # let source = logger.producer(7).unwrap();
    /// # for (t, frame) in [(1_000, &b"frame 1"[..]), (2_000, b"frame 2"), (3_000, b"frame 3")] {
    /// #     source.log_at(t, frame).unwrap();
    /// # }
    /// # let log_dir = logger.stop().unwrap().log_dir;
    /// # assemble_log_archives(&log_dir, &AssembleOptions::default()).unwrap();
    /// use seqring::archive::LogArchive;
    /// // an archive of three frames, logged 1, 2 and 3 ms after source 7's onset
    /// let archive = LogArchive::open(log_dir.join("7_log.npz")).unwrap();
    /// let payloads = archive.iter().map(|m| m.map(|m| m.payload)).collect::<Result<Vec<_>, _>>()?;
    /// assert_eq!(payloads, [&b"frame 1"[..], b"frame 2", b"frame 3"]);
    /// assert_eq!(archive.iter().rev().next().unwrap()?.payload, b"frame 3");
    /// # Ok::<(), seqring::archive::ArchiveError>(())
    /// ```
    pub fn iter(&self) -> Messages<'_> {
        Messages {
            archive: self,
            indices: 1..self.entries.len(),
        }
    }

    /// The messages with indices in `range`.
    ///
    /// # Panics
    /// If `range` is out of bounds of `0..message_count()`, as slice indexing does.
    ///
    /// # Examples
    /// ```
    /// # use seqring::archive::{assemble_log_archives, AssembleOptions};
    /// # use seqring::logger::DataLogger;
    /// # let dir = tempfile::tempdir().unwrap();
    /// # let name = format!("doc-archive-range-{}", std::process::id());
    /// # let logger = DataLogger::builder(dir.path(), &name).start().unwrap();
    /// # let source = logger.producer(7).unwrap();
    /// # for (t, frame) in [(1_000, &b"frame 1"[..]), (2_000, b"frame 2"), (3_000, b"frame 3")] {
    /// #     source.log_at(t, frame).unwrap();
    /// # }
    /// # let log_dir = logger.stop().unwrap().log_dir;
    /// # assemble_log_archives(&log_dir, &AssembleOptions::default()).unwrap();
    /// use seqring::archive::LogArchive;
    /// // an archive of three frames, logged 1, 2 and 3 ms after source 7's onset
    /// let archive = LogArchive::open(log_dir.join("7_log.npz")).unwrap();
    /// let tail: Vec<u64> = archive.iter_range(1..3).map(|m| m.unwrap().timestamp_us - archive.onset_us()).collect();
    /// assert_eq!(tail, [2_000, 3_000]);
    /// ```
    pub fn iter_range(&self, range: Range<usize>) -> Messages<'_> {
        let count = self.message_count();
        assert!(
            range.start <= range.end && range.end <= count,
            "range {range:?} out of bounds of 0..{count}"
        );
        Messages {
            archive: self,
            indices: range.start + 1..range.end + 1,
        }
    }

    /// The key of message `index`: its entry name without `.npy`, as numpy's `NpzFile.files` lists it.
    ///
    /// # Examples
    /// ```
    /// # use seqring::archive::{assemble_log_archives, AssembleOptions};
    /// # use seqring::logger::DataLogger;
    /// # let dir = tempfile::tempdir().unwrap();
    /// # let name = format!("doc-archive-key-{}", std::process::id());
    /// # let logger = DataLogger::builder(dir.path(), &name).start().unwrap();
    /// # let source = logger.producer(7).unwrap();
    /// # for (t, frame) in [(1_000, &b"frame 1"[..]), (2_000, b"frame 2"), (3_000, b"frame 3")] {
    /// #     source.log_at(t, frame).unwrap();
    /// # }
    /// # let log_dir = logger.stop().unwrap().log_dir;
    /// # assemble_log_archives(&log_dir, &AssembleOptions::default()).unwrap();
    /// use seqring::archive::LogArchive;
    /// // an archive of three frames, logged 1, 2 and 3 ms after source 7's onset
    /// let archive = LogArchive::open(log_dir.join("7_log.npz")).unwrap();
    /// let key = archive.key(0).unwrap();
    /// assert!(key.starts_with("007_") && !key.ends_with(".npy"), "{key}");
    /// assert_eq!(archive.key(3), None);
    /// ```
    pub fn key(&self, index: usize) -> Option<&str> {
        let i = index.checked_add(1).filter(|&i| i < self.entries.len())?;
        Some(self.name(i).trim_end_matches(".npy"))
    }

    /// The keys of every message, in archive order.
    ///
    /// # Examples
    /// ```
    /// # use seqring::archive::{assemble_log_archives, AssembleOptions};
    /// # use seqring::logger::DataLogger;
    /// # let dir = tempfile::tempdir().unwrap();
    /// # let name = format!("doc-archive-keys-{}", std::process::id());
    /// # let logger = DataLogger::builder(dir.path(), &name).start().unwrap();
    /// # let source = logger.producer(7).unwrap();
    /// # for (t, frame) in [(1_000, &b"frame 1"[..]), (2_000, b"frame 2"), (3_000, b"frame 3")] {
    /// #     source.log_at(t, frame).unwrap();
    /// # }
    /// # let log_dir = logger.stop().unwrap().log_dir;
    /// # assemble_log_archives(&log_dir, &AssembleOptions::default()).unwrap();
    /// use seqring::archive::LogArchive;
    /// // an archive of three frames, logged 1, 2 and 3 ms after source 7's onset
    /// let archive = LogArchive::open(log_dir.join("7_log.npz")).unwrap();
    /// let keys: Vec<&str> = archive.keys().collect();
    /// assert_eq!(keys.len(), 3);
    /// assert!(keys.windows(2).all(|k| k[0] < k[1]), "archive order is time order");
    /// ```
    pub fn keys(&self) -> impl ExactSizeIterator<Item = &str> + '_ {
        (1..self.entries.len()).map(|i| self.name(i).trim_end_matches(".npy"))
    }

    /// Entry `i`'s name, from its central header (parsed as a log entry's name, so UTF-8, at open); empty for the
    /// stand-in of a missing optional onset.
    fn name(&self, i: usize) -> &str {
        std::str::from_utf8(self.name_bytes(i)).unwrap_or_default()
    }

    /// Entry `i`'s name as bytes, from its central header; empty for the stand-in of a missing optional onset.
    #[inline]
    fn name_bytes(&self, i: usize) -> &[u8] {
        let at = self.entries[i].central_at;
        if at == NO_ENTRY {
            return b"";
        }
        self.central_name(at)
    }

    /// The name in the central header at `at` (an entry's `central_at`, not [`NO_ENTRY`]).
    #[inline(always)]
    fn central_name(&self, at: usize) -> &[u8] {
        // Checked at open: a whole central header at `at`, its name inside the directory.
        let len = usize::from(u16::from_le_bytes([self.bytes[at + 28], self.bytes[at + 29]]));
        &self.bytes[at + zipdir::CENTRAL_LEN..at + zipdir::CENTRAL_LEN + len]
    }

    /// The messages named by `keys` (with or without `.npy`), in the order given, as ataraxis's
    /// `iter_messages(keys)`.
    ///
    /// # Errors
    /// Each key that names no message (the onset's included) yields [`ArchiveError::UnknownKey`].
    ///
    /// # Examples
    /// ```
    /// # use seqring::archive::{assemble_log_archives, AssembleOptions};
    /// # use seqring::logger::DataLogger;
    /// # let dir = tempfile::tempdir().unwrap();
    /// # let name = format!("doc-archive-iter-keys-{}", std::process::id());
    /// # let logger = DataLogger::builder(dir.path(), &name).start().unwrap();
    /// # let source = logger.producer(7).unwrap();
    /// # for (t, frame) in [(1_000, &b"frame 1"[..]), (2_000, b"frame 2"), (3_000, b"frame 3")] {
    /// #     source.log_at(t, frame).unwrap();
    /// # }
    /// # let log_dir = logger.stop().unwrap().log_dir;
    /// # assemble_log_archives(&log_dir, &AssembleOptions::default()).unwrap();
    /// use seqring::archive::LogArchive;
    /// // an archive of three frames, logged 1, 2 and 3 ms after source 7's onset
    /// let archive = LogArchive::open(log_dir.join("7_log.npz")).unwrap();
    /// let last = archive.key(2).unwrap().to_string();
    /// let first = format!("{}.npy", archive.key(0).unwrap());
    /// let found: Vec<_> = archive.iter_keys([last.as_str(), first.as_str()]).map(|m| m.unwrap().payload).collect();
    /// assert_eq!(found, [&b"frame 3"[..], b"frame 1"]);
    /// assert!(archive.iter_keys(["007_no_such_key"]).next().unwrap().is_err());
    /// ```
    pub fn iter_keys<'a, K: AsRef<str> + 'a>(
        &'a self,
        keys: impl IntoIterator<Item = K> + 'a,
    ) -> impl Iterator<Item = Result<LogMessage<'a>, ArchiveError>> + 'a {
        let sorted = self.by_key.get_or_init(|| {
            let mut idx: Vec<u32> = (1..self.entries.len() as u32).collect();
            idx.sort_unstable_by(|&a, &b| self.name(a as usize).cmp(self.name(b as usize)));
            idx
        });
        keys.into_iter().map(move |key| {
            let key = key.as_ref();
            let stem = key.strip_suffix(".npy").unwrap_or(key);
            let found = sorted.binary_search_by(|&i| {
                let name = self.name(i as usize);
                name.trim_end_matches(".npy").cmp(stem)
            });
            match found {
                Ok(pos) => self.message(sorted[pos] as usize),
                Err(_) => Err(ArchiveError::UnknownKey {
                    path: self.path.clone(),
                    key: key.chars().take(200).collect(),
                }),
            }
        })
    }

    /// Splits the messages into contiguous index ranges for parallel processing, with ataraxis's rules: fewer than
    /// [`PARALLEL_THRESHOLD`] messages give one batch (none if there are no messages); otherwise up to
    /// `workers × multiplier` batches of `ceil(count / (workers × multiplier))` messages. `workers` below 1 means
    /// every core but two (at least 1); a positive value is capped at the core count. Each range can be passed to
    /// [`iter_range`](Self::iter_range), or turned into keys with [`key`](Self::key).
    ///
    /// # Examples
    /// ```
    /// # let fixtures = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/fixtures/ataraxis-7.2.0");
    /// # if !fixtures.exists() { return; }
    /// use seqring::archive::LogArchive;
    /// let archive = LogArchive::open(fixtures.join("archives/1_log.npz")).unwrap();
    /// assert_eq!(archive.batches(4, 4), vec![0..archive.message_count()]);
    /// ```
    pub fn batches(&self, workers: isize, multiplier: usize) -> Vec<Range<usize>> {
        let total = self.message_count();
        if total < PARALLEL_THRESHOLD {
            return if total == 0 {
                Vec::new()
            } else {
                std::iter::once(0..total).collect()
            };
        }
        let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
        let workers = if workers > 0 {
            (workers as usize).min(cores)
        } else {
            cores.saturating_sub(2).max(1)
        };
        let size = total.div_ceil(workers.saturating_mul(multiplier.max(1))).max(1);
        (0..total).step_by(size).map(|s| s..(s + size).min(total)).collect()
    }

    /// Every message's absolute timestamp and payload, as ataraxis's `read_all_messages()`.
    ///
    /// # Examples
    /// ```
    /// # use seqring::archive::{assemble_log_archives, AssembleOptions};
    /// # use seqring::logger::DataLogger;
    /// # let dir = tempfile::tempdir().unwrap();
    /// # let name = format!("doc-archive-read-all-{}", std::process::id());
    /// # let logger = DataLogger::builder(dir.path(), &name).start().unwrap();
    /// # let source = logger.producer(7).unwrap();
    /// # for (t, frame) in [(1_000, &b"frame 1"[..]), (2_000, b"frame 2"), (3_000, b"frame 3")] {
    /// #     source.log_at(t, frame).unwrap();
    /// # }
    /// # let log_dir = logger.stop().unwrap().log_dir;
    /// # assemble_log_archives(&log_dir, &AssembleOptions::default()).unwrap();
    /// use seqring::archive::LogArchive;
    /// // an archive of three frames, logged 1, 2 and 3 ms after source 7's onset
    /// let archive = LogArchive::open(log_dir.join("7_log.npz")).unwrap();
    /// let all = archive.read_all()?;
    /// assert_eq!(all.payloads, [&b"frame 1"[..], b"frame 2", b"frame 3"]);
    /// assert_eq!(all.timestamps_us[2] - archive.onset_us(), 3_000);
    /// # Ok::<(), seqring::archive::ArchiveError>(())
    /// ```
    ///
    /// # Errors
    /// The error of the first entry that fails its check.
    pub fn read_all(&self) -> Result<AllMessages<'_>, ArchiveError> {
        let mut out = AllMessages {
            timestamps_us: Vec::with_capacity(self.message_count()),
            payloads: Vec::with_capacity(self.message_count()),
        };
        for m in self.iter() {
            let m = m?;
            out.timestamps_us.push(m.timestamp_us);
            out.payloads.push(m.payload);
        }
        Ok(out)
    }

    /// Checks every entry's data against the CRC-32 in the zip directory (reads the whole archive).
    ///
    /// # Errors
    /// [`ArchiveError::Crc`] naming the first entry whose data does not match.
    ///
    /// # Examples
    /// ```
    /// # use seqring::archive::{assemble_log_archives, AssembleOptions};
    /// # use seqring::logger::DataLogger;
    /// # let dir = tempfile::tempdir().unwrap();
    /// # let name = format!("doc-archive-crcs-{}", std::process::id());
    /// # let logger = DataLogger::builder(dir.path(), &name).start().unwrap();
    /// # let source = logger.producer(7).unwrap();
    /// # for (t, frame) in [(1_000, &b"frame 1"[..]), (2_000, b"frame 2"), (3_000, b"frame 3")] {
    /// #     source.log_at(t, frame).unwrap();
    /// # }
    /// # let log_dir = logger.stop().unwrap().log_dir;
    /// # assemble_log_archives(&log_dir, &AssembleOptions::default()).unwrap();
    /// use seqring::archive::LogArchive;
    /// // an archive of three frames, logged 1, 2 and 3 ms after source 7's onset
    /// let archive = LogArchive::open(log_dir.join("7_log.npz")).unwrap();
    /// archive.check_crcs().unwrap();
    /// ```
    pub fn check_crcs(&self) -> Result<(), ArchiveError> {
        for i in usize::from(!self.has_onset)..self.entries.len() {
            let (_, end) = self.locate(i)?;
            let central =
                zipdir::header_at(&self.bytes, self.entries[i].central_at, self.dir_end).map_err(|source| {
                    ArchiveError::Zip {
                        path: self.path.clone(),
                        source,
                    }
                })?;
            // `located` found the stored bytes `size` long, ending at `end`.
            let stored = &self.bytes[end - central.size as usize..end];
            if crc32fast::hash(stored) != central.crc {
                return Err(ArchiveError::Crc {
                    path: self.path.clone(),
                    entry: self.name(i).to_owned(),
                });
            }
        }
        Ok(())
    }

    /// Entry `index` (0 is the onset): its name (`.npy` included) and array data `[source][timestamp][payload]`.
    pub(crate) fn raw_entry(&self, index: usize) -> Result<(&str, &[u8]), ArchiveError> {
        let (data_at, end) = self.locate(index)?;
        Ok((self.name(index), &self.bytes[data_at..end]))
    }

    /// The archive's bytes: the mapped file, or the stored archive an archive with deflated members was inflated to
    /// at open. Every payload handed out is a part of them; they never move or change while the archive is open.
    ///
    /// # Examples
    /// ```
    /// # use seqring::archive::{assemble_log_archives, AssembleOptions};
    /// # use seqring::logger::DataLogger;
    /// # let dir = tempfile::tempdir().unwrap();
    /// # let name = format!("doc-archive-as-bytes-{}", std::process::id());
    /// # let logger = DataLogger::builder(dir.path(), &name).start().unwrap();
    /// # let source = logger.producer(7).unwrap();
    /// # source.log_at(1_000, b"frame 1").unwrap();
    /// # let log_dir = logger.stop().unwrap().log_dir;
    /// # assemble_log_archives(&log_dir, &AssembleOptions::default()).unwrap();
    /// use seqring::archive::LogArchive;
    /// let archive = LogArchive::open(log_dir.join("7_log.npz")).unwrap();
    /// let all = archive.as_bytes().as_ptr_range();
    /// assert!(all.contains(&archive.get(0).unwrap().payload.as_ptr()));
    /// assert_eq!(archive.as_bytes().len() as u64, std::fs::metadata(archive.path()).unwrap().len());
    /// ```
    pub fn as_bytes(&self) -> &[u8] {
        &self.bytes
    }
}

/// Every message of an archive: timestamps (µs since the epoch) and payloads, index by index.
///
/// # Examples
/// ```
/// # use seqring::archive::{assemble_log_archives, AssembleOptions};
/// # use seqring::logger::DataLogger;
/// # let dir = tempfile::tempdir().unwrap();
/// # let name = format!("doc-all-messages-{}", std::process::id());
/// # let logger = DataLogger::builder(dir.path(), &name).start().unwrap();
/// # let source = logger.producer(7).unwrap();
/// # for (t, frame) in [(1_000, &b"frame 1"[..]), (2_000, b"frame 2"), (3_000, b"frame 3")] {
/// #     source.log_at(t, frame).unwrap();
/// # }
/// # let log_dir = logger.stop().unwrap().log_dir;
/// # assemble_log_archives(&log_dir, &AssembleOptions::default()).unwrap();
/// use seqring::archive::LogArchive;
/// // an archive of three frames, logged 1, 2 and 3 ms after source 7's onset
/// let archive = LogArchive::open(log_dir.join("7_log.npz")).unwrap();
/// let all = archive.read_all().unwrap();
/// assert_eq!((all.timestamps_us.len(), all.payloads[1]), (3, &b"frame 2"[..]));
/// ```
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct AllMessages<'a> {
    /// Absolute timestamps.
    pub timestamps_us: Vec<u64>,
    /// Payloads, borrowed from the archive.
    pub payloads: Vec<&'a [u8]>,
}

/// The iterator of [`LogArchive::iter`]: messages in archive order, without I/O or allocation (but for the error
/// of an entry that fails its check); each entry's block is checked on first access.
///
/// # Examples
/// ```
/// # use seqring::archive::{assemble_log_archives, AssembleOptions};
/// # use seqring::logger::DataLogger;
/// # let dir = tempfile::tempdir().unwrap();
/// # let name = format!("doc-messages-iter-{}", std::process::id());
/// # let logger = DataLogger::builder(dir.path(), &name).start().unwrap();
/// # let source = logger.producer(7).unwrap();
/// # for (t, frame) in [(1_000, &b"frame 1"[..]), (2_000, b"frame 2"), (3_000, b"frame 3")] {
/// #     source.log_at(t, frame).unwrap();
/// # }
/// # let log_dir = logger.stop().unwrap().log_dir;
/// # assemble_log_archives(&log_dir, &AssembleOptions::default()).unwrap();
/// use seqring::archive::LogArchive;
/// // an archive of three frames, logged 1, 2 and 3 ms after source 7's onset
/// let archive = LogArchive::open(log_dir.join("7_log.npz")).unwrap();
/// let mut messages = archive.iter();
/// assert_eq!(messages.len(), 3);
/// assert_eq!(messages.next_back().unwrap()?.payload, b"frame 3");
/// let rest = messages.map(|m| m.map(|m| m.payload)).collect::<Result<Vec<_>, _>>()?;
/// assert_eq!(rest, [&b"frame 1"[..], b"frame 2"]);
/// assert_eq!((&archive).into_iter().count(), 3);
/// # Ok::<(), seqring::archive::ArchiveError>(())
/// ```
#[derive(Clone, Debug)]
pub struct Messages<'a> {
    archive: &'a LogArchive,
    /// Entry indices still to hand out (1 is the first message).
    indices: Range<usize>,
}

impl<'a> Iterator for Messages<'a> {
    type Item = Result<LogMessage<'a>, ArchiveError>;

    #[inline]
    fn next(&mut self) -> Option<Self::Item> {
        let i = self.indices.next()?;
        Some(match self.archive.located_fast(i) {
            Some((data_at, end)) => Ok(self.archive.message_at(i, data_at, end)),
            None => self.archive.message_ahead(i, self.indices.end.saturating_sub(1).max(i)),
        })
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        self.indices.size_hint()
    }
}

impl DoubleEndedIterator for Messages<'_> {
    fn next_back(&mut self) -> Option<Self::Item> {
        let i = self.indices.next_back()?;
        Some(match self.archive.located_fast(i) {
            Some((data_at, end)) => Ok(self.archive.message_at(i, data_at, end)),
            None => self.archive.message_ahead(i, self.indices.start.min(i)),
        })
    }
}

impl ExactSizeIterator for Messages<'_> {}
impl std::iter::FusedIterator for Messages<'_> {}

impl<'a> IntoIterator for &'a LogArchive {
    type Item = Result<LogMessage<'a>, ArchiveError>;
    type IntoIter = Messages<'a>;

    fn into_iter(self) -> Messages<'a> {
        self.iter()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain_names_parse_as_entry_name_does() {
        for name in [
            "000_00000000000000000000.npy",
            "255_18446744073709551615.npy",
            "256_00000000000000000001.npy",
            "007_18446744073709551616.npy",
            "007_99999999999999999999.npy",
            "007_00000000000000001234.npy",
            "007_12345678901234567890.npy",
            "0a7_00000000000000001234.npy",
            "007_0000000000000000123x.npy",
            "007-00000000000000001234.npy",
            "007_00000000000000001234.npz",
            "/07_00000000000000001234.npy",
            ":07_00000000000000001234.npy",
            "007_/0000000000000001234.npy",
            "007_0000000000000000123:.npy",
            "007_00000000000000000001.npy",
            "007_09999999999999999999.npy",
            "007_18446744073709551610.npy",
            "007_20000000000000000000.npy",
            "999_00000000000000000001.npy",
            "007000000000000000001234.npy",
            "007_000000000000000001234npy",
            "007_0000000000\u{7f}000000001.npy",
        ] {
            let slow = EntryName::parse(name).filter(|n| n.duplicate == 0 && name.ends_with(".npy"));
            assert_eq!(parse_plain_name(name.as_bytes()), slow, "{name}");
        }
        assert!(same_bytes(b"0123456789abcdefXYZ", b"0123456789abcdefXYZ"));
        assert!(!same_bytes(b"0123456789abcdefXYZ", b"0123456789abcdefXYz"));
        assert!(!same_bytes(b"0123456789abcdefXYZ", b"1123456789abcdefXYZ"));
        assert!(!same_bytes(b"ab", b"abc"));
    }

    /// An archive of `count` entries of source 1 (the onset first); entry `bad`s, if any, store a timestamp that
    /// differs from their name's.
    fn large(count: u64, bad: &[u64]) -> Vec<u8> {
        let mut w = crate::archive::npz::NpzWriter::new(Vec::new());
        for ts in 0..count {
            let mut data = vec![1u8];
            data.extend_from_slice(&(ts + u64::from(bad.contains(&ts))).to_le_bytes());
            data.extend_from_slice(&ts.to_le_bytes());
            let header = u8_vector_header(data.len() as u64);
            w.add(&format!("001_{ts:020}.npy"), &[&header, &data]).unwrap();
        }
        w.finish().unwrap().0
    }

    #[test]
    fn a_large_archive_checked_in_halves_is_the_sequential_index() {
        let count = PARALLEL_CHECK_MIN as u64 * 2 + 7;
        let a = LogArchive::from_bytes("1_log.npz", large(count, &[])).unwrap();
        assert_eq!(a.entry_count() as u64, count);
        assert_eq!(a.block_checks(), 0, "open checks no block");
        for (i, m) in a.iter().enumerate() {
            let m = m.unwrap();
            let ts = i as u64 + 1;
            assert_eq!((m.timestamp_us, m.payload), (a.onset_us() + ts, &ts.to_le_bytes()[..]));
        }
        assert_eq!(a.block_checks(), a.entry_count().div_ceil(BLOCK));
        assert_eq!(a.key(count as usize - 2), Some(&*format!("001_{:020}", count - 1)));
        a.check_crcs().unwrap();
        // A timestamp that differs from the name's is found on access (or by `verify_all`, which reports the first
        // bad entry in archive order), not at open; the other entries read.
        let a = LogArchive::from_bytes("1_log.npz", large(count, &[10, count - 3])).unwrap();
        let err = a.verify_all().unwrap_err();
        assert!(
            matches!(err, ArchiveError::TimestampMismatch { named: 10, .. }),
            "{err}"
        );
        for (ts, bad) in [(10, true), (11, false), (count - 3, true), (count - 2, false)] {
            let got = a.get(ts as usize - 1);
            assert_eq!(got.is_err(), bad, "{ts}");
            if let Err(e) = got {
                assert!(
                    matches!(e, ArchiveError::TimestampMismatch { named, .. } if named == ts),
                    "{e}"
                );
            }
        }
        assert_eq!(a.iter().filter(Result::is_err).count(), 2);
        // Checked at open (`open_verified`'s one pass, the directory in two halves): the first error in archive
        // order is the one reported, whichever half meets it first.
        let eager = |bad: &[u64]| {
            let bytes = Backing::Owned(large(count, bad));
            LogArchive::index("1_log.npz".into(), bytes, Some(1), OnsetCheck::Required, true)
        };
        let err = eager(&[10, count - 3]).unwrap_err();
        assert!(
            matches!(err, ArchiveError::TimestampMismatch { named: 10, .. }),
            "{err}"
        );
        let err = eager(&[count - 3]).unwrap_err();
        assert!(
            matches!(err, ArchiveError::TimestampMismatch { named, .. } if named == count - 3),
            "{err}"
        );
        let a = eager(&[]).unwrap();
        assert!(a
            .iter()
            .map(Result::unwrap)
            .eq(LogArchive::from_bytes("1_log.npz", large(count, &[]))
                .unwrap()
                .iter()
                .map(Result::unwrap)));
        assert_eq!(a.block_checks(), 0);
    }

    /// An archive of source 1: the onset, then `count` messages whose payloads are 0, 8 or 16 bytes long (so the
    /// npy check meets several header lengths).
    fn varied(count: u64) -> Vec<u8> {
        let mut w = crate::archive::npz::NpzWriter::new(Vec::new());
        for ts in 0..=count {
            let mut data = vec![1u8];
            data.extend_from_slice(&ts.to_le_bytes());
            let len = if ts == 0 { 8 } else { (ts % 3) * 8 };
            data.extend((0..len).map(|k| k as u8 ^ ts as u8));
            let header = u8_vector_header(data.len() as u64);
            w.add(&format!("001_{ts:020}.npy"), &[&header, &data]).unwrap();
        }
        w.finish().unwrap().0
    }

    /// The block check works from what open kept of each central header; the check of an entry from its central
    /// header, parsed again, and the eager open's check (every entry in the walk) must agree with it on every entry of
    /// every archive that one flipped bit makes.
    #[test]
    fn the_block_check_agrees_with_the_checks_from_the_central_header_under_every_bit_flip() {
        let valid = varied(7);
        let (mut opened, mut bad) = (0, 0);
        for i in 0..valid.len() {
            for bit in [0, 2, 5, 7] {
                let mut bytes = valid.clone();
                bytes[i] ^= 1 << bit;
                let name = PathBuf::from("1_log.npz");
                let eager = LogArchive::index(name, Backing::Owned(bytes.clone()), Some(1), OnsetCheck::Required, true);
                let lazy = match LogArchive::from_bytes("1_log.npz", bytes) {
                    Ok(lazy) => lazy,
                    Err(e) => {
                        let eager = eager.expect_err("the lazy open failed, so must the eager one");
                        assert_eq!(e.to_string(), eager.to_string(), "byte {i} bit {bit}");
                        continue;
                    }
                };
                opened += 1;
                let first = lazy.verify_all().err().map(|e| e.to_string());
                assert_eq!(
                    first,
                    eager.as_ref().err().map(ToString::to_string),
                    "byte {i} bit {bit}"
                );
                for k in 0..lazy.entry_count() {
                    let e = &lazy.entries[k];
                    let kept = (e.data_at.load(Relaxed), e.end.load(Relaxed));
                    match lazy.check_entry(k, &mut NpyCheck::default()) {
                        Ok(found) => assert_eq!(kept, found, "byte {i} bit {bit} entry {k}"),
                        Err(_) => {
                            assert_eq!(kept, (0, 0), "byte {i} bit {bit} entry {k}");
                            bad += 1;
                        }
                    }
                }
                if let Ok(eager) = eager {
                    fn all(a: &LogArchive) -> Vec<(u64, Vec<u8>)> {
                        a.iter()
                            .map(|m| m.map(|m| (m.timestamp_us, m.payload.to_vec())).unwrap())
                            .collect()
                    }
                    assert_eq!(all(&lazy), all(&eager), "byte {i} bit {bit}");
                }
            }
        }
        // Flips in the entries' local headers and data open lazily and fail on access; flips in payloads read.
        assert!(opened > 100 && bad > 100, "{opened} opened, {bad} bad entries");
    }

    #[test]
    fn a_mixed_archive_of_stored_and_deflated_members_reads_as_the_stored_one() {
        use crate::archive::npz::{Compression, NpzWriter};
        let build = |deflate: &dyn Fn(u64) -> bool| {
            let mut w = NpzWriter::new(Vec::new());
            for ts in 0..40u64 {
                let mut data = vec![1u8];
                data.extend_from_slice(&ts.to_le_bytes());
                data.extend(std::iter::repeat_n(ts as u8, if ts == 0 { 8 } else { ts as usize * 3 }));
                let header = u8_vector_header(data.len() as u64);
                w.set_compression(if deflate(ts) {
                    Compression::DEFLATED
                } else {
                    Compression::Stored
                });
                w.add(&format!("001_{ts:020}.npy"), &[&header, &data]).unwrap();
            }
            w.finish().unwrap().0
        };
        let stored = LogArchive::from_bytes("1_log.npz", build(&|_| false)).unwrap();
        for (what, deflate) in [
            ("odd deflated", &(|ts: u64| ts % 2 == 1) as &dyn Fn(u64) -> bool),
            ("onset deflated", &|ts| ts == 0),
            ("last deflated", &|ts| ts == 39),
            ("all deflated", &|_| true),
        ] {
            let mixed = LogArchive::from_bytes("1_log.npz", build(deflate)).unwrap();
            assert_eq!(mixed.onset_us(), stored.onset_us(), "{what}");
            assert!(
                mixed.iter().map(Result::unwrap).eq(stored.iter().map(Result::unwrap)),
                "{what}"
            );
            assert!(mixed.keys().eq(stored.keys()), "{what}");
            mixed.check_crcs().unwrap();
        }
    }

    #[test]
    fn archives_can_be_shared_across_threads() {
        fn shared<T: Send + Sync>() {}
        shared::<LogArchive>();
        shared::<AllMessages<'static>>();
    }
}
