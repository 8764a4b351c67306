#!/usr/bin/env bash
# dns-01 done right (issue #18) against Pebble: the propagation check, CNAME
# delegation and the built-in RFC 2136 updates.
#
# Three parts, each with its own Pebble. First Pebble's VA asks
# pebble-challtestsrv (which answers NOTIMP to SOA and NS queries: acmed
# then asks the dns-resolver servers directly): a hook that sets its record
# late, a delegated _acme-challenge. Then it asks BIND: two named on port
# 53 of two addresses of their own (127.0.53.1 and .2: an NS record has no
# port), primaries of c.example (ns1 only) and d.example (both, each its
# own copy: the test gives ns2 the record late). That half runs in a
# network namespace of its own (unshare -n: this script again, with
# DNS_SH_NETNS=1), whose loopback gets those addresses and whose port 53 is
# free, so the host's network is left as it was; it needs root and named,
# nsupdate, tsig-keygen, dig, ip, unshare, and is skipped without them.
# In between, without a namespace: one named on a free port of 127.0.0.1,
# whose zone's NS host is not it, reached by dns-update (by name) and by
# dns-propagation-servers (the operator trial of #18), and the
# configuration checks that need no server; it needs named, tsig-keygen
# and dig.
#
# Environment: ACMED, TESTS_DIR. Exits 0, 1 when a case failed, 77 when
# Pebble is not installed, 99 when the harness is broken.
set -uo pipefail

# shellcheck source=lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh" || exit 99
lib_init dns
# shellcheck source=../pebble.sh
. "$TESTS_DIR/pebble.sh" || exit 99

pebble_require_or_skip
export PEBBLE_AUTHZREUSE=0

# The options of every "acmed cert": CA, state folder, account.
ca_opts()
{
	CA_OPTS=(--ca "$PEBBLE_DIR_URL" --ca-file "$PEBBLE_CA_FILE" --state-dir "$T/state"
		--agree-tos)
}

# How many authorizations Pebble failed so far.
pebble_invalid()
{
	grep -c 'set INVALID by completed challenge' "$PEBBLE_WORKDIR/pebble.log"
}

# How many newOrders Pebble got so far.
pebble_orders()
{
	grep -c 'POST /order-plz -> calling handler' "$PEBBLE_WORKDIR/pebble.log"
}

# expect_no_invalid: Pebble failed no authorization.
expect_no_invalid()
{
	local n

	n=$(pebble_invalid)
	if [[ $n != 0 ]]; then
		fail "Pebble failed $n authorizations, want none"
	fi
}

# make_hook PATH DELAY: a dns-hook for challtestsrv that logs "ACTION NAME
# VALUE ACMED_RECORD ACMED_DNS_NAME ACMED_DNS_ORIGINAL_NAME" to PATH.log and
# sets the TXT record NAME only DELAY seconds after it returned.
make_hook()
{
	local path=$1 delay=$2

	: >"$path.log"
	cat >"$path" <<EOF
#!/bin/sh
echo "\$1 \$2 \$3 \$ACMED_RECORD \$ACMED_DNS_NAME \$ACMED_DNS_ORIGINAL_NAME" >>'$path.log'
case \$1 in
add)
	( sleep $delay; curl -sSf --max-time 10 -X POST \\
		-d "{\"host\": \"\$2\", \"value\": \"\$3\"}" '$CHALLTESTSRV_URL/set-txt' ) \\
		</dev/null >/dev/null 2>&1 &
	exit 0 ;;
del)
	exec curl -sSf --max-time 10 -X POST -d "{\"host\": \"\$2\"}" \\
		'$CHALLTESTSRV_URL/clear-txt' ;;
esac
exit 1
EOF
	chmod 755 "$path"
}

# ---- challtestsrv ----

t_late_record()
{
	local hook=$T/late

	ca_opts
	make_hook "$hook" 5
	run_t 90 cert late.example -v --dns-hook "$hook" --dns-resolver "$PEBBLE_DNS_SERVER" \
		"${CA_OPTS[@]}"
	expect_status 0
	expect_no_invalid
	expect_stderr_contains "asking the resolvers (dns-resolver) instead of the authoritative servers"
	expect_stderr_contains "_acme-challenge.late.example: waiting for 1 of 1 servers: $PEBBLE_DNS_SERVER"
	expect_stderr_matches '_acme-challenge\.late\.example: served by all 1 resolvers after [0-9]+ polls'
	if ! grep -q '^del _acme-challenge\.late\.example\. ' "$hook.log"; then
		fail "no del: $(cat "$hook.log")"
	fi
}

