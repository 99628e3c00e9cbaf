#!/usr/bin/env bash
# An anonymous conversation across restarts, through Nym's persistent_reply_store.sqlite
# (storage_paths.reply_surb_database), between two nym-clients on the localnet:
#  - A sendAnonymous to B with 20 reply SURBs; B is stopped (SIGTERM) and its store holds A's
#    SURBs under A's sender tag, in Nym's schema (the tables, sqlx's 4 migration rows,
#    client_in_use 0, mode 0600, no .new file left);
#  - Nym's client and ours on one data folder: a store built the way Nym's client builds it
#    (its four migrations run one by one on a WAL-mode file, sqlx's rows, timestamps with
#    nanoseconds, its last writes left in the -wal as when Nym's client exits) has the schema
#    ours wrote (sqlite3 .schema, whitespace folded) and, filled with the rows of B's store,
#    replaces it;
#  - B runs again on that store (its log counts the SURBs loaded; the file is marked in use
#    while it runs), replies through the SURBs with the old sender tag, and A receives it;
#  - the reverse: A sends anonymously again, A is restarted before B replies, and A still
#    decrypts the reply (its reply keys came back from its store);
#  - a store that was in use when its client died (SIGKILL) is not trusted: the next start
#    drops its SURBs and keys, as Nym does, and says so.
# The stores are read with Python's sqlite3 module and the sqlite3 CLI. Exit 0 = pass.
set -euo pipefail
# shellcheck source=tests/integration/lib/nymclient.bash
. "$(dirname "$0")/lib/nymclient.bash"
nc_setup client-reply-restart
nc_init a
nc_init b
nc_run a
nc_run b

store() { echo "$NC_HOME/.nym/clients/$1/data/persistent_reply_store.sqlite"; }
q() { # DB SQL: the rows, one per line, columns separated by |
	"$NC_PY" -c 'import sqlite3, sys
db = sqlite3.connect(f"file:{sys.argv[1]}?mode=ro", uri=True)
for row in db.execute(sys.argv[2]):
    print("|".join(str(v) for v in row))' "$1" "$2"
}
app() { # python code after the common part; the arguments follow
	local name=$1
	shift
	PYTHONPATH="$NC_LIB" timeout 300 "$NC_PY" "$T/$name.py" "$@" >"$T/$name.out" 2>&1 ||
		{ cat "$T/$name.out"; fail "$name"; }
	cat "$T/$name.out"
}

cat >"$T/common.py" <<'EOF'
import asyncio, json, sys, time
import websockets
from capiws import check

async def recv(w, t=120):
    return json.loads(await asyncio.wait_for(w.recv(), t))

# connected, and speaking JSON (an app's first request decides the form of what it gets)
async def ws(url):
    for _ in range(600):
        try:
            w = await websockets.connect(url, max_size=None)
            break
        except OSError:
            await asyncio.sleep(0.1)
    else:
        sys.exit("cannot connect to " + url)
    await w.send(json.dumps({"type": "selfAddress"}))
    r = await recv(w, 30)
    check(r["type"] == "selfAddress", f"selfAddress answer {r}")
    return w
EOF

# ---- 1. A -> B anonymously with SURBs; B stops
cat >"$T/send.py" <<'EOF'
from common import *
async def main(url_a, url_b, addr_b, text, surbs):
    a, b = await ws(url_a), await ws(url_b)
    await a.send(json.dumps({"type": "sendAnonymous", "recipient": addr_b, "message": text,
                             "replySurbs": int(surbs)}))
    r = await recv(b)
    check(r["type"] == "received" and r["message"] == text and r["senderTag"], f"B got {r}")
    print("TAG", r["senderTag"], flush=True)
    await a.close(); await b.close()
