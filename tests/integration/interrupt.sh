#!/usr/bin/env bash
# A signal while an order presents its challenges (operator trial of #18:
# `acmed cert` stopped in its dns-01 propagation wait left the TXT records
# in DNS). The first SIGTERM or SIGINT withdraws every challenge (the
# dns-hook's del, the webroot files, the http-hook's del), keeps the order
# for the next run, and ends with 128 + the signal; a second ends at once.
# The daemon withdraws them too before it stops.
#
# Against Pebble and pebble-challtestsrv: a dns-hook that records add and
# del in a file and, with HOOK_LATE=1 in its environment, gives the names
# holding "late" a placeholder value (challtestsrv serves it, the
# propagation check waits for the real one), so acmed is in its wait when
# the signal comes; dig asks challtestsrv what it serves.
#
# Environment: ACMED, TESTS_DIR. Exits 0, 1 when a case failed, 77 when
# Pebble is not installed, 99 when the harness is broken.
set -uo pipefail

# shellcheck source=lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh" || exit 99
lib_init interrupt
# shellcheck source=../pebble.sh
. "$TESTS_DIR/pebble.sh" || exit 99

pebble_require_or_skip
if ! command -v dig >/dev/null; then
	echo "interrupt.sh: dig not found (bind9-dnsutils): skipped" >&2
	exit 77
fi
export PEBBLE_AUTHZREUSE=0
lib_python || exit 99

ca_opts()
{
	CA_OPTS=(--ca "$PEBBLE_DIR_URL" --ca-file "$PEBBLE_CA_FILE" --state-dir "$T/state"
		--agree-tos)
}

# How many orders Pebble made (a newOrder refused with badNonce and sent
# again is one).
new_orders()
{
	grep -c 'Added order' "$PEBBLE_WORKDIR/pebble.log"
}

# served NAME: the TXT values challtestsrv serves for NAME (one line each).
served()
{
	dig +short +time=2 +tries=1 -p "${PEBBLE_DNS_SERVER##*:}" @"${PEBBLE_DNS_SERVER%:*}" \
		TXT "$1" 2>/dev/null
}

# make_dns_hook PATH: the dns-hook (see the top); with HOOK_SLOW_DEL=1 a del
# first sleeps 30 s (its PID in PATH.pids, for the end).
make_dns_hook()
{
	local path=$1

	: >"$path.log"
	cat >"$path" <<EOF
#!/bin/sh
echo "\$1 \$2 \$3" >>'$path.log'
value=\$3
case \$1 in
add)
	case \$2 in
	*late*) if [ -n "\${HOOK_LATE:-}" ]; then value=placeholder; fi ;;
	esac
	exec curl -sSf --max-time 10 -X POST \\
		-d "{\"host\": \"\$2\", \"value\": \"\$value\"}" '$CHALLTESTSRV_URL/set-txt' ;;
del)
	if [ -n "\${HOOK_SLOW_DEL:-}" ]; then
		echo \$\$ >>'$path.pids'
		sleep 30
	fi
	exec curl -sSf --max-time 10 -X POST -d "{\"host\": \"\$2\"}" \\
		'$CHALLTESTSRV_URL/clear-txt' ;;
esac
exit 1
EOF
	chmod 755 "$path"
}

# start_bg ENV... -- ARGS...: acmed ARGS in the background with ENV set,
# stdout and stderr in $T/bg.out and $T/bg.err. Sets BG.
start_bg()
{
	local envs=()

	while [[ $1 != -- ]]; do
		envs+=("$1")
		shift
	done
	shift
	LAST_CMD="acmed $*"
	: >"$T/bg.err"
	env "${envs[@]}" "$ACMED" "$@" </dev/null >"$T/bg.out" 2>"$T/bg.err" &
	BG=$!
	lib_track_pid "$BG"
}

# stop_bg SIGNAL: sends it to BG and waits for its end (60 s at most); RC
# its exit status, ERR its stderr.
stop_bg()
{
	local i

	kill -s "$1" "$BG"
	for ((i = 0; i < 600; i++)); do
		if ! kill -0 "$BG" 2>/dev/null; then
			break
		fi
		sleep 0.1
	done
	if kill -0 "$BG" 2>/dev/null; then
		fail "still running 60 s after SIG$1: $LAST_CMD"
		kill -KILL "$BG"
	fi
	wait "$BG"
	RC=$?
	ERR=$T/bg.err
	expect_no_sanitizer_report "$ERR"
}

# in_wait NAME: acmed says it waits for NAME's record to propagate.
in_wait()
{
	grep -q "dns-01: _acme-challenge\.$1: waiting for 1 of 1 servers" "$T/bg.err"
}

