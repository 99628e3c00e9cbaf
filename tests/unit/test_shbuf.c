/* common/shbuf: refcounted shared buffers charged once, and output queues of (reference,
 * offset) entries: partial writes, headers, offsets, release on clear. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "membudget.h"
#include "shbuf.h"

static struct ns_shbuf *filled(size_t len, uint8_t seed, struct ns_membudget *b)
{
	uint8_t *d = malloc(len ? len : 1);
	assert_non_null(d);
	for (size_t i = 0; i < len; i++)
		d[i] = (uint8_t)(seed + i);
	return ns_shbuf_adopt(d, len, b);
}

/* Everything the queue would write, gathered through its iovecs. */
static size_t gather(const struct ns_outq *q, uint8_t *out, size_t cap)
{
	struct iovec iov[16];
	size_t n = ns_outq_iov(q, iov, 16), len = 0;
	for (size_t i = 0; i < n; i++) {
		assert_true(len + iov[i].iov_len <= cap);
		memcpy(out + len, iov[i].iov_base, iov[i].iov_len);
		len += iov[i].iov_len;
	}
	return len;
}

static void test_refcount_charged_once(void **state)
{
	(void)state;
	struct ns_membudget bud;
	ns_membudget_init(&bud, 1000);
	struct ns_shbuf *b = filled(100, 0, &bud);
	size_t one = 100 + sizeof *b;
	assert_int_equal(bud.used, one);
	struct ns_outq q[50];
	for (int i = 0; i < 50; i++) {
		ns_outq_init(&q[i]);
		assert_int_equal(ns_outq_push(&q[i], (const uint8_t *)"\0\0\0\0\0\0\0d", 8, b), 0);
		assert_int_equal(q[i].shared, 108);
	}
	assert_int_equal(b->refs, 51);
	assert_int_equal(bud.used, one); /* 50 queues, one charge */
	ns_shbuf_unref(b);               /* the creator lets go: the queues keep it */
	assert_int_equal(bud.used, one);
	for (int i = 0; i < 49; i++)
		ns_outq_clear(&q[i]);
	assert_int_equal(b->refs, 1);
	assert_int_equal(bud.used, one);
	ns_outq_consume(&q[49], 108); /* the last one written out */
	assert_int_equal(bud.used, 0);
	assert_int_equal(bud.peak, one);
	assert_int_equal(q[49].bytes, 0);
	assert_int_equal(q[49].entries, 0);
	assert_int_equal(q[49].owned, 0);
}

/* Partial writes at every offset: header, buffer and entry boundaries. */
static void test_partial_writes(void **state)
{
	(void)state;
	struct ns_membudget bud;
	ns_membudget_init(&bud, 1u << 20);
	struct ns_shbuf *a = filled(10, 1, &bud), *b = filled(7, 100, &bud);
	uint8_t want[64], got[64];
	size_t wl = 0;
	struct ns_outq q;
	ns_outq_init(&q);
	assert_int_equal(ns_outq_push(&q, (const uint8_t *)"AB", 2, a), 0);
	assert_int_equal(ns_outq_push_copy(&q, (const uint8_t *)"C", 1, (const uint8_t *)"own", 3), 0);
	assert_int_equal(ns_outq_push(&q, NULL, 0, b), 0);
	memcpy(want + wl, "AB", 2), wl += 2;
	memcpy(want + wl, a->data, 10), wl += 10;
	memcpy(want + wl, "Cown", 4), wl += 4;
	memcpy(want + wl, b->data, 7), wl += 7;
	assert_int_equal(q.bytes, wl);
	assert_int_equal(q.shared, 2 + 10 + 7);
	assert_true(q.owned >= 3); /* the own copy and the bookkeeping */
	assert_int_equal(ns_outq_oldest_shared(&q), 0);
	for (size_t step = 1; step <= 5; step++) {
		struct ns_outq r;
		ns_outq_init(&r);
		ns_outq_push(&r, (const uint8_t *)"AB", 2, a);
		ns_outq_push_copy(&r, (const uint8_t *)"C", 1, (const uint8_t *)"own", 3);
		ns_outq_push(&r, NULL, 0, b);
		size_t done = 0;
		while (r.bytes) {
			size_t left = gather(&r, got, sizeof got);
			assert_int_equal(left, wl - done);
			assert_memory_equal(got, want + done, left);
			assert_int_equal(ns_outq_mid_entry(&r) != 0, done != 0 && done != 12 && done != 16);
			size_t k = step < left ? step : left;
			ns_outq_consume(&r, k);
			done += k;
		}
		assert_int_equal(r.entries, 0);
		assert_int_equal(r.owned, 0);
		assert_int_equal(r.shared, 0);
	}
	assert_int_equal(a->refs, 2); /* ours and q's */
	ns_outq_clear(&q);
	assert_int_equal(a->refs, 1);
	assert_int_equal(b->refs, 1);
	ns_shbuf_unref(a);
	ns_shbuf_unref(b);
	assert_int_equal(bud.used, 0);
}

