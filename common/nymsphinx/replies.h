/* Anonymous replies (nym-sphinx anonymous-replies: encryption_key.rs, reply_surb.rs,
 * requests/{mod,v1,v2}.rs; preparer build_reply; receiver reply decryption).
 *   ReplySurb        = surb_key(16) || SURB (header 348 || first hop 32 || materials)
 *                      V1: 4 x 192-byte keys (1164 bytes, version 258)
 *                      V2: hops x 16-byte seeds (396 + 16 hops, version 259)
 *   RepliableMessage = sender_tag(16) || content_tag(1) || content     (tags 0..5)
 *   ReplyMessage     = content_tag(1) || content                       (0 Data, 1 SurbRequest)
 *   reply plaintext  = SURB_ACK(405) || BLAKE3(surb_key)(32) || AES-128-CTR(surb_key, 0, fragment) */
#ifndef NS_NYM_REPLIES_H
#define NS_NYM_REPLIES_H
#include <stddef.h>
#include <stdint.h>

#include "nymsphinx/topology.h"
#include "sphinx/sphinx.h"

#define NYM_SURB_KEY_LEN          16
#define NYM_SURB_KEY_DIGEST_LEN   32
#define NYM_SENDER_TAG_SIZE       16
#define NYM_REPLY_SURB_BASE_LEN   (NYM_SURB_KEY_LEN + SPHINX_HEADER_LEN + SPHINX_NODE_ADDR_LEN) /* 396 */
#define NYM_REPLY_SURB_V1_LEN     (NYM_REPLY_SURB_BASE_LEN + 4 * SPHINX_PAYLOAD_KEY_LEN)        /* 1164 */
#define NYM_REPLY_SURB_MAX_LEN    (NYM_REPLY_SURB_BASE_LEN + SPHINX_MAX_HOPS * SPHINX_PAYLOAD_KEY_LEN)
#define NYM_SURB_REQUEST_LEN      (96 + 4)

enum nym_reply_err {
	NYM_REPLY_OK = 0,
	NYM_REPLY_ERR_ARG = -1,       /* NULL / buffer too small */
	NYM_REPLY_ERR_SHORT = -2,     /* RequestTooShortToDeserialize */
	NYM_REPLY_ERR_TAG = -3,       /* unknown content tag */
	NYM_REPLY_ERR_ROTATION = -4,  /* key rotation byte not 0, 1, 2 */
	NYM_REPLY_ERR_SURB = -5,      /* a ReplySurb does not parse */
	NYM_REPLY_ERR_RECIPIENT = -6, /* SurbRequest recipient keys invalid */
	NYM_REPLY_ERR_CRYPTO = -7,
};

/* ---- SURB encryption key ---- */
void nym_surb_key_generate(uint8_t key[NYM_SURB_KEY_LEN]);
void nym_surb_key_digest(const uint8_t key[NYM_SURB_KEY_LEN], uint8_t digest[NYM_SURB_KEY_DIGEST_LEN]);

/* ---- ReplySurb ---- */
struct nym_reply_surb {
	uint8_t key[NYM_SURB_KEY_LEN];
	struct sphinx_surb surb;
	uint8_t key_rotation;          /* SphinxKeyRotation the SURB was made under (not serialized) */
};

/* Fixed inputs for rebuilding a SURB exactly; NULL members are random. */
struct nym_reply_surb_fixed {
	const uint8_t *surb_key;         /* 16 */
	const uint8_t *initial_secret;   /* 32 */
	const uint8_t *final_padding;
	const uint64_t *delays_ns;       /* route->n values */
	int secrets;                     /* sphinx_header_params.secrets (same bytes either way) */
};

/* Builds a reply SURB back to destination (our identity) over route (3 mixes + our
 * gateway); version 259 (V2, seeds) or 258 (V1, keys). Delays Exp(average_delay). */
int nym_reply_surb_build(const struct nym_route *route, const uint8_t destination[32],
                         uint16_t version, uint64_t average_delay_ns, uint8_t key_rotation,
                         const struct nym_reply_surb_fixed *fixed, struct nym_reply_surb *out);
/* Serialized length (396 + hops * material size). */
size_t nym_reply_surb_len(const struct nym_reply_surb *s);
/* Returns bytes written or NYM_REPLY_ERR_ARG. */
long nym_reply_surb_to_bytes(const struct nym_reply_surb *s, uint8_t *out, size_t cap);
/* Parses key || SURB (the SURB's first hop must be a valid node address). key_rotation
 * is set to 0; the caller sets what the enclosing message says. */
int nym_reply_surb_from_bytes(const uint8_t *in, size_t len, struct nym_reply_surb *out);
/* Largest fragment a SURB reply carries in a packet of this size tag: plaintext - 405 - 32 - 1. */
size_t nym_reply_surb_max_msg_len(int packet_size_tag);

