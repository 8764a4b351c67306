#!/usr/bin/env bash
# ARI (RFC 9773) in the daemon: "acmed run" against tests/mock-acme/mock_acme.py,
# whose renewalInfo window is switched at run time (POST /mock/config).
#
# Every certificate is issued first with "acmed cert" (window normal), each
# in a state folder of its own; then a daemon watches it with one window or
# another, and the mock's request log (requests.jsonl) tells what the
# daemon asked: renewalInfo GETs (the path ends with the certificate's ARI
# ID), newOrder payloads (their identifiers and "replaces").
#
#   1. far (three years away, past notAfter): ignored with a warning, the
#      usual schedule stays; no order.
#   2. past: renewed at once, newOrder "replaces" = the installed
#      certificate's ARI ID (computed here with openssl).
#   3. already-replaced with past: 409 with replaces, then without: issued.
#   4. 404, inverted, garbage: the lifetime rule (a third of the lifetime
#      left), no order, the daemon alive and stopping cleanly.
#   5. Retry-After on renewalInfo (65 s): asked again after that, not
#      before. Its daemon runs in the background while 1 to 4 do.
#
# The http-01 hook records its calls and, while $GATE exists, holds "add":
# a renewal under the window "past" then waits until the test has switched
# the window back (else every new certificate is renewed at once again).
#
# Each daemon gets a folder: acmed.conf, state/, ctl.sock, log (stderr).
#
# Environment: ACMED (the binary under test), TESTS_DIR (tests/). Exits 0, 1
# when a case failed, 77 when python3, openssl or curl is missing, 99 when the
# harness itself is broken.
set -uo pipefail

# shellcheck source=lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh" || exit 99
lib_init ari
# shellcheck source=../mock-acme/mock.sh
. "$TESTS_DIR/mock-acme/mock.sh" || exit 99
mock_init
cd "$T" || exit 99

HOOK=$T/http-hook
GATE=$T/gate-closed
DAY=86400
YEAR=$((365 * DAY))
RETRY_AFTER=65

# ---- the request log ----

# mlog EXPR: EXPR (Python) of each request logged after the first MLOG_MARK
# lines for which it is not None, one a line. In EXPR: e (the entry), names(e) (a newOrder's identifier
# values), ari(e, ID) (whether e is a renewalInfo GET for ARI ID).
mlog()
{
	"$PY" - "$MLOG" "$1" "$MLOG_MARK" <<'EOF'
import json, sys

def names(e):
    p = e.get("payload")
    if e.get("kind") != "new-order" or not isinstance(p, dict):
        return []
    return [i.get("value") for i in p.get("identifiers") or [] if isinstance(i, dict)]

def ari(e, ident):
    return e.get("kind") == "renewal-info" and e.get("method") == "GET" and e.get("id") == ident

expr = compile(sys.argv[2], "expr", "eval")
with open(sys.argv[1]) as f:
    for n, line in enumerate(f):
        if n >= int(sys.argv[3]) and line.strip():
            v = eval(expr, {"e": json.loads(line), "names": names, "ari": ari})
            if v is not None and v is not False:
                print(v)
EOF
}

# orders NAME: "STATUS REPLACES" of each newOrder for NAME, one a line.
orders()
{
	mlog "'%s %s' % (e['status'], e['replaces']) if '$1' in names(e) else None"
}

orders_count()
{
	orders "$1" | wc -l
}

has_order()
{
	(($(orders_count "$1") > 0))
}

has_order_201()
{
	orders "$1" | grep '^201 ' >/dev/null
}

# ari_gets ID: "TIME STATUS" of each renewalInfo GET for ID, one a line.
ari_gets()
{
	mlog "'%f %s' % (e['time'], e['status']) if ari(e, '$1') else None"
}

ari_gets_count()
{
	ari_gets "$1" | wc -l
}

# has_ari_get ID [N]: N (1) or more renewalInfo GETs for ID.
has_ari_get()
{
	(($(ari_gets_count "$1") >= ${2:-1}))
}

# ---- certificates ----

# age NAME: records NAME's last success two days back, as if it had been
# issued then (and its recorded renewal window as expired): the renewal policy never renews a certificate within a
# quarter of its lifetime (at most an hour) of the last success, whatever
# the window says, and these were issued seconds ago.
age()
{
	"$PY" - "$T/$1/state/certs/$1/state.json" <<'EOF'
import json, sys, time
p = sys.argv[1]
d = json.load(open(p))
d["last_success"] = int(time.time()) - 2 * 86400
# The renewal window recorded at issue is due to be asked again.
d["ari_next"] = 0
json.dump(d, open(p, "w"))
EOF
}

