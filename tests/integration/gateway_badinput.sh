#!/usr/bin/env bash
# nym-gateway against bad clients (real processes): a malformed handshake, garbage text,
# a binary frame before authentication, raw TCP garbage, an undecryptable frame and an
# oversize frame each get that one client dropped (with a log line), as do a bad frame and
# undecodable packets on the mix port, while another client stays connected and keeps
# sending and receiving. Exit 0 = pass.
set -euo pipefail
# shellcheck source=lib/localnet.bash
. "$(dirname "$0")/lib/localnet.bash"
localnet_up gateway-badinput

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
