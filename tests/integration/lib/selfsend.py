"""One text message from a nym-client websocket app to its own address.
   selfsend.py WS_URL TEXT   prints "RECEIVED <type> <message>" (the first thing received)."""
import asyncio, json, sys, websockets
async def main(url, text):
    for _ in range(150):
        try:
            ws = await websockets.connect(url)
            break
        except OSError:
            await asyncio.sleep(0.1)
    else:
        sys.exit("cannot connect to " + url)
    await ws.send(json.dumps({"type": "selfAddress"}))
    me = json.loads(await asyncio.wait_for(ws.recv(), 10))["address"]
    await ws.send(json.dumps({"type": "send", "message": text, "recipient": me}))
    r = json.loads(await asyncio.wait_for(ws.recv(), 30))
    print("RECEIVED", r.get("type"), r.get("message"), flush=True)
    await ws.close()
asyncio.run(main(sys.argv[1], sys.argv[2]))
