//! The tracker file format: parse and write the YAML that ataraxis `ProcessingTracker` keeps.
//!
//! ```yaml
//! ---
//! jobs:
//!   e30d3e55fffe8b95:
//!     job_name: process_data
//!     specifier: batch_101
//!     status: 2
//!     executor_id: '12345'
//!     error_message: null
//!     started_at: 1795301397032459
//!     completed_at: 1795301397034908
//! ...
//! ```
//!
//! Invariants:
//! - parsing never panics and rejects, with the line and column, a file whose `jobs` is not a map of job maps, a
//!   status outside 0–3, a negative or non-integer timestamp, a missing `job_name`, or a repeated id;
//! - parsing is lenient where ataraxis is: unknown keys are ignored, a missing `jobs` means no job, missing job
//!   fields take the ataraxis defaults, and scalar numbers or booleans where a string is expected are read as text;
//! - the writer quotes every string that YAML 1.1 (PyYAML) or YAML 1.2 (serde_yaml) could read as anything but that
//!   string, so Python and Rust read back exactly what was written; for the strings ataraxis itself writes, the
//!   output is byte-for-byte what PyYAML writes.

use serde::de::{self, Deserializer, MapAccess, Visitor};
use serde::Deserialize;
use std::fmt::{self, Write as _};
use std::path::Path;

use super::jobs::{JobState, JobStatus, JobTable};
use crate::config::{parse_error, ConfigError};
use crate::yaml::scalar;

/// Parses the text of a tracker file; `path` is only used in errors.
///
/// # Errors
///
/// [`ConfigError::Parse`] with the line and column of the problem.
///
/// # Examples
///
/// ```
/// use seqring_state::config::ConfigError;
/// use seqring_state::tracker::{parse_tracker, JobStatus};
/// use std::path::Path;
/// let text = "---
/// jobs:
///   e30d3e55fffe8b95:
///     job_name: process_data
///     specifier: batch_101
///     status: 2
///     executor_id: '12345'
///     error_message: null
///     started_at: 1795301397032459
///     completed_at: 1795301397034908
/// ...
/// ";
/// let jobs = parse_tracker(Path::new("tracker.yaml"), text)?;
/// let job = jobs.get("e30d3e55fffe8b95").unwrap();
/// assert_eq!((job.job_name.as_str(), job.status), ("process_data", JobStatus::Succeeded));
/// assert_eq!(job.executor_id.as_deref(), Some("12345"));
/// assert_eq!(job.completed_at, Some(1795301397034908));
/// // A status outside 0-3 is refused, with its line.
/// let bad = text.replace("status: 2", "status: 7");
/// let err = parse_tracker(Path::new("tracker.yaml"), &bad).unwrap_err();
/// assert!(matches!(err, ConfigError::Parse { line: Some(_), .. }), "{err}");
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub fn parse_tracker(path: &Path, text: &str) -> Result<JobTable, ConfigError> {
    if text.trim().is_empty() {
        return Err(ConfigError::Parse {
            path: path.to_path_buf(),
            line: Some(1),
            column: Some(1),
            message: "the tracker file is empty (expected a `jobs:` map)".into(),
        });
    }
    let raw: RawFile = serde_yaml::from_str(text).map_err(|e| parse_error(path, &e))?;
    let mut table = JobTable::new();
    for (id, job) in raw.jobs.map(|j| j.0).unwrap_or_default() {
        table.insert(id, job);
    }
    Ok(table)
}

