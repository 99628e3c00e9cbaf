#!/usr/bin/env bash
# Our nym-client (with an app on its websocket API, tests/integration/lib/nymapp.py) and the REAL
# Nym wasm client (nym-client.mjs) on a localnet with two gateways: ours on gateway1, the wasm one
# on gateway2. Both apps use the same deterministic payloads, so every message is checked by
# length and SHA-256 (computed here). Parts:
#   1. plain ours -> wasm: 1000 B and 100 KB; wasm -> ours: 2000 B and 100 KB (no sender tag)
#   2. wasm sendAnonymous (10 SURBs) -> ours receives with a sender tag; our app replies through
#      it -> the wasm client gets the reply
#   3. our app sendAnonymous (10 SURBs) -> the wasm client receives with a sender tag; it replies
#      -> our app gets the reply
#   4. a 40 KB reply each way to an anonymous message that carried only 3 SURBs: the replier must
#      ask the sender for more SURBs (replenishment) before the reply can go out
# Each part is checked on its own and the test reports which parts failed.
set -u
# shellcheck source=tests/interop/lib/localnet.bash
. "$(dirname "$0")/lib/localnet.bash"
# shellcheck source=tests/integration/lib/nymclient.bash
. "$IT_DIR/../integration/lib/nymclient.bash"
it_init nymclient_wasm 170
nc_check_tools
NC_DIR=$IT_NET/ours
NC_HOME=$NC_DIR/home
mkdir -p "$NC_DIR"
# (nymclient.bash's fail is for its own prologue; here a setup failure ends the test)
fail() { it_die "$*"; }

it_up --no-network-requester --no-delay --gateways 2
nc_init ours --gateway "$GATEWAY_ID_1"
nc_run ours
IT_PID[ours]=${NC_PID[ours]}
nc_app app ours
IT_PID[app]=${NC_APP_PID[app]}
A=$(nc_ready app) || { cat "$NC_DIR/ours.log"; it_die "our nym-client's app did not start"; }
it_eq "our client's address (selfAddress = init's)" "$A" "${NC_ADDR[ours]}"
it_client w --gateway "$GATEWAY_ID_2" --timeout-ms 160000
W=$(it_ready w) || it_die "the wasm client did not start"
it_log "ours: $A"
it_log "wasm: $W"

# shellcheck disable=SC2317 # (called through it_check)
# app_got LEN [s]: our app has received a message of LEN bytes (waits); wasm_got likewise
app_got() { nc_event app ".event==\"received\" and .len==$1" "${2:-20}" >/dev/null; }
# shellcheck disable=SC2317
wasm_got() { it_event w ".event==\"received\" and .len==$1" "${2:-20}" >/dev/null; }
# received_sha SIDE LEN: the SHA-256 of every message of LEN bytes SIDE received (comma separated)
received_sha() {
	local cond=".event==\"received\" and .len==$2"
	if [ "$1" = app ]; then nc_events app "$cond"; else it_events w "$cond"; fi | jq -r .sha256 | paste -sd, -
}
received_tag() {
	local cond=".event==\"received\" and .len==$2"
	if [ "$1" = app ]; then nc_events app "$cond"; else it_events w "$cond"; fi | jq -r '.sender_tag // empty' | head -1
}
PARTS_FAILED=()
part() { # part NAME: remembers the fail count at the start of part NAME
	PART=$1
	PART_FAILS=$IT_FAIL
	it_log "--- part $PART"
}
part_end() { [ "$IT_FAIL" = "$PART_FAILS" ] || PARTS_FAILED+=("$PART"); }

part "1 plain both ways, 1000 B / 2000 B and 100 KB (byte-identical)"
nc_cmd app "send $W 1000 ow1"
nc_cmd app "send $W 100000 ow2"
it_check "wasm received the 1000 B message from ours" wasm_got 1000 30
it_check "wasm received the 100 KB message from ours" wasm_got 100000 30
it_eq "wasm: 1000 B from ours, once, sha256" "$(received_sha w 1000)" "$(nc_payload_sha256 1000 ow1)"
it_eq "wasm: 100 KB from ours, once, sha256" "$(received_sha w 100000)" "$(nc_payload_sha256 100000 ow2)"
it_cmd w "send $A 2000 wo1"
it_cmd w "send $A 100000 wo2"
it_check "ours received the 2000 B message from wasm" app_got 2000 30
it_check "ours received the 100 KB message from wasm" app_got 100000 30
it_eq "ours: 2000 B from wasm, once, sha256" "$(received_sha app 2000)" "$(nc_payload_sha256 2000 wo1)"
it_eq "ours: 100 KB from wasm, once, sha256" "$(received_sha app 100000)" "$(nc_payload_sha256 100000 wo2)"
it_eq "plain messages carry no sender tag (both sides)" \
	"$(nc_events app '.event=="received" and .sender_tag != null' | wc -l)/$(it_events w '.event=="received" and .sender_tag != null' | wc -l)" 0/0