asyncio.run(main(*sys.argv[1:]))
EOF
app send "ws://127.0.0.1:${NC_PORT[a]}" "ws://127.0.0.1:${NC_PORT[b]}" "${NC_ADDR[b]}" "hello B" 20
TAG=$(sed -n 's/^TAG //p' "$T/send.out")
sleep 3 # the acks of the anonymous message
nc_stop b
[ "$NC_STATUS" = 0 ] || fail "b: exit status $NC_STATUS"
DB=$(store b)
{ [ -f "$DB" ] && [ ! -e "$DB.new" ]; } || fail "b: no store, or a .new file left"
grep -q "reply store saved" "$T/b.log" || fail "b: the supervisor did not save the store"
[ "$(stat -c %a "$DB")" = 600 ] || fail "b: store mode $(stat -c %a "$DB")"
[ "$(q "$DB" "SELECT flush_in_progress, client_in_use FROM status")" = "0|0" ] || fail "b: status row"
[ "$(q "$DB" "SELECT group_concat(version) FROM (SELECT version FROM _sqlx_migrations ORDER BY version)")" = \
	"20221130120000,20250425120000,20250627120000,20250702120000" ] || fail "b: migration rows"
[ "$(q "$DB" "SELECT group_concat(name) FROM (SELECT name FROM sqlite_schema WHERE type = 'table' ORDER BY name)")" = \
	"_sqlx_migrations,reply_key,reply_surb,reply_surb_sender,reply_surb_storage_metadata,sqlite_sequence,status" ] ||
	fail "b: tables $(q "$DB" "SELECT group_concat(name) FROM sqlite_schema WHERE type = 'table'")"
N=$(q "$DB" "SELECT count(*) FROM reply_surb")
[ "$N" -ge 15 ] || fail "b: $N SURBs stored (20 sent)"
[ "$(q "$DB" "SELECT count(*) FROM reply_surb_sender")" = 1 ] || fail "b: one sender expected"
echo "ok B stopped: its store holds $N of A's SURBs (Nym's schema, 4 migrations, mode 0600)"

# ---- Nym's way: the migrations on a WAL file, then B's rows as Nym's client writes them
cat >"$T/nymstore.py" <<'EOF'
import datetime, os, sqlite3, sys
ours, path = sys.argv[1:]
steps = [
    """CREATE TABLE IF NOT EXISTS _sqlx_migrations (
    version BIGINT PRIMARY KEY, description TEXT NOT NULL,
    installed_on TIMESTAMP NOT NULL DEFAULT CURRENT_TIMESTAMP, success BOOLEAN NOT NULL,
    checksum BLOB NOT NULL, execution_time BIGINT NOT NULL);""",
    """CREATE TABLE status (flush_in_progress INTEGER NOT NULL,
    previous_flush_timestamp INTEGER NOT NULL, client_in_use INTEGER NOT NULL);
CREATE TABLE reply_surb_storage_metadata (min_reply_surb_threshold INTEGER NOT NULL,
    max_reply_surb_threshold INTEGER NOT NULL);
CREATE TABLE sender_tag (recipient BLOB NOT NULL UNIQUE, tag BLOB NOT NULL UNIQUE);
CREATE TABLE reply_key (key_digest BLOB NOT NULL UNIQUE, reply_key BLOB NOT NULL UNIQUE,
    sent_at_timestamp INTEGER NOT NULL);
CREATE TABLE reply_surb_sender (id INTEGER NOT NULL PRIMARY KEY AUTOINCREMENT,
    last_sent_timestamp INTEGER NOT NULL, tag BLOB NOT NULL UNIQUE);
CREATE TABLE reply_surb (reply_surb_sender_id INTEGER NOT NULL, reply_surb BLOB NOT NULL,
    FOREIGN KEY (reply_surb_sender_id) REFERENCES reply_surb_sender (id));""",
    "ALTER TABLE reply_surb ADD COLUMN encoded_key_rotation TINYINT NOT NULL DEFAULT 0;",
    """CREATE TABLE status_new (flush_in_progress INTEGER NOT NULL,
    previous_flush TIMESTAMP WITHOUT TIME ZONE NOT NULL, client_in_use INTEGER NOT NULL);
INSERT INTO status_new SELECT flush_in_progress, datetime(previous_flush_timestamp, 'unixepoch'),
    client_in_use FROM status;
DROP TABLE status;
ALTER TABLE status_new RENAME TO status;
CREATE TABLE reply_key_new (key_digest BLOB NOT NULL UNIQUE, reply_key BLOB NOT NULL UNIQUE,
    sent_at TIMESTAMP WITHOUT TIME ZONE NOT NULL);
INSERT INTO reply_key_new SELECT key_digest, reply_key, datetime(sent_at_timestamp, 'unixepoch')
    FROM reply_key;
DROP TABLE reply_key;
ALTER TABLE reply_key_new RENAME TO reply_key;
CREATE TABLE reply_surb_sender_new (id INTEGER NOT NULL PRIMARY KEY AUTOINCREMENT,
    last_sent TIMESTAMP WITHOUT TIME ZONE NOT NULL, tag BLOB NOT NULL UNIQUE);
INSERT INTO reply_surb_sender_new SELECT id, datetime(last_sent_timestamp, 'unixepoch'), tag
    FROM reply_surb_sender;
CREATE TABLE reply_surb_new (reply_surb_sender_id INTEGER NOT NULL, reply_surb BLOB NOT NULL,
    encoded_key_rotation TINYINT NOT NULL,
    FOREIGN KEY (reply_surb_sender_id) REFERENCES reply_surb_sender_new (id));
INSERT INTO reply_surb_new SELECT * FROM reply_surb;
DROP TABLE reply_surb;
ALTER TABLE reply_surb_new RENAME TO reply_surb;
DROP TABLE reply_surb_sender;
ALTER TABLE reply_surb_sender_new RENAME TO reply_surb_sender;""",
    "DROP TABLE sender_tag;",
]
src = sqlite3.connect(f"file:{ours}?mode=ro", uri=True)
db = sqlite3.connect(path, isolation_level=None)
db.execute("PRAGMA auto_vacuum = INCREMENTAL")
db.execute("PRAGMA journal_mode = WAL")
db.executescript(steps[0])
migrations = src.execute("SELECT version, description, checksum FROM _sqlx_migrations"
                         " ORDER BY version").fetchall()
