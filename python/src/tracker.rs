//! The native half of `seqring.ProcessingTracker`: `seqring_state::tracker::ProcessingTracker` with plain values in and
//! out (job states as `_JobRecord` objects, statuses as their codes 0–3); `seqring.tracker` builds the enums and
//! dataclasses.
//!
//! Invariants: every call that touches the file (all but `generate_job_id`, `resolve_job` and `resolve_status`)
//! runs without the GIL, under the Rust tracker's lock on `{file}.lock` (the lock ataraxis's `filelock` takes), so
//! Python threads, Python processes and ataraxis processes can update one tracker file at once.

use crate::errors::{config_error, file_write_error, raise, tracker_error, Kind};
use pyo3::prelude::*;
use seqring_state::config::ConfigError;
use seqring_state::tracker::{
    format_tracker, job_id, JobState, JobStatus, PipelineStatus, ProcessingTracker, StatusCounts,
};
use std::path::PathBuf;
use std::time::Duration;

/// One job's state as the native tracker hands it out (`seqring.JobState` is built from it).
#[pyclass(module = "seqring._seqring", name = "_JobRecord", frozen, get_all)]
pub(crate) struct JobRecord {
    /// The job's name.
    job_name: String,
    /// Its specifier (may be empty).
    specifier: String,
    /// Its status code, 0 to 3 (scheduled, running, succeeded, failed).
    status: u8,
    /// Who ran it.
    executor_id: Option<String>,
    /// Why it failed.
    error_message: Option<String>,
    /// When it started, µs since the UNIX epoch.
    started_at: Option<u64>,
    /// When it completed, µs since the UNIX epoch.
    completed_at: Option<u64>,
}

/// Counts: `(total, succeeded, failed, running, scheduled)`.
type Counts = (usize, usize, usize, usize, usize);

/// Every job as `(id, state)`, in file order.
type Jobs = Vec<(String, JobRecord)>;

fn job_record(j: JobState) -> JobRecord {
    JobRecord {
        job_name: j.job_name,
        specifier: j.specifier,
        status: j.status.code(),
        executor_id: j.executor_id,
        error_message: j.error_message,
        started_at: j.started_at,
        completed_at: j.completed_at,
    }
}

fn counts(c: StatusCounts) -> Counts {
    (c.total, c.succeeded, c.failed, c.running, c.scheduled)
}

fn status(code: u8) -> PyResult<JobStatus> {
    JobStatus::from_code(code.into())
        .ok_or_else(|| raise(Kind::Tracker, format!("no job status has code {code} (0 to 3)")))
}

/// The native tracker (use `seqring.ProcessingTracker`).
#[pyclass(module = "seqring._seqring", name = "_Tracker", frozen)]
pub(crate) struct RawTracker {
    inner: ProcessingTracker,
}

#[pymethods]
impl RawTracker {
    /// A tracker over the YAML file at `path` (created by the first change), waiting at most `timeout` seconds
    /// for its lock.
    #[new]
    fn new(path: PathBuf, timeout: f64) -> PyResult<Self> {
        let timeout = Duration::try_from_secs_f64(timeout)
            .map_err(|_| raise(Kind::Tracker, format!("invalid lock timeout {timeout} s")))?;
        let inner = ProcessingTracker::new(path).map_err(tracker_error)?;
        Ok(RawTracker {
            inner: inner.with_timeout(timeout),
        })
    }

    /// The tracker file.
    #[getter]
    fn path(&self) -> PathBuf {
        self.inner.path().to_path_buf()
    }

    /// The lock file, `{file}.lock`.
    #[getter]
    fn lock_path(&self) -> PathBuf {
        self.inner.lock_path().to_path_buf()
    }

    /// The lock timeout in seconds.
    #[getter]
    fn timeout(&self) -> f64 {
        self.inner.timeout().as_secs_f64()
    }

    /// Adds `(name, specifier)` jobs (existing ones are kept as they are); their ids in order.
    fn initialize_jobs(&self, py: Python<'_>, jobs: Vec<(String, String)>) -> PyResult<Vec<String>> {
        py.detach(|| self.inner.initialize_jobs(&jobs)).map_err(tracker_error)
    }

    /// `(ids, added, discarded)` of ataraxis `align_jobs`.
    #[pyo3(signature = (jobs, universe = None))]
    fn align_jobs(
        &self,
        py: Python<'_>,
        jobs: Vec<(String, String)>,
        universe: Option<Vec<(String, String)>>,
    ) -> PyResult<(Vec<String>, Vec<String>, Vec<String>)> {
        let aligned = py
            .detach(|| self.inner.align_jobs(&jobs, universe.as_deref()))
            .map_err(tracker_error)?;
        Ok((aligned.ids, aligned.added, aligned.discarded))
    }

    /// The `(name, specifier)` of the universe job whose id is `job_id`.
    fn resolve_job(&self, job_id: &str, universe: Vec<(String, String)>) -> PyResult<(String, String)> {
        self.inner.resolve_job(job_id, &universe).map_err(tracker_error)
    }

    /// Reschedules the given jobs; the reset ids in file order.
    fn reset_jobs(&self, py: Python<'_>, job_ids: Vec<String>) -> PyResult<Vec<String>> {
        py.detach(|| self.inner.reset_jobs(&job_ids)).map_err(tracker_error)
    }

