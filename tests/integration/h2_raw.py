#!/usr/bin/env python3
"""Crafted HTTP/2 clients for test_http2.sh, on raw frames (no h2 library:
the point is to send what a well-behaved library refuses to).

  h2_raw.py rapid HOST PORT N     N x (HEADERS, RST_STREAM) at once; prints
                                  "goaway <code>" when the server sends GOAWAY
  h2_raw.py connhdr HOST PORT     a GET with a connection-specific field
                                  (connection: keep-alive, RFC 9113 8.2.2);
                                  prints "rst <code>" for its stream
  h2_raw.py pings HOST PORT N     N PING frames at once; prints "goaway <code>"
  h2_raw.py settings HOST PORT N  N SETTINGS frames at once; prints "goaway <code>"
  h2_raw.py emptydata HOST PORT N  a POST, then N empty DATA frames without
                                  END_STREAM; prints "goaway <code>"
  h2_raw.py hpackbomb HOST PORT N  a GET whose header block puts one 4,000-byte
                                  field in the HPACK dynamic table and refers
                                  to it N times (a few bytes sent, N x 4 KB
                                  decoded); prints "headers" for the answer
                                  (431), "rst <code>" or "goaway <code>"
  h2_raw.py cookies HOST PORT PATH  a GET with two cookie fields (crumbs, RFC
                                  9113 8.2.3); prints the response body
  h2_raw.py starve HOST PORT PATH N  SETTINGS_INITIAL_WINDOW_SIZE 0, N GETs of
                                  PATH, no WINDOW_UPDATE ever; prints "rst
                                  <code> <streams>" once all N are reset
  h2_raw.py trickle HOST PORT PATH  SETTINGS_INITIAL_WINDOW_SIZE 0, a GET of
                                  PATH, then a WINDOW_UPDATE of 10 bytes on
                                  its stream every 0.25 s; prints "rst <code>"
                                  when it is reset, "ended" if it completes
  h2_raw.py connstarve HOST PORT PATH  a GET of PATH (more than 65535 bytes)
                                  with a large stream window, its DATA read
                                  but the connection window never opened;
                                  prints "goaway <code>"
  h2_raw.py reqtrailers HOST PORT PATH [LEN]  a POST of "hello" (with
                                  content-length when LEN is given) whose
                                  trailer section is x-sum: 42 and
                                  host: evil; prints the response body
  h2_raw.py serve100 PORT          an HTTP/2 endpoint (prior knowledge) on
                                  PORT: each request stream gets a 100 (a
                                  HEADERS of its own) at once, then, when
                                  the request ended, 200 with the request
                                  body's length; one connection at a time
  h2_raw.py continuation HOST PORT N  a HEADERS without END_HEADERS, then N
                                  CONTINUATION frames of one field each
                                  (CVE-2024-27316's class); prints "goaway <code>"

Header blocks are HPACK literals without indexing (RFC 7541 6.2.2), so no
decoder is needed for what the tests read: frame types and error codes.
"""
import socket
import struct
import sys
import time

PREFACE = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"
DATA, HEADERS, RST_STREAM, SETTINGS, PING, GOAWAY, WINDOW_UPDATE, CONTINUATION = 0, 1, 3, 4, 6, 7, 8, 9
INITIAL_WINDOW_SIZE = 4
END_STREAM, END_HEADERS, ACK = 0x1, 0x4, 0x1


def frame(ftype, flags, sid, payload=b""):
    return struct.pack(">I", len(payload))[1:] + bytes([ftype, flags]) + struct.pack(">I", sid) + payload


def hpack_int(v, prefix):
    lim = (1 << prefix) - 1
    if v < lim:
        return bytes([v])
    out = [lim]
    v -= lim
    while v >= 128:
        out.append(v % 128 + 128)
        v //= 128
    out.append(v)
    return bytes(out)


def block(fields):
    out = b""
    for n, v in fields:
        out += b"\x00" + hpack_int(len(n), 7) + n + hpack_int(len(v), 7) + v
    return out


def get(path, extra=()):
    return block([(b":method", b"GET"), (b":scheme", b"http"), (b":path", path),
                  (b":authority", b"10.10.1.1")] + list(extra))


def frames(sock, until, timeout=5.0, every=None):
    """Read frames until until(type, flags, sid, payload) says True; None on
    timeout or EOF. every: called every 0.25 s meanwhile."""
    buf = b""
    end = time.time() + timeout
    sock.settimeout(0.25 if every else 0.5)
    tick = 0.0
    while time.time() < end:
        if every and time.time() >= tick:
            every()
            tick = time.time() + 0.25
        while len(buf) >= 9:
            n = int.from_bytes(buf[:3], "big")
            if len(buf) < 9 + n:
                break
            ft, fl, sid, pl = buf[3], buf[4], int.from_bytes(buf[5:9], "big") & 0x7FFFFFFF, buf[9:9 + n]
            buf = buf[9 + n:]
            r = until(ft, fl, sid, pl)
            if r is not None:
                return r
        try:
            d = sock.recv(65536)
        except socket.timeout:
            continue
        except ConnectionResetError:
            return None
        if not d:
            return None
        buf += d
    return None