# A hook that cannot set the record the first time (a DNS API down): the
# CA was never told to validate, so its order stays pending there; the next
# run takes it on instead of ordering anew (the trial's "order wasted").
t_hook_fails_order_kept()
{
	local hook=$T/flaky added

	ca_opts
	make_hook "$hook.ok" 0
	cat >"$hook" <<EOF
#!/bin/sh
if [ "\$1" = add ] && [ ! -e '$hook.once' ]; then
	touch '$hook.once'
	echo "the DNS API is down" >&2
	exit 1
fi
exec '$hook.ok' "\$@"
EOF
	chmod 755 "$hook"
	added=$(grep -c 'Added order' "$PEBBLE_WORKDIR/pebble.log")
	run_t 60 cert flaky.example -v --dns-hook "$hook" --dns-resolver "$PEBBLE_DNS_SERVER" \
		"${CA_OPTS[@]}"
	expect_status 1
	expect_stderr_contains "the DNS API is down"
	expect_stderr_contains "flaky.example: the order stays open at the CA; the next attempt takes it on"
	if ! grep -q '"order_url": *"http' "$T/state/certs/flaky.example/state.json"; then
		fail "state.json forgot the order: $(cat "$T/state/certs/flaky.example/state.json")"
	fi
	if [[ $(grep -c 'Added order' "$PEBBLE_WORKDIR/pebble.log") != $((added + 1)) ]]; then
		fail "not one order at Pebble"
	fi
	# Held by the backoff of its failure; --force takes the order on now.
	run_t 60 cert flaky.example -v --force --dns-hook "$hook" \
		--dns-resolver "$PEBBLE_DNS_SERVER" "${CA_OPTS[@]}"
	expect_status 0
	expect_stderr_contains "flaky.example: resuming order"
	expect_no_invalid
	if [[ $(grep -c 'Added order' "$PEBBLE_WORKDIR/pebble.log") != $((added + 1)) ]]; then
		fail "a second order at Pebble: the first was not taken on"
	fi
	if ! openssl x509 -noout -ext subjectAltName -in "$T/state/certs/flaky.example/cert.pem" |
		grep -q 'DNS:flaky.example'; then
		fail "no certificate for flaky.example installed"
	fi
}

# status without a daemon while a command's order waits for its record:
# the certificate's lock names the command, the row says it runs (operator
# trial: it said "an order was begun (stopped?)" and invited a second run).
t_status_sees_command()
{
	local hook=$T/slow pid

	ca_opts
	lib_python || return
	make_hook "$hook" 4
	"$ACMED" cert slow.example --dns-hook "$hook" --dns-resolver "$PEBBLE_DNS_SERVER" \
		"${CA_OPTS[@]}" >"$T/slow.out" 2>"$T/slow.err" &
	pid=$!
	if ! wait_until 20 grep -q '^add ' "$hook.log"; then
		fail "the hook was not run"
	fi
	run status --json --state-dir "$T/state"
	expect_status 0
	if [[ $(json_get "$OUT" 'any(c["running"] for c in j["certs"] if c["cert"] == "slow.example")') != True ]]; then
		fail "status does not show the order running: $(tr -d '\n' <"$OUT")"
	fi
	if ! grep -qE '"why": *"an order is running: pid [0-9]+ \(acmed cert' "$OUT"; then
		fail "status does not name the command: $(tr -d '\n' <"$OUT")"
	fi
	# The table says it too, not what the files say it is owed.
	run status --state-dir "$T/state"
	expect_status 0
	if ! grep -qE '^slow\.example +running ' "$OUT"; then
		fail "the status table does not show slow.example running: $(cat "$OUT")"
	fi
	if ! wait "$pid"; then
		fail "acmed cert failed: $(cat "$T/slow.err")"
	fi
}

