//! `seqring-state`: experiment state that several processes of a pipeline share through files.
//!
//! - [`config`]: YAML configs (serde types in, atomic replacement out);
//! - [`tracker`]: the processing tracker (ataraxis's `ProcessingTracker` file format), under an inter-process lock;
//! - [`nested_dict`]: nested dictionaries addressed by key paths;
//! - [`processing`]: directory tools (transfer, delete, checksums, markers, interpolation, atomic writes);
//! - [`yaml`]: the one YAML writer, whose text YAML 1.1 (PyYAML) and YAML 1.2 (serde_yaml) readers read alike.
//!
//! Every write that another process may read goes through one atomic writer
//! ([`seqring_platform::replace_file_atomically`]).

pub mod config;
pub mod nested_dict;
pub mod processing;
pub mod tracker;
pub mod yaml;
