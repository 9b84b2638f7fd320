#!/usr/bin/env bash
# Two meshdp nodes take their configuration from a 3-member etcd cluster
# (SM-DR25) with etcd's authentication on: node a on the TAP topology with
# traffic through it, node b on net_null ports, both as an etcd user that may
# read the fleet's keys and write only their status. A fleet document reaches
# both nodes' live configuration (the time from the etcd put to the later
# node's publish is measured and reported); a bad revision and one that holds a
# node's own member are refused, reported in each node's status key, and
# change nothing. An etcd user with the role of store's operator publishes
# store's namespace document, which both nodes merge; etcd refuses that user
# billing's key and the fleet document, and the nodes refuse a store document
# holding a billing service. The member a node is connected to is killed and
# restarted without a change being lost; 1,000 revisions in a row during a
# ping flood through node a lose no packet and end at the last revision on
# both nodes; node b restarts from its cache while etcd is down and catches up
# when it is back.
source "$(dirname "$0")/lib.sh"

TOOL="$IT_PY $(dirname "$0")/fleet_tool.py"
PREFIX=/meshdp/it-fleet
CLUSTER=m1=http://127.0.0.1:23801,m2=http://127.0.0.1:23802,m3=http://127.0.0.1:23803
ENDPOINTS=http://127.0.0.1:23791,http://127.0.0.1:23792,http://127.0.0.1:23793
SOCK_B=/run/meshdp/it-fleet-b.sock
declare -A ETCD_PID
B_PID=
STORM_PID=

cleanup_fleet()
{
	set +e
	[ -n "$STORM_PID" ] && kill "$STORM_PID" 2>/dev/null
	[ -n "$B_PID" ] && kill -TERM "$B_PID" 2>/dev/null && wait "$B_PID" 2>/dev/null
	for m in "${!ETCD_PID[@]}"; do
		kill "${ETCD_PID[$m]}" 2>/dev/null && wait "${ETCD_PID[$m]}" 2>/dev/null
	done
	it_cleanup
}
trap cleanup_fleet EXIT

# start_member N: etcd member mN (client port 2379N, peer port 2380N)
start_member()
{
	local n=$1
	etcd --name "m$n" --data-dir "$IT_WORK/etcd-m$n" \
		--listen-client-urls "http://127.0.0.1:2379$n" --advertise-client-urls "http://127.0.0.1:2379$n" \
		--listen-peer-urls "http://127.0.0.1:2380$n" --initial-advertise-peer-urls "http://127.0.0.1:2380$n" \
		--initial-cluster "$CLUSTER" --initial-cluster-state new --initial-cluster-token mdp-it-fleet \
		>>"$IT_WORK/etcd-m$n.log" 2>&1 &
	ETCD_PID[$n]=$!
}
etcdctl_root() { ETCDCTL_API=3 etcdctl --endpoints "$ENDPOINTS" --user root:rootpw "$@"; }
cluster_healthy() { ETCDCTL_API=3 etcdctl --endpoints "$ENDPOINTS" ${ETCD_AUTH:+--user root:rootpw} endpoint health >/dev/null 2>&1; }
ctl_b() { "$IT_MESHCTL" --socket "$SOCK_B" "$@"; }
b_answers() { kill -0 "$B_PID" 2>/dev/null || it_fail "node b exited: $(tail -5 "$IT_WORK/b.log")"; ctl_b status >/dev/null 2>&1; }
etcd_field() { "$IT_PY" -c 'import json,sys; print(json.load(sys.stdin)[sys.argv[1]])' "$1"; }
# weight_of CTL...: the endpoint weight of shop/web in that node's live document
weight_of() { "$@" --json config show | "$IT_PY" -c 'import json,sys; t=json.loads(json.load(sys.stdin)["text"]); print(t["services"][0]["endpoints"][0]["weight"])'; }
publish() { "$IT_MESHCTL" --json fleet publish --endpoints "$ENDPOINTS" --prefix "$PREFIX" --user root:rootpw "$1" | etcd_field revision; }
# service_names CTL...: the services of that node's live document
service_names() { "$@" --json config show | "$IT_PY" -c 'import json,sys; t=json.loads(json.load(sys.stdin)["text"]); print(" ".join(s["namespace"] + "/" + s["name"] for s in t["services"]))'; }
start_b()
{
	"$IT_MESHDP" --profile "$IT_WORK/b-profile.json" --config "$IT_WORK/b.json" >>"$IT_WORK/b.log" 2>&1 &
	B_PID=$!
	it_wait_for "node b answering" 30 b_answers
}