t_cname()
{
	local hook=$T/cname

	ca_opts
	make_hook "$hook" 0
	challtestsrv_post /set-cname \
		'{"host": "_acme-challenge.cname.example.", "target": "acme.delegated.example."}' ||
		fail "set-cname failed"
	run_t 90 cert cname.example -v --dns-hook "$hook" --dns-resolver "$PEBBLE_DNS_SERVER" \
		"${CA_OPTS[@]}"
	expect_status 0
	expect_no_invalid
	expect_stderr_contains "_acme-challenge.cname.example. is delegated to acme.delegated.example. (CNAME)"
	# NAME, ACMED_RECORD and ACMED_DNS_NAME are the target; the original
	# is in ACMED_DNS_ORIGINAL_NAME; the del goes to the target too.
	if ! grep -qE '^add acme\.delegated\.example\. [A-Za-z0-9_-]{43} acme\.delegated\.example\. acme\.delegated\.example\. _acme-challenge\.cname\.example\.$' "$hook.log"; then
		fail "add: $(cat "$hook.log")"
	fi
	if ! grep -q '^del acme\.delegated\.example\. ' "$hook.log"; then
		fail "del: $(cat "$hook.log")"
	fi
}

# ---- BIND ----

NS1=127.0.53.1
NS2=127.0.53.2

# bind_start: both named on NS1 and NS2, in this network namespace.
bind_start()
{
	local d=$T/named i

	mkdir -p "$d/1" "$d/2" || return 1
	ip link set lo up || return 1
	ip addr add "$NS1/8" dev lo || return 1
	ip addr add "$NS2/8" dev lo || return 1
	tsig-keygen -a hmac-sha256 acmed >"$d/tsig.key" 2>/dev/null || return 1
	tsig-keygen -a hmac-sha256 acmed >"$d/wrong.key" 2>/dev/null || return 1
	chmod 600 "$d/tsig.key" "$d/wrong.key"
	for i in 1 2; do
		zone_files "$d/$i" || return 1
		cat >"$d/$i/named.conf" <<EOF
options {
	directory "$d/$i";
	pid-file "$d/$i/named.pid";
	session-keyfile "$d/$i/session.key";
	listen-on port 53 { 127.0.53.$i; };
	listen-on-v6 { none; };
	recursion no;
	dnssec-validation no;
	notify no;
};
controls { };
include "$d/tsig.key";
zone "d.example" {
	type primary;
	file "d.example.zone";
	update-policy { grant acmed zonesub TXT; };
};
EOF
		if ((i == 1)); then
			cat >>"$d/$i/named.conf" <<EOF
zone "c.example" {
	type primary;
	file "c.example.zone";
	update-policy { grant acmed zonesub TXT; };
};
EOF
		fi
		named -g -4 -c "$d/$i/named.conf" </dev/null >"$d/$i/named.log" 2>&1 &
		lib_track_pid "$!"
	done
	if ! wait_until 10 dig_ok "$NS1" || ! wait_until 10 dig_ok "$NS2"; then
		echo "dns.sh: named did not start: $(tail -n 5 "$d/1/named.log" "$d/2/named.log")" >&2
		return 1
	fi
}

# zone_files DIR: c.example (ns1 only) and d.example (ns1 and ns2).
zone_files()
{
	cat >"$1/c.example.zone" <<EOF
\$TTL 60
@	IN SOA	ns1.c.example. hostmaster.c.example. 1 3600 600 86400 60
@	IN NS	ns1.c.example.
ns1	IN A	$NS1
@	IN A	127.0.0.1
*	IN A	127.0.0.1
EOF
	cat >"$1/d.example.zone" <<EOF
\$TTL 60
@	IN SOA	ns1.d.example. hostmaster.d.example. 1 3600 600 86400 60
@	IN NS	ns1.d.example.
@	IN NS	ns2.d.example.
ns1	IN A	$NS1
ns2	IN A	$NS2
@	IN A	127.0.0.1
*	IN A	127.0.0.1
EOF
}

dig_ok()
{
	dig +short +time=1 +tries=1 @"$1" d.example SOA | grep -q "^ns1\.d\.example\. "
}

# txt SERVER NAME: the TXT values of NAME at SERVER.
txt()
{
	dig +short +time=2 +tries=1 @"$1" "$2" TXT | tr -d '"' | LC_ALL=C sort
}

# A configuration of dns-update against ns1 with key $1.
update_conf()
{
	printf 'dns-resolver = %s\n[cert %s]\ndomains = %s\nchallenge = dns-01\ndns-update = %s\ndns-update-key = %s\n' \
		"$NS1" "$2" "$2" "$NS1" "$1" >"$T/$2.conf"
}

