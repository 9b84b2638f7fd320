#!/usr/bin/python3
# SPDX-License-Identifier: BSD-3-Clause
"""Writes the seed corpus of fuzz_h2: one byte of mode (bit 0: no preface
prepended, bits 1-2: cuts, bit 3: small limits, bit 4: the client side), then
client frames after the preface, or (bit 4) an endpoint's frames to a client
that opened streams 1, 3 and 5 (see fuzz_h2.c). Header blocks are HPACK
literals without indexing."""
import os
import struct
import sys

DATA, HEADERS, PRIORITY, RST, SETTINGS, PING, GOAWAY, WINDOW, CONT = 0, 1, 2, 3, 4, 6, 7, 8, 9
ES, EH = 0x1, 0x4


def frame(t, flags, sid, payload=b""):
    return struct.pack(">I", len(payload))[1:] + bytes([t, flags]) + struct.pack(">I", sid) + payload


def lit(n, v):
    assert len(n) < 127 and len(v) < 127
    return b"\x00" + bytes([len(n)]) + n + bytes([len(v)]) + v


def req(method=b"GET", path=b"/", extra=()):
    return b"".join(lit(n, v) for n, v in [(b":method", method), (b":scheme", b"http"),
                                            (b":path", path), (b":authority", b"h")] + list(extra))


S = frame(SETTINGS, 0, 0, struct.pack(">HI", 4, 65535))
SEEDS = {
    "get": (0, S + frame(HEADERS, EH | ES, 1, req())),
    "post_data": (2, S + frame(HEADERS, EH, 1, req(b"POST", b"/up", [(b"content-length", b"5")]))
                  + frame(DATA, 0, 1, b"hel") + frame(DATA, ES, 1, b"lo")),
    "continuation": (4, S + frame(HEADERS, 0, 1, req()[:20]) + frame(CONT, EH | ES, 1, req()[20:])),
    "rapid_reset": (8, S + b"".join(frame(HEADERS, EH | ES, 2 * i + 1, req())
                                    + frame(RST, 0, 2 * i + 1, struct.pack(">I", 8)) for i in range(8))),
    "pings": (8, S + b"".join(frame(PING, 0, 0, struct.pack(">Q", i)) for i in range(6))),
    "empty_data": (8, S + frame(HEADERS, EH, 1, req(b"POST")) + frame(DATA, 0, 1) * 6),
    "conn_header": (0, S + frame(HEADERS, EH | ES, 1, req(extra=[(b"connection", b"close")]))),
    "window_goaway": (6, S + frame(HEADERS, EH | ES, 1, req()) + frame(WINDOW, 0, 1, struct.pack(">I", 100))
                      + frame(PRIORITY, 0, 3, struct.pack(">IB", 1, 16))
                      + frame(GOAWAY, 0, 0, struct.pack(">II", 0, 0))),
    "no_preface": (1, b"GET / HTTP/1.1\r\nHost: h\r\n\r\n"),
    "trailers": (0, S + frame(HEADERS, EH, 1, req(b"POST")) + frame(DATA, 0, 1, b"x")
                 + frame(HEADERS, EH | ES, 1, lit(b"grpc-status", b"0"))),
    # the client side: responses, trailers, a 1xx, a reset, GOAWAY
    "up_responses": (16, frame(SETTINGS, 0, 0, struct.pack(">HI", 3, 2))
                     + frame(HEADERS, EH, 1, lit(b":status", b"100"))
                     + frame(HEADERS, EH, 1, lit(b":status", b"200")) + frame(DATA, 0, 1, b"body")
                     + frame(HEADERS, EH | ES, 1, lit(b"grpc-status", b"0"))
                     + frame(RST, 0, 3, struct.pack(">I", 7))
                     + frame(HEADERS, EH | ES, 5, lit(b":status", b"204"))),
    "up_goaway": (18, frame(SETTINGS, 0, 0) + frame(GOAWAY, 0, 0, struct.pack(">II", 1, 0))
                  + frame(HEADERS, EH, 1, lit(b":status", b"200")) + frame(DATA, ES, 1, b"x")),
}

out = sys.argv[1] if len(sys.argv) > 1 else os.path.join(os.path.dirname(__file__), "h2")
os.makedirs(out, exist_ok=True)
for name, (mode, body) in SEEDS.items():
    with open(os.path.join(out, name + ".bin"), "wb") as f:
        f.write(bytes([mode]) + body)
