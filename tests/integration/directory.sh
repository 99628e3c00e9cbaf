#!/usr/bin/env bash
# nym-directory on a free loopback port, fed by descriptors from `nym-localnet gen`: every
# nym-api endpoint the Nym b4046a89 client calls is fetched with curl and its JSON checked
# (field names and types per gateway.md 4.2 / 4.1); malformed HTTP gets 400 and the server
# keeps answering. Exit 0 = pass.
set -euo pipefail
BUILD=${BUILD:-build}
BIN=$(cd "$(dirname "$0")/../.." && pwd)/$BUILD/bin
PY=/usr/bin/python3
for b in nym-directory nym-localnet; do
	[ -x "$BIN/$b" ] || { echo "missing $BIN/$b (run make first)"; exit 1; }
done
command -v curl >/dev/null || { echo "curl missing"; exit 1; }

T=$(mktemp -d /tmp/directory-test.XXXXXX)
DPID=
cleanup() {
	[ -n "$DPID" ] && kill "$DPID" 2>/dev/null && wait "$DPID" 2>/dev/null || true
	rm -rf "$T"
}
trap cleanup EXIT
fail() { echo "FAIL: $*"; [ -f "$T/directory.log" ] && tail -5 "$T/directory.log"; exit 1; }

"$BIN/nym-localnet" gen --dir "$T/net" --mixnodes-per-layer 2 --gateways 2 >/dev/null
[ "$(stat -c %a "$T/net/keys/mix1.ed25519")" = 600 ] || fail "key file mode is not 0600"
[ "$(stat -c %a "$T/net/keys")" = 700 ] || fail "keys/ mode is not 0700"
# shellcheck disable=SC1091
. "$T/net/env"
[ -n "$NYM_API" ] && [ "$GATEWAY_COUNT" = 2 ] && [ -n "$GATEWAY_WS_2" ] || fail "env file incomplete"

# a second gen on the same dir refuses
if "$BIN/nym-localnet" gen --dir "$T/net" >/dev/null 2>&1; then fail "second gen accepted"; fi