cert_serial()
{
	openssl x509 -in "$1" -noout -serial 2>/dev/null | sed -n 's/^serial=//p'
}

# cert_dates FILE: "NOTBEFORE NOTAFTER" in seconds since the epoch.
cert_dates()
{
	local out nb na

	out=$(openssl x509 -in "$1" -noout -startdate -enddate 2>/dev/null) || return 1
	nb=$(date -u -d "$(sed -n 's/^notBefore=//p' <<<"$out")" +%s) || return 1
	na=$(date -u -d "$(sed -n 's/^notAfter=//p' <<<"$out")" +%s) || return 1
	echo "$nb $na"
}

serial_changed()
{
	[[ -s $1 && $(cert_serial "$1") != "$2" ]]
}

# expect_installed DIR: the four files, the key matching, the chain to the
# mock's root.
expect_installed()
{
	local d=$1 f out

	for f in privkey.pem cert.pem chain.pem fullchain.pem; do
		if [[ ! -s $d/$f ]]; then
			fail "$d/$f: missing or empty"
			return
		fi
	done
	if [[ $(openssl pkey -in "$d/privkey.pem" -pubout 2>/dev/null) != \
		"$(openssl x509 -in "$d/cert.pem" -noout -pubkey 2>/dev/null)" ]]; then
		fail "$d: privkey.pem does not match cert.pem"
	fi
	if ! out=$(openssl verify -CAfile "$MOCK_DIR/root.pem" -untrusted "$d/chain.pem" \
		"$d/cert.pem" 2>&1); then
		fail "$d: openssl verify: $(tr '\n' ' ' <<<"$out")"
	fi
}

# ---- daemons ----

make_hook()
{
	cat >"$HOOK" <<EOF
#!/bin/sh
# http-01 hook: records its argv; while $GATE exists (30 s at most), holds
# "add". The mock validates nothing: nothing to publish.
printf '%s|' "\$@" >>'$T/http-hook.log'
echo >>'$T/http-hook.log'
if [ "\$1" = add ]; then
	i=0
	while [ -e '$GATE' ] && [ \$i -lt 600 ]; do
		sleep 0.05
		i=\$((i + 1))
	done
fi
exit 0
EOF
	chmod 755 "$HOOK"
}

# new_conf NAME: $T/NAME/acmed.conf with one [cert NAME] for the domain NAME.
new_conf()
{
	local dir=$T/$1

	mkdir -p "$dir" || return 1
	cat >"$dir/acmed.conf" <<EOF
# ari.sh
ca = $DIR_URL
ca-file = $CA_FILE
agree-tos = yes
# The mock lists caaIdentities: no CAA lookup leaves loopback.
caa-check = no
state-dir = $dir/state
control-socket = $dir/ctl.sock
challenge = http-01
http-hook = $HOOK

[cert $1]
domains = $1
EOF
}

# issue NAME: the first certificate of NAME, with "acmed cert", into the
# daemon's state folder.
issue()
{
	new_conf "$1" || return 1
	run cert "$1" --http-hook "$HOOK" "${CA_OPTS[@]}" --state-dir "$T/$1/state" --agree-tos
	if [[ $RC != 0 || ! -s $T/$1/state/certs/$1/cert.pem ]]; then
		echo "ari.sh: acmed cert $1 failed ($RC): $(tail -n 3 "$ERR")" >&2
		return 1
	fi
}

# start_daemon NAME: acmed run for $T/NAME in the background, stderr
# appended to $T/NAME/log. Sets DPID.
start_daemon()
{
	local dir=$T/$1

	echo "---- ari.sh: start $(date -u +%T) ----" >>"$dir/log"
	"$ACMED" run -c "$dir/acmed.conf" </dev/null >>"$dir/log" 2>&1 &
	DPID=$!
	lib_track_pid "$DPID"
}

