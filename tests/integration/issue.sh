#!/usr/bin/env bash
# Integration tests for certificate issuance: "acmed cert" and "acmed renew"
# against Pebble (started once for the whole script, with nonce rejection on,
# so badNonce retries happen throughout).
#
# Environment: ACMED (the binary under test), TESTS_DIR (tests/, for
# pebble.sh). Exits 0, 1 when a case failed, 77 when Pebble is not installed,
# 99 when the harness itself is broken.
set -uo pipefail

# shellcheck source=lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh" || exit 99
lib_init issue
# shellcheck source=../pebble.sh
. "$TESTS_DIR/pebble.sh" || exit 99

pebble_require_or_skip
# Every order validates afresh: with Pebble's default (50 % of valid
# authorizations reused), a --force run may skip the challenge altogether.
export PEBBLE_AUTHZREUSE=0

KEY_TYPES=(ec-p256 ec-p384 rsa-2048 rsa-3072 rsa-4096)
# The state folder most cases share (one account).
S=$T/state-main

lib_python || exit 99

# The options every "acmed cert" against Pebble takes: CA and state folder.
ca_opts()
{
	CA_OPTS=(--ca "$PEBBLE_DIR_URL" --ca-file "$PEBBLE_CA_FILE" --state-dir "${1:-$S}")
}

standalone_opts()
{
	STANDALONE=(--standalone "127.0.0.1:$PEBBLE_HTTP_PORT")
}

# Its input on one line, lines separated by "; ".
oneline()
{
	sed -e ':a' -e 'N' -e '$!ba' -e 's/\n/; /g'
}

# ---- certificate checks ----

# The subjectAltName entries of a certificate, sorted, one per line.
san_of()
{
	openssl x509 -in "$1" -noout -ext subjectAltName 2>/dev/null |
		sed -n '2,$p' | tr ',' '\n' | sed 's/^ *//; s/ *$//' | sed '/^$/d' | LC_ALL=C sort
}

# expect_san CERT ENTRY...: the SAN is exactly these entries, e.g.
# "DNS:example.com" "IP Address:127.0.0.1".
expect_san()
{
	local cert=$1 got want
	shift

	got=$(san_of "$cert")
	want=$(printf '%s\n' "$@" | LC_ALL=C sort)
	if [[ $got != "$want" ]]; then
		fail "$cert: subjectAltName '$(oneline <<<"$got")', want '$(oneline <<<"$want")'"
	fi
}

file_hash()
{
	sha256sum <"$1" | cut -d' ' -f1
}

# expect_installed DIR: the four files are there, the key is 0600 and matches
# the certificate, fullchain is cert then chain, and the chain leads to
# Pebble's root.
expect_installed()
{
	local d=$1 f out

	for f in privkey.pem cert.pem chain.pem fullchain.pem; do
		if [[ ! -f $d/$f || ! -s $d/$f ]]; then
			fail "$d/$f: missing or empty"
			return
		fi
	done
	expect_file_mode "$d/privkey.pem" 600
	if [[ $(pub_of_key "$d/privkey.pem") != "$(pub_of_cert "$d/cert.pem")" ]]; then
		fail "$d: privkey.pem does not match cert.pem"
	fi
	if ! cat "$d/cert.pem" "$d/chain.pem" | cmp -s - "$d/fullchain.pem"; then
		fail "$d: fullchain.pem is not cert.pem followed by chain.pem"
	fi
	if ! out=$(openssl verify -CAfile "$ROOT" -untrusted "$d/chain.pem" "$d/cert.pem" 2>&1); then
		fail "$d: openssl verify: $(oneline <<<"$out")"
	fi
}