/// Writes a job table as a tracker document (with `---` and `...`).
///
/// # Examples
///
/// ```
/// use seqring_state::tracker::{format_tracker, parse_tracker, JobState, JobTable};
/// let mut jobs = JobTable::new();
/// jobs.insert("bd9a67a77aac40c5".into(), JobState::new("assemble", ""));
/// let text = format_tracker(&jobs);
/// assert!(text.starts_with("---\njobs:\n  bd9a67a77aac40c5:\n    job_name: assemble\n    specifier: ''\n"));
/// assert_eq!(parse_tracker("t.yaml".as_ref(), &text)?, jobs);
/// # Ok::<(), seqring_state::config::ConfigError>(())
/// ```
pub fn format_tracker(jobs: &JobTable) -> String {
    let mut out = String::with_capacity(64 + jobs.len() * 256);
    out.push_str("---\n");
    if jobs.is_empty() {
        out.push_str("jobs: {}\n");
    } else {
        out.push_str("jobs:\n");
        for (id, job) in jobs.iter() {
            let _ = writeln!(out, "  {}:", scalar(id));
            let _ = writeln!(out, "    job_name: {}", scalar(&job.job_name));
            let _ = writeln!(out, "    specifier: {}", scalar(&job.specifier));
            let _ = writeln!(out, "    status: {}", job.status.code());
            let _ = writeln!(out, "    executor_id: {}", opt_scalar(job.executor_id.as_deref()));
            let _ = writeln!(out, "    error_message: {}", opt_scalar(job.error_message.as_deref()));
            let _ = writeln!(out, "    started_at: {}", opt_int(job.started_at));
            let _ = writeln!(out, "    completed_at: {}", opt_int(job.completed_at));
        }
    }
    out.push_str("...\n");
    out
}

fn opt_scalar(v: Option<&str>) -> String {
    v.map_or_else(|| "null".to_owned(), scalar)
}

fn opt_int(v: Option<u64>) -> String {
    v.map_or_else(|| "null".to_owned(), |v| v.to_string())
}

#[derive(Deserialize)]
struct RawFile {
    #[serde(default)]
    jobs: Option<RawJobs>,
}

struct RawJobs(Vec<(String, JobState)>);

impl<'de> Deserialize<'de> for RawJobs {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = RawJobs;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a map from job id to job")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<RawJobs, A::Error> {
                let mut jobs: Vec<(String, JobState)> = Vec::new();
                let mut seen = std::collections::HashSet::new();
                while let Some(Text(id)) = map.next_key::<Text>()? {
                    let job: RawJob = map.next_value()?;
                    if !seen.insert(id.clone()) {
                        return Err(de::Error::custom(format_args!("job id {id} appears twice")));
                    }
                    jobs.push((id, job.into_state()));
                }
                Ok(RawJobs(jobs))
            }
        }
        d.deserialize_map(V)
    }
}

#[derive(Deserialize)]
struct RawJob {
    job_name: Text,
    #[serde(default)]
    specifier: Option<Text>,
    #[serde(default)]
    status: Option<Status>,
    #[serde(default)]
    executor_id: Option<Text>,
    #[serde(default)]
    error_message: Option<Text>,
    #[serde(default)]
    started_at: Option<u64>,
    #[serde(default)]
    completed_at: Option<u64>,
}

impl RawJob {
    fn into_state(self) -> JobState {
        JobState {
            job_name: self.job_name.0,
            specifier: self.specifier.map(|t| t.0).unwrap_or_default(),
            status: self.status.map_or(JobStatus::Scheduled, |s| s.0),
            executor_id: self.executor_id.map(|t| t.0),
            error_message: self.error_message.map(|t| t.0),
            started_at: self.started_at,
            completed_at: self.completed_at,
        }
    }
}

/// A string, or a number or boolean read as its text.
struct Text(String);

impl<'de> Deserialize<'de> for Text {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl Visitor<'_> for V {
            type Value = Text;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a string")
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<Text, E> {
                Ok(Text(v.to_owned()))
            }
            fn visit_string<E: de::Error>(self, v: String) -> Result<Text, E> {
                Ok(Text(v))
            }
            fn visit_i64<E: de::Error>(self, v: i64) -> Result<Text, E> {
                Ok(Text(v.to_string()))
            }
            fn visit_u64<E: de::Error>(self, v: u64) -> Result<Text, E> {
                Ok(Text(v.to_string()))
            }
            fn visit_f64<E: de::Error>(self, v: f64) -> Result<Text, E> {
                Ok(Text(v.to_string()))
            }
            fn visit_bool<E: de::Error>(self, v: bool) -> Result<Text, E> {
                // Python's str(True) is "True".
                Ok(Text(if v { "True" } else { "False" }.to_owned()))
            }
        }
        d.deserialize_any(V)
    }
}

/// A status code 0–3.
struct Status(JobStatus);

