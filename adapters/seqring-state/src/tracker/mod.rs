//! `ProcessingTracker`: a multi-process job tracker kept in a YAML file, shared with ataraxis
//! `ProcessingTracker` (Python) processes.
//!
//! Every operation takes an exclusive `flock` on `{file}.lock` (the lock Python's `filelock` takes), reloads the
//! file, applies its change and writes the file back atomically before releasing the lock. So Rust and Python
//! processes can start, complete and fail jobs on one tracker at the same time without losing an update.
//!
//! Invariants:
//! - the file is only read or written while the lock is held; a reader never sees a half-written file (the write is
//!   a rename), and a failed operation leaves the file as it was;
//! - acquisition times out after [`DEFAULT_LOCK_TIMEOUT`] (10 s, as ataraxis) unless configured, with
//!   [`TrackerError::LockTimeout`];
//! - job ids are ataraxis-identical ([`job_id`]); statuses are stored as 0–3 and timestamps as µs since the epoch;
//! - a missing tracker file reads as a tracker with no job and is created by the first change.
//!
//! Deviations from ataraxis, each deliberate: a job name may not be empty; `reset` does not need the old file to be
//! readable, so it also recovers a corrupt tracker; [`ProcessingTracker::align_jobs`] reports the entries it
//! discards in its return value instead of printing a warning.

mod jobs;
mod summary;
mod yaml;

pub use jobs::{job_id, split_job_ref, validate_job, JobState, JobStatus, JobTable};
/// The clock of the tracker's times (µs since the UNIX epoch): the platform's one clock.
pub use seqring_platform::clock::now_us;
use seqring_platform::LockError;
pub use seqring_platform::LockGuard;
pub use summary::{JobEntry, PipelineStatus, StatusCounts, TrackerSummary};
pub use yaml::{format_tracker, parse_tracker};

use std::collections::HashSet;
use std::path::{Path, PathBuf};
use std::time::Duration;

use crate::config::{check_extension, read_yaml_text, write_yaml_document, ConfigError};
use crate::processing::markers::marker_files;

/// How long an operation waits for the lock by default (ataraxis uses 10 s too).
///
/// # Examples
///
/// ```
/// use seqring_state::tracker::{ProcessingTracker, DEFAULT_LOCK_TIMEOUT};
/// assert_eq!(DEFAULT_LOCK_TIMEOUT, std::time::Duration::from_secs(10));
/// assert_eq!(ProcessingTracker::new("tracker.yaml")?.timeout(), DEFAULT_LOCK_TIMEOUT);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub const DEFAULT_LOCK_TIMEOUT: Duration = Duration::from_secs(10);

/// A failed tracker operation.
///
/// # Examples
///
/// ```
/// use seqring_state::tracker::{ProcessingTracker, TrackerError};
/// let dir = tempfile::tempdir()?;
/// let tracker = ProcessingTracker::new(dir.path().join("tracker.yaml"))?;
/// let err = tracker.start_job("0123456789abcdef", None).unwrap_err();
/// assert!(matches!(&err, TrackerError::UnknownJob { id, .. } if id == "0123456789abcdef"));
/// assert!(err.to_string().contains("tracker.yaml"));
/// let err = tracker.initialize_jobs(&[("bad:name", "")]).unwrap_err();
/// assert!(matches!(err, TrackerError::InvalidJob { .. }));
/// assert!(matches!(ProcessingTracker::new("tracker.txt"), Err(TrackerError::File(_))));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug, thiserror::Error)]
pub enum TrackerError {
    /// The tracker file could not be read, parsed or written, or its path is not `.yaml`/`.yml`.
    #[error(transparent)]
    File(#[from] ConfigError),
    /// Another process held the lock for longer than the timeout.
    #[error("timed out after {timeout:?} waiting for the tracker lock {path} (another process holds it)")]
    LockTimeout {
        /// The lock file.
        path: PathBuf,
        /// How long the caller waited.
        timeout: Duration,
    },
    /// The lock file could not be opened or locked.
    #[error("cannot lock {path}: {source}")]
    Lock {
        /// The lock file.
        path: PathBuf,
        /// The I/O error.
        #[source]
        source: std::io::Error,
    },
    /// No job with this id is in the tracker.
    #[error("the tracker {path} has no job with id {id}")]
    UnknownJob {
        /// The tracker file.
        path: PathBuf,
        /// The id that was asked for.
        id: String,
    },
    /// A job name or specifier was rejected.
    #[error("invalid job {name:?} (specifier {specifier:?}): {reason}")]
    InvalidJob {
        /// The job name.
        name: String,
        /// The specifier.
        specifier: String,
        /// Why it was rejected.
        reason: String,
    },
    /// A request named no job where at least one is needed (`align_jobs`' jobs, `resolve_job`'s universe).
    #[error("cannot {action} the tracker {path}: the {argument} names no job")]
    EmptyRequest {
        /// The tracker file.
        path: PathBuf,
        /// What was being done (`align`, `resolve a job of`).
        action: &'static str,
        /// The empty argument.
        argument: &'static str,
    },
    /// Requested jobs are not part of the job universe the pipeline declared.
    #[error("cannot align the tracker {path}: these requested jobs are not in the job universe: {jobs}")]
    OutsideUniverse {
        /// The tracker file.
        path: PathBuf,
        /// The jobs, as `name` or `name (specifier)`, sorted and comma-separated.
        jobs: String,
    },
    /// A job id names no job of the universe (`resolve_job`).
    #[error("cannot resolve the job {id} for the tracker {path}: no job of the universe has this id")]
    NotInUniverse {
        /// The tracker file.
        path: PathBuf,
        /// The id.
        id: String,
    },
    /// A directory could not be searched for trackers.
    #[error("cannot search {path} for trackers: {source}")]
    Discover {
        /// The directory.
        path: PathBuf,
        /// The I/O error.
        #[source]
        source: std::io::Error,
    },
}

/// The job schedulers [`executor_id_from_env`] recognises, in ataraxis 7.2.0's priority order: the scheme, the
/// variables that carry the job id (first non-empty wins), and a variable that must be set for the scheme to count
/// (Grid Engine's generic `JOB_ID` only counts under `SGE_ROOT`).
const SCHEDULERS: &[(&str, &[&str], Option<&str>)] = &[
    ("slurm", &["SLURM_JOB_ID", "SLURM_JOBID"], None),
    ("pbs", &["PBS_JOBID"], None),
    ("lsf", &["LSB_JOBID"], None),
    ("oar", &["OAR_JOB_ID"], None),
    ("sge", &["JOB_ID"], Some("SGE_ROOT")),
    ("hpcpack", &["CCP_JOBID"], None),
    ("azurebatch", &["AZ_BATCH_JOB_ID"], None),
    ("awsbatch", &["AWS_BATCH_JOB_ID"], None),
];

/// The executor id of this process, as ataraxis 7.2.0 records it: `<scheme>:<id>` for the first recognised
/// scheduler whose job id is set (`slurm:` from `SLURM_JOB_ID` or its older alias `SLURM_JOBID`, `pbs:`, `lsf:`,
/// `oar:`, `sge:` from `JOB_ID` only when `SGE_ROOT` is set, `hpcpack:`, `azurebatch:`, `awsbatch:`), else
/// `pid:<pid>`.
///
/// # Examples
///
/// ```
/// let id = seqring_state::tracker::executor_id_from_env();
/// assert!(id.contains(':'));
/// ```
pub fn executor_id_from_env() -> String {
    executor_id_from(|name| std::env::var_os(name).map(|v| v.to_string_lossy().into_owned()))
}

/// [`executor_id_from_env`] over any variable lookup (for tests).
fn executor_id_from(var: impl Fn(&str) -> Option<String>) -> String {
    for (scheme, ids, corroborating) in SCHEDULERS {
        if corroborating.is_some_and(|c| var(c).is_none()) {
            continue;
        }
        if let Some(id) = ids.iter().find_map(|v| var(v).filter(|id| !id.is_empty())) {
            return format!("{scheme}:{id}");
        }
    }
    format!("pid:{}", std::process::id())
}

/// A handle on a tracker file. It holds no lock and no state: every call locks, reloads and (for changes) writes.
///
/// # Examples
///
/// ```
/// use seqring_state::tracker::{JobStatus, ProcessingTracker};
/// let dir = tempfile::tempdir()?;
/// let tracker = ProcessingTracker::new(dir.path().join("tracker.yaml"))?;
/// let ids = tracker.initialize_jobs(&[("process_data", "batch_101"), ("assemble", "")])?;
/// tracker.start_job(&ids[0], Some("12345"))?;
/// tracker.complete_job(&ids[0])?;
/// assert_eq!(tracker.job_status(&ids[0])?, JobStatus::Succeeded);
/// assert_eq!(tracker.summarize()?.status.name(), "in_progress");
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Clone, Debug)]
pub struct ProcessingTracker {
    path: PathBuf,
    lock_path: PathBuf,
    timeout: Duration,
}

