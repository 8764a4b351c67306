#!/usr/bin/env bash
# The notifications of issue 17, through the real channels: a webhook
# receiver (Python's http.server on loopback, which can answer 500 for a
# while), a notify-hook script recording its ACMED_* environment and a
# sendmail stand-in recording its arguments and the message. acmed
# notify-test; renewal-failed told once over several failing runs, then
# renewed; a daemon and its restart not repeating what notified.json holds;
# notify-interval and warn-before; the slack body; the one-shot retries; an
# expiring certificate.
#
# Pebble issues certificates valid VALIDITY (10 days): their notice window
# is a quarter of that (2.5 days; warn-before, 30 days here, is capped so
# that a short-lived certificate is not "expiring" from its first day), and
# acmed's clock is moved 8 days ahead with libfaketime (ahead) to be inside
# it. http-01 goes through a webroot served by Python's web server; a
# failing certificate's webroot is a folder nobody serves.
#
# notified.json (the state folder) is {"sent": {"CERT EVENT": unix_time}}:
# the cases move a record back in time instead of waiting for
# notify-interval to pass.
#
# Environment: ACMED, TESTS_DIR. Exits 0, 1 when a case failed, 77 when
# Pebble is not installed, 99 when the harness is broken.
set -uo pipefail

# shellcheck source=lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh" || exit 99
lib_init notify
# shellcheck source=../pebble.sh
. "$TESTS_DIR/pebble.sh" || exit 99

pebble_require_or_skip
lib_python || exit 99
export PEBBLE_AUTHZREUSE=0

VALIDITY=864000
FAKETIME_LIB=$(dpkg -L libfaketime 2>/dev/null | grep '/libfaketime\.so\.1$' | head -n 1)
W=$T/webroot
NS=$T/not-served
WEB_PID=
# The webhook receiver: its port, its log (one line a POST: status, path,
# Content-Type, body, tab separated) and the count of 500s still to answer.
R_PORT=
R_LOG=$T/receiver.log
R_FAIL=$T/receiver.fail
R_PID=
D_PID=

# ---- helpers ----

# web_start: serves $W on Pebble's http-01 port; $NS is served by nobody.
web_start()
{
	mkdir -p "$NS"
	lib_web_start "$W"
}

# receiver_start: the webhook receiver on a free loopback port.
receiver_start()
{
	R_PORT=$(pebble_free_ports 1) || return 1
	: >"$R_LOG"
	"$PY" - "$R_PORT" "$R_LOG" "$R_FAIL" >"$T/receiver.err" 2>&1 <<'EOF' &
import http.server
import sys

port, log, failfile = int(sys.argv[1]), sys.argv[2], sys.argv[3]


class Handler(http.server.BaseHTTPRequestHandler):
    def do_POST(self):
        n = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(n).decode("utf-8", "replace")
        status = 200
        try:
            with open(failfile) as f:
                left = int(f.read().strip() or 0)
        except (OSError, ValueError):
            left = 0
        if left > 0:
            status = 500
            with open(failfile, "w") as f:
                f.write(str(left - 1))
        # Logged before the answer: once acmed has it, the line is there.
        with open(log, "a") as f:
            f.write("%d\t%s\t%s\t%s\n" % (status, self.path,
                                          self.headers.get("Content-Type", ""),
                                          body.replace("\n", "\\n")))
        self.send_response(status)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, *args):
        pass


http.server.HTTPServer(("127.0.0.1", port), Handler).serve_forever()
EOF
	R_PID=$!
	lib_track_pid "$R_PID"
	wait_until 10 curl -s -o /dev/null "http://127.0.0.1:$R_PORT/"
}

