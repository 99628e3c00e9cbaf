/* Single-use reply blocks: header || first hop || per-hop payload keys (V1) or seeds (V2). */
#include "sphinx/sphinx.h"

#include <string.h>

#include "crypto.h"

#define SURB_FIXED_LEN (SPHINX_HEADER_LEN + SPHINX_NODE_ADDR_LEN)

int sphinx_surb_build(const struct sphinx_header_params *p, struct sphinx_surb *surb)
{
	struct sphinx_hop_keys keys[SPHINX_MAX_HOPS];
	int rc;

	if (p == NULL || surb == NULL)
		return SPHINX_ERR_ARG;
	memset(surb, 0, sizeof *surb);
	rc = sphinx_build_header(p, surb->header, keys);
	if (rc == SPHINX_OK) {
		memcpy(surb->first_hop, p->route[0].address, SPHINX_NODE_ADDR_LEN);
		surb->n_hops = p->n_hops;
		surb->material_len = p->version == SPHINX_V_X25519_EXPLICIT_KEYS
		                             ? SPHINX_PAYLOAD_KEY_LEN : SPHINX_PAYLOAD_SEED_LEN;
		for (size_t i = 0; i < p->n_hops; i++)
			memcpy(surb->material[i],
			       surb->material_len == SPHINX_PAYLOAD_KEY_LEN ? keys[i].payload_key
			                                                    : keys[i].payload_seed,
			       surb->material_len);
	}
	ns_memzero(keys, sizeof keys);
	return rc;
}

static int surb_shape_ok(const struct sphinx_surb *surb)
{
	return surb->n_hops >= 1 && surb->n_hops <= SPHINX_MAX_HOPS &&
	       (surb->material_len == SPHINX_PAYLOAD_KEY_LEN ||
	        surb->material_len == SPHINX_PAYLOAD_SEED_LEN);
}

long sphinx_surb_to_bytes(const struct sphinx_surb *surb, uint8_t *out, size_t cap)
{
	size_t len;

	if (surb == NULL || out == NULL || !surb_shape_ok(surb))
		return -1;
	len = SURB_FIXED_LEN + surb->n_hops * surb->material_len;
	if (cap < len)
		return -1;
	memcpy(out, surb->header, SPHINX_HEADER_LEN);
	memcpy(out + SPHINX_HEADER_LEN, surb->first_hop, SPHINX_NODE_ADDR_LEN);
	for (size_t i = 0; i < surb->n_hops; i++)
		memcpy(out + SURB_FIXED_LEN + i * surb->material_len, surb->material[i],
		       surb->material_len);
	return (long)len;
}

/* Keys when the rest is 1..5 x 192 bytes, seeds when it is 1..5 x 16 bytes; the two
 * ranges do not overlap, so the split is unambiguous. */
int sphinx_surb_from_bytes(const uint8_t *in, size_t len, struct sphinx_surb *surb)
{
	size_t rest;

	if (in == NULL || surb == NULL || len <= SURB_FIXED_LEN)
		return SPHINX_ERR_ARG;
	rest = len - SURB_FIXED_LEN;
	memset(surb, 0, sizeof *surb);
	if (rest % SPHINX_PAYLOAD_KEY_LEN == 0 && rest / SPHINX_PAYLOAD_KEY_LEN <= SPHINX_MAX_HOPS)
		surb->material_len = SPHINX_PAYLOAD_KEY_LEN;
	else if (rest % SPHINX_PAYLOAD_SEED_LEN == 0 && rest / SPHINX_PAYLOAD_SEED_LEN <= SPHINX_MAX_HOPS)
		surb->material_len = SPHINX_PAYLOAD_SEED_LEN;
	else
		return SPHINX_ERR_ARG;
	surb->n_hops = rest / surb->material_len;
	memcpy(surb->header, in, SPHINX_HEADER_LEN);
	memcpy(surb->first_hop, in + SPHINX_HEADER_LEN, SPHINX_NODE_ADDR_LEN);
	for (size_t i = 0; i < surb->n_hops; i++)
		memcpy(surb->material[i], in + SURB_FIXED_LEN + i * surb->material_len,
		       surb->material_len);
	return SPHINX_OK;
}

int sphinx_surb_use(const struct sphinx_surb *surb, const uint8_t *msg, size_t msg_len,
                    size_t payload_size, uint8_t *out)
{
	uint8_t keys[SPHINX_MAX_HOPS][SPHINX_PAYLOAD_KEY_LEN];
	int rc = SPHINX_OK;

	if (surb == NULL || out == NULL || !surb_shape_ok(surb))
		return SPHINX_ERR_ARG;
	for (size_t i = 0; i < surb->n_hops && rc == SPHINX_OK; i++) {
		if (surb->material_len == SPHINX_PAYLOAD_KEY_LEN)
			memcpy(keys[i], surb->material[i], SPHINX_PAYLOAD_KEY_LEN);
		else
			rc = sphinx_payload_key_from_seed(surb->material[i], keys[i]);
	}
	if (rc == SPHINX_OK)
		rc = sphinx_encapsulate_payload(msg, msg_len, payload_size,
		                                (const uint8_t(*)[SPHINX_PAYLOAD_KEY_LEN])keys,
		                                surb->n_hops, out + SPHINX_HEADER_LEN);
	if (rc == SPHINX_OK)
		memcpy(out, surb->header, SPHINX_HEADER_LEN);
	ns_memzero(keys, sizeof keys);
	return rc;
}
