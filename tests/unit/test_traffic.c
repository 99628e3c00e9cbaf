/* Traffic engine (common/traffic.h) with a fake clock and a seeded RNG; one short
 * test of the libev binding with real timers. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <math.h>
#include <string.h>

#include "crypto.h"
#include "traffic.h"
#include "traffic_ev.h"

#define MS 1000000ull
#define SEC 1000000000ull
#define MAX_LOG 4096

struct fake {
	uint64_t now;
	uint64_t rng;
	struct ns_traffic *t;
	/* send_real log */
	size_t nreal;
	struct ns_lane real_lane[MAX_LOG];
	void *real_pkt[MAX_LOG];
	int real_busy;
	/* send_cover */
	size_t cover_main, cover_loop, cover_secondary;
	uint64_t last_main_hop, last_loop_hop;
	int cover_busy;
	/* retransmit */
	size_t nretx;
	uint8_t retx_id[8][NS_TRAFFIC_FRAG_ID_LEN];
	uint32_t retx_count[8];
	int retx_auto;          /* answer with retransmit_ready at once */
	uint64_t retx_delay;
	int retx_rc;
	size_t nabandoned, ndropped;
	enum ns_drop_reason last_drop;
	size_t sched_changes;
};

static uint64_t fake_now(void *ctx)
{
	return ((struct fake *)ctx)->now;
}

/* splitmix64 */
static uint64_t fake_rand(void *ctx)
{
	struct fake *f = ctx;
	uint64_t z = (f->rng += 0x9e3779b97f4a7c15ull);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return z ^ (z >> 31);
}

static int fake_send_real(void *ctx, const struct ns_lane *lane, void *packet)
{
	struct fake *f = ctx;

	if (f->real_busy)
		return NS_TRAFFIC_BUSY;
	if (f->nreal < MAX_LOG) {
		f->real_lane[f->nreal] = *lane;
		f->real_pkt[f->nreal] = packet;
	}
	f->nreal++;
	return 0;
}

static int fake_send_cover(void *ctx, enum ns_cover_kind kind, uint64_t hop, int secondary)
{
	struct fake *f = ctx;

	if (f->cover_busy)
		return NS_TRAFFIC_BUSY;
	if (kind == NS_COVER_LOOP_STREAM) {
		f->cover_loop++;
		f->last_loop_hop = hop;
	} else {
		f->cover_main++;
		f->last_main_hop = hop;
	}
	f->cover_secondary += secondary != 0;
	return 0;
}

static void fake_retransmit(void *ctx, const uint8_t id[NS_TRAFFIC_FRAG_ID_LEN], uint32_t n)
{
	struct fake *f = ctx;

	if (f->nretx < 8) {
		memcpy(f->retx_id[f->nretx], id, NS_TRAFFIC_FRAG_ID_LEN);
		f->retx_count[f->nretx] = n;
	}
	f->nretx++;
	if (f->retx_auto)
		f->retx_rc = ns_traffic_retransmit_ready(f->t, id, (void *)(uintptr_t)(1000 + f->nretx),
		                                         f->retx_delay);
}

static void fake_abandoned(void *ctx, const uint8_t id[NS_TRAFFIC_FRAG_ID_LEN])
{
	(void)id;
	((struct fake *)ctx)->nabandoned++;
}

static void fake_dropped(void *ctx, const struct ns_lane *lane, void *packet,
                         enum ns_drop_reason why)
{
	struct fake *f = ctx;

	(void)lane;
	(void)packet;
	f->ndropped++;
	f->last_drop = why;
}

static void fake_sched(void *ctx)
{
	((struct fake *)ctx)->sched_changes++;
}

static struct ns_traffic *make(struct fake *f, const struct ns_traffic_config *cfg)
{
	struct ns_traffic_hooks h = {
		.ctx = f, .now_ns = fake_now, .random_u64 = fake_rand, .send_real = fake_send_real,
		.send_cover = fake_send_cover, .retransmit = fake_retransmit,
		.abandoned = fake_abandoned, .dropped = fake_dropped, .schedule_changed = fake_sched,
	};

	f->now = 1000 * SEC;
	if (!f->rng)
		f->rng = 42;
	f->t = ns_traffic_new(cfg, &h);
	assert_non_null(f->t);
	return f->t;
}

/* Moves the fake clock to the next deadline and runs; returns that deadline. */
static uint64_t step(struct fake *f)
{
	uint64_t next = ns_traffic_next_deadline(f->t);

	assert_int_not_equal(next, UINT64_MAX);
	if (next > f->now)
		f->now = next;
	ns_traffic_run(f->t);
	return next;
}

static struct ns_traffic_item item(uintptr_t pkt, uint32_t frag, uint64_t delay)
{
	struct ns_traffic_item it = { .packet = (void *)pkt, .has_frag_id = frag != 0,
	                              .total_delay_ns = delay,
	                              .max_retransmissions = NS_TRAFFIC_UNLIMITED };

	it.frag_id[0] = (uint8_t)(frag >> 24);
	it.frag_id[1] = (uint8_t)(frag >> 16);
	it.frag_id[2] = (uint8_t)(frag >> 8);
	it.frag_id[3] = (uint8_t)frag;
	it.frag_id[4] = 1;
	return it;
}

static const struct ns_lane GENERAL = { NS_LANE_GENERAL, 0 };

static struct ns_lane conn(uint64_t id)
{
	struct ns_lane l = { NS_LANE_CONNECTION, id };

	return l;
}

