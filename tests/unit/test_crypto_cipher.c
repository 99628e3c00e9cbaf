/* Known-answer tests for the cipher wrappers of common/crypto.h: AES-128-CTR with a
 * 64-bit big-endian counter (RustCrypto Ctr64BE), AES-256-GCM-SIV, DJB ChaCha20. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <gcrypt.h>
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

static uint8_t *unhex(const char *hex, size_t *len)
{
	uint8_t *b = util_unhex_alloc(hex, len);
	assert_non_null(b);
	return b;
}

/* ---- AES-128-CTR: NIST SP 800-38A F.5.1 (CTR-AES128.Encrypt) / F.5.2 ---- */
static const char *sp800_key = "2b7e151628aed2a6abf7158809cf4f3c";
static const char *sp800_iv = "f0f1f2f3f4f5f6f7f8f9fafbfcfdfeff";
static const char *sp800_pt = "6bc1bee22e409f96e93d7e117393172aae2d8a571e03ac9c9eb76fac45af8e51"
                              "30c81c46a35ce411e5fbc1191a0a52eff69f2445df4f9b17ad2b417be66c3710";
static const char *sp800_ct = "874d6191b620e3261bef6864990db6ce9806f66b7970fdff8617187bb9fffdff"
                              "5ae4df3edbd5d35e5b4f09020db03eab1e031dda2fbe03d1792170a0f3009cee";

static void test_aes_ctr_sp800_38a(void **state)
{
	size_t klen, ivlen, len, ctlen;
	uint8_t *key = unhex(sp800_key, &klen), *iv = unhex(sp800_iv, &ivlen);
	uint8_t *pt = unhex(sp800_pt, &len), *ct = unhex(sp800_ct, &ctlen);
	uint8_t out[64];
	(void)state;

	assert_int_equal(ns_aes128_ctr64be(out, pt, len, key, iv), 0); /* F.5.1 encrypt */
	expect_hex(out, 64, sp800_ct);
	assert_int_equal(ns_aes128_ctr64be(out, ct, len, key, iv), 0); /* F.5.2 decrypt */
	expect_hex(out, 64, sp800_pt);
	memcpy(out, pt, len); /* in place */
	assert_int_equal(ns_aes128_ctr64be(out, out, len, key, iv), 0);
	assert_memory_equal(out, ct, len);
	memset(out, 0, sizeof out); /* a partial last block */
	assert_int_equal(ns_aes128_ctr64be(out, pt, 37, key, iv), 0);
	assert_memory_equal(out, ct, 37);
	assert_int_equal(out[37], 0);
	free(key), free(iv), free(pt), free(ct);
}

/* Expected keystream built independently: AES-128-ECB of explicit counter blocks. */
static void ecb_keystream(uint8_t *out, const uint8_t key[16], const uint8_t (*blocks)[16], size_t n)
{
	gcry_cipher_hd_t h;
	assert_int_equal(gcry_cipher_open(&h, GCRY_CIPHER_AES128, GCRY_CIPHER_MODE_ECB, 0), 0);
	assert_int_equal(gcry_cipher_setkey(h, key, 16), 0);
	assert_int_equal(gcry_cipher_encrypt(h, out, 16 * n, blocks, 16 * n), 0);
	gcry_cipher_close(h);
}

static void counter_block(uint8_t block[16], const uint8_t high[8], uint64_t low)
{
	memcpy(block, high, 8);
	for (int i = 15; i >= 8; i--, low >>= 8)
		block[i] = (uint8_t)low;
}

/* Ctr64BE: only the low 8 bytes count, wrapping to zero; the high 8 bytes stay as they
 * are (RustCrypto ctr::Ctr64BE). A 128-bit counter would carry into the high half. */
static void check_ctr64_wrap(const uint8_t high[8], uint64_t start)
{
	enum { BLOCKS = 5, LEN = 16 * BLOCKS - 10 };
	uint8_t key[16], iv[16], blocks[BLOCKS][16], want[16 * BLOCKS], got[LEN], in[LEN];

	for (int i = 0; i < 16; i++)
		key[i] = (uint8_t)(0x10 + i);
	counter_block(iv, high, start);
	for (uint64_t b = 0; b < BLOCKS; b++)
		counter_block(blocks[b], high, start + b); /* unsigned wrap = Ctr64BE */
	ecb_keystream(want, key, (const uint8_t(*)[16])blocks, BLOCKS);
	memset(in, 0, sizeof in);
	assert_int_equal(ns_aes128_ctr64be(got, in, LEN, key, iv), 0);
	assert_memory_equal(got, want, LEN);
	/* the same through a message: out = in xor keystream */
	for (int i = 0; i < LEN; i++)
		in[i] = (uint8_t)(i * 7);
	assert_int_equal(ns_aes128_ctr64be(got, in, LEN, key, iv), 0);
	for (int i = 0; i < LEN; i++)
		assert_int_equal(got[i], (uint8_t)(in[i] ^ want[i]));
}

