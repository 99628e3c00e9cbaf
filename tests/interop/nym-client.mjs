#!/usr/bin/env node
// nym-client.mjs: runs the REAL Nym client (npm @nymproject/nym-client-wasm-node, Rust compiled to
// wasm from nym b4046a89; installed by setup.sh) under node 20, so tests can drive it against our
// own directory, gateway and mix nodes. Output: one JSON object per line on stdout (see README.md).
//
//   node nym-client.mjs (--nym-api URL | --topology FILE) [--gateway ID] [options] < commands
//
// stdin, one command per line ('#' comments and blank lines ignored), run in order once the client
// is ready:
//   send <address|self> <nbytes> [seed]            regular message (NymMessage::Plain)
//   sendanon <address|self> <nbytes> <surbs> [seed] anonymous, carrying <surbs> reply SURBs
//   sendtext <address|self> <text...>              regular message: the UTF-8 bytes of the text
//   timedsend <address|self> <nbytes> [seed]        like send, with event "sending" {unix_ms} printed
//                                                  just before the client gets the message (bench/)
//   reply <sender_tag> <nbytes> [seed]             reply to an anonymous sender through its SURBs
//   wait <n> [timeout_ms]                          until n messages were received in total
//   sleep <ms>
//   stats
//   quit
// Message content is deterministic: payload(n, seed) = first n bytes of
//   SHA-256("nymsuite-interop:" + seed + ":0") ‖ SHA-256("nymsuite-interop:" + seed + ":1") ‖ ...
// (seed defaults to "0"), so a receiver can check length and SHA-256 of what arrived.

import { createHash } from 'node:crypto';
import { createRequire } from 'node:module';
import fs from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import readline from 'node:readline';
import util from 'node:util';

const PKG = '@nymproject/nym-client-wasm-node';
const PKG_VERSION = '1.4.1';
const NYM_COMMIT = 'b4046a8969805642ee82dfaffc1ecd1584899897';
const SENDER_TAG_LEN = 16;

const HELP = `usage: node nym-client.mjs (--nym-api URL | --topology FILE) [options] < commands
  --nym-api URL          the directory (nym-api) the client asks for gateways, key rotation, topology
  --topology FILE        instead: serve a built-in nym-api on 127.0.0.1 from this WasmFriendlyNymTopology
  --api-port N           port of that built-in nym-api (default: ephemeral)
  --gateway ID           gateway identity key (base58) to register with (default with --topology: the
                         only node with entry details; with --nym-api: the client picks)
  --start-timeout-ms N   fail (event "error", exit 1) unless ready within N ms (default 30000)
  --timeout-ms N         whole run: exit 3 with event "timeout" after N ms (default 0 = none)
  --linger-ms N          after the last command (stdin EOF or quit), wait N ms so packets leave (1000)
  --cover                enable cover traffic (default off: no loop cover, no Poisson main stream)
  --retransmissions N    maximum retransmissions per packet (default: the client's, unlimited)
  --override JSON|@FILE  DebugWasmOverride (camelCase) merged over our defaults
  --frames FILE          log every gateway websocket frame (both directions) and nym-api request to FILE
  --cache DIR            where setup.sh installed (default \${NYMSUITE_CACHE:-~/.cache/nymsuite}/interop)
  -v                     the client's own log lines and nym-api requests on stderr`;

// ------------------------------------------------------------------------------------------- output
const t0 = Date.now();
const out = (obj) => process.stdout.write(JSON.stringify({ ...obj, ms: Date.now() - t0 }) + '\n');
const errorText = (e) => (e instanceof Error ? e.message : typeof e === 'string' ? e : util.inspect(e));
const log = (...a) => process.stderr.write(`[nym-client] ${util.format(...a)}\n`);

