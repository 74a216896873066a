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

/// The file that stands for the shared-memory object `name` (`/dev/shm/<name>` on Linux, the region's file on
/// Windows), its directory created if need be.
fn shm_file(name: &str) -> PathBuf {
    let path = seqring_platform::RegionName::new(name).unwrap().shm_path();
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    path
}

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
#[cfg_attr(
    windows,
    ignore = "runs python3 with numpy, which the wine prefix lacks: tests/windows.sh has numpy read the Windows \
              demo's archives on the Linux side instead"
)]
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
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/python/demo_archives.py");
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

/// The number after `label` in `text`, with its digit-group commas removed ("written 1,203 records" gives 1203).
fn number_after(text: &str, label: &str) -> u64 {
    let rest = text
        .split(label)
        .nth(1)
        .unwrap_or_else(|| panic!("{label:?} not in: {text}"));
    rest.trim_start()
        .split(|c: char| !(c.is_ascii_digit() || c == ','))
        .next()
        .unwrap()
        .replace(',', "")
        .parse()
        .unwrap_or_else(|e| panic!("no number after {label:?} ({e}): {text}"))
}

#[test]
fn demo_honours_seconds_and_says_where_its_files_are_and_how_to_remove_them() {
    let dir = tempfile::tempdir().unwrap();
    // One burst of 1,500 messages per 250 ms trial: 1 s is 4 trials, 0.5 s is 2.
    for (seconds, trials) in [("1", 4u64), ("0.5", 2)] {
        let start = std::time::Instant::now();
        let out = seqring_in(
            dir.path(),
            &["demo", "--producers", "2", "--seconds", seconds, "--burst", "1500"],
        );
        assert_ok(&out);
        let text = stdout(&out);
        let secs: f64 = seconds.parse().unwrap();
        assert!(
            start.elapsed().as_secs_f64() >= secs - 0.25,
            "{seconds} s asked, {:?} taken",
            start.elapsed()
        );
        assert_eq!(number_after(&text, "logged"), 2 * 1500 * trials, "{text}");
        assert_eq!(number_after(&text, "written"), 2 * 1500 * trials + 2, "{text}");
        let grouped = if trials == 4 {
            "12,000 messages"
        } else {
            "6,000 messages"
        };
        assert!(text.contains(grouped), "counts are grouped: {text}");
        // Rates are stated per producer inside bursts, and as the average over the run, never as a sum.
        assert!(text.contains("inside its bursts each producer logged"), "{text}");
        assert!(text.contains("averaged over the whole run"), "{text}");
        assert!(!text.contains("in all"), "{text}");
        // Where the files are, their size, and how to remove them.
        let run_dir = std::fs::read_dir(dir.path().join("seqring-demo"))
            .unwrap()
            .map(|e| e.unwrap().path())
            .max_by_key(|p| std::fs::metadata(p).unwrap().modified().unwrap())
            .unwrap();
        let relative = run_dir.strip_prefix(dir.path()).unwrap().display().to_string();
        assert!(text.contains(&format!("rm -r {relative}")), "{text}");
        assert!(text.contains(" kB in ") || text.contains(" MB in "), "{text}");
    }
    // --clean removes the run (and the output directory it created).
    let clean_dir = dir.path().join("clean");
    let out = seqring(&[
        "demo",
        "--producers",
        "1",
        "--seconds",
        "0.25",
        "--burst",
        "100",
        "--clean",
        "--out",
        clean_dir.to_str().unwrap(),
    ]);
    assert_ok(&out);
    assert!(stdout(&out).contains("demo: removed"), "{}", stdout(&out));
    assert!(!clean_dir.exists(), "the run directory is gone");
}

#[test]
fn demo_rejects_bad_settings() {
    let dir = tempfile::tempdir().unwrap();
    // Bad values are usage errors (exit 2), naming the option.
    for (option, value) in [
        ("--payload", "8"),
        ("--payload", "lots"),
        ("--seconds", "0"),
        ("--seconds", "-1"),
        ("--seconds", "NaN"),
        ("--producers", "0"),
        ("--burst", "0"),
    ] {
        let out = seqring_in(dir.path(), &["demo", &format!("{option}={value}")]);
        assert_usage(&out);
        assert!(
            cli_support::stderr(&out).contains(option),
            "{option} {value}: {}",
            cli_support::stderr(&out)
        );
    }
    assert!(
        std::fs::read_dir(dir.path()).unwrap().next().is_none(),
        "a usage error writes nothing"
    );
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
    assert!(!shm_file(&name).exists());
    assert_fails_naming(&seqring(&["shm", "remove", &name]), &name);
    drop(array);
}

