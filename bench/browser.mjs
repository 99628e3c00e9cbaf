// bench/browser.mjs: a browser client against the real @nymproject/sdk@1.4.1, in the same
// Chromium build and the same run, on a localnet with delays and cover off (bench/browser.sh starts
// it). Each client kind gets a fresh browser, --rounds times (the kinds in turn each round); the
// table gives each metric's median over the rounds. Prints a table; never asserts a number; exits
// non-zero only when something does not work. See bench/README.md (browser).
//   node --experimental-websocket bench/browser.mjs --net DIR [--clients sdk,ours] [--small N]
//        [--big N] [--rounds N] [--log FILE] [--json FILE]
import { spawn } from 'node:child_process';
import { gzipSync } from 'node:zlib';
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { cacheDir, localnetStartOptions, openHarness, ourPackageBuilt, ourPackageDir, tightCsp } from '../tests/browser/driver.mjs';
import { b64, payload } from '../tests/browser/checks.mjs';

const FRAME_MIN = 1500; // a mix packet is 2413 bytes plus framing; nothing else that big reaches the gateway
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

function args(argv) {
	const o = { clients: 'sdk,ours', small: '200', big: '3', rounds: '3' };
	for (let i = 0; i < argv.length; i++) o[argv[i].replace(/^--/, '')] = argv[++i];
	if (!o.net) throw new Error('--net DIR (the localnet folder) is required');
	return o;
}

function env(net) {
	const e = {};
	for (const line of readFileSync(join(net, 'env'), 'utf8').split('\n')) {
		const m = /^([A-Z0-9_]+)="?([^"]*)"?$/.exec(line);
		if (m) e[m[1]] = m[2];
	}
	return e;
}

const gwStat = (net, field) => JSON.parse(readFileSync(join(net, 'run/gateway1.stats'), 'utf8'))[field];

// ------------------------------------------------------------------ CPU of the browser's threads
function browserPids(profile) {
	const all = readdirSync('/proc').filter((d) => /^\d+$/.test(d));
	const info = new Map();
	for (const p of all) {
		try {
			const stat = readFileSync(`/proc/${p}/stat`, 'utf8');
			const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
			// a zygote's children rewrite their title: one string with spaces, not \0-separated
			const cmd = readFileSync(`/proc/${p}/cmdline`, 'utf8').replace(/\0/g, ' ');
			info.set(Number(p), { ppid, cmd });
		} catch { /* gone */ }
	}
	const root = [...info].find(([, v]) => v.cmd.includes(`--user-data-dir=${profile} `) && !/--type=/.test(v.cmd));
	if (!root) throw new Error(`no chromium process with --user-data-dir=${profile}`);
	const out = new Map([[root[0], 'browser']]);
	for (let grew = true; grew;) {
		grew = false;
		for (const [pid, v] of info) {
			if (!out.has(pid) && out.has(v.ppid)) {
				const t = /--type=(\S+)/.exec(v.cmd);
				out.set(pid, t ? t[1] : 'other');
				grew = true;
			}
		}
	}
	return out; // pid -> type (browser, renderer, gpu-process, utility, zygote, ...)
}

// ns of CPU per group: the renderers' main threads (the pages), their dedicated Workers, the rest of the renderer, the
// other processes (browser: the WebSocket and fetch I/O of the network service, gpu, zygote)
function cpuSnapshot(pids) {
	const g = { main: 0, workers: 0, rendererOther: 0, otherProcs: 0, threads: {}, tids: {} };
	for (const [pid, type] of pids) {
		let tids;
		try { tids = readdirSync(`/proc/${pid}/task`); } catch { continue; }
		for (const tid of tids) {
			let ns, comm;
			try {
				ns = Number(readFileSync(`/proc/${pid}/task/${tid}/schedstat`, 'utf8').split(' ')[0]);
				comm = readFileSync(`/proc/${pid}/task/${tid}/comm`, 'utf8').trim();
			} catch { continue; }
			// a renderer's main thread keeps the process's name; the page's JavaScript runs there
			if (type === 'renderer' && tid === String(pid)) g.main += ns;
			else if (type === 'renderer' && comm.startsWith('DedicatedWorker')) g.workers += ns, g.tids[tid] = ns;
			else if (type === 'renderer') g.rendererOther += ns;
			else g.otherProcs += ns;
			const k = `${type}/${comm}`;
			g.threads[k] = (g.threads[k] ?? 0) + ns;
		}
	}
	return g;
}

