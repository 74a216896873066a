//! Jobs, their ids and states, and the ordered table of them that a tracker file holds.
//!
//! Invariants:
//! - a job id is the xxh64 (seed 0) of `name:specifier`, or of `name` alone when the specifier is empty, as 16
//!   lowercase hex digits, exactly as ataraxis `ProcessingTracker.generate_job_id` computes it;
//! - a job name is non-empty, and neither the name nor the specifier contains `:` (which would make two different
//!   pairs hash alike);
//! - the table keeps the file's order of jobs and never holds one id twice.

use serde::Serialize;
use std::collections::HashMap;
use std::fmt;

use super::TrackerError;

/// The status of one job, stored in the tracker file as its integer code and serialized (in summaries) as its
/// ataraxis `ProcessingStatus` member name (`SCHEDULED`, `RUNNING`, `SUCCEEDED`, `FAILED`).
///
/// # Examples
///
/// ```
/// use seqring_state::tracker::JobStatus;
/// assert_eq!(JobStatus::Running.to_string(), "running");
/// assert_eq!(serde_json::to_string(&JobStatus::Running)?, "\"RUNNING\"");
/// assert!(JobStatus::Scheduled < JobStatus::Failed);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum JobStatus {
    /// 0: waiting to run.
    Scheduled = 0,
    /// 1: running.
    Running = 1,
    /// 2: finished successfully.
    Succeeded = 2,
    /// 3: finished with an error.
    Failed = 3,
}

impl JobStatus {
    /// All statuses, in code order.
    ///
    /// # Examples
    ///
    /// ```
    /// use seqring_state::tracker::JobStatus;
    /// let codes: Vec<u8> = JobStatus::ALL.iter().map(|s| s.code()).collect();
    /// assert_eq!(codes, [0, 1, 2, 3]);
    /// ```
    pub const ALL: [JobStatus; 4] = [
        JobStatus::Scheduled,
        JobStatus::Running,
        JobStatus::Succeeded,
        JobStatus::Failed,
    ];

    /// The integer code stored in the file (0–3).
    ///
    /// # Examples
    ///
    /// ```
    /// use seqring_state::tracker::JobStatus;
    /// assert_eq!(JobStatus::Scheduled.code(), 0);
    /// assert_eq!(JobStatus::Failed.code(), 3);
    /// assert_eq!(JobStatus::from_code(u64::from(JobStatus::Succeeded.code())), Some(JobStatus::Succeeded));
    /// ```
    pub fn code(self) -> u8 {
        self as u8
    }

    /// The status for an integer code, or `None` outside 0–3.
    ///
    /// # Examples
    ///
    /// ```
    /// use seqring_state::tracker::JobStatus;
    /// assert_eq!(JobStatus::from_code(3), Some(JobStatus::Failed));
    /// assert_eq!(JobStatus::from_code(4), None);
    /// ```
    pub fn from_code(code: u64) -> Option<Self> {
        Self::ALL.get(usize::try_from(code).ok()?).copied()
    }

    /// The lowercase name (`scheduled`, `running`, `succeeded`, `failed`).
    ///
    /// # Examples
    ///
    /// ```
    /// use seqring_state::tracker::JobStatus;
    /// assert_eq!(JobStatus::Succeeded.name(), "succeeded");
    /// assert_eq!(JobStatus::parse(JobStatus::Failed.name()), Some(JobStatus::Failed));
    /// ```
    pub fn name(self) -> &'static str {
        match self {
            JobStatus::Scheduled => "scheduled",
            JobStatus::Running => "running",
            JobStatus::Succeeded => "succeeded",
            JobStatus::Failed => "failed",
        }
    }

    /// The ataraxis `ProcessingStatus` member name (`SCHEDULED`, `RUNNING`, `SUCCEEDED`, `FAILED`), which
    /// `summarize()` reports.
    ///
    /// # Examples
    ///
    /// ```
    /// assert_eq!(seqring_state::tracker::JobStatus::Succeeded.ataraxis_name(), "SUCCEEDED");
    /// ```
    pub fn ataraxis_name(self) -> &'static str {
        match self {
            JobStatus::Scheduled => "SCHEDULED",
            JobStatus::Running => "RUNNING",
            JobStatus::Succeeded => "SUCCEEDED",
            JobStatus::Failed => "FAILED",
        }
    }

    /// Parses a name in any case (`running`, `RUNNING`) or an integer code.
    ///
    /// # Examples
    ///
    /// ```
    /// use seqring_state::tracker::JobStatus;
    /// assert_eq!(JobStatus::parse("running"), Some(JobStatus::Running));
    /// assert_eq!(JobStatus::parse("FAILED"), Some(JobStatus::Failed));
    /// assert_eq!(JobStatus::parse("2"), Some(JobStatus::Succeeded));
    /// assert_eq!(JobStatus::parse("done"), None);
    /// ```
    pub fn parse(text: &str) -> Option<Self> {
        let text = text.trim();
        if let Ok(code) = text.parse::<u64>() {
            return Self::from_code(code);
        }
        Self::ALL.into_iter().find(|s| s.name().eq_ignore_ascii_case(text))
    }
}

