#!/usr/bin/env bash
# What "meson install --destdir" places, and that it works where it lands:
# - the binary, the three man pages, the example configuration (in
#   sysconfdir/acmed and datadir/acmed), the three systemd units, the
#   sysusers.d and tmpfiles.d entries and the bash completion, each in the
#   folder it belongs to, with its mode, and nothing else;
# - a second install keeps an acmed.conf the operator edited;
# - "systemd-analyze verify" is clean on the installed units, their
#   Documentation= pages found among the installed ones;
# - the installed sysusers.d and tmpfiles.d entries, applied to an empty
#   root, create the user acmed and its folders (as root only);
# - the installed completion loads in bash and completes commands, options,
#   their values and the certificate names of a configuration, driven through
#   COMP_WORDS and COMP_CWORD.
#
# The expected folders are worked out here from the build's options and the
# same pkg-config variables meson reads (systemd's systemdsystemunitdir,
# sysusersdir and tmpfilesdir under the prefix; bash-completion's
# completionsdir under datadir), with the same fallbacks.
#
# Environment: ACMED (the binary under test), MESON_BUILD_ROOT (the build
# folder to install from; set by meson), MESON (the meson command, default
# meson), ACMED_EXPECTED_VERSION. Needs no network and no Pebble. Exits 0, 1
# when a case failed, 77 when cases were skipped (no systemd-analyze, no man
# pages; the case that needs root is skipped without it, quietly), 99 when
# the harness is broken.
set -uo pipefail

# shellcheck source=lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh" || exit 99
lib_init install

SRC=$(cd "$TESTS_DIR/.." && pwd) || exit 99
BUILD=${MESON_BUILD_ROOT:-}
MESON=${MESON:-meson}
D=$T/dest
unset DESTDIR

if [[ -z $BUILD || ! -f $BUILD/meson-info/intro-buildoptions.json ]]; then
	echo "install.sh: set MESON_BUILD_ROOT to a configured meson build folder (got '$BUILD')" >&2
	exit 99
fi
if ! command -v "$MESON" >/dev/null 2>&1 || ! command -v python3 >/dev/null 2>&1; then
	echo "install.sh: meson and python3 are needed (MESON is '$MESON')" >&2
	exit 99
fi

