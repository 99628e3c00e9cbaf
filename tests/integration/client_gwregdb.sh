#!/usr/bin/env bash
# nym-client keeps its gateway registration in Nym's data/gateways_registrations.sqlite, made
# at `init` (as Nym's client does), so Nym's client and ours can take turns on one data folder:
#  - init registers with gateway1 (its stats file: registrations + 1) and writes the DB: mode
#    0600, Nym's rows (active gateway, remote type, listener, 32-byte AES-256-GCM-SIV key, no
#    legacy key) and sqlx's four migration rows;
#  - run authenticates with that key (authentications + 1, registrations unchanged) and a
#    message goes round; keyd's record file then holds the same key;
#  - with only Nym's files (our gateway and record files removed, the DB in WAL mode as Nym's
#    client leaves it), run still authenticates without registering;
#  - a DB that is not SQLite stops run with a clear error;
#  - init against a gateway that is down fails clearly and leaves nothing behind.
# The DB is read with the sqlite3 CLI, else Python's sqlite3 module. Exit 0 = pass.
set -euo pipefail
# shellcheck source=tests/integration/lib/nymclient.bash
. "$(dirname "$0")/lib/nymclient.bash"
LOCALNET_ARGS=--no-network-requester # counts gateway1's clients
nc_setup client-gwregdb

q() { # DB SQL: one value
	if command -v sqlite3 >/dev/null; then
		sqlite3 -readonly "$1" "$2"
	else
		"$NC_PY" -c 'import sqlite3, sys
db = sqlite3.connect(f"file:{sys.argv[1]}?mode=ro", uri=True)
v = db.execute(sys.argv[2]).fetchone()[0]
print("" if v is None else v)' "$1" "$2"
	fi
}
# wait_stat NAME VALUE: gateway1's stats file (written every second) reaches VALUE
wait_stat() {
	for _ in $(seq 50); do [ "$(stat_of "$1")" = "$2" ] && return 0; sleep 0.1; done
	fail "gateway1 $1 = $(stat_of "$1"), want $2"
}
# session_ready ID N: the Nth "gateway session ready" line in ID's log
session_ready() {
	for _ in $(seq 300); do
		[ "$(grep -c "gateway session ready" "$NC_DIR/$1.log" 2>/dev/null)" -ge "$2" ] && return 0
		sleep 0.1
	done
	fail "$1: no gateway session"
}
GW=$GATEWAY_ID_1
for _ in $(seq 50); do [ -s "$T/net/run/gateway1.stats" ] && break; sleep 0.1; done
REG0=$(stat_of registrations)
AUTH0=$(stat_of authentications)
[ -n "$REG0" ] && [ -n "$AUTH0" ] || fail "no counters in gateway1's stats file"

# ---- init registers and writes the DB
nc_init a --gateway "$GW"
grep -qx "Gateway ID: $GW" "$NC_DIR/a.init" || { cat "$NC_DIR/a.init"; fail "init did not register"; }
D=$NC_HOME/.nym/clients/a/data
DB=$D/gateways_registrations.sqlite
[ -f "$DB" ] || fail "no $DB"
[ "$(stat -c %a "$DB")" = 600 ] || fail "DB mode $(stat -c %a "$DB")"
[ -e "$D/nymsuite-gateway-key.bin" ] && fail "init wrote our record file"
[ "$(q "$DB" "SELECT active_gateway_id_bs58 FROM active_gateway WHERE id = 0")" = "$GW" ] || fail "active gateway"
[ "$(q "$DB" "SELECT count(*) FROM active_gateway")" = 1 ] || fail "active_gateway rows"
[ "$(q "$DB" "SELECT gateway_type FROM registered_gateway WHERE gateway_id_bs58 = '$GW'")" = remote ] || fail "gateway type"
q "$DB" "SELECT registration_timestamp FROM registered_gateway" | grep -Eqx '[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}Z' ||
	fail "registration_timestamp $(q "$DB" "SELECT registration_timestamp FROM registered_gateway")"
[ "$(q "$DB" "SELECT gateway_listener FROM remote_gateway_details WHERE gateway_id_bs58 = '$GW'")" = "$GATEWAY_WS_1/" ] ||
	fail "listener $(q "$DB" "SELECT gateway_listener FROM remote_gateway_details")"
