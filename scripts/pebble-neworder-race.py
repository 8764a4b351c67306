#!/usr/bin/env python3
"""A minimal ACME client that sends newOrder requests to a CA concurrently,
for scripts/pebble-neworder-race (which starts Pebble and reads the result).

    pebble-neworder-race.py --dir URL --ca-file FILE [--orders N] [--width W]
                            [--pollers P] [--writers K] [--timeout S]

One account (ES256), then N newOrder requests for one name each
(o1.race.example ...), W of them in flight at a time, each worker on its own
keep-alive connection. With --pollers P, P more workers fetch the
authorizations of the orders made so far with POST-as-GET meanwhile, as a
client polling them does. With --writers K, K more workers update the
account's contact in a loop: each update takes the store's write lock, as
the certificate finalize adds does (nothing is validated or finalized here).

A request that gets no answer within S seconds (default 15) counts as hung;
the other workers stop at their next request. Then two probes tell a hung
store from a dead server: GET of the directory (no store lock in Pebble) and
a POST-as-GET of the account (the store's read lock).

Prints one line of key=value results and exits 0 when every newOrder was
answered, 1 when a request hung, 2 on any other failure.
"""
import argparse
import base64
import json
import queue
import socket
import ssl
import sys
import threading
import time
import urllib.parse
import http.client

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature


def b64u(data):
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


class Hung(Exception):
    pass


class Account:
    def __init__(self):
        self.key = ec.generate_private_key(ec.SECP256R1())
        nums = self.key.public_key().public_numbers()
        self.jwk = {
            "crv": "P-256",
            "kty": "EC",
            "x": b64u(nums.x.to_bytes(32, "big")),
            "y": b64u(nums.y.to_bytes(32, "big")),
        }
        self.kid = None

    def sign(self, url, nonce, payload):
        protected = {"alg": "ES256", "nonce": nonce, "url": url}
        if self.kid is None:
            protected["jwk"] = self.jwk
        else:
            protected["kid"] = self.kid
        p64 = b64u(json.dumps(protected).encode())
        body = "" if payload is None else b64u(json.dumps(payload).encode())
        der = self.key.sign(f"{p64}.{body}".encode(), ec.ECDSA(hashes.SHA256()))
        r, s = decode_dss_signature(der)
        sig = b64u(r.to_bytes(32, "big") + s.to_bytes(32, "big"))
        return json.dumps({"protected": p64, "payload": body, "signature": sig})


