#!/usr/bin/env python3
"""An HTTP/1.1 backend for test_http_proxy.sh (keep-alive, one thread per connection).

http_backend.py NAME PORT        serve
http_backend.py --stream-sha N   print the sha256 of what /stream?n=N sends

  GET  /name            NAME and the client's address (and its x-forwarded-for)
  POST /sha             the sha256 of the request body (content-length or chunked; PUT too)
  GET  /blob?n=N        N bytes of a fixed pseudo-random stream (content-length);
                        &chunked=1 sends them chunked
  GET  /stream?n=N      N bytes of stream_block(0), stream_block(1)... (content-length),
                        written as they are made (for transfers larger than memory)
  GET  /fail?key=K&n=N  503 for the first N requests with key K, then 200 "ok K"
                        (&ms=M: each answer after M ms)
  GET  /drop?key=K&n=N  closes the connection without an answer for the first N requests
                        with key K, then 200 "ok K"
  GET  /slow?on=NAME&ms=M  sleeps M ms first when this backend is NAME (or NAME is all),
                        then 200 NAME
  GET  /ws              with Upgrade: 101 Switching Protocols, then echoes bytes until EOF
  GET  /headers         the request head as received (to check the proxy's edits)
  GET  /trickle?n=N&ms=M  a chunked 200 (content-type application/grpc) of N 6-byte
                        gRPC messages, one every M ms (a server stream ignoring deadlines)
  POST /trailers        the sha256 of the request body, then the trailer lines of a
                        chunked body as received ("none" without)
"""
import hashlib
import random
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

NAME = sys.argv[1]
FAILS = {}
LOCK = threading.Lock()


def blob(n):
    return random.Random(12345).randbytes(n)


BLOCK = 1 << 20


def stream_block(i):
    """Block i of /stream (1 MiB): what the test hashes on its side too."""
    return random.Random(i).randbytes(BLOCK)


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *args):
        pass

    def reply(self, status, body, headers=()):
        self.send_response(status)
        for k, v in headers:
            self.send_header(k, v)
        self.send_header("content-length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def body(self, h):
        """Feed the request body to h.update(), piece by piece."""
        if self.headers.get("transfer-encoding", "").lower() == "chunked":
            while True:
                size = int(self.rfile.readline().split(b";")[0], 16)
                if size == 0:
                    while True:
                        line = self.rfile.readline()
                        if line in (b"\r\n", b"\n", b""):
                            return
                        self.trailer_lines.append(line.decode(errors="replace").rstrip("\r\n"))
                while size > 0:
                    part = self.rfile.read(min(size, BLOCK))
                    if not part:
                        raise ConnectionError("body cut short")
                    h.update(part)
                    size -= len(part)
                self.rfile.readline()
        left = int(self.headers.get("content-length", "0"))
        while left > 0:
            part = self.rfile.read(min(left, BLOCK))
            if not part:
                raise ConnectionError("body cut short")
            h.update(part)
            left -= len(part)

    def do_POST(self):
        h = hashlib.sha256()
        self.trailer_lines = []
        self.body(h)
        url = urlsplit(self.path)
        if url.path == "/sha":
            self.reply(200, (h.hexdigest() + "\n").encode())
        elif url.path == "/trailers":
            lines = "\n".join(self.trailer_lines) if self.trailer_lines else "none"
            self.reply(200, (h.hexdigest() + "\n" + lines + "\n").encode())
        else:
            self.reply(404, b"no such path\n")

    do_PUT = do_POST

    def do_GET(self):
        url = urlsplit(self.path)
        q = {k: v[0] for k, v in parse_qs(url.query).items()}
        if url.path == "/name":
            xff = self.headers.get("x-forwarded-for", "-")
            self.reply(200, f"{NAME} {self.client_address[0]} {xff}\n".encode())
        elif url.path == "/blob":
            data = blob(int(q["n"]))
            if q.get("chunked"):
                self.send_response(200)
                self.send_header("transfer-encoding", "chunked")
                self.end_headers()
                for i in range(0, len(data), 10000):
                    part = data[i:i + 10000]
                    self.wfile.write(b"%x\r\n%s\r\n" % (len(part), part))
                self.wfile.write(b"0\r\n\r\n")
            else:
                self.reply(200, data)
        elif url.path == "/trickle":
            self.send_response(200)
            self.send_header("content-type", "application/grpc")
            self.send_header("transfer-encoding", "chunked")
            self.end_headers()
            try:
                for i in range(int(q["n"])):
                    msg = b"\x00\x00\x00\x00\x01" + bytes([0x30 + i % 10])
                    self.wfile.write(b"%x\r\n%s\r\n" % (len(msg), msg))
                    self.wfile.flush()
                    time.sleep(int(q["ms"]) / 1000)
                self.wfile.write(b"0\r\ngrpc-status: 0\r\n\r\n")
            except (BrokenPipeError, ConnectionResetError):
                pass
        elif url.path == "/stream":
            n = int(q["n"])
            self.send_response(200)
            self.send_header("content-length", str(n))
            self.end_headers()
            i = 0
            while n > 0:
                part = stream_block(i)[:n]
                self.wfile.write(part)
                n -= len(part)
                i += 1
        elif url.path == "/fail":
            with LOCK:
                seen = FAILS.get(q["key"], 0)
                FAILS[q["key"]] = seen + 1
            time.sleep(int(q.get("ms", "0")) / 1000)
            if seen < int(q["n"]):
                self.reply(503, b"failing on purpose\n")
            else:
                self.reply(200, f"ok {q['key']} after {seen}\n".encode())
        elif url.path == "/drop":
            with LOCK:
                seen = FAILS.get("drop/" + q["key"], 0)
                FAILS["drop/" + q["key"]] = seen + 1
            if seen < int(q["n"]):
                self.close_connection = True
                self.connection.shutdown(2)
                return
            self.reply(200, f"ok {q['key']} after {seen}\n".encode())
        elif url.path == "/slow":
            if q.get("on") in (NAME, "all"):
                time.sleep(int(q.get("ms", "1000")) / 1000)
            self.reply(200, f"{NAME}\n".encode())
        elif url.path == "/ws" and self.headers.get("upgrade"):
            self.send_response(101)
            self.send_header("upgrade", self.headers["upgrade"])
            self.send_header("connection", "upgrade")
            self.end_headers()
            self.wfile.flush()
            while True:
                data = self.connection.recv(65536)
                if not data:
                    break
                self.connection.sendall(data)
            self.close_connection = True
        elif url.path == "/headers":
            self.reply(200, (self.requestline + "\n" + str(self.headers)).encode())
        else:
            self.reply(404, b"no such path\n")


def stream_sha(n):
    h, i = hashlib.sha256(), 0
    while n > 0:
        part = stream_block(i)[:n]
        h.update(part)
        n -= len(part)
        i += 1
    return h.hexdigest()


if NAME == "--stream-sha":
    print(stream_sha(int(sys.argv[2])))
    sys.exit(0)
ThreadingHTTPServer.daemon_threads = True
ThreadingHTTPServer.allow_reuse_address = True
ThreadingHTTPServer(("0.0.0.0", int(sys.argv[2])), Handler).serve_forever()
