#!/usr/bin/python3
"""Open N short TCP connections (one HTTP/1.0 GET each) to ADDR:PORT with C at a
time, from SOURCE if given, and print a JSON summary: how many answered, by
which backend, and how many failed (refused, reset, timed out).
    l4_clients.py ADDR PORT N C [SOURCE]
"""
import json
import socket
import sys
from concurrent.futures import ThreadPoolExecutor

addr, port, n, c = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
source = sys.argv[5] if len(sys.argv) > 5 else None


def one(_):
    try:
        s = socket.socket()
        s.settimeout(3)
        if source:
            s.bind((source, 0))
        s.connect((addr, port))
        s.sendall(b"GET / HTTP/1.0\r\nHost: x\r\n\r\n")
        data = b""
        while True:
            chunk = s.recv(4096)
            if not chunk:
                break
            data += chunk
        s.close()
        body = data.split(b"\r\n\r\n", 1)[1].decode().split()
        return body[0] if body else "empty"
    except OSError as e:
        return "error:" + type(e).__name__


with ThreadPoolExecutor(max_workers=c) as pool:
    results = list(pool.map(one, range(n)))
summary = {}
for r in results:
    summary[r] = summary.get(r, 0) + 1
print(json.dumps(summary))
