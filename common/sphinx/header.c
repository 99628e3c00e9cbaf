/* Sphinx header construction (sphinx-packet 0.6.0, versions 258 and 259). */
#include "sphinx/sphinx.h"

#include <string.h>

#include "bytes.h"
#include "crypto.h"
#include "ephemeral.h"

#define PRG_LEN        (SPHINX_ROUTING_STEP * (SPHINX_MAX_HOPS + 1)) /* 360 */
#define FINAL_META_LEN 52 /* flag 1 + version 3 + destination 32 + identifier 16 */
#define TRUNCATED_BETA (SPHINX_BETA_LEN - SPHINX_ROUTING_STEP)

/* Secrets of one hop kept while the header is built (zeroed at the end). */
struct hop_secret {
	uint8_t expanded[SPHINX_EXPANDED_LEN];
	uint8_t keystream[PRG_LEN];
};

struct build_state {
	struct hop_secret hop[SPHINX_MAX_HOPS];
	uint8_t scalars[SPHINX_MAX_HOPS + 1][32]; /* x, b_0, b_1, ... */
	struct sphinx_acc acc;
	uint8_t shared[32];
	uint8_t filler[SPHINX_ROUTING_STEP * (SPHINX_MAX_HOPS - 1)];
	uint8_t beta[SPHINX_BETA_LEN];
	uint8_t gamma[SPHINX_MAC_LEN];
};

static void put_version(uint8_t out[3], uint16_t version)
{
	out[0] = 0;
	out[1] = (uint8_t)(version >> 8);
	out[2] = (uint8_t)version;
}

static void xor_into(uint8_t *dst, const uint8_t *src, size_t n)
{
	for (size_t i = 0; i < n; i++)
		dst[i] ^= src[i];
}

static void header_mac(uint8_t gamma[SPHINX_MAC_LEN], const uint8_t *expanded, const uint8_t *beta)
{
	uint8_t full[32];
	ns_hmac_sha256(full, expanded + 16, 16, beta, SPHINX_BETA_LEN);
	memcpy(gamma, full, SPHINX_MAC_LEN);
}

/* s_i = b_{i-1} * (... * (b_0 * (x * pk_i))), then E_i; its blinding factor becomes scalar i+1.
 * The accumulated way gets s_i with one X25519 (secrets.c). Only the keystream bytes a hop
 * needs are generated (all 360 for forward hops: 300 for beta and the filler tail; the final
 * hop only the first m bytes). */
static int derive_hops(enum sphinx_secrets how, const struct sphinx_header_params *p,
                       struct build_state *st, size_t final_len)
{
	if (how == SPHINX_SECRETS_ACCUMULATED)
		sphinx_acc_start(&st->acc, st->scalars[0]);
	for (size_t i = 0; i < p->n_hops; i++) {
		size_t ks_len = i + 1 < p->n_hops ? PRG_LEN : final_len;
		sphinx_hop_secret(st->shared, how, &st->acc, p->route[i].pubkey,
		                  (const uint8_t(*)[32])st->scalars, i + 1);
		if (sphinx_expand_secret(st->shared, st->hop[i].expanded) != SPHINX_OK ||
		    ns_aes128_ctr_keystream(st->hop[i].keystream, ks_len, st->hop[i].expanded) != 0)
			return SPHINX_ERR_CRYPTO;
		memcpy(st->scalars[i + 1], st->hop[i].expanded + 224, 32);
		if (how == SPHINX_SECRETS_ACCUMULATED && i + 1 < p->n_hops)
			sphinx_acc_mul(&st->acc, st->scalars[i + 1]);
	}
	return SPHINX_OK;
}

/* Filler F of 60*(n-1) bytes: F = (F || 0^60) ^ PRG(rho_{i-1})[360-60i .. 360) for i = 1..n-1. */
static void make_filler(struct build_state *st, size_t n_hops)
{
	memset(st->filler, 0, sizeof st->filler);
	for (size_t i = 1; i < n_hops; i++) {
		size_t len = SPHINX_ROUTING_STEP * i;
		xor_into(st->filler, st->hop[i - 1].keystream + PRG_LEN - len, len);
	}
}

static void final_routing(const struct sphinx_header_params *p, struct build_state *st, size_t m)
{
	uint8_t *b = st->beta;
	size_t filler_len = SPHINX_ROUTING_STEP * (p->n_hops - 1);

	b[0] = SPHINX_FLAG_FINAL;
	put_version(b + 1, p->version);
	memcpy(b + 4, p->destination, SPHINX_DEST_LEN);
	memcpy(b + 36, p->identifier, SPHINX_ID_LEN);
	if (p->final_padding != NULL)
		memcpy(b + FINAL_META_LEN, p->final_padding, m - FINAL_META_LEN);
	else
		ns_random(b + FINAL_META_LEN, m - FINAL_META_LEN);
	xor_into(b, st->hop[p->n_hops - 1].keystream, m);
	memcpy(b + m, st->filler, filler_len);
	header_mac(st->gamma, st->hop[p->n_hops - 1].expanded, b);
}

