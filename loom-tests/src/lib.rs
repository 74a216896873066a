//! loom models of seqring-core's protocols, run on loom atomics through the core's own code paths.
//!
//! Run with `RUSTFLAGS="--cfg loom" LOOM_MAX_PREEMPTIONS=2 cargo test -p seqring-loom --release`. Without
//! `--cfg loom` the models compile to nothing.
//!
//! Each model builds its region in the main thread and leaks it, so that threads share one `Copy` handle instead
//! of re-validating the header (which would only add scheduling points).
#![cfg(loom)]

use seqring_core::memory::LoomRegion;
use seqring_core::RawRegion;

/// A zeroed loom region of `len` bytes, leaked for the rest of this model execution.
pub fn leaked_region(len: usize) -> RawRegion<'static> {
    Box::leak(Box::new(LoomRegion::new(len))).region()
}

/// How many times a model's wait yields before it fails: loom runs a yielding thread again only after another
/// thread made progress, so a wait that needs more than this is a livelock, reported by an assertion rather than
/// by loom's branch limit.
pub const SPIN_BOUND: usize = 200;

/// Spins (yielding to loom) until `f` returns `Some`, at most [`SPIN_BOUND`] times.
///
/// # Panics
/// If `f` is still `None` after the bound: what the model waited for never happened.
pub fn spin_until<T>(what: &str, mut f: impl FnMut() -> Option<T>) -> T {
    for _ in 0..SPIN_BOUND {
        if let Some(v) = f() {
            return v;
        }
        loom::thread::yield_now();
    }
    panic!("gave up waiting for {what} after {SPIN_BOUND} yields");
}

/// Runs `f` under loom with a branch limit that fits these models' retry loops. The preemption bound comes from
/// `LOOM_MAX_PREEMPTIONS` (CI uses 2).
pub fn model(f: impl Fn() + Sync + Send + 'static) {
    let mut builder = loom::model::Builder::new();
    builder.max_branches = 20_000;
    builder.check(f);
}
