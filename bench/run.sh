#!/usr/bin/env bash
# bench/run.sh [scenario...]: the memif benches, as root.
#
# Scenarios (default: a b):
#   a  dpdk-testpmd (io forwarding) on the same memif link: the ceiling of the substrate
#   b  meshdp L3 forwarding p0 -> p1 (subnet A -> subnet B), same sockets, same generator
#   c  meshdp mode mesh: UDP to a service VIP (policy, flow table, Maglev, full-NAT)
#      on C_FLOWS (100000) established flows, endpoints on side B
#   d  meshdp mode mesh: new TCP flows per second, every SYN a new 5-tuple
#      (D_FLOWS, 16000000) to a DNAT VIP, on a meshdp of its own
#   e  100 config swaps (two documents in turn, meshctl config apply) while the
#      generator sends scenario (c) traffic at the maximum rate: loss, generations
#   f  flow-table scale (meshdp-flowscale): bytes per flow, lookups/s at F_FLOWS
#   p  callgrind profile of meshdp's worker on scenario (c) traffic (valgrind,
#      --no-huge, a few seconds): top functions by instructions, for the report
#   t  TCP connection scale (meshdp-tcpscale): T_CONNS established connections
#      between two in-process stacks; bytes per idle connection, handshakes/s, RSS
#   s  TLS on tcp_proxy listeners vs nginx (stream, ssl): full handshakes/s (ECDSA
#      P-256 and RSA-2048, one-way and mTLS, TLS 1.3 and 1.2) beside the
#      `openssl speed` bound measured in the run, bulk download, bytes per idle
#      TLS connection; netns mdps-*, TAP mdps0/mdps1
#   x  tcp_proxy vs the kernel: a namespace topology of its own (TAP mdpb0/mdpb1,
#      netns mdpb-*), nginx + iperf3 behind meshdp's tcp_proxy, socat and HAProxy
#      (TCP mode) in a netns joined by veths, and kernel forwarding without a
#      proxy; wrk (new connection per request, then keep-alive) and iperf3 both
#      ways against each, one after the other
#   h  HTTP/1.1 keep-alive proxying: meshdp's http listener (one meshdp per
#      substrate in H_SUBSTRATES: afpacket, tap, afxdp), nginx (proxy_pass,
#      upstream keepalive) and HAProxy 2.6 (mode http), one worker each, to one
#      nginx backend, and the backend directly; wrk -c H_CONNS for / (19 bytes)
#      and /10k, -c H_LAT_CONNS for latency; CPU per request (meshdp: its busy
#      cycles; everyone: /proc utime+stime)
#   2  HTTP/2 proxying on (h)'s topology: h2load (h2c prior knowledge, -c
#      H2_CONNS -m H2_STREAMS streams per connection) through meshdp's http
#      listener (http2 enabled, af_packet), nginx (listen http2) and nghttpx
#      (nghttp2-proxy), one worker each, to (h)'s nginx backend over HTTP/1.1
#      keep-alive; requests/s, CPU per request (/proc, and meshdp's busy
#      cycles); then H2_IDLE idle h2 connections (preface and SETTINGS
#      exchanged) held open: the proxy's RSS growth per connection
#   m  the HTTP/1.1 proxy alone: meshdp's http listener (as h's) between
#      meshdp-httpgen's keep-alive clients and its backend, both on meshdp's own
#      TCP stack over memif, no kernel in the path: -c M_CONNS, then -c
#      M_LAT_CONNS for latency; meshdp's busy cycles per request; with
#      M_CALLGRIND=1 also meshdp under callgrind (instructions per request);
#      with M_TELEMETRY also one -c M_CONNS run per telemetry setting (metrics,
#      access logs and tracing off / default / all, busy cycles per request each),
#      and with M_CALLGRIND=1 too a callgrind run per setting; with M_AUTHZ
#      a callgrind run per number of authorization rules (0: none)
# MEMIF=zero-copy runs a, b, c, e and p with the system under test (testpmd or
# meshdp) as a zero-copy memif client (its mbufs are the shared memory, no copy
# on its side) and the generator as the server, which copies; the SUT starts
# after the generator, since a memif client connects only when its port starts.
# The default MEMIF=copy has the SUT as the server (it copies each frame in and
# out) and the generator as the client. Either way every generator run has a
# system under test of its own, stopped before the generator (see gen_start).
# a, b, c: 64, 512 and 1518-byte UDP frames at the maximum rate, then 64-byte
# frames at LAT_RATE frames/s for latency under light load. meshdp's figures are
# also given as ratios to testpmd's, measured in the same run. c and e run meshdp
# in mesh mode with flows.capacity C_CAPACITY, d with D_CAPACITY.
#
# Environment: BUILD (build dir, default build), BIN (a folder holding meshdp,
# meshctl, meshdp-gen and meshdp-flowscale, overrides BUILD), DURATION (s, 5),
# WARMUP (s, 1), SIZES ("64 512 1518"), LAT_RATE (1000000), FLOWS (1, a and b),
# C_FLOWS (100000), D_FLOWS (16000000), D_DURATION (s, 2), D_WARMUP (s, 0.5),
# MEMIF (copy), E_SWAPS (100), E_DURATION (s, 15), C_CAPACITY (262144, flows.capacity of c and e),
# D_CAPACITY (4194304: (d) runs on its own meshdp, and its SYN flows stay for the
# 30 s default syn timeout, so the table must hold every SYN of its warm-up and
# window), F_FLOWS ("1000000 10000000"), F_MEM_MB (6144, flowscale's
# --no-huge -m), P_SECONDS (8), T_CONNS (1000000), T_SLACK (4096, capacity = conns +
# slack), T_MEM_MB (4096, tcpscale's --no-huge -m), X_DURATION (s, 10, each wrk and
# iperf3 run), X_CONNS (32, wrk's connections), X_TARGETS ("meshdp socat haproxy fwd"),
# H_DURATION (s, 10, each wrk run of h), H_CONNS (64), H_LAT_CONNS (4),
# H_SUBSTRATES ("afpacket tap"; afxdp too, see bench/README.md), H_PERF (1: perf record -e cpu-clock on
# the SUT core during each meshdp tiny run, report of the worker thread's symbols),
# P_FLOWS (C_FLOWS: (p)'s flows, all created before the profile's counters are
# zeroed), P_WORKERS (1; 2: (p) with two workers sharing the SUT core, for steering),
# P_LIMIT ("", service or source: (p) with a packet-rate limit of that scope on
# the UDP service, far above the offered rate, for the limit's admission path),
# OUT (bench/results), GEN_CORE (0), SUT_CORE (1), TWO_WORKERS (1: c and d also
# run with two workers sharing the SUT core, see scenario_two; 0: not),
# S_SPEED (s, 3: openssl speed per test), S_DURATION (s, 8, each handshake run),
# S_CONNS (128, concurrent handshakes), S_ROWS ("ecdsa-tls-1.3 ecdsa-mtls-1.3
# rsa-tls-1.3 rsa-mtls-1.3 ecdsa-tls-1.2": key-auth-version), S_BULK_MB (256),
# S_IDLE (4000, idle TLS connections held), S_PERF (1: perf profile of the first row),
# M_CONNS (64), M_LAT_CONNS (4), M_DURATION (s, 10, each run of m), M_WARMUP (s, 2),
# M_CALLGRIND (0; 1: m's callgrind run too, M_CG_DURATION s, 10, M_CONNS connections),
# M_TELEMETRY ("": none; words of "off default all": one more (m) run each, see
# m_telemetry), M_TELEMETRY_ROUNDS (3: rounds of those runs, interleaved),
# M_AUTHZ ("": none; rule counts, e.g. "0 100 10000": one (m) callgrind run each
# with an allow policy of that many rules, see m_authz).
# Writes OUT/<date>.md and OUT/<date>.json (and the logs of the run in a temp dir).
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/.." && pwd)
BUILD=${BUILD:-$root/build}
DURATION=${DURATION:-5}
WARMUP=${WARMUP:-1}
SIZES=${SIZES:-"64 512 1518"}
LAT_RATE=${LAT_RATE:-1000000}
FLOWS=${FLOWS:-1}
OUT=${OUT:-$here/results}
GEN_CORE=${GEN_CORE:-0}
SUT_CORE=${SUT_CORE:-1}
C_FLOWS=${C_FLOWS:-100000}
D_FLOWS=${D_FLOWS:-16000000}
E_SWAPS=${E_SWAPS:-100}
E_DURATION=${E_DURATION:-15}
C_CAPACITY=${C_CAPACITY:-262144}
D_CAPACITY_SET=${D_CAPACITY:-}
D_CAPACITY=${D_CAPACITY:-4194304}
D_DURATION=${D_DURATION:-2}
D_WARMUP=${D_WARMUP:-0.5}
F_FLOWS=${F_FLOWS:-"1000000 10000000"}
F_MEM_MB=${F_MEM_MB:-6144}
P_SECONDS=${P_SECONDS:-8}
T_CONNS=${T_CONNS:-1000000}
T_SLACK=${T_SLACK:-4096}
T_MEM_MB=${T_MEM_MB:-4096}
X_DURATION=${X_DURATION:-10}
X_CONNS=${X_CONNS:-32}
X_TARGETS=${X_TARGETS:-"meshdp socat haproxy fwd"}
S_SPEED=${S_SPEED:-3}
S_DURATION=${S_DURATION:-8}
S_CONNS=${S_CONNS:-128}
S_ROWS=${S_ROWS:-"ecdsa-tls-1.3 ecdsa-mtls-1.3 rsa-tls-1.3 rsa-mtls-1.3 ecdsa-tls-1.2"}
S_BULK_MB=${S_BULK_MB:-256}
S_IDLE=${S_IDLE:-4000}
S_PERF=${S_PERF:-1}
H_DURATION=${H_DURATION:-10}
H_CONNS=${H_CONNS:-64}
H_LAT_CONNS=${H_LAT_CONNS:-4}
H_SUBSTRATES=${H_SUBSTRATES:-"afpacket tap"}
H_PERF=${H_PERF:-1}
# idle upstream connections each proxy keeps (meshdp's pool, nginx's keepalive);
# (2) raises it to the streams in flight so that no proxy churns connections
H_POOL=256
H2_DURATION=${H2_DURATION:-10}
H2_CONNS=${H2_CONNS:-10}
H2_STREAMS=${H2_STREAMS:-100}
H2_PATH=${H2_PATH:-/} # (2)'s request: / (19 bytes) or /10k
H2_IDLE=${H2_IDLE:-1000}
M_CONNS=${M_CONNS:-64}
M_LAT_CONNS=${M_LAT_CONNS:-4}
M_DURATION=${M_DURATION:-10}
M_WARMUP=${M_WARMUP:-2}
M_CALLGRIND=${M_CALLGRIND:-0}
M_CG_DURATION=${M_CG_DURATION:-10}
M_AUTHZ=${M_AUTHZ:-}
M_TELEMETRY=${M_TELEMETRY:-}
M_TELEMETRY_ROUNDS=${M_TELEMETRY_ROUNDS:-3}
MEMIF=${MEMIF:-copy}
TWO_WORKERS=${TWO_WORKERS:-1}
P_WORKERS=${P_WORKERS:-1}
P_FLOWS=${P_FLOWS:-$C_FLOWS}
P_LIMIT=${P_LIMIT:-}
mdp_lcores= mdp_main= mdp_limits=

if [ -n "${BIN:-}" ]; then
	meshdp=$BIN/meshdp meshctl=$BIN/meshctl gen=$BIN/meshdp-gen flowscale=$BIN/meshdp-flowscale
	tcpscale=$BIN/meshdp-tcpscale tlsgen=$BIN/meshdp-tlsgen httpgen=$BIN/meshdp-httpgen
else
	meshdp=$BUILD/dataplane/meshdp meshctl=$BUILD/ctl/meshctl gen=$BUILD/bench/meshdp-gen
	flowscale=$BUILD/bench/meshdp-flowscale tcpscale=$BUILD/bench/meshdp-tcpscale
	tlsgen=$BUILD/bench/meshdp-tlsgen httpgen=$BUILD/bench/meshdp-httpgen
fi
scenarios=("$@")
[ ${#scenarios[@]} -gt 0 ] || scenarios=(a b)

die() {
	echo "bench: $*" >&2
	exit 1
}
[ "$(id -u)" = 0 ] || die "run as root (memif sockets under /run, hugepages)"
for f in "$meshdp" "$meshctl" "$gen" "$flowscale" "$tcpscale"; do
	[ -x "$f" ] || die "$f not built (ninja -C $BUILD)"
done
# Only the memif scenarios need hugepages and testpmd.
memif=0
for sc in "${scenarios[@]}"; do
	case $sc in a | b | c | d | e | m | p) memif=1 ;; esac
done
case " ${scenarios[*]} " in
*" a "*) command -v dpdk-testpmd >/dev/null || die "dpdk-testpmd not found (apt-get install dpdk)" ;;
esac
case " ${scenarios[*]} " in
*" h "*)
	for t in nginx haproxy wrk curl ethtool taskset; do
		command -v $t >/dev/null || die "$t not found (scenario h; tools/deps.sh bench)"
	done
	;;
esac
case " ${scenarios[*]} " in
*" m "*)
	[ -x "$httpgen" ] || die "$httpgen not built (ninja -C $BUILD)"
	[ "$M_CALLGRIND" = 0 ] && [ -z "$M_AUTHZ" ] || command -v valgrind >/dev/null ||
		die "valgrind not found (M_CALLGRIND=1 or M_AUTHZ)"
	;;
esac
case " ${scenarios[*]} " in
*" x "*)
	for t in nginx iperf3 wrk socat ethtool; do
		command -v $t >/dev/null || die "$t not found (scenario x)"
	done
	;;
