#!/usr/bin/env bash
# The systemd units under a real systemd: "meson install" into a throwaway
# copy of this machine's root (an overlay on a bind mount of /), booted with
# systemd-nspawn as a container that shares the host's network, so that the
# daemon reaches Pebble on 127.0.0.1. In it, as an operator would:
# systemd-sysusers and systemd-tmpfiles make the acmed user and
# /var/lib/acmed, "systemctl enable --now acmed" starts the daemon (User=acmed
# and the whole sandbox), which issues the configured certificate with its
# own http-01 responder; "acmed status" answers through the control socket;
# reload and stop behave; the timer's one-shot service renews by itself once
# the daemon is gone; the watchdog restarts a daemon whose loop is stuck.
#
# SERVICE_TRANSCRIPT=FILE keeps the commands and their output for the README.
#
# Environment: ACMED, TESTS_DIR, MESON_BUILD_ROOT (the build to install).
# Needs root, systemd-nspawn (Debian: systemd-container) and overlayfs; exits
# 77 without them, 99 when the harness is broken.
set -uo pipefail

# shellcheck source=lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh" || exit 99
lib_init service
# shellcheck source=../pebble.sh
. "$TESTS_DIR/pebble.sh" || exit 99

BUILD=${MESON_BUILD_ROOT:-}
MESON=${MESON:-meson}
unset DESTDIR
if [[ -z $BUILD || ! -f $BUILD/meson-info/intro-buildoptions.json ]]; then
	echo "service.sh: set MESON_BUILD_ROOT to a configured meson build folder (got '$BUILD')" >&2
	exit 99
fi
pebble_require_or_skip
if ((EUID != 0)); then
	echo "SKIP: service.sh boots a container and needs root" >&2
	exit 77
fi
if ! command -v systemd-nspawn >/dev/null 2>&1 || [[ ! -x /lib/systemd/systemd ]]; then
	echo "SKIP: systemd-nspawn or systemd is not installed (Debian: systemd-container)" >&2
	exit 77
fi

TRANSCRIPT=${SERVICE_TRANSCRIPT:-$T/transcript}
: >"$TRANSCRIPT" || exit 99
HOST=$T/host
ROOT=$T/root
NSPAWN_PID=
LEADER=

# ---- the container ----

# Unmounts what root_make mounted; from the EXIT trap too.
root_release()
{
	if [[ -n $NSPAWN_PID ]] && kill -0 "$NSPAWN_PID" 2>/dev/null; then
		kill -KILL "$NSPAWN_PID" 2>/dev/null
		wait "$NSPAWN_PID" 2>/dev/null
	fi
	NSPAWN_PID=
	if mountpoint -q "$ROOT" 2>/dev/null; then
		umount "$ROOT" || umount -l "$ROOT"
	fi
	if mountpoint -q "$HOST" 2>/dev/null; then
		umount "$HOST" || umount -l "$HOST"
	fi
}

service_cleanup()
{
	root_release
	lib_cleanup
}
trap service_cleanup EXIT

