//! `seqring tracker FILE ACTION`: reads and changes an ataraxis-compatible processing tracker. Every action takes
//! the tracker's lock exactly as the library does, so it is safe next to running Python or Rust jobs.

use std::path::PathBuf;
use std::time::Duration;

use seqring::tracker::{job_id, split_job_ref, JobEntry, JobStatus, ProcessingTracker, TrackerError, TrackerSummary};

use super::CliError;

/// Arguments of `seqring tracker`.
#[derive(clap::Args, Debug)]
pub struct Args {
    /// The tracker file (.yaml or .yml).
    file: PathBuf,
    /// Seconds to wait for the tracker lock.
    #[arg(long, default_value_t = 10.0, value_parser = parse_timeout)]
    timeout: f64,
    #[command(subcommand)]
    action: Action,
}

#[derive(clap::Subcommand, Debug)]
enum Action {
    /// Counts by status and the overall pipeline status.
    Summary {
        /// Print ataraxis' summarize() structure as JSON.
        #[arg(long)]
        json: bool,
    },
    /// Adds jobs, given as NAME or NAME:SPECIFIER; prints their ids.
    Init {
        /// The jobs.
        #[arg(required = true, value_name = "NAME[:SPEC]")]
        jobs: Vec<String>,
    },
    /// Lists the jobs.
    List {
        /// Print JSON.
        #[arg(long)]
        json: bool,
        /// Only jobs with this status (scheduled, running, succeeded, failed or 0-3).
        #[arg(long, value_parser = parse_status)]
        status: Option<JobStatus>,
    },
    /// Shows one job's status.
    Status {
        /// The job id, or NAME[:SPECIFIER].
        id: String,
    },
    /// Marks a job running.
    Start {
        /// The job id, or NAME[:SPECIFIER].
        id: String,
        /// The executor id (default: the scheduler's job id, else pid:<pid>).
        #[arg(long)]
        executor: Option<String>,
    },
    /// Marks a job succeeded.
    Complete {
        /// The job id, or NAME[:SPECIFIER].
        id: String,
    },
    /// Marks a job failed.
    Fail {
        /// The job id, or NAME[:SPECIFIER].
        id: String,
        /// Why it failed.
        #[arg(long)]
        message: Option<String>,
    },
    /// Puts every failed job back to scheduled; prints their ids.
    RetryFailed,
    /// Removes every job (also recovers a corrupt tracker file).
    Reset,
}

fn parse_timeout(text: &str) -> Result<f64, String> {
    match text.parse::<f64>() {
        Ok(v) if v.is_finite() && (0.0..=86_400.0).contains(&v) => Ok(v),
        _ => Err(format!("{text:?} is not a number of seconds between 0 and 86400")),
    }
}

fn parse_status(text: &str) -> Result<JobStatus, String> {
    JobStatus::parse(text).ok_or_else(|| format!("{text:?} is not a status (scheduled, running, succeeded, failed)"))
}

/// Finds the id of a job given by id or by NAME[:SPECIFIER].
fn resolve(tracker: &ProcessingTracker, reference: &str) -> Result<String, TrackerError> {
    tracker.read(|jobs| {
        if jobs.contains(reference) {
            return Ok(reference.to_owned());
        }
        let (name, spec) = split_job_ref(reference);
        match job_id(name, spec) {
            Ok(id) if jobs.contains(&id) => Ok(id),
            _ => Err(TrackerError::UnknownJob {
                path: tracker.path().to_path_buf(),
                id: reference.to_owned(),
            }),
        }
    })
}

fn print_jobs(jobs: &[JobEntry]) {
    for job in jobs {
        let s = &job.state;
        let mut line = format!("{}  {:<9}  {}", job.job_id, s.status.name(), s.job_name);
        if !s.specifier.is_empty() {
            line.push(':');
            line.push_str(&s.specifier);
        }
        if let Some(executor) = &s.executor_id {
            line.push_str(&format!("  executor={executor}"));
        }
        if let Some(error) = &s.error_message {
            line.push_str(&format!("  error={error:?}"));
        }
        println!("{line}");
    }
}

/// Runs the command.
pub fn run(args: Args) -> Result<(), CliError> {
    let tracker = ProcessingTracker::new(&args.file)?.with_timeout(Duration::from_secs_f64(args.timeout));
    match args.action {
        Action::Summary { json } => {
            let summary: TrackerSummary = tracker.summarize()?;
            if json {
                println!("{}", serde_json::to_string_pretty(&summary)?);
            } else {
                let c = summary.summary;
                println!("tracker {}", tracker.path().display());
                println!("status {}", summary.status);
                println!(
                    "{} jobs: {} succeeded, {} failed, {} running, {} scheduled",
                    c.total, c.succeeded, c.failed, c.running, c.scheduled
                );
            }
        }
        Action::Init { jobs } => {
            let pairs: Vec<(&str, &str)> = jobs.iter().map(|j| split_job_ref(j)).collect();
            for id in tracker.initialize_jobs(&pairs)? {
                println!("{id}");
            }
        }
        Action::List { json, status } => {
            let jobs: Vec<JobEntry> = tracker
                .summarize()?
                .jobs
                .into_iter()
                .filter(|j| status.is_none() || status == Some(j.state.status))
                .collect();
            if json {
                println!("{}", serde_json::to_string_pretty(&jobs)?);
            } else {
                print_jobs(&jobs);
            }
        }
        Action::Status { id } => {
            let id = resolve(&tracker, &id)?;
            println!("{}", tracker.job_status(&id)?);
        }
        Action::Start { id, executor } => {
            let id = resolve(&tracker, &id)?;
            tracker.start_job(&id, executor.as_deref())?;
            println!("{id} running");
        }
        Action::Complete { id } => {
            let id = resolve(&tracker, &id)?;
            tracker.complete_job(&id)?;
            println!("{id} succeeded");
        }
        Action::Fail { id, message } => {
            let id = resolve(&tracker, &id)?;
            tracker.fail_job(&id, message.as_deref())?;
            println!("{id} failed");
        }
        Action::RetryFailed => {
            for id in tracker.retry_failed_jobs()? {
                println!("{id}");
            }
        }
        Action::Reset => {
            tracker.reset()?;
            println!("reset {}", tracker.path().display());
        }
    }
    Ok(())
}
