// Small helpers over the module shared by the page and the Workers: strings and bytes into
// the module, Nym's address and sender-tag strings, and which role a datagram on a port is
// from or for (one port carries both the page's roles: the engine's APID and the SUPERVISOR).

const utf8 = new TextEncoder();

export function withBytes(M, bytes, fn) {
  const p = M._nsw_alloc(bytes.length);
  M.HEAPU8.set(bytes, p);
  try { return fn(p, bytes.length); } finally { M._nsw_free(p, bytes.length); }
}

function withCString(M, s, fn) {
  const b = utf8.encode(String(s) + '\0');
  return withBytes(M, b, fn);
}

function formatted(M, cap, fn) {
  const p = M._nsw_alloc(cap);
  try {
    const n = fn(p, cap);
    if (n < 0) throw new Error('format failed');
    return M.UTF8ToString(p, n);
  } finally { M._nsw_free(p, cap); }
}

// "identity.encryption@gateway" -> 96 bytes; throws on a malformed address (as Nym's parser).
export function parseRecipient(M, text) {
  if (typeof text !== 'string') throw new Error('recipient: not a string');
  const out = M._nsw_alloc(96);
  try {
    const rc = withCString(M, text, (p) => M._nsw_recipient_parse(p, out));
    if (rc !== 0) throw new Error(`recipient: malformed Nym address (${rc})`);
    return M.HEAPU8.slice(out, out + 96);
  } finally { M._nsw_free(out, 96); }
}

export function formatRecipient(M, bytes) {
  return withBytes(M, bytes, (p) => formatted(M, 256, (o, cap) => M._nsw_recipient_format(p, o, cap)));
}

export function formatSenderTag(M, tag) {
  return withBytes(M, tag, (p) => formatted(M, 64, (o, cap) => M._nsw_sender_tag_format(p, o, cap)));
}

// A sender tag as the page gives it: the base58 string of a received event, or 16 bytes.
export function parseSenderTag(M, tag) {
  if (tag instanceof Uint8Array && tag.length === 16) return tag.slice();
  const out = M._nsw_alloc(16);
  try {
    const rc = withCString(M, tag, (p) => M._nsw_sender_tag_parse(p, out));
    if (rc !== 0) throw new Error('senderTag: not a sender tag');
    return M.HEAPU8.slice(out, out + 16);
  } finally { M._nsw_free(out, 16); }
}

export function base58(M, bytes) {
  return withBytes(M, bytes, (p) => formatted(M, 2 * bytes.length + 8, (o, cap) => M._nsw_base58_encode(p, bytes.length, o, cap)));
}

// Scratch space for ipcRoleFor, one per module (allocated once: a datagram's worth).
const scratch = new WeakMap();

// The first of `candidates` for which the datagram decodes: as received by `self` from the
// candidate (a Worker telling the page's two roles apart), or as sent by `from` to the
// candidate (the page telling its own two roles apart). The catalogue's own strict decode,
// with no effect on any state; -1 when none fits.
export function ipcRoleFor(M, datagram, { self, from, candidates }) {
  let s = scratch.get(M);
  if (!s) {
    const cap = M._nsw_ipc_max_datagram();
    s = { cap, out: M._nsw_alloc(cap), lenp: M._nsw_alloc(4) };
    scratch.set(M, s);
  }
  return withBytes(M, datagram, (p, n) => {
    for (const r of candidates) {
      const rc = M._nsw_ipc_recode(self ?? r, from ?? r, p, n, s.out, s.cap, s.lenp);
      if (rc >= 0) {
        const len = new DataView(M.HEAPU8.buffer).getUint32(s.lenp, true);
        M.HEAPU8.fill(0, s.out, s.out + len); // the copy may be a message's plaintext
        return r;
      }
    }
    return -1;
  });
}

// The bound of the key Worker's queue of the page's datagrams (as a socket buffer bounds
// keyd's backlog natively): at most this many bytes and datagrams sent and not yet taken; the
// page keeps the rest. One datagram is always let through when nothing is outstanding.
export const KEY_QUEUE = Object.freeze({ bytes: 256 * 1024, datagrams: 64 });
