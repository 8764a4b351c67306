#!/usr/bin/env bash
# Integration tests for the daemon, "acmed run", and its clients "acmed jobs",
# "acmed status" and "acmed renew --now", against a Pebble that issues
# 40-second certificates, so that the daemon renews on its own within the
# test: a certificate under 10 days is renewed when half its lifetime is left,
# about 20 s after it was issued.
#
# Each daemon gets a folder: acmed.conf, state/, ctl.sock (the control
# socket), log (its stderr), notify.sock and notify (what it sent to
# $NOTIFY_SOCKET, one datagram a line). Pebble's http-01 validations go to one
# port, which the daemon's own responder takes (http-listen): one daemon runs
# at a time.
#
# Environment: ACMED (the binary under test), TESTS_DIR (tests/, for
# pebble.sh). Exits 0, 1 when a case failed, 77 when Pebble is not installed,
# 99 when the harness itself is broken.
set -uo pipefail

# shellcheck source=lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh" || exit 99
lib_init daemon
# shellcheck source=../pebble.sh
. "$TESTS_DIR/pebble.sh" || exit 99

pebble_require_or_skip

lib_python || exit 99

VALIDITY=40
ROOT=$T/root.pem
# Extra global lines for new_conf.
CONF_EXTRA=()

# ---- certificates ----

# cert_info, cert_serial and expect_valid (against $ROOT) are in lib.sh.

# installed_count STATE NAME...: how many of the certificates have a
# cert.pem.
installed_count()
{
	local st=$1 n=0 c
	shift

	for c; do
		if [[ -s $st/certs/$c/cert.pem ]]; then
			n=$((n + 1))
		fi
	done
	echo "$n"
}

# installed_at_least N STATE NAME...: whether N or more of the certificates
# have a cert.pem.
installed_at_least()
{
	local n=$1
	shift

	(($(installed_count "$@") >= n))
}

