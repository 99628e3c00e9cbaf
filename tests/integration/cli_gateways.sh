#!/usr/bin/env bash
# The gateway commands and init's results on a localnet with two gateways, checked in Nym's
# gateways_registrations.sqlite (sqlite3 CLI, else Python's sqlite3):
#  - init -o json of each program: Nym's field names (client-core InitResults + the program's),
#    the address as serde's 96 numbers, gateway_registration as the time crate's text;
#  - list-gateways (text and json: registration, identity as 32 numbers, active, typ, endpoint);
#  - add-gateway: refuses a gateway already registered (status 1, Nym's text), registers with the
#    other one (gateway2's registration counter), makes it active, then finds no new gateway;
#    with --latency-based-selection it measures and takes only a gateway not yet registered;
#  - switch-gateway (the DB in WAL mode, as Nym leaves it): back to gateway 1, and refuses an
#    unregistered identity; run then
#    authenticates with gateway 1's stored key (no new registration);
#  - --custom-mixnet: init and add-gateway take their gateways from the topology file (ours and
#    Nym's serde form of it); run takes its fixed topology from it and never asks the config's
#    nym-api (a dead one: without the file, run fails on it);
#  - the environment: NYM_API is ignored without CONFIGURED, used with it, and read from a
#    -c file (which never replaces a variable already set), as Nym's setup_env.
# Exit 0 = pass.
set -euo pipefail
# shellcheck source=tests/integration/lib/nymclient.bash
. "$(dirname "$0")/lib/nymclient.bash"
LOCALNET_ARGS="--gateways 2"
for b in nym-socks5-client nym-network-requester; do
	[ -x "$BIN/$b" ] || { echo "missing $BIN/$b (run make first)"; exit 1; }
done
nc_setup cli-gateways
H=$T/home
GW1=$GATEWAY_ID_1
GW2=$GATEWAY_ID_2
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
stat2() { sed -n "s/.*\"$1\":\([0-9]*\).*/\1/p" "$T/net/run/gateway2.stats"; }
# nc ARGS...: nym-client with our scratch home; stdout in $T/o, stderr in $T/e, status in RC
nc() { RC=0; "$BIN/nym-client" "$@" --home "$H" >"$T/o" 2>"$T/e" </dev/null || RC=$?; }

for _ in $(seq 50); do [ -s "$T/net/run/gateway2.stats" ] && break; sleep 0.1; done
REG2=$(stat2 registrations)
[ -n "$REG2" ] || fail "no counters in gateway2's stats file"

# ---- init -o json, each program (the SOCKS client registers with gateway 2)
nc init --id g --gateway "$GW1" --nym-apis "$NYM_API" --port 0 -o json
[ "$RC" = 0 ] || { cat "$T/o" "$T/e"; fail "init -o json: status $RC"; }
grep -qx "Initialising client..." "$T/e" && grep -q "^Saved configuration file to $H/.nym/clients/g/config/config.toml$" "$T/e" ||
	{ cat "$T/e"; fail "init's lines on stderr"; }
