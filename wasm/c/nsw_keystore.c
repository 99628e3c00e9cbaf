/* The key Worker's sealed key store (nsw_keystore.h): new client keys made here, as the
 * native `init` makes them (client/suite/cli.c), and the seal / unseal of the keyd blob so
 * that JavaScript only ever holds sealed bytes. */
#include "nsw_keystore.h"

#include <stdlib.h>
#include <string.h>

#include "bytes.h"
#include "crypto.h"
#include "nsw_api.h"
#include "nymsphinx/ack.h"

#define KEYS_LEN NSW_KEYD_KEYS_LEN
#define TAG_LEN NS_GCMSIV_TAG_LEN
#define OFF_NONCE 30

static const uint8_t MAGIC[4] = { 'N', 'S', 'K', 'S' };

struct nsw_keystore {
	uint8_t keys[KEYS_LEN];
	uint8_t key[NS_GCMSIV_KEY_LEN]; /* the sealing key (Argon2id output, or zeros) */
	uint8_t header[NSW_KS_HEADER_LEN]; /* mode, parameters, salt; the nonce of each seal */
	char url[NSW_KS_URL_MAX + 1];
	size_t url_len;
	uint8_t client_id[NSW_KS_CLIENT_ID_MAX];
	size_t id_len;
};

uint8_t *nsw_keystore_keys(struct nsw_keystore *ks) { return ks->keys; }

NSW_EXPORT void nsw_keystore_free(struct nsw_keystore *ks)
{
	if (!ks)
		return;
	ns_memzero(ks, sizeof *ks);
	free(ks);
}

/* A URL we hand netd: printable ASCII, bounded. */
static int url_ok(const uint8_t *url, size_t len)
{
	if (len == 0 || len > NSW_KS_URL_MAX)
		return 0;
	for (size_t i = 0; i < len; i++)
		if (url[i] < 0x21 || url[i] > 0x7e)
			return 0;
	return 1;
}

static struct nsw_keystore *ks_alloc(const uint8_t *client_id, size_t id_len, int *err)
{
	if (id_len > NSW_KS_CLIENT_ID_MAX) {
		*err = NSW_KS_EARG;
		return NULL;
	}
	struct nsw_keystore *ks = calloc(1, sizeof *ks);
	if (!ks) {
		*err = NSW_KS_ENOMEM;
		return NULL;
	}
	if (id_len)
		memcpy(ks->client_id, client_id, id_len);
	ks->id_len = id_len;
	return ks;
}

/* The sealing key from the header's mode and parameters. */
static int derive(struct nsw_keystore *ks, const uint8_t *pass, size_t pass_len)
{
	const uint8_t *h = ks->header;
	if (h[5] == 0) {
		memset(ks->key, 0, sizeof ks->key);
		return 0;
	}
	return ns_argon2id(ks->key, sizeof ks->key, pass, pass_len, h + 14, ns_get_be32(h + 6),
	                   ns_get_be32(h + 10)) == 0 ? 0 : NSW_KS_ENOMEM;
}

static void header_init(uint8_t h[NSW_KS_HEADER_LEN], int with_pass)
{
	memset(h, 0, NSW_KS_HEADER_LEN);
	memcpy(h, MAGIC, 4);
	h[4] = 1;
	h[5] = with_pass ? 1 : 0;
	if (with_pass) {
		ns_put_be32(h + 6, NSW_KS_OPS);
		ns_put_be32(h + 10, NSW_KS_MEM_KIB);
		ns_random(h + 14, NS_ARGON2_SALT_LEN);
	}
}

/* pass NULL: no passphrase (mode 0); an empty one is refused, not taken as none. */
static int pass_arg(const uint8_t *pass, size_t pass_len)
{
	return pass && pass_len == 0 ? NSW_KS_EARG : 0;
}

/* A new client: identity seed, x25519 secret and ack key from the module's randomness (as
 * `init` natively), the gateway chosen at first start, no shared key yet (keyd registers). */
