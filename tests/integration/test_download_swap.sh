#!/usr/bin/env bash
# A 100 MB HTTP download through meshdp with its sha256 checked, while 200
# `meshctl config apply` swaps happen; no drop counter may move.
source "$(dirname "$0")/lib.sh"

it_start_meshdp
it_topology_tap
it_start_nginx

head -c 100M /dev/urandom >"$IT_WORK/www/blob"
want=$(sha256sum "$IT_WORK/www/blob" | cut -d' ' -f1)

# Two configs that differ in tune knobs and routes but keep the interfaces.
it_ctl --json config show | "$IT_PY" -c 'import json,sys; print(json.load(sys.stdin)["text"])' >"$IT_WORK/a.json"
"$IT_PY" - "$IT_WORK/a.json" "$IT_WORK/b.json" <<'PY'
import json, sys
c = json.load(open(sys.argv[1]))
c["tune"]["rx_burst"] = 16
c["tune"]["tx_burst"] = 8
c["routes"].append({"prefix": "10.30.0.0/16", "via": "10.10.2.2"})
json.dump(c, open(sys.argv[2], "w"), indent=1)
PY

# Let neighbour discovery settle before the baseline.
it_in_client curl -sf -o /dev/null http://10.10.2.2/ || it_fail "warm-up request failed"
it_settle
drops0=$(it_drops)
gen0=$(it_ctl --json status | "$IT_PY" -c 'import json,sys; print(json.load(sys.stdin)["generation"])')

it_log "download 100 MB (rate-limited to span the swaps) and apply 200 configs meanwhile"
it_in_client curl -sf --limit-rate 8M -o "$IT_WORK/got" http://10.10.2.2/blob &
curl_pid=$!
for i in $(seq 1 200); do
	if [ $((i % 2)) -eq 1 ]; then f=b; else f=a; fi
	it_ctl config apply "$IT_WORK/$f.json" >/dev/null || it_fail "config apply #$i failed"
done
kill -0 "$curl_pid" 2>/dev/null || it_fail "the download ended before the 200 swaps did; the test proves nothing"
wait "$curl_pid" || it_fail "curl failed during the swaps"

got=$(sha256sum "$IT_WORK/got" | cut -d' ' -f1)
[ "$got" = "$want" ] || it_fail "sha256 mismatch: got $got want $want"
gen1=$(it_ctl --json status | "$IT_PY" -c 'import json,sys; print(json.load(sys.stdin)["generation"])')
[ "$gen1" -eq $((gen0 + 200)) ] || it_fail "generation went from $gen0 to $gen1, expected +200"
drops1=$(it_drops)
if [ "$drops1" -ne "$drops0" ]; then
	it_ctl stats >&2
	it_fail "drop counters moved during the swaps: $drops0 -> $drops1"
fi
it_stop_meshdp
it_log "ok: sha256 $got, generation $gen0 -> $gen1, drops unchanged ($drops1)"