/* ---- reply payload ---- */
/* out (32 + len bytes) = BLAKE3(key) || AES-128-CTR(key, zero IV, fragment). */
int nym_reply_encrypt_fragment(const uint8_t key[NYM_SURB_KEY_LEN], const uint8_t *fragment,
                               size_t len, uint8_t *out);
/* ct -> fragment (len bytes; in and out may alias). */
int nym_reply_decrypt(const uint8_t key[NYM_SURB_KEY_LEN], const uint8_t *ct, size_t len, uint8_t *out);
/* apply_surb: plaintext must be exactly the plaintext size of packet_size_tag; writes the
 * sphinx packet (SURB header || payload) to packet (nym_packet_size_bytes(tag) bytes) and
 * the first hop (32 bytes, zero padded) to first_hop. */
int nym_reply_surb_apply(const struct nym_reply_surb *s, const uint8_t *plaintext, size_t len,
                         int packet_size_tag, uint8_t *packet, uint8_t first_hop[32]);

/* Where the receiver finds SURB keys by digest (the caller owns it; keyd later).
 * lookup returns 0 and fills key if known (and may forget it: SURB keys are single use),
 * or -1. */
struct nym_surb_key_store {
	int (*lookup)(void *ctx, const uint8_t digest[NYM_SURB_KEY_DIGEST_LEN],
	              uint8_t key[NYM_SURB_KEY_LEN]);
	void *ctx;
};

/* ---- RepliableMessage ---- */
enum nym_repliable_tag {
	NYM_REPLIABLE_DATA_V1 = 0,
	NYM_REPLIABLE_ADDITIONAL_SURBS_V1 = 1,
	NYM_REPLIABLE_HEARTBEAT_V1 = 2,
	NYM_REPLIABLE_DATA_V2 = 3,
	NYM_REPLIABLE_ADDITIONAL_SURBS_V2 = 4,
	NYM_REPLIABLE_HEARTBEAT_V2 = 5,
};

/* A parsed RepliableMessage; pointers refer into the parsed input. */
struct nym_repliable_msg {
	uint8_t sender_tag[NYM_SENDER_TAG_SIZE];
	uint8_t content_tag;
	size_t num_surbs;
	uint8_t surb_hops;             /* V2 header; 4 for V1 */
	uint8_t key_rotation;          /* V2 header; 0 (unknown) for V1 */
	size_t surb_len;               /* bytes per serialized ReplySurb */
	const uint8_t *surbs;          /* num_surbs * surb_len bytes */
	const uint8_t *data;           /* Data variants: the message; else trailing bytes */
	size_t data_len;
};

/* Parses and checks every SURB. Stricter than Nym, which does not check it: a V1 list holds
 * 4-hop SURBs of 192-byte keys and a V2 list SURBs of surb_hops 16-byte seeds (any
 * other structure could not be used for a reply anyway). Trailing bytes after a
 * non-Data list are tolerated and left in data/data_len, as Nym does. */
int nym_repliable_parse(const uint8_t *in, size_t len, struct nym_repliable_msg *m);
/* The i-th SURB of a parsed message, with the message's key rotation. */
int nym_repliable_surb(const struct nym_repliable_msg *m, size_t i, struct nym_reply_surb *out);
/* Serialized length of a RepliableMessage with these SURBs (all of one kind) and data. */
size_t nym_repliable_encoded_len(uint8_t content_tag, const struct nym_reply_surb *surbs,
                                 size_t n_surbs, size_t data_len);
/* Encodes; V2 takes hops and key rotation from the first SURB. The SURBs must all have
 * the structure of the tag's version (see nym_repliable_parse). Data is ignored for
 * the non-Data tags. Returns bytes written or a negative nym_reply_err. */
long nym_repliable_encode(const uint8_t sender_tag[NYM_SENDER_TAG_SIZE], uint8_t content_tag,
                          const struct nym_reply_surb *surbs, size_t n_surbs, const uint8_t *data,
                          size_t data_len, uint8_t *out, size_t cap);

/* ---- ReplyMessage ---- */
enum nym_reply_tag {
	NYM_REPLY_DATA = 0,
	NYM_REPLY_SURB_REQUEST = 1,
};

struct nym_reply_msg {
	uint8_t content_tag;
	const uint8_t *data;           /* Data: points into the input */
	size_t data_len;
	uint8_t recipient[96];         /* SurbRequest */
	uint32_t amount;               /* SurbRequest */
};

int nym_reply_msg_parse(const uint8_t *in, size_t len, struct nym_reply_msg *m);
/* Returns bytes written or a negative nym_reply_err. */
long nym_reply_msg_encode(const struct nym_reply_msg *m, uint8_t *out, size_t cap);

#endif
