#!/usr/bin/env bash
# nym-mixnode --drop-rate 0.5 on layer 1 of a 3-layer loopback chain (delays off): of 400
# packets, between 25% and 75% reach the sink, and the node's packets_dropped counter agrees
# with what was lost. Exit 0 = pass.
set -euo pipefail
# shellcheck source=lib/mixnode.bash
. "$(dirname "$0")/lib/mixnode.bash"
mixnode_setup mixnode-drop
stat_of() { sed -n "s/.*\"$2\":\([0-9]*\).*/\1/p" "$T/net/run/$1.stats"; }
sink_val() { sed -n "s/.*\"$1\":\([0-9]*\).*/\1/p" "$T/sink.json"; }

"$BIN/nym-localnet" gen --dir "$T/net" --no-delay >/dev/null
"$BIN/nym-mixnode" --config "$T/net/nodes/mix1.toml" --drop-rate 0.5 >"$T/mix1.log" 2>&1 &
PIDS+=($!)
for n in mix2 mix3; do
	"$BIN/nym-mixnode" --config "$T/net/nodes/$n.toml" >"$T/$n.log" 2>&1 &
	PIDS+=($!)
done
"$BIN/nym-inject" sink --config "$T/net/nodes/gateway1.toml" --report "$T/sink.json" >"$T/sink.log" 2>&1 &
PIDS+=($!)
for n in mix1 mix2 mix3; do
	for _ in $(seq 100); do [ -f "$T/net/run/$n.ready" ] && break; sleep 0.05; done
	[ -f "$T/net/run/$n.ready" ] || fail "$n not ready"
done
for _ in $(seq 100); do [ -f "$T/sink.json" ] && break; sleep 0.05; done

"$BIN/nym-inject" send --topology "$T/net/topology.json" --count 400 || fail "send"
# wait until mix1 has seen all 400 and the rest of the chain is idle
for _ in $(seq 100); do [ "$(stat_of mix1 packets_in)" = 400 ] && break; sleep 0.1; done
[ "$(stat_of mix1 packets_in)" = 400 ] || fail "mix1 saw $(stat_of mix1 packets_in)/400"
dropped=$(stat_of mix1 packets_dropped)
expect=$((400 - dropped))
for _ in $(seq 100); do [ "$(sink_val valid)" = "$expect" ] && break; sleep 0.1; done
got=$(sink_val valid)
echo "dropped $dropped of 400, sink got $got"
[ "$got" = "$expect" ] || fail "sink got $got, expected 400 - $dropped"
[ "$got" -ge 100 ] && [ "$got" -le 300 ] || fail "$got of 400 arrived: not within 25%-75%"
[ "$(sink_val bad)" = 0 ] || fail "bad packets at the sink"
[ "$(stat_of mix2 packets_dropped)" = 0 ] || fail "mix2 dropped packets at drop rate 0"
echo "ok: drop rate"
