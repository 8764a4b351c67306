#!/usr/bin/env python3
"""A scriptable ACME (RFC 8555) server for acmed's hostile-server tests.

Python 3 standard library only, plus the openssl command-line tool for the
certificates. It listens on 127.0.0.1 over TLS, implements enough of RFC 8555
for a client to get a certificate (directory with renewalInfo, newNonce,
newAccount, newOrder, POST-as-GET authorizations, orders and challenges,
finalize, certificate download) and RFC 9773's renewalInfo, and misbehaves on
request: a scenario picks what goes wrong.

    mock_acme.py --workdir DIR [--scenario NAME] [--log FILE] [--port N]

prints the port on stdout (one line) once it accepts connections, then serves
until SIGTERM or SIGINT. DIR receives (generated at start unless present):

    tls-ca.pem     the CA of the listener's certificate: the client's
                   --ca-file (or curl --cacert)
    tls.pem tls.key  the listener (SAN IP:127.0.0.1, DNS:localhost)
    root.pem       the issuing root; chain.pem's issuer
    int.pem        the intermediate that signs the leaves (the chain)
    requests.jsonl the request log (unless --log), see below

The directory is https://127.0.0.1:PORT/dir.

Scenarios. --scenario NAME, or at run time:

    curl --cacert DIR/tls-ca.pem -d '{"scenario": "token-dotdot"}' \\
        https://127.0.0.1:PORT/mock/config

NAME@KIND[,KIND...] applies a scenario to other endpoints than its default
(for instance body-not-json@authz). Kinds: directory, nonce, new-account,
account, new-order, order, authz, challenge, finalize, cert, renewal-info,
revoke, key-change. "good" (the default) behaves. --list-scenarios prints
them all with their defaults. Among them, for RFC 9773 (ARI): ari-past,
ari-far, ari-inverted, ari-404, ari-garbage (the renewalInfo window, like
the "ari" setting below), and already-replaced (newOrder carrying "replaces"
gets 409 alreadyReplaced; without it, the order goes through).

Other settings, on the command line or as members of the control JSON:

    ari            renewalInfo window: normal (now+1d .. now+2d), past (ended a
                   day ago), far (three years away), inverted (end before
                   start), 404, garbage (not JSON), custom (ari_start and
                   ari_end, seconds from now); none: the directory offers
                   no renewalInfo
    ari_start, ari_end        for ari=custom
    ari_retry_after           Retry-After on renewalInfo answers (seconds)
    validate_http_port        when set, a challenge POST fetches
                   http://127.0.0.1:PORT/.well-known/acme-challenge/TOKEN and
                   the authorization is valid only if the key authorization
                   matches; unset (the default), every challenge is valid
    stuck_seconds  retry-after-* scenarios: how long the order stays
                   "processing" before it turns invalid (default 3; 0: forever)
    cert_days      validity of issued leaves (default 90)
    new_order_barrier  N > 1: each newOrder waits until N newOrders are
                   waiting together (then all N are answered), or
                   barrier_seconds (default 10) have passed; the log says
                   which ("barrier": "met" or "timeout"). Shows a client
                   sending N newOrders at once, not one after the other.
    barrier_seconds    see new_order_barrier
    caa_identities the directory's meta.caaIdentities (default
                   ["mock.example"]; [] leaves the member out)
    dns_persist    true: authorizations of DNS names also offer a
                   dns-persist-01 challenge (draft-ietf-acme-dns-persist-01:
                   "issuer-domain-names", no token), validated by asking
                   dns_server for the TXT records at
                   _validation-persist.NAME (see "dns-persist-01" below)
    dns_server     HOST:PORT of that DNS server (pebble-challtestsrv's)
    dns_persist_issuers  the challenge's issuer-domain-names (default: the
                   caaIdentities)

GET /mock/config returns the settings; POST /mock/config with {} changes
nothing; {"reset": true} also forgets accounts and orders.

The request log has one JSON object per line, appended as requests arrive
(control requests are not logged):

    seq, time, method, path, host (the Host header), kind, id (the object's
    id in the path, if any), scenario, status (of the response),
    protected (the JWS protected header: alg, kid, nonce, url, jwk),
    payload (the decoded JWS payload: a JSON value, a string when it is not
    JSON, null for POST-as-GET), post_as_get (bool),
    replaces (newOrder's "replaces", or null),
    in_flight (newOrder: the newOrders arrived and not yet answered, this
    one included), barrier (newOrder: see new_order_barrier, else null),
    terms_agreed (newAccount's termsOfServiceAgreed, or null),
    csr_names (finalize: the CSR's subjectAltName entries)

JWS signatures are not verified.
"""

import argparse
import base64
import binascii
import datetime
import email.utils
import hashlib
import http.server
import json
import os
import re
import secrets
import signal
import socket
import ssl
import struct
import subprocess
import sys
import tempfile
import threading
import time
import traceback
import urllib.parse
import urllib.request
import zlib

ACME_ERR = "urn:ietf:params:acme:error:"
KINDS = (
    "directory", "nonce", "new-account", "account", "new-order", "order",
    "authz", "challenge", "finalize", "cert", "renewal-info", "revoke",
    "key-change",
)
POST_KINDS = tuple(k for k in KINDS if k not in ("directory", "nonce", "renewal-info"))

# ---------------------------------------------------------------- helpers


def b64u(data):
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def b64u_decode(text):
    if isinstance(text, str):
        text = text.encode("ascii", "replace")
    return base64.urlsafe_b64decode(text + b"=" * (-len(text) % 4))


def new_nonce():
    return b64u(secrets.token_bytes(16))