function parseArgs(argv) {
  const o = { startTimeoutMs: 30000, timeoutMs: 0, lingerMs: 1000, cover: false, verbose: false };
  const valued = ['--nym-api', '--topology', '--api-port', '--gateway', '--start-timeout-ms', '--timeout-ms',
    '--linger-ms', '--retransmissions', '--override', '--frames', '--cache'];
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === '-h' || a === '--help') o.help = true;
    else if (a === '-v') o.verbose = true;
    else if (a === '--cover') o.cover = true;
    else if (valued.includes(a)) {
      if (i + 1 >= argv.length) throw new Error(`${a} needs a value`);
      o[a.slice(2).replace(/-(.)/g, (_, c) => c.toUpperCase())] = argv[++i];
    } else throw new Error(`unknown argument ${a}`);
  }
  for (const k of ['startTimeoutMs', 'timeoutMs', 'lingerMs']) o[k] = Number(o[k]);
  if (!o.help && !o.nymApi === !o.topology) throw new Error('give exactly one of --nym-api and --topology');
  return o;
}

let opts;
try {
  opts = parseArgs(process.argv.slice(2));
} catch (e) {
  out({ event: 'error', where: 'args', message: e.message });
  process.stderr.write(HELP + '\n');
  process.exit(2);
}
if (opts.help) {
  process.stderr.write(HELP + '\n');
  process.exit(0);
}

// The wasm writes its logs (and its build info at load) with console.*: stdout is ours alone.
let retransmissionLogs = 0;
const consoleSink = (level) => (...a) => {
  const s = util.format(...a);
  if (/retransmi/i.test(s)) retransmissionLogs++;
  if (opts.verbose || level !== 'log') process.stderr.write(`[wasm:${level}] ${s}\n`);
};
console.log = console.info = console.debug = consoleSink('log');
console.warn = consoleSink('warn');
console.error = consoleSink('error');

// ------------------------------------------------------------------------------------ payloads
function payload(n, seed = '0') {
  const buf = Buffer.alloc(n);
  for (let off = 0, k = 0; off < n; off += 32, k++) {
    createHash('sha256').update(`nymsuite-interop:${seed}:${k}`).digest().copy(buf, off);
  }
  return new Uint8Array(buf.buffer, buf.byteOffset, n);
}
const sha256hex = (bytes) => createHash('sha256').update(bytes).digest('hex');

const B58 = '123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz';
function base58(bytes) {
  let n = 0n;
  for (const b of bytes) n = n * 256n + BigInt(b);
  let s = '';
  for (; n > 0n; n /= 58n) s = B58[Number(n % 58n)] + s;
  for (const b of bytes) {
    if (b) break;
    s = '1' + s;
  }
  return s;
}

// ------------------------------------------------------------------------------------ topology
function loadTopology(file) {
  const t = JSON.parse(fs.readFileSync(file, 'utf8'));
  for (const k of ['metadata', 'rewardedSet', 'nodeDetails']) if (!t[k]) throw new Error(`${file}: no '${k}'`);
  return t;
}

function defaultGateway(t) {
  const entries = Object.values(t.nodeDetails).filter((n) => n.entry);
  if (entries.length !== 1) throw new Error(`${entries.length} nodes have entry details: pass --gateway`);
  return entries[0].identityKey;
}

// ------------------------------------------------------------------------- built-in nym-api
// The 1.4.1 wasm client has no working constructor that takes a topology directly (its tester
// builder returns DisabledTester), so it always talks to a nym-api. With --topology we serve the
// few endpoints it uses (nym-api-requests types at b4046a89), JSON only: the client asks for
// ?output=bincode but decodes by Content-Type.
function layerOf(rs, id) {
  for (const l of [1, 2, 3]) if ((rs[`layer${l}`] || []).map(Number).includes(id)) return l;
  return 0;
}

function roleOf(rs, id) {
  const inSet = (k) => (rs[k] || []).map(Number).includes(id);
  if (inSet('entry_gateways')) return 'EntryGateway';
  if (inSet('exit_gateways')) return 'ExitGateway';
  const l = layerOf(rs, id);
  if (l) return { Mixnode: { layer: l } };
  return inSet('standby') ? 'Standby' : 'Inactive';
}

