#!/usr/bin/env bash
# A 2-worker nym-mixnode shares one replay set between its workers: every packet is sent
# twice, each copy on its own connection (the node hands connections to its workers in turn,
# so the copies are processed by different workers, at the same time); exactly one copy of
# each is forwarded. Also: both workers did work, stats sum over the workers, and the node
# stops cleanly on SIGTERM. Chain: mix1 (2 workers) -> mix2 (no --workers: one per online
# core, the default) -> mix3 (2 workers) -> nym-inject sink. Exit 0 = pass.
set -euo pipefail
# shellcheck source=lib/mixnode.bash
. "$(dirname "$0")/lib/mixnode.bash"
mixnode_setup mixnode-workers
stat_of() { sed -n "s/.*\"$2\":\([0-9]*\).*/\1/p" "$T/net/run/$1.stats"; }
wait_stat() { # node counter value: waits up to 10 s for the counter to reach value
	for _ in $(seq 100); do
		[ "$(stat_of "$1" "$2")" = "$3" ] && return 0; sleep 0.1
	done
	fail "$1 $2 = $(stat_of "$1" "$2"), expected $3"
}
sink_val() { sed -n "s/.*\"$1\":\([0-9]*\).*/\1/p" "$T/sink.json"; }

"$BIN/nym-localnet" gen --dir "$T/net" --no-delay >/dev/null
W=("--workers 2" "" "--workers 2")
for i in 0 1 2; do
	n=mix$((i + 1))
	# shellcheck disable=SC2086 # the flag and its value, or nothing
	"$BIN/nym-mixnode" --config "$T/net/nodes/$n.toml" ${W[$i]} >"$T/$n.log" 2>&1 &
	PIDS+=($!)
done
"$BIN/nym-inject" sink --config "$T/net/nodes/gateway1.toml" --report "$T/sink.json" >"$T/sink.log" 2>&1 &
PIDS+=($!)
for n in mix1 mix2 mix3; do
	for _ in $(seq 200); do [ -f "$T/net/run/$n.ready" ] && break; sleep 0.05; done
	[ -f "$T/net/run/$n.ready" ] || fail "$n not ready"
done
for _ in $(seq 200); do [ -f "$T/sink.json" ] && break; sleep 0.05; done
grep -q "2 workers" "$T/mix1.log" || fail "mix1 did not start 2 workers"

# 200 packets, each sent twice: copy 1 on connection A, copy 2 on connection B
N=200
"$BIN/nym-inject" send --topology "$T/net/topology.json" --count $N --repeat 2 --spread 2 || fail "send"
wait_stat mix1 packets_in $((2 * N))
wait_stat mix1 replays $N
wait_stat mix1 worker0_packets_in $N
wait_stat mix1 worker1_packets_in $N
wait_stat mix1 packets_out $N
wait_stat mix1 workers 2
cores=$(nproc)
wait_stat mix2 workers $((cores > 64 ? 64 : cores))
wait_stat mix3 packets_out $N
for _ in $(seq 200); do [ "$(sink_val valid)" = $N ] && break; sleep 0.05; done
[ "$(sink_val valid)" = $N ] || fail "sink got $(sink_val valid)/$N valid packets"
[ "$(sink_val duplicates)" = 0 ] || fail "a replayed packet reached the sink: $(cat "$T/sink.json")"
[ "$(stat_of mix2 replays)" = 0 ] || fail "mix2 saw replays"

# 20 new packets spread over two connections (no copies): all forwarded
"$BIN/nym-inject" send --topology "$T/net/topology.json" --count 20 --spread 2 --first-seq 1000 || fail "send 2"
wait_stat mix1 packets_in $((2 * N + 20))
wait_stat mix1 packets_out $((N + 20))
for _ in $(seq 200); do [ "$(sink_val valid)" = $((N + 20)) ] && break; sleep 0.05; done
[ "$(sink_val valid)" = $((N + 20)) ] || fail "sink got $(sink_val valid)/$((N + 20)) valid packets"
[ "$(sink_val duplicates)" = 0 ] || fail "duplicates at the sink"

for i in 0 1 2; do
	kill -TERM "${PIDS[$i]}"
	rc=0; timeout 10 tail --pid="${PIDS[$i]}" -f /dev/null || fail "node $i did not stop"
	wait "${PIDS[$i]}" || rc=$?
	[ $rc = 0 ] || fail "node $i exit status $rc after SIGTERM"
done
# the final stats write sums the workers after they stopped
[ "$(stat_of mix1 packets_out)" = $((N + 20)) ] || fail "final packets_out $(stat_of mix1 packets_out)"
echo "ok: 2 workers, replays across workers dropped, stats summed, SIGTERM"
