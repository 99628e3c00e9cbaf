#!/usr/bin/env bash
# Memory floods against apid with a 64 MiB buffer budget ([nymsuite] buffer_mib): one, then two
# websocket apps sending pings without reading the pongs, then eight Unix-socket apps each
# sending half of a 30 MiB frame. apid's peak resident memory must stay under its start-up
# size + the budget + a fixed overhead, and another app is served during each flood. On the old
# apid one ping flood took it from 91 MB to 544 MB, two to 1.75 GB, the frames to 298 MB.
# Exit 0 = pass.
set -euo pipefail
# shellcheck source=tests/attack/lib/attack.bash
. "$(dirname "$0")/lib/attack.bash"
BUDGET_KB=$((64 * 1024))
OVERHEAD_KB=$((48 * 1024)) # allocator slack, wslay's per-frame structures, stacks
attack_client_up apid-floods buffer_mib=64
BASE=$(rss_kb)
echo "apid at start: VmRSS $BASE kB"
HOLD=$T/hold

flood() { # NAME COMMAND...: runs the flood, checks memory and service while it holds
	local name=$1 hwm
	shift
	touch "$HOLD"
	HOLD=$HOLD $ATK "$@" >"$T/$name.json" &
	local pid=$!
	for _ in $(seq 300); do [ -s "$T/$name.json" ] && break; sleep 0.1; done
	$ATK serve ws "$PORT" 5 >"$T/$name.serve" || true
	$ATK serve unix "$SOCK" 5 >>"$T/$name.serve" || true
	hwm=$(hwm_kb)
	echo "$name: $(cat "$T/$name.json"); apid VmRSS $(rss_kb) kB, VmHWM $hwm kB (+$((hwm - BASE)) kB)"
	rm -f "$HOLD"
	wait "$pid" || true
	[ "$(grep -c '"served"' "$T/$name.serve")" = 2 ] || fail "$name: other apps not served: $(cat "$T/$name.serve")"
	! over_budget $((hwm - BASE)) ||
		fail "$name: apid grew by $((hwm - BASE)) kB (budget $BUDGET_KB kB + $OVERHEAD_KB kB)"
	echo "ok $name: memory bounded$(asan_build && echo ' (not asserted: ASan build)'), another websocket and Unix-socket app served meanwhile"
}

flood ping1 ping-flood "$PORT" 1 8
flood ping2 ping-flood "$PORT" 2 8
flood unix8 unix-flood "$SOCK" 8 $((30 << 20)) 15
[ "$(apid_stat reads_paused)" -gt 0 ] || fail "the budget never paused a reader"
echo "ok budget peak $(apid_stat buffer_peak_bytes) bytes of $(apid_stat buffer_limit_bytes)"
