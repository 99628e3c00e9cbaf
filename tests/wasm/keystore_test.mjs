// The key Worker's sealed key store in wasm (wasm/c/nsw_keystore.c through
// wasm/package/keystore.js) and keyd started from it (KeydHost {store}):
//  - a new client's keys sealed under a passphrase (Argon2id in wasm, timed) open again to the
//    same address, gateway and URL; a wrong, missing or empty passphrase, another clientId, a
//    flipped byte and a truncation are refused with their error; the no-passphrase mode too;
//  - keyd from a fresh store tells the engine our address (SELF_ADDRESS = the store's) and
//    starts a registration when netd asks (GW_HANDSHAKE_OUT to netd);
//  - keyd from a record with a gateway key (sealed here by the documented format) answers an
//    authentication and hands JS the record sealed again with the new timestamp; no datagram
//    or record carries a key in clear.
//   node tests/wasm/keystore_test.mjs WASM_DIR     prints "N passed, N failed"
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { pathToFileURL } from 'node:url';

const wasmDir = process.argv[2];
if (!wasmDir) { console.error('usage: keystore_test.mjs WASM_DIR'); process.exit(2); }
globalThis.require = createRequire(import.meta.url);
globalThis.__dirname = path.resolve(wasmDir);
const here = path.dirname(new URL(import.meta.url).pathname);
const imp = (p) => import(pathToFileURL(path.resolve(here, p)));
const { createStore, openStore, sealStore, storeInfo, freeStore, KS_ERR } = await imp('../../wasm/package/keystore.js');
const { KeydHost, ROLE, ipcDecode, ipcEncode } = await imp('../../wasm/js/hosts.mjs');
const { default: createNymsuite } = await import(pathToFileURL(path.resolve(wasmDir, 'nymsuite.mjs')));
const wasmBinary = readFileSync(path.join(wasmDir, 'nymsuite.wasm'));
const M = await createNymsuite({ wasmBinary });
const P = await createNymsuite({ wasmBinary }); // plays netd and the test's own crypto
M._nsw_init(); P._nsw_init();

let passed = 0, failed = 0;
function check(name, ok, why = '') {
  if (ok) passed++;
  else { failed++; console.log(`FAIL ${name}${why ? ': ' + why : ''}`); }
}
const hex = (u) => Buffer.from(u).toString('hex');
const equal = (a, b) => hex(a) === hex(b);
const contains = (hay, needle) => Buffer.from(hay).includes(Buffer.from(needle));
const errOf = (fn) => { try { const ks = fn(); freeStore(M, ks); return 0; } catch (e) { return e.code ?? 'no code'; } };

const gw = new Uint8Array(32).fill(7), url = 'ws://127.0.0.1:9000';
let t = performance.now();
const ks = createStore(M, { clientId: 'c1', passphrase: 'correct horse', gatewayIdentity: gw, gatewayUrl: url });
const tCreate = performance.now() - t;
const info = storeInfo(M, ks);
const rec = sealStore(M, ks);
freeStore(M, ks);
check('record length', rec.length === 42 + 153 + 2 + url.length + 16, String(rec.length));
check('record is mode 1, Argon2id 2 x 19 MiB', rec[5] === 1 && rec[9] === 2 &&
  new DataView(rec.buffer).getUint32(10) === 19 * 1024);
t = performance.now();
const ks2 = openStore(M, rec, { clientId: 'c1', passphrase: 'correct horse' });
const tOpen = performance.now() - t;
const info2 = storeInfo(M, ks2);
freeStore(M, ks2);
check('reopened: same address', equal(info.address, info2.address));
check('reopened: gateway and URL', equal(info2.gatewayIdentity, gw) && info2.gatewayUrl === url && !info2.registered);
check('address ends with the gateway', equal(info.address.slice(64), gw));
console.log(`Argon2id in wasm: create ${tCreate.toFixed(0)} ms, open ${tOpen.toFixed(0)} ms`);

check('wrong passphrase', errOf(() => openStore(M, rec, { clientId: 'c1', passphrase: 'correct hors' })) === KS_ERR.OPEN);
check('no passphrase', errOf(() => openStore(M, rec, { clientId: 'c1' })) === KS_ERR.NEED_PASSPHRASE);
check('empty passphrase', errOf(() => openStore(M, rec, { clientId: 'c1', passphrase: '' })) === KS_ERR.ARG);
check('another clientId', errOf(() => openStore(M, rec, { clientId: 'c2', passphrase: 'correct horse' })) === KS_ERR.OPEN);
const flipped = rec.slice(); flipped[100] ^= 1;
check('flipped ciphertext byte', errOf(() => openStore(M, flipped, { clientId: 'c1', passphrase: 'correct horse' })) === KS_ERR.OPEN);
check('truncated', errOf(() => openStore(M, rec.slice(0, rec.length - 1), { clientId: 'c1', passphrase: 'correct horse' })) === KS_ERR.OPEN);
check('header only', errOf(() => openStore(M, rec.slice(0, 42), { clientId: 'c1', passphrase: 'correct horse' })) === KS_ERR.FORMAT);

const plainStore = createStore(M, { clientId: 'c1', gatewayIdentity: gw, gatewayUrl: url });
const plainRec = sealStore(M, plainStore);
freeStore(M, plainStore);
check('no-passphrase record: mode 0', plainRec[5] === 0);
check('no-passphrase record opens', errOf(() => openStore(M, plainRec, { clientId: 'c1' })) === 0);
check('no-passphrase record, passphrase given', errOf(() => openStore(M, plainRec, { clientId: 'c1', passphrase: 'x' })) === KS_ERR.UNEXPECTED_PASSPHRASE);