t_update()
{
	local d=$T/named probes

	ca_opts
	update_conf "$d/tsig.key" www.c.example
	run check -c "$T/www.c.example.conf"
	expect_status 0
	run_t 90 cert -v -c "$T/www.c.example.conf" www.c.example "${CA_OPTS[@]}"
	expect_status 0
	expect_no_invalid
	expect_stderr_contains "dns-update $NS1:53: added a TXT record of _acme-challenge.www.c.example (zone c.example)"
	expect_stderr_contains "_acme-challenge.www.c.example: served by all 1 authoritative servers"
	if ! grep -q "adding an RR at '_acme-challenge.www.c.example' TXT" "$d/1/named.log"; then
		fail "BIND added no record"
	fi
	if ! grep -q "deleting an RR at _acme-challenge.www.c.example TXT" "$d/1/named.log"; then
		fail "BIND deleted no record: $(grep -i 'updat' "$d/1/named.log" | tail -n 5)"
	fi
	# check's probe and the order's: signed updates BIND took, each
	# before the record was added.
	# The probes of check and of the order before newOrder: signed
	# updates BIND took, each deleting a value nobody set, before the add.
	probes=$(sed -n -e "/adding an RR at '_acme-challenge.www.c.example' TXT/q" \
		-e "/deleting an RR at _acme-challenge.www.c.example TXT/p" "$d/1/named.log" | wc -l)
	if ((probes != 2)); then
		fail "$probes probes before the add, want 2 (check's, the order's)"
	fi
	if [[ -n $(txt "$NS1" _acme-challenge.www.c.example) ]]; then
		fail "the record is still there"
	fi
}

t_update_wrong_key()
{
	local d=$T/named before orders

	ca_opts
	before=$(pebble_invalid)
	orders=$(pebble_orders)
	update_conf "$d/wrong.key" bad.c.example
	# check asks the server as the order's probe does.
	run_t 60 check -c "$T/bad.c.example.conf"
	expect_status 2
	expect_stderr_matches "bad\.c\.example\.conf: dns-update $NS1:53: .*(NOTAUTH|BADSIG).*dns-update-key $d/wrong\.key"
	# The probe before newOrder finds the refusal: no order is spent.
	run_t 60 cert -c "$T/bad.c.example.conf" bad.c.example "${CA_OPTS[@]}"
	expect_status 1
	expect_stderr_matches "bad\.c\.example: not ordered: dns-update $NS1:53: .*(NOTAUTH|BADSIG)"
	expect_stderr_contains "dns-update-key $d/wrong.key"
	if [[ $(pebble_orders) != "$orders" ]]; then
		fail "a newOrder reached Pebble: $(($(pebble_orders) - orders))"
	fi
	if [[ $(pebble_invalid) != "$before" ]]; then
		fail "an authorization failed at Pebble: the CA was asked to validate"
	fi
}

t_update_config_errors()
{
	local d=$T/named

	printf 'key "acmed" {\n\talgorithm hmac-md5;\n\tsecret "c2VjcmV0";\n};\n' >"$T/md5.key"
	chmod 600 "$T/md5.key"
	update_conf "$T/md5.key" md5.c.example
	run check -c "$T/md5.c.example.conf"
	expect_status 2
	expect_stderr_contains "$T/md5.key:2:"
	printf 'dns-hook = /bin/true\n' >>"$T/md5.c.example.conf"
	run check --syntax -c "$T/md5.c.example.conf"
	expect_status 2
	expect_stderr_contains "$T/md5.c.example.conf:7: dns-hook: dns-update is set too (line 5)"
	# A host name is taken (resolved when used); a mistyped address is not.
	update_conf "$d/tsig.key" host.c.example
	sed -i "s/^dns-update = .*/dns-update = ns1.c.example/" "$T/host.c.example.conf"
	run check --syntax -c "$T/host.c.example.conf"
	expect_status 0
	sed -i "s/^dns-update = .*/dns-update = 1.2.3/" "$T/host.c.example.conf"
	run check --syntax -c "$T/host.c.example.conf"
	expect_status 2
	expect_stderr_contains "$T/host.c.example.conf:5: dns-update: invalid value '1.2.3': not an address or host name"
}

