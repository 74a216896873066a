"""The package on Windows and macOS (issue 22), checked from Linux: its source makes no POSIX-only call without a
guard (an AST scan of ``python/seqring`` and a scan of the Rust module's Python calls), and it imports and works
across processes as on Windows: with the POSIX-only names of ``os`` and ``signal`` and the POSIX-only modules
taken away, and child processes started with "spawn" (Windows has no fork; spawn is its only start method)."""

import ast
import re
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

PYTHON_DIR = Path(__file__).resolve().parents[1]
PACKAGE = PYTHON_DIR / "python" / "seqring"
RUST_SOURCES = PYTHON_DIR / "src"

# Modules Windows lacks.
POSIX_MODULES = {"fcntl", "pwd", "grp", "resource", "termios", "tty", "pty", "posix", "syslog", "crypt", "spwd", "nis",
                 "posix_ipc", "_posixshmem"}
# Names of os and signal that Windows lacks (those the package could plausibly reach for).
POSIX_NAMES = {
    "os": {"fork", "forkpty", "register_at_fork", "getuid", "geteuid", "getgid", "getegid", "getgroups", "setuid",
           "setgid", "setsid", "getsid", "setpgid", "getpgid", "getpgrp", "killpg", "nice", "uname", "sched_yield",
           "sched_getaffinity", "sched_setaffinity", "statvfs", "fstatvfs", "sync", "mkfifo", "mknod", "pipe2",
           "wait3", "wait4", "getloadavg", "sysconf", "pathconf", "fpathconf", "chown", "fchown", "lchown", "fchmod",
           "lchmod", "posix_fallocate", "posix_fadvise", "pread", "pwrite", "sendfile", "openpty", "ttyname",
           "ctermid", "getpriority", "setpriority", "memfd_create", "eventfd", "pidfd_open", "O_NOFOLLOW",
           "O_DIRECTORY", "O_CLOEXEC", "O_SYNC", "O_DSYNC"},
    "signal": {"SIGKILL", "SIGHUP", "SIGUSR1", "SIGUSR2", "SIGALRM", "SIGCHLD", "SIGPIPE", "SIGQUIT", "SIGSTOP",
               "SIGCONT", "SIGTSTP", "alarm", "pause", "setitimer", "getitimer", "siginterrupt", "pthread_kill",
               "pthread_sigmask", "sigwait", "sigpending"},
}
POSIX_PATHS = ("/dev/shm", "/proc/", "/tmp/")
# An `if` on one of these, or a `try` catching one of these exceptions, guards what it encloses.
PLATFORM_TESTS = re.compile(r"\bos\.name\b|\bsys\.platform\b|\bplatform\.system\b|\bhasattr\(|\bgetattr\(")
GUARD_EXCEPTIONS = {"ImportError", "ModuleNotFoundError", "AttributeError", "OSError", "NotImplementedError",
                    "Exception", "BaseException"}


def unguarded_posix_calls(source: str, filename: str = "<source>") -> list:
    """Every use of a POSIX-only module, name or path in ``source`` outside an ``if`` on the platform (``os.name``,
    ``sys.platform``, ``hasattr``...) and outside a ``try`` that catches ImportError/AttributeError/OSError, as
    ``"file:line: what"`` strings. Docstrings are not code and are left alone."""
    tree = ast.parse(source, filename)
    docstrings = {id(body[0].value) for node in ast.walk(tree)
                  if isinstance(node, (ast.Module, ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef))
                  for body in [node.body]
                  if body and isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant)}
    found = []

    def catches_guard(handler: ast.ExceptHandler) -> bool:
        if handler.type is None:
            return True
        names = [n.id for n in ast.walk(handler.type) if isinstance(n, ast.Name)]
        return any(n in GUARD_EXCEPTIONS for n in names)

    def visit(node: ast.AST, guarded: bool) -> None:
        where = f"{filename}:{getattr(node, 'lineno', '?')}"
        if not guarded:
            if isinstance(node, ast.Import):
                found.extend(f"{where}: import {a.name}" for a in node.names if a.name.split(".")[0] in POSIX_MODULES)
            elif isinstance(node, ast.ImportFrom) and (node.module or "").split(".")[0] in POSIX_MODULES:
                found.append(f"{where}: from {node.module} import ...")
            elif isinstance(node, ast.ImportFrom) and node.module in POSIX_NAMES:
                found.extend(f"{where}: from {node.module} import {a.name}" for a in node.names
                             if a.name in POSIX_NAMES[node.module])
            elif (isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name)
                  and node.attr in POSIX_NAMES.get(node.value.id, ())):
                found.append(f"{where}: {node.value.id}.{node.attr}")
            elif (isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id == "getattr"
                  and len(node.args) == 2 and isinstance(node.args[0], ast.Name)
                  and isinstance(node.args[1], ast.Constant)
                  and node.args[1].value in POSIX_NAMES.get(node.args[0].id, ())):
                found.append(f"{where}: getattr({node.args[0].id}, {node.args[1].value!r}) without a default")
            elif (isinstance(node, ast.Constant) and isinstance(node.value, str) and id(node) not in docstrings
                  and any(node.value.startswith(p) for p in POSIX_PATHS)):
                found.append(f"{where}: the path {node.value!r}")
        if isinstance(node, (ast.If, ast.IfExp)) and PLATFORM_TESTS.search(ast.unparse(node.test)):
            visit(node.test, guarded)
            for child in (node.body if isinstance(node.body, list) else [node.body]):
                visit(child, True)
            for child in (node.orelse if isinstance(node.orelse, list) else [node.orelse]):
                visit(child, True)
            return
        if isinstance(node, ast.Try) and any(catches_guard(h) for h in node.handlers):
            for child in node.body:
                visit(child, True)
            for child in node.handlers + node.orelse + node.finalbody:
                visit(child, guarded)
            return
        for child in ast.iter_child_nodes(node):
            visit(child, guarded)

    visit(tree, False)
    return found


