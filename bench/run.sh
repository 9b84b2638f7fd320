#!/usr/bin/env bash
# bench/run.sh [scenario...]: the memif benches, as root.
#
# Scenarios (default: a b):
#   a  dpdk-testpmd (io forwarding) as the memif server: the ceiling of the substrate
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
# a, b, c: 64, 512 and 1518-byte UDP frames at the maximum rate, then 64-byte
# frames at LAT_RATE frames/s for latency under light load. meshdp's figures are
# also given as ratios to testpmd's, measured in the same run. c and e share one
# meshdp in mesh mode (flows.capacity C_CAPACITY); d has its own (D_CAPACITY).
#
# Environment: BUILD (build dir, default build), BIN (a folder holding meshdp,
# meshctl, meshdp-gen and meshdp-flowscale, overrides BUILD), DURATION (s, 5),
# WARMUP (s, 1), SIZES ("64 512 1518"), LAT_RATE (1000000), FLOWS (1, a and b),
# C_FLOWS (100000), D_FLOWS (16000000), D_DURATION (s, 2), D_WARMUP (s, 0.5),
# E_SWAPS (100), E_DURATION (s, 15), C_CAPACITY (262144, flows.capacity of c and e),
# D_CAPACITY (4194304: (d) runs on its own meshdp, and its SYN flows stay for the
# 30 s default syn timeout, so the table must hold every SYN of its warm-up and
# window), F_FLOWS ("1000000 10000000"), F_MEM_MB (6144, flowscale's
# --no-huge -m), P_SECONDS (8), OUT (bench/results), GEN_CORE (0), SUT_CORE (1).
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

if [ -n "${BIN:-}" ]; then
	meshdp=$BIN/meshdp meshctl=$BIN/meshctl gen=$BIN/meshdp-gen flowscale=$BIN/meshdp-flowscale
else
	meshdp=$BUILD/dataplane/meshdp meshctl=$BUILD/ctl/meshctl gen=$BUILD/bench/meshdp-gen
	flowscale=$BUILD/bench/meshdp-flowscale
