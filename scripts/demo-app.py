#!/usr/bin/python3
"""The demo's local app: what any Nym websocket app does, against our nym-client.
Asks for the client's address, sends a message to itself through the mixnet, prints what
arrives; then waits for one message from another client and answers it if it is anonymous.
Usage: demo-app.py ws://127.0.0.1:PORT "message" [wait-seconds]"""
import asyncio
import json
import sys
import time

import websockets


async def main(url, text, wait_s):
    async with websockets.connect(url) as ws:
        await ws.send(json.dumps({"type": "selfAddress"}))
        me = json.loads(await ws.recv())["address"]
        print(f"our Nym address: {me}", flush=True)
        t0 = time.monotonic()
        await ws.send(json.dumps({"type": "send", "message": text, "recipient": me}))
        print(f"sent to ourselves: \"{text}\"", flush=True)
        r = json.loads(await asyncio.wait_for(ws.recv(), 60))
        ms = (time.monotonic() - t0) * 1000
        print(f"RECEIVED after {ms:.0f} ms: \"{r.get('message')}\"", flush=True)
        if r.get("message") != text:
            sys.exit("the message came back different")
        if wait_s <= 0:
            return
        print(f"ready for other clients ({wait_s} s)", flush=True)
        r = json.loads(await asyncio.wait_for(ws.recv(), wait_s))
        tag = r.get("senderTag")
        print(f"RECEIVED from another client{' (anonymous, sender tag ' + tag + ')' if tag else ''}: "
              f"\"{r.get('message')}\"", flush=True)
        if tag:
            await ws.send(json.dumps({"type": "reply", "senderTag": tag,
                                      "message": "hello back, whoever you are"}))
            print("replied through the sender's reply SURBs", flush=True)
            await asyncio.sleep(2)


asyncio.run(main(sys.argv[1], sys.argv[2], float(sys.argv[3]) if len(sys.argv) > 3 else 0))
