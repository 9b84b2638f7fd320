#!/usr/bin/python3
# SPDX-License-Identifier: BSD-3-Clause
"""Writes the seed corpus of fuzz_http1: one byte of mode (bit 0 responses,
bits 1-3 the request method they answer, bit 4 small limits), two bytes of
cut seed, then the stream (see fuzz_http1.c)."""
import os
import sys

GET, HEAD, CONNECT = 1, 2, 6
REQ, RESP, SMALL = 0, 1, 16

H = b"GET / HTTP/1.1\r\nHost: h\r\n"
CH = b"POST /c HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n"

SEEDS = {
    "get": (REQ, b"GET /index.html?lang=en HTTP/1.1\r\nHost: www.example.com\r\n"
            b"User-Agent: curl/7.88.1\r\nAccept: */*\r\n\r\n"),
    "pipeline": (REQ, b"POST /up HTTP/1.1\r\nHost: h\r\nContent-Length: 5\r\n\r\nhello"
                 + H + b"\r\n" + b"GET /x HTTP/1.0\r\nConnection: keep-alive\r\n\r\n"),
    "chunked_ext_trailers": (REQ, CH + b"5;a=b;c=\"q\\\"x\" \r\nhello\r\n6\r\n world\r\n"
                             b"0\r\nX-Sum: 1\r\n\r\n" + H + b"\r\n"),
    "expect_upgrade": (REQ, b"PUT /f HTTP/1.1\r\nHost: h\r\nExpect: 100-continue\r\n"
                       b"Content-Length: 2\r\n\r\nokGET /ws HTTP/1.1\r\nHost: h\r\n"
                       b"Connection: Upgrade\r\nUpgrade: websocket\r\n\r\n"),
    "connect_absolute": (REQ, b"CONNECT db:5432 HTTP/1.1\r\nHost: db:5432\r\n\r\n"
                         b"GET http://a.example:8080/p?q HTTP/1.1\r\nHost: b\r\n\r\n"
                         b"OPTIONS * HTTP/1.1\r\nHost: h\r\n\r\n"),
    "cl_and_te": (REQ, H + b"Content-Length: 4\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n"),
    "te_obfuscated": (REQ, H + b"Transfer-Encoding: chunked, identity\r\n\r\n"),
    "obs_fold": (REQ, H + b"X: a\r\n b\r\n\r\n"),
    "bare_lf": (REQ, b"GET / HTTP/1.1\nHost: h\n\n"),
    "bad_chunk": (REQ, CH + b"5 ;x=\"\\\x01\"\r\nhello\r\n"),
    "small_limits": (REQ | SMALL, H + b"A: 1\r\nB: 2\r\nC: 3\r\n\r\n" + CH + b"1;aaaaaaaaaaaa\r\nx\r\n0\r\n\r\n"),
    "resp_framings": (RESP | (GET << 1), b"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK\r\n"
                      b"Transfer-Encoding: chunked\r\n\r\n2\r\nhi\r\n0\r\n\r\n"
                      b"HTTP/1.1 204 No Content\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok"
                      b"HTTP/1.0 200 OK\r\n\r\nuntil close"),
    "resp_head": (RESP | (HEAD << 1), b"HTTP/1.1 200 OK\r\nContent-Length: 99\r\n\r\n"
                  b"HTTP/1.1 304 Not Modified\r\n\r\n"),
    "resp_connect": (RESP | (CONNECT << 1), b"HTTP/1.1 200 Connection established\r\n\r\nraw bytes"),
}


def main():
    out = sys.argv[1] if len(sys.argv) > 1 else os.path.join(os.path.dirname(__file__), "http1")
    os.makedirs(out, exist_ok=True)
    for i, (name, (mode, stream)) in enumerate(sorted(SEEDS.items())):
        with open(os.path.join(out, name + ".bin"), "wb") as f:
            f.write(bytes([mode, i, 0x5a]) + stream)


if __name__ == "__main__":
    main()
