#!/usr/bin/python3
# SPDX-License-Identifier: BSD-3-Clause
"""Differential test of meshdp's HTTP/1.1 parser against Python's h11.

Usage: http_h11_diff.py HTTP_DUMP CORPUS_DIR

Every file of CORPUS_DIR is a byte stream: NAME.req holds requests (parsed as
a server), NAME.METHOD.resp responses to requests of METHOD (parsed as a
client; "upgrade" in NAME: the requests offer an Upgrade). HTTP_DUMP
(tests/unit/http_dump.c) prints meshdp's verdict on each; h11 parses the same
bytes. Compared, message by message: the method, target, version, status,
reason, the headers (names as received, values), the body, keep-alive, and in
the end whether the stream is refused and in which message. Where h11 stops
reading (the connection must close, or switches protocols) the comparison
stops too.

KNOWN lists the intended disagreements: meshdp's refusal (None: it accepts)
and the reason. Nearly all are places where meshdp is stricter than h11 (RFC
9110 / 9112 allow or require it, and the leniency is a request-smuggling or
header-injection risk behind a proxy). Any other disagreement fails the test,
and so does a KNOWN entry whose refusal is another, or that no longer
disagrees (the list stays true).
"""
import json
import os
import subprocess
import sys

try:
    import h11
except ImportError:
    sys.exit("http_h11_diff: Python's h11 is missing (tools/deps.sh installs python3-h11)")

LIMIT = 60 * 1024  # meshdp's default head limit; h11's is 16 KiB

