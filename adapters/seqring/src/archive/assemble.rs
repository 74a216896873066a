//! `assemble_log_archives`: a log directory in, one `{source_id}_log.npz` per source out.
//!
//! Invariants:
//! - Memory is bounded by the index ([`LogDir`]: 24 bytes per message plus `.npy` names) and each archive's encoded
//!   central directory (about 75 bytes per entry); payloads are streamed one entry at a time.
//! - Each archive is written to a hidden temporary file in the log directory, synced, optionally verified, and only
//!   then renamed to its final name; a failure or interruption never leaves a partial archive under that name.
//! - Sources are removed only after every archive was written, verified (when asked), renamed and synced, and the
//!   directory itself was synced.
//! - Archives are assembled in parallel, one source per worker; when compressing, the entries of one source are also
//!   deflated by every worker, a bounded window at a time (segment entries: `DEFLATE_WINDOW` entries and
//!   `DEFLATE_WINDOW_BYTES`; `.npy` entries: `NPY_WINDOW` files, read and deflated together), and written in
//!   order. A member's deflate stream depends only on its bytes, so the archive does not depend on the worker count.
//! - A source's schema side file (`{source_id}_log.schema.json`, [`crate::format::schema`]) is checked before
//!   anything is written and stays where it is, beside the archive; it is never removed with the sources.

use std::io::BufWriter;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

use rayon::prelude::*;
use tempfile::TempPath;
use xxhash_rust::xxh3::Xxh3;

use super::logdir::{EntryData, Item, Loaded, LogDir};
use super::npz::{Compression, Deflater, NpzWriter};
use super::reader::LogArchive;
use super::reader::OnsetCheck;
use super::{AssembleError, EntryName, NameBuf, ARCHIVE_SUFFIX};
use crate::format::npy::u8_vector_header;
use crate::format::segment::RecoveryReport;

/// The phase of an assembly that a [`Progress`] report is about.
///
/// # Examples
/// ```
/// # use seqring::logger::DataLogger;
/// # let dir = tempfile::tempdir().unwrap();
/// # let name = format!("doc-phase-{}", std::process::id());
/// # let logger = DataLogger::builder(dir.path(), &name).start().unwrap();
/// # let source = logger.producer(7).unwrap();
/// # for (t, frame) in [(1_000, &b"frame 1"[..]), (2_000, b"frame 2"), (3_000, b"frame 3")] {
/// #     source.log_at(t, frame).unwrap();
/// # }
/// # let log_dir = logger.stop().unwrap().log_dir;
/// use seqring::archive::{assemble_log_archives, AssembleOptions, Phase, Progress};
/// use std::sync::Mutex;
/// // a log directory in which source 7 logged three frames, 1, 2 and 3 ms after its onset
/// let seen = Mutex::new(Vec::new());
/// let record = |p: Progress| seen.lock().unwrap().push(p);
/// let options = AssembleOptions { workers: 1, verify: true, progress: Some(&record), ..Default::default() };
/// let report = assemble_log_archives(&log_dir, &options).unwrap();
/// assert!(report.verified && report.removed_files > 0);
/// let seen = seen.into_inner().unwrap();
/// for phase in [Phase::Writing, Phase::Verifying, Phase::Removing] {
///     assert!(seen.iter().any(|p| p.phase == phase), "{phase:?}");
/// }
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Phase {
    /// Writing archive entries; counts entries.
    Writing,
    /// Re-reading and comparing archive entries; counts entries.
    Verifying,
    /// Removing source files; counts files.
    Removing,
}