impl ProcessingTracker {
    /// A tracker over the file at `path` (which need not exist yet), with the default lock timeout.
    ///
    /// # Errors
    ///
    /// [`TrackerError::File`] when `path` does not end in `.yaml` or `.yml`.
    ///
    /// # Examples
    ///
    /// ```
    /// use seqring_state::tracker::{ProcessingTracker, TrackerError};
    /// let dir = tempfile::tempdir()?;
    /// let tracker = ProcessingTracker::new(dir.path().join("tracker.yaml"))?;
    /// assert!(!tracker.path().exists(), "nothing is created until the first change");
    /// assert!(tracker.jobs()?.is_empty());
    /// assert!(matches!(ProcessingTracker::new(dir.path().join("tracker.json")), Err(TrackerError::File(_))));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn new(path: impl Into<PathBuf>) -> Result<Self, TrackerError> {
        let path = path.into();
        check_extension(&path)?;
        let mut lock = path.clone().into_os_string();
        lock.push(".lock");
        Ok(Self {
            path,
            lock_path: lock.into(),
            timeout: DEFAULT_LOCK_TIMEOUT,
        })
    }

    /// Sets how long each operation waits for the lock.
    ///
    /// # Examples
    ///
    /// ```
    /// use seqring_state::tracker::{ProcessingTracker, TrackerError};
    /// use std::time::Duration;
    /// let dir = tempfile::tempdir()?;
    /// let tracker = ProcessingTracker::new(dir.path().join("tracker.yaml"))?.with_timeout(Duration::from_millis(50));
    /// assert_eq!(tracker.timeout(), Duration::from_millis(50));
    /// let _held = tracker.lock()?; // as another process would hold it
    /// let err = tracker.initialize_jobs(&[("extract", "")]).unwrap_err();
    /// assert!(matches!(err, TrackerError::LockTimeout { timeout, .. } if timeout == Duration::from_millis(50)));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn with_timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }

    /// The tracker file.
    ///
    /// # Examples
    ///
    /// ```
    /// use seqring_state::tracker::ProcessingTracker;
    /// let tracker = ProcessingTracker::new("/data/mouse_1/tracker.yaml")?;
    /// assert_eq!(tracker.path(), std::path::Path::new("/data/mouse_1/tracker.yaml"));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The lock file, `{file}.lock`.
    ///
    /// # Examples
    ///
    /// ```
    /// use seqring_state::tracker::ProcessingTracker;
    /// let tracker = ProcessingTracker::new("/data/mouse_1/tracker.yaml")?;
    /// assert_eq!(tracker.lock_path(), std::path::Path::new("/data/mouse_1/tracker.yaml.lock"));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn lock_path(&self) -> &Path {
        &self.lock_path
    }

    /// The lock timeout.
    ///
    /// # Examples
    ///
    /// ```
    /// use seqring_state::tracker::ProcessingTracker;
    /// use std::time::Duration;
    /// let tracker = ProcessingTracker::new("tracker.yaml")?;
    /// assert_eq!(tracker.timeout(), Duration::from_secs(10));
    /// assert_eq!(tracker.with_timeout(Duration::from_secs(1)).timeout(), Duration::from_secs(1));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn timeout(&self) -> Duration {
        self.timeout
    }

    /// Takes the tracker's lock, for callers that need several operations to be one atomic step. Operations on
    /// this tracker called while the guard lives would wait for it: use [`ProcessingTracker::update`] instead.
    ///
    /// # Errors
    ///
    /// [`TrackerError::LockTimeout`] or [`TrackerError::Lock`].
    ///
    /// # Examples
    ///
    /// ```
    /// use seqring_state::tracker::{JobStatus, ProcessingTracker};
    /// let dir = tempfile::tempdir()?;
    /// let tracker = ProcessingTracker::new(dir.path().join("session/tracker.yaml"))?;
    /// let ids = tracker.initialize_jobs(&[("extract", "")])?;
    /// let waiting = tracker.clone().with_timeout(std::time::Duration::from_millis(20));
    /// {
    ///     let _guard = tracker.lock()?;
    ///     // Every operation, in any process, waits while the guard lives.
    ///     assert!(waiting.job_status(&ids[0]).is_err());
    /// }
    /// assert_eq!(waiting.job_status(&ids[0])?, JobStatus::Scheduled);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn lock(&self) -> Result<LockGuard, TrackerError> {
        LockGuard::acquire(&self.lock_path, self.timeout).map_err(|e| match e {
            LockError::Timeout { path, timeout } => TrackerError::LockTimeout { path, timeout },
            LockError::Io { path, source } => TrackerError::Lock { path, source },
        })
    }

    fn load_unlocked(&self) -> Result<JobTable, TrackerError> {
        match std::fs::symlink_metadata(&self.path) {
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(JobTable::new()),
            _ => {}
        }
        let text = read_yaml_text(&self.path)?;
        Ok(parse_tracker(&self.path, &text)?)
    }

    fn save_unlocked(&self, jobs: &JobTable) -> Result<(), TrackerError> {
        let text = format_tracker(jobs);
        // format_tracker frames the document itself; strip the markers write_yaml_document adds back.
        let body = text
            .strip_prefix("---\n")
            .and_then(|t| t.strip_suffix("...\n"))
            .unwrap_or(&text);
        write_yaml_document(&self.path, body)?;
        Ok(())
    }

    /// Runs `f` on the jobs under the lock and writes the result back atomically if `f` succeeds. This is the
    /// primitive every changing operation uses; use it for custom multi-job updates.
    ///
    /// # Examples
    ///
    /// ```
    /// use seqring_state::tracker::{JobStatus, ProcessingTracker};
    /// let dir = tempfile::tempdir()?;
    /// let tracker = ProcessingTracker::new(dir.path().join("t.yaml"))?;
    /// tracker.initialize_jobs(&[("a", "1"), ("a", "2")])?;
    /// let started = tracker.update(|jobs| {
    ///     let mut n = 0;
    ///     for (_, job) in jobs.iter_mut() {
    ///         job.status = JobStatus::Running;
    ///         n += 1;
    ///     }
    ///     Ok(n)
    /// })?;
    /// assert_eq!(started, 2);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    ///
    /// # Errors
    ///
    /// Lock and file errors, or the error `f` returns (then nothing is written).
    pub fn update<R>(&self, f: impl FnOnce(&mut JobTable) -> Result<R, TrackerError>) -> Result<R, TrackerError> {
        let _guard = self.lock()?;
        let mut jobs = self.load_unlocked()?;
        let out = f(&mut jobs)?;
        self.save_unlocked(&jobs)?;
        Ok(out)
    }

    /// Runs `f` on a snapshot of the jobs read under the lock; writes nothing, and creates no file: when the lock
    /// file does not exist yet, no process has ever changed the tracker under its lock, and the file is read
    /// without it (seqring replaces the file atomically). Should that read fail while a lock file has appeared
    /// meanwhile (a first writer was at work), it is read again under the lock.
    ///
    /// # Errors
    ///
    /// Lock and file errors, or the error `f` returns.
    ///
    /// # Examples
    ///
    /// ```
    /// use seqring_state::tracker::{JobStatus, ProcessingTracker};
    /// let dir = tempfile::tempdir()?;
    /// let tracker = ProcessingTracker::new(dir.path().join("session/tracker.yaml"))?;
    /// tracker.initialize_jobs(&[("extract", "s1"), ("extract", "s2"), ("merge", "")])?;
    /// let extracts = tracker.read(|jobs| Ok(jobs.iter().filter(|(_, j)| j.job_name == "extract").count()))?;
    /// assert_eq!(extracts, 2);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn read<R>(&self, f: impl FnOnce(&JobTable) -> Result<R, TrackerError>) -> Result<R, TrackerError> {
        let guard = match std::fs::symlink_metadata(&self.lock_path) {
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => None,
            _ => Some(self.lock()?),
        };
        let jobs = match self.load_unlocked() {
            Err(_) if guard.is_none() && self.lock_path.exists() => {
                let _guard = self.lock()?;
                self.load_unlocked()?
            }
            other => other?,
        };
        f(&jobs)
    }

    /// All jobs, read under the lock.
    ///
    /// # Errors
    ///
    /// Lock and file errors.
    ///
    /// # Examples
    ///
    /// ```
    /// use seqring_state::tracker::{JobStatus, ProcessingTracker};
    /// let dir = tempfile::tempdir()?;
    /// let tracker = ProcessingTracker::new(dir.path().join("session/tracker.yaml"))?;
    /// let ids = tracker.initialize_jobs(&[("extract", "s1"), ("merge", "")])?;
    /// let jobs = tracker.jobs()?;
    /// assert_eq!(jobs.ids().collect::<Vec<_>>(), ids);
    /// assert_eq!(jobs.get(&ids[1]).unwrap().job_name, "merge");
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn jobs(&self) -> Result<JobTable, TrackerError> {
        self.read(|j| Ok(j.clone()))
    }

    fn unknown(&self, id: &str) -> TrackerError {
        TrackerError::UnknownJob {
            path: self.path.clone(),
            id: id.to_owned(),
        }
    }

    fn with_job<R>(&self, id: &str, f: impl FnOnce(&mut JobState) -> R) -> Result<R, TrackerError> {
        self.update(|jobs| jobs.get_mut(id).map(f).ok_or_else(|| self.unknown(id)))
    }

    /// Adds jobs given as `(name, specifier)` pairs (use `""` for no specifier) and returns their ids in order.
    /// Jobs already in the tracker are left as they are (ataraxis behaviour).
    ///
    /// # Errors
    ///
    /// [`TrackerError::InvalidJob`] for an empty name or a `:` (nothing is written then); lock and file errors.
    ///
    /// # Examples
    ///
    /// ```
    /// use seqring_state::tracker::{JobStatus, ProcessingTracker};
    /// let dir = tempfile::tempdir()?;
    /// let tracker = ProcessingTracker::new(dir.path().join("session/tracker.yaml"))?;
    /// let ids = tracker.initialize_jobs(&[("extract", "s1"), ("merge", "")])?;
    /// assert_eq!(ids, [seqring_state::tracker::job_id("extract", "s1")?, seqring_state::tracker::job_id("merge", "")?]);
    /// tracker.complete_job(&ids[0])?;
    /// // Initialising again keeps what is recorded.
    /// tracker.initialize_jobs(&[("extract", "s1")])?;
    /// assert_eq!(tracker.job_status(&ids[0])?, JobStatus::Succeeded);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn initialize_jobs<N: AsRef<str>, S: AsRef<str>>(&self, jobs: &[(N, S)]) -> Result<Vec<String>, TrackerError> {
        let ids = job_ids(jobs)?;
        self.update(|table| {
            for ((n, s), id) in jobs.iter().zip(&ids) {
                table.insert(id.clone(), JobState::new(n.as_ref(), s.as_ref()));
            }
            Ok(ids.clone())
        })
    }

    /// Makes the registry hold the jobs requested for this run (ataraxis `align_jobs`). `universe` is every job the
    /// pipeline can produce (`None`: the requested jobs themselves). A requested job outside the universe rejects the
    /// whole request; registry entries outside the universe (left from an older pipeline definition) are discarded;
    /// requested jobs the registry lacks are added as scheduled; every other in-universe job keeps its state, so one
    /// invocation can run part of a pipeline.
    ///
    /// # Examples
    ///
    /// ```
    /// use seqring_state::tracker::{JobStatus, ProcessingTracker};
    /// let dir = tempfile::tempdir()?;
    /// let tracker = ProcessingTracker::new(dir.path().join("t.yaml"))?;
    /// let universe = [("extract", "s1"), ("extract", "s2"), ("merge", "")];
    /// let first = tracker.align_jobs(&[("extract", "s1")], Some(&universe))?;
    /// tracker.complete_job(&first.ids[0])?;
    /// // A later run of another part keeps the first job's state.
    /// let second = tracker.align_jobs(&[("extract", "s2"), ("merge", "")], Some(&universe))?;
    /// assert_eq!(second.added, second.ids);
    /// assert_eq!(tracker.job_status(&first.ids[0])?, JobStatus::Succeeded);
    /// assert!(tracker.align_jobs(&[("other", "")], Some(&universe)).is_err());
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    ///
    /// # Errors
    ///
    /// [`TrackerError::EmptyRequest`] for no requested job, [`TrackerError::InvalidJob`] for an empty name or a `:`,
    /// [`TrackerError::OutsideUniverse`] naming every requested job outside the universe; nothing is written then.
    /// Lock and file errors.
    pub fn align_jobs<N: AsRef<str>, S: AsRef<str>>(
        &self,
        jobs: &[(N, S)],
        universe: Option<&[(N, S)]>,
    ) -> Result<AlignedJobs, TrackerError> {
        if jobs.is_empty() {
            return Err(TrackerError::EmptyRequest {
                path: self.path.clone(),
                action: "align",
                argument: "list of requested jobs",
            });
        }
        let universe_ids = job_ids(universe.unwrap_or(jobs))?.into_iter().collect::<HashSet<_>>();
        let ids = job_ids(jobs)?;
        let mut outside: Vec<String> = jobs
            .iter()
            .zip(&ids)
            .filter(|(_, id)| !universe_ids.contains(*id))
            .map(|((n, s), _)| match s.as_ref() {
                "" => n.as_ref().to_owned(),
                s => format!("{} ({s})", n.as_ref()),
            })
            .collect();
        if !outside.is_empty() {
            outside.sort();
            return Err(TrackerError::OutsideUniverse {
                path: self.path.clone(),
                jobs: outside.join(", "),
            });
        }
        self.update(|table| {
            let discarded: Vec<String> = table
                .ids()
                .filter(|id| !universe_ids.contains(*id))
                .map(str::to_owned)
                .collect();
            table.retain(|id, _| universe_ids.contains(id));
            let mut added = Vec::new();
            for ((n, s), id) in jobs.iter().zip(&ids) {
                if table.insert(id.clone(), JobState::new(n.as_ref(), s.as_ref())) {
                    added.push(id.clone());
                }
            }
            Ok(AlignedJobs {
                ids: ids.clone(),
                added,
                discarded,
            })
        })
    }

    /// The `(name, specifier)` of the universe job whose id is `id` (ataraxis `resolve_job`), so that an
    /// invocation handed one job id can check it before the tracker holds anything for it. Reads no file.
    ///
    /// # Examples
    ///
    /// ```
    /// use seqring_state::tracker::{job_id, ProcessingTracker};
    /// let tracker = ProcessingTracker::new("never-read.yaml")?;
    /// let universe = [("extract", "s1"), ("merge", "")];
    /// let id = job_id("merge", "")?;
    /// assert_eq!(tracker.resolve_job(&id, &universe)?, ("merge".to_owned(), String::new()));
    /// assert!(tracker.resolve_job("0000000000000000", &universe).is_err());
    /// # Ok::<(), seqring_state::tracker::TrackerError>(())
    /// ```
    ///
    /// # Errors
    ///
    /// [`TrackerError::EmptyRequest`] for an empty universe, [`TrackerError::NotInUniverse`] for an id of no
    /// universe job, [`TrackerError::InvalidJob`] for an invalid universe job.
    pub fn resolve_job<N: AsRef<str>, S: AsRef<str>>(
        &self,
        id: &str,
        universe: &[(N, S)],
    ) -> Result<(String, String), TrackerError> {
        if universe.is_empty() {
            return Err(TrackerError::EmptyRequest {
                path: self.path.clone(),
                action: "resolve a job of",
                argument: "job universe",
            });
        }
        for ((n, s), candidate) in universe.iter().zip(job_ids(universe)?) {
            if candidate == id {
                return Ok((n.as_ref().to_owned(), s.as_ref().to_owned()));
            }
        }
        Err(TrackerError::NotInUniverse {
            path: self.path.clone(),
            id: id.to_owned(),
        })
    }

    /// Puts the given jobs back to scheduled and clears their executor, times and error (ataraxis `reset_jobs`);
    /// every other job keeps its state. Returns the reset ids in file order.
    ///
    /// # Examples
    ///
    /// ```
    /// use seqring_state::tracker::{JobStatus, ProcessingTracker};
    /// let dir = tempfile::tempdir()?;
    /// let tracker = ProcessingTracker::new(dir.path().join("t.yaml"))?;
    /// let ids = tracker.initialize_jobs(&[("a", "1"), ("a", "2")])?;
    /// tracker.start_job(&ids[0], Some("node7"))?;
    /// tracker.complete_job(&ids[1])?;
    /// assert_eq!(tracker.reset_jobs(&[&ids[1], &ids[0]])?, ids);
    /// assert_eq!(tracker.job_info(&ids[0])?.executor_id, None);
    /// assert!(tracker.reset_jobs(&["0000000000000000"]).is_err());
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    ///
    /// # Errors
    ///
    /// [`TrackerError::UnknownJob`] naming every id the tracker does not hold; nothing changes then. Lock and file
    /// errors.
    pub fn reset_jobs<I: AsRef<str>>(&self, ids: &[I]) -> Result<Vec<String>, TrackerError> {
        let targeted: HashSet<&str> = ids.iter().map(AsRef::as_ref).collect();
        self.update(|table| {
            let mut unknown: Vec<&str> = targeted.iter().copied().filter(|id| !table.contains(id)).collect();
            if !unknown.is_empty() {
                unknown.sort_unstable();
                return Err(self.unknown(&unknown.join(", ")));
            }
            let mut reset = Vec::new();
            for (id, job) in table.iter_mut() {
                if targeted.contains(id) {
                    job.reschedule();
                    reset.push(id.to_owned());
                }
            }
            Ok(reset)
        })
    }

    /// Every tracker file named exactly `tracker_name` under `root`, sorted by path, without reading any of them
    /// (ataraxis `ProcessingTracker.discover`). The walk is parallel ([`crate::processing::discover_marker_files`]).
    ///
    /// # Examples
    ///
    /// ```
    /// use seqring_state::tracker::ProcessingTracker;
    /// let dir = tempfile::tempdir()?;
    /// ProcessingTracker::new(dir.path().join("s1/tracker.yaml"))?.initialize_jobs(&[("x", "")])?;
    /// std::fs::write(dir.path().join("other.yaml"), "jobs: {}\n")?;
    /// let found = ProcessingTracker::discover(dir.path(), "tracker.yaml")?;
    /// assert_eq!(found.len(), 1);
    /// assert_eq!(found[0].path(), dir.path().join("s1/tracker.yaml"));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    ///
    /// # Errors
    ///
    /// [`TrackerError::File`] when `tracker_name` does not end in `.yaml`/`.yml`; [`TrackerError::Discover`] when
    /// `root` or a directory under it cannot be read.
    pub fn discover(root: impl AsRef<Path>, tracker_name: &str) -> Result<Vec<ProcessingTracker>, TrackerError> {
        check_extension(Path::new(tracker_name))?;
        let found = marker_files(root.as_ref(), tracker_name).map_err(|e| TrackerError::Discover {
            path: e.path,
            source: e.source,
        })?;
        found.into_iter().map(ProcessingTracker::new).collect()
    }

    /// Marks a job running, records the executor (`None`: [`executor_id_from_env`]) and the start time, and clears
    /// the previous run's end time and error.
    ///
    /// # Errors
    ///
    /// [`TrackerError::UnknownJob`]; lock and file errors.
    ///
    /// # Examples
    ///
    /// ```
    /// use seqring_state::tracker::{JobStatus, ProcessingTracker};
    /// let dir = tempfile::tempdir()?;
    /// let tracker = ProcessingTracker::new(dir.path().join("session/tracker.yaml"))?;
    /// let ids = tracker.initialize_jobs(&[("extract", "s1")])?;
    /// tracker.start_job(&ids[0], Some("slurm:4242"))?;
    /// let job = tracker.job_info(&ids[0])?;
    /// assert_eq!(job.status, JobStatus::Running);
    /// assert_eq!(job.executor_id.as_deref(), Some("slurm:4242"));
    /// assert!(job.started_at.is_some() && job.completed_at.is_none());
    /// tracker.start_job(&ids[0], None)?; // the executor from the environment
    /// assert!(tracker.job_info(&ids[0])?.executor_id.unwrap().contains(':'));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn start_job(&self, id: &str, executor_id: Option<&str>) -> Result<(), TrackerError> {
        let executor = executor_id.map_or_else(executor_id_from_env, str::to_owned);
        self.with_job(id, |job| {
            job.status = JobStatus::Running;
            job.executor_id = Some(executor);
            job.started_at = Some(now_us());
            job.completed_at = None;
            job.error_message = None;
        })
    }

    /// Marks a job succeeded, clears the error of an earlier failure (as ataraxis does) and records the end time.
    ///
    /// # Errors
    ///
    /// [`TrackerError::UnknownJob`]; lock and file errors.
    ///
    /// # Examples
    ///
    /// ```
    /// use seqring_state::tracker::{JobStatus, ProcessingTracker};
    /// let dir = tempfile::tempdir()?;
    /// let tracker = ProcessingTracker::new(dir.path().join("session/tracker.yaml"))?;
    /// let ids = tracker.initialize_jobs(&[("extract", "s1")])?;
    /// tracker.fail_job(&ids[0], Some("disk full"))?;
    /// tracker.start_job(&ids[0], Some("pid:1"))?;
    /// tracker.complete_job(&ids[0])?;
    /// let job = tracker.job_info(&ids[0])?;
    /// assert_eq!((job.status, job.error_message), (JobStatus::Succeeded, None));
    /// assert!(job.completed_at >= job.started_at);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn complete_job(&self, id: &str) -> Result<(), TrackerError> {
        self.with_job(id, |job| {
            job.status = JobStatus::Succeeded;
            job.error_message = None;
            job.completed_at = Some(now_us());
        })
    }

    /// Marks a job failed, with an optional message, and records the end time.
    ///
    /// # Errors
    ///
    /// [`TrackerError::UnknownJob`]; lock and file errors.
    ///
    /// # Examples
    ///
    /// ```
    /// use seqring_state::tracker::{JobStatus, ProcessingTracker};
    /// let dir = tempfile::tempdir()?;
    /// let tracker = ProcessingTracker::new(dir.path().join("session/tracker.yaml"))?;
    /// let ids = tracker.initialize_jobs(&[("extract", "s1")])?;
    /// tracker.start_job(&ids[0], Some("pid:1"))?;
    /// tracker.fail_job(&ids[0], Some("camera frames missing"))?;
    /// let job = tracker.job_info(&ids[0])?;
    /// assert_eq!(job.status, JobStatus::Failed);
    /// assert_eq!(job.error_message.as_deref(), Some("camera frames missing"));
    /// assert!(tracker.encountered_error()?);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn fail_job(&self, id: &str, error_message: Option<&str>) -> Result<(), TrackerError> {
        self.with_job(id, |job| {
            job.status = JobStatus::Failed;
            job.error_message = error_message.map(str::to_owned);
            job.completed_at = Some(now_us());
        })
    }

    /// The status of a job.
    ///
    /// # Errors
    ///
    /// [`TrackerError::UnknownJob`]; lock and file errors.
    ///
    /// # Examples
    ///
    /// ```
    /// use seqring_state::tracker::{JobStatus, ProcessingTracker};
    /// let dir = tempfile::tempdir()?;
    /// let tracker = ProcessingTracker::new(dir.path().join("session/tracker.yaml"))?;
    /// let ids = tracker.initialize_jobs(&[("extract", "s1")])?;
    /// assert_eq!(tracker.job_status(&ids[0])?, JobStatus::Scheduled);
    /// tracker.start_job(&ids[0], Some("pid:1"))?;
    /// assert_eq!(tracker.job_status(&ids[0])?, JobStatus::Running);
    /// assert!(tracker.job_status("ffffffffffffffff").is_err());
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn job_status(&self, id: &str) -> Result<JobStatus, TrackerError> {
        self.job_info(id).map(|j| j.status)
    }

    /// Everything recorded about a job.
    ///
    /// # Errors
    ///
    /// [`TrackerError::UnknownJob`]; lock and file errors.
    ///
    /// # Examples
    ///
    /// ```
    /// use seqring_state::tracker::{JobStatus, ProcessingTracker};
    /// let dir = tempfile::tempdir()?;
    /// let tracker = ProcessingTracker::new(dir.path().join("session/tracker.yaml"))?;
    /// let ids = tracker.initialize_jobs(&[("extract", "s1")])?;
    /// let job = tracker.job_info(&ids[0])?;
    /// assert_eq!((job.job_name.as_str(), job.specifier.as_str()), ("extract", "s1"));
    /// assert_eq!((job.status, job.executor_id, job.started_at), (JobStatus::Scheduled, None, None));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn job_info(&self, id: &str) -> Result<JobState, TrackerError> {
        self.read(|jobs| jobs.get(id).cloned().ok_or_else(|| self.unknown(id)))
    }

    /// The ids of the jobs with a status, in file order.
    ///
    /// # Errors
    ///
    /// Lock and file errors.
    ///
    /// # Examples
    ///
    /// ```
    /// use seqring_state::tracker::{JobStatus, ProcessingTracker};
    /// let dir = tempfile::tempdir()?;
    /// let tracker = ProcessingTracker::new(dir.path().join("session/tracker.yaml"))?;
    /// let ids = tracker.initialize_jobs(&[("extract", "s1"), ("extract", "s2"), ("merge", "")])?;
    /// tracker.complete_job(&ids[2])?;
    /// assert_eq!(tracker.jobs_by_status(JobStatus::Scheduled)?, &ids[..2]);
    /// assert_eq!(tracker.jobs_by_status(JobStatus::Succeeded)?, &ids[2..]);
    /// assert!(tracker.jobs_by_status(JobStatus::Failed)?.is_empty());
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn jobs_by_status(&self, status: JobStatus) -> Result<Vec<String>, TrackerError> {
        self.read(|jobs| {
            Ok(jobs
                .iter()
                .filter(|(_, j)| j.status == status)
                .map(|(id, _)| id.to_owned())
                .collect())
        })
    }

    /// Job counts by status (ataraxis `get_summary`).
    ///
    /// # Errors
    ///
    /// Lock and file errors.
    ///
    /// # Examples
    ///
    /// ```
    /// use seqring_state::tracker::{ProcessingTracker, StatusCounts};
    /// let dir = tempfile::tempdir()?;
    /// let tracker = ProcessingTracker::new(dir.path().join("tracker.yaml"))?;
    /// let ids = tracker.initialize_jobs(&[("extract", "s1"), ("extract", "s2"), ("merge", "")])?;
    /// tracker.start_job(&ids[0], Some("pid:1"))?;
    /// tracker.fail_job(&ids[1], None)?;
    /// assert_eq!(tracker.summary()?, StatusCounts { total: 3, succeeded: 0, failed: 1, running: 1, scheduled: 1 });
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn summary(&self) -> Result<StatusCounts, TrackerError> {
        self.read(|jobs| Ok(StatusCounts::of(jobs)))
    }

    /// The ataraxis `summarize()` structure: every job, the counts and the overall status.
    ///
    /// # Errors
    ///
    /// Lock and file errors.
    ///
    /// # Examples
    ///
    /// ```
    /// use seqring_state::tracker::{PipelineStatus, ProcessingTracker};
    /// let dir = tempfile::tempdir()?;
    /// let tracker = ProcessingTracker::new(dir.path().join("tracker.yaml"))?;
    /// let ids = tracker.initialize_jobs(&[("extract", "s1"), ("merge", "")])?;
    /// tracker.complete_job(&ids[0])?;
    /// let summary = tracker.summarize()?;
    /// assert_eq!(summary.jobs.len(), 2);
    /// assert_eq!(summary.jobs[0].job_id, ids[0]);
    /// assert_eq!((summary.summary.total, summary.summary.succeeded), (2, 1));
    /// assert_eq!(summary.status, PipelineStatus::InProgress);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn summarize(&self) -> Result<TrackerSummary, TrackerError> {
        self.read(|jobs| Ok(TrackerSummary::of(jobs)))
    }

    /// The overall pipeline status (see [`PipelineStatus::resolve`]).
    ///
    /// # Errors
    ///
    /// Lock and file errors.
    ///
    /// # Examples
    ///
    /// ```
    /// use seqring_state::tracker::{PipelineStatus, ProcessingTracker};
    /// let dir = tempfile::tempdir()?;
    /// let tracker = ProcessingTracker::new(dir.path().join("tracker.yaml"))?;
    /// let ids = tracker.initialize_jobs(&[("extract", "s1"), ("merge", "")])?;
    /// assert_eq!(tracker.resolve_status()?, PipelineStatus::NotStarted);
    /// tracker.start_job(&ids[0], Some("pid:1"))?;
    /// assert_eq!(tracker.resolve_status()?, PipelineStatus::Processing);
    /// tracker.complete_job(&ids[0])?;
    /// tracker.complete_job(&ids[1])?;
    /// assert_eq!(tracker.resolve_status()?, PipelineStatus::Completed);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn resolve_status(&self) -> Result<PipelineStatus, TrackerError> {
        self.summary().map(|c| PipelineStatus::resolve(&c))
    }

    /// Whether there are jobs and all succeeded (ataraxis `complete`).
    ///
    /// # Errors
    ///
    /// Lock and file errors.
    ///
    /// # Examples
    ///
    /// ```
    /// use seqring_state::tracker::{JobStatus, ProcessingTracker};
    /// let dir = tempfile::tempdir()?;
    /// let tracker = ProcessingTracker::new(dir.path().join("session/tracker.yaml"))?;
    /// assert!(!tracker.is_complete()?, "no job at all is not complete");
    /// let ids = tracker.initialize_jobs(&[("extract", "s1"), ("merge", "")])?;
    /// tracker.complete_job(&ids[0])?;
    /// assert!(!tracker.is_complete()?);
    /// tracker.complete_job(&ids[1])?;
    /// assert!(tracker.is_complete()?);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn is_complete(&self) -> Result<bool, TrackerError> {
        self.summary().map(|c| c.total > 0 && c.succeeded == c.total)
    }

    /// Whether any job failed (ataraxis `encountered_error`).
    ///
    /// # Errors
    ///
    /// Lock and file errors.
    ///
    /// # Examples
    ///
    /// ```
    /// use seqring_state::tracker::{JobStatus, ProcessingTracker};
    /// let dir = tempfile::tempdir()?;
    /// let tracker = ProcessingTracker::new(dir.path().join("session/tracker.yaml"))?;
    /// let ids = tracker.initialize_jobs(&[("extract", "s1")])?;
    /// assert!(!tracker.encountered_error()?);
    /// tracker.fail_job(&ids[0], Some("bad frame"))?;
    /// assert!(tracker.encountered_error()?);
    /// tracker.retry_failed_jobs()?;
    /// assert!(!tracker.encountered_error()?);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn encountered_error(&self) -> Result<bool, TrackerError> {
        self.summary().map(|c| c.failed > 0)
    }

    /// The jobs whose name contains `name` and whose specifier contains `specifier` (substring matches; `None`
    /// matches anything, so both `None` lists every job, as in ataraxis), in file order.
    ///
    /// # Errors
    ///
    /// Lock and file errors.
    ///
    /// # Examples
    ///
    /// ```
    /// use seqring_state::tracker::{JobStatus, ProcessingTracker};
    /// let dir = tempfile::tempdir()?;
    /// let tracker = ProcessingTracker::new(dir.path().join("session/tracker.yaml"))?;
    /// tracker.initialize_jobs(&[("extract_video", "s1"), ("extract_audio", "s1"), ("merge", "s1"), ("extract_video", "s2")])?;
    /// let names = |found: Vec<seqring_state::tracker::JobEntry>| {
    ///     found.into_iter().map(|e| format!("{}/{}", e.state.job_name, e.state.specifier)).collect::<Vec<_>>()
    /// };
    /// assert_eq!(names(tracker.find_jobs(Some("extract"), Some("s1"))?), ["extract_video/s1", "extract_audio/s1"]);
    /// assert_eq!(names(tracker.find_jobs(Some("video"), None)?), ["extract_video/s1", "extract_video/s2"]);
    /// assert_eq!(tracker.find_jobs(None, None)?.len(), 4);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn find_jobs(&self, name: Option<&str>, specifier: Option<&str>) -> Result<Vec<JobEntry>, TrackerError> {
        self.read(|jobs| {
            Ok(jobs
                .iter()
                .filter(|(_, j)| contains_or_any(&j.job_name, name))
                .filter(|(_, j)| contains_or_any(&j.specifier, specifier))
                .map(|(id, j)| JobEntry {
                    job_id: id.to_owned(),
                    state: j.clone(),
                })
                .collect())
        })
    }

    /// Removes every job. The old file need not be readable, so this also recovers a corrupt tracker.
    ///
    /// # Errors
    ///
    /// Lock and file errors.
    ///
    /// # Examples
    ///
    /// ```
    /// use seqring_state::tracker::{JobStatus, ProcessingTracker};
    /// let dir = tempfile::tempdir()?;
    /// let tracker = ProcessingTracker::new(dir.path().join("session/tracker.yaml"))?;
    /// tracker.initialize_jobs(&[("extract", "s1")])?;
    /// std::fs::write(tracker.path(), "jobs: [not, a, map")?; // a corrupt file
    /// assert!(tracker.jobs().is_err());
    /// tracker.reset()?;
    /// assert!(tracker.jobs()?.is_empty());
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn reset(&self) -> Result<(), TrackerError> {
        let _guard = self.lock()?;
        self.save_unlocked(&JobTable::new())
    }

    /// Puts every failed job back to scheduled, clearing its executor, times and error; returns their ids.
    ///
    /// # Errors
    ///
    /// Lock and file errors.
    ///
    /// # Examples
    ///
    /// ```
    /// use seqring_state::tracker::{JobStatus, ProcessingTracker};
    /// let dir = tempfile::tempdir()?;
    /// let tracker = ProcessingTracker::new(dir.path().join("session/tracker.yaml"))?;
    /// let ids = tracker.initialize_jobs(&[("extract", "s1"), ("extract", "s2")])?;
    /// tracker.fail_job(&ids[1], Some("timeout"))?;
    /// tracker.complete_job(&ids[0])?;
    /// assert_eq!(tracker.retry_failed_jobs()?, &ids[1..]);
    /// let job = tracker.job_info(&ids[1])?;
    /// assert_eq!((job.status, job.error_message, job.completed_at), (JobStatus::Scheduled, None, None));
    /// assert_eq!(tracker.job_status(&ids[0])?, JobStatus::Succeeded);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn retry_failed_jobs(&self) -> Result<Vec<String>, TrackerError> {
        self.update(|jobs| {
            let mut retried = Vec::new();
            for (id, job) in jobs.iter_mut() {
                if job.status == JobStatus::Failed {
                    job.reschedule();
                    retried.push(id.to_owned());
                }
            }
            Ok(retried)
        })
    }

    /// Starts a job (executor from the environment) and returns a guard that marks it failed if dropped before
    /// [`JobRun::complete`] or [`JobRun::fail`], including when the work panics.
    ///
    /// # Examples
    ///
    /// ```
    /// use seqring_state::tracker::{JobStatus, ProcessingTracker};
    /// let dir = tempfile::tempdir()?;
    /// let tracker = ProcessingTracker::new(dir.path().join("t.yaml"))?;
    /// let ids = tracker.initialize_jobs(&[("a", "1"), ("a", "2")])?;
    /// let run = tracker.run_job(&ids[0])?;
    /// run.complete()?;
    /// {
    ///     let _run = tracker.run_job(&ids[1])?; // dropped without success
    /// }
    /// assert_eq!(tracker.job_status(&ids[0])?, JobStatus::Succeeded);
    /// assert_eq!(tracker.job_status(&ids[1])?, JobStatus::Failed);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    ///
    /// # Errors
    ///
    /// As [`ProcessingTracker::start_job`].
    pub fn run_job(&self, id: &str) -> Result<JobRun<'_>, TrackerError> {
        self.start_job(id, None)?;
        Ok(JobRun {
            tracker: self,
            id: id.to_owned(),
            done: false,
        })
    }

    /// Runs `work` as the job `id`: starts it, then completes it when `work` returns `Ok`, or fails it with the
    /// error's text when `work` returns `Err` or panics. Returns what `work` returned.
    ///
    /// # Errors
    ///
    /// The outer error is a tracker failure (the job could not be started or its end recorded); the inner result is
    /// `work`'s.
    ///
    /// # Examples
    ///
    /// ```
    /// use seqring_state::tracker::{JobStatus, ProcessingTracker};
    /// let dir = tempfile::tempdir()?;
    /// let tracker = ProcessingTracker::new(dir.path().join("session/tracker.yaml"))?;
    /// let ids = tracker.initialize_jobs(&[("extract", "s1"), ("extract", "s2")])?;
    /// let frames = tracker.run(&ids[0], || Ok::<_, String>(1_200))?;
    /// assert_eq!(frames, Ok(1_200));
    /// let failed = tracker.run(&ids[1], || Err::<u32, _>("no camera frames in s2"))?;
    /// assert_eq!(failed, Err("no camera frames in s2"));
    /// assert_eq!(tracker.job_status(&ids[0])?, JobStatus::Succeeded);
    /// assert_eq!(tracker.job_info(&ids[1])?.error_message.as_deref(), Some("no camera frames in s2"));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn run<T, E: std::fmt::Display>(
        &self,
        id: &str,
        work: impl FnOnce() -> Result<T, E>,
    ) -> Result<Result<T, E>, TrackerError> {
        let run = self.run_job(id)?;
        match work() {
            Ok(v) => {
                run.complete()?;
                Ok(Ok(v))
            }
            Err(e) => {
                run.fail(&e.to_string())?;
                Ok(Err(e))
            }
        }
    }
}

