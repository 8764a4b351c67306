#!/usr/bin/env bash
# The README's quick starts, run for real against Pebble: a certificate for a
# site behind nginx by webroot, served by that nginx and renewed with a
# deploy hook that reloads it; a wildcard through the shipped dns-01 hook
# conf/hooks/dns-nsupdate, updating a real BIND server over RFC 2136 with a
# TSIG key, which Pebble's validation then asks. Both servers are the
# Debian packages, started here on loopback ports with their configuration
# in the test's folder, and stopped by PID.
#
# QUICKSTART_TRANSCRIPT=FILE keeps what an operator would see (each command
# and its output, the test's folder shown as /tmp/qs) for the README.
#
# Environment: ACMED, TESTS_DIR. Exits 0, 1 (a case failed), 77 (Pebble,
# nginx or BIND missing), 99 (harness broken).
set -uo pipefail

# shellcheck source=lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh" || exit 99
lib_init quickstart
# shellcheck source=../pebble.sh
. "$TESTS_DIR/pebble.sh" || exit 99

pebble_require_or_skip
for prog in nginx named nsupdate tsig-keygen dig; do
	if ! PATH=$PATH:/usr/sbin command -v "$prog" >/dev/null 2>&1; then
		echo "SKIP: $prog is not installed (Debian: nginx-light bind9 bind9-dnsutils)" >&2
		exit 77
	fi
done
export PATH=$PATH:/usr/sbin

SRC=$(cd "$TESTS_DIR/.." && pwd)
HOOK=$SRC/conf/hooks/dns-nsupdate
TRANSCRIPT=${QUICKSTART_TRANSCRIPT:-$T/transcript}
: >"$TRANSCRIPT" || exit 99
# nginx's workers (www-data) walk into the webroot and the certificates.
chmod 711 "$T" || exit 99

PORTS=$(pebble_free_ports 2) || exit 99
read -r DNS_PORT HTTPS_PORT <<<"$PORTS"
[[ -n $HTTPS_PORT ]] || exit 99

# ---- the transcript ----

# shown TEXT: TEXT as the README shows it.
shown()
{
	sed -e "s#$T#/tmp/qs#g" <<<"$1"
}

# say ARGS...: runs acmed ARGS (like run) and adds "$ acmed ARGS" and what
# it printed (stderr, then stdout) to the transcript.
say()
{
	local words

	run_t 120 "$@"
	printf -v words ' %q' "$@"
	{
		shown "\$ acmed$words"
		shown "$(cat "$ERR" "$OUT")"
		echo
	} >>"$TRANSCRIPT"
}

# note TEXT: a line of the transcript.
note()
{
	shown "$*" >>"$TRANSCRIPT"
}

# ---- BIND: example.com; the "acmed" TSIG key may update the TXT records of
# _acme-challenge.example.com and nothing else ----

start_named()
{
	local d=$T/named

	mkdir -p "$d" || return 1
	tsig-keygen -a hmac-sha256 acmed >"$d/tsig.key" || return 1
	cat >"$d/example.com.zone" <<'EOF'
$TTL 60
@	IN SOA	ns1.example.com. hostmaster.example.com. 1 3600 600 86400 60
@	IN NS	ns1.example.com.
@	IN A	127.0.0.1
*	IN A	127.0.0.1
ns1	IN A	127.0.0.1
EOF
	cat >"$d/named.conf" <<EOF
options {
	directory "$d";
	pid-file "$d/named.pid";
	session-keyfile "$d/session.key";
	listen-on port $DNS_PORT { 127.0.0.1; };
	listen-on-v6 { none; };
	recursion no;
	dnssec-validation no;
	notify no;
};
controls { };
include "$d/tsig.key";
zone "example.com" {
	type primary;
	file "example.com.zone";
	update-policy { grant acmed name _acme-challenge.example.com. TXT; };
};
EOF
	named -g -4 -c "$d/named.conf" </dev/null >"$d/named.log" 2>&1 &
	NAMED_PID=$!
	lib_track_pid "$NAMED_PID"
	if ! wait_until 10 dig_ok; then
		echo "quickstart.sh: named did not start: $(tail -n 5 "$d/named.log")" >&2
		return 1
	fi
}

dig_ok()
{
	[[ -n $(dig +short +time=1 +tries=1 @127.0.0.1 -p "$DNS_PORT" example.com SOA) ]]
}

# txt NAME: the TXT values of NAME, one a line, as BIND serves them now.
txt()
{
	dig +short +time=2 +tries=1 @127.0.0.1 -p "$DNS_PORT" "$1" TXT | tr -d '"' | LC_ALL=C sort
}

start_named || exit 99
# Pebble validates against BIND: A records and _acme-challenge TXT records.
export PEBBLE_DNS_RESOLVER=127.0.0.1:$DNS_PORT
export PEBBLE_AUTHZREUSE=0
pebble_start || exit 1
pebble_root_ca "$T/pebble-root.pem" || exit 99
CA=(--ca "$PEBBLE_DIR_URL" --ca-file "$PEBBLE_CA_FILE")
S=$T/lib/acmed

