/* The key Worker's sealed key store (wasm/c/nsw_keystore.c) and keyd built from it
 * (wasm/c/nsw_keyd.c), natively: round trips with and without a passphrase; a wrong, missing,
 * unexpected or empty passphrase, another clientId, every flipped byte, every truncation and
 * out-of-bounds Argon2 parameters refused; keyd from a sealed record answers an
 * authentication and emits the record sealed again with the new timestamp, and no event
 * carries a key in clear. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "bytes.h"
#include "crypto.h"
#include "ipc_codec.h"
#include "nsw_api.h"
#include "nsw_keystore.h"
#include "nsw_outbox.h"

static const uint8_t ID[] = "my-client";
static const uint8_t URL[] = "ws://127.0.0.1:9000";
static const uint8_t GW[32] = { 7, 7, 7 };
#define PASS(s) (const uint8_t *)(s), strlen(s)

static int setup(void **state)
{
	(void)state;
	return ns_crypto_init();
}

static uint8_t *sealed_of(struct nsw_keystore *ks, size_t *len)
{
	*len = nsw_keystore_sealed_len(ks);
	uint8_t *out = malloc(*len);
	assert_int_equal(nsw_keystore_seal(ks, out, *len), (long)*len);
	return out;
}

static void test_round_trip_passphrase(void **state)
{
	(void)state;
	int err = 1;
	struct nsw_keystore *ks = nsw_keystore_create(ID, sizeof ID - 1, PASS("correct horse"), GW,
	                                              URL, sizeof URL - 1, &err);
	assert_non_null(ks);
	assert_int_equal(err, 0);
	uint8_t addr[96], addr2[96], gw[32];
	nsw_keystore_address(ks, addr);
	size_t len, len2;
	uint8_t *s1 = sealed_of(ks, &len), *s2 = sealed_of(ks, &len2);
	assert_int_equal(len, NSW_KS_HEADER_LEN + NSW_KEYD_KEYS_LEN + 2 + sizeof URL - 1 + 16);
	assert_memory_not_equal(s1, s2, len); /* a fresh nonce each time */
	assert_int_equal(s1[5], 1);
	assert_int_equal(ns_get_be32(s1 + 6), NSW_KS_OPS);
	assert_int_equal(ns_get_be32(s1 + 10), NSW_KS_MEM_KIB);
	nsw_keystore_free(ks);

	ks = nsw_keystore_open(s2, len, ID, sizeof ID - 1, PASS("correct horse"), &err);
	assert_non_null(ks);
	nsw_keystore_address(ks, addr2);
	assert_memory_equal(addr, addr2, 96);
	nsw_keystore_gateway(ks, gw);
	assert_memory_equal(gw, GW, 32);
	assert_memory_equal(addr + 64, GW, 32);
	assert_string_equal(nsw_keystore_url(ks), (const char *)URL);
	assert_int_equal(nsw_keystore_registered(ks), 0);
	nsw_keystore_free(ks);

	assert_null(nsw_keystore_open(s1, len, ID, sizeof ID - 1, PASS("correct hors"), &err));
	assert_int_equal(err, NSW_KS_EOPEN);
	assert_null(nsw_keystore_open(s1, len, ID, sizeof ID - 1, NULL, 0, &err));
	assert_int_equal(err, NSW_KS_ENEEDPASS);
	assert_null(nsw_keystore_open(s1, len, ID, sizeof ID - 1, (const uint8_t *)"", 0, &err));
	assert_int_equal(err, NSW_KS_EARG);
	assert_null(nsw_keystore_open(s1, len, (const uint8_t *)"other", 5, PASS("correct horse"), &err));
	assert_int_equal(err, NSW_KS_EOPEN);
	/* parameters past the bounds are refused before any Argon2 work */
	s1[9] = NSW_KS_OPS_MAX + 1;
	assert_null(nsw_keystore_open(s1, len, ID, sizeof ID - 1, PASS("correct horse"), &err));
	assert_int_equal(err, NSW_KS_EFORMAT);
	s1[9] = NSW_KS_OPS;
	ns_put_be32(s1 + 10, NSW_KS_MEM_KIB_MAX + 1);
	assert_null(nsw_keystore_open(s1, len, ID, sizeof ID - 1, PASS("correct horse"), &err));
	assert_int_equal(err, NSW_KS_EFORMAT);
	ns_put_be32(s1 + 10, NSW_KS_MEM_KIB);
	s1[20] ^= 1; /* the salt: another key */
	assert_null(nsw_keystore_open(s1, len, ID, sizeof ID - 1, PASS("correct horse"), &err));
	assert_int_equal(err, NSW_KS_EOPEN);
	free(s1);
	free(s2);
}

