/* Packet framing (nym@b4046a89):
 *  (a) NymCodec, the mix-to-mix TCP frame (framing/src/codec.rs, packet.rs):
 *      version(1) || size_tag(1) || packet_type(1) || [key_rotation(1) if version != 7]
 *      || sphinx packet (length fixed by the size tag; no length prefix).
 *      Version < 7 is invalid, > 8 unsupported; both are errors.
 *  (b) MixPacket, the client->gateway forward form (forwarding/src/packet.rs):
 *      v1 = type(1) || next_hop(7 or 19) || packet
 *      v2 = type(1) || key_rotation(1) || next_hop(7 or 19) || packet
 *      The packet length must be one of the five sphinx sizes. v1 decodes as rotation Unknown.
 * Outfox size tags (6, 7) are not supported and are rejected. Packet type 2 (Outfox) is
 * a valid PacketType and passes through; callers that only handle sphinx check it. */
#ifndef NS_NYM_FRAMING_H
#define NS_NYM_FRAMING_H
#include <stddef.h>
#include <stdint.h>
#include "nymsphinx/params.h"
#include "nymsphinx/address.h"

enum nym_frame_err {
	NYM_FRAME_OK = 0,
	NYM_FRAME_ERR_ARG = -1,          /* NULL, or output buffer too small */
	NYM_FRAME_ERR_VERSION = -2,      /* version < 7 */
	NYM_FRAME_ERR_UNSUPPORTED = -3,  /* version > 8 */
	NYM_FRAME_ERR_SIZE_TAG = -4,     /* size tag not 1..5 */
	NYM_FRAME_ERR_TYPE = -5,         /* packet type not 0 or 2 */
	NYM_FRAME_ERR_ROTATION = -6,     /* key rotation byte not 0, 1 or 2 */
	NYM_FRAME_ERR_PACKET_LEN = -7,   /* packet length is not the size the tag / a tag needs */
	NYM_FRAME_ERR_SHORT = -8,        /* mix packet shorter than its fixed fields */
	NYM_FRAME_ERR_ADDRESS = -9,      /* next hop address type not 4/6 or truncated */
	NYM_FRAME_ERR_FAILED = -10,      /* decoder already failed: drop the connection */
};

#define NYM_FRAME_HEADER_LEGACY_LEN 3
#define NYM_FRAME_HEADER_V8_LEN     4
#define NYM_FRAME_MAX_LEN           (NYM_FRAME_HEADER_V8_LEN + NYM_PACKET_MAX_SIZE)

struct nym_frame_header {
	uint8_t version;      /* 7 or 8 */
	uint8_t size_tag;     /* enum nym_packet_size */
	uint8_t packet_type;  /* enum nym_packet_type */
	uint8_t key_rotation; /* enum nym_key_rotation; always Unknown for version 7 */
};

/* Header for a packet as FramedNymPacket::new builds it (tag from packet_len; version 7
 * if legacy, else 8). 0 or a negative nym_frame_err. */
int nym_frame_header_for(size_t packet_len, uint8_t packet_type, uint8_t key_rotation, int legacy,
                         struct nym_frame_header *h);
/* 3 for version 7, else 4. */
size_t nym_frame_header_len(const struct nym_frame_header *h);
/* Checks every header field as the decoder does: 0 or a negative nym_frame_err. */
int nym_frame_header_validate(const struct nym_frame_header *h);
/* Writes header || packet; packet_len must equal the tag's size. Returns bytes written. */
long nym_frame_encode(const struct nym_frame_header *h, const uint8_t *packet, size_t packet_len,
                      uint8_t *out, size_t cap);

/* Streaming decoder. Internal buffering is bounded by one frame (NYM_FRAME_MAX_LEN). */
struct nym_frame_decoder {
	uint8_t *buf;   /* partial frame; NYM_FRAME_MAX_LEN bytes */
	size_t have;
	int failed;     /* sticky error once a bad header was seen */
};
struct nym_frame {
	struct nym_frame_header header;
	const uint8_t *packet; /* valid until the next nym_frame_decoder_push / _free call */
	size_t packet_len;
};
int nym_frame_decoder_init(struct nym_frame_decoder *d);
void nym_frame_decoder_free(struct nym_frame_decoder *d);
/* Consumes input up to the end of at most one frame. *consumed receives the bytes used
 * (always > 0 when len > 0 and no error). Returns 1 with *frame filled when a frame is
 * complete, 0 when more input is needed, or a negative nym_frame_err (sticky: every later
 * call returns NYM_FRAME_ERR_FAILED; the caller drops the connection). Usage:
 *   while (len) { rc = push(d, p, len, &used, &f); if (rc < 0) drop; p += used; len -= used;
 *                 if (rc == 1) handle(&f); } */
int nym_frame_decoder_push(struct nym_frame_decoder *d, const uint8_t *in, size_t len,
                           size_t *consumed, struct nym_frame *frame);

/* MixPacket (client -> gateway forward form). */
struct nym_mix_packet {
	uint8_t packet_type;              /* enum nym_packet_type */
	uint8_t key_rotation;             /* enum nym_key_rotation; v1 carries none (Unknown) */
	struct nym_node_address next_hop;
	const uint8_t *packet;            /* decoding: points into the input */
	size_t packet_len;
};
/* Encoded size for version 1 or 2; 0 on a bad version/address. */
size_t nym_mix_packet_len(const struct nym_mix_packet *p, int version);
/* Returns bytes written or a negative nym_frame_err (fields are validated). */
long nym_mix_packet_encode_v1(const struct nym_mix_packet *p, uint8_t *out, size_t cap);
long nym_mix_packet_encode_v2(const struct nym_mix_packet *p, uint8_t *out, size_t cap);
/* 0 or a negative nym_frame_err. */
int nym_mix_packet_decode_v1(const uint8_t *in, size_t len, struct nym_mix_packet *p);
int nym_mix_packet_decode_v2(const uint8_t *in, size_t len, struct nym_mix_packet *p);

#endif