/// A progress report: `done` out of `total` units of `phase`, over all sources.
///
/// # Examples
/// ```
/// # use seqring::logger::DataLogger;
/// # let dir = tempfile::tempdir().unwrap();
/// # let name = format!("doc-progress-{}", std::process::id());
/// # let logger = DataLogger::builder(dir.path(), &name).start().unwrap();
/// # let source = logger.producer(7).unwrap();
/// # for (t, frame) in [(1_000, &b"frame 1"[..]), (2_000, b"frame 2"), (3_000, b"frame 3")] {
/// #     source.log_at(t, frame).unwrap();
/// # }
/// # let log_dir = logger.stop().unwrap().log_dir;
/// use seqring::archive::{assemble_log_archives, AssembleOptions, Phase, Progress};
/// use std::sync::Mutex;
/// // a log directory in which source 7 logged three frames, 1, 2 and 3 ms after its onset
/// let seen = Mutex::new(Vec::new());
/// let record = |p: Progress| seen.lock().unwrap().push(p);
/// let options = AssembleOptions { workers: 1, verify: true, progress: Some(&record), ..Default::default() };
/// let report = assemble_log_archives(&log_dir, &options).unwrap();
/// assert!(report.verified && report.removed_files > 0);
/// let seen = seen.into_inner().unwrap();
/// let writing = seen.iter().filter(|p| p.phase == Phase::Writing).last().unwrap();
/// assert_eq!((writing.done, writing.total), (4, 4)); // the onset and three frames
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Progress {
    /// The phase.
    pub phase: Phase,
    /// Units done so far.
    pub done: u64,
    /// Units in the phase.
    pub total: u64,
}

/// Options of [`assemble_log_archives`]. The default matches ataraxis: sources are removed after success, nothing
/// is verified.
///
/// # Examples
/// ```
/// # use seqring::logger::DataLogger;
/// # let dir = tempfile::tempdir().unwrap();
/// # let name = format!("doc-assemble-options-{}", std::process::id());
/// # let logger = DataLogger::builder(dir.path(), &name).start().unwrap();
/// # let source = logger.producer(7).unwrap();
/// # for (t, frame) in [(1_000, &b"frame 1"[..]), (2_000, b"frame 2"), (3_000, b"frame 3")] {
/// #     source.log_at(t, frame).unwrap();
/// # }
/// # let log_dir = logger.stop().unwrap().log_dir;
/// use seqring::archive::{assemble_log_archives, AssembleOptions, Phase, Progress};
/// use std::sync::Mutex;
/// // a log directory in which source 7 logged three frames, 1, 2 and 3 ms after its onset
/// let seen = Mutex::new(Vec::new());
/// let record = |p: Progress| seen.lock().unwrap().push(p);
/// let options = AssembleOptions { workers: 1, verify: true, progress: Some(&record), ..Default::default() };
/// let report = assemble_log_archives(&log_dir, &options).unwrap();
/// assert!(report.verified && report.removed_files > 0);
/// let seen = seen.into_inner().unwrap();
/// let last = seen.last().unwrap();
/// assert_eq!((last.phase, last.done), (Phase::Removing, last.total));
/// ```
#[derive(Clone, Copy)]
pub struct AssembleOptions<'a> {
    /// Worker threads (one source per worker at a time); 0 uses every core.
    pub workers: usize,
    /// Re-read every archive and compare each entry with a digest of its source before anything is renamed or
    /// removed; also checks every entry's CRC-32.
    pub verify: bool,
    /// Remove the `.npy` entries and segments once every archive is safely in place.
    pub remove_sources: bool,
    /// Replace existing archives; without it an existing `{id}_log.npz` is an error, since it may hold messages
    /// whose sources are gone. The old archive stays in place until the new one is written and verified (an
    /// overwrite always verifies), and is then replaced by one atomic rename.
    pub overwrite: bool,
    /// Before reading them, truncate a torn last batch off every segment (what a crashed logger leaves) with
    /// [`crate::format::segment::recover`]; without it a torn segment is an error. Corruption is an error either way.
    pub recover_segments: bool,
    /// How archive members are written: [`Compression::Stored`] (the default, as ataraxis writes them, read
    /// zero-copy) or deflated (as `numpy.savez_compressed` writes them: smaller, slower to write and to open).
    pub compression: Compression,
    /// Called from worker threads every few thousand units and at the end of each phase.
    pub progress: Option<&'a (dyn Fn(Progress) + Sync)>,
}

impl Default for AssembleOptions<'_> {
    fn default() -> Self {
        AssembleOptions {
            workers: 0,
            verify: false,
            remove_sources: true,
            overwrite: false,
            recover_segments: false,
            compression: Compression::Stored,
            progress: None,
        }
    }
}

impl std::fmt::Debug for AssembleOptions<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AssembleOptions")
            .field("workers", &self.workers)
            .field("verify", &self.verify)
            .field("remove_sources", &self.remove_sources)
            .field("overwrite", &self.overwrite)
            .field("recover_segments", &self.recover_segments)
            .field("compression", &self.compression)
            .field("progress", &self.progress.is_some())
            .finish()
    }
}