def connect(host, port, settings=b""):
    s = socket.create_connection((host, port), timeout=5)
    s.sendall(PREFACE + frame(SETTINGS, 0, 0, settings))
    return s


def goaway(ft, fl, sid, pl):
    if ft == GOAWAY:
        return "goaway %d" % int.from_bytes(pl[4:8], "big")
    return None


def serve100(port):
    ls = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    ls.bind(("0.0.0.0", port))
    ls.listen(16)
    while True:
        s, _ = ls.accept()
        s.settimeout(30)
        buf, got = b"", {}
        s.sendall(frame(SETTINGS, 0, 0))
        try:
            while True:
                d = s.recv(65536)
                if not d:
                    break
                buf += d
                if buf.startswith(PREFACE):
                    buf = buf[len(PREFACE):]
                while len(buf) >= 9 and len(buf) >= 9 + int.from_bytes(buf[:3], "big"):
                    n = int.from_bytes(buf[:3], "big")
                    ft, fl, sid = buf[3], buf[4], int.from_bytes(buf[5:9], "big") & 0x7FFFFFFF
                    pl, buf = buf[9:9 + n], buf[9 + n:]
                    if ft == SETTINGS and not fl & ACK:
                        s.sendall(frame(SETTINGS, ACK, 0))
                    elif ft == HEADERS and sid not in got:
                        got[sid] = 0
                        s.sendall(frame(HEADERS, END_HEADERS, sid, block([(b":status", b"100")])))
                    elif ft == DATA:
                        got[sid] = got.get(sid, 0) + len(pl)
                        if pl:  # give the windows back
                            inc = struct.pack(">I", len(pl))
                            s.sendall(frame(WINDOW_UPDATE, 0, 0, inc) + frame(WINDOW_UPDATE, 0, sid, inc))
                    if ft in (HEADERS, DATA) and fl & END_STREAM:
                        body = b"%d\n" % got.get(sid, 0)
                        s.sendall(frame(HEADERS, END_HEADERS, sid, block([
                            (b":status", b"200"), (b"content-length", b"%d" % len(body))])) +
                            frame(DATA, END_STREAM, sid, body))
        except (OSError, socket.timeout):
            pass
        s.close()