#[test]
fn shm_remove_leaves_other_programs_objects_unless_forced() {
    // Another program's object: not listed, reported by inspect as a bad layout, and not removed without --force.
    let foreign = unique("foreign");
    let path = shm_file(&foreign);
    std::fs::write(&path, [7u8; 64]).unwrap();
    let listed = json(&seqring(&["shm", "list", "--json"]));
    assert!(
        listed["regions"]
            .as_array()
            .unwrap()
            .iter()
            .all(|r| r["name"] != foreign.as_str()),
        "{listed}"
    );
    assert_fails_naming(&seqring(&["shm", "inspect", &foreign]), &foreign);
    let out = seqring(&["shm", "remove", &foreign]);
    assert_fails_naming(&out, &foreign);
    assert!(
        cli_support::stderr(&out).contains("--force"),
        "{}",
        cli_support::stderr(&out)
    );
    assert!(path.exists(), "another program's object stays");
    // Also an empty object (shorter than a header).
    let empty = unique("empty");
    std::fs::write(shm_file(&empty), b"").unwrap();
    assert_fails_naming(&seqring(&["shm", "remove", &empty]), &empty);
    assert_ok(&seqring(&["shm", "remove", &empty, "--force"]));
    assert_ok(&seqring(&["shm", "remove", &foreign, "--force"]));
    assert!(!path.exists(), "--force removes it");

    // A seqring region with a damaged header still carries seqring's magic: it is removed without --force.
    let damaged = unique("damaged");
    let mut bytes = b"SEQRING\0".to_vec();
    bytes.extend_from_slice(&[0xee; 248]);
    std::fs::write(shm_file(&damaged), &bytes).unwrap();
    let human = stdout(&seqring(&["shm", "list"]));
    assert!(
        human.lines().any(|l| l.starts_with(&damaged) && l.contains("invalid")),
        "{human}"
    );
    assert_ok(&seqring(&["shm", "remove", &damaged]));
    assert!(!shm_file(&damaged).exists());
}

