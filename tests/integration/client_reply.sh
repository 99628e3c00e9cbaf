#!/usr/bin/env bash
# Anonymous messages and replies between two nym-clients on the localnet, with one Python app
# (Debian's /usr/bin/python3 + python3-websockets) on each client's websocket, first with the
# JSON API, then with the binary API:
#  - A sendAnonymous to B with replySurbs=5 (on a connection id: laneQueueLength answer);
#    B receives it with a senderTag, A's own address nowhere in it;
#  - B replies twice: a short message and a ~50 KB one (33 packets: more SURBs than A sent,
#    so B's keyd asks A for more with a SurbRequest, A's apid answers with AdditionalSurbs);
#    A receives both byte-identical, with no senderTag;
#  - one sender tag per recipient: a second sendAnonymous (replySurbs=0) carries the same tag;
#  - a reply to an unknown tag gets no response (Nym logs and drops it);
#  - getLaneQueueLength falls back to 0 once every fragment is acknowledged;
#  - at SIGTERM the counters agree (anonymous messages, replies, SURB requests served).
# Exit 0 = pass.
set -euo pipefail
# shellcheck source=tests/integration/lib/nymclient.bash
. "$(dirname "$0")/lib/nymclient.bash"
nc_setup client-reply
nc_init a
nc_init b
nc_run a
nc_run b

cat >"$T/reply.py" <<'EOF'
import asyncio, json, os, struct, sys
from capiws import check, connect, parse_received

B58 = "123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz"
def b58(b):
    n = int.from_bytes(b, "big")
    s = ""
    while n:
        n, r = divmod(n, 58)
        s = B58[r] + s
    return "1" * (len(b) - len(b.lstrip(b"\0"))) + s

async def recv(ws, t=90):
    return await asyncio.wait_for(ws.recv(), t)

# ---- JSON API
async def json_round(a, b, addr_a, addr_b):
    await a.send(json.dumps({"type": "selfAddress"}))
    check(json.loads(await recv(a, 20)) == {"type": "selfAddress", "address": addr_a}, "A selfAddress")
    await b.send(json.dumps({"type": "selfAddress"}))
    check(json.loads(await recv(b, 20))["address"] == addr_b, "B selfAddress")
    hello = "hello B, from someone"
    await a.send(json.dumps({"type": "sendAnonymous", "recipient": addr_b, "message": hello,
                             "replySurbs": 5, "connectionId": 7}))
    r = json.loads(await recv(a, 20))
    check(r["type"] == "laneQueueLength" and r["lane"] == 7 and r["queue_length"] >= 0, f"lane answer {r}")
    r = json.loads(await recv(b))
    check(r["type"] == "received" and r["message"] == hello, f"B received {r}")
    tag = r["senderTag"]
    check(isinstance(tag, str) and len(tag) >= 16, f"no senderTag: {r}")
    check(addr_a.split(".")[0] not in json.dumps(r), "A's identity in what B received")
    print("JSON anonymous message received with senderTag", tag, flush=True)

    short = "a short reply"
    big = "".join(chr(0x21 + (i * 7) % 90) for i in range(50000))
    await b.send(json.dumps({"type": "reply", "senderTag": tag, "message": short}))
    await b.send(json.dumps({"type": "reply", "senderTag": tag, "message": big}))
    got = []
    for _ in range(2):
        r = json.loads(await recv(a, 120))
        check(r["type"] == "received" and r["senderTag"] is None, f"A received {str(r)[:200]}")
        got.append(r["message"])
    check(sorted(got, key=len) == [short, big], "replies differ from what B sent")
    print("JSON replies received: short and", len(big), "bytes", flush=True)

    # one tag per recipient: a message with no SURB carries the same tag
    await a.send(json.dumps({"type": "sendAnonymous", "recipient": addr_b, "message": "again",
                             "replySurbs": 0}))
    r = json.loads(await recv(b))
    check(r["message"] == "again" and r["senderTag"] == tag, f"second anonymous message {r}")
    # a reply to a tag nobody gave us: no response at all
    await b.send(json.dumps({"type": "reply", "senderTag": b58(os.urandom(16)), "message": "x"}))
    await b.send(json.dumps({"type": "selfAddress"}))
    r = json.loads(await recv(b, 20))
    check(r["type"] == "selfAddress", f"reply to an unknown tag answered {r}")
    print("JSON same tag per recipient; unknown tag: no response", flush=True)
    return tag

# ---- binary API
def req_send_anon(to, msg, surbs, conn=0):
    return b"\x01" + struct.pack(">I", surbs) + to + struct.pack(">QQ", conn, len(msg)) + msg

def req_reply(tag, msg, conn=0):
    return b"\x02" + tag + struct.pack(">QQ", conn, len(msg)) + msg

