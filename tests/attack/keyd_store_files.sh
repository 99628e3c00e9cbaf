#!/usr/bin/env bash
# Hostile reply store files (data/persistent_reply_store.sqlite, read by keyd before its
# sandbox, its new image renamed into place by the supervisor):
#   1. the store is a symlink to a file outside: never followed (refused and set aside at the
#      start, the link itself moved), the target's bytes never change, the stop leaves a
#      regular 0600 store;
#   2. while the client runs, <store>.new is replaced by a symlink to that file: the
#      supervisor does not rename it (not a regular file of the announced length) and removes
#      the link; the target is unchanged;
#   3. a store writable by others, and one that is not a database at all: each refused with
#      the reason, set aside (<store>._<time>.corrupted), and the client runs and stops with
#      status 0;
#   4. a database with Nym's schema and 200,000 reply keys (more than keyd loads): refused as
#      over the bound, set aside, nothing loaded.
# Exit 0 = pass.
set -euo pipefail
# shellcheck source=tests/integration/lib/nymclient.bash
. "$(dirname "$0")/../integration/lib/nymclient.bash"
nc_setup keyd-store-files
nc_init a
D=$NC_HOME/.nym/clients/a/data
DB=$D/persistent_reply_store.sqlite
OUT=$T/outside.txt
printf 'precious bytes the attacker wants overwritten\n' >"$OUT"
SUM=$(sha256sum <"$OUT")
unchanged() { [ "$(sha256sum <"$OUT")" = "$SUM" ] || fail "$1: the symlink's target was written"; }
started() {
	for _ in $(seq 600); do grep -q "keyd ready" "$NC_DIR/a.log" 2>/dev/null && return 0; sleep 0.1; done
	fail "a did not start"
}
run_stop() { # one run; its log from this run only in $T/run.log
	: >"$NC_DIR/a.log"
	nc_run a
	started
	sleep 1
	nc_stop a
	[ "$NC_STATUS" = 0 ] || fail "a: exit status $NC_STATUS"
	cp "$NC_DIR/a.log" "$T/run.log"
}
regular_store() {
	{ [ -f "$DB" ] && [ ! -L "$DB" ]; } || fail "$1: no regular store"
	[ "$(stat -c %a "$DB")" = 600 ] || fail "$1: store mode $(stat -c %a "$DB")"
}

# 1. a symlink at the store's path
ln -s "$OUT" "$DB"
run_stop
grep -q "reply store .* refused (a symbolic link)" "$T/run.log" || fail "1: the symlink is not reported"
unchanged 1
regular_store 1
set_aside() { compgen -G "$D/persistent_reply_store.sqlite._*.corrupted" >/dev/null; }
set_aside || fail "1: the link was not set aside"
grep -q "reply store saved" "$T/run.log" || fail "1: not saved"
rm -f "$D"/persistent_reply_store.sqlite._*.corrupted
echo "ok 1: a symlinked store is set aside, never followed; a regular 0600 store replaces it"

# 2. <store>.new swapped for a symlink while the client runs
: >"$NC_DIR/a.log"
nc_run a
started
sleep 1
[ -f "$DB.new" ] || fail "2: keyd opened no $DB.new"
rm -f "$DB.new"
ln -s "$OUT" "$DB.new"
nc_stop a
[ "$NC_STATUS" = 0 ] || fail "2: exit status $NC_STATUS"
unchanged 2
[ -e "$DB.new" ] || [ -L "$DB.new" ] && fail "2: the planted link was left"
grep -q "reply store was not saved (its new image is incomplete)" "$NC_DIR/a.log" ||
	fail "2: the refused image is not reported"
regular_store 2
echo "ok 2: a .new swapped for a symlink is not renamed into place; its target is unchanged"

# 3. writable by others; not a database
chmod 666 "$DB"
run_stop
grep -q "reply store .* refused (owned by uid [0-9]*, mode 0666: it must be ours and writable by nobody else)" "$T/run.log" ||
	fail "3: a world-writable store was not refused"
regular_store 3
head -c 20000 /dev/urandom >"$DB"
chmod 600 "$DB"
run_stop
grep -q "reply store .* refused (not a SQLite database)" "$T/run.log" || fail "3: garbage not refused"
regular_store 3
set_aside || fail "3: nothing set aside"
rm -f "$D"/persistent_reply_store.sqlite._*.corrupted
echo "ok 3: a world-writable store and a store of random bytes are refused and set aside"

# 4. over the bound: Nym's schema, 200,000 reply keys
"$NC_PY" - "$DB" <<'EOF'
import os, sqlite3, sys
db = sqlite3.connect(sys.argv[1])
db.execute("DELETE FROM reply_key")
db.executemany("INSERT INTO reply_key VALUES (?, ?, '2030-01-01T00:00:00Z')",
               ((os.urandom(32), os.urandom(16)) for _ in range(200000)))
db.execute("UPDATE status SET client_in_use = 0, previous_flush = strftime('%Y-%m-%dT%H:%M:%SZ', 'now')")
db.commit()
EOF
run_stop
grep -q "reply store .* refused (200000 reply keys: we load at most 100000)" "$T/run.log" ||
	{ grep "reply store" "$T/run.log"; fail "4: an oversized store was not refused"; }
regular_store 4
echo "ok 4: a store over keyd's bounds is refused with the count"
echo "PASS"
