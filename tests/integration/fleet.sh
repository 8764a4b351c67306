#!/usr/bin/env bash
# Fleet mode (issue 14): several "acmed run" nodes share one Redis, one node
# orders each certificate, every node installs it and runs its own deploy
# hook. The harness starts Redis on a loopback port with its own folder and
# its AOF on (appendfsync always), Pebble (external account binding
# required, validations that sleep up to PEBBLE_VA_SLEEPTIME seconds,
# certificates valid VALIDITY seconds), and nodes with their own state
# folder, control socket, log and deploy hook, in $T/nodeN.
#
# Only node1 listens on Pebble's http-01 port (its built-in responder); the
# others listen on ports of their own that no validation reaches, so that a
# certificate ordered by node2 or node3 is validated through node1 answering
# from the store.
#
# The cases run in the order a fleet lives: a first batch (set A), a second
# batch (set B) during which the node holding the most leases is killed
# with -9, a node with the wrong cluster key, then Redis stopped for 30 s
# when set A comes due (half its lifetime, VALIDITY / 2 after issue), a
# fourth node started afterwards, Redis wiped while that node is away, and
# a scan of Redis for secrets. Orders
# are counted at Pebble ("Added order" in its log: a newOrder retried after
# a badNonce is one order).
#
# Environment: ACMED, TESTS_DIR, ACMED_SANITIZED=1 (fewer certificates,
# longer waits). For debugging: FLEET_CERTS (per set; default 30, 12 under
# the sanitizers), FLEET_VALIDITY (seconds; default 240, 260 under the
# sanitizers: set A must not come due before the kill -9 case is over),
# FLEET_CASES (functions, space separated: only those run; later cases
# need earlier ones), FLEET_RESPONDER=webroot (a webroot the nodes share,
# served on Pebble's port, instead of node1's responder), FLEET_KEEP=DIR
# (the nodes' folders, Redis's and Pebble's log copied there at the end).
# Exits 0, 1 when a case failed, 77 when Pebble or Redis is not installed,
# 99 when the harness is broken.
set -uo pipefail

# shellcheck source=lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh" || exit 99
lib_init fleet
# shellcheck source=../pebble.sh
. "$TESTS_DIR/pebble.sh" || exit 99

pebble_require_or_skip
for tool in redis-server redis-cli; do
	if ! command -v "$tool" >/dev/null; then
		echo "SKIP: $tool is not installed (Debian: apt-get install redis-server)" >&2
		exit 77
	fi
done
lib_python || exit 99

if [[ ${ACMED_SANITIZED:-0} == 1 ]]; then
	NCERTS=${FLEET_CERTS:-12}
	SLOW=2
else
	NCERTS=${FLEET_CERTS:-30}
	SLOW=1
fi
VALIDITY=${FLEET_VALIDITY:-$((SLOW == 1 ? 240 : 260))}
RESPONDER=${FLEET_RESPONDER:-standalone}
# Validations sleep up to this long: orders stay in flight a few seconds,
# long enough to kill a node in the middle of a batch.
export PEBBLE_VA_NOSLEEP=0 PEBBLE_VA_SLEEPTIME=6 PEBBLE_AUTHZREUSE=0
ROOT=$T/root.pem
KEY=$T/cluster.key
EAB_KID=kid-1
EAB_KEY=$(head -c 32 /dev/urandom | base64 -w 0 | tr '+/' '-_' | tr -d '=')
RDIR=$T/redis
RPORT=
REDIS_PID=
RPY=$T/redis.py
declare -A NODE_PID=() NODE_HTTP=()
A_CERTS=()
B_CERTS=()
for ((i = 1; i <= NCERTS; i++)); do
	A_CERTS+=("$(printf 'a%02d' "$i")")
	B_CERTS+=("$(printf 'b%02d' "$i")")
done

# ---- Redis ----

# The store's client for the checks, in Python: SCAN, every value of every
# key (strings, hashes, sets, lists, sorted sets), DUMP digests, leases and
# orders in flight; no client library needed.
cat >"$RPY" <<'EOF'
import hashlib
import json
import os
import re
import signal
import socket
import sys
import time


class Redis:
    def __init__(self, port, db=0):
        self.sock = socket.create_connection(("127.0.0.1", int(port)), timeout=10)
        self.f = self.sock.makefile("rb")
        if db:
            self.cmd("SELECT", db)

    def cmd(self, *args):
        out = [b"*%d\r\n" % len(args)]
        for a in args:
            a = a if isinstance(a, bytes) else str(a).encode()
            out.append(b"$%d\r\n%s\r\n" % (len(a), a))
        self.sock.sendall(b"".join(out))
        return self.read()

    def read(self):
        line = self.f.readline()
        kind, rest = line[:1], line[1:-2]
        if kind == b"+":
            return rest
        if kind == b"-":
            raise RuntimeError(rest.decode(errors="replace"))
        if kind == b":":
            return int(rest)
        if kind == b"$":
            n = int(rest)
            return None if n < 0 else self.f.read(n + 2)[:-2]
        if kind == b"*":
            n = int(rest)
            return None if n < 0 else [self.read() for _ in range(n)]
        raise RuntimeError("unexpected reply %r" % line)

    def keys(self, match="*"):
        cursor, keys = b"0", set()
        while True:
            cursor, batch = self.cmd("SCAN", cursor, "MATCH", match, "COUNT", 1000)
            keys.update(batch)
            if cursor == b"0":
                return sorted(keys)

    def parts(self, key):
        """The type of key and every string it holds."""
        kind = self.cmd("TYPE", key).decode()
        if kind == "string":
            v = self.cmd("GET", key)
            return kind, [] if v is None else [v]
        if kind == "hash":
            return kind, self.cmd("HGETALL", key)
        if kind == "set":
            return kind, sorted(self.cmd("SMEMBERS", key))
        if kind == "list":
            return kind, self.cmd("LRANGE", key, 0, -1)
        if kind == "zset":
            return kind, self.cmd("ZRANGE", key, 0, -1, "WITHSCORES")
        return kind, []


def every_key(port):
    info = Redis(port).cmd("INFO", "keyspace").decode()
    for db in [int(m) for m in re.findall(r"^db(\d+):", info, re.M)]:
        r = Redis(port, db)
        for key in r.keys():
            yield db, r, key


