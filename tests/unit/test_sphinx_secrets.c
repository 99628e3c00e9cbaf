/* The accumulated-scalar construction of Sphinx header secrets against sphinx-packet's chain:
 * random routes (SPHINX_PROPERTY_ROUTES, default 10^4), keys off the prime-order subgroup
 * (small-order, mixed-order, twist, non-canonical), and the rare scalars that have no clamped
 * representative. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <gcrypt.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "crypto.h"
#include "sphinx/sphinx.h"

#define KEY_POOL 64 /* a topology's worth of node keys */

/* Edwards points of order 2, 4 and 8 (libsodium's list of small-order encodings); each is
 * checked below to be on the curve and of small order. */
static const char *const LOW_ORDER_ED[] = {
	"ecffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f", /* (0, -1), order 2 */
	"0000000000000000000000000000000000000000000000000000000000000000", /* y = 0, order 4 */
	"0000000000000000000000000000000000000000000000000000000000000080",
	"26e8958fc2b227b045c3f489f2ef98f0d5dfac05d3c63339b13802886d53fc05", /* order 8 */
	"c7176a703d4dd84fba3c0b760d10670f2a2053fa2c39ccc64ec7fd7792ac037a",
};

static void unhex32(uint8_t out[32], const char *hex)
{
	assert_int_equal(sodium_hex2bin(out, 32, hex, 64, NULL, NULL, NULL), 0);
}

/* u = (1 + y) / (1 - y) mod p for an Edwards encoding (test-side conversion). */
static int edwards_to_u(uint8_t u[32], const uint8_t ed[32])
{
	uint8_t be[32];
	size_t n;
	gcry_mpi_t p = NULL, y = NULL, num = gcry_mpi_new(256), den = gcry_mpi_new(256);
	int ok;

	for (int i = 0; i < 32; i++)
		be[i] = ed[31 - i];
	be[0] &= 0x7f;
	assert_int_equal(gcry_mpi_scan(&p, GCRYMPI_FMT_HEX,
	                               "7fffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffed", 0,
	                               NULL), 0);
	assert_int_equal(gcry_mpi_scan(&y, GCRYMPI_FMT_USG, be, 32, NULL), 0);
	gcry_mpi_add_ui(num, y, 1);
	gcry_mpi_mod(num, num, p);
	gcry_mpi_set_ui(den, 1);
	gcry_mpi_subm(den, den, y, p);
	ok = gcry_mpi_cmp_ui(den, 0) != 0 && gcry_mpi_invm(den, den, p);
	if (ok) {
		gcry_mpi_mulm(num, num, den, p);
		memset(be, 0, sizeof be);
		assert_int_equal(gcry_mpi_print(GCRYMPI_FMT_USG, be, 32, &n, num), 0);
		memset(u, 0, 32);
		for (size_t i = 0; i < n; i++)
			u[i] = be[n - 1 - i];
	}
	gcry_mpi_release(p);
	gcry_mpi_release(y);
	gcry_mpi_release(num);
	gcry_mpi_release(den);
	return ok;
}

/* y = (u - 1) / (u + 1) as an Edwards encoding with sign 0; 0 when u = -1. */
static int u_to_edwards(uint8_t ed[32], const uint8_t u_le[32])
{
	uint8_t be[32];
	size_t n;
	gcry_mpi_t p = NULL, u = NULL, num = gcry_mpi_new(256), den = gcry_mpi_new(256);
	int ok;

	for (int i = 0; i < 32; i++)
		be[i] = u_le[31 - i];
	be[0] &= 0x7f;
	assert_int_equal(gcry_mpi_scan(&p, GCRYMPI_FMT_HEX,
	                               "7fffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffed", 0,
	                               NULL), 0);
	assert_int_equal(gcry_mpi_scan(&u, GCRYMPI_FMT_USG, be, 32, NULL), 0);
	gcry_mpi_mod(u, u, p);
	gcry_mpi_sub_ui(num, u, 1);
	gcry_mpi_mod(num, num, p);
	gcry_mpi_add_ui(den, u, 1);
	gcry_mpi_mod(den, den, p);
	ok = gcry_mpi_cmp_ui(den, 0) != 0 && gcry_mpi_invm(den, den, p);
	if (ok) {
		gcry_mpi_mulm(num, num, den, p);
		memset(be, 0, sizeof be);
		assert_int_equal(gcry_mpi_print(GCRYMPI_FMT_USG, be, 32, &n, num), 0);
		memset(ed, 0, 32);
		for (size_t i = 0; i < n; i++)
			ed[i] = be[n - 1 - i];
	}
	gcry_mpi_release(p);
	gcry_mpi_release(u);
	gcry_mpi_release(num);
	gcry_mpi_release(den);
	return ok;
}

