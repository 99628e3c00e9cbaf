/* common/node: the replay-tag set shared by a mix node's workers. Several threads insert the
 * same tags at once (while the set grows): every tag is new for exactly one of them, and a
 * full set refuses every tag beyond its cap, however the threads interleave. Run it under
 * TSan too (tests/README.md). */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <pthread.h>
#include <string.h>

#include "crypto.h"
#include "node/node.h"

#define THREADS 4
#define TAGS    20000

struct job {
	struct ns_replay_set *set;
	unsigned first, n_tags;
	size_t fresh, seen, full, other;
};

static void tag_of(unsigned i, uint8_t tag[SPHINX_REPLAY_TAG_LEN])
{
	memset(tag, 0xa5, SPHINX_REPLAY_TAG_LEN);
	memcpy(tag, &i, sizeof i);
}

/* Inserts every tag once, starting at job->first and wrapping, so the threads collide on
 * different tags at different times. */
static void *insert_all(void *arg)
{
	struct job *j = arg;
	uint8_t tag[SPHINX_REPLAY_TAG_LEN];
	for (unsigned k = 0; k < j->n_tags; k++) {
		tag_of((j->first + k) % j->n_tags, tag);
		int rc = ns_replay_set_insert(j->set, tag);
		if (rc == NS_REPLAY_NEW)
			j->fresh++;
		else if (rc == NS_REPLAY_SEEN)
			j->seen++;
		else if (rc == NS_NODE_ERR_FULL)
			j->full++;
		else
			j->other++;
	}
	return NULL;
}

static void run_threads(struct ns_replay_set *set, unsigned n_tags, struct job jobs[THREADS])
{
	pthread_t th[THREADS];
	for (unsigned t = 0; t < THREADS; t++) {
		jobs[t] = (struct job){ .set = set, .first = t * (n_tags / THREADS) / 2, .n_tags = n_tags };
		assert_int_equal(pthread_create(&th[t], NULL, insert_all, &jobs[t]), 0);
	}
	for (unsigned t = 0; t < THREADS; t++)
		assert_int_equal(pthread_join(th[t], NULL), 0);
}

static void test_each_tag_new_once(void **state)
{
	(void)state;
	struct ns_replay_set *set = ns_replay_set_new(TAGS);
	assert_non_null(set);
	struct job jobs[THREADS];
	run_threads(set, TAGS, jobs);
	size_t fresh = 0, seen = 0;
	for (unsigned t = 0; t < THREADS; t++) {
		assert_int_equal(jobs[t].full + jobs[t].other, 0);
		fresh += jobs[t].fresh;
		seen += jobs[t].seen;
	}
	assert_int_equal(fresh, TAGS);
	assert_int_equal(seen, (size_t)(THREADS - 1) * TAGS);
	assert_int_equal(ns_replay_set_count(set), TAGS);
	uint8_t tag[SPHINX_REPLAY_TAG_LEN];
	for (unsigned i = 0; i < TAGS; i++) {
		tag_of(i, tag);
		assert_true(ns_replay_set_contains(set, tag));
	}
	tag_of(TAGS, tag);
	assert_false(ns_replay_set_contains(set, tag));
	ns_replay_set_free(set);
}

static void test_full_set_under_threads(void **state)
{
	(void)state;
	const unsigned cap = 1000, n_tags = 3000;
	struct ns_replay_set *set = ns_replay_set_new(cap);
	assert_non_null(set);
	struct job jobs[THREADS];
	run_threads(set, n_tags, jobs);
	size_t fresh = 0;
	for (unsigned t = 0; t < THREADS; t++) {
		assert_int_equal(jobs[t].other, 0);
		fresh += jobs[t].fresh;
		assert_int_equal(jobs[t].fresh + jobs[t].seen + jobs[t].full, n_tags);
	}
	assert_int_equal(fresh, cap);
	assert_int_equal(ns_replay_set_count(set), cap);
	ns_replay_set_free(set);
}

static void *reset_often(void *arg)
{
	for (int i = 0; i < 50; i++)
		ns_replay_set_reset(arg);
	return NULL;
}

/* A reset (new key epoch) racing with inserts leaves a consistent set: every tag it holds
 * afterwards is found, and inserting it again says SEEN. */
static void test_reset_while_inserting(void **state)
{
	(void)state;
	struct ns_replay_set *set = ns_replay_set_new(TAGS);
	assert_non_null(set);
	struct job j = { .set = set, .n_tags = TAGS };
	pthread_t a, b;
	assert_int_equal(pthread_create(&a, NULL, insert_all, &j), 0);
	assert_int_equal(pthread_create(&b, NULL, reset_often, set), 0);
	pthread_join(a, NULL);
	pthread_join(b, NULL);
	assert_int_equal(j.full + j.other, 0);
	size_t held = ns_replay_set_count(set), found = 0;
	uint8_t tag[SPHINX_REPLAY_TAG_LEN];
	for (unsigned i = 0; i < TAGS; i++) {
		tag_of(i, tag);
		if (ns_replay_set_contains(set, tag)) {
			found++;
			assert_int_equal(ns_replay_set_insert(set, tag), NS_REPLAY_SEEN);
		}
	}
	assert_int_equal(found, held);
	ns_replay_set_free(set);
}

/* The set is split into shards by the tag's first byte; the cap counts every shard
 * together, and a tag found in one shard is found whichever thread asks. */
static void test_cap_spans_shards(void **state)
{
	(void)state;
	struct ns_replay_set *set = ns_replay_set_new(5);
	assert_non_null(set);
	uint8_t tag[SPHINX_REPLAY_TAG_LEN];
	size_t fresh = 0, full = 0;
	for (unsigned i = 0; i < 256; i++) {
		memset(tag, 0x3c, sizeof tag);
		tag[0] = (uint8_t)i;
		int rc = ns_replay_set_insert(set, tag);
		fresh += rc == NS_REPLAY_NEW;
		full += rc == NS_NODE_ERR_FULL;
	}
	assert_int_equal(fresh, 5);
	assert_int_equal(full, 251);
	assert_int_equal(ns_replay_set_count(set), 5);
	ns_replay_set_reset(set);
	assert_int_equal(ns_replay_set_count(set), 0);
	memset(tag, 0x3c, sizeof tag);
	tag[0] = 200;
	assert_int_equal(ns_replay_set_insert(set, tag), NS_REPLAY_NEW);
	assert_int_equal(ns_replay_set_insert(set, tag), NS_REPLAY_SEEN);
	ns_replay_set_free(set);
}

int main(void)
{
	if (ns_crypto_init() != 0)
		return 1;
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_each_tag_new_once),
		cmocka_unit_test(test_full_set_under_threads),
		cmocka_unit_test(test_reset_while_inserting),
		cmocka_unit_test(test_cap_spans_shards),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
