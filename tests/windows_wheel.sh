#!/usr/bin/env bash
# The Python package's Windows wheel (issue 22), cross-built with maturin for x86_64-pc-windows-gnu and checked:
# it holds the extension module `seqring/_seqring.pyd`, linked against the stable ABI's `python3.dll` (abi3, so one
# wheel serves CPython 3.10 and later), and every .py/.pyi/py.typed file of python/python/seqring.
# Called by tests/windows.sh (which has made sure mingw-w64 and the Rust target are there); runs alone too.
#
# No Windows interpreter imports it here: the package registries this project reaches (PyPI among them) carry no
# Windows CPython (the PyPI tools that install one, pbs-installer and portable-python, download it from elsewhere),
# so the wheel is built and inspected, not imported. Its Python code is checked for Windows on Linux instead
# (python/tests/test_portability.py: no unguarded POSIX-only call; the package run without them, with spawned
# child processes). pyo3 (0.30) links abi3 modules with raw-dylib, so no import library or Windows Python is needed
# to link (its former `generate-import-lib` feature is deprecated and not used).
set -euo pipefail
cd "$(dirname "$0")/.."
target=x86_64-pc-windows-gnu

maturin=$(command -v maturin || true)
[ -n "$maturin" ] || { [ -x .venv/bin/maturin ] && maturin=.venv/bin/maturin; }
if [ -z "$maturin" ]; then
    echo "tests/windows_wheel.sh: skipped: needs maturin (pip install -r .ci/requirements.txt, as tests/run.sh does)"
    exit 0
fi

out="${CARGO_TARGET_DIR:-$PWD/target}/wheels-windows"
rm -rf "$out"
# The workspace's target directory: the seqring crates built for the Windows tests are reused where they match.
CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$PWD/target}" \
    "$maturin" build --release --target "$target" --manifest-path python/Cargo.toml --out "$out" 2>&1 |
    grep -v '^ *Compiling ' || true
wheel=$(ls "$out"/seqring-*-cp310-abi3-win_amd64.whl 2>/dev/null || true)
if [ -z "$wheel" ]; then
    echo "windows wheel: FAILED: no seqring-*-cp310-abi3-win_amd64.whl in $out"
    exit 1
fi

python3 - "$wheel" python/python/seqring <<'EOF'
import pathlib, subprocess, sys, tempfile, zipfile

wheel, source = sys.argv[1], pathlib.Path(sys.argv[2])
names = set(zipfile.ZipFile(wheel).namelist())
want = {"seqring/" + p.relative_to(source).as_posix() for p in source.rglob("*")
        if p.is_file() and p.suffix in (".py", ".pyi", ".typed")}
problems = [f"missing {n}" for n in sorted(want - names)]
if "seqring/_seqring.pyd" not in names:
    problems.append("missing seqring/_seqring.pyd")
else:
    with tempfile.TemporaryDirectory() as tmp:
        pyd = zipfile.ZipFile(wheel).extract("seqring/_seqring.pyd", tmp)
        dump = subprocess.run(["x86_64-w64-mingw32-objdump", "-p", pyd], capture_output=True, text=True, check=True)
        dlls = sorted({line.split(":", 1)[1].strip() for line in dump.stdout.splitlines() if "DLL Name:" in line})
        pythons = [d for d in dlls if d.lower().startswith("python")]
        if pythons != ["python3.dll"]:
            problems.append(f"the module should link python3.dll only (abi3), links {pythons}")
print(f"windows wheel: {pathlib.Path(wheel).name}, {len(names)} files, {len(want)} package files and the .pyd")
if problems:
    print("windows wheel: FAILED:\n  " + "\n  ".join(problems))
    sys.exit(1)
print("1 passed, 0 failed (tests/windows_wheel.sh: the Windows wheel and what it holds)")
EOF
