// tests/browser/sdk_native.mjs: the real @nymproject/sdk@1.4.1 in headless Chromium <-> our
// native nym-client (its websocket API), on a localnet with delays and cover off. Run by
// tests/integration/browser_sdk_native.sh (which starts the localnet and the nym-client):
//   node --experimental-websocket sdk_native.mjs --nym-api URL --gateway ID --gateway-ws WS_URL
//        --nc-ws ws://127.0.0.1:P
//        [--log FILE] [--client sdk|ours]
// --client ours runs the same checks with our package in the page (ours.mjs runs them too).
// Every message is sent, then awaited, then checked, one at a time: the mixnet may reorder.
import { openHarness, localnetStartOptions, tightCsp } from './driver.mjs';
import { NymClientApp } from './nymclient-ws.mjs';
import { Checks, b64, parseArgs, payload, sdkEncode, sha256, textOf } from './checks.mjs';
import { pageRecorderScript, scanForKeys } from './porttap.mjs';

// 32-byte windows of the 300-byte self-send: they must show up in what the page posts to its
// Workers (the positive control of porttap.mjs's recorders and scan). Several: a client that cuts
// the message into fragments may cut one window in two.
export const NEEDLES = () => [0, 64, 128, 192, 256].map((o) => payload(300, 'self-bin').subarray(o, o + 32).toString('hex'));

const WAIT_MS = 90000;

// Sends with the page's client, waits until the native app has one more message, returns it.
export async function toNative(c, nc, what, sendFn) {
	const n = nc.received.length;
	await sendFn();
	const w = await nc.waitReceived(n + 1, WAIT_MS);
	if (!c.check(`${what}: our nym-client received it`, w.ok, `have ${w.have}, want ${n + 1}`)) return null;
	return nc.received[n];
}

// Runs sendFn (the native app sends), waits for `count` more records in the page, returns them
// with their bytes.
export async function toPage(c, a, what, count, sendFn) {
	const before = (await a.received()).length;
	await sendFn();
	const w = await a.waitReceived(before + count, WAIT_MS);
	if (!c.check(`${what}: the page received ${count} event(s)`, w.ok, `have ${w.have - before}`)) return null;
	const recs = (await a.received(before)).slice(0, count);
	for (const r of recs) r.data = r.kept ? await a.bytes(r.i) : null;
	return recs;
}