# The account folder of the shared state.
account_dir()
{
	local dirs=("$S"/accounts/*/default)

	if [[ ${#dirs[@]} != 1 || ! -d ${dirs[0]} ]]; then
		return 1
	fi
	printf '%s\n' "${dirs[0]}"
}

json_field()
{
	"$PY" -c 'import json, sys; print(json.load(open(sys.argv[1]))[sys.argv[2]])' "$1" "$2" 2>/dev/null
}

# Whether PID is a process that has not exited (a zombie has).
proc_running()
{
	local st

	st=$(ps -o stat= -p "$1" 2>/dev/null) || return 1
	[[ -n $st && $st != Z* ]]
}

# ---- dns-01 hooks ----

# make_dns_hook PATH MODE: a dns-01 hook for challtestsrv. It logs one line
# per call, "ACTION NAME VALUE ACMED_DOMAIN ACMED_RECORD ACMED_VALUE" ("-"
# for an empty variable), to PATH.log, and keeps one marker file per published value under PATH.d/NAME/
# so that "del" clears the name only when no other value is left on it (a
# wildcard and its base name share one record name, and challtestsrv's
# /clear-txt drops every value at once). MODE: good (publishes VALUE), wrong
# (publishes another value), slow (add sleeps 60 s in a child, whose PID is in
# PATH.sleep).
make_dns_hook()
{
	# shellcheck disable=SC2016 # $3 is for the hook, not here
	local path=$1 mode=$2 publish='$3' slow=

	case $mode in
	good) ;;
	wrong) publish=not-the-key-authorization-digest-0123456789ab ;;
	slow) slow="sleep 60 & echo \$! >'$path.sleep'; wait \$!" ;;
	*) return 1 ;;
	esac
	mkdir -p "$path.d"
	: >"$path.log"
	cat >"$path" <<EOF
#!/bin/sh
# acmed dns-hook for the tests ($mode).
printf '%s %s %s %s %s %s\n' "\$1" "\$2" "\$3" "\${ACMED_DOMAIN:--}" "\${ACMED_RECORD:--}" "\${ACMED_VALUE:--}" >>'$path.log'
dir='$path.d'/"\$2"
case \$1 in
add)
	$slow
	mkdir -p "\$dir" && : >"\$dir/\$3" || exit 1
	exec curl -sSf --max-time 10 -X POST \\
		-d "{\"host\": \"\$2\", \"value\": \"$publish\"}" '$CHALLTESTSRV_URL/set-txt'
	;;
del)
	rm -f -- "\$dir/\$3"
	if [ -n "\$(ls -A "\$dir" 2>/dev/null)" ]; then
		exit 0
	fi
	exec curl -sSf --max-time 10 -X POST \\
		-d "{\"host\": \"\$2\", \"value\": \"\$3\"}" '$CHALLTESTSRV_URL/clear-txt'
	;;
esac
echo "unknown action \$1" >&2
exit 1
EOF
	chmod 755 "$path"
}

# expect_hook_pairs LOG: every "add NAME VALUE" has a later "del NAME VALUE",
# every del follows its add, the ACMED_RECORD and ACMED_VALUE variables equal
# the arguments, and there is at least one add.
expect_hook_pairs()
{
	local log=$1 problems

	problems=$(awk '
		$1 != "add" && $1 != "del" { print "line " NR ": unknown action " $1; next }
		$5 != $2 || $6 != $3 { print "line " NR ": ACMED_RECORD/ACMED_VALUE differ from argv" }
		$1 == "add" { adds++; open[$2 " " $3]++ }
		$1 == "del" {
			if (open[$2 " " $3] > 0) { open[$2 " " $3]-- }
			else { print "line " NR ": del " $2 " " $3 " without an add before it" }
		}
		END {
			if (adds == 0) { print "no add" }
			for (k in open) { if (open[k] > 0) { print "add " k " never deleted" } }
		}' "$log")
	if [[ -n $problems ]]; then
		fail "$log: $(oneline <<<"$problems")"
	fi
}

# ---- cases ----

t_no_agree_tos()
{
	local st=$T/state-fresh url keys

	ca_opts "$st"
	standalone_opts
	run terms --ca "$PEBBLE_DIR_URL" --ca-file "$PEBBLE_CA_FILE"
	url=$(head -n 1 "$OUT")
	if [[ $RC != 0 || -z $url ]]; then
		fail "acmed terms failed: cannot learn the terms URL"
		return
	fi
	run cert notos.example "${STANDALONE[@]}" "${CA_OPTS[@]}"
	expect_status 2
	expect_stderr_contains "$url"
	expect_stderr_contains "--agree-tos"
	keys=$(find "$st" -name account.key 2>/dev/null)
	if [[ -n $keys ]]; then
		fail "an account key was left behind: $keys"
	fi
	if [[ -e $st/certs/notos.example/cert.pem ]]; then
		fail "a certificate was installed"
	fi
}

t_standalone_multi()
{
	local d=$S/certs/multi.example acct

	ca_opts
	standalone_opts
	run cert multi.example www.multi.example 127.0.0.1 "${STANDALONE[@]}" \
		"${CA_OPTS[@]}" --agree-tos --email ops@example.com
	expect_status 0
	expect_stdout_contains "$d/fullchain.pem"
	expect_stderr_not_matches 'error'
	expect_installed "$d"
	expect_san "$d/cert.pem" DNS:multi.example DNS:www.multi.example "IP Address:127.0.0.1"
	if ! openssl x509 -in "$d/cert.pem" -noout -subject -nameopt multiline 2>/dev/null |
		grep -qE '^ *commonName *= multi\.example$'; then
		fail "$d/cert.pem: the CN is not the first name, multi.example"
	fi
	if ! acct=$(account_dir); then
		fail "no account folder under $S/accounts"
		return
	fi
	expect_file_mode "$acct/account.key" 600
	expect_file "$acct/account.json"
	if [[ $(json_field "$acct/account.json" url) != https://127.0.0.1:* ]]; then
		fail "$acct/account.json: no account URL"
	fi
}

t_standalone_ip_only()
{
	local d=$S/certs/127.0.0.1

	ca_opts
	standalone_opts
	run cert 127.0.0.1 "${STANDALONE[@]}" "${CA_OPTS[@]}"
	expect_status 0
	expect_installed "$d"
	# Pebble writes the first IP address into the CN of the certificate
	# whatever the CSR says, so the CSR's empty subject is checked by the
	# unit test test_csr_ip_only, not here.
	expect_san "$d/cert.pem" "IP Address:127.0.0.1"
}

# tls-alpn-01 (RFC 8737) with the built-in responder on Pebble's TLS
# port: a name and an IP address (RFC 8738 section 6: its reverse-DNS name
# in SNI), validated by Pebble's handshakes; then the port stays free.
t_tls_alpn()
{
	local d=$T/state-alpn/certs/alpn.example

	# An account of its own: the main one validated 127.0.0.1 (over
	# http-01) in the cases before, and Pebble hands a valid
	# authorization back to 1 new order in 100 even with
	# PEBBLE_AUTHZREUSE=0 (tests/pebble.sh): there would be no handshake
	# for the address to see.
	ca_opts "$T/state-alpn"
	run cert -v alpn.example www.alpn.example 127.0.0.1 --tls-alpn "127.0.0.1:$PEBBLE_TLS_PORT" \
		"${CA_OPTS[@]}" --agree-tos --email ops@example.com
	expect_status 0
	expect_stderr_not_matches 'error'
	expect_installed "$d"
	expect_san "$d/cert.pem" DNS:alpn.example DNS:www.alpn.example "IP Address:127.0.0.1"
	# Pebble's validation handshakes, as the responder saw them.
	expect_stderr_contains 'handshake for alpn.example'
	expect_stderr_contains 'handshake for www.alpn.example'
	expect_stderr_contains 'handshake for 1.0.0.127.in-addr.arpa'
	if (exec 3<>"/dev/tcp/127.0.0.1/$PEBBLE_TLS_PORT") 2>/dev/null; then
		fail "something still listens on $PEBBLE_TLS_PORT after the order"
	fi
}

# Pebble lists no profiles: a profile is refused before any key or order.
t_profile_none()
{
	ca_opts
	standalone_opts
	run cert profile.example "${STANDALONE[@]}" "${CA_OPTS[@]}" --profile shortlived
	expect_status 1
	expect_stderr_contains 'profile.example: profile shortlived: the CA offers no profiles: drop --profile (or the profile key)'
	if [[ -e $S/certs/profile.example/privkey.pem || -e $S/certs/profile.example/pending.key ]]; then
		fail "a key was made for an order that cannot be placed"
	fi
}

t_cert_not_due()
{
	local d=$S/certs/multi.example snap=$T/snap-notdue

	if [[ ! -L $d/cert.pem ]]; then
		fail "multi.example was not issued by an earlier case"
		return
	fi
	ca_opts
	standalone_opts
	tree_snapshot "$d" >"$snap"
	run cert multi.example www.multi.example 127.0.0.1 "${STANDALONE[@]}" "${CA_OPTS[@]}"
	expect_status 0
	expect_stderr_matches 'not due'
	expect_tree_unchanged "$snap" "$d"
}

t_webroot()
{
	local w=$T/webroot d=$S/certs/web.example pid left

	ca_opts
	mkdir -p "$w"
	"$PY" -u -m http.server --bind 127.0.0.1 "$PEBBLE_HTTP_PORT" --directory "$w" \
		</dev/null >"$T/webroot.log" 2>&1 &
	pid=$!
	lib_track_pid "$pid"
	if ! wait_until 10 curl -s -o /dev/null --max-time 1 "http://127.0.0.1:$PEBBLE_HTTP_PORT/"; then
		fail "harness: python3 -m http.server did not start: $(tail -n 3 "$T/webroot.log")"
		lib_stop_pid "$pid"
		return
	fi
	run cert web.example www.web.example --webroot "$w" "${CA_OPTS[@]}"
	lib_stop_pid "$pid"
	expect_status 0
	expect_installed "$d"
	expect_san "$d/cert.pem" DNS:web.example DNS:www.web.example
	# Pebble fetched the challenge files from the webroot ...
	if [[ $(grep -cE '"GET /\.well-known/acme-challenge/[A-Za-z0-9_-]+ HTTP/1\.[01]" 200' \
		"$T/webroot.log") -lt 2 ]]; then
		fail "the web server did not serve both challenge files: $(grep GET "$T/webroot.log" | oneline)"
	fi
	# ... and they are gone.
	left=$(find "$w" -type f)
	if [[ -n $left ]]; then
		fail "challenge files left in the webroot: $(oneline <<<"$left")"
	fi
}

t_dns_wildcard()
{
	local hook=$T/dns-good d=$S/certs/wild.example

	ca_opts
	make_dns_hook "$hook" good
	run cert wild.example '*.wild.example' --dns-hook "$hook" --dns-resolver "$PEBBLE_DNS_SERVER" \
		"${CA_OPTS[@]}"
	expect_status 0
	expect_installed "$d"
	expect_san "$d/cert.pem" 'DNS:*.wild.example' DNS:wild.example
	expect_hook_pairs "$hook.log"
	if grep -v '^[a-z]* _acme-challenge\.wild\.example\. ' "$hook.log" | grep -q .; then
		fail "a hook call is not for _acme-challenge.wild.example.: $(oneline <"$hook.log")"
	fi
	if [[ $(grep -c '^add ' "$hook.log") != 2 ]]; then
		fail "want two adds (one per authorization): $(oneline <"$hook.log")"
	fi
}

t_key_types()
{
	local type d pat text acct

	ca_opts
	standalone_opts
	for type in "${KEY_TYPES[@]}"; do
		d=$S/certs/kt-$type.example
		run cert "kt-$type.example" --key-type "$type" "${STANDALONE[@]}" "${CA_OPTS[@]}"
		if [[ $RC != 0 ]]; then
			fail "$type: exit status $RC: $(tail -n 1 "$ERR")"
			continue
		fi
		expect_installed "$d"
		case $type in
		ec-p256) pat='NIST CURVE: P-256' ;;
		ec-p384) pat='NIST CURVE: P-384' ;;
		rsa-*) pat="Private-Key: \(${type#rsa-} bit" ;;
		esac
		text=$(openssl pkey -in "$d/privkey.pem" -noout -text 2>&1)
		if ! grep -qE -- "$pat" <<<"$text"; then
			fail "$type: openssl pkey -text does not show /$pat/: $(head -n 1 <<<"$text")"
		fi
	done
	if acct=$(account_dir); then
		expect_file_mode "$acct/account.key" 600
	else
		fail "no account folder under $S/accounts"
	fi
}

t_reuse_key()
{
	local d=$S/certs/reuse.example pub1 pub2 cert2

	ca_opts
	standalone_opts
	run cert reuse.example "${STANDALONE[@]}" "${CA_OPTS[@]}"
	expect_status 0
	if ((CASE_FAILED)); then
		return
	fi
	pub1=$(pub_of_key "$d/privkey.pem")
	# Without --reuse-key a renewal makes a new key ...
	run cert reuse.example --force "${STANDALONE[@]}" "${CA_OPTS[@]}"
	expect_status 0
	pub2=$(pub_of_key "$d/privkey.pem")
	cert2=$(file_hash "$d/cert.pem")
	if [[ $pub2 == "$pub1" ]]; then
		fail "cert --force without --reuse-key kept the key"
	fi
	# ... with it, the key stays and the certificate changes.
	run cert reuse.example --force --reuse-key "${STANDALONE[@]}" "${CA_OPTS[@]}"
	expect_status 0
	expect_installed "$d"
	if [[ $(pub_of_key "$d/privkey.pem") != "$pub2" ]]; then
		fail "cert --force --reuse-key changed the key"
	fi
	if [[ $(file_hash "$d/cert.pem") == "$cert2" ]]; then
		fail "cert --force --reuse-key did not change the certificate"
	fi
	if [[ ! -L $d/previous || $(file_hash "$d/previous/cert.pem") != "$cert2" ]]; then
		fail "$d/previous does not hold the replaced certificate"
	fi
}

# The configuration for the batch: 20 certificates, two names each.
write_batch_conf()
{
	local conf=$1 st=$2 i

	{
		echo "# 20 certificates for issue.sh"
		echo "ca = $PEBBLE_DIR_URL"
		echo "ca-file = $PEBBLE_CA_FILE"
		echo "agree-tos = yes"
		echo "state-dir = $st"
		echo "challenge = http-01"
		echo "http-listen = 127.0.0.1:$PEBBLE_HTTP_PORT"
		echo "concurrency = 8"
		for ((i = 1; i <= 20; i++)); do
			printf '\n[cert b%02d]\ndomains = b%02d.example www.b%02d.example\n' "$i" "$i" "$i"
		done
	} >"$conf"
}

BATCH_CONF=$T/batch.conf
BATCH_STATE=$T/state-batch

t_batch_issue()
{
	local i n d

	write_batch_conf "$BATCH_CONF" "$BATCH_STATE"
	run_t 150 renew -c "$BATCH_CONF"
	expect_status 0
	expect_stdout "issued 20, renewed 0, unchanged 0, failed 0"
	for ((i = 1; i <= 20; i++)); do
		n=$(printf 'b%02d' "$i")
		d=$BATCH_STATE/certs/$n
		expect_installed "$d"
		expect_san "$d/cert.pem" "DNS:$n.example" "DNS:www.$n.example"
	done
}

t_batch_unchanged()
{
	local snap=$T/snap-batch

	if [[ ! -d $BATCH_STATE/certs ]]; then
		fail "the batch was not issued by the previous case"
		return
	fi
	tree_snapshot "$BATCH_STATE" >"$snap"
	run_t 60 renew -c "$BATCH_CONF"
	expect_status 0
	expect_stdout "issued 0, renewed 0, unchanged 20, failed 0"
	expect_tree_unchanged "$snap" "$BATCH_STATE"
}

t_batch_force()
{
	local i n d before=()

	for ((i = 1; i <= 20; i++)); do
		n=$(printf 'b%02d' "$i")
		before[i]=$(file_hash "$BATCH_STATE/certs/$n/cert.pem" 2>/dev/null)
	done
	run_t 150 renew --force -c "$BATCH_CONF"
	expect_status 0
	expect_stdout "issued 0, renewed 20, unchanged 0, failed 0"
	for ((i = 1; i <= 20; i++)); do
		n=$(printf 'b%02d' "$i")
		d=$BATCH_STATE/certs/$n
		expect_installed "$d"
		if [[ ! -L $d/previous || ! -f $d/previous/cert.pem ]]; then
			fail "$d: no previous set"
			continue
		fi
		if cmp -s "$d/previous/cert.pem" "$d/cert.pem"; then
			fail "$d: previous/cert.pem is the current certificate"
		fi
		if [[ $(file_hash "$d/previous/cert.pem") != "${before[i]}" ]]; then
			fail "$d: previous/cert.pem is not the certificate installed before"
		fi
		if [[ $(readlink "$d/current") == "$(readlink "$d/previous")" ]]; then
			fail "$d: current and previous point to the same set"
		fi
	done
}

t_dns_wrong_value()
{
	local good=$T/dns-good2 badhook=$T/dns-bad d=$S/certs/bad.example snap=$T/snap-bad

	ca_opts
	make_dns_hook "$good" good
	make_dns_hook "$badhook" wrong
	run cert bad.example --dns-hook "$good" --dns-resolver "$PEBBLE_DNS_SERVER" "${CA_OPTS[@]}"
	expect_status 0
	if ((CASE_FAILED)); then
		return
	fi
	# Everything but state.json, which records the failed attempt.
	tree_snapshot "$d" ! -name state.json >"$snap"
	# No propagation check: the CA's own verdict on the wrong value is what
	# this case shows (dns.sh has the check's).
	run cert bad.example --force --dns-hook "$badhook" --dns-resolver "$PEBBLE_DNS_SERVER" \
		--dns-propagation-timeout 0 "${CA_OPTS[@]}"
	expect_status 1
	expect_stderr_contains "bad.example"
	# Pebble's detail: "Correct value not found for DNS challenge".
	expect_stderr_matches 'Correct value not found|Incorrect TXT record'
	expect_tree_unchanged "$snap" "$d" ! -name state.json
	expect_installed "$d"
	expect_hook_pairs "$badhook.log"
	if ! grep -q '^del _acme-challenge\.bad\.example\. ' "$badhook.log"; then
		fail "the hook was not called with del: $(oneline <"$badhook.log")"
	fi
}

t_dns_hook_timeout()
{
	local hook=$T/dns-slow conf=$T/slow.conf pid

	ca_opts
	make_dns_hook "$hook" slow
	printf 'hook-timeout = 2\n' >"$conf"
	run_t 15 cert slow.example -c "$conf" --agree-tos --dns-hook "$hook" \
		--dns-resolver "$PEBBLE_DNS_SERVER" "${CA_OPTS[@]}"
	expect_status 1
	expect_stderr_contains "slow.example"
	expect_stderr_matches 'time(d)? ?out'
	if [[ -e $S/certs/slow.example/cert.pem ]]; then
		fail "a certificate was installed"
	fi
	if ! grep -q '^add ' "$hook.log"; then
		fail "the hook was not called"
	fi
	# The timeout killed the hook's children too.
	pid=$(cat "$hook.sleep" 2>/dev/null)
	if [[ -z $pid ]]; then
		fail "the hook did not start its sleep"
	else
		if ! wait_until 5 eval "! proc_running $pid"; then
			fail "the hook's child (pid $pid) still runs after the timeout"
			lib_track_pid "$pid"
		fi
	fi
}

t_account_recovery()
{
	local acct url key d=$S/certs/recover.example

	ca_opts
	standalone_opts
	if ! acct=$(account_dir); then
		fail "no account folder under $S/accounts"
		return
	fi
	url=$(json_field "$acct/account.json" url)
	key=$(file_hash "$acct/account.key")
	if [[ -z $url ]]; then
		fail "$acct/account.json: no URL"
		return
	fi
	rm -f -- "$acct/account.json"
	# No --agree-tos: looking an account up (onlyReturnExisting) needs none.
	run cert recover.example "${STANDALONE[@]}" "${CA_OPTS[@]}"
	expect_status 0
	expect_installed "$d"
	expect_stderr_not_matches 'created account key'
	if [[ ! -f $acct/account.json ]]; then
		fail "$acct/account.json was not written back"
	elif [[ $(json_field "$acct/account.json" url) != "$url" ]]; then
		fail "account URL $(json_field "$acct/account.json" url), want $url"
	fi
	if [[ $(file_hash "$acct/account.key") != "$key" ]]; then
		fail "the account key changed"
	fi
}

# ---- main ----

if ! pebble_start; then
	fail_case "start Pebble"
	lib_finish
fi
ROOT=$T/root.pem
if ! pebble_root_ca "$ROOT"; then
	fail_case "fetch Pebble's root certificate"
	lib_finish
fi

case_ "cert without --agree-tos on a fresh state exits 2 and names the terms" t_no_agree_tos
case_ "cert over http-01 (standalone): several names and an IP in one certificate" t_standalone_multi
case_ "cert for an IP address only" t_standalone_ip_only
case_ "cert over tls-alpn-01 (built-in responder): names and an IP address" t_tls_alpn
case_ "a profile with a CA that lists none: refused, no key made" t_profile_none
case_ "cert again when not due changes nothing" t_cert_not_due
case_ "cert over http-01 (webroot) cleans its files up" t_webroot
case_ "cert over dns-01 (hook) for a wildcard and its base name" t_dns_wildcard
case_ "cert with every key type: ${KEY_TYPES[*]}" t_key_types
case_ "cert --force --reuse-key keeps the key, renews the certificate" t_reuse_key
case_ "renew issues 20 certificates" t_batch_issue
case_ "renew again: unchanged 20, every file the same" t_batch_unchanged
case_ "renew --force renews 20 and keeps the previous sets" t_batch_force
case_ "dns-01 with a wrong TXT value fails and leaves the installed files" t_dns_wrong_value
case_ "a dns hook past hook-timeout is killed and the order fails" t_dns_hook_timeout
case_ "account.json lost: the account is found again by its key" t_account_recovery

lib_finish