static void test_aes_ctr64be_wrap(void **state)
{
	static const uint8_t zero_high[8] = {0};
	static const uint8_t high[8] = {1, 2, 3, 4, 5, 6, 7, 8};
	static const uint8_t ones_high[8] = {0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff};
	(void)state;
	check_ctr64_wrap(zero_high, UINT64_MAX);     /* IV = 00*8 ff*8 */
	check_ctr64_wrap(high, UINT64_MAX - 2);      /* wrap in the middle, high half kept */
	check_ctr64_wrap(ones_high, UINT64_MAX - 1); /* a 128-bit counter would wrap to all zero */
	check_ctr64_wrap(high, 0x00000000ffffffffu); /* a carry inside the low half */
}

/* The sphinx PRG: zero IV, 360 bytes = 22.5 blocks of counters 0..22. */
static void test_aes_ctr_keystream_zero_iv(void **state)
{
	uint8_t key[16], zero_iv[16] = {0}, zeros[368] = {0}, blocks[23][16], want[368];
	uint8_t ks[360], ctr[360];
	(void)state;
	for (int i = 0; i < 16; i++)
		key[i] = (uint8_t)(0xa0 ^ i);
	for (uint64_t b = 0; b < 23; b++)
		counter_block(blocks[b], zero_iv, b);
	ecb_keystream(want, key, (const uint8_t(*)[16])blocks, 23);
	assert_int_equal(ns_aes128_ctr_keystream(ks, sizeof ks, key), 0);
	assert_memory_equal(ks, want, sizeof ks);
	assert_int_equal(ns_aes128_ctr64be(ctr, zeros, sizeof ctr, key, zero_iv), 0);
	assert_memory_equal(ctr, ks, sizeof ks);
}

/* ---- AES-256-GCM-SIV: RFC 8452 Appendix C.2 (AEAD_AES_256_GCM_SIV) and C.3 ---- */
static const struct {
	const char *key, *nonce, *aad, *pt, *ct; /* ct = ciphertext || tag */
} gcmsiv_vectors[] = {
	{"0100000000000000000000000000000000000000000000000000000000000000", "030000000000000000000000",
	 "", "", "07f5f4169bbf55a8400cd47ea6fd400f"},
	{"0100000000000000000000000000000000000000000000000000000000000000", "030000000000000000000000",
	 "", "0100000000000000", "c2ef328e5c71c83b843122130f7364b761e0b97427e3df28"},
	{"0100000000000000000000000000000000000000000000000000000000000000", "030000000000000000000000",
	 "", "0100000000000000000000000000000002000000000000000000000000000000",
	 "4a6a9db4c8c6549201b9edb53006cba821ec9cf850948a7c86c68ac7539d027fe819e63abcd020b006a976397632eb5d"},
	{"0100000000000000000000000000000000000000000000000000000000000000", "030000000000000000000000",
	 "01", "0200000000000000", "1de22967237a813291213f267e3b452f02d01ae33e4ec854"},
	{"0100000000000000000000000000000000000000000000000000000000000000", "030000000000000000000000",
	 "010000000000000000000000", "02000000", "22b3f4cd1835e517741dfddccfa07fa4661b74cf"},
	{"0100000000000000000000000000000000000000000000000000000000000000", "030000000000000000000000",
	 "010000000000000000000000000000000200", "0300000000000000000000000000000004000000",
	 "43dd0163cdb48f9fe3212bf61b201976067f342bb879ad976d8242acc188ab59cabfe307"},
	{"e66021d5eb8e4f4066d4adb9c33560e4f46e44bb3da0015c94f7088736864200", "e0eaf5284d884a0e77d31646",
	 "", "", "169fbb2fbf389a995f6390af22228a62"},
	{"bae8e37fc83441b16034566b7a806c46bb91c3c5aedb64a6c590bc84d1a5e269", "e4b47801afc0577e34699b9e",
	 "4fbdc66f14", "671fdd", "0eaccb93da9bb81333aee0c785b240d319719d"},
	{"3c535de192eaed3822a2fbbe2ca9dfc88255e14a661b8aa82cc54236093bbc23", "688089e55540db1872504e1c",
	 "734320ccc9d9bbbb19cb81b2af4ecbc3e72834321f7aa0f70b7282b4f33df23f167541",
	 "ced532ce4159b035277d4dfbb7db62968b13cd4eec",
	 "626660c26ea6612fb17ad91e8e767639edd6c9faee9d6c7029675b89eaf4ba1ded1a286594"},
	/* C.3: the 32-bit block counter wraps */
	{"0000000000000000000000000000000000000000000000000000000000000000", "000000000000000000000000",
	 "", "000000000000000000000000000000004db923dc793ee6497c76dcc03a98e108",
	 "f3f80f2cf0cb2dd9c5984fcda908456cc537703b5ba70324a6793a7bf218d3eaffffffff000000000000000000000000"},
};

