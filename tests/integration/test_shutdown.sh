#!/usr/bin/env bash
# Clean shutdown under AddressSanitizer/LeakSanitizer: SIGTERM after traffic and
# config swaps gives exit status 0, closed ports and no leak or memory error;
# then the same in mesh mode, through the L4 path, swaps between router and
# mesh configs included (flows, endpoint state, Maglev tables, limit tables).
# Needs the ASan build: MESHDP_BIN=build-asan/dataplane/meshdp.
source "$(dirname "$0")/lib.sh"

[ -n "${MESHDP_BIN:-}" ] || it_fail "set MESHDP_BIN to an ASan build of meshdp"
export ASAN_OPTIONS=detect_leaks=1:abort_on_error=0:exitcode=23
export LSAN_OPTIONS="suppressions=$(dirname "$0")/lsan.supp:print_suppressions=0"

it_start_meshdp --no-huge
it_topology_tap
it_in_client ping -c 3 -i 0.2 -W 2 10.10.2.2 >/dev/null || it_fail "ping through the ASan build failed"
it_ctl --json config show | "$IT_PY" -c 'import json,sys; print(json.load(sys.stdin)["text"])' >"$IT_WORK/c.json"
for _ in 1 2 3; do it_ctl config apply "$IT_WORK/c.json" >/dev/null || it_fail "apply failed"; done
it_ctl tune rx_burst=16 >/dev/null || it_fail "tune failed"
it_stop_meshdp
if grep -E "AddressSanitizer|LeakSanitizer" "$IT_WORK/meshdp.log"; then
	it_fail "sanitizer report in the meshdp log"
fi
grep -q "stopping" "$IT_WORK/meshdp.log" || it_fail "meshdp did not log its shutdown"
ip link show mdp0 >/dev/null 2>&1 && it_fail "TAP port mdp0 still exists after shutdown"
ip -n "$IT_NS_C" link show mdp0 >/dev/null 2>&1 && it_fail "TAP port mdp0 still exists in $IT_NS_C after shutdown"
ip netns del "$IT_NS_C"
ip netns del "$IT_NS_S"

it_log "mesh mode: L4 traffic, swaps between mesh and router, then SIGTERM"
source "$(dirname "$0")/lib_l4.sh"
it_start_meshdp --no-huge --config "$IT_L4_CONFIG"
it_topology_backends
it_wait_healthy shop/web
for _ in 1 2 3; do
	it_in_client curl -sf -m 3 -o /dev/null http://10.30.0.10/ || it_fail "VIP request through the ASan build failed"
done
it_in_client curl -sf -m 3 -o /dev/null http://10.30.0.30/ || it_fail "full-NAT request through the ASan build failed"
it_ctl --json config show | "$IT_PY" -c 'import json,sys; print(json.load(sys.stdin)["text"])' >"$IT_WORK/mesh.json"
"$IT_PY" -c 'import json,sys; c=json.load(open(sys.argv[1])); c["mode"]="router"; c["services"]=c["services"][:1]; c["policies"]=c["policies"][:1]; c["limits"]=[]; json.dump(c, open(sys.argv[2], "w"))' "$IT_WORK/mesh.json" "$IT_WORK/router.json"
for f in router mesh router mesh; do
	it_ctl config apply "$IT_WORK/$f.json" >/dev/null || it_fail "apply $f failed"
done
it_in_client curl -sf -m 3 -o /dev/null http://10.30.0.10/ || it_fail "VIP request after the swaps failed"
it_stop_meshdp
if grep -E "AddressSanitizer|LeakSanitizer" "$IT_WORK/meshdp.log"; then
	it_fail "sanitizer report in the meshdp log (mesh mode)"
fi
it_log "ok"
