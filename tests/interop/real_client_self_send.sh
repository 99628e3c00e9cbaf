#!/usr/bin/env bash
# The real Nym client (wasm, nym b4046a89) on a fresh localnet of our C nodes sends two messages
# to its own address, 10 bytes and 100 KB, through gateway -> mix1 -> mix2 -> mix3 -> gateway.
# Both must come back exactly once, byte-identical: length and SHA-256 of what the client
# received equal those of the payload, computed here independently of the driver.
set -u
# shellcheck source=tests/interop/lib/localnet.bash
. "$(dirname "$0")/lib/localnet.bash"
it_init real_client_self_send 120

it_up --no-network-requester --no-delay
it_client a --gateway "$GATEWAY_ID_1" --timeout-ms 100000
ADDR=$(it_ready a) || exit 1
it_log "client ready: $ADDR"
it_eq "client registered with gateway 1" "${ADDR##*@}" "$GATEWAY_ID_1"

SIZES=(10 102400)
SEEDS=(small large)
for i in 0 1; do
	it_cmd a "send self ${SIZES[$i]} ${SEEDS[$i]}"
done
it_cmd a "wait 2 60000"
WAIT=$(it_event a '.event=="wait"' 75) || it_die "no answer to 'wait'"
it_log "driver: $WAIT"
it_eq "both messages received" "$(jq -r .ok <<<"$WAIT")" true

for i in 0 1; do
	n=${SIZES[$i]}
	want=$(it_payload_sha256 "$n" "${SEEDS[$i]}")
	sent=$(it_events a ".event==\"sent\" and .len==$n" | head -1)
	it_eq "$n-byte message: sha256 sent" "$(jq -r .sha256 <<<"$sent")" "$want"
	got=$(it_events a ".event==\"received\" and .len==$n" | jq -r .sha256 | paste -sd, -)
	it_eq "$n-byte message: received once, $n bytes, sha256" "$got" "$want"
done
it_eq "messages received in total" "$(it_events a '.event=="received"' | wc -l)" 2
it_eq "plain messages carry no sender tag" \
	"$(it_events a '.event=="received" and .sender_tag != null' | wc -l)" 0

# the path really was our nodes: every mix node and the gateway saw the packets
FRAGS=$(it_fragments "${SIZES[@]}")
sleep 1.5 # the stats files are rewritten every second
for m in $(it_mixnodes); do
	it_check "$m forwarded packets ($(it_stat "$m" packets_in) in, $(it_stat "$m" packets_out) out; $FRAGS fragments sent)" \
		test "$(it_stat "$m" packets_out)" -ge "$FRAGS"
done
it_check "gateway1 got the $FRAGS fragments from the client (client_packets $(it_stat gateway1 client_packets))" \
	test "$(it_stat gateway1 client_packets)" -ge "$FRAGS"

it_cmd a quit
it_finish
