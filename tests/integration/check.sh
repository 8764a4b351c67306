#!/usr/bin/env bash
# Integration tests for "acmed check -c FILE": exit 0 for a valid
# configuration, exit 2 and one "FILE:LINE: message" per problem otherwise.
#
# Environment: ACMED (the binary under test). Needs no network and no Pebble.
# Exits 0, 1 when a case failed, 99 when the harness itself is broken.
set -uo pipefail

if [[ -z ${ACMED:-} || ! -x ${ACMED:-} ]]; then
	echo "check.sh: set ACMED to the acmed binary to test (got '${ACMED:-}')" >&2
	exit 99
fi

T=$(mktemp -d "${TMPDIR:-/tmp}/acmed-check.XXXXXX") || exit 99
export HOME=$T/home XDG_STATE_HOME=$T/state XDG_CONFIG_HOME=$T/config
mkdir -p "$HOME"
trap 'rm -rf -- "$T"' EXIT

# ---- a small test runner (TAP-like lines on stdout, details on stderr) ----

N=0
FAILED=0
CASE_FAILED=0
FAIL_MSGS=()

# run ARGS...: runs acmed with a timeout; sets RC, and OUT and ERR (files).
run()
{
	OUT=$T/out
	ERR=$T/err
	LAST_CMD="acmed $*"
	timeout 30 "$ACMED" "$@" </dev/null >"$OUT" 2>"$ERR"
	RC=$?
	if ((RC == 124)); then
		fail "timed out after 30 s"
	fi
	# A sanitizer report is a failure whatever the exit status says.
	if grep -qE 'Sanitizer|runtime error:' "$ERR"; then
		fail "sanitizer report on stderr"
	fi
}

# fail MESSAGE: marks the current case failed; the message is printed after it.
fail()
{
	CASE_FAILED=1
	FAIL_MSGS+=("$*")
}

expect_status()
{
	if [[ $RC != "$1" ]]; then
		fail "exit status $RC, want $1"
	fi
}

expect_stdout_empty()
{
	if [[ -s $OUT ]]; then
		fail "stdout is not empty"
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

# case NAME FUNCTION: runs one case and prints its result.
case_()
{
	local name=$1

	N=$((N + 1))
	CASE_FAILED=0
	FAIL_MSGS=()
	LAST_CMD=
	"$2"
	if ((CASE_FAILED)); then
		FAILED=$((FAILED + 1))
		echo "not ok $N - $name"
		{
			echo "not ok $N - $name"
			printf '    %s\n' "${FAIL_MSGS[@]}"
			echo "    command: $LAST_CMD"
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

case_ "check accepts a valid configuration" t_good
case_ "check reports an unknown key and a bad key-type by line" t_bad
case_ "check reports problems inside a [cert] section by line" t_bad_in_section
case_ "check fails with 2 on a missing file" t_missing_file

echo "1..$N"
if ((FAILED)); then
	echo "check.sh: $FAILED of $N cases failed" >&2
	exit 1
fi
exit 0
