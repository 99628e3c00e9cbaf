#!/usr/bin/env bash
# nym-client end to end on the localnet: `init` then `run` (supervisor + keyd + netd + apid),
# then a websocket app (Debian's python3-websockets) asks selfAddress, sends a message to
# itself and must receive the `received` frame. Also: a second `init` of the same id is
# refused, `run` of an unknown id is refused, and killing a child stops the whole suite
# with a non-zero status and the reason. Exit 0 = pass.
set -euo pipefail
BUILD=${BUILD:-build}
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
BIN=$ROOT/$BUILD/bin
PY=/usr/bin/python3
for b in nym-localnet nym-directory nym-mixnode nym-gateway nym-client; do
	[ -x "$BIN/$b" ] || { echo "missing $BIN/$b (run make first)"; exit 1; }
done
"$PY" -c 'import websockets' 2>/dev/null || { echo "missing python3-websockets (apt-get install python3-websockets)"; exit 1; }
T=$(mktemp -d /tmp/client-selfsend.XXXXXX)
CPID=
cleanup() {
	# CPID may be strace, which waits for the client it started: stop that client too
	[ -n "$CPID" ] && { pkill -TERM -P "$CPID" 2>/dev/null; kill "$CPID" 2>/dev/null; wait "$CPID" 2>/dev/null; } || true
	"$BIN/nym-localnet" down --dir "$T/net" >/dev/null 2>&1 || true
	[ -n "${KEEP:-}" ] || rm -rf "$T"
}
trap cleanup EXIT
fail() { echo "FAIL: $*"; tail -30 "$T/client.log" 2>/dev/null || true; exit 1; }
"$BIN/nym-localnet" up --dir "$T/net" >/dev/null || fail "localnet did not start"
# shellcheck disable=SC1091
. "$T/net/env"
PORT=$(( 20000 + RANDOM % 20000 ))
H=$T/home

"$BIN/nym-client" init --id t --home "$H" --nym-apis "$NYM_API" --port "$PORT" >"$T/init.out" 2>&1 ||
	{ cat "$T/init.out"; fail "init"; }
ADDR=$(sed -n 's/^Address of this client: //p' "$T/init.out")
[ -n "$ADDR" ] || { cat "$T/init.out"; fail "init printed no address"; }
grep -q "^Gateway ID: " "$T/init.out" || { cat "$T/init.out"; fail "init did not register"; }
[ -f "$H/.nym/clients/t/config/config.toml" ] || fail "no config.toml"
[ "$(stat -c %a "$H/.nym/clients/t/data/private_identity.pem")" = 600 ] || fail "key file mode"
"$BIN/nym-client" init --id t --home "$H" --nym-apis "$NYM_API" >/dev/null 2>&1 && fail "second init accepted"
"$BIN/nym-client" run --id nosuch --home "$H" >/dev/null 2>&1 && fail "unknown id accepted"
"$BIN/nym-client" init --id b --home "$H" --nym-apis "$NYM_API" >/dev/null 2>&1 || fail "init b"
sed -i "s/^average_ack_delay = .*/average_ack_delay = 'soon'/" "$H/.nym/clients/b/config/config.toml"
"$BIN/nym-client" run --id b --home "$H" >"$T/bad.out" 2>&1 && fail "bad config value accepted"
grep -q "average_ack_delay.*invalid duration 'soon'" "$T/bad.out" || { cat "$T/bad.out"; fail "bad config value message"; }
touch "$T/afile"
"$BIN/nym-client" init --id c --home "$T/afile" --nym-apis "$NYM_API" >"$T/nodir.out" 2>&1 && fail "init under a file accepted"
grep -q "cannot create $T/afile/.nym/clients/c: Not a directory" "$T/nodir.out" || { cat "$T/nodir.out"; fail "unwritable directory message"; }
echo "ok init: $ADDR (a second init, an unknown id, a bad config value and a directory it cannot create are refused)"

