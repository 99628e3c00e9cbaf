// The SDK payload codec through the module (wasm/package/payload.js over common/sdk_payload.c):
//  - "hi" as text/plain is byte for byte what the real @nymproject/sdk 1.4.1 sent;
//  - for random mime types and headers the JSON header equals JSON.stringify's, which escapes
//    exactly as serde_json does for well-formed strings (the short escapes, other controls as
//    lowercase \u00xx, nothing else) — an independent check of the C escaper;
//  - decode(encode(x)) gives x back; malformed messages are refused;
//  - the C from_utf8_lossy equals the WHATWG TextDecoder (both replace each maximal invalid
//    subpart by one U+FFFD) on random byte strings.
//   node tests/wasm/sdk_payload_test.mjs WASM_DIR     prints "N passed, N failed"
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { pathToFileURL } from 'node:url';

const wasmDir = process.argv[2];
if (!wasmDir) { console.error('usage: sdk_payload_test.mjs WASM_DIR'); process.exit(2); }
globalThis.require = createRequire(import.meta.url);
globalThis.__dirname = path.resolve(wasmDir);
const here = path.dirname(new URL(import.meta.url).pathname);
const { encodePayload, decodePayload, utf8Lossy } =
  await import(pathToFileURL(path.resolve(here, '../../wasm/package/payload.js')));
const { default: createNymsuite } = await import(pathToFileURL(path.resolve(wasmDir, 'nymsuite.mjs')));
const M = await createNymsuite({ wasmBinary: readFileSync(path.join(wasmDir, 'nymsuite.wasm')) });

let passed = 0, failed = 0;
function check(name, ok, why = '') {
  if (ok) passed++;
  else { failed++; if (failed < 20) console.log(`FAIL ${name}${why ? ': ' + why : ''}`); }
}
const hex = (u) => Buffer.from(u).toString('hex');
const enc = new TextEncoder();

// 1. the real SDK's bytes
const hi = encodePayload(M, 'text/plain', null, enc.encode('hi'));
check('sdk example', hex(hi) === '0000000000000028' +
  Buffer.from('{"mimeType":"text/plain","headers":null}').toString('hex') + '6869', hex(hi));

// 2. random strings: the header is JSON.stringify's
const pool = [0, 1, 8, 9, 10, 12, 13, 0x1b, 0x1f, 0x20, 0x22, 0x2f, 0x5c, 0x7f, 0x80, 0xe9,
  0x7ff, 0x800, 0xfffd, 0xffff, 0x10000, 0x1f600, 0x10ffff];
function randString() {
  const n = randomBytes(1)[0] % 24;
  let s = '';
  for (let i = 0; i < n; i++) {
    const r = randomBytes(3);
    s += String.fromCodePoint(r[0] < 160 ? pool[r[1] % pool.length] : 0x20 + (r[1] % 95));
  }
  return s;
}
for (let i = 0; i < 2000; i++) {
  const mime = randString(), headers = i % 3 ? randString() : null;
  const body = randomBytes(i % 50);
  const m = encodePayload(M, mime, headers, body);
  const json = enc.encode(JSON.stringify({ mimeType: mime, headers }));
  const len = Number(new DataView(m.buffer).getBigUint64(0));
  check(`escape ${JSON.stringify(mime)}`, len === json.length && hex(m.subarray(8, 8 + len)) === hex(json));
  const d = decodePayload(M, m);
  check('round trip', d.mimeType === mime && d.headers === (headers ?? undefined) &&
    hex(d.payload) === hex(body));
}

// 3. refusals and the SDK's shapes
const withJson = (j, p = '') => { const b = enc.encode(j), m = new Uint8Array(8 + b.length + p.length);
  new DataView(m.buffer).setUint32(4, b.length); m.set(b, 8); m.set(enc.encode(p), 8 + b.length); return m; };
const refuses = (name, m) => { try { decodePayload(M, m); check(name, false, 'accepted'); } catch { check(name, true); } };
refuses('7 bytes', new Uint8Array(7));
refuses('length past the end', withJson('{"mimeType":"a"}').subarray(0, 20));
refuses('duplicate', withJson('{"mimeType":"a","mimeType":"a"}'));
refuses('no mimeType', withJson('{"headers":"h"}'));
refuses('trailing', withJson('{"mimeType":"a"}x'));
const arr = decodePayload(M, withJson('["m",null]', 'p'));
check('array form', arr.mimeType === 'm' && arr.headers === undefined && hex(arr.payload) === '70');
const hi64 = withJson('{"mimeType":"m"}'); hi64[3] = 1;
check('high 32 bits ignored', decodePayload(M, hi64).mimeType === 'm');

// 4. lossy decoding = WHATWG's
const loose = new TextDecoder('utf-8');
const frags = [[0xc3, 0xa9], [0xe2, 0x82, 0xac], [0xf0, 0x9f, 0x98, 0x80], [0xed, 0xa0, 0x80],
  [0xc0], [0x80], [0xf4, 0x90], [0xe0, 0x80], [0xf0, 0x90, 0x80], [0xff], [0x41], [0xe2, 0x82]];
for (let i = 0; i < 3000; i++) {
  const parts = [];
  for (let k = randomBytes(1)[0] % 8; k > 0; k--) {
    const r = randomBytes(2);
    parts.push(...(r[0] < 200 ? frags[r[1] % frags.length] : [r[1]]));
  }
  const b = Uint8Array.from(parts);
  const a = utf8Lossy(M, b), w = loose.decode(b);
  check(`lossy ${hex(b)}`, a === w, `${JSON.stringify(a)} vs ${JSON.stringify(w)}`);
}
const big = randomBytes(100000);
check('lossy 100 KB', utf8Lossy(M, big) === loose.decode(big));

console.log(`${passed} passed, ${failed} failed`);
process.exit(failed ? 1 : 0);
