//! `LogArchive`: a memory-mapped log archive whose messages borrow their payloads from the map.
//!
//! Invariants:
//! - [`LogArchive::open`] parses the zip directory with the `zip` crate, finds each entry's data through its local
//!   header (`by_index_raw(i)?.data_start()`), and validates every entry once: stored, inside the file, local and
//!   central names equal, a log-entry name, a 1-D `uint8` npy array of at least 9 bytes, the archive's source in
//!   both the name and the data, the same timestamp in both, the onset first, no overflow of onset + elapsed.
//! - After a successful open, every accessor is infallible and does no I/O: an index of 48 bytes per entry holds
//!   the offsets, checked against the map's length.
//! - The mapped file must not be modified in place while open. Archives are written once, under a temporary name,
//!   and renamed into place, so replacing one does not disturb an open map of the old file.

use std::fs::File;
use std::io::Cursor;
use std::ops::{Deref, Range};
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use seqring_platform::ReadOnlyMap;
use zip::{CompressionMethod, ZipArchive};

use super::{ArchiveError, EntryName, LogMessage, ARCHIVE_SUFFIX, ONSET_TIMESTAMP};
use crate::format::npy::u8_vector_data;

/// ataraxis's `PARALLEL_PROCESSING_THRESHOLD`: archives with fewer messages are not split by
/// [`LogArchive::batches`].
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

/// What the zip reader says about one entry.
struct EntryInfo<'a> {
    /// The local header's name, or the central name (for errors) when they differ.
    name: Result<&'a [u8], String>,
    name_at: u64,
    encrypted: bool,
    compression: CompressionMethod,
    size: u64,
    compressed_size: u64,
    start: Option<u64>,
    crc: u32,
}

#[derive(Clone, Copy, Debug)]
struct Entry {
    /// The file offset of the entry's name in its local header.
    name_at: usize,
    /// The start of the entry's stored bytes (the npy header).
    start: usize,
    /// The start of the array data: `[source][timestamp][payload]`.
    data_at: usize,
    /// The end of the array data.
    end: usize,
    /// The elapsed µs since the onset.
    ts: u64,
    /// The CRC-32 of the stored bytes, from the zip directory.
    crc: u32,
    /// The name's length, `.npy` included.
    name_len: u16,
}

/// A log archive, memory-mapped and validated.
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
///     assert!(message.timestamp_us > archive.onset_us());
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

/// A name for error messages: lossy, and at most 200 characters.
fn shown(name: &[u8]) -> String {
    String::from_utf8_lossy(name).chars().take(200).collect()
}

impl LogArchive {
    /// Memory-maps and validates the archive at `path`. The archive's source is the id in its file name
    /// (`{id}_log.npz`), or else the onset entry's.
    ///
    /// # Errors
    /// [`ArchiveError::Io`] if the file cannot be opened or mapped, and an error naming the entry for every kind of
    /// malformed archive (see [`ArchiveError`]).
    pub fn open(path: impl AsRef<Path>) -> Result<Self, ArchiveError> {
        let path = path.as_ref();
        Self::open_as(path, source_from_file_name(path))
    }

    pub(crate) fn open_as(path: &Path, source_id: Option<u8>) -> Result<Self, ArchiveError> {
        Self::open_checked(path, source_id, OnsetCheck::Required)
    }

    /// Opens an archive with ataraxis's reader's rules: an entry not named `SSS_TTTT….npy` is skipped, and an
    /// archive without an onset entry opens, its messages timed from an onset of 0 ([`has_onset`](Self::has_onset)
    /// is then `false`; give the onset yourself, as ataraxis's reader takes `onset_us`). Every other check stays.
    ///
    /// # Errors
    /// As [`open`](Self::open), less the naming and onset errors.
    pub fn open_lenient(path: impl AsRef<Path>) -> Result<Self, ArchiveError> {
        let path = path.as_ref();
        Self::open_checked(path, source_from_file_name(path), OnsetCheck::Optional)
    }

    /// Whether the archive has an onset entry (always, unless opened by [`open_lenient`](Self::open_lenient)).
    pub fn has_onset(&self) -> bool {
        self.has_onset
    }

