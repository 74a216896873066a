"""seqring.tools (native processing tools and YAML files) and the native archive discovery, from Python."""

import math
import os
import shutil
from pathlib import Path

import numpy as np
import pytest
import yaml

import seqring
from seqring import errors, tools


# YAML ------------------------------------------------------------------------------------------------------------


TRICKY = ["yes", "No", "ON", "off", "y", "n", "~", "null", "Null", "true", "1:20", "1_000", "0x1F", "0o7", "2024-01-01",
          "12:30:00", "007", "1e3", ".5", "+1", "-", "", " lead", "trail ", "a: b", "a #b", "# c", "[x]", "{y}", "*a",
          "&b", "!t", "|", ">", "'q'", '"d"', "%p", "@r", "`s`", "line\nbreak", "tab\t", "\x01ctl", "é", "日本",
          "plain/path-ok_1.2"]


def test_yaml_dump_is_read_back_by_pyyaml_as_the_same_values(tmp_path):
    value = {
        "strings": TRICKY,
        "floats": [1e20, -1e-7, 0.1, 1.0, -0.0, 2.5e-300, 1.7976931348623157e308],
        "ints": [0, -1, 2**63 - 1, -(2**63), 2**64 - 1],
        "bools": [True, False],
        "none": None,
        "empty": {"list": [], "dict": {}},
        "nested": [[1, [2, {"k": [3]}]], {"a": {"b": None}}],
        7: "int key",
        "yes": "a key YAML 1.1 would read as True",
    }
    path = tmp_path / "sub" / "doc.yaml"  # the parent is created
    tools.yaml_dump(path, value)
    text = path.read_text(encoding="utf-8")
    assert text.startswith("---\n") and text.endswith("...\n")
    assert yaml.safe_load(text) == value  # PyYAML reads YAML 1.1: every tricky string must be quoted
    assert tools.yaml_load(path) == value  # and seqring's own reader (YAML 1.2) reads the same


def test_yaml_floats_keep_their_value(tmp_path):
    path = tmp_path / "f.yaml"
    tools.yaml_dump(path, [math.inf, -math.inf, math.nan])
    for loaded in (yaml.safe_load(path.read_text()), tools.yaml_load(path)):
        assert loaded[:2] == [math.inf, -math.inf] and math.isnan(loaded[2])


def test_yaml_refuses_what_has_no_yaml_form(tmp_path):
    with pytest.raises(errors.ConfigError) as e:
        tools.yaml_dump(tmp_path / "x.json", {})
    assert isinstance(e.value, ValueError) and "x.json" in str(e.value)
    with pytest.raises(TypeError, match="key path a.1"):
        tools.yaml_dump(tmp_path / "x.yaml", {"a": [1, object()]})
    with pytest.raises(OverflowError):
        tools.yaml_dump(tmp_path / "x.yaml", 2**64)
    with pytest.raises(TypeError):
        tools.yaml_dump(tmp_path / "x.yaml", {(1, 2): "tuple key"})
    assert not (tmp_path / "x.yaml").exists()  # refused before the file is touched


def test_yaml_load_errors_name_the_file_and_line(tmp_path):
    path = tmp_path / "bad.yml"
    path.write_text("a: 1\nb: [unclosed\n")
    with pytest.raises(errors.ConfigError, match="bad.yml") as e:
        tools.yaml_load(path)
    assert "line" in str(e.value)
    with pytest.raises(FileNotFoundError):
        tools.yaml_load(tmp_path / "absent.yaml")
    (tmp_path / "empty.yaml").write_text("")
    assert tools.yaml_load(tmp_path / "empty.yaml") is None


def test_yaml_dump_replaces_atomically(tmp_path):
    path = tmp_path / "doc.yaml"
    tools.yaml_dump(path, {"v": 1})
    tools.yaml_dump(path, {"v": 2})
    assert tools.yaml_load(path) == {"v": 2}
    assert sorted(p.name for p in tmp_path.iterdir()) == ["doc.yaml"]


# Writes, transfer, delete -----------------------------------------------------------------------------------------


