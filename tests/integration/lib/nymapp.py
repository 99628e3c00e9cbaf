#!/usr/bin/python3
# nymapp.py: a test application of a nym-client's websocket API (binary requests, Nym b4046a89
# websocket-requests layout), driven like tests/interop/nym-client.mjs: commands on stdin, one
# JSON object per line on stdout, the same deterministic payloads, so a test can compare what
# our client and the real wasm client send and receive.
#
#   /usr/bin/python3 nymapp.py ws://127.0.0.1:PORT [--connect-timeout S] < commands
#
# commands (run in order once connected):
#   send <address|self> <nbytes> [seed]             Send (plain)
#   sendanon <address|self> <nbytes> <surbs> [seed] SendAnonymous with <surbs> reply SURBs
#   reply <sender_tag> <nbytes> [seed]              Reply through the sender's SURBs
#   sendtext <address|self> <text...>               Send of the UTF-8 bytes of the text
#   wait <n> [timeout_ms]                           until n messages were received in total
#   sleep <ms>
#   quit
# events: ready {address}, sent {kind,to,len,sha256}, received {len,sha256,sender_tag,text?},
#   wait {ok,want,received}, error {where,message}, closed {code}, exit {code}
# payload(n, seed) = the first n bytes of SHA-256("nymsuite-interop:SEED:0") || ...:1 || ...
import asyncio
import hashlib
import json
import struct
import sys
import threading
import time

import websockets

B58 = "123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz"
T0 = time.monotonic()


def out(obj):
    obj["ms"] = int((time.monotonic() - T0) * 1000)
    sys.stdout.write(json.dumps(obj) + "\n")
    sys.stdout.flush()


def b58encode(b):
    n = int.from_bytes(b, "big")
    s = ""
    while n:
        n, r = divmod(n, 58)
        s = B58[r] + s
    return "1" * (len(b) - len(b.lstrip(b"\0"))) + s