# root_make: ROOT, a writable copy of / whose writes stay in T; without the
# host's own services (they would bind the host's ports), with acmed
# installed by meson and configured for Pebble.
root_make()
{
	local f

	mkdir -p "$HOST" "$ROOT" "$T/upper" "$T/work" || return 1
	mount --bind / "$HOST" || return 1
	if ! mount -t overlay overlay -o "lowerdir=$HOST,upperdir=$T/upper,workdir=$T/work" "$ROOT"; then
		echo "SKIP: cannot mount an overlay" >&2
		exit 77
	fi
	for f in "$ROOT"/etc/systemd/system/*.wants/*; do
		case ${f##*/} in
		*.service | *.timer | *.socket | *.path) rm -f -- "$f" ;;
		esac
	done
	# The host's machine ID would be shared: give the container its own.
	rm -f "$ROOT/etc/machine-id" && : >"$ROOT/etc/machine-id" || return 1
	if ! "$MESON" install -C "$BUILD" --no-rebuild --destdir "$ROOT" >"$T/install.log" 2>&1; then
		echo "service.sh: meson install failed: $(tail -n 5 "$T/install.log")" >&2
		return 1
	fi
	SBIN=$(sed -n "s#^Installing src/acmed to $ROOT\(/.*\)\$#\1/acmed#p" "$T/install.log" | head -n 1)
	if [[ -z $SBIN || ! -x $ROOT$SBIN ]]; then
		echo "service.sh: cannot tell where acmed was installed: $(grep acmed "$T/install.log" | head -n 3)" >&2
		return 1
	fi
	# The configuration where this build reads it (sysconfdir: /etc with
	# -Dprefix=/usr, /usr/local/etc by default); the example is there now.
	ETC=$(build_option prefix)/$(build_option sysconfdir)/acmed
	if [[ -z $ETC || ! -f $ROOT$ETC/acmed.conf ]]; then
		echo "service.sh: cannot tell where acmed.conf was installed: $(grep acmed.conf "$T/install.log" | head -n 3)" >&2
		return 1
	fi
	# A sanitizer build: LeakSanitizer stops threads with ptrace, which
	# SystemCallFilter= forbids, so leaks are left to the other suites;
	# every other report still fails the case (see sanitizer_reports).
	if [[ $(build_option b_sanitize) != none ]]; then
		for f in acmed acmed-renew; do
			mkdir -p "$ROOT/etc/systemd/system/$f.service.d" || return 1
			printf '[Service]\nEnvironment=ASAN_OPTIONS=detect_leaks=0\n' \
				>"$ROOT/etc/systemd/system/$f.service.d/sanitizer.conf" || return 1
		done
	fi
	cp "$PEBBLE_CA_FILE" "$ROOT$ETC/pebble-ca.pem" || return 1
	chmod 644 "$ROOT$ETC/pebble-ca.pem"
	conf >"$ROOT$ETC/acmed.conf" || return 1
}

# The operator's configuration: Pebble, acmed's own http-01 responder on
# the port Pebble's validation connects to, one certificate.
conf()
{
	cat <<EOF
ca = $PEBBLE_DIR_URL
ca-file = $ETC/pebble-ca.pem
email = ops@example.com
agree-tos = yes
http-listen = 127.0.0.1:$PEBBLE_HTTP_PORT
deploy-hook = touch /var/lib/acmed/deployed

[cert www]
domains = example.com www.example.com
EOF
}

# in_ct COMMAND...: runs COMMAND in the container (its namespaces, its
# systemd); output on stdout and stderr.
in_ct()
{
	nsenter -t "$LEADER" -a -- env -i PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \
		SYSTEMD_COLORS=0 SYSTEMD_PAGER= TERM=dumb "$@"
}

booted()
{
	local state

	state=$(in_ct systemctl is-system-running 2>/dev/null)
	[[ $state == running || $state == degraded ]]
}

boot()
{
	systemd-nspawn -D "$ROOT" --register=no --keep-unit --link-journal=no \
		-M acmedtest -b --console=read-only </dev/null >"$T/boot.log" 2>&1 &
	NSPAWN_PID=$!
	if ! wait_until 20 sh -c "pgrep -P $NSPAWN_PID >/dev/null"; then
		echo "service.sh: the container did not start: $(tail -n 5 "$T/boot.log")" >&2
		return 1
	fi
	LEADER=$(pgrep -P "$NSPAWN_PID" | head -n 1)
	if ! wait_until 60 booted; then
		echo "service.sh: the container did not finish booting: $(in_ct systemctl is-system-running 2>&1); $(tail -n 5 "$T/boot.log")" >&2
		return 1
	fi
}

# ---- the transcript ----

# say COMMAND...: runs COMMAND in the container like run (RC, OUT, ERR) and
# adds "# COMMAND" and its output to the transcript.
say()
{
	local words

	LAST_CMD="$*"
	in_ct "$@" >"$T/out" 2>"$T/err"
	RC=$?
	OUT=$T/out
	ERR=$T/err
	printf -v words ' %q' "$@"
	{
		echo "#${words}"
		cat "$ERR" "$OUT"
		echo
	} >>"$TRANSCRIPT"
}

# ---- cases ----

# sanitizer_reports: a sanitizer report in either unit's journal fails the
# case.
sanitizer_reports()
{
	local got

	got=$(in_ct journalctl -u acmed.service -u acmed-renew.service --no-pager -o cat 2>&1 |
		grep -E 'Sanitizer|runtime error:' | head -n 3)
	if [[ -n $got ]]; then
		fail "sanitizer report in the journal: $got"
	fi
}