esac
case " ${scenarios[*]} " in
*" s "*)
	[ -x "$tlsgen" ] || die "$tlsgen not built (ninja -C $BUILD)"
	for t in nginx openssl curl ethtool taskset; do
		command -v $t >/dev/null || die "$t not found (scenario s)"
	done
	;;
esac
command -v python3 >/dev/null || die "python3 needed for the report"
case $MEMIF in
copy) ;;
zero-copy)
	case " ${scenarios[*]} " in
	*" d "*) die "MEMIF=zero-copy runs a, b, c, e and p; run d with MEMIF=copy" ;;
	esac
	;;
*) die "MEMIF: copy or zero-copy, not '$MEMIF'" ;;
esac

run=$(mktemp -d /tmp/meshdp-bench.XXXXXX)
sockdir=/run/meshdp-bench.$$
mkdir -p "$sockdir" "$OUT"
s0=$sockdir/memif0.sock
s1=$sockdir/memif1.sock
sut_pid= gen_pid= m_sink=
x_up=0
cleanup() {
	stop_sut
	[ -z "$m_sink" ] || kill "$m_sink" 2>/dev/null || true
	[ $x_up = 0 ] || x_cleanup
	[ $h_up = 0 ] || h_cleanup
	rm -rf "$sockdir"
}
trap cleanup EXIT

# Hugepages: 2G if the helper can reserve them (the L4 scenarios' flow table of
# D_CAPACITY flows takes about 232 bytes a flow), else every process runs --no-huge.
# Other processes may hold hugepages: grow the pool instead of resetting it, and
# use drivers-config/hugepages.sh only when hugetlbfs is not mounted at all.
mem_note="hugepages (2 MB pages, 1024 free wanted)"
nohuge=0
nr=/sys/kernel/mm/hugepages/hugepages-2048kB/nr_hugepages
free_pages=$(awk '/HugePages_Free/ {print $2}' /proc/meminfo)
if [ $memif = 0 ]; then
	mem_note="no hugepages used (t, x and h run --no-huge)"
	free_pages=1024
elif [ "${free_pages:-0}" -lt 1024 ] || ! grep -q hugetlbfs /proc/mounts; then
	# (pages reserved but no hugetlbfs mounted are of no use to EAL)
	if grep -q hugetlbfs /proc/mounts && [ -w "$nr" ]; then
		echo $(($(cat "$nr") + 1024 - ${free_pages:-0})) >"$nr" 2>/dev/null || true
	else
		"$root/drivers-config/hugepages.sh" 2G >"$run/hugepages.log" 2>&1 || true
	fi
	free_pages=$(awk '/HugePages_Free/ {print $2}' /proc/meminfo)
	grep -q hugetlbfs /proc/mounts || free_pages=0 # the helper could not mount it
fi
if [ "${free_pages:-0}" -lt 900 ] && [ -z "${D_CAPACITY_SET:-}" ]; then
	D_CAPACITY=2097152 # a smaller flow table for (d) when memory is short
fi
if [ "${free_pages:-0}" -lt 256 ]; then
	nohuge=1
	mem_note="WARNING: no hugepages could be reserved; every process ran --no-huge (slower)"
	echo "bench: $mem_note" >&2
fi
gen_mem=() tp_mem=() mdp_mem=()
if [ $nohuge = 1 ]; then
	gen_mem=(--no-huge -m 256) tp_mem=(--no-huge -m 512) mdp_mem=(--no-huge)
fi

# The memif roles (see MEMIF above). A zero-copy client needs one file per memory
# segment list and its memory reserved at start (meshdp does both by itself).
if [ "$MEMIF" = zero-copy ]; then
	gen_role=server sut_memif="role=client,zero-copy=yes"
	[ $nohuge = 1 ] || tp_mem=(--single-file-segments -m 512)
else
	gen_role=client sut_memif="role=server"
fi
mdp_mac=02:00:0a:3c:00:01 # meshdp's p0, fixed: each run has a meshdp of its own
sut_start=()              # the command that starts the system under test

# Every generator run has a system under test of its own: DPDK 22.11's memif
# unmaps the shared memory when the peer goes away, under the polling side's
# feet (a crash, docs/OPERATIONS.md "memif ports"), so the SUT must stop before
# the generator: the generator holds its links after its report (--hold) until
# stop_sut has stopped the SUT, then it is stopped too.
# The generator is busy on the main lcore of its own core; the server polls on
# the other core (its main lcore sleeps on GEN_CORE, see docs/machine-notes).
# gen_start NAME SIZE RATE [extra gen args...]: stop the previous pair, start
# the SUT ("${sut_start[@]}") and the generator (gen_pid) in the order their
# memif roles need: the server listens before the client connects.
gen_start() {
	local name=$1 size=$2 rate=$3
	shift 3
	pair_start "$name" "$gen" -l "$GEN_CORE" --no-pci --file-prefix mdpbench-gen "${gen_mem[@]}" -- \
		--role "$gen_role" --socket "$s0" --socket "$s1" --size "$size" --rate "$rate" \
		--flows "$FLOWS" --duration "$DURATION" --warmup "$WARMUP" --link-timeout 60 \
		--hold 3600 --json "$@"
}

# pair_start NAME GENERATOR-COMMAND...: the SUT and a generator (meshdp-gen or
# meshdp-httpgen: stdout to $run/NAME.json, stderr to $run/NAME.log) in that order.
pair_start() {
	local name=$1
	shift
	stop_sut
	[ "$MEMIF" = zero-copy ] || "${sut_start[@]}"
	"$@" >"$run/$name.json" 2>"$run/$name.log" &
	gen_pid=$!
	[ "$MEMIF" = zero-copy ] || return 0
	for _ in $(seq 300); do
		grep -q "waiting for the memif link" "$run/$name.log" 2>/dev/null && break
		kill -0 $gen_pid 2>/dev/null || die "generator failed ($name), see $run/$name.log"
		sleep 0.1
	done
	"${sut_start[@]}"
}

# gen_wait NAME: until the generator has reported (and holds its links).
gen_wait() {
	while ! grep -q "holding the link" "$run/$1.log" 2>/dev/null; do
		kill -0 "$gen_pid" 2>/dev/null || die "generator failed ($1), see $run/$1.log"
		sleep 0.1
	done
}

gen_run() { # gen_run NAME SIZE RATE [extra gen args...]
	gen_start "$@"
	gen_wait "$1"
}

# Sample a meshdp counter set in the middle of the measured window.
mdp_sample() { # mdp_sample FILE
	{
		date +%s.%N
		"$meshctl" --socket "$sockdir/meshdp.sock" --json stats
	} >"$1" 2>/dev/null || true
}

# Sample meshdp's counters twice inside the generator's window (0.5 s after it
# opens, 0.5 s before it closes): files $run/$1-s1.txt and -s2.txt. The
# generator's log is $run/$1.log; $2 = the window's length in seconds.
mdp_sampler() { # mdp_sampler NAME WINDOW_S &
	local name=$1 win=$2
	for _ in $(seq 600); do
		grep -q "window open" "$run/$name.log" 2>/dev/null && break
		sleep 0.05
	done
	sleep 0.5
	mdp_sample "$run/$name-s1.txt"
	sleep "$(awk "BEGIN { print $win - 1 }")"
	mdp_sample "$run/$name-s2.txt"
}

# The generator's addressing for meshdp: b routes 10.60.0.0/24 -> 10.60.1.0/24;
# c sends to the UDP VIP, whose 8 endpoints 10.60.1.2-9 are the generator's
# addresses on its second port (it answers ARP for them).
sc_args() { # sc_args SCENARIO: sets the array extra
	case $1 in
	a) extra=() ;;
	b) extra=(--src 10.60.0.2 --dst 10.60.1.2 --dst-mac "$mdp_mac") ;;
	c | e) extra=(--src 10.60.0.2 --dst 10.60.9.10 --dport 5001 --dst-mac "$mdp_mac"
		--rx-ip 10.60.1.2 --rx-ips 8 --flows "$C_FLOWS") ;;
	d) extra=(--mode syn --src 10.62.0.2 --dst 10.60.9.20 --dport 80 --dst-mac "$mdp_mac"
		--rx-ip 10.60.1.2 --rx-ips 8 --flows "$D_FLOWS") ;;
	esac
}

# One scenario: every size at max rate, then the latency run. $1 = a, b or c.
scenario_runs() {
	local sc=$1 extra=() size sampler=
	sc_args "$sc"
	for size in $SIZES; do
		if [ "$sc" != a ]; then
			mdp_sampler "$sc-$size" "$DURATION" &
			sampler=$!
		fi
		gen_run "$sc-$size" "$size" max "${extra[@]}"
		[ -z "$sampler" ] || wait "$sampler" || true
	done
	gen_run "$sc-lat" 64 "$LAT_RATE" "${extra[@]}"
	if [ "$sc" = b ]; then
		# meshdp buffers up to tx_burst frames for drain_us: the same run unbuffered.
		mdp_tune=', "tx_burst": 1' gen_run "$sc-lat-txb1" 64 "$LAT_RATE" "${extra[@]}"
	fi
}

# (d): SYNs at the maximum rate, every one a new flow; 64-byte frames.
scenario_d() {
	local extra=() sampler
	sc_args d
	mdp_sampler d-64 "$D_DURATION" &
	sampler=$!
	DURATION=$D_DURATION WARMUP=$D_WARMUP gen_start d-64 64 max "${extra[@]}"
	mdp_sample "$run/d-before.txt"
	gen_wait d-64
	wait "$sampler" || true
	mdp_sample "$run/d-after.txt"
}

# The two-worker row of c or d ($1): 64-byte frames at the maximum rate on a
# meshdp with two workers (lcores 1 and 2) that share the SUT core, so that the
# frames per second compare with the one-worker row on the same core budget:
# the difference is what steering (l4_owner, the hand-off ring) and the second
# worker's loop cost. The generator has one memif queue pair, so every frame
# arrives on worker 1's queue and the frames of flows worker 2 owns are handed
# to it (l4_handoff_out / _in count them).
scenario_two() {
	local sc=$1 extra=() sampler
	echo "bench: ($sc) the same with two workers sharing core $SUT_CORE" >&2
	mdp_lcores="0@$GEN_CORE,(1,2)@$SUT_CORE" mdp_main=0
	sc_args "$sc"
	if [ "$sc" = d ]; then
		mdp_sampler d2-64 "$D_DURATION" &
		sampler=$!
		DURATION=$D_DURATION WARMUP=$D_WARMUP gen_run d2-64 64 max "${extra[@]}"
	else
		mdp_sampler c2-64 "$DURATION" &
		sampler=$!
		gen_run c2-64 64 max "${extra[@]}"
	fi
	wait "$sampler" || true
	"$meshctl" --socket "$sockdir/meshdp.sock" --json stats >"$run/${sc}2-stats-end.json" || true
	mdp_lcores= mdp_main=
}

# (e): E_SWAPS applies of two documents in turn while (c) traffic runs at max rate.
scenario_e() {
	local extra=() i t0 t1 refused=0
	sc_args e
	DURATION=$E_DURATION gen_start e-64 64 max "${extra[@]}"
	"$meshctl" --socket "$sockdir/meshdp.sock" --json status >"$run/e-status-before.json"
	mdp_sample "$run/e-before.txt"
	for _ in $(seq 600); do
		grep -q "window open" "$run/e-64.log" 2>/dev/null && break
		sleep 0.05
	done
	t0=$(date +%s.%N)
	for i in $(seq "$E_SWAPS"); do
		if ! "$meshctl" --socket "$sockdir/meshdp.sock" config apply \
			"$run/config-l4-$((i % 2)).json" >>"$run/e-apply.log" 2>&1; then
			refused=$((refused + 1))
		fi
	done
	t1=$(date +%s.%N)
	if grep -q "window closed" "$run/e-64.log" 2>/dev/null; then
		in_window=false
	else
		in_window=true
	fi
	gen_wait e-64
	mdp_sample "$run/e-after.txt"
	"$meshctl" --socket "$sockdir/meshdp.sock" --json status >"$run/e-status-after.json"
	printf '{"swaps": %d, "refused": %d, "start": %s, "end": %s, "all_inside_window": %s}\n' \
		"$E_SWAPS" "$refused" "$t0" "$t1" "$in_window" >"$run/e-swaps.json"
}

# (f): flow-table scale, one process per size so that a size that does not fit
# does not take the others with it.
scenario_f() {
	local n first=1
	{
		echo '{"mem_mb": '"$F_MEM_MB"', "sizes": ['
		for n in $F_FLOWS; do
			[ $first = 1 ] || echo ','
			first=0
			if ! "$flowscale" -l "$SUT_CORE" --no-pci --no-huge -m "$F_MEM_MB" \
				--file-prefix mdpbench-fs -- --flows "$n" 2>"$run/f-$n.log" |
				python3 -c 'import json,sys; print(json.dumps(json.load(sys.stdin)))'; then
				printf '{"runs": [{"flows": %d, "created": false, "error": "%s"}]}\n' \
					"$n" "process failed, see f-$n.log (out of memory?)"
			fi
		done
		echo ']}'
	} >"$run/f.json"
}

start_testpmd() {
	dpdk-testpmd -l "$GEN_CORE,$SUT_CORE" --main-lcore "$GEN_CORE" --no-pci \
		--file-prefix mdpbench-tp "${tp_mem[@]}" \
		--vdev "net_memif0,$sut_memif,id=0,socket=$s0" \
		--vdev "net_memif1,$sut_memif,id=0,socket=$s1" -- \
		--forward-mode=io --nb-cores=1 --rxq=1 --txq=1 --total-num-mbufs=16384 \
		--disable-link-check --no-mlockall --stats-period=3600 \
		</dev/null >"$run/testpmd.log" 2>&1 &
	sut_pid=$!
	for _ in $(seq 50); do
		grep -q "Press enter\|Port statistics\|Start automatic\|forwarding packets" \
			"$run/testpmd.log" 2>/dev/null && return 0
		kill -0 $sut_pid 2>/dev/null || die "testpmd exited, see $run/testpmd.log"
		sleep 0.2
	done
}