def b58decode(s, size):
    n = 0
    for c in s:
        n = n * 58 + B58.index(c)
    zeros = len(s) - len(s.lstrip("1"))
    raw = n.to_bytes((n.bit_length() + 7) // 8, "big")
    raw = b"\0" * zeros + raw
    if len(raw) != size:
        raise ValueError(f"base58 '{s}' decodes to {len(raw)} bytes, want {size}")
    return raw


def address_text(raw):
    return f"{b58encode(raw[:32])}.{b58encode(raw[32:64])}@{b58encode(raw[64:96])}"


def address_bytes(text):
    ids, gw = text.split("@")
    ident, enc = ids.split(".")
    return b58decode(ident, 32) + b58decode(enc, 32) + b58decode(gw, 32)


def payload(n, seed="0"):
    parts = []
    k = 0
    while 32 * k < n:
        parts.append(hashlib.sha256(f"nymsuite-interop:{seed}:{k}".encode()).digest())
        k += 1
    return b"".join(parts)[:n]


def count(s, what):
    if s is None or not s.isdigit():
        raise ValueError(f"{what}: not a count: {s}")
    return int(s)


def printable(b):
    if len(b) > 4096:
        return None
    try:
        s = b.decode("utf-8")
    except UnicodeDecodeError:
        return None
    if any(ord(c) < 32 and c not in "\t\n\r" or ord(c) == 127 for c in s):
        return None
    return s


class App:
    def __init__(self, ws):
        self.ws = ws
        self.me = None
        self.received = 0
        self.changed = asyncio.Event()
        self.self_reply = asyncio.get_running_loop().create_future()

    def on_frame(self, f):
        if isinstance(f, str):
            return out({"event": "error", "where": "frame", "message": "unexpected text frame: " + f[:200]})
        if f[:1] == b"\x02" and len(f) == 97:
            if not self.self_reply.done():
                self.self_reply.set_result(f[1:])
            return None
        if f[:1] == b"\x01" and len(f) >= 10:
            tag = None
            rest = f[2:]
            if f[1] == 1:
                tag, rest = b58encode(rest[:16]), rest[16:]
            (n,) = struct.unpack(">Q", rest[:8])
            msg = rest[8:]
            if n != len(msg):
                return out({"event": "error", "where": "frame", "message": f"received: length {n}, got {len(msg)}"})
            self.received += 1
            ev = {"event": "received", "len": n, "sha256": hashlib.sha256(msg).hexdigest(), "sender_tag": tag}
            text = printable(msg)
            if text is not None:
                ev["text"] = text
            out(ev)
            self.changed.set()
            return None
        if f[:1] == b"\x00" and len(f) >= 10:
            (n,) = struct.unpack(">Q", f[2:10])
            return out({"event": "error", "where": "server", "kind": f[1], "message": f[10:10 + n].decode("utf-8", "replace")})
        return out({"event": "error", "where": "frame", "message": "unknown response " + f[:40].hex()})

    async def reader(self):
        try:
            async for f in self.ws:
                self.on_frame(f)
        except websockets.ConnectionClosed:
            pass
        out({"event": "closed", "code": self.ws.close_code})
        self.changed.set()

    def recipient(self, w):
        return self.me if w == "self" else address_bytes(w)

    async def send(self, kind, data, to, extra=None):
        await self.ws.send(data)
        ev = {"event": "sent", "kind": kind, "to": to}
        ev.update(extra or {})
        out(ev)

    async def command(self, line):
        w = line.split()
        verb = w[0].lower()
        if verb in ("send", "sendanon", "sendtext"):
            to = self.recipient(w[1])
            if verb == "sendtext":
                msg = line.strip().split(None, 2)[2].encode() if len(w) > 2 else b""
            else:
                msg = payload(count(w[2], "nbytes"), w[4] if verb == "sendanon" and len(w) > 4 else
                              w[3] if verb != "sendanon" and len(w) > 3 else "0")
            if verb == "sendanon":
                surbs = count(w[3], "surbs")
                req = b"\x01" + struct.pack(">I", surbs) + to + struct.pack(">QQ", 0, len(msg)) + msg
            else:
                req = b"\x00" + to + struct.pack(">QQ", 0, len(msg)) + msg
            return await self.send("anonymous" if verb == "sendanon" else "regular", req, address_text(to),
                                   {"len": len(msg), "sha256": hashlib.sha256(msg).hexdigest()})
        if verb == "reply":
            tag = b58decode(w[1], 16)
            msg = payload(count(w[2], "nbytes"), w[3] if len(w) > 3 else "0")
            req = b"\x02" + tag + struct.pack(">QQ", 0, len(msg)) + msg
            return await self.send("reply", req, w[1], {"len": len(msg), "sha256": hashlib.sha256(msg).hexdigest()})
        if verb == "wait":
            n = count(w[1], "n")
            end = time.monotonic() + (count(w[2], "timeout_ms") if len(w) > 2 else 30000) / 1000
            while self.received < n and self.ws.close_code is None and time.monotonic() < end:
                self.changed.clear()
                try:
                    await asyncio.wait_for(self.changed.wait(), max(0.01, end - time.monotonic()))
                except asyncio.TimeoutError:
                    pass
            return out({"event": "wait", "ok": self.received >= n, "want": n, "received": self.received})
        if verb == "sleep":
            return await asyncio.sleep(count(w[1], "ms") / 1000)
        if verb == "quit":
            return "quit"
        raise ValueError(f"unknown command '{w[0]}'")


async def connect(url, limit):
    end = time.monotonic() + limit
    while True:
        try:
            return await websockets.connect(url, max_size=None, compression=None)
        except (OSError, websockets.InvalidHandshake):
            if time.monotonic() >= end:
                raise
            await asyncio.sleep(0.1)


def stdin_lines():
    """A queue of stdin lines (None at EOF), read by a daemon thread: a blocked read must not
    keep the process alive after 'quit'."""
    loop = asyncio.get_running_loop()
    q = asyncio.Queue()

    def read():
        for line in sys.stdin:
            loop.call_soon_threadsafe(q.put_nowait, line)
        loop.call_soon_threadsafe(q.put_nowait, None)

    threading.Thread(target=read, daemon=True).start()
    return q


async def main(argv):
    url = argv[1]
    limit = float(argv[argv.index("--connect-timeout") + 1]) if "--connect-timeout" in argv else 20
    try:
        ws = await connect(url, limit)
    except Exception as e:  # noqa: BLE001 (reported as an event)
        out({"event": "error", "where": "connect", "message": f"{url}: {e}"})
        return 1
    app = App(ws)
    reader = asyncio.create_task(app.reader())
    await ws.send(b"\x03")
    try:
        app.me = await asyncio.wait_for(app.self_reply, 10)
    except asyncio.TimeoutError:
        out({"event": "error", "where": "selfAddress", "message": "no answer within 10 s"})
        return 1
    out({"event": "ready", "address": address_text(app.me)})
    lines = stdin_lines()
    while True:
        line = await lines.get()
        if line is None:
            break
        if not line.strip() or line.strip().startswith("#"):
            continue
        try:
            if await app.command(line) == "quit":
                break
        except Exception as e:  # noqa: BLE001 (reported as an event; the app goes on)
            out({"event": "error", "where": line.split()[0], "message": str(e)})
    await asyncio.sleep(0.2)
    await ws.close()
    reader.cancel()
    return 0


if __name__ == "__main__":
    rc = asyncio.run(main(sys.argv))
    out({"event": "exit", "code": rc})
    sys.exit(rc)
