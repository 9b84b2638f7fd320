#!/usr/bin/python3
"""Peers for the tcp_proxy integration test.

  tcp_tools.py bulk-server PORT
      Per connection, a request line: "UP <bytes>\\n" (read that many bytes up to
      the client's FIN, answer the sha256 of what came) or "DOWN <bytes> <seed>\\n"
      (send that many bytes of the seed's stream, then FIN).
  tcp_tools.py up ADDR PORT BYTES SEED
  tcp_tools.py down ADDR PORT BYTES SEED
      The client side: send (or receive) BYTES of the seed's stream through
      ADDR:PORT and check the sha256 end to end. Prints JSON, exits 1 on a
      mismatch.
  tcp_tools.py hold ADDR PORT N SECONDS
      Open N connections at once, one HTTP/1.1 keep-alive request each, hold them
      all open for SECONDS, then close them all with FIN. Prints JSON: how many
      got their answer, how many were still answering a second request just
      before the close (the connection held), and failures.
  tcp_tools.py sink PORT
      Accept connections with a 4 KB receive buffer and never read: the
      sender's window closes at once (the slow upstream of a memory flood).
  tcp_tools.py flood ADDR PORT N inorder|ooo
      Open a connection to ADDR:PORT with the kernel, take its sequence numbers
      (TCP_REPAIR, which also keeps the kernel quiet), then send N 1-byte
      segments from a raw socket: in order, or every other byte after a
      missing first one (out of order, nothing contiguous). Prints JSON.
"""
import asyncio
import hashlib
import json
import random
import socket
import socketserver
import struct
import sys
import time

CHUNK = 1 << 16


def stream(seed, n):
    """The deterministic byte stream of SEED, N bytes, in chunks."""
    rnd = random.Random(seed)
    left = n
    while left > 0:
        k = min(CHUNK, left)
        yield rnd.randbytes(k)
        left -= k


def stream_hash(seed, n):
    h = hashlib.sha256()
    for b in stream(seed, n):
        h.update(b)
    return h.hexdigest()


class Bulk(socketserver.StreamRequestHandler):
    def handle(self):
        line = self.rfile.readline().decode().split()
        if line[0] == "UP":
            h = hashlib.sha256()
            got = 0
            while True:
                b = self.rfile.read1(CHUNK)
                if not b:
                    break
                h.update(b)
                got += len(b)
            self.wfile.write(f"{got} {h.hexdigest()}\n".encode())
        elif line[0] == "DOWN":
            for b in stream(int(line[2]), int(line[1])):
                self.wfile.write(b)


class Server(socketserver.ThreadingTCPServer):
    allow_reuse_address = True
    daemon_threads = True


def connect(addr, port):
    s = socket.create_connection((addr, port), timeout=120)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 1 << 20)
    return s


def up(addr, port, n, seed):
    s = connect(addr, port)
    s.sendall(f"UP {n}\n".encode())
    for b in stream(seed, n):
        s.sendall(b)
    s.shutdown(socket.SHUT_WR)  # half-close: the answer comes after our FIN
    answer = b""
    while True:
        b = s.recv(4096)
        if not b:
            break
        answer += b
    s.close()
    got, digest = answer.decode().split()
    return {"bytes": int(got), "ok": int(got) == n and digest == stream_hash(seed, n)}


def down(addr, port, n, seed):
    s = connect(addr, port)
    s.sendall(f"DOWN {n} {seed}\n".encode())
    h = hashlib.sha256()
    got = 0
    while True:
        b = s.recv(CHUNK)
        if not b:
            break
        h.update(b)
        got += len(b)
    s.close()
    return {"bytes": got, "ok": got == n and h.hexdigest() == stream_hash(seed, n)}


