//! The operational commands as real processes: `demo` (its archives checked by numpy), `shm list|inspect|watch|
//! remove` (watch on a pseudo-terminal), `recover`, `bench`, `formats`, and the tracker's refusal of a missing
//! file. Each has its happy path and at least one bad input with its exit code and message.

mod cli_support;
use cli_support::{assert_fails_naming, assert_ok, assert_usage, command, json, seqring, seqring_in, stdout};

use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::sync::mpsc;
use std::time::Duration;

use seqring::logger::DataLogger;
use seqring::shared_array::SharedArray;

/// A region name unique to this test process.
fn unique(tag: &str) -> String {
    format!("seqring-cli-test-{tag}-{}", std::process::id())
}

/// The log directory a demo run printed.
fn demo_log_dir(out: &str, cwd: &Path) -> PathBuf {
    let dir = out
        .split("archives in ")
        .nth(1)
        .and_then(|rest| rest.lines().next())
        .unwrap_or_else(|| panic!("no log directory in: {out}"));
    cwd.join(dir.trim())
}

#[test]
fn demo_logs_assembles_and_verifies_and_numpy_reads_every_message() {
    let dir = tempfile::tempdir().unwrap();
    let out = seqring_in(
        dir.path(),
        &[
            "demo",
            "--producers",
            "2",
            "--seconds",
            "0.6",
            "--max-records",
            "20000",
            "--payload",
            "40",
        ],
    );
    assert_ok(&out);
    let text = stdout(&out);
    assert!(text.contains("dropped: 0; abandoned: 0"), "{text}");
    assert!(text.contains("every message verified"), "{text}");
    let log_dir = demo_log_dir(&text, dir.path());
    assert!(
        log_dir.starts_with(dir.path().join("seqring-demo")),
        "{}",
        log_dir.display()
    );
    // numpy, not seqring, reads the archives back.
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("../tests/python/demo_archives.py");
    let py = std::process::Command::new("python3")
        .arg(&script)
        .arg(&log_dir)
        .arg("40")
        .output()
        .unwrap();
    assert!(py.status.success(), "{}", String::from_utf8_lossy(&py.stderr));
    let counts: serde_json::Value = serde_json::from_slice(&py.stdout).unwrap();
    assert_eq!(counts, serde_json::json!({"1": 20000, "2": 20000}));
    // A second run makes a new run directory beside the first.
    let again = seqring_in(
        dir.path(),
        &["demo", "--producers", "1", "--seconds", "0.2", "--max-records", "100"],
    );
    assert_ok(&again);
    assert_ne!(demo_log_dir(&stdout(&again), dir.path()), log_dir);
}

#[test]
fn demo_rejects_bad_settings() {
    let dir = tempfile::tempdir().unwrap();
    assert_fails_naming(&seqring_in(dir.path(), &["demo", "--payload", "8"]), "--payload");
    assert_fails_naming(&seqring_in(dir.path(), &["demo", "--seconds", "0"]), "--seconds");
    assert_usage(&seqring_in(dir.path(), &["demo", "--producers", "0"]));
    let blocked = dir.path().join("a-file");
    std::fs::write(&blocked, b"").unwrap();
    let out = seqring_in(dir.path(), &["demo", "--out", blocked.to_str().unwrap()]);
    assert_fails_naming(&out, "a-file");
}

#[test]
fn shm_list_inspect_remove() {
    let name = unique("array");
    let array = SharedArray::<f64>::create(&name, &[4]).unwrap();
    array.write(&[1.5, 2.5, 3.5, 4.5]).unwrap();
    let listed = json(&seqring(&["shm", "list", "--json"]));
    let entry = listed["regions"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["name"] == name.as_str())
        .unwrap_or_else(|| panic!("{name} not listed: {listed}"));
    assert_eq!(entry["kind"], "array");
    assert_eq!(entry["creator_pid"], u64::from(std::process::id()));
    assert_eq!(entry["alive"], true);
    let inspected = json(&seqring(&["shm", "inspect", &name, "--json"]));
    assert_eq!(inspected["current"]["dtype"], "<f8");
    assert_eq!(inspected["current"]["shape"], serde_json::json!([4]));
    assert_eq!(inspected["current"]["version"], 1);
    assert_eq!(inspected["locked"], false);
    let human = stdout(&seqring(&["shm", "list"]));
    assert!(
        human.lines().any(|l| l.starts_with(&name) && l.contains("live")),
        "{human}"
    );

    assert_fails_naming(&seqring(&["shm", "inspect", &unique("missing")]), &unique("missing"));
    assert_fails_naming(&seqring(&["shm", "remove", "../etc/passwd"]), "../etc/passwd");
    assert_usage(&seqring(&["shm", "frobnicate"]));

    assert_ok(&seqring(&["shm", "remove", &name]));
    assert!(!Path::new("/dev/shm").join(&name).exists());
    assert_fails_naming(&seqring(&["shm", "remove", &name]), &name);
    drop(array);
}

