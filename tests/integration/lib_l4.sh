# The L4 topology (source after lib.sh):
#
#   netns mdp-client                 meshdp                netns mdp-server (bridge br0)
#   mdp0 10.10.1.2 (frontend)  <-TAP-> p0 | p1 <-TAP-> mdp1 -- br0 --+-- mdp-b1 10.10.2.11
#        10.10.1.3 (rogue)                                           +-- mdp-b2 10.10.2.12
#                                                                    +-- mdp-b3 10.10.2.13
#                                                                        + 198.51.100.10, .20
# Each backend runs nginx answering every request with its own name (b1, b2, b3).
# The config is tests/data/l4-mesh.json.

IT_L4_CONFIG=$IT_ROOT/tests/data/l4-mesh.json

it_l4_cleanup()
{
	set +e
	for b in b1 b2 b3; do
		[ -f "$IT_WORK/$b/nginx.pid" ] && kill "$(cat "$IT_WORK/$b/nginx.pid")" 2>/dev/null
		it_netns_del "mdp-$b"
	done
	it_cleanup
}
trap it_l4_cleanup EXIT

# it_start_backend NAME: nginx in mdp-NAME answering every request with NAME.
it_start_backend()
{
	local b=$1 dir="$IT_WORK/$1"
	it_nginx_conf "$dir" 16384 <<EOF
	access_log off;
	keepalive_requests 100000;
	server {
		listen 80 reuseport backlog=4096;
		location / { return 200 "$b \$remote_addr\n"; }
	}
EOF
	ip netns exec "mdp-$b" nginx -c "$dir/nginx.conf"
	it_wait_for "nginx serving in mdp-$b" 10 it_backend_up "$b"
}

# it_backend_up NAME: its nginx answers (from inside its namespace).
it_backend_up() { ip netns exec "mdp-$1" curl -sf -o /dev/null "http://127.0.0.1/"; }
it_backend_down() { ! it_backend_up "$1"; }

# it_stop_backend NAME: stop its nginx; connections to it then get RST.
it_stop_backend()
{
	local pidf="$IT_WORK/$1/nginx.pid"
	[ -f "$pidf" ] && kill "$(cat "$pidf")"
	it_wait_for "nginx in mdp-$1 stopped" 10 it_backend_down "$1"
}

# it_endpoints_are SERVICE ADDRESS|all CONDITION: CONDITION (a Python expression
# over e, one entry of `meshctl --json endpoints`) holds for SERVICE's endpoint
# at ADDRESS, or for every endpoint of SERVICE.
it_endpoints_are()
{
	it_ctl --json endpoints --service "$1" 2>/dev/null | "$IT_PY" -c '
import json, sys
eps = [e for e in json.load(sys.stdin) if sys.argv[1] in ("all", e["address"])]
sys.exit(0 if eps and all(eval(sys.argv[2], {}, {"e": e}) for e in eps) else 1)' "$2" "$3"
}

# it_wait_healthy SERVICE...: every endpoint of each SERVICE has passed its
# health checks and is usable (health checks run every interval_ms; a verdict
# takes healthy_threshold of them).
it_wait_healthy()
{
	local svc
	for svc in "$@"; do
		it_wait_for "every endpoint of $svc healthy and usable" 20 \
			it_endpoints_are "$svc" all 'e["health"] == "healthy" and e["usable"]'
	done
}

it_topology_backends()
{
	it_client_side
	ip -n "$IT_NS_C" addr add 10.10.1.3/24 dev mdp0
	# net_tap gives the kernel end the port's own MAC; as a bridge port it would
	# make the bridge keep frames for meshdp to itself.
	ip -n "$IT_NS_S" link set mdp1 address 02:00:0a:0a:02:fe
	ip -n "$IT_NS_S" link add br0 type bridge
	ip -n "$IT_NS_S" link set mdp1 master br0
	ip -n "$IT_NS_S" link set mdp1 up
	ip -n "$IT_NS_S" link set br0 up
	local i=0
	for b in b1 b2 b3; do
		i=$((i + 1))
		ip netns add "mdp-$b"
		ip link add "br-$b" netns "$IT_NS_S" type veth peer name eth0 netns "mdp-$b"
		ip -n "$IT_NS_S" link set "br-$b" master br0
		ip -n "$IT_NS_S" link set "br-$b" up
		# Frames from veth reach meshdp through the TAP with full checksums only
		# when the sender does not offload them.
		ip netns exec "mdp-$b" ethtool -K eth0 tx off >/dev/null
		ip -n "mdp-$b" link set eth0 address "02:00:0a:0a:02:1$i"
		it_ns_addr "mdp-$b" eth0 "10.10.2.1$i/24" "fd00:10:2::1$i/64" 10.10.2.1 fd00:10:2::1
		it_start_backend "$b"
	done
	ip -n mdp-b3 addr add 198.51.100.10/32 dev lo
	ip -n mdp-b3 addr add 198.51.100.20/32 dev lo
}

# it_split_by_weight OUT: OUT (the JSON of l4_clients.py) spreads its answers
# over b1, b2 and b3 as their weights 1:2:3 say. Maglev maps each connection's
# 5-tuple hash to a backend that holds w/6 of its table, so a backend's count is
# binomial: the band is 4 standard deviations, sqrt(p(1-p)/n) (2.7 % for b1 and
# 3.7 % for b3 at n = 3000, 4.3 % and 5.8 % at 1200). A correct split fails
# about once in 10,000 runs; an unweighted one (1/3 each) fails always.
it_split_by_weight()
{
	"$IT_PY" - "$1" <<'PY'
import json, math, sys
r = json.loads(sys.argv[1])
total = sum(r.values())
for name, w in (("b1", 1), ("b2", 2), ("b3", 3)):
    p = w / 6
    tol = 4 * math.sqrt(p * (1 - p) / total)
    share = r.get(name, 0) / total
    assert abs(share - p) < tol, (name, share, p, tol)
PY
}
