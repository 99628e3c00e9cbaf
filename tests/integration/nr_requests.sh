#!/usr/bin/env bash
# The network requester of the localnet (`nym-localnet up` starts it; exit policy: accept
# 127.0.0.1:*, reject *:*) driven with raw NR requests (clients.md §4.4) by a Python app on our
# nym-client's websocket (binary API):
#  - Control Health / BinaryInfo / SupportedRequestVersions and Query OpenProxy / Description /
#    ExitPolicy sent anonymously are answered as replies (versioned mode; legacy Query too);
#    the same Control sent plain gets no answer (Nym: generic replies only through SURBs);
#  - Connect + Send (HTTP GET) to a local web server with the return address: the body comes back
#    byte-identical in NetworkData seq 0.., ending closed=true; the same anonymously (20 SURBs on
#    the Connect, 3 per Send) for a 300 KB file (many reply packets, SURB requests);
#  - the Send sent before its Connect still reaches the server;
#  - 127.0.0.2 (refused by the policy): ConnectionError `Domain "127.0.0.2:PORT" failed filter
#    check`; nonexistent.invalid: the same, quickly; a closed port: NetworkData seq 0, closed,
#    empty;
#  - the resolver thread runs under the same seccomp filter as exitd's main thread;
#  - nym-localnet status shows the counters, and `nymctl --kind nr` answers status and stats
#    (human and --json) with exitd's counters beside keyd's and netd's, the same numbers.
# Exit 0 = pass.
set -euo pipefail
# shellcheck source=tests/integration/lib/nymclient.bash
. "$(dirname "$0")/lib/nymclient.bash"
# shellcheck source=tests/integration/lib/www.bash
. "$(dirname "$0")/lib/www.bash"
nc_setup nr-requests
[ -n "${NETWORK_REQUESTER:-}" ] || fail "the localnet's env has no NETWORK_REQUESTER"
[ -x "$BIN/nym-network-requester" ] || fail "missing nym-network-requester"

