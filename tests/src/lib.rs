//! Shared helpers for seqring's integration tests, kept once here instead of in each test file:
//!
//! - [`fixtures`]: the ataraxis 7.2.0 fixture directory beside the checkout;
//! - [`Rng`]: a small seeded generator (xorshift64*), so tests are reproducible without an extra crate;
//! - [`child`]: re-executing the running test binary as a child process in a named role, and handshakes with it
//!   over its stdout pipe (never sleeps);
//! - [`python_with`]: the `python3` the interop checks run, with the packages they import;
//! - [`rounds`]: how many rounds a stress loop or sweep runs here (fewer on Windows, whose tests run under wine);
//! - [`npz::as_numpy_writes_here`]: a fixture archive as numpy writes it on the platform under test.
//!
//! A process's CPU time, for tests that a blocked wait burns none, is `seqring_platform::clock::process_cpu_time`.

use std::path::PathBuf;

/// The ataraxis 7.2.0 fixtures (`../shared/fixtures/ataraxis-7.2.0` beside the checkout).
///
/// # Panics
/// If the directory is missing: the tests need `../shared` beside the repository.
pub fn fixtures() -> PathBuf {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../shared/fixtures/ataraxis-7.2.0");
    assert!(
        dir.is_dir(),
        "fixtures missing at {}: ../shared must sit beside the checkout",
        dir.display()
    );
    dir
}

/// `python3` (or `$PYTHON`) able to import `modules` (a comma-separated list, as `import` takes it), or `None`
/// when `SEQRING_SKIP_PYTHON` is set (the Windows run under wine, which has no Python).
///
/// # Panics
/// If Python or a module is missing and the skip is not asked for, so a CI without the packages fails instead of
/// passing vacuously.
pub fn python_with(modules: &str) -> Option<String> {
    if std::env::var_os("SEQRING_SKIP_PYTHON").is_some() {
        eprintln!("SEQRING_SKIP_PYTHON is set: skipping a Python interop check");
        return None;
    }
    let python = std::env::var("PYTHON").unwrap_or_else(|_| "python3".into());
    let ok = std::process::Command::new(&python)
        .args(["-c", &format!("import {modules}")])
        .status()
        .is_ok_and(|s| s.success());
    assert!(
        ok,
        "{python} with {modules} is required (pip install -r .ci/requirements.txt), or set SEQRING_SKIP_PYTHON=1"
    );
    Some(python)
}

/// The environment variable that makes [`rounds`] return its argument on Windows too (for a real Windows machine).
pub const FULL_ROUNDS_VAR: &str = "SEQRING_FULL_ROUNDS";

/// By how much [`rounds`] divides a count on Windows.
pub const WINDOWS_ROUNDS_DIVISOR: u64 = 10;

/// How many of `n` rounds (iterations, records, kills, swept positions) a stress loop or sweep runs on this
/// platform: `n` on Linux and macOS; on Windows `n / 10` rounded up (so at least 1 when `n > 0`), unless
/// `SEQRING_FULL_ROUNDS` is set.
///
/// The Windows build's tests run under wine in CI (tests/windows.sh), where every test of the workspace must fit
/// in a few minutes on two cores, and where a process start costs ~0.3 s and a file create, map or delete tens of
/// microseconds more than natively. The code a stress test drives is the same on every OS (the `no_std` core, or
/// adapters whose Windows paths each round already reaches), so on Windows each test keeps its logic and its
/// assertions over a tenth of the rounds. Every count that scales goes through here, so the Windows run is
/// scaled in one place; a test needing a floor writes `rounds(n).max(k)`.
///
/// ```
/// let n = seqring_tests::rounds(1000);
/// assert_eq!(n, if cfg!(windows) && std::env::var_os("SEQRING_FULL_ROUNDS").is_none() { 100 } else { 1000 });
/// ```
pub fn rounds(n: u64) -> u64 {
    if cfg!(windows) && std::env::var_os(FULL_ROUNDS_VAR).is_none() {
        n.div_ceil(WINDOWS_ROUNDS_DIVISOR)
    } else {
        n
    }
}

/// A small deterministic pseudo-random generator (xorshift64*).
#[derive(Clone, Debug)]
pub struct Rng(u64);

impl Rng {
    /// A generator from `seed` (any value; zero is remapped).
    pub fn new(seed: u64) -> Self {
        Rng(seed ^ 0x9e37_79b9_7f4a_7c15 | 1)
    }

