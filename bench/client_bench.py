#!/usr/bin/python3
# client_bench.py: our nym-client (supervisor + keyd + netd + apid) against the real Nym wasm
# client (tests/interop/nym-client.mjs under node), in the same run, on one fresh localnet with
# mix delays off. Started by bench/client_vs_wasm; see bench/README.md ("client_vs_wasm").
# Prints numbers and ratios; never asserts a timing. Exit 1 only on a functional error.
import argparse
import asyncio
import hashlib
import json
import os
import re
import shutil
import signal
import socket
import struct
import subprocess
import sys
import tempfile
import time

import websockets

HZ = os.sysconf("SC_CLK_TCK")
PAGE = os.sysconf("SC_PAGE_SIZE")
STALL_S = 8  # our client counts as stalled after this long with no message and no CPU use
FRAME_MIN = 1500  # a websocket read at the gateway this big carries a mix packet (2413 B + framing)


class BenchError(Exception):
    pass


class Stalled(BenchError):
    """Our client stopped making progress (reported as a result, not a failure of the bench)."""


def log(msg):
    print(f"[client_vs_wasm] {msg}", file=sys.stderr, flush=True)


# ----------------------------------------------------------------------------- /proc
def cpu_s(pids):
    """utime + stime (all threads) of the given processes, in seconds."""
    total = 0
    for pid in pids:
        with open(f"/proc/{pid}/stat") as f:
            fields = f.read().rsplit(")", 1)[1].split()
        total += int(fields[11]) + int(fields[12])  # fields 14, 15 of proc(5)
    return total / HZ


