//! Instruction counts of opening a 1 M-entry log archive three ways, for comparisons that machine load cannot blur
//! (issue 24): `open` (directory only), `open_verified` (every entry checked at open), and `open` then every message
//! read once (each block checked on first access).
//!
//! Run under callgrind, one process per way, and subtract the process that only starts (`none`): the checks run
//! partly on rayon's threads, which `--toggle-collect` would not count, so whole processes are compared.
//!
//! ```text
//! cargo build --release -p seqring-benches --example archive_instructions
//! target/release/examples/archive_instructions /tmp/archive-1m/1_log.npz none   # makes the archive once
//! for way in none open verified read_all; do
//!     RAYON_NUM_THREADS=1 valgrind --tool=callgrind --callgrind-out-file=cg.$way \
//!         target/release/examples/archive_instructions /tmp/archive-1m/1_log.npz $way 2>&1 | grep Collected
//! done
//! ```
//!
//! The archive (1,000,001 entries of 32-byte payloads, as the `open_1m` bench writes it) is made at the path given
//! if it is not there yet, so the same file can be opened by other builds. Each way runs [`ROUNDS`] times, the drop
//! included: (its total − `none`'s) ÷ `ROUNDS` is the instructions per open (the drop is a few hundred).

use std::hint::black_box;
use std::path::{Path, PathBuf};

use seqring::archive::{assemble_log_archives, AssembleOptions, LogArchive};
use seqring::core::ring::record::{align8, encode_data, HEADER_LEN};
use seqring::format::segment::SegmentWriter;
use seqring_benches::read_every_message;

const ONSET: u64 = 1_763_700_000_000_000;
const PAYLOAD: usize = 32;
const ENTRIES: u64 = 1_000_000;
const ROUNDS: usize = 3;

/// A segment holding the onset and `count - 1` messages of 32 B of source 1 (as `benches/archive.rs` writes it).
fn make_one_source(dir: &Path, count: u64) {
    let mut w = SegmentWriter::create(dir.join("000.seg"), ONSET).unwrap();
    let mut r = vec![0u8; align8(HEADER_LEN + 8).unwrap()];
    encode_data(&mut r, 1, 0, &ONSET.to_le_bytes());
    w.append_batch(&r).unwrap();
    let len = align8(HEADER_LEN + PAYLOAD).unwrap();
    let mut first = 1;
    while first < count {
        let n = 4096.min(count - first);
        let mut out = vec![0u8; len * n as usize];
        for (i, chunk) in out.chunks_mut(len).enumerate() {
            let ts = first + i as u64;
            let mut payload = [0u8; PAYLOAD];
            payload[..8].copy_from_slice(&ts.to_le_bytes());
            encode_data(chunk, 1, ts, &payload);
        }
        w.append_batch(&out).unwrap();
        first += n;
    }
    w.finish().unwrap();
}

#[inline(never)]
fn count_open(path: &Path) -> LogArchive {
    LogArchive::open(black_box(path)).unwrap()
}

#[inline(never)]
fn count_open_verified(path: &Path) -> LogArchive {
    LogArchive::open_verified(black_box(path)).unwrap()
}

#[inline(never)]
fn count_open_read_all(path: &Path) -> LogArchive {
    let archive = LogArchive::open(black_box(path)).unwrap();
    black_box(read_every_message(&archive));
    archive
}

fn main() {
    let path = PathBuf::from(
        std::env::args()
            .nth(1)
            .unwrap_or_else(|| "/tmp/archive-1m/1_log.npz".into()),
    );
    if !path.exists() {
        let dir = path.parent().unwrap();
        std::fs::create_dir_all(dir).unwrap();
        make_one_source(dir, ENTRIES);
        let options = AssembleOptions {
            remove_sources: true,
            overwrite: true,
            ..Default::default()
        };
        assemble_log_archives(dir, &options).unwrap();
    }
    let way = std::env::args().nth(2).unwrap_or_else(|| "none".into());
    let f: fn(&Path) -> LogArchive = match way.as_str() {
        "none" => return,
        "open" => count_open,
        "verified" => count_open_verified,
        "read_all" => count_open_read_all,
        other => panic!("unknown way {other:?}: none, open, verified or read_all"),
    };
    for _ in 0..ROUNDS {
        drop(f(&path));
    }
    println!("{ROUNDS} rounds of {way}");
}
