// @nymsuite/sdk: the page side of nymsuite's browser client, with @nymproject/sdk 1.4.1's
// mixnet API (createNymMixnetClient -> {client, events}). The page runs the client engine
// (split, retransmission, reassembly, reply SURBs) and plays the supervisor; the keys live in
// the key Worker, the gateway connection and traffic timing in the net Worker. The three talk
// nymsuite's IPC catalogue, one msgpack datagram per postMessage on three MessageChannels.
import createNymsuite from './nymsuite.mjs';
import { EngineHost, ROLE, ipcDecode, ipcEncode } from './hosts.mjs';
import { encodePayload, decodePayload, utf8Lossy } from './payload.js';
import { base58, formatRecipient, formatSenderTag, ipcRoleFor, KEY_QUEUE, parseRecipient, parseSenderTag } from './glue.js';

export const EventKinds = Object.freeze({
  Loaded: 'Loaded',
  Connected: 'Connected',
  StringMessageReceived: 'StringMessageReceived',
  BinaryMessageReceived: 'BinaryMessageReceived',
  RawMessageReceived: 'RawMessageReceived',
});

export const MimeTypes = Object.freeze({
  ApplicationOctetStream: 'application/octet-stream',
  TextPlain: 'text/plain',
  ApplicationJson: 'application/json',
});

// Nym's wasm client's defaults (wasm/client/src/config.rs; mainnet's nym-api)
const DEFAULT_CLIENT_ID = 'nym-mixnet-client';
const DEFAULT_NYM_API = 'https://validator.nymtech.net/api/';
const LOG = '[nymsuite]';

function createSubscriptions() {
  const subs = new Map();
  const list = (k) => subs.get(k) ?? [];
  return {
    add(kind, handler) {
      subs.set(kind, [...list(kind), handler]);
      return () => subs.set(kind, list(kind).filter((h) => h !== handler));
    },
    fire(kind, event) {
      for (const h of list(kind)) {
        try { h(event); } catch (e) { console.error('Unhandled error in event handler', event, e); }
      }
    },
  };
}

// A Worker of this package, its replies to commands as promises.
class WorkerLink {
  constructor(url, name) {
    this.name = name;
    this.w = new Worker(url, { type: 'module', name });
    this.waiters = [];
    this.onEvent = () => {};
    this.loaded = new Promise((resolve, reject) => {
      this.w.addEventListener('error', (e) => reject(new Error(`${name}: ${e.message ?? 'failed to load'}`)), { once: true });
      this.waitFor(['loaded']).then(resolve, reject);
    });
    this.w.onmessage = (ev) => this.#dispatch(ev.data ?? {});
  }

  #dispatch(m) {
    const i = this.waiters.findIndex((w) => w.cmds.includes(m.cmd) || (m.cmd === 'error' && !m.fatal));
    if (i >= 0) {
      const [w] = this.waiters.splice(i, 1);
      if (m.cmd === 'error') w.reject(Object.assign(new Error(`${this.name}: ${m.message}`), { code: m.code }));
      else w.resolve(m);
      return;
    }
    this.onEvent(m);
  }

  waitFor(cmds) {
    return new Promise((resolve, reject) => this.waiters.push({ cmds, resolve, reject }));
  }

  request(msg, replies, transfer = []) {
    const p = this.waitFor(replies);
    this.w.postMessage(msg, transfer);
    return p;
  }

  post(msg, transfer = []) { this.w.postMessage(msg, transfer); }
}

function sendOn(port, datagram) {
  const buf = datagram.buffer.byteLength === datagram.length ? datagram.buffer : datagram.slice().buffer;
  port.postMessage(buf, [buf]);
}

