/* Anonymous replies: SURB keys, ReplySurbs, RepliableMessage, ReplyMessage (see replies.h). */
#include "nymsphinx/replies.h"

#include <string.h>

#include "bytes.h"
#include "crypto.h"
#include "nymsphinx/address.h"
#include "nymsphinx/params.h"

static const uint8_t ZERO_IV[NS_AES_IV_LEN];

void nym_surb_key_generate(uint8_t key[NYM_SURB_KEY_LEN]) { ns_random(key, NYM_SURB_KEY_LEN); }

void nym_surb_key_digest(const uint8_t key[NYM_SURB_KEY_LEN], uint8_t digest[NYM_SURB_KEY_DIGEST_LEN])
{
	ns_blake3(digest, key, NYM_SURB_KEY_LEN);
}

/* ---- ReplySurb ---- */

int nym_reply_surb_build(const struct nym_route *route, const uint8_t destination[32],
                         uint16_t version, uint64_t average_delay_ns, uint8_t key_rotation,
                         const struct nym_reply_surb_fixed *fixed, struct nym_reply_surb *out)
{
	static const struct nym_reply_surb_fixed none;
	struct sphinx_header_params hp;
	uint64_t delays[SPHINX_MAX_HOPS];

	if (route == NULL || destination == NULL || out == NULL || route->n == 0 ||
	    route->n > SPHINX_MAX_HOPS || (version != 258 && version != 259))
		return NYM_REPLY_ERR_ARG;
	if (fixed == NULL)
		fixed = &none;
	if (fixed->delays_ns)
		memcpy(delays, fixed->delays_ns, route->n * sizeof delays[0]);
	else
		nym_sample_hop_delays(average_delay_ns, route->n, delays);
	memset(&hp, 0, sizeof hp);
	hp.route = route->hop;
	hp.n_hops = route->n;
	hp.delays_ns = delays;
	memcpy(hp.destination, destination, SPHINX_DEST_LEN);
	hp.version = version;
	hp.initial_secret = fixed->initial_secret;
	hp.final_padding = fixed->final_padding;
	hp.secrets = fixed->secrets;
	if (sphinx_surb_build(&hp, &out->surb) != SPHINX_OK)
		return NYM_REPLY_ERR_CRYPTO;
	if (fixed->surb_key)
		memcpy(out->key, fixed->surb_key, NYM_SURB_KEY_LEN);
	else
		nym_surb_key_generate(out->key);
	out->key_rotation = key_rotation;
	return NYM_REPLY_OK;
}

size_t nym_reply_surb_len(const struct nym_reply_surb *s)
{
	return NYM_REPLY_SURB_BASE_LEN + s->surb.n_hops * s->surb.material_len;
}

long nym_reply_surb_to_bytes(const struct nym_reply_surb *s, uint8_t *out, size_t cap)
{
	long n;

	if (s == NULL || out == NULL || cap < NYM_SURB_KEY_LEN)
		return NYM_REPLY_ERR_ARG;
	n = sphinx_surb_to_bytes(&s->surb, out + NYM_SURB_KEY_LEN, cap - NYM_SURB_KEY_LEN);
	if (n < 0)
		return NYM_REPLY_ERR_ARG;
	memcpy(out, s->key, NYM_SURB_KEY_LEN);
	return n + NYM_SURB_KEY_LEN;
}

int nym_reply_surb_from_bytes(const uint8_t *in, size_t len, struct nym_reply_surb *out)
{
	struct nym_node_address a;

	if (in == NULL || out == NULL)
		return NYM_REPLY_ERR_ARG;
	if (len <= NYM_SURB_KEY_LEN)
		return NYM_REPLY_ERR_SHORT;
	if (sphinx_surb_from_bytes(in + NYM_SURB_KEY_LEN, len - NYM_SURB_KEY_LEN, &out->surb) != SPHINX_OK)
		return NYM_REPLY_ERR_SURB;
	if (nym_node_address_decode(out->surb.first_hop, SPHINX_NODE_ADDR_LEN, &a) < 0)
		return NYM_REPLY_ERR_SURB;
	memcpy(out->key, in, NYM_SURB_KEY_LEN);
	out->key_rotation = NYM_KEY_ROTATION_UNKNOWN;
	return NYM_REPLY_OK;
}