function skimmedNode(n, rs) {
  const m = /^\[?([^\]]+?)\]?:(\d+)$/.exec(n.mixHost);
  if (!m) throw new Error(`node ${n.nodeId}: bad mixHost ${n.mixHost}`);
  const ips = [m[1], ...(n.entry?.ip_addresses ?? []).filter((ip) => ip !== m[1])];
  return {
    node_id: n.nodeId,
    ed25519_identity_pubkey: n.identityKey,
    ip_addresses: ips,
    mix_port: Number(m[2]),
    x25519_sphinx_pubkey: n.sphinxKey,
    role: roleOf(rs, Number(n.nodeId)),
    supported_roles: {
      mixnode: !!n.supportedRoles?.mixnode,
      entry: !!n.supportedRoles?.mixnet_entry,
      exit_nr: !!n.supportedRoles?.mixnet_exit,
      exit_ipr: !!n.supportedRoles?.mixnet_exit,
    },
    entry: n.entry ? { hostname: n.entry.hostname ?? null, ws_port: n.entry.clients_ws_port, wss_port: n.entry.clients_wss_port ?? null } : null,
    performance: '1',
  };
}

// KeyRotationInfoResponse such that the rotation id the client derives for absolute_epoch_id
// equals metadata.key_rotation_id (rotation = (epoch - initial_epoch_id) / validity_epochs).
function keyRotationInfo(t) {
  const epoch = Number(t.metadata.absolute_epoch_id);
  const rotation = Number(t.metadata.key_rotation_id);
  let validity = 24;
  let initial = epoch - rotation * validity;
  if (initial < 0) {
    validity = 1;
    initial = epoch - rotation;
  }
  if (initial < 0) throw new Error('key_rotation_id > absolute_epoch_id: no consistent key-rotation info');
  return {
    key_rotation_state: { validity_epochs: validity, initial_epoch_id: initial },
    current_absolute_epoch_id: epoch,
    current_epoch_start: new Date(Date.now() - 60000).toISOString().replace(/\.\d+Z$/, 'Z'),
    epoch_duration: { secs: 3600, nanos: 0 },
    progress: {
      current_key_rotation_id: rotation,
      current_rotation_starting_epoch: initial + rotation * validity,
      current_rotation_ending_epoch: initial + (rotation + 1) * validity - 1,
    },
  };
}

function apiRoutes() {
  const nodes = (t, keep) => Object.values(t.nodeDetails).filter((n) => keep(n, t.rewardedSet)).map((n) => skimmedNode(n, t.rewardedSet));
  const paged = (t, list) => ({
    metadata: { status: null, absolute_epoch_id: t.metadata.absolute_epoch_id, rotation_id: t.metadata.key_rotation_id, refreshed_at: t.metadata.refreshed_at },
    nodes: { pagination: { total: list.length, page: 0, size: list.length }, data: list },
  });
  const isMix = (n, rs) => layerOf(rs, Number(n.nodeId)) > 0;
  const isEntry = (n) => !!n.entry;
  const isExit = (n, rs) => (rs.exit_gateways || []).map(Number).includes(Number(n.nodeId)) || !!n.supportedRoles?.mixnet_exit;
  return [
    ['/v1/epoch/key-rotation-info', (t) => keyRotationInfo(t)],
    ['/v1/nym-nodes/rewarded-set', (t) => ({ epoch_id: t.metadata.absolute_epoch_id, standby: [], ...t.rewardedSet })],
    ['/v2/unstable/nym-nodes/skimmed/entry-gateways', (t) => paged(t, nodes(t, isEntry))],
    ['/v2/unstable/nym-nodes/skimmed/entry-gateways/all', (t) => paged(t, nodes(t, isEntry))],
    ['/v2/unstable/nym-nodes/skimmed/exit-gateways', (t) => paged(t, nodes(t, isExit))],
    ['/v2/unstable/nym-nodes/skimmed/exit-gateways/all', (t) => paged(t, nodes(t, isExit))],
    ['/v2/unstable/nym-nodes/skimmed/mixnodes/active', (t) => paged(t, nodes(t, isMix))],
    ['/v2/unstable/nym-nodes/skimmed/mixnodes/all', (t) => paged(t, nodes(t, (n, rs) => isMix(n, rs) || !!n.supportedRoles?.mixnode))],
    ['/v2/unstable/nym-nodes/skimmed', (t) => paged(t, nodes(t, () => true))],
  ];
}

