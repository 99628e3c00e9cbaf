#!/usr/bin/env bash
# The reply store with the REAL Nym wasm client (nym-client.mjs) on a localnet with two gateways:
# the wasm client sends our nym-client an anonymous message with 20 reply SURBs; ours is
# stopped (SIGTERM) and its persistent_reply_store.sqlite holds them; ours runs again, our app
# replies through the sender tag of the first run, and the wasm client gets the reply
# (byte-identical, no sender tag). Exit 0 = pass.
set -u
# shellcheck source=tests/interop/lib/localnet.bash
. "$(dirname "$0")/lib/localnet.bash"
# shellcheck source=tests/integration/lib/nymclient.bash
. "$IT_DIR/../integration/lib/nymclient.bash"
it_init reply_store_wasm 240
nc_check_tools
NC_DIR=$IT_NET/ours
NC_HOME=$NC_DIR/home
mkdir -p "$NC_DIR"
fail() { it_die "$*"; }

it_up --no-network-requester --no-delay --gateways 2
nc_init ours --gateway "$GATEWAY_ID_1"
nc_run ours
IT_PID[ours]=${NC_PID[ours]}
nc_app app ours
IT_PID[app]=${NC_APP_PID[app]}
A=$(nc_ready app 60) || { cat "$NC_DIR/ours.log"; it_die "our nym-client's app did not start"; }
it_client w --gateway "$GATEWAY_ID_2" --timeout-ms 220000
W=$(it_ready w) || it_die "the wasm client did not start"
it_log "ours: $A"
it_log "wasm: $W"

# shellcheck disable=SC2317 # (called through it_check)
app_got() { nc_event "$1" ".event==\"received\" and .len==$2" "${3:-30}" >/dev/null; }
# shellcheck disable=SC2317
wasm_got() { it_event w ".event==\"received\" and .len==$1" "${2:-30}" >/dev/null; }

it_cmd w "sendanon $A 600 20 wa1"
it_check "ours received the wasm client's anonymous message" app_got app 600 60
TAG=$(nc_events app '.event=="received" and .len==600' | jq -r '.sender_tag // empty' | head -1)
it_check "the anonymous message carries a sender tag ($TAG)" test -n "$TAG"
[ -n "$TAG" ] || it_finish

sleep 3 # its acks
nc_app_stop app
unset "IT_PID[app]"
nc_stop ours
unset "IT_PID[ours]"
it_eq "ours: exit status after SIGTERM" "$NC_STATUS" 0
DB=$NC_HOME/.nym/clients/ours/data/persistent_reply_store.sqlite
SURBS=$("$NC_PY" -c 'import sqlite3, sys
db = sqlite3.connect(f"file:{sys.argv[1]}?mode=ro", uri=True)
print(db.execute("SELECT count(*) FROM reply_surb").fetchone()[0])' "$DB" 2>&1)
it_eq "ours: the store holds the wasm client's 20 SURBs" "$SURBS" 20

nc_run ours
IT_PID[ours]=${NC_PID[ours]}
nc_app app2 ours
IT_PID[app2]=${NC_APP_PID[app2]}
nc_ready app2 60 >/dev/null || { tail -20 "$NC_DIR/ours.log"; it_die "ours did not start again"; }
it_check "ours loaded the SURBs at its second start" \
	grep -q "reply store: [0-9]* reply keys and 20 reply SURBs of 1 senders loaded" "$NC_DIR/ours.log"
nc_cmd app2 "reply $TAG 3000 or1"
it_check "the wasm client received our reply after our restart" wasm_got 3000 60
it_eq "wasm: 3000 B reply, once, sha256" \
	"$(it_events w '.event=="received" and .len==3000' | jq -r .sha256 | paste -sd, -)" \
	"$(nc_payload_sha256 3000 or1)"
it_eq "wasm: the reply carries no sender tag" \
	"$(it_events w '.event=="received" and .len==3000 and .sender_tag != null' | wc -l)" 0

nc_app_stop app2
unset "IT_PID[app2]"
nc_stop ours
unset "IT_PID[ours]"
it_eq "ours: exit status after the second SIGTERM" "$NC_STATUS" 0
it_cmd w quit
it_finish
