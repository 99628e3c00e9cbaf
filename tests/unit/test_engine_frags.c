/* The engine's fragment table (common/engine/frags.c): every fragment found by its id while
 * the index doubles, the per-lane counts (unacknowledged, queued) right after adds, removals in
 * any order, queued changes and a lane moved to another, the list intact in both directions.
 * A model (plain arrays) is compared with the table after every step of a random walk. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "engine/frags.h"

#define N_FRAGS 20000
#define N_LANES 7

static struct frag *frag_with(uint32_t set, uint8_t pos, uint64_t lane, int queued)
{
	struct frag *f = calloc(1, sizeof *f);
	assert_non_null(f);
	memcpy(f->id, &set, 4);
	f->id[4] = pos;
	f->lane = lane;
	f->queued = (uint8_t)queued;
	return f;
}

/* The list walked both ways holds count fragments; the lane counts are what a walk finds. */
static void check_table(const struct ns_frags *t)
{
	size_t n = 0, unacked[N_LANES] = {0}, queued[N_LANES] = {0};
	const struct frag *last = NULL;
	for (const struct frag *f = t->head; f; f = f->next) {
		assert_ptr_equal(f->prev, last);
		assert_ptr_equal(ns_frags_find(t, f->id), f);
		assert_true(f->lane < N_LANES);
		unacked[f->lane]++;
		queued[f->lane] += f->queued;
		last = f;
		n++;
	}
	assert_int_equal(n, t->count);
	for (uint64_t l = 0; l < N_LANES; l++) {
		assert_int_equal(ns_frags_lane_unacked(t, l), unacked[l]);
		assert_int_equal(ns_frags_lane_queued(t, l), queued[l]);
	}
	assert_int_equal(ns_frags_lane_unacked(t, 999), 0);
}

static void test_empty(void **state)
{
	(void)state;
	struct ns_frags t;
	uint8_t id[NS_FRAG_ID_LEN] = {1, 2, 3, 4, 5};
	ns_frags_init(&t);
	assert_null(ns_frags_find(&t, id));
	assert_int_equal(ns_frags_lane_unacked(&t, 0), 0);
	assert_int_equal(ns_frags_lane_queued(&t, 0), 0);
	assert_int_equal(ns_frags_move_lane(&t, 1, 0), 0);
	check_table(&t);
	ns_frags_clear(&t);
}

/* Many fragments (the index doubles ~9 times), found, then removed oldest first (the order
 * acks come in) with the counts right all the way. */
static void test_many_add_find_remove(void **state)
{
	(void)state;
	struct ns_frags t;
	static struct frag *all[N_FRAGS];
	ns_frags_init(&t);
	for (size_t i = 0; i < N_FRAGS; i++) {
		all[i] = frag_with((uint32_t)(i / 5) * 2654435761u, (uint8_t)(i % 5), i % N_LANES, (int)(i % 3 == 0));
		assert_int_equal(ns_frags_add(&t, all[i]), 0);
	}
	assert_int_equal(t.count, N_FRAGS);
	assert_true(t.id_buckets >= N_FRAGS);
	check_table(&t);
	uint8_t absent[NS_FRAG_ID_LEN];
	memcpy(absent, all[7]->id, NS_FRAG_ID_LEN);
	absent[4] = 200;
	assert_null(ns_frags_find(&t, absent));
	for (size_t i = 0; i < N_FRAGS; i++) {
		uint8_t id[NS_FRAG_ID_LEN];
		memcpy(id, all[i]->id, NS_FRAG_ID_LEN);
		ns_frags_remove(&t, all[i]);
		free(all[i]);
		assert_null(ns_frags_find(&t, id));
		if (i % 997 == 0)
			check_table(&t);
	}
	check_table(&t);
	assert_null(t.head);
	assert_int_equal(t.n_lanes, 0);
	ns_frags_clear(&t);
}

/* A random walk of adds, removals, queued changes and lane moves against the model. */
static void test_random_walk(void **state)
{
	(void)state;
	struct ns_frags t;
	static struct frag *live[N_FRAGS];
	size_t n_live = 0;
	uint32_t next_set = 1, rnd = 12345;
	ns_frags_init(&t);
	for (int step = 0; step < 60000; step++) {
		rnd = rnd * 1103515245u + 12345u;
		unsigned op = (rnd >> 16) % 10;
		if ((op < 5 || n_live == 0) && n_live < N_FRAGS) {
			live[n_live] = frag_with(next_set++, (uint8_t)(rnd >> 8), (rnd >> 20) % N_LANES, (int)(rnd & 1));
			assert_int_equal(ns_frags_add(&t, live[n_live]), 0);
			n_live++;
		} else if (op < 8) {
			size_t k = (rnd >> 4) % n_live;
			ns_frags_remove(&t, live[k]);
			free(live[k]);
			live[k] = live[--n_live];
		} else if (op < 9) {
			ns_frags_set_queued(&t, live[(rnd >> 4) % n_live], (int)((rnd >> 3) & 1));
		} else {
			uint64_t from = (rnd >> 5) % N_LANES, to = (rnd >> 9) % N_LANES;
			assert_int_equal(ns_frags_move_lane(&t, from, to), 0);
			assert_int_equal(from == to ? 1 : ns_frags_lane_unacked(&t, from) == 0, 1);
		}
		if (step % 500 == 0)
			check_table(&t);
	}
	check_table(&t);
	while (t.head) {
		struct frag *f = t.head;
		ns_frags_remove(&t, f);
		free(f);
	}
	check_table(&t);
	ns_frags_clear(&t);
}

/* Setting the same queued state twice counts once; a moved lane keeps its queued count. */
static void test_queued_and_move(void **state)
{
	(void)state;
	struct ns_frags t;
	struct frag *a = frag_with(1, 0, 3, 1), *b = frag_with(1, 1, 3, 0), *c = frag_with(2, 0, 0, 1);
	ns_frags_init(&t);
	assert_int_equal(ns_frags_add(&t, a), 0);
	assert_int_equal(ns_frags_add(&t, b), 0);
	assert_int_equal(ns_frags_add(&t, c), 0);
	ns_frags_set_queued(&t, a, 1);
	ns_frags_set_queued(&t, b, 1);
	ns_frags_set_queued(&t, b, 1);
	assert_int_equal(ns_frags_lane_queued(&t, 3), 2);
	ns_frags_set_queued(&t, a, 0);
	ns_frags_set_queued(&t, a, 0);
	assert_int_equal(ns_frags_lane_queued(&t, 3), 1);
	assert_int_equal(ns_frags_move_lane(&t, 3, 0), 0);
	assert_int_equal(ns_frags_lane_unacked(&t, 3), 0);
	assert_int_equal(ns_frags_lane_unacked(&t, 0), 3);
	assert_int_equal(ns_frags_lane_queued(&t, 0), 2);
	assert_int_equal(a->lane, 0);
	assert_int_equal(b->lane, 0);
	check_table(&t);
	for (struct frag *f; (f = t.head);) {
		ns_frags_remove(&t, f);
		free(f);
	}
	assert_int_equal(t.n_lanes, 0);
	ns_frags_clear(&t);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_empty),
		cmocka_unit_test(test_many_add_find_remove),
		cmocka_unit_test(test_random_walk),
		cmocka_unit_test(test_queued_and_move),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
