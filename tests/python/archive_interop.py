#!/usr/bin/env python3
"""numpy side of seqring's archive interop tests.

Commands:
  check ARCHIVE VIEW_JSON   np.load the archive and check that every array equals what seqring's LogArchive
                            returned (VIEW_JSON: {"source_id", "onset_us", "messages": [[key, source, elapsed,
                            payload_hex], ...]}): the onset entry first, then the messages, in order.
  resave ARCHIVE...         load every array of each archive with numpy and save them again with np.savez; the
                            output must be byte-identical to the archive (this is what ataraxis does).
  savez OUT_NPZ ENTRY...    write an archive from .npy entry files the way ataraxis assembles one (np.savez of the
                            loaded arrays, keyed by file stem, in the given order).
  compress IN OUT [mixed]   write every array of archive IN, in order, to OUT with np.savez_compressed (deflated
                            members); with "mixed", with zipfile instead, every other member stored, the rest
                            deflated.
  same A B                  np.load both archives: the same keys in the same order and equal arrays (same dtype and
                            shape); prints how many members of each are deflated.
"""
import io
import json
import os
import sys
import tempfile
import zipfile

import numpy as np


def check(archive, view_path):
    view = json.load(open(view_path))
    source, onset = view["source_id"], view["onset_us"]
    with np.load(archive, allow_pickle=False) as npz:
        files = list(npz.files)
        assert len(files) == len(view["messages"]) + 1, (len(files), len(view["messages"]))
        onset_array = npz[files[0]]
        assert onset_array.dtype == np.uint8 and onset_array.ndim == 1, onset_array.dtype
        assert onset_array[0] == source
        assert onset_array[1:9].view(np.uint64)[0] == 0
        assert onset_array[9:].view(np.uint64)[0] == onset, "onset differs"
        for key, (vkey, vsource, elapsed, payload_hex) in zip(files[1:], view["messages"]):
            assert key == vkey, (key, vkey)
            array = npz[key]
            assert array.dtype == np.uint8 and array.ndim == 1, (key, array.dtype, array.shape)
            assert array[0] == vsource == source, (key, array[0], vsource)
            assert array[1:9].view(np.uint64)[0] == elapsed, (key, elapsed)
            assert array[9:].tobytes() == bytes.fromhex(payload_hex), key
    print(f"ok {len(files)} entries")


def savez_bytes(arrays):
    buffer = io.BytesIO()
    np.savez(buffer, allow_pickle=False, **arrays)
    return buffer.getvalue()


def resave(archives):
    for archive in archives:
        # np.load's NpzFile looks each key up in a list (quadratic for 65k+ entries); zipfile + read_array is what
        # it does per entry, without that.
        with zipfile.ZipFile(archive) as zf:
            arrays = {}
            for info in zf.infolist():
                with zf.open(info) as f:
                    arrays[info.filename[: -len(".npy")]] = np.lib.format.read_array(f, allow_pickle=False)
        with tempfile.TemporaryDirectory() as tmp:
            out = os.path.join(tmp, "resaved.npz")
            np.savez(out, allow_pickle=False, **arrays)
            resaved = open(out, "rb").read()
        original = open(archive, "rb").read()
        if resaved != original:
            first = next((i for i, (a, b) in enumerate(zip(resaved, original)) if a != b), min(len(resaved), len(original)))
            sys.exit(f"{archive}: numpy's re-save differs at byte {first} ({len(original)} vs {len(resaved)} bytes)")
        print(f"identical {archive} {len(arrays)} entries")


def savez(out, entries):
    arrays = {os.path.basename(e)[: -len(".npy")]: np.load(e, allow_pickle=False) for e in entries}
    np.savez(out, allow_pickle=False, **arrays)
    print(f"wrote {out} {len(arrays)} entries")


def load_in_order(archive):
    with zipfile.ZipFile(archive) as zf:
        arrays = {}
        for info in zf.infolist():
            with zf.open(info) as f:
                arrays[info.filename[: -len(".npy")]] = np.lib.format.read_array(f, allow_pickle=False)
    return arrays


def compress(src, out, mode=None):
    arrays = load_in_order(src)
    if mode is None:
        np.savez_compressed(out, allow_pickle=False, **arrays)
    elif mode == "mixed":
        with zipfile.ZipFile(out, mode="w", allowZip64=True) as zf:
            for i, (key, array) in enumerate(arrays.items()):
                info = zipfile.ZipInfo(key + ".npy", date_time=(1980, 1, 1, 0, 0, 0))
                info.compress_type = zipfile.ZIP_STORED if i % 2 == 0 else zipfile.ZIP_DEFLATED
                with zf.open(info, "w", force_zip64=True) as f:
                    np.lib.format.write_array(f, array, allow_pickle=False)
    else:
        sys.exit(f"unknown mode {mode}")
    with zipfile.ZipFile(out) as zf:
        deflated = sum(i.compress_type == zipfile.ZIP_DEFLATED for i in zf.infolist())
    print(f"wrote {out} {len(arrays)} entries, {deflated} deflated")


def same(a, b):
    arrays_a, arrays_b = load_in_order(a), load_in_order(b)
    assert list(arrays_a) == list(arrays_b), "keys differ"
    with np.load(a, allow_pickle=False) as na, np.load(b, allow_pickle=False) as nb:
        assert na.files == nb.files == list(arrays_a), "np.load lists other keys"
        # np.load itself on a sample (its per-key lookup is linear), zipfile + read_array on every member.
        for key in na.files[:: max(1, len(na.files) // 200)]:
            assert np.array_equal(na[key], nb[key]) and na[key].dtype == nb[key].dtype, key
    for key, x in arrays_a.items():
        y = arrays_b[key]
        assert x.dtype == y.dtype == np.uint8 and x.shape == y.shape and np.array_equal(x, y), key
    counts = []
    for archive in (a, b):
        with zipfile.ZipFile(archive) as zf:
            counts.append(sum(i.compress_type == zipfile.ZIP_DEFLATED for i in zf.infolist()))
    print(f"same {len(arrays_a)} entries; deflated {counts[0]} and {counts[1]}")


if __name__ == "__main__":
    command, args = sys.argv[1], sys.argv[2:]
    if command == "check":
        check(*args)
    elif command == "resave":
        resave(args)
    elif command == "savez":
        savez(args[0], args[1:])
    elif command == "compress":
        compress(*args)
    elif command == "same":
        same(*args)
    else:
        sys.exit(f"unknown command {command}")
