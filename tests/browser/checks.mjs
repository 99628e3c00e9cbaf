// tests/browser/checks.mjs: what the browser tests share: check lines ("ok   what" / "FAIL what"),
// the SDK's payload encoding computed here on its own, deterministic payloads, options.
import { createHash } from 'node:crypto';

export class Checks {
	constructor(name) {
		this.name = name;
		this.pass = 0;
		this.fail = 0;
	}

	log(s) { process.stdout.write(`${this.name}: ${s}\n`); }

	check(what, cond, detail = '') {
		if (cond) { this.pass++; this.log(`ok   ${what}`); }
		else { this.fail++; this.log(`FAIL ${what}${detail ? `: ${detail}` : ''}`); }
		return !!cond;
	}

	eq(what, got, want) {
		const g = typeof got === 'string' ? got : JSON.stringify(got);
		const w = typeof want === 'string' ? want : JSON.stringify(want);
		return this.check(what, g === w, `got ${g?.slice?.(0, 300)}, want ${w?.slice?.(0, 300)}`);
	}

	bytes(what, got, want) {
		const same = Buffer.isBuffer(got) && Buffer.compare(got, want) === 0;
		let detail = '';
		if (!same) {
			if (!Buffer.isBuffer(got)) detail = `got ${typeof got}`;
			else {
				let i = 0;
				while (i < got.length && i < want.length && got[i] === want[i]) i++;
				detail = `${got.length} B vs ${want.length} B, first difference at ${i}: ` +
					`${got.subarray(i, i + 16).toString('hex')} vs ${want.subarray(i, i + 16).toString('hex')}`;
			}
		}
		return this.check(`${what} (${want.length} B, byte for byte)`, same, detail);
	}

	// a failure that makes the rest pointless
	die(what) {
		this.fail++;
		this.log(`FAIL ${what}`);
		throw new Error(what);
	}

	finish() {
		this.log(this.fail ? `${this.pass} checks passed, ${this.fail} FAILED` : `${this.pass} checks passed`);
		return this.fail ? 1 : 0;
	}
}

// The SDK's encoding (nym b4046a89 wasm/client/src/encoded_payload_helper.rs): u64 big-endian
// length of the JSON header, the header {"mimeType":..,"headers":..} (serde_json, these keys in
// this order, headers a string or null), the payload bytes. JSON.stringify writes the same as
// serde_json for the strings used here.
export function sdkEncode(mimeType, headers, payload) {
	const head = Buffer.from(JSON.stringify({ mimeType, headers: headers ?? null }), 'utf8');
	const len = Buffer.alloc(8);
	len.writeBigUInt64BE(BigInt(head.length));
	return Buffer.concat([len, head, Buffer.from(payload)]);
}

// payload(n, seed): the first n bytes of SHA-256("nymsuite-interop:SEED:0") || ...:1 || ...
// (the same content tests/interop and tests/integration/lib/nymapp.py use)
export function payload(n, seed = '0') {
	const parts = [];
	for (let k = 0; 32 * k < n; k++) parts.push(createHash('sha256').update(`nymsuite-interop:${seed}:${k}`).digest());
	return Buffer.concat(parts).subarray(0, n);
}

// UTF-8 text of n bytes (ASCII, with a line break now and then) for text mime types
export function textOf(n, seed = '0') {
	const p = payload(n, seed);
	let s = '';
	for (let i = 0; i < n; i++) s += i % 64 === 63 ? '\n' : String.fromCharCode(0x21 + (p[i] % 94));
	return s;
}

export const sha256 = (b) => createHash('sha256').update(b).digest('hex');
export const b64 = (b) => Buffer.from(b).toString('base64');

export function parseArgs(argv, known) {
	const o = {};
	for (let i = 0; i < argv.length; i++) {
		const k = argv[i].replace(/^--/, '');
		if (!known.includes(k)) throw new Error(`unknown option ${argv[i]} (known: ${known.join(', ')})`);
		o[k] = argv[++i];
	}
	return o;
}
