/* Header building with both constructions of the per-hop secrets (the accumulated scalar and
 * sphinx-packet's chain) on fuzzer-chosen keys and scalars: they must give the same bytes.
 * First input byte, bit 0:
 *  0: a whole header. Byte 1 picks the hop count, byte 2 the version, byte 3 per hop whether
 *     the key is the input's 32 bytes as they are (any u: twist, small order, non-canonical)
 *     or the public key of those bytes as a secret; then x and the keys, 32 bytes each.
 *  1: one hop secret. Byte 1 picks n, byte 2 the same key choice; then the key and n scalars.
 * Missing bytes read as zeros. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "crypto.h"
#include "sphinx/sphinx.h"

#define CHECK(c) do { if (!(c)) abort(); } while (0)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

struct reader {
	const uint8_t *p;
	size_t left;
};

static void take(struct reader *r, uint8_t *out, size_t n)
{
	size_t k = n < r->left ? n : r->left;
	memcpy(out, r->p, k);
	memset(out + k, 0, n - k);
	r->p += k;
	r->left -= k;
}

static uint8_t take_byte(struct reader *r)
{
	uint8_t b;
	take(r, &b, 1);
	return b;
}

static void take_key(struct reader *r, uint8_t pk[32], int raw)
{
	uint8_t in[32];
	take(r, in, 32);
	if (raw)
		memcpy(pk, in, 32);
	else
		ns_x25519_base(pk, in);
}

static void whole_header(struct reader *r)
{
	struct sphinx_node route[SPHINX_MAX_HOPS];
	struct sphinx_hop_keys k_fast[SPHINX_MAX_HOPS], k_ref[SPHINX_MAX_HOPS];
	uint64_t delays[SPHINX_MAX_HOPS] = {1, 2, 3, 4, 5};
	uint8_t x[32], pad[SPHINX_BETA_LEN] = {0}, h_fast[SPHINX_HEADER_LEN], h_ref[SPHINX_HEADER_LEN];
	struct sphinx_header_params p;
	uint8_t raw_bits;

	memset(&p, 0, sizeof p);
	memset(route, 0, sizeof route);
	p.n_hops = 1 + take_byte(r) % SPHINX_MAX_HOPS;
	p.version = take_byte(r) & 1 ? SPHINX_V_PAYLOAD_KEY_SEEDS : SPHINX_V_X25519_EXPLICIT_KEYS;
	raw_bits = take_byte(r);
	take(r, x, sizeof x);
	for (size_t i = 0; i < p.n_hops; i++) {
		take_key(r, route[i].pubkey, (raw_bits >> i) & 1);
		route[i].address[0] = (uint8_t)i;
	}
	p.route = route;
	p.delays_ns = delays;
	p.initial_secret = x;
	p.final_padding = pad;
	CHECK(sphinx_build_header_using(SPHINX_SECRETS_ACCUMULATED, &p, h_fast, k_fast) == SPHINX_OK);
	CHECK(sphinx_build_header_using(SPHINX_SECRETS_CHAIN, &p, h_ref, k_ref) == SPHINX_OK);
	CHECK(memcmp(h_fast, h_ref, sizeof h_fast) == 0);
	CHECK(memcmp(k_fast, k_ref, p.n_hops * sizeof k_fast[0]) == 0);
}

static void one_hop(struct reader *r)
{
	uint8_t scalars[SPHINX_MAX_HOPS][32], pk[32], fast[32], ref[32];
	struct sphinx_acc acc;
	size_t n = 1 + take_byte(r) % SPHINX_MAX_HOPS;
	int raw = take_byte(r) & 1;
	int chained;

	take_key(r, pk, raw);
	take(r, &scalars[0][0], n * 32);
	sphinx_acc_start(&acc, scalars[0]);
	for (size_t j = 1; j < n; j++)
		sphinx_acc_mul(&acc, scalars[j]);
	chained = sphinx_hop_secret(fast, SPHINX_SECRETS_ACCUMULATED, &acc, pk,
	                            (const uint8_t(*)[32])scalars, n);
	CHECK(sphinx_hop_secret(ref, SPHINX_SECRETS_CHAIN, &acc, pk, (const uint8_t(*)[32])scalars, n) == 1);
	CHECK(memcmp(fast, ref, 32) == 0);
	/* a key that is some secret's public key is on the curve: one X25519 (barring ~2^-126) */
	CHECK(raw || chained == 0);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static int init;
	struct reader r = {data, size};

	if (!init) {
		CHECK(ns_crypto_init() == 0);
		init = 1;
	}
	if (take_byte(&r) & 1)
		one_hop(&r);
	else
		whole_header(&r);
	return 0;
}
