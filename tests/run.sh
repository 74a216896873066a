#!/usr/bin/env bash
# Every test of seqring, as the README's test command: bash tests/run.sh (from anywhere).
#
# What it runs, in order, with the times of one run on a 2-vCPU VM shared with other builds (issue 25; a first run
# on a fresh clone compiles more in steps 2-5):
#   1. a Python virtual environment in .venv/ (git-ignored; the machine's Python is left alone) with the packages
#      the interop tests use (.ci/requirements.txt)                                        16 s
#   2. the workspace tests: unit, integration, cross-process, CLI, doctests              4.7 min
#   3. the loom models (one of them alone takes ~4 min; cargo then prints "has been running for over 60 seconds")
#                                                                                         5.7 min
#   4. the fuzz-corpus replay, most of it compiling the fuzz crate                         4.2 min
#   5. the Python package (python/, compiled by maturin into .venv) and its pytest suite (75 s), some of its tests
#      beside the real ataraxis 7.2.0 in .ataraxis-venv/ (git-ignored)                       5.8 min
#   6. ataraxis-data-structures 7.2.0's own test suite against seqring.compat (sdist from PyPI)  ~1 min
#   7. the Windows build's tests under wine (tests/windows.sh: mingw-w64 cross build, every test of the
#      workspace; it lists what it leaves out and why), then the Python package's Windows wheel, built, imported by
#      a Windows CPython under wine, which runs most of the pytest suite              3 min warm, ~8 min cold
# about 15-30 minutes in all (15 in one idle run with the packages downloaded), and ends with one closing line over all of them: tests: N passed, N failed, N skipped.
#
# Tests write their temporary files (temporary directories, benchmark archives, lock files) under one scratch
# directory of this run, which is removed when the run ends, passed or failed.
set -euo pipefail
cd "$(dirname "$0")/.."
export CARGO_TERM_COLOR=${CARGO_TERM_COLOR:-never}

scratch=$(mktemp -d "${TMPDIR:-/tmp}/seqring-tests.XXXXXX")
trap 'rm -rf "$scratch"' EXIT
results="$scratch/results"
: >"$results"
mkdir -p "$scratch/tmp"
export TMPDIR="$scratch/tmp"

steps=7
n=0
step_start=0
# Announces step N: what runs and roughly how long it takes; reports the previous step's time.
step() {
    finish_step
    n=$((n + 1))
    step_start=$SECONDS
    printf '\n=== %d/%d %s [usually %s] (started %s UTC)\n' "$n" "$steps" "$1" "$2" "$(date -u +%H:%M:%S)"
}
finish_step() {
    if [ "$n" -gt 0 ]; then
        printf '=== %d/%d done in %d s\n' "$n" "$steps" "$((SECONDS - step_start))"
    fi
}
# Runs a test command, keeping its output for the closing summary (pipefail keeps its exit status).
tests() { "$@" 2>&1 | tee -a "$results"; }

step "Python environment in .venv with numpy, pytest, maturin, ..." "under 1 min the first time, seconds after"
test -d ../shared/fixtures/ataraxis-7.2.0 || {
    echo "tests/run.sh: ../shared/fixtures (the ataraxis fixtures) must sit beside the checkout"
    exit 1
}
if [ ! -x .venv/bin/python ]; then
    python3 -m venv .venv || {
        echo "tests/run.sh: python3 -m venv failed; install Python's venv module (Debian/Ubuntu: apt-get install python3-venv)"
        exit 1
    }
fi
.venv/bin/python -m pip install --quiet --disable-pip-version-check -r .ci/requirements.txt
# The tests call `python3`: from here on that is the environment's.
export VIRTUAL_ENV="$PWD/.venv"
export PATH="$VIRTUAL_ENV/bin:$PATH"
echo "python3 is $(command -v python3) ($(python3 --version))"

step "workspace tests (cargo test --workspace --release)" "5-9 min, much of it compiling"
tests cargo test --workspace --release

step "loom models (cargo test -p seqring-loom)" "~6 min; one model alone runs ~4 min"
RUSTFLAGS="--cfg loom" LOOM_MAX_PREEMPTIONS=2 tests cargo test -p seqring-loom --release --target-dir target/loom

step "fuzz corpus replay" "2-4 min, most of it compiling"
tests cargo test --release --manifest-path fuzz/Cargo.toml --target-dir target

step "Python package (pip install ./python: maturin compiles it, 2-5 min) and its pytest suite (~75 s)" "4-6 min"
# maturin comes from .ci/requirements.txt, so the build needs no isolated environment of its own.
python3 -m pip install --quiet --disable-pip-version-check --no-build-isolation ./python
# The real ataraxis-data-structures 7.2.0 in its own virtual environment, which python/tests/test_compat_behaviour.py
# runs each behaviour scenario against beside seqring.compat.
test -x .ataraxis-venv/bin/python || bash ../shared/reference/ataraxis-env/setup.sh .ataraxis-venv
# pytest's own summary line ("N passed in T s") is kept for the closing line.
tests python3 -m pytest -q -p no:cacheprovider python/tests

step "ataraxis-data-structures 7.2.0's own test suite against seqring.compat" "about 1 min"
# Downloads the sdist from PyPI, points its imports at seqring.compat, and runs it with the listed exclusions.
tests python3 python/tests/ataraxis_suite/run.py

step "Windows: every test of the workspace built for x86_64-pc-windows-gnu, run under wine; the wheel in a Windows CPython" "3-8 min"
# Installs mingw-w64 and wine if missing (as root), makes its own wine prefix in target/, and lists what it skips.
tests bash tests/windows.sh
finish_step

# One closing line over every `test result:` line above and pytest's summary.
awk '/^test result:/ { p += $4; f += $6; s += $8 }
     /^[0-9]+ (passed|failed)/ || /^=* *[0-9]+ (passed|failed)/ {
         for (i = 1; i < NF; i++) {
             if ($(i + 1) ~ /^passed/) p += $i
             if ($(i + 1) ~ /^(failed|error)/) f += $i
             if ($(i + 1) ~ /^skipped/) s += $i
         }
     }
     END { printf "tests: %d passed, %d failed, %d skipped\n", p, f, s }' "$results"
