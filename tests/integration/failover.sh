#!/usr/bin/env bash
# Several CAs (issue 16): [ca NAME] sections, each with its own account
# and ca-file (two Pebbles, each with its own roots; B requires EAB, A
# does not), ca = a b as a failover list. A down: the certificate comes
# from B, its chain verifies against B's root, status says B and why; A
# back: nothing is ordered before it is due (B is on the list), and the
# next renewal comes from A again. One daemon renews certificates of both
# CAs. The orders each Pebble logged are counted: nothing is ordered twice.
#
# Environment: ACMED, TESTS_DIR. Exits 0, 1 when a case failed, 77 when
# Pebble is not installed, 99 when the harness itself is broken.
set -uo pipefail

# shellcheck source=lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh" || exit 99
lib_init failover
# shellcheck source=../pebble.sh
. "$TESTS_DIR/pebble.sh" || exit 99

pebble_require_or_skip
# No validation: both CAs would otherwise look at their own http port.
export PEBBLE_VA_ALWAYS_VALID=1
pebble_start || exit 1
A_URL=$PEBBLE_DIR_URL
A_CA=$PEBBLE_CA_FILE
A_LOG=$PEBBLE_WORKDIR/pebble.log
A_MGMT=$PEBBLE_MGMT_URL

# B: a second Pebble in its own process (tests/pebble.sh run), EAB required.
EAB_KEY=zWNDZM6eQGHWpSRTPal5eIUYFTu7EajVIoguysqZ9wG44nMEtx3MUAsUDkMTQ12W
"$TESTS_DIR/pebble.sh" run "{\"externalAccountBindingRequired\": true, \
\"externalAccountMACKeys\": {\"kid-b\": \"$EAB_KEY\"}}" >"$T/b.env" 2>"$T/b.err" &
lib_track_pid $!
if ! wait_until 30 grep -q PEBBLE_WORKDIR "$T/b.env"; then
	cat "$T/b.err" >&2
	exit 99
fi
# shellcheck disable=SC1091
B_URL=$(. "$T/b.env" && echo "$PEBBLE_DIR_URL")
B_CA=$(. "$T/b.env" && echo "$PEBBLE_CA_FILE")
B_LOG=$(. "$T/b.env" && echo "$PEBBLE_WORKDIR")/pebble.log
B_MGMT=$(. "$T/b.env" && echo "$PEBBLE_MGMT_URL")
[[ -n $B_URL && $B_URL != "$A_URL" ]] || exit 99

curl -sSf --max-time 10 --cacert "$A_CA" -o "$T/rootA.pem" "$A_MGMT/roots/0" || exit 99
curl -sSf --max-time 10 --cacert "$B_CA" -o "$T/rootB.pem" "$B_MGMT/roots/0" || exit 99

STATE=$T/state
CONF=$T/acmed.conf
D=$STATE/certs/fo
cat >"$CONF" <<EOF
state-dir = $STATE
control-socket = $T/ctl.sock
http-listen = 127.0.0.1:$PEBBLE_HTTP_PORT
email = ops@example.com
ca = a b

[ca a]
url = $A_URL
ca-file = $A_CA
agree-tos = yes

[ca b]
url = $B_URL
ca-file = $B_CA
agree-tos = yes
eab-kid = kid-b
eab-hmac-key = $EAB_KEY

[cert fo]
domains = fo.example
EOF

orders() { grep -c 'Added order' "$1" 2>/dev/null || true; }
state_ca() { "$PY" -c 'import json,sys; print(json.load(open(sys.argv[1])).get(sys.argv[2]) or "")' \
	"$D/state.json" "$1"; }
lib_python

# expect_from ROOT: cert.pem verifies against ROOT through chain.pem.
expect_from()
{
	if ! openssl verify -CAfile "$1" -untrusted "$D/chain.pem" "$D/cert.pem" >/dev/null 2>&1; then
		fail "the certificate does not verify against $(basename "$1")"
	fi
}

case_first_ca()
{
	local a0 b0

	a0=$(orders "$A_LOG")
	b0=$(orders "$B_LOG")
	run -c "$CONF" renew
	expect_status 0
	expect_from "$T/rootA.pem"
	[[ $(state_ca ca) == "$A_URL" ]] || fail "state.json ca is '$(state_ca ca)', want A"
	[[ -z $(state_ca ca_fallback) ]] || fail "a fallback recorded: $(state_ca ca_fallback)"
	(($(orders "$A_LOG") == a0 + 1)) || fail "A got $(($(orders "$A_LOG") - a0)) orders, want 1"
	(($(orders "$B_LOG") == b0)) || fail "B got an order"
}