PREFIX=$(build_option prefix)
# in_prefix DIR: DIR, a build option's folder, made absolute as meson does.
in_prefix()
{
	if [[ $1 == /* ]]; then
		printf '%s\n' "$1"
	else
		printf '%s\n' "$PREFIX/$1"
	fi
}

# pc_dir PACKAGE VARIABLE DEFINE FALLBACK: the folder pkg-config gives for
# VARIABLE of PACKAGE with --define-variable=DEFINE, else FALLBACK.
pc_dir()
{
	local dir=

	if command -v pkg-config >/dev/null 2>&1 && pkg-config --exists "$1"; then
		dir=$(pkg-config --define-variable="$3" --variable="$2" "$1")
	fi
	printf '%s\n' "${dir:-$4}"
}

SBINDIR=$(in_prefix "$(build_option sbindir)")
MANDIR=$(in_prefix "$(build_option mandir)")
DATADIR=$(in_prefix "$(build_option datadir)")
SYSCONFDIR=$(in_prefix "$(build_option sysconfdir)")
UNITDIR=$(pc_dir systemd systemdsystemunitdir "prefix=$PREFIX" "$PREFIX/lib/systemd/system")
SYSUSERSDIR=$(pc_dir systemd sysusersdir "prefix=$PREFIX" "$PREFIX/lib/sysusers.d")
TMPFILESDIR=$(pc_dir systemd tmpfilesdir "prefix=$PREFIX" "$PREFIX/lib/tmpfiles.d")
COMPLETIONSDIR=$(pc_dir bash-completion completionsdir "datadir=$DATADIR" \
	"$DATADIR/bash-completion/completions")

BIN=$SBINDIR/acmed
CONF=$SYSCONFDIR/acmed/acmed.conf
COMPLETION=$COMPLETIONSDIR/acmed
UNITS=(acmed.service acmed-renew.service acmed-renew.timer)
# The man pages are built when scdoc was found (man-pages=auto).
MAN_PAGES=()
if [[ -f $BUILD/man/acmed.8 ]]; then
	MAN_PAGES=(man8/acmed.8 man5/acmed.conf.5 man7/acmed-hooks.7)
fi

# installed_file PATH SOURCE MODE: PATH (an installed path, without the
# destdir) is a regular file with mode MODE and the content of SOURCE.
installed_file()
{
	if [[ -L $D$1 || ! -f $D$1 ]]; then
		fail "$1: not installed"
		return
	fi
	expect_file_mode "$D$1" "$3"
	if ! cmp -s -- "$2" "$D$1"; then
		fail "$1: differs from $2"
	fi
}

# meson_install: "meson install --destdir $D" from the build folder.
meson_install()
{
	LAST_CMD="$MESON install -C $BUILD --no-rebuild --destdir $D"
	timeout 60 "$MESON" install -C "$BUILD" --no-rebuild --destdir "$D" >"$OUT" 2>"$ERR"
	RC=$?
}

t_install()
{
	local want=() got

	meson_install
	expect_status 0
	[[ $RC == 0 ]] || return

	installed_file "$BIN" "$ACMED" 755
	installed_file "$CONF" "$SRC/conf/acmed.conf" 644
	installed_file "$DATADIR/acmed/acmed.conf" "$SRC/conf/acmed.conf" 644
	installed_file "$DATADIR/acmed/hooks/dns-nsupdate" "$SRC/conf/hooks/dns-nsupdate" 755
	installed_file "$UNITDIR/acmed.service" "$BUILD/systemd/acmed.service" 644
	installed_file "$UNITDIR/acmed-renew.service" "$BUILD/systemd/acmed-renew.service" 644
	installed_file "$UNITDIR/acmed-renew.timer" "$SRC/systemd/acmed-renew.timer" 644
	installed_file "$SYSUSERSDIR/acmed.conf" "$SRC/systemd/acmed.sysusers" 644
	installed_file "$TMPFILESDIR/acmed.conf" "$SRC/systemd/acmed.tmpfiles" 644
	installed_file "$COMPLETION" "$SRC/completion/acmed.bash" 644
	for got in "${MAN_PAGES[@]}"; do
		installed_file "$MANDIR/$got" "$BUILD/man/${got#*/}" 644
	done

	# Nothing else: a file installed to a wrong folder shows here too.
	want=("$BIN" "$CONF" "$DATADIR/acmed/acmed.conf" "$DATADIR/acmed/hooks/dns-nsupdate"
		"$SYSUSERSDIR/acmed.conf"
		"$TMPFILESDIR/acmed.conf" "$COMPLETION")
	for got in "${UNITS[@]}"; do
		want+=("$UNITDIR/$got")
	done
	for got in "${MAN_PAGES[@]}"; do
		want+=("$MANDIR/$got")
	done
	got=$(cd "$D" && find . ! -type d | sed 's/^\.//' | LC_ALL=C sort)
	if [[ $got != "$(printf '%s\n' "${want[@]}" | LC_ALL=C sort)" ]]; then
		fail "installed files differ from the expected ones: $(diff <(printf '%s\n' "${want[@]}" | LC_ALL=C sort) <(printf '%s\n' "$got") | grep '^[<>]' | tr '\n' ';')"
	fi

	LAST_CMD="$BIN --version"
	"$D$BIN" --version >"$OUT" 2>"$ERR"
	RC=$?
	expect_status 0
	if [[ $(head -n1 "$OUT") != "acmed ${ACMED_EXPECTED_VERSION:-}" ]]; then
		fail "--version: first line '$(head -n1 "$OUT")', want 'acmed ${ACMED_EXPECTED_VERSION:-}'"
	fi
}

t_man_pages()
{
	local page

	for page in "${MAN_PAGES[@]}"; do
		if [[ ! -f $D$MANDIR/$page ]]; then
			fail "$MANDIR/$page: not installed"
		fi
	done
}

# The install script never overwrites the operator's configuration, nor its
# mode; the pristine copy in datadir is refreshed.
t_reinstall_keeps_conf()
{
	if [[ ! -f $D$CONF ]]; then
		fail "$CONF: not installed by the first install"
		return
	fi
	printf 'ca = letsencrypt-staging # edited by install.sh\n' >>"$D$CONF"
	chmod 0640 "$D$CONF"
	cp -- "$D$CONF" "$T/edited.conf"
	meson_install
	expect_status 0
	if ! cmp -s -- "$T/edited.conf" "$D$CONF"; then
		fail "$CONF: the edit is gone after a second install"
	fi
	expect_file_mode "$D$CONF" 640
	installed_file "$DATADIR/acmed/acmed.conf" "$SRC/conf/acmed.conf" 644
	installed_file "$DATADIR/acmed/hooks/dns-nsupdate" "$SRC/conf/hooks/dns-nsupdate" 755
}

# verify wants ExecStart= to exist: the copies checked run the installed
# binary under the destdir, nothing else changed. man finds the pages of
# Documentation= among the installed ones (MANPATH), or is not asked when
# this build has none.
t_verify_units()
{
	local u files=() man=(--man=no)

	mkdir -p "$T/units" || return
	for u in "${UNITS[@]}"; do
		if [[ ! -f $D$UNITDIR/$u ]]; then
			fail "$UNITDIR/$u: not installed"
			return
		fi
		sed -E "s#^ExecStart=$BIN( |\$)#ExecStart=$D$BIN\\1#" "$D$UNITDIR/$u" >"$T/units/$u"
		files+=("$T/units/$u")
	done
	if ! grep -q "^ExecStart=$D$BIN run\$" "$T/units/acmed.service"; then
		fail "acmed.service: ExecStart= does not run $BIN"
	fi
	if ((${#MAN_PAGES[@]})); then
		man=()
	fi
	LAST_CMD="MANPATH=$MANDIR systemd-analyze verify ${man[*]} ${UNITS[*]}"
	MANPATH=$D$MANDIR systemd-analyze verify "${man[@]}" "${files[@]}" >"$OUT" 2>"$ERR"
	RC=$?
	expect_status 0
	if [[ -s $OUT || -s $ERR ]]; then
		fail "systemd-analyze verify printed something"
	fi
}

# The entries as systemd applies them at boot, sysusers.d first, on an
# empty root; then tmpfiles.d puts back the folders' owner and mode.
t_sysusers_tmpfiles()
{
	local root=$T/root uid

	mkdir -p "$root/etc" || return
	LAST_CMD="systemd-sysusers --root=ROOT $SYSUSERSDIR/acmed.conf"
	systemd-sysusers --root="$root" "$D$SYSUSERSDIR/acmed.conf" >"$OUT" 2>"$ERR"
	RC=$?
	expect_status 0
	uid=$(awk -F: '$1 == "acmed" { print $3 }' "$root/etc/passwd" 2>/dev/null)
	if ! grep -qE '^acmed:x:[0-9]+:[0-9]+:[^:]*:/var/lib/acmed:[^:]*nologin$' "$root/etc/passwd"; then
		fail "no system user acmed with home /var/lib/acmed and no shell in ROOT/etc/passwd"
		return
	fi
	if ((uid >= 1000)) || ! grep -qE "^acmed:x:[0-9]+:" "$root/etc/group"; then
		fail "acmed is not a system user (uid $uid) with a group of its own"
	fi

	LAST_CMD="systemd-tmpfiles --root=ROOT --create $TMPFILESDIR/acmed.conf"
	systemd-tmpfiles --root="$root" --create "$D$TMPFILESDIR/acmed.conf" >"$OUT" 2>"$ERR"
	RC=$?
	expect_status 0
	if [[ $(stat -c '%a %u:%g' "$root/var/lib/acmed" 2>&1) != "700 $uid:$uid" ]]; then
		fail "/var/lib/acmed: $(stat -c '%a %u:%g' "$root/var/lib/acmed" 2>&1), want 700 acmed:acmed"
	fi
	if [[ $(stat -c '%a %u:%g' "$root/etc/acmed" 2>&1) != "755 0:0" ]]; then
		fail "/etc/acmed: $(stat -c '%a %u:%g' "$root/etc/acmed" 2>&1), want 755 root:root"
	fi

	chmod 0755 "$root/var/lib/acmed"
	chown 0:0 "$root/var/lib/acmed"
	systemd-tmpfiles --root="$root" --create "$D$TMPFILESDIR/acmed.conf" >"$OUT" 2>"$ERR"
	RC=$?
	expect_status 0
	if [[ $(stat -c '%a %u:%g' "$root/var/lib/acmed" 2>&1) != "700 $uid:$uid" ]]; then
		fail "/var/lib/acmed: not put back to 700 acmed:acmed"
	fi
}

# complete_with PATH-DIR WORD...: runs the installed completion in a clean bash
# for the line WORD... (the cursor at the end of the last word), with PATH-DIR
# first in PATH; COMPREPLY goes to $OUT, one per line. SIGPIPE is ignored, as
# under some terminals and IDEs, so that a pipe the completion leaves unread
# shows as an error on stderr.
complete_with()
{
	local dir=$1
	shift

	LAST_CMD="complete: $*"
	PATH=$dir:$PATH timeout 30 bash --norc --noprofile -c '
		trap "" PIPE
		. "$1" || exit 1
		shift
		COMP_WORDS=("$@")
		COMP_CWORD=$(($# - 1))
		COMP_LINE="$*"
		COMP_POINT=${#COMP_LINE}
		_acmed
		if ((${#COMPREPLY[@]})); then
			printf "%s\n" "${COMPREPLY[@]}"
		fi' complete "$D$COMPLETION" "$@" >"$OUT" 2>"$ERR"
	RC=$?
}

# complete_line WORD...: complete_with the installed acmed.
complete_line()
{
	complete_with "$D$SBINDIR" "$@"
}

# expect_completions WORD...: the completions are WORD..., in any order.
expect_completions()
{
	local got want

	expect_status 0
	got=$(LC_ALL=C sort -u "$OUT")
	want=$(if (($#)); then printf '%s\n' "$@"; fi | LC_ALL=C sort -u)
	if [[ $got != "$want" ]]; then
		fail "completes to '${got//$'\n'/ }', want '${want//$'\n'/ }'"
	fi
	if [[ -s $ERR ]]; then
		fail "the completion printed on stderr"
	fi
}

t_completion_loads()
{
	LAST_CMD="bash: . $COMPLETION; complete -p acmed"
	timeout 30 bash --norc --noprofile -c '. "$1" && complete -p acmed' complete "$D$COMPLETION" \
		>"$OUT" 2>"$ERR"
	RC=$?
	expect_status 0
	expect_stdout "complete -F _acmed acmed"
	if [[ -s $ERR ]]; then
		fail "loading the completion printed on stderr"
	fi
}

t_complete_commands()
{
	complete_line acmed re
	expect_completions renew revoke
	complete_line acmed ''
	expect_completions account cert check cluster-key delete deploy dns-persist jobs notify-test renew revoke run status terms
	complete_line acmed -c "$T/x.conf" -v st
	expect_completions status
}

# A configuration with three certificates, one commented out, and section
# headers spaced as acmed allows; acmed itself must see the same names.
CERT_CONF=$T/etc/acmed.conf
mkdir -p "$T/etc" || exit 99
cat >"$CERT_CONF" <<'EOF' || exit 99
ca = letsencrypt-staging

[cert www]
domains = example.com www.example.com

  [ cert	mail.example ]
domains = mail.example.com

#[cert retired]
#domains = old.example.com

[cert api_2]
domains = api.example.com

[ca mine]
url = https://ca.example/dir
EOF

t_complete_cert_names()
{
	# The names acmed reads from the test configuration.
	run -c "$CERT_CONF" status --json
	expect_status 0
	if [[ $(grep -oE '"cert": ?"[^"/]*"' "$OUT" | tr -d ' ' | LC_ALL=C sort | tr '\n' ' ') != \
		'"cert":"api_2" "cert":"mail.example" "cert":"www" ' ]]; then
		fail "acmed status does not list the certificates api_2, mail.example and www"
	fi

	complete_line acmed -c "$CERT_CONF" renew ''
	expect_completions api_2 mail.example www
	complete_line acmed renew --now -c "$CERT_CONF" ''
	expect_completions api_2 mail.example www
	complete_line acmed renew -c "$CERT_CONF" m
	expect_completions mail.example
	# "--config=FILE" arrives as three words; a name given is not offered
	# again.
	complete_line acmed renew --config = "$CERT_CONF" www ''
	expect_completions api_2 mail.example
	# No -c: the default configuration that "acmed renew --help" names.
	# The wrapper is the installed acmed with that default moved to the
	# test configuration.
	mkdir -p "$T/wrap" || return
	cat >"$T/wrap/acmed" <<EOF
#!/bin/sh
if [ "\${2:-}" = --help ]; then
	"$D$BIN" "\$@" | sed 's#(default [^)]*)#(default $CERT_CONF)#'
else
	exec "$D$BIN" "\$@"
fi
EOF
	chmod 0755 "$T/wrap/acmed"
	complete_with "$T/wrap" acmed renew ''
	expect_completions api_2 mail.example www
	complete_with "$T/wrap" acmed renew --now a
	expect_completions api_2
}

t_complete_options()
{
	complete_line acmed renew --no
	expect_completions --no-caa-check --now
	complete_line acmed renew --now
	expect_completions --now
	complete_line acmed account ''
	expect_completions show register update rollover deactivate
	complete_line acmed account --json r
	expect_completions register rollover
	complete_line acmed revoke --reason ''
	expect_completions unspecified keyCompromise affiliationChanged superseded cessationOfOperation
	complete_line acmed revoke --reason = k
	expect_completions keyCompromise
	complete_line acmed cert --key-type rsa
	expect_completions rsa-2048 rsa-3072 rsa-4096
	complete_line acmed account --account-key-type ec
	expect_completions ec-p256 ec-p384
	complete_line acmed cert --eab-alg ''
	expect_completions HS256 HS384 HS512
	complete_line acmed cert --ca letsencrypt
	expect_completions letsencrypt letsencrypt-staging
	# The configuration's [ca NAME] sections too.
	complete_line acmed -c "$CERT_CONF" cert --ca mi
	expect_completions mine
	complete_line acmed check "$T/etc/acmed."
	expect_completions "$CERT_CONF"
}

case_ "meson install --destdir places every file, with its mode" t_install
if ((${#MAN_PAGES[@]})); then
	case_ "the three man pages are installed" t_man_pages
else
	skip_case "the three man pages are installed" "not built (scdoc not found)"
	LIB_SKIPPED=1
fi
case_ "a second install keeps an edited acmed.conf" t_reinstall_keeps_conf
if command -v systemd-analyze >/dev/null 2>&1; then
	case_ "systemd-analyze verify is clean on the installed units" t_verify_units
else
	skip_case "systemd-analyze verify is clean on the installed units" "no systemd-analyze"
	LIB_SKIPPED=1
fi
if ((EUID == 0)) && command -v systemd-sysusers >/dev/null 2>&1 &&
	command -v systemd-tmpfiles >/dev/null 2>&1; then
	case_ "sysusers.d and tmpfiles.d make the user acmed and its folders" t_sysusers_tmpfiles
else
	# An extra: the installed files are checked above whoever runs this.
	skip_case "sysusers.d and tmpfiles.d make the user acmed and its folders" \
		"needs root, systemd-sysusers and systemd-tmpfiles"
fi
case_ "the bash completion loads" t_completion_loads
case_ "acmed re<TAB> completes to renew and revoke" t_complete_commands
case_ "acmed renew <TAB> completes the configuration's certificates" t_complete_cert_names
case_ "options, subcommands and option values complete" t_complete_options
lib_finish
