#!/usr/bin/env bash
# The Prometheus metrics of issue 17, through the real paths: the
# metrics-file `acmed renew` writes and the daemon's metrics-listen page,
# each read back with promtool and compared with what the certificates and
# `acmed status --json` say; a failing challenge counted; settings that
# cannot work refused with a line naming them.
#
# http-01 goes through a webroot served by Python's web server; the failing
# certificate's webroot is a folder nobody serves.
#
# Environment: ACMED, TESTS_DIR, ACMED_SANITIZED (unused: nothing waits
# longer than a command takes). Exits 0, 1 when a case failed, 77 when
# Pebble or promtool is not installed, 99 when the harness is broken.
set -uo pipefail

# shellcheck source=lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh" || exit 99
lib_init metrics
# shellcheck source=../pebble.sh
. "$TESTS_DIR/pebble.sh" || exit 99

pebble_require_or_skip
if ! command -v promtool >/dev/null 2>&1; then
	echo "SKIP: promtool is not installed (Debian: apt-get install prometheus)" >&2
	exit 77
fi
lib_python || exit 99
export PEBBLE_AUTHZREUSE=0
# No badNonce made up by Pebble: the problems counted are those of the case.
export PEBBLE_WFE_NONCEREJECT=0

W=$T/webroot
WEB_PID=
CT='text/plain; version=0.0.4; charset=utf-8'
# The daemon of case 2, its metrics port and state (case 1's).
D=$T/one
D_PID=
D_PORT=

# ---- helpers ----


# conf DIR [LINE...]: DIR/acmed.conf's global part; certificates are
# appended by the caller.
conf()
{
	local dir=$1
	shift

	mkdir -p "$dir"
	{
		echo "ca = $PEBBLE_DIR_URL"
		echo "ca-file = $PEBBLE_CA_FILE"
		echo "agree-tos = yes"
		echo "state-dir = $dir/state"
		echo "control-socket = $dir/ctl.sock"
		echo "webroot = $W"
		printf '%s\n' "$@"
	} >"$dir/acmed.conf"
}

# prom FILE NAME [LABEL=VALUE...]: the values of NAME's samples in the
# Prometheus text FILE whose labels include those given, one a line.
prom()
{
	"$PY" - "$@" <<'EOF'
import re
import sys

path, name = sys.argv[1], sys.argv[2]
want = dict(a.split("=", 1) for a in sys.argv[3:])
label = re.compile(r'([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"')
for line in open(path, encoding="utf-8"):
    line = line.rstrip("\n")
    if not line or line.startswith("#"):
        continue
    m = re.match(r'([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)$', line)
    if m is None:
        print("unparsed: " + line, file=sys.stderr)
        sys.exit(1)
    if m.group(1) != name:
        continue
    labels = {k: re.sub(r'\\(.)', lambda e: "\n" if e.group(1) == "n" else e.group(1), v)
              for k, v in label.findall(m.group(2) or "")}
    if all(labels.get(k) == v for k, v in want.items()):
        print(m.group(3))
EOF
}

# prom_labels FILE NAME LABEL: the values of LABEL over NAME's samples.
prom_labels()
{
	"$PY" - "$@" <<'EOF'
import re
import sys

path, name, key = sys.argv[1:4]
label = re.compile(r'([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"')
for line in open(path, encoding="utf-8"):
    if line.startswith(name + "{"):
        labels = dict(label.findall(line[len(name) + 1:line.rindex("}")]))
        if key in labels:
            print(labels[key])
EOF
}

# expect_prom FILE NAME LABELS WANT: NAME{LABELS} (space separated
# LABEL=VALUE) has exactly one sample, equal to WANT.
expect_prom()
{
	local file=$1 name=$2 labels=$3 want=$4 got
	local -a l

	read -r -a l <<<"$labels"
	got=$(prom "$file" "$name" "${l[@]}" | tr '\n' ' ')
	if [[ $got != "$want " ]]; then
		fail "$file: $name{$labels} is '${got% }', want '$want'"
	fi
}