function cpuDelta(a, b) {
	const d = {};
	for (const k of ['main', 'workers', 'rendererOther', 'otherProcs']) d[k] = (b[k] - a[k]) / 1e6; // ms
	// each Worker thread on its own (ours: the key Worker and the net Worker; the SDK: one)
	d.perWorker = Object.keys(b.tids).map((t) => (b.tids[t] - (a.tids[t] ?? 0)) / 1e6).filter((ms) => ms > 0.5)
		.sort((x, y) => y - x);
	d.client = d.main + d.workers;
	d.renderer = d.client + d.rendererOther;
	d.all = d.renderer + d.otherProcs;
	return d;
}

function rendererPss(pids) {
	let kb = 0;
	for (const [pid, type] of pids) {
		if (type !== 'renderer') continue;
		try {
			const m = /^Pss:\s+(\d+) kB/m.exec(readFileSync(`/proc/${pid}/smaps_rollup`, 'utf8'));
			if (m) kb += Number(m[1]);
		} catch { /* gone */ }
	}
	return kb * 1024;
}

// ------------------------------------------------------------------ raw CDP (heap of each Worker)
class Cdp {
	static async connect(profile) {
		const file = join(profile, 'DevToolsActivePort');
		for (let i = 0; i < 100 && !existsSync(file); i++) await sleep(100);
		const [port, path] = readFileSync(file, 'utf8').trim().split('\n');
		const ws = new WebSocket(`ws://127.0.0.1:${port}${path}`);
		await new Promise((ok, fail) => { ws.onopen = ok; ws.onerror = () => fail(new Error('CDP connect failed')); });
		return new Cdp(ws);
	}

	constructor(ws) {
		this.ws = ws;
		this.id = 0;
		this.pending = new Map();
		ws.onmessage = (e) => {
			const m = JSON.parse(e.data);
			if (m.id && this.pending.has(m.id)) { this.pending.get(m.id)(m); this.pending.delete(m.id); }
		};
	}

	send(method, params = {}, sessionId = undefined) {
		return new Promise((ok, fail) => {
			const i = ++this.id;
			this.pending.set(i, (m) => (m.error ? fail(new Error(`${method}: ${m.error.message}`)) : ok(m.result)));
			this.ws.send(JSON.stringify({ id: i, method, params, sessionId }));
		});
	}

	// JS heap used by the page at origin and its Workers after a full collection, and V8's
	// backingStorageSize (ArrayBuffers; our module's wasm memory did not show up in it, so it is
	// printed for information: the renderers' PSS is the whole)
	async heap(origin) {
		const { targetInfos } = await this.send('Target.getTargets');
		const out = { used: 0, backing: 0, targets: [] };
		for (const t of targetInfos.filter((x) => (x.type === 'page' || x.type === 'worker') && x.url.startsWith(origin))) {
			const { sessionId } = await this.send('Target.attachToTarget', { targetId: t.targetId, flatten: true });
			// what is still referenced, not what the collector has not reached yet
			await this.send('HeapProfiler.collectGarbage', {}, sessionId);
			const h = await this.send('Runtime.getHeapUsage', {}, sessionId);
			await this.send('Target.detachFromTarget', { sessionId });
			out.used += h.usedSize;
			out.backing += h.backingStorageSize ?? 0;
			out.targets.push({ type: t.type, url: t.url.slice(origin.length), used: h.usedSize, backing: h.backingStorageSize ?? 0 });
		}
		return out;
	}

