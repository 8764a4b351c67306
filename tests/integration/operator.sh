#!/usr/bin/env bash
# The operator's rough edges (issue 15): -q prints errors only, a bad option
# names the flag typed and points to --help, cert --json answers failures,
# the paths this build uses, a configuration with a byte order mark, quoted
# emails, URLs and international names, hooks written as shell lines, jobs
# --json with and without a daemon, unknown names exit 2. Pebble for the
# cases that issue (one Pebble for the script).
#
# Environment: ACMED, TESTS_DIR. Exits 0, 1 when a case failed, 77 when
# Pebble is not installed, 99 when the harness is broken.
set -uo pipefail

# shellcheck source=lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh" || exit 99
lib_init operator
# shellcheck source=../pebble.sh
. "$TESTS_DIR/pebble.sh" || exit 99
lib_python || exit 99

S=$T/state
UNICODE_NAME=$'b\xc3\xbccher.example'
ACE_NAME=xn--bcher-kva.example

# ---- without a CA ----

# One line naming the flag as typed, then where the help is; no usage.
t_bad_flag()
{
	run cert --standalone 99999 x.example
	expect_status 2
	if [[ $(cat "$ERR") != "acmed: error: cert: --standalone: invalid value '99999': expected PORT, ADDR:PORT or [ADDR]:PORT with a port from 1 to 65535"$'\n'"see acmed cert --help" ]]; then
		fail "want the --standalone error and 'see acmed cert --help', nothing else"
	fi
	run renew --eab-alg HS1
	expect_status 2
	expect_stderr_contains "renew: --eab-alg: invalid value 'HS1'"
	expect_stderr_contains "see acmed renew --help"
	expect_stderr_not_matches 'usage:|eab-alg: eab-alg'
	run nosuch
	expect_status 2
	expect_stderr_contains "see acmed --help"
	expect_stderr_not_matches 'usage:'
}

# cert --json prints an object on a failure too, a bad argument included.
t_cert_json_failure()
{
	run cert --json --standalone 99999 x.example
	expect_status 2
	if [[ $(json_get "$OUT" 'j["result"], j["exit"], "--standalone" in j["error"]' 2>&1) != "('failed', 2, True)" ]]; then
		fail "stdout is not the failure's JSON: $(cat "$OUT")"
	fi
	run cert --json --state-dir /proc/nonexistent/state --standalone 5999 a.example
	expect_status 2
	if [[ $(json_get "$OUT" 'j["result"], "state folder" in j["error"]' 2>&1) != "('failed', True)" ]]; then
		fail "stdout is not the failure's JSON: $(cat "$OUT")"
	fi
}

