#!/usr/bin/python3
"""A userspace netem: bridge two interfaces frame by frame, impairing both ways.

    impair.py IF_A IF_B --delay-ms 20 --loss 5 --reorder 25 --duplicate 1 [--seed N]

The kernel here has no sch_netem, so the integration tests put this between
meshdp and a backend. Semantics follow netem's: each frame is lost with
probability --loss %, else duplicated with probability --duplicate %, and sent
after --delay-ms, except that --reorder % of frames are sent at once (so they
overtake the delayed ones). Each direction is impaired on its own. Runs until
killed; prints a JSON line of counts to stderr on SIGTERM.
"""
import argparse
import heapq
import json
import random
import select
import signal
import socket
import sys
import time

ETH_P_ALL = 0x0003
PACKET_OUTGOING = 4


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("if_a")
    ap.add_argument("if_b")
    ap.add_argument("--delay-ms", type=float, default=0)
    ap.add_argument("--loss", type=float, default=0)
    ap.add_argument("--reorder", type=float, default=0)
    ap.add_argument("--duplicate", type=float, default=0)
    ap.add_argument("--seed", type=int, default=1)
    a = ap.parse_args()
    rnd = random.Random(a.seed)
    socks = {}
    for name in (a.if_a, a.if_b):
        s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(ETH_P_ALL))
        s.bind((name, 0))
        s.setblocking(False)
        socks[name] = s
    peer = {socks[a.if_a]: socks[a.if_b], socks[a.if_b]: socks[a.if_a]}
    counts = {"in": 0, "lost": 0, "duplicated": 0, "reordered": 0, "out": 0}
    queue = []  # (due, seq, socket, frame)
    seq = 0

    def stop(*_):
        print(json.dumps(counts), file=sys.stderr, flush=True)
        sys.exit(0)

    signal.signal(signal.SIGTERM, stop)
    delay = a.delay_ms / 1000.0
    while True:
        now = time.monotonic()
        timeout = max(0.0, queue[0][0] - now) if queue else 1.0
        ready, _, _ = select.select(list(peer), [], [], timeout)
        for s in ready:
            while True:
                try:
                    frame, addr = s.recvfrom(65535)
                except BlockingIOError:
                    break
                if addr[2] == PACKET_OUTGOING:
                    continue  # our own transmissions, seen again
                counts["in"] += 1
                if rnd.random() * 100 < a.loss:
                    counts["lost"] += 1
                    continue
                copies = 2 if rnd.random() * 100 < a.duplicate else 1
                counts["duplicated"] += copies - 1
                for _ in range(copies):
                    at = time.monotonic()
                    if rnd.random() * 100 < a.reorder:
                        counts["reordered"] += 1
                    else:
                        at += delay
                    seq += 1
                    heapq.heappush(queue, (at, seq, peer[s], frame))
        now = time.monotonic()
        while queue and queue[0][0] <= now:
            _, _, out, frame = heapq.heappop(queue)
            try:
                out.send(frame)
                counts["out"] += 1
            except OSError:
                pass


if __name__ == "__main__":
    main()
