/* JSON text messages between a client and its gateway (Nym gateway-requests types):
 *  - ClientControlRequest (C->G), internally tagged by "type";
 *  - ServerResponse (G->C);
 *  - RegistrationHandshake (both ways during registration: handshakePayload / handshakeError);
 *  - the externally tagged JSON inside encryptedRequest / encryptedResponse.
 *
 * Parsing is strict where serde is: required members, JSON types, integer ranges, exact
 * byte-array lengths, no duplicate known members, valid UTF-8, strict JSON numbers
 * (an integer member must be written as an integer: 1.0 and 1e0 are refused).
 * Unknown members are ignored, as serde does. Texts over NS_GW_TEXT_MAX are refused.
 * On error, *err_field (if not NULL) names the member at fault ("type" for an unknown type).
 *
 * Encoders write exactly what serde_json writes for the same value (member order,
 * no whitespace, Option None as null), into a malloc'd NUL-terminated string. */
#ifndef NS_GW_REQUESTS_H
#define NS_GW_REQUESTS_H
#include <stddef.h>
#include <stdint.h>

#define NS_GW_TEXT_MAX        65536
#define NS_GW_AUTH_CT_MAX     256 /* addressCiphertext: 48 (AES) or 64 (legacy) in practice */
#define NS_GW_AUTH_NONCE_MAX  64  /* nonce: 12 (AES) or 16 (legacy) in practice */

struct ns_gw_buf {
	uint8_t *data; /* malloc'd (NULL when len is 0) */
	size_t len;
};

/* authenticateV2 content (camelCase members; addressCiphertext/nonce in base64). */
struct ns_gw_auth_v2 {
	uint8_t protocol_version;
	uint8_t client_identity[32];
	uint8_t address_ciphertext[NS_GW_AUTH_CT_MAX];
	size_t address_ciphertext_len;
	uint8_t nonce[NS_GW_AUTH_NONCE_MAX];
	size_t nonce_len;
	uint64_t timestamp; /* requestUnixTimestamp, seconds */
	uint8_t signature[64];
};

enum ns_gw_req_type {
	NS_GW_REQ_AUTHENTICATE = 1,        /* v1: protocol_version, address, enc_address, iv */
	NS_GW_REQ_AUTHENTICATE_V2,
	NS_GW_REQ_HANDSHAKE_PAYLOAD,       /* "handshakePayload" / "registerHandshakeInitRequest" */
	NS_GW_REQ_BANDWIDTH_CREDENTIAL,    /* enc_credential, iv */
	NS_GW_REQ_BANDWIDTH_CREDENTIAL_V2, /* enc_credential, iv */
	NS_GW_REQ_ECASH_CREDENTIAL,        /* enc_credential, iv */
	NS_GW_REQ_CLAIM_FREE_BANDWIDTH,
	NS_GW_REQ_ENCRYPTED,               /* ciphertext, nonce */
	NS_GW_REQ_SUPPORTED_PROTOCOL,
};

struct ns_gw_request {
	enum ns_gw_req_type type;
	int has_protocol;              /* authenticate, handshakePayload: Option<u8> */
	uint8_t protocol_version;
	char *address, *enc_address, *iv_b58; /* authenticate v1: base58 text as sent */
	struct ns_gw_auth_v2 auth;     /* authenticateV2 */
	struct ns_gw_buf data;         /* handshakePayload */
	struct ns_gw_buf enc_credential, iv; /* credential requests */
	struct ns_gw_buf ciphertext, nonce;  /* encryptedRequest */
};

enum ns_gw_resp_type {
	NS_GW_RESP_AUTHENTICATE = 1, /* protocol_version, status, bandwidth_remaining */
	NS_GW_RESP_REGISTER,         /* protocol_version, status */
	NS_GW_RESP_ENCRYPTED,        /* ciphertext, nonce */
	NS_GW_RESP_BANDWIDTH,        /* available_total */
	NS_GW_RESP_SEND,             /* remaining_bandwidth */
	NS_GW_RESP_SUPPORTED_PROTOCOL, /* version */
	NS_GW_RESP_ERROR,            /* message */
	NS_GW_RESP_TYPED_ERROR,      /* error */
};
enum ns_gw_typed_error { NS_GW_TYPED_OUT_OF_BANDWIDTH = 1, NS_GW_TYPED_TICKET_REPLAY = 2 };

