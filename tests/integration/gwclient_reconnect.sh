#!/usr/bin/env bash
# common/gwclient against real processes (`nym-localnet up`), through nym-testclient's gw-*
# commands: register + self-send round trip; then the gateway is killed (SIGTERM) and
# restarted with the same config while the client keeps running: the client goes to backoff,
# messages queued during the outage are kept, it reconnects and re-authenticates with its
# stored key by itself, and every message arrives. Exit 0 = pass.
set -euo pipefail
BUILD=${BUILD:-build}
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
BIN=$ROOT/$BUILD/bin
for b in nym-localnet nym-directory nym-mixnode nym-gateway nym-testclient; do
	[ -x "$BIN/$b" ] || { echo "missing $BIN/$b (run make first)"; exit 1; }
done
T=$(mktemp -d /tmp/gwclient-reconnect.XXXXXX)
TCPID=
cleanup() {
	[ -n "$TCPID" ] && kill "$TCPID" 2>/dev/null || true
	"$BIN/nym-localnet" down --dir "$T/net" >/dev/null 2>&1 || true
	[ -n "${KEEP:-}" ] || rm -rf "$T"
}
trap cleanup EXIT
fail() { echo "FAIL: $*"; cat "$T/a.out" 2>/dev/null || true; tail -20 "$T/net/logs/gateway1.log" 2>/dev/null || true; exit 1; }
"$BIN/nym-localnet" up --dir "$T/net" >/dev/null || fail "localnet did not start"
# shellcheck disable=SC1091
. "$T/net/env"
tc() { local st=$1; shift; "$BIN/nym-testclient" --ws "$GATEWAY_WS_1" --gateway-id "$GATEWAY_ID_1" \
	--topology "$NYM_TOPOLOGY" --state "$T/$st.state" "$@"; }
wait_line() { # pattern seconds
	for _ in $(seq $(( $2 * 20 ))); do grep -q "$1" "$T/a.out" 2>/dev/null && return 0; sleep 0.05; done
	return 1
}

# One process for the whole run: register, 3 messages to itself, then (while the script
# restarts the gateway) wait for backoff, queue 5 more, wait until ready again, expect all 8.
tc a gw-start gw-send-self 3 gw-wait-sent 3 expect-msgs 3 20 gw-wait-state backoff 20 \
	gw-send-self 5 gw-status gw-wait-state ready 30 gw-wait-sent 8 30 expect-msgs 8 30 gw-stop \
	>"$T/a.out" 2>&1 &
TCPID=$!
wait_line '^GOT 3 messages' 25 || fail "round trip before the restart"
grep -q '^REGISTERED' "$T/a.out" || fail "no registration"
echo "ok registered, 3 messages round trip"

pid=$(cat "$T/net/run/gateway1.pid")
kill -TERM "$pid"
for _ in $(seq 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.05; done
kill -0 "$pid" 2>/dev/null && fail "gateway ignored SIGTERM"
rm -f "$T/net/run/gateway1.ready"
wait_line '^QUEUED 5' 10 || fail "client did not notice the outage"
sleep 1.5 # an outage over at least one failed reconnection attempt
setsid "$BIN/nym-gateway" --config "$T/net/nodes/gateway1.toml" \
	>>"$T/net/logs/gateway1.log" 2>&1 </dev/null &
echo $! >"$T/net/run/gateway1.pid"
for _ in $(seq 100); do [ -f "$T/net/run/gateway1.ready" ] && break; sleep 0.05; done
[ -f "$T/net/run/gateway1.ready" ] || fail "gateway did not restart"
echo "ok gateway killed and restarted"

wait "$TCPID" || { TCPID=; fail "client"; }
TCPID=
grep -q '^GW STATE backoff error=' "$T/a.out" || fail "no backoff state"
grep -q '^GW STATUS state=ready reconnects=[1-9]' "$T/a.out" || fail "no reconnection counted"
[ "$(grep -c '^RECEIVED nymsuite-test:' "$T/a.out")" = 8 ] || fail "messages lost"
[ "$(grep -c '^REGISTERED' "$T/a.out")" = 1 ] || fail "registered again instead of authenticating"
echo "ok reconnected and re-authenticated by itself; 8 of 8 messages arrived"
"$BIN/nym-localnet" status --dir "$T/net" >/dev/null || fail "a process died"
echo "PASS"
