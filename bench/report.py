#!/usr/bin/env python3
"""Turn one bench/run.sh run directory into OUT/<tag>.md and OUT/<tag>.json.

Inputs in the run directory: <scenario>-<size>.json (meshdp-gen --json at max
rate), <scenario>-lat.json (64 bytes at the latency rate), and for meshdp
<scenario>-<size>-s1.txt / -s2.txt (a timestamp line, then `meshctl --json
stats`), taken inside the generator's measured window. (d): d-64.json and its
samples; (e): e-64.json, e-swaps.json, e-status-before/after.json, e-before.txt
and e-after.txt; (f): f.json (meshdp-flowscale); (p): p-annotate.txt
(callgrind_annotate of meshdp's worker on scenario (c) traffic); (t): t.json
(meshdp-tcpscale); (m): m-meshdp-<test>.json (meshdp-httpgen --json), its
-s1/-s2.txt samples, m-callgrind-*.txt; (x): x-<target>-<test>.txt (wrk) or .json (iperf3 -J),
x-<target>-<test>.cpu (two lines: time, machine busy and total jiffies, the
proxy's CPU jiffies) and for meshdp x-meshdp-<test>-s1/s2.txt.
"""
import re
import argparse
import json
import statistics
import os
import platform
import shutil
import subprocess
import tempfile

NAMES = {
    "a": "testpmd io (baseline)",
    "b": "meshdp L3 forwarding",
    "c": "meshdp L4: policy + flow table + Maglev + full-NAT",
    "d": "meshdp L4: new TCP flows (SYN) through a DNAT VIP",
    "e": "meshdp L4: config swaps under (c) traffic at max rate",
    "f": "flow-table scale (meshdp-flowscale)",
    "p": "callgrind profile of meshdp's worker on (c) traffic",
    "t": "TCP connection scale (meshdp-tcpscale)",
    "x": "tcp_proxy vs the kernel (socat, HAProxy, forwarding)",
    "s": "TLS: handshakes/s vs openssl speed and nginx, bulk, idle bytes",
    "h": "HTTP/1.1 proxying: meshdp's http listener vs nginx and HAProxy",
    "2": "HTTP/2 proxying: meshdp's http listener vs nginx and nghttpx (h2load)",
    "m": "the HTTP/1.1 proxy alone: clients and backend on meshdp's TCP stack over memif",
}
# Issue 11, point 8.
HTTP_TARGETS = {
    "busy_us_per_request": 4.5,  # meshdp's busy CPU per proxied request
}
MEMIF_MODES = {
    "copy": "MEMIF=copy: the server under test (testpmd or meshdp) is the memif server and "
            "copies every frame between the shared memory and its mbufs, the generator is the "
            "client",
    "zero-copy": "MEMIF=zero-copy: the server under test (testpmd or meshdp) is a zero-copy "
                 "memif client (its mbufs are the shared memory; it copies nothing), the "
                 "generator is the server and copies; the server under test is started anew "
                 "for each generator run",
}
# Issue 5, point 6.
TCP_TARGETS = {
    "t_bytes_per_conn": 1024,  # per idle established connection, one side, without buffers
    "t_conns": 1000000,        # concurrent connections within this machine's memory
}
X_NAMES = {
    "meshdp": "meshdp tcp_proxy (TAP)",
    "socat": "socat fork (veth)",
    "haproxy": "HAProxy mode tcp, 1 thread (veth)",
    "fwd": "kernel forwarding, no proxy (veth)",
}
# Issue 4, point 5.
TARGETS = {
    "c_ratio": 0.5,          # (c) RX Mpps / (a) RX Mpps, 64 bytes, one worker core
    "c_mpps": 8.0,           # (c) 64-byte Mpps per worker core, where the substrate allows
    "d_new_per_s": 1e6,      # (d) new flows per second per worker
    "e_loss": 0,             # (e) frames lost
    "f_bytes_per_flow": 128,  # (f)
}


def load(path):
    try:
        with open(path) as f:
            return json.load(f)
    except (OSError, ValueError):
        return None


def sample(path):
    """(time_s, counters) from a meshctl sample file, or None."""
    try:
        with open(path) as f:
            first, rest = f.read().split("\n", 1)
        return float(first), json.loads(rest)["counters"]
    except (OSError, ValueError, KeyError):
        return None


def counter_delta(s1, s2):
    return {k: s2[1].get(k, 0) - s1[1].get(k, 0) for k in s2[1]}


def meshdp_window(run, name, hz):
    s1 = sample(os.path.join(run, "%s-s1.txt" % name))
    s2 = sample(os.path.join(run, "%s-s2.txt" % name))
    if not s1 or not s2 or s2[0] <= s1[0]:
        return None
    dt = s2[0] - s1[0]
    d = counter_delta(s1, s2)
    fwd = d.get("ipv4_forwarded", 0)
    loops = d.get("worker_loops", 0)
    out = {
        "seconds": round(dt, 3),
        "forwarded": fwd,
        "forwarded_mpps": round(fwd / dt / 1e6, 4),
        "worker_loops": loops,
        "frames_per_loop": round(d.get("rx_frames", 0) / loops, 2) if loops else None,
        "cycles_per_packet": round(dt * hz / fwd, 1) if fwd else None,
        "drops": {k: v for k, v in d.items() if k.startswith("drop_") and v},
        "l4_flows_new": d.get("l4_flows_new", 0),
        "l4_flows_new_per_s": round(d.get("l4_flows_new", 0) / dt),
        "l4_flows_expired": d.get("l4_flows_expired", 0),
    }
    return out


def fmt(v, spec):
    return "-" if v is None else format(v, spec)


def two_workers(run, res, hz):
    """The two-worker rows of (c) and (d) (run.sh scenario_two), beside the one-worker ones."""
    out = []
    sc = res["scenarios"]
    a64 = next((r for r in sc.get("a", {}).get("max_rate", []) if r["size"] == 64), None)
    c64 = next((r for r in sc.get("c", {}).get("max_rate", []) if r["size"] == 64), None)
    d1 = sc.get("d")
    for s in ("c", "d"):
        g = load(os.path.join(run, "%s2-64.json" % s))
        if not g:
            continue
        w = meshdp_window(run, "%s2-64" % s, g.get("tsc_hz") or hz or 1)
        s1 = sample(os.path.join(run, "%s2-64-s1.txt" % s))
        s2 = sample(os.path.join(run, "%s2-64-s2.txt" % s))
        d = counter_delta(s1, s2) if s1 and s2 else {}
        fwd = d.get("ipv4_forwarded", 0)
        r = {"scenario": s, "workers": 2, "gen": g, "meshdp_window": w,
             "handoff_out_per_frame": round(d.get("l4_handoff_out", 0) / fwd, 3) if fwd else None,
             "handoff_in_per_frame": round(d.get("l4_handoff_in", 0) / fwd, 3) if fwd else None}
        if s == "c":
            r["rx_mpps"] = g["rx_mpps"]
            one = c64["gen"]["rx_mpps"] if c64 else None
            r["ratio_to_one_worker"] = round(g["rx_mpps"] / one, 3) if one else None
            r["ratio_to_a"] = round(g["rx_mpps"] / a64["gen"]["rx_mpps"], 3) \
                if a64 and a64["gen"]["rx_mpps"] else None
            r["one_worker_cycles_per_frame"] = (c64.get("meshdp_window") or {}).get(
                "cycles_per_packet") if c64 else None
        else:
            r["new_flows_per_s"] = w["l4_flows_new_per_s"] if w else None
            one = d1["new_flows_per_s"] if d1 else None
            r["ratio_to_one_worker"] = round(r["new_flows_per_s"] / one, 3) \
                if one and r["new_flows_per_s"] else None
            r["cycles_per_new_flow"] = round(g["tsc_hz"] / r["new_flows_per_s"]) \
                if r["new_flows_per_s"] else None
            w1 = d1["meshdp_window"] if d1 else None
            r["one_worker_cycles_per_new_flow"] = round(g["tsc_hz"] / w1["l4_flows_new_per_s"]) \
                if w1 and w1["l4_flows_new_per_s"] else None
        out.append(r)
    return out


def two_section(res, L):
    rows = res["scenarios"].get("two_workers")
    if not rows:
        return
    L.append("")
    L.append("## Two workers on one core: what steering costs")
    L.append("")
    L.append("(c) and (d) at 64 bytes, max rate, again with two workers (lcores 1 and 2) "
             "time-sharing the server's core, so the per-core cost compares with the one-worker "
             "row on the same core budget. The generator has one memif queue pair, so every "
             "frame arrives on worker 1's queue and the frames of worker 2's flows are handed "
             "to it over its ring; testpmd with two queues needs a two-queue generator and is "
             "not run. Cycles = TSC Hz / (forwarded frames or new flows per second) of the one "
             "shared core.")
    L.append("")
    L.append("| scenario | rate (2 workers) | / 1 worker | / (a) | cycles per frame or new flow "
             "(1 worker -> 2) | hand-offs out / in per frame | frames per loop | drops |")
    L.append("|---|---:|---:|---:|---:|---:|---:|---|")
    for r in rows:
        w = r["meshdp_window"] or {}
        drops = ", ".join("%s %d" % kv for kv in (w.get("drops") or {}).items()) or "none"
        if r["scenario"] == "c":
            rate = "%.3f Mpps" % r["rx_mpps"]
            cyc = "%s -> %s" % (fmt(r["one_worker_cycles_per_frame"], ".0f"),
                                fmt(w.get("cycles_per_packet"), ".0f"))
        else:
            rate = "%s new/s" % fmt(r["new_flows_per_s"], ",")
            cyc = "%s -> %s" % (fmt(r["one_worker_cycles_per_new_flow"], ".0f"),
                                fmt(r["cycles_per_new_flow"], ".0f"))
        L.append("| (%s) | %s | %s | %s | %s | %s / %s | %s | %s |" % (
            r["scenario"], rate, fmt(r["ratio_to_one_worker"], ".3f"),
            fmt(r.get("ratio_to_a"), ".3f"), cyc, fmt(r["handoff_out_per_frame"], ".3f"),
            fmt(r["handoff_in_per_frame"], ".3f"), fmt(w.get("frames_per_loop"), ".1f"), drops))