/* Both constructions of one hop secret for pk and n random scalars; returns what
 * sphinx_hop_secret said (1 = it ran the chain). */
static int compare_hop(const uint8_t pk[32], size_t n)
{
	uint8_t scalars[SPHINX_MAX_HOPS][32], fast[32], ref[32];
	struct sphinx_acc acc;
	int chained;

	ns_random(scalars, sizeof scalars);
	sphinx_acc_start(&acc, scalars[0]);
	for (size_t j = 1; j < n; j++)
		sphinx_acc_mul(&acc, scalars[j]);
	chained = sphinx_hop_secret(fast, SPHINX_SECRETS_ACCUMULATED, &acc, pk,
	                            (const uint8_t(*)[32])scalars, n);
	assert_int_equal(sphinx_hop_secret(ref, SPHINX_SECRETS_CHAIN, &acc, pk,
	                                   (const uint8_t(*)[32])scalars, n), 1);
	assert_memory_equal(fast, ref, 32);
	return chained;
}

/* acc.t * 8 == clamp(x) mod l: the accumulator divides by 8 with the right constant. */
static void test_acc_start(void **state)
{
	uint8_t x[32], wide[64] = {0}, want[32], got[32], eight[32] = {8};
	struct sphinx_acc acc;
	(void)state;

	for (int i = 0; i < 100; i++) {
		ns_random(x, 32);
		sphinx_acc_start(&acc, x);
		memcpy(wide, x, 32);
		wide[0] &= 248;
		wide[31] = (uint8_t)((wide[31] & 127) | 64);
		crypto_core_ed25519_scalar_reduce(want, wide);
		crypto_core_ed25519_scalar_mul(got, acc.t, eight);
		assert_memory_equal(got, want, 32);
	}
}

static void random_node_key(uint8_t pk[32])
{
	uint8_t sk[32];
	ns_random(sk, 32);
	ns_x25519_base(pk, sk);
}

/* Valid node keys (any bit 255) always take one X25519 and agree with the chain. */
static void test_valid_keys_fast(void **state)
{
	uint8_t pk[32];
	(void)state;

	for (int i = 0; i < 300; i++) {
		random_node_key(pk);
		if (i & 1)
			pk[31] |= 0x80; /* X25519 ignores bit 255 */
		assert_int_equal(compare_hop(pk, 1 + (size_t)i % SPHINX_MAX_HOPS), 0);
	}
}

/* The on-curve test against libsodium's Edwards decoding (add fails off the curve). */
static void test_on_curve_matches_libsodium(void **state)
{
	uint8_t u[32], ed[32], sum[32];
	int seen[2] = {0, 0};
	(void)state;

	for (int i = 0; i < 400; i++) {
		ns_random(u, 32);
		u[31] &= 0x7f;
		if (!u_to_edwards(ed, u))
			continue;
		int on = crypto_core_ed25519_add(sum, ed, ed) == 0;
		assert_int_equal(sphinx_key_on_curve(u), on);
		seen[on]++;
	}
	assert_true(seen[0] > 100 && seen[1] > 100);
}

