#include "crypto.h"

#include <blake3.h>
#include <gcrypt.h>
#ifndef __EMSCRIPTEN__
#include <pthread.h>
#endif
#include <sodium.h>
#include <stdlib.h>
#include <string.h>
#ifdef __EMSCRIPTEN__
#include <emscripten.h>
#endif

#define GCRYPT_MIN_VERSION "1.10.0"

#ifndef __EMSCRIPTEN__
static void random_pool_forked(void);
#endif

int ns_crypto_init(void)
{
	static int done;
	if (done)
		return 0;
	if (sodium_init() < 0)
		return -1;
	if (!gcry_check_version(GCRYPT_MIN_VERSION))
		return -1;
#ifndef __EMSCRIPTEN__
	if (pthread_atfork(NULL, NULL, random_pool_forked) != 0)
		return -1;
#endif
	gcry_control(GCRYCTL_DISABLE_SECMEM, 0);
	gcry_control(GCRYCTL_INITIALIZATION_FINISHED, 0);
	done = 1;
	return 0;
}

void ns_memzero(void *p, size_t n) { sodium_memzero(p, n); }
#ifdef __EMSCRIPTEN__
/* In wasm, libsodium 1.0.18's randombytes_buf (and emscripten's getentropy) make one call
 * into JavaScript per byte, each a crypto.getRandomValues on a 1- or 4-byte array: 14 % of
 * the browser key Worker's CPU under a burst. The same source fills the whole buffer in one
 * call here (at most 65536 bytes per call, the Web Crypto limit). */
EM_JS(void, ns_js_random_fill, (void *buf, size_t n), {
	crypto.getRandomValues(HEAPU8.subarray(buf, buf + n));
});

static void random_fill(unsigned char *p, size_t n)
{
	for (; n > 0;) {
		size_t k = n < 65536 ? n : 65536;
		ns_js_random_fill(p, k);
		p += k;
		n -= k;
	}
}
#define POOL_LOCAL /* one thread */
#else
/* Natively libsodium's randombytes_buf is one getrandom(2) per call (0.36 us here). */
static void random_fill(unsigned char *p, size_t n) { randombytes_buf(p, n); }
#define POOL_LOCAL _Thread_local /* keyd's builder threads each have their own */
#endif

/* A packet build asks for a few bytes at a time (route choices, delays, scalars, padding:
 * ~21 calls per self-sent packet, ~130 per message with 10 reply SURBs), and each call into
 * the source costs more than the bytes: small requests are served from a buffer that one
 * fill refills, each byte zeroed as it is handed out (so the buffer never holds bytes already
 * used). A child forked without exec starts with an empty buffer (random_pool_forked), or
 * it would hand out the bytes its parent hands out. */
#define RANDOM_POOL 4096
static POOL_LOCAL unsigned char random_pool[RANDOM_POOL];
static POOL_LOCAL size_t random_left; /* the unused bytes are the last random_left of the pool */

#ifndef __EMSCRIPTEN__
static void random_pool_forked(void)
{
	/* the child has one thread, the one that forked: its pool is this one */
	sodium_memzero(random_pool, sizeof random_pool);
	random_left = 0;
}
#endif

void ns_random(void *buf, size_t n)
{
	unsigned char *out = buf;
	if (n > RANDOM_POOL / 4) {
		random_fill(out, n);
		return;
	}
	if (random_left < n) {
		random_fill(random_pool, RANDOM_POOL);
		random_left = RANDOM_POOL;
	}
	unsigned char *from = random_pool + RANDOM_POOL - random_left;
	memcpy(out, from, n);
	sodium_memzero(from, n);
	random_left -= n;
}

/* libsodium's randombytes_uniform, on the buffer above (libsodium's own would call the
 * source once per 32-bit draw): rejection below 2^32 mod upper. */
uint32_t ns_random_uniform(uint32_t upper)
{
	if (upper < 2)
		return 0;
	uint32_t min = (1U + ~upper) % upper, r;
	do
		ns_random(&r, sizeof r);
	while (r < min);
	return r % upper;
}
int ns_ct_equal(const void *a, const void *b, size_t n) { return sodium_memcmp(a, b, n) == 0; }

int ns_argon2id(uint8_t *out, size_t out_len, const uint8_t *pass, size_t pass_len,
                const uint8_t salt[NS_ARGON2_SALT_LEN], uint32_t ops, uint32_t mem_kib)
{
	return crypto_pwhash(out, out_len, (const char *)pass, pass_len, salt, ops,
	                     (size_t)mem_kib * 1024, crypto_pwhash_ALG_ARGON2ID13) == 0 ? 0 : -1;
}

