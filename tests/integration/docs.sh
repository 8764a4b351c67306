#!/usr/bin/env bash
# The documentation keeps up with the code:
# - every man page built from man/*.scd renders with "man -l" without a
#   warning, and no @PLACEHOLDER@ is left in it;
# - acmed(8) describes every command and every option that "acmed CMD
#   --help" prints, each command's options are in its SYNOPSIS, and it names
#   no option acmed does not have;
# - acmed.conf(5) and conf/acmed.conf describe every key of src/conf/conf.c's
#   table and no other;
# - acmed-hooks(7) names every ACMED_* variable the hooks get;
# - conf/acmed.conf, its commented-out sections and the examples of
#   acmed.conf(5) pass "acmed check"; the shell scripts of acmed-hooks(7)
#   parse.
#
# Environment: ACMED (the binary under test), TESTS_DIR (tests/ in the
# source tree), MAN_DIR (the build's man/ folder with acmed.8, acmed.conf.5
# and acmed-hooks.7; the man page cases are skipped when they were not built,
# for want of scdoc). Needs no network and no Pebble. Exits 0, 1 when a case
# failed, 77 when cases were skipped, 99 when the harness is broken.
set -uo pipefail

# shellcheck source=lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh" || exit 99
lib_init docs

SRC=$(cd "$TESTS_DIR/.." && pwd) || exit 99
MAN_DIR=${MAN_DIR:-}
PAGES=(acmed.8 acmed.conf.5 acmed-hooks.7)
COMMON_OPTS=(--config --verbose --quiet --help)

have_pages()
{
	local p

	[[ -n $MAN_DIR ]] || return 1
	for p in "${PAGES[@]}"; do
		[[ -f $MAN_DIR/$p ]] || return 1
	done
	command -v man >/dev/null 2>&1
}

# render PAGE: the page as plain text, one paragraph per line (wide enough
# that nothing wraps), into $T/PAGE.txt.
render()
{
	LC_ALL=C MANWIDTH=1000 man -l "$MAN_DIR/$1" 2>/dev/null >"$T/$1.txt"
}

# section FILE NAME: the lines of the section NAME of a rendered page.
section()
{
	awk -v name="$2" '
		/^[A-Z]/ { inside = ($0 == name); next }
		inside' "$1"
}

# The commands, from "acmed --help".
commands()
{
	"$ACMED" --help | awk '/^commands:/ { on = 1; next } on && /^  [a-z]/ { print $1 }'
}

# The long options "acmed CMD --help" prints, one per line, with "--".
command_options()
{
	"$ACMED" "$1" --help | grep -oE '^ +(-[a-zA-Z], )?--[a-z][a-z-]*' |
		grep -oE -- '--[a-z][a-z-]*'
}

# The keys of the table in src/conf/conf.c, one per line.
conf_keys()
{
	sed -nE 's/^[[:space:]]*(KEY|LIST)\([A-Z_]+, "([a-z][a-z-]*)".*/\2/p' "$SRC/src/conf/conf.c"
}

# is_in WORD LIST...: whether WORD is one of LIST.
is_in()
{
	local w=$1 x
	shift

	for x in "$@"; do
		[[ $x == "$w" ]] && return 0
	done
	return 1
}

# ---- cases ----

t_render()
{
	local p

	for p in "${PAGES[@]}"; do
		if ! LC_ALL=C MANWIDTH=80 man -l --warnings "$MAN_DIR/$p" >"$T/$p.80" 2>"$T/warn.txt"; then
			fail "$p: man -l failed: $(head -n 3 "$T/warn.txt" | tr '\n' ' ')"
		elif [[ -s $T/warn.txt ]]; then
			fail "$p: warnings: $(head -n 5 "$T/warn.txt" | tr '\n' ' ')"
		fi
		if [[ $(wc -l <"$T/$p.80") -lt 20 ]]; then
			fail "$p: renders to less than 20 lines"
		fi
		if grep -qE '@[A-Z_]+@' "$T/$p.80"; then
			fail "$p: placeholder left: $(grep -oE '@[A-Z_]+@' "$T/$p.80" | sort -u | tr '\n' ' ')"
		fi
		for s in NAME DESCRIPTION "SEE ALSO"; do
			if ! grep -qx "$s" "$T/$p.80"; then
				fail "$p: no $s section"
			fi
		done
	done
	for s in SYNOPSIS SIGNALS ENVIRONMENT FILES "EXIT STATUS" EXAMPLES STANDARDS BUGS; do
		if ! grep -qx "$s" "$T/acmed.8.80"; then
			fail "acmed.8: no $s section"
		fi
	done
	for rfc in 8555 8737 8738 9773 7638; do
		if ! section "$T/acmed.8.txt" STANDARDS | grep -q "RFC $rfc"; then
			fail "acmed.8: STANDARDS does not cite RFC $rfc"
		fi
	done
	for code in 0 1 2 3; do
		if ! section "$T/acmed.8.txt" "EXIT STATUS" | grep -qE "^ +$code\$"; then
			fail "acmed.8: EXIT STATUS does not describe $code"
		fi
	done
}

