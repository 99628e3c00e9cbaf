/* Known-answer tests for the curve wrappers of common/crypto.h: X25519 (RFC 7748) and
 * Ed25519 (RFC 8032). */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "crypto.h"
#include "unit/util.h"

static void expect_hex(const uint8_t *got, size_t len, const char *hex)
{
	size_t n = 0;
	uint8_t *want = util_unhex_alloc(hex, &n);
	assert_non_null(want);
	assert_int_equal(n, len);
	assert_memory_equal(got, want, len);
	free(want);
}

static void load32(uint8_t out[32], const char *hex)
{
	assert_int_equal(util_unhex(hex, out, 32), 32);
}

/* ---- X25519: RFC 7748 section 5.2 ---- */
static void test_x25519_rfc7748_vectors(void **state)
{
	uint8_t k[32], u[32], out[32];
	(void)state;
	load32(k, "a546e36bf0527c9d3b16154b82465edd62144c0ac1fc5a18506a2244ba449ac4");
	load32(u, "e6db6867583030db3594c1a424b15f7c726624ec26b3353b10a903a6d0ab1c4c");
	ns_x25519(out, k, u);
	expect_hex(out, 32, "c3da55379de9c6908e94ea4df28d084f32eccf03491c71f754b4075577a28552");
	/* u has bit 255 set: it must be masked, as RFC 7748 section 5 requires */
	load32(k, "4b66e9d4d1b4673c5ad22691957d6af5c11b6421e0ea01d42ca4169e7918ba0d");
	load32(u, "e5210f12786811d3f4b7959d0538ae2c31dbe7106fc03c3efc4cd549c715a493");
	ns_x25519(out, k, u);
	expect_hex(out, 32, "95cbde9476e8907d7aade45cb4b873f88b595a68799fa152e6f8f7647aac7957");
}

/* RFC 7748 section 5.2 iteration: k = u = 9; (k, u) = (X25519(k, u), k); after 1 and
 * 1000 iterations. (The 1,000,000-iteration value is left out for run time.) */
static void test_x25519_rfc7748_iterated(void **state)
{
	uint8_t k[32] = {9}, u[32] = {9}, r[32];
	(void)state;
	for (int i = 1; i <= 1000; i++) {
		ns_x25519(r, k, u);
		memcpy(u, k, 32);
		memcpy(k, r, 32);
		if (i == 1)
			expect_hex(k, 32, "422c8e7a6227d7bca1350b3e2bb7279f7897b87bb6854b783c60e80311ae3079");
	}
	expect_hex(k, 32, "684cf59ba83309552800ef566f2f4d3c1c3887c49360e3875f2eb94d99532c51");
}

/* RFC 7748 section 6.1 Diffie-Hellman. */
static void test_x25519_rfc7748_dh(void **state)
{
	uint8_t a[32], b[32], pa[32], pb[32], nine[32] = {9}, s1[32], s2[32];
	(void)state;
	load32(a, "77076d0a7318a57d3c16c17251b26645df4c2f87ebc0992ab177fba51db92c2a");
	load32(b, "5dab087e624a8a4b79e17f8b83800ee66f3bb1292618b6fd1c2f8b27ff88e0eb");
	ns_x25519_base(pa, a);
	expect_hex(pa, 32, "8520f0098930a754748b7ddcb43ef75a0dbf3a0d26381af4eba4a98eaa9b4e6a");
	ns_x25519_base(pb, b);
	expect_hex(pb, 32, "de9edb7d7b7dc1b4d35b61c2ece435373f8343c85b78674dadfc7e146f882b4f");
	ns_x25519(s2, a, nine); /* the generic ladder on the base point agrees with _base */
	assert_memory_equal(s2, pa, 32);
	ns_x25519(s1, a, pb);
	ns_x25519(s2, b, pa);
	expect_hex(s1, 32, "4a5d9d5ba4ce2de1728e3bf480350f25e07e21c947d19e3376f09b3c1e161742");
	assert_memory_equal(s1, s2, 32);
}

/* x25519-dalek never fails: a low-order input gives the all-zero output (libsodium
 * would return -1); a non-canonical u (>= p) is used reduced mod p. */
