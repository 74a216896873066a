//! Summaries of a tracker: counts by status, the overall pipeline status, and the `summarize()` structure.
//!
//! Invariants:
//! - `total` equals the sum of the four per-status counts;
//! - the pipeline status is a pure function of the counts, resolved in ataraxis' `resolve_status` priority order:
//!   1. `failed` when any job failed;
//!   2. `completed` when there is at least one job and all succeeded;
//!   3. `processing` when any job is running;
//!   4. `not_started` when there is at least one job and all are scheduled;
//!   5. `in_progress` otherwise, which includes a tracker with no job at all.
//!
//!   Counts summed over several trackers ([`StatusCounts`] implements `+=` and `Sum`) resolve by the same rule;
//! - the JSON of a [`TrackerSummary`] is ataraxis `summarize()` field for field and in the same key order: each job
//!   is `{job_id, job_name, specifier, status, executor_id, started_at, completed_at[, error_message]}` with the
//!   status as its `ProcessingStatus` name and no `error_message` key when the job has no failure reason.

use serde::ser::{SerializeStruct, Serializer};
use serde::Serialize;
use std::fmt;
use std::iter::Sum;
use std::ops::AddAssign;

use super::jobs::{JobState, JobStatus, JobTable};

/// Job counts by status (the `summary` of ataraxis `summarize()`).
///
/// # Examples
///
/// ```
/// use seqring_state::tracker::StatusCounts;
/// // Counts of several trackers add up (`+=`, `sum`).
/// let a = StatusCounts { total: 2, succeeded: 2, failed: 0, running: 0, scheduled: 0 };
/// let b = StatusCounts { total: 3, succeeded: 0, failed: 1, running: 1, scheduled: 1 };
/// let all: StatusCounts = [a, b].into_iter().sum();
/// assert_eq!(all, StatusCounts { total: 5, succeeded: 2, failed: 1, running: 1, scheduled: 1 });
/// ```
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize)]
pub struct StatusCounts {
    /// All jobs.
    pub total: usize,
    /// Jobs that succeeded.
    pub succeeded: usize,
    /// Jobs that failed.
    pub failed: usize,
    /// Jobs running now.
    pub running: usize,
    /// Jobs waiting to run.
    pub scheduled: usize,
}

impl StatusCounts {
    /// Counts the jobs of a table.
    ///
    /// # Examples
    ///
    /// ```
    /// use seqring_state::tracker::{JobState, JobStatus, JobTable, StatusCounts};
    /// let mut jobs = JobTable::new();
    /// for (id, status) in [("a", JobStatus::Succeeded), ("b", JobStatus::Succeeded), ("c", JobStatus::Running), ("d", JobStatus::Failed)] {
    ///     let mut job = JobState::new("extract", id);
    ///     job.status = status;
    ///     jobs.insert(id.into(), job);
    /// }
    /// assert_eq!(StatusCounts::of(&jobs), StatusCounts { total: 4, succeeded: 2, failed: 1, running: 1, scheduled: 0 });
    /// ```
    pub fn of(jobs: &JobTable) -> Self {
        let mut c = Self::default();
        for (_, job) in jobs.iter() {
            c.total += 1;
            match job.status {
                JobStatus::Scheduled => c.scheduled += 1,
                JobStatus::Running => c.running += 1,
                JobStatus::Succeeded => c.succeeded += 1,
                JobStatus::Failed => c.failed += 1,
            }
        }
        c
    }

    /// The count for one status.
    ///
    /// # Examples
    ///
    /// ```
    /// use seqring_state::tracker::{JobState, JobStatus, JobTable, StatusCounts};
    /// let mut jobs = JobTable::new();
    /// for (id, status) in [("a", JobStatus::Succeeded), ("b", JobStatus::Succeeded), ("c", JobStatus::Running), ("d", JobStatus::Failed)] {
    ///     let mut job = JobState::new("extract", id);
    ///     job.status = status;
    ///     jobs.insert(id.into(), job);
    /// }
    /// let counts = StatusCounts::of(&jobs);
    /// assert_eq!(counts.get(JobStatus::Succeeded), 2);
    /// assert_eq!(counts.get(JobStatus::Scheduled), 0);
    /// let by_status: usize = JobStatus::ALL.iter().map(|&s| counts.get(s)).sum();
    /// assert_eq!(by_status, counts.total);
    /// ```
    pub fn get(&self, status: JobStatus) -> usize {
        match status {
            JobStatus::Scheduled => self.scheduled,
            JobStatus::Running => self.running,
            JobStatus::Succeeded => self.succeeded,
            JobStatus::Failed => self.failed,
        }
    }
}

impl AddAssign for StatusCounts {
    fn add_assign(&mut self, other: Self) {
        self.total += other.total;
        self.succeeded += other.succeeded;
        self.failed += other.failed;
        self.running += other.running;
        self.scheduled += other.scheduled;
    }
}

impl Sum for StatusCounts {
    fn sum<I: Iterator<Item = Self>>(iter: I) -> Self {
        iter.fold(Self::default(), |mut acc, c| {
            acc += c;
            acc
        })
    }
}

