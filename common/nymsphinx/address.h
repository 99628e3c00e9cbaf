/* nym-sphinx addressing (nym@b4046a89 common/nymsphinx/addressing):
 *  - NymNodeRoutingAddress: 0x04 || port BE || IPv4 (7 bytes) or 0x06 || port BE || IPv6 (19),
 *    zero padded to 32 bytes inside sphinx headers; parsing ignores trailing bytes.
 *  - Recipient: identity ed25519 (32) || encryption x25519 (32) || gateway ed25519 (32);
 *    text form "b58(identity).b58(enc)@b58(gateway)".
 *  - AnonymousSenderTag: 16 bytes, text form base58. */
#ifndef NS_NYM_ADDRESS_H
#define NS_NYM_ADDRESS_H
#include <stddef.h>
#include <stdint.h>

#define NYM_NODE_ADDR_V4_LEN       7
#define NYM_NODE_ADDR_V6_LEN       19
#define NYM_NODE_ADDR_MAX_UNPADDED 19
#define NYM_NODE_ADDR_PADDED_LEN   32
/* Longest "ip:port" text: "[" + 39-char IPv6 + "]:" + 5 digits + NUL, rounded up. */
#define NYM_NODE_ADDR_STR_MAX      64

#define NYM_RECIPIENT_LEN          96
#define NYM_RECIPIENT_STR_MAX      136 /* 3 x 44 base58 chars + '.' + '@' + NUL */
#define NYM_SENDER_TAG_LEN         16
#define NYM_SENDER_TAG_STR_MAX     24  /* 22 base58 chars + NUL */
#define NYM_KEY_B58_MAX            45  /* 44 base58 chars + NUL for a 32-byte key */

enum nym_addr_err {
	NYM_ADDR_OK = 0,
	NYM_ADDR_ERR_ARG = -1,        /* NULL, or output buffer too small */
	NYM_ADDR_ERR_SHORT = -2,      /* fewer bytes than the address type needs */
	NYM_ADDR_ERR_IP_VERSION = -3, /* type byte not 4 or 6 */
	NYM_ADDR_ERR_SYNTAX = -4,     /* text not "a.b.c.d:port" / "[v6]:port" / recipient shape */
	NYM_ADDR_ERR_BASE58 = -5,     /* bad base58 character */
	NYM_ADDR_ERR_LENGTH = -6,     /* a base58 part does not decode to the expected length */
	NYM_ADDR_ERR_IDENTITY = -7,   /* client identity is not an ed25519 point */
	NYM_ADDR_ERR_GATEWAY = -8,    /* gateway identity is not an ed25519 point */
};

struct nym_node_address {
	uint8_t ip_version;  /* 4 or 6 */
	uint16_t port;
	uint8_t ip[16];      /* IPv4 uses the first 4 bytes; the rest are zero */
};

/* 1 if both name the same socket address (compares fields, not padding). */
int nym_node_address_equal(const struct nym_node_address *a, const struct nym_node_address *b);
/* Encoded length: 7 (IPv4) or 19 (IPv6). */
size_t nym_node_address_len(const struct nym_node_address *a);
/* Writes 7 or 19 bytes; returns that count, or NYM_ADDR_ERR_ARG if cap is too small
 * or ip_version is neither 4 nor 6. */
long nym_node_address_encode(const struct nym_node_address *a, uint8_t *out, size_t cap);
/* Writes the 32-byte zero-padded form used in sphinx headers. */
int nym_node_address_encode_padded(const struct nym_node_address *a,
                                   uint8_t out[NYM_NODE_ADDR_PADDED_LEN]);
/* Parses from the start of in; trailing bytes are ignored (as try_from_bytes).
 * Returns the number of bytes consumed (7 or 19) or a negative nym_addr_err. */
long nym_node_address_decode(const uint8_t *in, size_t len, struct nym_node_address *a);

/* "1.2.3.4:1789" or "[2001:db8::1]:1789" (Rust SocketAddr text, RFC 5952 IPv6 form).
 * Returns the string length or NYM_ADDR_ERR_ARG. */
long nym_node_address_format(const struct nym_node_address *a, char *out, size_t cap);
/* Parses the same forms (IPv6 in brackets, any inet_pton form); 0 or NYM_ADDR_ERR_SYNTAX. */
int nym_node_address_parse(const char *text, struct nym_node_address *a);

struct nym_recipient {
	uint8_t identity[32];       /* client ed25519 public key */
	uint8_t encryption_key[32]; /* client x25519 public key */
	uint8_t gateway[32];        /* gateway ed25519 public key */
};

void nym_recipient_to_bytes(const struct nym_recipient *r, uint8_t out[NYM_RECIPIENT_LEN]);
/* Checks both ed25519 keys decompress (as ed25519-dalek VerifyingKey::from_bytes). */
int nym_recipient_from_bytes(const uint8_t in[NYM_RECIPIENT_LEN], struct nym_recipient *r);
/* Returns the string length or NYM_ADDR_ERR_ARG (cap < needed; NYM_RECIPIENT_STR_MAX always fits). */
long nym_recipient_to_string(const struct nym_recipient *r, char *out, size_t cap);
/* Strict parse: exactly one '@', exactly one '.' before it, each part base58 of exactly
 * 32 bytes, both ed25519 keys valid points. 0 or a negative nym_addr_err. */
int nym_recipient_from_string(const char *text, struct nym_recipient *r);
/* Sphinx destination D = the identity key bytes (identifier I is 16 zero bytes). */
void nym_recipient_destination(const struct nym_recipient *r, uint8_t dest[32]);

/* 1 if the 32 bytes decompress to an ed25519 point as curve25519-dalek does it
 * (y taken mod p with the top bit as the sign of x; small-order, non-canonical y
 * and x = 0 with the sign bit set are all accepted). */
int nym_ed25519_pk_decompresses(const uint8_t pk[32]);

long nym_sender_tag_to_string(const uint8_t tag[NYM_SENDER_TAG_LEN], char *out, size_t cap);
/* 0, NYM_ADDR_ERR_BASE58 or NYM_ADDR_ERR_LENGTH (must decode to exactly 16 bytes). */
int nym_sender_tag_from_string(const char *text, uint8_t tag[NYM_SENDER_TAG_LEN]);

#endif
