/* Per-hop key derivation of sphinx-packet 0.6.0 (expanded shared secret, payload keys). */
#include "sphinx/sphinx.h"

#include "crypto.h"

static const char EXPAND_INFO[] =
	"Dwste mou enan moxlo arketa makru kai ena upomoxlio gia na ton topothetisw kai tha kinisw thn gh.";
static const char PAYLOAD_SALT[] = "sphinx-payload-key-V01-CS01-HKDF:SHA256-SALT";
static const char PAYLOAD_INFO[] = "sphinx-payload-key-V01-CS01-HKDF:SHA256-INFO";

int sphinx_expand_secret(const uint8_t shared[32], uint8_t out[SPHINX_EXPANDED_LEN])
{
	/* The salt is empty: HMAC pads it to 32 zero bytes, the same as "no salt". */
	if (ns_hkdf_sha256(out, SPHINX_EXPANDED_LEN, NULL, 0, shared, 32,
	                   (const uint8_t *)EXPAND_INFO, sizeof EXPAND_INFO - 1) != 0)
		return SPHINX_ERR_CRYPTO;
	return SPHINX_OK;
}

int sphinx_payload_key_from_seed(const uint8_t seed[SPHINX_PAYLOAD_SEED_LEN],
                                 uint8_t key[SPHINX_PAYLOAD_KEY_LEN])
{
	if (ns_hkdf_sha256(key, SPHINX_PAYLOAD_KEY_LEN, (const uint8_t *)PAYLOAD_SALT,
	                   sizeof PAYLOAD_SALT - 1, seed, SPHINX_PAYLOAD_SEED_LEN,
	                   (const uint8_t *)PAYLOAD_INFO, sizeof PAYLOAD_INFO - 1) != 0)
		return SPHINX_ERR_CRYPTO;
	return SPHINX_OK;
}
