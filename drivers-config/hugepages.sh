#!/usr/bin/env bash
# Reserve hugepages for meshdp and mount hugetlbfs, with DPDK's own helper.
# Usage: drivers-config/hugepages.sh [SIZE]   (default 2G; "clear" releases them)
set -euo pipefail
size=${1:-2G}
helper=$(command -v dpdk-hugepages.py || true)
[ -n "$helper" ] || { echo "dpdk-hugepages.py not found (apt-get install dpdk)" >&2; exit 1; }
if [ "$size" = clear ]; then
	"$helper" --clear
	exit 0
fi
"$helper" --setup "$size"
"$helper" --show
