#!/usr/bin/env bash
# A 3-layer chain of real nym-mixnode processes on loopback (keys and descriptors from
# `nym-localnet gen`, delays off) ending at a nym-inject sink that holds the gateway's key.
# Checks: real Sphinx packets arrive processed (final-hop plaintext intact, 100/100); a
# replayed packet is dropped and counted; garbage / a bad version / a bad size tag close only
# their own connection (one log line naming the peer and the reason) while another connection
# keeps flowing; version-8 frames are accepted; SIGTERM exits 0. Exit 0 = pass.
set -euo pipefail
# shellcheck source=lib/mixnode.bash
. "$(dirname "$0")/lib/mixnode.bash"
mixnode_setup mixnode-chain
stat_of() { # node counter -> value from the stats file (waits for the next write)
	sed -n "s/.*\"$2\":\([0-9]*\).*/\1/p" "$T/net/run/$1.stats"
}
wait_stat() { # node counter value: waits up to 5 s for the counter to reach value
	for _ in $(seq 50); do
		[ "$(stat_of "$1" "$2")" = "$3" ] && return 0; sleep 0.1
	done
	fail "$1 $2 = $(stat_of "$1" "$2"), expected $3"
}
sink_val() { sed -n "s/.*\"$1\":\([0-9]*\).*/\1/p" "$T/sink.json"; }

"$BIN/nym-localnet" gen --dir "$T/net" --no-delay >/dev/null
for n in mix1 mix2 mix3; do
	"$BIN/nym-mixnode" --config "$T/net/nodes/$n.toml" --workers 2 >"$T/$n.log" 2>&1 &
	PIDS+=($!)
done
"$BIN/nym-inject" sink --config "$T/net/nodes/gateway1.toml" --report "$T/sink.json" >"$T/sink.log" 2>&1 &
SINK=$!
PIDS+=($SINK)
for n in mix1 mix2 mix3; do
	for _ in $(seq 100); do [ -f "$T/net/run/$n.ready" ] && break; sleep 0.05; done
	[ -f "$T/net/run/$n.ready" ] || fail "$n not ready"
done
for _ in $(seq 100); do [ -f "$T/sink.json" ] && break; sleep 0.05; done
MIX1=$(sed -n 's/^mix_port = //p' "$T/net/nodes/mix1.toml")

# 1. 100 packets through the chain
"$BIN/nym-inject" send --topology "$T/net/topology.json" --count 100 || fail "send"
for _ in $(seq 100); do [ "$(sink_val valid)" = 100 ] && break; sleep 0.05; done
[ "$(sink_val valid)" = 100 ] || fail "sink got $(sink_val valid)/100 valid packets"
[ "$(sink_val bad)" = 0 ] || fail "sink saw bad packets"
for n in mix1 mix2 mix3; do wait_stat $n packets_in 100; wait_stat $n packets_out 100; done

# 2. replay: every packet sent twice -> the node drops the second copy and counts it
"$BIN/nym-inject" send --topology "$T/net/topology.json" --count 5 --repeat 2 --first-seq 100 || fail "send replay"
wait_stat mix1 replays 5
wait_stat mix1 packets_in 110
wait_stat mix2 packets_in 105
[ "$(sink_val duplicates)" = 0 ] || fail "a replayed packet reached the sink: $(cat $T/sink.json)"

# 3. garbage on connection A closes A only; B (opened before) keeps flowing
"$BIN/nym-inject" send --topology "$T/net/topology.json" --count 20 --garbage-after 10 --first-seq 200 || fail "garbage send"
# a bad version (6), an unsupported one (9) and a bad size tag (9): each closes its connection
"$BIN/nym-inject" raw --to 127.0.0.1:$MIX1 --hex 060100aabb || fail "version 6 not closed"
"$BIN/nym-inject" raw --to 127.0.0.1:$MIX1 --hex 09010000aabb || fail "version 9 not closed"
"$BIN/nym-inject" raw --to 127.0.0.1:$MIX1 --hex 070900aabb || fail "size tag 9 not closed"
# version-8 frames with a rotation byte are processed too (rotation 1 = odd, the key's parity)
"$BIN/nym-inject" send --topology "$T/net/topology.json" --count 5 --frame-version 8 --rotation 1 --first-seq 300 || fail "v8 send"
# even parity names a key mix1 does not have: dropped as an error, nothing forwarded
"$BIN/nym-inject" send --topology "$T/net/topology.json" --count 1 --frame-version 8 --rotation 2 --first-seq 400 || fail "v8 even"
for _ in $(seq 100); do [ "$(sink_val valid)" = 130 ] && break; sleep 0.05; done
[ "$(sink_val valid)" = 130 ] || fail "sink got $(sink_val valid)/130 valid packets after garbage"
wait_stat mix1 connections_closed_bad 4
grep -q "closing connection from 127.0.0.1:[0-9]*: bad packet version" "$T/mix1.log" || fail "no log line for version 6"
grep -q "closing connection from 127.0.0.1:[0-9]*: unsupported packet version" "$T/mix1.log" || fail "no log line for version 9"
grep -q "closing connection from 127.0.0.1:[0-9]*: bad packet size tag" "$T/mix1.log" || fail "no log line for size tag"
[ "$(grep -c 'closing connection' "$T/mix1.log")" = 4 ] || fail "expected 4 close lines"
wait_stat mix1 decode_errors 5

# 4. SIGTERM: exit 0, quickly
for i in 0 1 2; do
	kill -TERM "${PIDS[$i]}"
	rc=0; timeout 5 tail --pid="${PIDS[$i]}" -f /dev/null || fail "node $i did not stop"
	wait "${PIDS[$i]}" || rc=$?
	[ $rc = 0 ] || fail "node $i exit status $rc after SIGTERM"
done
grep -q stopping "$T/mix1.log" || fail "no stop line"
echo "ok: chain, replay, garbage, versions, SIGTERM"
