/* common/node: delay queue ordering (min-heap + libev timer), replay-tag set (exact, bounded,
 * per epoch), stats JSON. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "crypto.h"
#include "node/node.h"

/* ---------------------------------------------------------------- delay queue */

static void test_delayq_order(void **state)
{
	(void)state;
	struct ns_delayq *q = ns_delayq_new(NULL, 1000, NULL, NULL);
	assert_non_null(q);
	/* 1000 random deadlines with many ties: pops come out sorted, ties in push order */
	static uintptr_t due[1000];
	for (uintptr_t i = 0; i < 1000; i++) {
		due[i] = ns_random_uniform(50);
		assert_int_equal(ns_delayq_push(q, due[i], (void *)(i + 1)), 0);
	}
	assert_int_equal(ns_delayq_len(q), 1000);
	assert_int_equal(ns_delayq_push(q, 0, (void *)1), NS_NODE_ERR_FULL);
	uint64_t peek;
	assert_int_equal(ns_delayq_peek(q, &peek), 1);
	uint64_t last_due = 0;
	uintptr_t last_idx = 0;
	size_t popped = 0;
	void *d;
	for (uint64_t now = 0; now < 50; now++) {
		while (ns_delayq_pop_due(q, now, &d) == 1) {
			uintptr_t idx = (uintptr_t)d - 1;
			assert_true(due[idx] <= now);
			assert_true(due[idx] >= last_due);
			if (due[idx] == last_due && popped)
				assert_true(idx > last_idx);
			last_due = due[idx];
			last_idx = idx;
			popped++;
		}
	}
	assert_int_equal(popped, 1000);
	assert_int_equal(ns_delayq_len(q), 0);
	assert_int_equal(ns_delayq_peek(q, &peek), 0);
	assert_int_equal(ns_delayq_pop_due(q, UINT64_MAX, &d), 0);
	ns_delayq_free(q, NULL);
}

static void test_delayq_not_before_deadline(void **state)
{
	(void)state;
	struct ns_delayq *q = ns_delayq_new(NULL, 4, NULL, NULL);
	void *d;
	assert_int_equal(ns_delayq_push(q, 100, (void *)7), 0);
	assert_int_equal(ns_delayq_pop_due(q, 99, &d), 0);
	assert_int_equal(ns_delayq_pop_due(q, 100, &d), 1);
	assert_ptr_equal(d, (void *)7);
	assert_null(ns_delayq_new(NULL, 0, NULL, NULL));
	assert_int_equal(ns_delayq_push(NULL, 0, NULL), NS_NODE_ERR_ARG);
	ns_delayq_free(q, NULL);
}

struct fired {
	uint64_t at[8];
	uintptr_t id[8];
	int n;
	struct ev_loop *loop;
};

static void on_fire(void *ctx, void *data)
{
	struct fired *f = ctx;
	f->at[f->n] = ns_node_now_ns();
	f->id[f->n++] = (uintptr_t)data;
	if (f->n == 4)
		ev_break(f->loop, EVBREAK_ALL);
}

static void test_delayq_timer(void **state)
{
	(void)state;
	struct fired f = { .loop = ev_loop_new(0) };
	struct ns_delayq *q = ns_delayq_new(f.loop, 16, on_fire, &f);
	uint64_t t0 = ns_node_now_ns();
	/* pushed out of order; must fire in deadline order and never early */
	assert_int_equal(ns_delayq_push(q, t0 + 60000000, (void *)3), 0);
	assert_int_equal(ns_delayq_push(q, t0 + 20000000, (void *)1), 0);
	assert_int_equal(ns_delayq_push(q, t0 + 90000000, (void *)4), 0);
	assert_int_equal(ns_delayq_push(q, t0 + 40000000, (void *)2), 0);
	assert_int_equal(f.n, 0); /* never fires inside push */
	ev_run(f.loop, 0);
	assert_int_equal(f.n, 4);
	static const uint64_t want_ms[] = { 20, 40, 60, 90 };
	for (int i = 0; i < 4; i++) {
		assert_int_equal(f.id[i], (uintptr_t)(i + 1));
		assert_true(f.at[i] >= t0 + want_ms[i] * 1000000u);
	}
	ns_delayq_free(q, NULL);
	ev_loop_destroy(f.loop);
}

static int freed;
static void count_free(void *p)
{
	(void)p;
	freed++;
}

static void test_delayq_free_items(void **state)
{
	(void)state;
	struct ns_delayq *q = ns_delayq_new(NULL, 8, NULL, NULL);
	for (int i = 0; i < 5; i++)
		ns_delayq_push(q, (uint64_t)i, (void *)1);
	freed = 0;
	ns_delayq_free(q, count_free);
	assert_int_equal(freed, 5);
}

