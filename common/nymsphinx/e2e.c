/* End-to-end fragment encryption (see e2e.h). */
#include "nymsphinx/e2e.h"

#include <string.h>

#include "crypto.h"
#include "ephemeral.h"

static const uint8_t ZERO_IV[NS_AES_IV_LEN];

int nym_e2e_key_from_dh(const uint8_t dh[32], uint8_t key[NYM_E2E_KEY_LEN])
{
	/* salt "none" is HashLen zero bytes, which HMAC treats like an empty key */
	return ns_hkdf_blake3(key, NYM_E2E_KEY_LEN, NULL, 0, dh, 32, NULL, 0) == 0 ? 0 : -1;
}

int nym_e2e_shared_key(const uint8_t secret[32], const uint8_t public_key[32],
                       uint8_t key[NYM_E2E_KEY_LEN])
{
	uint8_t dh[32];
	int rc;

	ns_x25519(dh, secret, public_key);
	rc = nym_e2e_key_from_dh(dh, key);
	ns_memzero(dh, sizeof dh);
	return rc;
}

/* out = public key || AES-128-CTR(fragment) under the key agreed with the recipient */
static int encrypt_to(const uint8_t ephemeral_secret[32], const uint8_t ephemeral_pk[32],
                      const uint8_t recipient_pk[32], const uint8_t *fragment, size_t len, uint8_t *out)
{
	uint8_t key[NYM_E2E_KEY_LEN];
	int rc;

	memcpy(out, ephemeral_pk, NYM_E2E_PUBKEY_LEN);
	if (nym_e2e_shared_key(ephemeral_secret, recipient_pk, key) != 0)
		return -1;
	rc = len ? ns_aes128_ctr64be(out + NYM_E2E_PUBKEY_LEN, fragment, len, key, ZERO_IV) : 0;
	ns_memzero(key, sizeof key);
	return rc == 0 ? 0 : -1;
}

int nym_e2e_encrypt_with(const uint8_t ephemeral_secret[32], const uint8_t recipient_pk[32],
                         const uint8_t *fragment, size_t len, uint8_t *out)
{
	uint8_t pk[32];

	if (out == NULL || (fragment == NULL && len > 0))
		return -1;
	ns_x25519_base(pk, ephemeral_secret);
	return encrypt_to(ephemeral_secret, pk, recipient_pk, fragment, len, out);
}

int nym_e2e_encrypt(const uint8_t recipient_pk[32], const uint8_t *fragment, size_t len, uint8_t *out)
{
	uint8_t e[32], pk[32];
	int rc;

	if (out == NULL || (fragment == NULL && len > 0))
		return -1;
	ns_x25519_ephemeral(e, pk);
	rc = encrypt_to(e, pk, recipient_pk, fragment, len, out);
	ns_memzero(e, sizeof e);
	return rc;
}

int nym_e2e_decrypt(const uint8_t our_secret[32], const uint8_t *in, size_t len, uint8_t *out)
{
	uint8_t key[NYM_E2E_KEY_LEN];
	int rc;

	if (in == NULL || out == NULL || len < NYM_E2E_PUBKEY_LEN)
		return -1;
	if (nym_e2e_shared_key(our_secret, in, key) != 0)
		return -1;
	rc = len > NYM_E2E_PUBKEY_LEN
	         ? ns_aes128_ctr64be(out, in + NYM_E2E_PUBKEY_LEN, len - NYM_E2E_PUBKEY_LEN, key,
	                             ZERO_IV)
	         : 0;
	ns_memzero(key, sizeof key);
	return rc == 0 ? 0 : -1;
}
