#!/usr/bin/env bash
# nym-client on a lossy localnet: mix2 (the only layer-2 node, so on every route) drops a fifth
# of what it receives (descriptor debug.drop_rate = 0.2). An app sends 20 messages (200 B .. 8.7 KB)
# to its own client; every one must arrive exactly once and byte-identical, which needs the
# client's retransmission: a fragment or its SURB-ack lost at mix2 is sent again after the ack
# timeout (debug.acknowledgements.ack_wait_addition shortened to 400 ms). Checks that the loss
# and the retransmissions really happened: mix2's packets_dropped > 0, netd's retransmissions > 0
# and real_sent > acks ... and at the end nothing is left unacknowledged. Exit 0 = pass.
set -euo pipefail
# shellcheck source=tests/integration/lib/nymclient.bash
. "$(dirname "$0")/lib/nymclient.bash"
nc_setup client-droprate
grep -q '^drop_rate = ' "$T/net/nodes/mix2.toml" || fail "mix2's descriptor has no drop_rate line"
nc_localnet_edit mix2 's/^drop_rate = .*/drop_rate = 0.2/'
node_stat() { sed -n "s/.*\"$2\":\([0-9]*\).*/\1/p" "$T/net/run/$1.stats"; }

nc_init t
nc_debug t acknowledgements ack_wait_addition "'400ms'"
nc_run t
nc_app app t
ADDR=$(nc_ready app) || fail "the app did not start"
[ "$ADDR" = "${NC_ADDR[t]}" ] || fail "selfAddress $ADDR differs from init's ${NC_ADDR[t]}"

N=20
for i in $(seq 0 $((N - 1))); do nc_cmd app "send self $((200 + 450 * i)) d$i"; done
nc_cmd app "wait $N 45000"
W=$(nc_event app '.event=="wait"' 55) || fail "no answer to wait"
[ "$(jq -r .ok <<<"$W")" = true ] || fail "only $(jq -r .received <<<"$W") of $N messages arrived within 45 s"
for i in $(seq 0 $((N - 1))); do
	len=$((200 + 450 * i))
	got=$(nc_events app ".event==\"received\" and .len==$len" | jq -r .sha256 | paste -sd, -)
	[ "$got" = "$(nc_payload_sha256 $len "d$i")" ] || fail "message $i ($len B): got sha256 '$got' (want one, byte-identical)"
done
echo "ok $N messages sent to itself through a lossy mix node all arrived once, byte-identical"

# let the last SURB-acks come back (retransmitting what is still lost), then collect the stats
sleep 5
[ "$(nc_events app '.event=="received"' | wc -l)" = "$N" ] ||
	fail "duplicates delivered to the app: $(nc_events app '.event=="received"' | wc -l) messages, want $N"
dropped=$(node_stat mix2 packets_dropped)
nc_app_stop app
nc_stop t
[ "$NC_STATUS" = 0 ] || fail "nym-client: exit status $NC_STATUS after SIGTERM"
grep "stats " "$T/t.log"
retrans=$(nc_stat t netd retransmissions)
sent=$(nc_stat t netd real_sent)
acks=$(nc_stat t netd acks)
[ "${dropped:-0}" -gt 0 ] || fail "mix2 dropped nothing (packets_dropped=${dropped:-none}): the test cannot fail"
[ "${retrans:-0}" -gt 0 ] || fail "netd: retransmissions=${retrans:-none}, want > 0 with mix2 dropping $dropped packets"
[ "${sent:-0}" -gt "${acks:-0}" ] || fail "netd: real_sent=$sent not above acks=$acks: nothing was sent again"
[ "$(nc_stat t apid messages_delivered)" = "$N" ] || fail "apid: messages_delivered=$(nc_stat t apid messages_delivered), want $N"
[ "$(nc_stat t apid unacked)" = 0 ] || fail "apid: $(nc_stat t apid unacked) fragments still unacknowledged after 5 s"
echo "ok mix2 dropped $dropped packets; netd retransmitted $retrans times (real_sent=$sent, acks=$acks); nothing unacked"
echo "PASS"
