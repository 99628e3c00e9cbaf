/* keyd's reply state (keyd/keyd_surbs.c, compiled into this test): the reply
 * key store (bounds, eviction, single use, expiry), the SURB list parser (malformed lists),
 * and the per-tag SURB stock (bounds, reserve, queue, Nym's request policy, stale data). */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "../keyd/keyd_surbs.c"

#define S 1000000000ull

static void digest_of(uint32_t i, uint8_t d[32], uint8_t k[16])
{
	memset(d, 0, 32);
	memset(k, 0, 16);
	/* same first 4 bytes for many: exercises the hash chains */
	d[0] = (uint8_t)(i & 3);
	memcpy(d + 8, &i, sizeof i);
	memcpy(k, &i, sizeof i);
	k[15] = 0x5a;
}

static void test_rkeys_single_use(void **state)
{
	(void)state;
	struct nc_rkeys *k = nc_rkeys_new(16, 100 * S);
	uint8_t d[32], key[16], got[16];
	assert_non_null(k);
	for (uint32_t i = 0; i < 10; i++) {
		digest_of(i, d, key);
		assert_int_equal(nc_rkeys_add(k, d, key, 1 * S), 0);
	}
	assert_int_equal(nc_rkeys_count(k), 10);
	digest_of(7, d, key);
	assert_int_equal(nc_rkeys_take(k, d, got, 2 * S), 0);
	assert_memory_equal(got, key, 16);
	assert_int_equal(nc_rkeys_take(k, d, got, 2 * S), -1); /* single use */
	assert_int_equal(nc_rkeys_count(k), 9);
	digest_of(99, d, key);
	assert_int_equal(nc_rkeys_take(k, d, got, 2 * S), -1); /* never stored */
	for (uint32_t i = 0; i < 10; i++) {
		digest_of(i, d, key);
		assert_int_equal(nc_rkeys_take(k, d, got, 2 * S), i == 7 ? -1 : 0);
		if (i != 7)
			assert_memory_equal(got, key, 16);
	}
	assert_int_equal(nc_rkeys_count(k), 0);
	nc_rkeys_free(k);
	assert_null(nc_rkeys_new(0, 1));
}

static void test_rkeys_bound_evicts_oldest(void **state)
{
	(void)state;
	struct nc_rkeys *k = nc_rkeys_new(8, 100 * S);
	uint8_t d[32], key[16], got[16];
	for (uint32_t i = 0; i < 20; i++) {
		digest_of(i, d, key);
		nc_rkeys_add(k, d, key, 1 * S);
		assert_true(nc_rkeys_count(k) <= 8);
	}
	assert_int_equal(nc_rkeys_count(k), 8);
	for (uint32_t i = 0; i < 20; i++) {
		digest_of(i, d, key);
		assert_int_equal(nc_rkeys_take(k, d, got, 1 * S), i >= 12 ? 0 : -1);
	}
	/* used slots in the middle of the ring are reclaimed as it wraps */
	for (uint32_t round = 0; round < 5; round++) {
		for (uint32_t i = 0; i < 8; i++) {
			digest_of(100 + round * 8 + i, d, key);
			nc_rkeys_add(k, d, key, 1 * S);
			if (i % 2 == 0)
				assert_int_equal(nc_rkeys_take(k, d, got, 1 * S), 0);
		}
		assert_true(nc_rkeys_count(k) <= 8);
	}
	nc_rkeys_free(k);
}