def l4_sections(res, L, ran):
    """Markdown for (d), (e), (f), (p) and the targets of issue 4."""
    sc = res["scenarios"]
    T = TARGETS
    rows = []
    a64 = next((r for r in sc.get("a", {}).get("max_rate", []) if r["size"] == 64), None)
    c64 = next((r for r in sc.get("c", {}).get("max_rate", []) if r["size"] == 64), None)
    if c64:
        ratio = c64["gen"]["rx_mpps"] / a64["gen"]["rx_mpps"] if a64 and \
            a64["gen"]["rx_mpps"] else None
        rows.append(("(c) 64 B, %d flows: ratio to (a)" % sc["c"]["flows"],
                     fmt(ratio, ".3f"), ">= %.2f" % T["c_ratio"],
                     "met" if ratio is not None and ratio >= T["c_ratio"] else "MISSED"))
        mpps = c64["gen"]["rx_mpps"]
        rows.append(("(c) 64 B Mpps, one worker core, memif %s" % res["memif"], "%.3f" % mpps, ">= %.0f" % T["c_mpps"],
                     "met" if mpps >= T["c_mpps"] else
                     ("MISSED (substrate ceiling (a) is %.2f Mpps)" % a64["gen"]["rx_mpps"]
                      if a64 else "MISSED")))
    d = sc.get("d")
    if d:
        v = d["new_flows_per_s"]
        rows.append(("(d) new flows/s, one worker", fmt(v, ",.0f"), ">= 1,000,000",
                     "met" if v and v >= T["d_new_per_s"] else "MISSED"))
    e = sc.get("e")
    if e and e["gen"]:
        rows.append(("(e) frames lost during %s swaps" % e["swaps"].get("swaps"),
                     "%d (%.4f %%)" % (e["gen"]["lost"], e["gen"]["loss_ratio"] * 100), "0",
                     "met" if e["gen"]["lost"] == 0 else "MISSED"))
    f = sc.get("f")
    fruns = []
    if f and f["result"]:
        for size in f["result"].get("sizes", []):
            fruns += size.get("runs", [])
        for r in fruns:
            if r.get("created"):
                rows.append(("(f) bytes per flow at %s flows" % format(r["flows"], ","),
                             str(r["bytes_per_flow"]), "<= %d" % T["f_bytes_per_flow"],
                             "met" if r["bytes_per_flow"] <= T["f_bytes_per_flow"]
                             else "MISSED"))
    if rows:
        L.append("")
        L.append("## Targets (issue 4, point 5)")
        L.append("")
        L.append("| target | measured | wanted | |")
        L.append("|---|---:|---:|---|")
        for r in rows:
            L.append("| %s | %s | %s | %s |" % r)
    if d:
        g, w = d["gen"], d["meshdp_window"]
        L.append("")
        L.append("## (d) New flows per second")
        L.append("")
        L.append("`meshdp-gen --mode syn --flows %s`, 64-byte SYNs at the maximum rate to a "
                 "TCP VIP (Maglev, DNAT, 8 endpoints); every SYN a new 5-tuple (the flows are "
                 "cycled at most once). New flows/s = `l4_flows_new` delta between two "
                 "`meshctl --json stats` samples inside the window; SYNs forwarded = what "
                 "reached the generator's side-B port." % format(d["flows_cycled"], ","))
        L.append("")
        L.append("| new flows/s (meshdp) | SYNs forwarded/s (generator RX) | SYNs offered/s "
                 "(generator TX) | TX refused | cycles per new flow | frames per loop | "
                 "drops in window |")
        L.append("|---:|---:|---:|---:|---:|---:|---|")
        if g and w:
            drops = ", ".join("%s %d" % kv for kv in w["drops"].items()) or "none"
            L.append("| %s | %s | %s | %d | %s | %s | %s |" % (
                format(w["l4_flows_new_per_s"], ","), format(d["syns_forwarded_per_s"], ","),
                format(round(g["tx_mpps"] * 1e6), ","), g["tx_refused"],
                fmt(g["tsc_hz"] / w["l4_flows_new_per_s"] if w["l4_flows_new_per_s"]
                    else None, ".0f"), fmt(w["frames_per_loop"], ".1f"), drops))
        L.append("")
        L.append("Whole run (warm-up, window, drain): %s new flows; drops by reason: %s." % (
            d["whole_run_new_flows"],
            ", ".join("%s %d" % kv for kv in d["whole_run_drops"].items()) or "none"))
    if e:
        g = e["gen"] or {}
        sw = e["swaps"]
        L.append("")
        L.append("## (e) Config swaps under load")
        L.append("")
        L.append("%s `meshctl config apply` of two documents in turn (the second adds a service "
                 "and a policy and renames the node) while the generator sends (c) traffic "
                 "(64 bytes, max rate)." % sw.get("swaps"))
        L.append("")
        L.append("| swaps | refused | seconds for all | all inside the window | generation "
                 "before -> after (delta) | frames sent | lost | loss | RX Mpps | meshdp drops |")
        L.append("|---:|---:|---:|---|---|---:|---:|---:|---:|---|")
        L.append("| %s | %s | %s | %s | %s -> %s (%s) | %s | %s | %s | %s | %s |" % (
            sw.get("swaps"), sw.get("refused"), fmt(e["swap_seconds"], ".2f"),
            sw.get("all_inside_window"), e["generation_before"], e["generation_after"],
            e["generation_delta"], g.get("tx_packets"), g.get("lost"),
            "%.4f %%" % (g["loss_ratio"] * 100) if g else "-",
            fmt(g.get("rx_mpps"), ".3f"),
            ", ".join("%s %d" % kv for kv in e["meshdp_drops"].items()) or "none"))
    if f:
        r0 = f["result"] or {}
        L.append("")
        L.append("## (f) Flow-table scale")
        L.append("")
        L.append("`meshdp-flowscale` (bench/flowscale.c, linked with the daemon's library), "
                 "`--no-huge -m %s` (4 KB pages: lookups pay TLB misses hugepages would "
                 "avoid), one table per size, N IPv4 UDP flows inserted (two keys each), then "
                 "random existing keys and absent keys looked up with `flow_lookup_bulk` in "
                 "bursts of 32." % r0.get("mem_mb"))
        L.append("")
        L.append("| flows | bytes/flow | of which index | inserts/s | lookups/s (hits) | "
                 "cycles/lookup | lookups/s (misses) | cycles/miss |")
        L.append("|---:|---:|---:|---:|---:|---:|---:|---:|")
        for r in fruns:
            if not r.get("created"):
                L.append("| %s | did not fit: %s | | | | | | |" % (format(r["flows"], ","),
                                                                   r.get("error")))
                continue
            L.append("| %s | %d | %.0f | %s | %s | %.0f | %s | %.0f |" % (
                format(r["flows"], ","), r["bytes_per_flow"],
                r.get("index_bytes_per_flow", r.get("rte_hash_bytes_per_flow", 0)),
                format(round(r["inserts_per_s"]), ","), format(round(r["lookups_per_s"]), ","),
                r["lookup_cycles"], format(round(r["miss_lookups_per_s"]), ","),
                r["miss_lookup_cycles"]))
        L.append("")
        mem = next((r.get("mem_per_flow") for r in fruns if r.get("mem_per_flow")), None)
        if mem:
            L.append("Where the bytes go (per flow of capacity, 2 keys per flow): entry %.0f B, "
                     "keys %.0f B (two 16-byte IPv4 tuples), cuckoo index %.1f B (64-byte "
                     "buckets of 10 slots for 2 x capacity keys at 85 %% load), wheel links "
                     "%.0f B, IPv6 side array %.1f B (capacity / 64 flows of two 40-byte "
                     "keys)." % (mem["entries"], mem["keys"], mem["index"], mem["wheel"],
                                 mem["ipv6"]))
    p = sc.get("p")
    if p:
        L.append("")
        L.append("## (p) Where the cycles go: callgrind, meshdp worker on (c) traffic")
        L.append("")
        L.append("`valgrind --tool=callgrind --collect-atstart=no --toggle-collect=worker_main` "
                 "on meshdp (--no-huge, mesh config of (c)) while the generator sends 64-byte "
                 "UDP to the VIP over %s flows; instructions counted inside the worker's loop "
                 "only (callgrind_annotate, inclusive of nothing: self cost per function)."
                 % format(sc.get("c", {}).get("flows", 100000), ","))
        L.append("")
        cnt = p.get("meshdp_counters") or {}
        total = None
        for line in p["callgrind_annotate"].split("\n"):
            if "PROGRAM TOTALS" in line:
                total = int(line.split()[0].replace(",", ""))
        if total and cnt.get("rx_frames"):
            L.append("%s instructions in the worker for %s frames (%s loops, many of them "
                     "empty polls: valgrind slows meshdp ~50x, the generator waits): %.0f "
                     "instructions per frame, loop overhead included." % (
                         format(total, ","), format(cnt["rx_frames"], ","),
                         format(cnt.get("worker_loops", 0), ","), total / cnt["rx_frames"]))
            if p.get("steady_state"):
                L.append("")
                L.append("Steady state: callgrind's counters were zeroed (`callgrind_control -z`) "
                         "once every flow existed, and the frames are counted from that moment.")
            L.append("")
        L.append("Self cost per function:")
        L.append("")
        L.append("```")
        L.extend(p["callgrind_annotate"].rstrip().split("\n"))
        L.append("```")
        if p.get("callgrind_inclusive"):
            L.append("")
            L.append("Inclusive cost (the function and everything it calls):")
            L.append("")
            L.append("```")
            L.extend(p["callgrind_inclusive"].rstrip().split("\n"))
            L.append("```")


def wrk_parse(path):
    """Requests/s, latency percentiles (ms), errors of one wrk --latency output."""
    try:
        with open(path) as f:
            txt = f.read()
    except OSError:
        return None
    m = re.search(r"Requests/sec:\s+([\d.]+)", txt)
    if not m:
        return {"error": txt[-300:]}
    units = {"us": 1e-3, "ms": 1.0, "s": 1e3, "m": 6e4}
    lat = {}
    for p, v, u in re.findall(r"^\s+(50|75|90|99)%\s+([\d.]+)(us|ms|s|m)\s*$", txt, re.M):
        lat["p" + p] = float(v) * units[u]
    r = {"requests_per_s": float(m.group(1)), "latency_ms": lat}
    m = re.search(r"(\d+) requests in ([\d.]+)(\w+)", txt)
    if m:
        r["requests"] = int(m.group(1))
    m = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", txt)
    r["socket_errors"] = sum(int(x) for x in m.groups()) if m else 0
    m = re.search(r"Non-2xx or 3xx responses: (\d+)", txt)
    r["non_2xx"] = int(m.group(1)) if m else 0
    return r


def iperf_parse(path):
    d = load(path)
    if not d or "sum_received" not in d.get("end", {}):
        return {"error": (d or {}).get("error", "no result")}
    e = d["end"]
    return {"gbps": round(e["sum_received"]["bits_per_second"] / 1e9, 3),
            "retransmits": e.get("sum_sent", {}).get("retransmits"),
            "seconds": round(e["sum_received"].get("seconds", 0), 2)}


def cpu_parse(path):
    """Machine busy share (all CPUs) and the proxy's CPU seconds over a run."""
    try:
        with open(path) as f:
            a, b = [[float(x) for x in line.split()] for line in f.read().split("\n")[:2]]
    except (OSError, ValueError):
        return None
    tck = os.sysconf("SC_CLK_TCK")
    dt = b[0] - a[0]
    return {"seconds": round(dt, 2),
            "machine_busy_pct": round(100 * (b[1] - a[1]) / (b[2] - a[2]), 1) if b[2] > a[2]
            else None,
            "proxy_cpu_s": round((b[3] - a[3]) / tck, 2),
            "proxy_cpu_pct": round(100 * (b[3] - a[3]) / tck / dt, 1) if dt > 0 else None}


def x_collect(run, targets):
    out = {}
    for t in targets:
        r = {}
        for test in ("close", "keepalive", "up", "down"):
            base = os.path.join(run, "x-%s-%s" % (t, test))
            if test in ("close", "keepalive"):
                v = wrk_parse(base + ".txt")
            else:
                v = iperf_parse(base + ".json")
            if v is None:
                continue
            v["cpu"] = cpu_parse(base + ".cpu")
            if t == "meshdp":
                s1 = sample(base + "-s1.txt")
                s2 = sample(base + "-s2.txt")
                if s1 and s2:
                    d = counter_delta(s1, s2)
                    v["meshdp"] = {k: d.get(k, 0) for k in (
                        "proxy_sessions", "proxy_sessions_closed", "proxy_upstream_failed",
                        "tcp_retransmits", "tcp_conns_accepted", "tcp_time_wait_reused")}
                    v["meshdp"]["drops"] = {k: x for k, x in d.items()
                                            if k.startswith("drop_") and x}
            req = v.get("requests")
            cpu = v.get("cpu")
            if req and cpu and cpu["proxy_cpu_s"]:
                v["proxy_cpu_us_per_request"] = round(cpu["proxy_cpu_s"] * 1e6 / req, 1)
            r[test] = v
        if r:
            out[t] = r
    return out



def h_cpu_parse(path):
    """cpu_parse plus the backend's CPU seconds (h's .cpu files have one more column)."""
    r = cpu_parse(path)
    try:
        with open(path) as f:
            a, b = [[float(x) for x in line.split()] for line in f.read().split("\n")[:2]]
        r["backend_cpu_s"] = round((b[4] - a[4]) / os.sysconf("SC_CLK_TCK"), 2)
    except (OSError, ValueError, IndexError, TypeError):
        pass
    return r