# stop_daemon NAME PID: the daemon must still run; SIGTERM must end it with
# status 0 within 10 s. No sanitizer report in its log.
stop_daemon()
{
	local dir=$T/$1 pid=$2 rc i

	if ! kill -0 "$pid" 2>/dev/null; then
		wait "$pid" 2>/dev/null
		rc=$?
		fail "$1: the daemon exited on its own (status $rc): $(tail -n 5 "$dir/log" | tr '\n' ';')"
		lib_stop_pid "$pid"
		return
	fi
	kill -TERM "$pid"
	for ((i = 0; i < 100; i++)); do
		if ! kill -0 "$pid" 2>/dev/null || [[ $(ps -o stat= -p "$pid" 2>/dev/null) == Z* ]]; then
			break
		fi
		sleep 0.1
	done
	if ((i == 100)); then
		fail "$1: the daemon did not stop within 10 s of SIGTERM"
		kill -KILL "$pid" 2>/dev/null
	fi
	wait "$pid" 2>/dev/null
	rc=$?
	if ((rc != 0)); then
		fail "$1: the daemon exited with status $rc after SIGTERM"
	fi
	lib_stop_pid "$pid"
	expect_no_sanitizer_report "$dir/log"
}

# status NAME EXPR: EXPR (Python) over "acmed status --json" of $T/NAME,
# where c is the certificate's entry and j the whole answer; fails when
# acmed fails or the answer is not as expected.
status()
{
	local out

	out=$(timeout 10 "$ACMED" status --json -c "$T/$1/acmed.conf" 2>/dev/null) || return 1
	"$PY" - "$1" "$2" "$out" <<'EOF'
import json, sys
j = json.loads(sys.argv[3])
c = [x for x in j["certs"] if x["cert"] == sys.argv[1]][0]
v = eval(sys.argv[2], {"j": j, "c": c})
print("true" if v is True else "false" if v is False else v)
EOF
}

# status_true NAME EXPR: whether EXPR is true (the daemon answering).
status_true()
{
	[[ $(status "$1" "j['daemon'] and ($2)" 2>/dev/null) == true ]]
}

status_dump()
{
	timeout 10 "$ACMED" status --json -c "$T/$1/acmed.conf" 2>&1 | tr -d '\n' | head -c 600
}

now_f()
{
	date +%s.%N
}

# ---- 5 (first half): Retry-After ----

C5=c5.example
C5_PID=
C5_ID=

t_retry_after_start()
{
	C5_ID=$(ari_id "$T/$C5/state/certs/$C5/cert.pem")
	mock_set "\"ari\": \"far\", \"ari_retry_after\": $RETRY_AFTER" || return
	start_daemon "$C5"
	C5_PID=$DPID
	if ! wait_until 20 has_ari_get "$C5_ID"; then
		fail "no renewalInfo GET for $C5_ID within 20 s: $(tail -n 5 "$T/$C5/log" | tr '\n' ';')"
		return
	fi
	# A window past notAfter is not followed: the usual schedule stays.
	if ! wait_until 10 status_true "$C5" "$(date +%s) + $DAY < c['next'] < c['not_after']"; then
		fail "a window past expiry changed the schedule: $(status_dump "$C5")"
	fi
}

# ---- 1: far ----

C1=c1.example

t_far()
{
	local id pid t0 tget next na start end serial

	id=$(ari_id "$T/$C1/state/certs/$C1/cert.pem")
	serial=$(cert_serial "$T/$C1/state/certs/$C1/cert.pem")
	mock_set '"ari": "far"' || return
	t0=$SECONDS
	start_daemon "$C1"
	pid=$DPID
	if ! wait_until 20 has_ari_get "$id"; then
		fail "no renewalInfo GET for $id within 20 s (the daemon's GETs: $(mlog "e['path'] if e['kind'] == 'renewal-info' else None" | tr '\n' ' '))"
		stop_daemon "$C1" "$pid"
		return
	fi
	tget=$(ari_gets "$id" | head -n 1 | cut -d' ' -f1)
	# The mock's window: [t + 3 years, t + 3 years + 1 day], in whole
	# seconds.
	start=$("$PY" -c "import sys; print(int(float(sys.argv[1])) + 3 * $YEAR - 2)" "$tget")
	end=$((start + DAY + 4))
	# The window begins after the certificate expires: following it would
	# let the certificate lapse, so the usual schedule stays.
	if ! wait_until 10 grep -q "$C1: renewalInfo window ends after the certificate expires" "$T/$C1/log"; then
		fail "no warning about a window past expiry in the log"
	fi
	if ! status_true "$C1" "c['next'] < c['not_after'] and not ($start <= c['next'] <= $end)"; then
		fail "status: next follows a window past expiry: $(status_dump "$C1")"
	fi
	# No order within 5 s of the start.
	sleep $((5 - (SECONDS - t0) > 0 ? 5 - (SECONDS - t0) : 0))
	if has_order "$C1"; then
		fail "newOrder for $C1 under a window three years away: $(orders "$C1" | tr '\n' ';')"
	fi
	if [[ $(cert_serial "$T/$C1/state/certs/$C1/cert.pem") != "$serial" ]]; then
		fail "the certificate changed"
	fi
	stop_daemon "$C1" "$pid"
}

