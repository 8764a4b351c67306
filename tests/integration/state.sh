#!/usr/bin/env bash
# The state folder has one owner and the renewal policy is one, tried the
# way operators run acmed: several processes on one state folder at once (a
# daemon, the timer's renew, a person typing cert --force), a deploy hook
# that fails, a challenge that keeps failing, a host clock 40 minutes ahead,
# names dropped by a short command line, a broken installed set, a change of
# CA, a read-only state folder. Every case counts what reached the CA:
# orders Pebble created ("Added order" in its log; a newOrder
# retried after a badNonce is one order).
#
# http-01 goes through a webroot served by one web server (Python's), so
# that several acmed processes can answer at once.
#
# Environment: ACMED, TESTS_DIR, ACMED_SANITIZED=1 (fewer rounds and
# shorter waits under the sanitizers). Exits 0, 1 when a case failed, 77
# when Pebble is not installed, 99 when the harness is broken.
set -uo pipefail

# shellcheck source=lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh" || exit 99
lib_init state
# shellcheck source=../pebble.sh
. "$TESTS_DIR/pebble.sh" || exit 99

pebble_require_or_skip
lib_python || exit 99
export PEBBLE_AUTHZREUSE=0

if [[ ${ACMED_SANITIZED:-0} == 1 ]]; then
	ROUNDS=5
	DEPLOY_RUN=75
else
	ROUNDS=15
	DEPLOY_RUN=120
fi
W=$T/webroot
ROOT=$T/root.pem
WEB_PID=
FAKETIME_LIB=$(dpkg -L libfaketime 2>/dev/null | grep '/libfaketime\.so\.1$' | head -n 1)

# ---- helpers ----

orders()
{
	grep -c '^Pebble .* Added order ' "$PEBBLE_WORKDIR/pebble.log"
}


# opts DIR: the options every one-shot command of a case gets.
opts()
{
	OPTS=(--ca "$PEBBLE_DIR_URL" --ca-file "$PEBBLE_CA_FILE" --state-dir "$1")
}

# conf DIR NAME DOMAINS [LINE...]: DIR/acmed.conf with one certificate.
conf()
{
	local dir=$1 name=$2 domains=$3
	shift 3

	mkdir -p "$dir"
	{
		echo "ca = $PEBBLE_DIR_URL"
		echo "ca-file = $PEBBLE_CA_FILE"
		echo "agree-tos = yes"
		echo "state-dir = $dir/state"
		echo "control-socket = $dir/ctl.sock"
		if [[ "$*" != *"webroot = "* ]]; then
			echo "webroot = $W"
		fi
		printf '%s\n' "$@"
		echo "[cert $name]"
		echo "domains = $domains"
	} >"$dir/acmed.conf"
}

# set_problem DIR: what is wrong with the installed set of certs/NAME in DIR
# (nothing when it is whole): the four files, the key the certificate's,
# fullchain the certificate and the chain, the chain verifying to Pebble's
# root, previous (if any) not current.
set_problem()
{
	local d=$1 f out cur prev

	for f in privkey.pem cert.pem chain.pem fullchain.pem; do
		if [[ ! -s $d/$f ]]; then
			echo "$d/$f: missing or empty"
			return
		fi
	done
	if [[ $(pub_of_key "$d/privkey.pem") != "$(pub_of_cert "$d/cert.pem")" ]]; then
		echo "$d: privkey.pem is not the key of cert.pem"
	elif ! cat "$d/cert.pem" "$d/chain.pem" | cmp -s - "$d/fullchain.pem"; then
		echo "$d: fullchain.pem is not cert.pem then chain.pem"
	elif ! out=$(openssl verify -CAfile "$ROOT" -untrusted "$d/chain.pem" "$d/cert.pem" 2>&1); then
		echo "$d: openssl verify: $out"
	fi
	cur=$(readlink "$d/current")
	prev=$(readlink "$d/previous" 2>/dev/null)
	if [[ -n $prev && $prev == "$cur" ]]; then
		echo "$d: previous is current ($cur)"
	fi
	if [[ -n $prev && ! -s $d/$prev/cert.pem ]]; then
		echo "$d: previous ($prev) has no cert.pem"
	fi
}

# start_daemon DIR: acmed run -c DIR/acmed.conf in the background, its
# output in DIR/log; sets DPID. Returns 1 (failed) when its control socket
# DIR/ctl.sock does not come.
start_daemon()
{
	"$ACMED" run -c "$1/acmed.conf" >"$1/log" 2>&1 &
	DPID=$!
	lib_track_pid "$DPID"
	if ! wait_until 10 test -S "$1/ctl.sock"; then
		fail "the daemon did not start: $(tail -n 5 "$1/log")"
		return 1
	fi
}

serial()
{
	openssl x509 -in "$1" -noout -serial 2>/dev/null | sed -n 's/^serial=//p'
}