static void test_rkeys_grow(void **state)
{
	(void)state;
	/* cap 1000: the ring starts at 256 slots and grows (256, 512, 1000) while keys are taken
	 * out of the middle and the head has moved, so each growth re-lays a wrapped ring */
	struct nc_rkeys *k = nc_rkeys_new(1000, 100 * S);
	uint8_t d[32], key[16], got[16];
	assert_int_equal(k->alloc, RKEYS_FIRST_ALLOC);
	for (uint32_t i = 0; i < 1300; i++) {
		digest_of(i, d, key);
		assert_int_equal(nc_rkeys_add(k, d, key, 1 * S), 0);
		if (i % 7 == 3) { /* a hole: taken at once */
			assert_int_equal(nc_rkeys_take(k, d, got, 1 * S), 0);
			assert_memory_equal(got, key, 16);
		}
		if (i == 200) { /* keys 0-2 taken, 3 is a hole: their slots go and the ring wraps */
			for (uint32_t j = 0; j < 3; j++) {
				digest_of(j, d, key);
				assert_int_equal(nc_rkeys_take(k, d, got, 1 * S), 0);
			}
			assert_int_equal(nc_rkeys_expire(k, 1 * S), 0);
			assert_int_equal(k->head, 4);
		}
	}
	assert_int_equal(k->alloc, 1000);
	for (uint32_t i = 0; i < 1300; i++) {
		digest_of(i, d, key);
		int want = i >= 300 && i % 7 != 3 ? 0 : -1; /* the oldest 300 slots evicted */
		assert_int_equal(nc_rkeys_take(k, d, got, 1 * S), want);
		if (want == 0)
			assert_memory_equal(got, key, 16);
	}
	assert_int_equal(nc_rkeys_count(k), 0);
	nc_rkeys_free(k);
}

static void test_rkeys_expiry(void **state)
{
	(void)state;
	struct nc_rkeys *k = nc_rkeys_new(32, 10 * S);
	uint8_t d[32], key[16], got[16];
	for (uint32_t i = 0; i < 6; i++) {
		digest_of(i, d, key);
		nc_rkeys_add(k, d, key, (uint64_t)i * S);
	}
	/* at t = 13 s keys sent at 0, 1, 2 are older than 10 s */
	digest_of(1, d, key);
	assert_int_equal(nc_rkeys_take(k, d, got, 13 * S), -1); /* expired: refused and forgotten */
	assert_int_equal(nc_rkeys_count(k), 5);
	assert_int_equal(nc_rkeys_expire(k, 13 * S), 2);
	assert_int_equal(nc_rkeys_count(k), 3);
	digest_of(3, d, key);
	assert_int_equal(nc_rkeys_take(k, d, got, 13 * S), 0);
	assert_int_equal(nc_rkeys_expire(k, 100 * S), 2);
	assert_int_equal(nc_rkeys_count(k), 0);
	nc_rkeys_free(k);
}

static void test_list_parse(void **state)
{
	(void)state;
	uint8_t buf[4 + 3 * 10] = { 0, 0, 0, 3 };
	size_t n = 9, each = 9;
	assert_int_equal(nc_surb_list_parse(buf, sizeof buf, 32, &n, &each), 0);
	assert_int_equal(n, 3);
	assert_int_equal(each, 10);
	assert_int_equal(nc_surb_list_parse(buf, 4, 32, &n, &each), -1);              /* no bytes */
	assert_int_equal(nc_surb_list_parse(buf, sizeof buf - 1, 32, &n, &each), -1);  /* uneven */
	assert_int_equal(nc_surb_list_parse(buf, 3, 32, &n, &each), -1);              /* short */
	assert_int_equal(nc_surb_list_parse(buf, sizeof buf, 2, &n, &each), -1);      /* too many */
	buf[3] = 0;
	assert_int_equal(nc_surb_list_parse(buf, 4, 32, &n, &each), 0); /* the empty list */
	assert_int_equal(n, 0);
	assert_int_equal(each, 0);
	assert_int_equal(nc_surb_list_parse(buf, 5, 32, &n, &each), -1); /* 0 with bytes */
	buf[0] = 0x80;
	buf[3] = 1;
	assert_int_equal(nc_surb_list_parse(buf, sizeof buf, 32, &n, &each), -1); /* huge count */
	buf[0] = 0;
	buf[3] = 30;
	assert_int_equal(nc_surb_list_parse(buf, sizeof buf, 32, &n, &each), 0);
	assert_int_equal(each, 1);
}

struct dropped {
	size_t n;
	uint8_t last[5];
};