async def hold(addr, port, n, seconds):
    req = b"GET / HTTP/1.1\r\nHost: x\r\n\r\n"
    res = {"answered": 0, "held": 0, "failed": 0}
    conns = []

    async def answer(r, w):
        w.write(req)
        await w.drain()
        head = await asyncio.wait_for(r.readuntil(b"\r\n\r\n"), 60)
        length = 0
        for line in head.split(b"\r\n"):
            if line.lower().startswith(b"content-length:"):
                length = int(line.split(b":")[1])
        await asyncio.wait_for(r.readexactly(length), 60)

    async def one():
        try:
            r, w = await asyncio.wait_for(asyncio.open_connection(addr, port), 60)
            await answer(r, w)
            res["answered"] += 1
            conns.append((r, w))
        except Exception:
            res["failed"] += 1

    sem = asyncio.Semaphore(2000)  # connects in flight at once

    async def limited():
        async with sem:
            await one()

    await asyncio.gather(*(limited() for _ in range(n)))
    await asyncio.sleep(seconds)

    async def again(r, w):
        try:
            await answer(r, w)
            res["held"] += 1
        except Exception:
            res["failed"] += 1

    await asyncio.gather(*(again(r, w) for r, w in conns))
    for _, w in conns:
        w.close()
    await asyncio.gather(*(w.wait_closed() for _, w in conns), return_exceptions=True)
    return res


def sink(port):
    srv = socket.socket()
    srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    srv.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)  # inherited by accepted sockets
    srv.bind(("0.0.0.0", port))
    srv.listen(16)
    held = []
    while True:
        c, _ = srv.accept()
        held.append(c)  # never read


def csum(b):
    if len(b) % 2:
        b += b"\0"
    s = sum(struct.unpack("!%dH" % (len(b) // 2), b))
    while s >> 16:
        s = (s & 0xFFFF) + (s >> 16)
    return ~s & 0xFFFF


TCP_REPAIR, TCP_REPAIR_QUEUE, TCP_QUEUE_SEQ = 19, 20, 21
TCP_RECV_QUEUE, TCP_SEND_QUEUE = 1, 2


def flood(addr, port, n, mode):
    s = socket.create_connection((addr, port), timeout=5)
    src, sport = s.getsockname()
    s.setsockopt(socket.IPPROTO_TCP, TCP_REPAIR, 1)
    s.setsockopt(socket.IPPROTO_TCP, TCP_REPAIR_QUEUE, TCP_SEND_QUEUE)
    snd = struct.unpack("I", s.getsockopt(socket.IPPROTO_TCP, TCP_QUEUE_SEQ, 4))[0]
    s.setsockopt(socket.IPPROTO_TCP, TCP_REPAIR_QUEUE, TCP_RECV_QUEUE)
    rcv = struct.unpack("I", s.getsockopt(socket.IPPROTO_TCP, TCP_QUEUE_SEQ, 4))[0]
    raw = socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_RAW)
    sa, da = socket.inet_aton(src), socket.inet_aton(addr)
    t0 = time.time()
    for k in range(n):
        seq = (snd + (k if mode == "inorder" else 1 + 2 * k)) & 0xFFFFFFFF
        payload = bytes([k & 0xFF])
        th = struct.pack("!HHIIBBHHH", sport, port, seq, rcv, 5 << 4, 0x18, 65535, 0, 0)
        c = csum(sa + da + struct.pack("!BBH", 0, 6, 21) + th + payload)
        th = th[:16] + struct.pack("!H", c) + th[18:]
        ip = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 41, k & 0xFFFF, 0x4000, 64, 6, 0, sa, da)
        raw.sendto(ip + th + payload, (addr, 0))
        if k % 64 == 63:
            time.sleep(0.003)  # under 20,000 a second: what meshdp's tap port takes without loss
    return {"sent": n, "mode": mode, "seconds": round(time.time() - t0, 2), "sock": s}


def main():
    cmd = sys.argv[1]
    if cmd == "bulk-server":
        Server(("0.0.0.0", int(sys.argv[2])), Bulk).serve_forever()
    elif cmd in ("up", "down"):
        addr, port, n, seed = sys.argv[2], int(sys.argv[3]), int(sys.argv[4]), int(sys.argv[5])
        r = (up if cmd == "up" else down)(addr, port, n, seed)
        print(json.dumps(r))
        sys.exit(0 if r["ok"] else 1)
    elif cmd == "sink":
        sink(int(sys.argv[2]))
    elif cmd == "flood":
        r = flood(sys.argv[2], int(sys.argv[3]), int(sys.argv[4]), sys.argv[5])
        r.pop("sock")  # closed in repair mode: silently, meshdp keeps its side
        print(json.dumps(r))
    elif cmd == "hold":
        addr, port, n, seconds = sys.argv[2], int(sys.argv[3]), int(sys.argv[4]), float(sys.argv[5])
        print(json.dumps(asyncio.run(hold(addr, port, n, seconds))))
    else:
        sys.exit(__doc__)


if __name__ == "__main__":
    main()
