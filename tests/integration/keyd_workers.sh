#!/usr/bin/env bash
# keyd's builder threads ([nymsuite] keyd_workers, issue 12). nym-client with keyd_workers = 2
# sends a burst to itself (300 anonymous 1 KiB messages with 10 reply SURBs each, delays and
# cover off, as client_burst.sh): every message arrives intact, every fragment is acked and
# fewer than a quarter are sent again (the frames leave keyd in the order apid asked for
# them), and keyd runs as 2 threads, each under the seccomp filter with no_new_privs (the
# filter is installed on every thread). Then the benchmark baseline, NYMSUITE_KEYD_WORKERS=1
# NYMSUITE_SPHINX_CHAIN=1 (one thread, headers built with the X25519 chain), still delivers;
# and a NYMSUITE_KEYD_WORKERS or keyd_workers out of range is refused at the start. Exit 0 = pass.
set -euo pipefail
LOCALNET_ARGS="--no-delay --no-network-requester"
# shellcheck source=tests/integration/lib/nymclient.bash
. "$(dirname "$0")/lib/nymclient.bash"
nc_setup keyd-workers
N=${BURST:-300}

# keyd_pid ID: keyd's pid of ID's run (its "started keyd" line), once the three are ready
keyd_pid() {
	local log=$NC_DIR/$1.log end=$((SECONDS + 60)) n
	# the log may not exist yet: nc_run starts the client in the background
	while n=$(grep -c ' ready (sandboxed: yes)' "$log" 2>/dev/null) || n=0; [ "$n" -lt 3 ]; do
		[ $SECONDS -lt $end ] || fail "$1: the children did not become ready"
		sleep 0.2
	done
	sed -n 's/.*started keyd \([0-9]*\),.*/\1/p' "$log" | tail -1
}
# check_threads PID WANT: PID has WANT threads, each with Seccomp 2 and NoNewPrivs 1
check_threads() {
	local pid=$1 want=$2 n task
	n=$(find "/proc/$pid/task" -mindepth 1 -maxdepth 1 | wc -l)
	[ "$n" = "$want" ] || fail "keyd $pid has $n threads, want $want"
	for task in "/proc/$pid"/task/*; do
		grep -q '^Seccomp:[[:space:]]*2$' "$task/status" || fail "keyd thread $task: no seccomp filter"
		grep -q '^NoNewPrivs:[[:space:]]*1$' "$task/status" || fail "keyd thread $task: no no_new_privs"
	done
}
# burst ID APP COUNT: COUNT messages to ID's own address, all arrive intact
burst() {
	local id=$1 app=$2 count=$3 addr w
	nc_app "$app" "$id"
	addr=$(nc_ready "$app") || fail "$app did not start"
	[ "$addr" = "${NC_ADDR[$id]}" ] || fail "selfAddress differs from init's address"
	for i in $(seq "$count"); do echo "sendanon self 1024 10 b$i"; done |
		while read -r l; do nc_cmd "$app" "$l"; done
	nc_cmd "$app" "wait $count 300000"
	w=$(nc_event "$app" ".event==\"wait\" and .want==$count" 320) || fail "$app: no answer to wait"
	[ "$(jq -r .ok <<<"$w")" = true ] || fail "$app: only $(jq -r .received <<<"$w") of $count messages arrived"
	sleep 3 # the last acks
	nc_app_stop "$app"
}
# acked ID COUNT: after the stop, every fragment acked and fewer than a quarter sent again
acked() {
	local retx acks built
	retx=$(nc_stat "$1" netd retransmissions) acks=$(nc_stat "$1" netd acks)
	built=$(nc_stat "$1" keyd built)
	[ -n "$retx" ] && [ -n "$acks" ] && [ -n "$built" ] || fail "$1: no netd or keyd stats line"
	[ "$acks" -ge "$2" ] || fail "$1: only $acks fragments acked"
	[ "$built" -ge "$acks" ] || fail "$1: keyd built $built packets, $acks acked"
	[ $((retx * 4)) -lt "$acks" ] || fail "$1: $retx of $acks fragments were sent again"
	echo "ok $1: keyd built=$built, netd acks=$acks retransmissions=$retx"
}

nc_init t
nc_debug t traffic average_packet_delay '{ secs = 0, nanos = 0 }'
nc_debug t acknowledgements average_ack_delay "'0ms'"
nc_toml_set "$(nc_config t)" nymsuite keyd_workers 2 || fail "cannot set keyd_workers"
nc_run t --no-cover
KEYD=$(keyd_pid t)
grep -q 'keyd\]: packet builds on 2 cores (1 builder threads)' "$NC_DIR/t.log" || fail "keyd did not start 1 builder thread"
check_threads "$KEYD" 2
echo "ok keyd_workers = 2: keyd $KEYD runs 2 threads, each Seccomp 2, NoNewPrivs 1"
burst t app "$N"
check_threads "$KEYD" 2
echo "ok a burst of $N x 1 KiB with 10 reply SURBs each arrived through 2 build threads"
nc_stop t
[ "$NC_STATUS" = 0 ] || fail "nym-client: exit status $NC_STATUS after SIGTERM"
acked t "$N"

# the benchmark baseline: one thread, the chain
nc_init c
nc_debug c traffic average_packet_delay '{ secs = 0, nanos = 0 }'
nc_debug c acknowledgements average_ack_delay "'0ms'"
NYMSUITE_KEYD_WORKERS=1 NYMSUITE_SPHINX_CHAIN=1 nc_run c --no-cover
KEYD=$(keyd_pid c)
grep -q 'keyd\]: Sphinx headers built with the X25519 chain' "$NC_DIR/c.log" || fail "NYMSUITE_SPHINX_CHAIN=1 not taken"
! grep -q 'keyd\]: packet builds on' "$NC_DIR/c.log" || fail "NYMSUITE_KEYD_WORKERS=1 started threads"
check_threads "$KEYD" 1
M=$((N / 3))
burst c capp "$M"
nc_stop c
[ "$NC_STATUS" = 0 ] || fail "nym-client c: exit status $NC_STATUS after SIGTERM"
acked c "$M"
echo "ok NYMSUITE_KEYD_WORKERS=1 NYMSUITE_SPHINX_CHAIN=1: one thread, the chain, $M messages arrived"

# out of range: refused before anything starts
for bad in 65 -1 two; do
	NYMSUITE_KEYD_WORKERS=$bad timeout 60 "$BIN/nym-client" run --id c --home "$NC_HOME" \
		>"$NC_DIR/bad.log" 2>&1 && fail "NYMSUITE_KEYD_WORKERS=$bad: run did not fail"
	grep -q 'NYMSUITE_KEYD_WORKERS must be a number 0..64' "$NC_DIR/bad.log" ||
		{ cat "$NC_DIR/bad.log"; fail "NYMSUITE_KEYD_WORKERS=$bad: no clear error"; }
done
NYMSUITE_SPHINX_CHAIN=yes timeout 60 "$BIN/nym-client" run --id c --home "$NC_HOME" \
	>"$NC_DIR/bad.log" 2>&1 && fail "NYMSUITE_SPHINX_CHAIN=yes: run did not fail"
grep -q 'NYMSUITE_SPHINX_CHAIN must be 0 or 1' "$NC_DIR/bad.log" || fail "NYMSUITE_SPHINX_CHAIN=yes: no clear error"
nc_toml_set "$(nc_config c)" nymsuite keyd_workers 65 || fail "cannot set keyd_workers"
timeout 60 "$BIN/nym-client" run --id c --home "$NC_HOME" >"$NC_DIR/bad.log" 2>&1 &&
	fail "keyd_workers = 65: run did not fail"
grep -q 'nymsuite.keyd_workers` is out of range (0..64)' "$NC_DIR/bad.log" ||
	{ cat "$NC_DIR/bad.log"; fail "keyd_workers = 65: no clear error"; }
echo "ok NYMSUITE_KEYD_WORKERS 65/-1/two, NYMSUITE_SPHINX_CHAIN=yes and keyd_workers = 65 refused"
echo PASS