STRICT = "meshdp refuses, h11 accepts: "
KNOWN = {
    # line endings and bytes
    "bare_lf_request_line.req": ("http_bare_lf",
        STRICT + "a bare LF ends a line (RFC 9112 2.2 lets a recipient accept it; a proxy must "
        "not, another hop may split lines differently)"),
    "bare_lf_header.req": ("http_bare_lf",
        STRICT + "a bare LF ends a header line (RFC 9112 2.2)"),
    "ctl_in_value.req": ("http_ctl_char",
        STRICT + "a control byte (0x01) in a field value: not field-vchar (RFC 9110 5.5); h11 only "
        "refuses NUL and whitespace controls"),
    "del_in_value.req": ("http_ctl_char",
        STRICT + "DEL (0x7f) in a field value (RFC 9110 5.5)"),
    "obs_fold.req": ("http_obs_fold",
        STRICT + "obs-fold: h11 unfolds it, RFC 9112 5.2 lets a server refuse with 400, and a "
        "proxy must not forward it"),
    # framing
    "cl_and_te.req": ("http_cl_and_te",
        STRICT + "Content-Length with Transfer-Encoding: h11 lets chunked win, RFC 9112 6.3 point "
        "3 says such a message ought to be handled as an error (smuggling)"),
    "te_and_cl.req": ("http_cl_and_te",
        STRICT + "Transfer-Encoding with Content-Length (the other order)"),
    "cl_duplicate_equal.req": ("http_dup_content_length",
        STRICT + "two equal Content-Length lines: h11 merges them, RFC 9112 6.3 point 5 allows "
        "refusing any list"),
    "cl_list_equal.req": ("http_dup_content_length",
        STRICT + "Content-Length: 5, 5 (the same, as a list)"),
    "te_http10.req": ("http_te_in_http10",
        STRICT + "Transfer-Encoding in HTTP/1.0: RFC 9112 6.1 says the framing is faulty"),
    "te_trailing_space.req": ("http_bad_transfer_encoding",
        STRICT + "'chunked ' with a trailing space: obfuscation that other hops read differently "
        "(OWS is legal, refusing it is safer)"),
    "chunk_ext_empty.req": ("http_bad_chunk_ext",
        STRICT + "'5;' an empty chunk-ext name (RFC 9112 7.1.1 grammar); h11 accepts anything "
        "after ';'"),
    "chunk_ext_bad_value.req": ("http_bad_chunk_ext",
        STRICT + "'5;a=' an empty chunk-ext value (RFC 9112 7.1.1)"),
    "chunk_ext_ctl.req": ("http_bad_chunk_ext",
        STRICT + "a control byte in a chunk extension (RFC 9112 7.1.1)"),
    "head_too_large.req": ("http_head_too_large",
        STRICT + "a head of 62 KiB: h11 applies its size limit only to a head still incomplete, "
        "meshdp to every head (431)"),
    "resp_obs_fold.GET.resp": ("http_obs_fold",
        STRICT + "obs-fold in a response (RFC 9112 5.2: a user agent may unfold it, a proxy must "
        "not forward it)"),
    "get_leading_crlf.req": (None,
        "h11 refuses, meshdp accepts: an empty line before the request line, which RFC "
        "9112 2.2 says a server SHOULD ignore (a client's stray CRLF after a body)"),
    # targets, versions, Host
    "target_fragment.req": ("http_bad_target",
        STRICT + "'#' in the request target: RFC 9112 3.2 has no fragment"),
    "target_asterisk_get.req": ("http_bad_target",
        STRICT + "'*' with GET: asterisk-form is for OPTIONS only (RFC 9112 3.2.4)"),
    "target_no_slash.req": ("http_bad_target",
        STRICT + "a target in none of the four forms of RFC 9112 3.2"),
    "target_userinfo.req": ("http_bad_target",
        STRICT + "userinfo in an absolute-form target (RFC 9110 4.2.4: a recipient should treat it "
        "as an error)"),
    "connect_origin_form.req": ("http_bad_target",
        STRICT + "CONNECT with an origin-form target (RFC 9112 3.2.3: authority-form only)"),
    "version_2.req": ("http_unsupported_version",
        STRICT + "HTTP/2.0 on an HTTP/1 connection: 505 (RFC 9110 15.6.6), h11 accepts any "
        "DIGIT.DIGIT"),
    "host_space.req": ("http_bad_host",
        STRICT + "a Host with a space: not uri-host [':' port] (RFC 9110 7.2)"),
    "host_slash.req": ("http_bad_host",
        STRICT + "a Host with '/': not uri-host [':' port] (RFC 9110 7.2)"),
    "resp_status_600.GET.resp": ("http_bad_status_line",
        STRICT + "status 600: RFC 9110 15 defines 100-599; h11 takes up to 999"),
    "resp_te_http10.GET.resp": ("http_te_in_http10",
        STRICT + "Transfer-Encoding in an HTTP/1.0 response (RFC 9112 6.1)"),
    "resp_cl_and_te.GET.resp": ("http_cl_and_te",
        STRICT + "Content-Length with Transfer-Encoding in a response"),
    "crlf_between_requests.req": (None,
        "h11 refuses, meshdp accepts: a CRLF after a body, before the next request line "
        "(RFC 9112 2.2: a server SHOULD ignore it; clients that end a POST body with CRLF "
        "exist)"),
    "http12.req": (None,
        "meshdp reports HTTP/1.2 as 1.1, the version it is handled as (RFC 9112 2.3: a "
        "higher minor version is treated as the highest known); h11 reports it as it came"),
    # persistence
    "http10_keep_alive.req": (None,
        "h11 never keeps HTTP/1.0 connections alive; meshdp honours 'Connection: keep- "
        "alive' (RFC 9112 9.3), so it reads the second request h11 ignores"),
    # transfer codings in responses
    "resp_gzip_chunked.GET.resp": (None,
        "h11 supports no transfer coding but chunked; meshdp forwards 'gzip, chunked' "
        "response bodies (chunked last: RFC 9112 6.3 point 4)"),
    "resp_gzip_close.GET.resp": (None,
        "h11 supports no transfer coding but chunked; meshdp reads a response whose last "
        "coding is not chunked until close (RFC 9112 6.3 point 4)"),
}


def lat(b):
    return b.decode("latin-1")


