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
// 3. what crossed the MessagePorts (porttap.mjs): no 32-byte secret of the client in any datagram
// 4. keys survive a page reload and a browser restart on the same profile: the same address
// Fails with "package not built" when build/wasm/package/index.js is missing.
import { mkdirSync } from 'node:fs';
import { openHarness, localnetStartOptions, ourPackageBuilt, ourPackageDir, tightCsp } from './driver.mjs';
import { Checks, b64, parseArgs, payload, sdkEncode, sha256, textOf } from './checks.mjs';
import { NEEDLES, runSdkNative, toNative, toPage } from './sdk_native.mjs';
import { askSecretIn, installPortRecorders, recordedItems, scanForKeys } from './porttap.mjs';

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

async function portCheck(c, ours) {
	// what the recorders saw, and the control: the plaintext of a message the page sent crosses to
	// the key Worker (these need nothing but the tap)
	const ctl = await ours.page.evaluate(scanForKeys, NEEDLES());
	c.log(`port tap: ${ctl.tapRecords} datagrams (${JSON.stringify(ctl.perPort)}); page recorder: ${ctl.pageRecords} messages, ${ctl.pageBytes} bytes`);
	for (const p of ['page-key', 'page-net', 'key-net'])
		c.check(`the package's tap (__nymsuitePortTap) reported datagrams on the ${p} port`,
			Object.keys(ctl.perPort).some((k) => k.startsWith(`${p} `)));
	c.check('the page recorder saw the page talk to its Workers', ctl.pageRecords > 0);
	c.check('control: 32 bytes of a sent message are found in what the page posted (page recorder)',
		ctl.found.some((f) => f.log === 'page' && f.dir === 'out'), JSON.stringify(ctl.found.slice(0, 5)));
	c.check('control: 32 bytes of a sent message are found on the page-key port (the package\'s tap)',
		ctl.found.some((f) => f.log === 'tap' && f.port === 'page-key'), JSON.stringify(ctl.found.slice(0, 5)));

	const keyWorker = ours.page.workers().find((w) => /key[-_]?worker/i.test(w.url()));
	if (!c.check('the key Worker is running', !!keyWorker, ours.page.workers().map((w) => w.url()).join(', '))) return;
	let keys;
	try {
		keys = await keyWorker.evaluate(() => {
			const ks = globalThis.__nymsuiteTestKeys?.();
			if (!ks) return null;
			const hex = (b) => Array.from(b, (x) => x.toString(16).padStart(2, '0')).join('');
			return ks.map((k) => (typeof k === 'string' ? k : hex(k instanceof Uint8Array ? k : new Uint8Array(k))));
		});
	} catch (e) {
		keys = null;
		c.log(`__nymsuiteTestKeys: ${e.message.split('\n')[0]}`);
	}
	if (!Array.isArray(keys)) {
		// the other hook: the key Worker says which recorded items hold one of its secrets
		const items = await ours.page.evaluate(recordedItems);
		let hits = null;
		try { hits = await keyWorker.evaluate(askSecretIn, items); } catch (e) { c.log(`__nymsuiteSecretIn: ${e.message.split('\n')[0]}`); }
		if (!c.check('the key Worker answers __nymsuiteTestKeys() or __nymsuiteSecretIn() (the test hooks of tests/README.md)', Array.isArray(hits))) return;
		c.log(`__nymsuiteSecretIn asked about ${items.length} recorded items`);
		const ctlItem = [{ where: 'control', b64: Buffer.from(NEEDLES()[0], 'hex').toString('base64') }];
		c.check('__nymsuiteSecretIn: a message\'s bytes are not taken for a secret', (await keyWorker.evaluate(askSecretIn, ctlItem)).length === 0);
		c.check('no secret of the key Worker in any datagram or message that crossed a port (the key Worker\'s own check)',
			hits.length === 0, hits.slice(0, 10).map((k) => items[k].where).join('; '));
		return;
	}
	c.check(`${keys.length} secrets of 32 bytes from the key Worker`, keys.length >= 3 && keys.every((k) => /^[0-9a-f]{64}$/.test(k)), JSON.stringify(keys.map((k) => k.length)));
	const res = await ours.page.evaluate(scanForKeys, keys);
	const where = [...new Set(res.found.map((f) => `${f.log} ${f.port ?? `${f.dir} ${f.via}`} ${f.from ?? ''} key ${f.key}${f.as ? ` as ${f.as}` : ''}`))];
	c.check('no secret of the key Worker in any datagram or message that crossed a port', res.found.length === 0,
		`${res.found.length} finds: ${where.join('; ')}`);
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
		h = await openHarness({ log: o.log ?? null, profileDir: `${o.profile}/main`,
			csp: tightCsp({ nymApi: o['nym-api'], gatewayWs: o['gateway-ws'] }) });
		const { a, nc, S } = await runSdkNative({ c, h, kind: 'ours', nymApi: o['nym-api'], gateway: o.gateway,
			ncWs: o['nc-ws'], initScript: installPortRecorders });
		try { await a.call('stats'); c.check('client.stats() answers', true); } catch (e) { c.check('client.stats() answers', false, e.message); }
		await nativeAnonymousAndReply(c, a, nc, S);
		nc.close();
		await oursAndSdk(c, h, o, a, S);
		await portCheck(c, a);
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
