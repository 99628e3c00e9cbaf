#!/usr/bin/env bash
# The unsent-messages file as a symlink (issue 8, item 8: read with O_NOFOLLOW but written
# without, so message contents were appended to a file the attacker chose). The rule: a
# symlink (or any non-regular file) there is never followed. At start it is refused and set
# aside (renamed, like a corrupt file: the link itself moves, never its target); at a stop the
# new list is written to a new file (O_EXCL|O_NOFOLLOW) and renamed over whatever is there.
#   1. data/nymsuite-unsent.bin -> a file outside, before the start; fragments unacknowledged
#      (mix2 stopped), SIGTERM;
#   2. the real file replaced by such a symlink while the suite runs, and
#      nymsuite-unsent.bin.new planted as a symlink too; SIGTERM.
# Safe outcome: the target's bytes never change; the suite says why at start; each stop has
# status 0 and leaves a regular 0600 file with every fragment. Exit 0 = pass.
set -euo pipefail
# shellcheck source=tests/attack/lib/sup.bash
. "$(dirname "$0")/lib/sup.bash"
sup_setup sup-unsent-symlink
OUT=$T/outside.txt
printf 'precious bytes the attacker wants overwritten\n' >"$OUT"
SUM=$(sha256sum <"$OUT")
ln -s "$OUT" "$UNSENT"

check_stop() {
	[ "$RC" = 0 ] || fail "$1: status $RC"
	[ "$(sha256sum <"$OUT")" = "$SUM" ] || fail "$1: the symlink's target was written"
	[ -L "$UNSENT" ] && fail "$1: $UNSENT is still a symlink"
	[ -f "$UNSENT" ] || fail "$1: no $UNSENT"
	[ "$(stat -c %a "$UNSENT")" = 600 ] || fail "$1: mode $(stat -c %a "$UNSENT")"
	sup_parse_unsent "$N" >/dev/null || fail "$1: the file does not hold the $N fragments"
	[ -e "$UNSENT.new" ] || [ -L "$UNSENT.new" ] && fail "$1: $UNSENT.new left behind"
	echo "ok $1: target unchanged, a regular 0600 file with $N fragments, status 0"
}

sup_start
sup_wait_ready 30 || fail "the suite did not start"
grep -q "nymsuite-unsent.bin is corrupt at byte 0 (a symbolic link, not followed)" "$T/client.log" ||
	fail "the refused symlink is not reported"
[ "$(sha256sum <"$OUT")" = "$SUM" ] || fail "the target changed at start"
sup_wait_gateway
sup_send_unacked 20000
N=$UNACKED
kill -TERM "$CPID"
sup_wait_exit 60
check_stop "a symlink planted before the start"

sup_start
sup_wait_ready 30 || fail "the second run did not start"
sup_wait_gateway
ln -sf "$OUT" "$UNSENT"
ln -sf "$OUT" "$UNSENT.new"
kill -TERM "$CPID"
sup_wait_exit 60
check_stop "symlinks planted while running (the file and its .new)"
echo "PASS"
