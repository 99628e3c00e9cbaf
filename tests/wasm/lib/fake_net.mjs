// A stand-in for NetHost (the net Worker's netd core) and the network behind it, for the
// package's node test: it plays netd toward keyd and the engine exactly through the IPC
// catalogue and plays the gateway and three mix nodes with the module's own calls: the
// gateway's side of the registration handshake, opening each SEALED_FRAME with the shared key,
// Sphinx processing hop by hop, the SURB-ack split, pushing OPEN_FRAMEs back. No socket. The
// network's keys are derived from fixed labels, and the registered shared key is kept in a
// file, so a second client instance (a reload) meets the same gateway, which still knows it.
// What it did is appended to net-events.json for the test to read. Test-only.
import { appendFileSync, readFileSync, writeFileSync } from 'node:fs';
import { ipcDecode, ipcEncode } from './hosts.real.mjs';

const ROLE = { SUPERVISOR: 0, KEYD: 1, NETD: 2, APID: 3 };
const dir = process.env.NYMSUITE_TEST_DIR;
const hex = (u) => Buffer.from(u).toString('hex');
const unhex = (s) => new Uint8Array(Buffer.from(s, 'hex'));
const note = (ev) => appendFileSync(`${dir}/net-events.json`, JSON.stringify(ev) + '\n');

function call(M, inputs, outLens, fn) {
  const ins = inputs.map((b) => { const p = M._nsw_alloc(b.length); M.HEAPU8.set(b, p); return [p, b.length]; });
  const outs = outLens.map((n) => [M._nsw_alloc(n), n]);
  try {
    const rc = fn(...ins.map(([p]) => p), ...outs.map(([p]) => p));
    return [rc, ...outs.map(([p, n]) => M.HEAPU8.slice(p, p + n))];
  } finally { for (const [p, n] of [...ins, ...outs]) M._nsw_free(p, n); }
}

function network(M) {
  const sha = (label) => call(M, [new TextEncoder().encode(label)], [32], (p, o) => M._nsw_sha256(o, p, label.length))[1];
  const ed = (seed) => call(M, [seed], [32], (s, o) => M._nsw_ed25519_public(s, o))[1];
  const xb = (sk) => call(M, [sk], [32], (s, o) => M._nsw_x25519_base(o, s))[1];
  const gwSeed = sha('stand-in gateway identity');
  const nodes = [1, 2, 3, 4].map((role) => {
    const secret = sha(`stand-in node ${role}`);
    const address = new Uint8Array(32); address.set([4, 160, role, 127, 0, 0, 1]);
    return { role, node_id: role * 10, secret, sphinx: xb(secret), address,
      identity: role === 4 ? ed(gwSeed) : ed(sha(`stand-in node identity ${role}`)) };
  });
  return { gwSeed, gateway: nodes[3], nodes, byAddress: new Map(nodes.map((n) => [hex(n.address), n])) };
}

function base58(M, bytes) {
  const [n, out] = call(M, [bytes], [64], (p, o) => M._nsw_base58_encode(p, bytes.length, o, 64));
  return new TextDecoder().decode(out.slice(0, n));
}

export class NetHost {
  static async chooseGateway(M, opts) {
    note({ event: 'chooseGateway', opts });
    const g = network(M).gateway;
    return { identity: base58(M, g.identity), identityBytes: g.identity, url: 'ws://127.0.0.1:9/stand-in' };
  }

  constructor(M, config, cb) {
    Object.assign(this, { M, config, cb, net: network(M), frames: 0, delivered: 0 });
    note({ event: 'config', config });
  }

  #to(role, msg) { this.cb.send(role, ipcEncode(this.M, ROLE.NETD, role, msg)); }

