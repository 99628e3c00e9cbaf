// tests/browser/porttap.mjs: what crosses the MessagePorts between a page and its Workers
// (issue 11: the key Worker's memory never reaches the other contexts). Nothing is asked of the
// client: every message is recorded where it is sent.
// * the page: an init script (before any script of the page) wraps MessagePort.postMessage,
//   Worker.postMessage, MessageChannel and Worker, and records every byte array and string of
//   what the page sends, and of what it receives on the ports and Workers it keeps;
// * each Worker: WorkerTap, on a DevTools connection of its own, attaches to every dedicated
//   Worker the page starts while the Worker waits for the debugger, puts WORKER_RECORDER in
//   before the Worker's first instruction (MessagePort.postMessage and the Worker's own
//   postMessage), then lets it run. So key -> net and net -> key are recorded too.
// scanForKeys(needles) then runs in the page and in each Worker, over their records.
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

// every byte array and string inside a structured-clonable value (shared by both recorders:
// keep it self-contained, it is serialized into the page and the Workers)
function collect(v, out, depth = 0) {
	if (v === null || v === undefined || depth > 8) return;
	if (typeof v === 'string') { out.strings.push(v); return; }
	if (v instanceof ArrayBuffer) { out.bytes.push(new Uint8Array(v.slice(0))); return; }
	if (ArrayBuffer.isView(v)) { out.bytes.push(new Uint8Array(v.buffer.slice(v.byteOffset, v.byteOffset + v.byteLength))); return; }
	if (typeof MessagePort !== 'undefined' && v instanceof MessagePort) return;
	if (typeof v === 'object') for (const k of Object.keys(v)) { out.strings.push(k); collect(v[k], out, depth + 1); }
}

// Runs in the page, from pageRecorderScript (page.addInitScript): self-contained but for COLLECT.
function installPortRecorders() {
	const pageLog = [];
	globalThis.__harnessPageLog = pageLog;
	const collectIn = COLLECT;
	const note = (dir, via, data) => {
		const out = { dir, via, bytes: [], strings: [] };
		collectIn(data, out); // before the transfer detaches the buffers
		pageLog.push(out);
	};
	const portPost = MessagePort.prototype.postMessage;
	MessagePort.prototype.postMessage = function (data, ...rest) {
		note('out', 'port', data);
		return portPost.call(this, data, ...rest);
	};
	const workerPost = Worker.prototype.postMessage;
	Worker.prototype.postMessage = function (data, ...rest) {
		note('out', 'worker', data);
		return workerPost.call(this, data, ...rest);
	};
	const NativeChannel = MessageChannel;
	globalThis.MessageChannel = class extends NativeChannel {
		constructor() {
			super();
			// a listener added with addEventListener does not start a port; while the page keeps
			// the port it sees what arrives once the client starts it
			for (const p of [this.port1, this.port2]) p.addEventListener('message', (e) => note('in', 'port', e.data));
		}
	};
	const NativeWorker = Worker;
	globalThis.Worker = class extends NativeWorker {
		constructor(...a) {
			super(...a);
			this.addEventListener('message', (e) => note('in', 'worker', e.data));
			// a Worker script that fails to load or throws shows only here: into the test's log
			this.addEventListener('error', (e) => console.error(`[harness] Worker ${a[0]}: error ${e.message ?? ''} ${e.filename ?? ''}:${e.lineno ?? ''}`));
		}
	};
}

// playwright serializes an init-script function by its source: give it collect() by name
export const pageRecorderScript = `(${installPortRecorders.toString().replace('COLLECT', `(${collect.toString()})`)})()`;

// Runs first in every Worker (through the debugger): records every message the Worker sends.
const WORKER_RECORDER = `(() => {
	const collect = ${collect.toString()};
	const log = [];
	globalThis.__harnessWorkerLog = log;
	const note = (via, data) => { const out = { dir: 'out', via, bytes: [], strings: [] }; collect(data, out); log.push(out); };
	const portPost = MessagePort.prototype.postMessage;
	MessagePort.prototype.postMessage = function (data, ...rest) { note('port', data); return portPost.call(this, data, ...rest); };
	const selfPost = globalThis.postMessage;
	globalThis.postMessage = function (data, ...rest) { note('worker', data); return selfPost.call(globalThis, data, ...rest); };
	return 'recording';
})()`;