const apiRequests = [];
function serveTopology(file, port) {
  const routes = new Map(apiRoutes());
  const server = http.createServer((req, res) => {
    const url = new URL(req.url, 'http://localhost');
    const route = routes.get(url.pathname.replace(/\/+$/, ''));
    let status = 404;
    let body = { message: `no route ${url.pathname}` };
    if (route) {
      try {
        body = route(loadTopology(file)); // re-read: the file may change between refreshes
        status = 200;
      } catch (e) {
        status = 500;
        body = { message: e.message };
      }
    }
    apiRequests.push(`${req.method} ${req.url} ${status}`);
    frameLog(`nym-api ${req.method} ${req.url} -> ${status}`);
    if (opts.verbose || status !== 200) log(`nym-api ${req.method} ${req.url} -> ${status}`);
    const data = JSON.stringify(body);
    res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(data) });
    res.end(data);
  });
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, '127.0.0.1', () => {
      server.unref();
      resolve(`http://127.0.0.1:${server.address().port}/`);
    });
  });
}

// ------------------------------------------------------------------------------ node 20 shims
const frameStats = { ws_connects: 0, text_out: 0, text_in: 0, binary_out: 0, binary_in: 0, binary_out_bytes: 0, binary_in_bytes: 0 };
const sockets = new Set();
let framesFd = null;

function frameLog(line) {
  if (framesFd !== null) fs.writeSync(framesFd, `${new Date().toISOString()} ${line}\n`);
}
const asBuffer = (d) => (Buffer.isBuffer(d) ? d : Array.isArray(d) ? Buffer.concat(d) : Buffer.from(d instanceof ArrayBuffer ? d : d.buffer ? new Uint8Array(d.buffer, d.byteOffset, d.byteLength) : d));

// node 20 has no global WebSocket (only behind --experimental-websocket); the glue calls
// `new WebSocket(url)` and sets onopen/onmessage/onclose/onerror, so a `ws` subclass will do.
function installWebSocket(WS) {
  let next = 0;
  class GatewaySocket extends WS {
    constructor(url, protocols) {
      super(url, protocols, { perMessageDeflate: false }); // like nym's gateways: no compression
      const id = ++next;
      this.nsId = id;
      frameStats.ws_connects++;
      sockets.add(this);
      frameLog(`#${id} connect ${url}`);
      this.on('open', () => frameLog(`#${id} open`));
      this.on('message', (data, isBinary) => {
        const b = asBuffer(data);
        if (isBinary) {
          frameStats.binary_in++;
          frameStats.binary_in_bytes += b.length;
        } else frameStats.text_in++;
        frameLog(`#${id} <- ${isBinary ? 'binary ' + b.toString('hex') : 'text ' + b.toString('utf8')}`);
      });
      this.on('close', (code, reason) => {
        sockets.delete(this);
        frameLog(`#${id} close ${code} ${reason}`);
      });
      this.on('error', (e) => frameLog(`#${id} error ${e.message}`));
    }
    send(data, ...rest) {
      const text = typeof data === 'string';
      const b = text ? Buffer.from(data) : asBuffer(data);
      if (text) frameStats.text_out++;
      else {
        frameStats.binary_out++;
        frameStats.binary_out_bytes += b.length;
      }
      frameLog(`#${this.nsId} -> ${text ? 'text ' + data : 'binary ' + b.toString('hex')}`);
      return super.send(data, ...rest);
    }
    // A browser reports an exception thrown by an event handler and goes on; under node it would
    // kill the process. It does happen: the registration socket's onclose closure is freed by Rust
    // before the close event arrives ("closure invoked recursively or after being dropped").
    addEventListener(type, handler, options) {
      if (typeof handler !== 'function') return super.addEventListener(type, handler, options);
      const id = this.nsId;
      return super.addEventListener(type, function (ev) {
        try {
          return handler.call(this, ev);
        } catch (e) {
          if (opts.verbose) log(`ws #${id} ${type} handler threw (ignored as in a browser): ${errorText(e)}`);
          return undefined;
        }
      }, options);
    }
  }
  globalThis.WebSocket = GatewaySocket;
}