# ---- nginx ----

NGINX_CONF=$T/nginx/nginx.conf
WWW=$T/www

# nginx_start: the main configuration, which includes sites/*.conf.
nginx_start()
{
	mkdir -p "$T/nginx/sites" "$T/nginx/tmp" "$WWW/acme" "$WWW/html" || return 1
	echo "hello from nginx" >"$WWW/html/index.html"
	chmod -R a+rX "$WWW" || return 1
	cat >"$NGINX_CONF" <<EOF
user www-data;
worker_processes 1;
pid $T/nginx/nginx.pid;
error_log $T/nginx/error.log;
events {
}
http {
	access_log $T/nginx/access.log;
	client_body_temp_path $T/nginx/tmp;
	include $T/nginx/sites/*.conf;
}
EOF
	site_http >"$T/nginx/sites/example.com.conf"
	nginx -c "$NGINX_CONF" || return 1
	wait_until 5 test -s "$T/nginx/nginx.pid"
}

nginx_stop()
{
	local pid

	pid=$(cat "$T/nginx/nginx.pid" 2>/dev/null) || return 0
	kill -QUIT "$pid" 2>/dev/null
	wait_until 5 sh -c "! kill -0 $pid 2>/dev/null"
}

# The site before it has a certificate: port 80 (here Pebble's http-01
# port) serves the challenges from the webroot and sends the rest to https.
site_http()
{
	cat <<EOF
server {
	listen 127.0.0.1:$PEBBLE_HTTP_PORT;
	server_name example.com www.example.com;
	location /.well-known/acme-challenge/ {
		root $WWW/acme;
	}
	location / {
		return 301 https://\$host\$request_uri;
	}
}
EOF
}

# Once the certificate is there: the https server that uses it.
site_https()
{
	cat <<EOF
server {
	listen 127.0.0.1:$HTTPS_PORT ssl;
	server_name example.com www.example.com;
	ssl_certificate $S/certs/example.com/fullchain.pem;
	ssl_certificate_key $S/certs/example.com/privkey.pem;
	root $WWW/html;
}
EOF
}

# served_serial: the serial of the certificate nginx presents for
# www.example.com.
served_serial()
{
	openssl s_client -connect "127.0.0.1:$HTTPS_PORT" -servername www.example.com \
		</dev/null 2>/dev/null | openssl x509 -noout -serial 2>/dev/null
}

serial_of()
{
	openssl x509 -in "$1" -noout -serial 2>/dev/null
}

t_nginx_webroot()
{
	local got before deploy

	nginx_start || {
		fail "nginx did not start: $(tail -n 5 "$T/nginx/error.log" 2>/dev/null)"
		return
	}
	lib_track_pid "$(cat "$T/nginx/nginx.pid")"
	deploy="nginx -c $NGINX_CONF -s reload"

	note "\$ cat /etc/nginx/sites-enabled/example.com.conf"
	note "$(site_http)"
	note ""
	say cert "${CA[@]}" --agree-tos --email ops@example.com --state-dir "$S" \
		--webroot "$WWW/acme" --deploy-hook "$deploy" example.com www.example.com
	expect_status 0
	[[ $RC == 0 ]] || return
	# The challenge files were served by nginx, and are gone.
	if ! grep -q 'GET /.well-known/acme-challenge/' "$T/nginx/access.log"; then
		fail "nginx served no challenge: $(tail -n 3 "$T/nginx/access.log" | tr '\n' ';')"
	fi
	got=$(find "$WWW/acme" -type f | head -n 3)
	if [[ -n $got ]]; then
		fail "challenge files left behind: $got"
	fi

	site_https >>"$T/nginx/sites/example.com.conf"
	note "\$ cat >>/etc/nginx/sites-enabled/example.com.conf"
	note "$(site_https)"
	note "\$ systemctl reload nginx"
	note ""
	if ! nginx -c "$NGINX_CONF" -s reload 2>"$T/nginx/reload.err"; then
		fail "nginx -s reload: $(cat "$T/nginx/reload.err")"
		return
	fi
	wait_until 5 sh -c "[ -n \"\$(openssl s_client -connect 127.0.0.1:$HTTPS_PORT </dev/null 2>/dev/null | openssl x509 -noout -serial 2>/dev/null)\" ]"
	got=$(curl -sS --max-time 10 --cacert "$T/pebble-root.pem" \
		--resolve "www.example.com:$HTTPS_PORT:127.0.0.1" "https://www.example.com:$HTTPS_PORT/" 2>&1)
	{
		shown "\$ curl https://www.example.com/"
		shown "$got"
		echo
	} >>"$TRANSCRIPT"
	if [[ $got != "hello from nginx" ]]; then
		fail "https://www.example.com/ with Pebble's root: $got"
	fi
	before=$(serial_of "$S/certs/example.com/cert.pem")
	if [[ $(served_serial) != "$before" ]]; then
		fail "nginx serves $(served_serial), the installed certificate is $before"
	fi

	# A renewal: installed, then the deploy hook reloads nginx, which then
	# serves the new certificate.
	say cert "${CA[@]}" --state-dir "$S" --webroot "$WWW/acme" --deploy-hook "$deploy" \
		--force example.com www.example.com
	expect_status 0
	got=$(serial_of "$S/certs/example.com/cert.pem")
	if [[ $got == "$before" ]]; then
		fail "--force did not renew"
	fi
	if ! wait_until 10 sh -c "[ \"\$(openssl s_client -connect 127.0.0.1:$HTTPS_PORT -servername www.example.com </dev/null 2>/dev/null | openssl x509 -noout -serial 2>/dev/null)\" = '$got' ]"; then
		fail "after the deploy hook nginx serves $(served_serial), want the new $got"
	fi
	nginx_stop
}

t_dns_nsupdate()
{
	local d=$S/certs/wildcard.example.com got

	export NSUPDATE_KEY=$T/named/tsig.key NSUPDATE_SERVER=127.0.0.1 NSUPDATE_PORT=$DNS_PORT
	note "\$ export NSUPDATE_KEY=/etc/acmed/tsig.key NSUPDATE_SERVER=ns1.example.com"
	note ""
	say cert "${CA[@]}" --agree-tos --email ops@example.com --state-dir "$S" \
		--dns-hook "$HOOK" --dns-resolver "127.0.0.1:$DNS_PORT" --dns-propagation-timeout 0 \
		--name wildcard.example.com '*.example.com' example.com
	unset NSUPDATE_KEY NSUPDATE_SERVER NSUPDATE_PORT
	expect_status 0
	[[ $RC == 0 ]] || return
	got=$(openssl x509 -in "$d/cert.pem" -noout -ext subjectAltName 2>/dev/null | sed -n 2p |
		sed 's/^ *//')
	{
		shown "\$ openssl x509 -in /var/lib/acmed/certs/wildcard.example.com/cert.pem -noout -ext subjectAltName"
		openssl x509 -in "$d/cert.pem" -noout -ext subjectAltName 2>&1
		echo
	} >>"$TRANSCRIPT"
	if [[ $got != "DNS:*.example.com, DNS:example.com" && $got != "DNS:example.com, DNS:*.example.com" ]]; then
		fail "subjectAltName: $got"
	fi
	if ! openssl verify -CAfile "$T/pebble-root.pem" -untrusted "$d/chain.pem" "$d/cert.pem" \
		>/dev/null 2>&1; then
		fail "$d/cert.pem does not verify against Pebble's root"
	fi
	# Both values were published in BIND (its journal holds the updates)
	# and are gone from the zone.
	got=$(txt _acme-challenge.example.com)
	if [[ -n $got ]]; then
		fail "TXT records left in the zone: $got"
	fi
	if [[ ! -s $T/named/example.com.zone.jnl ]]; then
		fail "BIND received no dynamic update"
	fi
}

# The hook on its own, as an operator tries it first: a value added is
# served, deleted is gone, another name's value untouched; a wrong key is
# refused by BIND and the hook fails.
t_hook_alone()
{
	local out

	export NSUPDATE_KEY=$T/named/tsig.key NSUPDATE_SERVER=127.0.0.1 NSUPDATE_PORT=$DNS_PORT
	"$HOOK" add _acme-challenge.example.com. value-one || fail "hook add failed"
	"$HOOK" add _acme-challenge.example.com. value-two || fail "hook add failed"
	out=$(txt _acme-challenge.example.com)
	if [[ $out != $'value-one\nvalue-two' ]]; then
		fail "after two adds: '$out'"
	fi
	"$HOOK" del _acme-challenge.example.com. value-one || fail "hook del failed"
	out=$(txt _acme-challenge.example.com)
	if [[ $out != "value-two" ]]; then
		fail "after deleting one value: '$out'"
	fi
	"$HOOK" del _acme-challenge.example.com. value-two || fail "hook del failed"
	if "$HOOK" frob x y 2>/dev/null; then
		fail "an unknown action succeeded"
	fi
	tsig-keygen -a hmac-sha256 acmed >"$T/wrong.key"
	if NSUPDATE_KEY=$T/wrong.key "$HOOK" add _acme-challenge.example.com. sneaky \
		2>/dev/null; then
		fail "an update signed with another key succeeded"
	fi
	if [[ -n $(txt _acme-challenge.example.com) ]]; then
		fail "records left: $(txt _acme-challenge.example.com)"
	fi
	# The key may touch that name only.
	if "$HOOK" add www.example.com. sneaky 2>/dev/null || [[ -n $(txt www.example.com) ]]; then
		fail "the key updated www.example.com"
	fi
	unset NSUPDATE_KEY NSUPDATE_SERVER NSUPDATE_PORT
}

case_ "dns-nsupdate hook alone: adds and deletes one value; refused with a wrong key or another name" t_hook_alone
case_ "nginx webroot: issued, served over https, renewed and reloaded by the deploy hook" t_nginx_webroot
case_ "dns-01 wildcard through dns-nsupdate and BIND: issued, records removed" t_dns_nsupdate

lib_finish
