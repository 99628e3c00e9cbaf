// The three browser contexts as three module instances in one node process (run with
// `node --experimental-websocket`), against the real localnet: keyd's operations (KeydHost)
// with keys made from the module's own randomness and NO gateway key, the engine
// (EngineHost), and netd's operations (NetHost) on node's global WebSocket and fetch.
// NetHost.chooseGateway picks the gateway from the localnet's nym-api; netd's core registers
// with the real gateway through keyd (the handshake's secret steps stay in the key instance);
// then a 100 KB message to our own address must arrive byte for byte with every fragment
// acked, a message to a native nym-client must reach its websocket app, and one from it must
// reach us. Datagrams between the instances go through setImmediate, one at a time, as
// postMessage would carry them.
//   usage: localnet_test.mjs WASM_DIR   env: NYM_API, NATIVE_WS (ws://...), NATIVE_ADDR
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { pathToFileURL } from 'node:url';

const wasmDir = process.argv[2];
const { NYM_API, NATIVE_WS, NATIVE_ADDR } = process.env;
if (!wasmDir || !NYM_API || !NATIVE_WS || !NATIVE_ADDR) {
  console.error('usage: NYM_API=... NATIVE_WS=... NATIVE_ADDR=... localnet_test.mjs WASM_DIR');
  process.exit(2);
}
if (typeof WebSocket !== 'function') {
  console.error('no global WebSocket: run with node --experimental-websocket');
  process.exit(2);
}
globalThis.require = createRequire(import.meta.url);
globalThis.__dirname = path.resolve(wasmDir);
const here = path.dirname(new URL(import.meta.url).pathname);
const { EngineHost, KeydHost, NetHost, ROLE, KEYD_KEYS_LEN, ipcDecode } =
  await import(pathToFileURL(path.resolve(here, '../../wasm/js/hosts.mjs')));
const { default: createNymsuite } = await import(pathToFileURL(path.resolve(wasmDir, 'nymsuite.mjs')));
const wasmBinary = readFileSync(path.join(wasmDir, 'nymsuite.wasm'));
const [KM, EM, NM, DM] = await Promise.all([0, 1, 2, 3].map(() => createNymsuite({ wasmBinary })));
DM._nsw_init();

let passed = 0, failed = 0;
function check(name, ok, why = '') {
  if (ok) { passed++; console.log(`ok ${name}`); } else { failed++; console.log(`FAIL ${name}${why ? ': ' + why : ''}`); }
}
const equal = (a, b) => a.length === b.length && Buffer.compare(Buffer.from(a), Buffer.from(b)) === 0;
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
async function until(what, cond, seconds) {
  for (const end = Date.now() + seconds * 1000; Date.now() < end;) {
    if (cond()) return true;
    await sleep(100);
  }
  console.log(`gave up waiting for ${what} after ${seconds} s`);
  return false;
}

// ---- base58 (Nym's text addresses), here on its own
const B58 = '123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz';
function b58encode(bytes) {
  let n = BigInt('0x' + (Buffer.from(bytes).toString('hex') || '0')), s = '';
  while (n > 0n) { s = B58[Number(n % 58n)] + s; n /= 58n; }
  for (const b of bytes) { if (b) break; s = '1' + s; }
  return s;
}
function b58decode(s, size) {
  let n = 0n;
  for (const c of s) { const v = B58.indexOf(c); if (v < 0) throw new Error('bad base58'); n = n * 58n + BigInt(v); }
  const hex = n.toString(16).padStart(size * 2, '0');
  return new Uint8Array(Buffer.from(hex, 'hex'));
}
const addressText = (a) => `${b58encode(a.slice(0, 32))}.${b58encode(a.slice(32, 64))}@${b58encode(a.slice(64, 96))}`;
function addressBytes(t) {
  const [id, rest] = t.split('.'), [enc, gw] = rest.split('@');
  const out = new Uint8Array(96);
  out.set(b58decode(id, 32), 0); out.set(b58decode(enc, 32), 32); out.set(b58decode(gw, 32), 64);
  return out;
}
function moduleRandom(M, n) {
  const p = M._nsw_alloc(n);
  M._nsw_random(p, n);
  const out = M.HEAPU8.slice(p, p + n);
  M._nsw_free(p, n);
  return out;
}

