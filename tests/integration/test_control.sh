#!/usr/bin/env bash
# meshctl against a live daemon: every command, bad configs refused with the JSON
# path named and the running config kept, rollback, tune, malformed and oversized
# requests refused without stalling the control thread, non-root refused.
source "$(dirname "$0")/lib.sh"

it_start_meshdp

gen() { it_ctl --json status | "$IT_PY" -c 'import json,sys; print(json.load(sys.stdin)["generation"])'; }

it_log "status, stats, ports, neigh, routes, log level, with and without --json"
it_ctl status | grep -q "generation" || it_fail "status has no generation"
for cmd in status stats ports neigh routes "config show" "log level"; do
	# shellcheck disable=SC2086
	it_ctl $cmd >/dev/null || it_fail "meshctl $cmd failed"
	# shellcheck disable=SC2086
	it_ctl --json $cmd | "$IT_PY" -m json.tool >/dev/null || it_fail "meshctl --json $cmd is not JSON"
done
it_ctl --json ports | "$IT_PY" -c 'import json,sys; p=json.load(sys.stdin); assert [x["name"] for x in p] == ["p0","p1"], p' || it_fail "ports are not p0, p1"

it_log "commands: what each subsystem registered, and which commands change state"
it_ctl commands | grep -q "^config.apply  *control  *yes" || it_fail "commands does not list config.apply as changing state"
it_ctl --json commands | "$IT_PY" -c 'import json,sys; r={c["cmd"]: c for c in json.load(sys.stdin)}; assert len(r) == 32, r; assert r["top"]["subsystem"] == "telemetry"; assert r["authn"]["subsystem"] == "authz" and r["authz"]["subsystem"] == "authz" and r["jwt"]["subsystem"] == "jwt", r; assert r["audit"]["subsystem"] == "audit" and r["config.apply_namespace"]["subsystem"] == "roles", r; assert r["http_routes"]["subsystem"] == "router" and r["flows"]["subsystem"] == "l4" and r["tcp_conns"]["subsystem"] == "proxy" and r["routes"]["subsystem"] == "net", r; assert [n for n in r if r[n]["changes_state"]] == ["config.apply", "config.rollback", "log.level", "tune", "secret.apply", "secret.bundle", "config.apply_namespace"], r' || it_fail "commands has the wrong shape"

it_log "tcp stats, tcp conns, and their bad arguments"
for cmd in "tcp stats" "tcp conns" "tcp conns --state established --limit 5"; do
	# shellcheck disable=SC2086
	it_ctl $cmd >/dev/null || it_fail "meshctl $cmd failed"
	# shellcheck disable=SC2086
	it_ctl --json $cmd | "$IT_PY" -m json.tool >/dev/null || it_fail "meshctl --json $cmd is not JSON"
done
it_ctl --json tcp stats | "$IT_PY" -c 'import json,sys; r=json.load(sys.stdin); assert r["states"]["established"] == 0 and len(r["states"]) == 11, r; assert [w["worker"] for w in r["workers"]] == list(range(len(r["workers"]))), r; assert "tcp_segs_in" in r["counters"], r' || it_fail "tcp stats has the wrong shape"
it_ctl --json tcp conns | "$IT_PY" -c 'import json,sys; r=json.load(sys.stdin); assert r == {"conns": [], "truncated": False}, r' || it_fail "tcp conns lists connections of an idle daemon"
check_usage() {
	local want_rc=$1 needle=$2 out rc=0
	shift 2
	out=$(it_ctl "$@" 2>&1) || rc=$?
	[ "$rc" -eq "$want_rc" ] || it_fail "meshctl $*: exit $rc, expected $want_rc: $out"
	grep -qF -- "$needle" <<<"$out" || it_fail "meshctl $*: '$out' does not say '$needle'"
}
check_usage 2 "--limit '0' is not a number in 1..10000" tcp conns --limit 0
check_usage 2 "--limit 'x' is not a number in 1..10000" tcp conns --limit x
check_usage 2 "unexpected argument '--service'" tcp conns --service web
check_usage 2 "expected 'tcp stats' or 'tcp conns'" tcp
check_usage 2 "tcp stats takes no arguments" tcp stats --all
check_usage 1 "unknown state 'open' (one of closed, listen," tcp conns --state open

it_log "config validate / apply refuse bad configs and keep the running one"
g0=$(gen)
it_ctl --json config show | "$IT_PY" -c 'import json,sys; print(json.load(sys.stdin)["text"])' >"$IT_WORK/good.json"
"$IT_PY" - "$IT_WORK" <<'PY'
import json, sys
d = sys.argv[1]
good = json.load(open(d + "/good.json"))
def variant(name, f):
    c = json.loads(json.dumps(good)); f(c); json.dump(c, open(f"{d}/{name}.json", "w"))
