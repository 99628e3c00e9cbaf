#!/usr/bin/python3
"""Hostile local apps against nym-client's apid (tests/attack/apid_*.sh). Raw sockets and
hand-made websocket frames, so one process can hold thousands of connections and send what no
well-behaved client library would. Each command prints one JSON object on stdout."""
import asyncio
import base64
import hashlib
import json
import os
import socket
import struct
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "../../integration/lib"))
from capiws import admin_ask  # noqa: E402

SELF_ADDRESS = b"\x03"


def ws_frame(opcode, payload, fin=True):
    """A masked client frame; the mask applied as one big-integer XOR (fast for megabytes)."""
    mask = os.urandom(4)
    head = bytes([(0x80 if fin else 0) | opcode])
    n = len(payload)
    if n < 126:
        head += bytes([0x80 | n])
    elif n < 65536:
        head += bytes([0x80 | 126]) + struct.pack(">H", n)
    else:
        head += bytes([0x80 | 127]) + struct.pack(">Q", n)
    rep = (mask * (n // 4 + 1))[:n]
    body = (int.from_bytes(payload, "big") ^ int.from_bytes(rep, "big")).to_bytes(n, "big")
    return head + mask + body


def upgrade_request(port):
    key = base64.b64encode(os.urandom(16)).decode()
    return (f"GET / HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nUpgrade: websocket\r\n"
            f"Connection: Upgrade\r\nSec-WebSocket-Key: {key}\r\n"
            f"Sec-WebSocket-Version: 13\r\n\r\n").encode()


async def read_raw_frame(r):
    """(first header byte: FIN and opcode, payload) of one unmasked server frame."""
    b0, b1 = await r.readexactly(2)
    n = b1 & 0x7F
    if n == 126:
        n = struct.unpack(">H", await r.readexactly(2))[0]
    elif n == 127:
        n = struct.unpack(">Q", await r.readexactly(8))[0]
    return b0, await r.readexactly(n)


async def read_ws_frame(r):
    b0, data = await read_raw_frame(r)
    return b0 & 0x0F, data


async def ws_open(port):
    r, w = await asyncio.open_connection("127.0.0.1", port, limit=1 << 20)
    w.write(upgrade_request(port))
    head = await r.readuntil(b"\r\n\r\n")
    if not head.startswith(b"HTTP/1.1 101"):
        raise ConnectionError(head.split(b"\r\n")[0].decode())
    return r, w


async def ws_self_address(port, timeout):
    """'served' with the SelfAddress response, 'closed CODE reason' when apid closes, or the
    error (a timeout means the connection hangs)."""
    try:
        r, w = await asyncio.wait_for(ws_open(port), timeout)
    except Exception as e:  # noqa: BLE001 - any failure is an outcome to report
        return None, f"error {type(e).__name__} {e}"
    try:
        w.write(ws_frame(2, SELF_ADDRESS))
        while True:
            op, data = await asyncio.wait_for(read_ws_frame(r), timeout)
            if op == 2 and data[:1] == b"\x02":
                return (r, w), "served"
            if op == 8:
                code = struct.unpack(">H", data[:2])[0] if len(data) >= 2 else 1005
                w.close()
                return None, f"closed {code} {data[2:].decode(errors='replace')}"
    except Exception as e:  # noqa: BLE001
        w.close()
        return None, f"error {type(e).__name__} {e}"


async def sock_read_exactly(loop, s, n):
    buf = b""
    while len(buf) < n:
        b = await loop.sock_recv(s, n - len(buf))
        if not b:
            raise EOFError(f"closed after {len(buf)} of {n} bytes")
        buf += b
    return buf


class UnixConn:
    def __init__(self, s):
        self.s = s

    def close(self):
        self.s.close()


async def unix_self_address(path, timeout):
    """As ws_self_address. A refused app may find the socket closed when it writes: what
    apid sent before closing is still read (as an app reading its socket would)."""
    loop = asyncio.get_running_loop()
    s = socket.socket(socket.AF_UNIX)
    s.setblocking(False)
    try:
        await asyncio.wait_for(loop.sock_connect(s, path), timeout)
        try:
            await loop.sock_sendall(s, struct.pack(">Q", 1) + SELF_ADDRESS)
        except (BrokenPipeError, ConnectionResetError):
            pass
        n = struct.unpack(">Q", await asyncio.wait_for(sock_read_exactly(loop, s, 8), timeout))[0]
        data = await asyncio.wait_for(sock_read_exactly(loop, s, n), timeout)
    except Exception as e:  # noqa: BLE001
        s.close()
        return None, f"error {type(e).__name__} {e}"
    if data[:1] == b"\x02":
        return (None, UnixConn(s)), "served"
    s.close()
    if data[:1] == b"\x00":
        ln = struct.unpack(">Q", data[2:10])[0]
        return None, f"error-response {data[1]} {data[10:10 + ln].decode(errors='replace')}"
    return None, f"unexpected {data[:16].hex()}"


def tally(results):
    out = {}
    for _, what in results:
        key = what if what == "served" else what.split(" ")[0] + " " + what.split(" ")[1]
        out[key] = out.get(key, 0) + 1
    return out


async def many(port, path, n_ws, n_unix, extra, timeout):
    """n_ws + n_unix apps at once, each asks selfAddress and stays connected; then `extra`
    more of each kind, which must be refused cleanly while the others are held."""
    sem = asyncio.Semaphore(256)  # the listen backlogs are finite: connect in waves

    async def one(fn, *a):
        async with sem:
            return await fn(*a)

    t0 = time.monotonic()
    held = await asyncio.gather(*[one(ws_self_address, port, timeout) for _ in range(n_ws)],
                                *[one(unix_self_address, path, timeout) for _ in range(n_unix)])
    t1 = time.monotonic()
    more = await asyncio.gather(*[ws_self_address(port, timeout) for _ in range(extra)],
                                *[unix_self_address(path, timeout) for _ in range(extra)])
    res = {"held": tally(held), "held_ws": tally(held[:n_ws]), "held_unix": tally(held[n_ws:]),
           "extra_ws": [w for _, w in more[:extra]], "extra_unix": [w for _, w in more[extra:]],
           "seconds": round(t1 - t0, 1)}
    if os.environ.get("PIDFILE_WAIT"):  # hold the connections until the caller is done
        print(json.dumps(res), flush=True)
        while os.path.exists(os.environ["PIDFILE_WAIT"]):
            await asyncio.sleep(0.2)
        return None
    for c, _ in held:
        if c:
            c[1].close()
    return res


def ping_flood(port, n, seconds, payload=0):
    """n connections send pings as fast as apid takes them and never read a byte."""
    socks = []
    for _ in range(n):
        s = socket.create_connection(("127.0.0.1", port))
        s.sendall(upgrade_request(port))
        s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        socks.append(s)
    ping = ws_frame(9, b"p" * payload) * 4096
    sent = 0
    end = time.monotonic() + seconds
    off = [0] * n  # position in the endless stream of whole ping frames
    for s in socks:
        s.setblocking(False)
    while time.monotonic() < end:
        progress = False
        for i, s in enumerate(socks):
            try:
                k = s.send(ping[off[i]:] + ping[:off[i]])
                off[i] = (off[i] + k) % len(ping)
                sent += k
                progress = True
            except BlockingIOError:
                pass
        if not progress:
            time.sleep(0.01)
    return {"ping_bytes_sent": sent, "socks": socks}


def unix_half_frames(path, n, size, seconds):
    """n connections announce a size-byte frame, send half of it, then stall."""
    socks, sent = [], 0
    chunk = b"\x00" + os.urandom(65535)
    for _ in range(n):
        s = socket.socket(socket.AF_UNIX)
        s.connect(path)
        s.settimeout(0.5)
        s.sendall(struct.pack(">Q", size))
        socks.append([s, 0])
    end = time.monotonic() + seconds
    while time.monotonic() < end and any(left < size // 2 for _, left in socks):
        for e in socks:
            if e[1] >= size // 2:
                continue
            try:
                k = e[0].send(chunk[: min(len(chunk), size // 2 - e[1])])
                e[1] += k
                sent += k
            except (socket.timeout, BlockingIOError):
                pass
            except OSError:
                e[1] = size
    return {"unix_bytes_sent": sent, "socks": [s for s, _ in socks]}


async def until_closed(kind, r, t0, deadline):
    """How a connection ends: 'close CODE reason' (websocket close frame), 'closed' (EOF or
    reset), or 'open' if it is still there at the deadline."""
    try:
        while True:
            left = deadline - time.monotonic()
            if kind == "ws":
                op, data = await asyncio.wait_for(read_ws_frame(r), left)
                if op == 8:
                    code = struct.unpack(">H", data[:2])[0] if len(data) >= 2 else 1005
                    return {"outcome": f"close {code} {data[2:].decode(errors='replace')}",
                            "seconds": round(time.monotonic() - t0, 2)}
            elif not await asyncio.wait_for(r.read(65536), left):
                break
    except asyncio.TimeoutError:
        return {"outcome": "open"}
    except (asyncio.IncompleteReadError, ConnectionError):
        pass
    return {"outcome": "closed", "seconds": round(time.monotonic() - t0, 2)}


async def idle(port, path, seconds):
    """Unfinished handshake, message, frame and Unix frame, and two idle complete apps."""
    t0 = time.monotonic()
    deadline = t0 + seconds
    r1, w1 = await asyncio.open_connection("127.0.0.1", port)
    w1.write(b"GET / HTTP/1.1\r\nHost: 127.0.0.1\r\n")
    r2, w2 = await ws_open(port)
    w2.write(ws_frame(1, b"first fragment", fin=False))
    r3, w3 = await ws_open(port)
    w3.write(ws_frame(2, b"\x03" + bytes(999))[:2 + 2 + 4 + 10])  # 1000-byte frame, 10 sent
    r4, w4 = await asyncio.open_unix_connection(path)
    w4.write(struct.pack(">Q", 1000) + bytes(10))
    (r5, w5), what5 = await ws_self_address(port, 5)
    (_, c6), what6 = await unix_self_address(path, 5)
    r6 = asyncio.StreamReader()  # the idle Unix app: watched through its raw socket
    loop = asyncio.get_running_loop()

    async def unix_idle():
        try:
            while True:
                left = deadline - time.monotonic()
                if not await asyncio.wait_for(loop.sock_recv(c6.s, 4096), left):
                    return {"outcome": "closed", "seconds": round(time.monotonic() - t0, 2)}
        except asyncio.TimeoutError:
            return {"outcome": "open"}
    del r6
    res = await asyncio.gather(until_closed("tcp", r1, t0, deadline),
                               until_closed("ws", r2, t0, deadline),
                               until_closed("ws", r3, t0, deadline),
                               until_closed("unix", r4, t0, deadline),
                               until_closed("ws", r5, t0, deadline), unix_idle())
    names = ["handshake", "fragment", "half_frame", "unix_frame", "listener", "unix_listener"]
    out = dict(zip(names, res))
    out["listener_first"], out["unix_listener_first"] = what5, what6
    return out


async def unbuildable(port):
    """A Send to a recipient whose gateway (our own identity key: a valid key, no gateway)
    is not in the topology: apid's answer, as kind and text."""
    (r, w), what = await ws_self_address(port, 5)
    w.write(ws_frame(2, SELF_ADDRESS))
    while True:
        op, me = await asyncio.wait_for(read_ws_frame(r), 10)
        if op == 2 and me[:1] == b"\x02":
            break
    to = me[1:65] + me[1:33]
    msg = b"to nowhere"
    w.write(ws_frame(2, b"\x00" + to + struct.pack(">QQ", 0, len(msg)) + msg))
    try:
        while True:
            op, data = await asyncio.wait_for(read_ws_frame(r), 10)
            if op == 2 and data[:1] == b"\x00":
                ln = struct.unpack(">Q", data[2:10])[0]
                return {"kind": data[1], "text": data[10:10 + ln].decode()}
    except asyncio.TimeoutError:
        return {"kind": None, "text": "no answer in 10 s"}


def admin_pipelined(path):
    """Three admin requests in one write: every answer line, in order."""
    s = socket.socket(socket.AF_UNIX)
    s.settimeout(10)
    s.connect(path)
    s.sendall(b'{"cmd":"stats"}\n{"cmd":"status"}\n{"cmd":"address"}\n')
    s.shutdown(socket.SHUT_WR)
    buf = b""
    try:
        while True:
            b = s.recv(65536)
            if not b:
                break
            buf += b
    except socket.timeout:
        pass
    return {"cmds": [json.loads(line).get("cmd") for line in buf.decode().splitlines()]}


async def read_ws_message(r):
    """One whole message (fragments reassembled; control frames other than close skipped)."""
    parts, first = [], None
    while True:
        b0, data = await read_raw_frame(r)
        op = b0 & 0x0F
        if op == 8:
            return op, data
        if op >= 8:
            continue
        if op:
            first = op
        parts.append(data)
        if b0 & 0x80:
            return first, b"".join(parts)


def received_payload(frame):
    """The message of a binary `received` response, or None."""
    if frame[:1] != b"\x01":
        return None
    off = 18 if frame[1] else 2
    n = struct.unpack(">Q", frame[off:off + 8])[0]
    return frame[off + 8:off + 8 + n]


def slow_app(kind, port, path, rcvbuf):
    """An app that asks selfAddress once and never reads again (rcvbuf > 0: that receive
    buffer, so the kernel takes less of what apid sends it)."""
    if kind == "unix":
        s = socket.socket(socket.AF_UNIX)
        s.connect(path)
        s.sendall(struct.pack(">Q", 1) + SELF_ADDRESS)
        return s
    s = socket.socket()
    if rcvbuf:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, rcvbuf)
    s.settimeout(10)
    s.connect(("127.0.0.1", port))
    s.sendall(upgrade_request(port))
    head = b""
    while not head.endswith(b"\r\n\r\n"):
        head += s.recv(1)
    if kind == "json":
        s.sendall(ws_frame(1, b'{"type":"selfAddress"}'))
    else:
        s.sendall(ws_frame(2, SELF_ADDRESS))
    return s


def stream_outcome(kind, buf, eof):
    """How a slow app's stream ends: a websocket close frame (code, reason), Nym's error
    response on the Unix socket, or the connection closed without either."""
    off = 0
    while True:
        if kind == "unix":
            if len(buf) - off < 8:
                break
            n = struct.unpack(">Q", buf[off:off + 8])[0]
            if len(buf) - off - 8 < n:
                break
            data = buf[off + 8:off + 8 + n]
            if data[:1] == b"\x00":
                ln = struct.unpack(">Q", data[2:10])[0]
                return f"error-response {data[10:10 + ln].decode(errors='replace')}"
            off += 8 + n
        else:
            if len(buf) - off < 2:
                break
            b1 = buf[off + 1]
            n, h = b1 & 0x7F, 2
            if n == 126:
                n, h = struct.unpack(">H", buf[off + 2:off + 4])[0], 4
            elif n == 127:
                n, h = struct.unpack(">Q", buf[off + 2:off + 10])[0], 10
            if len(buf) - off - h < n:
                break
            if buf[off] & 0x0F == 8:
                data = buf[off + h:off + h + n]
                return f"close {struct.unpack('>H', data[:2])[0]} {data[2:].decode(errors='replace')}"
            off += h + n
    return "closed" if eof else "open"


async def drain(kind, s, deadline):
    loop = asyncio.get_running_loop()
    s.setblocking(False)
    buf = bytearray()
    try:
        while True:
            b = await asyncio.wait_for(loop.sock_recv(s, 1 << 20), deadline - time.monotonic())
            if not b:
                return stream_outcome(kind, bytes(buf), True)
            buf += b
    except asyncio.TimeoutError:
        return stream_outcome(kind, bytes(buf), False)
    except OSError:
        return stream_outcome(kind, bytes(buf), True)


def admin_stat(admin, key):
    return admin_ask(admin, "stats", 15).get("apid", {}).get(key, 0)


async def fanout(port, path, admin, n_bin, n_json, n_unix, size, count, timeout):
    """n_bin + n_json websocket and n_unix Unix-socket apps that never read; one websocket app
    sends itself `count` messages of `size` bytes and reads them, as does a Unix-socket app.
    Once apid has closed every slow app (or the messages are in), the slow apps read what
    they were sent: how each stream ended."""
    t0 = time.monotonic()
    kinds = ["bin"] * n_bin + ["json"] * n_json + ["unix"] * n_unix
    slow = [(k, slow_app(k, port, path, 0)) for k in kinds]
    (r, w), what = await ws_self_address(port, 10)
    w.write(ws_frame(2, SELF_ADDRESS))
    while True:
        op, me = await read_ws_message(r)
        if op == 2 and me[:1] == b"\x02":
            break
    ur, uw = await asyncio.open_unix_connection(path, limit=1 << 20)
    uw.write(struct.pack(">Q", 1) + SELF_ADDRESS)
    n = struct.unpack(">Q", await ur.readexactly(8))[0]
    await ur.readexactly(n)
    await asyncio.sleep(1)  # every slow app's request answered: each is an app by now
    msgs = [base64.b64encode(os.urandom(size))[:size] for _ in range(count)]
    want = [hashlib.sha256(m).hexdigest() for m in msgs]
    got_ws, got_unix = [], []
    loop = asyncio.get_running_loop()

    async def ws_reader():
        while len(got_ws) < count:
            op, data = await read_ws_message(r)
            p = received_payload(data) if op == 2 else None
            if p is not None:
                got_ws.append(hashlib.sha256(p).hexdigest())

    async def unix_reader():
        while len(got_unix) < count:
            ln = struct.unpack(">Q", await ur.readexactly(8))[0]
            p = received_payload(await ur.readexactly(ln))
            if p is not None:
                got_unix.append(hashlib.sha256(p).hexdigest())

    readers = asyncio.gather(ws_reader(), unix_reader())
    drained = []

    async def watch():  # the slow apps read once apid has closed every one of them
        while True:
            try:
                n = await loop.run_in_executor(None, admin_stat, admin, "slow_consumers_closed")
            except (OSError, ValueError):
                n = 0
            if n >= len(slow):
                t = time.monotonic()
                drained.append(asyncio.gather(*[drain(k, s, t + 15) for k, s in slow]))
                return
            await asyncio.sleep(0.2)
    watcher = asyncio.ensure_future(watch())
    for i, m in enumerate(msgs):
        w.write(ws_frame(2, b"\x00" + me[1:97] + struct.pack(">QQ", 0, len(m)) + m))
        while len(got_ws) <= i and time.monotonic() - t0 < timeout:
            await asyncio.sleep(0.1)
    try:
        await asyncio.wait_for(readers, max(1, timeout - (time.monotonic() - t0)))
    except asyncio.TimeoutError:
        pass
    for _ in range(50):
        if drained:
            break
        await asyncio.sleep(0.1)
    closed_all = bool(drained)
    if closed_all:
        outcomes = drained[0]
    else:
        watcher.cancel()
        outcomes = asyncio.gather(*[drain(k, s, time.monotonic() + 5) for k, s in slow])
    res = await outcomes
    tally = {}
    for (k, _), o in zip(slow, res):
        key = f"{k}: {o}"
        tally[key] = tally.get(key, 0) + 1
    w.close()
    uw.close()
    for _, s in slow:
        s.close()
    return {"sent": want, "ws_received": got_ws, "unix_received": got_unix,
            "slow_outcomes": tally, "all_closed_seen": closed_all,
            "seconds": round(time.monotonic() - t0, 1)}


def main():
    cmd = sys.argv[1]
    if cmd == "many":
        port, path, n_ws, n_unix, extra = sys.argv[2], sys.argv[3], *map(int, sys.argv[4:7])
        res = asyncio.run(many(int(port), path, n_ws, n_unix, extra, float(sys.argv[7])))
        if res:
            print(json.dumps(res))
    elif cmd == "fanout":
        port, path, admin = int(sys.argv[2]), sys.argv[3], sys.argv[4]
        nums = [int(x) for x in sys.argv[5:10]]
        print(json.dumps(asyncio.run(fanout(port, path, admin, *nums, float(sys.argv[10])))))
    elif cmd == "unbuildable":
        print(json.dumps(asyncio.run(unbuildable(int(sys.argv[2])))))
    elif cmd == "admin-pipelined":
        print(json.dumps(admin_pipelined(sys.argv[2])))
    elif cmd == "idle":
        print(json.dumps(asyncio.run(idle(int(sys.argv[2]), sys.argv[3], float(sys.argv[4])))))
    elif cmd == "serve":  # one app asks selfAddress: how it went and how long it took
        t0 = time.monotonic()
        kind, where = sys.argv[2], sys.argv[3]
        fn = ws_self_address if kind == "ws" else unix_self_address
        arg = int(where) if kind == "ws" else where
        c, what = asyncio.run(fn(arg, float(sys.argv[4])))
        print(json.dumps({"result": what, "seconds": round(time.monotonic() - t0, 2)}))
    elif cmd in ("ping-flood", "unix-flood"):
        # floods, then holds its connections until the file named by HOLD disappears
        if cmd == "ping-flood":
            res = ping_flood(int(sys.argv[2]), int(sys.argv[3]), float(sys.argv[4]))
        else:
            res = unix_half_frames(sys.argv[2], int(sys.argv[3]), int(sys.argv[4]),
                                   float(sys.argv[5]))
        socks = res.pop("socks")
        print(json.dumps(res), flush=True)
        while os.path.exists(os.environ["HOLD"]):
            time.sleep(0.2)
        for s in socks:
            s.close()
    else:
        sys.exit(f"unknown command {cmd}")


if __name__ == "__main__":
    main()
