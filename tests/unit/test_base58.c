/* base58 (bs58 crate behaviour): encode/decode vectors and malformed input. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <string.h>

#include "base58.h"
#include "crypto.h"
#include "unit/util.h"

struct b58_vector {
	const char *hex;
	const char *b58;
};

/* Bitcoin Core's base58_encode_decode.json, which the bs58 crate tests against, plus the
 * leading-zero vector of the spec. */
static const struct b58_vector VECTORS[] = {
	{ "", "" },
	{ "61", "2g" },
	{ "626262", "a3gV" },
	{ "636363", "aPEr" },
	{ "73696d706c792061206c6f6e6720737472696e67", "2cFupjhnEsSn59qHXstmK2ffpLv2" },
	{ "00eb15231dfceb60925886b67d065299925915aeb172c06647", "1NS17iag9jJgTHD1VXjvLCEnZuQ3rJDE9L" },
	{ "516b6fcd0f", "ABnLTmg" },
	{ "bf4f89001e670274dd", "3SEo3LWLoPntC" },
	{ "572e4794", "3EFU7m" },
	{ "ecac89cad93923c02321", "EJDM8drfXA6uyA" },
	{ "10c8511e", "Rt5zm" },
	{ "00000000000000000000", "1111111111" },
	{ "000111d38e5fc9071ffcd20b4a763cc9ae4f252bb4e48fd66a835e252ada93ff480d6dd43dc62a641155a5",
	  "123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz" },
	{ "00000102ff", "11LiA" },
	{ "00", "1" },
	{ "8a88e3dd7409f195fd52db2d3cba5d72ca6709bf1d94121bf3748801b40f6f5c",
	  "AKnL4NNf3DGWZJS6cPknBuEGnVsV4A4m5tgebLHaRSZ9" },
};

static void test_vectors_encode(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(VECTORS) / sizeof(VECTORS[0]); i++) {
		uint8_t bin[128];
		char out[256];
		long n = util_unhex(VECTORS[i].hex, bin, sizeof(bin));

		assert_true(n >= 0);
		assert_int_equal(base58_encode(bin, (size_t)n, out, sizeof(out)),
		                 (long)strlen(VECTORS[i].b58));
		assert_string_equal(out, VECTORS[i].b58);
	}
}

static void test_vectors_decode(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(VECTORS) / sizeof(VECTORS[0]); i++) {
		uint8_t want[128], got[128];
		long n = util_unhex(VECTORS[i].hex, want, sizeof(want));

		assert_int_equal(base58_decode(VECTORS[i].b58, got, sizeof(got)), n);
		assert_memory_equal(got, want, (size_t)n);
	}
}

static void test_all_bytes_roundtrip(void **state)
{
	uint8_t in[256], back[256];
	char s[400];
	long n;

	(void)state;
	for (int i = 0; i < 256; i++)
		in[i] = (uint8_t)i;
	n = base58_encode(in, sizeof(in), s, sizeof(s));
	assert_true(n > 0);
	assert_string_equal(s, "1cWB5HCBdLjAuqGGReWE3R3CguuwSjw6RHn39s2yuDRTS5NsBgNiFpWgAnEx6VQi8csexkg"
	                       "Yw3mdYrMHr8x9i7aEwP8kZ7vccXWqKDvGv3u1GxFKPuAkn8JCPPGDMf3vMMnbzm6Nh9zh1g"
	                       "cNsMvH3ZNLmP5fSG6DGbbi2tuwMWPthr4boWwCxf7ewSgNQeacyozhKDDQQ1qL5fQFUW52Q"
	                       "KUZDZ5fw3KXNQJMcNTcaB723LchjeKun7MuGW5qyCBZYzA1KjofN1gYBV3NqyhQJ3Ns746G"
	                       "Nuf9N2pQPmHz4xpnSrrfCvy6TVVz5d4PdrjeshsWQwpZsZGzvbdAdN8MKV5QsBDY");
	assert_int_equal(base58_decode(s, back, sizeof(back)), 256);
	assert_memory_equal(in, back, 256);
}

static void test_empty_and_zero(void **state)
{
	uint8_t zeros[32] = { 0 }, out[40];
	char s[64];

	(void)state;
	assert_int_equal(base58_encode(zeros, 0, s, sizeof(s)), 0);
	assert_string_equal(s, "");
	assert_int_equal(base58_decode("", out, sizeof(out)), 0);
	assert_int_equal(base58_encode(zeros, 32, s, sizeof(s)), 32);
	assert_string_equal(s, "11111111111111111111111111111111");
	memset(out, 0xaa, sizeof(out));
	assert_int_equal(base58_decode(s, out, sizeof(out)), 32);
	assert_memory_equal(out, zeros, 32);
}

static void test_bad_characters(void **state)
{
	static const char *const BAD[] = { "0", "O", "I", "l", "abc0", "a b", "+", "2g\n",
	                                   "\xc3\xa9", "11LiA-", "-" };
	uint8_t out[64];

	(void)state;
	for (size_t i = 0; i < sizeof(BAD) / sizeof(BAD[0]); i++)
		assert_int_equal(base58_decode(BAD[i], out, sizeof(out)), -1);
}

static void test_capacity(void **state)
{
	uint8_t in[5] = { 0, 0, 1, 2, 0xff }, out[5];
	char s[6];

	(void)state;
	/* "11LiA" needs 6 bytes with the NUL */
	assert_int_equal(base58_encode(in, 5, s, 5), -1);
	assert_int_equal(base58_encode(in, 5, s, 6), 5);
	assert_int_equal(base58_decode("11LiA", out, 4), -1);
	assert_int_equal(base58_decode("11LiA", out, 5), 5);
	assert_memory_equal(out, in, 5);
	/* leading '1's alone overflow too */
	assert_int_equal(base58_decode("111111", out, 5), -1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_vectors_encode),
		cmocka_unit_test(test_vectors_decode),
		cmocka_unit_test(test_all_bytes_roundtrip),
		cmocka_unit_test(test_empty_and_zero),
		cmocka_unit_test(test_bad_characters),
		cmocka_unit_test(test_capacity),
	};

	if (ns_crypto_init() != 0)
		return 1;
	return cmocka_run_group_tests(tests, NULL, NULL);
}