struct ns_gw_response {
	enum ns_gw_resp_type type;
	int has_protocol;
	uint8_t protocol_version;
	int status;
	int64_t bandwidth;           /* bandwidth_remaining / available_total / remaining_bandwidth */
	uint8_t version;             /* supportedProtocol */
	struct ns_gw_buf ciphertext, nonce;
	char *message;               /* error */
	int typed_error;             /* enum ns_gw_typed_error */
	int64_t required, available; /* out_of_bandwidth */
};

enum ns_gw_hs_msg_type { NS_GW_HSMSG_PAYLOAD = 1, NS_GW_HSMSG_ERROR = 2 };
struct ns_gw_hs_msg {
	enum ns_gw_hs_msg_type type;
	int has_protocol;
	uint8_t protocol_version;
	struct ns_gw_buf data;
	char *message;
};

/* Inner (encrypted) requests and responses, externally tagged JSON. */
enum ns_gw_inner_req_type {
	NS_GW_INNER_UPGRADE_KEY = 1, /* {"UpgradeKey":{"hkdf_salt":[..],"derived_key_digest":[..]}} */
	NS_GW_INNER_FORGET_ME,       /* {"ForgetMe":{"client":b,"stats":b}} */
	NS_GW_INNER_REMEMBER_ME,     /* {"RememberMe":{"session_type":"Vpn"|...}} */
};
enum ns_gw_session_type {
	NS_GW_SESSION_VPN = 0, NS_GW_SESSION_MIXNET, NS_GW_SESSION_WASM, NS_GW_SESSION_NATIVE,
	NS_GW_SESSION_SOCKS5, NS_GW_SESSION_UNKNOWN,
};
struct ns_gw_inner_request {
	enum ns_gw_inner_req_type type;
	struct ns_gw_buf hkdf_salt, derived_key_digest;
	int client, stats;
	enum ns_gw_session_type session_type;
};
enum ns_gw_inner_resp_type {
	NS_GW_INNER_KEY_UPGRADE_ACK = 1, NS_GW_INNER_FORGET_ME_ACK, NS_GW_INNER_REMEMBER_ME_ACK,
};

int ns_gw_request_parse(const char *text, size_t len, struct ns_gw_request *out,
                        const char **err_field);
int ns_gw_request_encode(const struct ns_gw_request *r, char **out, size_t *out_len);
void ns_gw_request_free(struct ns_gw_request *r);

int ns_gw_response_parse(const char *text, size_t len, struct ns_gw_response *out,
                         const char **err_field);
int ns_gw_response_encode(const struct ns_gw_response *r, char **out, size_t *out_len);
void ns_gw_response_free(struct ns_gw_response *r);

int ns_gw_hs_msg_parse(const char *text, size_t len, struct ns_gw_hs_msg *out,
                       const char **err_field);
int ns_gw_hs_msg_encode(const struct ns_gw_hs_msg *m, char **out, size_t *out_len);
void ns_gw_hs_msg_free(struct ns_gw_hs_msg *m);
/* Shortcuts: {"type":"handshakePayload","protocol_version":P,"data":[..]} and
 * {"type":"handshakeError","message":"..."}. */
int ns_gw_hs_payload_encode(uint8_t protocol_version, const uint8_t *data, size_t len, char **out,
                            size_t *out_len);
int ns_gw_hs_error_encode(const char *message, char **out, size_t *out_len);

int ns_gw_inner_request_parse(const char *text, size_t len, struct ns_gw_inner_request *out,
                              const char **err_field);
int ns_gw_inner_request_encode(const struct ns_gw_inner_request *r, char **out, size_t *out_len);
void ns_gw_inner_request_free(struct ns_gw_inner_request *r);
int ns_gw_inner_response_parse(const char *text, size_t len, enum ns_gw_inner_resp_type *out,
                               const char **err_field);
int ns_gw_inner_response_encode(enum ns_gw_inner_resp_type t, char **out, size_t *out_len);

/* Standard base64 with padding, strict (canonical padding and trailing bits). */
size_t ns_gw_base64_encoded_len(size_t n);
void ns_gw_base64_encode(const uint8_t *in, size_t n, char *out); /* writes a NUL too */
/* Returns the decoded length or NS_GW_EBASE64 / NS_GW_EARG (cap too small). */
long ns_gw_base64_decode(const char *in, size_t n, uint8_t *out, size_t cap);

#endif