# stop_sut: the system under test, then the generator that holds its links.
stop_sut() {
	if [ -n "$sut_pid" ]; then
		kill -INT "$sut_pid" 2>/dev/null || true
		# at most 60 s (valgrind's dump at exit takes some): then it is killed
		for _ in $(seq 300); do
			kill -0 "$sut_pid" 2>/dev/null || break
			sleep 0.2
		done
		kill -KILL "$sut_pid" 2>/dev/null || true
		wait "$sut_pid" 2>/dev/null || true
		sut_pid=
	fi
	if [ -n "$gen_pid" ]; then
		kill -TERM "$gen_pid" 2>/dev/null || true
		wait "$gen_pid" 2>/dev/null || true
		gen_pid=
	fi
	rm -f "$s0" "$s1"
}

write_profile() { # write_profile NO_HUGE_MB
	cat >"$run/profile.json" <<EOP
{
	"profile": "memif-bench",
	"description": "drivers-config/memif.json (memif-zc.json with MEMIF=zero-copy) with the bench's own sockets and file prefix",
	"eal": { "lcores": "${mdp_lcores:-$GEN_CORE,$SUT_CORE}", "main_lcore": ${mdp_main:-$GEN_CORE}, "file_prefix": "mdpbench-sut", "args": ["--no-pci"] },
	"memory": { "hugepages": "auto", "no_huge_mb": $1, "mbufs": 32768, "mbuf_cache": 256 },
	"ports": [
		{ "name": "p0", "device": "net_memif0", "devargs": "$sut_memif,id=0,socket=$s0,mac=$mdp_mac", "rx_desc": 1024, "tx_desc": 1024 },
		{ "name": "p1", "device": "net_memif1", "devargs": "$sut_memif,id=0,socket=$s1", "rx_desc": 1024, "tx_desc": 1024 }
	]
}
EOP
}

# The L3 document (b), or with $1 = l4 the mesh documents of c, d and e: a
# workload "clients" (the generator's sources on side A) allowed to a UDP
# service (Maglev, full-NAT to the node's side-B address) and a TCP service
# (Maglev, DNAT); eight endpoints on side B. $2 (0 or 1) picks one of the two
# documents (e) swaps between: 1 adds a service and a policy and renames the node.
write_config() { # write_config l3|l4 [0|1] [capacity] > FILE
	local l4=$1 alt=${2:-0} capacity=${3:-$C_CAPACITY} name=meshdp-bench extra_svc= extra_pol= eps= i
	if [ "$l4" = l3 ]; then
		cat <<EOC
{
	"version": 1,
	"node": { "name": "$name" },
	"control": { "socket": "$sockdir/meshdp.sock" },
	"admin": { "listen": "" },
	"interfaces": [
		{ "name": "a", "port": "p0", "ipv4": ["10.60.0.1/24"] },
		{ "name": "b", "port": "p1", "ipv4": ["10.60.1.1/24"] }
	],
	"neighbour": { "reachable_ms": 3600000, "stale_ms": 86400000 },
	"tune": { "idle": "poll"${mdp_tune:-} }
}
EOC
		return
	fi
	for i in 2 3 4 5 6 7 8 9; do
		eps="$eps${eps:+, }{ \"address\": \"10.60.1.$i\" }"
	done
	if [ "$alt" = 1 ]; then
		name=meshdp-bench-alt
		extra_svc=", { \"name\": \"alt\", \"namespace\": \"bench\", \"vip\": \"10.60.9.30\",
			\"ports\": [ { \"port\": 8080, \"protocol\": \"tcp\" } ], \"endpoints\": [ $eps ],
			\"health\": { \"interval_ms\": 0 } }"
		extra_pol=", { \"name\": \"clients-alt\", \"action\": \"allow\",
			\"from\": { \"namespace\": \"bench\", \"service\": \"clients\" }, \"to\": { \"service\": \"alt\" } }"
	fi
	cat <<EOC
{
	"version": 1,
	"node": { "name": "$name" },
	"control": { "socket": "$sockdir/meshdp.sock" },
	"admin": { "listen": "" },
	"mode": "mesh",
	"interfaces": [
		{ "name": "a", "port": "p0", "ipv4": ["10.60.0.1/24"] },
		{ "name": "b", "port": "p1", "ipv4": ["10.60.1.1/24"] }
	],
	"neighbour": { "reachable_ms": 3600000, "stale_ms": 86400000 },
	"mesh": { "prefixes": ["10.60.0.0/16", "10.62.0.0/16"] },
	"workloads": [
		{ "name": "clients", "namespace": "bench", "service": "clients", "prefixes": ["10.60.0.0/24", "10.62.0.0/16"] },
		{ "name": "servers", "namespace": "bench", "service": "servers", "prefixes": ["10.60.1.0/24"] }
	],
	"services": [
		{
			"name": "udp-echo", "namespace": "bench", "vip": "10.60.9.10",
			"ports": [ { "port": 5001, "protocol": "udp" } ],
			"lb": "maglev", "nat": "fullnat", "snat": ["10.60.1.1"],
			"endpoints": [ $eps ],
			"breaker": { "max_connections": 10000000, "max_pending": 10000000, "max_ejection_percent": 0 },
			"health": { "interval_ms": 0 }
		},
		{
			"name": "tcp-syn", "namespace": "bench", "vip": "10.60.9.20",
			"ports": [ { "port": 80, "protocol": "tcp" } ],
			"lb": "maglev", "nat": "dnat",
			"endpoints": [ $eps ],
			"breaker": { "max_connections": 10000000, "max_pending": 10000000, "max_ejection_percent": 0 },
			"health": { "interval_ms": 0 }
		}$extra_svc
	],
	"policies": [
		{ "name": "clients-udp", "action": "allow", "from": { "namespace": "bench", "service": "clients" }, "to": { "service": "udp-echo" } },
		{ "name": "clients-tcp", "action": "allow", "from": { "namespace": "bench", "service": "clients" }, "to": { "service": "tcp-syn" } }$extra_pol
	],
	"flows": { "capacity": $capacity, "timeouts_s": { "syn": 1 } }${mdp_limits:-},
	"tune": { "idle": "poll" }
}
EOC
}

# start_meshdp l3|l4 CAPACITY [wrapper...]: meshdp with the bench profile and document.
start_meshdp() {
	local kind=$1 capacity=$2 mem=("${mdp_mem[@]}") tries=100 tmo=500
	shift 2
	# no_huge_mb (without hugepages): 512 MB plus ~240 bytes per flow of capacity
	write_profile $((capacity / 4096 + 512))
	write_config "$kind" 0 "$capacity" >"$run/config.json"
	if [ "$kind" = l4 ]; then
		cp "$run/config.json" "$run/config-l4-0.json"
		write_config l4 1 "$capacity" >"$run/config-l4-1.json"
	fi
	if [ $# -gt 0 ]; then # under valgrind: no hugepages, slow start
		mem=(--no-huge)
		tries=60 tmo=3000
	fi
	"$@" "$meshdp" --profile "$run/profile.json" --config "$run/config.json" "${mem[@]}" \
		>"$run/meshdp-$kind-$capacity${1:+-$(basename "$1")}.log" 2>&1 &
	sut_pid=$!
	for _ in $(seq $tries); do
		"$meshctl" --socket "$sockdir/meshdp.sock" --timeout $tmo status >/dev/null 2>&1 &&
			return 0
		kill -0 $sut_pid 2>/dev/null || die "meshdp exited, see $run/meshdp-$kind-*.log"
		sleep 0.2
	done
	die "meshdp did not answer on its control socket, see $run/meshdp-$kind-*.log"
}

# (p): meshdp's worker under callgrind (instructions counted inside worker_main
# only) while the generator sends (c) traffic; top functions by instructions.
scenario_p() {
	local extra=() out=$run/callgrind.out
	command -v valgrind >/dev/null || {
		echo "bench: (p) valgrind not installed, skipped" >&2
		return 1
	}
	# --fair-sched: valgrind runs one thread at a time, and the busy-polling worker
	# would otherwise starve the control thread (meshctl would time out).
	[ "$P_WORKERS" = 1 ] || mdp_lcores="0@$GEN_CORE,(1,2)@$SUT_CORE" mdp_main=0
	case $P_LIMIT in
	"") ;;
	service | source)
		# a packet-rate limit far above the offered rate: the admission path runs
		# for every frame, nothing is refused
		mdp_limits=", \"limits\": [ { \"name\": \"p-limit\", \"service\": \"udp-echo\",
			\"scope\": \"$P_LIMIT\", \"packets_per_s\": 100000000, \"burst\": 1000000 } ]" ;;
	*) die "P_LIMIT: service, source or empty, not '$P_LIMIT'" ;;
	esac
	sut_start=(start_meshdp l4 "$C_CAPACITY" valgrind --tool=callgrind --fair-sched=yes
		--callgrind-out-file="$out" --collect-atstart=no --toggle-collect=worker_main)
	sc_args c
	# Slow under valgrind: warm up long enough to create every flow first.
	extra=(${extra[@]/#$C_FLOWS/$P_FLOWS})
	DURATION=$P_SECONDS WARMUP=4 gen_start p-64 64 max "${extra[@]}" --drain 1 --link-timeout 60
	# The steady state: callgrind's counters are zeroed once every flow exists
	# (the count of frames starts from the p-zero sample), so the warm-up's
	# flow creations are not in the profile.
	for _ in $(seq 240); do
		n=$("$meshctl" --socket "$sockdir/meshdp.sock" --timeout 3000 --json stats 2>/dev/null |
			python3 -c 'import json, sys; print(json.load(sys.stdin)["counters"].get("l4_flows_new", 0))' \
			2>/dev/null || echo 0)
		[ "${n:-0}" -lt "$P_FLOWS" ] || break
		sleep 0.5
	done
	callgrind_control -z "$sut_pid" >/dev/null 2>&1 || true
	mdp_sample "$run/p-zero.txt"
	gen_wait p-64
	mdp_sample "$run/p-stats.txt"
	stop_sut
	mdp_lcores= mdp_main= mdp_limits=
	callgrind_annotate --threshold=99 "$out" 2>/dev/null |
		sed -n '/PROGRAM TOTALS/,$p' | head -40 >"$run/p-annotate.txt" || true
	callgrind_annotate --inclusive=yes "$out" 2>/dev/null |
		sed -n '/file:function/,$p' | head -32 >"$run/p-inclusive.txt" || true
}

# (t): TCP connection scale: two in-process stacks of T_CONNS + T_SLACK
# connections each, T_CONNS handshakes, then idle (meshdp-tcpscale).
scenario_t() {
	if ! "$tcpscale" -l "$SUT_CORE" --no-pci --no-huge -m "$T_MEM_MB" --file-prefix mdpbench-ts \
		-- --conns "$T_CONNS" --slack "$T_SLACK" 2>"$run/t.log" >"$run/t-raw.json" ||
		! python3 -c 'import json,sys; json.load(open(sys.argv[1]))' "$run/t-raw.json" 2>/dev/null; then
		printf '{"conns": %d, "created": false, "error": "%s"}\n' "$T_CONNS" \
			"process failed, see t.log (out of memory? T_MEM_MB=$T_MEM_MB)" >"$run/t.json"
		return
	fi
	python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); d["mem_mb"]=int(sys.argv[2]); print(json.dumps(d))' \
		"$run/t-raw.json" "$T_MEM_MB" >"$run/t.json"
}

# (x): tcp_proxy vs the kernel. Names differ from the integration tests' (mdp0/mdp1,
# mdp-client, mdp-server, mdp-b*) so that both can run at once.
#
#   netns mdpb-client                     meshdp (root netns, TAP)            netns mdpb-server (br0)
#   mdpb0 10.70.1.2 <-TAP-> p0 10.70.1.1 [tcp_proxy :8080 :5201] p1 10.70.2.1 <-TAP-> mdpb1 --+
#   xc0   10.70.3.2 <-veth-> xk0 10.70.3.1  netns mdpb-kproxy  xk1 10.70.2.20 <-veth-> xs-kp --+-- br0
#                            socat :8080 :5201, haproxy :8081 :5202,                          |
#                            ip_forward (client route 10.70.2.11/32 via it: "fwd")    xs-b1 --+
#                                                         netns mdpb-b1: eth0 10.70.2.11, nginx :80, iperf3 -s :5201
X_NS_C=mdpb-client X_NS_S=mdpb-server X_NS_K=mdpb-kproxy X_NS_B=mdpb-b1
X_TAP0=mdpb0 X_TAP1=mdpb1 X_PREFIX=mdpbench-x # (s) sets its own, so that it runs beside (x)
x_pids=()
x_cleanup() {
	local p
	set +e
	for p in "${x_pids[@]}"; do
		kill "$p" 2>/dev/null
	done
	for f in "$run"/x-nginx/nginx.pid "$run"/x-iperf.pid "$run"/x-haproxy.pid; do
		[ -f "$f" ] && kill "$(cat "$f")" 2>/dev/null
	done
	for ns in $X_NS_C $X_NS_S $X_NS_K $X_NS_B; do
		ip netns del "$ns" 2>/dev/null
	done
	x_up=0
	set -e
}

x_profile() {
	cat <<EOP
{
	"profile": "tap-bench",
	"description": "drivers-config/tap.json with the bench's own interfaces ($X_TAP0, $X_TAP1) and file prefix",
	"eal": { "lcores": "$GEN_CORE,$SUT_CORE", "main_lcore": $GEN_CORE, "file_prefix": "$X_PREFIX", "args": ["--no-pci"] },
	"memory": { "hugepages": "auto", "no_huge_mb": 1024, "mbufs": 16384, "mbuf_cache": 256 },
	"ports": [
		{ "name": "p0", "device": "net_tap0", "devargs": "iface=$X_TAP0", "rx_desc": 1024, "tx_desc": 1024, "rss": true, "rx_checksum": true },
		{ "name": "p1", "device": "net_tap1", "devargs": "iface=$X_TAP1", "rx_desc": 1024, "tx_desc": 1024, "rss": true, "rx_checksum": true }
	]
}
EOP
}

