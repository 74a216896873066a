//! Helpers shared by the `archive_*` integration tests: fixture paths, segment building, and the numpy interop
//! script (`tests/python/archive_interop.py`).
#![allow(dead_code)]

use std::path::Path;
use std::process::Command;

use seqring::archive::{assemble_log_archives, AssembleOptions};
use seqring::core::ring::record::{align8, encode_data, HEADER_LEN};
use seqring::format::segment::SegmentWriter;

/// Copies the regular files of `src` into `dst` (created), writable.
pub fn copy_dir(src: &Path, dst: &Path) {
    std::fs::create_dir_all(dst).unwrap();
    for entry in std::fs::read_dir(src).unwrap() {
        let entry = entry.unwrap();
        if entry.file_type().unwrap().is_file() {
            let to = dst.join(entry.file_name());
            std::fs::copy(entry.path(), &to).unwrap();
            let mut perms = std::fs::metadata(&to).unwrap().permissions();
            #[allow(clippy::permissions_set_readonly_false)]
            perms.set_readonly(false);
            std::fs::set_permissions(&to, perms).unwrap();
        }
    }
}

/// One message as a logger would write it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Msg {
    pub source: u8,
    pub ts: u64,
    pub payload: Vec<u8>,
}

impl Msg {
    pub fn new(source: u8, ts: u64, payload: impl Into<Vec<u8>>) -> Self {
        Msg {
            source,
            ts,
            payload: payload.into(),
        }
    }

    /// The onset message of a source.
    pub fn onset(source: u8, onset_us: u64) -> Self {
        Msg::new(source, 0, onset_us.to_le_bytes())
    }
}

/// The ring bytes of `messages`, with a padding record after every `pad_every`-th record (0: none), the way a
/// ring batch can hold them.
pub fn ring_bytes(messages: &[Msg], pad_every: usize) -> Vec<u8> {
    let mut out = Vec::new();
    for (i, m) in messages.iter().enumerate() {
        let len = align8(HEADER_LEN + m.payload.len()).unwrap();
        let start = out.len();
        out.resize(start + len, 0);
        encode_data(&mut out[start..], m.source, m.ts, &m.payload);
        if pad_every > 0 && i % pad_every == pad_every - 1 {
            // A 16-byte padding record: length 16, kind 2.
            let mut pad = [0u8; 16];
            pad[0] = 16;
            pad[4] = 2;
            out.extend_from_slice(&pad);
        }
    }
    out
}

/// Writes a segment holding `batches`.
pub fn write_segment(path: &Path, onset_us: u64, batches: &[Vec<Msg>]) {
    let mut w = SegmentWriter::create(path, onset_us).unwrap();
    for batch in batches {
        w.append_batch(&ring_bytes(batch, 3)).unwrap();
    }
    w.finish().unwrap();
}

/// The archive `{source}_log.npz` that seqring assembles, with `options`, from one segment holding the one batch
/// `messages` (the onset first) of source `source`, as bytes.
pub fn assembled_archive(source: u8, onset_us: u64, messages: Vec<Msg>, options: &AssembleOptions) -> Vec<u8> {
    let dir = tempfile::tempdir().unwrap();
    write_segment(&dir.path().join("a.seg"), onset_us, &[messages]);
    assemble_log_archives(dir.path(), options).unwrap();
    std::fs::read(dir.path().join(format!("{source}_log.npz"))).unwrap()
}

/// `python3` with numpy, or `None` when `SEQRING_SKIP_PYTHON` is set.
pub fn python() -> Option<String> {
    seqring_tests::python_with("numpy")
}

/// Runs `tests/python/archive_interop.py` with `args`; panics with its stderr if it fails.
pub fn interop(python: &str, args: &[&str]) -> String {
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("python/archive_interop.py");
    let out = Command::new(python).arg(script).args(args).output().unwrap();
    assert!(
        out.status.success(),
        "archive_interop.py {args:?} failed:\n{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

/// Lowercase hex.
pub fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// Writes what the reader returns for `archive` as JSON for `archive_interop.py check`.
pub fn reader_view(archive: &seqring::archive::LogArchive, out: &Path) {
    let messages: Vec<serde_json::Value> = archive
        .iter()
        .map(Result::unwrap)
        .zip(archive.keys())
        .map(|(m, key)| serde_json::json!([key, m.source_id, m.timestamp_us - archive.onset_us(), hex(m.payload)]))
        .collect();
    let view = serde_json::json!({
        "source_id": archive.source_id(),
        "onset_us": archive.onset_us(),
        "messages": messages,
    });
    std::fs::write(out, serde_json::to_vec(&view).unwrap()).unwrap();
}
