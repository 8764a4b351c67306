#!/usr/bin/env bash
# new-order-concurrency: how many newOrder requests acmed lets await a CA's
# answer at once (renew/gate.c), checked where each CA can show it.
#
# - acmed check refuses values other than 1 to 1024, saying which.
# - Pebble, with the default (1) and concurrency 8: every certificate issued,
#   one newOrder each, and never two newOrders inside Pebble at once: each
#   "POST /order-plz" of its log is followed by its "Added order" before the
#   next one comes.
# - The mock CA (tests/mock-acme) with new-order-concurrency = 3 and six
#   certificates: it holds each newOrder until three wait together
#   (new_order_barrier), so all are answered at once only if acmed sends
#   three at a time; and none comes while three are inside. (That the gate
#   never lets more through is renew/gate.c's unit test.)
#
# Why not Pebble with a width above 1: Pebble 2.4 deadlocks, for good, when
# two newOrders run while an authorization is fetched. A newOrder holds the
# store's read lock and waits for each authorization's read lock
# (FindValidAuthorization); an authorization POST-as-GET holds that
# authorization's write lock and waits for the store's read lock
# (getAcctByKey); and the other newOrder's write lock on the store
# (AddChallenge), queued, makes that read lock wait (Go's RWMutex lets no
# reader in behind a waiting writer). scripts/pebble-neworder-race shows it
# with a bare client: with 16 connections polling authorizations, newOrders
# 16 at a time hung Pebble in 3 runs of 3, 2 at a time in 4 of 5, 1 at a
# time in none of 5 (2000 newOrders and some 34,000 polls a run); newOrders
# alone never (3000, 256 at a time). Any other writer of the store closes
# the same circle, so width 1 makes the hang rare, not impossible: the same
# client with two connections updating the account hung it in 5 runs of 5
# at width 1, and "acmed renew" of 1000 certificates at concurrency 256
# hung it in 2 runs of 12 at width 1 (the writer: a certificate being
# issued, AddCertificate), 4 of 4 at 16.
#
# Environment: ACMED, TESTS_DIR. Exits 0, 1 when a case failed, 77 when
# Pebble is not installed, 99 when the harness is broken.
set -uo pipefail

# shellcheck source=lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh" || exit 99
lib_init neworder
# shellcheck source=../pebble.sh
. "$TESTS_DIR/pebble.sh" || exit 99
# shellcheck source=../mock-acme/mock.sh
. "$TESTS_DIR/mock-acme/mock.sh" || exit 99

pebble_require_or_skip
mock_init
# Every "POST /order-plz" of Pebble's log then ends in "Added order": no
# newOrder is refused for its nonce.
export PEBBLE_WFE_NONCEREJECT=0

# batch_conf FILE STATE N [LINE...]: N certificates n1..nN (one name each),
# answered by acmed's own responder on Pebble's http-01 port, with the
# given global lines.
batch_conf()
{
	local conf=$1 st=$2 n=$3 i
	shift 3

	{
		echo "ca = ${CA_URL:-$PEBBLE_DIR_URL}"
		echo "ca-file = ${CA_PEM:-$PEBBLE_CA_FILE}"
		echo "agree-tos = yes"
		# The mock lists caaIdentities: no CAA lookup leaves loopback.
		echo "caa-check = no"
		echo "state-dir = $st"
		echo "http-listen = 127.0.0.1:${HTTP_PORT:-$PEBBLE_HTTP_PORT}"
		printf '%s\n' "$@"
		for ((i = 1; i <= n; i++)); do
			printf '\n[cert n%d]\ndomains = n%d.neworder.example\n' "$i" "$i"
		done
	} >"$conf"
}

# expect_issued STATE N: certs/n1 .. certs/nN each hold a certificate for
# their name.
expect_issued()
{
	local st=$1 n=$2 i san

	for ((i = 1; i <= n; i++)); do
		san=$(openssl x509 -in "$st/certs/n$i/cert.pem" -noout -ext subjectAltName 2>/dev/null |
			sed -n '2p' | tr -d ' ')
		if [[ $san != "DNS:n$i.neworder.example" ]]; then
			fail "$st/certs/n$i/cert.pem: no certificate for n$i.neworder.example (SAN '$san')"
		fi
	done
}

# ---- acmed check ----

