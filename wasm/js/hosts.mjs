// The JavaScript side of the wasm-hosted engine, keyd and netd (wasm/c/nsw_engine.c,
// nsw_keyd.c, nsw_netd.c):
// each call into the module is followed by draining the events it queued (nsw_*_next), which
// become the callbacks given here: a datagram for a peer role, a timer (setTimeout /
// setInterval), a received message. The page runs an EngineHost, the key Worker a KeydHost,
// the net Worker a NetHost (which also runs the gateway WebSocket and the nym-api fetches);
// what carries the datagrams between them (MessagePorts) is the caller's.
//   M: an instantiated nymsuite module (createNymsuite()).

export const ROLE = Object.freeze({ SUPERVISOR: 0, KEYD: 1, NETD: 2, APID: 3 });
const EV = Object.freeze({ DATAGRAM: 1, TIMER_START: 2, TIMER_STOP: 3, MESSAGE: 4,
  SELF_ADDRESS: 5, SEND_FAILED: 6, SHUTDOWN: 7, KEYS_SEALED: 8 });
export const KEYD_KEYS_LEN = 153;

// Bytes into the module's memory for the duration of fn(pointer); zeroed and freed after.
function withBytes(M, bytes, fn) {
  const p = M._nsw_alloc(bytes.length);
  M.HEAPU8.set(bytes, p);
  try { return fn(p, bytes.length); } finally { M._nsw_free(p, bytes.length); }
}

// Drains a state's events into handlers (an object keyed by event name).
function drain(M, next, state, h) {
  for (let ev = next(state); ev; ev = next(state)) {
    // struct nsw_event read in place (its wasm32 layout is asserted in nsw_outbox.c): next,
    // kind, arg[3], len, data; one call into the module per event fewer than five
    const w = M.HEAPU32, i = ev >>> 2;
    const kind = w[i + 1], a0 = w[i + 2], a1 = w[i + 3], a2 = w[i + 4], n = w[i + 5];
    const data = M.HEAPU8.slice(ev + 24, ev + 24 + n);
    M._nsw_event_free(ev);
    if (kind === EV.DATAGRAM) h.send?.(a0, data);
    else if (kind === EV.TIMER_START) h.timerStart?.(a0, a1, a2);
    else if (kind === EV.TIMER_STOP) h.timerStop?.(a0);
    else if (kind === EV.MESSAGE) h.onMessage?.(a0 ? data.slice(16) : data, a0 ? data.slice(0, 16) : null);
    else if (kind === EV.SELF_ADDRESS) h.onSelfAddress?.(data);
    else if (kind === EV.SEND_FAILED) h.onSendFailed?.(a0 + a1 * 2 ** 32, new TextDecoder().decode(data));
    else if (kind === EV.SHUTDOWN) h.onShutdown?.();
    else if (kind === EV.KEYS_SEALED) h.onKeysSealed?.(data);
    else h.other?.(kind, a0, a1, data);
  }
}

// The client engine. cb: {send(peerRole, datagram), onMessage(bytes, senderTag|null),
// onSelfAddress(bytes96), onSendFailed(msgId, why), onShutdown()}.
export class EngineHost {
  constructor(M, cb) {
    this.M = M;
    this.cb = cb;
    if (M._nsw_init() !== 0) throw new Error('nsw_init failed');
    this.e = M._nsw_engine_new();
    if (!this.e) throw new Error('nsw_engine_new: out of memory');
  }
  #drain() { drain(this.M, this.M._nsw_engine_next, this.e, this.cb); }
  // A datagram from keyd, netd or the supervisor; throws on one that does not decode.
  feed(fromRole, datagram) {
    const rc = withBytes(this.M, datagram, (p, n) => this.M._nsw_engine_feed(this.e, fromRole, p, n));
    this.#drain();
    if (rc < 0) throw new Error(`engine: datagram from role ${fromRole} refused: ${this.M.UTF8ToString(this.M._nsw_ipc_strerror(rc))}`);
  }
  // Returns the message id (what onSendFailed names).
  send(recipient, message, lane = 0) {
    const id = withBytes(this.M, recipient, (r) => withBytes(this.M, message,
      (p, n) => this.M._nsw_engine_send(this.e, r, p, n, lane)));
    this.#drain();
    if (id < 0) throw new Error('engine: the message cannot be sent');
    return id;
  }
  sendAnonymous(recipient, message, replySurbs, lane = 0) {
    const id = withBytes(this.M, recipient, (r) => withBytes(this.M, message,
      (p, n) => this.M._nsw_engine_send_anonymous(this.e, r, p, n, replySurbs, lane)));
    this.#drain();
    if (id < 0) throw new Error('engine: the message cannot be sent');
    return id;
  }
  reply(senderTag, message, lane = 0) {
    const rc = withBytes(this.M, senderTag, (t) => withBytes(this.M, message,
      (p, n) => this.M._nsw_engine_reply(this.e, t, p, n, lane)));
    this.#drain();
    if (rc < 0) throw new Error('engine: the reply cannot be sent');
  }
  unacked() { return this.M._nsw_engine_unacked(this.e) >>> 0; }
  stats() {
    const cap = 2048, p = this.M._nsw_alloc(cap);
    const n = this.M._nsw_engine_stats(this.e, p, cap);
    const text = new TextDecoder().decode(this.M.HEAPU8.slice(p, p + n));
    this.M._nsw_free(p, cap);
    return Object.fromEntries(text.trim().split('\n').map((l) => l.split('=')).map(([k, v]) => [k, Number(v)]));
  }
  free() { this.M._nsw_engine_free(this.e); this.e = 0; }
}

