//! `seqring`: the std crate on top of [`seqring_core`].
//!
//! It puts the core's lock-free layouts onto OS shared memory and files, and adds the tools around them: log
//! archives, configs, the processing tracker and mapped structures.

pub use seqring_core as core;

pub mod archive;
pub mod config;
pub mod logger;
pub mod mapped;
pub mod nested_dict;
pub mod processing;
pub mod region;
pub mod segment;
pub mod shared_array;
pub mod tracker;

/// The README's examples, compiled and run as doctests.
#[cfg(doctest)]
#[doc = include_str!("../../README.md")]
pub struct ReadmeDoctests;
