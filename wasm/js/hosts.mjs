// The JavaScript side of the wasm-hosted engine and keyd (wasm/c/nsw_engine.c, nsw_keyd.c):
// each call into the module is followed by draining the events it queued (nsw_*_next), which
// become the callbacks given here: a datagram for a peer role, a timer (setTimeout /
// setInterval), a received message. The page runs an EngineHost, the key Worker a KeydHost;
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
    const kind = M._nsw_event_kind(ev), a0 = M._nsw_event_arg(ev, 0) >>> 0;
    const a1 = M._nsw_event_arg(ev, 1) >>> 0, a2 = M._nsw_event_arg(ev, 2) >>> 0;
    const p = M._nsw_event_data(ev), n = M._nsw_event_len(ev);
    const data = M.HEAPU8.slice(p, p + n);
    M._nsw_event_free(ev);
    if (kind === EV.DATAGRAM) h.send?.(a0, data);
    else if (kind === EV.TIMER_START) h.timerStart?.(a0, a1, a2);
    else if (kind === EV.TIMER_STOP) h.timerStop?.(a0);
    else if (kind === EV.MESSAGE) h.onMessage?.(a0 ? data.slice(16) : data, a0 ? data.slice(0, 16) : null);
    else if (kind === EV.SELF_ADDRESS) h.onSelfAddress?.(data);
    else if (kind === EV.SEND_FAILED) h.onSendFailed?.(a0 + a1 * 2 ** 32, new TextDecoder().decode(data));
    else if (kind === EV.SHUTDOWN) h.onShutdown?.();
    else if (kind === EV.KEYS_SEALED) h.onKeysSealed?.(data);
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
  // peer broke the protocol (then the state takes nothing more: stop the Worker).
  feed(fromRole, datagram) {
    const rc = withBytes(this.M, datagram, (p, n) => this.M._nsw_keyd_feed(this.k, fromRole, p, n));
    this.#drain();
    if (rc === -100) throw new Error(`keyd: ${this.M.UTF8ToString(this.M._nsw_keyd_error(this.k))}`);
    if (rc < 0) throw new Error(`keyd: datagram from role ${fromRole} refused: ${this.M.UTF8ToString(this.M._nsw_ipc_strerror(rc))}`);
  }
  free() {
    for (const id of [...this.timers.keys()]) this.#timerStop(id);
    this.M._nsw_keyd_free(this.k);
    this.k = 0;
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
