#!/usr/bin/env bash
# Output formats, ownership and external CSRs (issue 15) against Pebble:
# output = pem combined pkcs12 writes combined.pem (the key, then the full
# chain) and cert.p12 (read back by OpenSSL 3's pkcs12 without -legacy) in
# the set's folder, with the key's owner, group and mode; a renewal switches
# them with the rest; the deploy hook is told where they are; key-owner and
# the like are checked at load (an unknown user names the key and line) and
# applied (the user nobody reads its key through the group nogroup);
# acmed cert --csr FILE issues for an OpenSSL-made CSR, writes where
# --cert-path, --fullchain-path and --chain-path say, and nothing into the
# state folder's sets.
#
# Environment: ACMED, TESTS_DIR. Exits 0, 1 when a case failed, 77 when
# Pebble is not installed, 99 when the harness itself is broken.
set -uo pipefail

# shellcheck source=lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh" || exit 99
lib_init output
# shellcheck source=../pebble.sh
. "$TESTS_DIR/pebble.sh" || exit 99

pebble_require_or_skip
pebble_start || exit 1
ROOT=$T/pebble-root.pem
pebble_root_ca "$ROOT" || exit 99

# The user nobody must reach the state folder to read its key.
chmod 0711 "$T" || exit 99
STATE=$T/state-dir
mkdir -m 0711 "$STATE" || exit 99
CA_OPTS=(--ca "$PEBBLE_DIR_URL" --ca-file "$PEBBLE_CA_FILE" --state-dir "$STATE" --agree-tos
	--standalone "127.0.0.1:$PEBBLE_HTTP_PORT")
PASS=$T/p12.pass
printf 'correct horse\n' >"$PASS"
HOOK=$T/hook.sh
cat >"$HOOK" <<EOF || exit 99
#!/bin/sh
env | grep '^ACMED_' | sort >"$T/hook.env"
EOF
chmod 0755 "$HOOK"
CONF=$T/acmed.conf
cat >"$CONF" <<EOF || exit 99
[cert out]
domains = out.example www.out.example
output = pem combined pkcs12
pkcs12-password-file = $PASS
key-group = nogroup
key-mode = 0640
cert-owner = nobody
cert-group = nogroup
cert-mode = 0444
deploy-hook = $HOOK
EOF
D=$STATE/certs/out

# stat FILE: "USER GROUP MODE" (links followed).
owner_of()
{
	stat -L -c '%U %G %a' -- "$1" 2>/dev/null
}

expect_owner()
{
	local got

	got=$(owner_of "$1")
	if [[ $got != "$2" ]]; then
		fail "$1: '$got', want '$2'"
	fi
}

# The key and leaf of cert.p12 in FOLDER match its privkey.pem and cert.pem.
expect_p12_matches()
{
	local d=$1 key leaf

	key=$(openssl pkcs12 -in "$d/cert.p12" -passin "file:$PASS" -nodes -nocerts 2>"$T/p12.err" |
		openssl pkey -pubout -outform DER 2>/dev/null | sha256sum | cut -d' ' -f1)
	if [[ $key != "$(pub_of_key "$d/privkey.pem")" ]]; then
		fail "$d/cert.p12: its key is not privkey.pem's ($(tr '\n' ' ' <"$T/p12.err"))"
	fi
	leaf=$(openssl pkcs12 -in "$d/cert.p12" -passin "file:$PASS" -nokeys -clcerts 2>/dev/null |
		openssl x509 -outform DER 2>/dev/null | sha256sum | cut -d' ' -f1)
	if [[ $leaf != "$(openssl x509 -in "$d/cert.pem" -outform DER | sha256sum | cut -d' ' -f1)" ]]; then
		fail "$d/cert.p12: its certificate is not cert.pem"
	fi
	if [[ $(openssl pkcs12 -in "$d/cert.p12" -passin "file:$PASS" -nokeys -cacerts 2>/dev/null |
		grep -c 'BEGIN CERTIFICATE') != "$(grep -c 'BEGIN CERTIFICATE' "$d/chain.pem")" ]]; then
		fail "$d/cert.p12: not the issuers of chain.pem"
	fi
}