# the resolver thread: same seccomp filter, no_new_privs, and (as root) the same own uid
NRPID=$(cat "$T/net/run/network-requester.pid")
EXITD=$(pgrep -P "$NRPID" -f 'exitd' | head -1)
[ -n "$EXITD" ] || fail "no exitd process under the network requester ($NRPID)"
TASKS=$(ls "/proc/$EXITD/task" | wc -l)
[ "$TASKS" -ge 2 ] || fail "exitd has $TASKS task(s): no resolver thread"
for task in /proc/"$EXITD"/task/*; do
	grep -q '^Seccomp:[[:space:]]*2' "$task/status" || fail "task $task not under the seccomp filter"
	grep -q '^NoNewPrivs:[[:space:]]*1' "$task/status" || fail "task $task without no_new_privs"
	[ "$(awk '/^Uid:/{print $2}' "$task/status")" = "$(awk '/^Uid:/{print $2}' "/proc/$EXITD/status")" ] ||
		fail "task $task runs as another uid"
done
echo "exitd $EXITD: $TASKS tasks, each Seccomp 2, NoNewPrivs 1, one uid"

WWW=$T/www
mkdir -p "$WWW"
printf 'hello from the exit\n' >"$WWW/small.txt"
head -c 307200 /dev/urandom >"$WWW/r300k.bin"
www_start "$WWW" "$T/www.log"
NC_APP_PID[www]=$WWW_PID
PORT=$WWW_PORT
[ -n "$PORT" ] || fail "the local web server did not start"
CLOSED=$(nc_free_port)

nc_init c
nc_run c

cat >"$T/nr.py" <<'EOF'
import asyncio, json, struct, sys, time
from capiws import check
from nrapp import App, V, body_of, connect_req, http_get, network_data, send_req, stream

url, nr_text, port, closed_port, www = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4]), sys.argv[5]

async def control_query(app):
    # ---- Control and Query, anonymously (versioned)
    await app.send_anon(b"\x03\x00\x00", 5)
    check(await app.wait(lambda m: m == b"\x03\x00\x00", what="Health answer") == b"\x03\x00\x00", "Health")
    await app.send_anon(b"\x03\x00\x01", 5)
    m = await app.wait(lambda m: m[:3] == b"\x03\x00\x01", what="BinaryInfo answer")
    check(json.loads(m[3:])["binary_name"] == "nym-network-requester", f"BinaryInfo {m!r}")
    await app.send_anon(b"\x03\x00\x02", 5)
    m = await app.wait(lambda m: m[:3] == b"\x03\x00\x02", what="SupportedRequestVersions answer")
    j = json.loads(m[3:])
    check(json.loads(j["interface_version"]) == {"type": "Versioned", "version": 3}, f"versions {j}")
    await app.send_anon(V + b"\x02\x00", 5)
    m = await app.wait(lambda m: m[:5] == V + b"\x03\x00", what="OpenProxy answer")
    check(m == V + b"\x03\x00\x00", f"OpenProxy(false) {m!r}")
    await app.send_anon(V + b"\x02\x01", 5)
    m = await app.wait(lambda m: m[:5] == V + b"\x03\x01", what="Description answer")
    check(m.endswith(b"Description (placeholder)"), f"Description {m!r}")
    await app.send_anon(V + b"\x02\x02", 5)
    m = await app.wait(lambda m: m[:5] == V + b"\x03\x02", what="ExitPolicy answer")
    check(m[5] == 1 and b"/exit-policy.txt" in m, f"ExitPolicy {m!r}")
    # legacy Query: answered, with the socks5 version Versioned(3) as Nym does
    await app.send_anon(b"\x00\x02\x01", 5)
    m = await app.wait(lambda m: m.endswith(b"Description (placeholder)") and not m.startswith(V), what="legacy Description answer")
    print("control and query answered (versioned and legacy):", m[:4].hex(), flush=True)
    # plain Control: no answer (checked after the next anonymous round trip)
    await app.send(b"\x03\x00\x00")
    await app.send_anon(b"\x03\x00\x01", 5)
    await app.wait(lambda m: m[:3] == b"\x03\x00\x01", what="BinaryInfo answer")
    await asyncio.sleep(2)
    check(b"\x03\x00\x00" not in app.got, "a plain Control request was answered")
    print("plain Control: no answer", flush=True)

async def conns(app, ws, me):
    # ---- plain, with the return address
    await app.send(connect_req(11, f"127.0.0.1:{port}", me), conn=11)
    await app.send(send_req(11, 0, http_get("small.txt")), conn=11)
    body = body_of(await stream(app, 11))
    check(body == open(f"{www}/small.txt", "rb").read(), "small.txt differs")
    print("plain Connect+Send: small.txt intact", flush=True)
    # ---- a Send before its Connect
    await app.send(send_req(12, 0, http_get("small.txt")), conn=12)
    await asyncio.sleep(1)
    await app.send(connect_req(12, f"127.0.0.1:{port}", me), conn=12)
    check(body_of(await stream(app, 12)) == open(f"{www}/small.txt", "rb").read(), "Send before Connect")
    print("Send before its Connect: served", flush=True)
    # ---- anonymous, a 300 KB file through SURBs
    await app.send_anon(connect_req(13, f"127.0.0.1:{port}"), 20, conn=13)
    await app.send_anon(send_req(13, 0, http_get("r300k.bin")), 3, conn=13)
    body = body_of(await stream(app, 13, 240))
    check(body == open(f"{www}/r300k.bin", "rb").read(), "r300k.bin differs")
    print("anonymous Connect+Send: r300k.bin intact", flush=True)
    # ---- refusals
    t0 = time.time()
    await app.send(connect_req(14, f"127.0.0.2:{port}", me), conn=14)
    m = await app.wait(lambda m: m[:4] == V + b"\x02", what="ConnectionError for 127.0.0.2")
    check(m == V + b"\x02" + struct.pack(">Q", 14) + f'Domain "127.0.0.2:{port}" failed filter check'.encode(), f"refusal {m!r}")
    await app.send(connect_req(15, "nonexistent.invalid:80", me), conn=15)
    m = await app.wait(lambda m: m[:4] == V + b"\x02", what="ConnectionError for nonexistent.invalid")
    check(m.endswith(b'Domain "nonexistent.invalid:80" failed filter check'), f"invalid {m!r}")
    print(f"policy refusal and unresolvable name: ConnectionError ({time.time() - t0:.1f} s)", flush=True)
    await app.send(connect_req(16, f"127.0.0.1:{closed_port}", me), conn=16)
    m = await app.wait(lambda m: network_data(m, 16) is not None, what="NetworkData for a closed port")
    check(network_data(m, 16) == (True, 0, b""), f"closed port {m!r}")
    print("closed port: NetworkData seq 0 closed empty", flush=True)

async def run():
    app = await App.start(url, nr_text)
    await control_query(app)
    await conns(app, app.ws, app.me)
    app.pump_task.cancel()
    print("ok", flush=True)

asyncio.run(run())
EOF


PYTHONPATH=$NC_LIB timeout 600 "$NC_PY" -u "$T/nr.py" "ws://127.0.0.1:${NC_PORT[c]}" "$NETWORK_REQUESTER" \
	"$PORT" "$CLOSED" "$WWW" >"$T/nr.out" 2>&1 || { cat "$T/nr.out"; tail -20 "$T/net/logs/network-requester.log"; fail "the NR app failed"; }
cat "$T/nr.out"
grep -q '^ok$' "$T/nr.out" || fail "the NR app did not finish"
STATS=$("$BIN/nym-localnet" status --dir "$T/net" | grep '^network-requester ')
echo "$STATS"
# at least: Sends that raced ahead of their Connect through the mixnet count as early too
for k in connections_opened=3 refused_policy=1 resolve_failed=1 connect_failed=1 sends_early=1 \
	control_answered=4 query_answered=4 generic_without_tag=1 requests_legacy_interface=1; do
	got=$(sed -n "s/.* ${k%=*}=\([0-9]*\).*/\1/p" <<<"$STATS")
	[ -n "$got" ] && [ "$got" -ge "${k#*=}" ] || fail "network requester counter ${k%=*}=$got, want >= ${k#*=}"
done

NRCTL=("$BIN/nymctl" --kind nr --id nr --home "$T/net/nr")
"${NRCTL[@]}" status >"$T/nrctl.txt" || fail "nymctl --kind nr status"
for re in "^exitd\.address: +$NETWORK_REQUESTER\$" '^exitd\.connections_opened: +[0-9]+$' \
	'^exitd\.open_proxy: +no$' '^keyd\.fragments: +[0-9]+$' '^netd\.connected: +yes$'; do
	grep -qE "$re" "$T/nrctl.txt" || { cat "$T/nrctl.txt"; fail "nymctl --kind nr status: no line $re"; }
done
"${NRCTL[@]}" stats --json | "$NC_PY" -c '
import json, sys
j = json.load(sys.stdin)
x = j["exitd"]
want = dict(w.split("=")[-2:] for w in sys.argv[1].split() if "=" in w)
assert "missing" not in j and j["keyd"]["packets_built"] > 0 and j["netd"]["real_packets_sent"] > 0, j
for k in ("connections_opened", "refused_policy", "control_answered", "query_answered"):
    assert x[k] >= int(want[k]) and x[k] > 0, (k, x[k], want[k])' "$STATS" || fail "nymctl --kind nr stats --json"
echo "nymctl --kind nr: status and stats (exitd, keyd, netd)"
echo "PASS"
