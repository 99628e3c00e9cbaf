/* Known-answer tests for the hash / MAC / KDF wrappers of common/crypto.h:
 * SHA-256, HMAC-SHA256, HKDF-SHA256, BLAKE3 (+ XOF), HMAC/HKDF-BLAKE3, keyed BLAKE2b. */
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

static const uint8_t *str(const char *s) { return (const uint8_t *)s; }

/* ---- SHA-256 (FIPS 180-2 Appendix B.1) ---- */
static void test_sha256_abc(void **state)
{
	uint8_t out[32];
	(void)state;
	ns_sha256(out, str("abc"), 3);
	expect_hex(out, 32, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
}

/* ---- HMAC-SHA256: RFC 4231 section 4, test cases 1-4, 6, 7 ---- */
static void test_hmac_sha256_rfc4231(void **state)
{
	uint8_t key[131], data[50], out[32];
	(void)state;

	memset(key, 0x0b, 20); /* TC1 */
	ns_hmac_sha256(out, key, 20, str("Hi There"), 8);
	expect_hex(out, 32, "b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7");

	ns_hmac_sha256(out, str("Jefe"), 4, str("what do ya want for nothing?"), 28); /* TC2 */
	expect_hex(out, 32, "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843");

	memset(key, 0xaa, 20); /* TC3 */
	memset(data, 0xdd, 50);
	ns_hmac_sha256(out, key, 20, data, 50);
	expect_hex(out, 32, "773ea91e36800e46854db8ebd09181a72959098b3ef8c122d9635514ced565fe");

	for (int i = 0; i < 25; i++) /* TC4 */
		key[i] = (uint8_t)(i + 1);
	memset(data, 0xcd, 50);
	ns_hmac_sha256(out, key, 25, data, 50);
	expect_hex(out, 32, "82558a389a443c0ea4cc819899f2083a85f0faa3e578f8077a2e3ff46729665b");

	memset(key, 0xaa, 131); /* TC6: key longer than the block is hashed first */
	ns_hmac_sha256(out, key, 131, str("Test Using Larger Than Block-Size Key - Hash Key First"), 54);
	expect_hex(out, 32, "60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54");

	static const char tc7[] = "This is a test using a larger than block-size key and a larger than "
	                          "block-size data. The key needs to be hashed before being used by the "
	                          "HMAC algorithm.";
	ns_hmac_sha256(out, key, 131, str(tc7), sizeof tc7 - 1); /* TC7 */
	expect_hex(out, 32, "9b09ffa71b942fcb27635fbcd5b0e944bfdc63644f0713938a7f51535c3a35e2");
}

/* An empty key is the all-zero block key (HMAC zero-pads); libgcrypt rejects
 * zero-length keys, so the wrapper must handle it. */
static void test_hmac_sha256_empty_key(void **state)
{
	uint8_t zeros[64] = {0}, a[32], b[32];
	(void)state;
	ns_hmac_sha256(a, NULL, 0, str("msg"), 3);
	ns_hmac_sha256(b, zeros, sizeof zeros, str("msg"), 3);
	assert_memory_equal(a, b, 32);
}

/* ---- HKDF-SHA256: RFC 5869 Appendix A, test cases 1-3 ---- */
static void test_hkdf_sha256_rfc5869_tc1(void **state)
{
	uint8_t ikm[22], salt[13], info[10], okm[42];
	(void)state;
	memset(ikm, 0x0b, sizeof ikm);
	for (int i = 0; i < 13; i++)
		salt[i] = (uint8_t)i;
	for (int i = 0; i < 10; i++)
		info[i] = (uint8_t)(0xf0 + i);
	assert_int_equal(ns_hkdf_sha256(okm, 42, salt, 13, ikm, 22, info, 10), 0);
	expect_hex(okm, 42, "3cb25f25faacd57a90434f64d0362f2a2d2d0a90cf1a5a4c5db02d56ecc4c5bf"
	                    "34007208d5b887185865");
}

static void test_hkdf_sha256_rfc5869_tc2(void **state)
{
	uint8_t ikm[80], salt[80], info[80], okm[82];
	(void)state;
	for (int i = 0; i < 80; i++) {
		ikm[i] = (uint8_t)i;
		salt[i] = (uint8_t)(0x60 + i);
		info[i] = (uint8_t)(0xb0 + i);
	}
	assert_int_equal(ns_hkdf_sha256(okm, 82, salt, 80, ikm, 80, info, 80), 0);
	expect_hex(okm, 82, "b11e398dc80327a1c8e7f78c596a49344f012eda2d4efad8a050cc4c19afa97c"
	                    "59045a99cac7827271cb41c65e590e09da3275600c2f09b8367793a9aca3db71"
	                    "cc30c58179ec3e87c14c01d5c1f3434f1d87");
}

/* Zero-length salt and info; NULL salt and a 32-byte zero salt must agree (RFC 5869 2.2). */
static void test_hkdf_sha256_rfc5869_tc3(void **state)
{
	static const char *want = "8da4e775a563c18f715f802a063c5a31b8a11f5c5ee1879ec3454e5f3c738d2d"
	                          "9d201395faa4b61a96c8";
	uint8_t ikm[22], zeros[32] = {0}, okm[42];
	(void)state;
	memset(ikm, 0x0b, sizeof ikm);
	assert_int_equal(ns_hkdf_sha256(okm, 42, str(""), 0, ikm, 22, NULL, 0), 0);
	expect_hex(okm, 42, want);
	memset(okm, 0, sizeof okm);
	assert_int_equal(ns_hkdf_sha256(okm, 42, NULL, 0, ikm, 22, str(""), 0), 0);
	expect_hex(okm, 42, want);
	memset(okm, 0, sizeof okm);
	assert_int_equal(ns_hkdf_sha256(okm, 42, zeros, 32, ikm, 22, NULL, 0), 0);
	expect_hex(okm, 42, want);
}

/* HKDF output is a prefix-stable stream; the RFC bound L <= 255*HashLen is enforced. */
static void test_hkdf_sha256_lengths(void **state)
{
	uint8_t ikm[32] = {1}, longer[288], shorter[100];
	static uint8_t max[255 * 32 + 1];
	(void)state;
	assert_int_equal(ns_hkdf_sha256(longer, sizeof longer, NULL, 0, ikm, 32, str("i"), 1), 0);
	assert_int_equal(ns_hkdf_sha256(shorter, sizeof shorter, NULL, 0, ikm, 32, str("i"), 1), 0);
	assert_memory_equal(longer, shorter, sizeof shorter);
	assert_int_equal(ns_hkdf_sha256(max, 255 * 32, NULL, 0, ikm, 32, NULL, 0), 0);
	assert_int_equal(ns_hkdf_sha256(max, 255 * 32 + 1, NULL, 0, ikm, 32, NULL, 0), -1);
	assert_int_equal(ns_hkdf_sha256(max, 0, NULL, 0, ikm, 32, NULL, 0), 0);
}

/* ---- BLAKE3: official test_vectors.json (input[i] = i mod 251), hash column, as
 * listed in the project spec section 3.1 ---- */
static const struct {
	size_t len;
	const char *hash;
} blake3_vectors[] = {
	{0, "af1349b9f5f9a1a6a0404dea36dcc9499bcb25c9adc112b7cc9a93cae41f3262"},
	{1, "2d3adedff11b61f14c886e35afa036736dcd87a74d27b5c1510225d0f592e213"},
	{63, "e9bc37a594daad83be9470df7f7b3798297c3d834ce80ba85d6e207627b7db7b"},
	{64, "4eed7141ea4a5cd4b788606bd23f46e212af9cacebacdc7d1f4c6dc7f2511b98"},
	{65, "de1e5fa0be70df6d2be8fffd0e99ceaa8eb6e8c93a63f2d8d1c30ecb6b263dee"},
	{1023, "10108970eeda3eb932baac1428c7a2163b0e924c9a9e25b35bba72b28f70bd11"},
	{1024, "42214739f095a406f3fc83deb889744ac00df831c10daa55189b5d121c855af7"},
	{1025, "d00278ae47eb27b34faecf67b4fe263f82d5412916c1ffd97c8cb7fb814b8444"},
	{2048, "e776b6028c7cd22a4d0ba182a8bf62205d2ef576467e838ed6f2529b85fba24a"},
	{2049, "5f4d72f40d7a5f82b15ca2b2e44b1de3c2ef86c426c95c1af0b6879522563030"},
	{3072, "b98cb0ff3623be03326b373de6b9095218513e64f1ee2edd2525c7ad1e5cffd2"},
	{3073, "7124b49501012f81cc7f11ca069ec9226cecb8a2c850cfe644e327d22d3e1cd3"},
	{4096, "015094013f57a5277b59d8475c0501042c0b642e531b0a1c8f58d2163229e969"},
	{4097, "9b4052b38f1c5fc8b1f9ff7ac7b27cd242487b3d890d15c96a1c25b8aa0fb995"},
	{5120, "9cadc15fed8b5d854562b26a9536d9707cadeda9b143978f319ab34230535833"},
	{8192, "aae792484c8efe4f19e2ca7d371d8c467ffb10748d8a5a1ae579948f718a2a63"},
	{31744, "62b6960e1a44bcc1eb1a611a8d6235b6b4b78f32e7abc4fb4c6cdcce94895c47"},
	{102400, "bc3e3d41a1146b069abffad3c0d44860cf664390afce4d9661f7902e7943e085"},
};

static void test_blake3_official_vectors(void **state)
{
	size_t max = 102400;
	uint8_t *in = malloc(max), out[32];
	(void)state;
	assert_non_null(in);
	for (size_t i = 0; i < max; i++)
		in[i] = (uint8_t)(i % 251);
	for (size_t v = 0; v < sizeof blake3_vectors / sizeof blake3_vectors[0]; v++) {
		ns_blake3(out, in, blake3_vectors[v].len);
		expect_hex(out, 32, blake3_vectors[v].hash);
	}
	free(in);
}

/* Extended output of the empty input, 131 bytes (official vectors' first entry). */
static void test_blake3_xof(void **state)
{
	uint8_t out[131];
	(void)state;
	ns_blake3_xof(out, sizeof out, NULL, 0);
	expect_hex(out, sizeof out,
	           "af1349b9f5f9a1a6a0404dea36dcc9499bcb25c9adc112b7cc9a93cae41f3262"
	           "e00f03e7b69af26b7faaf09fcd333050338ddfe085b8cc869ca98b206c08243a"
	           "26f5487789e8f660afe6c99ef9e0c52b92e7393024a80459cf91f476f9ffdbda"
	           "7001c22e159b402631f277ca96f2defdf1078282314e763699a31c5363165421"
	           "cce14d");
}

/* SURB-key digest examples of the spec section 3.1. */
static void test_blake3_digest_examples(void **state)
{
	uint8_t in[16], out[32];
	(void)state;
	for (int i = 0; i < 16; i++)
		in[i] = (uint8_t)i;
	ns_blake3(out, in, 16);
	expect_hex(out, 32, "a6a492965517a830cb75fdb713465aa465f2f098233896fea44c1d98268bf9e3");
	memset(in, 0x07, 16);
	ns_blake3(out, in, 16);
	expect_hex(out, 32, "591207b6b8ec343c2961e3eccdf4f0e97c6f06821672ec565f366d505399e6a4");
}

/* ---- HMAC-BLAKE3 / HKDF-BLAKE3 (spec section 3.1; block 64, output 32) ---- */
static void test_hmac_blake3(void **state)
{
	uint8_t key[32], out[32];
	(void)state;
	memset(key, 0x0b, sizeof key);
	ns_hmac_blake3(out, key, 32, str("Hi There"), 8);
	expect_hex(out, 32, "bfeebb29d973464bd66cbe2748eabd62f4653a31e28feea604578cbe2908c975");
}

/* A key longer than the 64-byte block is replaced by its BLAKE3 hash (RFC 2104 2). */
static void test_hmac_blake3_long_key(void **state)
{
	uint8_t key[100], hashed[32], a[32], b[32];
	(void)state;
	for (int i = 0; i < 100; i++)
		key[i] = (uint8_t)(3 * i);
	ns_blake3(hashed, key, sizeof key);
	ns_hmac_blake3(a, key, sizeof key, str("msg"), 3);
	ns_hmac_blake3(b, hashed, sizeof hashed, str("msg"), 3);
	assert_memory_equal(a, b, 32);
	ns_hmac_blake3(b, key, 64, str("msg"), 3);
	assert_memory_not_equal(a, b, 32);
}

static void test_hkdf_blake3(void **state)
{
	static const char *want = "49c2afd4eec4d3a7b36470b5ff24da37";
	uint8_t ikm[32], zeros[32] = {0}, okm[16], longer[100];
	(void)state;
	memset(ikm, 0x42, sizeof ikm);
	assert_int_equal(ns_hkdf_blake3(okm, 16, NULL, 0, ikm, 32, NULL, 0), 0);
	expect_hex(okm, 16, want);
	memset(okm, 0, sizeof okm);
	assert_int_equal(ns_hkdf_blake3(okm, 16, zeros, 32, ikm, 32, str(""), 0), 0);
	expect_hex(okm, 16, want);
	memset(okm, 0, sizeof okm);
	assert_int_equal(ns_hkdf_blake3(okm, 16, str(""), 0, ikm, 32, NULL, 0), 0);
	expect_hex(okm, 16, want);
	/* multi-block output keeps the first block */
	assert_int_equal(ns_hkdf_blake3(longer, sizeof longer, NULL, 0, ikm, 32, NULL, 0), 0);
	expect_hex(longer, 16, want);
	assert_int_equal(ns_hkdf_blake3(longer, 255 * 32 + 1, NULL, 0, ikm, 32, NULL, 0), -1);
}

/* ---- BLAKE2b: RFC 7693 Appendix A ("abc", unkeyed) and the official
 * blake2b-kat.txt keyed entries (key = 00..3f, in = 00..(n-1)) ---- */
static void test_blake2b_rfc7693_abc(void **state)
{
	uint8_t out[64];
	(void)state;
	assert_int_equal(ns_blake2b(out, 64, str("abc"), 3, NULL, 0), 0);
	expect_hex(out, 64, "ba80a53f981c4d0d6a2797b69f12f6e94c212f14685ac4b74b12bb6fdbffa2d1"
	                    "7d87c5392aab792dc252d5de4533cc9518d38aa8dbf1925ab92386edd4009923");
}

static void test_blake2b_keyed_kat(void **state)
{
	uint8_t key[64], in[255], out[64];
	(void)state;
	for (int i = 0; i < 64; i++)
		key[i] = (uint8_t)i;
	for (int i = 0; i < 255; i++)
		in[i] = (uint8_t)i;
	assert_int_equal(ns_blake2b(out, 64, NULL, 0, key, 64), 0);
	expect_hex(out, 64, "10ebb67700b1868efb4417987acf4690ae9d972fb7a590c2f02871799aaa4786"
	                    "b5e996e8f0f4eb981fc214b005f42d2ff4233499391653df7aefcbc13fc51568");
	assert_int_equal(ns_blake2b(out, 64, in, 1, key, 64), 0);
	expect_hex(out, 64, "961f6dd1e4dd30f63901690c512e78e4b45e4742ed197c3c5e45c549fd25f2e4"
	                    "187b0bc9fe30492b16b0d0bc4ef9b0f34c7003fac09a5ef1532e69430234cebd");
	assert_int_equal(ns_blake2b(out, 64, in, 128, key, 64), 0);
	expect_hex(out, 64, "72065ee4dd91c2d8509fa1fc28a37c7fc9fa7d5b3f8ad3d0d7a25626b57b1b44"
	                    "788d4caf806290425f9890a3a2a35a905ab4b37acfd0da6e4517b2525c9651e4");
	assert_int_equal(ns_blake2b(out, 64, in, 255, key, 64), 0);
	expect_hex(out, 64, "142709d62e28fcccd0af97fad0f8465b971e82201dc51070faa0372aa43e9248"
	                    "4be1c1e73ba10906d5d1853db6a4106e0a7bf9800d373d6dee2d46d62ef2a461");
}

/* Output length is a parameter of BLAKE2b (not a truncation); bounds are enforced. */
static void test_blake2b_lengths(void **state)
{
	uint8_t key[65] = {0}, out[65], out32[32];
	(void)state;
	assert_int_equal(ns_blake2b(out32, 32, str("abc"), 3, key, 64), 0);
	assert_int_equal(ns_blake2b(out, 64, str("abc"), 3, key, 64), 0);
	assert_memory_not_equal(out, out32, 32);
	assert_int_equal(ns_blake2b(out, 1, str("abc"), 3, key, 64), 0);
	assert_int_equal(ns_blake2b(out, 0, str("abc"), 3, key, 64), -1);
	assert_int_equal(ns_blake2b(out, 65, str("abc"), 3, key, 64), -1);
	assert_int_equal(ns_blake2b(out, 32, str("abc"), 3, key, 65), -1);
	assert_int_equal(ns_blake2b(out, 32, str("abc"), 3, NULL, 16), -1);
}

/* ---- small helpers ---- */
static void test_ct_equal_and_memzero(void **state)
{
	uint8_t a[33], b[33];
	(void)state;
	memset(a, 0x5a, sizeof a);
	memcpy(b, a, sizeof b);
	assert_int_equal(ns_ct_equal(a, b, sizeof a), 1);
	b[32] ^= 1;
	assert_int_equal(ns_ct_equal(a, b, sizeof a), 0);
	ns_memzero(a, sizeof a);
	for (size_t i = 0; i < sizeof a; i++)
		assert_int_equal(a[i], 0);
}

static void test_random(void **state)
{
	uint8_t a[64] = {0}, b[64] = {0}, zeros[64] = {0};
	(void)state;
	ns_random(a, sizeof a);
	ns_random(b, sizeof b);
	assert_memory_not_equal(a, zeros, sizeof a);
	assert_memory_not_equal(a, b, sizeof a);
	for (int i = 0; i < 1000; i++) {
		assert_true(ns_random_uniform(7) < 7);
		assert_int_equal(ns_random_uniform(1), 0);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_sha256_abc),
		cmocka_unit_test(test_hmac_sha256_rfc4231),
		cmocka_unit_test(test_hmac_sha256_empty_key),
		cmocka_unit_test(test_hkdf_sha256_rfc5869_tc1),
		cmocka_unit_test(test_hkdf_sha256_rfc5869_tc2),
		cmocka_unit_test(test_hkdf_sha256_rfc5869_tc3),
		cmocka_unit_test(test_hkdf_sha256_lengths),
		cmocka_unit_test(test_blake3_official_vectors),
		cmocka_unit_test(test_blake3_xof),
		cmocka_unit_test(test_blake3_digest_examples),
		cmocka_unit_test(test_hmac_blake3),
		cmocka_unit_test(test_hmac_blake3_long_key),
		cmocka_unit_test(test_hkdf_blake3),
		cmocka_unit_test(test_blake2b_rfc7693_abc),
		cmocka_unit_test(test_blake2b_keyed_kat),
		cmocka_unit_test(test_blake2b_lengths),
		cmocka_unit_test(test_ct_equal_and_memzero),
		cmocka_unit_test(test_random),
	};
	if (ns_crypto_init() != 0)
		return 1;
	return cmocka_run_group_tests(tests, NULL, NULL);
}