    /// Marks a job running (executor `None`: the scheduler's job id, else `pid:<pid>`).
    #[pyo3(signature = (job_id, executor_id = None))]
    fn start_job(&self, py: Python<'_>, job_id: &str, executor_id: Option<&str>) -> PyResult<()> {
        py.detach(|| self.inner.start_job(job_id, executor_id))
            .map_err(tracker_error)
    }

    /// Marks a job succeeded.
    fn complete_job(&self, py: Python<'_>, job_id: &str) -> PyResult<()> {
        py.detach(|| self.inner.complete_job(job_id)).map_err(tracker_error)
    }

    /// Marks a job failed.
    #[pyo3(signature = (job_id, error_message = None))]
    fn fail_job(&self, py: Python<'_>, job_id: &str, error_message: Option<&str>) -> PyResult<()> {
        py.detach(|| self.inner.fail_job(job_id, error_message))
            .map_err(tracker_error)
    }

    /// One job's state.
    fn job_info(&self, py: Python<'_>, job_id: &str) -> PyResult<JobRecord> {
        py.detach(|| self.inner.job_info(job_id))
            .map(job_record)
            .map_err(tracker_error)
    }

    /// Every job as `(id, state)`, in file order.
    fn jobs(&self, py: Python<'_>) -> PyResult<Jobs> {
        let table = py.detach(|| self.inner.jobs()).map_err(tracker_error)?;
        Ok(table
            .iter()
            .map(|(id, j)| (id.to_owned(), job_record(j.clone())))
            .collect())
    }

    /// The ids of the jobs with status `code`, in file order.
    fn jobs_by_status(&self, py: Python<'_>, code: u8) -> PyResult<Vec<String>> {
        let status = status(code)?;
        py.detach(|| self.inner.jobs_by_status(status)).map_err(tracker_error)
    }

    /// Counts by status.
    fn summary(&self, py: Python<'_>) -> PyResult<Counts> {
        py.detach(|| self.inner.summary()).map(counts).map_err(tracker_error)
    }

    /// Whether there are jobs and all succeeded.
    fn is_complete(&self, py: Python<'_>) -> PyResult<bool> {
        py.detach(|| self.inner.is_complete()).map_err(tracker_error)
    }

    /// Whether any job failed.
    fn encountered_error(&self, py: Python<'_>) -> PyResult<bool> {
        py.detach(|| self.inner.encountered_error()).map_err(tracker_error)
    }

    /// `(jobs, counts, pipeline status)` read in one locked step.
    fn summarize(&self, py: Python<'_>) -> PyResult<(Jobs, Counts, &'static str)> {
        let s = py.detach(|| self.inner.summarize()).map_err(tracker_error)?;
        let jobs = s.jobs.into_iter().map(|e| (e.job_id, job_record(e.state))).collect();
        Ok((jobs, counts(s.summary), s.status.name()))
    }

    /// `(id, name, specifier)` of the jobs whose name and specifier contain the given substrings.
    #[pyo3(signature = (job_name = None, specifier = None))]
    fn find_jobs(
        &self,
        py: Python<'_>,
        job_name: Option<&str>,
        specifier: Option<&str>,
    ) -> PyResult<Vec<(String, String, String)>> {
        let found = py
            .detach(|| self.inner.find_jobs(job_name, specifier))
            .map_err(tracker_error)?;
        Ok(found
            .into_iter()
            .map(|e| (e.job_id, e.state.job_name, e.state.specifier))
            .collect())
    }

    /// Removes every job.
    fn reset(&self, py: Python<'_>) -> PyResult<()> {
        py.detach(|| self.inner.reset()).map_err(tracker_error)
    }

    /// Reschedules every failed job; their ids.
    fn retry_failed_jobs(&self, py: Python<'_>) -> PyResult<Vec<String>> {
        py.detach(|| self.inner.retry_failed_jobs()).map_err(tracker_error)
    }

    /// Writes the jobs, read under the lock, to the `.yaml`/`.yml` file at `path` in the tracker file's format
    /// (ataraxis's `to_yaml`), atomically; a tracker over that file sees the same jobs.
    fn to_yaml(&self, py: Python<'_>, path: PathBuf) -> PyResult<()> {
        if !matches!(path.extension().and_then(|e| e.to_str()), Some("yaml" | "yml")) {
            return Err(config_error(ConfigError::Extension { path }));
        }
        let jobs = py.detach(|| self.inner.jobs()).map_err(tracker_error)?;
        let text = format_tracker(&jobs);
        py.detach(|| seqring_state::processing::atomic_write(&path, text.as_bytes()))
            .map_err(file_write_error)
    }

    /// The ataraxis job id of `(job_name, specifier)`.
    #[staticmethod]
    fn generate_job_id(job_name: &str, specifier: &str) -> PyResult<String> {
        job_id(job_name, specifier).map_err(tracker_error)
    }

    /// The pipeline status name of counts `(total, succeeded, failed, running, scheduled)`.
    #[staticmethod]
    fn resolve_status(counts: Counts) -> &'static str {
        let (total, succeeded, failed, running, scheduled) = counts;
        let c = StatusCounts {
            total,
            succeeded,
            failed,
            running,
            scheduled,
        };
        PipelineStatus::resolve(&c).name()
    }

    /// The tracker files named `tracker_name` under `root`, sorted.
    #[staticmethod]
    fn discover(py: Python<'_>, root: PathBuf, tracker_name: &str) -> PyResult<Vec<PathBuf>> {
        let found = py
            .detach(|| ProcessingTracker::discover(&root, tracker_name))
            .map_err(tracker_error)?;
        Ok(found.into_iter().map(|t| t.path().to_path_buf()).collect())
    }
}
