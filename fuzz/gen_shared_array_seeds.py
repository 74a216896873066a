#!/usr/bin/env python3
"""Writes the seed corpus of the shared_array_open target from the seqlock array layout in docs/FORMATS.md.

Reuses the region builders of gen_core_seeds.py (documented offsets, independent of the Rust code). Run from the
repository root: python3 fuzz/gen_shared_array_seeds.py
"""
import importlib.util
import os
import struct

spec = importlib.util.spec_from_file_location(
    "core_seeds_layout", os.path.join(os.path.dirname(os.path.abspath(__file__)), "gen_core_seeds.py")
)
# The core generator writes its own corpora when loaded; that is harmless (it rewrites the same files).
core = importlib.util.module_from_spec(spec)
spec.loader.exec_module(core)

T = "shared_array_open"


def written(region, version=1, nbytes=None, dtype=12, shape=(8,), data=b"", time_ns=1_700_000_000_000_000_000):
    """An array region after `version` completed writes: even sequence, protected block and data set."""
    b = bytearray(region)
    struct.pack_into("<Q", b, 192, 2 * version)
    dims = list(shape) + [0] * (8 - len(shape))
    n = nbytes if nbytes is not None else len(data)
    struct.pack_into("<QQ8QQQQQ", b, 320, dtype, len(shape), *dims, time_ns, (4242 << 32) | 1, 0, n)
    b[448:448 + len(data)] = data
    return bytes(b)


f64s = struct.pack("<8d", *[1.5 * i for i in range(8)])
ready = core.array_region()
core.write(T, "f64x8_fresh", ready)
core.write(T, "f64x8_written", written(ready, data=f64s, nbytes=64))
core.write(T, "u16_2x3_reshaped", written(core.array_region(dtype=7, shape=(4,), capacity=16), dtype=7, shape=(2, 3), data=bytes(range(12)), nbytes=12))
core.write(T, "stalled", written(ready, data=f64s, nbytes=64)[:192] + struct.pack("<Q", 9) + written(ready, data=f64s)[200:])
core.write(T, "shape_past_capacity", written(ready, shape=(9,), nbytes=72))
core.write(T, "nbytes_disagrees", written(ready, nbytes=8))
core.write(T, "bad_dtype", written(ready, dtype=99, nbytes=64))
core.write(T, "ndim_9", written(ready)[:328] + struct.pack("<Q", 9) + written(ready)[336:])
core.write(T, "ring_kind", core.ring_region())
core.write(T, "truncated", ready[:300])
core.write(T, "garbage", bytes((i * 37 + 11) % 256 for i in range(600)))
core.write(T, "empty", b"")


def record_region(descr, itemsize, shape=(2,), capacity=None, data=b"", descr_len=None, data_at=None):
    """A record array (dtype word 15 | itemsize << 32) with its descriptor at 448 (length) and 456 (text), the data at
    the next 64-byte boundary (docs/FORMATS.md), written once (version 1) with `data`."""
    text = descr.encode("latin-1")
    at = data_at if data_at is not None else (456 + len(text) + 63) // 64 * 64
    count = 1
    for d in shape:
        count *= d
    nbytes = count * itemsize
    capacity = capacity if capacity is not None else (nbytes + 7) // 8 * 8
    b = bytearray(at + capacity)
    b[0:64] = core.header(1, len(b))
    word = 15 | itemsize << 32
    dims = list(shape) + [0] * (8 - len(shape))
    struct.pack_into("<QQ8QQQ", b, 64, word, len(shape), *dims, capacity, at)
    struct.pack_into("<Q", b, 192, 2)
    struct.pack_into("<QQ8QQQQQ", b, 320, word, len(shape), *dims, 1, (4242 << 32) | 1, 0, nbytes)
    struct.pack_into("<Q", b, 448, len(text) if descr_len is None else descr_len)
    b[456:456 + len(text)] = text
    b[at:at + len(data)] = data
    return bytes(b)


U8 = "<U8"
core.write(T, "record_u8x2", record_region(U8, 32, data="hello".encode("utf-32-le").ljust(32, b"\0") + "wörld".encode("utf-32-le").ljust(32, b"\0")))
NESTED = "[('id', '>u4'), ('pos', '<f8', (2,)), ('meta', [('name', '<U2'), ('ok', '|b1'), ('pad', '|V3')])]"
core.write(T, "record_nested", record_region(NESTED, 32, shape=(3,), data=bytes(range(96))))
core.write(T, "record_descr_not_ascii", record_region("<U\xe98", 32))
core.write(T, "record_descr_too_long", record_region(U8, 32, descr_len=1 << 20))
core.write(T, "record_descr_missing", record_region(U8, 32, descr_len=0))
core.write(T, "record_data_misplaced", record_region(U8, 32, data_at=448 + 128))
core.write(T, "record_size_zero", record_region(U8, 0, shape=(2,), capacity=64))