t_commands_and_options()
{
	local cmds cmd opt all=() synopsis page re

	mapfile -t cmds < <(commands)
	if ((${#cmds[@]} < 5)); then
		fail "acmed --help lists ${#cmds[@]} commands: cannot read its output"
		return
	fi
	section "$T/acmed.8.txt" SYNOPSIS >"$T/synopsis.txt"
	page=$(<"$T/acmed.8.txt")
	for cmd in "${cmds[@]}"; do
		if ! grep -qE "^ +$cmd( |\$)" "$T/acmed.8.txt"; then
			fail "acmed.8: command '$cmd' is not described"
		fi
		# The paragraphs of the SYNOPSIS that start with "acmed CMD".
		synopsis=$(awk -v c="$cmd" 'BEGIN { RS = "" }
			{ sub(/^ +/, "") } index($0, "acmed " c " ") == 1 || $0 == "acmed " c' \
			"$T/synopsis.txt")
		if [[ -z $synopsis ]]; then
			fail "acmed.8: no SYNOPSIS for '$cmd'"
		fi
		while read -r opt; do
			all+=("$opt")
			re="(^|[^a-z-])$opt([^a-z-]|\$)"
			if ! [[ $page =~ $re ]]; then
				fail "acmed.8: '$cmd $opt' is not described"
			fi
			if ! is_in "$opt" "${COMMON_OPTS[@]}" && ! [[ $synopsis =~ $re ]]; then
				fail "acmed.8: '$opt' is not in the SYNOPSIS of '$cmd'"
			fi
		done < <(command_options "$cmd")
	done
	all+=(--version)
	while read -r opt; do
		if ! is_in "$opt" "${all[@]}"; then
			fail "acmed.8: names '$opt', which no command has"
		fi
	done < <(grep -oE -- '(^|[^a-z-])--[a-z][a-z-]*' "$T/acmed.8.txt" |
		grep -oE -- '--[a-z][a-z-]*' | sort -u)
}

t_conf_keys()
{
	local keys key n_enum documented

	mapfile -t keys < <(conf_keys)
	n_enum=$(awk '/^enum conf_key /,/^};/' "$SRC/src/conf/conf.h" |
		grep -cE '^[[:space:]]*CONF_KEY_[A-Z][A-Z_]*,')
	if ((${#keys[@]} == 0 || ${#keys[@]} != n_enum)); then
		fail "read ${#keys[@]} keys from src/conf/conf.c, but enum conf_key has $n_enum"
		return
	fi
	section "$T/acmed.conf.5.txt" KEYS >"$T/keys.txt"
	for key in "${keys[@]}"; do
		if ! grep -qE "^ +$key = " "$T/keys.txt"; then
			fail "acmed.conf.5: key '$key' is not in KEYS"
		fi
		if ! grep -qE "^#?$key = " "$SRC/conf/acmed.conf"; then
			fail "conf/acmed.conf: key '$key' is missing (set, or commented out as #$key = ...)"
		fi
	done
	while read -r documented; do
		if ! is_in "$documented" "${keys[@]}"; then
			fail "acmed.conf.5: describes '$documented', which is not a key"
		fi
	done < <(sed -nE 's/^ +([a-z][a-z-]*) = .*/\1/p' "$T/keys.txt")
	while read -r documented; do
		if ! is_in "$documented" "${keys[@]}"; then
			fail "conf/acmed.conf: sets '$documented', which is not a key"
		fi
	done < <(sed -nE 's/^#?([a-z][a-z-]*) = .*/\1/p' "$SRC/conf/acmed.conf")
}

t_hook_variables()
{
	local var vars

	mapfile -t vars < <(grep -ohE '"ACMED_[A-Z_]+=?' "$SRC"/src/challenge/*.c "$SRC"/src/renew/*.c |
		tr -d '"=' | sort -u)
	if ((${#vars[@]} < 5)); then
		fail "found ${#vars[@]} ACMED_* variables in src/: cannot read the sources"
		return
	fi
	for var in "${vars[@]}"; do
		if ! grep -qE "(^|[^A-Z_])$var([^A-Z_]|\$)" "$T/acmed-hooks.7.txt"; then
			fail "acmed-hooks.7: $var is not described"
		fi
	done
}

# The examples name /var/www/acme, /etc/acmed/dns-hook and port 80, which
# this host need not have: --syntax checks the file alone (check.sh checks
# the host).
t_check_example()
{
	run check --syntax -c "$SRC/conf/acmed.conf"
	expect_status 0
	expect_stdout_contains "ok"
	if [[ -s $ERR ]]; then
		fail "acmed check wrote to stderr"
	fi
}

# The [cert] sections at the end of conf/acmed.conf are commented out (an
# installed example must not order certificates for example.com); uncommented,
# they must be valid too.
t_check_example_sections()
{
	awk '/^#\[cert / { on = 1 } on && /^#(\[cert |[a-z][a-z-]* = )/ { sub(/^#/, "") } { print }' \
		"$SRC/conf/acmed.conf" >"$T/sections.conf"
	run check --syntax "$T/sections.conf"
	expect_status 0
	expect_stdout_matches 'ok, [1-9][0-9]* certificates'
}

# The literal blocks of the EXAMPLES section of acmed.conf.5.scd.
t_check_man_examples()
{
	local n=0 f

	awk -v dir="$T" '
		/^```/ { if (block) { block = 0 } else { block = 1; n += inside } ; next }
		!block && /^# / { inside = ($0 == "# EXAMPLES"); next }
		inside && block { print > (dir "/man-example-" n ".conf") }' \
		"$SRC/man/acmed.conf.5.scd"
	for f in "$T"/man-example-*.conf; do
		[[ -f $f ]] || continue
		n=$((n + 1))
		run check --syntax "$f"
		expect_status 0
		if ((RC != 0)); then
			fail "$(basename "$f") of acmed.conf.5 EXAMPLES: $(head -n 3 "$ERR" | tr '\n' ' ')"
		fi
	done
	if ((n < 1)); then
		fail "no example configuration found in man/acmed.conf.5.scd"
	fi
}

# The scripts (literal blocks starting with #!/bin/sh) of acmed-hooks.7.scd.
t_hook_scripts_parse()
{
	local n=0 f

	awk -v dir="$T" '
		/^```/ { if (block) { block = 0 } else { block = 1; first = 1; n++ } ; next }
		block && first { first = 0; script = ($0 == "#!/bin/sh") }
		block && script { print > (dir "/hook-" n ".sh") }' \
		"$SRC/man/acmed-hooks.7.scd"
	for f in "$T"/hook-*.sh; do
		[[ -f $f ]] || continue
		n=$((n + 1))
		if ! sh -n "$f" 2>"$T/sh.err"; then
			fail "$(basename "$f") of acmed-hooks.7: $(head -n 2 "$T/sh.err" | tr '\n' ' ')"
		fi
	done
	if ((n < 2)); then
		fail "found $n hook scripts in man/acmed-hooks.7.scd, want at least 2"
	fi
	if ! grep -q 'nsupdate' "$SRC/man/acmed-hooks.7.scd"; then
		fail "acmed-hooks.7 has no nsupdate example"
	fi
}

if have_pages; then
	for p in "${PAGES[@]}"; do
		render "$p" || {
			fail_case "render $p"
			lib_finish
		}
	done
	case_ "every man page renders with man -l, without warnings" t_render
	case_ "acmed.8 describes every command and option" t_commands_and_options
	case_ "acmed.conf.5 and conf/acmed.conf describe every config key" t_conf_keys
	case_ "acmed-hooks.7 names every ACMED_* variable" t_hook_variables
else
	LIB_SKIPPED=1
	for c in "man pages render" "acmed.8 options" "config keys" "hook variables"; do
		skip_case "$c" "no man pages in '${MAN_DIR}' (scdoc or man missing)"
	done
fi
case_ "acmed check accepts conf/acmed.conf" t_check_example
case_ "acmed check accepts the commented-out sections of conf/acmed.conf" t_check_example_sections
case_ "acmed check accepts the examples of acmed.conf.5" t_check_man_examples
case_ "the hook scripts of acmed-hooks.7 parse" t_hook_scripts_parse
lib_finish
