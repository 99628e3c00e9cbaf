// The key Worker's side of the sealed key store (wasm/c/nsw_keystore.c): the keys are made
// and opened inside the module; this file only ever handles sealed records, the passphrase on
// its way in (zeroed after) and public values (gateway identity and URL). M: a nymsuite module.

const utf8 = new TextEncoder();

function withBytes(M, bytes, fn) {
  const p = M._nsw_alloc(bytes.length);
  M.HEAPU8.set(bytes, p);
  try { return fn(p, bytes.length); } finally { M._nsw_free(p, bytes.length); }
}

// passphrase: undefined or null = none; '' is refused (it would protect nothing).
function withPass(M, passphrase, fn) {
  if (passphrase == null) return fn(0, 0);
  const bytes = utf8.encode(String(passphrase));
  try { return withBytes(M, bytes, fn); } finally { bytes.fill(0); }
}

function withErr(M, fn) {
  const errp = M._nsw_alloc(4);
  try {
    const r = fn(errp);
    if (r) return r;
    const err = new DataView(M.HEAPU8.buffer).getInt32(errp, true);
    const e = new Error(`key store: ${M.UTF8ToString(M._nsw_keystore_strerror(err))}`);
    e.code = err;
    throw e;
  } finally { M._nsw_free(errp, 4); }
}

// A new client's keys for the gateway chosen at first start. Returns the store (a pointer).
export function createStore(M, { clientId, passphrase, gatewayIdentity, gatewayUrl }) {
  if (gatewayIdentity?.length !== 32) throw new Error('key store: a 32-byte gateway identity is needed');
  const id = utf8.encode(clientId), url = utf8.encode(gatewayUrl);
  return withErr(M, (errp) => withBytes(M, id, (pi, ni) => withPass(M, passphrase, (pp, np) =>
    withBytes(M, gatewayIdentity, (pg) => withBytes(M, url, (pu, nu) =>
      M._nsw_keystore_create(pi, ni, pp, np, pg, pu, nu, errp))))));
}

// A stored client's sealed record; throws (err.code = NSW_KS_E*) when it does not open.
export function openStore(M, sealed, { clientId, passphrase }) {
  const id = utf8.encode(clientId);
  return withErr(M, (errp) => withBytes(M, sealed, (ps, ns) => withBytes(M, id, (pi, ni) =>
    withPass(M, passphrase, (pp, np) => M._nsw_keystore_open(ps, ns, pi, ni, pp, np, errp)))));
}

export function sealStore(M, ks) {
  const n = M._nsw_keystore_sealed_len(ks), out = M._nsw_alloc(n);
  try {
    const w = M._nsw_keystore_seal(ks, out, n);
    if (w !== n) throw new Error('key store: cannot seal');
    return M.HEAPU8.slice(out, out + n);
  } finally { M._nsw_free(out, n); }
}

// The public values: the gateway (identity bytes, URL), our address bytes, whether a gateway
// shared key is stored (netd authenticates) or keyd must register first.
export function storeInfo(M, ks) {
  const p = M._nsw_alloc(96 + 32);
  try {
    M._nsw_keystore_address(ks, p);
    M._nsw_keystore_gateway(ks, p + 96);
    return { address: M.HEAPU8.slice(p, p + 96), gatewayIdentity: M.HEAPU8.slice(p + 96, p + 128),
      gatewayUrl: M.UTF8ToString(M._nsw_keystore_url(ks)), registered: M._nsw_keystore_registered(ks) === 1 };
  } finally { M._nsw_free(p, 128); }
}

export function freeStore(M, ks) { M._nsw_keystore_free(ks); }

export const KS_ERR = Object.freeze({ FORMAT: -1, NEED_PASSPHRASE: -2, UNEXPECTED_PASSPHRASE: -3,
  OPEN: -4, NOMEM: -5, ARG: -6 });
