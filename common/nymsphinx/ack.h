/* SURB-acknowledgements (nym-sphinx acknowledgements: key.rs, identifier.rs, surb_ack.rs).
 *   ack payload (21) = IV(16) || AES-128-CTR(ack_key, IV, fragment_identifier(5))
 *   SURB_ACK (405)   = first hop NymNodeRoutingAddress zero padded to 19 || ack packet (386)
 * The ack packet is a sphinx packet of the Ack size (payload 38) over 3 mixes and the
 * sender's own gateway, addressed to the sender. */
#ifndef NS_NYM_ACK_H
#define NS_NYM_ACK_H
#include <stddef.h>
#include <stdint.h>

#include "nymsphinx/topology.h"

#define NYM_ACK_KEY_LEN         16
#define NYM_ACK_PAYLOAD_LEN     21   /* IV + fragment identifier */
#define NYM_ACK_FRAG_ID_LEN     5
#define NYM_ACK_ADDR_LEN        19   /* MAX_NODE_ADDRESS_UNPADDED_LEN */
#define NYM_ACK_PACKET_LEN      386
#define NYM_ACK_PACKET_PAYLOAD  38
#define NYM_SURB_ACK_LEN        (NYM_ACK_ADDR_LEN + NYM_ACK_PACKET_LEN) /* 405 */

void nym_ack_key_generate(uint8_t key[NYM_ACK_KEY_LEN]);

/* iv may be NULL (random). */
int nym_ack_payload_encrypt(const uint8_t key[NYM_ACK_KEY_LEN], const uint8_t *iv,
                            const uint8_t frag_id[NYM_ACK_FRAG_ID_LEN],
                            uint8_t out[NYM_ACK_PAYLOAD_LEN]);
/* in must be exactly 21 bytes. */
int nym_ack_payload_decrypt(const uint8_t key[NYM_ACK_KEY_LEN], const uint8_t *in, size_t len,
                            uint8_t frag_id[NYM_ACK_FRAG_ID_LEN]);

struct nym_surb_ack {
	uint8_t bytes[NYM_SURB_ACK_LEN];
	uint64_t expected_total_delay_ns;  /* sum of the n-1 encoded delays */
};

/* Fixed inputs for rebuilding a real SURB-ack byte for byte; NULL members are random. */
struct nym_surb_ack_fixed {
	const uint8_t *iv;               /* 16 */
	const uint8_t *initial_secret;   /* 32 */
	const uint8_t *final_padding;    /* 300 - 60(n-1) - 52 */
	const uint64_t *delays_ns;       /* route->n values; else Exp(average_ack_delay) */
	int secrets;                     /* sphinx_header_params.secrets (same bytes either way) */
};

/* Builds the SURB-ack for frag_id over route (3 mixes + the sender's gateway), to
 * destination (the sender's identity key), with the given sphinx version (259 for real
 * traffic, 258 for loop cover). fixed may be NULL. */
int nym_surb_ack_build(const struct nym_route *route, const uint8_t destination[32],
                       uint16_t version, const uint8_t ack_key[NYM_ACK_KEY_LEN],
                       const uint8_t frag_id[NYM_ACK_FRAG_ID_LEN], uint64_t average_ack_delay_ns,
                       const struct nym_surb_ack_fixed *fixed, struct nym_surb_ack *out);

/* Gateway side: splits a recovered final-hop plaintext into the SURB-ack (first hop,
 * 386-byte ack packet) and the part for the client. Rejects len < 405 and a first-hop
 * address whose type byte is not 4 (IPv4) or 6 (IPv6). first_hop receives the address
 * zero padded to 32 bytes (the unused bytes of the 19 are ignored, as Nym does). */
int nym_surb_ack_split(const uint8_t *plaintext, size_t len, uint8_t first_hop[32],
                       const uint8_t **ack_packet, const uint8_t **rest, size_t *rest_len);

#endif
