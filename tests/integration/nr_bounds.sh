#!/usr/bin/env bash
# exitd's bounds on what one sender can cost (exitd/README.md "Bounds"), on a network requester
# of the test's own: [nymsuite] max_connections_per_sender = 3, buffer_mib = 16 (so 8 MiB per
# connection), exit policy file accepting only 127.0.0.1:PORT of a local server that accepts
# and never reads. A Python app on our nym-client's websocket sends raw NR requests:
#  - 127.0.0.1 on another live port: ConnectionError `Domain ... failed filter check` (the
#    policy's port is checked), no connection made;
#  - 3 Connects are opened (the server accepts 3); the 4th and 5th get ConnectionError
#    `too many connections from this sender`, logged once (rate-limited, refused_bounds 2);
#  - Send closed=true on one connection: it ends (closed NetworkData) and a new Connect works;
#  - a flood of Sends on a connection whose remote does not read: the connection's buffer
#    fills, the NR answers ConnectionError `the connection's buffer is full` and drops the
#    connection (logged); bytes_buffered never passes 8 MiB, exitd's RSS grows by less than
#    8 MiB + 8 MiB while more is sent than the remote took plus 8 MiB. Exit 0 = pass.
set -euo pipefail
# shellcheck source=tests/integration/lib/netreq.bash
. "$(dirname "$0")/lib/netreq.bash"
nr_setup nr-bounds

nr_hold hold
PORT=$HOLD_PORT
nr_hold other
OTHER=$HOLD_PORT
printf 'ExitPolicy accept 127.0.0.1:%s\nExitPolicy reject *:*\n' "$PORT" >"$T/policy.txt"

nr_init b
nr_set b nymsuite exit_policy_file "\"$T/policy.txt\""
nr_set b nymsuite max_connections_per_sender 3
nr_set b nymsuite buffer_mib 16
nr_run b --no-cover
nc_init c
nc_run c --no-cover

cat >"$T/bounds.py" <<'PY'
import asyncio, os, sys, time
from capiws import check
from nrapp import App, connect_req, connection_error, is_error_of, network_data, nr_stats, send_req

url, nr, admin, port, other, hold, other_log, exitd = sys.argv[1:9]
BOUND, CONN_CAP, CHUNK, RSS_SLACK = 3, 8 << 20, 32768, 8 << 20

def accepted(log):
    return open(log).read().count("accepted ")

def rss_kib():
    for line in open(f"/proc/{exitd}/status"):
        if line.startswith("VmRSS:"):
            return int(line.split()[1])

async def until(pred, t, what):
    end = time.time() + t
    while not pred():
        check(time.time() < end, f"{what} within {t} s")
        await asyncio.sleep(0.1)

async def per_sender(app):
    for conn in range(1, BOUND + 1):
        await app.send(connect_req(conn, f"127.0.0.1:{port}", app.me), conn=conn)
    await until(lambda: accepted(hold) == BOUND, 60, f"{BOUND} connections accepted")
    for conn in (BOUND + 1, BOUND + 2):
        await app.send(connect_req(conn, f"127.0.0.1:{port}", app.me), conn=conn)
        m = await app.wait(lambda m: is_error_of(m, conn) or network_data(m, conn), what=f"answer {conn}")
        check(m == connection_error(conn, "too many connections from this sender"), f"over the bound: {m!r}")
    st = nr_stats(admin)
    check(st["refused_bounds"] == 2 and st["connections_open"] == BOUND, f"after the bound: {st}")
    check(accepted(hold) == BOUND and not any(is_error_of(m, c) for m in app.got for c in range(1, BOUND + 1)),
          "a connection under the bound was refused or one over it made")
    print(f"per sender: {BOUND} open, 2 over the bound refused", flush=True)

async def port_rule(app):
    await app.send(connect_req(9, f"127.0.0.1:{other}", app.me), conn=9)
    m = await app.wait(lambda m: is_error_of(m, 9) or network_data(m, 9), what="answer 9")
    check(m == connection_error(9, f'Domain "127.0.0.1:{other}" failed filter check'), f"port rule: {m!r}")
    check(accepted(other_log) == 0, "a port the policy does not name was connected")
    print("a port the policy does not name: refused", flush=True)

