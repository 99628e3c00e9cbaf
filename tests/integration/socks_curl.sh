#!/usr/bin/env bash
# nym-socks5-client end to end on a localnet without delays, through our network requester:
# curl fetches a 10 MB file from a local HTTP server with --socks5-hostname, --socks5,
# --socks4a, --socks4, --proxy http:// (HTTP CONNECT) and through the 0600 Unix socket, each
# sha256-identical; 20 concurrent connections all intact; proxychains4 with curl; PySocks;
# nymctl lists an open connection with its bytes, age and lane depth (human and --json), and
# `nymctl --kind nr` the requester's side of it; a destination the policy refuses (127.0.0.2), a
# name that does not resolve (nonexistent.invalid) and a closed port end promptly and the next
# connection works; the client stopped and run again keeps its Nym address (init's, the log's
# and nymctl's) and downloads 10 MB intact; with provider_interface_version and
# socks5_protocol_version {type = "Legacy"} in its config a download still works and the
# requester counts legacy requests and Connects. Prints the throughput of the first download.
# Exit 0 = pass.
set -euo pipefail
LOCALNET_ARGS="--no-delay ${LOCALNET_ARGS:-}"
# shellcheck source=tests/integration/lib/socks.bash
. "$(dirname "$0")/lib/socks.bash"
socks_up socks-curl
URL=http://127.0.0.1:$HPORT/big.bin
P=127.0.0.1:$SPORT
grep -q "^SOCKS5 listening address: 127.0.0.1:$SPORT$" "$T/socks.init" || fail "init output"

t0=$(date +%s.%N)
got=$(sha_of curl -sS -m 120 --socks5-hostname "$P" "$URL") || fail "curl --socks5-hostname"
t1=$(date +%s.%N)
[ "$got" = "$WANT" ] || fail "socks5-hostname: sha256 differs"
echo "ok socks5-hostname 10 MB ($(echo "10 / ($t1 - $t0)" | bc -l | cut -c1-5) MB/s)"
for mode in "--socks5 $P" "--socks4a $P" "--socks4 $P" "--proxytunnel --proxy http://$P"; do
	# shellcheck disable=SC2086
	got=$(sha_of curl -sS -m 120 $mode "$URL") || fail "curl $mode"
	[ "$got" = "$WANT" ] || fail "$mode: sha256 differs"
	echo "ok ${mode% *} 10 MB"
done
[ "$(stat -c %a "$SOCK")" = 600 ] || fail "unix socket mode $(stat -c %a "$SOCK")"
got=$(sha_of curl -sS -m 120 --proxy "socks5h://localhost$SOCK" "$URL") || fail "curl unix socket"
[ "$got" = "$WANT" ] || fail "unix socket: sha256 differs"
echo "ok unix socket (curl --proxy socks5h://localhost/PATH) 10 MB"

# 20 concurrent connections, 1 MB each
head -c 1000000 /dev/urandom >"$T/www/small.bin"
SMALL=$(sha256sum <"$T/www/small.bin" | cut -d' ' -f1)
pids=()
for i in $(seq 20); do
	curl -sS -m 120 --socks5-hostname "$P" -o "$T/c$i" "http://127.0.0.1:$HPORT/small.bin" & pids+=($!)
done
for p in "${pids[@]}"; do wait "$p" || fail "a concurrent download failed"; done
for i in $(seq 20); do [ "$(sha256sum <"$T/c$i" | cut -d' ' -f1)" = "$SMALL" ] || fail "concurrent $i differs"; done
echo "ok 20 concurrent connections intact"

# proxychains4 with curl (no proxy flag: proxychains redirects its connect)
printf 'strict_chain\nproxy_dns\nquiet_mode\n[ProxyList]\nsocks5 127.0.0.1 %s\n' "$SPORT" >"$T/pc.conf"
got=$(sha_of proxychains4 -q -f "$T/pc.conf" curl -sS -m 120 "http://127.0.0.1:$HPORT/small.bin") || fail "proxychains4"
[ "$got" = "$SMALL" ] || fail "proxychains4: sha256 differs"
echo "ok proxychains4 curl"
# PySocks
got=$("$PY" - "$SPORT" "$HPORT" <<'PYEOF' | sha256sum | cut -d' ' -f1
import socks, sys
s = socks.socksocket()
s.set_proxy(socks.SOCKS5, "127.0.0.1", int(sys.argv[1]), rdns=True)
s.settimeout(60)
s.connect(("127.0.0.1", int(sys.argv[2])))
s.sendall(b"GET /small.bin HTTP/1.0\r\nHost: x\r\n\r\n")
data = b""
while True:
    b = s.recv(65536)
    if not b:
        break
    data += b
sys.stdout.buffer.write(data.split(b"\r\n\r\n", 1)[1])
PYEOF
) || fail "PySocks"
[ "$got" = "$SMALL" ] || fail "PySocks: sha256 differs"
echo "ok PySocks"

