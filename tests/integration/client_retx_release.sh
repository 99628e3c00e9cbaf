#!/usr/bin/env bash
# netd's per-fragment state is released when the ack overtakes netd's ACK_TIMEOUT. The race is
# forced with SIGSTOP on a localnet without delays (nym-client without cover traffic, ack
# timeout 8 s): gateway1 is stopped, the client sends itself a message, and once netd has
# handed the fragments to the gateway's socket keyd is stopped and the gateway continued, so
# the SURB-acks come back and wait, unopened, in keyd's socket. Then netd is stopped and keyd
# continued: keyd opens the acks and tells netd (which does not read yet) and apid (which drops
# the fragments). netd is continued once every ack timer has expired: its timers run before it
# reads keyd's ACKs (libev runs a turn's watchers last-queued first), so it takes a
# retransmission slot and sends ACK_TIMEOUT for each fragment, and only then drops their
# pending acks. apid, holding none of them any more, answers each with FORGET_FRAGMENT
# (catalogue version 7), which frees the slot. Checked: the message arrives, nothing is left
# unacknowledged, netd timed out at least once, and its pending_acks and retransmit_slots
# (nymctl status --json) come back to 0. Without FORGET_FRAGMENT one slot per such fragment
# stayed taken for the rest of the run (4,096 of them stop all retransmission). On a machine so
# slow that an ack reaches netd after its stop, that fragment is simply rebuilt: the test
# still passes, it proves less (it prints how many slots apid's FORGET_FRAGMENT released).
# Exit 0 = pass.
set -euo pipefail
LOCALNET_ARGS="--no-delay ${LOCALNET_ARGS:-}"
# shellcheck source=tests/integration/lib/nymclient.bash
. "$(dirname "$0")/lib/nymclient.bash"
[ -x "$BIN/nymctl" ] || { echo "missing $BIN/nymctl (run make first)"; exit 1; }
nc_setup client-retx-release
PAUSED=
cont_paused() { for p in $PAUSED; do kill -CONT "$p" 2>/dev/null || true; done; }
trap 'rc=$?; cont_paused; (exit $rc); nc_cleanup' EXIT

nc_init t
nc_debug t acknowledgements ack_wait_addition "'8s'"
nc_run t --no-cover
nc_app app t
nc_ready app >/dev/null || fail "the app did not start"
read -r KEYD NETD < <(sed -n 's/.*started keyd \([0-9]*\), netd \([0-9]*\),.*/\1 \2/p' "$T/t.log" | head -1)
[ -n "$KEYD" ] && [ -n "$NETD" ] || fail "no 'started keyd' line"
netd() { # FIELD: a number of netd's status (nymctl -> apid -> netd)
	"$BIN/nymctl" --id t --home "$NC_HOME" status --json |
		"$NC_PY" -c 'import json, sys; print(json.load(sys.stdin)["netd"][sys.argv[1]])' "$1"
}
[ "$(netd real_packets_sent)" = 0 ] || fail "netd sent real packets before the test did"

GW=$(cat "$T/net/run/gateway1.pid")
kill -STOP "$GW"
PAUSED=$GW
nc_cmd app "send self 3000 x"
end=$((SECONDS + 30))
until n=$(netd pending_acks) && [ "$n" -gt 0 ] && [ "$(netd queued_real)" = 0 ]; do
	[ $SECONDS -lt $end ] || fail "netd did not send the fragments"
	sleep 0.1
done
sent_at=$SECONDS
kill -STOP "$KEYD"
PAUSED="$GW $KEYD"
kill -CONT "$GW"
PAUSED=$KEYD
echo "netd sent the message's fragments ($n pending acks) to the stopped gateway; keyd stopped, the gateway continued"
sleep 3 # the acks come back to netd, which passes them to keyd's socket
kill -STOP "$NETD"
PAUSED="$KEYD $NETD"
kill -CONT "$KEYD"
PAUSED=$NETD
wait_s=$((sent_at + 12 - SECONDS)) # until every ack timer (8 s + 1.5 x a few ms) has expired
[ "$wait_s" -le 0 ] || sleep "$wait_s"
kill -CONT "$NETD"
PAUSED=

W=$(nc_event app '.event=="received" and .len==3000' 60) || fail "the message did not arrive"
[ "$(jq -r .sha256 <<<"$W")" = "$(nc_payload_sha256 3000 x)" ] || fail "the message differs"
end=$((SECONDS + 60))
while :; do
	pending=$(netd pending_acks) slots=$(netd retransmit_slots) || fail "nymctl status"
	[ "$pending" = 0 ] && [ "$slots" = 0 ] && break
	[ $SECONDS -lt $end ] || break
	sleep 1
done
retx=$(netd retransmissions)
forgotten=$(netd forgotten)
nc_app_stop app
nc_stop t
[ "$NC_STATUS" = 0 ] || fail "nym-client: exit status $NC_STATUS after SIGTERM"
grep "stats " "$T/t.log"
[ "$(nc_stat t apid unacked)" = 0 ] || fail "apid: $(nc_stat t apid unacked) fragments still unacknowledged"
[ "${retx:-0}" -gt 0 ] || fail "no ack timer of netd expired: the test cannot fail"
[ "$pending" = 0 ] || fail "netd still holds $pending pending acks with nothing unacknowledged"
[ "$slots" = 0 ] || fail "netd still holds $slots retransmission slots with nothing unacknowledged"
echo "ok the message arrived; netd timed out $retx fragment(s) after their acks, apid's FORGET_FRAGMENT released $forgotten; pending_acks 0, retransmit_slots 0"
echo "PASS"