t_lagging_server()
{
	local d=$T/named waiter value

	ca_opts
	update_conf "$d/tsig.key" www.d.example
	# ns2 gets the record 4 s after ns1 has it.
	(
		for _ in $(seq 1 300); do
			value=$(txt "$NS1" _acme-challenge.www.d.example)
			[[ -n $value ]] && break
			sleep 0.1
		done
		sleep 4
		printf 'server %s\nzone d.example\nupdate add _acme-challenge.www.d.example. 60 TXT "%s"\nsend\n' \
			"$NS2" "$value" | nsupdate -k "$d/tsig.key"
	) >"$T/waiter.log" 2>&1 &
	waiter=$!
	run_t 90 cert -v -c "$T/www.d.example.conf" www.d.example "${CA_OPTS[@]}"
	wait "$waiter"
	expect_status 0
	expect_no_invalid
	expect_stderr_contains "_acme-challenge.www.d.example: waiting for 1 of 2 servers: ns2.d.example ($NS2) (no TXT record)"
	expect_stderr_contains "_acme-challenge.www.d.example: served by all 2 authoritative servers"
}

# ---- BIND on a free port, no namespace ----

BPORT=
BDIR=

# bind_port_start: named on 127.0.0.1:$BPORT, primary of e.example, whose
# NS host is ns1.e.example (127.0.0.1, port 53: not this server). The zone
# has a CAA record at caa.e.example naming another CA.
bind_port_start()
{
	BDIR=$T/named-port
	mkdir -p "$BDIR" || return 1
	BPORT=$(pebble_free_ports 1) || return 1
	tsig-keygen -a hmac-sha256 acmed >"$BDIR/tsig.key" 2>/dev/null || return 1
	chmod 600 "$BDIR/tsig.key"
	cat >"$BDIR/e.example.zone" <<ZONE
\$TTL 60
@	IN SOA	ns1.e.example. hostmaster.e.example. 1 3600 600 86400 60
@	IN NS	ns1.e.example.
ns1	IN A	127.0.0.1
@	IN A	127.0.0.1
*	IN A	127.0.0.1
caa	IN CAA	0 issue "other.example"
ZONE
	cat >"$BDIR/named.conf" <<CONF
options {
	directory "$BDIR";
	pid-file "$BDIR/named.pid";
	session-keyfile "$BDIR/session.key";
	listen-on port $BPORT { 127.0.0.1; };
	listen-on-v6 { none; };
	recursion no;
	dnssec-validation no;
	notify no;
};
controls { };
include "$BDIR/tsig.key";
zone "e.example" {
	type primary;
	file "e.example.zone";
	update-policy { grant acmed zonesub TXT; };
};
CONF
	named -g -4 -c "$BDIR/named.conf" </dev/null >"$BDIR/named.log" 2>&1 &
	lib_track_pid "$!"
	if ! wait_until 10 port_dig_ok; then
		echo "dns.sh: named did not start: $(tail -n 5 "$BDIR/named.log")" >&2
		return 1
	fi
}

port_dig_ok()
{
	dig +short +time=1 +tries=1 -p "$BPORT" @127.0.0.1 e.example SOA |
		grep -q "^ns1\.e\.example\. "
}

# port_conf NAME [LINE...]: a [cert NAME] for NAME with dns-01, the
# resolver and the propagation servers that named, and the lines given.
port_conf()
{
	local name=$1
	shift
	{
		printf 'dns-resolver = 127.0.0.1:%s\n' "$BPORT"
		printf '[cert %s]\ndomains = %s\nchallenge = dns-01\n' "$name" "$name"
		printf 'dns-propagation-servers = 127.0.0.1:%s\n' "$BPORT"
		printf '%s\n' "$@"
	} >"$T/$name.conf"
}

t_port_propagation()
{
	ca_opts
	port_conf www.e.example "dns-update = ns1.e.example:$BPORT" \
		"dns-update-key = $BDIR/tsig.key"
	run check -c "$T/www.e.example.conf"
	expect_status 0
	run_t 90 cert -v -c "$T/www.e.example.conf" www.e.example "${CA_OPTS[@]}"
	expect_status 0
	expect_no_invalid
	# The name resolved to 127.0.0.1 through dns-resolver; the zone's NS
	# host (port 53) was not asked.
	expect_stderr_contains "dns-update 127.0.0.1:$BPORT: added a TXT record of _acme-challenge.www.e.example (zone e.example)"
	expect_stderr_contains "_acme-challenge.www.e.example: served by all 1 authoritative servers"
	expect_stderr_not_matches "ns1\.e\.example \(127\.0\.0\.1\)"
	if ! grep -q "deleting an RR at _acme-challenge.www.e.example TXT" "$BDIR/named.log"; then
		fail "BIND deleted no record"
	fi
}