t_enable()
{
	local st

	say systemd-sysusers
	say systemd-tmpfiles --create
	expect_status 0
	say systemctl enable --now acmed.service
	expect_status 0
	if ! wait_until 60 test -s "$ROOT/var/lib/acmed/certs/www/cert.pem"; then
		fail "no certificate after 60 s: $(in_ct journalctl -u acmed --no-pager -n 20 2>&1 | tr '\n' ';')"
		return
	fi
	# The installed set belongs to acmed; the key is private.
	# (stat in the container: the user acmed exists there only)
	st=$(in_ct stat -L -c '%U %a' /var/lib/acmed/certs/www/privkey.pem)
	if [[ $st != "acmed 600" ]]; then
		fail "privkey.pem: owner and mode '$st', want 'acmed 600'"
	fi
	st=$(in_ct stat -c '%U %a' /var/lib/acmed)
	if [[ $st != "acmed 700" ]]; then
		fail "/var/lib/acmed: owner and mode '$st', want 'acmed 700'"
	fi
	if ! openssl x509 -in "$ROOT/var/lib/acmed/certs/www/cert.pem" -noout -checkhost www.example.com |
		grep -q 'does match'; then
		fail "the certificate is not for www.example.com"
	fi
	say systemctl status acmed.service --no-pager --lines=0
	if ! grep -q 'Active: active (running)' "$OUT"; then
		fail "systemctl status: $(head -n 5 "$OUT" | tr '\n' ';')"
	fi
	# Type=notify: STATUS= reached systemd.
	if ! grep -q 'Status: "' "$OUT"; then
		fail "no Status: line from sd_notify in systemctl status"
	fi
	say journalctl -u acmed.service --no-pager -o cat
	if ! grep -q 'www: installed' "$OUT"; then
		fail "the journal does not show the installation: $(tail -n 5 "$OUT" | tr '\n' ';')"
	fi
	say "$SBIN" status
	expect_status 0
	if ! grep -q 'www' "$OUT"; then
		fail "acmed status: $(cat "$OUT" "$ERR" | tr '\n' ';')"
	fi
	sanitizer_reports
}

serial()
{
	openssl x509 -in "$1" -noout -serial 2>/dev/null
}

# deploys N: the deploy service has run N times.
deploys()
{
	[[ $(in_ct sh -c 'cat /run/deploys 2>/dev/null' | grep -c deployed) == "$1" ]]
}

deploys_said()
{
	echo "$(in_ct sh -c 'cat /run/deploys 2>/dev/null' | grep -c deployed) deploys"
}

# renewed FILE SERIAL: FILE holds a certificate with another serial.
renewed()
{
	local now

	now=$(serial "$1")
	[[ -n $now && $now != "$2" ]]
}

