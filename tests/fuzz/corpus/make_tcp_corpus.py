#!/usr/bin/python3
# SPDX-License-Identifier: BSD-3-Clause
"""Writes the seed corpus of fuzz_tcp: scripts in the byte code fuzz_tcp.c reads
(see LLVMFuzzerTestOneInput() there), each driving the two stacks through a
different part of the state machine."""
import os
import struct
import sys

READ, CLOSE_EOF, ABORT_RD, WRITE, REFUSE, SHUT_TMR, SEND_ACC = 1, 2, 4, 8, 16, 32, 64
FIN, SYN, RST, PSH, ACK = 1, 2, 4, 8, 16


def header(clock=0, chained=False, p0=b"\0", p1=b"\0"):
    return struct.pack(">HB", clock, 1 if chained else 0) + p0 + p1


def params(cubic=False, nodelay=False, rcvbuf=None, sndbuf=None, ka=None, backlog=None,
           syn_retries=None):
    b, extra = 0, b""
    b |= 1 if cubic else 0
    b |= 2 if nodelay else 0
    if rcvbuf is not None:
        b |= 4
        extra += bytes([rcvbuf])
    if sndbuf is not None:
        b |= 8
        extra += bytes([sndbuf])
    if ka is not None:
        b |= 16
        extra += bytes(ka)
    if backlog is not None:
        b |= 32
        extra += bytes([backlog])
    if syn_retries is not None:
        b |= 64
        extra += bytes([syn_retries])
    return bytes([b]) + extra


def connect(frm=0, v6=False, port81=False, shut=False, p=None, mode=READ, rport=None):
    b = frm | (2 if v6 else 0) | (4 if port81 else 0) | (8 if p is not None else 0) | \
        (16 if shut else 0)
    if rport is not None:  # 40000 + rport: the peer's local port
        b |= 4 | 32 | (rport << 6)
    return bytes([0, b]) + (p if p is not None else b"\0") + bytes([mode])


def user(what, slot, b=0):  # 0 send b*40, 1 recv, 2 shutdown, 3 close, 4 abort, 5 timer, 6 mode
    return bytes([9 + 20 * what, slot, b])


def link(what, to, k=1):  # 0 deliver, 1 lose, 2 swap, 3 duplicate
    return bytes([8 + 20 * what, to | ((k - 1) << 1)])


FLUSH = b"\x03"


def advance(b):
    return bytes([4, b])


def settle(ms=10):
    return bytes([17, ms])


def mode(m):
    return bytes([16, m])


def forge(to, pick, flags, seq_mode=0, seq_off=0, ack_mode=0, ack_off=0, wnd=65535,
          opts=b"\0", payload=None):
    sm = seq_mode | (8 if payload is not None else 0)
    am = ack_mode
    out = bytes([5, to, pick, flags, sm, am])
    out += struct.pack(">h", seq_off) + struct.pack(">b", ack_off)
    out += struct.pack(">H", wnd) + opts
    if payload is not None:
        out += bytes([payload])
    return out


def opts_ts(delta=1):
    return bytes([8]) + struct.pack(">b", delta)


def opts_sack(blocks):
    out = bytes([16, len(blocks) - 1])
    for off, ln in blocks:
        out += struct.pack(">HH", off, ln)
    return out


def icmp(s, pick, seq_off=0, mtu_byte=0):
    return bytes([12, s, pick, seq_off & 0xff]) + (bytes([mtu_byte]) if not pick & 0x60 else b"")