// The DevTools side of the Worker recorders: a connection of its own (--remote-debugging-port=0,
// the port from the profile's DevToolsActivePort), auto-attaching to pages and, under each page,
// to its dedicated Workers with waitForDebuggerOnStart.
export class WorkerTap {
	static async start(profileDir) {
		const file = join(profileDir, 'DevToolsActivePort');
		for (let i = 0; i < 100 && !existsSync(file); i++) await new Promise((r) => setTimeout(r, 100));
		if (!existsSync(file)) throw new Error('no DevToolsActivePort: chromium without --remote-debugging-port?');
		const [port, path] = readFileSync(file, 'utf8').trim().split('\n');
		const ws = new WebSocket(`ws://127.0.0.1:${port}${path}`);
		await new Promise((ok, fail) => { ws.onopen = ok; ws.onerror = () => fail(new Error('DevTools connection failed')); });
		const t = new WorkerTap(ws);
		await t.send('Target.setAutoAttach', { autoAttach: true, waitForDebuggerOnStart: false, flatten: true });
		return t;
	}

	constructor(ws) {
		this.ws = ws;
		this.id = 0;
		this.pending = new Map();
		this.workers = []; // {url, waiting, recorder}
		this.errors = [];
		ws.onmessage = (e) => this.#on(JSON.parse(e.data));
	}

	send(method, params = {}, sessionId = undefined) {
		return new Promise((ok, fail) => {
			const i = ++this.id;
			this.pending.set(i, (m) => (m.error ? fail(new Error(`${method}: ${m.error.message}`)) : ok(m.result)));
			this.ws.send(JSON.stringify({ id: i, method, params, sessionId }));
		});
	}

	async #on(m) {
		if (m.id && this.pending.has(m.id)) { this.pending.get(m.id)(m); this.pending.delete(m.id); return; }
		if (m.method !== 'Target.attachedToTarget') return;
		const { sessionId, targetInfo, waitingForDebugger } = m.params;
		try {
			if (targetInfo.type === 'page') {
				await this.send('Target.setAutoAttach', { autoAttach: true, waitForDebuggerOnStart: true, flatten: true }, sessionId);
				if (waitingForDebugger) await this.send('Runtime.runIfWaitingForDebugger', {}, sessionId);
			} else if (targetInfo.type === 'worker') {
				const r = await this.send('Runtime.evaluate', { expression: WORKER_RECORDER }, sessionId);
				this.workers.push({ url: targetInfo.url, waiting: !!waitingForDebugger, recorder: r.result?.value ?? null });
				if (waitingForDebugger) await this.send('Runtime.runIfWaitingForDebugger', {}, sessionId);
			}
		} catch (e) {
			this.errors.push(`${targetInfo.type} ${targetInfo.url}: ${e.message}`);
		}
	}

	close() { try { this.ws.close(); } catch { /* gone */ } }
}

// Runs in the page or a Worker: scans its record for each needle (hex), as bytes and as hex,
// base64 and base58 text; returns what it found and how much it looked at.
export function scanForKeys(keysHex) {
	const B58 = '123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz';
	const fromHex = (h) => Uint8Array.from(h.match(/../g).map((x) => parseInt(x, 16)));
	const b58 = (bytes) => {
		let n = 0n;
		for (const b of bytes) n = n * 256n + BigInt(b);
		let s = '';
		while (n > 0n) { s = B58[Number(n % 58n)] + s; n /= 58n; }
		for (const b of bytes) { if (b !== 0) break; s = '1' + s; }
		return s;
	};
	const b64 = (bytes) => btoa(String.fromCharCode(...bytes));
	const has = (hay, needle) => {
		outer: for (let i = 0; i + needle.length <= hay.length; i++) {
			if (hay[i] !== needle[0]) continue;
			for (let j = 1; j < needle.length; j++) if (hay[i + j] !== needle[j]) continue outer;
			return true;
		}
		return false;
	};
	const keys = keysHex.map((h, k) => ({ k, bytes: fromHex(h), texts: [h, h.toUpperCase(), b64(fromHex(h)), b58(fromHex(h))] }));
	const log = globalThis.__harnessPageLog ?? globalThis.__harnessWorkerLog ?? null;
	const found = [];
	let bytes = 0;
	const via = {};
	(log ?? []).forEach((r, i) => {
		via[`${r.dir} ${r.via}`] = (via[`${r.dir} ${r.via}`] ?? 0) + 1;
		for (const b of r.bytes) {
			bytes += b.length;
			for (const key of keys) if (has(b, key.bytes)) found.push({ i, dir: r.dir, via: r.via, key: key.k });
		}
		for (const s of r.strings) for (const key of keys) for (const t of key.texts)
			if (s.includes(t)) found.push({ i, dir: r.dir, via: r.via, key: key.k, as: 'text' });
	});
	return { recording: log !== null, records: log?.length ?? 0, bytes, via, found };
}
