/* Registration handshake between a client and its gateway (Nym gateway-requests
 * registration/handshake), both roles, as a state machine over the raw message
 * bytes (the `data` of each handshakePayload text frame; see requests.h for the JSON).
 *
 *   H1 C->G  ID_C(32) || X_C(32) [|| SALT(16)]             64 legacy / 80 AES
 *   H2 G->C  X_G(32) || ENC(SIG_G) [|| N_G(12)]            96 / 124
 *   H3 C->G  ENC(SIG_C) [|| N_C(12)]                       64 / 92
 *   H4 G->C  [1]
 *
 * SIG_G = Ed25519(gateway id, X_G || X_C), SIG_C = Ed25519(client id, X_C || X_G);
 * ENC is the "naive" encryption of shared_key.h under the derived key K =
 * HKDF-BLAKE3(salt = SALT or none, ikm = X25519(own eph, peer eph)). AES mode iff H1 has a salt.
 *
 * The _det functions take the ephemeral secret, salt and nonce as inputs (known-answer
 * tests); the others draw them from the RNG. All secrets in the state are wiped by
 * ns_gw_hs_clear. */
#ifndef NS_GW_HANDSHAKE_H
#define NS_GW_HANDSHAKE_H
#include <stddef.h>
#include <stdint.h>

#include "gateway/shared_key.h"

#define NS_GW_H1_LEGACY_LEN 64
#define NS_GW_H1_LEN        80
#define NS_GW_H2_LEGACY_LEN 96
#define NS_GW_H2_LEN        124
#define NS_GW_H3_LEGACY_LEN 64
#define NS_GW_H3_LEN        92
#define NS_GW_H4_LEN        1
#define NS_GW_HS_MAX_LEN    124
#define NS_GW_SIG_CT_MAX    80 /* 64-byte signature + GCM-SIV tag */

/* ---- message codecs (no crypto) ---- */
struct ns_gw_h1 {
	uint8_t identity[32];
	uint8_t ephemeral[32];
	int has_salt;
	uint8_t salt[NS_GW_KDF_SALT_LEN];
};
struct ns_gw_material {          /* H3, and H2 after X_G */
	uint8_t sig_ct[NS_GW_SIG_CT_MAX];
	size_t sig_ct_len;           /* 64 (legacy) or 80 */
	int has_nonce;
	uint8_t nonce[NS_GW_NONCE_LEN];
};
struct ns_gw_h2 {
	uint8_t ephemeral[32];
	struct ns_gw_material m;
};

/* Parsers: exact lengths only (H1: 64/80 and ID_C a valid ed25519 point, else
 * EHS_MALFORMED_REQUEST; H2: 96/124, H3: 64/92,
 * H4: 1 -> EHS_MALFORMED_RESPONSE). Encoders return the length written to out
 * (NS_GW_HS_MAX_LEN bytes are always enough) or 0 if the struct is inconsistent. */
int ns_gw_h1_parse(const uint8_t *b, size_t len, struct ns_gw_h1 *out);
size_t ns_gw_h1_encode(const struct ns_gw_h1 *m, uint8_t out[NS_GW_HS_MAX_LEN]);
int ns_gw_material_parse(const uint8_t *b, size_t len, struct ns_gw_material *out);
size_t ns_gw_material_encode(const struct ns_gw_material *m, uint8_t out[NS_GW_HS_MAX_LEN]);
int ns_gw_h2_parse(const uint8_t *b, size_t len, struct ns_gw_h2 *out);
size_t ns_gw_h2_encode(const struct ns_gw_h2 *m, uint8_t out[NS_GW_HS_MAX_LEN]);
/* *success = (b[0] == 1). */
int ns_gw_h4_parse(const uint8_t *b, size_t len, int *success);

/* ---- state machine ---- */
enum ns_gw_hs_role { NS_GW_HS_CLIENT = 1, NS_GW_HS_GATEWAY = 2 };

struct ns_gw_hs {
	int role;
	int step;                    /* internal progress */
	int aes;                     /* AES-256-GCM-SIV key (else legacy) */
	int uses_credentials;        /* client only: protocol 2 instead of 1 in legacy mode */
	uint8_t identity_sk[64];
	uint8_t identity_pk[32];
	uint8_t remote_identity[32]; /* gateway: ID_C once H1 is accepted */
	uint8_t eph_sk[32], eph_pk[32], remote_eph[32];
	uint8_t salt[NS_GW_KDF_SALT_LEN];
	struct ns_gw_key key;
};

/* Client: identity seed, the gateway identity from the directory, AES mode (protocol >= 3
 * reported by the gateway) and ticket use (legacy mode protocol 2 vs 1). */
void ns_gw_hs_client_begin(struct ns_gw_hs *hs, const uint8_t identity_seed[32],
                           const uint8_t gateway_identity[32], int aes, int uses_credentials);
/* H1. salt is ignored (may be NULL) in legacy mode. */
int ns_gw_hs_client_h1_det(struct ns_gw_hs *hs, const uint8_t eph_secret[32],
                           const uint8_t salt[NS_GW_KDF_SALT_LEN], uint8_t *out, size_t cap,
                           size_t *out_len);
int ns_gw_hs_client_h1(struct ns_gw_hs *hs, uint8_t *out, size_t cap, size_t *out_len);
/* Consumes H2 (derives K, decrypts and verifies SIG_G with the gateway identity) and
 * produces H3. nonce is ignored in legacy mode. */
int ns_gw_hs_client_h3_det(struct ns_gw_hs *hs, const uint8_t *h2, size_t h2_len,
                           const uint8_t nonce[NS_GW_NONCE_LEN], uint8_t *out, size_t cap,
                           size_t *out_len);
int ns_gw_hs_client_h3(struct ns_gw_hs *hs, const uint8_t *h2, size_t h2_len, uint8_t *out,
                       size_t cap, size_t *out_len);
/* Consumes H4; after 0 the key is available. */
int ns_gw_hs_client_finish(struct ns_gw_hs *hs, const uint8_t *h4, size_t h4_len);

void ns_gw_hs_gateway_begin(struct ns_gw_hs *hs, const uint8_t identity_seed[32]);
/* Consumes H1 (mode from its length) and produces H2. */
int ns_gw_hs_gateway_h2_det(struct ns_gw_hs *hs, const uint8_t *h1, size_t h1_len,
                            const uint8_t eph_secret[32], const uint8_t nonce[NS_GW_NONCE_LEN],
                            uint8_t *out, size_t cap, size_t *out_len);
int ns_gw_hs_gateway_h2(struct ns_gw_hs *hs, const uint8_t *h1, size_t h1_len, uint8_t *out,
                        size_t cap, size_t *out_len);
/* Consumes H3 (verifies SIG_C with ID_C from H1) and produces H4 = [1]. */
int ns_gw_hs_gateway_h4(struct ns_gw_hs *hs, const uint8_t *h3, size_t h3_len, uint8_t *out,
                        size_t cap, size_t *out_len);

/* protocol_version to put in every handshakePayload this side sends: 3 in AES mode,
 * else 2 (client with tickets) or 1. */
uint8_t ns_gw_hs_protocol_version(const struct ns_gw_hs *hs);
int ns_gw_hs_done(const struct ns_gw_hs *hs);
/* Copies the derived key; NS_GW_ESTATE before the handshake completed. */
int ns_gw_hs_key(const struct ns_gw_hs *hs, struct ns_gw_key *out);
void ns_gw_hs_clear(struct ns_gw_hs *hs);

#endif