t_check_values()
{
	local conf=$T/check.conf v

	mkdir -p "$T/webroot"
	for v in 0 -1 two 1.5 1025 ""; do
		printf 'webroot = %s\nstate-dir = %s\nnew-order-concurrency = %s\n[cert a]\ndomains = a.example\n' \
			"$T/webroot" "$T/check-state" "$v" >"$conf"
		run check -c "$conf"
		expect_status 2
		if [[ -z $v ]]; then
			expect_stderr_contains "$conf:3: new-order-concurrency: missing value"
		else
			expect_stderr_contains "$conf:3: new-order-concurrency: invalid value '$v': expected a number from 1 to 1024"
		fi
	done
	# Global only: the CA's, not a certificate's.
	printf 'webroot = %s\nstate-dir = %s\n[cert a]\ndomains = a.example\nnew-order-concurrency = 2\n' \
		"$T/webroot" "$T/check-state" >"$conf"
	run check -c "$conf"
	expect_status 2
	expect_stderr_contains "$conf:5: new-order-concurrency: only valid before the first [cert NAME] section"
	for v in 1 1024; do
		printf 'webroot = %s\nstate-dir = %s\nnew-order-concurrency = %s\n[cert a]\ndomains = a.example\n' \
			"$T/webroot" "$T/check-state" "$v" >"$conf"
		run check -c "$conf"
		expect_status 0
	done
}

# ---- Pebble: one newOrder at a time ----

# The most newOrders inside Pebble at once, from its log; "unpaired" when an
# "Added order" comes without its "POST /order-plz".
pebble_most_in_flight()
{
	awk '/ POST \/order-plz -> calling handler/ { n++; if (n > most) most = n }
	     / Added order / { if (--n < 0) bad = 1 }
	     END { print bad ? "unpaired" : most + 0 }' "$PEBBLE_WORKDIR/pebble.log"
}

pebble_orders()
{
	grep -c '^Pebble .* Added order ' "$PEBBLE_WORKDIR/pebble.log"
}

t_pebble_one_at_a_time()
{
	local conf=$T/pebble.conf st=$T/state-pebble before most

	batch_conf "$conf" "$st" 12 "concurrency = 8"
	before=$(pebble_orders)
	run_t 120 renew -c "$conf"
	expect_status 0
	expect_stdout "issued 12, renewed 0, unchanged 0, failed 0"
	expect_issued "$st" 12
	if (($(pebble_orders) - before != 12)); then
		fail "Pebble made $(($(pebble_orders) - before)) orders for 12 certificates"
	fi
	most=$(pebble_most_in_flight)
	if [[ $most != 1 ]]; then
		fail "newOrders inside Pebble at once: $most, want 1 (new-order-concurrency defaults to 1)"
	fi
}

# ---- the mock CA: three at a time ----

t_mock_three_at_a_time()
{
	local conf=$T/mock.conf st=$T/state-mock got

	mock_set '"new_order_barrier": 3, "barrier_seconds": 20' || return
	mlog_mark
	# The mock validates nothing: the responder only has to start.
	CA_URL=$DIR_URL CA_PEM=$CA_FILE HTTP_PORT=$(pebble_free_ports 1) \
		batch_conf "$conf" "$st" 6 "concurrency = 8" "new-order-concurrency = 3"
	run_t 120 renew -c "$conf"
	expect_status 0
	expect_stdout "issued 6, renewed 0, unchanged 0, failed 0"
	expect_issued "$st" 6
	got=$(mlog_count 'e["kind"] == "new-order"')
	if [[ $got != 6 ]]; then
		fail "the mock got $got newOrders for 6 certificates"
	fi
	# Each met the barrier: three were sent together, twice.
	got=$(mlog_count 'e["kind"] == "new-order" and e.get("barrier") != "met"')
	if [[ $got != 0 ]]; then
		fail "$got newOrders waited in vain for three at once: $(mlog_values \
			'(e["kind"], e.get("barrier"), e.get("in_flight"))' | grep new-order | tr '\n' ' ')"
	fi
	got=$(mlog_count 'e["kind"] == "new-order" and e["in_flight"] > 3')
	if [[ $got != 0 ]]; then
		fail "$got newOrders arrived with more than three in flight"
	fi
	mock_set '"new_order_barrier": 0' || return
}

case_ "acmed check: new-order-concurrency from 1 to 1024, global only" t_check_values

if ! pebble_start; then
	fail_case "pebble_start"
	lib_finish
fi
case_ "Pebble: 12 certificates at concurrency 8, newOrders one at a time" t_pebble_one_at_a_time
if mock_start; then
	case_ "the mock CA: new-order-concurrency = 3 sends three newOrders at once" \
		t_mock_three_at_a_time
	mock_expect_no_traceback
else
	fail_case "mock_start"
fi
lib_finish
