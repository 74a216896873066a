//! The onsets of a log directory's sources, kept beside the log in [`FILE`], so that every logger that continues
//! the directory (a takeover after a crash, or `continue_recording`) gives each source the onset it already has.
//!
//! The logger region holds the onsets while a logger runs, but a logger can die while it takes over a dead one,
//! between removing the dead region and publishing its own; without this file its successor would find no onsets
//! and a source would get a second onset record in the middle of its log.
//!
//! A directory of `.npy` entries (ataraxis's layout) gets no such file, so it holds exactly what ataraxis writes:
//! its onsets are read from its onset entries (`{source:03}_{0:020}.npy`) instead.
//!
//! Invariants: the file is replaced atomically (temporary file and rename), one line `source onset_us` per
//! source; a source's onset, once noted, never changes; the drain notes a source's onset from its onset record
//! (the source's first record, stamped 0, with an 8-byte payload) *before* it releases the batch that holds it, so
//! a crash either leaves the onset in the file or leaves the batch in the ring for the next logger to note. A
//! file that cannot be read or written is ignored (the onset records themselves are in the log either way).

use std::path::{Path, PathBuf};

use seqring_core::ring::record::{Record, Records};

use crate::format::npy::u8_vector_data;
use crate::format::EntryName;

/// The file beside the log that lists the sources' onsets.
pub const FILE: &str = crate::format::segment::ONSETS_FILE;

/// The onsets known for a log directory.
#[derive(Debug)]
pub(crate) struct OnsetBook {
    /// The file the onsets are saved in (`None` for a directory of `.npy` entries, whose onset entries say it).
    path: Option<PathBuf>,
    /// Per source: the onset in µs since the UNIX epoch (0: none).
    known: Box<[u64; 256]>,
    /// The sources whose onset is unknown, as a 256-bit set (the drain's onset candidates are their records).
    unknown: [u64; 4],
    /// Whether an onset was noted since the file was last saved.
    changed: bool,
}

impl OnsetBook {
    /// The onsets recorded beside the segments in `dir` (none if the file is missing or unreadable).
    pub(crate) fn load(dir: &Path) -> Self {
        let path = dir.join(FILE);
        let mut book = OnsetBook {
            path: Some(path.clone()),
            known: Box::new([0u64; 256]),
            unknown: [u64::MAX; 4],
            changed: false,
        };
        if let Ok(text) = std::fs::read_to_string(&path) {
            for line in text.lines() {
                let mut words = line.split_whitespace();
                let source = words.next().and_then(|w| w.parse::<u8>().ok());
                let onset = words.next().and_then(|w| w.parse::<u64>().ok());
                if let (Some(s), Some(o)) = (source, onset) {
                    book.note(s, o);
                }
            }
        }
        book
    }

    /// The onsets of the `.npy` entries in `dir`, read from each source's onset entry; nothing is saved.
    pub(crate) fn from_entries(dir: &Path) -> Self {
        let mut book = OnsetBook {
            path: None,
            known: Box::new([0u64; 256]),
            unknown: [u64::MAX; 4],
            changed: false,
        };
        for entry in std::fs::read_dir(dir).into_iter().flatten().flatten() {
            let file_name = entry.file_name();
            let Some(name) = file_name.to_str().and_then(EntryName::parse) else {
                continue;
            };
            if name.timestamp != 0 || name.duplicate != 0 {
                continue;
            }
            let Ok(bytes) = std::fs::read(entry.path()) else {
                continue;
            };
            // The entry's data: [source u8][timestamp u64][onset u64].
            let data = u8_vector_data(&bytes).ok().map(|r| &bytes[r]);
            if let Some(onset) = data.and_then(|d| d.get(9..17)) {
                book.note(name.source_id, u64::from_le_bytes(onset.try_into().unwrap_or([0; 8])));
            }
        }
        book
    }

    /// The onset of `source`, if known.
    pub(crate) fn get(&self, source: u8) -> Option<u64> {
        Some(self.known[usize::from(source)]).filter(|&o| o != 0)
    }

    /// Notes the onset of `source` unless it has one; returns whether it was new.
    pub(crate) fn note(&mut self, source: u8, onset_us: u64) -> bool {
        let slot = &mut self.known[usize::from(source)];
        let new = *slot == 0 && onset_us != 0;
        if new {
            *slot = onset_us;
            self.unknown[usize::from(source >> 6)] &= !(1 << (source & 63));
        }
        new
    }

    /// Notes the onset records of a ring batch (the first record of a source without an onset, stamped 0, with
    /// an 8-byte payload) and saves the file if any was new.
    pub(crate) fn note_batch(&mut self, batch: &[u8]) {
        for record in Records::new(batch).flatten() {
            self.note_record(&record);
        }
        self.save_if_changed();
    }