static void on_drop(void *ctx, const struct nc_reply_frag *f)
{
	struct dropped *d = ctx;
	d->n++;
	memcpy(d->last, f->frag_id, 5);
}

static struct nc_surbs_conf nym_conf(struct dropped *d)
{
	struct nc_surbs_conf c = {
		.min_threshold = 10, .max_threshold = 200, .threshold_buffer = 0,
		.request_min = 10, .request_max = 50,
		.rerequest_wait_ns = 10 * S, .drop_wait_ns = 300 * S, .max_rerequests = 5,
		.max_total = 1000, .max_tags = 4, .max_queued_per_tag = 100,
		.on_drop = on_drop, .ctx = d,
	};
	return c;
}

static void add_n(struct nc_surbs *s, const uint8_t tag[16], size_t n, uint8_t mark, uint64_t now)
{
	uint8_t surb[40];
	for (size_t i = 0; i < n; i++) {
		memset(surb, mark, sizeof surb);
		surb[0] = (uint8_t)i;
		assert_int_equal(nc_surbs_add(s, tag, surb, sizeof surb, now), 0);
	}
	nc_surbs_received(s, tag, n, now);
}

static void test_reserve_and_order(void **state)
{
	(void)state;
	struct dropped d = {0};
	struct nc_surbs_conf c = nym_conf(&d);
	struct nc_surbs *s = nc_surbs_new(&c);
	uint8_t tag[16] = { 1 }, other[16] = { 2 }, out[64];
	assert_false(nc_surbs_known(s, tag));
	assert_int_equal(nc_surbs_take(s, tag, 1, out, sizeof out), -1);
	add_n(s, tag, 12, 0xaa, 0);
	assert_true(nc_surbs_known(s, tag));
	assert_false(nc_surbs_known(s, other));
	assert_int_equal(nc_surbs_available(s, tag), 12);
	/* data may use only what is above the reserve of 10, oldest first */
	assert_int_equal(nc_surbs_take(s, tag, 0, out, sizeof out), 40);
	assert_int_equal(out[0], 0);
	assert_int_equal(nc_surbs_take(s, tag, 0, out, sizeof out), 40);
	assert_int_equal(out[0], 1);
	assert_int_equal(nc_surbs_take(s, tag, 0, out, sizeof out), -1);
	assert_int_equal(nc_surbs_available(s, tag), 10);
	/* a SURB request may dip into the reserve */
	assert_int_equal(nc_surbs_take(s, tag, 1, out, sizeof out), 40);
	assert_int_equal(out[0], 2);
	assert_int_equal(nc_surbs_take(s, tag, 1, out, 39), -1); /* too small a buffer */
	assert_int_equal(nc_surbs_available(s, tag), 9);
	nc_surbs_free(s);
}

/* Nym's drop_stale_loaded_surbs: the tags last heard from before the cutoff go, their queued
 * fragments reported dropped; the others stay whole. And the store's iteration. */
static void test_drop_before_and_iteration(void **state)
{
	(void)state;
	struct dropped d = {0};
	struct nc_surbs_conf c = nym_conf(&d);
	struct nc_surbs *s = nc_surbs_new(&c);
	uint8_t old[16] = { 1 }, fresh[16] = { 2 }, frag[5] = { 9, 9, 9, 9, 9 };
	add_n(s, old, 5, 0xaa, 10 * S);
	add_n(s, fresh, 3, 0xbb, 100 * S);
	assert_int_equal(nc_surbs_queue(s, old, frag, 0, 0, (const uint8_t *)"x", 1), 0);
	assert_int_equal(nc_surbs_drop_received_before(s, 10 * S), 0); /* not before: kept */
	assert_int_equal(nc_surbs_drop_received_before(s, 50 * S), 5);
	assert_false(nc_surbs_known(s, old));
	assert_int_equal(d.n, 1);
	assert_memory_equal(d.last, frag, 5);
	assert_int_equal(nc_surbs_available(s, fresh), 3);
	assert_int_equal(nc_surbs_tag_count(s), 1);
	assert_int_equal(nc_surbs_tag_received_ns(s, 0), 100 * S);
	assert_int_equal(nc_surbs_drop_received_before(s, 101 * S), 3);
	assert_int_equal(nc_surbs_tag_count(s), 0);
	nc_surbs_free(s);
}

