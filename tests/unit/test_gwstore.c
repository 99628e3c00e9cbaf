/* The gateway store (common/gwstore.h): exact file layouts, rejection of every damaged
 * file, and the store operations on a temporary folder (durable records with mode 0600,
 * ordered inboxes, limits, purge, deletion, reopening). */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "crypto.h"
#include "gwstore.h"
#include "unit/util.h"

static struct ns_gwstore_client sample_client(void)
{
	struct ns_gwstore_client c;
	memset(&c, 0, sizeof c);
	for (int i = 0; i < 32; i++)
		c.key.bytes[i] = (uint8_t)(0xa0 + i);
	c.has_last_auth = 1;
	c.last_auth_ts = 0x0102030405060708ull;
	c.bandwidth = 68719476736LL;
	c.bandwidth_expiry = 20415;
	return c;
}

static void test_client_layout(void **state)
{
	(void)state;
	struct ns_gwstore_client c = sample_client(), d;
	uint8_t rec[NS_GWSTORE_CLIENT_REC_LEN], sum[32];
	ns_gwstore_client_encode(&c, rec);
	assert_memory_equal(rec, "NSGK\x01\x02\x00\x00", 8);
	assert_memory_equal(rec + 8, c.key.bytes, 32);
	assert_memory_equal(rec + 40, "\x01\x02\x03\x04\x05\x06\x07\x08", 8);
	assert_memory_equal(rec + 48, "\x00\x00\x00\x10\x00\x00\x00\x00", 8);
	assert_memory_equal(rec + 56, "\x00\x00\x00\x00\x00\x00\x4f\xbf", 8);
	ns_blake3(sum, rec, 64);
	assert_memory_equal(rec + 64, sum, 16);
	assert_int_equal(ns_gwstore_client_decode(rec, sizeof rec, &d), 0);
	assert_memory_equal(&d.key, &c.key, sizeof c.key);
	assert_int_equal(d.has_last_auth, 1);
	assert_true(d.last_auth_ts == c.last_auth_ts);
	assert_true(d.bandwidth == c.bandwidth && d.bandwidth_expiry == c.bandwidth_expiry);
	c.key.legacy = 1;
	c.has_last_auth = 0;
	c.last_auth_ts = 0;
	ns_gwstore_client_encode(&c, rec);
	assert_int_equal(rec[5], 1);
	assert_int_equal(ns_gwstore_client_decode(rec, sizeof rec, &d), 0);
	assert_int_equal(d.key.legacy, 1);
	assert_int_equal(d.has_last_auth, 0);
}

static void reseal(uint8_t rec[NS_GWSTORE_CLIENT_REC_LEN])
{
	uint8_t sum[32];
	ns_blake3(sum, rec, 64);
	memcpy(rec + 64, sum, 16);
}

static void test_client_rejects(void **state)
{
	(void)state;
	struct ns_gwstore_client c = sample_client(), d;
	uint8_t rec[NS_GWSTORE_CLIENT_REC_LEN + 1], bad[NS_GWSTORE_CLIENT_REC_LEN];
	ns_gwstore_client_encode(&c, rec);
	rec[NS_GWSTORE_CLIENT_REC_LEN] = 0;
	for (size_t n = 0; n <= NS_GWSTORE_CLIENT_REC_LEN + 1; n++)
		if (n != NS_GWSTORE_CLIENT_REC_LEN)
			assert_int_equal(ns_gwstore_client_decode(rec, n, &d), NS_GWSTORE_ECORRUPT);
	for (size_t i = 0; i < NS_GWSTORE_CLIENT_REC_LEN; i++) { /* any bit flip */
		memcpy(bad, rec, sizeof bad);
		bad[i] ^= 0x10;
		assert_int_equal(ns_gwstore_client_decode(bad, sizeof bad, &d), NS_GWSTORE_ECORRUPT);
	}
	/* well sealed but not canonical */
	const size_t offs[] = { 0, 4, 5, 6, 7 };
	const uint8_t vals[] = { 'X', 2, 4, 1, 1 };
	for (size_t i = 0; i < 5; i++) {
		memcpy(bad, rec, sizeof bad);
		bad[offs[i]] = vals[i];
		reseal(bad);
		assert_int_equal(ns_gwstore_client_decode(bad, sizeof bad, &d), NS_GWSTORE_ECORRUPT);
	}
	memcpy(bad, rec, sizeof bad);
	bad[5] = 0; /* no timestamp flag, but a timestamp */
	reseal(bad);
	assert_int_equal(ns_gwstore_client_decode(bad, sizeof bad, &d), NS_GWSTORE_ECORRUPT);
	assert_int_equal(ns_gwstore_client_decode(NULL, 80, &d), NS_GWSTORE_EARG);
}

