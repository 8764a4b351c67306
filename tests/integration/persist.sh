#!/usr/bin/env bash
# dns-persist-01 (draft-ietf-acme-dns-persist-01): "acmed dns-persist NAME"
# prints the one TXT record that authorises the state folder's account at
# the CA, and a CA that validates by the draft takes that record.
#
# The CA is tests/mock-acme/mock_acme.py with --dns-persist: its
# authorizations of DNS names offer a dns-persist-01 challenge
# ("issuer-domain-names": its caaIdentities, ["mock.example"]), and
# answering it makes the mock read the TXT records at
# _validation-persist.NAME from pebble-challtestsrv's DNS server, where
# this script puts them (POST /set-txt). A short scripted ACME client
# (acme_persist, below) orders and answers it, to test the mock's side; the
# mock checks no JWS signature, so the client sends the account's URL as
# "kid" and no real signature.
#
#   1. the command: no account yet (exit 2, how to make one), the record
#      (owner, value, zone line; --json; --wildcard, "*.NAME", --until),
#      names it refuses (exit 2, one line), a CA without caaIdentities
#      (exit 2, names caa-identity);
#   2. the mock validates the record acmed printed, and refuses with a
#      problem document one of another account (unauthorized), one without
#      policy=wildcard for a wildcard, one whose persistUntil has passed,
#      one that cannot be read (malformed), one of another CA only;
#   3. acmed's own order still works against authorizations that offer
#      dns-persist-01 (no token) next to http-01;
#   4. acmed cert with challenge = dns-persist-01 (dns-resolver: the
#      challtestsrv) gets a certificate for a name and a wildcard whose
#      record is there, answering the challenge with no DNS change; a name
#      without the record, or with another account's, stops before the
#      challenge is answered (no POST to it in the mock's log), saying why
#      and which command prints the record (a challenge naming 11 issuer
#      domains is not answered either); the record's persistUntil is
#      kept in state.json, and acmed status warns 30 days before it;
#   5. the check before the order: no record, another account's, no
#      policy=wildcard for a wildcard stop acmed before any newOrder
#      reaches the mock (its request log), with the words of the check at
#      the challenge; a SERVFAIL for the record is a warning, the order
#      is placed and the check at the challenge decides;
#   6. --dns-persist sets challenge = dns-persist-01 for one run of cert
#      and of renew.
#
# Environment: ACMED (the binary under test), TESTS_DIR (tests/). Exits 0, 1
# when a case failed, 77 when python3, openssl, curl or pebble-challtestsrv
# is missing, 99 when the harness itself is broken.
set -uo pipefail

# shellcheck source=lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh" || exit 99
lib_init persist
# shellcheck source=../mock-acme/mock.sh
. "$TESTS_DIR/mock-acme/mock.sh" || exit 99
# shellcheck source=../pebble.sh
. "$TESTS_DIR/pebble.sh" || exit 99
mock_init
cd "$T" || exit 99

CTS_BIN=${CHALLTESTSRV_BIN:-pebble-challtestsrv}
if ! command -v "$CTS_BIN" >/dev/null 2>&1; then
	echo "SKIP: persist.sh needs pebble-challtestsrv (Debian: apt-get install pebble)" >&2
	exit 77
fi

STATE=$T/state
HOOK=$T/http-hook
printf '#!/bin/sh\nexit 0\n' >"$HOOK" && chmod +x "$HOOK" || exit 99

# ---- pebble-challtestsrv: DNS and its management API ----

# cts_start: challtestsrv on two free ports of 127.0.0.1 (DNS, management),
# tracked by PID; sets DNS_SERVER and CTS_URL (challtestsrv_post uses
# CHALLTESTSRV_URL).
cts_start()
{
	local ports dns mgmt

	ports=$(pebble_free_ports 2) || return 1
	read -r dns mgmt <<<"$ports"
	"$CTS_BIN" -defaultIPv4 127.0.0.1 -defaultIPv6 "" -dns01 "127.0.0.1:$dns" \
		-management "127.0.0.1:$mgmt" -http01 "" -https01 "" -tlsalpn01 "" \
		</dev/null >"$T/challtestsrv.log" 2>&1 &
	lib_track_pid $!
	DNS_SERVER=127.0.0.1:$dns
	CHALLTESTSRV_URL=http://127.0.0.1:$mgmt
	wait_until 10 curl -s -o /dev/null "$CHALLTESTSRV_URL/"
}

