/* Client authentication: authenticateV2 of the real client, the gateway's checks and
 * their boundaries, v1 authentication with both key kinds, protocol negotiation. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdlib.h>
#include <string.h>

#include "crypto.h"
#include "gateway/auth.h"
#include "gateway/errors.h"
#include "unit/util.h"

static const char *SEED = "03a078230b8d834e7aff100f6d20903744e1589b46c7f51de2a8ba50191c8619";
static const char *KEY = "6051514a280a7aad9cdcfe9065c324919e65a5b98b069d1f48b03159f188e4dc";
static const char *NONCE = "0b6cf9d6ba8d85ad63b73049";
static const char *CT = "1d10bc026242a682915f464225c950c30f8fd7da5dafa6a37991690308948c05a4a7746df26fd64c4d60fe2fa0bf83c7";
static const char *SIG = "69f7ef011f7e2374ef631f3c27f753fba387a06729e33ca09756e0b3dbda1e1079cfbf7c84201f0c49134d8ad109f8f89f5b0f0fb497992e1bdda6b36bebc305";
static const uint64_t TS = 1795414266;

struct fx {
	uint8_t seed[32], nonce[12], ct[48], sig[64];
	struct ns_gw_key key;
	struct ns_gw_auth_v2 a;
};

static void load(struct fx *f)
{
	memset(f, 0, sizeof *f);
	assert_int_equal(util_unhex(SEED, f->seed, 32), 32);
	assert_int_equal(util_unhex(KEY, f->key.bytes, 32), 32);
	assert_int_equal(util_unhex(NONCE, f->nonce, 12), 12);
	assert_int_equal(util_unhex(CT, f->ct, 48), 48);
	assert_int_equal(util_unhex(SIG, f->sig, 64), 64);
	assert_int_equal(ns_gw_auth_v2_build_det(&f->a, &f->key, f->seed, f->nonce, 12, TS), 0);
}

static void test_vector_request(void **state)
{
	struct fx f;
	uint8_t msg[NS_GW_AUTH_V2_MSG_MAX];
	size_t n;
	(void)state;
	load(&f);
	assert_int_equal(f.a.protocol_version, 4);
	assert_int_equal(f.a.address_ciphertext_len, 48);
	assert_memory_equal(f.a.address_ciphertext, f.ct, 48);
	assert_memory_equal(f.a.signature, f.sig, 64);
	assert_int_equal(ns_gw_auth_v2_message(&f.a, msg, sizeof msg, &n), 0);
	assert_int_equal(n, 101);
	assert_int_equal(msg[0], 4);
	assert_memory_equal(msg + 33, f.ct, 48);
	assert_memory_equal(msg + 81, f.nonce, 12);
	assert_int_equal(msg[93 + 4], (TS >> 24) & 0xff);
	assert_int_equal(ns_gw_auth_v2_message(&f.a, msg, 100, &n), NS_GW_EARG);
	assert_int_equal(ns_gw_auth_v2_verify(&f.a, &f.key, TS, 0, 120, NULL), 0);
	/* wrong nonce length for the key */
	assert_int_equal(ns_gw_auth_v2_build_det(&f.a, &f.key, f.seed, f.nonce, 16, TS), NS_GW_EMALFORMED_NONCE);
}

static void test_timestamp_window(void **state)
{
	struct fx f;
	(void)state;
	load(&f);
	assert_int_equal(ns_gw_auth_v2_check_timestamp(&f.a, TS + 120, 0, 120), 0);
	assert_int_equal(ns_gw_auth_v2_check_timestamp(&f.a, TS + 120, 1, 120), NS_GW_EAUTH_SKEW);
	assert_int_equal(ns_gw_auth_v2_check_timestamp(&f.a, TS + 121, 0, 120), NS_GW_EAUTH_SKEW);
	assert_int_equal(ns_gw_auth_v2_check_timestamp(&f.a, TS - 120, 999999999, 120), 0);
	assert_int_equal(ns_gw_auth_v2_check_timestamp(&f.a, TS - 121, 999999999, 120), NS_GW_EAUTH_SKEW);
	f.a.timestamp = UINT64_MAX;
	assert_int_equal(ns_gw_auth_v2_check_timestamp(&f.a, TS, 0, 120), NS_GW_EAUTH_SKEW);
	f.a.timestamp = 0;
	assert_int_equal(ns_gw_auth_v2_check_timestamp(&f.a, TS, 0, 120), NS_GW_EAUTH_SKEW);
	assert_int_equal(ns_gw_auth_v2_check_timestamp(&f.a, 0, 0, 120), 0);
}