/* Every key of a topology is checked once while the topology lasts: 1200 keys (more nodes
 * than a real network has) looked up over and over cost no further check. Two passes first:
 * the table may have started over once during the first (it holds the earlier tests' keys). */
static void test_key_table_keeps_a_topology(void **state)
{
	enum { KEYS = 1200 };
	static uint8_t topo[KEYS][32];
	unsigned long before;
	(void)state;

	for (size_t i = 0; i < KEYS; i++)
		ns_random(topo[i], 32);
	for (int pass = 0; pass < 2; pass++)
		for (size_t i = 0; i < KEYS; i++)
			sphinx_key_on_curve(topo[i]);
	before = sphinx_key_checks();
	for (int pass = 0; pass < 3; pass++)
		for (size_t i = 0; i < KEYS; i++)
			sphinx_key_on_curve(topo[KEYS - 1 - i]);
	assert_int_equal(sphinx_key_checks(), before);
	/* a new key is checked, once */
	uint8_t fresh[32];
	ns_random(fresh, 32);
	int on = sphinx_key_on_curve(fresh);
	assert_int_equal(sphinx_key_checks(), before + 1);
	assert_int_equal(sphinx_key_on_curve(fresh), on);
	assert_int_equal(sphinx_key_checks(), before + 1);
}

/* Twist keys run the chain (one X25519 would be wrong there), with the same bytes. */
static void test_twist_keys_chain(void **state)
{
	uint8_t u[32];
	int twist = 0;
	(void)state;

	while (twist < 50) {
		ns_random(u, 32);
		if (sphinx_key_on_curve(u))
			continue;
		assert_int_equal(compare_hop(u, 1 + (size_t)twist % SPHINX_MAX_HOPS), 1);
		twist++;
	}
}

static void add_times(uint8_t out[32], const uint8_t t[32], int k)
{
	memcpy(out, t, 32);
	for (int i = 1; i < k; i++)
		assert_int_equal(crypto_core_ed25519_add(out, out, t), 0);
}

/* Small-order keys (u = 0, 1, the order-8 u's, and non-canonical u + p) and mixed-order keys
 * (prime-order + small-order): one X25519 by the representative gives the chain's bytes. */
static void test_small_and_mixed_order_keys(void **state)
{
	uint8_t t[32], mult[32], id[32] = {1}, u[32], p[32], mixed[32];
	(void)state;

	for (size_t k = 0; k < sizeof LOW_ORDER_ED / sizeof LOW_ORDER_ED[0]; k++) {
		unhex32(t, LOW_ORDER_ED[k]);
		add_times(mult, t, 8);
		assert_memory_equal(mult, id, 32); /* really of order dividing 8 */
		assert_false(crypto_core_ed25519_is_valid_point(t));
		assert_true(edwards_to_u(u, t));
		assert_true(sphinx_key_on_curve(u));
		for (size_t n = 1; n <= SPHINX_MAX_HOPS; n++)
			assert_int_equal(compare_hop(u, n), 0);
		/* the same u written as u + p (X25519 reduces it) when that fits in 255 bits */
		if (u[31] == 0 && u[0] < 19) {
			uint8_t nc[32];
			memset(nc, 0xff, 32);
			nc[31] = 0x7f;
			nc[0] = (uint8_t)(0xed + u[0]);
			assert_true(sphinx_key_on_curve(nc));
			assert_int_equal(compare_hop(nc, 3), 0);
		}
		for (int i = 0; i < 20; i++) {
			crypto_core_ed25519_random(p);
			assert_int_equal(crypto_core_ed25519_add(mixed, p, t), 0);
			assert_true(edwards_to_u(u, mixed));
			assert_int_equal(compare_hop(u, 1 + (size_t)i % SPHINX_MAX_HOPS), 0);
		}
	}
}

/* Scalars c0, c1 with clamp(c0) * clamp(c1) = 8 * target mod l (c1 chosen through its own
 * representative); returns 0 if c0 needs redrawing. */
