#!/usr/bin/env bash
# bench/run.sh [scenario...]: the memif benches, as root.
#
# Scenarios (default: a b):
#   a  dpdk-testpmd (io forwarding) as the memif server: the ceiling of the substrate
#   b  meshdp L3 forwarding p0 -> p1 (subnet A -> subnet B), same sockets, same generator
#   c..f need the L4 service path: listed in the report as not run
# For each scenario: 64, 512 and 1518-byte UDP frames at the maximum rate, then
# 64-byte frames at LAT_RATE frames/s for latency under light load. meshdp's
# figures are also given as ratios to testpmd's, measured in the same run.
#
# Environment: BUILD (build dir, default build), BIN (a folder holding meshdp,
# meshctl and meshdp-gen, overrides BUILD), DURATION (s, 5), WARMUP (s, 1),
# SIZES ("64 512 1518"), LAT_RATE (1000000), FLOWS (1), OUT (bench/results),
# GEN_CORE (0), SUT_CORE (1).
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

if [ -n "${BIN:-}" ]; then
	meshdp=$BIN/meshdp meshctl=$BIN/meshctl gen=$BIN/meshdp-gen
else
	meshdp=$BUILD/dataplane/meshdp meshctl=$BUILD/ctl/meshctl gen=$BUILD/bench/meshdp-gen
fi
scenarios=("$@")
[ ${#scenarios[@]} -gt 0 ] || scenarios=(a b)

die() {
	echo "bench: $*" >&2
	exit 1
}
[ "$(id -u)" = 0 ] || die "run as root (memif sockets under /run, hugepages)"
for f in "$meshdp" "$meshctl" "$gen"; do
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

# Hugepages: 1G if the helper can reserve them, else every process runs --no-huge.
mem_note="hugepages (drivers-config/hugepages.sh 1G)"
nohuge=0
free_pages=$(awk '/HugePages_Free/ {print $2}' /proc/meminfo)
if [ "${free_pages:-0}" -lt 256 ]; then
	"$root/drivers-config/hugepages.sh" 1G >"$run/hugepages.log" 2>&1 || true
	free_pages=$(awk '/HugePages_Free/ {print $2}' /proc/meminfo)
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

# One scenario: every size at max rate, then the latency run. $1 = a or b.
scenario_runs() {
	local sc=$1 extra=() size sampler
	if [ "$sc" = b ]; then
		extra=(--src 10.60.0.2 --dst 10.60.1.2 --dst-mac "$mdp_mac")
	fi
	for size in $SIZES; do
		if [ "$sc" = b ]; then
			# Two samples of meshdp's counters, 0.5 s inside each end of the
			# generator's measured window (it logs when the window opens).
			(
				for _ in $(seq 600); do
					grep -q "window open" "$run/$sc-$size.log" 2>/dev/null && break
					sleep 0.05
				done
				sleep 0.5
				mdp_sample "$run/$sc-$size-s1.txt"
				sleep "$(awk "BEGIN { print $DURATION - 1 }")"
				mdp_sample "$run/$sc-$size-s2.txt"
			) &
			sampler=$!
		fi
		gen_run "$sc-$size" "$size" max "${extra[@]}"
		[ -z "${sampler:-}" ] || wait "$sampler" || true
	done
	gen_run "$sc-lat" 64 "$LAT_RATE" "${extra[@]}"
	if [ "$sc" = b ]; then
		# meshdp buffers up to tx_burst frames for drain_us: the same run unbuffered.
		"$meshctl" --socket "$sockdir/meshdp.sock" tune tx_burst=1 >/dev/null
		gen_run "$sc-lat-txb1" 64 "$LAT_RATE" "${extra[@]}"
		"$meshctl" --socket "$sockdir/meshdp.sock" config rollback >/dev/null
	fi
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

start_meshdp() {
	cat >"$run/profile.json" <<EOF
{
	"profile": "memif-bench",
	"description": "drivers-config/memif.json with the bench's own sockets and file prefix",
	"eal": { "lcores": "$GEN_CORE,$SUT_CORE", "main_lcore": $GEN_CORE, "file_prefix": "mdpbench-sut", "args": ["--no-pci"] },
	"memory": { "hugepages": "auto", "no_huge_mb": 1024, "mbufs": 32768, "mbuf_cache": 256 },
	"ports": [
		{ "name": "p0", "device": "net_memif0", "devargs": "role=server,id=0,socket=$s0", "rx_desc": 1024, "tx_desc": 1024 },
		{ "name": "p1", "device": "net_memif1", "devargs": "role=server,id=0,socket=$s1", "rx_desc": 1024, "tx_desc": 1024 }
	]
}
EOF
	cat >"$run/config.json" <<EOF
{
	"version": 1,
	"node": { "name": "meshdp-bench" },
	"control": { "socket": "$sockdir/meshdp.sock" },
	"admin": { "listen": "" },
	"interfaces": [
		{ "name": "a", "port": "p0", "ipv4": ["10.60.0.1/24"] },
		{ "name": "b", "port": "p1", "ipv4": ["10.60.1.1/24"] }
	],
	"neighbour": { "reachable_ms": 3600000, "stale_ms": 86400000 },
	"tune": { "idle": "poll" }
}
EOF
	"$meshdp" --profile "$run/profile.json" --config "$run/config.json" "${mdp_mem[@]}" \
		>"$run/meshdp.log" 2>&1 &
	sut_pid=$!
	for _ in $(seq 100); do
		if "$meshctl" --socket "$sockdir/meshdp.sock" --timeout 500 status >/dev/null 2>&1; then
			mdp_mac=$("$meshctl" --socket "$sockdir/meshdp.sock" --json ports |
				python3 -c 'import json,sys; print([p["mac"] for p in json.load(sys.stdin) if p["name"]=="p0"][0])')
			return 0
		fi
		kill -0 $sut_pid 2>/dev/null || die "meshdp exited, see $run/meshdp.log"
		sleep 0.2
	done
	die "meshdp did not answer on its control socket, see $run/meshdp.log"
}

t_start=$(date +%s)
load_start=$(cut -d' ' -f1 /proc/loadavg)
date_tag=$(date -u +%Y-%m-%dT%H%M%SZ)
ran=()
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
		start_meshdp
		scenario_runs b
		"$meshctl" --socket "$sockdir/meshdp.sock" --json stats >"$run/b-stats-end.json" || true
		"$meshctl" --socket "$sockdir/meshdp.sock" --json ports >"$run/b-ports-end.json" || true
		stop_sut
		ran+=(b)
		;;
	c | d | e | f)
		echo "bench: ($sc) not run: needs the L4 service path" >&2
		;;
	*)
		die "unknown scenario '$sc' (a b c d e f)"
		;;
	esac
done
t_total=$(($(date +%s) - t_start))
load_end=$(cut -d' ' -f1 /proc/loadavg)

python3 "$here/report.py" --run "$run" --out "$OUT" --tag "$date_tag" --sizes "$SIZES" \
	--lat-rate "$LAT_RATE" --flows "$FLOWS" --memory "$mem_note" --seconds "$t_total" \
	--load "$load_start $load_end" \
	--ran "${ran[*]}" --command "bench/run.sh ${*:-}"
echo "bench: logs in $run" >&2
