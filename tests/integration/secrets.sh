#!/usr/bin/env bash
# Security review tests (issue 6): keys and account files 0600 and folders
# 0700 under umask 077; hooks get an argv, never a shell; no key material,
# EAB HMAC key or JWS body in the logs at any verbosity, nor in acmed check's
# messages about a bad eab-hmac-key.
#
# Pebble is started once with external account binding required, so every
# account registration below signs an EAB with the key in $EAB_KEY.
#
# Environment: ACMED (the binary under test), TESTS_DIR (tests/, for
# pebble.sh). Exits 0, 1 when a case failed, 77 when Pebble is not installed,
# 99 when the harness itself is broken.
set -uo pipefail

# shellcheck source=lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh" || exit 99
lib_init secrets
# shellcheck source=../pebble.sh
. "$TESTS_DIR/pebble.sh" || exit 99

pebble_require_or_skip
export PEBBLE_AUTHZREUSE=0

lib_python || exit 99
CURL=$(command -v curl) || exit 99

# The EAB key Pebble knows: 32 random bytes, base64url without padding.
EAB_KID=kid-1
EAB_KEY=$(head -c 32 /dev/urandom | base64 -w 0 | tr '+/' '-_' | tr -d '=')
if [[ ${#EAB_KEY} != 43 ]]; then
	echo "secrets.sh: cannot make an EAB key" >&2
	exit 99
fi
EAB_OPTS=(--eab-kid "$EAB_KID" --eab-hmac-key "$EAB_KEY")

# Every log any case captured (stderr and stdout of acmed), for the last case.
LOGS=()

# The options of every "acmed cert" against Pebble.
ca_opts()
{
	CA_OPTS=(--ca "$PEBBLE_DIR_URL" --ca-file "$PEBBLE_CA_FILE" --state-dir "$1"
		--agree-tos "${EAB_OPTS[@]}")
	STANDALONE=(--standalone "127.0.0.1:$PEBBLE_HTTP_PORT")
}

oneline()
{
	sed -e ':a' -e 'N' -e '$!ba' -e 's/\n/; /g'
}

# keep_logs NAME [STATE]: copies OUT and ERR of the last run to
# $T/logs/NAME.{out,err}, and every private key under STATE to $T/keys/, so
# that t_logs_clean also knows the keys a later run replaced.
keep_logs()
{
	local f i=0

	mkdir -p "$T/logs" "$T/keys"
	cp -- "$OUT" "$T/logs/$1.out"
	cp -- "$ERR" "$T/logs/$1.err"
	LOGS+=("$T/logs/$1.out" "$T/logs/$1.err")
	if [[ -n ${2:-} && -d $2 ]]; then
		while IFS= read -r -d '' f; do
			i=$((i + 1))
			cp -- "$f" "$T/keys/$1.$i"
		done < <(grep -rlZ 'PRIVATE KEY' -- "$2" 2>/dev/null)
	fi
}

# Every entry under DIR (DIR too), relative to DIR, with its mode and type,
# on one line: "700 d .; 600 f accounts/.../account.key; ...".
list_modes()
{
	(cd -- "$1" && find . -printf '%m %y %P\n' 2>/dev/null) |
		sed 's/ $/ ./' | LC_ALL=C sort -k3 | oneline
}

# Whether a file holds a secret: a PEM private key, the EAB key, a JWK "d".
is_secret()
{
	local f=$1

	case ${f##*/} in
	*.key | *.key.* | privkey.pem | .privkey.pem.*)
		return 0
		;;
	esac
	grep -qE -e 'PRIVATE KEY' -e '"d" *:' "$f" 2>/dev/null && return 0
	grep -qF -e "$EAB_KEY" "$f" 2>/dev/null && return 0
	return 1
}

# What the checks below found wrong in the current state folder; report_modes
# turns it into one failure that lists every entry with its mode.
MODE_BAD=()

# want_mode STATE PATH MODE: PATH (links followed) has MODE.
want_mode()
{
	local got

	if ! got=$(stat -L -c %a -- "$2" 2>/dev/null); then
		MODE_BAD+=("${2#"$1"/}: missing")
	elif [[ $got != "$3" ]]; then
		MODE_BAD+=("${2#"$1"/}: $got, want $3")
	fi
}

report_modes()
{
	if ((${#MODE_BAD[@]})); then
		fail "$1: $(printf '%s\n' "${MODE_BAD[@]}" | oneline)"
		fail "$1: every entry: $(list_modes "$1")"
	fi
	MODE_BAD=()
}

# check_private STATE: no file under STATE that holds a secret can be read
# or written by group or others.
check_private()
{
	local st=$1 f mode

	while IFS= read -r -d '' f; do
		mode=$(stat -c %a -- "$f")
		if is_secret "$f" && (((8#$mode & 8#077) != 0)); then
			MODE_BAD+=("${f#"$st"/}: $mode, a secret open to group or others")
		fi
	done < <(find "$st" -type f -print0)
}

# check_key_files STATE NAME: account.key and account.json 0600, exactly one
# account; every privkey.pem 0600 (the files in v/<n>/, and NAME's through
# its links); no pending.key left; the accounts folders 0700.
check_key_files()
{
	local st=$1 name=$2 f n=0

	if [[ ! -d $st/accounts ]]; then
		MODE_BAD+=("accounts: missing")
	fi
	while IFS= read -r -d '' f; do
		n=$((n + 1))
		want_mode "$st" "$f" 600
		want_mode "$st" "${f%/*}/account.json" 600
	done < <(find "$st/accounts" -name account.key -print0 2>/dev/null)
	if ((n != 1)); then
		MODE_BAD+=("$n account.key files, want 1")
	fi
	while IFS= read -r -d '' f; do
		want_mode "$st" "$f" 700
	done < <(find "$st/accounts" -type d -print0 2>/dev/null)
	n=0
	while IFS= read -r -d '' f; do
		n=$((n + 1))
		want_mode "$st" "$f" 600
	done < <(find "$st/certs" -path '*/v/*' -name privkey.pem -type f -print0 2>/dev/null)
	if ((n < 2)); then
		MODE_BAD+=("$n privkey.pem files in certs/*/v/*/, want 2")
	fi
	for f in privkey.pem current/privkey.pem previous/privkey.pem; do
		want_mode "$st" "$st/certs/$name/$f" 600
	done
	while IFS= read -r -d '' f; do
		MODE_BAD+=("${f#"$st"/}: a pending key left behind")
	done < <(find "$st" \( -name 'pending.key*' -o -name '.pending.key*' \) -print0)
}

# issue_twice STATE NAME: issues NAME, then renews it with --force, so that
# there are two versions and a "previous" link.
issue_twice()
{
	local st=$1 name=$2

	ca_opts "$st"
	run_t 60 cert "$name" "${STANDALONE[@]}" "${CA_OPTS[@]}"
	expect_status 0
	keep_logs "$name-1" "$st"
	if ((CASE_FAILED)); then
		return 1
	fi
	run_t 60 cert "$name" --force "${STANDALONE[@]}" "${CA_OPTS[@]}"
	expect_status 0
	keep_logs "$name-2" "$st"
	if [[ ! -L $st/certs/$name/previous ]]; then
		fail "$st/certs/$name/previous: missing after cert --force"
	fi
	((!CASE_FAILED))
}

# ---- file modes ----

t_umask_077()
{
	local st=$T/state-077 old d

	old=$(umask)
	umask 077
	issue_twice "$st" u077.example
	umask "$old"
	if ((CASE_FAILED)); then
		return
	fi
	check_key_files "$st" u077.example
	check_private "$st"
	# Under umask 077 no folder acmed makes is open to anyone else.
	while IFS= read -r -d '' d; do
		want_mode "$st" "$d" 700
	done < <(find "$st" -type d -print0)
	report_modes "$st"
}

t_umask_022()
{
	local st=$T/state-022 old

	old=$(umask)
	umask 022
	issue_twice "$st" u022.example
	umask "$old"
	if ((CASE_FAILED)); then
		return
	fi
	check_key_files "$st" u022.example
	check_private "$st"
	report_modes "$st"
}

# ---- hooks: argv, never a shell ----

# hook_words [DIR]: HOOK_LINE, the words every hook command line below carries
# after the program, and HOOK_WORDS, the argv they make after hook_split
# (single or double quotes group, no escapes, no expansion). The line parses
# as shell: "sh -c" would create each of MARKERS but the first, which only a
# shell given the words without their quotes would.
hook_words()
{
	local m=${1:-$T}/pwned

	MARKERS=("$m-dollar" "$m-backtick" "$m-dq" "$m-bare" "$m-semicolon"
		"$m-and" "$m-pipe" "$m-redirect" "$m-subshell")
	HOOK_LINE="--x '\$(touch $m-dollar)' \"\`touch $m-backtick\`\" \"\$(touch $m-dq)\""
	HOOK_LINE+=" \$(touch $m-bare) ; touch $m-semicolon && touch $m-and"
	HOOK_LINE+=" | tee $m-pipe >$m-redirect ; (touch $m-subshell) ;"
	HOOK_LINE+=" echo \$HOME * 'two  spaces' 'it\"s'"
	HOOK_WORDS=(--x "\$(touch $m-dollar)" "\`touch $m-backtick\`" "\$(touch $m-dq)"
		"\$(touch" "$m-bare)" ";" touch "$m-semicolon" "&&" touch "$m-and"
		"|" tee "$m-pipe" ">$m-redirect" ";" "(touch" "$m-subshell)" ";"
		echo "\$HOME" "*" "two  spaces" 'it"s')
}

# The markers are a real test: through "sh -c" the line creates them.
t_hook_line_is_shell()
{
	local d=$T/selfcheck m

	mkdir -p "$d"
	hook_words "$d"
	(cd "$d" && sh -c "true $HOOK_LINE") >/dev/null 2>&1
	for m in "${MARKERS[@]:1}"; do
		if [[ ! -e $m ]]; then
			fail "harness: sh -c did not create $m: the hook line tests nothing"
		fi
	done
}

expect_no_markers()
{
	local m

	for m in "${MARKERS[@]}"; do
		if [[ -e $m ]]; then
			fail "$m exists: a hook argument went through a shell"
		fi
	done
}

# make_argv_hook PATH KIND: a hook that writes its $0 and each argument, one
# per line, to PATH.argv.N (N counts the calls). KIND dns also publishes the
# TXT record on challtestsrv from its last three arguments (add|del NAME
# VALUE).
make_argv_hook()
{
	local path=$1 kind=$2

	cat >"$path" <<EOF
#!/bin/sh
# acmed hook for secrets.sh ($kind): records its argv.
n=1
while [ -e '$path.argv.'\$n ]; do
	n=\$((n + 1))
done
{
	printf '%s\n' "\$0"
	for a in "\$@"; do
		printf '%s\n' "\$a"
	done
} >'$path.argv.'\$n
EOF
	if [[ $kind == dns ]]; then
		cat >>"$path" <<EOF
shift \$((\$# - 3))
case \$1 in
add) exec '$CURL' -sSf --max-time 10 -X POST \\
	-d "{\"host\": \"\$2\", \"value\": \"\$3\"}" '$CHALLTESTSRV_URL/set-txt' ;;
del) exec '$CURL' -sSf --max-time 10 -X POST \\
	-d "{\"host\": \"\$2\"}" '$CHALLTESTSRV_URL/clear-txt' ;;
esac
exit 1
EOF
	fi
	chmod 755 "$path"
}

# expect_argv FILE WORD...: FILE holds exactly these lines.
expect_argv()
{
	local file=$1 got want
	shift

	if [[ ! -f $file ]]; then
		fail "$file: missing: the hook was not run"
		return
	fi
	got=$(
		cat -- "$file"
		echo x
	)
	want=$(
		printf '%s\n' "$@"
		echo x
	)
	if [[ $got != "$want" ]]; then
		fail "$file: argv [$(oneline <"$file")], want [$(printf '%s\n' "$@" | oneline)]"
	fi
}

t_dns_hook_argv()
{
	local st=$T/state-dnshook hook="$T/my dns hook" name=dnshook.example f val

	ca_opts "$st"
	hook_words
	make_argv_hook "$hook" dns
	run_t 60 cert "$name" --dns-hook "'$hook' $HOOK_LINE" --dns-resolver "$PEBBLE_DNS_SERVER" \
		"${CA_OPTS[@]}"
	expect_status 0
	keep_logs dnshook "$st"
	expect_no_markers
	f=$hook.argv.1
	if [[ ! -f $f ]]; then
		fail "the dns hook was not run"
		return
	fi
	val=$(sed -n '$p' "$f")
	expect_argv "$f" "$hook" "${HOOK_WORDS[@]}" add "_acme-challenge.$name." "$val"
	if [[ -z $val ]]; then
		fail "$f: no TXT value"
	fi
	expect_argv "$hook.argv.2" "$hook" "${HOOK_WORDS[@]}" del "_acme-challenge.$name." "$val"
}

t_deploy_hook_argv()
{
	local st=$T/state-deployhook hook="$T/my deploy hook" name=deployhook.example

	ca_opts "$st"
	hook_words
	make_argv_hook "$hook" deploy
	run_t 60 cert "$name" --deploy-hook "\"$hook\" $HOOK_LINE" "${STANDALONE[@]}" "${CA_OPTS[@]}"
	expect_status 0
	keep_logs deployhook "$st"
	expect_no_markers
	expect_argv "$hook.argv.1" "$hook" "${HOOK_WORDS[@]}"
	if [[ -e $hook.argv.2 ]]; then
		fail "the deploy hook ran twice"
	fi
}

# ---- logs ----

# A run at each verbosity, each on a fresh state (so each registers an
# account, with EAB).
t_log_runs()
{
	local level st args

	for level in quiet default debug debug2; do
		st=$T/state-log-$level
		ca_opts "$st"
			case $level in
		quiet) args=(-q) ;;
		default) args=() ;;
		debug) args=(-v) ;;
		debug2) args=(-v -v) ;;
		esac
		run_t 60 "${args[@]}" cert "log-$level.example" "${STANDALONE[@]}" "${CA_OPTS[@]}"
		if [[ $RC != 0 ]]; then
			fail "$level: exit status $RC: $(tail -n 3 "$ERR" | oneline)"
		fi
		keep_logs "log-$level" "$st"
		# A renewal reads the keys back from the state folder.
		run_t 60 "${args[@]}" cert "log-$level.example" --force --reuse-key \
			"${STANDALONE[@]}" "${CA_OPTS[@]}"
		if [[ $RC != 0 ]]; then
			fail "$level: renewal: exit status $RC: $(tail -n 3 "$ERR" | oneline)"
		fi
		keep_logs "log-$level-renew" "$st"
	done
	# The debug run has something to search: without it a clean grep proves
	# nothing.
	if ! grep -q 'http: POST' "$T/logs/log-debug.err"; then
		fail "-v logged no HTTP requests: $(head -n 3 "$T/logs/log-debug.err" | oneline)"
	fi
}

# A wrong HMAC key and an unknown kid: the CA refuses, the message does not
# show the key.
t_eab_refused()
{
	local st=$T/state-eab-wrong wrong

	wrong=$(head -c 32 /dev/urandom | base64 -w 0 | tr '+/' '-_' | tr -d '=')
	ca_opts "$st"
	run_t 60 -v cert eabwrong.example "${STANDALONE[@]}" --ca "$PEBBLE_DIR_URL" \
		--ca-file "$PEBBLE_CA_FILE" --state-dir "$st" --agree-tos \
		--eab-kid "$EAB_KID" --eab-hmac-key "$wrong"
	expect_status 1
	expect_stderr_nonempty
	keep_logs eab-wrong-key "$st"
	if grep -qF -- "$wrong" "$ERR" "$OUT"; then
		fail "the wrong eab-hmac-key is in the output"
	fi
	run_t 60 -v cert eabwrong.example "${STANDALONE[@]}" --ca "$PEBBLE_DIR_URL" \
		--ca-file "$PEBBLE_CA_FILE" --state-dir "$st" --agree-tos \
		--eab-kid kid-unknown --eab-hmac-key "$EAB_KEY"
	expect_status 1
	expect_stderr_nonempty
	keep_logs eab-wrong-kid "$st"
}

# Prints, one per line, what must never be in a log: the EAB key (as given,
# and its bytes in hex and base64); for every private key kept by keep_logs,
# the last 40 characters of each of its base64 lines, and for EC keys the
# private scalar in hex and base64url (a JWK "d").
secret_patterns()
{
	local f

	"$PY" - "$EAB_KEY" <<'EOF2'
import base64, sys
k = sys.argv[1]
raw = base64.urlsafe_b64decode(k + "=" * (-len(k) % 4))
print(k)
print(raw.hex())
print(base64.b64encode(raw).decode().rstrip("="))
EOF2
	for f in "$T"/keys/*; do
		[[ -f $f ]] || continue
		sed -n '/^-----BEGIN/,/^-----END/{/^-----/d;p}' "$f" |
			awk 'length($0) >= 40 { print substr($0, length($0) - 39) }'
		openssl pkey -in "$f" -noout -text 2>/dev/null | "$PY" -c '
import base64, re, sys
m = re.search(r"^priv:\n((?:[ \t]+[0-9a-f:]+\n)+)", sys.stdin.read(), re.M)
if m:
    raw = bytes.fromhex(re.sub(r"[\s:]", "", m.group(1)))
    print(raw.hex())
    print(base64.urlsafe_b64encode(raw).decode().rstrip("="))
'
	done
}

t_logs_clean()
{
	local pats=$T/secret-patterns hits log n keys

	keys=$(find "$T/keys" -type f 2>/dev/null | wc -l)
	if ((${#LOGS[@]} == 0 || keys == 0)); then
		fail "no logs or keys were kept by the earlier cases"
		return
	fi
	secret_patterns | sed '/^$/d' | LC_ALL=C sort -u >"$pats"
	n=$(wc -l <"$pats")
	# Distinct keys are fewer than the copies, but every run kept at least an
	# account key and a certificate key with two patterns each or more.
	if ((n < 3 + 8)); then
		fail "harness: only $n patterns from $keys key files"
		return
	fi
	for log in "${LOGS[@]}"; do
		hits=$(grep -noF -f "$pats" -- "$log" | head -n 5)
		if [[ -n $hits ]]; then
			fail "${log##*/}: key material or the EAB key: $(oneline <<<"$hits")"
		fi
		hits=$(grep -noE -e 'PRIVATE KEY' -e '"d" *:' -e '"(protected|payload|signature)" *:' \
			-- "$log" | head -n 5)
		if [[ -n $hits ]]; then
			fail "${log##*/}: a private key, JWK or JWS body: $(oneline <<<"$hits")"
		fi
	done
}

# ---- acmed check: a bad eab-hmac-key is not echoed ----

t_check_eab_not_echoed()
{
	local conf=$T/eab.conf secret=Zm9yYmlkZGVuLWVhYi1rZXktdmFsdWUtOTg3NjU0MzIx body

	# The value after "=" in each, and what the message is about.
	for body in \
		"eab-kid = k\neab-hmac-key = ${secret}=" \
		"eab-kid = k\neab-hmac-key = ${secret}+/" \
		"eab-kid = k\neab-hmac-key = ${secret} trailing" \
		"eab-kid = k\neab-hmac-key = '${secret}" \
		"eab-kid = k\neab-hmac-key = \"${secret}\"" \
		"eab-kid = k\neab-hmac-key ${secret}" \
		"eab-kid = k\neab-hmac = ${secret}" \
		"eab-kid = k\neab-hmac-key = ${secret}\neab-hmac-key = ${secret}" \
		"eab-hmac-key = ${secret}" \
		"eab-kid = k\neab-hmac-key = ${secret}\n[cert a]\ndomains = a.example\neab-hmac-key = ${secret}!"; do
		printf '%b\n' "$body" >"$conf"
		run check -c "$conf"
		expect_status 2
		expect_stderr_nonempty
		if grep -qF -- "${secret:8:20}" "$ERR" "$OUT"; then
			fail "acmed check echoes the eab-hmac-key of [$(oneline <"$conf")]: $(oneline <"$ERR")"
		fi
	done
	run cert a.example --eab-kid k --eab-hmac-key "${secret}=" --state-dir "$T/state-none"
	expect_status 2
	expect_stderr_nonempty
	if grep -qF -- "${secret:8:20}" "$ERR" "$OUT"; then
		fail "--eab-hmac-key is echoed: $(grep -F -- "${secret:8:20}" "$ERR" | oneline)"
	fi
}

# ---- main ----

case_ "acmed check: a bad eab-hmac-key is not in the messages" t_check_eab_not_echoed

if ! pebble_start "\"externalAccountBindingRequired\": true, \"externalAccountMACKeys\": {\"$EAB_KID\": \"$EAB_KEY\"}"; then
	fail_case "start Pebble"
	lib_finish
fi

case_ "umask 077: keys and account files 0600, every folder 0700, no pending key" t_umask_077
case_ "umask 022: keys and account files 0600, account folders 0700" t_umask_022
case_ "harness: the hook command line runs commands through sh -c" t_hook_line_is_shell
case_ "dns-hook: a path with spaces and shell syntax arrive as argv" t_dns_hook_argv
case_ "deploy-hook: a path with spaces and shell syntax arrive as argv" t_deploy_hook_argv
case_ "issue and renew at -q, default, -v and -vv" t_log_runs
case_ "a wrong EAB key or kid: refused" t_eab_refused
case_ "no key material, EAB key, JWK or JWS body in any log" t_logs_clean

lib_finish
