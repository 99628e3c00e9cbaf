/* The engine's side of anonymous replies, without any I/O: the SURB lists the engine and
 * keyd exchange (SURBS, SURBS_RECEIVED), RepliableMessages built from such serialized SURBs,
 * and what a reassembled message asks the engine to do. SURBs are capabilities made for the
 * other party; no key passes through here. */
#ifndef NS_ENGINE_REPLIES_H
#define NS_ENGINE_REPLIES_H
#include <stddef.h>
#include <stdint.h>

#include "nymsphinx/address.h"

/* SURBS / SURBS_RECEIVED body: count u32 BE || count x serialized ReplySurb, one length. */
#define NS_SURB_LIST_HEADER 4
/* Nym's sender side (reply_controller/sender_controller.rs, config-types): a SurbRequest
 * amount is capped at maximum_allowed_reply_surb_request_size and served as
 * AdditionalSurbs messages of at most 100 SURBs each. */
#define NS_MAX_SURB_REQUEST 500
#define NS_ADDITIONAL_SURBS_BATCH 100
/* A RepliableMessage V2 counts its SURBs in a u16. */
#define NS_MAX_REPLY_SURBS 65535

enum ns_replies_err {
	NS_REPLIES_ERR_ARG = -100,    /* NULL, buffer too small */
	NS_REPLIES_ERR_SHORT = -101,  /* fewer bytes than the count header */
	NS_REPLIES_ERR_COUNT = -102,  /* more SURBs than allowed */
	NS_REPLIES_ERR_LENGTH = -103, /* body length is not 4 + count x one SURB length */
	NS_REPLIES_ERR_SURB = -104,   /* a SURB does not parse or differs from the first */
};

struct ns_surb_list {
	size_t count, surb_len;
	const uint8_t *surbs; /* count x surb_len bytes, into the parsed input */
};

/* Checks a SURB list: count <= max_count, every SURB parses (V1: 4 hops of 192-byte keys;
 * V2: 1..5 hops of 16-byte seeds), all of one structure. Returns 0 or an ns_replies_err. */
int ns_surb_list_parse(const uint8_t *in, size_t len, size_t max_count, struct ns_surb_list *out);
/* Writes count || surbs; returns the length, 0 if it does not fit in cap. */
size_t ns_surb_list_encode(const uint8_t *surbs, size_t count, size_t surb_len, uint8_t *out,
                           size_t cap);

/* 1 = V1 (1164-byte SURBs), 2 = V2 (seeds), 0 = neither. */
int ns_surb_version(size_t surb_len);
/* Length of the RepliableMessage ns_repliable_build writes. */
size_t ns_repliable_len(int data, size_t count, size_t surb_len, size_t msg_len);
/* RepliableMessage with serialized SURBs: Data (data = 1, carries msg) or AdditionalSurbs;
 * V1 content tags for 1164-byte SURBs, else V2 (also with no SURB, as Nym's default
 * non-legacy format). key_rotation goes in the V2 header when there are SURBs. The same
 * bytes nym_repliable_encode writes. Returns the length or an ns_replies_err. */
long ns_repliable_build(const uint8_t tag[NYM_SENDER_TAG_LEN], int data, const uint8_t *surbs,
                        size_t count, size_t surb_len, uint8_t key_rotation, const uint8_t *msg,
                        size_t msg_len, uint8_t *out, size_t cap);

/* What a reassembled (padded) message asks for (nym received_buffer.rs). */
enum ns_rx_action {
	NS_RX_DELIVER = 1,      /* msg to every app; with sender tag if has_tag; plus SURBs */
	NS_RX_SURBS = 2,        /* AdditionalSurbs / Heartbeat: only its SURBs (maybe none) */
	NS_RX_SURB_REQUEST = 3, /* a Reply SurbRequest: send `amount` SURBs to `recipient` */
};

struct ns_rx {
	enum ns_rx_action action;
	int type;                         /* enum nym_message_type */
	const uint8_t *msg;               /* into the input */
	size_t msg_len;
	int has_tag;
	uint8_t tag[NYM_SENDER_TAG_LEN];
	struct ns_surb_list surbs;      /* SURBs of a RepliableMessage */
	uint8_t content_tag;              /* RepliableMessage / ReplyMessage content tag */
	uint8_t key_rotation;             /* of the SURBs (V2 header; 0 = unknown) */
	uint8_t recipient[NYM_RECIPIENT_LEN];
	uint32_t amount;
};

/* Unpads and parses a reassembled message. Returns 0 or a negative nym_msg_err /
 * nym_reply_err (malformed: drop it). */
int ns_rx_classify(const uint8_t *padded, size_t len, struct ns_rx *rx);

#endif
