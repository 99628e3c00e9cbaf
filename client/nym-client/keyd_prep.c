/* keyd's Sphinx side: the topology copy netd sends, the preparer and the receiver. */
#include <stdlib.h>
#include <string.h>

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
};

struct nc_prep {
	struct nym_preparer prep;
	struct nym_receiver rx;
	struct nc_topo cur, next;
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

void nc_prep_free(struct nc_prep *p)
{
	if (!p)
		return;
	topo_clear(&p->cur);
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
	topo_clear(&p->cur);
	p->cur = p->next;
	memset(&p->next, 0, sizeof p->next);
	for (int i = 0; i < NYM_MIX_LAYERS; i++) {
		p->cur.t.layer[i] = p->cur.layer[i];
		p->cur.t.layer_len[i] = p->cur.layer_len[i];
	}
	p->cur.t.gateways = p->cur.gateways;
	p->cur.t.n_gateways = p->cur.n_gateways;
	p->prep.topology = &p->cur.t;
	p->have_topo = 1;
	return 0;
}

int nc_prep_has_topology(const struct nc_prep *p)
{
	return p->have_topo;
}

int nc_prep_fragment(struct nc_prep *p, const uint8_t *frag, size_t len, const uint8_t to[96],
                     int size_tag, struct nc_packet *out)
{
	struct nym_recipient dest;
	struct nym_prepared_fragment pf;
	if (!p->have_topo || nym_recipient_from_bytes(to, &dest) < 0)
		return -1;
	p->prep.packet_size_tag = size_tag;
	memset(&pf, 0, sizeof pf);
	int rc = nym_prepare_fragment(&p->prep, frag, len, &dest, NULL, &pf);
	p->prep.packet_size_tag = NYM_PACKET_REGULAR;
	if (rc < 0)
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
	return 2;
}
