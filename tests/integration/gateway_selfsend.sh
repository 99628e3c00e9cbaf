#!/usr/bin/env bash
# nym-gateway end to end with real processes (`nym-localnet up`: directory, 3 mix nodes, gateway):
# a C client (tools/nym-testclient) registers, authenticates (v2), sends messages to itself
# through the 3 mix nodes, receives them and their SURB-acks; a duplicate session is refused
# while the first answers pings; re-authentication (v2 and v1) with the stored key works;
# two clients exchange messages at the same time. Exit 0 = pass.
set -euo pipefail
BUILD=${BUILD:-build}
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
BIN=$ROOT/$BUILD/bin
for b in nym-localnet nym-directory nym-mixnode nym-gateway nym-testclient; do
	[ -x "$BIN/$b" ] || { echo "missing $BIN/$b (run make first)"; exit 1; }
done
T=$(mktemp -d /tmp/gateway-selfsend.XXXXXX)
cleanup() { "$BIN/nym-localnet" down --dir "$T/net" >/dev/null 2>&1 || true; [ -n "${KEEP:-}" ] || rm -rf "$T"; }
trap cleanup EXIT
fail() { echo "FAIL: $*"; tail -20 "$T/net/logs/gateway1.log" 2>/dev/null || true; exit 1; }
"$BIN/nym-localnet" up --dir "$T/net" >/dev/null || fail "localnet did not start"
# shellcheck disable=SC1091
. "$T/net/env"
tc() { local st=$1; shift; "$BIN/nym-testclient" --ws "$GATEWAY_WS_1" --gateway-id "$GATEWAY_ID_1" \
	--topology "$NYM_TOPOLOGY" --state "$T/$st.state" "$@"; }
stat_of() { sed -n "s/.*\"$1\":\([0-9]*\).*/\1/p" "$T/net/run/gateway1.stats"; }

# 1. self-send round trip, duplicate session, re-authentication on new connections
tc a register auth send-self 5 expect-msgs 5 expect-acks 5 auth-dup \
	close auth send-self 1 expect-msgs 6 expect-acks 6 close auth-v1 send-self 1 expect-msgs 7 \
	expect-acks 7 >"$T/a.out" 2>&1 || { cat "$T/a.out"; fail "self-send"; }
grep -q '^DUPLICATE REFUSED.*already an open connection' "$T/a.out" || { cat "$T/a.out"; fail "duplicate not refused"; }
[ "$(grep -c '^RECEIVED nymsuite-test:' "$T/a.out")" = 7 ] || fail "wrong messages"
echo "ok self-send: 7 messages, 7 acks through 3 mix nodes; duplicate refused; v2 and v1 re-auth"

# 2. two clients at once, each sending to the other (authenticateV2 timestamps are whole
#    seconds and must grow: wait for the next second)
sleep 1.1
A=$(tc a address | sed -n 's/^ADDRESS //p')
B=$(tc b register address | sed -n 's/^ADDRESS //p')
[ -n "$A" ] && [ -n "$B" ] || fail "no addresses"
tc a auth hold 1 send-to "$B" 3 expect-acks 3 expect-msgs 3 >"$T/a2.out" 2>&1 &
APID=$!
tc b auth hold 1 send-to "$A" 3 expect-acks 3 expect-msgs 3 >"$T/b2.out" 2>&1 || { cat "$T/b2.out"; fail "client b"; }
wait "$APID" || { cat "$T/a2.out"; fail "client a"; }
echo "ok two clients: 3 messages each way, all acked"

sleep 1.2
[ "$(stat_of decode_errors)" = 0 ] || fail "decode errors: $(cat "$T/net/run/gateway1.stats")"
[ "$(stat_of acks_forwarded)" -ge 13 ] || fail "acks_forwarded too low: $(cat "$T/net/run/gateway1.stats")"
[ "$(stat_of registrations)" = 2 ] || fail "registrations: $(cat "$T/net/run/gateway1.stats")"
"$BIN/nym-localnet" status --dir "$T/net" >/dev/null || fail "a process died"
echo "PASS"