# ---- 2: past ----

C2=c2.example

t_past()
{
	local id pid t0 t1 got serial cert=$T/$C2/state/certs/$C2/cert.pem new_id

	id=$(ari_id "$cert")
	serial=$(cert_serial "$cert")
	age "$C2" || return
	touch "$GATE"
	mock_set '"ari": "past"' || return
	t0=$(now_f)
	start_daemon "$C2"
	pid=$DPID
	if ! wait_until 8 has_order "$C2"; then
		fail "no newOrder within 8 s under a window that ended a day ago: $(tail -n 5 "$T/$C2/log" | tr '\n' ';')"
	fi
	t1=$(now_f)
	# Switch the window back before the held renewal goes on.
	mock_set '"ari": "normal"'
	rm -f "$GATE"
	echo "# $C2: newOrder $("$PY" -c "import sys; print('%.1f' % (float(sys.argv[2]) - float(sys.argv[1])))" "$t0" "$t1") s after the start" >&2
	if ! has_ari_get "$id"; then
		fail "no renewalInfo GET under renewalInfo/$id (the ID openssl gives); GETs: $(mlog "e['path'] if e['kind'] == 'renewal-info' else None" | tr '\n' ' ')"
	fi
	got=$(orders "$C2" | head -n 1)
	if [[ $got != "201 $id" ]]; then
		fail "first newOrder for $C2: '$got', want status 201 with replaces $id"
	fi
	if ! wait_until 15 serial_changed "$cert" "$serial"; then
		fail "the renewed certificate was not installed within 15 s"
	fi
	expect_installed "$T/$C2/state/certs/$C2"
	# After the renewal, the daemon asks for the new certificate's window
	# (normal now: tomorrow), and follows it.
	new_id=$(ari_id "$cert")
	if ! wait_until 10 has_ari_get "$new_id"; then
		fail "no renewalInfo GET for the new certificate ($new_id) within 10 s"
	elif ! wait_until 10 status_true "$C2" "$(date +%s) + $DAY - 5 <= c['next'] <= $(date +%s) + 2 * $DAY + 5 and c['attempts'] == 0"; then
		fail "after the renewal, next not in the new window (tomorrow): $(status_dump "$C2")"
	fi
	if [[ $(orders_count "$C2") != 1 ]]; then
		fail "$(orders_count "$C2") newOrder requests for $C2, want 1: $(orders "$C2" | tr '\n' ';')"
	fi
	stop_daemon "$C2" "$pid"
}

# ---- 3: alreadyReplaced ----

C3=c3.example

t_already_replaced()
{
	local id pid got serial cert=$T/$C3/state/certs/$C3/cert.pem

	id=$(ari_id "$cert")
	serial=$(cert_serial "$cert")
	age "$C3" || return
	touch "$GATE"
	mock_set '"ari": "past", "scenario": "already-replaced"' || return
	start_daemon "$C3"
	pid=$DPID
	if ! wait_until 10 has_order_201 "$C3"; then
		fail "no successful newOrder within 10 s: $(orders "$C3" | tr '\n' ';') $(tail -n 5 "$T/$C3/log" | tr '\n' ';')"
	fi
	mock_set '"ari": "normal", "scenario": "good"'
	rm -f "$GATE"
	got=$(orders "$C3" | tr '\n' ';')
	if [[ $got != "409 $id;201 None;" ]]; then
		fail "newOrder requests for $C3: '$got', want one with replaces $id (409), then one without (201)"
	fi
	if ! wait_until 15 serial_changed "$cert" "$serial"; then
		fail "the renewed certificate was not installed within 15 s"
	fi
	expect_installed "$T/$C3/state/certs/$C3"
	if ! grep -q "$C3: .*ordering without replaces" "$T/$C3/log"; then
		fail "the log does not say it ordered without replaces"
	fi
	if ! wait_until 10 status_true "$C3" "c['attempts'] == 0 and c.get('last_error') is None and c['next'] > $(date +%s) + 3600"; then
		fail "after the renewal: $(status_dump "$C3")"
	fi
	stop_daemon "$C3" "$pid"
}