  start() {
    const { nodes, gateway } = this.net;
    if (this.config.gatewayIdentity !== base58(this.M, gateway.identity)) throw new Error('stand-in: not our gateway');
    this.#to(ROLE.KEYD, { type: 'GW_PROTOCOL', protocol: 5 });
    this.#to(ROLE.KEYD, { type: 'TOPOLOGY_BEGIN', generation: 1, key_rotation_id: 0, nodes: nodes.length });
    for (const n of nodes)
      this.#to(ROLE.KEYD, { type: 'TOPOLOGY_NODE', generation: 1, role: n.role, node_id: n.node_id,
        identity: hex(n.identity), sphinx_key: hex(n.sphinx), address: hex(n.address) });
    this.#to(ROLE.KEYD, { type: 'TOPOLOGY_END', generation: 1, nodes: nodes.length });
    if (this.config.registered)
      this.#to(ROLE.KEYD, { type: 'GW_AUTH_REQUEST', gateway_identity: hex(gateway.identity), protocol: 4, timestamp: Math.floor(Date.now() / 1000) });
    else
      this.#to(ROLE.KEYD, { type: 'GW_HANDSHAKE_START', gateway_identity: hex(gateway.identity), protocol: 3, fresh: true });
  }

  stop() { note({ event: 'stop', frames: this.frames }); }

  feed(from, d) {
    for (const m of ipcDecode(this.M, ROLE.NETD, from, d)) {
      if (from === ROLE.KEYD) this.#fromKeyd(m);
      else if (from === ROLE.SUPERVISOR && m.type === 'STATS_REQUEST')
        this.#to(ROLE.SUPERVISOR, { type: 'STATS_REPLY', request_id: m.request_id, text: `frames=${this.frames}\ndelivered=${this.delivered}\n` });
    }
  }

  #fromKeyd(m) {
    const M = this.M;
    if (m.type === 'GW_HANDSHAKE_OUT') {
      this.hs ??= call(M, [this.net.gwSeed], [], (s) => M._nsw_gw_hs_gateway_new(s))[0];
      const msg = unhex(m.message);
      const [n, out] = call(M, [msg], [256], (p, o) => M._nsw_gw_hs_gateway_step(this.hs, p, msg.length, o, 256));
      if (n <= 0) throw new Error(`stand-in gateway: handshake step refused (${n})`);
      this.#to(ROLE.KEYD, { type: 'GW_HANDSHAKE_IN', message: hex(out.slice(0, n)) });
    } else if (m.type === 'GW_SESSION_READY') {
      const [legacy, key] = call(M, [], [32], (o) => M._nsw_gw_hs_gateway_key(this.hs, o));
      if (legacy < 0) throw new Error('stand-in gateway: no key after the handshake');
      writeFileSync(`${dir}/gateway-key`, hex(key));
      this.key = key;
      note({ event: 'registered' });
      this.cb.onState('ready', { registered: true });
    } else if (m.type === 'GW_AUTH_TEXT') {
      this.key = unhex(readFileSync(`${dir}/gateway-key`, 'utf8'));
      note({ event: 'authenticated' });
      this.cb.onState('ready', { registered: false });
    } else if (m.type === 'GW_HANDSHAKE_FAILED') {
      note({ event: 'handshake failed', reason: m.reason });
    } else if (m.type === 'SEALED_FRAME') {
      this.frames++;
      const frame = unhex(m.frame);
      const [n, packet, info] = call(M, [this.key, frame], [frame.length, 34],
        (k, f, o, i) => M._nsw_gw_open_request(k, 0, f, frame.length, o, frame.length, i));
      if (n <= 0) throw new Error(`stand-in gateway: frame does not open (${n})`);
      if (m.frag_id !== '0000000000') this.#to(ROLE.APID, { type: 'FRAMES_SENT', frag_ids: m.frag_id, dropped: false });
      setTimeout(() => this.#deliver(packet.slice(0, n), info.slice(0, 32), false), 0);
    }
  }

  #route(packet, firstHop) {
    const M = this.M, HDR = M._nsw_sphinx_header_len();
    let node = this.net.byAddress.get(hex(firstHop));
    for (let hops = 0; node && hops < 8; hops++) {
      const [rc, out, info] = call(M, [node.secret, packet], [packet.length, 123],
        (s, p, o, i) => M._nsw_sphinx_process(s, p, packet.length, o, i));
      if (rc !== 0) return null;
      if (info[0] === 2) {
        const payload = out.slice(HDR);
        const [r, span] = call(M, [payload], [8], (p, o) => M._nsw_sphinx_recover(p, payload.length, o));
        if (r !== 0) return null;
        const v = new DataView(span.buffer);
        return payload.slice(v.getUint32(0, true), v.getUint32(0, true) + v.getUint32(4, true));
      }
      packet = out;
      node = this.net.byAddress.get(hex(info.slice(3, 35)));
    }
    return null;
  }

  #push(msg) {
    const M = this.M;
    const [n, frame] = call(M, [this.key, msg], [msg.length + 64], (k, p, o) => M._nsw_gw_push(k, 0, p, msg.length, o, msg.length + 64));
    if (n <= 0) throw new Error('stand-in gateway: cannot push');
    this.#to(ROLE.KEYD, { type: 'OPEN_FRAME', frame: hex(frame.slice(0, n)) });
  }

  #deliver(packet, firstHop, isAck) {
    const M = this.M;
    const plain = this.#route(packet, firstHop);
    if (!plain) { note({ event: 'lost' }); return; }
    if (isAck) { this.#push(plain); return; }
    const [rc, hop, span] = call(M, [plain], [32, 16], (p, h, o) => M._nsw_surb_ack_split(p, plain.length, h, o));
    if (rc !== 0) { note({ event: 'lost' }); return; }
    const v = new DataView(span.buffer);
    const ack = plain.slice(v.getUint32(0, true), v.getUint32(0, true) + v.getUint32(4, true));
    const rest = plain.slice(v.getUint32(8, true), v.getUint32(8, true) + v.getUint32(12, true));
    this.delivered++;
    this.#push(rest);
    setTimeout(() => this.#deliver(ack, hop, true), 0);
  }
}