def seeds():
    yield "handshake_data_close", header() + mode(READ | CLOSE_EOF) + connect(mode=READ) + \
        FLUSH + user(0, 0, 100) + settle(5) + settle(50) + user(2, 0) + settle(5) + \
        settle(50) + advance(0xd8) + FLUSH
    yield "bulk_loss", header(p1=params(rcvbuf=2)) + mode(READ) + \
        connect(mode=READ | WRITE) + FLUSH + user(0, 0, 200) + link(1, 1, 3) + \
        link(0, 1, 4) + link(2, 1, 2) + link(0, 1, 16) + link(0, 0, 16) + settle(1) + \
        link(3, 1) + settle(3) + advance(0x98) + settle(20) + user(0, 0, 255) + \
        user(0, 0, 255) + settle(100) + user(3, 0) + settle(200)
    yield "syn_cookies", header(p1=params(backlog=0)) + mode(READ | SEND_ACC) + \
        connect() + connect() + connect(p=params(nodelay=True)) + FLUSH + settle(10) + \
        user(0, 1, 30) + user(0, 2, 30) + settle(50) + user(4, 3) + settle(10)
    yield "forged_established", header() + connect() + FLUSH + \
        forge(1, 0, RST, seq_off=100) + forge(1, 0, SYN) + \
        forge(1, 0, ACK, ack_mode=1, ack_off=100) + \
        forge(1, 0, ACK | PSH, opts=opts_ts(5), payload=20) + \
        forge(1, 0, ACK | PSH, seq_off=3000, opts=opts_ts(6), payload=40) + \
        forge(0, 0, ACK, opts=bytes([8 | 16]) + bytes([1, 0]) + struct.pack(">HH", 0, 100)) + \
        forge(1, 0, ACK, seq_mode=1, payload=10) + \
        forge(1, 0, ACK | FIN, opts=opts_ts(7)) + FLUSH + settle(10) + \
        forge(1, 0, RST, opts=opts_ts(-100)) + FLUSH + advance(0xe0)
    yield "close_paths", header() + mode(READ) + connect(mode=READ | CLOSE_EOF) + \
        connect(mode=READ) + connect(mode=0) + connect(frm=1, mode=READ) + FLUSH + \
        user(0, 2, 10) + settle(5) + user(2, 0) + user(2, 4) + settle(1) + user(3, 1) + \
        user(4, 5) + settle(2) + user(3, 2) + settle(3) + user(2, 3) + user(2, 6) + \
        settle(100) + advance(0xc8) + settle(1) + advance(0xd0) + FLUSH
    yield "refused_keepalive", header(p0=params(ka=[5, 5, 2]), p1=params(ka=[5, 5, 2])) + \
        connect(frm=0, port81=True, shut=True) + connect(frm=1, v6=True, shut=True) + \
        FLUSH + link(1, 0, 1) + advance(0x60) + FLUSH + user(2, 1) + user(2, 0) + \
        link(2, 0, 1) + link(2, 1, 1) + FLUSH + advance(0x90) + FLUSH + advance(0xe8)
    # stack 0 uses port 40000 only, stack 1 40001 only: the SYNs cross
    yield "simultaneous_open", header() + bytes([14, 0, 0]) + bytes([14, 4, 1]) + \
        connect(frm=0, rport=1) + connect(frm=1, rport=0) + link(0, 0) + link(0, 1) + \
        link(0, 0) + link(0, 1) + FLUSH + user(0, 0, 10) + user(2, 0) + user(2, 1) + \
        link(0, 0) + link(0, 1) + FLUSH + advance(0xe8) + FLUSH
    # a SYN-ACK lost: SYN_RECEIVED, then the retransmissions
    yield "syn_received", header() + connect() + link(0, 1) + link(1, 0) + \
        forge(1, 0, ACK, ack_mode=1) + forge(1, 0, RST, seq_off=5) + advance(0x48) + \
        link(0, 1) + link(0, 0) + FLUSH + connect() + link(0, 1) + forge(1, 1, RST) + \
        FLUSH + advance(0x50)
    yield "icmp_timers_hog", header(chained=True) + mode(READ | SHUT_TMR | WRITE) + \
        connect(v6=True, mode=READ | SHUT_TMR) + connect(mode=READ) + \
        icmp(0, 0x40) + FLUSH + user(0, 1, 200) + icmp(0, 1, 0, 100) + \
        icmp(0, 0x41, 0) + user(5, 0, 20) + user(5, 1, 0x80) + settle(30) + \
        bytes([15, 3]) + user(0, 1, 255) + settle(20) + bytes([15, 0]) + settle(200) + \
        bytes([13, 1]) + connect() + FLUSH + bytes([13, 1]) + \
        bytes([14, 4 | 0, 0]) + connect() + FLUSH + user(3, 1) + settle(10) + connect() + \
        FLUSH + bytes([11, 1, 0, 30]) + bytes(range(50))


def main():
    out = sys.argv[1] if len(sys.argv) > 1 else os.path.join(os.path.dirname(__file__), "tcp")
    os.makedirs(out, exist_ok=True)
    for name, data in seeds():
        with open(os.path.join(out, name + ".bin"), "wb") as f:
            f.write(data)


if __name__ == "__main__":
    main()
