/* Registration handshake: the real client's session byte for byte, both roles
 * together (AES and legacy), and every malformed or hostile message. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <string.h>

#include "crypto.h"
#include "gateway/errors.h"
#include "gateway/handshake.h"
#include "unit/util.h"

/* From tests/vectors/real-client-packets.json, gateway.registration. */
static const char *C_SEED = "03a078230b8d834e7aff100f6d20903744e1589b46c7f51de2a8ba50191c8619";
static const char *G_SEED = "6d0512c47ae15d08c3cfd4d0edbb89ce423e314be07a77aab52d09a9984d785e";
static const char *G_PUB = "abd56789daba0c2d490b5d6009e14f67ecf4bc6d8bcf9f062cf66a50af2fb562";
static const char *C_EPH = "8f3bd1bc3b8185ca8358731b6a148d0909d9137163e251264a4b78b7fde648a7";
static const char *G_EPH = "903c8991e1e3f0fecee2d734123a00599857183d8cea4ea52db3a6d17fffc17f";
static const char *SALT = "fb2f3e6e1cbe285239733c87bb58cc0f";
static const char *G_NONCE = "c28ec805471b720194b2cabe";
static const char *C_NONCE = "5c19b9eb520ad34deedb8cb1";
static const char *H1 = "bd81061698396d54822c8fd78fcef9babd077e23c37b54ff4437929d706929bb72af2be7d89162f595e6f7e56f460dc1ccb63b8dfa426a661e318e2c3e23934efb2f3e6e1cbe285239733c87bb58cc0f";
static const char *H3 = "f0640c9816f24bb3cc84fe97fa4a231451bc7cf7705b85f3a546a904726dc00e648b59921036aa95bfe6bad9aa52683b4827106ad9f9d8e48776de88e9a4ab08da11b6094c60cf525dc6f4730503d2245c19b9eb520ad34deedb8cb1";
static const char *KEY = "6051514a280a7aad9cdcfe9065c324919e65a5b98b069d1f48b03159f188e4dc";

struct fixture {
	uint8_t c_seed[32], g_seed[32], g_pub[32], c_eph[32], g_eph[32], salt[16], g_nonce[12],
		c_nonce[12], h1[80], h3[92], key[32];
};

static void load(struct fixture *f)
{
	assert_int_equal(util_unhex(C_SEED, f->c_seed, 32), 32);
	assert_int_equal(util_unhex(G_SEED, f->g_seed, 32), 32);
	assert_int_equal(util_unhex(G_PUB, f->g_pub, 32), 32);
	assert_int_equal(util_unhex(C_EPH, f->c_eph, 32), 32);
	assert_int_equal(util_unhex(G_EPH, f->g_eph, 32), 32);
	assert_int_equal(util_unhex(SALT, f->salt, 16), 16);
	assert_int_equal(util_unhex(G_NONCE, f->g_nonce, 12), 12);
	assert_int_equal(util_unhex(C_NONCE, f->c_nonce, 12), 12);
	assert_int_equal(util_unhex(H1, f->h1, 80), 80);
	assert_int_equal(util_unhex(H3, f->h3, 92), 92);
	assert_int_equal(util_unhex(KEY, f->key, 32), 32);
}

/* Runs the vector session up to H2 on both sides; h2 receives the gateway's H2. */
static void start(const struct fixture *f, struct ns_gw_hs *c, struct ns_gw_hs *g, uint8_t h2[124])
{
	uint8_t out[NS_GW_HS_MAX_LEN];
	size_t n;
	ns_gw_hs_client_begin(c, f->c_seed, f->g_pub, 1, 0);
	ns_gw_hs_gateway_begin(g, f->g_seed);
	assert_int_equal(ns_gw_hs_client_h1_det(c, f->c_eph, f->salt, out, sizeof out, &n), 0);
	assert_int_equal(n, 80);
	assert_memory_equal(out, f->h1, 80);
	assert_int_equal(ns_gw_hs_gateway_h2_det(g, out, n, f->g_eph, f->g_nonce, h2, 124, &n), 0);
	assert_int_equal(n, 124);
}