def snapshot(port, fields_only):
    """"DB/KEY" -> [type, PTTL, digest of DUMP]; for a key matching
    fields_only (what the running nodes rewrite at each beat), the digest
    of its hash's field names instead."""
    snap = {}
    for db, r, key in every_key(port):
        name = "%d/%s" % (db, key.decode(errors="replace"))
        if fields_only and re.search(fields_only, name):
            kind, parts = r.parts(key)
            data = b"\0".join(parts[0::2] if kind == "hash" else [])
        else:
            kind, data = r.cmd("TYPE", key).decode(), r.cmd("DUMP", key) or b""
        snap[name] = [kind, r.cmd("PTTL", key), hashlib.sha256(data).hexdigest()]
    return snap


def compare(before, after, elapsed_ms):
    """What differs; a key with a TTL shorter than the time between the
    snapshots may have expired meanwhile."""
    problems = []
    for name in sorted(set(before) | set(after)):
        b, a = before.get(name), after.get(name)
        if a is None:
            if not 0 <= b[1] <= elapsed_ms + 1000:
                problems.append("%s removed" % name)
        elif b is None:
            problems.append("%s added (%s)" % (name, a[0]))
        elif a[0] != b[0] or a[2] != b[2]:
            problems.append("%s changed" % name)
    return problems


def scan(port, needles_file, report):
    """Every key name and value against the needles ("LABEL<TAB>TEXT"
    lines), and against a JWS (JSON with protected and signature)."""
    needles = []
    with open(needles_file) as f:
        for line in f:
            label, _, text = line.rstrip("\n").partition("\t")
            if text:
                needles.append((label, text.encode()))
    jws = re.compile(rb'"protected"\s*:.*"signature"\s*:', re.S)
    hits, keys, size = set(), 0, 0
    for db, r, key in every_key(port):
        keys += 1
        kind, parts = r.parts(key)
        where = "db %d, %s %s" % (db, kind, key.decode(errors="replace"))
        for data in [key] + parts:
            size += len(data)
            for label, text in needles:
                if text in data:
                    hits.add("%s: %s" % (where, label))
            if jws.search(data):
                hits.add("%s: a JWS" % where)
    with open(report, "w") as f:
        f.write("%d keys, %d bytes\n" % (keys, size))
    for h in sorted(hits):
        print(h)


def holders(r):
    """{node: [names]} of the leases and of the orders in flight."""
    leases, orders = {}, {}
    for key in r.keys("acmed:lease:*"):
        v = r.cmd("GET", key)
        if v:
            node = v.decode().split(" ", 1)[-1]
            leases.setdefault(node, []).append(key.decode()[len("acmed:lease:"):])
    for key in r.keys("acmed:order:*"):
        node = r.cmd("HGET", key, "node")
        if node:
            orders.setdefault(node.decode(), []).append(key.decode()[len("acmed:order:"):])
    return leases, orders


def killwatch(port, least, secs, pids):
    """SIGKILL to the node of pids holding the most leases the moment it
    has least orders in flight in the store; prints what it held."""
    r = Redis(port)
    deadline = time.monotonic() + float(secs)
    while time.monotonic() < deadline:
        leases, orders = holders(r)
        candidates = sorted(n for n in leases if n in pids)
        if candidates:
            node = max(candidates, key=lambda n: len(leases[n]))
            if len(orders.get(node, [])) >= int(least):
                os.kill(pids[node], signal.SIGKILL)
                print("victim %s" % node)
                print("leases %s" % " ".join(sorted(leases[node])))
                print("orders %s" % " ".join(sorted(orders.get(node, []))))
                print("others %s" % " ".join(
                    "%s:%d" % (n, len(leases[n])) for n in sorted(leases) if n != node))
                return 0
        time.sleep(0.05)
    return 1


def main():
    cmd, port = sys.argv[1], sys.argv[2]
    if cmd == "snapshot":
        json.dump(snapshot(port, sys.argv[3]), sys.stdout)
    elif cmd == "compare":
        with open(sys.argv[3]) as f:
            before = json.load(f)
        with open(sys.argv[4]) as f:
            after = json.load(f)
        for p in compare(before, after, int(sys.argv[5])):
            print(p)
    elif cmd == "scan":
        scan(port, sys.argv[3], sys.argv[4])
    elif cmd == "leases":
        leases, _ = holders(Redis(port))
        for node in sorted(leases):
            for name in sorted(leases[node]):
                print(name, node)
    elif cmd == "clients":
        for line in Redis(port).cmd("CLIENT", "LIST").decode().splitlines():
            print(dict(f.split("=", 1) for f in line.split(" ") if "=" in f)["addr"])
    elif cmd == "hget":
        v = Redis(port).cmd("HGET", sys.argv[3], sys.argv[4])
        print("" if v is None else v.decode(errors="replace"))
    elif cmd == "killwatch":
        pids = dict((a.split("=")[0], int(a.split("=")[1])) for a in sys.argv[5:])
        return killwatch(port, sys.argv[3], sys.argv[4], pids)
    else:
        sys.exit("redis.py: unknown command " + cmd)
    return 0


sys.exit(main())
EOF

rpy()
{
	"$PY" "$RPY" "$1" "$RPORT" "${@:2}"
}

redis_up()
{
	[[ $(redis-cli -p "$RPORT" ping 2>/dev/null) == PONG ]]
}

# redis_start: redis-server on 127.0.0.1:$RPORT (a free port drawn the
# first time), its files in $RDIR, the AOF written and synced at every
# command, no RDB snapshots. The same port and folder every time.
redis_start()
{
	if [[ -z $RPORT ]]; then
		RPORT=$(pebble_free_ports 1) || return 1
	fi
	mkdir -p "$RDIR"
	redis-server --port "$RPORT" --bind 127.0.0.1 --dir "$RDIR" \
		--appendonly yes --appendfsync always --save '' --daemonize no \
		</dev/null >>"$RDIR/log" 2>&1 &
	REDIS_PID=$!
	lib_track_pid "$REDIS_PID"
	if ! wait_until 10 redis_up; then
		echo "fleet.sh: redis-server did not answer on port $RPORT:" >&2
		tail -n 20 "$RDIR/log" >&2
		return 1
	fi
}

redis_stop()
{
	lib_stop_pid "$REDIS_PID"
	REDIS_PID=
}

# ---- nodes ----

orders()
{
	grep -c '^Pebble .* Added order ' "$PEBBLE_WORKDIR/pebble.log"
}

