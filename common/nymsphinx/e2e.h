/* End-to-end encryption of a fragment to a recipient's x25519 encryption key
 * (nym-sphinx preparer/payload.rs build_regular, receiver.rs):
 *   dh = X25519(e, recipient_pk); k = HKDF-BLAKE3(salt none, dh, info "", 16);
 *   out = E_pub(32) || AES-128-CTR(k, zero IV, Ctr64BE, fragment). */
#ifndef NS_NYM_E2E_H
#define NS_NYM_E2E_H
#include <stddef.h>
#include <stdint.h>

#define NYM_E2E_PUBKEY_LEN 32
#define NYM_E2E_KEY_LEN    16

/* k from a 32-byte x25519 shared secret. */
int nym_e2e_key_from_dh(const uint8_t dh[32], uint8_t key[NYM_E2E_KEY_LEN]);
/* k = kdf(X25519(secret, public)): the sender uses (e, recipient pk), the receiver (sk, E_pub). */
int nym_e2e_shared_key(const uint8_t secret[32], const uint8_t public_key[32],
                       uint8_t key[NYM_E2E_KEY_LEN]);

/* out (32 + len bytes) = E_pub || ct, with a fresh ephemeral key. in and out must not overlap. */
int nym_e2e_encrypt(const uint8_t recipient_pk[32], const uint8_t *fragment, size_t len, uint8_t *out);
/* Same with a given ephemeral secret (known-answer tests). */
int nym_e2e_encrypt_with(const uint8_t ephemeral_secret[32], const uint8_t recipient_pk[32],
                         const uint8_t *fragment, size_t len, uint8_t *out);
/* in = E_pub || ct (len >= 32); writes len - 32 bytes of fragment to out. */
int nym_e2e_decrypt(const uint8_t our_secret[32], const uint8_t *in, size_t len, uint8_t *out);

#endif