#[test]
fn shm_list_lines_up_and_agrees_with_inspect_on_sizes() {
    let dir = tempfile::tempdir().unwrap();
    // A long name: the columns must still line up with the header.
    let name = unique("a-logger-with-a-rather-long-name-for-the-columns");
    let logger = DataLogger::builder(dir.path(), &name).start().unwrap();
    let region = format!("{}{name}", seqring::logger::REGION_PREFIX);
    let human = stdout(&seqring(&["shm", "list"]));
    let header = human.lines().next().unwrap();
    let row = human
        .lines()
        .find(|l| l.starts_with(&region))
        .unwrap_or_else(|| panic!("{region} not listed: {human}"));
    let end_of = |line: &str, word: &str| line.rfind(word).map(|i| i + word.len());
    assert_eq!(end_of(header, "kind"), end_of(row, "logger"), "\n{header}\n{row}");
    assert_eq!(
        end_of(header, "creator"),
        end_of(row, &std::process::id().to_string()),
        "\n{header}\n{row}"
    );
    // One size for one region, in list and inspect.
    let listed = json(&seqring(&["shm", "list", "--json"]));
    let entry = listed["regions"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["name"] == region.as_str())
        .unwrap()
        .clone();
    // inspect finds a logger by its own name as well as by its region's name.
    for by in [&name, &region] {
        let inspected = json(&seqring(&["shm", "inspect", by, "--json"]));
        assert_eq!(inspected["name"], region.as_str());
        assert_eq!(inspected["kind"], "logger");
        assert_eq!(inspected["size"], entry["size"], "{inspected} vs {entry}");
    }
    assert_eq!(entry["size"], std::fs::metadata(shm_file(&region)).unwrap().len());
    logger.stop().unwrap();
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
#[cfg_attr(windows, ignore = "needs script(1) for a pseudo-terminal, a Unix tool")]
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

/// `shm watch` blocks on the array between versions (no redraw timer) and draws each new one; it ends by itself
/// when the array is removed, noticed while it waits.
#[test]
fn shm_watch_draws_each_new_version_and_ends_when_the_array_is_removed() {
    let name = unique("watch-removed");
    let array = SharedArray::<u16>::create(&name, &[2]).unwrap();
    array.write(&[4, 5]).unwrap();
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_seqring"))
        .args(["shm", "watch", &name, "--interval-ms", "1"])
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let mut next_line = || lines.next().expect("watch printed a line").unwrap();
    let mut await_version = |v: u64| loop {
        if next_line().contains(&format!("version {v} ")) {
            return;
        }
    };
    await_version(1);
    array.write(&[6, 7]).unwrap();
    await_version(2);
    drop(array); // the creator removes the region
    let status = child.wait().unwrap();
    let rest: Vec<String> = lines.map_while(Result::ok).collect();
    assert!(status.success(), "{rest:?}");
    assert!(rest.iter().any(|l| l.contains("removed")), "{rest:?}");
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
    assert_fails_naming(&damaged, "1 segment is damaged");
    assert_eq!(std::fs::read(&segment).unwrap(), bytes, "left as it was");
}

#[test]
fn recover_refuses_a_folder_that_is_not_a_log_directory() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("notes.txt"), b"not a log").unwrap();
    for dry in [false, true] {
        let mut args = vec!["recover", dir.path().to_str().unwrap()];
        if dry {
            args.push("--dry-run");
        }
        let out = seqring(&args);
        assert_fails_naming(&out, dir.path().to_str().unwrap());
        assert!(
            cli_support::stderr(&out).contains("no segments"),
            "{}",
            cli_support::stderr(&out)
        );
    }
    let file = dir.path().join("notes.txt");
    let out = seqring(&["recover", file.to_str().unwrap()]);
    assert_fails_naming(&out, "is not a directory");
    // An assembled log directory (archives, no segments) has nothing to recover, and that is fine.
    let assembled = log_with_a_gap(&dir.path().join("assembled"), false);
    let out = seqring(&["recover", assembled.to_str().unwrap()]);
    assert_ok(&out);
    assert!(stdout(&out).contains("nothing to recover"), "{}", stdout(&out));
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
    // Paced: no more records than the pace allows (each call waits for its slot; a late one does not catch up).
    let paced = json(&seqring(&[
        "bench",
        "logger",
        "--seconds",
        "0.3",
        "--rate",
        "20000",
        "--ring-mib",
        "1",
        "--dir",
        dir_arg,
        "--json",
    ]));
    assert_eq!(
        (paced["rate"].as_u64(), paced["ring_mib"].as_u64()),
        (Some(20_000), Some(1))
    );
    let (logged, seconds) = (paced["logged"].as_u64().unwrap(), paced["seconds"].as_f64().unwrap());
    assert!(
        logged > 0 && logged as f64 <= 20_000.0 * seconds + 2.0,
        "{logged} records in {seconds} s at 20 000/s: {paced}"
    );
    for key in ["p9999_ns", "max_ns", "mean_ns"] {
        assert!(paced[key].is_number(), "{key}: {paced}");
    }
    assert_fails_naming(&seqring(&["bench", "logger", "--dir", "/no/such/dir"]), "/no/such/dir");
    assert_usage(&seqring(&["bench", "logger", "--ring-mib", "0"]));
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
    seqring_mapped::MappedArray::<f32>::build([1.0f32, 2.0, 3.0], &path).unwrap();
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
    for label in ["gap", "source 1 peak", "source 2 peak", "mean per bin"] {
        assert!(texts.contains(&label), "legend entry {label:?} missing");
    }
    assert!(drawn.contains("fill=\"#DC2828\""), "the gap is shaded");
    assert!(!drawn.contains("stroke=\"#DC2828\""), "no data line in the gap colour");
    // Each source has a panel whose caption states its cadence: 1 ms between messages.
    assert!(
        texts
            .iter()
            .any(|t| t.starts_with("source 1: 2,000 messages; usual spacing 1 ms") && t.ends_with("; 1 gap")),
        "the caption of source 1"
    );

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

    let out = seqring(&["inspect", full.to_str().unwrap(), "--plot", "/no/such/dir/x.svg"]);
    assert_fails_naming(&out, "/no/such/dir/x.svg");
    let err = cli_support::stderr(&out);
    assert!(
        err.contains("cannot write")
            && (err.contains("No such file or directory") || cfg!(windows) && err.contains("not found"))
            && !err.contains("backend"),
        "{err}"
    );

    // A PNG is a PNG; other extensions are refused as a usage error.
    let png = dir.path().join("rates.png");
    assert_ok(&seqring(&[
        "inspect",
        full.to_str().unwrap(),
        "--plot",
        png.to_str().unwrap(),
    ]));
    let bytes = std::fs::read(&png).unwrap();
    assert_eq!(&bytes[..8], b"\x89PNG\r\n\x1a\n", "PNG signature");
    assert_eq!(&bytes[12..16], b"IHDR");
    let (w, h) = (
        u32::from_be_bytes(bytes[16..20].try_into().unwrap()),
        u32::from_be_bytes(bytes[20..24].try_into().unwrap()),
    );
    assert!(w >= 800 && h >= 300, "{w} x {h}");
    for bad in ["rates.jpg", "rates"] {
        let out = seqring(&[
            "inspect",
            full.to_str().unwrap(),
            "--plot",
            dir.path().join(bad).to_str().unwrap(),
        ]);
        assert_usage(&out);
        assert!(
            cli_support::stderr(&out).contains(".svg or .png"),
            "{}",
            cli_support::stderr(&out)
        );
        assert!(!dir.path().join(bad).exists());
    }
}