# unseen FROM TO: how many of Pebble's orders FROM+1..TO (as counted by
# orders) no node's log names: newOrders a node sent and died before it
# had the answer (its URL never logged), each an order interrupted.
unseen()
{
	local id n=0

	while read -r id; do
		if ! grep -qF -- "$id" "$T"/node*/log; then
			n=$((n + 1))
		fi
	done < <(sed -n 's/^Pebble .* Added order "\([^"]*\)".*$/\1/p' "$PEBBLE_WORKDIR/pebble.log" |
		sed -n "$(($1 + 1)),$2p")
	echo "$n"
}

node_dir()
{
	echo "$T/node$1"
}

# The deploy hook: "NAME SERIAL" of the certificate it was run for,
# appended to the file it is given.
cat >"$T/hook" <<'EOF'
#!/bin/sh
serial=$(openssl x509 -in "$ACMED_CERT_FILE" -noout -serial 2>/dev/null | sed -n 's/^serial=//p')
echo "$ACMED_CERT_NAME ${serial:-none}" >>"$1"
EOF
chmod 755 "$T/hook"

# node_conf N [KEY-FILE] -- CERT...: nodeN/acmed.conf, the fleet's
# settings, nodeN's name, responder and deploy hook, a [cert CERT] for
# CERT.example each.
node_conf()
{
	local n=$1 key=$KEY dir c
	shift
	if [[ $1 != -- ]]; then
		key=$1
		shift
	fi
	shift
	dir=$(node_dir "$n")
	mkdir -p "$dir" || return 1
	if [[ -z ${NODE_HTTP[$n]:-} ]]; then
		NODE_HTTP[$n]=$(pebble_free_ports 1) || return 1
	fi
	{
		echo "# fleet.sh, node$n"
		echo "ca = $PEBBLE_DIR_URL"
		echo "ca-file = $PEBBLE_CA_FILE"
		echo "agree-tos = yes"
		echo "eab-kid = $EAB_KID"
		echo "eab-hmac-key = $EAB_KEY"
		echo "state-dir = $dir/state"
		echo "control-socket = $dir/ctl.sock"
		echo "challenge = http-01"
		if [[ $RESPONDER == webroot ]]; then
			echo "webroot = $T/www"
		else
			echo "http-listen = 127.0.0.1:${NODE_HTTP[$n]}"
		fi
		echo "cluster = redis://127.0.0.1:$RPORT"
		echo "cluster-key-file = $key"
		echo "node-name = node$n"
		echo "deploy-hook = $T/hook $dir/deployed"
		# Half the batch: the first node to start cannot take
		# every lease before the others are up.
		echo "concurrency = $(((NCERTS + 1) / 2))"
		for c; do
			printf '\n[cert %s]\ndomains = %s.example\n' "$c" "$c"
		done
	} >"$dir/acmed.conf"
	chmod 600 "$dir/acmed.conf"
}

# node_start N: acmed -v run for nodeN in the background, its stderr
# appended to nodeN/log after a line marking the start.
node_start()
{
	local dir

	dir=$(node_dir "$1")
	echo "---- fleet.sh: start $(date -u +%T) ----" >>"$dir/log"
	"$ACMED" -v run -c "$dir/acmed.conf" </dev/null >>"$dir/log" 2>&1 &
	NODE_PID[$1]=$!
	lib_track_pid "${NODE_PID[$1]}"
}

node_stop()
{
	lib_stop_pid "${NODE_PID[$1]:-}"
	NODE_PID[$1]=
}

# Whether PID is a process that has not exited (a zombie has).
proc_running()
{
	local st

	st=$(ps -o stat= -p "$1" 2>/dev/null) || return 1
	[[ -n $st && $st != Z* ]]
}

proc_gone()
{
	! proc_running "$1"
}

# installed_everywhere "N..." CERT...: whether every node N has a cert.pem
# for every CERT.
installed_everywhere()
{
	local nodes=$1 n c
	shift

	for n in $nodes; do
		for c; do
			if [[ ! -s $(node_dir "$n")/state/certs/$c/cert.pem ]]; then
				return 1
			fi
		done
	done
}

installed_count()
{
	local nodes=$1 n c count=0
	shift

	for n in $nodes; do
		for c; do
			if [[ -s $(node_dir "$n")/state/certs/$c/cert.pem ]]; then
				count=$((count + 1))
			fi
		done
	done
	echo "$count"
}

# serials N CERT...: "CERT SERIAL" a line for node N.
serials()
{
	local n=$1 c
	shift

	for c; do
		echo "$c $(cert_serial "$(node_dir "$n")/state/certs/$c/cert.pem")"
	done
}

# renewed_everywhere "N..." OLD-SERIALS-FILE CERT...: whether every node
# has, for every CERT, a serial other than the one in the file and the
# same as node1's.
renewed_everywhere()
{
	local nodes=$1 old=$2 n now
	shift 2

	now=$(serials 1 "$@")
	for n in $nodes; do
		if [[ $(serials "$n" "$@") != "$now" ]]; then
			return 1
		fi
	done
	! grep -qxFf "$old" <<<"$now"
}

# expect_fleet_valid "N..." CERT...: every CERT valid on node1 (see
# expect_valid), and every other node N has the same four files.
expect_fleet_valid()
{
	local nodes=$1 n c d d1 f
	shift

	for c; do
		d1=$(node_dir 1)/state/certs/$c
		expect_valid "$d1"
		for n in $nodes; do
			d=$(node_dir "$n")/state/certs/$c
			for f in privkey.pem cert.pem chain.pem fullchain.pem; do
				if [[ $n != 1 ]] && ! cmp -s "$d/$f" "$d1/$f"; then
					fail "$c: node$n's $f differs from node1's (serials: node$n $(cert_serial "$d/cert.pem"), node1 $(cert_serial "$d1/cert.pem"))"
					break
				fi
			done
		done
	done
}

# expect_deployed N TIMES CERT...: nodeN's deploy hook ran TIMES times for
# each CERT, the last time with the serial installed now.
expect_deployed()
{
	local n=$1 times=$2 c f got last
	shift 2

	f=$(node_dir "$n")/deployed
	for c; do
		got=$(grep -c "^$c " "$f" 2>/dev/null)
		last=$(grep "^$c " "$f" 2>/dev/null | tail -n 1 | cut -d' ' -f2)
		if [[ $got != "$times" ]]; then
			fail "node$n: the deploy hook ran ${got:-0} times for $c, want $times"
		elif [[ $last != "$(cert_serial "$(node_dir "$n")/state/certs/$c/cert.pem")" ]]; then
			fail "node$n: the deploy hook last ran for $c with serial $last, not the installed one"
		fi
	done
}

