#!/usr/bin/env bash
# HTTP route configs on a live daemon, through meshctl: a document with route
# configs applies, "http routes" lists what was compiled, "http route-test" picks
# the route the schema promises (virtual host by Host, path, method, header,
# query; weighted, redirect, direct response, 404), bad route configs are
# refused with their JSON path and the running routes kept, and a swap changes
# the routes that route-test sees.
source "$(dirname "$0")/lib.sh"

it_start_meshdp

gen() { it_ctl --json status | "$IT_PY" -c 'import json,sys; print(json.load(sys.stdin)["generation"])'; }

it_ctl --json config show | "$IT_PY" -c 'import json,sys; print(json.load(sys.stdin)["text"])' >"$IT_WORK/base.json"
"$IT_PY" - "$IT_WORK" <<'PY'
import json, sys
d = sys.argv[1]
base = json.load(open(d + "/base.json"))
def svc(name, vip, ports):
    return {"name": name, "namespace": "shop", "vip": vip, "ports": [{"port": p} for p in ports],
            "endpoints": [{"address": "10.10.2.2"}], "health": {"interval_ms": 0}}
base["services"] = [svc("web", "10.30.0.10", [80, 8443]), svc("web-v2", "10.30.0.11", [80])]
routes = [
    {"name": "canary", "match": {"prefix": "/", "headers": [{"name": "x-canary", "exact": "1"}]},
     "cluster": "web-v2"},
    {"name": "api", "match": {"prefix": "/api/", "methods": ["GET", "POST"]},
     "weighted_clusters": [{"cluster": "web", "weight": 90}, {"cluster": "shop/web-v2", "weight": 10}],
     "prefix_rewrite": "/", "retry_policy": {"retry_on": ["5xx"], "num_retries": 2}},
    {"name": "old", "match": {"path": "/old"}, "redirect": {"scheme": "https", "path": "/new"}},
    {"name": "health", "match": {"regex": "^/v[0-9]+/health$"}, "direct_response": {"status": 200, "body": "ok\n"}},
    {"name": "debug", "match": {"prefix": "/", "query": [{"name": "debug", "present": True}]},
     "cluster": "web", "port": 8443},
]
one = dict(base, route_configs=[{"name": "shop", "virtual_hosts": [
    {"name": "web", "domains": ["shop.example", "*.shop.example"], "routes": routes},
    {"name": "fallback", "domains": ["*"], "routes": [{"name": "root", "match": {"path": "/"}, "cluster": "web"}]}]}])
json.dump(one, open(d + "/one.json", "w"))
two = json.loads(json.dumps(one))
two["route_configs"][0]["virtual_hosts"][0]["routes"] = [
    {"name": "maint", "match": {"prefix": "/"}, "direct_response": {"status": 503, "body": "maintenance\n"}}]
json.dump(two, open(d + "/two.json", "w"))
bad = json.loads(json.dumps(one))
bad["route_configs"][0]["virtual_hosts"][0]["routes"][3]["match"]["regex"] = "^/v[0-9+/health$"
json.dump(bad, open(d + "/bad_regex.json", "w"))
bad = json.loads(json.dumps(one))
bad["route_configs"][0]["virtual_hosts"][0]["routes"][1]["weighted_clusters"][1]["weight"] = 20
json.dump(bad, open(d + "/bad_weights.json", "w"))
bad = json.loads(json.dumps(one))
bad["route_configs"][0]["virtual_hosts"][1]["domains"] = ["Shop.Example"]
json.dump(bad, open(d + "/bad_domain.json", "w"))
bad = json.loads(json.dumps(one))
bad["route_configs"][0]["virtual_hosts"][0]["routes"][0]["cluster"] = "nope"
json.dump(bad, open(d + "/bad_cluster.json", "w"))
PY