def test_atomic_and_direct_write(tmp_path):
    tools.atomic_write(tmp_path / "a" / "b.bin", b"\x00\x01")
    tools.direct_write(tmp_path / "c" / "d.bin", b"\x02")
    assert (tmp_path / "a" / "b.bin").read_bytes() == b"\x00\x01"
    assert (tmp_path / "c" / "d.bin").read_bytes() == b"\x02"
    (tmp_path / "a" / "b.bin").chmod(0o600)
    tools.atomic_write(tmp_path / "a" / "b.bin", b"new")
    assert (tmp_path / "a" / "b.bin").stat().st_mode & 0o777 == 0o600  # seqring keeps a replaced file's bits


def _tree(root):
    (root / "sub" / "deeper").mkdir(parents=True)
    (root / "empty").mkdir()
    (root / "top.txt").write_text("top")
    for i in range(20):
        (root / "sub" / "deeper" / f"{i}.bin").write_bytes(bytes([i]) * (100 + i))


def test_transfer_directory_reports_what_it_did(tmp_path):
    src, dst = tmp_path / "src", tmp_path / "dst"
    _tree(src)
    report = tools.transfer_directory(src, dst, workers=2, verify=True)
    assert isinstance(report, tools.TransferReport)
    assert report.files == 22  # 21 files and the checksum saved into the source first
    assert report.bytes == sum(p.stat().st_size for p in src.rglob("*") if p.is_file())
    assert report.checksum == (src / "ax_checksum.txt").read_text() == seqring.directory_checksum(dst, save=False)
    assert (dst / "empty").is_dir() and not report.removed_source and report.cleared == []
    (dst / "stray.txt").write_text("x")
    with pytest.raises(errors.TransferError) as e:
        tools.transfer_directory(src, dst)
    assert isinstance(e.value, RuntimeError) and e.value.reason == "dirty_destination" and "stray.txt" in str(e.value)
    report = tools.transfer_directory(src, dst, reset_dirty_destination=True, remove_source=True)
    assert report.cleared == [dst / "stray.txt"] and report.removed_source and not src.exists()
    with pytest.raises(errors.NotFoundError):
        tools.transfer_directory(src, dst)
    with pytest.raises(errors.TransferError) as e:
        tools.transfer_directory(dst, dst / "inside")
    assert e.value.reason == "nested"


def test_transfer_detects_a_corrupted_copy(tmp_path):
    src, dst = tmp_path / "src", tmp_path / "dst"
    _tree(src)
    seqring.directory_checksum(src)  # saved into the source
    (src / "top.txt").write_text("changed after the checksum")  # the saved checksum no longer matches the data
    with pytest.raises(errors.TransferError) as e:
        tools.transfer_directory(src, dst, verify=True, remove_source=True)
    assert e.value.reason == "mismatch" and src.exists()  # the source is never removed after a failed check


def test_transfer_refuses_links_unless_allowed(tmp_path):
    src, dst = tmp_path / "src", tmp_path / "dst"
    _tree(src)
    (tmp_path / "outside.txt").write_text("outside")
    (src / "sub" / "link.txt").symlink_to(tmp_path / "outside.txt")
    with pytest.raises(errors.TransferError) as e:
        tools.transfer_directory(src, dst)
    assert e.value.reason == "links" and e.value.links == [Path("sub/link.txt")]
    assert not dst.exists()  # refused before anything is written
    (tmp_path / "via").symlink_to(src)
    with pytest.raises(errors.TransferError) as e:
        tools.transfer_directory(tmp_path / "via", dst)
    assert e.value.reason == "links" and e.value.links == []
    report = tools.transfer_directory(src, dst, allow_links=True)
    assert (dst / "sub" / "link.txt").read_text() == "outside" and not (dst / "sub" / "link.txt").is_symlink()
    assert report.files == sum(1 for p in src.rglob("*") if p.is_file())


def test_delete_directory(tmp_path):
    _tree(tmp_path / "t")
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "keep.txt").write_text("k")
    (tmp_path / "t" / "sub" / "link").symlink_to(outside)
    tools.delete_directory(tmp_path / "t")
    assert not (tmp_path / "t").exists() and (outside / "keep.txt").exists()
    tools.delete_directory(tmp_path / "never-existed")
    with pytest.raises(errors.NotAFolderError):
        tools.delete_directory(outside / "keep.txt")


# Markers, interpolation --------------------------------------------------------------------------------------------


