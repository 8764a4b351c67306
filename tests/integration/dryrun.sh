#!/usr/bin/env bash
# --dry-run of "cert" and "renew" (issue 16) against two Pebbles: one the
# "production" CA the certificates come from, one its "staging" directory
# (the staging key). A dry run orders every selected certificate from the
# staging Pebble only, installs nothing, runs no deploy hook (pre-hook and
# post-hook do run), leaves the state folder byte for byte as it was, keeps
# nothing in TMPDIR, prints one line per certificate and the counts a real
# run would have; exit 1 when the staging CA fails, 2 when no staging
# directory is known (before anything is sent) and for --now and --csr.
#
# Environment: ACMED, TESTS_DIR. Exits 0, 1 when a case failed, 77 when
# Pebble is not installed, 99 when the harness is broken.
set -uo pipefail

# shellcheck source=lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh" || exit 99
lib_init dryrun
# shellcheck source=../pebble.sh
. "$TESTS_DIR/pebble.sh" || exit 99

pebble_require_or_skip
lib_python || exit 99
if ! pebble_start || ! pebble_start_second; then
	fail_case "start both Pebbles"
	lib_finish
fi

STATE=$T/state
CONF=$T/acmed.conf
NOSTAGING=$T/nostaging.conf
DEPLOYED=$T/deployed
BATCH_LOG=$T/batch.log
SNAP=$T/snapshot
# The dry runs' private folders go here: it must be empty after each.
DRY_TMP=$T/tmp
mkdir -p "$DRY_TMP" || exit 99

cat >"$T/deploy-hook" <<EOF
#!/bin/sh
echo "\$ACMED_CERT_NAME" >>"$DEPLOYED"
EOF
cat >"$T/batch-hook" <<EOF
#!/bin/sh
echo "\$1" >>"$BATCH_LOG"
EOF
chmod +x "$T/deploy-hook" "$T/batch-hook" || exit 99

# conf FILE [STAGING-LINE]: the two certificates of the production Pebble.
conf()
{
	cat >"$1" <<EOF
ca = $PEBBLE_DIR_URL
ca-file = $PEBBLE_CA_FILE
$2
state-dir = $STATE
agree-tos = yes
http-listen = 127.0.0.1:$PEBBLE_HTTP_PORT
deploy-hook = $T/deploy-hook
pre-hook = $T/batch-hook pre
post-hook = $T/batch-hook post

[cert www]
domains = www.dry.example

[cert api]
domains = api.dry.example
EOF
}
conf "$CONF" "staging = $PEBBLE2_DIR_URL"
conf "$NOSTAGING" ""

# orders LOG: the newOrders a Pebble has seen.
orders()
{
	grep -c 'POST /order-plz -> calling handler' "$1"
}

# dry ARGS...: acmed ARGS with TMPDIR where the private folders go.
dry()
{
	TMPDIR=$DRY_TMP run "$@"
}

# expect_untouched: the state folder is as snapshotted (every file's
# SHA-256, the list of files and links), no deploy hook ran, no private
# folder is left behind.
expect_untouched()
{
	expect_tree_unchanged "$SNAP" "$STATE"
	if [[ -e $DEPLOYED ]]; then
		fail "the deploy hook ran: $(tr '\n' ' ' <"$DEPLOYED")"
	fi
	if [[ -n $(ls -A "$DRY_TMP") ]]; then
		fail "left in TMPDIR: $(ls -A "$DRY_TMP" | tr '\n' ' ')"
	fi
}

t_setup()
{
	run renew -c "$CONF"
	expect_status 0
	expect_stdout "issued 2, renewed 0, unchanged 0, failed 0"
	if [[ $(sort "$DEPLOYED" 2>/dev/null | tr '\n' ' ') != "api www " ]]; then
		fail "the deploy hook did not run for both"
	fi
	rm -f "$DEPLOYED" "$BATCH_LOG"
	tree_snapshot "$STATE" >"$SNAP" || fail "cannot snapshot $STATE"
}
case_ "the certificates are issued for real first" t_setup