# deployed_at_least "N..." COUNT: whether the deploy hook of every node N
# ran COUNT times (for whichever certificates).
deployed_at_least()
{
	local n f

	for n in $1; do
		f=$(node_dir "$n")/deployed
		if [[ ! -f $f ]] || (($(wc -l <"$f") < $2)); then
			return 1
		fi
	done
}

# wait_deployed "N..." COUNT: until every node's hook ran COUNT times (the
# hook runs after the files are in place), then a little more for one that
# would run too often.
wait_deployed()
{
	wait_until $((10 * SLOW)) deployed_at_least "$1" "$2"
	sleep 0.5
}

expect_node_log_clean()
{
	local f

	f=$(node_dir "$1")/log
	if grep -qE 'Sanitizer|runtime error:' "$f" 2>/dev/null; then
		fail "sanitizer report in $f:"$'\n'"$(grep -m 1 -E -A 40 'Sanitizer|runtime error:' "$f")"
	fi
}

# account_url N: the account URL in nodeN's state folder (Pebble's only).
account_url()
{
	local f

	f=$(find "$(node_dir "$1")/state/accounts" -name account.json 2>/dev/null | head -n 1)
	[[ -n $f ]] && "$PY" -c 'import json, sys; print(json.load(open(sys.argv[1]))["url"])' "$f"
}

# Who installed each CERT in the fleet's store: "node1: N, node2: N, ...".
ordered_by()
{
	local c

	for c; do
		rpy hget "acmed:cert:$c" node
	done | sort | uniq -c | awk '{printf "%s%s: %d", (NR > 1 ? ", " : ""), $2, $1}'
}

now_ms()
{
	date +%s%3N
}

# ---- set A: 3 nodes, one order each ----

t_batch()
{
	local before n after by start

	before=$(orders)
	for n in 1 2 3; do
		node_conf "$n" -- "${A_CERTS[@]}" || return
	done
	for n in 1 2 3; do
		node_start "$n"
	done
	start=$SECONDS
	if ! wait_until $((60 * SLOW)) installed_everywhere "1 2 3" "${A_CERTS[@]}"; then
		fail "after $((60 * SLOW)) s, $(installed_count "1 2 3" "${A_CERTS[@]}") of $((3 * NCERTS)) certificates installed"
		return
	fi
	after=$(orders)
	by=$(ordered_by "${A_CERTS[@]}")
	echo "# set A: $NCERTS certificates installed on 3 nodes in $((SECONDS - start)) s, $((after - before)) orders; ordered by $by" >&2
	if ((after - before != NCERTS)); then
		fail "$((after - before)) orders at Pebble for $NCERTS certificates, want $NCERTS"
	fi
	expect_fleet_valid "1 2 3" "${A_CERTS[@]}"
	wait_deployed "1 2 3" "$NCERTS"
	for n in 1 2 3; do
		expect_deployed "$n" 1 "${A_CERTS[@]}"
		if ! proc_running "${NODE_PID[$n]}"; then
			fail "node$n exited"
		fi
	done
	# Validations reach node1 only: a certificate another node ordered
	# was answered by node1 from the store.
	if [[ $by != *node2* && $by != *node3* ]]; then
		fail "node1 ordered every certificate ($by): nothing shows that a node answers for another"
	fi
}

# ---- set B: kill -9 of the lease holder in the middle ----

# leases_gone NODE: whether NODE holds no lease.
leases_gone()
{
	local held

	held=$(rpy leases) || return 1
	! grep -q " $1\$" <<<"$held"
}