/// Logs two bursty sources (bursts of 2,000 messages 1 µs apart every 250 ms for 3 s); source 2 misses the burst
/// at 1.5 s. Assembles the run.
fn log_bursts(dir: &Path) -> PathBuf {
    let logger = DataLogger::builder(dir, &unique("plot-bursts")).start().unwrap();
    let (one, two) = (logger.producer(1).unwrap(), logger.producer(2).unwrap());
    for burst in 0..12u64 {
        for i in 0..2000u64 {
            let t = burst * 250_000 + i + 1;
            one.log_at(t, &i.to_le_bytes()).unwrap();
            if burst != 6 {
                two.log_at(t, &i.to_le_bytes()).unwrap();
            }
        }
    }
    let report = logger.stop().unwrap();
    assert_ok(&seqring(&["assemble", report.log_dir.to_str().unwrap()]));
    report.log_dir
}

#[test]
fn inspect_plot_judges_gaps_by_each_sources_cadence_and_shows_the_burst_rate() {
    let dir = tempfile::tempdir().unwrap();
    let log_dir = log_bursts(&dir.path().join("bursts"));
    let svg = dir.path().join("bursts.svg");
    let out = seqring(&["inspect", log_dir.to_str().unwrap(), "--plot", svg.to_str().unwrap()]);
    assert_ok(&out);
    let err = cli_support::stderr(&out);
    // The pauses between bursts are the sources' rhythm; only the missing burst is a gap: from the end of burst 5
    // (1,252,000 µs) to the start of burst 7 (1,750,001 µs) in source 2's own time. Each source has its own onset
    // (the moment its producer started), so the plot's origin, source 1's first message, can sit a little earlier.
    let summary = json(&seqring(&["inspect", log_dir.to_str().unwrap(), "--json"]));
    let onset = |s: &str| summary["sources"][s]["onset_us"].as_u64().unwrap();
    let t0 = onset("1").min(onset("2")) + 1;
    let since_t0 = |us: u64| (onset("2") + us - t0) as f64 / 1e6;
    let expected = format!(
        "source 2 has a gap from {:.3} s to {:.3} s",
        since_t0(1_252_000),
        since_t0(1_750_001)
    );
    let gap_lines: Vec<&str> = err.lines().filter(|l| l.contains("has a gap")).collect();
    assert_eq!(gap_lines.len(), 1, "{err}");
    assert!(gap_lines[0].contains(&expected), "{expected}\n{err}");
    assert!(err.contains("(1 gap;"), "{err}");
    // The rate axis reaches the bursts' rate, 1 M messages/s (1 message per µs), not a per-bin average.
    let drawn = std::fs::read_to_string(&svg).unwrap();
    let ticks: Vec<f64> = drawn
        .lines()
        .filter_map(|t| t.trim().strip_suffix(" M/s"))
        .filter_map(|n| n.parse().ok())
        .collect();
    let top = ticks.iter().copied().fold(0.0, f64::max);
    assert!((1.0..2.0).contains(&top), "the y axis reaches 1 M/s: {ticks:?}");
    assert!(
        drawn.contains("source 2: 22,000 messages; usual spacing 248 ms"),
        "the bursts' cadence"
    );
}

/// Runs `seqring ARGS` on a pseudo-terminal (through `script`), where progress is drawn, and returns all it printed.
fn on_a_terminal(args: &str, cwd: &Path) -> String {
    let command = format!("{} {args}", env!("CARGO_BIN_EXE_seqring"));
    let out = std::process::Command::new("script")
        .args(["-qfec", &command, "/dev/null"])
        .current_dir(cwd)
        .stdin(Stdio::null())
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(out.status.success(), "{args}: {text}");
    text
}