static void test_vector_session(void **state)
{
	struct fixture f;
	struct ns_gw_hs c, g;
	struct ns_gw_key kc, kg;
	uint8_t h2[124], out[NS_GW_HS_MAX_LEN];
	size_t n;
	(void)state;
	load(&f);
	start(&f, &c, &g, h2);
	assert_int_equal(ns_gw_hs_key(&c, &kc), NS_GW_ESTATE);
	assert_int_equal(ns_gw_hs_client_h3_det(&c, h2, 124, f.c_nonce, out, sizeof out, &n), 0);
	assert_int_equal(n, 92);
	assert_memory_equal(out, f.h3, 92);
	assert_int_equal(ns_gw_hs_gateway_h4(&g, out, n, out, sizeof out, &n), 0);
	assert_int_equal(n, 1);
	assert_int_equal(out[0], 1);
	assert_int_equal(ns_gw_hs_client_finish(&c, out, 1), 0);
	assert_true(ns_gw_hs_done(&c) && ns_gw_hs_done(&g));
	assert_int_equal(ns_gw_hs_key(&c, &kc), 0);
	assert_int_equal(ns_gw_hs_key(&g, &kg), 0);
	assert_memory_equal(kc.bytes, f.key, 32);
	assert_memory_equal(kg.bytes, f.key, 32);
	assert_int_equal(kc.legacy, 0);
	assert_int_equal(ns_gw_hs_protocol_version(&c), 3);
	ns_gw_hs_clear(&c);
	ns_gw_hs_clear(&g);
}

static void run_random(int aes, int creds, uint8_t want_proto)
{
	uint8_t seed_c[32], seed_g[32], pk[32], sk[64], m1[NS_GW_HS_MAX_LEN], m2[NS_GW_HS_MAX_LEN],
		m3[NS_GW_HS_MAX_LEN], m4[4];
	size_t n1, n2, n3, n4;
	struct ns_gw_hs c, g;
	struct ns_gw_key kc, kg;
	ns_random(seed_c, 32);
	ns_random(seed_g, 32);
	ns_ed25519_from_seed(pk, sk, seed_g);
	ns_gw_hs_client_begin(&c, seed_c, pk, aes, creds);
	ns_gw_hs_gateway_begin(&g, seed_g);
	assert_int_equal(ns_gw_hs_client_h1(&c, m1, sizeof m1, &n1), 0);
	assert_int_equal(n1, aes ? 80 : 64);
	assert_int_equal(ns_gw_hs_gateway_h2(&g, m1, n1, m2, sizeof m2, &n2), 0);
	assert_int_equal(n2, aes ? 124 : 96);
	assert_int_equal(ns_gw_hs_client_h3(&c, m2, n2, m3, sizeof m3, &n3), 0);
	assert_int_equal(n3, aes ? 92 : 64);
	assert_int_equal(ns_gw_hs_gateway_h4(&g, m3, n3, m4, sizeof m4, &n4), 0);
	assert_int_equal(ns_gw_hs_client_finish(&c, m4, n4), 0);
	assert_int_equal(ns_gw_hs_key(&c, &kc), 0);
	assert_int_equal(ns_gw_hs_key(&g, &kg), 0);
	assert_memory_equal(&kc, &kg, sizeof kc);
	assert_int_equal(kc.legacy, !aes);
	assert_int_equal(ns_gw_hs_protocol_version(&c), want_proto);
	assert_int_equal(ns_gw_hs_protocol_version(&g), aes ? 3 : 1);
	assert_memory_equal(g.remote_identity, m1, 32);
}

static void test_random_sessions(void **state)
{
	(void)state;
	run_random(1, 0, 3);
	run_random(0, 0, 1);
	run_random(0, 1, 2);
}