# txt_set NAME VALUE...: the TXT records of _validation-persist.NAME are
# the VALUEs (none: no record).
txt_set()
{
	local name=$1 host v
	shift

	host=_validation-persist.$name.
	challtestsrv_post /clear-txt "{\"host\": \"$host\"}" || fail "harness: clear-txt $host"
	for v in "$@"; do
		challtestsrv_post /set-txt "$("$PY" -c 'import json, sys
print(json.dumps({"host": sys.argv[1], "value": sys.argv[2]}))' "$host" "$v")" ||
			fail "harness: set-txt $host $v"
	done
}

# ---- a scripted ACME client ----

cat >"$T/acme_persist.py" <<'EOF'
"""Orders NAME from the mock as the account ACCT and answers its
dns-persist-01 challenge: prints {"offered": the challenge as offered,
"answered": the challenge after the answer, "authz": the authorization
after it} as JSON. usage: acme_persist.py DIR_URL CA_FILE ACCT NAME"""
import base64, json, ssl, sys, urllib.request

dir_url, ca_file, acct, name = sys.argv[1:5]
tls = ssl.create_default_context(cafile=ca_file)


def b64u(data):
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def call(url, payload=None, method="POST"):
    body = None
    headers = {}
    if method == "POST":
        with urllib.request.urlopen(urllib.request.Request(directory["newNonce"],
                                                           method="HEAD"), context=tls) as r:
            nonce = r.headers["Replay-Nonce"]
        protected = {"alg": "ES256", "kid": acct, "nonce": nonce, "url": url}
        body = json.dumps({"protected": b64u(json.dumps(protected).encode()),
                           "payload": "" if payload is None else b64u(json.dumps(payload).encode()),
                           "signature": b64u(b"not checked by the mock")}).encode()
        headers["Content-Type"] = "application/jose+json"
    req = urllib.request.Request(url, data=body, headers=headers, method=method)
    with urllib.request.urlopen(req, context=tls) as r:
        return json.loads(r.read()), r.headers


directory = None
directory, _ = call(dir_url, method="GET")
order, _ = call(directory["newOrder"], {"identifiers": [{"type": "dns", "value": name}]})
authz, _ = call(order["authorizations"][0])
offered = next(c for c in authz["challenges"] if c["type"] == "dns-persist-01")
answered, _ = call(offered["url"], {})
authz, _ = call(order["authorizations"][0])
print(json.dumps({"offered": offered, "answered": answered, "authz": authz}))
EOF

# answer NAME: orders NAME and answers dns-persist-01; the result in
# $T/answer.json (answer_get reads it). A failure fails the case.
answer()
{
	if ! "$PY" "$T/acme_persist.py" "$DIR_URL" "$CA_FILE" "$ACCT" "$1" >"$T/answer.json" \
		2>"$T/answer.err"; then
		fail "harness: the scripted client failed for $1: $(tail -n 3 "$T/answer.err" | tr '\n' ' ')"
		return 1
	fi
}

answer_get()
{
	json_get "$T/answer.json" "$1"
}

# expect_refused NAME TYPE REGEX: the answer for NAME left the challenge
# and the authorization invalid with a problem of TYPE whose detail
# matches REGEX.
expect_refused()
{
	local got

	answer "$1" || return
	got=$(answer_get 'j["answered"]["status"], j["authz"]["status"]')
	if [[ $got != "('invalid', 'invalid')" ]]; then
		fail "$1: challenge and authorization are $got, want both invalid"
	fi
	got=$(answer_get 'j["answered"].get("error", {}).get("type")')
	if [[ $got != "urn:ietf:params:acme:error:$2" ]]; then
		fail "$1: the problem is $got, want $2"
	fi
	got=$(answer_get 'j["answered"].get("error", {}).get("detail")')
	if ! [[ $got =~ $3 ]]; then
		fail "$1: the problem's detail '$got' does not match /$3/"
	fi
}

# record NAME [OPTION...]: the value acmed dns-persist prints for NAME, in
# VALUE (a failure fails the case).
record()
{
	run dns-persist "$@" --json "${CA_OPTS[@]}" --state-dir "$STATE"
	expect_status 0
	VALUE=$(json_get "$OUT" 'j["value"]')
}

