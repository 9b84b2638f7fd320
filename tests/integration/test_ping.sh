#!/usr/bin/env bash
# Ping (IPv4 and IPv6) the node and through it, TTL expiry and no-route answers.
# Env: IT_MESHDP_ARGS extra meshdp arguments (e.g. --no-huge).
source "$(dirname "$0")/lib.sh"

# shellcheck disable=SC2086
it_start_meshdp ${IT_MESHDP_ARGS:-}
it_topology_tap
if [ -n "${IT_EXPECT_MEMORY:-}" ]; then
	grep -q "memory: $IT_EXPECT_MEMORY" "$IT_WORK/meshdp.log" || it_fail "meshdp did not run $IT_EXPECT_MEMORY"
fi

it_log "ping the node's own addresses"
it_in_client ping -c 3 -i 0.2 -W 2 10.10.1.1 >/dev/null || it_fail "no IPv4 echo reply from 10.10.1.1"
it_in_client ping -6 -c 3 -i 0.2 -W 2 fd00:10:1::1 >/dev/null || it_fail "no IPv6 echo reply from fd00:10:1::1"
[ "$(it_stat icmp_echo_replies)" -ge 3 ] || it_fail "icmp_echo_replies did not count the replies"
[ "$(it_stat icmp6_echo_replies)" -ge 3 ] || it_fail "icmp6_echo_replies did not count the replies"
[ "$(it_stat ndp_na_out)" -ge 1 ] || it_fail "no neighbour advertisement was sent"

it_log "ping through the node (connected and gateway routes)"
for dst in 10.10.2.2 10.20.0.1; do
	it_in_client ping -c 3 -i 0.2 -W 2 "$dst" >/dev/null || it_fail "no IPv4 echo reply from $dst through meshdp"
done
for dst in fd00:10:2::2 fd00:20::1; do
	it_in_client ping -6 -c 3 -i 0.2 -W 2 "$dst" >/dev/null || it_fail "no IPv6 echo reply from $dst through meshdp"
done
[ "$(it_stat ipv4_forwarded)" -ge 12 ] || it_fail "ipv4_forwarded below the 12 packets pinged through"
[ "$(it_stat ipv6_forwarded)" -ge 12 ] || it_fail "ipv6_forwarded below the 12 packets pinged through"
it_ctl neigh | grep -q 10.10.2.2 || it_fail "meshctl neigh does not list the server 10.10.2.2"
it_ctl routes | grep -q 10.20.0.0/16 || it_fail "meshctl routes does not list 10.20.0.0/16"

it_log "TTL 1 through the node: time exceeded from 10.10.1.1"
before=$(it_stat drop_ipv4_ttl_exceeded)
out=$(it_in_client ping -c 1 -t 1 -W 2 10.10.2.2 || true)
grep -q "From 10.10.1.1.*Time to live exceeded" <<<"$out" || it_fail "no ICMP time exceeded: $out"
[ "$(it_stat drop_ipv4_ttl_exceeded)" -eq $((before + 1)) ] || it_fail "drop_ipv4_ttl_exceeded did not count the expired packet"
out=$(it_in_client ping -6 -c 1 -t 1 -W 2 fd00:10:2::2 || true)
grep -qi "From fd00:10:1::1.*Time exceeded" <<<"$out" || it_fail "no ICMPv6 time exceeded: $out"

it_log "no route: net unreachable"
before=$(it_stat drop_ipv4_no_route)
out=$(it_in_client ping -c 1 -W 2 10.99.0.1 || true)
grep -q "From 10.10.1.1.*Destination Net Unreachable" <<<"$out" || it_fail "no ICMP net unreachable: $out"
[ "$(it_stat drop_ipv4_no_route)" -eq $((before + 1)) ] || it_fail "drop_ipv4_no_route did not count"

it_stop_meshdp
it_log "ok"