# tools DIR: DIR/hook.sh (appends "EVENT CERT" to DIR/hook.log, writes its
# ACMED_* environment to DIR/env.EVENT.CERT) and DIR/sendmail.sh (appends
# its arguments, the message and an end mark to DIR/mail.log). Two
# notifications of a run can be on their way at once: each appends with
# one write.
tools()
{
	mkdir -p "$1"
	cat >"$1/hook.sh" <<'EOF'
#!/bin/sh
env | grep '^ACMED_' | sort >"$1/env.$ACMED_EVENT.$ACMED_CERT_NAME"
printf '%s %s\n' "$ACMED_EVENT" "$ACMED_CERT_NAME" >>"$1/hook.log"
EOF
	cat >"$1/sendmail.sh" <<'EOF'
#!/bin/sh
d=$(dirname "$0")
tmp=$(mktemp "$d/mail.XXXXXX") || exit 1
{
	printf 'ARGS:'
	printf ' %s' "$@"
	printf '\n'
	cat
	echo "--END--"
} >"$tmp"
cat "$tmp" >>"$d/mail.log"
rm -f "$tmp"
EOF
	chmod +x "$1/hook.sh" "$1/sendmail.sh"
}

# conf DIR [LINE...]: DIR/acmed.conf's global part with the three channels
# (the webhook at /DIR's name); certificates are appended by the caller.
conf()
{
	local dir=$1
	shift

	tools "$dir"
	{
		echo "ca = $PEBBLE_DIR_URL"
		echo "ca-file = $PEBBLE_CA_FILE"
		echo "agree-tos = yes"
		echo "state-dir = $dir/state"
		echo "control-socket = $dir/ctl.sock"
		echo "webroot = $W"
		echo "notify-hook = $dir/hook.sh $dir"
		echo "notify-webhook = http://127.0.0.1:$R_PORT/$(basename "$dir")"
		echo "notify-email = ops@example.org"
		echo "notify-sendmail = $dir/sendmail.sh"
		printf '%s\n' "$@"
	} >"$dir/acmed.conf"
}

# posts PATH EVENT CERT [STATUS]: how many POSTs to /PATH the receiver got
# whose JSON body has EVENT and CERT (and that it answered with STATUS).
posts()
{
	"$PY" - "$R_LOG" "$@" <<'EOF'
import json
import sys

log, path, event, cert = sys.argv[1:5]
status = sys.argv[5] if len(sys.argv) > 5 else None
n = 0
for line in open(log, encoding="utf-8"):
    st, p, ct, body = line.rstrip("\n").split("\t", 3)
    if p != "/" + path or (status is not None and st != status):
        continue
    try:
        j = json.loads(body)
    except ValueError:
        continue
    if isinstance(j, dict) and j.get("event") == event and j.get("cert") == cert:
        n += 1
print(n)
EOF
}

# expect_posts PATH EVENT CERT WANT
expect_posts()
{
	local got

	got=$(posts "$1" "$2" "$3")
	if [[ $got != "$4" ]]; then
		fail "webhook /$1: $got '$2' POSTs for $3, want $4"
	fi
}

# hooked DIR EVENT CERT: how many times DIR's hook ran for EVENT and CERT.
hooked()
{
	grep -cxF -- "$2 $3" "$1/hook.log" 2>/dev/null
}

# mailed DIR SAYS CERT: how many mails DIR's sendmail got whose Subject is
# "acmed: CERT: SAYS".
mailed()
{
	grep -cxF -- "Subject: acmed: $3: $2" "$1/mail.log" 2>/dev/null
}

# expect_told DIR EVENT SAYS CERT WANT: the webhook, the hook and the mail
# each told EVENT for CERT WANT times.
expect_told()
{
	local dir=$1 event=$2 says=$3 cert=$4 want=$5 got

	expect_posts "$(basename "$dir")" "$event" "$cert" "$want"
	got=$(hooked "$dir" "$event" "$cert")
	if [[ $got != "$want" ]]; then
		fail "notify-hook: ran $got times for $event $cert, want $want"
	fi
	got=$(mailed "$dir" "$says" "$cert")
	if [[ $got != "$want" ]]; then
		fail "sendmail: $got mails 'acmed: $cert: $says', want $want"
	fi
}

# ahead OFFSET ARGS...: run ARGS with acmed's clock OFFSET ("+8d") ahead:
# libfaketime preloaded into acmed itself (ASan tolerates it last). 8 days
# on, Pebble's listener certificate (valid 7 days) has expired: such a run
# fails before it orders, "certificate has expired". LAST_CMD names the
# offset, so that a failed case's report does not pass that off as the
# present.
ahead()
{
	local off=$1
	shift

	if [[ -z $FAKETIME_LIB || ! -f $FAKETIME_LIB ]]; then
		fail "libfaketime.so.1: missing (Debian package faketime)"
		return
	fi
	ASAN_OPTIONS=${ASAN_OPTIONS:+$ASAN_OPTIONS:}verify_asan_link_order=0 \
		LD_PRELOAD=$FAKETIME_LIB FAKETIME=$off FAKETIME_DONT_RESET=1 run "$@"
	LAST_CMD="FAKETIME=$off $LAST_CMD"
}

