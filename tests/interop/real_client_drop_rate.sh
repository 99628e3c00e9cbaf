#!/usr/bin/env bash
# A lossy localnet: `--drop-rate 0.2` makes every mix node (and the gateway's mix port) drop a
# fifth of the packets it receives. The real Nym client must still get all its messages: a
# fragment or its SURB-ack that is lost makes the client retransmit the fragment on a fresh route,
# and the receiver discards the duplicates. Checks: every message arrives exactly once,
# byte-identical; the nodes really dropped packets (packets_dropped > 0, so the test can fail);
# and the client really retransmitted (more frames to the gateway than fragments).
set -u
# shellcheck source=tests/interop/lib/localnet.bash
. "$(dirname "$0")/lib/localnet.bash"
it_init real_client_drop_rate 120

it_up --no-network-requester --no-delay --drop-rate 0.2
it_client a --gateway "$GATEWAY_ID_1" --timeout-ms 115000
ADDR=$(it_ready a) || exit 1
it_log "client ready: $ADDR"

# 10 fragments: with 4 lossy hops a fragment gets through with p = 0.8^4 = 0.41 per attempt,
# one attempt every ~2 s (the ack timeout)
SIZES=(10 2000 10000)
F=$(it_fragments "${SIZES[@]}")
it_log "sending ${SIZES[*]} bytes to self: $F fragments"
for i in "${!SIZES[@]}"; do
	it_cmd a "send self ${SIZES[$i]} d$i"
done
it_cmd a "wait ${#SIZES[@]} 90000"
WAIT=$(it_event a '.event=="wait"' 100) || it_die "no answer to 'wait'"
it_log "driver: $WAIT"
it_eq "all ${#SIZES[@]} messages received" "$(jq -r .ok <<<"$WAIT")" true
sleep 1.5 # stats files are rewritten every second
STATS=$(it_last_stats a) || it_die "no stats from the client"
it_log "driver: $STATS"

for i in "${!SIZES[@]}"; do
	it_eq "message $i (${SIZES[$i]} B) received once, sha256" \
		"$(it_events a ".event==\"received\" and .len==${SIZES[$i]}" | jq -r .sha256 | paste -sd, -)" \
		"$(it_payload_sha256 "${SIZES[$i]}" "d$i")"
done
it_eq "messages received in total" "$(it_events a '.event=="received"' | wc -l)" "${#SIZES[@]}"

MIXES=$(it_mixnodes)
for m in $MIXES; do
	it_log "$m: packets_in $(it_stat "$m" packets_in), packets_dropped $(it_stat "$m" packets_dropped), packets_out $(it_stat "$m" packets_out)"
done
it_log "gateway1: packets_in $(it_stat gateway1 packets_in), packets_dropped $(it_stat gateway1 packets_dropped), client_packets $(it_stat gateway1 client_packets)"
# shellcheck disable=SC2086
it_gt "mix nodes dropped packets (sum of packets_dropped)" "$(it_stat_sum packets_dropped $MIXES)" 0
it_gt "the client retransmitted: binary frames to the gateway > $F fragments" \
	"$(jq -r .binary_out <<<"$STATS")" "$F"
# (the client goes on retransmitting while acks are lost: the gateway's count, written every
# second, may lag the client's)
it_gt "gateway1 saw the retransmissions too: client_packets > $F" "$(it_stat gateway1 client_packets)" "$F"

it_cmd a quit
it_finish