/* ns_outq_read (wslay's reader): the head entry only, in pieces, then the next. */
static void test_read_by_entry(void **state)
{
	(void)state;
	struct ns_shbuf *a = filled(10, 1, NULL), *b = filled(5, 50, NULL);
	struct ns_outq q;
	ns_outq_init(&q);
	ns_outq_push(&q, NULL, 0, a);
	ns_outq_push(&q, (const uint8_t *)"H", 1, b);
	a->seq = 7;
	uint8_t buf[16];
	int done = -1;
	assert_int_equal(ns_outq_read(&q, buf, 4, &done), 4);
	assert_int_equal(done, 0);
	assert_memory_equal(buf, a->data, 4);
	assert_int_equal(ns_outq_read(&q, buf, 16, &done), 6); /* never across entries */
	assert_int_equal(done, 1);
	assert_memory_equal(buf, a->data + 4, 6);
	assert_int_equal(a->refs, 1);
	assert_int_equal(ns_outq_read(&q, buf, 16, &done), 6);
	assert_int_equal(done, 1);
	assert_int_equal(buf[0], 'H');
	assert_memory_equal(buf + 1, b->data, 5);
	assert_int_equal(ns_outq_read(&q, buf, 16, &done), 0);
	assert_int_equal(done, 0);
	assert_int_equal(q.bytes, 0);
	ns_shbuf_unref(a);
	ns_shbuf_unref(b);
}

/* Own buffers are not budgeted; the oldest shared one is found behind them. */
static void test_oldest_shared(void **state)
{
	(void)state;
	struct ns_membudget bud;
	ns_membudget_init(&bud, 1u << 20);
	struct ns_outq q;
	ns_outq_init(&q);
	assert_int_equal(ns_outq_oldest_shared(&q), UINT64_MAX);
	ns_outq_push_copy(&q, NULL, 0, (const uint8_t *)"x", 1);
	assert_int_equal(ns_outq_oldest_shared(&q), UINT64_MAX);
	assert_int_equal(q.shared, 0);
	struct ns_shbuf *s1 = filled(3, 0, &bud), *s2 = filled(3, 0, &bud);
	s1->seq = 4, s2->seq = 5;
	ns_outq_push(&q, NULL, 0, s1);
	ns_outq_push(&q, NULL, 0, s2);
	ns_shbuf_unref(s1);
	ns_shbuf_unref(s2);
	assert_int_equal(ns_outq_oldest_shared(&q), 4);
	ns_outq_consume(&q, 1 + 3);
	assert_int_equal(ns_outq_oldest_shared(&q), 5);
	assert_int_equal(bud.used, 3 + sizeof *s2); /* s1 written and freed */
	ns_outq_clear(&q);
	assert_int_equal(bud.used, 0);
	assert_int_equal(q.owned, 0);
	assert_int_equal(ns_outq_push(&q, (const uint8_t *)"123456789", 9, s1 = filled(1, 0, NULL)), -1);
	ns_shbuf_unref(s1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_refcount_charged_once),
		cmocka_unit_test(test_partial_writes),
		cmocka_unit_test(test_read_by_entry),
		cmocka_unit_test(test_oldest_shared),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
