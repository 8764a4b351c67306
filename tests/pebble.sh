#!/usr/bin/env bash
# Pebble and pebble-challtestsrv for acmed's integration tests.
#
# Sourced by a test script:
#
#	. "$TESTS_DIR/pebble.sh"
#	pebble_require_or_skip              # exit 77 when Pebble is not installed
#	pebble_start || exit 1              # optional argument: extra JSON for the
#	                                    # "pebble" object, e.g.
#	                                    # '{"retryAfter": {"authz": 3, "order": 5}}'
#	                                    # or '"externalAccountBindingRequired": true'
#	"$ACMED" terms --ca "$PEBBLE_DIR_URL" --ca-file "$PEBBLE_CA_FILE"
#
# or executed by hand: "tests/pebble.sh run [EXTRA-JSON]" starts both servers,
# prints the variables as export lines, and stops them on Ctrl-C.
#
# pebble_start binds everything to 127.0.0.1 on free ports, generates a CA and
# a listener certificate (SAN IP:127.0.0.1, DNS:localhost) with openssl, and
# exports:
#
#	PEBBLE_DIR_URL     https://127.0.0.1:PORT/dir, the ACME directory
#	PEBBLE_CA_FILE     the listener CA (PEM): acmed --ca-file, curl --cacert
#	PEBBLE_MGMT_URL    https://127.0.0.1:PORT, Pebble's management interface
#	CHALLTESTSRV_URL   http://127.0.0.1:PORT, challtestsrv's management API
#	PEBBLE_HTTP_PORT   where Pebble's VA sends http-01 validations: free, for
#	                   acmed's responder (http-listen = 127.0.0.1:PORT)
#	PEBBLE_TLS_PORT    likewise for tls-alpn-01
#	PEBBLE_DNS_SERVER  127.0.0.1:PORT, challtestsrv's DNS server, which Pebble
#	                   uses; every name resolves to 127.0.0.1 (A, no AAAA)
#	PEBBLE_WORKDIR     temporary folder: certificates, config, logs
#	PEBBLE_PID, CHALLTESTSRV_PID
#
# Environment read: PEBBLE_BIN, CHALLTESTSRV_BIN (default: from PATH),
# PEBBLE_PYTHON (default /usr/bin/python3, else python3 from PATH),
# PEBBLE_VA_NOSLEEP (default 1), PEBBLE_WFE_NONCEREJECT (default 20) and any
# other PEBBLE_* variable Pebble knows, PEBBLE_STRICT=1 (pebble -strict),
# PEBBLE_DNS_RESOLVER=HOST:PORT (the DNS server Pebble's VA asks instead of
# challtestsrv's, such as a real authoritative server under test),
# PEBBLE_START_TIMEOUT (seconds, default 10), PEBBLE_KEEP_WORKDIR=1 (keep the
# folder after pebble_stop, for debugging).
#
# PEBBLE_AUTHZREUSE=0 is not "never": Pebble (2.4, and its main branch at the
# time of writing) makes a new authorization only when rand.Intn(100) >
# percent, and that draw is 0 once in 100, so 1 new order in 100 still gets
# the account's valid authorization for the name (valid an hour): it is
# ready at once and issued without a challenge. A test that expects a
# challenge to fail for a name the same account validated calls
# pebble_restart in between, which forgets every authorization.
#
# pebble_start installs EXIT, INT, TERM and HUP traps that stop both servers
# and then run whatever trap was set before; set your own traps before calling
# it (or call pebble_stop from them). When the script exits with a status other
# than 0 or 77, the servers' logs are printed on stderr first.
#
# A second CA (a "staging" one beside it): pebble_start_second starts another
# Pebble on new ports after pebble_start, sharing the first's listener
# certificate (so PEBBLE_CA_FILE trusts both), challenge ports and DNS, and
# exports PEBBLE2_DIR_URL, PEBBLE2_MGMT_URL, PEBBLE2_LOG and PEBBLE2_PID;
# pebble_stop_second stops it (pebble_stop and the traps stop it too).
#
# Other helpers: pebble_free_ports N, pebble_make_certs DIR, pebble_root_ca
# FILE, challtestsrv_post PATH JSON, pebble_halt and pebble_restart (a CA that
# goes away and comes back on the same ports; see each function).
#
# Works under "set -euo pipefail" and without it; every function returns
# non-zero on failure instead of exiting.