/// One archive written by [`assemble_log_archives`].
///
/// # Examples
/// ```
/// # use seqring::archive::{assemble_log_archives, AssembleOptions};
/// # use seqring::logger::DataLogger;
/// # let dir = tempfile::tempdir().unwrap();
/// # let name = format!("doc-assembled-archive-{}", std::process::id());
/// # let logger = DataLogger::builder(dir.path(), &name).start().unwrap();
/// # let source = logger.producer(7).unwrap();
/// # for (t, frame) in [(1_000, &b"frame 1"[..]), (2_000, b"frame 2"), (3_000, b"frame 3")] {
/// #     source.log_at(t, frame).unwrap();
/// # }
/// # let log_dir = logger.stop().unwrap().log_dir;
/// // a log directory in which source 7 logged three frames, 1, 2 and 3 ms after its onset
/// let report = assemble_log_archives(&log_dir, &AssembleOptions::default()).unwrap();
/// let archive = &report.archives[0];
/// assert_eq!((archive.source_id, archive.entries), (7, 4));
/// assert_eq!(archive.path, log_dir.join("7_log.npz"));
/// assert_eq!(archive.bytes, std::fs::metadata(&archive.path).unwrap().len());
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AssembledArchive {
    /// The source.
    pub source_id: u8,
    /// The archive's path.
    pub path: PathBuf,
    /// Its entries, the onset included.
    pub entries: u64,
    /// Its size in bytes.
    pub bytes: u64,
}

/// What [`assemble_log_archives`] did.
///
/// # Examples
/// ```
/// # use seqring::archive::{assemble_log_archives, AssembleOptions};
/// # use seqring::logger::DataLogger;
/// # let dir = tempfile::tempdir().unwrap();
/// # let name = format!("doc-assemble-report-{}", std::process::id());
/// # let logger = DataLogger::builder(dir.path(), &name).start().unwrap();
/// # let source = logger.producer(7).unwrap();
/// # for (t, frame) in [(1_000, &b"frame 1"[..]), (2_000, b"frame 2"), (3_000, b"frame 3")] {
/// #     source.log_at(t, frame).unwrap();
/// # }
/// # let log_dir = logger.stop().unwrap().log_dir;
/// // a log directory in which source 7 logged three frames, 1, 2 and 3 ms after its onset
/// let report = assemble_log_archives(&log_dir, &AssembleOptions::default()).unwrap();
/// assert_eq!((report.archives.len(), report.verified), (1, false));
/// assert!(report.removed_files > 0, "the defaults remove the sources");
/// assert!(report.recovered.is_empty());
/// ```
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct AssembleReport {
    /// The archives, by source id.
    pub archives: Vec<AssembledArchive>,
    /// Whether every archive was verified.
    pub verified: bool,
    /// The number of source files removed.
    pub removed_files: u64,
    /// The segments whose torn tail was truncated (with `recover_segments`).
    pub recovered: Vec<RecoveryReport>,
}

impl AssembleReport {
    /// The number of entries written, onsets included.
    ///
    /// # Examples
    /// ```
    /// # use seqring::logger::DataLogger;
    /// # let dir = tempfile::tempdir().unwrap();
    /// # let name = format!("doc-report-entries-{}", std::process::id());
    /// # let logger = DataLogger::builder(dir.path(), &name).start().unwrap();
    /// # let source = logger.producer(1).unwrap();
    /// # for (t, frame) in [(1_000, &b"frame 1"[..]), (2_000, b"frame 2"), (3_000, b"frame 3")] {
    /// #     source.log_at(t, frame).unwrap();
    /// # }
    /// # let source = logger.producer(7).unwrap();
    /// # for (t, frame) in [(1_000, &b"frame 1"[..]), (2_000, b"frame 2"), (3_000, b"frame 3")] {
    /// #     source.log_at(t, frame).unwrap();
    /// # }
    /// # let log_dir = logger.stop().unwrap().log_dir;
    /// use seqring::archive::{assemble_log_archives, AssembleOptions};
    /// // a log directory in which sources 1 and 7 logged three frames each
    /// let report = assemble_log_archives(&log_dir, &AssembleOptions::default()).unwrap();
    /// assert_eq!(report.entries(), 8); // two sources, each an onset and three frames
    /// ```
    pub fn entries(&self) -> u64 {
        self.archives.iter().map(|a| a.entries).sum()
    }
}