void ns_x25519(uint8_t out[32], const uint8_t scalar[32], const uint8_t point[32])
{
	/* libsodium returns -1 for a low-order result but has written it (zeros). */
	if (crypto_scalarmult(out, scalar, point) != 0)
		memset(out, 0, 32);
}

void ns_x25519_base(uint8_t out[32], const uint8_t scalar[32])
{
	if (crypto_scalarmult_base(out, scalar) != 0)
		memset(out, 0, 32);
}

void ns_ed25519_from_seed(uint8_t pk[32], uint8_t sk[64], const uint8_t seed[32])
{
	crypto_sign_seed_keypair(pk, sk, seed);
}

void ns_ed25519_sign(uint8_t sig[64], const uint8_t *msg, size_t len, const uint8_t sk[64])
{
	crypto_sign_detached(sig, NULL, msg, len, sk);
}

int ns_ed25519_verify(const uint8_t sig[64], const uint8_t *msg, size_t len, const uint8_t pk[32])
{
	return crypto_sign_verify_detached(sig, msg, len, pk) == 0 ? 0 : -1;
}

void ns_sha256(uint8_t out[32], const uint8_t *in, size_t len)
{
	gcry_md_hash_buffer(GCRY_MD_SHA256, out, in, len);
}

/* RFC 5869 expand over any PRF with 32-byte output: T(i) = PRF(T(i-1) || info || i). */
typedef int (*hkdf_prf_fn)(void *prk_ctx, uint8_t out[32], const uint8_t *prev, size_t prev_len,
                           const uint8_t *info, size_t info_len, uint8_t counter);

static int hkdf_expand(hkdf_prf_fn prf, void *prk_ctx, uint8_t *out, size_t out_len,
                       const uint8_t *info, size_t info_len)
{
	uint8_t t[32];
	size_t done = 0, tlen = 0;
	unsigned counter = 1;
	int rc = 0;

	while (done < out_len) {
		size_t take = out_len - done < 32 ? out_len - done : 32;
		if (prf(prk_ctx, t, t, tlen, info, info_len, (uint8_t)counter++) != 0) {
			rc = -1;
			break;
		}
		tlen = 32;
		memcpy(out + done, t, take);
		done += take;
	}
	ns_memzero(t, sizeof t);
	return rc;
}

static const uint8_t hkdf_zero_salt[32];

/* libgcrypt rejects a zero-length HMAC key; HMAC pads any key to the block with
 * zeros, so one zero byte is the same key. */
static int hmac_sha256_setkey(gcry_mac_hd_t h, const uint8_t *key, size_t klen)
{
	static const uint8_t zero[1];
	if (klen == 0) {
		key = zero;
		klen = 1;
	}
	return gcry_mac_setkey(h, key, klen) == 0 ? 0 : -1;
}

static int hmac_sha256_read(gcry_mac_hd_t h, uint8_t out[32])
{
	size_t olen = 32;
	return gcry_mac_read(h, out, &olen) == 0 && olen == 32 ? 0 : -1;
}

void ns_hmac_sha256(uint8_t out[32], const uint8_t *key, size_t klen, const uint8_t *msg, size_t mlen)
{
	gcry_mac_hd_t h;

	if (gcry_mac_open(&h, GCRY_MAC_HMAC_SHA256, 0, NULL) != 0)
		abort();
	if (hmac_sha256_setkey(h, key, klen) != 0 || gcry_mac_write(h, msg, mlen) != 0 ||
	    hmac_sha256_read(h, out) != 0)
		abort();
	gcry_mac_close(h);
}

/* One libgcrypt handle keyed with the PRK serves every block: gcry_mac_reset
 * returns it to the keyed state without recomputing the pads. */
static int hkdf_sha256_prf(void *prk_ctx, uint8_t out[32], const uint8_t *prev, size_t prev_len,
                           const uint8_t *info, size_t info_len, uint8_t counter)
{
	gcry_mac_hd_t h = *(gcry_mac_hd_t *)prk_ctx;
	if (gcry_mac_reset(h) != 0 || gcry_mac_write(h, prev, prev_len) != 0 ||
	    gcry_mac_write(h, info, info_len) != 0 || gcry_mac_write(h, &counter, 1) != 0)
		return -1;
	return hmac_sha256_read(h, out);
}