	// --cpu-profile: V8's sampling profiler in the page and each Worker of origin
	async profileStart(origin) {
		const { targetInfos } = await this.send('Target.getTargets');
		this.profiled = [];
		for (const t of targetInfos.filter((x) => (x.type === 'page' || x.type === 'worker') && x.url.startsWith(origin))) {
			const { sessionId } = await this.send('Target.attachToTarget', { targetId: t.targetId, flatten: true });
			await this.send('Profiler.enable', {}, sessionId);
			await this.send('Profiler.setSamplingInterval', { interval: 200 }, sessionId);
			await this.send('Profiler.start', {}, sessionId);
			this.profiled.push({ sessionId, url: t.url.slice(origin.length) });
		}
	}

	// per context: ms of self time per function (samples x their time deltas), the top ones
	async profileStop(top = 25) {
		const out = [];
		for (const { sessionId, url } of this.profiled ?? []) {
			const { profile } = await this.send('Profiler.stop', {}, sessionId);
			await this.send('Target.detachFromTarget', { sessionId });
			const name = new Map(profile.nodes.map((n) => [n.id, n.callFrame.functionName || `(${n.callFrame.url.split('/').pop() || 'anonymous'})`]));
			const self = new Map();
			let total = 0;
			profile.samples.forEach((id, i) => {
				const ms = (profile.timeDeltas[i] ?? 0) / 1000;
				const f = name.get(id);
				self.set(f, (self.get(f) ?? 0) + ms);
				if (f !== '(idle)' && f !== '(program)') total += ms;
			});
			const fns = [...self].filter(([f]) => f !== '(idle)').sort((a, b) => b[1] - a[1]).slice(0, top)
				.map(([f, ms]) => ({ f, ms: Number(ms.toFixed(1)) }));
			out.push({ url, busyMs: Number(total.toFixed(1)), fns });
		}
		return out;
	}

	close() { try { this.ws.close(); } catch { /* gone */ } }
}

// ------------------------------------------------------------------ the gateway's first packet
// strace -ttt on the gateway's recvfrom calls (as bench/client_vs_wasm): the first read of at
// least FRAME_MIN bytes after the send is the client's first mix packet on the wire.
class GatewayTrace {
	constructor(pid, out) { this.pid = pid; this.out = out; }

	async start() {
		this.proc = spawn('strace', ['-ttt', '-qq', '-e', 'trace=recvfrom', '-e', 'signal=none', '-s', '0',
			'-o', this.out, '-p', String(this.pid)], { stdio: 'ignore' });
		for (let i = 0; i < 200; i++) {
			if (/^TracerPid:\s*[1-9]/m.test(readFileSync(`/proc/${this.pid}/status`, 'utf8'))) return;
			await sleep(10);
		}
		throw new Error('strace did not attach to the gateway');
	}

	firstAfter(tSendSec) {
		let text = '';
		try { text = readFileSync(this.out, 'utf8'); } catch { return null; }
		for (const line of text.split('\n')) {
			const m = /^(\d+\.\d+) recvfrom\(\d+,.*\)\s+= (\d+)/.exec(line);
			if (m && Number(m[1]) >= tSendSec && Number(m[2]) >= FRAME_MIN) return Number(m[1]);
		}
		return null;
	}

	async waitFirst(tSendSec, ms = 30000) {
		for (const end = Date.now() + ms; Date.now() < end; await sleep(20)) {
			const t = this.firstAfter(tSendSec);
			if (t !== null) return t;
		}
		return null;
	}

	async stop() {
		if (!this.proc || this.proc.exitCode !== null) return;
		const done = new Promise((r) => this.proc.once('exit', r));
		this.proc.kill('SIGINT'); // strace detaches
		await done;
	}
}

// ------------------------------------------------------------------ bytes shipped
function shipped(kind) {
	const files = [];
	if (kind === 'sdk') {
		const d = join(cacheDir(), 'node_modules/@nymproject/sdk');
		files.push(join(d, 'index.js'), join(d, 'web-worker-0.js'));
	} else {
		const walk = (d) => {
			for (const f of readdirSync(d)) {
				const p = join(d, f);
				if (statSync(p).isDirectory()) walk(p);
				else if (/\.(m?js|wasm)$/.test(f)) files.push(p);
			}
		};
		walk(ourPackageDir());
	}
	let raw = 0, gz = 0;
	for (const f of files) {
		const b = readFileSync(f);
		raw += b.length;
		gz += gzipSync(b, { level: 9 }).length;
	}
	return { raw, gz, files: files.length };
}