def http_window(base):
    """meshdp's worker over an HTTP run, from BASE-s1.txt and BASE-s2.txt (counters
    sampled inside the load's window): requests, busy share, busy us per request
    (TSC Hz from the worker's busy + idle cycles, which account for every cycle),
    frames per request, drops. Shared by (h) and (m)."""
    s1, s2 = sample(base + "-s1.txt"), sample(base + "-s2.txt")
    if not s1 or not s2 or s2[0] <= s1[0]:
        return None
    d = counter_delta(s1, s2)
    busy, idle = d.get("worker_busy_cycles", 0), d.get("worker_idle_cycles", 0)
    hz = (busy + idle) / (s2[0] - s1[0])
    m = {k: d.get(k, 0) for k in (
        "http_requests", "http_responses_2xx", "http_pool_connects",
        "http_pool_reused", "tcp_retransmits", "worker_busy_cycles",
        "worker_idle_cycles", "worker_idle_sleeps", "rx_frames", "tx_frames")}
    m["seconds"] = round(s2[0] - s1[0], 3)
    m["tsc_ghz"] = round(hz / 1e9, 3)
    m["busy_pct"] = round(100 * busy / (busy + idle), 2) if busy + idle else None
    m["drops"] = {k: x for k, x in d.items() if k.startswith("drop_") and x}
    if m["http_requests"]:
        m["requests_per_s"] = round(m["http_requests"] / m["seconds"])
        m["busy_us_per_request"] = round(busy / hz * 1e6 / m["http_requests"], 2)
        m["frames_per_request"] = round(
            (m["rx_frames"] + m["tx_frames"]) / m["http_requests"], 1)
    return m


def http_table(L, R, tests, cols):
    """The per target and test table of an HTTP scenario: R[target][test] holds
    requests_per_s, latency_ms {p50, p99}, socket_errors, non_2xx and meshdp's
    window (http_window); TESTS is [(test, label)], COLS the scenario's own
    columns after the latency ones, [(header, f(v) -> text)]. A latency row
    (test "lat") shows its rate as a share of the "tiny" row's too."""
    L.append("| target | load | requests/s | p50 ms | p99 ms | "
             + " | ".join(h for h, _ in cols) + " | errors |")
    L.append("|---|---|---:|---:|---:|" + "---:|" * len(cols) + "---:|")
    for t, r in R.items():
        for test, label in tests:
            v = r.get(test)
            if not v or "requests_per_s" not in v:
                continue
            lat = v.get("latency_ms", {})
            rate = "%.0f" % v["requests_per_s"]
            if test == "lat" and r.get("tiny", {}).get("requests_per_s"):
                rate += " (%.2f)" % (v["requests_per_s"] / r["tiny"]["requests_per_s"])
            L.append("| %s | %s | %s | %s | %s | %s | %d |"
                     % (t, label, rate, fmt(lat.get("p50"), ".3f"), fmt(lat.get("p99"), ".3f"),
                        " | ".join(f(v) for _, f in cols),
                        v.get("socket_errors", 0) + v.get("non_2xx", 0)))


def http_workers(L, R):
    """meshdp's worker per window of an HTTP scenario, one line per run."""
    L.append("")
    L.append("meshdp's worker per window (busy share of its cycles, frames per request, drops):")
    L.append("")
    for t, r in R.items():
        for test, v in r.items():
            m = v.get("meshdp")
            if m:
                L.append("* %s %s: busy %s %% of %s GHz, %s us/request, %s frames/request, "
                         "pool connects %s, retransmits %s, drops %s" % (
                             t, test, m["busy_pct"], m["tsc_ghz"],
                             m.get("busy_us_per_request"), m.get("frames_per_request"),
                             m["http_pool_connects"], m["tcp_retransmits"], m["drops"] or "none"))


def http_per_request(v, base):
    """An HTTP run's CPU per request (the proxy's and the backend's, from /proc,
    over v["requests"]) and meshdp's window, into V. Shared by (h) and (2)."""
    req = v.get("requests")
    cpu = v.get("cpu") or {}
    if req and cpu.get("proxy_cpu_s"):
        v["proc_cpu_us_per_request"] = round(cpu["proxy_cpu_s"] * 1e6 / req, 1)
    if req and cpu.get("backend_cpu_s"):
        v["backend_cpu_us_per_request"] = round(cpu["backend_cpu_s"] * 1e6 / req, 1)
    m = http_window(base)
    if m:
        v["meshdp"] = m


def h_collect(run, targets):
    """Per target and test (tiny, 10k, lat): wrk's figures, CPU per request from
    /proc, and for meshdp its busy cycles per request (TSC Hz from the worker's
    busy + idle cycles over the window, which account for every cycle)."""
    out = {}
    for t in targets:
        r = {}
        for test in ("idle", "tiny", "10k", "lat"):
            base = os.path.join(run, "h-%s-%s" % (t, test))
            v = {} if test == "idle" else wrk_parse(base + ".txt")
            if v is None:
                continue
            if test != "idle":
                v["cpu"] = h_cpu_parse(base + ".cpu")
            http_per_request(v, base)
            if v:
                r[test] = v
        if r:
            out[t] = r
    return out


def h_section(res, L):
    h = res["scenarios"]["h"]
    R = h["results"]
    L.append("")
    L.append("## (h) %s" % h["name"])
    L.append("")
    L.append("wrk -t 1 -d %s s, keep-alive, -c %s (/ is a 19-byte body, /10k 10,240 bytes) and "
             "-c %s for the latency row (a closed loop: its rate is what %s connections "
             "give, shown as a share of the -c %s rate); one nginx backend. CPU per request: "
             "/proc utime+stime of the proxy (meshdp: the whole process, idle polls and "
             "sleeps' wake-ups included) and, for meshdp, its worker's busy cycles. "
             "Versions: %s." % (h["duration"], h["conns"], h["lat_conns"], h["lat_conns"],
                                h["conns"], "; ".join(h.get("versions", []))))
    L.append("")
    http_table(L, R, (("tiny", "19 B"), ("10k", "10 KB"), ("lat", "19 B, -c %s" % h["lat_conns"])),
               (("proxy CPU us/req (/proc)", lambda v: fmt(v.get("proc_cpu_us_per_request"), ".1f")),
                ("meshdp busy us/req",
                 lambda v: fmt(v.get("meshdp", {}).get("busy_us_per_request"), ".1f")),
                ("backend CPU us/req", lambda v: fmt(v.get("backend_cpu_us_per_request"), ".1f"))))
    d = R.get("direct", {}).get("lat", {}).get("latency_ms", {})
    if d:
        L.append("")
        L.append("Added latency at -c %s (the target's p50 / p99 minus the backend's "
                 "directly, through the kernel forwarding namespace):" % h["lat_conns"])
        L.append("")
        for t, r in R.items():
            v = r.get("lat", {}).get("latency_ms", {})
            if t == "direct" or not v:
                continue
            L.append("* %s: p50 %+.0f us, p99 %+.0f us" % (
                t, (v.get("p50", 0) - d.get("p50", 0)) * 1e3, (v.get("p99", 0) - d.get("p99", 0)) * 1e3))
    http_workers(L, R)
    for t, lines in h.get("perf", {}).items():
        L.append("")
        L.append("perf (cpu-clock on the worker's core, -c %s tiny run), %s's worker thread, "
                 "share of its samples by object and symbol:" % (h["conns"], t))
        L.append("")
        L.append("```")
        L.extend(lines)
        L.append("```")
    for a in h.get("answers", []):
        if not a.startswith(("meshdp", "nginx", "haproxy", "direct")) or len(a.split()) < 2:
            L.append("* not answering: %s" % a)

def h2load_parse(path):
    """h2load's summary: requests/s, requests done / succeeded / failed, the
    mean time for a request (ms)."""
    v = {}
    try:
        with open(path) as f:
            text = f.read()
    except OSError:
        return None
    m = re.search(r"finished in ([\d.]+)s, ([\d.]+) req/s", text)
    if not m:
        return None
    v["seconds"], v["requests_per_s"] = float(m.group(1)), float(m.group(2))
    m = re.search(r"requests: (\d+) total, (\d+) started, (\d+) done, (\d+) succeeded, "
                  r"(\d+) failed, (\d+) errored", text)
    if m:
        v["requests"], v["succeeded"] = int(m.group(3)), int(m.group(4))
        v["errors"] = int(m.group(5)) + int(m.group(6))
    # status codes are counted as heads arrive, requests as they end: the
    # non-2xx are h2load's 3xx, 4xx and 5xx, not done minus 2xx
    m = re.search(r"status codes: \d+ 2xx, (\d+) 3xx, (\d+) 4xx, (\d+) 5xx", text)
    if m:
        v["non_2xx"] = int(m.group(1)) + int(m.group(2)) + int(m.group(3))
    m = re.search(r"time for request:\s+([\d.]+)(us|ms|s)\s+([\d.]+)(us|ms|s)\s+([\d.]+)(us|ms|s)",
                  text)
    if m:
        v["mean_ms"] = float(m.group(5)) * {"us": 1e-3, "ms": 1.0, "s": 1e3}[m.group(6)]
    return v


def h2_collect(run, targets):
    """(2) per target: h2load's figures, CPU per request (/proc, and meshdp's
    busy cycles), RSS growth per idle connection."""
    out = {}
    for t in targets:
        base = os.path.join(run, "2-" + t)
        v = h2load_parse(base + ".txt")
        if v is None:
            continue
        v["cpu"] = h_cpu_parse(base + ".cpu")
        http_per_request(v, base)
        idle = {}
        try:
            with open(base + "-idle.txt") as f:
                for line in f:
                    w = line.split()
                    if len(w) >= 2 and w[0] in ("rss_before_kb", "rss_held_kb"):
                        idle[w[0]] = int(w[1])
                    elif w and w[0] == "ready":
                        idle["held"], idle["failed"] = int(w[1]), int(w[3])
        except (OSError, ValueError, IndexError):
            pass
        if idle.get("held") and "rss_held_kb" in idle and "rss_before_kb" in idle:
            idle["bytes_per_conn"] = round(
                (idle["rss_held_kb"] - idle["rss_before_kb"]) * 1024 / idle["held"])
        v["idle"] = idle
        out[t] = v
    return out


def h2_section(res, L):
    h = res["scenarios"]["2"]
    R = h["results"]
    L.append("")
    L.append("## (2) %s" % h["name"])
    L.append("")
    L.append("h2load -t 1 -c %s -m %s -D %s s, h2c with prior knowledge, GET %s "
             "from (h)'s nginx backend, which each proxy reaches over HTTP/1.1 keep-alive; "
             "one worker each on the same core. CPU per request: /proc utime+stime of the "
             "proxy (meshdp: the whole process) and meshdp's worker's busy cycles. Idle: %s "
             "connections with the preface and SETTINGS exchanged, held open; the proxy's RSS "
             "growth per connection (meshdp's: its TCP connection's pages first touched plus "
             "nghttp2's session on the heap)." % (h["conns"], h["streams"], h["duration"],
                {"/": "/ (19 bytes)", "/10k": "/10k (10,240 bytes)"}.get(h.get("path", "/"),
                                                                        h.get("path")), h["idle"]))
    L.append("")
    L.append("| target | requests/s | mean ms | proxy CPU us/req (/proc) | meshdp busy us/req | "
             "backend CPU us/req | errors | idle bytes/conn |")
    L.append("|---|---:|---:|---:|---:|---:|---:|---:|")
    for t, v in R.items():
        L.append("| %s | %.0f | %s | %s | %s | %s | %d | %s |" % (
            t, v["requests_per_s"], fmt(v.get("mean_ms"), ".2f"),
            fmt(v.get("proc_cpu_us_per_request"), ".1f"),
            fmt(v.get("meshdp", {}).get("busy_us_per_request"), ".2f"),
            fmt(v.get("backend_cpu_us_per_request"), ".1f"),
            v.get("errors", 0) + v.get("non_2xx", 0), fmt(v["idle"].get("bytes_per_conn"), ".0f")))
    m = [t for t in R if t.startswith("meshdp")]
    if m:
        L.append("")
        for other in (t for t in R if not t.startswith("meshdp")):
            a, b = R[m[0]], R[other]
            parts = ["requests/s %.2f" % (a["requests_per_s"] / b["requests_per_s"])]
            if a.get("proc_cpu_us_per_request") and b.get("proc_cpu_us_per_request"):
                parts.append("CPU per request (/proc) %.2f" % (
                    a["proc_cpu_us_per_request"] / b["proc_cpu_us_per_request"]))
            L.append("* %s / %s: %s" % (m[0], other, ", ".join(parts)))
    http_workers(L, {t: {"h2load": v} for t, v in R.items()})
    for a in h.get("answers", []):
        if len(a.split()) < 2:
            L.append("* not answering: %s" % a)


