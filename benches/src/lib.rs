//! Benchmarks live in `benches/` and `benches/examples/`; this library holds what several of them run alike.

use seqring::archive::LogArchive;

/// Reads every message of `archive` once, as a program's first full pass does (its timestamp and payload length,
/// each block of entries checked on the way); returns a sum of what it read, to keep the reads from being optimised
/// away.
///
/// # Panics
/// At an entry that fails its check.
///
/// # Examples
/// ```
/// use seqring::archive::LogArchive;
/// let fixture = concat!(env!("CARGO_MANIFEST_DIR"), "/../../shared/fixtures/ataraxis-7.2.0/archives/7_log.npz");
/// let archive = LogArchive::open(fixture)?;
/// assert_ne!(seqring_benches::read_every_message(&archive), 0);
/// # Ok::<(), seqring::archive::ArchiveError>(())
/// ```
pub fn read_every_message(archive: &LogArchive) -> u64 {
    let mut sum = 0u64;
    for m in archive {
        let m = m.unwrap();
        sum = sum.wrapping_add(m.timestamp_us).wrapping_add(m.payload.len() as u64);
    }
    sum
}
