#!/usr/bin/env bash
# The operator's commands of issue 15 against Pebble: "status" over every
# certificate of a state folder (with and without a configuration, one
# order by name, the folder named), the stored last error that says why,
# "delete NAME", pre-hook/post-hook around the orders of a run, and
# "revoke NAME" (--replace).
#
# Environment: ACMED, TESTS_DIR. Exits 0, 1 when a case failed, 77 when
# Pebble is not installed, 99 when the harness is broken.
set -uo pipefail

# shellcheck source=lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh" || exit 99
lib_init commands
# shellcheck source=../pebble.sh
. "$TESTS_DIR/pebble.sh" || exit 99

pebble_require_or_skip
export PEBBLE_AUTHZREUSE=0
lib_python || exit 99
pebble_start || {
	fail_case "start Pebble"
	lib_finish
}

S=$T/state
CA_OPTS=(--ca "$PEBBLE_DIR_URL" --ca-file "$PEBBLE_CA_FILE" --agree-tos)
STANDALONE=(--standalone "127.0.0.1:$PEBBLE_HTTP_PORT")
HOOK=$T/hook
HOOK_LOG=$T/hook.log

cat >"$HOOK" <<EOF
#!/bin/sh
echo "\$ACMED_HOOK \$ACMED_CERT_NAMES \$*" >>"$HOOK_LOG"
case \$1 in fail) echo "cannot stop the web server"; exit 3;; esac
exit 0
EOF
chmod +x "$HOOK"

# json_get FILE EXPR: EXPR (Python, j the document) over FILE.
json_get()
{
	"$PY" -c 'import json, sys
j = json.load(open(sys.argv[1]))
v = eval(sys.argv[2])
print(" ".join(str(x) for x in v) if isinstance(v, list) else v)' "$1" "$2" 2>/dev/null
}

# Pebble's newOrders so far.
orders()
{
	grep -c 'POST /order-plz -> calling handler' "$PEBBLE_WORKDIR/pebble.log"
}

# Pebble's "Valid"/"Revoked" of the certificate with serial $1 (hex).
pebble_status()
{
	curl -s --max-time 10 --cacert "$PEBBLE_CA_FILE" \
		"$PEBBLE_MGMT_URL/cert-status-by-serial/$1" |
		"$PY" -c 'import json, sys; print(json.load(sys.stdin)["Status"])' 2>/dev/null
}

issue()
{
	run cert "${CA_OPTS[@]}" --state-dir "$S" "${STANDALONE[@]}" "$@"
}

CONF=$T/acmed.conf
cat >"$CONF" <<EOF
ca = $PEBBLE_DIR_URL
ca-file = $PEBBLE_CA_FILE
agree-tos = yes
state-dir = $S
control-socket = $T/acmed.sock
http-listen = 127.0.0.1:$PEBBLE_HTTP_PORT

[cert zz]
domains = zz.example
EOF

