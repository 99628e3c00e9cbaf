/* Message -> mix packets (nym-sphinx src/preparer/{mod,payload}.rs):
 * pad, split into fragments, and for each fragment build its SURB-ack, the payload
 * (e2e to the recipient, or reply-encrypted for a SURB), a route of 3 random mixes +
 * the recipient's gateway, Exp(average_packet_delay) delays and a version-259 sphinx
 * packet; the result is a mix packet for the route's first hop. */
#ifndef NS_NYM_PREPARER_H
#define NS_NYM_PREPARER_H
#include <stddef.h>
#include <stdint.h>

#include "nymsphinx/ack.h"
#include "nymsphinx/address.h"
#include "nymsphinx/message.h"
#include "nymsphinx/params.h"
#include "nymsphinx/replies.h"
#include "nymsphinx/topology.h"

/* A mix packet as handed to the gateway: first hop, sphinx packet, type, key rotation. */
struct nym_mix_packet {
	uint8_t first_hop[SPHINX_NODE_ADDR_LEN]; /* NymNodeRoutingAddress, zero padded */
	uint8_t packet_type;                     /* NYM_PACKET_TYPE_MIX */
	uint8_t key_rotation;                    /* SphinxKeyRotation byte */
	int packet_size_tag;
	size_t packet_len;
	uint8_t *packet;                         /* malloc'd; nym_mix_packet_clear frees it */
};
void nym_mix_packet_clear(struct nym_mix_packet *m);

struct nym_prepared_fragment {
	struct nym_mix_packet mix;
	uint8_t frag_id[NYM_FRAG_ID_LEN];
	uint64_t total_delay_ns;  /* forward delays + the SURB-ack's expected delay */
};
void nym_prepared_free(struct nym_prepared_fragment *arr, size_t n);

struct nym_preparer {
	const struct nym_topology *topology;
	struct nym_recipient self;        /* our address: SURB-acks and reply SURBs lead back here */
	uint8_t ack_key[NYM_ACK_KEY_LEN];
	uint64_t average_packet_delay_ns; /* default 15 ms */
	uint64_t average_ack_delay_ns;    /* default 15 ms */
	int packet_size_tag;              /* NYM_PACKET_REGULAR unless extended */
	int secrets;                      /* sphinx_header_params.secrets for every header built
	                                     (packet, SURB-ack, reply SURB): 0 = accumulated */
};

/* Fixed inputs for one fragment (known-answer rebuilds); NULL members are random. */
struct nym_prepare_fixed {
	const struct nym_route *route;        /* forward route (ignored for replies) */
	const struct nym_route *ack_route;
	const uint8_t *ephemeral_secret;      /* e2e key (regular) */
	const uint8_t *initial_secret;        /* forward header (regular) */
	const uint8_t *final_padding;
	const uint64_t *delays_ns;
	struct nym_surb_ack_fixed ack;
};

/* Sphinx plaintexts: SURB_ACK(405) || E_pub(32) || ct  and  SURB_ACK || BLAKE3(key) || ct.
 * out receives 405 + 32 + len bytes. ephemeral_secret may be NULL (random). */
int nym_payload_regular(const uint8_t surb_ack[NYM_SURB_ACK_LEN], const uint8_t *fragment,
                        size_t len, const uint8_t recipient_pk[32],
                        const uint8_t *ephemeral_secret, uint8_t *out);
int nym_payload_reply(const uint8_t surb_ack[NYM_SURB_ACK_LEN], const uint8_t *fragment,
                      size_t len, const uint8_t surb_key[NYM_SURB_KEY_LEN], uint8_t *out);

/* One fragment (header || payload, exactly ppp bytes) to a recipient. fixed may be NULL. */
int nym_prepare_fragment(const struct nym_preparer *p, const uint8_t *fragment, size_t len,
                         const struct nym_recipient *to, const struct nym_prepare_fixed *fixed,
                         struct nym_prepared_fragment *out);
/* The general form behind nym_prepare_fragment and loop cover: any bytes as the fragment,
 * an explicit fragment identifier, sphinx version and forward delay mean. */
int nym_prepare_e2e(const struct nym_preparer *p, const uint8_t *fragment, size_t len,
                    const struct nym_recipient *to, uint16_t version, uint64_t packet_delay_ns,
                    const uint8_t frag_id[NYM_FRAG_ID_LEN], const struct nym_prepare_fixed *fixed,
                    struct nym_prepared_fragment *out);
/* One fragment as a reply through a SURB (the packet goes to the SURB's first hop with
 * the SURB's key rotation; expected forward delay = 3 x average_packet_delay). */
int nym_prepare_reply_fragment(const struct nym_preparer *p, const uint8_t *fragment, size_t len,
                               const struct nym_reply_surb *surb,
                               const struct nym_prepare_fixed *fixed,
                               struct nym_prepared_fragment *out);

/* A whole NymMessage (type || inner): padded, split, and each fragment prepared. For
 * NYM_MSG_REPLY, surbs must hold at least one SURB per fragment (used in order, *used_surbs
 * tells how many) and to is ignored; else to is the recipient. On success *out is a
 * malloc'd array of *n_out packets (nym_prepared_free). */
int nym_prepare_message(const struct nym_preparer *p, enum nym_message_type type,
                        const uint8_t *inner, size_t inner_len, const struct nym_recipient *to,
                        const struct nym_reply_surb *surbs, size_t n_surbs, size_t *used_surbs,
                        struct nym_prepared_fragment **out, size_t *n_out);

/* n reply SURBs leading back to p->self: random routes, version 259 (V2) unless
 * legacy (258, V1), Exp(average_packet_delay) delays, the topology's key rotation. */
int nym_preparer_reply_surbs(const struct nym_preparer *p, int legacy, size_t n,
                             struct nym_reply_surb *out);

#endif
