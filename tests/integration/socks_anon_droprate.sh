#!/usr/bin/env bash
# nym-socks5-client in anonymous mode (--use-reply-surbs true) on a lossy localnet
# (--drop-rate 0.2 on every mix node, no delays: about half of all packets and half of all acks
# are lost): a 500 KB download through our network requester sha256-identical, every byte back
# through reply SURBs, most of them sent on the requester's SURB requests, which it must
# retransmit when they are lost (and must not give up on its queued replies while they are).
# Plain mode under loss is socks_droprate.sh. The ack wait is shortened to 400 ms on both sides
# (as in client_droprate.sh) so that the run stays short. Prints how long the download took.
# Exit 0 = pass.
set -euo pipefail
LOCALNET_ARGS="--no-delay --drop-rate 0.2 ${LOCALNET_ARGS:-}"
OWN_NR=1 # its ack wait is set below
# shellcheck source=tests/integration/lib/nymclient.bash
. "$(dirname "$0")/lib/nymclient.bash"
# shellcheck source=tests/integration/lib/socks.bash
. "$(dirname "$0")/lib/socks.bash"
# (the SOCKS client's base-client tables are under [core], as in Nym's template)
socks_configure() { nc_toml_set "$1" core.debug.acknowledgements ack_wait_addition "'400ms'"; }
nr_configure() { nc_toml_set "$1" debug.acknowledgements ack_wait_addition "'400ms'"; }
SIZE=500000

download() {
	local mode=$1 t0 t1 got
	t0=$(date +%s)
	got=$(sha_of curl -sS -m 900 --socks5-hostname "127.0.0.1:$SPORT" "http://127.0.0.1:$HPORT/f.bin") ||
		fail "$mode download"
	t1=$(date +%s)
	[ "$got" = "$FWANT" ] || fail "$mode: sha256 differs"
	echo "ok $mode: $SIZE bytes intact through a lossy mixnet in $((t1 - t0)) s"
}

socks_up socks-anon-droprate --use-reply-surbs true
head -c $SIZE "$T/www/big.bin" >"$T/www/f.bin"
FWANT=$(sha256sum <"$T/www/f.bin" | cut -d' ' -f1)
for _ in $(seq 100); do # SURBs need the topology
	grep -q 'gateway session ready' "$T/socks.log" && break
	sleep 0.1
done
download anonymous
j=$(ctl stats --json)
echo "$j" | "$PY" -c '
import json, sys
j = json.load(sys.stdin)
s, k, n = j["socksd"], j["keyd"], j["netd"]
assert k["fragments"] > 300 and k["replies_received"] == k["fragments"], k
assert s["surb_requests_served"] > 0 and n["retransmissions"] > 0, (s, n)' ||
	{ echo "$j"; fail "not replies through SURBs, or no loss"; }
echo "ok anonymous mode: every fragment back through our SURBs, SURB requests served"
echo PASS
