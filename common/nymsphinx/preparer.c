/* Message preparation: fragments -> mix packets (see preparer.h). */
#include "nymsphinx/preparer.h"

#include <stdlib.h>
#include <string.h>

#include "crypto.h"
#include "nymsphinx/chunking.h"
#include "nymsphinx/e2e.h"
#include "nymsphinx/params.h"

#define VARIANT_OVERHEAD 32
#define REAL_TRAFFIC_VERSION SPHINX_V_PAYLOAD_KEY_SEEDS

void nym_mix_packet_clear(struct nym_mix_packet *m)
{
	if (m == NULL)
		return;
	free(m->packet);
	memset(m, 0, sizeof *m);
}

void nym_prepared_free(struct nym_prepared_fragment *arr, size_t n)
{
	if (arr == NULL)
		return;
	for (size_t i = 0; i < n; i++)
		nym_mix_packet_clear(&arr[i].mix);
	free(arr);
}

int nym_payload_regular(const uint8_t surb_ack[NYM_SURB_ACK_LEN], const uint8_t *fragment,
                        size_t len, const uint8_t recipient_pk[32],
                        const uint8_t *ephemeral_secret, uint8_t *out)
{
	if (surb_ack == NULL || out == NULL || recipient_pk == NULL)
		return -1;
	memcpy(out, surb_ack, NYM_SURB_ACK_LEN);
	if (ephemeral_secret)
		return nym_e2e_encrypt_with(ephemeral_secret, recipient_pk, fragment, len,
		                            out + NYM_SURB_ACK_LEN);
	return nym_e2e_encrypt(recipient_pk, fragment, len, out + NYM_SURB_ACK_LEN);
}

int nym_payload_reply(const uint8_t surb_ack[NYM_SURB_ACK_LEN], const uint8_t *fragment,
                      size_t len, const uint8_t surb_key[NYM_SURB_KEY_LEN], uint8_t *out)
{
	if (surb_ack == NULL || out == NULL)
		return -1;
	memcpy(out, surb_ack, NYM_SURB_ACK_LEN);
	return nym_reply_encrypt_fragment(surb_key, fragment, len, out + NYM_SURB_ACK_LEN) == 0 ? 0 : -1;
}

/* Picks the packet size whose plaintext is exactly this fragment + overheads. */
static int packet_size_for(size_t frag_len, size_t *plaintext_len)
{
	int tag;

	if (frag_len > SIZE_MAX - NYM_SURB_ACK_LEN - VARIANT_OVERHEAD)
		return -1;
	*plaintext_len = frag_len + NYM_SURB_ACK_LEN + VARIANT_OVERHEAD;
	tag = nym_packet_size_from_plaintext(*plaintext_len);
	if (tag < 0 || nym_packet_plaintext_size(tag) < *plaintext_len)
		return -1;
	return tag;
}

static int ack_for(const struct nym_preparer *p, const uint8_t frag_id[NYM_FRAG_ID_LEN],
                   uint16_t version, const struct nym_prepare_fixed *fixed, struct nym_surb_ack *ack)
{
	struct nym_route route;
	uint8_t dest[32];

	if (fixed && fixed->ack_route)
		route = *fixed->ack_route;
	else if (nym_topology_random_route(p->topology, p->self.gateway, &route) != 0)
		return -1;
	nym_recipient_destination(&p->self, dest);
	struct nym_surb_ack_fixed ack_fixed = { 0 };
	if (fixed)
		ack_fixed = fixed->ack;
	ack_fixed.secrets = p->secrets;
	return nym_surb_ack_build(&route, dest, version, p->ack_key, frag_id, p->average_ack_delay_ns,
	                          &ack_fixed, ack);
}

static int alloc_packet(struct nym_mix_packet *m, int tag)
{
	m->packet_size_tag = tag;
	m->packet_len = nym_packet_size_bytes(tag);
	m->packet_type = NYM_PACKET_TYPE_MIX;
	m->packet = malloc(m->packet_len);
	return m->packet ? 0 : -1;
}

/* Sphinx packet carrying pt over a route to to's gateway, addressed to to; *fwd_delay
 * receives the sum of the encoded delays. */
