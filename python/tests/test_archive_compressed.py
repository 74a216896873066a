"""Archives with deflated members: numpy's ``np.savez_compressed`` output read back exactly by
:class:`seqring.LogArchive`, ``assemble_log_archives(compress=...)`` output read back by numpy with the same arrays as
the stored output, corrupt deflate data refused with the typed error."""

import shutil
import zipfile

import numpy as np
import pytest

import seqring
from seqring import LogArchive, assemble_log_archives
from seqring.compat.archive import LogArchiveReader

ONSET = 1_700_000_000_000_000


def entry(source, elapsed, payload):
    return np.frombuffer(bytes([source]) + int(elapsed).to_bytes(8, "little") + bytes(payload), dtype=np.uint8)


def log_arrays(source=5, count=300, seed=3):
    """``{key: array}`` of one source's log archive: the onset, then ``count`` messages (random, repetitive, empty and
    a 200 KiB one), two sharing a timestamp."""
    rng = np.random.default_rng(seed)
    arrays = {f"{source:03d}_{0:020d}": entry(source, 0, ONSET.to_bytes(8, "little"))}
    for i in range(1, count + 1):
        payload = [rng.bytes(int(rng.integers(0, 100))), b"", b"camera frame %d" % i, bytes([i % 256]) * 64][i % 4]
        arrays[f"{source:03d}_{i * 10:020d}"] = entry(source, i * 10, payload)
    arrays[f"{source:03d}_{count * 10:020d}_1"] = entry(source, count * 10, b"a duplicate")
    arrays[f"{source:03d}_{10**9:020d}"] = entry(source, 10**9, rng.bytes(200 << 10))
    return arrays


def check_reads_back(path, arrays):
    archive = LogArchive(path)
    timestamps, payloads = archive.read_all()
    keys = list(arrays)
    assert archive.onset_us == ONSET and archive.source_id == arrays[keys[0]][0]
    assert archive.keys() == keys[1:]
    assert timestamps.tolist() == [ONSET + int(a[1:9].view("<u8")[0]) for a in list(arrays.values())[1:]]
    assert [p.tobytes() for p in payloads] == [a[9:].tobytes() for a in list(arrays.values())[1:]]
    assert all(p.base is archive and not p.flags.writeable for p in payloads)
    # The flat read: one buffer (the inflated copy) holds every payload.
    _, buffer, starts, ends = archive.read_flat()
    assert [buffer[s:e].tobytes() for s, e in zip(starts, ends)] == [p.tobytes() for p in payloads]
    assert [m.tobytes() for _, m in archive] == [p.tobytes() for p in payloads]
    return archive


def test_numpy_savez_compressed_archives_read_back_exactly(tmp_path):
    arrays = log_arrays()
    path = tmp_path / "5_log.npz"
    np.savez_compressed(path, **arrays)
    with zipfile.ZipFile(path) as zf:
        assert {i.compress_type for i in zf.infolist()} == {zipfile.ZIP_DEFLATED}
    check_reads_back(path, arrays)
    # ataraxis's reader API (seqring.compat) reads it too, as ataraxis itself does.
    reader = LogArchiveReader(path)
    assert reader.message_count == len(arrays) - 1 and int(reader.onset_timestamp_us) == ONSET
    timestamps, payloads = reader.read_all_messages()
    assert [p.tobytes() for p in payloads] == [a[9:].tobytes() for a in list(arrays.values())[1:]]


def test_a_mixed_archive_reads_back_exactly(tmp_path):
    arrays = log_arrays(source=9, count=50)
    path = tmp_path / "9_log.npz"
    with zipfile.ZipFile(path, "w") as zf:
        for i, (key, array) in enumerate(arrays.items()):
            info = zipfile.ZipInfo(key + ".npy")
            info.compress_type = zipfile.ZIP_DEFLATED if i % 3 else zipfile.ZIP_STORED
            with zf.open(info, "w", force_zip64=True) as f:
                np.lib.format.write_array(f, array)
    check_reads_back(path, arrays)


def test_corrupt_deflate_data_is_refused_naming_the_entry(tmp_path):
    arrays = log_arrays(count=3)
    path = tmp_path / "5_log.npz"
    np.savez_compressed(path, **arrays)
    with zipfile.ZipFile(path) as zf:
        info = zf.infolist()[1]
    data = bytearray(path.read_bytes())
    name_len, extra_len = np.frombuffer(bytes(data[info.header_offset + 26 : info.header_offset + 30]), "<u2")
    data[info.header_offset + 30 + name_len + extra_len] = 0x07  # a reserved deflate block type
    path.write_bytes(bytes(data))
    with pytest.raises(seqring.CorruptArchiveError) as e:
        LogArchive(path)
    assert info.filename in str(e.value) and "inflate" in str(e.value)


@pytest.mark.parametrize("compress", [True, 1, 9])
def test_assemble_compress_writes_deflated_archives_numpy_reads_as_the_stored_ones(tmp_path, compress):
    arrays = log_arrays(count=400)
    src = tmp_path / "src"
    src.mkdir()
    for key, array in arrays.items():
        np.save(src / f"{key}.npy", array)
    stored, deflated = tmp_path / "stored", tmp_path / "deflated"
    shutil.copytree(src, stored)
    shutil.copytree(src, deflated)
    assemble_log_archives(stored)
    report = assemble_log_archives(deflated, compress=compress, verify=True)
    a, b = stored / "5_log.npz", deflated / "5_log.npz"
    assert report["archives"][0]["bytes"] == b.stat().st_size < a.stat().st_size
    with zipfile.ZipFile(b) as zf:
        assert {i.compress_type for i in zf.infolist()} == {zipfile.ZIP_DEFLATED}
    with np.load(a) as na, np.load(b) as nb:
        assert na.files == nb.files == list(arrays)
        for key in na.files:
            np.testing.assert_array_equal(na[key], nb[key])
    check_reads_back(b, arrays)


def test_assemble_compress_refuses_a_bad_level(tmp_path):
    with pytest.raises(ValueError):
        assemble_log_archives(tmp_path, compress=10)
    with pytest.raises(TypeError):
        assemble_log_archives(tmp_path, compress="fast")
