# capiws.py: helpers of the Python apps the client_*.sh tests write (Nym's websocket API,
# binary form): connect with retries, parse a `received` frame, fail with a reason; one request
# to a suite's admin socket (nymctl's protocol).
import asyncio, json, socket, struct, sys, websockets

def check(cond, what):
    if not cond:
        sys.exit("FAILED: " + what)

async def connect(url):
    for _ in range(150):
        try:
            return await websockets.connect(url, max_size=None)
        except OSError:
            await asyncio.sleep(0.1)
    sys.exit("cannot connect to " + url)

def parse_received(r):
    """A binary `received` response: (sender tag or None, message)."""
    check(isinstance(r, bytes) and r[0] == 1, f"not a received frame: {r[:40]!r}")
    if r[1] == 1:
        tag, rest = r[2:18], r[18:]
    else:
        check(r[1] == 0, "bad has_tag byte")
        tag, rest = None, r[2:]
    n = struct.unpack(">Q", rest[:8])[0]
    check(len(rest) == 8 + n, "received length")
    return tag, rest[8:]

def admin_ask(path, cmd, timeout=10):
    """One request line to an admin socket, its answer line as JSON."""
    s = socket.socket(socket.AF_UNIX)
    s.settimeout(timeout)
    s.connect(path)
    s.sendall(json.dumps({"cmd": cmd}).encode() + b"\n")
    buf = b""
    while not buf.endswith(b"\n"):
        part = s.recv(65536)
        if not part:
            break
        buf += part
    s.close()
    return json.loads(buf)