# The tcp_proxy document: as tests/data/tcp-proxy.json, one backend; the worker
# sleeps when idle (as that test does), since it shares two cores with
# everything else here (the clients, nginx, the kernel's TAP and veth work).
x_config() {
	cat <<EOC
{
	"version": 1,
	"node": { "name": "meshdp-bench-x" },
	"control": { "socket": "$sockdir/meshdp.sock" },
	"admin": { "listen": "" },
	"mode": "mesh",
	"interfaces": [
		{ "name": "client", "port": "p0", "ipv4": ["10.70.1.1/24"] },
		{ "name": "server", "port": "p1", "ipv4": ["10.70.2.1/24"] }
	],
	"mesh": { "prefixes": ["10.70.0.0/16"] },
	"workloads": [
		{ "name": "client", "namespace": "bench", "service": "client", "prefixes": ["10.70.1.2/32"] }
	],
	"services": [
		{ "name": "web", "namespace": "bench", "vip": "10.70.9.10",
		  "ports": [ { "port": 80, "protocol": "tcp" } ], "endpoints": [ { "address": "10.70.2.11" } ],
		  "breaker": { "max_connections": 1000000, "max_pending": 1000000, "max_ejection_percent": 0 },
		  "health": { "interval_ms": 0 } },
		{ "name": "iperf", "namespace": "bench", "vip": "10.70.9.11",
		  "ports": [ { "port": 5201, "protocol": "tcp" } ], "endpoints": [ { "address": "10.70.2.11" } ],
		  "breaker": { "max_connections": 1000000, "max_pending": 1000000, "max_ejection_percent": 0 },
		  "health": { "interval_ms": 0 } }
	],
	"policies": [
		{ "name": "client-web", "action": "allow", "from": { "namespace": "bench", "service": "client" }, "to": { "service": "web" } },
		{ "name": "client-iperf", "action": "allow", "from": { "namespace": "bench", "service": "client" }, "to": { "service": "iperf" } }
	],
	"tcp": { "capacity": 131072 },
	"listeners": [
		{ "name": "web", "type": "tcp_proxy", "address": "10.70.1.1", "port": 8080, "cluster": "bench/web",
		  "connect_timeout_ms": 2000, "idle_timeout_s": 120, "tcp": { "congestion": "cubic", "nodelay": true } },
		{ "name": "iperf", "type": "tcp_proxy", "address": "10.70.1.1", "port": 5201, "cluster": "bench/iperf",
		  "tcp": { "congestion": "cubic" } }
	],
	"flows": { "capacity": 262144 },
	"tune": { "rx_burst": 32, "tx_burst": 32, "drain_us": 100, "idle": "sleep", "idle_polls": 2000, "idle_sleep_us": 50 }
}
EOC
}

x_ns_addr() { # x_ns_addr NS IF ADDR/LEN [GW]
	ip -n "$1" link set lo up
	ip -n "$1" link set "$2" up
	ip -n "$1" addr add "$3" dev "$2"
	[ -z "${4:-}" ] || ip -n "$1" route add default via "$4"
}

x_topology() {
	local ifc
	x_up=1
	for ns in $X_NS_C $X_NS_S $X_NS_K $X_NS_B; do
		ip netns del "$ns" 2>/dev/null || true
		ip netns add "$ns"
	done
	for ifc in $X_TAP0 $X_TAP1; do
		for _ in $(seq 100); do
			ip link show "$ifc" >/dev/null 2>&1 && break
			sleep 0.1
		done
	done
	ip link set $X_TAP0 netns $X_NS_C
	ip link set $X_TAP1 netns $X_NS_S
	# net_tap gives the kernel end the port's own MAC: hosts (and the bridge port) get their own
	ip -n $X_NS_C link set $X_TAP0 address 02:00:0a:46:01:02
	ip -n $X_NS_S link set $X_TAP1 address 02:00:0a:46:02:fe
	x_ns_addr $X_NS_C $X_TAP0 10.70.1.2/24 10.70.1.1
	ip -n $X_NS_S link add br0 type bridge
	ip -n $X_NS_S link set $X_TAP1 master br0
	ip -n $X_NS_S link set $X_TAP1 up
	ip -n $X_NS_S link set br0 up
	ip -n $X_NS_S link set lo up
	# the backend
	ip link add xs-b1 netns $X_NS_S type veth peer name eth0 netns $X_NS_B
	ip -n $X_NS_S link set xs-b1 master br0
	ip -n $X_NS_S link set xs-b1 up
	# frames from a veth reach meshdp through the TAP with full checksums only
	# when the sender does not offload them (as in tests/integration/lib_l4.sh)
	ip netns exec $X_NS_B ethtool -K eth0 tx off >/dev/null
	ip -n $X_NS_B link set eth0 address 02:00:0a:46:02:0b
	x_ns_addr $X_NS_B eth0 10.70.2.11/24 10.70.2.1
	ip -n $X_NS_B route add 10.70.3.0/24 via 10.70.2.20
	# the kernel proxies' namespace
	ip link add xc0 netns $X_NS_C type veth peer name xk0 netns $X_NS_K
	ip link add xs-kp netns $X_NS_S type veth peer name xk1 netns $X_NS_K
	ip -n $X_NS_S link set xs-kp master br0
	ip -n $X_NS_S link set xs-kp up
	x_ns_addr $X_NS_C xc0 10.70.3.2/24
	x_ns_addr $X_NS_K xk0 10.70.3.1/24
	x_ns_addr $X_NS_K xk1 10.70.2.20/24
	ip netns exec $X_NS_K sysctl -qw net.ipv4.ip_forward=1
	ip -n $X_NS_C route add 10.70.2.11/32 via 10.70.3.1
	for ns in $X_NS_C $X_NS_K; do
		ip netns exec $ns sysctl -qw net.ipv4.ip_local_port_range="10000 65000"
		ip netns exec $ns sysctl -qw net.ipv4.tcp_tw_reuse=1
	done
}

x_servers() {
	local d=$run/x-nginx
	mkdir -p "$d"
	cat >"$d/nginx.conf" <<EOF
daemon on;
worker_processes 1;
worker_rlimit_nofile 65536;
user root;
pid $d/nginx.pid;
error_log $d/error.log;
events { worker_connections 16384; }
http {
	access_log off;
	client_body_temp_path $d;
	proxy_temp_path $d;
	fastcgi_temp_path $d;
	uwsgi_temp_path $d;
	scgi_temp_path $d;
	keepalive_requests 1000000;
	server {
		listen 80 reuseport backlog=4096;
		location / { return 200 "hello from mdpb-b1\n"; }
	}
}
EOF
	ip netns exec $X_NS_B nginx -c "$d/nginx.conf"
	ip netns exec $X_NS_B iperf3 -s -D -I "$run/x-iperf.pid" >/dev/null
	# socat: a process per connection (fork), as an ad-hoc kernel proxy runs
	ip netns exec $X_NS_K socat TCP-LISTEN:8080,bind=10.70.3.1,fork,reuseaddr,backlog=4096 \
		TCP:10.70.2.11:80 2>>"$run/x-socat.log" &
	x_pids+=($!)
	socat_pid=$!
	ip netns exec $X_NS_K socat TCP-LISTEN:5201,bind=10.70.3.1,fork,reuseaddr \
		TCP:10.70.2.11:5201 2>>"$run/x-socat.log" &
	x_pids+=($!)
	socat_ip_pid=$!
	haproxy_pid=
	if command -v haproxy >/dev/null; then
		# one thread, as meshdp runs one worker
		cat >"$run/x-haproxy.cfg" <<EOF
global
	maxconn 8000
	nbthread 1
	pidfile $run/x-haproxy.pid
defaults
	mode tcp
	timeout connect 5s
	timeout client 60s
	timeout server 60s
frontend web
	bind 10.70.3.1:8081
	default_backend web
backend web
	server b1 10.70.2.11:80
frontend iperf
	bind 10.70.3.1:5202
	default_backend iperf
backend iperf
	server b1 10.70.2.11:5201
EOF
		ip netns exec $X_NS_K haproxy -f "$run/x-haproxy.cfg" -db >"$run/x-haproxy.log" 2>&1 &
		haproxy_pid=$!
		x_pids+=($!)
	fi
	haproxy --version 2>/dev/null | head -1 >"$run/x-versions.txt" || true
	{
		socat -V 2>/dev/null | grep "socat version" || true
		nginx -v 2>&1 || true
		iperf3 --version | head -1 || true
		wrk --version 2>&1 | head -1 || true
		uname -r
	} >>"$run/x-versions.txt"
}

# x_target TARGET: sets web (host:port), ip_host and ip_port (iperf3's), and
# web_pid and ip_pid (the processes whose CPU time is counted) for a target.
x_target() {
	case $1 in
	meshdp) web=10.70.1.1:8080 ip_host=10.70.1.1 ip_port=5201 web_pid=$sut_pid ip_pid=$sut_pid ;;
	socat) web=10.70.3.1:8080 ip_host=10.70.3.1 ip_port=5201 web_pid=$socat_pid ip_pid=$socat_ip_pid ;;
	haproxy) web=10.70.3.1:8081 ip_host=10.70.3.1 ip_port=5202 web_pid=$haproxy_pid ip_pid=$haproxy_pid ;;
	fwd) web=10.70.2.11:80 ip_host=10.70.2.11 ip_port=5201 web_pid= ip_pid= ;;
	esac
}

# One line: the machine's busy and total jiffies (/proc/stat), the process's
# utime+stime+cutime+cstime (0 without one), meshdp's counters when running.
x_cpu() { # x_cpu PID
	local busy total proc=0
	read -r busy total < <(awk '/^cpu / { t = 0; for (i = 2; i <= NF; i++) t += $i; print t - $5 - $6, t }' /proc/stat)
	if [ -n "$1" ] && [ -r "/proc/$1/stat" ]; then
		proc=$(awk '{ print $14 + $15 + $16 + $17 }' "/proc/$1/stat")
	fi
	echo "$(date +%s.%N) $busy $total $proc"
}

x_run() { # x_run TARGET TEST OUTFILE CMD...
	local t=$1 test=$2 out=$3 pid
	shift 3
	x_target "$t"
	pid=$web_pid
	case $test in up | down) pid=$ip_pid ;; esac
	x_cpu "$pid" >"$run/x-$t-$test.cpu"
	[ "$t" != meshdp ] || mdp_sample "$run/x-$t-$test-s1.txt"
	ip netns exec $X_NS_C "$@" >"$out" 2>"$out.err" || echo "failed: $*" >>"$out.err"
	# socat's children are counted once they exit and are reaped
	sleep 0.3
	x_cpu "$pid" >>"$run/x-$t-$test.cpu"
	[ "$t" != meshdp ] || mdp_sample "$run/x-$t-$test-s2.txt"
	sleep 1
}

scenario_x() {
	local t web ip_host ip_port web_pid ip_pid d=$X_DURATION
	x_profile >"$run/x-profile.json"
	x_config >"$run/x-config.json"
	"$meshdp" --profile "$run/x-profile.json" --config "$run/x-config.json" --no-huge \
		>"$run/meshdp-x.log" 2>&1 &
	sut_pid=$!
	for _ in $(seq 100); do
		"$meshctl" --socket "$sockdir/meshdp.sock" --timeout 500 status >/dev/null 2>&1 && break
		kill -0 $sut_pid 2>/dev/null || die "meshdp exited, see $run/meshdp-x.log"
		sleep 0.2
	done
	x_topology
	x_servers
	sleep 2
	if [ -n "$haproxy_pid" ] && ! kill -0 "$haproxy_pid" 2>/dev/null; then
		echo "bench: (x) haproxy exited, see $run/x-haproxy.log; skipped" >&2
		haproxy_pid=
	fi
	: >"$run/x-check.txt"
	for t in $X_TARGETS; do
		x_target "$t"
		[ "$t" != haproxy ] || [ -n "$haproxy_pid" ] || continue
		for _ in $(seq 20); do
			ip netns exec $X_NS_C curl -sf -m 2 "http://$web/" >/dev/null 2>&1 && break
			sleep 0.5
		done
		echo "$t $(ip netns exec $X_NS_C curl -s -m 2 "http://$web/" 2>&1)" >>"$run/x-check.txt"
	done
	for t in $X_TARGETS; do
		x_target "$t"
		[ "$t" != haproxy ] || [ -n "$haproxy_pid" ] || continue
		echo "bench: (x) $t: wrk close, wrk keep-alive, iperf3 up and down (${d} s each)" >&2
		x_run "$t" close "$run/x-$t-close.txt" \
			wrk -c "$X_CONNS" -t 1 -d "${d}s" --latency -H 'Connection: close' "http://$web/"
		x_run "$t" keepalive "$run/x-$t-keepalive.txt" \
			wrk -c "$X_CONNS" -t 1 -d "${d}s" --latency "http://$web/"
		x_run "$t" up "$run/x-$t-up.json" \
			iperf3 -c "$ip_host" -p "$ip_port" -t "$d" -O 1 -J
		x_run "$t" down "$run/x-$t-down.json" \
			iperf3 -c "$ip_host" -p "$ip_port" -t "$d" -O 1 -J -R
	done
	"$meshctl" --socket "$sockdir/meshdp.sock" --json stats >"$run/x-stats-end.json" || true
	"$meshctl" --socket "$sockdir/meshdp.sock" --json tcp stats >"$run/x-tcp-stats-end.json" || true
	stop_sut
	x_cleanup
}

