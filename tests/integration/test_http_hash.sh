#!/usr/bin/env bash
# A cluster's balancer for HTTP requests (tests/data/http-hash.json, the L4
# topology of lib_l4.sh: nginx on b1..b3 answers its name): hash_policy on a
# Maglev service sends every request with the same x-user header, or the same
# "session" cookie, to one backend, each on a connection of its own (so the
# 5-tuple changes and the header decides); without them the connections
# spread; when a user's backend dies the others keep theirs. lb_policy
# least_request (power of two choices) spreads over all three.
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/lib_l4.sh"
IT_L4_CONFIG=$IT_ROOT/tests/data/http-hash.json
PROXY=http://10.10.1.1:8080

diag() { it_ctl stats | grep -v " 0$" | grep -E "http_|proxy_|drop_|l4_" >&2 || true; }
fail() { diag; it_fail "$@"; }
# backends URL [CURL ARGS]: 100 requests, each on its own connection; prints
# "COUNT NAME" per backend that answered
backends()
{
	local url=$1
	shift
	it_in_client curl -s -m 30 -H "connection: close" "$@" "$url?[1-100]" | cut -d' ' -f1 |
		sort | uniq -c | sed 's/^ *//' || true
}
# one_backend LABEL OUT: OUT must be "100 bN"; sets B to bN
one_backend()
{
	[[ "$2" =~ ^100\ b[123]$ ]] || fail "$1: not 100 requests on one backend: $(echo $2)"
	B=${2#100 }
}

it_start_meshdp --config "$IT_L4_CONFIG"
it_topology_backends
trap it_l4_cleanup EXIT
it_wait_healthy shop/web

it_log "100 requests with x-user: alice, each on a new connection, reach one backend"
one_backend alice "$(backends "$PROXY/" -H "x-user: alice")"
alice=$B
echo "    alice -> $alice"
it_log "the same with x-user: bob"
one_backend bob "$(backends "$PROXY/" -H "x-user: bob")"
bob=$B
echo "    bob -> $bob"

it_log "the cookie session=alice (in a second cookie pair) reaches alice's backend: the value is hashed"
one_backend cookie "$(backends "$PROXY/" -H "cookie: theme=dark; session=alice")"
out=$B
[ "$out" = "$alice" ] || fail "cookie session=alice went to $out, x-user alice to $alice"
it_log "the x-user header comes first in the hash_policy: x-user bob with the cookie alice goes to bob's"
one_backend both "$(backends "$PROXY/" -H "x-user: bob" -H "cookie: session=alice")"
out=$B
[ "$out" = "$bob" ] || fail "x-user bob + cookie alice went to $out, bob's is $bob"

it_log "ten users spread over more than one backend"
users=$(for u in 1 2 3 4 5 6 7 8 9 10; do
	it_in_client curl -s -m 5 -H "x-user: user$u" "$PROXY/" | cut -d' ' -f1
done | sort -u | wc -l)
[ "$users" -ge 2 ] || fail "ten users all on one backend"
echo "    $users backends"

it_log "without the header or the cookie, 100 connections spread (Maglev by 5-tuple)"
out=$(backends "$PROXY/")
echo "    $(echo $out)"
[ "$(wc -l <<<"$out")" -eq 3 ] || fail "100 connections without a hash header: $(echo $out)"

it_log "least_request (power of two choices): 100 requests over all three backends"
out=$(backends "$PROXY/lr/")
echo "    $(echo $out)"
[ "$(wc -l <<<"$out")" -eq 3 ] || fail "least_request: $(echo $out)"
[ "$(awk '{s += $1} END {print s}' <<<"$out")" -eq 100 ] || fail "least_request: not 100 answers: $(echo $out)"

it_log "alice's backend ($alice) dies: alice moves to one other backend, bob ($bob) keeps his"
kill "$(cat "$IT_WORK/$alice/nginx.pid")"
addr=10.10.2.1${alice#b}
it_wait_for "$alice ($addr) unusable" 20 it_endpoints_are shop/web "$addr" 'not e["usable"]'
sleep 0.3 # the Maglev table follows within 100 ms
one_backend "alice after" "$(backends "$PROXY/" -H "x-user: alice")"
moved=$B
[ "$moved" != "$alice" ] || fail "alice still on the dead $alice"
echo "    alice -> $moved"
if [ "$bob" != "$alice" ]; then
	one_backend "bob after" "$(backends "$PROXY/" -H "x-user: bob")"
	out=$B
	[ "$out" = "$bob" ] || fail "bob moved from $bob to $out when $alice died"
fi

diag
it_stop_meshdp
echo "PASS"
