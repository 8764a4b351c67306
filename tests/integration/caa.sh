#!/usr/bin/env bash
# The CAA pre-check (issue #18; RFC 8659, RFC 8657) against Pebble, whose
# directory lists no caaIdentities (caa-identity = pebble.test stands in),
# with acmed's dns-resolver and Pebble's VA both on pebble-challtestsrv,
# whose management API sets the CAA records (/add-caa, /clear-caa) and
# SERVFAIL answers (/set-servfail). A record that forbids stops acmed
# before any newOrder reaches Pebble ("Added order" in its log) and leaves
# what is installed alone; one naming pebble.test, or none, lets the order
# go; a DNS failure is a warning; caa-check = no looks at nothing.
#
# Environment: ACMED, TESTS_DIR. Exits 0, 1 when a case failed, 77 when
# Pebble is not installed, 99 when the harness itself is broken.
set -uo pipefail

# shellcheck source=lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh" || exit 99
lib_init caa
# shellcheck source=../pebble.sh
. "$TESTS_DIR/pebble.sh" || exit 99

pebble_require_or_skip
lib_python || exit 99
export PEBBLE_AUTHZREUSE=0
pebble_start || exit 1

STATE=$T/state
CONF=$T/acmed.conf

# conf [LINE...]: CONF for Pebble, acmed's lookups on challtestsrv.
conf()
{
	printf '%s\n' "ca = $PEBBLE_DIR_URL" "ca-file = $PEBBLE_CA_FILE" "agree-tos = yes" \
		"state-dir = $STATE" "http-listen = 127.0.0.1:$PEBBLE_HTTP_PORT" \
		"dns-resolver = $PEBBLE_DNS_SERVER" "caa-identity = pebble.test" "$@" >"$CONF"
}

orders()
{
	grep -c 'Added order' "$PEBBLE_WORKDIR/pebble.log"
}

# caa HOST TAG VALUE: one CAA record at HOST (challtestsrv keeps adding).
caa()
{
	local json

	json=$(printf '{"host":"%s.","policies":[{"tag":"%s","value":"%s"}]}' "$1" "$2" "$3")
	challtestsrv_post /add-caa "$json" || fail "harness: /add-caa $json"
}

clear_caa()
{
	challtestsrv_post /clear-caa "{\"host\":\"$1.\"}" || fail "harness: /clear-caa $1"
}

# refused NAME REASON: cert NAME fails before any order, saying REASON.
refused()
{
	local before

	before=$(orders)
	run cert "$1" -c "$CONF" --force
	expect_status 1
	expect_stderr_contains "not ordered: $2"
	if [[ $(orders) != "$before" ]]; then
		fail "$(($(orders) - before)) order(s) reached Pebble, want none"
	fi
}

# issued NAME: cert NAME orders and installs.
issued()
{
	local before

	before=$(orders)
	run cert "$1" -c "$CONF" --force
	expect_status 0
	if [[ $(orders) != $((before + 1)) ]]; then
		fail "$(($(orders) - before)) order(s) reached Pebble, want 1"
	fi
}

t_forbidden()
{
	local snap=$T/a.snap

	conf
	issued a.caa.example
	tree_snapshot "$STATE/certs/a.caa.example" ! -name state.json >"$snap"
	caa a.caa.example issue other.example
	refused a.caa.example \
		'CAA of a.caa.example: 0 issue "other.example" does not name this CA (pebble.test)'
	expect_tree_unchanged "$snap" "$STATE/certs/a.caa.example" ! -name state.json
	clear_caa a.caa.example
}

t_allowed()
{
	conf
	caa b.caa.example issue pebble.test
	issued b.caa.example
	expect_stderr_not_matches 'could not check|not ordered'
	clear_caa b.caa.example
}

t_account_and_method()
{
	local acct

	conf
	caa c.caa.example issue "pebble.test; accounturi=https://127.0.0.1/my-account/999999"
	refused c.caa.example 'CAA of c.caa.example: 0 issue "pebble.test; accounturi='
	clear_caa c.caa.example
	# The account's own URL allows.
	acct=$(json_get "$(find "$STATE/accounts" -name account.json | head -n 1)" 'j["url"]')
	caa c.caa.example issue "pebble.test; accounturi=$acct"
	issued c.caa.example
	clear_caa c.caa.example
	caa c.caa.example issue "pebble.test; validationmethods=dns-01"
	refused c.caa.example 'CAA of c.caa.example: 0 issue "pebble.test; validationmethods=dns-01"'
	clear_caa c.caa.example
}

t_servfail()
{
	conf
	challtestsrv_post /set-servfail '{"host":"d.caa.example."}' || fail "harness: /set-servfail"
	issued www.d.caa.example
	expect_stderr_contains "www.d.caa.example: could not check: CAA of d.caa.example: SERVFAIL"
	challtestsrv_post /clear-servfail '{"host":"d.caa.example."}' || fail "harness: /clear-servfail"
}

t_check_off()
{
	conf "caa-check = no"
	caa e.caa.example issue other.example
	issued e.caa.example
	clear_caa e.caa.example
}

t_parent()
{
	conf
	caa f.caa.example issue other.example
	refused www.f.caa.example 'www.f.caa.example: CAA of f.caa.example: 0 issue "other.example" does not name this CA (pebble.test)'
	# The child's own set is the relevant one: the parent's is not looked at.
	caa www.f.caa.example issue pebble.test
	issued www.f.caa.example
	clear_caa www.f.caa.example
	clear_caa f.caa.example
}

t_no_identity()
{
	# Pebble lists no caaIdentities: without caa-identity nothing is
	# looked up, whatever the records say.
	printf '%s\n' "ca = $PEBBLE_DIR_URL" "ca-file = $PEBBLE_CA_FILE" "agree-tos = yes" \
		"state-dir = $STATE" "http-listen = 127.0.0.1:$PEBBLE_HTTP_PORT" \
		"dns-resolver = $PEBBLE_DNS_SERVER" >"$CONF"
	caa g.caa.example issue other.example
	run cert g.caa.example -c "$CONF" --force -v
	expect_status 0
	expect_stderr_contains "g.caa.example: CAA not checked: $PEBBLE_DIR_URL lists no caaIdentities"
	clear_caa g.caa.example
}

case_ "a CAA record naming another CA: refused before any order, files untouched" t_forbidden
case_ "a CAA record naming pebble.test: issued" t_allowed
case_ "accounturi and validationmethods (RFC 8657)" t_account_and_method
case_ "SERVFAIL: a warning, and the order goes on" t_servfail
case_ "caa-check = no: issued despite a forbidding record" t_check_off
case_ "tree climbing: the parent's record applies to the child" t_parent
case_ "no identity for the CA: nothing looked up" t_no_identity
lib_finish
