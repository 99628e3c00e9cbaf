#!/usr/bin/env bash
# The special-address (SSRF) guard end to end: a network requester of ours run as an open proxy
# (`--open-proxy true`: the policy is the single rule accept *:*) is asked, by raw Connects from
# a Python app on our nym-client's websocket, for
#   127.0.0.1:PORT and [::1]:PORT of live local servers (::1 skipped when this host has no IPv6
#   loopback), localhost:PORT (resolves to loopback), 10.0.0.1:80, 169.254.169.254:80 and
#   192.168.1.1:80.
# Every one gets ConnectionError `Domain "<target>" failed filter check`, and no TCP connect is
# made: exitd decides on the resolved addresses (exitd_conn.c on_resolved: nr_target_decide, and
# a refusal returns) before try_next_address calls socket(); so the local servers see no
# connection, the NR's connections_opened stays 0 and connect_failed too (a connect that was
# tried and failed would count there), refused_policy counts each target. The non-loopback
# addresses therefore never leave this machine.
# Then the same 127.0.0.1:PORT through the localnet's NR, whose policy names 127.0.0.1
# explicitly, does reach the server (the control: the refusals above are the guard's, not a
# broken path; nr_requests.sh covers that policy in depth). Exit 0 = pass.
set -euo pipefail
# shellcheck source=tests/integration/lib/netreq.bash
. "$(dirname "$0")/lib/netreq.bash"
nr_setup nr-ssrf

nr_hold hold4
PORT4=$HOLD_PORT
PORT6=
if "$NC_PY" -c 'import socket; socket.socket(socket.AF_INET6).bind(("::1", 0))' 2>/dev/null; then
	nr_hold hold6 ::1
	PORT6=$HOLD_PORT
else
	echo "no IPv6 loopback here: [::1] skipped"
fi

nr_init open --open-proxy true
nr_run open --no-cover
grep -q 'OPEN PROXY' "$T/nr-open.log" || fail "the open proxy did not warn"
nc_init c
nc_run c --no-cover

cat >"$T/ssrf.py" <<'PY'
import asyncio, sys
from capiws import check
from nrapp import App, V, connect_req, connection_error, is_error_of, network_data, nr_stats

url, nr_open, nr_local, admin, port4, port6, hold4, hold6 = sys.argv[1:9]

def accepted(log):
    return open(log).read().count("accepted ") if log else 0
targets = [f"127.0.0.1:{port4}", f"localhost:{port4}", "10.0.0.1:80", "169.254.169.254:80",
           "192.168.1.1:80"] + ([f"[::1]:{port6}"] if port6 else [])

async def refused(app, conn, target):
    await app.send(connect_req(conn, target, app.me), conn=conn)
    m = await app.wait(lambda m: is_error_of(m, conn) or network_data(m, conn), what=f"an answer for {target}")
    check(m == connection_error(conn, f'Domain "{target}" failed filter check'), f"{target}: {m!r}")
    print(f"refused: {target}", flush=True)

async def run():
    before = nr_stats(admin)
    app = await App.start(url, nr_open)
    await app.send_anon(V + b"\x02\x00", 5)
    m = await app.wait(lambda m: m[:5] == V + b"\x03\x00", what="OpenProxy answer")
    check(m == V + b"\x03\x00\x01", f"not an open proxy: {m!r}")
    for i, target in enumerate(targets):
        await refused(app, 100 + i, target)
    after = nr_stats(admin)
    for k in ("connections_opened", "connect_failed", "connections_open"):
        check(after[k] == before[k] == 0, f"{k}: {before[k]} -> {after[k]}")
    check(after["refused_policy"] - before["refused_policy"] == len(targets), f"refused_policy {after}")
    check(accepted(hold4) == 0 and accepted(hold6) == 0, "a local server saw a connection")
    print(f"open proxy: {len(targets)} refused, no connection made", flush=True)
    # the control: the localnet's NR names 127.0.0.1 and connects
    local = await App.start(url, nr_local)
    await local.send(connect_req(7, f"127.0.0.1:{port4}", local.me), conn=7)
    for _ in range(600):
        if accepted(hold4):
            break
        await asyncio.sleep(0.1)
    check(accepted(hold4) == 1, f"the localnet's NR: {accepted(hold4)} connections to 127.0.0.1, want 1")
    print("the localnet's NR (127.0.0.1 named in its policy) connected", flush=True)
    print("ok", flush=True)

asyncio.run(run())
PY

PYTHONPATH=$NC_LIB timeout 300 "$NC_PY" -u "$T/ssrf.py" "ws://127.0.0.1:${NC_PORT[c]}" "${NR_ADDR[open]}" \
	"$NETWORK_REQUESTER" "$(nr_admin open)" "$PORT4" "$PORT6" "$T/hold4.log" "${PORT6:+$T/hold6.log}" \
	>"$T/ssrf.out" 2>&1 ||
	{ cat "$T/ssrf.out"; tail -20 "$T/nr-open.log"; fail "the SSRF app failed"; }
cat "$T/ssrf.out"
grep -q '^ok$' "$T/ssrf.out" || fail "the SSRF app did not finish"
grep -q 'refused: ' "$T/nr-open.log" || fail "the open proxy logged no refusal"
echo "PASS"