/// What [`ProcessingTracker::align_jobs`] did.
///
/// # Examples
///
/// ```
/// use seqring_state::tracker::{job_id, ProcessingTracker};
/// let dir = tempfile::tempdir()?;
/// let tracker = ProcessingTracker::new(dir.path().join("tracker.yaml"))?;
/// tracker.initialize_jobs(&[("old_step", ""), ("extract", "s1")])?;
/// let aligned = tracker.align_jobs(&[("extract", "s1"), ("extract", "s2")], None)?;
/// assert_eq!(aligned.ids, [job_id("extract", "s1")?, job_id("extract", "s2")?]);
/// assert_eq!(aligned.added, [job_id("extract", "s2")?]);
/// assert_eq!(aligned.discarded, [job_id("old_step", "")?]);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AlignedJobs {
    /// The ids of the requested jobs, in request order (what ataraxis `align_jobs` returns).
    pub ids: Vec<String>,
    /// The requested jobs the registry did not hold and now holds as scheduled.
    pub added: Vec<String>,
    /// The registry entries outside the universe that were discarded (ataraxis prints these as a warning).
    pub discarded: Vec<String>,
}

/// The ids of `(name, specifier)` pairs, in order.
fn job_ids<N: AsRef<str>, S: AsRef<str>>(jobs: &[(N, S)]) -> Result<Vec<String>, TrackerError> {
    jobs.iter().map(|(n, s)| job_id(n.as_ref(), s.as_ref())).collect()
}

