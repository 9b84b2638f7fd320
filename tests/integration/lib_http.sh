# The HTTP listener tests (source after lib.sh and lib_l4.sh): the L4 topology of
# lib_l4.sh (nginx backends b1, b2, b3 answering their name) behind the http
# listeners of tests/data/http-proxy.json (port 8080, route config "main").

IT_L4_CONFIG=$IT_ROOT/tests/data/http-proxy.json
IT_HTTP_PROXY=http://10.10.1.1:8080

# it_http_diag: the non-zero HTTP, proxy, drop and router counters (on stderr).
it_http_diag() { it_ctl stats | grep -v " 0$" | grep -E "http_|proxy_|drop_|alloc|router" >&2 || true; }

# it_http_fail MESSAGE: fail the test with the counters above.
it_http_fail()
{
	it_http_diag
	it_fail "$@"
}

# it_http_start: meshdp with the http listeners, the backends, shop/web healthy.
it_http_start()
{
	it_start_meshdp --config "$IT_L4_CONFIG"
	it_topology_backends
	it_wait_healthy shop/web
}
