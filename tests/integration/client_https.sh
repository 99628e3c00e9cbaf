#!/usr/bin/env bash
# nym-client against a nym-api served over HTTPS with a throwaway CA (openssl CLI): a small
# /usr/bin/python3 TLS reverse proxy in front of the localnet directory.
#  - init with --nym-apis https://127.0.0.1:PORT/ and NYMSUITE_CA_FILE picks a gateway of the
#    localnet from the entry-gateways endpoint; --gateway ID picks that one;
#  - a wrong CA, the system CA bundle, a missing CA file, an unreachable API, an HTTP error,
#    an unknown --gateway and a non-HTTP URL all fail with a clear error and leave no client
#    behind;
#  - run (seccomp-sandboxed netd) with two URLs, the first dead, over a host name (DNS inside
#    the sandbox): the topology comes from the live one, refreshes every second, a websocket
#    self-send works; netd's STATUS_REPLY (admin socket) shows it; with the API gone the old
#    topology is kept and messages still flow;
#  - keyd's GW_HANDSHAKE_FAILED makes netd drop the gateway connection and back off.
# Exit 0 = pass.
set -euo pipefail
# shellcheck source=tests/integration/lib/localnet.bash
. "$(dirname "$0")/lib/localnet.bash"
# shellcheck source=tests/integration/lib/pki.bash
. "$(dirname "$0")/lib/pki.bash"
PY=/usr/bin/python3
[ -x "$BIN/nym-client" ] || { echo "missing $BIN/nym-client (run make first)"; exit 1; }
command -v openssl >/dev/null || { echo "missing openssl"; exit 1; }
"$PY" -c 'import websockets' 2>/dev/null || { echo "missing python3-websockets"; exit 1; }

CPID= PROXY=
cleanup() {
	[ -n "$CPID" ] && kill "$CPID" 2>/dev/null && wait "$CPID" 2>/dev/null || true
	[ -n "$PROXY" ] && kill "$PROXY" 2>/dev/null && wait "$PROXY" 2>/dev/null || true
	localnet_cleanup
}
fail() {
	echo "FAIL: $*"
	tail -25 "$T/client.log" 2>/dev/null || true
	exit 1
}
localnet_up client-https
trap cleanup EXIT
H=$T/home

# ---- throwaway PKI: a CA, a server certificate for 127.0.0.1 and localhost, another CA
P=$T/pki
pki_make "$P" || fail "cannot make the test certificates"

# ---- the HTTPS nym-api: every request path is logged, the body comes from the directory
"$PY" "$(dirname "$0")/lib/https_front.py" "$NYM_API" "$P/srv.pem" "$P/srv.key" "$T/proxy.port" "$T/proxy.log" 2>"$T/proxy.err" &
PROXY=$!
for _ in $(seq 100); do [ -f "$T/proxy.port" ] && break; sleep 0.05; done
[ -f "$T/proxy.port" ] || { cat "$T/proxy.err"; fail "the HTTPS proxy did not start"; }
HP=$(cat "$T/proxy.port")
API=https://127.0.0.1:$HP/
free_port() { "$PY" -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }

# ---- init over HTTPS
PORT=$(free_port)
NYMSUITE_CA_FILE=$P/ca.pem "$BIN/nym-client" init --id t --home "$H" --nym-apis "$API" --port "$PORT" \
	>"$T/init.out" 2>&1 || { cat "$T/init.out"; fail "init over https"; }
ADDR=$(sed -n 's/^Address of this client: //p' "$T/init.out")
[ -n "$ADDR" ] || { cat "$T/init.out"; fail "init printed no address"; }
grep -qx '/v2/unstable/nym-nodes/skimmed/entry-gateways?page=0' "$T/proxy.log" ||
	{ cat "$T/proxy.log"; fail "init did not ask the entry-gateways endpoint"; }
GW=$(head -1 "$H/.nym/clients/t/data/nymsuite-gateway.txt")
case " $GATEWAY_IDS " in *" $GW "*) ;; *) fail "init chose $GW, not a localnet gateway ($GATEWAY_IDS)" ;; esac
grep -q "^nym_api_urls = \[" "$H/.nym/clients/t/config/config.toml" &&
	grep -q "https://127.0.0.1:$HP/" "$H/.nym/clients/t/config/config.toml" || fail "config lacks the https URL"