static int craft_pair(uint8_t sc[2][32], const uint8_t target[32], struct sphinx_acc *acc)
{
	uint8_t wide[64] = {0}, a0[32], inv[32], t1[32], neg[32], eight[32] = {8}, want[32], tmp[32];
	const uint8_t *pick;

	ns_random(sc[0], 32);
	memcpy(wide, sc[0], 32);
	wide[0] &= 248;
	wide[31] = (uint8_t)((wide[31] & 127) | 64);
	crypto_core_ed25519_scalar_reduce(a0, wide);
	assert_int_equal(crypto_core_ed25519_scalar_invert(inv, a0), 0);
	crypto_core_ed25519_scalar_mul(t1, target, inv); /* t1 = clamp(c1) / 8 */
	crypto_core_ed25519_scalar_negate(neg, t1);
	pick = (t1[31] >> 3) == 1 ? t1 : (neg[31] >> 3) == 1 ? neg : NULL;
	if (pick == NULL)
		return 0;
	sc[1][0] = (uint8_t)(pick[0] << 3);
	for (int i = 1; i < 32; i++)
		sc[1][i] = (uint8_t)((pick[i] << 3) | (pick[i - 1] >> 5));
	sphinx_acc_start(acc, sc[0]);
	sphinx_acc_mul(acc, sc[1]);
	/* acc.t is +target or -target */
	crypto_core_ed25519_scalar_mul(want, target, eight);
	crypto_core_ed25519_scalar_mul(tmp, acc->t, eight);
	crypto_core_ed25519_scalar_negate(neg, want);
	assert_true(memcmp(tmp, want, 32) == 0 || memcmp(tmp, neg, 32) == 0);
	return 1;
}

/* The window edges: t in (l - 2^252, 2^252) has a representative, the rest runs the chain. */
static void test_no_representative_falls_back(void **state)
{
	static const struct {
		const char *t;
		int chained;
	} cases[] = {
		{"0100000000000000000000000000000000000000000000000000000000000000", 1},
		{"edd3f55c1a631258d69cf7a2def9de1400000000000000000000000000000000", 1}, /* l - 2^252 */
		{"eed3f55c1a631258d69cf7a2def9de1400000000000000000000000000000000", 0},
		{"ffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff07", 0}, /* 2^251 - 1 */
		{"0000000000000000000000000000000000000000000000000000000000000008", 0}, /* 2^251 */
		{"ffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff0f", 0}, /* 2^252 - 1 */
		{"0000000000000000000000000000000000000000000000000000000000000010", 1}, /* 2^252 */
		{"ecd3f55c1a631258d69cf7a2def9de1400000000000000000000000000000010", 1}, /* l - 1 */
	};
	uint8_t target[32], sc[2][32], pk[32], fast[32], ref[32];
	struct sphinx_acc acc;
	(void)state;

	for (size_t k = 0; k < sizeof cases / sizeof cases[0]; k++) {
		unhex32(target, cases[k].t);
		while (!craft_pair(sc, target, &acc))
			;
		random_node_key(pk);
		assert_int_equal(sphinx_hop_secret(fast, SPHINX_SECRETS_ACCUMULATED, &acc, pk,
		                                   (const uint8_t(*)[32])sc, 2), cases[k].chained);
		sphinx_hop_secret(ref, SPHINX_SECRETS_CHAIN, &acc, pk, (const uint8_t(*)[32])sc, 2);
		assert_memory_equal(fast, ref, 32);
	}
}

static size_t property_routes(void)
{
	const char *env = getenv("SPHINX_PROPERTY_ROUTES");
	long n = env != NULL ? strtol(env, NULL, 10) : 0;
	return n > 0 ? (size_t)n : 10000;
}

