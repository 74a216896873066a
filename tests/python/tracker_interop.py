#!/usr/bin/env python3
"""Python side of seqring's tracker interop tests.

It reads and writes tracker files the way ataraxis-data-structures' ProcessingTracker does (filelock.FileLock on
'{file}.lock', yaml.safe_load, yaml.dump with explicit document markers, xxhash.xxh64 job ids) without needing the
ataraxis package itself. Subcommands:

  verify FILE             load FILE, recompute every job id from name/specifier, check every field's type and
                          print the jobs as JSON on stdout; exit 1 on any mismatch
  hold FILE SECONDS       take the tracker lock, print 'locked', hold it for SECONDS, release, print 'released'
  try-lock FILE TIMEOUT   try to take the lock within TIMEOUT seconds; print 'acquired' or 'timeout'
  run-jobs FILE PREFIX N  initialize N jobs named PREFIX:i and start + complete each, one locked step at a time
  write FILE              write a tracker with three jobs as ataraxis would, for seqring to read
  count FILE COUNTER N    N times: under the tracker lock, read the integer in COUNTER, write it back plus one
  summarize FILE          print what ataraxis 7.2.0's ProcessingTracker.summarize() returns for FILE, as compact
                          JSON (the rules re-implemented here from ataraxis' documented behaviour, see below)
"""

import json
import sys
import time
from pathlib import Path

import xxhash
import yaml
from filelock import FileLock, Timeout


def job_id(name: str, specifier: str) -> str:
    combined = f"{name}:{specifier}" if specifier else name
    return xxhash.xxh64(combined.encode("utf-8")).hexdigest()


def lock_for(path: Path) -> FileLock:
    return FileLock(str(path.with_suffix(path.suffix + ".lock")))


# libyaml's loader and dumper when PyYAML has them (same documents, much faster); ataraxis itself uses the pure ones.
FAST_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
FAST_DUMPER = getattr(yaml, "CSafeDumper", yaml.SafeDumper)


def load(path: Path, loader=yaml.SafeLoader) -> dict:
    if not path.exists():
        return {}
    with path.open() as f:
        data = yaml.load(f, Loader=loader)
    return dict(data.get("jobs") or {})


def save(path: Path, jobs: dict, dumper=yaml.SafeDumper) -> None:
    # What ataraxis' YamlConfig.to_yaml writes: block style, explicit start and end, keys in insertion order.
    with path.open("w") as f:
        yaml.dump(
            {"jobs": jobs}, f, Dumper=dumper, default_flow_style=False, explicit_start=True, explicit_end=True,
            sort_keys=False,
        )


def now_us() -> int:
    return time.time_ns() // 1000


def verify(path: Path) -> int:
    jobs = load(path)
    fields = ["job_name", "specifier", "status", "executor_id", "error_message", "started_at", "completed_at"]
    problems = []
    for jid, job in jobs.items():
        if not isinstance(jid, str):
            problems.append(f"id {jid!r} is not a string")
        if list(job.keys()) != fields:
            problems.append(f"{jid}: fields {list(job.keys())}")
        if job_id(job["job_name"], job["specifier"]) != jid:
            problems.append(f"{jid}: recomputed id {job_id(job['job_name'], job['specifier'])}")
        if not isinstance(job["status"], int) or not 0 <= job["status"] <= 3:
            problems.append(f"{jid}: status {job['status']!r}")
        for key in ("job_name", "specifier"):
            if not isinstance(job[key], str):
                problems.append(f"{jid}: {key} {job[key]!r} is not a string")
        for key in ("executor_id", "error_message"):
            if job[key] is not None and not isinstance(job[key], str):
                problems.append(f"{jid}: {key} {job[key]!r} is not a string")
        for key in ("started_at", "completed_at"):
            if job[key] is not None and (not isinstance(job[key], int) or isinstance(job[key], bool)):
                problems.append(f"{jid}: {key} {job[key]!r} is not an integer")
    if problems:
        print("\n".join(problems), file=sys.stderr)
        return 1
    print(json.dumps(jobs))
    return 0


def hold(path: Path, seconds: float) -> int:
    with lock_for(path).acquire(timeout=10):
        print("locked", flush=True)
        time.sleep(seconds)
    print("released", flush=True)
    return 0


def try_lock(path: Path, timeout: float) -> int:
    try:
        with lock_for(path).acquire(timeout=timeout):
            print("acquired", flush=True)
    except Timeout:
        print("timeout", flush=True)
    return 0


