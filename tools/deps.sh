#!/usr/bin/env bash
# Install the Debian packages meshdp needs, only those missing (idempotent).
# Usage: tools/deps.sh [build|demo|test|bench]   (default: test; bench adds what
# bench/run.sh uses beyond the tests: valgrind for (p), HAProxy for (x), gnuplot, nginx's stream module for (s))
set -euo pipefail

build=(meson ninja-build pkg-config gcc python3 dpdk dpdk-dev libdpdk-dev liburcu-dev
	libjansson-dev libmicrohttpd-dev libcmocka-dev libssl-dev libpcre2-dev libcurl4-openssl-dev libnghttp2-dev libcjose-dev)
demo=(iproute2 iputils-ping traceroute curl nginx-light openssl ethtool)
test=(python3-scapy procps coreutils util-linux ethtool socat nmap wrk clang libclang-rt-14-dev
	hping3 iperf3 python3-h11 testssl.sh etcd-server etcd-client prometheus
	nghttp2-client nghttp2-server python3-grpcio python3-jwcrypto chromium)
bench=(valgrind haproxy gnuplot-nox libnginx-mod-stream nghttp2-proxy)

case "${1:-test}" in
build) want=("${build[@]}") ;;
demo) want=("${build[@]}" "${demo[@]}") ;;
test) want=("${build[@]}" "${demo[@]}" "${test[@]}") ;;
bench) want=("${build[@]}" "${demo[@]}" "${test[@]}" "${bench[@]}") ;;
*) echo "usage: $0 [build|demo|test|bench]" >&2; exit 2 ;;
esac

missing=()
for p in "${want[@]}"; do
	if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed'; then
		missing+=("$p")
	fi
done
[ ${#missing[@]} -eq 0 ] && exit 0

if [ "$(id -u)" -ne 0 ]; then
	echo "tools/deps.sh: missing packages (${missing[*]}); run as root" >&2
	exit 1
fi
echo "tools/deps.sh: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
apt-get update -q
apt-get install -y -q --no-install-recommends "${missing[@]}"
# nginx-light's package starts a system nginx on port 80; meshdp's demo and tests run their own.
if printf '%s\n' "${missing[@]}" | grep -qx nginx-light; then
	systemctl disable --now nginx >/dev/null 2>&1 || service nginx stop >/dev/null 2>&1 || true
fi
# etcd-server's package may start a system etcd on 2379; the fleet test runs its own cluster.
if printf '%s\n' "${missing[@]}" | grep -qx etcd-server; then
	systemctl disable --now etcd >/dev/null 2>&1 || service etcd stop >/dev/null 2>&1 || true
fi
