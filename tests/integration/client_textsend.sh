#!/usr/bin/env bash
# The Python example of the Nym docs (nym b4046a89 clients/native/examples/python-examples/
# websocket/textsend.py, written again here in the same shape) against our nym-client on the
# localnet, with Debian's /usr/bin/python3 + python3-websockets:
#  (a) the no-reply flow: selfAddress, `send` to itself with the legacy "withReplySurb": false,
#      print the raw `received` frame: it must be Nym's exact text frame.
#  (b) the flow the example actually runs ("withReplySurb": true): the legacy field is ignored, the
#      message arrives with "senderTag": null and the example's `received_message["replySurb"]`
#      raises KeyError, exactly as with Nym's own client (spec clients.md §2.8).
# Exit 0 = pass.
set -euo pipefail
# shellcheck source=tests/integration/lib/nymclient.bash
. "$(dirname "$0")/lib/nymclient.bash"
nc_setup client-textsend
nc_init t
nc_run t
ADDR=${NC_ADDR[t]}

cat >"$T/textsend.py" <<'EOF'
import asyncio
import json
import sys

import websockets

uri = sys.argv[1]
self_address_request = json.dumps({"type": "selfAddress"})


async def wait_for_client():
    # (the example expects a running client; ours may still be starting)
    for _ in range(100):
        try:
            ws = await websockets.connect(uri)
            await ws.close()
            return
        except OSError:
            await asyncio.sleep(0.1)


async def send_text(with_reply_surb):
    message = "Hello Nym!"
    await wait_for_client()
    async with websockets.connect(uri) as websocket:
        await websocket.send(self_address_request)
        self_address = json.loads(await websocket.recv())
        print("our address is: {}".format(self_address["address"]))
        await websocket.send(json.dumps({
            "type": "send",
            "message": message,
            "recipient": self_address["address"],
            "withReplySurb": with_reply_surb,
        }))
        print("sending '{}' ({} reply SURB) over the mix network...".format(
            message, "*with*" if with_reply_surb else "*without*"))
        print("waiting to receive a message from the mix network...")
        received = await websocket.recv()
        if not with_reply_surb:
            print("received '{}' from the mix network".format(received))
            return
        received_message = json.loads(received)
        print("received '{}' from the mix network".format(received_message))
        reply_surb = received_message["replySurb"]
        print("would reply through", reply_surb)


asyncio.run(asyncio.wait_for(send_text(sys.argv[2] == "with"), 30))
EOF

rc=0
timeout 40 "$NC_PY" "$T/textsend.py" "ws://127.0.0.1:${NC_PORT[t]}" without >"$T/without.out" 2>&1 || rc=$?
[ "$rc" = 0 ] || { cat "$T/without.out"; fail "textsend (without reply SURB) exited with $rc"; }
cat >"$T/without.want" <<EOF
our address is: $ADDR
sending 'Hello Nym!' (*without* reply SURB) over the mix network...
waiting to receive a message from the mix network...
received '{"type":"received","message":"Hello Nym!","senderTag":null}' from the mix network
EOF
diff -u "$T/without.want" "$T/without.out" || fail "textsend (without reply SURB): output differs (- want, + got)"
echo "ok textsend without reply SURB: address, send to itself, Nym's exact received frame"

rc=0
timeout 40 "$NC_PY" "$T/textsend.py" "ws://127.0.0.1:${NC_PORT[t]}" with >"$T/with.out" 2>&1 || rc=$?
[ "$rc" = 1 ] || { cat "$T/with.out"; fail "textsend (with reply SURB): exit status $rc, want 1 (KeyError as with Nym's client)"; }
head -4 "$T/with.out" >"$T/with.head"
cat >"$T/with.want" <<EOF
our address is: $ADDR
sending 'Hello Nym!' (*with* reply SURB) over the mix network...
waiting to receive a message from the mix network...
received '{'type': 'received', 'message': 'Hello Nym!', 'senderTag': None}' from the mix network
EOF
diff -u "$T/with.want" "$T/with.head" || fail "textsend (with reply SURB): output differs (- want, + got)"
tail -1 "$T/with.out" | grep -qx "KeyError: 'replySurb'" || { cat "$T/with.out"; fail "textsend (with reply SURB): no KeyError 'replySurb'"; }
echo "ok textsend with reply SURB: withReplySurb ignored, senderTag null, KeyError 'replySurb' as with Nym's client"

nc_stop t
[ "$NC_STATUS" = 0 ] || fail "nym-client: exit status $NC_STATUS after SIGTERM, want 0"
[ "$(nc_stat t apid messages_delivered)" = 2 ] || { grep stats "$T/t.log"; fail "apid: messages_delivered != 2"; }
echo "PASS"