# ---- cases ----

t_no_account()
{
	run dns-persist a.example "${CA_OPTS[@]}" --state-dir "$STATE"
	expect_status 2
	expect_stdout_empty
	expect_stderr_one_line
	expect_stderr_matches "no account for .*acmed account register"
	if [[ -e $STATE/accounts ]] && find "$STATE/accounts" -name account.json | grep -q .; then
		fail "dns-persist registered an account"
	fi
}

t_record()
{
	run account register --agree-tos "${CA_OPTS[@]}" --state-dir "$STATE"
	expect_status 0
	ACCT=$(head -n 1 "$OUT")
	if [[ $ACCT != "$MOCK_URL/acct/"* ]]; then
		fail "account register printed '$ACCT'"
		return
	fi
	run dns-persist a.example "${CA_OPTS[@]}" --state-dir "$STATE"
	expect_status 0
	expect_stdout "name:  _validation-persist.a.example
type:  TXT
value: mock.example; accounturi=$ACCT
zone:  _validation-persist.a.example. IN TXT \"mock.example; accounturi=$ACCT\"
scope: a.example only"
}

t_record_json()
{
	local got

	record a.example --wildcard --until 2030-01-01T02:00:00+02:00
	got=$(json_get "$OUT" '(j["owner"], j["issuer"], j["account"], j["wildcard"], j["persist_until"], j["directory"])')
	if [[ $got != "('_validation-persist.a.example', 'mock.example', '$ACCT', True, 1893456000, '$DIR_URL')" ]]; then
		fail "--json: $got"
	fi
	if [[ $VALUE != "mock.example; accounturi=$ACCT; policy=wildcard; persistUntil=1893456000" ]]; then
		fail "value '$VALUE'"
	fi
	# *.NAME is NAME's record with policy=wildcard (section 5).
	record '*.a.example' --until 1893456000
	got=$(json_get "$OUT" '(j["name"], j["owner"], j["wildcard"])')
	if [[ $got != "('a.example', '_validation-persist.a.example', True)" ]]; then
		fail "*.a.example: $got"
	fi
	if [[ $VALUE != "mock.example; accounturi=$ACCT; policy=wildcard; persistUntil=1893456000" ]]; then
		fail "*.a.example: value '$VALUE'"
	fi
	# International names become A-labels.
	record 'bücher.example'
	got=$(json_get "$OUT" 'j["owner"]')
	if [[ $got != _validation-persist.xn--bcher-kva.example ]]; then
		fail "bücher.example: owner $got"
	fi
}

t_refused_args()
{
	local args

	# The first word is the name, the others options.
	for args in 'https://a.example/' 'a.example:8080' '192.0.2.1' '2001:db8::1' \
		'a..example' 'a.example. --wildcard' 'a.example --until 2001-01-01' \
		'a.example --until soon' 'a.example --until 2030-02-30'; do
		# shellcheck disable=SC2086 # split on purpose: a name and options
		run dns-persist $args "${CA_OPTS[@]}" --state-dir "$STATE"
		expect_status 2
		expect_stdout_empty
		expect_stderr_one_line
		expect_stderr_matches "dns-persist: "
	done
	run dns-persist 'a b' "${CA_OPTS[@]}" --state-dir "$STATE"
	expect_status 2
	expect_stderr_one_line
	expect_stderr_matches "invalid name 'a b'"
	run dns-persist "${CA_OPTS[@]}" --state-dir "$STATE"
	expect_status 2
	run dns-persist a.example b.example "${CA_OPTS[@]}" --state-dir "$STATE"
	expect_status 2
}

t_no_issuer()
{
	mock_set '"caa_identities": []' || return
	run dns-persist a.example "${CA_OPTS[@]}" --state-dir "$STATE"
	expect_status 2
	expect_stdout_empty
	expect_stderr_one_line
	expect_stderr_matches "names no issuer domain .*caa-identity"
	# caa-identity gives it (the configuration's, as acmed.conf(5) says).
	printf 'caa-identity = given.example\n' >>"$MOCK_DIR/acmed.conf"
	run dns-persist a.example "${CA_OPTS[@]}" --state-dir "$STATE"
	sed -i '/^caa-identity/d' "$MOCK_DIR/acmed.conf"
	expect_status 0
	expect_stdout_contains '"given.example; accounturi='
	mock_set '"caa_identities": null'
}