    /// The next 64 random bits.
    pub fn next_u64(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    /// A value in `0..n` (`n > 0`).
    pub fn below(&mut self, n: u64) -> u64 {
        self.next_u64() % n
    }

    /// `len` random bytes.
    pub fn bytes(&mut self, len: usize) -> Vec<u8> {
        (0..len).map(|_| self.next_u64() as u8).collect()
    }
}

/// Child processes: the test binary re-executed to run one test function in a named role.
///
/// A test calls [`child::role`] first; in the child it returns the role (and the test runs the child's part), in
/// the parent `None`. The parent starts children with [`child::Child::spawn`] and synchronises with them through
/// lines on their stdout ([`child::Child::expect_line`]), and stops them with [`child::Child::wait_ok`] or
/// [`child::Child::kill`] (a real SIGKILL; `TerminateProcess` on Windows).
pub mod child {
    use std::io::{BufRead, BufReader, Write};
    use std::process::{Command, ExitStatus, Stdio};
    use std::sync::mpsc::{self, Receiver, RecvTimeoutError};
    use std::time::{Duration, Instant};

    /// The environment variable that carries a child's role.
    pub const ROLE_VAR: &str = "SEQRING_TEST_CHILD_ROLE";
    /// The environment variable that carries a child's argument.
    pub const ARG_VAR: &str = "SEQRING_TEST_CHILD_ARG";
    /// How long a handshake waits before the test fails.
    pub const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(120);

    /// This process's role and argument when it is a child, `None` in the parent.
    pub fn role() -> Option<(String, String)> {
        let role = std::env::var(ROLE_VAR).ok()?;
        Some((role, std::env::var(ARG_VAR).unwrap_or_default()))
    }

    /// Prints one handshake line to stdout and flushes it (for the parent's [`Child::expect_line`]).
    pub fn say(line: &str) {
        let mut out = std::io::stdout().lock();
        writeln!(out, "{line}").unwrap();
        out.flush().unwrap();
    }

    /// Blocks until the parent writes a line to this child's stdin, and returns it (a "go" handshake).
    pub fn hear() -> String {
        let mut line = String::new();
        std::io::stdin().read_line(&mut line).unwrap();
        line.trim_end().to_string()
    }

    /// A running child process.
    pub struct Child {
        process: std::process::Child,
        lines: Receiver<String>,
        seen: Vec<String>,
    }

    impl Child {
        /// Re-executes the current test binary to run only `test` (its full path, e.g. `"logger_crash"`; matched
        /// exactly), with `role` and `arg` in the environment, plus `env`.
        ///
        /// # Panics
        /// If the process cannot be started.
        pub fn spawn(test: &str, role: &str, arg: &str, env: &[(&str, &str)]) -> Child {
            let exe = std::env::current_exe().unwrap();
            let mut cmd = Command::new(exe);
            cmd.args([test, "--exact", "--nocapture", "--test-threads=1", "-q"])
                .env(ROLE_VAR, role)
                .env(ARG_VAR, arg)
                .stdin(Stdio::piped())
                .stdout(Stdio::piped())
                .stderr(Stdio::inherit());
            for (k, v) in env {
                cmd.env(k, v);
            }
            let mut process = spawn_retrying_wine(&mut cmd);
            let stdout = process.stdout.take().unwrap();
            let (tx, lines) = mpsc::channel();
            std::thread::spawn(move || {
                for line in BufReader::new(stdout).lines() {
                    let Ok(line) = line else { break };
                    if tx.send(line).is_err() {
                        break;
                    }
                }
            });
            Child {
                process,
                lines,
                seen: Vec::new(),
            }
        }

        /// The child's process id.
        pub fn pid(&self) -> u32 {
            self.process.id()
        }

        /// Waits for the next stdout line that starts with `prefix` and returns the rest of it.
        ///
        /// # Panics
        /// If the child exits or stays silent for [`HANDSHAKE_TIMEOUT`].
        pub fn expect_line(&mut self, prefix: &str) -> String {
            let deadline = Instant::now() + HANDSHAKE_TIMEOUT;
            loop {
                let left = deadline.saturating_duration_since(Instant::now());
                match self.lines.recv_timeout(left) {
                    Ok(line) => {
                        if let Some(rest) = line.strip_prefix(prefix) {
                            return rest.trim().to_string();
                        }
                        self.seen.push(line);
                    }
                    Err(RecvTimeoutError::Timeout) => panic!("child {} said no {prefix:?} in time", self.pid()),
                    Err(RecvTimeoutError::Disconnected) => {
                        panic!(
                            "child {} exited before saying {prefix:?}; it said {:?}",
                            self.pid(),
                            self.seen
                        )
                    }
                }
            }
        }

        /// Writes one line to the child's stdin (answered by [`hear`] in the child).
        pub fn tell(&mut self, line: &str) {
            let stdin = self.process.stdin.as_mut().unwrap();
            writeln!(stdin, "{line}").unwrap();
            stdin.flush().unwrap();
        }

        /// Kills the child (SIGKILL on Unix, `TerminateProcess` on Windows: neither lets it run any more code) and
        /// reaps it.
        pub fn kill(mut self) -> ExitStatus {
            self.process.kill().unwrap();
            self.process.wait().unwrap()
        }

