#!/usr/bin/env bash
# Request smuggling through the http listener (tests/data/http-proxy.json on the
# L4 topology, lib_http.sh): every case of issue 11's list, sent raw on its own
# connection by http_smuggle.py and followed by a smuggled GET /direct, is
# answered with the status http_error_status() gives its refusal, the connection
# closed, its own counter up by exactly one and no other refusal counter moved,
# a single response back (the smuggled request was never parsed: no direct
# response counted), and nothing sent to a backend; meanwhile another connection
# does keep-alive GET / that are all answered 200 by an nginx backend.
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/lib_l4.sh"
source "$(dirname "$0")/lib_http.sh"
SMUGGLE=$(dirname "$0")/http_smuggle.py

# case, status, the counter that names its refusal (http_counters.def; the
# CONNECT refusal is the listener's, not the codec's)
EXPECT="
cl_and_te 400 http_cl_and_te
te_and_cl 400 http_cl_and_te
cl_dup_equal 400 http_dup_content_length
cl_dup_differ 400 http_dup_content_length
cl_list 400 http_dup_content_length
cl_non_numeric 400 http_bad_content_length
cl_plus 400 http_bad_content_length
cl_negative 400 http_bad_content_length
cl_overlong 400 http_bad_content_length
te_trailing_space 400 http_bad_transfer_encoding
te_xchunked 501 http_unsupported_transfer_coding
te_chunked_identity 400 http_bad_transfer_encoding
te_twice 400 http_bad_transfer_encoding
chunk_size_overflow 400 http_bad_chunk_size
chunk_size_0x 400 http_bad_chunk_size
chunk_size_negative 400 http_bad_chunk_size
chunk_size_missing 400 http_bad_chunk_size
chunk_ext_bad 400 http_bad_chunk_ext
obs_fold 400 http_obs_fold
bare_cr 400 http_bare_cr
bare_lf 400 http_bare_lf
ws_before_colon 400 http_ws_before_colon
nul_in_value 400 http_ctl_char
ctl_in_value 400 http_ctl_char
nul_in_target 400 http_bad_target
ctl_in_target 400 http_bad_target
start_line_too_long 414 http_uri_too_long
head_too_large 431 http_head_too_large
too_many_headers 431 http_too_many_headers
version_2 505 http_unsupported_version
host_missing 400 http_bad_host
host_twice 400 http_bad_host
connect 405 http_connect_refused
"
# the counters a case may move: every refusal of the codec, the listener's
# refusals and local answers (the keep-alive GETs move none of them)
WATCH="$(sed -n 's/^HTTP_ERR([A-Z_0-9]*, \([a-z_0-9]*\),.*/\1/p' "$IT_ROOT/dataplane/http/http_counters.def")
http_bad_requests http_connect_refused http_local_responses http_direct_responses http_no_route"

it_http_start

[ "$(awk 'NF { print $1 }' <<<"$EXPECT")" = "$("$IT_PY" "$SMUGGLE" list)" ] ||
	it_fail "the expectations here and the cases of http_smuggle.py differ"

it_log "$(grep -c . <<<"$EXPECT") smuggling cases, each on its own connection, keep-alive GETs on another"
upstream=$(it_stat http_upstream_rq)
it_in_client "$IT_PY" "$SMUGGLE" run 10.10.1.1 8080 "$IT_MESHCTL --socket $IT_SOCK --json stats" \
	$WATCH >"$IT_WORK/results" || it_http_fail "http_smuggle.py failed"
upstream=$(($(it_stat http_upstream_rq) - upstream))
while read -r name status counter; do
	[ -n "$name" ] || continue
	r=$(jq -c "select(.case == \"$name\")" "$IT_WORK/results")
	echo "    $r"
	want=$(jq -cnS --arg c "$counter" '{($c): 1, http_local_responses: 1}
		+ if $c == "http_connect_refused" then {} else {http_bad_requests: 1} end')
	[ "$(jq .status <<<"$r")" = "$status" ] || it_http_fail "$name: status, want $status: $r"
	[ "$(jq .closed <<<"$r")" = true ] || it_http_fail "$name: the connection stayed open: $r"
	[ "$(jq .responses <<<"$r")" = 1 ] || it_http_fail "$name: the smuggled request was answered: $r"
	[ "$(jq -cS .counters <<<"$r")" = "$want" ] || it_http_fail "$name: counters, want $want: $r"
done <<<"$EXPECT"

ka=$(jq -c 'select(.keepalive) | .keepalive' "$IT_WORK/results")
echo "    keep-alive: $ka; upstream requests $upstream"
[ "$(jq .requests <<<"$ka")" -ge 10 ] || it_http_fail "too few keep-alive GETs: $ka"
[ "$(jq .after_cases <<<"$ka")" -ge 1 ] || it_http_fail "the keep-alive connection not served after the cases: $ka"
[ "$(jq .ok <<<"$ka")" = "$(jq .requests <<<"$ka")" ] || it_http_fail "a keep-alive GET failed: $ka"
[ "$upstream" = "$(jq .ok <<<"$ka")" ] ||
	it_http_fail "upstream requests $upstream, the keep-alive GETs $(jq .ok <<<"$ka"): a case reached a backend"

it_stop_meshdp
echo "PASS"