t_check_refuses()
{
	local bad=$T/bad.conf

	printf '[cert a]\ndomains = a.example\nkey-owner = no-such-acmed-user\n' >"$bad"
	run check --syntax -c "$bad"
	expect_status 2
	expect_stderr_one_line
	expect_stderr_contains "$bad:3: key-owner: no user named 'no-such-acmed-user' on this system"
	printf 'key-mode = 0644\n' >"$bad"
	run check --syntax -c "$bad"
	expect_status 2
	expect_stderr_contains "$bad:1: key-mode: invalid value '0644': every user could get at the key"
	printf 'output = pem der\n' >"$bad"
	run cert -c "$bad" "${CA_OPTS[@]}" x.example
	expect_status 2
	expect_stderr_one_line
	expect_stderr_contains "$bad:1: output: invalid value 'der': expected pem, combined or pkcs12"
	if [[ -e $STATE/certs ]]; then
		fail "a refused configuration left $STATE/certs"
	fi
}

t_outputs()
{
	local v

	run cert -c "$CONF" "${CA_OPTS[@]}" out
	expect_status 0
	expect_valid "$D"
	if ! cat "$D/privkey.pem" "$D/fullchain.pem" | cmp -s - "$D/combined.pem"; then
		fail "combined.pem is not privkey.pem then fullchain.pem"
	fi
	expect_p12_matches "$D"
	v=$(dirname "$(readlink -f "$D/combined.pem")")
	if [[ $v != $(files_dir "$D") || $(dirname "$(readlink -f "$D/cert.p12")") != "$v" ]]; then
		fail "combined.pem and cert.p12 are not in the set's folder $(files_dir "$D")"
	fi
	if ! grep -qx "ACMED_COMBINED_FILE=$D/combined.pem" "$T/hook.env" ||
		! grep -qx "ACMED_PKCS12_FILE=$D/cert.p12" "$T/hook.env"; then
		fail "the deploy hook's environment: $(tr '\n' ' ' <"$T/hook.env" 2>/dev/null)"
	fi
}

t_ownership()
{
	local f

	for f in privkey.pem combined.pem cert.p12; do
		expect_owner "$D/$f" "root nogroup 640"
	done
	for f in cert.pem chain.pem fullchain.pem; do
		expect_owner "$D/$f" "nobody nogroup 444"
	done
	for f in "$D" "$D/v" "$(files_dir "$D")"; do
		expect_owner "$f" "root root 755"
	done
	# The server's user reads its key through the group, and others not.
	if ! setpriv --reuid=nobody --regid=nogroup --clear-groups \
		cat "$D/privkey.pem" >/dev/null 2>"$T/setpriv.err"; then
		fail "nobody:nogroup cannot read privkey.pem: $(cat "$T/setpriv.err")"
	fi
	if setpriv --reuid=nobody --regid=daemon --clear-groups \
		cat "$D/combined.pem" >/dev/null 2>&1; then
		fail "a user outside nogroup reads combined.pem"
	fi
}

t_renewal_switches_all()
{
	local before after f

	before=$(files_dir "$D")
	mv "$T/hook.env" "$T/hook.env.1"
	run cert -c "$CONF" "${CA_OPTS[@]}" --force out
	expect_status 0
	after=$(files_dir "$D")
	if [[ -z $after || $after == "$before" ]]; then
		fail "no new set: before $before, after $after"
	fi
	for f in combined.pem cert.p12; do
		if [[ $(dirname "$(readlink -f "$D/$f")") != "$after" ]]; then
			fail "$f did not switch with the set ($(readlink -f "$D/$f"))"
		fi
	done
	expect_valid "$D"
	expect_p12_matches "$D"
	if ! cat "$D/privkey.pem" "$D/fullchain.pem" | cmp -s - "$D/combined.pem"; then
		fail "combined.pem is not the new privkey.pem then fullchain.pem"
	fi
	# The previous set keeps its files and modes.
	expect_owner "$D/previous/privkey.pem" "root nogroup 640"
	expect_p12_matches "$D/previous"
	if [[ ! -s $T/hook.env ]]; then
		fail "the deploy hook did not run for the renewal"
	fi
}

