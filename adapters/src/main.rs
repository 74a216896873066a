//! The `seqring` command-line tool.
//!
//! Conventions for every command: exit 0 on success; exit 1 with one sentence on stderr (naming the path or
//! object) on failure; exit 2 on usage errors (clap's own behaviour); progress bars only when stderr is a terminal.

mod cli;

use clap::Parser;

fn main() {
    let args = cli::Cli::parse();
    if let Err(err) = cli::run(args) {
        eprintln!("seqring: {err}");
        std::process::exit(1);
    }
}
