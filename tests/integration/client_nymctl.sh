#!/usr/bin/env bash
# shellcheck disable=SC2015 # (A && B || fail: fails when either check fails, as meant)
# nymctl against a running nym-client on the localnet: every command (status, address, gateway,
# topology, stats) in human form (aligned "key: value" lines) and --json, each value checked
# against what happened: the address init printed, the localnet's gateway and node count, and
# after 3 messages to itself (1 + 7 + 1 fragments) real packets sent and acks >= 9, 3 sent,
# 3 delivered, nothing left unacknowledged; a gateway restart shows as a reconnect. A stopped
# netd is named in "missing" (the answer still comes, after the 2 s wait). The admin socket
# answers a malformed line with an error and stays usable. Clear errors: unknown id, client
# not running, nothing listening on the socket. Exit 0 = pass.
set -euo pipefail
# shellcheck source=tests/integration/lib/localnet.bash
. "$(dirname "$0")/lib/localnet.bash"
PY=/usr/bin/python3
client_localnet_up client-nymctl nymctl
H=$T/home
D=$H/.nym/clients/c/data
SOCK=$D/nym-client.sock
ctl() { "$BIN/nymctl" --id c --home "$H" "$@"; }
# value of a dotted path in a JSON answer on stdin
jget() { "$PY" -c 'import json,sys
v = json.load(sys.stdin)
for k in sys.argv[1].split("."): v = v[k]
print(json.dumps(v) if isinstance(v, (bool, list, dict)) else v)' "$1"; }
# value of a key in the human form on stdin
hget() { sed -n "s/^$1: *//p"; }
aligned() { # every line "key:<spaces> value", all values in one column
	awk '!/^[a-z0-9_.]+: +[^ ]/ { bad = 1 }
	     { c = index($0, ": "); while (substr($0, c + 2, 1) == " ") c++; col[c] = 1 }
	     END { n = 0; for (k in col) n++; exit bad || n != 1 }'
}

"$BIN/nym-client" init --id c --home "$H" --nym-apis "$NYM_API" --port $(( 20000 + RANDOM % 20000 )) \
	>"$T/init.out" 2>&1 || { cat "$T/init.out"; fail "init"; }
ADDR=$(sed -n 's/^Address of this client: //p' "$T/init.out")

# errors before the client runs
rc=0; ctl status >"$T/e1" 2>&1 || rc=$?
[ "$rc" = 1 ] && grep -q "client \"c\" is not running (nothing listens on $D/nymctl.sock)" "$T/e1" ||
	{ cat "$T/e1"; fail "not running: status $rc"; }
rc=0; "$BIN/nymctl" --id nobody --home "$H" status >"$T/e2" 2>&1 || rc=$?
[ "$rc" = 1 ] && grep -q "no client \"nobody\"" "$T/e2" || { cat "$T/e2"; fail "unknown id: status $rc"; }
"$PY" -c 'import socket,sys; s=socket.socket(socket.AF_UNIX); s.bind(sys.argv[1])' "$D/nymctl.sock"
rc=0; ctl stats >"$T/e3" 2>&1 || rc=$?
[ "$rc" = 1 ] && grep -q "is not running (nothing listens on" "$T/e3" || { cat "$T/e3"; fail "refused: status $rc"; }
rc=0; ctl frobnicate >"$T/e4" 2>&1 || rc=$?
[ "$rc" = 2 ] && grep -q "^usage: nymctl" "$T/e4" || { cat "$T/e4"; fail "bad command: status $rc"; }
echo "ok errors: client not running, unknown id, nothing listening (stale socket), bad command"

"$BIN/nym-client" run --id c --home "$H" >"$T/client.log" 2>&1 &
CPID=$!
for _ in $(seq 100); do
	[ "$(ctl status --json 2>/dev/null | jget netd.connected 2>/dev/null)" = true ] &&
		[ "$(ctl status --json | jget keyd.topology_nodes)" -gt 0 ] && break
	sleep 0.1
done
[ "$(ctl status --json | jget netd.connected)" = true ] || fail "no gateway session"

# status
ctl status >"$T/status.txt" || fail "status"
aligned <"$T/status.txt" || { cat "$T/status.txt"; fail "status not aligned"; }
[ "$(hget apid.address <"$T/status.txt")" = "$ADDR" ] || fail "status address"
[ "$(hget netd.connected <"$T/status.txt")" = yes ] || fail "status connected"
ctl status --json >"$T/status.json"
[ "$(jget apid.address <"$T/status.json")" = "$ADDR" ] || fail "status --json address"
[ "$(jget keyd.session <"$T/status.json")" = true ] || fail "keyd session"
grep -q '"missing"' "$T/status.json" && fail "a part is missing from status"
echo "ok status (human aligned, --json): address, session, gateway connection"
# address
[ "$(ctl address)" = "address: $ADDR" ] || { ctl address; fail "address"; }
[ "$(ctl address --json)" = "{\"cmd\":\"address\",\"address\":\"$ADDR\"}" ] || { ctl address --json; fail "address --json"; }
echo "ok address"
# gateway
ctl gateway >"$T/gw.txt"
aligned <"$T/gw.txt" || { cat "$T/gw.txt"; fail "gateway not aligned"; }
[ "$(hget netd.gateway_id <"$T/gw.txt")" = "$GATEWAY_ID_1" ] || { cat "$T/gw.txt"; fail "gateway id"; }
ctl gateway --json >"$T/gw.json"
[ "$(jget netd.gateway_id <"$T/gw.json")" = "$GATEWAY_ID_1" ] || fail "gateway --json id"
[ "$(jget netd.gateway_url <"$T/gw.json")" = "$GATEWAY_WS_1" ] || fail "gateway url"
[ "$(jget netd.reconnects <"$T/gw.json")" = 0 ] || fail "reconnects before any outage"
grep -q '"apid"' "$T/gw.json" && fail "gateway shows apid counters"
echo "ok gateway: $GATEWAY_ID_1 at $GATEWAY_WS_1"
# topology
ctl topology >"$T/topo.txt"
aligned <"$T/topo.txt" || { cat "$T/topo.txt"; fail "topology not aligned"; }
ctl topology --json >"$T/topo.json"
TN=$(jget netd.topology_nodes <"$T/topo.json")
[ "$TN" = "$(jget keyd.topology_nodes <"$T/topo.json")" ] || fail "keyd and netd disagree on the topology"
[ "$TN" = 4 ] || fail "topology nodes $TN (the localnet has 3 mix nodes and 1 gateway)"
[ "$(hget netd.topology_nodes <"$T/topo.txt")" = 4 ] || fail "topology human"
[ "$(jget netd.nym_api <"$T/topo.json")" = "$NYM_API/" ] || fail "nym_api $(jget netd.nym_api <"$T/topo.json")"
echo "ok topology: $TN nodes from $NYM_API"

# 3 messages to ourselves over the Unix-socket API: 1 + 7 + 1 fragments
cat >"$T/app.py" <<'PYEOF'
import socket, struct, sys
s = socket.socket(socket.AF_UNIX); s.settimeout(60); s.connect(sys.argv[1])
def send(f): s.sendall(struct.pack(">Q", len(f)) + f)
def exact(n):
    b = b""
    while len(b) < n:
        c = s.recv(n - len(b))
        if not c: raise EOFError
        b += c
    return b
def recv():
    (n,) = struct.unpack(">Q", exact(8)); return exact(n)
send(b"\x03"); me = recv()[1:]
msgs = [b"one", bytes(65 + i % 26 for i in range(10000)), b"three"]
for m in msgs:
    send(b"\x00" + me + struct.pack(">QQ", 0, len(m)) + m)
got = [recv() for _ in msgs]
want = [b"\x01\x00" + struct.pack(">Q", len(m)) + m for m in msgs]
assert sorted(got) == sorted(want), [g[:16] for g in got]
print("THREE RECEIVED", flush=True)
PYEOF
timeout 60 "$PY" "$T/app.py" "$SOCK" >"$T/app.out" 2>&1 || { cat "$T/app.out"; fail "app"; }
for _ in $(seq 100); do [ "$(ctl stats --json | jget apid.unacked_fragments)" = 0 ] && break; sleep 0.1; done
ctl stats --json >"$T/stats.json"
ctl stats >"$T/stats.txt"
aligned <"$T/stats.txt" || { cat "$T/stats.txt"; fail "stats not aligned"; }
S() { jget "$1" <"$T/stats.json"; }
[ "$(S apid.messages_sent)" = 3 ] || fail "messages_sent $(S apid.messages_sent)"
[ "$(S apid.messages_delivered)" = 3 ] || fail "messages_delivered $(S apid.messages_delivered)"
[ "$(S apid.unacked_fragments)" = 0 ] || fail "unacked $(S apid.unacked_fragments)"
[ "$(S netd.real_packets_sent)" -ge 9 ] || fail "real packets sent $(S netd.real_packets_sent) < 9"
[ "$(S netd.acks_received)" -ge 9 ] || fail "acks $(S netd.acks_received) < 9"
[ "$(S keyd.packets_built)" -ge 9 ] || fail "packets built $(S keyd.packets_built) < 9"
[ "$(S keyd.fragments)" -ge 9 ] || fail "fragments received $(S keyd.fragments) < 9"
[ "$(S netd.cover_packets_sent)" -gt 0 ] || fail "no cover packets"
for k in netd.retransmissions netd.queued_real netd.reconnects; do S "$k" >/dev/null || fail "stats lacks $k"; done
[ "$(hget netd.real_packets_sent <"$T/stats.txt")" -ge 9 ] || fail "stats human real packets"
[ "$(hget apid.messages_delivered <"$T/stats.txt")" = 3 ] || fail "stats human delivered"
grep -q "address" "$T/stats.json" && fail "stats shows non-counters"
echo "ok stats after 3 messages: $(S netd.real_packets_sent) real packets sent, $(S netd.acks_received) acks, $(S netd.retransmissions) retransmissions, 3 delivered, 0 unacknowledged"

# a gateway restart shows as a reconnect
pid=$(cat "$T/net/run/gateway1.pid")
kill -TERM "$pid"
for _ in $(seq 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.05; done
rm -f "$T/net/run/gateway1.ready"
setsid "$BIN/nym-gateway" --config "$T/net/nodes/gateway1.toml" >>"$T/net/logs/gateway1.log" 2>&1 </dev/null &
echo $! >"$T/net/run/gateway1.pid"
for _ in $(seq 300); do
	[ "$(ctl gateway --json | jget netd.reconnects)" -ge 1 ] && [ "$(ctl gateway --json | jget netd.connected)" = true ] && break
	sleep 0.1
done
[ "$(ctl gateway --json | jget netd.reconnects)" -ge 1 ] || fail "reconnect not counted"
[ "$(ctl stats --json | jget netd.reconnects)" -ge 1 ] || fail "stats: reconnect not counted"
echo "ok a gateway restart: reconnects $(ctl gateway --json | jget netd.reconnects), connected again"

# the admin protocol itself: a malformed line gets an error, the connection stays usable
"$PY" - "$D/nymctl.sock" <<'PYEOF' || fail "admin protocol"
import json, socket, sys
s = socket.socket(socket.AF_UNIX); s.settimeout(10); s.connect(sys.argv[1])
f = s.makefile("rwb")
def ask(line):
    f.write(line + b"\n"); f.flush()
    return json.loads(f.readline())
assert "error" in ask(b"not json"), "garbage"
assert "error" in ask(b'{"cmd":"reboot"}'), "unknown cmd"
assert "error" in ask(b'{"cmd":"status","x":1}'), "extra field"
assert ask(b'  {"cmd" : "address"}  ')["address"], "valid after errors"
s2 = socket.socket(socket.AF_UNIX); s2.settimeout(10); s2.connect(sys.argv[1])
s2.sendall(b"x" * 5000)
r = s2.makefile("rb").readline()
assert b"too long" in r, r
print("admin protocol ok")
PYEOF
echo "ok admin socket: errors for garbage, unknown cmd, extra field; usable afterwards; over-long line refused"

# a part that does not answer is named, the rest still comes
PAUSED=$(sed -n 's/.*started keyd [0-9]*, netd \([0-9]*\),.*/\1/p' "$T/client.log")
[ -n "$PAUSED" ] || fail "no netd pid in the log"
kill -STOP "$PAUSED"
start=$(date +%s%N)
ctl stats --json >"$T/missing.json" || fail "stats while netd is stopped"
ms=$(( ($(date +%s%N) - start) / 1000000 ))
kill -CONT "$PAUSED"
PAUSED=
[ "$(jget missing <"$T/missing.json")" = '["netd"]' ] || { cat "$T/missing.json"; fail "netd not named missing"; }
[ "$(jget apid.messages_sent <"$T/missing.json")" = 3 ] || fail "apid part missing"
jget keyd.packets_built <"$T/missing.json" >/dev/null || fail "keyd part missing"
[ "$ms" -ge 1500 ] && [ "$ms" -lt 8000 ] || fail "answer after $ms ms (wait is 2 s)"
ctl stats | grep -q "^missing: *netd$" && fail "netd still missing after SIGCONT"
ctl status >/dev/null || fail "status after SIGCONT"
grep -q "netd did not answer STATUS_REQUEST within 2 s" "$T/client.log" || fail "timeout not logged"
echo "ok a stopped netd is reported missing after $ms ms, keyd and apid parts present"

kill -TERM "$CPID"
rc=0
wait "$CPID" || rc=$?
CPID=
[ "$rc" = 0 ] || fail "SIGTERM: status $rc"
[ -e "$D/nymctl.sock" ] && fail "admin socket left behind"
rc=0; ctl status >/dev/null 2>&1 || rc=$?
[ "$rc" = 1 ] || fail "status of a stopped client: $rc"
echo "PASS"
