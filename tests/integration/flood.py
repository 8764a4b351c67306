#!/usr/bin/env python3
"""Holds many idle connections open against a server, for flood.sh.

    flood.py --stats FILE --count N tcp HOST PORT [SOURCE-ADDR ...]
    flood.py --stats FILE --count N unix PATH

Keeps N connections open that never send anything: each one the server
closes is opened again at once, and while the server is not there yet
(connection refused), it tries again every 50 ms. TCP connections are spread
over the SOURCE-ADDRs (default: none bound). Until SIGTERM; FILE holds
{"connects": total connections made, "closed": those the server closed,
"open": open now, "max_open": the most open at once}, rewritten every 0.1 s.
"""
import argparse
import json
import os
import selectors
import signal
import socket
import sys
import time


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--stats", required=True)
    ap.add_argument("--count", type=int, default=400)
    ap.add_argument("kind", choices=["tcp", "unix"])
    ap.add_argument("target", nargs="+")
    args = ap.parse_args()
    stop = []
    signal.signal(signal.SIGTERM, lambda *a: stop.append(1))
    sel = selectors.DefaultSelector()
    stats = {"connects": 0, "closed": 0, "open": 0, "max_open": 0}
    n = 0
    last = 0.0

    def connect():
        nonlocal n
        if args.kind == "unix":
            s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            addr = args.target[0]
        else:
            s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            sources = args.target[2:]
            if sources:
                s.bind((sources[n % len(sources)], 0))
            addr = (args.target[0], int(args.target[1]))
        n += 1
        s.settimeout(1.0)
        try:
            s.connect(addr)
        except OSError:
            s.close()
            return False
        s.setblocking(False)
        sel.register(s, selectors.EVENT_READ)
        stats["connects"] += 1
        return True

    while not stop:
        while len(sel.get_map()) < args.count and not stop:
            if not connect():
                time.sleep(0.05)
                break
        stats["open"] = len(sel.get_map())
        stats["max_open"] = max(stats["max_open"], stats["open"])
        for key, _ in sel.select(timeout=0.02):
            try:
                data = key.fileobj.recv(4096)
            except OSError:
                data = b""
            if not data:
                sel.unregister(key.fileobj)
                key.fileobj.close()
                stats["closed"] += 1
        now = time.monotonic()
        if now - last > 0.1:
            last = now
            with open(args.stats + ".tmp", "w") as f:
                json.dump(stats, f)
            os.replace(args.stats + ".tmp", args.stats)
    with open(args.stats + ".tmp", "w") as f:
        json.dump(stats, f)
    os.replace(args.stats + ".tmp", args.stats)


if __name__ == "__main__":
    sys.exit(main())
