#!/usr/bin/env bash
# nym-socks5-client (plain mode, not anonymous) on a lossy localnet: `nym-localnet up --no-delay
# --drop-rate 0.2` with the drop rate left on mix2 only (the only layer-2 node, so on every
# route: a fifth of every packet and SURB-ack lost, as client_droprate.sh). curl fetches a 10 MB
# file through a network requester of the test's own with --socks5-hostname: sha256-identical,
# which needs the retransmissions of both sides (the requester's NetworkData, our Sends, the
# SURB-acks; ack_wait_addition 400 ms on both, else 10 MB take minutes behind the 30-packet lane
# window). Checks that the loss and the retransmissions really happened: mix2's
# packets_dropped > 0 and the requester's netd retransmissions > 0. Exit 0 = pass.
set -euo pipefail
LOCALNET_ARGS="--no-delay --drop-rate 0.2 ${LOCALNET_ARGS:-}"
LOSSY_NODE=mix2
ACK_WAIT=400ms
OWN_NR=1
# shellcheck source=tests/integration/lib/socks.bash
. "$(dirname "$0")/lib/socks.bash"
socks_up socks-droprate
URL=http://127.0.0.1:$HPORT/big.bin
t0=$(date +%s)
got=$(sha_of curl -sS -m 600 --socks5-hostname "127.0.0.1:$SPORT" "$URL") || fail "download under loss"
[ "$got" = "$WANT" ] || fail "under loss: sha256 differs"
echo "ok 10 MB under --drop-rate 0.2 sha256-identical ($(( $(date +%s) - t0 )) s)"

sleep 1 # the node stats files are rewritten every second
dropped=$(sed -n 's/.*"packets_dropped":\([0-9]*\).*/\1/p' "$T/net/run/mix2.stats")
[ "${dropped:-0}" -gt 0 ] || fail "mix2 dropped nothing"
retx=$("$BIN/nymctl" --kind nr --id nr --home "$T/home" stats --json |
	"$PY" -c 'import json, sys; print(json.load(sys.stdin)["netd"]["retransmissions"])') ||
	fail "nymctl --kind nr stats"
[ "$retx" -gt 0 ] || fail "the requester retransmitted nothing"
echo "ok the loss was real: $dropped packets dropped at mix2, $retx retransmissions by the requester"
echo PASS
