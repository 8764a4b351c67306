#!/usr/bin/env bash
# Integration tests for "acmed check -c FILE": exit 0 for a valid
# configuration, exit 2 and one "FILE:LINE: message" per problem otherwise.
#
# Environment: ACMED (the binary under test). Needs no network and no Pebble.
# Exits 0, 1 when a case failed, 99 when the harness itself is broken.
set -uo pipefail

# shellcheck source=lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh" || exit 99
lib_init check

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

lib_finish