static void test_defaults_and_presets(void **state)
{
	struct ns_traffic_config c;

	(void)state;
	ns_traffic_config_default(&c);
	assert_int_equal(c.average_packet_delay_ns, 15 * MS);
	assert_int_equal(c.message_sending_average_delay_ns, 20 * MS);
	assert_int_equal(c.loop_cover_traffic_average_delay_ns, 200 * MS);
	assert_int_equal(c.average_ack_delay_ns, 15 * MS);
	assert_int_equal(c.ack_wait_addition_ns, 1500 * MS);
	assert_true(c.ack_wait_multiplier == 1.5);
	assert_true(c.cover_traffic_primary_size_ratio == 0.70);
	assert_int_equal(c.maximum_number_of_retransmissions, NS_TRAFFIC_UNLIMITED);
	assert_false(c.disable_main_poisson_packet_distribution);
	assert_false(c.disable_loop_cover_traffic_stream);
	assert_int_equal(c.lane_stale_after_ns, 600 * SEC);
	ns_traffic_set_high_default_traffic_volume(&c);
	assert_int_equal(c.average_packet_delay_ns, 10 * MS);
	assert_int_equal(c.message_sending_average_delay_ns, 4 * MS);
	assert_int_equal(c.loop_cover_traffic_average_delay_ns, 2000000 * MS);
	ns_traffic_set_no_cover_traffic(&c);
	assert_true(c.disable_main_poisson_packet_distribution);
	assert_true(c.disable_loop_cover_traffic_stream);
}

static double mean_of(const double *v, size_t n)
{
	double s = 0;

	for (size_t i = 0; i < n; i++)
		s += v[i];
	return s / (double)n;
}

static double stdev_of(const double *v, size_t n, double m)
{
	double s = 0;

	for (size_t i = 0; i < n; i++)
		s += (v[i] - m) * (v[i] - m);
	return sqrt(s / (double)n);
}

#define NSAMPLES 20000
static double samples[NSAMPLES];

static void test_exp_sampler(void **state)
{
	struct fake f = { 0 };
	struct ns_traffic_config c;
	double m;

	(void)state;
	ns_traffic_config_default(&c);
	make(&f, &c);
	for (size_t i = 0; i < NSAMPLES; i++)
		samples[i] = (double)ns_traffic_sample_exp_ns(f.t, 20 * MS);
	m = mean_of(samples, NSAMPLES);
	assert_true(fabs(m - 20e6) < 0.05 * 20e6);
	/* exponential: standard deviation = mean */
	assert_true(fabs(stdev_of(samples, NSAMPLES, m) - m) < 0.1 * m);
	assert_int_equal(ns_traffic_sample_exp_ns(f.t, 0), 0);
	ns_traffic_free(f.t);
}

/* The main stream's slot gaps (deadline differences) when idle: Exp(20 ms), every slot a
 * main-stream cover packet with the 15 ms per-hop mean. */
static void test_main_stream_poisson_cover(void **state)
{
	struct fake f = { 0 };
	struct ns_traffic_config c;
	uint64_t prev;
	double m;

	(void)state;
	ns_traffic_config_default(&c);
	c.disable_loop_cover_traffic_stream = 1;
	make(&f, &c);
	prev = f.now;
	ns_traffic_start(f.t);
	for (size_t i = 0; i < NSAMPLES; i++) {
		uint64_t d = step(&f);

		samples[i] = (double)(d - prev);
		prev = d;
	}
	m = mean_of(samples, NSAMPLES);
	assert_true(fabs(m - 20e6) < 0.05 * 20e6);
	assert_true(fabs(stdev_of(samples, NSAMPLES, m) - m) < 0.1 * m);
	assert_int_equal(f.cover_main, NSAMPLES);
	assert_int_equal(f.cover_loop, 0);
	assert_int_equal(f.nreal, 0);
	assert_int_equal(f.last_main_hop, 15 * MS);
	ns_traffic_free(f.t);
}

/* Loop stream alone: Exp(200 ms) gaps, per-hop mean 200 ms (Nym quirk). */
static void test_loop_stream(void **state)
{
	struct fake f = { 0 };
	struct ns_traffic_config c;
	struct ns_traffic_stats st;
	uint64_t prev;

	(void)state;
	ns_traffic_config_default(&c);
	ns_traffic_set_no_poisson_process(&c);
	make(&f, &c);
	prev = f.now;
	ns_traffic_start(f.t);
	for (size_t i = 0; i < NSAMPLES; i++) {
		uint64_t d = step(&f);

		samples[i] = (double)(d - prev);
		prev = d;
	}
	assert_true(fabs(mean_of(samples, NSAMPLES) - 200e6) < 0.05 * 200e6);
	assert_int_equal(f.cover_loop, NSAMPLES);
	assert_int_equal(f.cover_main, 0);
	assert_int_equal(f.last_loop_hop, 200 * MS);
	ns_traffic_get_stats(f.t, &st);
	assert_int_equal(st.cover_sent_loop, NSAMPLES);
	ns_traffic_free(f.t);
}

static void test_secondary_size_ratio(void **state)
{
	struct fake f = { 0 };
	struct ns_traffic_config c;
	double frac;

	(void)state;
	ns_traffic_config_default(&c);
	c.disable_main_poisson_packet_distribution = 1;
	c.has_secondary_packet_size = 1;
	make(&f, &c);
	ns_traffic_start(f.t);
	for (size_t i = 0; i < NSAMPLES; i++)
		step(&f);
	frac = (double)f.cover_secondary / NSAMPLES;
	assert_true(fabs(frac - 0.30) < 0.02);
	ns_traffic_free(f.t);
}

