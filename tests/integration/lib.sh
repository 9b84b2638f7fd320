# Shared by the integration tests (source it). Builds the demo topology:
#
#   netns mdp-client            meshdp (root netns)            netns mdp-server
#   mdp0 10.10.1.2/24  <-TAP-> p0 10.10.1.1  p1 10.10.2.1 <-TAP-> mdp1 10.10.2.2/24
#        fd00:10:1::2/64          fd00:10:1::1  fd00:10:2::1         fd00:10:2::2/64
#                                                                 lo 10.20.0.1, fd00:20::1
#
# Everything stays inside namespaces this script creates; it removes them on exit.
set -euo pipefail

IT_ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
IT_BUILD=${MESHDP_BUILD:-$IT_ROOT/build}
IT_MESHDP=${MESHDP_BIN:-$IT_BUILD/dataplane/meshdp}
IT_MESHCTL=$IT_BUILD/ctl/meshctl
IT_NS_C=mdp-client
IT_NS_S=mdp-server
IT_SOCK=/run/meshdp/meshdp.sock
IT_WORK=$(mktemp -d /tmp/meshdp-it.XXXXXX)
chmod 755 "$IT_WORK"
IT_MESHDP_PID=
IT_NGINX_PID=
IT_PY=/usr/bin/python3 # Debian's, which has scapy

it_log() { echo "[$(date +%T)] $*"; }

it_fail()
{
	echo "FAIL: $*" >&2
	if [ -f "$IT_WORK/meshdp.log" ]; then
		echo "--- last lines of the meshdp log ---" >&2
		tail -n 30 "$IT_WORK/meshdp.log" >&2
	fi
	exit 1
}

# it_wait_for WHAT TIMEOUT_S CMD...: run CMD (a command or a shell function;
# its stdout is discarded) every 0.1 s until it succeeds. Fail naming WHAT when
# TIMEOUT_S seconds (whole seconds of wall time, not a count of tries) pass
# without success. Tests wait for the state they need this way, never with a
# fixed sleep: one that is long enough on a loaded machine is a waste on an idle
# one, and one that is not makes the test fail, or pass, by accident.
it_wait_for()
{
	local what=$1 timeout=$2 now deadline
	shift 2
	now=${EPOCHREALTIME/./}
	deadline=$((now + timeout * 1000000))
	until "$@" >/dev/null; do
		now=${EPOCHREALTIME/./}
		[ "$now" -lt "$deadline" ] || it_fail "not within $timeout s: $what"
		sleep 0.1
	done
}

# it_netns_del NS: the namespace and whatever a test left running in it (a
# server started there would otherwise outlive the test, holding its ports and
# the descriptors it inherited, the integration lock's among them).
it_netns_del()
{
	local pids
	pids=$(ip netns pids "$1" 2>/dev/null)
	[ -z "$pids" ] || kill -KILL $pids 2>/dev/null
	ip netns del "$1" 2>/dev/null
}

it_cleanup()
{
	set +e
	[ -n "$IT_NGINX_PID" ] && kill "$IT_NGINX_PID" 2>/dev/null && wait "$IT_NGINX_PID" 2>/dev/null
	if [ -n "$IT_MESHDP_PID" ] && kill -0 "$IT_MESHDP_PID" 2>/dev/null; then
		kill -TERM "$IT_MESHDP_PID"
		wait "$IT_MESHDP_PID" 2>/dev/null
	fi
	it_netns_del "$IT_NS_C"
	it_netns_del "$IT_NS_S"
	ip link del mdp-c 2>/dev/null
	ip link del mdp-s 2>/dev/null
	rm -rf "$IT_WORK"
}
trap it_cleanup EXIT

it_ctl() { "$IT_MESHCTL" --socket "$IT_SOCK" "$@"; }

# it_stat NAME: the summed worker counter NAME.
it_stat()
{
	it_ctl --json stats | "$IT_PY" -c 'import json,sys; print(json.load(sys.stdin)["counters"][sys.argv[1]])' "$1"
}

# it_drops: the sum of every drop_* counter.
it_drops()
{
	it_ctl --json stats | "$IT_PY" -c 'import json,sys; c=json.load(sys.stdin)["counters"]; print(sum(v for k,v in c.items() if k.startswith("drop_")))'
}

# it_start_meshdp [MESHDP-ARGS...]: start the daemon and wait until meshctl answers.
it_start_meshdp()
{
	if [ -S "$IT_SOCK" ] && "$IT_MESHCTL" --socket "$IT_SOCK" status >/dev/null 2>&1; then
		it_fail "a meshdp is already running on $IT_SOCK; stop it first"
	fi
	${IT_WRAP:-} "$IT_MESHDP" "$@" >"$IT_WORK/meshdp.log" 2>&1 &
	IT_MESHDP_PID=$!
	it_wait_for "meshdp answering on $IT_SOCK" 30 it_meshdp_answers
}