/* An odd key now and then: twist, small-order, or random bytes. */
static void route_key(uint8_t pk[32], const uint8_t pool[KEY_POOL][32])
{
	uint32_t r = ns_random_uniform(64);

	if (r == 0) {
		ns_random(pk, 32); /* half of these are on the twist */
	} else if (r == 1) {
		uint8_t t[32];
		unhex32(t, LOW_ORDER_ED[ns_random_uniform(5)]);
		assert_true(edwards_to_u(pk, t));
	} else {
		memcpy(pk, pool[ns_random_uniform(KEY_POOL)], 32);
	}
}

/* Whole headers and per-hop keys (hence packets and SURBs) from both constructions. */
static void test_property_random_routes(void **state)
{
	uint8_t pool[KEY_POOL][32], x[32], pad[SPHINX_BETA_LEN], h_fast[SPHINX_HEADER_LEN],
	        h_ref[SPHINX_HEADER_LEN];
	struct sphinx_node route[SPHINX_MAX_HOPS];
	struct sphinx_hop_keys k_fast[SPHINX_MAX_HOPS], k_ref[SPHINX_MAX_HOPS];
	uint64_t delays[SPHINX_MAX_HOPS];
	struct sphinx_header_params p;
	size_t n = property_routes();
	(void)state;

	for (int i = 0; i < KEY_POOL; i++)
		random_node_key(pool[i]);
	for (size_t r = 0; r < n; r++) {
		memset(&p, 0, sizeof p);
		p.n_hops = 1 + ns_random_uniform(SPHINX_MAX_HOPS);
		for (size_t i = 0; i < p.n_hops; i++) {
			route_key(route[i].pubkey, (const uint8_t(*)[32])pool);
			ns_random(route[i].address, SPHINX_NODE_ADDR_LEN);
			delays[i] = ns_random_uniform(1u << 30);
		}
		ns_random(x, sizeof x);
		ns_random(pad, sizeof pad);
		ns_random(p.destination, sizeof p.destination);
		ns_random(p.identifier, sizeof p.identifier);
		p.route = route;
		p.delays_ns = delays;
		p.version = ns_random_uniform(2) ? SPHINX_V_PAYLOAD_KEY_SEEDS : SPHINX_V_X25519_EXPLICIT_KEYS;
		p.initial_secret = x;
		p.final_padding = pad;
		assert_int_equal(sphinx_build_header_using(SPHINX_SECRETS_ACCUMULATED, &p, h_fast, k_fast),
		                 SPHINX_OK);
		assert_int_equal(sphinx_build_header_using(SPHINX_SECRETS_CHAIN, &p, h_ref, k_ref), SPHINX_OK);
		assert_memory_equal(h_fast, h_ref, sizeof h_fast);
		assert_memory_equal(k_fast, k_ref, p.n_hops * sizeof k_fast[0]);
	}
	printf("property: %zu random routes, headers and keys identical\n", n);
}

static void test_bad_method(void **state)
{
	struct sphinx_node node;
	uint64_t d = 0;
	struct sphinx_header_params p = {.route = &node, .n_hops = 1, .delays_ns = &d,
	                                 .version = SPHINX_V_PAYLOAD_KEY_SEEDS};
	uint8_t h[SPHINX_HEADER_LEN];
	(void)state;

	random_node_key(node.pubkey);
	assert_int_equal(sphinx_build_header_using((enum sphinx_secrets)7, &p, h, NULL), SPHINX_ERR_ARG);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_acc_start),
		cmocka_unit_test(test_valid_keys_fast),
		cmocka_unit_test(test_on_curve_matches_libsodium),
		cmocka_unit_test(test_key_table_keeps_a_topology),
		cmocka_unit_test(test_twist_keys_chain),
		cmocka_unit_test(test_small_and_mixed_order_keys),
		cmocka_unit_test(test_no_representative_falls_back),
		cmocka_unit_test(test_bad_method),
		cmocka_unit_test(test_property_random_routes),
	};
	if (ns_crypto_init() != 0)
		return 1;
	return cmocka_run_group_tests(tests, NULL, NULL);
}
