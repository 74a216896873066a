//! The `seqring` command-line tool.
//!
//! Conventions for every command: exit 0 on success; exit 1 with one sentence on stderr (naming the path or
//! object) on failure; exit 2 on usage errors (clap's own behaviour); progress bars only when stderr is a terminal.

mod cli;

use clap::Parser;

fn main() {
    // A closed pipe (`seqring inspect … | head`) ends the process quietly, as it does for other Unix tools,
    // instead of making `println!` panic. (Windows has no SIGPIPE: a closed pipe is a write error there.)
    #[cfg(unix)]
    // SAFETY: called first, before any thread exists; SIG_DFL is a valid disposition for SIGPIPE.
    unsafe {
        libc::signal(libc::SIGPIPE, libc::SIG_DFL);
    }
    let args = cli::Cli::parse();
    if let Err(err) = cli::run(args) {
        eprintln!("seqring: {err}");
        std::process::exit(1);
    }
}
