//! Helpers shared by the CLI integration tests (`*_cli.rs`): running the binary as a real process and checking
//! the CLI's conventions (exit 0; exit 1 with one sentence on stderr naming the object; exit 2 on usage errors).
//!
//! These tests live in the `seqring` package because only its own integration tests get the binary's path
//! (`CARGO_BIN_EXE_seqring`) from cargo.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// The ataraxis 7.2.0 fixtures beside the checkout.
pub fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/fixtures/ataraxis-7.2.0")
}

/// The `seqring` binary as a command.
pub fn command() -> Command {
    Command::new(env!("CARGO_BIN_EXE_seqring"))
}

/// Runs `seqring ARGS` to completion.
pub fn seqring(args: &[&str]) -> Output {
    command().args(args).output().unwrap()
}

/// Runs `seqring ARGS` in `dir`.
pub fn seqring_in(dir: &Path, args: &[&str]) -> Output {
    command().args(args).current_dir(dir).output().unwrap()
}

/// The process's stdout as text.
pub fn stdout(out: &Output) -> String {
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// The process's stderr as text.
pub fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

/// Exit 0.
#[track_caller]
pub fn assert_ok(out: &Output) {
    assert!(
        out.status.success(),
        "exit {:?}, stdout: {}, stderr: {}",
        out.status.code(),
        stdout(out),
        stderr(out)
    );
}

/// Exit 1 with exactly one line on stderr, `seqring: …`, mentioning `needle` (a path, a name or an id).
#[track_caller]
pub fn assert_fails_naming(out: &Output, needle: &str) {
    let err = stderr(out);
    assert_eq!(out.status.code(), Some(1), "stderr: {err}");
    assert_eq!(err.trim_end().lines().count(), 1, "one sentence expected: {err}");
    assert!(
        err.starts_with("seqring: ") && err.contains(needle),
        "{needle:?} not in: {err}"
    );
}

/// Exit 2 (a usage error, from clap).
#[track_caller]
pub fn assert_usage(out: &Output) {
    assert_eq!(out.status.code(), Some(2), "stderr: {}", stderr(out));
}

/// The single JSON object on stdout.
#[track_caller]
pub fn json(out: &Output) -> serde_json::Value {
    assert_ok(out);
    serde_json::from_str(stdout(out).trim()).unwrap_or_else(|e| panic!("not one JSON object ({e}): {}", stdout(out)))
}

/// Copies the tree `src` into `dst` (created), writable.
pub fn copy_tree(src: &Path, dst: &Path) {
    std::fs::create_dir_all(dst).unwrap();
    for entry in std::fs::read_dir(src).unwrap() {
        let entry = entry.unwrap();
        let to = dst.join(entry.file_name());
        if entry.file_type().unwrap().is_dir() {
            copy_tree(&entry.path(), &to);
        } else {
            std::fs::write(&to, std::fs::read(entry.path()).unwrap()).unwrap();
        }
    }
}