LAST=$(echo "$GATEWAY_IDS" | awk '{print $NF}')
NYMSUITE_CA_FILE=$P/ca.pem "$BIN/nym-client" init --id g --home "$H" --nym-apis "$API" --gateway "$LAST" \
	>"$T/g.out" 2>&1 || { cat "$T/g.out"; fail "init --gateway"; }
[ "$(head -1 "$H/.nym/clients/g/data/nymsuite-gateway.txt")" = "$LAST" ] || fail "--gateway not honoured"
echo "ok init over https: gateway $GW from the entry-gateways endpoint; --gateway honoured"

# ---- every failure is clear and leaves nothing behind
refused() { # ID EXPECTED-TEXT ENV... -- ARGS...
	local id=$1 want=$2 rc=0
	shift 2
	env "$@" >"$T/$id.out" 2>&1 || rc=$?
	[ "$rc" != 0 ] || { cat "$T/$id.out"; fail "$id: accepted"; }
	grep -q -- "$want" "$T/$id.out" || { cat "$T/$id.out"; fail "$id: no '$want' in the error"; }
	[ ! -e "$H/.nym/clients/$id/config/config.toml" ] || fail "$id: a config was written"
	echo "   $id: $(grep -v -m1 '^Initialising client...$' "$T/$id.out")"
}
refused wrongca "SSL certificate problem" NYMSUITE_CA_FILE="$P/other.pem" \
	"$BIN/nym-client" init --id wrongca --home "$H" --nym-apis "$API"
refused sysca "SSL certificate problem" -u NYMSUITE_CA_FILE \
	"$BIN/nym-client" init --id sysca --home "$H" --nym-apis "$API"
refused noca "cannot read the CA file" NYMSUITE_CA_FILE="$P/missing.pem" \
	"$BIN/nym-client" init --id noca --home "$H" --nym-apis "$API"
refused down "cannot get the gateways from the nym-api" NYMSUITE_CA_FILE="$P/ca.pem" \
	"$BIN/nym-client" init --id down --home "$H" --nym-apis "https://127.0.0.1:$(free_port)/"
refused nogw "no gateway with id: 11111111111111111111111111111111" NYMSUITE_CA_FILE="$P/ca.pem" \
	"$BIN/nym-client" init --id nogw --home "$H" --nym-apis "$API" --gateway 11111111111111111111111111111111
refused notfound "HTTP status 404" NYMSUITE_CA_FILE="$P/ca.pem" \
	"$BIN/nym-client" init --id notfound --home "$H" --nym-apis "${API}no/such/prefix/"
refused ftp "not an http:// or https:// URL" \
	"$BIN/nym-client" init --id ftp --home "$H" --nym-apis "ftp://127.0.0.1/"
echo "ok wrong CA, system CA bundle, missing CA file, API down, HTTP 404, unknown gateway, ftp URL: refused"

# ---- run: a dead URL and the live one by host name; refresh every second
C=$H/.nym/clients/t/config/config.toml
printf "\n[debug.topology]\ntopology_refresh_rate = '1s'\n" >>"$C"
DEAD=https://127.0.0.1:$(free_port)/
LIVE=https://localhost:$HP/
: >"$T/proxy.log"
NYMSUITE_CA_FILE=$P/ca.pem "$BIN/nym-client" run --id t --home "$H" --nym-apis "$DEAD,$LIVE" \
	>"$T/client.log" 2>&1 &
CPID=$!