K=$(q "$DB" "SELECT typeof(derived_aes256_gcm_siv_key) || length(derived_aes256_gcm_siv_key) || ' ' ||
	typeof(derived_aes128_ctr_blake3_hmac_keys_bs58) || ' ' || typeof(gateway_owner_address) FROM remote_gateway_details")
[ "$K" = "blob32 null null" ] || fail "key columns: $K"
M=$(q "$DB" "SELECT group_concat(version || ':' || description || ':' || success || ':' || length(checksum), ',')
	FROM (SELECT * FROM _sqlx_migrations ORDER BY version)")
[ "$M" = "20240304120000:create initial tables:1:48,20240610120000:nullable gateway owner:1:48,20240828120000:remove wg address:1:48,20240916120000:add aes256 gcm siv key:1:48" ] ||
	fail "_sqlx_migrations: $M"
[ "$(q "$DB" "SELECT hex(checksum) FROM _sqlx_migrations WHERE version = 20240304120000")" = \
	C9755A49DE5DC59FC28432E10676BA9F70BCFE6CC9C38D0036167F3DCD1ADA468CD3ACFD364AE5BB31E1267C51EB0ADC ] ||
	fail "checksum of the first migration"
[ "$(q "$DB" "SELECT count(*) FROM custom_gateway_details")" = 0 ] || fail "custom_gateway_details"
wait_stat registrations $((REG0 + 1))
echo "ok init: registered with gateway1 (registrations $REG0 -> $((REG0 + 1))), DB 0600 with Nym's rows and sqlx's 4 migrations"

# ---- run authenticates with the key from the DB
nc_run a
session_ready a 1
nc_app app a
[ "$(nc_ready app)" = "${NC_ADDR[a]}" ] || fail "address differs from init's"
nc_cmd app "send self 2000 x"
nc_event app '.event=="received"' 30 >/dev/null || fail "no message round trip"
wait_stat authentications $((AUTH0 + 1))
[ "$(stat_of registrations)" = $((REG0 + 1)) ] || fail "run registered again"
grep -q "registered with the gateway" "$NC_DIR/a.log" && fail "keyd registered at run"
nc_app_stop app
nc_stop a
[ "$NC_STATUS" = 0 ] || fail "run a: exit status $NC_STATUS"
"$NC_PY" - "$DB" "$D/nymsuite-gateway-key.bin" <<'EOF' || fail "record file and DB disagree"
import sqlite3, sys
k = sqlite3.connect(f"file:{sys.argv[1]}?mode=ro", uri=True).execute(
    "SELECT derived_aes256_gcm_siv_key FROM remote_gateway_details").fetchone()[0]
rec = open(sys.argv[2], "rb").read()
assert len(rec) >= 48 and rec[:4] == b"NSK1" and rec[8:40] == k, "first record is not the DB key"
EOF
echo "ok run: authenticated with the DB's key (authentications $AUTH0 -> $((AUTH0 + 1)), no second registration), message round trip"

# ---- Nym's files only: no gateway file, no record file, the DB in WAL mode
rm -f "$D/nymsuite-gateway.txt" "$D/nymsuite-gateway-key.bin"
"$NC_PY" -c 'import sqlite3, sys
db = sqlite3.connect(sys.argv[1])
assert db.execute("PRAGMA journal_mode = WAL").fetchone()[0] == "wal"
db.execute("UPDATE registered_gateway SET registration_timestamp = ?", ("2025-01-02T03:04:05.123456789Z",))
db.commit()' "$DB"
nc_run a
session_ready a 2
wait_stat authentications $((AUTH0 + 2))
[ "$(stat_of registrations)" = $((REG0 + 1)) ] || fail "run on Nym's files registered again"
nc_stop a
[ "$NC_STATUS" = 0 ] || fail "run a (Nym's files): exit status $NC_STATUS"
[ -s "$D/nymsuite-gateway-key.bin" ] || fail "the record file was not made again from the DB"
echo "ok run on Nym's files only (WAL-mode DB): authenticated, no registration"

# ---- a DB that is not SQLite: run stops with a clear error
cp "$DB" "$T/db.good"
head -c 8192 /dev/urandom >"$DB"
rc=0
timeout 20 "$BIN/nym-client" run --id a --home "$NC_HOME" >"$T/bad.out" 2>&1 || rc=$?
[ "$rc" = 1 ] || { cat "$T/bad.out"; fail "run with a corrupt DB: status $rc"; }
grep -q "cannot use .*gateways_registrations.sqlite: .*not a database" "$T/bad.out" || { cat "$T/bad.out"; fail "corrupt DB message"; }
cp "$T/db.good" "$DB"
echo "ok a corrupt DB is refused: $(head -1 "$T/bad.out")"

# ---- init against a gateway that is down: a clear error, nothing left behind
nc_gateway_stop
rc=0
"$BIN/nym-client" init --id b --home "$NC_HOME" --nym-apis "$NYM_API" --gateway "$GW" >"$T/b.out" 2>&1 || rc=$?
[ "$rc" = 1 ] || { cat "$T/b.out"; fail "init against a dead gateway: status $rc"; }
grep -q "gateway $GW .*did not register us" "$T/b.out" || { cat "$T/b.out"; fail "no clear error"; }
[ -e "$NC_HOME/.nym/clients/b" ] && { find "$NC_HOME/.nym/clients/b"; fail "init left files behind"; }
nc_gateway_start
echo "ok init against a dead gateway: $(head -1 "$T/b.out"); nothing left behind"
echo "PASS"