int ns_hkdf_sha256(uint8_t *out, size_t out_len, const uint8_t *salt, size_t salt_len,
                   const uint8_t *ikm, size_t ikm_len, const uint8_t *info, size_t info_len)
{
	gcry_mac_hd_t h;
	uint8_t prk[32];
	int rc = -1;

	if (out_len > 255 * 32)
		return -1;
	if (salt == NULL) {
		salt = hkdf_zero_salt;
		salt_len = sizeof hkdf_zero_salt;
	}
	if (gcry_mac_open(&h, GCRY_MAC_HMAC_SHA256, 0, NULL) != 0)
		return -1;
	if (hmac_sha256_setkey(h, salt, salt_len) == 0 && gcry_mac_write(h, ikm, ikm_len) == 0 &&
	    hmac_sha256_read(h, prk) == 0 && hmac_sha256_setkey(h, prk, sizeof prk) == 0)
		rc = hkdf_expand(hkdf_sha256_prf, &h, out, out_len, info, info_len);
	gcry_mac_close(h);
	ns_memzero(prk, sizeof prk);
	return rc;
}

void ns_blake3(uint8_t out[32], const uint8_t *in, size_t len)
{
	ns_blake3_xof(out, 32, in, len);
}

void ns_blake3_xof(uint8_t *out, size_t out_len, const uint8_t *in, size_t len)
{
	blake3_hasher h;
	blake3_hasher_init(&h);
	blake3_hasher_update(&h, in, len);
	blake3_hasher_finalize(&h, out, out_len);
	ns_memzero(&h, sizeof h);
}

#define BLAKE3_BLOCK 64

/* HMAC-BLAKE3 keyed state: the hashers after absorbing key^ipad and key^opad. */
struct hmac_blake3 {
	blake3_hasher inner, outer;
};

static void hmac_blake3_init(struct hmac_blake3 *st, const uint8_t *key, size_t klen)
{
	uint8_t k[BLAKE3_BLOCK] = {0}, pad[BLAKE3_BLOCK];

	if (klen > BLAKE3_BLOCK)
		ns_blake3(k, key, klen);
	else if (klen)
		memcpy(k, key, klen);
	for (int i = 0; i < BLAKE3_BLOCK; i++)
		pad[i] = k[i] ^ 0x36;
	blake3_hasher_init(&st->inner);
	blake3_hasher_update(&st->inner, pad, sizeof pad);
	for (int i = 0; i < BLAKE3_BLOCK; i++)
		pad[i] = k[i] ^ 0x5c;
	blake3_hasher_init(&st->outer);
	blake3_hasher_update(&st->outer, pad, sizeof pad);
	ns_memzero(k, sizeof k);
	ns_memzero(pad, sizeof pad);
}

/* MAC of the concatenation of up to three parts (NULL/0 parts are skipped). */
static void hmac_blake3_mac(const struct hmac_blake3 *st, uint8_t out[32], const uint8_t *a, size_t alen,
                            const uint8_t *b, size_t blen, const uint8_t *c, size_t clen)
{
	blake3_hasher h;
	uint8_t inner[32];

	h = st->inner;
	blake3_hasher_update(&h, a, alen);
	blake3_hasher_update(&h, b, blen);
	blake3_hasher_update(&h, c, clen);
	blake3_hasher_finalize(&h, inner, sizeof inner);
	h = st->outer;
	blake3_hasher_update(&h, inner, sizeof inner);
	blake3_hasher_finalize(&h, out, 32);
	ns_memzero(inner, sizeof inner);
	ns_memzero(&h, sizeof h);
}

void ns_hmac_blake3(uint8_t out[32], const uint8_t *key, size_t klen, const uint8_t *msg, size_t mlen)
{
	struct hmac_blake3 st;
	hmac_blake3_init(&st, key, klen);
	hmac_blake3_mac(&st, out, msg, mlen, NULL, 0, NULL, 0);
	ns_memzero(&st, sizeof st);
}

static int hkdf_blake3_prf(void *prk_ctx, uint8_t out[32], const uint8_t *prev, size_t prev_len,
                           const uint8_t *info, size_t info_len, uint8_t counter)
{
	hmac_blake3_mac(prk_ctx, out, prev, prev_len, info, info_len, &counter, 1);
	return 0;
}

int ns_hkdf_blake3(uint8_t *out, size_t out_len, const uint8_t *salt, size_t salt_len,
                   const uint8_t *ikm, size_t ikm_len, const uint8_t *info, size_t info_len)
{
	struct hmac_blake3 st;
	uint8_t prk[32];
	int rc;

	if (out_len > 255 * 32)
		return -1;
	if (salt == NULL) {
		salt = hkdf_zero_salt;
		salt_len = sizeof hkdf_zero_salt;
	}
	ns_hmac_blake3(prk, salt, salt_len, ikm, ikm_len);
	hmac_blake3_init(&st, prk, sizeof prk);
	rc = hkdf_expand(hkdf_blake3_prf, &st, out, out_len, info, info_len);
	ns_memzero(&st, sizeof st);
	ns_memzero(prk, sizeof prk);
	return rc;
}