/// A started job that is marked failed unless it is explicitly completed ([`ProcessingTracker::run_job`]).
///
/// # Examples
///
/// ```
/// use seqring_state::tracker::{JobStatus, ProcessingTracker};
/// let dir = tempfile::tempdir()?;
/// let tracker = ProcessingTracker::new(dir.path().join("session/tracker.yaml"))?;
/// let ids = tracker.initialize_jobs(&[("extract", "s1")])?;
/// let result = std::panic::catch_unwind(|| {
///     let _run = tracker.run_job(&ids[0]).unwrap();
///     panic!("decoder crashed");
/// });
/// assert!(result.is_err());
/// let job = tracker.job_info(&ids[0])?;
/// assert_eq!(job.status, JobStatus::Failed);
/// assert_eq!(job.error_message.as_deref(), Some("the job panicked"));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[must_use = "dropping a JobRun immediately marks the job failed"]
#[derive(Debug)]
pub struct JobRun<'a> {
    tracker: &'a ProcessingTracker,
    id: String,
    done: bool,
}

impl JobRun<'_> {
    /// The job's id.
    ///
    /// # Examples
    ///
    /// ```
    /// use seqring_state::tracker::{JobStatus, ProcessingTracker};
    /// let dir = tempfile::tempdir()?;
    /// let tracker = ProcessingTracker::new(dir.path().join("session/tracker.yaml"))?;
    /// let ids = tracker.initialize_jobs(&[("extract", "s1")])?;
    /// let run = tracker.run_job(&ids[0])?;
    /// assert_eq!(run.id(), ids[0]);
    /// run.complete()?;
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn id(&self) -> &str {
        &self.id
    }

    /// Marks the job succeeded.
    ///
    /// # Errors
    ///
    /// As [`ProcessingTracker::complete_job`]; the job is then marked failed by the drop, if the tracker allows.
    ///
    /// # Examples
    ///
    /// ```
    /// use seqring_state::tracker::{JobStatus, ProcessingTracker};
    /// let dir = tempfile::tempdir()?;
    /// let tracker = ProcessingTracker::new(dir.path().join("session/tracker.yaml"))?;
    /// let ids = tracker.initialize_jobs(&[("extract", "s1")])?;
    /// let run = tracker.run_job(&ids[0])?;
    /// assert_eq!(tracker.job_status(&ids[0])?, JobStatus::Running);
    /// run.complete()?;
    /// assert_eq!(tracker.job_status(&ids[0])?, JobStatus::Succeeded);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn complete(mut self) -> Result<(), TrackerError> {
        self.tracker.complete_job(&self.id)?;
        self.done = true;
        Ok(())
    }

    /// Marks the job failed with a message.
    ///
    /// # Errors
    ///
    /// As [`ProcessingTracker::fail_job`].
    ///
    /// # Examples
    ///
    /// ```
    /// use seqring_state::tracker::{JobStatus, ProcessingTracker};
    /// let dir = tempfile::tempdir()?;
    /// let tracker = ProcessingTracker::new(dir.path().join("session/tracker.yaml"))?;
    /// let ids = tracker.initialize_jobs(&[("extract", "s1")])?;
    /// let run = tracker.run_job(&ids[0])?;
    /// run.fail("sync pulses missing")?;
    /// let job = tracker.job_info(&ids[0])?;
    /// assert_eq!((job.status, job.error_message.as_deref()), (JobStatus::Failed, Some("sync pulses missing")));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn fail(mut self, message: &str) -> Result<(), TrackerError> {
        self.done = true;
        self.tracker.fail_job(&self.id, Some(message))
    }
}