t_port_unresolved()
{
	local before orders

	ca_opts
	before=$(pebble_invalid)
	orders=$(pebble_orders)
	# No zone of the resolver holds it (e.example's wildcard would).
	port_conf gone.e.example "dns-update = nowhere.invalid:$BPORT" \
		"dns-update-key = $BDIR/tsig.key"
	# check --syntax takes a name; check asks for it, as the order would.
	run check --syntax -c "$T/gone.e.example.conf"
	expect_status 0
	run_t 30 check -c "$T/gone.e.example.conf"
	expect_status 2
	expect_stderr_matches "gone\.e\.example\.conf: dns-update nowhere\.invalid:$BPORT: the server's name does not resolve \([A-Za-z]+\)"
	run_t 60 cert -c "$T/gone.e.example.conf" gone.e.example "${CA_OPTS[@]}"
	expect_status 1
	expect_stderr_matches "dns-update nowhere\.invalid:$BPORT: the server's name does not resolve \([A-Za-z]+\): set dns-update"
	if [[ $(pebble_orders) != "$orders" ]]; then
		fail "a newOrder reached Pebble: the probe let an unresolved server through"
	fi
	if [[ $(pebble_invalid) != "$before" ]]; then
		fail "an authorization failed at Pebble: the CA was asked to validate"
	fi
	if grep -q "_acme-challenge.gone.e.example" "$BDIR/named.log"; then
		fail "an update reached BIND"
	fi
}

t_port_cli_replaces()
{
	ca_opts
	# The section says dns-hook (a program that fails); the command line's
	# dns-update replaces it, and the reverse.
	port_conf cli.e.example "dns-hook = /bin/false"
	run_t 90 cert -c "$T/cli.e.example.conf" cli.e.example --dns-update "127.0.0.1:$BPORT" \
		--dns-update-key "$BDIR/tsig.key" "${CA_OPTS[@]}"
	expect_status 0
	expect_no_invalid
	port_conf cli2.e.example "dns-update = 127.0.0.1:$BPORT" "dns-update-key = $BDIR/tsig.key"
	run_t 60 cert -c "$T/cli2.e.example.conf" cli2.e.example --dns-hook /bin/false \
		"${CA_OPTS[@]}"
	expect_status 1
	expect_stderr_contains "dns-hook"
	if grep -q "_acme-challenge.cli2.e.example" "$BDIR/named.log"; then
		fail "dns-update was used over --dns-hook"
	fi
	run cert -c "$T/cli2.e.example.conf" cli2.e.example --dns-hook /bin/false \
		--dns-update "127.0.0.1:$BPORT" "${CA_OPTS[@]}"
	expect_status 2
	expect_stderr_contains "cert: --dns-hook and --dns-update answer the challenge two ways: keep one of them"
}

t_port_no_caa_check()
{
	ca_opts
	port_conf caa.e.example "dns-update = 127.0.0.1:$BPORT" "dns-update-key = $BDIR/tsig.key" \
		"caa-identity = pebble.test"
	run_t 60 cert -c "$T/caa.e.example.conf" caa.e.example "${CA_OPTS[@]}"
	expect_status 1
	expect_stderr_contains 'CAA of caa.e.example: 0 issue "other.example" does not name this CA (pebble.test)'
	run_t 90 cert -c "$T/caa.e.example.conf" caa.e.example --no-caa-check "${CA_OPTS[@]}"
	expect_status 0
	expect_no_invalid
}

