#!/usr/bin/env bash
# The systemd units under systemd/, as meson generated them for installation:
# "systemd-analyze verify" prints nothing, the daemon's sandbox stays tight,
# the timer fires twice a day, and the sysusers.d entry parses.
#
# verify insists that ExecStart= names an executable, and the installed path
# (the configured sbindir) need not exist on the machine that runs the tests:
# the units are checked from a copy whose ExecStart= points at the built
# binary, with nothing else changed.
#
# Environment: ACMED (the binary under test), ACMED_SYSTEMD_UNITS (the build
# folder holding the generated units; set by meson). Exits 0, 1 when a case
# failed, 77 when systemd-analyze is not installed, 99 when the harness itself
# is broken.
set -uo pipefail

# shellcheck source=lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh" || exit 99
lib_init systemd

UNITS=(acmed.service acmed-renew.service acmed-renew.timer)
SRC_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)

if [[ -z ${ACMED_SYSTEMD_UNITS:-} || ! -d $ACMED_SYSTEMD_UNITS ]]; then
	echo "systemd.sh: set ACMED_SYSTEMD_UNITS to the build's systemd folder (got '${ACMED_SYSTEMD_UNITS:-}')" >&2
	exit 99
fi
if ! command -v systemd-analyze >/dev/null 2>&1; then
	echo "SKIP: systemd-analyze is not installed (Debian: apt-get install systemd)" >&2
	exit 77
fi

# The generated units, ExecStart= rewritten to the built binary, in $T/units.
# Fails when a service has no ExecStart= running acmed.
copy_units()
{
	local u

	rm -rf -- "$T/units"
	mkdir -p "$T/units" || return 1
	for u in "${UNITS[@]}"; do
		if [[ ! -f $ACMED_SYSTEMD_UNITS/$u ]]; then
			fail "$ACMED_SYSTEMD_UNITS/$u: missing"
			return 1
		fi
		cp -- "$ACMED_SYSTEMD_UNITS/$u" "$T/units/$u" || return 1
		if [[ $u == *.service ]]; then
			if ! grep -qE '^ExecStart=/[^ ]*/acmed( |$)' "$T/units/$u"; then
				fail "$u: no ExecStart= with an absolute path to acmed"
				return 1
			fi
			sed -i -E "s#^ExecStart=/[^ ]*/acmed( |\$)#ExecStart=$ACMED\\1#" "$T/units/$u"
		fi
	done
}

# systemd-analyze verify: no output at all, since a misspelt key or a bad
# value is only a warning that leaves the exit status at 0. The man pages of
# Documentation= are not installed here (--man=no).
t_verify()
{
	local u files=()

	copy_units || return
	for u in "${UNITS[@]}"; do
		files+=("$T/units/$u")
	done
	LAST_CMD="systemd-analyze verify --man=no ${UNITS[*]}"
	systemd-analyze verify --man=no "${files[@]}" >"$OUT" 2>"$ERR"
	RC=$?
	expect_status 0
	if [[ -s $OUT || -s $ERR ]]; then
		fail "systemd-analyze verify printed something"
	fi
}

# The check above catches mistakes: a misspelt key, and an ExecStart= that
# is not executable.
t_verify_catches()
{
	copy_units || return
	sed -i 's/^ProtectSystem=/ProtectSytem=/' "$T/units/acmed.service"
	LAST_CMD="systemd-analyze verify --man=no acmed.service (ProtectSytem=)"
	systemd-analyze verify --man=no "$T/units/acmed.service" >"$OUT" 2>"$ERR"
	RC=$?
	expect_stderr_contains "ProtectSytem"

	copy_units || return
	sed -i -E "s#^ExecStart=[^ ]+#ExecStart=$T/no-such-acmed#" "$T/units/acmed-renew.service"
	LAST_CMD="systemd-analyze verify --man=no acmed-renew.service (missing binary)"
	systemd-analyze verify --man=no "$T/units/acmed-renew.service" >"$OUT" 2>"$ERR"
	RC=$?
	if [[ $RC == 0 ]]; then
		fail "exit status 0 for an ExecStart= that does not exist"
	fi
}

# unit_value UNIT KEY: the values KEY has in UNIT, one per line.
unit_value()
{
	sed -n -E "s/^$2=(.*)\$/\\1/p" "$T/units/$1"
}