def rss_kb(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    raise BenchError(f"pid {pid}: no VmRSS")


def pss_kb(pid):
    """Proportional set size: shared pages (libc, libsodium, the binary) divided among the
    processes that map them, so a sum over processes counts each page once."""
    with open(f"/proc/{pid}/smaps_rollup") as f:
        for line in f:
            if line.startswith("Pss:"):
                return int(line.split()[1])
    raise BenchError(f"pid {pid}: no Pss")


def children(pid):
    with open(f"/proc/{pid}/task/{pid}/children") as f:
        return [int(x) for x in f.read().split()]


def comm(pid):
    with open(f"/proc/{pid}/comm") as f:
        return f.read().strip()


def gw_stat(net, field):
    with open(f"{net}/run/gateway1.stats") as f:
        return json.load(f)[field]


async def gw_stat_settled(net, field, after=1.2):
    """A gateway counter once the stats file (rewritten every second) caught up."""
    await asyncio.sleep(after)
    return gw_stat(net, field)


# ----------------------------------------------------------------------------- payloads
def payload(n, seed="0"):
    """The interop driver's deterministic payload (tests/interop/nym-client.mjs)."""
    parts = [hashlib.sha256(f"nymsuite-interop:{seed}:{k}".encode()).digest() for k in range((n + 31) // 32)]
    return b"".join(parts)[:n]


# ----------------------------------------------------------------------------- first frame
class GatewayTrace:
    """strace -ttt on the gateway's recvfrom calls: the first read of >= FRAME_MIN bytes after the
    app's send is the first mix packet of the client on the wire. With cover traffic off and one
    client, nothing else sends the gateway that much. Detached as soon as it is seen."""

    def __init__(self, net, out):
        with open(f"{net}/run/gateway1.pid") as f:
            self.gw = int(f.read())
        self.out = out
        self.proc = None

    async def start(self):
        self.proc = await asyncio.create_subprocess_exec(
            "strace", "-ttt", "-qq", "-e", "trace=recvfrom", "-e", "signal=none",
            "-s", "0", "-o", self.out, "-p", str(self.gw),
            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        for _ in range(200):
            with open(f"/proc/{self.gw}/status") as f:
                if re.search(r"^TracerPid:\s*[1-9]", f.read(), re.M):
                    return
            await asyncio.sleep(0.01)
        raise BenchError("strace did not attach to the gateway")

    def first_frame_after(self, t_send):
        pat = re.compile(r"^(\d+\.\d+) recvfrom\(\d+,.*\)\s+= (\d+)")
        try:
            with open(self.out) as f:
                for line in f:
                    m = pat.match(line)
                    if m and float(m.group(1)) >= t_send and int(m.group(2)) >= FRAME_MIN:
                        return float(m.group(1))
        except FileNotFoundError:
            pass
        return None

    async def wait_first(self, t_send, limit=30.0):
        end = time.monotonic() + limit
        while time.monotonic() < end:
            t = self.first_frame_after(t_send)
            if t is not None:
                return t
            await asyncio.sleep(0.02)
        return None

    async def stop(self):
        if self.proc and self.proc.returncode is None:
            self.proc.send_signal(signal.SIGINT)  # strace detaches on SIGINT
            await self.proc.wait()


# ----------------------------------------------------------------------------- our client
class OurClient:
    def __init__(self, bench, cid, cover):
        self.b = bench
        self.id = cid
        self.cover = cover
        self.port = free_port()
        self.proc = None
        self.ws = None
        self.me = None
        self.received = 0
        self.received_bytes = 0
        self.sender = None
        self.changed = asyncio.Event()
        self.log = f"{bench.tmp}/{cid}.log"

    def config_path(self):
        return f"{self.b.tmp}/home/.nym/clients/{self.id}/config/config.toml"

    def init(self):
        r = subprocess.run([self.b.bin("nym-client"), "init", "--id", self.id, "--home", f"{self.b.tmp}/home",
                            "--nym-apis", self.b.env["NYM_API"], "--port", str(self.port)],
                           capture_output=True, text=True)
        if r.returncode != 0:
            raise BenchError(f"nym-client init: {r.stdout}{r.stderr}")
        settings = {("stats_reporting", "enabled"): "false"}  # the driver turns it off for wasm too
        if not self.cover:
            settings[("traffic", "disable_main_poisson_packet_distribution")] = "true"
            settings[("cover_traffic", "disable_loop_cover_traffic_stream")] = "true"
        set_debug(self.config_path(), settings)

    async def start(self):
        if not os.path.exists(self.config_path()):
            self.init()
        with WmemDefault(self.b.a.ipc_wmem):
            await self.start_suite()

    async def start_suite(self):
        logf = open(self.log, "a")
        logf.write("--- bench: run\n")
        logf.flush()
        log_start = logf.tell()
        self.proc = await asyncio.create_subprocess_exec(
            self.b.bin("nym-client"), "run", "--id", self.id, "--home", f"{self.b.tmp}/home",
            stdin=subprocess.DEVNULL, stdout=logf, stderr=logf)
        end = time.monotonic() + 30
        while True:
            if self.proc.returncode is not None:
                raise BenchError(f"nym-client run exited: {tail(self.log)}")
            with open(self.log) as f:
                f.seek(log_start)
                ready = "gateway session ready" in f.read()
            if ready:
                break
            if time.monotonic() > end:
                raise BenchError(f"nym-client: no gateway session within 30 s: {tail(self.log)}")
            await asyncio.sleep(0.05)
        while True:
            try:
                self.ws = await websockets.connect(f"ws://127.0.0.1:{self.port}", max_size=None,
                                                   compression=None, max_queue=None)
                break
            except OSError:
                if time.monotonic() > end:
                    raise
                await asyncio.sleep(0.05)
        self.reader = asyncio.create_task(self.read_loop())
        await self.ws.send(b"\x03")  # SelfAddress
        while self.me is None:
            await self.wait_change(10)

    def pids(self):
        """supervisor, keyd, netd, apid"""
        kids = children(self.proc.pid)
        if len(kids) != 3:
            raise BenchError(f"supervisor has {len(kids)} children, want 3 (keyd, netd, apid)")
        return [self.proc.pid] + kids

    def names(self):
        return ["supervisor"] + [child_name(self.log, p) for p in self.pids()[1:]]

    async def read_loop(self):
        try:
            async for f in self.ws:
                if isinstance(f, bytes) and f[:1] == b"\x02" and len(f) == 97:
                    self.me = f[1:]
                elif isinstance(f, bytes) and f[:2] == b"\x01\x00" and len(f) >= 10:
                    (n,) = struct.unpack(">Q", f[2:10])
                    if n != len(f) - 10:
                        log(f"ours: received frame length {n} != {len(f) - 10}")
                    self.received += 1
                    self.received_bytes += n
                else:
                    log(f"ours: unexpected frame {f[:40]!r}")
                self.changed.set()
        except websockets.ConnectionClosed:
            pass
        self.changed.set()

    async def wait_change(self, limit):
        self.changed.clear()
        try:
            await asyncio.wait_for(self.changed.wait(), limit)
        except asyncio.TimeoutError:
            pass

    async def wait_received(self, n, limit=120):
        end = time.monotonic() + limit
        last, last_t = (self.received, cpu_s(self.pids())), time.monotonic()
        while self.received < n:
            if time.monotonic() > end or self.ws.close_code is not None:
                raise BenchError(f"ours: {self.received} of {n} messages received")
            await self.wait_change(1.0)
            now = (self.received, cpu_s(self.pids()))
            if now != last:
                last, last_t = now, time.monotonic()
            elif time.monotonic() - last_t > STALL_S:
                raise Stalled(self.diagnose(n))
        return time.monotonic()

    def diagnose(self, n):
        """Why nothing moves: where each process sleeps in the kernel."""
        where = []
        for name, pid in zip(self.names(), self.pids()):
            with open(f"/proc/{pid}/wchan") as f:
                wchan = f.read().strip()
            with open(f"/proc/{pid}/syscall") as f:
                nr = f.read().split()[0]
            call = {"46": "sendmsg", "47": "recvmsg", "232": "epoll_wait", "7": "poll"}.get(nr, f"syscall {nr}")
            where.append(f"{name} in {call} ({wchan})")
        blocked = sum("sendmsg" in w for w in where)
        why = " -> IPC deadlock: processes block on full socketpairs" if blocked >= 2 else ""
        return (f"ours stalled: {self.received} of {n} messages received, no CPU used for {STALL_S} s; "
                + ", ".join(where) + why)

    def request(self, size, seed):
        msg = payload(size, seed)
        return b"\x00" + self.me + struct.pack(">QQ", 0, len(msg)) + msg

    async def burst(self, count, size, seed):
        reqs = [self.request(size, f"{seed}{i}") for i in range(count)]
        base = self.received
        t0 = time.monotonic()
        # sent from a task: when the client stops reading, wait_received notices the stall
        self.sender = asyncio.create_task(self.send_all(reqs))
        return t0, base + count

    async def send_all(self, reqs):
        for r in reqs:
            await self.ws.send(r)

    async def timed_send(self, size):
        req = self.request(size, "first")
        t_send = time.time()
        self.sender = asyncio.create_task(self.send_all([req]))
        return t_send, self.received + 1

    async def stop(self):
        if self.sender:
            self.sender.cancel()
            self.sender = None
        if self.ws:
            self.reader.cancel()
            self.ws.transport.abort()
            self.ws = None
        if self.proc and self.proc.returncode is None:
            kids = children(self.proc.pid)
            self.proc.send_signal(signal.SIGTERM)
            try:
                await asyncio.wait_for(self.proc.wait(), 8)
            except asyncio.TimeoutError:
                self.proc.kill()
                await self.proc.wait()
            for pid in kids:  # a child blocked in a deadlock never hears the supervisor
                try:
                    os.kill(pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass


class WmemDefault:
    """--ipc-wmem BYTES: raises net.core.wmem_default (the send buffer every new socket gets,
    socketpairs included) while our client starts, then restores it. A diagnostic only: it
    postpones the IPC deadlock (bench/README.md) so that big messages can be measured."""

    PATH = "/proc/sys/net/core/wmem_default"

    def __init__(self, value):
        self.value = value
        self.old = None

    def __enter__(self):
        if self.value:
            with open(self.PATH) as f:
                self.old = f.read().strip()
            with open(self.PATH, "w") as f:
                f.write(str(self.value))
        return self

    def __exit__(self, *exc):
        if self.old is not None:
            with open(self.PATH, "w") as f:
                f.write(self.old)
        return False


def child_name(logfile, pid):
    found = re.findall(r"started keyd (\d+), netd (\d+), apid (\d+)", open(logfile).read())
    if found:
        for name, p in zip(("keyd", "netd", "apid"), found[-1]):
            if int(p) == pid:
                return name
    return comm(pid)


def set_debug(path, settings):
    """Sets debug.TABLE.KEY = VALUE in a config.toml, adding the table or key if absent."""
    lines = open(path).read().split("\n")
    for (table, key), value in settings.items():
        head = f"[debug.{table}]"
        if head not in lines:
            lines += ["", head]
        start = lines.index(head) + 1
        end = next((i for i in range(start, len(lines)) if lines[i].startswith("[")), len(lines))
        for i in range(start, end):
            if re.match(rf"{re.escape(key)}\s*=", lines[i]):
                lines[i] = f"{key} = {value}"
                break
        else:
            lines.insert(start, f"{key} = {value}")
    with open(path, "w") as f:
        f.write("\n".join(lines))


# ----------------------------------------------------------------------------- wasm client
class WasmClient:
    def __init__(self, bench, cover):
        self.b = bench
        self.cover = cover
        self.proc = None
        self.events = []
        self.received = 0
        self.changed = asyncio.Event()

    async def start(self):
        args = ["node", self.b.driver, "--nym-api", self.b.env["NYM_API"], "--gateway", self.b.env["GATEWAY_ID_1"],
                "--linger-ms", "0"]
        if self.cover:
            args.append("--cover")
        self.err = open(f"{self.b.tmp}/wasm{'-cover' if self.cover else ''}.err", "w")
        self.proc = await asyncio.create_subprocess_exec(*args, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                                         stderr=self.err, limit=1 << 24)
        self.reader = asyncio.create_task(self.read_loop())
        ev = await self.event(lambda e: e["event"] in ("ready", "error", "exit"), 60)
        if ev["event"] != "ready":
            raise BenchError(f"wasm client did not start: {ev}")

    def pids(self):
        return [self.proc.pid]

    async def read_loop(self):
        while True:
            line = await self.proc.stdout.readline()
            if not line:
                break
            try:
                ev = json.loads(line)
            except ValueError:
                continue
            ev["t_mono"] = time.monotonic()
            if ev["event"] == "received":
                self.received += 1
            if ev["event"] == "error":
                log(f"wasm: {ev}")
            self.events.append(ev)
            self.changed.set()
        self.changed.set()

    async def event(self, cond, limit, start=0):
        end = time.monotonic() + limit
        while True:
            for ev in self.events[start:]:
                if cond(ev):
                    return ev
            if self.proc.stdout.at_eof() and self.reader.done():
                raise BenchError(f"wasm client exited; last events {self.events[-3:]}")
            if time.monotonic() > end:
                raise BenchError("wasm client: no matching event in time")
            self.changed.clear()
            try:
                await asyncio.wait_for(self.changed.wait(), max(0.01, end - time.monotonic()))
            except asyncio.TimeoutError:
                pass

    async def cmd(self, text):
        self.proc.stdin.write(text.encode())
        await self.proc.stdin.drain()

    async def wait_received(self, n, limit=120):
        end = time.monotonic() + limit
        while self.received < n:
            if time.monotonic() > end or self.reader.done():
                raise BenchError(f"wasm: {self.received} of {n} messages received")
            self.changed.clear()
            try:
                await asyncio.wait_for(self.changed.wait(), max(0.01, end - time.monotonic()))
            except asyncio.TimeoutError:
                pass
        return [e for e in self.events if e["event"] == "received"][n - 1]["t_mono"]

    async def burst(self, count, size, seed):
        base = self.received
        t0 = time.monotonic()
        await self.cmd("".join(f"send self {size} {seed}{i}\n" for i in range(count)))
        return t0, base + count

    async def timed_send(self, size):
        start = len(self.events)
        await self.cmd(f"timedsend self {size} first\n")
        ev = await self.event(lambda e: e["event"] == "sending", 30, start)
        return ev["unix_ms"] / 1000.0, self.received + 1

    async def stop(self):
        if self.proc and self.proc.returncode is None:
            try:
                await self.cmd("quit\n")
                await asyncio.wait_for(self.proc.wait(), 5)
            except (asyncio.TimeoutError, ConnectionError):
                self.proc.kill()
                await self.proc.wait()


# ----------------------------------------------------------------------------- helpers
def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def tail(path, n=15):
    try:
        return "\n" + "".join(open(path).readlines()[-n:])
    except OSError:
        return ""


def parse_sphinx(text):
    """bench_sphinx's create bound (us per packet) and its X25519 timings."""
    m = re.search(r"sphinx create\s*:.*?\(([\d.]+) vs ([\d.]+) us/pkt", text)
    var = re.search(r"X25519 scalar mult \(variable point\)\s+([\d.]+) us", text)
    eph = re.search(r"X25519 ephemeral key pair\s+([\d.]+) us", text)
    if not (m and var and eph):
        raise BenchError("cannot read bench_sphinx's output")
    ack = re.search(r"sphinx create \(SURB-ack\)\s*:.*?\(([\d.]+) vs ([\d.]+) us/pkt", text)
    if not ack:
        raise BenchError("bench_sphinx printed no SURB-ack line (an older build?)")
    out = {"create_us": float(m.group(1)), "bound_us": float(m.group(2)),
           "ack_bound_us": float(ack.group(2)),
           "x25519_var_us": float(var.group(1)), "x25519_eph_us": float(eph.group(1))}
    # a client's work per packet it receives (gateway link open, e2e open); socks_download
    for key, label in (("rx_e2e_us", "e2e open"), ("rx_link_legacy_us", "link legacy"),
                       ("rx_link_gcmsiv_us", "link gcm-siv")):
        r = re.search(rf"client receive {label}\s*:\s*([\d.]+) us/pkt", text)
        out[key] = float(r.group(1)) if r else None
    return out


# ----------------------------------------------------------------------------- measurements
async def throughput(client, net, count, size, seed):
    pids = client.pids()
    pk0 = await gw_stat_settled(net, "client_packets", 0)
    c0 = [cpu_s([p]) for p in pids]
    t0, want = await client.burst(count, size, seed)
    t1 = await client.wait_received(want)
    await asyncio.sleep(0.5)  # the last acks come back and are processed
    per_pid = [cpu_s([p]) - c for p, c in zip(pids, c0)]
    packets = await gw_stat_settled(net, "client_packets") - pk0
    el = t1 - t0
    return {"msgs_s": count / el, "mb_s": count * size / el / 1e6, "elapsed_s": el, "cpu_s": sum(per_pid),
            "per_pid_s": per_pid, "packets": packets}


async def first_frame(client, net, tmp, name, size):
    tr = GatewayTrace(net, f"{tmp}/{name}.strace")
    await tr.start()
    try:
        t_send, want = await client.timed_send(size)
        t_first = await tr.wait_first(t_send)
    finally:
        await tr.stop()
    if t_first is None:
        raise BenchError(f"{name}: no frame at the gateway after the send")
    r = {"first_ms": (t_first - t_send) * 1000}
    try:
        await client.wait_received(want)
    except Stalled as e:
        e.partial = r  # the first packet did leave: that measurement stands
        raise
    return r


async def idle_cpu(client, net, seconds):
    pids = client.pids()
    pk0 = gw_stat(net, "client_packets")
    c0, t0 = cpu_s(pids), time.monotonic()
    await asyncio.sleep(seconds)
    c1, t1 = cpu_s(pids), time.monotonic()
    packets = gw_stat(net, "client_packets") - pk0
    return {"share": (c1 - c0) / (t1 - t0), "pkt_s": packets / (t1 - t0)}


async def run_client(client, net, tmp, name, a):
    """a, b, c, d for one client (cover traffic off). A phase in which our client stalls is
    recorded as such (r["stalls"]) and the client is restarted for the next phase."""
    r = {"stalls": []}
    await client.start()
    await asyncio.sleep(1.0)
    r["rss_kb"] = [rss_kb(p) for p in client.pids()]
    r["pss_kb"] = [pss_kb(p) for p in client.pids()]
    if isinstance(client, OurClient):
        r["names"] = client.names()
    phases = (("small", f"{a.small_count} x {a.small_size} B",
               lambda: throughput(client, net, a.small_count, a.small_size, "s")),
              ("big", f"{a.big_count} x {a.big_size} B",
               lambda: throughput(client, net, a.big_count, a.big_size, "b")),
              ("first", f"time to the first packet of {a.first_size} B",
               lambda: first_frame(client, net, tmp, name, a.first_size)))
    for key, what, run in phases:
        log(f"{name}: {what}")
        try:
            r[key] = await run()
        except Stalled as e:
            log(str(e))
            r[key] = getattr(e, "partial", None)
            r["stalls"].append(f"{key}: {e}")
            await client.stop()
            await client.start()
    await asyncio.sleep(1.0)
    r["rss_after_kb"] = [rss_kb(p) for p in client.pids()]
    await client.stop()
    return r


async def run_cover(client, net, name, seconds):
    await client.start()
    await asyncio.sleep(2.0)
    log(f"{name}: default cover traffic, {seconds} s idle")
    r = await idle_cpu(client, net, seconds)
    await client.stop()
    return r


def per_packet_ms(x):
    return x["cpu_s"] * 1000 / x["packets"] if x and x.get("packets") else None


def median_round(runs):
    """The first round's result, with the small and big phases taken from the round whose CPU
    per packet is the median (so that its packets, CPU and rates stay one run's); each round's
    CPU per packet is kept in "rounds"."""
    r = dict(runs[0])
    r["rounds"] = {}
    for key in ("small", "big"):
        done = [x[key] for x in runs if per_packet_ms(x.get(key)) is not None]
        r["rounds"][key] = [per_packet_ms(x.get(key)) for x in runs]
        if done:
            done.sort(key=per_packet_ms)
            r[key] = done[(len(done) - 1) // 2]
    r["stalls"] = [st for x in runs for st in x["stalls"]]
    return r


# ----------------------------------------------------------------------------- report
def fmt(v):
    if v is None:
        return "-"
    if isinstance(v, str):
        return v
    return f"{v:.3g}" if abs(v) < 100 else f"{v:.0f}"


def report(sph, ours, wasm, cov_ours, cov_wasm, a):
    rows = []
    stalled = "STALLED"

    def row(metric, o, w, ratio="", target=""):
        rows.append((metric, fmt(o), fmt(w), ratio, target))

    def r(x, y):
        return f"{x / y:.2f}" if x and y else "-"

    def get(res, key, field):
        return res[key][field] if res.get(key) and field in res[key] else None

    def per_packet(res, key):
        x = res.get(key)
        return x["cpu_s"] * 1000 / x["packets"] if x and x["packets"] else None

    for key, label in (("small", f"{a.small_count} x {a.small_size / 1024:g} KiB"),
                       ("big", f"{a.big_count} x {a.big_size / 1048576:g} MiB")):
        for field, unit in (("msgs_s", "messages/s"), ("mb_s", "MB/s")):
            o, w = get(ours, key, field), get(wasm, key, field)
            row(f"a. {label}: {unit}", o if ours.get(key) else stalled, w, "ours/wasm " + r(o, w))
    bound_ms = sph["bound_us"] / 1000
    # a self-sent fragment also needs its SURB-ack (bench_sphinx's SURB-ack bound: the header
    # as the packet's own), the payload's ephemeral key pair, the e2e key and AES-CTR at the
    # sender and at the receiver (each as bench_sphinx's e2e open) and the gateway link's
    # AES-256-GCM-SIV both ways: see bench/README.md
    extra_ms = (sph["ack_bound_us"] + sph["x25519_eph_us"] + 2 * sph["rx_e2e_us"] +
                2 * sph["rx_link_gcmsiv_us"]) / 1000
    cpu_ratios = []
    for key, label in (("small", f"{a.small_size / 1024:g} KiB msgs"), ("big", f"{a.big_size / 1048576:g} MiB msgs")):
        po, pw = per_packet(ours, key), per_packet(wasm, key)
        cpu_ratios.append((label, pw / po if po and pw else None))
        n_o = ours[key]["packets"] if ours.get(key) else "-"
        n_w = wasm[key]["packets"] if wasm.get(key) else "-"
        row(f"b. CPU ms/packet, {label} ({n_o} / {n_w} pkts)", po if ours.get(key) else stalled, pw,
            f"wasm/ours {r(pw, po)}; ours/bound {r(po, bound_ms)}; ours/self-send bound {r(po, bound_ms + extra_ms)}",
            "wasm/ours >= 10; ours/bound <= 1.1")
        if ours.get(key) and ours[key]["packets"]:
            parts = ", ".join(f"{n} {t * 1000 / ours[key]['packets']:.2f}"
                              for n, t in zip(ours["names"], ours[key]["per_pid_s"]))
            row(f"b.   ours by process, ms/packet: {parts}", None, None)
    for key, label in (("small", f"{a.small_size / 1024:g} KiB"), ("big", f"{a.big_size / 1048576:g} MiB")):
        po_all, pw_all = ours["rounds"].get(key, []), wasm["rounds"].get(key, [])
        each = " ".join(f"{w / o:.2f}" if o and w else "-" for o, w in zip(po_all, pw_all))
        row(f"b.   {label}, each of {a.rounds} rounds: wasm/ours {each}", None, None)
    row("b. bound (bench_sphinx create); self-send bound, ms", bound_ms, bound_ms + extra_ms)
    fo, fw = get(ours, "first", "first_ms"), get(wasm, "first", "first_ms")
    row(f"c. first packet on the wire, {a.first_size / 1048576:g} MiB msg, ms", fo, fw, "wasm/ours " + r(fw, fo),
        "ours <= 100 ms")
    for n, kb, pss in zip(ours["names"], ours["rss_kb"], ours["pss_kb"]):
        row(f"d. idle RSS {n}, MB (PSS {pss / 1024:.2f})", kb / 1024, None)
    so, sw = sum(ours["rss_kb"]) / 1024, sum(wasm["rss_kb"]) / 1024
    row("d. idle RSS sum, MB (wasm: the node process)", so, sw, "wasm/ours " + r(sw, so), "ours <= 8 MB")
    po, pw = sum(ours["pss_kb"]) / 1024, sum(wasm["pss_kb"]) / 1024
    row("d. idle PSS sum, MB (shared pages counted once)", po, pw, "wasm/ours " + r(pw, po), "ours <= 8 MB")
    ao, aw = sum(ours["rss_after_kb"]) / 1024, sum(wasm["rss_after_kb"]) / 1024
    after = "d. RSS sum after the runs, MB" + (" (ours: restarted after a stall)" if ours["stalls"] else "")
    row(after, ao, aw, "wasm/ours " + r(aw, ao))
    co, cw = cov_ours["share"] * 100, cov_wasm["share"] * 100
    row(f"e. CPU, default cover traffic, {a.cover_seconds:g} s idle, % of a core", co, cw, "wasm/ours " + r(cw, co),
        "ours <= 10 %")
    row("e. packets/s to the gateway meanwhile", cov_ours["pkt_s"], cov_wasm["pkt_s"])
    head = ("metric", "ours", "wasm", "ratio", "target")
    widths = [max(len(str(x[i])) for x in rows + [head]) for i in range(5)]

    def line(x):
        return "  ".join(str(v).rjust(w) if i in (1, 2) else str(v).ljust(w)
                         for i, (v, w) in enumerate(zip(x, widths))).rstrip()
    print(line(head))
    print("  ".join("-" * w for w in widths))
    for x in rows:
        print(line(x))
    for st in ours["stalls"]:
        print(f"ours {st}")
    print_cpu_ratio(cpu_ratios)


def print_cpu_ratio(cpu_ratios):
    """Issue 12's target on one line, read by bench/summary (bench/README.md)."""
    parts = "; ".join(f"{x:.2f} ({label})" if x else f"- ({label})" for label, x in cpu_ratios)
    print(f"cpu per packet wasm / ours: {parts}   target >= 10   header: accumulated scalar   "
          f"online cores: {os.sysconf('SC_NPROCESSORS_ONLN')}   load average: {os.getloadavg()[0]:.2f}")


# ----------------------------------------------------------------------------- main
class Bench:
    def __init__(self, a):
        self.a = a
        self.root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
        self.build = a.build if os.path.isabs(a.build) else os.path.join(self.root, a.build)
        self.driver = os.path.join(self.root, "tests/interop/nym-client.mjs")
        self.tmp = tempfile.mkdtemp(prefix="nymsuite-client-bench.")
        self.net = f"{self.tmp}/net"
        self.env = {}
        self.clients = []

    def track(self, client):
        self.clients.append(client)
        return client

    def bin(self, name):
        return f"{self.build}/bin/{name}"

    def localnet(self, *args):
        return subprocess.run([self.bin("nym-localnet"), *args, "--dir", self.net], capture_output=True, text=True)

    def up(self):
        r = self.localnet("up", "--no-delay")
        if r.returncode != 0:
            raise BenchError(f"nym-localnet up: {r.stdout}{r.stderr}")
        for line in open(f"{self.net}/env"):
            m = re.match(r"^(\w+)=\"?([^\"]*)\"?$", line.strip())
            if m:
                self.env[m.group(1)] = m.group(2)


def sphinx_text(b, path):
    if path:
        return open(path).read()
    log("bench_sphinx (for the per-packet bound)")
    r = subprocess.run([f"{b.build}/bench/bench_sphinx"], capture_output=True, text=True)
    if r.returncode != 0:
        raise BenchError(f"bench_sphinx failed: {r.stdout}{r.stderr}")
    return r.stdout


async def main_async(a):
    # ours builds headers with the accumulated scalar (issue 12); the benchmark baseline switch
    # of the client suite must not leak in from the caller's environment
    os.environ.pop("NYMSUITE_SPHINX_CHAIN", None)
    b = Bench(a)
    ok = False
    try:
        sph = parse_sphinx(sphinx_text(b, a.sphinx_out))
        b.up()
        log(f"localnet up (--no-delay) in {b.net}")
        fast_ours, fast_wasm = b.track(OurClient(b, "fast", False)), b.track(WasmClient(b, False))
        ours_runs, wasm_runs = [], []
        for rnd in range(1, a.rounds + 1):
            log(f"round {rnd} of {a.rounds}")
            ours_runs.append(await run_client(fast_ours, b.net, b.tmp, "ours", a))
            wasm_runs.append(await run_client(fast_wasm, b.net, b.tmp, "wasm", a))
        ours, wasm = median_round(ours_runs), median_round(wasm_runs)
        cov_ours = await run_cover(b.track(OurClient(b, "cover", True)), b.net, "ours", a.cover_seconds)
        cov_wasm = await run_cover(b.track(WasmClient(b, True)), b.net, "wasm", a.cover_seconds)
        print()
        report(sph, ours, wasm, cov_ours, cov_wasm, a)
        ok = True
    finally:
        for c in b.clients:  # after a failure some may still run
            await c.stop()
        b.localnet("down")
        if ok and not a.keep:
            shutil.rmtree(b.tmp, ignore_errors=True)
        else:
            log(f"scratch folder kept: {b.tmp}")
    return 0


def main():
    p = argparse.ArgumentParser(description="our nym-client against the real wasm client (bench/README.md)")
    p.add_argument("--build", default=os.environ.get("BUILD", "build"))
    p.add_argument("--sphinx-out", help="bench_sphinx output of this run (else it is run here)")
    p.add_argument("--small-count", type=int, default=200)
    p.add_argument("--small-size", type=int, default=1024)
    p.add_argument("--big-count", type=int, default=5)
    p.add_argument("--big-size", type=int, default=1 << 20)
    p.add_argument("--first-size", type=int, default=2 << 20)
    p.add_argument("--cover-seconds", type=float, default=20.0)
    p.add_argument("--rounds", type=int, default=3,
                   help="alternating runs of each client; the median round's CPU per packet is reported")
    p.add_argument("--keep", action="store_true", help="keep the scratch folder")
    p.add_argument("--ipc-wmem", type=int, default=0, metavar="BYTES",
                   help="diagnostic (root): net.core.wmem_default while our client starts")
    a = p.parse_args()
    try:
        return asyncio.run(main_async(a))
    except BenchError as e:
        log(f"ERROR: {e}")
        return 1


if __name__ == "__main__":
    sys.exit(main())
