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
# What runs: the test targets below, in release mode like the Linux step. Within budget (<= 8 min on 2 shared
# cores, most of it compiling) this is a chosen subset of the workspace, the cross-process heart of what issue 22
# asks of Windows:
#   seqring-platform (unit)    regions, names, locks, liveness, atomic replace on Windows itself
#   shared_array_processes     a writer and reader processes on one SharedArray, no torn read; a writer
#                              terminated (TerminateProcess) mid-write is reported stalled
#   logger_processes           several producer processes through one DataLogger, every record back
#   logger_crash               a producer terminated between claim and commit is one abandoned record;
#                              a terminated logger is recovered and its ring taken over
#   state_tracker              the tracker shared by several processes with no lost update
#   shm_cli                    `seqring shm list` shows the regions with their pids (the CLI, a real process)
#   demo_cli                   `seqring demo` end to end
# Tests that cannot apply on Windows are cfg'd out or ignored in the source, with the reason, and listed here:
#   - logger_crash a_full_disk_fails_stop_with_exact_counts: fakes a full disk with RLIMIT_FSIZE (no Windows
#     equivalent);
#   - Unix-only unit tests: symbolic-link walks (Windows needs a privilege to make links), inode and file-mode
#     checks, st_blocks after preallocation, a map of a replaced file keeping the old bytes (Windows refuses to
#     replace a mapped file);
#   - tests that run python3 (numpy interop): no Windows Python in the wine prefix; listed by `grep -rn
#     'cfg_attr(windows, ignore' tests adapters`.
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
"${wine%64}server" -p 2>/dev/null || wineserver -p 2>/dev/null || true
trap '"${wine%64}server" -k 2>/dev/null || wineserver -k 2>/dev/null || true' EXIT

cargo test --release --target "$target" \
    -p seqring-platform --lib \
    -p seqring-tests --test shared_array_processes --test logger_processes --test logger_crash --test state_tracker \
    -p seqring-cli --test shm_cli --test demo_cli \
    "$@"
