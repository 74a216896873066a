//! Disk sinks: where the drain thread writes each batch, and the exact account of what reached the disk.
//!
//! Invariants (both formats):
//! - when `write` returns, the batch is in the kernel (or counted as unwritten): nothing is buffered in user
//!   space, so the drain may release the ring space and a crash of the logger process loses nothing;
//! - every record handed to a sink is counted exactly once, in `written` (it is in a file on disk) or in
//!   `unwritten` (a write failed); after the first error nothing more is written and every later record counts as
//!   unwritten;
//! - segments: after a failed write the file is recovered (its torn tail cut) and its records are counted from the
//!   file itself, so `written` is what a reader will find;
//! - npy entries: a file whose write failed is removed; an entry is never overwritten (`_{k}` suffixes), so an
//!   entry once synced stays synced: a sync flushes only the entries written since the previous one (in
//!   `unsynced`). Linux does it for the whole file system in one `syncfs`; macOS and Windows have no such call
//!   (macOS's `sync(2)` does not wait for the disk, Windows flushes a whole volume only for administrators), so
//!   there each new entry is flushed on its own (`fsync`, `FlushFileBuffers`), from the writer threads, and then
//!   the directory (Unix), at each `fsync_interval` and at `stop()`: the same promise (what was written before
//!   the last sync survives a machine crash) at a cost in proportion to the new entries, not to the directory.
//!   The list is bounded ([`UNSYNCED_MAX`] names, 16 MiB): past it (a long run without `fsync_interval`) the next
//!   sync flushes every file of the directory instead, as [`seqring_platform::sync_filesystem`] does there.

use std::fs::OpenOptions;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use seqring_core::ring::record::{Record, Records};

use super::tally::{BatchTally, Tally};
use super::WriteError;
use crate::format::npy::u8_vector_header;
use crate::format::segment::{self, Origin, Segment, SegmentWriter, EXTENSION};
use crate::format::{EntryName, NameBuf};

/// What a sink did, once finished.
#[derive(Debug, Default)]
pub(crate) struct SinkOutcome {
    pub(crate) written: Tally,
    pub(crate) unwritten: Tally,
    pub(crate) files: Vec<PathBuf>,
    pub(crate) npy_entries: u64,
    pub(crate) error: Option<Arc<WriteError>>,
}

/// The disk writer of a logger.
#[derive(Debug)]
pub(crate) enum Sink {
    Segments(Box<SegmentSink>),
    Npy(Box<NpySink>),
}

impl Sink {
    /// Writes one batch of ring records drained from `origin`, into the kernel, before it returns; `tally` counts
    /// the batch's records (the segment sink reads nothing else of them).
    pub(crate) fn write(&mut self, origin: Origin, batch: &[u8], tally: &BatchTally) {
        match self {
            Sink::Segments(s) => s.write(origin, batch, tally),
            Sink::Npy(s) => s.write(batch, tally),
        }
    }

    /// Makes everything written so far durable.
    pub(crate) fn sync(&mut self) {
        match self {
            Sink::Segments(s) => s.sync(),
            Sink::Npy(s) => s.sync(),
        }
    }

    /// The first write error, if any.
    pub(crate) fn error(&self) -> Option<&Arc<WriteError>> {
        match self {
            Sink::Segments(s) => s.out.error.as_ref(),
            Sink::Npy(s) => s.out.error.as_ref(),
        }
    }

    /// Syncs and closes everything; returns the account.
    pub(crate) fn finish(self) -> SinkOutcome {
        match self {
            Sink::Segments(s) => s.finish(),
            Sink::Npy(s) => s.finish(),
        }
    }
}

/// The name of the `seq`-th segment of a log directory. Names sort in writing order.
pub(crate) fn segment_name(seq: u64) -> String {
    format!("segment_{seq:06}.{EXTENSION}")
}