// keyd's operations. keys: NSW_KEYD_KEYS_LEN bytes (wasm/c/nsw_keyd.c), zeroed here once
// copied in (tests); or, in the key Worker, {store}: an open key store of the module
// (wasm/package/keystore.js), which the state takes over. cb: {send(peerRole, datagram),
// onShutdown(), onKeysSealed(record)}: with a store, every new gateway key or authentication
// timestamp comes out sealed again, for IndexedDB. Timers run on setTimeout.
export class KeydHost {
  constructor(M, keys, cb) {
    this.M = M;
    this.cb = cb;
    this.timers = new Map();
    if (M._nsw_init() !== 0) throw new Error('nsw_init failed');
    if (keys?.store) {
      this.k = M._nsw_keyd_new_store(keys.store);
    } else {
      if (keys.length !== KEYD_KEYS_LEN) throw new Error('keyd: wrong key blob length');
      this.k = withBytes(M, keys, (p) => M._nsw_keyd_new(p));
      keys.fill(0);
    }
    if (!this.k) throw new Error('nsw_keyd_new: out of memory');
    this.handlers = { send: cb.send, onShutdown: cb.onShutdown, onKeysSealed: cb.onKeysSealed,
      timerStart: (id, after, repeat) => this.#timerStart(id, after, repeat),
      timerStop: (id) => this.#timerStop(id) };
  }
  #drain() { drain(this.M, this.M._nsw_keyd_next, this.k, this.handlers); }
  #timerStop(id) {
    const t = this.timers.get(id);
    if (t) { clearTimeout(t); clearInterval(t); this.timers.delete(id); }
  }
  #timerStart(id, after, repeat) {
    this.#timerStop(id);
    const fire = () => { if (this.k) { this.M._nsw_keyd_timer(this.k, id); this.#drain(); } };
    this.timers.set(id, setTimeout(() => {
      if (repeat) this.timers.set(id, setInterval(fire, repeat));
      else this.timers.delete(id);
      fire();
    }, after));
  }
  start() { this.M._nsw_keyd_start(this.k); this.#drain(); }
  // A datagram from netd, the engine (APID) or the supervisor; throws when it is refused or a
  // peer broke the protocol (then the state takes nothing more: stop the Worker). With
  // hold, what keyd sends stays in its outbox until flush() or the next call: datagrams to
  // one peer that several feeds queued then leave as BATCHes (one postMessage for up to 8).
  feed(fromRole, datagram, hold = false) {
    const rc = withBytes(this.M, datagram, (p, n) => this.M._nsw_keyd_feed(this.k, fromRole, p, n));
    if (!hold) this.#drain();
    if (rc === -100) throw new Error(`keyd: ${this.M.UTF8ToString(this.M._nsw_keyd_error(this.k))}`);
    if (rc < 0) throw new Error(`keyd: datagram from role ${fromRole} refused: ${this.M.UTF8ToString(this.M._nsw_ipc_strerror(rc))}`);
  }
  flush() { if (this.k) this.#drain(); }
  free() {
    for (const id of [...this.timers.keys()]) this.#timerStop(id);
    this.M._nsw_keyd_free(this.k);
    this.k = 0;
  }
}

// ---- the net Worker

const NEV = Object.freeze({ WS_OPEN: 20, WS_SEND: 21, WS_PING: 22, WS_CLOSE: 23, HTTP_GET: 24,
  STATE: 25, LOG: 26 });
// The SDK's clientOverride debug settings netd takes: [section, name] (nsw_netd_set).
const NET_OVERRIDES = [['traffic', 'disableMainPoissonPacketDistribution'],
  ['traffic', 'averagePacketDelayMs'], ['traffic', 'messageSendingAverageDelayMs'],
  ['coverTraffic', 'disableLoopCoverTrafficStream'],
  ['coverTraffic', 'loopCoverTrafficAverageDelayMs'],
  ['acknowledgements', 'averageAckDelayMs'], ['acknowledgements', 'ackWaitAdditionMs']];
const HTTP_BODY_MAX = 64 * 1024 * 1024; // a nym-api answer larger than this is refused

function withCString(M, s, fn) {
  return withBytes(M, new TextEncoder().encode(`${s}\0`), (p) => fn(p));
}

// One GET: {status (0: no answer), body}.
async function httpGet(url) {
  try {
    const r = await fetch(url);
    const body = new Uint8Array(await r.arrayBuffer());
    return body.length > HTTP_BODY_MAX ? { status: 0, body: new Uint8Array(0) } : { status: r.status, body };
  } catch {
    return { status: 0, body: new Uint8Array(0) };
  }
}

function logLevel(line) {
  const m = /\b(ERROR|WARN|INFO|DEBUG|TRACE)\b/.exec(line);
  return m ? m[1].toLowerCase() : 'info';
}

// netd's operations: the gateway session over the global WebSocket (binaryType 'arraybuffer'),
// the nym-api over fetch, timers on setTimeout. config: {nymApiUrl, gatewayIdentity (base58),
// gatewayUrl, forceTls, registered (keyd holds a shared key for this gateway: authenticate;
// else register), and the SDK's clientOverride debug settings, either under
// config.clientOverride / config.debug or at the top: {traffic: {...}, coverTraffic: {...},
// acknowledgements: {...}}}. cb: {send(peerRole, datagram), log(level, line),
// onState(stateName, detail), onShutdown()}.
export class NetHost {
  constructor(M, config, cb) {
    this.M = M;
    this.cb = cb;
    this.timers = new Map();
    this.sockets = new Map();
    if (config.forceTls && !String(config.gatewayUrl).startsWith('wss://'))
      throw new Error('net: forceTls and a gateway that is not wss://');
    if (M._nsw_init() !== 0) throw new Error('nsw_init failed');
    this.n = M._nsw_netd_new();
    if (!this.n) throw new Error('nsw_netd_new: out of memory');
    if (withCString(M, config.nymApiUrl, (p) => M._nsw_netd_add_api(this.n, p)) < 0)
      throw new Error('net: bad nymApiUrl');
    for (const [section, name] of NET_OVERRIDES) {
      const v = (config.clientOverride ?? config.debug ?? config)?.[section]?.[name];
      if (v === undefined || v === null) continue;
      withCString(M, name, (p) => M._nsw_netd_set(this.n, p, typeof v === 'boolean' ? Number(v) : Number(v)));
    }
    const rc = withCString(M, config.gatewayIdentity, (id) => withCString(M, config.gatewayUrl,
      (url) => M._nsw_netd_setup(this.n, id, url, config.registered ? 1 : 0)));
    if (rc !== 0) throw new Error('net: bad gateway identity or URL');
    this.handlers = { send: cb.send, onShutdown: cb.onShutdown,
      timerStart: (id, after, repeat) => this.#timerStart(id, after, repeat),
      timerStop: (id) => this.#timerStop(id),
      other: (kind, a0, a1, data) => this.#event(kind, a0, a1, data) };
  }
  #drain() { if (this.n) drain(this.M, this.M._nsw_netd_next, this.n, this.handlers); }
  #drainSoon() {
    if (this.drainPosted) return;
    if (!this.tick) {
      this.tick = new MessageChannel();
      this.tick.port1.onmessage = () => { this.drainPosted = false; this.#drain(); };
      this.tick.port1.unref?.(); // node: the tests' process may end with it open
    }
    this.drainPosted = true;
    this.tick.port2.postMessage(null);
  }
  // Calls into the state (unless stopped) and drains what it queued.
  #call(fn) { if (!this.n) return undefined; const r = fn(); this.#drain(); return r; }
  #timerStop(id) {
    const t = this.timers.get(id);
    if (t) { clearTimeout(t); clearInterval(t); this.timers.delete(id); }
  }
  #timerStart(id, after, repeat) {
    this.#timerStop(id);
    const fire = () => this.#call(() => this.M._nsw_netd_timer(this.n, id));
    this.timers.set(id, setTimeout(() => {
      if (repeat) this.timers.set(id, setInterval(fire, repeat));
      else this.timers.delete(id);
      fire();
    }, after));
  }
  #event(kind, a0, a1, data) {
    if (kind === NEV.WS_OPEN) this.#wsOpen(a0, new TextDecoder().decode(data));
    else if (kind === NEV.WS_SEND) this.#wsSend(a0, a1, data);
    // The WebSocket API sends no ping: the browser answers the gateway's, and the connection
    // counts as alive until the browser reports it closed (Nym's wasm client has no keepalive
    // either). The ping is answered here so the session's keepalive does not fire.
    else if (kind === NEV.WS_PING) setTimeout(() => this.#call(() => this.M._nsw_netd_ws_pong(this.n, a0)), 0);
    else if (kind === NEV.WS_CLOSE) this.#wsClose(a0, a1);
    else if (kind === NEV.HTTP_GET) this.#httpGet(a0, new TextDecoder().decode(data));
    else if (kind === NEV.STATE) {
      const z = data.indexOf(0), dec = new TextDecoder();
      this.cb.onState?.(dec.decode(data.slice(0, z)), dec.decode(data.slice(z + 1)));
    } else if (kind === NEV.LOG) {
      const line = new TextDecoder().decode(data);
      this.cb.log?.(logLevel(line), line);
    }
  }
  #closed(conn, code, reason) {
    this.sockets.delete(conn);
    this.#call(() => withCString(this.M, reason ?? '', (p) => this.M._nsw_netd_ws_closed(this.n, conn, code, p)));
  }
  #wsOpen(conn, url) {
    let ws;
    try {
      ws = new WebSocket(url);
    } catch (e) {
      setTimeout(() => this.#closed(conn, 1006, String(e?.message ?? e)), 0);
      return;
    }
    ws.binaryType = 'arraybuffer';
    this.sockets.set(conn, ws);
    ws.onopen = () => this.#call(() => this.M._nsw_netd_ws_open(this.n, conn));
    // What a gateway message makes netd send (the frame for keyd to open) leaves at the next
    // task, so that the messages that arrived together go to the key Worker as BATCHes (one
    // postMessage per 8 frames); any other call drains it sooner.
    ws.onmessage = (e) => {
      if (!this.n) return;
      const binary = typeof e.data !== 'string';
      const bytes = binary ? new Uint8Array(e.data) : new TextEncoder().encode(e.data);
      withBytes(this.M, bytes, (p, n) => this.M._nsw_netd_ws_message(this.n, conn, binary ? 1 : 0, p, n));
      this.#drainSoon();
    };
    ws.onclose = (e) => this.#closed(conn, e.code, e.reason);
    ws.onerror = () => {}; // a close event follows
  }
  #wsSend(conn, binary, data) {
    const ws = this.sockets.get(conn);
    if (!ws || ws.readyState !== 1) return; // its close event is on its way
    ws.send(binary ? data : new TextDecoder().decode(data));
  }
  #wsClose(conn, graceful) {
    const ws = this.sockets.get(conn);
    if (!ws) return;
    this.sockets.delete(conn);
    ws.onopen = ws.onmessage = ws.onclose = ws.onerror = null; // no event of it may follow
    try { if (graceful) ws.close(1000); else ws.close(); } catch { /* already closing */ }
  }
  async #httpGet(req, url) {
    const { status, body } = await httpGet(url);
    this.#call(() => withBytes(this.M, body, (p, n) => this.M._nsw_netd_http(this.n, req, status, p, n)));
  }
  // Fetches the key-rotation info and the topology, then connects to the gateway.
  start() {
    const rc = this.#call(() => this.M._nsw_netd_start(this.n));
    if (rc < 0) throw new Error('net: cannot start');
  }
  // A datagram from keyd, the engine (APID) or the supervisor; throws when it is refused.
  feed(fromRole, datagram) {
    const rc = this.#call(() => withBytes(this.M, datagram, (p, n) => this.M._nsw_netd_feed(this.n, fromRole, p, n)));
    if (rc === -100) throw new Error(`net: ${this.M.UTF8ToString(this.M._nsw_netd_error(this.n))}`);
    if (rc < 0) throw new Error(`net: datagram from role ${fromRole} refused: ${this.M.UTF8ToString(this.M._nsw_ipc_strerror(rc))}`);
  }
  // Closes the gateway connection, stops every timer and frees the state.
  stop() {
    if (!this.n) return;
    this.#call(() => this.M._nsw_netd_stop(this.n));
    if (this.tick) { this.tick.port1.close(); this.tick = null; this.drainPosted = false; }
    for (const id of [...this.timers.keys()]) this.#timerStop(id);
    for (const conn of [...this.sockets.keys()]) this.#wsClose(conn, 1);
    this.M._nsw_netd_free(this.n);
    this.n = 0;
  }
  // The gateway of a first start, as Nym's wasm client picks it: preferredGateway when given
  // (it must be a usable entry gateway of the nym-api), else one drawn uniformly among the
  // nym-api's usable entry gateways (with forceTls only wss ones).
  static async chooseGateway(M, { nymApiUrl, preferredGateway, forceTls }) {
    if (M._nsw_init() !== 0) throw new Error('nsw_init failed');
    const q = withCString(M, nymApiUrl, (p) => M._nsw_gwfetch_new(p));
    if (!q) throw new Error('chooseGateway: bad nymApiUrl');
    const cap = 1024, idp = M._nsw_alloc(32), up = M._nsw_alloc(cap);
    try {
      for (let u = M._nsw_gwfetch_next(q); u; u = M._nsw_gwfetch_next(q)) {
        const { status, body } = await httpGet(M.UTF8ToString(u));
        withBytes(M, body, (p, n) => M._nsw_gwfetch_feed(q, status, p, n));
      }
      const rc = withCString(M, preferredGateway ?? '', (w) => M._nsw_gwfetch_choose(q, forceTls ? 1 : 0, w, idp, up, cap));
      if (rc !== 0) throw new Error(`chooseGateway: ${M.UTF8ToString(M._nsw_gwfetch_error(q))}`);
      return { identity: M.UTF8ToString(M._nsw_gwfetch_chosen(q)), identityBytes: M.HEAPU8.slice(idp, idp + 32),
        url: M.UTF8ToString(up) };
    } finally {
      M._nsw_free(idp, 32);
      M._nsw_free(up, cap);
      M._nsw_gwfetch_free(q);
    }
  }
}