for step, (version, desc, checksum) in zip(steps[1:], migrations):
    db.executescript(step)
    db.execute("INSERT INTO _sqlx_migrations (version, description, success, checksum,"
               " execution_time) VALUES (?, ?, TRUE, ?, 1234)", (version, desc, checksum))

def nym_time(text):  # what sqlx writes for an OffsetDateTime: RFC 3339 with nanoseconds
    t = datetime.datetime.strptime(text, "%Y-%m-%dT%H:%M:%SZ")
    return t.strftime("%Y-%m-%dT%H:%M:%S.123456789Z")

(flush,) = src.execute("SELECT previous_flush FROM status").fetchone()
db.execute("INSERT INTO status VALUES (0, ?, 0)", (nym_time(flush),))
db.execute("INSERT INTO reply_surb_storage_metadata VALUES (10, 200)")
for d, k, t in src.execute("SELECT key_digest, reply_key, sent_at FROM reply_key"):
    db.execute("INSERT INTO reply_key VALUES (?, ?, ?)", (d, k, nym_time(t)))
for sid, t, tag in src.execute("SELECT id, last_sent, tag FROM reply_surb_sender"):
    new = db.execute("INSERT INTO reply_surb_sender (tag, last_sent) VALUES (?, ?)",
                     (tag, nym_time(t))).lastrowid
    for surb, rot in src.execute("SELECT reply_surb, encoded_key_rotation FROM reply_surb"
                                 " WHERE reply_surb_sender_id = ?", (sid,)):
        db.execute("INSERT INTO reply_surb VALUES (?, ?, ?)", (new, surb, rot))
# Nym's client exits without closing its pool: its last writes stay in the write-ahead log
os._exit(0)
EOF
NYMDB=$T/nym-store.sqlite
"$NC_PY" "$T/nymstore.py" "$DB" "$NYMDB" || fail "cannot build a store the Rust way"
fold() { sqlite3 -readonly "$1" .schema | tr -s ' \n\t' ' ' | sed -e 's/ *\([(),]\) */\1/g'; }
[ "$(fold "$DB")" = "$(fold "$NYMDB")" ] ||
	{ diff <(sqlite3 -readonly "$DB" .schema) <(sqlite3 -readonly "$NYMDB" .schema); fail "schema differs from Nym's migrations"; }
