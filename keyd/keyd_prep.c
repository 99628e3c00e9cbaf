/* keyd's Sphinx side: the topology copy netd sends, the preparer and the receiver. */
#include <stdlib.h>
#include <string.h>

#include "bytes.h"
#include "crypto.h"
#include "nymclient.h"
#include "nymsphinx/cover.h"
#include "nymsphinx/preparer.h"
#include "nymsphinx/receiver.h"

#define NC_TOPO_MAX 4096

struct nc_topo {
	struct nym_topo_node *layer[NYM_MIX_LAYERS];
	size_t layer_len[NYM_MIX_LAYERS];
	struct nym_topo_node *gateways;
	size_t n_gateways;
	struct nym_topology t;
	unsigned refs; /* the current topology's, and builds in flight (keyd's main thread only) */
};

struct nc_prep {
	struct nym_preparer prep;
	struct nym_receiver rx;
	struct nc_topo *cur; /* heap: a build on another thread may still hold the one replaced */
	struct nc_topo next;
	int have_topo;
	uint64_t next_gen;
	size_t next_expect, next_got;
};

static void topo_clear(struct nc_topo *t)
{
	for (int i = 0; i < NYM_MIX_LAYERS; i++)
		free(t->layer[i]);
	free(t->gateways);
	memset(t, 0, sizeof *t);
}

struct nc_prep *nc_prep_new(const uint8_t identity_pk[32], const uint8_t enc_sk[32],
                            const uint8_t ack_key[16], const uint8_t gateway[32])
{
	struct nc_prep *p = calloc(1, sizeof *p);
	if (!p)
		return NULL;
	memcpy(p->prep.self.identity, identity_pk, 32);
	ns_x25519_base(p->prep.self.encryption_key, enc_sk);
	memcpy(p->prep.self.gateway, gateway, 32);
	memcpy(p->prep.ack_key, ack_key, NYM_ACK_KEY_LEN);
	p->prep.average_packet_delay_ns = 15000000;
	p->prep.average_ack_delay_ns = 15000000;
	p->prep.packet_size_tag = NYM_PACKET_REGULAR;
	memcpy(p->rx.encryption_secret, enc_sk, 32);
	memcpy(p->rx.ack_key, ack_key, NYM_ACK_KEY_LEN);
	return p;
}

static void topo_unref(struct nc_topo *t)
{
	if (t && --t->refs == 0) {
		topo_clear(t);
		free(t);
	}
}

void nc_prep_free(struct nc_prep *p)
{
	if (!p)
		return;
	topo_unref(p->cur);
	topo_clear(&p->next);
	ns_memzero(p, sizeof *p);
	free(p);
}

void nc_prep_self(const struct nc_prep *p, uint8_t out[96])
{
	nym_recipient_to_bytes(&p->prep.self, out);
}

void nc_prep_topo_begin(struct nc_prep *p, uint64_t generation, uint32_t rotation, size_t n)
{
	topo_clear(&p->next);
	p->next_gen = generation;
	p->next_expect = n;
	p->next_got = 0;
	p->next.t.key_rotation_id = rotation;
}

int nc_prep_topo_node(struct nc_prep *p, uint64_t generation, unsigned role, uint32_t node_id,
                      const uint8_t identity[32], const uint8_t sphinx_key[32],
                      const uint8_t address[32])
{
	if (generation != p->next_gen || p->next_got >= p->next_expect || role < 1 || role > 4)
		return -1;
	struct nym_topo_node **arr = role == 4 ? &p->next.gateways : &p->next.layer[role - 1];
	size_t *len = role == 4 ? &p->next.n_gateways : &p->next.layer_len[role - 1];
	struct nym_topo_node *grown = realloc(*arr, (*len + 1) * sizeof **arr);
	if (!grown)
		return -1;
	*arr = grown;
	struct nym_topo_node *n = &grown[(*len)++];
	n->node_id = node_id;
	memcpy(n->identity, identity, 32);
	memcpy(n->sphinx_key, sphinx_key, 32);
	memcpy(n->address, address, 32);
	p->next_got++;
	return 0;
}

int nc_prep_topo_end(struct nc_prep *p, uint64_t generation, size_t n)
{
	if (generation != p->next_gen || n != p->next_expect || p->next_got != n)
		return -1;
	struct nc_topo *t = malloc(sizeof *t);
	if (!t)
		return -1;
	*t = p->next;
	memset(&p->next, 0, sizeof p->next);
	for (int i = 0; i < NYM_MIX_LAYERS; i++) {
		t->t.layer[i] = t->layer[i];
		t->t.layer_len[i] = t->layer_len[i];
	}
	t->t.gateways = t->gateways;
	t->t.n_gateways = t->n_gateways;
	t->refs = 1;
	topo_unref(p->cur);
	p->cur = t;
	p->prep.topology = &t->t;
	p->have_topo = 1;
	return 0;
}

int nc_prep_has_topology(const struct nc_prep *p)
{
	return p->have_topo;
}