static void test_message_lengths(void **state)
{
	uint8_t buf[200] = {0};
	struct ns_gw_h1 h1;
	struct ns_gw_h2 h2;
	struct ns_gw_material m;
	int ok;
	(void)state;
	buf[0] = 1; /* y = 1: the identity point decompresses */
	for (size_t len = 0; len < sizeof buf; len++) {
		int want = len == 64 || len == 80;
		assert_int_equal(ns_gw_h1_parse(buf, len, &h1) == 0, want);
		assert_int_equal(ns_gw_h2_parse(buf, len, &h2) == 0, len == 96 || len == 124);
		assert_int_equal(ns_gw_material_parse(buf, len, &m) == 0, len == 64 || len == 92);
		assert_int_equal(ns_gw_h4_parse(buf, len, &ok) == 0, len == 1);
	}
	assert_int_equal(ns_gw_h1_parse(buf, 63, &h1), NS_GW_EHS_MALFORMED_REQUEST);
	assert_int_equal(ns_gw_h2_parse(buf, 123, &h2), NS_GW_EHS_MALFORMED_RESPONSE);
	assert_int_equal(ns_gw_h2_parse(NULL, 124, &h2), NS_GW_EHS_MALFORMED_RESPONSE);
	/* H4: only [1] is success */
	buf[0] = 0;
	assert_int_equal(ns_gw_h4_parse(buf, 1, &ok), 0);
	assert_int_equal(ok, 0);
	buf[0] = 2;
	assert_int_equal(ns_gw_h4_parse(buf, 1, &ok), 0);
	assert_int_equal(ok, 0);
}

static void test_h1_identity_must_be_a_point(void **state)
{
	struct fixture f;
	struct ns_gw_hs g;
	struct ns_gw_h1 h1;
	uint8_t bad[80], out[NS_GW_HS_MAX_LEN];
	size_t n;
	(void)state;
	load(&f);
	memcpy(bad, f.h1, 80);
	memset(bad, 0, 32);
	bad[0] = 2; /* y = 2 is not on the curve */
	assert_int_equal(ns_gw_h1_parse(bad, 80, &h1), NS_GW_EHS_MALFORMED_REQUEST);
	ns_gw_hs_gateway_begin(&g, f.g_seed);
	assert_int_equal(ns_gw_hs_gateway_h2_det(&g, bad, 80, f.g_eph, f.g_nonce, out, sizeof out, &n),
	                 NS_GW_EHS_MALFORMED_REQUEST);
	/* a failed state machine refuses to go on */
	assert_int_equal(ns_gw_hs_gateway_h4(&g, f.h3, 92, out, sizeof out, &n), NS_GW_ESTATE);
}

static void test_codec_roundtrip(void **state)
{
	struct fixture f;
	struct ns_gw_h1 h1;
	struct ns_gw_material m;
	uint8_t out[NS_GW_HS_MAX_LEN];
	(void)state;
	load(&f);
	assert_int_equal(ns_gw_h1_parse(f.h1, 80, &h1), 0);
	assert_true(h1.has_salt);
	assert_memory_equal(h1.salt, f.salt, 16);
	assert_int_equal(ns_gw_h1_encode(&h1, out), 80);
	assert_memory_equal(out, f.h1, 80);
	assert_int_equal(ns_gw_material_parse(f.h3, 92, &m), 0);
	assert_int_equal(m.sig_ct_len, 80);
	assert_memory_equal(m.nonce, f.c_nonce, 12);
	assert_int_equal(ns_gw_material_encode(&m, out), 92);
	assert_memory_equal(out, f.h3, 92);
	m.sig_ct_len = 70; /* inconsistent */
	assert_int_equal(ns_gw_material_encode(&m, out), 0);
}

