#!/usr/bin/env bash
# Unsent messages survive a stop. On the localnet: the middle mix node is stopped (SIGSTOP),
# so nothing sent is acknowledged; an app sends a 5 KB message (several fragments) to the
# client itself over the Unix-socket API; SIGTERM: apid hands every unacknowledged fragment to
# the supervisor, which writes data/nymsuite-unsent.bin (0600) and logs the count. The stalled
# node is then killed (what it held is gone); the next `run` resends the persisted fragments,
# the node is started again once that run's app is connected, and the message arrives (all
# fragments acknowledged). The file stays until the next stop has persisted the queue again
# (here: empty, so that stop removes it). A corrupt file is renamed aside and the client
# starts anyway. Exit 0 = pass.
set -euo pipefail
# shellcheck source=tests/integration/lib/localnet.bash
. "$(dirname "$0")/lib/localnet.bash"
PY=/usr/bin/python3
client_localnet_up client-persist nymctl
H=$T/home
D=$H/.nym/clients/p/data
SOCK=$D/nym-client.sock
UNSENT=$D/nymsuite-unsent.bin
"$BIN/nym-client" init --id p --home "$H" --nym-apis "$NYM_API" --port $(( 20000 + RANDOM % 20000 )) \
	>"$T/init.out" 2>&1 || { cat "$T/init.out"; fail "init"; }

cat >"$T/app.py" <<'PYEOF'
import socket, struct, sys
path, size, mode = sys.argv[1], int(sys.argv[2]), sys.argv[3]
s = socket.socket(socket.AF_UNIX)
s.settimeout(60)
s.connect(path)
def send(f): s.sendall(struct.pack(">Q", len(f)) + f)
def exact(n):
    b = b""
    while len(b) < n:
        c = s.recv(n - len(b))
        if not c:
            raise EOFError("closed")
        b += c
    return b
def recv():
    (n,) = struct.unpack(">Q", exact(8))
    return exact(n)
send(b"\x03")
me = recv()[1:]
msg = bytes((i * 7 + 3) % 256 for i in range(size))
want = b"\x01\x00" + struct.pack(">Q", len(msg)) + msg
if mode == "send":
    send(b"\x00" + me + struct.pack(">QQ", 0, len(msg)) + msg)
    print("SENT", flush=True)
else:
    print("CONNECTED", flush=True)
    while True:
        r = recv()
        if r == want:
            print("RECEIVED", len(msg), flush=True)
            break
        print("OTHER", r[:12].hex(), flush=True)
PYEOF
start_client() {
	"$BIN/nym-client" run --id p --home "$H" >"$T/client.log" 2>&1 &
	CPID=$!
	for _ in $(seq 100); do [ -S "$SOCK" ] && break; sleep 0.1; done
	[ -S "$SOCK" ] || fail "no API socket"
}
stop_client() {
	kill -TERM "$CPID"
	local rc=0
	wait "$CPID" || rc=$?
	CPID=
	[ "$rc" = 0 ] || fail "SIGTERM: status $rc"
}
json_of() { "$BIN/nymctl" --id p --home "$H" "$1" --json; }
field() { "$PY" -c 'import json,sys; d=json.load(sys.stdin); print(d[sys.argv[1]][sys.argv[2]])' "$1" "$2"; }

start_client
for _ in $(seq 100); do
	[ "$(json_of status | field netd connected 2>/dev/null)" = True ] && break
	sleep 0.1
done
[ "$(json_of status | field netd connected)" = True ] || fail "no gateway session"
PAUSED=$(cat "$T/net/run/mix2.pid")
kill -STOP "$PAUSED"
timeout 30 "$PY" "$T/app.py" "$SOCK" 5000 send >"$T/send.out" 2>&1 || { cat "$T/send.out"; fail "send"; }
# wait until keyd built every fragment and netd sent them
for _ in $(seq 100); do
	S=$(json_of stats)
	N=$(echo "$S" | field apid unacked_fragments)
	SENT=$(echo "$S" | field netd real_packets_sent)
	[ "$N" -ge 3 ] && [ "$SENT" -ge "$N" ] && break
	sleep 0.1
