/* The per-hop shared secrets of a header under construction.
 *
 * sphinx-packet computes s_i by applying the clamped scalars x, b_0, ..., b_{i-1} to pk_i one
 * X25519 after another (the chain: 1+2+...+n ladders for n hops). A clamped scalar is a
 * multiple of 8, so the first X25519 already removes any small-order part of pk_i, and on the
 * prime-order subgroup the chain equals one multiplication by the product a_i of the clamped
 * scalars mod l. X25519 clamps its scalar, so that multiplication is done by a scalar r whose
 * clamped value is congruent to +a_i or -a_i (u(-P) = u(P)):
 *
 *   clamp(r) = 8 * (2^251 + k) with 0 <= k < 2^251. With t = a_i / 8 mod l, r = 8t works
 *   when 2^251 <= t < 2^252, r = 8(l - t) when 2^251 <= l - t < 2^252. Neither holds only for
 *   t <= l - 2^252 or t >= 2^252, a chance of about 2^-126.6; that hop then runs the chain.
 *
 * This holds for every u on Curve25519 (prime-order, mixed-order and small-order points: the
 * small-order part is killed by the factor 8 in both). It does not hold for a u on the
 * quadratic twist, whose group order is not a multiple of l: such a key runs the chain.
 * Whether a key is on the curve costs a modular exponentiation (libgcrypt, ~30 us), so the
 * answer is kept in a per-thread table of node keys (they are public): an open-addressed
 * table big enough for every node of a real topology, so a route's keys are never checked
 * twice while the topology lasts (a direct-mapped cache lost keys to collisions: on a
 * network of hundreds of nodes, most lookups). */
#include "sphinx/sphinx.h"

#include <gcrypt.h>
#include <sodium.h>
#include <string.h>

#include "crypto.h"

/* 8^-1 mod l = (3l + 1) / 8, little-endian. */
static const uint8_t INV8[32] = {
	0x79, 0x2f, 0xdc, 0xe2, 0x29, 0xe5, 0x06, 0x61, 0xd0, 0xda, 0x1c, 0x7d, 0xb3, 0x9d, 0xd3, 0x07,
	0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x06,
};

#define CURVE_A 486662

#define KEY_TABLE_SLOTS 2048                        /* a power of two */
#define KEY_TABLE_MAX   (KEY_TABLE_SLOTS / 4 * 3)   /* emptied when this many are kept */

struct key_slot {
	uint8_t key[32];
	uint8_t filled;
	uint8_t on_curve;
};

static _Thread_local struct {
	struct key_slot slot[KEY_TABLE_SLOTS];
	size_t used;
	unsigned long checks; /* Euler's criterion run (sphinx_key_checks) */
} keys;

/* (clamp(c) mod l) into out. */
static void clamped_mod_l(uint8_t out[32], const uint8_t c[32])
{
	uint8_t wide[64] = {0};

	memcpy(wide, c, 32);
	wide[0] &= 248;
	wide[31] &= 127;
	wide[31] |= 64;
	crypto_core_ed25519_scalar_reduce(out, wide);
	ns_memzero(wide, sizeof wide);
}

void sphinx_acc_start(struct sphinx_acc *acc, const uint8_t x[32])
{
	clamped_mod_l(acc->t, x);
	crypto_core_ed25519_scalar_mul(acc->t, acc->t, INV8);
}

void sphinx_acc_mul(struct sphinx_acc *acc, const uint8_t b[32])
{
	uint8_t c[32];

	clamped_mod_l(c, b);
	crypto_core_ed25519_scalar_mul(acc->t, acc->t, c);
	ns_memzero(c, sizeof c);
}

/* 2^251 <= t < 2^252, i.e. the top byte is 0x08..0x0f (t < l < 2^253 always). */
static unsigned in_window(const uint8_t t[32])
{
	return (unsigned)((t[31] >> 3) == 1);
}

/* r = 8t for t or l - t, whichever lies in the window, chosen without a branch on the
 * secret; returns 0 when neither does. */
static int representative(uint8_t r[32], const uint8_t t[32])
{
	uint8_t neg[32], pick[32];
	unsigned use_t = in_window(t);
	unsigned use_neg;
	uint8_t mask;

	crypto_core_ed25519_scalar_negate(neg, t);
	use_neg = in_window(neg);
	mask = (uint8_t)(0u - use_t);
	for (size_t i = 0; i < 32; i++)
		pick[i] = (uint8_t)((t[i] & mask) | (neg[i] & (uint8_t)~mask));
	r[0] = (uint8_t)(pick[0] << 3);
	for (size_t i = 1; i < 32; i++)
		r[i] = (uint8_t)((pick[i] << 3) | (pick[i - 1] >> 5));
	ns_memzero(neg, sizeof neg);
	ns_memzero(pick, sizeof pick);
	return (int)(use_t | use_neg);
}