// keyd from the fresh store: our address to the engine, a registration when netd asks
const sent = [];
const fresh = openStore(M, rec, { clientId: 'c1', passphrase: 'correct horse' });
const keyd = new KeydHost(M, { store: fresh }, { send: (role, d) => sent.push([role, d]),
  onKeysSealed: (r) => sent.push(['sealed', r]) });
keyd.start();
const selfAddr = sent.filter(([r]) => r === ROLE.APID).flatMap(([, d]) => ipcDecode(P, ROLE.APID, ROLE.KEYD, d))
  .find((m) => m.type === 'SELF_ADDRESS');
check('SELF_ADDRESS is the store\'s address', selfAddr && selfAddr.address === hex(info.address), JSON.stringify(selfAddr));
sent.length = 0;
keyd.feed(ROLE.NETD, ipcEncode(P, ROLE.NETD, ROLE.KEYD, { type: 'GW_HANDSHAKE_START', gateway_identity: hex(gw), protocol: 3, fresh: true }));
const hs = sent.filter(([r]) => r === ROLE.NETD).flatMap(([, d]) => ipcDecode(P, ROLE.NETD, ROLE.KEYD, d));
check('registration starts: GW_HANDSHAKE_OUT to netd', hs.length === 1 && hs[0].type === 'GW_HANDSHAKE_OUT', JSON.stringify(hs.map((m) => m.type)));
keyd.free();

// keyd from a record with a gateway key: authentication reseals with the new timestamp
function call(Mod, ins, outLens, fn) {
  const ps = ins.map((b) => { const p = Mod._nsw_alloc(b.length); Mod.HEAPU8.set(b, p); return p; });
  const os = outLens.map((n) => Mod._nsw_alloc(n));
  const rc = fn(...ps, ...os);
  const outs = os.map((p, i) => Mod.HEAPU8.slice(p, p + outLens[i]));
  ps.forEach((p, i) => Mod._nsw_free(p, ins[i].length)); os.forEach((p, i) => Mod._nsw_free(p, outLens[i]));
  return [rc, ...outs];
}
const keys = new Uint8Array(153);
crypto.getRandomValues(keys.subarray(0, 80)); keys.set(gw, 80); keys[112] = 1; crypto.getRandomValues(keys.subarray(113, 145));
const urlB = new TextEncoder().encode(url);
const plain = new Uint8Array(153 + 2 + urlB.length);
plain.set(keys); new DataView(plain.buffer).setUint16(153, urlB.length); plain.set(urlB, 155);
const header = new Uint8Array(42); header.set(new TextEncoder().encode('NSKS'), 0); header[4] = 1;
crypto.getRandomValues(header.subarray(30));
const aad = new Uint8Array([...header, ...new TextEncoder().encode('c1')]);
const zero = new Uint8Array(32);
const [n, ct] = call(P, [plain, aad, zero, header.subarray(30)], [plain.length + 16],
  (pp, pa, pk, pn, out) => P._nsw_gcmsiv_seal(out, pp, plain.length, pa, aad.length, pk, pn));
check('test record sealed', n === plain.length + 16);
const handMade = new Uint8Array([...header, ...ct]);
const sent2 = [];
const keyd2 = new KeydHost(M, { store: openStore(M, handMade, { clientId: 'c1' }) },
  { send: (role, d) => sent2.push([role, d]), onKeysSealed: (r) => sent2.push(['sealed', r]) });
keyd2.start();
keyd2.feed(ROLE.NETD, ipcEncode(P, ROLE.NETD, ROLE.KEYD, { type: 'GW_AUTH_REQUEST', gateway_identity: hex(gw), protocol: 4, timestamp: 1700000000 }));
const resealed = sent2.filter(([k]) => k === 'sealed').map(([, r]) => r);
check('one record sealed again', resealed.length === 1);
if (resealed.length) {
  const r = resealed[0], aad2 = new Uint8Array([...r.slice(0, 42), ...new TextEncoder().encode('c1')]);
  const [m, pt] = call(P, [r.slice(42), aad2, zero, r.slice(30, 42)], [r.length - 42 - 16],
    (pc, pa, pk, pn, out) => P._nsw_gcmsiv_open(out, pc, r.length - 42, pa, aad2.length, pk, pn));
  const ts = m >= 0 ? new DataView(pt.buffer).getBigUint64(145, true) : -1n;
  check('resealed record has the new timestamp and the same keys', m === plain.length && ts === 1700000000n && equal(pt.slice(0, 145), keys.slice(0, 145)), `${m} ${ts}`);
}
const authText = sent2.filter(([k]) => k === ROLE.NETD).flatMap(([, d]) => ipcDecode(P, ROLE.NETD, ROLE.KEYD, d));
check('GW_AUTH_TEXT to netd', authText.some((m) => m.type === 'GW_AUTH_TEXT'));
for (const [, d] of [...sent, ...sent2])
  check('no key in clear leaves keyd', !contains(d, keys.slice(0, 32)) && !contains(d, keys.slice(32, 64)) && !contains(d, keys.slice(113, 145)));
keyd2.free();

console.log(`${passed} passed, ${failed} failed`);
process.exit(failed ? 1 : 0);
