#!/usr/bin/env bash
# nym-client with large messages: one 2 MB message and then a burst of five 1 MiB messages sent
# back to back to its own address (about 4,600 fragments in flight), main Poisson stream and loop
# cover off (`run --no-cover`, Nym's flag) so the pipeline runs at full speed (apid -> keyd ->
# netd and back). Every message
# must arrive byte-identical. This is the case where two processes sending each other more than
# a socket buffer holds would deadlock if any IPC send blocked. Exit 0 = pass.
set -euo pipefail
# shellcheck source=tests/integration/lib/nymclient.bash
. "$(dirname "$0")/lib/nymclient.bash"
nc_setup client-large

nc_init t
nc_run t --no-cover
nc_app app t
ADDR=$(nc_ready app) || fail "the app did not start"
[ "$ADDR" = "${NC_ADDR[t]}" ] || fail "selfAddress differs from init's address"

nc_cmd app "send self 2000000 big"
nc_cmd app "wait 1 60000"
W=$(nc_event app '.event=="wait"' 70) || fail "no answer to wait"
[ "$(jq -r .ok <<<"$W")" = true ] || fail "the 2 MB message did not arrive within 60 s"
got=$(nc_events app '.event=="received" and .len==2000000' | jq -r .sha256)
[ "$got" = "$(nc_payload_sha256 2000000 big)" ] || fail "the 2 MB message differs (sha256 $got)"
echo "ok a 2 MB message to itself arrived byte-identical"

for i in 1 2 3 4 5; do nc_cmd app "send self 1048576 m$i"; done
nc_cmd app "wait 6 120000"
W=$(nc_event app '.event=="wait" and .want==6' 130) || fail "no answer to the second wait"
[ "$(jq -r .ok <<<"$W")" = true ] || fail "only $(jq -r .received <<<"$W") of 6 messages arrived (burst of 5 x 1 MiB)"
for i in 1 2 3 4 5; do
	got=$(nc_events app ".event==\"received\" and .len==1048576" | jq -r .sha256 | grep -c "^$(nc_payload_sha256 1048576 "m$i")\$" || true)
	[ "$got" = 1 ] || fail "1 MiB message m$i arrived $got times"
done
echo "ok a burst of five 1 MiB messages arrived, each once and byte-identical"
nc_app_stop app
nc_stop t
[ "$NC_STATUS" = 0 ] || fail "nym-client: exit status $NC_STATUS after SIGTERM"
echo "ok $(grep -o 'stats netd: .*' "$NC_DIR/t.log" | tail -1)"
[ "$(nc_stat t netd cover_sent)" = 0 ] || fail "--no-cover: netd sent $(nc_stat t netd cover_sent) cover packets"
[ "$(nc_stat t netd retransmissions)" = 0 ] || echo "note: $(nc_stat t netd retransmissions) retransmissions in the burst"
echo PASS
