#!/usr/bin/env bash
# Clean shutdown under AddressSanitizer/LeakSanitizer: SIGTERM after traffic and
# config swaps gives exit status 0, closed ports and no leak or memory error.
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
it_log "ok"