# ---- 4: no usable window ----

C4=c4.example

# t_no_window MODE STATUS LOG-REGEX: under ari=MODE (the renewalInfo GET
# answered STATUS), the lifetime rule: next = notAfter - lifetime / 3.
t_no_window()
{
	local mode=$1 want_status=$2 regex=$3 id pid t0 cert=$T/$C4/state/certs/$C4/cert.pem
	local nb na want serial got n_before now

	id=$(ari_id "$cert")
	serial=$(cert_serial "$cert")
	read -r nb na < <(cert_dates "$cert")
	want=$((na - (na - nb) / 3))
	mock_set "\"ari\": \"$mode\"" || return
	n_before=$(ari_gets_count "$id")
	t0=$SECONDS
	start_daemon "$C4"
	pid=$DPID
	if ! wait_until 20 has_ari_get "$id" $((n_before + 1)); then
		fail "no renewalInfo GET for $id within 20 s"
	fi
	got=$(ari_gets "$id" | tail -n 1 | cut -d' ' -f2)
	if [[ $got != "$want_status" ]]; then
		fail "harness: the mock answered $got, want $want_status"
	fi
	# Give the daemon a moment to take the answer in.
	sleep 1
	now=$(date +%s)
	if ! status_true "$C4" "c['next'] == $want and c['not_after'] == $na and c['attempts'] == 0"; then
		fail "status: want next $want ($(date -u -d "@$want" '+%F %T'), a third of the lifetime before notAfter $na), got $(status_dump "$C4")"
	fi
	if ! ((nb < want && want < na && want > now + DAY)); then
		fail "harness: the expected time $want is not within the validity"
	fi
	if [[ -n $regex ]] && ! grep -qE -- "$regex" "$T/$C4/log"; then
		fail "the log does not match /$regex/: $(tail -n 5 "$T/$C4/log" | tr '\n' ';')"
	fi
	if grep -qiE 'error:|fatal|abort|segmentation' "$T/$C4/log"; then
		fail "the log reports an error: $(grep -iE 'error:|fatal|abort|segmentation' "$T/$C4/log" | head -n 3 | tr '\n' ';')"
	fi
	sleep $((3 - (SECONDS - t0) > 0 ? 3 - (SECONDS - t0) : 0))
	if has_order "$C4"; then
		fail "newOrder for $C4: $(orders "$C4" | tr '\n' ';')"
	fi
	if [[ $(cert_serial "$cert") != "$serial" ]]; then
		fail "the certificate changed"
	fi
	stop_daemon "$C4" "$pid"
}

t_404() { t_no_window 404 404 ''; }
t_inverted() { t_no_window inverted 200 "$C4: https://[^ ]*/renewal-info/[^ ]*: suggestedWindow ends before it starts; keeping the usual schedule"; }
t_garbage() { t_no_window garbage 200 "$C4: https://[^ ]*/renewal-info/[^ ]*: .*; keeping the usual schedule"; }

# ---- 5 (second half) ----