impl fmt::Display for JobStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// Everything the tracker file records about one job (ataraxis `JobState`).
///
/// # Examples
///
/// ```
/// use seqring_state::tracker::{JobStatus, ProcessingTracker};
/// let dir = tempfile::tempdir()?;
/// let tracker = ProcessingTracker::new(dir.path().join("tracker.yaml"))?;
/// let ids = tracker.initialize_jobs(&[("extract", "session_3")])?;
/// tracker.start_job(&ids[0], Some("slurm:881"))?;
/// let job = tracker.job_info(&ids[0])?;
/// assert_eq!((job.job_name.as_str(), job.specifier.as_str()), ("extract", "session_3"));
/// assert_eq!((job.status, job.executor_id.as_deref()), (JobStatus::Running, Some("slurm:881")));
/// assert!(job.started_at.is_some() && job.completed_at.is_none() && job.error_message.is_none());
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct JobState {
    /// The job's name.
    pub job_name: String,
    /// What distinguishes instances of the same job (a batch, a session); empty when there is none.
    pub specifier: String,
    /// The current status.
    pub status: JobStatus,
    /// Who runs or ran the job (a scheduler job id, `pid:<pid>`, any string).
    pub executor_id: Option<String>,
    /// Why the job failed.
    pub error_message: Option<String>,
    /// When the job last started, in µs since the UNIX epoch.
    pub started_at: Option<u64>,
    /// When the job last finished (succeeded or failed), in µs since the UNIX epoch.
    pub completed_at: Option<u64>,
}

impl JobState {
    /// A scheduled job with no history.
    ///
    /// # Examples
    ///
    /// ```
    /// use seqring_state::tracker::{JobState, JobStatus};
    /// let job = JobState::new("extract", "session_3");
    /// assert_eq!((job.job_name.as_str(), job.specifier.as_str(), job.status), ("extract", "session_3", JobStatus::Scheduled));
    /// assert_eq!((job.executor_id, job.error_message, job.started_at, job.completed_at), (None, None, None, None));
    /// ```
    pub fn new(job_name: impl Into<String>, specifier: impl Into<String>) -> Self {
        Self {
            job_name: job_name.into(),
            specifier: specifier.into(),
            status: JobStatus::Scheduled,
            executor_id: None,
            error_message: None,
            started_at: None,
            completed_at: None,
        }
    }

    /// Puts the job back to scheduled and clears its executor, error and times (a reset or a retry).
    ///
    /// # Examples
    ///
    /// ```
    /// use seqring_state::tracker::{JobState, JobStatus};
    /// let mut job = JobState::new("extract", "s1");
    /// job.status = JobStatus::Failed;
    /// job.executor_id = Some("pid:7".into());
    /// job.error_message = Some("oops".into());
    /// job.started_at = Some(1);
    /// job.completed_at = Some(2);
    /// job.reschedule();
    /// assert_eq!(job, JobState::new("extract", "s1"));
    /// ```
    pub fn reschedule(&mut self) {
        *self = Self::new(std::mem::take(&mut self.job_name), std::mem::take(&mut self.specifier));
    }
}

/// Checks a job name and specifier: a non-empty name, and no `:` in either part.
///
/// # Errors
///
/// [`TrackerError::InvalidJob`] naming the offending part.
///
/// # Examples
///
/// ```
/// use seqring_state::tracker::{validate_job, TrackerError};
/// assert!(validate_job("extract", "").is_ok());
/// assert!(validate_job("extract", "session_3").is_ok());
/// for (name, spec) in [("", "s1"), ("a:b", ""), ("extract", "s:1")] {
///     assert!(matches!(validate_job(name, spec), Err(TrackerError::InvalidJob { .. })), "{name:?} {spec:?}");
/// }
/// let err = validate_job("extract", "s:1").unwrap_err();
/// assert_eq!(err.to_string(), "invalid job \"extract\" (specifier \"s:1\"): the specifier contains ':'");
/// ```
pub fn validate_job(name: &str, specifier: &str) -> Result<(), TrackerError> {
    let bad = |reason: &str| TrackerError::InvalidJob {
        name: name.to_owned(),
        specifier: specifier.to_owned(),
        reason: reason.to_owned(),
    };
    if name.is_empty() {
        return Err(bad("the job name is empty"));
    }
    if name.contains(':') {
        return Err(bad("the job name contains ':'"));
    }
    if specifier.contains(':') {
        return Err(bad("the specifier contains ':'"));
    }
    Ok(())
}