_PEBBLE_PIDS=()
_PEBBLE_TRAPS_SET=
# What pebble_restart starts again: the ports of the last start, in the order
# _pebble_start_once draws them, and the extra configuration.
_PEBBLE_PORTS=
_PEBBLE_EXTRA=
declare -gA _PEBBLE_OLD_TRAP=()

_pebble_log()
{
	printf 'pebble.sh: %s\n' "$*" >&2
}

# Whether Pebble and the tools this file needs are installed; prints what is
# missing on stderr.
pebble_available()
{
	local tool py=${PEBBLE_PYTHON:-python3} missing=()

	if [[ -z ${PEBBLE_PYTHON:-} && -x /usr/bin/python3 ]]; then
		py=/usr/bin/python3
	fi
	for tool in "${PEBBLE_BIN:-pebble}" "${CHALLTESTSRV_BIN:-pebble-challtestsrv}" \
		openssl curl "$py"; do
		if ! command -v "$tool" >/dev/null 2>&1; then
			missing+=("$tool")
		fi
	done
	if ((${#missing[@]})); then
		_pebble_log "not found: ${missing[*]} (Debian: apt-get install pebble openssl curl python3)"
		return 1
	fi
	return 0
}

# Exits 77 (meson's "skipped") when Pebble is not installed.
pebble_require_or_skip()
{
	if ! pebble_available; then
		echo "SKIP: Pebble is not installed" >&2
		exit 77
	fi
}

# The Python interpreter for the helpers below: PEBBLE_PYTHON, else the
# system's (a version manager's shim on PATH can take a second to start).
_pebble_python()
{
	if [[ -n ${PEBBLE_PYTHON:-} ]]; then
		"$PEBBLE_PYTHON" "$@"
	elif [[ -x /usr/bin/python3 ]]; then
		/usr/bin/python3 "$@"
	else
		python3 "$@"
	fi
}

# Prints N distinct ports, space separated, that are free on 127.0.0.1 for both
# TCP and UDP at the time of the call. They are drawn outside the kernel's
# ephemeral range, so that outgoing connections do not take them before they
# are bound.
pebble_free_ports()
{
	_pebble_python - "$1" <<'EOF'
import random
import socket
import sys

try:
    with open("/proc/sys/net/ipv4/ip_local_port_range") as f:
        low, high = (int(x) for x in f.read().split())
except (OSError, ValueError):
    low, high = 32768, 60999
candidates = [p for p in range(10000, 65536) if p < low or p > high]
held, ports = [], []
tries = 0
while len(ports) < int(sys.argv[1]):
    tries += 1
    port = random.choice(candidates) if candidates and tries < 1000 else 0
    tcp = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    udp = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    try:
        tcp.bind(("127.0.0.1", port))
        port = tcp.getsockname()[1]
        udp.bind(("127.0.0.1", port))
    except OSError:
        tcp.close()
        udp.close()
        continue
    held += [tcp, udp]
    ports.append(port)
print(" ".join(str(p) for p in ports))
EOF
}

# Writes a CA and a certificate for 127.0.0.1 and localhost signed by it into
# dir: listener-ca.pem, listener-ca.key, listener.pem, listener.key (EC P-256,
# valid 7 days). Also usable for other local TLS servers in tests.
pebble_make_certs()
{
	local dir=$1

	cat >"$dir/openssl.cnf" <<'EOF'
[req]
distinguished_name = dn
prompt = no

[dn]
CN = acmed test listener

[v3_ca]
basicConstraints = critical, CA:TRUE
keyUsage = critical, keyCertSign, cRLSign
subjectKeyIdentifier = hash

[v3_leaf]
basicConstraints = critical, CA:FALSE
keyUsage = critical, digitalSignature
extendedKeyUsage = serverAuth
subjectAltName = IP:127.0.0.1, DNS:localhost
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid:always
EOF
	openssl req -x509 -new -config "$dir/openssl.cnf" -extensions v3_ca \
		-newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
		-subj '/CN=acmed test listener CA' -days 7 \
		-keyout "$dir/listener-ca.key" -out "$dir/listener-ca.pem" \
		>"$dir/openssl.log" 2>&1 &&
		openssl req -new -config "$dir/openssl.cnf" \
			-newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
			-subj '/CN=localhost' \
			-keyout "$dir/listener.key" -out "$dir/listener.csr" \
			>>"$dir/openssl.log" 2>&1 &&
		openssl x509 -req -in "$dir/listener.csr" \
			-CA "$dir/listener-ca.pem" -CAkey "$dir/listener-ca.key" \
			-set_serial "0x$(openssl rand -hex 8)" -days 7 \
			-extfile "$dir/openssl.cnf" -extensions v3_leaf \
			-out "$dir/listener.pem" >>"$dir/openssl.log" 2>&1 ||
		{
			_pebble_log "openssl failed:"
			cat "$dir/openssl.log" >&2
			return 1
		}
}

# Writes Pebble's configuration to stdout: the defaults below, then the members
# of extra (a JSON object, or members without the braces) over them.
_pebble_config()
{
	local extra=$1

	_pebble_python - "$extra" <<'EOF'
import json
import os
import sys

e = os.environ
config = {
    "listenAddress": "127.0.0.1:" + e["_PEBBLE_PORT"],
    "managementListenAddress": "127.0.0.1:" + e["_PEBBLE_MGMT_PORT"],
    "certificate": e["_PEBBLE_WD"] + "/listener.pem",
    "privateKey": e["_PEBBLE_WD"] + "/listener.key",
    "httpPort": int(e["_PEBBLE_HTTP_PORT"]),
    "tlsPort": int(e["_PEBBLE_TLS_PORT"]),
    "ocspResponderURL": "",
    "externalAccountBindingRequired": False,
}
extra = sys.argv[1].strip()
if extra:
    if not extra.startswith("{"):
        extra = "{" + extra + "}"
    try:
        obj = json.loads(extra)
    except ValueError as err:
        sys.exit("pebble.sh: extra configuration is not JSON: %s: %s" % (err, sys.argv[1]))
    if not isinstance(obj, dict):
        sys.exit("pebble.sh: extra configuration is not a JSON object: " + sys.argv[1])
    config.update(obj)
json.dump({"pebble": config}, sys.stdout, indent=2)
print()
EOF
}

# Prints the end of both logs on stderr.
_pebble_dump_logs()
{
	local f

	for f in challtestsrv.log pebble.log; do
		if [[ -n ${PEBBLE_WORKDIR:-} && -s $PEBBLE_WORKDIR/$f ]]; then
			echo "---- $PEBBLE_WORKDIR/$f (last 100 lines) ----" >&2
			tail -n 100 "$PEBBLE_WORKDIR/$f" >&2
		fi
	done
}

# Whether url answers with any HTTP status; with "ok", a 2xx one.
_pebble_answers()
{
	local url=$1 want=${2:-any} code

	code=$(curl -s -o /dev/null -w '%{http_code}' --max-time 2 \
		--cacert "$PEBBLE_WORKDIR/listener-ca.pem" "$url" 2>/dev/null) || true
	case $want:$code in
	any:000 | any:) return 1 ;;
	any:*) return 0 ;;
	ok:2??) return 0 ;;
	*) return 1 ;;
	esac
}

