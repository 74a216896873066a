//! `seqring formats`: every on-disk and in-memory layout this build reads and writes, with its version, so that a
//! lab can tell whether two builds (or seqring and ataraxis) can share files and regions.

use serde_json::{json, Value};

/// Arguments of `seqring formats`.
#[derive(clap::Args, Debug)]
pub struct Args {
    /// Print one JSON object: {"formats": [{name, magic, version, reads, writes}]}.
    #[arg(long)]
    json: bool,
}

fn formats() -> Vec<Value> {
    let row = |name: &str, magic: &str, version: String, reads: &str, writes: &str| json!({ "name": name, "magic": magic, "version": version, "reads": reads, "writes": writes });
    vec![
        row(
            "shared region header (arrays, log rings)",
            "SEQRING\\0",
            seqring_core::header::VERSION.to_string(),
            "this version",
            "this version",
        ),
        row(
            "logger region (ring + source table)",
            "SEQRLOG\\0",
            seqring::logger::LAYOUT_VERSION.to_string(),
            "this version",
            "this version",
        ),
        row(
            "log segments (.seg)",
            "SEQRSEG\\0",
            seqring::format::segment::VERSION.to_string(),
            "this version",
            "this version",
        ),
        row(
            "log entries (.npy, ataraxis)",
            "\\x93NUMPY",
            "1.0".into(),
            "npy 1.0-3.0, 1-D |u1",
            "npy 1.0, byte-identical to ataraxis 7.2.0",
        ),
        row(
            "log archives ({id}_log.npz, ataraxis)",
            "PK",
            "zip, zip64".into(),
            "stored or deflated entries",
            "stored entries, byte-identical to ataraxis 7.2.0 (deflated with --compress)",
        ),
        row(
            "mapped files",
            "SEQRMAP\\0",
            seqring_mapped::header::VERSION.to_string(),
            "this version",
            "this version",
        ),
        row(
            "processing tracker (YAML, ataraxis)",
            "jobs:",
            "ataraxis 7.2.0".into(),
            "ataraxis 7.x trackers",
            "ataraxis 7.2.0 layout",
        ),
    ]
}

/// Runs the command.
pub fn run(args: Args) -> Result<(), super::CliError> {
    let rows = formats();
    if args.json {
        println!("{}", json!({ "formats": rows }));
        return Ok(());
    }
    println!("{:<42} {:<12} {:<16} reads / writes", "format", "magic", "version");
    for r in &rows {
        let s = |k: &str| r[k].as_str().unwrap_or_default().to_owned();
        println!(
            "{:<42} {:<12} {:<16} {} / {}",
            s("name"),
            s("magic"),
            s("version"),
            s("reads"),
            s("writes")
        );
    }
    Ok(())
}