def m_collect(run, telemetry, rounds, authz=()):
    """(m): meshdp-httpgen's figures per test (tiny: -c M_CONNS, lat: -c
    M_LAT_CONNS, telemetry-SETTING-ROUND: -c M_CONNS per word of TELEMETRY and
    round) in the shape http_table() reads, meshdp's window beside them (and
    its telemetry drops); the "all" runs' access log lines and spans received;
    and the callgrind run's instructions per request."""
    r = {}
    tel = ["telemetry-%s-%d" % (t, i) for i in range(1, rounds + 1) for t in telemetry]
    for test in ["tiny", "lat"] + tel:
        base = os.path.join(run, "m-meshdp-%s" % test)
        g = load(base + ".json")
        if not g:
            continue
        lat = g.get("latency_us", {})
        v = {"gen": g, "requests": g["requests"], "requests_per_s": g["requests_per_s"],
             "latency_ms": {k: lat[k] / 1e3 for k in ("p50", "p90", "p99", "p99_9") if k in lat},
             "socket_errors": g["closed"] + g["connect_failed"] + g["parse_errors"],
             "non_2xx": g["non_2xx"]}
        m = http_window(base)
        if m:
            s1, s2 = sample(base + "-s1.txt"), sample(base + "-s2.txt")
            d = counter_delta(s1, s2)
            m["telemetry_drops"] = {k: d.get(k, 0) for k in (
                "access_log_ring_full", "trace_span_ring_full", "telemetry_series_overflow")}
            v["meshdp"] = m
        r[test] = v
    for test in tel:
        try:
            with open(os.path.join(run, "m-meshdp-%s-out.txt" % test)) as f:
                lines, posts, nbytes, spans = (int(x) for x in f.read().split())
            r[test]["exported"] = {"access_log_lines": lines, "span_posts": posts,
                                   "span_bytes": nbytes, "spans": spans}
        except (OSError, ValueError, KeyError):
            pass
    out = {"results": {"meshdp": r} if r else {}}
    cg = m_callgrind_collect(run, "m-callgrind")
    if cg:
        out["callgrind"] = cg
    per = {t: m_callgrind_collect(run, "m-callgrind-%s" % t) if t != "default" else cg
           for t in telemetry}
    per = {t: v for t, v in per.items() if v}
    if per:
        out["callgrind_telemetry"] = per
    az = {n: m_callgrind_collect(run, "m-callgrind-authz%s" % n) for n in authz}
    az = {n: v for n, v in az.items() if v}
    if az:
        out["callgrind_authz"] = az
    return out


def m_callgrind_collect(run, name):
    """One callgrind run of (m) (files NAME*): meshdp's window, the dump's
    instructions per request, its annotations and telemetry drops."""
    cg = http_window(os.path.join(run, name))
    try:
        with open(os.path.join(run, name + "-annotate.txt")) as f:
            ann = f.read()
        with open(os.path.join(run, name + "-inclusive.txt")) as f:
            inc = f.read()
    except OSError:
        return None
    if not cg or not ann:
        return None
    m = re.search(r"^([\d,]+)\s.*PROGRAM TOTALS", ann, re.M)
    ir = int(m.group(1).replace(",", "")) if m else None
    d = counter_delta(sample(os.path.join(run, name + "-s1.txt")),
                      sample(os.path.join(run, name + "-s2.txt")))
    return {"meshdp": cg, "instructions": ir, "gen": load(os.path.join(run, name + ".json")),
            "instructions_per_request": round(ir / cg["http_requests"])
            if ir and cg.get("http_requests") else None,
            "telemetry_drops": {k: d.get(k, 0) for k in (
                "access_log_ring_full", "trace_span_ring_full", "telemetry_series_overflow")},
            "annotate": ann, "inclusive": inc}


def callgrind_inclusive(text, fn):
    """The inclusive count of function @fn in a callgrind_annotate --inclusive listing."""
    for line in (text or "").split("\n"):
        m = re.match(r"^\s*([\d,]+) \(\s*[\d.]+%\)\s+\S*:" + re.escape(fn) + r"\b", line)
        if m:
            return int(m.group(1).replace(",", ""))
    return None


def callgrind_per_request_of(c, fn):
    """Function @fn's inclusive instructions per request of callgrind run @c
    (m_callgrind_collect()), or None."""
    f, n = callgrind_inclusive(c["inclusive"], fn), c["meshdp"]["http_requests"]
    return f / n if f and n else None