size_t nym_reply_surb_max_msg_len(int packet_size_tag)
{
	size_t pt = nym_packet_plaintext_size(packet_size_tag);
	size_t overhead = 405 + NYM_SURB_KEY_DIGEST_LEN + 1;
	return pt > overhead ? pt - overhead : 0;
}

/* ---- reply payload ---- */

int nym_reply_encrypt_fragment(const uint8_t key[NYM_SURB_KEY_LEN], const uint8_t *fragment,
                               size_t len, uint8_t *out)
{
	if (key == NULL || out == NULL || (fragment == NULL && len > 0))
		return NYM_REPLY_ERR_ARG;
	nym_surb_key_digest(key, out);
	if (len && ns_aes128_ctr64be(out + NYM_SURB_KEY_DIGEST_LEN, fragment, len, key, ZERO_IV) != 0)
		return NYM_REPLY_ERR_CRYPTO;
	return NYM_REPLY_OK;
}

int nym_reply_decrypt(const uint8_t key[NYM_SURB_KEY_LEN], const uint8_t *ct, size_t len, uint8_t *out)
{
	if (key == NULL || ct == NULL || out == NULL)
		return NYM_REPLY_ERR_ARG;
	if (len && ns_aes128_ctr64be(out, ct, len, key, ZERO_IV) != 0)
		return NYM_REPLY_ERR_CRYPTO;
	return NYM_REPLY_OK;
}

int nym_reply_surb_apply(const struct nym_reply_surb *s, const uint8_t *plaintext, size_t len,
                         int packet_size_tag, uint8_t *packet, uint8_t first_hop[32])
{
	size_t pt_size = nym_packet_plaintext_size(packet_size_tag);

	if (s == NULL || plaintext == NULL || packet == NULL || pt_size == 0 || len != pt_size)
		return NYM_REPLY_ERR_ARG;
	if (sphinx_surb_use(&s->surb, plaintext, len, nym_packet_payload_size(packet_size_tag),
	                    packet) != SPHINX_OK)
		return NYM_REPLY_ERR_CRYPTO;
	if (first_hop)
		memcpy(first_hop, s->surb.first_hop, SPHINX_NODE_ADDR_LEN);
	return NYM_REPLY_OK;
}

/* ---- RepliableMessage ---- */

static int is_v1(uint8_t tag) { return tag <= NYM_REPLIABLE_HEARTBEAT_V1; }
static int is_data(uint8_t tag) { return tag == NYM_REPLIABLE_DATA_V1 || tag == NYM_REPLIABLE_DATA_V2; }

/* Reads the SURB list header at in (content after the content tag) into m. Returns the
 * number of bytes the header and the SURBs take, or a negative error. */
static long parse_surb_list(const uint8_t *in, size_t len, struct nym_repliable_msg *m)
{
	size_t hdr;

	if (is_v1(m->content_tag)) {
		if (len < 4)
			return NYM_REPLY_ERR_SHORT;
		m->num_surbs = ns_get_be32(in);
		m->surb_hops = 4;
		m->key_rotation = NYM_KEY_ROTATION_UNKNOWN;
		m->surb_len = NYM_REPLY_SURB_V1_LEN;
		hdr = 4;
	} else {
		if (len < 4)
			return NYM_REPLY_ERR_SHORT;
		m->num_surbs = (size_t)in[0] << 8 | in[1];
		m->surb_hops = in[2];
		if (!nym_key_rotation_valid(in[3]))
			return NYM_REPLY_ERR_ROTATION;
		m->key_rotation = in[3];
		m->surb_len = NYM_REPLY_SURB_BASE_LEN + (size_t)m->surb_hops * SPHINX_PAYLOAD_SEED_LEN;
		hdr = 4;
	}
	/* num_surbs * surb_len <= len - hdr, without overflow */
	if (m->num_surbs > (len - hdr) / m->surb_len)
		return NYM_REPLY_ERR_SHORT;
	m->surbs = in + hdr;
	return (long)(hdr + m->num_surbs * m->surb_len);
}