t_reload_stop()
{
	local got before

	# A broken configuration: refused, and the journal has it as an error
	# (priority 3 from the "<3>" prefix), without an "acmed:" prefix
	# doubling the journal's own.
	printf 'renew-before = soon\n' >>"$ROOT$ETC/acmed.conf"
	say systemctl reload acmed.service
	expect_status 0
	wait_until 10 sh -c "nsenter -t $LEADER -a journalctl -u acmed.service -p err -o cat 2>/dev/null | grep -q 'configuration not changed'"
	say journalctl -u acmed.service -p err --no-pager -o cat
	if ! grep -q '^error: reload: configuration not changed' "$OUT"; then
		fail "journalctl -p err: $(tr '\n' ';' <"$OUT")"
	fi
	if grep -q 'installed' "$OUT"; then
		fail "informational lines logged as errors: $(tr '\n' ';' <"$OUT")"
	fi
	got=$(in_ct journalctl -u acmed.service -o cat | grep -c '^acmed: ')
	if [[ $got != 0 ]]; then
		fail "$got journal lines start with 'acmed: '"
	fi
	if ! in_ct systemctl is-active -q acmed.service; then
		fail "the daemon stopped on a broken configuration"
	fi

	conf >"$ROOT$ETC/acmed.conf"
	cat >>"$ROOT$ETC/acmed.conf" <<EOF

[cert mail]
domains = mail.example.com
EOF
	if ! in_ct test -S /run/acmed/acmed.sock; then
		fail "no control socket while the daemon runs"
	fi
	say systemctl reload acmed.service
	expect_status 0
	if ! wait_until 60 test -s "$ROOT/var/lib/acmed/certs/mail/cert.pem"; then
		fail "the reload did not issue the added certificate: $(in_ct journalctl -u acmed --no-pager -n 10 2>&1 | tr '\n' ';')"
	fi
	# The deploy step for the daemon, whose hooks run as acmed without new
	# privileges: its deploy hook (see conf) leaves a flag file, a path
	# unit starts a root service on it, and that service removes the flag
	# after its work (the README's reloads nginx; here it counts).
	cat >"$ROOT/etc/systemd/system/acmed-deploy.path" <<'UNIT'
[Unit]
Description=Deploy what acmed installed

[Path]
PathExists=/var/lib/acmed/deployed

[Install]
WantedBy=multi-user.target
UNIT
	cat >"$ROOT/etc/systemd/system/acmed-deploy.service" <<'UNIT'
[Unit]
Description=Deploy what acmed installed

[Service]
Type=oneshot
ExecStart=/bin/sh -c 'echo deployed >>/run/deploys'
ExecStartPost=/bin/rm -f /var/lib/acmed/deployed
UNIT
	in_ct systemctl daemon-reload
	say systemctl enable --now acmed-deploy.path
	expect_status 0
	# The flag of the first issues is taken at once.
	if ! wait_until 10 deploys 1; then
		fail "the path unit did not take the flag left by the first issues: $(deploys_said)"
	fi
	before=$(serial "$ROOT/var/lib/acmed/certs/www/cert.pem")
	say "$SBIN" renew --now www
	expect_status 0
	if ! wait_until 60 renewed "$ROOT/var/lib/acmed/certs/www/cert.pem" "$before"; then
		fail "renew --now did not renew www"
	elif ! wait_until 10 deploys 2; then
		fail "the renewal was not deployed: $(deploys_said); $(in_ct systemctl status acmed-deploy.path --no-pager 2>&1 | head -n 5 | tr '\n' ';')"
	elif [[ -e $ROOT/var/lib/acmed/deployed ]]; then
		fail "the flag is left after the deploy service"
	fi

	say systemctl stop acmed.service
	expect_status 0
	in_ct systemctl is-failed acmed.service >"$T/state" 2>&1
	if [[ $(cat "$T/state") != inactive ]]; then
		fail "after stop: $(cat "$T/state")"
	fi
	# (in the container: its /run is its own tmpfs)
	if in_ct test -e /run/acmed/acmed.sock; then
		fail "the control socket is left after stop"
	fi
	sanitizer_reports
}

# With the daemon stopped, the timer's service does one renew pass: a
# certificate added since is issued, the others are not due.
t_timer()
{
	cat >>"$ROOT$ETC/acmed.conf" <<EOF

[cert api]
domains = api.example.com
EOF
	say systemctl enable --now acmed-renew.timer
	expect_status 0
	say systemctl start acmed-renew.service
	expect_status 0
	if [[ ! -s $ROOT/var/lib/acmed/certs/api/cert.pem ]]; then
		fail "acmed-renew.service did not issue api: $(in_ct journalctl -u acmed-renew --no-pager -n 10 2>&1 | tr '\n' ';')"
	fi
	say journalctl -u acmed-renew.service --no-pager -o cat
	say systemctl list-timers acmed-renew.timer --no-pager
	if ! grep -q 'acmed-renew.timer' "$OUT"; then
		fail "the timer is not listed: $(cat "$OUT" | tr '\n' ';')"
	fi
	sanitizer_reports
}

main_pid()
{
	in_ct systemctl show -p MainPID --value acmed.service
}

# status_shows TEXT: systemd's status line of the daemon (its last STATUS=)
# holds TEXT.
status_shows()
{
	in_ct systemctl show -p StatusText --value acmed.service | grep -q -- "$1"
}

# restarted PID: the daemon runs again under another main PID.
restarted()
{
	local now

	now=$(main_pid)
	[[ -n $now && $now != 0 && $now != "$1" ]] && in_ct systemctl is-active -q acmed.service
}

