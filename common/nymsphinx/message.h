/* NymMessage (nym@b4046a89 common/nymsphinx/src/message.rs): type(1) || inner, padded to
 * whole fragments as  bytes || 0x01 || zeros. The inner bytes of Repliable / Reply
 * messages (sender tag, content tags, SURBs) are built and parsed by the replies module. */
#ifndef NS_NYM_MESSAGE_H
#define NS_NYM_MESSAGE_H
#include <stddef.h>
#include <stdint.h>

enum nym_message_type {
	NYM_MSG_PLAIN = 0,
	NYM_MSG_REPLIABLE = 1, /* inner = sender_tag(16) || content_tag(1) || content */
	NYM_MSG_REPLY = 2,     /* inner = content_tag(1) || content */
};

enum nym_msg_err {
	NYM_MSG_OK = 0,
	NYM_MSG_ERR_ARG = -1,      /* NULL, bad packet size tag, or buffer too small */
	NYM_MSG_ERR_TYPE = -2,     /* type byte not 0, 1 or 2 */
	NYM_MSG_ERR_PADDING = -3,  /* no 0x01 byte in the padded message */
	NYM_MSG_ERR_EMPTY = -4,    /* nothing before the last 0x01 */
	NYM_MSG_ERR_NOMEM = -5,
};

#define NYM_ACK_OVERHEAD        405 /* 19-byte max node address + 386-byte ack packet */
#define NYM_MSG_VARIANT_OVERHEAD 32 /* x25519 ephemeral key, or BLAKE3 reply-key digest */
#define NYM_MIN_PADDING_OVERHEAD 1

/* available_sphinx_plaintext_per_packet: plaintext_size(tag) - 405 - 32
 * (regular 1611, ext8 7755, ext16 15947, ext32 32331; the same for all three types).
 * 0 for an unknown tag or a tag too small for it (ack). */
size_t nym_msg_plaintext_per_packet(int packet_size_tag);

/* Length of the padded message for an inner of inner_len bytes with budget ppp:
 * 1 + inner_len + 1 + space_left, a multiple of whole fragments. 0 on overflow/bad ppp. */
size_t nym_msg_padded_len(size_t inner_len, size_t ppp);
/* Number of fragments (sphinx packets) that padded message needs. */
size_t nym_msg_required_packets(size_t inner_len, size_t ppp);

/* out = type || inner || 0x01 || zeros, exactly nym_msg_padded_len() bytes.
 * Returns that length or a negative nym_msg_err. */
long nym_msg_pad(enum nym_message_type type, const uint8_t *inner, size_t inner_len, size_t ppp,
                 uint8_t *out, size_t cap);
/* Same into a fresh malloc'd buffer (*out_len receives the size); NULL on error. */
uint8_t *nym_msg_pad_alloc(enum nym_message_type type, const uint8_t *inner, size_t inner_len,
                           size_t ppp, size_t *out_len);

/* remove_padding: finds the last 0x01; what precedes it must be type || inner with a known
 * type. On success *type is set and *inner / *inner_len point into padded.
 * Trailing bytes after the 0x01 are not checked (as Nym). */
int nym_msg_unpad(const uint8_t *padded, size_t len, enum nym_message_type *type,
                  const uint8_t **inner, size_t *inner_len);

#endif