static void count_key(void *ctx, const uint8_t digest[32], const uint8_t key[16], uint64_t sent)
{
	(void)digest, (void)key;
	uint64_t *sum = ctx;
	*sum += sent;
}

static void test_rkeys_each(void **state)
{
	(void)state;
	uint8_t d[32], key[16], got[16];
	uint64_t sum = 0;
	struct nc_rkeys *k = nc_rkeys_new(8, 1000 * S);
	for (uint32_t i = 1; i <= 3; i++) {
		digest_of(i, d, key);
		assert_int_equal(nc_rkeys_add(k, d, key, i * S), 0);
	}
	digest_of(2, d, key);
	assert_int_equal(nc_rkeys_take(k, d, got, 5 * S), 0); /* used: no longer listed */
	nc_rkeys_each(k, count_key, &sum);
	assert_int_equal(sum, 4 * S);
	nc_rkeys_free(k);
}

static void test_bounds(void **state)
{
	(void)state;
	struct dropped d = {0};
	struct nc_surbs_conf c = nym_conf(&d);
	c.max_threshold = 20;
	c.max_total = 50;
	struct nc_surbs *s = nc_surbs_new(&c);
	uint8_t t[6][16], out[64];
	memset(t, 0, sizeof t);
	for (int i = 0; i < 6; i++)
		t[i][0] = (uint8_t)(i + 1);
	/* per tag: the oldest go beyond max_threshold */
	add_n(s, t[0], 25, 0x11, 1);
	assert_int_equal(nc_surbs_available(s, t[0]), 20);
	assert_int_equal(nc_surbs_take(s, t[0], 1, out, sizeof out), 40);
	assert_int_equal(out[0], 5);
	/* in total: the largest stock loses its oldest */
	add_n(s, t[1], 20, 0x22, 2);
	add_n(s, t[2], 15, 0x33, 3);
	/* the 12th to 15th of t[2] took turns at the largest stocks: 17 + 18 + 15 */
	assert_int_equal(nc_surbs_total(s), 50);
	assert_int_equal(nc_surbs_available(s, t[0]), 17);
	assert_int_equal(nc_surbs_available(s, t[1]), 18);
	assert_int_equal(nc_surbs_available(s, t[2]), 15);
	add_n(s, t[3], 10, 0x44, 4);
	assert_true(nc_surbs_total(s) <= 50);
	assert_int_equal(nc_surbs_available(s, t[3]), 10);
	/* tags: a fifth evicts the least recently used one (t[0], with a queued fragment) */
	uint8_t fid[5] = { 9, 9, 9, 9, 9 }, data[3] = { 1, 2, 3 };
	assert_int_equal(nc_surbs_queue(s, t[0], fid, 0, 1, data, 3), 0);
	add_n(s, t[4], 1, 0x55, 5);
	assert_int_equal(nc_surbs_tag_count(s), 4);
	assert_false(nc_surbs_known(s, t[0]));
	assert_int_equal(d.n, 1);
	assert_memory_equal(d.last, fid, 5);
	assert_true(nc_surbs_total(s) <= 50);
	nc_surbs_free(s);
}

