#!/usr/bin/env python3
"""Turn one bench/run.sh run directory into OUT/<tag>.md and OUT/<tag>.json.

Inputs in the run directory: <scenario>-<size>.json (meshdp-gen --json at max
rate), <scenario>-lat.json (64 bytes at the latency rate), and for meshdp
b-<size>-s1.txt / -s2.txt (a timestamp line, then `meshctl --json stats`),
taken inside the generator's measured window.
"""
import argparse
import json
import os
import platform

NAMES = {
    "a": "testpmd io (baseline)",
    "b": "meshdp L3 forwarding",
}
NOT_RUN = {
    "c": "L4 service: UDP to a service VIP, load-balanced (DNAT) to endpoints",
    "d": "L4 service: new TCP flows per second (SYN mode) through the flow table",
    "e": "L4 service: many concurrent flows (flow-table scaling, --flows 1M)",
    "f": "L4 service: allow-list policy and rate limits on the L4 fast path",
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


def meshdp_window(run, size, hz):
    s1 = sample(os.path.join(run, "b-%s-s1.txt" % size))
    s2 = sample(os.path.join(run, "b-%s-s2.txt" % size))
    if not s1 or not s2 or s2[0] <= s1[0]:
        return None
    dt = s2[0] - s1[0]
    d = {k: s2[1].get(k, 0) - s1[1].get(k, 0) for k in s2[1]}
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
    }
    return out


def fmt(v, spec):
    return "-" if v is None else format(v, spec)


def main():
    ap = argparse.ArgumentParser()
    for a in ("run", "out", "tag", "sizes", "lat-rate", "flows", "memory", "seconds",
              "ran", "command", "load"):
        ap.add_argument("--" + a, required=True)
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
        "not_run": {k: "not run: needs the L4 service path (%s)" % v for k, v in NOT_RUN.items()},
    }
    hz = None
    for sc in ran:
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
            if sc == "b":
                r["meshdp_window"] = meshdp_window(o.run, size, hz)
            runs.append(r)
        lat = load(os.path.join(o.run, "%s-lat.json" % sc))
        res["scenarios"][sc] = {"name": NAMES[sc], "max_rate": runs, "latency_run": lat}
        lat1 = load(os.path.join(o.run, "%s-lat-txb1.json" % sc))
        if lat1:
            res["scenarios"][sc]["latency_run_tx_burst_1"] = lat1
        if sc == "b":
            res["scenarios"][sc]["meshdp_end_counters"] = (
                load(os.path.join(o.run, "b-stats-end.json")) or {}).get("counters")
    if hz:
        res["machine"]["tsc_hz"] = hz

    a = res["scenarios"].get("a")
    b = res["scenarios"].get("b")
    if a and b:
        amap = {r["size"]: r for r in a["max_rate"]}
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
    ratios = {r["size"]: r for r in res["ratios_b_to_a"]}
    for sc in ran:
        for r in res["scenarios"][sc]["max_rate"]:
            g = r["gen"]
            lat = g["latency_ns"]
            ratio = "-"
            if sc == "b" and r["size"] in ratios:
                ratio = "%.3f" % ratios[r["size"]]["rx_mpps"]
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
    if b:
        L.append("")
        L.append("meshdp's own counters inside the window (`meshctl --json stats`, two samples):")
        L.append("")
        L.append("| size | forwarded Mpps | cycles/pkt | frames per loop | drops |")
        L.append("|---:|---:|---:|---:|---|")
        for r in b["max_rate"]:
            w = r.get("meshdp_window")
            if not w:
                L.append("| %d | - | - | - | (no sample) |" % r["size"])
                continue
            drops = ", ".join("%s %d" % kv for kv in w["drops"].items()) or "none"
            L.append("| %d | %.3f | %s | %s | %s |" % (r["size"], w["forwarded_mpps"],
                                                       fmt(w["cycles_per_packet"], ".0f"),
                                                       fmt(w["frames_per_loop"], ".1f"), drops))
        L.append("")
        L.append("Frames per loop near the RX burst (32) means meshdp's core was saturated.")
    L.append("")
    L.append("## Latency at %d frames/s, 64 bytes" % int(o.lat_rate))
    L.append("")
    L.append("| scenario | RX Mpps | loss | min us | p50 us | p99 us | p99.9 us | max us |")
    L.append("|---|---:|---:|---:|---:|---:|---:|---:|")
    for sc in ran:
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