async def lane_length(ws, conn):
    await ws.send(b"\x05" + struct.pack(">Q", conn))
    r = await recv(ws, 20)
    check(isinstance(r, bytes) and len(r) == 17 and r[0] == 3, f"laneQueueLength frame {r!r}")
    lane, n = struct.unpack(">QQ", r[1:])
    check(lane == conn, "lane number")
    return n

async def binary_round(a, b, json_tag):
    await a.send(b"\x03")
    me_a = (await recv(a, 20))[1:]
    await b.send(b"\x03")
    me_b = (await recv(b, 20))[1:]
    check(len(me_a) == 96 and len(me_b) == 96, "binary selfAddress")
    hello = b"binary hello \x00\xff\xfe"
    await a.send(req_send_anon(me_b, hello, 5, conn=9))
    r = await recv(a, 20)
    check(r[0] == 3 and struct.unpack(">Q", r[1:9])[0] == 9, f"lane answer {r!r}")
    tag, msg = parse_received(await recv(b))
    check(msg == hello and tag is not None, "binary anonymous message")
    check(b58(tag) == json_tag, "the sender tag changed between messages to the same recipient")
    short = b"\x00short binary reply\xff"
    big = os.urandom(50000)
    await b.send(req_reply(tag, short))
    await b.send(req_reply(tag, big, conn=3))
    r = await recv(b, 20)
    check(r[0] == 3 and struct.unpack(">Q", r[1:9])[0] == 3, f"reply lane answer {r!r}")
    got = []
    for _ in range(2):
        t, m = parse_received(await recv(a, 120))
        check(t is None, "a reply came with a sender tag")
        got.append(m)
    check(sorted(got, key=len) == [short, big], "binary replies differ")
    print("binary replies received: short and", len(big), "bytes", flush=True)
    # every fragment acknowledged: the lanes empty out
    for ws, conn in ((a, 9), (b, 3)):
        for _ in range(150):
            if await lane_length(ws, conn) == 0:
                break
            await asyncio.sleep(0.2)
        else:
            sys.exit(f"lane {conn} never emptied")
    # ClosedConnection: no response
    await a.send(b"\x04" + struct.pack(">Q", 9))
    await a.send(b"\x03")
    check((await recv(a, 20))[0] == 2, "closedConnection answered")
    print("binary lanes empty once acknowledged; closedConnection silent", flush=True)

async def main(url_a, url_b, addr_a, addr_b):
    a = await connect(url_a)
    b = await connect(url_b)
    try:
        tag = await json_round(a, b, addr_a, addr_b)
        await binary_round(a, b, tag)
        print("REPLY OK", flush=True)
    finally:
        await a.close()
        await b.close()

asyncio.run(main(*sys.argv[1:5]))
EOF
PYTHONPATH="$(cd "$(dirname "$0")/lib" && pwd)" timeout 400 "$NC_PY" "$T/reply.py" "ws://127.0.0.1:${NC_PORT[a]}" "ws://127.0.0.1:${NC_PORT[b]}" \
	"${NC_ADDR[a]}" "${NC_ADDR[b]}" >"$T/reply.out" 2>&1 || { cat "$T/reply.out"; fail "reply app"; }
cat "$T/reply.out"
grep -qx "REPLY OK" "$T/reply.out" || fail "reply app"

sleep 2
nc_stop a
[ "$NC_STATUS" = 0 ] || fail "a: exit status $NC_STATUS"
nc_stop b
[ "$NC_STATUS" = 0 ] || fail "b: exit status $NC_STATUS"
# A: 3 anonymous messages, at least one SurbRequest served; B: 4 replies sent (one to an
# unknown tag), the SURBs of A's messages handed to keyd
[ "$(nc_stat a apid anonymous_sent)" = 3 ] || { grep "stats apid" "$T"/*.log; fail "a: anonymous_sent"; }
[ "$(nc_stat a apid surb_requests_served)" -ge 1 ] || { grep "stats apid" "$T"/*.log; fail "a: no SurbRequest served"; }
[ "$(nc_stat a apid unacked)" = 0 ] || { grep "stats apid" "$T"/*.log; fail "a: unacked fragments left"; }
[ "$(nc_stat b apid replies_sent)" = 5 ] || { grep "stats apid" "$T"/*.log; fail "b: replies_sent"; }
[ "$(nc_stat b apid surbs_received)" -gt 10 ] || { grep "stats apid" "$T"/*.log; fail "b: surbs_received"; }
[ "$(nc_stat b apid unacked)" = 0 ] || { grep "stats apid" "$T"/*.log; fail "b: unacked fragments left"; }
echo "ok counters: a: $(sed -n 's/.*stats apid: //p' "$T/a.log" | tail -1)"
echo "ok counters: b: $(sed -n 's/.*stats apid: //p' "$T/b.log" | tail -1)"
echo "PASS"
