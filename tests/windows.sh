#!/usr/bin/env bash
# The Windows build's tests, cross-compiled for x86_64-pc-windows-gnu with mingw-w64 and run under wine (issue 22).
# Called by tests/run.sh as one of its steps; runs alone too: bash tests/windows.sh [extra cargo test args].
#
# Set-up (each part only when missing; apt-get needs root, otherwise the step says what to install and is skipped):
#   - the Rust target x86_64-pc-windows-gnu (rustup target add), mingw-w64 and wine (apt-get install -y
#     gcc-mingw-w64-x86-64 wine64);
#   - a wine prefix of its own in target/wine-prefix (the first `wineboot` takes ~10 s), with a stand-in for
#     bcryptprimitives.dll, which Rust's std imports (ProcessPrng) and wine 8 lacks: ../shared/reference/windows/
#     bcryptprimitives-shim.c, built with mingw into the prefix's system32;
#   - cargo runs every test binary through wine (CARGO_TARGET_X86_64_PC_WINDOWS_GNU_RUNNER).
#
# What runs: within budget (<= 8 min on 2 shared cores, most of it compiling) a chosen subset of the workspace, the
# cross-process heart of what issue 22 asks of Windows, in release mode like the Linux step:
#   seqring-platform (unit)    regions, names, locks, liveness, atomic replace (and what open readers and maps of
#                              the old file do to it), on Windows itself
#   seqring, seqring-state, seqring-mapped (unit)   formats, archives, the logger's sinks (the .npy sink's
#                              per-entry sync, which Windows and macOS use in place of Linux's syncfs), the tracker,
#                              configs, transfers and checksums on Windows paths, mapped structures: 93 tests,
#                              ~1 min of compiling (measured at load 8), 4 s of running
#   shared_array_processes     a writer and three reader processes on one SharedArray, no torn read; a writer
#                              terminated (TerminateProcess) mid-write is reported stalled until recovered
#   shared_array_wait          SharedArray::wait_changed across processes on the named-event wait (issue 22): three
#                              waiting readers follow a 1 kHz writer (wake latency printed), two follow back-to-back
#                              writes to the last (a lost wake-up fails), an idle waiter's process uses no CPU, a
#                              writer killed mid-write ends a wait by its timeout
#   logger_tail                LogTail from another process, blocking on the logger's written count: every message
#                              once, and an idle tail uses no CPU
#   logger_crash               a producer terminated between claim and commit is one abandoned record; a terminated
#                              logger is recovered and its ring taken over
#   logger_e2e threads_and_processes_…   producer threads and processes through one DataLogger, every record back
#   state_tracker              the tracker shared by four processes with no lost update, lock timeouts
#   region_tools               list/inspect/remove regions of live and dead creators
#   ops_cli, state_cli         the CLI as real processes: `seqring demo` end to end (3 producer processes, archives
#                              verified), `shm list` with pids, inspect/remove, recover, bench, tracker commands
# and then, outside cargo:
#   numpy reads the demo's archives  `seqring.exe demo` run under wine, its .npz archives read by python3 with numpy
#                              on the Linux side (tests/python/demo_archives.py), every message checked
#   the Windows wheel          tests/windows_wheel.sh: maturin cross-builds the Python package's abi3 wheel and
#                              checks it holds the .pyd (linked to python3.dll) and every .py file. It is not
#                              imported: no Windows CPython can be had from the package registries (PyPI has none;
#                              its installers, pbs-installer and portable-python, download from elsewhere), so
#                              the wine prefix has no Python. ~2 min cold (the pyo3 crates), seconds warm.
# SEQRING_WINDOWS_TESTS=all runs every test of the workspace instead (lib, bins and integration tests; 279 passed
# in one run, ~18 min of which ~9 compiling), which is how the list below was drawn up.
#
# Left out on Windows, each cfg'd out or ignored in the source with its reason:
#   - Unix notions: symbolic-link walks (Windows needs a privilege to make links), inode, file-mode and st_blocks
#     checks, the disk-full test (RLIMIT_FSIZE), nice(2);
#   - replacing a file that is mapped (mapped_processes, mapped_rkyv_processes, mapped_roundtrip's
#     keep-old-contents test, the map-keeps-old-bytes unit test): Windows refuses it (README, Platforms);
#   - tools the wine prefix lacks: python3 with numpy (logger_e2e's npy test, mapped_interop, ops_cli's numpy demo
#     check, which runs here instead as the step above; the Python halves of state_tracker and the archive tests are
#     skipped through SEQRING_SKIP_PYTHON),
#     script(1) for a pseudo-terminal (two ops_cli tests);
#   - state_markers' 100 k directories: minutes under wine.
# `grep -rn -A1 'cfg_attr(windows\|^    windows,$' adapters tests` lists them.
set -euo pipefail
cd "$(dirname "$0")/.."
target=x86_64-pc-windows-gnu