check_init_json() { # FILE EXTRA_KEYS...
	"$NC_PY" - "$@" <<'P'
import json, re, sys
d = json.load(open(sys.argv[1]))
core = ["version", "id", "identity_key", "encryption_key", "gateway_id", "gateway_listener",
        "gateway_registration", "address"]
assert list(d) == core + sys.argv[2:], list(d)
assert isinstance(d["address"], list) and len(d["address"]) == 96, d["address"]
assert all(isinstance(b, int) and 0 <= b < 256 for b in d["address"])
assert re.fullmatch(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d+ [+-]\d\d:\d\d:\d\d", d["gateway_registration"]), d
assert re.fullmatch(r"wss?://[^/]+/", d["gateway_listener"]), d
alphabet = "123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz"
def b58(b):
    n = int.from_bytes(bytes(b), "big"); s = ""
    while n: n, r = divmod(n, 58); s = alphabet[r] + s
    return "1" * (len(b) - len(bytes(b).lstrip(b"\0"))) + s
a = d["address"]
assert b58(a[:32]) == d["identity_key"] and b58(a[32:64]) == d["encryption_key"], d
assert b58(a[64:]) == d["gateway_id"], d
if "client_address" in d:
    assert d["client_address"] == f'{d["identity_key"]}.{d["encryption_key"]}@{d["gateway_id"]}', d
P
}
check_init_json "$T/o" client_listening_port client_address || fail "nym-client init -o json"
"$NC_PY" -c 'import json,sys; d=json.load(open(sys.argv[1])); assert d["gateway_id"]==sys.argv[2] and d["client_listening_port"]==0 and d["id"]=="g" and d["version"]=="1.1.64", d' "$T/o" "$GW1" ||
	fail "init -o json values"
RC=0
"$BIN/nym-socks5-client" init --id s --home "$H" --provider "$NETWORK_REQUESTER" --nym-apis "$NYM_API" \
	--gateway "$GW2" -o json >"$T/s.json" 2>"$T/e" || RC=$?
[ "$RC" = 0 ] || { cat "$T/e"; fail "socks5 init -o json: status $RC"; }
check_init_json "$T/s.json" socks5_listening_address client_address || fail "socks5 init -o json"
RC=0
"$BIN/nym-network-requester" init --id n --home "$H" --nym-apis "$NYM_API" --gateway "$GW1" -o json \
	>"$T/n.json" 2>"$T/e" || RC=$?
[ "$RC" = 0 ] || { cat "$T/e"; fail "NR init -o json: status $RC"; }
check_init_json "$T/n.json" client_address || fail "NR init -o json"
RC=0
"$BIN/nym-network-requester" init --id n2 --home "$H" --nym-apis "$NYM_API" --gateway "$GW1" >"$T/n.txt" 2>&1 || RC=$?
grep -q "^Address of this network-requester: " "$T/n.txt" && grep -q "^Registered at: " "$T/n.txt" ||
	{ cat "$T/n.txt"; fail "NR init text"; }
nc init --id g --nym-apis "$NYM_API"
[ "$RC" = 1 ] && grep -qx 'native client "g" was already initialised before' "$T/e" &&
	grep -qx "An error occurred: this client (id: 'g') has already been initialised before. If you want to add additional gateway, use \`add-gateway\` command" "$T/o" ||
	{ cat "$T/o" "$T/e"; fail "second init: status $RC"; }
echo "ok init -o json of the three programs: Nym's fields; a second init refused with Nym's texts"

# ---- list-gateways
DB=$H/.nym/clients/g/data/gateways_registrations.sqlite
nc list-gateways --id g
[ "$RC" = 0 ] || fail "list-gateways: status $RC"
grep -Eqx "\[0\]: \[ACTIVE\] remote gateway '$GW1' registered at: [0-9]{4}-[0-9]{2}-[0-9]{2} [0-9]{1,2}:[0-9]{2}:[0-9]{2}\.[0-9]+ \+00:00:00 endpoint: ws://127\.0\.0\.1:[0-9]+/" "$T/o" ||
	{ cat "$T/o"; fail "list-gateways text"; }
list_json() { # EXPECTED: "ID:active ID:active ..."
	nc list-gateways --id g -o json
	"$NC_PY" - "$T/o" "$1" <<'P'
import json, re, sys
alphabet = "123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz"
def b58(b):
    n = int.from_bytes(bytes(b), "big"); s = ""
    while n: n, r = divmod(n, 58); s = alphabet[r] + s
    return "1" * (len(b) - len(bytes(b).lstrip(b"\0"))) + s
got = json.load(open(sys.argv[1]))
assert isinstance(got, list), got
for g in got:
    assert list(g) == ["registration", "identity", "active", "typ", "endpoint"], g
    assert g["typ"] == "remote" and re.fullmatch(r"ws://127\.0\.0\.1:\d+/", g["endpoint"]), g
    assert re.fullmatch(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d+ \+00:00:00", g["registration"]), g
    assert len(g["identity"]) == 32, g
seen = " ".join(f'{b58(g["identity"])}:{str(g["active"]).lower()}' for g in got)
assert seen == sys.argv[2], (seen, sys.argv[2])
P
}
list_json "$GW1:true" || fail "list-gateways -o json"
echo "ok list-gateways: text and json as Nym's GatewayInfo"

# ---- add-gateway
nc add-gateway --id g --gateway-id "$GW1"
[ "$RC" = 1 ] && grep -qx "An error occurred: this client has already registered with gateway $GW1" "$T/o" ||
	{ cat "$T/o" "$T/e"; fail "add-gateway of a registered gateway: status $RC"; }
nc add-gateway --id g --nym-apis "$NYM_API" -o json
[ "$RC" = 0 ] || { cat "$T/o" "$T/e"; fail "add-gateway: status $RC"; }
"$NC_PY" -c 'import json,sys; d=json.load(open(sys.argv[1])); assert list(d)==["registration","identity","active","typ","endpoint"] and d["active"] is True and d["typ"]=="remote", d' "$T/o" ||
	fail "add-gateway -o json"
for _ in $(seq 50); do [ "$(stat2 registrations)" = $((REG2 + 2)) ] && break; sleep 0.1; done
[ "$(stat2 registrations)" = $((REG2 + 2)) ] || fail "gateway2 saw $(($(stat2 registrations) - REG2)) registrations, want 2"
[ "$(q "$DB" "SELECT active_gateway_id_bs58 FROM active_gateway")" = "$GW2" ] || fail "gateway2 not active"
[ "$(q "$DB" "SELECT count(*) FROM registered_gateway")" = 2 ] || fail "registered_gateway rows"
[ "$(q "$DB" "SELECT count(*) FROM remote_gateway_details WHERE length(derived_aes256_gcm_siv_key) = 32")" = 2 ] ||
	fail "a shared key missing"
[ "$(stat -c %a "$DB")" = 600 ] || fail "DB mode $(stat -c %a "$DB")"
list_json "$GW1:false $GW2:true" || fail "list after add"
nc add-gateway --id g --nym-apis "$NYM_API"
[ "$RC" = 1 ] && grep -qx "An error occurred: there are no more new gateways on the network - it seems this client has already registered with all nodes it could have" "$T/o" ||
	{ cat "$T/o" "$T/e"; fail "add-gateway with none left: status $RC"; }
# latency-based: init measures both gateways; add-gateway measures only the one left
nc init --id l --nym-apis "$NYM_API" --latency-based-selection
[ "$RC" = 0 ] || { cat "$T/o" "$T/e"; fail "init --latency-based-selection: status $RC"; }
FIRST=$(sed -n 's/^Gateway ID: //p' "$T/o")
nc add-gateway --id l --nym-apis "$NYM_API" --latency-based-selection
[ "$RC" = 0 ] || { cat "$T/o" "$T/e"; fail "add-gateway --latency-based-selection: status $RC"; }
OTHER=$GW1
[ "$FIRST" = "$GW1" ] && OTHER=$GW2
grep -q "^\[ACTIVE\] remote gateway '$OTHER' " "$T/o" || { cat "$T/o" "$T/e"; fail "latency add-gateway chose a registered gateway"; }
echo "ok add-gateway: registers with the new gateway and makes it active (uniform and latency-based); refuses known ones"

# ---- switch-gateway (on the DB in WAL mode, as Nym's client leaves it)
"$NC_PY" -c 'import sqlite3, sys; db = sqlite3.connect(sys.argv[1]); assert db.execute("PRAGMA journal_mode=WAL").fetchone()[0] == "wal"; db.close()' "$DB" ||
	fail "cannot put the DB in WAL mode"
UNKNOWN=8yGFbT3feDP5uzdoR4Y3Eb3mMBFMWbMJBZzMbBDDAGUG
nc switch-gateway --id g --gateway-id "$UNKNOWN"
[ "$RC" = 1 ] && grep -qx "An error occurred: experienced a failure with our gateways details storage: gateway $UNKNOWN does not exist in the storage" "$T/o" ||
	{ cat "$T/o" "$T/e"; fail "switch to an unknown gateway: status $RC"; }
[ "$(q "$DB" "SELECT active_gateway_id_bs58 FROM active_gateway")" = "$GW2" ] || fail "active changed"
nc switch-gateway --id g --gateway-id "$GW1"
[ "$RC" = 0 ] && [ ! -s "$T/o" ] || { cat "$T/o" "$T/e"; fail "switch-gateway: status $RC"; }
list_json "$GW1:true $GW2:false" || fail "list after switch"
# the counters once gateway1 has rewritten its stats file after everything above
touch "$T/mark"
sleep 0.01
for _ in $(seq 100); do [ "$T/net/run/gateway1.stats" -nt "$T/mark" ] && break; sleep 0.1; done
REG1=$(stat_of registrations)
AUTH1=$(stat_of authentications)
nc_run g
for _ in $(seq 300); do grep -q "gateway session ready" "$NC_DIR/g.log" 2>/dev/null && break; sleep 0.1; done
grep -q "gateway session ready" "$NC_DIR/g.log" || fail "run after switch: no gateway session"
for _ in $(seq 50); do [ "$(stat_of authentications)" = $((AUTH1 + 1)) ] && break; sleep 0.1; done
[ "$(stat_of authentications)" = $((AUTH1 + 1)) ] || fail "run did not authenticate with gateway1"
[ "$(stat_of registrations)" = "$REG1" ] || fail "run registered again with gateway1"
nc_stop g
echo "ok switch-gateway: refuses an unknown gateway; run then authenticates with gateway 1"

# ---- --custom-mixnet: the topology file instead of the nym-api
nc init --id m --custom-mixnet "$NYM_TOPOLOGY" --gateway "$GW2"
[ "$RC" = 0 ] && grep -qx "Gateway ID: $GW2" "$T/o" || { cat "$T/o" "$T/e"; fail "init --custom-mixnet: status $RC"; }
# Nym's own serde form of the same topology (snake_case, keys as arrays of numbers)
"$NC_PY" - "$NYM_TOPOLOGY" "$T/nym-topology.json" <<'P'
import json, sys
alphabet = "123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz"
def key(s):
    n = 0
    for c in s: n = n * 58 + alphabet.index(c)
    return list(n.to_bytes(32, "big"))
w = json.load(open(sys.argv[1]))
nodes = {k: {"node_id": n["nodeId"], "mix_host": n["mixHost"], "entry": n["entry"],
             "identity_key": key(n["identityKey"]), "sphinx_key": key(n["sphinxKey"]),
             "supported_roles": n["supportedRoles"]} for k, n in w["nodeDetails"].items()}
json.dump({"metadata": w["metadata"], "rewarded_set": w["rewardedSet"], "node_details": nodes},
          open(sys.argv[2], "w"))
P
nc add-gateway --id m --custom-mixnet "$T/nym-topology.json"
[ "$RC" = 0 ] && grep -q "^\[ACTIVE\] remote gateway '$GW1' registered at: " "$T/o" ||
	{ cat "$T/o" "$T/e"; fail "add-gateway --custom-mixnet (Nym's form): status $RC"; }
# run --custom-mixnet: the file's topology, fixed; the config's (dead) nym-api never asked
CONFIGURED=true NYM_API=http://127.0.0.1:9/dead-api/ "$BIN/nym-client" init --id r --home "$H" \
	--custom-mixnet "$T/nym-topology.json" --gateway "$GW1" >/dev/null 2>&1 || fail "init r"
nc_run r --custom-mixnet "$T/nym-topology.json" --port 0
for _ in $(seq 300); do grep -q "gateway session ready" "$NC_DIR/r.log" 2>/dev/null && break; sleep 0.1; done
grep -q "gateway session ready" "$NC_DIR/r.log" || fail "run --custom-mixnet: no gateway session"
grep -q "topology generation 1 from $(realpath "$T/nym-topology.json") (fixed: --custom-mixnet)" "$NC_DIR/r.log" ||
	fail "run --custom-mixnet: not the file's topology"
nc_stop r
RC=0
timeout 120 "$BIN/nym-client" run --id r --home "$H" --port 0 >"$T/r2.out" 2>&1 || RC=$?
[ "$RC" != 0 ] && grep -q "key rotation info: " "$T/r2.out" || { cat "$T/r2.out"; fail "run without the file used no nym-api? status $RC"; }
echo '{"not": "a topology"}' >"$T/bad.json"
nc init --id m2 --custom-mixnet "$T/bad.json"
[ "$RC" = 1 ] && grep -q "^An error occurred: failed to load custom topology using path '$T/bad.json'" "$T/o" ||
	{ cat "$T/o" "$T/e"; fail "a bad topology file: status $RC"; }
[ ! -e "$H/.nym/clients/m2/config" ] || fail "a failed init left its config folder"
nc run --id r --custom-mixnet "$T/bad.json" --port 0
[ "$RC" = 1 ] && grep -q "^An error occurred: failed to load custom topology using path '$T/bad.json'" "$T/o" ||
	{ cat "$T/o" "$T/e"; fail "run with a bad topology file: status $RC"; }
echo "ok --custom-mixnet at init, add-gateway and run (our topology file and Nym's form; run never asks the nym-api); a bad file refused with Nym's text"

# ---- the environment (init with --custom-mixnet never asks a nym-api: the URL is only written)
# conf ID KEY: client.KEY of ID's config.toml, as a Python list
conf() {
	"$NC_PY" -c 'import sys, tomllib
print(tomllib.load(open(sys.argv[1], "rb"))["client"][sys.argv[2]])' "$H/.nym/clients/$1/config/config.toml" "$2"
}
apis() { conf "$1" nym_api_urls; }
LOCAL=http://127.0.0.1:9/env-api/
env -u CONFIGURED NYM_API=$LOCAL "$BIN/nym-client" init --id e0 --home "$H" \
	--custom-mixnet "$NYM_TOPOLOGY" --gateway "$GW1" >/dev/null 2>&1 || fail "init e0"
[ "$(apis e0)" = "['https://validator.nymtech.net/api/']" ] || fail "NYM_API used without CONFIGURED: $(apis e0)"
CONFIGURED=true NYM_API=$LOCAL "$BIN/nym-client" init --id e1 --home "$H" \
	--custom-mixnet "$NYM_TOPOLOGY" --gateway "$GW1" >/dev/null 2>&1 || fail "init e1"
[ "$(apis e1)" = "['$LOCAL']" ] || fail "NYM_API ignored with CONFIGURED: $(apis e1)"
printf '# test env\nNYM_API=http://127.0.0.1:9/file-api/\nNYXD="http://127.0.0.1:9/rpc/"\n' >"$T/net.env"
env -u CONFIGURED -u NYM_API "$BIN/nym-client" -c "$T/net.env" init --id e2 --home "$H" \
	--custom-mixnet "$NYM_TOPOLOGY" --gateway "$GW1" >/dev/null 2>&1 || fail "init e2"
[ "$(apis e2)" = "['http://127.0.0.1:9/file-api/']" ] || fail "-c file's NYM_API: $(apis e2)"
[ "$(conf e2 nyxd_urls)" = "['http://127.0.0.1:9/rpc/']" ] || fail "-c file's NYXD: $(conf e2 nyxd_urls)"
env -u CONFIGURED NYM_API=$LOCAL "$BIN/nym-client" --config-env-file "$T/net.env" init --id e3 --home "$H" \
	--custom-mixnet "$NYM_TOPOLOGY" --gateway "$GW1" >/dev/null 2>&1 || fail "init e3"
[ "$(apis e3)" = "['$LOCAL']" ] || fail "the -c file replaced a variable already set: $(apis e3)"
env -u CONFIGURED -u NYM_API API_VALIDATOR=$LOCAL "$BIN/nym-client" -c /dev/null init --id e4 --home "$H" \
	--custom-mixnet "$NYM_TOPOLOGY" --gateway "$GW1" >/dev/null 2>&1 || fail "init e4"
[ "$(apis e4)" = "['$LOCAL']" ] || fail "API_VALIDATOR not taken for NYM_API: $(apis e4)"
RC=0
"$BIN/nym-client" -c "$T/missing.env" build-info >"$T/o" 2>"$T/e" || RC=$?
[ "$RC" = 101 ] && grep -q "^Invalid path to environment configuration file: " "$T/e" || fail "missing -c file: status $RC"
echo "ok environment: NYM_API only with CONFIGURED or -c (the file never replaces a set variable), API_VALIDATOR"
echo PASS