variant("unknown_field", lambda c: c["interfaces"][1].update(colour="blue"))
variant("bad_addr", lambda c: c["interfaces"][1].update(ipv4=["10.10.2.300/24"]))
variant("dup_name", lambda c: c["interfaces"][1].update(name=c["interfaces"][0]["name"]))
variant("bad_type", lambda c: c["tune"].update(rx_burst="many"))
variant("tuned", lambda c: c["tune"].update(rx_burst=8))
PY
check_refused() {
	local file=$1 path=$2 out
	if out=$(it_ctl config validate "$IT_WORK/$file.json" 2>&1); then
		it_fail "config validate accepted $file"
	fi
	grep -qF "$path" <<<"$out" || it_fail "validate $file: error does not name $path: $out"
	if out=$(it_ctl config apply "$IT_WORK/$file.json" 2>&1); then
		it_fail "config apply accepted $file"
	fi
	grep -qF "$path" <<<"$out" || it_fail "apply $file: error does not name $path: $out"
}
check_refused unknown_field '$.interfaces[1].colour'
check_refused bad_addr '$.interfaces[1].ipv4[0]'
check_refused dup_name '$.interfaces[1].name'
check_refused bad_type '$.tune.rx_burst'
printf '{"version": 1,' >"$IT_WORK/truncated.json"
it_ctl config validate "$IT_WORK/truncated.json" >/dev/null 2>&1 && it_fail "truncated JSON validated"
[ "$(gen)" -eq "$g0" ] || it_fail "a refused config changed the generation"
it_ctl config validate "$IT_WORK/tuned.json" >/dev/null || it_fail "a good config did not validate"

it_log "apply, show, rollback"
it_ctl config apply "$IT_WORK/tuned.json" >/dev/null || it_fail "apply failed"
[ "$(gen)" -eq $((g0 + 1)) ] || it_fail "apply did not bump the generation"
it_ctl --json config show | "$IT_PY" -c 'import json,sys; t=json.loads(json.load(sys.stdin)["text"]); assert t["tune"]["rx_burst"] == 8' || it_fail "config show does not show the applied config"
it_ctl config rollback >/dev/null || it_fail "rollback failed"
it_ctl --json config show | "$IT_PY" -c 'import json,sys; t=json.loads(json.load(sys.stdin)["text"]); assert t["tune"]["rx_burst"] == 32' || it_fail "rollback did not restore rx_burst 32"

it_log "audit: the live config, a candidate document (not applied), a bad document"
g0=$(gen)
rc=0
it_ctl audit >"$IT_WORK/audit.txt" || rc=$?
[ "$rc" -eq 4 ] || it_fail "audit of the router-mode default exited $rc, not 4 (a FAIL)"
grep -Eq '^FAIL +SM-DR1 +\$\.mode +mode is router' "$IT_WORK/audit.txt" || it_fail "audit: no FAIL for SM-DR1 at \$.mode"
grep -Eq '^PASS +SM-DR23 +\$\.admin\.listen' "$IT_WORK/audit.txt" || it_fail "audit: no PASS for the metrics endpoint"
grep -Eq '^[0-9]+ pass, [0-9]+ warn, [1-9][0-9]* fail$' "$IT_WORK/audit.txt" || it_fail "audit: no summary line"
it_ctl --json audit >"$IT_WORK/audit.json" && it_fail "audit --json exited 0 with a FAIL"
"$IT_PY" - "$IT_WORK/audit.json" "$g0" <<'PY' || it_fail "audit --json has the wrong shape"
import json, sys
r = json.load(open(sys.argv[1]))
f = r["findings"]
assert r["generation"] == int(sys.argv[2]), r["generation"]
assert all(x["result"] in ("PASS", "WARN", "FAIL") and x["path"].startswith("$") and x["reason"] for x in f), f
assert r["pass"] + r["warn"] + r["fail"] == len(f), r
assert {x["requirement"] for x in f if x["result"] == "FAIL"} == {"SM-DR1", "SM-DR8"}, f
PY
"$IT_PY" - "$IT_WORK/good.json" >"$IT_WORK/mesh.json" <<'PY'
import json, sys
d = json.load(open(sys.argv[1]))
d["mode"] = "mesh"
d["mesh"] = {"prefixes": ["10.10.0.0/16"]}
print(json.dumps(d))
PY
it_ctl audit "$IT_WORK/mesh.json" >"$IT_WORK/audit-mesh.txt" || it_fail "audit of a mesh document found a FAIL: $(grep ^FAIL "$IT_WORK/audit-mesh.txt")"
grep -Eq '^PASS +SM-DR1 +\$\.mode' "$IT_WORK/audit-mesh.txt" || it_fail "audit FILE: no PASS for SM-DR1"
[ "$(gen)" = "$g0" ] || it_fail "audit FILE changed the live generation"
it_ctl audit "$IT_WORK/truncated.json" >/dev/null 2>"$IT_WORK/audit-bad.err" && it_fail "audit of truncated JSON succeeded"
[ -s "$IT_WORK/audit-bad.err" ] || it_fail "audit of truncated JSON said nothing"

