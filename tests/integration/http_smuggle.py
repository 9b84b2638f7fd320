#!/usr/bin/python3
# SPDX-License-Identifier: BSD-3-Clause
"""The request smuggling list of issue 11 against an http listener (run in the
client namespace by test_http_smuggling.sh).

  http_smuggle.py list                     the case names, one a line
  http_smuggle.py run ADDR PORT STATS-CMD WATCH...
      Each case on its own connection, one after the other, while another
      connection sends keep-alive GET / all along. Per case one JSON line
      {case, status, closed, responses, counters}: the status of the first
      answer, whether the proxy closed the connection after it, how many
      responses came back, and which WATCH counters moved (by how much) from
      just before the case to just after its answer (STATS-CMD prints
      `meshctl --json stats`). Then one line {keepalive: {requests, ok, bad,
      after_cases}}: the GETs sent, those answered 200 by a backend (body
      "bN ..."), the first few that were not, and the GETs answered after the
      last case.

Every case ends with a smuggled second request, GET /direct (a direct response
of the route table, "hello from meshdp"): had the proxy framed the first
request as a lenient parser would, a second response would come back and
http_direct_responses would move.
"""
import json
import re
import socket
import subprocess
import sys
import threading
import time

HOST = b"host: shop.example\r\n"
SMUGGLED = b"GET /direct HTTP/1.1\r\n" + HOST + b"\r\n"
GET = b"GET / HTTP/1.1\r\n" + HOST
POST = b"POST / HTTP/1.1\r\n" + HOST
CHUNKED = POST + b"transfer-encoding: chunked\r\n\r\n"


def post(lines, body=b""):
    """A POST with the header LINES and BODY, then the smuggled request."""
    return POST + b"".join(l + b"\r\n" for l in lines) + b"\r\n" + body + SMUGGLED


CASES = {
    # framed by Content-Length the body is "0\r\n\r\n", by chunked it is empty
    "cl_and_te": post([b"content-length: 5", b"transfer-encoding: chunked"], b"0\r\n\r\n"),
    "te_and_cl": post([b"transfer-encoding: chunked", b"content-length: 5"], b"0\r\n\r\n"),
    "cl_dup_equal": post([b"content-length: 0", b"content-length: 0"]),
    "cl_dup_differ": post([b"content-length: 0", b"content-length: %d" % len(SMUGGLED)]),
    "cl_list": post([b"content-length: 0, 0"]),
    "cl_non_numeric": post([b"content-length: abc"]),
    "cl_plus": post([b"content-length: +0"]),
    "cl_negative": post([b"content-length: -1"]),
    "cl_overlong": post([b"content-length: %020d" % 0]),
    "te_trailing_space": post([b"transfer-encoding: chunked "], b"0\r\n\r\n"),
    "te_xchunked": post([b"transfer-encoding: xchunked"]),
    "te_chunked_identity": post([b"transfer-encoding: chunked, identity"], b"0\r\n\r\n"),
    "te_twice": post([b"transfer-encoding: chunked", b"transfer-encoding: chunked"], b"0\r\n\r\n"),
    "chunk_size_overflow": CHUNKED + b"1000000000000000\r\n" + SMUGGLED,
    "chunk_size_0x": CHUNKED + b"0x10\r\n" + SMUGGLED,
    "chunk_size_negative": CHUNKED + b"-5\r\n" + SMUGGLED,
    "chunk_size_missing": CHUNKED + b"\r\n" + SMUGGLED,
    "chunk_ext_bad": CHUNKED + b"5;a=b c\r\nhello\r\n0\r\n\r\n" + SMUGGLED,
    "obs_fold": GET + b"x-a: a\r\n b\r\n\r\n" + SMUGGLED,
    "bare_cr": GET + b"x-a: a\rb\r\n\r\n" + SMUGGLED,
    "bare_lf": GET + b"x-a: b\n\r\n" + SMUGGLED,
    "ws_before_colon": POST + b"transfer-encoding : chunked\r\n\r\n0\r\n\r\n" + SMUGGLED,
    "nul_in_value": GET + b"x-a: a\x00b\r\n\r\n" + SMUGGLED,
    "ctl_in_value": GET + b"x-a: a\x01b\r\n\r\n" + SMUGGLED,
    "nul_in_target": b"GET /a\x00b HTTP/1.1\r\n" + HOST + b"\r\n" + SMUGGLED,
    "ctl_in_target": b"GET /a\x01b HTTP/1.1\r\n" + HOST + b"\r\n" + SMUGGLED,
    # the start line limit is 16 KiB, the head limit the listener's 60 KiB
    "start_line_too_long": b"GET /" + b"a" * 17000 + b" HTTP/1.1\r\n" + HOST + b"\r\n" + SMUGGLED,
    "head_too_large": GET + b"x-big: " + b"v" * 62000 + b"\r\n\r\n" + SMUGGLED,
    "too_many_headers": GET + b"".join(b"x-%d: %d\r\n" % (i, i) for i in range(110)) + b"\r\n"
    + SMUGGLED,
    "version_2": b"GET / HTTP/2.0\r\n" + HOST + b"\r\n" + SMUGGLED,
    "host_missing": b"GET / HTTP/1.1\r\n\r\n" + SMUGGLED,
    "host_twice": GET + HOST + b"\r\n" + SMUGGLED,
    # a refused CONNECT: the bytes after it are the tunnel's, never a request
    "connect": b"CONNECT 10.10.2.11:80 HTTP/1.1\r\nhost: 10.10.2.11:80\r\n\r\n" + SMUGGLED,
}

