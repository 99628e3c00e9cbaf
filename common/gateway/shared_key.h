/* The key a client shares with its gateway (Nym SharedGatewayKey) and the
 * generic encrypt/decrypt every gateway message uses.
 *
 * Current key: AES-256-GCM-SIV, 12-byte nonce, tag appended, empty AAD.
 * Legacy key (protocol < 3): bytes 0..16 AES-128-CTR (Ctr64BE) key, 16..32 HMAC-BLAKE3 key;
 * "tagged" form = HMAC-BLAKE3(mac_key, ct) || ct, "naive" form = ct only; a NULL or
 * empty IV means 16 zero bytes. */
#ifndef NS_GW_SHARED_KEY_H
#define NS_GW_SHARED_KEY_H
#include <stddef.h>
#include <stdint.h>

#define NS_GW_KEY_LEN        32
#define NS_GW_NONCE_LEN      12 /* GCM-SIV nonce */
#define NS_GW_LEGACY_IV_LEN  16
#define NS_GW_TAG_LEN        16 /* GCM-SIV tag */
#define NS_GW_LEGACY_MAC_LEN 32 /* HMAC-BLAKE3 output */
#define NS_GW_KDF_SALT_LEN   16
#define NS_GW_MAX_NONCE_LEN  16

struct ns_gw_key {
	int legacy;
	uint8_t bytes[NS_GW_KEY_LEN];
};

/* Handshake derivation: OKM = HKDF-BLAKE3(salt (NULL: none), ikm = dh, info = "", 32). */
int ns_gw_key_derive(struct ns_gw_key *out, const uint8_t dh[32], const uint8_t *salt,
                     size_t salt_len, int legacy);
void ns_gw_key_clear(struct ns_gw_key *key);

/* Nonce (current) or IV (legacy) length, and one fresh random nonce/IV of that length. */
size_t ns_gw_key_nonce_len(const struct ns_gw_key *key);
size_t ns_gw_key_random_nonce(const struct ns_gw_key *key, uint8_t out[NS_GW_MAX_NONCE_LEN]);
/* Bytes encrypt() adds to the plaintext: 16 (current) or 32 (legacy tagged). */
size_t ns_gw_key_overhead(const struct ns_gw_key *key);
size_t ns_gw_key_naive_overhead(const struct ns_gw_key *key);

/* out receives pt_len + overhead bytes (cap checked); nonce rules as in Nym:
 * current: nonce must be 12 bytes (NULL -> EMISSING_NONCE, other length -> EMALFORMED_NONCE);
 * legacy: NULL/empty -> zero IV, else exactly 16 bytes. */
int ns_gw_key_encrypt(const struct ns_gw_key *key, const uint8_t *nonce, size_t nonce_len,
                      const uint8_t *pt, size_t pt_len, uint8_t *out, size_t cap, size_t *out_len);
int ns_gw_key_decrypt(const struct ns_gw_key *key, const uint8_t *nonce, size_t nonce_len,
                      const uint8_t *ct, size_t ct_len, uint8_t *out, size_t cap, size_t *out_len);
/* As above, but a legacy key adds/checks no HMAC. */
int ns_gw_key_encrypt_naive(const struct ns_gw_key *key, const uint8_t *nonce, size_t nonce_len,
                            const uint8_t *pt, size_t pt_len, uint8_t *out, size_t cap,
                            size_t *out_len);
int ns_gw_key_decrypt_naive(const struct ns_gw_key *key, const uint8_t *nonce, size_t nonce_len,
                            const uint8_t *ct, size_t ct_len, uint8_t *out, size_t cap,
                            size_t *out_len);

/* BLAKE3-256 of the 32 key bytes (key upgrade digest). */
void ns_gw_key_digest(const struct ns_gw_key *key, uint8_t out[32]);
/* Legacy -> current upgrade: HKDF-BLAKE3(salt, ikm = the 32 legacy bytes, info = "", 32).
 * _verify also checks BLAKE3(new key) == digest (NS_GW_EKEY_DIGEST otherwise). */
int ns_gw_key_upgrade(const struct ns_gw_key *legacy, const uint8_t *salt, size_t salt_len,
                      struct ns_gw_key *out);
int ns_gw_key_upgrade_verify(const struct ns_gw_key *legacy, const uint8_t *salt, size_t salt_len,
                             const uint8_t *digest, size_t digest_len, struct ns_gw_key *out);

#endif
