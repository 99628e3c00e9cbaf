/* Decrypting what the gateway pushes to the client (see receiver.h). */
#include "nymsphinx/receiver.h"

#include <string.h>

#include "crypto.h"
#include "nymsphinx/cover.h"
#include "nymsphinx/e2e.h"

static int receive_ack(const struct nym_receiver *r, const uint8_t *in, size_t len,
                       struct nym_received *out)
{
	if (nym_ack_payload_decrypt(r->ack_key, in, len, out->raw_frag_id) != 0 ||
	    nym_frag_id_decode(out->raw_frag_id, &out->frag_id) != NYM_CHUNK_OK)
		return -1;
	out->kind = NYM_RECEIVED_ACK;
	return 0;
}

/* 0 and the key if the first 32 bytes name one of our SURB keys. */
static int lookup_reply_key(const struct nym_receiver *r, const uint8_t digest[32],
                            uint8_t key[NYM_SURB_KEY_LEN])
{
	if (r->surb_keys.lookup == NULL)
		return -1;
	return r->surb_keys.lookup(r->surb_keys.ctx, digest, key) == 0 ? 0 : -1;
}

int nym_receive(const struct nym_receiver *r, const uint8_t *in, size_t len, uint8_t *buf,
                size_t cap, struct nym_received *out)
{
	uint8_t key[NYM_SURB_KEY_LEN];
	struct nym_fragment frag;
	size_t ct_len;
	int rc;

	if (r == NULL || in == NULL || out == NULL)
		return -1;
	memset(out, 0, sizeof *out);
	if (len == NYM_ACK_PAYLOAD_LEN)
		return receive_ack(r, in, len, out);
	if (len < NYM_E2E_PUBKEY_LEN || buf == NULL || cap < len - NYM_E2E_PUBKEY_LEN)
		return -1;
	ct_len = len - NYM_E2E_PUBKEY_LEN;
	if (lookup_reply_key(r, in, key) == 0) {
		rc = nym_reply_decrypt(key, in + NYM_E2E_PUBKEY_LEN, ct_len, buf);
		ns_memzero(key, sizeof key);
		out->via_reply = 1;
	} else {
		rc = nym_e2e_decrypt(r->encryption_secret, in, len, buf);
	}
	if (rc != 0)
		return -1;
	out->data = buf;
	out->data_len = ct_len;
	if (nym_is_cover(buf, ct_len)) {
		out->kind = NYM_RECEIVED_COVER;
		return 0;
	}
	if (nym_fragment_decode(buf, ct_len, &frag) != NYM_CHUNK_OK)
		return -1;
	out->kind = NYM_RECEIVED_FRAGMENT;
	return 0;
}
