#!/usr/bin/env bash
# TLS handshakes per busy CPU-second of meshdp's server side, with no port in
# the way, as a fraction of the `openssl speed` bound measured in the same run
# (issue 10 point 8; scenario (s) runs over TAP, whose kernel path bounds it).
#
#   bench/tlshs.sh [BUILD]        # BUILD: a meson build dir (default build)
#
# For each row (ECDSA P-256 / RSA-2048, one-way / mTLS, TLS 1.3):
# meshdp-tlshs (bench/tlshs.c: two of the daemon's TCP stacks and TLS workers
# in-process, the server's cycles counted apart) pinned to HS_CORE for HS_N
# handshakes, then the same under callgrind for HS_CG_N handshakes with only
# the server's side collected (--toggle-collect=hs_server_step): instructions
# per handshake, split by object (libcrypto, libssl, libc, meshdp and DPDK)
# and by what OpenSSL does (inclusive: key share generation, X25519/ECDH
# derivation, HKDF, signing, verification, the session ticket). Handshakes
# per CPU-second are the server's thread CPU time (CLOCK_THREAD_CPUTIME_ID, as
# `openssl speed` counts user CPU time), beside its TSC cycles (what a
# worker's busy accounting counts, preemption on a shared core included).
# `openssl speed -seconds HS_SPEED ecdsap256 rsa2048 ecdhx25519` on HS_CORE
# first; the bound is bench/report.py's s_bound() (1 / (1/sign + 1/X25519
# [+ 2/verify with mTLS])). Writes OUT/<time>-hs.json and .md.
# Knobs: HS_CORE (1), HS_N (3000), HS_CG_N (100), HS_SPEED (3), HS_CALLGRIND (1), OUT.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
build=${1:-$root/build}
bin=$build/bench/meshdp-tlshs
[ -x "$bin" ] || { echo "tlshs.sh: no $bin (ninja -C $build)" >&2; exit 1; }
HS_CORE=${HS_CORE:-1} HS_N=${HS_N:-3000} HS_CG_N=${HS_CG_N:-100} HS_SPEED=${HS_SPEED:-3}
HS_CALLGRIND=${HS_CALLGRIND:-1}
out=${OUT:-$root/bench/results}
run=$(mktemp -d /tmp/meshdp-tlshs.XXXXXX)
stamp=$(date -u +%Y-%m-%dT%H%M%SZ)
mkdir -p "$out"
eal=(--no-huge -m 512 -l 0 --no-pci --log-level=error --file-prefix "tlshs$$")

for alg in ecdsa rsa; do
	td=cluster.local opt=()
	[ $alg = ecdsa ] || { td=rsa.local opt=(--trust-domain rsa.local --rsa); }
	"$root/tools/certs.sh" "$run/$alg" "${opt[@]}" >/dev/null
	"$root/tools/certs.sh" "$run/$alg" leaf server "spiffe://$td/ns/bench/sa/web" --server >/dev/null
	"$root/tools/certs.sh" "$run/$alg" leaf client "spiffe://$td/ns/bench/sa/client" --client >/dev/null
	echo "$td" >"$run/$alg.td"
done
echo "tlshs: openssl speed on core $HS_CORE" >&2
taskset -c "$HS_CORE" openssl speed -seconds "$HS_SPEED" ecdsap256 rsa2048 ecdhx25519 \
	>"$run/speed.txt" 2>/dev/null
for alg in ecdsa rsa; do
	for m in tls mtls; do
		row=$alg-$m
		flag=()
		[ $m = tls ] || flag=(--mtls)
		echo "tlshs: $row" >&2
		taskset -c "$HS_CORE" "$bin" "${eal[@]}" -- --pki "$run/$alg" --td "$(cat "$run/$alg.td")" \
			"${flag[@]}" --n "$HS_N" >"$run/$row.json"
		[ "$HS_CALLGRIND" = 1 ] || continue
		valgrind --tool=callgrind --callgrind-out-file="$run/$row.cg" --toggle-collect=hs_server_step \
			"$bin" "${eal[@]}" -- --pki "$run/$alg" --td "$(cat "$run/$alg.td")" "${flag[@]}" \
			--n "$HS_CG_N" >/dev/null 2>"$run/$row.cg.err"
		callgrind_annotate --auto=no --threshold=100 "$run/$row.cg" >"$run/$row.cg.txt" 2>/dev/null
		callgrind_annotate --auto=no --inclusive=yes "$run/$row.cg" >"$run/$row.cgi.txt" 2>/dev/null
	done
done

"${PYTHON:-python3}" - "$run" "$out/$stamp-hs" "$HS_N" "$HS_CG_N" "$root/bench" <<'PY'
import json, os, re, sys
run, base, n, cg_n, benchdir = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4]), sys.argv[5]
sys.path.insert(0, benchdir)
import report  # s_speed(), s_bound(): the same bound as scenario (s)