struct Ticker<'a> {
    callback: Option<&'a (dyn Fn(Progress) + Sync)>,
    phase: Phase,
    total: u64,
    done: AtomicU64,
}

const TICK: u64 = 4096;
/// `.npy` entries read in parallel at a time; with files above 4 MiB mapped, at most 64 MiB of buffers.
const NPY_WINDOW: usize = 16;
/// Segment entries deflated in parallel at a time: at most this many entries, and entries of at most
/// [`DEFLATE_WINDOW_BYTES`] together (past the first), whose deflated bytes are held until written.
const DEFLATE_WINDOW: usize = 4096;
const DEFLATE_WINDOW_BYTES: u64 = 16 << 20;

/// `all` cut into consecutive windows of at most [`DEFLATE_WINDOW`] entries and [`DEFLATE_WINDOW_BYTES`] bytes
/// (`len` gives an entry's length; a larger entry is a window of its own).
fn deflate_windows<'a, 'b>(
    all: &'a [(&'b Item, u32)],
    len: impl Fn(&Item) -> u64 + 'a,
) -> impl Iterator<Item = &'a [(&'b Item, u32)]> + 'a {
    let mut rest = all;
    std::iter::from_fn(move || {
        if rest.is_empty() {
            return None;
        }
        let mut bytes = 0u64;
        let mut n = 0;
        while n < rest.len().min(DEFLATE_WINDOW) {
            bytes += len(rest[n].0);
            if n > 0 && bytes > DEFLATE_WINDOW_BYTES {
                break;
            }
            n += 1;
        }
        let (window, tail) = rest.split_at(n);
        rest = tail;
        Some(window)
    })
}

impl<'a> Ticker<'a> {
    fn new(callback: Option<&'a (dyn Fn(Progress) + Sync)>, phase: Phase, total: u64) -> Self {
        Ticker {
            callback,
            phase,
            total,
            done: AtomicU64::new(0),
        }
    }

    fn add(&self, n: u64) {
        if let Some(callback) = self.callback {
            // Relaxed: a progress count, not a synchronisation point.
            let done = self.done.fetch_add(n, Ordering::Relaxed) + n;
            callback(Progress {
                phase: self.phase,
                done,
                total: self.total,
            });
        }
    }
}

struct Written {
    source_id: u8,
    temp: TempPath,
    entries: u64,
    bytes: u64,
    digests: Vec<u64>,
}

fn io_err(path: &Path) -> impl FnOnce(std::io::Error) -> AssembleError + '_ {
    move |source| AssembleError::Io {
        path: path.to_path_buf(),
        source,
    }
}

/// Assembles the `.npy` entries and `.seg` segments of `log_dir` into one `{source_id}_log.npz` per source, in the
/// same directory, byte-identical to what ataraxis's `assemble_log_archives` (numpy's `savez`) writes for the same
/// messages: entries `{source:03}_{timestamp:020}.npy` in timestamp order, the onset entry first, a `_{k}` suffix
/// on the k-th further message with the same timestamp. With [`AssembleOptions::compression`] deflated, the
/// members are deflated instead (as `numpy.savez_compressed` writes them; the same arrays, not the same bytes).
///
/// A directory without entries gives an empty report.
///
/// # Errors
/// [`AssembleError`], naming the file: a missing directory, a badly named or malformed entry, a torn or corrupt
/// segment, a source without an onset, an existing archive (without `overwrite`), a failed verification, or an I/O
/// error. Nothing is removed, and no archive is renamed into place, when an error happens before the rename step.
///
/// # Examples
/// ```
/// use seqring::archive::{assemble_log_archives, AssembleOptions, LogArchive};
/// use seqring::format::segment::SegmentWriter;
/// use seqring_core::ring::record::encode_data;
///
/// let dir = tempfile::tempdir().unwrap();
/// let onset = 1_700_000_000_000_000u64;
/// let mut w = SegmentWriter::create(dir.path().join("0.seg"), onset).unwrap();
/// let mut batch = vec![0u8; 48];
/// encode_data(&mut batch[..24], 5, 0, &onset.to_le_bytes());
/// encode_data(&mut batch[24..], 5, 42, b"hello");
/// w.append_batch(&batch).unwrap();
/// w.finish().unwrap();
///
/// let report = assemble_log_archives(dir.path(), &AssembleOptions { verify: true, ..Default::default() }).unwrap();
/// assert_eq!(report.archives.len(), 1);
/// assert!(!dir.path().join("0.seg").exists());
/// let archive = LogArchive::open(dir.path().join("5_log.npz")).unwrap();
/// let message = archive.iter().next().unwrap().unwrap();
/// assert_eq!((message.timestamp_us, message.payload), (onset + 42, &b"hello"[..]));
/// ```
pub fn assemble_log_archives(
    log_dir: impl AsRef<Path>,
    options: &AssembleOptions<'_>,
) -> Result<AssembleReport, AssembleError> {
    assemble_with(log_dir.as_ref(), options, Onsets::Required)
}