/* With N real packets queued, the next N main-stream slots are real, then cover. */
static void test_real_replaces_cover(void **state)
{
	struct fake f = { 0 };
	struct ns_traffic_config c;
	struct ns_traffic_item it[10];

	(void)state;
	ns_traffic_config_default(&c);
	c.disable_loop_cover_traffic_stream = 1;
	make(&f, &c);
	ns_traffic_start(f.t);
	for (int i = 0; i < 5; i++)
		step(&f);
	assert_int_equal(f.cover_main, 5);
	for (uintptr_t i = 0; i < 10; i++)
		it[i] = item(100 + i, 0, 0);
	assert_int_equal(ns_traffic_enqueue(f.t, &GENERAL, it, 10), 0);
	assert_int_equal(ns_traffic_lane_depth(f.t, &GENERAL), 10);
	for (size_t i = 0; i < 10; i++) {
		step(&f);
		assert_int_equal(f.nreal, i + 1);
		assert_ptr_equal(f.real_pkt[i], (void *)(uintptr_t)(100 + i)); /* FIFO in a lane */
		assert_int_equal(f.cover_main, 5);
	}
	assert_int_equal(ns_traffic_lane_depth(f.t, &GENERAL), 0);
	step(&f);
	assert_int_equal(f.cover_main, 6);
	assert_int_equal(f.nreal, 10);
	ns_traffic_free(f.t);
}

static void test_no_cover_mode(void **state)
{
	struct fake f = { 0 };
	struct ns_traffic_config c;
	struct ns_traffic_item it[3] = { item(1, 0, 0), item(2, 0, 0), item(3, 0, 0) };

	(void)state;
	ns_traffic_config_default(&c);
	ns_traffic_set_no_cover_traffic(&c);
	make(&f, &c);
	ns_traffic_start(f.t);
	assert_int_equal(ns_traffic_next_deadline(f.t), UINT64_MAX);
	f.now += 3600 * SEC;
	assert_int_equal(ns_traffic_run(f.t), 0);
	assert_int_equal(f.cover_main + f.cover_loop + f.nreal, 0);
	/* real packets go out at once */
	assert_int_equal(ns_traffic_enqueue(f.t, &GENERAL, it, 3), 0);
	assert_int_equal(ns_traffic_next_deadline(f.t), 0);
	assert_int_equal(ns_traffic_run(f.t), 3);
	assert_int_equal(f.nreal, 3);
	assert_int_equal(f.cover_main + f.cover_loop, 0);
	assert_int_equal(ns_traffic_next_deadline(f.t), UINT64_MAX);
	ns_traffic_free(f.t);
}

static struct ns_traffic *no_cover_engine(struct fake *f)
{
	struct ns_traffic_config c;

	ns_traffic_config_default(&c);
	ns_traffic_set_no_cover_traffic(&c);
	make(f, &c);
	ns_traffic_start(f->t);
	return f->t;
}

/* timeout = 1.5 x delay + 1.5 s, from the moment the packet is sent. */
static void test_ack_timeout_one_retransmission(void **state)
{
	struct fake f = { 0 };
	struct ns_traffic_item it = item(7, 0x01020304, 100 * MS);
	uint64_t sent_at;

	(void)state;
	no_cover_engine(&f);
	assert_int_equal(ns_traffic_enqueue(f.t, &GENERAL, &it, 1), 0);
	assert_int_equal(ns_traffic_next_deadline(f.t), 0); /* no timer before the send */
	f.now += 5 * SEC;
	sent_at = f.now;
	ns_traffic_run(f.t);
	assert_int_equal(f.nreal, 1);
	assert_int_equal(ns_traffic_next_deadline(f.t), sent_at + 150 * MS + 1500 * MS);
	assert_int_equal(ns_traffic_ack_timeout_ns(f.t, 100 * MS), 1650 * MS);
	f.now = sent_at + 1650 * MS - 1;
	ns_traffic_run(f.t);
	assert_int_equal(f.nretx, 0);
	f.now++;
	ns_traffic_run(f.t);
	assert_int_equal(f.nretx, 1);
	assert_memory_equal(f.retx_id[0], it.frag_id, NS_TRAFFIC_FRAG_ID_LEN);
	assert_int_equal(f.retx_count[0], 0);
	f.now += 60 * SEC;
	ns_traffic_run(f.t);
	assert_int_equal(f.nretx, 1);
	assert_int_equal(ns_traffic_next_deadline(f.t), UINT64_MAX);
	ns_traffic_free(f.t);
}

static void test_ack_before_timeout(void **state)
{
	struct fake f = { 0 };
	struct ns_traffic_item it = item(7, 0x0a0b0c0d, 10 * MS);
	struct ns_traffic_stats st;
	uint8_t cover[NS_TRAFFIC_FRAG_ID_LEN] = { 0 };

	(void)state;
	no_cover_engine(&f);
	assert_int_equal(ns_traffic_enqueue(f.t, &GENERAL, &it, 1), 0);
	ns_traffic_run(f.t);
	f.now += 1000 * MS;
	assert_int_equal(ns_traffic_ack(f.t, it.frag_id), 1);
	assert_int_equal(ns_traffic_ack(f.t, it.frag_id), 0); /* duplicate ack */
	assert_int_equal(ns_traffic_ack(f.t, cover), 0);
	f.now += 3600 * SEC;
	ns_traffic_run(f.t);
	assert_int_equal(f.nretx, 0);
	ns_traffic_get_stats(f.t, &st);
	assert_int_equal(st.acks_received, 1);
	assert_int_equal(st.acks_unknown, 1);
	assert_int_equal(st.acks_cover, 1);
	assert_int_equal(st.pending_acks, 0);
	assert_int_equal(st.timers_running, 0);
	ns_traffic_free(f.t);
}