struct gcmsiv_case {
	uint8_t *key, *nonce, *aad, *pt, *ct;
	size_t aad_len, pt_len, ct_len;
};

static void gcmsiv_load(struct gcmsiv_case *c, size_t i)
{
	size_t klen, nlen;
	c->key = unhex(gcmsiv_vectors[i].key, &klen);
	c->nonce = unhex(gcmsiv_vectors[i].nonce, &nlen);
	c->aad = unhex(gcmsiv_vectors[i].aad, &c->aad_len);
	c->pt = unhex(gcmsiv_vectors[i].pt, &c->pt_len);
	c->ct = unhex(gcmsiv_vectors[i].ct, &c->ct_len);
	assert_int_equal(klen, 32);
	assert_int_equal(nlen, 12);
	assert_int_equal(c->ct_len, c->pt_len + 16);
}

static void gcmsiv_free(struct gcmsiv_case *c)
{
	free(c->key), free(c->nonce), free(c->aad), free(c->pt), free(c->ct);
}

static void test_gcmsiv_rfc8452(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof gcmsiv_vectors / sizeof gcmsiv_vectors[0]; i++) {
		struct gcmsiv_case c;
		uint8_t out[128], back[128];
		gcmsiv_load(&c, i);
		assert_int_equal(ns_gcmsiv_seal(out, c.pt, c.pt_len, c.aad, c.aad_len, c.key, c.nonce), 0);
		assert_memory_equal(out, c.ct, c.ct_len);
		memset(back, 0xee, sizeof back);
		assert_int_equal(ns_gcmsiv_open(back, c.ct, c.ct_len, c.aad, c.aad_len, c.key, c.nonce), 0);
		assert_memory_equal(back, c.pt, c.pt_len);
		assert_int_equal(back[c.pt_len], 0xee); /* wrote exactly ct_len - 16 bytes */
		gcmsiv_free(&c);
	}
}

static void expect_open_fails(const struct gcmsiv_case *c, const uint8_t *ct, const uint8_t *aad)
{
	uint8_t out[128];
	memset(out, 0xee, sizeof out);
	assert_int_equal(ns_gcmsiv_open(out, ct, c->ct_len, aad, c->aad_len, c->key, c->nonce), -1);
	for (size_t i = 0; i < c->pt_len; i++) /* no plaintext is released */
		assert_int_equal(out[i], 0);
}

/* Flipping any bit of the tag, the ciphertext, the AAD, the key or the nonce is rejected. */
static void test_gcmsiv_rejects_tampering(void **state)
{
	struct gcmsiv_case c;
	uint8_t ct[128], aad[64], out[128];
	(void)state;
	gcmsiv_load(&c, 8); /* C.2 vector with 35-byte AAD and 21-byte plaintext */
	for (size_t i = 0; i < c.ct_len; i++) {
		memcpy(ct, c.ct, c.ct_len);
		ct[i] ^= (uint8_t)(1u << (i % 8));
		expect_open_fails(&c, ct, c.aad);
	}
	for (size_t i = 0; i < c.aad_len; i++) {
		memcpy(aad, c.aad, c.aad_len);
		aad[i] ^= 0x80;
		expect_open_fails(&c, c.ct, aad);
	}
	c.nonce[11] ^= 1;
	expect_open_fails(&c, c.ct, c.aad);
	c.nonce[11] ^= 1;
	c.key[0] ^= 1;
	expect_open_fails(&c, c.ct, c.aad);
	c.key[0] ^= 1;
	/* a dropped AAD byte and a truncated input */
	assert_int_equal(ns_gcmsiv_open(out, c.ct, c.ct_len, c.aad, c.aad_len - 1, c.key, c.nonce), -1);
	assert_int_equal(ns_gcmsiv_open(out, c.ct, 15, c.aad, c.aad_len, c.key, c.nonce), -1);
	assert_int_equal(ns_gcmsiv_open(out, c.ct, c.ct_len - 1, c.aad, c.aad_len, c.key, c.nonce), -1);
	gcmsiv_free(&c);
}