static void test_client_rejects_bad_h2(void **state)
{
	struct fixture f;
	struct ns_gw_hs c, g, c2, g2;
	uint8_t h2[124], bad[124], out[NS_GW_HS_MAX_LEN], other_seed[32], sk[64], other_pk[32];
	size_t n;
	(void)state;
	load(&f);
	start(&f, &c, &g, h2);

	/* tampered signature ciphertext: GCM-SIV tag fails */
	memcpy(bad, h2, 124);
	bad[40] ^= 1;
	c2 = c;
	assert_int_equal(ns_gw_hs_client_h3_det(&c2, bad, 124, f.c_nonce, out, sizeof out, &n), NS_GW_EAEAD);
	/* tampered X_G: a different key, the tag fails too */
	memcpy(bad, h2, 124);
	bad[0] ^= 1;
	c2 = c;
	assert_int_equal(ns_gw_hs_client_h3_det(&c2, bad, 124, f.c_nonce, out, sizeof out, &n), NS_GW_EAEAD);
	/* truncated, oversize, legacy-sized */
	c2 = c;
	assert_int_equal(ns_gw_hs_client_h3_det(&c2, h2, 123, f.c_nonce, out, sizeof out, &n),
	                 NS_GW_EHS_MALFORMED_RESPONSE);
	c2 = c;
	assert_int_equal(ns_gw_hs_client_h3_det(&c2, h2, 96, f.c_nonce, out, sizeof out, &n),
	                 NS_GW_EHS_MISSING_NONCE);

	/* a gateway with another identity: decrypts fine, signature check fails */
	ns_random(other_seed, 32);
	ns_ed25519_from_seed(other_pk, sk, other_seed);
	ns_gw_hs_gateway_begin(&g2, other_seed);
	assert_int_equal(ns_gw_hs_gateway_h2_det(&g2, f.h1, 80, f.g_eph, f.g_nonce, bad, 124, &n), 0);
	c2 = c;
	assert_int_equal(ns_gw_hs_client_h3_det(&c2, bad, 124, f.c_nonce, out, sizeof out, &n),
	                 NS_GW_EHS_BAD_SIGNATURE);
	assert_int_equal(ns_gw_hs_key(&c2, &c2.key), NS_GW_ESTATE);
	/* the right one still works */
	assert_int_equal(ns_gw_hs_client_h3_det(&c, h2, 124, f.c_nonce, out, sizeof out, &n), 0);
}

static void test_gateway_rejects_bad_h3(void **state)
{
	struct fixture f;
	struct ns_gw_hs c, g, g2;
	uint8_t h2[124], bad[92], out[NS_GW_HS_MAX_LEN];
	size_t n;
	(void)state;
	load(&f);
	start(&f, &c, &g, h2);
	memcpy(bad, f.h3, 92);
	bad[3] ^= 0x80;
	g2 = g;
	assert_int_equal(ns_gw_hs_gateway_h4(&g2, bad, 92, out, sizeof out, &n), NS_GW_EAEAD);
	g2 = g;
	assert_int_equal(ns_gw_hs_gateway_h4(&g2, f.h3, 91, out, sizeof out, &n), NS_GW_EHS_MALFORMED_RESPONSE);
	g2 = g;
	assert_int_equal(ns_gw_hs_gateway_h4(&g2, f.h3, 64, out, sizeof out, &n), NS_GW_EHS_MISSING_NONCE);
	g2 = g;
	assert_int_equal(ns_gw_hs_gateway_h4(&g2, f.h3, 0, out, sizeof out, &n), NS_GW_EHS_MALFORMED_RESPONSE);
	/* the gateway's own H2 material replayed as H3: decrypts (same key) but is signed by
	 * the gateway over the other order */
	g2 = g;
	memcpy(bad, h2 + 32, 92);
	assert_int_equal(ns_gw_hs_gateway_h4(&g2, bad, 92, out, sizeof out, &n), NS_GW_EHS_BAD_SIGNATURE);
	g2 = g;
	assert_int_equal(ns_gw_hs_gateway_h4(&g2, f.h3, 92, out, sizeof out, &n), 0);
}