function loadClient() {
  const cache = path.resolve(opts.cache || path.join(process.env.NYMSUITE_CACHE || path.join(os.homedir(), '.cache', 'nymsuite'), 'interop'));
  const req = createRequire(path.join(cache, 'package.json'));
  let version;
  try {
    version = req(`${PKG}/package.json`).version;
  } catch {
    throw new Error(`${PKG} is not installed in ${cache}: run tests/interop/setup.sh`);
  }
  if (version !== PKG_VERSION) throw new Error(`${PKG} ${version} installed, ${PKG_VERSION} expected: rerun setup.sh`);
  req('fake-indexeddb/auto'); // the client keeps keys + registration in IndexedDB; here in memory only
  installWebSocket(req('ws'));
  // crypto.getRandomValues, fetch, TextEncoder, performance, AbortController: node 20 globals
  return req(PKG);
}

// The sender tag reaches JS as an opaque AnonymousSenderTag (no accessor in 1.4.1): a pointer to a
// wasm-bindgen WasmRefCell { borrow flag, value: [u8; 16] }. Where the value sits is found by
// toggling a field of another 1-byte-aligned wasm object and seeing which byte moves.
function senderTagOffset(nym) {
  const fm = nym.default_debug().forget_me;
  try {
    const bytes = () => Array.from(new Uint8Array(nym.__wasm.memory.buffer, fm.__wbg_ptr, 16));
    fm.client = false;
    fm.stats = false;
    const base = bytes();
    fm.client = true;
    const moved = bytes().findIndex((b, i) => b !== base[i]);
    fm.client = false;
    fm.stats = true;
    const moved2 = bytes().findIndex((b, i) => b !== base[i]);
    const off = Math.min(moved, moved2);
    if (moved < 0 || moved2 < 0 || off > 8) throw new Error(`calibration found offsets ${moved}/${moved2}`);
    return off;
  } finally {
    fm.free();
  }
}

// ------------------------------------------------------------------------------------ main
let client = null;
let nym = null;
let tagOffset = 4;
let exiting = false;
const received = [];
const waiters = [];

function exit(code) {
  if (exiting) return;
  exiting = true;
  let open = 0;
  for (const s of sockets) {
    if (s.readyState === 1) {
      open++;
      s.close(1000);
    }
  }
  out({ event: 'exit', code });
  setTimeout(() => process.exit(code), open ? 200 : 0);
}

function statsEvent() {
  return {
    event: 'stats',
    received: received.length,
    ...frameStats,
    // The wasm exposes no counters. binary_out counts every packet handed to the gateway (real,
    // retransmitted, cover); retransmission_logs counts client log lines mentioning retransmission
    // (only with the client's debug logging, see README).
    retransmission_logs: retransmissionLogs,
    nym_api_requests: apiRequests.length,
  };
}