/* Empty plaintext: the output is the tag alone; a flipped tag byte fails. */
static void test_gcmsiv_empty_plaintext(void **state)
{
	struct gcmsiv_case c;
	uint8_t tag[16], out[1];
	(void)state;
	gcmsiv_load(&c, 6);
	assert_int_equal(ns_gcmsiv_seal(tag, NULL, 0, NULL, 0, c.key, c.nonce), 0);
	assert_memory_equal(tag, c.ct, 16);
	assert_int_equal(ns_gcmsiv_open(out, tag, 16, NULL, 0, c.key, c.nonce), 0);
	tag[15] ^= 1;
	assert_int_equal(ns_gcmsiv_open(out, tag, 16, NULL, 0, c.key, c.nonce), -1);
	gcmsiv_free(&c);
}

/* ---- ChaCha20, original 64-bit nonce: draft-strombergson-chacha-test-vectors-01 TC1
 * (key 00*32, IV 00*8, 20 rounds) and TC2 (key 00*31 01); the same keystreams appear in
 * draft-agl-tls-chacha20poly1305-04 section 7 ---- */
static void test_chacha20_djb(void **state)
{
	uint8_t key[32] = {0}, zeros[128] = {0}, out[128];
	(void)state;
	ns_chacha20_xor(out, zeros, sizeof out, key);
	expect_hex(out, 128, "76b8e0ada0f13d90405d6ae55386bd28bdd219b8a08ded1aa836efcc8b770dc7"
	                     "da41597c5157488d7724e03fb8d84a376a43b8f41518a11cc387b669b2ee6586"
	                     "9f07e7be5551387a98ba977c732d080dcb0f29a048e3656912c6533e32ee7aed"
	                     "29b721769ce64e43d57133b074d839d531ed1f28510afb45ace10a1f4b794d6f");
	key[31] = 1;
	ns_chacha20_xor(out, zeros, sizeof out, key);
	expect_hex(out, 128, "4540f05a9f1fb296d7736e7b208e3c96eb4fe1834688d2604f450952ed432d41"
	                     "bbe2a0b6ea7566d2a5d1e7e20d42af2c53d792b1c43fea817e9ad275ae546963"
	                     "3aeb5224ecf849929b9d828db1ced4dd832025e8018b8160b82284f3c949aa5a"
	                     "8eca00bbb4a73bdad192b5c42f73f2fd4e273644c8b36125a64addeb006c13a0");
}

/* out = in xor keystream, in place too, and an odd length is a prefix. */
static void test_chacha20_xor_properties(void **state)
{
	uint8_t key[32], ks[200], msg[200], out[200], zeros[200] = {0};
	(void)state;
	for (int i = 0; i < 32; i++)
		key[i] = (uint8_t)(i * 5);
	for (int i = 0; i < 200; i++)
		msg[i] = (uint8_t)(i ^ 0x3c);
	ns_chacha20_xor(ks, zeros, sizeof ks, key);
	ns_chacha20_xor(out, msg, sizeof msg, key);
	for (int i = 0; i < 200; i++)
		assert_int_equal(out[i], (uint8_t)(msg[i] ^ ks[i]));
	ns_chacha20_xor(out, out, sizeof out, key);
	assert_memory_equal(out, msg, sizeof msg);
	memset(out, 0, sizeof out);
	ns_chacha20_xor(out, zeros, 77, key);
	assert_memory_equal(out, ks, 77);
	assert_int_equal(out[77], 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_aes_ctr_sp800_38a),
		cmocka_unit_test(test_aes_ctr64be_wrap),
		cmocka_unit_test(test_aes_ctr_keystream_zero_iv),
		cmocka_unit_test(test_gcmsiv_rfc8452),
		cmocka_unit_test(test_gcmsiv_rejects_tampering),
		cmocka_unit_test(test_gcmsiv_empty_plaintext),
		cmocka_unit_test(test_chacha20_djb),
		cmocka_unit_test(test_chacha20_xor_properties),
	};
	if (ns_crypto_init() != 0)
		return 1;
	return cmocka_run_group_tests(tests, NULL, NULL);
}