case_a_down()
{
	local b0

	pebble_halt
	b0=$(orders "$B_LOG")
	run -c "$CONF" renew --force
	expect_status 0
	expect_stderr_contains "ordering from $B_URL instead"
	expect_from "$T/rootB.pem"
	[[ $(state_ca ca) == "$B_URL" ]] || fail "state.json ca is '$(state_ca ca)', want B"
	[[ $(state_ca ca_fallback) == "$A_URL: "* ]] ||
		fail "state.json ca_fallback is '$(state_ca ca_fallback)'"
	(($(orders "$B_LOG") == b0 + 1)) || fail "B got $(($(orders "$B_LOG") - b0)) orders, want 1"
	run -c "$CONF" status
	expect_stdout_contains "from $B_URL (failover: $A_URL: "
	run -c "$CONF" status --json
	[[ $(json_get "$OUT" '[c["ca"] for c in j["certs"] if c["cert"] == "fo"][0]') == "$B_URL" ]] ||
		fail "status --json: ca is not $B_URL"
	# Revoked where it was issued (B), not at the first CA (down).
	run -c "$CONF" revoke fo
	expect_status 0
	expect_stderr_contains "revoked (serial"
}

case_a_back()
{
	local a0 b0

	pebble_restart || fail "Pebble A did not start again"
	# A started again has new roots.
	curl -sSf --max-time 10 --cacert "$A_CA" -o "$T/rootA.pem" "$A_MGMT/roots/0" ||
		fail "no root from A"
	a0=$(orders "$A_LOG")
	b0=$(orders "$B_LOG")
	# From a CA of its list: not due before its time.
	run -c "$CONF" renew
	expect_status 0
	expect_stdout_contains "unchanged 1"
	(($(orders "$A_LOG") == a0 && $(orders "$B_LOG") == b0)) || fail "ordered although not due"
	run -c "$CONF" renew --force
	expect_status 0
	expect_from "$T/rootA.pem"
	[[ $(state_ca ca) == "$A_URL" ]] || fail "state.json ca is '$(state_ca ca)', want A again"
	[[ -z $(state_ca ca_fallback) ]] || fail "the fallback is still recorded"
	(($(orders "$A_LOG") == a0 + 1 && $(orders "$B_LOG") == b0)) ||
		fail "orders: A +$(($(orders "$A_LOG") - a0)), B +$(($(orders "$B_LOG") - b0))"
}

case_daemon_two_cas()
{
	local pid a0 b0

	cat >>"$CONF" <<EOF

[cert only-b]
domains = only-b.example
ca = b
EOF
	a0=$(orders "$A_LOG")
	b0=$(orders "$B_LOG")
	rm -rf "$D"
	"$ACMED" -c "$CONF" run >"$T/daemon.out" 2>"$T/daemon.err" &
	pid=$!
	lib_track_pid "$pid"
	if ! wait_until 60 test -s "$STATE/certs/only-b/cert.pem" -a -s "$D/cert.pem"; then
		fail "the daemon did not issue both certificates"
		sed 's/^/    | /' "$T/daemon.err" >&2
	fi
	lib_stop_pid "$pid"
	expect_no_sanitizer_report "$T/daemon.err"
	expect_from "$T/rootA.pem"
	openssl verify -CAfile "$T/rootB.pem" -untrusted "$STATE/certs/only-b/chain.pem" \
		"$STATE/certs/only-b/cert.pem" >/dev/null 2>&1 || fail "only-b is not B's"
	(($(orders "$A_LOG") == a0 + 1 && $(orders "$B_LOG") == b0 + 1)) ||
		fail "orders: A +$(($(orders "$A_LOG") - a0)), B +$(($(orders "$B_LOG") - b0))"
}

