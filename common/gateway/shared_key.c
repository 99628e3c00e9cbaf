#include "gateway/shared_key.h"

#include <string.h>

#include "crypto.h"
#include "gateway/errors.h"

int ns_gw_key_derive(struct ns_gw_key *out, const uint8_t dh[32], const uint8_t *salt,
                     size_t salt_len, int legacy)
{
	out->legacy = legacy ? 1 : 0;
	if (ns_hkdf_blake3(out->bytes, NS_GW_KEY_LEN, salt, salt_len, dh, 32, NULL, 0) != 0) {
		ns_gw_key_clear(out);
		return NS_GW_EARG;
	}
	return 0;
}

void ns_gw_key_clear(struct ns_gw_key *key) { ns_memzero(key, sizeof *key); }

size_t ns_gw_key_nonce_len(const struct ns_gw_key *key)
{
	return key->legacy ? NS_GW_LEGACY_IV_LEN : NS_GW_NONCE_LEN;
}

size_t ns_gw_key_random_nonce(const struct ns_gw_key *key, uint8_t out[NS_GW_MAX_NONCE_LEN])
{
	size_t n = ns_gw_key_nonce_len(key);
	ns_random(out, n);
	return n;
}

size_t ns_gw_key_overhead(const struct ns_gw_key *key)
{
	return key->legacy ? NS_GW_LEGACY_MAC_LEN : NS_GW_TAG_LEN;
}

size_t ns_gw_key_naive_overhead(const struct ns_gw_key *key)
{
	return key->legacy ? 0 : NS_GW_TAG_LEN;
}

static int check_aead_nonce(const uint8_t *nonce, size_t nonce_len)
{
	if (nonce == NULL)
		return NS_GW_EMISSING_NONCE;
	return nonce_len == NS_GW_NONCE_LEN ? 0 : NS_GW_EMALFORMED_NONCE;
}

/* The legacy IV: NULL or empty means all zero. */
static int legacy_iv(const uint8_t *nonce, size_t nonce_len, uint8_t iv[NS_GW_LEGACY_IV_LEN])
{
	if (nonce == NULL || nonce_len == 0) {
		memset(iv, 0, NS_GW_LEGACY_IV_LEN);
		return 0;
	}
	if (nonce_len != NS_GW_LEGACY_IV_LEN)
		return NS_GW_EMALFORMED_NONCE;
	memcpy(iv, nonce, NS_GW_LEGACY_IV_LEN);
	return 0;
}

static int legacy_ctr(const struct ns_gw_key *key, const uint8_t *nonce, size_t nonce_len,
                      const uint8_t *in, size_t len, uint8_t *out)
{
	uint8_t iv[NS_GW_LEGACY_IV_LEN];
	int rc = legacy_iv(nonce, nonce_len, iv);
	if (rc != 0)
		return rc;
	if (len == 0)
		return 0;
	return ns_aes128_ctr64be(out, in, len, key->bytes, iv) == 0 ? 0 : NS_GW_EARG;
}

static int gcmsiv_seal(const struct ns_gw_key *key, const uint8_t *nonce, size_t nonce_len,
                       const uint8_t *pt, size_t pt_len, uint8_t *out, size_t cap, size_t *out_len)
{
	int rc = check_aead_nonce(nonce, nonce_len);
	if (rc != 0)
		return rc;
	if (cap < pt_len + NS_GW_TAG_LEN)
		return NS_GW_EARG;
	if (ns_gcmsiv_seal(out, pt, pt_len, NULL, 0, key->bytes, nonce) != 0)
		return NS_GW_EAEAD;
	*out_len = pt_len + NS_GW_TAG_LEN;
	return 0;
}

static int gcmsiv_open(const struct ns_gw_key *key, const uint8_t *nonce, size_t nonce_len,
                       const uint8_t *ct, size_t ct_len, uint8_t *out, size_t cap, size_t *out_len)
{
	uint8_t dummy[1];
	int rc = check_aead_nonce(nonce, nonce_len);
	if (rc != 0)
		return rc;
	if (ct_len < NS_GW_TAG_LEN)
		return NS_GW_EAEAD;
	if (cap < ct_len - NS_GW_TAG_LEN)
		return NS_GW_EARG;
	if (ns_gcmsiv_open(ct_len == NS_GW_TAG_LEN ? dummy : out, ct, ct_len, NULL, 0, key->bytes,
	                   nonce) != 0)
		return NS_GW_EAEAD;
	*out_len = ct_len - NS_GW_TAG_LEN;
	return 0;
}