impl<'de> Deserialize<'de> for Status {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let code = u64::deserialize(d)?;
        JobStatus::from_code(code)
            .map(Status)
            .ok_or_else(|| de::Error::custom(format_args!("status {code} is not a status code (0-3)")))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const FIXTURE: &str = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../../shared/fixtures/ataraxis-7.2.0/tracker/tracker.yaml"
    );

    #[test]
    fn fixture_parses_and_rewrites_byte_identical() {
        let text = std::fs::read_to_string(FIXTURE).unwrap();
        let jobs = parse_tracker(Path::new(FIXTURE), &text).unwrap();
        assert_eq!(jobs.len(), 3);
        let done = jobs.get("e30d3e55fffe8b95").unwrap();
        assert_eq!(done.status, JobStatus::Succeeded);
        assert_eq!(done.executor_id.as_deref(), Some("12345"));
        assert_eq!(done.started_at, Some(1795301397032459));
        let failed = jobs.get("ed2dd590ec7fa6b4").unwrap();
        assert_eq!(failed.error_message.as_deref(), Some("disk full"));
        assert_eq!(failed.executor_id.as_deref(), Some("pid:8876"));
        assert_eq!(jobs.get("bd9a67a77aac40c5").unwrap().specifier, "");
        assert_eq!(format_tracker(&jobs), text);
    }

    #[test]
    fn tricky_strings_round_trip_through_serde_yaml() {
        let cases = [
            "",
            "yes",
            "No",
            "ON",
            "null",
            "~",
            "12345",
            "0x1F",
            "1:20",
            "1e10",
            ".inf",
            "-1",
            "a: b",
            "a:",
            "#x",
            "x #y",
            " lead",
            "trail ",
            "it's",
            "line\nbreak",
            "tab\there",
            "ünï",
            "\u{85}",
            "\u{2028}",
            "\"q\"",
            "back\\slash",
            "- item",
            "[a]",
            "{b}",
            "&anchor",
            "*alias",
            "!tag",
            "%x",
            "@x",
            "`x",
            "a  b",
            "x=1",
            "=",
        ];
        let mut jobs = JobTable::new();
        for (i, c) in cases.iter().enumerate() {
            let mut job = JobState::new(*c, *c);
            job.executor_id = Some((*c).to_owned());
            job.error_message = Some((*c).to_owned());
            jobs.insert(format!("{c}{i}"), job);
        }
        let text = format_tracker(&jobs);
        assert_eq!(parse_tracker(Path::new("x.yaml"), &text).unwrap(), jobs, "{text}");
    }

    #[test]
    fn bad_files_are_located_errors() {
        // (text, the line serde_yaml reports, a word of the message)
        let cases = [
            ("", 1, "empty"),
            ("jobs:\n  a:\n    job_name: x\n    status: 7\n", 3, "status 7"),
            ("jobs:\n  a:\n    job_name: x\n    started_at: -5\n", 4, "-5"),
            ("jobs:\n  a:\n    job_name: x\n  a:\n    job_name: y\n", 2, "twice"),
            ("jobs:\n  a:\n    specifier: x\n", 3, "job_name"),
            ("jobs: [1, 2]\n", 1, "map"),
            (
                "jobs:\n  a:\n    job_name: x\n    specifier: a: b\n",
                4,
                "mapping values",
            ),
        ];
        for (text, line, word) in cases {
            let err = parse_tracker(Path::new("t.yaml"), text).unwrap_err();
            let message = err.to_string();
            let ConfigError::Parse {
                line: Some(l),
                column: Some(_),
                ..
            } = err
            else {
                panic!("{text:?}: {err:?}")
            };
            assert_eq!(l, line, "{text:?}: {message}");
            assert!(
                message.contains("t.yaml") && message.contains(word),
                "{text:?}: {message}"
            );
        }
    }

    #[test]
    fn lenient_where_ataraxis_is() {
        let text = "---\nextra: 1\njobs:\n  a:\n    job_name: x\n    executor_id: 12345\n    other: 1\n...\n";
        let jobs = parse_tracker(Path::new("t.yaml"), text).unwrap();
        let job = jobs.get("a").unwrap();
        assert_eq!(job.executor_id.as_deref(), Some("12345"));
        assert_eq!(job.status, JobStatus::Scheduled);
        assert!(parse_tracker(Path::new("t.yaml"), "---\njobs: {}\n...\n")
            .unwrap()
            .is_empty());
        assert!(parse_tracker(Path::new("t.yaml"), "jobs:\n").unwrap().is_empty());
        assert!(parse_tracker(Path::new("t.yaml"), "other: 1\n").unwrap().is_empty());
    }
}