/* Timeout -> rebuilt packet on the Retransmission lane, sent, new timer from its new
 * delay; the original's late ack then completes the fragment. */
static void test_late_ack_after_retransmission(void **state)
{
	struct fake f = { 0 };
	struct ns_traffic_item it = item(7, 0x11223344, 100 * MS);
	struct ns_traffic_stats st;
	uint64_t t1;

	(void)state;
	no_cover_engine(&f);
	f.retx_auto = 1;
	f.retx_delay = 200 * MS;
	assert_int_equal(ns_traffic_enqueue(f.t, &GENERAL, &it, 1), 0);
	ns_traffic_run(f.t);
	f.now += 1650 * MS;
	t1 = f.now;
	ns_traffic_run(f.t); /* timeout, rebuilt, queued, sent in the same run */
	assert_int_equal(f.nretx, 1);
	assert_int_equal(f.retx_rc, 0);
	assert_int_equal(f.nreal, 2);
	assert_int_equal(f.real_lane[1].kind, NS_LANE_RETRANSMISSION);
	assert_ptr_equal(f.real_pkt[1], (void *)(uintptr_t)1001);
	assert_int_equal(ns_traffic_next_deadline(f.t), t1 + 300 * MS + 1500 * MS);
	f.now += 500 * MS;
	assert_int_equal(ns_traffic_ack(f.t, it.frag_id), 1);
	f.now += 3600 * SEC;
	ns_traffic_run(f.t);
	assert_int_equal(f.nretx, 1);
	ns_traffic_get_stats(f.t, &st);
	assert_int_equal(st.retransmit_requests, 1);
	assert_int_equal(st.retransmits_queued, 1);
	assert_int_equal(st.pending_acks, 0);
	ns_traffic_free(f.t);
}

/* The ack arrives after the request but before the rebuilt packet is handed over. */
static void test_ack_between_request_and_rebuild(void **state)
{
	struct fake f = { 0 };
	struct ns_traffic_item it = item(7, 0x55667788, 0);

	(void)state;
	no_cover_engine(&f);
	assert_int_equal(ns_traffic_enqueue(f.t, &GENERAL, &it, 1), 0);
	ns_traffic_run(f.t);
	f.now += 1500 * MS;
	ns_traffic_run(f.t);
	assert_int_equal(f.nretx, 1);
	assert_int_equal(ns_traffic_ack(f.t, it.frag_id), 1);
	assert_int_equal(ns_traffic_retransmit_ready(f.t, it.frag_id, (void *)9, 0),
	                 NS_TRAFFIC_E_UNKNOWN);
	assert_int_equal(ns_traffic_lane_depth(f.t, &(struct ns_lane){ NS_LANE_RETRANSMISSION, 0 }), 0);
	assert_int_equal(ns_traffic_retransmit_failed(f.t, it.frag_id), NS_TRAFFIC_E_UNKNOWN);
	ns_traffic_free(f.t);
}

static void test_retransmission_limits(void **state)
{
	struct fake f = { 0 };
	struct ns_traffic_item it = item(7, 0x01010101, 0);

	(void)state;
	no_cover_engine(&f);
	f.retx_auto = 1;
	it.max_retransmissions = 2; /* e.g. a websocket reply: 10 */
	assert_int_equal(ns_traffic_enqueue(f.t, &GENERAL, &it, 1), 0);
	ns_traffic_run(f.t);
	for (int i = 0; i < 3; i++) {
		f.now += 1500 * MS;
		ns_traffic_run(f.t);
	}
	assert_int_equal(f.nretx, 2);
	assert_int_equal(f.retx_count[0], 0);
	assert_int_equal(f.retx_count[1], 1);
	assert_int_equal(f.nabandoned, 1);
	assert_int_equal(f.nreal, 3);
	assert_int_equal(ns_traffic_ack(f.t, it.frag_id), 0);
	ns_traffic_free(f.t);

	/* global maximum_number_of_retransmissions = 0: abandoned at the first timeout */
	{
		struct fake g = { 0 };
		struct ns_traffic_config c;

		ns_traffic_config_default(&c);
		ns_traffic_set_no_cover_traffic(&c);
		c.maximum_number_of_retransmissions = 0;
		make(&g, &c);
		ns_traffic_start(g.t);
		it.max_retransmissions = NS_TRAFFIC_UNLIMITED;
		assert_int_equal(ns_traffic_enqueue(g.t, &GENERAL, &it, 1), 0);
		ns_traffic_run(g.t);
		g.now += 1500 * MS;
		ns_traffic_run(g.t);
		assert_int_equal(g.nretx, 0);
		assert_int_equal(g.nabandoned, 1);
		ns_traffic_free(g.t);
	}
}

static void test_retransmit_failed_restarts_timer(void **state)
{
	struct fake f = { 0 };
	struct ns_traffic_item it = item(7, 0x02020202, 100 * MS);

	(void)state;
	no_cover_engine(&f);
	assert_int_equal(ns_traffic_enqueue(f.t, &GENERAL, &it, 1), 0);
	ns_traffic_run(f.t);
	f.now += 1650 * MS;
	ns_traffic_run(f.t);
	assert_int_equal(f.nretx, 1);
	f.now += 10 * MS;
	assert_int_equal(ns_traffic_retransmit_failed(f.t, it.frag_id), 0);
	assert_int_equal(ns_traffic_next_deadline(f.t), f.now + 1650 * MS);
	f.now += 1650 * MS;
	ns_traffic_run(f.t);
	assert_int_equal(f.nretx, 2);
	assert_int_equal(f.retx_count[1], 0);
	ns_traffic_free(f.t);
}

