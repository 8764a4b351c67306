#!/usr/bin/env bash
# Integration tests for "acmed revoke" and "acmed account" (show, register,
# update, rollover, deactivate), external account binding, and accounts of
# two CAs in one state folder, against Pebble.
#
# Environment: ACMED (the binary under test), TESTS_DIR (tests/, for
# pebble.sh). Exits 0, 1 when a case failed, 77 when Pebble is not installed,
# 99 when the harness itself is broken.
set -uo pipefail

# shellcheck source=lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh" || exit 99
lib_init account
# shellcheck source=../pebble.sh
. "$TESTS_DIR/pebble.sh" || exit 99

pebble_require_or_skip

lib_python || exit 99

# The state folder of the main account.
S=$T/state
SIDE_PID=
SIDE_DIR_URL=

ca_opts()
{
	CA_OPTS=(--ca "$PEBBLE_DIR_URL" --ca-file "$PEBBLE_CA_FILE" --state-dir "${1:-$S}")
}

# acmed cert NAME with the built-in responder, in state folder $2 (default
# $S); extra options after.
issue()
{
	local name=$1 state=${2:-$S}
	shift 2

	ca_opts "$state"
	run_t 120 cert "${CA_OPTS[@]}" --agree-tos --standalone "127.0.0.1:$PEBBLE_HTTP_PORT" \
		"$@" "$name"
}

