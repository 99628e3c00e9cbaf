#!/usr/bin/env bash
# THE REAL CLIENT through our gateway: the real Nym wasm client (npm
# @nymproject/nym-client-wasm-node@1.4.1, driven by tests/interop/nym-client.mjs) against
# `nym-localnet up` (our directory, 3 mix nodes, nym-gateway). It registers, authenticates,
# claims free bandwidth, sends a 1-fragment and a 4-fragment message to itself and
# receives both (acks return: no retransmission), receives 2 messages from our C client
# and sends one to it; then a second real client with cover traffic sends itself an
# anonymous message with reply SURBs and replies through them. Exit 0 = pass; a missing node or npm
# package (tests/interop/setup installs it) is a failure, never a skip.
set -euo pipefail
BUILD=${BUILD:-build}
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
BIN=$ROOT/$BUILD/bin
for b in nym-localnet nym-directory nym-mixnode nym-gateway nym-testclient; do
	[ -x "$BIN/$b" ] || { echo "missing $BIN/$b (run make first)"; exit 1; }
done
if ! command -v node >/dev/null || ! CACHE=$("$ROOT/tests/interop/setup" 2>/dev/null | tail -1) ||
	[ ! -d "$CACHE/node_modules" ]; then
	echo "FAIL: node >= 20 and the real client (tests/interop/setup) are needed"
	exit 1
fi
T=$(mktemp -d /tmp/gateway-realclient.XXXXXX)
NPID=
cleanup() {
	[ -n "$NPID" ] && kill "$NPID" 2>/dev/null || true
	"$BIN/nym-localnet" down --dir "$T/net" >/dev/null 2>&1 || true
	[ -n "${KEEP:-}" ] || rm -rf "$T"
}
trap cleanup EXIT
fail() { echo "FAIL: $*"; tail -20 "$T/net/logs/gateway1.log" 2>/dev/null || true; exit 1; }
"$BIN/nym-localnet" up --dir "$T/net" >/dev/null || fail "localnet did not start"
# shellcheck disable=SC1091
. "$T/net/env"
tc() { local st=$1; shift; "$BIN/nym-testclient" --ws "$GATEWAY_WS_1" --gateway-id "$GATEWAY_ID_1" \
	--topology "$NYM_TOPOLOGY" --state "$T/$st.state" "$@"; }
stat_of() { sed -n "s/.*\"$1\":\([0-9]*\).*/\1/p" "$T/net/run/gateway1.stats"; }

B=$(tc b register address | sed -n 's/^ADDRESS //p')
[ -n "$B" ] || fail "C client did not register"

mkfifo "$T/in"
node "$ROOT/tests/interop/nym-client.mjs" --cache "$CACHE" --nym-api "$NYM_API" \
	--gateway "$GATEWAY_ID_1" --frames "$T/frames.log" --timeout-ms 90000 \
	<"$T/in" >"$T/real.out" 2>"$T/real.err" &
NPID=$!
exec 3>"$T/in"
for _ in $(seq 600); do grep -q '"event":"ready"' "$T/real.out" && break
	kill -0 "$NPID" 2>/dev/null || break; sleep 0.1; done
A=$(sed -n 's/.*"event":"ready","address":"\([^"]*\)".*/\1/p' "$T/real.out")
[ -n "$A" ] || { cat "$T/real.out"; tail "$T/real.err"; fail "the real client did not start"; }
echo "ok real client registered and authenticated: $A"

printf 'send self 100 1\nwait 1 20000\nsend self 5000 2\nwait 2 20000\nsend %s 300 3\n' "$B" >&3
tc b auth send-to "$A" 2 expect-acks 2 expect-msgs 1 20 >"$T/b.out" 2>&1 || { cat "$T/b.out"; fail "C client"; }
printf 'wait 4 20000\nsleep 2000\nstats\nquit\n' >&3
exec 3>&-
wait "$NPID" || { cat "$T/real.out"; fail "the real client failed"; }
NPID=
cat "$T/real.out" >"$T/events"
grep -q '"event":"wait","ok":true,"want":4' "$T/events" || { cat "$T/events"; fail "the real client did not receive 4 messages"; }
for seed in 1 2; do
	sha=$(grep '"event":"sent"' "$T/events" | sed -n "$seed"p | sed -n 's/.*"sha256":"\([0-9a-f]*\)".*/\1/p')
	grep '"event":"received"' "$T/events" | grep -q "\"sha256\":\"$sha\"" || fail "self message $seed not received intact"
done
grep '"event":"stats"' "$T/events" | tail -1 | grep -q '"retransmission_logs":0' ||
	{ grep '"event":"stats"' "$T/events" | tail -1; fail "the real client retransmitted (acks missing)"; }
echo "ok real client: self messages of 100 and 5000 bytes received intact, no retransmissions"
echo "ok real client received 2 messages from the C client; C client got its message"
# phase 2: a second real client with cover traffic on: an anonymous message to itself with
# 5 reply SURBs, then a reply through them
rm -f "$T/in" && mkfifo "$T/in"
node "$ROOT/tests/interop/nym-client.mjs" --cache "$CACHE" --nym-api "$NYM_API" \
	--gateway "$GATEWAY_ID_1" --cover --timeout-ms 90000 \
	<"$T/in" >"$T/real2.out" 2>"$T/real2.err" &
NPID=$!
exec 3>"$T/in"
printf 'sendanon self 300 5 7\nwait 1 20000\n' >&3
for _ in $(seq 600); do grep -q '"event":"wait"' "$T/real2.out" && break
	kill -0 "$NPID" 2>/dev/null || break; sleep 0.1; done
TAG=$(sed -n 's/.*"event":"received".*"sender_tag":"\([^"]*\)".*/\1/p' "$T/real2.out" | head -1)
[ -n "$TAG" ] || { cat "$T/real2.out"; fail "no anonymous message with a sender tag"; }
printf 'reply %s 400 8\nwait 2 20000\nsleep 2000\nstats\nquit\n' "$TAG" >&3
exec 3>&-
wait "$NPID" || { cat "$T/real2.out"; fail "the second real client failed"; }
NPID=
for n in 1 2; do
	sha=$(grep '"event":"sent"' "$T/real2.out" | sed -n "$n"p | sed -n 's/.*"sha256":"\([0-9a-f]*\)".*/\1/p')
	grep '"event":"received"' "$T/real2.out" | grep -q "\"sha256\":\"$sha\"" || fail "message $n (anonymous/reply) lost"
done
grep '"event":"stats"' "$T/real2.out" | tail -1 | grep -q '"retransmission_logs":0' || fail "retransmissions with cover traffic"
echo "ok real client with cover traffic: anonymous message with 5 SURBs and the reply through them"
echo "   $(grep '"event":"stats"' "$T/real2.out" | tail -1)"

sleep 1.2
[ "$(stat_of decode_errors)" = 0 ] || fail "decode errors: $(cat "$T/net/run/gateway1.stats")"
[ "$(stat_of client_errors)" = 0 ] || fail "client errors: $(cat "$T/net/run/gateway1.stats")"
echo "gateway: $(cat "$T/net/run/gateway1.stats")"
echo "PASS"
