/* The engine's reply bytes: SURB lists, RepliableMessages from serialized SURBs, and the
 * classification of reassembled messages (see replies.h). */
#include <string.h>

#include "bytes.h"
#include "engine/replies.h"
#include "crypto.h"
#include "nymsphinx/message.h"
#include "nymsphinx/params.h"
#include "nymsphinx/replies.h"

int ns_surb_version(size_t surb_len)
{
	if (surb_len == NYM_REPLY_SURB_V1_LEN)
		return 1;
	if (surb_len <= NYM_REPLY_SURB_BASE_LEN || (surb_len - NYM_REPLY_SURB_BASE_LEN) % SPHINX_PAYLOAD_SEED_LEN)
		return 0;
	size_t hops = (surb_len - NYM_REPLY_SURB_BASE_LEN) / SPHINX_PAYLOAD_SEED_LEN;
	return hops >= 1 && hops <= SPHINX_MAX_HOPS ? 2 : 0;
}

/* One serialized SURB of the structure its length announces. */
static int surb_ok(const uint8_t *in, size_t len, int version)
{
	struct nym_reply_surb s;
	int ok = nym_reply_surb_from_bytes(in, len, &s) == NYM_REPLY_OK &&
	         (version == 1 ? s.surb.material_len == SPHINX_PAYLOAD_KEY_LEN && s.surb.n_hops == 4
	                       : s.surb.material_len == SPHINX_PAYLOAD_SEED_LEN);
	ns_memzero(&s, sizeof s);
	return ok;
}

int ns_surb_list_parse(const uint8_t *in, size_t len, size_t max_count, struct ns_surb_list *out)
{
	if (!in || !out)
		return NS_REPLIES_ERR_ARG;
	memset(out, 0, sizeof *out);
	if (len < NS_SURB_LIST_HEADER)
		return NS_REPLIES_ERR_SHORT;
	size_t count = ns_get_be32(in), body = len - NS_SURB_LIST_HEADER;
	if (count > max_count)
		return NS_REPLIES_ERR_COUNT;
	if (count == 0)
		return body == 0 ? 0 : NS_REPLIES_ERR_LENGTH;
	if (body % count)
		return NS_REPLIES_ERR_LENGTH;
	size_t surb_len = body / count;
	int version = ns_surb_version(surb_len);
	if (!version)
		return NS_REPLIES_ERR_LENGTH;
	for (size_t i = 0; i < count; i++)
		if (!surb_ok(in + NS_SURB_LIST_HEADER + i * surb_len, surb_len, version))
			return NS_REPLIES_ERR_SURB;
	out->count = count;
	out->surb_len = surb_len;
	out->surbs = in + NS_SURB_LIST_HEADER;
	return 0;
}

size_t ns_surb_list_encode(const uint8_t *surbs, size_t count, size_t surb_len, uint8_t *out,
                           size_t cap)
{
	if (!out || (count && !surbs) || count > UINT32_MAX || (count && surb_len > (cap / count)))
		return 0;
	size_t need = NS_SURB_LIST_HEADER + count * surb_len;
	if (need > cap)
		return 0;
	ns_put_be32(out, (uint32_t)count);
	if (count)
		memcpy(out + NS_SURB_LIST_HEADER, surbs, count * surb_len);
	return need;
}

size_t ns_repliable_len(int data, size_t count, size_t surb_len, size_t msg_len)
{
	return NYM_SENDER_TAG_LEN + 1 + 4 + count * surb_len + (data ? msg_len : 0);
}

