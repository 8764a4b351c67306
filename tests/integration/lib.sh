#!/usr/bin/env bash
# The test runner shared by the integration scripts: TAP-like "ok N - name"
# lines on stdout, the details of a failed case on stderr.
#
# Sourced by a test script, after "set -uo pipefail" (no -e: a failed command
# is a failed assertion, not the end of the script):
#
#	. "$(dirname "${BASH_SOURCE[0]}")/lib.sh" || exit 99
#	lib_init NAME               # checks $ACMED, makes $T, hermetic HOME/XDG,
#	                            # traps EXIT to lib_cleanup (set before
#	                            # pebble_start, which chains to it)
#	t_something() { run cert ...; expect_status 0; ... }
#	case_ "what it shows" t_something
#	lib_finish                  # "1..N"; exits 0, 1 (a case failed) or 77
#	                            # (LIB_SKIPPED=1 and nothing failed)
#
# Environment: ACMED (the binary under test), TESTS_DIR (tests/; defaults to
# this file's parent), TMPDIR. Exit status 99 means the harness is broken.
#
# After lib_init: T (a temporary folder removed at exit), TESTS_DIR, LIB_NAME.
# After run: RC (exit status), OUT and ERR (files holding stdout and stderr),
# LAST_CMD.

LIB_NAME=${LIB_NAME:-test}
N=0
FAILED=0
CASE_FAILED=0
FAIL_MSGS=()
LIB_SKIPPED=0
LIB_PIDS=()
RUN_TIMEOUT=${RUN_TIMEOUT:-30}
RC=
OUT=
ERR=
LAST_CMD=

# lib_init NAME: checks ACMED, creates T and a hermetic environment.
lib_init()
{
	LIB_NAME=$1
	TESTS_DIR=${TESTS_DIR:-$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)}
	if [[ -z ${ACMED:-} || ! -x ${ACMED:-} ]]; then
		echo "$LIB_NAME.sh: set ACMED to the acmed binary to test (got '${ACMED:-}')" >&2
		exit 99
	fi
	T=$(mktemp -d "${TMPDIR:-/tmp}/acmed-$LIB_NAME.XXXXXX") || exit 99
	# Hermetic: no user state, no CA bundle or proxy from the environment.
	export HOME=$T/home XDG_STATE_HOME=$T/state XDG_CONFIG_HOME=$T/config
	mkdir -p "$HOME" || exit 99
	unset SSL_CERT_FILE SSL_CERT_DIR CURL_CA_BUNDLE \
		http_proxy HTTP_PROXY https_proxy HTTPS_PROXY all_proxy ALL_PROXY
	OUT=$T/out
	ERR=$T/err
	: >"$OUT"
	: >"$ERR"
	# Set before pebble_start, which runs it after stopping Pebble.
	trap lib_cleanup EXIT
}

# lib_track_pid PID: a background process of the test, killed at exit if it
# is still running. lib_stop_pid PID: TERM it now, wait, and forget it.
lib_track_pid()
{
	LIB_PIDS+=("$1")
}

lib_stop_pid()
{
	local pid=$1 p keep=()

	if [[ -z $pid ]]; then
		return 0
	fi
	kill -TERM "$pid" 2>/dev/null
	wait "$pid" 2>/dev/null
	for p in "${LIB_PIDS[@]}"; do
		if [[ $p != "$pid" ]]; then
			keep+=("$p")
		fi
	done
	LIB_PIDS=("${keep[@]}")
	return 0
}

lib_cleanup()
{
	local pid

	for pid in "${LIB_PIDS[@]}"; do
		kill -TERM "$pid" 2>/dev/null
		wait "$pid" 2>/dev/null
	done
	LIB_PIDS=()
	if [[ -n ${T:-} && -d $T ]]; then
		rm -rf -- "$T"
	fi
}

# lib_python: sets PY to the Python to run: PEBBLE_PYTHON, else the system's
# /usr/bin/python3 (a version manager's shim on PATH can take a second to
# start, and would stand between a test and the PID of a server it starts),
# else python3 from PATH. Returns 1 when there is none.
lib_python()
{
	if [[ -n ${PEBBLE_PYTHON:-} ]]; then
		PY=$PEBBLE_PYTHON
	elif [[ -x /usr/bin/python3 ]]; then
		PY=/usr/bin/python3
	else
		PY=$(command -v python3) || return 1
	fi
}