// ------------------------------------------------------------------ one client kind
async function selfSendPhase(a, o, pids, n, size, what, log) {
	const msg = payload(size, `bench-${size}`);
	const before = await a.call('count', 'raw');
	await sleep(1200); // the gateway's stats file is rewritten every second
	const pk0 = gwStat(o.net, 'client_packets');
	const c0 = cpuSnapshot(pids);
	const sent = await a.call('sendMany', { recipient: 'self', message: { b64: b64(msg) }, mimeType: 'application/octet-stream' }, n);
	const w = await a.waitReceived(before + n, 600000, 'raw');
	if (!w.ok) throw new Error(`${what}: ${w.have - before} of ${n} messages arrived in 600 s`);
	const recs = await a.received(0);
	const last = Math.max(...recs.filter((r) => r.event === 'raw').slice(before).map((r) => r.t));
	await sleep(500); // the last acks
	const c1 = cpuSnapshot(pids);
	await sleep(1200);
	const packets = gwStat(o.net, 'client_packets') - pk0;
	const secs = (last - sent.t0) / 1000;
	const cpu = cpuDelta(c0, c1);
	log(`${a.kind} ${what}: ${n} msgs in ${secs.toFixed(3)} s, ${packets} packets, CPU ms: ${JSON.stringify(cpu)}`);
	let counters = null;
	try { counters = await a.call('stats'); } catch { /* the SDK has none */ }
	if (counters) log(`${a.kind} ${what}: client.stats() ${JSON.stringify(counters)}`);
	return { msgsPerS: n / secs, mbPerS: (n * size) / 1e6 / secs, packets, cpu, cpuPerPacket: cpu.client / packets, cpuPerMsg: cpu.client / n,
		cpuAllPerPacket: cpu.all / packets, sendCallMs: sent.t1 - sent.t0, counters };
}

async function firstPacketPhase(a, o, gwPid, tmp, log) {
	const size = 2 * 1000 * 1000;
	const msg = payload(size, 'bench-2mb');
	const before = await a.call('count', 'raw');
	const tr = new GatewayTrace(gwPid, join(tmp, `${a.kind}.strace`));
	await tr.start();
	let tSend, tFirst;
	try {
		({ t: tSend } = await a.send({ recipient: 'self', message: { b64: b64(msg) }, mimeType: 'application/octet-stream' }));
		tFirst = await tr.waitFirst(tSend / 1000);
	} finally {
		await tr.stop();
	}
	if (tFirst === null) throw new Error(`${a.kind}: no packet at the gateway after the 2 MB send`);
	const w = await a.waitReceived(before + 1, 600000, 'raw');
	if (!w.ok) throw new Error(`${a.kind}: the 2 MB message did not arrive in 600 s`);
	const rec = (await a.received(0)).filter((r) => r.event === 'raw').slice(before)[0];
	log(`${a.kind} 2 MB: first packet ${(tFirst * 1000 - tSend).toFixed(1)} ms after the send call, whole ${(rec.t - tSend).toFixed(0)} ms`);
	return { firstMs: tFirst * 1000 - tSend, wholeMs: rec.t - tSend };
}

