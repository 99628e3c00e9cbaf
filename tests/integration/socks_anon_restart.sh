#!/usr/bin/env bash
# nym-socks5-client in anonymous mode (init --use-reply-surbs true) on a localnet without delays
# and with --drop-rate 0.2 on the mix nodes: a 10 MB download sha256-identical, the client
# sending only anonymous messages (its anonymous_sent counts every request, messages_sent
# none) and SURBs with them; then the network requester killed mid-download and restarted:
# the client survives and a new connection downloads intact. Exit 0 = pass.
set -euo pipefail
LOCALNET_ARGS="--no-delay --drop-rate 0.2 ${LOCALNET_ARGS:-}"
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
s = json.load(sys.stdin)["socksd"]
assert s["anonymous_sent"] > 600 and s["messages_sent"] == 0, s
assert s["surbs_sent"] >= 20 + 3 * 600, s' || { echo "$j"; fail "not anonymous only"; }
echo "ok anonymous mode, drop rate 0.2: 10 MB intact, every request anonymous with SURBs"

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