/// [`assemble_log_archives`] with ataraxis's rules for onsets: a source need not have an onset entry, and a
/// timestamp-0 entry is packed whatever its payload (ataraxis's `assemble_log_archives` packs every entry as it
/// is; only its reader needs an onset). Segments still carry their 8-byte onsets, which their writer guarantees.
///
/// # Errors
/// As [`assemble_log_archives`], except the two onset errors.
///
/// # Examples
/// ```
/// use seqring::archive::{assemble_log_archives_lenient, AssembleOptions};
/// let dir = tempfile::tempdir().unwrap();
/// // One ataraxis entry without an onset: [source][timestamp u64 LE][payload].
/// let mut entry = vec![1u8];
/// entry.extend_from_slice(&7u64.to_le_bytes());
/// entry.push(42);
/// let mut npy = b"\x93NUMPY\x01\x00v\x00{'descr': '|u1', 'fortran_order': False, 'shape': (10,), }".to_vec();
/// npy.resize(127, b' ');
/// npy.push(b'\n');
/// npy.extend_from_slice(&entry);
/// std::fs::write(dir.path().join("001_00000000000000000007.npy"), npy).unwrap();
/// let verify = AssembleOptions { verify: true, ..Default::default() };
/// let report = assemble_log_archives_lenient(dir.path(), &verify).unwrap();
/// assert_eq!(report.archives.len(), 1);
/// ```
pub fn assemble_log_archives_lenient(
    log_dir: impl AsRef<Path>,
    options: &AssembleOptions<'_>,
) -> Result<AssembleReport, AssembleError> {
    assemble_with(log_dir.as_ref(), options, Onsets::Lenient)
}

/// Whether assembly requires every source to start with a valid onset entry.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Onsets {
    /// seqring's rule: an onset entry first, with an 8-byte payload.
    Required,
    /// ataraxis's: entries are packed as they are.
    Lenient,
}

fn assemble_with(dir: &Path, options: &AssembleOptions<'_>, onsets: Onsets) -> Result<AssembleReport, AssembleError> {
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(options.workers)
        .thread_name(|i| format!("seqring-assemble-{i}"))
        .build()
        .map_err(|e| AssembleError::Workers {
            workers: options.workers,
            reason: e.to_string(),
        })?;
    pool.install(|| assemble_in_pool(dir, options, onsets))
}

