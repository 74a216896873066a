"""directory_checksum: the checksum ataraxis 7.2.0 computed for its fixture tree, and an independent Python
implementation (the `xxhash` package) of ataraxis's algorithm on other trees."""

import os
import shutil
import stat

import pytest
import xxhash

import seqring
from seqring import directory_checksum


def python_checksum(root, excluded=frozenset({"ax_checksum.txt"})):
    """ataraxis's calculate_directory_checksum, written from its description: per file (sorted by relative path,
    '/'-separated) the xxh3-128 digest of the path bytes then the contents; the result is xxh3-128 over each path's
    bytes then its 16-byte big-endian digest, as 32 hex digits."""
    files = []
    for dirpath, _, names in os.walk(root):
        for name in names:
            if name not in excluded:
                full = os.path.join(dirpath, name)
                files.append((os.path.relpath(full, root).replace(os.sep, "/").encode(), full))
    total = xxhash.xxh3_128()
    for rel, full in sorted(files):
        with open(full, "rb") as f:
            digest = xxhash.xxh3_128(rel + f.read()).intdigest()
        total.update(rel + digest.to_bytes(16, "big"))
    return total.hexdigest()


def writable_copy(src, dst):
    shutil.copytree(src, dst)
    for dirpath, dirs, files in os.walk(dst):
        for name in dirs + files:
            p = os.path.join(dirpath, name)
            os.chmod(p, os.stat(p).st_mode | stat.S_IWUSR)
    os.chmod(dst, os.stat(dst).st_mode | stat.S_IWUSR)
    return dst


def test_matches_what_ataraxis_computed(fixtures):
    tree = fixtures / "checksum_tree"
    expected = (fixtures / "checksum_expected.txt").read_text().strip()
    assert (tree / "ax_checksum.txt").read_text().strip() == expected
    assert python_checksum(tree) == expected, "the independent implementation reproduces ataraxis"
    for workers in (None, 1, 2):
        assert directory_checksum(tree, workers=workers, save=False) == expected


def test_saves_like_ataraxis(fixtures, tmp_path):
    tree = writable_copy(fixtures / "checksum_tree", tmp_path / "tree")
    (tree / "ax_checksum.txt").unlink()
    (tree / "empty_dir").mkdir()  # ataraxis's tree had one; it contributes nothing
    expected = (fixtures / "checksum_expected.txt").read_text().strip()
    assert directory_checksum(str(tree)) == expected
    assert (tree / "ax_checksum.txt").read_text() == expected, "saved without a newline"
    assert directory_checksum(tree) == expected, "the saved file is excluded from the next checksum"


def test_random_trees_match_the_python_implementation(tmp_path):
    rng = __import__("random").Random(12)
    tree = tmp_path / "tree"
    names = ["a.bin", "b", "Z.dat", "ü ñ.txt", "x.y.z", "ax_checksum.txt"]
    for d in ["", "sub", "sub/deeper", "sub2", "sub/ü"]:
        (tree / d).mkdir(parents=True, exist_ok=True)
        for name in rng.sample(names, 3):
            (tree / d / name).write_bytes(rng.randbytes(rng.choice([0, 1, 100, 70_000])))
    expected = python_checksum(tree)
    assert directory_checksum(tree, save=False, workers=1) == expected
    assert directory_checksum(tree, save=False, workers=2) == expected
    # excluded_files replaces the default set (as ataraxis's does).
    for excluded in ({"a.bin", "ax_checksum.txt"}, ["b"], ()):
        assert directory_checksum(tree, save=False, excluded_files=excluded) == python_checksum(tree, set(excluded))
    # One changed byte anywhere changes it.
    victim = next(p for p in sorted(tree.rglob("*")) if p.is_file() and p.stat().st_size > 0
                  and p.name != "ax_checksum.txt")
    data = bytearray(victim.read_bytes())
    data[-1] ^= 1
    victim.write_bytes(bytes(data))
    assert directory_checksum(tree, save=False) == python_checksum(tree) != expected


def test_bad_input(tmp_path):
    with pytest.raises(seqring.NotFoundError):
        directory_checksum(tmp_path / "missing")
    (tmp_path / "empty" / "dir").mkdir(parents=True)
    with pytest.raises(seqring.SeqringError) as e:
        directory_checksum(tmp_path / "empty")
    assert "no file" in str(e.value)
    (tmp_path / "one").mkdir()
    (tmp_path / "one" / "f").write_bytes(b"x")
    with pytest.raises(TypeError):
        directory_checksum(tmp_path / "one", excluded_files="f")
    with pytest.raises(TypeError):
        directory_checksum(tmp_path / "one", save=False, excluded_files=[1])