# --version names the files of this build; run's hint names the same file.
t_paths()
{
	local conf

	run --version
	expect_status 0
	conf=$(sed -n 's/^configuration: *//p' "$OUT")
	if [[ $conf != /*/acmed/acmed.conf ]]; then
		fail "--version: no configuration path: $(cat "$OUT")"
	fi
	expect_stdout_matches '^state folder: +/'
	expect_stdout_matches '^control socket: +/'
	if [[ -e $conf ]]; then
		return
	fi
	run run
	expect_status 2
	expect_stderr_contains "create $conf"
}

t_check_file()
{
	# A byte order mark before the first key.
	printf '\xef\xbb\xbfca = letsencrypt\nemail = ops@example.com\n' >"$T/bom.conf"
	run check --syntax "$T/bom.conf"
	expect_status 0
	expect_stdout "$T/bom.conf: ok, 0 certificates"

	printf 'email = "ops@example.com"\n' >"$T/quoted.conf"
	run check --syntax "$T/quoted.conf"
	expect_status 2
	expect_stderr_contains "$T/quoted.conf:1: email: invalid address '\"ops@example.com\"': write it without quotes"

	printf '[cert a]\ndomains = http://example.com\n' >"$T/url.conf"
	run check --syntax "$T/url.conf"
	expect_status 2
	expect_stderr_contains "invalid name 'http://example.com': a URL, not a name: give the bare name example.com"

	printf '[cert b]\nchallenge = dns-01\ndns-hook = /bin/true\ndomains = %s *.%s\n' \
		"$UNICODE_NAME" "$UNICODE_NAME" >"$T/idn.conf"
	run check --syntax "$T/idn.conf"
	expect_status 0
	expect_stdout_contains "[cert b]: $ACE_NAME ($UNICODE_NAME)"
	expect_stdout_contains "[cert b]: *.$ACE_NAME (*.$UNICODE_NAME)"
	# cert finds that section by the name as typed.
	run cert -c "$T/idn.conf" "$UNICODE_NAME" other.example
	expect_status 2
	expect_stderr_contains "b: configured in $T/idn.conf:1 with its own domains"
	# A section's name mistyped is not ordered as a name of one label:
	# refused before anything reaches a CA or the state folder.
	run cert -c "$T/idn.conf" --force bb
	expect_status 2
	expect_stderr_contains "bb: no [cert bb] section in $T/idn.conf, and not a domain name (it has no dot)"

	run cert --standalone 5999 $'a\xe2\x81\x84b.example'
	expect_status 2
	expect_stderr_contains "not a valid international name (IDNA2008, converted to punycode): string contains a disallowed character"
}

# A hook that reads like a shell line is said, with the form to use.
t_hook_shell_words()
{
	mkdir -p "$T/www"
	printf 'state-dir = %s\n[cert a]\ndomains = a.example\nwebroot = %s\ndeploy-hook = /bin/true && touch %s/x\n' \
		"$T/check-state" "$T/www" "$T" >"$T/hook.conf"
	run check "$T/hook.conf"
	expect_status 0
	expect_stderr_contains "warning: a: deploy-hook: '&&' is passed to /bin/true as an argument: hooks run without a shell; for a shell command line, set deploy-hook = sh -c '/bin/true && touch $T/x'"
	run -q check "$T/hook.conf"
	expect_status 0
	expect_stdout_empty
}

# jobs --json prints the same with and without a daemon; unknown names exit
# 2 with --now as without.
t_daemon_answers()
{
	local without pid

	D=$T/daemon
	lib_daemon_conf "$D"
	run jobs --json -c "$D/acmed.conf"
	expect_status 0
	without=$(cat "$OUT")
	run renew --now nosuch -c "$D/acmed.conf"
	expect_status 3
	"$ACMED" run -c "$D/acmed.conf" </dev/null >>"$D/log" 2>&1 &
	pid=$!
	lib_track_pid "$pid"
	if ! wait_until 10 test -S "$D/ctl.sock"; then
		fail "the daemon did not open its socket: $(cat "$D/log")"
		return
	fi
	run jobs --json -c "$D/acmed.conf"
	expect_status 0
	if [[ $(cat "$OUT") != "$without" ]]; then
		fail "jobs --json differs with a daemon: '$(cat "$OUT")', without: '$without'"
	fi
	run renew --now nosuch -c "$D/acmed.conf"
	expect_status 2
	expect_stderr_contains "nosuch: no such certificate in the daemon's configuration"
	run renew nosuch -c "$D/acmed.conf"
	expect_status 2
	lib_stop_pid "$pid"
}

case_ "a bad option names the flag typed, then where the help is" t_bad_flag
case_ "cert --json prints JSON on a failure" t_cert_json_failure
case_ "--version and run's hint name the paths of this build" t_paths
case_ "check: byte order mark, quoted email, URL, international names" t_check_file
case_ "a hook with shell syntax is warned about, with the sh -c form" t_hook_shell_words
case_ "jobs --json is the same with a daemon; unknown names exit 2" t_daemon_answers

# ---- against Pebble ----

pebble_require_or_skip
export PEBBLE_AUTHZREUSE=0
pebble_start >/dev/null || exit 99

CA_OPTS=(--ca "$PEBBLE_DIR_URL" --ca-file "$PEBBLE_CA_FILE" --state-dir "$S")

pebble_conf()
{
	cat >"$T/pebble.conf" <<EOF
ca = $PEBBLE_DIR_URL
ca-file = $PEBBLE_CA_FILE
state-dir = $S
agree-tos = yes
email = ops@example.com
http-listen = 127.0.0.1:$PEBBLE_HTTP_PORT
[cert one]
domains = one.example
[cert two]
domains = two.example
EOF
}

# renew -q: nothing on stdout whether it issued or not; without -q the line.
t_renew_quiet()
{
	pebble_conf
	run -q renew -c "$T/pebble.conf"
	expect_status 0
	expect_stdout_empty
	if [[ ! -s $S/certs/one/cert.pem || ! -s $S/certs/two/cert.pem ]]; then
		fail "renew -q did not issue"
	fi
	run renew -q -c "$T/pebble.conf"
	expect_status 0
	expect_stdout_empty
	if [[ -s $ERR ]]; then
		fail "renew -q wrote on stderr: $(cat "$ERR")"
	fi
	run renew -c "$T/pebble.conf"
	expect_status 0
	expect_stdout "issued 0, renewed 0, unchanged 2, failed 0"
}

# An international name is ordered as its A-label, shown in both forms.
t_idn_cert()
{
	local san

	run cert "${CA_OPTS[@]}" --agree-tos --standalone "127.0.0.1:$PEBBLE_HTTP_PORT" \
		"$UNICODE_NAME" "www.$UNICODE_NAME"
	expect_status 0
	expect_stderr_contains "$ACE_NAME: names $ACE_NAME ($UNICODE_NAME), www.$ACE_NAME (www.$UNICODE_NAME)"
	expect_stdout_contains "$S/certs/$ACE_NAME/fullchain.pem"
	san=$(openssl x509 -in "$S/certs/$ACE_NAME/cert.pem" -noout -ext subjectAltName 2>/dev/null | sed -n 2p)
	if [[ $san != *"DNS:$ACE_NAME"* || $san != *"DNS:www.$ACE_NAME"* ]]; then
		fail "subjectAltName '$san', want the A-labels"
	fi
}

# A CA's refusal is JSON too; the sh -c form of a hook runs through a shell.
t_cert_json_ca_failure()
{
	run cert --json "${CA_OPTS[@]}" --agree-tos --standalone "127.0.0.1:$PEBBLE_HTTP_PORT" \
		--profile shortlived profile.example
	expect_status 1
	if [[ $(json_get "$OUT" 'j["result"], j["exit"], "drop --profile" in j["error"]' 2>&1) != "('failed', 1, True)" ]]; then
		fail "stdout is not the failure's JSON: $(cat "$OUT")"
	fi
	run cert "${CA_OPTS[@]}" --agree-tos --standalone "127.0.0.1:$PEBBLE_HTTP_PORT" \
		--deploy-hook "sh -c 'true && touch $T/deployed'" hook.example
	expect_status 0
	expect_stderr_not_matches 'passed to'
	if [[ ! -e $T/deployed ]]; then
		fail "the sh -c form of the deploy hook did not run through a shell"
	fi
}

case_ "renew -q prints nothing but errors" t_renew_quiet
case_ "an international name is ordered as its A-label, shown in both forms" t_idn_cert
case_ "cert --json on a CA's refusal; the sh -c form runs" t_cert_json_ca_failure

lib_finish
