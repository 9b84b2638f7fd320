#!/usr/bin/env python3
"""gRPC server and client for test_grpc.sh, on Debian's python3-grpcio with
generic handlers and raw bytes (no protoc: messages are the bytes given).

  grpc_peer.py serve PORT [MAX_AGE_MS]   the test.Echo service; with
                                         MAX_AGE_MS the server sends GOAWAY
                                         once a connection is that old
  grpc_peer.py unary TARGET MSG          prints the reply
  grpc_peer.py stream TARGET N           server streaming: N replies, one a line
  grpc_peer.py bidi TARGET A B C ...     bidirectional: each message echoed in turn
  grpc_peer.py call TARGET METHOD MSG [DEADLINE_S]
                                         prints "CODE details" (OK or the error)
  grpc_peer.py many TARGET N             N unary calls in turn; prints "ok N" when all succeeded
Clients send :authority $GRPC_AUTHORITY when it is set.

test.Echo methods: Unary (b"echo:" + msg), ServerStream (msg is a count: that
many replies "i"), Bidi (each message back, upper case), Slow and Slow2 (the
reply after 2 s), Flaky (the first try of each msg fails UNAVAILABLE, the next succeeds:
the reply says how many tries the server saw), Tries (the tries Flaky saw for msg).
"""
import os
import sys
import threading
import time
from concurrent import futures

import grpc

OPTS = [("grpc.enable_http_proxy", 0)]


def serve(port, max_age_ms):
    tries = {}
    lock = threading.Lock()

    def unary(req, ctx):
        return b"echo:" + req

    def server_stream(req, ctx):
        for i in range(int(req)):
            yield str(i).encode()

    def bidi(it, ctx):
        for m in it:
            yield m.upper()

    def slow(req, ctx):
        time.sleep(2)
        return b"slow:" + req

    def flaky(req, ctx):
        with lock:
            tries[req] = tries.get(req, 0) + 1
            n = tries[req]
        if n == 1:
            ctx.abort(grpc.StatusCode.UNAVAILABLE, "first try fails")
        return b"tries=%d" % n

    def count(req, ctx):
        with lock:
            return b"%d" % tries.get(req, 0)

    handlers = {
        "Unary": grpc.unary_unary_rpc_method_handler(unary),
        "ServerStream": grpc.unary_stream_rpc_method_handler(server_stream),
        "Bidi": grpc.stream_stream_rpc_method_handler(bidi),
        "Slow": grpc.unary_unary_rpc_method_handler(slow),
        "Slow2": grpc.unary_unary_rpc_method_handler(slow),
        "Flaky": grpc.unary_unary_rpc_method_handler(flaky),
        "Tries": grpc.unary_unary_rpc_method_handler(count),
    }
    opts = []
    if max_age_ms:
        opts = [("grpc.max_connection_age_ms", max_age_ms),
                ("grpc.max_connection_age_grace_ms", 10000)]
    server = grpc.server(futures.ThreadPoolExecutor(max_workers=16), options=opts)
    server.add_generic_rpc_handlers((grpc.method_handlers_generic_handler("test.Echo", handlers),))
    server.add_insecure_port("0.0.0.0:%d" % port)
    server.start()
    print("listening", port, flush=True)
    server.wait_for_termination()


def main():
    mode = sys.argv[1]
    if mode == "serve":
        serve(int(sys.argv[2]), int(sys.argv[3]) if len(sys.argv) > 3 else 0)
        return
    opts = OPTS
    if os.environ.get("GRPC_AUTHORITY"):
        opts = OPTS + [("grpc.default_authority", os.environ["GRPC_AUTHORITY"])]
    ch = grpc.insecure_channel(sys.argv[2], options=opts)
    if mode == "unary":
        print(ch.unary_unary("/test.Echo/Unary")(sys.argv[3].encode(), timeout=10).decode())
    elif mode == "stream":
        for m in ch.unary_stream("/test.Echo/ServerStream")(sys.argv[3].encode(), timeout=10):
            print(m.decode())
    elif mode == "bidi":
        msgs = [m.encode() for m in sys.argv[3:]]
        out = ch.stream_stream("/test.Echo/Bidi")(iter(msgs), timeout=10)
        print(" ".join(m.decode() for m in out))
    elif mode == "call":
        deadline = float(sys.argv[5]) if len(sys.argv) > 5 else 10
        try:
            r = ch.unary_unary(sys.argv[3])(sys.argv[4].encode(), timeout=deadline)
            print("OK", r.decode())
        except grpc.RpcError as e:
            print(e.code().name, e.details())
    elif mode == "many":
        n = int(sys.argv[3])
        f = ch.unary_unary("/test.Echo/Unary")
        for i in range(n):
            r = f(b"%d" % i, timeout=10)
            assert r == b"echo:%d" % i, r
            time.sleep(0.01)
        print("ok", n)


if __name__ == "__main__":
    main()
