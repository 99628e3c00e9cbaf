#!/usr/bin/env bash
# The receiver side of reply SURBs (clients.md §3.7) between two nym-clients on the localnet:
# A sends B an anonymous message with only 2 reply SURBs, B answers with a ~60 KB reply (~30
# packets, far more than the SURBs it holds, and below the reserve of 10 it keeps for SURB
# requests). B's keyd holds the reply fragments back, asks A for more SURBs through one of the
# two (SurbRequest), A's engine answers with AdditionalSurbs, and the reply flows: A receives
# it byte-identical, with no sender tag. Counters: B's keyd sent SURB requests, A served them,
# nothing is left unacknowledged on either side.
# Exit 0 = pass.
set -euo pipefail
# shellcheck source=tests/integration/lib/nymclient.bash
. "$(dirname "$0")/lib/nymclient.bash"
nc_setup client-reply-few-surbs
nc_init a
nc_init b
nc_run a
nc_run b

cat >"$T/few.py" <<'PY'
import asyncio, hashlib, os, struct, sys
from capiws import check, connect, parse_received

async def main(url_a, url_b):
    a = await connect(url_a)
    b = await connect(url_b)
    await b.send(b"\x03")
    me_b = (await asyncio.wait_for(b.recv(), 20))[1:]
    check(len(me_b) == 96, "binary selfAddress")
    hello = b"two SURBs only"
    await a.send(b"\x01" + struct.pack(">I", 2) + me_b + struct.pack(">QQ", 0, len(hello)) + hello)
    tag, msg = parse_received(await asyncio.wait_for(b.recv(), 90))
    check(msg == hello and tag is not None, "anonymous message with a sender tag")
    big = os.urandom(60000)
    await b.send(b"\x02" + tag + struct.pack(">QQ", 0, len(big)) + big)
    t, m = parse_received(await asyncio.wait_for(a.recv(), 180))
    check(t is None, "the reply came with a sender tag")
    check(m == big, f"reply differs: {len(m)} bytes, sha256 {hashlib.sha256(m).hexdigest()}")
    print("reply of", len(big), "bytes through 2 SURBs and the ones asked for", flush=True)
    print("FEW SURBS OK", flush=True)
    await a.close()
    await b.close()

asyncio.run(main(*sys.argv[1:3]))
PY
PYTHONPATH="$(cd "$(dirname "$0")/lib" && pwd)" timeout 300 "$NC_PY" "$T/few.py" "ws://127.0.0.1:${NC_PORT[a]}" "ws://127.0.0.1:${NC_PORT[b]}" \
	>"$T/few.out" 2>&1 || { cat "$T/few.out"; grep -h "keyd\|apid" "$T"/b.log | tail -20; fail "few-SURB reply"; }
cat "$T/few.out"
grep -qx "FEW SURBS OK" "$T/few.out" || fail "few-SURB reply"

# the acks of the last fragments
for _ in $(seq 50); do sleep 0.2; done
nc_stop a
[ "$NC_STATUS" = 0 ] || fail "a: exit status $NC_STATUS"
nc_stop b
[ "$NC_STATUS" = 0 ] || fail "b: exit status $NC_STATUS"
[ "$(nc_stat b keyd surb_requests_sent)" -ge 1 ] || { grep "stats keyd" "$T"/b.log; fail "b: no SURB request sent"; }
[ "$(nc_stat a apid surb_requests_served)" -ge 1 ] || { grep "stats apid" "$T"/a.log; fail "a: no SURB request served"; }
[ "$(nc_stat b apid surbs_received)" -ge 30 ] || { grep "stats apid" "$T"/b.log; fail "b: fewer SURBs than packets"; }
[ "$(nc_stat b apid unacked)" = 0 ] || { grep "stats apid" "$T"/b.log; fail "b: unacked fragments left"; }
[ "$(nc_stat a apid unacked)" = 0 ] || { grep "stats apid" "$T"/a.log; fail "a: unacked fragments left"; }
echo "ok counters: b keyd: $(sed -n 's/.*stats keyd: //p' "$T/b.log" | tail -1)"
echo "PASS"
