#!/usr/bin/env bash
# Persisted messages are not lost (issue 8, item 6: a restart resent 37,167 persisted fragments
# and deleted the file; a SIGTERM 16 s later gave "apid did not hand over its queue within
# 5 s" and nothing was written: the whole 60 MB message was gone). With mix2 stopped, a
# SIZE-byte message (default 24 MB, ~15,000 fragments) to the client itself:
#   1. SIGTERM: every fragment persisted (hand-over time measured);
#   2. the next run resends them; SIGTERM some seconds later, before any ack: the file still
#      holds every fragment (status 0);
#   3. the next run resends them; the supervisor is SIGKILLed: the file is still there, whole,
#      and no child is left;
#   4. the next run, with mix2 running again: the message arrives, byte-identical.
# Exit 0 = pass.
set -euo pipefail
# shellcheck source=tests/attack/lib/sup.bash
. "$(dirname "$0")/lib/sup.bash"
SIZE=${SIZE:-24000000}
SUP_RUN_ARGS=--no-cover
sup_setup sup-persist-large

stop_timed() {
	local t0
	t0=$(date +%s.%N)
	kill -TERM "$CPID"
	sup_wait_exit 120
	ELAPSED=$(echo "$(date +%s.%N) - $t0" | bc)
}

sup_start
sup_wait_ready 30 || fail "the suite did not start"
sup_wait_gateway
sup_send_unacked "$SIZE"
N=$UNACKED
[ "$N" -ge 10000 ] || fail "only $N unacknowledged fragments"
stop_timed
[ "$RC" = 0 ] || fail "first SIGTERM: status $RC"
sup_parse_unsent "$N" >/dev/null || fail "first SIGTERM: the file does not hold $N fragments"
echo "ok SIGTERM with $N unacknowledged fragments ($SIZE bytes): all persisted, stop took ${ELAPSED}s, file $(stat -c %s "$UNSENT") bytes"

sup_start
sup_wait_ready 30 || fail "the second run did not start"
for _ in $(seq 300); do grep -q "$N persisted fragments resent" "$T/client.log" && break; sleep 0.1; done
grep -q "$N persisted fragments resent" "$T/client.log" || fail "no resend of $N fragments"
[ -f "$UNSENT" ] || fail "the file was removed at the resend"
sleep 8 # apid rebuilds them meanwhile (the issue's SIGTERM came 16 s after the resend)
stop_timed
run_log=$(sed -n '/^=== run/h; /^=== run/!H; ${x;p}' "$T/client.log")
[ "$RC" = 0 ] || fail "SIGTERM after the resend: status $RC"
grep -q "supervisor\]: $N fragments persisted, 0 dropped" <<<"$run_log" || fail "not every fragment handed over after the resend"
sup_parse_unsent "$N" >/dev/null || fail "after the resend: the file does not hold $N fragments"
echo "ok SIGTERM 8 s after resending $N fragments: all persisted again, stop took ${ELAPSED}s"

sup_start
sup_wait_ready 30 || fail "the third run did not start"
for _ in $(seq 300); do [ "$(grep -c "$N persisted fragments resent" "$T/client.log")" -ge 2 ] && break; sleep 0.1; done
mapfile -t KIDS < <(sup_kids | awk '{print $1}')
kill -KILL "$CPID"
sup_wait_exit 10
sleep 0.5
# (orphans go to init; a zombie that init has not reaped yet is no process left behind)
for k in "${KIDS[@]}"; do
	st=$(awk '{print $3}' "/proc/$k/stat" 2>/dev/null || echo X)
	[ "$st" = X ] || [ "$st" = Z ] || fail "child $k left behind after the supervisor's SIGKILL (state $st)"
done
sup_parse_unsent "$N" >/dev/null || fail "after a SIGKILL following the resend: the file does not hold $N fragments"
echo "ok SIGKILL of the supervisor after the resend: the file still holds all $N fragments, no child left"

kill -CONT "$PAUSED"
PAUSED=
sup_start
sup_wait_ready 30 || fail "the last run did not start"
timeout 85 "$PY" "$SUP_LIB/send.py" "$SOCK" "$SIZE" recv >"$T/recv.out" 2>&1 ||
	{ cat "$T/recv.out"; json_of stats || true; fail "the persisted message did not arrive"; }
grep -qx "RECEIVED $SIZE" "$T/recv.out" || fail "received something else"
echo "ok the next run delivered the $SIZE-byte message from the persisted fragments"
echo "PASS"
