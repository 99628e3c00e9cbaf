#!/usr/bin/env bash
# Thousands of apps: 4,096 websocket and 4,096 Unix-socket apps held at once (the default
# max_apps, 8192), each answered selfAddress; one more of each kind is refused cleanly (the
# websocket with close code 1013, the Unix socket with Nym's error response), the refusals
# are counted in `nymctl stats` and logged in one line; a freed slot serves a new app.
# On the old apid: 256 apps, then 101 and silence, and resets on the Unix socket. Exit 0 = pass.
set -euo pipefail
# shellcheck source=tests/attack/lib/attack.bash
. "$(dirname "$0")/lib/attack.bash"
ulimit -n 20000
attack_client_up apid-many
HOLD=$T/hold
touch "$HOLD"
PIDFILE_WAIT=$HOLD $ATK many "$PORT" "$SOCK" 4096 4096 1 20 >"$T/many.json" &
APP=$!
for _ in $(seq 600); do [ -s "$T/many.json" ] && break; sleep 0.2; done
[ -s "$T/many.json" ] || fail "the apps did not connect in 120 s"
cat "$T/many.json"
R=$(cat "$T/many.json")
[ "$(jq -r '.held_ws.served' <<<"$R")" = 4096 ] || fail "not every websocket app was served"
[ "$(jq -r '.held_unix.served' <<<"$R")" = 4096 ] || fail "not every Unix-socket app was served"
jq -e '.extra_ws[0] | startswith("closed 1013 ")' <<<"$R" >/dev/null ||
	fail "app 8193 (websocket) was not refused with 1013: $(jq -c .extra_ws <<<"$R")"
jq -e '.extra_unix[0] | startswith("error-response 255 too many apps")' <<<"$R" >/dev/null ||
	fail "app 8194 (Unix socket) did not get Nym's error response: $(jq -c .extra_unix <<<"$R")"
echo "ok 8192 apps held and served; the next ones refused with 1013 / an error response"
[ "$(apid_stat apps_connected)" -ge 8192 ] || fail "nymctl stats shows $(apid_stat apps_connected) apps"
[ "$(apid_stat apps_refused)" = 2 ] || fail "apps_refused is $(apid_stat apps_refused), not 2"
n=$(grep -v "more like this in the last" "$T/client.log" | grep -c "app connections refused: the app limit is reached" || true)
[ "$n" = 1 ] || fail "the refusals were logged in $n lines, not 1"
echo "ok refusals counted (apps_refused 2) and logged once; apid RSS $(rss_kb) kB with 8192 apps"
rm -f "$HOLD"
wait "$APP"
for _ in $(seq 50); do [ "$(apid_stat apps_connected)" = 0 ] && break; sleep 0.2; done
$ATK serve ws "$PORT" 5 | grep -q '"served"' || fail "no app served after the others left"
echo "ok once the apps left, a new app is served"
