//! The seqlock array.