it_log "a document with route configs applies; http routes lists them"
it_ctl config apply "$IT_WORK/one.json" >/dev/null || it_fail "the route config document was refused"
it_ctl http routes | grep -q "virtual host web: shop.example, \*.shop.example" || it_fail "http routes does not list the virtual host: $(it_ctl http routes)"
it_ctl http routes shop | grep -q "api .*prefix /api/ GET,POST .*shop/web:80 90, shop/web-v2:80 10 rewrite / retries 2" || it_fail "http routes does not show the weighted route: $(it_ctl http routes shop)"
it_ctl --json http routes | "$IT_PY" -c 'import json,sys; r=json.load(sys.stdin); assert r["regexes"] == 1 and r["regexes_interpreted"] == 0, r; v=r["route_configs"][0]["virtual_hosts"]; assert [x["name"] for x in v] == ["web", "fallback"], v; assert [x["name"] for x in v[0]["routes"]] == ["canary", "api", "old", "health", "debug"], v' || it_fail "http routes --json has the wrong shape"
out=$(it_ctl http routes nope 2>&1) && it_fail "http routes nope succeeded"
grep -q "no route config named 'nope'" <<<"$out" || it_fail "http routes nope: $out"

it_log "http route-test picks the routes the config says"
# route_is CONFIG HOST PATH [METHOD] [-H ...] -- EXPECTED-ROUTE-NAME
route_is() {
	local want=${*: -1} got
	got=$(it_ctl --json http route-test "${@:1:$#-1}" | "$IT_PY" -c 'import json,sys; r=json.load(sys.stdin); print((r["route"] or {}).get("name", "-"))')
	[ "$got" = "$want" ] || it_fail "route-test ${*:1:$#-1}: route $got, expected $want"
}
route_is shop shop.example /api/users api
route_is shop SHOP.example:8080 /api/users POST api
route_is shop a.shop.example /api/users DELETE -
route_is shop shop.example /api/users -H x-canary:1 canary
route_is shop shop.example /api/users -H "X-Canary: 2" api
route_is shop shop.example /old old
route_is shop shop.example /v2/health health
route_is shop shop.example "/x?debug" debug
route_is shop shop.example /x -
route_is shop other.example / root
route_is shop other.example /x -
it_ctl http route-test shop shop.example /api/users | grep -q "^upstream path /users" || it_fail "route-test does not show the rewritten path"
it_ctl http route-test shop shop.example:8080 "/old?a=1" | grep -q "^location      https://shop.example/new?a=1" || it_fail "route-test does not show the redirect: $(it_ctl http route-test shop shop.example:8080 '/old?a=1')"
it_ctl http route-test shop other.example /x | grep -q "no route: 404" || it_fail "route-test does not say 404"
out=$(it_ctl http route-test shop 2>&1) && it_fail "route-test without HOST PATH succeeded"
grep -q "http route-test needs CONFIG HOST PATH" <<<"$out" || it_fail "route-test usage: $out"
out=$(it_ctl http route-test nope h / 2>&1) && it_fail "route-test of an unknown config succeeded"
grep -q "no route config named 'nope'" <<<"$out" || it_fail "route-test nope: $out"

it_log "bad route configs are refused with their path; the running routes stay"
g0=$(gen)
check_refused() {
	local file=$1 needle=$2 out
	if out=$(it_ctl config apply "$IT_WORK/$file.json" 2>&1); then
		it_fail "config apply accepted $file"
	fi
	grep -qF -- "$needle" <<<"$out" || it_fail "apply $file: the error does not say '$needle': $out"
}
check_refused bad_regex '$.route_configs[0].virtual_hosts[0].routes[3].match.regex: expected a regular expression PCRE2 compiles, got "^/v[0-9+/health$" (missing terminating ] for character class at offset 16)'
check_refused bad_weights '$.route_configs[0].virtual_hosts[0].routes[1].weighted_clusters: expected weights that sum to 100 (total_weight), got 110'
check_refused bad_domain 'expected domains unique across the virtual hosts, got "shop.example"'
check_refused bad_cluster '$.route_configs[0].virtual_hosts[0].routes[0].cluster: expected the name or "<namespace>/<name>" of a service in $.services, got "nope"'
[ "$(gen)" -eq "$g0" ] || it_fail "a refused route config changed the generation"
route_is shop shop.example /api/users api

it_log "a route swap: the new routes are live at once"
it_ctl config apply "$IT_WORK/two.json" >/dev/null || it_fail "the second route config was refused"
route_is shop shop.example /api/users maint
it_ctl http route-test shop shop.example /api/users | grep -q "^status        503" || it_fail "route-test does not show the direct response's status"
route_is shop other.example / root
it_ctl config rollback >/dev/null || it_fail "rollback failed"
route_is shop shop.example /api/users api

it_stop_meshdp
it_log "PASS"
