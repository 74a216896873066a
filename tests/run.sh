#!/usr/bin/env bash
# Every test of seqring, as the README's test command: installs the Python packages the interop tests use, then runs
# the workspace tests (unit, integration, cross-process, CLI, doctests), the loom models, the fuzz-corpus replay, the
# Python package's pytest suite and ataraxis-data-structures 7.2.0's own suite against seqring.compat
# (python/tests/ataraxis_suite/run.py), and ends with one closing line over all of them. Run from anywhere: bash tests/run.sh
set -euo pipefail
cd "$(dirname "$0")/.."
export CARGO_TERM_COLOR=${CARGO_TERM_COLOR:-never}

step() { printf '\n=== %s (%s)\n' "$1" "$(date -u +%H:%M:%S)"; }
results=$(mktemp)
trap 'rm -f "$results"' EXIT
# Runs a test command, keeping its output for the closing summary (pipefail keeps its exit status).
tests() { "$@" 2>&1 | tee -a "$results"; }

step "python packages for the interop tests"
python3 -m pip install --quiet --disable-pip-version-check -r .ci/requirements.txt
test -d ../shared/fixtures/ataraxis-7.2.0 || { echo "../shared/fixtures (the ataraxis fixtures) must sit beside the checkout"; exit 1; }

step "workspace tests"
tests cargo test --workspace --release

step "loom models"
RUSTFLAGS="--cfg loom" LOOM_MAX_PREEMPTIONS=2 tests cargo test -p seqring-loom --release --target-dir target/loom

step "fuzz corpus replay"
tests cargo test --release --manifest-path fuzz/Cargo.toml --target-dir target

step "python package (python/: built by maturin) and its pytest suite"
python3 -m pip install --quiet --disable-pip-version-check --root-user-action=ignore ./python
# The real ataraxis-data-structures 7.2.0 in its own virtual environment, which python/tests/test_compat_behaviour.py
# runs each behaviour scenario against beside seqring.compat.
test -x .ataraxis-venv/bin/python || bash ../shared/reference/ataraxis-env/setup.sh .ataraxis-venv
# pytest's own summary line ("N passed in T s") is kept for the closing line.
tests python3 -m pytest -q -p no:cacheprovider python/tests

step "ataraxis-data-structures 7.2.0's own test suite against seqring.compat"
# Downloads the sdist from PyPI, points its imports at seqring.compat, and runs it with the listed exclusions.
tests python3 python/tests/ataraxis_suite/run.py

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
