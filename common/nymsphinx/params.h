/* nym-sphinx params (nym@b4046a89 common/nymsphinx/params): packet sizes, packet types,
 * frame versions and the sphinx key-rotation byte.
 * Sphinx overhead = header 348 + payload overhead 17 = 365 bytes. */
#ifndef NS_NYM_PARAMS_H
#define NS_NYM_PARAMS_H
#include <stddef.h>
#include <stdint.h>

#define NYM_FRAG_ID_LEN          5
#define NYM_SPHINX_OVERHEAD      365
#define NYM_SPHINX_HEADER_SIZE   348
#define NYM_ACK_IV_SIZE          16

/* PacketSize tags as they appear on the wire. Tags 6 and 7 (outfox) are out of scope:
 * nym_packet_size_from_tag() rejects them. */
enum nym_packet_size {
	NYM_PACKET_REGULAR     = 1, /* 2413 bytes, plaintext 2048 */
	NYM_PACKET_ACK         = 2, /* 386 bytes, plaintext 21 */
	NYM_PACKET_EXTENDED32  = 3, /* 33133 bytes, plaintext 32768 */
	NYM_PACKET_EXTENDED8   = 4, /* 8557 bytes, plaintext 8192 */
	NYM_PACKET_EXTENDED16  = 5, /* 16749 bytes, plaintext 16384 */
};

#define NYM_PACKET_REGULAR_SIZE    2413
#define NYM_PACKET_ACK_SIZE        386
#define NYM_PACKET_EXTENDED8_SIZE  8557
#define NYM_PACKET_EXTENDED16_SIZE 16749
#define NYM_PACKET_EXTENDED32_SIZE 33133
#define NYM_PACKET_MAX_SIZE        NYM_PACKET_EXTENDED32_SIZE

/* 1 if tag is one of the five sphinx sizes above. */
int nym_packet_size_valid(int tag);
/* Whole sphinx packet length for a tag; 0 for an unknown tag. */
size_t nym_packet_size_bytes(int tag);
/* Sphinx payload length (size - 348); 0 for an unknown tag. */
size_t nym_packet_payload_size(int tag);
/* Sphinx plaintext length (size - 365); 0 for an unknown tag. */
size_t nym_packet_plaintext_size(int tag);
/* Tag for a sphinx packet length (get_type), or -1. */
int nym_packet_size_from_len(size_t packet_len);
/* Tag for a sphinx plaintext length (get_type_from_plaintext, Mix type), or -1. */
int nym_packet_size_from_plaintext(size_t plaintext_len);
/* "regular", "ack", "extended8", "extended16", "extended32" (as Nym's Display/FromStr). */
const char *nym_packet_size_name(int tag);
/* Parses the names above; -1 if unknown. */
int nym_packet_size_from_name(const char *name);

/* PacketType: 0 = Mix (sphinx), 2 = Outfox. 1 and everything else is invalid. */
enum nym_packet_type {
	NYM_PACKET_TYPE_MIX = 0,
	NYM_PACKET_TYPE_OUTFOX = 2,
};
int nym_packet_type_valid(int type);

/* PacketVersion of the mix-to-mix frame: 7 = legacy (3-byte header, no key rotation),
 * 8 = current (4-byte header). < 7 is invalid; > 8 is "unsupported" for the codec. */
#define NYM_PACKET_VERSION_LEGACY  7
#define NYM_PACKET_VERSION_CURRENT 8

/* SphinxKeyRotation byte. */
enum nym_key_rotation {
	NYM_KEY_ROTATION_UNKNOWN = 0,
	NYM_KEY_ROTATION_ODD = 1,
	NYM_KEY_ROTATION_EVEN = 2,
};
int nym_key_rotation_valid(int rotation);
/* From the topology's u32 rotation id: 0 or 0xFFFFFFFF -> Unknown, even -> Even, odd -> Odd. */
enum nym_key_rotation nym_key_rotation_from_id(uint32_t rotation_id);

#endif
