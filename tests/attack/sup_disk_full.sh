#!/usr/bin/env bash
# Disk full at SIGTERM (issue 8: "a disk-full SIGTERM exits 0 after dropping 1,037
# fragments"). The data folder is a small tmpfs (we run as root). With mix2 stopped, a first
# run persists ~250 unacknowledged fragments (a complete file); the folder is then filled up
# to ~64 KiB free, the next run resends them and an app sends ~250 more; SIGTERM: the new
# list cannot be written. Safe outcome: status 3 and a line saying how many fragments could
# not be written and why, the previous file kept byte for byte (still a complete list that
# parses), no .new file left behind. Exit 0 = pass.
set -euo pipefail
# shellcheck source=tests/attack/lib/sup.bash
. "$(dirname "$0")/lib/sup.bash"
[ "$(id -u)" = 0 ] || { echo "SKIP: needs root (mount -t tmpfs)"; exit 0; }
sup_setup sup-disk-full
MOUNTED=
# (no exit here: the trap goes on to client_localnet_cleanup, which stops the localnet; the
# script keeps its own exit status)
disk_cleanup() {
	if [ -n "$CPID" ]; then kill "$CPID" 2>/dev/null || true; wait "$CPID" 2>/dev/null || true; CPID=; fi
	[ -z "$MOUNTED" ] || umount "$D" || umount -l "$D" || true
}
trap 'disk_cleanup; client_localnet_cleanup' EXIT
mv "$D" "$D.orig"
mkdir -m 700 "$D"
mount -t tmpfs -o size=4m,mode=0700 tmpfs "$D"
MOUNTED=1
cp -a "$D.orig/." "$D/"

sup_start
sup_wait_ready 30 || fail "the suite did not start"
sup_wait_gateway
sup_send_unacked 400000
N=$UNACKED
kill -TERM "$CPID"
sup_wait_exit 60
[ "$RC" = 0 ] || fail "first stop (room enough): status $RC"
sup_parse_unsent "$N" >/dev/null || fail "first stop: the file does not hold $N fragments"
SUM=$(sha256sum <"$UNSENT")
echo "ok first stop: $N fragments persisted (room enough), status 0"

sup_start
sup_wait_ready 30 || fail "the second run did not start"
sup_wait_gateway
grep -q "$N persisted fragments resent" "$T/client.log" || fail "no resend"
sup_send_unacked 400000
M=$UNACKED
[ "$M" -gt "$N" ] || fail "expected more than $N unacknowledged fragments, got $M"
# leave ~64 KiB: far less than the new list (about $M x 1.7 KB)
avail=$(df --output=avail -B1 "$D" | tail -1)
fallocate -l $((avail - 65536)) "$D/filler" 2>/dev/null || head -c $((avail - 65536)) /dev/zero >"$D/filler"
kill -TERM "$CPID"
sup_wait_exit 60
run_log=$(sed -n '/^=== run/h; /^=== run/!H; ${x;p}' "$T/client.log")
[ "$RC" = 3 ] || fail "disk full at SIGTERM: status $RC, want 3"
grep -q "fragments could not be written to nymsuite-unsent.bin (No space left on device); the previous file was kept unchanged" <<<"$run_log" ||
	fail "no line saying what could not be written and why"
grep -q "but fragments were lost: " <<<"$run_log" || fail "no closing reason line"
[ "$(sha256sum <"$UNSENT")" = "$SUM" ] || fail "the previous (complete) file was changed"
sup_parse_unsent "$N" >/dev/null || fail "the kept file does not parse"
[ -e "$UNSENT.new" ] && fail "$UNSENT.new left behind"
echo "ok disk full at SIGTERM with $M unacknowledged: status 3, '$(grep -o '[0-9]* fragments could not be written[^;]*' <<<"$run_log" | head -1)', the previous file ($N fragments) kept unchanged"
rm -f "$D/filler"
echo "PASS"
