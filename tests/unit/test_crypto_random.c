/* ns_random's buffer (common/crypto.c): no byte handed out twice (within a call sequence, across
 * the buffer's refills, between threads), requests larger than the buffer served directly, a
 * forked child not handing out what its parent does, ns_random_uniform in range. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "crypto.h"
#include "unit/util.h"

#define DRAWS 3000 /* 16 bytes each: 12 refills of a 4 KiB buffer */

static int setup(void **state)
{
	(void)state;
	return ns_crypto_init();
}

/* 16-byte draws never repeat (a repeat would mean bytes handed out twice). */
static void assert_all_distinct(uint8_t (*draws)[16], size_t n)
{
	assert_true(util_rows_distinct(&draws[0][0], n, 16));
}

static void test_no_repeats_across_refills(void **state)
{
	(void)state;
	static uint8_t draws[DRAWS][16];
	uint8_t odd[3];
	for (size_t i = 0; i < DRAWS; i++) {
		ns_random(draws[i], 16);
		ns_random(odd, sizeof odd); /* misaligns the buffer's position */
	}
	assert_all_distinct(draws, DRAWS);
}

static void test_large_request(void **state)
{
	(void)state;
	size_t n = 100000;
	uint8_t *a = malloc(n), *b = malloc(n), zero[64] = {0};
	assert_non_null(a);
	assert_non_null(b);
	ns_random(a, n);
	ns_random(b, n);
	assert_true(memcmp(a, b, n) != 0);
	assert_true(memcmp(a + n - 64, zero, 64) != 0); /* filled to the end */
	free(a);
	free(b);
}

static void *thread_draws(void *arg)
{
	uint8_t (*out)[16] = arg;
	for (size_t i = 0; i < DRAWS / 2; i++)
		ns_random(out[i], 16);
	return NULL;
}

/* Two threads at once: each its own buffer, nothing shared. */
static void test_threads_distinct(void **state)
{
	(void)state;
	static uint8_t draws[DRAWS][16];
	pthread_t t;
	assert_int_equal(pthread_create(&t, NULL, thread_draws, draws[DRAWS / 2]), 0);
	thread_draws(draws);
	assert_int_equal(pthread_join(t, NULL), 0);
	assert_all_distinct(draws, DRAWS);
}

static void draw32(uint8_t out[32]) { ns_random(out, 32); }

/* A child forked without exec: its next bytes are not the parent's next bytes. */
static void test_fork_child_differs(void **state)
{
	(void)state;
	uint8_t warm[8], parent[32], child[32];
	ns_random(warm, sizeof warm); /* the buffer holds unused bytes now */
	assert_int_equal(util_fork_draw(draw32, parent, child), 0);
	assert_true(memcmp(parent, child, sizeof parent) != 0);
}

static void test_uniform_range(void **state)
{
	(void)state;
	unsigned seen[7] = {0};
	for (int i = 0; i < 7000; i++) {
		uint32_t r = ns_random_uniform(7);
		assert_true(r < 7);
		seen[r]++;
	}
	for (int i = 0; i < 7; i++)
		assert_true(seen[i] > 700); /* ~1000 each; 700 is > 9 sigma below */
	assert_int_equal(ns_random_uniform(1), 0);
	assert_int_equal(ns_random_uniform(0), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_no_repeats_across_refills),
		cmocka_unit_test(test_large_request),
		cmocka_unit_test(test_threads_distinct),
		cmocka_unit_test(test_fork_child_differs),
		cmocka_unit_test(test_uniform_range),
	};
	return cmocka_run_group_tests(tests, setup, NULL);
}
