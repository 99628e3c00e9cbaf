// tests/browser/ours.mjs: our package (@nymsuite/sdk, build/wasm/package) in headless Chromium,
// run by tests/integration/browser_ours.sh on a localnet with delays and cover off:
//   node --experimental-websocket ours.mjs --nym-api URL --gateway ID --gateway-ws WS_URL
//        --nc-ws ws://127.0.0.1:P --profile DIR [--log FILE]
// 1. everything browser_sdk_native checks, with ours in the page instead of the SDK (self-send,
//    <-> our native nym-client both ways, 100 KB, the SDK encoding byte for byte, replies from
//    the native client through ours' SURBs); then the native client sends anonymously and ours
//    answers with client.reply({senderTag, payload})
// 2. ours <-> the real @nymproject/sdk@1.4.1 in the same browser, both directions, text and
//    binary, 100 KB; the SDK's (anonymous) message reaches ours with a sender tag, ours replies
// 3. what crossed the MessagePorts (porttap.mjs: recorded in the page and in each Worker): no
//    secret of the client (read from its no-passphrase record) in anything sent
// 4. keys survive a page reload and a browser restart on the same profile: the same address
// Fails with "package not built" when build/wasm/package/index.js is missing.
import { mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { createRequire } from 'node:module';
import { pathToFileURL } from 'node:url';
import { openHarness, localnetStartOptions, ourPackageBuilt, ourPackageDir, tightCsp } from './driver.mjs';
import { Checks, b64, parseArgs, payload, sdkEncode, sha256, textOf } from './checks.mjs';
import { NEEDLES, runSdkNative, toNative, toPage } from './sdk_native.mjs';
import { pageRecorderScript, scanForKeys } from './porttap.mjs';

const WAIT_MS = 90000;

async function nativeAnonymousAndReply(c, a, nc, S) {
	const q = payload(700, 'native-anon');
	const recs = await toPage(c, a, 'native sendAnonymous (10 SURBs) -> ours', 1, () =>
		nc.sendAnonymous(S, q, 10));
	// bytes without the SDK header: a raw event only
	if (!recs) return;
	c.bytes('native anonymous: raw bytes', recs[0].data, q);
	const tag = recs[0].senderTag;
	if (!c.check(`ours sees the sender tag ${tag}`, typeof tag === 'string' && tag.length > 0)) return;
	const text = 'ours replies through your SURBs';
	const m = await toNative(c, nc, 'ours client.reply({senderTag}) -> native', () =>
		a.reply({ senderTag: tag, message: { text }, mimeType: 'text/plain' }));
	if (m) {
		c.bytes('the reply, in the SDK encoding', m.message, sdkEncode('text/plain', null, Buffer.from(text)));
		c.check('a reply carries no sender tag', m.senderTag === null);
	}
}

async function oursAndSdk(c, h, o, ours, S) {
	const s = await h.client('sdk', { name: 'sdk' });
	await s.load();
	const st = await s.start(localnetStartOptions({ clientId: `browser-sdk-peer-${process.pid}`,
		nymApi: o['nym-api'], gateway: o.gateway }));
	const P = st.address;
	c.log(`the real SDK in the same browser: ${P}`);

	// ours -> SDK
	const text = 'from ours to the SDK: ünïcödé';
	let r = await toPage(c, s, 'ours -> SDK text/plain', 2, () => ours.send({ recipient: P, message: { text }, mimeType: 'text/plain' }));
	if (r) {
		c.bytes('ours -> SDK: the raw event is the SDK encoding', r[0].data, sdkEncode('text/plain', null, Buffer.from(text)));
		c.eq('ours -> SDK: text event', [r[1].event, r[1].text], ['text', text]);
	}
	const png = payload(1000, 'ours-png');
	r = await toPage(c, s, 'ours -> SDK image/png with headers', 2, () =>
		ours.send({ recipient: P, message: { b64: b64(png) }, mimeType: 'image/png', headers: 'k=v' }));
	if (r) {
		c.eq('ours -> SDK image/png: binary event, mime type, headers', [r[1].event, r[1].mimeType, r[1].headers], ['binary', 'image/png', 'k=v']);
		c.bytes('ours -> SDK image/png: payload', r[1].data, png);
	}
	const big = payload(100 * 1024, 'ours-sdk-100k');
	r = await toPage(c, s, 'ours -> SDK 100 KB binary', 2, () =>
		ours.send({ recipient: P, message: { b64: b64(big) } }));
	if (r) c.bytes('ours -> SDK 100 KB', r[1].data, big);

	// SDK -> ours (anonymous: ours sees a sender tag), then ours replies
	const t2 = 'from the SDK to ours';
	r = await toPage(c, ours, 'SDK -> ours text/plain', 2, () => s.send({ recipient: S, message: { text: t2 }, mimeType: 'text/plain' }));
	let tag = null;
	if (r) {
		c.eq('SDK -> ours: raw then text', r.map((x) => [x.event, x.text ?? null]), [['raw', null], ['text', t2]]);
		c.bytes('SDK -> ours: raw event', r[0].data, sdkEncode('text/plain', null, Buffer.from(t2)));
		tag = r[1].senderTag ?? r[0].senderTag;
		c.check(`SDK -> ours: a sender tag (${tag})`, typeof tag === 'string' && tag.length > 0);
	}
	const big2 = textOf(100 * 1024, 'sdk-ours-100k');
	r = await toPage(c, ours, 'SDK -> ours 100 KB text', 2, () =>
		s.send({ recipient: S, message: { text: big2 }, mimeType: 'application/json' }));
	if (r) {
		c.eq('SDK -> ours 100 KB: text event, application/json', [r[1].event, r[1].mimeType], ['text', 'application/json']);
		c.eq('SDK -> ours 100 KB: SHA-256', r[1].sha256, sha256(Buffer.from(big2)));
	}
	if (tag) {
		const t3 = 'ours answers the SDK anonymously';
		r = await toPage(c, s, 'ours client.reply -> SDK', 2, () =>
			ours.reply({ senderTag: tag, message: { text: t3 }, mimeType: 'text/plain' }));
		if (r) c.eq('the SDK receives the reply as text', [r[1].event, r[1].text], ['text', t3]);
	}
	await s.page.close();
}

// The client's secrets, from its stored record: without a storagePassphrase the package seals it
// under 32 zero bytes (an integrity check only), so the test opens it with the package's own
// AES-256-GCM-SIV (node has none) and the layout of wasm/c/nsw_keystore.h: "NSKS" | version |
// mode | ops | mem | salt | nonce (42 bytes, with the clientId the associated data) || sealed
// (keyd's 153 bytes: identity seed 0-31, x25519 secret 32-63, ack key 64-79, gateway identity
// 80-111, flags 112, gateway shared key 113-144, timestamp) | url length | url || tag.
async function secretsOf(c, page, clientId) {
	const recHex = await page.evaluate((id) => new Promise((ok) => {
		const req = indexedDB.open('nymsuite-keys');
		req.onerror = () => ok(null);
		req.onsuccess = () => {
			try {
				const get = req.result.transaction('clients', 'readonly').objectStore('clients').get(id);
				get.onsuccess = () => {
					const r = get.result?.record;
					ok(r ? Array.from(new Uint8Array(r.buffer ?? r), (b) => b.toString(16).padStart(2, '0')).join('') : null);
				};
				get.onerror = () => ok(null);
			} catch { ok(null); }
		};
	}), clientId);
	if (!c.check(`the client's record is in IndexedDB (nymsuite-keys/clients/${clientId})`, !!recHex)) return null;
	const rec = Buffer.from(recHex, 'hex');
	if (!c.check('the record is a no-passphrase one (NSKS, mode 0)', rec.subarray(0, 4).toString() === 'NSKS' && rec[5] === 0,
		rec.subarray(0, 6).toString('hex'))) return null;
	const pkg = ourPackageDir();
	// emscripten's ES-module glue under node wants CommonJS's require and __dirname
	globalThis.require ??= createRequire(import.meta.url);
	globalThis.__dirname ??= pkg;
	const { default: createNymsuite } = await import(pathToFileURL(join(pkg, 'nymsuite.mjs')).href);
	const M = await createNymsuite({ wasmBinary: readFileSync(join(pkg, 'nymsuite.wasm')) });
	M._nsw_init();
	const aad = Buffer.concat([rec.subarray(0, 42), Buffer.from(clientId)]);
	const ct = rec.subarray(42);
	const put = (b) => { const p = M._nsw_alloc(Math.max(b.length, 1)); M.HEAPU8.set(b, p); return p; };
	const out = M._nsw_alloc(ct.length);
	const n = M._nsw_gcmsiv_open(out, put(ct), ct.length, put(aad), aad.length, put(Buffer.alloc(32)), put(rec.subarray(30, 42)));
	if (!c.check('the record opens (the zero key, the clientId as associated data)', n === ct.length - 16, `open gave ${n}`)) return null;
	const plain = Buffer.from(M.HEAPU8.slice(out, out + n));
	const secrets = [plain.subarray(0, 32), plain.subarray(32, 64), plain.subarray(64, 80)];
	if (c.check('a gateway shared key is stored', plain[112] === 1)) secrets.push(plain.subarray(113, 145));
	return secrets.map((k) => k.toString('hex'));
}

async function portCheck(c, h, ours, clientId) {
	// the page's record: traffic, and the control (a sent message's bytes cross to a Worker)
	const ctl = await ours.page.evaluate(scanForKeys, NEEDLES());
	c.log(`page recorder: ${ctl.records} messages, ${ctl.bytes} bytes (${JSON.stringify(ctl.via)})`);
	c.check('control: 32 bytes of a sent message are found in what the page posted', ctl.found.some((f) => f.dir === 'out'),
		JSON.stringify(ctl.found.slice(0, 5)));
	// the Workers' records: in place before each Worker's first instruction
	const tap = h.workerTap;
	c.eq('the Worker recorders: no DevTools error', tap.errors, []);
	const workers = ours.page.workers();
	const keyW = workers.find((w) => /key[-_]?worker/i.test(w.url()));
	const netW = workers.find((w) => /net[-_]?worker/i.test(w.url()));
	if (!c.check('the key Worker and the net Worker are running', keyW && netW, workers.map((w) => w.url()).join(', '))) return;
	for (const [name, w] of [['key', keyW], ['net', netW]]) {
		const t = tap.workers.find((x) => x.url === w.url());
		c.check(`the ${name} Worker's recorder went in while it waited for the debugger`, t?.waiting && t?.recorder === 'recording', JSON.stringify(t));
	}
	const keyRec = await keyW.evaluate(scanForKeys, []);
	const netRec = await netW.evaluate(scanForKeys, []);
	c.log(`key Worker sent ${keyRec.records} messages (${JSON.stringify(keyRec.via)}), net Worker ${netRec.records} (${JSON.stringify(netRec.via)})`);
	c.check('the key Worker sent on its ports (to the page and the net Worker)', (keyRec.via['out port'] ?? 0) > 0);
	c.check('the net Worker sent on its ports', (netRec.via['out port'] ?? 0) > 0);
	// the Workers' control: the key Worker opens what arrives, so the self-sent message's bytes
	// go back to the page from it in clear
	const keyCtl = await keyW.evaluate(scanForKeys, NEEDLES());
	c.check('control: 32 bytes of the self-sent message are found in what the key Worker sent', keyCtl.found.length > 0);

	const keys = await secretsOf(c, ours.page, clientId);
	if (!keys) return;
	for (const [where, fn] of [['the page', () => ours.page.evaluate(scanForKeys, keys)], ['the key Worker', () => keyW.evaluate(scanForKeys, keys)],
		['the net Worker', () => netW.evaluate(scanForKeys, keys)]]) {
		const r = await fn();
		const at = [...new Set(r.found.map((f) => `${f.dir} ${f.via} key ${f.key}${f.as ? ' as text' : ''}`))];
		c.check(`no secret of the client (${keys.length}: identity seed, x25519, ack key, gateway key) in anything ${where} ${where === 'the page' ? 'sent or received' : 'sent'} (${r.records} messages, ${r.bytes} B)`,
			r.recording && r.found.length === 0, r.recording ? `${r.found.length} finds: ${at.join('; ')}` : 'no record');
	}
}

async function persistence(c, o, profile, log) {
	const opts = localnetStartOptions({ clientId: 'browser-ours-persist', nymApi: o['nym-api'], gateway: o.gateway });
	const csp = tightCsp({ nymApi: o['nym-api'], gatewayWs: o['gateway-ws'] });
	let h = await openHarness({ log, profileDir: profile, csp });
	// the restart serves the page from the same origin (the port is part of it, and of IndexedDB's key)
	const port = h.server.port;
	let first;
	try {
		const a = await h.client('ours', { name: 'persist' });
		await a.load();
		first = (await a.start(opts)).address;
		await a.reload();
		await a.load();
		const again = (await a.start(opts)).address;
		c.eq('after a page reload: the same address', again, first);
		const r = await toPage(c, a, 'after the reload: self-send', 2, () =>
			a.send({ recipient: 'self', message: { text: 'still me' }, mimeType: 'text/plain' }));
		if (r) c.eq('after the reload: self-send text', r[1].text, 'still me');
		c.eq('no CSP violation (reload)', await h.violations(), []);
	} finally {
		await h.close();
	}
	h = await openHarness({ log, profileDir: profile, csp, port });
	try {
		const a = await h.client('ours', { name: 'persist2' });
		await a.load();
		c.eq('after a browser restart on the same profile: the same address', (await a.start(opts)).address, first);
		c.eq('no CSP violation (restart)', await h.violations(), []);
	} finally {
		await h.close();
	}
}

// A burst as the benchmark sends it: 100 x 1 KiB to itself, back to back (with the default 10
// reply SURBs, 4 fragments each). Every message arrives, and every fragment goes out once or
// close to it: the acks come back within milliseconds on the localnet, so an ack timer that
// fires here ran while its ack waited in one of our own queues (the key Worker's inbox behind
// the burst's packet building: 249 of 400 fragments were sent again before that was fixed).
async function burstCheck(c, a) {
	const n = 100;
	const s0 = (await a.call('stats')).netd;
	const before = await a.call('count', 'raw');
	await a.call('sendMany', { recipient: 'self', message: { b64: b64(payload(1024, 'burst')) },
		mimeType: 'application/octet-stream' }, n);
	const w = await a.waitReceived(before + n, 300000, 'raw');
	if (!c.check(`a burst of ${n} x 1 KiB to itself: all arrived`, w.ok, `${w.have - before} of ${n}`)) return;
	let s1;
	for (let k = 0; k < 100; k++) {
		s1 = (await a.call('stats')).netd;
		if (s1.pending_acks === 0 && s1.queued === 0) break;
		await new Promise((r) => setTimeout(r, 100));
	}
	const acks = s1.acks - s0.acks, retx = s1.retransmissions - s0.retransmissions;
	c.check(`the burst: ${acks} fragments acked, ${retx} sent again (fewer than a quarter)`,
		acks >= n && retx * 4 < acks, JSON.stringify({ before: s0, after: s1 }));
	// The key Worker's queue of the page's datagrams is bounded (KEY_QUEUE): the burst (one
	// datagram of ~10 KB per send, 100 of them in one task) is more than the bound, so the page
	// kept some back, and yet everything arrived (above) and the queue never held more than the
	// bound (one datagram is let through alone when nothing is outstanding).
	const kq = (await a.call('stats')).keyQueue;
	c.check(`the burst was more than the key queue's bound: the page kept ${kq?.held} datagrams back (at most ${kq?.heldPeakDatagrams} at once)`,
		kq && kq.held > 0 && kq.heldPeakBytes > 0, JSON.stringify(kq));
	c.check(`the key Worker's queue stayed within its bound: at most ${kq?.peakDatagrams} datagrams, ${kq?.peakBytes} bytes`,
		kq && kq.peakDatagrams >= 1 && kq.peakDatagrams <= kq.limitDatagrams &&
		(kq.peakBytes <= kq.limitBytes || kq.peakDatagrams === 1) && kq.overBound === 0, JSON.stringify(kq));
}

async function main() {
	const o = parseArgs(process.argv.slice(2), ['nym-api', 'gateway', 'gateway-ws', 'nc-ws', 'log', 'profile']);
	const c = new Checks('browser_ours');
	for (const k of ['nym-api', 'gateway', 'gateway-ws', 'nc-ws', 'profile']) if (!o[k]) { c.log(`FAIL --${k} missing`); return 2; }
	if (!ourPackageBuilt()) {
		c.check(`package not built: ${ourPackageDir()}/index.js missing (make wasm builds it)`, false);
		return c.finish();
	}
	mkdirSync(o.profile, { recursive: true });
	let h;
	try {
		h = await openHarness({ log: o.log ?? null, profileDir: `${o.profile}/main`, workerTap: true,
			csp: tightCsp({ nymApi: o['nym-api'], gatewayWs: o['gateway-ws'] }) });
		const { a, nc, S, clientId } = await runSdkNative({ c, h, kind: 'ours', nymApi: o['nym-api'], gateway: o.gateway,
			ncWs: o['nc-ws'], initScript: pageRecorderScript });
		try { await a.call('stats'); c.check('client.stats() answers', true); } catch (e) { c.check('client.stats() answers', false, e.message); }
		await burstCheck(c, a);
		await nativeAnonymousAndReply(c, a, nc, S);
		nc.close();
		await oursAndSdk(c, h, o, a, S);
		await portCheck(c, h, a, clientId);
	} catch (e) {
		c.check(`no error: ${e.message}`, false);
	} finally {
		if (h) {
			c.eq('no Content-Security-Policy violation (reports, events, console)', await h.violations(), []);
			c.eq('no uncaught error in a page', h.errors(), []);
			await h.close();
		}
	}
	try {
		await persistence(c, o, `${o.profile}/persist`, o.log ?? null);
	} catch (e) {
		c.check(`no error (persistence): ${e.message}`, false);
	}
	return c.finish();
}

if (import.meta.url === `file://${process.argv[1]}`) process.exit(await main());