# serials_changed FILE SERIAL [FILE SERIAL...]: whether every certificate
# FILE has a serial other than SERIAL.
serials_changed()
{
	while (($# >= 2)); do
		if [[ $(cert_serial "$1") == "$2" ]]; then
			return 1
		fi
		shift 2
	done
}

# names PREFIX N: PREFIX01 ... PREFIXN.
names()
{
	local i

	for ((i = 1; i <= $2; i++)); do
		printf '%s%02d\n' "$1" "$i"
	done
}

# ---- JSON ----

# json_get FILE EXPR: prints the Python expression EXPR over the JSON
# document j read from FILE (a list is printed one item a line); fails when
# the file is not JSON or the expression raises.
json_get()
{
	"$PY" - "$1" "$2" <<'EOF'
import json
import sys

with open(sys.argv[1]) as f:
    j = json.load(f)
v = eval(sys.argv[2], {"j": j})
if isinstance(v, list):
    for x in v:
        print(x)
elif isinstance(v, bool):
    print("true" if v else "false")
elif v is not None:
    print(v)
EOF
}

# ---- daemons ----

# new_conf DIR CERT...: DIR/acmed.conf for Pebble with a [cert CERT] for
# CERT.example each, and the lines of CONF_EXTRA among the global ones.
new_conf()
{
	local dir=$1 c
	shift

	mkdir -p "$dir" || return 1
	{
		echo "# daemon.sh"
		echo "ca = $PEBBLE_DIR_URL"
		echo "ca-file = $PEBBLE_CA_FILE"
		echo "agree-tos = yes"
		echo "state-dir = $dir/state"
		echo "control-socket = $dir/ctl.sock"
		echo "challenge = http-01"
		echo "http-listen = 127.0.0.1:$PEBBLE_HTTP_PORT"
		if ((${#CONF_EXTRA[@]})); then
			printf '%s\n' "${CONF_EXTRA[@]}"
		fi
		for c; do
			printf '\n[cert %s]\ndomains = %s.example\n' "$c" "$c"
		done
	} >"$dir/acmed.conf"
}

# notify_listen DIR: a datagram socket at DIR/notify.sock that appends each
# message it gets to DIR/notify, newlines turned into spaces.
notify_listen()
{
	local dir=$1

	"$PY" - "$dir/notify.sock" "$dir/notify" <<'EOF' &
import socket
import sys

s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.bind(sys.argv[1])
with open(sys.argv[2], "a") as f:
    while True:
        data = s.recv(4096)
        f.write(data.decode("utf-8", "replace").replace("\n", " ").strip() + "\n")
        f.flush()
EOF
	lib_track_pid $!
	touch "$dir/notify"
	wait_until 5 test -S "$dir/notify.sock"
}

# start_daemon DIR [ARGS...]: acmed run -c DIR/acmed.conf in the background,
# stderr appended to DIR/log, NOTIFY_SOCKET at DIR/notify.sock. Sets DPID.
start_daemon()
{
	local dir=$1
	shift

	if [[ ! -S $dir/notify.sock ]]; then
		notify_listen "$dir" || return 1
	fi
	echo "---- daemon.sh: start $(date -u +%T) ----" >>"$dir/log"
	NOTIFY_SOCKET=$dir/notify.sock "$ACMED" run -c "$dir/acmed.conf" "$@" \
		</dev/null >>"$dir/log" 2>&1 &
	DPID=$!
	lib_track_pid "$DPID"
}

# notify_count DIR REGEX: how many notifications match.
notify_count()
{
	grep -cE -- "$2" "$1/notify" 2>/dev/null || true
}

# wait_ready DIR N SECONDS: until DIR has had N READY=1 notifications.
wait_ready()
{
	local deadline=$((SECONDS + $3))

	while (($(notify_count "$1" '(^| )READY=1( |$)') < $2)); do
		if ((SECONDS >= deadline)); then
			return 1
		fi
		sleep 0.1
	done
}

# Whether PID is a process that has not exited (a zombie has).
proc_running()
{
	local st

	st=$(ps -o stat= -p "$1" 2>/dev/null) || return 1
	[[ -n $st && $st != Z* ]]
}

proc_gone()
{
	! proc_running "$1"
}

# jobs_count CONF: what "acmed jobs" prints, or "error".
jobs_count()
{
	local out

	if out=$(timeout 10 "$ACMED" jobs -c "$1" 2>/dev/null); then
		echo "$out"
	else
		echo error
	fi
}

# expect_daemon_log_clean DIR: no sanitizer report in the daemon's log (the
# first one is quoted).
expect_daemon_log_clean()
{
	if grep -qE 'Sanitizer|runtime error:' "$1/log" 2>/dev/null; then
		fail "sanitizer report in $1/log:"$'\n'"$(grep -m 1 -E -A 40 'Sanitizer|runtime error:' "$1/log")"
	fi
}

# ---- no daemon ----

t_no_daemon()
{
	local dir=$T/none

	new_conf "$dir" n01 || return
	run jobs -c "$dir/acmed.conf"
	expect_status 0
	expect_stdout 0
	# The note on stderr names the socket nobody answers on.
	expect_stderr_contains "$dir/ctl.sock"

	run jobs --json -c "$dir/acmed.conf"
	expect_status 0
	if ! "$PY" -m json.tool "$OUT" >/dev/null 2>&1; then
		fail "jobs --json: not JSON"
	elif [[ $(json_get "$OUT" 'sorted(j)' | tr '\n' ' ') != "active jobs pending " ||
		$(json_get "$OUT" '(j["active"], j["pending"], j["jobs"])') != "(0, 0, [])" ]]; then
		fail "jobs --json: want active 0, pending 0, jobs [], got $(tr -d '\n' <"$OUT")"
	fi

	run renew --now n01 -c "$dir/acmed.conf"
	expect_status 3
	expect_stderr_nonempty

	# From the state files, which do not exist yet.
	run status --json -c "$dir/acmed.conf"
	expect_status 0
	if [[ $(json_get "$OUT" '[c["cert"] for c in j["certs"]]') != n01 ||
		$(json_get "$OUT" 'j["daemon"]') != false ||
		$(json_get "$OUT" 'j["certs"][0]["not_after"]') != 0 ]]; then
		fail "status --json without a daemon: want n01 alone, not issued, daemon false"
	fi
}

# ---- one daemon, three certificates: renewals, status, renew --now, SIGHUP,
# SIGTERM ----

A=$T/a
A_CERTS=(r01 r02 r03)
A_PID=

# record_certs DIR NAME...: appends "TIME SERIAL NOTBEFORE NOTAFTER" to
# DIR/hist-NAME whenever NAME's certificate changed since the last call.
record_certs()
{
	local dir=$1 c info last now
	shift

	now=$(date +%s)
	for c; do
		info=$(cert_info "$dir/state/certs/$c/cert.pem") || continue
		last=$(tail -n 1 "$dir/hist-$c" 2>/dev/null | cut -d' ' -f2-)
		if [[ $info != "$last" ]]; then
			echo "$now $info" >>"$dir/hist-$c"
		fi
	done
}

# hist_min DIR N NAME...: whether each NAME has N certificates in its history.
hist_min()
{
	local dir=$1 n=$2 c
	shift 2

	record_certs "$dir" "$@"
	for c; do
		if (($(wc -l 2>/dev/null <"$dir/hist-$c" || echo 0) < n)); then
			return 1
		fi
	done
}

t_issue_and_renew()
{
	local c line prev seen nb na prev_nb prev_na half k

	new_conf "$A" "${A_CERTS[@]}" || return
	start_daemon "$A"
	A_PID=$DPID
	if ! wait_ready "$A" 1 30; then
		fail "no READY=1 on \$NOTIFY_SOCKET within 30 s"
		return
	fi
	# Issued, then renewed twice, unasked: three certificates each. Two
	# renewals take about 2 * 20 s; the deadline leaves room.
	if ! wait_until 100 hist_min "$A" 3 "${A_CERTS[@]}"; then
		fail "within 100 s, not every certificate was issued and renewed twice: $(for c in "${A_CERTS[@]}"; do printf '%s: %s; ' "$c" "$(wc -l 2>/dev/null <"$A/hist-$c" || echo 0)"; done)"
	fi
	for c in "${A_CERTS[@]}"; do
		prev=
		k=0
		while read -r seen line; do
			read -r _ nb na <<<"$line"
			k=$((k + 1))
			if [[ -n $prev ]]; then
				read -r _ prev_nb prev_na <<<"$prev"
				half=$(((prev_na - prev_nb) / 2))
				# Seen (polling every 0.1 s) before the old one expired.
				if ((seen >= prev_na)); then
					fail "$c: certificate $k installed at $seen, after the previous one expired at $prev_na"
				fi
				# Not renewed before it was due (half the lifetime
				# left; 2 s for rounding).
				if ((nb < prev_nb + half - 2)); then
					fail "$c: certificate $k issued at $nb, before the previous one was due ($((prev_nb + half)))"
				fi
			fi
			prev=$line
		done <"$A/hist-$c"
		if [[ -n $prev ]]; then
			expect_valid "$A/state/certs/$c"
		fi
	done
	if grep -qE 'attempt [0-9]+ failed' "$A/log"; then
		fail "the log reports failures: $(grep -E 'attempt [0-9]+ failed' "$A/log" | head -n 3 | tr '\n' ';')"
	fi
	if ! proc_running "$A_PID"; then
		fail "the daemon exited"
	fi
	expect_daemon_log_clean "$A"
}

# status --json from the running daemon: every certificate with its notAfter
# and next renewal.
t_status_live()
{
	local c na next now
	local -A before=() after=()

	if ! proc_running "${A_PID:-0}"; then
		fail "the daemon of the previous case is not running"
		return
	fi
	for c in "${A_CERTS[@]}"; do
		before[$c]=$(cert_info "$A/state/certs/$c/cert.pem" | cut -d' ' -f3)
	done
	now=$(date +%s)
	run status --json -c "$A/acmed.conf"
	expect_status 0
	for c in "${A_CERTS[@]}"; do
		after[$c]=$(cert_info "$A/state/certs/$c/cert.pem" | cut -d' ' -f3)
	done
	if ! "$PY" -m json.tool "$OUT" >/dev/null 2>&1; then
		fail "status --json: not JSON"
		return
	fi
	if [[ $(json_get "$OUT" 'j["daemon"]') != true ]]; then
		fail "status --json: daemon is not true while the daemon runs"
	fi
	if [[ $(json_get "$OUT" 'sorted(c["cert"] for c in j["certs"] if c.get("configured", True))' | tr '\n' ' ') != "${A_CERTS[*]} " ]]; then
		fail "status --json: certificates $(json_get "$OUT" '[c["cert"] for c in j["certs"]]' | tr '\n' ' '), want ${A_CERTS[*]}"
	fi
	for c in "${A_CERTS[@]}"; do
		na=$(json_get "$OUT" "[c['not_after'] for c in j['certs'] if c['cert'] == '$c'][0]")
		next=$(json_get "$OUT" "[c['next'] for c in j['certs'] if c['cert'] == '$c'][0]")
		# A renewal may have been installed meanwhile: either
		# certificate will do.
		if [[ $na != "${before[$c]}" && $na != "${after[$c]}" ]]; then
			fail "$c: not_after $na, the installed certificate's is ${after[$c]}"
		fi
		if [[ ! $next =~ ^[0-9]+$ ]] || ((next <= 0 || next > na)); then
			fail "$c: next '$next' is not a time before not_after $na"
		elif ((next < now - 5)); then
			fail "$c: next $next is in the past (now $now)"
		fi
		if [[ $(json_get "$OUT" "[c['domains'] for c in j['certs'] if c['cert'] == '$c'][0]") != "$c.example" ]]; then
			fail "$c: domains are not [$c.example]"
		fi
	done
	# The table lists them too.
	run status -c "$A/acmed.conf"
	expect_status 0
	for c in "${A_CERTS[@]}"; do
		expect_stdout_contains "$c"
	done
}

# renew --now: the daemon orders the certificate at once, long before it is
# due.
t_renew_now()
{
	local c=${A_CERTS[0]} info serial nb na due

	if ! proc_running "${A_PID:-0}"; then
		fail "the daemon is not running"
		return
	fi
	# Right after a scheduled renewal, the next is about 20 s away.
	serial=$(cert_serial "$A/state/certs/$c/cert.pem")
	if ! wait_until 30 serials_changed "$A/state/certs/$c/cert.pem" "$serial"; then
		fail "$c: not renewed within 30 s"
		return
	fi
	info=$(cert_info "$A/state/certs/$c/cert.pem")
	read -r serial nb na <<<"$info"
	due=$((nb + (na - nb) / 2))
	run renew --now "$c" -c "$A/acmed.conf"
	expect_status 0
	if ! wait_until 15 serials_changed "$A/state/certs/$c/cert.pem" "$serial"; then
		fail "$c: renew --now: the certificate was not replaced within 15 s"
	elif (($(date +%s) >= due)); then
		fail "$c: replaced only when it was due anyway"
	else
		expect_valid "$A/state/certs/$c"
	fi
	run renew --now no-such-cert -c "$A/acmed.conf"
	if [[ $RC == 0 ]]; then
		fail "renew --now of an unknown certificate: exit status 0"
	fi
	expect_stderr_contains "no-such-cert"
}

# log_count_above FILE TEXT N: whether more than N lines of FILE hold TEXT.
log_count_above()
{
	(($(grep -cF -- "$2" "$1") > $3))
}

# status_certs_are CONF NAME...: whether status --json lists these
# certificates, in any order, and no other.
status_certs_are()
{
	local conf=$1 want got
	shift

	timeout 10 "$ACMED" status --json -c "$conf" >"$T/status.json" 2>/dev/null || return 1
	# Those of the configuration: a [cert] taken out stays in the state
	# folder, shown as unconfigured.
	got=$(json_get "$T/status.json" 'sorted(c["cert"] for c in j["certs"] if c.get("configured", True))' | tr '\n' ' ')
	want=$(printf '%s\n' "$@" | LC_ALL=C sort | tr '\n' ' ')
	[[ $got == "$want" ]]
}

# jobs_match CONF REGEX: whether what "acmed jobs" prints matches.
jobs_match()
{
	[[ $(jobs_count "$1") =~ $2 ]]
}

# status_next CONF CERT: the certificate's next renewal as the daemon says.
status_next()
{
	timeout 10 "$ACMED" status --json -c "$1" >"$T/status.json" 2>/dev/null &&
		json_get "$T/status.json" "[c['next'] for c in j['certs'] if c['cert'] == '$2'][0]"
}

t_sighup()
{
	local conf=$A/acmed.conf good=$A/good.conf c n ready next_before=() serial_before=()

	if ! proc_running "${A_PID:-0}"; then
		fail "the daemon is not running"
		return
	fi
	cp "$conf" "$good"
	for c in "${A_CERTS[@]}"; do
		serial_before+=("$(cert_serial "$A/state/certs/$c/cert.pem")")
		next_before+=("$(status_next "$conf" "$c")")
	done

	# A new [cert] gets issued.
	ready=$(notify_count "$A" '(^| )READY=1( |$)')
	printf '\n[cert r04]\ndomains = r04.example\n' >>"$conf"
	kill -HUP "$A_PID"
	if ! wait_until 30 test -s "$A/state/certs/r04/cert.pem"; then
		fail "r04: not issued within 30 s of SIGHUP"
	else
		expect_valid "$A/state/certs/r04"
	fi
	if ! grep -qE 'reloaded .*4 certificates' "$A/log"; then
		fail "the log does not say the configuration was reloaded with 4 certificates"
	fi
	if ! wait_ready "$A" $((ready + 1)) 5; then
		fail "no READY=1 after the reload"
	fi
	# Certificates that stay keep their schedule (unless they were renewed
	# meanwhile).
	for ((n = 0; n < ${#A_CERTS[@]}; n++)); do
		c=${A_CERTS[n]}
		if [[ $(cert_serial "$A/state/certs/$c/cert.pem") == "${serial_before[n]}" &&
			$(status_next "$conf" "$c") != "${next_before[n]}" ]]; then
			fail "$c: next renewal moved from ${next_before[n]} to $(status_next "$conf" "$c") on SIGHUP"
		fi
	done

	# A broken configuration is refused and logged; the daemon carries on
	# with the old one.
	cp "$conf" "$A/four.conf"
	printf 'no-such-key = 1\n' >>"$conf"
	n=$(grep -c 'configuration not changed' "$A/log")
	kill -HUP "$A_PID"
	if ! wait_until 10 log_count_above "$A/log" 'configuration not changed' "$n"; then
		fail "SIGHUP with a broken configuration: the log does not say it was refused"
	elif ! grep -qF "no-such-key" "$A/log"; then
		fail "the log does not name the broken key"
	fi
	sleep 1
	if ! proc_running "$A_PID"; then
		fail "the daemon exited on a broken configuration"
		return
	fi
	# (The client reads the configuration too: the valid copy.)
	run status --json -c "$A/four.conf"
	expect_status 0
	if [[ $(json_get "$OUT" 'j.get("daemon")') != true ||
		$(json_get "$OUT" 'len(j["certs"])') != 4 ]]; then
		fail "after the refused reload, status does not show the daemon with 4 certificates"
	fi

	# A [cert] taken out is dropped.
	cp "$good" "$conf"
	kill -HUP "$A_PID"
	if ! wait_until 10 status_certs_are "$conf" "${A_CERTS[@]}"; then
		fail "r04 is still scheduled after it was removed and SIGHUP"
	fi
	expect_daemon_log_clean "$A"
}

# SIGTERM: exit status 0 within 5 s, the control socket gone, STOPPING=1.
t_sigterm()
{
	local rc

	if ! proc_running "${A_PID:-0}"; then
		fail "the daemon is not running"
		return
	fi
	if [[ ! -S $A/ctl.sock ]]; then
		fail "$A/ctl.sock: no control socket while the daemon runs"
	fi
	LAST_CMD="kill -TERM (acmed run)"
	kill -TERM "$A_PID"
	if ! wait_until 5 proc_gone "$A_PID"; then
		fail "still running 5 s after SIGTERM"
		kill -KILL "$A_PID"
	fi
	wait "$A_PID"
	rc=$?
	RC=$rc
	expect_status 0
	lib_stop_pid "$A_PID"
	if [[ -e $A/ctl.sock ]]; then
		fail "$A/ctl.sock is still there after SIGTERM"
	fi
	# The listener writes what it got a moment later: waited for.
	if ! wait_until 5 grep -qE '(^| )STOPPING=1( |$)' "$A/notify"; then
		fail "no STOPPING=1 on \$NOTIFY_SOCKET"
	fi
	run jobs -c "$A/acmed.conf"
	expect_status 0
	expect_stdout 0
	expect_daemon_log_clean "$A"
}

# status --json without the daemon: the same certificates from the files.
t_status_offline()
{
	local c na

	run status --json -c "$A/acmed.conf"
	expect_status 0
	if [[ $(json_get "$OUT" 'j["daemon"]') != false ]]; then
		fail "status --json: daemon is not false with no daemon"
	fi
	if [[ $(json_get "$OUT" 'sorted(c["cert"] for c in j["certs"] if c.get("configured", True))' | tr '\n' ' ') != "${A_CERTS[*]} " ]]; then
		fail "status --json: certificates $(json_get "$OUT" '[c["cert"] for c in j["certs"]]' | tr '\n' ' '), want ${A_CERTS[*]}"
	fi
	for c in "${A_CERTS[@]}"; do
		na=$(cert_info "$A/state/certs/$c/cert.pem" | cut -d' ' -f3)
		if [[ $(json_get "$OUT" "[c['not_after'] for c in j['certs'] if c['cert'] == '$c'][0]") != "$na" ]]; then
			fail "$c: not_after is not the installed certificate's ($na)"
		fi
		if [[ ! $(json_get "$OUT" "[c['next'] for c in j['certs'] if c['cert'] == '$c'][0]") =~ ^[1-9][0-9]*$ ]]; then
			fail "$c: no next renewal"
		fi
	done
}

# ---- a batch of 20: jobs ----

B=$T/b
mapfile -t B_CERTS < <(names b 20)
B_PID=

t_jobs_batch()
{
	local n i seen_busy=0 seen_pending=0 jc=$T/jobs.json active pending len

	CONF_EXTRA=("concurrency = 4")
	new_conf "$B" "${B_CERTS[@]}" || return
	CONF_EXTRA=()
	start_daemon "$B"
	B_PID=$DPID
	# Asked right away and then every 0.1 s, until the batch is done.
	for ((i = 0; i < 1200; i++)); do
		if ! proc_running "$B_PID"; then
			fail "the daemon exited"
			return
		fi
		if timeout 10 "$ACMED" jobs --json -c "$B/acmed.conf" >"$jc" 2>/dev/null &&
			active=$(json_get "$jc" 'j["active"]') && pending=$(json_get "$jc" 'j["pending"]') &&
			len=$(json_get "$jc" 'len(j["jobs"])'); then
			if ((active + pending > 0)); then
				seen_busy=1
				if ((len != active + pending)); then
					fail "jobs --json: $len jobs listed, active $active + pending $pending"
				fi
				if ((active > 4)); then
					fail "jobs --json: $active active jobs, concurrency is 4"
				fi
				if [[ $(json_get "$jc" 'all(set(x) >= {"cert", "state", "since"} for x in j["jobs"])') != true ]]; then
					fail "jobs --json: a job without cert, state or since: $(tr -d '\n' <"$jc")"
				fi
				if ((pending > 0)); then
					seen_pending=1
				fi
				n=$(jobs_count "$B/acmed.conf")
				if [[ $n == error || $n == 0 ]] &&
					(($(installed_count "$B/state" "${B_CERTS[@]}") < 20)); then
					fail "acmed jobs printed '$n' while orders run"
				fi
			fi
		fi
		if (($(installed_count "$B/state" "${B_CERTS[@]}") == 20)); then
			break
		fi
		sleep 0.1
	done
	if ((!seen_busy)); then
		fail "acmed jobs never answered a non-zero count during a batch of 20"
	fi
	if ((!seen_pending)); then
		fail "no job was ever pending behind concurrency = 4 with 20 certificates"
	fi
	if (($(installed_count "$B/state" "${B_CERTS[@]}") != 20)); then
		fail "only $(installed_count "$B/state" "${B_CERTS[@]}") of 20 certificates issued in 120 s"
		return
	fi
	# Idle until the renewals, about 20 s after issuance.
	if ! wait_until 10 jobs_match "$B/acmed.conf" '^0$'; then
		fail "acmed jobs does not print 0 once the batch is done"
	fi
	run jobs -c "$B/acmed.conf"
	expect_status 0
	expect_stdout 0
	run jobs --json -c "$B/acmed.conf"
	expect_status 0
	if ! "$PY" -m json.tool "$OUT" >/dev/null 2>&1; then
		fail "jobs --json: not JSON"
	elif [[ $(json_get "$OUT" '(j["active"], j["pending"], j["jobs"])') != "(0, 0, [])" ]]; then
		fail "jobs --json when idle: $(tr -d '\n' <"$OUT")"
	fi
	for n in "${B_CERTS[@]}"; do
		expect_valid "$B/state/certs/$n"
	done
	expect_daemon_log_clean "$B"
}

# SIGINT while orders run: exit status 0 within 5 s all the same.
t_sigint_busy()
{
	local c rc

	if ! proc_running "${B_PID:-0}"; then
		fail "the daemon of the previous case is not running"
		return
	fi
	for c in "${B_CERTS[@]}"; do
		run renew --now "$c" -c "$B/acmed.conf"
		expect_status 0
	done
	if ! wait_until 10 jobs_match "$B/acmed.conf" '^[1-9]'; then
		fail "no job running after renew --now of 20 certificates"
	fi
	LAST_CMD="kill -INT (acmed run, busy)"
	kill -INT "$B_PID"
	if ! wait_until 5 proc_gone "$B_PID"; then
		fail "still running 5 s after SIGINT"
		kill -KILL "$B_PID"
	fi
	wait "$B_PID"
	rc=$?
	RC=$rc
	expect_status 0
	lib_stop_pid "$B_PID"
	if [[ -e $B/ctl.sock ]]; then
		fail "$B/ctl.sock is still there after SIGINT"
	fi
	expect_daemon_log_clean "$B"
}

# ---- kill -9 in the middle of a batch ----

K=$T/k
mapfile -t K_CERTS < <(names k 20)

# expect_whole_files STATE: every file under a final name parses.
expect_whole_files()
{
	local f

	# One process for the whole tree: every PEM block is complete (its
	# base64 decodes to exactly one DER SEQUENCE) and every .json parses.
	while IFS= read -r f; do
		fail "$f"
	done < <("$PY" - "$1" <<'EOF'
import base64
import binascii
import json
import os
import re
import sys

PEM = re.compile(rb"-----BEGIN ([A-Z ]+)-----\r?\n(.*?)-----END \1-----\r?\n?", re.S)


def der_whole(der):
    if len(der) < 2 or der[0] != 0x30:
        return False
    n = der[1]
    if n < 0x80:
        return 2 + n == len(der)
    k = n & 0x7F
    if k == 0 or k > 4 or len(der) < 2 + k:
        return False
    return 2 + k + int.from_bytes(der[2:2 + k], "big") == len(der)


def pem_problem(data, want):
    blocks = PEM.findall(data)
    if (len(blocks) != want or data.count(b"-----BEGIN ") != want
            or data.count(b"-----END ") != want):
        return "not %d whole PEM block(s)" % want
    if PEM.sub(b"", data).strip():
        return "text outside the PEM blocks"
    for _, body in blocks:
        try:
            der = base64.b64decode(b"".join(body.split()), validate=True)
        except binascii.Error:
            return "bad base64"
        if not der_whole(der):
            return "a truncated DER structure"
    return None


for root, dirs, files in os.walk(sys.argv[1]):
    for name in files + [d for d in dirs if os.path.islink(os.path.join(root, d))]:
        path = os.path.join(root, name)
        if name.startswith("."):
            continue  # a temporary file: not a final name
        if not os.path.exists(path):
            print("%s: a dangling link" % path)
            continue
        if os.path.isdir(path):
            continue
        with open(path, "rb") as f:
            data = f.read()
        if name.endswith(".json"):
            try:
                json.loads(data)
            except ValueError:
                print("%s: not JSON" % path)
        elif name.endswith((".pem", ".key")):
            problem = pem_problem(data, 2 if name == "fullchain.pem" else 1)
            if problem:
                print("%s: %s" % (path, problem))
EOF
	)
}

# kill_when_installed PID N SECONDS STATE NAME...: sends SIGKILL to PID the
# moment N of the certificates have a cert.pem (polled in a tight loop, so
# that the kill lands inside an install now and then). Fails when that does
# not happen within SECONDS.
kill_when_installed()
{
	"$PY" - "$@" <<'EOF'
import os
import signal
import sys
import time

pid, n, secs, state = int(sys.argv[1]), int(sys.argv[2]), float(sys.argv[3]), sys.argv[4]
paths = [os.path.join(state, "certs", c, "cert.pem") for c in sys.argv[5:]]
deadline = time.monotonic() + secs
while time.monotonic() < deadline:
    if sum(os.path.lexists(p) for p in paths) >= n:
        os.kill(pid, signal.SIGKILL)
        sys.exit(0)
    time.sleep(0.0005)
sys.exit(1)
EOF
}

# log_valid_until FILE FROM-LINE CERT: the "valid until" times of CERT's
# installs logged from line FROM-LINE on, one a line.
log_valid_until()
{
	tail -n "+$2" "$1" | sed -n -E "s/^.*$3: installed in .*, valid until (.*)\$/\\1/p"
}

t_kill9()
{
	local c n pid mark info serial nb na url st until
	local before=() orders=() pairs=()

	CONF_EXTRA=("concurrency = 4")
	new_conf "$K" "${K_CERTS[@]}" || return
	CONF_EXTRA=()
	start_daemon "$K"
	pid=$DPID
	# In the middle: some certificates installed, others on their way.
	if ! kill_when_installed "$pid" 5 120 "$K/state" "${K_CERTS[@]}"; then
		fail "5 certificates not issued within 120 s"
		lib_stop_pid "$pid"
		return
	fi
	wait "$pid" 2>/dev/null
	lib_stop_pid "$pid"
	n=$(installed_count "$K/state" "${K_CERTS[@]}")
	echo "# kill -9 with $n of 20 installed" >&2
	if ((n == 20)); then
		fail "the batch was over before kill -9; nothing to resume"
	fi
	expect_whole_files "$K/state"
	for ((n = 0; n < 20; n++)); do
		c=${K_CERTS[n]}
		before[n]=
		if [[ -e $K/state/certs/$c/cert.pem ]]; then
			before[n]=$(cert_info "$K/state/certs/$c/cert.pem")
			pairs+=("$K/state/certs/$c/cert.pem" "${before[n]%% *}")
			expect_valid "$K/state/certs/$c"
		fi
		st=$K/state/certs/$c/state.json
		orders[n]=$(json_get "$st" 'j.get("order_url")' 2>/dev/null)
	done

	# The stale socket of the killed daemon is no obstacle.
	mark=$(($(wc -l <"$K/log") + 1))
	start_daemon "$K"
	pid=$DPID
	if ! wait_until 120 installed_at_least 20 "$K/state" "${K_CERTS[@]}"; then
		fail "after the restart, only $(installed_count "$K/state" "${K_CERTS[@]}") of 20 certificates within 120 s"
	fi
	for ((n = 0; n < 20; n++)); do
		c=${K_CERTS[n]}
		expect_valid "$K/state/certs/$c"
		if [[ -n ${before[n]} ]]; then
			# Finished before the kill: not ordered again, unless
			# it came due meanwhile (2 s for rounding).
			read -r serial nb na <<<"${before[n]}"
			info=$(cert_info "$K/state/certs/$c/cert.pem")
			if [[ ${info%% *} != "$serial" ]] &&
				(($(cut -d' ' -f2 <<<"$info") < nb + (na - nb) / 2 - 2)); then
				fail "$c: installed before kill -9, ordered again after the restart"
			fi
		fi
		# In progress at the kill: that order is taken up again (or
		# given up, if it went invalid meanwhile). A certificate
		# installed just before the kill may still list its order.
		url=${orders[n]}
		if [[ -z ${before[n]} && -n $url ]] && ! grep -qF "$c: resuming order $url" "$K/log" &&
			! grep -qF "$c: order $url cannot be resumed" "$K/log"; then
			fail "$c: the order $url in progress at kill -9 was neither resumed nor given up; the log says: $(grep -F "$c:" "$K/log" | tr '\n' ';')"
		fi
	done

	# The certificates installed before the kill come due about 20 s after
	# their issue: each renewal brings a new certificate, never the
	# installed one again (from an order left over by the kill).
	if ! wait_until 60 serials_changed "${pairs[@]}"; then
		fail "not every certificate installed before the kill was renewed within 60 s"
	fi
	for ((n = 0; n < 20; n++)); do
		c=${K_CERTS[n]}
		if [[ -z ${before[n]} ]]; then
			continue
		fi
		read -r serial nb na <<<"${before[n]}"
		until=$(date -u -d "@$na" '+%Y-%m-%d %H:%M:%S UTC')
		if log_valid_until "$K/log" "$mark" "$c" | grep -qxF "$until"; then
			fail "$c: after the restart, the certificate installed before the kill (valid until $until) was installed again: $(tail -n "+$mark" "$K/log" | grep -F "$c:" | tr '\n' ';')"
		fi
	done
	# Stopped first: renewals replace files while it runs.
	lib_stop_pid "$pid"
	expect_whole_files "$K/state"
	expect_daemon_log_clean "$K"
}

# ---- renew-before longer than the lifetime ----

S=$T/s

# A certificate that is always due (renew-before longer than its lifetime)
# must not be ordered back to back: that storms the CA. Whatever the remedy
# (a floor under the renewal time, a warning and the default), two
# certificates in 15 s is the most a 40-second lifetime calls for.
t_renew_before_storm()
{
	local pid n

	CONF_EXTRA=("renew-before = 1h")
	new_conf "$S" s01 || return
	CONF_EXTRA=()
	start_daemon "$S"
	pid=$DPID
	if ! wait_until 30 test -s "$S/state/certs/s01/cert.pem"; then
		fail "s01 not issued within 30 s"
		lib_stop_pid "$pid"
		return
	fi
	sleep 15
	lib_stop_pid "$pid"
	n=$(grep -c 's01: installed in' "$S/log")
	if ((n > 2)); then
		fail "s01 (40-second certificates, renew-before = 1h): $n certificates installed in about 15 s, back to back"
	fi
	expect_valid "$S/state/certs/s01"
	expect_daemon_log_clean "$S"
}

# ---- the CA goes away and comes back ----

D=$T/d
D_CERTS=(d01 d02 d03)

# attempts_at_least DIR N NAME...: whether each NAME's state.json says N or
# more failed attempts.
attempts_at_least()
{
	local dir=$1 n=$2 c a
	shift 2

	for c; do
		a=$(json_get "$dir/state/certs/$c/state.json" 'j["attempts"]' 2>/dev/null) || return 1
		if [[ ! $a =~ ^[0-9]+$ ]] || ((a < n)); then
			return 1
		fi
	done
}

# backoff_of DIR NAME: "ATTEMPTS NEXT_TRY-LAST_ATTEMPT NEXT_TRY".
backoff_of()
{
	json_get "$1/state/certs/$2/state.json" \
		'"%d %d %d" % (j["attempts"], j["next_try"] - j["last_attempt"], j["next_try"])'
}

t_backoff()
{
	local c pid a d nt max1=0 max2=0 latest=0 serial=() n resumed nb
	local -A next_try=()

	new_conf "$D" "${D_CERTS[@]}" || return
	start_daemon "$D"
	pid=$DPID
	if ! wait_until 60 installed_at_least 3 "$D/state" "${D_CERTS[@]}"; then
		fail "3 certificates not issued within 60 s"
		lib_stop_pid "$pid"
		return
	fi
	for ((n = 0; n < 3; n++)); do
		serial[n]=$(cert_serial "$D/state/certs/${D_CERTS[n]}/cert.pem")
	done

	# The CA goes down; renew-before longer than the lifetime makes every
	# certificate due at once.
	pebble_halt
	echo "renew-before = 1h" >"$D/extra"
	cat "$D/extra" "$D/acmed.conf" >"$D/due.conf"
	cp "$D/acmed.conf" "$D/normal.conf"
	cp "$D/due.conf" "$D/acmed.conf"
	kill -HUP "$pid"

	# First failure: the backoff is 60 s.
	if ! wait_until 40 attempts_at_least "$D" 1 "${D_CERTS[@]}"; then
		fail "no failed attempt recorded within 40 s of the CA going down"
	fi
	for c in "${D_CERTS[@]}"; do
		read -r a d nt <<<"$(backoff_of "$D" "$c")"
		echo "# $c: attempts $a, next try in $d s" >&2
		if ((a != 1 || d < 59 || d > 61)); then
			fail "$c: after one failure: attempts $a, next_try - last_attempt $d s, want 1 and 60 s"
		fi
		((d > max1)) && max1=$d
		if ! grep -qE "$c: attempt 1 failed; next try in [0-9]+ s" "$D/log"; then
			fail "$c: the log does not say 'attempt 1 failed; next try in'"
		fi
	done
	run status --json -c "$D/acmed.conf"
	if [[ $(json_get "$OUT" 'all(c["attempts"] >= 1 and c["last_error"] for c in j["certs"])') != true ]]; then
		fail "status --json does not show the failures: $(tr -d '\n' <"$OUT")"
	fi

	# Second failure, a minute later: up to 120 s.
	if ! wait_until 90 attempts_at_least "$D" 2 "${D_CERTS[@]}"; then
		fail "no second failed attempt within 90 s"
	fi
	for c in "${D_CERTS[@]}"; do
		read -r a d nt <<<"$(backoff_of "$D" "$c")"
		echo "# $c: attempts $a, next try in $d s" >&2
		if ((a != 2 || d < 59 || d > 121)); then
			fail "$c: after two failures: attempts $a, next_try - last_attempt $d s, want 2 and 60..120 s"
		fi
		((d > max2)) && max2=$d
		((nt > latest)) && latest=$nt
		next_try[$c]=$nt
		if ! grep -qE "$c: attempt 2 failed; next try in [0-9]+ s" "$D/log"; then
			fail "$c: the log does not say 'attempt 2 failed; next try in'"
		fi
	done
	# Full jitter: each delay is random up to the bound, which doubled;
	# three certificates all drawing the minimum again is a 1 in 50000
	# chance.
	if ((max2 <= max1 + 1)); then
		fail "the backoff did not grow: longest delay $max1 s after one failure, $max2 s after two"
	fi

	# Back to the usual schedule (the certificates have expired: due at
	# once but for the backoff). A reload keeps the backoff.
	cp "$D/normal.conf" "$D/acmed.conf"
	kill -HUP "$pid"
	sleep 1
	for c in "${D_CERTS[@]}"; do
		if [[ $(status_next "$D/acmed.conf" "$c") != "${next_try[$c]}" ]]; then
			fail "$c: after SIGHUP the next try is $(status_next "$D/acmed.conf" "$c"), the backoff said ${next_try[$c]}"
		fi
	done

	# The CA comes back (the same ports; it has forgotten the account and
	# issues from a new root). The daemon resumes on its own, at the
	# persisted next try, not before.
	if ! pebble_restart; then
		fail "cannot restart Pebble on the same ports"
		lib_stop_pid "$pid"
		return
	fi
	pebble_root_ca "$ROOT" || fail "cannot fetch the new root"
	resumed=1
	if ! wait_until $((latest - $(date +%s) + 60)) serials_changed \
		"$D/state/certs/${D_CERTS[0]}/cert.pem" "${serial[0]}" \
		"$D/state/certs/${D_CERTS[1]}/cert.pem" "${serial[1]}" \
		"$D/state/certs/${D_CERTS[2]}/cert.pem" "${serial[2]}"; then
		fail "work did not resume within 60 s of the last next try after the CA came back"
		resumed=0
	fi
	lib_stop_pid "$pid"
	if ((resumed)); then
		for c in "${D_CERTS[@]}"; do
			expect_valid "$D/state/certs/$c"
			read -r a d nt <<<"$(backoff_of "$D" "$c")"
			if ((a != 0)); then
				fail "$c: attempts $a after a success, want 0"
			fi
			# Issued (Pebble's notBefore is the time of issue) when
			# the backoff was over, not before.
			nb=$(cert_info "$D/state/certs/$c/cert.pem" | cut -d' ' -f2)
			if ((nb < next_try[$c] - 2)); then
				fail "$c: renewed at $nb, before the next try at ${next_try[$c]}"
			fi
		done
	fi
	if grep -qE 'attempt 3 failed' "$D/log"; then
		fail "a third attempt failed: $(grep -E 'attempt 3 failed' "$D/log" | head -n 3 | tr '\n' ';')"
	fi
	expect_daemon_log_clean "$D"
}

# ---- the CA down when the daemon starts ----

E=$T/e

# The daemon serves its control socket and tells the service manager it is
# ready even while its CA does not answer (systemd kills a Type=notify
# service that has not sent READY=1 after TimeoutStartSec, 90 s by default),
# and issues once the CA is back.
t_ca_down_at_start()
{
	local pid

	new_conf "$E" e01 || return
	pebble_halt
	start_daemon "$E"
	pid=$DPID
	if ! wait_until 10 test -S "$E/ctl.sock"; then
		fail "no control socket within 10 s while the CA is down"
	fi
	if ! wait_ready "$E" 1 10; then
		fail "no READY=1 within 10 s while the CA is down (notifications: $(tr '\n' ';' <"$E/notify"))"
	fi
	run jobs -c "$E/acmed.conf"
	expect_status 0
	expect_stdout 0
	if ! proc_running "$pid"; then
		fail "the daemon exited while the CA was down"
		return
	fi
	if ! pebble_restart; then
		fail "cannot restart Pebble on the same ports"
		lib_stop_pid "$pid"
		return
	fi
	pebble_root_ca "$ROOT" || fail "cannot fetch the new root"
	if ! wait_until 60 test -s "$E/state/certs/e01/cert.pem"; then
		fail "e01 not issued within 60 s of the CA coming back"
	else
		expect_valid "$E/state/certs/e01"
	fi
	lib_stop_pid "$pid"
	expect_daemon_log_clean "$E"
}

if ! pebble_start "\"certificateValidityPeriod\": $VALIDITY"; then
	fail_case "start Pebble"
	lib_finish
fi
if ! pebble_root_ca "$ROOT"; then
	fail_case "fetch Pebble's root"
	lib_finish
fi

# Each case's duration on stderr. DAEMON_CASES (functions, space separated)
# runs only those, for debugging; later cases may need earlier ones.
timed_case()
{
	local start=$SECONDS

	if [[ -n ${DAEMON_CASES:-} && " $DAEMON_CASES " != *" $2 "* ]]; then
		skip_case "$1" "not in DAEMON_CASES"
		return
	fi
	case_ "$@"
	echo "# $2: $((SECONDS - start)) s" >&2
}

timed_case "no daemon: jobs prints 0 and exits 0, renew --now exits 3, status reads the files" t_no_daemon
timed_case "the daemon issues 3 certificates and renews each twice before it expires, unasked" t_issue_and_renew
timed_case "status --json from the daemon lists every certificate with not_after and next" t_status_live
timed_case "renew --now CERT asks the daemon, which renews at once" t_renew_now
timed_case "SIGHUP adds a certificate, refuses a broken configuration, drops a removed one" t_sighup
timed_case "SIGTERM: exit 0 within 5 s, control socket removed, STOPPING=1" t_sigterm
timed_case "status --json without the daemon, from the state files" t_status_offline
timed_case "jobs: non-zero while a batch of 20 runs, 0 when idle; --json lists the jobs" t_jobs_batch
timed_case "SIGINT while orders run: exit 0 within 5 s" t_sigint_busy
timed_case "kill -9 in the middle of a batch of 20, restart: all valid, none partial, none ordered twice" t_kill9
timed_case "renew-before longer than the lifetime: no back-to-back renewals" t_renew_before_storm
timed_case "the CA down: the backoff grows and is logged; work resumes when the CA returns" t_backoff
timed_case "the CA down when the daemon starts: READY=1 all the same, issued once the CA is back" t_ca_down_at_start
lib_finish