/* Reads only *prep and the topology it points to: runs on any thread. */
static int fragment_with(const struct nym_preparer *prep, const uint8_t *frag, size_t len,
                         const uint8_t to[96], int size_tag, struct nc_packet *out)
{
	struct nym_recipient dest;
	struct nym_prepared_fragment pf;
	if (nym_recipient_from_bytes(to, &dest) < 0)
		return -1;
	if (!nym_topology_gateway(prep->topology, dest.gateway))
		return NC_PREP_UNKNOWN_GATEWAY;
	struct nym_preparer sized = *prep;
	sized.packet_size_tag = size_tag;
	memset(&pf, 0, sizeof pf);
	if (nym_prepare_fragment(&sized, frag, len, &dest, NULL, &pf) < 0)
		return -1;
	memcpy(out->first_hop, pf.mix.first_hop, 32);
	out->packet_type = pf.mix.packet_type;
	out->key_rotation = pf.mix.key_rotation;
	out->packet = pf.mix.packet;
	out->len = pf.mix.packet_len;
	out->total_delay_ns = pf.total_delay_ns;
	pf.mix.packet = NULL;
	return 0;
}

int nc_prep_fragment(struct nc_prep *p, const uint8_t *frag, size_t len, const uint8_t to[96],
                     int size_tag, struct nc_packet *out)
{
	if (!p->have_topo)
		return -1;
	return fragment_with(&p->prep, frag, len, to, size_tag, out);
}

/* ---- builds on another thread */

struct nc_prep_ref {
	struct nym_preparer prep; /* a copy: its topology is held */
	struct nc_topo *topo;
};

struct nc_prep_ref *nc_prep_hold(struct nc_prep *p)
{
	struct nc_prep_ref *r = p->have_topo ? malloc(sizeof *r) : NULL;
	if (!r)
		return NULL;
	r->prep = p->prep;
	r->topo = p->cur;
	p->cur->refs++;
	return r;
}

void nc_prep_release(struct nc_prep_ref *r)
{
	if (!r)
		return;
	topo_unref(r->topo);
	ns_memzero(r, sizeof *r);
	free(r);
}

int nc_prep_ref_fragment(const struct nc_prep_ref *r, const uint8_t *frag, size_t len,
                         const uint8_t to[96], int size_tag, struct nc_packet *out)
{
	return fragment_with(&r->prep, frag, len, to, size_tag, out);
}

void nc_prep_set_secrets(struct nc_prep *p, int secrets)
{
	p->prep.secrets = secrets;
}

int nc_prep_cover(struct nc_prep *p, uint64_t per_hop_delay_ns, struct nc_packet *out)
{
	struct nym_prepared_fragment pf;
	if (!p->have_topo)
		return -1;
	memset(&pf, 0, sizeof pf);
	if (nym_cover_build(&p->prep, per_hop_delay_ns, NYM_COVER_VERSION, NULL, &pf) < 0)
		return -1;
	memcpy(out->first_hop, pf.mix.first_hop, 32);
	out->packet_type = pf.mix.packet_type;
	out->key_rotation = pf.mix.key_rotation;
	out->packet = pf.mix.packet;
	out->len = pf.mix.packet_len;
	out->total_delay_ns = pf.total_delay_ns;
	return 0;
}

int nc_prep_receive(struct nc_prep *p, const uint8_t *msg, size_t len, uint8_t *buf, size_t cap,
                    uint8_t frag_id[5], const uint8_t **out, size_t *out_len)
{
	struct nym_received r;
	if (nym_receive(&p->rx, msg, len, buf, cap, &r) < 0)
		return -1;
	if (r.kind == NYM_RECEIVED_ACK) {
		memcpy(frag_id, r.raw_frag_id, 5);
		return 1;
	}
	if (r.kind != NYM_RECEIVED_FRAGMENT)
		return 0;
	*out = r.data;
	*out_len = r.data_len;
	return r.via_reply ? 3 : 2;
}

/* ---- reply SURBs */

static int reply_key_lookup(void *ctx, const uint8_t digest[NYM_SURB_KEY_DIGEST_LEN],
                            uint8_t key[NYM_SURB_KEY_LEN])
{
	return nc_rkeys_take(ctx, digest, key, nc_mono_ns());
}

void nc_prep_set_reply_keys(struct nc_prep *p, struct nc_rkeys *keys)
{
	p->rx.surb_keys.lookup = keys ? reply_key_lookup : NULL;
	p->rx.surb_keys.ctx = keys;
}

size_t nc_prep_topology_nodes(const struct nc_prep *p)
{
	if (!p->have_topo)
		return 0;
	size_t n = p->cur->n_gateways;
	for (int i = 0; i < NYM_MIX_LAYERS; i++)
		n += p->cur->layer_len[i];
	return n;
}