static void test_gateway_refusals(void **state)
{
	struct fx f;
	struct ns_gw_auth_v2 t;
	struct ns_gw_key other;
	uint64_t last;
	(void)state;
	load(&f);
	t = f.a;
	t.signature[5] ^= 1;
	assert_int_equal(ns_gw_auth_v2_verify(&t, &f.key, TS, 0, 120, NULL), NS_GW_EAUTH_SIGNATURE);
	t = f.a;
	t.timestamp++; /* signed field changed */
	assert_int_equal(ns_gw_auth_v2_verify(&t, &f.key, TS, 0, 120, NULL), NS_GW_EAUTH_SIGNATURE);
	t = f.a;
	t.protocol_version = 6;
	assert_int_equal(ns_gw_auth_v2_verify(&t, &f.key, TS, 0, 120, NULL), NS_GW_EPROTOCOL);
	assert_int_equal(ns_gw_auth_v2_verify(&f.a, NULL, TS, 0, 120, NULL), NS_GW_ENOT_REGISTERED);
	other = f.key;
	other.bytes[31] ^= 1;
	assert_int_equal(ns_gw_auth_v2_verify(&f.a, &other, TS, 0, 120, NULL), NS_GW_EAUTH_CIPHERTEXT);
	last = TS - 1;
	assert_int_equal(ns_gw_auth_v2_verify(&f.a, &f.key, TS, 0, 120, &last), 0);
	last = TS;
	assert_int_equal(ns_gw_auth_v2_verify(&f.a, &f.key, TS, 0, 120, &last), NS_GW_EAUTH_REUSE);
	/* a ciphertext that signs correctly but was made under another key */
	assert_int_equal(ns_gw_auth_v2_build_det(&t, &other, f.seed, f.nonce, 12, TS), 0);
	assert_int_equal(ns_gw_auth_v2_verify(&t, &f.key, TS, 0, 120, NULL), NS_GW_EAUTH_CIPHERTEXT);
	/* bad nonce length in a received request */
	t = f.a;
	t.nonce_len = 11;
	assert_int_equal(ns_gw_auth_v2_check_ciphertext(&t, &f.key), NS_GW_EMALFORMED_NONCE);
}

static void test_legacy_key_v2(void **state)
{
	struct ns_gw_key key = {0};
	struct ns_gw_auth_v2 a;
	uint8_t seed[32], msg[NS_GW_AUTH_V2_MSG_MAX];
	size_t n;
	(void)state;
	key.legacy = 1;
	ns_random(key.bytes, 32);
	ns_random(seed, 32);
	assert_int_equal(ns_gw_auth_v2_build(&a, &key, seed, 1000), 0);
	assert_int_equal(a.address_ciphertext_len, 64);
	assert_int_equal(a.nonce_len, 16);
	assert_int_equal(ns_gw_auth_v2_message(&a, msg, sizeof msg, &n), 0);
	assert_int_equal(n, 1 + 32 + 64 + 16 + 8);
	assert_int_equal(ns_gw_auth_v2_verify(&a, &key, 1000, 0, 120, NULL), 0);
}

static void v1_case(int legacy, int creds, uint8_t want_proto)
{
	struct ns_gw_key key = {0};
	struct ns_gw_request r;
	uint8_t address[32], back[32];
	char *saved;
	key.legacy = legacy;
	ns_random(key.bytes, 32);
	ns_random(address, 32);
	assert_int_equal(ns_gw_auth_v1_build(&r, &key, address, creds), 0);
	assert_int_equal(r.type, NS_GW_REQ_AUTHENTICATE);
	assert_int_equal(r.protocol_version, want_proto);
	assert_int_equal(ns_gw_auth_v1_address(&r, back), 0);
	assert_memory_equal(back, address, 32);
	assert_int_equal(ns_gw_auth_v1_verify(&r, &key), 0);
	key.bytes[0] ^= 1;
	assert_int_equal(ns_gw_auth_v1_verify(&r, &key), NS_GW_EAUTH_CIPHERTEXT);
	key.bytes[0] ^= 1;
	saved = r.iv_b58;
	r.iv_b58 = "11111111111111"; /* a nonce of the wrong length */
	assert_int_equal(ns_gw_auth_v1_verify(&r, &key), NS_GW_EAUTH_CIPHERTEXT);
	r.iv_b58 = "0OIl"; /* not base58 */
	assert_int_equal(ns_gw_auth_v1_verify(&r, &key), NS_GW_EBASE58);
	r.iv_b58 = saved;
	saved = r.address;
	r.address = "2g"; /* one byte */
	assert_int_equal(ns_gw_auth_v1_verify(&r, &key), NS_GW_EBASE58);
	r.address = saved;
	ns_gw_request_free(&r);
}

static void test_v1(void **state)
{
	(void)state;
	v1_case(0, 0, 3);
	v1_case(1, 0, 1);
	v1_case(1, 1, 2);
}

static void test_negotiation(void **state)
{
	uint8_t v;
	(void)state;
	assert_int_equal(ns_gw_negotiate_protocol(0, 0, &v), 0);
	assert_int_equal(v, 1);
	for (uint8_t c = 1; c <= 4; c++) {
		assert_int_equal(ns_gw_negotiate_protocol(1, c, &v), 0);
		assert_int_equal(v, c);
	}
	assert_int_equal(ns_gw_negotiate_protocol(1, 5, &v), 0);
	assert_int_equal(v, 5);
	assert_int_equal(ns_gw_negotiate_protocol(1, 0, &v), 0);
	assert_int_equal(v, 5);
	assert_int_equal(ns_gw_negotiate_protocol(1, 6, &v), NS_GW_EPROTOCOL);
	assert_int_equal(ns_gw_negotiate_protocol(1, 255, &v), NS_GW_EPROTOCOL);
	assert_int_equal(ns_gw_check_gateway_protocol(0, 0), 0);
	assert_int_equal(ns_gw_check_gateway_protocol(1, 5), 0);
	assert_int_equal(ns_gw_check_gateway_protocol(1, 6), NS_GW_EPROTOCOL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_vector_request),
		cmocka_unit_test(test_timestamp_window),
		cmocka_unit_test(test_gateway_refusals),
		cmocka_unit_test(test_legacy_key_v2),
		cmocka_unit_test(test_v1),
		cmocka_unit_test(test_negotiation),
	};
	if (ns_crypto_init() != 0)
		return 1;
	return cmocka_run_group_tests(tests, NULL, NULL);
}
