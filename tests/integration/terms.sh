#!/usr/bin/env bash
# Integration tests for "acmed terms" and the command line as a whole.
#
# Environment: ACMED (the binary under test), TESTS_DIR (tests/, for
# pebble.sh), ACMED_EXPECTED_VERSION (optional; set by meson). Exits 0, 1 when
# a case failed, 77 when everything that could run passed but Pebble is not
# installed (skipped), 99 when the harness itself is broken.
set -uo pipefail

# shellcheck source=lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh" || exit 99
lib_init terms
# shellcheck source=../pebble.sh
. "$TESTS_DIR/pebble.sh" || exit 99
SERVER_PID=

# ---- cases without a CA ----

t_version()
{
	run --version
	expect_status 0
	expect_stdout_matches '[0-9]+\.[0-9]+'
	if [[ -n ${ACMED_EXPECTED_VERSION:-} ]] && ! grep -qF -- "$ACMED_EXPECTED_VERSION" "$OUT"; then
		fail "stdout does not mention the project version $ACMED_EXPECTED_VERSION"
	fi
	# The version on the first line, then the paths this build uses.
	if [[ $(head -n1 "$OUT") != "acmed ${ACMED_EXPECTED_VERSION:-}"* ]]; then
		fail "want 'acmed VERSION' on the first line"
	fi
	if ! grep -q '^configuration: .*/acmed.conf$' "$OUT" || ! grep -q '^state folder: ' "$OUT"; then
		fail "want the configuration file and state folder after the version"
	fi
}

t_help()
{
	run --help
	expect_status 0
	# The usage lists the commands.
	expect_stdout_matches 'terms'
}

t_terms_help()
{
	run terms --help
	expect_status 0
	expect_stdout_matches 'terms'
}

t_unknown_command()
{
	run nosuchcommand
	expect_status 2
	expect_stdout_empty
	# One line for the mistake, then where the help is (not the usage).
	expect_stderr_contains "unknown command 'nosuchcommand'"
	expect_stderr_contains 'see acmed --help'
}

t_unknown_shortcode()
{
	run terms --ca no-such-shortcode
	expect_status 2
	expect_stdout_empty
	expect_stderr_nonempty
}

t_plain_http_refused()
{
	local port

	port=$(pebble_free_ports 1)
	# https only: never fetch a directory over plain http.
	run terms --ca "http://127.0.0.1:$port/dir"
	if [[ $RC == 0 ]]; then
		fail "exit status 0 for a plain http directory URL"
	fi
	expect_stdout_empty
	expect_stderr_contains "http://127.0.0.1:$port/dir"
}

t_closed_port()
{
	local port url

	port=$(pebble_free_ports 1)
	url="https://127.0.0.1:$port/dir"
	run terms --ca "$url" --ca-file "$T/certs/listener-ca.pem"
	expect_status 1
	expect_stdout_empty
	expect_stderr_one_line
	expect_stderr_contains "$url"
}

# A TLS server that answers every request with an HTML page.
start_garbage_server()
{
	local i

	GARBAGE_PORT=$(pebble_free_ports 1)
	openssl s_server -quiet -www -accept "127.0.0.1:$GARBAGE_PORT" \
		-cert "$T/certs/listener.pem" -key "$T/certs/listener.key" \
		</dev/null >"$T/s_server.log" 2>&1 &
	SERVER_PID=$!
	lib_track_pid "$SERVER_PID"
	for ((i = 0; i < 100; i++)); do
		if curl -s -o /dev/null --max-time 2 --cacert "$T/certs/listener-ca.pem" \
			"https://127.0.0.1:$GARBAGE_PORT/"; then
			return 0
		fi
		if ! kill -0 "$SERVER_PID" 2>/dev/null; then
			break
		fi
		sleep 0.1
	done
	echo "terms.sh: openssl s_server did not start:" >&2
	cat "$T/s_server.log" >&2
	return 1
}

stop_garbage_server()
{
	lib_stop_pid "$SERVER_PID"
	SERVER_PID=
}

t_not_json()
{
	local url

	if ! start_garbage_server; then
		fail "harness: cannot start openssl s_server"
		return
	fi
	url="https://127.0.0.1:$GARBAGE_PORT/dir"
	run terms --ca "$url" --ca-file "$T/certs/listener-ca.pem"
	expect_status 1
	expect_stdout_empty
	expect_stderr_one_line
	expect_stderr_contains "$url"
	# Says what is wrong with the answer.
	expect_stderr_matches 'json|directory'
	stop_garbage_server
}

# ---- cases against Pebble ----

t_pebble_terms()
{
	run terms --ca "$PEBBLE_DIR_URL" --ca-file "$PEBBLE_CA_FILE"
	expect_status 0
	expect_stdout 'data:text/plain,Do%20what%20thou%20wilt'
}

t_pebble_untrusted()
{
	# Certificate checks are on: the listener CA is in no system store.
	run terms --ca "$PEBBLE_DIR_URL"
	expect_status 1
	expect_stdout_empty
	expect_stderr_one_line
	expect_stderr_contains "$PEBBLE_DIR_URL"
}

# ---- main ----

mkdir -p "$T/certs"
if ! pebble_make_certs "$T/certs"; then
	echo "terms.sh: cannot generate test certificates" >&2
	exit 99
fi

case_ "--version prints the version" t_version
case_ "--help exits 0" t_help
case_ "terms --help exits 0" t_terms_help
case_ "an unknown command exits 2, pointing to --help" t_unknown_command
case_ "terms --ca with an unknown shortcode exits 2" t_unknown_shortcode
case_ "terms refuses a plain http directory" t_plain_http_refused
case_ "terms against a closed port exits 1 with one line" t_closed_port
case_ "terms against a non-ACME https server exits 1" t_not_json

if pebble_available; then
	if pebble_start; then
		case_ "terms against Pebble prints its terms URL" t_pebble_terms
		case_ "terms without --ca-file refuses Pebble's certificate" t_pebble_untrusted
		pebble_stop
	else
		fail_case "start Pebble"
	fi
else
	LIB_SKIPPED=1
	skip_case "terms against Pebble" "Pebble is not installed"
	skip_case "terms without --ca-file" "Pebble is not installed"
fi

lib_finish