[ "$(q "$NYMDB" "PRAGMA journal_mode")" = wal ] || fail "the Rust-way store is not in WAL mode"
[ -s "$NYMDB-wal" ] || fail "the Rust-way store left no write-ahead log"
cp "$NYMDB" "$DB"
cp "$NYMDB-wal" "$DB-wal"
rm -f "$NYMDB" "$NYMDB-wal" "$NYMDB-shm" "$DB-shm"
echo "ok ours has the schema of Nym's four migrations; B's store replaced by one built the Rust way (its last writes in the -wal)"

# ---- 2. B again: replies through the stored SURBs
nc_run b
cat >"$T/reply.py" <<'EOF'
from common import *
async def main(url_a, url_b, tag, text):
    a, b = await ws(url_a), await ws(url_b)
    await b.send(json.dumps({"type": "reply", "senderTag": tag, "message": text}))
    r = await recv(a)
    check(r["type"] == "received" and r["message"] == text and r["senderTag"] is None, f"A got {r}")
    print("REPLY OK", flush=True)
    await a.close(); await b.close()
asyncio.run(main(*sys.argv[1:]))
EOF
app reply "ws://127.0.0.1:${NC_PORT[a]}" "ws://127.0.0.1:${NC_PORT[b]}" "$TAG" "a reply after B's restart"
grep -q "reply store: [0-9]* reply keys and [1-9][0-9]* reply SURBs of 1 senders loaded" "$T/b.log" ||
	fail "b: its log does not count the SURBs loaded"
[ -e "$DB-wal" ] && fail "b: the write-ahead log was left beside the store"
[ "$(q "$DB" "SELECT client_in_use FROM status")" = 1 ] || fail "b: the store is not marked in use while B runs"
echo "ok B restarted replied through A's stored SURBs; A received it"

# ---- 3. the reverse: A restarted between its anonymous message and B's reply
app send "ws://127.0.0.1:${NC_PORT[a]}" "ws://127.0.0.1:${NC_PORT[b]}" "${NC_ADDR[b]}" "hello again" 20
TAG2=$(sed -n 's/^TAG //p' "$T/send.out")
sleep 3
nc_stop a
[ "$NC_STATUS" = 0 ] || fail "a: exit status $NC_STATUS"
K=$(q "$(store a)" "SELECT count(*) FROM reply_key")
[ "$K" -ge 20 ] || fail "a: $K reply keys stored (40 SURBs made, 1 used)"
nc_run a
app reply "ws://127.0.0.1:${NC_PORT[a]}" "ws://127.0.0.1:${NC_PORT[b]}" "$TAG2" "a reply after A's restart"
grep -q "reply store: [1-9][0-9]* reply keys" "$T/a.log" || fail "a: its log does not count the keys loaded"
echo "ok A restarted ($K reply keys stored) decrypted B's reply"

# ---- 4. a crash leaves the store marked in use: the next start drops it, as Nym's
nc_stop b KILL
grep -q "reply store saved" <(tail -5 "$T/b.log") && fail "b: saved though killed"
[ "$(q "$DB" "SELECT client_in_use FROM status")" = 1 ] || fail "b: the killed client's store is not marked in use"
nc_run b
for _ in $(seq 600); do grep -q "did not stop cleanly" "$T/b.log" && break; sleep 0.1; done
grep -q "did not stop cleanly: its reply SURBs and keys are dropped" "$T/b.log" ||
	fail "b: an unclean store was trusted"
echo "ok a store left in use by a killed client is not trusted at the next start"

sleep 2
nc_stop a
[ "$NC_STATUS" = 0 ] || fail "a: exit status $NC_STATUS"
nc_stop b
[ "$NC_STATUS" = 0 ] || fail "b: exit status $NC_STATUS"
echo "PASS"
