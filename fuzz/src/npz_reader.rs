//! `LogArchive` over arbitrary bytes: opening must fail cleanly or give an archive whose every accessor works, and
//! every entry (checked on first access) must read as a message or give a typed error naming the archive, the same
//! each time and the same through every accessor.

use seqring::archive::{ArchiveError, LogArchive};

/// An error from an entry's check names the archive, and is not one that only opening or lookups give.
fn entry_error(name: &str, e: &ArchiveError) {
    assert!(e.to_string().starts_with(name), "{e}");
    assert!(
        !matches!(
            e,
            ArchiveError::Io { .. } | ArchiveError::IndexOutOfRange { .. } | ArchiveError::UnknownKey { .. }
        ),
        "{e}"
    );
}

/// Opens `data` as an archive (once with a source id in its name, once without) and walks everything it exposes.
pub fn fuzz(data: &[u8]) {
    for name in ["fuzz.npz", "5_log.npz"] {
        let Ok(archive) = LogArchive::from_bytes(name, data.to_vec()) else {
            continue;
        };
        let count = archive.message_count();
        assert_eq!(archive.iter().count(), count);
        assert_eq!(archive.iter().rev().count(), count);
        assert_eq!(archive.keys().count(), count);
        assert_eq!(archive.entry_count(), count + 1);
        // Every entry: a message of the archive's source, or its error; `get` agrees with the iteration.
        let mut bad = Vec::new();
        for (i, m) in archive.iter().enumerate() {
            match m {
                Ok(m) => {
                    assert_eq!(m.source_id, archive.source_id());
                    assert!(m.timestamp_us >= archive.onset_us());
                    assert_eq!(archive.get(i).unwrap(), m);
                }
                Err(e) => {
                    entry_error(name, &e);
                    assert_eq!(archive.get(i).unwrap_err().to_string(), e.to_string());
                    bad.push(i);
                }
            }
        }
        assert!(archive.get(count).is_err());
        assert!(archive.block_checks() <= archive.entry_count().div_ceil(LogArchive::BLOCK));
        match archive.verify_all() {
            Ok(()) => assert!(bad.is_empty()),
            Err(e) => {
                entry_error(name, &e);
                assert_eq!(e.to_string(), archive.get(bad[0]).unwrap_err().to_string());
            }
        }
        let ranges = archive.batches(-1, 4);
        assert_eq!(ranges.iter().map(|r| r.len()).sum::<usize>(), count);
        for r in ranges {
            let errors = archive.iter_range(r.clone()).filter(Result::is_err).count();
            assert_eq!(errors, bad.iter().filter(|i| r.contains(i)).count());
        }
        let keys: Vec<String> = archive.keys().take(8).map(str::to_owned).collect();
        for found in archive.iter_keys(&keys) {
            if let Err(e) = found {
                entry_error(name, &e); // (a key names an entry; a zip may hold two of one name)
            }
        }
        assert!(archive.iter_keys(["nope"]).all(|r| r.is_err()));
        let _ = archive.check_crcs();
        match archive.read_all() {
            Ok(all) => assert_eq!((all.payloads.len(), bad.len()), (count, 0)),
            Err(e) => entry_error(name, &e),
        }
    }
}
