#!/usr/bin/env bash
# nym-gateway offline storage with real processes: messages for a registered client that
# is not connected are stored durably (the sender's acks only come back once they are on
# disk), survive a gateway restart, are delivered when the client authenticates again
# with its stored key (kept on disk, 0600), and are then removed. Exit 0 = pass.
set -euo pipefail
# shellcheck source=lib/localnet.bash
. "$(dirname "$0")/lib/localnet.bash"
LOCALNET_ARGS=--no-network-requester # counts gateway1's clients
localnet_up gateway-offline
DATA=$T/net/data/gateway1

restart_gateway() {
	local pid
	pid=$(cat "$T/net/run/gateway1.pid")
	kill -TERM "$pid"
	for _ in $(seq 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.05; done
	kill -0 "$pid" 2>/dev/null && fail "gateway ignored SIGTERM"
	rm -f "$T/net/run/gateway1.ready"
	setsid "$BIN/nym-gateway" --config "$T/net/nodes/gateway1.toml" \
		>>"$T/net/logs/gateway1.log" 2>&1 </dev/null &
	echo $! >"$T/net/run/gateway1.pid"
	for _ in $(seq 100); do [ -f "$T/net/run/gateway1.ready" ] && break; sleep 0.05; done
	[ -f "$T/net/run/gateway1.ready" ] || fail "gateway did not restart"
}

A=$(tc a register address | sed -n 's/^ADDRESS //p')
[ -n "$A" ] || fail "no address"
REC=$(ls "$DATA"/clients/)
[ "$(stat -c %a "$DATA/clients/$REC")" = 600 ] || fail "client record is not 0600"
# a is offline; b sends 4 messages; the acks prove the gateway accepted (stored) them
tc b register auth send-to "$A" 4 expect-acks 4 >"$T/b.out" 2>&1 || { cat "$T/b.out"; fail "sender"; }
sleep 1.2
[ "$(stat_of messages_stored)" = 4 ] || fail "messages_stored: $(cat "$T/net/run/gateway1.stats")"
[ "$(find "$DATA/inbox" -name '*.msg' | wc -l)" = 4 ] || fail "inbox files missing"
echo "ok 4 messages stored while the recipient was offline, acks returned"

restart_gateway
echo "ok gateway restarted"
tc a auth expect-msgs 4 10 hold 0.5 >"$T/a.out" 2>&1 || { cat "$T/a.out"; fail "recipient after restart"; }
[ "$(grep -c '^RECEIVED nymsuite-test:' "$T/a.out")" = 4 ] || { cat "$T/a.out"; fail "messages lost"; }
sleep 0.3
[ "$(find "$DATA/inbox" -name '*.msg' | wc -l)" = 0 ] || fail "delivered messages not removed"
echo "ok stored messages delivered after the restart and removed"

# stored key survives: v1 and v2 again, no duplicate delivery
tc a auth-v1 hold 0.5 close auth hold 0.5 >"$T/a2.out" 2>&1 || { cat "$T/a2.out"; fail "re-auth"; }
grep -q '^RECEIVED' "$T/a2.out" && fail "messages delivered twice"
# an unknown client cannot authenticate
tc c auth-fail >"$T/c.out" 2>&1 && fail "unregistered client... unexpected success path" || true
grep -q "not registered" "$T/c.out" || { cat "$T/c.out"; fail "unregistered client not refused"; }
echo "ok re-authentication with the stored key; unknown client refused"
"$BIN/nym-localnet" status --dir "$T/net" >/dev/null || fail "a process died"
echo "PASS"
