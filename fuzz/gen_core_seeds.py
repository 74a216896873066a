#!/usr/bin/env python3
"""Writes the seed corpora of the core targets (region_header, ring_consumer) from the layouts in docs/FORMATS.md.

Independent of the Rust code on purpose: if the documented offsets drift from the implementation, the seeds stop
reaching the deep paths. Run from the repository root: python3 fuzz/gen_core_seeds.py
"""
import os
import struct

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "corpus")
MAGIC = b"SEQRING\0"


def header(kind, length, state=1, version=1):
    return MAGIC + struct.pack("<IIQQQQ", version, kind, length, state, 4242, 1_700_000_000_000_000_000) + bytes(16)


def array_region(dtype=12, shape=(8,), capacity=64):
    b = bytearray(448 + capacity)
    b[0:64] = header(1, len(b))
    dims = list(shape) + [0] * (8 - len(shape))
    struct.pack_into("<QQ8QQQ", b, 64, dtype, len(shape), *dims, capacity, 448)
    struct.pack_into("<QQ8Q", b, 320, dtype, len(shape), *dims)
    return bytes(b)


def record(source, ts, payload, length=None, kind=1):
    n = 16 + len(payload)
    body = struct.pack("<iBBHQ", n if length is None else length, kind, source, 0, ts) + payload
    return body + bytes(-len(body) % 8)


def ring_region(capacity=256, mode=2, max_record=None, head=0, tail=None, data=b""):
    b = bytearray(768 + capacity)
    b[0:64] = header(2, len(b))
    struct.pack_into("<QQQQ", b, 64, capacity, max_record or capacity // 4, mode, 768)
    struct.pack_into("<Q", b, 128, head)
    struct.pack_into("<Q", b, 256, len(data) if tail is None else tail)
    b[768:768 + len(data)] = data
    return bytes(b)


def write(target, name, data):
    os.makedirs(os.path.join(ROOT, target), exist_ok=True)
    with open(os.path.join(ROOT, target, name), "wb") as f:
        f.write(data)


# region_header: valid regions of both kinds and each way a header can be wrong.
write("region_header", "array_ready", array_region())
write("region_header", "ring_ready", ring_region())
write("region_header", "initialising", bytes(64))
write("region_header", "truncated", array_region()[:40])
write("region_header", "foreign", b"NOTOURS!" + array_region()[8:])
write("region_header", "version_2", header(1, 512, version=2) + bytes(448))
write("region_header", "length_mismatch", header(2, 4096) + bytes(960))
write("region_header", "closed", header(1, 512, state=2) + bytes(448))
write("region_header", "bad_state", header(1, 512, state=77) + bytes(448))


def ring_seed(shape_byte, capacity, head=0, tail=None, data=b""):
    """The ring_consumer input: a shape byte, then bytes overlaid from the head word (offset 128) on."""
    region = ring_region(capacity=capacity, head=head, tail=tail, data=data)
    return bytes([shape_byte]) + region[128:]


# shape byte: capacity = 64 << (b % 7), bit 7 = SPSC, (b >> 3) % 3 picks the max record (default, 16, cap/2).
two = record(1, 5, b"hello") + record(2, 6, b"")
write("ring_consumer", "two_records", ring_seed(2, 256, data=two))
write("ring_consumer", "padding_then_record", ring_seed(2, 256, data=struct.pack("<iBBHQ", 24, 2, 0, 0, 0) + bytes(16) + record(3, 1, b"x" * 20)))
write("ring_consumer", "negative_claim", ring_seed(2, 256, data=record(1, 1, b"abc", length=-19) + record(1, 2, b"def")))
write("ring_consumer", "zero_claim", ring_seed(2, 256, tail=64, data=bytes(24) + record(1, 2, b"after")))
write("ring_consumer", "short_data_record", ring_seed(2, 256, data=record(1, 1, b"", length=8)))
write("ring_consumer", "huge_length", ring_seed(2, 256, data=struct.pack("<iBBHQ", 0x7FFFFFF8, 1, 0, 0, 0)))
write("ring_consumer", "bad_kind", ring_seed(2, 256, data=record(1, 1, b"zz", kind=7)))
write("ring_consumer", "head_past_tail", ring_seed(2, 256, head=4096, tail=8, data=two))
write("ring_consumer", "spsc_wrapped", ring_seed(0x80 | 2, 256, head=1 << 40, tail=(1 << 40) + 48, data=two))
write("ring_consumer", "empty", bytes([0]))