t_retry_after_again()
{
	local first gets gap

	if [[ -z $C5_PID || -z $C5_ID ]]; then
		fail "its daemon did not start"
		return
	fi
	mock_set '"ari": "far", "scenario": "good"'
	first=$(ari_gets "$C5_ID" | head -n 1 | cut -d' ' -f1)
	# Asked again RETRY_AFTER s after the first answer: wait until then
	# and 10 s more.
	if ! wait_until "$("$PY" -c "import sys, time; print(max(1, int(float(sys.argv[1]) + $RETRY_AFTER + 10 - time.time())))" "$first")" \
		has_ari_get "$C5_ID" 2; then
		fail "no second renewalInfo GET within $RETRY_AFTER + 10 s of the first (Retry-After: $RETRY_AFTER): $(ari_gets "$C5_ID" | tr '\n' ';')"
	fi
	gets=$(ari_gets "$C5_ID")
	gap=$("$PY" -c "import sys; t = [float(l.split()[0]) for l in sys.argv[1].splitlines()]; print('%.1f' % (t[1] - t[0]) if len(t) > 1 else -1)" "$gets")
	echo "# $C5: renewalInfo GETs $(wc -l <<<"$gets"), the second $gap s after the first" >&2
	if [[ $(wc -l <<<"$gets") != 2 ]]; then
		fail "$(wc -l <<<"$gets") renewalInfo GETs for $C5_ID, want 2: $(tr '\n' ';' <<<"$gets")"
	elif ! "$PY" -c "import sys; sys.exit(0 if $RETRY_AFTER - 1 <= float(sys.argv[1]) <= $RETRY_AFTER + 5 else 1)" "$gap"; then
		fail "the second renewalInfo GET came $gap s after the first, want $RETRY_AFTER s (Retry-After)"
	fi
	if has_order "$C5"; then
		fail "newOrder for $C5: $(orders "$C5" | tr '\n' ';')"
	fi
	stop_daemon "$C5" "$C5_PID"
	C5_PID=
}

# ---- 6: one-shot commands ----

C6=c6.example

t_oneshot()
{
	local cert=$T/$C6/state/certs/$C6/cert.pem id serial new_id n got
	local -a args=("$C6" --http-hook "$HOOK" "${CA_OPTS[@]}" --state-dir "$T/$C6/state")

	id=$(ari_id "$cert")
	serial=$(cert_serial "$cert")
	age "$C6" || return
	mock_set '"ari": "past"' || return
	run cert "${args[@]}"
	expect_status 0
	if ! has_ari_get "$id"; then
		fail "acmed cert did not ask renewalInfo for $id"
	fi
	if ! serial_changed "$cert" "$serial"; then
		fail "under a window that ended a day ago, acmed cert did not renew"
	fi
	got=$(orders "$C6" | head -n 1)
	if [[ $got != "201 $id" ]]; then
		fail "newOrder for $C6: '$got', want status 201 with replaces $id"
	fi
	mock_set '"ari": "normal"' || return
	new_id=$(ari_id "$cert")
	# Just installed: its window is recorded as not to be asked yet.
	run cert "${args[@]}"
	expect_status 0
	expect_stderr_contains "not due"
	if has_ari_get "$new_id"; then
		fail "renewalInfo asked at once for the certificate just installed"
	fi
	# Once that time is over, a run asks, and keeps the answer.
	age "$C6" || return
	run cert "${args[@]}"
	expect_status 0
	expect_stderr_contains "not due"
	if ! has_ari_get "$new_id"; then
		fail "acmed cert did not ask renewalInfo for the new certificate $new_id"
	fi
	n=$(ari_gets_count "$new_id")
	run cert "${args[@]}"
	expect_status 0
	if (($(ari_gets_count "$new_id") != n)); then
		fail "renewalInfo asked again at once, before the time state.json recorded"
	fi
	if (($(orders_count "$C6") != 1)); then
		fail "$(orders_count "$C6") newOrder requests for $C6, want 1: $(orders "$C6" | tr '\n' ';')"
	fi
}

# ---- main ----

make_hook
if ! mock_start; then
	fail_case "start the mock ACME server"
	lib_finish
fi
for c in "$C5" "$C1" "$C2" "$C3" "$C4" "$C6"; do
	if ! issue "$c"; then
		fail_case "acmed cert $c against the mock (window normal)"
		lib_finish
	fi
done
# The requests of the first certificates are not the daemons'.
mlog_mark

case_ "retry-after: the daemon asks renewalInfo at start (window far, Retry-After $RETRY_AFTER s)" t_retry_after_start
case_ "far: a window past expiry is ignored with a warning, no order" t_far
case_ "past: renewed at once, replaces = the installed certificate's ARI ID" t_past
case_ "alreadyReplaced: 409 with replaces, then without: installed" t_already_replaced
case_ "404: the lifetime rule, no order, no crash" t_404
case_ "inverted window: ignored, the lifetime rule, no order" t_inverted
case_ "garbage renewalInfo: ignored, the lifetime rule, no order" t_garbage
case_ "retry-after: renewalInfo asked again after Retry-After, not before" t_retry_after_again
case_ "one-shot cert: asks renewalInfo, renews under a past window, keeps the answer until it is due" t_oneshot

mock_expect_no_traceback

lib_finish
