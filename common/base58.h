/* Base58 with the Bitcoin alphabet, as the bs58 crate: each leading 0x00 byte is '1'. */
#ifndef NS_BASE58_H
#define NS_BASE58_H
#include <stddef.h>
#include <stdint.h>

/* Writes a NUL-terminated string; returns its length or -1 if cap is too small. */
long base58_encode(const uint8_t *in, size_t len, char *out, size_t cap);
/* Returns the decoded length, or -1 on a bad character or when cap is too small. */
long base58_decode(const char *in, uint8_t *out, size_t cap);

#endif