/// The sequence number after the highest `segment_*.seg` already in `dir`.
fn next_segment_seq(dir: &Path) -> Result<u64, WriteError> {
    let entries = std::fs::read_dir(dir).map_err(|source| WriteError::Io {
        path: dir.into(),
        source,
    })?;
    let mut next = 0;
    for entry in entries.flatten() {
        let name = entry.file_name();
        let seq = name
            .to_str()
            .and_then(|n| n.strip_prefix("segment_"))
            .and_then(|n| n.strip_suffix(&format!(".{EXTENSION}")))
            .and_then(|n| n.parse::<u64>().ok());
        if let Some(seq) = seq {
            next = next.max(seq + 1);
        }
    }
    Ok(next)
}

/// Appends batches to segment files, rolling to a new file at a size.
#[derive(Debug)]
pub(crate) struct SegmentSink {
    dir: PathBuf,
    onset_us: u64,
    segment_size: u64,
    next_seq: u64,
    writer: Option<SegmentWriter>,
    /// Records appended to the current file.
    file_tally: Tally,
    out: SinkOutcome,
}

impl SegmentSink {
    /// A sink writing segments into `dir`; it creates its first segment at once, so that a directory it cannot
    /// write to is an error now rather than at the first record.
    pub(crate) fn new(dir: &Path, onset_us: u64, segment_size: u64) -> Result<Self, WriteError> {
        let mut sink = SegmentSink {
            dir: dir.into(),
            onset_us,
            segment_size,
            next_seq: next_segment_seq(dir)?,
            writer: None,
            file_tally: Tally::default(),
            out: SinkOutcome::default(),
        };
        sink.roll()?;
        Ok(sink)
    }

    fn write(&mut self, origin: Origin, batch: &[u8], tally: &BatchTally) {
        if self.out.error.is_some() {
            self.out.unwritten.add_batch_tally(tally);
            return;
        }
        if self
            .writer
            .as_ref()
            .is_none_or(|w| w.bytes_written() >= self.segment_size)
        {
            if let Err(e) = self.roll() {
                self.fail(e);
                self.out.unwritten.add_batch_tally(tally);
                return;
            }
        }
        let Some(writer) = self.writer.as_mut() else { return };
        self.file_tally.add_batch_tally(tally);
        if let Err(e) = writer.append_batch_from(origin, batch) {
            self.fail(e.into());
        }
    }

    /// Finishes the current file (if any) and opens the next.
    fn roll(&mut self) -> Result<(), WriteError> {
        self.close_file()?;
        let path = self.dir.join(segment_name(self.next_seq));
        self.next_seq += 1;
        let mut writer = SegmentWriter::create(&path, self.onset_us)?;
        writer.preallocate(self.segment_size);
        self.out.files.push(path);
        self.writer = Some(writer);
        Ok(())
    }

    /// Syncs and closes the current file, moving its records to `written`.
    fn close_file(&mut self) -> Result<(), WriteError> {
        if let Some(writer) = self.writer.take() {
            // On failure `fail` reconciles the file, whose path is the last one in `files`.
            writer.finish()?;
            self.out.written.merge(&self.file_tally);
            self.file_tally = Tally::default();
        }
        Ok(())
    }

    fn sync(&mut self) {
        if let Some(writer) = self.writer.as_mut() {
            if let Err(e) = writer.sync() {
                self.fail(e.into());
            }
        }
    }

    /// Records the first error and settles the current file: cut its torn tail, then count what it really holds.
    fn fail(&mut self, error: WriteError) {
        drop(self.writer.take());
        if self.out.error.is_none() {
            self.out.error = Some(Arc::new(error));
        }
        let file_tally = std::mem::take(&mut self.file_tally);
        if file_tally.total_records() == 0 {
            return;
        }
        let Some(path) = self.out.files.last() else {
            self.out.unwritten.merge(&file_tally);
            return;
        };
        match count_segment(path) {
            Ok(on_disk) => {
                self.out.written.merge(&on_disk);
                self.out.unwritten.merge(&file_tally.minus(&on_disk));
            }
            // The file cannot be read back: count none of it as written.
            Err(_) => self.out.unwritten.merge(&file_tally),
        }
    }