// IPC datagrams to and from JSON ({type, fields}; BIN as hex), for JS that plays a peer.
export function ipcDecode(M, selfRole, peerRole, datagram) {
  const errp = M._nsw_alloc(4);
  const s = withBytes(M, datagram, (p, n) => M._nsw_ipc_json_decode(selfRole, peerRole, p, n, errp));
  const err = new DataView(M.HEAPU8.buffer).getInt32(errp, true);
  M._nsw_free(errp, 4);
  if (!s) throw new Error(`IPC decode: ${M.UTF8ToString(M._nsw_ipc_strerror(err))}`);
  const text = M.UTF8ToString(s);
  M._nsw_free(s, text.length);
  return JSON.parse(text);
}

export function ipcEncode(M, selfRole, peerRole, msg) {
  const json = new TextEncoder().encode(JSON.stringify(msg) + '\0');
  const cap = M._nsw_ipc_max_datagram(), out = M._nsw_alloc(cap);
  try {
    const n = withBytes(M, json, (j) => M._nsw_ipc_json_encode(selfRole, peerRole, j, out, cap));
    if (n < 0) throw new Error(`IPC encode ${msg.type}: ${M.UTF8ToString(M._nsw_ipc_strerror(n))}`);
    return M.HEAPU8.slice(out, out + n);
  } finally { M._nsw_free(out, cap); }
}