def test_the_scan_finds_unguarded_posix_calls_and_accepts_guarded_ones():
    bad = textwrap.dedent('''
        import os, fcntl
        from signal import SIGKILL
        os.register_at_fork(after_in_child=list)
        SHM = "/dev/shm/x"
        def f(pid):
            os.kill(pid, signal.SIGKILL)
            return getattr(os, "getuid")()
    ''')
    assert [f.split(": ", 1)[1] for f in unguarded_posix_calls(bad)] == [
        "import fcntl", "from signal import SIGKILL", "os.register_at_fork", "the path '/dev/shm/x'", "signal.SIGKILL",
        "getattr(os, 'getuid') without a default"]
    good = textwrap.dedent('''
        """Regions live in /dev/shm on Linux."""
        import os, sys
        if hasattr(os, "register_at_fork"):
            os.register_at_fork(after_in_child=list)
        try:
            import fcntl
        except ImportError:
            fcntl = None
        KILL = signal.SIGKILL if os.name == "posix" else signal.SIGTERM
        if sys.platform != "win32":
            uid = os.getuid()
        fork = getattr(os, "fork", None)
    ''')
    assert unguarded_posix_calls(good) == []


def test_the_package_makes_no_unguarded_posix_only_call():
    files = sorted(PACKAGE.rglob("*.py"))
    assert len(files) >= 10, files
    found = [f for path in files for f in unguarded_posix_calls(path.read_text(), str(path.relative_to(PYTHON_DIR)))]
    assert found == [], "POSIX-only calls without a platform guard (Windows lacks them):\n" + "\n".join(found)


def test_the_rust_module_guards_its_posix_only_python_calls():
    # The Rust side reaches Python's os and signal through getattr/import: a POSIX-only name must be checked with
    # hasattr first (Windows has no os.register_at_fork; the module would fail to import).
    names = set().union(*POSIX_NAMES.values())
    found = []
    for path in sorted(RUST_SOURCES.glob("*.rs")):
        text = path.read_text()
        for m in re.finditer(r'\.(getattr|import)\("([A-Za-z_]+)"\)', text):
            if (m.group(2) in names or m.group(2) in POSIX_MODULES) and f'hasattr("{m.group(2)}")' not in text:
                found.append(f"{path.name}:{text[:m.start()].count(chr(10)) + 1}: {m.group(0)}")
    assert found == []


