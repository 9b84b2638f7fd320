#!/usr/bin/env python3
"""Turn one bench/run.sh run directory into OUT/<tag>.md and OUT/<tag>.json.

Inputs in the run directory: <scenario>-<size>.json (meshdp-gen --json at max
rate), <scenario>-lat.json (64 bytes at the latency rate), and for meshdp
<scenario>-<size>-s1.txt / -s2.txt (a timestamp line, then `meshctl --json
stats`), taken inside the generator's measured window. (d): d-64.json and its
samples; (e): e-64.json, e-swaps.json, e-status-before/after.json, e-before.txt
and e-after.txt; (f): f.json (meshdp-flowscale); (p): p-annotate.txt
(callgrind_annotate of meshdp's worker on scenario (c) traffic).
"""
import argparse
import json
import os
import platform

NAMES = {
    "a": "testpmd io (baseline)",
    "b": "meshdp L3 forwarding",
    "c": "meshdp L4: policy + flow table + Maglev + full-NAT",
    "d": "meshdp L4: new TCP flows (SYN) through a DNAT VIP",
    "e": "meshdp L4: config swaps under (c) traffic at max rate",
    "f": "flow-table scale (meshdp-flowscale)",
    "p": "callgrind profile of meshdp's worker on (c) traffic",
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
        rows.append(("(c) 64 B Mpps, one worker core", "%.3f" % mpps, ">= %.0f" % T["c_mpps"],
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


def main():
    ap = argparse.ArgumentParser()
    for a in ("run", "out", "tag", "sizes", "lat-rate", "flows", "memory", "seconds",
              "ran", "command", "load"):
        ap.add_argument("--" + a, required=True)
    ap.add_argument("--c-flows", default="100000")
    ap.add_argument("--d-flows", default="16000000")
    o = ap.parse_args()
    sizes = [int(s) for s in o.sizes.split()]
    ran = o.ran.split()

    res = {
        "date": o.tag,
        "command": o.command.strip(),
        "memory": o.memory,
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

    os.makedirs(o.out, exist_ok=True)
    with open(os.path.join(o.out, o.tag + ".json"), "w") as f:
        json.dump(res, f, indent=1)
        f.write("\n")

    L = []
    L.append("# meshdp bench, %s" % o.tag)
    L.append("")
    L.append("Command: `%s` (as root, %d s wall). Memory: %s. %d CPUs, TSC %.2f GHz, "
             "1-minute load average %s at the start, %s at the end (above 2 on 2 CPUs: "
             "other work shared the cores, the figures are noisy). "
             "UDP, %d flow(s); generator and server each busy on their own core, connected by "
             "net_memif. Gbps are L1 (frame + 20 bytes of preamble and gap) / L2 (frame with "
             "FCS). Latency is one-way generator -> server -> generator, TSC-stamped; at max "
             "rate it is mostly queueing in full memif rings."
             % (res["command"], res["wall_seconds"], o.memory, os.cpu_count() or 0,
                (hz or 0) / 1e9, o.load.split()[0], o.load.split()[-1], int(o.flows)))
    L.append("")
    L.append("## Max rate")
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
    l4_sections(res, L, ran)
    if res["not_run"]:
        L.append("")
        L.append("## Not run")
        L.append("")
        for k, v in res["not_run"].items():
            L.append("* (%s) %s" % (k, v))
    L.append("")
    with open(os.path.join(o.out, o.tag + ".md"), "w") as f:
        f.write("\n".join(L))
    print("\n".join(L))


if __name__ == "__main__":
    main()