// The page's side of the key queue's bound (KEY_QUEUE): datagrams for the key Worker go out
// while what was sent and not yet taken stays within the bound, the rest waits here in order
// (as natively the engine's datagrams wait in its send queue when keyd's socket is full). The
// key Worker reports running totals of what it took ('taken' on the Worker object).
class KeyWindow {
  constructor(port) {
    Object.assign(this, { port, held: [], head: 0, heldBytes: 0, sent: 0, sentBytes: 0, taken: 0, takenBytes: 0 });
    this.stats = { limitBytes: KEY_QUEUE.bytes, limitDatagrams: KEY_QUEUE.datagrams, peakBytes: 0,
      peakDatagrams: 0, overBound: 0, heldPeakBytes: 0, heldPeakDatagrams: 0, held: 0 };
  }
  #fits(d) {
    const n = this.sent - this.taken, bytes = this.sentBytes - this.takenBytes;
    return n === 0 || (n < KEY_QUEUE.datagrams && bytes + d.length <= KEY_QUEUE.bytes);
  }
  #post(d) {
    this.sent++;
    this.sentBytes += d.length;
    sendOn(this.port, d);
  }
  send(d) {
    if (this.head === this.held.length && this.#fits(d)) { this.#post(d); return; }
    this.held.push(d);
    this.heldBytes += d.length;
    const s = this.stats, depth = this.held.length - this.head;
    s.held++;
    if (depth > s.heldPeakDatagrams) s.heldPeakDatagrams = depth;
    if (this.heldBytes > s.heldPeakBytes) s.heldPeakBytes = this.heldBytes;
  }
  onTaken(m) {
    if (m.datagrams > this.taken) { this.taken = m.datagrams; this.takenBytes = m.bytes; }
    Object.assign(this.stats, { peakBytes: m.peakBytes, peakDatagrams: m.peakDatagrams, overBound: m.over });
    while (this.head < this.held.length && this.#fits(this.held[this.head])) {
      const d = this.held[this.head];
      this.held[this.head++] = undefined;
      this.heldBytes -= d.length;
      this.#post(d);
    }
    if (this.head === this.held.length) { this.held.length = 0; this.head = 0; }
  }
  // a stop: what still waits here belongs to the stopped session
  drop() { this.held.length = 0; this.head = 0; this.heldBytes = 0; }
}

// What the SDK's worker sends for send({payload}): the bytes, or null (and an error logged)
// for a string under a mime type that is not a text one.
function payloadBytes(M, payload, textMimeTypes) {
  const { message, mimeType, headers } = payload ?? {};
  let bytes;
  if (mimeType && textMimeTypes.includes(mimeType) && typeof message === 'string') {
    bytes = new TextEncoder().encode(message);
  } else if (typeof message !== 'string') {
    bytes = message instanceof Uint8Array ? message : new Uint8Array(message ?? []);
  } else {
    console.error(`${LOG} Payload is a string. It should be a Uint8Array, or its mime type one of setTextMimeTypes`);
    return null;
  }
  const mime = mimeType ? String(mimeType) : MimeTypes.ApplicationOctetStream;
  return encodePayload(M, mime, headers == null ? null : String(headers), bytes);
}

class NymsuiteClient {
  constructor(M, keyW, netW, ports, subs, textMimeTypes) {
    Object.assign(this, { M, keyW, netW, ports, subs });
    this.textMimeTypes = textMimeTypes;
    this.engine = null;
    this.state = 'idle';
    this.address = undefined;
    this.statsWaiters = new Map();
    this.statsId = 1;
    this.keyWindow = new KeyWindow(ports.key);
    ports.key.onmessage = (ev) => this.#fromWorker(ROLE.KEYD, new Uint8Array(ev.data));
    ports.net.onmessage = (ev) => this.#fromWorker(ROLE.NETD, new Uint8Array(ev.data));
    keyW.onEvent = (m) => this.#workerEvent('key Worker', m);
    netW.onEvent = (m) => this.#workerEvent('net Worker', m);
  }

  // A datagram from a Worker: for the engine (APID), or for us as the supervisor.
  #fromWorker(from, d) {
    if (!this.engine) return;
    const to = ipcRoleFor(this.M, d, { from, candidates: [ROLE.APID, ROLE.SUPERVISOR] });
    if (to === ROLE.SUPERVISOR) { this.#supervisor(from, d); return; }
    try { this.engine.feed(from, d); } catch (e) { console.error(LOG, e.message); }
  }