static void test_msg_layout(void **state)
{
	(void)state;
	const uint8_t msg[5] = { 1, 2, 3, 4, 5 };
	uint8_t out[64], sum[32];
	uint64_t at;
	const uint8_t *m;
	size_t n;
	assert_int_equal(ns_gwstore_msg_encode(0x1122334455667788ull, msg, 5, out, 40), NS_GWSTORE_EARG);
	assert_int_equal(ns_gwstore_msg_encode(0x1122334455667788ull, msg, 5, out, sizeof out), 41);
	assert_memory_equal(out, "NSGM\x01\x00\x00\x00\x11\x22\x33\x44\x55\x66\x77\x88\x00\x00\x00\x05", 20);
	assert_memory_equal(out + 20, msg, 5);
	ns_blake3(sum, out, 25);
	assert_memory_equal(out + 25, sum, 16);
	assert_int_equal(ns_gwstore_msg_decode(out, 41, &at, &m, &n), 0);
	assert_true(at == 0x1122334455667788ull);
	assert_int_equal(n, 5);
	assert_ptr_equal(m, out + 20);
	/* truncation, extension, any bit flip */
	for (size_t len = 0; len < 41; len++)
		assert_int_equal(ns_gwstore_msg_decode(out, len, &at, &m, &n), NS_GWSTORE_ECORRUPT);
	out[41] = 0;
	assert_int_equal(ns_gwstore_msg_decode(out, 42, &at, &m, &n), NS_GWSTORE_ECORRUPT);
	for (size_t i = 0; i < 41; i++) {
		uint8_t bad[41];
		memcpy(bad, out, 41);
		bad[i] ^= 1;
		assert_int_equal(ns_gwstore_msg_decode(bad, 41, &at, &m, &n), NS_GWSTORE_ECORRUPT);
	}
	/* a length field claiming more than the maximum */
	uint8_t big[64];
	memcpy(big, out, 41);
	big[16] = 0x7f;
	assert_int_equal(ns_gwstore_msg_decode(big, 41, &at, &m, &n), NS_GWSTORE_ECORRUPT);
	assert_int_equal(ns_gwstore_msg_encode(0, msg, NS_GWSTORE_MSG_MAX + 1, out, sizeof out),
	                 NS_GWSTORE_EARG);
}

struct fixture {
	char dir[64];
	struct ns_gwstore *s;
};

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof *f);
	strcpy(f->dir, "/tmp/test_gwstore.XXXXXX");
	if (!mkdtemp(f->dir))
		return -1;
	strcat(f->dir, "/store");
	struct ns_gwstore_limits lim = { .max_messages = 5, .max_bytes = 1 << 20 };
	if (ns_gwstore_open(f->dir, &lim, &f->s) != 0)
		return -1;
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;
	ns_gwstore_close(f->s);
	char cmd[160];
	snprintf(cmd, sizeof cmd, "rm -rf '%.*s'", (int)(strlen(f->dir) - 6), f->dir);
	if (system(cmd) != 0)
		return -1;
	free(f);
	return 0;
}

static const uint8_t ADDR[32] = { 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16,
	                          17, 18, 19, 20, 21, 22, 23, 24, 25, 26, 27, 28, 29, 30, 31, 32 };

static void test_client_records(void **state)
{
	struct fixture *f = *state;
	struct ns_gwstore_client c = sample_client(), d;
	char path[256];
	struct stat st;
	assert_int_equal(ns_gwstore_client_get(f->s, ADDR, &d), NS_GWSTORE_ENOENT);
	assert_int_equal(ns_gwstore_client_put(f->s, ADDR, &c), 0);
	snprintf(path, sizeof path,
	         "%s/clients/0102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f20", f->dir);
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0600);
	assert_int_equal(st.st_size, NS_GWSTORE_CLIENT_REC_LEN);
	assert_int_equal(ns_gwstore_client_get(f->s, ADDR, &d), 0);
	assert_memory_equal(d.key.bytes, c.key.bytes, 32);
	c.bandwidth = 5;
	assert_int_equal(ns_gwstore_client_put(f->s, ADDR, &c), 0); /* replace */
	assert_int_equal(ns_gwstore_client_get(f->s, ADDR, &d), 0);
	assert_true(d.bandwidth == 5);
	/* survives reopening */
	ns_gwstore_close(f->s);
	assert_int_equal(ns_gwstore_open(f->dir, NULL, &f->s), 0);
	assert_int_equal(ns_gwstore_client_get(f->s, ADDR, &d), 0);
	/* a damaged file is never trusted */
	FILE *fp = fopen(path, "r+b");
	assert_non_null(fp);
	fseek(fp, 10, SEEK_SET);
	fputc(0xff, fp);
	fclose(fp);
	assert_int_equal(ns_gwstore_client_get(f->s, ADDR, &d), NS_GWSTORE_ECORRUPT);
	assert_int_equal(ns_gwstore_client_delete(f->s, ADDR), 0);
	assert_int_equal(ns_gwstore_client_get(f->s, ADDR, &d), NS_GWSTORE_ENOENT);
}

