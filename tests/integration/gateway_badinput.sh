#!/usr/bin/env bash
# nym-gateway against bad clients (real processes): a malformed handshake, garbage text,
# a binary frame before authentication, raw TCP garbage, an undecryptable frame and an
# oversize frame each get that one client dropped (with a log line), while another
# client stays connected and keeps sending and receiving. Exit 0 = pass.
set -euo pipefail
BUILD=${BUILD:-build}
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
BIN=$ROOT/$BUILD/bin
for b in nym-localnet nym-directory nym-mixnode nym-gateway nym-testclient; do
	[ -x "$BIN/$b" ] || { echo "missing $BIN/$b (run make first)"; exit 1; }
done
T=$(mktemp -d /tmp/gateway-badinput.XXXXXX)
cleanup() { "$BIN/nym-localnet" down --dir "$T/net" >/dev/null 2>&1 || true; [ -n "${KEEP:-}" ] || rm -rf "$T"; }
trap cleanup EXIT
fail() { echo "FAIL: $*"; tail -20 "$T/net/logs/gateway1.log" 2>/dev/null || true; exit 1; }
"$BIN/nym-localnet" up --dir "$T/net" >/dev/null || fail "localnet did not start"
# shellcheck disable=SC1091
. "$T/net/env"
tc() { local st=$1; shift; "$BIN/nym-testclient" --ws "$GATEWAY_WS_1" --gateway-id "$GATEWAY_ID_1" \
	--topology "$NYM_TOPOLOGY" --state "$T/$st.state" "$@"; }
stat_of() { sed -n "s/.*\"$1\":\([0-9]*\).*/\1/p" "$T/net/run/gateway1.stats"; }

tc good register >/dev/null || fail "register"
tc good auth hold 2 send-self 3 expect-msgs 3 expect-acks 3 hold 1 send-self 2 expect-msgs 5 \
	expect-acks 5 >"$T/good.out" 2>&1 &
GPID=$!
sleep 0.5
tc bad bad-handshake garbage-text garbage-binary-preauth raw-garbage register auth garbage-frame \
	hold 1.1 auth oversize-frame >"$T/bad.out" 2>&1 || { cat "$T/bad.out"; fail "a bad client was not dropped"; }
[ "$(grep -c '^DROPPED' "$T/bad.out")" = 6 ] || { cat "$T/bad.out"; fail "expected 6 drops"; }
wait "$GPID" || { cat "$T/good.out"; fail "the good client was disturbed"; }
grep -q 'SUMMARY msgs=5 acks=5' "$T/good.out" || { cat "$T/good.out"; fail "good client counts"; }
sleep 1.2
[ "$(stat_of client_errors)" -ge 5 ] || fail "client_errors: $(cat "$T/net/run/gateway1.stats")"
[ "$(stat_of ws_handshake_failures)" -ge 1 ] || fail "raw garbage not counted"
[ "$(grep -c 'dropped' "$T/net/logs/gateway1.log")" -ge 6 ] || fail "missing log lines"
"$BIN/nym-localnet" status --dir "$T/net" >/dev/null || fail "a process died"
echo "ok 6 bad clients dropped with log lines; the good client sent and received 5 messages"
echo "PASS"
