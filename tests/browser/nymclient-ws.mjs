// tests/browser/nymclient-ws.mjs: an app on our native nym-client's websocket API (binary
// requests, Nym b4046a89's websocket-requests layout, as tests/integration/lib/nymapp.py speaks
// it), for node's WebSocket (node 20: run with --experimental-websocket).
//   const nc = await NymClientApp.connect('ws://127.0.0.1:PORT')
//   nc.address                          its own address (SelfAddress)
//   nc.send(recipient, bytes)           Send (plain)
//   nc.sendAnonymous(recipient, bytes, surbs)
//   nc.reply(senderTagBase58, bytes)
//   await nc.waitReceived(n, ms)        -> {ok, have}; nc.received: [{message: Buffer, senderTag}]
const B58 = '123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz';

export function b58encode(bytes) {
	let n = 0n;
	for (const b of bytes) n = n * 256n + BigInt(b);
	let s = '';
	while (n > 0n) { s = B58[Number(n % 58n)] + s; n /= 58n; }
	for (const b of bytes) { if (b !== 0) break; s = '1' + s; }
	return s;
}

export function b58decode(s, size) {
	let n = 0n;
	for (const c of s) {
		const v = B58.indexOf(c);
		if (v < 0) throw new Error(`not base58: ${s}`);
		n = n * 58n + BigInt(v);
	}
	const out = [];
	while (n > 0n) { out.unshift(Number(n & 255n)); n >>= 8n; }
	for (const c of s) { if (c !== '1') break; out.unshift(0); }
	if (out.length !== size) throw new Error(`base58 ${s} is ${out.length} bytes, want ${size}`);
	return Buffer.from(out);
}

export function addressBytes(text) {
	const [ids, gw] = text.split('@');
	const [id, enc] = ids.split('.');
	return Buffer.concat([b58decode(id, 32), b58decode(enc, 32), b58decode(gw, 32)]);
}

export function addressText(raw) {
	return `${b58encode(raw.subarray(0, 32))}.${b58encode(raw.subarray(32, 64))}@${b58encode(raw.subarray(64, 96))}`;
}

function u64(n) {
	const b = Buffer.alloc(8);
	b.writeBigUInt64BE(BigInt(n));
	return b;
}

export class NymClientApp {
	static async connect(url, { timeoutMs = 30000 } = {}) {
		if (typeof WebSocket !== 'function') throw new Error('no global WebSocket: run node with --experimental-websocket');
		const end = Date.now() + timeoutMs;
		for (;;) {
			try {
				const ws = await new Promise((ok, fail) => {
					const w = new WebSocket(url);
					w.binaryType = 'arraybuffer';
					w.onopen = () => ok(w);
					w.onerror = () => fail(new Error(`cannot connect to ${url}`));
				});
				const app = new NymClientApp(ws);
				await app.#selfAddress();
				return app;
			} catch (e) {
				if (Date.now() > end) throw e;
				await new Promise((r) => setTimeout(r, 200));
			}
		}
	}

	constructor(ws) {
		this.ws = ws;
		this.received = [];
		this.errors = [];
		this.address = null;
		this.waiters = new Set();
		this.selfWaiter = null;
		ws.onmessage = (e) => this.#frame(e.data);
		ws.onclose = () => { this.closed = true; this.#wake(); };
	}

	#wake() { for (const w of this.waiters) w(); }

	#frame(data) {
		if (typeof data === 'string') { this.errors.push(`text frame: ${data.slice(0, 200)}`); return; }
		const f = Buffer.from(data);
		if (f[0] === 2 && f.length === 97) { this.selfWaiter?.(f.subarray(1)); return; }
		if (f[0] === 1 && f.length >= 10) {
			let rest = f.subarray(2);
			let senderTag = null;
			if (f[1] === 1) { senderTag = b58encode(rest.subarray(0, 16)); rest = rest.subarray(16); }
			const n = Number(rest.readBigUInt64BE(0));
			const message = Buffer.from(rest.subarray(8));
			if (n !== message.length) this.errors.push(`received: length ${n}, got ${message.length}`);
			this.received.push({ message, senderTag, t: Date.now() });
			this.#wake();
			return;
		}
		if (f[0] === 0 && f.length >= 10) {
			const n = Number(f.readBigUInt64BE(2));
			this.errors.push(`server error ${f[1]}: ${f.subarray(10, 10 + n).toString('utf8')}`);
			return;
		}
		this.errors.push(`unknown response ${f.subarray(0, 40).toString('hex')}`);
	}

	async #selfAddress() {
		const got = new Promise((ok, fail) => {
			this.selfWaiter = ok;
			setTimeout(() => fail(new Error('no SelfAddress answer within 10 s')), 10000);
		});
		this.ws.send(Uint8Array.of(3));
		this.address = addressText(await got);
	}

	send(recipient, bytes) {
		this.ws.send(Buffer.concat([Buffer.of(0), addressBytes(recipient), u64(0), u64(bytes.length), bytes]));
	}

	sendAnonymous(recipient, bytes, surbs) {
		const s = Buffer.alloc(4);
		s.writeUInt32BE(surbs);
		this.ws.send(Buffer.concat([Buffer.of(1), s, addressBytes(recipient), u64(0), u64(bytes.length), bytes]));
	}

	reply(senderTag, bytes) {
		this.ws.send(Buffer.concat([Buffer.of(2), b58decode(senderTag, 16), u64(0), u64(bytes.length), bytes]));
	}

	async waitReceived(n, timeoutMs = 60000) {
		const end = Date.now() + timeoutMs;
		while (this.received.length < n && !this.closed && Date.now() < end) {
			await new Promise((ok) => {
				const w = () => { this.waiters.delete(w); ok(); };
				this.waiters.add(w);
				setTimeout(w, Math.min(250, Math.max(1, end - Date.now())));
			});
		}
		return { ok: this.received.length >= n, have: this.received.length };
	}

	close() { try { this.ws.close(); } catch { /* gone */ } }
}