for n in 1 2 3; do start_member "$n"; done
it_wait_for "a healthy 3-member etcd cluster" 30 cluster_healthy

# etcd's roles: root (an admin), the nodes (read the fleet, write their status),
# store's operator (store's namespace key only)
etcdctl_root user add root:rootpw --interactive=false >/dev/null
etcdctl_root user grant-role root root >/dev/null
etcdctl_root role add mdp-node >/dev/null
etcdctl_root role grant-permission mdp-node --prefix=true read "$PREFIX/" >/dev/null
etcdctl_root role grant-permission mdp-node --prefix=true readwrite "$PREFIX/status/" >/dev/null
etcdctl_root user add mdp-node:nodepw --interactive=false >/dev/null
etcdctl_root user grant-role mdp-node mdp-node >/dev/null
etcdctl_root role add store-operator >/dev/null
etcdctl_root role grant-permission store-operator readwrite "$PREFIX/namespaces/store" >/dev/null
etcdctl_root user add store-op:storepw --interactive=false >/dev/null
etcdctl_root user grant-role store-op store-operator >/dev/null
etcdctl_root auth enable >/dev/null
ETCD_AUTH=1
export FLEET_USER=root:rootpw
echo nodepw >"$IT_WORK/node.pass"

"$IT_PY" - "$IT_ROOT" "$IT_WORK" "$ENDPOINTS" "$PREFIX" "$SOCK_B" <<'PY'
import json, sys
root, work, endpoints, prefix, sock_b = sys.argv[1:]
base = json.load(open(root + "/dataplane/config/default.json"))
def node(name, **kw):
    d = json.loads(json.dumps(base))
    d["etcd"] = {"endpoints": endpoints.split(","), "prefix": prefix, "node": name,
                 "cache": f"{work}/{name}-cache.json", "backoff_max_ms": 1000,
                 "user": "mdp-node", "password_file": f"{work}/node.pass"}
    d.update(kw)
    return d
json.dump(node("a"), open(work + "/a.json", "w"), indent=1)
json.dump(node("b", control={"socket": sock_b, "group": ""}, admin={"listen": ""}),
          open(work + "/b.json", "w"), indent=1)
p = json.load(open(root + "/drivers-config/null.json"))
p["eal"]["file_prefix"] = "meshdp-it-fleet-b"
p["eal"]["lcores"] = "0,1"
json.dump(p, open(work + "/b-profile.json", "w"), indent=1)
PY
$TOOL docs "$IT_WORK"
it_start_meshdp --config "$IT_WORK/a.json"
it_topology_tap
start_b

it_log "a fleet document reaches both nodes; propagation time over 20 changes"
rev=$(publish "$IT_WORK/fleet-30.json")
$TOOL wait "$ENDPOINTS" "$PREFIX" "$rev" a b >/dev/null || it_fail "meshctl fleet publish did not reach both nodes"
[ "$(weight_of ctl_b)" = 30 ] || it_fail "node b does not run the published document"
read -r -a lat < <($TOOL latency "$ENDPOINTS" "$PREFIX" "$IT_WORK" 20 a b)
[ "$(weight_of it_ctl)" = 20 ] && [ "$(weight_of ctl_b)" = 20 ] || it_fail "the nodes do not run the last fleet document"
read -r p50 pmax < <("$IT_PY" -c 'import sys, statistics; v=sorted(map(int, sys.argv[1:])); print(int(statistics.median(v)), v[-1])' "${lat[@]}")
it_log "propagation, etcd put to the later node's publish: median ${p50} ms, max ${pmax} ms (${lat[*]})"
[ "$p50" -le 100 ] || it_fail "median propagation ${p50} ms is over 100 ms"
it_ctl etcd | grep -q "^connected  *yes" || it_fail "node a's etcd state does not say connected"

it_log "a bad revision and one with a node member: refused, reported, nothing changes"
gen_a=$(it_ctl --json status | etcd_field generation)
rev=$(publish "$IT_WORK/bad.json")
st=$($TOOL wait "$ENDPOINTS" "$PREFIX" "$rev" a b)
"$IT_PY" -c 'import json,sys; s=json.loads(sys.argv[1]); assert all(v["result"] == "refused" and v["error"].startswith("$.services[0]") for v in s.values()), s' "$st" || it_fail "the bad revision was not refused as expected: $st"
rev=$(publish "$IT_WORK/node-member.json")
st=$($TOOL wait "$ENDPOINTS" "$PREFIX" "$rev" a b)
"$IT_PY" -c 'import json,sys; s=json.loads(sys.argv[1]); assert all(v["result"] == "refused" and "the node" in v["error"] and "$.interfaces" in v["error"] for v in s.values()), s' "$st" || it_fail "a fleet document with interfaces was not refused: $st"
[ "$(it_ctl --json status | etcd_field generation)" = "$gen_a" ] || it_fail "a refused revision changed node a's generation"
[ "$(weight_of ctl_b)" = 20 ] || it_fail "a refused revision changed node b"
[ "$(it_ctl --json etcd | etcd_field refused)" = 2 ] || it_fail "node a did not count 2 refused revisions"