def callgrind_per_request(text, n):
    """callgrind_annotate lines 'COUNT (PCT%)  FILE:FUNCTION [OBJECT]' as
    'PER-REQUEST  FUNCTION', skipping the thread-start frames above worker_main."""
    out = []
    for line in text.split("\n"):
        m = re.match(r"^\s*([\d,]+) \(\s*[\d.]+%\)\s+(\S+)", line)
        if not m or not n:
            continue
        fn = m.group(2).split(":", 1)[-1]
        if fn in ("clone", "start_thread", "PROGRAM") or fn.startswith("0x0000000000020f10"):
            continue
        out.append("%8d  %s" % (int(m.group(1).replace(",", "")) // n, fn))
    return out


def m_section(res, L):
    m = res["scenarios"]["m"]
    R = m["results"]
    L.append("")
    L.append("## (m) %s" % m["name"])
    L.append("")
    L.append("meshdp-httpgen on core %s: keep-alive clients (-c %s, then -c %s for the latency "
             "row), one request in flight per connection, `GET /` answered by its backend with "
             "a 19-byte body, clients and backend on meshdp's TCP stack in the generator's "
             "process, %s s per run after a warm-up; meshdp (one worker, h's document) between "
             "them on two memif ports. Latency: from the request's send to the response's "
             "last byte, in the generator."
             % (m.get("gen_core", "0"), m["conns"], m["lat_conns"], m["duration"]))
    L.append("")
    http_table(L, R, (("tiny", "-c %s" % m["conns"]), ("lat", "-c %s" % m["lat_conns"])),
               (("meshdp busy us/req",
                 lambda v: fmt(v.get("meshdp", {}).get("busy_us_per_request"), ".2f")),
                ("meshdp busy %", lambda v: fmt(v.get("meshdp", {}).get("busy_pct"), ".0f")),
                ("generator busy %",
                 lambda v: fmt(100 * v["gen"]["gen_busy_ratio"], ".0f") if v.get("gen") else "-"),
                ("retransmits (generator)",
                 lambda v: str(v["gen"]["tcp_retransmits"]) if v.get("gen") else "-")))
    http_workers(L, R)
    m_telemetry_table(m, L)
    m_callgrind_telemetry_table(m, L)
    m_callgrind_authz_table(m, L)
    busy = R.get("meshdp", {}).get("tiny", {}).get("meshdp", {}).get("busy_us_per_request")
    if busy is not None:
        t = HTTP_TARGETS["busy_us_per_request"]
        L.append("")
        L.append("Target (issue 11, point 8): busy CPU per proxied request <= %.1f us: "
                 "%.2f us at -c %s, %s." % (t, busy, m["conns"], "met" if busy <= t else "missed"))
    cg = m.get("callgrind")
    if cg:
        L.append("")
        L.append("callgrind (`--toggle-collect=worker_main`, counters zeroed when the "
                 "generator's window opened and dumped when it closed): %s instructions for "
                 "%s requests = **%s instructions per request** (%s req/s under valgrind)."
                 % (fmt(cg["instructions"], ","), fmt(cg["meshdp"]["http_requests"], ","),
                    fmt(cg["instructions_per_request"], ","),
                    fmt(cg["meshdp"].get("requests_per_s"), ",")))
        n = cg["meshdp"]["http_requests"]
        for what, key in (("inclusive", "inclusive"), ("self", "annotate")):
            L.append("")
            L.append("Instructions per request by function, %s (the dump's counts / %s requests; "
                     "worker_main's self count is mostly its empty polls, which depend on the "
                     "rate valgrind allows; net_input's inclusive count is the frames' work "
                     "without them):" % (what, fmt(n, ",")))
            L.append("")
            L.append("```")
            L.extend(callgrind_per_request(cg[key], n)[:36])
            L.append("```")


def m_callgrind_telemetry_table(m, L):
    """(m) instructions per request of meshdp's worker under callgrind, one run
    per telemetry setting, as a ratio to the "off" run's (else the first's)."""
    per = m.get("callgrind_telemetry") or {}
    rows = [(t, per[t]) for t in m.get("telemetry", []) if per.get(t, {}).get(
        "instructions_per_request")]
    if not rows:
        return
    L.append("")
    L.append("### Telemetry on vs off under callgrind (instructions per request of the worker, "
             "repeatable where busy cycles are not)")
    L.append("")
    L.append("The settings of the table above, one callgrind run each (-c %s, counters zeroed "
             "when the generator's window opened, dumped when it closed, worker_main's call "
             "tree only: the logger and exporter threads' work is not in it)." % m["conns"])
    L.append("")
    L.append("instructions/request counts the worker's empty polls too, which grow as valgrind "
             "slows the generator; net_input/request is the frames' work alone (net_input "
             "inclusive), the figure to compare.")
    L.append("")
    fr = {t: callgrind_per_request_of(c, "net_input") for t, c in rows}
    ref = fr.get("off") or fr[rows[0][0]]
    L.append("| telemetry | requests | instructions/request | net_input/request | ratio to %s | "
             "log ring full | span ring full |" % ("off" if fr.get("off") else rows[0][0]))
    L.append("|---|---:|---:|---:|---:|---:|---:|")
    for t, c in rows:
        d = c["telemetry_drops"]
        L.append("| %s | %s | %s | %s | %s | %d | %d |" % (
            t, fmt(c["meshdp"]["http_requests"], ","), fmt(c["instructions_per_request"], ","),
            fmt(fr[t], ",.0f"), fmt(fr[t] / ref, ".3f") if fr[t] and ref else "-",
            d["access_log_ring_full"], d["trace_span_ring_full"]))


def m_callgrind_authz_table(m, L):
    """(m) instructions per request of meshdp's worker under callgrind, one run
    per number of authorization rules (M_AUTHZ), beside the run without."""
    az = m.get("callgrind_authz") or {}
    rows = [(n, az[n]) for n in m.get("authz", []) if az.get(n, {}).get("instructions_per_request")]
    if not rows:
        return
    L.append("")
    L.append("### Authorization rules under callgrind (instructions per request of the worker)")
    L.append("")
    L.append("One callgrind run per rule count (-c %s): an allow policy of N rules for bench/web "
             "(rule i: source namespace n<i>, paths /r<i>/*; the last one allows the client's "
             "namespace on every path, so each request is decided by it) and a mesh deny policy "
             "(paths /admin*); 0: no authorization section. net_input/request is the frames' "
             "work alone (net_input inclusive): it moves from run to run with how many requests "
             "a poll batches under valgrind, so what authorization adds is authz_check/request "
             "(the decision, inclusive), here beside the request without it." % m["conns"])
    L.append("")
    fr = {n: callgrind_per_request_of(c, "net_input") for n, c in rows}
    ref = fr.get("0")
    L.append("| rules | requests | net_input/request | authz_check/request | authz_check / "
             "net_input of 0 rules |")
    L.append("|---:|---:|---:|---:|---:|")
    for n, c in rows:
        k, per = c["meshdp"]["http_requests"], callgrind_per_request_of(c, "authz_check")
        L.append("| %s | %s | %s | %s | %s |" % (
            n, fmt(k, ","), fmt(fr[n], ",.0f"), fmt(per, ",.0f"),
            fmt(per / ref, ".3f") if per and ref else "-"))


def m_telemetry_table(m, L):
    """(m) per telemetry setting (M_TELEMETRY): the median over the rounds of
    the -c M_CONNS figures and of meshdp's busy us per request (with the
    rounds' range), as a ratio to the "off" row's (else the first's)."""
    R = m["results"].get("meshdp", {})
    rows = []
    for t in m.get("telemetry", []):
        runs = [R[k] for k in ("telemetry-%s-%d" % (t, i) for i in range(1, m["rounds"] + 1))
                if R.get(k, {}).get("meshdp", {}).get("busy_us_per_request")]
        if runs:
            rows.append((t, runs))
    if not rows:
        return
    med = statistics.median
    busy = {t: med(v["meshdp"]["busy_us_per_request"] for v in runs) for t, runs in rows}
    low = {t: min(v["meshdp"]["busy_us_per_request"] for v in runs) for t, runs in rows}
    ref = "off" if "off" in busy else rows[0][0]
    L.append("")
    L.append("### Telemetry on vs off (M_TELEMETRY, -c %s, %d rounds, one meshdp a run)"
             % (m["conns"], m["rounds"]))
    L.append("")
    L.append("off: no access log, no tracing, `metrics.max_series` 16 (Istio's metrics are "
             "always recorded); default: no telemetry section (metrics, CLF lines for non-2xx "
             "only: none here); all: a JSON access log line for every request to a file and "
             "every request traced at 100 %, its span POSTed to a Zipkin sink on loopback. "
             "The logger and exporter threads and the sink run beside the generator on its "
             "core, not on the worker's: busy us/request is the worker's cost (at the rate "
             "the generator reached: a lower rate means fewer requests per poll). Medians "
             "over the rounds (settings interleaved), the busy range in brackets, ratios of "
             "the medians and of the minima (the least disturbed runs: the worker's busy "
             "cycles include time the kernel gave to another process on its core); drops "
             "summed over the rounds' windows.")
    L.append("")
    L.append("| telemetry | requests/s | p50 ms | p99 ms | meshdp busy us/req | ratio to %s | "
             "ratio of minima | log ring full | span ring full | errors |" % ref)
    L.append("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    for t, runs in rows:
        b = [v["meshdp"]["busy_us_per_request"] for v in runs]
        lat = lambda k: med(v.get("latency_ms", {}).get(k, 0) for v in runs)
        drop = lambda k: sum(v["meshdp"]["telemetry_drops"][k] for v in runs)
        L.append("| %s | %.0f | %.3f | %.3f | %.2f [%.2f-%.2f] | %.3f | %.3f | %d | %d | %d |" % (
            t, med(v["requests_per_s"] for v in runs), lat("p50"), lat("p99"), busy[t],
            min(b), max(b), busy[t] / busy[ref], low[t] / low[ref], drop("access_log_ring_full"),
            drop("trace_span_ring_full"),
            sum(v.get("socket_errors", 0) + v.get("non_2xx", 0) for v in runs)))
    for t, runs in rows:
        for i, v in enumerate(runs):
            e = v.get("exported")
            if e:
                L.append("")
                L.append("%s, round %d, over its whole run (warm-up included): %s access log "
                         "lines written, %s spans received by the sink in %s POSTs (%s bytes, "
                         "%s bytes a span)." % (
                             t, i + 1, fmt(e["access_log_lines"], ","), fmt(e["spans"], ","),
                             fmt(e["span_posts"], ","), fmt(e["span_bytes"], ","),
                             fmt(e["span_bytes"] / e["spans"] if e["spans"] else None, ".0f")))


def t_section(res, L):
    t = res["scenarios"]["t"]["result"] or {}
    T = TCP_TARGETS
    L.append("")
    L.append("## (t) TCP connection scale")
    L.append("")
    if not t.get("created"):
        L.append("Did not run to the end: %s" % t.get("error"))
        return
    hs = t["handshakes"]
    L.append("`meshdp-tcpscale --no-huge -m %s -- --conns %s --slack %s` (bench/tcpscale.c, "
             "linked with the daemon's library): two stacks of dataplane/tcp (client, server) "
             "of capacity %s each, joined in-process by a link that hands every segment to "
             "the other stack's `tcp_input()` at once; %s active opens from %d client "
             "addresses x %d ports to one listener, each handshake completed before the next; "
             "then %d s of simulated idle time (`tcp_timer()` every 1 ms on both stacks)."
             % (t.get("mem_mb"), format(t["conns"], ","), t["slack"],
                format(t["capacity"], ","), format(t["conns"], ","), t["client_addresses"],
                t["ports_per_address"], t["idle"]["seconds_simulated"]))
    L.append("")
    L.append("| side | established | heap bytes | bytes / slot | bytes / open conn | "
             "conn object | pool / slot | rte_hash / slot | tcp_conn_footprint() |")
    L.append("|---|---:|---:|---:|---:|---:|---:|---:|---:|")
    for name in ("client", "server"):
        sd = t[name]
        L.append("| %s | %s | %s | **%.0f** | %.0f | %d | %.0f | %.0f | %d |" % (
            name, format(sd["established"], ","), format(sd["heap_bytes"], ","),
            sd["bytes_per_slot"], sd["bytes_per_conn"], sd["pool"]["object_bytes"],
            sd["pool"]["bytes_per_slot"], sd["hash_bytes_per_slot"], sd["footprint"]))
    c = t["client"]
    L.append("")
    L.append("What is counted: the DPDK heap bytes (`rte_malloc_get_socket_stats`, "
             "heap_allocsz_bytes) taken by `tcp_stack_create()` (plus the port ring or the "
             "listener), all of it for the capacity at create time: nothing is allocated per "
             "connection later, so bytes / slot = heap bytes / capacity and bytes / open "
             "conn = heap bytes / connections open. Of that, the connection mempool "
             "(memzones MP_* and RG_MP_*: %d-byte objects, header and trailer included, "
             "plus its ring of pointers) and the rest, the rte_hash (free-slot rings RG_HT_*, "
             "buckets, extendable buckets and the key store of 40-byte tuples + data "
             "pointer, rte_zmalloc'd). With --no-huge the pool lays objects out on 4 KB "
             "pages without crossing a page (%d per page): the pool's share per slot is "
             "%.0f B, about %.0f B with 2 MB hugepages (measured at 10,000 connections: "
             "713.6). Buffers: %d mbufs in use once all connections were idle, %d segments "
             "sent in the idle time." % (
                 c["pool"]["object_bytes"], 4096 // c["pool"]["object_bytes"],
                 c["pool"]["bytes_per_slot"],
                 c["pool"]["object_bytes"] + 8.4, t["idle"]["mbufs_in_use"],
                 t["idle"]["segments_sent"]))
    L.append("")
    rss = t["rss_kb"]
    L.append("| connections open | handshakes/s (both stacks, one core) | cycles / handshake "
             "| segments / handshake | heap, both sides | RSS at start -> all open (peak) | "
             "RSS / connection pair | wall |")
    L.append("|---:|---:|---:|---:|---:|---|---:|---:|")
    L.append("| %s + %s | %s | %.0f | %.2f | %.0f MiB | %.0f -> %.0f MiB (%.0f) | %.0f B | %.1f s |"
             % (format(t["client"]["established"], ","), format(t["server"]["established"], ","),
                format(round(hs["per_s"]), ","), hs["cycles_per_handshake"],
                hs["segments_per_handshake"],
                (t["client"]["heap_bytes"] + t["server"]["heap_bytes"]) / 2**20,
                rss["start"] / 1024, rss["all_open"] / 1024, rss["peak"] / 1024,
                t["rss_bytes_per_conn_pair"], t["wall_s"]))
    L.append("")
    fl = t.get("flood")
    if fl and fl["conns"] > 0:
        L.append("Memory per connection under a 1-byte flood: %d connections whose reader "
                 "never reads get %s forged 1-byte segments each at the server, in order, "
                 "then %d others out of order (every other byte after a missing first one); "
                 "the buffer memory the server's stack holds (mbuf header + whole data room "
                 "per mbuf held, tcp.h \"Memory\") and the pool's mbufs in use, per "
                 "connection. Before the memory bounds each byte held one mbuf (2,304 B): "
                 "%s B per connection for these floods." % (
                     fl["conns"], format(fl["segments_per_conn"], ","), fl["conns"],
                     format(fl["segments_per_conn"] * 2304, ",")))
        L.append("")
        L.append("| flood | memory / conn | mbufs / conn | refused / conn | collapsed / conn "
                 "| stack peak (limit) |")
        L.append("|---|---:|---:|---:|---:|---|")
        for name in ("in_order", "out_of_order"):
            f = fl[name]
            L.append("| %s | **%s B** | %.1f | %s | %s | %s (%s) B |" % (
                name.replace("_", " "), format(round(f["mem_bytes_per_conn"]), ","),
                f["mbufs_per_conn"], format(round(f["refused_per_conn"]), ","),
                format(round(f["collapsed_per_conn"]), ","), format(f["stack_peak"], ","),
                format(fl["mem_limit"], ",")))
        L.append("")
    L.append("Handshakes/s is a CPU figure: both stacks on one core, 3 segments each built "
             "(headers, options, checksums), parsed, checksum-checked and looked up; no I/O. "
             "Connect failures %d, unmatched segments %d, SYN cookies %d." % (
                 hs["connect_failed"], hs["unmatched"], hs["cookies_sent"]))
    worst = max(t["client"]["bytes_per_slot"], t["server"]["bytes_per_slot"])
    both = t["client"]["established"] == t["conns"] and t["server"]["established"] == t["conns"]
    res["targets_tcp"] = [
        ("bytes per idle established connection (one side, no buffers)", "%.0f" % worst,
         "<= %d" % T["t_bytes_per_conn"], "met" if worst <= T["t_bytes_per_conn"] else "MISSED"),
        ("concurrent established connections (each side)",
         "%s (%.0f MiB heap, both sides)" % (format(min(t["client"]["established"],
                                                          t["server"]["established"]), ","),
                                            (t["client"]["heap_bytes"] +
                                             t["server"]["heap_bytes"]) / 2**20),
         ">= %s" % format(T["t_conns"], ","),
         "met" if both and t["conns"] >= T["t_conns"] else "MISSED"),
    ]


def x_section(res, L):
    x = res["scenarios"]["x"]
    r = x["results"]
    names = [t for t in ("meshdp", "socat", "haproxy", "fwd") if t in r]
    L.append("")
    L.append("## (x) tcp_proxy vs the kernel")
    L.append("")
    L.append("One client netns, one backend netns (nginx, 1 worker, a 19-byte body; iperf3 "
             "-s). meshdp (one worker, `tune.idle` sleep) proxies 10.70.1.1:8080 and :5201 "
             "to it with its tcp_proxy; its ports are TAP devices (mdpb0, mdpb1), so every "
             "frame crosses the kernel twice more (a copy into and out of the TAP queue). The "
             "kernel proxies run in a netns joined to the client and to the backend's "
             "bridge by veths: socat (`TCP-LISTEN:...,fork,reuseaddr TCP:backend`, a "
             "process per connection) and HAProxy (`mode tcp`, `nbthread 1`); \"fwd\" is "
             "the same netns routing without a proxy (a reference, not a proxy). Each "
             "target in turn, never two at once: `wrk -c %s -t 1 -d %ss --latency -H "
             "'Connection: close'` (a new connection per request: requests/s = "
             "connections/s), the same with keep-alive, `iperf3 -t %s -O 1` up (client -> "
             "backend) and `-R` down. Proxy CPU = the proxy's own process time (utime + "
             "stime, children included for socat; meshdp's includes its polling and "
             "sleeping worker, which polls without sleeping while traffic flows, plus its "
             "control thread: an upper bound of its cost), kernel softirq work is in neither; "
             "machine busy = the whole VM's CPUs over the run."
             % (x["conns"], x["duration"], x["duration"]))
    L.append("")

    def get(t, test, key):
        v = r.get(t, {}).get(test, {})
        return v.get(key)

    def ratio(a, b):
        return "%.2f" % (a / b) if a and b else "-"

    cols = [n for n in names if n != "meshdp"]
    L.append("| | " + " | ".join(X_NAMES[n] for n in names) + " | " +
             " | ".join("meshdp / %s" % n for n in cols) + " |")
    L.append("|---|" + "---:|" * (len(names) + len(cols)))
    rows = [("connections/s (wrk, Connection: close)", "close", "requests_per_s", ",.0f"),
            ("requests/s (wrk, keep-alive)", "keepalive", "requests_per_s", ",.0f"),
            ("iperf3 up, Gbit/s", "up", "gbps", ".2f"),
            ("iperf3 down, Gbit/s", "down", "gbps", ".2f")]
    for label, test, key, spec in rows:
        vals = [get(n, test, key) for n in names]
        m = get("meshdp", test, key)
        L.append("| %s | %s | %s |" % (
            label, " | ".join(fmt(v, spec) for v in vals),
            " | ".join(ratio(m, get(n, test, key)) for n in cols)))
    L.append("")
    L.append("| target | test | result | p50 ms | p99 ms | errors | proxy CPU % | "
             "proxy CPU us / request | machine busy % |")
    L.append("|---|---|---:|---:|---:|---:|---:|---:|---:|")
    for n in names:
        for test in ("close", "keepalive", "up", "down"):
            v = r[n].get(test)
            if not v:
                continue
            cpu = v.get("cpu") or {}
            if test in ("close", "keepalive"):
                res_s = "%s req/s" % fmt(v.get("requests_per_s"), ",.0f")
                lat = v.get("latency_ms", {})
                p50, p99 = fmt(lat.get("p50"), ".2f"), fmt(lat.get("p99"), ".2f")
                err = (v.get("socket_errors") or 0) + (v.get("non_2xx") or 0)
            else:
                res_s = "%s Gbit/s" % fmt(v.get("gbps"), ".2f")
                p50 = p99 = "-"
                err = "%s retr" % v.get("retransmits")
            if "error" in v:
                res_s = "failed"
            L.append("| %s | %s | %s | %s | %s | %s | %s | %s | %s |" % (
                X_NAMES[n], test, res_s, p50, p99, err,
                fmt(cpu.get("proxy_cpu_pct") if n != "fwd" else None, ".0f"),
                fmt(v.get("proxy_cpu_us_per_request") if n != "fwd" else None, ".1f"),
                fmt(cpu.get("machine_busy_pct"), ".0f")))
    mc = r.get("meshdp", {}).get("close", {}).get("meshdp")
    if mc:
        L.append("")
        L.append("meshdp counters over the connection/s run: %s sessions, %s closed, upstream "
                 "failures %s, retransmits %s, TIME_WAIT reused %s; drops: %s." % (
                     mc["proxy_sessions"], mc["proxy_sessions_closed"],
                     mc["proxy_upstream_failed"], mc["tcp_retransmits"],
                     mc["tcp_time_wait_reused"],
                     ", ".join("%s %d" % kv for kv in mc["drops"].items()) or "none"))
    if x.get("versions"):
        L.append("")
        L.append("Versions: %s." % "; ".join(x["versions"]))
    L.append("")
    L.append("Read with care: meshdp's path crosses two TAP devices (a kernel copy each way "
             "at each port, plus the TAP PMD's syscalls) where the kernel proxies' path "
             "crosses veths (no copy); the client, nginx, iperf3, the proxy and the "
             "kernel's network work all share the VM's 2 cores, so a lighter proxy shows "
             "as more requests/s for everyone; the machine is shared with other work "
             "(load average above). Only the ratios measured in this run mean something.")


# Issue 10, point 8.
TLS_TARGETS = {
    "hs_fraction_of_bound": 0.9,   # handshakes per CPU-second of the server / openssl speed bound
    "idle_tls_bytes": 8192,        # per idle TLS connection on top of the TCP connection
}
S_ROW_NAMES = {"ecdsa": "ECDSA P-256", "rsa": "RSA-2048", "tls": "one-way", "mtls": "mTLS"}


def s_speed(path):
    """openssl speed's rates: rsa2048 and ecdsa p256 sign/verify per s, X25519 ops per s."""
    out = {}
    try:
        with open(path) as f:
            for line in f:
                w = line.split()
                if line.startswith("rsa 2048 bits"):
                    out["rsa_sign"], out["rsa_verify"] = float(w[-2]), float(w[-1])
                elif "ecdsa (nistp256)" in line:
                    out["ecdsa_sign"], out["ecdsa_verify"] = float(w[-2]), float(w[-1])
                elif "ecdh (X25519)" in line:
                    out["x25519"] = float(w[-1])
    except OSError:
        pass
    return out


def s_bound(speed, alg, mtls):
    """Full handshakes/s one core can do on the server's public-key work alone:
    1 / (1/sign + 1/ecdh [+ 2/verify with mTLS: the client's CertificateVerify and
    the CA's signature on the client's leaf])."""
    try:
        t = 1 / speed[alg + "_sign"] + 1 / speed["x25519"]
        if mtls:
            t += 2 / speed[alg + "_verify"]
    except (KeyError, ZeroDivisionError):
        return None
    return 1 / t


def s_collect(run, rows):
    speed = s_speed(os.path.join(run, "s-speed.txt"))
    res = {"speed": speed, "rows": [], "bulk": {}, "idle": {}}
    for row in rows:
        alg, m, v = row.split("-")
        r = {"row": row, "alg": alg, "mtls": m == "mtls", "tls": v,
             "bound": s_bound(speed, alg, m == "mtls")}
        for t in ("meshdp", "nginx"):
            name = "hs-%s-%s" % (row, t)
            g = load(os.path.join(run, "s-%s.out" % name))
            cpu = cpu_parse(os.path.join(run, "s-%s.cpu" % name))
            e = {"gen": g, "cpu": cpu}
            if g and cpu and cpu["proxy_cpu_s"] > 0:
                # the generator's count over the whole run (warm-up included), as the CPU time
                e["per_cpu_s"] = g["total"] / cpu["proxy_cpu_s"]
                if r["bound"]:
                    e["fraction"] = e["per_cpu_s"] / r["bound"]
                    e["rate_fraction"] = g["rate"] / r["bound"]
            if t == "meshdp":
                s1 = sample(os.path.join(run, "s-%s-s1.txt" % name))
                s2 = sample(os.path.join(run, "s-%s-s2.txt" % name))
                if s1 and s2:
                    d = counter_delta(s1, s2)
                    e["counters"] = {k: v for k, v in d.items()
                                     if v and (k.startswith("tls_") or k.startswith("drop_")
                                               or k in ("proxy_upstream_failed", "worker_loops",
                                                        "tcp_conns_accepted"))}
            r[t] = e
        res["rows"].append(r)
    for t in ("meshdp", "nginx", "plain"):
        try:
            with open(os.path.join(run, "s-bulk-%s.out" % t)) as f:
                bps, secs = [float(x) for x in f.read().split()[:2]]
        except (OSError, ValueError):
            continue
        cpu = cpu_parse(os.path.join(run, "s-bulk-%s.cpu" % t))
        res["bulk"][t] = {"gbit_s": bps * 8 / 1e9, "seconds": secs, "cpu": cpu}
    for t in ("meshdp", "nginx"):
        g = load(os.path.join(run, "s-idle-%s.out" % t))
        rss = load(os.path.join(run, "s-idle-%s.rss" % t))
        if g and rss and g.get("held"):
            res["idle"][t] = {"held": g["held"], "rss_before": rss["rss_before"],
                              "rss_held": rss["rss_held"],
                              "bytes_per_conn": (rss["rss_held"] - rss["rss_before"]) / g["held"]}
    try:
        with open(os.path.join(run, "s-stime.out")) as f:
            m = re.search(r"(\d+) connections in (\d+) real seconds", f.read())
        if m:
            res["s_time_new_per_s"] = int(m.group(1)) / int(m.group(2))
    except OSError:
        pass
    res["perf"] = {}
    for t in ("meshdp", "nginx"):
        for k in ("dso", "sym"):
            try:
                with open(os.path.join(run, "s-perf-%s-%s.txt" % (t, k))) as f:
                    res["perf"].setdefault(t, {})[k] = [x.rstrip() for x in f if x.strip()]
            except OSError:
                pass
    try:
        with open(os.path.join(run, "s-versions.txt")) as f:
            res["versions"] = [line.strip() for line in f if line.strip()]
    except OSError:
        pass
    return res


def s_section(res, L):
    s = res["scenarios"]["s"]
    sp = s["speed"]
    L.append("")
    L.append("## (s) TLS: handshakes vs openssl speed and nginx, bulk, idle bytes")
    L.append("")
    L.append("meshdp: tcp_proxy listeners with a `tls` block, one worker on the server core "
             "(TAP ports); nginx: `stream` with `listen ... ssl`, one worker process on the "
             "same core (veths). Clients: meshdp-tlsgen on the other core, %s concurrent full "
             "handshakes (no resumption), each closed after its handshake. %s."
             % (s.get("conns"), "; ".join(s.get("versions", []))))
    L.append("")
    L.append("`openssl speed -seconds %s ecdsap256 rsa2048 ecdhx25519` on the server core: "
             "ECDSA P-256 sign %s/s, verify %s/s; RSA-2048 sign %s/s, verify %s/s; X25519 %s/s. "
             "Bound = 1 / (1/sign + 1/X25519 [+ 2/verify for mTLS]) per core."
             % (s.get("speed_seconds"), fmt(sp.get("ecdsa_sign"), ".0f"),
                fmt(sp.get("ecdsa_verify"), ".0f"), fmt(sp.get("rsa_sign"), ".0f"),
                fmt(sp.get("rsa_verify"), ".0f"), fmt(sp.get("x25519"), ".0f")))
    L.append("")
    L.append("| certificate | auth | TLS | bound/s | meshdp hs/s | meshdp CPU % | meshdp hs per CPU-s "
             "| / bound | nginx hs/s | nginx CPU % | nginx hs per CPU-s | / bound | meshdp / nginx "
             "per CPU-s |")
    L.append("|---|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    for r in s["rows"]:
        cells = []
        for t in ("meshdp", "nginx"):
            e = r.get(t, {})
            g, cpu = e.get("gen") or {}, e.get("cpu") or {}
            cells += [fmt(g.get("rate"), ",.0f"), fmt(cpu.get("proxy_cpu_pct"), ".0f"),
                      fmt(e.get("per_cpu_s"), ",.0f"), fmt(e.get("fraction"), ".2f")]
        a, b = r.get("meshdp", {}).get("per_cpu_s"), r.get("nginx", {}).get("per_cpu_s")
        L.append("| %s | %s | %s | %s | %s | %s |" % (
            S_ROW_NAMES[r["alg"]], S_ROW_NAMES["mtls" if r["mtls"] else "tls"], r["tls"],
            fmt(r["bound"], ",.0f"), " | ".join(cells), fmt(a / b if a and b else None, ".2f")))
    errs = ["%s %s: %d errors (%s)" % (r["row"], t, r[t]["gen"]["errors"],
                                       r[t]["gen"]["first_error"])
            for r in s["rows"] for t in ("meshdp", "nginx")
            if r.get(t, {}).get("gen") and r[t]["gen"]["errors"]]
    L.append("")
    L.append("hs/s: handshakes the generator completed per second of its window; CPU %%: the "
             "server's CPU time over the run (`/proc/TID/stat`, user + system, the TAP or socket "
             "system calls included: meshdp's worker thread, nginx's worker process) per second "
             "of wall time; hs per CPU-s: the run's handshakes per second of that CPU time. "
             "Generator errors: %s."
             % ("; ".join(errs) or "none"))
    if s.get("s_time_new_per_s"):
        L.append("`openssl s_time -new` (one connection at a time) against meshdp's ECDSA "
                 "one-way listener: %.0f handshakes/s, against meshdp-tlsgen's %s."
                 % (s["s_time_new_per_s"], fmt(s["rows"][0].get("meshdp", {}).get("gen", {})
                                                .get("rate") if s["rows"] else None, ",.0f")))
    for r in s["rows"]:
        c = r.get("meshdp", {}).get("counters")
        if c:
            L.append("* %s meshdp counters: %s" % (r["row"], ", ".join(
                "%s %d" % kv for kv in sorted(c.items()))))
    if s["bulk"]:
        L.append("")
        L.append("| bulk download, curl, one connection | Gbit/s | seconds | server CPU % |")
        L.append("|---|---:|---:|---:|")
        for t, label in (("meshdp", "meshdp tcp_proxy, TLS 1.3 (ECDSA)"),
                         ("nginx", "nginx stream ssl, TLS 1.3 (ECDSA)"),
                         ("plain", "meshdp tcp_proxy, no TLS")):
            b = s["bulk"].get(t)
            if b:
                L.append("| %s | %.2f | %.2f | %s |" % (label, b["gbit_s"], b["seconds"],
                                                       fmt((b["cpu"] or {}).get("proxy_cpu_pct"),
                                                           ".0f")))
    if s["idle"]:
        L.append("")
        L.append("| idle TLS connections held | connections | RSS before | RSS held | bytes per "
                 "connection |")
        L.append("|---|---:|---:|---:|---:|")
        for t in ("meshdp", "nginx"):
            i = s["idle"].get(t)
            if i:
                L.append("| %s | %d | %d | %d | %.0f |" % (t, i["held"], i["rss_before"],
                                                          i["rss_held"], i["bytes_per_conn"]))
        L.append("")
        L.append("RSS delta of the server process with the connections held after their "
                 "handshakes (ECDSA, one-way, TLS 1.3), each also holding an upstream TCP "
                 "connection to the backend. meshdp's TCP connection slots are preallocated "
                 "(a mempool laid out at start), so its delta is what TLS (OpenSSL's heap: the "
                 "SSL object and its session) adds on top of the TCP connection; nginx's "
                 "includes its connection and buffer structures.")
    for t in ("meshdp", "nginx"):
        p = s.get("perf", {}).get(t)
        if not p:
            continue
        L.append("")
        L.append("Where %s's cycles go in the %s row (`perf record -e cpu-clock -g -p PID` over "
                 "the run; share of samples by thread and object, then by symbol):"
                 % (t, s["rows"][0]["row"] if s["rows"] else "first"))
        L.append("")
        L.append("```")
        L.extend(p.get("dso", [])[:12])
        L.append("")
        L.extend(p.get("sym", [])[:25])
        L.append("```")
    L.append("")
    L.append("| target | measured | wanted | |")
    L.append("|---|---:|---:|---|")
    for r in s["rows"]:
        f = r.get("meshdp", {}).get("fraction")
        a, b = r.get("meshdp", {}).get("per_cpu_s"), r.get("nginx", {}).get("per_cpu_s")
        if f is not None:
            L.append("| %s handshakes per CPU-s / bound | %.2f | >= %.2f | %s |" % (
                r["row"], f, TLS_TARGETS["hs_fraction_of_bound"],
                "met" if f >= TLS_TARGETS["hs_fraction_of_bound"] else "missed"))
        if a and b:
            L.append("| %s handshakes per CPU-s / nginx's | %.2f | > 1 | %s |" % (
                r["row"], a / b, "met" if a > b else "missed"))
    i = s["idle"].get("meshdp")
    if i:
        L.append("| bytes per idle TLS connection on top of TCP | %.0f | <= %d | %s |" % (
            i["bytes_per_conn"], TLS_TARGETS["idle_tls_bytes"],
            "met" if i["bytes_per_conn"] <= TLS_TARGETS["idle_tls_bytes"] else "missed"))


def plot(res, out, tag):
    """Rate vs frame size of a, b and c as OUT/TAG.png with gnuplot (gnuplot-nox);
    returns the file name, or None without gnuplot or with fewer than two sizes."""
    series = [(sc, res["scenarios"][sc]) for sc in ("a", "b", "c") if sc in res["scenarios"]]
    series = [(sc, s) for sc, s in series if len(s["max_rate"]) > 1]
    if not series or shutil.which("gnuplot") is None:
        return None
    png = tag + ".png"
    with tempfile.TemporaryDirectory() as d:
        plots_mpps, plots_gbps = [], []
        for sc, s in series:
            dat = os.path.join(d, sc + ".dat")
            with open(dat, "w") as f:
                for r in s["max_rate"]:
                    f.write("%d %.4f %.4f\n" % (r["size"], r["gen"]["rx_mpps"],
                                                r["gen"]["rx_gbps_l1"]))
            title = "(%s) %s" % (sc, s["name"])
            plots_mpps.append("'%s' using 1:2 with linespoints title '%s'" % (dat, title))
            plots_gbps.append("'%s' using 1:3 with linespoints title '%s'" % (dat, title))
        script = os.path.join(d, "plot.gp")
        with open(script, "w") as f:
            f.write("set terminal png size 1100,450\n")
            f.write("set output '%s'\n" % os.path.join(out, png))
            f.write("set multiplot layout 1,2 title 'meshdp bench %s, memif %s'\n"
                    % (tag, res["memif"]))
            f.write("set logscale x 2\nset xlabel 'frame size (bytes)'\nset grid\n")
            f.write("set key bottom left font ',8'\nset yrange [0:*]\n")
            f.write("set ylabel 'Mpps'\nplot %s\n" % ", ".join(plots_mpps))
            f.write("set key top left font ',8'\n")
            f.write("set ylabel 'Gbps (L1)'\nplot %s\n" % ", ".join(plots_gbps))
            f.write("unset multiplot\n")
        if subprocess.run(["gnuplot", script], capture_output=True).returncode != 0:
            return None
    return png


def main():
    ap = argparse.ArgumentParser()
    for a in ("run", "out", "tag", "sizes", "lat-rate", "flows", "memory", "seconds",
              "ran", "command", "load"):
        ap.add_argument("--" + a, required=True)
    ap.add_argument("--c-flows", default="100000")
    ap.add_argument("--d-flows", default="16000000")
    ap.add_argument("--x-conns", default="32")
    ap.add_argument("--x-duration", default="10")
    ap.add_argument("--x-targets", default="meshdp socat haproxy fwd")
    ap.add_argument("--h-conns", default="64")
    ap.add_argument("--h-lat-conns", default="4")
    ap.add_argument("--h-duration", default="10")
    ap.add_argument("--h2-conns", default="10")
    ap.add_argument("--h2-streams", default="100")
    ap.add_argument("--h2-duration", default="10")
    ap.add_argument("--h2-idle", default="1000")
    ap.add_argument("--h2-path", default="/")
    ap.add_argument("--m-conns", default="64")
    ap.add_argument("--m-lat-conns", default="4")
    ap.add_argument("--m-duration", default="10")
    ap.add_argument("--m-telemetry", default="")
    ap.add_argument("--m-authz", default="")
    ap.add_argument("--m-telemetry-rounds", type=int, default=1)
    ap.add_argument("--memif", default="copy", choices=("copy", "zero-copy"))
    ap.add_argument("--s-rows", default="")
    ap.add_argument("--s-conns", default="128")
    ap.add_argument("--s-speed", default="3")
    o = ap.parse_args()
    sizes = [int(s) for s in o.sizes.split()]
    ran = o.ran.split()

    res = {
        "date": o.tag,
        "command": o.command.strip(),
        "memory": o.memory,
        "memif": o.memif,
        "wall_seconds": int(o.seconds),
        "loadavg_1min_start_end": [float(x) for x in o.load.split()],
        "machine": {"cpus": os.cpu_count(), "kernel": platform.release()},
        "parameters": {"sizes": sizes, "latency_rate_pps": int(o.lat_rate),
                       "flows": int(o.flows), "mode": "udp"},
        "gbps": "L1 (frame + FCS + 20 bytes preamble/IFG) and L2 (frame with FCS)",
        "scenarios": {},
        "ratios_b_to_a": [],
        "not_run": {k: v for k, v in NAMES.items() if k not in ran},
        "targets": TARGETS,
    }
    hz = None
    for sc in ran:
        if sc not in ("a", "b", "c"):
            continue
        runs = []
        for size in sizes:
            g = load(os.path.join(o.run, "%s-%s.json" % (sc, size)))
            if not g:
                continue
            hz = g["tsc_hz"]
            rx_pps = g["rx_mpps"] * 1e6
            r = {"size": size, "rate": "max", "gen": g,
                 # The server's core polls all the time: at its maximum rate each
                 # forwarded frame had this many cycles of it.
                 "sut_cycles_per_packet": round(hz / rx_pps, 1) if rx_pps else None}
            if sc in ("b", "c"):
                r["meshdp_window"] = meshdp_window(o.run, "%s-%s" % (sc, size), hz)
            runs.append(r)
        lat = load(os.path.join(o.run, "%s-lat.json" % sc))
        res["scenarios"][sc] = {"name": NAMES[sc], "max_rate": runs, "latency_run": lat}
        lat1 = load(os.path.join(o.run, "%s-lat-txb1.json" % sc))
        if lat1:
            res["scenarios"][sc]["latency_run_tx_burst_1"] = lat1
        if sc in ("b", "c"):
            res["scenarios"][sc]["meshdp_end_counters"] = (
                load(os.path.join(o.run, "%s-stats-end.json" % sc)) or {}).get("counters")
        if sc == "c":
            res["scenarios"][sc]["flows"] = int(o.c_flows)
    if hz:
        res["machine"]["tsc_hz"] = hz

    a = res["scenarios"].get("a")
    b = res["scenarios"].get("b")
    c = res["scenarios"].get("c")
    amap = {r["size"]: r for r in a["max_rate"]} if a else {}
    if a and c:
        res["ratios_c_to_a"] = []
        for rc in c["max_rate"]:
            ra = amap.get(rc["size"])
            if ra and ra["gen"]["rx_mpps"]:
                res["ratios_c_to_a"].append({"size": rc["size"], "rx_mpps": round(
                    rc["gen"]["rx_mpps"] / ra["gen"]["rx_mpps"], 3)})
    if a and b:
        for rb in b["max_rate"]:
            ra = amap.get(rb["size"])
            if not ra or not ra["gen"]["rx_mpps"]:
                continue
            res["ratios_b_to_a"].append({
                "size": rb["size"],
                "rx_mpps": round(rb["gen"]["rx_mpps"] / ra["gen"]["rx_mpps"], 3),
                "p50_latency": round(rb["gen"]["latency_ns"]["p50"] /
                                     max(ra["gen"]["latency_ns"]["p50"], 1), 2),
                "sut_cycles_per_packet": round(rb["sut_cycles_per_packet"] /
                                               ra["sut_cycles_per_packet"], 2)
                if rb["sut_cycles_per_packet"] and ra["sut_cycles_per_packet"] else None,
            })
        if a["latency_run"] and b["latency_run"]:
            la, lb = a["latency_run"]["latency_ns"], b["latency_run"]["latency_ns"]
            res["ratios_b_to_a_latency_run"] = {
                k: round(lb[k] / la[k], 2) if la[k] else None for k in ("p50", "p99", "p99_9")}

    if "d" in ran:
        g = load(os.path.join(o.run, "d-64.json"))
        w = meshdp_window(o.run, "d-64", (g or {}).get("tsc_hz") or hz or 1)
        s1 = sample(os.path.join(o.run, "d-before.txt"))
        s2 = sample(os.path.join(o.run, "d-after.txt"))
        whole = counter_delta(s1, s2) if s1 and s2 else {}
        res["scenarios"]["d"] = {
            "name": NAMES["d"], "flows_cycled": int(o.d_flows), "gen": g, "meshdp_window": w,
            "new_flows_per_s": w["l4_flows_new_per_s"] if w else None,
            "syns_forwarded_per_s": round(g["rx_mpps"] * 1e6) if g else None,
            "whole_run_new_flows": whole.get("l4_flows_new"),
            "whole_run_drops": {k: v for k, v in whole.items() if k.startswith("drop_") and v},
        }
    if "e" in ran:
        g = load(os.path.join(o.run, "e-64.json"))
        sw = load(os.path.join(o.run, "e-swaps.json")) or {}
        st0 = load(os.path.join(o.run, "e-status-before.json")) or {}
        st1 = load(os.path.join(o.run, "e-status-after.json")) or {}
        s1 = sample(os.path.join(o.run, "e-before.txt"))
        s2 = sample(os.path.join(o.run, "e-after.txt"))
        whole = counter_delta(s1, s2) if s1 and s2 else {}
        gen0, gen1 = st0.get("generation"), st1.get("generation")
        res["scenarios"]["e"] = {
            "name": NAMES["e"], "gen": g, "swaps": sw,
            "generation_before": gen0, "generation_after": gen1,
            "generation_delta": gen1 - gen0 if isinstance(gen0, int) and isinstance(gen1, int)
            else None,
            "swap_seconds": round(sw["end"] - sw["start"], 3) if sw.get("end") else None,
            "meshdp_drops": {k: v for k, v in whole.items() if k.startswith("drop_") and v},
            "meshdp_l4_flows_new": whole.get("l4_flows_new"),
        }
    if "f" in ran:
        res["scenarios"]["f"] = {"name": NAMES["f"],
                                 "result": load(os.path.join(o.run, "f.json"))}
    two = two_workers(o.run, res, hz)
    if two:
        res["scenarios"]["two_workers"] = two
    if "p" in ran:
        try:
            with open(os.path.join(o.run, "p-annotate.txt")) as f:
                ann = f.read()
        except OSError:
            ann = ""
        try:
            with open(os.path.join(o.run, "p-inclusive.txt")) as f:
                inc = f.read()
        except OSError:
            inc = ""
        res["scenarios"]["p"] = {"name": NAMES["p"], "callgrind_annotate": ann,
                                 "callgrind_inclusive": inc,
                                 "gen": load(os.path.join(o.run, "p-64.json")),
                                 "meshdp_counters": (sample(os.path.join(o.run, "p-stats.txt"))
                                                     or (0, None))[1]}
        z = sample(os.path.join(o.run, "p-zero.txt"))
        if z and res["scenarios"]["p"]["meshdp_counters"]:
            # callgrind's counters were zeroed at that sample: count from it
            res["scenarios"]["p"]["meshdp_counters"] = counter_delta(
                z, (0, res["scenarios"]["p"]["meshdp_counters"]))
            res["scenarios"]["p"]["steady_state"] = True

    if "t" in ran:
        res["scenarios"]["t"] = {"name": NAMES["t"],
                                 "result": load(os.path.join(o.run, "t.json"))}
    if "x" in ran:
        xv = []
        try:
            with open(os.path.join(o.run, "x-versions.txt")) as f:
                xv = [line.strip() for line in f if line.strip()]
        except OSError:
            pass
        res["scenarios"]["x"] = {"name": NAMES["x"], "conns": o.x_conns,
                                 "duration": o.x_duration, "versions": xv,
                                 "results": x_collect(o.run, o.x_targets.split())}
        try:
            with open(os.path.join(o.run, "x-check.txt")) as f:
                res["scenarios"]["x"]["answers"] = f.read().strip().split("\n")
        except OSError:
            pass

    if "m" in ran:
        res["scenarios"]["m"] = dict(name=NAMES["m"], conns=o.m_conns, lat_conns=o.m_lat_conns,
                                     duration=o.m_duration, telemetry=o.m_telemetry.split(),
                                     rounds=o.m_telemetry_rounds, authz=o.m_authz.split(),
                                     **m_collect(o.run, o.m_telemetry.split(),
                                                 o.m_telemetry_rounds, o.m_authz.split()))
    if "h" in ran:
        hv = []
        try:
            with open(os.path.join(o.run, "h-versions.txt")) as f:
                hv = [line.strip() for line in f if line.strip()]
        except OSError:
            pass
        names = sorted({f[2:].rsplit("-", 1)[0] for f in os.listdir(o.run)
                        if f.startswith("h-") and f.endswith("-tiny.txt")},
                       key=lambda n: (not n.startswith("meshdp"), n))
        res["scenarios"]["h"] = {"name": NAMES["h"], "conns": o.h_conns,
                                 "lat_conns": o.h_lat_conns, "duration": o.h_duration,
                                 "versions": hv, "results": h_collect(o.run, names),
                                 "perf": {}}
        for n in names:
            try:
                with open(os.path.join(o.run, "h-%s-tiny.perf.txt" % n)) as f:
                    lines = [x.rstrip() for x in f if x.strip() and not x.startswith("#")]
                res["scenarios"]["h"]["perf"][n] = lines[:25]
            except OSError:
                pass
        try:
            with open(os.path.join(o.run, "h-check.txt")) as f:
                res["scenarios"]["h"]["answers"] = f.read().strip().split("\n")
        except OSError:
            pass

    if "s" in ran:
        res["scenarios"]["s"] = dict(name=NAMES["s"], conns=o.s_conns, speed_seconds=o.s_speed,
                                     **s_collect(o.run, o.s_rows.split()))

    L = []
    L.append("# meshdp bench, %s" % o.tag)
    L.append("")
    if not any(sc in ran for sc in ("a", "b", "c")):
        L.append("Command: `%s` (as root, %d s wall). Memory: %s. %d CPUs, 1-minute load "
                 "average %s at the start, %s at the end (above 2 on 2 CPUs: other work "
                 "shared the cores, the figures are noisy)."
                 % (res["command"], res["wall_seconds"], o.memory, os.cpu_count() or 0,
                    o.load.split()[0], o.load.split()[-1]))
    else:
        L.append("Command: `%s` (as root, %d s wall). Memory: %s. %d CPUs, TSC %.2f GHz, "
                 "1-minute load average %s at the start, %s at the end (above 2 on 2 CPUs: "
                 "other work shared the cores, the figures are noisy). "
                 "UDP, %d flow(s); generator and server each busy on their own core, connected by "
                 "net_memif, %s. Gbps are L1 (frame + 20 bytes of preamble and gap) / L2 (frame with "
                 "FCS). Latency is one-way generator -> server -> generator, TSC-stamped; at max "
                 "rate it is mostly queueing in full memif rings."
                 % (res["command"], res["wall_seconds"], o.memory, os.cpu_count() or 0,
                    (hz or 0) / 1e9, o.load.split()[0], o.load.split()[-1], int(o.flows),
                    MEMIF_MODES[o.memif]))
    memif = any(sc in ran for sc in ("a", "b", "c"))
    os.makedirs(o.out, exist_ok=True)
    png = plot(res, o.out, o.tag) if memif else None
    if memif:
        L.append("")
        L.append("## Max rate")
        L.append("")
        if png:
            L.append("![RX rate vs frame size](%s)" % png)
            L.append("")
        L.append("| scenario | size | RX Mpps | Gbps L1 | Gbps L2 | loss | p50 us | p99 us | p99.9 us "
                 "| server cycles/pkt | gen busy | ratio to (a) |")
        L.append("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
        ratios = {"b": {r["size"]: r for r in res["ratios_b_to_a"]},
                  "c": {r["size"]: r for r in res.get("ratios_c_to_a", [])}}
        for sc in ran:
            if sc not in ("a", "b", "c"):
                continue
            for r in res["scenarios"][sc]["max_rate"]:
                g = r["gen"]
                lat = g["latency_ns"]
                ratio = "-"
                if r["size"] in ratios.get(sc, {}):
                    ratio = "%.3f" % ratios[sc][r["size"]]["rx_mpps"]
                L.append("| (%s) %s | %d | %.3f | %.3f | %.3f | %.4f%% | %.1f | %.1f | %.1f | %s | "
                         "%.0f%% | %s |" % (sc, NAMES[sc], r["size"], g["rx_mpps"], g["rx_gbps_l1"],
                                          g["rx_gbps_l2"], g["loss_ratio"] * 100, lat["p50"] / 1e3,
                                          lat["p99"] / 1e3, lat["p99_9"] / 1e3,
                                          fmt(r["sut_cycles_per_packet"], ".0f"),
                                          g.get("gen_busy_ratio", 0) * 100, ratio))
        L.append("")
        L.append("A ratio above 1 means the baseline run was disturbed more than meshdp's "
                 "(testpmd does strictly less work per frame): rerun on a quiet machine.")
        L.append("")
        L.append("Server cycles/pkt = TSC Hz / forwarded frames per second: the busy-polling "
                 "server's whole core divided by what it forwarded (its true cost when it is the "
                 "bottleneck, i.e. when the generator saw TX back-pressure; an upper bound "
                 "otherwise). Gen busy = share of the generator's window spent in loop iterations that moved a frame (below 100 %: the generator waited for the server, so the server was the bottleneck). Hardware counters are not available in this VM (`perf stat -e "
                 "instructions` reports `<not supported>`), so no instruction counts.")
        if b or c:
            L.append("")
            L.append("meshdp's own counters inside the window (`meshctl --json stats`, two samples; "
                     "for (c) new flows in the window must be 0: every flow was established in "
                     "the warm-up):")
            L.append("")
            L.append("| scenario | size | forwarded Mpps | cycles/pkt | frames per loop | new flows "
                     "| drops |")
            L.append("|---|---:|---:|---:|---:|---:|---|")
            for sc, x in (("b", b), ("c", c)):
                if not x:
                    continue
                for r in x["max_rate"]:
                    w = r.get("meshdp_window")
                    if not w:
                        L.append("| (%s) | %d | - | - | - | - | (no sample) |" % (sc, r["size"]))
                        continue
                    drops = ", ".join("%s %d" % kv for kv in w["drops"].items()) or "none"
                    L.append("| (%s) | %d | %.3f | %s | %s | %d | %s |" % (
                        sc, r["size"], w["forwarded_mpps"], fmt(w["cycles_per_packet"], ".0f"),
                        fmt(w["frames_per_loop"], ".1f"), w["l4_flows_new"], drops))
            L.append("")
            L.append("Frames per loop near the RX burst (32) means meshdp's core was saturated.")
        L.append("")
        L.append("## Latency at %d frames/s, 64 bytes" % int(o.lat_rate))
        L.append("")
        L.append("| scenario | RX Mpps | loss | min us | p50 us | p99 us | p99.9 us | max us |")
        L.append("|---|---:|---:|---:|---:|---:|---:|---:|")
        for sc in ran:
            if sc not in ("a", "b", "c"):
                continue
            for key, label in (("latency_run", NAMES[sc]),
                               ("latency_run_tx_burst_1", NAMES[sc] + ", tune tx_burst=1")):
                g = res["scenarios"][sc].get(key)
                if not g:
                    continue
                lat = g["latency_ns"]
                L.append("| (%s) %s | %.3f | %.4f%% | %.1f | %.1f | %.1f | %.1f | %.1f |"
                         % (sc, label, g["rx_mpps"], g["loss_ratio"] * 100, lat["min"] / 1e3,
                            lat["p50"] / 1e3, lat["p99"] / 1e3, lat["p99_9"] / 1e3,
                            lat["max"] / 1e3))
        if "ratios_b_to_a_latency_run" in res:
            rr = res["ratios_b_to_a_latency_run"]
            L.append("")
            L.append("meshdp / testpmd latency: p50 %s, p99 %s, p99.9 %s."
                     % (rr["p50"], rr["p99"], rr["p99_9"]))
    if "2" in ran:
        res["scenarios"]["2"] = {"name": NAMES["2"], "conns": o.h2_conns, "streams": o.h2_streams,
                                 "duration": o.h2_duration, "idle": o.h2_idle,
                                 "path": o.h2_path,
                                 "results": h2_collect(o.run, ("meshdp-afpacket", "nginx-h2",
                                                               "nghttpx"))}
        try:
            with open(os.path.join(o.run, "2-check.txt")) as f:
                res["scenarios"]["2"]["answers"] = f.read().strip().split("\n")
        except OSError:
            pass

    l4_sections(res, L, ran)
    two_section(res, L)
    if "t" in ran:
        t_section(res, L)
    if "x" in ran:
        x_section(res, L)
    if "s" in ran:
        s_section(res, L)
    if "h" in ran:
        h_section(res, L)
    if "2" in ran:
        h2_section(res, L)
    if "m" in ran:
        m_section(res, L)
    if res.get("targets_tcp"):
        L.append("")
        L.append("## Targets (issue 5, point 6)")
        L.append("")
        L.append("| target | measured | wanted | |")
        L.append("|---|---:|---:|---|")
        for r in res["targets_tcp"]:
            L.append("| %s | %s | %s | %s |" % r)
        xr = res["scenarios"].get("x", {}).get("results", {})
        for test, label in (("close", "connections/s"), ("keepalive", "keep-alive requests/s")):
            m = xr.get("meshdp", {}).get(test, {}).get("requests_per_s")
            for n in ("socat", "haproxy"):
                v = xr.get(n, {}).get(test, {}).get("requests_per_s")
                if m and v:
                    L.append("| tcp_proxy %s / %s's | %.2f | compared | |" % (label, n, m / v))
    if res["not_run"]:
        L.append("")
        L.append("## Not run")
        L.append("")
        for k, v in res["not_run"].items():
            L.append("* (%s) %s" % (k, v))
    L.append("")
    with open(os.path.join(o.out, o.tag + ".json"), "w") as f:
        json.dump(res, f, indent=1)
        f.write("\n")
    with open(os.path.join(o.out, o.tag + ".md"), "w") as f:
        f.write("\n".join(L))
    print("\n".join(L))


if __name__ == "__main__":
    main()