    fn finish(mut self) -> SinkOutcome {
        if self.out.error.is_none() {
            if let Err(e) = self.close_file() {
                self.fail(e);
            }
        }
        self.out
    }
}

/// Recovers the segment at `path` (cuts a torn tail) and counts its records per source.
fn count_segment(path: &Path) -> Result<Tally, WriteError> {
    segment::recover(path)?;
    let segment = Segment::open(path)?;
    let mut tally = Tally::default();
    for record in segment.records() {
        let (_, record) = record?;
        tally.add(record.source_id, record.payload.len());
    }
    Ok(tally)
}

/// Writes one ataraxis `.npy` entry per record, from a pool of writer threads.
#[derive(Debug)]
pub(crate) struct NpySink {
    dir: PathBuf,
    pool: rayon::ThreadPool,
    /// Per source: the last record's timestamp and duplicate number.
    last: Box<[(u64, u32, bool); 256]>,
    /// Whether a sync flushes the new entries one by one (every OS but Linux, which has `syncfs`).
    per_entry: bool,
    /// With `per_entry`: the entries written since the last sync, at most `unsynced_max` of them.
    unsynced: Vec<EntryName>,
    /// [`UNSYNCED_MAX`] (smaller in tests).
    unsynced_max: usize,
    /// More entries than `unsynced_max` were written since the last sync: it flushes the whole directory.
    overflowed: bool,
    out: SinkOutcome,
}

impl NpySink {
    /// A sink writing entries into `dir` from `writers` threads; it checks at once that it can create files there.
    pub(crate) fn new(dir: &Path, writers: usize) -> Result<Self, WriteError> {
        let probe = dir.join(format!(".seqring-probe-{}", std::process::id()));
        let created = OpenOptions::new().write(true).create(true).truncate(true).open(&probe);
        let _ = std::fs::remove_file(&probe);
        created.map_err(|source| WriteError::Io {
            path: dir.into(),
            source,
        })?;
        let pool = rayon::ThreadPoolBuilder::new()
            .num_threads(writers.max(1))
            .thread_name(|i| format!("seqring-npy-{i}"))
            .build()
            .map_err(|e| WriteError::Io {
                path: dir.into(),
                source: std::io::Error::other(e),
            })?;
        Ok(NpySink {
            dir: dir.into(),
            pool,
            last: Box::new([(0, 0, false); 256]),
            per_entry: !cfg!(target_os = "linux"),
            unsynced: Vec::new(),
            unsynced_max: UNSYNCED_MAX,
            overflowed: false,
            out: SinkOutcome::default(),
        })
    }

