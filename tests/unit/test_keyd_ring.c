/* keyd's build jobs leave in the order they came (keyd/keyd_ring.c and keyd/keyd_pool.c,
 * compiled into this test): the ring hands jobs completed out of order back in order, a full
 * ring refuses a job (the caller keeps it: nothing is lost) and takes it once the head left;
 * the pool's builder threads and the libev loop, fed jobs that take random times, hand every
 * job back once, in order, on the loop's thread, with at most the ring's capacity in flight. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <sched.h>

#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "../keyd/keyd_ring.c"

static void test_ring_in_order(void **state)
{
	(void)state;
	struct nc_ring r;
	int v[4] = { 0, 1, 2, 3 };
	long slot[4];
	void *job = NULL;
	assert_int_equal(nc_ring_init(&r, 4), 0);
	for (int i = 0; i < 4; i++)
		assert_true(nc_ring_push(&r, &v[i]) >= 0);
	for (int i = 0; i < 4; i++) {
		slot[i] = nc_ring_claim(&r, &job);
		assert_true(slot[i] >= 0);
		assert_ptr_equal(job, &v[i]); /* claimed in the order they came */
	}
	assert_int_equal(nc_ring_claim(&r, &job), -1);
	assert_false(nc_ring_has_queued(&r));
	nc_ring_complete(&r, slot[2]);
	nc_ring_complete(&r, slot[3]);
	assert_null(nc_ring_pop(&r)); /* 0 not done: nothing leaves */
	nc_ring_complete(&r, slot[1]);
	assert_null(nc_ring_pop(&r));
	nc_ring_complete(&r, slot[0]);
	for (int i = 0; i < 4; i++)
		assert_ptr_equal(nc_ring_pop(&r), &v[i]);
	assert_null(nc_ring_pop(&r));
	nc_ring_free(&r);
}

static void test_ring_full_refuses(void **state)
{
	(void)state;
	struct nc_ring r;
	int v[5];
	void *job = NULL;
	assert_int_equal(nc_ring_init(&r, 3), 0);
	for (int i = 0; i < 3; i++)
		assert_true(nc_ring_push(&r, &v[i]) >= 0);
	assert_int_equal(nc_ring_push(&r, &v[3]), -1); /* back-pressure: the caller keeps it */
	long a = nc_ring_claim(&r, &job), b = nc_ring_claim(&r, &job);
	nc_ring_complete(&r, b);
	assert_null(nc_ring_pop(&r));
	assert_int_equal(nc_ring_push(&r, &v[3]), -1); /* done behind the head frees nothing */
	nc_ring_complete(&r, a);
	assert_ptr_equal(nc_ring_pop(&r), &v[0]);
	assert_true(nc_ring_push(&r, &v[3]) >= 0); /* wraps into the freed slot */
	assert_ptr_equal(nc_ring_pop(&r), &v[1]);
	assert_true(nc_ring_push(&r, &v[4]) >= 0);
	assert_int_equal(nc_ring_push(&r, &v[0]), -1);
	int want[3] = { 2, 3, 4 };
	for (int i = 0; i < 3; i++) {
		long s = nc_ring_claim(&r, &job);
		assert_ptr_equal(job, &v[want[i]]);
		nc_ring_complete(&r, s);
	}
	for (int i = 0; i < 3; i++)
		assert_ptr_equal(nc_ring_pop(&r), &v[want[i]]);
	assert_null(nc_ring_pop(&r));
	assert_int_equal(r.count, 0);
	nc_ring_free(&r);
}

static void test_ring_bad_slot(void **state)
{
	(void)state;
	struct nc_ring r;
	int v;
	assert_int_equal(nc_ring_init(&r, 2), 0);
	assert_true(nc_ring_push(&r, &v) >= 0);
	nc_ring_complete(&r, -1);
	nc_ring_complete(&r, 7);
	nc_ring_complete(&r, 0); /* queued, not claimed: not done */
	assert_null(nc_ring_pop(&r));
	nc_ring_free(&r);
}