# it_meshdp_answers: meshctl status succeeds; fails the test if meshdp exited.
it_meshdp_answers()
{
	kill -0 "$IT_MESHDP_PID" 2>/dev/null || it_fail "meshdp exited during start-up"
	[ -S "$IT_SOCK" ] && it_ctl status >/dev/null 2>&1
}

# it_stop_meshdp: SIGTERM, wait, and check the exit status is 0.
it_stop_meshdp()
{
	local rc=0
	kill -TERM "$IT_MESHDP_PID"
	wait "$IT_MESHDP_PID" || rc=$?
	IT_MESHDP_PID=
	[ "$rc" -eq 0 ] || it_fail "meshdp exited with status $rc after SIGTERM"
}

# it_ns_addr NS IF V4 V6 GW4 GW6: address an interface inside a namespace.
it_ns_addr()
{
	local ns=$1 ifc=$2
	# Hosts here are configured statically: no router solicitations.
	ip netns exec "$ns" sysctl -qw "net.ipv6.conf.$ifc.accept_ra=0"
	ip -n "$ns" link set lo up
	ip -n "$ns" link set "$ifc" up
	ip -n "$ns" addr add "$3" dev "$ifc"
	ip -n "$ns" -6 addr add "$4" dev "$ifc" nodad
	ip -n "$ns" route add default via "$5"
	ip -n "$ns" -6 route add default via "$6"
}

# it_client_side: create both namespaces, wait for the TAP ports, and make mdp0
# the client's interface (10.10.1.2). mdp1 is moved into the server namespace.
it_client_side()
{
	ip netns add "$IT_NS_C"
	ip netns add "$IT_NS_S"
	for ifc in mdp0 mdp1; do
		it_wait_for "TAP port $ifc" 10 ip link show "$ifc"
	done
	ip link set mdp0 netns "$IT_NS_C"
	ip link set mdp1 netns "$IT_NS_S"
	# net_tap gives the kernel end the port's own MAC; hosts get their own.
	ip -n "$IT_NS_C" link set mdp0 address 02:00:0a:0a:01:02
	it_ns_addr "$IT_NS_C" mdp0 10.10.1.2/24 fd00:10:1::2/64 10.10.1.1 fd00:10:1::1
}

# it_topology_tap: the client and one server (10.10.2.2) on the two TAP ports.
it_topology_tap()
{
	it_client_side
	ip -n "$IT_NS_S" link set mdp1 address 02:00:0a:0a:02:02
	it_ns_addr "$IT_NS_S" mdp1 10.10.2.2/24 fd00:10:2::2/64 10.10.2.1 fd00:10:2::1
	ip -n "$IT_NS_S" addr add 10.20.0.1/32 dev lo
	ip -n "$IT_NS_S" -6 addr add fd00:20::1/128 dev lo
}

# it_nginx_conf DIR [CONNECTIONS] [DAEMON]: write DIR/nginx.conf, one nginx
# worker run as root with its pid, error log and temporary files in DIR,
# CONNECTIONS (1024) at most, daemon DAEMON (on); stdin is the inside of its
# http block (logs, servers).
it_nginx_conf()
{
	local dir=$1 conns=${2:-1024} daemon=${3:-on}
	mkdir -p "$dir"
	{
		cat <<EOF
daemon $daemon;
worker_processes 1;
worker_rlimit_nofile $conns;
user root;
pid $dir/nginx.pid;
error_log $dir/error.log;
events { worker_connections $conns; }
http {
	client_body_temp_path $dir;
	proxy_temp_path $dir;
	fastcgi_temp_path $dir;
	uwsgi_temp_path $dir;
	scgi_temp_path $dir;
EOF
		cat
		echo "}"
	} >"$dir/nginx.conf"
}

# it_start_nginx: a web server in the server namespace, serving $IT_WORK/www.
it_start_nginx()
{
	mkdir -p "$IT_WORK/www"
	echo "hello from the server namespace" >"$IT_WORK/www/index.html"
	it_nginx_conf "$IT_WORK/nginx" 1024 off <<EOF
	access_log off;
	sendfile on;
	server {
		listen 10.10.2.2:80;
		listen 10.20.0.1:80;
		listen [fd00:10:2::2]:80;
		root $IT_WORK/www;
	}
EOF
	ip netns exec "$IT_NS_S" nginx -c "$IT_WORK/nginx/nginx.conf" &
	IT_NGINX_PID=$!
	it_wait_for "nginx serving in $IT_NS_S" 10 ip netns exec "$IT_NS_S" curl -sf -o /dev/null http://10.10.2.2/
}

# it_settle: wait (at most 15 s) until no drop counter moved for 2 s, so that the
# kernel's start-up chatter (router solicitations, MLD reports) is not counted
# against a test.
it_settle()
{
	local prev cur
	prev=$(it_drops)
	for _ in $(seq 1 8); do
		sleep 2
		cur=$(it_drops)
		[ "$cur" = "$prev" ] && return 0
		prev=$cur
	done
	it_fail "drop counters keep moving on an idle topology"
}

# it_in_client CMD...: run a command in the client namespace.
it_in_client() { ip netns exec "$IT_NS_C" "$@"; }
