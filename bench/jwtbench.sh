#!/usr/bin/env bash
# Request authentication (issue 13, point 7): what jwt_check() adds to a
# request, for the same request without a token, with ES256, RS256 and EdDSA
# JWTs, and with nested JWEs (ECDH-ES + A256GCM around an EdDSA JWT,
# RSA-OAEP-256 + A256GCM around an ES256 one); keys and tokens from
# tests/integration/jwt_tool.py (python3-jwcrypto). Instructions per check
# (callgrind, --toggle-collect=jwt_check): the difference between a run of 11
# checks and one of 1, divided by 10 (the steady state, without OpenSSL's
# first-use costs); then nanoseconds per jwt_check() (TSC, 2,000 checks).
# Prints a markdown table. Usage: bench/jwtbench.sh BUILD_DIR
set -euo pipefail
build=$(cd "$1" && pwd)
here=$(cd "$(dirname "$0")" && pwd)
bin=$build/bench/meshdp-jwtbench
py=/usr/bin/python3 # Debian's, which has jwcrypto
out=$(mktemp -d /tmp/jwtbench.XXXXXX)
trap 'rm -rf "$out"' EXIT
eal=(--no-huge -m 256 -l 0 --no-pci --log-level='*:error' --file-prefix="jwtbench-$$")
"$py" "$here/../tests/integration/jwt_tool.py" keys "$out/keys"
for k in es256 rs256 eddsa jwe-ec jwe-rsa; do
	"$py" "$here/../tests/integration/jwt_tool.py" token "$out/keys" "$k" >"$out/$k.tok"
done
ir() { # N [TOKEN-ARGS]: instructions of N jwt_check()s
	valgrind --tool=callgrind --toggle-collect=jwt_check --callgrind-out-file="$out/cg" \
		"$bin" "${eal[@]}" -- --keys "$out/keys" --lookups "$1" "${@:2}" >/dev/null 2>"$out/log" ||
		{ cat "$out/log" >&2; exit 1; }
	awk '/^summary:/ { printf "%d", $2 }' "$out/cg"
}
echo "| request | token bytes | instructions per jwt_check | us per jwt_check |"
echo "|---|---:|---:|---:|"
for k in none es256 rs256 eddsa jwe-ec jwe-rsa; do
	args=()
	bytes=0
	if [ "$k" != none ]; then
		args=(--token "$out/$k.tok")
		bytes=$(($(wc -c <"$out/$k.tok") - 1))
	fi
	one=$(ir 1 "${args[@]}")
	eleven=$(ir 11 "${args[@]}")
	json=$("$bin" "${eal[@]}" -- --keys "$out/keys" --lookups 2000 "${args[@]}")
	us=$("$py" -c 'import json,sys; d=json.loads(sys.argv[1]); print("%.1f (%s)" % (d["ns_per_check"] / 1000, d["reason"]))' "$json")
	echo "| $k | $bytes | $(((eleven - one) / 10)) | $us |"
done
