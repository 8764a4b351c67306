#!/usr/bin/env bash
# Integration tests for "acmed check -c FILE": exit 0 for a valid
# configuration, exit 2 and one "FILE:LINE: message" per problem otherwise;
# then what acmed run would refuse on this host (a deploy hook or webroot
# that is missing, a read-only or full state folder, a port already bound),
# one "FILE: message" per problem, exit 2.
#
# Environment: ACMED (the binary under test). Needs no network and no Pebble.
# The read-only and full state folders are tmpfs mounts, so those cases need
# root (as in CI); without it, the read-only case uses a folder of mode 0500
# and the full one fails (it is never skipped).
# Exits 0, 1 when a case failed, 99 when the harness itself is broken.
set -uo pipefail

# shellcheck source=lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh" || exit 99
lib_init check

MOUNTS=()

# mount_tmpfs DIR OPTIONS: a tmpfs at DIR, unmounted at exit before T is
# removed. Returns 1 (a failed case) when it cannot be mounted.
mount_tmpfs()
{
	mkdir -p "$1" || return 1
	if ! mount -t tmpfs -o "$2" tmpfs "$1"; then
		fail "cannot mount a tmpfs ($2) on $1"
		return 1
	fi
	MOUNTS+=("$1")
}

unmount_all()
{
	local m

	for m in "${MOUNTS[@]}"; do
		umount -l "$m" 2>/dev/null
	done
	MOUNTS=()
}

trap 'unmount_all; lib_cleanup' EXIT

# The line numbers of the messages "FILE:LINE: ..." on stderr, sorted, one per
# line.
error_lines()
{
	awk -v p="$1:" 'index($0, p) == 1 {
		s = substr($0, length(p) + 1)
		if (match(s, /^[0-9]+:/)) {
			print substr(s, 1, RLENGTH - 1)
		}
	}' "$ERR" | sort -un
}

# expect_errors FILE LINE...: stderr has a message starting with "FILE:LINE:"
# for each LINE, and none for other lines.
expect_errors()
{
	local file=$1 line got want
	shift

	got=$(error_lines "$file")
	for line in "$@"; do
		if ! grep -qx -- "$line" <<<"$got"; then
			fail "no message starting with '$file:$line:'"
		fi
	done
	want=$(printf '%s\n' "$@" | sort -un)
	if [[ $got != "$want" ]]; then
		fail "messages for lines '$(echo $got)', want exactly '$(echo $want)'"
	fi
}

# ---- cases ----

t_good()
{
	local conf=$T/good.conf

	mkdir -p "$T/webroot"
	printf '#!/bin/sh\nexit 0\n' >"$T/dns-hook"
	chmod 755 "$T/dns-hook"
	cat >"$conf" <<EOF
# a valid configuration
ca = letsencrypt                # shortcode or https directory URL
email = ops@example.com
agree-tos = yes
key-type = ec-p256
renew-before = 30d
challenge = http-01
webroot = $T/webroot
concurrency = 16
state-dir = $T/state

[cert www]
domains = example.com www.example.com

[cert api]
domains = api.example.com
key-type = rsa-2048
challenge = dns-01
dns-hook = $T/dns-hook
EOF
	run check -c "$conf"
	expect_status 0
	if grep -qF -- "$conf:" "$ERR"; then
		fail "a problem is reported in a valid file"
	fi
	# Checked, not created: the first certificate makes it. Said, since a
	# mistyped state-dir looks the same and would start everything over.
	if [[ -e $T/state ]]; then
		fail "acmed check created the state folder"
	fi
	expect_stderr_contains "warning: state folder $T/state does not exist yet: the first run makes it, registers an account and orders every certificate"
	mkdir "$T/state"
	run check -c "$conf"
	expect_status 0
	if grep -qF "does not exist yet" "$ERR"; then
		fail "the state folder is there, and check says it is not: $(cat "$ERR")"
	fi
	rmdir "$T/state"
	# The default folder (no state-dir: systemd's STATE_DIRECTORY here)
	# is looked at the same way.
	grep -v '^state-dir' "$conf" >"$T/nodir.conf"
	STATE_DIRECTORY=$T/default-state run check -c "$T/nodir.conf"
	expect_status 0
	expect_stderr_contains "warning: state folder $T/default-state does not exist yet"
	if [[ -e $T/webroot/.well-known ]]; then
		fail "acmed check left $T/webroot/.well-known behind"
	fi
}

