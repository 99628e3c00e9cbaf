/* Lioness (Anderson-Biham) as lioness 0.1.2 with keyed BLAKE2b-256 and ChaCha20. */
#include "lioness.h"

#include "crypto.h"

#define LIONESS_HALF 32 /* |L| = stream key size = digest size */

static const uint8_t *k1(const uint8_t *key) { return key; }
static const uint8_t *k2(const uint8_t *key) { return key + 32; }
static const uint8_t *k3(const uint8_t *key) { return key + 96; }
static const uint8_t *k4(const uint8_t *key) { return key + 128; }

/* R ^= ChaCha20(L ^ k) */
static void stream_round(uint8_t *block, size_t len, const uint8_t k[32])
{
	uint8_t sk[32];
	for (size_t i = 0; i < 32; i++)
		sk[i] = block[i] ^ k[i];
	ns_chacha20_xor(block + LIONESS_HALF, block + LIONESS_HALF, len - LIONESS_HALF, sk);
	ns_memzero(sk, sizeof sk);
}

/* L ^= BLAKE2b-256(key = k (64 bytes), R) */
static int hash_round(uint8_t *block, size_t len, const uint8_t k[64])
{
	uint8_t h[32];
	if (ns_blake2b(h, sizeof h, block + LIONESS_HALF, len - LIONESS_HALF, k, 64) != 0)
		return -1;
	for (size_t i = 0; i < 32; i++)
		block[i] ^= h[i];
	ns_memzero(h, sizeof h);
	return 0;
}

int lioness_encrypt(const uint8_t key[LIONESS_KEY_LEN], uint8_t *block, size_t len)
{
	if (key == NULL || block == NULL || len <= LIONESS_HALF)
		return -1;
	stream_round(block, len, k1(key));
	if (hash_round(block, len, k2(key)) != 0)
		return -1;
	stream_round(block, len, k3(key));
	return hash_round(block, len, k4(key));
}

int lioness_decrypt(const uint8_t key[LIONESS_KEY_LEN], uint8_t *block, size_t len)
{
	if (key == NULL || block == NULL || len <= LIONESS_HALF)
		return -1;
	if (hash_round(block, len, k4(key)) != 0)
		return -1;
	stream_round(block, len, k3(key));
	if (hash_round(block, len, k2(key)) != 0)
		return -1;
	stream_round(block, len, k1(key));
	return 0;
}