def h11_requests(data):
    """h11 as a server: (messages, outcome) where outcome is None, 'stop' or the error."""
    conn = h11.Connection(h11.SERVER, max_incomplete_event_size=LIMIT)
    conn.receive_data(data)
    conn.receive_data(b"")
    msgs, cur = [], None
    try:
        while True:
            ev = conn.next_event()
            if ev is h11.NEED_DATA or isinstance(ev, h11.ConnectionClosed):
                return msgs, None
            if ev is h11.PAUSED:
                return msgs, "stop"
            if isinstance(ev, h11.Request):
                cur = {"method": lat(ev.method), "target": lat(ev.target),
                       "version": lat(ev.http_version),
                       "headers": [[lat(n), lat(v)] for n, v in ev.headers.raw_items()],
                       "body": b"", "done": False}
                msgs.append(cur)
            elif isinstance(ev, h11.Data):
                cur["body"] += ev.data
            elif isinstance(ev, h11.EndOfMessage):
                cur["done"] = True
                if conn.their_state is h11.MIGHT_SWITCH_PROTOCOL:
                    return msgs, "stop"
                cur["keep_alive"] = conn.their_state is h11.DONE
                if conn.their_state is not h11.DONE:
                    return msgs, "stop"
                conn.send(h11.Response(status_code=200, headers=[("Content-Length", "0")]))
                conn.send(h11.EndOfMessage())
                conn.start_next_cycle()
    except h11.RemoteProtocolError as e:
        return msgs, "error: %s" % e


def h11_responses(data, method, upgrade):
    """h11 as a client whose requests use METHOD."""
    conn = h11.Connection(h11.CLIENT, max_incomplete_event_size=LIMIT)

    def request():
        headers = [("Host", "h")]
        if upgrade:
            headers += [("Connection", "upgrade"), ("Upgrade", "websocket")]
        target = "h:443" if method == "CONNECT" else "/"
        conn.send(h11.Request(method=method, target=target, headers=headers))
        conn.send(h11.EndOfMessage())

    request()
    conn.receive_data(data)
    conn.receive_data(b"")
    msgs, cur = [], None
    try:
        while True:
            ev = conn.next_event()
            if ev is h11.NEED_DATA or isinstance(ev, h11.ConnectionClosed):
                return msgs, None
            if ev is h11.PAUSED:
                # switched protocols: the rest is the tunnel's
                cur["body"] = conn.trailing_data[0]
                cur["done"] = True
                return msgs, "stop"
            if isinstance(ev, (h11.InformationalResponse, h11.Response)):
                cur = {"status": ev.status_code, "reason": lat(ev.reason),
                       "version": lat(ev.http_version),
                       "headers": [[lat(n), lat(v)] for n, v in ev.headers.raw_items()],
                       "body": b"", "done": isinstance(ev, h11.InformationalResponse)}
                msgs.append(cur)
            elif isinstance(ev, h11.Data):
                cur["body"] += ev.data
            elif isinstance(ev, h11.EndOfMessage):
                cur["done"] = True
                cur["keep_alive"] = conn.their_state is h11.DONE
                if conn.their_state is not h11.DONE:
                    return msgs, "stop"
                conn.start_next_cycle()
                if not conn.trailing_data[0]:
                    return msgs, None
                request()
    except h11.RemoteProtocolError as e:
        return msgs, "error: %s" % e


def norm(headers):
    """h11 keeps Transfer-Encoding's value lowercased"""
    return [[n, v.lower() if n.lower() == "transfer-encoding" else v] for n, v in headers]