# backdate DIR KEY SECONDS: moves the record KEY ("CERT EVENT") of DIR's
# notified.json back by SECONDS; fails when the file is not
# {"sent": {KEY: unix_time, ...}}.
backdate()
{
	"$PY" - "$1/state/notified.json" "$2" "$3" <<'EOF'
import json
import sys

path, key, secs = sys.argv[1], sys.argv[2], int(sys.argv[3])
with open(path) as f:
    j = json.load(f)
if set(j) != {"sent"} or not isinstance(j["sent"].get(key), int):
    sys.exit("%s: not {\"sent\": {\"%s\": time}}: %s" % (path, key, json.dumps(j)))
j["sent"][key] -= secs
with open(path, "w") as f:
    json.dump(j, f)
EOF
}

# daemon_start DIR: acmed -v run on DIR/acmed.conf (log DIR/log, appended);
# waits until it watches its certificates (connected to its CA: renew --now
# is refused before). Sets D_PID.
daemon_start()
{
	local n

	n=$(grep -c 'watching [0-9]* certificate' "$1/log" 2>/dev/null)
	"$ACMED" -v run -c "$1/acmed.conf" >>"$1/log" 2>&1 &
	D_PID=$!
	lib_track_pid "$D_PID"
	if ! wait_until 20 bash -c "(( \$(grep -c 'watching [0-9]* certificate' '$1/log') > ${n:-0} ))"; then
		fail "acmed run: not watching its certificates after 20 s: $(tail -n 5 "$1/log" | tr '\n' ' ')"
		return 1
	fi
}

# ---- cases ----

# notify-test through the three channels; a webhook nobody answers; none.
t_test()
{
	local dir=$T/c1 port line c

	conf "$dir"
	run notify-test -c "$dir/acmed.conf"
	expect_status 0
	for c in notify-hook notify-webhook notify-email; do
		if [[ $(grep -cxF "$c: ok" "$OUT") != 1 ]]; then
			fail "notify-test: no '$c: ok' line: $(tr '\n' '|' <"$OUT")"
		fi
	done
	if [[ $(wc -l <"$OUT") != 3 ]]; then
		fail "notify-test: $(wc -l <"$OUT") lines, want 3: $(tr '\n' '|' <"$OUT")"
	fi
	expect_posts c1 test notify-test 1
	line=$(grep -P '^200\t/c1\t' "$R_LOG")
	if [[ $(cut -f3 <<<"$line") != application/json ]]; then
		fail "webhook: Content-Type '$(cut -f3 <<<"$line")', want application/json"
	fi
	if ! grep -qx 'ACMED_EVENT=test' "$dir/env.test.notify-test" ||
		! grep -qx 'ACMED_CERT_NAME=notify-test' "$dir/env.test.notify-test"; then
		fail "notify-hook: no ACMED_EVENT=test, ACMED_CERT_NAME=notify-test: $(cat "$dir"/env.* | tr '\n' ' ')"
	fi
	if ! grep -qx 'ARGS: -t -i' "$dir/mail.log"; then
		fail "sendmail: not run with '-t -i': $(grep ^ARGS: "$dir/mail.log")"
	fi
	for line in 'To: ops@example.org' 'Auto-Submitted: auto-generated'; do
		if ! grep -qxF "$line" "$dir/mail.log"; then
			fail "sendmail: no '$line' header"
		fi
	done
	if ! grep -qE '^Subject: .*notify-test' "$dir/mail.log"; then
		fail "sendmail: no Subject naming notify-test: $(grep -i ^subject "$dir/mail.log")"
	fi

	# A webhook on a closed port: it fails, the others still work.
	port=$(pebble_free_ports 1) || {
		fail "no free port"
		return
	}
	sed -i "s|^notify-webhook = .*|notify-webhook = http://127.0.0.1:$port/closed|" \
		"$dir/acmed.conf"
	run notify-test -c "$dir/acmed.conf"
	expect_status 1
	expect_stdout_contains "notify-webhook: failed:"
	for c in notify-hook notify-email; do
		if [[ $(grep -cxF "$c: ok" "$OUT") != 1 ]]; then
			fail "notify-test, closed webhook: no '$c: ok' line: $(tr '\n' '|' <"$OUT")"
		fi
	done

	# No channel at all.
	sed -i '/^notify-/d' "$dir/acmed.conf"
	run notify-test -c "$dir/acmed.conf"
	expect_status 2
	expect_stderr_one_line
	expect_stderr_contains "set notify-hook, notify-webhook or notify-email"
}