# The account folder for the Pebble of directory URL $2 (default the main
# one) in state folder $1.
account_dir()
{
	local url=${2:-$PEBBLE_DIR_URL} hostport

	hostport=${url#https://}
	hostport=${hostport%%/*}
	printf '%s/accounts/%s/default\n' "$1" "${hostport/:/_}"
}

serial_of()
{
	openssl x509 -in "$1" -noout -serial 2>/dev/null | cut -d= -f2
}

# Pebble's record of a certificate by serial, as "STATUS REASON" ("Valid -",
# "Revoked 1", "Revoked -" when revoked without a reason); empty when Pebble
# does not know it.
cert_status()
{
	curl -s --max-time 10 --cacert "$PEBBLE_CA_FILE" \
		"$PEBBLE_MGMT_URL/cert-status-by-serial/$1" |
		"$PY" -c 'import json, sys
d = json.load(sys.stdin)
print(d["Status"], d.get("Reason", "-"))' 2>/dev/null
}

expect_cert_status()
{
	local got

	got=$(cert_status "$1")
	if [[ $got != "$2" ]]; then
		fail "Pebble's status of serial $1: '$got', want '$2'"
	fi
}

# How many revokeCert requests Pebble received so far.
revoke_requests()
{
	grep -c 'POST /revoke-cert' "$PEBBLE_WORKDIR/pebble.log"
}

# The value of a member of the JSON object on stdout.
out_field()
{
	"$PY" -c 'import json, sys
v = json.load(open(sys.argv[1]))[sys.argv[2]]
print(", ".join(v) if isinstance(v, list) else v)' "$OUT" "$1" 2>/dev/null
}

key_pub()
{
	openssl pkey -in "$1" -pubout -outform DER 2>/dev/null | sha256sum | cut -d' ' -f1
}

# ---- without a CA ----

t_bad_reason()
{
	run revoke --reason certificateHold "$T/certs/listener.pem"
	expect_status 2
	expect_stderr_one_line
	expect_stderr_contains keyCompromise
	run revoke --reason 6 "$T/certs/listener.pem"
	expect_status 2
}

t_unknown_sub()
{
	run account frobnicate
	expect_status 2
	expect_stderr_contains frobnicate
	run account show --yes
	expect_status 2
	expect_stderr_contains --yes
}

# ---- against Pebble ----

t_show_without_account()
{
	ca_opts
	run account show "${CA_OPTS[@]}"
	expect_status 1
	expect_stdout_empty
	expect_stderr_one_line
	expect_stderr_contains "account register"
	if [[ -e $S/accounts ]]; then
		fail "account show created $S/accounts"
	fi
}

t_revoke_without_account()
{
	local before

	before=$(revoke_requests)
	ca_opts
	run revoke "${CA_OPTS[@]}" "$T/certs/listener.pem"
	expect_status 1
	expect_stderr_one_line
	# Says how to fix it: the account's state folder or --key.
	expect_stderr_contains --key
	if [[ -e $S/accounts ]]; then
		fail "revoke registered an account"
	fi
	if [[ $(revoke_requests) != "$before" ]]; then
		fail "a revokeCert request was sent"
	fi
}

t_register_needs_tos()
{
	ca_opts
	run account register "${CA_OPTS[@]}"
	expect_status 2
	expect_stderr_contains agree-tos
}

t_register()
{
	local d

	ca_opts
	run account register "${CA_OPTS[@]}" --agree-tos --email one@example.com
	expect_status 0
	expect_stdout_matches '^https://127\.0\.0\.1:[0-9]+/my-account/'
	ACCOUNT_URL=$(cat "$OUT")
	d=$(account_dir "$S")
	expect_file_mode "$d/account.key" 600
	expect_file "$d/account.json"
	# Again: the same account.
	run account register "${CA_OPTS[@]}" --agree-tos
	expect_status 0
	expect_stdout "$ACCOUNT_URL"
}

t_show()
{
	ca_opts
	run account show "${CA_OPTS[@]}"
	expect_status 0
	expect_stdout_contains "$ACCOUNT_URL"
	expect_stdout_matches '^status: +valid$'
	expect_stdout_matches '^contact: +mailto:one@example\.com$'
	expect_stdout_matches '^key type: +ec-p256$'
	expect_stdout_matches '^thumbprint: +[A-Za-z0-9_-]{43}$'
	expect_stdout_contains "$PEBBLE_DIR_URL"

	run account show --json "${CA_OPTS[@]}"
	expect_status 0
	[[ $(out_field url) == "$ACCOUNT_URL" ]] || fail "--json: url is not $ACCOUNT_URL"
	[[ $(out_field status) == valid ]] || fail "--json: status is not valid"
	[[ $(out_field contact) == mailto:one@example.com ]] || fail "--json: wrong contact"
	[[ $(out_field key_type) == ec-p256 ]] || fail "--json: key_type is not ec-p256"
	[[ $(out_field directory) == "$PEBBLE_DIR_URL" ]] || fail "--json: wrong directory"
	[[ $(out_field thumbprint) =~ ^[A-Za-z0-9_-]{43}$ ]] || fail "--json: bad thumbprint"
}

t_update()
{
	ca_opts
	run account update "${CA_OPTS[@]}" --email two@example.com --email three@example.com
	expect_status 0
	# What the CA now has, from a fresh POST-as-GET.
	run account show --json "${CA_OPTS[@]}"
	expect_status 0
	if [[ $(out_field contact) != "mailto:two@example.com, mailto:three@example.com" ]]; then
		fail "contacts after update: '$(out_field contact)'"
	fi
	run account update "${CA_OPTS[@]}"
	expect_status 2
	expect_stderr_contains --email
}

t_revoke_by_account_key()
{
	local cert serial

	issue rev1.example.com "$S"
	expect_status 0
	cert=$S/certs/rev1.example.com/cert.pem
	serial=$(serial_of "$cert")
	expect_cert_status "$serial" "Valid -"
	ca_opts
	run revoke "${CA_OPTS[@]}" --reason keyCompromise "$cert"
	expect_status 0
	expect_cert_status "$serial" "Revoked 1"
	REVOKED=$cert
}

t_revoke_twice()
{
	ca_opts
	run revoke "${CA_OPTS[@]}" --reason keyCompromise "$REVOKED"
	expect_status 1
	expect_stderr_one_line
	# The CA's problem document.
	expect_stderr_contains alreadyRevoked
	expect_stderr_contains "already been revoked"
}

t_revoke_by_cert_key()
{
	local cert key serial empty=$T/empty-state

	issue rev2.example.com "$S"
	expect_status 0
	cert=$S/certs/rev2.example.com/cert.pem
	key=$S/certs/rev2.example.com/privkey.pem
	serial=$(serial_of "$cert")
	# A state folder without any account: the certificate's key alone.
	mkdir -p "$empty"
	ca_opts "$empty"
	run revoke "${CA_OPTS[@]}" --key "$key" --reason 4 "$cert"
	expect_status 0
	expect_cert_status "$serial" "Revoked 4"
	if [[ -e $empty/accounts ]]; then
		fail "revoke --key made an account"
	fi

	# Without --reason: no reason sent.
	issue rev3.example.com "$S"
	expect_status 0
	cert=$S/certs/rev3.example.com/cert.pem
	serial=$(serial_of "$cert")
	run revoke "${CA_OPTS[@]}" --key "$S/certs/rev3.example.com/privkey.pem" "$cert"
	expect_status 0
	expect_cert_status "$serial" "Revoked -"
}

t_revoke_wrong_key()
{
	local cert serial before

	issue rev4.example.com "$S"
	expect_status 0
	cert=$S/certs/rev4.example.com/cert.pem
	serial=$(serial_of "$cert")
	openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$T/other.key" \
		2>/dev/null || fail "harness: openssl genpkey"
	before=$(revoke_requests)
	ca_opts
	run revoke "${CA_OPTS[@]}" --key "$T/other.key" --reason keyCompromise "$cert"
	expect_status 1
	expect_stderr_one_line
	expect_stderr_contains "$T/other.key"
	expect_stderr_contains "nothing was sent"
	if [[ $(revoke_requests) != "$before" ]]; then
		fail "a revokeCert request was sent for a key that does not match"
	fi
	expect_cert_status "$serial" "Valid -"
	# Another certificate's key does not match either.
	run revoke "${CA_OPTS[@]}" --key "$S/certs/rev2.example.com/privkey.pem" "$cert"
	expect_status 1
	if [[ $(revoke_requests) != "$before" ]]; then
		fail "a revokeCert request was sent for another certificate's key"
	fi
}

t_rollover()
{
	local d old_pub new_pub old_state=$T/state-oldkey

	d=$(account_dir "$S")
	old_pub=$(key_pub "$d/account.key")
	ca_opts
	run account rollover "${CA_OPTS[@]}" --key-type ec-p384
	expect_status 0
	new_pub=$(key_pub "$d/account.key")
	if [[ -z $new_pub || $new_pub == "$old_pub" ]]; then
		fail "account.key was not replaced"
	fi
	if [[ $(key_pub "$d/account.key.prev") != "$old_pub" ]]; then
		fail "account.key.prev is not the old key"
	fi
	expect_file_mode "$d/account.key" 600
	expect_file_mode "$d/account.key.prev" 600
	if [[ -e $d/account.key.new ]]; then
		fail "account.key.new left behind"
	fi
	# The same account, with the new key.
	run account show --json "${CA_OPTS[@]}"
	expect_status 0
	[[ $(out_field url) == "$ACCOUNT_URL" ]] || fail "the account URL changed"
	[[ $(out_field key_type) == ec-p384 ]] || fail "key_type is not ec-p384 after rollover"
	# Issuance works with the new key.
	issue roll.example.com "$S"
	expect_status 0
	expect_file "$S/certs/roll.example.com/cert.pem"
	# The CA refuses the old key: a copy of the state with it put back.
	cp -a "$S" "$old_state"
	cp "$(account_dir "$old_state")/account.key.prev" "$(account_dir "$old_state")/account.key"
	ca_opts "$old_state"
	run account show "${CA_OPTS[@]}"
	expect_status 1
	expect_stderr_contains "$ACCOUNT_URL"
}

# A second Pebble on other ports (no challenge server: nothing is
# validated), with the first one's listener certificate.
start_side_pebble()
{
	local ports port mgmt i

	ports=$(pebble_free_ports 4) || return 1
	read -r port mgmt _ _ <<<"$ports"
	cat >"$T/side-pebble.json" <<EOF
{"pebble": {"listenAddress": "127.0.0.1:$port", "managementListenAddress": "127.0.0.1:$mgmt",
 "certificate": "$PEBBLE_WORKDIR/listener.pem", "privateKey": "$PEBBLE_WORKDIR/listener.key",
 "httpPort": 5002, "tlsPort": 5001, "ocspResponderURL": "",
 "externalAccountBindingRequired": false}}
EOF
	PEBBLE_WFE_NONCEREJECT=0 "${PEBBLE_BIN:-pebble}" -config "$T/side-pebble.json" \
		</dev/null >"$T/side-pebble.log" 2>&1 &
	SIDE_PID=$!
	lib_track_pid "$SIDE_PID"
	SIDE_DIR_URL="https://127.0.0.1:$port/dir"
	for ((i = 0; i < 100; i++)); do
		if curl -sf -o /dev/null --max-time 2 --cacert "$PEBBLE_CA_FILE" "$SIDE_DIR_URL"; then
			return 0
		fi
		sleep 0.1
	done
	echo "account.sh: the second Pebble did not start:" >&2
	cat "$T/side-pebble.log" >&2
	return 1
}

t_two_cas()
{
	local side_url d1 d2

	if ! start_side_pebble; then
		fail "harness: cannot start a second Pebble"
		return
	fi
	run account register --ca "$SIDE_DIR_URL" --ca-file "$PEBBLE_CA_FILE" --state-dir "$S" \
		--agree-tos
	expect_status 0
	side_url=$(cat "$OUT")
	d1=$(account_dir "$S")
	d2=$(account_dir "$S" "$SIDE_DIR_URL")
	if [[ $d1 == "$d2" || ! -f $d1/account.key || ! -f $d2/account.key ]]; then
		fail "no separate account folders: $d1 $d2"
	fi
	if [[ $(key_pub "$d1/account.key") == $(key_pub "$d2/account.key") ]]; then
		fail "both CAs share one account key"
	fi
	# Each CA answers for its own account.
	run account show --json --ca "$SIDE_DIR_URL" --ca-file "$PEBBLE_CA_FILE" --state-dir "$S"
	expect_status 0
	[[ $(out_field url) == "$side_url" ]] || fail "second CA: url is not $side_url"
	[[ $(out_field directory) == "$SIDE_DIR_URL" ]] || fail "second CA: wrong directory"
	ca_opts
	run account show --json "${CA_OPTS[@]}"
	expect_status 0
	[[ $(out_field url) == "$ACCOUNT_URL" ]] || fail "first CA: url is not $ACCOUNT_URL"
	lib_stop_pid "$SIDE_PID"
	SIDE_PID=
}

t_deactivate_needs_yes()
{
	local before

	before=$(grep -c 'POST /my-account/' "$PEBBLE_WORKDIR/pebble.log")
	ca_opts
	run account deactivate "${CA_OPTS[@]}"
	expect_status 2
	expect_stderr_contains --yes
	if [[ $(grep -c 'POST /my-account/' "$PEBBLE_WORKDIR/pebble.log") != "$before" ]]; then
		fail "a request was sent without --yes"
	fi
	run account show "${CA_OPTS[@]}"
	expect_stdout_matches '^status: +valid$'
}

t_deactivate()
{
	local d

	d=$(account_dir "$S")
	ca_opts
	run account deactivate "${CA_OPTS[@]}" --yes
	expect_status 0
	run account show "${CA_OPTS[@]}"
	expect_status 0
	expect_stdout_matches '^status: +deactivated$'
	# An order fails, saying why and what to do.
	issue after.example.com "$S" --force
	expect_status 1
	expect_stderr_one_line
	expect_stderr_contains deactivated
	expect_stderr_contains "move $d away"
	if [[ -e $S/certs/after.example.com/cert.pem ]]; then
		fail "a certificate was installed for a deactivated account"
	fi
}

t_deactivated_elsewhere()
{
	local d

	# As if deactivated by another client: account.json does not say so,
	# and the CA refuses the order.
	d=$(account_dir "$S")
	"$PY" -c 'import json, sys
p = sys.argv[1]
d = json.load(open(p))
d.pop("status", None)
json.dump(d, open(p, "w"))' "$d/account.json"
	issue after.example.com "$S" --force -q
	expect_status 1
	expect_stderr_one_line
	expect_stderr_contains unauthorized
	expect_stderr_contains deactivated
	expect_stderr_contains "move $d away"
	# Doing what it says gets a new account and the certificate.
	mv "$d" "$d.old"
	issue after.example.com "$S"
	expect_status 0
	expect_file "$S/certs/after.example.com/cert.pem"
	if [[ $("$PY" -c 'import json, sys; print(json.load(open(sys.argv[1]))["url"])' \
		"$d/account.json") == "$ACCOUNT_URL" ]]; then
		fail "the deactivated account's URL was reused"
	fi
}

# ---- external account binding ----

t_eab_missing()
{
	local state=$T/state-eab

	ca_opts "$state"
	run account register "${CA_OPTS[@]}" --agree-tos
	expect_status 2
	expect_stderr_one_line
	expect_stderr_contains eab-kid
	expect_stderr_contains eab-hmac-key
	issue eab.example.com "$state"
	expect_status 2
	expect_stderr_contains eab-kid
	# Half of it is not enough either.
	run account register "${CA_OPTS[@]}" --agree-tos --eab-kid kid-1
	expect_status 2
	expect_stderr_contains eab-hmac-key
	if [[ -e $state/accounts ]]; then
		fail "an account folder was made without a registration"
	fi
}

t_eab_wrong_hmac()
{
	local state=$T/state-eab wrong

	wrong=$(openssl rand 32 | basenc --base64url | tr -d '=')
	ca_opts "$state"
	run account register "${CA_OPTS[@]}" --agree-tos --eab-kid kid-1 --eab-hmac-key "$wrong"
	expect_status 1
	expect_stderr_one_line
	# The CA's problem document.
	expect_stderr_contains unauthorized
	expect_stderr_contains "external account binding"
	if [[ -e $(account_dir "$state")/account.key ]]; then
		fail "a refused registration left an account key"
	fi
}

t_eab_good()
{
	local state=$T/state-eab

	issue eab.example.com "$state" --eab-kid kid-1 --eab-hmac-key "$EAB_HMAC" --eab-alg HS256
	expect_status 0
	expect_file "$state/certs/eab.example.com/cert.pem"
	ca_opts "$state"
	run account show "${CA_OPTS[@]}"
	expect_status 0
	expect_stdout_matches '^status: +valid$'
}

t_eab_config()
{
	local state=$T/state-eab2 conf=$T/eab.conf

	# The same through the configuration file, with HS512.
	cat >"$conf" <<EOF
agree-tos = yes
eab-kid = kid-1
eab-hmac-key = $EAB_HMAC
eab-alg = HS512
EOF
	ca_opts "$state"
	run account register -c "$conf" "${CA_OPTS[@]}"
	expect_status 0
	expect_stdout_matches '^https://'
}

# ---- main ----

mkdir -p "$T/certs"
if ! pebble_make_certs "$T/certs"; then
	echo "account.sh: cannot generate test certificates" >&2
	exit 99
fi

case_ "revoke --reason outside the accepted ones exits 2" t_bad_reason
case_ "account with an unknown sub-command or option exits 2" t_unknown_sub

if pebble_start; then
	case_ "account show without an account says how to make one" t_show_without_account
	case_ "revoke without an account sends nothing and registers nothing" \
		t_revoke_without_account
	case_ "account register needs --agree-tos" t_register_needs_tos
	case_ "account register registers once" t_register
	case_ "account show prints the CA's view of the account" t_show
	case_ "account update replaces the contacts" t_update
	case_ "revoke by the account key with reason keyCompromise" t_revoke_by_account_key
	case_ "revoking twice gives the CA's alreadyRevoked" t_revoke_twice
	case_ "revoke by the certificate's key" t_revoke_by_cert_key
	case_ "revoke with a key that does not match sends nothing" t_revoke_wrong_key
	case_ "account rollover: new key works, old key refused" t_rollover
	case_ "two CAs side by side in one state folder" t_two_cas
	case_ "account deactivate needs --yes" t_deactivate_needs_yes
	case_ "account deactivate, then orders fail clearly" t_deactivate
	case_ "an account deactivated elsewhere: the order says what to do" t_deactivated_elsewhere
	pebble_stop
else
	fail_case "start Pebble"
fi

EAB_HMAC=$(openssl rand 32 | basenc --base64url | tr -d '=')
if pebble_start "\"externalAccountBindingRequired\": true, \"externalAccountMACKeys\": {\"kid-1\": \"$EAB_HMAC\"}"; then
	case_ "EAB required and not configured: exit 2 naming the keys" t_eab_missing
	case_ "EAB with a wrong HMAC: the CA's error, exit 1" t_eab_wrong_hmac
	case_ "EAB: registered and a certificate issued" t_eab_good
	case_ "EAB from the configuration file, HS512" t_eab_config
	pebble_stop
else
	fail_case "start Pebble with externalAccountBindingRequired"
fi

lib_finish
