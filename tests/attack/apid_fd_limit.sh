#!/usr/bin/env bash
# nym-client with 256 file descriptors (soft and hard) and 300 websocket apps at once: apid
# serves what fits (its app and connection limits follow its descriptor limit), refuses the
# rest at once (close 1013 or HTTP 503) instead of leaving them hanging, does not spin (its
# CPU time over 5 s of held connections stays under 0.5 s), logs it, and serves new apps once
# others leave. On the old apid the accept watcher fired forever at 100 % of a core and new
# connections hung. Exit 0 = pass.
set -euo pipefail
# shellcheck source=tests/attack/lib/attack.bash
. "$(dirname "$0")/lib/attack.bash"
ulimit -n 4096
NC_ULIMIT=256 attack_client_up apid-fdlimit
HOLD=$T/hold
touch "$HOLD"
PIDFILE_WAIT=$HOLD $ATK many "$PORT" "$SOCK" 300 0 0 5 >"$T/many.json" &
APP=$!
for _ in $(seq 300); do [ -s "$T/many.json" ] && break; sleep 0.1; done
[ -s "$T/many.json" ] || fail "the apps got no answer in 30 s"
R=$(cat "$T/many.json")
echo "$R" | jq -c .held
served=$(jq -r '.held.served // 0' <<<"$R")
refused=$(jq -r '[.held | to_entries[] | select(.key == "closed 1013" or (.key | startswith("error ConnectionError"))) | .value] | add // 0' <<<"$R")
[ "$served" -ge 150 ] || fail "only $served apps served"
[ $((served + refused)) = 300 ] || fail "$((300 - served - refused)) connections neither served nor refused"
t0=$(cpu_ticks)
sleep 5
used=$(($(cpu_ticks) - t0))
echo "apid CPU over 5 s with $served apps held at its limit: $used ticks"
[ "$used" -lt 50 ] || fail "apid used $used ticks (1/100 s) in 5 s: it spins"
grep -Eq "connections refused or delayed: out of file descriptors|app connections refused" "$T/client.log" ||
	fail "the refusals were not logged"
echo "ok $served served, $refused refused at once, apid idle at its limit, logged"
rm -f "$HOLD"
wait "$APP"
sleep 1
$ATK serve ws "$PORT" 5 | grep -q '"served"' || fail "no app served after the others left"
$ATK serve unix "$SOCK" 5 | grep -q '"served"' || fail "no Unix app served after the others left"
echo "ok new apps served once the others left"