# A failing certificate over three runs: one renewal-failed on each
# channel; fixed, one renewed; the other certificate's renewed too.
t_failed_once()
{
	local dir=$T/c2 i

	conf "$dir"
	cat >>"$dir/acmed.conf" <<EOF
[cert good]
domains = good.example
[cert bad]
domains = bad.example
webroot = $NS
EOF
	run renew -c "$dir/acmed.conf"
	expect_status 1
	cp "$ERR" "$dir/renew1.err"
	for i in 2 3; do
		run renew -c "$dir/acmed.conf" --force bad
		expect_status 1
		cp "$ERR" "$dir/renew$i.err"
	done
	expect_told "$dir" renewal-failed "renewal failed" bad 1
	"$PY" - "$R_LOG" <<'EOF' || fail "renewal-failed body: $(grep -P '^\d+\t/c2\t' "$R_LOG" | cut -f4 | tr '\n' ' ')"
import json
import sys

for line in open(sys.argv[1]):
    st, p, ct, body = line.rstrip("\n").split("\t", 3)
    j = json.loads(body) if p == "/c2" else {}
    if j.get("event") == "renewal-failed":
        ok = (j["cert"] == "bad" and isinstance(j["message"], str) and j["message"]
              and j["failures"] == 1 and "not_after" not in j and ct == "application/json")
        sys.exit(0 if ok else 1)
sys.exit(1)
EOF
	# The other certificate's event went out meanwhile.
	expect_told "$dir" renewed renewed good 1
	expect_told "$dir" renewed renewed bad 0

	sed -i "s|^webroot = $NS\$|webroot = $W|" "$dir/acmed.conf"
	run renew -c "$dir/acmed.conf" --force bad
	expect_status 0
	expect_told "$dir" renewed renewed bad 1
	expect_told "$dir" renewal-failed "renewal failed" bad 1
}

# A daemon on a state folder where renewal-failed was told: renew --now
# fails again inside warn-before, nothing told, also after a restart.
# Then notified.json moved back: told again.
t_restart()
{
	local dir=$T/c3 i n

	conf "$dir" "warn-before = 30d"
	cat >>"$dir/acmed.conf" <<EOF
[cert fail3]
domains = fail3.example
EOF
	run renew -c "$dir/acmed.conf"
	expect_status 0
	# Issued (valid 10 days: inside warn-before); now it fails. Pebble
	# forgets the authorization that issuance validated: it stays valid an
	# hour, and PEBBLE_AUTHZREUSE=0 still puts it in 1 new order in 100
	# (pebble.sh), which would be ready without a challenge and issued.
	if ! pebble_restart; then
		fail "cannot restart Pebble on the same ports"
		return
	fi
	sed -i "s|^webroot = $W\$|webroot = $NS|" "$dir/acmed.conf"
	run renew -c "$dir/acmed.conf" --force fail3
	expect_status 1
	cp "$ERR" "$dir/renew-fail.err"
	expect_told "$dir" renewal-failed "renewal failed" fail3 1

	for i in 1 2; do
		daemon_start "$dir" || return
		n=$(grep -c 'fail3: attempt [0-9]* failed' "$dir/log")
		run renew -c "$dir/acmed.conf" --now fail3
		expect_status 0
		if ((RC != 0)); then
			fail "renew --now: $(tr '\n' ' ' <"$ERR")"
		fi
		# The failure a second time in a row: not told again.
		if ! wait_until 30 bash -c "(( \$(grep -c 'fail3: attempt [0-9]* failed' '$dir/log') > $n ))"; then
			fail "daemon $i: no 'fail3: attempt N failed' after renew --now: $(grep fail3 "$dir/log" | tail -n 5 | tr '\n' ' ')"
		fi
		lib_stop_pid "$D_PID"
		expect_no_sanitizer_report "$dir/log"
		expect_told "$dir" renewal-failed "renewal failed" fail3 1
	done

	# The same failure in a row from a one-shot run: not told again.
	run renew -c "$dir/acmed.conf" --force fail3
	expect_status 1
	expect_told "$dir" renewal-failed "renewal failed" fail3 1
	# 8 days on, 2 days left: inside its window, told before it entered
	# it: once more; then not again.
	ahead +8d renew -c "$dir/acmed.conf" --force fail3
	expect_status 1
	expect_told "$dir" renewal-failed "renewal failed" fail3 2
	ahead +8d renew -c "$dir/acmed.conf" --force fail3
	expect_status 1
	expect_told "$dir" renewal-failed "renewal failed" fail3 2
}