static void test_no_passphrase_and_tampering(void **state)
{
	(void)state;
	int err;
	assert_null(nsw_keystore_create(ID, sizeof ID - 1, (const uint8_t *)"", 0, GW, URL, sizeof URL - 1, &err));
	assert_int_equal(err, NSW_KS_EARG);
	assert_null(nsw_keystore_create(ID, sizeof ID - 1, NULL, 0, GW, (const uint8_t *)"ws://a b", 8, &err));
	assert_int_equal(err, NSW_KS_EARG);
	struct nsw_keystore *ks = nsw_keystore_create(ID, sizeof ID - 1, NULL, 0, GW, URL, sizeof URL - 1, &err);
	assert_non_null(ks);
	size_t len;
	uint8_t *s = sealed_of(ks, &len);
	nsw_keystore_free(ks);
	assert_int_equal(s[5], 0);
	ks = nsw_keystore_open(s, len, ID, sizeof ID - 1, NULL, 0, &err);
	assert_non_null(ks);
	nsw_keystore_free(ks);
	assert_null(nsw_keystore_open(s, len, ID, sizeof ID - 1, PASS("x"), &err));
	assert_int_equal(err, NSW_KS_EUNEXPECTED);
	for (size_t i = 0; i < len; i++) {
		for (int bit = 0; bit < 8; bit += 7) {
			s[i] ^= (uint8_t)(1 << bit);
			ks = nsw_keystore_open(s, len, ID, sizeof ID - 1, NULL, 0, &err);
			if (ks)
				fail_msg("byte %zu bit %d flipped: opened", i, bit);
			assert_true(err < 0);
			s[i] ^= (uint8_t)(1 << bit);
		}
	}
	for (size_t n = 0; n < len; n++) {
		assert_null(nsw_keystore_open(s, n, ID, sizeof ID - 1, NULL, 0, &err));
		assert_true(err < 0);
	}
	uint8_t *longer = calloc(1, len + 1);
	memcpy(longer, s, len);
	assert_null(nsw_keystore_open(longer, len + 1, ID, sizeof ID - 1, NULL, 0, &err));
	free(longer);
	free(s);
}

/* A mode-0 record made here from the documented format, with a gateway shared key. */
static uint8_t *record(const uint8_t keys[NSW_KEYD_KEYS_LEN], size_t *len)
{
	size_t ul = sizeof URL - 1, pl = NSW_KEYD_KEYS_LEN + 2 + ul;
	uint8_t zero[32] = { 0 }, plain[NSW_KEYD_KEYS_LEN + 2 + 64], aad[NSW_KS_HEADER_LEN + 16];
	*len = NSW_KS_HEADER_LEN + pl + 16;
	uint8_t *r = calloc(1, *len);
	memcpy(r, "NSKS\1\0", 6);
	ns_random(r + 30, 12);
	memcpy(plain, keys, NSW_KEYD_KEYS_LEN);
	ns_put_be16(plain + NSW_KEYD_KEYS_LEN, (uint16_t)ul);
	memcpy(plain + NSW_KEYD_KEYS_LEN + 2, URL, ul);
	memcpy(aad, r, NSW_KS_HEADER_LEN);
	memcpy(aad + NSW_KS_HEADER_LEN, ID, sizeof ID - 1);
	assert_int_equal(ns_gcmsiv_seal(r + NSW_KS_HEADER_LEN, plain, pl, aad,
	                                NSW_KS_HEADER_LEN + sizeof ID - 1, zero, r + 30), 0);
	return r;
}