t_validates()
{
	local got

	record a.example
	txt_set a.example "$VALUE"
	answer a.example || return
	got=$(answer_get '(j["offered"]["status"], j["offered"]["issuer-domain-names"], "token" in j["offered"])')
	if [[ $got != "('pending', ['mock.example'], False)" ]]; then
		fail "the challenge offered: $got"
	fi
	got=$(answer_get '(j["answered"]["status"], j["authz"]["status"], j["answered"].get("error"))')
	if [[ $got != "('valid', 'valid', None)" ]]; then
		fail "after the answer: $got"
	fi
	# Beside records of other CAs, and written with other spaces and case.
	txt_set a.example "other.example; accounturi=$ACCT" \
		" MOCK.example ;AccountURI = $ACCT ; future=1"
	answer a.example || return
	got=$(answer_get 'j["authz"]["status"]')
	if [[ $got != valid ]]; then
		fail "with another CA's record and spaces: authorization $got"
	fi
}

t_other_account()
{
	record b.example
	txt_set b.example "${VALUE}0"
	expect_refused b.example unauthorized "accounturi is '${ACCT}0', not the account $ACCT"
}

t_wildcard()
{
	local got

	record c.example
	txt_set c.example "$VALUE"
	expect_refused '*.c.example' unauthorized 'policy=wildcard'
	record c.example --wildcard
	txt_set c.example "$VALUE"
	answer '*.c.example' || return
	got=$(answer_get '(j["authz"]["status"], j["authz"].get("wildcard"), j["authz"]["identifier"]["value"])')
	if [[ $got != "('valid', True, 'c.example')" ]]; then
		fail "*.c.example with policy=wildcard: $got"
	fi
}

t_expired()
{
	record d.example
	txt_set d.example "$VALUE; persistUntil=1"
	expect_refused d.example unauthorized 'persistUntil 1 has passed'
}

t_malformed()
{
	record e.example
	txt_set e.example "$VALUE; accounturi=$ACCT"
	expect_refused e.example malformed 'accounturi given twice'
	txt_set e.example "$VALUE;"
	expect_refused e.example malformed 'not an RFC 8659 issue-value'
	txt_set e.example "$VALUE; persistUntil=tomorrow"
	expect_refused e.example malformed 'persistUntil'
}

t_other_ca()
{
	txt_set f.example "other.example; accounturi=$ACCT"
	expect_refused f.example unauthorized 'no record names mock.example'
	txt_set f.example
	expect_refused f.example unauthorized 'no TXT record'
}

# acmed's orders meet authorizations whose dns-persist-01 has no token:
# they answer http-01 as ever.
t_acmed_order()
{
	mlog_mark
	run_t 60 cert g.example --http-hook "$HOOK" "${CA_OPTS[@]}" --state-dir "$STATE"
	expect_status 0
	expect_file "$STATE/certs/g.example/cert.pem"
	if [[ $(mlog_count 'e["kind"] == "challenge" and not e["post_as_get"]') != 1 ]]; then
		fail "acmed did not answer exactly one challenge"
	fi
}

# persist_conf: the configuration of the cases that order with
# dns-persist-01, in $T/persist.conf; PERSIST_OPTS the options with it.
persist_conf()
{
	printf 'caa-check = no\nchallenge = dns-persist-01\ndns-resolver = %s\n' "$DNS_SERVER" \
		>"$T/persist.conf" || return 1
	PERSIST_OPTS=(--ca "$DIR_URL" --ca-file "$CA_FILE" -c "$T/persist.conf" --state-dir "$STATE")
}

# challenge_posts: the POSTs that told the mock to validate a challenge
# (not POST-as-GET) since mlog_mark.
challenge_posts()
{
	mlog_count 'e["kind"] == "challenge" and e["method"] == "POST" and not e["post_as_get"]'
}

# new_orders: the newOrders that reached the mock since mlog_mark.
new_orders()
{
	mlog_count 'e["kind"] == "new-order"'
}