#[test]
fn shm_inspect_shows_a_running_loggers_ring() {
    let dir = tempfile::tempdir().unwrap();
    let name = unique("logger");
    let logger = DataLogger::builder(dir.path(), &name).start().unwrap();
    logger.producer(3).unwrap().log_now(b"hello").unwrap();
    let region = format!("{}{name}", seqring::logger::REGION_PREFIX);
    let inspected = json(&seqring(&["shm", "inspect", &region, "--json"]));
    assert_eq!(inspected["kind"], "logger");
    assert_eq!(inspected["logger"]["state"], "running");
    assert_eq!(inspected["logger"]["sources"][0]["source_id"], 3);
    let listed = json(&seqring(&["shm", "list", "--json"]));
    assert!(
        listed["regions"]
            .as_array()
            .unwrap()
            .iter()
            .any(|r| r["name"] == region.as_str() && r["kind"] == "logger"),
        "{listed}"
    );
    logger.stop().unwrap();
}

#[test]
fn shm_watch_redraws_on_a_terminal_as_values_change() {
    let name = unique("watch");
    let array = SharedArray::<i32>::create(&name, &[3]).unwrap();
    array.write(&[1, 1, 1]).unwrap();
    // `script` runs the command on a pseudo-terminal and copies its output to our pipe.
    let watch = format!(
        "{} shm watch {name} --interval-ms 5 --updates 3",
        env!("CARGO_BIN_EXE_seqring")
    );
    let mut child = std::process::Command::new("script")
        .args(["-qfec", &watch, "/dev/null"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .unwrap();
    let (tx, rx) = mpsc::channel();
    let reader = BufReader::new(child.stdout.take().unwrap());
    std::thread::spawn(move || {
        for line in reader.lines() {
            if tx.send(line.unwrap_or_default()).is_err() {
                break;
            }
        }
    });
    let mut screen = String::new();
    let mut await_version = |v: u64| loop {
        let line = rx
            .recv_timeout(Duration::from_secs(60))
            .unwrap_or_else(|_| panic!("watch never showed version {v}: {screen}"));
        screen.push_str(&line);
        screen.push('\n');
        if line.contains(&format!("version {v} ")) {
            return;
        }
    };
    // Each write is made only after the previous version was drawn: a handshake, not a sleep.
    await_version(1);
    array.write(&[2, 20, 200]).unwrap();
    await_version(2);
    array.write(&[-3, 30, 300]).unwrap();
    await_version(3);
    let status = child.wait().unwrap();
    for line in rx.try_iter() {
        screen.push_str(&line);
    }
    assert!(status.success(), "{screen}");
    assert!(
        screen.contains("[1, 1, 1]") && screen.contains("[2, 20, 200]"),
        "{screen}"
    );
    assert!(screen.contains("[-3, 30, 300]"), "{screen}");
    assert!(
        screen.contains("\x1b[2J"),
        "redrawn as a screen on a terminal: {screen:?}"
    );
    drop(child.stdin.take().map(|mut s| s.write_all(b"")));
    assert_fails_naming(
        &seqring(&["shm", "watch", &unique("nothing"), "--updates", "1"]),
        &unique("nothing"),
    );
}

#[test]
fn recover_dry_run_then_cut_a_torn_segment() {
    let dir = tempfile::tempdir().unwrap();
    let logger = DataLogger::builder(dir.path(), &unique("recover")).start().unwrap();
    let producer = logger.producer(1).unwrap();
    for i in 0..100u32 {
        producer.log_now(&i.to_le_bytes()).unwrap();
    }
    let report = logger.stop().unwrap();
    let segment = report.files.last().unwrap().clone();
    let clean_len = std::fs::metadata(&segment).unwrap().len();
    // A crash in the middle of appending the next batch.
    let mut file = std::fs::OpenOptions::new().append(true).open(&segment).unwrap();
    file.write_all(b"SEQRBAT\0\x40\0\0").unwrap();
    drop(file);
    let log_dir = report.log_dir.to_str().unwrap();

    let dry = seqring(&["recover", log_dir, "--dry-run"]);
    assert_ok(&dry);
    assert!(stdout(&dry).contains("would cut 11 bytes"), "{}", stdout(&dry));
    assert_eq!(
        std::fs::metadata(&segment).unwrap().len(),
        clean_len + 11,
        "a dry run changes nothing"
    );

    let cut = seqring(&["recover", log_dir]);
    assert_ok(&cut);
    assert!(stdout(&cut).contains("cut 11 bytes"), "{}", stdout(&cut));
    assert!(stdout(&cut).contains("101 records kept"), "{}", stdout(&cut));
    assert_eq!(std::fs::metadata(&segment).unwrap().len(), clean_len);
    let again = seqring(&["recover", log_dir]);
    assert!(stdout(&again).contains("0 bytes cut"), "{}", stdout(&again));

    assert_fails_naming(&seqring(&["recover", "/no/such/log_dir"]), "/no/such/log_dir");
    // Damage in the middle of a segment is reported and left alone.
    let mut bytes = std::fs::read(&segment).unwrap();
    bytes[70] ^= 0xff;
    bytes.extend_from_slice(&[0xab; 64]);
    std::fs::write(&segment, &bytes).unwrap();
    let damaged = seqring(&["recover", log_dir]);
    assert_fails_naming(&damaged, "damaged");
    assert_eq!(std::fs::read(&segment).unwrap(), bytes, "left as it was");
}

#[test]
fn bench_commands_print_their_json() {
    let array = json(&seqring(&["bench", "array", "--json"]));
    assert!(array["read_ns"].as_f64().unwrap() > 0.0 && array["write_ns"].as_f64().unwrap() > 0.0);
    let ring = json(&seqring(&["bench", "ring", "--json"]));
    for key in ["spsc_records_per_s", "mpsc_records_per_s", "claim_commit_ns"] {
        assert!(ring[key].as_f64().unwrap() > 0.0, "{key}: {ring}");
    }
    let dir = tempfile::tempdir().unwrap();
    let dir_arg = dir.path().to_str().unwrap();
    let logger = json(&seqring(&[
        "bench",
        "logger",
        "--seconds",
        "0.3",
        "--dir",
        dir_arg,
        "--json",
    ]));
    assert!(logger["records_per_s"].as_f64().unwrap() > 0.0, "{logger}");
    assert_eq!(logger["dropped"], 0, "producers wait for room: {logger}");
    assert_eq!(
        logger["records"],
        logger["logged"].as_u64().unwrap() + 1,
        "every logged record (and the onset)"
    );
    for key in ["bytes_per_s", "p50_ns", "p99_ns", "p999_ns"] {
        assert!(logger[key].is_number(), "{key}: {logger}");
    }
    assert_eq!(
        std::fs::read_dir(dir.path()).unwrap().count(),
        0,
        "its temporary directory is removed"
    );
    assert_fails_naming(&seqring(&["bench", "logger", "--dir", "/no/such/dir"]), "/no/such/dir");
    assert_usage(&seqring(&["bench", "disk"]));
}

#[test]
fn formats_lists_every_layout() {
    let formats = json(&seqring(&["formats", "--json"]));
    let names: Vec<&str> = formats["formats"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["name"].as_str().unwrap())
        .collect();
    for expected in [
        "shared region",
        "logger region",
        "segments",
        "entries",
        "archives",
        "mapped",
        "tracker",
    ] {
        assert!(
            names.iter().any(|n| n.contains(expected)),
            "{expected} missing: {names:?}"
        );
    }
    assert_usage(&seqring(&["formats", "--yaml"]));
}

#[test]
fn tracker_actions_refuse_a_missing_file_but_init_creates_it() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("missing_tracker.yaml");
    let path = file.to_str().unwrap();
    for action in [
        &["summary"][..],
        &["list"],
        &["status", "0123456789abcdef"],
        &["retry-failed"],
    ] {
        let mut args = vec!["tracker", path];
        args.extend_from_slice(action);
        assert_fails_naming(&seqring(&args), "missing_tracker.yaml");
        assert!(!file.exists(), "{action:?} created the file");
    }
    assert_ok(&seqring(&["tracker", path, "init", "job:a"]));
    assert!(file.exists());
    assert_ok(&seqring(&["tracker", path, "summary"]));
    drop(command());
}

#[test]
fn inspect_reads_a_mapped_files_header() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("positions.map");
    seqring::mapped::MappedArray::<f32>::build([1.0f32, 2.0, 3.0], &path).unwrap();
    let info = json(&seqring(&["inspect", path.to_str().unwrap(), "--json"]));
    assert_eq!(info["mapped"]["kind"], "array");
    assert_eq!(info["mapped"]["count"], 3);
    assert_eq!(info["mapped"]["dtype"], "<f4");
    // A damaged header is an error naming the file.
    let mut bytes = std::fs::read(&path).unwrap();
    bytes[40] ^= 0xff;
    std::fs::write(&path, &bytes).unwrap();
    assert_fails_naming(&seqring(&["inspect", path.to_str().unwrap()]), "positions.map");
}