  #supervisor(from, d) {
    for (const m of ipcDecode(this.M, ROLE.SUPERVISOR, from, d)) {
      if (m.type !== 'STATS_REPLY') continue;
      const w = this.statsWaiters.get(`${from}:${m.request_id}`);
      if (w) w(m.text);
    }
  }

  #workerEvent(name, m) {
    // gwclient's state names: 'ready' once the gateway session is authenticated
    if (m.cmd === 'taken') this.keyWindow.onTaken(m);
    else if (m.cmd === 'state' && (m.name === 'ready' || m.name === 'connected')) this.#netReady();
    else if (m.cmd === 'log') console[m.level === 'error' ? 'error' : m.level === 'warn' ? 'warn' : 'debug'](`${LOG} ${name}: ${m.line}`);
    else if (m.cmd === 'error') console.error(`${LOG} ${name}: ${m.message}`);
  }

  #netReady() {
    this.gatewayReady = true;
    this.#maybeConnected();
  }

  #maybeConnected() {
    if (this.state !== 'starting' || !this.gatewayReady || !this.address) return;
    this.state = 'connected';
    this.subs.fire(EventKinds.Connected, { kind: EventKinds.Connected, args: { address: this.address } });
  }

  #onMessage(bytes, senderTag) {
    const tag = senderTag ? formatSenderTag(this.M, senderTag) : undefined;
    const withTag = (args) => (tag ? { ...args, senderTag: tag } : args);
    this.subs.fire(EventKinds.RawMessageReceived, { kind: EventKinds.RawMessageReceived, args: withTag({ payload: bytes }) });
    let d;
    try { d = decodePayload(this.M, bytes); } catch (e) {
      console.error('Failed to parse binary message', e);
      return;
    }
    // as the SDK's worker: decoded payloads are plain Arrays (serde_wasm_bindgen's Vec<u8>)
    if (this.textMimeTypes.includes(d.mimeType)) {
      this.subs.fire(EventKinds.StringMessageReceived, { kind: EventKinds.StringMessageReceived,
        args: withTag({ mimeType: d.mimeType, payload: utf8Lossy(this.M, d.payload), payloadRaw: Array.from(d.payload), headers: d.headers }) });
    } else {
      this.subs.fire(EventKinds.BinaryMessageReceived, { kind: EventKinds.BinaryMessageReceived,
        args: withTag({ mimeType: d.mimeType, payload: Array.from(d.payload), headers: d.headers }) });
    }
  }

  #route(role, d) {
    if (role === ROLE.KEYD) this.keyWindow.send(d);
    else if (role === ROLE.NETD) sendOn(this.ports.net, d);
    // to the supervisor (the engine's queue hand-over at a stop): nothing to keep in a page
  }

  async #keys(opts) {
    const { clientId, storagePassphrase } = opts;
    const first = await this.keyW.request({ cmd: 'load', clientId, passphrase: storagePassphrase }, ['keys', 'needGateway']);
    if (first.cmd === 'keys') return first;
    const g = await this.netW.request({ cmd: 'chooseGateway', nymApiUrl: opts.nymApiUrl,
      preferredGateway: opts.preferredGateway, forceTls: opts.forceTls }, ['gateway']);
    return this.keyW.request({ cmd: 'create', gatewayIdentity: g.identityBytes, gatewayUrl: g.url }, ['keys']);
  }

  async run(rawOpts) {
    const opts = { ...rawOpts, clientId: rawOpts?.clientId ?? DEFAULT_CLIENT_ID,
      nymApiUrl: rawOpts?.nymApiUrl ?? DEFAULT_NYM_API, forceTls: !!rawOpts?.forceTls };
    const keys = await this.#keys(opts);
    this.engine = new EngineHost(this.M, {
      send: (role, d) => this.#route(role, d),
      onMessage: (bytes, tag) => this.#onMessage(bytes, tag),
      onSelfAddress: (a) => { this.address = formatRecipient(this.M, a); this.#maybeConnected(); },
      onSendFailed: (id, why) => console.error(`${LOG} message ${id} not delivered: ${why}`),
      onShutdown: () => {},
    });
    this.netW.post({ cmd: 'start', config: { nymApiUrl: opts.nymApiUrl, gatewayIdentity: base58(this.M, keys.gatewayIdentity),
      gatewayUrl: keys.gatewayUrl, forceTls: opts.forceTls, registered: keys.registered,
      ...(opts.clientOverride ?? {}), clientOverride: opts.clientOverride } });
    this.keyW.post({ cmd: 'run' });
  }

  supervisorSend(role, msg) {
    const d = ipcEncode(this.M, ROLE.SUPERVISOR, role, msg);
    if (role === ROLE.KEYD) this.keyWindow.send(d);
    else sendOn(this.ports.net, d);
  }

  async stop() {
    if (this.state === 'idle') return;
    this.state = 'stopping';
    this.keyWindow.drop();
    for (const role of [ROLE.KEYD, ROLE.NETD]) {
      try { this.supervisorSend(role, { type: 'SHUTDOWN', reason: 0 }); } catch (e) { console.error(LOG, e.message); }
    }
    await Promise.allSettled([this.keyW.request({ cmd: 'stop' }, ['stopped']), this.netW.request({ cmd: 'stop' }, ['stopped'])]);
    this.engine?.free();
    Object.assign(this, { engine: null, address: undefined, gatewayReady: false, state: 'idle' });
  }

  // The counters nymctl shows: the engine's here, keyd's and netd's asked as the supervisor.
  async stats(timeoutMs = 5000) {
    if (!this.engine) return undefined;
    const ask = (role) => new Promise((resolve) => {
      const id = this.statsId++, key = `${role}:${id}`;
      const done = (text) => { this.statsWaiters.delete(key); clearTimeout(t); resolve(text == null ? undefined : parseCounters(text)); };
      const t = setTimeout(() => done(undefined), timeoutMs);
      this.statsWaiters.set(key, done);
      try { this.supervisorSend(role, { type: 'STATS_REQUEST', request_id: id }); } catch { done(undefined); }
    });
    const [keyd, netd] = await Promise.all([ask(ROLE.KEYD), ask(ROLE.NETD)]);
    return { engine: this.engine?.stats(), keyd, netd, keyQueue: { ...this.keyWindow.stats } };
  }
}