static void test_queue(void **state)
{
	(void)state;
	struct dropped d = {0};
	struct nc_surbs_conf c = nym_conf(&d);
	c.max_queued_per_tag = 3;
	struct nc_surbs *s = nc_surbs_new(&c);
	uint8_t tag[16] = { 7 }, unknown[16] = { 8 }, fid[5] = { 0 }, data[100];
	memset(data, 0xee, sizeof data);
	assert_int_equal(nc_surbs_queue(s, unknown, fid, 0, 1, data, 10), -1); /* unknown tag */
	add_n(s, tag, 1, 0, 0);
	for (uint8_t i = 0; i < 3; i++) {
		fid[4] = i;
		assert_int_equal(nc_surbs_queue(s, tag, fid, 100 + i, 1, data, 10 + i), 0);
	}
	assert_int_equal(nc_surbs_queue(s, tag, fid, 0, 1, data, 10), -1); /* full */
	assert_int_equal(nc_surbs_queued(s, tag), 3);
	for (uint8_t i = 0; i < 3; i++) {
		struct nc_reply_frag *f = nc_surbs_dequeue(s, tag);
		assert_non_null(f);
		assert_int_equal(f->frag_id[4], i);
		assert_int_equal(f->lane, 100 + i);
		assert_int_equal(f->len, 10 + i);
		assert_memory_equal(f->data, data, f->len);
		nc_reply_frag_free(f);
	}
	assert_null(nc_surbs_dequeue(s, tag));
	assert_null(nc_surbs_dequeue(s, unknown));
	/* freeing with fragments queued does not report them */
	assert_int_equal(nc_surbs_queue(s, tag, fid, 0, 1, data, 10), 0);
	nc_surbs_free(s);
	assert_int_equal(d.n, 0);
}

/* The fragments of all tags together are bounded: a stranger who opens many tags cannot
 * make keyd hold more; a dequeued or dropped fragment makes room again. */
static void test_queue_total(void **state)
{
	(void)state;
	struct dropped d = {0};
	struct nc_surbs_conf c = nym_conf(&d);
	c.max_queued_per_tag = 3;
	c.max_queued_total = 4;
	struct nc_surbs *s = nc_surbs_new(&c);
	uint8_t t1[16] = { 1 }, t2[16] = { 2 }, fid[5] = { 0 }, data[8] = { 0 };
	add_n(s, t1, 1, 0, 0);
	add_n(s, t2, 1, 0, 0);
	for (int i = 0; i < 3; i++)
		assert_int_equal(nc_surbs_queue(s, t1, fid, 0, 1, data, sizeof data), 0);
	assert_int_equal(nc_surbs_queue(s, t2, fid, 0, 1, data, sizeof data), 0);
	assert_int_equal(nc_surbs_queued_total(s), 4);
	assert_int_equal(nc_surbs_queue(s, t2, fid, 0, 1, data, sizeof data), -1); /* all full */
	nc_reply_frag_free(nc_surbs_dequeue(s, t1));
	assert_int_equal(nc_surbs_queued_total(s), 3);
	assert_int_equal(nc_surbs_queue(s, t2, fid, 0, 1, data, sizeof data), 0);
	/* a queue dropped by the tick gives its room back */
	nc_surbs_tick(s, 400 * S, NULL, NULL);
	assert_int_equal(nc_surbs_queued_total(s), 0);
	assert_int_equal(d.n, 4);
	assert_int_equal(nc_surbs_queue(s, t1, fid, 0, 1, data, sizeof data), 0);
	nc_surbs_free(s);
}

static void test_request_policy(void **state)
{
	(void)state;
	struct dropped d = {0};
	struct nc_surbs_conf c = nym_conf(&d);
	struct nc_surbs *s = nc_surbs_new(&c);
	uint8_t tag[16] = { 3 }, fid[5] = { 0 }, data[4] = { 0 }, out[64];
	assert_int_equal(nc_surbs_request_amount(s, tag), 0); /* unknown */
	add_n(s, tag, 20, 0, 0);
	assert_int_equal(nc_surbs_request_amount(s, tag), 0); /* 20 >= 0 queued + 10 */
	for (int i = 0; i < 10; i++)
		assert_true(nc_surbs_take(s, tag, 0, out, sizeof out) > 0);
	assert_int_equal(nc_surbs_request_amount(s, tag), 0); /* 10 >= 10 */
	assert_int_equal(nc_surbs_queue(s, tag, fid, 0, 1, data, 4), 0);
	/* 10 < 1 + 10: request max(1 + 0, 10) = 10 */
	assert_int_equal(nc_surbs_request_amount(s, tag), 10);
	nc_surbs_requested(s, tag, 10);
	assert_int_equal(nc_surbs_request_amount(s, tag), 0); /* 10 + 10 pending >= 11 */
	for (int i = 0; i < 70; i++)
		assert_int_equal(nc_surbs_queue(s, tag, fid, 0, 1, data, 4), 0);
	/* 71 queued: min(50, max(71, 10)) = 50 */
	assert_int_equal(nc_surbs_request_amount(s, tag), 50);
	assert_int_equal(nc_surbs_request_size(s, tag), 50);
	/* arrival counts pending down */
	add_n(s, tag, 5, 1, 1 * S);
	nc_surbs_requested(s, tag, 200);
	assert_int_equal(nc_surbs_request_amount(s, tag), 0); /* at the max threshold */
	nc_surbs_received(s, tag, 1000, 2 * S);
	assert_int_equal(nc_surbs_request_amount(s, tag), 50);
	nc_surbs_free(s);
}