/// Logs source 1 at 0–1 s and 2–3 s and source 2 throughout (timestamps given, no waiting), and assembles the run.
fn log_with_a_gap(dir: &Path, gap: bool) -> PathBuf {
    let logger = DataLogger::builder(dir, &unique(if gap { "plot-gap" } else { "plot-full" }))
        .start()
        .unwrap();
    let (one, two) = (logger.producer(1).unwrap(), logger.producer(2).unwrap());
    for ms in 0..3000u64 {
        if !gap || !(1000..2000).contains(&ms) {
            one.log_at(ms * 1000 + 1, &ms.to_le_bytes()).unwrap();
        }
        two.log_at(ms * 1000 + 1, &ms.to_le_bytes()).unwrap();
    }
    let report = logger.stop().unwrap();
    assert_ok(&seqring(&["assemble", report.log_dir.to_str().unwrap()]));
    report.log_dir
}

#[test]
fn inspect_plot_draws_rates_and_marks_a_gap() {
    let dir = tempfile::tempdir().unwrap();
    let log_dir = log_with_a_gap(&dir.path().join("gap"), true);
    let svg = dir.path().join("rates.svg");
    let out = seqring(&[
        "inspect",
        log_dir.to_str().unwrap(),
        "--json",
        "--plot",
        svg.to_str().unwrap(),
    ]);
    let summary = json(&out);
    assert_eq!(summary["sources"]["1"]["message_count"], 2000);
    let err = String::from_utf8_lossy(&out.stderr);
    let gap_line = err
        .lines()
        .find(|l| l.contains("source 1 has a gap"))
        .unwrap_or_else(|| panic!("no gap reported: {err}"));
    let secs: Vec<f64> = gap_line
        .split(" from ")
        .nth(1)
        .unwrap()
        .split_whitespace()
        .filter_map(|w| w.parse().ok())
        .collect();
    assert!(
        (secs[0] - 1.0).abs() < 0.03 && (secs[1] - 2.0).abs() < 0.03,
        "the gap is 1 s to 2 s: {gap_line}"
    );
    assert!(!err.contains("source 2 has a gap"), "{err}");
    let drawn = std::fs::read_to_string(&svg).unwrap();
    assert!(drawn.starts_with("<svg"), "an SVG document");
    let texts: Vec<&str> = drawn.lines().map(str::trim).collect();
    for label in ["gap", "source 1", "source 2"] {
        assert!(texts.contains(&label), "legend entry {label:?} missing");
    }
    assert!(drawn.contains("fill=\"#DC2828\""), "the gap is shaded");

    // The same run without the gap draws no shading.
    let full = log_with_a_gap(&dir.path().join("full"), false);
    let svg_full = dir.path().join("full.svg");
    let out = seqring(&["inspect", full.to_str().unwrap(), "--plot", svg_full.to_str().unwrap()]);
    assert_ok(&out);
    let drawn = std::fs::read_to_string(&svg_full).unwrap();
    assert!(
        !drawn.lines().any(|l| l.trim() == "gap") && !drawn.contains("#DC2828"),
        "no gap, no shading"
    );

    assert_fails_naming(
        &seqring(&["inspect", full.to_str().unwrap(), "--plot", "/no/such/dir/x.svg"]),
        "/no/such/dir/x.svg",
    );
}