t_status_all()
{
	issue --key-type rsa-2048 b.example
	expect_status 0
	issue a.example www.a.example
	expect_status 0
	# No configuration: every certificate of the folder, by name.
	run status --state-dir "$S" --json
	expect_status 0
	[[ $(json_get "$OUT" '[c["cert"] for c in j["certs"]]') == "a.example b.example" ]] ||
		fail "status --state-dir: certificates $(json_get "$OUT" '[c["cert"] for c in j["certs"]]'), want a.example b.example"
	[[ $(json_get "$OUT" 'j["state_dir"]') == "$S" ]] || fail "status --json: state_dir is not $S"
	[[ $(json_get "$OUT" '[c["key_type"] for c in j["certs"]]') == "ec-p256 rsa-2048" ]] ||
		fail "status --json: key types $(json_get "$OUT" '[c["key_type"] for c in j["certs"]]')"
	[[ $(json_get "$OUT" '[c["state"] for c in j["certs"]]') == "ok ok" ]] ||
		fail "status --json: states $(json_get "$OUT" '[c["state"] for c in j["certs"]]')"
	[[ $(json_get "$OUT" 'j["certs"][0]["paths"]["fullchain"]') == "$S/certs/a.example/fullchain.pem" ]] ||
		fail "status --json: the fullchain path"
	[[ $(json_get "$OUT" 'j["certs"][0]["issuer"]') == "Pebble Intermediate CA"* ]] ||
		fail "status --json: issuer $(json_get "$OUT" 'j["certs"][0]["issuer"]')"
	[[ $(json_get "$OUT" '1820 <= j["certs"][0]["days_left"] <= 1830') == True ]] ||
		fail "status --json: days_left $(json_get "$OUT" 'j["certs"][0]["days_left"]')"
	run status --state-dir "$S"
	expect_status 0
	[[ $(head -n 1 "$OUT") == "state folder: $S (read from the files)" ]] ||
		fail "status: the first line does not name the state folder"
	expect_stdout_contains "key rsa-2048, issued by Pebble"
	expect_stdout_contains "files: $S/certs/a.example/{cert,chain,fullchain,privkey}.pem"
	# With a configuration: the others are shown, marked, and in one order.
	run status -c "$CONF" --json
	expect_status 0
	[[ $(json_get "$OUT" '[(c["cert"], c["state"]) for c in j["certs"]]') == "('a.example', 'unconfigured') ('b.example', 'unconfigured') ('zz', 'due')" ]] ||
		fail "status -c: rows $(json_get "$OUT" '[(c["cert"], c["state"]) for c in j["certs"]]')"
}

# The stored error says why, without "see above" (status shows it later,
# where there is no log above).
t_error_self_contained()
{
	local e

	cat >"$T/offline.conf" <<EOF
ca = https://127.0.0.1:9/dir
ca-file = $PEBBLE_CA_FILE
agree-tos = yes
state-dir = $S
http-listen = 127.0.0.1:$PEBBLE_HTTP_PORT
[cert err.example]
domains = err.example
EOF
	run renew -c "$T/offline.conf"
	expect_status 1
	run status -c "$T/offline.conf" --json
	e=$(json_get "$OUT" '[c.get("last_error") for c in j["certs"] if c["cert"] == "err.example"][0]')
	[[ $e == *"the CA cannot be reached: "*"127.0.0.1"* ]] ||
		fail "stored error does not name the reason: '$e'"
	[[ $e != *"see above"* ]] || fail "stored error points to a log: '$e'"
	[[ $(json_get "$OUT" '[c["state"] for c in j["certs"] if c["cert"] == "err.example"][0]') == failing ]] ||
		fail "err.example is not failing"
	run status -c "$T/offline.conf"
	expect_stdout_contains "last error: err.example: "
	# Never issued: where its files will be, said as such.
	expect_stdout_contains "files (once issued): $S/certs/err.example/{cert,chain,fullchain,privkey}.pem"
}

t_delete()
{
	local pid

	run delete --state-dir "$S" nosuch --yes
	expect_status 2
	expect_stderr_contains "nosuch: no such certificate in $S"
	# No terminal, no --yes: refused, nothing removed.
	run delete --state-dir "$S" err.example
	expect_status 2
	expect_stderr_contains "pass --yes"
	[[ -d $S/certs/err.example ]] || fail "removed without --yes"
	# A process holding its lock: refused.
	"$PY" -c 'import fcntl, sys, time
f = open(sys.argv[1], "a"); fcntl.flock(f, fcntl.LOCK_EX); time.sleep(30)' "$S/locks/cert.err.example" &
	pid=$!
	sleep 0.3
	run delete --state-dir "$S" err.example --yes
	expect_status 1
	expect_stderr_contains "holds its lock"
	kill "$pid" 2>/dev/null
	wait "$pid" 2>/dev/null
	[[ -d $S/certs/err.example ]] || fail "removed while its lock was held"
	# A copy the user made elsewhere stays.
	cp "$S/certs/b.example/fullchain.pem" "$T/copy.pem"
	run delete --state-dir "$S" b.example --yes
	expect_status 0
	[[ ! -e $S/certs/b.example && ! -e $S/locks/cert.b.example ]] || fail "b.example not wholly removed"
	[[ -s $T/copy.pem ]] || fail "the user's copy went"
	run status --state-dir "$S" --json
	[[ $(json_get "$OUT" '[c["cert"] for c in j["certs"]]') != *b.example* ]] || fail "status still lists b.example"
	# On a terminal: asked, and no is no.
	script -qc "'$ACMED' delete --state-dir '$S' err.example" /dev/null <<<"n" >"$OUT" 2>&1
	grep -q 'delete certificate err.example (nothing installed)? \[y/N\]' "$OUT" || fail "no question on a terminal"
	[[ -d $S/certs/err.example ]] || fail "removed after no"
	script -qc "'$ACMED' delete --state-dir '$S' err.example" /dev/null <<<"y" >"$OUT" 2>&1
	[[ ! -e $S/certs/err.example ]] || fail "not removed after yes"
}