done
[ "$N" -ge 3 ] || fail "expected >= 3 unacknowledged fragments, got $N"
[ "$(echo "$S" | field netd acks_received)" = 0 ] || fail "acks arrived although mix2 is stopped"
stop_client
grep -q "supervisor\]: $N fragments persisted, 0 dropped" "$T/client.log" || fail "no '$N fragments persisted' line"
[ -f "$UNSENT" ] || fail "no $UNSENT"
[ "$(stat -c %a "$UNSENT")" = 600 ] || fail "unsent file mode $(stat -c %a "$UNSENT")"
"$PY" - "$UNSENT" "$N" <<'PYEOF' || fail "unsent file format"
import hashlib, struct, sys
b, n, off, recs = open(sys.argv[1], "rb").read(), int(sys.argv[2]), 0, 0
while off < len(b):
    assert b[off:off+3] == b"NSU" and b[off+3] == 1, b[off:off+4]
    (body,) = struct.unpack(">I", b[off+4:off+8])
    end = off + 8 + body
    assert hashlib.sha256(b[off:end]).digest()[:8] == b[end:end+8], "checksum"
    (flen,) = struct.unpack(">I", b[off+8+109:off+8+113])
    assert flen == body - 113
    off, recs = end + 8, recs + 1
assert recs == n, (recs, n)
print("records", recs)
PYEOF
echo "ok SIGTERM with $N unacknowledged fragments: '$N fragments persisted, 0 dropped', $UNSENT (0600, $N valid records)"

# the stalled node goes away with what it held: only the persisted copy can deliver now. It
# comes back once the next run's app is connected (so the message cannot arrive before).
kill -KILL "$PAUSED"
kill -CONT "$PAUSED" 2>/dev/null || true
PAUSED=
for _ in $(seq 50); do kill -0 "$(cat "$T/net/run/mix2.pid")" 2>/dev/null || break; sleep 0.05; done
rm -f "$T/net/run/mix2.ready"

start_client
timeout 90 "$PY" "$T/app.py" "$SOCK" 5000 recv >"$T/recv.out" 2>&1 &
APP=$!
for _ in $(seq 100); do grep -q CONNECTED "$T/recv.out" && break; sleep 0.1; done
grep -q CONNECTED "$T/recv.out" || fail "the app could not connect"
setsid "$BIN/nym-mixnode" --config "$T/net/nodes/mix2.toml" >>"$T/net/logs/mix2.log" 2>&1 </dev/null &
echo $! >"$T/net/run/mix2.pid"
for _ in $(seq 100); do [ -f "$T/net/run/mix2.ready" ] && break; sleep 0.05; done
[ -f "$T/net/run/mix2.ready" ] || fail "mix2 did not restart"
wait "$APP" || { cat "$T/recv.out"; json_of stats; fail "the persisted message did not arrive"; }
grep -qx "RECEIVED 5000" "$T/recv.out" || fail "received something else"
grep -q "supervisor\]: $N persisted fragments resent" "$T/client.log" || fail "no resend line"
[ -f "$UNSENT" ] || fail "$UNSENT removed at the resend (it must stay until the next stop)"
for _ in $(seq 100); do
	[ "$(json_of stats | field apid unacked_fragments)" = 0 ] && break
	sleep 0.1
done
[ "$(json_of stats | field apid unacked_fragments)" = 0 ] || fail "resent fragments never acknowledged"
echo "ok next run: $N fragments resent under their ids, the 5 KB message arrived, all acknowledged, file kept meanwhile"

stop_client
grep -q "0 fragments persisted, 0 dropped" "$T/client.log" || fail "empty queue not reported"
[ -e "$UNSENT" ] && fail "$UNSENT still there after a stop with nothing unacknowledged"
echo "ok the stop with an empty queue removed the file"

# a corrupt file is set aside, never fatal
printf 'NSU\001\000\000\000\200garbage' >"$UNSENT"
start_client
for _ in $(seq 100); do grep -q "is corrupt" "$T/client.log" && break; sleep 0.1; done
grep -q "nymsuite-unsent.bin is corrupt at byte 0 (truncated record): 0 fragments resent, the file was renamed to .*nymsuite-unsent.bin.corrupt-" "$T/client.log" ||
	fail "corrupt file not reported"
[ -e "$UNSENT" ] && fail "corrupt file left in place"
ls "$D"/nymsuite-unsent.bin.corrupt-* >/dev/null || fail "corrupt file not kept aside"
json_of status >/dev/null || fail "client not serving after a corrupt file"
stop_client
echo "ok a corrupt file is renamed aside and the client runs"
"$BIN/nym-localnet" status --dir "$T/net" >/dev/null || fail "a localnet process died"
echo "PASS"