async def close_and_reopen(app):
    await app.send(send_req(1, 0, b"", closed=True), conn=1)
    m = await app.wait(lambda m: (network_data(m, 1) or (0,))[0] is True, what="connection 1 closed")
    await until(lambda: nr_stats(admin)["connections_open"] == BOUND - 1, 20, "connection 1 gone")
    await app.send(connect_req(6, f"127.0.0.1:{port}", app.me), conn=6)
    await until(lambda: accepted(hold) == BOUND + 1, 60, "the new connection accepted")
    await asyncio.sleep(1)
    check(not any(is_error_of(m, 6) for m in app.got), "the new Connect was refused")
    check(nr_stats(admin)["connections_open"] == BOUND, "connections_open after the new Connect")
    print("after Send closed=true: a new Connect works", flush=True)

async def flood(app, conn):
    base, peak_rss, peak_buf, sent, seq = rss_kib(), 0, 0, 0, 0
    chunk = bytes(range(256)) * (CHUNK // 256)
    while sent < 5 * CONN_CAP and not any(is_error_of(m, conn) for m in app.got):
        await app.send(send_req(conn, seq, chunk), conn=conn)
        seq, sent = seq + 1, sent + CHUNK
        if seq % 16:
            continue
        end = time.time() + 60
        while time.time() < end and not any(is_error_of(m, conn) for m in app.got):
            st = nr_stats(admin)
            peak_buf, peak_rss = max(peak_buf, st["bytes_buffered"]), max(peak_rss, rss_kib() - base)
            if sent - st["bytes_to_remote"] - st["bytes_buffered"] < 2 << 20:
                break
            await asyncio.sleep(0.05)
    m = await app.wait(lambda m: is_error_of(m, conn), t=60, what="the flood's refusal")
    check(m == connection_error(conn, "the connection's buffer is full"), f"flood: {m!r}")
    st = nr_stats(admin)
    print(f"flood: sent {sent} bytes, to the remote {st['bytes_to_remote']}, peak buffered {peak_buf}, "
          f"exitd RSS +{peak_rss} KiB", flush=True)
    check(peak_buf <= CONN_CAP and sent >= CONN_CAP, "the buffer bound")
    check(sent > CONN_CAP + st["bytes_to_remote"], "less was sent than the NR could hold")
    # an ASan build's quarantine and shadow memory are the runtime's, not exitd's
    if os.environ.get("NR_ASAN") != "1":
        check(peak_rss * 1024 < CONN_CAP + RSS_SLACK, f"exitd's RSS grew by {peak_rss} KiB")
    check(st["sends_dropped"] >= 1 and st["connections_open"] == BOUND - 1, f"after the flood: {st}")

async def run():
    app = await App.start(url, nr)
    await port_rule(app)  # first: while under the bound
    await per_sender(app)
    t0 = time.time()
    await close_and_reopen(app)
    await asyncio.sleep(max(0, t0 + 11 - time.time()))  # past the refusal log's 10 s window
    await flood(app, 2)
    print("ok", flush=True)

asyncio.run(run())
PY

NR_ASAN=0
[[ $(ldd "$BIN/nym-network-requester" 2>/dev/null) == *libasan* ]] && NR_ASAN=1
NR_ASAN=$NR_ASAN PYTHONPATH=$NC_LIB timeout 400 "$NC_PY" -u "$T/bounds.py" "ws://127.0.0.1:${NC_PORT[c]}" "${NR_ADDR[b]}" \
	"$(nr_admin b)" "$PORT" "$OTHER" "$T/hold.log" "$T/other.log" "$(nr_exitd b)" >"$T/bounds.out" 2>&1 ||
	{ cat "$T/bounds.out"; tail -20 "$T/nr-b.log"; fail "the bounds app failed"; }
cat "$T/bounds.out"
grep -q '^ok$' "$T/bounds.out" || fail "the bounds app did not finish"
n=$(grep -v 'more like this in the last' "$T/nr-b.log" | grep -c 'refused: too many connections from this sender' || true)
[ "$n" = 1 ] || fail "the per-sender refusal was logged $n times, want once (rate-limited)"
grep -q 'connection 2: buffer full: connection closed' "$T/nr-b.log" || fail "the flood's refusal was not logged"
echo "PASS"
