#!/usr/bin/env bash
# Namespace-scoped admin roles (SM-DR28) over the real control socket, as real
# users made for the test: a viewer reads but is refused a change; the
# operator of shop merges shop's services with config apply --namespace and is
# refused billing, a whole document, tune, and a shop document holding a
# billing service; an operator of the single service shop/cart may change cart
# but not web; a group's operator binding; an admin applies a whole document; a
# member of the control group bound to no role is refused everything. Each
# change and each refusal is one JSON line in the admin audit log, with the
# user, role, command, result and generation. meshctl audit reports the roles.
source "$(dirname "$0")/lib.sh"

CTL_GROUP=mdpit-ctl
OPS_GROUP=mdpit-ops
USERS=(mdpit-viewer mdpit-shop mdpit-cart mdpit-ops1 mdpit-admin mdpit-nobody)
AUDIT_LOG=$IT_WORK/admin-audit.log

remove_users()
{
	for u in "${USERS[@]}"; do userdel "$u" 2>/dev/null || true; done
	groupdel "$OPS_GROUP" 2>/dev/null || true
	groupdel "$CTL_GROUP" 2>/dev/null || true
}
trap 'remove_users; it_cleanup' EXIT

remove_users # left by an interrupted run
groupadd "$CTL_GROUP"
groupadd "$OPS_GROUP"
for u in "${USERS[@]}"; do useradd -M -N -g "$CTL_GROUP" -s /usr/sbin/nologin "$u"; done
usermod -a -G "$OPS_GROUP" mdpit-ops1
CART_UID=$(id -u mdpit-cart)

# as USER meshctl ARGS...: meshctl run by USER, with its groups from /etc/group
as() { local u=$1; shift; runuser -u "$u" -- "$IT_MESHCTL" --socket "$IT_SOCK" "$@"; }
gen() { it_ctl --json status | "$IT_PY" -c 'import json,sys; print(json.load(sys.stdin)["generation"])'; }
# expect_refused WHAT NEEDLE USER ARGS...: the command fails, its message holds NEEDLE
expect_refused()
{
	local what=$1 needle=$2 out
	shift 2
	out=$(as "$@" 2>&1) && it_fail "$what was accepted: $out"
	grep -q -- "$needle" <<<"$out" || it_fail "$what: refusal without '$needle': $out"
}
# service_port NAME: the first port of service NAME in the live config
service_port()
{
	it_ctl --json config show | "$IT_PY" -c 'import json,sys; t=json.loads(json.load(sys.stdin)["text"]); print([s for s in t["services"] if s["name"]==sys.argv[1]][0]["ports"][0]["port"])' "$1"
}

"$IT_PY" - "$IT_ROOT/dataplane/config/default.json" "$IT_WORK/roles.json" "$AUDIT_LOG" "$CTL_GROUP" "$OPS_GROUP" "$CART_UID" <<'PY'
import json, sys
d = json.load(open(sys.argv[1]))
d["control"]["group"] = sys.argv[4]
d["mode"] = "mesh"
d["mesh"] = {"prefixes": ["10.10.0.0/16", "10.30.0.0/24"]}
svc = lambda ns, name, vip, port: {"name": name, "namespace": ns, "vip": vip, "ports": [{"port": port}],
                                   "endpoints": [{"address": "10.10.2.11"}], "health": {"interval_ms": 0}}
d["services"] = [svc("shop", "web", "10.30.0.10", 80), svc("shop", "cart", "10.30.0.11", 80),
                 svc("billing", "pay", "10.30.0.20", 80)]
d["workloads"] = [{"name": "fe", "namespace": "shop", "service": "fe", "prefixes": ["10.10.1.2/32"]}]
d["policies"] = [{"name": "fe-web", "action": "allow", "from": {"namespace": "shop", "service": "fe"}, "to": {"service": "web"}}]
d["roles"] = {"audit_log": sys.argv[3], "bindings": [
    {"user": "mdpit-viewer", "role": "viewer"},
    {"user": "mdpit-shop", "role": "operator", "scope": ["shop"]},
    {"uid": int(sys.argv[6]), "role": "operator", "scope": ["shop/cart"]},
    {"group": sys.argv[5], "role": "operator", "scope": ["billing"]},
    {"user": "mdpit-admin", "role": "admin"}]}