# Runs seqring as on Windows: POSIX-only names and modules removed before seqring is imported, here and in the
# spawned children (spawn runs this file's top level in each child before it unpickles the target's arguments).
WINDOWS_LIKE = '''
import importlib, multiprocessing as mp
import os, pkgutil, signal, sys
import numpy as np

# What seqring imports from the standard library and numpy is imported first, with every name there: those have
# Windows paths of their own; seqring is what is under test.
for m in {IMPORTS!r}:
    try:
        importlib.import_module(m)
    except ImportError:
        pass  # an optional import (seqring guards it)

# Windows has none of these: seqring and all its modules are imported without them (here and in each spawned
# child, which runs this top level before it unpickles its target's arguments), then they are put back, since the
# standard library's own POSIX code (multiprocessing's resource tracker, heap, ...) needs them on Linux. What
# seqring calls later is the AST scan's to check.
removed = {}
for module, names in {POSIX_NAMES!r}.items():
    for n in names:
        if hasattr(sys.modules[module], n):
            removed[module, n] = getattr(sys.modules[module], n)
            delattr(sys.modules[module], n)
hidden = {m: sys.modules.pop(m, None) for m in {POSIX_MODULES!r}}
sys.modules.update(dict.fromkeys(hidden))  # import m raises ImportError
assert not hasattr(os, "register_at_fork") and not hasattr(signal, "SIGKILL")
import seqring
from seqring import ProcessingTracker
from seqring.compat import DataLogger, LogArchiveReader, LogPackage, SharedMemoryArray, assemble_log_archives
MODULES = [m.name for m in pkgutil.walk_packages(seqring.__path__, "seqring.")]
for m in MODULES:
    __import__(m)
for (module, n), value in removed.items():
    setattr(sys.modules[module], n, value)
for m, value in hidden.items():
    del sys.modules[m]
    if value is not None:
        sys.modules[m] = value


def child_increments(arr, tracker, job_id, queue, source, rounds, start):
    start.wait()
    for _ in range(rounds):
        with arr.array() as a:
            a[0] += 1
    with tracker.run_job(job_id, executor_id="child"):
        pass
    queue.put(LogPackage(np.uint8(source), np.uint64(0), np.frombuffer((1234).to_bytes(8, "little"), dtype=np.uint8)))
    queue.put(LogPackage(np.uint8(source), np.uint64(7), np.frombuffer(b"from a spawned child", dtype=np.uint8)))


def child_reads(handle, out):
    out.put(handle.read().tolist())


if __name__ == "__main__":
    mp.set_start_method("spawn")
    assert "seqring.compat.logger" in MODULES and "seqring._seqring" in MODULES, MODULES
    name, work = sys.argv[1], sys.argv[2]

    native = seqring.SharedArray.create(name + "-native", 4, np.int32)
    try:
        native.write(np.arange(4, dtype=np.int32))
        out = mp.Queue()
        p = mp.Process(target=child_reads, args=(native, out))
        p.start()
        assert out.get(timeout=60) == [0, 1, 2, 3]
        p.join(timeout=60)
        assert p.exitcode == 0
    finally:
        native.destroy()

    arr = SharedMemoryArray.create_array(name, np.zeros(1, dtype=np.int64))
    tracker = ProcessingTracker(os.path.join(work, "tracker.yaml"))
    logger = DataLogger(work, name)
    logger.start()
    try:
        rounds, sources = 200, (3, 4)
        jobs = tracker.initialize_jobs([("job", str(s)) for s in sources])
        start = mp.Barrier(len(sources) + 1)
        procs = [mp.Process(target=child_increments, args=(arr, tracker, job, logger.input_queue, s, rounds, start))
                 for s, job in zip(sources, jobs)]
        for p in procs:
            p.start()
        start.wait(timeout=60)
        for _ in range(rounds):
            with arr.array() as a:
                a[0] += 1
        for p in procs:
            p.join(timeout=120)
            assert p.exitcode == 0, p.exitcode
        assert arr[0] == (len(sources) + 1) * rounds, arr[0]
        assert [tracker.get_job_status(job).name for job in jobs] == ["SUCCEEDED"] * len(sources)
    finally:
        logger.stop()
        arr.destroy()
    assemble_log_archives(logger.output_directory)
    for s in sources:
        reader = LogArchiveReader(logger.output_directory / f"{s}_log.npz")
        messages = [(int(m.timestamp_us), m.payload.tobytes()) for m in reader.iter_messages()]
        assert int(reader.onset_timestamp_us) == 1234
        assert messages == [(1234 + 7, b"from a spawned child")], messages
    print("windows-like run: ok")
'''


def test_the_package_imports_and_works_across_spawned_processes_without_posix_only_names(tmp_path, name):
    script = tmp_path / "windows_like.py"
    imports = set()
    for path in PACKAGE.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Import):
                imports.update(a.name for a in node.names)
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                imports.add(node.module)
    imports = sorted(m for m in imports if m.split(".")[0] not in POSIX_MODULES | {"seqring"})
    assert "contextlib" in imports and "numpy" in imports, imports
    script.write_text(WINDOWS_LIKE.replace("{POSIX_NAMES!r}", repr({k: sorted(v) for k, v in POSIX_NAMES.items()}))
                      .replace("{POSIX_MODULES!r}", repr(sorted(POSIX_MODULES)))
                      .replace("{IMPORTS!r}", repr(imports)))
    work = tmp_path / "work"
    work.mkdir()
    run = subprocess.run([sys.executable, str(script), name, str(work)], cwd=tmp_path, capture_output=True,
                         text=True, timeout=300)
    assert run.returncode == 0, run.stdout + run.stderr
    assert run.stdout.strip().endswith("windows-like run: ok")