/* A fragment whose rebuild never comes (the owner gave it up) stays pending, with no timer,
 * for ever; ns_traffic_forget releases it, and a forgotten fragment still queued goes out
 * without a timer. */
static void test_forget(void **state)
{
	struct fake f = { 0 };
	struct ns_traffic_item it[2] = { item(7, 0x03030303, 0), item(8, 0x04040404, 0) };
	struct ns_traffic_stats st;

	(void)state;
	no_cover_engine(&f);
	assert_int_equal(ns_traffic_enqueue(f.t, &GENERAL, it, 1), 0);
	ns_traffic_run(f.t);
	f.now += 1500 * MS;
	ns_traffic_run(f.t);
	assert_int_equal(f.nretx, 1);
	f.now += 3600 * SEC;
	ns_traffic_run(f.t);
	ns_traffic_get_stats(f.t, &st);
	assert_int_equal(st.pending_acks, 1); /* held while the rebuild is awaited */
	assert_int_equal(st.timers_running, 0);
	assert_int_equal(ns_traffic_forget(f.t, it[0].frag_id), 1);
	assert_int_equal(ns_traffic_forget(f.t, it[0].frag_id), 0);
	assert_int_equal(ns_traffic_retransmit_ready(f.t, it[0].frag_id, (void *)9, 0),
	                 NS_TRAFFIC_E_UNKNOWN);
	ns_traffic_get_stats(f.t, &st);
	assert_int_equal(st.pending_acks, 0);
	assert_int_equal(st.forgotten, 1);

	/* forgotten while its timer runs, and while still queued */
	assert_int_equal(ns_traffic_enqueue(f.t, &GENERAL, &it[1], 1), 0);
	assert_int_equal(ns_traffic_forget(f.t, it[1].frag_id), 1);
	ns_traffic_run(f.t);
	assert_int_equal(f.nreal, 2);
	ns_traffic_get_stats(f.t, &st);
	assert_int_equal(st.pending_acks, 0);
	assert_int_equal(st.timers_running, 0);
	assert_int_equal(ns_traffic_enqueue(f.t, &GENERAL, &it[1], 1), 0);
	ns_traffic_run(f.t);
	ns_traffic_get_stats(f.t, &st);
	assert_int_equal(st.timers_running, 1);
	assert_int_equal(ns_traffic_forget(f.t, it[1].frag_id), 1);
	f.now += 3600 * SEC;
	ns_traffic_run(f.t);
	assert_int_equal(f.nretx, 1);
	assert_int_equal(ns_traffic_next_deadline(f.t), UINT64_MAX);
	ns_traffic_free(f.t);
}

static struct ns_traffic *paced_engine(struct fake *f, struct ns_traffic_config *c)
{
	ns_traffic_config_default(c);
	c->disable_loop_cover_traffic_stream = 1;
	make(f, c);
	ns_traffic_start(f->t);
	return f->t;
}

static void fill(struct ns_traffic *t, const struct ns_lane *l, size_t n, uintptr_t base)
{
	struct ns_traffic_item it[64];

	while (n) {
		size_t k = n < 64 ? n : 64;

		for (size_t i = 0; i < k; i++)
			it[i] = item(base++, 0, 0);
		assert_int_equal(ns_traffic_enqueue(t, l, it, k), 0);
		n -= k;
	}
}

static size_t sent_on(const struct fake *f, uint64_t conn_id, size_t from, size_t to)
{
	size_t n = 0;

	for (size_t i = from; i < to; i++)
		n += f->real_lane[i].kind == NS_LANE_CONNECTION && f->real_lane[i].conn_id == conn_id;
	return n;
}

/* Small lanes (< 100 queued) are picked uniformly and before any big lane. */
static void test_lanes_small_first(void **state)
{
	struct fake f = { 0 };
	struct ns_traffic_config c;
	struct ns_lane a = conn(1), b = conn(2), big = conn(3);
	struct ns_lane_depth d[4];

	(void)state;
	paced_engine(&f, &c);
	fill(f.t, &big, 500, 1);
	fill(f.t, &a, 5, 1000);
	fill(f.t, &b, 5, 2000);
	assert_int_equal(ns_traffic_lane_depths(f.t, d, 4), 3);
	for (int i = 0; i < 10; i++)
		step(&f);
	assert_int_equal(sent_on(&f, 1, 0, 10), 5);
	assert_int_equal(sent_on(&f, 2, 0, 10), 5);
	assert_int_equal(sent_on(&f, 3, 0, 10), 0);
	assert_int_equal(ns_traffic_lane_depth(f.t, &a), 0);
	assert_int_equal(ns_traffic_lane_depth(f.t, &big), 500);
	/* the big lane drops below 100: it is then "small" and served */
	for (int i = 0; i < 500; i++)
		step(&f);
	assert_int_equal(sent_on(&f, 3, 10, 510), 500);
	ns_traffic_free(f.t);
}

static void test_lanes_uniform_when_small(void **state)
{
	struct fake f = { 0 };
	struct ns_traffic_config c;
	struct ns_lane l[3] = { conn(1), conn(2), conn(3) };

	(void)state;
	paced_engine(&f, &c);
	for (int i = 0; i < 3; i++)
		fill(f.t, &l[i], 90, 1);
	for (int i = 0; i < 90; i++)
		step(&f);
	for (uint64_t id = 1; id <= 3; id++) {
		size_t n = sent_on(&f, id, 0, 90);

		assert_true(n >= 15 && n <= 45);
	}
	ns_traffic_free(f.t);
}

/* All lanes big: 2/3 of the picks go to the 4 lanes that transmitted most, 1/3 to a
 * uniformly random lane, so the 4 leaders take ~8/9 and every lane still moves. */
