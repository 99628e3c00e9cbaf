#!/usr/bin/env node
// mix-fetch.mjs: runs the real mix-fetch (npm @nymproject/mix-fetch-wasm@1.4.1: Rust and Go
// compiled to wasm from nym b4046a89) under plain node 20 and fetches URLs through a mixnet via
// a network requester. No browser, no Worker: the two wasm modules are loaded by hand.
//
//   node mix-fetch.mjs --nym-api URL --nr ADDRESS [--gateway ID] --url URL [--url URL ...]
//                      [--timeout-ms N] [--overall-ms N] [-v]
// stdout, one JSON line per URL, in order:
//   {"url":…,"ok":true,"status":200,"len":N,"sha256":"…"}   (of the body's bytes)
//   {"url":…,"ok":false,"error":"…"}
// Packages come from the folder tests/interop/setup installs (its path is the setup's last line,
// passed as $NYMSUITE_INTEROP_CACHE). Every fetch and websocket outside 127.0.0.0/8 is refused.
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import util from 'node:util';
import { createRequire } from 'node:module';
import { pathToFileURL } from 'node:url';

const args = process.argv.slice(2);
const opt = (name, def) => { const i = args.indexOf(name); return i >= 0 ? args[i + 1] : def; };
const verbose = args.includes('-v');
const urls = args.flatMap((a, i) => (a === '--url' ? [args[i + 1]] : []));
const t0 = Date.now();
const log = (...a) => {
  if (verbose) process.stderr.write(`[mix-fetch +${((Date.now() - t0) / 1000).toFixed(3)}s] ${util.format(...a)}\n`);
};
for (const k of ['log', 'info', 'debug', 'warn', 'error']) console[k] = (...a) => log(`wasm:${k}`, ...a);

const cache = process.env.NYMSUITE_INTEROP_CACHE;
if (!cache) { process.stderr.write('NYMSUITE_INTEROP_CACHE is not set (the folder tests/interop/setup prints)\n'); process.exit(2); }
const require = createRequire(path.join(cache, 'package.json'));
const load = (name) => import(pathToFileURL(require.resolve(name)).href);
const pkgDir = path.dirname(require.resolve('@nymproject/mix-fetch-wasm/package.json'));
await load('fake-indexeddb/auto');
const WS = (await load('ws')).default;

// ---- only loopback, ever
const isLoopback = (u) => {
  try { const h = new URL(u).hostname; return /^127\./.test(h) || h === '[::1]'; } catch { return false; }
};
const realFetch = globalThis.fetch;
globalThis.fetch = async (input, init) => {
  const u = typeof input === 'string' ? input : (input.url ?? String(input));
  if (!isLoopback(u)) throw new TypeError(`refused: ${u} is not on 127.0.0.0/8`);
  log('fetch', u);
  return realFetch(input, init);
};
// A browser reports an exception thrown in a websocket event handler and goes on; node would die
// (the registration socket's close closure is freed by Rust before 'close' fires).
const guard = (what, f) => f && ((e) => { try { return f(e); } catch (x) { log(`${what} handler threw:`, x?.message ?? x); } });
class LoopbackWebSocket extends WS {
  constructor(url, protocols) {
    if (!isLoopback(url)) throw new Error(`refused: websocket ${url} is not on 127.0.0.0/8`);
    log('websocket', url);
    super(url, protocols, { perMessageDeflate: false });
  }
  addEventListener(type, fn, o) { return super.addEventListener(type, guard(type, fn), o); }
  set onopen(f) { super.onopen = guard('open', f); }
  set onmessage(f) { super.onmessage = guard('message', f); }
  set onclose(f) { super.onclose = guard('close', f); }
  set onerror(f) { super.onerror = guard('error', f); }
}
globalThis.WebSocket = LoopbackWebSocket;
process.on('unhandledRejection', (e) => log('unhandled rejection:', e?.message ?? e));
process.on('uncaughtException', (e) => log('uncaught exception:', e?.stack ?? e));

// ---- the Rust half (wasm-pack web target: given the bytes, not a file:// URL)
const mf = await import(pathToFileURL(path.join(pkgDir, 'mix_fetch_wasm.js')).href);
await mf.default({ module_or_path: fs.readFileSync(path.join(pkgDir, 'mix_fetch_wasm_bg.wasm')) });
mf.set_panic_hook();

// ---- the Go half (net/http), bridged to the Rust half through two globals
globalThis.__rs_go_bridge__ = {
  send_client_data: mf.send_client_data,
  start_new_mixnet_connection: mf.start_new_mixnet_connection,
  mix_fetch_initialised: mf.mix_fetch_initialised,
  finish_mixnet_connection: mf.finish_mixnet_connection,
};
await import(pathToFileURL(path.join(pkgDir, 'wasm_exec.js')).href);
const go = new globalThis.Go();
const { instance } = await WebAssembly.instantiate(fs.readFileSync(path.join(pkgDir, 'go_conn.wasm')), go.importObject);
go.run(instance);
await new Promise((r) => setTimeout(r, 50));

const killer = setTimeout(() => { log('overall timeout'); process.exit(3); }, Number(opt('--overall-ms', '120000')));
try {
  await mf.setupMixFetch({
    clientId: `nymsuite-mixfetch-${process.pid}`,
    nymApiUrl: opt('--nym-api'),
    preferredNetworkRequester: opt('--nr'),
    preferredGateway: opt('--gateway'),
    forceTls: false,
    clientOverride: {
      statsReporting: { enabled: false },
      topology: { minimumMixnodePerformance: 0, minimumGatewayPerformance: 0, ignoreEgressEpochRole: true, ignoreIngressEpochRole: true },
      traffic: { disableMainPoissonPacketDistribution: true },
      coverTraffic: { disableLoopCoverTrafficStream: true },
    },
    mixFetchOverride: { requestTimeoutMs: Number(opt('--timeout-ms', '60000')) },
  });
} catch (e) {
  process.stdout.write(JSON.stringify({ setup: false, error: String(e?.message ?? e) }) + '\n');
  process.exit(1);
}
log('setup done');

// one request at a time: mix-fetch 1.4.1 cannot hold two connections to one host:port
for (const url of urls) {
  try {
    const res = await globalThis.mixFetch(url, { mode: 'unsafe-ignore-cors' });
    const body = Buffer.from(await res.arrayBuffer());
    const sha256 = crypto.createHash('sha256').update(body).digest('hex');
    process.stdout.write(JSON.stringify({ url, ok: true, status: res.status, len: body.length, sha256 }) + '\n');
  } catch (e) {
    process.stdout.write(JSON.stringify({ url, ok: false, error: String(typeof e === 'string' ? e : e?.message ?? e) }) + '\n');
  }
}
clearTimeout(killer);
process.exit(0);