rev=$(publish "$IT_WORK/fleet-20.json") # good again
$TOOL wait "$ENDPOINTS" "$PREFIX" "$rev" a b >/dev/null

it_log "store's operator (an etcd user) publishes store's namespace; etcd refuses it the rest"
store_publish() { "$IT_MESHCTL" --json fleet publish --endpoints "$ENDPOINTS" --prefix "$PREFIX" --user store-op:storepw --namespace "$@"; }
rev=$(store_publish store "$IT_WORK/ns-store.json" | etcd_field revision)
$TOOL wait "$ENDPOINTS" "$PREFIX" "$rev" a b >/dev/null
[ "$(service_names it_ctl)" = "shop/web store/cart" ] || it_fail "node a did not merge store's namespace: $(service_names it_ctl)"
[ "$(service_names ctl_b)" = "shop/web store/cart" ] || it_fail "node b did not merge store's namespace"
out=$(store_publish billing "$IT_WORK/ns-store.json" 2>&1) && it_fail "etcd let store's operator write billing: $out"
grep -q "permission denied" <<<"$out" || it_fail "billing's refusal unclear: $out"
out=$("$IT_MESHCTL" fleet publish --endpoints "$ENDPOINTS" --prefix "$PREFIX" --user store-op:storepw "$IT_WORK/fleet-20.json" 2>&1) && it_fail "etcd let store's operator write the fleet document: $out"
rev=$(store_publish store "$IT_WORK/ns-store-billing.json" | etcd_field revision)
st=$($TOOL wait "$ENDPOINTS" "$PREFIX" "$rev" a b)
"$IT_PY" -c 'import json,sys; s=json.loads(sys.argv[1]); assert all(v["result"] == "refused" and v["error"].startswith("namespaces/store: $.services[0]: expected an entry of namespace store") for v in s.values()), s' "$st" || it_fail "a store document with a billing service was not refused: $st"
rev=$(store_publish store "$IT_WORK/ns-store.json" | etcd_field revision)
$TOOL wait "$ENDPOINTS" "$PREFIX" "$rev" a b >/dev/null

it_log "the etcd member node a uses is killed, then restarted"
ep=$(it_ctl --json etcd | etcd_field endpoint)
m=${ep: -1}
reconnects=$(it_ctl --json etcd | etcd_field reconnects)
kill -9 "${ETCD_PID[$m]}"
wait "${ETCD_PID[$m]}" 2>/dev/null || true
rev=$(publish "$IT_WORK/fleet-21.json")
$TOOL wait "$ENDPOINTS" "$PREFIX" "$rev" a b >/dev/null
[ "$(weight_of it_ctl)" = 21 ] && [ "$(weight_of ctl_b)" = 21 ] || it_fail "a change with member m$m down was lost"
[ "$(it_ctl --json etcd | etcd_field endpoint)" != "$ep" ] || it_fail "node a did not move off the killed member"
[ "$(it_ctl --json etcd | etcd_field reconnects)" -gt "$reconnects" ] || it_fail "node a counted no reconnect"
start_member "$m"
it_wait_for "member m$m back" 30 cluster_healthy
rev=$(publish "$IT_WORK/fleet-22.json")
$TOOL wait "$ENDPOINTS" "$PREFIX" "$rev" a b >/dev/null
[ "$(weight_of it_ctl)" = 22 ] || it_fail "a change after the member's restart was lost"

