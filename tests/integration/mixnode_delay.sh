#!/usr/bin/env bash
# Delays on: packets whose Sphinx headers ask each of the 3 mix nodes for 70 ms (210 ms in
# all) reach the sink no earlier than 210 ms after they were built (only lower bounds are
# checked, never an upper one). A zero-delay batch through the same nodes is checked the
# same way. Exit 0 = pass.
set -euo pipefail
# shellcheck source=lib/mixnode.bash
. "$(dirname "$0")/lib/mixnode.bash"
mixnode_setup mixnode-delay
sink_val() { sed -n "s/.*\"$1\":\([0-9.]*\).*/\1/p" "$T/sink.json"; }

"$BIN/nym-localnet" gen --dir "$T/net" >/dev/null
grep -q '^no_delay = false' "$T/net/nodes/mix1.toml" || fail "descriptor has delays off"
for n in mix1 mix2 mix3; do
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

"$BIN/nym-inject" send --topology "$T/net/topology.json" --count 20 --delay-ms 70 || fail "send"
for _ in $(seq 100); do [ "$(sink_val valid)" = 20 ] && break; sleep 0.1; done
[ "$(sink_val valid)" = 20 ] || fail "sink got $(sink_val valid)/20"
[ "$(sink_val early)" = 0 ] || fail "$(sink_val early) packets arrived before their 210 ms of delays"
echo "delayed batch: smallest margin over 210 ms = $(sink_val min_margin_ms) ms"
"$BIN/nym-inject" send --topology "$T/net/topology.json" --count 20 --first-seq 100 || fail "send 0"
for _ in $(seq 100); do [ "$(sink_val valid)" = 40 ] && break; sleep 0.1; done
[ "$(sink_val valid)" = 40 ] || fail "sink got $(sink_val valid)/40"
[ "$(sink_val early)" = 0 ] || fail "early packets"
echo "ok: delays"