/// The overall status of a pipeline, resolved from its job counts (ataraxis `TrackerStatus`).
///
/// # Examples
///
/// ```
/// use seqring_state::tracker::{PipelineStatus, StatusCounts};
/// let failed = StatusCounts { total: 3, succeeded: 2, failed: 1, running: 0, scheduled: 0 };
/// assert_eq!(PipelineStatus::resolve(&failed), PipelineStatus::Failed);
/// assert_eq!(PipelineStatus::Failed.to_string(), "failed");
/// assert_eq!(serde_json::to_string(&PipelineStatus::NotStarted)?, "\"not_started\"");
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum PipelineStatus {
    /// There are jobs and every one is scheduled.
    NotStarted,
    /// Mixed outcomes with none running and none failed, or no job at all.
    InProgress,
    /// At least one job is running, none failed, and not every job succeeded.
    Processing,
    /// There are jobs and every one succeeded.
    Completed,
    /// At least one job failed.
    Failed,
}

impl PipelineStatus {
    /// Resolves the status from counts, in the priority order of the module documentation.
    ///
    /// # Examples
    ///
    /// ```
    /// use seqring_state::tracker::{PipelineStatus, StatusCounts};
    /// let c = StatusCounts { total: 3, succeeded: 1, failed: 0, running: 1, scheduled: 1 };
    /// assert_eq!(PipelineStatus::resolve(&c), PipelineStatus::Processing);
    /// // An empty tracker is in progress, not "not started" (ataraxis 7.2.0).
    /// assert_eq!(PipelineStatus::resolve(&StatusCounts::default()), PipelineStatus::InProgress);
    /// ```
    pub fn resolve(c: &StatusCounts) -> Self {
        if c.failed > 0 {
            PipelineStatus::Failed
        } else if c.total > 0 && c.succeeded == c.total {
            PipelineStatus::Completed
        } else if c.running > 0 {
            PipelineStatus::Processing
        } else if c.total > 0 && c.scheduled == c.total {
            PipelineStatus::NotStarted
        } else {
            PipelineStatus::InProgress
        }
    }

    /// The snake_case name (`not_started`, `in_progress`, `processing`, `completed`, `failed`).
    ///
    /// # Examples
    ///
    /// ```
    /// use seqring_state::tracker::PipelineStatus;
    /// assert_eq!(PipelineStatus::InProgress.name(), "in_progress");
    /// assert_eq!(PipelineStatus::Completed.name(), "completed");
    /// ```
    pub fn name(self) -> &'static str {
        match self {
            PipelineStatus::NotStarted => "not_started",
            PipelineStatus::InProgress => "in_progress",
            PipelineStatus::Processing => "processing",
            PipelineStatus::Completed => "completed",
            PipelineStatus::Failed => "failed",
        }
    }
}

impl fmt::Display for PipelineStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// One job in a [`TrackerSummary`]. Its JSON is one job of ataraxis `summarize()` (see the module documentation).
///
/// # Examples
///
/// ```
/// use seqring_state::tracker::{JobEntry, JobState};
/// let mut entry = JobEntry { job_id: "bd9a67a77aac40c5".into(), state: JobState::new("assemble", "") };
/// let json = serde_json::to_value(&entry)?;
/// assert_eq!(json["job_id"], "bd9a67a77aac40c5");
/// assert_eq!(json["status"], "SCHEDULED");
/// assert!(json.get("error_message").is_none(), "absent unless the job failed with a message");
/// entry.state.error_message = Some("no frames".into());
/// assert_eq!(serde_json::to_value(&entry)?["error_message"], "no frames");
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct JobEntry {
    /// The job's id.
    pub job_id: String,
    /// The job's state.
    pub state: JobState,
}

impl Serialize for JobEntry {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let s = &self.state;
        let fields = if s.error_message.is_some() { 8 } else { 7 };
        let mut out = serializer.serialize_struct("JobEntry", fields)?;
        out.serialize_field("job_id", &self.job_id)?;
        out.serialize_field("job_name", &s.job_name)?;
        out.serialize_field("specifier", &s.specifier)?;
        out.serialize_field("status", &s.status)?;
        out.serialize_field("executor_id", &s.executor_id)?;
        out.serialize_field("started_at", &s.started_at)?;
        out.serialize_field("completed_at", &s.completed_at)?;
        match &s.error_message {
            Some(message) => out.serialize_field("error_message", message)?,
            None => out.skip_field("error_message")?,
        }
        out.end()
    }
}

/// The structure of ataraxis `summarize()`: `{jobs: [...], summary: {...}, status}`.
///
/// # Examples
///
/// ```
/// use seqring_state::tracker::{JobState, JobTable, TrackerSummary};
/// let mut jobs = JobTable::new();
/// jobs.insert("bd9a67a77aac40c5".into(), JobState::new("assemble", ""));
/// let json = serde_json::to_value(TrackerSummary::of(&jobs))?;
/// assert_eq!(json["status"], "not_started");
/// assert_eq!(json["summary"]["total"], 1);
/// assert_eq!(json["jobs"][0]["job_name"], "assemble");
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct TrackerSummary {
    /// Every job, in file order.
    pub jobs: Vec<JobEntry>,
    /// Counts by status.
    pub summary: StatusCounts,
    /// The overall status.
    pub status: PipelineStatus,
}

