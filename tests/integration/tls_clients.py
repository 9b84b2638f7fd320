#!/usr/bin/env python3
"""Long-lived mTLS clients for test_tls.sh's rotation under load.

tls_clients.py HOST PORT N CA CERT KEY TIMEOUT_S
Opens N TLS connections with a client certificate, sends an HTTP/1.1 request
on each and reads its answer (keep-alive), prints "ready" and waits for a line
on stdin (the rotation was triggered). Then it waits, at most TIMEOUT_S, for
every connection to be ended by the server, and prints one JSON line:
{"n", "answered", "closed", "close_notify", "max_s"}: connections that got
their answer before the rotation, that were closed within the time, that were
closed with close_notify (not a bare FIN or a reset), and the slowest close in
seconds after the rotation.
"""
import json
import select
import socket
import ssl
import sys
import time


def main():
    host, port, n, ca, cert, key, timeout = sys.argv[1:8]
    port, n, timeout = int(port), int(n), float(timeout)
    ctx = ssl.create_default_context(cafile=ca)
    ctx.check_hostname = False  # the server's identity is a SPIFFE URI SAN
    ctx.load_cert_chain(cert, key)
    conns, answered = [], 0
    for _ in range(n):
        s = socket.create_connection((host, port), timeout=5)
        t = ctx.wrap_socket(s, suppress_ragged_eofs=False)
        t.sendall(b"GET / HTTP/1.1\r\nHost: edge.test\r\n\r\n")
        got = b""
        while not (b"\r\n\r\n" in got and got.endswith(b"\n")):  # the body is one line
            chunk = t.recv(4096)
            if not chunk:
                break
            got += chunk
        if got.startswith(b"HTTP/1.1 200"):
            answered += 1
        t.setblocking(False)
        conns.append(t)
    print("ready", flush=True)
    sys.stdin.readline()
    t0 = time.monotonic()
    open_ = {c.fileno(): c for c in conns}
    closed = notify = 0
    max_s = 0.0
    while open_ and time.monotonic() - t0 < timeout:
        r, _, _ = select.select(list(open_), [], [], 0.2)
        for fd in r:
            c = open_[fd]
            try:
                data = c.recv(4096)
                if data:
                    continue
                notify += 1  # b"": close_notify (ragged EOFs raise)
            except ssl.SSLWantReadError:
                continue
            except (ssl.SSLError, OSError):
                pass
            closed += 1
            max_s = max(max_s, time.monotonic() - t0)
            del open_[fd]
            c.close()
    print(json.dumps({"n": n, "answered": answered, "closed": closed, "close_notify": notify,
                      "max_s": round(max_s, 2)}), flush=True)


if __name__ == "__main__":
    main()
