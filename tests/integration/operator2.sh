#!/usr/bin/env bash
# The operator's rough edges, second round (issue 15): a daemon's mark on its
# state folder (delete without -c refuses what it renews, status
# --state-dir asks it, kill -9 leaves nothing that counts), status of
# another folder than the daemon's, a mistyped --state-dir, international
# names for deploy, revoke and delete, -q with cert --csr, revoke --replace's
# batch hooks, the status column width, a hung daemon, the delete prompt,
# name errors, an unreadable configuration, deploy without a hook, and the
# man pages saying what the code does. Pebble for the cases that issue (one
# Pebble for the script).
#
# Environment: ACMED, TESTS_DIR. Exits 0, 1 when a case failed, 77 when
# Pebble is not installed, 99 when the harness is broken.
set -uo pipefail

# shellcheck source=lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh" || exit 99
lib_init operator2
# shellcheck source=../pebble.sh
. "$TESTS_DIR/pebble.sh" || exit 99
lib_python || exit 99

SRC=$(cd "$TESTS_DIR/.." && pwd) || exit 99
S=$T/state
UNICODE_NAME=$'b\xc3\xbccher.example'
ACE_NAME=xn--bcher-kva.example

# ---- without a CA ----

# daemon_conf_a DIR: lib_daemon_conf, and a folder certs/a as if a were
# installed.
daemon_conf_a()
{
	lib_daemon_conf "$1"
	mkdir -p "$1/state/certs/a"
}

# start_daemon DIR: acmed run of DIR's configuration; its pid in DPID.
start_daemon()
{
	"$ACMED" run -c "$1/acmed.conf" </dev/null >>"$1/log" 2>&1 &
	DPID=$!
	lib_track_pid "$DPID"
	if ! wait_until 10 test -S "$1/ctl.sock"; then
		fail "the daemon did not open its socket: $(cat "$1/log")"
		return 1
	fi
}

# wait_mark DIR: the daemon DPID's mark on DIR's state folder.
wait_mark()
{
	if ! wait_until 5 test -e "$1/state/locks/daemon.$DPID"; then
		fail "the daemon made no mark in $1/state/locks: $(ls "$1/state/locks" 2>&1)"
		return 1
	fi
}

# A daemon marks its state folder: delete --state-dir without -c refuses
# what it renews, status --state-dir asks it; after kill -9 nothing counts,
# and the next daemon removes the stale mark. Two daemons on one folder have
# a mark each.
t_daemon_mark()
{
	local d=$T/mark old

	daemon_conf_a "$d"
	start_daemon "$d" && wait_mark "$d" || return
	if [[ $(cat "$d/state/locks/daemon.$DPID") != "$d/ctl.sock" ]]; then
		fail "the mark does not hold the socket: $(cat "$d/state/locks/daemon.$DPID")"
	fi
	run delete --yes --state-dir "$d/state" a
	expect_status 1
	expect_stderr_contains "a: not deleted: the running daemon renews it (control socket $d/ctl.sock)"
	[[ -d $d/state/certs/a ]] || fail "delete removed what the daemon renews"
	run status --state-dir "$d/state" --json
	expect_status 0
	[[ $(json_get "$OUT" 'j["daemon"]') == True ]] ||
		fail "status --state-dir did not find the folder's daemon"
	# A second daemon on the same folder, with its own socket.
	mkdir -p "$d/two"
	sed "s|$d/ctl.sock|$d/two/ctl.sock|" "$d/acmed.conf" >"$d/two/acmed.conf"
	"$ACMED" run -c "$d/two/acmed.conf" </dev/null >>"$d/two/log" 2>&1 &
	local two=$!
	lib_track_pid "$two"
	wait_until 10 test -e "$d/state/locks/daemon.$two" ||
		fail "a second daemon on the folder made no mark: $(cat "$d/two/log")"
	lib_stop_pid "$two"
	[[ ! -e $d/state/locks/daemon.$two ]] || fail "a stopped daemon left its mark"
	# kill -9: the mark stays, unlocked, and counts for nothing.
	old=$DPID
	kill -9 "$old"
	wait "$old" 2>/dev/null
	lib_stop_pid "$old"
	[[ -e $d/state/locks/daemon.$old ]] || fail "kill -9 removed the mark (test broken)"
	run status --state-dir "$d/state" --json
	expect_status 0
	[[ $(json_get "$OUT" 'j["daemon"]') == False ]] ||
		fail "status --state-dir took a killed daemon's mark for a daemon"
	start_daemon "$d" && wait_mark "$d" || return
	[[ ! -e $d/state/locks/daemon.$old ]] || fail "the next daemon left the stale mark"
	lib_stop_pid "$DPID"
	run delete --yes --state-dir "$d/state" a
	expect_status 0
	[[ ! -d $d/state/certs/a ]] || fail "delete without a daemon did not delete"
}