export async function runSdkNative({ c, h, kind, nymApi, gateway, ncWs, initScript = null }) {
	const a = await h.client(kind, { name: kind, initScript });
	const loaded = await a.load();
	c.log(`${kind}: createNymMixnetClient() in ${loaded.loadMs.toFixed(0)} ms`);
	const clientId = `browser-${kind}-${process.pid}`;
	const started = await a.start(localnetStartOptions({ clientId, nymApi, gateway }));
	c.check(`${kind} started and Connected (${started.startMs.toFixed(0)} ms), address ${started.address}`,
		/^[1-9A-HJ-NP-Za-km-z]+\.[1-9A-HJ-NP-Za-km-z]+@[1-9A-HJ-NP-Za-km-z]+$/.test(started.address ?? ''));
	c.check(`${kind}'s gateway is the one asked for`, started.address?.endsWith(`@${gateway}`));
	const S = started.address;
	const nc = await NymClientApp.connect(ncWs);
	const N = nc.address;
	c.log(`native nym-client: ${N}`);

	// --- 1. self-send in the page: text, then bytes without a mime type
	{
		const text = 'hello self, ünïcödé ✓';
		const recs = await toPage(c, a, 'self-send text/plain', 2, () =>
			a.send({ recipient: S, message: { text }, mimeType: 'text/plain' }));
		if (recs) {
			c.eq('self-send: raw event first, then the text event', recs.map((r) => r.event), ['raw', 'text']);
			c.bytes('self-send: the raw event is the SDK encoding', recs[0].data, sdkEncode('text/plain', null, Buffer.from(text)));
			c.eq('self-send: text', recs[1].text, text);
			c.eq('self-send: mimeType', recs[1].mimeType, 'text/plain');
		}
		const bin = payload(300, 'self-bin');
		const recs2 = await toPage(c, a, 'self-send bytes, no mime type', 2, () =>
			a.send({ recipient: S, message: { b64: b64(bin) } }));
		if (recs2) {
			c.eq('self-send bytes: raw then binary', recs2.map((r) => r.event), ['raw', 'binary']);
			c.eq('self-send bytes: mimeType defaults to application/octet-stream', recs2[1].mimeType, 'application/octet-stream');
			c.bytes('self-send bytes: payload', recs2[1].data, bin);
		}
	}

	// --- 2. page -> native: each arrives with a sender tag (the SDK always sends with reply SURBs)
	let tag = null;
	{
		const text = 'to native: ünïcödé, "quoted" \\ and a tab\t.';
		const m = await toNative(c, nc, 'text/plain with headers', () =>
			a.send({ recipient: N, message: { text }, mimeType: 'text/plain', headers: 'x-test: 1' }));
		if (m) {
			c.bytes('text/plain with headers: u64 BE length ‖ JSON header ‖ UTF-8 text', m.message,
				sdkEncode('text/plain', 'x-test: 1', Buffer.from(text, 'utf8')));
			c.check(`text/plain: anonymous, sender tag ${m.senderTag}`, typeof m.senderTag === 'string' && m.senderTag.length > 0);
			tag = m.senderTag;
		}
		const bin = payload(300, 'to-native-300');
		const m2 = await toNative(c, nc, 'bytes without a mime type', () =>
			a.send({ recipient: N, message: { b64: b64(bin) } }));
		if (m2) c.bytes('bytes without a mime type: application/octet-stream header', m2.message,
			sdkEncode('application/octet-stream', null, bin));
		const big = payload(100 * 1024, 'to-native-100k');
		const m3 = await toNative(c, nc, '100 KB binary', () =>
			a.send({ recipient: N, message: { b64: b64(big) }, mimeType: 'application/x-nymsuite-test' }));
		if (m3) c.bytes('100 KB binary', m3.message, sdkEncode('application/x-nymsuite-test', null, big));
		const raw = payload(1000, 'to-native-raw');
		const m4 = await toNative(c, nc, 'rawSend', () => a.rawSend({ recipient: N, payload: { b64: b64(raw) } }));
		if (m4) {
			c.bytes('rawSend: the bytes alone, no header', m4.message, raw);
			c.check('rawSend: anonymous too', !!m4.senderTag);
		}
	}

	// --- 3. native replies through the SURBs of the page's anonymous message
	if (tag) {
		const text = 'a reply through your SURBs';
		const recs = await toPage(c, a, 'native reply (text) through SURBs', 2, () =>
			nc.reply(tag, sdkEncode('text/plain', null, Buffer.from(text))));
		if (recs) {
			c.eq('reply: raw then text', recs.map((r) => r.event), ['raw', 'text']);
			c.eq('reply: text', recs[1].text, text);
		}
		const bin = payload(5000, 'reply-bin');
		const recs2 = await toPage(c, a, 'native reply (5000 B binary) through SURBs', 2, () =>
			nc.reply(tag, sdkEncode('application/octet-stream', 'h', bin)));
		if (recs2) {
			c.eq('binary reply: raw then binary, headers kept', recs2.map((r) => [r.event, r.headers]),
				[['raw', null], ['binary', 'h']]);
			c.bytes('binary reply: payload', recs2[1].data, bin);
		}
	}

	// --- 4. native -> page, plain messages in the SDK's encoding, and bytes without it
	{
		const json = JSON.stringify({ hello: 'page', n: 42 });
		const recs = await toPage(c, a, 'native -> page application/json', 2, () =>
			nc.send(S, sdkEncode('application/json', null, Buffer.from(json))));
		if (recs) {
			c.eq('application/json: a text event (a default text mime type)', [recs[1].event, recs[1].mimeType], ['text', 'application/json']);
			c.eq('application/json: text', recs[1].text, json);
		}
		const bin = payload(1000, 'native-png');
		const recs2 = await toPage(c, a, 'native -> page image/png with headers', 2, () =>
			nc.send(S, sdkEncode('image/png', 'h=1', bin)));
		if (recs2) {
			c.eq('image/png: a binary event with its mime type and headers',
				[recs2[1].event, recs2[1].mimeType, recs2[1].headers], ['binary', 'image/png', 'h=1']);
			c.bytes('image/png: payload', recs2[1].data, bin);
		}
		const bigText = textOf(100 * 1024, 'native-100k');
		const recs3 = await toPage(c, a, 'native -> page 100 KB text/plain', 2, () =>
			nc.send(S, sdkEncode('text/plain', null, Buffer.from(bigText))));
		if (recs3) {
			c.eq('100 KB text: raw then text', recs3.map((r) => r.event), ['raw', 'text']);
			c.eq('100 KB text: SHA-256 of the text received', recs3[1].sha256, sha256(Buffer.from(bigText)));
			c.bytes('100 KB text: raw event', recs3[0].data, sdkEncode('text/plain', null, Buffer.from(bigText)));
		}
		// bytes without the header: only the raw event (the decode fails). A good message sent
		// after it was received must then add exactly one raw and one decoded event.
		const junk = Buffer.concat([Buffer.from('no header here'), payload(200, 'junk')]);
		const recs4 = await toPage(c, a, 'native -> page bytes without a header', 1, () => nc.send(S, junk));
		if (recs4) {
			c.eq('no header: a raw event', recs4[0].event, 'raw');
			c.bytes('no header: raw bytes', recs4[0].data, junk);
			const recs5 = await toPage(c, a, 'a good message after it', 2, () =>
				nc.send(S, sdkEncode('text/plain', null, Buffer.from('after'))));
			if (recs5) c.eq('no header: no decoded event came for it (the next message gives raw, text)',
				recs5.map((r) => [r.event, r.text ?? null]), [['raw', null], ['text', 'after']]);
		}
	}
	c.eq('our nym-client: no error frame', nc.errors, []);
	return { a, nc, S, N, clientId };
}