# expect_del HOOK NAME...: the hook's del ran for each NAME (a dns-01
# record name, or an http-hook domain).
expect_del()
{
	local hook=$1 name
	shift

	for name; do
		if ! grep -q "^del $name " "$hook.log"; then
			fail "no del for $name: $(tr '\n' '|' <"$hook.log")"
		fi
	done
}

expect_not_served()
{
	local got

	got=$(served "$1")
	if [[ -n $got ]]; then
		fail "challtestsrv still serves $1: $got"
	fi
}

DNS_OPTS=()

dns_opts()
{
	local hook=$1

	ca_opts
	DNS_OPTS=(-v --dns-hook "$hook" --dns-resolver "$PEBBLE_DNS_SERVER"
		--dns-propagation-timeout 600 "${CA_OPTS[@]}")
}

HOOK=
ORDERS_BEFORE=

t_term_in_wait()
{
	HOOK=$T/dns
	make_dns_hook "$HOOK"
	dns_opts "$HOOK"
	ORDERS_BEFORE=$(new_orders)
	start_bg HOOK_LATE=1 -- cert --name sig now.sig.example late.sig.example "${DNS_OPTS[@]}"
	if ! wait_until 60 in_wait late.sig.example; then
		fail "never in the propagation wait: $(tail -n 5 "$T/bg.err")"
		stop_bg KILL
		return
	fi
	if [[ $(served _acme-challenge.late.sig.example) != '"placeholder"' ]]; then
		fail "harness: challtestsrv does not serve the placeholder"
	fi
	stop_bg TERM
	expect_status 143
	expect_stderr_contains "stopping: cleaning up the challenges (again to stop at once)"
	expect_stderr_contains "sig: stopped; the order is resumed by the next run"
	expect_del "$HOOK" _acme-challenge.now.sig.example. _acme-challenge.late.sig.example.
	expect_not_served _acme-challenge.late.sig.example.
	expect_not_served _acme-challenge.now.sig.example.
	# The order is kept for the next run, no failure recorded.
	expect_file "$T/state/certs/sig/pending.key"
	if ! grep -q '"order_url"' "$T/state/certs/sig/state.json"; then
		fail "state.json lost the order: $(cat "$T/state/certs/sig/state.json")"
	fi
	if grep -q '"attempts": *[1-9]' "$T/state/certs/sig/state.json"; then
		fail "a failure was recorded: $(cat "$T/state/certs/sig/state.json")"
	fi
	if [[ $(new_orders) != $((ORDERS_BEFORE + 1)) ]]; then
		fail "newOrders: $(new_orders), want $((ORDERS_BEFORE + 1))"
	fi
}

t_int_in_wait()
{
	: >"$HOOK.log"
	dns_opts "$HOOK"
	start_bg HOOK_LATE=1 -- cert --name sig now.sig.example late.sig.example "${DNS_OPTS[@]}"
	if ! wait_until 60 in_wait late.sig.example; then
		fail "never in the propagation wait: $(tail -n 5 "$T/bg.err")"
		stop_bg KILL
		return
	fi
	stop_bg INT
	expect_status 130
	expect_stderr_contains "resuming order"
	expect_stderr_contains "stopping: cleaning up the challenges"
	expect_del "$HOOK" _acme-challenge.late.sig.example.
	expect_not_served _acme-challenge.late.sig.example.
	expect_file "$T/state/certs/sig/pending.key"
	if [[ $(new_orders) != $((ORDERS_BEFORE + 1)) ]]; then
		fail "newOrders: $(new_orders), want $((ORDERS_BEFORE + 1)) (the order resumed)"
	fi
}

t_resume_completes()
{
	: >"$HOOK.log"
	dns_opts "$HOOK"
	run_t 120 cert --name sig now.sig.example late.sig.example "${DNS_OPTS[@]}"
	expect_status 0
	expect_stderr_contains "resuming order"
	expect_file "$T/state/certs/sig/current/fullchain.pem"
	if [[ $(new_orders) != $((ORDERS_BEFORE + 1)) ]]; then
		fail "newOrders: $(new_orders), want $((ORDERS_BEFORE + 1)) (the order resumed)"
	fi
	expect_not_served _acme-challenge.late.sig.example.
}

t_twice()
{
	local hook=$T/twice pid

	make_dns_hook "$hook"
	dns_opts "$hook"
	start_bg HOOK_LATE=1 HOOK_SLOW_DEL=1 -- cert late.twice.example "${DNS_OPTS[@]}"
	if ! wait_until 60 in_wait late.twice.example; then
		fail "never in the propagation wait: $(tail -n 5 "$T/bg.err")"
		stop_bg KILL
		return
	fi
	kill -TERM "$BG"
	# The first signal's cleanup runs (its del sleeps): a second ends it.
	if ! wait_until 20 grep -q '^del ' "$hook.log"; then
		fail "no del started after the first signal"
	fi
	stop_bg TERM
	expect_status 143
	expect_stderr_contains "stopping at once (signal 15)"
	for pid in $(cat "$hook.pids" 2>/dev/null); do
		kill -TERM "$pid" 2>/dev/null
	done
}

