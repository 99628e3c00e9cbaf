/* Binary websocket frames between a client and its gateway (Nym types/helpers.rs,
 * binary_request.rs, binary_response.rs).
 *
 * Current (AES-256-GCM-SIV) key:
 *   kind(1) || flag(1) = 1 || nonce(12) || GCM-SIV(K, nonce, aad = "", plaintext) (n + 16)
 *   kind and flag are not authenticated.
 * Legacy key (protocol < 3, kept for gateways that still hold such keys):
 *   HMAC-BLAKE3(K_mac, ct)(32) || ct, ct = AES-128-CTR(K_enc, IV = 0, plaintext);
 *   no kind/flag/nonce; the kind is always 1.
 *
 * Kinds: C->G 1 ForwardSphinx (plaintext = MixPacket v1), 2 ForwardSphinxV2 (MixPacket v2);
 *        G->C 1 PushedMixMessage (plaintext = the delivered message).
 *
 * Decision: a frame with flag 0 (unencrypted) is refused (NS_GW_EPLAINTEXT_FRAME). The
 * reference gateway accepts it, but no client sends one and accepting it would let anyone
 * on the path inject packets charged to the client. */
#ifndef NS_GW_FRAMES_H
#define NS_GW_FRAMES_H
#include <stddef.h>
#include <stdint.h>

#include "gateway/shared_key.h"
#include "nymsphinx/framing.h"

#define NS_GW_FRAME_HEADER_LEN 14 /* kind, flag, nonce */
#define NS_GW_FRAME_OVERHEAD   (NS_GW_FRAME_HEADER_LEN + NS_GW_TAG_LEN)

enum ns_gw_bin_request_kind { NS_GW_BIN_FORWARD_SPHINX = 1, NS_GW_BIN_FORWARD_SPHINX_V2 = 2 };
enum ns_gw_bin_response_kind { NS_GW_BIN_PUSHED_MIX_MESSAGE = 1 };

/* Length of the frame carrying pt_len plaintext bytes under key. */
size_t ns_gw_frame_len(const struct ns_gw_key *key, size_t pt_len);

/* Seals a plaintext. Legacy keys only carry kind 1 (else NS_GW_EARG); nonce is then unused. */
int ns_gw_frame_seal_det(const struct ns_gw_key *key, uint8_t kind,
                         const uint8_t nonce[NS_GW_NONCE_LEN], const uint8_t *pt, size_t pt_len,
                         uint8_t *out, size_t cap, size_t *out_len);
int ns_gw_frame_seal(const struct ns_gw_key *key, uint8_t kind, const uint8_t *pt, size_t pt_len,
                     uint8_t *out, size_t cap, size_t *out_len);
/* Opens any frame: *kind and the plaintext (cap >= len is always enough).
 * Errors: ETOO_SHORT, EBAD_FLAG, EPLAINTEXT_FRAME, EAEAD (bad tag), EMAC (legacy). */
int ns_gw_frame_open(const struct ns_gw_key *key, const uint8_t *frame, size_t len,
                     uint8_t *kind, uint8_t *out, size_t cap, size_t *out_len);

/* BinaryRequest: the kind is checked before decryption (EUNKNOWN_KIND), then the plaintext
 * is decrypted into pt_buf and parsed as a MixPacket v1 / v2 (EMIX_PACKET);
 * out->packet.packet points into pt_buf. */
struct ns_gw_binary_request {
	uint8_t kind;                 /* enum ns_gw_bin_request_kind */
	struct nym_mix_packet packet;
};
int ns_gw_binary_request_decode(const struct ns_gw_key *key, const uint8_t *frame, size_t len,
                                uint8_t *pt_buf, size_t cap, struct ns_gw_binary_request *out);
/* Encodes p as MixPacket v1 (kind 1) or v2 (kind 2) and seals it. */
int ns_gw_binary_request_encode_det(const struct ns_gw_key *key, uint8_t kind,
                                    const struct nym_mix_packet *p,
                                    const uint8_t nonce[NS_GW_NONCE_LEN], uint8_t *out,
                                    size_t cap, size_t *out_len);
int ns_gw_binary_request_encode(const struct ns_gw_key *key, uint8_t kind,
                                const struct nym_mix_packet *p, uint8_t *out, size_t cap,
                                size_t *out_len);

/* BinaryResponse PushedMixMessage (kind 1, else EUNKNOWN_KIND). */
int ns_gw_pushed_message_decode(const struct ns_gw_key *key, const uint8_t *frame, size_t len,
                                uint8_t *out, size_t cap, size_t *out_len);
int ns_gw_pushed_message_encode_det(const struct ns_gw_key *key, const uint8_t *msg, size_t len,
                                    const uint8_t nonce[NS_GW_NONCE_LEN], uint8_t *out,
                                    size_t cap, size_t *out_len);
int ns_gw_pushed_message_encode(const struct ns_gw_key *key, const uint8_t *msg, size_t len,
                                uint8_t *out, size_t cap, size_t *out_len);

#endif