# The watchdog, short for the test (the unit's is minutes): a healthy
# daemon feeds it from its loop through a wait and a reload, and its
# STATUS= follows a job; a daemon stopped with SIGSTOP is killed and
# restarted by systemd.
t_watchdog()
{
	local pid restarts since

	mkdir -p "$ROOT/etc/systemd/system/acmed.service.d" || return
	printf '[Service]\nWatchdogSec=3s\nRestartSec=1s\nTimeoutAbortSec=10s\n' \
		>"$ROOT/etc/systemd/system/acmed.service.d/watchdog.conf"
	# A job that runs for a few seconds: its STATUS= can be seen. (A
	# global key: before the sections.)
	sed -i '1i pre-hook = /bin/sleep 3' "$ROOT$ETC/acmed.conf" || return
	in_ct systemctl daemon-reload
	say systemctl restart acmed.service
	expect_status 0
	say systemctl show -p WatchdogUSec --value acmed.service
	if [[ $(cat "$OUT") != 3s ]]; then
		fail "WatchdogUSec: $(cat "$OUT"), want 3s"
	fi
	if ! wait_until 10 status_shows '3 certificates, 0 jobs running'; then
		fail "status line after the start: $(in_ct systemctl show -p StatusText acmed.service)"
	fi
	pid=$(main_pid)
	since=$SECONDS
	restarts=$(in_ct systemctl show -p NRestarts --value acmed.service)
	say systemctl reload acmed.service
	expect_status 0
	say "$SBIN" renew --now www
	expect_status 0
	if ! wait_until 10 status_shows '1 job running'; then
		fail "the status line does not show the running job: $(in_ct systemctl show -p StatusText acmed.service)"
	fi
	if ! wait_until 30 status_shows '0 jobs running, 0 waiting'; then
		fail "the status line does not show the job's end: $(in_ct systemctl show -p StatusText acmed.service)"
	fi
	# Over three times WatchdogSec.
	while ((SECONDS - since < 10)); do
		sleep 1
	done
	if [[ $(main_pid) != "$pid" ]] || ! in_ct systemctl is-active -q acmed.service ||
		[[ $(in_ct systemctl show -p NRestarts --value acmed.service) != "$restarts" ]]; then
		fail "a healthy daemon was restarted: $(in_ct journalctl -u acmed --no-pager -n 10 2>&1 | tr '\n' ';')"
		return
	fi
	say journalctl -u acmed.service --no-pager -o cat -n 50
	if ! grep -q 'systemd watchdog: every 1.5 s' "$OUT"; then
		fail "the daemon did not say it feeds the watchdog"
	fi

	in_ct kill -STOP "$pid"
	if ! wait_until 30 restarted "$pid"; then
		fail "not restarted after SIGSTOP: $(in_ct systemctl status acmed.service --no-pager 2>&1 | head -n 5 | tr '\n' ';')"
		in_ct kill -CONT "$pid"
		return
	fi
	say journalctl -u acmed.service --no-pager -o cat -n 30
	if ! grep -q 'Watchdog timeout' "$OUT"; then
		fail "the journal does not show the watchdog's timeout: $(tail -n 5 "$OUT" | tr '\n' ';')"
	fi
	if [[ $(in_ct systemctl show -p NRestarts --value acmed.service) != $((restarts + 1)) ]]; then
		fail "NRestarts: $(in_ct systemctl show -p NRestarts --value acmed.service), want $((restarts + 1))"
	fi
	if ! wait_until 10 in_ct test -S /run/acmed/acmed.sock; then
		fail "no control socket after the restart"
	fi
	say "$SBIN" status
	expect_status 0
	if ! grep -q 'www' "$OUT"; then
		fail "acmed status after the restart: $(cat "$OUT" "$ERR" | tr '\n' ';')"
	fi
	say systemctl stop acmed.service
	rm -f "$ROOT/etc/systemd/system/acmed.service.d/watchdog.conf"
	in_ct systemctl daemon-reload
	sanitizer_reports
}

pebble_start || exit 1
root_make || exit 99
boot || exit 1

case_ "systemctl enable --now acmed: issued as the acmed user, status over the socket" t_enable
case_ "reload refuses a broken configuration, adds a certificate; a path unit deploys a renewal; stop leaves no socket" t_reload_stop
case_ "acmed-renew.service from the timer issues what was added" t_timer
case_ "watchdog: a healthy daemon is left running and its status follows a job; one stopped with SIGSTOP is restarted" t_watchdog

# An orderly shutdown of the container.
kill -TERM "$NSPAWN_PID" 2>/dev/null
wait_until 30 sh -c "! kill -0 $NSPAWN_PID 2>/dev/null"
root_release
lib_finish