# json_get FILE EXPR: EXPR (Python, on the object j) of the JSON in FILE
# (lib_python first).
json_get()
{
	"$PY" -c 'import json, sys; j = json.load(open(sys.argv[1])); print(eval(sys.argv[2]))' "$1" "$2"
}

# lib_daemon_conf DIR: a daemon's configuration in DIR/acmed.conf whose CA does
# not answer (the daemon waits for it), with its own socket (DIR/ctl.sock),
# state folder (DIR/state) and webroot, and [cert a] of a.example.
lib_daemon_conf()
{
	mkdir -p "$1/www" "$1/state"
	cat >"$1/acmed.conf" <<EOF
ca = https://127.0.0.1:9/dir
state-dir = $1/state
control-socket = $1/ctl.sock
webroot = $1/www
[cert a]
domains = a.example
EOF
}

# pub_of_key FILE, pub_of_cert FILE: the SHA-256 of a public key in DER, from
# a private key (or any PEM openssl pkey reads) or from a certificate.
pub_of_key()
{
	openssl pkey -in "$1" -pubout -outform DER 2>/dev/null | sha256sum | cut -d' ' -f1
}

pub_of_cert()
{
	openssl x509 -in "$1" -noout -pubkey 2>/dev/null |
		openssl pkey -pubin -outform DER 2>/dev/null | sha256sum | cut -d' ' -f1
}

# ---- certificates (ROOT: the CA's root, e.g. from pebble_root_ca) ----

# cert_info FILE: "SERIAL NOTBEFORE NOTAFTER", times in seconds since the
# epoch; fails when FILE is not a readable certificate.
cert_info()
{
	local out serial nb na

	out=$(openssl x509 -in "$1" -noout -serial -startdate -enddate 2>/dev/null) || return 1
	serial=$(sed -n 's/^serial=//p' <<<"$out")
	nb=$(date -u -d "$(sed -n 's/^notBefore=//p' <<<"$out")" +%s) || return 1
	na=$(date -u -d "$(sed -n 's/^notAfter=//p' <<<"$out")" +%s) || return 1
	[[ -n $serial ]] || return 1
	echo "$serial $nb $na"
}

cert_serial()
{
	openssl x509 -in "$1" -noout -serial 2>/dev/null | sed -n 's/^serial=//p'
}

# valid_problem DIR FILES-DIR: what is wrong with the certificate of DIR,
# whose files are in FILES-DIR; nothing when it chains to Pebble's current
# root through chain.pem, its key matches, and fullchain is cert then chain.
valid_problem()
{
	local d=$1 real=$2 f out

	for f in privkey.pem cert.pem chain.pem fullchain.pem; do
		if [[ ! -s $real/$f ]]; then
			echo "$d/$f: missing or empty"
			return
		fi
	done
	if ! out=$(openssl verify -CAfile "$ROOT" -untrusted "$real/chain.pem" "$real/cert.pem" 2>&1); then
		echo "$d: openssl verify: $(tr '\n' ' ' <<<"$out")"
	elif [[ $(pub_of_key "$real/privkey.pem") != "$(pub_of_cert "$real/cert.pem")" ]]; then
		echo "$d: privkey.pem does not match cert.pem"
	elif ! cat "$real/cert.pem" "$real/chain.pem" | cmp -s - "$real/fullchain.pem"; then
		echo "$d: fullchain.pem is not cert.pem followed by chain.pem"
	fi
}

# files_dir DIR: the folder cert.pem of DIR is really in, when the four
# files are in one (key and certificate are switched together); else
# nothing.
files_dir()
{
	local d=$1 f dir want

	want=$(dirname "$(readlink -f "$d/cert.pem")")
	for f in privkey.pem chain.pem fullchain.pem; do
		dir=$(dirname "$(readlink -f "$d/$f")")
		if [[ $dir != "$want" ]]; then
			return
		fi
	done
	echo "$want"
}

# expect_valid DIR: the certificate installed in DIR is valid (see
# valid_problem). A running daemon may switch to a renewed certificate
# between two reads: the files are read from the folder the links lead to,
# and read again if they changed meanwhile or one was missing.
expect_valid()
{
	local d=$1 try real problem f missing

	for try in 1 2 3; do
		missing=
		for f in privkey.pem cert.pem chain.pem fullchain.pem; do
			if [[ ! -e $d/$f ]]; then
				missing+=" $f"
			fi
		done
		real=$(files_dir "$d")
		if [[ -n $missing ]]; then
			problem="$d: missing:$missing (present: $(cd "$d" 2>/dev/null && echo *))"
		elif [[ -z $real ]]; then
			problem="$d: privkey.pem, cert.pem, chain.pem and fullchain.pem are not in one folder"
		else
			problem=$(valid_problem "$d" "$real")
		fi
		if [[ -z $problem ]]; then
			return
		fi
		if [[ -z $missing && $(files_dir "$d") == "$real" ]]; then
			break
		fi
		echo "# $d: changed or incomplete while checked ($try); again" >&2
		sleep 0.2
	done
	fail "$problem"
}

