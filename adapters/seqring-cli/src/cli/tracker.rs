//! `seqring tracker FILE ACTION`: reads and changes an ataraxis-compatible processing tracker. Every action takes
//! the tracker's lock exactly as the library does, so it is safe next to running Python or Rust jobs.
//! `seqring tracker discover ROOT NAME` summarises every tracker file named NAME under ROOT and their combined
//! status.
//!
//! clap cannot take a positional FILE and a `discover` subcommand at the same level, so every word after `tracker`
//! that is not `discover` goes, unparsed, to a second parser for `FILE [--timeout S] ACTION`.

use std::ffi::OsString;
use std::path::PathBuf;
use std::time::Duration;

use clap::Parser;
use seqring_state::tracker::{
    job_id, split_job_ref, JobEntry, JobStatus, PipelineStatus, ProcessingTracker, StatusCounts, TrackerSummary,
    DEFAULT_LOCK_TIMEOUT,
};
use serde::Serialize;

use super::CliError;

/// Arguments of `seqring tracker`.
#[derive(clap::Args, Debug)]
#[command(
    override_usage = "seqring tracker [--timeout SECONDS] FILE <ACTION>\n       seqring tracker [--timeout SECONDS] discover ROOT NAME [--json]",
    after_help = "Run `seqring tracker FILE --help` for the actions on one tracker file."
)]
pub struct Args {
    /// Seconds to wait for each tracker's lock [default: 10].
    #[arg(long, global = true, value_parser = parse_timeout)]
    timeout: Option<f64>,
    #[command(subcommand)]
    command: Command,
}

#[derive(clap::Subcommand, Debug)]
enum Command {
    /// Summarise every tracker file named NAME under ROOT, and their combined status.
    Discover {
        /// The directory to search.
        root: PathBuf,
        /// The exact file name of the trackers (.yaml or .yml).
        name: String,
        /// Print {"trackers": [{"path", "summary", "status"}, ...], "summary", "status"} as JSON.
        #[arg(long)]
        json: bool,
    },
    /// FILE [--timeout SECONDS] ACTION: an action on one tracker file.
    #[command(external_subcommand)]
    File(Vec<OsString>),
}