# expect_promtool FILE: promtool check metrics passes on FILE, saying
# nothing.
expect_promtool()
{
	local out rc

	out=$(promtool check metrics <"$1" 2>&1)
	rc=$?
	if ((rc != 0)) || [[ -n $out ]]; then
		fail "promtool check metrics < $1: exit $rc: $(tr '\n' ' ' <<<"$out")"
	fi
}

# date_of CERT start|end: the certificate's notBefore or notAfter in Unix
# time.
date_of()
{
	date -d "$(openssl x509 -"$2"date -noout -in "$1" | cut -d= -f2)" +%s
}

# fetch PORT PATH FILE [CURL-ARGS...]: GET (or what CURL-ARGS ask) of
# http://127.0.0.1:PORT/PATH: body in FILE, head in FILE.head; prints the
# status.
fetch()
{
	local port=$1 path=$2 file=$3
	shift 3

	curl -s --max-time 10 -D "$file.head" -o "$file" -w '%{http_code}' "$@" \
		"http://127.0.0.1:$port$path"
}

# raw PORT TEXT: sends TEXT (printf's %b) to 127.0.0.1:PORT and prints what
# comes back until the server closes the connection.
raw()
{
	(
		exec 3<>"/dev/tcp/127.0.0.1/$1" || exit 1
		printf '%b' "$2" >&3
		timeout 10 cat <&3
	)
}

# header FILE NAME: the value of header NAME in the head FILE.
header()
{
	grep -i "^$2:" "$1" | head -n 1 | cut -d: -f2- | sed 's/^ *//; s/\r$//'
}

# daemon_start DIR PORT: acmed run on DIR/acmed.conf, its log DIR/log;
# waits for its metrics page. Sets D_PID.
daemon_start()
{
	"$ACMED" run -c "$1/acmed.conf" >"$1/log" 2>&1 &
	D_PID=$!
	lib_track_pid "$D_PID"
	if ! wait_until 20 curl -s -o /dev/null "http://127.0.0.1:$2/metrics"; then
		fail "acmed run: no metrics on 127.0.0.1:$2 after 20 s: $(tail -n 5 "$1/log" | tr '\n' ' ')"
		return 1
	fi
}

# ---- cases ----

# renew with metrics-file: two certificates issued, the file says so.
t_file()
{
	local f=$D/metrics.prom c want got

	conf "$D" "metrics-file = $f"
	cat >>"$D/acmed.conf" <<EOF
[cert ecx]
domains = ecx.example
key-type = ec-p384
[cert rsy]
domains = rsy.example
key-type = rsa-2048
EOF
	run renew -c "$D/acmed.conf"
	expect_status 0
	cp "$ERR" "$D/renew.err"
	expect_file "$f"
	expect_file_mode "$f" 644
	if [[ ! -f $f ]]; then
		return
	fi
	expect_promtool "$f"
	expect_prom "$f" acmed_renewals_total result=issued 2
	expect_prom "$f" acmed_renewals_total result=failed 0
	expect_prom "$f" acmed_orders_in_flight "" 0
	for c in ecx rsy; do
		expect_prom "$f" acmed_certificate_not_after_seconds "cert=$c" \
			"$(date_of "$D/state/certs/$c/cert.pem" end)"
		expect_prom "$f" acmed_certificate_not_before_seconds "cert=$c" \
			"$(date_of "$D/state/certs/$c/cert.pem" start)"
		expect_prom "$f" acmed_certificate_failures "cert=$c" 0
		got=$(prom "$f" acmed_certificate_last_success_seconds "cert=$c")
		if [[ ! $got =~ ^[0-9]+$ ]] || ((got < $(date +%s) - 120 || got > $(date +%s))); then
			fail "$c: last_success '$got' is not a time of the last two minutes"
		fi
		got=$(prom "$f" acmed_certificate_next_renewal_seconds "cert=$c")
		if [[ ! $got =~ ^[0-9]+$ ]] || ((got <= $(date +%s) ||
			got >= $(date_of "$D/state/certs/$c/cert.pem" end))); then
			fail "$c: next_renewal '$got' is not a time before notAfter to come"
		fi
	done
	expect_prom "$f" acmed_certificate_info \
		"cert=ecx key_type=ec-p384 ca=$PEBBLE_DIR_URL" 1
	expect_prom "$f" acmed_certificate_info \
		"cert=rsy key_type=rsa-2048 ca=$PEBBLE_DIR_URL" 1
	# The issuer label is the issuer's CN (Pebble's has nothing else).
	for c in ecx rsy; do
		want=$(openssl x509 -noout -issuer -nameopt RFC2253 -in "$D/state/certs/$c/cert.pem" |
			sed -n 's/^issuer=.*CN=\([^,]*\).*$/\1/p')
		got=$(prom "$f" acmed_certificate_info "cert=$c" "issuer=$want")
		if [[ -z $want || $got != 1 ]]; then
			fail "$c: no info sample with issuer \"$want\" (the certificate's issuer CN): $(prom_labels "$f" acmed_certificate_info issuer | tr '\n' ' ')"
		fi
	done
	got=$(prom "$f" acmed_acme_requests_total "ca=$PEBBLE_DIR_URL" status=201)
	if [[ ! $got =~ ^[0-9]+$ ]] || ((got < 1)); then
		fail "acmed_acme_requests_total{status=\"201\"} is '$got', want a count > 0"
	fi
	expect_prom "$f" acmed_build_info "version=${ACMED_EXPECTED_VERSION:-$("$ACMED" -V | head -n 1 | awk '{print $NF}')}" 1
}