fn assemble_in_pool(
    dir: &Path,
    options: &AssembleOptions<'_>,
    onsets: Onsets,
) -> Result<AssembleReport, AssembleError> {
    let recovered = if options.recover_segments {
        recover_segments(dir)?
    } else {
        Vec::new()
    };
    let log = LogDir::open(dir)?;
    if onsets == Onsets::Required {
        log.check_onsets()?;
    }
    let targets: Vec<(u8, PathBuf)> = log
        .source_ids()
        .map(|s| (s, dir.join(format!("{s}{ARCHIVE_SUFFIX}"))))
        .collect();
    if !options.overwrite {
        if let Some((_, path)) = targets.iter().find(|(_, p)| p.symlink_metadata().is_ok()) {
            return Err(AssembleError::ArchiveExists { path: path.clone() });
        }
    }
    // A source's schema side file already sits beside its archive (the same directory): check it before writing.
    for (source_id, target) in &targets {
        crate::format::schema::read_schema(&crate::format::schema::schema_path_for_archive(target), *source_id)?;
    }
    let total: u64 = targets.iter().map(|(s, _)| log.entry_count(*s) as u64).sum();

    let ticker = Ticker::new(options.progress, Phase::Writing, total);
    let written: Vec<Written> = targets
        .par_iter()
        .map(|(source_id, _)| write_archive(&log, *source_id, options, onsets, &ticker))
        .collect::<Result<_, _>>()?;

    // An archive that replaces another is always verified first: the old one stays until the new one is proven.
    if options.verify || options.overwrite {
        let ticker = Ticker::new(options.progress, Phase::Verifying, total);
        written
            .par_iter()
            .try_for_each(|w| verify_archive(&log, w, onsets, &ticker))?;
    }

    let mut report = AssembleReport {
        archives: Vec::with_capacity(written.len()),
        verified: options.verify || options.overwrite,
        removed_files: 0,
        recovered,
    };
    for (w, (_, target)) in written.into_iter().zip(&targets) {
        w.temp.persist(target).map_err(|e| AssembleError::Io {
            path: target.clone(),
            source: e.error,
        })?;
        report.archives.push(AssembledArchive {
            source_id: w.source_id,
            path: target.clone(),
            entries: w.entries,
            bytes: w.bytes,
        });
    }
    if !report.archives.is_empty() {
        seqring_platform::sync_directory(dir).map_err(io_err(dir))?;
    }

    if options.remove_sources && !report.archives.is_empty() {
        let files: Vec<PathBuf> = log.files().collect();
        drop(log);
        let ticker = Ticker::new(options.progress, Phase::Removing, files.len() as u64);
        files.par_chunks(1024).try_for_each(|chunk| {
            for path in chunk {
                match std::fs::remove_file(path) {
                    Ok(()) => {}
                    Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                    Err(e) => return Err(io_err(path)(e)),
                }
            }
            ticker.add(chunk.len() as u64);
            Ok(())
        })?;
        report.removed_files = files.len() as u64;
        // The logger's list of onsets goes with the sources it describes (a logger continuing here writes it anew).
        match std::fs::remove_file(dir.join(crate::format::segment::ONSETS_FILE)) {
            Err(e) if e.kind() != std::io::ErrorKind::NotFound => return Err(io_err(dir)(e)),
            _ => {}
        }
    }
    Ok(report)
}

/// Recovers every segment of `dir`; returns the reports of those that had a torn tail.
fn recover_segments(dir: &Path) -> Result<Vec<RecoveryReport>, AssembleError> {
    if !dir.is_dir() {
        return Err(AssembleError::NotADirectory { path: dir.into() });
    }
    let mut paths = Vec::new();
    for entry in std::fs::read_dir(dir).map_err(io_err(dir))? {
        let path = entry.map_err(io_err(dir))?.path();
        if path.extension() == Some(std::ffi::OsStr::new(crate::format::segment::EXTENSION)) && path.is_file() {
            paths.push(path);
        }
    }
    paths.sort();
    let mut out = Vec::new();
    for path in paths {
        let report = crate::format::segment::recover(&path)?;
        if report.torn.is_some() {
            out.push(report);
        }
    }
    Ok(out)
}

fn digest(parts: [&[u8]; 2]) -> u64 {
    let mut h = Xxh3::new();
    h.update(parts[0]);
    h.update(parts[1]);
    h.digest()
}

/// The duplicate suffix of each item: 0 for the first of a timestamp, k for the k-th further one.
fn duplicates(items: &[Item]) -> impl Iterator<Item = (&Item, u32)> {
    let mut prev = None;
    let mut dup = 0u32;
    items.iter().map(move |item| {
        dup = if prev == Some(item.ts) {
            dup.saturating_add(1)
        } else {
            0
        };
        prev = Some(item.ts);
        (item, dup)
    })
}

/// The CRC-32 and deflate stream of an entry's npy bytes (header and data).
fn deflate_entry(deflater: &mut Deflater, data: EntryData<'_>) -> std::io::Result<(u32, Vec<u8>)> {
    let header = u8_vector_header(data.len());
    let [head, payload] = data.parts();
    let parts = [&header[..], head, payload];
    let mut crc = crc32fast::Hasher::new();
    parts.iter().for_each(|p| crc.update(p));
    deflater.deflated(&parts).map(|bytes| (crc.finalize(), bytes.to_vec()))
}