# notify-interval = 1m: expiring (told at the end of each renew) is not
# told again within it, and told again once its record is 2 minutes old.
t_interval()
{
	local dir=$T/c3 n

	# notify-interval is global: before the [cert] section.
	sed -i 's/^warn-before = 30d$/&\nnotify-interval = 1m/' "$dir/acmed.conf"
	# The runs 8 days on of the case before told expiring (fail3 due, its
	# renewal failing, 2 days left) at their end: within notify-interval
	# not again; once its record is 2 minutes old, again.
	n=$(posts c3 expiring fail3)
	if ((n < 1)); then
		fail "expiring never told for fail3 8 days on"
	fi
	ahead +8d renew -c "$dir/acmed.conf"
	expect_status 1
	expect_posts c3 expiring fail3 "$n"
	backdate "$dir" "fail3 expiring" 120 || fail "notified.json: unexpected format"
	ahead +8d renew -c "$dir/acmed.conf"
	expect_status 1
	expect_posts c3 expiring fail3 $((n + 1))
	ahead +8d renew -c "$dir/acmed.conf"
	expect_status 1
	expect_posts c3 expiring fail3 $((n + 1))
}

# notify-webhook-format = slack: {"text": "acmed on HOST: CERT: ..."}.
t_slack()
{
	local dir=$T/c4

	conf "$dir" "notify-webhook-format = slack"
	printf '[cert sl]\ndomains = sl.example\n' >>"$dir/acmed.conf"
	run renew -c "$dir/acmed.conf"
	expect_status 0
	"$PY" - "$R_LOG" <<'EOF' || fail "slack bodies: $(grep -P '^\d+\t/c4\t' "$R_LOG" | cut -f4 | tr '\n' ' ')"
import json
import sys

bodies = [line.rstrip("\n").split("\t", 3) for line in open(sys.argv[1])]
bodies = [(ct, b) for st, p, ct, b in bodies if p == "/c4"]
if len(bodies) != 1:
    sys.exit(1)
ct, body = bodies[0]
j = json.loads(body)
ok = (ct == "application/json" and isinstance(j, dict) and list(j) == ["text"]
      and j["text"].startswith("acmed on ") and ": sl: renewed" in j["text"]
      and json.loads(body.strip()) == j)
sys.exit(0 if ok else 1)
EOF
}

# The receiver answers 500 once: acmed renew tries again and delivers.
t_retry()
{
	local dir=$T/c5

	conf "$dir"
	printf '[cert rt]\ndomains = rt.example\n' >>"$dir/acmed.conf"
	echo 1 >"$R_FAIL"
	run renew -c "$dir/acmed.conf"
	expect_status 0
	if [[ $(posts c5 renewed rt 500) != 1 || $(posts c5 renewed rt 200) != 1 ]]; then
		fail "webhook /c5: want one 500 then one 200: $(grep -P '^\d+\t/c5\t' "$R_LOG" | cut -f1 | tr '\n' ' ')"
	fi
	expect_stderr_contains "notify-webhook: rt: renewed not told: the webhook answered 500; trying again in 1 s"
	# The webhook's URL (a Slack path is its secret) is never logged.
	if grep -qF "127.0.0.1:$R_PORT/c5" "$ERR"; then
		fail "the webhook URL was logged"
	fi
	expect_stderr_contains "notify-webhook: rt: told renewed"
	rm -f "$R_FAIL"
}