async function runKind(kind, o, e, log) {
	const tmp = mkdtempSync(join(tmpdir(), `nsbb-${kind}.`));
	const profile = join(tmp, 'profile');
	const csp = tightCsp({ nymApi: e.NYM_API, gatewayWs: e.GATEWAY_WS_1 });
	const h = await openHarness({ log: o.log ?? null, profileDir: profile, csp, chromiumArgs: ['--remote-debugging-port=0'] });
	const r = { kind };
	let cdp;
	try {
		cdp = await Cdp.connect(profile);
		const pids = browserPids(profile);
		const a = await h.client(kind, { name: kind });
		const c0 = cpuSnapshot(pids);
		const loaded = await a.load();
		const started = await a.start(localnetStartOptions({ clientId: `bench-${kind}`, nymApi: e.NYM_API, gateway: e.GATEWAY_ID_1 }));
		r.loadMs = loaded.loadMs;
		r.startMs = started.startMs;
		r.startupMs = loaded.loadMs + started.startMs;
		const pidsNow = browserPids(profile); // the renderer may have started after the first look
		r.startupCpuMs = cpuDelta(c0, cpuSnapshot(pidsNow)).client;
		await sleep(1000);
		r.heap = await cdp.heap(h.server.url);
		r.pss = rendererPss(pidsNow);
		log(`${kind}: heap ${JSON.stringify(r.heap)}`);
		if (o['cpu-profile'] && kind === 'ours') await cdp.profileStart(h.server.url);
		r.small = await selfSendPhase(a, o, pidsNow, Number(o.small), 1024, `${o.small} x 1 KiB`, log);
		if (o['cpu-profile'] && kind === 'ours') {
			const prof = await cdp.profileStop();
			writeFileSync(o['cpu-profile'], JSON.stringify(prof, null, 1));
			for (const p of prof) log(`profile ${p.url}: busy ${p.busyMs} ms; ${p.fns.slice(0, 12).map((x) => `${x.f} ${x.ms}`).join(', ')}`);
		}
		r.big = await selfSendPhase(a, o, pidsNow, Number(o.big), 1 << 20, `${o.big} x 1 MiB`, log);
		r.first = await firstPacketPhase(a, o, Number(readFileSync(join(o.net, 'run/gateway1.pid'), 'utf8')), tmp, log);
		r.heapAfter = await cdp.heap(h.server.url);
		const v = await h.violations();
		if (v.length) throw new Error(`${kind}: CSP violations: ${JSON.stringify(v).slice(0, 300)}`);
	} finally {
		cdp?.close();
		await h.close();
		rmSync(tmp, { recursive: true, force: true });
	}
	r.shipped = shipped(kind);
	return r;
}

// ------------------------------------------------------------------ the table
const median = (xs) => {
	const v = xs.filter((x) => x !== undefined && x !== null && !Number.isNaN(x)).sort((a, b) => a - b);
	if (!v.length) return undefined;
	return v.length % 2 ? v[(v.length - 1) / 2] : (v[v.length / 2 - 1] + v[v.length / 2]) / 2;
};

// Each round's ours/sdk of the CPU per packet (the runs of a round are next to each other in time).
function roundRatios(results) {
	const out = [];
	for (const [label, k] of [['1 KiB', 'small'], ['1 MiB', 'big']]) {
		const r = (results.sdk ?? []).map((s, i) => {
			const u = results.ours?.[i];
			return u && s ? (u[k].cpuPerPacket / s[k].cpuPerPacket).toFixed(3) : '-';
		});
		out.push(`CPU per packet (page + Workers), ours/sdk per round, ${label}: ${r.join(' ')}`);
	}
	return out.join('\n');
}