# The daemon's page: its head, its text, HEAD, other paths and methods,
# not HTTP; the same rows as status --json.
t_listen()
{
	local b=$T/page c na status_na got certs_m certs_s

	D_PORT=$(pebble_free_ports 1) || {
		fail "no free port"
		return
	}
	sed -i "s|^metrics-file = .*|metrics-listen = 127.0.0.1:$D_PORT|" "$D/acmed.conf"
	daemon_start "$D" "$D_PORT" || return
	got=$(fetch "$D_PORT" /metrics "$b")
	if [[ $got != 200 ]]; then
		fail "GET /metrics: $got, want 200"
	fi
	if [[ $(header "$b.head" Content-Type) != "$CT" ]]; then
		fail "GET /metrics: Content-Type '$(header "$b.head" Content-Type)', want '$CT'"
	fi
	expect_promtool "$b"
	# The rows are status --json's.
	run status --json -c "$D/acmed.conf"
	expect_status 0
	certs_s=$(json_get "$OUT" 'sorted(c["cert"] for c in j["certs"])' | tr '\n' ' ')
	certs_m=$(prom_labels "$b" acmed_certificate_not_after_seconds cert | sort | tr '\n' ' ')
	if [[ $certs_s != "['ecx', 'rsy'] " || $certs_m != "ecx rsy " ]]; then
		fail "certificates: status --json $certs_s, metrics $certs_m; want ecx and rsy in both"
	fi
	for c in ecx rsy; do
		status_na=$(json_get "$OUT" "[c['not_after'] for c in j['certs'] if c['cert'] == '$c'][0]")
		na=$(prom "$b" acmed_certificate_not_after_seconds "cert=$c")
		if [[ -z $na || $na != "$status_na" ]]; then
			fail "$c: not_after $na in the metrics, $status_na in status --json"
		fi
	done
	# HEAD: the same head, no body.
	got=$(fetch "$D_PORT" /metrics "$b.h" -I)
	if [[ $got != 200 || $(header "$b.h.head" Content-Type) != "$CT" ]]; then
		fail "HEAD /metrics: $got, Content-Type '$(header "$b.h.head" Content-Type)'; want 200, $CT"
	fi
	raw "$D_PORT" 'HEAD /metrics HTTP/1.1\r\nHost: x\r\n\r\n' >"$b.raw"
	if ! head -n 1 "$b.raw" | grep -q '^HTTP/1\.1 200 '; then
		fail "HEAD /metrics, raw: '$(head -n 1 "$b.raw")', want 200"
	fi
	if [[ $("$PY" -c 'import sys; d = open(sys.argv[1], "rb").read(); print(len(d) - d.index(b"\r\n\r\n") - 4)' "$b.raw" 2>&1) != 0 ]]; then
		fail "HEAD /metrics: bytes after the head"
	fi
	if ! (($(header "$b.raw" Content-Length) > 0)); then
		fail "HEAD /metrics: Content-Length '$(header "$b.raw" Content-Length)', want the page's"
	fi
	got=$(fetch "$D_PORT" /nosuch "$b.n")
	if [[ $got != 404 ]]; then
		fail "GET /nosuch: $got, want 404"
	fi
	got=$(fetch "$D_PORT" /metrics "$b.p" -X POST -d x=1)
	if [[ $got != 405 ]]; then
		fail "POST /metrics: $got, want 405"
	fi
	if [[ $(header "$b.p.head" Allow) != *GET* ]]; then
		fail "POST /metrics: Allow '$(header "$b.p.head" Allow)', want GET named"
	fi
	raw "$D_PORT" 'hello\r\n\r\n' >"$b.hello"
	if ! head -n 1 "$b.hello" | grep -q '^HTTP/1\.[01] 400 '; then
		fail "'hello' (not HTTP): '$(head -n 1 "$b.hello" | tr -d '\r')', want 400"
	fi
	got=$(fetch "$D_PORT" /metrics "$b.2")
	if [[ $got != 200 ]]; then
		fail "GET /metrics after the bad requests: $got, want 200 (the daemon still serves)"
	fi
	lib_stop_pid "$D_PID"
	expect_no_sanitizer_report "$D/log"
}