function onMessage(message, senderTag) {
  let tag = null;
  try {
    if (typeof senderTag === 'string') tag = senderTag;
    else if (senderTag && senderTag.__wbg_ptr) {
      tag = base58(new Uint8Array(nym.__wasm.memory.buffer, senderTag.__wbg_ptr + tagOffset, SENDER_TAG_LEN).slice());
      senderTag.free();
    }
  } catch (e) {
    out({ event: 'error', where: 'sender_tag', message: errorText(e) });
  }
  const bytes = message instanceof Uint8Array ? message : new Uint8Array(message);
  received.push(bytes.length);
  const text = printableText(bytes);
  out({ event: 'received', len: bytes.length, sha256: sha256hex(bytes), sender_tag: tag, ...(text === null ? {} : { text }) });
  for (const w of waiters.splice(0)) w();
}

// The message as text when it is short, valid UTF-8 and has no control characters but \t \n \r.
function printableText(bytes) {
  if (bytes.length > 4096) return null;
  try {
    const s = new TextDecoder('utf-8', { fatal: true }).decode(bytes);
    return /[\u0000-\u0008\u000b\u000c\u000e-\u001f\u007f]/.test(s) ? null : s;
  } catch {
    return null;
  }
}

function waitForMessages(n, timeoutMs) {
  return new Promise((resolve) => {
    const deadline = Date.now() + timeoutMs;
    const check = () => {
      if (received.length >= n) return resolve(true);
      if (Date.now() >= deadline) return resolve(false);
      waiters.push(check);
      setTimeout(() => { const i = waiters.indexOf(check); if (i >= 0) { waiters.splice(i, 1); check(); } }, Math.max(0, deadline - Date.now()));
    };
    check();
  });
}

const recipient = (r) => (r === 'self' ? client.selfAddress() : r);
const count = (s, what) => {
  const n = Number(s);
  if (!Number.isInteger(n) || n < 0) throw new Error(`${what}: not a count: ${s}`);
  return n;
};

async function runCommand(line) {
  const w = line.trim().split(/\s+/);
  const verb = w[0].toLowerCase();
  switch (verb) {
    case 'send': {
      const data = payload(count(w[2], 'nbytes'), w[3]);
      await client.send_regular_message(data, recipient(w[1]));
      return out({ event: 'sent', kind: 'regular', to: recipient(w[1]), len: data.length, sha256: sha256hex(data) });
    }
    case 'timedsend': {
      // the payload is made first: its hashing is the driver's cost, not the client's
      const data = payload(count(w[2], 'nbytes'), w[3]);
      out({ event: 'sending', len: data.length, unix_ms: performance.timeOrigin + performance.now() });
      await client.send_regular_message(data, recipient(w[1]));
      return out({ event: 'sent', kind: 'regular', to: recipient(w[1]), len: data.length, sha256: sha256hex(data) });
    }
    case 'sendtext': {
      const text = line.trim().replace(/^\S+\s+\S+\s?/, '');
      const data = new TextEncoder().encode(text);
      await client.send_regular_message(data, recipient(w[1]));
      return out({ event: 'sent', kind: 'regular', to: recipient(w[1]), len: data.length, sha256: sha256hex(data), text });
    }
    case 'sendanon': {
      const data = payload(count(w[2], 'nbytes'), w[4]);
      const surbs = count(w[3], 'surbs');
      await client.send_anonymous_message(data, recipient(w[1]), surbs);
      return out({ event: 'sent', kind: 'anonymous', to: recipient(w[1]), surbs, len: data.length, sha256: sha256hex(data) });
    }
    case 'reply': {
      if (!w[1]) throw new Error('reply needs a sender tag');
      const data = payload(count(w[2], 'nbytes'), w[3]);
      await client.send_reply(data, w[1]);
      return out({ event: 'sent', kind: 'reply', to: w[1], len: data.length, sha256: sha256hex(data) });
    }
    case 'wait': {
      const n = count(w[1], 'n');
      const ok = await waitForMessages(n, w[2] === undefined ? 30000 : count(w[2], 'timeout_ms'));
      return out({ event: 'wait', ok, want: n, received: received.length });
    }
    case 'sleep':
      await new Promise((r) => setTimeout(r, count(w[1], 'ms')));
      return undefined;
    case 'stats':
      return out(statsEvent());
    case 'quit':
      return 'quit';
    default:
      throw new Error(`unknown command '${w[0]}'`);
  }
}