    pub(crate) fn open_checked(path: &Path, source_id: Option<u8>, check: OnsetCheck) -> Result<Self, ArchiveError> {
        let io = |source| ArchiveError::Io {
            path: path.to_path_buf(),
            source,
        };
        let file = File::open(path).map_err(io)?;
        let meta = file.metadata().map_err(io)?;
        if meta.is_dir() {
            return Err(io(std::io::Error::new(
                std::io::ErrorKind::IsADirectory,
                "is a directory, not a log archive (give one {source_id}_log.npz file)",
            )));
        }
        let len = meta.len();
        let bytes = if len == 0 {
            Backing::Owned(Vec::new())
        } else {
            // Archives are replaced whole, never modified in place (the region layer's mapped-file contract); the
            // map lives as long as `self`, which every borrowed payload borrows.
            Backing::Map(ReadOnlyMap::of_file(&file).map_err(io)?)
        };
        Self::index(path.to_path_buf(), bytes, source_id, check)
    }

    /// Validates an archive held in memory. `name` is used in errors and, when it is `{id}_log.npz`, as the
    /// source id.
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
        Self::index(path, Backing::Owned(bytes), source_id, OnsetCheck::Required)
    }

    fn index(path: PathBuf, bytes: Backing, expected: Option<u8>, check: OnsetCheck) -> Result<Self, ArchiveError> {
        let data: &[u8] = &bytes;
        let file_len = data.len() as u64;
        let mut zip = ZipArchive::new(Cursor::new(data)).map_err(|source| ArchiveError::Zip {
            path: path.clone(),
            source,
        })?;
        let count = zip.len();
        // The zip crate parsed `count` central headers of at least 46 bytes each from this file.
        let mut entries = Vec::with_capacity(count);
        let mut source_id = expected;
        let mut onset_us = 0u64;
        let mut has_onset = true;
        for i in 0..count {
            let fail_name = |zip: &ZipArchive<Cursor<&[u8]>>| {
                zip.name_for_index(i)
                    .and_then(Result::ok)
                    .map_or_else(|| format!("#{i}"), |n| n.chars().take(200).collect())
            };
            let info = zip.by_index_raw(i).map(|file| {
                let name_at = file.header_start().saturating_add(30);
                let central = file.name_raw();
                // The name as stored in the local header, when it equals the central directory's.
                let local = usize::try_from(name_at)
                    .ok()
                    .and_then(|at| data.get(at..at.checked_add(central.len())?))
                    .filter(|local| *local == central)
                    .ok_or_else(|| shown(central));
                EntryInfo {
                    name: local,
                    name_at,
                    encrypted: file.encrypted(),
                    compression: file.compression(),
                    size: file.size(),
                    compressed_size: file.compressed_size(),
                    start: file.data_start(),
                    crc: file.crc32(),
                }
            });
            let info = match info {
                Ok(info) => info,
                Err(source) => {
                    let entry = fail_name(&zip);
                    return Err(ArchiveError::ZipEntry { path, entry, source });
                }
            };
            let name_raw = match info.name {
                Ok(name) => name,
                Err(entry) => {
                    return Err(ArchiveError::HeaderMismatch {
                        path,
                        entry,
                        what: "the local file name differs",
                    })
                }
            };
            let entry = || shown(name_raw);
            if info.encrypted {
                return Err(ArchiveError::NotStored {
                    path,
                    entry: entry(),
                    what: "encrypted".into(),
                });
            }
            if info.compression != CompressionMethod::Stored {
                return Err(ArchiveError::NotStored {
                    path,
                    entry: entry(),
                    what: format!("compressed ({})", info.compression),
                });
            }
            let size = info.size;
            if info.compressed_size != size {
                return Err(ArchiveError::HeaderMismatch {
                    path,
                    entry: entry(),
                    what: "a stored entry's compressed and uncompressed sizes differ",
                });
            }
            let Some(start) = info.start else {
                return Err(ArchiveError::HeaderMismatch {
                    path,
                    entry: entry(),
                    what: "no data offset",
                });
            };
            let end = start.checked_add(size).filter(|&e| e <= file_len);
            let Some(end) = end else {
                return Err(ArchiveError::ExceedsFile {
                    path,
                    entry: entry(),
                    end: start.saturating_add(size),
                    len: file_len,
                });
            };
            let name_at = info.name_at;
            let parsed = std::str::from_utf8(name_raw)
                .ok()
                .filter(|n| n.ends_with(".npy"))
                .and_then(EntryName::parse);
            let Some(parsed) = parsed else {
                if check == OnsetCheck::Optional {
                    continue; // ataraxis's reader skips keys that name no log entry
                }
                return Err(ArchiveError::BadName { path, entry: entry() });
            };
            let (start, end) = (start as usize, end as usize);
            let array = &data[start..end];
            let range = u8_vector_data(array).map_err(|source| ArchiveError::NotNpy {
                path: path.clone(),
                entry: entry(),
                source,
            })?;
            let content = &array[range.clone()];
            if content.len() < 9 {
                return Err(ArchiveError::TooShort {
                    path,
                    entry: entry(),
                    len: content.len() as u64,
                });
            }
            let expected = *source_id.get_or_insert(content[0]);
            for found in [parsed.source_id, content[0]] {
                if found != expected {
                    return Err(ArchiveError::SourceMismatch {
                        path,
                        entry: entry(),
                        expected,
                        found,
                    });
                }
            }
            let mut ts = [0u8; 8];
            ts.copy_from_slice(&content[1..9]);
            let ts = u64::from_le_bytes(ts);
            if ts != parsed.timestamp {
                return Err(ArchiveError::TimestampMismatch {
                    path,
                    entry: entry(),
                    named: parsed.timestamp,
                    stored: ts,
                });
            }
            let first = entries.is_empty();
            if first && check == OnsetCheck::Unchecked {
                // Not interpreted: the onset stays 0.
            } else if first && check == OnsetCheck::Optional && ts != ONSET_TIMESTAMP {
                // No onset entry: an empty stand-in takes index 0, and every entry is a message.
                has_onset = false;
                entries.push(Entry {
                    name_at: 0,
                    start: 0,
                    data_at: 0,
                    end: 0,
                    ts: 0,
                    crc: 0,
                    name_len: 0,
                });
            } else if first {
                if ts != ONSET_TIMESTAMP {
                    return Err(ArchiveError::MissingOnset {
                        path,
                        reason: format!("its first entry '{}' has timestamp {ts}, not 0", entry()),
                    });
                }
                let Ok(onset) = <[u8; 8]>::try_from(&content[9..]) else {
                    return Err(ArchiveError::BadOnset {
                        path,
                        entry: entry(),
                        len: (content.len() - 9) as u64,
                    });
                };
                onset_us = u64::from_le_bytes(onset);
            } else if onset_us.checked_add(ts).is_none() {
                return Err(ArchiveError::TimestampOverflow { path, entry: entry() });
            }
            entries.push(Entry {
                name_at: name_at as usize,
                start,
                data_at: start + range.start,
                end,
                ts,
                crc: info.crc,
                name_len: name_raw.len() as u16,
            });
        }
        let Some(source_id) = source_id.filter(|_| !entries.is_empty()) else {
            return Err(ArchiveError::MissingOnset {
                path,
                reason: "it has no entries".into(),
            });
        };
        drop(zip);
        Ok(LogArchive {
            path,
            bytes,
            source_id,
            onset_us,
            has_onset,
            entries,
            by_key: OnceLock::new(),
        })
    }

    /// The archive's path (or the name given to [`from_bytes`](Self::from_bytes)).
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The source whose messages the archive holds.
    pub fn source_id(&self) -> u8 {
        self.source_id
    }

    /// The source's onset, µs since the UNIX epoch.
    pub fn onset_us(&self) -> u64 {
        self.onset_us
    }

    /// The number of messages, the onset excluded.
    pub fn message_count(&self) -> usize {
        self.entries.len() - 1
    }

    /// The number of entries, the onset included.
    pub fn entry_count(&self) -> usize {
        self.entries.len()
    }

    fn message(&self, e: &Entry) -> LogMessage<'_> {
        LogMessage {
            source_id: self.source_id,
            // Checked not to overflow at open.
            timestamp_us: self.onset_us.wrapping_add(e.ts),
            payload: &self.bytes[e.data_at + 9..e.end],
        }
    }

    /// The message at `index` (0 is the first message after the onset).
    pub fn get(&self, index: usize) -> Option<LogMessage<'_>> {
        self.entries.get(index.checked_add(1)?).map(|e| self.message(e))
    }

    /// Every message in archive order, the onset excluded.
    pub fn iter(&self) -> Messages<'_> {
        Messages {
            archive: self,
            entries: self.entries[1..].iter(),
        }
    }

    /// The messages with indices in `range`.
    ///
    /// # Panics
    /// If `range` is out of bounds of `0..message_count()`, as slice indexing does.
    pub fn iter_range(&self, range: Range<usize>) -> Messages<'_> {
        Messages {
            archive: self,
            entries: self.entries[1..][range].iter(),
        }
    }

    /// The key of message `index`: its entry name without `.npy`, as numpy's `NpzFile.files` lists it.
    pub fn key(&self, index: usize) -> Option<&str> {
        let e = self.entries.get(index.checked_add(1)?)?;
        Some(self.name(e).trim_end_matches(".npy"))
    }

    /// The keys of every message, in archive order.
    pub fn keys(&self) -> impl ExactSizeIterator<Item = &str> + '_ {
        self.entries[1..].iter().map(|e| self.name(e).trim_end_matches(".npy"))
    }

    fn name(&self, e: &Entry) -> &str {
        // Validated as UTF-8 at open.
        std::str::from_utf8(&self.bytes[e.name_at..e.name_at + e.name_len as usize]).unwrap_or_default()
    }

    /// The messages named by `keys` (with or without `.npy`), in the order given, as ataraxis's
    /// `iter_messages(keys)`.
    ///
    /// # Errors
    /// Each key that names no message (the onset's included) yields [`ArchiveError::UnknownKey`].
    pub fn iter_keys<'a, K: AsRef<str> + 'a>(
        &'a self,
        keys: impl IntoIterator<Item = K> + 'a,
    ) -> impl Iterator<Item = Result<LogMessage<'a>, ArchiveError>> + 'a {
        let sorted = self.by_key.get_or_init(|| {
            let mut idx: Vec<u32> = (1..self.entries.len() as u32).collect();
            idx.sort_unstable_by(|&a, &b| {
                self.name(&self.entries[a as usize])
                    .cmp(self.name(&self.entries[b as usize]))
            });
            idx
        });
        keys.into_iter().map(move |key| {
            let key = key.as_ref();
            let stem = key.strip_suffix(".npy").unwrap_or(key);
            let found = sorted.binary_search_by(|&i| {
                let name = self.name(&self.entries[i as usize]);
                name.trim_end_matches(".npy").cmp(stem)
            });
            match found {
                Ok(pos) => Ok(self.message(&self.entries[sorted[pos] as usize])),
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
    pub fn read_all(&self) -> AllMessages<'_> {
        let mut out = AllMessages {
            timestamps_us: Vec::with_capacity(self.message_count()),
            payloads: Vec::with_capacity(self.message_count()),
        };
        for m in self.iter() {
            out.timestamps_us.push(m.timestamp_us);
            out.payloads.push(m.payload);
        }
        out
    }

    /// Checks every entry's data against the CRC-32 in the zip directory (reads the whole archive).
    ///
    /// # Errors
    /// [`ArchiveError::Crc`] naming the first entry whose data does not match.
    pub fn check_crcs(&self) -> Result<(), ArchiveError> {
        for e in &self.entries {
            if crc32fast::hash(&self.bytes[e.start..e.end]) != e.crc {
                return Err(ArchiveError::Crc {
                    path: self.path.clone(),
                    entry: self.name(e).to_owned(),
                });
            }
        }
        Ok(())
    }

    /// Entry `index` (0 is the onset): its name (`.npy` included) and array data `[source][timestamp][payload]`.
    pub(crate) fn raw_entry(&self, index: usize) -> (&str, &[u8]) {
        let e = &self.entries[index];
        (self.name(e), &self.bytes[e.data_at..e.end])
    }
}

/// Every message of an archive: timestamps (µs since the epoch) and payloads, index by index.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct AllMessages<'a> {
    /// Absolute timestamps.
    pub timestamps_us: Vec<u64>,
    /// Payloads, borrowed from the archive.
    pub payloads: Vec<&'a [u8]>,
}

/// The iterator of [`LogArchive::iter`]: messages in archive order, without I/O or allocation.
#[derive(Clone, Debug)]
pub struct Messages<'a> {
    archive: &'a LogArchive,
    entries: std::slice::Iter<'a, Entry>,
}

impl<'a> Iterator for Messages<'a> {
    type Item = LogMessage<'a>;

    #[inline]
    fn next(&mut self) -> Option<Self::Item> {
        self.entries.next().map(|e| self.archive.message(e))
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        self.entries.size_hint()
    }
}

impl DoubleEndedIterator for Messages<'_> {
    fn next_back(&mut self) -> Option<Self::Item> {
        self.entries.next_back().map(|e| self.archive.message(e))
    }
}

impl ExactSizeIterator for Messages<'_> {}
impl std::iter::FusedIterator for Messages<'_> {}

impl<'a> IntoIterator for &'a LogArchive {
    type Item = LogMessage<'a>;
    type IntoIter = Messages<'a>;

    fn into_iter(self) -> Messages<'a> {
        self.iter()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn archives_can_be_shared_across_threads() {
        fn shared<T: Send + Sync>() {}
        shared::<LogArchive>();
        shared::<AllMessages<'static>>();
    }
}