t_cert_persist()
{
	persist_conf || return
	record h.example
	txt_set h.example "$VALUE"
	mlog_mark
	run_t 60 cert h.example "${PERSIST_OPTS[@]}"
	expect_status 0
	expect_file "$STATE/certs/h.example/cert.pem"
	if [[ $(challenge_posts) != 1 ]]; then
		fail "acmed did not answer exactly one challenge"
	fi
	if [[ $(new_orders) != 1 ]]; then
		fail "h.example: $(new_orders) newOrders, want 1"
	fi
	# The wildcard and its base name: one record with policy=wildcard.
	record i.example --wildcard
	txt_set i.example "$VALUE"
	mlog_mark
	run_t 60 cert i.example '*.i.example' --name wild "${PERSIST_OPTS[@]}"
	expect_status 0
	expect_file "$STATE/certs/wild/cert.pem"
	if [[ $(challenge_posts) != 2 ]]; then
		fail "acmed did not answer the two challenges"
	fi
}

# expect_stopped NAME REGEX [NEW_ORDERS]: acmed cert NAME fails, says
# REGEX, no challenge was answered, and NEW_ORDERS (default 0: stopped
# before the order) newOrders reached the mock.
expect_stopped()
{
	mlog_mark
	run_t 60 cert "$1" "${PERSIST_OPTS[@]}"
	expect_status 1
	expect_stderr_matches "$2"
	if [[ $(challenge_posts) != 0 ]]; then
		fail "$1: acmed answered a challenge"
	fi
	if [[ $(new_orders) != "${3:-0}" ]]; then
		fail "$1: $(new_orders) newOrders reached the CA, want ${3:-0}"
	fi
	if [[ -e $STATE/certs/$1/cert.pem ]]; then
		fail "$1: a certificate was installed"
	fi
}

t_cert_persist_stopped()
{
	persist_conf || return
	txt_set j.example
	expect_stopped j.example "_validation-persist.j.example: no TXT record: create the record \`acmed dns-persist j.example\` prints"
	# A name that failed is held back (policy): another name for each case.
	record l.example
	txt_set l.example "${VALUE}0"
	expect_stopped l.example "accounturi is \"${ACCT}0\", not this account's"
	# A wildcard needs policy=wildcard.
	record k.example
	txt_set k.example "$VALUE"
	expect_stopped '*.k.example' "no policy=wildcard.*acmed dns-persist k.example --wildcard"
	# A challenge whose issuer-domain-names the draft does not allow is
	# not answered, whatever the record.
	record n.example
	txt_set n.example "$VALUE"
	mock_set '"scenario": "persist-issuers-11"' || return
	expect_stopped n.example "the CA's dns-persist-01 challenge is malformed: .*more than 10" 1
	mock_set '"scenario": "good"'
}

# A SERVFAIL for the record before the order: a warning, the order goes
# out, and the check at the challenge (which gets the SERVFAIL too)
# stops it before the CA is told to validate.
t_cert_persist_servfail()
{
	persist_conf || return
	record s.example
	txt_set s.example "$VALUE"
	challtestsrv_post /set-servfail '{"host":"_validation-persist.s.example."}' ||
		fail "harness: /set-servfail"
	expect_stopped s.example "persist.s.example: TXT lookup: the resolver answered SERVFAIL" 1
	expect_stderr_matches "s.example: dns-persist-01: _validation-persist.s.example: could not check: TXT lookup: the resolver answered SERVFAIL .*; ordering all the same"
	challtestsrv_post /clear-servfail '{"host":"_validation-persist.s.example."}' ||
		fail "harness: /clear-servfail"
}

