/* End-to-end fragment encryption: spec §4.2 model vector, round trips, bad input. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <string.h>

#include "crypto.h"
#include "nymsphinx/e2e.h"
#include "unit/util.h"

static void hex(uint8_t *out, size_t len, const char *h)
{
	assert_int_equal(util_unhex(h, out, len), (long)len);
}

static void test_model_vector(void **state)
{
	uint8_t rsk[32], rpk[32], e[32], epub[32], dh[32], key[16], frag[12], out[44], back[12];
	uint8_t want_pk[32], want_epub[32], want_dh[32], want_key[16], want_ct[12];

	(void)state;
	memset(rsk, 0x02, 32);
	memset(e, 0x04, 32);
	hex(want_pk, 32, "ce8d3ad1ccb633ec7b70c17814a5c76ecd029685050d344745ba05870e587d59");
	hex(want_epub, 32, "ac01b2209e86354fb853237b5de0f4fab13c7fcbf433a61c019369617fecf10b");
	hex(want_dh, 32, "09bb974ce3799959096660bdece3bb89ca106e6df31c2f701b7b8b9977047c34");
	hex(want_key, 16, "91ba22c10aefa721e0a69a7afd2c1c56");
	hex(frag, 12, "92345678010100" "68656c6c6f");
	hex(want_ct, 12, "d62be18672721a0ec6f92cc2");

	ns_x25519_base(rpk, rsk);
	assert_memory_equal(rpk, want_pk, 32);
	ns_x25519_base(epub, e);
	assert_memory_equal(epub, want_epub, 32);
	ns_x25519(dh, e, rpk);
	assert_memory_equal(dh, want_dh, 32);
	assert_int_equal(nym_e2e_key_from_dh(dh, key), 0);
	assert_memory_equal(key, want_key, 16);
	assert_int_equal(nym_e2e_shared_key(rsk, epub, key), 0);
	assert_memory_equal(key, want_key, 16);

	assert_int_equal(nym_e2e_encrypt_with(e, rpk, frag, sizeof frag, out), 0);
	assert_memory_equal(out, want_epub, 32);
	assert_memory_equal(out + 32, want_ct, 12);
	assert_int_equal(nym_e2e_decrypt(rsk, out, sizeof out, back), 0);
	assert_memory_equal(back, frag, sizeof frag);
}

/* The HKDF-BLAKE3 vector of spec §3.1 (IKM 0x42 x 32, L = 16). */
static void test_kdf_vector(void **state)
{
	uint8_t ikm[32], key[16], want[16];

	(void)state;
	memset(ikm, 0x42, 32);
	hex(want, 16, "49c2afd4eec4d3a7b36470b5ff24da37");
	assert_int_equal(nym_e2e_key_from_dh(ikm, key), 0);
	assert_memory_equal(key, want, 16);
}

static void test_random_round_trip(void **state)
{
	uint8_t sk[32], pk[32], msg[1611], ct[32 + 1611], back[1611], ct2[32 + 1611];

	(void)state;
	ns_random(sk, sizeof sk);
	ns_x25519_base(pk, sk);
	ns_random(msg, sizeof msg);
	assert_int_equal(nym_e2e_encrypt(pk, msg, sizeof msg, ct), 0);
	assert_int_equal(nym_e2e_encrypt(pk, msg, sizeof msg, ct2), 0);
	assert_memory_not_equal(ct, ct2, 32); /* fresh ephemeral key each time */
	assert_memory_not_equal(ct + 32, msg, 64);
	assert_int_equal(nym_e2e_decrypt(sk, ct, sizeof ct, back), 0);
	assert_memory_equal(back, msg, sizeof msg);
	/* a different key gives different bytes, not the message */
	sk[0] ^= 0x40;
	assert_int_equal(nym_e2e_decrypt(sk, ct, sizeof ct, back), 0);
	assert_memory_not_equal(back, msg, sizeof msg);
}

static void test_bad_input(void **state)
{
	uint8_t sk[32] = {1}, in[40] = {0}, out[40];

	(void)state;
	assert_int_equal(nym_e2e_decrypt(sk, in, 31, out), -1);
	assert_int_equal(nym_e2e_decrypt(sk, in, 0, out), -1);
	assert_int_equal(nym_e2e_decrypt(sk, NULL, 40, out), -1);
	assert_int_equal(nym_e2e_decrypt(sk, in, 32, out), 0); /* empty ciphertext is fine */
	assert_int_equal(nym_e2e_encrypt_with(sk, sk, NULL, 5, out), -1);
	assert_int_equal(nym_e2e_encrypt_with(sk, sk, in, 5, NULL), -1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_model_vector),
		cmocka_unit_test(test_kdf_vector),
		cmocka_unit_test(test_random_round_trip),
		cmocka_unit_test(test_bad_input),
	};
	if (ns_crypto_init() != 0)
		return 1;
	return cmocka_run_group_tests(tests, NULL, NULL);
}