class Conn:
    """One keep-alive HTTPS connection and the nonce of its last answer."""

    def __init__(self, base, ctx, timeout):
        self.host = base.hostname
        self.port = base.port
        self.ctx = ctx
        self.timeout = timeout
        self.c = None
        self.nonce = None

    def request(self, method, url, body=None):
        path = urllib.parse.urlsplit(url).path
        headers = {"Content-Type": "application/jose+json"} if body is not None else {}
        for attempt in range(2):
            if self.c is None:
                self.c = http.client.HTTPSConnection(
                    self.host, self.port, context=self.ctx, timeout=self.timeout
                )
            try:
                self.c.request(method, path, body=body, headers=headers)
                r = self.c.getresponse()
                data = r.read()
            except socket.timeout as e:
                raise Hung(f"{method} {path}: no answer in {self.timeout:g} s") from e
            except (http.client.RemoteDisconnected, ConnectionError, BrokenPipeError):
                # The server closed an idle connection: once more, anew.
                self.c.close()
                self.c = None
                if attempt == 1:
                    raise
                continue
            n = r.getheader("Replay-Nonce")
            if n:
                self.nonce = n
            return r.status, r.getheader("Location"), data
        raise RuntimeError("unreachable")

    def post(self, acct, dirs, url, payload):
        """A signed POST; badNonce retried with the nonce it brought."""
        for _ in range(5):
            if self.nonce is None:
                self.request("HEAD", dirs["newNonce"])
            body = acct.sign(url, self.nonce, payload)
            self.nonce = None
            status, loc, data = self.request("POST", url, body)
            if status == 400 and b"badNonce" in data:
                continue
            return status, loc, data
        raise RuntimeError(f"POST {url}: badNonce five times")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--dir", required=True)
    ap.add_argument("--ca-file", required=True)
    ap.add_argument("--orders", type=int, default=200)
    ap.add_argument("--width", type=int, default=16)
    ap.add_argument("--pollers", type=int, default=0)
    ap.add_argument("--writers", type=int, default=0)
    ap.add_argument("--timeout", type=float, default=15.0)
    args = ap.parse_args()

    ctx = ssl.create_default_context(cafile=args.ca_file)
    base = urllib.parse.urlsplit(args.dir)
    c0 = Conn(base, ctx, args.timeout)
    status, _, data = c0.request("GET", args.dir)
    if status != 200:
        print(f"directory: HTTP {status}", file=sys.stderr)
        return 2
    dirs = json.loads(data)
    acct = Account()
    status, loc, data = c0.post(acct, dirs, dirs["newAccount"], {"termsOfServiceAgreed": True})
    if status not in (200, 201) or not loc:
        print(f"newAccount: HTTP {status}: {data[:200]!r}", file=sys.stderr)
        return 2
    acct.kid = loc

    todo = queue.Queue()
    for i in range(1, args.orders + 1):
        todo.put(i)
    lock = threading.Lock()
    authzs = []
    res = {"answered": 0, "created": 0, "failed": 0, "polls": 0, "updates": 0}
    hung = []
    errors = []
    stop = threading.Event()
    ordering_done = threading.Event()

    def orderer():
        c = Conn(base, ctx, args.timeout)
        while not stop.is_set():
            try:
                i = todo.get_nowait()
            except queue.Empty:
                return
            ids = [{"type": "dns", "value": f"o{i}.race.example"}]
            try:
                status, _, data = c.post(acct, dirs, dirs["newOrder"], {"identifiers": ids})
            except Hung as e:
                with lock:
                    hung.append(f"newOrder o{i}: {e}")
                stop.set()
                return
            except Exception as e:  # noqa: BLE001 (reported, then the run fails)
                with lock:
                    errors.append(f"newOrder o{i}: {e!r}")
                stop.set()
                return
            with lock:
                res["answered"] += 1
                if status == 201:
                    res["created"] += 1
                    authzs.extend(json.loads(data).get("authorizations", []))
                else:
                    res["failed"] += 1
                    errors.append(f"newOrder o{i}: HTTP {status}: {data[:200]!r}")

    def loop(what, counter, next_request):
        """Sends next_request()'s (url, payload) until the orders are done."""
        c = Conn(base, ctx, args.timeout)
        while not stop.is_set() and not ordering_done.is_set():
            url, payload = next_request()
            if url is None:
                time.sleep(0.001)
                continue
            try:
                c.post(acct, dirs, url, payload)
            except Hung as e:
                with lock:
                    hung.append(f"{what}: {e}")
                stop.set()
                return
            except Exception as e:  # noqa: BLE001
                with lock:
                    errors.append(f"{what}: {e!r}")
                stop.set()
                return
            with lock:
                res[counter] += 1

    def poller(k):
        n = [k]

        def next_authz():
            with lock:
                if not authzs:
                    return None, None
                n[0] += 7
                return authzs[n[0] % len(authzs)], None

        loop("authz poll", "polls", next_authz)

    def writer(k):
        n = [0]

        def next_update():
            n[0] += 1
            return acct.kid, {"contact": [f"mailto:w{k}-{n[0]}@race.example"]}

        loop("account update", "updates", next_update)

    start = time.monotonic()
    workers = [threading.Thread(target=orderer, daemon=True) for _ in range(args.width)]
    pollers = [threading.Thread(target=poller, args=(k,), daemon=True) for k in range(args.pollers)]
    pollers += [threading.Thread(target=writer, args=(k,), daemon=True) for k in range(args.writers)]
    for t in workers + pollers:
        t.start()
    for t in workers:
        t.join()
    ordering_done.set()
    for t in pollers:
        t.join()
    wall = time.monotonic() - start

    probe = {}
    if hung:
        # A fresh connection each: the hung ones are still waiting.
        p = Conn(base, ctx, 5.0)
        try:
            status, _, _ = p.request("GET", args.dir)
            probe["dir"] = f"HTTP{status}"
        except Hung:
            probe["dir"] = "hung"
        p = Conn(base, ctx, 5.0)
        try:
            status, _, _ = p.post(acct, dirs, acct.kid, None)
            probe["account"] = f"HTTP{status}"
        except Hung:
            probe["account"] = "hung"

    out = {
        "width": args.width,
        "pollers": args.pollers,
        "writers": args.writers,
        "orders": args.orders,
        "answered": res["answered"],
        "created": res["created"],
        "refused": res["failed"],
        "authz_polls": res["polls"],
        "account_updates": res["updates"],
        "hung": len(hung),
        "wall_s": f"{wall:.2f}",
    }
    out.update({f"probe_{k}": v for k, v in probe.items()})
    print(" ".join(f"{k}={v}" for k, v in out.items()))
    for h in hung[:5]:
        print(f"hung: {h}", file=sys.stderr)
    for e in errors[:5]:
        print(f"error: {e}", file=sys.stderr)
    if hung:
        return 1
    if errors or res["created"] != args.orders:
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