"$BIN/nym-client" run --id t --home "$H" >"$T/client.log" 2>&1 &
CPID=$!

cat >"$T/app.py" <<'EOF'
import asyncio, json, sys, websockets
SELF = []
async def main(url):
    for _ in range(100):
        try:
            ws = await websockets.connect(url)
            break
        except OSError:
            await asyncio.sleep(0.1)
    else:
        sys.exit("cannot connect to " + url)
    try:
        await ws.send(json.dumps({"type": "selfAddress"}))
        r = json.loads(await asyncio.wait_for(ws.recv(), 10))
        assert r["type"] == "selfAddress", r
        print("SELF", r["address"], flush=True)
        SELF.append(r["address"])
        await ws.send(json.dumps({"type": "send", "message": "hello nymsuite", "recipient": r["address"]}))
        r = json.loads(await asyncio.wait_for(ws.recv(), 30))
        assert r["type"] == "received", r
        print("RECEIVED", r["message"], r.get("senderTag"), flush=True)
        big = "".join(chr(0x41 + i % 26) for i in range(10000))
        await ws.send(json.dumps({"type": "send", "message": big, "recipient": SELF[0]}))
        r = json.loads(await asyncio.wait_for(ws.recv(), 30))
        assert r["type"] == "received" and r["message"] == big, "10 KB message differs"
        print("RECEIVED BIG", len(r["message"]), flush=True)
    finally:
        await ws.close()
asyncio.run(main(sys.argv[1]))
EOF
app() {
	timeout 45 "$PY" "$T/app.py" "ws://127.0.0.1:$PORT" >"$T/app.out" 2>&1 || { cat "$T/app.out"; fail "app ($1)"; }
	grep -qx "SELF $ADDR" "$T/app.out" || { cat "$T/app.out"; fail "selfAddress differs from init's address ($1)"; }
	grep -qx "RECEIVED hello nymsuite None" "$T/app.out" || { cat "$T/app.out"; fail "no received frame ($1)"; }
	grep -qx "RECEIVED BIG 10000" "$T/app.out" || { cat "$T/app.out"; fail "10 KB message ($1)"; }
}
app "first run"

# two apps at once (one text, one binary): a bad request gets Nym's error and the connection
# stays up; the binary API round trip; every app receives every message
cat >"$T/app2.py" <<'EOF'
import asyncio, json, struct, sys, websockets
async def recv(ws, t=30):
    return await asyncio.wait_for(ws.recv(), t)
async def main(url):
    a = await websockets.connect(url)
    b = await websockets.connect(url)
    try:
        await a.send("{")
        r = json.loads(await recv(a, 10))
        assert r == {"type": "error", "message": "malformed request:EOF while parsing an object at line 1 column 1"}, r
        await b.send(b"\x03")
        r = await recv(b, 10)
        assert isinstance(r, bytes) and len(r) == 97 and r[0] == 2, r
        me = r[1:]
        await a.send(json.dumps({"type": "selfAddress"}))
        txt = json.loads(await recv(a, 10))["address"]
        msg = b"binary \x00\xff round trip"
        await b.send(b"\x00" + me + struct.pack(">QQ", 0, len(msg)) + msg)
        rb = await recv(b)
        assert rb == b"\x01\x00" + struct.pack(">Q", len(msg)) + msg, rb
        ra = json.loads(await recv(a))
        assert ra["type"] == "received" and ra["message"] == "binary \x00\ufffd round trip", ra
        await a.send(json.dumps({"type": "send", "message": "to both", "recipient": txt}))
        ra = json.loads(await recv(a))
        rb = await recv(b)
        assert ra["message"] == "to both" and rb == b"\x01\x00" + struct.pack(">Q", 7) + b"to both", (ra, rb)
        print("TWO APPS OK", flush=True)
    finally:
        await a.close()
        await b.close()
