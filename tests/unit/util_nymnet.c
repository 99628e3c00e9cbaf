#include "util_nymnet.h"

#include <stdlib.h>
#include <string.h>

#include "crypto.h"
#include "sphinx/sphinx.h"

static void node_init(struct nym_topo_node *n, uint8_t sk[32], uint32_t id)
{
	struct nym_node_address a = {.ip_version = 4, .port = (uint16_t)(1789 + id), .ip = {127, 0, 0, 1}};
	uint8_t seed[32], edsk[64];

	n->node_id = id;
	ns_random(sk, 32);
	ns_x25519_base(n->sphinx_key, sk);
	ns_random(seed, sizeof seed);
	ns_ed25519_from_seed(n->identity, edsk, seed);
	if (nym_node_address_encode_padded(&a, n->address) != 0)
		abort();
}

void testnet_init(struct testnet *t)
{
	uint32_t id = 1;

	memset(t, 0, sizeof *t);
	for (int l = 0; l < NYM_MIX_LAYERS; l++) {
		for (int i = 0; i < NET_PER_LAYER; i++)
			node_init(&t->mixes[l][i], t->mix_sk[l][i], id++);
		t->topo.layer[l] = t->mixes[l];
		t->topo.layer_len[l] = NET_PER_LAYER;
	}
	node_init(&t->gw, t->gw_sk, id);
	t->topo.gateways = &t->gw;
	t->topo.n_gateways = 1;
	t->topo.key_rotation_id = 3;
}

void testclient_init(const struct testnet *t, struct testclient *c)
{
	uint8_t seed[32], edsk[64];

	ns_random(seed, sizeof seed);
	ns_ed25519_from_seed(c->addr.identity, edsk, seed);
	ns_random(c->enc_sk, 32);
	ns_x25519_base(c->addr.encryption_key, c->enc_sk);
	memcpy(c->addr.gateway, t->gw.identity, 32);
	nym_ack_key_generate(c->ack_key);
}

const uint8_t *testnet_secret(const struct testnet *t, const uint8_t addr[32])
{
	for (int l = 0; l < NYM_MIX_LAYERS; l++)
		for (int i = 0; i < NET_PER_LAYER; i++)
			if (memcmp(t->mixes[l][i].address, addr, 32) == 0)
				return t->mix_sk[l][i];
	return memcmp(t->gw.address, addr, 32) == 0 ? t->gw_sk : NULL;
}

long testnet_deliver(const struct testnet *t, const uint8_t *packet, size_t len,
                            const uint8_t first_hop[32], uint8_t *out, size_t cap, int *version,
                            uint8_t destination[32])
{
	struct sphinx_processed res;
	uint8_t next[32], *buf = malloc(len);
	long got = -1;

	if (buf == NULL)
		abort();
	memcpy(buf, packet, len);
	memcpy(next, first_hop, 32);
	for (int hop = 0; hop <= NYM_MIX_LAYERS; hop++) {
		const uint8_t *sk = testnet_secret(t, next);
		size_t off, mlen;
		if (sk == NULL || (hop < NYM_MIX_LAYERS && sk == t->gw_sk) ||
		    (hop == NYM_MIX_LAYERS && sk != t->gw_sk) ||
		    sphinx_process(sk, buf, len, buf, &res) != SPHINX_OK)
			break;
		if (res.flag == SPHINX_FLAG_FORWARD) {
			memcpy(next, res.next_address, 32);
			continue;
		}
		if (sphinx_recover_plaintext(buf + SPHINX_HEADER_LEN, len - SPHINX_HEADER_LEN, &off,
		                             &mlen) == SPHINX_OK && mlen <= cap) {
			memcpy(out, buf + SPHINX_HEADER_LEN + off, mlen);
			got = (long)mlen;
			if (version)
				*version = res.version;
			if (destination)
				memcpy(destination, res.destination, 32);
		}
		break;
	}
	free(buf);
	return got;
}