# status -c FILE --state-dir OTHER: OTHER's certificates, from the files,
# not the daemon of FILE; a mistyped folder is an error.
t_status_other_folder()
{
	local d=$T/other

	daemon_conf_a "$d"
	mkdir -p "$T/s1/certs/x"
	start_daemon "$d" || return
	run status -c "$d/acmed.conf" --state-dir "$T/s1" --json
	expect_status 0
	[[ $(json_get "$OUT" '[c["cert"] for c in j["certs"]], j["daemon"]') == "(['x'], False)" ]] ||
		fail "status --state-dir of another folder: $(json_get "$OUT" '[c["cert"] for c in j["certs"]], j["daemon"]')"
	run status -c "$d/acmed.conf" --state-dir "$T/s1"
	expect_status 0
	[[ $(head -n 1 "$OUT") == "state folder: $T/s1 (read from the files)" ]] ||
		fail "status --state-dir: header $(head -n 1 "$OUT")"
	# The daemon's own folder: asking it is right.
	run status -c "$d/acmed.conf" --json
	expect_status 0
	[[ $(json_get "$OUT" 'j["daemon"]') == True ]] || fail "status -c did not ask the daemon"
	lib_stop_pid "$DPID"
	run status --state-dir "$T/nonexist"
	expect_status 2
	expect_stderr_contains "--state-dir $T/nonexist: no such folder"
	expect_stdout_empty
}

# A long name widens the CERT column: every row's STATE starts where the
# header's does.
t_status_width()
{
	local long=this-is-a-rather-long-certificate-name cols

	mkdir -p "$T/wide/certs/$long" "$T/wide/certs/a"
	run status --state-dir "$T/wide"
	expect_status 0
	cols=$(awk '$1 == "CERT" { print index($0, "STATE") } $1 == "a" || $1 == "'$long'" { print index($0, " " $2 " ") + 1 }' "$OUT" | sort -u | wc -l)
	[[ $cols == 1 ]] || fail "the STATE column is not aligned: $(cat "$OUT")"
}

# jobs against a stopped daemon: the one line of the timeout.
t_jobs_hung()
{
	local d=$T/hung

	daemon_conf_a "$d"
	start_daemon "$d" || return
	kill -STOP "$DPID"
	run jobs -c "$d/acmed.conf"
	kill -CONT "$DPID"
	expect_status 1
	expect_stderr_one_line
	expect_stderr_not_matches 'unexpected answer'
	lib_stop_pid "$DPID"
}

# delete's prompt answered n: said plainly, exit 1, nothing deleted.
t_delete_prompt()
{
	mkdir -p "$T/p/certs/keep"
	if ! command -v script >/dev/null; then
		return
	fi
	echo n | script -qec "$ACMED delete --state-dir $T/p keep" /dev/null >"$OUT" 2>&1
	RC=$?
	LAST_CMD="acmed delete --state-dir $T/p keep (answered n)"
	expect_status 1
	grep -q 'keep: not deleted' "$OUT" || fail "no 'not deleted': $(cat "$OUT")"
	if grep -q 'error' "$OUT"; then
		fail "a declined prompt is an error: $(cat "$OUT")"
	fi
	[[ -d $T/p/certs/keep ]] || fail "deleted after n"
}

# Names with a port or a trailing dot say what to drop; an unreadable
# configuration is one error line; deploy without a hook exits 2.
t_messages()
{
	run cert --standalone 5999 a.example:8080
	expect_status 2
	expect_stderr_contains "a port is not part of a name: give the bare name a.example"
	run cert --standalone 5999 example.com.
	expect_status 2
	expect_stderr_contains "drop the trailing dot (example.com)"
	run -c "$T/nonexist.conf" status
	expect_status 2
	expect_stderr_contains "acmed: error: $T/nonexist.conf: No such file or directory"
	run check "$T/nonexist.conf"
	expect_status 2
	expect_stderr_contains "acmed: error: $T/nonexist.conf: No such file or directory"
	mkdir -p "$T/nohook/certs/a"
	run deploy --state-dir "$T/nohook" a
	expect_status 2
	expect_stderr_contains "a: no deploy hook: set deploy-hook or pass --deploy-hook"
}

