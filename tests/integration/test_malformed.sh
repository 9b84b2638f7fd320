#!/usr/bin/env bash
# Malformed frames from scapy: each lands in its own drop counter, the daemon stays up.
source "$(dirname "$0")/lib.sh"

it_start_meshdp
it_topology_tap
# Resolve neighbours first so no resolution traffic mixes into the counts.
it_in_client ping -c 1 -W 2 10.10.2.2 >/dev/null || it_fail "ping through meshdp failed"
it_settle
it_in_client "$IT_PY" "$(dirname "$0")/malformed.py" "$IT_MESHCTL" "$IT_SOCK" mdp0 || it_fail "malformed frames were not all counted"
it_in_client ping -c 2 -i 0.2 -W 2 10.10.2.2 >/dev/null || it_fail "forwarding broken after malformed frames"
it_stop_meshdp
it_log "ok"