    fn write(&mut self, batch: &[u8], tally: &BatchTally) {
        if self.out.error.is_some() {
            self.out.unwritten.add_batch_tally(tally);
            return;
        }
        let mut jobs: Vec<(Record<'_>, u32)> = Vec::new();
        for record in Records::new(batch).flatten() {
            let last = &mut self.last[usize::from(record.source_id)];
            let k = if last.2 && last.0 == record.timestamp {
                last.1 + 1
            } else {
                0
            };
            *last = (record.timestamp, k, true);
            jobs.push((record, k));
        }
        let dir = &self.dir;
        let results: Vec<Result<EntryName, WriteError>> = self.pool.install(|| {
            use rayon::prelude::*;
            jobs.par_iter()
                .map(|(record, k)| write_entry(dir, record, *k))
                .collect()
        });
        for ((record, _), result) in jobs.iter().zip(results) {
            match result {
                Ok(entry) => {
                    self.out.written.add(record.source_id, record.payload.len());
                    self.out.npy_entries += 1;
                    if self.per_entry {
                        if self.unsynced.len() < self.unsynced_max {
                            self.unsynced.push(entry);
                        } else {
                            self.overflowed = true;
                        }
                    }
                }
                Err(e) => {
                    self.out.unwritten.add(record.source_id, record.payload.len());
                    if self.out.error.is_none() {
                        self.out.error = Some(Arc::new(e));
                    }
                }
            }
        }
    }

    fn sync(&mut self) {
        let result = if self.per_entry && !self.overflowed {
            sync_entries(&self.dir, &self.unsynced, &self.pool)
        } else {
            sync_filesystem(&self.dir).map_err(|source| WriteError::Io {
                path: self.dir.clone(),
                source,
            })
        };
        self.unsynced.clear();
        self.overflowed = false;
        if let Err(e) = result {
            if self.out.error.is_none() {
                self.out.error = Some(Arc::new(e));
            }
        }
    }

    fn finish(mut self) -> SinkOutcome {
        self.sync();
        self.out
    }
}

/// The most entry names an npy sink keeps between two syncs (16 bytes each).
const UNSYNCED_MAX: usize = 1 << 20;

/// Writes one entry as ataraxis does: `{source:03}_{timestamp:020}.npy` (or `…_{k}.npy` for a further record with
/// the same source and timestamp), a 1-D `|u1` array `[source u8][timestamp u64 LE][payload]`. Never overwrites:
/// a taken name moves on to the next `k`. A failed write removes its file. Returns the name written.
fn write_entry(dir: &Path, record: &Record<'_>, mut k: u32) -> Result<EntryName, WriteError> {
    thread_local! {
        static BUF: std::cell::RefCell<Vec<u8>> = const { std::cell::RefCell::new(Vec::new()) };
    }
    let mut name = NameBuf::default();
    let (file, path, entry) = loop {
        let entry = EntryName {
            source_id: record.source_id,
            timestamp: record.timestamp,
            duplicate: k,
        };
        let path = dir.join(entry.write(&mut name));
        match seqring_platform::create_private(&path) {
            Ok(file) => break (file, path, entry),
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists && k < u32::MAX => k += 1,
            Err(source) => return Err(WriteError::Io { path, source }),
        }
    };
    let result = BUF.with_borrow_mut(|buf| {
        buf.clear();
        buf.extend_from_slice(&u8_vector_header(9 + record.payload.len() as u64));
        buf.push(record.source_id);
        buf.extend_from_slice(&record.timestamp.to_le_bytes());
        buf.extend_from_slice(record.payload);
        (&file).write_all(buf)
    });
    match result {
        Ok(()) => Ok(entry),
        Err(source) => {
            drop(file);
            let _ = std::fs::remove_file(&path);
            Err(WriteError::Io { path, source })
        }
    }
}

/// Flushes the entries `entries` of `dir` to disk (each file on its own, from `pool`'s threads), then `dir`
/// itself where the OS syncs directories (Unix), so their names are durable too. The flush needs write access
/// on Windows (`FlushFileBuffers`).
///
/// # Errors
/// The first entry (or the directory) that could not be opened or flushed, by path.
fn sync_entries(dir: &Path, entries: &[EntryName], pool: &rayon::ThreadPool) -> Result<(), WriteError> {
    use rayon::prelude::*;
    pool.install(|| {
        entries.par_iter().try_for_each_init(NameBuf::default, |name, entry| {
            let path = dir.join(entry.write(name));
            OpenOptions::new()
                .write(true)
                .open(&path)
                .and_then(|file| file.sync_all())
                .map_err(|source| WriteError::Io { path, source })
        })
    })?;
    seqring_platform::sync_directory(dir).map_err(|source| WriteError::Io {
        path: dir.into(),
        source,
    })
}

/// Flushes every file of `dir` to disk, then the directory itself ([`seqring_platform::sync_filesystem`]: one
/// `syncfs` on Linux, which is the npy sink's sync there; each file elsewhere, after an overflow of `unsynced`).
fn sync_filesystem(dir: &Path) -> std::io::Result<()> {
    seqring_platform::sync_filesystem(dir)
}

#[cfg(test)]
mod tests {
    use super::*;
    use seqring_core::ring::record::{align8, encode_data, HEADER_LEN};

    /// A batch of ring records `(source, timestamp, payload)`, as the drain hands it to a sink.
    fn batch(records: &[(u8, u64, &[u8])]) -> Vec<u8> {
        let mut out = Vec::new();
        for &(source, timestamp, payload) in records {
            let start = out.len();
            out.resize(start + align8(HEADER_LEN + payload.len()).unwrap(), 0);
            encode_data(&mut out[start..], source, timestamp, payload);
        }
        out
    }

