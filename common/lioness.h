/* Lioness wide-block cipher as lioness 0.1.2 Lioness<VarBlake2b, ChaCha>:
 * key = K1(32) || K2(64) || K3(32) || K4(64); block > 32 bytes. */
#ifndef NS_LIONESS_H
#define NS_LIONESS_H
#include <stddef.h>
#include <stdint.h>

#define LIONESS_KEY_LEN 192

int lioness_encrypt(const uint8_t key[LIONESS_KEY_LEN], uint8_t *block, size_t len);
int lioness_decrypt(const uint8_t key[LIONESS_KEY_LEN], uint8_t *block, size_t len);

#endif