int ns_blake2b(uint8_t *out, size_t out_len, const uint8_t *in, size_t len,
               const uint8_t *key, size_t key_len)
{
	/* libsodium's BYTES_MIN (16) is advice; its BLAKE2b takes any length 1..64. */
	if (out_len < 1 || out_len > crypto_generichash_BYTES_MAX ||
	    key_len > crypto_generichash_KEYBYTES_MAX || (key == NULL && key_len != 0))
		return -1;
	return crypto_generichash(out, out_len, in, len, key_len ? key : NULL, key_len);
}

void ns_chacha20_xor(uint8_t *out, const uint8_t *in, size_t len, const uint8_t key[32])
{
	static const uint8_t nonce[crypto_stream_chacha20_NONCEBYTES];
	crypto_stream_chacha20_xor(out, in, len, nonce, key);
}

static int aes_ctr(uint8_t *out, const uint8_t *in, size_t len, const uint8_t *key, size_t klen,
                   int algo, const uint8_t iv[16])
{
	gcry_cipher_hd_t h;
	int rc = -1;

	if (gcry_cipher_open(&h, algo, GCRY_CIPHER_MODE_CTR, 0) != 0)
		return -1;
	if (gcry_cipher_setkey(h, key, klen) == 0 && gcry_cipher_setctr(h, iv, 16) == 0) {
		if (in != out)
			memmove(out, in, len);
		rc = gcry_cipher_encrypt(h, out, len, NULL, 0) == 0 ? 0 : -1;
	}
	gcry_cipher_close(h);
	return rc;
}

/* libgcrypt's CTR carries into the whole 128-bit block; Ctr64BE does not. Split the
 * data where the low 64 bits would wrap, and restart with the high half unchanged. */
int ns_aes128_ctr64be(uint8_t *out, const uint8_t *in, size_t len,
                      const uint8_t key[16], const uint8_t iv[16])
{
	uint8_t cur[16];
	uint64_t ctr = 0;

	memcpy(cur, iv, 16);
	for (int i = 8; i < 16; i++)
		ctr = (ctr << 8) | cur[i];
	while (len > 0) {
		uint64_t blocks_left = UINT64_MAX - ctr + 1; /* 0 means 2^64 */
		size_t chunk = len;
		if (blocks_left != 0 && blocks_left < (len + 15) / 16)
			chunk = (size_t)blocks_left * 16;
		if (aes_ctr(out, in, chunk, key, 16, GCRY_CIPHER_AES128, cur) != 0)
			return -1;
		out += chunk;
		in += chunk;
		len -= chunk;
		ctr += chunk / 16;
		for (int i = 15; i >= 8; i--, ctr >>= 8)
			cur[i] = (uint8_t)ctr;
		ctr = 0;
		for (int i = 8; i < 16; i++)
			ctr = (ctr << 8) | cur[i];
	}
	return 0;
}

int ns_aes128_ctr_keystream(uint8_t *out, size_t len, const uint8_t key[16])
{
	static const uint8_t zero_iv[16];
	memset(out, 0, len);
	return ns_aes128_ctr64be(out, out, len, key, zero_iv);
}

static int gcmsiv_open_handle(gcry_cipher_hd_t *h, const uint8_t key[32], const uint8_t nonce[12],
                              const uint8_t *aad, size_t aad_len)
{
	if (gcry_cipher_open(h, GCRY_CIPHER_AES256, GCRY_CIPHER_MODE_GCM_SIV, 0) != 0)
		return -1;
	if (gcry_cipher_setkey(*h, key, 32) != 0 || gcry_cipher_setiv(*h, nonce, 12) != 0 ||
	    (aad_len && gcry_cipher_authenticate(*h, aad, aad_len) != 0)) {
		gcry_cipher_close(*h);
		return -1;
	}
	return 0;
}

int ns_gcmsiv_seal(uint8_t *out, const uint8_t *pt, size_t pt_len, const uint8_t *aad, size_t aad_len,
                   const uint8_t key[32], const uint8_t nonce[12])
{
	gcry_cipher_hd_t h;
	int rc;

	if (gcmsiv_open_handle(&h, key, nonce, aad, aad_len) != 0)
		return -1;
	rc = (gcry_cipher_final(h), gcry_cipher_encrypt(h, out, pt_len, pt, pt_len)) == 0 &&
	     gcry_cipher_gettag(h, out + pt_len, 16) == 0 ? 0 : -1;
	gcry_cipher_close(h);
	return rc;
}

