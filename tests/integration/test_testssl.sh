#!/usr/bin/env bash
# testssl.sh (Debian's package) against a one-way TLS tcp_proxy listener
# (tests/data/testssl.json on the L4 topology of lib_l4.sh; an ECDSA P-256
# SPIFFE leaf from tools/certs.sh): protocols, cipher categories, forward
# secrecy, server preference, and the vulnerability checks (renegotiation among
# them), run from the client namespace, offline (no DNS, --ip), with
# --jsonfile. Fails on any finding of severity MEDIUM, HIGH or CRITICAL, and on
# a scan that did not reach the checks it is meant to make, printing the ids.
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/lib_l4.sh"
PKI=$IT_WORK/pki
PROXY=10.10.1.1
PORT=8443
command -v testssl >/dev/null || it_fail "testssl not installed (tools/deps.sh test)"
"$IT_ROOT/tools/certs.sh" "$PKI" >/dev/null
"$IT_ROOT/tools/certs.sh" "$PKI" leaf edge spiffe://cluster.local/ns/shop/sa/edge --server --dns edge.test >/dev/null
sed "s|@PKI@|$PKI|g" "$IT_ROOT/tests/data/testssl.json" >"$IT_WORK/testssl.json"

it_start_meshdp --config "$IT_WORK/testssl.json"
it_topology_backends
it_wait_healthy shop/web
it_in_client timeout 10 openssl s_client -connect "$PROXY:$PORT" -CAfile "$PKI/ca.pem" </dev/null 2>&1 |
	grep -q "Verify return code: 0 (ok)" || it_fail "the listener does not answer TLS"

# -p protocols, -s cipher categories, -f forward secrecy, -P server preference,
# -U vulnerabilities (heartbleed, CCS, ticketbleed, ROBOT, renegotiation (-R),
# CRIME, BREACH, POODLE, fallback SCSV, SWEET32, FREAK, DROWN, LOGJAM, BEAST,
# LUCKY13, RC4). --ip and --nodns none: no lookups; the system's openssl (the
# package's bundled one is not used); no colours, no questions.
# testssl probes its openssl's options with `s_client -connect invalid.`: with
# the host's resolver unreachable from the namespace each probe waits for DNS
# time-outs. A resolv.conf naming the namespace's own loopback (nothing listens:
# refused at once), bind-mounted in a mount namespace of testssl's own, makes
# every lookup fail fast.
echo "nameserver 127.0.0.1" >"$IT_WORK/resolv.conf"
it_log "testssl -p -s -f -P -U against $PROXY:$PORT"
start=$SECONDS
it_in_client unshare -m sh -c 'mount --bind "$1" /etc/resolv.conf && shift && exec "$@"' sh \
	"$IT_WORK/resolv.conf" timeout 300 testssl --quiet --color 0 --warnings off --nodns none --ip "$PROXY" \
	--openssl /usr/bin/openssl --connect-timeout 5 --openssl-timeout 5 \
	-p -s -f -P -U --jsonfile "$IT_WORK/testssl-out.json" "$PROXY:$PORT" >"$IT_WORK/testssl.txt" 2>&1 ||
	true # testssl's exit status counts findings of any severity: the JSON is judged below
it_log "testssl took $((SECONDS - start)) s"
[ -s "$IT_WORK/testssl-out.json" ] || it_fail "testssl wrote no JSON: $(tail -20 "$IT_WORK/testssl.txt")"

"$IT_PY" - "$IT_WORK/testssl-out.json" <<'PY' || { cat "$IT_WORK/testssl.txt" >&2; it_fail "testssl findings above LOW (above)"; }
import json, sys
findings = json.load(open(sys.argv[1]))
by_id = {f["id"]: f for f in findings}
bad = [f for f in findings if f["severity"] in ("MEDIUM", "HIGH", "CRITICAL")]
problems = [f for f in findings if f["id"] == "scanProblem" or f["severity"] == "FATAL"]
# The checks this test exists for must have run and said what they found.
wanted = ["SSLv2", "SSLv3", "TLS1", "TLS1_1", "TLS1_2", "TLS1_3", "cipherlist_NULL",
          "cipherlist_aNULL", "cipherlist_EXPORT", "cipherlist_3DES_IDEA", "PFS",
          "heartbleed", "CCS", "ticketbleed", "ROBOT", "secure_renego",
          "secure_client_renego", "CRIME_TLS", "POODLE_SSL", "fallback_SCSV", "SWEET32",
          "FREAK", "DROWN", "LOGJAM", "BEAST", "LUCKY13", "RC4"]
missing = [i for i in wanted if i not in by_id]
for f in bad + problems + [f for f in findings if f["severity"] == "WARN"]:
    print("  %-8s %-24s %s" % (f["severity"], f["id"], f["finding"]))
for i in missing:
    print("  missing  %s (the check did not run)" % i)
# What a listener of meshdp must offer and refuse, beyond severities.
expect = {"TLS1_3": "offered with final", "TLS1_2": "offered", "SSLv3": "not offered",
          "TLS1": "not offered", "TLS1_1": "not offered"}
for i, want in expect.items():
    got = by_id.get(i, {}).get("finding", "")
    if not got.startswith(want):
        print("  %-8s %-24s %s (expected: %s)" % ("WRONG", i, got, want))
        bad.append(i)
n = {}
for f in findings:
    n[f["severity"]] = n.get(f["severity"], 0) + 1
print("  %d findings by severity: %s" % (len(findings), ", ".join("%s %d" % kv for kv in sorted(n.items()))))
for i in ("secure_renego", "secure_client_renego", "TLS1_3", "PFS", "cipher_order"):
    if i in by_id:
        print("  %-24s %s" % (i, by_id[i]["finding"]))
sys.exit(1 if bad or problems or missing else 0)
PY
hs=$(it_stat tls_handshakes)
[ "$hs" -ge 10 ] || it_fail "tls_handshakes is $hs after testssl's scan"
it_log "counters: $(it_ctl stats | grep -E '^tls_' | grep -v ' 0$' | tr '\n' ' ')"