static void test_lanes_big_oldest_set(void **state)
{
	struct fake f = { 0 };
	struct ns_traffic_config c;
	size_t per[6], top4 = 0;

	(void)state;
	paced_engine(&f, &c);
	for (uint64_t id = 1; id <= 6; id++) {
		struct ns_lane l = conn(id);

		fill(f.t, &l, 2000, 1);
	}
	for (int i = 0; i < 3000; i++)
		step(&f);
	assert_int_equal(f.nreal, 3000);
	for (uint64_t id = 1; id <= 6; id++)
		per[id - 1] = sent_on(&f, id, 0, 3000);
	/* sort descending */
	for (int i = 0; i < 6; i++)
		for (int j = i + 1; j < 6; j++)
			if (per[j] > per[i]) {
				size_t x = per[i];

				per[i] = per[j];
				per[j] = x;
			}
	for (int i = 0; i < 4; i++)
		top4 += per[i];
	assert_true(top4 > 2500 && top4 < 2800); /* expected 3000 x 8/9 = 2667 */
	assert_true(per[4] > 80 && per[5] > 80); /* expected ~167 each */
	ns_traffic_free(f.t);
}

static void test_queue_limits(void **state)
{
	struct fake f = { 0 };
	struct ns_traffic_config c;
	struct ns_traffic_item it[3] = { item(1, 0, 0), item(2, 0, 0), item(3, 0, 0) };
	struct ns_traffic_item fr[3] = { item(1, 11, 0), item(2, 12, 0), item(3, 13, 0) };
	struct ns_lane a = conn(1), b = conn(2), bad = { NS_LANE_GENERAL, 5 };
	struct ns_lane worse = { (enum ns_lane_kind)9, 0 };
	struct ns_traffic_item cov = item(4, 0, 0);
	struct ns_traffic_stats st;

	(void)state;
	ns_traffic_config_default(&c);
	c.max_queued_packets = 4;
	c.max_lanes = 2;
	c.max_pending_acks = 2;
	make(&f, &c);
	assert_int_equal(ns_traffic_enqueue(f.t, &a, it, 3), 0);
	assert_int_equal(ns_traffic_enqueue(f.t, &b, it, 2), NS_TRAFFIC_E_QUEUE_FULL);
	assert_int_equal(ns_traffic_lane_depth(f.t, &b), 0); /* all or nothing */
	assert_int_equal(ns_traffic_enqueue(f.t, &b, it, 1), 0);
	assert_int_equal(ns_traffic_enqueue(f.t, &b, it, 1), NS_TRAFFIC_E_QUEUE_FULL);
	assert_int_equal(ns_traffic_close_lane(f.t, &a), 3);
	assert_int_equal(f.ndropped, 3);
	assert_int_equal(f.last_drop, NS_DROP_LANE_CLOSED);
	assert_int_equal(ns_traffic_enqueue(f.t, &GENERAL, it, 1), 0);
	assert_int_equal(ns_traffic_enqueue(f.t, &a, it, 1), NS_TRAFFIC_E_LANES_FULL);
	assert_int_equal(ns_traffic_enqueue(f.t, &GENERAL, fr, 3), NS_TRAFFIC_E_QUEUE_FULL);
	assert_int_equal(ns_traffic_enqueue(f.t, &GENERAL, fr, 2), 0);
	ns_traffic_close_lane(f.t, &b);
	assert_int_equal(ns_traffic_enqueue(f.t, &GENERAL, &fr[2], 1), NS_TRAFFIC_E_PENDING_FULL);
	/* table full: capacity is refused before duplicates are looked for */
	assert_int_equal(ns_traffic_enqueue(f.t, &GENERAL, &fr[0], 1), NS_TRAFFIC_E_PENDING_FULL);
	/* closing the lane forgets the unsent fragments' pending acks */
	assert_int_equal(ns_traffic_close_lane(f.t, &GENERAL), 3);
	ns_traffic_get_stats(f.t, &st);
	assert_int_equal(st.pending_acks, 0);
	assert_int_equal(st.queued, 0);
	assert_int_equal(st.lanes, 0);
	assert_int_equal(st.dropped, 7);
	assert_int_equal(ns_traffic_enqueue(f.t, &GENERAL, fr, 2), 0);
	memset(cov.frag_id, 0, sizeof(cov.frag_id));
	cov.has_frag_id = 1;
	assert_int_equal(ns_traffic_enqueue(f.t, &a, &cov, 1), NS_TRAFFIC_E_INVAL);
	assert_int_equal(ns_traffic_enqueue(f.t, &bad, it, 1), NS_TRAFFIC_E_INVAL);
	assert_int_equal(ns_traffic_enqueue(f.t, &worse, it, 1), NS_TRAFFIC_E_INVAL);
	assert_int_equal(ns_traffic_enqueue(f.t, &a, NULL, 1), NS_TRAFFIC_E_INVAL);
	assert_int_equal(ns_traffic_enqueue(f.t, &a, it, 0), 0);
	ns_traffic_free(f.t);
	assert_int_equal(f.ndropped, 9); /* shutdown hands back the last two */
	assert_int_equal(f.last_drop, NS_DROP_SHUTDOWN);
}