# An OpenSSL-made CSR: Pebble issues it, the key never leaves the user.
t_csr()
{
	local out=$T/csr-out before

	mkdir -p "$out"
	openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
		-keyout "$T/user.key" -subj "/CN=csr.example" \
		-addext "subjectAltName=DNS:csr.example,DNS:www.csr.example" \
		-out "$T/user.csr" 2>/dev/null || fail "openssl req"
	before=$(ls "$STATE/certs")
	run cert "${CA_OPTS[@]}" --csr "$T/user.csr" --cert-path "$out/cert.pem" \
		--fullchain-path "$out/fullchain.pem" --chain-path "$out/chain.pem"
	expect_status 0
	expect_stdout "$out/chain.pem
$out/cert.pem
$out/fullchain.pem"
	if [[ $(pub_of_cert "$out/cert.pem") != "$(pub_of_key "$T/user.key")" ]]; then
		fail "the certificate's key is not the CSR's"
	fi
	if ! openssl verify -CAfile "$ROOT" -untrusted "$out/chain.pem" "$out/cert.pem" >/dev/null 2>&1; then
		fail "the chain does not verify"
	fi
	if ! cat "$out/cert.pem" "$out/chain.pem" | cmp -s - "$out/fullchain.pem"; then
		fail "fullchain.pem is not cert.pem then chain.pem"
	fi
	if ! openssl x509 -in "$out/cert.pem" -noout -ext subjectAltName | grep -q 'DNS:www.csr.example'; then
		fail "the certificate does not name www.csr.example"
	fi
	if [[ $(ls "$STATE/certs") != "$before" ]] || grep -rq 'csr.example' "$STATE/certs" 2>/dev/null; then
		fail "--csr put something into the state folder's certificates"
	fi
	expect_owner "$out/cert.pem" "root root 644"
}

# DER; only --fullchain-path. (A CSR without subjectAltName takes its CN
# as the name, test_csr; Pebble refuses such a CSR at finalize, as RFC 8555
# lets a CA do, so it is not ordered here.)
t_csr_der()
{
	local out=$T/csr-der

	mkdir -p "$out"
	openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
		-keyout "$T/der.key" -subj "/O=acmed test" -addext "subjectAltName=DNS:der.example" \
		-outform DER \
		-out "$T/der.csr" 2>/dev/null || fail "openssl req"
	run cert "${CA_OPTS[@]}" --csr "$T/der.csr" --fullchain-path "$out/full.pem"
	expect_status 0
	expect_stdout "$out/full.pem"
	if [[ $(pub_of_cert "$out/full.pem") != "$(pub_of_key "$T/der.key")" ]]; then
		fail "the certificate's key is not the CSR's"
	fi
	if ! openssl x509 -in "$out/full.pem" -noout -ext subjectAltName | grep -q 'DNS:der.example'; then
		fail "the certificate does not name der.example"
	fi
}

t_csr_refused()
{
	local acct

	run cert "${CA_OPTS[@]}" --csr "$T/user.csr" --cert-path "$T/x.pem" other.example
	expect_status 2
	expect_stderr_one_line
	expect_stderr_contains "acmed: error: --csr: the names are the CSR's: drop 'other.example' (or --csr)"
	run cert "${CA_OPTS[@]}" --csr "$T/user.csr"
	expect_status 2
	expect_stderr_contains "--csr: say where the certificate goes"
	run cert "${CA_OPTS[@]}" --cert-path "$T/x.pem" a.example
	expect_status 2
	expect_stderr_contains "--cert-path: only with --csr FILE"
	run cert "${CA_OPTS[@]}"
	expect_status 2
	expect_stderr_contains "cert: missing argument: NAME [NAME...] (or --csr FILE)"
	printf 'not a csr\n' >"$T/junk.csr"
	run cert "${CA_OPTS[@]}" --csr "$T/junk.csr" --cert-path "$T/x.pem"
	expect_status 2
	expect_stderr_one_line
	expect_stderr_contains "acmed: error: --csr $T/junk.csr: not a certificate signing request (PEM or DER)"
	acct=$(find "$STATE/accounts" -name account.key | head -n 1)
	openssl req -new -key "$acct" -subj "/CN=acct.example" -out "$T/acct.csr" 2>/dev/null ||
		fail "openssl req with the account key"
	run cert "${CA_OPTS[@]}" --csr "$T/acct.csr" --cert-path "$T/x.pem"
	expect_status 2
	expect_stderr_contains "--csr $T/acct.csr: its key is the ACME account's key"
	if [[ -e $T/x.pem ]]; then
		fail "a refused --csr wrote $T/x.pem"
	fi
}

case_ "unknown user, other-readable key-mode and unknown output are refused at load" t_check_refuses
case_ "output = pem combined pkcs12: combined.pem, cert.p12 in the set, hook told" t_outputs
case_ "key-group/key-mode and cert-owner/-group/-mode applied; nobody reads its key" t_ownership
case_ "a renewal switches every file together; the previous set keeps its modes" t_renewal_switches_all
case_ "--csr: Pebble issues an OpenSSL CSR, key stays with the user, chain verifies" t_csr
case_ "--csr: a DER CSR, the full chain alone" t_csr_der
case_ "--csr: names, missing paths, junk and the account key are refused" t_csr_refused
lib_finish