it_log "tune and log level, applied live"
it_ctl tune rx_burst=64 >/dev/null || it_fail "tune rx_burst=64 failed"
it_ctl --json config show | "$IT_PY" -c 'import json,sys; t=json.loads(json.load(sys.stdin)["text"]); assert t["tune"]["rx_burst"] == 64' || it_fail "tune did not reach the config"
it_ctl tune idle=poll >/dev/null || it_fail "tune idle=poll failed"
it_ctl tune rx_burst=100000 >/dev/null 2>&1 && it_fail "tune accepted rx_burst=100000"
it_ctl tune colour=blue >/dev/null 2>&1 && it_fail "tune accepted an unknown knob"
it_ctl log level debug >/dev/null || it_fail "log level debug failed"
it_ctl log level | grep -q debug || it_fail "log level does not read back debug"
it_ctl log level loud >/dev/null 2>&1 && it_fail "log level accepted 'loud'"
it_ctl log level info >/dev/null || it_fail "log level info failed"

it_log "malformed, oversized and stalled requests"
reply=$(printf 'this is not json\n' | timeout 5 socat - "UNIX-CONNECT:$IT_SOCK")
grep -q '"ok": *false' <<<"$reply" || it_fail "malformed request got: $reply"
reply=$(printf '{"cmd": "launch-rockets"}\n' | timeout 5 socat - "UNIX-CONNECT:$IT_SOCK")
grep -q '"ok": *false' <<<"$reply" || it_fail "unknown command got: $reply"
# Clients that connect and say nothing, or stop in the middle of a request, must
# not stall the others.
stall='import socket, sys, time
s = socket.socket(socket.AF_UNIX)
s.connect(sys.argv[1])
s.sendall(sys.argv[2].encode())
time.sleep(30)'
"$IT_PY" -c "$stall" "$IT_SOCK" "" &
staller1=$!
"$IT_PY" -c "$stall" "$IT_SOCK" '{"cmd": "sta' &
staller2=$!
# accepted by the daemon (an fd of meshdp's), not only queued on the socket
accepted() { [ "$(ss -xpH | grep -F " $IT_SOCK " | grep -c "pid=$IT_MESHDP_PID,")" -ge 2 ]; }
it_wait_for "the daemon holding both stalled clients" 10 accepted
timeout 5 "$IT_MESHCTL" --socket "$IT_SOCK" status >/dev/null || it_fail "a stalled client blocked the control thread"
# The daemon answers and closes while the client is still writing: read the reply
# after the write fails (socat would exit on EPIPE before reading it).
reply=$(timeout 10 "$IT_PY" - "$IT_SOCK" <<'PY'
import socket, sys
s = socket.socket(socket.AF_UNIX)
s.connect(sys.argv[1])
try:
    s.sendall(b"a" * 3000000)
except (BrokenPipeError, ConnectionResetError):
    pass
data = b""
while True:
    try:
        chunk = s.recv(65536)
    except ConnectionResetError:
        break
    if not chunk:
        break
    data += chunk
print(data.decode(errors="replace"))
PY
)
grep -qi 'too large' <<<"$reply" || it_fail "oversized request got: ${reply:0:200}"
kill "$staller1" "$staller2" 2>/dev/null || true
timeout 5 "$IT_MESHCTL" --socket "$IT_SOCK" status >/dev/null || it_fail "daemon unresponsive after bad requests"

it_log "a non-root user is refused: by the socket's mode, and by the daemon's peer check"
out=$(setpriv --reuid=65534 --regid=65534 --clear-groups "$IT_MESHCTL" --socket "$IT_SOCK" status 2>&1) && it_fail "uid 65534 was served: $out"
grep -qi 'permission denied' <<<"$out" || it_fail "uid 65534 refusal unclear: $out"
# Even when the file mode lets anyone connect, SO_PEERCRED keeps them out.
chmod 0666 "$IT_SOCK"
out=$(setpriv --reuid=65534 --regid=65534 --clear-groups "$IT_MESHCTL" --socket "$IT_SOCK" status 2>&1) && it_fail "uid 65534 was served: $out"
grep -q 'permission denied: uid 65534' <<<"$out" || it_fail "the daemon did not refuse uid 65534 by credentials: $out"

it_stop_meshdp
it_log "ok"