/* A duplicate anywhere in a batch refuses the whole batch and leaves nothing pending. */
static void test_duplicate_in_batch(void **state)
{
	struct fake f = { 0 };
	struct ns_traffic_config c;
	struct ns_traffic_item a[3] = { item(1, 21, 0), item(2, 22, 0), item(3, 21, 0) };
	struct ns_traffic_item b[2] = { item(4, 23, 0), item(5, 22, 0) };
	struct ns_lane l = conn(9);
	struct ns_traffic_stats st;

	(void)state;
	ns_traffic_config_default(&c);
	make(&f, &c);
	assert_int_equal(ns_traffic_enqueue(f.t, &l, a, 3), NS_TRAFFIC_E_DUPLICATE);
	ns_traffic_get_stats(f.t, &st);
	assert_int_equal(st.pending_acks, 0);
	assert_int_equal(st.lanes, 0);
	assert_int_equal(st.queued, 0);
	assert_int_equal(ns_traffic_enqueue(f.t, &l, a, 2), 0);
	assert_int_equal(ns_traffic_enqueue(f.t, &l, b, 2), NS_TRAFFIC_E_DUPLICATE);
	ns_traffic_get_stats(f.t, &st);
	assert_int_equal(st.pending_acks, 2);
	assert_int_equal(ns_traffic_lane_depth(f.t, &l), 2);
	assert_int_equal(ns_traffic_enqueue(f.t, &l, b, 1), 0); /* 23 was rolled back */
	ns_traffic_free(f.t);
	assert_int_equal(f.ndropped, 3);
}

static void test_bad_config(void **state)
{
	struct ns_traffic_config c;
	struct fake f = { 0 };
	struct ns_traffic_hooks h = { .ctx = &f, .now_ns = fake_now, .send_real = fake_send_real,
	                              .send_cover = fake_send_cover, .retransmit = fake_retransmit };

	(void)state;
	ns_traffic_config_default(&c);
	c.message_sending_average_delay_ns = 0;
	assert_null(ns_traffic_new(&c, &h));
	ns_traffic_config_default(&c);
	c.cover_traffic_primary_size_ratio = 1.5;
	assert_null(ns_traffic_new(&c, &h));
	ns_traffic_config_default(&c);
	c.max_pending_acks = 0;
	assert_null(ns_traffic_new(&c, &h));
	ns_traffic_config_default(&c);
	h.send_real = NULL;
	assert_null(ns_traffic_new(&c, &h));
}

/* A lane with no new data for 10 min is dropped (with its packets) after a send. */
static void test_stale_lane(void **state)
{
	struct fake f = { 0 };
	struct ns_traffic_config c;
	struct ns_lane a = conn(1);

	(void)state;
	paced_engine(&f, &c);
	fill(f.t, &a, 200, 1);
	step(&f);
	assert_int_equal(f.nreal, 1);
	f.now += 601 * SEC;
	step(&f);
	assert_int_equal(f.nreal, 2);
	assert_int_equal(f.ndropped, 198);
	assert_int_equal(f.last_drop, NS_DROP_LANE_STALE);
	assert_int_equal(ns_traffic_lane_depth(f.t, &a), 0);
	ns_traffic_free(f.t);
}

/* BUSY keeps the packet at the front; without pacing, sending waits for resume. */
static void test_busy_gateway(void **state)
{
	struct fake f = { 0 };
	struct ns_traffic_item it[2] = { item(1, 0x0303, 0), item(2, 0, 0) };
	struct ns_traffic_stats st;

	(void)state;
	no_cover_engine(&f);
	f.real_busy = 1;
	assert_int_equal(ns_traffic_enqueue(f.t, &GENERAL, it, 2), 0);
	assert_int_equal(ns_traffic_run(f.t), 1);
	assert_int_equal(ns_traffic_next_deadline(f.t), UINT64_MAX); /* no timer started */
	assert_int_equal(ns_traffic_lane_depth(f.t, &GENERAL), 2);
	f.real_busy = 0;
	ns_traffic_resume(f.t);
	ns_traffic_run(f.t);
	assert_int_equal(f.nreal, 2);
	assert_ptr_equal(f.real_pkt[0], (void *)1);
	ns_traffic_get_stats(f.t, &st);
	assert_int_equal(st.real_busy, 1);
	assert_int_equal(st.timers_running, 1);
	ns_traffic_free(f.t);
}

/* Full gateway channel raises the multiplier (at most once per second, up to 6); it
 * falls back once backpressure has been gone for 2 s. */
static void test_backpressure_multiplier(void **state)
{
	struct fake f = { 0 };
	struct ns_traffic_config c;
	struct ns_traffic_stats st;

	(void)state;
	paced_engine(&f, &c);
	ns_traffic_set_gateway_backlog(f.t, 32, 32);
	while (f.now < 1000 * SEC + 3500 * MS)
		step(&f);
	ns_traffic_get_stats(f.t, &st);
	assert_true(st.delay_multiplier >= 3 && st.delay_multiplier <= 4);
	while (f.now < 1000 * SEC + 20 * SEC)
		step(&f);
	ns_traffic_get_stats(f.t, &st);
	assert_int_equal(st.delay_multiplier, 6);
	ns_traffic_set_gateway_backlog(f.t, 0, 32);
	while (f.now < 1000 * SEC + 60 * SEC)
		step(&f);
	ns_traffic_get_stats(f.t, &st);
	assert_int_equal(st.delay_multiplier, 1);
	ns_traffic_free(f.t);
}

/* Many fragments in a small table: acks in scrambled order each match exactly once,
 * and the unacked ones time out in deadline order, each once. */