#[test]
#[cfg_attr(windows, ignore = "needs script(1) for a pseudo-terminal, a Unix tool")]
fn progress_on_a_terminal_shows_no_empty_counts_and_readable_rates() {
    let dir = tempfile::tempdir().unwrap();
    // The demo's live line: the trial and grouped counts, no average rate that contradicts its table.
    let screen = on_a_terminal("demo --producers 2 --seconds 1 --burst 50000", dir.path());
    assert!(screen.contains("producers logging, trial "), "{screen:?}");
    assert!(screen.contains("records written"), "{screen:?}");
    assert!(!screen.contains("records/s"), "{screen:?}");
    // assemble's bar: nothing like `0/0` before the total is known, and rates as `35.2 M/s`, not `35,206,841.643/s`.
    let logger = DataLogger::builder(dir.path(), &unique("progress")).start().unwrap();
    let producer = logger.producer(1).unwrap();
    for i in 0..300_000u64 {
        producer.log_at(i + 1, &i.to_le_bytes()).unwrap();
    }
    let report = logger.stop().unwrap();
    let screen = on_a_terminal(&format!("assemble {}", report.log_dir.display()), dir.path());
    assert!(
        screen.contains("assembled 300,001 entries from 1 source in "),
        "{screen:?}"
    );
    // The bar was drawn, with its total grouped, and never with an unknown total as `0/0`.
    assert!(screen.contains("/300,001"), "{screen:?}");
    assert!(!screen.contains(" 0/0"), "{screen:?}");
    let long_rate = screen.split("/s").any(|before| {
        before
            .rsplit(' ')
            .next()
            .is_some_and(|w| w.contains(',') && w.contains('.'))
    });
    assert!(!long_rate, "a rate printed as 35,206,841.643/s: {screen:?}");
}

#[test]
fn tail_follows_a_running_logger_until_it_stops() {
    let dir = tempfile::tempdir().unwrap();
    let name = unique("tail");
    let logger = DataLogger::builder(dir.path(), &name).start().unwrap();
    let (one, two) = (logger.producer(1).unwrap(), logger.producer(2).unwrap());
    one.log_at(5, b"before").unwrap();
    two.log_at(5, b"before").unwrap();
    let mut child = command()
        .args(["tail", "--from-start", "--json", "--source", "2"])
        .arg(logger.log_dir())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let first: serde_json::Value = serde_json::from_str(&lines.next().unwrap().unwrap()).unwrap();
    assert_eq!(first["payload_hex"], "6265666f7265", "{first}");
    // Written after the tail caught up: it follows.
    for i in 0u8..50 {
        one.log_at(10 + u64::from(i), &[i]).unwrap();
        two.log_at(10 + u64::from(i), &[i, i]).unwrap();
    }
    drop((one, two));
    logger.stop().unwrap();
    let rest: Vec<serde_json::Value> = lines.map(|l| serde_json::from_str(&l.unwrap()).unwrap()).collect();
    assert!(child.wait().unwrap().success(), "tail ends when the logger stops");
    assert_eq!(rest.len(), 50, "source 2's messages only, each once");
    for (i, m) in rest.iter().enumerate() {
        assert_eq!(
            (m["source"].as_u64(), m["payload_hex"].as_str()),
            (Some(2), Some(&*format!("{i:02x}{i:02x}")))
        );
    }
    assert_fails_naming(&seqring(&["tail", "/no/such/log_dir"]), "/no/such/log_dir");
}

#[test]
fn shm_watch_shows_a_loggers_sources_live() {
    let dir = tempfile::tempdir().unwrap();
    let name = unique("watch-logger");
    let logger = DataLogger::builder(dir.path(), &name).start().unwrap();
    let producer = logger.producer(3).unwrap();
    for i in 0u32..1000 {
        producer.log_at(u64::from(i) + 1, &i.to_le_bytes()).unwrap();
    }
    // The drain publishes its per-source counts every 50 ms once it has written them.
    while logger.health().written < 1001 {
        std::thread::yield_now();
    }
    let deadline = std::time::Instant::now() + Duration::from_secs(30);
    let row = loop {
        let out = seqring(&["shm", "watch", &name, "--updates", "1"]);
        assert_ok(&out);
        let text = stdout(&out);
        assert!(text.contains(&format!("logger {name:?}: running")), "{text}");
        let row: Vec<String> = text
            .lines()
            .map(|l| l.split_whitespace().map(str::to_owned).collect::<Vec<_>>())
            .find(|f| f.first().is_some_and(|s| s == "3"))
            .unwrap_or_default();
        if row.get(2).is_some_and(|n| n == "1001") || std::time::Instant::now() > deadline {
            break row;
        }
    };
    // source, pid, records (the onset record and 1,000 messages), rate, dropped, newest
    assert_eq!(
        row[..3],
        ["3".to_owned(), std::process::id().to_string(), "1001".to_owned()],
        "{row:?}"
    );
    assert_eq!(row[4], "0", "{row:?}");
    drop(producer);
    logger.stop().unwrap();
    assert_fails_naming(&seqring(&["shm", "watch", &name, "--updates", "1"]), &name);
}
