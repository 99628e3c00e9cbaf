/* Thin wrappers over libsodium, libgcrypt and the official BLAKE3 C code.
 * No primitive is implemented here; only the glue Nym's formats need. */
#ifndef NS_CRYPTO_H
#define NS_CRYPTO_H
#include <stddef.h>
#include <stdint.h>

#define NS_X25519_LEN       32
#define NS_ED25519_PK_LEN   32
#define NS_ED25519_SEED_LEN 32
#define NS_ED25519_SK_LEN   64
#define NS_ED25519_SIG_LEN  64
#define NS_SHA256_LEN       32
#define NS_BLAKE3_LEN       32
#define NS_AES128_KEY_LEN   16
#define NS_AES_IV_LEN       16
#define NS_GCMSIV_KEY_LEN   32
#define NS_GCMSIV_NONCE_LEN 12
#define NS_GCMSIV_TAG_LEN   16

/* p = 2^255 - 19, the field of Curve25519 and Ed25519, as libgcrypt's gcry_mpi_scan reads hex */
#define NS_P25519_HEX "7fffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffed"

/* Must be called once before anything else; returns 0 on success. */
int ns_crypto_init(void);

void ns_memzero(void *p, size_t n);
void ns_random(void *buf, size_t n);
/* Uniform in [0, upper). */
uint32_t ns_random_uniform(uint32_t upper);
int ns_ct_equal(const void *a, const void *b, size_t n); /* 1 if equal */

/* X25519 with clamping as x25519-dalek. Unlike libsodium, an all-zero
 * result is not an error (dalek does not fail); the value is still written. */
void ns_x25519(uint8_t out[32], const uint8_t scalar[32], const uint8_t point[32]);
void ns_x25519_base(uint8_t out[32], const uint8_t scalar[32]);

void ns_ed25519_from_seed(uint8_t pk[32], uint8_t sk[64], const uint8_t seed[32]);
void ns_ed25519_sign(uint8_t sig[64], const uint8_t *msg, size_t len, const uint8_t sk[64]);
int ns_ed25519_verify(const uint8_t sig[64], const uint8_t *msg, size_t len, const uint8_t pk[32]); /* 0 = ok */

/* 1 if the 32 bytes decompress to an Ed25519 point exactly as ed25519-dalek's
 * VerifyingKey::from_bytes accepts them (small-order points and non-canonical y
 * included, unlike libsodium's is_valid_point), else 0. */
int ns_ed25519_pk_decompresses(const uint8_t pk[32]);

void ns_sha256(uint8_t out[32], const uint8_t *in, size_t len);
void ns_hmac_sha256(uint8_t out[32], const uint8_t *key, size_t klen, const uint8_t *msg, size_t mlen);
/* RFC 5869 HKDF over SHA-256; salt may be NULL (= HashLen zero bytes). out_len <= 255*32. */
int ns_hkdf_sha256(uint8_t *out, size_t out_len, const uint8_t *salt, size_t salt_len,
                   const uint8_t *ikm, size_t ikm_len, const uint8_t *info, size_t info_len);

void ns_blake3(uint8_t out[32], const uint8_t *in, size_t len);
void ns_blake3_xof(uint8_t *out, size_t out_len, const uint8_t *in, size_t len);
/* HMAC over BLAKE3 (block 64, output 32) and RFC 5869 HKDF on top of it. */
void ns_hmac_blake3(uint8_t out[32], const uint8_t *key, size_t klen, const uint8_t *msg, size_t mlen);
int ns_hkdf_blake3(uint8_t *out, size_t out_len, const uint8_t *salt, size_t salt_len,
                   const uint8_t *ikm, size_t ikm_len, const uint8_t *info, size_t info_len);

/* Keyed BLAKE2b (RFC 7693), out_len 1..64, key_len 0..64. */
int ns_blake2b(uint8_t *out, size_t out_len, const uint8_t *in, size_t len,
               const uint8_t *key, size_t key_len);

/* Argon2id v1.3 (libsodium crypto_pwhash, parallelism 1): out_len bytes from a passphrase
 * and a 16-byte salt, ops passes over mem_kib KiB. 0, or -1 (out of memory, a bound). */
#define NS_ARGON2_SALT_LEN 16
int ns_argon2id(uint8_t *out, size_t out_len, const uint8_t *pass, size_t pass_len,
                const uint8_t salt[NS_ARGON2_SALT_LEN], uint32_t ops, uint32_t mem_kib);

/* Original (DJB) ChaCha20, 8-byte all-zero nonce, counter from 0: out = in xor keystream. */
void ns_chacha20_xor(uint8_t *out, const uint8_t *in, size_t len, const uint8_t key[32]);

/* AES-128-CTR with a 64-bit big-endian counter in the IV's last 8 bytes (RustCrypto
 * Ctr64BE: the first 8 bytes stay fixed, the counter wraps). in and out may alias. */
int ns_aes128_ctr64be(uint8_t *out, const uint8_t *in, size_t len,
                      const uint8_t key[16], const uint8_t iv[16]);
/* AES-128-CTR keystream with a zero IV: out = len bytes of keystream. */
int ns_aes128_ctr_keystream(uint8_t *out, size_t len, const uint8_t key[16]);

/* AES-256-GCM-SIV (RFC 8452). seal writes pt_len + 16 bytes (ciphertext || tag). */
int ns_gcmsiv_seal(uint8_t *out, const uint8_t *pt, size_t pt_len, const uint8_t *aad, size_t aad_len,
                   const uint8_t key[32], const uint8_t nonce[12]);
/* open: ct_len >= 16; writes ct_len - 16 bytes; returns -1 on a bad tag (out is zeroed). */
int ns_gcmsiv_open(uint8_t *out, const uint8_t *ct, size_t ct_len, const uint8_t *aad, size_t aad_len,
                   const uint8_t key[32], const uint8_t nonce[12]);

#endif
