#!/usr/bin/env bash
# Run the integration tests (as root): run.sh BUILD_DIR [ASAN_BUILD_DIR] [TEST...]
# Prints one line per test and a closing "N passed, N failed" line.
set -uo pipefail
here=$(cd "$(dirname "$0")" && pwd)
build=$(cd "$1" && pwd)
asan=${2:-}
shift 2 || shift $#
tests=("$@")
[ ${#tests[@]} -gt 0 ] || tests=(demo ping ping_hugepages memif afpacket malformed control roles fleet http_routes metrics download_swap l4 l4_2workers tcp_proxy tcp_proxy_2workers tcp_flood http_proxy http2 http2_upstream grpc http_egress http_smuggling http_hash cors telemetry security_events https https_upstream authz authz_2workers jwt secrets tls tls_2workers testssl shutdown)
logs=$build/integration-logs
mkdir -p "$logs"
pass=0
fail=0

run_one()
{
	local name=$1
	shift
	local start=$SECONDS
	if env MESHDP_BUILD="$build" "$@" >"$logs/$name.log" 2>&1; then
		echo "PASS $name ($((SECONDS - start)) s)"
		pass=$((pass + 1))
	else
		echo "FAIL $name ($((SECONDS - start)) s) — $logs/$name.log:"
		tail -n 25 "$logs/$name.log" | sed 's/^/    /'
		fail=$((fail + 1))
	fi
}

hugepages_reserved()
{
	cat /sys/kernel/mm/hugepages/hugepages-2048kB/nr_hugepages
}

# with_hugepages N NAME CMD...: run_one NAME CMD with N more 2 MiB hugepages
# reserved (and hugetlbfs mounted) for it, given back after.
with_hugepages()
{
	local n=$1 name=$2 before mounted_here=false
	shift 2
	before=$(hugepages_reserved)
	if ! grep -q ' hugetlbfs ' /proc/mounts; then
		mkdir -p /dev/hugepages
		mount -t hugetlbfs nodev /dev/hugepages && mounted_here=true
	fi
	echo $((before + n)) >/sys/kernel/mm/hugepages/hugepages-2048kB/nr_hugepages
	if [ "$(hugepages_reserved)" -ge $((before + n)) ]; then
		run_one "$name" "$@"
	else
		echo "FAIL $name — could not reserve $n hugepages"
		fail=$((fail + 1))
	fi
	echo "$before" >/sys/kernel/mm/hugepages/hugepages-2048kB/nr_hugepages
	$mounted_here && umount /dev/hugepages
}

for t in "${tests[@]}"; do
	case "$t" in
	ping) run_one "$t" IT_MESHDP_ARGS=--no-huge IT_EXPECT_MEMORY="no hugepages" "$here/test_ping.sh" ;;
	# the same test on hugepages
	ping_hugepages) with_hugepages 384 "$t" IT_EXPECT_MEMORY="on hugepages" "$here/test_ping.sh" ;;
	# the zero-copy client runs on hugepages too
	memif) with_hugepages 160 "$t" IT_MEMIF_HUGEPAGES=1 "$here/test_memif.sh" ;;
	shutdown)
		if [ -n "$asan" ]; then
			run_one "$t" MESHDP_BIN="$(cd "$asan" && pwd)/dataplane/meshdp" "$here/test_shutdown.sh"
		else
			echo "FAIL $t — no ASan build given"
			fail=$((fail + 1))
		fi
		;;
	demo) run_one "$t" "$here/../../tools/demo.sh" --once ;;
	l4_2workers) run_one "$t" IT_L4_PROFILE="$here/../data/tap-2workers.json" "$here/test_l4.sh" ;;
	tcp_proxy_2workers) run_one "$t" IT_TCP_PROFILE="$here/../data/tap-2workers.json" "$here/test_tcp_proxy.sh" ;;
	tls_2workers) run_one "$t" IT_TLS_PROFILE="$here/../data/tap-2workers.json" "$here/test_tls.sh" ;;
	authz_2workers) run_one "$t" IT_AUTHZ_PROFILE="$here/../data/tap-2workers.json" "$here/test_authz.sh" ;;
	*) run_one "$t" "$here/test_$t.sh" ;;
	esac
done
echo "integration: $pass passed, $fail failed"
[ "$fail" -eq 0 ]