impl Drop for JobRun<'_> {
    fn drop(&mut self) {
        if !self.done {
            let message = if std::thread::panicking() {
                "the job panicked"
            } else {
                "the job ended without being marked complete"
            };
            // Nothing can report an error from a drop; the job then stays `running`, which `summarize` shows.
            let _ = self.tracker.fail_job(&self.id, Some(message));
        }
    }
}

/// Whether `text` contains `pattern`; true when there is no pattern.
fn contains_or_any(text: &str, pattern: Option<&str>) -> bool {
    match pattern {
        Some(p) => text.contains(p),
        None => true,
    }
}

/// Finds the tracker files under `root`: every `.yaml`/`.yml` file (at most 64 MiB) whose top level has a `jobs`
/// key and which parses as a tracker. Symbolic links to directories are not followed. Sorted by path.
///
/// # Examples
///
/// ```
/// use seqring_state::tracker::{discover_trackers, ProcessingTracker};
/// let dir = tempfile::tempdir()?;
/// ProcessingTracker::new(dir.path().join("a/tracker.yaml"))?.initialize_jobs(&[("x", "")])?;
/// std::fs::write(dir.path().join("config.yaml"), "name: not a tracker\n")?;
/// let found = discover_trackers(dir.path())?;
/// assert_eq!(found, vec![dir.path().join("a/tracker.yaml")]);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
///
/// # Errors
///
/// [`TrackerError::Discover`] when `root` or a directory under it cannot be read.
pub fn discover_trackers(root: impl AsRef<Path>) -> Result<Vec<PathBuf>, TrackerError> {
    let root = root.as_ref();
    let files = crate::processing::tree::walk_files(root).map_err(|e| TrackerError::Discover {
        path: e.path.clone(),
        source: e.source,
    })?;
    let mut found = Vec::new();
    for file in files {
        if check_extension(&file.path).is_err() || file.len > 64 << 20 {
            continue;
        }
        let Ok(text) = std::fs::read_to_string(&file.path) else {
            continue;
        };
        let has_jobs = serde_yaml::from_str::<serde_yaml::Value>(&text)
            .ok()
            .and_then(|v| v.as_mapping().map(|m| m.contains_key("jobs")))
            .unwrap_or(false);
        if has_jobs && parse_tracker(&file.path, &text).is_ok() {
            found.push(file.path);
        }
    }
    found.sort();
    Ok(found)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tracker() -> (tempfile::TempDir, ProcessingTracker) {
        let dir = tempfile::tempdir().unwrap();
        let t = ProcessingTracker::new(dir.path().join("tracker.yaml")).unwrap();
        (dir, t)
    }

    #[test]
    fn executor_ids_are_tagged_as_ataraxis_tags_them() {
        let from = |vars: &[(&str, &str)]| {
            let vars: Vec<(String, String)> = vars.iter().map(|(k, v)| ((*k).into(), (*v).into())).collect();
            executor_id_from(move |name| vars.iter().find(|(k, _)| k == name).map(|(_, v)| v.clone()))
        };
        let pid = format!("pid:{}", std::process::id());
        assert_eq!(from(&[]), pid);
        assert_eq!(from(&[("SLURM_JOB_ID", "987654")]), "slurm:987654");
        assert_eq!(from(&[("SLURM_JOBID", "555")]), "slurm:555", "the older SLURM alias");
        assert_eq!(
            from(&[("SLURM_JOB_ID", ""), ("SLURM_JOBID", "7")]),
            "slurm:7",
            "an empty id is skipped"
        );
        assert_eq!(from(&[("PBS_JOBID", "42.headnode")]), "pbs:42.headnode");
        assert_eq!(from(&[("JOB_ID", "9")]), pid, "JOB_ID alone is not Grid Engine");
        assert_eq!(from(&[("JOB_ID", "9"), ("SGE_ROOT", "/opt/sge")]), "sge:9");
        assert_eq!(
            from(&[("PBS_JOBID", "1"), ("SLURM_JOB_ID", "2")]),
            "slurm:2",
            "SLURM comes first"
        );
    }

    #[test]
    fn complete_after_fail_clears_the_error() {
        let (_d, t) = tracker();
        let id = t.initialize_jobs(&[("job", "")]).unwrap().remove(0);
        t.start_job(&id, Some("x")).unwrap();
        t.fail_job(&id, Some("boom")).unwrap();
        t.complete_job(&id).unwrap();
        let info = t.job_info(&id).unwrap();
        assert_eq!((info.status, info.error_message), (JobStatus::Succeeded, None));
    }

    #[test]
    fn lifecycle_and_queries() {
        let (_d, t) = tracker();
        assert_eq!(t.summary().unwrap(), StatusCounts::default());
        assert!(!t.path().exists(), "reads do not create the file");
        let ids = t.initialize_jobs(&[("p", "1"), ("p", "2"), ("q", "")]).unwrap();
        assert_eq!(ids[2], job_id("q", "").unwrap());
        // Re-initializing keeps existing state.
        t.start_job(&ids[0], Some("exec")).unwrap();
        t.initialize_jobs(&[("p", "1")]).unwrap();
        let info = t.job_info(&ids[0]).unwrap();
        assert_eq!(info.status, JobStatus::Running);
        assert_eq!(info.executor_id.as_deref(), Some("exec"));
        assert!(info.started_at.unwrap() > 1_600_000_000_000_000);
        t.fail_job(&ids[0], Some("boom")).unwrap();
        t.start_job(&ids[1], None).unwrap();
        t.complete_job(&ids[1]).unwrap();
        let c = t.summary().unwrap();
        assert_eq!(
            (c.total, c.failed, c.succeeded, c.scheduled, c.running),
            (3, 1, 1, 1, 0)
        );
        assert!(t.encountered_error().unwrap());
        assert!(!t.is_complete().unwrap());
        assert_eq!(t.resolve_status().unwrap(), PipelineStatus::Failed);
        assert_eq!(t.jobs_by_status(JobStatus::Failed).unwrap(), vec![ids[0].clone()]);
        assert_eq!(t.find_jobs(Some("p"), None).unwrap().len(), 2);
        assert_eq!(t.find_jobs(None, Some("2")).unwrap()[0].job_id, ids[1]);
        assert!(t.find_jobs(Some("zzz"), None).unwrap().is_empty());
        assert_eq!(
            t.find_jobs(None, None).unwrap().len(),
            t.jobs().unwrap().len(),
            "no pattern: every job"
        );
        assert_eq!(t.retry_failed_jobs().unwrap(), vec![ids[0].clone()]);
        let info = t.job_info(&ids[0]).unwrap();
        assert_eq!(
            (info.status, info.error_message, info.executor_id, info.started_at),
            (JobStatus::Scheduled, None, None, None)
        );
        t.reset().unwrap();
        assert_eq!(t.summary().unwrap().total, 0);
    }

    #[test]
    fn unknown_job_names_the_tracker() {
        let (_d, t) = tracker();
        let err = t.start_job("0123456789abcdef", None).unwrap_err();
        assert!(matches!(err, TrackerError::UnknownJob { .. }));
        assert!(err.to_string().contains("tracker.yaml") && err.to_string().contains("0123456789abcdef"));
        assert!(!t.path().exists(), "a failed update writes nothing");
    }

    #[test]
    fn restart_clears_previous_end() {
        let (_d, t) = tracker();
        let id = &t.initialize_jobs(&[("a", "")]).unwrap()[0];
        t.fail_job(id, Some("x")).unwrap();
        t.start_job(id, None).unwrap();
        let info = t.job_info(id).unwrap();
        assert_eq!((info.completed_at, info.error_message), (None, None));
        assert_eq!(info.executor_id, Some(executor_id_from_env()));
    }

    #[test]
    fn run_guard_and_closure() {
        let (_d, t) = tracker();
        let ids = t
            .initialize_jobs(&[("a", "1"), ("a", "2"), ("a", "3"), ("a", "4")])
            .unwrap();
        t.run_job(&ids[0]).unwrap().complete().unwrap();
        t.run_job(&ids[1]).unwrap().fail("bad input").unwrap();
        assert_eq!(
            t.run(&ids[2], || Err::<(), _>("closure failed")).unwrap(),
            Err("closure failed")
        );
        let t2 = t.clone();
        let id = ids[3].clone();
        let panicked = std::thread::spawn(move || {
            let _run = t2.run_job(&id).unwrap();
            panic!("work panicked");
        })
        .join();
        assert!(panicked.is_err());
        let jobs = t.jobs().unwrap();
        assert_eq!(jobs.get(&ids[0]).unwrap().status, JobStatus::Succeeded);
        assert_eq!(jobs.get(&ids[1]).unwrap().error_message.as_deref(), Some("bad input"));
        assert_eq!(
            jobs.get(&ids[2]).unwrap().error_message.as_deref(),
            Some("closure failed")
        );
        assert_eq!(
            jobs.get(&ids[3]).unwrap().error_message.as_deref(),
            Some("the job panicked")
        );
    }

    #[test]
    fn corrupt_file_errors_and_reset_recovers() {
        let (_d, t) = tracker();
        std::fs::write(t.path(), "jobs:\n  a:\n    job_name: x\n    status: 9\n").unwrap();
        let err = t.summary().unwrap_err();
        let text = err.to_string();
        assert!(
            text.contains("tracker.yaml") && text.contains("line 3") && text.contains("status 9"),
            "{text}"
        );
        t.reset().unwrap();
        assert_eq!(t.summary().unwrap().total, 0);
    }

    #[test]
    fn wrong_extension_and_invalid_jobs() {
        assert!(ProcessingTracker::new("t.json").is_err());
        let (_d, t) = tracker();
        assert!(matches!(
            t.initialize_jobs(&[("a:b", "")]),
            Err(TrackerError::InvalidJob { .. })
        ));
        assert!(!t.path().exists());
    }
}