/// `seqring tracker FILE ...`.
#[derive(Parser, Debug)]
#[command(
    name = "seqring tracker",
    bin_name = "seqring tracker",
    no_binary_name = true,
    about = "An action on one tracker file"
)]
struct FileArgs {
    /// The tracker file (.yaml or .yml).
    file: PathBuf,
    /// Seconds to wait for the tracker lock [default: 10].
    #[arg(long, value_parser = parse_timeout)]
    timeout: Option<f64>,
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
    /// Shows everything recorded about one job.
    Info {
        /// The job id, or NAME[:SPECIFIER].
        id: String,
        /// Print the job as summary --json prints it.
        #[arg(long)]
        json: bool,
    },
    /// Lists the jobs whose name or specifier contains TEXT, or whose name and specifier contain the texts given
    /// with --name and --specifier.
    #[command(group = clap::ArgGroup::new("query").required(true).multiple(true))]
    Find {
        /// Text the job name or the specifier must contain.
        #[arg(group = "query", conflicts_with_all = ["name", "specifier"])]
        text: Option<String>,
        /// Text the job name must contain.
        #[arg(long, group = "query")]
        name: Option<String>,
        /// Text the specifier must contain.
        #[arg(long, group = "query")]
        specifier: Option<String>,
        /// Print {id: [name, specifier]} as JSON.
        #[arg(long)]
        json: bool,
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
    /// Marks a job failed, with an optional message: `fail ID "why"` or `fail ID --message "why"`.
    Fail {
        /// The job id, or NAME[:SPECIFIER].
        id: String,
        /// Why it failed.
        #[arg(value_name = "MESSAGE", conflicts_with = "message")]
        why: Option<String>,
        /// Why it failed (the same as the MESSAGE argument).
        #[arg(long)]
        message: Option<String>,
    },
    /// Puts every failed job back to scheduled; prints their ids.
    RetryFailed,
    /// Puts the given jobs back to scheduled, clearing their error, times and executor; prints their ids. An
    /// unknown job rejects the whole request.
    ResetJobs {
        /// The job ids, or NAME[:SPECIFIER].
        #[arg(required = true, value_name = "ID")]
        ids: Vec<String>,
    },
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

/// The ids of jobs given by id or by NAME[:SPECIFIER], in one read; a reference that names no job stays as given,
/// for the library call to reject it by name.
fn resolve_all(tracker: &ProcessingTracker, references: &[String]) -> Result<Vec<String>, CliError> {
    Ok(tracker.read(|jobs| {
        Ok(references
            .iter()
            .map(|r| {
                let (name, spec) = split_job_ref(r);
                match job_id(name, spec) {
                    Ok(id) if !jobs.contains(r) && jobs.contains(&id) => id,
                    _ => r.clone(),
                }
            })
            .collect())
    })?)
}

fn resolve(tracker: &ProcessingTracker, reference: String) -> Result<String, CliError> {
    Ok(resolve_all(tracker, &[reference])?.remove(0))
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
    match args.command {
        Command::Discover { root, name, json } => discover(&root, &name, json, lock_timeout(args.timeout)),
        Command::File(words) => {
            let file_args = FileArgs::try_parse_from(words).unwrap_or_else(|e| e.exit());
            let timeout = lock_timeout(file_args.timeout.or(args.timeout));
            run_file(file_args, timeout)
        }
    }
}

/// One tracker in the output of `tracker discover`.
#[derive(Serialize)]
struct Found {
    path: String,
    summary: StatusCounts,
    status: PipelineStatus,
}

/// The output of `tracker discover`: each tracker, then the counts summed over all and the status they resolve to.
#[derive(Serialize)]
struct Survey {
    trackers: Vec<Found>,
    summary: StatusCounts,
    status: PipelineStatus,
}

fn lock_timeout(seconds: Option<f64>) -> Duration {
    seconds.map_or(DEFAULT_LOCK_TIMEOUT, Duration::from_secs_f64)
}

fn discover(root: &std::path::Path, name: &str, json: bool, timeout: Duration) -> Result<(), CliError> {
    let mut trackers = Vec::new();
    for tracker in ProcessingTracker::discover(root, name)? {
        let tracker = tracker.with_timeout(timeout);
        let summary = tracker.summary()?;
        trackers.push(Found {
            path: tracker.path().display().to_string(),
            summary,
            status: PipelineStatus::resolve(&summary),
        });
    }
    let summary: StatusCounts = trackers.iter().map(|t| t.summary).sum();
    let survey = Survey {
        trackers,
        summary,
        status: PipelineStatus::resolve(&summary),
    };
    if json {
        println!("{}", serde_json::to_string(&survey)?);
        return Ok(());
    }
    for t in &survey.trackers {
        println!("{:<11}  {}  {}", t.status.name(), counts_line(&t.summary), t.path);
    }
    println!(
        "{} trackers under {}: {}, {}",
        survey.trackers.len(),
        root.display(),
        survey.status,
        counts_line(&survey.summary)
    );
    Ok(())
}

fn counts_line(c: &StatusCounts) -> String {
    format!(
        "{} jobs: {} succeeded, {} failed, {} running, {} scheduled",
        c.total, c.succeeded, c.failed, c.running, c.scheduled
    )
}

fn run_file(args: FileArgs, timeout: Duration) -> Result<(), CliError> {
    // Only `init` creates a tracker: any other action on a missing file is a mistake (a typo in the path), not an
    // empty tracker.
    if !matches!(args.action, Action::Init { .. }) && !args.file.is_file() {
        return Err(format!(
            "{} does not exist (create it with `seqring tracker {} init`)",
            args.file.display(),
            args.file.display()
        )
        .into());
    }
    let tracker = ProcessingTracker::new(&args.file)?.with_timeout(timeout);
    match args.action {
        Action::Summary { json } => {
            let summary: TrackerSummary = tracker.summarize()?;
            if json {
                println!("{}", serde_json::to_string(&summary)?);
            } else {
                println!("tracker {}", tracker.path().display());
                println!("status {}", summary.status);
                println!("{}", counts_line(&summary.summary));
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
                println!("{}", serde_json::to_string(&jobs)?);
            } else {
                print_jobs(&jobs);
            }
        }
        Action::Info { id, json } => {
            let id = resolve(&tracker, id)?;
            let entry = JobEntry {
                state: tracker.job_info(&id)?,
                job_id: id,
            };
            if json {
                println!("{}", serde_json::to_string(&entry)?);
            } else {
                let s = &entry.state;
                let show = |v: Option<String>| v.unwrap_or_else(|| "-".to_owned());
                println!("job_id        {}", entry.job_id);
                println!("job_name      {}", s.job_name);
                println!("specifier     {}", s.specifier);
                println!("status        {}", s.status);
                println!("executor_id   {}", show(s.executor_id.clone()));
                println!("started_at    {}", show(s.started_at.map(|t| t.to_string())));
                println!("completed_at  {}", show(s.completed_at.map(|t| t.to_string())));
                println!("error_message {}", show(s.error_message.clone()));
            }
        }
        Action::Find {
            text,
            name,
            specifier,
            json,
        } => {
            let found = match text {
                // In the name or in the specifier: one read, file order kept.
                Some(text) => tracker
                    .summarize()?
                    .jobs
                    .into_iter()
                    .filter(|j| j.state.job_name.contains(&text) || j.state.specifier.contains(&text))
                    .collect(),
                None => tracker.find_jobs(name.as_deref(), specifier.as_deref())?,
            };
            if json {
                let map: serde_json::Map<String, serde_json::Value> = found
                    .iter()
                    .map(|j| {
                        (
                            j.job_id.clone(),
                            serde_json::json!([j.state.job_name, j.state.specifier]),
                        )
                    })
                    .collect();
                println!("{}", serde_json::to_string(&map)?);
            } else {
                print_jobs(&found);
            }
        }
        Action::Status { id } => {
            let id = resolve(&tracker, id)?;
            println!("{}", tracker.job_status(&id)?);
        }
        Action::Start { id, executor } => {
            let id = resolve(&tracker, id)?;
            tracker.start_job(&id, executor.as_deref())?;
            println!("{id} running");
        }
        Action::Complete { id } => {
            let id = resolve(&tracker, id)?;
            tracker.complete_job(&id)?;
            println!("{id} succeeded");
        }
        Action::Fail { id, why, message } => {
            let id = resolve(&tracker, id)?;
            tracker.fail_job(&id, why.or(message).as_deref())?;
            println!("{id} failed");
        }
        Action::ResetJobs { ids } => {
            let ids = resolve_all(&tracker, &ids)?;
            for id in tracker.reset_jobs(&ids)? {
                println!("{id}");
            }
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