impl TrackerSummary {
    /// Summarizes a table.
    ///
    /// # Examples
    ///
    /// ```
    /// use seqring_state::tracker::{JobState, JobStatus, JobTable, PipelineStatus, TrackerSummary};
    /// let mut jobs = JobTable::new();
    /// for (id, status) in [("a", JobStatus::Succeeded), ("b", JobStatus::Succeeded), ("c", JobStatus::Running), ("d", JobStatus::Failed)] {
    ///     let mut job = JobState::new("extract", id);
    ///     job.status = status;
    ///     jobs.insert(id.into(), job);
    /// }
    /// let summary = TrackerSummary::of(&jobs);
    /// assert_eq!(summary.jobs.iter().map(|e| e.job_id.as_str()).collect::<Vec<_>>(), ["a", "b", "c", "d"]);
    /// assert_eq!(summary.summary.failed, 1);
    /// assert_eq!(summary.status, PipelineStatus::Failed);
    /// ```
    pub fn of(jobs: &JobTable) -> Self {
        let summary = StatusCounts::of(jobs);
        Self {
            jobs: jobs
                .iter()
                .map(|(id, s)| JobEntry {
                    job_id: id.to_owned(),
                    state: s.clone(),
                })
                .collect(),
            summary,
            status: PipelineStatus::resolve(&summary),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn counts(s: usize, r: usize, ok: usize, f: usize) -> StatusCounts {
        StatusCounts {
            total: s + r + ok + f,
            scheduled: s,
            running: r,
            succeeded: ok,
            failed: f,
        }
    }

    #[test]
    fn priority_order() {
        use PipelineStatus::*;
        // (scheduled, running, succeeded, failed), one case per branch and each branch's edge.
        assert_eq!(PipelineStatus::resolve(&counts(0, 0, 0, 0)), InProgress);
        assert_eq!(PipelineStatus::resolve(&counts(3, 0, 0, 0)), NotStarted);
        assert_eq!(PipelineStatus::resolve(&counts(2, 0, 1, 0)), InProgress);
        assert_eq!(PipelineStatus::resolve(&counts(2, 1, 1, 0)), Processing);
        assert_eq!(PipelineStatus::resolve(&counts(0, 1, 0, 0)), Processing);
        assert_eq!(PipelineStatus::resolve(&counts(0, 0, 4, 0)), Completed);
        assert_eq!(PipelineStatus::resolve(&counts(0, 1, 4, 1)), Failed);
        assert_eq!(PipelineStatus::resolve(&counts(0, 0, 4, 1)), Failed);
        assert_eq!(PipelineStatus::resolve(&counts(5, 5, 5, 1)), Failed);
    }

    #[test]
    fn summed_counts_resolve_by_the_same_rule() {
        // One tracker completed, one not started: together some succeeded and some wait, so in progress.
        let both: StatusCounts = [counts(0, 0, 2, 0), counts(3, 0, 0, 0)].into_iter().sum();
        assert_eq!(both, counts(3, 0, 2, 0));
        assert_eq!(PipelineStatus::resolve(&both), PipelineStatus::InProgress);
        let none: StatusCounts = std::iter::empty().sum();
        assert_eq!(PipelineStatus::resolve(&none), PipelineStatus::InProgress);
    }

    #[test]
    fn summary_json_shape() {
        let mut t = JobTable::new();
        let mut j = JobState::new("a", "b");
        j.status = JobStatus::Running;
        t.insert("id1".into(), j);
        let v = serde_json::to_value(TrackerSummary::of(&t)).unwrap();
        assert_eq!(v["status"], "processing");
        assert_eq!(v["summary"]["total"], 1);
        assert_eq!(v["summary"]["running"], 1);
        assert_eq!(v["jobs"][0]["job_id"], "id1");
        assert_eq!(v["jobs"][0]["status"], "RUNNING");
        assert_eq!(v["jobs"][0]["specifier"], "b");
        assert!(v["jobs"][0]["started_at"].is_null());
        assert!(v["jobs"][0].get("error_message").is_none(), "no error: no key");
        // Key order as ataraxis builds its dict, error_message last and only when set.
        let mut failed = JobState::new("c", "");
        failed.status = JobStatus::Failed;
        failed.error_message = Some("disk full".into());
        t.insert("id2".into(), failed);
        let text = serde_json::to_string(&TrackerSummary::of(&t)).unwrap();
        assert!(text.contains(
            r#"{"job_id":"id2","job_name":"c","specifier":"","status":"FAILED","executor_id":null,"started_at":null,"completed_at":null,"error_message":"disk full"}"#
        ), "{text}");
        assert!(
            text.ends_with(
                r#""summary":{"total":2,"succeeded":0,"failed":1,"running":1,"scheduled":0},"status":"failed"}"#
            ),
            "{text}"
        );
    }
}