/* Euler's criterion on u^3 + A u^2 + u with u read as X25519 reads it (bit 255 ignored,
 * reduced mod p): on the curve when that is zero or a square. -1 if libgcrypt fails. */
static int euler_on_curve(const uint8_t key[32])
{
	uint8_t be[32];
	gcry_mpi_t p = NULL, u = NULL, v = NULL, w = NULL, e = NULL;
	int rc = -1;

	for (size_t i = 0; i < 32; i++)
		be[i] = key[31 - i];
	be[0] &= 0x7f;
	if (gcry_mpi_scan(&p, GCRYMPI_FMT_HEX, NS_P25519_HEX, 0, NULL) != 0 ||
	    gcry_mpi_scan(&u, GCRYMPI_FMT_USG, be, sizeof be, NULL) != 0)
		goto out;
	v = gcry_mpi_new(256);
	w = gcry_mpi_new(256);
	e = gcry_mpi_new(256);
	gcry_mpi_mod(u, u, p);
	gcry_mpi_add_ui(v, u, CURVE_A);      /* v = u + A */
	gcry_mpi_mulm(v, v, u, p);           /* v = u^2 + A u */
	gcry_mpi_add_ui(v, v, 1);            /* v = u^2 + A u + 1 */
	gcry_mpi_mulm(v, v, u, p);           /* v = u^3 + A u^2 + u */
	gcry_mpi_sub_ui(e, p, 1);
	gcry_mpi_rshift(e, e, 1);            /* (p - 1) / 2 */
	gcry_mpi_powm(w, v, e, p);
	rc = gcry_mpi_cmp_ui(v, 0) == 0 || gcry_mpi_cmp_ui(w, 1) == 0;
out:
	gcry_mpi_release(p);
	gcry_mpi_release(u);
	gcry_mpi_release(v);
	gcry_mpi_release(w);
	gcry_mpi_release(e);
	return rc;
}

/* The slot that holds key, or the empty slot where it goes. */
static struct key_slot *key_slot_for(const uint8_t key[32])
{
	uint32_t h = (uint32_t)key[0] | (uint32_t)key[1] << 8 | (uint32_t)key[2] << 16 |
	             (uint32_t)key[3] << 24;
	size_t i = (h ^ (h >> 15)) & (KEY_TABLE_SLOTS - 1);

	/* never full: emptied at KEY_TABLE_MAX, so an empty slot ends every probe */
	while (keys.slot[i].filled && memcmp(keys.slot[i].key, key, 32) != 0)
		i = (i + 1) & (KEY_TABLE_SLOTS - 1);
	return &keys.slot[i];
}

int sphinx_key_on_curve(const uint8_t key[32])
{
	struct key_slot *slot = key_slot_for(key);
	int on;

	if (slot->filled)
		return slot->on_curve;
	keys.checks++;
	on = euler_on_curve(key);
	if (on < 0)
		return 0;
	if (keys.used >= KEY_TABLE_MAX) {
		/* more keys than a topology has: start over rather than grow */
		memset(keys.slot, 0, sizeof keys.slot);
		keys.used = 0;
		slot = key_slot_for(key);
	}
	memcpy(slot->key, key, 32);
	slot->on_curve = (uint8_t)on;
	slot->filled = 1;
	keys.used++;
	return on;
}

unsigned long sphinx_key_checks(void) { return keys.checks; }

static void chain(uint8_t out[32], const uint8_t pk[32], const uint8_t (*scalars)[32], size_t n)
{
	uint8_t tmp[32];

	memcpy(out, pk, 32);
	for (size_t j = 0; j < n; j++) {
		ns_x25519(tmp, scalars[j], out); /* libsodium must not write over its input point */
		memcpy(out, tmp, 32);
	}
	ns_memzero(tmp, sizeof tmp);
}

int sphinx_hop_secret(uint8_t out[32], enum sphinx_secrets how, const struct sphinx_acc *acc,
                      const uint8_t pk[32], const uint8_t (*scalars)[32], size_t n)
{
	uint8_t r[32];
	int ok;

	if (how == SPHINX_SECRETS_CHAIN || !sphinx_key_on_curve(pk)) {
		chain(out, pk, scalars, n);
		return 1;
	}
	ok = representative(r, acc->t);
	if (ok)
		ns_x25519(out, r, pk);
	else
		chain(out, pk, scalars, n);
	ns_memzero(r, sizeof r);
	return !ok;
}