_pebble_alive()
{
	kill -0 "$1" 2>/dev/null
}

# One attempt, on free ports or on the given ones (six, space separated: a
# restart, whose logs are appended to). Returns 0, 1 on failure, 2 when a port
# was taken in the meantime (worth another try with other ports).
_pebble_start_once()
{
	local extra=$1 ports=${2:-} dns_port cport deadline pebble_pid cts_pid
	local -a pebble_args

	if [[ -z $ports ]]; then
		ports=$(pebble_free_ports 6) || {
			_pebble_log "cannot find free ports"
			return 1
		}
		: >"$PEBBLE_WORKDIR/challtestsrv.log"
		: >"$PEBBLE_WORKDIR/pebble.log"
	fi
	_PEBBLE_PORTS=$ports
	_PEBBLE_EXTRA=$extra
	# shellcheck disable=SC2086
	set -- $ports
	export _PEBBLE_PORT=$1 _PEBBLE_MGMT_PORT=$2 _PEBBLE_HTTP_PORT=$3 _PEBBLE_TLS_PORT=$4
	dns_port=$5
	cport=$6
	export _PEBBLE_WD=$PEBBLE_WORKDIR

	_pebble_config "$extra" >"$PEBBLE_WORKDIR/pebble-config.json" || return 1

	"${CHALLTESTSRV_BIN:-pebble-challtestsrv}" \
		-defaultIPv4 127.0.0.1 -defaultIPv6 "" \
		-dns01 "127.0.0.1:$dns_port" -management "127.0.0.1:$cport" \
		-http01 "" -https01 "" -tlsalpn01 "" \
		</dev/null >>"$PEBBLE_WORKDIR/challtestsrv.log" 2>&1 &
	cts_pid=$!
	_PEBBLE_PIDS+=("$cts_pid")

	pebble_args=(-config "$PEBBLE_WORKDIR/pebble-config.json"
		-dnsserver "${PEBBLE_DNS_RESOLVER:-127.0.0.1:$dns_port}")
	if [[ ${PEBBLE_STRICT:-0} == 1 ]]; then
		pebble_args+=(-strict)
	fi
	PEBBLE_VA_NOSLEEP=${PEBBLE_VA_NOSLEEP:-1} \
		PEBBLE_WFE_NONCEREJECT=${PEBBLE_WFE_NONCEREJECT:-20} \
		"${PEBBLE_BIN:-pebble}" "${pebble_args[@]}" \
		</dev/null >>"$PEBBLE_WORKDIR/pebble.log" 2>&1 &
	pebble_pid=$!
	_PEBBLE_PIDS+=("$pebble_pid")

	export PEBBLE_DIR_URL="https://127.0.0.1:$_PEBBLE_PORT/dir"
	export PEBBLE_MGMT_URL="https://127.0.0.1:$_PEBBLE_MGMT_PORT"
	export CHALLTESTSRV_URL="http://127.0.0.1:$cport"
	export PEBBLE_CA_FILE="$PEBBLE_WORKDIR/listener-ca.pem"
	export PEBBLE_HTTP_PORT=$_PEBBLE_HTTP_PORT PEBBLE_TLS_PORT=$_PEBBLE_TLS_PORT
	export PEBBLE_DNS_SERVER="127.0.0.1:$dns_port"
	export PEBBLE_PID=$pebble_pid CHALLTESTSRV_PID=$cts_pid
	unset _PEBBLE_PORT _PEBBLE_MGMT_PORT _PEBBLE_HTTP_PORT _PEBBLE_TLS_PORT _PEBBLE_WD

	deadline=$((SECONDS + ${PEBBLE_START_TIMEOUT:-10}))
	while :; do
		if ! _pebble_alive "$pebble_pid" || ! _pebble_alive "$cts_pid"; then
			if grep -qi 'address already in use' \
				"$PEBBLE_WORKDIR/pebble.log" "$PEBBLE_WORKDIR/challtestsrv.log"; then
				return 2
			fi
			_pebble_log "pebble or pebble-challtestsrv exited during start-up"
			return 1
		fi
		if _pebble_answers "$PEBBLE_DIR_URL" ok &&
			_pebble_answers "$PEBBLE_MGMT_URL/roots/0" ok &&
			_pebble_answers "$CHALLTESTSRV_URL/"; then
			return 0
		fi
		if ((SECONDS >= deadline)); then
			_pebble_log "not ready after ${PEBBLE_START_TIMEOUT:-10} s:" \
				"$PEBBLE_DIR_URL, $PEBBLE_MGMT_URL, $CHALLTESTSRV_URL"
			return 1
		fi
		sleep 0.1
	done
}

