#!/usr/bin/env bash
# Latency-based gateway selection (Nym's --latency-based-selection: 3 websocket pings to every
# candidate, weighted draw by 1/average latency) on a localnet of three gateways whose client
# fronts add 0, 150 and 400 ms to every chunk from the client (`nym-localnet --gateway-delays`),
# first over wss (`--tls`: every gateway announces localhost + a wss port), then over ws (the
# host names removed from the descriptors: the announced ws ports, behind the same delays).
# For each transport, RUNS inits with --latency-based-selection: every run measures all three
# gateways and orders them gateway1 < gateway3 (what the delays guarantee), the full order
# 1 < 2 < 3 holds in most runs, and gateway1 (the fast one) is chosen in most runs. Assertions
# are on order and majority, never on absolute times. Exit 0 = pass.
set -euo pipefail
# shellcheck source=tests/integration/lib/nymclient.bash
. "$(dirname "$0")/lib/nymclient.bash"
LOCALNET_ARGS="--gateways 3 --gateway-delays 0,150,400 --tls --no-network-requester"
RUNS=${RUNS:-8}
nc_setup client-latency
read -r G1 G2 G3 <<<"$GATEWAY_IDS"
[ -n "$G3" ] || fail "three gateways expected: $GATEWAY_IDS"

# init_gateway FILE: "ID URL" of the gateway an init registered with, from its output (Nym's
# "Gateway ID:" and "Gateway:" lines, or our older "Registered with the gateway ID (URL)");
# the URL without Url's trailing "/"
init_gateway() {
	local id url
	id=$(sed -n 's/^Gateway ID: //p; s/^Registered with the gateway \([^ ]*\) .*/\1/p' "$1" | head -1)
	url=$(sed -n 's/^Gateway: //p; s/^Registered with the gateway [^ ]* (\(.*\))$/\1/p' "$1" | head -1)
	echo "$id ${url%/}"
}
# latency ID FILE: the average latency init printed for gateway ID (ms), empty if none
latency() { sed -n "s/^gateway $1 (.*): average latency \([0-9.]*\) ms over [0-9]* pings$/\1/p" "$2"; }
lt() { awk -v a="$1" -v b="$2" 'BEGIN { exit !(a < b) }'; }

series() { # MODE SCHEME [init flags]: RUNS inits, checks, prints a summary
	local mode=$1 scheme=$2 i f l1 l2 l3 chosen fast=0 ordered=0
	shift 2
	for i in $(seq "$RUNS"); do
		f=$T/$mode.$i.init
		"$BIN/nym-client" init --id "$mode$i" --home "$NC_HOME" --nym-apis "$NYM_API" \
			--latency-based-selection "$@" >"$f" 2>&1 || { cat "$f"; fail "$mode init $i"; }
		grep -q "^choosing gateway by latency, pinging 3 gateways" "$f" || { cat "$f"; fail "$mode $i: not 3 measured"; }
		grep -q "^gateway $G1 ($scheme://" "$f" || { cat "$f"; fail "$mode $i: not measured over $scheme"; }
		l1=$(latency "$G1" "$f") l2=$(latency "$G2" "$f") l3=$(latency "$G3" "$f")
		[ -n "$l1" ] && [ -n "$l2" ] && [ -n "$l3" ] || { cat "$f"; fail "$mode $i: a gateway has no measurement"; }
		lt "$l1" "$l3" || { cat "$f"; fail "$mode $i: gateway1 ($l1 ms) not faster than gateway3 ($l3 ms)"; }
		lt "$l1" "$l2" && lt "$l2" "$l3" && ordered=$((ordered + 1))
		read -r chosen url <<<"$(init_gateway "$f")"
		[ -n "$chosen" ] && [ "${url%%://*}" = "$scheme" ] || { cat "$f"; fail "$mode $i: did not register over $scheme"; }
		grep -q "^chose gateway $chosen with average latency" "$f" || { cat "$f"; fail "$mode $i: draw and registration differ"; }
		[ "$chosen" = "$G1" ] && fast=$((fast + 1))
	done
	[ $((2 * ordered)) -gt "$RUNS" ] || fail "$mode: latencies ordered 1 < 2 < 3 in only $ordered of $RUNS runs"
	[ $((2 * fast)) -gt "$RUNS" ] || fail "$mode: the fast gateway chosen in only $fast of $RUNS runs"
	echo "ok $mode: $RUNS inits, gateway1 fastest measured in every run, order 1<2<3 in $ordered, gateway1 chosen in $fast (last: $l1 / $l2 / $l3 ms)"
}

series wss wss --force-tls-gateway
nc_localnet_edit all '/^hostname = /d'
series ws ws
echo PASS