def test_marker_discovery(tmp_path):
    for session in ("m1/s1/raw", "m1/s2/raw", "m2/s3/raw"):
        (tmp_path / session).mkdir(parents=True)
        (tmp_path / session / "marker.yaml").write_text("")
    assert tools.discover_marker_files(tmp_path, "marker.yaml") == [
        tmp_path / s / "marker.yaml" for s in ("m1/s1/raw", "m1/s2/raw", "m2/s3/raw")]
    assert tools.discover_marker_roots(tmp_path, "marker.yaml", 2) == [tmp_path / "m1", tmp_path / "m2"]
    index = tools.index_marker_files(tmp_path, ["marker.yaml", "none"], max_depth=3)
    assert index == {"marker.yaml": tools.discover_marker_files(tmp_path, "marker.yaml"), "none": []}
    assert tools.index_marker_files(tmp_path, ["marker.yaml"], max_depth=2) == {"marker.yaml": []}
    with pytest.raises(errors.InvalidOptionError):
        tools.discover_marker_roots(tmp_path, "marker.yaml", 100)
    with pytest.raises(errors.InvalidOptionError):
        tools.resolve_unique_roots([tmp_path / "a", tmp_path / "a"])
    with pytest.raises(FileNotFoundError):
        tools.discover_marker_files(tmp_path / "absent", "marker.yaml")


@pytest.mark.parametrize("dtype", [np.float64, np.int64, np.uint64])
def test_interpolate_matches_numpy(dtype):
    rng = np.random.default_rng(7)
    xs = np.sort(rng.integers(0, 1000, 50)).astype(dtype)
    ys = rng.normal(size=50)
    targets = rng.integers(0, 1100, 200).astype(dtype)
    linear = tools.interpolate(xs, ys, targets, discrete=False)
    np.testing.assert_array_equal(linear, np.interp(targets.astype(float), xs.astype(float), ys))
    indices = tools.interpolate(xs, ys, targets, discrete=True)
    expected = np.clip(np.searchsorted(xs, targets, side="right") - 1, 0, len(xs) - 1)
    np.testing.assert_array_equal(indices, expected)


def test_interpolate_refuses_bad_sources():
    with pytest.raises(errors.InterpolateError, match="not non-decreasing at index 2"):
        tools.interpolate(np.array([0.0, 2.0, 1.0]), np.zeros(3), np.zeros(1), discrete=False)
    with pytest.raises(errors.InterpolateError, match="empty"):
        tools.interpolate(np.array([], dtype=float), np.array([]), np.zeros(1), discrete=True)
    with pytest.raises(errors.InterpolateError, match="2 source coordinates but 3"):
        tools.interpolate(np.array([0.0, 1.0]), np.zeros(3), np.zeros(1), discrete=False)
    with pytest.raises(errors.InterpolateError, match="float32"):
        tools.interpolate(np.zeros(2, np.float32), np.zeros(2), np.zeros(1, np.float32), discrete=False)


# Archives ----------------------------------------------------------------------------------------------------------


def test_archive_discovery_and_batches(fixtures, tmp_path):
    archives = fixtures / "archives"
    found = seqring.discover_log_archives(archives)
    assert sorted(found) == sorted(int(p.name.split("_")[0]) for p in archives.glob("*_log.npz"))
    assert all(path.parent == archives for path in found.values())
    source = next(iter(found))
    assert seqring.find_log_archive(fixtures, source) == found[source]
    assert seqring.find_log_archives(fixtures, [source]) == {source: found[source]}
    archive = seqring.LogArchive(found[source])
    assert seqring.read_archive_message_count(found[source]) == archive.message_count
    batches = archive.batches(workers=3, multiplier=2)
    # Below 2000 messages: one batch of every message.
    assert batches == [range(0, archive.message_count)]
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    shutil.copy(found[source], tmp_path / "a")
    shutil.copy(found[source], tmp_path / "b")
    with pytest.raises(ValueError, match="2 archives"):
        seqring.find_log_archive(tmp_path, source)
    with pytest.raises(FileNotFoundError):
        seqring.find_log_archive(tmp_path, 255)
    with pytest.raises(FileNotFoundError):
        seqring.discover_log_archives(tmp_path / "absent")
    os.remove(tmp_path / "a" / found[source].name)
    assert seqring.find_log_archive(tmp_path, source) == tmp_path / "b" / found[source].name
