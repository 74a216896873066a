//! `seqring tail LOG_DIR [--source N] [--from-start] [--json]`: follows a running logger's log directory from any
//! process and prints each message as it is written, one line each, until the logger stops (see
//! [`seqring::logger::LogTail`]).

use std::io::Write;
use std::path::PathBuf;

use seqring::logger::{LogTail, TailFrom, TailMessage};

use super::CliError;

/// Arguments of `seqring tail`.
#[derive(clap::Args, Debug)]
pub struct Args {
    /// A logger's `{name}_data_log` directory (segment format).
    log_dir: PathBuf,
    /// Only this source's messages.
    #[arg(long)]
    source: Option<u8>,
    /// Print the messages already in the directory first (by default only new ones).
    #[arg(long)]
    from_start: bool,
    /// One JSON object per line: {"source", "timestamp_us", "payload_hex"}.
    #[arg(long)]
    json: bool,
}

/// Runs the command.
pub fn run(args: Args) -> Result<(), CliError> {
    if !args.log_dir.is_dir() {
        return Err(format!(
            "{} is not a log directory: tail takes a logger's {{name}}_data_log directory",
            args.log_dir.display()
        )
        .into());
    }
    let from = if args.from_start {
        TailFrom::Start
    } else {
        TailFrom::Now
    };
    let tail = LogTail::open(&args.log_dir, from)?;
    let mut out = std::io::stdout().lock();
    for message in tail {
        let m = message?;
        if args.source.is_some_and(|s| s != m.source_id) {
            continue;
        }
        let line = if args.json { json_line(&m) } else { text_line(&m) };
        // A closed pipe (`seqring tail … | head`) ends the command quietly.
        if writeln!(out, "{line}").and_then(|()| out.flush()).is_err() {
            return Ok(());
        }
    }
    Ok(())
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn text_line(m: &TailMessage) -> String {
    const SHOWN: usize = 32;
    let shown = &m.payload[..m.payload.len().min(SHOWN)];
    let more = if m.payload.len() > SHOWN { "…" } else { "" };
    format!(
        "source {:3}  {} µs  {} B  {}{more}",
        m.source_id,
        m.timestamp_us,
        m.payload.len(),
        hex(shown)
    )
}

fn json_line(m: &TailMessage) -> String {
    serde_json::json!({
        "source": m.source_id,
        "timestamp_us": m.timestamp_us,
        "payload_hex": hex(&m.payload),
    })
    .to_string()
}