// ---- 1. the gateway, as Nym's wasm client picks it with no preference
const gw = await NetHost.chooseGateway(NM, { nymApiUrl: NYM_API });
check('chooseGateway gives a 32-byte identity', gw.identityBytes.length === 32);
check('chooseGateway gives its base58 form', equal(b58decode(gw.identity, 32), gw.identityBytes));
check('chooseGateway gives a loopback ws:// listener', /^ws:\/\/127\.0\.0\.1:\d+/.test(gw.url), gw.url);
let tlsRefused = null;
try { await NetHost.chooseGateway(NM, { nymApiUrl: NYM_API, forceTls: true }); } catch (e) { tlsRefused = e; }
check('forceTls refuses a localnet without wss gateways', /wss/.test(String(tlsRefused?.message)), String(tlsRefused));
const again = await NetHost.chooseGateway(NM, { nymApiUrl: NYM_API, preferredGateway: gw.identity });
check('a preferred gateway is taken', again.identity === gw.identity && again.url === gw.url);

// ---- 2. the three instances: fresh keys from the key instance's own randomness, no gateway key
KM._nsw_init();
const keys = new Uint8Array(KEYD_KEYS_LEN);
keys.set(moduleRandom(KM, 32), 0);  // ed25519 identity seed
keys.set(moduleRandom(KM, 32), 32); // x25519 secret
keys.set(moduleRandom(KM, 16), 64); // ack key
keys.set(gw.identityBytes, 80);
keys[112] = 0;                      // no shared key: netd's core must register

const errors = [], states = [], logs = [], received = [], sendFailures = [];
const supervisor = {};
let selfAddress = null;
// what crossed between the instances, by type (printed when a check fails)
const trace = {};
const ROLE_NAME = ['sup', 'keyd', 'netd', 'apid'];
function traced(to, from, d) {
  try {
    for (const m of ipcDecode(DM, to, from, d)) {
      const k = `${ROLE_NAME[from]}->${ROLE_NAME[to]} ${m.type}`;
      trace[k] = (trace[k] ?? 0) + 1;
    }
  } catch (e) { trace[`undecodable ${from}->${to}`] = String(e.message); }
}
const roleOf = new Map();
const deliver = (host, from, d) => setImmediate(() => {
  traced(roleOf.get(host), from, d);
  try { host?.feed(from, d); } catch (e) { errors.push(`${from} -> ${e.message}`); }
});
let engine = null, keyd = null, net = null;
engine = new EngineHost(EM, {
  send: (peer, d) => (peer === ROLE.KEYD ? deliver(keyd, ROLE.APID, d)
    : peer === ROLE.NETD ? deliver(net, ROLE.APID, d) : (supervisor.engine = (supervisor.engine ?? 0) + 1)),
  onSelfAddress: (a) => { selfAddress = a; },
  onMessage: (m, tag) => received.push({ m, tag }),
  onSendFailed: (id, why) => sendFailures.push(`${id}: ${why}`),
});
keyd = new KeydHost(KM, keys, {
  send: (peer, d) => (peer === ROLE.APID ? deliver(engine, ROLE.KEYD, d)
    : peer === ROLE.NETD ? deliver(net, ROLE.KEYD, d) : (supervisor.keyd = (supervisor.keyd ?? 0) + 1)),
});
check('the key blob is zeroed once handed over', keys.every((b) => b === 0));
net = new NetHost(NM, {
  nymApiUrl: NYM_API, gatewayIdentity: gw.identity, gatewayUrl: gw.url, forceTls: false,
  registered: false,
  clientOverride: { traffic: { disableMainPoissonPacketDistribution: true, averagePacketDelayMs: 10 },
    coverTraffic: { disableLoopCoverTrafficStream: true },
    acknowledgements: { averageAckDelayMs: 10 } },
}, {
  send: (peer, d) => (peer === ROLE.KEYD ? deliver(keyd, ROLE.NETD, d)
    : peer === ROLE.APID ? deliver(engine, ROLE.NETD, d) : (supervisor.net = (supervisor.net ?? 0) + 1)),
  log: (level, line) => { logs.push(line); if (level === 'error' || level === 'warn') console.log(`net: ${line}`); },
  onState: (s, detail) => { states.push(s); if (s === 'failed' || s === 'backoff') console.log(`net state ${s}: ${detail}`); },
});