async function main() {
	const o = parseArgs(process.argv.slice(2), ['nym-api', 'gateway', 'gateway-ws', 'nc-ws', 'log', 'client']);
	const kind = o.client ?? 'sdk';
	const c = new Checks(`browser_${kind}_native`);
	for (const k of ['nym-api', 'gateway', 'gateway-ws', 'nc-ws']) if (!o[k]) { c.log(`FAIL --${k} missing`); return 2; }
	let h;
	try {
		h = await openHarness({ log: o.log ?? null, csp: tightCsp({ nymApi: o['nym-api'], gatewayWs: o['gateway-ws'] }) });
		const { a, nc } = await runSdkNative({ c, h, kind, nymApi: o['nym-api'], gateway: o.gateway,
			ncWs: o['nc-ws'], initScript: pageRecorderScript });
		nc.close();
		const scan = await a.page.evaluate(scanForKeys, NEEDLES());
		c.check(`the page's port recorder finds 32 bytes of a message the page sent (${scan.records} messages, ${scan.bytes} B recorded)`,
			scan.found.some((f) => f.dir === 'out'), JSON.stringify(scan).slice(0, 300));
	} catch (e) {
		c.check(`no error: ${e.message}`, false);
	} finally {
		if (h) {
			c.eq('no Content-Security-Policy violation (reports, events, console)', await h.violations(), []);
			c.eq('no uncaught error in a page', h.errors(), []);
			await h.close();
		}
	}
	return c.finish();
}

if (import.meta.url === `file://${process.argv[1]}`) process.exit(await main());