static void test_x25519_edge_inputs(void **state)
{
	uint8_t k[32], u[32], out[32], want[32], zeros[32] = {0};
	(void)state;
	load32(k, "a546e36bf0527c9d3b16154b82465edd62144c0ac1fc5a18506a2244ba449ac4");
	memset(u, 0, 32); /* u = 0 */
	memset(out, 0xaa, 32);
	ns_x25519(out, k, u);
	assert_memory_equal(out, zeros, 32);
	u[0] = 1; /* u = 1, a point of order 4 */
	memset(out, 0xaa, 32);
	ns_x25519(out, k, u);
	assert_memory_equal(out, zeros, 32);
	/* u = p + 9 = 2^255 - 10, the non-canonical encoding of 9 */
	load32(u, "f6ffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f");
	ns_x25519(out, k, u);
	ns_x25519_base(want, k);
	assert_memory_equal(out, want, 32);
}

/* Clamping: scalars that differ only in the clamped bits give the same result. */
static void test_x25519_clamping(void **state)
{
	uint8_t k[32], k2[32], a[32], b[32];
	(void)state;
	for (int i = 0; i < 32; i++)
		k[i] = (uint8_t)(i * 13 + 1);
	memcpy(k2, k, 32);
	k2[0] ^= 0x07;  /* low three bits are cleared */
	k2[31] ^= 0x80; /* bit 255 is cleared */
	k2[31] |= 0x40; /* bit 254 is set */
	k[31] &= 0x7f;
	ns_x25519_base(a, k);
	ns_x25519_base(b, k2);
	assert_memory_equal(a, b, 32);
}

/* ---- Ed25519: RFC 8032 section 7.1, TEST 1 and TEST 2 ---- */
static void check_ed25519(const char *seed_hex, const char *pk_hex, const uint8_t *msg, size_t len,
                          const char *sig_hex)
{
	uint8_t seed[32], pk[32], sk[64], sig[64], bad[64];
	load32(seed, seed_hex);
	ns_ed25519_from_seed(pk, sk, seed);
	expect_hex(pk, 32, pk_hex);
	ns_ed25519_sign(sig, msg, len, sk);
	expect_hex(sig, 64, sig_hex);
	assert_int_equal(ns_ed25519_verify(sig, msg, len, pk), 0);
	for (int i = 0; i < 64; i += 7) {
		memcpy(bad, sig, 64);
		bad[i] ^= 0x01;
		assert_int_equal(ns_ed25519_verify(bad, msg, len, pk), -1);
	}
	pk[0] ^= 1;
	assert_int_equal(ns_ed25519_verify(sig, msg, len, pk), -1);
	ns_memzero(sk, sizeof sk);
}

static void test_ed25519_rfc8032_test1(void **state)
{
	(void)state;
	check_ed25519("9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60",
	              "d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a", NULL, 0,
	              "e5564300c360ac729086e2cc806e828a84877f1eb8e5d974d873e06522490155"
	              "5fb8821590a33bacc61e39701cf9b46bd25bf5f0595bbe24655141438e7a100b");
}

static void test_ed25519_rfc8032_test2(void **state)
{
	static const uint8_t msg[1] = {0x72}, other[1] = {0x73};
	uint8_t seed[32], pk[32], sk[64], sig[64];
	(void)state;
	check_ed25519("4ccd089b28ff96da9db6c346ec114e0f5b8a319f35aba624da8cf6ed4fb8a6fb",
	              "3d4017c3e843895a92b70aa74d1b7ebc9c982ccf2ec4968cc0cd55f12af4660c", msg, 1,
	              "92a009a9f0d4cab8720e820b5f642540a2b27b5416503f8fb3762223ebdb69da"
	              "085ac1e43e15996e458f3613d0f11d8c387b2eaeb4302aeeb00d291612bb0c00");
	/* the signature does not verify for another message */
	load32(seed, "4ccd089b28ff96da9db6c346ec114e0f5b8a319f35aba624da8cf6ed4fb8a6fb");
	ns_ed25519_from_seed(pk, sk, seed);
	ns_ed25519_sign(sig, msg, 1, sk);
	assert_int_equal(ns_ed25519_verify(sig, other, 1, pk), -1);
	assert_int_equal(ns_ed25519_verify(sig, msg, 0, pk), -1);
	ns_memzero(sk, sizeof sk);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_x25519_rfc7748_vectors),
		cmocka_unit_test(test_x25519_rfc7748_iterated),
		cmocka_unit_test(test_x25519_rfc7748_dh),
		cmocka_unit_test(test_x25519_edge_inputs),
		cmocka_unit_test(test_x25519_clamping),
		cmocka_unit_test(test_ed25519_rfc8032_test1),
		cmocka_unit_test(test_ed25519_rfc8032_test2),
	};
	if (ns_crypto_init() != 0)
		return 1;
	return cmocka_run_group_tests(tests, NULL, NULL);
}
