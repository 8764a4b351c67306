#!/usr/bin/env bash
# Hostile-server tests: "acmed cert" against tests/mock-acme/mock_acme.py,
# a scriptable ACME server on loopback TLS, one misbehaviour per case.
#
# A good certificate is issued first into a state folder ($GOOD). Each case
# copies that folder, switches the mock to a scenario, runs "acmed cert
# --force" for the same names, and checks the exit status, the message, that
# every file of the copy but state.json is byte for byte as it was (nothing
# installed, no account or key changed, no pending order left), and that
# nothing ran: the deploy hook not at all, the http-01 hook never with a
# token the server made up.
#
# Environment: ACMED (the binary under test), TESTS_DIR (tests/). Exits 0, 1
# when a case failed, 77 when python3, openssl or curl is missing, 99 when
# the harness itself is broken.
set -uo pipefail

# shellcheck source=lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh" || exit 99
lib_init hostile

# shellcheck source=../mock-acme/mock.sh
. "$TESTS_DIR/mock-acme/mock.sh" || exit 99
mock_init

# acmed runs from $T, so that a relative path a hostile value could name
# lands where the test looks.
cd "$T" || exit 99

NAMES=(good.example www.good.example)
GOOD=$T/state-good
HOOK=$T/http-hook
DEPLOY=$T/deploy-hook


# ---- hooks that record their calls ----

make_hooks()
{
	cat >"$HOOK" <<EOF
#!/bin/sh
# http-01 hook for the tests: records its argv, one call a line. The mock
# does not fetch anything, so publishing is not needed.
printf '%s|' "\$@" >>'$T/http-hook.log'
echo >>'$T/http-hook.log'
EOF
	cat >"$DEPLOY" <<EOF
#!/bin/sh
printf 'deploy %s\n' "\${ACMED_CERT_NAME:-}" >>'$T/deploy.log'
EOF
	chmod 755 "$HOOK" "$DEPLOY"
}

clear_hook_logs()
{
	: >"$T/http-hook.log"
	: >"$T/deploy.log"
}

expect_no_deploy()
{
	if [[ -s $T/deploy.log ]]; then
		fail "the deploy hook ran: $(tr '\n' ';' <"$T/deploy.log")"
	fi
}

expect_no_http_hook()
{
	if [[ -s $T/http-hook.log ]]; then
		fail "the http-01 hook ran: $(head -c 300 "$T/http-hook.log" | tr '\n' ';')"
	fi
}

# ---- certificate checks ----

expect_installed()
{
	local d=$1 f out

	for f in privkey.pem cert.pem chain.pem fullchain.pem; do
		if [[ ! -s $d/$f ]]; then
			fail "$d/$f: missing or empty"
			return
		fi
	done
	expect_file_mode "$d/privkey.pem" 600
	if [[ $(openssl pkey -in "$d/privkey.pem" -pubout 2>/dev/null) != \
		"$(openssl x509 -in "$d/cert.pem" -noout -pubkey 2>/dev/null)" ]]; then
		fail "$d: privkey.pem does not match cert.pem"
	fi
	if ! out=$(openssl verify -CAfile "$MOCK_DIR/root.pem" -untrusted "$d/chain.pem" \
		"$d/cert.pem" 2>&1); then
		fail "$d: openssl verify: $(tr '\n' ' ' <<<"$out")"
	fi
}

# ---- one hostile run ----

CASE_N=0

# hostile_prepare: a copy of the good state in $S, its snapshot, empty hook
# logs, the log mark.
hostile_prepare()
{
	CASE_N=$((CASE_N + 1))
	S=$T/case-$CASE_N
	SNAP=$T/snap-$CASE_N
	rm -rf -- "$S"
	cp -a -- "$GOOD" "$S" || fail "harness: cannot copy $GOOD"
	tree_snapshot "$S" ! -name state.json >"$SNAP"
	clear_hook_logs
	mlog_mark
}

