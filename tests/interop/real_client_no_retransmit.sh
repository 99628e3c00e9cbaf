#!/usr/bin/env bash
# On a clean localnet the real Nym client retransmits nothing: every fragment's SURB-ack came back
# through our gateway and mix nodes in time.
#
# Cover traffic is off (driver default), so every binary frame the client hands its gateway is a
# real fragment or a retransmission of one. With F the number of fragments the messages need
# (computed here from the message sizes), after a quiet period longer than the client's ack
# timeout (1.5 x route delay + 1.5 s) the checks are:
#   client:   binary frames out == F (a retransmission adds frames), ack-sized frames in == F,
#             fragment-sized frames in == F (its own messages);
#   gateway:  client packets == F, SURB-acks forwarded == F, deliveries == 2F, no replay;
#   mixes:    each forwarded 2F packets (F fragments + F acks).
# A control phase then pauses mix 2 (SIGSTOP) and sends one more message: no ack can come back,
# and the same frame count must grow (it proves the measure sees retransmissions); after
# SIGCONT that message still arrives.
set -u
# shellcheck source=tests/interop/lib/localnet.bash
. "$(dirname "$0")/lib/localnet.bash"
it_init real_client_no_retransmit 120

QUIET=6 # seconds without any new frame: > ack timeout (about 2 s with default client delays)

it_up --no-network-requester --no-delay
it_client a --gateway "$GATEWAY_ID_1" --timeout-ms 110000
ADDR=$(it_ready a) || exit 1
it_log "client ready: $ADDR"

SIZES=(10 5000 40000)
F=$(it_fragments "${SIZES[@]}")
it_log "sending ${SIZES[*]} bytes to self: $F fragments"
for i in "${!SIZES[@]}"; do
	it_cmd a "send self ${SIZES[$i]} m$i"
done
it_cmd a "wait ${#SIZES[@]} 30000"
WAIT=$(it_event a '.event=="wait"' 40) || it_die "no answer to 'wait'"
it_eq "all ${#SIZES[@]} messages received" "$(jq -r .ok <<<"$WAIT")" true
it_wait_stat gateway1 messages_delivered $((2 * F)) 10 ||
	it_log "gateway1 delivered $(it_stat gateway1 messages_delivered) < 2F = $((2 * F)) after 10 s"
it_log "quiet period of ${QUIET}s (a missing ack would cause a retransmission now)"
sleep "$QUIET"
STATS=$(it_last_stats a) || it_die "no stats from the client"
it_log "driver: $STATS"

it_eq "client: binary frames to the gateway (== fragments, no retransmission)" \
	"$(jq -r .binary_out <<<"$STATS")" "$F"
it_eq "client: frames logged to the gateway" "$(it_frames_out a)" "$F"
it_eq "client: ack deliveries received (one per fragment)" "$(it_frames_in_acks a)" "$F"
it_eq "client: fragment deliveries received" "$(it_frames_in_data a)" "$F"
for i in "${!SIZES[@]}"; do
	it_eq "message $i (${SIZES[$i]} B) received once, sha256" \
		"$(it_events a ".event==\"received\" and .len==${SIZES[$i]}" | jq -r .sha256 | paste -sd, -)" \
		"$(it_payload_sha256 "${SIZES[$i]}" "m$i")"
done

it_eq "gateway1: client_packets" "$(it_stat gateway1 client_packets)" "$F"
it_eq "gateway1: acks_forwarded" "$(it_stat gateway1 acks_forwarded)" "$F"
it_eq "gateway1: messages_delivered (fragments + acks)" "$(it_stat gateway1 messages_delivered)" $((2 * F))
it_eq "gateway1: packets_in on the mix port (fragments + acks)" "$(it_stat gateway1 packets_in)" $((2 * F))
it_eq "gateway1: replays" "$(it_stat gateway1 replays)" 0
it_eq "gateway1: packets_dropped" "$(it_stat gateway1 packets_dropped)" 0
for m in $(it_mixnodes); do
	it_eq "$m: packets_in/packets_out/replays/dropped" \
		"$(it_stat "$m" packets_in)/$(it_stat "$m" packets_out)/$(it_stat "$m" replays)/$(it_stat "$m" packets_dropped)" \
		"$((2 * F))/$((2 * F))/0/0"
done

# --- control: without acks the same measure must see retransmissions
MIX2_PID=$(cat "$IT_NET/run/mix2.pid")
CTRL=3000
FC=$(it_fragments $CTRL)
it_log "control: pausing mix2 (pid $MIX2_PID), sending $CTRL bytes ($FC fragments)"
kill -STOP "$MIX2_PID"
it_cmd a "send self $CTRL ctrl"
sleep "$QUIET"
STATS=$(it_last_stats a) || { kill -CONT "$MIX2_PID"; it_die "no stats from the client"; }
kill -CONT "$MIX2_PID"
it_gt "control: frames to the gateway with mix2 paused (retransmissions)" \
	"$(jq -r .binary_out <<<"$STATS")" $((F + FC))
it_cmd a "wait $((${#SIZES[@]} + 1)) 20000"
WAIT=$(it_event a ".event==\"wait\" and .want==$((${#SIZES[@]} + 1))" 30) || it_die "no answer to 'wait'"
it_eq "control: after SIGCONT the message arrived once, sha256" \
	"$(it_events a ".event==\"received\" and .len==$CTRL" | jq -r .sha256 | paste -sd, -)" \
	"$(it_payload_sha256 $CTRL ctrl)"

it_cmd a quit
it_finish