# nymctl while a connection is open: a slow reader keeps it open
"$PY" - "$SPORT" "$HPORT" >"$T/slow.out" 2>&1 <<'PYEOF' &
import socks, sys, time
s = socks.socksocket()
s.set_proxy(socks.SOCKS5, "127.0.0.1", int(sys.argv[1]))
s.connect(("127.0.0.1", int(sys.argv[2])))
s.sendall(b"GET /small.bin HTTP/1.0\r\nHost: x\r\n\r\n")
s.recv(1000)
time.sleep(4)
PYEOF
SLOW=$!
sleep 2.5
ctl status >"$T/st.txt" || fail "nymctl status"
grep -qE '^socksd\.connections\.[0-9]+\.remote: +127\.0\.0\.1:'"$HPORT"'$' "$T/st.txt" || { cat "$T/st.txt"; fail "nymctl: connection not listed"; }
for k in bytes_up bytes_down age_s lane_depth; do
	grep -qE "^socksd\.connections\.[0-9]+\.$k: +[0-9]+$" "$T/st.txt" || fail "nymctl: no $k"
done
ctl status --json | "$PY" -c '
import json, sys
c = json.load(sys.stdin)["socksd"]["connections"]
assert len(c) == 1, c
v = list(c.values())[0]
assert v["bytes_up"] > 30 and v["bytes_down"] > 0 and v["age_s"] >= 2, v' || fail "nymctl --json connections"
NRCTL=("$BIN/nymctl" --kind nr --id nr --home "$T/net/nr")
"${NRCTL[@]}" status --json | "$PY" -c '
import json, sys
x = json.load(sys.stdin)["exitd"]
c = [v for v in x["connections"].values() if v["target"] == "127.0.0.1:" + sys.argv[1]]
# the slow reader, and maybe earlier ones still lingering after their close
assert any(v["state"] == "open" and v["bytes_from_remote"] > 0 and v["lane_depth"] >= 0 for v in c), x
assert x["connections_open"] >= 1 and x["address"] == sys.argv[2], x' "$HPORT" "$NR_ADDR" ||
	fail "nymctl --kind nr: the connection"
"${NRCTL[@]}" status >"$T/nrst.txt" || fail "nymctl --kind nr status"
grep -qE '^exitd\.connections\.[0-9]+\.target: +127\.0\.0\.1:'"$HPORT"'$' "$T/nrst.txt" || { cat "$T/nrst.txt"; fail "nymctl --kind nr: no target"; }
wait "$SLOW" || true
echo "ok nymctl lists the connection (remote, bytes each way, age, lane depth; human and --json; the requester's side with --kind nr)"

# refused by the policy, not resolving, closed port: prompt end, then a good connection
for bad in "127.0.0.2:$HPORT" "nonexistent.invalid:$HPORT" "127.0.0.1:1"; do
	s=$(date +%s)
	rc=0; curl -sS -m 30 --socks5-hostname "$P" "http://$bad/" >/dev/null 2>"$T/bad.err" || rc=$?
	[ "$rc" != 0 ] || fail "$bad answered"
	[ "$rc" != 28 ] && [ $(( $(date +%s) - s )) -lt 15 ] || fail "$bad: not closed promptly (rc $rc)"
	got=$(sha_of curl -sS -m 60 --socks5-hostname "$P" "http://127.0.0.1:$HPORT/small.bin") || fail "after $bad"
	[ "$got" = "$SMALL" ] || fail "after $bad: differs"
	echo "ok $bad ends promptly (curl rc $rc, $(( $(date +%s) - s )) s with the next download)"
done

# stopped and run again: the same Nym address, downloads work
ADDR=$(sed -n 's/^Address of this client: //p' "$T/socks.init")
[ -n "$ADDR" ] || fail "init printed no address"
socks_restart() {
	kill "$SPID"; wait "$SPID" 2>/dev/null || true
	: >"$T/socks.log"
	socks_run
	grep -q "The address of this client is: $ADDR$" "$T/socks.log" || fail "run $1: another address in the log"
	[ "$(ctl address)" = "address: $ADDR" ] || fail "run $1: nymctl address $(ctl address)"
}
socks_restart 2
got=$(sha_of curl -sS -m 120 --socks5-hostname "$P" "$URL") || fail "download after the restart"
[ "$got" = "$WANT" ] || fail "after the restart: sha256 differs"
echo "ok the same address across a restart (init, log, nymctl), 10 MB intact after it"

# the legacy framing (no version byte): the requester answers in kind
legacy() { "${NRCTL[@]}" stats --json | "$PY" -c 'import json, sys; x = json.load(sys.stdin)["exitd"]; print(x["requests_legacy_interface"], x["connects_legacy_socks5"])'; }
read -r li0 ls0 <<<"$(legacy)"
[ "$li0" = 0 ] && [ "$ls0" = 0 ] || fail "legacy requests counted before the legacy config ($li0, $ls0)"
sed -i '/^\[core\.socks5\]$/a provider_interface_version = { type = "Legacy" }\nsocks5_protocol_version = { type = "Legacy" }' \
	"$T/home/.nym/socks5-clients/s/config/config.toml"
socks_restart 3
got=$(sha_of curl -sS -m 120 --socks5-hostname "$P" "http://127.0.0.1:$HPORT/small.bin") || fail "legacy download"
[ "$got" = "$SMALL" ] || fail "legacy: sha256 differs"
read -r li1 ls1 <<<"$(legacy)"
[ "$ls1" -eq $(( ls0 + 1 )) ] && [ "$li1" -gt "$li0" ] ||
	fail "the requester counted legacy Connects $ls0 -> $ls1, legacy requests $li0 -> $li1"
echo "ok legacy interface and socks5 framing: 1 MB intact, the requester saw $(( li1 - li0 )) legacy requests"
echo PASS