/* ---------------------------------------------------------------- replay set */

static void tag_of(uint32_t i, uint8_t tag[32])
{
	memset(tag, 0, 32);
	memcpy(tag, &i, sizeof i);
	tag[31] = 0x5a;
}

static void test_replay_basic(void **state)
{
	(void)state;
	struct ns_replay_set *s = ns_replay_set_new(100000);
	uint8_t tag[32];
	assert_non_null(s);
	for (uint32_t i = 0; i < 100000; i++) {
		tag_of(i, tag);
		assert_int_equal(ns_replay_set_insert(s, tag), NS_REPLAY_NEW);
	}
	assert_int_equal(ns_replay_set_count(s), 100000);
	for (uint32_t i = 0; i < 100000; i += 7) {
		tag_of(i, tag);
		assert_int_equal(ns_replay_set_insert(s, tag), NS_REPLAY_SEEN);
		assert_true(ns_replay_set_contains(s, tag));
	}
	/* differs in one bit from a stored tag: new */
	tag_of(5, tag);
	tag[17] ^= 1;
	assert_false(ns_replay_set_contains(s, tag));
	/* full: a new tag is refused (fail closed), known tags still SEEN */
	assert_int_equal(ns_replay_set_insert(s, tag), NS_NODE_ERR_FULL);
	tag_of(99999, tag);
	assert_int_equal(ns_replay_set_insert(s, tag), NS_REPLAY_SEEN);
	/* a new epoch forgets everything */
	ns_replay_set_reset(s);
	assert_int_equal(ns_replay_set_count(s), 0);
	assert_int_equal(ns_replay_set_insert(s, tag), NS_REPLAY_NEW);
	ns_replay_set_free(s);
}

static void test_replay_bad_args(void **state)
{
	(void)state;
	uint8_t tag[32] = { 0 };
	assert_null(ns_replay_set_new(0));
	assert_int_equal(ns_replay_set_insert(NULL, tag), NS_NODE_ERR_ARG);
	struct ns_replay_set *s = ns_replay_set_new(1);
	assert_int_equal(ns_replay_set_insert(s, NULL), NS_NODE_ERR_ARG);
	assert_int_equal(ns_replay_set_insert(s, tag), NS_REPLAY_NEW);
	tag[0] = 1;
	assert_int_equal(ns_replay_set_insert(s, tag), NS_NODE_ERR_FULL);
	ns_replay_set_free(s);
	ns_replay_set_free(NULL);
}

/* ---------------------------------------------------------------- stats */

static void test_stats_json(void **state)
{
	(void)state;
	char path[] = "/tmp/test_node_stats.XXXXXX";
	int fd = mkstemp(path);
	assert_true(fd >= 0);
	close(fd);
	struct ns_stats *s = ns_stats_new("mix1", path);
	uint64_t a = 5, b = 18446744073709551615ull;
	assert_non_null(s);
	assert_int_equal(ns_stats_add(s, "packets_in", &a), 0);
	assert_int_equal(ns_stats_add(s, "replays", &b), 0);
	assert_int_equal(ns_stats_add(s, "bad\"name", &a), NS_NODE_ERR_ARG);
	assert_int_equal(ns_stats_add(s, "", &a), NS_NODE_ERR_ARG);
	char buf[256];
	long n = ns_stats_json(s, buf, sizeof buf);
	assert_int_equal(n, (long)strlen(buf));
	assert_string_equal(buf,
	                    "{\"node\":\"mix1\",\"uptime_s\":0,\"packets_in\":5,\"replays\":18446744073709551615}\n");
	assert_int_equal(ns_stats_json(s, buf, 20), -1);
	a = 6;
	assert_int_equal(ns_stats_write(s), 0);
	FILE *f = fopen(path, "r");
	assert_non_null(f);
	size_t got = fread(buf, 1, sizeof buf - 1, f);
	buf[got] = 0;
	fclose(f);
	assert_non_null(strstr(buf, "\"packets_in\":6,"));
	unlink(path);
	ns_stats_free(s);
	assert_null(ns_stats_new("bad name", NULL));
	assert_null(ns_stats_new("x\"y", NULL));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_delayq_order),
		cmocka_unit_test(test_delayq_not_before_deadline),
		cmocka_unit_test(test_delayq_timer),
		cmocka_unit_test(test_delayq_free_items),
		cmocka_unit_test(test_replay_basic),
		cmocka_unit_test(test_replay_bad_args),
		cmocka_unit_test(test_stats_json),
	};
	if (ns_crypto_init() != 0)
		return 1;
	return cmocka_run_group_tests(tests, NULL, NULL);
}