t_renew()
{
	local prod staging

	prod=$(orders "$PEBBLE_WORKDIR/pebble.log")
	staging=$(orders "$PEBBLE2_LOG")
	dry renew -c "$CONF" --dry-run
	expect_status 0
	expect_stdout_contains "www: would be renewed by $PEBBLE2_DIR_URL"
	expect_stdout_contains "api: would be renewed by $PEBBLE2_DIR_URL"
	expect_stdout_contains "issued 0, renewed 2, unchanged 0, failed 0"
	expect_untouched
	if (($(orders "$PEBBLE_WORKDIR/pebble.log") != prod)); then
		fail "the production Pebble got a newOrder"
	fi
	if (($(orders "$PEBBLE2_LOG") < staging + 2)); then
		fail "the staging Pebble got $(($(orders "$PEBBLE2_LOG") - staging)) newOrders, want 2"
	fi
	if [[ $(tr '\n' ' ' <"$BATCH_LOG" 2>/dev/null) != "pre post " ]]; then
		fail "pre-hook and post-hook did not run once each"
	fi
	rm -f "$BATCH_LOG"
}
case_ "renew --dry-run orders every certificate from staging, installs nothing" t_renew

t_cert()
{
	local prod staging

	prod=$(orders "$PEBBLE_WORKDIR/pebble.log")
	staging=$(orders "$PEBBLE2_LOG")
	dry cert -c "$CONF" --dry-run www
	expect_status 0
	expect_stdout "www: would be renewed by $PEBBLE2_DIR_URL"
	expect_untouched
	if (($(orders "$PEBBLE_WORKDIR/pebble.log") != prod)); then
		fail "the production Pebble got a newOrder"
	fi
	if (($(orders "$PEBBLE2_LOG") < staging + 1)); then
		fail "the staging Pebble got no newOrder"
	fi
	rm -f "$BATCH_LOG"
}
case_ "cert --dry-run NAME: one order at staging, nothing installed" t_cert

t_cert_new_json()
{
	dry cert -c "$CONF" --dry-run --json new.dry.example
	expect_status 0
	if [[ $("$PY" -c 'import json, sys
j = json.load(open(sys.argv[1]))
print(j["cert"], j["result"], j["ca"], j["dry_run"])' "$OUT" 2>&1) != \
		"new.dry.example issued $PEBBLE2_DIR_URL True" ]]; then
		fail "--json is not the certificate's row"
	fi
	expect_untouched
	rm -f "$BATCH_LOG"
}
case_ "cert --dry-run --json of a new certificate: would be issued" t_cert_new_json

t_no_staging()
{
	local staging

	staging=$(orders "$PEBBLE2_LOG")
	dry renew -c "$NOSTAGING" --dry-run
	expect_status 2
	expect_stderr_one_line
	expect_stderr_contains "$PEBBLE_DIR_URL has no known staging directory: set staging"
	expect_stdout_empty
	dry cert -c "$NOSTAGING" --dry-run www
	expect_status 2
	expect_stderr_contains "set staging"
	expect_untouched
	if [[ -e $BATCH_LOG ]]; then
		fail "the pre-hook ran"
	fi
	if (($(orders "$PEBBLE2_LOG") != staging)); then
		fail "an order was sent"
	fi
}
case_ "a CA URL without staging: exit 2 before anything is sent" t_no_staging

t_usage()
{
	dry renew -c "$CONF" --dry-run --now www
	expect_status 2
	expect_stderr_contains "--dry-run: not with --now"
	openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout "$T/csr.key" \
		-subj /CN=csr.dry.example -out "$T/csr.pem" 2>/dev/null || fail "openssl req"
	dry cert -c "$CONF" --dry-run --csr "$T/csr.pem" --cert-path "$T/csr-cert.pem"
	expect_status 2
	expect_stderr_contains "--dry-run: not with --csr"
	if [[ -e $T/csr-cert.pem ]]; then
		fail "--csr wrote a certificate"
	fi
	expect_untouched
}
case_ "--dry-run with --now or --csr: usage errors" t_usage

t_staging_down()
{
	pebble_stop_second
	dry renew -c "$CONF" --dry-run
	expect_status 1
	expect_stdout_contains "www: failed at $PEBBLE2_DIR_URL: "
	expect_stdout_contains "api: failed at $PEBBLE2_DIR_URL: "
	expect_stdout_contains "issued 0, renewed 0, unchanged 0, failed 2"
	dry cert -c "$CONF" --dry-run www
	expect_status 1
	expect_stdout_contains "www: failed at $PEBBLE2_DIR_URL: "
	expect_untouched
	rm -f "$BATCH_LOG"
}
case_ "the staging CA down: exit 1, the state folder as it was" t_staging_down

lib_finish
