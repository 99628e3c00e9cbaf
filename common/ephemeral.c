/* Ephemeral X25519 key pairs (ephemeral.h).
 *
 * Why a pool: on x86-64 libsodium's crypto_scalarmult_curve25519_base is a Montgomery ladder
 * (sandy2x), as slow as a multiplication of any point. crypto_scalarmult_ed25519_base
 * multiplies with precomputed tables in half the time and clamps the scalar as X25519 does,
 * so both give the same point [clamp(s)]B; only the coordinates differ. The Montgomery u
 * of an Edwards point is (1 + y) / (1 - y) mod p, and one field inversion (libgcrypt) serves a
 * whole batch (Montgomery's trick: invert the product, then peel the factors off). The
 * inputs of the bignum arithmetic are public keys; no secret enters libgcrypt.
 *
 * The pool is per thread (keyd's builder threads), each secret zeroed as it is handed out,
 * and a child forked without exec starts with an empty pool, or it would hand out the same
 * pairs as its parent. */
#include "ephemeral.h"

#include <sodium.h>
#include <string.h>

#include "crypto.h"

#ifdef __EMSCRIPTEN__
/* libsodium's portable (ref10) X25519 base multiplication already uses the Edwards tables. */
void ns_x25519_ephemeral(uint8_t secret[32], uint8_t public_key[32])
{
	ns_random(secret, 32);
	ns_x25519_base(public_key, secret);
}
#else
#include <gcrypt.h>
#include <pthread.h>

#define EPH_BATCH 32 /* one inversion per 32 pairs: ~0.7 us each of the ~22 us it costs */

struct eph_pool {
	uint8_t secret[EPH_BATCH][32];
	uint8_t public_key[EPH_BATCH][32];
	size_t left; /* pairs not yet handed out: the first `left` */
};
static _Thread_local struct eph_pool pool;
static pthread_once_t atfork_once = PTHREAD_ONCE_INIT;
static int atfork_failed;

static void pool_forked(void)
{
	/* the child has one thread, the one that forked: its pool is this one */
	sodium_memzero(&pool, sizeof pool);
}

static void register_atfork(void) { atfork_failed = pthread_atfork(NULL, NULL, pool_forked) != 0; }

static int mpi_from_le(gcry_mpi_t *out, const uint8_t le[32], int clear_top_bit)
{
	uint8_t be[32];
	for (int i = 0; i < 32; i++)
		be[i] = le[31 - i];
	if (clear_top_bit)
		be[0] &= 0x7f; /* the sign of x in a compressed Edwards point */
	return gcry_mpi_scan(out, GCRYMPI_FMT_USG, be, sizeof be, NULL) == 0 ? 0 : -1;
}

static int mpi_to_le(uint8_t le[32], gcry_mpi_t m)
{
	uint8_t be[32];
	size_t n = 0;
	if (gcry_mpi_print(GCRYMPI_FMT_USG, be, sizeof be, &n, m) != 0 || n > 32)
		return -1;
	memset(le, 0, 32);
	for (size_t i = 0; i < n; i++)
		le[i] = be[n - 1 - i];
	return 0;
}

struct batch_mpis {
	gcry_mpi_t p, one, inv, t;
	gcry_mpi_t den[EPH_BATCH];    /* 1 - y_i */
	gcry_mpi_t num[EPH_BATCH];    /* 1 + y_i */
	gcry_mpi_t prefix[EPH_BATCH]; /* den_0 * ... * den_i */
};

static void batch_release(struct batch_mpis *b)
{
	gcry_mpi_release(b->p);
	gcry_mpi_release(b->one);
	gcry_mpi_release(b->inv);
	gcry_mpi_release(b->t);
	for (size_t i = 0; i < EPH_BATCH; i++) {
		gcry_mpi_release(b->den[i]);
		gcry_mpi_release(b->num[i]);
		gcry_mpi_release(b->prefix[i]);
	}
}

/* den, num and the prefix products of the dens, from the compressed Edwards points. */
static int batch_load(struct batch_mpis *b, const uint8_t (*ed)[32])
{
	if (gcry_mpi_scan(&b->p, GCRYMPI_FMT_HEX, NS_P25519_HEX, 0, NULL) != 0)
		return -1;
	b->one = gcry_mpi_set_ui(NULL, 1);
	b->inv = gcry_mpi_new(256);
	b->t = gcry_mpi_new(256);
	for (size_t i = 0; i < EPH_BATCH; i++) {
		gcry_mpi_t y = NULL;
		if (mpi_from_le(&y, ed[i], 1) != 0)
			return -1;
		b->den[i] = gcry_mpi_new(256);
		b->num[i] = gcry_mpi_new(256);
		b->prefix[i] = gcry_mpi_new(256);
		gcry_mpi_subm(b->den[i], b->one, y, b->p);
		gcry_mpi_addm(b->num[i], b->one, y, b->p);
		gcry_mpi_release(y);
		if (i == 0)
			gcry_mpi_set(b->prefix[0], b->den[0]);
		else
			gcry_mpi_mulm(b->prefix[i], b->prefix[i - 1], b->den[i], b->p);
	}
	return 0;
}

/* u_i = num_i / den_i for the whole batch, with one inversion. */
static int edwards_to_montgomery_batch(uint8_t (*u)[32], const uint8_t (*ed)[32])
{
	struct batch_mpis b;
	int rc = -1;

	memset(&b, 0, sizeof b);
	if (batch_load(&b, ed) != 0 || !gcry_mpi_invm(b.inv, b.prefix[EPH_BATCH - 1], b.p))
		goto out; /* no inverse: a y of 1, the neutral point, which a clamped scalar never gives */
	for (size_t i = EPH_BATCH; i-- > 0;) {
		if (i > 0) {
			gcry_mpi_mulm(b.t, b.inv, b.prefix[i - 1], b.p); /* 1 / den_i */
			gcry_mpi_mulm(b.inv, b.inv, b.den[i], b.p);      /* 1 / (den_0 ... den_{i-1}) */
		} else {
			gcry_mpi_set(b.t, b.inv);
		}
		gcry_mpi_mulm(b.t, b.t, b.num[i], b.p);
		if (mpi_to_le(u[i], b.t) != 0)
			goto out;
	}
	rc = 0;
out:
	batch_release(&b);
	return rc;
}

static int pool_fill(void)
{
	uint8_t ed[EPH_BATCH][32];

	pthread_once(&atfork_once, register_atfork);
	if (atfork_failed)
		return -1;
	ns_random(pool.secret, sizeof pool.secret);
	for (size_t i = 0; i < EPH_BATCH; i++)
		if (crypto_scalarmult_ed25519_base(ed[i], pool.secret[i]) != 0)
			goto fail;
	if (edwards_to_montgomery_batch(pool.public_key, (const uint8_t(*)[32])ed) != 0)
		goto fail;
	pool.left = EPH_BATCH;
	return 0;
fail:
	sodium_memzero(&pool, sizeof pool);
	return -1;
}

void ns_x25519_ephemeral(uint8_t secret[32], uint8_t public_key[32])
{
	if (pool.left == 0 && pool_fill() != 0) {
		ns_random(secret, 32);
		ns_x25519_base(public_key, secret);
		return;
	}
	size_t i = --pool.left;
	memcpy(secret, pool.secret[i], 32);
	memcpy(public_key, pool.public_key[i], 32);
	sodium_memzero(pool.secret[i], 32);
	sodium_memzero(pool.public_key[i], 32);
}
#endif