static int build_forward_packet(const struct nym_preparer *p, const struct nym_recipient *to,
                                uint16_t version, uint64_t packet_delay_ns,
                                const struct nym_prepare_fixed *fixed, const uint8_t *pt,
                                size_t pt_len, int tag, struct nym_mix_packet *mix,
                                uint64_t *fwd_delay)
{
	struct sphinx_header_params hp;
	struct nym_route route;
	uint64_t delays[SPHINX_MAX_HOPS];

	if (fixed && fixed->route)
		route = *fixed->route;
	else if (nym_topology_random_route(p->topology, to->gateway, &route) != 0)
		return -1;
	if (route.n == 0 || route.n > SPHINX_MAX_HOPS)
		return -1;
	if (fixed && fixed->delays_ns)
		memcpy(delays, fixed->delays_ns, route.n * sizeof delays[0]);
	else
		nym_sample_hop_delays(packet_delay_ns, route.n, delays);

	memset(&hp, 0, sizeof hp);
	hp.route = route.hop;
	hp.n_hops = route.n;
	hp.delays_ns = delays;
	nym_recipient_destination(to, hp.destination);
	hp.version = version;
	hp.initial_secret = fixed ? fixed->initial_secret : NULL;
	hp.final_padding = fixed ? fixed->final_padding : NULL;
	hp.secrets = p->secrets;
	if (alloc_packet(mix, tag) != 0 ||
	    sphinx_build_packet(&hp, pt, pt_len, nym_packet_payload_size(tag), mix->packet) != SPHINX_OK)
		return -1;
	memcpy(mix->first_hop, route.hop[0].address, SPHINX_NODE_ADDR_LEN);
	mix->key_rotation = nym_topology_key_rotation_byte(p->topology);
	*fwd_delay = 0;
	for (size_t i = 0; i + 1 < route.n; i++)
		*fwd_delay += delays[i];
	return 0;
}

int nym_prepare_e2e(const struct nym_preparer *p, const uint8_t *fragment, size_t len,
                    const struct nym_recipient *to, uint16_t version, uint64_t packet_delay_ns,
                    const uint8_t frag_id[NYM_FRAG_ID_LEN], const struct nym_prepare_fixed *fixed,
                    struct nym_prepared_fragment *out)
{
	struct nym_surb_ack ack;
	uint64_t fwd_delay = 0;
	size_t pt_len;
	uint8_t *pt = NULL;
	int tag, rc = -1;

	if (p == NULL || fragment == NULL || to == NULL || frag_id == NULL || out == NULL)
		return -1;
	memset(out, 0, sizeof *out);
	if ((tag = packet_size_for(len, &pt_len)) < 0)
		return -1;
	if (ack_for(p, frag_id, version, fixed, &ack) != 0)
		return -1;
	if ((pt = malloc(pt_len)) == NULL)
		return -1;
	if (nym_payload_regular(ack.bytes, fragment, len, to->encryption_key,
	                        fixed ? fixed->ephemeral_secret : NULL, pt) != 0 ||
	    build_forward_packet(p, to, version, packet_delay_ns, fixed, pt, pt_len, tag, &out->mix,
	                         &fwd_delay) != 0)
		goto done;
	memcpy(out->frag_id, frag_id, NYM_FRAG_ID_LEN);
	out->total_delay_ns = fwd_delay + ack.expected_total_delay_ns;
	rc = 0;
done:
	ns_memzero(pt, pt_len);
	free(pt);
	if (rc != 0)
		nym_mix_packet_clear(&out->mix);
	return rc;
}

/* The fragment identifier of a serialized fragment. */
static int fragment_id_of(const uint8_t *fragment, size_t len, uint8_t id[NYM_FRAG_ID_LEN])
{
	struct nym_fragment f;
	struct nym_frag_id fid;

	if (nym_fragment_decode(fragment, len, &f) != NYM_CHUNK_OK)
		return -1;
	fid.set_id = f.header.set_id;
	fid.position = f.header.current;
	nym_frag_id_encode(&fid, id);
	return 0;
}

int nym_prepare_fragment(const struct nym_preparer *p, const uint8_t *fragment, size_t len,
                         const struct nym_recipient *to, const struct nym_prepare_fixed *fixed,
                         struct nym_prepared_fragment *out)
{
	uint8_t id[NYM_FRAG_ID_LEN];

	if (p == NULL || fragment == NULL || to == NULL || out == NULL)
		return -1;
	if (fragment_id_of(fragment, len, id) != 0)
		return -1;
	return nym_prepare_e2e(p, fragment, len, to, REAL_TRAFFIC_VERSION, p->average_packet_delay_ns,
	                       id, fixed, out);
}