def rfc3339(t):
    return datetime.datetime.fromtimestamp(t, datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def openssl(*args, stdin=None):
    proc = subprocess.run(["openssl"] + list(args), input=stdin, capture_output=True)
    if proc.returncode != 0:
        raise RuntimeError("openssl %s: %s" % (" ".join(args), proc.stderr.decode(errors="replace")))
    return proc.stdout


def jwk_thumbprint(jwk):
    """RFC 7638."""
    if jwk.get("kty") == "EC":
        members = {k: jwk[k] for k in ("crv", "kty", "x", "y")}
    elif jwk.get("kty") == "RSA":
        members = {k: jwk[k] for k in ("e", "kty", "n")}
    else:
        members = {k: jwk[k] for k in sorted(jwk)}
    canon = json.dumps(members, sort_keys=True, separators=(",", ":")).encode()
    return b64u(hashlib.sha256(canon).digest())


# ------------------------------------------------------------ certificates

OPENSSL_CNF = """
[req]
distinguished_name = dn
prompt = no
[dn]
CN = mock
[ca]
basicConstraints = critical, CA:TRUE
keyUsage = critical, keyCertSign, cRLSign
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid:always
[tls]
basicConstraints = critical, CA:FALSE
keyUsage = critical, digitalSignature
extendedKeyUsage = serverAuth
subjectAltName = IP:127.0.0.1, DNS:localhost
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid:always
"""


class Pki:
    """The listener's certificate, the issuing CA, and the leaves."""

    def __init__(self, workdir):
        self.dir = workdir
        self.cnf = os.path.join(workdir, "openssl.cnf")
        with open(self.cnf, "w") as f:
            f.write(OPENSSL_CNF)
        p = self.path
        if not os.path.exists(p("tls.pem")):
            self._ca("tls-ca", "mock ACME listener CA", None)
            self._key("tls.key")
            self._sign_new("tls.key", "/CN=localhost", "tls-ca", "tls", p("tls.pem"), 7)
        if not os.path.exists(p("int.pem")):
            self._ca("root", "mock ACME root", None)
            self._ca("int", "mock ACME intermediate", "root")
            # For scenarios: a CA that signed nothing here, a key that is
            # not the client's.
            self._ca("other-ca", "mock ACME unrelated CA", None)
            self._key("other.key")
        with open(p("int.pem")) as f:
            self.int_pem = f.read()
        with open(p("other-ca.pem")) as f:
            self.other_ca_pem = f.read()
        with open(p("other.key")) as f:
            self.other_key_pem = f.read()

    def path(self, name):
        return os.path.join(self.dir, name)

    def _key(self, name):
        openssl("genpkey", "-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-256",
                "-out", self.path(name))

    def _ca(self, name, cn, issuer):
        p = self.path
        self._key(name + ".key")
        if issuer is None:
            openssl("req", "-x509", "-new", "-config", self.cnf, "-extensions", "ca",
                    "-key", p(name + ".key"), "-subj", "/CN=" + cn, "-days", "30",
                    "-out", p(name + ".pem"))
        else:
            self._sign_new(name + ".key", "/CN=" + cn, issuer, "ca", p(name + ".pem"), 30)

    def _sign_new(self, key, subj, issuer, section, out, days):
        p = self.path
        csr = openssl("req", "-new", "-config", self.cnf, "-key", p(key), "-subj", subj)
        openssl("x509", "-req", "-set_serial", "0x" + secrets.token_hex(8), "-days", str(days),
                "-CA", p(issuer + ".pem"), "-CAkey", p(issuer + ".key"),
                "-extfile", self.cnf, "-extensions", section, "-out", out, stdin=csr)

    @staticmethod
    def csr_names(csr_der):
        """The CSR's subjectAltName entries as [("dns"|"ip", value)]."""
        text = openssl("req", "-inform", "DER", "-noout", "-text", stdin=csr_der).decode()
        m = re.search(r"X509v3 Subject Alternative Name:[^\n]*\n\s*([^\n]*)", text)
        names = []
        if m:
            for entry in m.group(1).split(","):
                entry = entry.strip()
                if entry.startswith("DNS:"):
                    names.append(("dns", entry[4:]))
                elif entry.startswith("IP Address:"):
                    names.append(("ip", entry[11:]))
        return names

    def issue(self, csr_der, names, days=90, other_key=False, self_signed=False):
        """A PEM leaf for the CSR's key (or another) with these names."""
        san = ", ".join(("IP:" if t == "ip" else "DNS:") + v for t, v in names)
        cn = next((v for t, v in names if t == "dns"), "mock leaf")[:64]
        ext = ("basicConstraints = critical, CA:FALSE\n"
               "keyUsage = critical, digitalSignature\n"
               "extendedKeyUsage = serverAuth\n"
               "subjectKeyIdentifier = hash\n"
               "authorityKeyIdentifier = keyid:always\n"
               "subjectAltName = %s\n" % san)
        with tempfile.TemporaryDirectory(dir=self.dir) as tmp:
            extfile = os.path.join(tmp, "ext.cnf")
            with open(extfile, "w") as f:
                f.write("[leaf]\n" + ext)
            csr_pem = openssl("req", "-inform", "DER", "-outform", "PEM", stdin=csr_der)
            serial = "0x" + secrets.token_hex(12)
            if self_signed:
                with open(extfile, "w") as f:
                    f.write(OPENSSL_CNF + "[leaf]\n" + ext.replace("keyid:always", "keyid"))
                return openssl("req", "-x509", "-new", "-config", extfile,
                               "-key", self.path("other.key"), "-subj", "/CN=" + cn,
                               "-days", str(days), "-set_serial", serial,
                               "-extensions", "leaf").decode()
            args = ["x509", "-req", "-set_serial", serial, "-days", str(days),
                    "-CA", self.path("int.pem"), "-CAkey", self.path("int.key"),
                    "-subj", "/CN=" + cn, "-extfile", extfile, "-extensions", "leaf"]
            if other_key:
                pub = os.path.join(tmp, "other.pub")
                openssl("pkey", "-in", self.path("other.key"), "-pubout", "-out", pub)
                args += ["-force_pubkey", pub]
            return openssl(*args, stdin=csr_pem).decode()


# ------------------------------------------------------------------ state


class Obj:
    """An ACME object: an account, order, authorization or challenge."""

    def __init__(self, **kw):
        self.__dict__.update(kw)


class State:
    def __init__(self):
        self.lock = threading.RLock()
        self.seq = 0
        self.next_id = 0
        self.accounts = {}  # thumbprint -> Obj
        self.objects = {}  # id -> Obj
        self.hits = {}  # (scenario, kind) -> requests since the scenario was set

    def new_id(self, prefix):
        self.next_id += 1
        return "%s%d" % (prefix, self.next_id)


# -------------------------------------------------------------- responses


class Response:
    """What the handler sends. obj, when not None, is serialized as JSON into
    body at send time. mode: normal, reset (RST after part of the body),
    close (FIN after part of the body), trickle (one byte a second), stream
    (a chunked body of stream_size bytes)."""

    def __init__(self, status=200, obj=None, body=b"", ctype=None, headers=None):
        self.status = status
        self.obj = obj
        self.body = body
        self.ctype = ctype if ctype is not None else ("application/json" if obj is not None else None)
        self.headers = list(headers or [])
        self.mode = "normal"
        self.stream_size = 0
        self.stream_byte = b" "
        self.nonce = True

    def header(self, name):
        for k, v in self.headers:
            if k.lower() == name.lower():
                return v
        return None

    def set_header(self, name, value):
        self.del_header(name)
        self.headers.append((name, value))

    def del_header(self, name):
        self.headers = [(k, v) for k, v in self.headers if k.lower() != name.lower()]

    def payload(self):
        if self.obj is not None:
            return json.dumps(self.obj).encode()
        return self.body


def problem(status, type_, detail, **extra):
    obj = {"type": ACME_ERR + type_ if ":" not in type_ else type_, "detail": detail,
           "status": status}
    obj.update(extra)
    return Response(status, obj, ctype="application/problem+json")


# -------------------------------------------------------------- scenarios
#
# A scenario is (default kinds, description, pre, post): pre(server, ctx)
# may answer instead of the server (return a Response); post(server, ctx,
# resp) changes the server's answer in place. Both run only for requests of
# the scenario's kinds.

SCENARIOS = {}


# draft-ietf-acme-profiles: the directory's "profiles", and the validity
# of the certificates each issues (the default: cert_days).
PROFILES = {"classic": "the default, cert_days long",
            "shortlived": "6-day certificates"}
PROFILES_DAYS = {"shortlived": 6}


def define(name, kinds, doc, pre=None, post=None):
    SCENARIOS[name] = (tuple(kinds), doc, pre, post)


define("good", (), "a well-behaved CA")

# ---- tokens: every challenge of every authorization gets this token


def _token(value_fn):
    def post(srv, ctx, resp):
        if isinstance(resp.obj, dict):
            for ch in resp.obj.get("challenges", []):
                ch["token"] = value_fn(srv)
            if resp.obj.get("type") and "token" in resp.obj:
                resp.obj["token"] = value_fn(srv)
    return post


define("token-dotdot", ("authz", "challenge"), "token ../../etc/passwd",
       post=_token(lambda s: "../../etc/passwd"))
define("token-slash", ("authz", "challenge"), "token a/b", post=_token(lambda s: "a/b"))
define("token-empty", ("authz", "challenge"), "empty token", post=_token(lambda s: ""))
define("token-long", ("authz", "challenge"), "a 10 kB token (base64url characters)",
       post=_token(lambda s: "A" * 10240))
define("token-shell", ("authz", "challenge"),
       "token with shell metacharacters that would create WORKDIR/pwned",
       post=_token(lambda s: "$(touch %s);`touch %s`|touch %s" % ((s.pwned,) * 3)))
define("token-nul", ("authz", "challenge"), "token with a NUL (\\u0000) inside",
       post=_token(lambda s: "abc\u0000def"))
def _no_token(srv, ctx, resp):
    if isinstance(resp.obj, dict):
        for ch in resp.obj.get("challenges", []):
            ch.pop("token", None)


define("token-missing", ("authz",), "challenges without a token", post=_no_token)

# ---- identifiers


def _order_ids(change):
    def post(srv, ctx, resp):
        if isinstance(resp.obj, dict) and "identifiers" in resp.obj:
            change(resp.obj["identifiers"])
    return post


def _other_ids(ids):
    for i, ident in enumerate(ids):
        ids[i] = {"type": "dns", "value": "other%d.example" % i}


define("order-other-ids", ("new-order", "order"), "the order's identifiers are other names",
       post=_order_ids(_other_ids))
define("order-extra-ids", ("new-order", "order"), "the order has an extra identifier",
       post=_order_ids(lambda ids: ids.append({"type": "dns", "value": "evil.example"})))
def _fewer_ids(ids):
    if len(ids) > 1:
        ids.pop()
    else:
        ids[0] = {"type": "dns", "value": "evil.example"}


define("order-fewer-ids", ("new-order", "order"), "the order lacks the last identifier",
       post=_order_ids(_fewer_ids))


def _authz_other_id(srv, ctx, resp):
    if isinstance(resp.obj, dict) and "identifier" in resp.obj:
        resp.obj["identifier"] = {"type": "dns", "value": "evil.example"}


define("authz-other-id", ("authz",), "authorizations are for evil.example", post=_authz_other_id)


def _authz_many(n):
    def post(srv, ctx, resp):
        if isinstance(resp.obj, dict) and resp.obj.get("authorizations"):
            first = resp.obj["authorizations"][0]
            resp.obj["authorizations"] = [first + "?n=%d" % i for i in range(n)]
    return post


define("authz-1000", ("new-order",), "1000 authorizations in the order", post=_authz_many(1000))


def _authz_extra(srv, ctx, resp):
    if isinstance(resp.obj, dict) and resp.obj.get("authorizations"):
        resp.obj["authorizations"].append(resp.obj["authorizations"][0] + "?extra=1")


define("authz-extra", ("new-order",), "one authorization more than identifiers",
       post=_authz_extra)

# ---- URLs


def _swap_scheme(url, scheme):
    return scheme + url.split("://", 1)[1] if "://" in url else scheme + url


def _order_url(field, fn):
    def post(srv, ctx, resp):
        if isinstance(resp.obj, dict) and field in resp.obj:
            v = resp.obj[field]
            resp.obj[field] = [fn(srv, u) for u in v] if isinstance(v, list) else fn(srv, v)
    return post


define("url-http-finalize", ("new-order", "order"), "finalize is an http:// URL",
       post=_order_url("finalize", lambda s, u: _swap_scheme(u, "http://")))
define("url-http-authz", ("new-order", "order"), "authorizations are http:// URLs",
       post=_order_url("authorizations", lambda s, u: _swap_scheme(u, "http://")))
define("url-file-authz", ("new-order", "order"), "authorizations are file:///etc/passwd",
       post=_order_url("authorizations", lambda s, u: "file:///etc/passwd"))
define("url-http-cert", ("order", "finalize"), "the certificate URL is http://",
       post=_order_url("certificate", lambda s, u: _swap_scheme(u, "http://")))
define("url-file-cert", ("order", "finalize"), "the certificate URL is file:///etc/passwd",
       post=_order_url("certificate", lambda s, u: "file:///etc/passwd"))
define("url-other-host", ("new-order", "order"),
       "authorizations on https://localhost:PORT (another host, same server)",
       post=_order_url("authorizations",
                       lambda s, u: u.replace("https://%s:" % s.host, "https://localhost:")))


def _chall_http(srv, ctx, resp):
    if isinstance(resp.obj, dict):
        for ch in resp.obj.get("challenges", []):
            ch["url"] = _swap_scheme(ch["url"], "http://")


define("url-http-challenge", ("authz",), "challenge URLs are http://", post=_chall_http)


def _directory_http(srv, ctx, resp):
    if isinstance(resp.obj, dict):
        for k, v in resp.obj.items():
            if isinstance(v, str):
                resp.obj[k] = _swap_scheme(v, "http://")


define("url-http-directory", ("directory",), "every URL in the directory is http://",
       post=_directory_http)


def _location(fn):
    def post(srv, ctx, resp):
        loc = resp.header("Location")
        if loc is not None:
            v = fn(srv, loc)
            if v is None:
                resp.del_header("Location")
            else:
                resp.set_header("Location", v)
    return post


define("url-http-location", ("new-order",), "newOrder's Location is http://",
       post=_location(lambda s, u: _swap_scheme(u, "http://")))
define("no-location-order", ("new-order",), "newOrder answers 201 without Location",
       post=_location(lambda s, u: None))
define("no-location-account", ("new-account",), "newAccount answers 201 without Location",
       post=_location(lambda s, u: None))


def _redirect(srv, ctx):
    return Response(302, None, b"", headers=[("Location", srv.base + ctx.path + "?redirected=1")])


define("redirect", ("authz",), "302 to the same URL with ?redirected=1", pre=_redirect)
define("redirect-http", ("authz",), "302 to an http:// URL",
       pre=lambda s, c: Response(302, None, b"",
                                 headers=[("Location", _swap_scheme(s.base, "http://") + c.path)]))

# ---- bodies


def _body(body, ctype="application/json", status=None, headers=()):
    def post(srv, ctx, resp):
        resp.obj = None
        resp.body = body(srv, ctx) if callable(body) else body
        resp.ctype = ctype
        if status is not None:
            resp.status = status
        for k, v in headers:
            resp.set_header(k, v)
    return post


def _truncated(srv, ctx):
    return b'{"status": "pending", "identifiers": [{"type": "dns", "val'


def _huge(srv, ctx):
    return b'{"status": "pending", "padding": "' + b"A" * (2 * 1024 * 1024) + b'"}'


def _nested(srv, ctx):
    return b"[" * 10000 + b"]" * 10000


def _nested_obj(srv, ctx):
    return b'{"a":' * 10000 + b"1" + b"}" * 10000


def _dupkeys(srv, ctx, resp):
    if resp.obj is not None:
        text = json.dumps(resp.obj)
        resp.obj = None
        # "status" twice, the second contradicting the first; every other
        # member duplicated too.
        resp.body = ('{"status": "invalid", ' + text[1:-1] + ", " + text[1:]).encode()


GZIP_BOMB = None


def _gzip_bomb(srv, ctx):
    global GZIP_BOMB
    if GZIP_BOMB is None:
        comp = zlib.compressobj(9, zlib.DEFLATED, 31)
        zeros = b"\0" * (1 << 20)
        parts = [comp.compress(zeros) for _ in range(100)]
        parts.append(comp.flush())
        GZIP_BOMB = b"".join(parts)
    return GZIP_BOMB


HTML = (b"<!DOCTYPE html>\n<html><head><title>502 Bad Gateway</title></head>\n"
        b"<body><h1>Bad Gateway</h1><p>The proxy got an invalid answer.</p>"
        b"<script>alert(1)</script></body></html>\n")

define("body-not-json", ("new-order",), "the body is not JSON",
       post=_body(b"this is not JSON\n"))
define("body-empty", ("new-order",), "an empty body", post=_body(b""))
define("body-array", ("new-order",), "a JSON array instead of an object",
       post=_body(b'[{"status": "pending"}]'))
define("body-truncated", ("new-order",), "JSON cut in the middle", post=_body(_truncated))
define("body-huge", ("new-order",), "a 2 MiB JSON body with Content-Length (the cap is 1 MiB)",
       post=_body(_huge))
define("body-nested", ("new-order",), "arrays nested 10,000 deep", post=_body(_nested))
define("body-nested-object", ("new-order",), "objects nested 10,000 deep",
       post=_body(_nested_obj))
define("body-dupkeys", ("new-order",), "every member twice, status first 'invalid'",
       post=_dupkeys)
define("body-html", ("new-order",), "a 502 HTML error page",
       post=_body(HTML, "text/html; charset=utf-8", 502))
define("body-html-200", ("new-order",), "an HTML page with status 201 and Location",
       post=_body(HTML, "text/html; charset=utf-8"))
define("body-gzip-bomb", ("new-order",),
       "100 MiB of zeros gzipped (about 100 kB) with Content-Encoding: gzip",
       post=_body(_gzip_bomb, headers=[("Content-Encoding", "gzip")]))


def _stream(size):
    def post(srv, ctx, resp):
        resp.mode = "stream"
        resp.stream_size = size
        resp.obj = None
        resp.ctype = "application/json"
    return post


define("body-stream-100m", ("new-order",), "a chunked body of 100 MB (no Content-Length)",
       post=_stream(100 * 1000 * 1000))

# ---- headers


def _no_nonce(srv, ctx, resp):
    resp.nonce = False


def _long_nonce(srv, ctx, resp):
    resp.nonce = False
    resp.set_header("Replay-Nonce", b64u(secrets.token_bytes(7680)))  # 10240 characters


def _bad_nonce_chars(srv, ctx, resp):
    resp.nonce = False
    resp.set_header("Replay-Nonce", "abc def;/+==")


define("nonce-missing", KINDS, "no Replay-Nonce on any response", post=_no_nonce)
define("nonce-long", KINDS, "a 10 kB Replay-Nonce on every response", post=_long_nonce)
define("nonce-bad-chars", KINDS, "a Replay-Nonce that is not base64url", post=_bad_nonce_chars)


def _links(n):
    def post(srv, ctx, resp):
        for i in range(n):
            resp.headers.append(("Link", '<%s/dir?i=%d>;rel="index"' % (srv.base, i)))
        if ctx.kind == "cert":
            resp.headers.append(("Link", '<%s/cert/none>;rel="alternate"' % srv.base))
    return post


define("links-100", KINDS, "100 Link headers on every response (a good CA otherwise)",
       post=_links(100))


def _header_flood(srv, ctx, resp):
    for i in range(5000):
        resp.headers.append(("X-Junk-%d" % i, "x" * 64))


define("header-flood", ("new-order",), "5000 junk headers (about 400 kB)", post=_header_flood)

# Retry-After on an order that stays "processing" after finalize for
# stuck_seconds, then turns invalid.


def _stuck(value):
    def post(srv, ctx, resp):
        order = ctx.order
        if order is None or not isinstance(resp.obj, dict):
            return
        if order.finalized_at is None:
            return
        if srv.cfg["stuck_seconds"] and time.time() - order.finalized_at >= srv.cfg["stuck_seconds"]:
            resp.obj["status"] = "invalid"
            resp.obj.pop("certificate", None)
            resp.obj["error"] = {"type": ACME_ERR + "serverInternal",
                                 "detail": "mock: the order was stuck on purpose"}
            return
        resp.obj["status"] = "processing"
        resp.obj.pop("certificate", None)
        resp.set_header("Retry-After", value(srv) if callable(value) else value)
    return post


def _past_date(srv):
    return email.utils.formatdate(time.time() - 86400, usegmt=True)


define("retry-after-huge", ("finalize", "order"),
       "order processing with Retry-After: 99999999999999999999", post=_stuck("99999999999999999999"))
define("retry-after-negative", ("finalize", "order"),
       "order processing with Retry-After: -5", post=_stuck("-5"))
define("retry-after-past", ("finalize", "order"),
       "order processing with Retry-After a day in the past", post=_stuck(_past_date))
define("retry-after-zero", ("finalize", "order"),
       "order processing with Retry-After: 0", post=_stuck("0"))
define("retry-after-garbage", ("finalize", "order"),
       "order processing with Retry-After: soon", post=_stuck("soon"))

# ---- HTTP errors


def _rate_limited(srv, ctx):
    r = problem(429, "rateLimited", "mock: too many new orders, retry after 3600 seconds")
    r.set_header("Retry-After", "3600")
    return r


def _unavailable(srv, ctx):
    r = problem(503, "serverInternal", "mock: service unavailable, retry after 120 seconds")
    r.set_header("Retry-After", "120")
    return r


def _refuse_first(n, status, type_, retry_after):
    # The first n requests of each of the scenario's kinds get status with
    # Retry-After (None: without); the rest go through.
    def pre(srv, ctx):
        key = (srv.cfg["scenario"], ctx.kind)
        with srv.state.lock:
            seen = srv.state.hits.get(key, 0)
            srv.state.hits[key] = seen + 1
        if n is not None and seen >= n:
            return None
        r = problem(status, type_, "mock: refused on purpose (%d)" % (seen + 1))
        if retry_after is not None:
            r.set_header("Retry-After", retry_after)
        return r
    return pre


define("rate-limited", ("new-order",), "429 rateLimited with Retry-After: 3600", pre=_rate_limited)
define("rate-limited-briefly", ("new-order",),
       "429 rateLimited with Retry-After: 1 on the first two newOrders, then through",
       pre=_refuse_first(2, 429, "rateLimited", "1"))
define("unavailable-briefly", ("new-account", "new-order", "finalize"),
       "503 without Retry-After on the first request of newAccount/newOrder/finalize",
       pre=_refuse_first(1, 503, "serverInternal", None))
define("unavailable-short", ("new-order",), "503 with Retry-After: 2 on every newOrder",
       pre=_refuse_first(None, 503, "serverInternal", "2"))
define("unavailable", ("new-order",), "503 with Retry-After: 120", pre=_unavailable)
define("unavailable-html", ("new-order",), "503 text/html with Retry-After: 120",
       pre=lambda s, c: Response(503, None, HTML, "text/html", [("Retry-After", "120")]))
define("error-500-storm", POST_KINDS, "every POST answers 500 serverInternal",
       pre=lambda s, c: problem(500, "serverInternal", "mock: internal error"))


def _transport(mode):
    def post(srv, ctx, resp):
        resp.mode = mode
    return post


define("reset-mid-body", ("new-order",), "Content-Length 4096, 100 bytes, then a TCP reset",
       post=_transport("reset"))
define("close-mid-body", ("new-order",), "Content-Length 4096, 100 bytes, then close",
       post=_transport("close"))
define("trickle", ("cert",), "the body at one byte a second", post=_transport("trickle"))

# ---- certificates (the download)


def _cert(make):
    def post(srv, ctx, resp):
        if resp.status != 200 or ctx.order is None:
            return
        body = make(srv, ctx.order)
        resp.obj = None
        resp.body = body.encode() if isinstance(body, str) else body
        resp.ctype = "application/pem-certificate-chain"
    return post


def _reissue(names=None, **opts):
    """Another leaf for the order's CSR (cached per order and scenario)."""
    def make(srv, order):
        key = srv.cfg["scenario"]
        if key not in order.variants:
            ids = names(order.names) if names else order.names
            order.variants[key] = srv.pki.issue(order.csr, ids, **opts) + srv.pki.int_pem
        return order.variants[key]
    return make


define("cert-private-key", ("cert",), "the chain carries a PRIVATE KEY block",
       post=_cert(lambda s, o: o.pem + s.pki.other_key_pem))
define("cert-key-only", ("cert",), "the body is a PRIVATE KEY block alone",
       post=_cert(lambda s, o: s.pki.other_key_pem))
define("cert-other-key", ("cert",), "the leaf is for another key",
       post=_cert(_reissue(other_key=True)))
define("cert-other-names", ("cert",), "the leaf is for other names",
       post=_cert(_reissue(names=lambda ns: [("dns", "other%d.example" % i) for i, _ in enumerate(ns)])))
define("cert-extra-name", ("cert",), "the leaf has one name more",
       post=_cert(_reissue(names=lambda ns: list(ns) + [("dns", "evil.example")])))
define("cert-fewer-names", ("cert",), "the leaf lacks the last name",
       post=_cert(_reissue(names=lambda ns: list(ns)[:-1] or [("dns", "evil.example")])))
define("cert-expired", ("cert",), "the leaf expired yesterday",
       post=_cert(_reissue(days=-1)))
define("cert-self-signed", ("cert",), "a self-signed leaf with the right names",
       post=_cert(_reissue(self_signed=True)))
define("cert-chain-500", ("cert",), "the leaf and 500 copies of the intermediate",
       post=_cert(lambda s, o: o.leaf + s.pki.int_pem * 500))
define("cert-chain-unrelated", ("cert",), "the leaf and a CA that did not sign it",
       post=_cert(lambda s, o: o.leaf + s.pki.other_ca_pem))
define("cert-garbage", ("cert",), "the body is not PEM",
       post=_cert(lambda s, o: "this is not a certificate\n"))
define("cert-der", ("cert",), "the leaf in DER",
       post=_cert(lambda s, o: openssl("x509", "-outform", "DER", stdin=o.leaf.encode())))
define("cert-trailing-text", ("cert",), "the chain followed by text",
       post=_cert(lambda s, o: o.pem + "\n$(touch pwned)\n"))
define("cert-bad-base64", ("cert",), "a CERTIFICATE block with broken base64",
       post=_cert(lambda s, o: "-----BEGIN CERTIFICATE-----\n!!!!not base64!!!!\n"
                  "-----END CERTIFICATE-----\n"))

# ---- nonces and problems


def _bad_nonce(srv, ctx):
    return problem(400, "badNonce", "mock: JWS has an invalid anti-replay nonce")


define("bad-nonce-forever", POST_KINDS, "every POST answers 400 badNonce", pre=_bad_nonce)


def _uar(srv, ctx):
    r = problem(403, "userActionRequired", "mock: the terms of service have changed",
                instance=srv.base + "/tos-v2-agree")
    r.headers.append(("Link", '<%s/terms-v2>;rel="terms-of-service"' % srv.base))
    return r


define("user-action-required", ("new-order",),
       "403 userActionRequired with instance https://127.0.0.1:PORT/tos-v2-agree", pre=_uar)


def _already_replaced(srv, ctx):
    if isinstance(ctx.payload, dict) and ctx.payload.get("replaces") is not None:
        return problem(409, "alreadyReplaced",
                       "mock: the certificate %s was already replaced" % ctx.payload["replaces"])
    return None


define("already-replaced", ("new-order",),
       "newOrder carrying replaces answers 409 alreadyReplaced", pre=_already_replaced)


def _account_deactivated(srv, ctx):
    return problem(403, "unauthorized", "mock: account is deactivated")


define("unauthorized", ("new-order",), "newOrder answers 403 unauthorized",
       pre=_account_deactivated)
def _authz_invalid(srv, ctx, resp):
    if isinstance(resp.obj, dict):
        resp.obj["status"] = "invalid"
        for ch in resp.obj.get("challenges", []):
            ch["status"] = "invalid"
            # Terminal escapes and a newline: a client shows them as text
            # on one line, or not at all.
            ch["error"] = {"type": ACME_ERR + "unauthorized",
                           "detail": "mock: \u001b[31mred\u001b[0m\nsecond line"}


define("authz-invalid", ("authz",),
       "the authorization is invalid; the challenge error has escapes and a newline",
       post=_authz_invalid)


def _problem_huge_detail(srv, ctx):
    return problem(400, "malformed", "x" * 100000 + "\n\u001b[2J")


define("problem-huge-detail", ("new-order",), "a problem whose detail is 100 kB with escapes",
       pre=_problem_huge_detail)

# ---- ARI: renewalInfo answers (the "ari" setting does the same for every
# scenario)


def _ari(mode):
    return lambda srv, ctx: srv.renewal_info(ctx, mode)


for _mode, _doc in (("past", "a window that ended a day ago"),
                    ("far", "a window three years away"),
                    ("inverted", "a window whose end is before its start"),
                    ("404", "404 for every certificate"),
                    ("garbage", "a body that is not JSON")):
    define("ari-" + _mode, ("renewal-info",), "renewalInfo: " + _doc, pre=_ari(_mode))

# ------------------------------------------------------------ dns-persist-01
#
# draft-ietf-acme-dns-persist-01 (March 2026): with the dns_persist setting,
# every authorization of a DNS name also offers a "dns-persist-01" challenge
# naming the issuer domain names the record may use ("issuer-domain-names",
# section 3.1; no token). Answering it makes the mock ask dns_server for the
# TXT records at _validation-persist.NAME and apply sections 4.1 to 4.3 and
# 5: one of them must name one of those issuers, carry accounturi equal to
# the account's URL (octet for octet), policy=wildcard for a wildcard
# authorization, and a persistUntil not passed. A failure is a problem
# document on the challenge (section 9.3.1: malformed for a record that
# cannot be read, unauthorized for one that does not authorise).

PERSIST_LABEL = "_validation-persist"
_LDH = r"[A-Za-z0-9](?:-*[A-Za-z0-9])*"
# RFC 8659 section 4.2, issue-value; value = *(%x21-3A / %x3C-7E).
_ISSUE_VALUE = re.compile(
    r"[ \t]*(?P<issuer>%s(?:\.%s)*)?[ \t]*(?:;[ \t]*(?P<params>%s[ \t]*=[ \t]*[\x21-\x3a\x3c-\x7e]*"
    r"(?:[ \t]*;[ \t]*%s[ \t]*=[ \t]*[\x21-\x3a\x3c-\x7e]*)*)?[ \t]*)?" % (_LDH, _LDH, _LDH, _LDH))
_PARAM = re.compile(r"[ \t]*(%s)[ \t]*=[ \t]*([\x21-\x3a\x3c-\x7e]*)[ \t]*" % _LDH)


def dns_txt(server, name, timeout=5.0):
    """The TXT records at name, each one's strings joined (bytes), asked of
    server ("HOST:PORT") over UDP, again over TCP when the answer is
    truncated (RFC 1035 sections 4.1 and 4.2). Raises OSError or ValueError
    when there is no usable answer; NXDOMAIN is no record."""
    host, port = server.rsplit(":", 1)
    qid = secrets.randbelow(65536)
    qname = b"".join(bytes([len(label)]) + label.encode("ascii")
                     for label in name.rstrip(".").split(".")) + b"\0"
    query = struct.pack("!HHHHHH", qid, 0x0100, 1, 0, 0, 0) + qname + struct.pack("!HH", 16, 1)
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.settimeout(timeout)
        s.sendto(query, (host, int(port)))
        while True:
            msg, _ = s.recvfrom(65535)
            if len(msg) >= 2 and struct.unpack("!H", msg[:2])[0] == qid:
                break
    if len(msg) >= 4 and struct.unpack("!H", msg[2:4])[0] & 0x0200:
        with socket.create_connection((host, int(port)), timeout=timeout) as s:
            s.sendall(struct.pack("!H", len(query)) + query)
            buf = b""
            while len(buf) < 2 or len(buf) < 2 + struct.unpack("!H", buf[:2])[0]:
                chunk = s.recv(65535)
                if not chunk:
                    raise ValueError("the TCP answer was cut short")
                buf += chunk
            msg = buf[2:2 + struct.unpack("!H", buf[:2])[0]]
    return _dns_txt_answers(msg, qid)


def _dns_skip_name(msg, i):
    while True:
        if i >= len(msg):
            raise ValueError("a name runs past the message")
        n = msg[i]
        if n & 0xC0 == 0xC0:
            return i + 2
        if n == 0:
            return i + 1
        i += 1 + n


def _dns_txt_answers(msg, qid):
    if len(msg) < 12:
        raise ValueError("a DNS answer of %d octets" % len(msg))
    rid, flags, qd, an, _, _ = struct.unpack("!HHHHHH", msg[:12])
    if rid != qid or not flags & 0x8000:
        raise ValueError("not the answer to the query")
    rcode = flags & 0xF
    if rcode == 3:
        return []
    if rcode != 0:
        raise ValueError("DNS rcode %d" % rcode)
    i = 12
    for _ in range(qd):
        i = _dns_skip_name(msg, i) + 4
    records = []
    for _ in range(an):
        i = _dns_skip_name(msg, i)
        rtype, _, _, rdlen = struct.unpack("!HHIH", msg[i:i + 10])
        i += 10
        rdata = msg[i:i + rdlen]
        i += rdlen
        if rtype != 16:
            continue
        joined, j = b"", 0
        while j < len(rdata):
            joined += rdata[j + 1:j + 1 + rdata[j]]
            j += 1 + rdata[j]
        records.append(joined)
    return records


def persist_read(record):
    """(issuer or "", {tag in lower case: value}) of a record (bytes), or
    ValueError(why) for one that is no issue-value or whose parameters the
    draft forbids: a known one twice, no accounturi or an empty one, a
    persistUntil that is not decimal digits."""
    text = record.decode("latin-1")
    m = _ISSUE_VALUE.fullmatch(text)
    if m is None:
        raise ValueError("%r is not an RFC 8659 issue-value" % text[:100])
    params = {}
    for part in m.group("params").split(";") if m.group("params") else []:
        tag, value = _PARAM.fullmatch(part).groups()
        tag = tag.lower()
        if tag in ("accounturi", "policy", "persistuntil"):
            if tag in params:
                raise ValueError("parameter %s given twice" % tag)
            params[tag] = value
    if not params.get("accounturi"):
        raise ValueError("no accounturi")
    until = params.get("persistuntil")
    if until is not None and not re.fullmatch(r"[0-9]{1,19}", until):
        raise ValueError("persistUntil %r is not UNIX seconds" % until)
    return (m.group("issuer") or "").lower(), params


def persist_verdict(records, issuers, account, wildcard, now):
    """None when one of records authorises, else (problem type, detail)."""
    if not records:
        return "unauthorized", "no TXT record"
    reasons = []
    for rec in records:
        try:
            issuer, params = persist_read(rec)
        except ValueError as err:
            # Section 4.3.2: only the records naming this CA count; an
            # unreadable one is reported when nothing better is found.
            reasons.append((2, "malformed", str(err)))
            continue
        if issuer not in issuers:
            reasons.append((1, "unauthorized", "no record names %s (one names %r)"
                            % (" or ".join(issuers), issuer)))
            continue
        if params["accounturi"] != account:
            reasons.append((3, "unauthorized", "accounturi is %r, not the account %s"
                            % (params["accounturi"], account)))
        elif wildcard and params.get("policy", "").lower() != "wildcard":
            reasons.append((3, "unauthorized", "a wildcard needs policy=wildcard"))
        elif "persistuntil" in params and now > int(params["persistuntil"]):
            reasons.append((3, "unauthorized", "persistUntil %s has passed"
                            % params["persistuntil"]))
        else:
            return None
    reasons.sort(key=lambda r: -r[0])
    return reasons[0][1], reasons[0][2]


def _persist_issuers(value):
    def post(srv, ctx, resp):
        if isinstance(resp.obj, dict):
            for ch in resp.obj.get("challenges", []):
                if ch.get("type") == "dns-persist-01":
                    ch["issuer-domain-names"] = value
    return post


define("persist-issuers-empty", ("authz",),
       "dns-persist-01 challenges name no issuer domain (an empty array)",
       post=_persist_issuers([]))
define("persist-issuers-11", ("authz",),
       "dns-persist-01 challenges name 11 issuer domains (the limit is 10)",
       post=_persist_issuers(["ca%d.mock.example" % i for i in range(11)]))
define("persist-issuers-bad", ("authz",),
       "dns-persist-01 issuer-domain-names are not names: upper case, a dot at the end, 300 octets",
       post=_persist_issuers(["Mock.Example", "mock.example.", "a" * 300, 7]))

# ------------------------------------------------------------------ server


class Ctx:
    def __init__(self, method, path, query, kind, oid):
        self.method = method
        self.path = path
        self.query = query
        self.kind = kind
        self.id = oid
        self.protected = None
        self.payload = None
        self.post_as_get = False
        self.order = None
        self.csr_names = None


class Mock:
    def __init__(self, workdir, host, cfg, log_path):
        self.workdir = workdir
        self.host = host
        self.cfg = cfg
        self.state = State()
        self.pki = Pki(workdir)
        self.log_path = log_path
        self.log_lock = threading.Lock()
        self.pwned = os.path.join(workdir, "pwned")
        self.base = None
        # newOrders arrived and not answered; new_order_barrier's waiters
        # and how many times it opened.
        self.new_orders = threading.Condition()
        self.new_orders_in = 0
        self.barrier_waiting = 0
        self.barrier_opened = 0

    # -- scenario

    def scenario(self):
        name = self.cfg["scenario"]
        target = None
        if "@" in name:
            name, target = name.split("@", 1)
        spec = SCENARIOS.get(name)
        if spec is None:
            return None, (), None, None
        kinds = tuple(target.split(",")) if target else spec[0]
        return name, kinds, spec[2], spec[3]

    # -- objects

    def url(self, kind, oid):
        return "%s/%s/%s" % (self.base, kind, oid)

    def order_obj(self, order):
        self.refresh(order)
        obj = {
            "status": order.status,
            "expires": rfc3339(order.created + 7 * 86400),
            "identifiers": [{"type": t, "value": v} for t, v in order.ids],
            "authorizations": [self.url("authz", a) for a in order.authzs],
            "finalize": self.url("finalize", order.id),
        }
        if order.replaces is not None:
            obj["replaces"] = order.replaces
        if order.profile is not None:
            obj["profile"] = order.profile
        if order.status == "valid":
            obj["certificate"] = self.url("cert", order.id)
        if order.error is not None:
            obj["error"] = order.error
        return obj

    def refresh(self, order):
        st = self.state
        if order.status == "pending":
            statuses = [st.objects[a].status for a in order.authzs]
            if all(s == "valid" for s in statuses):
                order.status = "ready"
            elif any(s == "invalid" for s in statuses):
                order.status = "invalid"

    def authz_obj(self, authz):
        st = self.state
        t, v = authz.ident
        obj = {
            "status": authz.status,
            "expires": rfc3339(time.time() + 7 * 86400),
            "identifier": {"type": t, "value": v[2:] if authz.wildcard else v},
            "challenges": [self.chall_obj(st.objects[c]) for c in authz.challs],
        }
        if authz.wildcard:
            obj["wildcard"] = True
        return obj

    def persist_issuers(self):
        """The issuer domain names dns-persist-01 challenges name: the
        dns_persist_issuers setting, else the directory's caaIdentities
        (draft-ietf-acme-dns-persist-01 section 2 suggests them)."""
        names = self.cfg.get("dns_persist_issuers")
        if names is None:
            names = self.cfg.get("caa_identities")
        return list(names) if names is not None else ["mock.example"]

    def chall_obj(self, ch):
        obj = {"type": ch.type, "url": self.url("chall", ch.id), "status": ch.status,
               "token": ch.token}
        if ch.type == "dns-persist-01":
            # Section 3.1: no token; the names a record may use.
            del obj["token"]
            obj["issuer-domain-names"] = self.persist_issuers()
        if ch.validated is not None:
            obj["validated"] = rfc3339(ch.validated)
        if ch.error is not None:
            obj["error"] = ch.error
        return obj

    # -- endpoints

    def handle(self, ctx):
        st = self.state
        kind = ctx.kind
        if kind == "directory":
            meta = {"termsOfService": self.base + "/terms", "website": "https://example.com/mock",
                    "caaIdentities": ["mock.example"], "externalAccountRequired": False,
                    "profiles": PROFILES}
            if self.cfg.get("caa_identities") is not None:
                meta["caaIdentities"] = self.cfg["caa_identities"]
                if not meta["caaIdentities"]:
                    del meta["caaIdentities"]
            directory = {
                "newNonce": self.base + "/nonce", "newAccount": self.base + "/new-acct",
                "newOrder": self.base + "/new-order", "revokeCert": self.base + "/revoke",
                "keyChange": self.base + "/key-change",
                "renewalInfo": self.base + "/renewal-info", "meta": meta,
            }
            if self.cfg.get("ari") == "none":
                del directory["renewalInfo"]
            return Response(200, directory)
        if kind == "nonce":
            return Response(200 if ctx.method == "HEAD" else 204, None, b"",
                            headers=[("Cache-Control", "no-store")])
        if kind == "terms":
            return Response(200, None, b"mock terms of service\n", "text/plain")
        if kind == "renewal-info":
            return self.renewal_info(ctx)
        if ctx.method != "POST":
            return problem(405, "malformed", "mock: use POST")
        if ctx.protected is None:
            return problem(400, "malformed", "mock: not a JWS")
        if kind == "new-account":
            return self.new_account(ctx)
        acct = self.account_of(ctx)
        if acct is None and kind not in ("revoke",):
            return problem(400, "accountDoesNotExist", "mock: unknown account")
        if kind == "account":
            if isinstance(ctx.payload, dict):
                if "contact" in ctx.payload:
                    acct.contact = ctx.payload["contact"]
                if ctx.payload.get("status") == "deactivated":
                    acct.status = "deactivated"
            return Response(200, self.account_json(acct))
        if kind == "new-order":
            return self.new_order(ctx, acct)
        obj = st.objects.get(ctx.id)
        if kind == "order":
            if obj is None or obj.kind != "order":
                return problem(404, "malformed", "mock: no such order")
            ctx.order = obj
            return Response(200, self.order_obj(obj))
        if kind == "authz":
            if obj is None or obj.kind != "authz":
                return problem(404, "malformed", "mock: no such authorization")
            ctx.order = st.objects[obj.order]
            if isinstance(ctx.payload, dict) and ctx.payload.get("status") == "deactivated":
                obj.status = "deactivated"
            return Response(200, self.authz_obj(obj))
        if kind == "challenge":
            if obj is None or obj.kind != "chall":
                return problem(404, "malformed", "mock: no such challenge")
            authz = st.objects[obj.authz]
            ctx.order = st.objects[authz.order]
            if not ctx.post_as_get and obj.status == "pending":
                self.validate(obj, authz, acct)
            r = Response(200, self.chall_obj(obj))
            r.headers.append(("Link", '<%s>;rel="up"' % self.url("authz", authz.id)))
            return r
        if kind == "finalize":
            if obj is None or obj.kind != "order":
                return problem(404, "malformed", "mock: no such order")
            ctx.order = obj
            return self.finalize(ctx, obj)
        if kind == "cert":
            if obj is None or obj.kind != "order" or obj.pem is None:
                return problem(404, "malformed", "mock: no such certificate")
            ctx.order = obj
            r = Response(200, None, obj.pem.encode(), "application/pem-certificate-chain")
            return r
        if kind == "revoke":
            return Response(200, None, b"")
        if kind == "key-change":
            return Response(200, None, b"")
        return problem(404, "malformed", "mock: no such resource")

    def account_json(self, acct):
        return {"status": acct.status, "contact": acct.contact,
                "orders": self.url("orders", acct.id)}

    def account_of(self, ctx):
        kid = ctx.protected.get("kid")
        if not isinstance(kid, str):
            return None
        for acct in self.state.accounts.values():
            if self.url("acct", acct.id) == kid:
                return acct
        return None

    def new_account(self, ctx):
        st = self.state
        jwk = ctx.protected.get("jwk")
        if not isinstance(jwk, dict):
            return problem(400, "malformed", "mock: newAccount without jwk")
        thumb = jwk_thumbprint(jwk)
        p = ctx.payload if isinstance(ctx.payload, dict) else {}
        acct = st.accounts.get(thumb)
        if acct is not None:
            r = Response(200, self.account_json(acct))
        elif p.get("onlyReturnExisting"):
            return problem(400, "accountDoesNotExist", "mock: no account for this key")
        elif not p.get("termsOfServiceAgreed"):
            return problem(403, "userActionRequired", "mock: agree to the terms of service",
                           instance=self.base + "/terms")
        else:
            acct = Obj(kind="account", id=st.new_id("a"), thumb=thumb, status="valid",
                       contact=p.get("contact", []))
            st.accounts[thumb] = acct
            r = Response(201, self.account_json(acct))
        r.headers.append(("Location", self.url("acct", acct.id)))
        return r

    def new_order(self, ctx, acct):
        st = self.state
        p = ctx.payload if isinstance(ctx.payload, dict) else {}
        ids = p.get("identifiers")
        if not isinstance(ids, list) or not ids:
            return problem(400, "malformed", "mock: no identifiers")
        profile = p.get("profile")
        if profile is not None and profile not in PROFILES:
            return problem(400, "invalidProfile", "mock: no profile %r" % (profile,))
        order = Obj(kind="order", id=st.new_id("o"), account=acct.id, status="pending",
                    ids=[(i.get("type"), i.get("value")) for i in ids], authzs=[],
                    created=time.time(), replaces=p.get("replaces"), error=None, pem=None,
                    leaf=None, csr=None, names=None, finalized_at=None, variants={},
                    profile=profile)
        st.objects[order.id] = order
        for t, v in order.ids:
            authz = Obj(kind="authz", id=st.new_id("z"), order=order.id, ident=(t, v),
                        wildcard=t == "dns" and v.startswith("*."), status="pending",
                        challs=[])
            st.objects[authz.id] = authz
            order.authzs.append(authz.id)
            types = ["dns-01"] if authz.wildcard else (
                ["http-01", "tls-alpn-01"] if t == "ip" else ["http-01", "dns-01", "tls-alpn-01"])
            if self.cfg.get("dns_persist") and t == "dns":
                types.append("dns-persist-01")
            for ty in types:
                ch = Obj(kind="chall", id=st.new_id("c"), authz=authz.id, type=ty,
                         token=b64u(secrets.token_bytes(32)), status="pending",
                         validated=None, error=None)
                st.objects[ch.id] = ch
                authz.challs.append(ch.id)
        ctx.order = order
        return Response(201, self.order_obj(order), headers=[("Location", self.url("order", order.id))])

    def validate_persist(self, authz, acct):
        """(True, None), or (False, problem) for a dns-persist-01 answer."""
        name = authz.ident[1][2:] if authz.wildcard else authz.ident[1]
        owner = "%s.%s" % (PERSIST_LABEL, name)
        server = self.cfg.get("dns_server")
        if not server:
            return False, {"type": ACME_ERR + "serverInternal",
                           "detail": "mock: dns-persist-01 needs the dns_server setting"}
        try:
            records = dns_txt(server, owner)
        except (OSError, ValueError, struct.error) as err:
            return False, {"type": ACME_ERR + "dns",
                           "detail": "mock: %s: TXT from %s: %s" % (owner, server, err)}
        verdict = persist_verdict(records, self.persist_issuers(), self.url("acct", acct.id),
                                  authz.wildcard, time.time())
        if verdict is None:
            return True, None
        return False, {"type": ACME_ERR + verdict[0],
                       "detail": "mock: dns-persist-01: %s: %s" % (owner, verdict[1])}

    def validate(self, ch, authz, acct):
        port = self.cfg.get("validate_http_port")
        ok, detail = True, None
        if ch.type == "dns-persist-01":
            ok, err = self.validate_persist(authz, acct)
            ch.validated = time.time()
            ch.status = authz.status = "valid" if ok else "invalid"
            ch.error = err
            return
        if port and ch.type == "http-01":
            want = ch.token + "." + acct.thumb
            url = "http://127.0.0.1:%d/.well-known/acme-challenge/%s" % (int(port), ch.token)
            try:
                with urllib.request.urlopen(url, timeout=5) as f:
                    got = f.read(4096).decode(errors="replace").strip()
                ok = got == want
                detail = "mock: %s: got %r, want %r" % (url, got[:100], want)
            except Exception as err:  # noqa: BLE001 -- any failure is a failed validation
                ok, detail = False, "mock: %s: %s" % (url, err)
        ch.validated = time.time()
        if ok:
            ch.status = "valid"
            authz.status = "valid"
        else:
            ch.status = "invalid"
            ch.error = {"type": ACME_ERR + "unauthorized", "detail": detail}
            authz.status = "invalid"

    def finalize(self, ctx, order):
        self.refresh(order)
        if order.status != "ready":
            return problem(403, "orderNotReady", "mock: the order is %s" % order.status)
        p = ctx.payload if isinstance(ctx.payload, dict) else {}
        try:
            csr = b64u_decode(p["csr"])
            names = self.pki.csr_names(csr)
        except (KeyError, TypeError, ValueError, binascii.Error, RuntimeError) as err:
            return problem(400, "badCSR", "mock: cannot read the CSR: %s" % err)
        ctx.csr_names = ["%s:%s" % n for n in names]
        want = sorted((t, v.lower()) for t, v in order.ids)
        got = sorted((t, v.lower()) for t, v in names)
        if want != got:
            return problem(400, "badCSR", "mock: CSR names %s differ from the order's %s"
                           % (got, want))
        try:
            days = PROFILES_DAYS.get(order.profile) or int(self.cfg.get("cert_days", 90))
            leaf = self.pki.issue(csr, order.ids, days=days)
        except RuntimeError as err:
            return problem(500, "serverInternal", "mock: %s" % err)
        order.csr = csr
        order.names = list(order.ids)
        order.leaf = leaf
        order.pem = leaf + self.pki.int_pem
        order.status = "valid"
        order.finalized_at = time.time()
        return Response(200, self.order_obj(order), headers=[("Location", self.url("order", order.id))])

    def renewal_info(self, ctx, mode=None):
        mode = mode or self.cfg.get("ari", "normal")
        now = time.time()
        day = 86400
        if mode == "404":
            return problem(404, "malformed", "mock: no renewal information for this certificate")
        if mode == "garbage":
            return Response(200, None, b"{not json", "application/json")
        start, end = {
            "normal": (now + day, now + 2 * day),
            "past": (now - 3 * day, now - day),
            "far": (now + 3 * 365 * day, now + 3 * 365 * day + day),
            "inverted": (now + 2 * day, now + day),
            "custom": (now + float(self.cfg.get("ari_start", 0)),
                       now + float(self.cfg.get("ari_end", day))),
        }.get(mode, (now + day, now + 2 * day))
        r = Response(200, {"suggestedWindow": {"start": rfc3339(start), "end": rfc3339(end)},
                           "explanationURL": self.base + "/ari-explained"})
        ra = self.cfg.get("ari_retry_after")
        if ra is not None:
            r.headers.append(("Retry-After", str(ra)))
        return r

    # -- newOrders in flight

    def new_order_arrive(self):
        """A newOrder arrived: (how many are in flight with it, "met" or
        "timeout" when it waited at new_order_barrier, else None)."""
        with self.new_orders:
            self.new_orders_in += 1
            in_flight = self.new_orders_in
            n = int(self.cfg.get("new_order_barrier") or 0)
            if n <= 1:
                return in_flight, None
            self.barrier_waiting += 1
            if self.barrier_waiting >= n:
                self.barrier_waiting = 0
                self.barrier_opened += 1
                self.new_orders.notify_all()
                return in_flight, "met"
            opened = self.barrier_opened
            deadline = time.monotonic() + float(self.cfg.get("barrier_seconds") or 10)
            while self.barrier_opened == opened:
                left = deadline - time.monotonic()
                if left <= 0:
                    self.barrier_waiting -= 1
                    return in_flight, "timeout"
                self.new_orders.wait(left)
            return in_flight, "met"

    def new_order_answered(self):
        with self.new_orders:
            self.new_orders_in -= 1

    # -- log

    def log(self, entry):
        with self.log_lock:
            with open(self.log_path, "a") as f:
                f.write(json.dumps(entry, sort_keys=True) + "\n")


PATHS = {
    "dir": "directory", "nonce": "nonce", "new-acct": "new-account", "acct": "account",
    "new-order": "new-order", "order": "order", "authz": "authz", "chall": "challenge",
    "finalize": "finalize", "cert": "cert", "renewal-info": "renewal-info", "revoke": "revoke",
    "key-change": "key-change", "terms": "terms",
}


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "mock-acme/1"
    sys_version = ""

    def setup(self):
        # The TLS handshake happens here, in the connection's thread, so a
        # slow client holds up no one else.
        self.request.settimeout(30)
        try:
            self.request = self.server.tls.wrap_socket(self.request, server_side=True)
        except (ssl.SSLError, OSError):
            self.request.close()
            raise
        super().setup()

    def finish(self):
        try:
            super().finish()
        except OSError:
            pass
        try:
            self.connection.close()
        except OSError:
            pass

    def log_message(self, fmt, *args):
        if self.server.verbose:
            sys.stderr.write("mock-acme: %s\n" % (fmt % args))

    def do_GET(self):
        self.dispatch("GET")

    def do_HEAD(self):
        self.dispatch("HEAD")

    def do_POST(self):
        self.dispatch("POST")

    def read_body(self):
        n = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(n) if n > 0 else b""

    def dispatch(self, method):
        mock = self.server.mock
        url = urllib.parse.urlsplit(self.path)
        path = url.path
        body = self.read_body() if method == "POST" else b""
        if path.startswith("/mock/"):
            return self.control(method, path, body)
        parts = path.strip("/").split("/")
        kind = PATHS.get(parts[0], "unknown")
        oid = "/".join(parts[1:]) or None
        ctx = Ctx(method, path, url.query, kind, oid)
        entry = {"method": method, "path": self.path, "host": self.headers.get("Host"),
                 "kind": kind, "id": oid, "time": time.time(),
                 "payload": None, "protected": None, "post_as_get": False,
                 "replaces": None, "terms_agreed": None}
        if method == "POST" and body:
            self.parse_jws(ctx, body, entry)
        new_order = kind == "new-order" and method == "POST"
        if new_order:
            # Outside the state's lock: the others come in meanwhile.
            entry["in_flight"], entry["barrier"] = mock.new_order_arrive()
        with mock.state.lock:
            mock.state.seq += 1
            entry["seq"] = mock.state.seq
            entry["scenario"] = mock.cfg["scenario"]
            name, kinds, pre, post = mock.scenario()
            active = kind in kinds
            resp = None
            try:
                if active and pre is not None:
                    resp = pre(mock, ctx)
                if resp is None:
                    resp = mock.handle(ctx)
                if active and post is not None:
                    post(mock, ctx, resp)
            except Exception as err:  # noqa: BLE001 -- a bug here must not kill the server
                traceback.print_exc()
                resp = problem(500, "serverInternal", "mock: %s" % err)
            entry["csr_names"] = ctx.csr_names
        entry["status"] = resp.status
        mock.log(entry)
        if new_order:
            # Before the answer goes out: the client's next newOrder, sent
            # once it has it, must not find this one still counted.
            mock.new_order_answered()
        self.send(resp)

    def parse_jws(self, ctx, body, entry):
        try:
            jws = json.loads(body)
            prot = json.loads(b64u_decode(jws["protected"]))
        except (ValueError, KeyError, TypeError, binascii.Error):
            entry["payload"] = body[:1000].decode(errors="replace")
            return
        ctx.protected = prot if isinstance(prot, dict) else {}
        entry["protected"] = {k: ctx.protected.get(k) for k in ("alg", "kid", "nonce", "url", "jwk")}
        raw = jws.get("payload", "")
        if raw == "":
            ctx.post_as_get = True
            entry["post_as_get"] = True
            return
        try:
            text = b64u_decode(raw).decode()
            try:
                ctx.payload = json.loads(text)
            except ValueError:
                ctx.payload = text
        except (ValueError, binascii.Error, UnicodeDecodeError):
            ctx.payload = None
        entry["payload"] = ctx.payload
        if isinstance(ctx.payload, dict):
            if ctx.kind == "new-order":
                entry["replaces"] = ctx.payload.get("replaces")
            if ctx.kind == "new-account":
                entry["terms_agreed"] = ctx.payload.get("termsOfServiceAgreed")

    def control(self, method, path, body):
        mock = self.server.mock
        if path == "/mock/config" and method == "POST":
            try:
                change = json.loads(body or b"{}")
                if not isinstance(change, dict):
                    raise ValueError("not an object")
            except ValueError as err:
                return self.send(Response(400, {"error": str(err)}))
            with mock.state.lock:
                if change.pop("reset", False):
                    mock.state.accounts.clear()
                    mock.state.objects.clear()
                sc = change.get("scenario")
                if sc is not None and sc.split("@")[0] not in SCENARIOS:
                    return self.send(Response(400, {"error": "unknown scenario %s" % sc}))
                mock.cfg.update(change)
                mock.state.hits.clear()
                cfg = dict(mock.cfg)
            return self.send(Response(200, cfg))
        if path == "/mock/config":
            return self.send(Response(200, dict(mock.cfg)))
        if path == "/mock/scenarios":
            return self.send(Response(200, {n: {"kinds": list(s[0]), "doc": s[1]}
                                            for n, s in SCENARIOS.items()}))
        return self.send(Response(404, {"error": "no such control endpoint"}))

    # -- sending

    def send(self, resp):
        mock = self.server.mock
        body = resp.payload()
        headers = list(resp.headers)
        if resp.nonce and not any(k.lower() == "replay-nonce" for k, _ in headers):
            headers.append(("Replay-Nonce", new_nonce()))
        if resp.ctype:
            headers.append(("Content-Type", resp.ctype))
        try:
            self.send_response_only(resp.status)
            self.send_header("Date", self.date_time_string())
            self.send_header("Server", self.server_version)
            for k, v in headers:
                self.send_header(k, v)
            if resp.mode == "stream":
                self.send_header("Transfer-Encoding", "chunked")
                self.end_headers()
                self.stream(resp.stream_size, resp.stream_byte)
                return
            if resp.mode in ("reset", "close", "trickle"):
                n = max(len(body), 4096)
                self.send_header("Content-Length", str(n))
                self.end_headers()
                self.wfile.flush()
                if resp.mode == "trickle":
                    self.trickle(body.ljust(n, b" "))
                else:
                    self.cut(body.ljust(n, b" ")[:100], resp.mode == "reset")
                self.close_connection = True
                return
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            if self.command != "HEAD":
                self.wfile.write(body)
            self.wfile.flush()
        except (BrokenPipeError, ConnectionResetError, ssl.SSLError, OSError) as err:
            if mock.verbose:
                sys.stderr.write("mock-acme: %s: %s\n" % (self.path, err))
            self.close_connection = True

    def stream(self, size, byte):
        chunk = byte * 65536
        sent = 0
        try:
            while sent < size:
                n = min(len(chunk), size - sent)
                self.wfile.write(b"%x\r\n" % n + chunk[:n] + b"\r\n")
                sent += n
            self.wfile.write(b"0\r\n\r\n")
            self.wfile.flush()
        except (BrokenPipeError, ConnectionResetError, ssl.SSLError, OSError):
            pass
        self.close_connection = True

    def trickle(self, body):
        try:
            for i in range(len(body)):
                if self.server.stopping.is_set():
                    break
                self.wfile.write(body[i:i + 1])
                self.wfile.flush()
                time.sleep(1)
        except (BrokenPipeError, ConnectionResetError, ssl.SSLError, OSError):
            pass

    def cut(self, part, reset):
        try:
            self.wfile.write(part)
            self.wfile.flush()
            time.sleep(0.2)
            raw = self.connection
            if reset:
                # SO_LINGER 0: close() sends a RST instead of a FIN.
                raw.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            else:
                raw.shutdown(socket.SHUT_RDWR)
            # The reader holds a reference: the socket closes with the last.
            self.rfile.close()
            raw.close()
        except OSError:
            pass


class Server(http.server.ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 128

    def handle_error(self, request, client_address):
        if self.verbose:
            super().handle_error(request, client_address)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--workdir", help="certificates and the default log (created if missing)")
    ap.add_argument("--scenario", default="good", help="NAME or NAME@KIND[,KIND] (default good)")
    ap.add_argument("--log", help="the request log (default WORKDIR/requests.jsonl)")
    ap.add_argument("--port", type=int, default=0, help="default 0: any free port")
    ap.add_argument("--ari", default="normal",
                    help="renewalInfo: normal past far inverted 404 garbage custom none")
    ap.add_argument("--ari-start", type=float, default=86400, help="ari=custom: seconds from now")
    ap.add_argument("--ari-end", type=float, default=2 * 86400, help="ari=custom: seconds from now")
    ap.add_argument("--ari-retry-after", type=int, help="Retry-After on renewalInfo answers")
    ap.add_argument("--validate-http-port", type=int,
                    help="fetch http-01 challenges from 127.0.0.1:PORT (default: no validation)")
    ap.add_argument("--stuck-seconds", type=float, default=3)
    ap.add_argument("--dns-persist", action="store_true",
                    help="offer dns-persist-01 in every authorization of a DNS name")
    ap.add_argument("--dns-server", help="HOST:PORT the dns-persist-01 validation asks for TXT")
    ap.add_argument("--list-scenarios", action="store_true")
    ap.add_argument("-v", "--verbose", action="store_true", help="log each request on stderr")
    args = ap.parse_args()

    if args.list_scenarios:
        for name, (kinds, doc, _, _) in SCENARIOS.items():
            print("%-22s %-28s %s" % (name, ",".join(kinds) if len(kinds) < 5 else "(many)", doc))
        return 0
    if not args.workdir:
        ap.error("--workdir is required")
    if args.scenario.split("@")[0] not in SCENARIOS:
        ap.error("unknown scenario %s (see --list-scenarios)" % args.scenario)
    os.makedirs(args.workdir, exist_ok=True)
    workdir = os.path.abspath(args.workdir)
    cfg = {
        "scenario": args.scenario, "ari": args.ari, "ari_start": args.ari_start,
        "ari_end": args.ari_end, "ari_retry_after": args.ari_retry_after,
        "validate_http_port": args.validate_http_port, "stuck_seconds": args.stuck_seconds,
        "cert_days": 90,
        "dns_persist": args.dns_persist, "dns_server": args.dns_server,
        "dns_persist_issuers": None, "caa_identities": None,
    }
    log_path = args.log or os.path.join(workdir, "requests.jsonl")
    mock = Mock(workdir, "127.0.0.1", cfg, log_path)
    mock.verbose = args.verbose
    open(log_path, "a").close()

    tls = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    tls.load_cert_chain(mock.pki.path("tls.pem"), mock.pki.path("tls.key"))
    tls.set_alpn_protocols(["http/1.1"])

    srv = Server(("127.0.0.1", args.port), Handler)
    srv.mock = mock
    srv.tls = tls
    srv.verbose = args.verbose
    srv.stopping = threading.Event()
    port = srv.server_address[1]
    mock.base = "https://127.0.0.1:%d" % port

    def stop(signum, frame):
        srv.stopping.set()
        threading.Thread(target=srv.shutdown, daemon=True).start()

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    print(port, flush=True)
    srv.serve_forever(poll_interval=0.2)
    srv.server_close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
