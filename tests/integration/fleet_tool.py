#!/usr/bin/env python3
"""The fleet test's side of etcd's v3 JSON gateway (the nodes use libcurl).

fleet_tool.py docs DIR                      write the test's fleet documents into DIR
fleet_tool.py wait URLS PREFIX REV NODE...  wait until every NODE's status key reports
                                            revision >= REV; print {node: status}
fleet_tool.py storm URLS PREFIX DIR N       put N fleet revisions in a row; print the last
"""
import base64, json, sys, time, urllib.request


def b64(s):
    return base64.b64encode(s.encode()).decode()


def call(urls, path, body):
    last = None
    for url in urls.split(","):
        try:
            req = urllib.request.Request(url + path, json.dumps(body).encode(),
                                         {"Content-Type": "application/json"})
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


def main():
    cmd = sys.argv[1]
    if cmd == "docs":
        d = sys.argv[2]
        for w in range(1, 31):
            json.dump(fleet_doc(w), open(f"{d}/fleet-{w}.json", "w"))
        json.dump({"version": 1, "services": [{"name": "broken"}]}, open(f"{d}/bad.json", "w"))
        json.dump({"version": 1, "interfaces": []}, open(f"{d}/node-member.json", "w"))
    elif cmd == "wait":
        urls, prefix, rev, nodes = sys.argv[2], sys.argv[3], int(sys.argv[4]), sys.argv[5:]
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
                print(json.dumps(got))
                return
            if time.time() > deadline:
                raise SystemExit(f"not every node reported revision {rev}: {got}")
            time.sleep(0.005)
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