def main():
    if sys.argv[1] == "serve100":
        serve100(int(sys.argv[2]))
        return
    mode, host, port = sys.argv[1], sys.argv[2], int(sys.argv[3])
    if mode in ("starve", "trickle"):
        s = connect(host, port, struct.pack(">HI", INITIAL_WINDOW_SIZE, 0))
    elif mode == "connstarve":
        s = connect(host, port, struct.pack(">HI", INITIAL_WINDOW_SIZE, 1 << 24))
    else:
        s = connect(host, port)
    if mode == "rapid":
        n = int(sys.argv[4])
        out = b""
        for i in range(n):
            sid = 2 * i + 1
            out += frame(HEADERS, END_HEADERS | END_STREAM, sid, get(b"/"))
            out += frame(RST_STREAM, 0, sid, struct.pack(">I", 8))  # CANCEL
        try:
            s.sendall(out)
        except (BrokenPipeError, ConnectionResetError):
            pass
        print(frames(s, goaway))
    elif mode == "connhdr":
        s.sendall(frame(HEADERS, END_HEADERS | END_STREAM, 1, get(b"/", [(b"connection", b"keep-alive")])))

        def rst(ft, fl, sid, pl):
            if ft == RST_STREAM and sid == 1:
                return "rst %d" % int.from_bytes(pl[:4], "big")
            if ft == HEADERS and sid == 1:
                return "headers"
            return None
        print(frames(s, rst))
    elif mode == "pings":
        n = int(sys.argv[4])
        try:
            s.sendall(b"".join(frame(PING, 0, 0, struct.pack(">Q", i)) for i in range(n)))
        except (BrokenPipeError, ConnectionResetError):
            pass
        print(frames(s, goaway))
    elif mode in ("settings", "emptydata"):
        n = int(sys.argv[4])
        if mode == "settings":
            out = b"".join(frame(SETTINGS, 0, 0, struct.pack(">HI", INITIAL_WINDOW_SIZE, 65535))
                           for _ in range(n))
        else:
            head = block([(b":method", b"POST"), (b":scheme", b"http"), (b":path", b"/app/sha"),
                          (b":authority", b"10.10.1.1")])
            out = frame(HEADERS, END_HEADERS, 1, head) + frame(DATA, 0, 1) * n
        try:
            s.sendall(out)
        except (BrokenPipeError, ConnectionResetError):
            pass
        print(frames(s, goaway))
    elif mode == "hpackbomb":
        n = int(sys.argv[4])
        # literal with incremental indexing, new name (RFC 7541 6.2.1), then
        # indexed references to dynamic entry 62 (6.1)
        bomb = b"\x40" + hpack_int(6, 7) + b"x-bomb" + hpack_int(4000, 7) + b"b" * 4000
        s.sendall(frame(HEADERS, END_HEADERS | END_STREAM, 1, get(b"/") + bomb + b"\xbe" * n))

        def answer(ft, fl, sid, pl):
            if ft == HEADERS and sid == 1:
                return "headers"
            if ft == RST_STREAM and sid == 1:
                return "rst %d" % int.from_bytes(pl[:4], "big")
            if ft == GOAWAY:
                return "goaway %d" % int.from_bytes(pl[4:8], "big")
            return None
        print(frames(s, answer))
    elif mode == "cookies":
        path = sys.argv[4].encode()
        s.sendall(frame(HEADERS, END_HEADERS | END_STREAM, 1,
                        get(path, [(b"cookie", b"a=1"), (b"cookie", b"b=2")])))
        body = []

        def data(ft, fl, sid, pl):
            if ft == DATA and sid == 1:
                body.append(pl)
            if ft in (DATA, HEADERS) and sid == 1 and fl & END_STREAM:
                return b"".join(body).decode(errors="replace")
            if ft == RST_STREAM and sid == 1:
                return "rst"
            return None
        sys.stdout.write(str(frames(s, data)))
    elif mode in ("starve", "connstarve"):
        path, n = sys.argv[4].encode(), int(sys.argv[5]) if mode == "starve" else 1
        s.sendall(b"".join(frame(HEADERS, END_HEADERS | END_STREAM, 2 * i + 1, get(path))
                           for i in range(n)))
        resets = {}

        def stalled(ft, fl, sid, pl):
            if ft == GOAWAY:
                return "goaway %d" % int.from_bytes(pl[4:8], "big")
            if ft == RST_STREAM:
                resets[sid] = int.from_bytes(pl[:4], "big")
                if len(resets) == n and mode == "starve":
                    return "rst %s %d" % (",".join(sorted({str(c) for c in resets.values()})), n)
            if ft in (DATA, HEADERS) and fl & END_STREAM:
                return "the response ended"
            return None
        print(frames(s, stalled, timeout=20))
    elif mode == "reqtrailers":
        path = sys.argv[4].encode()
        extra = [(b"content-length", sys.argv[5].encode())] if len(sys.argv) > 5 else []
        head = block([(b":method", b"POST"), (b":scheme", b"http"), (b":path", path),
                      (b":authority", b"10.10.1.1")] + extra)
        s.sendall(frame(HEADERS, END_HEADERS, 1, head) + frame(DATA, 0, 1, b"hello") +
                  frame(HEADERS, END_HEADERS | END_STREAM, 1,
                        block([(b"x-sum", b"42"), (b"host", b"evil")])))
        body = []

        def data(ft, fl, sid, pl):
            if ft == DATA and sid == 1:
                body.append(pl)
            if ft in (DATA, HEADERS) and sid == 1 and fl & END_STREAM:
                return b"".join(body).decode(errors="replace")
            if ft == RST_STREAM and sid == 1:
                return "rst %d" % int.from_bytes(pl[:4], "big")
            return None
        sys.stdout.write(str(frames(s, data)))
    elif mode == "trickle":
        s.sendall(frame(HEADERS, END_HEADERS | END_STREAM, 1, get(sys.argv[4].encode())))

        def reset(ft, fl, sid, pl):
            if ft == RST_STREAM and sid == 1:
                return "rst %d" % int.from_bytes(pl[:4], "big")
            if ft in (DATA, HEADERS) and sid == 1 and fl & END_STREAM:
                return "ended"
            if ft == GOAWAY:
                return "goaway %d" % int.from_bytes(pl[4:8], "big")
            return None
        print(frames(s, reset, timeout=30,
                     every=lambda: s.sendall(frame(WINDOW_UPDATE, 0, 1, struct.pack(">I", 10)))))
    elif mode == "continuation":
        n = int(sys.argv[4])
        out = frame(HEADERS, END_STREAM, 1, get(b"/"))
        for i in range(n):
            out += frame(CONTINUATION, 0, 1, block([(b"x-flood-%d" % i, b"v")]))
        try:
            s.sendall(out)
        except (BrokenPipeError, ConnectionResetError):
            pass
        print(frames(s, goaway))
    else:
        sys.exit("unknown mode " + mode)


main()
