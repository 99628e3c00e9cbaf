/* Authentication of a registered client to its gateway, and protocol negotiation
 * (Nym text_request/authenticate.rs, authentication/encrypted_address.rs and the
 * gateway's fresh.rs).
 *
 * authenticateV2: addressCiphertext = encrypt(K, nonce, ID_C) (tagged form for a legacy
 * key), signature = Ed25519(client id, M) with
 * M = protocolVersion(1) || ID_C(32) || addressCiphertext || nonce || timestamp (u64 BE).
 * authenticate (v1): address = bs58(ID_C), enc_address = bs58(encrypt_naive(K, iv, ID_C)),
 * iv = bs58(iv); no signature, no replay protection. */
#ifndef NS_GW_AUTH_H
#define NS_GW_AUTH_H
#include <stddef.h>
#include <stdint.h>

#include "gateway/requests.h"
#include "gateway/shared_key.h"

#define NS_GW_PROTOCOL_INITIAL     1
#define NS_GW_PROTOCOL_CREDENTIALS 2
#define NS_GW_PROTOCOL_AES         3
#define NS_GW_PROTOCOL_AUTH_V2     4
#define NS_GW_PROTOCOL_KEY_ROTATION 5
#define NS_GW_PROTOCOL_CURRENT     5
#define NS_GW_DEFAULT_TIMESTAMP_SKEW 120 /* seconds (max_request_timestamp_skew) */
#define NS_GW_AUTH_V2_MSG_MAX (1 + 32 + NS_GW_AUTH_CT_MAX + NS_GW_AUTH_NONCE_MAX + 8)

/* The signed message M; returns its length in *out_len. */
int ns_gw_auth_v2_message(const struct ns_gw_auth_v2 *a, uint8_t *out, size_t cap,
                          size_t *out_len);
/* Builds a complete request (protocolVersion 4). nonce: 12 bytes (AES key) or 16 (legacy). */
int ns_gw_auth_v2_build_det(struct ns_gw_auth_v2 *out, const struct ns_gw_key *key,
                            const uint8_t identity_seed[32], const uint8_t *nonce,
                            size_t nonce_len, uint64_t timestamp);
int ns_gw_auth_v2_build(struct ns_gw_auth_v2 *out, const struct ns_gw_key *key,
                        const uint8_t identity_seed[32], uint64_t timestamp);

/* Gateway checks, in the order the reference gateway runs them. now = now_sec + now_nsec
 * (the reference compares with sub-second precision): EAUTH_SKEW if
 * T < now - skew or T - skew > now. */
int ns_gw_auth_v2_check_timestamp(const struct ns_gw_auth_v2 *a, uint64_t now_sec,
                                  uint32_t now_nsec, uint64_t skew);
int ns_gw_auth_v2_check_signature(const struct ns_gw_auth_v2 *a);
/* Constant-time comparison with a recomputed encrypt(K, nonce, ID_C). */
int ns_gw_auth_v2_check_ciphertext(const struct ns_gw_auth_v2 *a, const struct ns_gw_key *key);
/* EAUTH_REUSE unless T > the last accepted timestamp. */
int ns_gw_auth_v2_check_not_reused(const struct ns_gw_auth_v2 *a, uint64_t last_timestamp);
/* All of the above: protocol (EPROTOCOL if > 5), timestamp, signature, key present
 * (ENOT_REGISTERED if key is NULL), ciphertext, and reuse if last_timestamp is not NULL. */
int ns_gw_auth_v2_verify(const struct ns_gw_auth_v2 *a, const struct ns_gw_key *key,
                         uint64_t now_sec, uint32_t now_nsec, uint64_t skew,
                         const uint64_t *last_timestamp);

/* v1 request (type NS_GW_REQ_AUTHENTICATE, strings malloc'd; free with ns_gw_request_free).
 * protocol_version: 3 for an AES key, else 2 with tickets, else 1. */
int ns_gw_auth_v1_build_det(struct ns_gw_request *out, const struct ns_gw_key *key,
                            const uint8_t address[32], const uint8_t *nonce, size_t nonce_len,
                            int uses_credentials);
int ns_gw_auth_v1_build(struct ns_gw_request *out, const struct ns_gw_key *key,
                        const uint8_t address[32], int uses_credentials);
/* Decodes `address` (base58 of exactly 32 bytes). */
int ns_gw_auth_v1_address(const struct ns_gw_request *r, uint8_t address[32]);
/* Recomputes encrypt_naive(K, iv, address) and compares with enc_address
 * (EBASE58 on bad text, EAUTH_CIPHERTEXT on a mismatch or unusable iv). */
int ns_gw_auth_v1_verify(const struct ns_gw_request *r, const struct ns_gw_key *key);

/* Gateway-side negotiation (negotiate_client_protocol): none -> 1; 1..4 -> same;
 * 0 and 5 -> 5; > 5 -> EPROTOCOL. */
int ns_gw_negotiate_protocol(int has_client_version, uint8_t client_version, uint8_t *out);
/* Client-side check of a register/authenticate reply: accepts none or <= 5. */
int ns_gw_check_gateway_protocol(int has_version, uint8_t version);

#endif