/* ---- the pool, with jobs of its own: nc_keyd_job_run and nc_keyd_job_done are defined here */

#include "../keyd/keyd_pool.c"

#define JOBS 2000

struct nc_keyd_job {
	unsigned seq;
	unsigned spin;
	pthread_t ran_on;
};

static struct {
	struct ev_loop *loop;
	struct nc_keyd_pool *pool;
	struct nc_keyd_runner runner;
	unsigned next_submit, next_done, in_flight, max_in_flight, out_of_order, on_other_thread;
	pthread_t main_thread;
	struct nc_keyd_job jobs[JOBS];
} g;

void nc_keyd_job_run(struct nc_keyd_job *j)
{
	volatile unsigned x = 0;
	for (unsigned i = 0; i < j->spin; i++)
		x += i;
	j->ran_on = pthread_self();
}

static void submit_more(void)
{
	while (g.next_submit < JOBS && g.in_flight < g.runner.capacity) {
		struct nc_keyd_job *j = &g.jobs[g.next_submit];
		j->seq = g.next_submit++;
		j->spin = (unsigned)(rand() % 20000);
		g.in_flight++;
		if (g.in_flight > g.max_in_flight)
			g.max_in_flight = g.in_flight;
		g.runner.submit(g.runner.ctx, j);
	}
}

void nc_keyd_job_done(struct nc_keyd *k, struct nc_keyd_job *j)
{
	(void)k;
	assert_true(pthread_equal(pthread_self(), g.main_thread));
	if (j->seq != g.next_done)
		g.out_of_order++;
	g.next_done++;
	g.in_flight--;
	if (!pthread_equal(j->ran_on, g.main_thread))
		g.on_other_thread++;
	submit_more();
	if (g.next_done == JOBS)
		ev_break(g.loop, EVBREAK_ALL);
}

static void test_pool_in_order(void **state)
{
	(void)state;
	char err[128] = "";
	srand(12);
	memset(&g, 0, sizeof g);
	g.main_thread = pthread_self();
	g.loop = ev_loop_new(EVFLAG_AUTO);
	assert_non_null(g.loop);
	g.pool = nc_keyd_pool_start(g.loop, NULL, 3, err, sizeof err);
	assert_non_null(g.pool);
	g.runner = nc_keyd_pool_runner(g.pool);
	assert_int_equal(g.runner.capacity, NC_KEYD_POOL_RING);
	submit_more();
	ev_run(g.loop, 0);
	assert_int_equal(g.next_done, JOBS);
	assert_int_equal(g.out_of_order, 0);
	assert_int_equal(g.in_flight, 0);
	assert_true(g.max_in_flight <= NC_KEYD_POOL_RING);
	assert_true(g.on_other_thread > 0); /* the builder threads took part */
	nc_keyd_pool_free(g.pool);
	ev_loop_destroy(g.loop);
}

static void test_pool_threads(void **state)
{
	(void)state;
	assert_int_equal(nc_keyd_pool_threads(1), 0);
	assert_int_equal(nc_keyd_pool_threads(2), 1);
	assert_int_equal(nc_keyd_pool_threads(64), 63);
	assert_int_equal(nc_keyd_pool_threads(1000), 63);
	cpu_set_t set; /* 0: one per CPU this process may run on (taskset, cpusets), as nproc(1) */
	assert_int_equal(sched_getaffinity(0, sizeof set, &set), 0);
	long usable = CPU_COUNT(&set);
	assert_int_equal(nc_keyd_pool_threads(0), (unsigned)(usable > 64 ? 63 : usable - 1));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_ring_in_order),
		cmocka_unit_test(test_ring_full_refuses),
		cmocka_unit_test(test_ring_bad_slot),
		cmocka_unit_test(test_pool_in_order),
		cmocka_unit_test(test_pool_threads),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