t_delete_daemon()
{
	local pid

	issue zz.example --name zz
	expect_status 0
	"$ACMED" run -c "$CONF" >"$T/run.log" 2>&1 &
	pid=$!
	lib_track_pid "$pid"
	if ! wait_until 15 test -S "$T/acmed.sock"; then
		fail "the daemon did not start"
		return
	fi
	sleep 1
	run delete -c "$CONF" zz --yes
	expect_status 1
	expect_stderr_contains "the running daemon renews it"
	[[ -d $S/certs/zz ]] || fail "zz removed under the daemon"
	# One it does not renew goes.
	run delete -c "$CONF" a.example --yes
	expect_status 0
	lib_stop_pid "$pid"
}

t_hooks()
{
	local n

	: >"$HOOK_LOG"
	n=$(orders)
	issue h1.example --pre-hook "$HOOK a" --post-hook "$HOOK b"
	expect_status 0
	[[ $(cat "$HOOK_LOG") == $'pre h1.example a\npost h1.example b' ]] ||
		fail "hooks of one order: $(tr '\n' ';' <"$HOOK_LOG")"
	# Nothing to order: no hook.
	: >"$HOOK_LOG"
	issue h1.example --pre-hook "$HOOK a" --post-hook "$HOOK b"
	expect_status 0
	[[ ! -s $HOOK_LOG ]] || fail "hooks ran with nothing ordered: $(tr '\n' ';' <"$HOOK_LOG")"
	# A failing pre-hook: no order reaches the CA, the post-hook runs.
	n=$(orders)
	issue h2.example --pre-hook "$HOOK fail" --post-hook "$HOOK b"
	expect_status 1
	expect_stderr_contains "pre-hook '$HOOK fail' failed: exit 3: cannot stop the web server"
	[[ $(orders) == "$n" ]] || fail "an order was placed after the pre-hook failed"
	[[ $(cat "$HOOK_LOG") == $'pre h2.example fail\npost h2.example b' ]] ||
		fail "hooks after a failing pre-hook: $(tr '\n' ';' <"$HOOK_LOG")"
	# A profile the CA does not offer: refused before the pre-hook.
	: >"$HOOK_LOG"
	issue h3.example --pre-hook "$HOOK a" --post-hook "$HOOK b" --profile nosuch
	expect_status 1
	expect_stderr_contains "profile nosuch"
	[[ ! -s $HOOK_LOG ]] || fail "hooks ran for an order refused before: $(tr '\n' ';' <"$HOOK_LOG")"
	# renew: once around both orders of the run.
	cat >"$T/hooks.conf" <<EOF
ca = $PEBBLE_DIR_URL
ca-file = $PEBBLE_CA_FILE
agree-tos = yes
state-dir = $T/state-hooks
http-listen = 127.0.0.1:$PEBBLE_HTTP_PORT
pre-hook = $HOOK a
post-hook = $HOOK b
[cert r1]
domains = r1.example
[cert r2]
domains = r2.example
EOF
	: >"$HOOK_LOG"
	run renew -c "$T/hooks.conf"
	expect_status 0
	[[ $(grep -c '^pre ' "$HOOK_LOG") == 1 && $(grep -c '^post ' "$HOOK_LOG") == 1 ]] ||
		fail "renew: hooks not once each: $(tr '\n' ';' <"$HOOK_LOG")"
	grep -qE '^post (r1\.example|r1) ' "$HOOK_LOG" || grep -qE '^post r[12] r[12] b$' "$HOOK_LOG" ||
		fail "renew: the post-hook's ACMED_CERT_NAMES: $(tr '\n' ';' <"$HOOK_LOG")"
}