/// The ataraxis job id of `name` and `specifier`: xxh64 (seed 0) of `name:specifier`, or of `name` when the
/// specifier is empty, as 16 lowercase hex digits.
///
/// # Examples
///
/// ```
/// use seqring_state::tracker::job_id;
/// assert_eq!(job_id("process_data", "batch_101")?, "e30d3e55fffe8b95");
/// assert_eq!(job_id("assemble", "")?, "bd9a67a77aac40c5");
/// assert!(job_id("a:b", "").is_err());
/// # Ok::<(), seqring_state::tracker::TrackerError>(())
/// ```
///
/// # Errors
///
/// [`TrackerError::InvalidJob`] for an empty name or a `:` in either part.
pub fn job_id(name: &str, specifier: &str) -> Result<String, TrackerError> {
    validate_job(name, specifier)?;
    Ok(raw_job_id(name, specifier))
}

/// [`job_id`] without validation (for ids of jobs already in a file).
pub(crate) fn raw_job_id(name: &str, specifier: &str) -> String {
    let hash = if specifier.is_empty() {
        xxhash_rust::xxh64::xxh64(name.as_bytes(), 0)
    } else {
        let mut combined = String::with_capacity(name.len() + 1 + specifier.len());
        combined.push_str(name);
        combined.push(':');
        combined.push_str(specifier);
        xxhash_rust::xxh64::xxh64(combined.as_bytes(), 0)
    };
    format!("{hash:016x}")
}

/// Splits a `NAME[:SPEC]` reference at its first `:`.
///
/// # Examples
///
/// ```
/// assert_eq!(seqring_state::tracker::split_job_ref("process_data:batch_1"), ("process_data", "batch_1"));
/// assert_eq!(seqring_state::tracker::split_job_ref("assemble"), ("assemble", ""));
/// ```
pub fn split_job_ref(text: &str) -> (&str, &str) {
    text.split_once(':').unwrap_or((text, ""))
}

/// The jobs of a tracker, keyed by id, in file order.
///
/// # Examples
///
/// ```
/// use seqring_state::tracker::{JobState, JobTable};
/// let mut jobs = JobTable::new();
/// assert!(jobs.insert("b".into(), JobState::new("second", "")));
/// assert!(jobs.insert("a".into(), JobState::new("first", "")));
/// // File order, not key order.
/// assert_eq!(jobs.ids().collect::<Vec<_>>(), ["b", "a"]);
/// ```
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct JobTable {
    order: Vec<String>,
    jobs: HashMap<String, JobState>,
}

impl JobTable {
    /// An empty table.
    ///
    /// # Examples
    ///
    /// ```
    /// use seqring_state::tracker::JobTable;
    /// let jobs = JobTable::new();
    /// assert!(jobs.is_empty());
    /// assert_eq!(jobs, JobTable::default());
    /// ```
    pub fn new() -> Self {
        Self::default()
    }

    /// The number of jobs.
    ///
    /// # Examples
    ///
    /// ```
    /// use seqring_state::tracker::{JobState, JobStatus, JobTable};
    /// let mut jobs = JobTable::new();
    /// jobs.insert("id1".into(), JobState::new("extract", "s1"));
    /// jobs.insert("id2".into(), JobState::new("extract", "s2"));
    /// jobs.insert("id3".into(), JobState::new("merge", ""));
    /// assert_eq!(jobs.len(), 3);
    /// ```
    pub fn len(&self) -> usize {
        self.order.len()
    }

    /// Whether the table has no job.
    ///
    /// # Examples
    ///
    /// ```
    /// use seqring_state::tracker::{JobState, JobStatus, JobTable};
    /// let mut jobs = JobTable::new();
    /// jobs.insert("id1".into(), JobState::new("extract", "s1"));
    /// jobs.insert("id2".into(), JobState::new("extract", "s2"));
    /// jobs.insert("id3".into(), JobState::new("merge", ""));
    /// assert!(!jobs.is_empty());
    /// jobs.clear();
    /// assert!(jobs.is_empty());
    /// ```
    pub fn is_empty(&self) -> bool {
        self.order.is_empty()
    }

