#!/usr/bin/env bash
# nym-client's Unix-socket API on the localnet: `init` writes the [nymsuite] table, `run`
# serves the binary API on api_socket (mode 0600), each frame preceded by its u64 BE length.
# A /usr/bin/python3 app asks selfAddress, sends a message to itself and receives it; a second
# app connected at the same time receives it too; a bad length prefix closes only that
# connection (the others keep working); a path that is not a socket is refused and a stale
# socket is replaced. Exit 0 = pass.
set -euo pipefail
# shellcheck source=tests/integration/lib/localnet.bash
. "$(dirname "$0")/lib/localnet.bash"
PY=/usr/bin/python3
client_localnet_up client-unix
PORT=$(( 20000 + RANDOM % 20000 ))
H=$T/home
D=$H/.nym/clients/u/data
CONF=$H/.nym/clients/u/config/config.toml
SOCK=$D/nym-client.sock

"$BIN/nym-client" init --id u --home "$H" --nym-apis "$NYM_API" --port "$PORT" >"$T/init.out" 2>&1 ||
	{ cat "$T/init.out"; fail "init"; }
ADDR=$(sed -n 's/^Address of this client: //p' "$T/init.out")
grep -qx "api_socket = \"$SOCK\"" "$CONF" || { cat "$CONF"; fail "init did not write api_socket"; }
grep -qx "admin_socket = \"$D/nymctl.sock\"" "$CONF" || fail "init did not write admin_socket"

# a path that exists and is not a socket: refused, the file untouched
echo keep >"$SOCK"
rc=0
timeout 20 "$BIN/nym-client" run --id u --home "$H" >"$T/notsock.log" 2>&1 || rc=$?
[ "$rc" != 0 ] || fail "run accepted a regular file as its socket path"
grep -q "exists and is not a socket" "$T/notsock.log" || { cat "$T/notsock.log"; fail "no reason for the refusal"; }
[ "$(cat "$SOCK")" = keep ] || fail "the regular file was touched"
rm -f "$SOCK"
# a stale socket (nobody listening) is replaced
"$PY" -c 'import socket,sys; s=socket.socket(socket.AF_UNIX); s.bind(sys.argv[1])' "$SOCK"
[ -S "$SOCK" ] || fail "could not make a stale socket"
echo "ok init writes [nymsuite]; a non-socket path is refused"

"$BIN/nym-client" run --id u --home "$H" >"$T/client.log" 2>&1 &
CPID=$!
for _ in $(seq 100); do grep -q "unix socket API on" "$T/client.log" && break; sleep 0.1; done
grep -q "unix socket API on $SOCK" "$T/client.log" || fail "no unix socket API"
[ -S "$SOCK" ] || fail "$SOCK is not a socket"
[ "$(stat -c %a "$SOCK")" = 600 ] || fail "socket mode $(stat -c %a "$SOCK")"
[ "$(stat -c %a "$D/nymctl.sock")" = 600 ] || fail "admin socket mode"
echo "ok the stale socket was replaced; API and admin sockets are 0600"

cat >"$T/app.py" <<'PYEOF'
import socket, struct, sys, time
path, want_addr = sys.argv[1], sys.argv[2]

def conn():
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.settimeout(30)
    s.connect(path)
    return s

def send(s, frame):
    s.sendall(struct.pack(">Q", len(frame)) + frame)

def recv_exact(s, n):
    b = b""
    while len(b) < n:
        c = s.recv(n - len(b))
        if not c:
            raise EOFError("closed")
        b += c
    return b

def recv(s):
    (n,) = struct.unpack(">Q", recv_exact(s, 8))
    return recv_exact(s, n)

b58 = "123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz"
def enc58(b):
    n = int.from_bytes(b, "big"); out = ""
    while n:
        n, r = divmod(n, 58); out = b58[r] + out
    return "1" * (len(b) - len(b.lstrip(b"\0"))) + out

a, b, bad = conn(), conn(), conn()
# selfAddress
send(a, b"\x03")
r = recv(a)
assert len(r) == 97 and r[0] == 2, r
me = r[1:]
text = enc58(me[:32]) + "." + enc58(me[32:64]) + "@" + enc58(me[64:])
assert text == want_addr, (text, want_addr)
print("SELF OK", flush=True)
# a malformed request gets Nym's error and the connection stays up
send(a, b"\x09")
r = recv(a)
assert r[0] == 0 and r[1] == 3, r  # Error, UnknownRequest
print("ERROR OK", flush=True)
# a bad length prefix (over 64 MiB) closes that connection only
bad.sendall(struct.pack(">Q", (64 << 20) + 1))
bad.settimeout(10)
try:
    got = bad.recv(1)
    assert got == b"", got
except ConnectionResetError:
    pass
print("BAD CLOSED", flush=True)
# send to ourselves in two pieces of one frame; both apps receive it
msg = b"over the unix socket \x00\xff"
frame = b"\x00" + me + struct.pack(">QQ", 0, len(msg)) + msg
wire = struct.pack(">Q", len(frame)) + frame
a.sendall(wire[:50]); time.sleep(0.2); a.sendall(wire[50:])
want = b"\x01\x00" + struct.pack(">Q", len(msg)) + msg
ra, rb = recv(a), recv(b)
assert ra == want and rb == want, (ra, rb)
print("RECEIVED OK", flush=True)
# a 20 KB message (several fragments) and a second request on the same connection
big = bytes(i % 251 for i in range(20000))
send(b, b"\x00" + me + struct.pack(">QQ", 0, len(big)) + big)
send(b, b"\x03")
got = [recv(b), recv(b)]
got.sort(key=lambda x: x[0], reverse=True)
assert got[0][0] == 2 and got[1] == b"\x01\x00" + struct.pack(">Q", len(big)) + big, [g[:20] for g in got]
assert recv(a) == got[1]
print("BIG OK", flush=True)
PYEOF
timeout 60 "$PY" "$T/app.py" "$SOCK" "$ADDR" >"$T/app.out" 2>&1 || { cat "$T/app.out"; fail "app"; }
for l in "SELF OK" "ERROR OK" "BAD CLOSED" "RECEIVED OK" "BIG OK"; do
	grep -qx "$l" "$T/app.out" || { cat "$T/app.out"; fail "app: $l"; }
done
grep -q "unix api: frame length 67108865 over the 67108864-byte limit: connection closed" "$T/client.log" ||
	fail "the bad length was not logged"
echo "ok selfAddress, error answer, send to self received by both apps, 20 KB message; a bad length closes only its connection"

kill -TERM "$CPID"
rc=0
wait "$CPID" || rc=$?
CPID=
[ "$rc" = 0 ] || fail "SIGTERM: status $rc"
[ -e "$SOCK" ] && fail "the API socket was not removed at exit"
[ -e "$D/nymctl.sock" ] && fail "the admin socket was not removed at exit"
echo "ok sockets removed at exit"

# api_socket = '' disables the Unix-socket API
sed -i 's|^api_socket = .*|api_socket = ""|' "$CONF"
"$BIN/nym-client" run --id u --home "$H" >"$T/client.log" 2>&1 &
CPID=$!
for _ in $(seq 300); do grep -q "admin socket on" "$T/client.log" && break; sleep 0.1; done
grep -q "admin socket on" "$T/client.log" || fail "second run did not start"
grep -q "unix socket API" "$T/client.log" && fail "api_socket = \"\" still served the API"
[ -e "$SOCK" ] && fail "socket exists although disabled"
echo "ok api_socket = \"\" disables it"
"$BIN/nym-localnet" status --dir "$T/net" >/dev/null || fail "a localnet process died"
echo "PASS"