# Stops both servers: TERM, then KILL after 5 s.
_pebble_kill_servers()
{
	local pid i left

	if ((${#_PEBBLE_PIDS[@]})); then
		for pid in "${_PEBBLE_PIDS[@]}"; do
			kill -TERM "$pid" 2>/dev/null || true
		done
		for ((i = 0; i < 50; i++)); do
			left=0
			for pid in "${_PEBBLE_PIDS[@]}"; do
				if _pebble_alive "$pid"; then
					left=1
				fi
			done
			if ((!left)); then
				break
			fi
			sleep 0.1
		done
		for pid in "${_PEBBLE_PIDS[@]}"; do
			if _pebble_alive "$pid"; then
				_pebble_log "pid $pid did not stop on TERM; killing it"
				kill -KILL "$pid" 2>/dev/null || true
			fi
			wait "$pid" 2>/dev/null || true
		done
	fi
	_PEBBLE_PIDS=()
}

# Stops both servers: TERM, then KILL after 5 s. Removes the work folder unless
# PEBBLE_KEEP_WORKDIR=1. Safe to call twice or before pebble_start.
pebble_stop()
{
	_pebble_kill_servers
	_PEBBLE_PORTS=
	_PEBBLE_EXTRA=
	if [[ -n ${PEBBLE_WORKDIR:-} && -d $PEBBLE_WORKDIR ]]; then
		if [[ ${PEBBLE_KEEP_WORKDIR:-0} == 1 ]]; then
			_pebble_log "kept $PEBBLE_WORKDIR"
		else
			rm -rf -- "$PEBBLE_WORKDIR"
		fi
	fi
	unset PEBBLE_DIR_URL PEBBLE_CA_FILE PEBBLE_MGMT_URL CHALLTESTSRV_URL \
		PEBBLE_HTTP_PORT PEBBLE_TLS_PORT PEBBLE_DNS_SERVER PEBBLE_WORKDIR \
		PEBBLE_PID CHALLTESTSRV_PID PEBBLE2_DIR_URL PEBBLE2_MGMT_URL PEBBLE2_LOG \
		PEBBLE2_PID
	return 0
}

_pebble_return()
{
	return "$1"
}

_pebble_on_trap()
{
	local rc=$? sig=$1 old

	old=${_PEBBLE_OLD_TRAP[$sig]:-}
	if [[ $sig == EXIT ]]; then
		if ((rc != 0 && rc != 77 && ${#_PEBBLE_PIDS[@]})); then
			_pebble_dump_logs
		fi
		pebble_stop
		if [[ -n $old ]]; then
			# The old trap sees $? as rc. Under "set -e" a failing
			# command ends the trap, so the failure is on the left of
			# "||", where it does not.
			if ((rc == 0)); then
				eval "$old"
			else
				_pebble_return "$rc" || eval "$old"
			fi
		fi
		# The shell still exits with rc unless the old trap called exit.
		return
	fi
	pebble_stop
	if [[ -n $old ]]; then
		eval "$old"
		return
	fi
	case $sig in
	HUP) exit 129 ;;
	INT) exit 130 ;;
	*) exit 143 ;;
	esac
}

# Prints the command of the trap set on sig, if any.
_pebble_trap_command()
{
	local cur

	cur=$(trap -p "$1")
	if [[ -n $cur ]]; then
		# "trap -- 'command' SIG": let the shell undo the quoting.
		eval "set -- $cur"
		printf '%s' "$3"
	fi
}

_pebble_install_traps()
{
	local sig

	if [[ -n $_PEBBLE_TRAPS_SET ]]; then
		return 0
	fi
	for sig in EXIT HUP INT TERM; do
		_PEBBLE_OLD_TRAP[$sig]=$(_pebble_trap_command "$sig")
		# shellcheck disable=SC2064
		trap "_pebble_on_trap $sig" "$sig"
	done
	_PEBBLE_TRAPS_SET=1
}

# Starts pebble-challtestsrv and Pebble; see the top of this file. Returns 0,
# or 1 with the reason and the logs on stderr.
pebble_start()
{
	local extra=${1:-} attempt rc

	if ((${#_PEBBLE_PIDS[@]})); then
		_pebble_log "already started (call pebble_stop first)"
		return 1
	fi
	if ! pebble_available; then
		return 1
	fi
	_pebble_install_traps
	for attempt in 1 2 3; do
		PEBBLE_WORKDIR=$(mktemp -d "${TMPDIR:-/tmp}/acmed-pebble.XXXXXX") || return 1
		export PEBBLE_WORKDIR
		if ! pebble_make_certs "$PEBBLE_WORKDIR"; then
			pebble_stop
			return 1
		fi
		rc=0
		_pebble_start_once "$extra" || rc=$?
		if ((rc == 0)); then
			return 0
		fi
		if ((rc == 2 && attempt < 3)); then
			_pebble_log "a port was taken meanwhile; trying other ports"
		else
			_pebble_dump_logs
		fi
		pebble_stop
		if ((rc != 2)); then
			return 1
		fi
	done
	return 1
}

# Stops both servers (the CA is down: connections to its ports are refused)
# but keeps the work folder, the ports and the variables, for pebble_restart.
# pebble_stop (or the exit trap) still cleans up.
pebble_halt()
{
	_pebble_kill_servers
}

# Stops both servers if they run, and starts them again on the same ports with
# the same configuration and listener certificate, so that a client keeps its
# directory URL and --ca-file. Like any Pebble start, it forgets every
# account, order and certificate, and issues from a new root (pebble_root_ca).
# Updates PEBBLE_PID and CHALLTESTSRV_PID. Returns 0, or 1 with the logs on
# stderr.
pebble_restart()
{
	local rc=0

	if [[ -z $_PEBBLE_PORTS || -z ${PEBBLE_WORKDIR:-} || ! -d ${PEBBLE_WORKDIR:-} ]]; then
		_pebble_log "pebble_restart: Pebble was not started (call pebble_start first)"
		return 1
	fi
	_pebble_kill_servers
	printf '\n---- pebble.sh: restart ----\n' >>"$PEBBLE_WORKDIR/pebble.log"
	printf '\n---- pebble.sh: restart ----\n' >>"$PEBBLE_WORKDIR/challtestsrv.log"
	_pebble_start_once "$_PEBBLE_EXTRA" "$_PEBBLE_PORTS" || rc=$?
	if ((rc != 0)); then
		_pebble_log "pebble_restart: cannot start again on ports $_PEBBLE_PORTS"
		_pebble_dump_logs
		_pebble_kill_servers
		return 1
	fi
	return 0
}

# Starts a second Pebble beside the first (see the top of this file), with
# the first's extra configuration. Returns 0, or 1 with its log on stderr.
pebble_start_second()
{
	local ports deadline

	if [[ -z ${PEBBLE_WORKDIR:-} || -z ${PEBBLE_DNS_SERVER:-} ]]; then
		_pebble_log "pebble_start_second: call pebble_start first"
		return 1
	fi
	ports=$(pebble_free_ports 2) || return 1
	# shellcheck disable=SC2086
	set -- $ports
	PEBBLE2_LOG=$PEBBLE_WORKDIR/pebble2.log
	: >"$PEBBLE2_LOG"
	_pebble_python - "$PEBBLE_WORKDIR/pebble-config.json" "$1" "$2" \
		>"$PEBBLE_WORKDIR/pebble2-config.json" <<'EOF2' || return 1
import json
import sys

with open(sys.argv[1]) as f:
    config = json.load(f)
config["pebble"]["listenAddress"] = "127.0.0.1:" + sys.argv[2]
config["pebble"]["managementListenAddress"] = "127.0.0.1:" + sys.argv[3]
json.dump(config, sys.stdout, indent=2)
print()
EOF2
	PEBBLE_VA_NOSLEEP=${PEBBLE_VA_NOSLEEP:-1} \
		PEBBLE_WFE_NONCEREJECT=${PEBBLE_WFE_NONCEREJECT:-20} \
		"${PEBBLE_BIN:-pebble}" -config "$PEBBLE_WORKDIR/pebble2-config.json" \
		-dnsserver "${PEBBLE_DNS_RESOLVER:-$PEBBLE_DNS_SERVER}" \
		</dev/null >>"$PEBBLE2_LOG" 2>&1 &
	PEBBLE2_PID=$!
	_PEBBLE_PIDS+=("$PEBBLE2_PID")
	export PEBBLE2_DIR_URL="https://127.0.0.1:$1/dir"
	export PEBBLE2_MGMT_URL="https://127.0.0.1:$2"
	export PEBBLE2_LOG PEBBLE2_PID
	deadline=$((SECONDS + ${PEBBLE_START_TIMEOUT:-10}))
	until _pebble_answers "$PEBBLE2_DIR_URL" ok; do
		if ! _pebble_alive "$PEBBLE2_PID" || ((SECONDS >= deadline)); then
			_pebble_log "the second Pebble did not start at $PEBBLE2_DIR_URL:"
			tail -n 50 "$PEBBLE2_LOG" >&2
			pebble_stop_second
			return 1
		fi
		sleep 0.1
	done
	return 0
}

# Stops the second Pebble (TERM, then KILL after 5 s); its log stays.
pebble_stop_second()
{
	local pid=${PEBBLE2_PID:-} p i keep=()

	if [[ -z $pid ]]; then
		return 0
	fi
	kill -TERM "$pid" 2>/dev/null || true
	for ((i = 0; i < 50; i++)); do
		_pebble_alive "$pid" || break
		sleep 0.1
	done
	kill -KILL "$pid" 2>/dev/null || true
	wait "$pid" 2>/dev/null || true
	for p in "${_PEBBLE_PIDS[@]}"; do
		if [[ $p != "$pid" ]]; then
			keep+=("$p")
		fi
	done
	_PEBBLE_PIDS=("${keep[@]}")
	unset PEBBLE2_PID
	return 0
}

# Fetches the root of the chain Pebble issues (it changes at every start) from
# the management interface into file.
pebble_root_ca()
{
	local file=$1

	if [[ -z ${PEBBLE_MGMT_URL:-} ]]; then
		_pebble_log "pebble_root_ca: Pebble is not started"
		return 1
	fi
	if ! curl -sSf --max-time 10 --cacert "$PEBBLE_CA_FILE" -o "$file" \
		"$PEBBLE_MGMT_URL/roots/0"; then
		_pebble_log "cannot fetch $PEBBLE_MGMT_URL/roots/0"
		return 1
	fi
	if ! openssl x509 -in "$file" -noout 2>/dev/null; then
		_pebble_log "$PEBBLE_MGMT_URL/roots/0 is not a PEM certificate"
		return 1
	fi
}

# POSTs a JSON body to challtestsrv's management API, e.g.
#	challtestsrv_post /set-txt '{"host": "_acme-challenge.example.com.", "value": "..."}'
challtestsrv_post()
{
	curl -sSf --max-time 10 -X POST -d "$2" "$CHALLTESTSRV_URL$1" >/dev/null
}

_pebble_main()
{
	local cmd=${1:-}

	case $cmd in
	run)
		shift
		pebble_start "${1:-}" || exit 1
		cat <<EOF
export PEBBLE_DIR_URL='$PEBBLE_DIR_URL'
export PEBBLE_CA_FILE='$PEBBLE_CA_FILE'
export PEBBLE_MGMT_URL='$PEBBLE_MGMT_URL'
export CHALLTESTSRV_URL='$CHALLTESTSRV_URL'
export PEBBLE_HTTP_PORT='$PEBBLE_HTTP_PORT'
export PEBBLE_TLS_PORT='$PEBBLE_TLS_PORT'
export PEBBLE_DNS_SERVER='$PEBBLE_DNS_SERVER'
export PEBBLE_WORKDIR='$PEBBLE_WORKDIR'
# e.g.: acmed terms --ca "\$PEBBLE_DIR_URL" --ca-file "\$PEBBLE_CA_FILE"
# Ctrl-C stops Pebble.
EOF
		# wait returns when a server dies or a trapped signal arrives.
		wait -n "$PEBBLE_PID" "$CHALLTESTSRV_PID" || true
		_pebble_log "a server exited"
		exit 1
		;;
	*)
		echo "usage: $0 run [EXTRA-JSON]" >&2
		exit 2
		;;
	esac
}

if [[ ${BASH_SOURCE[0]} == "$0" ]]; then
	_pebble_main "$@"
fi