# Scenario h: HTTP/1.1 keep-alive proxying, meshdp's http listener vs nginx and
# HAProxy as reverse proxies, one worker / process each, in one run:
#
#   netns mdph-client               proxy                                   netns mdph-server (br0)
#   hp0  10.71.1.2  <-H_SUBSTRATE-> p0 10.71.1.1 [meshdp http :8080] p1 10.71.2.1 <--> hp1 --+
#   hk-c 10.71.3.2  <-veth-> hk0 10.71.3.1 [netns mdph-kproxy] hk1 10.71.2.20 <-veth-> hs-k --+- br0
#                            HAProxy :8081, nginx proxy :8082, ip_forward ("direct")          |
#                                        netns mdph-b1: eth0 10.71.2.11, nginx :80     hs-b --+
#
# meshdp's ports: net_tap (the TAPs moved into the namespaces), or net_af_packet
# / net_af_xdp (copy mode) on the ends of veth pairs in a namespace of meshdp's
# own (mdph-node), one meshdp per substrate in H_SUBSTRATES. CPU: meshdp's
# worker (EAL pins its lcore), HAProxy (taskset) and the nginx proxy's worker
# (worker_cpu_affinity) on core SUT_CORE; wrk (taskset) and the nginx backend
# on core GEN_CORE, where meshdp's main lcore sleeps.
H_NS_C=mdph-client H_NS_S=mdph-server H_NS_K=mdph-kproxy H_NS_B=mdph-b1 H_NS_N=mdph-node
h_pids=()
h_up=0
h_cleanup() {
	local p f
	set +e
	for p in "${h_pids[@]}"; do
		kill "$p" 2>/dev/null
	done
	h_pids=()
	for f in "$run"/h-nginx-b/nginx.pid "$run"/h-nginx-p/nginx.pid; do
		[ -f "$f" ] && kill "$(cat "$f")" 2>/dev/null
	done
	for ns in $H_NS_C $H_NS_S $H_NS_K $H_NS_B $H_NS_N; do
		ip netns del "$ns" 2>/dev/null
	done
	h_up=0
	set -e
}

h_profile() { # h_profile SUBSTRATE
	local d0 d1 a0 a1
	case $1 in
	tap)
		d0=net_tap0 d1=net_tap1 a0="iface=mdph0" a1="iface=mdph1"
		;;
	afpacket)
		d0=net_af_packet0 d1=net_af_packet1
		a0="iface=mdph0,qpairs=1,blocksz=4096,framesz=2048,framecnt=2048"
		a1="iface=mdph1,qpairs=1,blocksz=4096,framesz=2048,framecnt=2048"
		;;
	afxdp)
		d0=net_af_xdp0 d1=net_af_xdp1 a0="iface=mdph0,force_copy=1,busy_budget=0" a1="iface=mdph1,force_copy=1,busy_budget=0"
		;;
	esac
	cat <<EOP
{
	"profile": "h-$1",
	"description": "scenario h: $d0 / $d1 for the http listener bench",
	"eal": { "lcores": "$GEN_CORE,$SUT_CORE", "main_lcore": $GEN_CORE, "file_prefix": "mdpbench-h", "args": ["--no-pci"] },
	"memory": { "hugepages": "auto", "no_huge_mb": 1024, "mbufs": 32768, "mbuf_cache": 256 },
	"ports": [
		{ "name": "p0", "device": "$d0", "devargs": "$a0", "rx_desc": 1024, "tx_desc": 1024$([ "$1" != tap ] || echo ', "rss": true, "rx_checksum": true') },
		{ "name": "p1", "device": "$d1", "devargs": "$a1", "rx_desc": 1024, "tx_desc": 1024$([ "$1" != tap ] || echo ', "rss": true, "rx_checksum": true') }
	]
}
EOP
}

# As tests/data/http-proxy.json, one route to one backend with an upstream pool;
# the worker sleeps when idle (it shares the machine), as the tests' documents do.
h_config() { # h_config [MEMBERS [LISTENER]]: MEMBERS (JSON members and a comma) added at the top level, LISTENER (JSON members) to the listener
	cat <<EOC
{
	"version": 1,
	"node": { "name": "meshdp-bench-h" },
	"control": { "socket": "$sockdir/meshdp.sock" },
	"admin": { "listen": "" },
	"mode": "mesh",
	"interfaces": [
		{ "name": "client", "port": "p0", "ipv4": ["10.71.1.1/24"] },
		{ "name": "server", "port": "p1", "ipv4": ["10.71.2.1/24"] }
	],
	"mesh": { "prefixes": ["10.71.0.0/16"] },
	"workloads": [
		{ "name": "client", "namespace": "bench", "service": "client", "prefixes": ["10.71.1.2/32"] }
	],
	"services": [
		{ "name": "web", "namespace": "bench", "vip": "10.71.9.10",
		  "ports": [ { "port": 80, "protocol": "tcp" } ], "endpoints": [ { "address": "10.71.2.11" } ],
		  "breaker": { "max_connections": 1000000, "max_pending": 1000000, "max_ejection_percent": 0 },
		  "health": { "interval_ms": 0 } }
	],
	"policies": [
		{ "name": "client-web", "action": "allow", "from": { "namespace": "bench", "service": "client" }, "to": { "service": "web" } }
	],
	"route_configs": [
		{ "name": "main", "virtual_hosts": [ { "name": "any", "domains": ["*"],
		  "routes": [ { "name": "web", "match": { "prefix": "/" }, "cluster": "bench/web" } ] } ] }
	],
	"clusters": [
		{ "service": "bench/web", "pool": { "max_idle_per_endpoint": $H_POOL, "idle_timeout_s": 60 } }
	],
	"tcp": { "capacity": 65536 },
	"listeners": [
		{ "name": "http", "type": "http", "address": "10.71.1.1", "port": 8080, "route_config": "main",
		  "connect_timeout_ms": 2000, "idle_timeout_s": 120${2:+, $2} }
	],
	"flows": { "capacity": 65536 },${1:+
	$1}
	"tune": { "rx_burst": 32, "tx_burst": 32, "drain_us": 100, "idle": "sleep", "idle_polls": 2000, "idle_sleep_us": 50 }
}
EOC
}

# h_meshdp_start SUBSTRATE [LISTENER]: the meshdp of that substrate (LISTENER:
# members added to its listener, see h_config), its client-side and server-side
# kernel peers (hp0 in the client namespace, hp1 on the bridge).
h_meshdp_start() {
	local s=$1 wrap=() ifc
	ip netns del $H_NS_N 2>/dev/null || true
	h_profile "$s" >"$run/h-profile-$s.json"
	h_config "" "${2:-}" >"$run/h-config.json"
	# libxdp keeps its dispatcher program in bpffs
	if [ "$s" = afxdp ] && ! grep -q ' /sys/fs/bpf bpf ' /proc/mounts; then
		mount -t bpf bpf /sys/fs/bpf 2>/dev/null || true
	fi
	if [ "$s" != tap ]; then
		ip netns add $H_NS_N
		ip link add mdph0 netns $H_NS_N type veth peer name hp0 netns $H_NS_C
		ip link add mdph1 netns $H_NS_N type veth peer name hp1 netns $H_NS_S
		for ifc in mdph0 mdph1; do
			ip netns exec $H_NS_N sysctl -qw "net.ipv6.conf.$ifc.disable_ipv6=1"
			ip -n $H_NS_N link set "$ifc" up
		done
		wrap=(ip netns exec $H_NS_N)
	fi
	"${wrap[@]}" "$meshdp" --profile "$run/h-profile-$s.json" --config "$run/h-config.json" \
		--no-huge >"$run/meshdp-h-$s.log" 2>&1 &
	sut_pid=$!
	for _ in $(seq 100); do
		"$meshctl" --socket "$sockdir/meshdp.sock" --timeout 500 status >/dev/null 2>&1 && break
		if ! kill -0 $sut_pid 2>/dev/null; then
			echo "bench: (h) meshdp on $s exited, see $run/meshdp-h-$s.log" >&2
			sut_pid=
			return 1
		fi
		sleep 0.2
	done
	if [ "$s" = tap ]; then
		for ifc in mdph0 mdph1; do
			for _ in $(seq 100); do
				ip link show "$ifc" >/dev/null 2>&1 && break
				sleep 0.1
			done
		done
		ip link set mdph0 netns $H_NS_C name hp0
		ip link set mdph1 netns $H_NS_S name hp1
		# net_tap gives the kernel end the port's own MAC
		ip -n $H_NS_C link set hp0 address 02:00:0a:47:01:02
		ip -n $H_NS_S link set hp1 address 02:00:0a:47:02:fe
	fi
	# peers put whole checksums in their frames (AF_PACKET / AF_XDP hand meshdp what
	# the kernel built; see tests/integration/test_afpacket.sh)
	ip netns exec $H_NS_C ethtool -K hp0 tx off gso off gro off >/dev/null
	ip netns exec $H_NS_S ethtool -K hp1 tx off gso off gro off >/dev/null
	ip -n $H_NS_S link set hp1 master br0
	ip -n $H_NS_S link set hp1 up
	ip -n $H_NS_C link set hp0 up
	ip -n $H_NS_C addr add 10.71.1.2/24 dev hp0
}

h_meshdp_stop() {
	stop_sut
	ip -n $H_NS_C link del hp0 2>/dev/null || true
	ip -n $H_NS_S link del hp1 2>/dev/null || true
	ip netns del $H_NS_N 2>/dev/null || true
}

h_topology() {
	h_up=1
	for ns in $H_NS_C $H_NS_S $H_NS_K $H_NS_B; do
		ip netns del "$ns" 2>/dev/null || true
		ip netns add "$ns"
		ip -n "$ns" link set lo up
	done
	ip -n $H_NS_S link add br0 type bridge
	ip -n $H_NS_S link set br0 up
	ip link add hs-b netns $H_NS_S type veth peer name eth0 netns $H_NS_B
	ip -n $H_NS_S link set hs-b master br0
	ip -n $H_NS_S link set hs-b up
	ip netns exec $H_NS_B ethtool -K eth0 tx off >/dev/null
	x_ns_addr $H_NS_B eth0 10.71.2.11/24 10.71.2.1
	ip -n $H_NS_B route add 10.71.3.0/24 via 10.71.2.20
	ip link add hk-c netns $H_NS_C type veth peer name hk0 netns $H_NS_K
	ip link add hs-k netns $H_NS_S type veth peer name hk1 netns $H_NS_K
	ip -n $H_NS_S link set hs-k master br0
	ip -n $H_NS_S link set hs-k up
	x_ns_addr $H_NS_C hk-c 10.71.3.2/24
	x_ns_addr $H_NS_K hk0 10.71.3.1/24
	x_ns_addr $H_NS_K hk1 10.71.2.20/24
	ip netns exec $H_NS_K sysctl -qw net.ipv4.ip_forward=1
	ip -n $H_NS_C route add 10.71.2.11/32 via 10.71.3.1
}

# The backend (nginx, one worker, on GEN_CORE): a tiny body at /, 10 KB at /10k;
# the kernel proxies in mdph-kproxy, one worker / thread each, on SUT_CORE.
h_servers() {
	local d=$run/h-nginx-b p=$run/h-nginx-p
	mkdir -p "$d/www" "$p"
	head -c 10240 /dev/zero | tr '\0' x >"$d/www/10k"
	cat >"$d/nginx.conf" <<EOF
daemon on;
worker_processes 1;
worker_cpu_affinity $(printf '1%*s' "$GEN_CORE" '' | tr ' ' 0);
worker_rlimit_nofile 65536;
user root;
pid $d/nginx.pid;
error_log $d/error.log;
events { worker_connections 16384; }
http {
	access_log off;
	client_body_temp_path $d;
	proxy_temp_path $d;
	fastcgi_temp_path $d;
	uwsgi_temp_path $d;
	scgi_temp_path $d;
	keepalive_requests 1000000;
	keepalive_timeout 300s;
	server {
		listen 80 reuseport backlog=4096;
		location = /10k { root $d/www; }
		location / { return 200 "hello from mdph-b1\n"; }
	}
}
EOF
	ip netns exec $H_NS_B nginx -c "$d/nginx.conf"
	cat >"$p/nginx.conf" <<EOF
daemon on;
worker_processes 1;
worker_cpu_affinity $(printf '1%*s' "$SUT_CORE" '' | tr ' ' 0);
worker_rlimit_nofile 65536;
user root;
pid $p/nginx.pid;
error_log $p/error.log;
events { worker_connections 16384; }
http {
	access_log off;
	client_body_temp_path $p;
	proxy_temp_path $p;
	fastcgi_temp_path $p;
	uwsgi_temp_path $p;
	scgi_temp_path $p;
	keepalive_requests 1000000;
	keepalive_timeout 300s;
	upstream web {
		server 10.71.2.11:80;
		keepalive $H_POOL;
		keepalive_requests 1000000;
	}
	server {
		listen 10.71.3.1:8082 reuseport backlog=4096;
		# (2): h2c with prior knowledge, the same upstream
		listen 10.71.3.1:8083 http2 reuseport backlog=4096;
		http2_max_concurrent_streams $H2_STREAMS;
		location / {
			proxy_pass http://web;
			proxy_http_version 1.1;
			proxy_set_header Connection "";
			proxy_buffering on;
		}
	}
}
EOF
	ip netns exec $H_NS_K nginx -c "$p/nginx.conf"
	cat >"$run/h-haproxy.cfg" <<EOF
global
	maxconn 4000
	nbthread 1
defaults
	mode http
	option http-keep-alive
	http-reuse always
	timeout connect 5s
	timeout client 60s
	timeout server 60s
	timeout http-keep-alive 300s
frontend web
	bind 10.71.3.1:8081
	default_backend web
backend web
	server b1 10.71.2.11:80
EOF
	ip netns exec $H_NS_K taskset -c "$SUT_CORE" haproxy -f "$run/h-haproxy.cfg" -db >"$run/h-haproxy.log" 2>&1 &
	h_haproxy_pid=$!
	h_pids+=($!)
	h_nginx_b_pid=$(pgrep -P "$(cat "$d/nginx.pid")" | head -1)
	h_nginx_p_pid=$(pgrep -P "$(cat "$p/nginx.pid")" | head -1)
	{
		haproxy -v 2>/dev/null | head -1 || true
		nginx -v 2>&1 || true
		wrk --version 2>&1 | head -1 || true
		uname -r
	} >"$run/h-versions.txt"
}