async function commandLoop() {
  const rl = readline.createInterface({ input: process.stdin, terminal: false });
  for await (const line of rl) {
    if (line.trim() === '' || line.trim().startsWith('#')) continue;
    try {
      if ((await runCommand(line)) === 'quit') break;
    } catch (e) {
      out({ event: 'error', where: line.trim().split(/\s+/)[0], message: errorText(e) });
    }
  }
  await new Promise((r) => setTimeout(r, opts.lingerMs));
  out(statsEvent());
  exit(0);
}

function clientOverride() {
  let o = {
    statsReporting: { enabled: false },
    topology: { minimumMixnodePerformance: 0, minimumGatewayPerformance: 0, ignoreEgressEpochRole: true, ignoreIngressEpochRole: true },
  };
  if (!opts.cover) {
    o.traffic = { disableMainPoissonPacketDistribution: true };
    o.coverTraffic = { disableLoopCoverTrafficStream: true };
  }
  if (opts.retransmissions !== undefined) o.traffic = { ...o.traffic, maximumNumberOfRetransmissions: count(opts.retransmissions, '--retransmissions') };
  if (opts.override) {
    const extra = JSON.parse(opts.override.startsWith('@') ? fs.readFileSync(opts.override.slice(1), 'utf8') : opts.override);
    const merge = (a, b) => {
      for (const [k, v] of Object.entries(b)) a[k] = v && typeof v === 'object' && !Array.isArray(v) && a[k] && typeof a[k] === 'object' ? merge({ ...a[k] }, v) : v;
      return a;
    };
    o = merge(o, extra);
  }
  return o;
}

async function main() {
  if (opts.timeoutMs > 0) {
    setTimeout(() => {
      out({ ...statsEvent(), event: 'timeout', after_ms: opts.timeoutMs });
      exit(3);
    }, opts.timeoutMs).unref();
  }
  process.on('SIGTERM', () => exit(0));
  process.on('SIGINT', () => exit(0));
  if (opts.frames) framesFd = fs.openSync(opts.frames, 'a');

  let gateway = opts.gateway;
  let apiUrl = opts.nymApi;
  try {
    if (opts.topology) {
      const t = loadTopology(opts.topology);
      gateway ??= defaultGateway(t);
      apiUrl = await serveTopology(opts.topology, Number(opts.apiPort ?? 0));
    }
    nym = loadClient();
    tagOffset = senderTagOffset(nym);
  } catch (e) {
    out({ event: 'error', where: 'setup', message: errorText(e) });
    return exit(2);
  }
  if (opts.verbose) log(`nym-api ${apiUrl}, gateway ${gateway ?? '(client picks)'}, sender tag offset ${tagOffset}`);

  const clientOpts = { clientId: `nymsuite-${process.pid}`, nymApiUrl: apiUrl, forceTls: false, clientOverride: clientOverride() };
  if (gateway) clientOpts.preferredGateway = gateway;
  let timer;
  try {
    const timeout = new Promise((_, reject) => {
      timer = setTimeout(() => reject(new Error(`not ready after ${opts.startTimeoutMs} ms`)), opts.startTimeoutMs);
    });
    client = await Promise.race([new nym.NymClient(onMessage, clientOpts), timeout]);
  } catch (e) {
    out({ event: 'error', where: 'start', message: errorText(e), nym_api_requests: apiRequests });
    return exit(1);
  } finally {
    clearTimeout(timer);
  }
  const address = client.selfAddress();
  out({ event: 'ready', address, gateway: address.split('@')[1], nym_api: apiUrl, package: `${PKG}@${PKG_VERSION}`, nym_commit: NYM_COMMIT, nym_api_requests: apiRequests });
  await commandLoop();
}

main().catch((e) => {
  out({ event: 'error', where: 'main', message: errorText(e) });
  exit(1);
});