fn write_archive(
    log: &LogDir,
    source_id: u8,
    options: &AssembleOptions<'_>,
    onsets: Onsets,
    ticker: &Ticker<'_>,
) -> Result<Written, AssembleError> {
    let keep_digests = options.verify || options.overwrite;
    let dir = log.path();
    let items = log.items(source_id);
    let (file, temp) = tempfile::Builder::new()
        .prefix(&format!(".{source_id}{ARCHIVE_SUFFIX}."))
        .suffix(".tmp")
        .tempfile_in(dir)
        .map_err(io_err(dir))?
        .into_parts();
    let temp_path = temp.to_path_buf();
    let mut out = NpzWriter::with_compression(BufWriter::with_capacity(1 << 20, file), options.compression);
    let mut digests = Vec::with_capacity(if keep_digests { items.len() } else { 0 });
    let mut name = NameBuf::default();
    let mut pending = 0;
    // `deflated`: the entry's CRC-32 and deflate stream, when a worker already made them.
    let mut write = |i: usize,
                     item: &Item,
                     duplicate: u32,
                     data: EntryData<'_>,
                     deflated: Option<&(u32, Vec<u8>)>|
     -> Result<(), AssembleError> {
        if onsets == Onsets::Required && i == 0 && data.payload().len() != 8 {
            return Err(AssembleError::BadOnset {
                path: log.item_path(item),
                source_id,
                len: data.payload().len() as u64,
            });
        }
        let name = EntryName {
            source_id,
            timestamp: item.ts,
            duplicate,
        }
        .write(&mut name);
        let header = u8_vector_header(data.len());
        let [head, payload] = data.parts();
        match deflated {
            Some((crc, bytes)) => out.add_deflated(name, header.len() as u64 + data.len(), *crc, bytes),
            None => out.add(name, &[&header, head, payload]).map(drop),
        }
        .map_err(io_err(&temp_path))?;
        if keep_digests {
            digests.push(digest([head, payload]));
        }
        pending += 1;
        if pending == TICK {
            ticker.add(pending);
            pending = 0;
        }
        Ok(())
    };
    if let (true, Compression::Deflated { level }) = (items.iter().all(LogDir::is_segment_item), options.compression) {
        // Deflating is most of a compressed archive's cost (a fresh deflate stream per entry): the entries of a
        // window are deflated by every worker at once, then written in order.
        let all: Vec<(&Item, u32)> = duplicates(items).collect();
        let mut first = 0;
        for window in deflate_windows(&all, |item| log.segment_entry(source_id, item).len()) {
            let at = first;
            first += window.len();
            let deflated: Vec<(u32, Vec<u8>)> = window
                .par_iter()
                .map_init(
                    || Deflater::new(level),
                    |deflater, (item, _)| deflate_entry(deflater, log.segment_entry(source_id, item)),
                )
                .collect::<Result<_, _>>()
                .map_err(io_err(&temp_path))?;
            for (j, ((item, duplicate), d)) in window.iter().zip(&deflated).enumerate() {
                let data = log.segment_entry(source_id, item);
                write(at + j, item, *duplicate, data, Some(d))?;
            }
        }
    } else if items.iter().all(LogDir::is_segment_item) {
        for (i, (item, duplicate)) in duplicates(items).enumerate() {
            write(i, item, duplicate, log.segment_entry(source_id, item), None)?;
        }
    } else {
        // `.npy` files are read (and, when compressing, deflated) in parallel, a window at a time, and written in
        // order.
        let level = match options.compression {
            Compression::Deflated { level } => Some(level),
            Compression::Stored => None,
        };
        let all: Vec<(&Item, u32)> = duplicates(items).collect();
        for (w, window) in all.chunks(NPY_WINDOW).enumerate() {
            type Prepared = (Option<Loaded>, Option<(u32, Vec<u8>)>);
            let prepared: Vec<Prepared> = window
                .par_iter()
                .map_init(
                    || level.map(Deflater::new),
                    |deflater, (item, _)| -> Result<Prepared, AssembleError> {
                        let loaded = if LogDir::is_segment_item(item) {
                            None
                        } else {
                            Some(log.load_npy(source_id, item, Vec::new())?)
                        };
                        let Some(deflater) = deflater else {
                            return Ok((loaded, None));
                        };
                        let data = match &loaded {
                            Some(l) => EntryData::Npy(l.data()),
                            None => log.segment_entry(source_id, item),
                        };
                        let deflated = deflate_entry(deflater, data).map_err(io_err(&temp_path))?;
                        Ok((loaded, Some(deflated)))
                    },
                )
                .collect::<Result<_, _>>()?;
            for (j, ((item, duplicate), (loaded, deflated))) in window.iter().zip(&prepared).enumerate() {
                let data = match loaded {
                    Some(l) => EntryData::Npy(l.data()),
                    None => log.segment_entry(source_id, item),
                };
                write(w * NPY_WINDOW + j, item, *duplicate, data, deflated.as_ref())?;
            }
        }
    }
    ticker.add(pending);
    let (buffered, bytes) = out.finish().map_err(io_err(&temp_path))?;
    let file = buffered.into_inner().map_err(|e| io_err(&temp_path)(e.into_error()))?;
    file.sync_all().map_err(io_err(&temp_path))?;
    Ok(Written {
        source_id,
        temp,
        entries: items.len() as u64,
        bytes,
        digests,
    })
}