int nym_repliable_parse(const uint8_t *in, size_t len, struct nym_repliable_msg *m)
{
	struct nym_reply_surb tmp;
	long used;

	if (in == NULL || m == NULL)
		return NYM_REPLY_ERR_ARG;
	memset(m, 0, sizeof *m);
	if (len < NYM_SENDER_TAG_SIZE + 1)
		return NYM_REPLY_ERR_SHORT;
	memcpy(m->sender_tag, in, NYM_SENDER_TAG_SIZE);
	m->content_tag = in[NYM_SENDER_TAG_SIZE];
	if (m->content_tag > NYM_REPLIABLE_HEARTBEAT_V2)
		return NYM_REPLY_ERR_TAG;
	in += NYM_SENDER_TAG_SIZE + 1;
	len -= NYM_SENDER_TAG_SIZE + 1;
	if (len == 0)
		return NYM_REPLY_ERR_SHORT;
	used = parse_surb_list(in, len, m);
	if (used < 0)
		return (int)used;
	for (size_t i = 0; i < m->num_surbs; i++) {
		int rc = nym_reply_surb_from_bytes(m->surbs + i * m->surb_len, m->surb_len, &tmp);
		/* V1 carries 4 x 192-byte keys, V2 surb_hops x 16-byte seeds; a SURB of the other
		 * structure could not be used (Nym only logs this), so it is refused here */
		if (rc == NYM_REPLY_OK &&
		    (tmp.surb.n_hops != m->surb_hops ||
		     tmp.surb.material_len != (is_v1(m->content_tag) ? SPHINX_PAYLOAD_KEY_LEN
		                                                     : SPHINX_PAYLOAD_SEED_LEN)))
			rc = NYM_REPLY_ERR_SURB;
		if (rc != NYM_REPLY_OK) {
			ns_memzero(&tmp, sizeof tmp);
			return rc;
		}
	}
	ns_memzero(&tmp, sizeof tmp);
	/* Data variants carry the message; the others tolerate (and ignore) trailing bytes */
	m->data = in + used;
	m->data_len = len - (size_t)used;
	return NYM_REPLY_OK;
}

int nym_repliable_surb(const struct nym_repliable_msg *m, size_t i, struct nym_reply_surb *out)
{
	int rc;

	if (m == NULL || out == NULL || i >= m->num_surbs)
		return NYM_REPLY_ERR_ARG;
	rc = nym_reply_surb_from_bytes(m->surbs + i * m->surb_len, m->surb_len, out);
	if (rc == NYM_REPLY_OK)
		out->key_rotation = m->key_rotation;
	return rc;
}

size_t nym_repliable_encoded_len(uint8_t content_tag, const struct nym_reply_surb *surbs,
                                 size_t n_surbs, size_t data_len)
{
	size_t surb_len = 0;

	if (n_surbs > 0)
		surb_len = nym_reply_surb_len(&surbs[0]);
	return NYM_SENDER_TAG_SIZE + 1 + 4 + n_surbs * surb_len + (is_data(content_tag) ? data_len : 0);
}

