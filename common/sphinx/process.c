/* Node-side processing of one Sphinx packet (versions 1, 257, 258, 259). */
#include "sphinx/sphinx.h"

#include <sodium.h>
#include <string.h>

#include "bytes.h"
#include "crypto.h"
#include "lioness.h"

#define PRG_LEN (SPHINX_ROUTING_STEP * (SPHINX_MAX_HOPS + 1)) /* 360 */
#define LEGACY_BLIND_TRIES 128

static int known_version(uint16_t v)
{
	return v == SPHINX_V_INITIAL_LEGACY || v == SPHINX_V_UPDATED_LEGACY ||
	       v == SPHINX_V_X25519_EXPLICIT_KEYS || v == SPHINX_V_PAYLOAD_KEY_SEEDS;
}

static int legacy_payload_keys(uint16_t v)
{
	return v == SPHINX_V_INITIAL_LEGACY || v == SPHINX_V_UPDATED_LEGACY ||
	       v == SPHINX_V_X25519_EXPLICIT_KEYS;
}

/* 8*t + 2^254 for t < 2^251: a scalar that X25519 clamping leaves unchanged. */
static int as_clamped(uint8_t out[32], const uint8_t t[32])
{
	if (t[31] & 0xF8)
		return -1;
	for (int i = 31; i > 0; i--)
		out[i] = (uint8_t)(t[i] << 3 | t[i - 1] >> 5);
	out[0] = (uint8_t)(t[0] << 3);
	out[31] |= 0x40;
	return 0;
}

/* Legacy blinding: alpha' = (b mod l) * alpha with no clamping. X25519 only takes clamped
 * scalars, so s = b mod l is split as a*c (mod l) with a and c both of the clamped form
 * 2^254 + 8t. Exact for alphas in the prime-order subgroup (every honestly built alpha);
 * for alphas with a small-order component the result drops that component. */
int sphinx_legacy_blind(uint8_t out[32], const uint8_t alpha[32], const uint8_t b[32])
{
	uint8_t wide[64] = {0}, s[32], two254[32], inv8[32], eight[32] = {8};
	uint8_t a[32], a_red[32], a_inv[32], c_red[32], t[32], c[32], tmp[32];
	int rc = SPHINX_ERR_CRYPTO;

	memcpy(wide, b, 32);
	crypto_core_ed25519_scalar_reduce(s, wide);
	memset(wide, 0, sizeof wide);
	wide[31] = 0x40;
	crypto_core_ed25519_scalar_reduce(two254, wide);
	if (crypto_core_ed25519_scalar_invert(inv8, eight) != 0)
		goto out;
	for (unsigned j = 1; j <= LEGACY_BLIND_TRIES; j++) {
		memset(a, 0, sizeof a);
		a[0] = (uint8_t)(8 * j);
		a[1] = (uint8_t)((8 * j) >> 8);
		a[31] = 0x40;
		memset(wide, 0, sizeof wide);
		memcpy(wide, a, 32);
		crypto_core_ed25519_scalar_reduce(a_red, wide);
		if (crypto_core_ed25519_scalar_invert(a_inv, a_red) != 0)
			continue;
		crypto_core_ed25519_scalar_mul(c_red, s, a_inv);
		crypto_core_ed25519_scalar_sub(t, c_red, two254);
		crypto_core_ed25519_scalar_mul(t, t, inv8);
		if (as_clamped(c, t) != 0)
			continue;
		ns_x25519(tmp, c, alpha);
		ns_x25519(out, a, tmp);
		rc = SPHINX_OK;
		break;
	}
out:
	ns_memzero(wide, sizeof wide);
	ns_memzero(s, sizeof s);
	ns_memzero(c_red, sizeof c_red);
	ns_memzero(t, sizeof t);
	ns_memzero(c, sizeof c);
	ns_memzero(tmp, sizeof tmp);
	return rc;
}

static int check_mac(const uint8_t *header, const uint8_t *expanded)
{
	uint8_t mac[32];
	int ok;
	ns_hmac_sha256(mac, expanded + 16, 16, header + 48, SPHINX_BETA_LEN);
	ok = ns_ct_equal(mac, header + 32, SPHINX_MAC_LEN);
	ns_memzero(mac, sizeof mac);
	return ok;
}

/* plain = (beta || 0^60) ^ PRG(rho)[0..360) */
static int unwrap_routing(const uint8_t *beta, const uint8_t *expanded, uint8_t plain[PRG_LEN])
{
	if (ns_aes128_ctr_keystream(plain, PRG_LEN, expanded) != 0)
		return SPHINX_ERR_CRYPTO;
	for (size_t i = 0; i < SPHINX_BETA_LEN; i++)
		plain[i] ^= beta[i];
	return SPHINX_OK;
}