NSW_EXPORT struct nsw_keystore *nsw_keystore_create(const uint8_t *client_id, size_t id_len,
                                                    const uint8_t *pass, size_t pass_len,
                                                    const uint8_t gateway[32],
                                                    const uint8_t *url, size_t url_len, int *err)
{
	*err = pass_arg(pass, pass_len);
	if (*err == 0 && !url_ok(url, url_len))
		*err = NSW_KS_EARG;
	struct nsw_keystore *ks = *err ? NULL : ks_alloc(client_id, id_len, err);
	if (!ks)
		return NULL;
	ns_random(ks->keys, 32);          /* ed25519 identity seed */
	ns_random(ks->keys + 32, 32);     /* x25519 secret (clamped where it is used) */
	nym_ack_key_generate(ks->keys + 64);
	memcpy(ks->keys + 80, gateway, 32);
	memcpy(ks->url, url, url_len);
	ks->url_len = url_len;
	header_init(ks->header, pass != NULL);
	if ((*err = derive(ks, pass, pass_len)) < 0) {
		nsw_keystore_free(ks);
		return NULL;
	}
	return ks;
}

static size_t plain_len(const struct nsw_keystore *ks) { return KEYS_LEN + 2 + ks->url_len; }

NSW_EXPORT size_t nsw_keystore_sealed_len(const struct nsw_keystore *ks)
{
	return NSW_KS_HEADER_LEN + plain_len(ks) + TAG_LEN;
}

static size_t aad_of(const struct nsw_keystore *ks, const uint8_t *header, uint8_t *aad)
{
	memcpy(aad, header, NSW_KS_HEADER_LEN);
	memcpy(aad + NSW_KS_HEADER_LEN, ks->client_id, ks->id_len);
	return NSW_KS_HEADER_LEN + ks->id_len;
}

/* Seals the store under a fresh nonce into out: its length, or a negative NSW_KS_E*. */
NSW_EXPORT long nsw_keystore_seal(struct nsw_keystore *ks, uint8_t *out, size_t cap)
{
	uint8_t plain[KEYS_LEN + 2 + NSW_KS_URL_MAX];
	uint8_t aad[NSW_KS_HEADER_LEN + NSW_KS_CLIENT_ID_MAX];
	size_t n = plain_len(ks), total = nsw_keystore_sealed_len(ks);
	if (cap < total)
		return NSW_KS_EARG;
	ns_random(ks->header + OFF_NONCE, NS_GCMSIV_NONCE_LEN);
	memcpy(plain, ks->keys, KEYS_LEN);
	ns_put_be16(plain + KEYS_LEN, (uint16_t)ks->url_len);
	memcpy(plain + KEYS_LEN + 2, ks->url, ks->url_len);
	memcpy(out, ks->header, NSW_KS_HEADER_LEN);
	int rc = ns_gcmsiv_seal(out + NSW_KS_HEADER_LEN, plain, n, aad, aad_of(ks, ks->header, aad),
	                        ks->key, ks->header + OFF_NONCE);
	ns_memzero(plain, sizeof plain);
	return rc == 0 ? (long)total : NSW_KS_ENOMEM;
}

/* The header's own checks, before any work: ours, a known mode, parameters in bounds, the
 * passphrase given exactly when the record was sealed with one. */
static int header_check(const uint8_t *h, size_t len, const uint8_t *pass)
{
	if (len < NSW_KS_HEADER_LEN + KEYS_LEN + 2 + TAG_LEN ||
	    len > NSW_KS_HEADER_LEN + KEYS_LEN + 2 + NSW_KS_URL_MAX + TAG_LEN ||
	    memcmp(h, MAGIC, 4) || h[4] != 1 || h[5] > 1)
		return NSW_KS_EFORMAT;
	uint32_t ops = ns_get_be32(h + 6), mem = ns_get_be32(h + 10);
	if (h[5] == 0) {
		static const uint8_t zero[24];
		if (memcmp(h + 6, zero, 24))
			return NSW_KS_EFORMAT;
		return pass ? NSW_KS_EUNEXPECTED : 0;
	}
	if (ops < 1 || ops > NSW_KS_OPS_MAX || mem < 8 || mem > NSW_KS_MEM_KIB_MAX)
		return NSW_KS_EFORMAT;
	return pass ? 0 : NSW_KS_ENEEDPASS;
}