        /// Waits for the child to exit and asserts that it succeeded.
        ///
        /// # Panics
        /// If the child failed.
        pub fn wait_ok(mut self) {
            drop(self.process.stdin.take());
            let status = self.process.wait().unwrap();
            assert!(status.success(), "child {} failed: {status}", self.process.id());
        }
    }

    /// Starts `cmd`. Under wine, `CreateProcess` now and then fails with `ERROR_INTERNAL_ERROR` (1359) while other
    /// processes start and end (seen about once in six full runs of the workspace's tests); that start is tried
    /// again, up to five times. Any other error, and every error on other systems, fails at once.
    fn spawn_retrying_wine(cmd: &mut Command) -> std::process::Child {
        const WINE_INTERNAL_ERROR: i32 = 1359;
        let mut tries = 0;
        loop {
            match cmd.spawn() {
                Ok(child) => return child,
                Err(e) if cfg!(windows) && e.raw_os_error() == Some(WINE_INTERNAL_ERROR) && tries < 5 => {
                    tries += 1;
                    std::thread::sleep(Duration::from_millis(20 * tries));
                }
                Err(e) => panic!("spawn the test binary as a child: {e:?}"),
            }
        }
    }

    /// A child still running when its handle goes (a test that failed before waiting for it) is killed and reaped,
    /// so that it neither outlives the test nor holds the test's output pipe open.
    impl Drop for Child {
        fn drop(&mut self) {
            if let Ok(None) = self.process.try_wait() {
                let _ = self.process.kill();
                let _ = self.process.wait();
            }
        }
    }
}

/// `.npz` archives as numpy writes them on the platform under test.
pub mod npz {
    /// `bytes`, an archive numpy wrote on Linux (the ataraxis fixtures), as numpy writes it on this platform: on
    /// Windows, CPython's `zipfile` names the "made by" system of each central header MS-DOS (0) where on Linux it
    /// names Unix (3); nothing else differs. The headers are found with the zip crate, independently of the writer
    /// under test.
    ///
    /// # Panics
    /// On Windows, if `bytes` is not a zip archive whose central headers say "made by 4.5 on Unix".
    pub fn as_numpy_writes_here(mut bytes: Vec<u8>) -> Vec<u8> {
        if cfg!(windows) {
            let mut zip = zip::ZipArchive::new(std::io::Cursor::new(bytes.clone())).unwrap();
            for i in 0..zip.len() {
                let at = zip.by_index_raw(i).unwrap().central_header_start() as usize;
                assert_eq!(
                    &bytes[at..at + 6],
                    b"PK\x01\x02\x2d\x03",
                    "a central header numpy wrote on Linux"
                );
                bytes[at + 5] = 0;
            }
        }
        bytes
    }
}

/// Logger test data: self-checking payloads, unique logger names, and reading a log directory back.
pub mod logger {
    use std::collections::BTreeMap;
    use std::path::Path;

    use seqring::format::segment::Segment;

    /// The argument of [`takeover_logger_child`]: the logger `name` writing into `dir` in segments of
    /// `segment_size` bytes, at priority 19 if `nice` (Unix only).
    pub fn takeover_logger_arg(dir: &Path, name: &str, segment_size: u64, nice: bool) -> String {
        format!("{} {name} {segment_size} {}", dir.display(), u8::from(nice))
    }

    /// The logger child of the takeover tests: starts a logger (taking over a dead predecessor's region), says
    /// `ready`, and runs until it is killed, or until told `stop`, when it stops and says `stopped <records>`.
    /// Its ring is small and its abandon timeout short (200 ms), so that takeovers happen often and quickly; it
    /// continues the recording of a dead predecessor. `arg` comes from [`takeover_logger_arg`].
    ///
    /// # Panics
    /// If `arg` is malformed, or the logger fails to start or stop.
    pub fn takeover_logger_child(arg: &str) {
        let mut parts = arg.split(' ');
        let (dir, name) = (parts.next().unwrap(), parts.next().unwrap());
        let segment_size: u64 = parts.next().unwrap().parse().unwrap();
        #[cfg(unix)]
        if parts.next() == Some("1") {
            // SAFETY: `nice` only changes this process's scheduling priority.
            unsafe { libc::nice(19) };
        }
        let logger = seqring::logger::DataLogger::builder(dir, name)
            .capacity(1 << 16)
            .segment_size(segment_size)
            .fsync_interval(None)
            .abandon_timeout(std::time::Duration::from_millis(200))
            .continue_recording(true)
            .start()
            .unwrap_or_else(|e| panic!("logger start: {e}"));
        super::child::say("ready");
        if super::child::hear() == "stop" {
            let report = logger.stop().unwrap();
            super::child::say(&format!("stopped {}", report.records));
        }
    }