fi
scenarios=("$@")
[ ${#scenarios[@]} -gt 0 ] || scenarios=(a b)

die() {
	echo "bench: $*" >&2
	exit 1
}
[ "$(id -u)" = 0 ] || die "run as root (memif sockets under /run, hugepages)"
for f in "$meshdp" "$meshctl" "$gen" "$flowscale"; do
	[ -x "$f" ] || die "$f not built (ninja -C $BUILD)"
done
command -v dpdk-testpmd >/dev/null || die "dpdk-testpmd not found (apt-get install dpdk)"
command -v python3 >/dev/null || die "python3 needed for the report"

run=$(mktemp -d /tmp/meshdp-bench.XXXXXX)
sockdir=/run/meshdp-bench.$$
mkdir -p "$sockdir" "$OUT"
s0=$sockdir/memif0.sock
s1=$sockdir/memif1.sock
sut_pid=
cleanup() {
	if [ -n "$sut_pid" ] && kill -0 "$sut_pid" 2>/dev/null; then
		kill -INT "$sut_pid" 2>/dev/null || true
		wait "$sut_pid" 2>/dev/null || true
	fi
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
if [ "${free_pages:-0}" -lt 1024 ]; then
	if grep -q hugetlbfs /proc/mounts && [ -w "$nr" ]; then
		echo $(($(cat "$nr") + 1024 - ${free_pages:-0})) >"$nr" 2>/dev/null || true
	else
		"$root/drivers-config/hugepages.sh" 2G >"$run/hugepages.log" 2>&1 || true
	fi
	free_pages=$(awk '/HugePages_Free/ {print $2}' /proc/meminfo)
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

# The generator is busy on the main lcore of its own core; the server polls on
# the other core (its main lcore sleeps on GEN_CORE, see docs/machine-notes).
gen_run() { # gen_run NAME SIZE RATE [extra gen args...]
	local name=$1 size=$2 rate=$3
	shift 3
	"$gen" -l "$GEN_CORE" --no-pci --file-prefix mdpbench-gen "${gen_mem[@]}" -- \
		--socket "$s0" --socket "$s1" --size "$size" --rate "$rate" --flows "$FLOWS" \
		--duration "$DURATION" --warmup "$WARMUP" --json "$@" \
		>"$run/$name.json" 2>"$run/$name.log" ||
		die "generator failed ($name), see $run/$name.log"
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
		"$meshctl" --socket "$sockdir/meshdp.sock" tune tx_burst=1 >/dev/null
		gen_run "$sc-lat-txb1" 64 "$LAT_RATE" "${extra[@]}"
		"$meshctl" --socket "$sockdir/meshdp.sock" config rollback >/dev/null
	fi
}

# (d): SYNs at the maximum rate, every one a new flow; 64-byte frames.
scenario_d() {
	local extra=() sampler
	sc_args d
	mdp_sample "$run/d-before.txt"
	mdp_sampler d-64 "$D_DURATION" &
	sampler=$!
	DURATION=$D_DURATION WARMUP=$D_WARMUP gen_run d-64 64 max "${extra[@]}"
	wait "$sampler" || true
	mdp_sample "$run/d-after.txt"
}

# (e): E_SWAPS applies of two documents in turn while (c) traffic runs at max rate.
scenario_e() {
	local extra=() i gen_pid t0 t1 refused=0
	sc_args e
	"$meshctl" --socket "$sockdir/meshdp.sock" --json status >"$run/e-status-before.json"
	mdp_sample "$run/e-before.txt"
	(DURATION=$E_DURATION gen_run e-64 64 max "${extra[@]}") &
	gen_pid=$!
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
	wait "$gen_pid" || die "generator failed (e)"
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
		--vdev "net_memif0,role=server,id=0,socket=$s0" \
		--vdev "net_memif1,role=server,id=0,socket=$s1" -- \
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

stop_sut() {
	kill -INT "$sut_pid" 2>/dev/null || true
	wait "$sut_pid" 2>/dev/null || true
	sut_pid=
	rm -f "$s0" "$s1"
}

write_profile() { # write_profile NO_HUGE_MB
	cat >"$run/profile.json" <<EOP
{
	"profile": "memif-bench",
	"description": "drivers-config/memif.json with the bench's own sockets and file prefix",
	"eal": { "lcores": "$GEN_CORE,$SUT_CORE", "main_lcore": $GEN_CORE, "file_prefix": "mdpbench-sut", "args": ["--no-pci"] },
	"memory": { "hugepages": "auto", "no_huge_mb": $1, "mbufs": 32768, "mbuf_cache": 256 },
	"ports": [
		{ "name": "p0", "device": "net_memif0", "devargs": "role=server,id=0,socket=$s0", "rx_desc": 1024, "tx_desc": 1024 },
		{ "name": "p1", "device": "net_memif1", "devargs": "role=server,id=0,socket=$s1", "rx_desc": 1024, "tx_desc": 1024 }
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
	"tune": { "idle": "poll" }
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
	"flows": { "capacity": $capacity, "timeouts_s": { "syn": 1 } },
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
		if "$meshctl" --socket "$sockdir/meshdp.sock" --timeout $tmo status >/dev/null 2>&1; then
			mdp_mac=$("$meshctl" --socket "$sockdir/meshdp.sock" --timeout 10000 --json ports |
				python3 -c 'import json,sys; print([p["mac"] for p in json.load(sys.stdin) if p["name"]=="p0"][0])')
			return 0
		fi
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
	start_meshdp l4 "$C_CAPACITY" valgrind --tool=callgrind --fair-sched=yes \
		--callgrind-out-file="$out" \
		--collect-atstart=no --toggle-collect=worker_main
	sc_args c
	# Slow under valgrind: warm up long enough to create every flow first.
	DURATION=$P_SECONDS WARMUP=4 gen_run p-64 64 max "${extra[@]}" --drain 1 --link-timeout 60
	mdp_sample "$run/p-stats.txt"
	stop_sut
	callgrind_annotate --threshold=99 "$out" 2>/dev/null |
		sed -n '/PROGRAM TOTALS/,$p' | head -40 >"$run/p-annotate.txt" || true
	callgrind_annotate --inclusive=yes "$out" 2>/dev/null |
		sed -n '/file:function/,$p' | head -32 >"$run/p-inclusive.txt" || true
}

t_start=$(date +%s)
load_start=$(cut -d' ' -f1 /proc/loadavg)
date_tag=$(date -u +%Y-%m-%dT%H%M%SZ)
ran=()
l4_up=0
for sc in "${scenarios[@]}"; do
	case $sc in
	a)
		echo "bench: (a) testpmd io forwarding" >&2
		start_testpmd
		scenario_runs a
		stop_sut
		ran+=(a)
		;;
	b)
		echo "bench: (b) meshdp L3 forwarding" >&2
		start_meshdp l3 "$C_CAPACITY"
		scenario_runs b
		"$meshctl" --socket "$sockdir/meshdp.sock" --json stats >"$run/b-stats-end.json" || true
		"$meshctl" --socket "$sockdir/meshdp.sock" --json ports >"$run/b-ports-end.json" || true
		stop_sut
		ran+=(b)
		;;
	c | d | e)
		# c and e share a meshdp (e's traffic uses c's flows); d gets its own.
		if [ $sc = d ] || [ $l4_up != 1 ]; then
			[ -z "$sut_pid" ] || stop_sut
			if [ $sc = d ]; then
				start_meshdp l4 "$D_CAPACITY"
				l4_up=2
			else
				start_meshdp l4 "$C_CAPACITY"
				l4_up=1
			fi
		fi
		case $sc in
		c)
			echo "bench: (c) meshdp L4: UDP to a VIP, $C_FLOWS flows, full-NAT" >&2
			scenario_runs c
			;;
		d)
			echo "bench: (d) meshdp L4: new TCP flows per second" >&2
			scenario_d
			;;
		e)
			echo "bench: (e) $E_SWAPS config swaps under (c) traffic" >&2
			scenario_e
			;;
		esac
		"$meshctl" --socket "$sockdir/meshdp.sock" --json stats >"$run/$sc-stats-end.json" || true
		ran+=("$sc")
		;;
	f)
		echo "bench: (f) flow-table scale" >&2
		scenario_f
		ran+=(f)
		;;
	p)
		echo "bench: (p) callgrind profile of meshdp on (c) traffic" >&2
		[ -z "$sut_pid" ] || stop_sut
		l4_up=0
		scenario_p && ran+=(p)
		;;
	*)
		die "unknown scenario '$sc' (a b c d e f p)"
		;;
	esac
done
[ -z "$sut_pid" ] || stop_sut
t_total=$(($(date +%s) - t_start))
load_end=$(cut -d' ' -f1 /proc/loadavg)

python3 "$here/report.py" --run "$run" --out "$OUT" --tag "$date_tag" --sizes "$SIZES" \
	--lat-rate "$LAT_RATE" --flows "$FLOWS" --memory "$mem_note" --seconds "$t_total" \
	--load "$load_start $load_end" --c-flows "$C_FLOWS" --d-flows "$D_FLOWS" \
	--ran "${ran[*]}" --command "bench/run.sh ${*:-}"
echo "bench: logs in $run" >&2
