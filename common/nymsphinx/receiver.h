/* Client side of what the gateway pushes (nym-sphinx src/receiver.rs, client-core):
 *  - 21 bytes: an ack payload -> fragment identifier (ack key);
 *  - otherwise first 32 bytes || ct: if the 32 bytes are the digest of a stored SURB key
 *    it is a reply (AES-128-CTR with that key); else they are an ephemeral x25519 key
 *    (e2e with our encryption key). The plaintext is a fragment for the reassembler,
 *    or loop cover. */
#ifndef NS_NYM_RECEIVER_H
#define NS_NYM_RECEIVER_H
#include <stddef.h>
#include <stdint.h>

#include "nymsphinx/ack.h"
#include "nymsphinx/chunking.h"
#include "nymsphinx/replies.h"

enum nym_received_kind {
	NYM_RECEIVED_ACK = 1,
	NYM_RECEIVED_FRAGMENT = 2,
	NYM_RECEIVED_COVER = 3,
};

struct nym_receiver {
	uint8_t encryption_secret[32];      /* our x25519 encryption private key */
	uint8_t ack_key[NYM_ACK_KEY_LEN];
	struct nym_surb_key_store surb_keys; /* lookup may be NULL: no replies expected */
};

struct nym_received {
	int kind;                           /* enum nym_received_kind */
	int via_reply;                      /* fragment came through one of our SURBs */
	struct nym_frag_id frag_id;         /* ACK */
	uint8_t raw_frag_id[NYM_FRAG_ID_LEN];
	const uint8_t *data;                /* FRAGMENT / COVER: points into buf */
	size_t data_len;
};

/* Classifies and decrypts one push. buf (cap >= len) receives the plaintext.
 * For FRAGMENT the fragment header is checked to decode. Returns 0 or -1. */
int nym_receive(const struct nym_receiver *r, const uint8_t *in, size_t len, uint8_t *buf,
                size_t cap, struct nym_received *out);

#endif
