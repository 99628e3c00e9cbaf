// The SDK's payload encoding ({mimeType, headers} + bytes, as @nymproject/sdk's wasm writes
// and reads it), done by the module's C codec (common/sdk_payload.c) so that both sides agree
// byte for byte with serde_json. M: an instantiated nymsuite module.

const utf8 = new TextEncoder();
const utf8Decoder = new TextDecoder('utf-8', { fatal: true });

function copyIn(M, bytes) {
  const p = M._nsw_alloc(bytes.length);
  M.HEAPU8.set(bytes, p);
  return p;
}

function sdkError(M, rc) {
  return new Error(`SDK payload: ${M.UTF8ToString(M._nsw_sdk_strerror(rc))}`);
}

// mimeType: string; headers: string or null; bytes: Uint8Array. Returns the message.
export function encodePayload(M, mimeType, headers, bytes) {
  const mime = utf8.encode(mimeType);
  const hdr = headers == null ? new Uint8Array(0) : utf8.encode(headers);
  const has = headers == null ? 0 : 1;
  const pm = copyIn(M, mime), ph = copyIn(M, hdr), pp = copyIn(M, bytes);
  let out = 0, cap = 0;
  try {
    const n = M._nsw_sdk_encoded_len(pm, mime.length, ph, hdr.length, has, bytes.length);
    if (n < 0) throw sdkError(M, n);
    cap = n;
    out = M._nsw_alloc(cap);
    const w = M._nsw_sdk_encode(pm, mime.length, ph, hdr.length, has, pp, bytes.length, out, cap);
    if (w !== n) throw sdkError(M, w);
    return M.HEAPU8.slice(out, out + n);
  } finally {
    if (out) M._nsw_free(out, cap);
    M._nsw_free(pm, mime.length);
    M._nsw_free(ph, hdr.length);
    M._nsw_free(pp, bytes.length);
  }
}

// Returns {mimeType, headers (string, or undefined as the SDK gives for null), payload
// (Uint8Array, a copy)}, or throws where the SDK's decode_payload fails.
export function decodePayload(M, message) {
  const pm = copyIn(M, message), info = M._nsw_alloc(4 * 5 + 4);
  try {
    const p = M._nsw_sdk_decode(pm, message.length, info, info + 20);
    const dv = new DataView(M.HEAPU8.buffer);
    if (!p) throw sdkError(M, dv.getInt32(info + 20, true));
    const [mimeLen, hasHeaders, headersLen, off, len] =
      [0, 1, 2, 3, 4].map((i) => dv.getUint32(info + 4 * i, true));
    const mimeType = utf8Decoder.decode(M.HEAPU8.subarray(p, p + mimeLen));
    const headers = hasHeaders ? utf8Decoder.decode(M.HEAPU8.subarray(p + mimeLen, p + mimeLen + headersLen)) : undefined;
    M._nsw_free(p, mimeLen + headersLen);
    return { mimeType, headers, payload: message.slice(off, off + len) };
  } finally {
    M._nsw_free(info, 24);
    M._nsw_free(pm, message.length);
  }
}

// Rust's String::from_utf8_lossy, as the SDK's parse_utf8_string.
export function utf8Lossy(M, bytes) {
  const pi = copyIn(M, bytes), cap = 3 * bytes.length, po = M._nsw_alloc(cap);
  try {
    const n = M._nsw_utf8_lossy(pi, bytes.length, po);
    return utf8Decoder.decode(M.HEAPU8.subarray(po, po + n));
  } finally {
    M._nsw_free(po, cap);
    M._nsw_free(pi, bytes.length);
  }
}