# build_option NAME: the value of build option NAME of the meson build folder
# $BUILD (install.sh, service.sh).
build_option()
{
	python3 -c '
import json, sys
for o in json.load(open(sys.argv[1])):
    if o["name"] == sys.argv[2]:
        print(o["value"])
' "$BUILD/meson-info/intro-buildoptions.json" "$1"
}

# fail MESSAGE: marks the current case failed; the message is printed after it.
fail()
{
	CASE_FAILED=1
	FAIL_MSGS+=("$*")
}

# expect_no_sanitizer_report FILE: a sanitizer report is a failure whatever
# the exit status says.
expect_no_sanitizer_report()
{
	if grep -qE 'Sanitizer|runtime error:' "$1" 2>/dev/null; then
		# The report itself: the file goes with the test's folder.
		fail "sanitizer report in $1:
$(grep -m1 -A40 -E 'Sanitizer|runtime error:' "$1")"
	fi
}

# run_t SECONDS ARGS...: runs acmed with a timeout of SECONDS; sets RC, and
# OUT and ERR (files).
run_t()
{
	local secs=$1
	shift

	OUT=$T/out
	ERR=$T/err
	LAST_CMD="acmed $*"
	timeout "$secs" "$ACMED" "$@" </dev/null >"$OUT" 2>"$ERR"
	RC=$?
	if ((RC == 124)); then
		fail "timed out after $secs s: $LAST_CMD"
	fi
	expect_no_sanitizer_report "$ERR"
}

# run ARGS...: run_t with RUN_TIMEOUT (30 s).
run()
{
	run_t "$RUN_TIMEOUT" "$@"
}

expect_status()
{
	if [[ $RC != "$1" ]]; then
		fail "exit status $RC, want $1 ($LAST_CMD)"
	fi
}

# expect_stdout TEXT: stdout is exactly TEXT and a newline.
expect_stdout()
{
	local want=$1 got

	got=$(
		cat "$OUT"
		echo x
	)
	if [[ $got != "$want"$'\n'x ]]; then
		fail "stdout is not exactly '$want' and a newline"
	fi
}

expect_stdout_empty()
{
	if [[ -s $OUT ]]; then
		fail "stdout is not empty"
	fi
}

expect_stdout_contains()
{
	if ! grep -qF -- "$1" "$OUT"; then
		fail "stdout does not contain '$1'"
	fi
}

expect_stdout_matches()
{
	if ! grep -qiE -- "$1" "$OUT"; then
		fail "stdout does not match /$1/"
	fi
}

# One line, not empty, with a trailing newline.
expect_stderr_one_line()
{
	local lines

	lines=$(wc -l <"$ERR")
	if [[ ! -s $ERR ]]; then
		fail "stderr is empty, want a one-line message"
	elif [[ $lines != 1 || $(tail -c 1 "$ERR" | od -An -c | tr -d ' ') != '\n' ]]; then
		fail "stderr is not exactly one line"
	elif [[ -z $(tr -d '[:space:]' <"$ERR") ]]; then
		fail "stderr is a blank line"
	fi
}

expect_stderr_nonempty()
{
	if [[ -z $(tr -d '[:space:]' <"$ERR") ]]; then
		fail "stderr is empty, want a message"
	fi
}

expect_stderr_contains()
{
	if ! grep -qF -- "$1" "$ERR"; then
		fail "stderr does not mention '$1'"
	fi
}

expect_stderr_matches()
{
	if ! grep -qiE -- "$1" "$ERR"; then
		fail "stderr does not match /$1/"
	fi
}

expect_stderr_not_matches()
{
	if grep -qiE -- "$1" "$ERR"; then
		fail "stderr matches /$1/"
	fi
}

# expect_file_mode PATH MODE: the octal mode of PATH (symbolic links
# followed) is MODE, e.g. 600.
expect_file_mode()
{
	local got

	if ! got=$(stat -L -c %a -- "$1" 2>/dev/null); then
		fail "$1: missing"
	elif [[ $got != "$2" ]]; then
		fail "$1: mode $got, want $2"
	fi
}

