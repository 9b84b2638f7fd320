#!/usr/bin/env bash
# Authorization: instructions per decision (callgrind, --toggle-collect=authz_decide)
# with an allow policy of SIZES (default 100 10000) rules (principal x path
# prefix) and a mesh deny policy, for a request the first, the middle, the last
# rule allows, one no rule allows (the default deny) and one the deny policy
# refuses; then nanoseconds per authz_check() (decision + counters; TSC, one run).
# Prints a markdown table. Usage: bench/authzscale.sh BUILD_DIR [SIZES...]
set -euo pipefail
build=$(cd "$1" && pwd)
shift
sizes=("$@")
[ ${#sizes[@]} -gt 0 ] || sizes=(100 10000)
bin=$build/bench/meshdp-authzscale
out=$(mktemp -d /tmp/authzscale.XXXXXX)
trap 'rm -rf "$out"' EXIT
eal=(--no-huge -m 256 -l 0 --no-pci --log-level='*:error' --file-prefix="authzscale-$$")
cases=(first middle last none deny)

ir() { # SIZE CASE: instructions of the one authz_decide() of a run
	valgrind --tool=callgrind --toggle-collect=authz_decide --callgrind-out-file="$out/cg" \
		"$bin" "${eal[@]}" -- --rules "$1" --case "$2" --lookups 1 >/dev/null 2>"$out/log" ||
		{ cat "$out/log" >&2; exit 1; }
	awk '/^summary:/ { printf "%d", $2 }' "$out/cg"
}

echo "| rules | first | middle | last | none (default deny) | deny policy |"
echo "|---:|---:|---:|---:|---:|---:|"
for n in "${sizes[@]}"; do
	row="| $n (instructions)"
	for c in "${cases[@]}"; do row+=" | $(ir "$n" "$c")"; done
	echo "$row |"
	json=$("$bin" "${eal[@]}" -- --rules "$n" --lookups 200000)
	row="| $n (ns per authz_check)"
	for c in "${cases[@]}"; do
		row+=" | $("${PYTHON:-python3}" -c 'import json,sys; d=json.loads(sys.argv[1]); print([x["ns_per_check"] for x in d["sizes"][0]["cases"] if x["case"]==sys.argv[2]][0])' "$json" "$c")"
	done
	echo "$row |"
done
