#!/usr/bin/env bash
# Install what is missing, build (warnings are errors) and run every test:
# unit tests (cmocka), fuzz corpus replays, and the integration tests in network
# namespaces with real peers. Run as root. Ends with "N passed, N failed".
set -euo pipefail
cd "$(dirname "$0")/.."

tools/deps.sh test
tools/build.sh build-test -Dwerror=true -Dbuildtype=debugoptimized
# An AddressSanitizer build of the daemon for the clean-shutdown test.
tools/build.sh build-asan -Dwerror=true -Db_sanitize=address -Db_lundef=false -Dtests=false
# clang, libFuzzer coverage, ASan and UBSan: the unit tests again under the
# sanitizers, and 20 s of fuzzing per target from the checked-in corpus.
CC=clang tools/build.sh build-fuzz -Dwerror=true -Dfuzz=true

unit_rc=0
meson test -C build-test --print-errorlogs || unit_rc=$?
meson test -C build-fuzz --print-errorlogs || unit_rc=$?
read -r unit_pass unit_fail < <(python3 - build-test/meson-logs/testlog.json build-fuzz/meson-logs/testlog.json <<'PY'
import json, sys
ok = bad = 0
for path in sys.argv[1:]:
    for line in open(path):
        r = json.loads(line)["result"]
        if r in ("OK", "EXPECTEDFAIL"):
            ok += 1
        else:
            bad += 1
print(ok, bad)
PY
)

int_rc=0
int_out=$(mktemp)
tests/integration/run.sh build-test build-asan | tee "$int_out" || int_rc=$?
int_pass=$(sed -n 's/^integration: \([0-9]*\) passed, \([0-9]*\) failed$/\1/p' "$int_out")
int_fail=$(sed -n 's/^integration: \([0-9]*\) passed, \([0-9]*\) failed$/\2/p' "$int_out")
rm -f "$int_out"

echo "unit, fuzz-corpus and fuzzing runs: $unit_pass passed, $unit_fail failed"
echo "$((unit_pass + ${int_pass:-0})) passed, $((unit_fail + ${int_fail:-1})) failed"
[ "$unit_rc" -eq 0 ] && [ "$int_rc" -eq 0 ]