# A challenge that fails: counted in the file, then in the daemon's page.
t_failure()
{
	local dir=$T/bad f=$T/bad/metrics.prom port b=$T/bad/page got types t seen

	port=$(pebble_free_ports 1) || {
		fail "no free port"
		return
	}
	mkdir -p "$T/not-served"
	conf "$dir" "metrics-file = $f" "metrics-listen = 127.0.0.1:$port"
	cat >>"$dir/acmed.conf" <<EOF
[cert bad]
domains = bad.example
webroot = $T/not-served
EOF
	run -v renew -c "$dir/acmed.conf"
	expect_status 1
	cp "$ERR" "$dir/renew.err"
	expect_file "$f"
	if [[ ! -f $f ]]; then
		return
	fi
	expect_promtool "$f"
	expect_prom "$f" acmed_certificate_failures cert=bad 1
	expect_prom "$f" acmed_renewals_total result=failed 1
	expect_prom "$f" acmed_renewals_total result=issued 0
	types=$(prom_labels "$f" acmed_acme_problems_total type)
	if [[ -z $types ]]; then
		fail "no acmed_acme_problems_total sample after a failed challenge; acmed -v renew: $(grep -E "challenge failed" "$dir/renew.err" | head -n 3 | tr "\n" " ")"
	fi
	for t in $types; do
		seen=$(prom "$f" acmed_acme_problems_total "ca=$PEBBLE_DIR_URL" "type=$t")
		if [[ ! $seen =~ ^[1-9][0-9]*$ ]]; then
			fail "problems{type=\"$t\"} is '$seen' for $PEBBLE_DIR_URL, want a count > 0"
		fi
		if ! grep -q -- "$t" "$dir/renew.err"; then
			fail "problem type '$t' counted, but acmed's log never shows it"
		fi
	done
	# The daemon: its own count of failed renewals.
	daemon_start "$dir" "$port" || return
	run renew -c "$dir/acmed.conf" --now bad
	wait_until 30 bash -c "[[ \$('$ACMED' jobs -c '$dir/acmed.conf' 2>/dev/null) == 0 ]]"
	got=$(fetch "$port" /metrics "$b")
	if [[ $got != 200 ]]; then
		fail "GET /metrics: $got, want 200"
	fi
	expect_promtool "$b"
	got=$(prom "$b" acmed_certificate_failures cert=bad)
	if [[ ! $got =~ ^[0-9]+$ ]] || ((got < 1)); then
		fail "daemon: acmed_certificate_failures{cert=\"bad\"} is '$got', want >= 1"
	fi
	got=$(prom "$b" acmed_renewals_total result=failed)
	if [[ ! $got =~ ^[0-9]+$ ]] || ((got < 1)); then
		fail "daemon: acmed_renewals_total{result=\"failed\"} is '$got' after renew --now bad, want >= 1"
	fi
	lib_stop_pid "$D_PID"
	expect_no_sanitizer_report "$dir/log"
}