json.dump(d, open(sys.argv[2], "w"), indent=1)
PY
it_start_meshdp --config "$IT_WORK/roles.json"
chmod 755 "$IT_WORK"

# namespace documents
"$IT_PY" - "$IT_WORK" <<'PY'
import json, sys
w = sys.argv[1]
svc = lambda ns, name, vip, port: {"name": name, "namespace": ns, "vip": vip, "ports": [{"port": port}],
                                   "endpoints": [{"address": "10.10.2.11"}], "health": {"interval_ms": 0}}
json.dump({"services": [svc("shop", "web", "10.30.0.10", 8080), svc("shop", "cart", "10.30.0.11", 80)]}, open(w + "/shop-8080.json", "w"))
json.dump({"services": [svc("shop", "web", "10.30.0.10", 8080), svc("shop", "cart", "10.30.0.11", 81)]}, open(w + "/shop-cart81.json", "w"))
json.dump({"services": [svc("shop", "web", "10.30.0.10", 9090), svc("shop", "cart", "10.30.0.11", 81)]}, open(w + "/shop-web9090.json", "w"))
json.dump({"services": [svc("shop", "web", "10.30.0.10", 8080), svc("billing", "pay", "10.30.0.20", 81)]}, open(w + "/shop-with-billing.json", "w"))
json.dump({"services": [svc("billing", "pay", "10.30.0.20", 8443)]}, open(w + "/billing.json", "w"))
json.dump({"listeners": []}, open(w + "/shop-listeners.json", "w"))
json.dump({"policies": [{"name": "shop-out", "action": "allow", "from": {"namespace": "shop", "service": "fe"}, "to": {"external": "x"}}]}, open(w + "/shop-egress.json", "w"))
PY
chmod 644 "$IT_WORK"/*.json

it_log "a viewer reads, and is refused every change"
as mdpit-viewer status >/dev/null || it_fail "the viewer could not read status"
as mdpit-viewer services >/dev/null || it_fail "the viewer could not list services"
expect_refused "config apply by the viewer" "is a viewer" mdpit-viewer config apply "$IT_WORK/roles.json"
expect_refused "tune by the viewer" "is a viewer" mdpit-viewer tune rx_burst=16
expect_refused "apply --namespace by the viewer" "is a viewer" mdpit-viewer config apply --namespace shop "$IT_WORK/shop-8080.json"

it_log "the operator of shop merges shop, and only shop"
g0=$(gen)
as mdpit-shop config apply --namespace shop "$IT_WORK/shop-8080.json" | grep -q "namespace shop: 2 entries applied" || it_fail "the shop operator's apply failed"
[ "$(gen)" -eq $((g0 + 1)) ] || it_fail "apply --namespace did not publish one generation"
[ "$(service_port web)" = 8080 ] || it_fail "shop/web did not get port 8080"
[ "$(service_port pay)" = 80 ] || it_fail "billing/pay changed"
it_ctl --json config show | "$IT_PY" -c 'import json,sys; t=json.loads(json.load(sys.stdin)["text"]); assert [p["name"] for p in t["policies"]] == ["fe-web"] and t["workloads"][0]["name"] == "fe" and t["roles"]["bindings"], t' || it_fail "members the namespace document lacks did not stay"
expect_refused "the shop operator on billing" "does not include namespace billing" mdpit-shop config apply --namespace billing "$IT_WORK/billing.json"
expect_refused "a shop document with a billing service" "expected an entry of namespace shop, got one of billing" mdpit-shop config apply --namespace shop "$IT_WORK/shop-with-billing.json"
expect_refused "a shop document with listeners" "holds only services, workloads, policies" mdpit-shop config apply --namespace shop "$IT_WORK/shop-listeners.json"
expect_refused "an egress policy by an operator" "an admin's change" mdpit-shop config apply --namespace shop "$IT_WORK/shop-egress.json"
expect_refused "a whole document by an operator" "is for admins" mdpit-shop config apply "$IT_WORK/roles.json"
expect_refused "tune by an operator" "is for admins" mdpit-shop tune rx_burst=16
expect_refused "rollback by an operator" "is for admins" mdpit-shop config rollback
[ "$(gen)" -eq $((g0 + 1)) ] || it_fail "a refused command changed the generation"

it_log "an operator of the single service shop/cart (bound by uid)"
as mdpit-cart config apply --namespace shop "$IT_WORK/shop-cart81.json" >/dev/null || it_fail "the cart operator could not change cart"
[ "$(service_port cart)" = 81 ] || it_fail "shop/cart did not get port 81"
expect_refused "the cart operator changing web" "services web of namespace shop is outside the operator's scope" mdpit-cart config apply --namespace shop "$IT_WORK/shop-web9090.json"
[ "$(service_port web)" = 8080 ] || it_fail "shop/web changed by the cart operator"

it_log "an operator by group (billing), an admin, a member bound to no role"
as mdpit-ops1 config apply --namespace billing "$IT_WORK/billing.json" >/dev/null || it_fail "the billing group's operator was refused"
[ "$(service_port pay)" = 8443 ] || it_fail "billing/pay did not get port 8443"
as mdpit-admin config apply "$IT_WORK/roles.json" >/dev/null || it_fail "the admin could not apply a document"
[ "$(service_port web)" = 80 ] || it_fail "the admin's document did not restore shop/web"
as mdpit-admin tune rx_burst=16 >/dev/null || it_fail "the admin could not tune"
expect_refused "status by a member bound to no role" "is bound to no role" mdpit-nobody status
out=$(setpriv --reuid=65534 --regid=65534 --clear-groups "$IT_MESHCTL" --socket "$IT_SOCK" status 2>&1) && it_fail "a user outside the control group was served: $out"

it_log "the admin audit log: each change and each refusal, who, what, generation"
"$IT_PY" - "$AUDIT_LOG" <<'PY' || it_fail "the admin audit log is wrong: $(cat "$AUDIT_LOG")"
import json, sys
recs = [json.loads(l) for l in open(sys.argv[1])]
def find(user, cmd, result):
    return [r for r in recs if r["user"] == user and r["cmd"] == cmd and r["result"] == result]
assert all(set(r) >= {"time", "uid", "user", "role", "cmd", "result", "generation"} for r in recs), recs
assert find("mdpit-viewer", "config.apply", "refused")[0]["role"] == "viewer", recs
assert find("mdpit-viewer", "tune", "refused"), recs
assert not [r for r in recs if r["user"] == "mdpit-viewer" and r["cmd"] in ("status", "services")], "reads are not recorded"
ok = find("mdpit-shop", "config.apply_namespace", "accepted")
assert len(ok) == 1 and ok[0]["namespace"] == "shop" and ok[0]["role"] == "operator", recs
refused = find("mdpit-shop", "config.apply_namespace", "refused")
assert len(refused) == 4 and {r["namespace"] for r in refused} == {"shop", "billing"}, refused
assert all(r["reason"] for r in refused), refused
assert len(find("mdpit-cart", "config.apply_namespace", "accepted")) == 1, recs
assert len(find("mdpit-cart", "config.apply_namespace", "refused")) == 1, recs
assert find("mdpit-ops1", "config.apply_namespace", "accepted")[0]["namespace"] == "billing", recs
adm = find("mdpit-admin", "config.apply", "accepted")
assert adm and adm[0]["role"] == "admin", recs
assert find("mdpit-nobody", "status", "refused")[0]["role"] == "none", recs
gens = [r["generation"] for r in recs if r["result"] == "accepted"]
assert gens == sorted(gens) and len(set(gens)) == len(gens), gens
print(len(recs), "records")
PY
[ "$(stat -c %a "$AUDIT_LOG")" = 600 ] || it_fail "the admin audit log is not mode 0600"

it_log "meshctl audit reports the roles"
it_ctl audit >"$IT_WORK/audit.txt" || true
grep -Eq '^PASS +SM-DR28 +\$\.roles\.bindings +control-socket peers have roles: 1 admin, 3 operator' "$IT_WORK/audit.txt" || it_fail "audit does not report the roles: $(grep SM-DR28 "$IT_WORK/audit.txt")"
grep -Eq '^PASS +SM-DR28 +\$\.roles\.audit_log' "$IT_WORK/audit.txt" || it_fail "audit does not report the audit log"

it_stop_meshdp
it_log "ok"