# --dns-persist: challenge = dns-persist-01 for this run, whatever the
# configuration says (http-01 by default here).
t_dns_persist_option()
{
	local opts

	printf 'caa-check = no\ndns-resolver = %s\n' "$DNS_SERVER" >"$T/plain.conf" || return
	opts=(--ca "$DIR_URL" --ca-file "$CA_FILE" -c "$T/plain.conf" --state-dir "$STATE")
	record o.example
	txt_set o.example "$VALUE"
	mlog_mark
	run_t 60 cert o.example --dns-persist "${opts[@]}"
	expect_status 0
	expect_file "$STATE/certs/o.example/cert.pem"
	expect_stderr_matches "o.example: dns-persist-01: _validation-persist.o.example authorizes the account"
	if [[ $(challenge_posts) != 1 ]]; then
		fail "cert --dns-persist: $(challenge_posts) challenges answered, want 1"
	fi
	# renew: the certificates of the configuration, for this run.
	record p.example
	txt_set p.example "$VALUE"
	printf 'ca = %s\nca-file = %s\n[cert p]\ndomains = p.example\n' "$DIR_URL" "$CA_FILE" \
		>>"$T/plain.conf"
	run_t 60 renew p --dns-persist -c "$T/plain.conf" --state-dir "$STATE"
	expect_status 0
	expect_file "$STATE/certs/p/cert.pem"
	expect_stderr_matches "p.example: dns-persist-01: _validation-persist.p.example authorizes the account"
	# The check before the order comes with it.
	txt_set q.example
	mlog_mark
	run_t 60 cert q.example --dns-persist "${opts[@]}"
	expect_status 1
	expect_stderr_matches "_validation-persist.q.example: no TXT record"
	if [[ $(new_orders) != 0 ]]; then
		fail "cert --dns-persist q.example: $(new_orders) newOrders, want 0"
	fi
}

t_status_persist_until()
{
	local until got

	persist_conf || return
	until=$(($(date +%s) + 10 * 86400))
	record m.example --until "$until"
	txt_set m.example "$VALUE"
	printf 'ca = %s\nca-file = %s\n[cert m]\ndomains = m.example\n' "$DIR_URL" "$CA_FILE" \
		>>"$T/persist.conf"
	run_t 60 renew m -c "$T/persist.conf" --state-dir "$STATE"
	expect_status 0
	got=$(json_get "$STATE/certs/m/state.json" 'j.get("persist_until")')
	if [[ $got != "$until" ]]; then
		fail "state.json: persist_until is $got, want $until"
	fi
	run status --json -c "$T/persist.conf" --state-dir "$STATE"
	expect_status 0
	got=$(json_get "$OUT" '[(c["persist_until"], c.get("warning")) for c in j["certs"] if c["cert"] == "m"][0]')
	if ! [[ $got =~ ^\($until,\ .*persistUntil\ is\ .*in\ (9|10)\ days ]]; then
		fail "status --json: $got"
	fi
	run status -c "$T/persist.conf" --state-dir "$STATE"
	expect_status 0
	if ! grep -q "warning: the dns-persist-01 record's persistUntil is" "$OUT"; then
		fail "status: no warning: $(cat "$OUT")"
	fi
	# A record without persistUntil: nothing to warn about.
	got=$(json_get "$STATE/certs/h.example/state.json" 'j.get("persist_until")')
	if [[ $got != 0 ]]; then
		fail "h.example: persist_until $got"
	fi
}

# ---- run ----

if ! cts_start; then
	fail_case "start pebble-challtestsrv: $(tail -n 3 "$T/challtestsrv.log" 2>/dev/null | tr '\n' ' ')"
	lib_finish
fi
if ! mock_start --dns-persist --dns-server "$DNS_SERVER"; then
	fail_case "start the mock CA"
	lib_finish
fi
ACCT=

case_ "no account: exit 2, says how to make one, registers none" t_no_account
case_ "the record: owner, value, zone line" t_record
case_ "--json, --wildcard, *.NAME, --until, an international name" t_record_json
case_ "names and dates refused: exit 2, one line" t_refused_args
case_ "a CA without caaIdentities: exit 2, names caa-identity, which then gives it" t_no_issuer
case_ "the mock validates the record acmed printed" t_validates
case_ "another account's record: unauthorized" t_other_account
case_ "a wildcard needs policy=wildcard" t_wildcard
case_ "persistUntil passed: unauthorized" t_expired
case_ "records that cannot be read: malformed" t_malformed
case_ "only another CA's record, or none: unauthorized" t_other_ca
case_ "acmed's own order with dns-persist-01 offered" t_acmed_order
case_ "acmed cert with challenge = dns-persist-01: a name and a wildcard" t_cert_persist
case_ "no record, another account's, no policy=wildcard: stopped before the newOrder" t_cert_persist_stopped
case_ "SERVFAIL for the record: a warning, the order placed, the challenge's check decides" t_cert_persist_servfail
case_ "persistUntil kept in state.json, status warns 30 days before" t_status_persist_until
case_ "--dns-persist: dns-persist-01 for one run of cert and renew" t_dns_persist_option

mock_expect_no_traceback
lib_finish
