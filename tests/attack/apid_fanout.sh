#!/usr/bin/env bash
# Fan-out of received messages to apps that never read, with an 8 MiB buffer budget
# ([nymsuite] buffer_mib): FANOUT_BIN binary and FANOUT_JSON JSON websocket apps and
# FANOUT_UNIX Unix-socket apps ask selfAddress once and never read again; a websocket app
# sends itself FANOUT_COUNT messages of FANOUT_SIZE bytes and reads them, as does a Unix-socket
# app. apid's peak resident memory must stay under its start-up size + the budget + a fixed
# overhead (each message is encoded once and shared, not copied per app), the slow apps are
# closed (close 1008 / Nym's error response, "the app does not read what it is sent"), counted
# in `nymctl stats` and logged in one line, and both reading apps get every message
# byte-identical. On the apid that copied each message into every app's queue the peak grew
# by about apps x message size (see tests/attack/README.md). Exit 0 = pass.
set -euo pipefail
# shellcheck source=tests/attack/lib/attack.bash
. "$(dirname "$0")/lib/attack.bash"
ulimit -n 20000
N_BIN=${FANOUT_BIN:-300}
N_JSON=${FANOUT_JSON:-200}
N_UNIX=${FANOUT_UNIX:-300}
SIZE=${FANOUT_SIZE:-3000000}
COUNT=${FANOUT_COUNT:-4}
BUDGET_KB=$((8 * 1024))
OVERHEAD_KB=$((64 * 1024)) # the sent messages' fragments until acked, reassembly, IPC, allocator slack
NC_RUN_ARGS=--no-cover attack_client_up apid-fanout buffer_mib=8
BASE=$(rss_kb)
echo "apid at start: VmRSS $BASE kB; $((N_BIN + N_JSON + N_UNIX)) slow apps, $COUNT messages of $SIZE bytes"
$ATK fanout "$PORT" "$SOCK" "$ADMIN" "$N_BIN" "$N_JSON" "$N_UNIX" "$SIZE" "$COUNT" 50 >"$T/fanout.json" &
APP=$!
# watch the peak while it runs: the copying apid would take gigabytes, stop it early
while kill -0 "$APP" 2>/dev/null; do
	hwm=$(hwm_kb)
	if over_budget $((hwm - BASE)); then
		kill "$APP" 2>/dev/null || true
		fail "apid grew by $((hwm - BASE)) kB (VmHWM $hwm kB; budget $BUDGET_KB kB + $OVERHEAD_KB kB)"
	fi
	sleep 0.2
done
wait "$APP" || fail "the apps failed: $(cat "$T/fanout.json")"
R=$(cat "$T/fanout.json")
hwm=$(hwm_kb)
echo "apid VmRSS $(rss_kb) kB, VmHWM $hwm kB (+$((hwm - BASE)) kB); $(jq -c '.slow_outcomes, .seconds' <<<"$R" | tr '\n' ' ')"
! over_budget $((hwm - BASE)) ||
	fail "apid grew by $((hwm - BASE)) kB (budget $BUDGET_KB kB + $OVERHEAD_KB kB)"
echo "ok memory bounded by the budget$(asan_build && echo ' (not asserted: ASan build)')"
for who in ws unix; do
	jq -e --arg k "${who}_received" '.[$k] == .sent' <<<"$R" >/dev/null ||
		fail "the reading $who app did not get every message byte-identical: $(jq -c --arg k "${who}_received" '{sent, got: .[$k]}' <<<"$R")"
done
echo "ok the reading websocket and Unix-socket apps got all $COUNT messages byte-identical"
# every slow app was closed; what each saw last: the refusal, or the end of the stream
# (a Unix app cut inside a frame cannot be sent a frame more)
jq -e '.slow_outcomes | keys | all(test("open$") | not)' <<<"$R" >/dev/null ||
	fail "slow apps left open: $(jq -c .slow_outcomes <<<"$R")"
jq -e '.slow_outcomes | keys | all(test("^(bin|json): close 1008 the app does not read what it is sent$|^(bin|json|unix): closed$|^unix: error-response the app does not read what it is sent$"))' <<<"$R" >/dev/null ||
	fail "a slow app ended otherwise: $(jq -c .slow_outcomes <<<"$R")"
ws1008=$(jq '[.slow_outcomes | to_entries[] | select(.key | test("close 1008")) | .value] | add // 0' <<<"$R")
[ "$ws1008" -ge $(((N_BIN + N_JSON) / 2)) ] ||
	fail "only $ws1008 of $((N_BIN + N_JSON)) slow websocket apps saw close 1008: $(jq -c .slow_outcomes <<<"$R")"
echo "ok every slow app closed ($ws1008 websocket apps saw close 1008 with the reason)"
n=$(apid_stat slow_consumers_closed)
[ "$n" -ge $((N_BIN + N_JSON + N_UNIX)) ] || fail "slow_consumers_closed is $n"
n=$(grep -v "more like this in the last" "$T/client.log" | grep -c "apps closed as slow consumers" || true)
[ "$n" = 1 ] || fail "the closes were logged in $n lines, not 1"
echo "ok counted (slow_consumers_closed $(apid_stat slow_consumers_closed)) and logged once"
$ATK serve ws "$PORT" 5 | grep -q '"served"' || fail "no app served afterwards"
$ATK serve unix "$SOCK" 5 | grep -q '"served"' || fail "no Unix-socket app served afterwards"
echo "ok new apps served afterwards"
