#!/usr/bin/env bash
# Idle-slot attacks with short timeouts ([nymsuite] handshake_timeout = 2s, partial_timeout =
# 3s): a websocket whose upgrade request never ends, a websocket message left unfinished (a
# first fragment, then nothing), a binary frame half sent inside one websocket frame, and a
# Unix-socket frame announced and half sent, each closed once its timeout passes (the
# websocket ones with close 1008), counted in `nymctl stats` and logged; an app that connected
# and just listens stays connected. On the old apid each such connection was held forever.
# Exit 0 = pass.
set -euo pipefail
# shellcheck source=tests/attack/lib/attack.bash
. "$(dirname "$0")/lib/attack.bash"
attack_client_up apid-idle handshake_timeout='"2s"' partial_timeout='"3s"'
$ATK idle "$PORT" "$SOCK" 12 >"$T/idle.json"
cat "$T/idle.json"
R=$(cat "$T/idle.json")
check() { # NAME JQ-TEST: the connection ended as it should, within the time given
	jq -e ".$1 | $2" <<<"$R" >/dev/null || fail "$1: $(jq -c ".$1" <<<"$R")"
}
check handshake '.outcome == "closed" and .seconds >= 1.5 and .seconds < 6'
check fragment '(.outcome | startswith("close 1008")) and .seconds >= 2.5 and .seconds < 8'
check half_frame '(.outcome | startswith("close 1008")) and .seconds >= 2.5 and .seconds < 8'
check unix_frame '.outcome == "closed" and .seconds >= 2.5 and .seconds < 8'
check listener '.outcome == "open"'
check unix_listener '.outcome == "open"'
echo "ok every unfinished handshake, message and frame closed after its timeout; idle apps kept"
[ "$(apid_stat handshake_timeouts)" = 1 ] || fail "handshake_timeouts $(apid_stat handshake_timeouts)"
[ "$(apid_stat partial_timeouts)" = 3 ] || fail "partial_timeouts $(apid_stat partial_timeouts)"
grep -q "websocket handshakes not completed in time" "$T/client.log" || fail "handshake timeout not logged"
grep -q "unfinished messages without progress" "$T/client.log" || fail "partial timeout not logged"
echo "ok counted in nymctl stats and logged"