def compare(ours, theirs, outcome, is_request):
    """The first difference as a string, or None."""
    om = ours["messages"]
    # where meshdp's refusal lies: in the body of its last message, or in a next head
    err_at = None
    if ours["error"]:
        err_at = len(om) - 1 if om and om[-1].get("body") is None else len(om)
    fields = ["method", "target", "version"] if is_request else ["status", "reason", "version"]
    for i, t in enumerate(theirs):
        if i >= len(om):
            return "message %d: h11 parsed it, meshdp did not (%s)" % (i, ours["error"])
        o = om[i]
        for f in fields:
            if o[f] != t[f]:
                return "message %d: %s %r vs h11 %r" % (i, f, o[f], t[f])
        if norm(o["headers"]) != norm(t["headers"]):
            return "message %d: headers %r vs h11 %r" % (i, o["headers"], t["headers"])
        if t["done"]:
            if err_at == i:
                return "message %d: meshdp refused its body (%s), h11 took %r" % (
                    i, ours["error"], t["body"])
            if o["body"].encode("latin-1") != t["body"]:
                return "message %d: body %r vs h11 %r" % (i, o["body"], t["body"])
            # (a body until close or a tunnel ends the connection whatever h11 says)
            if ("keep_alive" in t and o["framing"] not in ("close", "tunnel")
                    and o["keep_alive"] != t["keep_alive"]):
                return "message %d: keep-alive %s vs h11 %s" % (i, o["keep_alive"],
                                                               t["keep_alive"])
    if outcome and outcome.startswith("error"):
        # h11 refused in message len(theirs) - 1 (if it was not done) or in a next head
        h_at = len(theirs) - 1 if theirs and not theirs[-1]["done"] else len(theirs)
        if err_at is None:
            return "h11 refused (%s) in message %d, meshdp accepted" % (outcome, h_at)
        if err_at != h_at:
            return "refused in message %d (%s), h11 in %d (%s)" % (err_at, ours["error"], h_at,
                                                                  outcome)
        return None
    if outcome == "stop":
        return None  # h11 reads no further: meshdp's later messages are not compared
    if err_at is not None:
        return "meshdp refused (%s) in message %d, h11 accepted" % (ours["error"], err_at)
    if len(om) != len(theirs):
        return "%d messages vs h11 %d" % (len(om), len(theirs))
    return None


def main():
    dump, corpus = sys.argv[1], sys.argv[2]
    names = sorted(n for n in os.listdir(corpus) if n.endswith((".req", ".resp")))
    if not names:
        sys.exit("http_h11_diff: no corpus in %s" % corpus)
    args = []
    for n in names:
        path = os.path.join(corpus, n)
        if n.endswith(".req"):
            args.append("req:" + path)
        else:
            args.append("resp:%s:%s" % (n.split(".")[-2], path))
    out = subprocess.run([dump] + args, check=True, capture_output=True, text=True).stdout
    verdicts = {}
    for line in out.splitlines():
        path, js = line.split("\t", 1)
        verdicts[os.path.basename(path)] = json.loads(js)
    failures = 0
    for n in names:
        with open(os.path.join(corpus, n), "rb") as f:
            data = f.read()
        if n.endswith(".req"):
            theirs, outcome = h11_requests(data)
        else:
            theirs, outcome = h11_responses(data, n.split(".")[-2], "upgrade" in n)
        ours = verdicts[n]
        diff = compare(ours, theirs, outcome, n.endswith(".req"))
        if diff and n not in KNOWN:
            print("FAIL %s: %s" % (n, diff))
            failures += 1
        elif diff and ours["error"] != KNOWN[n][0]:
            print("FAIL %s: a known disagreement, but meshdp's verdict is %s, not %s (%s)" % (
                n, ours["error"], KNOWN[n][0], diff))
            failures += 1
        elif not diff and n in KNOWN:
            print("FAIL %s: listed as a known disagreement but both agree (%s)" % (
                n, ours["error"]))
            failures += 1
        else:
            print("ok   %s%s" % (n, " (known: %s)" % diff if diff else ""))
    for n in KNOWN:
        if n not in verdicts:
            print("FAIL %s: listed as a known disagreement but not in the corpus" % n)
            failures += 1
    print("%d files, %d known disagreements, %d failures" % (len(names), len(KNOWN), failures))
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
