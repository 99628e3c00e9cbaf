# nrapp.py: what the Python apps of the nr_*.sh tests share: raw network-requester requests
# (clients.md §4.4, versioned interface 3) sent through our nym-client's websocket (binary
# API), the responses collected, NetworkData put back in order, exitd's admin counters.
import asyncio, struct, sys, time
from capiws import admin_ask, check, connect, parse_received

B58 = "123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz"
V = b"\x03\x01\x03"  # interface 3, ProviderData, socks5 protocol 3

def b58dec(s):
    n = 0
    for ch in s:
        n = n * 58 + B58.index(ch)
    return n.to_bytes(32, "big")

def recipient(text):
    ident, rest = text.split(".")
    enc, gw = rest.split("@")
    return b58dec(ident) + b58dec(enc) + b58dec(gw)

def connect_req(conn, addr, ret=None):
    a = addr.encode()
    return V + b"\x00" + struct.pack(">QH", conn, len(a)) + a + (ret or b"")

def send_req(conn, seq, data, closed=False):
    return V + b"\x01" + struct.pack(">QBQ", conn, 1 if closed else 0, seq) + data

def connection_error(conn, text):
    return V + b"\x02" + struct.pack(">Q", conn) + text.encode()

def network_data(m, conn):
    """(closed, seq, data) when m is NetworkData of conn, else None"""
    if m[:4] != V + b"\x01" or len(m) < 21:
        return None
    closed, c, seq = struct.unpack(">BQQ", m[4:21])
    return (bool(closed), seq, m[21:]) if c == conn else None

def is_error_of(m, conn):
    return m[:12] == V + b"\x02" + struct.pack(">Q", conn)

class App:
    """One websocket app talking to the network requester nr (its Nym address text)."""
    def __init__(self, ws, nr):
        self.ws, self.nr, self.got, self.me = ws, recipient(nr), [], None
    @classmethod
    async def start(cls, url, nr):
        app = cls(await connect(url), nr)
        await app.ws.send(b"\x03")
        r = await asyncio.wait_for(app.ws.recv(), 20)
        check(isinstance(r, bytes) and r[0] == 2 and len(r) == 97, f"selfAddress {r!r}")
        app.me = r[1:]
        app.pump_task = asyncio.create_task(app.pump())
        return app
    async def pump(self):
        async for r in self.ws:
            if isinstance(r, bytes) and r[0] == 1:
                self.got.append(parse_received(r)[1])
    async def send(self, msg, conn=0):
        await self.ws.send(b"\x00" + self.nr + struct.pack(">QQ", conn, len(msg)) + msg)
    async def send_anon(self, msg, surbs, conn=0):
        await self.ws.send(b"\x01" + struct.pack(">I", surbs) + self.nr + struct.pack(">QQ", conn, len(msg)) + msg)
    def take(self, pred):
        for i, m in enumerate(self.got):
            if pred(m):
                return self.got.pop(i)
        return None
    async def wait(self, pred, t=60, what="an answer"):
        end = time.time() + t
        while time.time() < end:
            m = self.take(pred)
            if m is not None:
                return m
            await asyncio.sleep(0.05)
        sys.exit(f"FAILED: no {what} within {t} s")

async def stream(app, conn, t=120):
    """NetworkData of conn in seq order until closed: the bytes."""
    pieces, end_seq = {}, None
    end = time.time() + t
    while time.time() < end:
        for m in list(app.got):
            nd = network_data(m, conn)
            if nd:
                app.got.remove(m)
                pieces[nd[1]] = nd
                if nd[0]:
                    end_seq = nd[1]
        if end_seq is not None and all(s in pieces for s in range(end_seq + 1)):
            return b"".join(pieces[s][2] for s in range(end_seq + 1))
        await asyncio.sleep(0.05)
    sys.exit(f"FAILED: connection {conn} did not end within {t} s ({len(pieces)} pieces)")

def http_get(path):
    return f"GET /{path} HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n".encode()

def body_of(resp):
    head, _, body = resp.partition(b"\r\n\r\n")
    check(head.startswith(b"HTTP/1.0 200"), f"HTTP status: {head[:40]!r}")
    return body

def nr_stats(sock_path):
    """exitd's counters from the network requester's admin socket"""
    return admin_ask(sock_path, "stats")["exitd"]
