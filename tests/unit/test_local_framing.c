/* The Unix-socket API framing (u64 BE length ‖ frame) and the unsent-fragment records of
 * data/nymsuite-unsent.bin (common/clientlocal.h). */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "clientlocal.h"
#include "crypto.h"

/* Feeds in pieces of `step` bytes; collects up to 8 frames. Returns the last return code. */
static int feed_all(struct ns_lframe_dec *d, const uint8_t *in, size_t len, size_t step,
                    uint8_t *frames[8], size_t lens[8], size_t *n)
{
	int rc = NS_LFRAME_MORE;
	*n = 0;
	while (len) {
		size_t chunk = len < step ? len : step, used = 0;
		while (chunk) {
			uint8_t *f = NULL;
			size_t fl = 0;
			rc = ns_lframe_feed(d, in, chunk, &used, &f, &fl);
			if (rc < 0)
				return rc;
			assert_true(used <= chunk);
			in += used;
			len -= used;
			chunk -= used;
			if (rc == NS_LFRAME_DONE) {
				assert_non_null(f);
				assert_true(*n < 8);
				frames[*n] = f;
				lens[(*n)++] = fl;
			} else {
				assert_int_equal(chunk, 0);
			}
		}
	}
	return rc;
}

static void test_frames_any_split(void **state)
{
	(void)state;
	uint8_t wire[3 * 8 + 3 + 0 + 70000];
	static uint8_t big[70000];
	size_t pos = 0;
	for (size_t i = 0; i < sizeof big; i++)
		big[i] = (uint8_t)(i * 31);
	ns_lframe_header(3, wire);
	memcpy(wire + 8, "\x03\x01\x02", 3);
	pos = 11;
	ns_lframe_header(0, wire + pos); /* an empty frame is a frame */
	pos += 8;
	ns_lframe_header(sizeof big, wire + pos);
	memcpy(wire + pos + 8, big, sizeof big);
	pos += 8 + sizeof big;
	assert_int_equal(pos, sizeof wire);
	static const size_t steps[] = { 1, 2, 7, 8, 9, 4096, 65536, sizeof wire };
	for (size_t s = 0; s < sizeof steps / sizeof steps[0]; s++) {
		struct ns_lframe_dec d;
		uint8_t *f[8];
		size_t l[8], n;
		ns_lframe_dec_init(&d, 0);
		assert_int_equal(feed_all(&d, wire, sizeof wire, steps[s], f, l, &n), NS_LFRAME_DONE);
		assert_int_equal(n, 3);
		assert_int_equal(l[0], 3);
		assert_memory_equal(f[0], "\x03\x01\x02", 3);
		assert_int_equal(l[1], 0);
		assert_int_equal(l[2], sizeof big);
		assert_memory_equal(f[2], big, sizeof big);
		for (size_t i = 0; i < n; i++)
			free(f[i]);
		ns_lframe_dec_free(&d);
	}
}

static void test_header_encoding(void **state)
{
	(void)state;
	uint8_t h[8];
	ns_lframe_header(0x0102030405060708ull, h);
	assert_memory_equal(h, "\x01\x02\x03\x04\x05\x06\x07\x08", 8);
	ns_lframe_header(NS_LFRAME_MAX, h);
	assert_memory_equal(h, "\x00\x00\x00\x00\x04\x00\x00\x00", 8);
}

/* A length over the limit is refused as soon as the header is complete, without waiting
 * for (or allocating) the announced bytes; the error sticks. */
static void test_too_long(void **state)
{
	(void)state;
	struct ns_lframe_dec d;
	uint8_t h[8], *f = NULL;
	size_t used, fl;
	ns_lframe_dec_init(&d, 0);
	ns_lframe_header((uint64_t)NS_LFRAME_MAX + 1, h);
	assert_int_equal(ns_lframe_feed(&d, h, 7, &used, &f, &fl), NS_LFRAME_MORE);
	assert_int_equal(used, 7);
	assert_int_equal(ns_lframe_feed(&d, h + 7, 1, &used, &f, &fl), NS_LFRAME_EBIG);
	assert_true(d.want == (uint64_t)NS_LFRAME_MAX + 1);
	assert_null(d.buf);
	assert_int_equal(ns_lframe_feed(&d, (const uint8_t *)"x", 1, &used, &f, &fl), NS_LFRAME_EBIG);
	ns_lframe_dec_free(&d);

	/* exactly the limit is fine (only the header arrives here), and 2^64-1 is refused */
	ns_lframe_dec_init(&d, 0);
	ns_lframe_header(NS_LFRAME_MAX, h);
	assert_int_equal(ns_lframe_feed(&d, h, 8, &used, &f, &fl), NS_LFRAME_MORE);
	ns_lframe_dec_free(&d);
	ns_lframe_dec_init(&d, 0);
	memset(h, 0xff, 8);
	assert_int_equal(ns_lframe_feed(&d, h, 8, &used, &f, &fl), NS_LFRAME_EBIG);
	ns_lframe_dec_free(&d);

	/* a smaller limit */
	ns_lframe_dec_init(&d, 16);
	ns_lframe_header(17, h);
	assert_int_equal(ns_lframe_feed(&d, h, 8, &used, &f, &fl), NS_LFRAME_EBIG);
	ns_lframe_dec_free(&d);
}