roleOf.set(engine, ROLE.APID).set(keyd, ROLE.KEYD).set(net, ROLE.NETD);
keyd.start();
net.start();
const ready = await until('the gateway session', () => states.includes('ready') || states.includes('failed'), 180);
check('netd registered with the real gateway and is ready', ready && states.includes('ready'), states.join(','));
check('it went through registration', states.includes('registering'), states.join(','));
check('the registration is in the log', logs.some((l) => /keyd holds the new gateway key/.test(l)));
check('keyd told the engine our address', await until('our address', () => selfAddress, 30));
check('our address names the chosen gateway', selfAddress && equal(selfAddress.slice(64), gw.identityBytes));

// ---- 3. 100 KB to ourselves through the real mixnet
if (selfAddress && states.includes('ready')) {
  const big = moduleRandom(EM, 100 * 1024);
  engine.send(selfAddress, big);
  const got = await until('the 100 KB message', () => received.some((r) => r.m.length === big.length), Number(process.env.WAIT_S ?? 300));
  check('100 KB to our own address arrives', got);
  check('byte for byte', received.some((r) => equal(r.m, big)));
  check('every fragment acked', await until('the acks', () => engine.unacked() === 0, Number(process.env.WAIT_S ?? 300)), `unacked ${engine.unacked()}`);
}

// ---- 4. a native nym-client on the same localnet, both directions
async function openNative() {
  for (const end = Date.now() + 120000; Date.now() < end; await sleep(500)) {
    const ws = new WebSocket(NATIVE_WS);
    const ok = await new Promise((r) => { ws.onopen = () => r(true); ws.onerror = () => r(false); });
    if (ok) return ws;
  }
  return null;
}
const native = await openNative();
check('the native client\'s websocket answers', !!native);
if (native && selfAddress) {
  const nativeIn = [];
  native.onmessage = (e) => { try { nativeIn.push(JSON.parse(String(e.data))); } catch { nativeIn.push({ raw: e.data }); } };
  native.send(JSON.stringify({ type: 'selfAddress' }));
  check('the native client tells its address', await until('selfAddress', () => nativeIn.some((m) => m.type === 'selfAddress'), 30));
  check('it is the one init printed', nativeIn.find((m) => m.type === 'selfAddress')?.address === NATIVE_ADDR);
  const toNative = `from the wasm client ${b58encode(moduleRandom(EM, 16))}`;
  engine.send(addressBytes(NATIVE_ADDR), new TextEncoder().encode(toNative));
  check('a message to the native client arrives', await until('the native receive',
    () => nativeIn.some((m) => m.type === 'received' && m.message === toNative), 180));
  const fromNative = `from the native client ${b58encode(moduleRandom(EM, 16))}`;
  native.send(JSON.stringify({ type: 'send', message: fromNative, recipient: addressText(selfAddress) }));
  check('a message from the native client arrives', await until('the wasm receive',
    () => received.some((r) => new TextDecoder().decode(r.m) === fromNative), 180));
  native.close();
}

check('no datagram was refused', errors.length === 0, errors.slice(0, 5).join('; '));
check('no send failed', sendFailures.length === 0, sendFailures.join('; '));
if (failed) console.log(JSON.stringify(trace, null, 1));
net.stop();
keyd.free();
engine.free();
console.log(`${passed} passed, ${failed} failed`);
process.exit(failed ? 1 : 0);
