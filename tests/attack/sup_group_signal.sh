#!/usr/bin/env bash
# A signal to the suite's whole process group is a signal to the supervisor (issue 8, item 7:
# `kill -- -PGID` or timeout(1) lost ~1,150 unacknowledged fragments silently with status 0,
# or ended with "keyd killed by signal 15"). With mix2 stopped (nothing is acknowledged) an
# app sends a message of several hundred fragments to the client itself; then:
#   1. the suite started with setsid, `kill -TERM -- -PGID`: every fragment persisted, status 0;
#   2. the next run (it resends them) under `timeout -s TERM --preserve-status`: when timeout
#      signals the group, every fragment is persisted again, status 0;
#   3. the next run started with setsid, SIGINT to the group (Ctrl-C): the same.
# Never a "killed by signal" line. Exit 0 = pass.
set -euo pipefail
# shellcheck source=tests/attack/lib/sup.bash
. "$(dirname "$0")/lib/sup.bash"
sup_setup sup-group-signal

check_stop() { # what a group signal must leave: status 0, N persisted, the file with N records
	local what=$1 run_log
	run_log=$(sed -n '/^=== run/h; /^=== run/!H; ${x;p}' "$T/client.log")
	[ "$RC" = 0 ] || fail "$what: status $RC"
	grep -q "killed by signal" <<<"$run_log" && fail "$what: a child was killed by the signal"
	grep -q "supervisor\]: $N fragments persisted, 0 dropped" <<<"$run_log" ||
		fail "$what: no '$N fragments persisted, 0 dropped' line"
	sup_parse_unsent "$N" >/dev/null || fail "$what: the unsent file does not hold the $N fragments"
	echo "ok $what: status 0, $N fragments persisted, no child killed by the signal"
}

sup_start setsid
sup_wait_ready 30 || fail "the suite did not start"
sup_wait_gateway
sup_send_unacked 400000
N=$UNACKED
[ "$N" -ge 200 ] || fail "only $N unacknowledged fragments"
kill -TERM -- "-$CPID"
sup_wait_exit 60
check_stop "kill -TERM -- -PGID with $N unacknowledged fragments"

# timeout(1) signals its own process group: run it in a group of its own
sup_start setsid timeout -s TERM --preserve-status 6
sup_wait_ready 30 || fail "the suite did not start under timeout"
sup_wait_exit 60
grep -q "$N persisted fragments resent" "$T/client.log" || fail "no resend under timeout"
check_stop "timeout -s TERM (group signal, after the resend)"

sup_start setsid
sup_wait_ready 30 || fail "the suite did not start"
sleep 1
kill -INT -- "-$CPID"
sup_wait_exit 60
check_stop "SIGINT to the group (Ctrl-C)"
echo "PASS"
