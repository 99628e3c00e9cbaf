// The npm package's page and key Worker, run unchanged in node: its index.js and
// key-worker.js in node worker threads with the Web Worker globals (lib/worker_boot.mjs),
// IndexedDB kept in a file (lib/fake_idb.mjs), and the net Worker's NetHost replaced by a
// stand-in of netd and the network (lib/fake_net.mjs: gateway handshake, frames, three mix
// hops, SURB-acks, all through the module's own calls). Two test-only substitutions in a copy
// of build/wasm/package: nymsuite.mjs is wrapped to be given the .wasm bytes (node's glue
// cannot fetch a file: URL), hosts.mjs is wrapped to export the stand-in NetHost. The rest is
// the shipped code: createNymMixnetClient, the three MessageChannels, the start flow, the
// sealed key store in IndexedDB, the SDK payload encoding, the events.
//  1. first start with a storagePassphrase: the gateway is chosen, keys made in the key
//     Worker, a registration; Connected with our address; the stored record is a
//     passphrase-sealed record (mode 1);
//  2. text to ourselves (StringMessageReceived, raw event first, a senderTag), 100 KB binary
//     with headers (BinaryMessageReceived, payload a plain Array as the SDK's), a reply through
//     the senderTag (no tag on it), rawSend (only the raw event), a string under a binary
//     mime type refused, stats() from the three contexts;
//  3. stop, a new client (new Workers: a reload): the same address, authentication instead of
//     registration, no gateway chosen again;
//  4. a third client with a wrong passphrase: no Connected, the error logged;
//  5. a client without a passphrase, every datagram crossing the page's two ports recorded
//     (both directions): after a registration and messages both ways, none contains the
//     identity seed, x25519 secret, ack key or gateway shared key, which the test reads from
//     the stored record (no passphrase: its key is public, 32 zero bytes); the same client
//     object stopped and started again connects with the same address.
//   node tests/wasm/package_node_test.mjs WASM_DIR     prints "N passed, N failed"
import { copyFileSync, existsSync, mkdtempSync, readFileSync, readdirSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { Worker as ThreadWorker } from 'node:worker_threads';

const wasmDir = process.argv[2];
if (!wasmDir) { console.error('usage: package_node_test.mjs WASM_DIR'); process.exit(2); }
const here = path.dirname(new URL(import.meta.url).pathname);
const src = path.join(wasmDir, 'package');
if (!existsSync(path.join(src, 'index.js'))) { console.log(`FAIL no package in ${src} (make wasm)`); process.exit(1); }

let passed = 0, failed = 0;
function check(name, ok, why = '') {
  if (ok) passed++;
  else { failed++; console.log(`FAIL ${name}${why ? ': ' + why : ''}`); }
}
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
async function until(pred, ms = 60000) {
  for (const end = Date.now() + ms; Date.now() < end; await sleep(20)) if (pred()) return true;
  return pred();
}

// ---- the package copy with its two test-only wrappers
const work = mkdtempSync(path.join(tmpdir(), 'nymsuite-pkgtest-'));
process.env.NYMSUITE_TEST_DIR = work;
const pkg = path.join(work, 'package');
rmSync(pkg, { recursive: true, force: true });
(await import('node:fs')).mkdirSync(pkg);
for (const f of readdirSync(src)) copyFileSync(path.join(src, f), path.join(pkg, f));
renameSync(path.join(pkg, 'nymsuite.mjs'), path.join(pkg, 'nymsuite.real.mjs'));
writeFileSync(path.join(pkg, 'nymsuite.mjs'), `import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import real from './nymsuite.real.mjs';
globalThis.require ??= createRequire(import.meta.url);
globalThis.__dirname ??= new URL('.', import.meta.url).pathname;
const wasmBinary = readFileSync(new URL('./nymsuite.wasm', import.meta.url));
export default (opts = {}) => real({ wasmBinary, ...opts });
`);
renameSync(path.join(pkg, 'hosts.mjs'), path.join(pkg, 'hosts.real.mjs'));
writeFileSync(path.join(pkg, 'hosts.mjs'), `export * from './hosts.real.mjs';\nexport { NetHost } from './fake_net.mjs';\n`);
copyFileSync(path.join(here, 'lib/fake_net.mjs'), path.join(pkg, 'fake_net.mjs'));

// ---- Web Workers as node worker threads
const boot = pathToFileURL(path.join(here, 'lib/worker_boot.mjs'));
const workers = [];
globalThis.Worker = class extends EventTarget {
  constructor(url, opts) {
    super();
    if (opts?.type !== 'module') throw new Error('the package must create module Workers');
    this.t = new ThreadWorker(boot, { workerData: { url: String(url) } });
    workers.push(this.t);
    this.t.on('message', (data) => { const ev = new MessageEvent('message', { data }); this.onmessage?.(ev); this.dispatchEvent(ev); });
    this.t.on('error', (e) => { const ev = new Event('error'); ev.message = String(e?.stack ?? e); console.log(`worker error: ${ev.message}`); this.dispatchEvent(ev); });
  }
  postMessage(m, transfer) { this.t.postMessage(m, transfer); }
  terminate() { return this.t.terminate(); }
};

// the page's console.error, for the refusals the SDK only logs
const errors = [];
const consoleError = console.error;
console.error = (...a) => { errors.push(a.map((x) => (x instanceof Error ? x.message : String(x))).join(' ')); };

// every datagram on the page's ends of its ports (the page keeps port1 of each channel)
const crossing = [];
const RealChannel = globalThis.MessageChannel;
globalThis.MessageChannel = class {
  constructor() {
    const c = new RealChannel();
    const p = c.port1, post = p.postMessage.bind(p);
    p.postMessage = (buf, transfer) => { crossing.push(new Uint8Array(buf).slice()); post(buf, transfer); };
    Object.defineProperty(p, 'onmessage', { set(f) { p.addEventListener('message', (ev) => { crossing.push(new Uint8Array(ev.data).slice()); f(ev); }); p.start?.(); } });
    this.port1 = p;
    this.port2 = c.port2;
  }
};

const { createNymMixnetClient, MimeTypes } = await import(pathToFileURL(path.join(pkg, 'index.js')));
const netEvents = () => (existsSync(path.join(work, 'net-events.json'))
  ? readFileSync(path.join(work, 'net-events.json'), 'utf8').trim().split('\n').map((l) => JSON.parse(l)) : []);
const storedRecord = (id) => {
  const all = JSON.parse(readFileSync(path.join(work, 'idb.json'), 'utf8'));
  const row = all['nymsuite-keys']?.clients?.[id];
  return row ? new Uint8Array(Buffer.from(row.record.$hex, 'hex')) : null;
};

async function client(opts) {
  const nym = await createNymMixnetClient();
  const seen = { connected: [], raw: [], text: [], binary: [], order: [] };
  nym.events.subscribeToConnected((e) => seen.connected.push(e));
  nym.events.subscribeToRawMessageReceivedEvent((e) => { seen.raw.push(e); seen.order.push('raw'); });
  nym.events.subscribeToTextMessageReceivedEvent((e) => { seen.text.push(e); seen.order.push('text'); });
  nym.events.subscribeToBinaryMessageReceivedEvent((e) => { seen.binary.push(e); seen.order.push('binary'); });
  const started = nym.client.start({ clientId: 'pkg-test', nymApiUrl: 'http://127.0.0.1:9/api', forceTls: false, ...opts });
  check('start resolves at once', (await Promise.race([started.then(() => 'resolved'), sleep(2000).then(() => 'pending')])) === 'resolved');
  return { nym, seen };
}

try {
  // ---- 1. first start
  const a = await client({ storagePassphrase: 'pass phrase' });
  check('1: Connected', await until(() => a.seen.connected.length === 1), errors.join(' | '));
  const addr = a.seen.connected[0]?.args.address;
  check('1: the address is a Nym address', /^[1-9A-HJ-NP-Za-km-z]+\.[1-9A-HJ-NP-Za-km-z]+@[1-9A-HJ-NP-Za-km-z]+$/.test(addr ?? ''), addr);
  check('1: selfAddress()', (await a.nym.client.selfAddress()) === addr);
  const ev1 = netEvents();
  check('1: a gateway was chosen', ev1.some((e) => e.event === 'chooseGateway'));
  check('1: registered with it', ev1.some((e) => e.event === 'registered') && !ev1.some((e) => e.event === 'authenticated'));
  const cfg = ev1.find((e) => e.event === 'config')?.config;
  check('1: netd config', cfg && cfg.registered === false && cfg.gatewayUrl === 'ws://127.0.0.1:9/stand-in' &&
    cfg.nymApiUrl === 'http://127.0.0.1:9/api' && cfg.forceTls === false && addr?.endsWith('@' + cfg.gatewayIdentity), JSON.stringify(cfg));
  check('1: the stored record is passphrase-sealed', await until(() => storedRecord('pkg-test')?.[5] === 1));
  check('1: the record holds no readable URL', !Buffer.from(storedRecord('pkg-test') ?? []).includes(Buffer.from('stand-in')));
  check('1: default text mime types', JSON.stringify(await a.nym.client.getTextMimeTypes()) === '["application/json","text/plain"]');

  // ---- 2. messages
  await a.nym.client.send({ payload: { message: 'hello mixnet', mimeType: MimeTypes.TextPlain }, recipient: addr });
  check('2: text received', await until(() => a.seen.text.length === 1), errors.join(' | '));
  const t = a.seen.text[0]?.args;
  check('2: text event as the SDK\'s', t && t.payload === 'hello mixnet' && t.mimeType === 'text/plain' && t.headers === undefined &&
    Array.isArray(t.payloadRaw) && t.payloadRaw.length === 12, JSON.stringify(t));
  check('2: raw event first, whole message', a.seen.order[0] === 'raw' && a.seen.raw[0]?.args.payload instanceof Uint8Array &&
    a.seen.raw[0].args.payload.length === 8 + 40 + 12);
  check('2: a sender tag on an anonymous message', typeof t?.senderTag === 'string' && t.senderTag.length > 10);

  const big = new Uint8Array(100 * 1024).map((_, i) => (i * 7 + 3) & 255);
  await a.nym.client.send({ payload: { message: big, mimeType: 'application/x-test', headers: 'h: 1' }, recipient: addr, replySurbs: 2 });
  check('2: 100 KB binary received', await until(() => a.seen.binary.length === 1, 120000), errors.join(' | '));
  const b = a.seen.binary[0]?.args;
  check('2: binary event as the SDK\'s', b && b.mimeType === 'application/x-test' && b.headers === 'h: 1' && Array.isArray(b.payload) &&
    b.payload.length === big.length && b.payload.every((x, i) => x === big[i]));

  await a.nym.client.reply({ senderTag: t?.senderTag, payload: { message: '{"re":1}', mimeType: MimeTypes.ApplicationJson } });
  check('2: reply received', await until(() => a.seen.text.length === 2), errors.join(' | '));
  check('2: the reply carries no sender tag', a.seen.text[1]?.args.payload === '{"re":1}' && a.seen.text[1]?.args.senderTag === undefined);

  const rawCount = a.seen.raw.length;
  await a.nym.client.rawSend({ payload: new Uint8Array([1, 2, 3]), recipient: addr });
  check('2: rawSend: raw event only', await until(() => a.seen.raw.length === rawCount + 1) &&
    a.seen.text.length === 2 && a.seen.binary.length === 1 && errors.some((e) => e.includes('Failed to parse binary message')));
  const before = errors.length;
  await a.nym.client.send({ payload: { message: 'a string', mimeType: 'image/png' }, recipient: addr });
  check('2: a string under a binary mime type is refused', errors.length === before + 1 && /string/i.test(errors[before] ?? ''));
  await a.nym.client.send({ payload: { message: 'x', mimeType: 'text/plain' }, recipient: 'not-an-address' });
  check('2: a bad recipient is logged, not thrown', errors.some((e) => e.includes('Failed to send message')));
  const st = await a.nym.client.stats();
  check('2: stats from the three contexts', st?.engine?.messages_sent >= 4 && st?.keyd?.built > 0 && st?.netd?.frames > 0, JSON.stringify(st));
  await a.nym.client.stop();
  check('2: stopped', (await a.nym.client.selfAddress()) === undefined);

  // ---- 3. a reload
  const chosenBefore = netEvents().filter((e) => e.event === 'chooseGateway').length;
  const c = await client({ storagePassphrase: 'pass phrase' });
  check('3: Connected again', await until(() => c.seen.connected.length === 1), errors.join(' | '));
  check('3: the same address', c.seen.connected[0]?.args.address === addr);
  const ev3 = netEvents();
  check('3: authenticated, not registered again', ev3.filter((e) => e.event === 'registered').length === 1 && ev3.some((e) => e.event === 'authenticated'));
  check('3: no gateway chosen again', ev3.filter((e) => e.event === 'chooseGateway').length === chosenBefore);
  check('3: netd told a key is stored', ev3.filter((e) => e.event === 'config').pop()?.config.registered === true);
  await c.nym.client.send({ payload: { message: 'after reload', mimeType: 'text/plain' }, recipient: addr });
  check('3: messages flow after the reload', await until(() => c.seen.text.length === 1 && c.seen.text[0].args.payload === 'after reload'), errors.join(' | '));
  await c.nym.client.stop();

  // ---- 4. a wrong passphrase
  const errs = errors.length;
  const d = await client({ storagePassphrase: 'wrong' });
  check('4: the failure is logged', await until(() => errors.slice(errs).some((e) => /Failed to start/.test(e) && /do not open/.test(e))), errors.slice(errs).join(' | '));
  await sleep(300);
  check('4: no Connected', d.seen.connected.length === 0);

  // ---- 5. no key crosses the page's ports
  const { default: createNymsuite } = await import(pathToFileURL(path.join(pkg, 'nymsuite.mjs')));
  const T = await createNymsuite();
  T._nsw_init();
  crossing.length = 0;
  const e = await client({ clientId: 'pkg-open' });
  check('5: Connected', await until(() => e.seen.connected.length === 1), errors.join(' | '));
  const addr5 = e.seen.connected[0]?.args.address;
  await e.nym.client.send({ payload: { message: 'x'.repeat(5000), mimeType: 'text/plain' }, recipient: addr5 });
  check('5: received', await until(() => e.seen.text.length === 1));
  await e.nym.client.reply({ senderTag: e.seen.text[0]?.args.senderTag, payload: { message: 'y', mimeType: 'text/plain' } });
  check('5: reply received', await until(() => e.seen.text.length === 2));
  await e.nym.client.stop();
  // the same client object started again (its Workers stay across a stop)
  const connectedBefore = e.seen.connected.length;
  await e.nym.client.start({ clientId: 'pkg-open', nymApiUrl: 'http://127.0.0.1:9/api' });
  check('5: started again after stop: Connected, same address', await until(() => e.seen.connected.length === connectedBefore + 1) &&
    e.seen.connected.at(-1).args.address === addr5, errors.slice(-3).join(' | '));
  await e.nym.client.send({ payload: { message: 'again', mimeType: 'text/plain' }, recipient: addr5 });
  check('5: messages flow after the restart', await until(() => e.seen.text.length === 3 && e.seen.text[2].args.payload === 'again'));
  await e.nym.client.stop();
  const rec = storedRecord('pkg-open');
  check('5: stored without a passphrase (mode 0)', rec?.[5] === 0);
  const aad = new Uint8Array([...rec.slice(0, 42), ...new TextEncoder().encode('pkg-open')]);
  const ct = rec.slice(42), nonce = rec.slice(30, 42), zero = new Uint8Array(32);
  const buf = (b) => { const p = T._nsw_alloc(b.length); T.HEAPU8.set(b, p); return p; };
  const [pc, pa, pk, pn, po] = [buf(ct), buf(aad), buf(zero), buf(nonce), T._nsw_alloc(ct.length)];
  const n = T._nsw_gcmsiv_open(po, pc, ct.length, pa, aad.length, pk, pn);
  const plain = T.HEAPU8.slice(po, po + Math.max(n, 0));
  check('5: the record opens with the public key', n === ct.length - 16);
  check('5: a gateway key is stored', plain[112] === 1);
  const secrets = [plain.slice(0, 32), plain.slice(32, 64), plain.slice(64, 80), plain.slice(113, 145)];
  const has = (d, k) => Buffer.from(d).includes(Buffer.from(k));
  check('5: datagrams crossed the page\'s ports', crossing.length > 20, String(crossing.length));
  check('5: none carries a key', crossing.every((d) => secrets.every((k) => !has(d, k))));
} catch (e) {
  check('no exception', false, String(e?.stack ?? e));
} finally {
  console.error = consoleError;
  await Promise.all(workers.map((w) => w.terminate()));
  rmSync(work, { recursive: true, force: true });
}
console.log(`${passed} passed, ${failed} failed`);
process.exit(failed ? 1 : 0);
