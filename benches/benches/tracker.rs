//! Tracker transition latency: one `start_job` + `complete_job` pair (two locked reload–change–atomic-write
//! cycles, each fsyncing the file and its directory) on trackers of 10, 100 and 1000 jobs, with the parts measured
//! side by side: the lock alone, and parsing plus formatting the file in memory.

use criterion::{BenchmarkId, Criterion};
use seqring_state::tracker::{format_tracker, parse_tracker, LockGuard, ProcessingTracker};
use std::path::{Path, PathBuf};
use std::time::Duration;

fn bench_dir() -> PathBuf {
    let base = std::env::var_os("SEQRING_BENCH_DIR").map_or_else(std::env::temp_dir, PathBuf::from);
    let dir = base.join(format!("seqring-bench-tracker-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

fn transitions(c: &mut Criterion) {
    let dir = bench_dir();
    let mut group = c.benchmark_group("tracker/start_complete");
    group.measurement_time(Duration::from_secs(3));
    for jobs in [10usize, 100, 1000] {
        let tracker = ProcessingTracker::new(dir.join(format!("t{jobs}.yaml"))).unwrap();
        let specs: Vec<String> = (0..jobs).map(|i| format!("batch_{i}")).collect();
        let pairs: Vec<(&str, &str)> = specs.iter().map(|s| ("process", s.as_str())).collect();
        let ids = tracker.initialize_jobs(&pairs).unwrap();
        let id = &ids[jobs / 2];
        group.bench_function(BenchmarkId::new("seqring", jobs), |b| {
            b.iter(|| {
                tracker.start_job(id, Some("bench")).unwrap();
                tracker.complete_job(id).unwrap();
            })
        });
        let text = std::fs::read_to_string(tracker.path()).unwrap();
        group.bench_function(BenchmarkId::new("part/parse_and_format_x2", jobs), |b| {
            b.iter(|| {
                for _ in 0..2 {
                    let table = parse_tracker(Path::new("t.yaml"), &text).unwrap();
                    std::hint::black_box(format_tracker(&table));
                }
            })
        });
    }
    let lock = dir.join("lock_only.yaml.lock");
    group.bench_function("part/lock_unlock_x2", |b| {
        b.iter(|| {
            for _ in 0..2 {
                drop(LockGuard::acquire(&lock, Duration::from_secs(1)).unwrap());
            }
        })
    });
    group.finish();
    let _ = std::fs::remove_dir_all(&dir);
}

fn main() {
    let mut c = Criterion::default().configure_from_args();
    transitions(&mut c);
    c.final_summary();
}