static void test_many_pending(void **state)
{
	struct fake f = { 0 };
	struct ns_traffic_config c;
	struct ns_traffic_item it[60];
	struct ns_traffic_stats st;
	uint64_t last = 0;

	(void)state;
	ns_traffic_config_default(&c);
	ns_traffic_set_no_cover_traffic(&c);
	c.max_pending_acks = 60;
	make(&f, &c);
	ns_traffic_start(f.t);
	for (uint32_t round = 0; round < 20; round++) {
		for (uint32_t i = 0; i < 60; i++)
			it[i] = item(i + 1, (round << 8) | (i + 1), (uint64_t)((i * 37) % 60) * MS);
		assert_int_equal(ns_traffic_enqueue(f.t, &GENERAL, it, 60), 0);
		ns_traffic_run(f.t);
		/* ack the odd positions of a scrambled order */
		for (uint32_t k = 0; k < 60; k++) {
			uint32_t i = (k * 23) % 60;

			if (i % 2)
				assert_int_equal(ns_traffic_ack(f.t, it[i].frag_id), 1);
		}
		for (uint32_t k = 0; k < 60; k++) {
			uint32_t i = (k * 23) % 60;

			if (i % 2)
				assert_int_equal(ns_traffic_ack(f.t, it[i].frag_id), 0);
		}
		ns_traffic_get_stats(f.t, &st);
		assert_int_equal(st.pending_acks, 30);
		assert_int_equal(st.timers_running, 30);
		/* the rest time out one by one, in deadline order */
		for (uint32_t k = 0; k < 30; k++) {
			size_t before = f.nretx;
			uint64_t d = ns_traffic_next_deadline(f.t);

			assert_true(d >= last);
			last = d;
			f.now = d;
			ns_traffic_run(f.t);
			assert_true(f.nretx > before);
		}
		assert_int_equal(ns_traffic_next_deadline(f.t), UINT64_MAX);
		for (uint32_t i = 0; i < 60; i += 2)
			assert_int_equal(ns_traffic_ack(f.t, it[i].frag_id), 1);
		ns_traffic_get_stats(f.t, &st);
		assert_int_equal(st.pending_acks, 0);
		last = 0;
	}
	assert_int_equal(f.nretx, 600);
	ns_traffic_free(f.t);
}

/* ---- libev binding, real timers ---- */

struct ev_ctx {
	struct fake f;
	struct ns_traffic_ev b;
	int enqueued;
};

static void ev_sched(void *ctx)
{
	struct ev_ctx *e = ctx;

	if (e->b.t)
		ns_traffic_ev_rearm(&e->b);
}

static void on_stop(struct ev_loop *loop, ev_timer *w, int revents)
{
	(void)w;
	(void)revents;
	ev_break(loop, EVBREAK_ALL);
}

static void test_libev_binding(void **state)
{
	static struct ev_ctx e;
	struct ev_loop *loop = ev_loop_new(EVFLAG_AUTO);
	struct ns_traffic_config c;
	struct ns_traffic_hooks h = {
		.ctx = &e, .now_ns = ns_traffic_monotonic_ns, .random_u64 = NULL,
		.send_real = fake_send_real, .send_cover = fake_send_cover,
		.retransmit = fake_retransmit, .schedule_changed = ev_sched,
	};
	struct ns_traffic_item it = item(5, 0x77, 0);
	ev_timer stop;

	(void)state;
	memset(&e, 0, sizeof(e));
	ns_traffic_config_default(&c);
	c.message_sending_average_delay_ns = 2 * MS;
	c.loop_cover_traffic_average_delay_ns = 10 * MS;
	c.ack_wait_addition_ns = 30 * MS;
	e.f.t = ns_traffic_new(&c, &h);
	assert_non_null(e.f.t);
	ns_traffic_ev_start(&e.b, loop, e.f.t);
	assert_int_equal(ns_traffic_enqueue(e.f.t, &GENERAL, &it, 1), 0);
	ev_timer_init(&stop, on_stop, 0.25, 0.0);
	ev_timer_start(loop, &stop);
	ev_run(loop, 0);
	ns_traffic_ev_stop(&e.b);
	assert_int_equal(e.f.nreal, 1);
	assert_ptr_equal(e.f.real_pkt[0], (void *)5);
	assert_true(e.f.nretx >= 1);  /* 30 ms ack timeout fired */
	assert_true(e.f.cover_main >= 20); /* ~125 expected in 250 ms */
	assert_true(e.f.cover_loop >= 3);  /* ~25 expected */
	assert_true(e.b.runs > 0);
	ns_traffic_free(e.f.t);
	ev_loop_destroy(loop);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_defaults_and_presets),
		cmocka_unit_test(test_exp_sampler),
		cmocka_unit_test(test_main_stream_poisson_cover),
		cmocka_unit_test(test_loop_stream),
		cmocka_unit_test(test_secondary_size_ratio),
		cmocka_unit_test(test_real_replaces_cover),
		cmocka_unit_test(test_no_cover_mode),
		cmocka_unit_test(test_ack_timeout_one_retransmission),
		cmocka_unit_test(test_ack_before_timeout),
		cmocka_unit_test(test_late_ack_after_retransmission),
		cmocka_unit_test(test_ack_between_request_and_rebuild),
		cmocka_unit_test(test_retransmission_limits),
		cmocka_unit_test(test_retransmit_failed_restarts_timer),
		cmocka_unit_test(test_forget),
		cmocka_unit_test(test_lanes_small_first),
		cmocka_unit_test(test_lanes_uniform_when_small),
		cmocka_unit_test(test_lanes_big_oldest_set),
		cmocka_unit_test(test_queue_limits),
		cmocka_unit_test(test_duplicate_in_batch),
		cmocka_unit_test(test_bad_config),
		cmocka_unit_test(test_stale_lane),
		cmocka_unit_test(test_busy_gateway),
		cmocka_unit_test(test_backpressure_multiplier),
		cmocka_unit_test(test_many_pending),
		cmocka_unit_test(test_libev_binding),
	};

	ns_crypto_init();
	return cmocka_run_group_tests(tests, NULL, NULL);
}
