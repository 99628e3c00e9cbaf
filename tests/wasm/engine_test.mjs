// The client engine and keyd's operations in wasm, wired in one node process as the browser
// will wire them in Workers: a "key worker" module instance runs keyd's operations with keys
// the test made, an "engine" instance runs the client engine, and a third instance plays netd
// and the network: it hands keyd a topology of three mix nodes and our gateway, opens each
// SEALED_FRAME with the gateway's shared key, processes the Sphinx packet hop by hop with the
// nodes' keys (the same C processing as natively), splits the SURB-ack off at the gateway,
// pushes the client's part back as OPEN_FRAME, and routes the SURB-ack the same way back to
// us. No socket, no gateway process: the gateway's side is this stand-in.
//   node tests/wasm/engine_test.mjs WASM_DIR
// The engine sends a 100 KB message to its own address; it must arrive byte for byte, every
// fragment must be acknowledged, then the same for an anonymous message with reply SURBs and
// a reply through them. Prints "N passed, N failed"; exit 1 on any failure.
import { generateKeyPairSync, randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { pathToFileURL } from 'node:url';

const wasmDir = process.argv[2];
if (!wasmDir) {
  console.error('usage: engine_test.mjs WASM_DIR');
  process.exit(2);
}
globalThis.require = createRequire(import.meta.url);
globalThis.__dirname = path.resolve(wasmDir);
const here = path.dirname(new URL(import.meta.url).pathname);
const { EngineHost, KeydHost, ROLE, ipcDecode, ipcEncode } =
  await import(pathToFileURL(path.resolve(here, '../../wasm/js/hosts.mjs')));
const { default: createNymsuite } = await import(pathToFileURL(path.resolve(wasmDir, 'nymsuite.mjs')));
const wasmBinary = readFileSync(path.join(wasmDir, 'nymsuite.wasm'));
const [KM, EM, NM] = await Promise.all([0, 1, 2].map(() => createNymsuite({ wasmBinary })));

let passed = 0, failed = 0;
function check(name, ok, why = '') {
  if (ok) passed++;
  else { failed++; console.log(`FAIL ${name}${why ? ': ' + why : ''}`); }
}
const toHex = (u) => Buffer.from(u).toString('hex');
const fromHex = (s) => new Uint8Array(Buffer.from(s, 'hex'));
const equal = (a, b) => a.length === b.length && Buffer.compare(Buffer.from(a), Buffer.from(b)) === 0;

// ---- the network stand-in's module calls (NM)
function call(M, inputs, outLens, fn) {
  const ptrs = inputs.map((b) => { const p = M._nsw_alloc(b.length); M.HEAPU8.set(b, p); return [p, b.length]; });
  const outs = outLens.map((n) => [M._nsw_alloc(n), n]);
  try {
    const rc = fn(...ptrs.map(([p]) => p), ...outs.map(([p]) => p));
    return [rc, ...outs.map(([p, n]) => M.HEAPU8.slice(p, p + n))];
  } finally { for (const [p, n] of [...ptrs, ...outs]) M._nsw_free(p, n); }
}
const x25519Base = (sk) => call(NM, [sk], [32], (s, o) => NM._nsw_x25519_base(o, s))[1];
const ed25519Public = () => {
  const jwk = generateKeyPairSync('ed25519').publicKey.export({ format: 'jwk' });
  return new Uint8Array(Buffer.from(jwk.x, 'base64url'));
};
NM._nsw_init();

// ---- keys and topology
const gwKey = new Uint8Array(randomBytes(32));
const gatewayId = ed25519Public();
const nodeAddr = (port) => { const a = new Uint8Array(32); a.set([4, port >> 8, port & 255, 127, 0, 0, 1]); return a; };
const nodes = [1, 2, 3, 4].map((role) => {
  const secret = new Uint8Array(randomBytes(32));
  return { role, node_id: role * 10, secret, sphinx: x25519Base(secret),
    identity: role === 4 ? gatewayId : ed25519Public(), address: nodeAddr(41000 + role) };
});
const byAddress = new Map(nodes.map((n) => [toHex(n.address), n]));
const keys = new Uint8Array(153);
keys.set(randomBytes(32), 0);   // identity seed
keys.set(randomBytes(32), 32);  // x25519 secret
keys.set(randomBytes(16), 64);  // ack key
keys.set(gatewayId, 80);
keys[112] = 1;                  // a (current, not legacy) shared key follows
keys.set(gwKey, 113);

// ---- the wiring: each datagram is a task, delivered in order (as postMessage would)
const tasks = [];
const trace = { toNetd: {}, toApid: {}, toKeyd: {} };
const count = (o, t) => { o[t] = (o[t] ?? 0) + 1; };
let selfAddress = null;
const received = [];
const failures = [];
let stopError = null;

const engine = new EngineHost(EM, {
  send: (peer, d) => tasks.push(() => {
    if (peer === ROLE.KEYD) {
      for (const m of ipcDecode(NM, ROLE.KEYD, ROLE.APID, d)) count(trace.toKeyd, m.type);
      keyd.feed(ROLE.APID, d);
    } else if (peer === ROLE.NETD) {
      netdFromEngine(d);
    } // the supervisor's (READY, QUEUED_*) are not part of this test
  }),
  onSelfAddress: (a) => { selfAddress = a; },
  onMessage: (m, tag) => received.push({ m, tag }),
  onSendFailed: (id, why) => failures.push(`${id}: ${why}`),
});
const keyd = new KeydHost(KM, keys, {
  send: (peer, d) => tasks.push(() => {
    if (peer === ROLE.APID) {
      for (const m of ipcDecode(NM, ROLE.APID, ROLE.KEYD, d)) count(trace.toApid, m.type);
      engine.feed(ROLE.KEYD, d);
    } else if (peer === ROLE.NETD) {
      netdFromKeyd(d);
    }
  }),
});
check('the key blob is zeroed once handed over', keys.every((b) => b === 0));

const toKeyd = (msg) => tasks.push(() => keyd.feed(ROLE.NETD, ipcEncode(NM, ROLE.NETD, ROLE.KEYD, msg)));
const toEngine = (msg) => tasks.push(() => engine.feed(ROLE.NETD, ipcEncode(NM, ROLE.NETD, ROLE.APID, msg)));

function netdFromEngine(d) {
  for (const m of ipcDecode(NM, ROLE.NETD, ROLE.APID, d)) count(trace.toNetd, m.type);
}

// One Sphinx packet from first hop to its final hop: the recovered plaintext, or null.
const HDR = NM._nsw_sphinx_header_len();
function route(packet, firstHop) {
  let node = byAddress.get(toHex(firstHop));
  for (let hops = 0; node && hops < 8; hops++) {
    const [rc, out, info] = call(NM, [node.secret, packet], [packet.length, 123],
      (s, p, o, i) => NM._nsw_sphinx_process(s, p, packet.length, o, i));
    if (rc !== 0) return null;
    if (info[0] === 2) { // final: the gateway recovers the plaintext
      if (node.role !== 4) return null;
      const payload = out.slice(HDR);
      const [r, span] = call(NM, [payload], [8], (p, o) => NM._nsw_sphinx_recover(p, payload.length, o));
      if (r !== 0) return null;
      const v = new DataView(span.buffer);
      const off = v.getUint32(0, true), len = v.getUint32(4, true);
      return { plaintext: payload.slice(off, off + len), destination: info.slice(43, 75) };
    }
    packet = out;
    node = byAddress.get(toHex(info.slice(3, 35)));
  }
  return null;
}

// The gateway pushes a message to its client: OPEN_FRAME for keyd.
function push(msg) {
  const [n, frame] = call(NM, [gwKey, msg], [msg.length + 64], (k, m, o) => NM._nsw_gw_push(k, 0, m, msg.length, o, msg.length + 64));
  check('gateway push', n > 0, `rc ${n}`);
  if (n > 0) toKeyd({ type: 'OPEN_FRAME', frame: toHex(frame.slice(0, n)) });
}

const stats = { frames: 0, delivered: 0, acks: 0, lost: 0 };
function deliverPacket(packet, firstHop, isAck) {
  const r = route(packet, firstHop);
  if (!r) { stats.lost++; return; }
  if (isAck) { stats.acks++; push(r.plaintext); return; }
  const [rc, hop, span] = call(NM, [r.plaintext], [32, 16], (p, h, o) => NM._nsw_surb_ack_split(p, r.plaintext.length, h, o));
  if (rc !== 0) { stats.lost++; return; }
  const v = new DataView(span.buffer);
  const ack = r.plaintext.slice(v.getUint32(0, true), v.getUint32(0, true) + v.getUint32(4, true));
  const rest = r.plaintext.slice(v.getUint32(8, true), v.getUint32(8, true) + v.getUint32(12, true));
  stats.delivered++;
  push(rest);
  tasks.push(() => deliverPacket(ack, hop, true)); // the gateway forwards the SURB-ack
}

function netdFromKeyd(d) {
  for (const m of ipcDecode(NM, ROLE.NETD, ROLE.KEYD, d)) {
    count(trace.toNetd, m.type);
    if (m.type !== 'SEALED_FRAME') continue;
    stats.frames++;
    const frame = fromHex(m.frame);
    const [n, packet, info] = call(NM, [gwKey, frame], [frame.length, 34],
      (k, f, o, i) => NM._nsw_gw_open_request(k, 0, f, frame.length, o, frame.length, i));
    check('the gateway opens a sealed frame', n > 0, `rc ${n}`);
    if (n <= 0) continue;
    // what netd tells the engine once the frame is on the wire
    if (m.frag_id !== '0000000000') toEngine({ type: 'FRAMES_SENT', frag_ids: m.frag_id, dropped: false });
    tasks.push(() => deliverPacket(packet.slice(0, n), info.slice(0, 32), false));
  }
}

function run() {
  while (tasks.length && !stopError) {
    try { tasks.shift()(); } catch (e) { stopError = e; }
  }
  check('no datagram was refused', !stopError, String(stopError?.stack ?? stopError));
}

// ---- start: the session and topology keyd needs, our address to the engine
keyd.start();
toKeyd({ type: 'GW_PROTOCOL', protocol: 5 });
toKeyd({ type: 'TOPOLOGY_BEGIN', generation: 1, key_rotation_id: 0, nodes: nodes.length });
for (const n of nodes)
  toKeyd({ type: 'TOPOLOGY_NODE', generation: 1, role: n.role, node_id: n.node_id,
    identity: toHex(n.identity), sphinx_key: toHex(n.sphinx), address: toHex(n.address) });
toKeyd({ type: 'TOPOLOGY_END', generation: 1, nodes: nodes.length });
run();
check('keyd told the engine our address', selfAddress?.length === 96);
check('our address names our gateway', selfAddress && equal(selfAddress.slice(64), gatewayId));

// ---- 1. 100 KB to ourselves
const big = new Uint8Array(randomBytes(100 * 1024));
const t0 = performance.now();
engine.send(selfAddress, big);
run();
const ms1 = performance.now() - t0;
check('100 KB: one message received', received.length === 1, `${received.length}`);
check('100 KB: byte for byte', received[0] && equal(received[0].m, big));
check('100 KB: sent as a plain message (no sender tag)', received[0] && received[0].tag === null);
check('100 KB: many fragments', stats.frames >= 40, `${stats.frames} frames`);
check('100 KB: every frame delivered and acked', stats.delivered === stats.frames && stats.acks === stats.frames && stats.lost === 0,
  JSON.stringify(stats));
check('100 KB: nothing left unacknowledged', engine.unacked() === 0, `${engine.unacked()} unacked`);
check('keyd sent one ACK per fragment to the engine', trace.toApid.ACK === stats.frames, JSON.stringify(trace.toApid));
check('no send failed', failures.length === 0, failures.join('; '));
const frames1 = stats.frames;

// ---- 2. an anonymous message with reply SURBs, then a reply through them
received.length = 0;
const question = new TextEncoder().encode('who is there?');
engine.sendAnonymous(selfAddress, question, 20); // 10 stay in reserve (Nym's threshold)
run();
check('anonymous: received', received.length === 1 && equal(received[0].m, question));
check('anonymous: with a sender tag', received[0]?.tag?.length === 16);
check('anonymous: keyd made the SURBs', (trace.toKeyd.MAKE_SURBS ?? 0) >= 1 && (trace.toApid.SURBS ?? 0) >= 1);
check('anonymous: the engine handed the SURBs it received to keyd', (trace.toKeyd.SURBS_RECEIVED ?? 0) >= 1);
const tag = received[0]?.tag;
received.length = 0;
const answer = new Uint8Array(randomBytes(3000));
if (tag) engine.reply(tag, answer);
run();
check('reply: received byte for byte', received.length === 1 && equal(received[0].m, answer));
check('reply: no sender tag on a reply', received[0]?.tag === null);
check('reply: keyd built it through a SURB', (trace.toKeyd.BUILD_REPLY ?? 0) >= 1);
check('everything acknowledged', engine.unacked() === 0, `${engine.unacked()} unacked`);
const st = engine.stats();
check('engine stats count the messages', st.messages_sent >= 3 && st.anonymous_sent === 1 && st.replies_sent === 1,
  JSON.stringify(st));

// ---- 3. the boundaries: keyd refuses what the catalogue does not let netd send it
let refused = false;
try { keyd.feed(ROLE.NETD, ipcEncode(NM, ROLE.APID, ROLE.KEYD, { type: 'MAKE_SURBS', request_id: 1, count: 1, packet_size: 1 })); }
catch { refused = true; }
check('keyd refuses a MAKE_SURBS from netd', refused);

// ---- 4. the JSON bridge refuses what does not fit the catalogue
const refuses = (self, peer, msg) => { try { ipcEncode(NM, self, peer, msg); return false; } catch { return true; } };
check('json: an unknown type', refuses(ROLE.NETD, ROLE.KEYD, { type: 'NO_SUCH' }));
check('json: a missing field', refuses(ROLE.NETD, ROLE.KEYD, { type: 'OPEN_FRAME' }));
check('json: odd hex', refuses(ROLE.NETD, ROLE.KEYD, { type: 'OPEN_FRAME', frame: 'abc' }));
check('json: not hex', refuses(ROLE.NETD, ROLE.KEYD, { type: 'OPEN_FRAME', frame: 'zz' }));
check('json: a string for a number', refuses(ROLE.NETD, ROLE.KEYD, { type: 'GW_PROTOCOL', protocol: '5' }));
check('json: out of the field\'s range', refuses(ROLE.NETD, ROLE.KEYD, { type: 'GW_PROTOCOL', protocol: 256 }));
check('json: a negative number', refuses(ROLE.NETD, ROLE.KEYD, { type: 'GW_PROTOCOL', protocol: -1 }));
check('json: a wrong length', refuses(ROLE.NETD, ROLE.APID, { type: 'ACK', frag_id: '0102' }));
check('json: a sender the catalogue does not allow', refuses(ROLE.APID, ROLE.KEYD, { type: 'OPEN_FRAME', frame: '00' }));
check('json: not JSON', (() => { try { ipcEncode(NM, ROLE.NETD, ROLE.KEYD, undefined); return false; } catch { return true; } })());
let undecodable = false;
try { ipcDecode(NM, ROLE.KEYD, ROLE.NETD, new Uint8Array([0x93, 0xc1, 0, 0])); } catch { undecodable = true; }
check('json: a datagram that does not decode', undecodable);
const rt = ipcDecode(NM, ROLE.KEYD, ROLE.NETD, ipcEncode(NM, ROLE.NETD, ROLE.KEYD, { type: 'GW_PROTOCOL', protocol: 4 }));
check('json: round trip', rt.length === 1 && rt[0].type === 'GW_PROTOCOL' && rt[0].protocol === 4, JSON.stringify(rt));

console.log(`100 KB: ${frames1} frames built, routed, opened and acked in ${ms1.toFixed(0)} ms`);
keyd.free();
engine.free();
console.log(`${passed} passed, ${failed} failed`);
process.exit(failed ? 1 : 0);