struct rereq {
	size_t n;
};

static void count_rerequest(void *ctx, const uint8_t tag[16])
{
	(void)tag;
	((struct rereq *)ctx)->n++;
}

static void test_tick_rerequest_then_drop(void **state)
{
	(void)state;
	struct dropped d = {0};
	struct rereq r = {0};
	struct nc_surbs_conf c = nym_conf(&d);
	struct nc_surbs *s = nc_surbs_new(&c);
	uint8_t tag[16] = { 4 }, idle[16] = { 5 }, fid[5] = { 1, 2, 3, 4, 5 }, data[4] = { 0 };
	add_n(s, tag, 3, 0, 0);
	add_n(s, idle, 3, 0, 0);
	assert_int_equal(nc_surbs_queue(s, tag, fid, 0, 1, data, 4), 0);
	assert_int_equal(nc_surbs_queue(s, tag, fid, 0, 1, data, 4), 0);
	nc_surbs_tick(s, 5 * S, count_rerequest, &r);
	assert_int_equal(r.n, 0); /* not quiet for 10 s yet */
	/* re-requests every tick after 10 s, 6 times (counter 1..6 > 5 drops) */
	uint64_t t = 11 * S;
	for (int i = 0; i < 6; i++, t += 5 * S)
		nc_surbs_tick(s, t, count_rerequest, &r);
	assert_int_equal(r.n, 6);
	assert_int_equal(d.n, 0);
	nc_surbs_tick(s, t, count_rerequest, &r);
	assert_int_equal(r.n, 6);
	assert_int_equal(d.n, 2); /* the queue is dropped, the SURBs kept */
	assert_memory_equal(d.last, fid, 5);
	assert_int_equal(nc_surbs_queued(s, tag), 0);
	assert_int_equal(nc_surbs_available(s, tag), 3);
	/* SURBs arriving reset the counter; a long silence drops at once */
	assert_int_equal(nc_surbs_queue(s, tag, fid, 0, 1, data, 4), 0);
	add_n(s, tag, 1, 0, t);
	nc_surbs_tick(s, t + 301 * S, count_rerequest, &r);
	assert_int_equal(d.n, 3);
	assert_int_equal(r.n, 6);
	nc_surbs_free(s);
}

struct resent {
	size_t n;
	struct nc_surb_request last;
};

/* What keyd does: the retransmission goes out under a new fragment id, due 2 s later. */
static struct nc_surbs *resend_into;
static uint64_t resend_now;

static void record_resend(void *ctx, const struct nc_surb_request *r)
{
	struct resent *rs = ctx;
	uint8_t fid[5] = { 9, 9, 9, 9, (uint8_t)r->retransmissions };
	rs->n++;
	rs->last = *r;
	nc_surbs_request_sent(resend_into, r->tag, fid, r->amount, r->retransmissions,
	                      resend_now + 2 * S);
}

