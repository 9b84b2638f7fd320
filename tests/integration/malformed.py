#!/usr/bin/python3
"""Send malformed frames at meshdp from the client namespace and check that each
lands in its drop counter. Run inside the client namespace:
    malformed.py MESHCTL SOCKET IFACE
"""
import json
import subprocess
import sys
import time

from scapy.all import ARP, Dot1Q, Ether, ICMP, IP, IPv6, Raw, UDP, conf, get_if_hwaddr, sendp

meshctl, sock, iface = sys.argv[1:4]
conf.verb = 0


def ctl(*args):
    out = subprocess.run([meshctl, "--socket", sock, "--json", *args], check=True,
                         capture_output=True, text=True).stdout
    return json.loads(out)


def counters():
    return ctl("stats")["counters"]


ports = {p["name"]: p for p in ctl("ports")}
node_mac = ports["p0"]["mac"]
my_mac = get_if_hwaddr(iface)
eth = Ether(src=my_mac, dst=node_mac)
eth4 = Ether(src=my_mac, dst=node_mac, type=0x0800)
eth6 = Ether(src=my_mac, dst=node_mac, type=0x86DD)
etharp = Ether(src=my_mac, dst=node_mac, type=0x0806)
arp_req = bytes(ARP(op=1, psrc="10.10.1.2", pdst="10.10.1.1", hwsrc=my_mac))
ip_fwd = IP(src="10.10.1.2", dst="10.10.2.2")


def raw_ipv4(**fields):
    """An IPv4/UDP packet with fields forced as given, checksum recomputed unless set."""
    pkt = IP(src="10.10.1.2", dst="10.10.2.2", **fields) / UDP(sport=1000, dport=9) / Raw(b"x" * 20)
    return bytes(pkt)


def with_len(b, total):
    return b[:2] + total.to_bytes(2, "big") + b[4:]


cases = [
    # The kernel pads a frame shorter than 14 bytes, so truncate inside the 802.1Q tag.
    ("drop_eth_truncated", Ether(src=my_mac, dst=node_mac, type=0x8100) / Raw(b"\x00\x05")),
    ("drop_eth_bad_src", Ether(src="01:00:5e:00:00:01", dst=node_mac) / ip_fwd / UDP() / Raw(b"y")),
    ("drop_eth_unknown_type", Ether(src=my_mac, dst=node_mac, type=0x88B5) / Raw(b"z" * 46)),
    ("drop_vlan_unknown", eth / Dot1Q(vlan=777) / ip_fwd / UDP() / Raw(b"v")),
    ("drop_vlan_stacked", eth / Dot1Q(vlan=5) / Dot1Q(vlan=6) / ip_fwd / UDP() / Raw(b"q")),
    ("drop_arp_malformed", etharp / Raw(arp_req[:4] + b"\x05\x04" + arp_req[6:])),  # hlen 5
    ("drop_ipv4_truncated", eth4 / Raw(raw_ipv4()[:12])),
    ("drop_ipv4_bad_version", eth4 / Raw(bytes([0x65]) + raw_ipv4()[1:])),
    ("drop_ipv4_bad_ihl", eth4 / Raw(bytes([0x44]) + raw_ipv4()[1:])),
    ("drop_ipv4_bad_length", eth4 / Raw(with_len(raw_ipv4(), 12))),
    ("drop_ipv4_truncated", eth4 / Raw(with_len(raw_ipv4(), 400))),
    ("drop_ipv4_bad_checksum", eth4 / Raw(raw_ipv4(chksum=0x1234))),
    ("drop_ipv4_ttl_exceeded", eth4 / Raw(raw_ipv4(ttl=0))),
    ("drop_ipv4_bad_src", eth / IP(src="127.0.0.1", dst="10.10.2.2") / UDP() / Raw(b"l")),
    ("drop_icmp_bad_checksum", eth / IP(src="10.10.1.2", dst="10.10.1.1") / ICMP(type=8, chksum=0x4321) / Raw(b"p" * 8)),
    ("drop_ipv6_truncated", eth6 / Raw(bytes(IPv6(src="fd00:10:1::2", dst="fd00:10:2::2") / UDP() / Raw(b"s"))[:30])),
    ("drop_ipv6_hop_limit", Ether(src=my_mac, dst=node_mac) / IPv6(src="fd00:10:1::2", dst="fd00:10:2::2", hlim=0) / UDP() / Raw(b"h")),
]

failed = 0
for name, frame in cases:
    before = counters()
    sendp(frame, iface=iface, count=3)
    deadline = time.time() + 3
    while True:
        after = counters()
        if after.get(name, 0) - before.get(name, 0) >= 3 or time.time() > deadline:
            break
        time.sleep(0.05)
    delta = after.get(name, 0) - before.get(name, 0)
    moved = {k: after[k] - before.get(k, 0) for k in after
             if k.startswith("drop_") and after[k] != before.get(k, 0)}
    ok = delta == 3 and set(moved) == {name}
    print(f"{'ok  ' if ok else 'FAIL'} {name}: +{delta} (drop counters moved: {moved})")
    failed += not ok

status = ctl("status")
print(f"daemon up, generation {status['generation']}")
sys.exit(1 if failed else 0)