long nym_repliable_encode(const uint8_t sender_tag[NYM_SENDER_TAG_SIZE], uint8_t content_tag,
                          const struct nym_reply_surb *surbs, size_t n_surbs, const uint8_t *data,
                          size_t data_len, uint8_t *out, size_t cap)
{
	size_t need, surb_len = 0, off;

	if (sender_tag == NULL || out == NULL || content_tag > NYM_REPLIABLE_HEARTBEAT_V2 ||
	    (n_surbs > 0 && surbs == NULL) || (is_data(content_tag) && data == NULL && data_len > 0))
		return NYM_REPLY_ERR_ARG;
	if (n_surbs > 0)
		surb_len = nym_reply_surb_len(&surbs[0]);
	for (size_t i = 0; i < n_surbs; i++)
		if (nym_reply_surb_len(&surbs[i]) != surb_len ||
		    surbs[i].surb.material_len != (is_v1(content_tag) ? SPHINX_PAYLOAD_KEY_LEN
		                                                      : SPHINX_PAYLOAD_SEED_LEN) ||
		    (is_v1(content_tag) && surbs[i].surb.n_hops != 4))
			return NYM_REPLY_ERR_ARG;
	if (is_v1(content_tag) ? n_surbs > UINT32_MAX : n_surbs > UINT16_MAX)
		return NYM_REPLY_ERR_ARG;
	need = nym_repliable_encoded_len(content_tag, surbs, n_surbs, data_len);
	if (need > cap)
		return NYM_REPLY_ERR_ARG;

	memcpy(out, sender_tag, NYM_SENDER_TAG_SIZE);
	out[NYM_SENDER_TAG_SIZE] = content_tag;
	off = NYM_SENDER_TAG_SIZE + 1;
	if (is_v1(content_tag)) {
		ns_put_be32(out + off, (uint32_t)n_surbs);
	} else {
		out[off] = (uint8_t)(n_surbs >> 8);
		out[off + 1] = (uint8_t)n_surbs;
		out[off + 2] = n_surbs ? (uint8_t)surbs[0].surb.n_hops : 0;
		out[off + 3] = n_surbs ? surbs[0].key_rotation : NYM_KEY_ROTATION_UNKNOWN;
	}
	off += 4;
	for (size_t i = 0; i < n_surbs; i++) {
		if (nym_reply_surb_to_bytes(&surbs[i], out + off, cap - off) != (long)surb_len)
			return NYM_REPLY_ERR_ARG;
		off += surb_len;
	}
	if (is_data(content_tag) && data_len) {
		memcpy(out + off, data, data_len);
		off += data_len;
	}
	return (long)off;
}

/* ---- ReplyMessage ---- */

int nym_reply_msg_parse(const uint8_t *in, size_t len, struct nym_reply_msg *m)
{
	struct nym_recipient r;

	if (in == NULL || m == NULL)
		return NYM_REPLY_ERR_ARG;
	memset(m, 0, sizeof *m);
	if (len < 1)
		return NYM_REPLY_ERR_SHORT;
	m->content_tag = in[0];
	if (m->content_tag > NYM_REPLY_SURB_REQUEST)
		return NYM_REPLY_ERR_TAG;
	in++;
	len--;
	if (len == 0)
		return NYM_REPLY_ERR_SHORT;
	if (m->content_tag == NYM_REPLY_DATA) {
		m->data = in;
		m->data_len = len;
		return NYM_REPLY_OK;
	}
	if (len != NYM_SURB_REQUEST_LEN)
		return NYM_REPLY_ERR_SHORT;
	if (nym_recipient_from_bytes(in, &r) != 0)
		return NYM_REPLY_ERR_RECIPIENT;
	memcpy(m->recipient, in, NYM_RECIPIENT_LEN);
	m->amount = ns_get_be32(in + NYM_RECIPIENT_LEN);
	return NYM_REPLY_OK;
}

long nym_reply_msg_encode(const struct nym_reply_msg *m, uint8_t *out, size_t cap)
{
	if (m == NULL || out == NULL || m->content_tag > NYM_REPLY_SURB_REQUEST)
		return NYM_REPLY_ERR_ARG;
	if (m->content_tag == NYM_REPLY_DATA) {
		if (cap < 1 + m->data_len || (m->data == NULL && m->data_len > 0))
			return NYM_REPLY_ERR_ARG;
		out[0] = NYM_REPLY_DATA;
		if (m->data_len)
			memcpy(out + 1, m->data, m->data_len);
		return (long)(1 + m->data_len);
	}
	if (cap < 1 + NYM_SURB_REQUEST_LEN)
		return NYM_REPLY_ERR_ARG;
	out[0] = NYM_REPLY_SURB_REQUEST;
	memcpy(out + 1, m->recipient, NYM_RECIPIENT_LEN);
	ns_put_be32(out + 1 + NYM_RECIPIENT_LEN, m->amount);
	return 1 + NYM_SURB_REQUEST_LEN;
}
