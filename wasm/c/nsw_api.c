/* The C functions the browser client's JavaScript calls (nymsuite.wasm). Byte arrays cross
 * as (pointer, length) into the module's memory (nsw_alloc / nsw_free); integers wider than
 * 32 bits cross as 8 little-endian bytes so that JS needs no BigInt. Every function returns
 * 0 or a length on success and a negative number on failure. This file is plain C17 and also
 * builds natively (the test compares the two builds). */
#include "nsw_api.h"

#include <stdlib.h>
#include <string.h>

#include "base58.h"
#include "crypto.h"
#include "gateway/frames.h"
#include "gateway/handshake.h"
#include "ipc_codec.h"
#include "nymsphinx/ack.h"
#include "nymsphinx/address.h"
#include "sdk_payload.h"
#include "sphinx/sphinx.h"

static uint64_t le64(const uint8_t *p)
{
	uint64_t v = 0;
	for (int i = 7; i >= 0; i--)
		v = v << 8 | p[i];
	return v;
}

static void put_le64(uint8_t *p, uint64_t v)
{
	for (int i = 0; i < 8; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}

NSW_EXPORT int nsw_init(void) { return ns_crypto_init(); }
NSW_EXPORT void *nsw_alloc(size_t n) { return malloc(n ? n : 1); }

NSW_EXPORT void nsw_free(void *p, size_t n)
{
	if (!p)
		return;
	ns_memzero(p, n); /* buffers may have held keys on their way in */
	free(p);
}

NSW_EXPORT void nsw_random(uint8_t *out, size_t n) { ns_random(out, n); }
NSW_EXPORT void nsw_x25519(uint8_t out[32], const uint8_t scalar[32], const uint8_t point[32])
{
	ns_x25519(out, scalar, point);
}
NSW_EXPORT void nsw_x25519_base(uint8_t out[32], const uint8_t scalar[32]) { ns_x25519_base(out, scalar); }
NSW_EXPORT void nsw_blake3(uint8_t out[32], const uint8_t *in, size_t len) { ns_blake3(out, in, len); }
NSW_EXPORT void nsw_sha256(uint8_t out[32], const uint8_t *in, size_t len) { ns_sha256(out, in, len); }

NSW_EXPORT int nsw_gcmsiv_seal(uint8_t *out, const uint8_t *pt, size_t pt_len, const uint8_t *aad,
                               size_t aad_len, const uint8_t key[32], const uint8_t nonce[12])
{
	return ns_gcmsiv_seal(out, pt, pt_len, aad, aad_len, key, nonce) == 0 ? (int)(pt_len + 16) : -1;
}

NSW_EXPORT int nsw_gcmsiv_open(uint8_t *out, const uint8_t *ct, size_t ct_len, const uint8_t *aad,
                               size_t aad_len, const uint8_t key[32], const uint8_t nonce[12])
{
	if (ct_len < 16)
		return -1;
	return ns_gcmsiv_open(out, ct, ct_len, aad, aad_len, key, nonce) == 0 ? (int)(ct_len - 16) : -1;
}

NSW_EXPORT int nsw_sphinx_build(const uint8_t *addrs, const uint8_t *pubkeys, size_t n_hops,
                                const uint8_t *delays_le, const uint8_t dest[32],
                                const uint8_t id[16], unsigned version,
                                const uint8_t *initial_secret, const uint8_t *final_padding,
                                const uint8_t *msg, size_t msg_len, size_t payload_size,
                                uint8_t *out)
{
	struct sphinx_node route[SPHINX_MAX_HOPS];
	uint64_t delays[SPHINX_MAX_HOPS] = { 0 };
	struct sphinx_header_params p = { 0 };

	if (n_hops == 0 || n_hops > SPHINX_MAX_HOPS || version > 0xFFFF)
		return SPHINX_ERR_ARG;
	for (size_t i = 0; i < n_hops; i++) {
		memcpy(route[i].address, addrs + 32 * i, 32);
		memcpy(route[i].pubkey, pubkeys + 32 * i, 32);
		if (i + 1 < n_hops)
			delays[i] = le64(delays_le + 8 * i);
	}
	p.route = route;
	p.n_hops = n_hops;
	p.delays_ns = delays;
	memcpy(p.destination, dest, SPHINX_DEST_LEN);
	memcpy(p.identifier, id, SPHINX_ID_LEN);
	p.version = (uint16_t)version;
	p.initial_secret = initial_secret; /* NULL: random, as in a live client */
	p.final_padding = final_padding;
	int rc = sphinx_build_packet(&p, msg, msg_len, payload_size, out);
	return rc == SPHINX_OK ? (int)(SPHINX_HEADER_LEN + payload_size) : rc;
}

NSW_EXPORT int nsw_sphinx_process(const uint8_t secret[32], const uint8_t *packet, size_t len,
                                  uint8_t *out_packet, uint8_t info[NSW_PROCESSED_LEN])
{
	struct sphinx_processed r;
	int rc = sphinx_process(secret, packet, len, out_packet, &r);
	if (rc == SPHINX_OK) {
		uint8_t *p = info;
		*p++ = (uint8_t)r.flag;
		*p++ = (uint8_t)r.version;
		*p++ = (uint8_t)(r.version >> 8);
		memcpy(p, r.next_address, 32), p += 32;
		put_le64(p, r.delay_ns), p += 8;
		memcpy(p, r.destination, 32), p += 32;
		memcpy(p, r.identifier, 16), p += 16;
		memcpy(p, r.replay_tag, 32);
	}
	ns_memzero(&r, sizeof r); /* its diagnostics hold the hop's shared secret */
	return rc;
}

NSW_EXPORT int nsw_sphinx_recover(const uint8_t *payload, size_t len, uint32_t out[2])
{
	size_t off, n;
	int rc = sphinx_recover_plaintext(payload, len, &off, &n);
	if (rc == SPHINX_OK)
		out[0] = (uint32_t)off, out[1] = (uint32_t)n;
	return rc;
}

/* Decodes one datagram that `self` received from `peer` as strictly as the native processes
 * do and encodes the result again into out: the message type, or a negative NS_IPC_E*. The
 * catalogue's shortest-form rule makes out equal to the input for every valid datagram. */
NSW_EXPORT int nsw_ipc_recode(unsigned self, unsigned peer, const uint8_t *buf, size_t len,
                              uint8_t *out, size_t cap, size_t *out_len)
{
	struct ns_ipc_msg m;
	int rc;
	if (self >= NS_IPC_ROLE_COUNT || peer >= NS_IPC_ROLE_COUNT)
		return NS_IPC_EARG;
	if ((rc = ns_ipc_decode((enum ns_ipc_role)self, (enum ns_ipc_role)peer, buf, len, &m)) != 0)
		return rc;
	if ((rc = ns_ipc_encode(&m, out, cap, out_len)) != 0)
		return rc;
	return (int)m.type;
}

NSW_EXPORT const char *nsw_ipc_type_name(unsigned type) { return ns_ipc_type_name(type); }
NSW_EXPORT const char *nsw_ipc_strerror(int err) { return ns_ipc_strerror(err); }
NSW_EXPORT unsigned nsw_ipc_catalogue_version(void) { return NS_IPC_CATALOGUE_VERSION; }
NSW_EXPORT unsigned nsw_ipc_max_datagram(void) { return NS_IPC_MAX_DATAGRAM; }
NSW_EXPORT unsigned nsw_sphinx_header_len(void) { return SPHINX_HEADER_LEN; }

static struct ns_gw_key gw_key_of(const uint8_t bytes[32], unsigned legacy)
{
	struct ns_gw_key k = { .legacy = legacy != 0 };
	memcpy(k.bytes, bytes, NS_GW_KEY_LEN);
	return k;
}

NSW_EXPORT int nsw_gw_open_request(const uint8_t key[32], unsigned legacy, const uint8_t *frame,
                                   size_t len, uint8_t *out, size_t cap,
                                   uint8_t info[NSW_GW_REQUEST_INFO_LEN])
{
	struct ns_gw_key k = gw_key_of(key, legacy);
	struct ns_gw_binary_request req;
	uint8_t *pt = malloc(len ? len : 1);
	int rc = pt ? ns_gw_binary_request_decode(&k, frame, len, pt, len, &req) : -1;
	if (rc >= 0 && (req.packet.packet_len > cap ||
	                nym_node_address_encode_padded(&req.packet.next_hop, info) < 0))
		rc = -1;
	if (rc >= 0) {
		memcpy(out, req.packet.packet, req.packet.packet_len);
		info[32] = req.packet.packet_type;
		info[33] = req.packet.key_rotation;
		rc = (int)req.packet.packet_len;
	}
	if (pt) {
		ns_memzero(pt, len);
		free(pt);
	}
	ns_gw_key_clear(&k);
	return rc;
}

NSW_EXPORT int nsw_gw_push(const uint8_t key[32], unsigned legacy, const uint8_t *msg, size_t len,
                           uint8_t *out, size_t cap)
{
	struct ns_gw_key k = gw_key_of(key, legacy);
	size_t n = 0;
	int rc = ns_gw_pushed_message_encode(&k, msg, len, out, cap, &n);
	ns_gw_key_clear(&k);
	return rc < 0 ? rc : (int)n;
}

NSW_EXPORT int nsw_surb_ack_split(const uint8_t *plaintext, size_t len, uint8_t first_hop[32],
                                  uint32_t out[4])
{
	const uint8_t *ack = NULL, *rest = NULL;
	size_t rest_len = 0;
	int rc = nym_surb_ack_split(plaintext, len, first_hop, &ack, &rest, &rest_len);
	if (rc < 0)
		return rc;
	out[0] = (uint32_t)(ack - plaintext), out[1] = NYM_ACK_PACKET_LEN;
	out[2] = (uint32_t)(rest - plaintext), out[3] = (uint32_t)rest_len;
	return 0;
}

static struct ns_sdkp_str sdk_str(const uint8_t *p, size_t len, unsigned has)
{
	return (struct ns_sdkp_str){ p, len, has != 0 };
}

NSW_EXPORT long nsw_sdk_encoded_len(const uint8_t *mime, size_t mime_len, const uint8_t *headers,
                                    size_t headers_len, unsigned has_headers, size_t payload_len)
{
	return ns_sdkp_encoded_len(sdk_str(mime, mime_len, 1),
	                           sdk_str(headers, headers_len, has_headers), payload_len);
}

NSW_EXPORT long nsw_sdk_encode(const uint8_t *mime, size_t mime_len, const uint8_t *headers,
                               size_t headers_len, unsigned has_headers, const uint8_t *payload,
                               size_t payload_len, uint8_t *out, size_t cap)
{
	return ns_sdkp_encode(sdk_str(mime, mime_len, 1), sdk_str(headers, headers_len, has_headers),
	                      payload, payload_len, out, cap);
}

NSW_EXPORT uint8_t *nsw_sdk_decode(const uint8_t *msg, size_t len, uint32_t info[5], int *err)
{
	struct ns_sdkp_decoded d;
	*err = ns_sdkp_decode(msg, len, &d);
	if (*err < 0)
		return NULL;
	uint8_t *out = malloc(d.mime_len + d.headers_len + 1);
	if (!out) {
		*err = NS_SDKP_ENOMEM;
	} else {
		memcpy(out, d.mime, d.mime_len);
		if (d.headers)
			memcpy(out + d.mime_len, d.headers, d.headers_len);
		info[0] = (uint32_t)d.mime_len, info[1] = d.headers != NULL;
		info[2] = (uint32_t)d.headers_len;
		info[3] = (uint32_t)d.payload_off, info[4] = (uint32_t)d.payload_len;
	}
	ns_sdkp_decoded_free(&d);
	return out;
}

NSW_EXPORT const char *nsw_sdk_strerror(int err) { return ns_sdkp_strerror(err); }

NSW_EXPORT size_t nsw_utf8_lossy(const uint8_t *in, size_t len, uint8_t *out)
{
	return ns_utf8_lossy(in, len, out);
}

/* Addresses and sender tags as the SDK's strings (identity.encryption@gateway, base58). */
NSW_EXPORT int nsw_recipient_parse(const char *text, uint8_t out[96])
{
	struct nym_recipient r;
	int rc = nym_recipient_from_string(text, &r);
	if (rc == 0)
		nym_recipient_to_bytes(&r, out);
	return rc;
}

NSW_EXPORT long nsw_recipient_format(const uint8_t in[96], char *out, size_t cap)
{
	struct nym_recipient r;
	memcpy(r.identity, in, 32);
	memcpy(r.encryption_key, in + 32, 32);
	memcpy(r.gateway, in + 64, 32);
	return nym_recipient_to_string(&r, out, cap);
}

NSW_EXPORT long nsw_sender_tag_format(const uint8_t tag[16], char *out, size_t cap)
{
	return nym_sender_tag_to_string(tag, out, cap);
}

NSW_EXPORT int nsw_sender_tag_parse(const char *text, uint8_t tag[16])
{
	return nym_sender_tag_from_string(text, tag);
}

NSW_EXPORT long nsw_base58_encode(const uint8_t *in, size_t len, char *out, size_t cap)
{
	return base58_encode(in, len, out, cap);
}

/* The gateway's side of the registration handshake (for stand-ins in tests): a state for
 * the gateway with this identity seed; each step consumes the client's H1 or H3 and writes
 * H2 or H4 (its length, or negative); the key once done (its legacy flag, or negative). */
struct nsw_gw_hs {
	struct ns_gw_hs hs;
	int answered_h1;
};

NSW_EXPORT struct nsw_gw_hs *nsw_gw_hs_gateway_new(const uint8_t identity_seed[32])
{
	struct nsw_gw_hs *g = calloc(1, sizeof *g);
	if (g)
		ns_gw_hs_gateway_begin(&g->hs, identity_seed);
	return g;
}

NSW_EXPORT long nsw_gw_hs_gateway_step(struct nsw_gw_hs *g, const uint8_t *in, size_t len,
                                       uint8_t *out, size_t cap)
{
	size_t n = 0;
	int rc = g->answered_h1 ? ns_gw_hs_gateway_h4(&g->hs, in, len, out, cap, &n)
	                        : ns_gw_hs_gateway_h2(&g->hs, in, len, out, cap, &n);
	g->answered_h1 = 1;
	return rc < 0 ? rc : (long)n;
}

NSW_EXPORT int nsw_gw_hs_gateway_key(const struct nsw_gw_hs *g, uint8_t out[32])
{
	struct ns_gw_key k;
	if (ns_gw_hs_key(&g->hs, &k) < 0)
		return -1;
	memcpy(out, k.bytes, 32);
	int legacy = k.legacy;
	ns_gw_key_clear(&k);
	return legacy;
}

NSW_EXPORT void nsw_gw_hs_free(struct nsw_gw_hs *g)
{
	if (!g)
		return;
	ns_gw_hs_clear(&g->hs);
	free(g);
}

NSW_EXPORT void nsw_ed25519_public(const uint8_t seed[32], uint8_t out[32])
{
	uint8_t sk[64];
	ns_ed25519_from_seed(out, sk, seed);
	ns_memzero(sk, sizeof sk);
}
