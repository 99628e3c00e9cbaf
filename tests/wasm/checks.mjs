// The checks of nymsuite.wasm's exported C API (wasm/c/nsw_api.h), shared by the node runner
// (api_test.mjs) and the browser smoke test (browser/worker.mjs): every Sphinx packet of the
// real-client vector file V and its SURB-ack rebuilt byte for byte from build_inputs, every hop
// processed with the node's key and compared, the final plaintext recovered, and IPC
// datagrams decoded / re-encoded as strictly as the native processes do.
// M: the instantiated module. Returns {passed, failed, failures: [text]}.
export function runChecks(M, V) {
  let passed = 0, failed = 0;
  const failures = [];
  function check(name, ok, why = '') {
    if (ok) passed++;
    else { failed++; failures.push(`${name}${why ? ': ' + why : ''}`); }
  }

  const hex = (s) => Uint8Array.from(s.match(/../g) ?? [], (b) => parseInt(b, 16));
  const toHex = (u) => Array.from(u, (b) => b.toString(16).padStart(2, '0')).join('');
  // Module memory: a copy in, a copy out; everything freed (and zeroed) by the caller.
  const allocs = [];
  function put(bytes) {
    const p = M._nsw_alloc(bytes.length);
    M.HEAPU8.set(bytes, p);
    allocs.push([p, bytes.length]);
    return p;
  }
  function buf(n) { return put(new Uint8Array(n)); }
  const get = (p, n) => M.HEAPU8.slice(p, p + n);
  function freeAll() { for (const [p, n] of allocs.splice(0)) M._nsw_free(p, n); }

  check('nsw_init', M._nsw_init() === 0);

  const nodes = new Map(V.network.nodes.map((n) => [Number(n.node_id), n]));
  function le64(decimal) {
    const out = new Uint8Array(8);
    let v = BigInt(decimal);
    for (let i = 0; i < 8; i++, v >>= 8n) out[i] = Number(v & 0xffn);
    return out;
  }
  function concat(parts) {
    const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
    let off = 0;
    for (const p of parts) { out.set(p, off); off += p.length; }
    return out;
  }

  // Builds the packet of build_inputs with the module and compares it with want (hex).
  function rebuild(name, bi, wantHex) {
    const want = hex(wantHex);
    const route = bi.route_node_ids.map((id) => nodes.get(Number(id)));
    const addrs = concat(route.map((n) => hex(n.routing_address_32)));
    const pubs = concat(route.map((n) => hex(n.x25519_sphinx_public_hex)));
    const delays = concat(bi.delays_ns_encoded.map(le64));
    const msg = hex(bi.sphinx_plaintext);
    const out = buf(want.length);
    const n = M._nsw_sphinx_build(put(addrs), put(pubs), route.length, put(delays.length ? delays : new Uint8Array(1)),
      put(hex(bi.destination)), put(hex(bi.identifier)), Number(bi.version), put(hex(bi.initial_secret)),
      put(hex(bi.final_routing_padding)), put(msg), msg.length, want.length - 348, out);
    const got = get(out, want.length);
    freeAll();
    check(`${name}: rebuilt`, n === want.length && toHex(got) === wantHex,
      n !== want.length ? `returned ${n}` : 'bytes differ');
    return want;
  }

  // Processes every hop; forward hops must give out_packet, the last one final_payload.
  function processHops(name, packet, hops) {
    let cur = packet;
    hops.forEach((hop, i) => {
      const out = buf(cur.length), info = buf(123);
      const rc = M._nsw_sphinx_process(put(hex(hop.node_x25519_private_hex)), put(cur), cur.length, out, info);
      const next = get(out, cur.length), inf = get(info, 123);
      freeAll();
      const flag = inf[0], version = inf[1] | (inf[2] << 8);
      let ok = rc === 0 && flag === Number(hop.flag) && version === Number(hop.version) &&
        toHex(inf.slice(91, 123)) === hop.replay_tag;
      if (ok && flag === 1)
        ok = toHex(inf.slice(3, 35)) === hop.next_hop_address_32 &&
          new DataView(inf.buffer, 35, 8).getBigUint64(0, true) === BigInt(hop.delay_ns) &&
          (!hop.out_packet || toHex(next) === hop.out_packet);
      if (ok && flag === 2)
        ok = toHex(inf.slice(43, 75)) === hop.destination && toHex(inf.slice(75, 91)) === hop.identifier &&
          (!hop.final_payload || toHex(next.slice(348)) === hop.final_payload);
      check(`${name}: hop ${i + 1}`, ok, `rc ${rc} flag ${flag}`);
      cur = next;
    });
    return cur;
  }

  for (const p of V.packets) {
    const pkt = rebuild(p.name, p.build_inputs, p.mix_packet.sphinx_packet);
    const last = processHops(p.name, pkt, p.hops);
    if (p.sphinx_plaintext_2048) {
      const loc = buf(8), pl = last.slice(348);
      const rc = M._nsw_sphinx_recover(put(pl), pl.length, loc);
      const [off, len] = new Uint32Array(get(loc, 8).buffer);
      freeAll();
      check(`${p.name}: plaintext`, rc === 0 && toHex(pl.slice(off, off + len)) === p.build_inputs.sphinx_plaintext);
    }
    if (p.surb_ack?.build_inputs) {
      const ack = rebuild(`${p.name} surb_ack`, p.surb_ack.build_inputs, p.surb_ack.ack_packet_386);
      if (p.surb_ack.hops) processHops(`${p.name} surb_ack`, ack, p.surb_ack.hops);
    }
  }

  // Malformed input through the API: a hop count outside 1..5, a message too large for the
  // payload, a packet with a flipped header MAC byte or cut short, a GCM-SIV ciphertext
  // shorter than its tag or with a flipped bit.
  {
    const p0 = V.packets[0], pkt = hex(p0.mix_packet.sphinx_packet);
    const z = (n) => put(new Uint8Array(n));
    const out = buf(pkt.length);
    for (const hops of [0, 6])
      check(`sphinx build: ${hops} hops refused`, M._nsw_sphinx_build(z(32 * 6), z(32 * 6), hops, z(48),
        z(32), z(16), 259, z(32), 0, z(10), 10, 1024, out) === -1);
    check('sphinx build: message larger than the payload refused',
      M._nsw_sphinx_build(z(32), z(32), 1, z(8), z(32), z(16), 259, z(32), 0, z(1024), 1024, 1024, out) === -1);
    const sk = hex(p0.hops[0].node_x25519_private_hex), info = buf(123);
    const bad = pkt.slice(); bad[40] ^= 1; // inside gamma, the header MAC
    check('sphinx process: flipped MAC refused (-2)', M._nsw_sphinx_process(put(sk), put(bad), bad.length, out, info) === -2);
    check('sphinx process: 300-byte packet refused (-1)', M._nsw_sphinx_process(put(sk), put(pkt), 300, out, info) === -1);
    const key = z(32), nonce = z(12), ct = buf(64 + 16), pt = buf(64);
    check('gcm-siv seal', M._nsw_gcmsiv_seal(ct, z(64), 64, 0, 0, key, nonce) === 80);
    check('gcm-siv open', M._nsw_gcmsiv_open(pt, ct, 80, 0, 0, key, nonce) === 64);
    check('gcm-siv: 15-byte ciphertext refused', M._nsw_gcmsiv_open(pt, ct, 15, 0, 0, key, nonce) === -1);
    M.HEAPU8[ct + 3] ^= 0x80;
    check('gcm-siv: flipped bit refused', M._nsw_gcmsiv_open(pt, ct, 80, 0, 0, key, nonce) === -1);
    freeAll();
  }

  // IPC: ACK (31) from keyd (1) to apid (3); the same from netd (2) is refused; so is a
  // non-shortest type number, a short bin and trailing bytes.
  function recode(self, peer, bytes) {
    const out = buf(256), len = buf(4);
    const rc = M._nsw_ipc_recode(self, peer, put(bytes), bytes.length, out, 256, len);
    const n = new Uint32Array(get(len, 4).buffer)[0], got = get(out, n);
    freeAll();
    return [rc, got];
  }
  const ack = Uint8Array.from([0x92, 0x1f, 0xc4, 0x05, 1, 2, 3, 4, 5]);
  {
    const [rc, got] = recode(3, 1, ack);
    check('ipc: ACK keyd->apid decodes and re-encodes identically', rc === 31 && toHex(got) === toHex(ack), `rc ${rc}`);
    check('ipc: type name', M.UTF8ToString(M._nsw_ipc_type_name(31)) === 'ACK');
  }
  const refused = [
    ['ACK from netd', 3, 2, ack, -7],
    ['long-form type', 3, 1, [0x92, 0xcc, 0x1f, 0xc4, 0x05, 1, 2, 3, 4, 5], -4],
    ['4-byte frag id', 3, 1, [0x92, 0x1f, 0xc4, 0x04, 1, 2, 3, 4], -10],
    ['trailing byte', 3, 1, [0x92, 0x1f, 0xc4, 0x05, 1, 2, 3, 4, 5, 0], -3],
    ['truncated', 3, 1, [0x92, 0x1f, 0xc4, 0x05, 1, 2], -2],
    ['unknown type', 3, 1, [0x91, 0x7f], -5],
  ];
  for (const [what, self, peer, bytes, want] of refused) {
    const [rc] = recode(self, peer, Uint8Array.from(bytes));
    check(`ipc: ${what} refused (${want})`, rc === want, `got ${rc} ${M.UTF8ToString(M._nsw_ipc_strerror(rc))}`);
  }

  return { passed, failed, failures };
}