/* A SurbRequest not acked by its deadline is sent again, 10 times at most; an ack ends it. */
static void test_request_retransmission(void **state)
{
	(void)state;
	struct dropped d = {0};
	struct resent rs = {0};
	struct nc_surbs_conf c = nym_conf(&d);
	struct nc_surbs *s = nc_surbs_new(&c);
	uint8_t tag[16] = { 6 }, other[16] = { 7 }, a[5] = { 1, 1, 1, 1, 1 }, b[5] = { 2, 2, 2, 2, 2 };
	resend_into = s;
	assert_true(nc_surbs_next_request_deadline(s) == UINT64_MAX);
	nc_surbs_request_sent(s, tag, a, 30, 0, 2 * S);
	nc_surbs_request_sent(s, other, b, 10, 0, 3 * S);
	assert_true(nc_surbs_next_request_deadline(s) == 2 * S);
	assert_int_equal(nc_surbs_request_acked(s, b), 1);
	assert_int_equal(nc_surbs_request_acked(s, b), 0); /* once */
	nc_surbs_requests_due(s, 1 * S, record_resend, &rs);
	assert_int_equal(rs.n, 0);
	for (resend_now = 2 * S; resend_now <= 40 * S; resend_now += 2 * S)
		nc_surbs_requests_due(s, resend_now, record_resend, &rs);
	assert_int_equal(rs.n, NC_SURB_REQUEST_RETRIES);
	assert_int_equal(rs.last.retransmissions, NC_SURB_REQUEST_RETRIES);
	assert_int_equal(rs.last.amount, 30);
	assert_memory_equal(rs.last.tag, tag, 16);
	assert_true(nc_surbs_next_request_deadline(s) == UINT64_MAX); /* given up */
	/* acked after two retransmissions: no more */
	rs.n = 0;
	nc_surbs_request_sent(s, tag, a, 30, 0, 2 * S);
	for (resend_now = 2 * S; resend_now <= 4 * S; resend_now += 2 * S)
		nc_surbs_requests_due(s, resend_now, record_resend, &rs);
	assert_int_equal(rs.n, 2);
	uint8_t second[5] = { 9, 9, 9, 9, 2 };
	assert_int_equal(nc_surbs_request_acked(s, second), 1);
	nc_surbs_requests_due(s, 100 * S, record_resend, &rs);
	assert_int_equal(rs.n, 2);
	nc_surbs_free(s);
}

/* The table is bounded; a forgotten tag takes its requests along. */
static void test_request_bounds(void **state)
{
	(void)state;
	struct dropped d = {0};
	struct nc_surbs_conf c = nym_conf(&d);
	c.max_tags = 1;
	struct nc_surbs *s = nc_surbs_new(&c);
	uint8_t tag[16] = { 8 }, next[16] = { 9 }, fid[5] = { 0, 0, 0, 1, 0 };
	add_n(s, tag, 1, 0, 0);
	for (size_t i = 0; i <= NC_SURB_REQUESTS_MAX; i++) {
		fid[4] = (uint8_t)i;
		fid[3] = (uint8_t)(1 + i / 256);
		nc_surbs_request_sent(s, tag, fid, 10, 0, (10 + i) * S);
	}
	assert_true(nc_surbs_next_request_deadline(s) == 11 * S); /* the earliest went */
	add_n(s, next, 1, 0, 1); /* evicts tag */
	assert_true(nc_surbs_next_request_deadline(s) == UINT64_MAX);
	nc_surbs_free(s);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_rkeys_single_use),
		cmocka_unit_test(test_rkeys_bound_evicts_oldest),
		cmocka_unit_test(test_rkeys_grow),
		cmocka_unit_test(test_rkeys_expiry),
		cmocka_unit_test(test_list_parse),
		cmocka_unit_test(test_reserve_and_order),
		cmocka_unit_test(test_bounds),
		cmocka_unit_test(test_queue),
		cmocka_unit_test(test_queue_total),
		cmocka_unit_test(test_request_policy),
		cmocka_unit_test(test_tick_rerequest_then_drop),
		cmocka_unit_test(test_request_retransmission),
		cmocka_unit_test(test_request_bounds),
		cmocka_unit_test(test_drop_before_and_iteration),
		cmocka_unit_test(test_rkeys_each),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
