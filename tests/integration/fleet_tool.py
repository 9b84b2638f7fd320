#!/usr/bin/env python3
"""The fleet test's side of etcd's v3 JSON gateway (the nodes use libcurl).

fleet_tool.py docs DIR                      write the test's fleet documents into DIR
fleet_tool.py wait URLS PREFIX REV NODE...  wait until every NODE's status key reports
                                            revision >= REV; print {node: status}
fleet_tool.py latency URLS PREFIX DIR N NODE...
                                            put DIR/fleet-1..N one by one; print each one's
                                            put-to-applied time on the later NODE (ms)
fleet_tool.py storm URLS PREFIX DIR N       put N fleet revisions in a row; print the last
FLEET_USER=NAME:PASSWORD: authenticate with etcd first.
"""
import base64, json, os, sys, time, urllib.request


def b64(s):
    return base64.b64encode(s.encode()).decode()


TOKEN = {}


def login(url):
    """With FLEET_USER=NAME:PASSWORD, etcd's auth token for url's requests."""
    user = os.environ.get("FLEET_USER")
    if not user:
        return {}
    if url not in TOKEN:
        name, pw = user.split(":", 1)
        req = urllib.request.Request(url + "/v3/auth/authenticate",
                                     json.dumps({"name": name, "password": pw}).encode(),
                                     {"Content-Type": "application/json"})
        with urllib.request.urlopen(req, timeout=5) as r:
            TOKEN[url] = json.load(r)["token"]
    return {"Authorization": TOKEN[url]}


def call(urls, path, body):
    last = None
    for url in urls.split(","):
        try:
            req = urllib.request.Request(url + path, json.dumps(body).encode(),
                                         {"Content-Type": "application/json", **login(url)})
            with urllib.request.urlopen(req, timeout=5) as r:
                return json.load(r)
        except OSError as e:
            last = e
    raise SystemExit(f"no etcd endpoint answered: {last}")


def fleet_doc(weight):
    """A fleet document: no node member, the service's endpoint weight says which revision."""
    return {"version": 1,
            "services": [{"name": "web", "namespace": "shop", "vip": "10.30.0.10",
                          "ports": [{"port": 80}], "health": {"interval_ms": 0},
                          "endpoints": [{"address": "10.10.2.2", "weight": weight}]}]}


def wait_status(urls, prefix, rev, nodes):
    """Every node's status once each reports revision >= rev (30 s at most)."""
    deadline = time.time() + 30
    while True:
        got = {}
        for n in nodes:
            r = call(urls, "/v3/kv/range", {"key": b64(f"{prefix}/status/{n}")})
            kvs = r.get("kvs", [])
            if kvs:
                st = json.loads(base64.b64decode(kvs[0]["value"]))
                if st["revision"] >= rev:
                    got[n] = st
        if len(got) == len(nodes):
            return got
        if time.time() > deadline:
            raise SystemExit(f"not every node reported revision {rev}: {got}")
        time.sleep(0.002)


def main():
    cmd = sys.argv[1]
    if cmd == "docs":
        d = sys.argv[2]
        for w in range(1, 31):
            json.dump(fleet_doc(w), open(f"{d}/fleet-{w}.json", "w"))
        json.dump({"version": 1, "services": [{"name": "broken"}]}, open(f"{d}/bad.json", "w"))
        json.dump({"version": 1, "interfaces": []}, open(f"{d}/node-member.json", "w"))
        cart = fleet_doc(1)["services"][0] | {"name": "cart", "namespace": "store", "vip": "10.30.0.11"}
        json.dump({"services": [cart]}, open(f"{d}/ns-store.json", "w"))
        json.dump({"services": [cart | {"namespace": "billing"}]}, open(f"{d}/ns-store-billing.json", "w"))
    elif cmd == "wait":
        urls, prefix, rev, nodes = sys.argv[2], sys.argv[3], int(sys.argv[4]), sys.argv[5:]
        print(json.dumps(wait_status(urls, prefix, rev, nodes)))
    elif cmd == "latency":
        # put fleet-1..N one by one; per change, the time from the put to the later
        # node's publish (the nodes' applied_unix_ms: one clock, this machine's)
        urls, prefix, d, n, nodes = sys.argv[2], sys.argv[3], sys.argv[4], int(sys.argv[5]), sys.argv[6:]
        out = []
        for url in urls.split(","):
            login(url)  # etcd's password check (bcrypt) is not part of what is timed
        for w in range(1, n + 1):
            body = {"key": b64(f"{prefix}/config"), "value": b64(open(f"{d}/fleet-{w}.json").read())}
            t0 = time.time()
            rev = int(call(urls, "/v3/kv/put", body)["header"]["revision"])
            got = wait_status(urls, prefix, rev, nodes)
            assert all(v["result"] == "applied" and v["revision"] == rev for v in got.values()), got
            out.append(max(v["applied_unix_ms"] for v in got.values()) - int(t0 * 1000))
        print(" ".join(map(str, out)))
    elif cmd == "storm":
        urls, prefix, n = sys.argv[2], sys.argv[3], int(sys.argv[5])
        rev = 0
        for i in range(n):
            r = call(urls, "/v3/kv/put", {"key": b64(f"{prefix}/config"),
                                          "value": b64(json.dumps(fleet_doc(1 + i % 1000)))})
            rev = int(r["header"]["revision"])
        print(rev)
    else:
        raise SystemExit(__doc__)


main()
