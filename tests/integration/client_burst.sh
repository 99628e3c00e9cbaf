#!/usr/bin/env bash
# nym-client under a burst, as the browser benchmark sends: 300 anonymous 1 KiB messages with
# 10 reply SURBs each, sent back to back to its own address, Sphinx delays, ack delays and cover
# off on a localnet without delays, so the only waits are our own processes' queues. Every
# message must arrive, and fewer than a quarter of the fragments may be sent again: every ack
# comes back within milliseconds, so a timer that fires ran while its ack waited behind keyd's
# packet building (the browser client sent 249 of 400 again before its key Worker took the
# frames netd sent first; natively the socket buffer bounds keyd's backlog). Exit 0 = pass.
set -euo pipefail
LOCALNET_ARGS="--no-delay --no-network-requester"
# shellcheck source=tests/integration/lib/nymclient.bash
. "$(dirname "$0")/lib/nymclient.bash"
nc_setup client-burst
N=${BURST:-300}

nc_init t
nc_debug t traffic average_packet_delay '{ secs = 0, nanos = 0 }'
nc_debug t acknowledgements average_ack_delay "'0ms'"
nc_run t --no-cover
nc_app app t
ADDR=$(nc_ready app) || fail "the app did not start"
[ "$ADDR" = "${NC_ADDR[t]}" ] || fail "selfAddress differs from init's address"

for i in $(seq "$N"); do echo "sendanon self 1024 10 b$i"; done | while read -r l; do nc_cmd app "$l"; done
nc_cmd app "wait $N 300000"
W=$(nc_event app ".event==\"wait\" and .want==$N" 320) || fail "no answer to wait"
[ "$(jq -r .ok <<<"$W")" = true ] || fail "only $(jq -r .received <<<"$W") of $N messages arrived"
echo "ok a burst of $N x 1 KiB with 10 reply SURBs each arrived"
sleep 3 # the last acks
nc_app_stop app
nc_stop t
[ "$NC_STATUS" = 0 ] || fail "nym-client: exit status $NC_STATUS after SIGTERM"
echo "ok $(grep -o 'stats netd: .*' "$NC_DIR/t.log" | tail -1)"
retx=$(nc_stat t netd retransmissions) acks=$(nc_stat t netd acks)
[ -n "$retx" ] && [ -n "$acks" ] || fail "no netd stats line"
[ "$acks" -ge "$N" ] || fail "only $acks fragments acked"
[ $((retx * 4)) -lt "$acks" ] || fail "$retx of $acks fragments were sent again in the burst (every ack came back)"
echo PASS