selfsend() {
	timeout 45 "$PY" "$(dirname "$0")/lib/selfsend.py" "ws://127.0.0.1:$PORT" "$1" >"$T/app.out" 2>&1 || { cat "$T/app.out"; fail "app ($1)"; }
	grep -qx "RECEIVED received $1" "$T/app.out" || { cat "$T/app.out"; fail "no received frame ($1)"; }
}
netd_status() { PYTHONPATH="$(dirname "$0")/lib" "$PY" "$(dirname "$0")/lib/netd_status.py" "$H/.nym/clients/t/data/nymctl.sock"; }
selfsend "hello over https"
grep -q "topology generation 1 from $LIVE" "$T/client.log" || fail "topology not from $LIVE"
for _ in $(seq 100); do [ "$(grep -c '^/v1/nym-nodes/rewarded-set$' "$T/proxy.log")" -ge 3 ] && break; sleep 0.1; done
[ "$(grep -c '^/v1/nym-nodes/rewarded-set$' "$T/proxy.log")" -ge 3 ] || fail "no periodic refresh"
for p in /v1/epoch/key-rotation-info '/v2/unstable/nym-nodes/skimmed/mixnodes/active?page=0' \
	'/v2/unstable/nym-nodes/skimmed/entry-gateways?page=0'; do
	grep -qxF "$p" "$T/proxy.log" || fail "netd never asked $p"
done
grep -q "/topology.json" "$T/proxy.log" && fail "netd still reads /topology.json"
ST=$(netd_status) || fail "no status from the admin socket"
echo "   netd status: $ST"
jq -e --arg api "$LIVE" --arg gw "$GW" '.nym_api == $api and .gateway_id == $gw and .connected == true
	and .topology_generation >= 2 and .topology_nodes >= 4 and .protocol >= 1 and .real_packets_sent >= 1
	and .acks_received >= 1 and (.gateway_url | startswith("ws://"))' <<<"$ST" >/dev/null ||
	fail "netd status: $ST"
echo "ok run over https (sandboxed netd, DNS of localhost, failover from a dead URL): self-send, refreshed topology, status"

# ---- keyd reports a failed handshake step (no key for a client that looks registered):
# netd drops the connection at once and backs off, again and again, and the suite stays up
HPORT=$(free_port)
NYMSUITE_CA_FILE=$P/ca.pem "$BIN/nym-client" init --id hf --home "$H" --nym-apis "$API" --port "$HPORT" \
	>/dev/null 2>&1 || fail "init hf"
K=$H/.nym/clients/hf/data/nymsuite-gateway-key.bin
head -c 48 /dev/zero >"$K"
chmod 600 "$K"
NYMSUITE_CA_FILE=$P/ca.pem "$BIN/nym-client" run --id hf --home "$H" >"$T/hf.log" 2>&1 &
HPID=$!
for _ in $(seq 150); do [ "$(grep -c 'gateway handshake failed (keyd: ' "$T/hf.log")" -ge 3 ] && break; sleep 0.1; done
kill -0 "$HPID" 2>/dev/null || { tail "$T/hf.log"; fail "hf: the suite stopped"; }
kill -TERM "$HPID"
rc=0
wait "$HPID" || rc=$?
[ "$(grep -c 'gateway handshake failed (keyd: ' "$T/hf.log")" -ge 3 ] || { tail "$T/hf.log"; fail "hf: no repeated GW_HANDSHAKE_FAILED"; }
grep -q 'gateway backoff: .*keyd: ' "$T/hf.log" || { tail "$T/hf.log"; fail "hf: no backoff after the failure"; }
[ "$rc" = 0 ] || { tail "$T/hf.log"; fail "hf: exit status $rc"; }
echo "ok GW_HANDSHAKE_FAILED: netd drops the connection and backs off ($(grep -c 'gateway backoff' "$T/hf.log") times), the suite stays up"

# ---- the API goes away: the old topology stays, messages still flow
kill "$PROXY"
wait "$PROXY" 2>/dev/null || true
PROXY=
for _ in $(seq 100); do grep -q "topology refresh failed: kept generation" "$T/client.log" && break; sleep 0.1; done
grep -q "topology refresh failed: kept generation" "$T/client.log" || fail "no failed refresh logged"
selfsend "still here without the api"
ST=$(netd_status) || fail "no status from the admin socket"
jq -e '.topology_refresh_failures >= 1 and .connected == true' <<<"$ST" >/dev/null || fail "status after the outage: $ST"
echo "ok nym-api gone: old topology kept ($(jq .topology_refresh_failures <<<"$ST") failed refreshes), self-send still works"

kill -TERM "$CPID"
rc=0
wait "$CPID" || rc=$?
CPID=
[ "$rc" = 0 ] || fail "SIGTERM: exit status $rc"
grep -q "killed by signal" "$T/client.log" && fail "a child was killed (sandbox?)"
echo "PASS"