t_revoke_by_name()
{
	local s1 s2

	issue rv.example
	expect_status 0
	s1=$(cert_serial "$S/certs/rv.example/cert.pem")
	run revoke --state-dir "$S" --ca-file "$PEBBLE_CA_FILE" rv.example
	expect_status 0
	[[ $(pebble_status "$s1") == Revoked ]] || fail "Pebble does not have $s1 revoked"
	issue rp.example --key-type ec-p384
	s1=$(cert_serial "$S/certs/rp.example/cert.pem")
	run revoke --state-dir "$S" --ca-file "$PEBBLE_CA_FILE" --replace "${STANDALONE[@]}" rp.example
	expect_status 0
	s2=$(cert_serial "$S/certs/rp.example/cert.pem")
	[[ -n $s2 && $s2 != "$s1" ]] || fail "--replace: the serial did not change ($s1)"
	[[ $(pebble_status "$s1") == Revoked && $(pebble_status "$s2") == Valid ]] ||
		fail "--replace: Pebble has $s1 $(pebble_status "$s1"), $s2 $(pebble_status "$s2")"
	openssl x509 -in "$S/certs/rp.example/cert.pem" -noout -text | grep -q 'NIST CURVE: P-384' ||
		fail "--replace: not the key type of what was installed"
	# Already revoked (by the plain revoke above): --replace replaces it.
	run revoke --state-dir "$S" --ca-file "$PEBBLE_CA_FILE" --replace "${STANDALONE[@]}" rv.example
	expect_status 0
	expect_stderr_contains "already revoked; ordering its replacement"
	s2=$(cert_serial "$S/certs/rv.example/cert.pem")
	[[ $(pebble_status "$s2") == Valid ]] || fail "rv.example: its replacement is not valid"
	# The replacement's port taken: nothing revoked, exit 2.
	"$PY" -c 'import socket,sys,time; s=socket.socket(); s.bind(("127.0.0.1",0)); s.listen()
print(s.getsockname()[1], flush=True); time.sleep(30)' >"$T/busy.port" &
	lib_track_pid $!
	wait_until 10 test -s "$T/busy.port" || fail "no busy port"
	s1=$(cert_serial "$S/certs/rp.example/cert.pem")
	run revoke --state-dir "$S" --ca-file "$PEBBLE_CA_FILE" --replace \
		--standalone "127.0.0.1:$(cat "$T/busy.port")" rp.example
	expect_status 2
	expect_stderr_contains "not revoked: its replacement could not be ordered"
	[[ $(pebble_status "$s1") == Valid ]] || fail "revoked although the replacement could not be ordered"
	run revoke --state-dir "$S" nosuch
	expect_status 2
	run revoke --state-dir "$S" --standalone 80 rp.example
	expect_status 2
	expect_stderr_contains "applies only with --replace"
}

case_ "status lists every certificate of the state folder, with and without a configuration" t_status_all
case_ "the stored last error names its reason" t_error_self_contained
case_ "delete NAME" t_delete
case_ "delete refuses a certificate the running daemon renews" t_delete_daemon
case_ "pre-hook and post-hook once around the orders of a run" t_hooks
case_ "revoke NAME, and --replace" t_revoke_by_name
lib_finish