asyncio.run(main(sys.argv[1]))
EOF
timeout 45 "$PY" "$T/app2.py" "ws://127.0.0.1:$PORT" >"$T/app2.out" 2>&1 || { cat "$T/app2.out"; fail "two apps"; }
grep -qx "TWO APPS OK" "$T/app2.out" || { cat "$T/app2.out"; fail "two apps"; }
# init registered (Nym's gateways_registrations.sqlite): the first run authenticates
grep -q "registered with the gateway" "$T/client.log" && fail "registered again on the first run"
grep -q "gateway session ready (protocol 4)" "$T/client.log" || fail "no authenticateV2 session on the first run"
echo "ok first run: authenticated with the key init registered, selfAddress, a message and a 10 KB message to itself through the mixnet"
echo "ok two apps at once: error answer keeps the connection, binary API round trip, both receive"

# SIGTERM stops the suite cleanly (exit 0); first give the last SURB-acks time to come back
sleep 2
kill -TERM "$CPID"
rc=0
wait "$CPID" || rc=$?
CPID=
[ "$rc" = 0 ] || fail "SIGTERM: exit status $rc"
grep -q "stopped by signal 15" "$T/client.log" || fail "SIGTERM not logged"
# every fragment sent was acknowledged (SURB-acks back through the mixnet): 1 + 7 + 1 + 1
grep -q "stats netd: .*real_sent=10 acks=10 " "$T/client.log" || { grep stats "$T/client.log"; fail "sent/acked counts"; }
grep -q "stats apid: messages_sent=4 messages_delivered=4 unacked=0" "$T/client.log" ||
	{ grep stats "$T/client.log"; fail "apid counts"; }
grep -Eq "stats netd: .*cover_sent=[1-9]" "$T/client.log" || { grep stats "$T/client.log"; fail "no cover traffic"; }
echo "ok SIGTERM stops the suite with status 0; 10 fragments sent, 10 acked, 4 delivered, cover traffic sent"

# second run: the same address, authentication with the stored key
sleep 1.1
# (under strace: every IPC datagram any process receives is recorded)
command -v strace >/dev/null && strace -o /dev/null true 2>/dev/null ||
	fail "strace is needed for the IPC key check (make deps installs it)"
TRACE=$T/ipc.trace
# (LeakSanitizer cannot run under ptrace: off for this run of a sanitizer build)
ASAN_OPTIONS=${ASAN_OPTIONS:+$ASAN_OPTIONS:}detect_leaks=0 \
strace -f -qq -s 70000 -xx -e trace=recvmsg -o "$TRACE" \
	"$BIN/nym-client" run --id t --home "$H" >"$T/client.log" 2>&1 &
CPID=$!
app "second run"
grep -q "registered with the gateway" "$T/client.log" && fail "registered again on the second run"
grep -q "gateway session ready (protocol 4)" "$T/client.log" || fail "no authenticateV2 session"
echo "ok second run: same address, authenticated with the stored key, messages round trip"

# the gateway goes away: the app's messages wait in netd and go out after the reconnection
pid=$(cat "$T/net/run/gateway1.pid")
kill -TERM "$pid"
for _ in $(seq 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.05; done
kill -0 "$pid" 2>/dev/null && fail "gateway ignored SIGTERM"
rm -f "$T/net/run/gateway1.ready"
timeout 50 "$PY" "$T/app.py" "ws://127.0.0.1:$PORT" >"$T/app3.out" 2>&1 &
APP=$!
sleep 1.5
setsid "$BIN/nym-gateway" --config "$T/net/nodes/gateway1.toml" \
	>>"$T/net/logs/gateway1.log" 2>&1 </dev/null &
echo $! >"$T/net/run/gateway1.pid"
for _ in $(seq 100); do [ -f "$T/net/run/gateway1.ready" ] && break; sleep 0.05; done
[ -f "$T/net/run/gateway1.ready" ] || fail "gateway did not restart"
wait "$APP" || { cat "$T/app3.out"; fail "app across the gateway restart"; }
grep -qx "RECEIVED BIG 10000" "$T/app3.out" || { cat "$T/app3.out"; fail "messages lost across the gateway restart"; }
grep -q "gateway backoff" "$T/client.log" || fail "netd did not notice the outage"
echo "ok gateway killed and restarted: nothing lost"

# each child is a fresh exec of the binary: its own name and its own address-space layout
# (where the program and libsodium are mapped differs between keyd, netd and apid)
read -r KEYD NETD APIDP < <(sed -n 's/.*started keyd \([0-9]*\), netd \([0-9]*\), apid \([0-9]*\).*/\1 \2 \3/p' "$T/client.log")
[ -n "$NETD" ] || fail "no netd pid in the log"
bases=
for p in "$KEYD" "$NETD" "$APIDP"; do
	name=$(tr '\0' ' ' </proc/"$p"/cmdline)
	case $name in "nym-client["*"] --child "*) ;; *) fail "pid $p is not an exec'd role: '$name'" ;; esac
	bases="$bases $(grep -m1 libsodium /proc/"$p"/maps | cut -d- -f1)"