function table(results) {
	const sdk = results.sdk;
	const ours = results.ours;
	const rows = [
		['start-up to Connected, ms (createNymMixnetClient + start)', (r) => r.startupMs, 'lower'],
		['  createNymMixnetClient (Worker load, wasm compile), ms', (r) => r.loadMs, 'lower'],
		['  start -> Connected, ms', (r) => r.startMs, 'lower'],
		['  CPU of the page + Workers during start-up, ms', (r) => r.startupCpuMs, 'lower'],
		[`self-send 1 KiB x ${results.smallN}: messages/s`, (r) => r.small.msgsPerS, 'higher'],
		[`self-send 1 KiB x ${results.smallN}: MB/s`, (r) => r.small.mbPerS, 'higher'],
		['  CPU ms per packet (page + Workers)', (r) => r.small.cpuPerPacket, 'lower'],
		['  CPU ms per packet (whole browser)', (r) => r.small.cpuAllPerPacket, 'lower'],
		['  CPU ms per message (page + Workers)', (r) => r.small.cpuPerMsg, 'lower'],
		['  packets at the gateway', (r) => r.small.packets, ''],
		[`self-send 1 MiB x ${results.bigN}: messages/s`, (r) => r.big.msgsPerS, 'higher'],
		[`self-send 1 MiB x ${results.bigN}: MB/s`, (r) => r.big.mbPerS, 'higher'],
		['  CPU ms per packet (page + Workers)', (r) => r.big.cpuPerPacket, 'lower'],
		['  CPU ms per packet (whole browser)', (r) => r.big.cpuAllPerPacket, 'lower'],
		['  CPU ms per message (page + Workers)', (r) => r.big.cpuPerMsg, 'lower'],
		['  packets at the gateway', (r) => r.big.packets, ''],
		['2 MB message: first packet at the gateway, ms after send()', (r) => r.first.firstMs, 'lower'],
		['2 MB message: whole self-send, ms', (r) => r.first.wholeMs, 'lower'],
		['JS + wasm shipped, bytes gzipped', (r) => r.shipped.gz, 'lower'],
		['JS + wasm shipped, bytes', (r) => r.shipped.raw, 'lower'],
		['JS heap used (page + Workers, after GC), MB, idle after start', (r) => r.heap.used / 1e6, 'lower'],
		['ArrayBuffer backing stores (V8 count; see README), MB', (r) => r.heap.backing / 1e6, ''],
		['PSS of all the browser\'s renderer processes, MB', (r) => r.pss / 1e6, 'lower'],
		['JS heap used after the runs (after GC), MB', (r) => r.heapAfter.used / 1e6, 'lower'],
	];
	const fmt = (x) => (x === undefined || x === null || Number.isNaN(x) ? '-' :
		Math.abs(x) >= 1000 ? x.toFixed(0) : Math.abs(x) >= 10 ? x.toFixed(1) : x.toFixed(3));
	const lines = [];
	const w0 = Math.max(...rows.map((r) => r[0].length));
	lines.push(`${'metric'.padEnd(w0)}  ${'sdk 1.4.1'.padStart(12)}  ${'ours'.padStart(12)}  ours/sdk`);
	for (const [name, f, better] of rows) {
		const s = sdk ? median(sdk.map(f)) : undefined;
		const u = ours ? median(ours.map(f)) : undefined;
		const ratio = s !== undefined && u !== undefined && s ? `${(u / s).toFixed(3)}${better ? ` (${better} is better)` : ''}` : '';
		lines.push(`${name.padEnd(w0)}  ${fmt(s).padStart(12)}  ${(ours ? fmt(u) : 'missing').padStart(12)}  ${ratio}`);
	}
	return lines.join('\n');
}

async function main() {
	const o = args(process.argv.slice(2));
	const e = env(o.net);
	const log = (s) => process.stderr.write(`browser-bench: ${s}\n`);
	const results = { smallN: o.small, bigN: o.big, rounds: Number(o.rounds) };
	const kinds = o.clients.split(',').filter((kind) => {
		if (kind !== 'ours' || ourPackageBuilt()) return true;
		log(`ours: missing (${ourPackageDir()}/index.js: the package is not built)`);
		return false;
	});
	for (let round = 1; round <= results.rounds; round++) {
		for (const kind of kinds) {
			log(`--- ${kind}, round ${round} of ${results.rounds}`);
			(results[kind] ??= []).push(await runKind(kind, o, e, log));
		}
	}
	const missing = [results.sdk ? null : 'no SDK run', results.ours ? null : `ours missing (${ourPackageDir()} not built)`].filter(Boolean);
	process.stdout.write(`\nbrowser clients, headless Chromium, localnet with delays and cover off; ` +
		`each figure the median of ${results.rounds} rounds${missing.length ? `; ${missing.join('; ')}` : ''}\n`);
	process.stdout.write(table(results) + '\n');
	if (results.sdk && results.ours) process.stdout.write(roundRatios(results) + '\n');
	if (o.json) (await import('node:fs')).writeFileSync(o.json, JSON.stringify(results, null, 1));
	return 0;
}

main().then((rc) => process.exit(rc), (err) => {
	process.stderr.write(`browser-bench: ${err.stack || err.message}\n`);
	process.exit(1);
});