    /// The sources whose onset is unknown, as a 256-bit set (bit `s % 64` of word `s / 64`).
    pub(crate) fn unknown(&self) -> &[u64; 4] {
        &self.unknown
    }

    /// Notes the onset records among the records at `offsets` of the ring batch `batch` (the candidates a
    /// [`BatchTally`](super::tally::BatchTally) kept for the sources in [`OnsetBook::unknown`]), calling `new` with
    /// each onset noted. Call [`OnsetBook::save_if_changed`] after the batch.
    pub(crate) fn note_candidates(&mut self, batch: &[u8], offsets: &[usize], mut new: impl FnMut(u8, u64)) {
        for &offset in offsets {
            let record = batch.get(offset..).and_then(|rest| Records::new(rest).next());
            if let Some(Ok(record)) = record {
                if let Some(onset) = self.note_record(&record) {
                    new(record.source_id, onset);
                }
            }
        }
    }

    /// Notes `record` if it is the onset record of a source without an onset; returns the onset if so. Call
    /// [`OnsetBook::save_if_changed`] after the batch.
    pub(crate) fn note_record(&mut self, record: &Record<'_>) -> Option<u64> {
        if record.timestamp != 0 || self.known[usize::from(record.source_id)] != 0 {
            return None;
        }
        let onset = u64::from_le_bytes(<[u8; 8]>::try_from(record.payload).ok()?);
        let new = self.note(record.source_id, onset);
        self.changed |= new;
        new.then_some(onset)
    }

    /// Saves the file if an onset was noted since the last save.
    pub(crate) fn save_if_changed(&mut self) {
        if self.changed {
            self.save();
            self.changed = false;
        }
    }

    /// Replaces the file with the known onsets (best effort: see the module docs).
    pub(crate) fn save(&self) {
        let mut text = String::new();
        for (source, &onset) in self.known.iter().enumerate() {
            if onset != 0 {
                text.push_str(&format!("{source} {onset}\n"));
            }
        }
        if let Some(path) = &self.path {
            let _ = seqring_platform::replace_file_atomically(path, |w| w.write_all(text.as_bytes()));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use seqring_core::ring::record::encode_data;

    #[test]
    fn onset_records_are_noted_once_and_survive_a_reload() {
        let dir = tempfile::tempdir().unwrap();
        let mut book = OnsetBook::load(dir.path());
        assert_eq!(book.get(3), None);
        let mut batch = vec![0u8; 24 * 3];
        encode_data(&mut batch[..24], 3, 0, &1_700u64.to_le_bytes());
        encode_data(&mut batch[24..48], 3, 0, &9_999u64.to_le_bytes()); // a later record stamped 0: not an onset
        encode_data(&mut batch[48..], 4, 5, &1_800u64.to_le_bytes()); // stamped 5: not an onset
        book.note_batch(&batch);
        assert_eq!((book.get(3), book.get(4)), (Some(1_700), None));
        let again = OnsetBook::load(dir.path());
        assert_eq!((again.get(3), again.get(4)), (Some(1_700), None));
        std::fs::write(dir.path().join(FILE), "garbage\n7 12\n7 13\n").unwrap();
        assert_eq!(
            OnsetBook::load(dir.path()).get(7),
            Some(12),
            "the first line of a source wins"
        );
    }

    #[test]
    fn a_directory_of_entries_gives_its_onsets_from_its_onset_entries_and_gets_no_file() {
        let dir = tempfile::tempdir().unwrap();
        let entry = |name: &str, source: u8, ts: u64, payload: &[u8]| {
            let mut data = vec![source];
            data.extend_from_slice(&ts.to_le_bytes());
            data.extend_from_slice(payload);
            let mut bytes = crate::format::npy::u8_vector_header(data.len() as u64).to_vec();
            bytes.extend_from_slice(&data);
            std::fs::write(dir.path().join(name), bytes).unwrap();
        };
        entry("005_00000000000000000000.npy", 5, 0, &1_700u64.to_le_bytes());
        entry("005_00000000000000000040.npy", 5, 40, b"message");
        entry("006_00000000000000000009.npy", 6, 9, &1_800u64.to_le_bytes());
        let mut book = OnsetBook::from_entries(dir.path());
        assert_eq!((book.get(5), book.get(6)), (Some(1_700), None));
        book.note(7, 99);
        book.save();
        assert!(
            !dir.path().join(FILE).exists(),
            "an entry directory holds only what ataraxis writes"
        );
    }
}