/* A header announcing a large frame allocates only for the bytes that came. */
static void test_no_upfront_allocation(void **state)
{
	(void)state;
	struct ns_lframe_dec d;
	uint8_t h[8], *f = NULL;
	size_t used, fl;
	ns_lframe_dec_init(&d, 0);
	ns_lframe_header(NS_LFRAME_MAX, h);
	assert_int_equal(ns_lframe_feed(&d, h, 8, &used, &f, &fl), NS_LFRAME_MORE);
	assert_int_equal(ns_lframe_feed(&d, (const uint8_t *)"abc", 3, &used, &f, &fl), NS_LFRAME_MORE);
	assert_true(d.cap <= 4096);
	ns_lframe_dec_free(&d);
}

/* ---- unsent records */

static size_t make_record(uint8_t *out, size_t cap, size_t flen, uint8_t seed)
{
	static uint8_t frag[NS_UNSENT_FRAG_MAX];
	struct ns_unsent_rec r = { .lane = 0x0102030405060708ull + seed, .fragment = frag, .len = flen };
	for (size_t i = 0; i < flen; i++)
		frag[i] = (uint8_t)(i + seed);
	for (int i = 0; i < 5; i++)
		r.frag_id[i] = (uint8_t)(seed + i);
	for (int i = 0; i < 96; i++)
		r.recipient[i] = (uint8_t)(seed * 3 + i);
	return ns_unsent_encode(&r, out, cap);
}

static void test_unsent_round_trip(void **state)
{
	(void)state;
	static uint8_t file[3 * (NS_UNSENT_OVERHEAD + NS_UNSENT_FRAG_MAX)];
	size_t lens[3] = { 1, 1000, NS_UNSENT_FRAG_MAX }, off = 0;
	char err[128];
	for (int i = 0; i < 3; i++) {
		size_t n = make_record(file + off, sizeof file - off, lens[i], (uint8_t)i);
		assert_int_equal(n, NS_UNSENT_OVERHEAD + lens[i]);
		off += n;
	}
	assert_memory_equal(file, "NSU\x01", 4);
	size_t pos = 0;
	for (int i = 0; i < 3; i++) {
		struct ns_unsent_rec r;
		size_t n = ns_unsent_decode(file + pos, off - pos, &r, err, sizeof err);
		assert_int_equal(n, NS_UNSENT_OVERHEAD + lens[i]);
		assert_int_equal(r.len, lens[i]);
		assert_true(r.lane == 0x0102030405060708ull + (uint64_t)i);
		assert_int_equal(r.frag_id[4], i + 4);
		assert_int_equal(r.recipient[95], (uint8_t)(i * 3 + 95));
		assert_int_equal(r.fragment[r.len - 1], (uint8_t)(r.len - 1 + (size_t)i));
		pos += n;
	}
	assert_int_equal(pos, off);
}

static void expect_bad(const uint8_t *rec, size_t len, const char *want)
{
	struct ns_unsent_rec r;
	char err[128] = "";
	assert_int_equal(ns_unsent_decode(rec, len, &r, err, sizeof err), 0);
	if (!strstr(err, want))
		fail_msg("error '%s' does not contain '%s'", err, want);
}

static void test_unsent_malformed(void **state)
{
	(void)state;
	static uint8_t rec[NS_UNSENT_OVERHEAD + 100], bad[sizeof rec];
	struct ns_unsent_rec r = { .len = 0 };
	size_t n = make_record(rec, sizeof rec, 100, 7);
	assert_int_equal(n, sizeof rec);

	/* every truncation */
	for (size_t cut = 0; cut < n; cut++)
		expect_bad(rec, cut, "truncated");
	/* every single flipped byte is caught (magic, version, lengths, body, checksum) */
	for (size_t i = 0; i < n; i++) {
		memcpy(bad, rec, n);
		bad[i] ^= 0x40;
		struct ns_unsent_rec out;
		assert_int_equal(ns_unsent_decode(bad, n, &out, NULL, 0), 0);
	}
	memcpy(bad, rec, n);
	bad[0] = 'X';
	expect_bad(bad, n, "bad record magic");
	memcpy(bad, rec, n);
	bad[3] = 2;
	expect_bad(bad, n, "unknown record version 2");
	memcpy(bad, rec, n);
	memcpy(bad + 4, "\x00\x00\x00\x10", 4);
	expect_bad(bad, n, "bad record length 16");
	memcpy(bad, rec, n);
	memcpy(bad + 4, "\xff\xff\xff\xff", 4);
	expect_bad(bad, n, "bad record length");
	memcpy(bad, rec, n);
	bad[8 + 112] ^= 1; /* the fragment length field */
	expect_bad(bad, n, "does not match");
	memcpy(bad, rec, n);
	bad[n - 1] ^= 1;
	expect_bad(bad, n, "checksum mismatch");
	/* the encoder refuses empty and oversize fragments and small buffers */
	uint8_t one = 1;
	r.fragment = &one;
	assert_int_equal(ns_unsent_encode(&r, bad, sizeof bad), 0);
	r.len = NS_UNSENT_FRAG_MAX + 1;
	assert_int_equal(ns_unsent_encode(&r, bad, sizeof bad), 0);
	r.len = 1;
	assert_int_equal(ns_unsent_encode(&r, bad, NS_UNSENT_OVERHEAD), 0);
	assert_int_equal(ns_unsent_encode(&r, bad, NS_UNSENT_OVERHEAD + 1), NS_UNSENT_OVERHEAD + 1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_frames_any_split),
		cmocka_unit_test(test_header_encoding),
		cmocka_unit_test(test_too_long),
		cmocka_unit_test(test_no_upfront_allocation),
		cmocka_unit_test(test_unsent_round_trip),
		cmocka_unit_test(test_unsent_malformed),
	};
	if (ns_crypto_init() != 0)
		return 1;
	return cmocka_run_group_tests(tests, NULL, NULL);
}
