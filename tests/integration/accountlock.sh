#!/usr/bin/env bash
# Integration tests for the account's lock and its dead ends, against Pebble:
# two first runs on one fresh state folder end up on one account; a running
# daemon picks up "acmed account rollover" (told on its control socket, on
# SIGHUP, or when an order fails because account.key changed on disk); a
# lost or unusable account.key or account.json gets one line saying which
# file to restore or move away, and never a silent new registration.
#
# Environment: ACMED (the binary under test), TESTS_DIR (tests/, for
# pebble.sh). Exits 0, 1 when a case failed, 77 when Pebble is not installed,
# 99 when the harness itself is broken.
set -uo pipefail

# shellcheck source=lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh" || exit 99
lib_init accountlock
# shellcheck source=../pebble.sh
. "$TESTS_DIR/pebble.sh" || exit 99

pebble_require_or_skip

lib_python || exit 99

ROUNDS=${ACCOUNTLOCK_ROUNDS:-10}

ca_opts()
{
	CA_OPTS=(--ca "$PEBBLE_DIR_URL" --ca-file "$PEBBLE_CA_FILE" --state-dir "$1")
}

# The account folder of Pebble in state folder $1.
account_dir()
{
	local hostport

	hostport=${PEBBLE_DIR_URL#https://}
	hostport=${hostport%%/*}
	printf '%s/accounts/%s/default\n' "$1" "${hostport/:/_}"
}

# json_field FILE NAME: a member of the JSON object in FILE.
json_field()
{
	"$PY" -c 'import json, sys
print(json.load(open(sys.argv[1])).get(sys.argv[2], ""))' "$1" "$2" 2>/dev/null
}

new_acct_requests()
{
	grep -c 'POST /new-acct' "$PEBBLE_WORKDIR/pebble.log"
}

cert_serial()
{
	openssl x509 -in "$1" -noout -serial 2>/dev/null | sed -n 's/^serial=//p'
}

serial_changed()
{
	[[ -s $1 && $(cert_serial "$1") != "$2" ]]
}

log_has()
{
	grep -q -- "$2" "$1" 2>/dev/null
}

# ---- two first runs at once ----

# Round $1: two processes register on a fresh state folder at the same
# time (two "account register", or one of them "cert" on even rounds).
race_round()
{
	local i=$1 st=$T/race$1 d url1 url2 rc1 rc2 pid1 pid2 json_url

	ca_opts "$st"
	if ((i % 2 == 0)); then
		timeout 120 "$ACMED" cert "${CA_OPTS[@]}" --agree-tos \
			--standalone "127.0.0.1:$PEBBLE_HTTP_PORT" "race$i.example" \
			</dev/null >"$T/race$i.1.out" 2>"$T/race$i.1.err" &
	else
		timeout 120 "$ACMED" account register "${CA_OPTS[@]}" --agree-tos \
			</dev/null >"$T/race$i.1.out" 2>"$T/race$i.1.err" &
	fi
	pid1=$!
	timeout 120 "$ACMED" account register "${CA_OPTS[@]}" --agree-tos \
		</dev/null >"$T/race$i.2.out" 2>"$T/race$i.2.err" &
	pid2=$!
	wait "$pid1"
	rc1=$?
	wait "$pid2"
	rc2=$?
	expect_no_sanitizer_report "$T/race$i.1.err"
	expect_no_sanitizer_report "$T/race$i.2.err"
	if ((rc1 != 0 || rc2 != 0)); then
		fail "round $i: exit statuses $rc1 and $rc2: $(cat "$T/race$i.1.err" "$T/race$i.2.err")"
		return
	fi
	d=$(account_dir "$st")
	json_url=$(json_field "$d/account.json" url)
	url2=$(head -n 1 "$T/race$i.2.out")
	if ((i % 2 == 0)); then
		url1=$json_url
	else
		url1=$(head -n 1 "$T/race$i.1.out")
	fi
	if [[ -z $url1 || $url1 != "$url2" || $json_url != "$url1" ]]; then
		fail "round $i: two accounts: '$url1' and '$url2', account.json '$json_url'"
		return
	fi
	# The key signs for that account: the CA checks it.
	run account show --json "${CA_OPTS[@]}"
	expect_status 0
	if [[ $(json_field "$OUT" url) != "$json_url" ]]; then
		fail "round $i: account show: url '$(json_field "$OUT" url)', want '$json_url'"
	fi
}

t_first_run_race()
{
	local i waited=0

	for ((i = 1; i <= ROUNDS; i++)); do
		race_round "$i"
		if grep -q 'waiting for pid' "$T/race$i.1.err" "$T/race$i.2.err"; then
			waited=$((waited + 1))
		fi
	done
	echo "# $waited of $ROUNDS rounds: one process waited for the other's lock" >&2
}

# The one line a waiting process logs names the holder and the lock file.
t_lock_waits_naming_holder()
{
	local st=$T/held lockfile hold_pid hostport

	mkdir -p "$st/locks"
	hostport=${PEBBLE_DIR_URL#https://}
	hostport=${hostport%%/*}
	lockfile=$st/locks/account.${hostport/:/_}
	# flock(1) stands in for another acmed holding the account's lock.
	flock "$lockfile" sleep 3 &
	hold_pid=$!
	lib_track_pid "$hold_pid"
	wait_until 5 test -e "$lockfile"
	sleep 0.3
	ca_opts "$st"
	run account register "${CA_OPTS[@]}" --agree-tos
	expect_status 0
	expect_stderr_matches "waiting for pid $hold_pid \\(flock\\), which holds $lockfile"
	wait "$hold_pid" 2>/dev/null
}

# ---- a daemon and account rollover ----

D=$T/daemon

# daemon_conf DIR SOCKET: DIR/acmed.conf with the certificate "roll" and
# the control socket SOCKET, on the state folder $D/state.
daemon_conf()
{
	mkdir -p "$1" || return 1
	cat >"$1/acmed.conf" <<EOF
ca = $PEBBLE_DIR_URL
ca-file = $PEBBLE_CA_FILE
agree-tos = yes
state-dir = $D/state
control-socket = $2
challenge = http-01
http-listen = 127.0.0.1:$PEBBLE_HTTP_PORT

[cert roll]
domains = roll.example
EOF
}

DPID=
start_daemon()
{
	daemon_conf "$D" "$D/ctl.sock" || return 1
	# Another configuration for the same state folder whose socket no
	# daemon answers on: a rollover the daemon is not told about.
	daemon_conf "$D/quiet" "$D/quiet/none.sock" || return 1
	"$ACMED" run -c "$D/acmed.conf" </dev/null >>"$D/log" 2>&1 &
	DPID=$!
	lib_track_pid "$DPID"
	wait_until 60 test -s "$D/state/certs/roll/cert.pem"
}

# renew_and_check WHY: renew --now through the daemon; the certificate is
# replaced (which only an order signed with the account's current key can
# do).
renew_and_check()
{
	local serial

	serial=$(cert_serial "$D/state/certs/roll/cert.pem")
	run renew --now roll -c "$D/acmed.conf"
	expect_status 0
	if ! wait_until 30 serial_changed "$D/state/certs/roll/cert.pem" "$serial"; then
		fail "$1: renew --now: not renewed within 30 s; daemon log:"$'\n'"$(tail -n 20 "$D/log")"
	fi
}

# The daemon is told on its control socket once the rollover is done.
t_rollover_told()
{
	local d new_thumb

	if ! start_daemon; then
		fail "the daemon issued nothing within 60 s:"$'\n'"$(tail -n 20 "$D/log")"
		return
	fi
	d=$(account_dir "$D/state")
	run account rollover -c "$D/acmed.conf" --key-type rsa-2048
	expect_status 0
	expect_stderr_contains "the daemon at $D/ctl.sock now uses the new account key"
	new_thumb=$(json_field "$d/account.json" thumbprint)
	[[ -n $new_thumb ]] || fail "account.json records no thumbprint"
	if ! wait_until 5 log_has "$D/log" "account key reloaded from $d/account.key (acmed account)"; then
		fail "the daemon did not log the reload"
	fi
	renew_and_check "after a rollover the daemon was told of"
	if grep -qE "JWS|signature type" "$D/log"; then
		fail "the daemon signed with the old key: $(grep -m 1 -E 'JWS|signature type' "$D/log")"
	fi
}

# Not told: the next order fails with the old key, the daemon sees that
# account.key changed and orders again with the new one.
t_rollover_untold()
{
	local failed_before

	if ! proc_alive "$DPID"; then
		fail "the daemon is not running"
		return
	fi
	run account rollover -c "$D/quiet/acmed.conf" --key-type ec-p256
	expect_status 0
	expect_stderr_not_matches "now uses the new account key"
	failed_before=$(grep -c 'the account key changed on disk' "$D/log")
	renew_and_check "after a rollover the daemon was not told of"
	if (($(grep -c 'the account key changed on disk' "$D/log") != failed_before + 1)); then
		fail "the daemon did not say once that the key changed on disk"
	fi
}

# SIGHUP reads the key again, before any order fails.
t_rollover_sighup()
{
	local n

	if ! proc_alive "$DPID"; then
		fail "the daemon is not running"
		return
	fi
	run account rollover -c "$D/quiet/acmed.conf" --key-type ec-p384
	expect_status 0
	n=$(grep -c 'the account key changed on disk' "$D/log")
	kill -HUP "$DPID"
	if ! wait_until 5 log_has "$D/log" "(SIGHUP)"; then
		fail "the daemon did not reload the key on SIGHUP"
	fi
	renew_and_check "after a rollover and SIGHUP"
	if (($(grep -c 'the account key changed on disk' "$D/log") != n)); then
		fail "an order failed with the old key after SIGHUP"
	fi
	lib_stop_pid "$DPID"
	expect_no_sanitizer_report "$D/log"
}

proc_alive()
{
	[[ -n $1 ]] && kill -0 "$1" 2>/dev/null
}

# ---- dead ends ----

# A copy of the account of round 1, in a new state folder $T/$1.
copy_account()
{
	rm -rf "${T:?}/$1"
	mkdir -p "$T/$1"
	cp -a "$T/race1/accounts" "$T/$1/"
	ca_opts "$T/$1"
}

t_lost_key()
{
	local d n

	copy_account lost
	d=$(account_dir "$T/lost")
	rm -f "$d/account.key"
	n=$(new_acct_requests)
	run account show "${CA_OPTS[@]}"
	expect_status 1
	expect_stderr_one_line
	expect_stderr_contains "$d/account.key: missing, but $d/account.json names the account"
	expect_stderr_contains "move $d/account.json away"
	run_t 60 cert "${CA_OPTS[@]}" --agree-tos --standalone "127.0.0.1:$PEBBLE_HTTP_PORT" \
		lost.example
	expect_status 1
	expect_stderr_contains "move $d/account.json away"
	[[ -e $d/account.key ]] && fail "an account key was created"
	(($(new_acct_requests) == n)) || fail "newAccount was sent over a lost key"
	# Doing what it says works.
	mv "$d/account.json" "$d/account.json.lost"
	run account register "${CA_OPTS[@]}" --agree-tos
	expect_status 0
}

t_bad_files()
{
	local d

	copy_account bad
	d=$(account_dir "$T/bad")
	echo '{"url": 12}' >"$d/account.json"
	run account show "${CA_OPTS[@]}"
	expect_status 1
	expect_stderr_one_line
	expect_stderr_contains "$d/account.json: not an account file"
	# Moving it away: the URL is found again from the key.
	mv "$d/account.json" "$d/account.json.bad"
	run account show --json "${CA_OPTS[@]}"
	expect_status 0
	[[ $(json_field "$OUT" url) == "$(json_field "$(account_dir "$T/race1")/account.json" url)" ]] ||
		fail "the account was not found again from its key"

	openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:secp521r1 \
		-out "$d/account.key" 2>/dev/null
	run account show "${CA_OPTS[@]}"
	expect_status 1
	expect_stderr_one_line
	expect_stderr_contains "$d/account.key: not a key type acmed can sign with (EC 521 bits"

	echo "not a key" >"$d/account.key"
	run account show "${CA_OPTS[@]}"
	expect_status 1
	expect_stderr_one_line
	expect_stderr_contains "$d/account.key: not an unencrypted PEM private key"
}

# account.key and account.json of two accounts (what the race left behind
# before the lock): with a thumbprint, acmed looks the key's account up;
# without (older files), the CA's refusal names the file to move away.
t_mismatched_pair()
{
	local d other_url own_url

	copy_account pair
	d=$(account_dir "$T/pair")
	own_url=$(json_field "$d/account.json" url)
	other_url=$(json_field "$(account_dir "$T/race2")/account.json" url)
	cp "$(account_dir "$T/race2")/account.json" "$d/account.json"
	run account show --json "${CA_OPTS[@]}"
	expect_status 0
	expect_stderr_contains "written for another key"
	[[ $(json_field "$OUT" url) == "$own_url" ]] || fail "show: not the key's own account"
	[[ $(json_field "$d/account.json" url) == "$own_url" ]] || fail "account.json not rewritten"

	# A key the CA knows no account for: no new account in its place.
	cp -p "$d/account.json" "$T/pair/own.json"
	openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 \
		-out "$d/account.key" 2>/dev/null
	run_t 60 cert "${CA_OPTS[@]}" --agree-tos --standalone "127.0.0.1:$PEBBLE_HTTP_PORT" \
		pair.example
	expect_status 1
	expect_stderr_contains "is not the key of the account $own_url"
	expect_stderr_contains "move $d/account.json away"
	cmp -s "$d/account.json" "$T/pair/own.json" || fail "account.json was rewritten"
	run account register "${CA_OPTS[@]}" --agree-tos
	expect_status 1
	expect_stderr_contains "is not the key of the account $own_url"
	cmp -s "$d/account.json" "$T/pair/own.json" || fail "account.json was rewritten"

	# Older account.json, no thumbprint.
	"$PY" -c 'import json, sys
j = json.load(open(sys.argv[1])); j.pop("thumbprint", None); j["url"] = sys.argv[2]
json.dump(j, open(sys.argv[1], "w"))' "$d/account.json" "$other_url"
	run account show "${CA_OPTS[@]}"
	expect_status 1
	expect_stderr_contains "move $d/account.json away"
}

# A rollover that died between the CA's answer and the replacement of
# account.key leaves account.key.new: the next command asks the CA which
# key it knows and finishes the rollover, or drops the stray key.
t_interrupted_rollover()
{
	local d old_pub new_pub

	copy_account interrupted
	d=$(account_dir "$T/interrupted")
	cp -p "$d/account.key" "$T/interrupted/old.key"
	cp -p "$d/account.json" "$T/interrupted/old.json"
	old_pub=$(pub_of_key "$d/account.key")
	run account rollover "${CA_OPTS[@]}"
	expect_status 0
	new_pub=$(pub_of_key "$d/account.key")
	# As if acmed had died right after the CA's answer.
	mv "$d/account.key" "$d/account.key.new"
	cp -p "$T/interrupted/old.key" "$d/account.key"
	cp -p "$T/interrupted/old.json" "$d/account.json"
	rm -f "$d/account.key.prev"
	run account show "${CA_OPTS[@]}"
	expect_status 0
	expect_stderr_contains "the CA took the key of an interrupted rollover"
	[[ $(pub_of_key "$d/account.key") == "$new_pub" ]] || fail "account.key is not the new key"
	[[ $(pub_of_key "$d/account.key.prev") == "$old_pub" ]] || fail "account.key.prev is not the old key"
	[[ -e $d/account.key.new ]] && fail "account.key.new left behind"

	# A key.new the CA never saw is dropped, account.key kept.
	openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 \
		-out "$d/account.key.new" 2>/dev/null
	run account show "${CA_OPTS[@]}"
	expect_status 0
	expect_stderr_contains "left by a rollover the CA never saw; removed"
	[[ -e $d/account.key.new ]] && fail "account.key.new not removed"
	[[ $(pub_of_key "$d/account.key") == "$new_pub" ]] || fail "account.key changed"
}

# ---- main ----

if pebble_start; then
	case_ "$ROUNDS rounds of two first runs: one account, key and URL agree" t_first_run_race
	case_ "a process waiting for the account's lock names its holder" t_lock_waits_naming_holder
	case_ "rollover while the daemon runs: told on the control socket" t_rollover_told
	case_ "rollover the daemon is not told of: it notices and orders again" t_rollover_untold
	case_ "rollover, then SIGHUP: the daemon reads the new key" t_rollover_sighup
	case_ "account.key lost: one line saying which file to move, no new account" t_lost_key
	case_ "unusable account.json or account.key: one line saying what to do" t_bad_files
	case_ "account.key and account.json of two accounts" t_mismatched_pair
	case_ "an interrupted rollover is finished, or its stray key dropped" t_interrupted_rollover
	pebble_stop
else
	fail_case "start Pebble"
fi

lib_finish