speed = report.s_speed(os.path.join(run, "speed.txt"))
names = {"ecdsa": "ECDSA P-256", "rsa": "RSA-2048", "tls": "one-way", "mtls": "mTLS"}
rows = []
for alg in ("ecdsa", "rsa"):
    for m in ("tls", "mtls"):
        r = json.load(open(os.path.join(run, "%s-%s.json" % (alg, m))))
        r.update(row="%s-%s" % (alg, m), name="%s, %s, 1.3" % (names[alg], names[m]),
                 bound=report.s_bound(speed, alg, m == "mtls"))
        r["fraction"] = r["server_hs_per_thread_cpu_s"] / r["bound"] if r["bound"] else None
        r["tsc_fraction"] = r["server_hs_per_cpu_s"] / r["bound"] if r["bound"] else None
        cg = os.path.join(run, "%s-%s.cg.txt" % (alg, m))
        if os.path.exists(cg):
            by = {"libcrypto": 0, "libssl": 0, "libc": 0, "meshdp + DPDK": 0, "other": 0}
            for line in open(cg):
                mm = re.match(r"\s*([\d,]+) \([ \d.]+%\)\s+(.*)$", line)
                if not mm or "PROGRAM TOTALS" in line:
                    continue
                ir, what = int(mm.group(1).replace(",", "")), mm.group(2)
                obj = re.search(r"\[([^\]]+)\]\s*$", what)
                obj = obj.group(1) if obj else "meshdp-tlshs"
                k = ("libcrypto" if "libcrypto" in obj else "libssl" if "libssl" in obj
                     else "libc" if "libc.so" in obj else
                     "meshdp + DPDK" if "meshdp" in obj or "librte" in obj else "other")
                by[k] += ir
            tot = sum(by.values())
            ops = {"key share (EVP_PKEY_generate)": ["EVP_PKEY_generate"],
                   "ECDH (EVP_PKEY_derive)": ["EVP_PKEY_derive"],
                   "HKDF (EVP_KDF_derive)": ["EVP_KDF_derive"],
                   "sign (EVP_DigestSign)": ["EVP_DigestSign"],
                   "verify (EVP_DigestVerify, X509_verify_cert)": ["EVP_DigestVerify", "X509_verify_cert"],
                   "ticket (i2d_SSL_SESSION, EVP_MAC_*)": ["i2d_SSL_SESSION", "EVP_MAC_init", "EVP_MAC_final", "EVP_MAC_CTX_set_params"]}
            inc = {}
            for line in open(os.path.join(run, "%s-%s.cgi.txt" % (alg, m))):
                mm = re.match(r"\s*([\d,]+) \([ \d.]+%\)\s+\S*?:(\w+) \[", line)
                if mm:
                    inc[mm.group(2)] = max(inc.get(mm.group(2), 0), int(mm.group(1).replace(",", "")))
            r["callgrind"] = {"handshakes": cg_n, "ir_per_hs": tot / cg_n,
                              "split": {k: v / tot for k, v in by.items()} if tot else {},
                              "ops": {k: sum(inc.get(f, 0) for f in fs) / tot for k, fs in ops.items()} if tot else {}}
        rows.append(r)
res = {"speed": speed, "rows": rows}
json.dump(res, open(base + ".json", "w"), indent=1)
L = ["# TLS handshakes, meshdp's server side without a port (bench/tlshs.sh)", "",
     "openssl speed on the same core: ECDSA P-256 sign %.0f/s, verify %.0f/s; RSA-2048 sign %.0f/s, "
     "verify %.0f/s; X25519 %.0f/s. Bound = 1 / (1/sign + 1/X25519 [+ 2/verify with mTLS])." % (
         speed.get("ecdsa_sign", 0), speed.get("ecdsa_verify", 0), speed.get("rsa_sign", 0),
         speed.get("rsa_verify", 0), speed.get("x25519", 0)), "",
     "| row | bound/s | server CPU us per hs | server hs per CPU-s | / bound | TSC us per hs "
     "| hs per TSC-s / bound | callgrind Ir per hs | libcrypto | libssl | libc | meshdp + DPDK |",
     "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|"]
for r in rows:
    c = r.get("callgrind", {})
    s = c.get("split", {})
    pct = lambda k: "%.1f %%" % (100 * s[k]) if k in s else "-"
    L.append("| %s | %s | %.1f | %.0f | %s | %.1f | %s | %s | %s | %s | %s | %s |" % (
        r["name"], "%.0f" % r["bound"] if r["bound"] else "-", r["server_thread_cpu_us_per_hs"],
        r["server_hs_per_thread_cpu_s"], "%.2f" % r["fraction"] if r["fraction"] else "-",
        r["server_us_per_hs"], "%.2f" % r["tsc_fraction"] if r["tsc_fraction"] else "-",
        "{:,.0f}".format(c["ir_per_hs"]) if c else "-", pct("libcrypto"), pct("libssl"),
        pct("libc"), pct("meshdp + DPDK")))
L += ["", "Where the server's instructions go, inclusive (callgrind, share of the row's total):", ""]
opnames = list(rows[0].get("callgrind", {}).get("ops", {}))
if opnames:
    L.append("| row | " + " | ".join(opnames) + " |")
    L.append("|---|" + "---:|" * len(opnames))
    for r in rows:
        o = r["callgrind"]["ops"]
        L.append("| %s | %s |" % (r["name"], " | ".join("%.1f %%" % (100 * o[k]) for k in opnames)))
open(base + ".md", "w").write("\n".join(L) + "\n")
print("\n".join(L))
PY
echo "tlshs: $out/$stamp-hs.md (logs in $run)" >&2