# The man pages say what the code does (finding 15).
t_docs()
{
	local m8=$SRC/man/acmed.8.scd m5=$SRC/man/acmed.conf.5.scd

	if grep -qE 'run\* only|make two certificates|keeps \*tls-listen\* open until' "$m8" "$m5"; then
		fail "a man page still says: $(grep -hE 'run\* only|make two certificates|keeps \*tls-listen\* open until' "$m8" "$m5")"
	fi
	[[ $(grep -B1 '^\*output\* = ' "$m5" | head -n 1) == "" ]] ||
		fail "acmed.conf(5): no blank line before *output*"
	grep -q 'locks/daemon.PID' "$m8" || fail "acmed(8): the daemon's mark is not documented"
	run revoke --help
	expect_stdout_contains "--pre-hook"
	expect_stdout_contains "--post-hook"
	run revoke --pre-hook /bin/true www
	expect_status 2
	expect_stderr_contains "revoke: --pre-hook applies only with --replace"
}

case_ "a daemon's mark: delete and status find it from the folder; kill -9" t_daemon_mark
case_ "status of another folder than the daemon's; a mistyped folder" t_status_other_folder
case_ "status widens the name column for long names" t_status_width
case_ "jobs against a hung daemon says one line" t_jobs_hung
case_ "delete's prompt answered n is not an error" t_delete_prompt
case_ "name errors, an unreadable configuration, deploy without a hook" t_messages
case_ "the man pages agree with the code" t_docs

# ---- against Pebble ----

pebble_require_or_skip
export PEBBLE_AUTHZREUSE=0
pebble_start >/dev/null || exit 99

CA_OPTS=(--ca "$PEBBLE_DIR_URL" --ca-file "$PEBBLE_CA_FILE" --state-dir "$S")

# The U-label finds the A-label certificate in deploy, revoke (--replace,
# with the batch hooks) and delete; an unknown one says what a plain
# unknown name says.
t_idn_commands()
{
	run cert "${CA_OPTS[@]}" --agree-tos --standalone "127.0.0.1:$PEBBLE_HTTP_PORT" "$UNICODE_NAME"
	expect_status 0
	run deploy --state-dir "$S" --deploy-hook "touch $T/deployed" "$UNICODE_NAME"
	expect_status 0
	[[ -e $T/deployed ]] || fail "deploy of the U-label ran no hook"
	run revoke "${CA_OPTS[@]}" "n${UNICODE_NAME}"
	expect_status 2
	expect_stderr_contains "n${UNICODE_NAME}: no such file, nor a certificate installed in $S"
	run revoke "${CA_OPTS[@]}" --replace --standalone "127.0.0.1:$PEBBLE_HTTP_PORT" \
		--pre-hook "touch $T/pre" --post-hook "touch $T/post" "$UNICODE_NAME"
	expect_status 0
	[[ -e $T/pre && -e $T/post ]] || fail "revoke --replace ran no --pre-hook/--post-hook"
	run delete --yes --state-dir "$S" "$UNICODE_NAME"
	expect_status 0
	[[ ! -e $S/certs/$ACE_NAME ]] || fail "delete of the U-label left $ACE_NAME"
}

# -q: cert --csr writes its files and prints nothing on stdout.
t_csr_quiet()
{
	openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
		-keyout "$T/csr.key" -out "$T/my.csr" -subj /CN=csr.example \
		-addext subjectAltName=DNS:csr.example 2>/dev/null || {
		fail "openssl req failed"
		return
	}
	mkdir -p "$T/o"
	run -q cert "${CA_OPTS[@]}" --agree-tos --standalone "127.0.0.1:$PEBBLE_HTTP_PORT" \
		--csr "$T/my.csr" --fullchain-path "$T/o/ofull.pem"
	expect_status 0
	expect_stdout_empty
	[[ -s $T/o/ofull.pem ]] || fail "cert --csr -q wrote no fullchain"
}

case_ "international names in deploy, revoke and delete; revoke's batch hooks" t_idn_commands
case_ "-q silences cert --csr" t_csr_quiet

lib_finish