done
[ "$(tr ' ' '\n' <<<"$bases" | grep -c .)" = 3 ] || fail "no libsodium mapping found:$bases"
[ "$(tr ' ' '\n' <<<"$bases" | grep . | sort -u | wc -l)" = 3 ] || fail "children share an address layout:$bases"
echo "ok keyd, netd and apid are separate execs with separate layouts (libsodium at$bases)"

# a child dies: the supervisor stops the others and exits non-zero with the reason
kill -9 "$NETD"
rc=0
timeout 10 tail --pid="$CPID" -f /dev/null || fail "supervisor still running"
wait "$CPID" || rc=$?
CPID=
[ "$rc" != 0 ] || fail "supervisor exited 0 after netd died"
grep -q "FAILED: netd (pid $NETD) was killed by signal 9" "$T/client.log" || fail "no reason logged"
echo "ok killing netd stops the suite (status $rc)"

# no IPC datagram carried a long-term key or the gateway shared key
D=$H/.nym/clients/t/data
"$PY" - "$D" "$TRACE" <<'EOF' || fail "a key crossed the IPC"
import base64, sys
d, trace = sys.argv[1], open(sys.argv[2]).read()
def pem(name):
    lines = [l for l in open(f"{d}/{name}.pem").read().splitlines() if l and not l.startswith("-----")]
    return base64.b64decode("".join(lines))
keys = {n: pem(n) for n in ("private_identity", "private_encryption", "ack_key")}
keys["gateway_shared"] = open(f"{d}/nymsuite-gateway-key.bin", "rb").read()[8:40]
assert trace.count("recvmsg(") > 20, "trace holds no IPC"
for n, k in keys.items():
    assert len(k) in (16, 32), n
    if "".join(f"\\x{b:02x}" for b in k) in trace:
        sys.exit(f"{n} appears in an IPC datagram")
# the search works: the public identity key does travel (SELF_ADDRESS to apid)
if "".join(f"\\x{b:02x}" for b in pem("public_identity")) not in trace:
    sys.exit("search broken: the public identity is not found in the trace")
print("checked", trace.count("recvmsg("), "datagrams")
EOF
echo "ok no private key or shared key in any IPC datagram"
# keyd's seccomp filter: socket() after start-up kills it with SIGSYS, and the suite stops
rc=0
timeout 20 "$BIN/nym-client" run --id t --home "$H" --test-keyd-socket >"$T/sys.log" 2>&1 || rc=$?
[ "$rc" = 1 ] || { cat "$T/sys.log"; fail "keyd socket(): status $rc"; }
grep -q "FAILED: keyd (pid [0-9]*) was killed by signal 31" "$T/sys.log" || { cat "$T/sys.log"; fail "keyd not killed by SIGSYS"; }
echo "ok keyd dies with SIGSYS when it tries socket() after start"
"$BIN/nym-localnet" status --dir "$T/net" >/dev/null || fail "a localnet process died"
echo "PASS"