long ns_repliable_build(const uint8_t tag[NYM_SENDER_TAG_LEN], int data, const uint8_t *surbs,
                        size_t count, size_t surb_len, uint8_t key_rotation, const uint8_t *msg,
                        size_t msg_len, uint8_t *out, size_t cap)
{
	int version = count ? ns_surb_version(surb_len) : 2;
	if (!tag || !out || (count && !surbs) || (data && msg_len && !msg) || !version ||
	    count > NS_MAX_REPLY_SURBS || (count && surb_len > NYM_REPLY_SURB_MAX_LEN))
		return NS_REPLIES_ERR_ARG;
	size_t need = ns_repliable_len(data, count, surb_len, msg_len);
	if (need > cap)
		return NS_REPLIES_ERR_ARG;
	uint8_t *p = out;
	memcpy(p, tag, NYM_SENDER_TAG_LEN);
	p += NYM_SENDER_TAG_LEN;
	if (version == 1) {
		*p++ = data ? NYM_REPLIABLE_DATA_V1 : NYM_REPLIABLE_ADDITIONAL_SURBS_V1;
		ns_put_be32(p, (uint32_t)count);
	} else {
		*p++ = data ? NYM_REPLIABLE_DATA_V2 : NYM_REPLIABLE_ADDITIONAL_SURBS_V2;
		p[0] = (uint8_t)(count >> 8);
		p[1] = (uint8_t)count;
		p[2] = count ? (uint8_t)((surb_len - NYM_REPLY_SURB_BASE_LEN) / SPHINX_PAYLOAD_SEED_LEN) : 0;
		p[3] = count ? key_rotation : NYM_KEY_ROTATION_UNKNOWN;
	}
	p += 4;
	if (count) {
		memcpy(p, surbs, count * surb_len);
		p += count * surb_len;
	}
	if (data && msg_len) {
		memcpy(p, msg, msg_len);
		p += msg_len;
	}
	return (long)(p - out);
}

static int classify_repliable(const uint8_t *in, size_t len, struct ns_rx *rx)
{
	struct nym_repliable_msg m;
	int rc = nym_repliable_parse(in, len, &m);
	if (rc != NYM_REPLY_OK)
		return rc;
	rx->has_tag = 1;
	memcpy(rx->tag, m.sender_tag, NYM_SENDER_TAG_LEN);
	rx->surbs.count = m.num_surbs;
	rx->surbs.surb_len = m.surb_len;
	rx->surbs.surbs = m.surbs;
	rx->content_tag = m.content_tag;
	rx->key_rotation = m.key_rotation;
	if (m.content_tag == NYM_REPLIABLE_DATA_V1 || m.content_tag == NYM_REPLIABLE_DATA_V2) {
		rx->action = NS_RX_DELIVER;
		rx->msg = m.data;
		rx->msg_len = m.data_len;
	} else {
		rx->action = NS_RX_SURBS; /* AdditionalSurbs, and Heartbeat (Nym keeps its SURBs too) */
	}
	return 0;
}

static int classify_reply(const uint8_t *in, size_t len, struct ns_rx *rx)
{
	struct nym_reply_msg m;
	int rc = nym_reply_msg_parse(in, len, &m);
	if (rc != NYM_REPLY_OK)
		return rc;
	rx->content_tag = m.content_tag;
	if (m.content_tag == NYM_REPLY_DATA) {
		rx->action = NS_RX_DELIVER;
		rx->msg = m.data;
		rx->msg_len = m.data_len;
	} else {
		rx->action = NS_RX_SURB_REQUEST;
		memcpy(rx->recipient, m.recipient, NYM_RECIPIENT_LEN);
		rx->amount = m.amount;
	}
	return 0;
}

int ns_rx_classify(const uint8_t *padded, size_t len, struct ns_rx *rx)
{
	enum nym_message_type type;
	const uint8_t *inner;
	size_t inner_len;
	if (!padded || !rx)
		return NS_REPLIES_ERR_ARG;
	memset(rx, 0, sizeof *rx);
	int rc = nym_msg_unpad(padded, len, &type, &inner, &inner_len);
	if (rc != NYM_MSG_OK)
		return rc;
	rx->type = (int)type;
	switch (type) {
	case NYM_MSG_PLAIN:
		rx->action = NS_RX_DELIVER;
		rx->msg = inner;
		rx->msg_len = inner_len;
		return 0;
	case NYM_MSG_REPLIABLE:
		return classify_repliable(inner, inner_len, rx);
	case NYM_MSG_REPLY:
		return classify_reply(inner, inner_len, rx);
	}
	return NYM_MSG_ERR_TYPE;
}