have_tools() { command -v x86_64-w64-mingw32-gcc >/dev/null && { [ -x /usr/lib/wine/wine64 ] || command -v wine64 >/dev/null; }; }
if ! have_tools; then
    if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
        echo "installing mingw-w64 and wine (apt-get install -y gcc-mingw-w64-x86-64 wine64)"
        DEBIAN_FRONTEND=noninteractive apt-get install -y -qq gcc-mingw-w64-x86-64 wine64 >/dev/null
    else
        echo "tests/windows.sh: skipped: needs mingw-w64 and wine (apt-get install gcc-mingw-w64-x86-64 wine64, as root)"
        exit 0
    fi
fi
rustup target list --installed | grep -qx "$target" || rustup target add "$target"
wine=/usr/lib/wine/wine64
[ -x "$wine" ] || wine=$(command -v wine64)

export WINEPREFIX="$PWD/target/wine-prefix" WINEDEBUG=-all WINEDLLOVERRIDES="mscoree,mshtml="
if [ ! -f "$WINEPREFIX/drive_c/windows/system32/bcryptprimitives.dll" ]; then
    mkdir -p "$WINEPREFIX"
    echo "making the wine prefix $WINEPREFIX (wineboot, ~10 s)"
    "$wine" wineboot -i >/dev/null 2>&1 || true
    x86_64-w64-mingw32-gcc -shared -O2 -o "$WINEPREFIX/drive_c/windows/system32/bcryptprimitives.dll" \
        ../shared/reference/windows/bcryptprimitives-shim.c -ladvapi32
fi
export CARGO_TARGET_X86_64_PC_WINDOWS_GNU_RUNNER="$wine"
# Regions of this run in a directory of their own (the Windows region directory; see seqring_platform::regions_dir).
export SEQRING_REGIONS_DIR="${TMPDIR:-/tmp}/seqring-wine-regions"

# One wineserver for the whole run (started here, stopped at the end), so each test binary does not pay for one.
# Its output goes nowhere: a server holding this script's stdout would keep tests/run.sh's pipe open.
wineserver=/usr/lib/wine/wineserver64
[ -x "$wineserver" ] || wineserver=$(command -v wineserver)
"$wineserver" -p </dev/null >/dev/null 2>&1 || true
trap '"$wineserver" -k </dev/null >/dev/null 2>&1 || true' EXIT

export SEQRING_SKIP_PYTHON=1

# numpy, on the Linux side, reads the archives that the Windows build's `seqring demo` wrote under wine: what
# ops_cli's demo_logs_…_numpy_reads_every_message checks on Linux (ignored on Windows: no python3 in the prefix).
numpy_reads_windows_archives() {
    local exe run counts
    exe=$(realpath "${CARGO_TARGET_DIR:-target}/$target/release/seqring.exe")
    if ! python3 -c 'import numpy' 2>/dev/null; then
        echo "numpy check of the Windows demo's archives: skipped: python3 has no numpy (tests/run.sh's .venv has)"
        return
    fi
    run=$(mktemp -d "${TMPDIR:-/tmp}/seqring-wine-demo.XXXXXX")
    (cd "$run" && "$wine" "$exe" demo --producers 2 --seconds 0.6 --max-records 20000 --payload 40 \
        >demo.out 2>&1) || { cat "$run/demo.out"; rm -rf "$run"; return 1; }
    counts=$(python3 tests/python/demo_archives.py "$(dirname "$(find "$run" -name 1_log.npz)")" 40) ||
        { rm -rf "$run"; return 1; }
    rm -rf "$run"
    if [ "$counts" != '{"1": 20000, "2": 20000}' ]; then
        echo "numpy check of the Windows demo's archives: FAILED: $counts, not 20000 messages from each producer"
        return 1
    fi
    echo "1 passed, 0 failed (numpy read every message of the Windows demo's archives: $counts)"
}

if [ "${SEQRING_WINDOWS_TESTS:-subset}" = all ]; then
    cargo test --workspace --exclude seqring-loom --release --target "$target" --lib --bins --tests "$@"
    numpy_reads_windows_archives
    bash tests/windows_wheel.sh
    exit
fi
cargo test --release --target "$target" \
    -p seqring-platform -p seqring -p seqring-state -p seqring-mapped --lib \
    -p seqring-tests --test shared_array_processes --test shared_array_wait --test logger_tail --test logger_crash --test logger_schema --test state_tracker \
    --test region_tools \
    -p seqring-cli --test ops_cli --test state_cli \
    "$@"
cargo test --release --target "$target" -p seqring-tests --test logger_e2e "$@" -- threads_and_processes
numpy_reads_windows_archives
# The Python package's abi3 wheel for Windows, built by maturin and inspected (not imported: see its header).
bash tests/windows_wheel.sh