it_log "1,000 revisions in a row during a ping flood through node a"
it_in_client ping -c 3 -q 10.10.2.2 >/dev/null || it_fail "no ping through node a"
drops0=$(it_drops)
seen0=$(it_ctl --json etcd | etcd_field revisions)
# The revisions and the nodes' catching up run in the background while ping
# rounds of a fixed count follow one another until they are done: each round
# ends by itself with every reply awaited (one cut short by a signal counts its
# last request lost), and a slow machine only means more rounds.
(
	last=$($TOOL storm "$ENDPOINTS" "$PREFIX" "$IT_WORK" 1000) || exit 1
	echo "$last" >"$IT_WORK/storm-last"
	$TOOL wait "$ENDPOINTS" "$PREFIX" "$last" a b >"$IT_WORK/storm-state"
) &
STORM_PID=$!
: >"$IT_WORK/ping.txt"
rounds=0
while kill -0 "$STORM_PID" 2>/dev/null; do
	ip netns exec "$IT_NS_C" ping -i 0.002 -c 500 -W 1 -q 10.10.2.2 >>"$IT_WORK/ping.txt" 2>&1 || true
	rounds=$((rounds + 1))
done
wait "$STORM_PID" || it_fail "the 1,000 revisions or the nodes' catching up failed"
STORM_PID=
last=$(cat "$IT_WORK/storm-last")
st=$(cat "$IT_WORK/storm-state")
"$IT_PY" -c 'import json,sys; s=json.loads(sys.argv[1]); assert all(v["result"] == "applied" and v["revision"] >= int(sys.argv[2]) for v in s.values()), s' "$st" "$last" || it_fail "the nodes did not end at revision $last: $st"
[ "$(weight_of it_ctl)" = 1000 ] && [ "$(weight_of ctl_b)" = 1000 ] || it_fail "the nodes do not run the 1,000th revision"
[ "$(grep -c " 0% packet loss" "$IT_WORK/ping.txt")" = "$rounds" ] || it_fail "packets lost during the revisions: $(cat "$IT_WORK/ping.txt")"
[ "$(it_drops)" = "$drops0" ] || it_fail "drop counters moved during the revisions"
it_log "$rounds ping rounds of 500 without a loss; node a took $(($(it_ctl --json etcd | etcd_field revisions) - seen0)) of the 1,000 revisions (the rest coalesced)"

it_log "node b restarts from its cache while etcd is down, and catches up"
for m in 1 2 3; do kill "${ETCD_PID[$m]}"; wait "${ETCD_PID[$m]}" 2>/dev/null || true; done
kill -TERM "$B_PID"
wait "$B_PID" || it_fail "node b did not exit cleanly"
b_rev=$("$IT_PY" -c 'import json,sys; print(json.load(open(sys.argv[1]))["revision"])' "$IT_WORK/b-cache.json")
start_b
it_wait_for "node b applying its cache" 10 sh -c "'$IT_MESHCTL' --socket '$SOCK_B' --json etcd | grep -q '\"applied_from\": \"cache\"'"
got=$(ctl_b --json etcd | etcd_field applied_revision)
[ "$got" = "$b_rev" ] || it_fail "node b applied revision $got from its cache, not $b_rev"
[ "$(weight_of ctl_b)" = 1000 ] || it_fail "node b did not start with the cached fleet document"
[ "$(ctl_b --json etcd | etcd_field connected)" = False ] || it_fail "node b says connected with etcd down"
for m in 1 2 3; do start_member "$m"; done
it_wait_for "the etcd cluster back" 30 cluster_healthy
it_wait_for "node b reconnected" 20 sh -c "'$IT_MESHCTL' --socket '$SOCK_B' --json etcd | grep -q '\"connected\": true'"
rev=$(publish "$IT_WORK/fleet-23.json")
$TOOL wait "$ENDPOINTS" "$PREFIX" "$rev" a b >/dev/null
[ "$(weight_of ctl_b)" = 23 ] && [ "$(weight_of it_ctl)" = 23 ] || it_fail "the nodes missed a change after etcd came back"
"$IT_MESHCTL" --json fleet status --endpoints "$ENDPOINTS" --prefix "$PREFIX" --user root:rootpw >"$IT_WORK/fleet-status.json" || it_fail "meshctl fleet status failed"
"$IT_PY" -c 'import json,sys; s=json.load(open(sys.argv[1])); n={x["node"]: x for x in s["nodes"]}; assert s["revision"] == int(sys.argv[2]) and set(n) == {"a", "b"} and all(x["result"] == "applied" and x["revision"] >= int(sys.argv[2]) for x in n.values()), s' "$IT_WORK/fleet-status.json" "$rev" || it_fail "meshctl fleet status does not show both nodes at $rev: $(cat "$IT_WORK/fleet-status.json")"
out=$("$IT_MESHCTL" fleet status --endpoints "$ENDPOINTS" --prefix "$PREFIX" 2>&1) && it_fail "etcd answered fleet status without credentials: $out"

it_stop_meshdp
it_log "ok"