static void test_mode_mismatch(void **state)
{
	uint8_t seed_c[32], seed_g[32], pk[32], sk[64], m1[NS_GW_HS_MAX_LEN], m2[NS_GW_HS_MAX_LEN],
		m3[NS_GW_HS_MAX_LEN], aes_h1[80];
	size_t n1, n2, n3;
	struct ns_gw_hs c, g, ca;
	(void)state;
	ns_random(seed_c, 32);
	ns_random(seed_g, 32);
	ns_ed25519_from_seed(pk, sk, seed_g);
	/* legacy client, AES-sized H2 (from an AES session): the 12-byte nonce is no legacy IV */
	ns_gw_hs_client_begin(&ca, seed_c, pk, 1, 0);
	assert_int_equal(ns_gw_hs_client_h1(&ca, aes_h1, sizeof aes_h1, &n1), 0);
	ns_gw_hs_gateway_begin(&g, seed_g);
	assert_int_equal(ns_gw_hs_gateway_h2(&g, aes_h1, n1, m2, sizeof m2, &n2), 0);
	ns_gw_hs_client_begin(&c, seed_c, pk, 0, 0);
	assert_int_equal(ns_gw_hs_client_h1(&c, m1, sizeof m1, &n1), 0);
	assert_int_equal(ns_gw_hs_client_h3(&c, m2, n2, m3, sizeof m3, &n3), NS_GW_EMALFORMED_NONCE);
	/* legacy gateway given an AES-sized H3 */
	ns_gw_hs_client_begin(&c, seed_c, pk, 0, 0);
	ns_gw_hs_gateway_begin(&g, seed_g);
	assert_int_equal(ns_gw_hs_client_h1(&c, m1, sizeof m1, &n1), 0);
	assert_int_equal(ns_gw_hs_gateway_h2(&g, m1, n1, m2, sizeof m2, &n2), 0);
	memset(m3, 0, 92);
	assert_int_equal(ns_gw_hs_gateway_h4(&g, m3, 92, m3, sizeof m3, &n3), NS_GW_EMALFORMED_NONCE);
}

static void test_finish_and_state(void **state)
{
	struct fixture f;
	struct ns_gw_hs c, g, c2;
	uint8_t h2[124], out[NS_GW_HS_MAX_LEN], h4;
	size_t n;
	(void)state;
	load(&f);
	/* out of order calls */
	ns_gw_hs_client_begin(&c, f.c_seed, f.g_pub, 1, 0);
	assert_int_equal(ns_gw_hs_client_h3_det(&c, h2, 124, f.c_nonce, out, sizeof out, &n), NS_GW_ESTATE);
	assert_int_equal(ns_gw_hs_client_finish(&c, (const uint8_t *)"\x01", 1), NS_GW_ESTATE);
	assert_int_equal(ns_gw_hs_gateway_h2_det(&c, f.h1, 80, f.g_eph, f.g_nonce, out, sizeof out, &n),
	                 NS_GW_ESTATE);
	/* small output buffers */
	assert_int_equal(ns_gw_hs_client_h1_det(&c, f.c_eph, f.salt, out, 79, &n), NS_GW_EARG);
	start(&f, &c, &g, h2);
	assert_int_equal(ns_gw_hs_client_h1_det(&c, f.c_eph, f.salt, out, sizeof out, &n), NS_GW_ESTATE);
	assert_int_equal(ns_gw_hs_client_h3_det(&c, h2, 124, f.c_nonce, out, sizeof out, &n), 0);
	/* H4 other than [1] */
	c2 = c;
	h4 = 0;
	assert_int_equal(ns_gw_hs_client_finish(&c2, &h4, 1), NS_GW_EHS_FAILURE);
	c2 = c;
	assert_int_equal(ns_gw_hs_client_finish(&c2, out, 2), NS_GW_EHS_MALFORMED_RESPONSE);
	h4 = 1;
	assert_int_equal(ns_gw_hs_client_finish(&c, &h4, 1), 0);
	assert_int_equal(ns_gw_hs_client_finish(&c, &h4, 1), NS_GW_ESTATE);
}

static void test_error_texts(void **state)
{
	(void)state;
	assert_string_equal(ns_gw_strerror(NS_GW_EHS_BAD_SIGNATURE), "received invalid signature");
	assert_string_equal(ns_gw_strerror(NS_GW_EHS_MISSING_NONCE),
	                    "no nonce has been provided for aes256-gcm-siv key derivation");
	assert_string_equal(ns_gw_strerror(12345), "unknown error");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_vector_session),
		cmocka_unit_test(test_random_sessions),
		cmocka_unit_test(test_message_lengths),
		cmocka_unit_test(test_h1_identity_must_be_a_point),
		cmocka_unit_test(test_codec_roundtrip),
		cmocka_unit_test(test_client_rejects_bad_h2),
		cmocka_unit_test(test_gateway_rejects_bad_h3),
		cmocka_unit_test(test_mode_mismatch),
		cmocka_unit_test(test_finish_and_state),
		cmocka_unit_test(test_error_texts),
	};
	if (ns_crypto_init() != 0)
		return 1;
	return cmocka_run_group_tests(tests, NULL, NULL);
}
