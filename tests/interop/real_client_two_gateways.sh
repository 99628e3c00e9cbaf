#!/usr/bin/env bash
# Two real Nym clients on a localnet with two gateways: client a registers with gateway1,
# client b with gateway2, and they exchange messages both ways:
#   a -> b  plain 1000 B and 30000 B           (route gateway1 -> mixes -> gateway2)
#   b -> a  plain 20000 B                      (gateway2 -> mixes -> gateway1)
#   a -> b  anonymous 600 B carrying 10 SURBs  (b sees a sender tag, not a's address)
#   b -> a  reply 4000 B through those SURBs   (the SURB route ends at gateway1)
# Every message must arrive exactly once with the right length and SHA-256 (computed here), and
# each gateway's counters must show its own client's traffic.
set -u
# shellcheck source=tests/interop/lib/localnet.bash
. "$(dirname "$0")/lib/localnet.bash"
it_init real_client_two_gateways 120

it_up --no-network-requester --no-delay --gateways 2
[ "$GATEWAY_COUNT" = 2 ] || it_die "GATEWAY_COUNT=$GATEWAY_COUNT, want 2"
it_client a --gateway "$GATEWAY_ID_1" --timeout-ms 110000
it_client b --gateway "$GATEWAY_ID_2" --timeout-ms 110000
A=$(it_ready a) || exit 1
B=$(it_ready b) || exit 1
it_log "client a: $A"
it_log "client b: $B"
it_eq "client a is on gateway1" "${A##*@}" "$GATEWAY_ID_1"
it_eq "client b is on gateway2" "${B##*@}" "$GATEWAY_ID_2"

# check_received C LEN SEED: C received exactly one message of LEN bytes, with payload(LEN, SEED)
check_received() {
	it_eq "$1 received $2 B once, sha256" \
		"$(it_events "$1" ".event==\"received\" and .len==$2" | jq -r .sha256 | paste -sd, -)" \
		"$(it_payload_sha256 "$2" "$3")"
}
wait_for() { # C N: C has received N messages in total
	it_cmd "$1" "wait $2 30000"
	local w
	w=$(it_event "$1" ".event==\"wait\" and .want==$2" 40) || return 1
	[ "$(jq -r .ok <<<"$w")" = true ]
}

it_log "a -> b: plain 1000 B and 30000 B"
it_cmd a "send $B 1000 ab1"
it_cmd a "send $B 30000 ab2"
it_check "b received 2 messages" wait_for b 2
check_received b 1000 ab1
check_received b 30000 ab2
it_eq "b: plain messages carry no sender tag" "$(it_events b '.event=="received" and .sender_tag != null' | wc -l)" 0

it_log "b -> a: plain 20000 B"
it_cmd b "send $A 20000 ba1"
it_check "a received 1 message" wait_for a 1
check_received a 20000 ba1

it_log "a -> b: anonymous 600 B with 10 reply SURBs"
it_cmd a "sendanon $B 600 10 anon"
it_check "b received the anonymous message" wait_for b 3
check_received b 600 anon
TAG=$(it_events b '.event=="received" and .len==600' | jq -r '.sender_tag // empty' | head -1)
it_check "b got a sender tag ($TAG)" test -n "$TAG"

it_log "b -> a: reply 4000 B through a's SURBs"
[ -n "$TAG" ] && it_cmd b "reply $TAG 4000 rep"
it_check "a received the reply" wait_for a 2
check_received a 4000 rep
it_eq "a: the reply carries no sender tag" "$(it_events a '.event=="received" and .sender_tag != null' | wc -l)" 0

sleep 1.5 # stats files are rewritten every second
for g in 1 2; do
	it_gt "gateway$g: client_packets" "$(it_stat gateway$g client_packets)" 0
	it_gt "gateway$g: messages_delivered" "$(it_stat gateway$g messages_delivered)" 0
	it_gt "gateway$g: acks_forwarded" "$(it_stat gateway$g acks_forwarded)" 0
	it_eq "gateway$g: clients_connected" "$(it_stat gateway$g clients_connected)" 1
done
# plain messages only: a's 1000 + 30000 B went in through gateway1, b's 20000 B through gateway2
it_check "gateway1: client_packets >= $(it_fragments 1000 30000) (a's plain fragments)" \
	test "$(it_stat gateway1 client_packets)" -ge "$(it_fragments 1000 30000)"
it_check "gateway2: client_packets >= $(it_fragments 20000) (b's plain fragments)" \
	test "$(it_stat gateway2 client_packets)" -ge "$(it_fragments 20000)"

# nothing was lost: every fragment a client sent was delivered at the other gateway, which
# forwarded its SURB-ack (a's packets all go to b and back, b's all to a)
it_eq "gateway2 acked every packet a sent via gateway1 (acks_forwarded vs client_packets)" \
	"$(it_stat gateway2 acks_forwarded)" "$(it_stat gateway1 client_packets)"
it_eq "gateway1 acked every packet b sent via gateway2 (acks_forwarded vs client_packets)" \
	"$(it_stat gateway1 acks_forwarded)" "$(it_stat gateway2 client_packets)"

it_cmd a quit
it_cmd b quit
it_finish