# make_http_hook PATH DIR: an http-hook writing the key authorization to
# DIR/.well-known/acme-challenge/TOKEN (served there) and logging "ACTION
# DOMAIN TOKEN"; the add for a domain holding "slow" sleeps 60 s first.
make_http_hook()
{
	local path=$1 dir=$2

	: >"$path.log"
	cat >"$path" <<EOF
#!/bin/sh
echo "\$1 \$2 \$3" >>'$path.log'
f='$dir/.well-known/acme-challenge/'\$3
case \$1 in
add)
	case \$2 in *slow*) sleep 60 ;; esac
	printf '%s' "\$4" >"\$f" ;;
del)
	rm -f "\$f" ;;
*)
	exit 1 ;;
esac
EOF
	chmod 755 "$path"
}

t_http_hook_killed()
{
	local hook=$T/httphook w=$T/hh pid left

	mkdir -p "$w/.well-known/acme-challenge"
	make_http_hook "$hook" "$w"
	"$PY" -u -m http.server --bind 127.0.0.1 "$PEBBLE_HTTP_PORT" --directory "$w" \
		</dev/null >"$T/hh.log" 2>&1 &
	pid=$!
	lib_track_pid "$pid"
	if ! wait_until 10 curl -s -o /dev/null "http://127.0.0.1:$PEBBLE_HTTP_PORT/"; then
		fail "harness: the web server did not start"
	fi
	ca_opts
	start_bg -- cert fast.hh.example slow.hh.example -v --http-hook "$hook" "${CA_OPTS[@]}"
	if ! wait_until 60 grep -q '^add slow\.hh\.example ' "$hook.log"; then
		fail "the slow add never started: $(tail -n 5 "$T/bg.err")"
		stop_bg KILL
		lib_stop_pid "$pid"
		return
	fi
	stop_bg TERM
	lib_stop_pid "$pid"
	expect_status 143
	expect_stderr_contains "stopping it"
	expect_del "$hook" fast.hh.example slow.hh.example
	left=$(find "$w/.well-known/acme-challenge" -type f)
	if [[ -n $left ]]; then
		fail "challenge files left: $left"
	fi
}

# port_open PORT: something accepts on 127.0.0.1:PORT.
port_open()
{
	(exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null
}

# A webroot order whose validation hangs (a server on the VA's port that
# accepts and never answers): stopped while its files are there.
t_webroot_files()
{
	local w=$T/wr pid left

	mkdir -p "$w"
	"$PY" - "$PEBBLE_HTTP_PORT" <<'EOF' &
import socket, sys, time
s = socket.socket()
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("127.0.0.1", int(sys.argv[1])))
s.listen(16)
held = []
while True:
    c, _ = s.accept()
    held.append(c)
EOF
	pid=$!
	lib_track_pid "$pid"
	if ! wait_until 10 port_open "$PEBBLE_HTTP_PORT"; then
		fail "harness: the silent server did not start"
	fi
	ca_opts
	start_bg -- cert wr.example -v --webroot "$w" "${CA_OPTS[@]}"
	if ! wait_until 60 grep -q 'wr.example: validating' "$T/bg.err" ||
		! wait_until 10 test -n "$(find "$w" -type f 2>/dev/null)"; then
		fail "no challenge file: $(tail -n 5 "$T/bg.err")"
		stop_bg KILL
		lib_stop_pid "$pid"
		return
	fi
	stop_bg TERM
	lib_stop_pid "$pid"
	expect_status 143
	left=$(find "$w" -type f)
	if [[ -n $left ]]; then
		fail "webroot files left: $left"
	fi
}

# conf_dns DIR HOOK CERT NAME [LINE...]: DIR/acmed.conf for Pebble, dns-01
# through HOOK, the global LINEs, and [cert CERT] for NAME.
conf_dns()
{
	local extra

	mkdir -p "$1"
	extra=$(printf '%s\n' "${@:5}")
	cat >"$1/acmed.conf" <<EOF
ca = $PEBBLE_DIR_URL
ca-file = $PEBBLE_CA_FILE
agree-tos = yes
state-dir = $1/state
control-socket = $1/ctl.sock
challenge = dns-01
dns-hook = $2
dns-resolver = $PEBBLE_DNS_SERVER
dns-propagation-timeout = 600
$extra

[cert $3]
domains = $4
EOF
}

