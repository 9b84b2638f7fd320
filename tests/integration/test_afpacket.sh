#!/usr/bin/env bash
# The afpacket profile: meshdp runs in its own namespace on the root ends of two
# veth pairs (drivers-config/afpacket.json) and forwards between client and server.
source "$(dirname "$0")/lib.sh"

NS_N=mdp-node
cleanup_node() { ip netns del "$NS_N" 2>/dev/null || true; }
trap 'it_cleanup; cleanup_node' EXIT

ip netns add "$IT_NS_C"
ip netns add "$IT_NS_S"
ip netns add "$NS_N"
ip link add mdp-c netns "$NS_N" type veth peer name c0 netns "$IT_NS_C"
ip link add mdp-s netns "$NS_N" type veth peer name s0 netns "$IT_NS_S"
for ifc in mdp-c mdp-s; do
	ip netns exec "$NS_N" sysctl -qw "net.ipv6.conf.$ifc.disable_ipv6=1"
	ip -n "$NS_N" link set "$ifc" up
done
# Peers must put real checksums in their frames: AF_PACKET hands meshdp what the
# kernel built, and a partial (offloaded) checksum would be forwarded as is.
ip netns exec "$IT_NS_C" ethtool -K c0 tx off >/dev/null
ip netns exec "$IT_NS_S" ethtool -K s0 tx off >/dev/null
it_ns_addr "$IT_NS_C" c0 10.10.1.2/24 fd00:10:1::2/64 10.10.1.1 fd00:10:1::1
it_ns_addr "$IT_NS_S" s0 10.10.2.2/24 fd00:10:2::2/64 10.10.2.1 fd00:10:2::1

IT_WRAP="ip netns exec $NS_N" it_start_meshdp --profile "$IT_ROOT/drivers-config/afpacket.json"
it_ctl status | grep -q afpacket || it_fail "status does not name the afpacket profile"
it_in_client ping -c 3 -i 0.2 -W 2 10.10.1.1 >/dev/null || it_fail "no echo reply from the node over AF_PACKET"
it_in_client ping -c 3 -i 0.2 -W 2 10.10.2.2 >/dev/null || it_fail "no IPv4 forwarding over AF_PACKET"
it_in_client ping -6 -c 3 -i 0.2 -W 2 fd00:10:2::2 >/dev/null || it_fail "no IPv6 forwarding over AF_PACKET"
it_stop_meshdp
it_log "ok"