# An order made at B by a failover, its run killed before the end: the
# next run, A back, takes it on at B instead of ordering anew at A.
case_resume_at_fallback()
{
	local conf4=$T/acmed4.conf pid a0 b0 d4=$STATE/certs/res

	cp "$CONF" "$conf4"
	printf '#!/bin/sh\n[ "$1" = add ] && sleep 6\nexit 0\n' >"$T/slow-http"
	chmod +x "$T/slow-http"
	printf '\n[cert res]\ndomains = res.example\nhttp-hook = %s\n' "$T/slow-http" >>"$conf4"
	pebble_halt
	"$ACMED" -c "$conf4" renew res >"$T/res.out" 2>"$T/res.err" &
	pid=$!
	if ! wait_until 30 grep -q '"order_url"' "$d4/state.json"; then
		fail "no order recorded at B: $(tr '\n' ' ' <"$T/res.err")"
	fi
	kill -9 "$pid"
	wait "$pid" 2>/dev/null
	pebble_restart || fail "Pebble A did not start again"
	curl -sSf --max-time 10 --cacert "$A_CA" -o "$T/rootA.pem" "$A_MGMT/roots/0" ||
		fail "no root from A"
	a0=$(orders "$A_LOG")
	b0=$(orders "$B_LOG")
	run_t 60 -c "$conf4" renew res
	expect_status 0
	expect_stderr_contains "res: taking on its order at $B_URL"
	(($(orders "$A_LOG") == a0 && $(orders "$B_LOG") == b0)) ||
		fail "orders: A +$(($(orders "$A_LOG") - a0)), B +$(($(orders "$B_LOG") - b0)), want none"
	openssl verify -CAfile "$T/rootB.pem" -untrusted "$d4/chain.pem" "$d4/cert.pem" \
		>/dev/null 2>&1 || fail "res is not B's"
}

# A dry run fails over from staging to staging: A's staging away, B's
# (B itself here, with its own EAB for staging) issues; nothing real is
# touched.
case_dry_run_failover()
{
	local conf3=$T/acmed3.conf b0 before after

	sed -e "s|^url = $A_URL\$|url = $A_URL\nstaging = https://127.0.0.1:1/dir|" \
		-e "s|^url = $B_URL\$|url = $B_URL\nstaging = $B_URL\nstaging-eab-kid = kid-b\nstaging-eab-hmac-key = $EAB_KEY|" \
		"$CONF" >"$conf3"
	before=$(tree_snapshot "$STATE")
	b0=$(orders "$B_LOG")
	run -c "$conf3" renew --dry-run fo
	expect_status 0
	expect_stdout_contains "fo: would be renewed by $B_URL"
	after=$(tree_snapshot "$STATE")
	[[ $before == "$after" ]] || fail "the state folder changed in a dry run"
	(($(orders "$B_LOG") == b0 + 1)) || fail "B's staging got $(($(orders "$B_LOG") - b0)) orders"
}

# A daemon whose other CA is away at its start: said, tried again, and
# used once back.
case_daemon_ca_back()
{
	local pid conf2=$T/acmed2.conf a0

	sed -e "s|^state-dir = .*|state-dir = $T/state2|" -e "s|^control-socket = .*|control-socket = $T/ctl2.sock|" \
		-e 's|^ca = a b$|ca = b|' "$CONF" >"$conf2"
	printf '\n[cert only-a]\ndomains = only-a.example\nca = a\n' >>"$conf2"
	sed -i '/^\[cert fo\]$/,/^domains = fo.example$/d' "$conf2"
	pebble_halt
	"$ACMED" -c "$conf2" run >"$T/daemon2.out" 2>"$T/daemon2.err" &
	pid=$!
	lib_track_pid "$pid"
	if ! wait_until 30 grep -q "$A_URL: .*tried again in" "$T/daemon2.err"; then
		fail "the daemon did not say that A is away"
	fi
	pebble_restart || fail "Pebble A did not start again"
	curl -sSf --max-time 10 --cacert "$A_CA" -o "$T/rootA.pem" "$A_MGMT/roots/0" ||
		fail "no root from A"
	a0=$(orders "$A_LOG")
	if ! wait_until 40 grep -q "$A_URL: reached" "$T/daemon2.err"; then
		fail "the daemon did not reach A again"
	fi
	run -c "$conf2" renew --now only-a
	if ! wait_until 30 test -s "$T/state2/certs/only-a/cert.pem"; then
		fail "only-a was not issued once A was back"
	fi
	lib_stop_pid "$pid"
	expect_no_sanitizer_report "$T/daemon2.err"
	openssl verify -CAfile "$T/rootA.pem" -untrusted "$T/state2/certs/only-a/chain.pem" \
		"$T/state2/certs/only-a/cert.pem" >/dev/null 2>&1 || fail "only-a is not A's"
	(($(orders "$A_LOG") >= a0 + 1)) || fail "no order at A"
}

case_ "first CA of the list issues; the second is not asked" case_first_ca
case_ "first CA down: the second issues, status says which and why" case_a_down
case_ "first CA back: not reordered before due; the next renewal is the first's" case_a_back
case_ "a dry run fails over from staging to staging, EAB its own" case_dry_run_failover
case_ "an order a killed failover left at the second CA is taken on there" case_resume_at_fallback
case_ "one daemon, certificates of two CAs (one with EAB)" case_daemon_two_cas
case_ "a daemon's other CA away at its start: tried again, used once back" case_daemon_ca_back
lib_finish