# Settings that cannot work: a taken port, nonsense, a missing folder.
t_bad_settings()
{
	local dir=$T/set port holder start

	port=$(pebble_free_ports 1) || {
		fail "no free port"
		return
	}
	"$PY" -m http.server --bind 127.0.0.1 "$port" >"$T/holder.log" 2>&1 &
	holder=$!
	lib_track_pid "$holder"
	if ! wait_until 10 curl -s -o /dev/null "http://127.0.0.1:$port/"; then
		fail "the holder of port $port did not start"
	fi
	conf "$dir" "metrics-listen = 127.0.0.1:$port"
	printf '[cert a]\ndomains = a.example\n' >>"$dir/acmed.conf"
	start=$SECONDS
	run_t 15 run -c "$dir/acmed.conf"
	if ((RC == 0)); then
		fail "acmed run with metrics-listen on a taken port exited 0"
	fi
	if ((SECONDS - start > 5)); then
		fail "acmed run took $((SECONDS - start)) s to give up on a taken port"
	fi
	expect_stderr_one_line
	expect_stderr_contains "metrics-listen"
	expect_stderr_contains "127.0.0.1:$port"
	# The advice is about the metrics port, not about answering challenges.
	if grep -qE 'webroot|renew --now' "$ERR"; then
		fail "metrics-listen on a taken port: the advice is the challenge listener's: $(cat "$ERR")"
	fi
	lib_stop_pid "$holder"

	conf "$dir" "metrics-listen = nonsense"
	printf '[cert a]\ndomains = a.example\n' >>"$dir/acmed.conf"
	run check -c "$dir/acmed.conf"
	if ((RC == 0)); then
		fail "acmed check with metrics-listen = nonsense exited 0"
	fi
	expect_stderr_contains "metrics-listen"
	expect_stderr_matches "acmed\.conf:7|line 7"

	# Said before anything is ordered; the certificate is issued all the
	# same (monitoring never stops renewals); the run exits 1.
	conf "$dir" "metrics-file = $T/no/such/folder/metrics.prom"
	printf '[cert a]\ndomains = a.example\n' >>"$dir/acmed.conf"
	run renew -c "$dir/acmed.conf"
	cp "$ERR" "$dir/renew-nofolder.err"
	expect_status 1
	expect_stderr_contains "metrics-file $T/no/such/folder/metrics.prom: cannot write in $T/no/such/folder"
	expect_stderr_contains "the certificates are renewed all the same"
	if [[ ! -s $dir/state/certs/a/cert.pem ]]; then
		fail "a metrics-file that cannot be written stopped the renewal"
	fi
	# A relative path: refused by name (cron and systemd run elsewhere).
	conf "$dir" "metrics-file = acmed.prom"
	printf '[cert a]\ndomains = a.example\n' >>"$dir/acmed.conf"
	run check -c "$dir/acmed.conf"
	expect_status 2
	expect_stderr_contains "metrics-file: invalid value 'acmed.prom': expected a file's absolute path"
}

# ---- main ----

if ! pebble_start; then
	fail_case "start Pebble"
	lib_finish
fi
if ! lib_web_start "$W"; then
	fail_case "serve the webroot"
	lib_finish
fi

case_ "renew with metrics-file: mode 0644, promtool clean, 2 issued, dates and info the certificates'" t_file
case_ "run with metrics-listen: text 0.0.4, HEAD, 404, 405 with Allow, 400; rows as status --json" t_listen
case_ "a failing challenge: failures 1, renewals failed 1, the CA's problems in file and page" t_failure
case_ "a taken metrics-listen port, nonsense, a missing metrics-file folder: refused by name" t_bad_settings
lib_finish