part_end

part "2 wasm sendAnonymous -> ours (sender tag), our reply -> wasm"
it_cmd w "sendanon $A 600 10 wa1"
it_check "ours received the anonymous message" app_got 600 10
it_eq "ours: 600 B anonymous, once, sha256" "$(received_sha app 600)" "$(nc_payload_sha256 600 wa1)"
TAG=$(received_tag app 600)
it_check "ours: the anonymous message carries a sender tag ($TAG)" test -n "$TAG"
if [ -n "$TAG" ]; then
	nc_cmd app "reply $TAG 3000 or1"
	it_check "wasm received our reply" wasm_got 3000 10
	it_eq "wasm: 3000 B reply, once, sha256" "$(received_sha w 3000)" "$(nc_payload_sha256 3000 or1)"
	it_eq "wasm: the reply carries no sender tag" "$(it_events w '.event=="received" and .len==3000 and .sender_tag != null' | wc -l)" 0
fi
part_end

part "3 ours sendAnonymous -> wasm (sender tag), wasm reply -> ours"
nc_cmd app "sendanon $W 700 10 oa1"
it_check "wasm received the anonymous message" wasm_got 700 10
it_eq "wasm: 700 B anonymous, once, sha256" "$(received_sha w 700)" "$(nc_payload_sha256 700 oa1)"
TAG2=$(received_tag w 700)
it_check "wasm: the anonymous message carries a sender tag ($TAG2)" test -n "$TAG2"
if [ -n "$TAG2" ]; then
	it_cmd w "reply $TAG2 3500 wr1"
	it_check "ours received the wasm client's reply" app_got 3500 10
	it_eq "ours: 3500 B reply, once, sha256" "$(received_sha app 3500)" "$(nc_payload_sha256 3500 wr1)"
	it_eq "ours: the reply carries no sender tag" "$(nc_events app '.event=="received" and .len==3500 and .sender_tag != null' | wc -l)" 0
fi
part_end

# 40 KB = 26 fragments: 3 SURBs are not enough, the replier asks for more (nym's
# minimum_reply_surb_request_size 10 per request)
part "4 40 KB replies through 3 SURBs (SURB replenishment) both ways"
if [ -z "$TAG" ] || [ -z "$TAG2" ]; then
	it_check "part 4 needs anonymous messages both ways (parts 2 and 3): skipped" false
else
it_cmd w "sendanon $A 500 3 wa2"
nc_cmd app "sendanon $W 400 3 oa2"
it_check "ours received the 3-SURB anonymous message" app_got 500 10
it_check "wasm received the 3-SURB anonymous message" wasm_got 400 10
TAG3=$(received_tag app 500)
TAG4=$(received_tag w 400)
[ -n "$TAG3" ] && nc_cmd app "reply $TAG3 40000 or2"
[ -n "$TAG4" ] && it_cmd w "reply $TAG4 41000 wr2"
it_check "wasm received our 40 KB reply" wasm_got 40000 20
it_eq "wasm: 40000 B reply, once, sha256" "$(received_sha w 40000)" "$(nc_payload_sha256 40000 or2)"
it_check "ours received the wasm client's 41 KB reply" app_got 41000 20
it_eq "ours: 41000 B reply, once, sha256" "$(received_sha app 41000)" "$(nc_payload_sha256 41000 wr2)"
fi
part_end

# our client stays up, answers errors sensibly, and stops cleanly
nc_app_stop app
unset "IT_PID[app]"
it_check "our nym-client is still running" kill -0 "${NC_PID[ours]}"
nc_stop ours
unset "IT_PID[ours]"
it_eq "our nym-client: exit status after SIGTERM" "$NC_STATUS" 0
grep stats "$NC_DIR/ours.log" | sed "s/^/$IT_NAME: /"
# part 4 really replenished: each side had too few SURBs for its reply and asked for more
if [ -n "${TAG3:-}" ]; then
	part "4 (replenishment counters)"
	it_gt "part 4: ours asked the wasm client for more SURBs (keyd surb_requests_sent)" \
		"$(nc_stat ours keyd surb_requests_sent)" 0
	it_gt "part 4: ours served the wasm client's requests for more SURBs (apid surb_requests_served)" \
		"$(nc_stat ours apid surb_requests_served)" 0
	part_end
fi
it_cmd w quit
if [ ${#PARTS_FAILED[@]} -gt 0 ]; then
	it_log "parts that FAILED: $(printf '[%s] ' "${PARTS_FAILED[@]}")"
	tail -20 "$NC_DIR/ours.log" | sed "s/^/$IT_NAME: ours.log: /"
fi
it_finish