# cert --csr (its own order, no runner) stops the same way.
t_csr()
{
	local hook=$T/dns-csr

	make_dns_hook "$hook"
	dns_opts "$hook"
	if ! openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
		-keyout "$T/csr.key" -out "$T/csr.pem" -subj /CN=late.csr.example \
		-addext subjectAltName=DNS:late.csr.example 2>/dev/null; then
		fail "harness: openssl req failed"
		return
	fi
	start_bg HOOK_LATE=1 -- cert --csr "$T/csr.pem" --cert-path "$T/csr-cert.pem" \
		"${DNS_OPTS[@]}"
	if ! wait_until 60 in_wait late.csr.example; then
		fail "never in the propagation wait: $(tail -n 5 "$T/bg.err")"
		stop_bg KILL
		return
	fi
	stop_bg TERM
	expect_status 143
	expect_stderr_contains "stopping: cleaning up the challenges"
	expect_del "$hook" _acme-challenge.late.csr.example.
	expect_not_served _acme-challenge.late.csr.example.
	if [[ -e $T/csr-cert.pem ]]; then
		fail "a certificate was written"
	fi
}

# renew stops the same way as cert.
t_renew()
{
	local d=$T/renew hook=$T/dns-renew

	make_dns_hook "$hook"
	conf_dns "$d" "$hook" rn late.rn.example
	start_bg HOOK_LATE=1 -- renew -v -c "$d/acmed.conf"
	if ! wait_until 60 in_wait late.rn.example; then
		fail "never in the propagation wait: $(tail -n 5 "$T/bg.err")"
		stop_bg KILL
		return
	fi
	stop_bg TERM
	expect_status 143
	expect_stderr_contains "stopping: cleaning up the challenges"
	expect_del "$hook" _acme-challenge.late.rn.example.
	expect_not_served _acme-challenge.late.rn.example.
	expect_file "$d/state/certs/rn/pending.key"
	# The summary adds up: the stopped certificate is counted.
	if ! grep -qx 'issued 0, renewed 0, unchanged 0, failed 0, not done 1 (stopped)' "$T/bg.out"; then
		fail "the summary does not count the stopped certificate: $(cat "$T/bg.out")"
	fi
}

# The daemon withdraws its orders' challenges before it stops.
t_daemon()
{
	local d=$T/daemon hook=$T/dns-daemon

	make_dns_hook "$hook"
	printf '#!/bin/sh\necho "$ACMED_HOOK" >>"%s"\n' "$T/batch.log" >"$T/batch"
	chmod 755 "$T/batch"
	: >"$T/batch.log"
	conf_dns "$d" "$hook" dmn late.dmn.example "pre-hook = $T/batch" "post-hook = $T/batch"
	start_bg HOOK_LATE=1 -- run -c "$d/acmed.conf"
	if ! wait_until 60 in_wait late.dmn.example; then
		fail "never in the propagation wait: $(tail -n 5 "$T/bg.err")"
		stop_bg KILL
		return
	fi
	stop_bg TERM
	expect_status 0
	expect_stderr_contains "cleaning up the challenges"
	expect_del "$hook" _acme-challenge.late.dmn.example.
	expect_not_served _acme-challenge.late.dmn.example.
	expect_file "$d/state/certs/dmn/pending.key"
	# The web server the pre-hook stopped comes back.
	if [[ $(tr '\n' ' ' <"$T/batch.log") != "pre post " ]]; then
		fail "pre-hook and post-hook: $(tr '\n' ' ' <"$T/batch.log")"
	fi
}

if ! pebble_start; then
	echo "interrupt.sh: Pebble did not start" >&2
	exit 99
fi

if [[ -n ${INTERRUPT_ONLY:-} ]]; then
	case_ "$INTERRUPT_ONLY" "$INTERRUPT_ONLY"
	lib_finish
fi
case_ "SIGTERM in the propagation wait: every del runs, exit 143, order kept" t_term_in_wait
case_ "SIGINT in the resumed order's wait: exit 130, no newOrder" t_int_in_wait
case_ "the next run resumes the order and gets the certificate" t_resume_completes
case_ "a second signal ends it at once" t_twice
case_ "SIGTERM inside a slow http-hook add: killed, every del runs" t_http_hook_killed
case_ "SIGTERM while webroot files are out: removed" t_webroot_files
case_ "cert --csr: SIGTERM in the propagation wait: del, exit 143" t_csr
case_ "renew: SIGTERM in the propagation wait: del, exit 143" t_renew
case_ "the daemon withdraws its challenges on SIGTERM" t_daemon
lib_finish