# hostile_run SCENARIO [SECONDS [OPTION...]]: runs cert --force (and the
# options) against the scenario in a copy of the good state. The scenario
# stays until the next case sets its own (each does).
hostile_run()
{
	local scenario=$1 secs=${2:-30}

	shift $(($# < 2 ? $# : 2))
	hostile_prepare
	mock_set "\"scenario\": \"$scenario\"" || return 1
	run_t "$secs" cert "${NAMES[@]}" --force --http-hook "$HOOK" --deploy-hook "$DEPLOY" \
		"${CA_OPTS[@]}" --state-dir "$S" "$@"
}

# expect_refused REGEX: the common checks after a hostile run: exit status
# 1, an error that matches REGEX, the state unchanged but for state.json
# (which records the attempt), no deploy hook.
expect_refused()
{
	local st=$S/certs/good.example/state.json

	expect_status 1
	expect_stderr_matches "error: .*($1)"
	expect_tree_unchanged "$SNAP" "$S" ! -name state.json
	expect_no_deploy
	# The attempt is recorded, and no order is left to resume.
	if ! grep -qE '^  "attempts": [1-9]' "$st" || ! grep -q '^  "last_error": "' "$st" ||
		grep -q '"order_url"' "$st"; then
		fail "$st: want attempts >= 1, a last_error and no order_url: $(head -c 300 "$st" 2>/dev/null | tr '\n' ' ')"
	fi
}

# expect_refused_early REGEX: refused before any order (the directory): the
# common checks of expect_refused (the attempt is recorded: the renewal
# policy backs off from a CA that cannot be used, as from any failure), and
# no challenge hook ran.
expect_refused_early()
{
	expect_refused "$1"
	expect_no_http_hook
}

# ---- cases: the good path ----

t_good()
{
	run cert "${NAMES[@]}" --http-hook "$HOOK" --deploy-hook "$DEPLOY" "${CA_OPTS[@]}" \
		--state-dir "$GOOD" --agree-tos
	expect_status 0
	expect_installed "$GOOD/certs/good.example"
	if ! grep -q '^add|good\.example|' "$T/http-hook.log"; then
		fail "the http-01 hook was not called: $(tr '\n' ';' <"$T/http-hook.log")"
	fi
	if [[ $(cat "$T/deploy.log") != "deploy good.example" ]]; then
		fail "the deploy hook did not run once: $(tr '\n' ';' <"$T/deploy.log")"
	fi
}

# ---- tokens: refused before any file, URL or hook sees them ----

# t_token SCENARIO REGEX
t_token()
{
	hostile_run "$1"
	expect_refused "$2"
	expect_no_http_hook
	# The http-01 challenge was never answered.
	if [[ $(mlog_count 'e["kind"] == "challenge"') != 0 ]]; then
		fail "acmed answered a challenge"
	fi
}

t_token_dotdot() { t_token token-dotdot 'token'; }
t_token_slash() { t_token token-slash 'token'; }
t_token_empty() { t_token token-empty 'token'; }
t_token_long() { t_token token-long 'token'; }
t_token_nul() { t_token token-nul 'NUL|u0000|token'; }
t_token_missing() { t_token token-missing 'token'; }

t_token_shell()
{
	t_token token-shell 'token'
	if [[ -e $MOCK_DIR/pwned || -n $(find "$T" -name pwned 2>/dev/null) ]]; then
		fail "a pwned file was created: the token reached a shell"
	fi
}

# The same through a webroot: nothing is written anywhere.
t_token_webroot()
{
	local www=$T/www snap=$T/snap-www

	mkdir -p "$www/site/root"
	tree_snapshot "$www" >"$snap"
	hostile_prepare
	mock_set '"scenario": "token-dotdot"' || return
	run cert "${NAMES[@]}" --force --webroot "$www/site/root" --deploy-hook "$DEPLOY" \
		"${CA_OPTS[@]}" --state-dir "$S"
	expect_refused 'token'
	expect_tree_unchanged "$snap" "$www"
	if [[ -n $(find "$T" -name passwd 2>/dev/null) ]]; then
		fail "a file named passwd was written: $(find "$T" -name passwd)"
	fi
}

# ---- identifiers and authorizations ----

t_order_other_ids()
{
	hostile_run order-other-ids
	expect_refused 'identifiers differ'
	expect_no_http_hook
}

t_order_extra_ids()
{
	hostile_run order-extra-ids
	expect_refused 'identifiers differ'
	expect_no_http_hook
}

t_order_fewer_ids()
{
	hostile_run order-fewer-ids
	expect_refused 'identifiers differ'
	expect_no_http_hook
}

t_authz_other_id()
{
	hostile_run authz-other-id
	expect_refused 'not requested'
	expect_no_http_hook
}

t_authz_1000()
{
	hostile_run authz-1000
	expect_refused 'authorizations'
	expect_no_http_hook
	if (($(mlog_count 'e["kind"] == "authz"') > 0)); then
		fail "acmed fetched authorizations of the 1000"
	fi
}

t_authz_extra()
{
	hostile_run authz-extra
	expect_refused 'authorizations'
	expect_no_http_hook
}

# ---- URLs: https only, no redirects, no other host ----

# t_url SCENARIO REGEX: refused, and no request went anywhere but https to
# the mock's own host.
t_url()
{
	hostile_run "$1"
	expect_refused "$2"
	if [[ $(mlog_count "e[\"host\"] != \"127.0.0.1:$MOCK_PORT\"") != 0 ]]; then
		fail "a request reached another host: $(mlog_values 'e["host"]' | sort -u | tr '\n' ' ')"
	fi
}

t_url_http_finalize()
{
	t_url url-http-finalize 'not an https URL'
	expect_no_http_hook
}

t_url_http_authz()
{
	t_url url-http-authz 'not an https URL|https'
	expect_no_http_hook
}

t_url_file_authz()
{
	t_url url-file-authz 'not an https URL|https'
	expect_no_http_hook
}

t_url_http_challenge()
{
	t_url url-http-challenge 'not an https URL'
	expect_no_http_hook
}

t_url_http_cert() { t_url url-http-cert 'not an https URL'; }
t_url_file_cert() { t_url url-file-cert 'not an https URL'; }

t_url_http_location()
{
	t_url url-http-location 'Location'
	expect_no_http_hook
}

# Authorization URLs on https://localhost:PORT: the same server under
# another name. DESIGN.md: "https only, no redirects"; the issue: "another
# host -> refused".
t_url_other_host()
{
	t_url url-other-host 'host'
	expect_no_http_hook
}

# The directory is read before anything else: nothing is created.
t_url_http_directory()
{
	hostile_run url-http-directory
	expect_refused_early 'not an ACME directory|https'
	if [[ $(mlog_count 'e["kind"] != "directory"') != 0 ]]; then
		fail "acmed sent requests after reading the directory"
	fi
}

t_redirect()
{
	t_url redirect '302|redirect|not JSON'
	if [[ $(mlog_count '"redirected" in e["path"]') != 0 ]]; then
		fail "acmed followed the redirect"
	fi
	expect_no_http_hook
}

t_redirect_http()
{
	t_url redirect-http '302|redirect|not JSON'
	expect_no_http_hook
}

# ---- bodies ----

# t_body SCENARIO REGEX [MAX-SECONDS]
t_body()
{
	local start=$SECONDS

	hostile_run "$1"
	expect_refused "$2"
	expect_no_http_hook
	if ((SECONDS - start > ${3:-10})); then
		fail "took $((SECONDS - start)) s"
	fi
}

t_body_not_json() { t_body body-not-json 'not JSON'; }
t_body_empty() { t_body body-empty 'not JSON'; }
t_body_array() { t_body body-array 'not a JSON object'; }
t_body_truncated() { t_body body-truncated 'not JSON'; }
t_body_huge() { t_body body-huge 'larger than|too large|maximum file size'; }
t_body_stream() { t_body body-stream-100m 'larger than|too large|maximum file size'; }
t_body_nested() { t_body body-nested 'not JSON|depth'; }
t_body_nested_object() { t_body body-nested-object 'not JSON|depth'; }
t_body_dupkeys() { t_body body-dupkeys 'duplicate'; }
t_body_html() { t_body body-html '502'; }
t_body_html_201() { t_body body-html-200 'not JSON'; }
t_body_gzip() { t_body body-gzip-bomb 'not JSON'; }

# Server text in a message: one line, no control characters.
t_problem_escapes()
{
	hostile_run authz-invalid
	expect_refused 'unauthorized'
	if grep -q $'\e' "$ERR"; then
		fail "an escape character from the server reached the terminal"
	fi
	if grep -q '^second line' "$ERR"; then
		fail "a newline from the server split the message"
	fi
}

t_problem_huge()
{
	hostile_run problem-huge-detail
	expect_refused '400'
	if (($(wc -c <"$ERR") > 4096)); then
		fail "stderr is $(wc -c <"$ERR") bytes: the 100 kB detail was printed"
	fi
}

# ---- headers ----

t_nonce_missing() { t_body nonce-missing 'Replay-Nonce'; }
t_nonce_long() { t_body nonce-long 'Replay-Nonce'; }
t_nonce_bad() { t_body nonce-bad-chars 'Replay-Nonce'; }
t_no_location_order() { t_body no-location-order 'Location'; }
t_header_flood() { t_body header-flood 'header'; }

# newAccount's 201 without Location on a fresh state: no account kept.
t_no_location_account()
{
	local st=$T/state-fresh

	clear_hook_logs
	mock_set '"scenario": "no-location-account"' || return
	run cert fresh.example --http-hook "$HOOK" --deploy-hook "$DEPLOY" "${CA_OPTS[@]}" \
		--state-dir "$st" --agree-tos
	expect_status 1
	expect_stderr_matches 'error: .*Location'
	# locks/account.* is the account's lock, not an account.
	if [[ -n $(find "$st" -name 'account.*' ! -path '*/locks/*' 2>/dev/null) ]]; then
		fail "account files were left: $(find "$st" -name 'account.*' ! -path '*/locks/*')"
	fi
	expect_no_http_hook
	expect_no_deploy
}

# 100 Link headers on every answer of an otherwise good CA: issued.
t_links_100()
{
	hostile_run links-100
	expect_status 0
	expect_installed "$S/certs/good.example"
	if cmp -s "$GOOD/certs/good.example/cert.pem" "$S/certs/good.example/cert.pem"; then
		fail "the certificate was not renewed"
	fi
	if [[ $(cat "$T/deploy.log") != "deploy good.example" ]]; then
		fail "the deploy hook did not run once: $(tr '\n' ';' <"$T/deploy.log")"
	fi
}

# Retry-After on an order that stays "processing" for 2 s, then turns
# invalid: acmed waits between polls (1 s at least), and reports the order.
# t_retry_after SCENARIO
t_retry_after()
{
	local polls

	hostile_run "$1" 30
	expect_refused 'stuck on purpose|invalid'
	polls=$(mlog_count 'e["kind"] == "order"')
	# 2 s of "processing" is 2 or 3 polls a second apart; a storm is
	# dozens.
	if ((polls > 6)); then
		fail "$polls order polls in the 2 s the order was processing: Retry-After '$2' is not bounded below"
	fi
}

t_retry_after_negative() { t_retry_after retry-after-negative '-5'; }
t_retry_after_past() { t_retry_after retry-after-past 'a date in the past'; }
t_retry_after_zero() { t_retry_after retry-after-zero '0'; }
t_retry_after_garbage() { t_retry_after retry-after-garbage 'soon'; }

mlog_has_finalize()
{
	(($(mlog_count 'e["kind"] == "finalize"') > 0))
}

# A huge Retry-After: acmed waits (within its own order deadline) rather
# than polling; stopped 4 s after it finalized. The installed files are
# untouched; the pending order and its key are kept on purpose (a restart
# resumes it).
t_retry_after_huge()
{
	local d polls pid

	hostile_prepare
	d=$S/certs/good.example
	tree_snapshot "$d" ! -name state.json ! -name pending.key >"$SNAP"
	mock_set '"scenario": "retry-after-huge"' || return
	LAST_CMD="acmed cert ${NAMES[*]} --force ... (stopped 4 s after finalize)"
	"$ACMED" cert "${NAMES[@]}" --force --http-hook "$HOOK" --deploy-hook "$DEPLOY" \
		"${CA_OPTS[@]}" --state-dir "$S" </dev/null >"$OUT" 2>"$ERR" &
	pid=$!
	lib_track_pid "$pid"
	if ! wait_until 30 mlog_has_finalize; then
		fail "acmed did not finalize within 30 s"
	fi
	sleep 4
	if kill -0 "$pid" 2>/dev/null; then
		RC=running
	else
		wait "$pid"
		RC=$?
		fail "acmed exited ($RC) instead of waiting"
	fi
	lib_stop_pid "$pid"
	expect_no_sanitizer_report "$ERR"
	polls=$(mlog_count 'e["kind"] == "order"')
	if ((polls > 0)); then
		fail "$polls order polls despite Retry-After: 99999999999999999999"
	fi
	expect_tree_unchanged "$SNAP" "$d" ! -name state.json ! -name pending.key
	expect_no_deploy
}

# ---- HTTP errors ----

# mlog_spread PYTHON-EXPR: seconds from the first to the last request that
# matches EXPR since mlog_mark (0 when fewer than two).
mlog_spread()
{
	tail -n "+$((MLOG_MARK + 1))" "$MLOG" | "$PY" -c '
import json, sys
expr = compile(sys.argv[1], "expr", "eval")
t = [e["time"] for e in map(json.loads, filter(str.strip, sys.stdin)) if eval(expr, {"e": e})]
print("%.1f" % (t[-1] - t[0] if len(t) > 1 else 0))
' "$1"
}

# spread_at_least EXPR SECONDS
spread_at_least()
{
	local got

	got=$(mlog_spread "$1")
	if ! awk -v g="$got" -v w="$2" 'BEGIN { exit !(g >= w) }'; then
		fail "requests matching $1 spread over $got s, want at least $2 s"
	fi
}

t_rate_limited()
{
	hostile_run rate-limited
	expect_refused '429'
	expect_stderr_contains 'rateLimited'
	# An hour is not waited for; the error tells when to come back.
	expect_stderr_matches 'retry after [0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9:]{8}Z'
	expect_no_http_hook
	if [[ $(mlog_count 'e["kind"] == "new-order"') != 1 ]]; then
		fail "$(mlog_count 'e["kind"] == "new-order"') newOrder requests, want 1"
	fi
}

t_unavailable()
{
	hostile_run unavailable
	expect_refused '503'
	expect_no_http_hook
	if [[ $(mlog_count 'e["kind"] == "new-order"') != 1 ]]; then
		fail "$(mlog_count 'e["kind"] == "new-order"') newOrder requests, want 1"
	fi
}

# 429 with Retry-After: 1 twice, then through: waited for, issued.
t_rate_limited_briefly()
{
	hostile_run rate-limited-briefly
	expect_status 0
	expect_installed "$S/certs/good.example"
	expect_stderr_contains 'the CA answered 429; trying again in 1 s (attempt 2 of 3)'
	if [[ $(mlog_count 'e["kind"] == "new-order"') != 3 ]]; then
		fail "$(mlog_count 'e["kind"] == "new-order"') newOrder requests, want 3"
	fi
	spread_at_least 'e["kind"] == "new-order"' 1.8
}

# 503 without Retry-After on the first newOrder and the first finalize:
# each tried again a second later, issued.
t_unavailable_briefly()
{
	hostile_run unavailable-briefly
	expect_status 0
	expect_installed "$S/certs/good.example"
	if [[ $(mlog_count 'e["kind"] == "new-order"') != 2 ||
		$(mlog_count 'e["kind"] == "finalize"') != 2 ]]; then
		fail "$(mlog_count 'e["kind"] == "new-order"') newOrder and $(mlog_count 'e["kind"] == "finalize"') finalize requests, want 2 and 2"
	fi
	spread_at_least 'e["kind"] == "new-order"' 0.9
}

# 503 with Retry-After: 2 for ever: three attempts, waited for, then refused.
t_unavailable_short()
{
	hostile_run unavailable-short
	expect_refused '503'
	expect_no_http_hook
	if [[ $(mlog_count 'e["kind"] == "new-order"') != 3 ]]; then
		fail "$(mlog_count 'e["kind"] == "new-order"') newOrder requests, want 3"
	fi
	spread_at_least 'e["kind"] == "new-order"' 3.8
}

t_unavailable_html()
{
	hostile_run unavailable-html
	expect_refused '503'
	expect_no_http_hook
}

t_500_storm()
{
	local n

	hostile_run error-500-storm
	expect_refused '500'
	expect_no_http_hook
	# Three attempts at the first POST, 1 s then 2 s apart, and no more.
	n=$(mlog_count 'e["method"] == "POST"')
	if ((n != 3)); then
		fail "$n POST requests against a CA that answers 500, want 3"
	fi
	spread_at_least 'e["method"] == "POST"' 2.8
}

# draft-ietf-acme-profiles: a profile the directory lists goes into
# newOrder, and the CA's profile (6-day certificates) is what is installed.
t_profile()
{
	local end

	hostile_run good 30 --profile shortlived
	expect_status 0
	expect_installed "$S/certs/good.example"
	if [[ $(mlog_count 'e["kind"] == "new-order" and (e["payload"] or {}).get("profile") == "shortlived"') != 1 ]]; then
		fail "newOrder payloads: $(mlog_values 'e["payload"] if e["kind"] == "new-order" else ""' | tr '\n' ' ')"
	fi
	end=$(date -d "$(openssl x509 -in "$S/certs/good.example/cert.pem" -noout -enddate | cut -d= -f2)" +%s)
	if ((end - $(date +%s) > 7 * 86400)); then
		fail "the certificate is not the 6-day profile's: notAfter $(openssl x509 -in "$S/certs/good.example/cert.pem" -noout -enddate)"
	fi
}

# A profile the CA does not list: refused before any order, naming those
# it offers.
t_profile_unknown()
{
	hostile_run good 30 --profile nosuch
	expect_refused 'profile nosuch: the CA does not offer it; it offers classic, shortlived'
	if [[ $(mlog_count 'e["kind"] == "new-order"') != 0 ]]; then
		fail "$(mlog_count 'e["kind"] == "new-order"') newOrder requests, want 0"
	fi
}

t_reset() { t_body reset-mid-body 'reset|Recv failure|connection'; }
t_close() { t_body close-mid-body 'closed|remaining|connection|EOF'; }

# The same during the certificate download: nothing installed.
t_reset_cert()
{
	hostile_run reset-mid-body@cert
	expect_refused 'reset|Recv failure|connection'
}

t_body_huge_cert()
{
	hostile_run body-huge@cert
	expect_refused 'larger than|too large|maximum file size'
}

t_directory_not_json()
{
	hostile_run body-not-json@directory
	expect_refused_early 'not an ACME directory|not JSON'
}

# ---- certificates ----

# t_cert SCENARIO REGEX
t_cert()
{
	hostile_run "$1"
	expect_refused "nothing installed: .*($2)"
}

t_cert_private_key() { t_cert cert-private-key 'PRIVATE KEY'; }
t_cert_key_only() { t_cert cert-key-only 'PRIVATE KEY'; }
t_cert_other_key() { t_cert cert-other-key 'key does not match'; }
t_cert_other_names() { t_cert cert-other-names 'lacks name'; }
t_cert_extra_name() { t_cert cert-extra-name 'unrequested name'; }
t_cert_fewer_names() { t_cert cert-fewer-names 'lacks name'; }
t_cert_expired() { t_cert cert-expired 'expired'; }
t_cert_self_signed() { t_cert cert-self-signed 'key does not match|self-signed'; }
t_cert_chain_500() { t_cert cert-chain-500 'more than'; }
t_cert_chain_unrelated() { t_cert cert-chain-unrelated 'not signed'; }
t_cert_garbage() { t_cert cert-garbage 'not a certificate'; }
t_cert_der() { t_cert cert-der 'not a certificate'; }
t_cert_trailing() { t_cert cert-trailing-text 'not a certificate'; }
t_cert_bad_base64() { t_cert cert-bad-base64 'not a valid certificate'; }

# ---- problems ----

t_bad_nonce_forever()
{
	local n

	hostile_run bad-nonce-forever
	expect_refused 'badNonce'
	n=$(mlog_count 'e["kind"] == "new-order"')
	# RFC 8555 section 6.5: retry, but not forever (acmed: 10 retries).
	if ((n < 2 || n > 11)); then
		fail "$n newOrder requests, want a retry or more and at most 11"
	fi
}

t_user_action_required()
{
	hostile_run user-action-required
	expect_refused 'userActionRequired'
	expect_stderr_contains "$MOCK_URL/tos-v2-agree"
	expect_no_http_hook
	if [[ $(mlog_count 'e["terms_agreed"] is not None or e["kind"] in ("new-account", "account")') != 0 ]]; then
		fail "acmed went back to the account (agreement or update) on its own"
	fi
	if [[ $(mlog_count '"tos" in e["path"] or "terms" in e["path"]') != 0 ]]; then
		fail "acmed fetched the terms or the instance URL"
	fi
}

# An account the CA refuses is the account's problem: said, recorded as the
# last error, but the certificate is not held by a backoff for it (moving
# the account away, as the message says, must work at once).
t_unauthorized()
{
	local st

	hostile_run unauthorized
	st=$S/certs/good.example/state.json
	expect_status 1
	expect_stderr_matches 'error: .*unauthorized'
	expect_tree_unchanged "$SNAP" "$S" ! -name state.json
	expect_no_deploy
	if ! grep -qE '^  "attempts": 0' "$st" || ! grep -q '^  "last_error": ".*unauthorized' "$st" ||
		grep -q '"order_url"' "$st"; then
		fail "$st: want attempts 0, the error as last_error and no order_url: $(head -c 300 "$st" 2>/dev/null | tr '\n' ' ')"
	fi
	expect_no_http_hook
}

# ---- ARI ----

# A renewal names the certificate it replaces; alreadyReplaced (409): acmed
# orders again without "replaces", and the renewal goes through.
t_already_replaced()
{
	local want got

	want=$(ari_id "$GOOD/certs/good.example/cert.pem")
	hostile_run already-replaced
	expect_status 0
	expect_installed "$S/certs/good.example"
	got=$(mlog_values 'e["kind"] + " " + str(e["status"]) + " " + str(e["replaces"])' |
		grep '^new-order ' | tr '\n' ';')
	if [[ $got != "new-order 409 $want;new-order 201 None;" ]]; then
		fail "newOrder requests '$got', want one with replaces $want (409), then one without (201)"
	fi
	if [[ $(cat "$T/deploy.log") != "deploy good.example" ]]; then
		fail "the deploy hook did not run once"
	fi
}

# The mock's renewalInfo answers, for the daemon's ARI tests.
t_mock_ari()
{
	local mode got id=aYhba4dGQEHhs3uEe6CuLN4ByNQ.AIdlQyE

	for mode in normal past far inverted 404 garbage; do
		mock_set "\"ari\": \"$mode\"" || return
		got=$(curl -s --max-time 10 --cacert "$CA_FILE" -w ' %{http_code}' \
			"$MOCK_URL/renewal-info/$id")
		if ! "$PY" - "$mode" "$got" <<'EOF'; then
import json, sys, time, datetime
mode, got = sys.argv[1], sys.argv[2]
body, code = got.rsplit(" ", 1)
if mode == "404":
    sys.exit(0 if code == "404" else 1)
if mode == "garbage":
    sys.exit(0 if code == "200" and not body.startswith('{"') else 1)
w = json.loads(body)["suggestedWindow"]
t = lambda s: datetime.datetime.strptime(s, "%Y-%m-%dT%H:%M:%SZ").replace(
    tzinfo=datetime.timezone.utc).timestamp()
start, end, now = t(w["start"]), t(w["end"]), time.time()
ok = {"normal": now < start < end, "past": start < end < now,
      "far": start > now + 2 * 365 * 86400 and end > start, "inverted": end < start}[mode]
sys.exit(0 if ok else 1)
EOF
			fail "renewalInfo with ari=$mode: $got"
		fi
	done
	mock_set '"ari": "normal"'
}

# ---- slow ----

# One byte a second: the low-speed timeout (20 s) ends it.
t_trickle()
{
	local start=$SECONDS

	hostile_run trickle 90
	expect_refused 'too slow|timed out|timeout'
	if ((SECONDS - start > 60)); then
		fail "took $((SECONDS - start)) s"
	fi
}

# ---- main ----

make_hooks
if ! mock_start --stuck-seconds 2; then
	fail_case "start the mock ACME server"
	lib_finish
fi

clear_hook_logs
case_ "the mock issues a certificate (good scenario)" t_good
if [[ ! -s $GOOD/certs/good.example/cert.pem ]]; then
	lib_finish
fi

case_ "token ../../etc/passwd: refused, no hook" t_token_dotdot
case_ "token ../../etc/passwd with --webroot: nothing written" t_token_webroot
case_ "token a/b: refused, no hook" t_token_slash
case_ "empty token: refused, no hook" t_token_empty
case_ "10 kB token: refused, no hook" t_token_long
case_ "token with shell metacharacters: refused, nothing runs" t_token_shell
case_ "token with a NUL: refused, no hook" t_token_nul
case_ "challenges without a token: refused, no hook" t_token_missing
case_ "order for other identifiers: refused" t_order_other_ids
case_ "order with an extra identifier: refused" t_order_extra_ids
case_ "order lacking an identifier: refused" t_order_fewer_ids
case_ "authorization for another identifier: refused, no hook" t_authz_other_id
case_ "1000 authorizations: refused before fetching them" t_authz_1000
case_ "more authorizations than identifiers: refused" t_authz_extra
case_ "finalize URL http://: refused" t_url_http_finalize
case_ "authorization URLs http://: refused" t_url_http_authz
case_ "authorization URL file:///etc/passwd: refused" t_url_file_authz
case_ "challenge URL http://: refused" t_url_http_challenge
case_ "certificate URL http://: refused" t_url_http_cert
case_ "certificate URL file:///etc/passwd: refused" t_url_file_cert
case_ "newOrder Location http://: refused" t_url_http_location
case_ "authorization URLs on another host: refused" t_url_other_host
case_ "directory URLs http://: refused before any request" t_url_http_directory
case_ "302 redirect: not followed" t_redirect
case_ "302 redirect to http://: not followed" t_redirect_http
case_ "body not JSON: refused" t_body_not_json
case_ "empty body: refused" t_body_empty
case_ "JSON array for an object: refused" t_body_array
case_ "truncated JSON: refused" t_body_truncated
case_ "2 MiB body (cap 1 MiB): refused" t_body_huge
case_ "100 MB chunked body: cut at the cap" t_body_stream
case_ "arrays nested 10,000 deep: refused" t_body_nested
case_ "objects nested 10,000 deep: refused" t_body_nested_object
case_ "duplicate keys: refused" t_body_dupkeys
case_ "HTML 502 error page: reported" t_body_html
case_ "HTML page with 201: refused" t_body_html_201
case_ "gzip bomb: never inflated" t_body_gzip
case_ "server text with escapes and newlines: one clean line" t_problem_escapes
case_ "problem with a 100 kB detail: message bounded" t_problem_huge
case_ "no Replay-Nonce: reported" t_nonce_missing
case_ "10 kB Replay-Nonce: ignored, reported" t_nonce_long
case_ "Replay-Nonce not base64url: ignored, reported" t_nonce_bad
case_ "newOrder 201 without Location: refused" t_no_location_order
case_ "newAccount 201 without Location: no account kept" t_no_location_account
case_ "5000 response headers: refused" t_header_flood
case_ "100 Link headers on a good CA: issued" t_links_100
case_ "429 rateLimited with Retry-After 3600: reported with the time, one request" t_rate_limited
case_ "503 with Retry-After 120: reported, one request" t_unavailable
case_ "429 with Retry-After 1 twice: waited for, issued" t_rate_limited_briefly
case_ "503 without Retry-After once per step: tried again, issued" t_unavailable_briefly
case_ "503 with Retry-After 2 for ever: three attempts, refused" t_unavailable_short
case_ "503 HTML with Retry-After: reported" t_unavailable_html
case_ "500 on every POST: three attempts with backoff, refused" t_500_storm
case_ "profile the CA lists: sent in newOrder, its certificate installed" t_profile
case_ "profile the CA does not list: refused before any order, the offered ones named" t_profile_unknown
case_ "connection reset mid-body: reported" t_reset
case_ "connection closed mid-body: reported" t_close
case_ "connection reset during the certificate download: nothing installed" t_reset_cert
case_ "2 MiB certificate download: refused, nothing installed" t_body_huge_cert
case_ "directory not JSON: reported" t_directory_not_json
case_ "certificate with a PRIVATE KEY block: refused" t_cert_private_key
case_ "a PRIVATE KEY instead of a certificate: refused" t_cert_key_only
case_ "leaf for another key: refused" t_cert_other_key
case_ "leaf for other names: refused" t_cert_other_names
case_ "leaf with an extra name: refused" t_cert_extra_name
case_ "leaf lacking a name: refused" t_cert_fewer_names
case_ "expired leaf: refused" t_cert_expired
case_ "self-signed leaf: refused" t_cert_self_signed
case_ "500-certificate chain: refused" t_cert_chain_500
case_ "chain with an unrelated CA: refused" t_cert_chain_unrelated
case_ "certificate body not PEM: refused" t_cert_garbage
case_ "certificate in DER: refused" t_cert_der
case_ "text after the chain: refused" t_cert_trailing
case_ "CERTIFICATE block with broken base64: refused" t_cert_bad_base64
case_ "badNonce forever: gives up after bounded retries" t_bad_nonce_forever
case_ "userActionRequired: the URL is shown, no silent agreement" t_user_action_required
case_ "403 unauthorized on newOrder: reported" t_unauthorized
case_ "alreadyReplaced: ordered again without replaces" t_already_replaced
case_ "mock renewalInfo windows: normal, past, far, inverted, 404, garbage" t_mock_ari
case_ "Retry-After -5 on a processing order: backoff" t_retry_after_negative
case_ "Retry-After not a number: backoff" t_retry_after_garbage
case_ "Retry-After in the past on a processing order: no poll storm" t_retry_after_past
case_ "Retry-After 0 on a processing order: no poll storm" t_retry_after_zero
case_ "huge Retry-After: waits, installed files untouched" t_retry_after_huge
case_ "a server trickling a byte a second: low-speed timeout" t_trickle

mock_expect_no_traceback

lib_finish
