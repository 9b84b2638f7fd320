#!/usr/bin/python3
# SPDX-License-Identifier: BSD-3-Clause
"""Writes the corpus of the h11 differential test (tests/unit/http_h11_diff.py):
NAME.req request streams, NAME.METHOD.resp response streams. Good messages of
every framing, the request smuggling cases, edge cases."""
import os

H = b"GET / HTTP/1.1\r\nHost: h\r\n"
P = b"POST /p HTTP/1.1\r\nHost: h\r\n"
CH = P + b"Transfer-Encoding: chunked\r\n\r\n"
G2 = b"GET /second HTTP/1.1\r\nHost: h\r\n\r\n"

C = {
    # good requests
    "get_simple.req": H + b"\r\n",
    "get_browser.req": b"GET /index.html?lang=en&x=%20y HTTP/1.1\r\nHost: www.example.com\r\n"
    b"User-Agent: Mozilla/5.0 (X11; Linux x86_64; rv:109.0) Gecko/20100101 Firefox/115.0\r\n"
    b"Accept: text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8\r\n"
    b"Accept-Language: en-US,en;q=0.5\r\nAccept-Encoding: gzip, deflate, br\r\n"
    b"Connection: keep-alive\r\nCookie: session=abc123; theme=dark\r\n"
    b"Upgrade-Insecure-Requests: 1\r\n\r\n",
    "get_ows.req": H + b"X-A:value\r\nX-B: \t spaced \t \r\nX-Empty:\r\nX-Inner: a  b\r\n\r\n",
    "get_obs_text.req": H + b"X-Latin: caf\xe9\r\n\r\n",
    "get_leading_crlf.req": b"\r\n" + H + b"\r\n",
    "get_absolute.req": b"GET http://a.example:8080/p/q?z=1 HTTP/1.1\r\nHost: a.example:8080\r\n\r\n",
    "options_asterisk.req": b"OPTIONS * HTTP/1.1\r\nHost: h\r\n\r\n",
    "method_other.req": b"PURGE /cache HTTP/1.1\r\nHost: h\r\n\r\n",
    "http10.req": b"GET / HTTP/1.0\r\n\r\n",
    "http12.req": b"GET / HTTP/1.2\r\nHost: h\r\n\r\n",
    "crlf_between_requests.req": P + b"Content-Length: 2\r\n\r\nok\r\n" + G2,
    "http10_keep_alive.req": b"GET / HTTP/1.0\r\nConnection: keep-alive\r\n\r\nGET /2 HTTP/1.0\r\n\r\n",
    "http11_close.req": H + b"Connection: close\r\n\r\n" + G2,
    "post_length.req": P + b"Content-Length: 11\r\n\r\nhello world",
    "post_length_zero.req": P + b"Content-Length: 0\r\n\r\n" + G2,
    "pipelined.req": P + b"Content-Length: 3\r\n\r\nabc" + G2 + H + b"\r\n",
    "chunked.req": CH + b"5\r\nhello\r\n6\r\n world\r\n0\r\n\r\n" + G2,
    "chunked_upper.req": P + b"Transfer-Encoding: CHUNKED\r\n\r\nA\r\n0123456789\r\n0\r\n\r\n",
    "chunked_ext.req": CH + b"5;name=value;flag\r\nhello\r\n3;q=\"a b\"\r\nabc\r\n0\r\n\r\n",
    "chunked_trailers.req": CH + b"3\r\nabc\r\n0\r\nX-Checksum: 99\r\nX-Other: y\r\n\r\n" + G2,
    "chunked_size_leading_zeros.req": CH + b"0005\r\nhello\r\n000\r\n\r\n",
    "chunked_size_ws.req": CH + b"5 \r\nhello\r\n0\r\n\r\n",
    "expect_100.req": b"PUT /f HTTP/1.1\r\nHost: h\r\nExpect: 100-continue\r\n"
    b"Content-Length: 4\r\n\r\ndata" + G2,
    "upgrade_websocket.req": b"GET /chat HTTP/1.1\r\nHost: h\r\nUpgrade: websocket\r\n"
    b"Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
    b"Sec-WebSocket-Version: 13\r\n\r\n",
    "connect.req": b"CONNECT db.example:5432 HTTP/1.1\r\nHost: db.example:5432\r\n\r\n",
    "many_headers.req": H + b"".join(b"X-%d: %d\r\n" % (i, i) for i in range(90)) + b"\r\n",
    "long_value.req": H + b"X-Long: " + b"v" * 8000 + b"\r\n\r\n",
    # smuggling and strictness: both refuse
    "cl_and_te.req": P + b"Content-Length: 4\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n",
    "te_and_cl.req": P + b"Transfer-Encoding: chunked\r\nContent-Length: 4\r\n\r\n0\r\n\r\n",
    "cl_duplicate_equal.req": P + b"Content-Length: 5\r\nContent-Length: 5\r\n\r\nhello",
    "cl_list_equal.req": P + b"Content-Length: 5, 5\r\n\r\nhello",
    "cl_duplicate_differ.req": P + b"Content-Length: 5\r\nContent-Length: 6\r\n\r\nhello!",
    "cl_plus.req": P + b"Content-Length: +5\r\n\r\nhello",
    "cl_negative.req": P + b"Content-Length: -1\r\n\r\n",
    "cl_hex.req": P + b"Content-Length: 0x5\r\n\r\nhello",
    "cl_space_inside.req": P + b"Content-Length: 1 2\r\n\r\n",
    "te_identity.req": P + b"Transfer-Encoding: identity\r\n\r\n",
    "te_chunked_identity.req": P + b"Transfer-Encoding: chunked, identity\r\n\r\n",
    "te_xchunked.req": P + b"Transfer-Encoding: xchunked\r\n\r\n",
    "te_comma_chunked.req": P + b"Transfer-Encoding: ,chunked\r\n\r\n",
    "te_gzip_chunked.req": P + b"Transfer-Encoding: gzip, chunked\r\n\r\n0\r\n\r\n",
    "te_twice.req": P + b"Transfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n",
    "te_trailing_space.req": P + b"Transfer-Encoding: chunked \r\n\r\n0\r\n\r\n",
    "te_ws_before_colon.req": P + b"Transfer-Encoding : chunked\r\n\r\n0\r\n\r\n",
    "te_vtab.req": P + b"Transfer-Encoding: \x0bchunked\r\n\r\n0\r\n\r\n",
    "te_http10.req": b"POST / HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n",
    "obs_fold.req": H + b"X-Folded: a\r\n b\r\n\r\n",
    "bare_lf_request_line.req": b"GET / HTTP/1.1\nHost: h\r\n\r\n",
    "bare_lf_header.req": H + b"X: y\n\r\n",
    "bare_cr.req": H + b"X: a\rb\r\n\r\n",
    "nul_in_value.req": H + b"X: a\x00b\r\n\r\n",
    "ctl_in_value.req": H + b"X: a\x01b\r\n\r\n",
    "del_in_value.req": H + b"X: a\x7fb\r\n\r\n",
    "ws_before_colon.req": H + b"X-Foo : bar\r\n\r\n",
    "empty_header_name.req": H + b": bar\r\n\r\n",
    "bad_header_name.req": H + b"X(y): z\r\n\r\n",
    "no_colon.req": H + b"NoColon\r\n\r\n",
    "request_line_double_space.req": b"GET  / HTTP/1.1\r\nHost: h\r\n\r\n",
    "request_line_trailing_space.req": b"GET / HTTP/1.1 \r\nHost: h\r\n\r\n",
    "http09.req": b"GET /\r\n\r\n",
    "bad_method.req": b"G(T / HTTP/1.1\r\nHost: h\r\n\r\n",
    "version_lower.req": b"GET / http/1.1\r\nHost: h\r\n\r\n",
    "version_2.req": b"GET / HTTP/2.0\r\nHost: h\r\n\r\n",
    "host_missing.req": b"GET / HTTP/1.1\r\n\r\n",
    "host_duplicate.req": H + b"Host: other\r\n\r\n",
    "host_space.req": b"GET / HTTP/1.1\r\nHost: a b\r\n\r\n",
    "host_slash.req": b"GET / HTTP/1.1\r\nHost: a/b\r\n\r\n",
    "target_fragment.req": b"GET /a#frag HTTP/1.1\r\nHost: h\r\n\r\n",
    "target_asterisk_get.req": b"GET * HTTP/1.1\r\nHost: h\r\n\r\n",
    "target_no_slash.req": b"GET index.html HTTP/1.1\r\nHost: h\r\n\r\n",
    "target_userinfo.req": b"GET http://user@h/ HTTP/1.1\r\nHost: h\r\n\r\n",
    "connect_origin_form.req": b"CONNECT /x HTTP/1.1\r\nHost: h\r\n\r\n",
    "chunk_size_bad.req": CH + b"zz\r\nhello\r\n0\r\n\r\n",
    "chunk_size_negative.req": CH + b"-5\r\nhello\r\n0\r\n\r\n",
    "chunk_size_huge.req": CH + b"1000000000000000\r\n",
    "chunk_size_overflow.req": CH + b"1000000000000000000000\r\n",
    "chunk_data_no_crlf.req": CH + b"5\r\nhelloXY0\r\n\r\n",
    "chunk_ext_empty.req": CH + b"5;\r\nhello\r\n0\r\n\r\n",
    "chunk_ext_bad_value.req": CH + b"5;a=\r\nhello\r\n0\r\n\r\n",
    "chunk_ext_ctl.req": CH + b"5;a\x01\r\nhello\r\n0\r\n\r\n",
    "chunk_bare_lf.req": CH + b"5\nhello\r\n0\r\n\r\n",
    "truncated_body.req": P + b"Content-Length: 10\r\n\r\nhello",
    "truncated_chunked.req": CH + b"5\r\nhel",
    "truncated_head.req": b"GET / HTTP/1.1\r\nHost: h\r\n",
    "head_too_large.req": H + b"".join(b"X-%d: %s\r\n" % (i, b"v" * 1000) for i in range(62)) + b"\r\n",
    # responses
    "resp_length.GET.resp": b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello"
    b"HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n",
    "resp_chunked.GET.resp": b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
    b"5;x=y\r\nhello\r\n0\r\nX-T: 1\r\n\r\n",
    "resp_close.GET.resp": b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n\r\nuntil the end",
    "resp_http10.GET.resp": b"HTTP/1.0 200 OK\r\nContent-Length: 2\r\n\r\nok",
    "resp_no_reason.GET.resp": b"HTTP/1.1 200\r\nContent-Length: 0\r\n\r\n"
    b"HTTP/1.1 500 \r\nContent-Length: 0\r\n\r\n",
    "resp_head.HEAD.resp": b"HTTP/1.1 200 OK\r\nContent-Length: 1000\r\n\r\n"
    b"HTTP/1.1 200 OK\r\nContent-Length: 7\r\n\r\n",
    "resp_204_304.GET.resp": b"HTTP/1.1 204 No Content\r\n\r\n"
    b"HTTP/1.1 304 Not Modified\r\nETag: \"x\"\r\n\r\n",
    "resp_100_continue.PUT.resp": b"HTTP/1.1 100 Continue\r\n\r\n"
    b"HTTP/1.1 201 Created\r\nContent-Length: 2\r\n\r\nok",
    "resp_upgrade.GET.resp": b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n"
    b"Connection: Upgrade\r\n\r\n\x81\x05hello",
    "resp_connect.CONNECT.resp": b"HTTP/1.1 200 Connection Established\r\n\r\nraw tunnel bytes",
    "resp_gzip_chunked.GET.resp": b"HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip, chunked\r\n\r\n"
    b"2\r\nzz\r\n0\r\n\r\n",
    "resp_gzip_close.GET.resp": b"HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip\r\n\r\nzz",
    "resp_status_600.GET.resp": b"HTTP/1.1 600 Odd\r\nContent-Length: 0\r\n\r\n",
    "resp_status_short.GET.resp": b"HTTP/1.1 20 OK\r\nContent-Length: 0\r\n\r\n",
    "resp_ctl_reason.GET.resp": b"HTTP/1.1 200 O\x00K\r\nContent-Length: 0\r\n\r\n",
    "resp_te_http10.GET.resp": b"HTTP/1.0 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n",
    "resp_cl_and_te.GET.resp": b"HTTP/1.1 200 OK\r\nContent-Length: 3\r\n"
    b"Transfer-Encoding: chunked\r\n\r\n0\r\n\r\n",
    "resp_leading_crlf.GET.resp": b"\r\nHTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n",
    "resp_obs_fold.GET.resp": b"HTTP/1.1 200 OK\r\nX: a\r\n b\r\nContent-Length: 0\r\n\r\n",
}


def main():
    here = os.path.dirname(os.path.abspath(__file__))
    for name, data in C.items():
        with open(os.path.join(here, name), "wb") as f:
            f.write(data)


if __name__ == "__main__":
    main()
