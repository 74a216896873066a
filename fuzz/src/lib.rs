//! The bodies of seqring's fuzz targets.
//!
//! Each target in `fuzz_targets/` is a one-line wrapper around a function here, and `tests/replay.rs` replays every
//! file of `corpus/<target>/` through [`run`] as an ordinary stable test. A target must never panic, loop forever
//! or read out of bounds, whatever the bytes.

pub mod mapped_open;
pub mod mapped_rkyv;
pub mod npy_header;
pub mod npz_reader;
pub mod region_header;
pub mod ring_consumer;
pub mod schema_file;
pub mod segment_recovery;
pub mod shared_array_open;
pub mod key_path;
pub mod logger_region;
pub mod tracker_yaml;

/// Runs the target named `target` on `data`; returns false for an unknown target name.
pub fn run(target: &str, data: &[u8]) -> bool {
    match target {
        "region_header" => region_header::fuzz(data),
        "ring_consumer" => ring_consumer::fuzz(data),
        "tracker_yaml" => tracker_yaml::fuzz(data),
        "key_path" => key_path::fuzz(data),
        "npz_reader" => npz_reader::fuzz(data),
        "npy_header" => npy_header::fuzz(data),
        "segment_recovery" => segment_recovery::fuzz(data),
        "mapped_open" => mapped_open::fuzz(data),
        "logger_region" => logger_region::fuzz(data),
        "mapped_rkyv" => mapped_rkyv::fuzz(data),
        "shared_array_open" => shared_array_open::fuzz(data),
        "schema_file" => schema_file::fuzz(data),
        _ => return false,
    }
    true
}
