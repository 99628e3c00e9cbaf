/* Sphinx processing at a node: key choice by the frame's rotation tag, replay protection
 * (gateway.md §3.5 steps 1-2; nym-node/src/node/mixnet/handler.rs try_partially_unwrap_packet). */
#include <stdlib.h>
#include <string.h>

#include "crypto.h"
#include "node/node.h"

int ns_keyring_init(struct ns_keyring *kr, const uint8_t secret[32], uint32_t rotation_id,
                    size_t replay_cap)
{
	if (!kr || !secret)
		return NS_NODE_ERR_ARG;
	memset(kr, 0, sizeof *kr);
	kr->key[0].present = 1;
	memcpy(kr->key[0].secret, secret, 32);
	kr->key[0].rotation_id = rotation_id;
	if (replay_cap) {
		kr->key[0].replay = ns_replay_set_new(replay_cap);
		if (!kr->key[0].replay) {
			ns_keyring_wipe(kr);
			return NS_NODE_ERR_NOMEM;
		}
	}
	return 0;
}

void ns_keyring_wipe(struct ns_keyring *kr)
{
	if (!kr)
		return;
	for (int i = 0; i < 2; i++)
		ns_replay_set_free(kr->key[i].replay);
	ns_memzero(kr, sizeof *kr);
}

static void wipe_diagnostics(struct sphinx_processed *res)
{
	ns_memzero(res->shared_secret, sizeof res->shared_secret);
	ns_memzero(res->expanded, sizeof res->expanded);
	ns_memzero(res->routing_plain, sizeof res->routing_plain);
	ns_memzero(res->payload_key, sizeof res->payload_key);
}

/* Key index for an Odd / Even tag: the primary if its parity matches, else the secondary
 * (whose parity is not checked, as nym-node's ActiveSphinxKeys::odd/even). -1 if none. */
static int key_for_parity(const struct ns_keyring *kr, uint8_t rotation)
{
	uint32_t want_odd = rotation == NYM_KEY_ROTATION_ODD;
	if (kr->key[0].present && (kr->key[0].rotation_id & 1u) == want_odd)
		return 0;
	return kr->key[1].present ? 1 : -1;
}

static int process_with(struct ns_keyring *kr, int k, const struct nym_frame *f, uint8_t *out,
                        struct sphinx_processed *res)
{
	int rc = sphinx_process(kr->key[k].secret, f->packet, f->packet_len, out, res);
	wipe_diagnostics(res);
	return rc;
}

int ns_keyring_process(struct ns_keyring *kr, const struct nym_frame *frame, uint8_t *out,
                       struct sphinx_processed *res)
{
	if (!kr || !frame || !frame->packet || !out || !res || !kr->key[0].present)
		return NS_NODE_ERR_ARG;
	if (frame->header.packet_type != NYM_PACKET_TYPE_MIX)
		return NS_NODE_ERR_PACKET_TYPE;
	int k, rc;
	if (frame->header.key_rotation == NYM_KEY_ROTATION_UNKNOWN) {
		k = 0;
		rc = process_with(kr, 0, frame, out, res);
		if (rc < 0 && kr->key[1].present) {
			k = 1;
			rc = process_with(kr, 1, frame, out, res);
		}
	} else {
		k = key_for_parity(kr, frame->header.key_rotation);
		if (k < 0)
			return NS_NODE_ERR_EXPIRED_KEY;
		rc = process_with(kr, k, frame, out, res);
	}
	if (rc < 0)
		return rc;
	if (kr->key[k].replay) {
		int seen = ns_replay_set_insert(kr->key[k].replay, res->replay_tag);
		if (seen == NS_REPLAY_SEEN)
			return NS_NODE_ERR_REPLAY;
		if (seen < 0)
			return seen;
	}
	return res->flag;
}

/* ---------------------------------------------------------------- next-hop filter */

struct ns_hop_filter {
	struct nym_node_address *addr;
	size_t n;
};

struct ns_hop_filter *ns_hop_filter_from_topo(const struct ns_topo *topo)
{
	if (!topo)
		return NULL;
	struct ns_hop_filter *f = calloc(1, sizeof *f);
	if (!f)
		return NULL;
	f->addr = calloc(topo->n_nodes ? topo->n_nodes : 1, sizeof *f->addr);
	if (!f->addr) {
		free(f);
		return NULL;
	}
	for (size_t i = 0; i < topo->n_nodes; i++) {
		struct nym_node_address a;
		if (nym_node_address_parse(topo->nodes[i].mix_host, &a) != 0 ||
		    !ns_node_address_is_loopback(&a))
			continue;
		f->addr[f->n++] = a;
	}
	return f;
}

int ns_hop_filter_check(const struct ns_hop_filter *f, const uint8_t addr[SPHINX_NODE_ADDR_LEN],
                        struct nym_node_address *to)
{
	struct nym_node_address a;
	if (!f || !addr || nym_node_address_decode(addr, SPHINX_NODE_ADDR_LEN, &a) < 0 ||
	    !ns_node_address_is_loopback(&a))
		return NS_NODE_ERR_ADDR;
	for (size_t i = 0; i < f->n; i++) {
		if (nym_node_address_equal(&f->addr[i], &a)) {
			if (to)
				*to = a;
			return 0;
		}
	}
	return NS_NODE_ERR_ADDR;
}

size_t ns_hop_filter_len(const struct ns_hop_filter *f)
{
	return f ? f->n : 0;
}

void ns_hop_filter_free(struct ns_hop_filter *f)
{
	if (!f)
		return;
	free(f->addr);
	free(f);
}