/* The opened plaintext's own checks: a consistent URL length, a URL we would use, a flags
 * byte with no unknown bit. */
static int plain_check(const uint8_t *p, size_t n)
{
	if (n < KEYS_LEN + 2 || ns_get_be16(p + KEYS_LEN) != n - KEYS_LEN - 2 ||
	    !url_ok(p + KEYS_LEN + 2, n - KEYS_LEN - 2) || (p[112] & ~3u))
		return NSW_KS_EFORMAT;
	return 0;
}

static int unseal(struct nsw_keystore *ks, const uint8_t *sealed, size_t len)
{
	uint8_t plain[KEYS_LEN + 2 + NSW_KS_URL_MAX];
	uint8_t aad[NSW_KS_HEADER_LEN + NSW_KS_CLIENT_ID_MAX];
	size_t n = len - NSW_KS_HEADER_LEN - TAG_LEN;
	int rc = ns_gcmsiv_open(plain, sealed + NSW_KS_HEADER_LEN, len - NSW_KS_HEADER_LEN, aad,
	                        aad_of(ks, sealed, aad), ks->key, sealed + OFF_NONCE);
	rc = rc < 0 ? NSW_KS_EOPEN : plain_check(plain, n);
	if (rc == 0) {
		memcpy(ks->keys, plain, KEYS_LEN);
		ks->url_len = n - KEYS_LEN - 2;
		memcpy(ks->url, plain + KEYS_LEN + 2, ks->url_len);
		ks->url[ks->url_len] = 0;
	}
	ns_memzero(plain, sizeof plain);
	return rc;
}

/* A stored client: the sealed record, the clientId it was sealed for, the passphrase (NULL:
 * none). NULL and *err a negative NSW_KS_E* when it does not open. */
NSW_EXPORT struct nsw_keystore *nsw_keystore_open(const uint8_t *sealed, size_t len,
                                                  const uint8_t *client_id, size_t id_len,
                                                  const uint8_t *pass, size_t pass_len, int *err)
{
	*err = pass_arg(pass, pass_len);
	if (*err == 0)
		*err = header_check(sealed, len, pass);
	struct nsw_keystore *ks = *err ? NULL : ks_alloc(client_id, id_len, err);
	if (!ks)
		return NULL;
	memcpy(ks->header, sealed, NSW_KS_HEADER_LEN);
	if ((*err = derive(ks, pass, pass_len)) == 0)
		*err = unseal(ks, sealed, len);
	if (*err < 0) {
		nsw_keystore_free(ks);
		return NULL;
	}
	return ks;
}

/* Public parts, for the page: the gateway's identity and URL, our 96-byte address. */
NSW_EXPORT void nsw_keystore_gateway(const struct nsw_keystore *ks, uint8_t out[32])
{
	memcpy(out, ks->keys + 80, 32);
}

NSW_EXPORT const char *nsw_keystore_url(const struct nsw_keystore *ks) { return ks->url; }

NSW_EXPORT void nsw_keystore_address(const struct nsw_keystore *ks, uint8_t out[96])
{
	uint8_t sk[64];
	ns_ed25519_from_seed(out, sk, ks->keys);
	ns_memzero(sk, sizeof sk);
	ns_x25519_base(out + 32, ks->keys + 32);
	memcpy(out + 64, ks->keys + 80, 32);
}

/* 1 when a gateway shared key is stored (netd authenticates), 0 when keyd must register. */
NSW_EXPORT int nsw_keystore_registered(const struct nsw_keystore *ks) { return ks->keys[112] & 1; }

NSW_EXPORT const char *nsw_keystore_strerror(int err)
{
	switch (err) {
	case NSW_KS_EFORMAT: return "not a sealed key record of this client";
	case NSW_KS_ENEEDPASS: return "the stored keys are sealed with a passphrase and none was given";
	case NSW_KS_EUNEXPECTED: return "the stored keys were stored without a passphrase and one was given";
	case NSW_KS_EOPEN: return "the stored keys do not open: wrong passphrase, another clientId, or altered";
	case NSW_KS_ENOMEM: return "out of memory";
	case NSW_KS_EARG: return "an empty passphrase, or a clientId or gateway URL too long";
	default: return "unknown error";
	}
}
