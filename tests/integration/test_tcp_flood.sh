#!/usr/bin/env bash
# TCP memory under 1-byte floods (issue 16, tcp.h "Memory"): a crafted client
# (tcp_tools.py flood: a kernel handshake, then raw 1-byte segments) sends
# tens of thousands of 1-byte segments, in order and out of order, through
# the "sink" listener to a backend that never reads, more than the node has
# mbufs; curl through another listener must keep working during and after
# each flood, and the counters show the stack collapsed small segments and
# refused what its memory bounds did not allow. Before the bounds, each byte
# pinned an mbuf of the port's pool and the node stopped receiving.
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/lib_l4.sh"
TOOLS=$(dirname "$0")/tcp_tools.py
PROXY=10.10.1.1
N=${IT_FLOOD_SEGS:-40000} # the default pool has 16384 mbufs

# the tcp_proxy config plus a listener to a backend that never reads
IT_L4_CONFIG=$IT_WORK/tcp-flood.json
"$IT_PY" - "$IT_ROOT/tests/data/tcp-proxy.json" "$IT_L4_CONFIG" <<'PY'
import json, sys
d = json.load(open(sys.argv[1]))
d["services"].append({"name": "sink", "namespace": "shop", "vip": "10.30.0.15",
                      "ports": [{"port": 7100, "protocol": "tcp"}],
                      "endpoints": [{"address": "10.10.2.12"}], "health": {"interval_ms": 0}})
d["policies"].append({"name": "frontend-to-sink", "action": "allow",
                      "from": {"namespace": "shop", "service": "frontend"}, "to": {"service": "sink"}})
d["listeners"].append({"name": "sink", "type": "tcp_proxy", "address": "10.10.1.1", "port": 7100,
                       "cluster": "shop/sink", "idle_timeout_s": 3})
json.dump(d, open(sys.argv[2], "w"))
PY

it_start_meshdp --config "$IT_L4_CONFIG"
it_topology_backends
ip netns exec mdp-b2 "$IT_PY" "$TOOLS" sink 7100 >"$IT_WORK/sink.log" 2>&1 &
SINK_PID=$!
cleanup()
{
	set +e
	kill $SINK_PID 2>/dev/null
	it_l4_cleanup
}
trap cleanup EXIT
sleep 2 # backends healthy

diag() { it_ctl stats | grep -v " 0$" | grep -E "tcp_|proxy_|drop_|alloc" >&2 || true; }
curl_ok() { it_in_client curl -sf -m 3 "http://$PROXY:8080/" | grep -q " 10.10.2.1$" || { diag; it_fail "curl through the proxy failed $1"; }; }
curl_ok "before the floods"

for mode in inorder ooo; do
	it_log "$N 1-byte segments $mode to a backend that never reads, curl through another listener"
	segs0=$(it_stat tcp_segs_in)
	it_in_client "$IT_PY" "$TOOLS" flood "$PROXY" 7100 "$N" "$mode" >"$IT_WORK/flood-$mode" &
	flood_pid=$!
	while kill -0 $flood_pid 2>/dev/null; do
		curl_ok "during the $mode flood"
	done
	wait $flood_pid || it_fail "flood $mode: $(cat "$IT_WORK/flood-$mode")"
	echo "    $(cat "$IT_WORK/flood-$mode")"
	# not a vacuous pass: the flood reached the stack (the tap loses frames beyond its queue)
	segs=$(($(it_stat tcp_segs_in) - segs0))
	echo "    the stack took $segs segments"
	[ "$segs" -ge $((N * 9 / 10)) ] || { diag; it_fail "only $segs of $N flood segments reached the stack"; }
	# the flooded connection is held (its reader never reads): the node still receives
	for _ in 1 2 3; do curl_ok "after the $mode flood"; done
done

collapsed=$(($(it_stat tcp_rcv_collapsed) + $(it_stat tcp_snd_collapsed)))
ooo_refused=$(it_stat drop_tcp_ooo_memory)
alloc_failed=$(($(it_stat tcp_alloc_failed) + $(it_stat net_alloc_failed)))
echo "    collapsed $collapsed, out-of-order refused $ooo_refused, allocations failed $alloc_failed"
# most of the in-order bytes were copied into queue tails (the tap may lose some)
[ "$collapsed" -ge $((N / 2)) ] || { diag; it_fail "only $collapsed segments collapsed of $N in order"; }
# the out-of-order bytes beyond the connection's bound (about 230 mbufs) were refused
[ "$ooo_refused" -ge $((N / 4)) ] || { diag; it_fail "only $ooo_refused out-of-order segments refused of $N"; }
[ "$alloc_failed" -eq 0 ] || { diag; it_fail "the pool ran dry: $alloc_failed allocations failed"; }
it_log "ok"