int ns_gw_key_encrypt_naive(const struct ns_gw_key *key, const uint8_t *nonce, size_t nonce_len,
                            const uint8_t *pt, size_t pt_len, uint8_t *out, size_t cap,
                            size_t *out_len)
{
	int rc;
	if (!key->legacy)
		return gcmsiv_seal(key, nonce, nonce_len, pt, pt_len, out, cap, out_len);
	if (cap < pt_len)
		return NS_GW_EARG;
	if ((rc = legacy_ctr(key, nonce, nonce_len, pt, pt_len, out)) != 0)
		return rc;
	*out_len = pt_len;
	return 0;
}

int ns_gw_key_decrypt_naive(const struct ns_gw_key *key, const uint8_t *nonce, size_t nonce_len,
                            const uint8_t *ct, size_t ct_len, uint8_t *out, size_t cap,
                            size_t *out_len)
{
	int rc;
	if (!key->legacy)
		return gcmsiv_open(key, nonce, nonce_len, ct, ct_len, out, cap, out_len);
	if (cap < ct_len)
		return NS_GW_EARG;
	if ((rc = legacy_ctr(key, nonce, nonce_len, ct, ct_len, out)) != 0)
		return rc;
	*out_len = ct_len;
	return 0;
}

int ns_gw_key_encrypt(const struct ns_gw_key *key, const uint8_t *nonce, size_t nonce_len,
                      const uint8_t *pt, size_t pt_len, uint8_t *out, size_t cap, size_t *out_len)
{
	int rc;
	if (!key->legacy)
		return gcmsiv_seal(key, nonce, nonce_len, pt, pt_len, out, cap, out_len);
	if (cap < pt_len + NS_GW_LEGACY_MAC_LEN)
		return NS_GW_EARG;
	rc = legacy_ctr(key, nonce, nonce_len, pt, pt_len, out + NS_GW_LEGACY_MAC_LEN);
	if (rc != 0)
		return rc;
	ns_hmac_blake3(out, key->bytes + 16, 16, out + NS_GW_LEGACY_MAC_LEN, pt_len);
	*out_len = pt_len + NS_GW_LEGACY_MAC_LEN;
	return 0;
}

int ns_gw_key_decrypt(const struct ns_gw_key *key, const uint8_t *nonce, size_t nonce_len,
                      const uint8_t *ct, size_t ct_len, uint8_t *out, size_t cap, size_t *out_len)
{
	uint8_t mac[NS_GW_LEGACY_MAC_LEN], iv[NS_GW_LEGACY_IV_LEN];
	size_t body;
	int rc;
	if (!key->legacy)
		return gcmsiv_open(key, nonce, nonce_len, ct, ct_len, out, cap, out_len);
	/* Nym checks the IV only after the MAC; the order does not matter for the caller. */
	if ((rc = legacy_iv(nonce, nonce_len, iv)) != 0)
		return rc;
	if (ct_len < NS_GW_LEGACY_MAC_LEN)
		return NS_GW_ETOO_SHORT;
	body = ct_len - NS_GW_LEGACY_MAC_LEN;
	if (cap < body)
		return NS_GW_EARG;
	ns_hmac_blake3(mac, key->bytes + 16, 16, ct + NS_GW_LEGACY_MAC_LEN, body);
	if (!ns_ct_equal(mac, ct, NS_GW_LEGACY_MAC_LEN))
		return NS_GW_EMAC;
	if ((rc = legacy_ctr(key, nonce, nonce_len, ct + NS_GW_LEGACY_MAC_LEN, body, out)) != 0)
		return rc;
	*out_len = body;
	return 0;
}

void ns_gw_key_digest(const struct ns_gw_key *key, uint8_t out[32])
{
	ns_blake3(out, key->bytes, NS_GW_KEY_LEN);
}

int ns_gw_key_upgrade(const struct ns_gw_key *legacy, const uint8_t *salt, size_t salt_len,
                      struct ns_gw_key *out)
{
	if (!legacy->legacy)
		return NS_GW_ENOT_LEGACY;
	out->legacy = 0;
	if (ns_hkdf_blake3(out->bytes, NS_GW_KEY_LEN, salt, salt_len, legacy->bytes, NS_GW_KEY_LEN,
	                   NULL, 0) != 0) {
		ns_gw_key_clear(out);
		return NS_GW_EARG;
	}
	return 0;
}

int ns_gw_key_upgrade_verify(const struct ns_gw_key *legacy, const uint8_t *salt, size_t salt_len,
                             const uint8_t *digest, size_t digest_len, struct ns_gw_key *out)
{
	uint8_t d[32];
	int rc = ns_gw_key_upgrade(legacy, salt, salt_len, out);
	if (rc != 0)
		return rc;
	ns_gw_key_digest(out, d);
	if (digest_len != sizeof d || !ns_ct_equal(d, digest, sizeof d)) {
		ns_gw_key_clear(out);
		return NS_GW_EKEY_DIGEST;
	}
	return 0;
}
