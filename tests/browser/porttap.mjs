// tests/browser/porttap.mjs: what crosses the MessagePorts between our package's page and its
// Workers (issue 11: the key Worker's memory never reaches the other contexts).
//
// Two recorders, installed in the page before any of its scripts runs (an init script):
// 1. the package's own tap: globalThis.__nymsuitePortTap(record) is defined here; when the package
//    sees it at createNymMixnetClient() it calls it for every IPC datagram on the three ports, the
//    key-net one included (the Workers forward copies to the page), with
//    record = {port: 'page-key'|'page-net'|'key-net', from: 'page'|'key'|'net', data: Uint8Array}
//    (tests/README.md states the contract).
// 2. an independent one that needs nothing from the package: every postMessage the page makes on a
//    MessagePort or a Worker, and every message the page receives on one (MessageChannel and
//    Worker are wrapped), with all bytes and strings found in the message.
// The test then asks the key Worker, in its own scope (reachable only by the debugger:
// playwright's worker.evaluate), either which recorded items hold a secret
// (globalThis.__nymsuiteSecretIn(x): the keys never leave the Worker) or for the secrets
// (globalThis.__nymsuiteTestKeys()) and scans both records in the page for each 32-byte key, as
// bytes and as hex, base64 and base58 text.

// Runs in the page (page.addInitScript): keep it self-contained.
export function installPortRecorders() {
	const tapLog = [];
	const pageLog = [];
	globalThis.__harnessTapLog = tapLog;
	globalThis.__harnessPageLog = pageLog;
	globalThis.__nymsuitePortTap = (r) => {
		const d = r?.data;
		const bytes = d instanceof Uint8Array ? d.slice() : d instanceof ArrayBuffer ? new Uint8Array(d.slice(0)) : null;
		tapLog.push({ port: String(r?.port), from: String(r?.from), bytes });
	};
	// every byte array and string inside a structured-clonable value
	const collect = (v, out, depth = 0) => {
		if (v === null || v === undefined || depth > 8) return;
		if (typeof v === 'string') { out.strings.push(v); return; }
		if (v instanceof ArrayBuffer) { out.bytes.push(new Uint8Array(v.slice(0))); return; }
		if (ArrayBuffer.isView(v)) { out.bytes.push(new Uint8Array(v.buffer.slice(v.byteOffset, v.byteOffset + v.byteLength))); return; }
		if (v instanceof MessagePort) return;
		if (typeof v === 'object') for (const k of Object.keys(v)) { out.strings.push(k); collect(v[k], out, depth + 1); }
	};
	const note = (dir, via, data) => {
		const out = { dir, via, bytes: [], strings: [] };
		// before the transfer detaches the buffers
		collect(data, out);
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
			// the port it sees what arrives once the package starts it
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

// Runs in the page: scans both logs for each key (hex strings given), returns what it found.
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
	const found = [];
	const tap = globalThis.__harnessTapLog ?? [];
	const page = globalThis.__harnessPageLog ?? [];
	const perPort = {};
	tap.forEach((r, i) => {
		perPort[`${r.port} from ${r.from}`] = (perPort[`${r.port} from ${r.from}`] ?? 0) + 1;
		if (!r.bytes) { found.push({ log: 'tap', i, what: 'a record without bytes' }); return; }
		for (const key of keys) if (has(r.bytes, key.bytes)) found.push({ log: 'tap', i, port: r.port, from: r.from, key: key.k });
	});
	let pageBytes = 0;
	page.forEach((r, i) => {
		for (const b of r.bytes) {
			pageBytes += b.length;
			for (const key of keys) if (has(b, key.bytes)) found.push({ log: 'page', i, dir: r.dir, via: r.via, key: key.k });
		}
		for (const s of r.strings) for (const key of keys) for (const t of key.texts)
			if (s.includes(t)) found.push({ log: 'page', i, dir: r.dir, via: r.via, key: key.k, as: 'text' });
	});
	return { found, tapRecords: tap.length, perPort, pageRecords: page.length, pageBytes };
}

// Runs in the page: everything both logs hold, as {where, b64} (bytes) or {where, text}, for a
// key Worker that answers __nymsuiteSecretIn(x) instead of handing out its keys.
export function recordedItems() {
	const b64 = (bytes) => {
		let s = '';
		for (let i = 0; i < bytes.length; i += 0x8000) s += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
		return btoa(s);
	};
	const items = [];
	(globalThis.__harnessTapLog ?? []).forEach((r, i) => {
		if (r.bytes) items.push({ where: `tap ${r.port} from ${r.from} #${i}`, b64: b64(r.bytes) });
	});
	(globalThis.__harnessPageLog ?? []).forEach((r, i) => {
		for (const b of r.bytes) items.push({ where: `page ${r.dir} ${r.via} #${i}`, b64: b64(b) });
		for (const t of r.strings) items.push({ where: `page ${r.dir} ${r.via} #${i} text`, text: t });
	});
	return items;
}

// Runs in the key Worker (through the debugger): which items hold a secret, by the package's own
// check. Returns the indexes, or null when the Worker has no such hook.
export function askSecretIn(items) {
	const check = globalThis.__nymsuiteSecretIn;
	if (typeof check !== 'function') return null;
	const out = [];
	items.forEach((it, k) => {
		let x = it.text;
		if (it.b64 !== undefined) {
			const bin = atob(it.b64);
			x = new Uint8Array(bin.length);
			for (let i = 0; i < bin.length; i++) x[i] = bin.charCodeAt(i);
		}
		if (check(x)) out.push(k);
	});
	return out;
}
