#!/usr/bin/env python3
"""bench/h2idle.py HOST PORT N: open N HTTP/2 (h2c, prior knowledge) connections,
each with the client preface and an empty SETTINGS sent, the server's SETTINGS
read and acknowledged, then hold them idle until stdin closes. Prints
"ready N" (the connections that completed the exchange) once they all did;
(2) in bench/run.sh reads the proxy's RSS while they are held."""
import resource
import socket
import struct
import sys

PREFACE = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"
SETTINGS, FLAG_ACK = 0x4, 0x1


def frame(kind, flags, payload=b""):
    return struct.pack(">I", len(payload))[1:] + bytes([kind, flags]) + struct.pack(">I", 0) + payload


def recv_exact(s, n):
    b = b""
    while len(b) < n:
        c = s.recv(n - len(b))
        if not c:
            raise ConnectionError("closed")
        b += c
    return b


def open_one(host, port):
    s = socket.create_connection((host, port), timeout=5)
    s.sendall(PREFACE + frame(SETTINGS, 0))
    while True:  # up to the server's own SETTINGS (not an ack of ours)
        head = recv_exact(s, 9)
        length = int.from_bytes(head[:3], "big")
        recv_exact(s, length)
        if head[3] == SETTINGS and not head[4] & FLAG_ACK:
            break
    s.sendall(frame(SETTINGS, FLAG_ACK))
    return s


def main():
    host, port, n = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (max(soft, min(hard, n + 64)), hard))
    held, failed = [], 0
    for _ in range(n):
        try:
            held.append(open_one(host, port))
        except OSError:
            failed += 1
    print("ready %d failed %d" % (len(held), failed), flush=True)
    sys.stdin.read()
    for s in held:
        s.close()


if __name__ == "__main__":
    main()
