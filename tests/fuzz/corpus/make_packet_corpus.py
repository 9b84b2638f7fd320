#!/usr/bin/python3
# SPDX-License-Identifier: BSD-3-Clause
"""Writes the seed corpus of fuzz_packet: byte 0 = port (bit 0), RX VLAN stripped
(bit 1), RX IP checksum good (bit 2); then one raw Ethernet frame. The addresses
match the snapshot fuzz_packet.c builds."""
import os
import sys

from scapy.all import ARP, Dot1Q, Ether, ICMP, ICMPv6EchoRequest, ICMPv6ND_NA, \
    ICMPv6ND_NS, ICMPv6NDOptSrcLLAddr, ICMPv6NDOptDstLLAddr, IP, IPv6, UDP, raw

IF0 = "02:00:00:00:00:01"
IF1 = "02:00:00:00:00:02"
VL = "02:00:00:00:00:03"
PEER = "02:aa:00:00:00:10"
BC = "ff:ff:ff:ff:ff:ff"


def frames():
    e0 = Ether(dst=IF0, src=PEER)
    yield "arp_request", 0, Ether(dst=BC, src=PEER) / ARP(op=1, hwsrc=PEER, psrc="10.0.0.9", pdst="10.0.0.1")
    yield "arp_reply", 0, e0 / ARP(op=2, hwsrc=PEER, psrc="10.0.0.9", pdst="10.0.0.1", hwdst=IF0)
    yield "arp_vlan", 1, Ether(dst=BC, src=PEER) / Dot1Q(vlan=100) / ARP(op=1, hwsrc=PEER, psrc="10.2.0.9", pdst="10.2.0.1")
    yield "arp_vlan_offload", 3, Ether(dst=BC, src=PEER) / ARP(op=1, hwsrc=PEER, psrc="10.2.0.9", pdst="10.2.0.1")
    yield "echo4", 0, e0 / IP(src="10.0.0.9", dst="10.0.0.1") / ICMP() / b"ping-payload"
    yield "echo4_options", 0, e0 / IP(src="10.0.0.9", dst="10.0.0.1", options=b"\x01\x01\x01\x00") / ICMP()
    yield "fwd4_known", 4, e0 / IP(src="10.0.0.9", dst="10.1.0.5", ttl=5) / UDP(sport=1, dport=2) / (b"x" * 20)
    yield "fwd4_unresolved", 0, e0 / IP(src="10.0.0.9", dst="10.1.0.77") / UDP() / (b"y" * 10)
    yield "ttl1", 0, e0 / IP(src="10.0.0.9", dst="10.1.0.5", ttl=1) / ICMP()
    yield "noroute4", 0, e0 / IP(src="10.0.0.9", dst="8.8.8.8") / ICMP()
    good = raw(e0 / IP(src="10.0.0.9", dst="10.0.0.1") / ICMP())
    yield "bad_ihl", 0, good[:14] + bytes([0x44]) + good[15:]
    yield "truncated_ip", 0, (e0 / IP(src="10.0.0.9", dst="10.0.0.1") / ICMP()).build()[:30]
    yield "truncated_eth", 0, bytes.fromhex("020000000001")
    yield "stacked_vlan", 1, Ether(dst=VL, src=PEER) / Dot1Q(vlan=100) / Dot1Q(vlan=5) / IP(dst="10.2.0.1") / ICMP()
    yield "ns", 0, Ether(dst="33:33:ff:00:00:01", src=PEER) / IPv6(src="2001:db8::10", dst="ff02::1:ff00:1", hlim=255) / ICMPv6ND_NS(tgt="2001:db8::1") / ICMPv6NDOptSrcLLAddr(lladdr=PEER)
    yield "ns_dad", 0, Ether(dst="33:33:ff:00:00:01", src=PEER) / IPv6(src="::", dst="ff02::1:ff00:1", hlim=255) / ICMPv6ND_NS(tgt="fe80::ff:fe00:1")
    yield "na", 0, e0 / IPv6(src="2001:db8::10", dst="2001:db8::1", hlim=255) / ICMPv6ND_NA(tgt="2001:db8::10", S=1) / ICMPv6NDOptDstLLAddr(lladdr=PEER)
    yield "echo6", 0, e0 / IPv6(src="2001:db8::10", dst="2001:db8::1") / ICMPv6EchoRequest(data=b"ping6")
    yield "fwd6", 0, e0 / IPv6(src="2001:db8::10", dst="2001:db8:1::5", hlim=2) / UDP() / (b"z" * 8)
    yield "fwd6_hop1", 0, e0 / IPv6(src="2001:db8::10", dst="2001:db8:1::5", hlim=1) / UDP()


def main():
    out = sys.argv[1] if len(sys.argv) > 1 else os.path.join(os.path.dirname(__file__), "packet")
    os.makedirs(out, exist_ok=True)
    for name, flags, f in frames():
        data = f if isinstance(f, bytes) else raw(f)
        with open(os.path.join(out, name + ".bin"), "wb") as fh:
            fh.write(bytes([flags]) + data)


if __name__ == "__main__":
    main()
