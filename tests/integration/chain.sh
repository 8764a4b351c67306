#!/usr/bin/env bash
# Chain choice (issue 16) against Pebble with two alternate roots: the
# download names the alternates (Link: rel="alternate", RFC 8555 section
# 7.4.2); preferred-chain (the key, per section, and --preferred-chain for
# cert and renew) installs the chain whose topmost certificate is issued by
# that root, verified against it; a name no chain has installs the default
# and says which issuers were offered; chain = shortest fetches them all and
# keeps the default on a tie (Pebble's chains are all as long); without a
# preference the alternates are not even asked for (Pebble's log counts the
# downloads, nonce rejection off so that no POST is sent twice).
#
# Environment: ACMED, TESTS_DIR. Exits 0, 1 when a case failed, 77 when
# Pebble is not installed, 99 when the harness itself is broken.
set -uo pipefail

# shellcheck source=lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh" || exit 99
lib_init chain
# shellcheck source=../pebble.sh
. "$TESTS_DIR/pebble.sh" || exit 99

pebble_require_or_skip
export PEBBLE_ALTERNATE_ROOTS=2 PEBBLE_CHAIN_LENGTH=3 PEBBLE_WFE_NONCEREJECT=0
pebble_start || exit 1

# The three roots (0: the default chain's) and their Common Names.
ROOT_NAMES=()
for i in 0 1 2; do
	curl -sSf --max-time 10 --cacert "$PEBBLE_CA_FILE" -o "$T/root$i.pem" \
		"$PEBBLE_MGMT_URL/roots/$i" || exit 99
	ROOT_NAMES+=("$(openssl x509 -in "$T/root$i.pem" -noout -subject -nameopt multiline |
		sed -n 's/^ *commonName *= //p')")
	[[ -n ${ROOT_NAMES[$i]} ]] || exit 99
done

STATE=$T/state
CA_OPTS=(--ca "$PEBBLE_DIR_URL" --ca-file "$PEBBLE_CA_FILE" --state-dir "$STATE" --agree-tos
	--standalone "127.0.0.1:$PEBBLE_HTTP_PORT")
CONF=$T/acmed.conf
D=$STATE/certs/chain.example
RENEW_OPTS=(--ca "$PEBBLE_DIR_URL" --ca-file "$PEBBLE_CA_FILE" --state-dir "$STATE")

# conf GLOBAL-LINES SECTION-LINES: writes CONF, with the responder renew
# needs (no --standalone there).
conf()
{
	printf 'http-listen = 127.0.0.1:%s\n%s[cert chain.example]\ndomains = chain.example\n%s' \
		"$PEBBLE_HTTP_PORT" "$1" "$2" >"$CONF"
}

# Downloads so far: the default chain and every alternate is one POST to
# /certZ/.
downloads()
{
	grep -c 'POST /certZ/' "$PEBBLE_WORKDIR/pebble.log"
}

# expect_root N: the chain installed in D ends with a certificate issued by
# root N, and cert.pem verifies against that root through chain.pem.
expect_root()
{
	local n=$1 issuer out

	issuer=$(awk '/BEGIN CERT/{c=""} {c=c $0 "\n"} END{printf "%s", c}' "$D/chain.pem" |
		openssl x509 -noout -issuer -nameopt multiline | sed -n 's/^ *commonName *= //p')
	if [[ $issuer != "${ROOT_NAMES[$n]}" ]]; then
		fail "chain.pem ends with a certificate issued by '$issuer', want '${ROOT_NAMES[$n]}'"
	fi
	if ! out=$(openssl verify -CAfile "$T/root$n.pem" -untrusted "$D/chain.pem" "$D/cert.pem" 2>&1); then
		fail "cert.pem does not verify against root $n: $out"
	fi
	if ! cat "$D/cert.pem" "$D/chain.pem" | cmp -s - "$D/fullchain.pem"; then
		fail "fullchain.pem is not cert.pem then chain.pem"
	fi
}

# expect_downloads BEFORE N: N downloads since BEFORE.
expect_downloads()
{
	local got=$(($(downloads) - $1))

	if ((got != $2)); then
		fail "$got POSTs to /certZ/, want $2"
	fi
}

t_no_preference()
{
	local before
	before=$(downloads)
	run cert "${CA_OPTS[@]}" chain.example
	expect_status 0
	expect_root 0
	expect_downloads "$before" 1
}

t_preferred_flag()
{
	local before n
	for n in 1 2 0; do
		before=$(downloads)
		run cert "${CA_OPTS[@]}" --force --preferred-chain "${ROOT_NAMES[$n]}" chain.example
		expect_status 0
		expect_root "$n"
		# The default and both alternates.
		expect_downloads "$before" 3
	done
}

t_preferred_conf_renew()
{
	# The section over the global key; the name in another case.
	conf "preferred-chain = ${ROOT_NAMES[2]}"$'\n' "preferred-chain = ${ROOT_NAMES[1],,}"$'\n'
	run renew -c "$CONF" "${RENEW_OPTS[@]}" --force
	expect_status 0
	expect_root 1
	# The command line over the section.
	run renew -c "$CONF" "${RENEW_OPTS[@]}" --force --preferred-chain "${ROOT_NAMES[2]}"
	expect_status 0
	expect_root 2
}

t_no_match()
{
	run cert "${CA_OPTS[@]}" --force --preferred-chain "Nobody Root CA" chain.example
	expect_status 0
	expect_root 0
	expect_stderr_contains "preferred-chain \"Nobody Root CA\": no chain offered is issued by it; the CA offered chains issued by \"${ROOT_NAMES[0]}\" (default), \"${ROOT_NAMES[1]}\", \"${ROOT_NAMES[2]}\"; using the default"
	if (($(grep -c 'no chain offered' "$ERR") != 1)); then
		fail "the offered issuers are not logged exactly once"
	fi
}

t_shortest()
{
	local before
	conf "" $'chain = shortest\n'
	before=$(downloads)
	run renew -c "$CONF" "${RENEW_OPTS[@]}" --force
	expect_status 0
	expect_root 0
	expect_downloads "$before" 3
	# preferred-chain goes first; shortest then decides among its matches.
	conf $'chain = shortest\n' "preferred-chain = ${ROOT_NAMES[2]}"$'\n'
	run renew -c "$CONF" "${RENEW_OPTS[@]}" --force
	expect_status 0
	expect_root 2
}

t_bad_values()
{
	conf "" $'chain = short\n'
	run check -c "$CONF" --syntax
	expect_status 2
	expect_stderr_contains "$CONF:4: chain: invalid value 'short': expected default or shortest"
	run renew "${RENEW_OPTS[@]}" --now --preferred-chain X chain.example
	expect_status 2
	expect_stderr_one_line
	expect_stderr_contains "--preferred-chain is the daemon's configuration's"
	run cert "${CA_OPTS[@]}" --preferred-chain "$(printf 'a\tb')" chain.example
	expect_status 2
	expect_stderr_contains "cert: --preferred-chain: invalid value: contains a control character"
}

case_ "no preference: the default chain, no alternate asked for" t_no_preference
case_ "--preferred-chain installs the chain of each root" t_preferred_flag
case_ "preferred-chain in the file, per section, under renew's flag" t_preferred_conf_renew
case_ "a name no chain has: the default, the issuers offered logged once" t_no_match
case_ "chain = shortest: a tie keeps the default; preferred-chain first" t_shortest
case_ "bad values name the key, line or flag" t_bad_values
lib_finish
