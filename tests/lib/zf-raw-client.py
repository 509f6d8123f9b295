#!/usr/bin/env python3
# tests/lib/zf-raw-client.py — a hand-written client of docs/protocol.md, for
# platform tests that must send what the stock client never would.
#
# usage: zf-raw-client.py HOST PORT KIND [TAG=VALUE]...
#
# Connects over plain tcp, exchanges HELLO, sends one REQUEST of KIND (a
# name such as HOLD or a number) whose fields are TAG=VALUE (TAG a name
# from the protocol's tag table or a number; VALUE a string, or u64:N,
# or bool:1), reads the answer and prints one line:
#   RESPONSE            the request succeeded (a stream's bytes are counted)
#   ERROR CODE MESSAGE  the server refused it
# then ends the connection cleanly.  Exit status 0 for RESPONSE, 1 for
# ERROR, 2 for anything else.  A RECV's stream is empty, or the bytes of
# the file $ZF_RAW_STREAM (a zfs send stream, say).
import hashlib
import os
import socket
import struct
import sys

KINDS = {
    "PING": 1, "LIST_FS": 2, "LIST_VERSIONS": 3, "SEND": 4, "RECV": 5, "HOLD": 6,
    "RELEASE": 7, "HOLDS": 8, "BOOKMARK": 9, "DESTROY_BOOKMARK": 10,
    "DESTROY_VERSIONS": 11, "CREATE": 12, "RENAME": 13, "INHERIT": 14, "RECV_ABORT": 15,
    "GET_RESUME_TOKEN": 16, "SEND_ESTIMATE": 17, "SNAPSHOT": 18, "DATA_CHANNEL_OPEN": 19,
}
TAGS = {
    "FS": 1, "SNAPSHOT": 2, "BOOKMARK": 3, "HOLD_TAG": 4, "NAME": 5, "FROM": 6, "TO": 7,
    "PROP": 8, "RECURSIVE": 9, "RESUME_TOKEN": 10, "INTERMEDIATES": 11, "RAW": 12,
    "COMPRESSED": 13, "LARGE_BLOCK": 14, "EMBED": 15, "PROPS": 16, "RESUMABLE": 17,
    "NO_MOUNT": 18, "FORCE": 19, "SET_PROP": 20, "EXCLUDE_PROP": 21,
}
STREAM_OUT = {2, 3, 4, 8}
STREAM_IN = {5}
HELLO, REQUEST, RESPONSE, ERROR, DATA, END, PING, PONG = range(1, 9)


def frame(ftype, rid, payload):
    return struct.pack(">2sBBHHII", b"ZF", 1, ftype, 0, 0, len(payload), rid) + payload


def read_exact(s, n):
    b = b""
    while len(b) < n:
        k = s.recv(n - len(b))
        if not k:
            raise EOFError("connection closed")
        b += k
    return b


def read_frame(s):
    while True:
        h = read_exact(s, 16)
        magic, ver, ftype, flags, res, length, rid = struct.unpack(">2sBBHHII", h)
        if magic != b"ZF":
            raise ValueError("bad magic")
        payload = read_exact(s, length)
        if ftype == PING:
            s.sendall(frame(PONG, 0, payload))
            continue
        return ftype, rid, payload


def main():
    host, port, kind = sys.argv[1], int(sys.argv[2]), sys.argv[3]
    kind = KINDS.get(kind) or int(kind)
    body = struct.pack(">H", kind)
    for arg in sys.argv[4:]:
        tag, _, value = arg.partition("=")
        tag = TAGS.get(tag) or int(tag)
        if value.startswith("u64:"):
            body += struct.pack(">HBQ", tag, 1, int(value[4:]))
        elif value.startswith("bool:"):
            body += struct.pack(">HBB", tag, 2, int(value[5:]))
        else:
            v = value.encode()
            body += struct.pack(">HBH", tag, 3, len(v)) + v
    s = socket.create_connection((host, port), timeout=30)
    s.sendall(frame(HELLO, 0, struct.pack(">HHQIB", 1, 1, 0, 0, 3) + b"raw"))
    ftype, _, payload = read_frame(s)
    if ftype == ERROR:
        code, n = struct.unpack(">HH", payload[:4])
        print("ERROR %d %s" % (code, payload[4:4 + n].decode(errors="replace")))
        return 1
    if ftype != HELLO:
        print("no HELLO")
        return 2
    s.sendall(frame(REQUEST, 1, body))
    if kind in STREAM_IN:
        data = b""
        if os.environ.get("ZF_RAW_STREAM"):
            with open(os.environ["ZF_RAW_STREAM"], "rb") as f:
                data = f.read()
        for i in range(0, len(data), 1 << 16):
            s.sendall(frame(DATA, 1, data[i:i + (1 << 16)]))
        s.sendall(frame(END, 1, struct.pack(">Q", len(data)) + hashlib.sha256(data).digest()))
    ftype, rid, payload = read_frame(s)
    rc = 2
    if ftype == RESPONSE:
        got = 0
        if kind in STREAM_OUT:
            while True:
                t, _, p = read_frame(s)
                if t == DATA:
                    got += len(p)
                    continue
                if t == ERROR:
                    code, n = struct.unpack(">HH", p[:4])
                    print("ERROR %d %s" % (code, p[4:4 + n].decode(errors="replace")))
                    return 1
                break
        print("RESPONSE %d" % got)
        rc = 0
    elif ftype == ERROR:
        code, n = struct.unpack(">HH", payload[:4])
        print("ERROR %d %s" % (code, payload[4:4 + n].decode(errors="replace")))
        rc = 1
    else:
        print("unexpected frame type %d" % ftype)
    s.shutdown(socket.SHUT_WR)
    try:
        while s.recv(65536):
            pass
    except OSError:
        pass
    return rc


if __name__ == "__main__":
    sys.exit(main())