expect_file()
{
	if [[ ! -f $1 ]]; then
		fail "$1: missing"
	fi
}

# tree_snapshot DIR [FIND-ARGS...]: prints one line per entry under DIR,
# sorted: its path relative to DIR, its type (find's %y) and mode, the target
# of a symbolic link, and for a file a second line with its SHA-256. FIND-ARGS
# narrow the walk, e.g. ! -name state.json. Two snapshots are equal when every
# file is byte for byte the same and every link points where it did. (Paths
# with newlines are not told apart; the trees under test have none.)
tree_snapshot()
{
	local dir=$1
	shift

	if [[ ! -d $dir ]]; then
		echo "tree_snapshot: $dir: not a folder" >&2
		return 1
	fi
	(
		cd -- "$dir" || exit 1
		{
			find . -mindepth 1 "$@" -printf '%P %y %m %l\n'
			find . -mindepth 1 "$@" -type f -exec sha256sum -- {} + |
				sed -E 's,^\\?([0-9a-f]+)  \./(.*)$,\2 sha256 \1,'
		} | LC_ALL=C sort
	)
}

# expect_tree_unchanged SNAPSHOT-FILE DIR [FIND-ARGS...]: DIR is as it was
# when tree_snapshot wrote SNAPSHOT-FILE (with the same FIND-ARGS).
expect_tree_unchanged()
{
	local snap=$1 dir=$2 now
	shift 2

	now=$(tree_snapshot "$dir" "$@")
	if [[ $now != "$(cat "$snap")" ]]; then
		fail "$dir changed: $(diff "$snap" <(printf '%s\n' "$now") | grep '^[<>]' | head -n 10 | tr '\n' ';')"
	fi
}

# wait_until SECONDS COMMAND...: runs COMMAND every 0.1 s until it succeeds;
# returns 1 when it still fails after SECONDS.
wait_until()
{
	local deadline=$((SECONDS + $1))
	shift

	while ! "$@"; do
		if ((SECONDS >= deadline)); then
			return 1
		fi
		sleep 0.1
	done
	return 0
}

# lib_web_start DIR: serves DIR (made when missing) on Pebble's http-01
# port with python3's http.server (lib_python first), tracked; WEB_PID is
# its pid. Fails when it does not answer within 10 s.
lib_web_start()
{
	mkdir -p "$1"
	"$PY" -m http.server --bind 127.0.0.1 --directory "$1" "$PEBBLE_HTTP_PORT" \
		>"$T/web.log" 2>&1 &
	WEB_PID=$!
	lib_track_pid "$WEB_PID"
	wait_until 10 curl -s -o /dev/null "http://127.0.0.1:$PEBBLE_HTTP_PORT/"
}

# case_ NAME FUNCTION: runs one case and prints its result.
case_()
{
	local name=$1

	N=$((N + 1))
	CASE_FAILED=0
	FAIL_MSGS=()
	LAST_CMD=
	RC=
	: >"$OUT"
	: >"$ERR"
	"$2"
	if ((CASE_FAILED)); then
		FAILED=$((FAILED + 1))
		echo "not ok $N - $name"
		{
			echo "not ok $N - $name"
			printf '    %s\n' "${FAIL_MSGS[@]}"
			echo "    last command: $LAST_CMD"
			echo "    exit status: ${RC:-}"
			echo "    stdout:"
			sed 's/^/    | /' "$OUT" 2>/dev/null
			echo "    stderr:"
			sed 's/^/    | /' "$ERR" 2>/dev/null
		} >&2
	else
		echo "ok $N - $name"
	fi
}

# skip_case NAME REASON
skip_case()
{
	N=$((N + 1))
	echo "ok $N - $1 # SKIP $2"
}

# fail_case NAME: counts a step outside any case (starting a server, say) as
# a failed case.
fail_case()
{
	N=$((N + 1))
	FAILED=$((FAILED + 1))
	echo "not ok $N - $1"
}

# lib_finish: prints the plan and exits: 1 when a case failed, else 77 when
# LIB_SKIPPED=1, else 0.
lib_finish()
{
	echo "1..$N"
	if ((FAILED)); then
		echo "$LIB_NAME.sh: $FAILED of $N cases failed" >&2
		exit 1
	fi
	if ((LIB_SKIPPED)); then
		exit 77
	fi
	exit 0
}