def run_jobs(path: Path, prefix: str, n: int) -> int:
    lock = lock_for(path)
    names = [(prefix, str(i)) for i in range(n)]
    # A short poll interval: filelock's default (50 ms) loses most races against tight Rust loops.
    with lock.acquire(timeout=120, poll_interval=0.001):
        jobs = load(path, FAST_LOADER)
        for name, spec in names:
            jobs.setdefault(job_id(name, spec), {
                "job_name": name, "specifier": spec, "status": 0, "executor_id": None,
                "error_message": None, "started_at": None, "completed_at": None,
            })
        save(path, jobs, FAST_DUMPER)
    for name, spec in names:
        jid = job_id(name, spec)
        for status, field in ((1, "started_at"), (2, "completed_at")):
            with lock.acquire(timeout=120, poll_interval=0.001):
                jobs = load(path, FAST_LOADER)
                jobs[jid]["status"] = status
                jobs[jid][field] = now_us()
                if status == 1:
                    jobs[jid]["executor_id"] = f"python:{prefix}"
                save(path, jobs, FAST_DUMPER)
    return 0


def write(path: Path) -> int:
    jobs = {}
    for name, spec, status, executor, error in (
        ("process_data", "batch_101", 2, "12345", None),
        ("process_data", "batch_102", 3, "pid:8876", "disk full: 'quota'\nline two"),
        ("ünï", "ß", 0, None, None),
    ):
        jobs[job_id(name, spec)] = {
            "job_name": name, "specifier": spec, "status": status, "executor_id": executor,
            "error_message": error, "started_at": 1795301397032459 if status else None,
            "completed_at": 1795301397034908 if status else None,
        }
    with lock_for(path).acquire(timeout=10):
        save(path, jobs)
    return 0


def count(path: Path, counter: Path, n: int) -> int:
    lock = lock_for(path)
    for _ in range(n):
        with lock.acquire(timeout=60, poll_interval=0.001):
            value = int(counter.read_text() or "0")
            time.sleep(0.0005)
            counter.write_text(str(value + 1))
    return 0


STATUS_NAMES = {0: "SCHEDULED", 1: "RUNNING", 2: "SUCCEEDED", 3: "FAILED"}


def resolve_status(counts: dict) -> str:
    """ataraxis TrackerStatus priority: failed, completed, processing, not_started, else in_progress."""
    total = counts.get("total", 0)
    if counts.get("failed", 0) > 0:
        return "failed"
    if total > 0 and counts.get("succeeded", 0) == total:
        return "completed"
    if counts.get("running", 0) > 0:
        return "processing"
    if total > 0 and counts.get("scheduled", 0) == total:
        return "not_started"
    return "in_progress"


def summarize(path: Path) -> int:
    """The summarize() dict: per-job details (error_message only when set, last), counts, resolved label."""
    jobs = load(path) if path.is_file() else {}
    details = []
    for jid, job in jobs.items():
        entry = {
            "job_id": jid, "job_name": job["job_name"], "specifier": job.get("specifier", ""),
            "status": STATUS_NAMES[job.get("status", 0)], "executor_id": job.get("executor_id"),
            "started_at": job.get("started_at"), "completed_at": job.get("completed_at"),
        }
        if job.get("error_message") is not None:
            entry["error_message"] = job["error_message"]
        details.append(entry)
    statuses = [job.get("status", 0) for job in jobs.values()]
    counts = {
        "total": len(statuses), "succeeded": statuses.count(2), "failed": statuses.count(3),
        "running": statuses.count(1), "scheduled": statuses.count(0),
    }
    summary = {"jobs": details, "summary": counts, "status": resolve_status(counts)}
    print(json.dumps(summary, separators=(",", ":"), ensure_ascii=False))
    return 0


def main() -> int:
    command, path = sys.argv[1], Path(sys.argv[2])
    if command == "verify":
        return verify(path)
    if command == "hold":
        return hold(path, float(sys.argv[3]))
    if command == "try-lock":
        return try_lock(path, float(sys.argv[3]))
    if command == "run-jobs":
        return run_jobs(path, sys.argv[3], int(sys.argv[4]))
    if command == "count":
        return count(path, Path(sys.argv[3]), int(sys.argv[4]))
    if command == "write":
        return write(path)
    if command == "summarize":
        return summarize(path)
    print(f"unknown command {command}", file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main())