static int opens(const uint8_t *r, size_t len, uint8_t *plain)
{
	uint8_t zero[32] = { 0 }, aad[NSW_KS_HEADER_LEN + 16];
	memcpy(aad, r, NSW_KS_HEADER_LEN);
	memcpy(aad + NSW_KS_HEADER_LEN, ID, sizeof ID - 1);
	return ns_gcmsiv_open(plain, r + NSW_KS_HEADER_LEN, len - NSW_KS_HEADER_LEN, aad,
	                      NSW_KS_HEADER_LEN + sizeof ID - 1, zero, r + 30);
}

static int contains(const uint8_t *hay, size_t n, const uint8_t *needle, size_t m)
{
	for (size_t i = 0; i + m <= n; i++)
		if (!memcmp(hay + i, needle, m))
			return 1;
	return 0;
}

static void test_keyd_reseals(void **state)
{
	(void)state;
	uint8_t keys[NSW_KEYD_KEYS_LEN] = { 0 };
	ns_random(keys, 80);
	memcpy(keys + 80, GW, 32);
	keys[112] = 1;
	ns_random(keys + 113, 32);
	size_t len;
	uint8_t *r = record(keys, &len);
	int err;
	assert_null(nsw_keyd_new_sealed(r, len, (const uint8_t *)"x", 1, NULL, 0, &err));
	assert_int_equal(err, NSW_KS_EOPEN);
	struct nsw_keyd *k = nsw_keyd_new_sealed(r, len, ID, sizeof ID - 1, NULL, 0, &err);
	assert_non_null(k);
	nsw_keyd_start(k);

	struct ns_ipc_msg m = { .type = NS_IPC_T_GW_AUTH_REQUEST };
	m.u.GW_AUTH_REQUEST.gateway_identity = NS_IPC_BYTES(GW, 32);
	m.u.GW_AUTH_REQUEST.protocol = 4;
	m.u.GW_AUTH_REQUEST.timestamp = 1700000000;
	uint8_t dg[NS_IPC_MAX_DATAGRAM];
	size_t dl = 0;
	assert_int_equal(ns_ipc_encode(&m, dg, sizeof dg, &dl), 0);
	assert_int_equal(nsw_keyd_feed(k, NS_IPC_NETD, dg, dl), 0);

	int sealed_events = 0, auth_texts = 0;
	struct nsw_event *ev;
	while ((ev = nsw_keyd_next(k))) {
		const uint8_t *d = nsw_event_data(ev);
		size_t n = nsw_event_len(ev);
		assert_false(contains(d, n, keys, 32));      /* identity seed */
		assert_false(contains(d, n, keys + 32, 32)); /* x25519 secret */
		assert_false(contains(d, n, keys + 113, 32)); /* gateway shared key */
		if (nsw_event_kind(ev) == NSW_EV_KEYS_SEALED) {
			uint8_t plain[NSW_KEYD_KEYS_LEN + 2 + 64];
			assert_int_equal(n, len);
			assert_int_equal(opens(d, n, plain), 0);
			assert_memory_equal(plain, keys, 145);
			uint64_t ts = 0;
			for (int i = 7; i >= 0; i--)
				ts = ts << 8 | plain[145 + i];
			assert_int_equal(ts, 1700000000);
			sealed_events++;
		}
		if (nsw_event_kind(ev) == NSW_EV_DATAGRAM && nsw_event_arg(ev, 0) == NS_IPC_NETD)
			auth_texts++;
		nsw_event_free(ev);
	}
	assert_int_equal(sealed_events, 1);
	assert_int_equal(auth_texts, 1);
	nsw_keyd_free(k);
	free(r);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_round_trip_passphrase),
		cmocka_unit_test(test_no_passphrase_and_tampering),
		cmocka_unit_test(test_keyd_reseals),
	};
	return cmocka_run_group_tests(tests, setup, NULL);
}