int ns_gcmsiv_open(uint8_t *out, const uint8_t *ct, size_t ct_len, const uint8_t *aad, size_t aad_len,
                   const uint8_t key[32], const uint8_t nonce[12])
{
	gcry_cipher_hd_t h;
	size_t pt_len;
	int rc;

	if (ct_len < 16)
		return -1;
	pt_len = ct_len - 16;
	if (gcmsiv_open_handle(&h, key, nonce, aad, aad_len) != 0)
		return -1;
	/* GCM-SIV needs the tag before decrypting: it is the synthetic IV. */
	rc = gcry_cipher_set_decryption_tag(h, ct + pt_len, 16) == 0 &&
	     (gcry_cipher_final(h), gcry_cipher_decrypt(h, out, pt_len, ct, pt_len)) == 0 &&
	     gcry_cipher_checktag(h, ct + pt_len, 16) == 0 ? 0 : -1;
	gcry_cipher_close(h);
	if (rc != 0)
		ns_memzero(out, pt_len);
	return rc;
}

/* ---- ed25519 point decompression check ----
 * curve25519-dalek's CompressedEdwardsY::decompress (used by ed25519-dalek
 * VerifyingKey::from_bytes) succeeds iff (y^2 - 1) / (d*y^2 + 1) is a square mod p,
 * with y the low 255 bits taken mod p. d*y^2 + 1 is never 0 (-1/d is not a square).
 * This is only bignum arithmetic through libgcrypt's MPI API; no curve code. */

static const char ED25519_D_HEX[] =
	"52036cee2b6ffe738cc740797779e89800700a4d4141d8ab75eb4dca135978a3";

static gcry_mpi_t mpi_from_hex(const char *hex)
{
	gcry_mpi_t m = NULL;

	if (gcry_mpi_scan(&m, GCRYMPI_FMT_HEX, hex, 0, NULL) != 0)
		return NULL;
	return m;
}

static gcry_mpi_t y_from_compressed(const uint8_t pk[32])
{
	uint8_t be[32];
	gcry_mpi_t y = NULL;

	for (int i = 0; i < 32; i++)
		be[i] = pk[31 - i];
	be[0] &= 0x7f;
	if (gcry_mpi_scan(&y, GCRYMPI_FMT_USG, be, sizeof(be), NULL) != 0)
		return NULL;
	return y;
}

/* 1 if a is zero or a quadratic residue mod p (Euler's criterion), 0 if not, -1 on error. */
static int is_square_mod_p(gcry_mpi_t a, gcry_mpi_t p)
{
	gcry_mpi_t e = gcry_mpi_new(256), r = gcry_mpi_new(256);
	int result = -1;

	if (e && r) {
		gcry_mpi_sub_ui(e, p, 1);
		gcry_mpi_rshift(e, e, 1);
		gcry_mpi_powm(r, a, e, p);
		result = (gcry_mpi_cmp_ui(r, 0) == 0 || gcry_mpi_cmp_ui(r, 1) == 0) ? 1 : 0;
	}
	gcry_mpi_release(e);
	gcry_mpi_release(r);
	return result;
}

int ns_ed25519_pk_decompresses(const uint8_t pk[32])
{
	gcry_mpi_t p = mpi_from_hex(NS_P25519_HEX), d = mpi_from_hex(ED25519_D_HEX);
	gcry_mpi_t y = y_from_compressed(pk);
	gcry_mpi_t yy = gcry_mpi_new(256), u = gcry_mpi_new(256), v = gcry_mpi_new(256);
	gcry_mpi_t one = gcry_mpi_set_ui(NULL, 1);
	int ok = 0;

	if (p && d && y && yy && u && v && one) {
		gcry_mpi_mod(y, y, p);
		gcry_mpi_mulm(yy, y, y, p);
		gcry_mpi_subm(u, yy, one, p);
		gcry_mpi_mulm(v, yy, d, p);
		gcry_mpi_addm(v, v, one, p);
		if (gcry_mpi_invm(v, v, p)) {
			gcry_mpi_mulm(u, u, v, p);
			ok = is_square_mod_p(u, p) == 1;
		}
	}
	gcry_mpi_release(p);
	gcry_mpi_release(d);
	gcry_mpi_release(y);
	gcry_mpi_release(yy);
	gcry_mpi_release(u);
	gcry_mpi_release(v);
	gcry_mpi_release(one);
	return ok;
}