# h_target TARGET: url (host:port) and the PID whose CPU is the proxy's.
h_target() {
	case $1 in
	meshdp-*) h_url=10.71.1.1:8080 h_pid=$sut_pid ;;
	nginx) h_url=10.71.3.1:8082 h_pid=$h_nginx_p_pid ;;
	nginx-h2) h_url=10.71.3.1:8083 h_pid=$h_nginx_p_pid ;;
	nghttpx) h_url=10.71.3.1:8084 h_pid=$h2_nghttpx_pid ;;
	haproxy) h_url=10.71.3.1:8081 h_pid=$h_haproxy_pid ;;
	direct) h_url=10.71.2.11:80 h_pid= ;;
	esac
}

# /proc CPU line: time, machine busy/total jiffies, the proxy's and the backend's
# utime+stime (x_cpu's format plus the backend's column).
h_cpu() { # h_cpu PID
	local line b=0
	line=$(x_cpu "$1")
	[ ! -r "/proc/$h_nginx_b_pid/stat" ] || b=$(awk '{ print $14 + $15 }' "/proc/$h_nginx_b_pid/stat")
	echo "$line $b"
}

h_run() { # h_run TARGET TEST CONNS PATH
	local t=$1 test=$2 c=$3 path=$4 out=$run/h-$1-$2
	h_target "$t"
	h_cpu "$h_pid" >"$out.cpu"
	[ -z "$sut_pid" ] || mdp_sample "$out-s1.txt"
	local perf_pid=
	if [ "$H_PERF" = 1 ] && [ -n "$sut_pid" ] && [ "$test" = tiny ]; then
		# the worker's samples (user and kernel: the substrate's system calls), on its core
		perf record -q -e cpu-clock -C "$SUT_CORE" -g -o "$out.perf" -- sleep "$H_DURATION" \
			>"$out.perf.log" 2>&1 &
		perf_pid=$!
	fi
	ip netns exec $H_NS_C taskset -c "$GEN_CORE" wrk -c "$c" -t 1 -d "${H_DURATION}s" --latency \
		"http://$h_url$path" >"$out.txt" 2>"$out.err" || echo "failed: wrk $t $test" >>"$out.err"
	h_cpu "$h_pid" >>"$out.cpu"
	[ -z "$sut_pid" ] || mdp_sample "$out-s2.txt"
	if [ -n "$perf_pid" ]; then
		wait "$perf_pid" || true
		perf report -i "$out.perf" --no-children --comm rte-worker-1 --percentage relative \
			--sort dso,sym -g none --percent-limit 0.5 --stdio >"$out.perf.txt" 2>/dev/null || true
	fi
	sleep 1
}

h_runs() { # h_runs TARGET: the tiny, 10 KB and latency rows of one target
	local t=$1 ok=0
	h_target "$t"
	for _ in $(seq 20); do
		ip netns exec $H_NS_C curl -sf -m 2 "http://$h_url/" >/dev/null 2>&1 && ok=1 && break
		sleep 0.5
	done
	echo "$t $(ip netns exec $H_NS_C curl -s -m 2 "http://$h_url/" 2>&1 | head -1)" >>"$run/h-check.txt"
	if [ $ok = 0 ]; then
		echo "bench: (h) $t does not answer, skipped" >&2
		return 0
	fi
	echo "bench: (h) $t: wrk -c $H_CONNS tiny and 10 KB, -c $H_LAT_CONNS for latency (${H_DURATION} s each)" >&2
	[ -z "$sut_pid" ] || mdp_sample "$run/h-$t-idle-s1.txt"
	[ -z "$sut_pid" ] || { sleep 2; mdp_sample "$run/h-$t-idle-s2.txt"; }
	h_run "$t" tiny "$H_CONNS" /
	h_run "$t" 10k "$H_CONNS" /10k
	h_run "$t" lat "$H_LAT_CONNS" /
}

# (2): nghttpx in the kernel proxies' namespace, one worker on SUT_CORE, h2c
# frontend, HTTP/1.1 to the backend.
h2_nghttpx_start() {
	ip netns exec $H_NS_K taskset -c "$SUT_CORE" nghttpx --conf=/dev/null \
		--frontend='10.71.3.1,8084;no-tls' --backend='10.71.2.11,80' --workers=1 \
		--frontend-http2-max-concurrent-streams="$H2_STREAMS" --backend-connections-per-host="$H_POOL" \
		--no-ocsp --errorlog-file="$run/2-nghttpx.log" >>"$run/2-nghttpx.log" 2>&1 &
	h_pids+=($!)
	sleep 1
	# the worker process does the proxying; the main one only supervises it
	h2_nghttpx_pid=$(pgrep -P "$!" | head -1)
	[ -n "$h2_nghttpx_pid" ] || h2_nghttpx_pid=$!
	nghttpx --version 2>/dev/null | head -1 >>"$run/h-versions.txt" || true
	h2load --version 2>/dev/null | head -1 >>"$run/h-versions.txt" || true
}

h2_rss_kb() { # h2_rss_kb PID
	awk '/^VmRSS:/ { print $2 }' "/proc/$1/status" 2>/dev/null || echo 0
}

# h2_runs TARGET: h2load through it, then H2_IDLE idle connections held by
# bench/h2idle.py while the proxy's RSS is read.
h2_runs() {
	local t=$1 out=$run/2-$1 ok=0 hold
	h_target "$t"
	for _ in $(seq 20); do
		ip netns exec $H_NS_C curl -sf -m 2 --http2-prior-knowledge "http://$h_url/" >/dev/null 2>&1 && ok=1 && break
		sleep 0.5
	done
	echo "$t $(ip netns exec $H_NS_C curl -s -m 2 --http2-prior-knowledge "http://$h_url/" 2>&1 | head -1)" >>"$run/2-check.txt"
	if [ $ok = 0 ]; then
		echo "bench: (2) $t does not answer h2c, skipped" >&2
		return 0
	fi
	echo "bench: (2) $t: $H2_IDLE idle connections, then h2load -c $H2_CONNS -m $H2_STREAMS (${H2_DURATION} s)" >&2
	# idle first, on a proxy whose heap the load has not grown yet
	hold=$run/2-$t-idle.fifo
	rm -f "$hold"
	mkfifo "$hold"
	echo "rss_before_kb $(h2_rss_kb "$h_pid")" >"$out-idle.txt"
	ip netns exec $H_NS_C python3 "$here/h2idle.py" "${h_url%:*}" "${h_url#*:}" "$H2_IDLE" \
		<"$hold" >>"$out-idle.txt" 2>&1 &
	local hp=$!
	exec 9>"$hold"
	for _ in $(seq 300); do
		grep -q '^ready' "$out-idle.txt" && break
		kill -0 $hp 2>/dev/null || break
		sleep 0.2
	done
	sleep 1
	echo "rss_held_kb $(h2_rss_kb "$h_pid")" >>"$out-idle.txt"
	exec 9>&-
	wait $hp || true
	rm -f "$hold"
	sleep 1
	h_cpu "$h_pid" >"$out.cpu"
	[ -z "$sut_pid" ] || mdp_sample "$out-s1.txt"
	ip netns exec $H_NS_C taskset -c "$GEN_CORE" h2load -c "$H2_CONNS" -m "$H2_STREAMS" -t 1 \
		-D "$H2_DURATION" "http://$h_url$H2_PATH" >"$out.txt" 2>"$out.err" || echo "failed: h2load $t" >>"$out.err"
	h_cpu "$h_pid" >>"$out.cpu"
	[ -z "$sut_pid" ] || mdp_sample "$out-s2.txt"
	sleep 1
}

scenario_2() {
	: >"$run/2-check.txt"
	H_POOL=$((H2_CONNS * H2_STREAMS))
	h_topology
	h_servers
	h2_nghttpx_start
	sleep 1
	if h_meshdp_start afpacket "\"http\": { \"http2\": { \"enabled\": true, \"max_concurrent_streams\": $H2_STREAMS } }"; then
		h2_runs meshdp-afpacket
		"$meshctl" --socket "$sockdir/meshdp.sock" --json stats >"$run/2-meshdp-stats-end.json" || true
	else
		echo "meshdp-afpacket did not start: $(tail -3 "$run/meshdp-h-afpacket.log" | tr '\n' ' ')" >>"$run/2-check.txt"
	fi
	h_meshdp_stop
	for t in nginx-h2 nghttpx; do
		h2_runs "$t"
	done
	h_cleanup
	H_POOL=256
}

scenario_h() {
	local s
	: >"$run/h-check.txt"
	h_topology
	h_servers
	sleep 1
	for s in $H_SUBSTRATES; do
		if h_meshdp_start "$s"; then
			h_runs "meshdp-$s"
			"$meshctl" --socket "$sockdir/meshdp.sock" --json stats >"$run/h-meshdp-$s-stats-end.json" || true
		else
			echo "meshdp-$s did not start: $(tail -3 "$run/meshdp-h-$s.log" | tr '\n' ' ')" >>"$run/h-check.txt"
		fi
		h_meshdp_stop
	done
	for t in nginx haproxy direct; do
		h_runs "$t"
	done
	h_cleanup
}

# (m): the HTTP/1.1 proxy alone. meshdp (the bench profile's two memif ports,
# h's document: an http listener at 10.71.1.1:8080, one route to the backend
# 10.71.2.11:80 with an upstream pool) between meshdp-httpgen's clients
# (10.71.1.2, first port) and its backend (10.71.2.11, second port), both on
# meshdp's own TCP stack in the generator's process, so no kernel is in the path.
# The generator runs on GEN_CORE, meshdp's worker on SUT_CORE.
m_start() { # m_start [wrapper...]: sut_start for (m)
	local mem=("${mdp_mem[@]}") tries=100 tmo=500
	write_profile 1024
	h_config "$(m_telemetry "$m_telem")$(m_authz "$m_authz_rules")" >"$run/m-config.json"
	if [ $# -gt 0 ]; then # under valgrind: no hugepages, slow start
		mem=(--no-huge)
		tries=60 tmo=3000
	fi
	"$@" "$meshdp" --profile "$run/profile.json" --config "$run/m-config.json" "${mem[@]}" \
		>"$run/meshdp-m${1:+-$(basename "$1")}.log" 2>&1 &
	sut_pid=$!
	for _ in $(seq $tries); do
		"$meshctl" --socket "$sockdir/meshdp.sock" --timeout $tmo status >/dev/null 2>&1 &&
			return 0
		kill -0 $sut_pid 2>/dev/null || die "meshdp exited, see $run/meshdp-m*.log"
		sleep 0.2
	done
	die "meshdp did not answer on its control socket, see $run/meshdp-m*.log"
}

m_gen() { # m_gen NAME CONNS DURATION WARMUP: meshdp-httpgen against the running pair
	pair_start "$1" "$httpgen" -l "$GEN_CORE" --no-pci --file-prefix mdpbench-hgen \
		"${gen_mem[@]}" -- --role "$gen_role" --socket "$s0" --socket "$s1" \
		--dst-mac "$mdp_mac" --client-ip 10.71.1.2 --connect 10.71.1.1:8080 \
		--backend-ip 10.71.2.11 --conns "$2" --duration "$3" --warmup "$4" \
		--link-timeout 60 --hold 3600 --json
}

m_run() { # m_run TEST CONNS: one run on a meshdp of its own, counters sampled in the window
	local name=m-meshdp-$1 sampler
	sut_start=(m_start)
	mdp_sampler "$name" "$M_DURATION" &
	sampler=$!
	m_gen "$name" "$2" "$M_DURATION" "$M_WARMUP"
	gen_wait "$name"
	wait "$sampler" || true
	"$meshctl" --socket "$sockdir/meshdp.sock" --json stats >"$run/$name-stats-end.json" || true
	stop_sut
}

# m_callgrind [NAME]: meshdp's worker under callgrind with the document
# m_telem and m_authz_rules give (files m-callgrind*, or m-callgrind-NAME*):
# counters zeroed when the generator's window opens, dumped when it closes;
# meshdp's counters sampled at both points.
m_callgrind() {
	local name=m-callgrind${1:+-$1}
	local out=$run/$name.out
	[ "$m_telem" != all ] || m_sink_start
	sut_start=(m_start valgrind --tool=callgrind --fair-sched=yes --callgrind-out-file="$out"
		--collect-atstart=no --toggle-collect=worker_main)
	m_gen "$name" "$M_CONNS" "$M_CG_DURATION" 5
	until grep -q "window open" "$run/$name.log" 2>/dev/null; do
		kill -0 "$gen_pid" 2>/dev/null || die "generator failed ($name), see $run/$name.log"
		sleep 0.1
	done
	callgrind_control -z "$sut_pid" >/dev/null 2>&1 || true
	mdp_sample "$run/$name-s1.txt"
	until grep -q "window closed" "$run/$name.log" 2>/dev/null; do
		kill -0 "$gen_pid" 2>/dev/null || die "generator failed ($name), see $run/$name.log"
		sleep 0.1
	done
	callgrind_control -d "$sut_pid" >/dev/null 2>&1 || true
	mdp_sample "$run/$name-s2.txt"
	gen_wait "$name"
	stop_sut
	m_sink_stop
	# the dump of the window is the first numbered part (out.1); the exit dump is out itself
	local part
	part=$(ls "$out".* 2>/dev/null | head -1)
	[ -n "$part" ] || part=$out
	callgrind_annotate --threshold=100 "$part" 2>/dev/null |
		sed -n '/PROGRAM TOTALS/,$p' | head -40 >"$run/$name-annotate.txt" || true
	callgrind_annotate --inclusive=yes "$part" 2>/dev/null >"$run/$name-inclusive-all.txt" || true
	# the top 40, then the functions the report reads wherever they rank
	{
		sed -n '/file:function/,$p' "$run/$name-inclusive-all.txt" | head -40
		grep -E ':(net_input|authz_check) ' "$run/$name-inclusive-all.txt"
	} >"$run/$name-inclusive.txt" || true
}

# m_telemetry SETTING: the telemetry section of (m)'s document for that setting.
#   off: no access log, no tracing, the smallest metrics table (Istio's metrics
#     cannot be turned off: every request still updates its series);
#   default: no telemetry section (metrics, a CLF line for each non-2xx to
#     stdout: none here, tracing off), what the other runs of (m) use;
#   all: a JSON access log line for every request to a file, every request
#     traced (sampled at 100 %) and its spans exported to the Zipkin sink;
#     the largest rings (65536 records and spans per worker), so that the
#     worker does the whole work of each (a full ring is a cheap refusal).
m_telem=default
m_authz_rules=0
m_telemetry() {
	case $1 in
	off) echo '"telemetry": { "metrics": { "max_series": 16 }, "access_log": { "enabled": false }, "tracing": { "enabled": false } },' ;;
	default) ;;
	all) echo '"telemetry": { "access_log": { "format": "json", "filter": "all", "output": "file", "path": "'"$run/m-access-all.log"'", "ring_size": 65536 }, "tracing": { "enabled": true, "sample_percent": 100, "zipkin_url": "http://127.0.0.1:'"$m_zipkin_port"'/api/v2/spans" } },' ;;
	*) die "M_TELEMETRY: unknown setting '$1' (off default all)" ;;
	esac
}