    /// A logger name unique to this process and `tag` (regions are system-wide).
    pub fn unique_name(tag: &str) -> String {
        format!("t{}-{tag}", std::process::id())
    }

    /// The payload of message `seq` of `source`: `seq` as u64 LE, then `seq % 61` bytes derived from source and
    /// seq, so that lengths vary, records wrap the ring at every offset, and any torn or misplaced byte shows.
    pub fn payload(source: u8, seq: u64) -> Vec<u8> {
        let mut out = seq.to_le_bytes().to_vec();
        let mut x = seq.wrapping_mul(0x9e37_79b9_7f4a_7c15) ^ u64::from(source);
        for _ in 0..seq % 61 {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            out.push(x as u8);
        }
        out
    }

    /// Logs messages `from..to` of [`payload`] for `producer`'s source, message `seq` stamped `seq + 1`.
    ///
    /// # Panics
    /// If a record is refused.
    pub fn log_range(producer: &seqring::logger::Producer, from: u64, to: u64) {
        for seq in from..to {
            producer.log_at(seq + 1, &payload(producer.source_id(), seq)).unwrap();
        }
    }

    /// The segment files of a log directory in name (writing) order.
    ///
    /// # Panics
    /// If the directory cannot be listed.
    pub fn segment_paths(dir: &Path) -> Vec<std::path::PathBuf> {
        let mut paths: Vec<_> = std::fs::read_dir(dir)
            .unwrap()
            .map(|e| e.unwrap().path())
            .filter(|p| p.extension().is_some_and(|e| e == "seg"))
            .collect();
        paths.sort();
        paths
    }

    /// Every record of every segment in `dir`, per source in file order: (timestamp, payload). Records written
    /// twice after a logger crash (same ring and position) are read once, as the archive reader does.
    ///
    /// # Panics
    /// If a segment does not read cleanly.
    pub fn read_segments(dir: &Path) -> BTreeMap<u8, Vec<(u64, Vec<u8>)>> {
        let mut out: BTreeMap<u8, Vec<(u64, Vec<u8>)>> = BTreeMap::new();
        let mut dedup = seqring::format::segment::Dedup::default();
        for path in segment_paths(dir) {
            let segment = Segment::open(&path).unwrap();
            for record in segment.records_once(Some(&mut dedup)) {
                let (_, r) = record.unwrap_or_else(|e| panic!("{}: {e}", path.display()));
                out.entry(r.source_id)
                    .or_default()
                    .push((r.timestamp, r.payload.to_vec()));
            }
        }
        out
    }

    /// Checks that `records` (one source, in file order) are its onset record and then messages `0..n` with the
    /// payloads of [`payload`] and non-decreasing timestamps; returns `n`.
    ///
    /// # Panics
    /// At the first record that breaks the rule, naming it.
    pub fn check_source(source: u8, records: &[(u64, Vec<u8>)]) -> u64 {
        let (onset_ts, onset) = &records[0];
        assert_eq!(
            (*onset_ts, onset.len()),
            (0, 8),
            "source {source}: the first record is not an onset"
        );
        let mut last_ts = 0;
        for (i, (ts, bytes)) in records[1..].iter().enumerate() {
            let seq = i as u64;
            assert_eq!(
                bytes,
                &payload(source, seq),
                "source {source}: message {seq} is wrong or out of order"
            );
            assert!(
                *ts >= last_ts,
                "source {source}: message {seq} stamped {ts} before {last_ts}"
            );
            last_ts = *ts;
        }
        records.len() as u64 - 1
    }
}

/// Shared-memory region names for tests: unique per test process and call, and removed when the test ends even
/// if it fails.
pub mod shm {
    use std::sync::atomic::{AtomicU32, Ordering};

    /// A region name unique to this process and call: `seqring-test-{tag}-{pid}-{n}`.
    pub fn unique_name(tag: &str) -> String {
        static NEXT: AtomicU32 = AtomicU32::new(0);
        let n = NEXT.fetch_add(1, Ordering::Relaxed);
        format!("seqring-test-{tag}-{}-{n}", std::process::id())
    }

    /// Removes the region of its name when dropped (at the end of a test, on success or panic).
    pub struct Cleanup(pub String);

    impl Drop for Cleanup {
        fn drop(&mut self) {
            let _ = seqring_platform::remove_region(&self.0);
        }
    }

    /// Whether the region `name` exists (in `/dev/shm` on Linux, its file or registry entry elsewhere).
    pub fn exists(name: &str) -> bool {
        seqring_platform::RegionName::new(name).is_ok_and(|n| n.shm_path().exists())
    }
}

/// The README's examples, compiled and run as doctests (this crate depends on every seqring crate they use).
#[cfg(doctest)]
#[doc = include_str!("../../README.md")]
pub struct ReadmeDoctests;