int nym_prepare_reply_fragment(const struct nym_preparer *p, const uint8_t *fragment, size_t len,
                               const struct nym_reply_surb *surb,
                               const struct nym_prepare_fixed *fixed,
                               struct nym_prepared_fragment *out)
{
	struct nym_surb_ack ack;
	uint8_t id[NYM_FRAG_ID_LEN];
	size_t pt_len;
	uint8_t *pt = NULL;
	int tag, rc = -1;

	if (p == NULL || fragment == NULL || surb == NULL || out == NULL)
		return -1;
	memset(out, 0, sizeof *out);
	if (fragment_id_of(fragment, len, id) != 0 || (tag = packet_size_for(len, &pt_len)) < 0)
		return -1;
	if (ack_for(p, id, REAL_TRAFFIC_VERSION, fixed, &ack) != 0)
		return -1;
	if ((pt = malloc(pt_len)) == NULL)
		return -1;
	if (nym_payload_reply(ack.bytes, fragment, len, surb->key, pt) != 0 ||
	    alloc_packet(&out->mix, tag) != 0)
		goto done;
	if (nym_reply_surb_apply(surb, pt, pt_len, tag, out->mix.packet, out->mix.first_hop) != 0)
		goto done;
	out->mix.key_rotation = surb->key_rotation;
	memcpy(out->frag_id, id, NYM_FRAG_ID_LEN);
	/* nym does not know a SURB's delays: it assumes three hops of the average */
	out->total_delay_ns = 3 * p->average_packet_delay_ns + ack.expected_total_delay_ns;
	rc = 0;
done:
	ns_memzero(pt, pt_len);
	free(pt);
	if (rc != 0)
		nym_mix_packet_clear(&out->mix);
	return rc;
}

int nym_prepare_message(const struct nym_preparer *p, enum nym_message_type type,
                        const uint8_t *inner, size_t inner_len, const struct nym_recipient *to,
                        const struct nym_reply_surb *surbs, size_t n_surbs, size_t *used_surbs,
                        struct nym_prepared_fragment **out, size_t *n_out)
{
	struct nym_fragment_list list = {0};
	struct nym_prepared_fragment *arr = NULL;
	uint8_t *padded = NULL;
	size_t ppp, padded_len = 0, done = 0;
	int rc = -1;

	if (p == NULL || out == NULL || n_out == NULL || (type != NYM_MSG_REPLY && to == NULL))
		return -1;
	*out = NULL;
	*n_out = 0;
	if (used_surbs)
		*used_surbs = 0;
	ppp = nym_msg_plaintext_per_packet(p->packet_size_tag);
	if (ppp == 0)
		return -1;
	padded = nym_msg_pad_alloc(type, inner, inner_len, ppp, &padded_len);
	if (padded == NULL)
		return -1;
	if (nym_split_into_fragments(padded, padded_len, ppp, &list) != NYM_CHUNK_OK)
		goto fail;
	if (type == NYM_MSG_REPLY && (surbs == NULL || n_surbs < list.count))
		goto fail;
	if ((arr = calloc(list.count, sizeof *arr)) == NULL)
		goto fail;
	for (done = 0; done < list.count; done++) {
		int r = type == NYM_MSG_REPLY
		            ? nym_prepare_reply_fragment(p, list.frags[done], list.lens[done], &surbs[done],
		                                         NULL, &arr[done])
		            : nym_prepare_fragment(p, list.frags[done], list.lens[done], to, NULL, &arr[done]);
		if (r != 0)
			goto fail;
	}
	if (used_surbs && type == NYM_MSG_REPLY)
		*used_surbs = list.count;
	*out = arr;
	*n_out = list.count;
	arr = NULL;
	rc = 0;
fail:
	nym_prepared_free(arr, done);
	nym_fragment_list_free(&list);
	ns_memzero(padded, padded_len);
	free(padded);
	return rc;
}

int nym_preparer_reply_surbs(const struct nym_preparer *p, int legacy, size_t n,
                             struct nym_reply_surb *out)
{
	struct nym_route route;
	uint8_t dest[32];
	uint8_t rotation;

	if (p == NULL || (n > 0 && out == NULL))
		return -1;
	nym_recipient_destination(&p->self, dest);
	rotation = nym_topology_key_rotation_byte(p->topology);
	const struct nym_reply_surb_fixed how = { .secrets = p->secrets };
	for (size_t i = 0; i < n; i++) {
		if (nym_topology_random_route(p->topology, p->self.gateway, &route) != 0 ||
		    nym_reply_surb_build(&route, dest, legacy ? 258 : 259, p->average_packet_delay_ns,
		                         rotation, &how, &out[i]) != 0)
			return -1;
	}
	return 0;
}