# m_authz N: the authorization section of (m)'s document with N allow rules
# for bench/web (rule i: source namespace n<i> and paths /r<i>/*, the last one
# the client's namespace and every path, so that each request is allowed by
# the last rule) and a mesh deny policy (paths /admin*), authzscale.c's shape;
# 0: none.
m_authz() {
	[ "$1" -gt 0 ] || return 0
	python3 - "$1" <<'EOF'
import json, sys
n = int(sys.argv[1])
rules = [{"from": [{"source": {"namespaces": ["n%d" % i]}}],
          "to": [{"operation": {"paths": ["/r%d/*" % i]}}]} for i in range(n - 1)]
rules.append({"from": [{"source": {"namespaces": ["bench"]}}], "to": [{"operation": {"paths": ["/*"]}}]})
print('"authorization": %s,' % json.dumps([
    {"name": "no-admin", "action": "deny", "rules": [{"to": [{"operation": {"paths": ["/admin*"]}}]}]},
    {"name": "big", "namespace": "bench", "selector": {"service": "web"}, "action": "allow",
     "rules": rules}]))
EOF
}

# A Zipkin sink on loopback for the "all" setting: accepts every POST (202),
# keeps the number of POSTs, bytes and spans in $run/m-zipkin-sink.txt.
m_zipkin_port=19411
m_zipkin_sink() {
	exec python3 - "$run/m-zipkin-sink.txt" "$m_zipkin_port" <<'EOF'
import http.server, sys
n = {"posts": 0, "bytes": 0, "spans": 0}
class H(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    def do_POST(self):
        body = self.rfile.read(int(self.headers["content-length"]))
        n["posts"] += 1
        n["bytes"] += len(body)
        n["spans"] += body.count(b'"traceId"')
        with open(sys.argv[1], "w") as f:
            f.write("%(posts)d %(bytes)d %(spans)d\n" % n)
        self.send_response(202)
        self.send_header("content-length", "0")
        self.end_headers()
    def log_message(self, *a):
        pass
http.server.HTTPServer(("127.0.0.1", int(sys.argv[2])), H).serve_forever()
EOF
}

# The sink in the background ($m_sink), its and the access log's files of an
# earlier run removed; m_sink_stop ends it (nothing when none runs).
m_sink_start() {
	rm -f "$run/m-access-all.log" "$run/m-zipkin-sink.txt"
	m_zipkin_sink &
	m_sink=$!
	sleep 0.5
	kill -0 "$m_sink" 2>/dev/null || die "the Zipkin sink did not start (port $m_zipkin_port taken?)"
}
m_sink_stop() {
	[ -n "$m_sink" ] || return 0
	sleep 0.5
	kill "$m_sink" 2>/dev/null || true
	wait "$m_sink" 2>/dev/null || true
	m_sink=
}

# M_TELEMETRY_ROUNDS rounds of one -c M_CONNS run per word of M_TELEMETRY
# (telemetry-SETTING-ROUND), each on a meshdp of its own with that setting's
# document, the settings interleaved so that a neighbour's load on the machine
# spreads over all of them; after each "all" run, its access log's lines and
# the sink's spans (the whole run, warm-up included).
m_telemetry_runs() {
	local s r name
	for r in $(seq "$M_TELEMETRY_ROUNDS"); do
		for s in $M_TELEMETRY; do
			m_telemetry "$s" >/dev/null
			name=telemetry-$s-$r
			[ "$s" != all ] || m_sink_start
			m_telem=$s
			m_run "$name" "$M_CONNS"
			m_telem=default
			if [ -n "$m_sink" ]; then
				m_sink_stop
				echo "$(wc -l <"$run/m-access-all.log" 2>/dev/null || echo 0)" \
					"$(cat "$run/m-zipkin-sink.txt" 2>/dev/null || echo 0 0 0)" \
					>"$run/m-meshdp-$name-out.txt"
			fi
		done
	done
}

scenario_m() {
	m_run tiny "$M_CONNS"
	m_run lat "$M_LAT_CONNS"
	[ "$M_CALLGRIND" = 0 ] || m_callgrind
	[ -z "$M_TELEMETRY" ] || m_telemetry_runs
	local s
	if [ "$M_CALLGRIND" != 0 ]; then
		for s in $M_TELEMETRY; do
			[ "$s" = default ] && continue
			m_telem=$s
			m_callgrind "$s"
			m_telem=default
		done
	fi
	for s in $M_AUTHZ; do
		m_authz_rules=$s
		m_callgrind "authz$s"
		m_authz_rules=0
	done
}

# (s): TLS on tcp_proxy listeners vs nginx's stream module terminating TLS in
# front of the same backend, on (x)'s topology under names of its own (netns
# mdps-*, TAP mdps0/mdps1), so that it can run beside (x) and the integration
# tests. meshdp's worker and nginx's one worker process on SUT_CORE, the
# clients (meshdp-tlsgen, curl) and the backend nginx on GEN_CORE.
#   crypto bound: `openssl speed -seconds S_SPEED ecdsap256 rsa2048 ecdhx25519`
#     on SUT_CORE, in the same run;
#   handshakes: meshdp-tlsgen, S_CONNS concurrent full handshakes for
#     S_DURATION s, for each row of S_ROWS (key-mtls-version), against each server;
#   bulk: curl downloads S_BULK_MB over TLS through each (and through a plain
#     tcp_proxy listener of the same meshdp);
#   idle: S_IDLE connections held after their handshakes: RSS delta / S_IDLE.
# Every run reads the server process's CPU time (/proc/PID/stat) around it.
s_pki() {
	local d=$run/s-pki
	"$root/tools/certs.sh" "$d/ecdsa" >/dev/null
	"$root/tools/certs.sh" "$d/ecdsa" leaf server spiffe://cluster.local/ns/bench/sa/web --server --dns web.bench >/dev/null
	"$root/tools/certs.sh" "$d/ecdsa" leaf client spiffe://cluster.local/ns/bench/sa/client --client >/dev/null
	"$root/tools/certs.sh" "$d/rsa" --trust-domain rsa.local --rsa >/dev/null
	"$root/tools/certs.sh" "$d/rsa" leaf server spiffe://rsa.local/ns/bench/sa/web --server --dns web.bench >/dev/null
	"$root/tools/certs.sh" "$d/rsa" leaf client spiffe://rsa.local/ns/bench/sa/client --client >/dev/null
}

# The ports of both servers: 8443 ECDSA one-way, 8444 ECDSA mTLS, 8445 RSA one-way, 8446 RSA mTLS.
s_port() { # s_port ecdsa|rsa tls|mtls
	local p=8443
	[ "$1" = ecdsa ] || p=$((p + 2))
	[ "$2" = tls ] || p=$((p + 1))
	echo $p
}

# The worker sleeps after 200 empty polls (not (x)'s 2000): its CPU time is then
# mostly work, to compare with nginx's, which sleeps in epoll_wait at once.
s_config() {
	local d=$run/s-pki l='' alg m
	for alg in ecdsa rsa; do
		for m in tls mtls; do
			l="$l
		{ \"name\": \"$alg-$m\", \"type\": \"tcp_proxy\", \"address\": \"10.70.1.1\", \"port\": $(s_port $alg $m),
		  \"cluster\": \"bench/web\", \"idle_timeout_s\": 600,
		  \"tls\": { \"secret\": \"$alg\", \"mtls\": \"$([ $m = tls ] && echo disable || echo strict)\" } },"
		done
	done
	cat <<EOC
{
	"version": 1,
	"node": { "name": "meshdp-bench-s" },
	"control": { "socket": "$sockdir/meshdp.sock" },
	"admin": { "listen": "" },
	"mode": "mesh",
	"interfaces": [
		{ "name": "client", "port": "p0", "ipv4": ["10.70.1.1/24"] },
		{ "name": "server", "port": "p1", "ipv4": ["10.70.2.1/24"] }
	],
	"mesh": { "prefixes": ["10.70.0.0/16"] },
	"workloads": [
		{ "name": "client", "namespace": "bench", "service": "client", "prefixes": ["10.70.1.2/32"] }
	],
	"services": [
		{ "name": "web", "namespace": "bench", "vip": "10.70.9.10",
		  "ports": [ { "port": 80, "protocol": "tcp" } ], "endpoints": [ { "address": "10.70.2.11" } ],
		  "breaker": { "max_connections": 1000000, "max_pending": 1000000, "max_ejection_percent": 0 },
		  "health": { "interval_ms": 0 } }
	],
	"policies": [
		{ "name": "client-web", "action": "allow", "from": { "namespace": "bench", "service": "client" }, "to": { "service": "web" } }
	],
	"tcp": { "capacity": 131072 },
	"listeners": [$l
		{ "name": "plain", "type": "tcp_proxy", "address": "10.70.1.1", "port": 8080, "cluster": "bench/web",
		  "idle_timeout_s": 600 }
	],
	"flows": { "capacity": 262144 },
	"tune": { "rx_burst": 32, "tx_burst": 32, "drain_us": 100, "idle": "sleep", "idle_polls": 200, "idle_sleep_us": 50 },
	"secrets": {
		"identities": [
			{ "name": "ecdsa", "cert": "$d/ecdsa/server.pem", "key": "$d/ecdsa/server.key" },
			{ "name": "rsa", "cert": "$d/rsa/server.pem", "key": "$d/rsa/server.key" }
		],
		"trust_domains": [
			{ "name": "cluster.local", "bundle": "$d/ecdsa/ca.pem" },
			{ "name": "rsa.local", "bundle": "$d/rsa/ca.pem" }
		]
	}
}
EOC
}

# nginx: the backend (one worker on GEN_CORE) serving a 19-byte answer and
# S_BULK_MB at /big, and the TLS terminator (stream module, one worker on
# SUT_CORE) in the kernel proxies' namespace, with the same certificates and
# ports as meshdp's listeners, proxying to the same backend.
s_servers() {
	local d=$run/s-nginx k=$run/s-nginx-tls pk=$run/s-pki alg m mod
	mkdir -p "$d" "$k"
	truncate -s "${S_BULK_MB}M" "$d/big"
	cat >"$d/nginx.conf" <<EONGINX
daemon on;
worker_processes 1;
worker_rlimit_nofile 65536;
user root;
pid $d/nginx.pid;
error_log $d/error.log;
events { worker_connections 32768; }
http {
	access_log off;
	client_body_temp_path $d;
	proxy_temp_path $d;
	fastcgi_temp_path $d;
	uwsgi_temp_path $d;
	scgi_temp_path $d;
	sendfile on;
	server {
		listen 80 reuseport backlog=4096;
		location = /big { alias $d/big; }
		location / { return 200 "hello from mdps-b1\n"; }
	}
}
EONGINX
	ip netns exec $X_NS_B nginx -c "$d/nginx.conf"
	mod=/usr/lib/nginx/modules/ngx_stream_module.so
	[ -f $mod ] || die "nginx's stream module missing (apt-get install libnginx-mod-stream)"
	{
		echo "load_module $mod;"
		cat <<EONGINX
daemon on;
worker_processes 1;
worker_rlimit_nofile 65536;
user root;
pid $k/nginx.pid;
error_log $k/error.log;
events { worker_connections 32768; }
stream {
	ssl_protocols TLSv1.2 TLSv1.3;
	ssl_session_cache off;
	proxy_connect_timeout 5s;
EONGINX
		for alg in ecdsa rsa; do
			for m in tls mtls; do
				echo "	server {"
				echo "		listen 10.70.3.1:$(s_port $alg $m) ssl backlog=4096;"
				echo "		ssl_certificate $pk/$alg/server.pem; ssl_certificate_key $pk/$alg/server.key;"
				[ $m = tls ] || echo "		ssl_verify_client on; ssl_client_certificate $pk/$alg/ca.pem;"
				echo "		proxy_pass 10.70.2.11:80;"
				echo "	}"
			done
		done
		echo "}"
	} >"$k/nginx.conf"
	ip netns exec $X_NS_K nginx -c "$k/nginx.conf"
	for _ in $(seq 50); do
		[ -s "$k/nginx.pid" ] && [ -s "$d/nginx.pid" ] && break
		sleep 0.1
	done
	x_pids+=("$(cat "$d/nginx.pid")" "$(cat "$k/nginx.pid")")
	s_nginx_worker=$(pgrep -P "$(cat "$k/nginx.pid")" | head -1)
	[ -n "$s_nginx_worker" ] || die "(s) nginx's TLS worker not found, see $k/error.log"
	taskset -pc "$SUT_CORE" "$s_nginx_worker" >/dev/null
	taskset -pc "$GEN_CORE" "$(pgrep -P "$(cat "$d/nginx.pid")" | head -1)" >/dev/null
	{
		nginx -v 2>&1 | head -1
		openssl version
		uname -r
	} >"$run/s-versions.txt"
}

s_target() { # s_target meshdp|nginx: sets s_host, s_pid (the process or thread whose CPU time counts)
	case $1 in
	meshdp) s_host=10.70.1.1 s_pid=$sut_pid/task/$s_worker ;; # /proc/TID/stat sums the process
	nginx) s_host=10.70.3.1 s_pid=$s_nginx_worker ;;
	esac
}

s_rss() { awk '/^VmRSS/ { print $2 * 1024 }' "/proc/$1/status"; }

s_run() { # s_run NAME TARGET CMD...: CMD in the client netns on GEN_CORE, CPU and counters around it
	local name=$1 t=$2
	shift 2
	s_target "$t"
	x_cpu "$s_pid" >"$run/s-$name.cpu"
	[ "$t" != meshdp ] || mdp_sample "$run/s-$name-s1.txt"
	ip netns exec $X_NS_C taskset -c "$GEN_CORE" "$@" >"$run/s-$name.out" 2>"$run/s-$name.err" ||
		echo "failed: $*" >>"$run/s-$name.err"
	x_cpu "$s_pid" >>"$run/s-$name.cpu"
	[ "$t" != meshdp ] || mdp_sample "$run/s-$name-s2.txt"
	sleep 0.5
}

# s_idle TARGET: S_IDLE connections held idle after their handshakes (ECDSA,
# one-way, TLS 1.3): the server's RSS before and with them held.
s_idle() {
	local t=$1 g rss0 rss1
	s_target "$t"
	sleep 1
	rss0=$(s_rss "$s_pid")
	ip netns exec $X_NS_C taskset -c "$GEN_CORE" "$tlsgen" --connect "$s_host:8443" \
		--hold "$S_IDLE" --conns 64 >"$run/s-idle-$t.out" 2>"$run/s-idle-$t.err" &
	g=$!
	for _ in $(seq 600); do
		[ -s "$run/s-idle-$t.out" ] && break
		kill -0 $g 2>/dev/null || break
		sleep 0.1
	done
	sleep 2 # the upstream connections settle; nothing else moves
	rss1=$(s_rss "$s_pid")
	[ "$t" != meshdp ] ||
		"$meshctl" --socket "$sockdir/meshdp.sock" --json stats >"$run/s-idle-$t-stats.json" || true
	kill -TERM $g 2>/dev/null || true
	wait $g 2>/dev/null || true
	printf '{"rss_before": %s, "rss_held": %s}\n' "$rss0" "$rss1" >"$run/s-idle-$t.rss"
	sleep 2
}

scenario_s() {
	local t row alg m v port cert perf_pid perf_target f
	X_NS_C=mdps-client X_NS_S=mdps-server X_NS_K=mdps-kproxy X_NS_B=mdps-b1
	X_TAP0=mdps0 X_TAP1=mdps1 X_PREFIX=mdpbench-s
	echo "bench: (s) openssl speed on core $SUT_CORE" >&2
	taskset -c "$SUT_CORE" openssl speed -seconds "$S_SPEED" ecdsap256 rsa2048 ecdhx25519 \
		>"$run/s-speed.txt" 2>"$run/s-speed.err"
	s_pki
	x_profile >"$run/s-profile.json"
	s_config >"$run/s-config.json"
	"$meshdp" --profile "$run/s-profile.json" --config "$run/s-config.json" --no-huge \
		>"$run/meshdp-s.log" 2>&1 &
	sut_pid=$!
	for _ in $(seq 100); do
		"$meshctl" --socket "$sockdir/meshdp.sock" --timeout 500 status >/dev/null 2>&1 && break
		kill -0 $sut_pid 2>/dev/null || die "meshdp exited, see $run/meshdp-s.log"
		sleep 0.2
	done
	x_topology
	s_servers
	# meshdp's CPU time is its worker thread's (the control thread runs on GEN_CORE)
	s_worker=
	for f in /proc/"$sut_pid"/task/*/comm; do
		if grep -q '^rte-worker' "$f"; then
			s_worker=$(basename "$(dirname "$f")")
			break
		fi
	done
	[ -n "$s_worker" ] || die "(s) meshdp's worker thread not found"
	sleep 2
	ulimit -n "$(ulimit -Hn)" # meshdp-tlsgen holds S_IDLE descriptors
	: >"$run/s-check.txt"
	for t in meshdp nginx; do
		s_target "$t"
		for _ in $(seq 20); do
			ip netns exec $X_NS_C curl -skf -m 2 "https://$s_host:8443/" >/dev/null 2>&1 && break
			sleep 0.5
		done
		echo "$t $(ip netns exec $X_NS_C curl -sk -m 2 "https://$s_host:8443/" 2>&1)" >>"$run/s-check.txt"
	done
	for row in $S_ROWS; do
		IFS=- read -r alg m v <<<"$row"
		port=$(s_port "$alg" "$m")
		cert=()
		[ "$m" = tls ] || cert=(--cert "$run/s-pki/$alg/client.pem" --key "$run/s-pki/$alg/client.key")
		for t in meshdp nginx; do
			s_target "$t"
			echo "bench: (s) handshakes $row against $t (${S_DURATION} s)" >&2
			perf_pid='' perf_target=$s_pid
			[ "$t" != meshdp ] || perf_target=$sut_pid # the whole process: every thread's share
			if [ "$S_PERF" = 1 ] && [ "$row" = "${S_ROWS%% *}" ] && command -v perf >/dev/null; then
				# where meshdp's cycles go in the first row (software clock: no PMU in this VM)
				perf record -e cpu-clock -F 2000 -g -p "$perf_target" -o "$run/s-perf-$t.data" \
					-- sleep "$S_DURATION" >"$run/s-perf-$t.log" 2>&1 &
				perf_pid=$!
			fi
			s_run "hs-$row-$t" "$t" "$tlsgen" --connect "$s_host:$port" --conns "$S_CONNS" \
				--duration "$S_DURATION" --warmup 1 --tls "$v" "${cert[@]}"
			[ -z "$perf_pid" ] || wait "$perf_pid" || true
		done
	done
	# the stock single-connection client, for comparison with meshdp-tlsgen's rate
	echo "bench: (s) openssl s_time -new against meshdp (${S_DURATION} s)" >&2
	s_run stime meshdp openssl s_time -connect 10.70.1.1:8443 -new -time "$S_DURATION"
	for t in meshdp nginx plain; do
		echo "bench: (s) bulk: ${S_BULK_MB} MB through $t" >&2
		if [ $t = plain ]; then
			s_run "bulk-$t" meshdp curl -s -o /dev/null -w '%{speed_download} %{time_total}\n' \
				"http://10.70.1.1:8080/big"
		else
			s_target "$t"
			s_run "bulk-$t" "$t" curl -sk --http1.1 -o /dev/null \
				-w '%{speed_download} %{time_total}\n' "https://$s_host:8443/big"
		fi
	done
	for t in meshdp nginx; do
		echo "bench: (s) $S_IDLE idle TLS connections held on $t" >&2
		s_idle "$t"
	done
	"$meshctl" --socket "$sockdir/meshdp.sock" --json stats >"$run/s-stats-end.json" || true
	stop_sut
	x_cleanup
	for t in meshdp nginx; do
		[ -s "$run/s-perf-$t.data" ] || continue
		s_perf_report "$t" comm,dso 20 >"$run/s-perf-$t-dso.txt" || true
		s_perf_report "$t" comm,dso,symbol 40 >"$run/s-perf-$t-sym.txt" || true
	done
}

s_perf_report() { # s_perf_report TARGET SORT LINES: perf's table, without comments
	perf report -i "$run/s-perf-$1.data" --no-children --sort "$2" -g none --stdio \
		</dev/null 2>/dev/null | grep -v '^#' | grep -v '^$' | head -"$3"
}

t_start=$(date +%s)
load_start=$(cut -d' ' -f1 /proc/loadavg)
# the report is named by the time and the scenarios run: two runs started in the same
# second (of different scenarios) do not overwrite each other
date_tag=$(date -u +%Y-%m-%dT%H%M%SZ)-$(IFS=; echo "${scenarios[*]}")
ran=()
for sc in "${scenarios[@]}"; do
	case $sc in
	a)
		echo "bench: (a) testpmd io forwarding" >&2
		sut_start=(start_testpmd)
		scenario_runs a
		stop_sut
		ran+=(a)
		;;
	b)
		echo "bench: (b) meshdp L3 forwarding" >&2
		sut_start=(start_meshdp l3 "$C_CAPACITY")
		scenario_runs b
		"$meshctl" --socket "$sockdir/meshdp.sock" --json stats >"$run/b-stats-end.json" || true
		"$meshctl" --socket "$sockdir/meshdp.sock" --json ports >"$run/b-ports-end.json" || true
		stop_sut
		ran+=(b)
		;;
	c | d | e)
		# every generator run gets a meshdp of its own (gen_start); d's flow table is larger
		if [ $sc = d ]; then
			sut_start=(start_meshdp l4 "$D_CAPACITY")
		else
			sut_start=(start_meshdp l4 "$C_CAPACITY")
		fi
		case $sc in
		c)
			echo "bench: (c) meshdp L4: UDP to a VIP, $C_FLOWS flows, full-NAT" >&2
			scenario_runs c
			[ "$TWO_WORKERS" = 0 ] || scenario_two c
			;;
		d)
			echo "bench: (d) meshdp L4: new TCP flows per second" >&2
			scenario_d
			[ "$TWO_WORKERS" = 0 ] || scenario_two d
			;;
		e)
			echo "bench: (e) $E_SWAPS config swaps under (c) traffic" >&2
			scenario_e
			;;
		esac
		"$meshctl" --socket "$sockdir/meshdp.sock" --json stats >"$run/$sc-stats-end.json" || true
		stop_sut
		ran+=("$sc")
		;;
	f)
		echo "bench: (f) flow-table scale" >&2
		scenario_f
		ran+=(f)
		;;
	p)
		echo "bench: (p) callgrind profile of meshdp on (c) traffic" >&2
		scenario_p && ran+=(p)
		;;
	t)
		echo "bench: (t) TCP connection scale, $T_CONNS connections" >&2
		scenario_t
		ran+=(t)
		;;
	x)
		echo "bench: (x) tcp_proxy vs the kernel (socat, HAProxy, forwarding)" >&2
		scenario_x
		ran+=(x)
		;;
	h)
		echo "bench: (h) HTTP/1.1 proxying: meshdp's http listener vs nginx and HAProxy" >&2
		scenario_h
		ran+=(h)
		;;
	2)
		echo "bench: (2) HTTP/2 proxying: meshdp vs nginx and nghttpx, h2load" >&2
		scenario_2
		ran+=(2)
		;;
	m)
		echo "bench: (m) the HTTP/1.1 proxy alone: clients and backend on meshdp's TCP stack over memif" >&2
		scenario_m
		ran+=(m)
		;;
	s)
		echo "bench: (s) TLS: handshakes/s vs openssl speed and nginx, bulk, idle bytes" >&2
		scenario_s
		ran+=(s)
		;;
	*)
		die "unknown scenario '$sc' (a b c d e f h 2 m p s t x)"
		;;
	esac
done
stop_sut
t_total=$(($(date +%s) - t_start))
load_end=$(cut -d' ' -f1 /proc/loadavg)

python3 "$here/report.py" --run "$run" --out "$OUT" --tag "$date_tag" --sizes "$SIZES" \
	--lat-rate "$LAT_RATE" --flows "$FLOWS" --memory "$mem_note" --seconds "$t_total" \
	--load "$load_start $load_end" --c-flows "$C_FLOWS" --d-flows "$D_FLOWS" \
	--x-conns "$X_CONNS" --x-duration "$X_DURATION" --x-targets "$X_TARGETS" \
	--h-conns "$H_CONNS" --h-lat-conns "$H_LAT_CONNS" --h-duration "$H_DURATION" \
	--h2-conns "$H2_CONNS" --h2-streams "$H2_STREAMS" --h2-duration "$H2_DURATION" --h2-idle "$H2_IDLE" --h2-path "$H2_PATH" \
	--m-conns "$M_CONNS" --m-lat-conns "$M_LAT_CONNS" --m-duration "$M_DURATION" \
	--m-telemetry "$M_TELEMETRY" --m-telemetry-rounds "$M_TELEMETRY_ROUNDS" --m-authz "$M_AUTHZ" \
	--memif "$MEMIF" --s-rows "$S_ROWS" --s-conns "$S_CONNS" --s-speed "$S_SPEED" \
	--ran "${ran[*]}" --command "$([ "$MEMIF" = copy ] || echo "MEMIF=$MEMIF ")$([ "$M_CALLGRIND" = 0 ] || echo "M_CALLGRIND=$M_CALLGRIND ")$([ -z "$M_TELEMETRY" ] || echo "M_TELEMETRY=\"$M_TELEMETRY\" ")$([ -z "$M_AUTHZ" ] || echo "M_AUTHZ=\"$M_AUTHZ\" ")$([ "$H2_PATH" = / ] || echo "H2_PATH=$H2_PATH ")bench/run.sh ${*:-}"
echo "bench: logs in $run" >&2