# warn-before above a new certificate's life: the end of the run tells
# expiring, once.
t_expiring()
{
	local dir=$T/c6 msg

	conf "$dir" "warn-before = 30d"
	printf '[cert ex]\ndomains = ex.example\n' >>"$dir/acmed.conf"
	# Issued, 10 days left: above its window (a quarter of its life,
	# below warn-before): renewed, not expiring.
	run renew -c "$dir/acmed.conf"
	expect_status 0
	expect_told "$dir" renewed renewed ex 1
	expect_told "$dir" expiring expiring ex 0
	run renew -c "$dir/acmed.conf"
	expect_status 0
	expect_told "$dir" expiring expiring ex 0
	# 8 days on, its renewal failing: expiring, once.
	sed -i "s|^webroot = $W\$|webroot = $NS|" "$dir/acmed.conf"
	ahead +8d renew -c "$dir/acmed.conf"
	expect_status 1
	expect_told "$dir" expiring expiring ex 1
	ahead +8d renew -c "$dir/acmed.conf"
	expect_status 1
	expect_told "$dir" expiring expiring ex 1
	msg=$(sed -n 's/^ACMED_MESSAGE=//p' "$dir/env.expiring.ex")
	if [[ $msg != "expires in 1 day 23 hours and was not renewed" ]]; then
		fail "expiring: ACMED_MESSAGE '$msg', want 'expires in 1 day 23 hours and was not renewed'"
	fi
}

# No channel takes a notice (the one set fails every try): it is given back,
# not recorded, and the next failure tells it.
t_given_back()
{
	local dir=$T/c7

	conf "$dir"
	sed -i -e "s|^webroot = .*|webroot = $NS|" \
		-e '/^notify-webhook/d' -e '/^notify-email/d' -e '/^notify-sendmail/d' \
		-e "s|^notify-hook = .*|notify-hook = /bin/false|" "$dir/acmed.conf"
	printf '[cert gb]\ndomains = gb.example\n' >>"$dir/acmed.conf"
	run renew -c "$dir/acmed.conf"
	expect_status 1
	expect_stderr_contains "gb: renewal-failed reached no channel"
	if grep -q '"gb renewal-failed"' "$dir/state/notified.json" 2>/dev/null; then
		fail "notified.json records a notice no channel took"
	fi
	sed -i "s|^notify-hook = /bin/false|notify-hook = $dir/hook.sh $dir|" "$dir/acmed.conf"
	run renew -c "$dir/acmed.conf" --force gb
	expect_status 1
	if [[ $(hooked "$dir" renewal-failed gb) != 1 ]]; then
		fail "notify-hook: renewal-failed for gb told $(hooked "$dir" renewal-failed gb) times after the channel came back, want 1"
	fi
}

# ---- main ----

if ! pebble_start "\"certificateValidityPeriod\": $VALIDITY"; then
	fail_case "start Pebble"
	lib_finish
fi
if ! web_start; then
	fail_case "serve the webroot"
	lib_finish
fi
if ! receiver_start; then
	fail_case "start the webhook receiver"
	lib_finish
fi

case_ "notify-test: three channels ok; a closed webhook port fails alone (exit 1); none set: exit 2" t_test
case_ "a challenge failing three runs: one renewal-failed per channel; fixed: one renewed; another certificate's told" t_failed_once
case_ "a daemon and its restart on notified.json: renew --now fails again, nothing told; 8 days on once more" t_restart
case_ "notify-interval = 1m: expiring not told again within it, told again after it" t_interval
case_ "notify-webhook-format = slack: one {\"text\": \"acmed on ...\"} object" t_slack
case_ "the webhook answers 500 once: acmed renew tries again and delivers" t_retry
case_ "a fresh 10-day certificate is not expiring; 8 days on, its renewal failing: told once" t_expiring
case_ "a notice no channel took is given back: the next failure tells it" t_given_back
lib_finish