function parseCounters(text) {
  return Object.fromEntries(text.trim().split('\n').filter(Boolean).map((l) => l.split('='))
    .map(([k, v]) => [k, Number.isNaN(Number(v)) ? v : Number(v)]));
}

function sendAnon(c, bytes, recipient, replySurbs) {
  if (!c.engine) { console.error(`${LOG} Client has not been started. Please call \`start\` first.`); return; }
  try {
    const to = parseRecipient(c.M, recipient);
    c.engine.sendAnonymous(to, bytes, (replySurbs === undefined ? 10 : replySurbs) >>> 0);
  } catch (e) { console.error(`${LOG} Failed to send message`, e); }
}

/**
 * Creates a client of the Nym mixnet: {client, events}, as @nymproject/sdk's
 * createNymMixnetClient. Resolves once the page's module and both Workers are loaded.
 */
export async function createNymMixnetClient(options) {
  const keyW = new WorkerLink(new URL('./key-worker.js', import.meta.url), 'nymsuite-key');
  const netW = new WorkerLink(new URL('./net-worker.js', import.meta.url), 'nymsuite-net');
  const [M] = await Promise.all([createNymsuite(), keyW.loaded, netW.loaded]);
  if (M._nsw_init() !== 0) throw new Error('nsw_init failed');

  // page<->key, page<->net, key<->net: one port each, handed over as the supervisor hands out
  // socketpair ends natively
  const pageKey = new MessageChannel(), pageNet = new MessageChannel(), keyNet = new MessageChannel();
  keyW.post({ cmd: 'init', page: pageKey.port2, net: keyNet.port1 }, [pageKey.port2, keyNet.port1]);
  netW.post({ cmd: 'init', page: pageNet.port2, key: keyNet.port2 }, [pageNet.port2, keyNet.port2]);

  const subs = createSubscriptions();
  let textMimeTypes = [...(options?.autoConvertStringMimeTypes ?? [MimeTypes.ApplicationJson, MimeTypes.TextPlain])];
  const c = new NymsuiteClient(M, keyW, netW, { key: pageKey.port1, net: pageNet.port1 }, subs, textMimeTypes);

  const client = {
    start: async (opts) => {
      if (c.state !== 'idle') { console.error(`${LOG} the client is already started`); return; }
      c.state = 'starting';
      c.run(opts).catch((e) => { c.state = 'idle'; console.error(`${LOG} Failed to start`, e); });
    },
    stop: async () => c.stop(),
    selfAddress: async () => c.address,
    setTextMimeTypes: async (mimeTypes) => { textMimeTypes = [...mimeTypes]; c.textMimeTypes = textMimeTypes; },
    getTextMimeTypes: async () => [...textMimeTypes],
    send: async ({ payload, recipient, replySurbs } = {}) => {
      const bytes = c.engine ? payloadBytes(M, payload, textMimeTypes) : null;
      if (!c.engine) console.error(`${LOG} Client has not been started. Please call \`start\` first.`);
      else if (bytes) sendAnon(c, bytes, recipient, replySurbs);
    },
    rawSend: async ({ payload, recipient, replySurbs } = {}) => {
      sendAnon(c, payload instanceof Uint8Array ? payload : new Uint8Array(payload ?? []), recipient, replySurbs);
    },
    // beyond the SDK: an anonymous reply through the SURBs a received message carried
    reply: async ({ senderTag, payload } = {}) => {
      if (!c.engine) { console.error(`${LOG} Client has not been started. Please call \`start\` first.`); return; }
      const bytes = payloadBytes(M, payload, textMimeTypes);
      if (!bytes) return;
      try { c.engine.reply(parseSenderTag(M, senderTag), bytes); } catch (e) { console.error(`${LOG} Failed to send reply`, e); }
    },
    stats: async () => c.stats(),
  };

  const events = {
    subscribeToLoaded: (h) => subs.add(EventKinds.Loaded, h),
    subscribeToConnected: (h) => subs.add(EventKinds.Connected, h),
    subscribeToTextMessageReceivedEvent: (h) => subs.add(EventKinds.StringMessageReceived, h),
    subscribeToBinaryMessageReceivedEvent: (h) => subs.add(EventKinds.BinaryMessageReceived, h),
    subscribeToRawMessageReceivedEvent: (h) => subs.add(EventKinds.RawMessageReceived, h),
  };
  return { client, events };
}