# What the issue asks of each unit, read back from the files.
t_settings()
{
	local key want u

	copy_units || return
	declare -A service=(
		[Type]=notify
		[ExecReload]="/bin/kill -HUP \$MAINPID"
		[User]=acmed
		[Group]=acmed
		[UMask]=0077
		[NoNewPrivileges]=yes
		[ProtectSystem]=strict
		[ProtectHome]=yes
		[PrivateTmp]=yes
		[ReadWritePaths]=/var/lib/acmed
		[StateDirectory]=acmed
		[RuntimeDirectory]=acmed
		[SystemCallFilter]=@system-service
		[CapabilityBoundingSet]=CAP_NET_BIND_SERVICE
		[Restart]=on-failure
	)
	for key in "${!service[@]}"; do
		want=${service[$key]}
		if [[ $(unit_value acmed.service "$key") != "$want" ]]; then
			fail "acmed.service: $key is '$(unit_value acmed.service "$key")', want '$want'"
		fi
	done
	for key in StartLimitIntervalSec StartLimitBurst; do
		if [[ -z $(unit_value acmed.service "$key") ]]; then
			fail "acmed.service: no $key (rate limit of Restart=)"
		fi
	done
	# Logs go to the journal through stderr.
	if grep -q -- '--syslog' "$T/units/acmed.service"; then
		fail "acmed.service: runs with --syslog"
	fi
	if [[ $(unit_value acmed.service ExecStart) != "$ACMED run" ]]; then
		fail "acmed.service: ExecStart is '$(unit_value acmed.service ExecStart)', want 'acmed run'"
	fi

	# The loop's watchdog (WATCHDOG=1 from acmed run's event loop).
	if [[ -z $(unit_value acmed.service WatchdogSec) ]]; then
		fail "acmed.service: no WatchdogSec"
	fi

	u=acmed-renew.service
	if [[ $(unit_value "$u" Type) != oneshot ]]; then
		fail "$u: Type is not oneshot"
	fi
	if [[ $(unit_value "$u" ExecStart) != "$ACMED renew" ]]; then
		fail "$u: ExecStart is '$(unit_value "$u" ExecStart)', want 'acmed renew'"
	fi
	# The same sandbox as the daemon, key for key (bar what only a
	# long-running service needs).
	while IFS= read -r key; do
		case $key in
		Type | ExecStart | ExecReload | NotifyAccess | Restart | RestartSec | \
			RestartPreventExitStatus | TimeoutStopSec | RuntimeDirectory | \
			RuntimeDirectoryMode | WatchdogSec) ;;
		*)
			if [[ $(unit_value "$u" "$key") != "$(unit_value acmed.service "$key")" ]]; then
				fail "$u: $key is '$(unit_value "$u" "$key")', acmed.service has '$(unit_value acmed.service "$key")'"
			fi
			;;
		esac
	done < <(sed -n '/^\[Service\]/,/^\[/s/^\([A-Za-z]*\)=.*/\1/p' "$T/units/acmed.service")

	u=acmed-renew.timer
	if [[ $(unit_value "$u" Persistent) != true ]]; then
		fail "$u: Persistent is not true"
	fi
	if [[ $(unit_value "$u" RandomizedDelaySec) != 1h ]]; then
		fail "$u: RandomizedDelaySec is not 1h"
	fi
}

# The daemon's sandbox, as systemd scores it (0 best, 10 worst): a key
# dropped by mistake shows here.
t_security()
{
	copy_units || return
	LAST_CMD="systemd-analyze security --offline=yes --threshold=30 acmed.service"
	systemd-analyze security --offline=yes --threshold=30 --no-pager \
		"$T/units/acmed.service" >"$OUT" 2>"$ERR"
	RC=$?
	expect_status 0
	expect_stdout_matches 'Overall exposure level for acmed.service: [0-2]\.[0-9]'
}

# OnCalendar= fires twice a day, 12 hours apart.
t_timer_calendar()
{
	local spec times

	copy_units || return
	spec=$(unit_value acmed-renew.timer OnCalendar)
	if [[ -z $spec ]]; then
		fail "acmed-renew.timer: no OnCalendar="
		return
	fi
	LAST_CMD="systemd-analyze calendar --iterations=3 '$spec'"
	TZ=UTC systemd-analyze calendar --iterations=3 "$spec" >"$OUT" 2>"$ERR"
	RC=$?
	expect_status 0
	mapfile -t times < <(sed -n -E 's/^ *(Next elapse|Iter\. #[0-9]+): *[A-Za-z]+ ([0-9-]+ [0-9:]+) UTC$/\2/p' "$OUT")
	if [[ ${#times[@]} != 3 ]]; then
		fail "cannot read three elapse times from systemd-analyze calendar"
		return
	fi
	if (($(date -u -d "${times[1]}" +%s) - $(date -u -d "${times[0]}" +%s) != 43200 ||
		$(date -u -d "${times[2]}" +%s) - $(date -u -d "${times[1]}" +%s) != 43200)); then
		fail "elapses ${times[*]} are not 12 hours apart"
	fi
}

# The sysusers.d entry for the user both services run as.
t_sysusers()
{
	if ! command -v systemd-sysusers >/dev/null 2>&1; then
		fail "systemd-sysusers is not installed, but systemd-analyze is"
		return
	fi
	mkdir -p "$T/root"
	LAST_CMD="systemd-sysusers --root=$T/root --dry-run systemd/acmed.sysusers"
	systemd-sysusers --root="$T/root" --dry-run "$SRC_DIR/systemd/acmed.sysusers" \
		>"$OUT" 2>"$ERR"
	RC=$?
	expect_status 0
	expect_stderr_matches "user 'acmed'"
}

case_ "systemd-analyze verify is clean" t_verify
case_ "the verify check catches a misspelt key and a missing binary" t_verify_catches
case_ "the units say what the issue asks" t_settings
case_ "acmed.service exposure level at most 2.9" t_security
case_ "acmed-renew.timer fires twice a day" t_timer_calendar
case_ "acmed.sysusers creates the user acmed" t_sysusers
lib_finish