t_bad()
{
	local conf=$T/bad.conf

	cat >"$conf" <<'EOF'
# line 1
ca = letsencrypt
bogus = 1
email = ops@example.com
key-type = rsa-1024

[cert www]
domains = example.com www.example.com
EOF
	run check -c "$conf"
	expect_status 2
	expect_stdout_empty
	# Parsing goes on after the first problem: both are reported.
	expect_errors "$conf" 3 5
	if ! grep -F -- "$conf:3:" "$ERR" | grep -qF bogus; then
		fail "the message for line 3 does not name the key 'bogus'"
	fi
}

t_bad_in_section()
{
	local conf=$T/section.conf

	cat >"$conf" <<'EOF'
ca = letsencrypt

[cert www]
domains = example.com
challenge = carrier-pigeon-01
this line is not a key and a value
EOF
	run check -c "$conf"
	expect_status 2
	expect_stdout_empty
	expect_errors "$conf" 5 6
}

t_missing_file()
{
	local conf=$T/no-such-file.conf

	run check -c "$conf"
	expect_status 2
	expect_stdout_empty
	expect_stderr_nonempty
	expect_stderr_contains "$conf"
}

# ---- what acmed run would refuse on this host ----

# host_conf FILE [LINE...]: a configuration valid in itself, with one
# certificate www answered through $T/webroot, state in $T/state, and the
# given "key = value" lines in the global part instead of those defaults.
host_conf()
{
	local conf=$1 line
	shift

	mkdir -p "$T/webroot"
	{
		for line in "ca = letsencrypt" "agree-tos = yes" "webroot = $T/webroot" \
			"state-dir = $T/state"; do
			# A key is set once: the given line replaces the default.
			if ! printf '%s\n' "$@" | grep -q "^${line%% =*} ="; then
				echo "$line"
			fi
		done
		printf '%s\n' "$@"
		echo
		echo "[cert www]"
		echo "domains = example.com"
	} >"$conf"
}

# expect_host_problem CONF TEXT...: exit 2, nothing on stdout, and a line
# "CONF: ..." on stderr holding every TEXT.
expect_host_problem()
{
	local conf=$1 line found=0 text all
	shift

	expect_status 2
	expect_stdout_empty
	while IFS= read -r line; do
		[[ $line == "$conf: "* ]] || continue
		all=1
		for text in "$@"; do
			[[ $line == *"$text"* ]] || all=0
		done
		((all)) && found=1
	done <"$ERR"
	if ((!found)); then
		fail "no line '$conf: ...' containing all of: $*"
	fi
}

t_missing_deploy_hook()
{
	local conf=$T/deploy.conf

	host_conf "$conf" "deploy-hook = $T/no-such-hook --reload"
	run check -c "$conf"
	expect_host_problem "$conf" "www: deploy-hook: cannot run: $T/no-such-hook: No such file" \
		"set deploy-hook"
	# The same file, the syntax alone: fine.
	run check --syntax -c "$conf"
	expect_status 0

	# Found on PATH, as the hook would be run.
	host_conf "$conf" "deploy-hook = true"
	run check -c "$conf"
	expect_status 0
	host_conf "$conf" "deploy-hook = acmed-no-such-program-on-path"
	run check -c "$conf"
	expect_host_problem "$conf" "acmed-no-such-program-on-path: not found on PATH"
}

t_missing_webroot()
{
	local conf=$T/webroot.conf

	host_conf "$conf" "webroot = $T/no-such-webroot"
	run check -c "$conf"
	expect_host_problem "$conf" "www: webroot $T/no-such-webroot: missing" "set webroot"
}