static long surbs_write(struct nc_rkeys *keys, const struct nym_reply_surb *s, size_t count,
                        uint64_t now_ns, uint8_t *out, size_t cap)
{
	size_t each = nym_reply_surb_len(&s[0]), off = 4;
	if (count > (cap - 4) / each)
		return -1;
	ns_put_be32(out, (uint32_t)count);
	for (size_t i = 0; i < count; i++) {
		uint8_t digest[NYM_SURB_KEY_DIGEST_LEN];
		if (nym_reply_surb_len(&s[i]) != each ||
		    nym_reply_surb_to_bytes(&s[i], out + off, cap - off) != (long)each)
			return -1;
		nym_surb_key_digest(s[i].key, digest);
		nc_rkeys_add(keys, digest, s[i].key, now_ns);
		off += each;
	}
	return (long)off;
}

long nc_prep_make_surbs(struct nc_prep *p, struct nc_rkeys *keys, size_t count, uint64_t now_ns,
                        uint8_t *out, size_t cap)
{
	if (!p->have_topo || count == 0 || cap < 4)
		return -1;
	struct nym_reply_surb *s = calloc(count, sizeof *s);
	if (!s)
		return -1;
	long n = -1;
	if (nym_preparer_reply_surbs(&p->prep, 0, count, s) == 0)
		n = surbs_write(keys, s, count, now_ns, out, cap);
	ns_memzero(s, count * sizeof *s);
	free(s);
	return n;
}

uint8_t nc_prep_key_rotation(const struct nc_prep *p)
{
	return p->have_topo && p->prep.topology ? nym_topology_key_rotation_byte(p->prep.topology)
	                                        : NYM_KEY_ROTATION_UNKNOWN;
}

int nc_prep_surb_check(const uint8_t *surb, size_t len)
{
	struct nym_reply_surb s;
	int rc = nym_reply_surb_from_bytes(surb, len, &s);
	ns_memzero(&s, sizeof s);
	return rc == 0 ? 0 : -1;
}

static void packet_out(struct nym_prepared_fragment *pf, struct nc_packet *out)
{
	memcpy(out->first_hop, pf->mix.first_hop, 32);
	out->packet_type = pf->mix.packet_type;
	out->key_rotation = pf->mix.key_rotation;
	out->packet = pf->mix.packet;
	out->len = pf->mix.packet_len;
	out->total_delay_ns = pf->total_delay_ns;
	pf->mix.packet = NULL;
}

/* Reads only *prep and its topology: runs on any thread. */
static int reply_with(const struct nym_preparer *prep, const uint8_t *frag, size_t len,
                      const uint8_t *surb, size_t surb_len, uint8_t key_rotation,
                      struct nc_packet *out)
{
	struct nym_reply_surb s;
	struct nym_prepared_fragment pf;
	int rc = -1;
	memset(&pf, 0, sizeof pf);
	if (nym_reply_surb_from_bytes(surb, surb_len, &s) == 0) {
		s.key_rotation = key_rotation;
		rc = nym_prepare_reply_fragment(prep, frag, len, &s, NULL, &pf);
	}
	ns_memzero(&s, sizeof s);
	if (rc != 0)
		return -1;
	packet_out(&pf, out);
	return 0;
}

int nc_prep_reply(struct nc_prep *p, const uint8_t *frag, size_t len, const uint8_t *surb,
                  size_t surb_len, uint8_t key_rotation, struct nc_packet *out)
{
	if (!p->have_topo)
		return -1;
	return reply_with(&p->prep, frag, len, surb, surb_len, key_rotation, out);
}

int nc_prep_ref_reply(const struct nc_prep_ref *r, const uint8_t *frag, size_t len,
                      const uint8_t *surb, size_t surb_len, uint8_t key_rotation,
                      struct nc_packet *out)
{
	return reply_with(&r->prep, frag, len, surb, surb_len, key_rotation, out);
}

int nc_prep_surb_request(struct nc_prep *p, const uint8_t *surb, size_t surb_len,
                         uint8_t key_rotation, uint32_t amount, struct nc_packet *out,
                         uint8_t frag_id[5])
{
	struct nym_reply_msg m = { .content_tag = NYM_REPLY_SURB_REQUEST, .amount = amount };
	uint8_t inner[1 + NYM_SURB_REQUEST_LEN];
	struct nym_reply_surb s;
	struct nym_prepared_fragment *arr = NULL;
	size_t used = 0, n = 0;
	int rc = -1;
	nym_recipient_to_bytes(&p->prep.self, m.recipient);
	long ilen = nym_reply_msg_encode(&m, inner, sizeof inner);
	if (!p->have_topo || ilen < 0 || nym_reply_surb_from_bytes(surb, surb_len, &s) != 0)
		return -1;
	s.key_rotation = key_rotation;
	if (nym_prepare_message(&p->prep, NYM_MSG_REPLY, inner, (size_t)ilen, NULL, &s, 1, &used,
	                        &arr, &n) == 0 && n == 1) {
		memcpy(frag_id, arr[0].frag_id, 5);
		packet_out(&arr[0], out);
		rc = 0;
	}
	nym_prepared_free(arr, n);
	ns_memzero(&s, sizeof s);
	return rc;
}