/* Wraps beta_{i+1} into beta_i: 0x01 || V || addr_{i+1} || delay_i || gamma_{i+1} || beta_{i+1}[0..240). */
static void forward_routing(const struct sphinx_header_params *p, struct build_state *st, size_t i)
{
	uint8_t *b = st->beta;

	memmove(b + SPHINX_ROUTING_STEP, b, TRUNCATED_BETA);
	b[0] = SPHINX_FLAG_FORWARD;
	put_version(b + 1, p->version);
	memcpy(b + 4, p->route[i + 1].address, SPHINX_NODE_ADDR_LEN);
	ns_put_be64(b + 36, p->delays_ns != NULL ? p->delays_ns[i] : 0);
	memcpy(b + 44, st->gamma, SPHINX_MAC_LEN);
	xor_into(b, st->hop[i].keystream, SPHINX_BETA_LEN);
	header_mac(st->gamma, st->hop[i].expanded, b);
}

static int export_keys(const struct sphinx_header_params *p, const struct build_state *st,
                       struct sphinx_hop_keys *keys)
{
	for (size_t i = 0; i < p->n_hops; i++) {
		const uint8_t *e = st->hop[i].expanded;
		memcpy(keys[i].payload_seed, e + 32, SPHINX_PAYLOAD_SEED_LEN);
		if (p->version == SPHINX_V_X25519_EXPLICIT_KEYS)
			memcpy(keys[i].payload_key, e + 32, SPHINX_PAYLOAD_KEY_LEN);
		else if (sphinx_payload_key_from_seed(e + 32, keys[i].payload_key) != SPHINX_OK)
			return SPHINX_ERR_CRYPTO;
	}
	return SPHINX_OK;
}

static int check_params(const struct sphinx_header_params *p)
{
	if (p == NULL || p->route == NULL || p->n_hops < 1 || p->n_hops > SPHINX_MAX_HOPS ||
	    (p->n_hops > 1 && p->delays_ns == NULL))
		return SPHINX_ERR_ARG;
	if (p->version != SPHINX_V_X25519_EXPLICIT_KEYS && p->version != SPHINX_V_PAYLOAD_KEY_SEEDS)
		return SPHINX_ERR_VERSION;
	return SPHINX_OK;
}

int sphinx_build_header(const struct sphinx_header_params *p, uint8_t header[SPHINX_HEADER_LEN],
                        struct sphinx_hop_keys *keys)
{
	return sphinx_build_header_using(p ? (enum sphinx_secrets)p->secrets : SPHINX_SECRETS_ACCUMULATED,
	                                 p, header, keys);
}

int sphinx_build_header_using(enum sphinx_secrets how, const struct sphinx_header_params *p,
                              uint8_t header[SPHINX_HEADER_LEN], struct sphinx_hop_keys *keys)
{
	struct build_state st;
	uint8_t alpha0[32];
	size_t m;
	int rc = check_params(p);

	if (rc != SPHINX_OK || header == NULL ||
	    (how != SPHINX_SECRETS_ACCUMULATED && how != SPHINX_SECRETS_CHAIN))
		return rc != SPHINX_OK ? rc : SPHINX_ERR_ARG;
	m = SPHINX_BETA_LEN - SPHINX_ROUTING_STEP * (p->n_hops - 1);
	if (p->initial_secret != NULL) {
		memcpy(st.scalars[0], p->initial_secret, 32);
		ns_x25519_base(alpha0, st.scalars[0]);
	} else {
		ns_x25519_ephemeral(st.scalars[0], alpha0);
	}

	rc = derive_hops(how, p, &st, m);
	if (rc == SPHINX_OK) {
		make_filler(&st, p->n_hops);
		final_routing(p, &st, m);
		for (size_t i = p->n_hops - 1; i-- > 0;)
			forward_routing(p, &st, i);
		memcpy(header, alpha0, 32);
		memcpy(header + 32, st.gamma, SPHINX_MAC_LEN);
		memcpy(header + 48, st.beta, SPHINX_BETA_LEN);
		if (keys != NULL)
			rc = export_keys(p, &st, keys);
	}
	ns_memzero(&st, sizeof st);
	return rc;
}

int sphinx_build_packet(const struct sphinx_header_params *p, const uint8_t *msg, size_t msg_len,
                        size_t payload_size, uint8_t *out)
{
	return sphinx_build_packet_using(p ? (enum sphinx_secrets)p->secrets : SPHINX_SECRETS_ACCUMULATED,
	                                 p, msg, msg_len, payload_size, out);
}

int sphinx_build_packet_using(enum sphinx_secrets how, const struct sphinx_header_params *p,
                              const uint8_t *msg, size_t msg_len, size_t payload_size, uint8_t *out)
{
	struct sphinx_hop_keys keys[SPHINX_MAX_HOPS];
	uint8_t payload_keys[SPHINX_MAX_HOPS][SPHINX_PAYLOAD_KEY_LEN];
	int rc;

	if (out == NULL || (msg == NULL && msg_len > 0) || payload_size <= SPHINX_MIN_PAYLOAD ||
	    msg_len > payload_size - SPHINX_PAYLOAD_OVERHEAD)
		return SPHINX_ERR_ARG;
	rc = sphinx_build_header_using(how, p, out, keys);
	if (rc == SPHINX_OK) {
		for (size_t i = 0; i < p->n_hops; i++)
			memcpy(payload_keys[i], keys[i].payload_key, SPHINX_PAYLOAD_KEY_LEN);
		rc = sphinx_encapsulate_payload(msg, msg_len, payload_size,
		                                (const uint8_t(*)[SPHINX_PAYLOAD_KEY_LEN])payload_keys,
		                                p->n_hops, out + SPHINX_HEADER_LEN);
	}
	ns_memzero(keys, sizeof keys);
	ns_memzero(payload_keys, sizeof payload_keys);
	return rc;
}