static void test_inbox(void **state)
{
	struct fixture *f = *state;
	uint64_t ids[16], id[6];
	uint8_t buf[NS_GWSTORE_MSG_MAX];
	size_t len, count;
	uint64_t bytes;
	assert_int_equal(ns_gwstore_inbox_list(f->s, ADDR, 0, ids, 16), 0);
	for (int i = 0; i < 5; i++) {
		uint8_t m[100];
		memset(m, 'a' + i, sizeof m);
		assert_int_equal(ns_gwstore_inbox_put(f->s, ADDR, m, (size_t)(10 + i), &id[i]), 0);
		if (i)
			assert_true(id[i] > id[i - 1]);
	}
	assert_int_equal(ns_gwstore_inbox_put(f->s, ADDR, buf, 1, NULL), NS_GWSTORE_EFULL);
	assert_int_equal(ns_gwstore_inbox_usage(f->s, ADDR, &count, &bytes), 0);
	assert_int_equal(count, 5);
	assert_true(bytes == 10 + 11 + 12 + 13 + 14 + 5 * NS_GWSTORE_MSG_OVERHEAD);
	assert_int_equal(ns_gwstore_inbox_list(f->s, ADDR, 0, ids, 3), 3);
	assert_memory_equal(ids, id, 3 * sizeof *ids);
	assert_int_equal(ns_gwstore_inbox_list(f->s, ADDR, id[2], ids, 16), 2);
	assert_true(ids[0] == id[3] && ids[1] == id[4]);
	assert_int_equal(ns_gwstore_inbox_read(f->s, ADDR, id[1], buf, sizeof buf, &len), 0);
	assert_int_equal(len, 11);
	assert_int_equal(buf[0], 'b');
	assert_int_equal(ns_gwstore_inbox_read(f->s, ADDR, id[1], buf, 5, &len), NS_GWSTORE_EARG);
	assert_int_equal(ns_gwstore_inbox_remove(f->s, ADDR, id[1]), 0);
	assert_int_equal(ns_gwstore_inbox_remove(f->s, ADDR, id[1]), NS_GWSTORE_ENOENT);
	assert_int_equal(ns_gwstore_inbox_read(f->s, ADDR, id[1], buf, sizeof buf, &len),
	                 NS_GWSTORE_ENOENT);
	/* a truncated message file reads as corrupt and is purged */
	char path[300];
	snprintf(path, sizeof path,
	         "%s/inbox/0102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f20/%016llx.msg",
	         f->dir, (unsigned long long)id[0]);
	assert_int_equal(truncate(path, 30), 0);
	assert_int_equal(ns_gwstore_inbox_read(f->s, ADDR, id[0], buf, sizeof buf, &len),
	                 NS_GWSTORE_ECORRUPT);
	assert_int_equal(ns_gwstore_purge(f->s, 0), 1);
	assert_int_equal(ns_gwstore_inbox_list(f->s, ADDR, 0, ids, 16), 3);
	/* everything stored before "now + 10 s" is old */
	assert_int_equal(ns_gwstore_purge(f->s, (uint64_t)time(NULL) + 10), 3);
	assert_int_equal(ns_gwstore_inbox_list(f->s, ADDR, 0, ids, 16), 0);
	/* deleting a client removes its inbox */
	assert_int_equal(ns_gwstore_inbox_put(f->s, ADDR, buf, 3, NULL), 0);
	assert_int_equal(ns_gwstore_client_delete(f->s, ADDR), 0);
	assert_int_equal(ns_gwstore_inbox_list(f->s, ADDR, 0, ids, 16), 0);
}

static void test_bad_args(void **state)
{
	(void)state;
	struct ns_gwstore *s;
	assert_int_equal(ns_gwstore_open(NULL, NULL, &s), NS_GWSTORE_EARG);
	assert_int_equal(ns_gwstore_open("", NULL, &s), NS_GWSTORE_EARG);
	assert_int_equal(ns_gwstore_open("/proc/nonexistent/x", NULL, &s), NS_GWSTORE_EIO);
	assert_string_equal(ns_gwstore_strerror(NS_GWSTORE_EFULL), "client inbox full");
}

int main(void)
{
	ns_crypto_init();
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_client_layout),
		cmocka_unit_test(test_client_rejects),
		cmocka_unit_test(test_msg_layout),
		cmocka_unit_test_setup_teardown(test_client_records, setup, teardown),
		cmocka_unit_test_setup_teardown(test_inbox, setup, teardown),
		cmocka_unit_test(test_bad_args),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
