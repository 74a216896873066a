//! Shared helpers for seqring's integration tests.