PORT=$($PY -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
API=http://127.0.0.1:$PORT
# refuses a non-loopback address
if "$BIN/nym-directory" --listen 0.0.0.0:$PORT --nodes "$T/net/nodes" 2>/dev/null; then fail "listened on 0.0.0.0"; fi
"$BIN/nym-directory" --listen 127.0.0.1:$PORT --nodes "$T/net/nodes" --ready-file "$T/ready" \
	--stats-file "$T/stats" 2>"$T/directory.log" &
DPID=$!
for _ in $(seq 100); do [ -f "$T/ready" ] && break; sleep 0.05; done
[ -f "$T/ready" ] || fail "directory not ready"

get() { # path outfile -> fails on non-200 or wrong content type
	local code
	code=$(curl -sS -o "$T/$2" -w '%{http_code} %{content_type}' \
		-H 'Accept: application/json' -H 'Content-Type: application/json' "$API$1")
	[ "$code" = "200 application/json" ] || fail "GET $1 -> $code"
}
get '/v1/nym-nodes/rewarded-set' rewarded.json
get '/v1/epoch/key-rotation-info' keyrot.json
get '/v2/unstable/nym-nodes/skimmed/mixnodes/active?page=0' mix_active.json
get '/v2/unstable/nym-nodes/skimmed/entry-gateways?page=0' entry.json
get '/v2/unstable/nym-nodes/skimmed/entry-gateways?page=0&output=bincode' entry_bincode.json
get '/v2/unstable/nym-nodes/skimmed?page=0&output=bincode' skimmed.json
get '/v2/unstable/nym-nodes/skimmed/mixnodes/all?page=0' mix_all.json
get '/v2/unstable/nym-nodes/skimmed/exit-gateways?page=0' exit.json
get '/v2/unstable/nym-nodes/semi-skimmed?page=0' semi.json
get '/v1/unstable/nym-nodes/skimmed' v1_skimmed.json
get '/api/v1/nym-nodes/rewarded-set/' rewarded_prefixed.json
get '/topology.json' topology.json
cmp -s "$T/rewarded.json" "$T/rewarded_prefixed.json" || fail "/api prefix or trailing slash changes the answer"

$PY - "$T" <<'EOF' || fail "JSON shape check"
import json, sys, re
T = sys.argv[1]
def load(n): return json.load(open(f"{T}/{n}"))
B58 = re.compile(r"^[1-9A-HJ-NP-Za-km-z]{32,44}$")
RFC3339 = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?(Z|[+-]\d\d:\d\d)$")
def is_u(v, bits=32): return isinstance(v, int) and not isinstance(v, bool) and 0 <= v < 2**bits
def check(cond, msg):
    if not cond: sys.exit("shape: " + msg)

rs = load("rewarded.json")
check(set(rs) == {"epoch_id","entry_gateways","exit_gateways","layer1","layer2","layer3","standby"}, f"rewarded-set keys {set(rs)}")
check(is_u(rs["epoch_id"]), "epoch_id")
for k in ("entry_gateways","exit_gateways","layer1","layer2","layer3","standby"):
    check(isinstance(rs[k], list) and all(is_u(x) for x in rs[k]), k)
check(rs["layer1"] == [1,2] and rs["layer2"] == [3,4] and rs["layer3"] == [5,6], f"layers {rs}")
check(rs["entry_gateways"] == [7,8] == rs["exit_gateways"] and rs["standby"] == [], "gateways")

kr = load("keyrot.json")
check(set(kr) == {"key_rotation_state","current_absolute_epoch_id","current_epoch_start","epoch_duration","progress"}, "key-rotation keys")
st = kr["key_rotation_state"]
check(set(st) == {"validity_epochs","initial_epoch_id"} and st["validity_epochs"] > 0, "key_rotation_state")
check(RFC3339.match(kr["current_epoch_start"]) is not None, "current_epoch_start")
check(kr["epoch_duration"]["secs"] > 0 and kr["epoch_duration"]["nanos"] == 0, "epoch_duration")
pr = kr["progress"]
check(set(pr) == {"current_key_rotation_id","current_rotation_starting_epoch","current_rotation_ending_epoch"}, "progress")
epoch = kr["current_absolute_epoch_id"]
derived = (epoch - st["initial_epoch_id"]) // st["validity_epochs"]
check(derived == pr["current_key_rotation_id"] == 3, f"derived rotation {derived}")
check(pr["current_rotation_starting_epoch"] <= epoch <= pr["current_rotation_ending_epoch"], "rotation bounds")

def check_page(name, want_ids, semi=False):
    p = load(name)
    check(set(p) == {"metadata","nodes"}, f"{name} top keys")
    m = p["metadata"]
    check(set(m) == {"status","absolute_epoch_id","rotation_id","refreshed_at"}, f"{name} metadata")
    check(m["status"] is None and m["rotation_id"] == 3 and m["absolute_epoch_id"] == epoch, f"{name} metadata values")
    check(RFC3339.match(m["refreshed_at"]) is not None, f"{name} refreshed_at")
    pg = p["nodes"]["pagination"]
    data = p["nodes"]["data"]
    check(pg == {"total": len(data), "page": 0, "size": len(data)}, f"{name} pagination {pg}")
    ids = []
    for n in data:
        if semi:
            check(set(n) == {"basic","x25519_noise_versioned_key"} and n["x25519_noise_versioned_key"] is None, "semi-skimmed")
            n = n["basic"]
        check(set(n) == {"node_id","ed25519_identity_pubkey","ip_addresses","mix_port","x25519_sphinx_pubkey",
                         "role","supported_roles","entry","performance"}, f"{name} node keys {set(n)}")
        check(is_u(n["node_id"]) and is_u(n["mix_port"], 16) and n["mix_port"] > 0, "node_id/mix_port")
        check(B58.match(n["ed25519_identity_pubkey"]) and B58.match(n["x25519_sphinx_pubkey"]), "keys")
        check(n["ip_addresses"] == ["127.0.0.1"], "ip_addresses")
        check(set(n["supported_roles"]) == {"mixnode","entry","exit_nr","exit_ipr"}, "supported_roles")
        check(isinstance(n["performance"], str) and float(n["performance"]) == 1.0, "performance")
        if n["entry"] is None:
            check(n["role"] == {"Mixnode": {"layer": (n["node_id"] + 1) // 2}}, f"mix role {n['role']}")
            check(n["supported_roles"]["mixnode"] is True, "mixnode role flag")
        else:
            check(n["role"] == "EntryGateway", "gateway role")
            e = n["entry"]
            check(set(e) == {"hostname","ws_port","wss_port"} and e["hostname"] is None and e["wss_port"] is None, "entry")
            check(is_u(e["ws_port"], 16) and e["ws_port"] > 0, "ws_port")
            check(n["supported_roles"] == {"mixnode": False, "entry": True, "exit_nr": True, "exit_ipr": True}, "gw roles")
        ids.append(n["node_id"])
    check(ids == want_ids, f"{name} ids {ids} want {want_ids}")
    return p

a = check_page("mix_active.json", [1,2,3,4,5,6])
b = check_page("entry.json", [7,8])
check_page("entry_bincode.json", [7,8])
check_page("skimmed.json", list(range(1,9)))
check_page("mix_all.json", [1,2,3,4,5,6])
check_page("exit.json", [7,8])
check_page("semi.json", list(range(1,9)), semi=True)
# E2 and E3 metadata must agree or the client drops the refresh
check({k: v for k, v in a["metadata"].items() if k != "refreshed_at"} ==
      {k: v for k, v in b["metadata"].items() if k != "refreshed_at"}, "E2/E3 metadata differ")
v1 = load("v1_skimmed.json")
check(set(v1) == {"status","refreshed_at","nodes"} and len(v1["nodes"]["data"]) == 8, "v1 skimmed")

topo = load("topology.json")
check(set(topo) == {"metadata","rewardedSet","nodeDetails"}, "topology keys")
check(topo["metadata"]["key_rotation_id"] == 3 and topo["metadata"]["absolute_epoch_id"] == epoch, "topology metadata")
check(topo["rewardedSet"] == rs, "topology rewardedSet")
gw_by_id = {n["node_id"]: n for n in b["nodes"]["data"]}
for key, n in topo["nodeDetails"].items():
    check(set(n) == {"nodeId","mixHost","entry","identityKey","sphinxKey","supportedRoles"}, "topology node keys")
    check(str(n["nodeId"]) == key, "nodeId == key")
    check(re.match(r"^127\.0\.0\.1:\d+$", n["mixHost"]) is not None, "mixHost")
    if n["entry"] is not None:
        e = n["entry"]
        check(set(e) == {"ip_addresses","clients_ws_port","hostname","clients_wss_port"}, "topology entry")
        s = gw_by_id[n["nodeId"]]
        check(n["identityKey"] == s["ed25519_identity_pubkey"] and e["clients_ws_port"] == s["entry"]["ws_port"], "topology vs E3")
file_topo = json.load(open(f"{T}/net/topology.json"))
check(file_topo["nodeDetails"] == topo["nodeDetails"], "served topology differs from DIR/topology.json")
EOF

# --- error handling: 404, 405, bad query, HEAD, then malformed requests on raw sockets
code() { curl -s -o /dev/null -w '%{http_code}' "$@"; }
[ "$(code "$API/v1/nope")" = 404 ] || fail "unknown path not 404"
[ "$(code -X POST "$API/v1/nym-nodes/rewarded-set")" = 405 ] || fail "POST not 405"
[ "$(code -X DELETE "$API/topology.json")" = 405 ] || fail "DELETE not 405"
[ "$(code "$API/v2/unstable/nym-nodes/skimmed?page=x")" = 400 ] || fail "bad page not 400"
[ "$(code "$API/v2/unstable/nym-nodes/skimmed?page=4294967296")" = 400 ] || fail "page > u32 not 400"
[ "$(code -I "$API/v1/nym-nodes/rewarded-set")" = 200 ] || fail "HEAD not 200"
# a browser's CORS preflight (Nym's wasm clients GET with Content-Type: application/bincode)
pre=$(curl -s -i -X OPTIONS -H 'Origin: http://127.0.0.1:1' -H 'Access-Control-Request-Method: GET' \
	-H 'Access-Control-Request-Headers: content-type' "$API/v2/unstable/nym-nodes/skimmed/entry-gateways?page=0")
grep -q '^HTTP/1.1 204' <<<"$pre" || fail "preflight not 204"
grep -qi '^Access-Control-Allow-Origin: \*' <<<"$pre" || fail "preflight without Allow-Origin"
grep -qi '^Access-Control-Allow-Headers:.*Content-Type' <<<"$pre" || fail "preflight does not allow Content-Type"

$PY - "$PORT" <<'EOF' || fail "raw socket checks"
import socket, sys, time
port = int(sys.argv[1])
def talk(data, shut=True):
    s = socket.create_connection(("127.0.0.1", port), timeout=5)
    s.sendall(data)
    if shut: s.shutdown(socket.SHUT_WR)
    out = b""
    while True:
        try: chunk = s.recv(65536)
        except socket.timeout: break
        if not chunk: break
        out += chunk
    s.close()
    return out
def status(resp): return resp.split(b"\r\n", 1)[0]
cases = [
    (b"GARBAGE\r\n\r\n", b"HTTP/1.1 400 Bad Request"),
    (b"\x16\x03\x01\x00\xa5\x01\x00\x00\xa1\x03\x03", b"HTTP/1.1 400 Bad Request"),
    (b"GET / HTTP/1.1\r\n\r\n", b"HTTP/1.1 400 Bad Request"),                       # no Host
    (b"GET /v1/nym-nodes/rewarded-set HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n", b"HTTP/1.1 400 Bad Request"),
    (b"GET /v1/nym-nodes/rewarded-set HTTP/1.1\r\nHost: x\r\n folded\r\n\r\n", b"HTTP/1.1 400 Bad Request"),
    (b"GET /v1/nym-nodes/rewarded-set HTTP/2.0\r\nHost: x\r\n\r\n", b"HTTP/1.1 505 HTTP Version Not Supported"),
    (b"GET /" + b"a" * 9000 + b" HTTP/1.1\r\n", b"HTTP/1.1 431 Request Header Fields Too Large"),
    (b"GET / HTTP/1.1\r\nHost: x\r\nContent-Length: 999999\r\n\r\n", b"HTTP/1.1 413 Content Too Large"),
    (bytes(range(256)) * 4, b"HTTP/1.1 400 Bad Request"),
]
for req, want in cases:
    got = talk(req)
    if status(got) != want:
        sys.exit(f"{req[:40]!r}: got {status(got)!r}, want {want!r}")
    if b"Connection: close" not in got:
        sys.exit(f"{req[:40]!r}: error reply does not close the connection")
# keep-alive: two pipelined requests on one connection, then a bad one closes it
two = (b"GET /v1/nym-nodes/rewarded-set HTTP/1.1\r\nHost: x\r\n\r\n"
       b"GET /v1/epoch/key-rotation-info HTTP/1.1\r\nHost: x\r\n\r\n"
       b"BROKEN\r\n\r\n"
       b"GET /v1/nym-nodes/rewarded-set HTTP/1.1\r\nHost: x\r\n\r\n")
got = talk(two)
if got.count(b"HTTP/1.1 200 OK") != 2 or got.count(b"HTTP/1.1 400") != 1:
    sys.exit(f"pipelining: {got[:300]!r}")
# a request split into tiny pieces still works
s = socket.create_connection(("127.0.0.1", port), timeout=5)
for b in b"GET /topology.json HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n":
    s.sendall(bytes([b]))
out = b""
while True:
    c = s.recv(65536)
    if not c: break
    out += c
if not out.startswith(b"HTTP/1.1 200 OK"):
    sys.exit("byte-by-byte request failed")
# many idle connections do not block others
idle = [socket.create_connection(("127.0.0.1", port)) for _ in range(50)]
if status(talk(b"GET /topology.json HTTP/1.0\r\n\r\n")) != b"HTTP/1.1 200 OK":
    sys.exit("server stuck with idle connections")
for s in idle: s.close()
EOF

# still alive and answering after all of that
kill -0 "$DPID" || fail "directory died"
get '/v1/nym-nodes/rewarded-set' after.json
cmp -s "$T/after.json" "$T/rewarded.json" || fail "answer changed after bad requests"
sleep 1.2
$PY -c 'import json,sys; s=json.load(open(sys.argv[1])); assert s["bad_requests"] >= 10 and s["ok"] >= 14, s' "$T/stats" \
	|| fail "stats file"

# SIGHUP reloads; SIGTERM stops cleanly
kill -HUP "$DPID"; sleep 0.2
get '/v1/nym-nodes/rewarded-set' reloaded.json
kill -TERM "$DPID"; wait "$DPID" || fail "directory exit status on SIGTERM"
DPID=

# the launcher names the missing node binary (until nym-mixnode / nym-gateway exist)
if [ ! -x "$BIN/nym-mixnode" ] || [ ! -x "$BIN/nym-gateway" ]; then
	if "$BIN/nym-localnet" up --dir "$T/net" --timeout 5 >"$T/up.out" 2>"$T/up.err"; then fail "up succeeded without node binaries"; fi
	grep -q 'missing binary .*nym-\(mixnode\|gateway\)' "$T/up.err" || fail "up error does not name the binary: $(cat "$T/up.err")"
	"$BIN/nym-localnet" status --dir "$T/net" >"$T/status.out" && fail "status says up with nothing running"
	grep -q '^directory directory down' "$T/status.out" || fail "status output: $(cat "$T/status.out")"
fi
# --- the launcher contract (localnet/README.md) with stand-in node programs: copies of the
# launcher and directory next to two small python nodes that honour --config, listen on
# their ports, write run/NAME.ready and rewrite run/NAME.stats every second.
L=$T/bin
mkdir -p "$L"
cp "$BIN/nym-localnet" "$BIN/nym-directory" "$L/"
cat >"$L/nym-mixnode" <<'PYEOF'
#!/usr/bin/python3
import sys, socket, tomllib, time, json, signal, os
cfg = tomllib.load(open(sys.argv[sys.argv.index("--config") + 1], "rb"))
name = cfg["node"]["name"]
if os.environ.get("FAKE_NODE_FAIL") == name:
    print("fake failure requested", file=sys.stderr); sys.exit(3)
signal.signal(signal.SIGTERM, lambda *a: sys.exit(0))
if os.environ.get("FAKE_NODE_HANG") == name:
    print("hanging before ready", flush=True); time.sleep(3600)
socks = []
for key in ("mix_port", "clients_ws_port"):
    port = cfg["listen"].get(key, 0)
    if port:
        s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        s.bind((cfg["listen"]["host"], port)); s.listen(16); socks.append(s)
open(cfg["run"]["ready_file"], "w").write("ready\n")
n = 0
while True:
    tmp = cfg["run"]["stats_file"] + ".tmp"
    json.dump({"node": name, "uptime_s": n, "packets_in": 0, "packets_out": 0}, open(tmp, "w"))
    os.replace(tmp, cfg["run"]["stats_file"]); n += 1; time.sleep(1)
PYEOF
chmod +x "$L/nym-mixnode"; cp "$L/nym-mixnode" "$L/nym-gateway"
N=$T/launch
[ "$("$L/nym-localnet" up --dir "$N" --gateways 2 --no-network-requester --timeout 20)" = ready ] || fail "up did not print ready"
. "$N/env"
[ "$GATEWAY_COUNT" = 2 ] && [ -f "$N/topology.json" ] || fail "up: env/topology"
[ "$(curl -s -o /dev/null -w '%{http_code}' "$NYM_API/v1/epoch/key-rotation-info")" = 200 ] || fail "up: directory"
[ "$("$L/nym-localnet" up --dir "$N")" = "already running" ] || fail "second up"
sleep 1.2
"$L/nym-localnet" status --dir "$N" >"$T/st" || fail "status after up: $(cat "$T/st")"
[ "$(grep -c ' up pid=[1-9]' "$T/st")" = 6 ] || fail "status lines: $(cat "$T/st")"
grep -q '^gateway2 gateway up pid=[0-9]* stats={"node": "gateway2"' "$T/st" || fail "status stats: $(cat "$T/st")"
[ "$("$L/nym-localnet" down --dir "$N")" = down ] || fail "down"
if "$L/nym-localnet" status --dir "$N" >"$T/st"; then fail "status after down"; fi
[ "$(grep -c ' down pid=0' "$T/st")" = 6 ] || fail "status after down: $(cat "$T/st")"
# a node that exits, and one that never gets ready: non-zero exit, its log tail, nothing left
rm -rf "$N"
if FAKE_NODE_FAIL=mix2 "$L/nym-localnet" up --dir "$N" --no-network-requester 2>"$T/err"; then fail "up with a dying node"; fi
grep -q 'fake failure requested' "$T/err" && grep -q 'mix2 exited' "$T/err" || fail "dying node: $(cat "$T/err")"
if FAKE_NODE_HANG=gateway1 "$L/nym-localnet" up --dir "$N" --no-network-requester --timeout 6 2>"$T/err"; then fail "up with a hung node"; fi
grep -q 'gateway1 not healthy' "$T/err" && grep -q 'hanging before ready' "$T/err" || fail "hung node: $(cat "$T/err")"
if "$L/nym-localnet" status --dir "$N" >"$T/st"; then fail "processes left after failed up"; fi
[ "$(grep -c ' down pid=0' "$T/st")" = 5 ] || fail "left running: $(cat "$T/st")"
echo "directory: all checks passed"
