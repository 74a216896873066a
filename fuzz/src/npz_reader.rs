//! `LogArchive` over arbitrary bytes: opening must fail cleanly or give an archive whose every accessor works.

use seqring::archive::LogArchive;

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
        for m in &archive {
            assert_eq!(m.source_id, archive.source_id());
            assert!(m.timestamp_us >= archive.onset_us());
        }
        let ranges = archive.batches(-1, 4);
        assert_eq!(ranges.iter().map(|r| r.len()).sum::<usize>(), count);
        for r in ranges {
            let _ = archive.iter_range(r).count();
        }
        let keys: Vec<String> = archive.keys().take(8).map(str::to_owned).collect();
        assert!(archive.iter_keys(&keys).all(|r| r.is_ok()));
        assert!(archive.iter_keys(["nope"]).all(|r| r.is_err()));
        let _ = archive.check_crcs();
        let all = archive.read_all();
        assert_eq!(all.payloads.len(), count);
    }
}
