#!/usr/bin/env python3
# tests/lib/zf-token.py — writes a zfs receive_resume_token with chosen fields,
# as a hostile client could: the platform tests check that a server does not
# believe the name in a token (zfs resumes by guid).
#
# usage: zf-token.py TONAME TOGUID [FROMGUID]
#
# The token format is libzfs's: "1-<fletcher-4 word 0 of the compressed
# payload, hex>-<packed length, hex>-<zlib-compressed packed nvlist, hex>";
# the nvlist is packed in XDR (nvlist_unpack takes both encodings).
import struct
import sys
import zlib


def xdr_string(s):
    b = s.encode()
    return struct.pack(">I", len(b)) + b + b"\0" * ((4 - len(b) % 4) % 4)


def align8(n):
    return (n + 7) & ~7


def pair(name, kind, value):
    # kind: "u64" (DATA_TYPE_UINT64 = 8) or "str" (DATA_TYPE_STRING = 9)
    if kind == "u64":
        typ, data, vsize = 8, struct.pack(">Q", value), 8
    else:
        typ, data, vsize = 9, xdr_string(value), len(value.encode()) + 1
    rest = xdr_string(name) + struct.pack(">ii", typ, 1) + data
    encoded = 8 + len(rest)
    decoded = align8(16 + len(name) + 1) + align8(vsize)
    return struct.pack(">ii", encoded, decoded) + rest


def fletcher4_a(buf):
    a = 0
    for i in range(0, len(buf) - len(buf) % 4, 4):
        a = (a + struct.unpack_from("<I", buf, i)[0]) & 0xFFFFFFFFFFFFFFFF
    return a


def main():
    toname, toguid = sys.argv[1], int(sys.argv[2], 0)
    fromguid = int(sys.argv[3], 0) if len(sys.argv) > 3 else 0
    body = b"\x01\x01\x00\x00" + struct.pack(">iI", 0, 1)
    body += pair("object", "u64", 1) + pair("offset", "u64", 0) + pair("bytes", "u64", 0)
    if fromguid:
        body += pair("fromguid", "u64", fromguid)
    body += pair("toguid", "u64", toguid) + pair("toname", "str", toname)
    body += struct.pack(">ii", 0, 0)
    comp = zlib.compress(body)
    print("1-%x-%x-%s" % (fletcher4_a(comp), len(body), comp.hex()))


if __name__ == "__main__":
    main()