t_missing_ca_file()
{
	local conf=$T/cafile.conf

	host_conf "$conf" "ca-file = $T/no-such-ca.pem"
	run check -c "$conf"
	expect_host_problem "$conf" "ca-file $T/no-such-ca.pem: cannot read it: No such file" \
		"set ca-file (--ca-file)"
	echo "not a certificate" >"$T/not-a-ca.pem"
	host_conf "$conf" "ca-file = $T/not-a-ca.pem"
	run check -c "$conf"
	expect_host_problem "$conf" "ca-file $T/not-a-ca.pem: no PEM certificate in it"
	# The same message from the command that would use it, before any
	# request and any record (no CA runs here: letsencrypt's would be the
	# one asked).
	run cert -c "$conf" --name www example.com
	expect_status 2
	expect_stderr_contains "ca-file $T/not-a-ca.pem: no PEM certificate in it"
	[[ ! -e $T/state/certs/www ]] || fail "cert recorded something for a bad ca-file"
	# A [ca] section's, for a CA the list falls back on.
	host_conf "$conf" "ca = letsencrypt second" "" "[ca second]" \
		"url = https://ca.example/dir" "ca-file = $T/second-ca.pem"
	run check -c "$conf"
	expect_host_problem "$conf" "ca-file $T/second-ca.pem: cannot read it: No such file"
}

t_readonly_state()
{
	local conf=$T/ro.conf ro=$T/ro

	if ((EUID == 0)); then
		mount_tmpfs "$ro" ro,size=1m || return
	else
		mkdir -m 0500 "$ro"
	fi
	host_conf "$conf" "state-dir = $ro/state"
	run check -c "$conf"
	if ((EUID == 0)); then
		expect_host_problem "$conf" \
			"state folder $ro/state: cannot create it in $ro: Read-only file system" \
			"state-dir"
	else
		expect_host_problem "$conf" \
			"state folder $ro/state: cannot create it in $ro: Permission denied"
	fi
	# Once, not once per folder under it (accounts/, certs/www/).
	if (($(grep -c "state folder" "$ERR") != 1)); then
		fail "want one line about the state folder"
	fi
	unmount_all
}

t_full_state()
{
	local conf=$T/full.conf full=$T/full

	if ((EUID != 0)); then
		fail "needs root to mount a 64 KiB tmpfs (CI runs as root)"
		return
	fi
	mount_tmpfs "$full" size=64k || return
	mkdir "$full/state"
	dd if=/dev/zero of="$full/fill" bs=4k 2>/dev/null
	host_conf "$conf" "state-dir = $full/state"
	run check -c "$conf"
	expect_host_problem "$conf" "state folder $full/state: cannot write: No space left on device" \
		"free some space"
	# Room for a few KiB, not for a new certificate.
	rm -f "$full/fill"
	run check -c "$conf"
	expect_host_problem "$conf" "state folder $full/state: not enough space"
	unmount_all
}

# A loopback port held by another program (python3, tracked): its number
# in HELD_PORT (its pid in HELD_PID), empty when it did not start. $1: where the holder writes it.
# Not in a subshell: the holder is tracked by this shell.
hold_port()
{
	HELD_PORT=

	"$PY" -c 'import socket, time
s = socket.socket()
s.bind(("127.0.0.1", 0))
s.listen(1)
print(s.getsockname()[1], flush=True)
time.sleep(120)' >"$1" &
	HELD_PID=$!
	lib_track_pid "$HELD_PID"
	for _ in $(seq 100); do
		HELD_PORT=$(cat "$1")
		[[ -n $HELD_PORT ]] && break
		sleep 0.1
	done
}

t_port_bound()
{
	local conf=$T/port.conf port

	if ! lib_python; then
		fail "no python3 to hold a port"
		return
	fi
	hold_port "$T/port"
	port=$HELD_PORT
	if [[ -z $port ]]; then
		fail "the port holder did not start"
		return
	fi
	{
		echo "state-dir = $T/state"
		echo "http-listen = 127.0.0.1:$port"
		echo "[cert www]"
		echo "domains = example.com"
	} >"$conf"
	run check -c "$conf"
	expect_host_problem "$conf" "www: http-listen 127.0.0.1:$port: bind: Address already in use" \
		"holds port $port"
	lib_stop_pid "$HELD_PID"
	run check -c "$conf"
	expect_status 0
}