    /// The job with this id.
    ///
    /// # Examples
    ///
    /// ```
    /// use seqring_state::tracker::{JobState, JobStatus, JobTable};
    /// let mut jobs = JobTable::new();
    /// jobs.insert("id1".into(), JobState::new("extract", "s1"));
    /// jobs.insert("id2".into(), JobState::new("extract", "s2"));
    /// jobs.insert("id3".into(), JobState::new("merge", ""));
    /// assert_eq!(jobs.get("id3").map(|j| j.job_name.as_str()), Some("merge"));
    /// assert!(jobs.get("id4").is_none());
    /// ```
    pub fn get(&self, id: &str) -> Option<&JobState> {
        self.jobs.get(id)
    }

    /// The job with this id, mutably.
    ///
    /// # Examples
    ///
    /// ```
    /// use seqring_state::tracker::{JobState, JobStatus, JobTable};
    /// let mut jobs = JobTable::new();
    /// jobs.insert("id1".into(), JobState::new("extract", "s1"));
    /// jobs.insert("id2".into(), JobState::new("extract", "s2"));
    /// jobs.insert("id3".into(), JobState::new("merge", ""));
    /// jobs.get_mut("id2").unwrap().status = JobStatus::Running;
    /// assert_eq!(jobs.get("id2").unwrap().status, JobStatus::Running);
    /// ```
    pub fn get_mut(&mut self, id: &str) -> Option<&mut JobState> {
        self.jobs.get_mut(id)
    }

    /// Whether a job with this id exists.
    ///
    /// # Examples
    ///
    /// ```
    /// use seqring_state::tracker::{JobState, JobStatus, JobTable};
    /// let mut jobs = JobTable::new();
    /// jobs.insert("id1".into(), JobState::new("extract", "s1"));
    /// jobs.insert("id2".into(), JobState::new("extract", "s2"));
    /// jobs.insert("id3".into(), JobState::new("merge", ""));
    /// assert!(jobs.contains("id1"));
    /// assert!(!jobs.contains("id9"));
    /// ```
    pub fn contains(&self, id: &str) -> bool {
        self.jobs.contains_key(id)
    }

    /// Adds a job at the end; returns false (and changes nothing) if the id already exists.
    ///
    /// # Examples
    ///
    /// ```
    /// use seqring_state::tracker::{JobState, JobStatus, JobTable};
    /// let mut jobs = JobTable::new();
    /// jobs.insert("id1".into(), JobState::new("extract", "s1"));
    /// jobs.insert("id2".into(), JobState::new("extract", "s2"));
    /// jobs.insert("id3".into(), JobState::new("merge", ""));
    /// assert!(!jobs.insert("id1".into(), JobState::new("other", "")), "an existing id is kept");
    /// assert_eq!(jobs.get("id1").unwrap().job_name, "extract");
    /// assert!(jobs.insert("id4".into(), JobState::new("plot", "")));
    /// assert_eq!(jobs.ids().last(), Some("id4"));
    /// ```
    pub fn insert(&mut self, id: String, job: JobState) -> bool {
        if self.jobs.contains_key(&id) {
            return false;
        }
        self.order.push(id.clone());
        self.jobs.insert(id, job);
        true
    }

    /// Keeps only the jobs for which `keep(id, job)` is true, in order.
    ///
    /// # Examples
    ///
    /// ```
    /// use seqring_state::tracker::{JobState, JobStatus, JobTable};
    /// let mut jobs = JobTable::new();
    /// jobs.insert("id1".into(), JobState::new("extract", "s1"));
    /// jobs.insert("id2".into(), JobState::new("extract", "s2"));
    /// jobs.insert("id3".into(), JobState::new("merge", ""));
    /// jobs.retain(|_, job| job.job_name == "extract");
    /// assert_eq!(jobs.ids().collect::<Vec<_>>(), ["id1", "id2"]);
    /// assert!(!jobs.contains("id3"));
    /// ```
    pub fn retain(&mut self, mut keep: impl FnMut(&str, &JobState) -> bool) {
        let jobs = &mut self.jobs;
        self.order.retain(|id| {
            let kept = jobs.get(id).is_some_and(|job| keep(id, job));
            if !kept {
                jobs.remove(id);
            }
            kept
        });
    }

    /// Removes every job.
    ///
    /// # Examples
    ///
    /// ```
    /// use seqring_state::tracker::{JobState, JobStatus, JobTable};
    /// let mut jobs = JobTable::new();
    /// jobs.insert("id1".into(), JobState::new("extract", "s1"));
    /// jobs.insert("id2".into(), JobState::new("extract", "s2"));
    /// jobs.insert("id3".into(), JobState::new("merge", ""));
    /// jobs.clear();
    /// assert_eq!(jobs.len(), 0);
    /// assert!(!jobs.contains("id1"));
    /// ```
    pub fn clear(&mut self) {
        self.order.clear();
        self.jobs.clear();
    }

