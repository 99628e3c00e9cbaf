#!/usr/bin/env bash
# nym-client across restarts, on the localnet:
#  (a) the gateway is killed (SIGKILL) and restarted in the middle of a stream: an app sends 40
#      messages of 3 KB (2 fragments each) to its own client, one every 100 ms; 1.2 s in, gateway1
#      dies with everything in flight, and is back 1.5 s later. Every message must arrive exactly
#      once, byte-identical (netd resends what was not acknowledged; the receiver drops duplicates).
#  (b) the client is stopped (SIGTERM) and a second nym-client sends it 5 messages while it is
#      down; restarted, it has the same address and the 5 messages arrive (the gateway kept them
#      in its offline store: messages_stored and stored_delivered grow).
# Exit 0 = pass.
set -euo pipefail
# shellcheck source=tests/integration/lib/nymclient.bash
. "$(dirname "$0")/lib/nymclient.bash"
nc_setup client-restart
nc_init r
nc_debug r acknowledgements ack_wait_addition "'500ms'"
nc_run r
nc_app app r
R=$(nc_ready app) || fail "the app of r did not start"

# --- (a)
N=40
(
	for i in $(seq 0 $((N - 1))); do
		nc_cmd app "send self $((3000 + i)) s$i"
		sleep 0.1
	done
) &
FEED=$!
sleep 1.2
nc_gateway_stop KILL
sent_at_kill=$(nc_events app '.event=="sent"' | wc -l)
received_at_kill=$(nc_events app '.event=="received"' | wc -l)
sleep 1.5
nc_gateway_start
wait "$FEED"
echo "gateway1 killed after $sent_at_kill messages were sent and $received_at_kill received; restarted 1.5 s later"
[ "$sent_at_kill" -lt "$N" ] || fail "the stream had ended before the gateway died: not mid-stream"
nc_cmd app "wait $N 40000"
W=$(nc_event app '.event=="wait"' 50) || fail "no answer to wait"
[ "$(jq -r .ok <<<"$W")" = true ] || fail "(a) only $(jq -r .received <<<"$W") of $N messages arrived within 40 s of the gateway's restart"
sleep 3 # late duplicates (resent fragments whose first copy did arrive) must not be delivered
for i in $(seq 0 $((N - 1))); do
	len=$((3000 + i))
	got=$(nc_events app ".event==\"received\" and .len==$len" | jq -r .sha256 | paste -sd, -)
	[ "$got" = "$(nc_payload_sha256 $len "s$i")" ] || fail "(a) message $i ($len B): got sha256 '$got', want it once"
done
[ "$(nc_events app '.event=="received"' | wc -l)" = "$N" ] || fail "(a) $(nc_events app '.event=="received"' | wc -l) messages delivered, want $N"
grep -q "gateway backoff\|gateway session ready" "$T/r.log" || fail "(a) netd logged no reconnection"
echo "ok (a) gateway SIGKILLed mid-stream and restarted: all $N messages arrived exactly once"

# --- (b)
nc_init s
nc_run s
nc_app sapp s
S=$(nc_ready sapp) || fail "the app of s did not start"
nc_cmd sapp "send $R 500 before"
nc_event app '.event=="received" and .len==500' 20 >/dev/null || fail "(b) r did not receive s's first message"
nc_app_stop app
sleep 1 # the last SURB-acks
nc_stop r
[ "$NC_STATUS" = 0 ] || fail "(b) r: exit status $NC_STATUS after SIGTERM, want 0"
[ "$(nc_stat r apid unacked)" = 0 ] || { grep stats "$T/r.log"; fail "(b) r stopped with unacknowledged fragments"; }
sleep 1.1 # gateway1's stats file is rewritten every second
stored0=$(stat_of messages_stored)
SIZES=(100 1700 5000 20000 777)
for i in "${!SIZES[@]}"; do nc_cmd sapp "send $R ${SIZES[$i]} off$i"; done
# 1 + 2 + 4 + 13 + 1 = 21 fragments wait in gateway1's store
want=$((stored0 + 21))
for _ in $(seq 100); do [ "$(stat_of messages_stored)" -ge "$want" ] && break; sleep 0.1; done
[ "$(stat_of messages_stored)" -ge "$want" ] || fail "(b) gateway1 stored $(( $(stat_of messages_stored) - stored0 )) packets for the stopped client, want 21"
delivered0=$(stat_of stored_delivered)
nc_run r
nc_app app2 r
R2=$(nc_ready app2) || fail "(b) the app of the restarted r did not start"
[ "$R2" = "$R" ] || fail "(b) r's address changed across the restart: $R2, was $R"
nc_cmd app2 "wait ${#SIZES[@]} 20000"
W=$(nc_event app2 '.event=="wait"' 30) || fail "(b) no answer to wait"
if [ "$(jq -r .ok <<<"$W")" != true ]; then
	got=$(jq -r .received <<<"$W")
	nc_stop r
	delivered=$(nc_stat r apid messages_delivered)
	[ "${delivered:-0}" -gt 0 ] && [ "$got" = 0 ] &&
		fail "(b) r's apid reassembled $delivered messages after the restart but the app got $got:" \
			"apid drops what arrives while no app is connected (Nym's received buffer keeps it" \
			"for the next app: client-core received_buffer.rs connect_sender)"
	fail "(b) only $got of ${#SIZES[@]} messages sent while r was down arrived (apid delivered ${delivered:-?})"
fi
for i in "${!SIZES[@]}"; do
	got=$(nc_events app2 ".event==\"received\" and .len==${SIZES[$i]}" | jq -r .sha256 | paste -sd, -)
	[ "$got" = "$(nc_payload_sha256 "${SIZES[$i]}" "off$i")" ] || fail "(b) message $i (${SIZES[$i]} B): got sha256 '$got', want it once"
done
sleep 1.1
[ "$(stat_of stored_delivered)" -gt "$delivered0" ] || fail "(b) gateway1's stored_delivered did not grow"
echo "ok (b) r stopped, s sent ${#SIZES[@]} messages, r restarted with the same address and got them from the offline store"
[ "$S" != "$R" ] || fail "s and r have the same address"
nc_app_stop app2
nc_stop r
[ "$NC_STATUS" = 0 ] || fail "r: exit status $NC_STATUS after the second SIGTERM"
echo "PASS"