t_every_problem()
{
	local conf=$T/every.conf

	: >"$T/state-file"
	host_conf "$conf" "state-dir = $T/state-file" "webroot = $T/no-webroot" \
		"deploy-hook = $T/no-hook"
	printf '\n[cert api]\ndomains = api.example.com\n' >>"$conf"
	run check -c "$conf"
	expect_host_problem "$conf" "state folder $T/state-file: not a folder"
	expect_host_problem "$conf" "www: webroot"
	expect_host_problem "$conf" "www: deploy-hook"
	# api's are the same words: named once, not said again.
	expect_stderr_contains "$conf: the same as www: api"
	if grep -q "api: webroot\|api: deploy-hook" "$ERR"; then
		fail "api's problems are said again in full: $(cat "$ERR")"
	fi
	# The state folder is shared: one line for both certificates.
	if (($(grep -c "state folder" "$ERR") != 1)); then
		fail "want one line about the state folder"
	fi
}

# [ca] sections nothing orders from, or in a short name's place: warned,
# the file valid.
t_ca_warnings()
{
	local conf=$T/cas.conf

	printf 'ca = a\n[ca a]\nurl = https://a.example/d\n[ca spare]\nurl = https://c.example/d\n' >"$conf"
	printf '[ca zerossl]\nurl = https://z.example/d\n[cert w]\ndomains = w.example\nca = a zerossl\n' >>"$conf"
	run check --syntax "$conf"
	expect_status 0
	expect_stderr_contains "$conf:4: [ca spare] is named by no ca list"
	expect_stderr_contains "$conf:6: [ca zerossl] takes the place of the short name zerossl"
	if grep -q "\[ca a\]" "$ERR"; then
		fail "a [ca] a list names was warned about"
	fi
}

# The settings that tell others: a notification program or sendmail
# missing, a metrics-file folder gone, a metrics port taken: each one line
# naming the key, exit 2; fixed, the file is ok.
t_watch()
{
	local conf=$T/watch.conf port

	if ! lib_python; then
		fail "no python3 to hold a port"
		return
	fi
	hold_port "$T/wport"
	port=$HELD_PORT
	mkdir -p "$T/webroot" "$T/prom"
	{
		echo "state-dir = $T/state"
		echo "webroot = $T/webroot"
		echo "notify-hook = $T/no-notify"
		echo "notify-email = ops@example.com"
		echo "notify-sendmail = $T/no-sendmail"
		echo "metrics-file = $T/no-folder/acmed.prom"
		echo "metrics-listen = 127.0.0.1:$port"
		echo "[cert www]"
		echo "domains = example.com"
	} >"$conf"
	run check -c "$conf"
	expect_status 2
	expect_stderr_contains "$conf: notify-hook: cannot run: $T/no-notify"
	expect_stderr_contains "$conf: notify-email: cannot run sendmail: $T/no-sendmail"
	expect_stderr_contains "$conf: metrics-file $T/no-folder/acmed.prom: cannot write in $T/no-folder"
	expect_stderr_contains "$conf: metrics-listen 127.0.0.1:$port: bind: Address already in use"
	# Fixed (the port: not listened on at all).
	sed -i -e "s|$T/no-notify|/bin/true|" -e "s|$T/no-sendmail|/bin/cat|" \
		-e "s|$T/no-folder|$T/prom|" -e '/^metrics-listen/d' "$conf"
	run check -c "$conf"
	expect_status 0
}

case_ "check accepts a valid configuration" t_good
case_ "check reports an unknown key and a bad key-type by line" t_bad
case_ "check reports problems inside a [cert] section by line" t_bad_in_section
case_ "check fails with 2 on a missing file" t_missing_file
case_ "check refuses a deploy hook that does not exist" t_missing_deploy_hook
case_ "check refuses a webroot that does not exist" t_missing_webroot
case_ "check refuses a ca-file that is missing or holds no certificate" t_missing_ca_file
case_ "check refuses a state folder on a read-only file system" t_readonly_state
case_ "check refuses a full state folder" t_full_state
case_ "check refuses a listen port another program holds" t_port_bound
case_ "check reports every problem, the shared state folder once" t_every_problem
case_ "check warns of [ca] sections unused or in a short name's place" t_ca_warnings
case_ "check names notify-hook, sendmail, metrics-file and metrics-listen problems" t_watch

lib_finish