fn verify_archive(log: &LogDir, w: &Written, onsets: Onsets, ticker: &Ticker<'_>) -> Result<(), AssembleError> {
    let path: &Path = &w.temp;
    let archive = LogArchive::open_checked(
        path,
        Some(w.source_id),
        if onsets == Onsets::Required {
            OnsetCheck::Required
        } else {
            OnsetCheck::Unchecked
        },
        true,
    )?;
    archive.check_crcs()?;
    let items = log.items(w.source_id);
    let fail = |entry: String, reason: String| AssembleError::Verify {
        path: path.to_path_buf(),
        entry,
        reason,
    };
    if archive.entry_count() != items.len() {
        return Err(fail(
            "(all)".into(),
            format!("it holds {} entries, not {}", archive.entry_count(), items.len()),
        ));
    }
    let mut name = NameBuf::default();
    let mut pending = 0;
    for (i, (item, duplicate)) in duplicates(items).enumerate() {
        let expected = EntryName {
            source_id: w.source_id,
            timestamp: item.ts,
            duplicate,
        }
        .write(&mut name);
        let (entry_name, data) = archive.raw_entry(i)?;
        if entry_name != expected {
            return Err(fail(
                entry_name.to_owned(),
                format!("expected the entry '{expected}' here"),
            ));
        }
        if digest([&data[..9], &data[9..]]) != w.digests[i] {
            return Err(fail(
                entry_name.to_owned(),
                format!("its bytes differ from {}", log.describe(w.source_id, item)),
            ));
        }
        pending += 1;
        if pending == TICK {
            ticker.add(pending);
            pending = 0;
        }
    }
    ticker.add(pending);
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn deflate_windows_cover_every_entry_in_order_within_their_bounds() {
        let sizes: Vec<u32> = [
            vec![100; 10_000],
            vec![20 << 20, 3, 9 << 20, 9 << 20, 1],
            vec![200; 5000],
        ]
        .concat();
        let items: Vec<Item> = sizes
            .iter()
            .enumerate()
            .map(|(i, &len)| Item {
                ts: i as u64,
                pos: 0,
                len,
                file: 0,
            })
            .collect();
        let all: Vec<(&Item, u32)> = items.iter().map(|i| (i, 0)).collect();
        let windows: Vec<_> = deflate_windows(&all, |item| u64::from(item.len)).collect();
        let flat: Vec<u64> = windows.iter().flat_map(|w| w.iter().map(|(i, _)| i.ts)).collect();
        assert_eq!(flat, (0..items.len() as u64).collect::<Vec<_>>());
        for w in &windows {
            let bytes: u64 = w.iter().map(|(i, _)| u64::from(i.len)).sum();
            assert!(
                w.len() <= DEFLATE_WINDOW && (w.len() == 1 || bytes <= DEFLATE_WINDOW_BYTES),
                "{bytes}"
            );
        }
        assert!(
            windows.iter().any(|w| w.len() == 1 && w[0].0.len == 20 << 20),
            "a large entry alone"
        );
        assert_eq!(windows[0].len(), DEFLATE_WINDOW);
    }
}
