//! Command-line parsing and dispatch. Each command lives in its own module, named for it.
// The commands' argument doc comments are clap's `--help` text, written for a terminal: `NAME[:SPECIFIER]` and
// `pid:<pid>` there are usage syntax, not rustdoc links or HTML.
#![allow(rustdoc::broken_intra_doc_links, rustdoc::invalid_html_tags)]

use clap::{Parser, Subcommand};

mod assemble;
mod bench;
mod checksum;
mod demo;
mod formats;
mod inspect;
mod plot;
mod progress;
mod recover;
mod shm;
mod tail;
mod tracker;
mod transfer;

/// seqring: shared typed arrays, lock-free logging to disk, numpy-compatible archives and experiment state.
#[derive(Parser)]
#[command(name = "seqring", version, about)]
pub struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// The main job: producer processes log through shared memory to one logger and share a state array; the
    /// run is then assembled into archives and verified message by message.
    Demo(demo::Args),
    /// One producer process of `seqring demo` (started by it).
    #[command(hide = true)]
    DemoProducer(demo::ProducerArgs),
    /// List, inspect, watch and remove seqring shared-memory regions.
    Shm(shm::Args),
    /// Follow a running logger's log directory and print each message as it is written, until the logger stops.
    Tail(tail::Args),
    /// After a crash: check a log directory's segments, truncate a torn last batch, report what was kept and cut.
    Recover(recover::Args),
    /// Measure this machine (shared array, ring, logger to disk), for sizing rings; --json for machines.
    Bench(bench::Args),
    /// List every on-disk and in-memory layout this build reads and writes, with its version.
    Formats(formats::Args),
    /// Assemble a log directory into one numpy-compatible {source_id}_log.npz archive per source.
    Assemble(assemble::Args),
    /// Summarise a log archive, a log directory or a mapped file (--json for machines, --messages for a listing,
    /// --plot OUT.svg or OUT.png for each source's rate over time with gaps marked).
    Inspect(inspect::Args),
    /// Compute the ataraxis directory checksum of DIR (the last line of stdout is the checksum).
    Checksum(checksum::Args),
    /// Copy a directory tree in parallel, optionally verified and removing the source.
    Transfer(transfer::Args),
    /// Show and change an ataraxis-compatible processing tracker file.
    Tracker(tracker::Args),
}

/// The error a command reports: one sentence, printed to stderr with exit code 1.
pub type CliError = Box<dyn std::error::Error>;

/// Runs the parsed command.
pub fn run(cli: Cli) -> Result<(), CliError> {
    match cli.command {
        Command::Formats(args) => formats::run(args),
        Command::Demo(args) => demo::run(args),
        Command::DemoProducer(args) => demo::run_producer(args),
        Command::Shm(args) => shm::run(args),
        Command::Recover(args) => recover::run(args),
        Command::Tail(args) => tail::run(args),
        Command::Bench(args) => bench::run(args),
        Command::Assemble(args) => assemble::run(args),
        Command::Inspect(args) => inspect::run(args),
        Command::Checksum(args) => checksum::run(args),
        Command::Transfer(args) => transfer::run(args),
        Command::Tracker(args) => tracker::run(args),
    }
}