static int payload_key(struct sphinx_processed *res)
{
	if (legacy_payload_keys(res->version)) {
		memcpy(res->payload_key, res->expanded + 32, SPHINX_PAYLOAD_KEY_LEN);
		return SPHINX_OK;
	}
	return sphinx_payload_key_from_seed(res->expanded + 32, res->payload_key);
}

static int next_header(const uint8_t alpha[32], const uint8_t plain[PRG_LEN],
                       const struct sphinx_processed *res, uint8_t *out)
{
	const uint8_t *b = res->expanded + 224;
	if (res->version == SPHINX_V_INITIAL_LEGACY || res->version == SPHINX_V_UPDATED_LEGACY) {
		if (sphinx_legacy_blind(out, alpha, b) != SPHINX_OK)
			return SPHINX_ERR_CRYPTO;
	} else {
		ns_x25519(out, b, alpha);
	}
	memcpy(out + 32, plain + 44, SPHINX_MAC_LEN);
	memcpy(out + 48, plain + SPHINX_ROUTING_STEP, SPHINX_BETA_LEN);
	return SPHINX_OK;
}

static int process_routing(const uint8_t alpha[32], const uint8_t plain[PRG_LEN],
                           struct sphinx_processed *res, uint8_t *out_header)
{
	res->flag = plain[0];
	if (res->flag != SPHINX_FLAG_FORWARD && res->flag != SPHINX_FLAG_FINAL)
		return SPHINX_ERR_FLAG;
	res->version = (uint16_t)(plain[2] << 8 | plain[3]);
	if (!known_version(res->version))
		return SPHINX_ERR_VERSION;
	if (res->flag == SPHINX_FLAG_FINAL) {
		memcpy(res->destination, plain + 4, SPHINX_DEST_LEN);
		memcpy(res->identifier, plain + 36, SPHINX_ID_LEN);
		return SPHINX_OK;
	}
	memcpy(res->next_address, plain + 4, SPHINX_NODE_ADDR_LEN);
	res->delay_ns = ns_get_be64(plain + 36);
	return next_header(alpha, plain, res, out_header);
}

static int process_header(const uint8_t node_secret[32], const uint8_t *header,
                           struct sphinx_processed *res, uint8_t plain[PRG_LEN], uint8_t alpha[32])
{
	memcpy(alpha, header, 32);
	ns_x25519(res->shared_secret, node_secret, alpha);
	if (sphinx_expand_secret(res->shared_secret, res->expanded) != SPHINX_OK)
		return SPHINX_ERR_CRYPTO;
	memcpy(res->replay_tag, res->expanded + 256, SPHINX_REPLAY_TAG_LEN);
	if (!check_mac(header, res->expanded))
		return SPHINX_ERR_MAC;
	if (unwrap_routing(header + 48, res->expanded, plain) != SPHINX_OK)
		return SPHINX_ERR_CRYPTO;
	memcpy(res->routing_plain, plain, SPHINX_ROUTING_STEP);
	return SPHINX_OK;
}

int sphinx_process(const uint8_t node_secret[32], const uint8_t *packet, size_t len,
                   uint8_t *out_packet, struct sphinx_processed *res)
{
	uint8_t plain[PRG_LEN], alpha[32], new_header[SPHINX_HEADER_LEN];
	size_t payload_len;
	int rc;

	if (node_secret == NULL || packet == NULL || out_packet == NULL || res == NULL ||
	    len <= SPHINX_HEADER_LEN + SPHINX_MIN_PAYLOAD)
		return SPHINX_ERR_ARG;
	payload_len = len - SPHINX_HEADER_LEN;
	memset(res, 0, sizeof *res);
	rc = process_header(node_secret, packet, res, plain, alpha);
	if (rc == SPHINX_OK)
		rc = process_routing(alpha, plain, res, new_header);
	if (rc == SPHINX_OK)
		rc = payload_key(res);
	if (rc == SPHINX_OK) {
		if (out_packet != packet)
			memcpy(out_packet + SPHINX_HEADER_LEN, packet + SPHINX_HEADER_LEN, payload_len);
		if (lioness_decrypt(res->payload_key, out_packet + SPHINX_HEADER_LEN, payload_len) != 0)
			rc = SPHINX_ERR_CRYPTO;
	}
	if (rc == SPHINX_OK) {
		if (res->flag == SPHINX_FLAG_FORWARD)
			memcpy(out_packet, new_header, SPHINX_HEADER_LEN);
		else if (out_packet != packet)
			memcpy(out_packet, packet, SPHINX_HEADER_LEN);
	}
	ns_memzero(plain, sizeof plain);
	ns_memzero(new_header, sizeof new_header);
	return rc;
}