    /// The jobs in file order.
    ///
    /// # Examples
    ///
    /// ```
    /// use seqring_state::tracker::{JobState, JobStatus, JobTable};
    /// let mut jobs = JobTable::new();
    /// jobs.insert("id1".into(), JobState::new("extract", "s1"));
    /// jobs.insert("id2".into(), JobState::new("extract", "s2"));
    /// jobs.insert("id3".into(), JobState::new("merge", ""));
    /// let listed: Vec<(&str, &str)> = jobs.iter().map(|(id, j)| (id, j.specifier.as_str())).collect();
    /// assert_eq!(listed, [("id1", "s1"), ("id2", "s2"), ("id3", "")]);
    /// ```
    pub fn iter(&self) -> impl Iterator<Item = (&str, &JobState)> {
        self.order.iter().map(move |id| (id.as_str(), &self.jobs[id]))
    }

    /// The jobs in file order, mutably.
    ///
    /// # Examples
    ///
    /// ```
    /// use seqring_state::tracker::{JobState, JobStatus, JobTable};
    /// let mut jobs = JobTable::new();
    /// jobs.insert("id1".into(), JobState::new("extract", "s1"));
    /// jobs.insert("id2".into(), JobState::new("extract", "s2"));
    /// jobs.insert("id3".into(), JobState::new("merge", ""));
    /// for (_, job) in jobs.iter_mut().filter(|(_, j)| j.job_name == "extract") {
    ///     job.status = JobStatus::Succeeded;
    /// }
    /// let statuses: Vec<JobStatus> = jobs.iter().map(|(_, j)| j.status).collect();
    /// assert_eq!(statuses, [JobStatus::Succeeded, JobStatus::Succeeded, JobStatus::Scheduled]);
    /// ```
    pub fn iter_mut(&mut self) -> impl Iterator<Item = (&str, &mut JobState)> {
        let mut jobs: HashMap<&str, &mut JobState> = self.jobs.iter_mut().map(|(k, v)| (k.as_str(), v)).collect();
        self.order
            .iter()
            .filter_map(move |id| jobs.remove(id.as_str()).map(|j| (id.as_str(), j)))
    }

    /// The ids in file order.
    ///
    /// # Examples
    ///
    /// ```
    /// use seqring_state::tracker::{JobState, JobStatus, JobTable};
    /// let mut jobs = JobTable::new();
    /// jobs.insert("id1".into(), JobState::new("extract", "s1"));
    /// jobs.insert("id2".into(), JobState::new("extract", "s2"));
    /// jobs.insert("id3".into(), JobState::new("merge", ""));
    /// assert_eq!(jobs.ids().collect::<Vec<_>>(), ["id1", "id2", "id3"]);
    /// ```
    pub fn ids(&self) -> impl Iterator<Item = &str> {
        self.order.iter().map(String::as_str)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_match_python_fixture() {
        let text = std::fs::read_to_string(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../../../shared/fixtures/ataraxis-7.2.0/tracker/job_ids.json"
        ))
        .unwrap();
        let ids: HashMap<String, String> = serde_json::from_str(&text).unwrap();
        assert!(ids.len() >= 6);
        for (pair, expected) in ids {
            let (name, spec) = split_job_ref(&pair);
            assert_eq!(&raw_job_id(name, spec), &expected, "{pair}");
            assert_eq!(&job_id(name, spec).unwrap(), &expected, "{pair}");
        }
    }

    #[test]
    fn colon_and_empty_name_rejected() {
        assert!(job_id("a", "b:c").is_err());
        assert!(job_id("a:b", "c").is_err());
        assert!(job_id("", "c").is_err());
        assert_eq!(job_id("a", "b").unwrap().len(), 16);
    }

    #[test]
    fn table_keeps_order_and_rejects_duplicates() {
        let mut t = JobTable::new();
        assert!(t.insert("b".into(), JobState::new("b", "")));
        assert!(t.insert("a".into(), JobState::new("a", "")));
        assert!(!t.insert("b".into(), JobState::new("other", "")));
        assert_eq!(t.ids().collect::<Vec<_>>(), ["b", "a"]);
        assert_eq!(t.get("b").unwrap().job_name, "b");
        for (_, j) in t.iter_mut() {
            j.status = JobStatus::Failed;
        }
        assert!(t.iter().all(|(_, j)| j.status == JobStatus::Failed));
    }
}
