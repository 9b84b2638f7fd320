#!/usr/bin/env bash
# Scenario (r): instructions per router_select() (callgrind, --toggle-collect) on
# route tables of SIZES (default 10 100 1000 10000) exact and prefix routes, for a
# request that hits the first, the middle, the last route or none, with the path
# index (case-sensitive routes) and without it (--any-case: the linear walk).
# Prints a markdown table. Usage: bench/routescale.sh BUILD_DIR [SIZES...]
set -euo pipefail
build=$(cd "$1" && pwd)
shift
sizes=("$@")
[ ${#sizes[@]} -gt 0 ] || sizes=(10 100 1000 10000)
bin=$build/bench/meshdp-routescale
out=$(mktemp -d /tmp/routescale.XXXXXX)
trap 'rm -rf "$out"' EXIT
lookups=1000

ir() { # SIZE CASE [--any-case]: instructions per router_select()
	valgrind --tool=callgrind --toggle-collect=router_select --callgrind-out-file="$out/cg" \
		"$bin" --no-huge -m 256 -l 0 --no-pci --log-level='*:error' -- \
		--routes "$1" --case "$2" --lookups "$lookups" ${3:-} >/dev/null 2>"$out/log" ||
		{ cat "$out/log" >&2; exit 1; }
	awk -v n="$lookups" '/^summary:/ { printf "%d", $2 / n }' "$out/cg"
}

echo "| routes | first | middle | last | none (404) | linear walk: last | linear walk: none |"
echo "|---:|---:|---:|---:|---:|---:|---:|"
for n in "${sizes[@]}"; do
	printf "| %s | %s | %s | %s | %s | %s | %s |\n" "$n" "$(ir "$n" first)" "$(ir "$n" middle)" \
		"$(ir "$n" last)" "$(ir "$n" none)" "$(ir "$n" last --any-case)" "$(ir "$n" none --any-case)"
done
