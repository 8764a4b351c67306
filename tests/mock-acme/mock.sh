#!/usr/bin/env bash
# tests/mock-acme/mock_acme.py for acmed's integration tests: start it, switch
# its settings, read its request log.
#
# Sourced by a test script after lib.sh and lib_init:
#
#	. "$TESTS_DIR/mock-acme/mock.sh" || exit 99
#	mock_init                   # exit 77 without python3, openssl or curl
#	mock_start [ARG...] || ...  # ARGs go to mock_acme.py, e.g.
#	                            # --stuck-seconds 2
#	mock_set '"scenario": "x"'  # POST /mock/config
#	mlog_mark; run cert ...; mlog_count 'e["kind"] == "finalize"'
#	id=$(ari_id cert.pem)       # GET $MOCK_URL/renewal-info/$id
#	mock_expect_no_traceback    # before lib_finish
#
# mock_init sets PY (the Python to run: PEBBLE_PYTHON, else /usr/bin/python3,
# else python3 from PATH), MOCK (mock_acme.py), MOCK_DIR (its working folder,
# $T/mock), MLOG (its request log, one JSON object a line) and MLOG_MARK (0).
# mock_start sets MOCK_PORT, MOCK_URL (https://127.0.0.1:PORT), DIR_URL (the
# ACME directory), CA_FILE (the CA of its TLS certificate) and CA_OPTS (acmed's
# --ca and --ca-file for them, and -c with a file that says caa-check = no). The mock is killed at exit (lib_track_pid).

# mock_init: checks the tools and names the mock's files; exits 77 when
# python3, openssl or curl is missing, 99 when mock_acme.py is.
mock_init()
{
	local tool

	lib_python || PY=
	for tool in "$PY" openssl curl; do
		if [[ -z $tool ]] || ! command -v "$tool" >/dev/null 2>&1; then
			echo "SKIP: $LIB_NAME.sh needs python3, openssl and curl" >&2
			exit 77
		fi
	done
	MOCK=$TESTS_DIR/mock-acme/mock_acme.py
	if [[ ! -f $MOCK ]]; then
		echo "$LIB_NAME.sh: $MOCK: missing" >&2
		exit 99
	fi
	MOCK_DIR=$T/mock
	MLOG=$MOCK_DIR/requests.jsonl
	MLOG_MARK=0
}

# mock_start [ARG...]: starts the mock on a free port and waits for it (30 s
# at most). Returns 1, saying why on stderr, when it did not start.
# shellcheck disable=SC2120 # the ARGs are optional
mock_start()
{
	mkdir -p "$MOCK_DIR" || return 1
	"$PY" -u "$MOCK" --workdir "$MOCK_DIR" "$@" </dev/null >"$T/mock.port" 2>"$T/mock.err" &
	lib_track_pid $!
	if ! wait_until 30 test -s "$T/mock.port"; then
		echo "$LIB_NAME.sh: the mock did not start: $(tail -n 5 "$T/mock.err")" >&2
		return 1
	fi
	MOCK_PORT=$(head -n 1 "$T/mock.port")
	MOCK_URL=https://127.0.0.1:$MOCK_PORT
	DIR_URL=$MOCK_URL/dir
	CA_FILE=$MOCK_DIR/tls-ca.pem
	# The mock lists caaIdentities: without this file acmed would ask the
	# system's resolvers for the test names' CAA records, off loopback.
	printf 'caa-check = no\n' >"$MOCK_DIR/acmed.conf" || return 1
	# shellcheck disable=SC2034 # for the scripts that source this file
	CA_OPTS=(--ca "$DIR_URL" --ca-file "$CA_FILE" -c "$MOCK_DIR/acmed.conf")
	[[ $MOCK_PORT =~ ^[0-9]+$ ]]
}

# mock_set JSON-MEMBERS: changes the mock's settings, e.g. '"scenario": "x"'
# or '"ari": "past"'; a failure fails the case.
mock_set()
{
	local got

	got=$(curl -sS --max-time 10 --cacert "$CA_FILE" -d "{$1}" "$MOCK_URL/mock/config" 2>&1)
	if [[ $got != '{"scenario"'* ]]; then
		fail "harness: mock_set $1: $got"
		return 1
	fi
}

# mock_expect_no_traceback: a Python traceback on the mock's stderr counts as
# a failed case.
mock_expect_no_traceback()
{
	if [[ -s $T/mock.err ]] && grep -q Traceback "$T/mock.err"; then
		fail_case "the mock server raised: $(grep -A3 Traceback "$T/mock.err" | head -n 8 | tr '\n' ' ')"
	fi
}

# Where the request log stands: mlog_count and mlog_values look at what came
# after.
mlog_mark()
{
	MLOG_MARK=$(wc -l <"$MLOG")
}

# mlog_count PYTHON-EXPR: the number of requests since mlog_mark for which
# EXPR (over the log entry e, a dict) is true.
mlog_count()
{
	tail -n "+$((MLOG_MARK + 1))" "$MLOG" | "$PY" -c '
import json, sys
expr = compile(sys.argv[1], "expr", "eval")
print(sum(1 for line in sys.stdin if line.strip() and eval(expr, {"e": json.loads(line)})))
' "$1"
}

# mlog_values PYTHON-EXPR: EXPR of each request since mlog_mark, one a line.
mlog_values()
{
	tail -n "+$((MLOG_MARK + 1))" "$MLOG" | "$PY" -c '
import json, sys
expr = compile(sys.argv[1], "expr", "eval")
for line in sys.stdin:
    if line.strip():
        print(eval(expr, {"e": json.loads(line)}))
' "$1"
}

# ari_id FILE: the ARI identifier of a certificate (RFC 9773 section 4.1),
# which ends the path of its renewalInfo: base64url of the AKI key
# identifier, '.', base64url of the serial's DER content (a leading 0 byte
# when the high bit is set).
ari_id()
{
	"$PY" - "$1" <<'EOF'
import base64, re, subprocess, sys
text = subprocess.run(["openssl", "x509", "-in", sys.argv[1], "-noout", "-serial",
                       "-ext", "authorityKeyIdentifier"], capture_output=True, text=True).stdout
serial = bytes.fromhex(re.search(r"serial=([0-9A-Fa-f]+)", text).group(1))
if serial[0] & 0x80:
    serial = b"\0" + serial
keyid = re.search(r"(?:keyid:)?((?:[0-9A-Fa-f]{2}:)+[0-9A-Fa-f]{2})", text.split("Identifier:", 1)[1])
aki = bytes.fromhex(keyid.group(1).replace(":", ""))
b = lambda d: base64.urlsafe_b64encode(d).rstrip(b"=").decode()
print(b(aki) + "." + b(serial))
EOF
}
