#!/usr/bin/env bash
# nym-gateway against bad clients (real processes): a malformed handshake, garbage text,
# a binary frame before authentication, raw TCP garbage, an undecryptable frame and an
# oversize frame each get that one client dropped (with a log line), as do a bad frame and
# undecodable packets on the mix port, while another client stays connected and keeps
# sending and receiving. Exit 0 = pass.
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
# the mix port: a bad frame header closes that connection; packets that are not for this
# gateway's key, or not well formed at the final hop, are counted and dropped
if [ -x "$BIN/nym-inject" ]; then
	"$BIN/nym-inject" raw --to "$GATEWAY_MIX_1" --hex 0909090909 >/dev/null 2>&1 || fail "bad frame kept open"
	"$BIN/nym-inject" send --topology "$NYM_TOPOLOGY" --to "$GATEWAY_MIX_1" --count 5 >/dev/null 2>&1 ||
		fail "inject to the gateway"
	"$BIN/nym-inject" send --topology "$NYM_TOPOLOGY" --count 3 >/dev/null 2>&1 || fail "inject via the mixnet"
fi
wait "$GPID" || { cat "$T/good.out"; fail "the good client was disturbed"; }
grep -q 'SUMMARY msgs=5 acks=5' "$T/good.out" || { cat "$T/good.out"; fail "good client counts"; }
sleep 1.2
[ "$(stat_of client_errors)" -ge 5 ] || fail "client_errors: $(cat "$T/net/run/gateway1.stats")"
[ "$(stat_of ws_handshake_failures)" -ge 1 ] || fail "raw garbage not counted"
if [ -x "$BIN/nym-inject" ]; then
	for _ in $(seq 40); do [ "$(stat_of decode_errors)" -ge 8 ] && break; sleep 0.25; done
	[ "$(stat_of decode_errors)" -ge 8 ] || fail "bad mix packets: $(cat "$T/net/run/gateway1.stats")"
	grep -q 'mix connection from .* closed' "$T/net/logs/gateway1.log" || fail "no log line for the bad mix frame"
	echo "ok mix port: bad frame closed its connection, 8 bad packets counted as decode errors"
fi
[ "$(grep -c 'dropped' "$T/net/logs/gateway1.log")" -ge 6 ] || fail "missing log lines"
"$BIN/nym-localnet" status --dir "$T/net" >/dev/null || fail "a process died"
echo "ok 6 bad clients dropped with log lines; the good client sent and received 5 messages"
echo "PASS"
