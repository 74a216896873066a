//! Summaries of a tracker: counts by status, the overall pipeline status, and the `summarize()` structure.
//!
//! Invariants:
//! - `total` equals the sum of the four per-status counts;
//! - the pipeline status is a pure function of the counts, resolved in this priority order:
//!   1. `failed` when any job failed;
//!   2. `processing` when any job is running;
//!   3. `completed` when there are jobs and all succeeded;
//!   4. `in_progress` when some jobs succeeded and the rest are scheduled;
//!   5. `not_started` otherwise (no job, or every job scheduled).

use serde::Serialize;
use std::fmt;

use super::jobs::{JobState, JobStatus, JobTable};

/// Job counts by status (the `summary` of ataraxis `summarize()`).
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
    pub fn get(&self, status: JobStatus) -> usize {
        match status {
            JobStatus::Scheduled => self.scheduled,
            JobStatus::Running => self.running,
            JobStatus::Succeeded => self.succeeded,
            JobStatus::Failed => self.failed,
        }
    }
}

/// The overall status of a pipeline, resolved from its job counts.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum PipelineStatus {
    /// No job, or no job has started.
    NotStarted,
    /// Some jobs succeeded, the others wait; none runs or failed.
    InProgress,
    /// At least one job is running and none failed.
    Processing,
    /// Every job succeeded.
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
    /// use seqring::tracker::{PipelineStatus, StatusCounts};
    /// let c = StatusCounts { total: 3, succeeded: 1, failed: 0, running: 1, scheduled: 1 };
    /// assert_eq!(PipelineStatus::resolve(&c), PipelineStatus::Processing);
    /// assert_eq!(PipelineStatus::resolve(&StatusCounts::default()), PipelineStatus::NotStarted);
    /// ```
    pub fn resolve(c: &StatusCounts) -> Self {
        if c.failed > 0 {
            PipelineStatus::Failed
        } else if c.running > 0 {
            PipelineStatus::Processing
        } else if c.total > 0 && c.succeeded == c.total {
            PipelineStatus::Completed
        } else if c.succeeded > 0 {
            PipelineStatus::InProgress
        } else {
            PipelineStatus::NotStarted
        }
    }

    /// The snake_case name (`not_started`, `in_progress`, `processing`, `completed`, `failed`).
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

/// One job in a [`TrackerSummary`].
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct JobEntry {
    /// The job's id.
    pub job_id: String,
    /// The job's state.
    #[serde(flatten)]
    pub state: JobState,
}

/// The structure of ataraxis `summarize()`: `{jobs: [...], summary: {...}, status}`.
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
        assert_eq!(PipelineStatus::resolve(&counts(0, 0, 0, 0)), NotStarted);
        assert_eq!(PipelineStatus::resolve(&counts(3, 0, 0, 0)), NotStarted);
        assert_eq!(PipelineStatus::resolve(&counts(2, 0, 1, 0)), InProgress);
        assert_eq!(PipelineStatus::resolve(&counts(2, 1, 1, 0)), Processing);
        assert_eq!(PipelineStatus::resolve(&counts(0, 0, 4, 0)), Completed);
        assert_eq!(PipelineStatus::resolve(&counts(0, 1, 4, 1)), Failed);
        assert_eq!(PipelineStatus::resolve(&counts(0, 0, 4, 1)), Failed);
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
        assert_eq!(v["jobs"][0]["status"], "running");
        assert_eq!(v["jobs"][0]["specifier"], "b");
        assert!(v["jobs"][0]["started_at"].is_null());
    }
}