# What check --syntax and check refuse, at file:line, touching nothing.
t_syntax_errors()
{
	local conf=$T/syntax.conf sub

	printf 'state-dir = %s\nchallenge = dns-01\ndns-hook = /bin/true\ndns-update = 127.0.0.1\n[cert a]\ndomains = a.example\n' \
		"$T/untouched" >"$conf"
	for sub in "check --syntax" check; do
		# shellcheck disable=SC2086
		run $sub "$conf"
		expect_status 2
		expect_stderr_contains "$conf:4: dns-update: dns-hook is set too (line 3): keep one of them"
	done
	printf '[cert a]\ndomains = a.example\nchallenge = http-01\ndns-hook = /bin/true\n' >"$conf"
	run check --syntax "$conf"
	expect_status 2
	expect_stderr_contains "$conf:4: dns-hook needs challenge = dns-01 (challenge is http-01)"
	printf '[cert a]\ndomains = a.example\nchallenge = dns-01\ndns-hook = /bin/true\ndns-update-key = /etc/k.key\n' >"$conf"
	run check --syntax "$conf"
	expect_status 2
	expect_stderr_contains "$conf:5: dns-update-key needs dns-update"
	if [[ -e $T/untouched ]]; then
		fail "check made the state folder"
	fi
}

port_part()
{
	local missing='' prog c

	case_ "dns-hook + dns-update, dns-01 keys against the challenge: file:line" t_syntax_errors
	for prog in named tsig-keygen dig; do
		command -v "$prog" >/dev/null 2>&1 || missing+=" $prog"
	done
	if [[ -n $missing ]]; then
		for c in "dns-propagation-servers on a free port" "dns-update name that does not resolve" \
			"command line replaces the configured way" "--no-caa-check"; do
			skip_case "$c" "needs named tsig-keygen dig;$missing"
		done
		return
	fi
	if ! bind_port_start; then
		fail_case "start BIND on a free port"
		return
	fi
	if ! PEBBLE_DNS_RESOLVER=127.0.0.1:$BPORT pebble_start; then
		fail_case "start Pebble against BIND on a free port"
		return
	fi
	case_ "dns-propagation-servers on a free port, dns-update by name: no namespace needed" \
		t_port_propagation
	case_ "dns-update name that does not resolve: fails before the CA validates" t_port_unresolved
	case_ "the command line's dns-update or dns-hook replaces the configured one" \
		t_port_cli_replaces
	case_ "--no-caa-check orders what caa-check refuses" t_port_no_caa_check
	pebble_stop
}

# ---- main ----

bind_half()
{
	if ! bind_start; then
		fail_case "start BIND"
		lib_finish
	fi
	export PEBBLE_DNS_RESOLVER=$NS1:53
	if ! pebble_start; then
		fail_case "start Pebble against BIND"
		lib_finish
	fi
	case_ "dns-update with a TSIG key adds the record, then removes it" t_update
	case_ "dns-update with a wrong key: the server's rcode, no validation asked" t_update_wrong_key
	case_ "dns-update: key file and setting errors at acmed check" t_update_config_errors
	case_ "two authoritative servers, one lagging: the check waits for it" t_lagging_server
	lib_finish
}

if [[ ${DNS_SH_NETNS:-0} == 1 ]]; then
	N=$DNS_SH_N
	FAILED=$DNS_SH_FAILED
	bind_half
fi

if ! pebble_start; then
	fail_case "start Pebble"
	lib_finish
fi
case_ "a hook whose record appears 5 s late: acmed waits, Pebble validates at once" t_late_record
case_ "_acme-challenge delegated by CNAME: the hook gets the target" t_cname
case_ "a hook that fails once: the order stays pending at the CA, the next run takes it on" \
	t_hook_fails_order_kept
case_ "status without a daemon names a command's order running" t_status_sees_command
pebble_stop
port_part

missing=
for prog in named nsupdate tsig-keygen dig ip unshare; do
	command -v "$prog" >/dev/null 2>&1 || missing+=" $prog"
done
if [[ -z $missing && $(id -u) == 0 ]] && unshare -n true 2>/dev/null; then
	# The BIND half in a network namespace of its own: this script again.
	lib_cleanup
	trap - EXIT
	exec unshare -n -- env DNS_SH_NETNS=1 DNS_SH_N="$N" DNS_SH_FAILED="$FAILED" \
		bash "${BASH_SOURCE[0]}"
fi
for c in "dns-update adds and removes" "dns-update with a wrong key" \
	"dns-update settings at acmed check" "one lagging server"; do
	skip_case "$c" "needs root, unshare -n, and named nsupdate tsig-keygen dig ip;$missing"
done
lib_finish
