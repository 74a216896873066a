//! Marker-file discovery over a wide tree (100 animals × 500 sessions = 50 100 directories, a marker in one
//! session in ten), seqring's parallel walk side by side with two sequential peers on the same tree:
//! - `peer/sequential_scan`: ataraxis' own algorithm (a stack of directories, one listing each, the name compared
//!   per entry) written in Rust with `std::fs`, i.e. what the parallel walk replaces;
//! - `peer/walk_files_filter`: listing every file with seqring's `walk_files` and filtering by name afterwards (how
//!   `discover_trackers` searches).
//!
//! The tree lives in `SEQRING_BENCH_DIR`, else `/dev/shm` when present (tmpfs: the walk, not the disk, is
//! measured), else the temporary directory.
//!
//! The Python peer recorded in docs/BENCHMARKS.md is ataraxis' algorithm on the same tree shape, timed with
//! `time.perf_counter` around `discover(root, "session_data.yaml")` (median of 7):
//!
//! ```python
//! def scan(directory):
//!     pending = [directory]
//!     while pending:
//!         with os.scandir(pending.pop()) as it:
//!             for e in it:
//!                 yield e
//!                 if e.is_dir(follow_symlinks=False):
//!                     pending.append(Path(e.path))
//!
//! def discover(directory, name):
//!     return sorted(Path(e.path) for e in scan(directory) if e.name == name and e.is_file())
//! ```

use criterion::Criterion;
use seqring_state::processing::discover_marker_files;
use seqring_state::processing::tree::walk_files;
use std::path::{Path, PathBuf};
use std::time::Duration;

const MARKER: &str = "session_data.yaml";

fn bench_root() -> PathBuf {
    let base = std::env::var_os("SEQRING_BENCH_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            let shm = Path::new("/dev/shm");
            if shm.is_dir() {
                shm.to_path_buf()
            } else {
                std::env::temp_dir()
            }
        });
    base.join(format!("seqring-bench-markers-{}", std::process::id()))
}

fn build(root: &Path) -> usize {
    let mut markers = 0;
    for m in 0..100 {
        for j in 0..500 {
            let session = root.join(format!("a{m}/s{m}_{j}"));
            std::fs::create_dir_all(&session).unwrap();
            if j % 10 == 3 {
                std::fs::write(session.join(MARKER), b"").unwrap();
                markers += 1;
            }
        }
    }
    markers
}

/// ataraxis' traversal (`_scan_tree` + name test), sequential.
fn sequential_scan(root: &Path, name: &str) -> Vec<PathBuf> {
    let mut found = Vec::new();
    let mut pending = vec![root.to_path_buf()];
    while let Some(dir) = pending.pop() {
        for entry in std::fs::read_dir(&dir).unwrap() {
            let entry = entry.unwrap();
            let kind = entry.file_type().unwrap();
            if kind.is_dir() {
                pending.push(entry.path());
            } else if entry.file_name() == name && kind.is_file() {
                found.push(entry.path());
            }
        }
    }
    found.sort_unstable();
    found
}

fn discovery(c: &mut Criterion) {
    let root = bench_root();
    let markers = build(&root);
    assert_eq!(discover_marker_files(&root, MARKER).unwrap().len(), markers);
    assert_eq!(sequential_scan(&root, MARKER).len(), markers);
    let mut group = c.benchmark_group("markers/discover_50k_dirs");
    group.sample_size(10).measurement_time(Duration::from_secs(5));
    group.bench_function("seqring", |b| b.iter(|| discover_marker_files(&root, MARKER).unwrap()));
    group.bench_function("peer/sequential_scan", |b| b.iter(|| sequential_scan(&root, MARKER)));
    group.bench_function("peer/walk_files_filter", |b| {
        b.iter(|| {
            let mut found: Vec<PathBuf> = walk_files(&root)
                .unwrap()
                .into_iter()
                .filter(|f| f.path.file_name() == Some(MARKER.as_ref()))
                .map(|f| f.path)
                .collect();
            found.sort_unstable();
            found
        })
    });
    group.finish();
    let _ = std::fs::remove_dir_all(&root);
}

fn main() {
    let mut c = Criterion::default().configure_from_args();
    discovery(&mut c);
    c.final_summary();
}
