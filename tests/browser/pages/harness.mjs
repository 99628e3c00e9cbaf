// harness.mjs: the page side of the driver's RPC (tests/browser/driver.mjs calls these through
// page.evaluate). installHarness(makeAdapter) puts globalThis.nymHarness on the page:
//   load()                 createNymMixnetClient() (the SDK: its Worker loads and compiles) -> {loadMs}
//   start(opts)            client.start(opts), until Connected -> {address, startMs}
//   send(a) / rawSend(a) / reply(a)   a.message / a.payload given as {text} or {b64}; -> {t}
//   sendMany(a, n)         n sends of the same message, back to back -> {t0, t1}
//   received(from)         records of received events from index `from` on (no bytes)
//   waitReceived(count, timeoutMs, event)  until `count` records (of `event`, if given) exist
//   bytes(i, start, end)   base64 of record i's bytes (kept up to KEEP_BYTES, else sha256 only)
//   violations()           securitypolicyviolation events seen by the page
// Times are performance.timeOrigin + performance.now(): milliseconds since the epoch, sub-ms.
const KEEP_BYTES = 4 << 20;

const now = () => performance.timeOrigin + performance.now();

function b64decode(s) {
	const bin = atob(s);
	const out = new Uint8Array(bin.length);
	for (let i = 0; i < bin.length; i++) out[i] = bin.charCodeAt(i);
	return out;
}

function b64encode(bytes) {
	let s = '';
	for (let i = 0; i < bytes.length; i += 0x8000) s += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
	return btoa(s);
}

async function sha256hex(bytes) {
	const d = new Uint8Array(await crypto.subtle.digest('SHA-256', bytes));
	return Array.from(d, (b) => b.toString(16).padStart(2, '0')).join('');
}

function value(v) {
	if (v === undefined || v === null) return v;
	if (typeof v === 'object' && 'b64' in v) return b64decode(v.b64);
	if (typeof v === 'object' && 'text' in v) return v.text;
	throw new Error('a message is {text} or {b64}');
}

function within(promise, ms, what) {
	let timer;
	return Promise.race([promise, new Promise((ok, fail) => {
		timer = setTimeout(() => fail(new Error(`${what}: nothing within ${ms} ms`)), ms);
	})]).finally(() => clearTimeout(timer));
}

export function installHarness(adapterFactory) {
	const records = [];
	const violations = [];
	const waiters = new Set();
	let adapter = null;
	let hashing = Promise.resolve();

	document.addEventListener('securitypolicyviolation', (e) => {
		violations.push({ directive: e.violatedDirective, blocked: e.blockedURI, source: e.sourceFile,
			line: e.lineNumber, sample: e.sample });
	});

	function wake() { for (const w of waiters) w(); }

	function record(m) {
		const t = now();
		const bytes = m.payload ?? new Uint8Array(0);
		const r = { i: -1, event: m.event, t, len: bytes.length, mimeType: m.mimeType ?? null,
			headers: m.headers ?? null, senderTag: m.senderTag ?? null, sha256: null };
		if (m.event === 'text') r.text = m.text.length <= 4096 ? m.text : null;
		// hashes in arrival order, so a record is complete when it becomes visible
		hashing = hashing.then(async () => {
			r.sha256 = await sha256hex(bytes);
			if (bytes.length <= KEEP_BYTES) r.bytes = bytes;
			r.i = records.length;
			records.push(r);
			wake();
		});
	}

	function strip(r) {
		const { bytes, ...rest } = r;
		return { ...rest, kept: bytes !== undefined };
	}

	// recipient 'self' is the client's own address
	const to = async (a) => (a.recipient === 'self' ? { ...a, recipient: await need().selfAddress() } : a);

	const need = () => {
		if (!adapter) throw new Error('load() first');
		return adapter;
	};

	globalThis.nymHarness = {
		ready: true,
		// the SDK's createNymMixnetClient() never settles when its Worker fails to start
		async load(timeoutMs = 60000) {
			const t0 = now();
			adapter = await within(adapterFactory(), timeoutMs, 'createNymMixnetClient()');
			adapter.onMessage(record);
			return { loadMs: now() - t0, name: adapter.name, canReply: adapter.canReply };
		},
		// a failed start shows only in the client's own log (the SDK's worker console): give up
		// after timeoutMs
		async start(opts, timeoutMs = 90000) {
			const t0 = now();
			await within(need().start(opts), timeoutMs, 'Connected');
			const startMs = now() - t0;
			return { address: await adapter.selfAddress(), startMs };
		},
		selfAddress: () => need().selfAddress(),
		async send(a) {
			const args = { ...(await to(a)), message: value(a.message) };
			const t = now();
			await need().send(args);
			return { t };
		},
		async sendMany(a, n) {
			const args = { ...(await to(a)), message: value(a.message) };
			const t0 = now();
			for (let k = 0; k < n; k++) await need().send(args);
			return { t0, t1: now() };
		},
		async rawSend(a) {
			const args = { ...(await to(a)), payload: value(a.payload) };
			const t = now();
			await need().rawSend(args);
			return { t };
		},
		async reply(a) {
			const args = { ...a, message: value(a.message) };
			const t = now();
			await need().reply(args);
			return { t };
		},
		setTextMimeTypes: (l) => need().setTextMimeTypes(l),
		getTextMimeTypes: () => need().getTextMimeTypes(),
		stats: () => need().stats(),
		stop: () => need().stop(),
		received: (from = 0) => records.slice(from).map(strip),
		count: (event) => records.filter((r) => !event || r.event === event).length,
		async waitReceived(count, timeoutMs, event) {
			const have = () => records.filter((r) => !event || r.event === event).length;
			const end = now() + timeoutMs;
			while (have() < count && now() < end) {
				await new Promise((ok) => {
					const w = () => { waiters.delete(w); ok(); };
					waiters.add(w);
					setTimeout(w, Math.max(1, Math.min(250, end - now())));
				});
			}
			return { ok: have() >= count, have: have() };
		},
		bytes(i, start = 0, end = undefined) {
			const r = records[i];
			if (!r) throw new Error(`no record ${i}`);
			if (!r.bytes) throw new Error(`record ${i} kept no bytes (${r.len} B)`);
			return b64encode(r.bytes.subarray(start, end));
		},
		violations: () => violations.slice(),
		heap: () => (performance.memory ? { used: performance.memory.usedJSHeapSize,
			total: performance.memory.totalJSHeapSize } : null),
	};
	document.getElementById('log')?.append(`harness ready\n`);
}
