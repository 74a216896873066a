# Zip variants of the npz_reader seed corpus, made from its `valid` seed (issue 24): python3 fuzz/gen_npz_seeds.py fuzz/corpus/npz_reader
import struct, sys, os
d = sys.argv[1]
v = open(os.path.join(d, 'valid'), 'rb').read()
e = v.rfind(b'PK\x05\x06')
(sig, disk, cdd, on, tot, size, off, clen) = struct.unpack('<IHHHHIIH', v[e:e+22])
body = v[:e]
# 1. ZIP64 end record + locator, with the classic record saturated
z64_at = len(body)
z64 = struct.pack('<IQHHIIQQQQ', 0x06064b50, 44, 45, 45, 0, 0, tot, tot, size, off)
loc = struct.pack('<IIQI', 0x07064b50, 0, z64_at, 1)
eocd = struct.pack('<IHHHHIIH', 0x06054b50, 0, 0, 0xFFFF, 0xFFFF, 0xFFFFFFFF, 0xFFFFFFFF, 0)
open(os.path.join(d, 'zip64_end_records'), 'wb').write(body + z64 + loc + eocd)
# 2. the same with a locator that points past the file
loc_bad = struct.pack('<IIQI', 0x07064b50, 0, 1 << 40, 1)
open(os.path.join(d, 'zip64_locator_outside'), 'wb').write(body + z64 + loc_bad + eocd)
# 3. an end record with a comment
com = b'assembled by a test'
eocd_c = v[e:e+20] + struct.pack('<H', len(com)) + com
open(os.path.join(d, 'end_record_comment'), 'wb').write(body + eocd_c)
# 4. a count beyond what the directory can hold
eocd_n = struct.pack('<IHHHHIIH', 0x06054b50, 0, 0, 0x7FFF, 0x7FFF, size, off, 0)
open(os.path.join(d, 'count_beyond_directory'), 'wb').write(body + eocd_n)
# 5. the first central header's offset saturated, with its ZIP64 extra field
c = off
n, m, k = struct.unpack('<HHH', v[c+28:c+34])
hdr = bytearray(v[c:c+46])
local_off = struct.unpack('<I', hdr[42:46])[0]
hdr[42:46] = b'\xff\xff\xff\xff'
extra = struct.pack('<HHQ', 1, 8, local_off)
hdr[30:32] = struct.pack('<H', m + len(extra))
first = bytes(hdr) + v[c+46:c+46+n] + v[c+46+n:c+46+n+m] + extra + v[c+46+n+m:c+46+n+m+k]
rest = v[c+46+n+m+k:off+size]
cd = first + rest
eocd2 = struct.pack('<IHHHHIIH', 0x06054b50, 0, 0, tot, tot, len(cd), off, 0)
open(os.path.join(d, 'zip64_extra_offset'), 'wb').write(v[:off] + cd + eocd2)
# 6. the same, the ZIP64 extra field missing
hdr2 = bytearray(v[c:c+46]); hdr2[42:46] = b'\xff\xff\xff\xff'
cd3 = bytes(hdr2) + v[c+46:off+size]
open(os.path.join(d, 'zip64_extra_missing'), 'wb').write(v[:off] + cd3 + v[e:])
# 7. deflated members (issue 23): the `valid` archive's members rewritten deflated, as numpy's savez_compressed writes
# them (zipfile, ZIP_DEFLATED, force_zip64), every other one deflated, and corrupt variants of the deflated one
import io, zipfile
def rewrite(methods):
    src = zipfile.ZipFile(io.BytesIO(v))
    out = io.BytesIO()
    with zipfile.ZipFile(out, 'w', allowZip64=True) as zf:
        for i, info in enumerate(src.infolist()):
            new = zipfile.ZipInfo(info.filename, date_time=(1980, 1, 1, 0, 0, 0))
            new.compress_type = methods(i)
            with zf.open(new, 'w', force_zip64=True) as f:
                f.write(src.read(info))
    return out.getvalue()
deflated = rewrite(lambda i: zipfile.ZIP_DEFLATED)
open(os.path.join(d, 'deflated_savez_compressed'), 'wb').write(deflated)
open(os.path.join(d, 'deflated_mixed'), 'wb').write(rewrite(lambda i: zipfile.ZIP_DEFLATED if i % 2 else zipfile.ZIP_STORED))
c1 = [i for i in range(len(deflated)) if deflated[i:i+4] == b'PK\x01\x02'][1]
l1 = struct.unpack('<I', deflated[c1+42:c1+46])[0]
n1, m1 = struct.unpack('<HH', deflated[l1+26:l1+30])
at = l1 + 30 + n1 + m1
bad = bytearray(deflated); bad[c1+16] ^= 0x40
open(os.path.join(d, 'deflated_bad_crc'), 'wb').write(bytes(bad))
bad = bytearray(deflated); bad[at] = 0x07
open(os.path.join(d, 'deflated_bad_stream'), 'wb').write(bytes(bad))
bad = bytearray(deflated); bad[c1+24:c1+28] = struct.pack('<I', struct.unpack('<I', deflated[c1+24:c1+28])[0] + 1)
open(os.path.join(d, 'deflated_size_differs'), 'wb').write(bytes(bad))