STATUS = re.compile(rb"HTTP/1\.1 (\d{3}) ")


def send_case(addr, port, data):
    """Send DATA on a new connection; read until the proxy closes (or 5 s)."""
    s = socket.create_connection((addr, port), timeout=5)
    got, closed = b"", False
    try:
        s.sendall(data)
    except OSError:
        pass  # refused before the end of a long head: its answer may be read yet
    try:
        while True:
            d = s.recv(65536)
            if not d:
                closed = True
                break
            got += d
    except ConnectionResetError:
        closed = True
    except socket.timeout:
        pass
    s.close()
    m = STATUS.match(got)
    return {"status": int(m.group(1)) if m else None, "closed": closed,
            "responses": len(STATUS.findall(got))}


def read_response(f):
    """One response from the buffered socket file F: (status, body)."""
    line = f.readline()
    m = STATUS.match(line)
    if not m:
        raise OSError("bad status line %r" % line)
    length = None
    while True:
        h = f.readline()
        if h in (b"\r\n", b""):
            break
        k, _, v = h.partition(b":")
        if k.strip().lower() == b"content-length":
            length = int(v)
    if length is None:
        raise OSError("no content-length")
    return int(m.group(1)), f.read(length)


def keepalive(addr, port, stop, result):
    """GET / on one connection until STOP is set: each must be 200 from a backend.
    RESULT is kept up to date: requests sent, ok, the first few bad answers."""
    s = socket.create_connection((addr, port), timeout=5)
    f = s.makefile("rb")
    result.update(requests=0, ok=0, bad=[])
    while not stop.is_set():
        result["requests"] += 1
        try:
            s.sendall(GET + b"\r\n")
            status, body = read_response(f)
        except OSError as e:
            result["bad"].append(str(e))
            break
        if status == 200 and re.match(rb"b[123] ", body):
            result["ok"] += 1
        elif len(result["bad"]) < 5:
            result["bad"].append("%d %r" % (status, body[:40]))
        time.sleep(0.01)
    s.close()


def counters(cmd):
    return json.loads(subprocess.run(cmd, shell=True, check=True, capture_output=True,
                                     text=True).stdout)["counters"]


def run(addr, port, stats_cmd, watch):
    stop, ka = threading.Event(), {}
    t = threading.Thread(target=keepalive, args=(addr, port, stop, ka))
    t.start()
    time.sleep(0.1)  # a few GETs before the first case
    for name, data in CASES.items():
        before = counters(stats_cmd)
        r = send_case(addr, port, data)
        after = counters(stats_cmd)
        moved = {k: after[k] - before[k] for k in watch if after[k] != before[k]}
        print(json.dumps({"case": name, **r, "counters": moved}), flush=True)
    # the connection is still served after the last case
    mark, deadline = ka["ok"], time.monotonic() + 3
    while ka["ok"] == mark and t.is_alive() and time.monotonic() < deadline:
        time.sleep(0.01)
    ka["after_cases"] = ka["ok"] - mark
    stop.set()
    t.join()
    print(json.dumps({"keepalive": ka}), flush=True)


if __name__ == "__main__":
    if sys.argv[1] == "list":
        print("\n".join(CASES))
    else:
        run(sys.argv[2], int(sys.argv[3]), sys.argv[4], sys.argv[5:])