json_of()
{
	"$PY" -c 'import json, sys
d = json.load(open(sys.argv[1]))
for k in sys.argv[2:]:
    d = d.get(k) if isinstance(d, dict) else None
print("" if d is None else d)' "$@" 2>/dev/null
}

# ---- cases ----

# N concurrent "cert --force" on one certificate: one order a round (the
# others wait for the lock and find a new certificate installed), and the
# set whole after every round.
concurrent_force()
{
	local n=$1 dir=$T/force$1 before after round i problems=() pids rc bad=0
	local -a OPTS

	opts "$dir/state"
	run cert "${OPTS[@]}" --webroot "$W" --agree-tos same.example
	expect_status 0
	before=$(orders)
	for ((round = 1; round <= ROUNDS; round++)); do
		pids=()
		for ((i = 1; i <= n; i++)); do
			"$ACMED" cert "${OPTS[@]}" --webroot "$W" --force same.example \
				>"$T/out.$i" 2>"$T/err.$i" &
			pids+=($!)
		done
		for i in "${!pids[@]}"; do
			wait "${pids[$i]}"
			rc=$?
			if ((rc != 0)); then
				bad=1
				fail "round $round: process $((i + 1)) exited $rc: $(tr '\n' ' ' <"$T/err.$((i + 1))")"
			fi
			expect_no_sanitizer_report "$T/err.$((i + 1))"
		done
		p=$(set_problem "$dir/state/certs/same.example")
		if [[ -n $p ]]; then
			problems+=("round $round: $p")
		fi
		if ((bad)); then
			break
		fi
	done
	after=$(orders)
	if ((${#problems[@]})); then
		fail "${problems[@]}"
	fi
	echo "# $n concurrent cert --force, $ROUNDS rounds: $((after - before)) orders at Pebble" >&2
	if ((after - before != ROUNDS)); then
		fail "$((after - before)) orders in $ROUNDS rounds of $n concurrent cert --force, want $ROUNDS"
	fi
	if ! grep -q 'installed a new certificate meanwhile' "$T"/err.*; then
		fail "no process said another had just installed one"
	fi
}

t_two_force()
{
	concurrent_force 2
}

t_three_force()
{
	concurrent_force 3
}

# current_is_not DIR TARGET: DIR/current no longer points at TARGET.
current_is_not()
{
	[[ $(readlink "$1/current") != "$2" ]]
}

# A second cert --force that comes while the first is in its deploy hook
# (the new set already installed, the lock still held): the first's
# certificate answers it, nothing is ordered twice.
t_force_during_deploy()
{
	local dir=$T/dh d pid v0 before
	local -a OPTS

	opts "$dir/state"
	d=$dir/state/certs/dh.example
	printf '#!/bin/sh\nsleep 3\n' >"$T/slow-hook"
	chmod +x "$T/slow-hook"
	run cert "${OPTS[@]}" --webroot "$W" --agree-tos dh.example
	expect_status 0
	v0=$(readlink "$d/current")
	before=$(orders)
	"$ACMED" cert "${OPTS[@]}" --webroot "$W" --force --deploy-hook "$T/slow-hook" \
		dh.example >"$T/out.dh" 2>"$T/err.dh" &
	pid=$!
	if ! wait_until 20 current_is_not "$d" "$v0"; then
		fail "the first cert --force installed nothing"
	fi
	run cert "${OPTS[@]}" --webroot "$W" --force dh.example
	expect_status 0
	expect_stderr_contains "installed a new certificate meanwhile"
	wait "$pid" || fail "the first cert --force failed: $(tr '\n' ' ' <"$T/err.dh")"
	expect_no_sanitizer_report "$T/err.dh"
	if (($(orders) - before != 1)); then
		fail "$(($(orders) - before)) orders for two cert --force asked together, want 1"
	fi
}

# renew --force runs its certificates one after the other (concurrency 1;
# the first's deploy hook slow); a cert --force typed meanwhile renews the
# second: the renew, asked before, takes that install and orders no more.
t_force_asked_together()
{
	local dir=$T/asked pid before

	conf "$dir" one one.example "concurrency = 1" "deploy-hook = $T/slow-hook"
	printf '[cert two]\ndomains = two.example\n' >>"$dir/acmed.conf"
	printf '#!/bin/sh\n[ "$ACMED_CERT_NAME" = one ] && sleep 3\nexit 0\n' >"$T/slow-hook"
	chmod +x "$T/slow-hook"
	run renew -c "$dir/acmed.conf"
	expect_status 0
	before=$(orders)
	"$ACMED" renew -c "$dir/acmed.conf" --force >"$T/out.asked" 2>"$T/err.asked" &
	pid=$!
	sleep 1
	run cert -c "$dir/acmed.conf" --force two
	expect_status 0
	wait "$pid" || fail "renew --force failed: $(tr '\n' ' ' <"$T/err.asked")"
	expect_no_sanitizer_report "$T/err.asked"
	grep -q 'two: another acmed installed a new certificate meanwhile' "$T/err.asked" ||
		fail "renew --force did not take the install made meanwhile: $(tr '\n' ' ' <"$T/err.asked")"
	if (($(orders) - before != 2)); then
		fail "$(($(orders) - before)) orders for one and two, want 2"
	fi
}

# A daemon and the commands an operator types, on one state folder.
t_daemon_and_commands()
{
	local dir=$T/mixed pid round before after p problems=() hooks
	local -a OPTS

	conf "$dir" mixed mixed.example "deploy-hook = $T/count-hook $dir/hooks"
	run cert -c "$dir/acmed.conf" mixed
	expect_status 0
	start_daemon "$dir" || return
	pid=$DPID
	before=$(orders)
	: >"$dir/hooks"
	for ((round = 1; round <= ROUNDS; round++)); do
		local -a pids=()

		"$ACMED" renew -c "$dir/acmed.conf" --now mixed >/dev/null 2>&1 &
		pids+=($!)
		"$ACMED" cert -c "$dir/acmed.conf" --force mixed >"$T/out.1" 2>"$T/err.1" &
		pids+=($!)
		"$ACMED" renew -c "$dir/acmed.conf" --force >"$T/out.2" 2>"$T/err.2" &
		pids+=($!)
		for p in "${pids[@]}"; do
			wait "$p"
		done
		expect_no_sanitizer_report "$T/err.1"
		expect_no_sanitizer_report "$T/err.2"
		# The daemon's renew --now may still run: wait for it.
		wait_until 30 bash -c "[[ \$('$ACMED' jobs -c '$dir/acmed.conf') == 0 ]]"
		p=$(set_problem "$dir/state/certs/mixed")
		if [[ -n $p ]]; then
			problems+=("round $round: $p")
		fi
	done
	after=$(orders)
	lib_stop_pid "$pid"
	expect_no_sanitizer_report "$dir/log"
	if ((${#problems[@]})); then
		fail "${problems[@]}"
	fi
	hooks=$(wc -l <"$dir/hooks")
	echo "# daemon + cert --force + renew --force + renew --now, $ROUNDS rounds: $((after - before)) orders, $hooks deploy hooks" >&2
	# Each round: the three asked at once; those that waited find a new
	# certificate and order nothing. So 1 to 3 orders a round, never more,
	# and one deploy hook per order.
	if ((after - before < ROUNDS || after - before > 3 * ROUNDS)); then
		fail "$((after - before)) orders in $ROUNDS rounds, want $ROUNDS to $((3 * ROUNDS))"
	fi
	if ((hooks != after - before)); then
		fail "$hooks deploy hook runs for $((after - before)) orders"
	fi
	if grep -q 'overlap' "$dir/hooks"; then
		fail "two deploy hooks ran at once: $(grep overlap "$dir/hooks" | head -n 3 | tr '\n' ' ')"
	fi
}

# The timer's renew beside a daemon that holds the built-in responder's
# port (tls-alpn-01 here: the web server has http-01's): the certificates
# are handed to the daemon, which orders each once; the run exits 0 and
# records no failure.
t_renew_beside_responder()
{
	local dir=$T/port pid before after n p s_b s_c

	mkdir -p "$dir"
	cat >"$dir/acmed.conf" <<EOF
ca = $PEBBLE_DIR_URL
ca-file = $PEBBLE_CA_FILE
agree-tos = yes
state-dir = $dir/state
control-socket = $dir/ctl.sock
challenge = tls-alpn-01
tls-listen = 127.0.0.1:$PEBBLE_TLS_PORT
[cert pa]
domains = pa.example
[cert pb]
domains = pb.example
[cert pc]
domains = pc.example
EOF
	run renew -c "$dir/acmed.conf"
	expect_status 0
	s_b=$(serial "$dir/state/certs/pb/cert.pem")
	s_c=$(serial "$dir/state/certs/pc/cert.pem")
	start_daemon "$dir" || return
	pid=$DPID
	before=$(orders)
	run renew -c "$dir/acmed.conf" --now pa
	expect_status 0
	# Its responder holds the port from before the order until 5 s after.
	if ! wait_until 10 grep -q 'pa: ordering' "$dir/log"; then
		fail "the daemon did not order pa: $(tail -n 5 "$dir/log")"
		return
	fi
	run renew -c "$dir/acmed.conf" --force pb pc
	expect_status 0
	expect_stdout_contains "handed to the daemon 2"
	expect_stderr_contains "pb: the daemon at $dir/ctl.sock listens on 127.0.0.1:$PEBBLE_TLS_PORT, the responder's address: handed to it"
	expect_stderr_not_matches "error"
	wait_until 30 bash -c "[[ \$(openssl x509 -noout -serial -in '$dir/state/certs/pb/cert.pem') != 'serial=$s_b' && \$(openssl x509 -noout -serial -in '$dir/state/certs/pc/cert.pem') != 'serial=$s_c' ]]"
	wait_until 30 bash -c "[[ \$('$ACMED' jobs -c '$dir/acmed.conf') == 0 ]]"
	after=$(orders)
	for n in pb pc; do
		p=$(set_problem "$dir/state/certs/$n")
		if [[ -n $p ]]; then
			fail "$n: $p"
		fi
		if grep -q 'error' "$dir/state/certs/$n/state.json"; then
			fail "$n: a failure was recorded: $(tr '\n' ' ' <"$dir/state/certs/$n/state.json")"
		fi
	done
	if [[ $(serial "$dir/state/certs/pb/cert.pem") == "$s_b" || $(serial "$dir/state/certs/pc/cert.pem") == "$s_c" ]]; then
		fail "the daemon did not renew pb and pc: $(tail -n 8 "$dir/log" | tr '\n' ' ')"
	fi
	echo "# renew --force of 2 beside a daemon ordering a third on the port: $((after - before)) orders" >&2
	if ((after - before != 3)); then
		fail "$((after - before)) orders for pa (the daemon's) and pb, pc (handed to it), want 3"
	fi
	# Another program on the port, the daemon idle: not handed over (the
	# daemon could not answer there either), a failure the timer sees.
	"$PY" -c 'import socket, sys, time
s = socket.socket()
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
for _ in range(200):
    try:
        s.bind(("127.0.0.1", int(sys.argv[1])))
        break
    except OSError:
        time.sleep(0.1)
s.listen()
open(sys.argv[2], "w").write("held")
time.sleep(60)' "$PEBBLE_TLS_PORT" "$dir/held" &
	p=$!
	lib_track_pid "$p"
	if ! wait_until 25 test -s "$dir/held"; then
		fail "the test's listener did not get the port"
	fi
	run renew -c "$dir/acmed.conf" --force pb
	expect_status 1
	expect_stdout_contains "failed 1"
	expect_stderr_not_matches "handed"
	expect_stderr_contains "Address already in use"
	# The daemon asked meanwhile: its wish is kept and tried again later
	# (a command ordering holds the port for seconds), not dropped.
	run renew -c "$dir/acmed.conf" --now pa
	expect_status 0
	if ! wait_until 10 grep -q "pa: asked to renew, but its responder's port is held by another process (an acmed command ordering, or another program); trying again in" "$dir/log"; then
		fail "the daemon dropped renew --now pa: $(tail -n 4 "$dir/log" | tr '\n' ' ')"
	fi
	lib_stop_pid "$p"
	lib_stop_pid "$pid"
	expect_no_sanitizer_report "$dir/log"
}

# Two daemons on one state folder, both asked to renew at once.
t_two_daemons()
{
	local a=$T/d1 b=$T/d2 pa pb round before after p problems=()

	conf "$a" twin twin.example
	conf "$b" twin twin.example
	sed -i "s|^state-dir = .*|state-dir = $a/state|" "$b/acmed.conf"
	"$ACMED" run -c "$a/acmed.conf" >"$a/log" 2>&1 &
	pa=$!
	lib_track_pid "$pa"
	"$ACMED" run -c "$b/acmed.conf" >"$b/log" 2>&1 &
	pb=$!
	lib_track_pid "$pb"
	if ! wait_until 20 test -s "$a/state/certs/twin/cert.pem"; then
		fail "no certificate from two daemons: $(tail -n 3 "$a/log" "$b/log" | tr '\n' ' ')"
		return
	fi
	sleep 1
	before=$(orders)
	for ((round = 1; round <= ROUNDS; round++)); do
		"$ACMED" renew -c "$a/acmed.conf" --now twin >/dev/null 2>&1 &
		"$ACMED" renew -c "$b/acmed.conf" --now twin >/dev/null 2>&1
		wait "$!"
		wait_until 30 bash -c "[[ \$('$ACMED' jobs -c '$a/acmed.conf') == 0 && \$('$ACMED' jobs -c '$b/acmed.conf') == 0 ]]"
		p=$(set_problem "$a/state/certs/twin")
		if [[ -n $p ]]; then
			problems+=("round $round: $p")
		fi
	done
	after=$(orders)
	lib_stop_pid "$pa"
	lib_stop_pid "$pb"
	expect_no_sanitizer_report "$a/log"
	expect_no_sanitizer_report "$b/log"
	if ((${#problems[@]})); then
		fail "${problems[@]}"
	fi
	echo "# two daemons, renew --now to both, $ROUNDS rounds: $((after - before)) orders" >&2
	if ((after - before != ROUNDS)); then
		fail "$((after - before)) orders in $ROUNDS rounds asked of two daemons at once, want $ROUNDS"
	fi
}

# The timer's renew with a challenge that fails: one order, then none until
# the recorded time; the state says when.
t_backoff_oneshot()
{
	local dir=$T/backoff before after i next attempts

	conf "$dir" bo bo.example "webroot = $T/not-served"
	mkdir -p "$T/not-served"
	before=$(orders)
	run renew -c "$dir/acmed.conf"
	expect_status 1
	for ((i = 2; i <= 6; i++)); do
		run renew -c "$dir/acmed.conf"
		expect_status 1
		expect_stdout "issued 0, renewed 0, unchanged 0, failed 0, deferred 1"
		expect_stderr_contains "--force orders now"
	done
	after=$(orders)
	attempts=$(json_of "$dir/state/certs/bo/state.json" attempts)
	next=$(json_of "$dir/state/certs/bo/state.json" next_try)
	echo "# 6 renew runs with a failing challenge: $((after - before)) orders" >&2
	if ((after - before != 1)); then
		fail "$((after - before)) orders in 6 runs, want 1"
	fi
	if [[ $attempts != 1 ]] || ((next <= $(date +%s))); then
		fail "state.json: attempts '$attempts', next_try '$next': want 1 and a time to come"
	fi
	run status -c "$dir/acmed.conf"
	expect_status 0
	expect_stdout_contains "bo.example"
	expect_stdout_contains "held after 1 failure"
	# --force orders over the backoff, and says so.
	run renew -c "$dir/acmed.conf" --force
	expect_status 1
	expect_stderr_contains "over the backoff"
	if (($(orders) != after + 1)); then
		fail "renew --force did not order"
	fi
}

# A deploy hook that fails: the certificate stays, the hook runs again later,
# nothing is ordered again for it.
t_deploy_fails()
{
	local dir=$T/deploy pid before after runs serial

	cat >"$T/fail-hook" <<EOF
#!/bin/sh
echo run >>"$dir/deploy-runs"
echo "reload failed" >&2
exit 1
EOF
	chmod +x "$T/fail-hook"
	conf "$dir" dep dep.example "deploy-hook = $T/fail-hook"
	before=$(orders)
	"$ACMED" run -c "$dir/acmed.conf" >"$dir/log" 2>&1 &
	pid=$!
	lib_track_pid "$pid"
	sleep "$DEPLOY_RUN"
	run status -c "$dir/acmed.conf" --json
	lib_stop_pid "$pid"
	expect_no_sanitizer_report "$dir/log"
	after=$(orders)
	runs=$(wc -l <"$dir/deploy-runs" 2>/dev/null || echo 0)
	echo "# deploy-hook failing, ${DEPLOY_RUN} s of acmed run: $((after - before)) orders, $runs hook runs" >&2
	if ((after - before != 1)); then
		fail "$((after - before)) orders in ${DEPLOY_RUN} s, want 1"
	fi
	if ((runs < 2)); then
		fail "the deploy hook ran $runs times in ${DEPLOY_RUN} s, want it retried"
	fi
	if [[ -n $(set_problem "$dir/state/certs/dep") ]]; then
		fail "the installed set: $(set_problem "$dir/state/certs/dep")"
	fi
	if [[ $(json_of "$dir/state/certs/dep/state.json" deploy_pending) != True ]]; then
		fail "state.json does not record the pending deploy"
	fi
	if ! grep -q 'reload failed' "$OUT"; then
		fail "status does not show the deploy hook's failure"
	fi
	# One-shot: renew runs the hook again, orders nothing.
	serial=$(serial "$dir/state/certs/dep/cert.pem")
	sed -i "s|^deploy-hook = .*|deploy-hook = /bin/true|" "$dir/acmed.conf"
	"$PY" - "$dir/state/certs/dep/state.json" <<'EOF'
import json, sys
p = sys.argv[1]
d = json.load(open(p))
d["deploy_next_try"] = 0
json.dump(d, open(p, "w"))
EOF
	run renew -c "$dir/acmed.conf"
	expect_status 0
	expect_stdout "issued 0, renewed 0, unchanged 0, failed 0, deployed 1"
	if [[ $(serial "$dir/state/certs/dep/cert.pem") != "$serial" ]] || (($(orders) != after)); then
		fail "renew ordered a new certificate to deploy"
	fi
	if [[ $(json_of "$dir/state/certs/dep/state.json" deploy_pending) != False ]]; then
		fail "the pending deploy was not cleared"
	fi
	# acmed deploy runs it by hand, whatever the schedule.
	run deploy -c "$dir/acmed.conf" dep
	expect_status 0
	run deploy -c "$dir/acmed.conf" --deploy-hook /bin/false dep
	expect_status 1
	expect_stderr_contains "acmed deploy dep"
}

# A host clock 40 minutes ahead with 1-hour certificates: a handful of
# orders in a minute, not hundreds.
t_clock_ahead()
{
	local dir=$T/skew pid before after

	if [[ -z $FAKETIME_LIB || ! -f $FAKETIME_LIB ]]; then
		fail "libfaketime.so.1: missing (Debian package faketime)"
		return
	fi
	conf "$dir" skew skew.example "renew-before = auto"
	before=$(orders)
	# libfaketime preloaded into acmed itself, so that its PID is acmed's.
	ASAN_OPTIONS=${ASAN_OPTIONS:+$ASAN_OPTIONS:}verify_asan_link_order=0 \
		LD_PRELOAD=$FAKETIME_LIB FAKETIME=+40m FAKETIME_DONT_RESET=1 \
		"$ACMED" run -c "$dir/acmed.conf" >"$dir/log" 2>&1 &
	pid=$!
	lib_track_pid "$pid"
	sleep 60
	lib_stop_pid "$pid"
	after=$(orders)
	echo "# host clock 40 min ahead, 1-hour certificates, 60 s of acmed run: $((after - before)) orders" >&2
	if ((after - before < 1 || after - before > 3)); then
		fail "$((after - before)) orders in 60 s with the clock 40 min ahead, want 1 to 3"
	fi
	if ! grep -q 'is the host clock ahead' "$dir/log"; then
		fail "the log does not warn of the clock: $(tail -n 5 "$dir/log" | tr '\n' ' ')"
	fi
}

# Names are never dropped silently.
t_names()
{
	local s=$T/names snap before
	local -a OPTS

	opts "$s"
	run cert "${OPTS[@]}" --webroot "$W" --agree-tos a.example b.example c.example
	expect_status 0
	tree_snapshot "$s/certs" >"$T/names.snap"
	before=$(orders)
	run cert "${OPTS[@]}" --webroot "$W" a.example
	expect_status 2
	expect_stderr_contains "b.example, c.example"
	expect_stderr_contains "--drop-names"
	run cert "${OPTS[@]}" --webroot "$W" --name typo "exa mple.com"
	expect_status 2
	expect_stderr_contains "whitespace"
	if (($(orders) != before)); then
		fail "a refused command reached the CA"
	fi
	expect_tree_unchanged "$T/names.snap" "$s/certs"
	run cert "${OPTS[@]}" --webroot "$W" a.example b.example c.example d.example
	expect_status 0
	expect_stderr_contains "adding d.example"
	run cert "${OPTS[@]}" --webroot "$W" --drop-names a.example
	expect_status 0
	if [[ $(openssl x509 -in "$s/certs/a.example/cert.pem" -noout -ext subjectAltName | tail -n 1 | tr -d ' ') != DNS:a.example ]]; then
		fail "--drop-names did not drop the names"
	fi
}

# A broken installed set is due, and status says why; so is another CA.
t_broken_and_other_ca()
{
	local dir=$T/broken f before
	local -a OPTS

	conf "$dir" br br.example
	run renew -c "$dir/acmed.conf"
	expect_status 0
	for f in privkey.pem fullchain.pem chain.pem; do
		before=$(serial "$dir/state/certs/br/cert.pem")
		rm -f "$dir/state/certs/br/current/$f"
		run status -c "$dir/acmed.conf"
		expect_stdout_contains "$f"
		run renew -c "$dir/acmed.conf"
		expect_status 0
		expect_stdout "issued 0, renewed 1, unchanged 0, failed 0"
		if [[ -n $(set_problem "$dir/state/certs/br") ]]; then
			fail "after $f was removed: $(set_problem "$dir/state/certs/br")"
		fi
	done
	# Another valid key in privkey.pem.
	openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 \
		-out "$dir/state/certs/br/current/privkey.pem" 2>/dev/null
	run renew -c "$dir/acmed.conf"
	expect_stdout "issued 0, renewed 1, unchanged 0, failed 0"
	expect_stderr_contains "privkey.pem is not the key of cert.pem"
	run renew -c "$dir/acmed.conf"
	expect_stdout "issued 0, renewed 0, unchanged 1, failed 0"
	# The same CA under another directory URL is another CA to acmed.
	sed -i "s|^ca = https://127.0.0.1:|ca = https://localhost:|" "$dir/acmed.conf"
	run renew -c "$dir/acmed.conf"
	expect_status 0
	expect_stdout "issued 0, renewed 1, unchanged 0, failed 0"
	expect_stderr_contains "configured CA is https://localhost:"
}

# A run with nothing due needs no CA; a due one with the CA down backs off.
t_ca_down()
{
	local dir=$T/down

	conf "$dir" dn dn.example
	run renew -c "$dir/acmed.conf"
	expect_status 0
	pebble_halt
	run renew -c "$dir/acmed.conf"
	expect_status 0
	expect_stdout "issued 0, renewed 0, unchanged 1, failed 0"
	rm -f "$dir/state/certs/dn/current/chain.pem"
	run renew -c "$dir/acmed.conf"
	expect_status 1
	if [[ $(json_of "$dir/state/certs/dn/state.json" attempts) != 1 ]]; then
		fail "the CA down: the failure is not recorded"
	fi
	run renew -c "$dir/acmed.conf"
	expect_status 1
	expect_stdout_contains "deferred 1"
	if ! pebble_restart || ! pebble_root_ca "$ROOT"; then
		fail "Pebble did not come back"
	fi
}

# A read-only state folder: nothing reaches the CA.
t_read_only()
{
	local s=$T/ro before
	local -a OPTS

	if ((EUID != 0)); then
		fail "needs root to mount a read-only state folder"
		return
	fi
	opts "$s"
	run cert "${OPTS[@]}" --webroot "$W" --agree-tos ro.example
	expect_status 0
	mount --bind "$s" "$s" && mount -o remount,ro,bind "$s" || {
		fail "cannot mount $s read-only"
		return
	}
	before=$(orders)
	run cert "${OPTS[@]}" --webroot "$W" --force ro.example
	umount "$s"
	if ((RC == 0)); then
		fail "cert --force on a read-only state folder exited 0"
	fi
	expect_stderr_matches "read-only"
	if (($(orders) != before)); then
		fail "$(($(orders) - before)) orders from a read-only state folder, want 0"
	fi
}

# small_tmpfs DIR SIZE: a tmpfs of SIZE mounted on DIR (made); 1, said,
# when it cannot be (not root).
small_tmpfs()
{
	if ((EUID != 0)); then
		fail "needs root to mount a small tmpfs"
		return 1
	fi
	mkdir -p "$1"
	if ! mount -t tmpfs -o "size=$2" tmpfs "$1"; then
		fail "cannot mount a tmpfs on $1"
		return 1
	fi
}

# A full state folder: nothing reaches the CA, the installed set stays.
t_full()
{
	local m=$T/full s before
	local -a OPTS

	small_tmpfs "$m" 4m || return
	s=$m/state
	opts "$s"
	run cert "${OPTS[@]}" --webroot "$W" --agree-tos full.example
	expect_status 0
	tree_snapshot "$s/certs" >"$T/full.snap"
	# Fill what is left.
	dd if=/dev/zero of="$m/filler" bs=4k 2>/dev/null
	before=$(orders)
	run cert "${OPTS[@]}" --webroot "$W" --force full.example
	if ((RC == 0)); then
		fail "cert --force on a full state folder exited 0"
	fi
	expect_stderr_matches "space"
	if (($(orders) != before)); then
		fail "$(($(orders) - before)) orders from a full state folder, want 0"
	fi
	expect_tree_unchanged "$T/full.snap" "$s/certs"
	umount "$m"
}

# A state folder that fills in the middle of a batch: a certificate whose
# order's journal cannot be written stops before its challenge (the CA
# issues nothing for it); one issued and not installable is kept for the
# next run, which resumes it. Freed, a second run installs the rest: one
# certificate issued at the CA for each, never a second.
t_full_midway()
{
	local m=$T/fullmid n=100 i avail issued_before issued p

	small_tmpfs "$m" 8m || return
	conf "$m/c" mid1.example mid1.example
	for ((i = 2; i <= n; i++)); do
		printf '[cert mid%d.example]\ndomains = mid%d.example\n' "$i" "$i"
	done >>"$m/c/acmed.conf"
	# The conf and the control socket stay beside it; the state folder
	# gets 1.4 MB: the checks before ordering pass (1 MiB), the batch
	# (about 20 KB a certificate) fills it midway.
	sed -i "s|^state-dir = .*|state-dir = $m/state|" "$m/c/acmed.conf"
	avail=$(df --output=avail -k "$m" | tail -n 1)
	dd if=/dev/zero of="$m/filler" bs=1k count=$((avail - 1400)) 2>/dev/null
	issued_before=$(grep -c 'Issued certificate serial' "$PEBBLE_WORKDIR/pebble.log")
	run_t 120 renew -c "$m/c/acmed.conf"
	if ((RC == 0)); then
		fail "renew of $n certificates into 1.4 MB exited 0 (did it not fill?)"
	fi
	expect_stderr_matches "space"
	rm -f "$m/filler"
	# A failure recorded before the disk was full holds its certificate
	# (its backoff); --force takes such a one on (a begun order resumed,
	# a new one when none was kept) without touching the others.
	run_t 120 renew -c "$m/c/acmed.conf"
	for ((i = 1; i <= n; i++)); do
		if [[ -n $(set_problem "$m/state/certs/mid$i.example") ]]; then
			run_t 60 renew -c "$m/c/acmed.conf" --force "mid$i.example"
			expect_status 0
		fi
	done
	issued=$(($(grep -c 'Issued certificate serial' "$PEBBLE_WORKDIR/pebble.log") - issued_before))
	if ((issued != n)); then
		fail "$issued certificates issued at the CA for $n, want $n (one each)"
	fi
	for ((i = 1; i <= n; i++)); do
		p=$(set_problem "$m/state/certs/mid$i.example")
		if [[ -n $p ]]; then
			fail "mid$i.example: $p"
			break
		fi
	done
	umount "$m"
}

# kill -9 of a batch's renew again and again, each time early (orders on
# their way, their journals not yet on the disk) or midway, then a renew
# that runs to its end: every certificate installed, no temp file left,
# and no order placed twice but the one newOrder a kill may catch in flight
# (its answer never read: nothing to resume).
t_killed_batch()
{
	local d=$T/killed n=100 i k before made pid left p kills=0 forced

	conf "$d" kb1.example kb1.example "concurrency = 32"
	for ((i = 2; i <= n; i++)); do
		printf '[cert kb%d.example]\ndomains = kb%d.example\n' "$i" "$i"
	done >>"$d/acmed.conf"
	before=$(orders)
	for k in 0.3 0.5 0.8 0.4 1.2; do
		"$ACMED" renew -q -c "$d/acmed.conf" >/dev/null 2>&1 &
		pid=$!
		sleep "$k"
		kill -9 "$pid" 2>/dev/null && kills=$((kills + 1))
		wait "$pid" 2>/dev/null
	done
	run_t 180 renew -c "$d/acmed.conf"
	# A challenge Pebble was validating when its run was killed may end
	# invalid (its resumed order then fails, and its backoff holds the
	# certificate): such a one takes a new order, asked for by name.
	forced=0
	for ((i = 1; i <= n; i++)); do
		if [[ -n $(set_problem "$d/state/certs/kb$i.example") ]]; then
			run_t 60 renew -c "$d/acmed.conf" --force "kb$i.example"
			expect_status 0
			forced=$((forced + 1))
		fi
	done
	if ((forced > kills)); then
		fail "$forced certificates left failed after $kills kills"
	fi
	made=$(($(orders) - before))
	if ((made < n || made > n + kills + forced)); then
		fail "$made orders at Pebble for $n certificates after $kills kills ($forced forced), want $n to $((n + kills + forced))"
	fi
	left=$(find "$d/state/certs" -mindepth 2 -maxdepth 2 -name '.*' | head -n 3)
	if [[ -n $left ]]; then
		fail "temp files left after a whole run: $left"
	fi
	for ((i = 1; i <= n; i++)); do
		p=$(set_problem "$d/state/certs/kb$i.example")
		if [[ -n $p ]]; then
			fail "kb$i.example: $p"
			break
		fi
	done
}

# ---- main ----

if ! pebble_start '"certificateValidityPeriod": 3600'; then
	fail_case "start Pebble"
	lib_finish
fi
if ! pebble_root_ca "$ROOT" || ! lib_web_start "$W"; then
	fail_case "fetch Pebble's root, serve the webroot"
	lib_finish
fi
# A deploy hook that records its runs, and any overlap between two.
cat >"$T/count-hook" <<'EOF'
#!/bin/sh
log=$1
if ! mkdir "$log.running" 2>/dev/null; then
	echo overlap >>"$log"
fi
echo run >>"$log"
sleep 0.2
rmdir "$log.running" 2>/dev/null
exit 0
EOF
chmod +x "$T/count-hook"

case_ "2 concurrent cert --force: one order a round, the set whole" t_two_force
case_ "3 concurrent cert --force: one order a round, the set whole" t_three_force
case_ "a second cert --force during the first's deploy hook: answered by it" t_force_during_deploy
case_ "renew --force, and cert --force meanwhile on its second certificate: no second order" t_force_asked_together
case_ "a daemon, cert --force and renew --force at once: the set whole, one hook per order" t_daemon_and_commands
case_ "two daemons on one state folder: one order per renew asked of both" t_two_daemons
case_ "renew beside a daemon holding the responder's port: handed to it, one order each" t_renew_beside_responder
case_ "renew with a failing challenge: one order, then deferred until the recorded time" t_backoff_oneshot
case_ "a failing deploy hook: kept, retried, never re-ordered; acmed deploy" t_deploy_fails
case_ "host clock 40 minutes ahead: a handful of orders, a warning" t_clock_ahead
case_ "names: whitespace and dropped names refused, nothing ordered; adding said" t_names
case_ "a broken installed set or another CA is due, and status says why" t_broken_and_other_ca
case_ "read-only state folder: nothing reaches the CA" t_read_only
case_ "full state folder: nothing reaches the CA, the installed set stays" t_full
case_ "a state folder that fills midway: nothing issued twice, the rest installed when freed" t_full_midway
case_ "kill -9 of a batch again and again: each order resumed, none placed twice" t_killed_batch
case_ "the CA down: nothing due exits 0, a due one backs off (exit 1 while held)" t_ca_down
lib_finish