    fn names(dir: &Path) -> Vec<String> {
        let mut names: Vec<String> = std::fs::read_dir(dir)
            .unwrap()
            .map(|e| e.unwrap().file_name().into_string().unwrap())
            .collect();
        names.sort();
        names
    }

    #[test]
    fn npy_sink_syncs_only_the_entries_written_since_the_last_sync() {
        let dir = tempfile::tempdir().unwrap();
        let mut sink = NpySink::new(dir.path(), 2).unwrap();
        assert_eq!(sink.per_entry, !cfg!(target_os = "linux"));
        sink.per_entry = true; // as on macOS and Windows, here too
        let b = batch(&[(1, 5, b"a"), (1, 5, b"b"), (2, 9, b"c")]);
        sink.write(&b, &BatchTally::of_bytes(&b));
        let listed: Vec<String> = sink
            .unsynced
            .iter()
            .map(|e| e.write(&mut NameBuf::default()).to_owned())
            .collect();
        assert_eq!(
            listed,
            names(dir.path()),
            "every entry written, with its duplicate suffix"
        );
        sink.sync();
        assert!(sink.unsynced.is_empty() && sink.out.error.is_none());
        // A synced entry removed behind the sink's back is not flushed again: only the new one is.
        std::fs::remove_file(dir.path().join(&listed[0])).unwrap();
        let b = batch(&[(3, 1, b"d")]);
        sink.write(&b, &BatchTally::of_bytes(&b));
        assert_eq!(sink.unsynced.len(), 1);
        sink.sync();
        let out = sink.finish();
        assert!(out.error.is_none(), "{:?}", out.error);
        assert_eq!(out.npy_entries, 4);
    }

    #[test]
    fn npy_sink_past_its_list_of_unsynced_entries_syncs_the_whole_directory() {
        let dir = tempfile::tempdir().unwrap();
        let mut sink = NpySink::new(dir.path(), 2).unwrap();
        sink.per_entry = true;
        sink.unsynced_max = 2;
        let b = batch(&[(1, 1, b"a"), (1, 2, b"b"), (1, 3, b"c")]);
        sink.write(&b, &BatchTally::of_bytes(&b));
        assert_eq!((sink.unsynced.len(), sink.overflowed), (2, true));
        sink.sync();
        assert_eq!((sink.unsynced.len(), sink.overflowed), (0, false));
        assert!(sink.out.error.is_none(), "{:?}", sink.out.error);
        let b = batch(&[(1, 4, b"d")]);
        sink.write(&b, &BatchTally::of_bytes(&b));
        assert_eq!((sink.unsynced.len(), sink.overflowed), (1, false));
        assert_eq!(sink.finish().npy_entries, 4);
    }

    #[test]
    fn syncing_entries_flushes_each_and_names_the_one_that_fails() {
        let dir = tempfile::tempdir().unwrap();
        let pool = rayon::ThreadPoolBuilder::new().num_threads(2).build().unwrap();
        let entries: Vec<EntryName> = (0..5)
            .map(|timestamp| EntryName {
                source_id: 7,
                timestamp,
                duplicate: 0,
            })
            .collect();
        for e in &entries {
            std::fs::write(dir.path().join(e.write(&mut NameBuf::default())), b"x").unwrap();
        }
        sync_entries(dir.path(), &entries, &pool).unwrap();
        let gone = entries[3].write(&mut NameBuf::default()).to_owned();
        std::fs::remove_file(dir.path().join(&gone)).unwrap();
        match sync_entries(dir.path(), &entries, &pool) {
            Err(WriteError::Io { path, source }) => {
                assert_eq!(path, dir.path().join(&gone));
                assert_eq!(source.kind(), std::io::ErrorKind::NotFound);
            }
            other => panic!("expected the missing entry's error, got {other:?}"),
        }
    }
}
