/* ns_x25519_ephemeral (common/ephemeral.c): every pair it hands out is a secret and the
 * X25519 public key libsodium's base multiplication gives for it, across the pool's refills;
 * no pair twice (within a thread, between threads); a forked child does not hand out its
 * parent's pairs; the pool keeps no copy of a secret it has handed out. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <pthread.h>
#include <string.h>

#include "crypto.h"
#include "ephemeral.h"
#include "unit/util.h"

#define PAIRS 500 /* 15 refills of a 32-pair pool, and a part-used one */

static int setup(void **state)
{
	(void)state;
	return ns_crypto_init();
}

static void assert_all_distinct(uint8_t (*keys)[32], size_t n)
{
	assert_true(util_rows_distinct(&keys[0][0], n, 32));
}

static void test_public_key_matches_base_mult(void **state)
{
	(void)state;
	static uint8_t secrets[PAIRS][32];
	uint8_t pk[32], want[32];
	for (size_t i = 0; i < PAIRS; i++) {
		ns_x25519_ephemeral(secrets[i], pk);
		ns_x25519_base(want, secrets[i]);
		assert_memory_equal(pk, want, 32);
	}
	assert_all_distinct(secrets, PAIRS);
}

/* The secret is the unclamped input: X25519 with it agrees with the peer's side. */
static void test_agreement(void **state)
{
	(void)state;
	uint8_t e[32], epk[32], r[32], rpk[32], a[32], b[32];
	ns_random(r, sizeof r);
	ns_x25519_base(rpk, r);
	for (int i = 0; i < 40; i++) {
		ns_x25519_ephemeral(e, epk);
		ns_x25519(a, e, rpk);
		ns_x25519(b, r, epk);
		assert_memory_equal(a, b, 32);
	}
}

static void *thread_pairs(void *arg)
{
	uint8_t (*out)[32] = arg, pk[32];
	for (size_t i = 0; i < PAIRS / 2; i++)
		ns_x25519_ephemeral(out[i], pk);
	return NULL;
}

static void test_threads_distinct(void **state)
{
	(void)state;
	static uint8_t secrets[PAIRS][32];
	pthread_t t;
	assert_int_equal(pthread_create(&t, NULL, thread_pairs, secrets[PAIRS / 2]), 0);
	thread_pairs(secrets);
	assert_int_equal(pthread_join(t, NULL), 0);
	assert_all_distinct(secrets, PAIRS);
}

static void draw_public_key(uint8_t out[32])
{
	uint8_t e[32];
	ns_x25519_ephemeral(e, out);
}

/* A child forked without exec: its next pair is not the parent's next pair. */
static void test_fork_child_differs(void **state)
{
	(void)state;
	uint8_t warm[32], parent[32], child[32];
	draw_public_key(warm); /* the pool holds unused pairs now */
	assert_int_equal(util_fork_draw(draw_public_key, parent, child), 0);
	assert_true(memcmp(parent, child, sizeof parent) != 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_public_key_matches_base_mult),
		cmocka_unit_test(test_agreement),
		cmocka_unit_test(test_threads_distinct),
		cmocka_unit_test(test_fork_child_differs),
	};
	return cmocka_run_group_tests(tests, setup, NULL);
}