t_kill9()
{
	local before n after out victim v c url pre mark got survivors start cut
	local -a pids=() inflight=() resumed=() lost=() logs

	before=$(orders)
	for n in 1 2 3; do
		node_conf "$n" -- "${A_CERTS[@]}" "${B_CERTS[@]}" || return
		if ((n > 1)); then
			pids+=("node$n=${NODE_PID[$n]}")
		fi
	done
	for n in 1 2 3; do
		kill -HUP "${NODE_PID[$n]}"
	done
	# The moment the node with the most leases has 2 orders in flight;
	# node2 or node3: node1 is the fleet's only address the CA reaches
	# (without it, no validation succeeds until it is back).
	if ! out=$(rpy killwatch 2 $((60 * SLOW)) "${pids[@]}"); then
		fail "no node held leases with 2 orders in flight within $((60 * SLOW)) s"
		return
	fi
	victim=$(sed -n 's/^victim node//p' <<<"$out")
	v=$(node_dir "$victim")
	{ wait "${NODE_PID[$victim]}"; } 2>/dev/null
	lib_stop_pid "${NODE_PID[$victim]}"
	echo "# kill -9 node$victim: $(tr '\n' ';' <<<"$out") $(installed_count "1 2 3" "${B_CERTS[@]}") of $((3 * NCERTS)) installed" >&2

	# The others take its certificates over once its leases have expired
	# (30 s after their last extension; a node that found a lease held
	# looks again 15 s later), resuming the orders it left.
	survivors=$(printf '%s\n' 1 2 3 | grep -vx "$victim" | paste -sd ' ')
	start=$SECONDS
	if ! wait_until 45 leases_gone "node$victim"; then
		fail "node$victim's leases still held 45 s after kill -9"
	fi
	echo "# node$victim's leases gone $((SECONDS - start)) s after the kill" >&2
	if ! wait_until $((90 * SLOW)) installed_everywhere "$survivors" "${B_CERTS[@]}"; then
		fail "$(installed_count "$survivors" "${B_CERTS[@]}") of $((2 * NCERTS)) certificates of set B installed on node${survivors// / and node} $((90 * SLOW)) s after the kill"
		return
	fi
	after=$(orders)
	echo "# set B installed on the others $((SECONDS - start)) s after the kill" >&2
	# Restarted, the victim installs the fleet's versions and orders
	# nothing (its own orders in flight are the fleet's business now).
	mark=$(($(wc -l <"$v/log") + 1))
	start=$SECONDS
	node_start "$victim"
	if ! wait_until $((30 * SLOW)) installed_everywhere "$victim" "${B_CERTS[@]}"; then
		fail "node$victim, restarted, installed $(installed_count "$victim" "${B_CERTS[@]}") of $NCERTS certificates of set B in $((30 * SLOW)) s"
		return
	fi
	echo "# node$victim, restarted, installed set B in $((SECONDS - start)) s" >&2
	sleep 1
	if (($(orders) != after)); then
		fail "node$victim, restarted, made $(($(orders) - after)) orders"
	fi
	expect_fleet_valid "1 2 3" "${B_CERTS[@]}"

	# The orders the victim had made and not finished, from its log (the
	# debug line "NAME: order URL") before the restart; those another
	# node resumed ("NAME: resuming order URL"). Each of the others could
	# cost one order more.
	pre=$(head -n $((mark - 1)) "$v/log")
	while read -r c url; do
		if grep -qE "^.*$c: the fleet's version " <<<"$pre"; then
			continue
		fi
		inflight+=("$c")
		logs=()
		for n in $survivors; do
			logs+=("$(node_dir "$n")/log")
		done
		if grep -qF "$c: resuming order $url" "${logs[@]}" &&
			! grep -qF "$c: order $url cannot be resumed" "${logs[@]}"; then
			resumed+=("$c")
		else
			lost+=("$c")
		fi
	done < <(sed -n -E 's/^.* (b[0-9]+): order (https:[^ ]+)$/\1 \2/p' <<<"$pre")
	got=$((after - before))
	# newOrders node$victim sent and died before the answer: the
	# interrupted ones the issue allows, one order more each.
	cut=$(unseen "$before" "$after")
	echo "# set B: $got orders for $NCERTS certificates; node$victim had ${#inflight[@]} in flight (${inflight[*]}), resumed ${#resumed[@]} (${resumed[*]}), not resumed ${#lost[@]} (${lost[*]}), $cut cut short before their URL came back; ordered by $(ordered_by "${B_CERTS[@]}")" >&2
	if ((cut > 1)); then
		fail "$cut orders at Pebble that no node's log names, want at most 1 (the newOrder node$victim had in flight at the kill: new-order-concurrency is 1)"
	fi
	if ((got > NCERTS + ${#lost[@]} + cut)); then
		fail "$got orders at Pebble for $NCERTS certificates, want at most $((NCERTS + ${#lost[@]} + cut)) ($NCERTS, ${#lost[@]} in flight at the kill and not resumed, $cut cut short)"
	fi
	if ((${#inflight[@]} == 0)); then
		fail "node$victim's log shows no order in flight at kill -9: nothing was resumed"
	fi
	for c in "${resumed[@]}"; do
		if ! grep -q "$c: resuming the order node$victim left" "$T"/node*/log; then
			fail "$c: resumed, but no node says '$c: resuming the order node$victim left'"
		fi
	done
	# The nodes that lived ran their hook once per certificate; the
	# victim once at least (again when the kill cut one short).
	wait_deployed "1 2 3" $((2 * NCERTS))
	for n in 1 2 3; do
		if [[ $n == "$victim" ]]; then
			continue
		fi
		expect_deployed "$n" 1 "${B_CERTS[@]}"
	done
	for c in "${B_CERTS[@]}"; do
		if ! grep -q "^$c " "$v/deployed"; then
			fail "node$victim never ran its deploy hook for $c"
		fi
	done
	# Set B is done with: it would come due during the next cases.
	for n in 1 2 3; do
		node_conf "$n" -- "${A_CERTS[@]}" || return
		kill -HUP "${NODE_PID[$n]}"
	done
}

# ---- a node with another cluster key ----

# The commands that change nothing in Redis.
READS='GET|MGET|HGET|HGETALL|HMGET|HKEYS|EXISTS|TYPE|TTL|PTTL|SCAN|SMEMBERS|SISMEMBER|PING|SELECT|AUTH|HELLO|CLIENT|INFO|SUBSCRIBE|PSUBSCRIBE|UNSUBSCRIBE|PUNSUBSCRIBE|QUIT'

t_wrong_key()
{
	local dir fleet_id bad_id start problems before after mpid cmds writes

	dir=$(node_dir 5)
	rm -f "$T/other.key"
	"$ACMED" cluster-key new "$T/other.key" >/dev/null 2>&1 || fail "cluster-key new failed"
	fleet_id=$("$ACMED" cluster-key id "$KEY" | sed -n 's/^.*cluster key //p')
	bad_id=$("$ACMED" cluster-key id "$T/other.key" | sed -n 's/^.*cluster key //p')
	node_conf 5 "$T/other.key" -- "${A_CERTS[@]}" || return
	# The running nodes rewrite their beat (the nodes hash's values and
	# alive:NODE); everything else stays as it is.
	before=$T/redis-before.json
	after=$T/redis-after.json
	rpy snapshot '^0/acmed:(nodes|alive:node[123])$' >"$before" || fail "cannot read Redis"
	start=$(now_ms)
	# Every command Redis gets meanwhile; those of clients not connected
	# before are node5's.
	{
		rpy clients | sed 's/$/]/'
		# What scripts run: the EVAL of whoever sent it shows too.
		echo ' lua]'
	} >"$T/clients"
	redis-cli -p "$RPORT" monitor >"$T/monitor" 2>&1 &
	mpid=$!
	lib_track_pid "$mpid"
	wait_until 5 grep -q '^OK' "$T/monitor"
	run run -c "$dir/acmed.conf"
	sleep 0.2
	lib_stop_pid "$mpid"
	rpy snapshot '^0/acmed:(nodes|alive:node[123])$' >"$after" || fail "cannot read Redis"
	# Reads, the connection's set-up and subscriptions change nothing.
	cmds=$(grep -vFf "$T/clients" "$T/monitor" |
		sed -n -E 's/^[0-9.]+ \[[0-9]+ [^]]+\] "([A-Za-z]+)".*$/\1/p' | tr '[:lower:]' '[:upper:]')
	writes=$(grep -vxE "$READS" <<<"$cmds" | sort | uniq -c | tr -s ' \n' ' ')
	echo "# commands from node5:$(sort <<<"$cmds" | uniq -c | tr -s ' \n' ' ')" >&2
	if [[ -n $writes ]]; then
		fail "node5 sent Redis commands other than reads: $writes"
	fi
	if ((RC == 0)); then
		fail "acmed run with another cluster key exited 0"
	fi
	expect_stderr_contains "$fleet_id"
	expect_stderr_contains "$bad_id"
	problems=$(rpy compare "$before" "$after" $(($(now_ms) - start)))
	if [[ -n $problems ]]; then
		fail "Redis changed while the node with another key ran: $(tr '\n' ';' <<<"$problems")"
	fi
	printf 'its name\tnode5\n' >"$T/node5.needle"
	problems=$(rpy scan "$T/node5.needle" "$T/node5.report")
	if [[ -n $problems ]]; then
		fail "node5 in Redis: $(tr '\n' ';' <<<"$problems")"
	fi
	if [[ -n $(find "$dir/state" -name cert.pem 2>/dev/null) ]]; then
		fail "node5 installed certificates: $(find "$dir/state" -name cert.pem | head -n 3 | tr '\n' ' ')"
	fi
	echo "# another key: exit $RC; $(tr '\n' ' ' <"$ERR" | cut -c1-300)" >&2
}

# ---- Redis stopped for 30 s when set A comes due ----

t_redis_down()
{
	local n c due=0 due_max=0 info nb na t stop stop_ms alive=1 lines before after problems
	local -A mark=()

	# When set A comes due: half its lifetime after its issue.
	for c in "${A_CERTS[@]}"; do
		info=$(cert_info "$(node_dir 1)/state/certs/$c/cert.pem") || {
			fail "$c: unreadable on node1"
			return
		}
		read -r _ nb na <<<"$info"
		t=$((na - (na - nb) / 2))
		if ((due == 0 || t < due)); then
			due=$t
		fi
		((t > due_max)) && due_max=$t
	done
	serials 1 "${A_CERTS[@]}" >"$T/a-serials"
	t=$((due - 8 - $(date +%s)))
	echo "# set A comes due in $((due - $(date +%s))) to $((due_max - $(date +%s))) s; Redis stops in $t s" >&2
	if ((t < 0)); then
		fail "set A came due before Redis could be stopped (the cases before took too long: raise FLEET_VALIDITY)"
		return
	fi
	sleep "$t"
	for n in 1 2 3; do
		tree_snapshot "$(node_dir "$n")/state/certs" ! -name state.json >"$T/certs$n.snap"
		tree_snapshot "$(node_dir "$n")/state/certs" -name state.json >"$T/states$n.snap"
		mark[$n]=$(($(wc -l <"$(node_dir "$n")/log") + 1))
	done
	before=$(orders)
	rpy snapshot '^0/acmed:(nodes|alive:node[0-9]+)$' >"$T/redis-stop.json"
	stop_ms=$(now_ms)
	stop=$SECONDS
	redis_stop
	# A node new to the fleet started meanwhile has no account: it must
	# not register one of its own (the fleet would be split between two
	# accounts, and an order of one cannot be resumed with the other).
	node_conf 6 -- "${A_CERTS[0]}" || return
	node_start 6
	# Meanwhile the nodes serve what they have.
	sleep 10
	if [[ -e $(node_dir 6)/state/accounts ]] && [[ -n $(find "$(node_dir 6)/state/accounts" -name account.json) ]]; then
		fail "node6 registered an account of its own while Redis was down"
	fi
	if ! grep -q 'this node has no account' "$(node_dir 6)/log"; then
		fail "node6 did not say it waits for the fleet's account: $(tail -n 3 "$(node_dir 6)/log" | tr '\n' ';')"
	fi
	for n in 1 2 3; do
		run status -c "$(node_dir "$n")/acmed.conf"
		if ((RC != 0)); then
			fail "node$n: acmed status exited $RC while Redis was down"
			return
		fi
	done
	# Passed: not to be printed if a later check fails.
	: >"$OUT"
	: >"$ERR"
	# shellcheck disable=SC2034 # lib.sh's
	LAST_CMD=
	sleep $((30 - (SECONDS - stop)))
	for n in 1 2 3; do
		if ! proc_running "${NODE_PID[$n]}"; then
			fail "node$n exited while Redis was down"
			alive=0
		fi
		expect_tree_unchanged "$T/certs$n.snap" "$(node_dir "$n")/state/certs" ! -name state.json
		if [[ $(tree_snapshot "$(node_dir "$n")/state/certs" -name state.json) != "$(cat "$T/states$n.snap")" ]]; then
			echo "# node$n: state.json files changed while Redis was down" >&2
		fi
	done
	if (($(date +%s) < due)); then
		fail "nothing came due while Redis was down (due at $due, now $(date +%s))"
	elif (($(date +%s) < due_max)); then
		echo "# Redis back before the last of set A came due" >&2
	fi
	if (($(orders) != before)); then
		fail "$(($(orders) - before)) orders while Redis was down"
	fi
	if ! redis_start; then
		fail "cannot start Redis again on port $RPORT"
		return
	fi
	echo "# Redis down for $((SECONDS - stop)) s" >&2
	# Restarted from its AOF: nothing lost (what a node changed since it
	# came back aside; what expired meanwhile too).
	rpy snapshot '^0/acmed:(nodes|alive:node[0-9]+)$' >"$T/redis-start.json"
	problems=$(rpy compare "$T/redis-stop.json" "$T/redis-start.json" $(($(now_ms) - stop_ms)) |
		grep ' removed$')
	if [[ -n $problems ]]; then
		fail "lost when Redis restarted: $(tr '\n' ';' <<<"$problems")"
	fi
	if ((alive == 0)); then
		return
	fi
	t=$SECONDS
	if ! wait_until $((60 * SLOW)) renewed_everywhere "1 2 3" "$T/a-serials" "${A_CERTS[@]}"; then
		fail "set A not renewed on every node $((60 * SLOW)) s after Redis came back"
	fi
	after=$(orders)
	echo "# set A renewed $((SECONDS - t)) s after Redis came back: $((after - before)) orders; ordered by $(ordered_by "${A_CERTS[@]}")" >&2
	if ((after - before != NCERTS)); then
		fail "$((after - before)) orders for the renewal of $NCERTS certificates, want $NCERTS"
	fi
	expect_fleet_valid "1 2 3" "${A_CERTS[@]}"
	wait_deployed "1 2 3" $((4 * NCERTS))
	# node6 took the fleet's account once Redis was back, and the fleet's
	# certificate.
	if ! wait_until $((20 * SLOW)) installed_everywhere 6 "${A_CERTS[0]}"; then
		fail "node6 did not install ${A_CERTS[0]} after Redis came back"
	fi
	if [[ $(account_url 6) != "$(account_url 1)" ]]; then
		fail "node6's account ($(account_url 6)) is not the fleet's ($(account_url 1))"
	fi
	node_stop 6
	for n in 1 2 3; do
		expect_deployed "$n" 2 "${A_CERTS[@]}"
		# The loss logged once (io/redis.c), not per certificate or
		# per retry.
		lines=$(tail -n "+${mark[$n]}" "$(node_dir "$n")/log")
		got=$(grep -c 'serving local files, retrying' <<<"$lines")
		echo "# node$n: the loss logged $got times; 'due, not ordered' $(grep -c 'due, not ordered' <<<"$lines") times, $(grep -c 'warning: .*due, not ordered' <<<"$lines") of them warnings" >&2
		if ((got != 1)); then
			fail "node$n logged the loss of Redis $got times: $(grep 'serving local files, retrying' <<<"$lines" | head -n 3 | tr '\n' ';')"
		fi
		# The renewals waited for Redis.
		if ! grep -q 'due, not ordered' <<<"$lines"; then
			fail "node$n never said a certificate was due and not ordered while Redis was down"
		fi
		# A certificate's name once at the start of its lines.
		if grep -qE ' (a[0-9]+): \1: ' <<<"$lines"; then
			fail "node$n: a certificate's name twice in a line: $(grep -E ' (a[0-9]+): \1: ' <<<"$lines" | head -n 1)"
		fi
		if ! grep -q 'cluster: .* reachable again' <<<"$lines"; then
			fail "node$n did not log that Redis is reachable again"
		fi
	done
}

# ---- a node started afterwards ----

t_late_node()
{
	local before start elapsed

	node_conf 4 -- "${A_CERTS[@]}" || return
	before=$(orders)
	start=$(now_ms)
	node_start 4
	if ! wait_until $((30 * SLOW)) installed_everywhere 4 "${A_CERTS[@]}"; then
		fail "node4: $(installed_count 4 "${A_CERTS[@]}") of $NCERTS certificates installed after $((30 * SLOW)) s"
		return
	fi
	elapsed=$(($(now_ms) - start))
	echo "# node4 installed $NCERTS certificates in $((elapsed / 1000)).$(printf '%03d' $((elapsed % 1000))) s" >&2
	if ((elapsed > 10000 * SLOW)); then
		fail "node4 took $elapsed ms to install $NCERTS certificates, want a few seconds"
	fi
	expect_fleet_valid "1 2 3 4" "${A_CERTS[@]}"
	wait_deployed 4 "$NCERTS"
	expect_deployed 4 1 "${A_CERTS[@]}"
	if (($(orders) != before)); then
		fail "$(($(orders) - before)) orders while node4 started, want none"
	fi
}

# ---- Redis wiped while the fleet runs ----

# node4 misses a renewal of three certificates, Redis loses everything
# (FLUSHALL), node4 comes back with its older sets: the nodes put their
# sets back (the heartbeat finds the store set up anew), none installs an
# older set over a newer one or runs its hook for a set it had, every node
# ends with the newest, the store has its key check and the fleet's
# account back, and a node with another key is still refused.
t_wipe()
{
	local n c s url1 extra before pid5 rc5
	local -a three=("${A_CERTS[@]:0:3}")
	local -A mark=()

	if ! proc_running "${NODE_PID[4]:-0}"; then
		fail "node4 (the previous case's) is not running"
		return
	fi
	url1=$(account_url 1)
	node_stop 4
	serials 1 "${three[@]}" >"$T/wipe-old"
	for c in "${three[@]}"; do
		run renew --now "$c" -c "$(node_dir 1)/acmed.conf"
		expect_status 0
	done
	if ! wait_until $((40 * SLOW)) renewed_everywhere "1 2 3" "$T/wipe-old" "${three[@]}"; then
		fail "the renewals asked of node1 did not reach node2 and node3"
		return
	fi
	# Every serial a hook has seen so far: one after the wipe must be new.
	cat "$T"/node*/deployed | awk '{print $2}' | sort -u >"$T/wipe-seen"
	for n in 1 2 3; do
		mark[$n]=$(wc -l <"$(node_dir "$n")/deployed")
	done
	redis-cli -p "$RPORT" FLUSHALL >/dev/null || fail "FLUSHALL failed"
	# A node with another key started at once finds an empty store: it
	# must leave it to the fleet's nodes, and go when they set it up.
	before=$(orders)
	"$ACMED" -v run -c "$(node_dir 5)/acmed.conf" </dev/null >"$T/node5-wipe.log" 2>&1 &
	pid5=$!
	lib_track_pid "$pid5"
	node_start 4
	if ! wait_until $((30 * SLOW)) proc_gone "$pid5"; then
		fail "the node with another key still runs 30 s after the wipe: $(tail -n 3 "$T/node5-wipe.log" | tr '\n' ';')"
		lib_stop_pid "$pid5"
	else
		wait "$pid5"
		rc5=$?
		if ((rc5 != 2)); then
			fail "the node with another key started on the wiped store exited $rc5, want 2: $(tail -n 3 "$T/node5-wipe.log" | tr '\n' ';')"
		fi
	fi
	if grep -q 'account https://' "$T/node5-wipe.log"; then
		fail "the node with another key registered an account on the wiped store"
	fi
	if ! wait_until $((40 * SLOW)) renewed_everywhere "1 2 3 4" "$T/wipe-old" "${three[@]}"; then
		fail "the nodes do not end with node1's newer sets of ${three[*]}: $(for n in 1 2 3 4; do serials "$n" "${three[@]}" | tr '\n' ' '; done)"
	fi
	sleep $((15 * SLOW))
	expect_fleet_valid "1 2 3 4" "${A_CERTS[@]}"
	for n in 1 2 3; do
		while read -r c s; do
			if grep -qxF "$s" "$T/wipe-seen"; then
				fail "node$n ran its deploy hook for $c $s, a set it had before the wipe (rolled back, or installed again)"
			fi
		done < <(tail -n "+$((mark[$n] + 1))" "$(node_dir "$n")/deployed")
	done
	if [[ $(redis-cli -p "$RPORT" EXISTS acmed:keycheck) != 1 ]]; then
		fail "the key check is not back in the wiped store"
	fi
	if [[ -z $(redis-cli -p "$RPORT" --scan --pattern 'acmed:account:*') ]]; then
		fail "the fleet's account is not back in the wiped store"
	fi
	for n in 2 3 4; do
		if [[ $(account_url "$n") != "$url1" ]]; then
			fail "node$n's account ($(account_url "$n")) is not node1's ($url1)"
		fi
	done
	extra=$(grep -c 'put there as the next version\|lost its records' "$T"/node[1-4]/log | tr '\n' ' ')
	echo "# after the wipe: $extra" >&2
	run run -c "$(node_dir 5)/acmed.conf"
	if ((RC != 2)); then
		fail "a node with another cluster key started on the store set up again: exit $RC"
	fi
}

# ---- nothing secret in Redis ----

t_no_secrets()
{
	local f hits report=$T/scan-report needles=$T/needles n=0 line

	: >"$needles"
	# Every private key any node holds or held: certificates' (every
	# version), accounts', pending orders'.
	while IFS= read -r -d '' f; do
		n=$((n + 1))
		while IFS= read -r line; do
			if ((${#line} >= 40)); then
				printf '%s\t%s\n' "${f#"$T"/} (a line of its base64)" "$line"
			fi
		done < <(grep -v -- '-----' "$f")
		printf '%s\t%s\n' "${f#"$T"/} (its base64 whole)" "$(grep -v -- '-----' "$f" | tr -d '\n')"
	done < <(grep -rlZ 'PRIVATE KEY' "$T"/node*/state) >>"$needles"
	{
		printf '%s\t%s\n' "a PEM private key" "PRIVATE KEY"
		printf '%s\t%s\n' "the EAB key" "$EAB_KEY"
		printf '%s\t%s\n' "the EAB key in base64" "$(printf '%s' "$EAB_KEY" | tr -- '-_' '+/')"
		printf '%s\t%s\n' "the EAB key in hex" "$("$PY" -c 'import base64, sys
print(base64.urlsafe_b64decode(sys.argv[1] + "=" * (-len(sys.argv[1]) % 4)).hex())' "$EAB_KEY")"
		printf '%s\t%s\n' "the cluster key" "$(tr -d '\n' <"$KEY")"
	} >>"$needles"
	if ((n < 2 * NCERTS)); then
		fail "only $n private keys found under the nodes' state folders"
	fi
	hits=$(rpy scan "$needles" "$report")
	echo "# Redis: $(cat "$report" 2>/dev/null) scanned for $n private keys, the EAB key, the cluster key, PEM private keys, JWS" >&2
	if [[ ! -s $report ]]; then
		fail "cannot scan Redis"
	elif [[ -n $hits ]]; then
		fail "secrets in Redis: $(head -n 10 <<<"$hits" | tr '\n' ';')"
	fi
	# Nor in its AOF files, nor in the nodes' logs.
	for f in "$RDIR"/appendonlydir/* "$T"/node*/log; do
		if grep -qF -f <(cut -f2 "$needles") -- "$f"; then
			fail "a secret in $f: $(grep -oF -f <(cut -f2 "$needles") -- "$f" | head -n 1 | cut -c1-20)..."
		fi
	done
}

# ---- the harness ----

if ! pebble_start "\"certificateValidityPeriod\": $VALIDITY, \"externalAccountBindingRequired\": true, \"externalAccountMACKeys\": {\"$EAB_KID\": \"$EAB_KEY\"}"; then
	fail_case "start Pebble"
	lib_finish
fi
if ! pebble_root_ca "$ROOT"; then
	fail_case "fetch Pebble's root"
	lib_finish
fi
if ! redis_start; then
	fail_case "start redis-server"
	lib_finish
fi
if ! "$ACMED" cluster-key new "$KEY" >/dev/null 2>"$T/key.err"; then
	cat "$T/key.err" >&2
	fail_case "acmed cluster-key new"
	lib_finish
fi
NODE_HTTP[1]=$PEBBLE_HTTP_PORT
if [[ $RESPONDER == webroot ]]; then
	mkdir -p "$T/www"
	"$PY" -m http.server --bind 127.0.0.1 --directory "$T/www" "$PEBBLE_HTTP_PORT" \
		>"$T/www.log" 2>&1 &
	lib_track_pid $!
	if ! wait_until 10 curl -s -o /dev/null "http://127.0.0.1:$PEBBLE_HTTP_PORT/"; then
		fail_case "serve the webroot"
		lib_finish
	fi
fi

# Each case's duration on stderr. FLEET_CASES (functions, space separated)
# runs only those, for debugging.
timed_case()
{
	local start=$SECONDS

	if [[ -n ${FLEET_CASES:-} && " $FLEET_CASES " != *" $2 "* ]]; then
		skip_case "$1" "not in FLEET_CASES"
		return
	fi
	case_ "$@"
	echo "# $2: $((SECONDS - start)) s" >&2
}

timed_case "$NCERTS certificates on 3 nodes: one order each, the same serials and keys everywhere, each node's hook once per certificate" t_batch
timed_case "kill -9 of the node holding the most leases in a batch of $NCERTS: all valid everywhere, orders resumed" t_kill9
timed_case "a node with another cluster key: refused at start naming both key ids, Redis unchanged" t_wrong_key
timed_case "Redis stopped for 30 s as renewals come due: no crash, files untouched, renewed once Redis is back, the loss logged once" t_redis_down
timed_case "a fourth node started afterwards installs every certificate within seconds, ordering nothing" t_late_node
timed_case "Redis wiped (FLUSHALL) while a node that missed a renewal is away: every node ends with the newest sets, none rolled back or installed again, the key check and the account back, another key still refused" t_wipe
timed_case "no private key, EAB key, cluster key or JWS in Redis, its AOF or the logs" t_no_secrets
for n in 1 2 3 4 5 6; do
	if [[ -n ${NODE_PID[$n]:-} ]]; then
		node_stop "$n"
	fi
done
if [[ -n ${FLEET_KEEP:-} ]]; then
	# For debugging: the nodes' folders, Redis's and Pebble's log.
	mkdir -p "$FLEET_KEEP" && cp -a "$T"/node* "$RDIR" "$PEBBLE_WORKDIR/pebble.log" "$FLEET_KEEP/"
fi
for n in 1 2 3 4 5 6; do
	if [[ -f $(node_dir "$n")/log ]]; then
		CASE_FAILED=0
		FAIL_MSGS=()
		expect_node_log_clean "$n"
		if ((CASE_FAILED)); then
			printf '%s\n' "${FAIL_MSGS[@]}" >&2
			fail_case "node$n's log has a sanitizer report"
		fi
	fi
done
lib_finish
