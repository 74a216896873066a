//! loom models of seqring-core's protocols. Run with `RUSTFLAGS="--cfg loom" cargo test -p seqring-loom --release`.
