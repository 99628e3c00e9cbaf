#!/usr/bin/env bash
# nym-socks5-client in anonymous mode (init --use-reply-surbs true) on a localnet without delays:
# a 10 MB download sha256-identical, every fragment that came back a reply through our SURBs
# (keyd's replies_received equals its fragments), SURBs sent with the requests and the
# requester's SURB requests served; then the network requester killed mid-download and restarted:
# the client survives and a new connection downloads intact. Exit 0 = pass.
set -euo pipefail
LOCALNET_ARGS="--no-delay ${LOCALNET_ARGS:-}"
OWN_NR=1 # this test kills and restarts the requester
# shellcheck source=tests/integration/lib/socks.bash
. "$(dirname "$0")/lib/socks.bash"
socks_up socks-anon --use-reply-surbs true
P=127.0.0.1:$SPORT
URL=http://127.0.0.1:$HPORT/big.bin
got=$(sha_of curl -sS -m 300 --socks5-hostname "$P" "$URL") || fail "anonymous download"
[ "$got" = "$WANT" ] || fail "anonymous: sha256 differs"
j=$(ctl stats --json)
echo "$j" | "$PY" -c '
import json, sys
j = json.load(sys.stdin)
s, k = j["socksd"], j["keyd"]
assert k["fragments"] > 7000 and k["replies_received"] == k["fragments"], k
assert s["surbs_sent"] >= 20 and s["surb_requests_served"] > 0, s' || { echo "$j"; fail "not replies through SURBs only"; }
echo "ok anonymous mode: 10 MB intact, every fragment back through our SURBs"

curl -sS -m 300 --socks5-hostname "$P" -o "$T/partial" "$URL" 2>/dev/null &
CURL=$!
sleep 3
kill "$NRPID"; wait "$NRPID" 2>/dev/null || true
sleep 1
kill "$CURL" 2>/dev/null || true; wait "$CURL" 2>/dev/null || true
kill -0 "$SPID" || fail "the SOCKS client died with the requester"
nr_start
got=$(sha_of curl -sS -m 300 --socks5-hostname "$P" "$URL") || fail "download after the restart"
[ "$got" = "$WANT" ] || fail "after the restart: sha256 differs"
echo "ok requester killed mid-download and restarted: the client survived, a new download intact"
echo PASS
